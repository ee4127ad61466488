/*
 * test_ack.c: acknowledgments and alerts. The ACK body's encoding (round
 * trip, refusals, canonical form), its place among envelope kinds, the
 * pure check ack_verify (lateness from the two signed times, on the
 * deadline's edge); alerts stored once per key, cleared once by a named
 * operator; the alert command gets the alert on standard input, and a
 * command that fails, cannot run or runs too long raises an alert of its
 * own that runs nothing; a wall clock stepped either way kills none.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../harness.h"
#include "base/file.h"
#include "base/hex.h"
#include "msg/ack.h"
#include "msg/alert.h"
#include "msg/chain.h"
#include "msg/deadline.h"
#include "store/people.h"

static char dir[] = "/tmp/parley-test-ack-XXXXXX";

static void
test_body_round_trip(void)
{
	struct ack_body b, d;
	uint8_t buf[ACK_BODY_MAX + 8];
	size_t len;

	memset(&b, 0, sizeof b);
	memset(b.acked, 0xab, sizeof b.acked);
	snprintf(b.operator, sizeof b.operator, "Capt. Birch");
	snprintf(b.text, sizeof b.text, "understood; standing by");
	CHECK_INT(ack_body_encode(&b, buf, sizeof buf, &len), 0);
	CHECK_INT(ack_body_decode(&d, buf, len), 0);
	CHECK_MEM(d.acked, b.acked, sizeof b.acked);
	/* The store's index (message_acked) reads the id at bytes 4..35. */
	CHECK_MEM(buf, "\xa3\x00\x58\x20", 4);
	CHECK_MEM(buf + 4, b.acked, sizeof b.acked);
	CHECK_STR(d.operator, "Capt. Birch");
	CHECK_STR(d.text, "understood; standing by");
	CHECK_INT(envelope_body_check_kind(ENVELOPE_ACK, buf, len), 0);
	CHECK(envelope_kind_is_known(ENVELOPE_ACK));
	CHECK_STR(envelope_kind_name(ENVELOPE_ACK), "ack");
	/* Trailing bytes, a cut body, the text kind's rules do not apply. */
	buf[len] = 0;
	CHECK(ack_body_decode(&d, buf, len + 1) != 0);
	CHECK(ack_body_decode(&d, buf, len - 1) != 0);
	CHECK(envelope_body_check_kind(ENVELOPE_ACK, (const uint8_t *)"hi", 2)
	    != 0);
	/* Empty text is fine; an empty operator is not. */
	b.text[0] = '\0';
	CHECK_INT(ack_body_encode(&b, buf, sizeof buf, &len), 0);
	CHECK_INT(ack_body_decode(&d, buf, len), 0);
	b.operator[0] = '\0';
	CHECK_INT(ack_body_encode(&b, buf, sizeof buf, &len), ERR_INVALID);
	/* Bad UTF-8 in the operator's name. */
	snprintf(b.operator, sizeof b.operator, "\xc3\x28");
	CHECK_INT(ack_body_encode(&b, buf, sizeof buf, &len), ERR_INVALID);
}

static void
test_noncanonical_body(void)
{
	struct ack_body b, d;
	uint8_t buf[ACK_BODY_MAX], alt[ACK_BODY_MAX + 8];
	size_t len;

	memset(&b, 0, sizeof b);
	snprintf(b.operator, sizeof b.operator, "Maj. Aster");
	CHECK_INT(ack_body_encode(&b, buf, sizeof buf, &len), 0);
	/* The operator's length as a two-byte head (0x78 0x0a) instead of
	 * 0x6a: well-formed, not the shortest. */
	CHECK(buf[0] == 0xa3 && buf[1] == 0x00 && buf[2] == 0x58 &&
	    buf[3] == 32 && buf[36] == 0x01 && buf[37] == 0x6a);
	memcpy(alt, buf, 37);
	alt[37] = 0x78;
	alt[38] = 0x0a;
	memcpy(alt + 39, buf + 38, len - 38);
	CHECK_INT(ack_body_decode(&d, alt, len + 1), ERR_NONCANONICAL);
	/* Keys out of order are refused too. */
	memcpy(alt, buf, len);
	alt[1] = 0x02;
	CHECK(ack_body_decode(&d, alt, len) != 0);
}

static void
test_verify_and_lateness(void)
{
	struct envelope_header msg, ack;
	struct ack_body b, out;
	uint8_t id[ENVELOPE_ID_LEN], body[ACK_BODY_MAX];
	uint32_t dl[4] = { 2, 1800, 10800, 21600 };
	size_t len;
	bool late = true;

	memset(&msg, 0, sizeof msg);
	memset(&ack, 0, sizeof ack);
	memset(id, 7, sizeof id);
	memset(msg.channel, 1, sizeof msg.channel);
	memcpy(ack.channel, msg.channel, sizeof ack.channel);
	msg.sender = 0;
	ack.sender = 1;
	msg.kind = ENVELOPE_TEXT;
	ack.kind = ENVELOPE_ACK;
	msg.precedence = ENVELOPE_FLASH;
	msg.time_ms = 1000000;
	ack.time_ms = 1000000 + 2000;		/* on the edge: in time */
	memset(&b, 0, sizeof b);
	memcpy(b.acked, id, sizeof id);
	snprintf(b.operator, sizeof b.operator, "Capt. Birch");
	CHECK_INT(ack_body_encode(&b, body, sizeof body, &len), 0);
	CHECK_INT(ack_deadline_ms(dl, ENVELOPE_FLASH), 2000);
	CHECK_INT(ack_deadline_ms(dl, 9), 0);
	CHECK_INT(ack_verify(&ack, body, len, &msg, id, 2000, &late, &out), 0);
	CHECK(!late);
	CHECK_STR(out.operator, "Capt. Birch");
	ack.time_ms++;				/* one ms past: late */
	CHECK_INT(ack_verify(&ack, body, len, &msg, id, 2000, &late, &out), 0);
	CHECK(late);
	/* An ACK from the message's own sender, another channel, another
	 * id, not an ACK at all. */
	ack.sender = 0;
	CHECK_INT(ack_verify(&ack, body, len, &msg, id, 2000, &late, &out),
	    ERR_INVALID);
	ack.sender = 1;
	ack.channel[0] ^= 1;
	CHECK_INT(ack_verify(&ack, body, len, &msg, id, 2000, &late, &out),
	    ERR_INVALID);
	ack.channel[0] ^= 1;
	id[0] ^= 1;
	CHECK_INT(ack_verify(&ack, body, len, &msg, id, 2000, &late, &out),
	    ERR_CHAIN);
	ack.kind = ENVELOPE_TEXT;
	CHECK_INT(ack_verify(&ack, body, len, &msg, id, 2000, &late, &out),
	    ERR_KIND);
	/* An ACK stamped before the message (skewed clocks) is not late. */
	CHECK(!ack_is_late(5000, 4000, 0));
}

static struct store *
mem_store(void)
{
	struct store *s = NULL;

	CHECK_INT(store_open(&s, ":memory:"), 0);
	return s;
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static json_t *
alert_of(const char *key)
{
	return json_pack("{s:s, s:s, s:s}", "key", key, "kind", "test",
	    "text", "south owes an acknowledgment");
}

struct seen {
	size_t n, failed, cleared;
	char last_text[512];
};

static int
count_alert(void *arg, const struct store_alert *a)
{
	struct seen *sn = arg;

	sn->n++;
	sn->cleared += a->cleared;
	if (strstr(a->json, "alert-command-failed")) {
		sn->failed++;
		snprintf(sn->last_text, sizeof sn->last_text, "%s", a->json);
	}
	return 0;
}

/* Ticks a for ms milliseconds. */
static void
settle(struct alerter *a, int ms)
{
	for (int i = 0; i < ms / 20; i++) {
		alert_tick(a, now_ms());
		usleep(20000);
	}
}

/* Ticks a until n commands have failed (reaped, or killed at the
 * timeout), for at most ms of real time. */
static void
settle_failed(struct alerter *a, uint64_t n, int ms)
{
	uint64_t started, failed = 0;

	for (int i = 0; i < ms / 20 && failed < n; i++) {
		alert_tick(a, now_ms());
		alert_counts(a, &started, &failed);
		if (failed < n)
			usleep(20000);
	}
	alert_tick(a, now_ms());
}

/* Ticks the alerter on the deadline watch's own clock (its ticks pass
 * their time to the alerter) until path holds lines lines (the commands
 * have run and been reaped), for at most ms of real time. */
static size_t
lines_at(struct alerter *a, uint64_t at, const char *path, size_t lines,
    int ms)
{
	uint8_t *got = NULL;
	size_t n = 0, have = 0;

	for (int i = 0; i < ms / 20; i++) {
		alert_tick(a, at);
		have = 0;
		if (file_read(path, 1 << 16, &got, &n) == 0)
			for (size_t k = 0; k < n; k++)
				have += got[k] == '\n';
		free(got);
		got = NULL;
		if (have >= lines)
			break;
		usleep(20000);
	}
	alert_tick(a, at);
	return have;
}

static void
test_alerts_once_and_cleared_once(void)
{
	struct store *s = mem_store();
	struct alerter *a = NULL;
	struct seen sn;
	json_t *o;
	bool fresh;

	CHECK_INT(alert_new(s, NULL, 0, &a), 0);
	o = alert_of("k1");
	CHECK_INT(alert_raise(a, o, 1000, &fresh), 0);
	CHECK(fresh);
	CHECK_INT(json_integer_value(json_object_get(o, "n")), 1);
	json_decref(o);
	o = alert_of("k1");
	CHECK_INT(alert_raise(a, o, 2000, &fresh), 0);
	CHECK(!fresh);
	json_decref(o);
	CHECK_INT(store_alert_clear(s, 1, 60001, "Maj. Aster", "phoned", 3000),
	    0);
	CHECK_INT(store_alert_clear(s, 1, 60001, "Maj. Aster", "again", 3001),
	    ERR_STATE);
	CHECK_INT(store_alert_clear(s, 7, 60001, "Maj. Aster", "", 3001),
	    ERR_NOT_FOUND);
	memset(&sn, 0, sizeof sn);
	CHECK_INT(store_alerts_each(s, false, count_alert, &sn), 0);
	CHECK_INT(sn.n, 0);
	CHECK_INT(store_alerts_each(s, true, count_alert, &sn), 0);
	CHECK_INT(sn.n, 1);
	CHECK_INT(sn.cleared, 1);
	alert_free(a);
	store_close(s);
}

/* The limit on alarms a peer can repeat: the first of a period raised,
 * the others held back (counted), the next period's first raised. A
 * period is ALERT_LIMIT_MS from the one raised, not the clock's minute:
 * alarms 2 ms apart across a minute's end raise one alert (it_messages
 * test_forged_checkpoints saw two when they did). */
static void
test_alert_limit(void)
{
	struct alert_limit l = { 0 };
	uint64_t t = 5 * ALERT_LIMIT_MS + 10, m = 7 * ALERT_LIMIT_MS;

	CHECK(alert_limit(&l, t, "channel x: test"));
	for (int i = 0; i < 4; i++)
		CHECK(!alert_limit(&l, t + 1 + (uint64_t)i, "channel x: test"));
	CHECK_INT(l.quiet, 4);
	CHECK(alert_limit(&l, t + ALERT_LIMIT_MS, "channel x: test"));
	CHECK_INT(l.quiet, 0);
	CHECK(!alert_limit(&l, t + ALERT_LIMIT_MS + 1, "channel x: test"));
	CHECK(alert_limit(&l, t + 3 * ALERT_LIMIT_MS, "channel x: test"));
	/* across the clock's minute */
	memset(&l, 0, sizeof l);
	CHECK(alert_limit(&l, m - 1, "channel x: test"));
	CHECK(!alert_limit(&l, m + 1, "channel x: test"));
	CHECK(!alert_limit(&l, m + ALERT_LIMIT_MS - 2, "channel x: test"));
	CHECK(alert_limit(&l, m + ALERT_LIMIT_MS - 1, "channel x: test"));
	/* a clock stepped back before the last one raised: a new period */
	CHECK(alert_limit(&l, m - 5000, "channel x: test"));
}

static void
test_alert_command(void)
{
	struct store *s = mem_store();
	struct alerter *a = NULL;
	char out[256], script[512];
	const char *argv[] = { "/bin/sh", "-c", script, NULL };
	uint8_t *got = NULL;
	size_t n = 0;
	uint64_t started, failed;
	json_t *o;

	snprintf(out, sizeof out, "%s/alert.json", dir);
	snprintf(script, sizeof script, "cat >> %s", out);
	CHECK_INT(alert_new(s, argv, 0, &a), 0);
	o = alert_of("owed:abc");
	CHECK_INT(alert_raise(a, o, now_ms(), NULL), 0);
	json_decref(o);
	o = alert_of("owed:abc");	/* the same key: no second run */
	CHECK_INT(alert_raise(a, o, now_ms(), NULL), 0);
	json_decref(o);
	/* until the command has run and been reaped (at most 10 s), then a
	 * little more: a second run would show */
	CHECK_INT(lines_at(a, now_ms(), out, 1, 10000), 1);
	settle(a, 200);
	alert_counts(a, &started, &failed);
	CHECK_INT(started, 1);
	CHECK_INT(failed, 0);
	CHECK_INT(file_read(out, 1 << 16, &got, &n), 0);
	if (got) {
		char *t = strndup((const char *)got, n);
		CHECK_CONTAINS(t, "\"key\":\"owed:abc\"");
		CHECK_CONTAINS(t, "south owes an acknowledgment");
		CHECK(strchr(t, '\n') == t + n - 1);	/* one line */
		free(t);
	}
	free(got);
	alert_free(a);
	store_close(s);
}

static void
test_alert_command_failures(void)
{
	static const struct {
		const char *argv[4];
		const char *why;
	} cases[] = {
		{ { "/bin/false", NULL }, "exit 1" },
		{ { "/nonexistent/siren", NULL }, "cannot run" },
		{ { "/bin/sleep", "30", NULL }, "killed after 300 ms" },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct store *s = mem_store();
		struct alerter *a = NULL;
		uint64_t started, failed;
		struct seen sn;
		json_t *o;

		CHECK_INT(alert_new(s, cases[i].argv, 300, &a), 0);
		o = alert_of("deadline:x");
		CHECK_INT(alert_raise(a, o, now_ms(), NULL), 0);
		json_decref(o);
		settle_failed(a, 1, 10000);
		alert_counts(a, &started, &failed);
		CHECK_INT(started, 1);		/* the failure ran nothing */
		CHECK_INT(failed, 1);
		memset(&sn, 0, sizeof sn);
		CHECK_INT(store_alerts_each(s, true, count_alert, &sn), 0);
		CHECK_INT(sn.n, 2);
		CHECK_INT(sn.failed, 1);
		CHECK_CONTAINS(sn.last_text, cases[i].why);
		alert_free(a);
		store_close(s);
	}
}

/* The command's time limit is a duration: a wall clock stepped back a
 * minute or forward an hour while it runs (an operator, NTP) kills no
 * command that is within it (until 2026-12-06 it was counted on the
 * wall clock the ticks pass: killed at the next tick either way). */
static void
test_alert_command_clock_steps(void)
{
	static const int64_t steps[] = { -60000, 3600000 };

	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		struct store *s = mem_store();
		struct alerter *a = NULL;
		char out[256], script[512];
		const char *argv[] = { "/bin/sh", "-c", script, NULL };
		uint64_t started, failed, t = now_ms();
		json_t *o;

		snprintf(out, sizeof out, "%s/alert-step%zu.json", dir, i);
		snprintf(script, sizeof script, "sleep 0.3; cat >> %s", out);
		CHECK_INT(alert_new(s, argv, 30000, &a), 0);
		o = alert_of("owed:step");
		CHECK_INT(alert_raise(a, o, t, NULL), 0);
		json_decref(o);
		/* every tick sees the stepped clock, until the command has
		 * written its line and been reaped (at most 10 s) */
		CHECK_INT(lines_at(a, t + (uint64_t)steps[i], out, 1, 10000),
		    1);
		settle_failed(a, 1, 200);
		alert_counts(a, &started, &failed);
		CHECK_INT(started, 1);
		CHECK_INT(failed, 0);
		alert_free(a);
		store_close(s);
	}
}

static int
count_overdue(void *arg, const struct store_alert *a)
{
	size_t *n = arg;

	*n += strncmp(a->key, "ack-overdue:peer-owes:", 22) == 0;
	return 0;
}

static int
count_we_owe(void *arg, const struct store_alert *a)
{
	size_t *n = arg;

	*n += strncmp(a->key, "ack-overdue:we-owe:", 19) == 0;
	return 0;
}

/* How many stored alerts fn counts. */
static size_t
alerts_counted(struct store *s, store_alert_fn fn)
{
	size_t n = 0;

	CHECK_INT(store_alerts_each(s, true, fn, &n), 0);
	return n;
}

/* An alerter and a deadline watch on s of channel ch, ours party 0 and
 * the peer south, with deadlines dl (FLASH first). */
static void
watch_open(struct store *s, const uint8_t *ch, const uint32_t dl[4],
    struct alerter **a, struct deadline_watch **w)
{
	CHECK_INT(alert_new(s, NULL, 0, a), 0);
	CHECK_INT(deadline_watch_new(s, *a, w), 0);
	CHECK_INT(deadline_watch_add(*w, ch, 0, "south", dl), 0);
}

/* The end of a watch test: the watch raised want alerts, none twice;
 * the watch, its alerter and the store closed. */
static void
watch_close(struct deadline_watch *w, struct alerter *a, struct store *s,
    uint64_t want)
{
	uint64_t raised, again;

	deadline_watch_counts(w, &raised, &again);
	CHECK_INT(raised, want);
	CHECK_INT(again, 0);
	deadline_watch_free(w);
	alert_free(a);
	store_close(s);
}

/* The peer's message seq (prev: the id before, set to its own), of kind,
 * precedence, body and time t, received here at now. */
static void
peer_put(struct store *s, const uint8_t *ch, uint64_t seq,
    uint8_t prev[ENVELOPE_ID_LEN], uint32_t kind, uint8_t prec,
    const uint8_t *body, size_t len, uint64_t t, uint64_t now)
{
	uint8_t hdr[ENVELOPE_HEADER_MAX], id[ENVELOPE_ID_LEN];
	struct envelope_header h;
	struct store_draft d;
	struct store_in in;
	size_t hlen, added = 0;

	memset(&d, 0, sizeof d);
	d.channel = ch;
	d.sender = 1;
	d.seq = seq;
	memcpy(d.prev, prev, ENVELOPE_ID_LEN);
	d.time_ms = t;
	d.precedence = prec;
	d.kind = kind;
	d.body = body;
	d.body_len = len;
	CHECK_INT(chain_store_build(NULL, &d, hdr, sizeof hdr, &hlen, id), 0);
	CHECK_INT(envelope_header_decode(&h, hdr, hlen), 0);
	chain_store_in(&in, &h, hdr, hlen, body, len, id);
	CHECK_INT(store_received_put(s, ch, 1, &in, 1, NULL, now, &added), 0);
	CHECK_INT(added, 1);
	memcpy(prev, id, ENVELOPE_ID_LEN);
}

/* The peer's FLASH text seq (prev: the id before) of time t, received
 * here at now. */
static void
receive_at(struct store *s, const uint8_t *ch, uint64_t seq,
    uint8_t prev[ENVELOPE_ID_LEN], uint64_t t, uint64_t now)
{
	peer_put(s, ch, seq, prev, ENVELOPE_TEXT, ENVELOPE_FLASH,
	    (const uint8_t *)"FLASH", 5, t, now);
}

/* Ours queued at 1000, FLASH deadline 2 s, not in the chain until 5000
 * (no path up): the clock scan at 3500 cannot see it (no id yet); the
 * arrival scan at 5500 raises "south owes", once. Then the peer's: one
 * stamped 6500 received at 6600 is not owed before its due time 8500;
 * one stamped 1000 received at 7200 (held up on the way) is owed at the
 * next scan, once; the first falls due by the clock at 9000. */
static void
test_deadline_arrival_scan(void)
{
	struct store *s = mem_store();
	struct alerter *a = NULL;
	struct deadline_watch *w = NULL;
	uint8_t ch[ENVELOPE_ID_LEN], prev[ENVELOPE_ID_LEN];
	uint32_t dl[4] = { 2, 1800, 10800, 21600 };
	uint64_t f, l;
	int64_t q;

	memset(ch, 5, sizeof ch);
	watch_open(s, ch, dl, &a, &w);
	CHECK_INT(chain_queue(s, ch, 0, ENVELOPE_FLASH, 0, ENVELOPE_TEXT,
	    (const uint8_t *)"FLASH", 5, 1000, &q), 0);
	deadline_watch_tick(w, 3000);
	deadline_watch_tick(w, 3500);
	CHECK_INT(alerts_counted(s, count_overdue), 0);
	CHECK_INT(store_assign_batch(s, ch, 0, 8, 5000, chain_store_build,
	    NULL, &f, &l), 0);
	deadline_watch_tick(w, 5500);
	deadline_watch_tick(w, 6000);
	CHECK_INT(alerts_counted(s, count_overdue), 1);

	memset(prev, 0, sizeof prev);
	receive_at(s, ch, 1, prev, 6500, 6600);
	deadline_watch_tick(w, 7000);
	CHECK_INT(alerts_counted(s, count_we_owe), 0);
	receive_at(s, ch, 2, prev, 1000, 7200);
	deadline_watch_tick(w, 7500);
	deadline_watch_tick(w, 8000);
	CHECK_INT(alerts_counted(s, count_we_owe), 1);
	deadline_watch_tick(w, 9000);
	deadline_watch_tick(w, 9500);
	CHECK_INT(alerts_counted(s, count_we_owe), 2);
	CHECK_INT(alerts_counted(s, count_overdue), 1);
	deadline_watch_free(w);
	alert_free(a);
	store_close(s);
}

/* Two FLASH of ours fall due while the store cannot take their alerts (a
 * disk error at every commit): the due listing fails, and the next tick
 * scans the same span again and raises them, once each. A person hears
 * of both at once all the same: the alert command runs for each when the
 * store refuses it ("stored": false; the listing goes on past the first
 * refusal), and not again when they are stored. */
static void
test_deadline_retried_after_store_error(void)
{
	char path[300], out[300], script[400];
	const char *argv[] = { "/bin/sh", "-c", script, NULL };
	struct store *s = NULL;
	struct alerter *a = NULL;
	struct deadline_watch *w = NULL;
	uint8_t ch[ENVELOPE_ID_LEN];
	uint32_t dl[4] = { 2, 1800, 10800, 21600 };
	uint64_t f, l, started, failed;
	uint8_t *got = NULL;
	size_t n = 0;
	int64_t q;

	snprintf(path, sizeof path, "%s/retry.db", dir);
	snprintf(out, sizeof out, "%s/retry-alerts.json", dir);
	snprintf(script, sizeof script, "cat >> %s", out);
	CHECK_INT(store_open(&s, path), 0);
	memset(ch, 6, sizeof ch);
	CHECK_INT(alert_new(s, argv, 0, &a), 0);
	CHECK_INT(deadline_watch_new(s, a, &w), 0);
	CHECK_INT(deadline_watch_add(w, ch, 0, "south", dl), 0);
	CHECK_INT(chain_queue(s, ch, 0, ENVELOPE_FLASH, 0, ENVELOPE_TEXT,
	    (const uint8_t *)"FLASH", 5, 1000, &q), 0);
	CHECK_INT(chain_queue(s, ch, 0, ENVELOPE_FLASH, 0, ENVELOPE_TEXT,
	    (const uint8_t *)"FLASH 2", 7, 1000, &q), 0);
	CHECK_INT(store_assign_batch(s, ch, 0, 8, 1000, chain_store_build,
	    NULL, &f, &l), 0);
	deadline_watch_tick(w, 2000);		/* not due yet */
	store_fail_writes(100);
	deadline_watch_tick(w, 3500);		/* due; the alerts fail */
	store_fail_writes(0);
	CHECK_INT(alerts_counted(s, count_overdue), 0);
	alert_counts(a, &started, &failed);
	CHECK_INT(started, 2);			/* both announced unstored */
	CHECK_INT(lines_at(a, 3600, out, 2, 10000), 2);
	deadline_watch_tick(w, 4000);
	deadline_watch_tick(w, 4500);
	CHECK_INT(alerts_counted(s, count_overdue), 2);
	alert_counts(a, &started, &failed);
	CHECK_INT(started, 2);			/* not run again */
	CHECK_INT(lines_at(a, 4600, out, 3, 600), 2);
	alert_counts(a, &started, &failed);
	CHECK_INT(failed, 0);
	CHECK_INT(file_read(out, 1 << 16, &got, &n), 0);
	if (got) {
		char *t = strndup((const char *)got, n);
		char *second = strchr(t, '\n');
		CHECK(second != NULL && strstr(second, "\"stored\":false") !=
		    NULL);			/* the second line too */
		CHECK_CONTAINS(t, "\"stored\":false");
		CHECK_CONTAINS(t, "\"kind\":\"ack-overdue\"");
		free(t);
	}
	free(got);
	deadline_watch_free(w);
	alert_free(a);
	store_close(s);
}

/* An alert of channel ch (NULL: none) as the daemon stores them; its n. */
static int64_t
put_alert(struct store *s, const char *key, const char *ch, const char *kind,
    const char *text)
{
	char js[700];
	int64_t n = 0;
	bool fresh = false;

	if (ch != NULL)
		snprintf(js, sizeof js, "{\"key\": \"%s\", \"channel\": "
		    "\"%s\", \"kind\": \"%s\", \"text\": \"%s\"}", key, ch,
		    kind, text);
	else
		snprintf(js, sizeof js, "{\"key\": \"%s\", \"kind\": "
		    "\"%s\", \"text\": \"%s\"}", key, kind, text);
	CHECK_INT(store_alert_put(s, key, js, 1000, &n, &fresh), 0);
	CHECK(fresh);
	return n;
}

/* alert_open's answer for ch, checked against a pass of its own
 * (alert_open_scan: what status read before the cache); its count. */
static int64_t
open_of(struct alerter *a, struct store *s, const char *ch, char *alarm)
{
	char scan_alarm[512];
	int64_t n = -1, scan_n = -2;

	CHECK_INT(alert_open(a, ch, &n, alarm, 512), 0);
	CHECK_INT(alert_open_scan(s, ch, &scan_n, scan_alarm,
	    sizeof scan_alarm), 0);
	CHECK_INT(n, scan_n);
	CHECK_STR(alarm, scan_alarm);
	return n;
}

/*
 * alert_open (status's "alerts_open" and "alarm") gives what a pass over
 * the uncleared alerts gives, while it passes only once per change: 1,000
 * uncleared alerts of one channel, then 100 more calls cost no pass. The
 * answer follows an alert raised, one cleared, one stored by another
 * connection to the file, one in a transaction (seen inside, gone after
 * its rollback), and channels past the cache's 128.
 */
static void
test_alert_open(void)
{
	char path[300], a_ch[65], b_ch[65], c_ch[65], alarm[512], key[64];
	struct store *s = NULL, *s2 = NULL;
	struct alerter *a = NULL;
	int64_t b2;
	bool fresh;
	json_t *o;

	memset(a_ch, 'a', 64);
	memset(b_ch, 'b', 64);
	memset(c_ch, 'c', 64);
	a_ch[64] = b_ch[64] = c_ch[64] = '\0';
	snprintf(path, sizeof path, "%s/open.db", dir);
	CHECK_INT(store_open(&s, path), 0);
	CHECK_INT(alert_new(s, NULL, 0, &a), 0);
	CHECK_INT(store_txn_begin(s), 0);
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof key, "a-%d", i);
		put_alert(s, key, a_ch, "ack-overdue", "south owes an ACK");
	}
	put_alert(s, "b-1", b_ch, "checkpoint-diverged", "B alarm 1");
	b2 = put_alert(s, "b-2", b_ch, "checkpoint-diverged", "B alarm 2");
	put_alert(s, "b-3", b_ch, "ack-overdue", "not an alarm");
	put_alert(s, "disk", NULL, "disk-low", "no channel");
	CHECK_INT(store_txn_commit(s), 0);

	CHECK_INT(open_of(a, s, a_ch, alarm), 1000);
	CHECK_STR(alarm, "");
	CHECK_INT(open_of(a, s, b_ch, alarm), 3);
	CHECK_STR(alarm, "B alarm 2");
	CHECK_INT(open_of(a, s, c_ch, alarm), 0);
	CHECK_INT(alert_open_passes(a), 1);
	for (int i = 0; i < 100; i++)
		CHECK_INT(open_of(a, s, i % 2 ? a_ch : b_ch, alarm),
		    i % 2 ? 1000 : 3);
	CHECK_INT(alert_open_passes(a), 1);	/* nothing changed */

	/* raised through the alerter */
	o = json_pack("{s:s, s:s, s:s, s:s}", "key", "a-alarm", "channel",
	    a_ch, "kind", "checkpoint-missing", "text", "A alarm");
	CHECK_INT(alert_raise(a, o, 2000, &fresh), 0);
	json_decref(o);
	CHECK_INT(open_of(a, s, a_ch, alarm), 1001);
	CHECK_STR(alarm, "A alarm");
	CHECK_INT(alert_open_passes(a), 2);
	/* cleared: the alarm before it is the newest again */
	CHECK_INT(store_alert_clear(s, b2, 60001, "Maj. Aster", "seen",
	    3000), 0);
	CHECK_INT(open_of(a, s, b_ch, alarm), 2);
	CHECK_STR(alarm, "B alarm 1");
	/* stored by another connection */
	CHECK_INT(store_open(&s2, path), 0);
	put_alert(s2, "b-4", b_ch, "ack-overdue", "from elsewhere");
	store_close(s2);
	CHECK_INT(open_of(a, s, b_ch, alarm), 3);
	/* in a transaction that rolls back */
	CHECK_INT(store_txn_begin(s), 0);
	put_alert(s, "a-rolled-back", a_ch, "ack-overdue", "gone");
	CHECK_INT(open_of(a, s, a_ch, alarm), 1002);
	store_txn_rollback(s);
	CHECK_INT(open_of(a, s, a_ch, alarm), 1001);
	CHECK_STR(alarm, "A alarm");
	/* more channels than the cache holds: each still answered */
	CHECK_INT(store_txn_begin(s), 0);
	for (int i = 0; i < 200; i++) {
		char ch[65];
		snprintf(ch, sizeof ch, "%064d", i);
		snprintf(key, sizeof key, "many-%d", i);
		put_alert(s, key, ch, "ack-overdue", "one of many");
	}
	CHECK_INT(store_txn_commit(s), 0);
	for (int i = 0; i < 200; i += 37) {
		char ch[65];
		snprintf(ch, sizeof ch, "%064d", i);
		CHECK_INT(open_of(a, s, ch, alarm), 1);
	}
	CHECK_INT(open_of(a, s, a_ch, alarm), 1001);
	alert_free(a);
	store_close(s);
}

/*
 * deadline_owed (status's counts, from what the watch keeps of the owed
 * messages, read on from where it stopped) against deadline_owed_recount
 * (every message read),
 * for both parties' views and at several clocks, after each step of a
 * mixed run: ours queued then assigned, or queued and assigned at once;
 * the peer's received in runs; ACKs both ways, some queued unsent, some
 * late, one naming a message of its own side or of another channel;
 * equal times; a group rolled back; writes by another connection (texts
 * and ACKs both ways, seen first inside a transaction); and a restart (a
 * new watch reads the record again, at its warm-up).
 */
struct owed_run {
	struct store *s;
	struct deadline_watch *w;
	uint8_t ch[2][ENVELOPE_ID_LEN];
	uint8_t prev[2][ENVELOPE_ID_LEN];	/* the peer's chain, per channel */
	uint64_t seq[2];
	uint8_t ids[2][2][64][ENVELOPE_ID_LEN];	/* [channel][sender] texts */
	size_t nid[2][2];
	uint64_t t;
	uint32_t rng;
};

static uint32_t
owed_rand(struct owed_run *o, uint32_t n)
{
	o->rng = o->rng * 1103515245u + 12345u;
	return (o->rng >> 16) % n;
}

static void
owed_check_one(struct owed_run *o, unsigned c)
{
	static const uint32_t dl[4] = { 2, 5, 9, 20 };
	struct deadline_owed a[3], b[3];

	for (uint8_t self = 0; self < 2; self++)
		for (uint64_t dt = 0; dt <= 30000; dt += 2500) {
			CHECK_INT(deadline_owed(o->w, o->s, o->ch[c], self, dl,
			    o->t + dt, &a[0], &a[1], &a[2]), 0);
			CHECK_INT(deadline_owed_recount(o->s, o->ch[c], self,
			    dl, o->t + dt, &b[0], &b[1], &b[2]), 0);
			for (int k = 0; k < 3; k++) {
				CHECK_INT(a[k].count, b[k].count);
				CHECK_INT(a[k].oldest_ms, b[k].oldest_ms);
				CHECK_INT(a[k].top, b[k].top);
				CHECK_STR(a[k].oldest_id, b[k].oldest_id);
			}
		}
}

static void
owed_check(struct owed_run *o)
{
	for (unsigned c = 0; c < 2; c++)
		owed_check_one(o, c);
}

/* The peer's message on channel c (sender 1), received at once. */
static void
owed_peer(struct owed_run *o, unsigned c, uint32_t kind, uint8_t prec,
    const uint8_t *body, size_t len, uint64_t t)
{
	peer_put(o->s, o->ch[c], ++o->seq[c], o->prev[c], kind, prec, body,
	    len, t, o->t);
	if (kind == ENVELOPE_TEXT && o->nid[c][1] < 64)
		memcpy(o->ids[c][1][o->nid[c][1]++], o->prev[c],
		    ENVELOPE_ID_LEN);
}

/* Ours on channel c (sender 0): queued, then the queue assigned. */
static void
owed_ours(struct owed_run *o, unsigned c, uint32_t kind, uint8_t prec,
    const uint8_t *body, size_t len, uint64_t t, bool assign)
{
	struct store_msg m;
	uint64_t f, l;
	int64_t q;

	CHECK_INT(chain_queue(o->s, o->ch[c], 0, prec, 0, kind, body, len, t,
	    &q), 0);
	if (!assign)
		return;
	CHECK_INT(store_assign_batch(o->s, o->ch[c], 0, 64, t,
	    chain_store_build, NULL, &f, &l), 0);
	for (uint64_t k = f; k <= l; k++) {
		CHECK_INT(store_get_at(o->s, o->ch[c], 0, k, &m), 0);
		if (m.kind == ENVELOPE_TEXT && o->nid[c][0] < 64)
			memcpy(o->ids[c][0][o->nid[c][0]++], m.id,
			    ENVELOPE_ID_LEN);
		store_msg_fini(&m);
	}
}

/* An ACK by side w on channel c naming id. */
static void
owed_ack(struct owed_run *o, unsigned c, unsigned w, const uint8_t *id,
    uint64_t t, bool assign)
{
	struct ack_body b;
	uint8_t body[ACK_BODY_MAX];
	size_t len;

	memset(&b, 0, sizeof b);
	memcpy(b.acked, id, ENVELOPE_ID_LEN);
	snprintf(b.operator, sizeof b.operator, "Duty Officer");
	CHECK_INT(ack_body_encode(&b, body, sizeof body, &len), 0);
	if (w == 1)
		owed_peer(o, c, ENVELOPE_ACK, 1, body, len, t);
	else
		owed_ours(o, c, ENVELOPE_ACK, 1, body, len, t, assign);
}

static void
owed_step(struct owed_run *o)
{
	uint8_t text[32];
	unsigned c = owed_rand(o, 4) == 0 ? 1 : 0, w = owed_rand(o, 2);
	uint8_t prec = (uint8_t)owed_rand(o, 4);
	uint64_t t = o->t - owed_rand(o, 3) * 1000;	/* equal times too */
	size_t len = (size_t)snprintf((char *)text, sizeof text, "text %u",
	    owed_rand(o, 1000));
	size_t n;

	switch (owed_rand(o, 6)) {
	case 0:
	case 1:		/* a text; ours sometimes left queued a while */
		if (w == 1)
			owed_peer(o, c, ENVELOPE_TEXT, prec, text, len, t);
		else
			owed_ours(o, c, ENVELOPE_TEXT, prec, text, len, t,
			    owed_rand(o, 3) != 0);
		break;
	case 2:
	case 3:		/* side w acknowledges one of the other's, maybe
			 * late, maybe not sent yet */
		if ((n = o->nid[c][1 - w]) == 0)
			break;
		owed_ack(o, c, w, o->ids[c][1 - w][owed_rand(o, (uint32_t)n)],
		    o->t + owed_rand(o, 2) * 20000, owed_rand(o, 2) != 0);
		break;
	case 4:		/* an ACK of one's own message, or of the other
			 * channel's: acknowledges nothing here */
		if ((n = o->nid[c][w]) > 0)
			owed_ack(o, c, w, o->ids[c][w][owed_rand(o,
			    (uint32_t)n)], o->t, true);
		if ((n = o->nid[1 - c][1 - w]) > 0)
			owed_ack(o, c, w, o->ids[1 - c][1 - w][owed_rand(o,
			    (uint32_t)n)], o->t, true);
		break;
	default:	/* time passes */
		o->t += 1000 + owed_rand(o, 4) * 1000;
		break;
	}
}

/* The watch of a daemon that starts: both channels watched, read at its
 * warm-up. */
static void
owed_start(struct owed_run *o)
{
	static const uint32_t dl[4] = { 2, 5, 9, 20 };

	CHECK_INT(deadline_watch_new(o->s, NULL, &o->w), 0);
	for (unsigned c = 0; c < 2; c++)
		CHECK_INT(deadline_watch_add(o->w, o->ch[c], 0, "south", dl), 0);
	deadline_owed_warm(o->w);
}

static void
test_owed_matches_recount(void)
{
	struct owed_run o;
	struct store *other = NULL, *mine;
	char path[300];
	uint8_t text[] = "rolled back", prev[ENVELOPE_ID_LEN];
	struct store_msg m;
	uint64_t f, l;
	size_t n;

	memset(&o, 0, sizeof o);
	o.t = 1700000000000ull;
	o.rng = 7;
	memset(o.ch[0], 0x31, ENVELOPE_ID_LEN);
	memset(o.ch[1], 0x32, ENVELOPE_ID_LEN);
	snprintf(path, sizeof path, "%s/owed.db", dir);
	CHECK_INT(store_open(&o.s, path), 0);
	CHECK_INT(deadline_watch_new(o.s, NULL, &o.w), 0);
	/* equal times, older than the rest, both sides: the oldest is the
	 * first stored; and one stamped 0 (a clock far off), which is never
	 * counted */
	for (unsigned c = 0; c < 2; c++)
		for (int i = 0; i < 3; i++) {
			owed_peer(&o, c, ENVELOPE_TEXT, 2, text, 4, o.t - 50000);
			owed_ours(&o, c, ENVELOPE_TEXT, 2, text, 4, o.t - 50000,
			    true);
		}
	owed_peer(&o, 0, ENVELOPE_TEXT, 3, text, 4, 0);
	/* older still, at one time, the later of each pair of a higher
	 * precedence: the oldest is the highest precedence's */
	for (unsigned c = 0; c < 2; c++)
		for (uint8_t p = 4; p-- > 1;) {
			owed_peer(&o, c, ENVELOPE_TEXT, p, text, 4,
			    o.t - 60000);
			owed_ours(&o, c, ENVELOPE_TEXT, p, text, 4,
			    o.t - 60000, true);
		}
	/* a record older than the watch: the first count reads it whole */
	for (int i = 0; i < 40; i++)
		owed_step(&o);
	owed_check(&o);
	CHECK(deadline_owed_kept(o.w) > 0);
	for (int i = 0; i < 160; i++) {
		owed_step(&o);
		owed_check(&o);
	}
	/* a group rolled back: its text and its ACK (of a text owed till
	 * then) leave no trace (the counts inside it are the recount's,
	 * nothing kept from there) */
	owed_peer(&o, 0, ENVELOPE_TEXT, 3, text, 4, o.t);
	memcpy(prev, o.prev[0], sizeof prev);
	n = o.nid[0][1];
	owed_check(&o);
	CHECK_INT(store_txn_begin(o.s), 0);
	owed_peer(&o, 0, ENVELOPE_TEXT, 0, text, sizeof text - 1,
	    o.t - 90000);
	owed_ack(&o, 0, 0, prev, o.t, true);
	owed_check(&o);
	store_txn_rollback(o.s);
	o.seq[0]--;			/* the peer's text is gone */
	o.nid[0][1] = n;
	memcpy(o.prev[0], prev, sizeof prev);
	CHECK_INT(store_get_at(o.s, o.ch[0], 1, o.seq[0] + 1, &m),
	    ERR_NOT_FOUND);
	owed_check(&o);
	/* its seq taken again by another text */
	owed_peer(&o, 0, ENVELOPE_TEXT, 2, text, 4, o.t - 1000);
	owed_check(&o);
	/* the same seq and qids taken again by others, after the rollback */
	for (int i = 0; i < 20; i++) {
		owed_step(&o);
		owed_check(&o);
	}
	/* another connection's writes: ours queued and assigned there, then
	 * a mixed run of texts and ACKs both ways */
	CHECK_INT(store_open(&other, path), 0);
	CHECK_INT(chain_queue(other, o.ch[0], 0, 0, 0, ENVELOPE_TEXT, text,
	    sizeof text - 1, o.t, &(int64_t){ 0 }), 0);
	CHECK_INT(store_assign_batch(other, o.ch[0], 0, 64, o.t,
	    chain_store_build, NULL, &f, &l), 0);
	owed_check(&o);
	for (int k = 0; k < 6; k++) {
		mine = o.s;
		o.s = other;
		for (int i = 0; i < 10; i++)
			owed_step(&o);
		o.s = mine;
		/* seen first inside a transaction: nothing kept from it */
		if (k == 0) {
			CHECK_INT(store_txn_begin(o.s), 0);
			owed_check(&o);
			store_txn_rollback(o.s);
		}
		owed_check(&o);
	}
	store_close(other);
	/* a restart: a new watch, read at its warm-up; more of everything */
	deadline_watch_free(o.w);
	store_close(o.s);
	CHECK_INT(store_open(&o.s, path), 0);
	owed_start(&o);
	CHECK(deadline_owed_kept(o.w) > 0);
	owed_check(&o);
	for (int i = 0; i < 100; i++) {
		owed_step(&o);
		owed_check(&o);
	}
	deadline_watch_free(o.w);
	store_close(o.s);
}

/*
 * The start's read in slices (deadline_owed_warm_step, of 4, 7 and 16
 * seqs) while the record grows between them: at every third slice, a
 * step of the random run (texts and ACKs both ways) and on each channel a
 * new text of the peer (above the read's cursor), acknowledged by us
 * three slices later, and an ACK of the peer's first text (read
 * already). Meanwhile the channels read as being
 * read, with a progress that only grows; once through, the counts are
 * the recount's, on the first channel while the second is still read. A
 * count of a channel not through reads the rest at once (the last run).
 */
static void
test_owed_warm_in_slices(void)
{
	static const uint32_t dl[4] = { 2, 5, 9, 20 };
	static const uint64_t slice[3] = { 4, 7, 16 };
	uint8_t text[] = "sent while the record is read", fresh[2][32];
	uint64_t read, of, last[2];
	bool reading[2], was[2], have[2];
	struct owed_run o;
	char path[300];
	int steps, mid;

	memset(&o, 0, sizeof o);
	o.t = 1700000000000ull;
	o.rng = 11;
	memset(o.ch[0], 0x41, ENVELOPE_ID_LEN);
	memset(o.ch[1], 0x42, ENVELOPE_ID_LEN);
	snprintf(path, sizeof path, "%s/owed-warm.db", dir);
	CHECK_INT(store_open(&o.s, path), 0);
	for (unsigned c = 0; c < 2; c++)	/* owed both ways, at least */
		for (int i = 0; i < 4; i++) {
			owed_peer(&o, c, ENVELOPE_TEXT, 1, text, 4, o.t - 40000);
			owed_ours(&o, c, ENVELOPE_TEXT, 2, text, 4, o.t - 40000,
			    true);
		}
	for (int i = 0; i < 120; i++)
		owed_step(&o);
	for (int k = 0; k < 3; k++) {
		CHECK_INT(deadline_watch_new(o.s, NULL, &o.w), 0);
		for (unsigned c = 0; c < 2; c++)
			CHECK_INT(deadline_watch_add(o.w, o.ch[c], 0, "south",
			    dl), 0);
		deadline_owed_warm_begin(o.w);
		CHECK(deadline_owed_reading(o.w, o.ch[1], &read, &of));
		CHECK_INT(read, 0);
		CHECK(of > 0);
		memset(last, 0, sizeof last);
		memset(was, 1, sizeof was);
		memset(have, 0, sizeof have);
		mid = 0;
		for (steps = 0; !deadline_owed_warm_step(o.w, slice[k], 0) &&
		    steps < 5000; steps++) {
			for (unsigned c = 0; c < 2; c++) {
				reading[c] = deadline_owed_reading(o.w,
				    o.ch[c], &read, &of);
				CHECK(was[c] || !reading[c]);	/* once */
				if (reading[c]) {
					CHECK(read >= last[c] && read <= of);
					last[c] = read;
				}
				/* the first channel through, the second
				 * not yet: counted as the recount does */
				if (c == 0 && was[0] && !reading[0] &&
				    reading[1]) {
					owed_check_one(&o, 0);
					mid++;
				}
				was[c] = reading[c];
			}
			CHECK(reading[0] || reading[1]);
			if (steps % 3 != 0)	/* the read gains on them */
				continue;
			for (unsigned c = 0; c < 2; c++) {
				if (have[c])	/* not read yet, likely */
					owed_ack(&o, c, 0, fresh[c], o.t,
					    true);
				owed_peer(&o, c, ENVELOPE_TEXT, 0, text,
				    sizeof text - 1, o.t);
				memcpy(fresh[c], o.prev[c], sizeof fresh[c]);
				have[c] = true;
				if (o.nid[c][1] > 0)	/* read already */
					owed_ack(&o, c, 0, o.ids[c][1][0],
					    o.t, true);
			}
			owed_step(&o);
			/* the last run: a count reads the rest at once */
			if (k == 2 && steps == 3) {
				CHECK(deadline_owed_reading(o.w, o.ch[1],
				    &read, &of));
				owed_check(&o);
				CHECK(!deadline_owed_reading(o.w, o.ch[0],
				    &read, &of));
				CHECK(!deadline_owed_reading(o.w, o.ch[1],
				    &read, &of));
			}
		}
		CHECK(steps >= 4 && steps < 5000);
		CHECK(k == 2 || mid == 1);
		for (unsigned c = 0; c < 2; c++)
			CHECK(!deadline_owed_reading(o.w, o.ch[c], &read,
			    &of));
		owed_check(&o);
		CHECK(deadline_owed_kept(o.w) > 0);
		for (int i = 0; i < 20; i++) {	/* and on as before */
			owed_step(&o);
			owed_check(&o);
		}
		deadline_watch_free(o.w);
	}
	store_close(o.s);
}

/* The keys of the ack-overdue alerts of a store, sorted, one a line. */
struct keys_seen {
	char *buf;
	size_t n, cap;
};

static int
key_row(void *arg, const struct store_alert *a)
{
	struct keys_seen *k = arg;
	size_t len = strlen(a->key);

	if (strncmp(a->key, "ack-overdue:", 12) != 0)
		return 0;
	if (k->n + len + 2 > k->cap) {
		k->cap = 2 * (k->n + len + 2);
		CHECK((k->buf = realloc(k->buf, k->cap)) != NULL);
		if (k->buf == NULL)
			return ERR_NOMEM;
	}
	memcpy(k->buf + k->n, a->key, len);
	k->n += len;
	k->buf[k->n++] = '\n';
	k->buf[k->n] = '\0';
	return 0;
}

static int
str_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* The overdue alerts' keys of s, sorted, in one string (free it); *n of
 * them. */
static char *
overdue_keys(struct store *s, size_t *n)
{
	struct keys_seen k = { NULL, 0, 0 };
	char **v = NULL, *out, *p;
	size_t m = 0, at = 0;

	CHECK_INT(store_alerts_each(s, true, key_row, &k), 0);
	*n = 0;
	if (k.buf == NULL)
		return strdup("");
	for (p = k.buf; *p != '\0'; p = strchr(p, '\n') + 1)
		m++;
	CHECK((v = calloc(m, sizeof *v)) != NULL);
	for (p = strtok(k.buf, "\n"); p != NULL && at < m;
	    p = strtok(NULL, "\n"))
		v[at++] = p;
	qsort(v, at, sizeof *v, str_cmp);
	CHECK((out = calloc(1, k.n + 1)) != NULL);
	for (size_t i = 0; i < at; i++) {
		strcat(out, v[i]);
		strcat(out, "\n");
	}
	*n = at;
	free(v);
	free(k.buf);
	return out;
}

/* A record for the first scan, the same on every call (the same ids):
 * on both channels, six texts each way at one time, every precedence,
 * long overdue; then a random run (texts both ways, some of ours left
 * queued, ACKs in time and late, equal times, time passing). */
static void
scan_record(struct owed_run *o, struct store *s)
{
	static const uint8_t text[] = "overdue at the start";

	memset(o, 0, sizeof *o);
	o->s = s;
	o->t = 1700000000000ull;
	o->rng = 23;
	memset(o->ch[0], 0x51, ENVELOPE_ID_LEN);
	memset(o->ch[1], 0x52, ENVELOPE_ID_LEN);
	for (unsigned c = 0; c < 2; c++)
		for (int i = 0; i < 6; i++) {
			owed_peer(o, c, ENVELOPE_TEXT, (uint8_t)(i % 4), text,
			    sizeof text - 1, o->t - 50000);
			owed_ours(o, c, ENVELOPE_TEXT, (uint8_t)(3 - i % 4),
			    text, sizeof text - 1, o->t - 50000, true);
		}
	for (int i = 0; i < 300; i++)
		owed_step(o);
}

/* The watch of o's two channels on o->s, with alerter a. */
static struct deadline_watch *
scan_watch(struct owed_run *o, struct alerter **a)
{
	static const uint32_t dl[4] = { 2, 5, 9, 20 };
	struct deadline_watch *w = NULL;

	CHECK_INT(alert_new(o->s, NULL, 0, a), 0);
	CHECK_INT(deadline_watch_new(o->s, *a, &w), 0);
	for (unsigned c = 0; c < 2; c++)
		CHECK_INT(deadline_watch_add(w, o->ch[c], 0, "south", dl), 0);
	return w;
}

/*
 * The first scan in steps (deadline_watch_step: listings of 1, 3 and 16
 * seqs, no time, so that a listing stops after its first alert and lists
 * its range again at the next step) raises the alerts of one whole scan
 * of the same record at the same time, each once: texts of both sides,
 * every precedence, many at one time_ms; what gets into the chains
 * between two steps (old texts of the peer, overdue at once, and ours,
 * falling due later) and what falls due by the clock while the steps go
 * on are alerted too. The first step raises one alert at most; none is
 * raised again (a listing that leaves out what is alerted).
 */
static void
test_deadline_first_scan_in_steps(void)
{
	static const uint64_t seqs[3] = { 1, 3, 16 };
	static const uint8_t late[] = "held up on the way";
	struct owed_run ref, o;
	struct alerter *ra = NULL, *a = NULL;
	struct deadline_watch *rw, *w;
	uint64_t t_end, now, raised, again;
	char *want, *got;
	size_t nwant, ngot;
	int steps;
	bool done;

	/* the reference: the arrivals first, then one whole scan */
	scan_record(&ref, mem_store());
	t_end = ref.t + 30000;
	for (int i = 0; i < 4; i++)
		for (unsigned c = 0; c < 2; c++) {
			owed_peer(&ref, c, ENVELOPE_TEXT, (uint8_t)i, late,
			    sizeof late - 1, ref.t - 90000);
			owed_ours(&ref, c, ENVELOPE_TEXT, (uint8_t)i, late,
			    sizeof late - 1, ref.t + 1000, true);
		}
	rw = scan_watch(&ref, &ra);
	deadline_watch_tick(rw, t_end);
	want = overdue_keys(ref.s, &nwant);
	deadline_watch_counts(rw, &raised, &again);
	CHECK_INT(raised, nwant);
	CHECK_INT(again, 0);
	CHECK(nwant > 100);
	for (int k = 0; k < 3; k++) {
		scan_record(&o, mem_store());
		w = scan_watch(&o, &a);
		now = o.t;
		CHECK(!deadline_watch_step(w, now, seqs[k], 0));
		deadline_watch_counts(w, &raised, &again);
		CHECK(raised <= 1);
		for (steps = 1, done = false; steps < 100000; steps++) {
			/* an arrival every 40 steps, the same as the
			 * reference's */
			if (steps % 40 == 0 && steps / 40 <= 4) {
				for (unsigned c = 0; c < 2; c++) {
					int i = steps / 40 - 1;

					owed_peer(&o, c, ENVELOPE_TEXT,
					    (uint8_t)i, late, sizeof late - 1,
					    ref.t - 90000);
					owed_ours(&o, c, ENVELOPE_TEXT,
					    (uint8_t)i, late, sizeof late - 1,
					    ref.t + 1000, true);
				}
			}
			now = now + 20 < t_end ? now + 20 : t_end;
			done = deadline_watch_step(w, now, seqs[k], 0);
			if (done && now == t_end && steps > 160)
				break;
		}
		CHECK(done && steps < 100000);
		got = overdue_keys(o.s, &ngot);
		CHECK_INT(ngot, nwant);
		CHECK_STR(got, want);
		deadline_watch_counts(w, &raised, &again);
		CHECK_INT(raised, ngot);
		CHECK_INT(again, 0);
		free(got);
		deadline_watch_free(w);
		alert_free(a);
		store_close(o.s);
	}
	free(want);
	deadline_watch_free(rw);
	alert_free(ra);
	store_close(ref.s);
}

/* A record for the listings by due time, the same on every call: on
 * channel 0 a burst at one time T (30 texts each way ROUTINE, 10 each way
 * IMMEDIATE, a few acknowledged in time), then texts at T + 250 ms ..
 * T + 5 s, three at each time, both sides, every precedence; on channel
 * 1 five texts each way. Nothing is due at T + 1 s (FLASH's 2 s). */
static void
due_record(struct owed_run *o, struct store *s)
{
	static const uint8_t text[] = "falls due with many";

	memset(o, 0, sizeof *o);
	o->s = s;
	o->t = 1700000000000ull;
	o->rng = 7;
	memset(o->ch[0], 0x61, ENVELOPE_ID_LEN);
	memset(o->ch[1], 0x62, ENVELOPE_ID_LEN);
	for (int i = 0; i < 40; i++) {
		uint8_t p = i < 30 ? ENVELOPE_ROUTINE : ENVELOPE_IMMEDIATE;

		owed_peer(o, 0, ENVELOPE_TEXT, p, text, sizeof text - 1, o->t);
		owed_ours(o, 0, ENVELOPE_TEXT, p, text, sizeof text - 1, o->t,
		    true);
	}
	for (int i = 0; i < 6; i++) {		/* in time: never alerted */
		owed_ack(o, 0, 0, o->ids[0][1][5 * i], o->t + 1000, true);
		owed_ack(o, 0, 1, o->ids[0][0][5 * i + 2], o->t + 1000, true);
	}
	for (int i = 1; i <= 20; i++)
		for (int j = 0; j < 3; j++) {
			uint8_t p = (uint8_t)((i + j) % 4);

			if ((i + j) % 2 == 0)
				owed_peer(o, 0, ENVELOPE_TEXT, p, text,
				    sizeof text - 1, o->t + 250 * (uint64_t)i);
			else
				owed_ours(o, 0, ENVELOPE_TEXT, p, text,
				    sizeof text - 1, o->t + 250 * (uint64_t)i,
				    true);
		}
	for (int i = 0; i < 5; i++) {
		owed_peer(o, 1, ENVELOPE_TEXT, (uint8_t)(i % 4), text,
		    sizeof text - 1, o->t + 100 * (uint64_t)i);
		owed_ours(o, 1, ENVELOPE_TEXT, (uint8_t)(3 - i % 4), text,
		    sizeof text - 1, o->t + 100 * (uint64_t)i, true);
	}
}

/* What comes between the steps of test_deadline_due_in_steps, before
 * step k (the reference's, all at once: k < 0). */
static void
due_arrivals(struct owed_run *o, int k)
{
	static const uint8_t late[] = "came in the burst's wake";
	uint64_t t = o->t;

	if (k < 0 || k == 7) {	/* at the burst's own time: past due */
		owed_peer(o, 0, ENVELOPE_TEXT, ENVELOPE_ROUTINE, late,
		    sizeof late - 1, t);
		owed_ours(o, 0, ENVELOPE_TEXT, ENVELOPE_ROUTINE, late,
		    sizeof late - 1, t, true);
	}
	if (k < 0 || k == 20)	/* falling due while the steps go on */
		for (int i = 0; i < 3; i++) {
			owed_peer(o, 0, ENVELOPE_TEXT, ENVELOPE_FLASH, late,
			    sizeof late - 1, t + 61000);
			owed_ours(o, 0, ENVELOPE_TEXT, ENVELOPE_IMMEDIATE,
			    late, sizeof late - 1, t + 61000, true);
		}
	if (k < 0 || k == 30)	/* the other channel's FLASH */
		owed_peer(o, 1, ENVELOPE_TEXT, ENVELOPE_FLASH, late,
		    sizeof late - 1, t + 61000);
}

/*
 * The listings by due time in steps (deadline_watch_step with no time: a
 * listing stops before its second alert of the step and goes on from its
 * cursor, due time then qid, at the next step). The first scan is
 * through at T + 1 s with nothing due; then the clock jumps to T + 60 s:
 * a burst at one time_ms (both sides, two precedences) and texts due at
 * many times are alerted one a step, each once, as one whole listing of
 * the same record alerts them; so are texts that come between the steps
 * (at the burst's own time, so among the rows of equal time_ms being
 * listed; falling due later), and a FLASH text of the other channel
 * falling due while the burst is listed is raised within two steps
 * (FLASH first). A version that passed over the rest of a time_ms at a
 * cursor, or moved a stopped listing's cursor to its end, misses some.
 */
static void
test_deadline_due_in_steps(void)
{
	struct owed_run ref, o;
	struct alerter *ra = NULL, *a = NULL;
	struct deadline_watch *rw, *w;
	uint64_t t_end, now, raised, again, before, flash_due = 0;
	char key[96], *want, *got;
	size_t nwant, ngot;
	int steps, most = 0;
	bool done;

	due_record(&ref, mem_store());
	t_end = ref.t + 70000;
	due_arrivals(&ref, -1);
	rw = scan_watch(&ref, &ra);
	deadline_watch_tick(rw, t_end);
	want = overdue_keys(ref.s, &nwant);
	/* 80 at T but 12 in time, 60 later, 10 on channel 1; 9 came */
	CHECK_INT(nwant, 80 - 12 + 60 + 10 + 9);

	due_record(&o, mem_store());
	w = scan_watch(&o, &a);
	for (steps = 0; steps < 1000; steps++)
		if (deadline_watch_step(w, o.t + 1000, 1, 0))
			break;
	deadline_watch_counts(w, &raised, &again);
	CHECK_INT(raised, 0);
	now = o.t + 60000;
	for (steps = 0, done = false; steps < 100000; steps++) {
		due_arrivals(&o, steps);
		if (steps == 30)
			flash_due = o.t + 61000 + 2000;
		deadline_watch_counts(w, &before, &again);
		done = deadline_watch_step(w, now, 1, 0);
		deadline_watch_counts(w, &raised, &again);
		CHECK(raised <= before + 1);	/* one a step */
		if (raised > before + 1)
			break;
		if (!done)
			most = steps + 1;
		if (flash_due != 0 && now >= flash_due + 50) {
			/* the other channel's FLASH, not behind the burst
			 * nor behind channel 0's three of its time: raised
			 * by the step at its due time or the next */
			snprintf(key, sizeof key, "ack-overdue:we-owe:");
			hex_encode(key + strlen(key), o.prev[1],
			    ENVELOPE_ID_LEN);
			got = overdue_keys(o.s, &ngot);
			CHECK(strstr(got, key) != NULL);
			free(got);
			flash_due = 0;
		}
		now = now + 50 < t_end ? now + 50 : t_end;
		if (done && now == t_end && steps > 40)
			break;
	}
	CHECK(done && steps < 100000);
	CHECK(most > 100);		/* the burst took many steps */
	got = overdue_keys(o.s, &ngot);
	CHECK_INT(ngot, nwant);
	CHECK_STR(got, want);
	deadline_watch_counts(w, &raised, &again);
	CHECK_INT(raised, ngot);
	CHECK_INT(again, 0);
	free(got);
	free(want);
	deadline_watch_free(w);
	alert_free(a);
	store_close(o.s);
	deadline_watch_free(rw);
	alert_free(ra);
	store_close(ref.s);
}

/* n FLASH texts of ours at time t on ch, put in the chain together. */
static void
flash_sent(struct store *s, const uint8_t *ch, int n, uint64_t t)
{
	uint64_t f, l;
	int64_t q;

	for (int i = 0; i < n; i++)
		CHECK_INT(chain_queue(s, ch, 0, ENVELOPE_FLASH, 0,
		    ENVELOPE_TEXT, (const uint8_t *)"FLASH", 5, t, &q), 0);
	CHECK_INT(store_assign_batch(s, ch, 0, (uint64_t)n, t,
	    chain_store_build, NULL, &f, &l), 0);
}

/*
 * A first scan in steps while the store refuses the alerts: the failing
 * step says it is done for now (the retry waits for the next tick: a
 * zero-delay retry spun on the same failing range, logging the same
 * alerts again, for as long as the store failed); once the store works,
 * the steps go through and every overdue text is alerted once.
 */
static void
test_deadline_steps_wait_after_store_error(void)
{
	char path[300];
	struct store *s = NULL;
	struct alerter *a = NULL;
	struct deadline_watch *w = NULL;
	uint8_t ch[2][ENVELOPE_ID_LEN];
	uint32_t dl[4] = { 2, 1800, 10800, 21600 };
	uint64_t raised, again;
	int steps;
	bool done = false;

	snprintf(path, sizeof path, "%s/retry-steps.db", dir);
	CHECK_INT(store_open(&s, path), 0);
	CHECK_INT(alert_new(s, NULL, 0, &a), 0);
	CHECK_INT(deadline_watch_new(s, a, &w), 0);
	for (int c = 0; c < 2; c++) {	/* two channels: the second's
					 * listing finds the time out */
		memset(ch[c], 7 + c, sizeof ch[c]);
		CHECK_INT(deadline_watch_add(w, ch[c], 0, c ? "west" : "south",
		    dl), 0);
		flash_sent(s, ch[c], 20, 1000);
	}
	store_fail_writes(1000000);
	CHECK(deadline_watch_step(w, 5000, 4, 0));
	store_fail_writes(0);
	CHECK_INT(alerts_counted(s, count_overdue), 0);
	for (steps = 0; steps < 1000 && !done; steps++)
		done = deadline_watch_step(w, 6000, 4, 0);
	CHECK(done);
	CHECK_INT(alerts_counted(s, count_overdue), 40);
	deadline_watch_counts(w, &raised, &again);
	CHECK_INT(again, 0);
	/* the same for the listings by due time: 20 more on each channel at
	 * 6,000 (due at 8,000), listed by seq before they are due; the clock
	 * jumps to 20,000 while the store refuses: that step is done for
	 * now; then each is alerted once */
	for (int c = 0; c < 2; c++) {
		flash_sent(s, ch[c], 20, 6000);
	}
	for (steps = 0, done = false; steps < 1000 && !done; steps++)
		done = deadline_watch_step(w, 6500, 4, 0);
	CHECK(done);
	store_fail_writes(1000000);
	CHECK(deadline_watch_step(w, 20000, 4, 0));
	store_fail_writes(0);
	CHECK_INT(alerts_counted(s, count_overdue), 40);
	for (steps = 0, done = false; steps < 1000 && !done; steps++)
		done = deadline_watch_step(w, 21000, 4, 0);
	CHECK(done && steps > 20);	/* one alert a step */
	CHECK_INT(alerts_counted(s, count_overdue), 80);
	watch_close(w, a, s, 80);
}

/*
 * The clock steps back during a first scan in steps: the clock's mark
 * follows it down, so a text whose range was listed while it was not due
 * yet (by the stepped-back clock) is caught by a later step's listing by
 * due time, though its due time lies below the mark before the step
 * back. Texts at 1,000, 1,000 and 5,000 ms, FLASH (due 2 s later); steps
 * of one seq and no time (a range that raises an alert is listed again
 * at the next step): two at 8,000 ms (seq 1), three at 4,000 (the clock
 * back: seq 2, and seq 3 not due yet), one at 9,000: all three alerted,
 * once (had the mark stayed at 8,000, the third never was).
 */
static void
test_deadline_steps_clock_back(void)
{
	struct store *s = mem_store();
	struct alerter *a = NULL;
	struct deadline_watch *w = NULL;
	uint8_t ch[ENVELOPE_ID_LEN];
	uint32_t dl[4] = { 2, 1800, 10800, 21600 };
	uint64_t f, l;
	const uint64_t at[3] = { 1000, 1000, 5000 };
	int64_t q;

	memset(ch, 9, sizeof ch);
	watch_open(s, ch, dl, &a, &w);
	for (int i = 0; i < 3; i++) {
		CHECK_INT(chain_queue(s, ch, 0, ENVELOPE_FLASH, 0,
		    ENVELOPE_TEXT, (const uint8_t *)"FLASH", 5, at[i], &q), 0);
		CHECK_INT(store_assign_batch(s, ch, 0, 1, at[i],
		    chain_store_build, NULL, &f, &l), 0);
	}
	CHECK(!deadline_watch_step(w, 8000, 1, 0));	/* seq 1 */
	CHECK(!deadline_watch_step(w, 8000, 1, 0));	/* listed again */
	CHECK_INT(alerts_counted(s, count_overdue), 1);
	CHECK(!deadline_watch_step(w, 4000, 1, 0));	/* back; seq 2 */
	CHECK(!deadline_watch_step(w, 4000, 1, 0));
	CHECK_INT(alerts_counted(s, count_overdue), 2);
	CHECK(deadline_watch_step(w, 4000, 1, 0));	/* seq 3: not due */
	CHECK_INT(alerts_counted(s, count_overdue), 2);
	CHECK(deadline_watch_step(w, 9000, 1, 0));	/* due by the clock */
	CHECK_INT(alerts_counted(s, count_overdue), 3);
	watch_close(w, a, s, 3);
}

/*
 * The clock steps back while a listing by due time is cut short inside a
 * run of equal time_ms: three FLASH texts at 1,000 ms (due at 3,000), the
 * first scan through at 1,500 (none due); a step at 5,000 (no time)
 * raises the first and stops; the clock goes back to 3,000, the run's
 * own due time: its cursor stays inside the run, and the next steps
 * raise the other two, once each (had the step back put the cursor past
 * every row at 1,000, never).
 */
static void
test_deadline_clock_back_mid_listing(void)
{
	struct store *s = mem_store();
	struct alerter *a = NULL;
	struct deadline_watch *w = NULL;
	uint8_t ch[ENVELOPE_ID_LEN];
	uint32_t dl[4] = { 2, 1800, 10800, 21600 };
	int steps;

	memset(ch, 10, sizeof ch);
	watch_open(s, ch, dl, &a, &w);
	flash_sent(s, ch, 3, 1000);
	for (steps = 0; steps < 10; steps++)
		if (deadline_watch_step(w, 1500, 1, 0))
			break;
	CHECK_INT(alerts_counted(s, count_overdue), 0);
	CHECK(!deadline_watch_step(w, 5000, 1, 0));	/* the first */
	CHECK_INT(alerts_counted(s, count_overdue), 1);
	for (steps = 0; steps < 10; steps++)		/* back */
		if (deadline_watch_step(w, 3000, 1, 0))
			break;
	CHECK_INT(alerts_counted(s, count_overdue), 3);
	CHECK(deadline_watch_step(w, 6000, 1, 0));
	watch_close(w, a, s, 3);
}

/* Counts the rows it is given. */
static int
count_row(void *arg, struct store_msg *m)
{
	(void)m;
	(*(size_t *)arg)++;
	return 0;
}

/* The texts of o's two channels overdue at t, with or without an alert:
 * every precedence and sender, from the start. */
static size_t
overdue_at(struct owed_run *o, const uint32_t dl[4], uint64_t t)
{
	size_t n = 0;

	for (unsigned c = 0; c < 2; c++)
		for (unsigned p = 0; p < 4; p++)
			for (unsigned who = 0; who < 2; who++) {
				uint64_t d = (uint64_t)dl[p] * 1000;

				CHECK_INT(store_unacked_each(o->s, o->ch[c],
				    (uint8_t)who, (uint8_t)p, 0, 0, t - d, d,
				    NULL, count_row, &n), 0);
			}
	return n;
}

/*
 * Random arrivals (times below, at and above the listings' cursors; peer
 * clocks behind and ahead; ACKs in time and late), the clock moving on,
 * jumping forward and stepping back, the store refusing a step's alerts
 * now and then, steps of 1..16 seqs and no time (each listing stops after
 * its first alert): at the end, every text overdue by the last clock is
 * alerted, each once (12 seeds; review: 60 seeds, and it catches a
 * stopped listing's cursor put at its end, the first search skipped, the
 * cursors not lowered at a step back, a cursor moved past a failed
 * alert).
 */
static void
test_deadline_random_steps(void)
{
	static const uint32_t dl[4] = { 2, 5, 9, 20 };
	static const uint8_t body[] = "random";
	for (uint32_t seed = 1; seed <= 12; seed++) {
		char path[300];
		struct owed_run o;
		struct alerter *a = NULL;
		struct deadline_watch *w = NULL;
		uint64_t now, t_end, raised, again, top = 0;
		size_t want, got;
		int steps;
		bool done = false;

		memset(&o, 0, sizeof o);
		snprintf(path, sizeof path, "%s/random-%u.db", dir, seed);
		CHECK_INT(store_open(&o.s, path), 0);
		o.t = 1700000000000ull;
		o.rng = seed * 7919;
		memset(o.ch[0], 0x71, ENVELOPE_ID_LEN);
		memset(o.ch[1], 0x72, ENVELOPE_ID_LEN);
		for (int i = 0; i < 60; i++)
			owed_step(&o);
		w = scan_watch(&o, &a);
		now = o.t;
		for (steps = 0; steps < 3000; steps++) {
			uint32_t r = owed_rand(&o, 100);
			unsigned c = owed_rand(&o, 2);
			uint8_t p = (uint8_t)owed_rand(&o, 4);
			uint64_t t = now - 30000 + owed_rand(&o, 40) * 1000;

			if (r < 8)	/* a text of the peer, any time */
				owed_peer(&o, c, ENVELOPE_TEXT, p, body,
				    sizeof body - 1, t);
			else if (r < 14)
				owed_ours(&o, c, ENVELOPE_TEXT, p, body,
				    sizeof body - 1, t, owed_rand(&o, 4) != 0);
			else if (r < 20) {
				unsigned k = owed_rand(&o, 2);

				if (o.nid[c][1 - k] > 0)
					owed_ack(&o, c, k, o.ids[c][1 - k][
					    owed_rand(&o, (uint32_t)o.nid[c][
					    1 - k])], top + 1 + owed_rand(
					    &o, 30) * 1000, true);
			} else if (r < 22)
				now += 60000;		/* a jump */
			else if (r < 25)
				now -= owed_rand(&o, 30) * 1000; /* back */
			else
				now += owed_rand(&o, 200);
			if (now > top)
				top = now;
			if (r >= 97)
				store_fail_writes(1000000);
			(void)deadline_watch_step(w, now, 1 + owed_rand(&o, 16),
			    0);
			store_fail_writes(0);
		}
		t_end = top + 1;
		for (steps = 0; steps < 100000 && !done; steps++)
			done = deadline_watch_step(w, t_end, 16, 0);
		CHECK(done);
		for (steps = 0; steps < 10; steps++)	/* all through */
			(void)deadline_watch_step(w, t_end, 16, 0);
		want = overdue_at(&o, dl, t_end);
		got = alerts_counted(o.s, count_overdue) +
		    alerts_counted(o.s, count_we_owe);
		deadline_watch_counts(w, &raised, &again);
		CHECK_INT(got, want);
		CHECK_INT(raised, want);
		CHECK_INT(again, 0);
		CHECK(want > 20);
		deadline_watch_free(w);
		alert_free(a);
		store_close(o.s);
	}
}

/* One side's FLASH burst does not hold back the other side's FLASH of
 * the same channel: 40 of ours at T (the peer owes), one of the peer's at
 * T (we owe), FLASH 2 s; the first scan through at T + 1 s; steps of no
 * time (one alert each) at T + 10 s: the peer's is raised by the second
 * step (was the 41st, after all of ours: the first sender turns now). */
static void
test_deadline_sender_turns(void)
{
	static const uint32_t dl[4] = { 2, 5, 9, 20 };
	static const uint8_t body[] = "burst";
	struct owed_run o;
	struct alerter *a = NULL;
	struct deadline_watch *w = NULL;
	int steps;

	memset(&o, 0, sizeof o);
	o.s = mem_store();
	o.t = 1700000000000ull;
	memset(o.ch[0], 0x73, ENVELOPE_ID_LEN);
	memset(o.ch[1], 0x74, ENVELOPE_ID_LEN);
	for (int i = 0; i < 40; i++)
		owed_ours(&o, 0, ENVELOPE_TEXT, ENVELOPE_FLASH, body,
		    sizeof body - 1, o.t, true);
	owed_peer(&o, 0, ENVELOPE_TEXT, ENVELOPE_FLASH, body, sizeof body - 1,
	    o.t);
	watch_open(o.s, o.ch[0], dl, &a, &w);
	for (steps = 0; steps < 100; steps++)
		if (deadline_watch_step(w, o.t + 1000, 16, 0))
			break;
	for (steps = 1; steps < 100; steps++) {
		(void)deadline_watch_step(w, o.t + 10000, 16, 0);
		if (alerts_counted(o.s, count_we_owe) > 0)
			break;
	}
	CHECK(steps <= 2);
	deadline_watch_free(w);
	alert_free(a);
	store_close(o.s);
}

int
main(void)
{
	char cmd[128];
	int rc;

	if (mkdtemp(dir) == NULL)
		return 1;
	signal(SIGPIPE, SIG_IGN);	/* as parleyd: see alert.h */
	RUN(test_body_round_trip);
	RUN(test_noncanonical_body);
	RUN(test_verify_and_lateness);
	RUN(test_alerts_once_and_cleared_once);
	RUN(test_alert_open);
	RUN(test_alert_limit);
	RUN(test_alert_command);
	RUN(test_alert_command_failures);
	RUN(test_alert_command_clock_steps);
	RUN(test_deadline_arrival_scan);
	RUN(test_deadline_retried_after_store_error);
	RUN(test_deadline_first_scan_in_steps);
	RUN(test_deadline_steps_wait_after_store_error);
	RUN(test_deadline_steps_clock_back);
	RUN(test_deadline_due_in_steps);
	RUN(test_deadline_clock_back_mid_listing);
	RUN(test_deadline_random_steps);
	RUN(test_deadline_sender_turns);
	RUN(test_owed_matches_recount);
	RUN(test_owed_warm_in_slices);
	rc = harness_summary();
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return rc;
}
