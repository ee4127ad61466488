/*
 * it_ctl.c: the control socket of a real parleyd (docs/control.md): the
 * socket's mode, one request per line and several per connection, the
 * error codes for bad JSON, a missing or unknown command, a line over
 * the cap (answered, then closed), the caller's uid and pid taken from
 * the kernel, a second daemon on the same home refused, parleyd.conf
 * refusals, and a clean stop that removes the socket.
 *
 * Then, with two channels installed (one expired, one ending in 5 days),
 * `parley status` shows and warns about both, and the expired one gets
 * no sessions. Raw bodies: it_ctl_raw.c; held sends and answers:
 * it_ctl_held.c.
 *
 * A node home with no channel, then two; ports 127.0.0.1, 29000-29999
 * (a free block of two, ports.h). Kills only its own children; removes
 * its temporary directory.
 */
#include "ctl_node.h"

/* Whether a line of the file at path contains s (the whole file: the
 * debug log grows past 64 KiB in test_output_backpressure). */
static bool
file_has(const char *path, const char *s)
{
	char line[4096];
	bool found = false;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return false;
	while (!found && fgets(line, sizeof line, f))
		found = strstr(line, s) != NULL;
	fclose(f);
	return found;
}

/* Polls path for s for up to ms. */
static bool
wait_file_has(const char *path, const char *s, int ms)
{
	for (int i = 0; i < ms / 20; i++) {
		if (file_has(path, s))
			return true;
		usleep(20000);
	}
	return file_has(path, s);
}

static void
test_start(void)
{
	struct stat sb;

	pid = spawn(home, logp);
	for (int i = 0; i < 300 && stat(sock, &sb) != 0; i++)
		usleep(10000);
	CHECK(stat(sock, &sb) == 0);
	CHECK(S_ISSOCK(sb.st_mode));
	CHECK_INT(sb.st_mode & 0777, 0600);
}

static void
test_requests(void)
{
	char resp[8192];
	int fd = connect_ctl();

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK_INT(ask(fd, "{\"cmd\":\"status\"}\n", resp, sizeof resp), 0);
	CHECK_CONTAINS(resp, "\"node\":\"north\"");
	CHECK_CONTAINS(resp, "\"channels\":[]");
	CHECK_CONTAINS(resp, "\"protocol\":4");
	/* several requests on one connection, errors do not close it */
	CHECK_INT(ask(fd, "not json\n", resp, sizeof resp), ERR_PARSE);
	CHECK_INT(ask(fd, "[1,2]\n", resp, sizeof resp), ERR_PARSE);
	CHECK_INT(ask(fd, "{\"command\":\"status\"}\n", resp, sizeof resp),
	    ERR_USAGE);
	CHECK_INT(ask(fd, "{\"cmd\":\"launch\"}\n", resp, sizeof resp),
	    ERR_USAGE);
	CHECK_CONTAINS(resp, "unknown command");
	/* a key twice: refused, whichever value a reader would take */
	CHECK_INT(ask(fd, "{\"cmd\":\"launch\",\"cmd\":\"status\"}\n", resp,
	    sizeof resp), ERR_PARSE);
	CHECK_CONTAINS(resp, "duplicate");
	CHECK_INT(ask(fd, "{\"cmd\":\"status\",\"x\":{\"a\":1,\"a\":2}}\n",
	    resp, sizeof resp), ERR_PARSE);
	CHECK_INT(ask(fd, "{\"cmd\":\"link-test\",\"channel\":\"00\"}\n", resp,
	    sizeof resp), ERR_USAGE);
	CHECK_INT(ask(fd, "{\"cmd\":\"status\"}\n", resp, sizeof resp), 0);
	close(fd);
	/* the caller's uid and pid, from the kernel, in the debug log */
	char want[64];
	snprintf(want, sizeof want, "uid %u gid %u pid %d", (unsigned)getuid(),
	    (unsigned)getgid(), (int)getpid());
	CHECK(wait_file_has(logp, want, 5000));
}

static void
test_too_long(void)
{
	static char big[CTL_REQUEST_MAX + 100];
	char resp[512];
	int fd = connect_ctl();

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	memset(big, 'x', sizeof big);
	/* the daemon may close before reading it all: ignore EPIPE */
	(void)!write(fd, big, sizeof big);
	CHECK(read_line(fd, resp, sizeof resp) > 0);
	CHECK_CONTAINS(resp, "too long");
	CHECK_CONTAINS(resp, "\"code\":-6");
	/* then closed */
	CHECK_INT(read_line(fd, resp, sizeof resp), -1);
	close(fd);
	/* and the daemon serves the next client */
	fd = connect_ctl();
	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK_INT(ask(fd, "{\"cmd\":\"status\"}\n", resp, sizeof resp),
		    0);
		close(fd);
	}
}

/*
 * A client that sends many requests without reading: the daemon stops
 * reading it once the answers queued pass CTL_RESPONSE_MAX and resumes as
 * they drain, so every answer still comes and memory stays bounded. A
 * child writes 100,000 status requests (over 10 MiB of answers) while the
 * parent does not read: the child must still be blocked 2 s later (the
 * daemon stopped reading; without the cap it would take all 1.7 MB of
 * requests at once). Then the parent reads every answer.
 */
static void
test_output_backpressure(void)
{
	enum { N = 100000 };
	static const char req[] = "{\"cmd\":\"status\"}\n";
	struct pollfd pfd;
	char buf[65536];
	long long lines = 0;
	pid_t w;
	ssize_t n;
	int fd = connect_ctl();

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	if ((w = fork()) == 0) {
		for (int i = 0; i < N; i++)
			if (write(fd, req, sizeof req - 1) !=
			    (ssize_t)sizeof req - 1)
				_exit(1);
		_exit(0);
	}
	usleep(2000000);
	CHECK(waitpid(w, NULL, WNOHANG) == 0);	/* still writing */
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (lines < N && poll(&pfd, 1, 10000) > 0) {
		if ((n = read(fd, buf, sizeof buf)) <= 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			lines += buf[i] == '\n';
	}
	CHECK_INT(lines, N);
	CHECK_INT(WEXITSTATUS(reap(w, 10000)), 0);
	close(fd);
	/* link-test is capped per request */
	fd = connect_ctl();
	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK_INT(ask(fd, "{\"cmd\":\"link-test\",\"channel\":\""
		    "0000000000000000000000000000000000000000000000000000000000000000"
		    "\",\"path\":0,\"count\":10001}\n", buf, sizeof buf),
		    ERR_USAGE);
		CHECK_CONTAINS(buf, "0..10000");
		close(fd);
	}
}

static void
test_second_daemon(void)
{
	char log2[1400];
	pid_t p2;
	int st;

	snprintf(log2, sizeof log2, "%s/second.log", tmpdir);
	p2 = spawn(home, log2);
	st = reap(p2, 5000);
	CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 1);
	if (st == -1) {
		kill_pid(p2, SIGKILL);
		reap(p2, 1000);
	}
	CHECK(file_has(log2, "another parleyd is running"));
	CHECK(file_has(log2, "parleyd.lock is held"));
	/* the first one still answers */
	CHECK(connect_ctl() >= 0);
}

static void
test_stop(void)
{
	struct stat sb;
	int st;

	kill_pid(pid, SIGTERM);
	st = reap(pid, 5000);
	pid = -1;
	CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK(stat(sock, &sb) != 0);
	CHECK(file_has(logp, "stopped"));
}

static void
test_bad_conf(void)
{
	static const char *bad[] = {
		"{\"rekey_recrods\": 5}", "{\"rekey_seconds\": 0}",
		"{\"handshake_timeout_ms\": \"5s\"}", "[1]", "{",
		"{\"listen\": [1]}",
		"{\"backoff_min_ms\": 5000, \"backoff_max_ms\": 100}",
		"{\"debug_powercut_kill_at\": 3}",
		"{\"debug_powercut\": false, \"debug_powercut_kill_at\": 3}",
	};
	char path[1300], log2[1400];
	int st;

	snprintf(path, sizeof path, "%s/parleyd.conf", home);
	snprintf(log2, sizeof log2, "%s/conf.log", tmpdir);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECK(write_conf(home, bad[i]) == 0);
		pid_t p = spawn(home, log2);
		st = reap(p, 5000);
		if (st == -1) {
			kill_pid(p, SIGKILL);
			reap(p, 1000);
		}
		CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 1);
	}
	CHECK(file_has(log2, "unknown setting \"rekey_recrods\""));
	CHECK(file_has(log2, "\"rekey_seconds\" must be 1..86400"));
	CHECK(file_has(log2, "\"debug_powercut_kill_at\" is a test of "
	    "power-cut mode: only with \"debug_powercut\": true"));
	unlink(path);
}

static void
test_expiry(void)
{
	struct keys kn;
	char cmd[1400], out[8192];
	int port = ports_pick(29000, 30000, 2);
	size_t n;
	FILE *p;
	struct stat sb;

	CHECK_INT(keys_load(&kn, home), 0);
	CHECK_INT(channel_with("south", &kn, -30, -1, port), 0);
	CHECK_INT(channel_with("isle", &kn, -1, 5, port), 0);
	keys_fini(&kn);
	pid = spawn(home, logp);
	for (int i = 0; i < 300 && stat(sock, &sb) != 0; i++)
		usleep(10000);
	snprintf(cmd, sizeof cmd, "%s/parley status --home %s 2>&1", build,
	    home);
	CHECK((p = popen(cmd, "r")) != NULL);
	if (p == NULL)
		return;
	n = fread(out, 1, sizeof out - 1, p);
	out[n] = '\0';
	CHECK_INT(WEXITSTATUS(pclose(p)), 0);
	CHECK_CONTAINS(out, "with south");
	CHECK_CONTAINS(out, "agreement expired");
	CHECK_CONTAINS(out, "agreement with south has EXPIRED");
	/* 5 days minus the seconds since it was made: 4 or 5 */
	CHECK(strstr(out, "agreement with isle expires in 4 days") ||
	    strstr(out, "agreement with isle expires in 5 days"));
	CHECK_CONTAINS(out, "parley status: warning:");
	CHECK(file_has(logp, "with south: agreement expired; no sessions"));
	snprintf(cmd, sizeof cmd, "%s/parley status --json --home %s", build,
	    home);
	CHECK((p = popen(cmd, "r")) != NULL);
	if (p) {
		json_error_t je;
		json_t *j = json_loadf(p, 0, &je);
		CHECK_INT(json_array_size(json_object_get(j, "warnings")), 2);
		CHECK_INT(json_array_size(json_object_get(j, "channels")), 2);
		json_decref(j);
		pclose(p);
	}
	/* gone before the next start takes the home (under ASan and a busy
	 * machine a stop can take seconds: the next daemon then found the
	 * lock held, and the raw tests a socket nobody answered) */
	kill_pid(pid, SIGTERM);
	if (reap(pid, 30000) == -1) {
		kill_pid(pid, SIGKILL);
		reap(pid, 5000);
	}
	pid = -1;
}

int
main(void)
{
	if (!ctl_node_begin())
		return 1;
	RUN(test_start);
	RUN(test_requests);
	RUN(test_too_long);
	RUN(test_output_backpressure);
	RUN(test_second_daemon);
	RUN(test_stop);
	RUN(test_bad_conf);
	RUN(test_expiry);
	return ctl_node_end();
}
