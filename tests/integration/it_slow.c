/*
 * it_slow.c: delivery between real parleyd processes on a slow path
 * (tools/throttle, about 20 kB/s: a satellite link at 160 kbit/s),
 * docs/delivery.md "Slow paths".
 *
 * North dials south through tools/throttle only (both paths; north
 * listens where south does not dial), heartbeats of the agreement (1 s,
 * so the silence limit is 2 s while one 60,000-byte part takes 3 s on the
 * wire). Each test asserts what a user relies on: every message is
 * delivered exactly once (south's received count and inbox), nothing is
 * sent again (`resends`), nothing refused, and no session ends (the
 * paths' `handshakes` do not grow, no "silent" in the logs): two bodies
 * and a FLASH at 20 kB/s; a receipt behind the peer's own records on a
 * path slow both ways; path 0 cut and back while a body is on it; a
 * rekey during a long transfer; a FLASH behind a backlog of bodies;
 * bursts over a long path (1 MB/s, 300 ms each way).
 * Times are printed, never asserted.
 *
 * Ports: 127.0.0.1, 13000-13999, a free block of 14 (ports.h). Kills
 * only its own children; removes its temporary directory; bounded by an
 * alarm.
 */
#include <signal.h>
#include <sodium.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../harness.h"
#include "ports.h"

#define DAEMON_PAIR
#define DAEMON_LOG_LEVEL "info"
#include "daemon_util.h"

#define TIME_LIMIT_S 150
#define RATE "20000"		/* bytes a second, north to south */

static char tmpdir[] = "/tmp/parley-it-slow-XXXXXX";
static pid_t pid_relay = -1;

static const char *conf = "{}\n";

/* Sends a body of len bytes (fill, then its first line) from home at
 * precedence prec: 1 when answered ok. */
static int
send_big(const char *home, const char *first, size_t len, char fill,
    const char *prec)
{
	char *text = malloc(len + 1);
	json_t *r, *req;
	int ok;

	if (text == NULL)
		return 0;
	memset(text, fill, len);
	text[len] = '\0';
	memcpy(text, first, strlen(first) < len ? strlen(first) : len);
	if (strlen(first) < len)
		text[strlen(first)] = '\n';
	r = NULL;
	req = json_pack("{s:s, s:s}", "cmd", "send", "precedence", prec);
	if (req == NULL || ctl_call_body(home, req, text, len, &r) != 0)
		r = NULL;
	json_decref(req);		/* not taken by ctl_call_body */
	ok = r != NULL && json_is_true(json_object_get(r, "ok"));
	json_decref(r);
	free(text);
	return ok;
}

/* The seq of the first message in home's inbox whose first line is
 * text; -1 when none. */
static long long
inbox_seq(const char *home, const char *text)
{
	json_t *r = call(home, json_pack("{s:s, s:i}", "cmd", "inbox",
	    "max", 100)), *m;
	long long seq = -1;
	size_t i;

	json_array_foreach(json_object_get(json_object_get(r, "result"),
	    "messages"), i, m)
		if (seq < 0 && json_string_value(json_object_get(m,
		    "first_line")) && strcmp(json_string_value(
		    json_object_get(m, "first_line")), text) == 0)
			seq = json_integer_value(json_object_get(m, "seq"));
	json_decref(r);
	return seq;
}

/* Sessions established on the channel's paths at home so far. */
static long long
sessions(const char *home)
{
	json_t *r = call(home, json_pack("{s:s}", "cmd", "status")), *p;
	long long n = 0;
	size_t i;

	json_array_foreach(json_object_get(json_array_get(json_object_get(
	    json_object_get(r, "result"), "channels"), 0), "paths"), i, p)
		n += json_integer_value(json_object_get(p, "handshakes"));
	json_decref(r);
	return r ? n : -1;
}

/* Rekeys completed on path 0 at home. */
static long long
rekeys0(const char *home)
{
	json_t *r = call(home, json_pack("{s:s}", "cmd", "status"));
	long long n = json_integer_value(json_object_get(json_array_get(
	    json_object_get(json_array_get(json_object_get(json_object_get(r,
	    "result"), "channels"), 0), "paths"), 0), "rekeys"));

	json_decref(r);
	return r ? n : -1;
}

/* Waits until south has received want of north's chain and north has
 * its receipt, nothing queued. */
static bool
wait_delivered(long long want, int ms)
{
	uint64_t t0 = now_ms();

	while (now_ms() - t0 < (uint64_t)ms) {
		if (msg_field(home_s, "received") >= want &&
		    msg_field(home_n, "receipted") >= want &&
		    msg_field(home_n, "queued") == 0)
			return true;
		usleep(100000);
	}
	return false;
}

/* The pair through tools/throttle at rate, with more in both
 * parleyd.conf (pair_start_relayed). */
static void
start_slow_with(const char *rate, const char *more)
{
	CHECK(pair_start_relayed(rate, more, &pid_relay));
}

static void
start_slow(const char *rate)
{
	start_slow_with(rate, "");
}

static void
stop_slow(void)
{
	stop(&pid_n);
	stop(&pid_s);
	kill_pid(pid_relay, SIGKILL);
	reap(pid_relay, 2000);
	pid_relay = -1;
}

/* What a test starts from: north's resends, south's refusals and
 * received count, the sessions of both. */
struct before {
	long long resends_n, resends_s, refused_s, received_s, received_n;
	long long sessions_n, sessions_s;
};

static void
before_take(struct before *b)
{
	b->resends_n = msg_field(home_n, "resends");
	b->resends_s = msg_field(home_s, "resends");
	b->refused_s = msg_field(home_s, "refused");
	b->received_s = msg_field(home_s, "received");
	b->received_n = msg_field(home_n, "received");
	b->sessions_n = sessions(home_n);
	b->sessions_s = sessions(home_s);
}

/* No session ended since b, on either side, and none found silent. */
static void
check_sessions(const struct before *b)
{
	CHECK_INT(sessions(home_n) - b->sessions_n, 0);
	CHECK_INT(sessions(home_s) - b->sessions_s, 0);
	CHECK(!log_has(log_n, "silent", NULL));
	CHECK(!log_has(log_s, "silent", NULL));
}

/*
 * Two messages of 80 KB, then a FLASH, at 20 kB/s (each part of 60,000
 * bytes 3 s on the wire, the silence limit 2 s): each reaches south once,
 * nothing is sent again, no session ends. The FLASH comes after them:
 * they hold the seqs before it (docs/delivery.md "Slow paths").
 */
static void
test_slow_exactly_once(void)
{
	struct before b;
	uint64_t t0, tf;

	start_slow(RATE);
	before_take(&b);
	t0 = now_ms();
	CHECK(send_big(home_n, "big one", 80000, 'a', "routine"));
	CHECK(send_big(home_n, "big two", 80000, 'b', "routine"));
	tf = now_ms();
	CHECK(send_big(home_n, "FLASH after them", 16, ' ', "flash"));
	while (inbox_count(home_s, "FLASH after them", 100) == 0 &&
	    now_ms() - t0 < 90000)
		usleep(100000);
	printf("  the FLASH sent after 2 x 80 KB at %s B/s: in south's inbox "
	    "after %llu ms\n", RATE, (unsigned long long)(now_ms() - tf));
	CHECK(wait_delivered(b.received_s + 3, 90000));
	printf("  all delivered in %llu ms, %lld resends\n",
	    (unsigned long long)(now_ms() - t0),
	    msg_field(home_n, "resends") - b.resends_n);
	CHECK_INT(msg_field(home_s, "received") - b.received_s, 3);
	CHECK_INT(inbox_count(home_s, "big one", 100), 1);
	CHECK_INT(inbox_count(home_s, "big two", 100), 1);
	CHECK_INT(inbox_count(home_s, "FLASH after them", 100), 1);
	CHECK_INT(msg_field(home_n, "resends") - b.resends_n, 0);
	CHECK_INT(msg_field(home_s, "refused") - b.refused_s, 0);
	check_sessions(&b);
	stop_slow();
}

/*
 * Slow both ways (20 kB/s each): north sends 60 KB while south sends
 * 150 KB. South's receipt of north's message waits behind south's own
 * message for seconds after north's socket has drained; north must not
 * take that for a stall (before: 2 to 3 resends at north, each 60 KB
 * again behind the last).
 */
static void
test_receipt_behind_data(void)
{
	struct before b;
	uint64_t t0, dl;

	start_slow(RATE ":" RATE);
	before_take(&b);
	t0 = now_ms();
	CHECK(send_big(home_s, "south big", 150000, 's', "routine"));
	CHECK(send_big(home_n, "north small", 60000, 'n', "routine"));
	dl = now_ms() + 90000;
	while (now_ms() < dl && !(msg_field(home_s, "received") >=
	    b.received_s + 1 && msg_field(home_n, "received") >=
	    b.received_n + 1 && msg_field(home_n, "receipted") ==
	    msg_field(home_n, "assigned") && msg_field(home_s, "receipted") ==
	    msg_field(home_s, "assigned")))
		usleep(100000);
	printf("  60 KB north to south beside 150 KB back, %s B/s each way: "
	    "%llu ms, resends north %lld south %lld\n", RATE,
	    (unsigned long long)(now_ms() - t0),
	    msg_field(home_n, "resends") - b.resends_n,
	    msg_field(home_s, "resends") - b.resends_s);
	CHECK_INT(msg_field(home_s, "received") - b.received_s, 1);
	CHECK_INT(msg_field(home_n, "received") - b.received_n, 1);
	CHECK_INT(msg_field(home_n, "resends") - b.resends_n, 0);
	CHECK_INT(msg_field(home_s, "resends") - b.resends_s, 0);
	check_sessions(&b);
	stop_slow();
}

/*
 * Path 0 breaks 2 s into a 130 KB message and comes back at once: the
 * message goes on path 1 meanwhile, then again on path 0, so its parts
 * reach south on both paths, interleaved. The repeats are dropped, not
 * refused (before: each part of the path behind refused at WARN as "out
 * of order", 2 to 3 of them), and it is stored once.
 */
static void
test_path_flap(void)
{
	struct before b;
	uint64_t t0;

	start_slow(RATE);
	before_take(&b);
	t0 = now_ms();
	CHECK(send_big(home_n, "flap big", 130000, 'f', "routine"));
	CHECK(send_big(home_n, "flap short", 10, ' ', "routine"));
	usleep(2000000);
	kill_pid(pid_relay, SIGUSR2);
	CHECK(wait_delivered(b.received_s + 2, 90000));
	printf("  path 0 cut 2 s into 130 KB: delivered in %llu ms, %lld "
	    "refused at south\n", (unsigned long long)(now_ms() - t0),
	    msg_field(home_s, "refused") - b.refused_s);
	CHECK_INT(msg_field(home_s, "received") - b.received_s, 2);
	CHECK_INT(inbox_count(home_s, "flap big", 100), 1);
	CHECK_INT(msg_field(home_s, "refused") - b.refused_s, 0);
	stop_slow();
}

/*
 * A rekey during a long transfer (rekey_seconds 2; north, the dialler,
 * rekeys): its initiation is queued behind what north has queued of a
 * 600 KB message at 40 kB/s. The bodies are paced (link_send_bulk), so
 * it waits seconds, not the whole message: a rekey completes while the
 * message is still on its way (before: only after it; with out_max's 4
 * MiB queued at 20 kB/s the initiation waited 210 s, and the guard ended
 * the session at 270 s: docs/link.md 5).
 */
static void
test_rekey_during_transfer(void)
{
	struct before b;
	long long rk0, rk = 0, got = 0;
	uint64_t t0, dl;

	start_slow_with("40000", "\"rekey_seconds\": 2, ");
	before_take(&b);
	rk0 = rekeys0(home_n);
	t0 = now_ms();
	CHECK(send_big(home_n, "rekeyed under me", 600000, 'k', "routine"));
	dl = now_ms() + 90000;
	while (now_ms() < dl) {
		rk = rekeys0(home_n) - rk0;
		got = msg_field(home_s, "received") - b.received_s;
		if (rk > 0 || got > 0)
			break;
		usleep(100000);
	}
	printf("  600 KB at 40 kB/s, rekey due after 2 s: a rekey %s after "
	    "%llu ms\n", rk > 0 && got == 0 ? "completed" : "had not come",
	    (unsigned long long)(now_ms() - t0));
	CHECK(rk > 0);
	CHECK_INT(got, 0);	/* the message was still on its way */
	CHECK(wait_delivered(b.received_s + 1, 90000));
	CHECK_INT(msg_field(home_s, "received") - b.received_s, 1);
	CHECK_INT(msg_field(home_n, "resends") - b.resends_n, 0);
	check_sessions(&b);
	stop_slow();
}

/*
 * A FLASH behind a backlog of bodies (eight of 100 KB at 40 kB/s, sent
 * one after another, then the FLASH): it reaches south ahead of some of
 * them. Before, every body was in the chain ahead of it (each send was
 * assigned at once), so all eight came first, 20 s of the path; now a
 * body goes into the chain only once the path has taken those before it,
 * and the FLASH waits behind what the path holds: the link's bulk cap
 * (5 s of the path, at least 128 KiB) and what the relay's buffers took
 * (about 190 KiB here), so 4 to 6 of them (docs/delivery.md "Slow
 * paths"; test_delivery_slow test_flash_behind_submitted_bodies bounds the
 * engine's share exactly). All nine reach south once, nothing is sent
 * again, no session ends.
 */
static void
test_flash_behind_bodies(void)
{
	struct before b;
	long long seq = -1, bodies_first;
	uint64_t t0, tf, dl;

	start_slow("40000");
	before_take(&b);
	t0 = now_ms();
	for (int i = 0; i < 8; i++)
		CHECK(send_big(home_n, "bulk ahead", 100000, (char)('a' + i),
		    "routine"));
	tf = now_ms();
	CHECK(send_big(home_n, "FLASH past the bulk", 20, ' ', "flash"));
	dl = now_ms() + 90000;
	while (now_ms() < dl && (seq = inbox_seq(home_s,
	    "FLASH past the bulk")) < 0)
		usleep(50000);
	/* north's chain held b.received_s before the bodies */
	bodies_first = seq - b.received_s - 1;
	printf("  FLASH after 8 x 100 KB at 40 kB/s: in south's inbox after "
	    "%llu ms, behind %lld of them\n",
	    (unsigned long long)(now_ms() - tf), bodies_first);
	CHECK(seq > 0 && bodies_first < 8);
	CHECK(wait_delivered(b.received_s + 9, 90000));
	printf("  all delivered in %llu ms\n",
	    (unsigned long long)(now_ms() - t0));
	CHECK_INT(msg_field(home_s, "received") - b.received_s, 9);
	CHECK_INT(inbox_count(home_s, "bulk ahead", 100), 8);
	CHECK_INT(msg_field(home_n, "resends") - b.resends_n, 0);
	CHECK_INT(msg_field(home_s, "refused") - b.refused_s, 0);
	check_sessions(&b);
	stop_slow();
}

/*
 * A long path (1 MB/s, 300 ms each way, as over a satellite hop): two
 * bursts of 10 bodies of 400 KB, the second after 6 s of quiet (the
 * link's bulk cap starts again from 128 KiB after 5 s idle). All reach
 * south once, nothing is sent again, no session ends: a path that holds
 * 600 ms of bytes is not a stall (with link_queued blind to what the
 * path holds, north resent once). The time against the path's own (4 MB
 * at 1 MB/s plus a round trip) is printed: 4,686 and 4,638 ms.
 */
static void
test_long_path(void)
{
	struct before b;
	uint64_t t0;

	start_slow("1000000@300");
	before_take(&b);
	for (int burst = 0; burst < 2; burst++) {
		if (burst == 1)
			usleep(6000000);
		t0 = now_ms();
		for (int i = 0; i < 10; i++)
			CHECK(send_big(home_n, "long way", 400000,
			    (char)('a' + i), "routine"));
		CHECK(wait_delivered(b.received_s + 10 * (burst + 1), 90000));
		printf("  burst %d: 10 x 400 KB at 1 MB/s, 300 ms each way: "
		    "receipted in %llu ms (the path alone: 4,600 ms)\n",
		    burst + 1, (unsigned long long)(now_ms() - t0));
	}
	CHECK_INT(msg_field(home_s, "received") - b.received_s, 20);
	CHECK_INT(inbox_count(home_s, "long way", 100), 20);
	CHECK_INT(msg_field(home_n, "resends") - b.resends_n, 0);
	CHECK_INT(msg_field(home_s, "refused") - b.refused_s, 0);
	check_sessions(&b);
	stop_slow();
}

int
main(void)
{
	char cmd[3000];

	time_limit_kills(&pid_relay);
	if (sodium_init() < 0 || !pair_begin("it_slow", TIME_LIMIT_S,
	    13000, 14000, 14, tmpdir, conf))
		return 1;
	RUN(test_slow_exactly_once);
	RUN(test_receipt_behind_data);
	RUN(test_path_flap);
	RUN(test_rekey_during_transfer);
	RUN(test_flash_behind_bodies);
	RUN(test_long_path);
	if (harness_failed) {
		snprintf(cmd, sizeof cmd, "echo '--- north.log (tail) ---'; "
		    "tail -n 30 %s; echo '--- south.log (tail) ---'; "
		    "tail -n 30 %s", log_n, log_s);
		(void)!system(cmd);
	}
	pair_end(tmpdir);
	return harness_summary();
}
