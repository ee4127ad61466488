/*
 * it_link_read.c: what the peer has read of our stream, as link_queued
 * tells it (docs/link.md 4.1 and 8): two struct link on one libevent loop
 * over loopback TCP (link_sides.h).
 *
 *  - Under a long heartbeat interval (600 s), once south has read
 *    north's record, link_queued at north falls to 0 a PING and its PONG
 *    later (at north's next heartbeat tick, here every 2 s), not at the
 *    next interval's PING: the delivery engine counts a stall from there
 *    (docs/delivery.md, Sender 6), so a receipt the peer lost is resent
 *    seconds later, not up to an interval (up to 3600 s) later. Twice:
 *    after a record sent while no PING is in flight, each time.
 *
 * Ports: 127.0.0.1, 12000-12999, a free block of two (ports.h). Removes
 * its temporary directory.
 */
#include <event2/event.h>
#include <sodium.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>

#include "../harness.h"
#include "base/log.h"
#include "crypto/agreement.h"
#include "crypto/keys.h"
#include "link/link.h"

static char tmpdir[] = "/tmp/parley-it-link-read-XXXXXX";

#include "link_sides.h"

static int south_wants;		/* records south must have delivered */

static bool
south_has(void)
{
	return south.nrec >= south_wants;
}

static bool
north_all_read(void)
{
	return link_queued(north.l, ag.id, 0) == 0;
}

static uint64_t
mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

static void
test_read_known_within_a_tick(void)
{
	static uint8_t rec[1000];

	opt_hb_ms = 600000;	/* no interval's PING (nor silence) in the way */
	opt_rekey_s = 8;	/* the heartbeat timer ticks every 2 s */
	side_start(&north, &ag, 1, 0);
	side_start(&south, &ag, 1, 0);
	opt_hb_ms = opt_rekey_s = 0;
	CHECK(run_until(both_up, 10000));
	CHECK(run_until(north_all_read, 10000));
	for (int i = 1; i <= 2; i++) {
		uint64_t t0 = mono_ms();
		randombytes_buf(rec, sizeof rec);
		CHECK_INT(link_send(north.l, ag.id, 0, 0x20, rec, sizeof rec),
		    0);
		south_wants = i;
		CHECK(run_until(south_has, 10000));
		/* the peer read it: no PONG says so before a PING after it */
		CHECK(run_until(north_all_read, 30000));
		printf("  record %d: read shown after %llu ms\n", i,
		    (unsigned long long)(mono_ms() - t0));
	}
	stop_both();
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	log_setup("it_link_read", LOG_LVL_ERROR, false);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	alarm(120);
	if ((base = event_base_new()) == NULL ||
	    !sides_setup(12000, 13000, 2)) {
		printf("setup failed\n0 passed, 1 failed\n");
		return 1;
	}
	RUN(test_read_known_within_a_tick);
	sides_end();
	return harness_summary();
}
