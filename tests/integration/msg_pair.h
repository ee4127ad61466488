/*
 * msg_pair.h: what the message tests between a real north and south
 * share (it_messages.c, it_flash.c, it_early_send.c): the pair's
 * parleyd.conf, sends and settling through the control sockets, the
 * test-only requests (msg-inject, alerts), tools/throttle relays on the
 * paths and a pair set up through them, stopping and restarting the
 * pair, a program's start and end. daemon_util.h starts the daemons. Every function is static
 * inline: a program that uses only some of them builds without
 * -Wunused-function.
 */
#ifndef PARLEY_TESTS_MSG_PAIR_H
#define PARLEY_TESTS_MSG_PAIR_H

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../harness.h"
#include "ports.h"
#include "base/hex.h"
#include "base/wire.h"
#include "crypto/agreement.h"
#include "crypto/keys.h"
#include "ctl/ctl.h"
#include "msg/checkpoint.h"
#include "msg/delivery.h"

#define DAEMON_PAIR
#define DAEMON_LOG_LEVEL "info"
#include "daemon_util.h"
#include "store/ahead.h"
#include "store/store.h"

#define TIME_LIMIT_S 170
#define N_EACH 2000
#define KILLS 12

static char tmpdir[] = "/tmp/parley-it-msg-XXXXXX";
static pid_t pid_relay = -1;		/* tools/throttle, while one runs */
static pid_t pid_relay1 = -1;		/* a second one, on path 1 */

/* --- control socket ---------------------------------------------------- */

/* Sends text from home: 1 when answered ok, 0 refused, -1 no answer.
 * err (may be NULL) gets the refusal. */
static inline int
send_text(const char *home, const char *text, const char *prec, char *err,
    size_t cap)
{
	json_t *r = call(home, json_pack("{s:s, s:s, s:s}", "cmd", "send",
	    "text", text, "precedence", prec));
	int ok;

	if (r == NULL)
		return -1;
	ok = json_is_true(json_object_get(r, "ok"));
	if (!ok && err)
		snprintf(err, cap, "%s", json_string_value(json_object_get(r,
		    "error")) ? json_string_value(json_object_get(r,
		    "error")) : "");
	json_decref(r);
	return ok ? 1 : 0;
}

/* Waits until both directions are fully receipted and nothing is queued. */
static inline bool
wait_settled(int ms)
{
	uint64_t t0 = now_ms();

	while (now_ms() - t0 < (uint64_t)ms) {
		json_t *a = msgs(home_n), *b = msgs(home_s);
		bool done = a && b &&
		    json_integer_value(json_object_get(a, "queued")) == 0 &&
		    json_integer_value(json_object_get(b, "queued")) == 0 &&
		    json_integer_value(json_object_get(a, "in_flight")) == 0 &&
		    json_integer_value(json_object_get(b, "in_flight")) == 0 &&
		    json_integer_value(json_object_get(a, "received")) ==
		    json_integer_value(json_object_get(b, "assigned")) &&
		    json_integer_value(json_object_get(b, "received")) ==
		    json_integer_value(json_object_get(a, "assigned"));
		json_decref(a);
		json_decref(b);
		if (done)
			return true;
		usleep(50000);
	}
	return false;
}

/* --- setup --------------------------------------------------------------- */

static const char *conf =
    "{\"handshake_timeout_ms\": 1000, \"backoff_min_ms\": 50,\n"
    " \"backoff_max_ms\": 500, \"debug_inject\": true}\n";

/* --- round trip ---------------------------------------------------------- */

/* True once `parley log` on home shows needle, polling for up to ms. */
static inline bool
log_cmd_shows(const char *home, const char *needle, int ms)
{
	char out[8192];
	uint64_t t0 = now_ms();

	do {
		if (parley(out, sizeof out, "log --home %s", home) == 0 &&
		    strstr(out, needle) != NULL)
			return true;
		usleep(50000);
	} while (now_ms() - t0 < (uint64_t)ms);
	return false;
}

static inline bool
inject(uint8_t type, const uint8_t *b, size_t n)
{
	char *hex = malloc(2 * n + 1);
	json_t *r;
	bool ok;

	hex_encode(hex, b, n);
	r = call(home_s, json_pack("{s:s, s:s, s:i, s:i, s:s}", "cmd",
	    "msg-inject", "channel", chhex, "path", 0, "type", (int)type,
	    "hex", hex));
	free(hex);
	ok = r && json_is_true(json_object_get(r, "ok"));
	json_decref(r);
	return ok;
}

/*
 * Waits for south's path-0 session (after an injected record ended the
 * last one, the next) and hands south north's RUN on it (its run read
 * from north's HOME/run), as north sends it first on every session, so
 * that what is injected next is taken, whichever of the two comes first
 * (or when north is stopped before its own came).
 */
static inline bool
inject_north_run(void)
{
	char p[sizeof home_n + 16];
	unsigned long long run = 0;
	uint64_t t0 = now_ms();
	uint8_t b[32];
	size_t n;
	FILE *f;

	while (path_up(home_s, NULL, 0) != 1 && now_ms() - t0 < 15000)
		usleep(20000);
	snprintf(p, sizeof p, "%s/run", home_n);
	if ((f = fopen(p, "r")) == NULL)
		return false;
	if (fscanf(f, "parley-run v1 %llu", &run) != 1)
		run = 0;
	fclose(f);
	return run != 0 && delivery_run_encode(run, b, sizeof b, &n) == 0 &&
	    inject(DELIVERY_REC_RUN, b, n);
}

static inline int count_in(const char *cmd, const char *home, const char *needle);

/* South's uncleared alerts of a kind. */
static inline int
alerts_of(const char *kind)
{
	char needle[64];

	snprintf(needle, sizeof needle, "\"kind\": \"%s\"", kind);
	return count_in("alerts --json", home_s, needle);
}

/* Both daemons stopped (SIGTERM, reaped), their parleyd.conf now cn and
 * cs (unless cn is NULL); started again by restart_pair or by the
 * caller. */
static inline void
stop_pair(const char *cn, const char *cs)
{
	kill_pid(pid_n, SIGTERM);
	kill_pid(pid_s, SIGTERM);
	CHECK(reap(pid_n, 10000) >= 0 && reap(pid_s, 10000) >= 0);
	pid_n = pid_s = -1;
	if (cn != NULL)
		CHECK(write_conf(home_n, cn) == 0 &&
		    write_conf(home_s, cs) == 0);
}

/* stop_pair, then both started again (south first), answering. */
static inline void
restart_pair(const char *cn, const char *cs)
{
	stop_pair(cn, cs);
	CHECK(start(&pid_s, home_s, log_s));
	CHECK(start(&pid_n, home_n, log_n));
}

/* --- FLASH on every live path ------------------------------------------ */

/* tools/throttle relaying 127.0.0.1:port to 127.0.0.1:upstream at full
 * speed: its pid. */
static inline pid_t
relay_start(int port, int upstream)
{
	char bin[1100], a[2][16];
	pid_t pid;

	snprintf(a[0], sizeof a[0], "%d", port);
	snprintf(a[1], sizeof a[1], "%d", upstream);
	snprintf(bin, sizeof bin, "%s/tools/throttle", build);
	if ((pid = fork()) == 0) {
		execl(bin, "throttle", "100000000", a[0], a[1], (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* A relay of relay_start's (pid_relay, pid_relay1) stopped and reaped. */
static inline void
relay_stop(pid_t *pid)
{
	if (*pid <= 0)
		return;
	kill_pid(*pid, SIGCONT);
	kill_pid(*pid, SIGKILL);
	reap(*pid, 2000);
	*pid = -1;
}

/* A parleyd.conf of relayed_pairs': knob (a "key": value, pair and its
 * comma), listening on 127.0.0.1 ports l0 and l1. */
static inline void
relayed_conf(char *buf, size_t cap, const char *knob, int l0, int l1)
{
	snprintf(buf, cap, "{\"backoff_min_ms\": 50, \"backoff_max_ms\": "
	    "500, %s\"listen\": [\"127.0.0.1:%d\", \"127.0.0.1:%d\"]}\n",
	    knob, l0, l1);
}

/*
 * Both daemons restarted with path 0 (south's first address) through
 * tools/throttle (pid_relay) and path 1 direct, or with both1 through a
 * second relay too (pid_relay1); north dials both (north listens
 * elsewhere, so south's dials fail). kn, ks: more of north's and south's
 * parleyd.conf (a "key": value, pair and its comma each). Returns once
 * both paths are up at north, path 0 active, synced and settled.
 * relayed_pair_end stops the relays and restarts the pair with the
 * suite's conf.
 */
static inline void
relayed_pairs(const char *kn, const char *ks, bool both1)
{
	char cn[512], cs[512];
	uint64_t t0;

	relayed_conf(cn, sizeof cn, kn, port_base + 10, port_base + 11);
	relayed_conf(cs, sizeof cs, ks, port_base + 12, port_base +
	    (both1 ? 13 : 3));
	stop_pair(cn, cs);
	/* south's path-0 address -> the relay -> where south listens */
	pid_relay = relay_start(port_base + 2, port_base + 12);
	if (both1)
		pid_relay1 = relay_start(port_base + 3, port_base + 13);
	CHECK(start(&pid_s, home_s, log_s));
	CHECK(start(&pid_n, home_n, log_n));
	CHECK(wait_synced(15000));
	t0 = now_ms();
	while ((path_up(home_n, NULL, 0) != 1 ||
	    path_up(home_n, NULL, 1) != 1) && now_ms() - t0 < 15000)
		usleep(50000);
	CHECK_INT(path_up(home_n, NULL, 0), 1);
	CHECK_INT(path_up(home_n, NULL, 1), 1);
	CHECK_INT(msg_field(home_n, "active_path"), 0);
	CHECK(wait_synced(15000));	/* on path 0, if it came up last */
	CHECK(wait_settled(30000));
}

/* relayed_pairs with path 1 direct and knob in both confs. */
static inline void
relayed_pair(const char *knob)
{
	relayed_pairs(knob, knob, false);
}

static inline void
relayed_pair_end(void)
{
	relay_stop(&pid_relay);
	relay_stop(&pid_relay1);
	restart_pair(conf, conf);
	CHECK(wait_synced(15000));
}

/* --- the store fails just after an early send ------------------------- */

/* How many lines of `parley CMD --home home` hold needle (grep -c: the
 * audit log is long after the earlier tests). */
static inline int
count_in(const char *cmd, const char *home, const char *needle)
{
	char out[64];

	(void)parley(out, sizeof out, "%s --home %s | grep -c '%s'", cmd, home,
	    needle);
	return atoi(out);
}

/* A program's start: the relays killed at its time limit too, the pair
 * set up (pair_begin) for prog on a free block of ports in [lo, hi);
 * with start, both daemons started (else its first test starts them).
 * False on failure, said with a failed summary line. */
static inline bool
msg_pair_begin(const char *prog, int lo, int hi, bool start_both)
{
	time_limit_kills(&pid_relay);
	time_limit_kills(&pid_relay1);
	if (sodium_init() < 0 || !pair_begin(prog, TIME_LIMIT_S, lo, hi, 14,
	    tmpdir, conf))
		return false;
	if (start_both && (!start(&pid_n, home_n, log_n) ||
	    !start(&pid_s, home_s, log_s))) {
		printf("the daemons did not start\n0 passed, 1 failed\n");
		return false;
	}
	return true;
}

/* A program's end: both daemons killed, their logs checked for a
 * sanitizer's report (it_flash and it_early_send have no test of their
 * own for it), the tails of their logs shown
 * when a test failed, the pair's directory removed; the exit code. */
static inline int
msg_pair_end(void)
{
	char cmd[3000];

	kill9(&pid_n);		/* before the logs are read */
	kill9(&pid_s);
	/* under make asan: a report in a daemon's log fails the program */
	if (!pair_logs_clean()) {
		printf("FAIL the daemons' logs hold a sanitizer's report\n");
		harness_failed++;
	}
	if (harness_failed) {
		printf("--- north.log (tail) ---\n");
		snprintf(cmd, sizeof cmd, "grep -v 'refused message seq' %s | "
		    "tail -n 30; echo '--- south.log (tail) ---'; grep -v "
		    "'refused message seq' %s | tail -n 40", log_n, log_s);
		(void)!system(cmd);
	}
	pair_end(tmpdir);
	return harness_summary();
}

#endif
