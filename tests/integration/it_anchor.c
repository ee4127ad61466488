/*
 * it_anchor.c: audit anchors between two real parleyd (north, south) on
 * loopback (docs/operators.md "Audit anchors"): after sends both ways each
 * node holds an anchor of its audit log signed by the other, and what it
 * signed for the other; `parley verify` passes on both and names the
 * newest anchor (text and --json). North then drops its next 3 answers
 * (debug_audit_anchor_drop, as if lost): no alarm anywhere. North's
 * anchor rows after a point are deleted and its audit log cut to match
 * while it is stopped: its verify passes, but its next ask holds an older
 * anchor than it showed south, and both raise the alarm (`parley alerts`,
 * once, naming both times; north's verify lists it). Then north is
 * stopped and its audit log rewritten consistently, as an attacker with
 * the file would (the append-only triggers dropped, one entry changed,
 * every hash after it recomputed): the hash chain still verifies, but
 * `parley verify` fails naming the entry and what south signed. Last,
 * `parley verify --json` of a home without a node fails naming it and
 * leaks nothing (ASan).
 * Between the two, after the regression: `parley status` (text and
 * --json) shows each side's newest anchor and what it signed for the
 * other; restarted with an hour between scheduled asks, `parley anchor`
 * on each side has the log anchored up to its last entry at once; with
 * the peer stopped (SIGSTOP) it says the ask stays pending, and with no
 * path up that nothing was asked. parleyd restarted while `parley
 * anchor` waits: the ask lost said so (exit 4), or the new daemon's
 * first ask answered taken (exit 0); stopped: said so (exit 3); an
 * older anchor dated after the ask (stored before a step back of the
 * wall clock) is not taken for its answer (exit 4); a status call that
 * meets a daemon on its way out (no answer) is the restart's gap, not an
 * error (exit 4).
 *
 * Ports 127.0.0.1 11000-11999, a free block of two (ports.h). Temporary
 * directory under /tmp, removed at the end. Kills only the daemons it
 * started.
 */
#include <sodium.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "base/clock.h"
#include "../harness.h"
#include "ports.h"
#include "ctl/ctl.h"
#include "msg/anchor.h"
#include "msg/audit.h"
#include "store/record.h"
#include "store/store.h"

static char tmpdir[] = "/tmp/parley-it-anchor-XXXXXX";
static int base;

#include "node_util.h"

/* Waits (up to 60 s) until each node's daemon answers with its path up. */
static bool
wait_up(void)
{
	int up = 0;

	for (int k = 0; k < 600 && up < 2; k++) {
		usleep(100000);
		up = 0;
		for (int i = 0; i < 2; i++)
			if (sh("%s/parley status --home %s/%s --json", build,
			    tmpdir, names[i]) == 0 &&
			    strstr(out, "\"up\": true") != NULL)
				up++;
	}
	return up == 2;
}

/* The number of entries in node i's audit log, as verify counts them. */
static long
entries(int i)
{
	char *p;

	(void)sh("%s/parley verify --home %s/%s", build, tmpdir, names[i]);
	if ((p = strstr(out, "audit log: ")) == NULL)
		return -1;
	return strtol(p + 11, NULL, 10);
}

/* Waits (up to 60 s) until node i's verify names an anchor by the other
 * node at its log's last entry. */
static bool
wait_anchored(int i)
{
	char want[120];

	for (int k = 0; k < 600; k++) {
		long n = entries(i);
		snprintf(want, sizeof want, "audit log anchored by %s up to "
		    "entry %ld at ", names[1 - i], n);
		if (n > 0 && strstr(out, want) != NULL)
			return true;
		usleep(100000);
	}
	fprintf(stderr, "%s: no anchor at its last entry; last verify:\n%s",
	    names[i], out);
	return false;
}

static void
test_setup(void)
{
	CHECK_INT(nodes_channel(base), 0);
	CHECK_INT(sh("umask 077; for n in north south; do echo "
	    "'{\"debug_audit_anchor_ms\": 1000}' > %s/$n/parleyd.conf; "
	    "done", tmpdir), 0);
	spawn(0);
	spawn(1);
	CHECK(wait_up());
}

/* What node i signed for the other: rows in its audit_anchor_given. */
static uint64_t
given(int i)
{
	char home[300], hex[65];
	uint8_t ch[32];
	struct store *s = NULL;
	uint64_t c = 0;

	if (sh("ls %s/%s/channels | head -1 | cut -c1-64", tmpdir,
	    names[i]) != 0)
		return 0;
	snprintf(hex, sizeof hex, "%.64s", out);
	for (int k = 0; k < 32; k++) {
		unsigned v;
		if (sscanf(hex + 2 * k, "%2x", &v) != 1)
			return 0;
		ch[k] = (uint8_t)v;
	}
	snprintf(home, sizeof home, "%s/%s", tmpdir, names[i]);
	if (store_open_home_readonly(&s, home) != 0) {
		store_close(s);
		return 0;
	}
	if (store_anchor_given_count(s, ch, &c) != 0)
		c = 0;
	store_close(s);
	return c;
}

static void
test_both_anchored(void)
{
	for (int k = 1; k <= 3; k++)
		for (int i = 0; i < 2; i++)
			CHECK_INT(sh("%s/parley send --home %s/%s "
			    "'%s-says-%d'", build, tmpdir, names[i], names[i],
			    k), 0);
	CHECK(wait_equal(3, 3));
	CHECK(wait_anchored(0));
	CHECK(wait_anchored(1));
	for (int i = 0; i < 2; i++) {
		CHECK_INT(sh("%s/parley verify --home %s/%s", build, tmpdir,
		    names[i]), 0);
		CHECK_CONTAINS(out, "entries, hash chain intact");
		if (strstr(out, "audit log anchored by") != NULL)
			printf("%s: %.*s\n", names[i], (int)strcspn(strstr(out,
			    "audit log anchored by"), "\n"),
			    strstr(out, "audit log anchored by"));
		CHECK(given(i) >= 1);
		CHECK_INT(sh("%s/parley verify --home %s/%s --json", build,
		    tmpdir, names[i]), 0);
		CHECK_CONTAINS(out, "\"anchors\": [");
		CHECK_CONTAINS(out, "\"newest_n\": ");
		CHECK_CONTAINS(out, i == 0 ? "\"peer\": \"south\"" :
		    "\"peer\": \"north\"");
		CHECK_CONTAINS(out, "\"intact\": true");
	}
	CHECK(wait_log(0, "audit log anchored by south up to entry"));
	CHECK(wait_log(1, "audit log anchored by north up to entry"));
	CHECK_INT(sh("grep -c 'refused an audit anchor' %s/*.log", tmpdir), 1);
}

/* parley status shows the newest anchor by the other side, what each
 * signed for the other and the refusals; --json the same as "anchor". */
static void
test_status_anchors(void)
{
	char want[120], *p;

	for (int i = 0; i < 2; i++) {
		CHECK_INT(sh("%s/parley status --home %s/%s", build, tmpdir,
		    names[i]), 0);
		snprintf(want, sizeof want, "  audit anchor: our audit log "
		    "anchored by %s up to entry ", names[1 - i]);
		CHECK_CONTAINS(out, want);
		snprintf(want, sizeof want, " given to %s, ",
		    names[1 - i]);
		CHECK_CONTAINS(out, want);
		CHECK_CONTAINS(out, "of its records refused since the start");
		if ((p = strstr(out, "  audit anchor:")) != NULL)
			printf("%s status: %.*s\n", names[i],
			    (int)strcspn(p, "\n"), p);
		CHECK_INT(sh("%s/parley status --home %s/%s --json", build,
		    tmpdir, names[i]), 0);
		CHECK_CONTAINS(out, "\"anchor\": {");
		CHECK_CONTAINS(out, "\"last\": {");
		CHECK_CONTAINS(out, "\"time_ms\": ");
		CHECK(strstr(out, "\"given\": 0,") == NULL);
		CHECK_CONTAINS(out, "\"given\": ");
		CHECK_CONTAINS(out, "\"refused\": ");
		CHECK_CONTAINS(out, "\"operator_asks\": 0");
	}
}

/* Waits (up to 60 s) until node i's status shows no ask of its pending
 * and an anchor held. */
static bool
wait_settled(int i)
{
	for (int k = 0; k < 600; k++) {
		if (sh("%s/parley status --home %s/%s --json", build, tmpdir,
		    names[i]) == 0 && strstr(out, "\"pending\": false") &&
		    strstr(out, "\"last\": {"))
			return true;
		usleep(100000);
	}
	fprintf(stderr, "%s: an anchor ask still pending:\n%s", names[i], out);
	return false;
}

/* Waits (up to 60 s) until node i's status shows no path up. */
static bool
wait_down(int i)
{
	for (int k = 0; k < 600; k++) {
		if (sh("%s/parley status --home %s/%s --json", build, tmpdir,
		    names[i]) == 0 && strstr(out, "\"up\": true") == NULL)
			return true;
		usleep(100000);
	}
	return false;
}

/* An hour between scheduled asks: after the first ones (at the start)
 * the log grows unanchored; parley anchor has it anchored up to its last
 * entry (its own: the command is in the audit log) on each side. */
static void
test_anchor_command(void)
{
	char want[160], said[512], *p;
	long n;

	stop(0, false);
	stop(1, false);
	CHECK_INT(sh("umask 077; for n in north south; do echo "
	    "'{\"audit_anchor_interval_ms\": 3600000}' > %s/$n/parleyd.conf; "
	    "done", tmpdir), 0);
	spawn(0);
	spawn(1);
	CHECK(wait_up());
	CHECK(wait_settled(0));
	CHECK(wait_settled(1));
	for (int i = 0; i < 2; i++)
		CHECK_INT(sh("%s/parley send --home %s/%s '%s-again'", build,
		    tmpdir, names[i], names[i]), 0);
	CHECK(wait_equal(6, 4));
	for (int i = 0; i < 2; i++) {
		CHECK_INT(sh("%s/parley anchor --home %s/%s", build, tmpdir,
		    names[i]), 0);
		snprintf(said, sizeof said, "%.511s", out);
		printf("%s: %s", names[i], said);
		n = entries(i);
		CHECK(n > 0);
		snprintf(want, sizeof want, "audit log anchored by %s up to "
		    "entry %ld at ", names[1 - i], n);
		CHECK_CONTAINS(said, want);
		CHECK_CONTAINS(out, want);	/* verify's */
		CHECK_INT(sh("%s/parley audit --home %s/%s", build, tmpdir,
		    names[i]), 0);
		CHECK_CONTAINS(out, "anchor");
		CHECK_CONTAINS(out, "asked of ");
		CHECK_INT(sh("%s/parley status --home %s/%s --json", build,
		    tmpdir, names[i]), 0);
		CHECK_CONTAINS(out, "\"operator_asks\": 1");
		CHECK_CONTAINS(out, "\"operator_answered\": 1");
	}
	CHECK_INT(sh("%s/parley anchor --home %s/north --channel nobody",
	    build, tmpdir), 2);
	CHECK_CONTAINS(out, "no channel with peer or id prefix \"nobody\"");
	CHECK_INT(sh("%s/parley anchor --home %s/north --wait 9999", build,
	    tmpdir), 2);
	CHECK_CONTAINS(out, "--wait");
	/* south does not answer: the ask stays pending */
	CHECK_INT(kill_pid(pids[1], SIGSTOP), 0);
	CHECK_INT(sh("%s/parley anchor --home %s/north --channel south "
	    "--wait 1", build, tmpdir), 1);
	CHECK_CONTAINS(out, "parley anchor: south did not answer within 1 s");
	CHECK_CONTAINS(out, "the ask stays pending and is sent again");
	if ((p = strstr(out, "parley anchor:")) != NULL)
		printf("north, south stopped: %.*s\n", (int)strcspn(p, "\n"),
		    p);
	CHECK_INT(kill_pid(pids[1], SIGCONT), 0);
	/* operators' asks beyond their bucket (the third here is the
	 * last; asks before the daemon's next tick share it): refused at
	 * once, nothing asked, audited as such */
	CHECK_INT(sh("%s/parley anchor --home %s/north --wait 0", build,
	    tmpdir), 0);
	CHECK_CONTAINS(out, "audit anchor asked of south");
	CHECK_INT(sh("for i in $(seq 50); do %s/parley anchor --home %s/north "
	    "--wait 0 >/dev/null 2>&1 || break; sleep 0.1; done; "
	    "%s/parley anchor --home %s/north --wait 0", build, tmpdir, build,
	    tmpdir), 1);
	CHECK_CONTAINS(out, "operators asked south too often (3 asks, then "
	    "one per 120 s): nothing asked; try again in ");
	printf("north, asked too often: %s", out);
	CHECK_INT(sh("%s/parley audit --home %s/north", build, tmpdir), 0);
	CHECK_CONTAINS(out, "asked of nobody: operators asked south too "
	    "often");
	/* no path up: nothing asked */
	stop(1, false);
	CHECK(wait_down(0));
	CHECK_INT(sh("%s/parley anchor --home %s/north", build, tmpdir), 1);
	CHECK_CONTAINS(out, "no path to south is up: nothing asked");
	printf("north, south gone: %s", out);
	CHECK_INT(sh("%s/parley audit --home %s/north", build, tmpdir), 0);
	CHECK_CONTAINS(out, "asked of nobody: no path to south is up");
}

/* Node i's operators' asks since its daemon started (status), or -1. */
static long
op_asks(int i)
{
	char *p;

	if (sh("%s/parley status --home %s/%s --json", build, tmpdir,
	    names[i]) != 0 || (p = strstr(out, "\"operator_asks\": ")) == NULL)
		return -1;
	return strtol(p + 17, NULL, 10);
}

/* Starts `parley anchor --home north --channel south --wait wait_s` in
 * the background (its output and exit code into tmpdir/anchor.out and
 * anchor.rc) and waits (up to 60 s) until north made its ask. */
static bool
anchor_behind(int wait_s)
{
	long before = -1;

	for (int k = 0; k < 600 && (before = op_asks(0)) < 0; k++)
		usleep(100000);	/* a daemon just started */
	(void)sh("rm -f %s/anchor.rc; (%s/parley anchor --home %s/north "
	    "--channel south --wait %d > %s/anchor.out 2>&1; echo $? > "
	    "%s/anchor.rc) > /dev/null 2>&1 &", tmpdir, build, tmpdir, wait_s,
	    tmpdir, tmpdir);
	for (int k = 0; k < 600; k++) {
		if (op_asks(0) > before)
			return true;
		usleep(100000);
	}
	return false;
}

/* Waits (up to 120 s) for the background parley anchor: its exit code
 * (-1: none), its output in out. */
static int
anchor_rc(void)
{
	int rc = -1;

	for (int k = 0; k < 1200; k++) {
		if (sh("cat %s/anchor.rc", tmpdir) == 0 && out[0] != '\0') {
			rc = atoi(out);
			break;
		}
		usleep(100000);
	}
	(void)sh("cat %s/anchor.out", tmpdir);
	return rc;
}

/* parleyd restarts while parley anchor waits: its ask was lost with it
 * (tickets live in the daemon's memory). South stopped: nothing anchored
 * since, so it says the ask was lost (exit 4), not that it is sent
 * again. South back: the new daemon's first ask answered counts (exit
 * 0). North stopped and not started again: it says so (exit 3). */
static void
test_anchor_restart(void)
{
	stop(0, false);		/* its operators' asks used up */
	spawn(0);
	spawn(1);
	CHECK(wait_up());
	CHECK(wait_settled(0));
	CHECK_INT(kill_pid(pids[1], SIGSTOP), 0);
	CHECK(anchor_behind(10));
	stop(0, false);
	spawn(0);
	CHECK_INT(anchor_rc(), 4);
	CHECK_CONTAINS(out, "parley anchor: parleyd restarted while waiting "
	    "for south's answer");
	CHECK_CONTAINS(out, "the ask was lost with it");
	CHECK(strstr(out, "sent again") == NULL);
	printf("north restarted, south stopped: %s", out);
	/* south answers the new daemon's first ask */
	CHECK_INT(kill_pid(pids[1], SIGCONT), 0);
	CHECK(wait_up());
	CHECK_INT(kill_pid(pids[1], SIGSTOP), 0);
	CHECK(anchor_behind(60));
	stop(0, false);
	spawn(0);
	CHECK_INT(kill_pid(pids[1], SIGCONT), 0);
	CHECK_INT(anchor_rc(), 0);
	CHECK_CONTAINS(out, "audit log anchored by south up to entry ");
	printf("north restarted, south back: %s", out);
	/* north stopped for good */
	CHECK(wait_up());
	CHECK_INT(kill_pid(pids[1], SIGSTOP), 0);
	CHECK(anchor_behind(4));
	stop(0, false);
	CHECK_INT(anchor_rc(), 3);
	CHECK_CONTAINS(out, "parley anchor: parleyd stopped while waiting for "
	    "south's answer");
	printf("north stopped: %s", out);
	CHECK_INT(kill_pid(pids[1], SIGCONT), 0);
}

/* Stores in north's audit_anchor (north stopped) a genuine anchor that
 * south signed over north's log up to entry 1, dated an hour ahead: as
 * anchors stored before the wall clock was stepped back an hour are. 0
 * when done. */
static int
anchor_ahead(void)
{
	char path[300], home[300], hex[65];
	struct store_anchor a;
	uint8_t ch[32], head[AUDIT_HASH_LEN];
	sqlite3_stmt *st = NULL, *ins = NULL;
	sqlite3 *db = NULL;
	struct keys k;
	int rc = -1;

	memset(&k, 0, sizeof k);
	memset(&a, 0, sizeof a);
	if (sh("ls %s/north/channels | head -1 | cut -c1-64", tmpdir) != 0)
		return -1;
	snprintf(hex, sizeof hex, "%.64s", out);
	for (int i = 0; i < 32; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		ch[i] = (uint8_t)v;
	}
	snprintf(home, sizeof home, "%s/south", tmpdir);
	snprintf(path, sizeof path, "%s/north/parley.db", tmpdir);
	if (keys_load(&k, home) != 0 || sqlite3_open(path, &db) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT hash FROM audit WHERE n = 1", -1,
	    &st, NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW ||
	    sqlite3_column_bytes(st, 0) != AUDIT_HASH_LEN)
		goto out;
	memcpy(head, sqlite3_column_blob(st, 0), AUDIT_HASH_LEN);
	a.n = 1;
	randombytes_buf(a.salt, sizeof a.salt);
	anchor_compute(ch, head, a.salt, a.anchor);
	a.time_ms = (uint64_t)time(NULL) * 1000u + 3600000u;
	if (anchor_sign(&k, ch, a.anchor, a.time_ms, a.sig) != 0 ||
	    sqlite3_prepare_v2(db, "INSERT INTO audit_anchor (channel, n, "
	    "anchor, salt, time_ms, sig, stored_ms) VALUES (?1, 1, ?2, ?3, "
	    "?4, ?5, ?4)", -1, &ins, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_blob(ins, 1, ch, 32, SQLITE_STATIC);
	sqlite3_bind_blob(ins, 2, a.anchor, ANCHOR_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(ins, 3, a.salt, ANCHOR_SALT_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(ins, 4, (sqlite3_int64)a.time_ms);
	sqlite3_bind_blob(ins, 5, a.sig, KEYS_SIG_LEN, SQLITE_STATIC);
	if (sqlite3_step(ins) == SQLITE_DONE)
		rc = 0;
out:
	sqlite3_finalize(st);
	sqlite3_finalize(ins);
	sqlite3_close(db);
	keys_fini(&k);
	return rc;
}

/* parleyd restarts while parley anchor waits, and the newest anchor
 * stored is dated after the ask but covers only entry 1 (stored before
 * the wall clock was stepped back an hour): it does not cover the ask's
 * own audit entry, so the ask was lost (exit 4), not "anchored up to
 * entry 1". */
static void
test_anchor_restart_older(void)
{
	CHECK_INT(anchor_ahead(), 0);	/* north is stopped */
	spawn(0);
	CHECK(wait_up());
	/* (south's bucket may be empty after the restarts above: north's
	 * own ask need not be answered here) */
	CHECK_INT(kill_pid(pids[1], SIGSTOP), 0);
	CHECK(anchor_behind(4));
	stop(0, false);
	spawn(0);
	CHECK_INT(anchor_rc(), 4);
	CHECK_CONTAINS(out, "parley anchor: parleyd restarted while waiting "
	    "for south's answer");
	CHECK(strstr(out, "anchored by south up to entry 1 ") == NULL);
	printf("north restarted, an older anchor dated ahead: %s", out);
	CHECK_INT(kill_pid(pids[1], SIGCONT), 0);
	CHECK(wait_up());
}

/* parleyd restarts while parley anchor waits, and one of its status
 * reads meets a daemon on the way out: connected, then closed with no
 * answer (here a listener at north's socket that answers nothing and
 * closes). That is the restart's gap too: the wait goes on, and ends as
 * the restart says (south stopped: the ask lost, exit 4), not at once
 * on a status error. */
static void
test_anchor_restart_gap(void)
{
	struct sockaddr_un sun;
	int fd;

	CHECK_INT(kill_pid(pids[1], SIGSTOP), 0);
	CHECK(anchor_behind(10));
	stop(0, false);
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s/north/%s", tmpdir,
	    CTL_SOCKET_NAME);
	(void)unlink(sun.sun_path);
	CHECK((fd = socket(AF_UNIX, SOCK_STREAM, 0)) >= 0);
	CHECK_INT(bind(fd, (struct sockaddr *)&sun, sizeof sun), 0);
	CHECK_INT(listen(fd, 8), 0);
	usleep(500000);		/* parley anchor polls every 100 ms */
	close(fd);		/* its call: reset, no answer */
	(void)unlink(sun.sun_path);
	spawn(0);
	CHECK_INT(anchor_rc(), 4);
	CHECK_CONTAINS(out, "parley anchor: parleyd restarted while waiting "
	    "for south's answer");
	CHECK(strstr(out, "status:") == NULL);
	printf("north restarted, a status call unanswered: %s", out);
	CHECK_INT(kill_pid(pids[1], SIGCONT), 0);
	CHECK(wait_up());
}

/* One number read from the store at path (read-only; 0 when none). */
static uint64_t
db_number(const char *path, const char *sql)
{
	sqlite3_stmt *st = NULL;
	sqlite3 *db = NULL;
	uint64_t n = 0;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) ==
	    SQLITE_OK && sqlite3_prepare_v2(db, sql, -1, &st, NULL) ==
	    SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		n = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* Runs sql on the store at path: 0, or -1. */
static int
db_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	int rc = -1;

	if (sqlite3_open(path, &db) == SQLITE_OK &&
	    sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK)
		rc = 0;
	sqlite3_close(db);
	return rc;
}

static uint64_t
node_number(int i, const char *sql)
{
	char path[300];

	snprintf(path, sizeof path, "%s/%s/parley.db", tmpdir, names[i]);
	return db_number(path, sql);
}

/* Waits (up to 60 s) until node i's log holds s (a grep pattern). */
static bool
wait_log_long(int i, const char *s)
{
	for (int k = 0; k < 600; k++) {
		if (sh("grep -c '%s' %s/%s.log", s, tmpdir, names[i]) == 0)
			return true;
		usleep(100000);
	}
	fprintf(stderr, "%s: '%s' never logged\n", names[i], s);
	return false;
}

/* How many alerts of anchors gone back node i lists. */
static int
went_back_alerts(int i)
{
	int c = 0;
	char *p;

	if (sh("%s/parley alerts --home %s/%s", build, tmpdir, names[i]) != 0)
		return -1;
	for (p = out; (p = strstr(p, "audit anchors went back")) != NULL;
	    p++)
		c++;
	return c;
}

/* Answers lost on the way (north drops the next 3 it gets, as if lost):
 * south signed them, north never held them, so they are never claimed:
 * no alarm on either side, and once north holds a new one and shows it,
 * still none. */
static void
test_lost_answers_quiet(void)
{
	uint64_t t0;

	stop(0, false);
	CHECK_INT(sh("umask 077; echo '{\"debug_audit_anchor_ms\": 1000, "
	    "\"debug_audit_anchor_drop\": 3}' > %s/north/parleyd.conf",
	    tmpdir), 0);
	spawn(0);
	CHECK(wait_up());
	CHECK(wait_log_long(0, "an audit anchor answer dropped (debug: 0 "
	    "more)"));
	/* a newer anchor held by north after the drops, shown to south */
	t0 = node_number(0, "SELECT max(time_ms) FROM audit_anchor");
	for (int k = 0; k < 600; k++) {
		if (node_number(1, "SELECT max(held_ms) FROM "
		    "audit_anchor_given") > t0)
			break;
		usleep(100000);
	}
	CHECK(node_number(1, "SELECT max(held_ms) FROM audit_anchor_given")
	    > t0);
	CHECK_INT(went_back_alerts(0), 0);
	CHECK_INT(went_back_alerts(1), 0);
	CHECK(sh("grep -c 'went back' %s/*.log", tmpdir) != 0);
	CHECK_INT(node_number(1, "SELECT count(*) FROM audit_anchor_back"), 0);
}

/* North's anchor rows deleted and its audit log cut to match, as an
 * attacker with the file would: `parley verify` on north passes (nothing
 * local shows it), but north's next ask holds an older anchor than it
 * showed south before: both raise the alarm, naming both times. */
static void
test_went_back_seen(void)
{
	char path[300], sql[600], from_s[32], to_s[32], want[200];
	uint64_t keep_n, keep_t, from;

	CHECK(wait_anchored(0));
	keep_n = (uint64_t)entries(0);
	keep_t = node_number(0, "SELECT max(time_ms) FROM audit_anchor");
	CHECK(keep_n >= 1 && keep_t >= 1);
	/* the log grows; an anchor over it, shown to south in a later ask */
	for (int k = 4; k <= 5; k++)
		CHECK_INT(sh("%s/parley send --home %s/north 'north-says-%d'",
		    build, tmpdir, k), 0);
	CHECK(wait_equal(5, 3));
	CHECK(wait_anchored(0));
	CHECK((uint64_t)entries(0) > keep_n);
	snprintf(sql, sizeof sql, "SELECT min(time_ms) FROM audit_anchor "
	    "WHERE n > %llu", (unsigned long long)keep_n);
	for (int k = 0; k < 600; k++) {
		if (node_number(1, "SELECT max(held_ms) FROM "
		    "audit_anchor_given") >= node_number(0, sql))
			break;
		usleep(100000);
	}
	stop(0, false);
	from = node_number(1, "SELECT max(held_ms) FROM audit_anchor_given");
	CHECK(from > keep_t);
	snprintf(path, sizeof path, "%s/north/parley.db", tmpdir);
	snprintf(sql, sizeof sql, "DROP TRIGGER audit_anchor_keep; DROP "
	    "TRIGGER audit_keep; DELETE FROM audit_anchor WHERE time_ms > "
	    "%llu; DELETE FROM audit WHERE n > %llu; CREATE TRIGGER "
	    "audit_anchor_keep BEFORE DELETE ON audit_anchor BEGIN SELECT "
	    "RAISE(ABORT, 'audit anchors are kept'); END; CREATE TRIGGER "
	    "audit_keep BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, "
	    "'the audit log is append-only'); END;",
	    (unsigned long long)keep_t, (unsigned long long)keep_n);
	CHECK_INT(db_exec(path, sql), 0);
	/* nothing local shows it */
	CHECK_INT(sh("%s/parley verify --home %s/north", build, tmpdir), 0);
	snprintf(want, sizeof want, "audit log anchored by south up to entry "
	    "%llu at ", (unsigned long long)keep_n);
	CHECK_CONTAINS(out, want);
	CHECK_INT(went_back_alerts(1), 0);
	spawn(0);
	CHECK(wait_log_long(1, "ALARM north.s audit anchors went back"));
	CHECK(wait_log_long(0, "ALARM north.s audit anchors went back"));
	clock_utc_str(from_s, from);
	clock_utc_str(to_s, keep_t);
	snprintf(want, sizeof want, "north's audit anchors went back from %s "
	    "to %s: its store was restored from a backup or rewritten",
	    from_s, to_s);
	for (int i = 0; i < 2; i++) {
		CHECK_INT(went_back_alerts(i), 1);
		CHECK_CONTAINS(out, want);
		printf("%s: %.*s\n", names[i], (int)strcspn(strstr(out,
		    "north's audit") ? strstr(out, "north's audit") : out,
		    "\n"), strstr(out, "north's audit") ? strstr(out,
		    "north's audit") : out);
	}
	/* verify on north lists it (what the store holds still verifies) */
	CHECK_INT(sh("%s/parley verify --home %s/north", build, tmpdir), 0);
	CHECK_CONTAINS(out, "): ALARM noted ");
	snprintf(want, sizeof want, "north's audit anchors went back from %s "
	    "to %s (as the peer says: this store was restored from a backup or "
	    "rewritten)", from_s, to_s);
	CHECK_CONTAINS(out, want);
	CHECK_INT(sh("%s/parley verify --home %s/north --json", build,
	    tmpdir), 0);
	CHECK_CONTAINS(out, "\"went_back\": [");
	CHECK_CONTAINS(out, "\"ours\": true");
	/* once: later asks (north holds new anchors now) raise no more */
	CHECK(wait_anchored(0));
	sleep(3);
	CHECK_INT(went_back_alerts(0), 1);
	CHECK_INT(went_back_alerts(1), 1);
}

/* Rewrites the audit log of the store at path consistently: entry 1's
 * detail changed, every hash from it on recomputed, the append-only
 * triggers dropped first. 0 when done. */
static int
rewrite_log(const char *path)
{
	uint8_t prev[AUDIT_HASH_LEN] = { 0 }, h[AUDIT_HASH_LEN];
	uint8_t buf[AUDIT_ENTRY_MAX];
	sqlite3_stmt *rd = NULL, *wr = NULL;
	struct audit_entry e;
	sqlite3 *db = NULL;
	size_t len;
	int rc = -1;

	if (sqlite3_open(path, &db) != SQLITE_OK ||
	    sqlite3_exec(db, "BEGIN; DROP TRIGGER audit_keep; DROP TRIGGER "
	    "audit_fixed;", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT n, entry FROM audit ORDER BY n",
	    -1, &rd, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "UPDATE audit SET entry = ?1, hash = ?2 "
	    "WHERE n = ?3", -1, &wr, NULL) != SQLITE_OK)
		goto out;
	while (sqlite3_step(rd) == SQLITE_ROW) {
		if (audit_decode(&e, sqlite3_column_blob(rd, 1),
		    (size_t)sqlite3_column_bytes(rd, 1)) != 0)
			goto out;
		if (e.n == 1)
			snprintf(e.detail, sizeof e.detail, "to south, nothing "
			    "of note");
		if (audit_encode(&e, buf, sizeof buf, &len) != 0)
			goto out;
		audit_hash(prev, buf, len, h);
		memcpy(prev, h, sizeof prev);
		sqlite3_bind_blob(wr, 1, buf, (int)len, SQLITE_TRANSIENT);
		sqlite3_bind_blob(wr, 2, h, sizeof h, SQLITE_TRANSIENT);
		sqlite3_bind_int64(wr, 3, (sqlite3_int64)e.n);
		if (sqlite3_step(wr) != SQLITE_DONE)
			goto out;
		sqlite3_reset(wr);
	}
	rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 0 :
	    -1;
out:
	sqlite3_finalize(rd);
	sqlite3_finalize(wr);
	sqlite3_close(db);
	return rc;
}

/* The entry of the oldest anchor stored in the store at path (0: none). */
static unsigned long
oldest_anchor(const char *path)
{
	sqlite3_stmt *st = NULL;
	sqlite3 *db = NULL;
	unsigned long n = 0;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) ==
	    SQLITE_OK && sqlite3_prepare_v2(db, "SELECT min(n) FROM "
	    "audit_anchor", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = (unsigned long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

static void
test_rewrite_found(void)
{
	char path[300], want[160], *p;
	unsigned long first = 0;

	stop(0, false);
	CHECK_INT(sh("%s/parley verify --home %s/north", build, tmpdir), 0);
	/* the oldest anchor's entry: what the fault will name */
	snprintf(path, sizeof path, "%s/north/parley.db", tmpdir);
	first = oldest_anchor(path);
	CHECK(first >= 1);
	CHECK_INT(rewrite_log(path), 0);
	CHECK_INT(sh("%s/parley verify --home %s/north", build, tmpdir), 1);
	/* the chain alone does not show it */
	CHECK_CONTAINS(out, "entries, hash chain intact");
	snprintf(want, sizeof want, "FAULT: audit anchor: audit log entry <= "
	    "%lu does not match what south signed at ", first);
	CHECK_CONTAINS(out, want);
	CHECK_CONTAINS(out, ": the log was rewritten");
	if ((p = strstr(out, "FAULT: audit anchor")) != NULL)
		printf("north after the rewrite: %.*s\n", (int)strcspn(p, "\n"),
		    p);
	p = strstr(out, "signed at ");
	CHECK(p != NULL && strlen(p) > 30 && p[14] == '-');
	CHECK_INT(sh("%s/parley verify --home %s/north --json", build,
	    tmpdir), 1);
	CHECK_CONTAINS(out, "the log was rewritten");
	CHECK_CONTAINS(out, "\"intact\": false");
	/* south, untouched, still verifies */
	CHECK_INT(sh("%s/parley verify --home %s/south", build, tmpdir), 0);
	/* the daemon finds it too, at its start, with no one running
	 * verify: an alarm and an alert, on north's side alone */
	spawn(0);
	CHECK(wait_log_long(0, "ALARM north.s audit log no longer matches "
	    "its newest audit anchor from south: audit log entry <= "));
	CHECK_INT(sh("%s/parley alerts --home %s/north", build, tmpdir), 0);
	CHECK_CONTAINS(out, "north's audit log no longer matches its newest "
	    "audit anchor from south: audit log entry <= ");
	CHECK_CONTAINS(out, ": the log was rewritten, or the row's n altered; "
	    "run parley verify");
	CHECK(sh("grep -c 'no longer matches its newest' %s/south.log",
	    tmpdir) != 0);
}

/* verify --json of a home without a node: the error, and (under ASan)
 * no leak of the JSON built before the channels are read. */
static void
test_verify_no_node(void)
{
	CHECK_INT(sh("mkdir -p %s/empty && %s/parley verify --home %s/empty "
	    "--json 2>&1", tmpdir, build, tmpdir), 1);
	CHECK_CONTAINS(out, "parley verify: no usable node in");
	/* LeakSanitizer's report (its exit code is not the one seen) */
	CHECK(strstr(out, "detected memory leaks") == NULL);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	if (!build_from_env())
		return 1;
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	if ((base = ports_pick(11000, 12000, 2)) < 0) {
		printf("no free block of ports\n0 passed, 1 failed\n");
		return 1;
	}
	RUN(test_setup);
	RUN(test_both_anchored);
	RUN(test_lost_answers_quiet);
	RUN(test_went_back_seen);
	RUN(test_status_anchors);
	RUN(test_anchor_command);
	RUN(test_anchor_restart);
	RUN(test_anchor_restart_older);
	RUN(test_anchor_restart_gap);
	RUN(test_rewrite_found);
	RUN(test_verify_no_node);
	cleanup();
	return harness_summary();
}
