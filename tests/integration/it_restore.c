/*
 * it_restore.c: a node restored from a backup takes its own chain back
 * from its peer over the link (docs/delivery.md, "Recovery"). Two real
 * parleyd (north, south) on loopback: traffic both ways, a backup of
 * north taken under traffic, more traffic, kill -9 of north, the backup
 * restored into north's home, north started again with a message queued
 * at once: north asks south for its own messages back (RECOVER), stores
 * them, and goes on; more traffic both ways. Then both stores hold every
 * message exactly once, both chains are gapless, `parley verify` passes on
 * both and prints the same transcript head, and north's queued message
 * took the place after the recovered ones, and north holds again the
 * checkpoints co-signed after its backup (south gives them back).
 *
 * Ports 127.0.0.1 19000-19999 (a free block of two, tests/integration/
 * ports.h). Temporary directory under /tmp, removed at the end. Kills
 * only the daemons it started.
 */
#include <sodium.h>
#include <stdlib.h>
#include <time.h>

#include "../harness.h"
#include "ports.h"

static char tmpdir[] = "/tmp/parley-it-restore-XXXXXX";
static int base;

#include "node_util.h"

static int
send_one(int i, int k)
{
	return sh("%s/parley send --home %s/%s '%s-body-%03d'", build, tmpdir,
	    names[i], names[i], k);
}

/* Waits until node i's daemon answers (link up too with up). */
static bool
wait_daemon(int i, bool up)
{
	for (int k = 0; k < 200; k++) {
		if (sh("%s/parley status --home %s/%s --json", build, tmpdir,
		    names[i]) == 0 && (!up || strstr(out, "\"up\": true")))
			return true;
		usleep(50000);
	}
	return false;
}

/* Node i's parleyd.conf: the test's settings and, when listen is set,
 * the one address it listens on instead of the agreement's. */
static void
write_conf(int i, int listen)
{
	char l[64] = "";

	if (listen > 0)
		snprintf(l, sizeof l, ", \"listen\": [\"127.0.0.1:%d\"]",
		    listen);
	CHECK_INT(sh("umask 077; echo '{\"checkpoint_every\": 5, "
	    "\"checkpoint_interval_ms\": 1000%s}' > %s/%s/parleyd.conf", l,
	    tmpdir, names[i]), 0);
}

static void
test_setup(void)
{
	CHECK_INT(nodes_channel(base), 0);
	write_conf(0, 0);
	write_conf(1, 0);
	spawn(0);
	spawn(1);
	CHECK(wait_daemon(0, true));
	CHECK(wait_daemon(1, true));
}

/* The distinct "NAME-body-NNN" texts in node i's log of both ways, and
 * how many messages carry one (each message once: the same number). */
static void
count_bodies(int i, const char *name, int *distinct, int *msgs)
{
	*distinct = *msgs = -1;
	if (sh("%s/parley log --home %s/%s --max 10000 --json | grep -o "
	    "'\"first_line\": \"%s-body-[0-9]*\"' | sort | uniq | wc -l", build,
	    tmpdir, names[i], name) == 0)
		*distinct = atoi(out);
	if (sh("%s/parley log --home %s/%s --max 10000 --json | grep -o "
	    "'\"first_line\": \"%s-body-[0-9]*\"' | wc -l", build, tmpdir, names[i],
	    name) == 0)
		*msgs = atoi(out);
}

/* The number of co-signed checkpoints node i's store holds (its
 * `parley verify`), or -1. */
static long
checkpoints_of(int i)
{
	char h[80], *p;

	if (verify_node(i, h, sizeof h) != 0 ||
	    (p = strstr(out, " checkpoints verified")) == NULL)
		return -1;
	while (p > out && p[-1] >= '0' && p[-1] <= '9')
		p--;
	return strtol(p, NULL, 10);
}

/* The seq of north's message with first line text (its log), or -1. */
static long
seq_of(const char *text)
{
	char *p, *end;

	if (sh("%s/parley log --home %s/north --max 10000 --json", build,
	    tmpdir) != 0 || (p = strstr(out, text)) == NULL)
		return -1;
	while (p > out && *p != '{')
		p--;
	if ((end = strchr(p, '}')) != NULL)
		*end = '\0';
	if ((p = strstr(p, "\"seq\": ")) == NULL)
		return -1;
	return strtol(p + 7, NULL, 10);
}

static void
test_restore_resync(void)
{
	char h0[80], h1[80];
	int st, distinct, msgs;
	long cps_south, cps_backup;
	pid_t p;

	/* traffic both ways */
	for (int k = 1; k <= 10; k++) {
		CHECK_INT(send_one(0, k), 0);
		CHECK_INT(send_one(1, k), 0);
	}
	CHECK(wait_equal(10, 10));
	/* a backup of north while both keep sending */
	fflush(NULL);
	if ((p = fork()) == 0) {
		for (int k = 11; k <= 20; k++)
			if (send_one(0, k) != 0 || send_one(1, k) != 0)
				_exit(1);
		_exit(0);
	}
	usleep(30000);
	CHECK_INT(sh("%s/parley backup --home %s/north %s/north.bak", build,
	    tmpdir, tmpdir), 0);
	CHECK(waitpid(p, &st, 0) == p && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 0);
	/* more traffic: the backup cannot hold it */
	for (int k = 21; k <= 30; k++) {
		CHECK_INT(send_one(0, k), 0);
		CHECK_INT(send_one(1, k), 0);
	}
	CHECK(wait_equal(30, 30));
	/* north dies hard and comes back from its backup */
	stop(0, true);
	cps_south = checkpoints_of(1);
	CHECK(cps_south > 0);
	CHECK_INT(sh("%s/parley restore --home %s/north --force %s/north.bak",
	    build, tmpdir, tmpdir), 0);
	cps_backup = checkpoints_of(0);
	CHECK(cps_backup >= 0 && cps_backup < cps_south);
	CHECK_INT(verify_node(0, h0, sizeof h0), 0);
	CHECK(strstr(out, "north    chain seq 30,") == NULL);
	spawn(0);
	/* a message queued at once: it must come after the recovered ones */
	CHECK(wait_daemon(0, false));
	CHECK_INT(send_one(0, 31), 0);
	CHECK(wait_log(0, "our chain is whole again (seq 30)"));
	CHECK(wait_log(0, "took back our messages"));
	/* and the checkpoints co-signed after the backup, from south */
	CHECK(wait_log(1, "co-signed checkpoints back to the peer"));
	for (int k = 0; k < 100 && checkpoints_of(0) < cps_south; k++)
		usleep(50000);
	CHECK(checkpoints_of(0) >= cps_south);
	/* more traffic both ways */
	for (int k = 31; k <= 36; k++) {
		if (k > 31)
			CHECK_INT(send_one(0, k), 0);
		CHECK_INT(send_one(1, k), 0);
	}
	CHECK(wait_equal(36, 36));
	CHECK_INT(verify_node(0, h0, sizeof h0), 0);
	CHECK_CONTAINS(out, "intact");
	CHECK_INT(verify_node(1, h1, sizeof h1), 0);
	CHECK_CONTAINS(out, "intact");
	CHECK(h0[0] != '\0');
	CHECK_STR(h0, h1);
	/* every message exactly once in both stores */
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 2; j++) {
			count_bodies(i, names[j], &distinct, &msgs);
			CHECK_INT(distinct, 36);
			CHECK_INT(msgs, 36);
		}
	/* north's queued message got seq 31, right after the recovered */
	CHECK_INT(seq_of("north-body-031"), 31);
	/* nothing refused on either side, no alarm */
	CHECK_INT(sh("cat %s/*.log | grep -c 'refused\\|ALARM'", tmpdir), 1);
	CHECK_STR(out, "0\n");
}

/*
 * North killed (-9) and south stopped; north's home restored from
 * TMPDIR/bak; both started again with south's sends to north through
 * tools/throttle at 25 kB/s (north listens only behind the relay, south
 * where north's dials fail): the relay's pid.
 */
static pid_t
restart_restored_slow(const char *bak)
{
	char bin[1100], a0[16], a1[16];
	pid_t thr;

	stop(0, true);
	stop(1, false);
	CHECK_INT(sh("%s/parley restore --home %s/north --force %s/%s",
	    build, tmpdir, tmpdir, bak), 0);
	write_conf(0, base + 2);
	write_conf(1, base + 3);
	snprintf(bin, sizeof bin, "%s/tools/throttle", build);
	snprintf(a0, sizeof a0, "%d", base);
	snprintf(a1, sizeof a1, "%d", base + 2);
	fflush(NULL);
	if ((thr = fork()) == 0) {
		execl(bin, "throttle", "25000", a0, a1, (char *)NULL);
		_exit(127);
	}
	spawn(1);
	spawn(0);
	return thr;
}

/*
 * A restored node takes its chain back over a slow path: south's sends
 * reach north through tools/throttle at 25 KB/s (north's pass at once;
 * north listens behind the relay and cannot dial south), so each
 * 60,000-byte part of south's answer takes 2.4 s on the wire, longer
 * than the asker's RECOVER_RETRY_MS (2 s). North's backup lacks its two
 * last messages (100 KB each, two parts each): it takes them back at
 * the path's pace, each message once, nothing refused, no alert, and
 * the session carrying the answer is not ended under it.
 */
static void
test_restore_slow_path(void)
{
	struct timespec t0, t1;
	int distinct, msgs;
	pid_t thr;

	CHECK_INT(sh("%s/parley backup --home %s/north %s/north2.bak", build,
	    tmpdir, tmpdir), 0);
	for (int k = 37; k <= 38; k++) {
		CHECK_INT(sh("(printf 'north-body-%03d\\n'; head -c 100000 "
		    "/dev/zero | tr '\\0' x) > %s/big.txt && %s/parley send "
		    "--home %s/north --file %s/big.txt", k, tmpdir, build,
		    tmpdir, tmpdir), 0);
		CHECK_INT(send_one(1, k), 0);
	}
	CHECK(wait_equal(38, 38));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	thr = restart_restored_slow("north2.bak");
	for (int k = 0; k < 600; k++) {		/* up to a minute */
		if (sh("grep -c 'our chain is whole again (seq 38)' "
		    "%s/north.log", tmpdir) == 0)
			break;
		usleep(100000);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("  200 KB back over 25 KB/s: %.1f s after the restart\n",
	    (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	CHECK_INT(sh("grep -c 'our chain is whole again (seq 38)' "
	    "%s/north.log", tmpdir), 0);
	CHECK(wait_equal(38, 38));	/* south's two come back too */
	kill_pid(thr, SIGKILL);
	waitpid(thr, NULL, 0);
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 2; j++) {
			count_bodies(i, names[j], &distinct, &msgs);
			CHECK_INT(distinct, 38);
			CHECK_INT(msgs, 38);
		}
	CHECK_INT(sh("cat %s/*.log | grep -c 'refused\\|ALARM'", tmpdir), 1);
	CHECK_STR(out, "0\n");
	/* the fence of the restored store ended on south's SYNC naming the
	 * new run, not by its time (3 s here) with the session that was
	 * carrying the answer ended */
	CHECK_INT(sh("grep -c 'fence after a crash ends: a fresh SYNC' "
	    "%s/north.log", tmpdir), 1);
	CHECK_STR(out, "0\n");
}

/* The most any path of node i shows on its way (status unread_bytes), or
 * -1 when the status cannot be read. */
static long
unread_of(int i)
{
	long most = -1;
	char *p;

	if (sh("%s/parley status --home %s/%s --json", build, tmpdir,
	    names[i]) != 0)
		return -1;
	for (p = out; (p = strstr(p, "\"unread_bytes\": ")) != NULL; p++)
		if (strtol(p + 16, NULL, 10) > most)
			most = strtol(p + 16, NULL, 10);
	return most;
}

/*
 * Our answer to a RECOVER is paced as bodies are (link_send_bulk): north
 * restored again, twelve messages of 100 KB to take back through a path
 * of 25 kB/s. What south has on its way on the path (status
 * `unread_bytes`: its queue, its socket, and what the relay holds) stays
 * near the link's bulk cap (5 s of the path, at least 128 KiB) plus the
 * relay's buffers (about 190 KiB). Before, the answer queued its whole
 * batch at once (1.2 MB here, up to the session's 4 MiB), and whatever
 * south sent after it (a receipt, a FLASH, a rekey) waited behind all of
 * it: 48 s on this path. `parley status` shows it ("N bytes on their
 * way"). The test watches the first 5 s, then stops.
 */
static void
test_restore_answer_paced(void)
{
	long most = 0, u;
	pid_t thr;

	stop(0, false);
	stop(1, false);
	write_conf(0, 0);
	write_conf(1, 0);
	spawn(0);
	spawn(1);
	CHECK(wait_daemon(0, true));
	CHECK(wait_daemon(1, true));
	CHECK_INT(sh("%s/parley backup --home %s/north %s/north3.bak", build,
	    tmpdir, tmpdir), 0);
	for (int k = 39; k <= 50; k++)
		CHECK_INT(sh("(printf 'north-body-%03d\\n'; head -c 100000 "
		    "/dev/zero | tr '\\0' y) > %s/big.txt && %s/parley send "
		    "--home %s/north --file %s/big.txt", k, tmpdir, build,
		    tmpdir, tmpdir), 0);
	CHECK(wait_equal(50, 38));
	thr = restart_restored_slow("north3.bak");
	for (int k = 0; k < 50; k++) {		/* 5 s */
		if ((u = unread_of(1)) > most)
			most = u;
		usleep(100000);
	}
	printf("  the answer to a RECOVER of 1.2 MB at 25 kB/s: at most %ld "
	    "bytes on their way at south\n", most);
	CHECK(sh("grep -c 'waits at seq' %s/south.log", tmpdir) == 0);
	CHECK(most > 0 && most < 700000);
	/* and an operator sees it (the answer is 48 s of this path) */
	CHECK_INT(sh("%s/parley status --home %s/south", build, tmpdir), 0);
	CHECK(strstr(out, " bytes on their way") != NULL);
	kill_pid(thr, SIGKILL);
	waitpid(thr, NULL, 0);
	stop(0, false);
	stop(1, false);
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
	if ((base = ports_pick(19000, 20000, 4)) < 0)
		return 1;
	RUN(test_setup);
	RUN(test_restore_resync);
	RUN(test_restore_slow_path);
	RUN(test_restore_answer_paced);
	cleanup();
	return harness_summary();
}
