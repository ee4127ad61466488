/*
 * node_util.h: helpers shared by the integration tests that run two real
 * parleyd (north, south) in a temporary directory (it_record.c,
 * it_record_owner.c, it_restore.c, it_anchor.c): a shell runner, the two
 * nodes and their channel made (nodes_channel), starting and stopping the
 * daemons, waits on `parley verify` and on a daemon's log, and a
 * program's start (node_begin) and end (cleanup). The including file
 * includes ../harness.h first.
 *
 * The including file defines, before the #include, its temporary
 * directory: static char tmpdir[] = "/tmp/parley-it-NAME-XXXXXX";
 * Node i lives in tmpdir/names[i], logs to tmpdir/names[i].log.
 */
#ifndef PARLEY_TESTS_NODE_UTIL_H
#define PARLEY_TESTS_NODE_UTIL_H

#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "kill_pid.h"
#include "ports.h"
#include "sh_util.h"

static pid_t pids[2] = { -1, -1 };
static const char *names[2] = { "north", "south" };

/* North and south made with parley init in tmpdir, and one channel
 * between them (north on 127.0.0.1:port, south on port + 1, heartbeat
 * 1 s, languages en and fr) drafted, signed by both and added at both,
 * by the parley command line: sh's exit code. */
static int
nodes_channel(int port)
{
	return sh("P=%s/parley; D=%s; set -e; $P init --home $D/north "
	    "--name north; $P init --home $D/south --name south; $P id --home"
	    " $D/south --export $D/south.id; $P channel draft --home $D/north"
	    " --peer $D/south.id --paths 127.0.0.1:%d --peer-paths "
	    "127.0.0.1:%d --language en --peer-language fr --heartbeat 1 "
	    "--out $D/a.agreement; $P channel sign --home $D/north "
	    "$D/a.agreement; $P channel sign --home $D/south $D/a.agreement; "
	    "$P channel add --home $D/north $D/a.agreement; $P channel add "
	    "--home $D/south $D/a.agreement", build, tmpdir, port, port + 1);
}

/* Starts parleyd for node i (stderr to its log). */
static void
spawn(int i)
{
	char bin[1100], home[200], logp[200];
	pid_t p;

	snprintf(bin, sizeof bin, "%s/parleyd", build);
	snprintf(home, sizeof home, "%s/%s", tmpdir, names[i]);
	snprintf(logp, sizeof logp, "%s/%s.log", tmpdir, names[i]);
	fflush(NULL);
	if ((p = fork()) == 0) {
		if (freopen(logp, "a", stderr) == NULL ||
		    freopen("/dev/null", "w", stdout) == NULL)
			_exit(126);
		execl(bin, "parleyd", "--home", home, (char *)NULL);
		_exit(127);
	}
	pids[i] = p;
}

/* SIGTERM (or SIGKILL at once with hard), then reaped; SIGKILL after
 * 5 s. */
static void
stop(int i, bool hard)
{
	int st;

	if (pids[i] <= 0)
		return;
	kill_pid(pids[i], hard ? SIGKILL : SIGTERM);
	for (int k = 0; k < 500; k++) {
		if (waitpid(pids[i], &st, WNOHANG) == pids[i]) {
			pids[i] = -1;
			return;
		}
		usleep(10000);
	}
	kill_pid(pids[i], SIGKILL);
	waitpid(pids[i], &st, 0);
	pids[i] = -1;
}

/* The transcript head line of `parley verify` for node i, or "". */
static int
verify_node(int i, char *head, size_t cap)
{
	char *p;
	int rc = sh("%s/parley verify --home %s/%s", build, tmpdir,
	    names[i]);

	head[0] = '\0';
	if ((p = strstr(out, "transcript head ")) != NULL)
		snprintf(head, cap, "%.64s", p + 16);
	return rc;
}

/* Waits (up to 20 s) until both sides verify with the same head and
 * chains of n0 and n1 messages. */
static bool
wait_equal(int n0, int n1)
{
	char h0[80], h1[80], w0[80], w1[80];

	snprintf(w0, sizeof w0, "north    chain seq %d,", n0);
	snprintf(w1, sizeof w1, "south    chain seq %d,", n1);
	for (int k = 0; k < 400; k++) {
		if (verify_node(0, h0, sizeof h0) == 0 && strstr(out, w0) &&
		    strstr(out, w1) && verify_node(1, h1, sizeof h1) == 0 &&
		    strstr(out, w0) && strstr(out, w1) && h0[0] != '\0' &&
		    strcmp(h0, h1) == 0)
			return true;
		usleep(50000);
	}
	fprintf(stderr, "not equal at %d/%d; last verify:\n%s", n0, n1, out);
	return false;
}

/* Waits up to 10 s for s (a grep pattern) in node i's log (inline: not
 * every including program uses it). */
static inline bool
wait_log(int i, const char *s)
{
	for (int k = 0; k < 200; k++) {
		if (sh("grep -c '%s' %s/%s.log", s, tmpdir, names[i]) == 0)
			return true;
		usleep(50000);
	}
	return false;
}

/* A program's start: libsodium, build (build_from_env), tmpdir made, and
 * the first port of a free block of n in [lo, hi) (ports.h), or -1 (a
 * missing block said on stdout as a failure). */
static inline int
node_begin(int lo, int hi, int n)
{
	int first;

	if (sodium_init() < 0 || !build_from_env() || mkdtemp(tmpdir) == NULL)
		return -1;
	if ((first = ports_pick(lo, hi, n)) < 0)
		printf("no free block of ports\n0 passed, 1 failed\n");
	return first;
}

/* A program's end: both daemons stopped; tmpdir removed, or kept (and
 * named on stderr) when a test failed. */
static void
cleanup(void)
{
	stop(0, false);
	stop(1, false);
	if (harness_failed > 0) {
		fprintf(stderr, "kept %s for a look\n", tmpdir);
		return;
	}
	if (sh("rm -rf %s", tmpdir) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
}

#endif
