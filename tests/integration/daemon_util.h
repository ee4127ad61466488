/*
 * daemon_util.h: helpers shared by the test programs that run real
 * parleyd processes by home directory (it_messages.c, it_flash.c,
 * it_early_send.c, it_people.c, it_people_owed.c, it_link.c,
 * it_link_strangers.c, it_dns.c, it_ctl.c, it_ctl_raw.c, it_ctl_held.c,
 * bench/msg_bench.c): starting a daemon, reaping and stopping it, a
 * program's start and time limit (program_begin, time_limit_kills), the
 * monotonic clock, one control-socket request, the channel's "messages"
 * status, waiting for a daemon to answer, writing parleyd.conf, a parley
 * command line. With DAEMON_PAIR defined, also the north/south pair on
 * one channel that it_messages, it_flash, it_early_send, it_powercut,
 * it_slow, it_people, it_people_owed and msg_bench set up alike
 * (pair_agreement, setup, start, wait_synced and their globals;
 * pair_start_relayed through tools/throttle; pair_begin, pair_logs_clean
 * and pair_end for the test programs).
 *
 * The including file may define DAEMON_LOG_LEVEL (a string, default
 * "info") before the #include: the --log-level its daemons run with.
 * Every function is static and marked unused: each program takes what it
 * needs.
 */
#ifndef PARLEY_TESTS_DAEMON_UTIL_H
#define PARLEY_TESTS_DAEMON_UTIL_H

#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/hex.h"
#include "kill_pid.h"
#include "ctl/ctl.h"
#include "../harness.h"

#ifndef DAEMON_LOG_LEVEL
#define DAEMON_LOG_LEVEL "info"
#endif

#define DU_UNUSED __attribute__((unused))

static char build[1024] = "build";	/* where parleyd is */

/*
 * The time limit of a test program: after limit_s seconds,
 * time_limit_reached (SIGALRM) kills the processes whose pids it was
 * given (by address: read when it fires; SIGCONT first, for one a test
 * stopped), prints the program's failed summary line and exits 1.
 */
#define DU_KILL_MAX 4
static pid_t *du_kill[DU_KILL_MAX];
static size_t du_nkill;
static char du_limit_msg[128];
static size_t du_limit_len;

static DU_UNUSED void
time_limit_reached(int sig)
{
	(void)sig;
	for (size_t i = 0; i < du_nkill; i++)
		if (*du_kill[i] > 0) {
			kill_pid(*du_kill[i], SIGCONT);
			kill_pid(*du_kill[i], SIGKILL);
		}
	(void)!write(1, du_limit_msg, du_limit_len);
	_exit(1);
}

/* Adds *pid to what time_limit_reached kills (a program's global: -1
 * while no process runs). */
static DU_UNUSED void
time_limit_kills(pid_t *pid)
{
	if (du_nkill < DU_KILL_MAX)
		du_kill[du_nkill++] = pid;
}

/* Arms time_limit_reached for limit_s seconds; prog names the program. */
static DU_UNUSED void
time_limit_arm(const char *prog, unsigned limit_s)
{
	int n = snprintf(du_limit_msg, sizeof du_limit_msg,
	    "%s: time limit reached\n0 passed, 1 failed\n", prog);

	du_limit_len = n > 0 && (size_t)n < sizeof du_limit_msg ?
	    (size_t)n : 0;
	signal(SIGALRM, time_limit_reached);
	alarm(limit_s);
}

/*
 * A test program's start: $BUILD read (where parleyd is), standard output
 * line-buffered, SIGPIPE ignored, the time limit armed for limit_s
 * seconds (for what the program gave time_limit_kills).
 */
static DU_UNUSED void
program_begin(const char *prog, unsigned limit_s)
{
	const char *b = getenv("BUILD");

	if (b && *b)
		snprintf(build, sizeof build, "%s", b);
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	time_limit_arm(prog, limit_s);
}

/* Starts parleyd --home home (stderr appended to logpath, stdin and
 * stdout /dev/null); the child's pid (-1 if fork failed). */
static DU_UNUSED pid_t
spawn(const char *home, const char *logpath)
{
	char bin[1100];
	pid_t pid;
	int fd;

	snprintf(bin, sizeof bin, "%s/parleyd", build);
	if ((pid = fork()) != 0)
		return pid;
	if ((fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0600)) >= 0) {
		dup2(fd, 2);
		close(fd);
	}
	if ((fd = open("/dev/null", O_RDWR)) >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		close(fd);
	}
	execl(bin, "parleyd", "--home", home, "--log-level", DAEMON_LOG_LEVEL,
	    (char *)NULL);
	_exit(127);
}

/* Waits up to ms for pid to exit: its wait status, or -1 (also for a pid
 * <= 0, which waitpid would take as "any child" or a group). */
static DU_UNUSED int
reap(pid_t pid, int ms)
{
	int st;

	if (pid <= 0)
		return -1;
	for (int i = 0; i < ms / 10; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return st;
		usleep(10000);
	}
	return -1;
}

/* SIGKILL, reaped; *pid set to -1. */
static DU_UNUSED void
kill9(pid_t *pid)
{
	if (*pid > 0) {
		kill_pid(*pid, SIGKILL);
		reap(*pid, 5000);
		*pid = -1;
	}
}

/* SIGTERM, reaped (SIGKILL after 5 s); *pid set to -1. */
static DU_UNUSED void
stop(pid_t *pid)
{
	if (*pid > 0) {
		kill_pid(*pid, SIGTERM);
		if (reap(*pid, 5000) == -1) {
			kill_pid(*pid, SIGKILL);
			reap(*pid, 5000);
		}
		*pid = -1;
	}
}

static DU_UNUSED uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* One request (stolen); the whole response (caller decrefs) or NULL. */
static DU_UNUSED json_t *
call(const char *home, json_t *req)
{
	json_t *resp = NULL;

	if (ctl_call(home, req, &resp) != 0)
		resp = NULL;
	json_decref(req);
	return resp;
}

/* The first channel's "messages" status at home, as a new reference. */
static DU_UNUSED json_t *
msgs(const char *home)
{
	json_t *r = call(home, json_pack("{s:s}", "cmd", "status")), *m;

	m = json_object_get(json_array_get(json_object_get(json_object_get(r,
	    "result"), "channels"), 0), "messages");
	json_incref(m);
	json_decref(r);
	return m;
}

/* One integer of msgs(home), -1 without an answer. */
static DU_UNUSED long long
msg_field(const char *home, const char *f)
{
	json_t *m = msgs(home);
	long long v = m ? json_integer_value(json_object_get(m, f)) : -1;

	json_decref(m);
	return v;
}

/* How many of the newest max messages of home's inbox have first line
 * text (0 also without an answer). */
static DU_UNUSED int
inbox_count(const char *home, const char *text, int max)
{
	json_t *r = call(home, json_pack("{s:s, s:i}", "cmd", "inbox",
	    "max", max)), *m;
	size_t i;
	int n = 0;

	json_array_foreach(json_object_get(json_object_get(r, "result"),
	    "messages"), i, m)
		if (json_string_value(json_object_get(m, "first_line")) &&
		    strcmp(json_string_value(json_object_get(m, "first_line")),
		    text) == 0)
			n++;
	json_decref(r);
	return n;
}

/* Path idx of a channel at home (chan: its 32-byte id; NULL: the first
 * channel) by status: 1 up, 0 down, -1 no answer or no such path. */
static DU_UNUSED int
path_up(const char *home, const uint8_t *chan, unsigned idx)
{
	json_t *r = call(home, json_pack("{s:s}", "cmd", "status")), *c;
	json_t *path = NULL;
	char id[65];
	size_t i;
	int up = -1;

	if (chan != NULL)
		hex_encode(id, chan, 32);
	json_array_foreach(json_object_get(json_object_get(r, "result"),
	    "channels"), i, c)
		if (path == NULL && (chan == NULL || strcmp(json_string_value(
		    json_object_get(c, "id")), id) == 0))
			path = json_array_get(json_object_get(c, "paths"), idx);
	if (path != NULL)
		up = json_is_true(json_object_get(path, "up")) ? 1 : 0;
	json_decref(r);
	return up;
}

/* Waits up to ms for the daemon at home to answer status with a
 * channel. */
static DU_UNUSED bool
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

/* Writes text as home/parleyd.conf: 0, or -1. */
static DU_UNUSED int
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

/* Runs a parley command line (build/parley with the arguments fmt
 * makes); its standard output and error in out; the exit code, or -1. */
static int parley(char *out, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static DU_UNUSED int
parley(char *out, size_t cap, const char *fmt, ...)
{
	char cmd[4096], args[3000];
	va_list ap;
	FILE *p;
	size_t n;
	int st;

	va_start(ap, fmt);
	vsnprintf(args, sizeof args, fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof cmd, "%s/parley %s 2>&1", build, args);
	if ((p = popen(cmd, "r")) == NULL)
		return -1;
	n = fread(out, 1, cap - 1, p);
	out[n] = '\0';
	st = pclose(p);
	harness_no_sanitizer_report(out, cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* True when the log at path has a line containing a (and b, if given). */
static DU_UNUSED bool
log_has(const char *path, const char *a, const char *b)
{
	char line[2048];
	bool found = false;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return false;
	while (!found && fgets(line, sizeof line, f))
		found = strstr(line, a) && (b == NULL || strstr(line, b));
	fclose(f);
	return found;
}

/* Polls log_has for up to ms; says what it missed. */
static DU_UNUSED bool
wait_log(const char *path, const char *a, const char *b, int ms)
{
	uint64_t t0 = now_ms();

	while (now_ms() - t0 < (uint64_t)ms) {
		if (log_has(path, a, b))
			return true;
		usleep(20000);
	}
	printf("  log %s has no line with \"%s\"%s%s\n", path, a,
	    b ? " and " : "", b ? b : "");
	return false;
}

#ifdef DAEMON_PAIR
/*
 * Two daemons, north and south, on one channel (it_messages.c,
 * bench/msg_bench.c): define DAEMON_PAIR before the #include. The
 * including file sets port_base before setup().
 */
#include <sodium.h>

#include <stdlib.h>

#include "crypto/agreement.h"
#include "crypto/keys.h"
#include "ports.h"

static int port_base;
static char home_n[1200], home_s[1200], log_n[1300], log_s[1300];
static pid_t pid_n = -1, pid_s = -1;
static struct agreement ag;
static struct keys k_n, k_s;
static char chhex[2 * AGREEMENT_ID_LEN + 1];	/* the channel id, hex */

/*
 * Makes north and south homes under dir with keys, and one signed
 * two-path channel between them (ports port_base..port_base+3, heartbeat
 * 1 s; a FLASH's acknowledgment due in flash_ack_s seconds, 0: the
 * agreement's default) installed in both. False on failure.
 */
static DU_UNUSED bool
pair_agreement(const char *dir, uint32_t flash_ack_s)
{
	struct keys *ks[2] = { &k_n, &k_s };
	char *homes[2] = { home_n, home_s };
	const char *names[2] = { "north", "south" };

	for (int i = 0; i < 2; i++) {
		snprintf(homes[i], sizeof home_n, "%s/%s", dir, names[i]);
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
	if (flash_ack_s != 0)
		ag.ack_deadline_s[AGREEMENT_FLASH] = flash_ack_s;
	return agreement_finalize(&ag) == 0 &&
	    agreement_sign(&ag, &k_n) == 0 &&
	    agreement_sign(&ag, &k_s) == 0 &&
	    agreement_install(home_n, &ag) == 0 &&
	    agreement_install(home_s, &ag) == 0;
}

/*
 * pair_agreement(dir, 0), conf as both parleyd.conf; log_n, log_s named.
 * False on failure.
 */
static DU_UNUSED bool
setup(const char *dir, const char *conf)
{
	if (!pair_agreement(dir, 0))
		return false;
	hex_encode(chhex, ag.id, AGREEMENT_ID_LEN);
	if (write_conf(home_n, conf) != 0 || write_conf(home_s, conf) != 0)
		return false;
	snprintf(log_n, sizeof log_n, "%s/north.log", dir);
	snprintf(log_s, sizeof log_s, "%s/south.log", dir);
	return true;
}

/* Spawns the daemon at home and waits up to 10 s for it to answer. */
static DU_UNUSED bool
start(pid_t *pid, const char *home, const char *logpath)
{
	*pid = spawn(home, logpath);
	return wait_daemon(home, 10000);
}

/* Both up and synced on a path. */
static DU_UNUSED bool
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

/*
 * The pair (stopped) started again with north's sends through
 * tools/throttle at rate (its argument: "N", "N:BACK", either with
 * "@DELAY_MS" after it), their link up:
 * north dials south only through the relay, which listens on south's
 * addresses in the agreement (port_base+2, +3) and relays to where south
 * listens (+12, +13); north listens on +10 and +11, so south's dials
 * fail. Both parleyd.conf: more (further settings, "" or "\"key\":
 * value, "), backoff 50..500 ms, those listen addresses. *relay: the
 * relay's pid (SIGUSR1 pauses and resumes it).
 * South then north started, synced within 15 s: true; else false, said.
 */
static DU_UNUSED bool
pair_start_relayed(const char *rate, const char *more, pid_t *relay)
{
	char conf[2][512], bin[1100], a[4][16];
	const char *homes[2] = { home_n, home_s };
	bool ok = true;

	for (int i = 0; i < 2; i++) {
		snprintf(conf[i], sizeof conf[i], "{%s\"backoff_min_ms\": 50, "
		    "\"backoff_max_ms\": 500, \"listen\": [\"127.0.0.1:%d\", "
		    "\"127.0.0.1:%d\"]}\n", more, port_base + 10 + 2 * i,
		    port_base + 11 + 2 * i);
		if (write_conf(homes[i], conf[i]) != 0) {
			printf("  cannot write %s/parleyd.conf\n", homes[i]);
			ok = false;
		}
	}
	for (int k = 0; k < 4; k++)
		snprintf(a[k], sizeof a[k], "%d", port_base + (k % 2 ? 12 : 2) +
		    k / 2);
	snprintf(bin, sizeof bin, "%s/tools/throttle", build);
	if ((*relay = fork()) == 0) {
		execl(bin, "throttle", rate, a[0], a[1], a[2], a[3],
		    (char *)NULL);
		_exit(127);
	}
	if (!start(&pid_s, home_s, log_s)) {
		printf("  south did not start\n");
		ok = false;
	}
	if (!start(&pid_n, home_n, log_n)) {
		printf("  north did not start\n");
		ok = false;
	}
	if (!wait_synced(15000)) {
		printf("  north and south not synced through the relay\n");
		ok = false;
	}
	return ok;
}

/*
 * A pair test program's start (it_messages.c, it_flash.c,
 * it_early_send.c, it_powercut.c, it_slow.c): program_begin (the time
 * limit kills both daemons and what the program added with
 * time_limit_kills), a free block of nports ports in
 * [lo, hi) taken (port_base), dir made (a mkdtemp template) and the pair
 * set up there with conf. False on failure, said with a failed summary
 * line.
 */
static DU_UNUSED bool
pair_begin(const char *prog, unsigned limit_s, int lo, int hi,
    int nports, char *dir, const char *conf)
{
	time_limit_kills(&pid_n);
	time_limit_kills(&pid_s);
	program_begin(prog, limit_s);
	if ((port_base = ports_pick(lo, hi, nports)) < 0) {
		printf("no free block of ports\n0 passed, 1 failed\n");
		return false;
	}
	if (mkdtemp(dir) == NULL) {
		printf("cannot make a temporary directory\n0 passed, 1 failed\n");
		return false;
	}
	if (!setup(dir, conf)) {
		printf("setup failed\n0 passed, 1 failed\n");
		return false;
	}
	return true;
}

/* Neither daemon's log holds a sanitizer's report (under make asan). */
static DU_UNUSED bool
pair_logs_clean(void)
{
	const char *logs[2] = { log_n, log_s };

	for (int i = 0; i < 2; i++)
		if (log_has(logs[i], "Sanitizer", NULL) ||
		    log_has(logs[i], "runtime error", NULL))
			return false;
	return true;
}

/* A pair program's end: both daemons killed, the keys and agreement
 * wiped, dir removed. */
static DU_UNUSED void
pair_end(const char *dir)
{
	char cmd[1300];

	kill9(&pid_n);
	kill9(&pid_s);
	keys_fini(&k_n);
	keys_fini(&k_s);
	agreement_wipe(&ag);
	if (getenv("KEEP") != NULL) {	/* to read the logs after */
		printf("kept %s\n", dir);
		return;
	}
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	(void)!system(cmd);
}
#endif /* DAEMON_PAIR */

#endif
