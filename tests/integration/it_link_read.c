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
 *  - PONGs later than LINK_PING_MARKS (16) PINGs: north dials south only
 *    through tools/throttle, which passes south's side at 40 kB/s, and
 *    south keeps its output full of bulk records (link_send_bulk, as the
 *    messages' bodies go), so each PONG waits 8 s or more behind them
 *    (40 PINGs or more at a heartbeat of 200 ms; the RTT north measures
 *    is checked to be past 16 PINGs).
 *    North sends records for 15 s (a mark for every PING): by their end
 *    link_queued at north shows some of them read (less than all it
 *    sent); then it stops: once south has read them all, link_queued at
 *    north falls to 0 while the PONGs still come that late. When the
 *    oldest mark was dropped, every PONG met a PING no longer
 *    remembered: nothing was shown read for as long as they came late.
 *
 * Ports: 127.0.0.1, 12000-12999, a free block of four (ports.h). Starts
 * tools/throttle (from $BUILD, default build) and kills only it, by its
 * pid. Removes its temporary directory. Bounded by an alarm.
 */
#include <event2/event.h>
#include <sodium.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../harness.h"
#include "base/log.h"
#include "crypto/agreement.h"
#include "crypto/keys.h"
#include "link/link.h"
#include "kill_pid.h"

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

/* Both up, and neither has a dial of its own under way: no session can
 * replace the one up (the duplicate rule, docs/link.md) and lose what
 * was sent on it. */
static bool
both_settled(void)
{
	struct link_channel_status a, b;

	return both_up() && link_channel_status(north.l, 0, &a) == 0 &&
	    link_channel_status(south.l, 0, &b) == 0 && a.paths[0].up &&
	    b.paths[0].up && !a.paths[0].dialling && !b.paths[0].dialling;
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
	CHECK(run_until(both_settled, 10000));
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

/* --- PONGs later than the marks ---------------------------------------- */

#define LATE_HB_MS 200		/* 16 PINGs: 3.2 s */
#define LATE_BACK "80000"	/* bytes a second, south to north */
#define LATE_REC_LEN 1000	/* north's records */
#define LATE_RECS 150		/* one every 100 ms: 15 s */

static pid_t pid_relay = -1;
static struct agreement ag_relay;	/* south's address: the relay */
static int north_sends_left;		/* records north still sends */
static int north_sent;
static uint64_t late_t0;

static void
on_alarm(int sig)
{
	static const char msg[] = "it_link_read: time limit reached\n"
	    "0 passed, 1 failed\n";

	(void)sig;
	if (pid_relay > 0)
		kill_pid(pid_relay, SIGKILL);
	(void)!write(1, msg, sizeof msg - 1);
	_exit(1);
}

/* tools/throttle: 127.0.0.1:base_port + 2 to south (base_port + 1),
 * north's side at full speed, south's at LATE_BACK. */
static pid_t
relay_start(void)
{
	char bin[1100], rate[64], lp[16], up[16];
	const char *b = getenv("BUILD");
	pid_t pid;

	snprintf(bin, sizeof bin, "%s/tools/throttle", b && *b ? b : "build");
	snprintf(rate, sizeof rate, "100000000:%s", LATE_BACK);
	snprintf(lp, sizeof lp, "%d", base_port + 2);
	snprintf(up, sizeof up, "%d", base_port + 1);
	if ((pid = fork()) == 0) {
		execl(bin, "throttle", rate, lp, up, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static void
relay_stop(void)
{
	if (pid_relay > 0) {
		kill_pid(pid_relay, SIGKILL);
		(void)waitpid(pid_relay, NULL, 0);
	}
	pid_relay = -1;
}

/* South keeps its output as full as bulk records may make it (at least
 * 256 KiB, up to what the path took in 20 s: docs/link.md 4): what each
 * of its PONGs waits behind, as behind the delivery engine's bodies. */
static void
south_fill(void)
{
	static uint8_t rec[8192];

	while (link_send_bulk(south.l, ag_relay.id, 0, 0x21, rec,
	    sizeof rec) == 0)
		;
}

static bool
filled_a_while(void)
{
	south_fill();
	return mono_ms() - late_t0 >= 1000;
}

/* North's records, one every 100 ms (every PING has one before it). */
static bool
north_sent_all(void)
{
	static uint8_t rec[LATE_REC_LEN];
	static uint64_t last;

	south_fill();
	if (north_sends_left > 0 && mono_ms() - last >= 100) {
		last = mono_ms();
		randombytes_buf(rec, sizeof rec);
		if (link_send(north.l, ag_relay.id, 0, 0x20, rec,
		    sizeof rec) == 0) {
			north_sends_left--;
			north_sent++;
		}
	}
	return north_sends_left == 0;
}

static bool
south_read_all(void)
{
	south_fill();
	return south.nrec >= north_sent;
}

static bool
north_shown_read(void)
{
	south_fill();
	return link_queued(north.l, ag_relay.id, 0) == 0;
}

static double
north_rtt_ms(void)
{
	struct link_channel_status st;

	if (link_channel_status(north.l, 0, &st) != 0 || st.npaths < 1 ||
	    !st.paths[0].have_rtt)
		return -1;
	return st.paths[0].rtt_ms;
}

static void
test_read_shown_when_pongs_late(void)
{
	char north_listen[32], south_listen[32], relay_addr[32];
	uint64_t t0;
	size_t queued;

	/* south's address is the relay's (south listens behind it); north
	 * listens where south does not dial, so the one session is
	 * north's, through the relay */
	ag_relay = ag;
	snprintf(relay_addr, sizeof relay_addr, "127.0.0.1:%d",
	    base_port + 2);
	snprintf(ag_relay.party[1].paths[0], sizeof ag_relay.party[1].paths[0],
	    "%s", relay_addr);
	CHECK(agreement_finalize(&ag_relay) == 0 &&
	    agreement_sign(&ag_relay, &north.k) == 0 &&
	    agreement_sign(&ag_relay, &south.k) == 0);
	CHECK((pid_relay = relay_start()) > 0);
	snprintf(north_listen, sizeof north_listen, "127.0.0.1:%d",
	    base_port + 3);
	snprintf(south_listen, sizeof south_listen, "127.0.0.1:%d",
	    base_port + 1);
	opt_hb_ms = LATE_HB_MS;
	opt_listen = north_listen;
	side_start(&north, &ag_relay, 1, 0);
	opt_listen = south_listen;
	side_start(&south, &ag_relay, 1, 0);
	opt_listen = NULL;
	opt_hb_ms = 0;
	CHECK(run_until(both_up, 20000));
	late_t0 = mono_ms();
	(void)run_until(filled_a_while, 5000);
	north_sends_left = LATE_RECS;
	north_sent = 0;
	CHECK(run_until(north_sent_all, 60000));
	/* what south has read shows while north still sends: less than
	 * all it sent since the PONGs came late */
	queued = link_queued(north.l, ag_relay.id, 0);
	printf("  north sent %d bytes of records in 15 s; %zu not shown "
	    "read at its last\n", north_sent * LATE_REC_LEN, queued);
	CHECK(queued < (size_t)north_sent * LATE_REC_LEN);
	CHECK(run_until(south_read_all, 30000));
	t0 = mono_ms();
	CHECK(run_until(north_shown_read, 60000));
	printf("  %d records read by south; shown read at north %llu ms "
	    "later; north's RTT %.0f ms (%d PINGs)\n", north_sent,
	    (unsigned long long)(mono_ms() - t0), north_rtt_ms(),
	    (int)(north_rtt_ms() / LATE_HB_MS));
	/* the case itself: PONGs later than the PINGs remembered */
	CHECK(north_rtt_ms() > 16 * LATE_HB_MS);
	CHECK_INT(north.downs, 0);
	stop_both();
	relay_stop();
	agreement_wipe(&ag_relay);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	log_setup("it_link_read", LOG_LVL_ERROR, false);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGALRM, on_alarm);
	alarm(240);
	if ((base = event_base_new()) == NULL ||
	    !sides_setup(12000, 13000, 4)) {
		printf("setup failed\n0 passed, 1 failed\n");
		return 1;
	}
	RUN(test_read_known_within_a_tick);
	RUN(test_read_shown_when_pongs_late);
	sides_end();
	return harness_summary();
}
