/*
 * it_link_strangers.c: strangers and garbage at a real parleyd on
 * loopback (the homes and agreements of link_nodes.h; north and south
 * started and up before the first test, as in it_link.c). Wrong static
 * key, wrong PSK, another channel's agreement, an unknown channel, a
 * replayed initiation, a bad MAC, a truncated frame, random bytes, an
 * oversized length, silence: each ends with no session, no answer and a
 * clear log line at the listener, while the good peer stays up; strangers
 * filling the pending cap of the peer's own address, or the global cap
 * from several addresses, do not lock the real peer out (the oldest
 * pending one is evicted); a flood of garbage does not flood the log; the
 * timestamps survive restarts (a clock stepped back is not locked out, a
 * replay stays one). Both daemons must stop cleanly at the end.
 *
 * Ports: 127.0.0.1, 24000-27999, a free block of 20 (ports.h). Kills
 * only its own children; removes its temporary directory; bounded by an
 * alarm.
 */
#include "link_nodes.h"

static uint8_t replay_msg[2 + LINK_INIT_LEN];	/* accepted once by south */
static uint64_t replay_ns;

/* A boolean field of path p: 1, 0, or -1 when absent. */
static int
path_bool(const char *home, unsigned p, const char *field)
{
	json_t *st = status(home), *v;
	int r = -1;

	if (st && ns_path(st, p) &&
	    json_is_boolean(v = json_object_get(ns_path(st, p), field)))
		r = json_is_true(v);
	json_decref(st);
	return r;
}

/* --- the program's start and end --------------------------------------- */

/* Both daemons started, both paths up on both sides, as it_link's
 * test_both_paths_up leaves them (these tests ran after it); false when
 * they do not come up. */
static bool
start_both(void)
{
	pid_n = spawn(home_n, log_n);
	pid_s = spawn(home_s, log_s);
	if (!wait_status(home_n, 5000) || !wait_status(home_s, 5000) ||
	    wait_up(home_n, 2, 10000) < 0 || wait_up(home_s, 2, 10000) < 0)
		return false;
	return true;
}

/* Both daemons run and stop cleanly on SIGTERM (exit 0: under make asan,
 * no leak report either, as it_link's test_sigterm checks there) and
 * neither log holds a sanitizer's report; else the program fails. */
static void
stop_both_clean(void)
{
	pid_t *pids[2] = { &pid_n, &pid_s };
	const char *homes[2] = { home_n, home_s }, *logs[2] = { log_n, log_s };

	for (int i = 0; i < 2; i++) {
		if (*pids[i] <= 0 || !stop_clean(pids[i], homes[i])) {
			printf("FAIL %s did not stop cleanly on SIGTERM\n",
			    i ? "south" : "north");
			harness_failed++;
		}
		if (log_has(logs[i], "Sanitizer", NULL) ||
		    log_has(logs[i], "runtime error", NULL)) {
			printf("FAIL %s holds a sanitizer's report\n",
			    logs[i]);
			harness_failed++;
		}
	}
}

/* --- raw connections ------------------------------------------------------ */

static int
raw_connect(int port, int *local_port)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	getsockname(fd, (struct sockaddr *)&sa, &sl);
	*local_port = ntohs(sa.sin_port);
	return fd;
}

/* Reads until EOF within ms; returns the bytes received (0: closed with
 * no answer), or -1 when the connection is still open. */
static int
drain(int fd, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	uint8_t buf[512];
	int total = 0;
	ssize_t n;
	uint64_t t0 = now_ms();

	while (now_ms() - t0 < (uint64_t)ms) {
		if (poll(&pfd, 1, 50) <= 0)
			continue;
		n = read(fd, buf, sizeof buf);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return total;
		if (n > 0)
			total += (int)n;
	}
	return -1;
}

static void
noise_rand(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	randombytes_buf(buf, len);
}

/* An initiation for channel a, path p, from priv to peer_pub, with psk. */
static void
make_init(uint8_t out[2 + LINK_INIT_LEN], const struct agreement *a,
    unsigned p, const uint8_t *priv, const uint8_t *peer_pub,
    const uint8_t *psk, uint64_t ts_ns)
{
	struct noise_handshake hs;
	struct link_hs_params hp;
	uint8_t ts[LINK_TS_LEN], mk[32];

	link_mac1_key(mk, psk);
	memset(&hp, 0, sizeof hp);
	memcpy(hp.channel_id, a->id, LINK_ID_LEN);
	hp.path = (uint8_t)p;
	hp.local_priv = priv;
	hp.peer_pub = peer_pub;
	hp.psk = psk;
	hp.mac1_key = mk;
	hp.random = noise_rand;
	link_ts_encode(ts, ts_ns);
	out[0] = 0;
	out[1] = LINK_INIT_LEN;
	if (link_hs_write_init(&hs, &hp, ts, out + 2) != 0)
		memset(out + 2, 0, LINK_INIT_LEN);
	noise_handshake_fini(&hs);
}

static uint64_t
unix_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Sends bytes to south's path-0 port and checks: no answer, closed, and
 * a log line naming our source port and why. */
static void
expect_refused(const uint8_t *msg, size_t len, bool then_close,
    const char *why, int port)
{
	char src[64];
	int lp, fd, got;

	fd = raw_connect(port, &lp);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	if (len > 0)
		CHECK_INT(write(fd, msg, len), (long long)len);
	if (then_close)
		shutdown(fd, SHUT_WR);
	got = drain(fd, 3000);
	CHECK_INT(got, 0);	/* closed, and not a byte of answer */
	close(fd);
	snprintf(src, sizeof src, "from 127.0.0.1:%d refused", lp);
	CHECK(wait_log(log_s, src, why, 2000));
}

static void
test_strangers(void)
{
	uint8_t m[2 + LINK_INIT_LEN], bad_psk[32], junk[300];
	const uint8_t *npub = ag_ns.party[0].link_pub;
	const uint8_t *spub = ag_ns.party[1].link_pub;
	int port = port_base + 2;
	long long before;

	before = path_int(home_s, 0, "handshakes");
	/* wrong static key: isle's, with the right channel and PSK */
	make_init(m, &ag_ns, 0, k_i.link_priv, spub, ag_ns.psk, unix_ns());
	expect_refused(m, sizeof m, false, "unknown static key", port);
	/* wrong PSK: mac1 fails before any DH */
	memcpy(bad_psk, ag_ns.psk, 32);
	bad_psk[0] ^= 1;
	make_init(m, &ag_ns, 0, k_n.link_priv, spub, bad_psk, unix_ns());
	expect_refused(m, sizeof m, false, "bad mac1 for channel", port);
	/* another channel's agreement: isle's PSK for south, on north-south */
	make_init(m, &ag_ns, 0, k_i.link_priv, spub, ag_is.psk, unix_ns());
	expect_refused(m, sizeof m, false, "bad mac1 for channel", port);
	/* a channel south does not have */
	make_init(m, &ag_in, 0, k_i.link_priv, npub, ag_in.psk, unix_ns());
	expect_refused(m, sizeof m, false, "unknown channel", port);
	/* a bad MAC on an otherwise valid initiation */
	make_init(m, &ag_ns, 0, k_n.link_priv, spub, ag_ns.psk, unix_ns());
	m[sizeof m - 1] ^= 0x40;
	expect_refused(m, sizeof m, false, "bad mac1 for channel", port);
	/* a truncated frame */
	make_init(m, &ag_ns, 0, k_n.link_priv, spub, ag_ns.psk, unix_ns());
	expect_refused(m, 60, true, "truncated frame", port);
	/* random bytes (first two never a valid 160) */
	randombytes_buf(junk, sizeof junk);
	junk[0] = 0x9c;
	expect_refused(junk, sizeof junk, false, "bad frame length", port);
	/* an oversized length */
	junk[0] = 0xff;
	junk[1] = 0xff;
	expect_refused(junk, sizeof junk, false, "(oversized)", port);
	/* a connection that sends nothing: closed after the timeout */
	expect_refused(NULL, 0, false, "no valid initiation within 1000 ms",
	    port);
	/* no garbage made or broke a session */
	CHECK_INT(path_int(home_s, 0, "handshakes"), before);
	CHECK_INT(paths_up(home_s), 2);
	CHECK_INT(paths_up(home_n), 2);
}

/* Sends the initiation m (2 + LINK_INIT_LEN bytes) to south's path 1
 * from a new connection (its local port in *lp) and checks that a whole
 * response comes back within ms. */
static void
init_answered(const uint8_t *m, int ms, int *lp)
{
	uint8_t resp[2 + LINK_RESP_LEN];
	struct pollfd pfd;
	int fd, got = 0;
	ssize_t n;

	fd = raw_connect(port_base + 3, lp);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK_INT(write(fd, m, 2 + LINK_INIT_LEN), 2 + LINK_INIT_LEN);
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (got < (int)sizeof resp && poll(&pfd, 1, ms) > 0) {
		n = read(fd, resp + got, sizeof resp - (size_t)got);
		if (n <= 0)
			break;
		got += (int)n;
	}
	CHECK_INT(got, (int)sizeof resp);
	CHECK_INT(resp[2], LINK_TYPE_RESP);
	close(fd);
}

/* A valid initiation (made with north's key) is accepted once; the same
 * bytes again are a replay. The real north comes back after. */
static void
test_replay(void)
{
	uint8_t m[2 + LINK_INIT_LEN];
	int lp;
	long long hs;

	replay_ns = unix_ns();
	make_init(m, &ag_ns, 1, k_n.link_priv, ag_ns.party[1].link_pub,
	    ag_ns.psk, replay_ns);
	memcpy(replay_msg, m, sizeof m);
	hs = path_int(home_s, 1, "handshakes");
	init_answered(m, 3000, &lp);		/* the first one is answered */
	CHECK(path_int(home_s, 1, "handshakes") > hs);
	expect_refused(m, sizeof m, false, "replayed initiation",
	    port_base + 3);
	/* the good peer is back on path 1 */
	CHECK(wait_up(home_s, 2, 10000) >= 0);
	CHECK(wait_up(home_n, 2, 10000) >= 0);
}

/*
 * A stranger that shares the real peer's source (a NAT, a shared IPv6
 * /64; here 127.0.0.1, north's own) holds that source's 8 pending slots
 * (the per-source cap) with idle connections. A newcomer from the source
 * evicts the source's oldest pending handshake instead of being refused,
 * so a valid initiation (north's key) from it is still answered; the
 * oldest stranger is the one closed. Before, the newcomer was refused at
 * accept: 8 idle connections, renewed every handshake timeout, kept the
 * peer from ever starting a session from that address.
 */
static void
test_per_source_cap(void)
{
	uint8_t m[2 + LINK_INIT_LEN];
	int fds[8], lp;
	char want[64];

	usleep(1100000);	/* a fresh refusal-log window */
	for (int i = 0; i < 8; i++)
		fds[i] = raw_connect(port_base + 3, &lp);
	usleep(200000);
	make_init(m, &ag_ns, 1, k_n.link_priv, ag_ns.party[1].link_pub,
	    ag_ns.psk, unix_ns());
	init_answered(m, 5000, &lp);
	snprintf(want, sizeof want, "evicted for 127.0.0.1:%d", lp);
	CHECK(wait_log(log_s, want, "per-source cap", 3000));
	/* the oldest stranger is the one that made room */
	if (fds[0] >= 0)
		CHECK_INT(drain(fds[0], 3000), 0);
	for (int i = 0; i < 8; i++) {
		CHECK(fds[i] >= 0);
		if (fds[i] >= 0)
			close(fds[i]);
	}
	/* the real north is back on path 1 */
	CHECK(wait_up(home_s, 2, 10000) >= 0);
	CHECK(wait_up(home_n, 2, 10000) >= 0);
}

/* A connection to 127.0.0.1:port from the loopback address src. */
static int
raw_connect_from(const char *src, int port)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	inet_pton(AF_INET, src, &sa.sin_addr);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		close(fd);
		return -1;
	}
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Strangers from two addresses (8 each, the per-source cap) hold all 16
 * pending slots (pending_max 16 in this test's parleyd.conf). A newcomer
 * evicts the oldest pending handshake instead of being refused, so a
 * valid initiation (north's key) from a third address is still answered.
 * Accepts are FIFO, so the strangers are pending before it arrives.
 */
static void
test_global_cap(void)
{
	const char *srcs[2] = { "127.0.0.2", "127.0.0.3" };
	uint8_t m[2 + LINK_INIT_LEN];
	char want[64];
	int fds[16], lp;

	usleep(1100000);	/* a fresh refusal-log window */
	for (int i = 0; i < 16; i++) {
		fds[i] = raw_connect_from(srcs[i / 8], port_base + 3);
		CHECK(fds[i] >= 0);
	}
	make_init(m, &ag_ns, 1, k_n.link_priv, ag_ns.party[1].link_pub,
	    ag_ns.psk, unix_ns());
	init_answered(m, 5000, &lp);
	snprintf(want, sizeof want, "evicted for 127.0.0.1:%d", lp);
	CHECK(wait_log(log_s, want, "global cap", 3000));
	/* the oldest stranger is the one that made room */
	if (fds[0] >= 0)
		CHECK_INT(drain(fds[0], 3000), 0);
	for (int i = 0; i < 16; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	/* the real north is back on path 1 */
	CHECK(wait_up(home_s, 2, 10000) >= 0);
	CHECK(wait_up(home_n, 2, 10000) >= 0);
}

/* A flood of garbage does not flood the log: at most 20 refusal lines a
 * second, then one line that counts the rest; the good peer stays up. */
static void
test_log_flood(void)
{
	uint8_t junk[8] = { 0xff, 0xff };
	int lp, fd;

	usleep(1100000);	/* a fresh window */
	for (int i = 0; i < 60; i++) {
		fd = raw_connect(port_base + 2, &lp);
		if (fd < 0)
			continue;
		(void)!write(fd, junk, sizeof junk);
		CHECK_INT(drain(fd, 2000), 0);
		close(fd);
	}
	usleep(1100000);
	expect_refused(junk, sizeof junk, false, "(oversized)",
	    port_base + 2);
	CHECK(wait_log(log_s, "more connections refused without a log line",
	    NULL, 2000));
	CHECK_INT(paths_up(home_s), 2);
}

/* Sets (or reads, when hex is NULL) field of path p of the north-south
 * channel in HOME/link.state; returns the value read, malloc'd. */
static char *
state_field(const char *home, unsigned p, const char *field,
    const char *hex)
{
	char path[1300], id[2 * AGREEMENT_ID_LEN + 1], *out = NULL;
	json_t *root, *e;
	json_error_t je;
	size_t i;

	snprintf(path, sizeof path, "%s/link.state", home);
	hex_encode(id, ag_ns.id, AGREEMENT_ID_LEN);
	if ((root = json_load_file(path, 0, &je)) == NULL)
		return NULL;
	json_array_foreach(json_object_get(root, "paths"), i, e) {
		if (strcmp(json_string_value(json_object_get(e, "channel")),
		    id) != 0 || json_integer_value(json_object_get(e,
		    "path")) != p)
			continue;
		if (hex)
			json_object_set_new(e, field, json_string(hex));
		else
			out = strdup(json_string_value(json_object_get(e,
			    field)));
	}
	if (hex) {
		json_dump_file(root, path, 0);
		chmod(path, 0600);
	}
	json_decref(root);
	return out;
}

/*
 * The timestamps survive restarts. North's clock "steps back": its state
 * says it last sent, and south last accepted, a timestamp one day ahead;
 * north must send newer ones (last + 1 ns), not be locked out. North
 * listens where south does not dial, so only north's initiations count.
 * And the initiation south accepted in test_replay is still a replay
 * after south's restart.
 */
static void
test_clock_stepped_back(void)
{
	uint8_t ts[LINK_TS_LEN];
	char future[2 * LINK_TS_LEN + 1], lconf[512], *got;

	CHECK(stop_clean(&pid_n, home_n));
	CHECK(stop_clean(&pid_s, home_s));
	link_ts_encode(ts, unix_ns() + 86400ull * 1000000000ull);
	hex_encode(future, ts, LINK_TS_LEN);
	for (unsigned p = 0; p < 2; p++) {
		free(state_field(home_n, p, "sent", future));
		free(state_field(home_s, p, "accepted", future));
	}
	snprintf(lconf, sizeof lconf, "{\"rekey_records\": 50, "
	    "\"handshake_timeout_ms\": 1000, \"backoff_min_ms\": 100, "
	    "\"backoff_max_ms\": 1000, \"listen\": [\"127.0.0.1:%d\"]}",
	    port_base + 7);
	CHECK_INT(write_conf(home_n, lconf), 0);
	pid_s = spawn(home_s, log_s);
	CHECK(wait_status(home_s, 5000));
	/* south's accepted timestamp came back from its file */
	expect_refused(replay_msg, sizeof replay_msg, false,
	    "replayed initiation", port_base + 3);
	pid_n = spawn(home_n, log_n);
	CHECK(wait_status(home_n, 5000));
	CHECK(wait_up(home_s, 2, 10000) >= 0);
	for (unsigned p = 0; p < 2; p++) {
		CHECK_INT(path_bool(home_s, p, "we_initiated"), 0);
		CHECK_INT(path_bool(home_n, p, "we_initiated"), 1);
		got = state_field(home_s, p, "accepted", NULL);
		CHECK(got && strcmp(got, future) > 0);
		free(got);
		got = state_field(home_n, p, "sent", NULL);
		CHECK(got && strcmp(got, future) > 0);
		free(got);
	}
	CHECK_INT(write_conf(home_n, conf), 0);
}

int
main(void)
{
	if (!link_nodes_begin("it_link_strangers", 24000, 28000,
	    "/tmp/parley-it-link-strangers-XXXXXX"))
		return 1;
	if (!start_both()) {
		printf("FAIL the daemons did not come up\n");
		harness_failed++;
		return link_nodes_end();
	}
	RUN(test_strangers);
	RUN(test_replay);
	RUN(test_per_source_cap);
	RUN(test_global_cap);
	RUN(test_log_flood);
	RUN(test_clock_stepped_back);
	stop_both_clean();
	return link_nodes_end();
}
