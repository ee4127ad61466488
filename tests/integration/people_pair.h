/*
 * people_pair.h: what it_people.c and it_people_owed.c share: the
 * north/south pair of daemon_util.h (DAEMON_PAIR) with roles.json (duty
 * officers Maj. Aster and Capt. Lark, an auditor, a principal, a
 * communications officer), control_group 60100, alert_command appending
 * to a file per side and a FLASH deadline of 2 s; a request made as a test
 * uid (a child that drops to it, so SO_PEERCRED says who it is) and waits
 * on what status, show and the alerts say; a program's start and end.
 * The including program runs as root.
 */
#ifndef PARLEY_TESTS_PEOPLE_PAIR_H
#define PARLEY_TESTS_PEOPLE_PAIR_H

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../harness.h"
#include "base/hex.h"
#include "crypto/agreement.h"
#include "crypto/keys.h"
#include "ctl/ctl.h"
#include "ports.h"

#define DAEMON_PAIR
#define DAEMON_LOG_LEVEL "debug"
#include "daemon_util.h"

#define TIME_LIMIT_S 150
#define GROUP 60100
#define DUTY 60001
#define AUDITOR 60002
#define PRINCIPAL 60003
#define COMMS 60004
#define NOBODY 60099

static char tmpdir[] = "/tmp/parley-it-people-XXXXXX";
static char alerts_n[1300], alerts_s[1300];

/* --- operators ------------------------------------------------------------ */

/*
 * One request (stolen) as uid: a child drops to uid and the control group
 * and calls the daemon; its whole response (caller decrefs), or NULL.
 */
static inline json_t *
call_as(uid_t uid, const char *home, json_t *req)
{
	char buf[1 << 16];
	size_t n = 0;
	ssize_t k;
	int p[2];
	pid_t pid;

	if (req == NULL || pipe(p) != 0) {
		json_decref(req);
		return NULL;
	}
	if ((pid = fork()) == 0) {
		gid_t g = GROUP;
		json_t *resp = NULL;
		char *s;

		close(p[0]);
		if (uid != 0 && (setgroups(1, &g) != 0 || setgid(g) != 0 ||
		    setuid(uid) != 0))
			_exit(2);
		if (ctl_call(home, req, &resp) != 0 ||
		    (s = json_dumps(resp, JSON_COMPACT)) == NULL)
			_exit(3);
		(void)!write(p[1], s, strlen(s));
		_exit(0);
	}
	close(p[1]);
	json_decref(req);
	while (pid > 0 && n < sizeof buf - 1 && (k = read(p[0], buf + n,
	    sizeof buf - 1 - n)) > 0)
		n += (size_t)k;
	close(p[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	buf[n] = '\0';
	return n ? json_loads(buf, 0, NULL) : NULL;
}

/* The result of a request that must succeed (new reference), or NULL. */
static inline json_t *
ok_as(uid_t uid, const char *home, json_t *req)
{
	json_t *r = call_as(uid, home, req), *res = NULL;

	if (r && json_is_true(json_object_get(r, "ok")))
		res = json_incref(json_object_get(r, "result"));
	else
		printf("  refused or failed: %s\n", r ? json_string_value(
		    json_object_get(r, "error")) : "(no answer)");
	json_decref(r);
	return res;
}

/* A message's "show" result by id or local id, or NULL. */
static inline json_t *
show(const char *home, const char *id)
{
	json_t *r = call_as(0, home, json_pack("{s:s, s:s}", "cmd", "show",
	    "id", id)), *res = NULL;

	if (r && json_is_true(json_object_get(r, "ok")))
		res = json_incref(json_object_get(r, "result"));
	json_decref(r);
	return res;
}

/* The message id of a local id at home, waiting for its place (or ""). */
static inline bool
id_of(const char *home, const char *local, char out[65], int ms)
{
	uint64_t t0 = now_ms();

	do {
		json_t *m = show(home, local);
		const char *id = m ? json_string_value(json_object_get(m,
		    "id")) : NULL;
		bool got = id && strlen(id) == 64;
		if (got)
			memcpy(out, id, 65);
		json_decref(m);
		if (got)
			return true;
		usleep(50000);
	} while (now_ms() - t0 < (uint64_t)ms);
	return false;
}

/* Waits until home's show of id has field == value (string). */
static inline bool
wait_field(const char *home, const char *id, const char *field,
    const char *value, int ms)
{
	uint64_t t0 = now_ms();

	do {
		json_t *m = show(home, id);
		const char *v = m ? json_string_value(json_object_get(m,
		    field)) : NULL;
		bool ok = v && strcmp(v, value) == 0;
		json_decref(m);
		if (ok)
			return true;
		usleep(50000);
	} while (now_ms() - t0 < (uint64_t)ms);
	printf("  %s: %s never became %s\n", home, field, value);
	return false;
}

/* The alerts (all) of home as one JSON text (caller frees), or NULL. */
static inline char *
alerts_text(const char *home)
{
	json_t *r = ok_as(AUDITOR, home, json_pack("{s:s, s:b}", "cmd",
	    "alerts", "all", 1));
	char *s = r ? json_dumps(r, JSON_COMPACT) : NULL;

	json_decref(r);
	return s;
}

static inline bool
wait_alert(const char *home, const char *needle, int ms)
{
	uint64_t t0 = now_ms();

	do {
		char *s = alerts_text(home);
		bool ok = s && strstr(s, needle);
		free(s);
		if (ok)
			return true;
		usleep(100000);
	} while (now_ms() - t0 < (uint64_t)ms);
	printf("  %s: no alert with %s\n", home, needle);
	return false;
}

/* True when the file at path holds needle, waiting up to ms (0: look
 * once, quietly). Reads the whole file. */
static inline bool
file_has(const char *path, const char *needle, int ms)
{
	uint64_t t0 = now_ms();

	do {
		FILE *f = fopen(path, "r");
		char *buf = NULL;
		long len;
		bool found = false;

		if (f && fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 &&
		    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)len +
		    1)) != NULL) {
			size_t n = fread(buf, 1, (size_t)len, f);
			buf[n] = '\0';
			found = strstr(buf, needle) != NULL;
		}
		free(buf);
		if (f)
			fclose(f);
		if (found)
			return true;
		if (ms > 0)
			usleep(100000);
	} while (now_ms() - t0 < (uint64_t)ms);
	if (ms > 0)
		printf("  %s has no %s\n", path, needle);
	return false;
}

/* parley() (daemon_util.h) runs as root here: the harness, communications
 * officer and auditor in roles.json. */

/* --- setup ---------------------------------------------------------------- */

static inline int
write_file(const char *home, const char *name, const char *text)
{
	char path[1300];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", home, name);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static inline int
write_roles(const char *home, const char *duty_name)
{
	char text[1024];

	snprintf(text, sizeof text, "{\"version\": 1, \"operators\": [\n"
	    " {\"uid\": 0, \"name\": \"Test Harness\", \"roles\": "
	    "[\"communications-officer\", \"auditor\"]},\n"
	    " {\"uid\": %d, \"name\": \"%s\", \"roles\": [\"duty-officer\"]},\n"
	    " {\"uid\": %d, \"name\": \"Sgt. Example\", \"roles\": "
	    "[\"auditor\"]},\n"
	    " {\"uid\": %d, \"name\": \"Col. Birch\", \"roles\": "
	    "[\"principal\"]},\n"
	    " {\"uid\": %d, \"name\": \"Lt. Reed\", \"roles\": "
	    "[\"communications-officer\"]}]}\n", DUTY, duty_name, AUDITOR,
	    PRINCIPAL, COMMS);
	return write_file(home, "roles.json", text);
}

/* The pair's homes and agreement (daemon_util.h, a FLASH's ACK due in
 * 2 s: --deadline flash=2), each side's parleyd.conf (alert_command
 * appending to an alerts file), roles.json. */
static inline bool
people_setup(void)
{
	char *homes[2] = { home_n, home_s }, *files[2] = { alerts_n, alerts_s };
	const char *names[2] = { "north", "south" };
	const char *duty[2] = { "Maj. Aster", "Capt. Lark" };
	char conf[2048];

	if (!pair_agreement(tmpdir, 2))
		return false;
	for (int i = 0; i < 2; i++) {
		snprintf(files[i], sizeof alerts_n, "%s/%s-alerts.json", tmpdir,
		    names[i]);
		snprintf(conf, sizeof conf, "{\"handshake_timeout_ms\": 1000, "
		    "\"backoff_min_ms\": 50, \"backoff_max_ms\": 500, "
		    "\"debug_inject\": true, \"control_group\": %d, "
		    "\"alert_command\": [\"/bin/sh\", \"-c\", \"cat >> %s\"]}\n",
		    GROUP, files[i]);
		if (write_file(homes[i], "parleyd.conf", conf) != 0 ||
		    write_roles(homes[i], duty[i]) != 0)
			return false;
	}
	snprintf(log_n, sizeof log_n, "%s/north.log", tmpdir);
	snprintf(log_s, sizeof log_s, "%s/south.log", tmpdir);
	return true;
}

static inline bool
wait_up(const char *home, int ms)
{
	uint64_t t0 = now_ms();

	do {
		json_t *r = call_as(0, home, json_pack("{s:s}", "cmd",
		    "status"));
		json_t *m = json_object_get(json_array_get(json_object_get(
		    json_object_get(r, "result"), "channels"), 0), "messages");
		bool ok = json_is_true(json_object_get(m, "synced"));
		json_decref(r);
		if (ok)
			return true;
		usleep(50000);
	} while (now_ms() - t0 < (uint64_t)ms);
	return false;
}

/* A program's start: its time limit (which kills the daemons), root
 * checked, a free block of 4 ports in [lo, hi), tmpdir (mode 0711, for the
 * test uids) and the pair's homes; false (the summary printed) when it
 * cannot. No daemon runs yet. */
static inline bool
people_begin(const char *prog, int lo, int hi)
{
	if (sodium_init() < 0)
		return false;
	time_limit_kills(&pid_n);
	time_limit_kills(&pid_s);
	program_begin(prog, TIME_LIMIT_S);
	if (geteuid() != 0) {
		printf("%s must run as root (it acts as test uids)\n"
		    "0 passed, 1 failed\n", prog);
		return false;
	}
	if ((port_base = ports_pick(lo, hi, 4)) < 0 ||
	    mkdtemp(tmpdir) == NULL || chmod(tmpdir, 0711) != 0) {
		printf("cannot set up\n0 passed, 1 failed\n");
		return false;
	}
	if (!people_setup()) {
		printf("setup failed\n0 passed, 1 failed\n");
		return false;
	}
	return true;
}

/* A program's end: the tails of the logs when a test failed, keys and
 * agreement wiped, tmpdir removed; the exit code. */
static inline int
people_end(void)
{
	char cmd[3000];

	if (harness_failed) {
		snprintf(cmd, sizeof cmd, "echo '--- north.log ---'; tail -n 30 "
		    "%s; echo '--- south.log ---'; tail -n 30 %s", log_n,
		    log_s);
		(void)!system(cmd);
	}
	keys_fini(&k_n);
	keys_fini(&k_s);
	agreement_wipe(&ag);
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
	(void)!system(cmd);
	return harness_summary();
}

#endif
