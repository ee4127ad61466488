/*
 * it_dns.c: dials to host names, between real parleyd processes on
 * loopback, with a fake DNS server in this program (a thread: UDP on
 * 127.0.0.1) that parleyd uses through its test hook PARLEY_NAMESERVER
 * (docs/link.md, section 1). The server answers A queries for south.test
 * with 127.0.0.2 (nothing listens there) and 127.0.0.1 (AAAA: no
 * address), answers gone.test with NXDOMAIN, and never answers slow.test.
 *
 * North's path to south is "south.test:PORT", and south cannot dial north
 * (north listens elsewhere), so the session exists only if north looked
 * the name up through the configured nameserver. North also has a channel
 * to isle (never running) with paths "slow.test:PORT" and
 * "gone.test:PORT". Checks: the session to south.test comes up and a
 * message is delivered; while the slow.test lookup is pending (its query
 * seen by the server, unanswered) north answers `status` at once, with
 * that path down; the lookup ends (a new query comes after the 10 s bound)
 * without a restart; the failing gone.test lookup is logged once, not at
 * every redial; SIGTERM with a lookup pending stops cleanly (exit 0); a
 * bad PARLEY_NAMESERVER value is logged once, not at every redial.
 *
 * Ports: 127.0.0.1, 30000-30999, a free block of 8, TCP and UDP (ports.h;
 * the fake DNS server takes the last for UDP). Kills only
 * its own children; removes its temporary directory; bounded by an alarm.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../harness.h"
#include "ports.h"
#include "base/hex.h"
#include "crypto/agreement.h"
#include "crypto/keys.h"
#include "ctl/ctl.h"

#include "daemon_util.h"

#define TIME_LIMIT_S 150

static char tmpdir[] = "/tmp/parley-it-dns-XXXXXX";
static int port_base, dns_port;
static char home_n[1200], home_s[1200], home_i[1200];
static char log_n[1300], log_s[1300];
static pid_t pid_n = -1, pid_s = -1;
static struct agreement ag_ns, ag_ni;
static struct keys k_n, k_s, k_i;

/* --- the fake DNS server --------------------------------------------- */

enum { NAME_SOUTH, NAME_SLOW, NAME_GONE, NAME_OTHER, NNAMES };
static const char *dns_names[NNAMES] = { "south.test", "slow.test",
    "gone.test", NULL };

#define MAX_IDS 64
static pthread_mutex_t dns_mu = PTHREAD_MUTEX_INITIALIZER;
static uint16_t dns_ids[NNAMES][MAX_IDS];	/* distinct A query ids */
static int dns_nids[NNAMES];
static volatile int dns_stop;
static int dns_fd = -1;

/* Distinct A queries (lookups; a retransmission keeps its id) so far. */
static int
lookups(int name)
{
	int n;

	pthread_mutex_lock(&dns_mu);
	n = dns_nids[name];
	pthread_mutex_unlock(&dns_mu);
	return n;
}

static void
note_query(int name, uint16_t id)
{
	pthread_mutex_lock(&dns_mu);
	for (int i = 0; i < dns_nids[name]; i++)
		if (dns_ids[name][i] == id)
			goto out;
	if (dns_nids[name] < MAX_IDS)
		dns_ids[name][dns_nids[name]++] = id;
out:
	pthread_mutex_unlock(&dns_mu);
}

/* One query in q (n bytes): the answer's length in a, or 0 for none. */
static size_t
dns_answer(const uint8_t *q, size_t n, uint8_t *a, size_t cap)
{
	char name[256];
	size_t i = 12, nl = 0, qend;
	uint16_t qtype;
	int which = NAME_OTHER;

	if (n < 12 || (q[2] & 0x80) || q[4] != 0 || q[5] != 1)
		return 0;
	while (i < n && q[i] != 0) {
		size_t l = q[i++];
		if (l > 63 || i + l > n || nl + l + 1 >= sizeof name)
			return 0;
		if (nl > 0)
			name[nl++] = '.';
		for (size_t k = 0; k < l; k++)	/* evdns mixes the case */
			name[nl++] = (char)tolower(q[i + k]);
		i += l;
	}
	name[nl] = '\0';
	if (i + 5 > n)
		return 0;
	qtype = (uint16_t)(q[i + 1] << 8 | q[i + 2]);
	qend = i + 5;
	for (int k = 0; k < NAME_OTHER; k++)
		if (strcmp(name, dns_names[k]) == 0)
			which = k;
	if (qtype == 1)
		note_query(which, (uint16_t)(q[0] << 8 | q[1]));
	if (which == NAME_SLOW || qend + 32 > cap)
		return 0;
	memcpy(a, q, qend);		/* id, then the question as asked */
	a[2] = 0x84 | (q[2] & 0x01);	/* response, authoritative, RD */
	a[3] = 0x80;			/* RA, NOERROR */
	a[6] = a[7] = a[8] = a[9] = a[10] = a[11] = 0;
	if (which != NAME_SOUTH) {
		a[3] |= 3;		/* NXDOMAIN */
		return qend;
	}
	if (qtype != 1)
		return qend;		/* no AAAA: no address, no error */
	/* two addresses: 127.0.0.2 first, where nothing listens (a dial
	 * there is refused), then 127.0.0.1, where south does */
	a[7] = 2;
	memcpy(a + qend, "\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x00\x00\x04"
	    "\x7f\x00\x00\x02", 16);
	memcpy(a + qend + 16, "\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x00\x00"
	    "\x04\x7f\x00\x00\x01", 16);
	return qend + 32;
}

static void *
dns_serve(void *arg)
{
	struct pollfd pfd = { .fd = dns_fd, .events = POLLIN };
	uint8_t q[512], a[600];
	struct sockaddr_in from;
	socklen_t fl;
	ssize_t n;
	size_t m;

	(void)arg;
	while (!dns_stop) {
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		fl = sizeof from;
		n = recvfrom(dns_fd, q, sizeof q, 0, (struct sockaddr *)&from,
		    &fl);
		if (n <= 0)
			continue;
		if ((m = dns_answer(q, (size_t)n, a, sizeof a)) > 0)
			(void)sendto(dns_fd, a, m, 0, (struct sockaddr *)&from,
			    fl);
	}
	return NULL;
}

static bool
dns_open(int port)
{
	struct sockaddr_in sa;

	if ((dns_fd = socket(AF_INET, SOCK_DGRAM, 0)) < 0)
		return false;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return bind(dns_fd, (struct sockaddr *)&sa, sizeof sa) == 0;
}

/* --- processes and status ---------------------------------------------- */

/* Lines of the log at path holding a and b. */
static int
log_count(const char *path, const char *a, const char *b)
{
	char line[2048];
	int n = 0;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f))
		n += strstr(line, a) && strstr(line, b);
	fclose(f);
	return n;
}

/* Waits up to ms for lookups(name) >= want. */
static bool
wait_lookups(int name, int want, int ms)
{
	uint64_t t0 = now_ms();

	while (now_ms() - t0 < (uint64_t)ms) {
		if (lookups(name) >= want)
			return true;
		usleep(20000);
	}
	printf("  %d lookups of %s, wanted %d\n", lookups(name),
	    dns_names[name], want);
	return false;
}

/* --- setup --------------------------------------------------------------- */

static int
make_node(char *home, size_t cap, const char *name, struct keys *k)
{
	snprintf(home, cap, "%s/%s", tmpdir, name);
	if (keys_create(home, name) != 0)
		return -1;
	return keys_load(k, home);
}

/* A signed agreement between x and y with n paths each. */
static int
make_agreement(struct agreement *a, const struct keys *x,
    const char *const *xpaths, const struct keys *y,
    const char *const *ypaths, unsigned n)
{
	const struct keys *ks[2] = { x, y };
	const char *const *paths[2] = { xpaths, ypaths };
	int r;

	agreement_defaults(a);
	for (int i = 0; i < 2; i++) {
		struct agreement_party *p = &a->party[i];
		snprintf(p->name, sizeof p->name, "%s", ks[i]->id.name);
		memcpy(p->link_pub, ks[i]->id.link_pub, KEYS_PUB_LEN);
		memcpy(p->sign_pub, ks[i]->id.sign_pub, KEYS_PUB_LEN);
		for (unsigned j = 0; j < n; j++)
			snprintf(p->paths[j], sizeof p->paths[j], "%s",
			    paths[i][j]);
	}
	a->npaths = (uint8_t)n;
	randombytes_buf(a->psk, sizeof a->psk);
	a->created = (uint64_t)time(NULL) - 60;
	a->not_before = a->created;
	a->not_after = (uint64_t)time(NULL) + 86400u * 30;
	a->heartbeat_s = 1;
	if ((r = agreement_finalize(a)) != 0 ||
	    (r = agreement_sign(a, x)) != 0 || (r = agreement_sign(a, y)) != 0)
		return r;
	return 0;
}

static bool
setup(void)
{
	char n0[64], s0[64], n1[64], n2[64], i1[64], i2[64], conf[512];
	const char *pn[1] = { n0 }, *ps[1] = { s0 };
	const char *pn2[2] = { n1, n2 }, *pi[2] = { i1, i2 };

	/* North's address on the north-south path: nothing listens there
	 * (north listens on port_base + 2), so south's dials fail. */
	snprintf(n0, sizeof n0, "127.0.0.1:%d", port_base);
	snprintf(s0, sizeof s0, "south.test:%d", port_base + 1);
	snprintf(n1, sizeof n1, "127.0.0.1:%d", port_base + 3);
	snprintf(n2, sizeof n2, "127.0.0.1:%d", port_base + 4);
	snprintf(i1, sizeof i1, "slow.test:%d", port_base + 5);
	snprintf(i2, sizeof i2, "gone.test:%d", port_base + 6);
	if (make_node(home_n, sizeof home_n, "north", &k_n) != 0 ||
	    make_node(home_s, sizeof home_s, "south", &k_s) != 0 ||
	    make_node(home_i, sizeof home_i, "isle", &k_i) != 0)
		return false;
	if (make_agreement(&ag_ns, &k_n, pn, &k_s, ps, 1) != 0 ||
	    make_agreement(&ag_ni, &k_n, pn2, &k_i, pi, 2) != 0)
		return false;
	if (agreement_install(home_n, &ag_ns) != 0 ||
	    agreement_install(home_n, &ag_ni) != 0 ||
	    agreement_install(home_s, &ag_ns) != 0)
		return false;
	snprintf(conf, sizeof conf, "{\"listen\": [\"127.0.0.1:%d\"],\n"
	    " \"handshake_timeout_ms\": 1000,\n"
	    " \"backoff_min_ms\": 100, \"backoff_max_ms\": 1000}\n",
	    port_base + 2);
	if (write_conf(home_n, conf) != 0)
		return false;
	snprintf(conf, sizeof conf, "{\"listen\": [\"127.0.0.1:%d\"],\n"
	    " \"handshake_timeout_ms\": 1000,\n"
	    " \"backoff_min_ms\": 100, \"backoff_max_ms\": 1000}\n",
	    port_base + 1);
	if (write_conf(home_s, conf) != 0)
		return false;
	snprintf(log_n, sizeof log_n, "%s/north.log", tmpdir);
	snprintf(log_s, sizeof log_s, "%s/south.log", tmpdir);
	return true;
}

/* --- tests ------------------------------------------------------------ */

static void
test_name_path_up(void)
{
	char want[64];
	uint64_t t0;
	bool up = false;

	pid_s = spawn(home_s, log_s);
	pid_n = spawn(home_n, log_n);
	CHECK(wait_daemon(home_s, 10000));
	CHECK(wait_daemon(home_n, 10000));
	for (t0 = now_ms(); !up && now_ms() - t0 < 15000; usleep(50000))
		up = path_up(home_n, ag_ns.id, 0) == 1;
	CHECK(up);
	/* the first address refused the dial; the redial took the second */
	CHECK(lookups(NAME_SOUTH) >= 2);
	/* North dialled the address the nameserver gave. */
	snprintf(want, sizeof want, "session to 127.0.0.1:%d established",
	    port_base + 1);
	CHECK(wait_log(log_n, want, NULL, 5000));
	CHECK(log_has(log_n, "test hook", NULL));
	CHECK_INT(msg_field(home_s, "received"), 0);
	{
		json_t *r = call(home_n, json_pack("{s:s, s:s, s:s}", "cmd",
		    "send", "to", "south", "text", "hello by name"));
		CHECK(r != NULL && json_is_true(json_object_get(r, "ok")));
		json_decref(r);
	}
	for (t0 = now_ms(); msg_field(home_s, "received") != 1 &&
	    now_ms() - t0 < 10000;)
		usleep(50000);
	CHECK_INT(msg_field(home_s, "received"), 1);
}

/* While the nameserver sits on the slow.test query, north's loop runs:
 * status answers at once, many times, well inside the lookup's 10 s. */
static void
test_loop_not_blocked(void)
{
	uint64_t t0, took;
	int answered = 0, first;

	/* a lookup that has just started (its query seen): it stays pending
	 * for the 10 s of its bound, well past the status calls below */
	CHECK(wait_lookups(NAME_SLOW, 1, 10000));
	first = lookups(NAME_SLOW) + 1;
	CHECK(wait_lookups(NAME_SLOW, first, 25000));
	t0 = now_ms();
	for (int i = 0; i < 10; i++)
		answered += path_up(home_n, ag_ni.id, 0) == 0;
	took = now_ms() - t0;
	CHECK_INT(answered, 10);
	CHECK(took < 2000);
	printf("  10 status calls in %llu ms with the lookup pending\n",
	    (unsigned long long)took);
	/* Still the same lookup: it was pending all along. */
	CHECK_INT(lookups(NAME_SLOW), first);
	CHECK_INT(path_up(home_n, ag_ns.id, 0), 1);
}

/* The unanswered lookup ends (5 s x 2 attempts) and the path looks the
 * name up again later, logged once. */
static void
test_lookup_bounded(void)
{
	int first = lookups(NAME_SLOW);

	CHECK(wait_lookups(NAME_SLOW, first + 1, 25000));
	CHECK(wait_log(log_n, "cannot resolve slow.test", NULL, 5000));
	CHECK_INT(path_up(home_n, ag_ni.id, 0), 0);
	CHECK_INT(path_up(home_n, ag_ns.id, 0), 1);
}

/* gone.test fails fast at every redial: one warning, not one a redial. */
static void
test_failure_logged_once(void)
{
	CHECK(wait_lookups(NAME_GONE, 3, 15000));
	usleep(200000);
	CHECK_INT(log_count(log_n, "cannot resolve gone.test", "WARN"), 1);
	CHECK_INT(log_count(log_n, "cannot resolve gone.test", ""), 1);
	CHECK_INT(path_up(home_n, ag_ni.id, 1), 0);
}

/* SIGTERM while the slow.test lookup is pending: a clean stop. */
static void
test_sigterm_pending(void)
{
	int n = lookups(NAME_SLOW), st;

	/* A new lookup has just started (its query seen). */
	CHECK(wait_lookups(NAME_SLOW, n + 1, 25000));
	kill_pid(pid_n, SIGTERM);
	st = reap(pid_n, 10000);
	CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	if (st != -1)
		pid_n = -1;
	CHECK(log_has(log_n, "stopped", NULL));
}

/* A bad PARLEY_NAMESERVER: north's three paths by name fail at every
 * redial (backoff 100..1000 ms: several each in 3 s); the bad value is
 * logged once, not at each dial (before: once per dial), and each path's
 * failure once at WARN, as any failed lookup; north answers status. */
static void
test_bad_nameserver_logged_once(void)
{
	char lg[1400], ns[64];

	snprintf(lg, sizeof lg, "%s/north-bad-ns.log", tmpdir);
	snprintf(ns, sizeof ns, "%s", getenv("PARLEY_NAMESERVER"));
	setenv("PARLEY_NAMESERVER", "not-a-nameserver", 1);
	pid_n = spawn(home_n, lg);
	setenv("PARLEY_NAMESERVER", ns, 1);
	CHECK(wait_daemon(home_n, 10000));
	CHECK(wait_log(lg, "not an IP:PORT nameserver", NULL, 5000));
	CHECK(wait_log(lg, "cannot resolve gone.test", NULL, 5000));
	usleep(3000000);
	CHECK_INT(log_count(lg, "not an IP:PORT nameserver", ""), 1);
	CHECK_INT(log_count(lg, "cannot resolve gone.test", "WARN"), 1);
	CHECK_INT(log_count(lg, "cannot dial", ""), 0);
	CHECK_INT(path_up(home_n, ag_ns.id, 0), 0);
	stop(&pid_n);
}

int
main(void)
{
	char cmd[3000], ns[64];
	pthread_t th;

	if (sodium_init() < 0)
		return 1;
	time_limit_kills(&pid_n);
	time_limit_kills(&pid_s);
	program_begin("it_dns", TIME_LIMIT_S);
	if ((port_base = ports_pick(30000, 31000, 8)) < 0 ||
	    !dns_open(dns_port = port_base + 7)) {
		printf("no free block of ports\n0 passed, 1 failed\n");
		return 1;
	}
	if (mkdtemp(tmpdir) == NULL || !setup()) {
		printf("setup failed\n0 passed, 1 failed\n");
		return 1;
	}
	snprintf(ns, sizeof ns, "127.0.0.1:%d", dns_port);
	setenv("PARLEY_NAMESERVER", ns, 1);
	if (pthread_create(&th, NULL, dns_serve, NULL) != 0) {
		printf("cannot start the DNS thread\n0 passed, 1 failed\n");
		return 1;
	}
	RUN(test_name_path_up);
	RUN(test_loop_not_blocked);
	RUN(test_lookup_bounded);
	RUN(test_failure_logged_once);
	RUN(test_sigterm_pending);
	RUN(test_bad_nameserver_logged_once);
	stop(&pid_n);
	stop(&pid_s);
	dns_stop = 1;
	pthread_join(th, NULL);
	close(dns_fd);
	if (harness_failed) {
		snprintf(cmd, sizeof cmd, "echo '--- north.log (tail) ---'; "
		    "tail -n 40 %s; echo '--- south.log (tail) ---'; "
		    "tail -n 20 %s", log_n, log_s);
		(void)!system(cmd);
	}
	keys_fini(&k_n);
	keys_fini(&k_s);
	keys_fini(&k_i);
	agreement_wipe(&ag_ns);
	agreement_wipe(&ag_ni);
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
	(void)!system(cmd);
	return harness_summary();
}
