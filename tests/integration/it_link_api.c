/*
 * it_link_api.c: the link layer's interface to the layer above (link.h),
 * as the message layer will use it: two struct link in one process, on
 * one libevent loop, over loopback TCP. Checks path_change up and down,
 * records of upper types delivered intact with their channel and path
 * (the largest record too), and link_send's refusals; sides with
 * different rekey settings keep their session (the responder's guard uses
 * the protocol's maxima); a full output queue does not end the session at
 * a rekey; sends alone bring a rekey, and an idle session under a long
 * heartbeat interval rekeys on time (at rekey_seconds, not at a heartbeat
 * tick); a flapping path (a fake peer child that answers and hangs up) is
 * redialled with a growing backoff; a record trickled over 3.6 s (the
 * fake child again) is not silence; an agreement that becomes valid while
 * running brings its path up, and one that expires takes it down. With
 * the test itself as north's peer: it_link_api_fake.c.
 *
 * Ports: 127.0.0.1, 28000-28499, a free block of four (ports.h). Removes
 * its temporary directory; the fake peer child exits by itself.
 */
static char tmpdir[] = "/tmp/parley-it-link-api-XXXXXX";

#include "link_api.h"

static struct agreement ag_timed;

static bool south_got_1(void) { return south.nrec >= 1; }
static bool south_got_2(void) { return south.nrec >= 2; }
static bool north_got_1(void) { return north.nrec >= 1; }
static bool south_down(void) { return south.downs >= 1; }
static bool got_1000(void) { return north.nrec >= 500 && south.nrec >= 500; }

/* Path 0 at s: we_initiated (0, 1), or -1 when it is not up or a dial
 * of s's is still under way. */
static int
initiated(struct side *s)
{
	struct link_channel_status st;

	if (s->l == NULL || link_channel_status(s->l, 0, &st) != 0 ||
	    !st.paths[0].up || st.paths[0].dialling)
		return -1;
	return st.paths[0].we_initiated;
}

/*
 * Both sides dial, so path 0 may first come up on a session the
 * duplicate rule closes when the other dial's session forms, and a record
 * sent on it is gone with it (link.h, path_change). Settled: both sides
 * hold the same session and neither has a dial under way, so nothing can
 * replace it. Waiting for that, not a fixed time, is what the tests that
 * send right after the start need.
 */
static bool
settled(void)
{
	int n = initiated(&north), s = initiated(&south);

	return n >= 0 && s >= 0 && n != s;
}

static void
test_up(void)
{
	side_start(&north, &ag, 1, 0);
	side_start(&south, &ag, 1, 0);
	CHECK(run_until(both_up, 10000));
	CHECK(run_until(settled, 10000));
	CHECK_INT(link_channel_count(north.l), 1);
}

static void
test_records(void)
{
	static uint8_t big[LINK_RECORD_MAX + 1];
	const char *msg = "ceasefire at 06:00Z";
	uint8_t h[32];

	CHECK_INT(link_send(north.l, ag.id, 0, 0x20, (const uint8_t *)msg,
	    strlen(msg)), 0);
	CHECK(run_until(south_got_1, 5000));
	CHECK_INT(south.last_type, 0x20);
	CHECK_INT(south.last_path, 0);
	CHECK_MEM(south.last_channel, ag.id, LINK_ID_LEN);
	CHECK_INT(south.last_len, strlen(msg));
	crypto_generichash(h, 32, (const uint8_t *)msg, strlen(msg), NULL, 0);
	CHECK_MEM(south.last_hash, h, 32);
	/* the largest record, and an empty one the other way */
	randombytes_buf(big, sizeof big);
	CHECK_INT(link_send(north.l, ag.id, 0, 0xff, big, LINK_RECORD_MAX), 0);
	CHECK(run_until(south_got_2, 5000));
	CHECK_INT(south.last_type, 0xff);
	CHECK_INT(south.last_len, LINK_RECORD_MAX);
	crypto_generichash(h, 32, big, LINK_RECORD_MAX, NULL, 0);
	CHECK_MEM(south.last_hash, h, 32);
	CHECK_INT(link_send(south.l, ag.id, 0, 0x10, NULL, 0), 0);
	CHECK(run_until(north_got_1, 5000));
	CHECK_INT(north.last_len, 0);
	/* link records never reach the layer above */
	CHECK_INT(north.nrec, 1);
}

static void
test_refusals(void)
{
	static uint8_t big[LINK_RECORD_MAX + 1];
	uint8_t other[LINK_ID_LEN];

	memset(other, 0x77, sizeof other);
	CHECK_INT(link_send(north.l, ag.id, 0, 0x01, big, 8), ERR_INVALID);
	CHECK_INT(link_send(north.l, ag.id, 0, 0x20, big, sizeof big),
	    ERR_TOO_BIG);
	CHECK_INT(link_send(north.l, other, 0, 0x20, big, 1), ERR_NOT_FOUND);
	CHECK_INT(link_send(north.l, ag.id, 1, 0x20, big, 1), ERR_NOT_FOUND);
}

static void
test_down(void)
{
	stop(&north);
	CHECK(run_until(south_down, 5000));
	CHECK_INT(link_send(south.l, ag.id, 0, 0x20, (const uint8_t *)"x", 1),
	    ERR_CLOSED);
	stop(&south);
}

static long long
handshakes(struct side *s)
{
	struct link_channel_status st;

	if (link_channel_status(s->l, 0, &st) != 0)
		return -1;
	return (long long)st.paths[0].handshakes;
}

/*
 * The session's initiator (the party whose key sorts lower: the duplicate
 * rule) keeps the protocol's rekey point; the responder's own setting is
 * 50 records. The responder must not close the session for "not
 * rekeying" after 500 records each way: its guard uses the protocol's
 * maxima, not its local knob.
 */
static void
test_rekey_settings_differ(void)
{
	bool north_lower = memcmp(north.k.id.link_pub, south.k.id.link_pub,
	    32) < 0;
	uint8_t rec[64];

	side_start(&north, &ag, 1, north_lower ? 0 : 50);
	side_start(&south, &ag, 1, north_lower ? 50 : 0);
	CHECK(run_until(both_up, 10000));
	CHECK(run_until(settled, 10000));
	north.downs = south.downs = 0;
	long long hn = handshakes(&north), hs = handshakes(&south);
	memset(rec, 0x5a, sizeof rec);
	for (int i = 0; i < 500; i++) {
		CHECK_INT(link_send(north.l, ag.id, 0, 0x20, rec, sizeof rec),
		    0);
		CHECK_INT(link_send(south.l, ag.id, 0, 0x20, rec, sizeof rec),
		    0);
		if (i % 50 == 0)
			run_until(got_1000, 20);
	}
	CHECK(run_until(got_1000, 10000));
	CHECK_INT(north.nrec, 500);
	CHECK_INT(south.nrec, 500);
	/* and a few heartbeats later still the same session */
	run_until(both_down, 2500);
	CHECK_INT(north.downs, 0);
	CHECK_INT(south.downs, 0);
	CHECK_INT(handshakes(&north), hn);
	CHECK_INT(handshakes(&south), hs);
	stop_both();
}

static struct side *ini;
static long long ini_rk;

static bool ini_rekeyed(void) { return rekeys(ini) > ini_rk; }
static struct side *rx_side;
static int rx_want;
static bool rx_all(void) { return rx_side->nrec >= rx_want; }

/*
 * A full output queue does not end the session at its next rekey: the
 * rekey's initiation is queued over out_max. The initiator (out_max
 * 64 KiB, rekey every second) fills its queue while the loop does not
 * run (nobody reads), right after a rekey; 1.2 s later the rekey is due,
 * and the first heartbeat tick starts it before the queue can drain. The
 * session must survive and the rekey complete. Heartbeats every 3 s, so
 * the pause is far from the silence limit.
 */
static void
test_rekey_with_full_queue(void)
{
	static uint8_t rec[4000];
	struct link_channel_status st;
	struct side *other;
	int r = 0, sent = 0;

	opt_out_max = 65536;
	opt_rekey_s = 1;
	opt_hb_ms = 3000;
	side_start(&north, &ag, 1, 0);
	side_start(&south, &ag, 1, 0);
	opt_out_max = 0;
	opt_rekey_s = opt_hb_ms = 0;
	CHECK(run_until(both_up, 10000));
	CHECK(run_until(settled, 10000));
	CHECK(link_channel_status(north.l, 0, &st) == 0);
	ini = st.paths[0].we_initiated ? &north : &south;
	other = ini == &north ? &south : &north;
	ini_rk = rekeys(ini);
	CHECK(run_until(ini_rekeyed, 5000));
	north.downs = south.downs = 0;
	ini_rk = rekeys(ini);
	while (sent < 20000 && (r = link_send(ini->l, ag.id, 0, 0x20, rec,
	    sizeof rec)) == 0)
		sent++;
	CHECK_INT(r, ERR_FULL);
	/* to the brim: empty records (21 bytes) until even those fail, so
	 * not even a 162-byte handshake frame fits under out_max */
	while (sent < 40000 && (r = link_send(ini->l, ag.id, 0, 0x20, NULL,
	    0)) == 0)
		sent++;
	CHECK_INT(r, ERR_FULL);
	usleep(1200000);
	CHECK(run_until(ini_rekeyed, 10000));
	rx_side = other;
	rx_want = sent;
	CHECK(run_until(rx_all, 20000));
	CHECK(run_until(both_down, 1000) == false);
	CHECK_INT(ini->downs, 0);
	CHECK_INT(other->downs, 0);
	CHECK_INT(other->nrec, sent);
	printf("  %d records queued before ERR_FULL; rekeyed after\n", sent);
	stop_both();
}

/*
 * Sends count toward the rekey point (link_send checks it): the initiator
 * (rekey_records 50) sends 120 records in one burst and the rekey starts
 * at once, not at the next heartbeat tick (heartbeats every 20 s here,
 * ticks every 5 s) nor on a record received (the peer sends none).
 */
static void
test_rekey_on_send(void)
{
	struct link_channel_status st;
	uint8_t rec[16] = { 0 };

	opt_hb_ms = 20000;
	side_start(&north, &ag, 1, 50);
	side_start(&south, &ag, 1, 50);
	opt_hb_ms = 0;
	CHECK(run_until(both_up, 10000));
	CHECK(run_until(settled, 10000));
	CHECK(link_channel_status(north.l, 0, &st) == 0);
	ini = st.paths[0].we_initiated ? &north : &south;
	ini_rk = rekeys(ini);
	for (int i = 0; i < 120; i++)
		CHECK_INT(link_send(ini->l, ag.id, 0, 0x20, rec, sizeof rec),
		    0);
	CHECK(run_until(ini_rekeyed, 2000));
	CHECK_INT(north.downs + south.downs, 0);
	stop_both();
}

/*
 * An idle session rekeys on time even when the heartbeat interval is
 * long: rekey_seconds 1, heartbeats every 40 s (a quarter: 10 s), no
 * traffic after the first ping and pong. The rekey must come within a
 * few seconds, not at the first heartbeat tick 10 s in. (With the
 * agreement's longest heartbeat, 3600 s, ticks came every 900 s: the
 * keys lived 900 s, over the protocol's 120 s, and the responder's
 * guard, LINK_GUARD_MS = 270 s, closed each idle session as "peer did
 * not rekey" before the initiator's tick came.)
 */
static void
test_rekey_on_time_long_heartbeat(void)
{
	struct link_channel_status st;

	opt_hb_ms = 40000;
	opt_rekey_s = 1;
	side_start(&north, &ag, 1, 0);
	side_start(&south, &ag, 1, 0);
	opt_hb_ms = 0;
	opt_rekey_s = 0;
	CHECK(run_until(both_up, 10000));
	CHECK(run_until(settled, 10000));
	CHECK(link_channel_status(north.l, 0, &st) == 0);
	ini = st.paths[0].we_initiated ? &north : &south;
	ini_rk = rekeys(ini);
	CHECK(run_until(ini_rekeyed, 7000));
	CHECK_INT(north.downs + south.downs, 0);
	stop_both();
}

/* Reads exactly n bytes from fd within 2 s; 0 or -1. */
static int
read_n(int fd, uint8_t *p, size_t n)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		if (poll(&pfd, 1, 2000) <= 0 ||
		    (r = read(fd, p + got, n - got)) <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

/* After the response, the fake writes one 100-byte record of type 0x20
 * a byte at a time, gap_ms apart: a slow path. */
static void
trickle(int fd, struct noise_cipher *snd, struct noise_cipher *rcv,
    int gap_ms)
{
	struct link_transport tr;
	uint8_t body[100], fr[2 + LINK_DATA_LEN(100)];
	size_t n;

	memset(body, 0x42, sizeof body);
	link_transport_init(&tr, snd, rcv, false, 0);
	if (link_transport_seal(&tr, 0x20, body, sizeof body, fr + 2,
	    sizeof fr - 2, &n) == 0) {
		fr[0] = (uint8_t)(n >> 8);
		fr[1] = (uint8_t)n;
		for (size_t i = 0; i < n + 2; i++) {
			if (write(fd, fr + i, 1) != 1)
				break;
			usleep((useconds_t)gap_ms * 1000);
		}
	}
	usleep(300000);
	link_transport_fini(&tr);
}

/*
 * A fake south in a child process, on south's path address for ms: it
 * answers each initiation with a valid response; then (gap_ms 0) closes
 * the connection at once, so each of north's sessions comes up and drops:
 * a flapping path; or trickles one record (trickle()) and closes. Returns
 * the child's pid.
 */
static pid_t
fake_south(int port, int ms, int gap_ms)
{
	struct sockaddr_in sa;
	struct pollfd pfd;
	uint8_t mk[32], init[2 + LINK_INIT_LEN], resp[2 + LINK_RESP_LEN];
	uint8_t ts[LINK_TS_LEN];
	struct link_hs_params hp;
	struct noise_handshake hs;
	struct noise_cipher snd, rcv;
	struct timespec t0, t1;
	int one = 1, lfd, fd;
	pid_t pid;

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	sa = loopback(port);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    listen(lfd, 16) != 0) {
		close(lfd);
		return -1;
	}
	if ((pid = fork()) != 0) {
		close(lfd);
		return pid;
	}
	south_hs_params(&hp, mk);
	pfd.fd = lfd;
	pfd.events = POLLIN;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if ((t1.tv_sec - t0.tv_sec) * 1000 +
		    (t1.tv_nsec - t0.tv_nsec) / 1000000 > ms)
			break;
		if (poll(&pfd, 1, 50) <= 0 || (fd = accept(lfd, NULL,
		    NULL)) < 0)
			continue;
		if (read_n(fd, init, sizeof init) == 0 &&
		    link_hs_read_init(&hs, &hp, init + 2, LINK_INIT_LEN,
		    ts) == 0 &&
		    link_hs_write_resp(&hs, &hp, resp + 2, &snd, &rcv) == 0) {
			resp[0] = 0;
			resp[1] = LINK_RESP_LEN;
			(void)!write(fd, resp, sizeof resp);
			if (gap_ms > 0)
				trickle(fd, &snd, &rcv, gap_ms);
			else {
				noise_cipher_fini(&snd);
				noise_cipher_fini(&rcv);
			}
		}
		close(fd);
	}
	_exit(0);
}

/*
 * A path whose sessions come up and drop at once is redialled with a
 * growing backoff, not at backoff_min every time: only a session that
 * stayed up 10 s resets it. backoff 50..500 ms: resetting each time would
 * give a session every ~40 ms (about 75 in 3 s); doubling gives about 10.
 */
static void
test_flapping_backoff(void)
{
	pid_t fake;
	int st = -1;

	fake = fake_south(base_port + 1, 3000, 0);
	CHECK(fake > 0);
	if (fake <= 0)
		return;
	side_start(&north, &ag, 1, 0);
	run_until(both_down, 3000);	/* never true: south is fake */
	printf("  flapping path: %d sessions in 3 s\n", north.ups);
	CHECK(north.ups >= 2);
	CHECK(north.ups <= 25);
	CHECK_INT(north.ups, north.downs);
	stop(&north);
	CHECK(waitpid(fake, &st, 0) == fake);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static bool north_got_1_or_down(void)
{
	return north.nrec >= 1 || north.downs >= 1;
}

/*
 * Silence is measured from the last byte, not the last whole frame: a
 * record that takes 3.6 s to arrive (a byte every 30 ms; heartbeat 1 s,
 * so two intervals of no complete frame) on a slow path must not end the
 * session; it is delivered intact.
 */
static void
test_slow_record_not_silence(void)
{
	pid_t fake;
	int st = -1;

	fake = fake_south(base_port + 1, 1000, 30);
	CHECK(fake > 0);
	if (fake <= 0)
		return;
	side_start(&north, &ag, 1, 0);
	CHECK(run_until(north_got_1_or_down, 15000));
	CHECK_INT(north.downs, 0);
	CHECK_INT(north.nrec, 1);
	CHECK_INT(north.last_len, 100);
	stop(&north);
	CHECK(waitpid(fake, &st, 0) == fake);
}

/*
 * An agreement valid from 2 s after the start until 5 s after: no session
 * before, the path comes up once it is valid (listeners opened then, dials
 * started) and goes down on both sides once it expires, without a restart.
 */
static void
test_validity_while_running(void)
{
	struct link_channel_status st;
	uint64_t now = (uint64_t)time(NULL);

	ag_timed = ag;
	for (int i = 0; i < 2; i++)
		snprintf(ag_timed.party[i].paths[0],
		    sizeof ag_timed.party[i].paths[0], "127.0.0.1:%d",
		    base_port + 2 + i);
	ag_timed.created = now - 60;
	ag_timed.not_before = now + 2;
	ag_timed.not_after = now + 5;
	ag_timed.is_signed[0] = ag_timed.is_signed[1] = false;
	CHECK_INT(agreement_finalize(&ag_timed), 0);
	CHECK_INT(agreement_sign(&ag_timed, &north.k), 0);
	CHECK_INT(agreement_sign(&ag_timed, &south.k), 0);
	side_start(&north, &ag_timed, 1, 0);
	side_start(&south, &ag_timed, 1, 0);
	CHECK(link_channel_status(south.l, 0, &st) == 0 &&
	    st.usable == ERR_NOT_YET_VALID);
	run_until(both_up, 1000);
	CHECK_INT(north.ups + south.ups, 0);
	CHECK(run_until(both_up, 15000));
	CHECK(run_until(both_down, 15000));
	CHECK(link_channel_status(south.l, 0, &st) == 0 &&
	    st.usable == ERR_EXPIRED);
	CHECK(time(NULL) >= (time_t)ag_timed.not_after);
	/* and it stays down */
	north.ups = south.ups = 0;
	run_until(both_up, 1500);
	CHECK_INT(north.ups + south.ups, 0);
	stop_both();
}

int
main(void)
{
	if (!link_api_begin("it_link_api", 28000, 28500))
		return 1;
	RUN(test_up);
	RUN(test_records);
	RUN(test_refusals);
	RUN(test_down);
	RUN(test_rekey_settings_differ);
	RUN(test_rekey_with_full_queue);
	RUN(test_flapping_backoff);
	RUN(test_rekey_on_send);
	RUN(test_rekey_on_time_long_heartbeat);
	RUN(test_slow_record_not_silence);
	RUN(test_validity_while_running);
	agreement_wipe(&ag_timed);
	return link_api_end();
}
