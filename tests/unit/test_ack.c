/*
 * test_ack.c: acknowledgments and alerts. The ACK body's encoding (round
 * trip, refusals, canonical form), its place among envelope kinds, the
 * pure check ack_verify (lateness from the two signed times, on the
 * deadline's edge); alerts stored once per key, cleared once by a named
 * operator; alert_open's answer against a pass of its own; the limit on
 * alarms a peer can repeat; the alert command gets the alert on standard
 * input, and a command that fails, cannot run or runs too long raises an
 * alert of its own that runs nothing; a wall clock stepped either way
 * kills none. The deadline watch: test_deadline.c, test_deadline_steps.c.
 */
#include "ack_watch.h"

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

/* What the limit held back reaches the alerts as a count: when the
 * period ends, alert_limit_due says so once (a new period starts there,
 * so a flood raises one alert per period), its text how many and the
 * last one's; an alarm after the period that comes before it carries the
 * count in its own text; none held back, nothing due, the text as is. */
static void
test_alert_limit_count(void)
{
	struct alert_limit l = { 0 };
	uint64_t t = 5 * ALERT_LIMIT_MS;
	char out[ALERT_LIMIT_OUT];

	CHECK(alert_limit(&l, t, "channel x: forged 0"));
	CHECK(!alert_limit_due(&l, t + ALERT_LIMIT_MS));	/* none held */
	alert_limit_text(&l, "forged 0", out, sizeof out);
	CHECK_STR(out, "forged 0");
	for (int i = 1; i <= 4; i++) {
		char text[32];
		snprintf(text, sizeof text, "channel x: forged %d", i);
		CHECK(!alert_limit(&l, t + 10 + (uint64_t)i, text));
	}
	CHECK(!alert_limit_due(&l, t + ALERT_LIMIT_MS - 1));
	CHECK(alert_limit_due(&l, t + ALERT_LIMIT_MS + 500));
	CHECK_INT(l.more, 4);
	alert_limit_text(&l, NULL, out, sizeof out);
	CHECK_STR(out, "4 more alarms like the last alert came in the 60 s "
	    "after it (not raised as alerts); the last of them: channel x: "
	    "forged 4");
	CHECK(!alert_limit_due(&l, t + ALERT_LIMIT_MS + 1500));	/* once */
	/* the flood goes on: held back within the new period */
	CHECK(!alert_limit(&l, t + ALERT_LIMIT_MS + 600, "channel x: forged 5"));
	CHECK(!alert_limit_due(&l, t + 2 * ALERT_LIMIT_MS + 499));
	/* the next alarm before the tick: raised, carrying the count */
	CHECK(alert_limit(&l, t + 2 * ALERT_LIMIT_MS + 500,
	    "channel x: forged 6"));
	CHECK_INT(l.more, 1);
	alert_limit_text(&l, "forged 6", out, sizeof out);
	CHECK_STR(out, "forged 6 (and 1 more like it came in the 60 s after "
	    "the alert before, not raised as alerts)");
	CHECK(!alert_limit_due(&l, t + 4 * ALERT_LIMIT_MS));
	/* a single one held back: said in the singular */
	CHECK(!alert_limit(&l, t + 2 * ALERT_LIMIT_MS + 501, "channel x: 7"));
	CHECK(alert_limit_due(&l, t + 4 * ALERT_LIMIT_MS));
	alert_limit_text(&l, NULL, out, sizeof out);
	CHECK_CONTAINS(out, "1 more alarm like the last alert");
	CHECK_CONTAINS(out, "the last of them: channel x: 7");
}

/* Two alarms of one kind on one channel in the same ms (parleyd's
 * chain-forked counts for the peer's chain and ours, due at one tick)
 * are two alerts: their keys differ (alert_key_once), so the store does
 * not take the second as a repeat of the first and drop it. */
static void
test_alert_key_once(void)
{
	const char *ch = "00112233445566778899aabbccddeeff";
	struct store *s = mem_store();
	struct alerter *a = NULL;
	char k1[96], k2[96];
	struct seen sn;

	CHECK_INT(alert_new(s, NULL, 0, &a), 0);
	alert_key_once(a, k1, sizeof k1, "chain-forked", ch, 5000);
	alert_key_once(a, k2, sizeof k2, "chain-forked", ch, 5000);
	CHECK(strncmp(k1, "chain-forked-0011223344556677-5000-", 35) == 0);
	CHECK_INT(alert_raise_text(a, "chain-forked", k1, ch, "ours", 5000),
	    0);
	CHECK_INT(alert_raise_text(a, "chain-forked", k2, ch, "theirs",
	    5000), 0);
	memset(&sn, 0, sizeof sn);
	CHECK_INT(store_alerts_each(s, false, count_alert, &sn), 0);
	CHECK_INT(sn.n, 2);
	alert_free(a);
	store_close(s);
}

/* The text of the file at path (NULL, a failure counted, when it cannot
 * be read); the caller frees it. */
static char *
file_text(const char *path)
{
	uint8_t *got = NULL;
	size_t n = 0;
	char *t;

	CHECK_INT(file_read(path, 1 << 16, &got, &n), 0);
	if (got == NULL)
		return NULL;
	t = strndup((const char *)got, n);
	free(got);
	return t;
}

static void
test_alert_command(void)
{
	struct store *s = mem_store();
	struct alerter *a = NULL;
	char out[256], script[512];
	const char *argv[] = { "/bin/sh", "-c", script, NULL };
	uint64_t started, failed;
	char *t;
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
	if ((t = file_text(out)) != NULL) {
		CHECK_CONTAINS(t, "\"key\":\"owed:abc\"");
		CHECK_CONTAINS(t, "south owes an acknowledgment");
		CHECK(strchr(t, '\n') == t + strlen(t) - 1); /* one line */
		free(t);
	}
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

/* An alert raised just before the daemon stops (a held-back count is
 * raised at the stop itself) reaches the operator's command: the stop
 * waits for it instead of killing it at once. */
static void
test_alert_stop_lets_command_finish(void)
{
	struct store *s = mem_store();
	struct alerter *a = NULL;
	char out[256], script[512];
	const char *argv[] = { "/bin/sh", "-c", script, NULL };
	uint64_t started, failed;
	char *t;
	json_t *o;

	snprintf(out, sizeof out, "%s/alert-stop.json", dir);
	snprintf(script, sizeof script, "sleep 0.3; cat >> %s", out);
	CHECK_INT(alert_new(s, argv, 30000, &a), 0);
	o = alert_of("count:at-stop");
	CHECK_INT(alert_raise(a, o, now_ms(), NULL), 0);
	json_decref(o);
	alert_stop(a, 20000);
	alert_counts(a, &started, &failed);
	CHECK_INT(started, 1);
	CHECK_INT(failed, 0);
	if ((t = file_text(out)) != NULL) {
		CHECK_CONTAINS(t, "count:at-stop");
		free(t);
	}
	alert_free(a);
	store_close(s);
}

/* A command still running when the stop's grace ends is killed, and that
 * is stored as a failure for a person to see, naming the stop. */
static void
test_alert_stop_kills_after_grace(void)
{
	struct store *s = mem_store();
	struct alerter *a = NULL;
	const char *argv[] = { "/bin/sh", "-c", "sleep 30", NULL };
	uint64_t started, failed;
	struct seen sn;
	json_t *o;

	CHECK_INT(alert_new(s, argv, 60000, &a), 0);
	o = alert_of("hung:at-stop");
	CHECK_INT(alert_raise(a, o, now_ms(), NULL), 0);
	json_decref(o);
	alert_stop(a, 200);
	alert_counts(a, &started, &failed);
	CHECK_INT(started, 1);
	CHECK_INT(failed, 1);
	memset(&sn, 0, sizeof sn);
	CHECK_INT(store_alerts_each(s, true, count_alert, &sn), 0);
	CHECK_INT(sn.failed, 1);
	CHECK_CONTAINS(sn.last_text, "killed at parleyd's stop");
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

int
main(void)
{
	if (!ack_tests_begin(dir))
		return 1;
	RUN(test_body_round_trip);
	RUN(test_noncanonical_body);
	RUN(test_verify_and_lateness);
	RUN(test_alerts_once_and_cleared_once);
	RUN(test_alert_open);
	RUN(test_alert_limit);
	RUN(test_alert_limit_count);
	RUN(test_alert_key_once);
	RUN(test_alert_command);
	RUN(test_alert_command_failures);
	RUN(test_alert_command_clock_steps);
	RUN(test_alert_stop_lets_command_finish);
	RUN(test_alert_stop_kills_after_grace);
	return ack_tests_end(dir);
}
