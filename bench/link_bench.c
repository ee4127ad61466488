/*
 * link_bench.c: what the link costs, measured on real parleyd processes
 * on loopback (ports 31500-31999, a free block: tests/integration/ports.h).
 * Prints numbers; judges nothing.
 *
 *  1. Handshakes per second accepted by one parleyd: this program plays
 *     the peer (north's keys), one new TCP connection and one full
 *     IKpsk2 handshake after another, each replacing the last session;
 *     the listener's cost includes mac1, two DHs... and the durable write
 *     of HOME/link.state for the replay timestamp.
 *  2. Rekeys per second between two parleyd (rekey_records = 1, TEST
 *     traffic): handshakes between two daemons on one live session. The
 *     protocol allows one per LINK_REKEY_MIN_MS (100 ms) a session
 *     (docs/link.md 5), so this shows that rate is reached (about 10 a
 *     second each side), no longer what a rekey costs: that is the cost
 *     of a handshake (1.), the same work.
 *  3. Memory of an idle session: RSS of parleyd before and after N
 *     sessions (N channels x 8 paths, this program as the peer), and the
 *     sizeof-based count of the structures a session holds.
 *  4. A flood of garbage connections: parleyd's CPU time and peak RSS
 *     over F connections of random bytes, F initiations with a bad mac1,
 *     F replays of one captured initiation (a valid mac1, an old
 *     timestamp: docs/link.md 3.3, refused before any Diffie-Hellman
 *     after the first), and F connections that send nothing (closed at
 *     the timeout).
 *
 * Usage: link_bench [seconds per rate measurement, default 2]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/hex.h"
#include "crypto/agreement.h"
#include "crypto/keys.h"
#include "ctl/ctl.h"
#include "link/handshake.h"
#include "link/link_int.h"
#include "../tests/integration/ports.h"
#include "../tests/integration/kill_pid.h"

#define NCHAN 64		/* channels for the idle-session measurement */
#define FLOOD 5000

static char tmpdir[] = "/tmp/parley-link-bench-XXXXXX";
static char build[1024] = "build";
static int port;
static struct keys kn, ks;
static pid_t kids[4];
static int nkids;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t
unix_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
rnd(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	randombytes_buf(buf, len);
}

static pid_t
spawn(const char *home)
{
	char bin[1100], logp[1300];
	pid_t pid;
	int fd;

	snprintf(bin, sizeof bin, "%s/parleyd", build);
	snprintf(logp, sizeof logp, "%s.log", home);
	if ((pid = fork()) == 0) {
		fd = open(logp, O_WRONLY | O_CREAT | O_APPEND, 0600);
		dup2(fd, 2);
		execl(bin, "parleyd", "--home", home, "--log-level", "warn",
		    (char *)NULL);
		_exit(127);
	}
	kids[nkids++] = pid;
	return pid;
}

static void
stop_all(void)
{
	for (int i = 0; i < nkids; i++) {
		kill_pid(kids[i], SIGTERM);
		waitpid(kids[i], NULL, 0);
	}
	nkids = 0;
}

/* VmRSS or VmHWM of pid, kB. */
static long
mem_kb(pid_t pid, const char *what)
{
	char path[64], line[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof line, f))
		if (strncmp(line, what, strlen(what)) == 0)
			v = atol(line + strlen(what) + 1);
	fclose(f);
	return v;
}

/* utime + stime of pid, seconds. */
static double
cpu_s(pid_t pid)
{
	char path[64], buf[2048], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	/* fields after ")": state(3) ... utime(14) stime(15) */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
	    &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static int
connect_port(int p)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)p);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool
wait_ctl(const char *home)
{
	for (int i = 0; i < 300; i++) {
		json_t *req = json_pack("{s:s}", "cmd", "status"), *resp;
		int r = ctl_call(home, req, &resp);
		json_decref(req);
		if (r == 0) {
			json_decref(resp);
			return true;
		}
		usleep(20000);
	}
	return false;
}

static int
make_agreement(struct agreement *a, int np, int base_n, int base_s, int hb)
{
	const struct keys *k[2] = { &kn, &ks };
	int r;

	agreement_defaults(a);
	for (int i = 0; i < 2; i++) {
		snprintf(a->party[i].name, sizeof a->party[i].name, "%s",
		    k[i]->id.name);
		memcpy(a->party[i].link_pub, k[i]->id.link_pub, 32);
		memcpy(a->party[i].sign_pub, k[i]->id.sign_pub, 32);
		for (int j = 0; j < np; j++)
			snprintf(a->party[i].paths[j], AGREEMENT_ADDR_MAX + 1,
			    "127.0.0.1:%d", i == 0 ? base_n + j : base_s);
	}
	a->npaths = (uint8_t)np;
	randombytes_buf(a->psk, 32);
	a->created = a->not_before = (uint64_t)time(NULL) - 60;
	a->not_after = a->created + 86400 * 30;
	a->heartbeat_s = (uint32_t)hb;
	if ((r = agreement_finalize(a)) != 0 || (r = agreement_sign(a, &kn)) ||
	    (r = agreement_sign(a, &ks)))
		return r;
	return 0;
}

/* One handshake as north on channel a, path p, on fd; 0 when answered. */
static int
handshake(int fd, const struct agreement *a, unsigned p)
{
	struct noise_handshake hs;
	struct link_hs_params hp;
	struct noise_cipher s, r;
	uint8_t m[2 + LINK_INIT_LEN], resp[2 + LINK_RESP_LEN], ts[12], mk[32];
	size_t got = 0;
	ssize_t n;
	int rc;

	link_mac1_key(mk, a->psk);
	memset(&hp, 0, sizeof hp);
	memcpy(hp.channel_id, a->id, 32);
	hp.path = (uint8_t)p;
	hp.local_priv = kn.link_priv;
	hp.peer_pub = ks.id.link_pub;
	hp.psk = a->psk;
	hp.mac1_key = mk;
	hp.random = rnd;
	link_ts_encode(ts, unix_ns());
	m[0] = 0;
	m[1] = LINK_INIT_LEN;
	if (link_hs_write_init(&hs, &hp, ts, m + 2) != 0)
		return -1;
	if (write(fd, m, sizeof m) != (ssize_t)sizeof m) {
		noise_handshake_fini(&hs);
		return -1;
	}
	while (got < sizeof resp) {
		n = read(fd, resp + got, sizeof resp - got);
		if (n <= 0) {
			noise_handshake_fini(&hs);
			return -1;
		}
		got += (size_t)n;
	}
	rc = link_hs_read_resp(&hs, &hp, resp + 2, LINK_RESP_LEN, &s, &r);
	noise_cipher_fini(&s);
	noise_cipher_fini(&r);
	return rc;
}

static void
bench_accept_rate(const char *home_s, const struct agreement *a, double secs)
{
	pid_t pid = spawn(home_s);
	double t0, c0, el;
	long n = 0, fails = 0;

	if (!wait_ctl(home_s)) {
		printf("parleyd did not start\n");
		return;
	}
	c0 = cpu_s(pid);
	t0 = now();
	while ((el = now() - t0) < secs) {
		int fd = connect_port(port);
		if (fd < 0 || handshake(fd, a, 0) != 0)
			fails++;
		else
			n++;
		if (fd >= 0)
			close(fd);
	}
	printf("handshakes accepted by parleyd (new TCP connection each, "
	    "one client):\n  %.0f /s over %.1f s (%ld failed), listener CPU "
	    "%.0f us per handshake\n", (double)n / el, el, fails,
	    (cpu_s(pid) - c0) * 1e6 / (double)(n ? n : 1));
	stop_all();
}

static long long
rekeys(const char *home, const struct agreement *a)
{
	char id[65];
	json_t *req = json_pack("{s:s}", "cmd", "status"), *resp = NULL, *c;
	long long v = -1;
	size_t i;

	hex_encode(id, a->id, 32);
	if (ctl_call(home, req, &resp) == 0)
		json_array_foreach(json_object_get(json_object_get(resp,
		    "result"), "channels"), i, c)
			if (strcmp(json_string_value(json_object_get(c, "id")),
			    id) == 0)
				v = json_integer_value(json_object_get(
				    json_array_get(json_object_get(c, "paths"),
				    0), "rekeys"));
	json_decref(req);
	json_decref(resp);
	return v;
}

static void
bench_rekey_rate(const char *hn, const char *hs, const struct agreement *a,
    double secs)
{
	char id[65];
	double t0, el;
	long long r0;
	json_t *req, *resp;

	spawn(hn);
	spawn(hs);
	if (!wait_ctl(hn) || !wait_ctl(hs)) {
		printf("parleyd did not start\n");
		stop_all();
		return;
	}
	for (int i = 0; i < 100 && rekeys(hn, a) < 0; i++)
		usleep(50000);
	usleep(500000);
	hex_encode(id, a->id, 32);
	r0 = rekeys(hn, a) + rekeys(hs, a);
	t0 = now();
	while ((el = now() - t0) < secs) {
		req = json_pack("{s:s, s:s, s:i, s:i}", "cmd", "link-test",
		    "channel", id, "path", 0, "count", 20);
		if (ctl_call(hn, req, &resp) == 0)
			json_decref(resp);
		if (ctl_call(hs, req, &resp) == 0)
			json_decref(resp);
		json_decref(req);
		usleep(1000);
	}
	printf("rekeys between two parleyd on one session (rekey_records 1, "
	    "TEST traffic; the protocol's cap: 10 /s each side):\n"
	    "  %.0f /s\n",
	    (double)(rekeys(hn, a) + rekeys(hs, a) - r0) / el);
	stop_all();
}

/* Opens sessions on channels [c0, c1), all 8 paths; returns how many. */
static int
open_sessions(struct agreement *ags, int c0, int c1, int *fds, int n)
{
	for (int c = c0; c < c1; c++)
		for (unsigned p = 0; p < 8; p++) {
			int fd = connect_port(port);
			if (fd >= 0 && handshake(fd, &ags[c], p) == 0)
				fds[n++] = fd;
			else if (fd >= 0)
				close(fd);
		}
	return n;
}

/* The first half of the sessions fills what the heap already had free;
 * the second half shows the marginal cost. */
static void
bench_idle_memory(const char *home, struct agreement *ags)
{
	pid_t pid = spawn(home);
	int fds[NCHAN * 8], n = 0, half;
	long r0, r1, r2;

	if (!wait_ctl(home)) {
		printf("parleyd did not start\n");
		return;
	}
	usleep(300000);
	r0 = mem_kb(pid, "VmRSS:");
	n = open_sessions(ags, 0, NCHAN / 2, fds, 0);
	half = n;
	usleep(300000);
	r1 = mem_kb(pid, "VmRSS:");
	n = open_sessions(ags, NCHAN / 2, NCHAN, fds, n);
	usleep(300000);
	r2 = mem_kb(pid, "VmRSS:");
	printf("idle sessions: %d up; parleyd RSS %ld kB, %ld kB after %d, "
	    "%ld kB after %d:\n  %.0f bytes per session (marginal, second "
	    "half)\n", n, r0, r1, half, r2, n,
	    n > half ? (double)(r2 - r1) * 1024.0 / (n - half) : 0.0);
	printf("  by sizeof: link_conn %zu + link_transport %zu bytes, plus "
	    "2 libevent events and an evbuffer (~400 bytes); kernel socket "
	    "buffers not counted\n", sizeof(struct link_conn),
	    sizeof(struct link_transport));
	for (int i = 0; i < n; i++)
		close(fds[i]);
	stop_all();
}

static void
flood_one(pid_t pid, const char *what, const uint8_t *msg, size_t len,
    bool wait_close)
{
	double c0 = cpu_s(pid), t0 = now(), el;
	long h0 = mem_kb(pid, "VmHWM:"), r0 = mem_kb(pid, "VmRSS:");
	uint8_t b[64];

	for (int i = 0; i < FLOOD; i++) {
		int fd = connect_port(port);
		if (fd < 0)
			continue;
		if (len)
			(void)!write(fd, msg, len);
		if (wait_close)
			while (read(fd, b, sizeof b) > 0)
				;
		close(fd);
	}
	el = now() - t0;
	printf("  %-34s %5d conns in %.2f s: listener CPU %.1f us/conn, RSS "
	    "%ld -> %ld kB (peak %ld -> %ld kB)\n", what, FLOOD, el,
	    (cpu_s(pid) - c0) * 1e6 / FLOOD, r0, mem_kb(pid, "VmRSS:"), h0,
	    mem_kb(pid, "VmHWM:"));
}

static void
bench_flood(const char *home, const struct agreement *a)
{
	pid_t pid = spawn(home);
	uint8_t junk[2 + LINK_INIT_LEN];
	struct noise_handshake hs;
	struct link_hs_params hp;
	uint8_t ts[12], mk[32], idle_fds_ok = 0;
	int fds[8];
	double c0;

	if (!wait_ctl(home)) {
		printf("parleyd did not start\n");
		return;
	}
	printf("garbage flood at the listener (one source, connections one "
	    "after another, parleyd logging at warn to a file):\n");
	randombytes_buf(junk, sizeof junk);
	junk[0] = 0x12;
	flood_one(pid, "random bytes (bad length)", junk, sizeof junk, true);
	/* right length and channel, bad mac1: costs a keyed hash */
	link_mac1_key(mk, a->psk);
	memset(&hp, 0, sizeof hp);
	memcpy(hp.channel_id, a->id, 32);
	hp.local_priv = kn.link_priv;
	hp.peer_pub = ks.id.link_pub;
	hp.psk = a->psk;
	hp.mac1_key = mk;
	hp.random = rnd;
	/* a captured initiation, older than any accepted: a valid mac1 */
	link_ts_encode(ts, unix_ns() - 3600000000000u);
	junk[0] = 0;
	junk[1] = LINK_INIT_LEN;
	if (link_hs_write_init(&hs, &hp, ts, junk + 2) == 0)
		noise_handshake_fini(&hs);
	flood_one(pid, "one captured initiation replayed", junk, sizeof junk,
	    true);
	junk[sizeof junk - 1] ^= 1;
	flood_one(pid, "initiations with a bad mac1", junk, sizeof junk, true);
	/* idle connections: held open, 8 at a time (the per-source cap) */
	c0 = cpu_s(pid);
	long r0 = mem_kb(pid, "VmRSS:");
	for (int i = 0; i < 8; i++)
		if ((fds[i] = connect_port(port)) >= 0)
			idle_fds_ok++;
	usleep(200000);
	printf("  %-34s %d held: RSS %ld -> %ld kB; closed by parleyd at "
	    "the handshake timeout\n", "silent connections", idle_fds_ok, r0,
	    mem_kb(pid, "VmRSS:"));
	for (int i = 0; i < 8; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	(void)c0;
	printf("  by sizeof: a pending connection holds link_conn (%zu bytes, "
	    "with its %d-byte frame buffer) and one libevent event\n",
	    sizeof(struct link_conn), LINK_INIT_LEN);
	stop_all();
}

static int
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	fputs(text, f);
	return fclose(f);
}

int
main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 2.0;
	const char *b = getenv("BUILD");
	char hn[1200], hs[1200], hm[1200], path[1300], cmd[2600];
	static struct agreement ags[NCHAN], one;

	if (sodium_init() < 0 || mkdtemp(tmpdir) == NULL)
		return 1;
	if (b && *b)
		snprintf(build, sizeof build, "%s", b);
	signal(SIGPIPE, SIG_IGN);
	if ((port = ports_pick(31500, 32000, 3)) < 0) {
		printf("link_bench: no free block of 3 ports in 31500-31999\n");
		return 1;
	}
	snprintf(hn, sizeof hn, "%s/north", tmpdir);
	snprintf(hs, sizeof hs, "%s/south", tmpdir);
	snprintf(hm, sizeof hm, "%s/south-many", tmpdir);
	if (keys_create(hn, "north") || keys_load(&kn, hn) ||
	    keys_create(hs, "south") || keys_load(&ks, hs)) {
		printf("setup failed\n");
		return 1;
	}
	/* south-many: a copy of south's keys with NCHAN 8-path channels */
	snprintf(cmd, sizeof cmd, "cp -a %s %s", hs, hm);
	if (system(cmd) != 0)
		return 1;
	if (make_agreement(&one, 1, port + 1, port, 1) != 0 ||
	    agreement_install(hn, &one) || agreement_install(hs, &one))
		return 1;
	snprintf(path, sizeof path, "%s/parleyd.conf", hs);
	write_file(path, "{\"rekey_records\": 1, \"backoff_max_ms\": 2000}");
	snprintf(path, sizeof path, "%s/parleyd.conf", hn);
	write_file(path, "{\"rekey_records\": 1}");
	for (int c = 0; c < NCHAN; c++)
		if (make_agreement(&ags[c], 8, port + 2, port, 3600) != 0 ||
		    agreement_install(hm, &ags[c]) != 0)
			return 1;
	snprintf(path, sizeof path, "%s/parleyd.conf", hm);
	write_file(path, "{\"backoff_min_ms\": 60000, \"backoff_max_ms\": "
	    "600000}");
	printf("link_bench: loopback, port %d\n", port);
	bench_accept_rate(hs, &one, secs);
	bench_rekey_rate(hn, hs, &one, secs);
	bench_idle_memory(hm, ags);
	bench_flood(hs, &one);
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
	(void)!system(cmd);
	keys_fini(&kn);
	keys_fini(&ks);
	return 0;
}
