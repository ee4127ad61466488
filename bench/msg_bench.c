/*
 * msg_bench.c: what delivering messages costs between two real parleyd on
 * loopback (ports 31000-31499, a free block: tests/integration/ports.h), read against
 * the machine's floor measured in the same run (bench_util.h: a 4 KiB
 * fsync, a loopback round trip). Prints a table; judges nothing; starts
 * the two daemons itself and stops them (kill -9, its own pids only).
 *
 * A pipelined client (one control connection, requests written without
 * waiting for answers, answers read in order) keeps N "send" requests in
 * flight, for N = 1 and 64, 1 KiB bodies (each request's raw body),
 * north to south, in two modes:
 *
 *   stored:    the answer comes once the message is committed at north
 *              (group commit): msgs/s and latency send -> stored; while it
 *              runs, south's store (north's chain stored) and north's
 *              (south's receipts stored) are read every 2 ms, through the
 *              store API on a second connection, for the delivered and
 *              receipted rates;
 *   receipted: "wait": true, the answer comes once south's receipt covers
 *              the message: msgs/s and latency send -> receipted.
 *
 * Commits per message (store_commits in status: each is one WAL fsync) at
 * each side come from the status before and after each run; CPU time per
 * message at each daemon from /proc/PID/task/TID/schedstat, summed over its
 * threads (what the work costs, whatever else the machine runs).
 *
 * Last, the one-in-flight ratio again with the floor measured beside each
 * of 5 blocks of 300 messages (interleaved): the host's speed drifts
 * within a minute, so a floor taken once at the start can be far from
 * the one the messages met.
 *
 * Then what the record these runs left costs an operator: `parley
 * verify` of north's store (every signature, chain link and receipt of
 * both chains, the audit log), `parley export` of the channel and
 * `parley verify --file` of that file, and `parley backup`, each run once
 * with the daemons up, its wall time and the messages it covered.
 *
 * Usage: msg_bench [messages per run at 64 in flight, default 20000]
 * MSG_BENCH_RUNS=digits runs only those rows (0-3, in table order), for
 * profiling one case (no summary lines then).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/hex.h"
#include "bench_util.h"
#include "crypto/agreement.h"
#include "crypto/keys.h"
#include "ctl/ctl.h"
#include "store/store.h"

#define DAEMON_PAIR
#define DAEMON_LOG_LEVEL "warn"
#include "../tests/integration/daemon_util.h"
#include "../tests/integration/ports.h"

#define TIME_LIMIT_S 300
#define POLL_US 2000.0

static char tmpdir[] = "/tmp/parley-msg-bench-XXXXXX";
static struct store *st_n, *st_s;	/* the daemons' stores, read only */

static void
on_alarm(int sig)
{
	static const char msg[] = "msg_bench: time limit or signal: the "
	    "daemons are killed\n";

	(void)sig;
	if (pid_n > 0)
		kill_pid(pid_n, SIGKILL);
	if (pid_s > 0)
		kill_pid(pid_s, SIGKILL);
	(void)!write(1, msg, sizeof msg - 1);
	_exit(1);
}

/* --- setup --------------------------------------------------------------- */

static const char *conf =
    "{\"handshake_timeout_ms\": 1000, \"backoff_min_ms\": 50,\n"
    " \"backoff_max_ms\": 500}\n";


/* --- the pipelined client -------------------------------------------- */

struct pipe {
	int fd;
	char *in;
	size_t len, cap;
};

static int
pipe_open(struct pipe *p, const char *home)
{
	struct sockaddr_un sun;

	memset(p, 0, sizeof *p);
	p->fd = -1;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof sun.sun_path, "%s/%s",
	    home, CTL_SOCKET_NAME) >= sizeof sun.sun_path)
		return -1;
	p->cap = 1 << 20;
	if ((p->in = malloc(p->cap)) == NULL ||
	    (p->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	return connect(p->fd, (struct sockaddr *)&sun, sizeof sun);
}

static void
pipe_close(struct pipe *p)
{
	if (p->fd >= 0)
		close(p->fd);
	free(p->in);
}

static int
write_all(int fd, const char *b, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, b, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Waits up to ms for input and reads what is there: -1 when closed. */
static int
pipe_fill(struct pipe *p, int ms)
{
	struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
	ssize_t k;

	if (poll(&pfd, 1, ms) <= 0)
		return 0;
	if (p->len == p->cap) {
		fprintf(stderr, "msg_bench: an answer over %zu bytes\n", p->cap);
		return -1;
	}
	k = read(p->fd, p->in + p->len, p->cap - p->len);
	if (k < 0 && errno == EINTR)
		return 0;
	if (k <= 0) {
		fprintf(stderr, "msg_bench: control connection %s\n", k == 0 ?
		    "closed by the daemon" : strerror(errno));
		return -1;
	}
	p->len += (size_t)k;
	return 0;
}

/* Takes one whole answer line off the input: 1 ok, 0 refused, -1 none. */
static int
pipe_answer(struct pipe *p)
{
	char *nl = memchr(p->in, '\n', p->len);
	size_t n;
	int ok;

	if (nl == NULL)
		return -1;
	*nl = '\0';
	ok = strstr(p->in, "\"ok\":true") != NULL;
	if (!ok)
		fprintf(stderr, "msg_bench: refused: %.200s\n", p->in);
	n = (size_t)(nl - p->in) + 1;
	memmove(p->in, nl + 1, p->len - n);
	p->len -= n;
	return ok;
}

/* --- runs -------------------------------------------------------------- */

static char body[1025];

struct run {
	int n, window;
	bool wait;
	double stored, delivered, receipted;	/* msgs/s; 0: not seen */
	struct bench_stat lat;			/* us, send -> answer */
	double fs_n, fs_s;			/* commits per message */
	double cpu_n, cpu_s;			/* CPU us per message */
	int refused;
};

/* The CPU time a daemon has used, in us, all its threads (the event loop
 * and the signature worker: /proc/PID/task/TID/schedstat, ns on the CPU):
 * per message it says what the work costs, whatever else runs on the
 * machine. */
static double
cpu_us(pid_t pid)
{
	char path[300];
	unsigned long long ns, sum = 0;
	struct dirent *e;
	FILE *f;
	DIR *dir;

	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	if ((dir = opendir(path)) == NULL)
		return 0;
	while ((e = readdir(dir)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "/proc/%d/task/%s/schedstat",
		    (int)pid, e->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		if (fscanf(f, "%llu", &ns) == 1)
			sum += ns;
		fclose(f);
	}
	closedir(dir);
	return (double)sum / 1e3;
}

/* The request: its line and its 1 KiB text as the raw body (docs/control.md,
 * "Raw bodies"), written window at a time. */
static char *
request(bool wait, size_t *len)
{
	size_t blen = strlen(body);
	json_t *r = json_pack("{s:s, s:I, s:s, s:b}", "cmd", "send",
	    CTL_BODY_FIELD, (json_int_t)blen, "precedence", "routine", "wait",
	    wait);
	char *s = json_dumps(r, JSON_COMPACT), *req;
	size_t n;

	json_decref(r);
	if (s == NULL || (req = malloc(strlen(s) + 1 + blen)) == NULL) {
		free(s);
		return NULL;
	}
	n = (size_t)sprintf(req, "%s\n", s);
	memcpy(req + n, body, blen);
	*len = n + blen;
	free(s);
	return req;
}

/* South's highest of north's chain, stored. */
static long long
received(void)
{
	uint8_t id[STORE_ID_LEN];
	uint64_t seq;

	return store_highest(st_s, ag.id, 0, &seq, id) == 0 ?
	    (long long)seq : -1;
}

/* North's highest receipt from south, stored. */
static long long
receipted(void)
{
	struct store_receipt rc;
	int r = store_receipt_latest(st_n, ag.id, 1, &rc);

	return r == 0 ? (long long)rc.seq : r == ERR_NOT_FOUND ? 0 : -1;
}

/* Reads south's and north's stores (a second connection to each: WAL
 * readers do not stop the daemon's writer; the daemons' status command
 * would cost them far more): sets the times when they reach their
 * targets. */
static void
poll_progress(long long want_v, long long want_r, double *t_v, double *t_r)
{
	if (*t_v == 0 && received() >= want_v)
		*t_v = bench_now_us();
	if (*t_r == 0 && receipted() >= want_r)
		*t_r = bench_now_us();
}

static bool measure(struct run *ru);

/*
 * The first row's ratio again, with the floor measured beside each block
 * of messages instead of once at the start: this host's disk and CPU
 * change speed within a minute (a floor measured at the start was seen
 * off by a third by the time the messages ran), which moves the ratio
 * more than any change to parley does. BLOCKS blocks, each 100 fsyncs and
 * 100 round trips (after 0.5 s of quiet: the daemons' checkpoint after
 * the last block must not slow the floor's fsyncs), then BLOCK_MSGS
 * messages one in flight answered at the receipt; the median of the
 * blocks' ratios.
 */
#define BLOCKS 5
#define BLOCK_MSGS 300
static void
interleaved(void)
{
	double ratio[BLOCKS];
	struct bench_stat fs, rt;

	printf("\n1 in flight, send -> receipted, the floor measured beside "
	    "each block (%d blocks of %d messages):\n", BLOCKS, BLOCK_MSGS);
	for (int i = 0; i < BLOCKS; i++) {
		struct run r = { .n = BLOCK_MSGS, .window = 1, .wait = true };
		double fl;

		usleep(500000);
		if (bench_floor_fsync(tmpdir, 100, &fs) != 0 ||
		    bench_floor_rtt(100, &rt) != 0 || !measure(&r)) {
			printf("  block %d failed\n", i + 1);
			return;
		}
		fl = 2 * fs.median + rt.median;
		ratio[i] = r.lat.median / fl;
		printf("  block %d: median %.0f us, floor %.0f us (fsync %.0f, "
		    "round trip %.0f): %.2f x\n", i + 1, r.lat.median, fl,
		    fs.median, rt.median, ratio[i]);
	}
	printf("  median of the blocks: %.2f x the floor (target <= 1.5 x)\n",
	    bench_stat_of(ratio, BLOCKS).median);
}

/* One parley command line (args), timed into *s; false if it failed. */
static bool
timed_parley(const char *what, double *s, const char *args)
{
	static char out[1 << 16];
	double t0 = bench_now_us();
	int rc = parley(out, sizeof out, "%s", args);

	*s = (bench_now_us() - t0) / 1e6;
	if (rc != 0)
		printf("  %s failed (exit %d): %.300s\n", what, rc, out);
	return rc == 0;
}

static double
mib_of(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? (double)sb.st_size / 1048576.0 : -1.0;
}

/* What the record left by the runs costs to check, export and back up. */
static void
record_costs(void)
{
	char file[1500], copy[1500], store[1500], args[5000];
	long long ours = msg_field(home_n, "assigned");
	long long all = ours + msg_field(home_n, "received");
	double t;

	snprintf(file, sizeof file, "%s/north.export", tmpdir);
	snprintf(copy, sizeof copy, "%s/north.backup", tmpdir);
	snprintf(store, sizeof store, "%s/%s", home_n, STORE_FILE);
	printf("\nthe record these runs left at north: %lld messages (%lld "
	    "sent), store %.1f MiB; one run each, the daemons up:\n", all,
	    ours, mib_of(store));
	if (all <= 0)
		return;
	snprintf(args, sizeof args, "verify --home %s", home_n);
	if (!timed_parley("parley verify", &t, args))
		return;
	printf("  parley verify (the whole store)  %7.2f s, %6.1f us per "
	    "message\n", t, t * 1e6 / (double)all);
	snprintf(args, sizeof args, "export --home %s --channel %s %s",
	    home_n, chhex, file);
	if (!timed_parley("parley export", &t, args))
		return;
	printf("  parley export (the channel)      %7.2f s, file %.1f MiB\n",
	    t, mib_of(file));
	snprintf(args, sizeof args, "verify --file %s", file);
	if (!timed_parley("parley verify --file", &t, args))
		return;
	printf("  parley verify --file (no store)  %7.2f s, %6.1f us per "
	    "message\n", t, t * 1e6 / (double)all);
	snprintf(args, sizeof args, "backup --home %s %s", home_n, copy);
	if (!timed_parley("parley backup", &t, args))
		return;
	printf("  parley backup (online)           %7.2f s, copy %.1f MiB\n",
	    t, mib_of(copy));
}

static bool
measure(struct run *ru)
{
	long long c0n = msg_field(home_n, "store_commits");
	long long c0s = msg_field(home_s, "store_commits");
	double u0n = cpu_us(pid_n), u0s = cpu_us(pid_s);
	long long v0 = received();
	long long r0 = receipted();
	double *lat = calloc((size_t)ru->n, sizeof *lat);
	double *sent_at = calloc((size_t)ru->n, sizeof *sent_at);
	double t0, t_last = 0, t_v = 0, t_r = 0, t_poll = 0;
	struct pipe p = { .fd = -1 };
	int sent = 0, got = 0, a;
	size_t rlen = 0, blen;
	char *req = request(ru->wait, &rlen), *batch = NULL;
	bool ok = false;

	if (lat == NULL || sent_at == NULL || req == NULL ||
	    (batch = malloc(rlen * (size_t)ru->window)) == NULL ||
	    pipe_open(&p, home_n) != 0) {
		fprintf(stderr, "msg_bench: cannot connect: %s\n",
		    strerror(errno));
		goto out_pipe;
	}
	t0 = bench_now_us();
	while (got < ru->n) {
		double now = bench_now_us();
		blen = 0;
		while (sent - got < ru->window && sent < ru->n) {
			memcpy(batch + blen, req, rlen);
			blen += rlen;
			sent_at[sent++] = now;
		}
		if (blen && write_all(p.fd, batch, blen) != 0) {
			fprintf(stderr, "msg_bench: cannot write: %s\n",
			    strerror(errno));
			goto out_pipe;
		}
		if (pipe_fill(&p, 2) != 0)
			goto out_pipe;
		while ((a = pipe_answer(&p)) >= 0) {
			t_last = bench_now_us();
			lat[got] = t_last - sent_at[got];
			got++;
			ru->refused += a == 0;
		}
		if (!ru->wait && bench_now_us() - t_poll > POLL_US) {
			poll_progress(v0 + ru->n, r0 + ru->n, &t_v, &t_r);
			t_poll = bench_now_us();
		}
	}
	/* The rest of the way to the peer. */
	while ((t_v == 0 || t_r == 0) && bench_now_us() - t_last < 30e6) {
		poll_progress(v0 + ru->n, r0 + ru->n, &t_v, &t_r);
		usleep(1000);
	}
	if (!ru->wait)
		ru->stored = ru->n / ((t_last - t0) / 1e6);
	else
		t_r = t_last;
	ru->delivered = t_v > 0 ? ru->n / ((t_v - t0) / 1e6) : 0;
	ru->receipted = t_r > 0 ? ru->n / ((t_r - t0) / 1e6) : 0;
	ru->lat = bench_stat_of(lat, ru->n);
	ru->fs_n = (double)(msg_field(home_n, "store_commits") - c0n) / ru->n;
	ru->fs_s = (double)(msg_field(home_s, "store_commits") - c0s) / ru->n;
	ru->cpu_n = (cpu_us(pid_n) - u0n) / ru->n;
	ru->cpu_s = (cpu_us(pid_s) - u0s) / ru->n;
	ok = true;
out_pipe:
	pipe_close(&p);
	free(lat);
	free(sent_at);
	free(req);
	free(batch);
	return ok;
}

static void
rate(double v)
{
	if (v > 0)
		printf("%10.0f", v);
	else
		printf("%10s", "-");
}

static void
row(const struct run *ru)
{
	printf("%4d  %-9s", ru->window, ru->wait ? "receipted" : "stored");
	rate(ru->stored);
	rate(ru->delivered);
	rate(ru->receipted);
	printf("  %8.0f %8.0f    %5.2f %5.2f %5.2f   %5.0f %5.0f\n",
	    ru->lat.median, ru->lat.p99, ru->fs_n, ru->fs_s,
	    ru->fs_n + ru->fs_s, ru->cpu_n, ru->cpu_s);
	if (ru->refused)
		printf("      (%d requests refused)\n", ru->refused);
}

int
main(int argc, char **argv)
{
	const char *b = getenv("BUILD");
	const char *only = getenv("MSG_BENCH_RUNS");	/* e.g. "01": rows 0, 1 */
	char cmd[3000];
	int n = argc > 1 ? atoi(argv[1]) : 20000;
	struct run runs[4];
	struct bench_stat fs, rt;
	double floor1;

	if (sodium_init() < 0)
		return 1;
	if (b && *b)
		snprintf(build, sizeof build, "%s", b);
	if (n < 100)
		n = 100;
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, on_alarm);
	signal(SIGTERM, on_alarm);
	signal(SIGINT, on_alarm);
	alarm(TIME_LIMIT_S);
	if ((port_base = ports_pick(31000, 31500, 4)) < 0) {
		printf("msg_bench: no free block of 4 ports in 31000-31499\n");
		return 1;
	}
	memset(body, 'x', 1024);
	if (mkdtemp(tmpdir) == NULL || !setup(tmpdir, conf)) {
		printf("msg_bench: setup failed\n");
		return 1;
	}
	if (bench_floor_fsync(tmpdir, 500, &fs) != 0 ||
	    bench_floor_rtt(500, &rt) != 0) {
		printf("msg_bench: cannot measure the floor\n");
		return 1;
	}
	floor1 = 2 * fs.median + rt.median;
	printf("floor: fsync of 4 KiB median %.0f us (p99 %.0f), loopback "
	    "round trip median %.0f us (p99 %.0f)\n", fs.median, fs.p99,
	    rt.median, rt.p99);
	printf("       one message alone cannot beat 2 fsyncs + 1 round trip "
	    "= %.0f us\n", floor1);
	if (!start(&pid_n, home_n, log_n) || !start(&pid_s, home_s, log_s) ||
	    !wait_synced(15000)) {
		printf("msg_bench: the daemons did not come up\n");
		snprintf(cmd, sizeof cmd, "tail -n 5 %s %s", log_n, log_s);
		(void)!system(cmd);
		goto out;
	}
	if (store_open_home(&st_n, home_n) != 0 ||
	    store_open_home(&st_s, home_s) != 0) {
		printf("msg_bench: cannot read the stores\n");
		goto out;
	}
	runs[0] = (struct run){ .n = n / 20 < 500 ? 500 : n / 20, .window = 1 };
	runs[1] = runs[0];
	runs[1].wait = true;
	runs[2] = (struct run){ .n = n, .window = 64 };
	runs[3] = runs[2];
	runs[3].wait = true;
	printf("\nnorth -> south on loopback, one channel, 1 KiB bodies, a "
	    "pipelined control client\n");
	printf("  in  answer       msgs/s per second          latency (us)   "
	    " commits (fsyncs)/msg  CPU us/msg\n");
	printf("flight at         stored delivered receipted   median      p99"
	    "    north south  both   north south\n");
	for (int i = 0; i < 4; i++) {
		if (only && !strchr(only, '0' + i))
			continue;
		if (!measure(&runs[i])) {
			printf("msg_bench: run failed\n");
			goto out;
		}
		row(&runs[i]);
	}
	if (only)
		goto out;
	printf("\n1 in flight, send -> receipted: median %.0f us = %.2f x the "
	    "floor (%.0f us; target <= 1.5 x)\n", runs[1].lat.median,
	    runs[1].lat.median / floor1, floor1);
	printf("64 in flight (target >= 15,000 msgs/s, goal 30,000):\n"
	    "  answered at the commit: %.0f stored, %.0f delivered, %.0f "
	    "receipted msgs/s\n  answered at the receipt (\"wait\"): %.0f "
	    "stored and receipted msgs/s\n", runs[2].stored,
	    runs[2].delivered, runs[2].receipted, runs[3].receipted);
	interleaved();
	record_costs();
out:
	store_close(st_n);
	store_close(st_s);
	kill9(&pid_n);
	kill9(&pid_s);
	keys_fini(&k_n);
	keys_fini(&k_s);
	agreement_wipe(&ag);
	if (getenv("KEEP") == NULL) {
		snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
		(void)!system(cmd);
	}
	return 0;
}
