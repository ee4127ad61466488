/*
 * record_pair.h: what it_record.c and it_record_owner.c share: messages
 * sent by the parley command line (send_text), a wait for both daemons'
 * path up (wait_up), and the pair's start (test_setup: north and south
 * with their channel, their parleyd.conf with checkpoints every 5
 * messages or 1 s and north's free-space threshold above any disk, both
 * daemons started and up). The including file includes ../harness.h and
 * node_util.h first, and defines before them its tmpdir (node_util.h)
 * and static int base, the first of its block of two ports (ports.h).
 */
#ifndef PARLEY_TESTS_RECORD_PAIR_H
#define PARLEY_TESTS_RECORD_PAIR_H

#include <stdbool.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "node_util.h"

static void
send_text(int i, int k)
{
	CHECK_INT(sh("%s/parley send --home %s/%s --marking %s "
	    "'%s-body-%03d'", build, tmpdir, names[i], k == 2 ? "releasable" :
	    "private", names[i], k), 0);
}

/* Waits until each node's daemon answers with its path up. */
static bool
wait_up(void)
{
	int up = 0;

	for (int k = 0; k < 100 && up < 2; k++) {
		usleep(100000);
		/* a daemon that died at start (e.g. its binary was being
		 * rebuilt by a parallel make) is started again */
		for (int i = 0; i < 2; i++) {
			int st;
			if (pids[i] > 0 && waitpid(pids[i], &st, WNOHANG) ==
			    pids[i]) {
				fprintf(stderr, "%s exited at start; again\n",
				    names[i]);
				spawn(i);
			}
		}
		up = 0;
		for (int i = 0; i < 2; i++)
			if (sh("%s/parley status --home %s/%s --json", build,
			    tmpdir, names[i]) == 0 &&
			    strstr(out, "\"up\": true") != NULL)
				up++;
	}
	return up == 2;
}

static void
test_setup(void)
{
	CHECK_INT(nodes_channel(base), 0);
	/* checkpoints every 5 messages or 1 s (docs/parleyd.8.md) */
	CHECK_INT(sh("umask 077; for n in north south; do echo "
	    "'{\"checkpoint_every\": 5, \"checkpoint_interval_ms\": 1000}' "
	    "> %s/$n/parleyd.conf; done", tmpdir), 0);
	/* north's threshold above any disk: it warns once; south does not */
	CHECK_INT(sh("umask 077; echo '{\"checkpoint_every\": 5, "
	    "\"checkpoint_interval_ms\": 1000, \"disk_free_min_mb\": "
	    "1073741824}' > %s/north/parleyd.conf", tmpdir), 0);
	spawn(0);
	spawn(1);
	CHECK(wait_up());
}

#endif
