/*
 * it_powercut.c: two real parleyd, north and south, in power-cut mode
 * ("debug_powercut": true: their stores hold every write in memory until
 * the file's sync, docs/store.md "Power-cut mode"), so each SIGKILL
 * loses what a power cut would. Traffic both ways on pipelined control
 * connections, a quarter of the sends with "wait": true (answered at the
 * peer's receipt), the rest answered at the commit; in each of 14 rounds
 * (fixed seed) one daemon is killed 0 to 15 ms (two rounds in three:
 * while the sends are being committed) or 0 to 150 ms after the round's
 * sends were written, its store is checked while it is down, and it is
 * restarted. Then 4 rounds in which south kills itself exactly at a WAL
 * sync ("debug_powercut_kill_at") while north sends with "wait": true.
 *
 * While the victim is down, its store (opened read-only by this test:
 * the WAL index is rebuilt from what was synced) holds every send it
 * answered ok and every message whose receipt its peer reported; checked
 * then, before the peer can send it again. At the end, with both
 * stopped, chain_check.h: every acknowledged send in both stores once,
 * the receipted ones in the receiver's, both chains gapless with the same
 * ids, nothing twice.
 *
 * Ports: 127.0.0.1, 15000-15999 (ports.h). Kills only its own children;
 * removes its temporary directory; bounded by an alarm.
 */
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../harness.h"
#include "ports.h"
#include "ctl/ctl.h"
#include "store/record.h"
#include "store/store.h"

#define DAEMON_PAIR
#define DAEMON_LOG_LEVEL "info"
#include "daemon_util.h"
#include "chain_check.h"

#define TIME_LIMIT_S 150
#define ROUNDS 14
#define BATCH_MAX 40			/* sends per daemon per round */
#define SYNC_ROUNDS 4			/* south killed at a WAL sync */
#define SYNC_BATCH 10			/* north's sends per batch there */
#define SYNC_SENDS 80			/* at most, per such round */
#define CONN_MAX SYNC_SENDS		/* sends per connection */
#define N_MAX (ROUNDS * BATCH_MAX + SYNC_ROUNDS * SYNC_SENDS)

static char tmpdir[] = "/tmp/parley-it-pc-XXXXXX";

static const char *conf =
    "{\"handshake_timeout_ms\": 1000, \"backoff_min_ms\": 50,\n"
    " \"backoff_max_ms\": 500, \"debug_powercut\": true}\n";

/* the same, and south kills itself at its k-th WAL sync since start */
#define CONF_KILL_AT \
    "{\"handshake_timeout_ms\": 1000, \"backoff_min_ms\": 50,\n" \
    " \"backoff_max_ms\": 500, \"debug_powercut\": true,\n" \
    " \"debug_powercut_kill_at\": %d}\n"

static const char *prefix[2] = { "n2s", "s2n" };
static int sends[2];			/* the next send's number, each way */
static uint8_t acked[2][N_MAX], receipted[2][N_MAX];

/* One pipelined control connection and the sends it carries, in order:
 * their numbers (the N of "PREFIX N") and how many are answered. */
struct conn {
	int fd;
	int from;			/* 0 north, 1 south */
	int t[CONN_MAX], n, answered;
	char buf[1 << 16];
	size_t have;
};

static bool
conn_open(struct conn *c, int from, const char *home)
{
	struct sockaddr_un sun;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s/%s", home,
	    CTL_SOCKET_NAME);
	c->from = from;
	c->n = c->answered = 0;
	c->have = 0;
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sun, sizeof sun)
	    != 0) {
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
		return false;
	}
	return true;
}

/* Writes n sends from *next on, a quarter with "wait" (all with
 * all_wait). */
static bool
conn_send(struct conn *c, int n, int *next, bool all_wait)
{
	static char req[BATCH_MAX * 128];
	size_t len = 0;

	if (n > BATCH_MAX || c->n + n > CONN_MAX)
		return false;
	for (int i = 0; i < n; i++) {
		c->t[c->n++] = *next;
		len += (size_t)snprintf(req + len, sizeof req - len,
		    "{\"cmd\":\"send\",\"text\":\"%s %d\"%s}\n",
		    prefix[c->from], (*next)++, all_wait || rand() % 4 == 0 ?
		    ",\"wait\":true" : "");
	}
	return write(c->fd, req, len) == (ssize_t)len;
}

/* Reads answers until all are in, the connection ends, ms pass or (quiet
 * > 0) nothing came for quiet ms; records what each says. */
static void
conn_read_quiet(struct conn *c, int ms, int quiet)
{
	uint64_t t0 = now_ms(), last = t0;
	struct pollfd pfd;
	const char *state;
	char *nl;
	json_t *o;
	ssize_t k;
	int left, t;

	while (c->fd >= 0 && c->answered < c->n) {
		if ((nl = memchr(c->buf, '\n', c->have)) != NULL) {
			t = c->t[c->answered++];
			*nl = '\0';
			o = json_loads(c->buf, 0, NULL);
			if (json_is_true(json_object_get(o, "ok"))) {
				acked[c->from][t] = 1;
				state = json_string_value(json_object_get(
				    json_object_get(o, "result"), "state"));
				if (state && strcmp(state, "receipted") == 0)
					receipted[c->from][t] = 1;
			}
			json_decref(o);
			c->have -= (size_t)(nl + 1 - c->buf);
			memmove(c->buf, nl + 1, c->have);
			continue;
		}
		pfd.fd = c->fd;
		pfd.events = POLLIN;
		left = ms - (int)(now_ms() - t0);
		if (quiet > 0 && quiet - (int)(now_ms() - last) < left)
			left = quiet - (int)(now_ms() - last);
		if (left <= 0 || poll(&pfd, 1, left) <= 0)
			return;
		last = now_ms();
		if ((k = read(c->fd, c->buf + c->have, sizeof c->buf - 1 -
		    c->have)) <= 0) {
			close(c->fd);
			c->fd = -1;
			return;
		}
		c->have += (size_t)k;
	}
}

static void
conn_read(struct conn *c, int ms)
{
	conn_read_quiet(c, ms, 0);
}

static void
conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* The test bodies of chain (sender) at home, as a store listing sees
 * them (queued ones too). */
struct seen {
	uint8_t *have;			/* [N_MAX] */
	const char *prefix;
};

static int
seen_row(void *arg, struct store_msg *m)
{
	struct seen *s = arg;
	size_t plen = strlen(s->prefix);
	char text[64];
	int t;

	if (m->body_len < plen + 2 || m->body_len >= sizeof text)
		return 0;
	memcpy(text, m->body, m->body_len);
	text[m->body_len] = '\0';
	if (strncmp(text, s->prefix, plen) == 0 && text[plen] == ' ' &&
	    (t = atoi(text + plen + 1)) >= 0 && t < N_MAX)
		s->have[t]++;
	return 0;
}

/*
 * The victim v down: its store holds each send it answered ok (its own
 * messages) and each of the peer's sends the peer was told is receipted.
 * Returns the number missing.
 */
static int
check_down(int v)
{
	const char *home = v ? home_s : home_n;
	static uint8_t own[N_MAX], peer[N_MAX];
	struct seen so = { own, prefix[v] }, sp = { peer, prefix[1 - v] };
	struct store *s = NULL;
	int missing = 0;

	memset(own, 0, sizeof own);
	memset(peer, 0, sizeof peer);
	if (store_open_home_readonly(&s, home) != 0) {
		printf("  %s's store does not open: %s\n", v ? "south" :
		    "north", store_open_error());
		return 1;
	}
	CHECK(store_list(s, ag.id, STORE_OUT, 100000, seen_row, &so) == 0);
	CHECK(store_list(s, ag.id, STORE_IN, 100000, seen_row, &sp) == 0);
	store_close(s);
	for (int t = 0; t < N_MAX; t++) {
		if (acked[v][t] && own[t] != 1 && missing++ < 10)
			printf("  after the cut, %s holds \"%s %d\" %d times; "
			    "it answered ok\n", v ? "south" : "north",
			    prefix[v], t, own[t]);
		if (receipted[1 - v][t] && peer[t] != 1 && missing++ < 10)
			printf("  after the cut, %s holds \"%s %d\" %d times; "
			    "its peer was told it is receipted\n", v ?
			    "south" : "north", prefix[1 - v], t, peer[t]);
	}
	return missing;
}

static void
test_power_cuts(void)
{
	const char *homes[2] = { home_n, home_s };
	const char *logs[2] = { log_n, log_s };
	pid_t *pids[2] = { &pid_n, &pid_s };
	struct conn c[2];
	int kills[2] = { 0, 0 }, missing = 0;
	int unanswered = 0;
	uint64_t t0 = now_ms();

	srand(20261201);
	CHECK(start(&pid_n, home_n, log_n));
	CHECK(start(&pid_s, home_s, log_s));
	CHECK(wait_synced(15000));
	for (int round = 0; round < ROUNDS; round++) {
		int v = rand() % 2, delay = rand() % 3 ? rand() % 15 :
		    rand() % 150;

		for (int i = 0; i < 2; i++) {
			int n = 10 + rand() % (BATCH_MAX - 10);
			CHECK(conn_open(&c[i], i, homes[i]));
			CHECK(c[i].fd < 0 || conn_send(&c[i], n, &sends[i],
			    false));
		}
		usleep((useconds_t)delay * 1000);
		kill_pid(*pids[v], SIGKILL);
		CHECK(reap(*pids[v], 5000) >= 0);
		*pids[v] = -1;
		kills[v]++;
		/* what the victim answered before it died; what the peer
		 * answers without it (sends at the commit, and receipts that
		 * came before the cut), until it has been quiet for 1 s */
		conn_read(&c[v], 5000);
		conn_read_quiet(&c[1 - v], 10000, 1000);
		missing += check_down(v);
		CHECK(start(pids[v], homes[v], logs[v]));
		/* the peer's sends that wait for receipts from the victim */
		conn_read(&c[1 - v], 30000);
		for (int i = 0; i < 2; i++) {
			unanswered += c[i].n - c[i].answered;
			conn_close(&c[i]);
		}
	}
	printf("  %d power cuts (%d north, %d south) in %.1f s; sent %d "
	    "north->south, %d south->north; %d unanswered (their daemon "
	    "died); %d missing after a cut\n", kills[0] + kills[1], kills[0],
	    kills[1], (double)(now_ms() - t0) / 1000, sends[0], sends[1],
	    unanswered, missing);
	CHECK(kills[0] >= 3 && kills[1] >= 3);
	CHECK_INT(missing, 0);
}

#define KILL_LINE "debug_powercut_kill_at: SIGKILL at WAL sync"

/* Lines of the log at path containing s. */
static int
log_count(const char *path, const char *s)
{
	char line[2048];
	FILE *f = fopen(path, "r");
	int n = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof line, f))
		n += strstr(line, s) != NULL;
	fclose(f);
	return n;
}

/*
 * South restarted with "debug_powercut_kill_at": k (k from 4 to 8: its
 * start makes 2 or 3 WAL syncs, the WAL's presize among them, and each
 * batch north sends at least one more; a start that made k of them, with
 * north's resends or the evidence of an audit anchor ask, is made again
 * with k 3 higher), and north sends batches with
 * "wait": true until south kills itself just before its k-th WAL sync,
 * a power cut exactly at a commit's sync (the random kills above almost
 * never land in that ~0.5 ms). Every message north was told is receipted
 * must be in south's store: a receipt sent before its commit returned is
 * found here. South then restarts without the knob.
 */
static void
test_kill_at_sync(void)
{
	int killed = 0, missing = 0, receipted_before = 0, st = 0;
	char text[512];
	struct conn c;

	for (int round = 0; round < SYNC_ROUNDS; round++) {
		int k = 4 + rand() % 5, rc0 = 0, rc1 = 0;
		int kills0 = log_count(log_s, KILL_LINE);
		bool dead = false;

		/* its start's syncs are past; the k-th comes with traffic.
		 * A start can make more than k (the peer's resends of the
		 * last round, the evidence of its audit anchor ask): south
		 * then died before it synced, at a start's sync; that round
		 * goes again with a later k (at most 3 times) */
		for (int again = 0;; again++, k += 3) {
			stop(&pid_s);
			snprintf(text, sizeof text, CONF_KILL_AT, k);
			CHECK_INT(write_conf(home_s, text), 0);
			CHECK(start(&pid_s, home_s, log_s));
			bool up = wait_synced(15000);
			pid_t w = waitpid(pid_s, &st, WNOHANG);
			if (up && w == 0)
				break;
			CHECK(again < 3);
			if (w == pid_s || reap(pid_s, 5000) != -1)
				pid_s = -1;	/* dead: nothing to stop */
			if (again >= 3)
				break;
			kills0 = log_count(log_s, KILL_LINE);
		}
		CHECK(conn_open(&c, 0, home_n));
		for (int t = 0; t < N_MAX; t++)
			rc0 += receipted[0][t];
		for (int b = 0; !dead && c.fd >= 0 && b < SYNC_SENDS /
		    SYNC_BATCH; b++) {
			CHECK(conn_send(&c, SYNC_BATCH, &sends[0], true));
			/* answered at south's receipts, or south is dead */
			for (int w = 0; !dead && w < 100 && c.answered < c.n;
			    w++) {
				conn_read(&c, 20);
				dead = waitpid(pid_s, &st, WNOHANG) == pid_s;
			}
		}
		if (!dead && (st = reap(pid_s, 5000)) != -1)
			dead = true;
		CHECK(dead);
		if (!dead)
			kill9(&pid_s);
		pid_s = -1;
		if (dead && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL &&
		    log_count(log_s, KILL_LINE) == kills0 + 1)
			killed++;
		/* north's answers until quiet: south cannot receipt more */
		conn_read_quiet(&c, 10000, 1000);
		for (int t = 0; t < N_MAX; t++)
			rc1 += receipted[0][t];
		receipted_before += rc1 - rc0;
		missing += check_down(1);
		CHECK_INT(write_conf(home_s, conf), 0);
		CHECK(start(&pid_s, home_s, log_s));
		conn_read(&c, 30000);
		conn_close(&c);
	}
	printf("  %d of %d rounds: south killed itself at a WAL sync while "
	    "north sent with \"wait\"; %d receipts reported before the cuts;"
	    " %d missing after a cut\n", killed, SYNC_ROUNDS,
	    receipted_before, missing);
	CHECK_INT(killed, SYNC_ROUNDS);
	CHECK(receipted_before > 0);
	CHECK_INT(missing, 0);
}

/*
 * The mode is loud: status says so (a JSON field, and a WARNING line from
 * `parley status`), and each start raised a "debug-powercut" alert.
 */
static void
test_mode_shown(void)
{
	json_t *r = call(home_n, json_pack("{s:s}", "cmd", "status")), *a;
	char cmd[3000];
	size_t i;
	int n = 0;

	CHECK(json_is_true(json_object_get(json_object_get(r, "result"),
	    "debug_powercut")));
	json_decref(r);
	snprintf(cmd, sizeof cmd, "%s/parley status --home %s | grep -q "
	    "'^WARNING: power-cut mode (debug_powercut, tests only)' 2>"
	    "/dev/null", build, home_n);
	CHECK_INT(system(cmd), 0);
	r = call(home_s, json_pack("{s:s, s:b}", "cmd", "alerts", "all", 1));
	json_array_foreach(json_object_get(json_object_get(r, "result"),
	    "alerts"), i, a)
		n += strcmp(json_string_value(json_object_get(a, "kind")) ?
		    json_string_value(json_object_get(a, "kind")) : "",
		    "debug-powercut") == 0;
	json_decref(r);
	printf("  status shows the mode; south raised %d debug-powercut "
	    "alerts (one per start)\n", n);
	CHECK(n >= 2);
}

/* Settled, then both stopped: the chains agree and hold every
 * acknowledged send once, every receipted one at its receiver. */
static void
test_chains_agree(void)
{
	int ok[2] = { 0, 0 }, rc[2] = { 0, 0 };
	const struct chain_want want[2] = {
		{ "n2s", acked[0], receipted[0], N_MAX, 1 },
		{ "s2n", acked[1], receipted[1], N_MAX, 1 },
	};
	uint64_t t0 = now_ms();
	bool settled = false;

	for (int t = 0; t < N_MAX; t++)
		for (int i = 0; i < 2; i++) {
			ok[i] += acked[i][t];
			rc[i] += receipted[i][t];
		}
	printf("  acknowledged %d north->south (%d receipted), %d "
	    "south->north (%d receipted)\n", ok[0], rc[0], ok[1], rc[1]);
	CHECK(ok[0] > 0 && ok[1] > 0 && rc[0] > 0 && rc[1] > 0);
	/* everything queued goes out and is receipted */
	while (!settled && now_ms() - t0 < 60000) {
		json_t *a = msgs(home_n), *b = msgs(home_s);
		settled = a && b &&
		    json_integer_value(json_object_get(a, "queued")) == 0 &&
		    json_integer_value(json_object_get(b, "queued")) == 0 &&
		    json_integer_value(json_object_get(a, "in_flight")) == 0 &&
		    json_integer_value(json_object_get(b, "in_flight")) == 0;
		json_decref(a);
		json_decref(b);
		if (!settled)
			usleep(50000);
	}
	CHECK(settled);
	stop(&pid_n);
	stop(&pid_s);
	chain_check(home_n, home_s, ag.id, want);
	CHECK(log_has(log_n, "debug_powercut", NULL));
	CHECK(pair_logs_clean());
}

int
main(void)
{
	char cmd[3000];

	if (sodium_init() < 0 || !pair_begin("it_powercut", TIME_LIMIT_S,
	    15000, 16000, 4, tmpdir, conf))
		return 1;
	RUN(test_power_cuts);
	RUN(test_kill_at_sync);
	RUN(test_mode_shown);
	RUN(test_chains_agree);
	kill9(&pid_n);		/* before the logs are read */
	kill9(&pid_s);
	if (harness_failed) {
		snprintf(cmd, sizeof cmd, "echo '--- north.log (tail) ---'; "
		    "tail -n 30 %s; echo '--- south.log (tail) ---'; tail -n "
		    "30 %s", log_n, log_s);
		(void)!system(cmd);
	}
	pair_end(tmpdir);
	return harness_summary();
}
