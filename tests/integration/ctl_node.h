/*
 * ctl_node.h: what the control socket tests of one real parleyd share
 * (it_ctl.c, it_ctl_raw.c, it_ctl_held.c): north's home, log and socket,
 * the daemon started and stopped, requests asked and answers read,
 * channels installed (channel_with, channels_ready), raw bodies put and
 * the stored message and audit entry read back; a program's start and
 * end. Every function is static
 * inline: a program that uses only some of them builds without
 * -Wunused-function.
 */
#ifndef PARLEY_TESTS_CTL_NODE_H
#define PARLEY_TESTS_CTL_NODE_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../harness.h"
#include "ports.h"
#include "crypto/agreement.h"
#include "crypto/keys.h"
#include "ctl/ctl.h"

#define DAEMON_LOG_LEVEL "debug"
#include "daemon_util.h"

static char tmpdir[] = "/tmp/parley-it-ctl-XXXXXX";
static char home[80], logp[200], sock[sizeof(((struct sockaddr_un *)0)->sun_path)];
static pid_t pid = -1;

static inline int
connect_ctl(void)
{
	struct sockaddr_un sun;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, sock, sizeof sun.sun_path);
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads one line (without '\n') into out; returns its length or -1 at EOF
 * or after 3 s. */
static inline int
read_line(int fd, char *out, size_t cap)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t n = 0;
	char c;

	while (n + 1 < cap) {
		if (poll(&pfd, 1, 3000) <= 0 || read(fd, &c, 1) != 1)
			return -1;
		if (c == '\n')
			break;
		out[n++] = c;
	}
	out[n] = '\0';
	return (int)n;
}

/* One request line on fd; the response's "code" (0 when ok). */
static inline long long
ask(int fd, const char *line, char *resp, size_t cap)
{
	json_t *j;
	json_error_t je;
	long long code = 1;

	if (write(fd, line, strlen(line)) != (ssize_t)strlen(line) ||
	    read_line(fd, resp, cap) < 0)
		return 1;
	if ((j = json_loads(resp, 0, &je)) == NULL)
		return 2;
	if (json_is_true(json_object_get(j, "ok")))
		code = 0;
	else if (json_is_integer(json_object_get(j, "code")))
		code = json_integer_value(json_object_get(j, "code"));
	json_decref(j);
	return code;
}

static inline int
channel_with(const char *name, const struct keys *kn, int64_t from_days,
    int64_t to_days, int port)
{
	char h[300];
	struct keys k;
	struct agreement a;
	int64_t now = (int64_t)time(NULL);
	int r;

	snprintf(h, sizeof h, "%s/%s", tmpdir, name);
	if ((r = keys_create(h, name)) != 0 || (r = keys_load(&k, h)) != 0)
		return r;
	agreement_defaults(&a);
	snprintf(a.party[0].name, sizeof a.party[0].name, "north");
	memcpy(a.party[0].link_pub, kn->id.link_pub, 32);
	memcpy(a.party[0].sign_pub, kn->id.sign_pub, 32);
	snprintf(a.party[1].name, sizeof a.party[1].name, "%s", name);
	memcpy(a.party[1].link_pub, k.id.link_pub, 32);
	memcpy(a.party[1].sign_pub, k.id.sign_pub, 32);
	snprintf(a.party[0].paths[0], sizeof a.party[0].paths[0],
	    "127.0.0.1:%d", port);
	snprintf(a.party[1].paths[0], sizeof a.party[1].paths[0],
	    "127.0.0.1:%d", port + 1);
	a.npaths = 1;
	randombytes_buf(a.psk, sizeof a.psk);
	a.created = (uint64_t)(now + from_days * 86400);
	a.not_before = a.created;
	a.not_after = (uint64_t)(now + to_days * 86400);
	if ((r = agreement_finalize(&a)) == 0 &&
	    (r = agreement_sign(&a, kn)) == 0 &&
	    (r = agreement_sign(&a, &k)) == 0)
		r = agreement_install(home, &a);
	agreement_wipe(&a);
	keys_fini(&k);
	return r;
}

/* --- raw bodies (docs/control.md "Raw bodies"), on the channel to isle -- */

/* Starts the daemon again and waits until its control socket answers (the
 * file exists from bind(), before listen()). */
static inline void
start_again(void)
{
	int fd = -1;

	pid = spawn(home, logp);
	for (int i = 0; i < 3000 && (fd = connect_ctl()) < 0; i++)
		usleep(10000);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
}

/* Writes all of n bytes (short writes retried); 0 or -1. */
static inline int
put(int fd, const void *b, size_t n)
{
	const char *p = b;
	ssize_t k;

	while (n > 0) {
		if ((k = write(fd, p, n)) < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* The line of a request with members (JSON text without braces) and a
 * raw body of n bytes, into out: its length. */
static inline size_t
raw_line(char *out, size_t cap, const char *members, size_t n)
{
	return (size_t)snprintf(out, cap, "{%s,\"" CTL_BODY_FIELD "\":%zu}\n",
	    members, n);
}

/* A request line and its raw body in one write. */
static inline int
put_raw(int fd, const char *members, const void *body, size_t n)
{
	char line[512];

	return put(fd, line, raw_line(line, sizeof line, members, n)) == 0 &&
	    put(fd, body, n) == 0 ? 0 : -1;
}

/* The answer line on fd as JSON (NULL: none in 10 s or not JSON). */
static inline json_t *
answer(int fd)
{
	static char resp[65536];
	json_error_t je;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t n = 0;
	char c;

	while (n + 1 < sizeof resp) {
		if (poll(&pfd, 1, 10000) <= 0 || read(fd, &c, 1) != 1)
			return NULL;
		if (c == '\n')
			break;
		resp[n++] = c;
	}
	return json_loadb(resp, n, 0, &je);
}

/* An answer's error code (0: ok; 1: no answer) and its error text. */
static inline long long
code_of(json_t *a, char *err, size_t cap)
{
	json_t *e = json_object_get(a, "error");

	snprintf(err, cap, "%s", json_is_string(e) ? json_string_value(e) :
	    "");
	if (a == NULL)
		return 1;
	return json_is_true(json_object_get(a, "ok")) ? 0 :
	    json_integer_value(json_object_get(a, "code"));
}

static inline const char *
local_of(json_t *a)
{
	const char *s = json_string_value(json_object_get(json_object_get(a,
	    "result"), "local_id"));

	return s ? s : "";
}

/* show's result for a local id (new reference; NULL when refused). */
static inline json_t *
show(const char *local)
{
	json_t *r = call(home, json_pack("{s:s, s:s}", "cmd", "show", "id",
	    local)), *m = json_incref(json_object_get(r, "result"));

	json_decref(r);
	return m;
}

/* How many messages the store holds, both ways. */
static inline long long
stored(void)
{
	json_t *r = call(home, json_pack("{s:s, s:i}", "cmd", "log", "max",
	    100000));
	long long n = r ? (long long)json_array_size(json_object_get(
	    json_object_get(r, "result"), "messages")) : -1;

	json_decref(r);
	return n;
}

/* A text that JSON has to escape, in both forms: the same message, the
 * same audit entry. */
static const char text[] = "a \"quoted\" line\\ with\ttabs\nsecond line: "
    "\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa8 \x01 end";

#define SEND_ISLE "\"cmd\":\"send\",\"to\":\"isle\""

/* A program's start: $BUILD, SIGPIPE ignored, the time limit, north's
 * home made with its keys (no channel yet). False on failure, said with
 * a failed summary line. */
static inline bool
ctl_node_begin(void)
{
	const char *b = getenv("BUILD");

	if (sodium_init() < 0)
		return false;
	if (b && *b)
		snprintf(build, sizeof build, "%s", b);
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	alarm(120);
	if (mkdtemp(tmpdir) == NULL)
		return false;
	snprintf(home, sizeof home, "%s/north", tmpdir);
	snprintf(logp, sizeof logp, "%s/north.log", tmpdir);
	snprintf(sock, sizeof sock, "%s/%s", home, CTL_SOCKET_NAME);
	if (keys_create(home, "north") != 0) {
		printf("setup failed\n0 passed, 1 failed\n");
		return false;
	}
	return true;
}

/*
 * The state test_expiry leaves, for a program that starts after it: the
 * channels to south (expired) and to isle (ending in 5 days) installed in
 * north's home, their ports a free pair in [lo, hi); with start, the
 * daemon started and its control socket answering. False on failure,
 * said with a failed summary line.
 */
static inline bool
channels_ready(int lo, int hi, bool start)
{
	struct keys kn;
	int port = ports_pick(lo, hi, 2), fd = -1;
	bool ok;

	if (port < 0 || keys_load(&kn, home) != 0)
		ok = false;
	else {
		ok = channel_with("south", &kn, -30, -1, port) == 0 &&
		    channel_with("isle", &kn, -1, 5, port) == 0;
		keys_fini(&kn);
	}
	if (ok && start) {
		start_again();
		if ((fd = connect_ctl()) < 0)
			ok = false;
		else
			close(fd);
	}
	if (!ok)
		printf("setup failed\n0 passed, 1 failed\n");
	return ok;
}

/* A program's end: the daemon killed if it runs, the home removed; the
 * exit code. */
static inline int
ctl_node_end(void)
{
	char cmd[1300];

	if (pid > 0) {
		kill_pid(pid, SIGKILL);
		reap(pid, 2000);
	}
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
	(void)!system(cmd);
	return harness_summary();
}

#endif
