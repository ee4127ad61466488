/*
 * link_nodes.h: what it_link.c and it_link_strangers.c share: three node
 * homes (north, south, isle) and their channel agreements, made with the
 * library under tmpdir (north-south installed on both, isle-south on
 * south, isle-north nowhere) with this file's parleyd.conf; the daemons'
 * pids and logs; status and its paths through the control socket, and
 * waits on them; a daemon stopped cleanly on SIGTERM; a program's start
 * and end. Ports: a free block of 20 in the program's own range
 * (ports.h).
 */
#ifndef PARLEY_TESTS_LINK_NODES_H
#define PARLEY_TESTS_LINK_NODES_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../harness.h"
#include "ports.h"
#include "base/hex.h"
#include "crypto/agreement.h"
#include "crypto/keys.h"
#include "ctl/ctl.h"
#include "link/handshake.h"

#define DAEMON_LOG_LEVEL "info"
#include "daemon_util.h"

#define TIME_LIMIT_S 150
#define HEARTBEAT_MS 1000

static char tmpdir[64];
static int port_base;
static char home_n[1200], home_s[1200], home_i[1200];
static char log_n[1300], log_s[1300];
static pid_t pid_n = -1, pid_s = -1;
static struct agreement ag_ns, ag_is, ag_in;	/* north-south, isle-south,
						   isle-north (not installed) */
static struct agreement ag_dup;		/* north-south through tools/gate */
static struct keys k_n, k_s, k_i;

/* --- processes ------------------------------------------------------ */

static inline void
kill_all(void)
{
	if (pid_n > 0) {
		kill_pid(pid_n, SIGKILL);
		reap(pid_n, 2000);
		pid_n = -1;
	}
	if (pid_s > 0) {
		kill_pid(pid_s, SIGKILL);
		reap(pid_s, 2000);
		pid_s = -1;
	}
}

/* --- control socket -------------------------------------------------- */

static inline json_t *
status(const char *home)
{
	json_t *req = json_pack("{s:s}", "cmd", "status"), *resp = NULL, *r;

	if (ctl_call(home, req, &resp) != 0)
		resp = NULL;
	json_decref(req);
	if (resp == NULL)
		return NULL;
	r = json_object_get(resp, "result");
	json_incref(r);
	json_decref(resp);
	return r;
}

/* The status of path p of channel a in a status result, or NULL. */
static inline json_t *
chan_path(json_t *st, const struct agreement *a, unsigned p)
{
	char id[2 * AGREEMENT_ID_LEN + 1];
	json_t *c;
	size_t i;

	hex_encode(id, a->id, AGREEMENT_ID_LEN);
	json_array_foreach(json_object_get(st, "channels"), i, c)
		if (strcmp(json_string_value(json_object_get(c, "id")), id)
		    == 0)
			return json_array_get(json_object_get(c, "paths"), p);
	return NULL;
}

static inline json_t *
ns_path(json_t *st, unsigned p)
{
	return chan_path(st, &ag_ns, p);
}

static inline long long
path_int(const char *home, unsigned p, const char *field)
{
	json_t *st = status(home);
	long long v = -1;

	if (st && ns_path(st, p))
		v = json_integer_value(json_object_get(ns_path(st, p), field));
	json_decref(st);
	return v;
}

/* Number of north-south paths up at home (-1: no answer). */
static inline int
paths_up(const char *home)
{
	json_t *st = status(home);
	int n = 0;

	if (st == NULL)
		return -1;
	for (unsigned p = 0; p < 2; p++)
		if (ns_path(st, p) &&
		    json_is_true(json_object_get(ns_path(st, p), "up")))
			n++;
	json_decref(st);
	return n;
}

/* Waits until ms after t0 (monotonic ms) for paths_up(home) == want;
 * returns the ms since t0 it took, or -1. */
static inline long long
wait_up_since(const char *home, int want, uint64_t t0, int ms)
{
	while (now_ms() - t0 < (uint64_t)ms) {
		if (paths_up(home) == want)
			return (long long)(now_ms() - t0);
		usleep(20000);
	}
	return -1;
}

static inline long long
wait_up(const char *home, int want, int ms)
{
	return wait_up_since(home, want, now_ms(), ms);
}

/* Waits up to ms for home's daemon to answer status, channel or not
 * (daemon_util.h's wait_daemon wants a channel). */
static inline bool
wait_status(const char *home, int ms)
{
	uint64_t t0 = now_ms();

	while (now_ms() - t0 < (uint64_t)ms) {
		json_t *st = status(home);
		if (st) {
			json_decref(st);
			return true;
		}
		usleep(20000);
	}
	return false;
}

/* --- setup --------------------------------------------------------------- */

static inline int
make_node(char *home, size_t cap, const char *name, struct keys *k)
{
	snprintf(home, cap, "%s/%s", tmpdir, name);
	if (keys_create(home, name) != 0)
		return -1;
	return keys_load(k, home);
}

static inline int
make_agreement(struct agreement *a, const struct keys *x, const int *xports,
    const struct keys *y, const int *yports, unsigned npaths,
    uint64_t days)
{
	const struct keys *ks[2] = { x, y };
	const int *ports[2] = { xports, yports };
	int r;

	agreement_defaults(a);
	for (int i = 0; i < 2; i++) {
		struct agreement_party *p = &a->party[i];
		snprintf(p->name, sizeof p->name, "%s", ks[i]->id.name);
		memcpy(p->link_pub, ks[i]->id.link_pub, KEYS_PUB_LEN);
		memcpy(p->sign_pub, ks[i]->id.sign_pub, KEYS_PUB_LEN);
		for (unsigned j = 0; j < npaths; j++)
			snprintf(p->paths[j], sizeof p->paths[j],
			    "127.0.0.1:%d", ports[i][j]);
	}
	a->npaths = (uint8_t)npaths;
	randombytes_buf(a->psk, sizeof a->psk);
	a->created = (uint64_t)time(NULL) - 60;
	a->not_before = a->created;
	a->not_after = (uint64_t)time(NULL) + days * 86400u;
	a->heartbeat_s = HEARTBEAT_MS / 1000;
	if ((r = agreement_finalize(a)) != 0 ||
	    (r = agreement_sign(a, x)) != 0 || (r = agreement_sign(a, y)) != 0)
		return r;
	return 0;
}

static const char *conf =
    "{\"rekey_records\": 50, \"handshake_timeout_ms\": 1000,\n"
    " \"backoff_min_ms\": 100, \"backoff_max_ms\": 1000,\n"
    " \"pending_max\": 16}\n";

static inline bool
setup(void)
{
	int pn[2], ps[2], pi[1], ps2[1], pn2[1];

	pn[0] = port_base;
	pn[1] = port_base + 1;
	ps[0] = port_base + 2;
	ps[1] = port_base + 3;
	pi[0] = port_base + 4;
	ps2[0] = port_base + 5;
	pn2[0] = port_base + 6;
	if (make_node(home_n, sizeof home_n, "north", &k_n) != 0 ||
	    make_node(home_s, sizeof home_s, "south", &k_s) != 0 ||
	    make_node(home_i, sizeof home_i, "isle", &k_i) != 0)
		return false;
	if (make_agreement(&ag_ns, &k_n, pn, &k_s, ps, 2, 365) != 0 ||
	    make_agreement(&ag_is, &k_i, pi, &k_s, ps2, 1, 10) != 0 ||
	    make_agreement(&ag_in, &k_i, pi, &k_n, pn2, 1, 365) != 0)
		return false;
	if (agreement_install(home_n, &ag_ns) != 0 ||
	    agreement_install(home_s, &ag_ns) != 0 ||
	    agreement_install(home_s, &ag_is) != 0)
		return false;
	if (write_conf(home_n, conf) != 0 || write_conf(home_s, conf) != 0)
		return false;
	snprintf(log_n, sizeof log_n, "%s/north.log", tmpdir);
	snprintf(log_s, sizeof log_s, "%s/south.log", tmpdir);
	return true;
}

static inline bool
stop_clean(pid_t *pid, const char *home)
{
	char sock[1300];
	struct stat sb;
	int st;

	kill_pid(*pid, SIGTERM);
	st = reap(*pid, 5000);
	*pid = -1;
	snprintf(sock, sizeof sock, "%s/%s", home, CTL_SOCKET_NAME);
	return st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0 &&
	    stat(sock, &sb) != 0;
}

/* A program's start: its time limit (which kills the daemons), a free
 * block of 20 ports in [lo, hi), tmpdir made from template (for mkdtemp),
 * and the three homes with their agreements and parleyd.conf; false (the
 * summary printed) when it cannot. No daemon runs yet. */
static inline bool
link_nodes_begin(const char *prog, int lo, int hi, const char *template)
{
	if (sodium_init() < 0)
		return false;
	time_limit_kills(&pid_n);
	time_limit_kills(&pid_s);
	program_begin(prog, TIME_LIMIT_S);
	if ((port_base = ports_pick(lo, hi, 20)) < 0) {
		printf("no free block of ports\n0 passed, 1 failed\n");
		return false;
	}
	snprintf(tmpdir, sizeof tmpdir, "%s", template);
	if (mkdtemp(tmpdir) == NULL) {
		printf("cannot make a temporary directory\n0 passed, 1 failed\n");
		return false;
	}
	if (!setup()) {
		printf("setup failed\n0 passed, 1 failed\n");
		return false;
	}
	return true;
}

/* A program's end: the daemons killed, the tails of their logs shown
 * when a test failed, keys and agreements wiped, tmpdir removed; the
 * exit code. */
static inline int
link_nodes_end(void)
{
	char cmd[3000];

	kill_all();
	if (harness_failed) {
		printf("--- north.log (tail) ---\n");
		snprintf(cmd, sizeof cmd, "tail -n 30 %s; echo '--- south.log "
		    "(tail) ---'; tail -n 40 %s", log_n, log_s);
		(void)!system(cmd);
	}
	keys_fini(&k_n);
	keys_fini(&k_s);
	keys_fini(&k_i);
	agreement_wipe(&ag_ns);
	agreement_wipe(&ag_is);
	agreement_wipe(&ag_in);
	agreement_wipe(&ag_dup);
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
	(void)!system(cmd);
	return harness_summary();
}

#endif
