/*
 * msg_bench.c: what delivering messages costs between two real parleyd on
 * loopback (ports 21000-21999, a block chosen from the pid). Prints
 * numbers; judges nothing; stops by itself.
 *
 *  1. Messages per second from north to south with 64 in flight: the
 *     bench keeps at most 64 messages queued or unreceipted at north
 *     (control "send" requests, 1 KiB bodies) and counts receipts.
 *  2. The same with one in flight: send, wait for its receipt, again.
 *  3. Commits (each one WAL fsync, store_commits, in status) per message,
 *     at each side and both together, for 1 and 64 in flight.
 *
 * Usage: msg_bench [messages at 64 in flight, default 3000]
 */
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/hex.h"
#include "crypto/agreement.h"
#include "crypto/keys.h"
#include "ctl/ctl.h"

#define TIME_LIMIT_S 240

static char tmpdir[] = "/tmp/parley-msg-bench-XXXXXX";
static char build[1024] = "build";
static int port_base;
static char home_n[1200], home_s[1200], log_n[1300], log_s[1300];
static pid_t pid_n = -1, pid_s = -1;
static struct agreement ag;
static struct keys k_n, k_s;
static char chhex[2 * AGREEMENT_ID_LEN + 1];

static pid_t
spawn(const char *home, const char *logpath)
{
	char bin[1100];
	pid_t pid;
	int fd;

	snprintf(bin, sizeof bin, "%s/parleyd", build);
	if ((pid = fork()) != 0)
		return pid;
	fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0600);
	if (fd >= 0) {
		dup2(fd, 2);
		close(fd);
	}
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		close(fd);
	}
	execl(bin, "parleyd", "--home", home, "--log-level", "warn",
	    (char *)NULL);
	_exit(127);
}

static int
reap(pid_t pid, int ms)
{
	int st;

	for (int i = 0; i < ms / 10; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return st;
		usleep(10000);
	}
	return -1;
}

static void
kill9(pid_t *pid)
{
	if (*pid > 0) {
		kill(*pid, SIGKILL);
		reap(*pid, 5000);
		*pid = -1;
	}
}

static void
on_alarm(int sig)
{
	static const char msg[] = "msg_bench: time limit reached\n";

	(void)sig;
	if (pid_n > 0)
		kill(pid_n, SIGKILL);
	if (pid_s > 0)
		kill(pid_s, SIGKILL);
	(void)!write(1, msg, sizeof msg - 1);
	_exit(1);
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* --- control socket ---------------------------------------------------- */

/* One request; the whole response (caller decrefs) or NULL. */
static json_t *
call(const char *home, json_t *req)
{
	json_t *resp = NULL;

	if (ctl_call(home, req, &resp) != 0)
		resp = NULL;
	json_decref(req);
	return resp;
}

/* The channel's "messages" status at home, as a new reference. */
static json_t *
msgs(const char *home)
{
	json_t *r = call(home, json_pack("{s:s}", "cmd", "status")), *m;

	m = json_object_get(json_array_get(json_object_get(json_object_get(r,
	    "result"), "channels"), 0), "messages");
	json_incref(m);
	json_decref(r);
	return m;
}

static long long
msg_field(const char *home, const char *f)
{
	json_t *m = msgs(home);
	long long v = m ? json_integer_value(json_object_get(m, f)) : -1;

	json_decref(m);
	return v;
}

/* Sends text from home: 1 when answered ok, 0 refused, -1 no answer.
 * err (may be NULL) gets the refusal. */
static int
send_text(const char *home, const char *text, const char *prec, char *err,
    size_t cap)
{
	json_t *r = call(home, json_pack("{s:s, s:s, s:s}", "cmd", "send",
	    "text", text, "precedence", prec));
	int ok;

	if (r == NULL)
		return -1;
	ok = json_is_true(json_object_get(r, "ok"));
	if (!ok && err)
		snprintf(err, cap, "%s", json_string_value(json_object_get(r,
		    "error")) ? json_string_value(json_object_get(r,
		    "error")) : "");
	json_decref(r);
	return ok ? 1 : 0;
}

static bool
wait_daemon(const char *home, int ms)
{
	uint64_t t0 = now_ms();

	while (now_ms() - t0 < (uint64_t)ms) {
		json_t *m = msgs(home);
		if (m) {
			json_decref(m);
			return true;
		}
		usleep(20000);
	}
	return false;
}





/* --- setup --------------------------------------------------------------- */

static int
write_conf(const char *home, const char *text)
{
	char path[1300];
	FILE *f;

	snprintf(path, sizeof path, "%s/parleyd.conf", home);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static const char *conf =
    "{\"handshake_timeout_ms\": 1000, \"backoff_min_ms\": 50,\n"
    " \"backoff_max_ms\": 500}\n";

static bool
setup(void)
{
	struct keys *ks[2] = { &k_n, &k_s };
	char *homes[2] = { home_n, home_s };
	const char *names[2] = { "north", "south" };

	for (int i = 0; i < 2; i++) {
		snprintf(homes[i], sizeof home_n, "%s/%s", tmpdir, names[i]);
		if (keys_create(homes[i], names[i]) != 0 ||
		    keys_load(ks[i], homes[i]) != 0)
			return false;
	}
	agreement_defaults(&ag);
	for (int i = 0; i < 2; i++) {
		struct agreement_party *p = &ag.party[i];
		snprintf(p->name, sizeof p->name, "%s", ks[i]->id.name);
		memcpy(p->link_pub, ks[i]->id.link_pub, KEYS_PUB_LEN);
		memcpy(p->sign_pub, ks[i]->id.sign_pub, KEYS_PUB_LEN);
		for (int j = 0; j < 2; j++)
			snprintf(p->paths[j], sizeof p->paths[j],
			    "127.0.0.1:%d", port_base + 2 * i + j);
	}
	ag.npaths = 2;
	randombytes_buf(ag.psk, sizeof ag.psk);
	ag.created = (uint64_t)time(NULL) - 60;
	ag.not_before = ag.created;
	ag.not_after = (uint64_t)time(NULL) + 86400u * 30;
	ag.heartbeat_s = 1;
	if (agreement_finalize(&ag) != 0 || agreement_sign(&ag, &k_n) != 0 ||
	    agreement_sign(&ag, &k_s) != 0 ||
	    agreement_install(home_n, &ag) != 0 ||
	    agreement_install(home_s, &ag) != 0)
		return false;
	hex_encode(chhex, ag.id, AGREEMENT_ID_LEN);
	if (write_conf(home_n, conf) != 0 || write_conf(home_s, conf) != 0)
		return false;
	snprintf(log_n, sizeof log_n, "%s/north.log", tmpdir);
	snprintf(log_s, sizeof log_s, "%s/south.log", tmpdir);
	return true;
}

static bool
start(pid_t *pid, const char *home, const char *logpath)
{
	*pid = spawn(home, logpath);
	return wait_daemon(home, 10000);
}

/* Both up and synced on a path. */
static bool
wait_synced(int ms)
{
	uint64_t t0 = now_ms();
	json_t *a, *b;
	bool ok;

	do {
		a = msgs(home_n);
		b = msgs(home_s);
		ok = a && b && json_is_true(json_object_get(a, "synced")) &&
		    json_is_true(json_object_get(b, "synced"));
		json_decref(a);
		json_decref(b);
		if (ok)
			return true;
		usleep(50000);
	} while (now_ms() - t0 < (uint64_t)ms);
	return false;
}


static char body[1025];

/* Sends n messages keeping at most window unreceipted; prints the rate
 * and the commits per message. */
static void
measure(int n, int window)
{
	long long c0n = msg_field(home_n, "store_commits");
	long long c0s = msg_field(home_s, "store_commits");
	long long r0 = msg_field(home_n, "receipted"), done = 0, c1n, c1s;
	int sent = 0, fails = 0;
	uint64_t t0 = now_ms(), dt;

	while (done < n && fails < 1000) {
		json_t *m = msgs(home_n);
		long long out = m ? json_integer_value(json_object_get(m,
		    "queued")) + json_integer_value(json_object_get(m,
		    "in_flight")) : window;
		done = m ? json_integer_value(json_object_get(m,
		    "receipted")) - r0 : done;
		json_decref(m);
		for (long long k = out; k < window && sent < n; k++) {
			if (send_text(home_n, body, "routine", NULL, 0) == 1)
				sent++;
			else
				fails++;
		}
		if (out >= window || sent >= n)
			usleep(200);
	}
	dt = now_ms() - t0;
	c1n = msg_field(home_n, "store_commits");
	c1s = msg_field(home_s, "store_commits");
	printf("%2d in flight: %d messages of 1 KiB in %.2f s: %.0f msgs/s "
	    "(receipted)\n", window, n, (double)dt / 1000.0,
	    (double)n * 1000.0 / (double)(dt ? dt : 1));
	printf("   commits (WAL fsyncs) per message: sender %.2f, receiver "
	    "%.2f, both %.2f\n", (double)(c1n - c0n) / n,
	    (double)(c1s - c0s) / n, (double)(c1n - c0n + c1s - c0s) / n);
}

int
main(int argc, char **argv)
{
	const char *b = getenv("BUILD");
	char cmd[3000];
	int n = argc > 1 ? atoi(argv[1]) : 3000;

	if (sodium_init() < 0)
		return 1;
	if (b && *b)
		snprintf(build, sizeof build, "%s", b);
	if (n < 10)
		n = 10;
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, on_alarm);
	alarm(TIME_LIMIT_S);
	port_base = 21000 + (int)(getpid() % 49) * 20;
	memset(body, 'x', 1024);
	if (mkdtemp(tmpdir) == NULL || !setup()) {
		printf("msg_bench: setup failed\n");
		return 1;
	}
	if (!start(&pid_n, home_n, log_n) || !start(&pid_s, home_s, log_s) ||
	    !wait_synced(15000)) {
		printf("msg_bench: the daemons did not come up\n");
		snprintf(cmd, sizeof cmd, "tail -n 5 %s %s", log_n, log_s);
		(void)!system(cmd);
	} else {
		printf("msg_bench: north -> south on loopback, one channel\n");
		measure(n, 64);
		measure(n / 10 < 50 ? 50 : n / 10, 1);
	}
	kill9(&pid_n);
	kill9(&pid_s);
	keys_fini(&k_n);
	keys_fini(&k_s);
	agreement_wipe(&ag);
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
	(void)!system(cmd);
	return 0;
}
