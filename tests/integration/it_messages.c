/*
 * it_messages.c: messages between real parleyd processes on loopback.
 *
 * Makes north and south homes and a two-path channel with the library,
 * starts $BUILD/parleyd for each and checks: `parley send`, `inbox`,
 * `show` and `log` round trip with states (queued/sent, receipted,
 * received); pipelined sends on one control connection, answered in
 * order after a group commit (a few commits for 50, not 50); exactly once
 * under faults (2,000 messages each way sent
 * through the control sockets while north and south are killed -9 at
 * random moments, fixed seed, at least 10 kills, and restarted; then both
 * stores hold every acknowledged message once, in order, in gapless
 * chains, with the same ids on both sides); each refusal, fed to south
 * through the test-only msg-inject request (parleyd.conf debug_inject),
 * named in south's log with nothing stored; FLASH sent last after 1,000
 * ROUTINE to a stopped (SIGSTOP) peer, and to a slow one behind
 * tools/throttle, arrives before most of them; a FLASH sent while the
 * active path's relay is stopped (SIGSTOP: the connection stays open,
 * nothing passes) reaches south at once over the other path, before the
 * link notices (path 0 still up), and its repeat is harmless; a send
 * whose commit fails after it went early is kept and stored at its seq
 * (at once, or later: "outcome unknown"), and reaches south once even
 * when the records it first went in are stuck in a stopped relay; a full
 * store (store_max_pages) makes `parley send` fail with "store full" and
 * store nothing, and sending works again once the cap is lifted; north
 * killed right after an early send (debug_kill_after_early_send) whose
 * records sit in a stopped relay holds its next message back (the
 * fence) until south has them and north took them back, so the next
 * message takes the next seq and the chains do not fork; when those
 * records are lost instead, the fence runs its time, the sessions start
 * again, and the next message takes the seq.
 *
 * Ports: 127.0.0.1, 18000-18999, a free block of 14 (ports.h). Kills
 * only its own children; removes its temporary directory; bounded by an
 * alarm.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../harness.h"
#include "ports.h"
#include "base/hex.h"
#include "base/wire.h"
#include "crypto/agreement.h"
#include "crypto/keys.h"
#include "ctl/ctl.h"
#include "msg/checkpoint.h"
#include "msg/delivery.h"

#define DAEMON_PAIR
#define DAEMON_LOG_LEVEL "info"
#include "daemon_util.h"
#include "store/ahead.h"
#include "store/store.h"
#include "chain_check.h"

#define TIME_LIMIT_S 170
#define N_EACH 2000
#define KILLS 12

static char tmpdir[] = "/tmp/parley-it-msg-XXXXXX";
static pid_t pid_relay = -1;		/* tools/throttle, while one runs */
static pid_t pid_relay1 = -1;		/* a second one, on path 1 */

/* --- control socket ---------------------------------------------------- */

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

/* Waits until both directions are fully receipted and nothing is queued. */
static bool
wait_settled(int ms)
{
	uint64_t t0 = now_ms();

	while (now_ms() - t0 < (uint64_t)ms) {
		json_t *a = msgs(home_n), *b = msgs(home_s);
		bool done = a && b &&
		    json_integer_value(json_object_get(a, "queued")) == 0 &&
		    json_integer_value(json_object_get(b, "queued")) == 0 &&
		    json_integer_value(json_object_get(a, "in_flight")) == 0 &&
		    json_integer_value(json_object_get(b, "in_flight")) == 0 &&
		    json_integer_value(json_object_get(a, "received")) ==
		    json_integer_value(json_object_get(b, "assigned")) &&
		    json_integer_value(json_object_get(b, "received")) ==
		    json_integer_value(json_object_get(a, "assigned"));
		json_decref(a);
		json_decref(b);
		if (done)
			return true;
		usleep(50000);
	}
	return false;
}

/* --- setup --------------------------------------------------------------- */

static const char *conf =
    "{\"handshake_timeout_ms\": 1000, \"backoff_min_ms\": 50,\n"
    " \"backoff_max_ms\": 500, \"debug_inject\": true}\n";


/* --- round trip ---------------------------------------------------------- */

/* True once `parley log` on home shows needle, polling for up to ms. */
static bool
log_cmd_shows(const char *home, const char *needle, int ms)
{
	char out[8192];
	uint64_t t0 = now_ms();

	do {
		if (parley(out, sizeof out, "log --home %s", home) == 0 &&
		    strstr(out, needle) != NULL)
			return true;
		usleep(50000);
	} while (now_ms() - t0 < (uint64_t)ms);
	return false;
}


static void
test_round_trip(void)
{
	char out[8192];

	CHECK(start(&pid_n, home_n, log_n));
	CHECK(start(&pid_s, home_s, log_s));
	CHECK(wait_synced(15000));
	CHECK_INT(parley(out, sizeof out, "send --home %s --to south "
	    "--precedence immediate --marking releasable 'hello south'",
	    home_n), 0);
	CHECK_STR(out, "q1\n");
	CHECK(wait_settled(15000));
	CHECK_INT(parley(out, sizeof out, "inbox --home %s", home_s), 0);
	CHECK(strstr(out, "from north") && strstr(out, "immediate") &&
	    strstr(out, "releasable") && strstr(out, "hello south"));
	/* The receipt is stored with the next group commit or at the next
	 * 100 ms tick (docs/delivery.md): poll the log for it. */
	CHECK(log_cmd_shows(home_n, "receipted", 10000));
	CHECK_INT(parley(out, sizeof out, "log --home %s", home_n), 0);
	CHECK(strstr(out, "receipted") && strstr(out, "to south"));
	CHECK_INT(parley(out, sizeof out, "show --home %s q1", home_n), 0);
	CHECK(strstr(out, "receipted") && strstr(out, "hello south"));
	CHECK_INT(parley(out, sizeof out, "show --home %s --json q1",
	    home_s), 0);
	CHECK(strstr(out, "\"state\": \"received\""));
	/* While south is away the message stays queued. */
	kill9(&pid_s);
	CHECK_INT(parley(out, sizeof out, "send --home %s 'while you were "
	    "away'", home_n), 0);
	CHECK_INT(parley(out, sizeof out, "log --home %s", home_n), 0);
	CHECK(strstr(out, "queued") != NULL);
	CHECK_INT(msg_field(home_n, "queued"), 1);
	CHECK(start(&pid_s, home_s, log_s));
	CHECK(wait_settled(15000));
	CHECK_INT(parley(out, sizeof out, "show --home %s q2", home_n), 0);
	CHECK(strstr(out, "receipted") != NULL);
	/* Bad input: refused, nothing changes. */
	CHECK_INT(parley(out, sizeof out, "send --home %s --precedence bogus "
	    "x", home_n), 2);
	CHECK_INT(parley(out, sizeof out, "send --home %s --to nobody x",
	    home_n), 2);
	CHECK_INT(parley(out, sizeof out, "show --home %s zz", home_n), 2);
	CHECK_INT(parley(out, sizeof out, "show --home %s q999", home_n), 1);
	CHECK_INT(send_text(home_n, "", "routine", NULL, 0), 0);
	CHECK_INT(msg_field(home_n, "assigned"), 2);
	CHECK_INT(msg_field(home_n, "queued"), 0);
}

/* --- pipelining and group commit ----------------------------------------- */

/* Reads one answer line from fd into line (cap bytes): false on timeout
 * or a closed connection. */
static bool
read_line(int fd, char *buf, size_t cap, size_t *have, char *line)
{
	uint64_t t0 = now_ms();
	char *nl;

	while ((nl = memchr(buf, '\n', *have)) == NULL) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t k;
		if (now_ms() - t0 > 20000 || *have == cap ||
		    poll(&pfd, 1, 1000) < 0)
			return false;
		if (!(pfd.revents & POLLIN))
			continue;
		if ((k = read(fd, buf + *have, cap - *have)) <= 0)
			return false;
		*have += (size_t)k;
	}
	*nl = '\0';
	snprintf(line, cap, "%s", buf);
	*have -= (size_t)(nl + 1 - buf);
	memmove(buf, nl + 1, *have);
	return true;
}

/*
 * 50 sends, one send with "wait", and a status, written on one control
 * connection at once: the answers come in request order (qids rising, the
 * waiting one receipted, the status last), and the 51 messages cost a few
 * commits at north (one group), not 51.
 */
static void
test_pipelined(void)
{
	static char req[64 * 1024], buf[256 * 1024], line[256 * 1024];
	struct sockaddr_un sun;
	long long c0, a0, prev = 0;
	size_t n = 0, have = 0;
	json_t *o;
	int fd;

	CHECK(wait_settled(15000));
	c0 = msg_field(home_n, "store_commits");
	a0 = msg_field(home_n, "assigned");
	for (int i = 0; i < 50; i++)
		n += (size_t)snprintf(req + n, sizeof req - n, "{\"cmd\":"
		    "\"send\",\"text\":\"pipelined %d\"}\n", i);
	n += (size_t)snprintf(req + n, sizeof req - n, "{\"cmd\":\"send\","
	    "\"text\":\"pipelined, waiting\",\"wait\":true}\n"
	    "{\"cmd\":\"status\"}\n");
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	CHECK((size_t)snprintf(sun.sun_path, sizeof sun.sun_path, "%s/%s",
	    home_n, CTL_SOCKET_NAME) < sizeof sun.sun_path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof sun) ==
	    0);
	CHECK(write(fd, req, n) == (ssize_t)n);
	for (int i = 0; i < 52; i++) {
		if (!read_line(fd, buf, sizeof buf, &have, line)) {
			bool got_an_answer = false;
			CHECK(got_an_answer);
			break;
		}
		o = json_loads(line, 0, NULL);
		CHECK(json_is_true(json_object_get(o, "ok")));
		if (i < 51) {
			long long q = json_integer_value(json_object_get(
			    json_object_get(o, "result"), "qid"));
			CHECK(q > prev);
			prev = q;
		}
		if (i == 50)
			CHECK_STR(json_string_value(json_object_get(
			    json_object_get(o, "result"), "state")),
			    "receipted");
		if (i == 51)
			CHECK(json_object_get(json_object_get(o, "result"),
			    "channels") != NULL);
		json_decref(o);
	}
	close(fd);
	printf("  51 pipelined sends: %lld commits at north\n",
	    msg_field(home_n, "store_commits") - c0);
	CHECK(msg_field(home_n, "store_commits") - c0 <= 10);
	CHECK(wait_settled(15000));
	CHECK_INT(msg_field(home_n, "assigned"), a0 + 51);
}

/* --- exactly once under faults ------------------------------------------ */

static uint8_t acked[2][N_EACH * 2];

static void
test_exactly_once_under_faults(void)
{
	int tries[2] = { 0, 0 }, ok[2] = { 0, 0 }, kills = 0, down = -1;
	int attempts = 0, restart_at = 0, next_kill;
	const char *homes[2] = { home_n, home_s };
	pid_t *pids[2] = { &pid_n, &pid_s };
	const char *logs[2] = { log_n, log_s };
	char text[64];

	srand(20261122);
	next_kill = 100 + rand() % 200;
	while ((ok[0] < N_EACH || ok[1] < N_EACH) &&
	    tries[0] + tries[1] < 4 * N_EACH * 2) {
		for (int i = 0; i < 2; i++) {
			if (ok[i] >= N_EACH || tries[i] >= N_EACH * 2)
				continue;
			snprintf(text, sizeof text, "%s %d", i ? "s2n" : "n2s",
			    tries[i]);
			if (send_text(homes[i], text, "routine", NULL, 0) ==
			    1) {
				acked[i][tries[i]] = 1;
				ok[i]++;
			}
			tries[i]++;
		}
		attempts++;
		if (down < 0 && attempts >= next_kill && kills < KILLS * 2) {
			down = rand() % 2;
			kill9(pids[down]);
			kills++;
			restart_at = attempts + rand() % 40;
		} else if (down >= 0 && attempts >= restart_at) {
			CHECK(start(pids[down], homes[down], logs[down]));
			down = -1;
			next_kill = attempts + 50 + rand() % 250;
		}
	}
	if (down >= 0)
		CHECK(start(pids[down], homes[down], logs[down]));
	printf("  %d kills; acknowledged %d north->south, %d south->north\n",
	    kills, ok[0], ok[1]);
	CHECK(kills >= 10);
	CHECK_INT(ok[0], N_EACH);
	CHECK_INT(ok[1], N_EACH);
	CHECK(wait_settled(90000));
}

/* --- refusals --------------------------------------------------------- */

static size_t
raw_header(uint8_t *out, const uint8_t channel[32], uint64_t seq,
    const uint8_t prev[32], uint32_t kind, uint32_t blen,
    const uint8_t bh[32])
{
	struct wire_writer w;
	uint8_t z[32] = { 0 };
	size_t n = 0;

	wire_writer_init(&w, out, ENVELOPE_HEADER_MAX);
	wire_put_map(&w, 12);
	wire_put_uint(&w, 1); wire_put_uint(&w, 1);
	wire_put_uint(&w, 2); wire_put_bytes(&w, channel, 32);
	wire_put_uint(&w, 3); wire_put_uint(&w, 0);
	wire_put_uint(&w, 4); wire_put_uint(&w, seq);
	wire_put_uint(&w, 5); wire_put_bytes(&w, prev, 32);
	wire_put_uint(&w, 6); wire_put_bytes(&w, z, 32);
	wire_put_uint(&w, 7); wire_put_uint(&w, 1700000000000u);
	wire_put_uint(&w, 8); wire_put_uint(&w, 3);
	wire_put_uint(&w, 9); wire_put_uint(&w, 0);
	wire_put_uint(&w, 10); wire_put_uint(&w, kind);
	wire_put_uint(&w, 11); wire_put_uint(&w, blen);
	wire_put_uint(&w, 12); wire_put_bytes(&w, bh, 32);
	if (wire_writer_finish(&w, &n) != 0)
		n = 0;
	return n;
}

static bool
inject(uint8_t type, const uint8_t *b, size_t n)
{
	char *hex = malloc(2 * n + 1);
	json_t *r;
	bool ok;

	hex_encode(hex, b, n);
	r = call(home_s, json_pack("{s:s, s:s, s:i, s:i, s:s}", "cmd",
	    "msg-inject", "channel", chhex, "path", 0, "type", (int)type,
	    "hex", hex));
	free(hex);
	ok = r && json_is_true(json_object_get(r, "ok"));
	json_decref(r);
	return ok;
}

/*
 * Waits for south's path-0 session (after an injected record ended the
 * last one, the next) and hands south north's RUN on it (its run read
 * from north's HOME/run), as north sends it first on every session, so
 * that what is injected next is taken, whichever of the two comes first
 * (or when north is stopped before its own came).
 */
static bool
inject_north_run(void)
{
	char p[sizeof home_n + 16];
	unsigned long long run = 0;
	uint64_t t0 = now_ms();
	uint8_t b[32];
	size_t n;
	FILE *f;

	while (path_up(home_s, NULL, 0) != 1 && now_ms() - t0 < 15000)
		usleep(20000);
	snprintf(p, sizeof p, "%s/run", home_n);
	if ((f = fopen(p, "r")) == NULL)
		return false;
	if (fscanf(f, "parley-run v1 %llu", &run) != 1)
		run = 0;
	fclose(f);
	return run != 0 && delivery_run_encode(run, b, sizeof b, &n) == 0 &&
	    inject(DELIVERY_REC_RUN, b, n);
}

/* A crafted message from "north" (and a head signed by key, if any). */
static void
fake(const uint8_t channel[32], uint64_t seq, const uint8_t prev[32],
    uint32_t kind, const char *body, const char *claimed,
    const struct keys *key)
{
	uint8_t hdr[ENVELOPE_HEADER_MAX], bh[32], rec[1024];
	struct chain_head h;
	size_t hl, n;

	envelope_body_hash((const uint8_t *)claimed, strlen(claimed), bh);
	hl = raw_header(hdr, channel, seq, prev, kind,
	    (uint32_t)strlen(claimed), bh);
	n = 0;
	CHECK_INT(delivery_msg_encode(hdr, hl, (const uint8_t *)body,
	    strlen(body), rec, sizeof rec, &n), 0);
	CHECK(n > 0 && inject(DELIVERY_REC_MSG, rec, n));
	if (key == NULL)
		return;
	memset(&h, 0, sizeof h);
	memcpy(h.channel, channel, 32);
	h.sender = 0;
	h.seq = seq;
	envelope_header_id(hdr, hl, h.id);
	n = 0;
	CHECK_INT(chain_head_sign(&h, key), 0);
	CHECK_INT(chain_head_encode(&h, rec, sizeof rec, &n), 0);
	CHECK(n > 0 && inject(DELIVERY_REC_HEAD, rec, n));
}

/* North's newest message: its seq and id. */
static bool
north_last(uint64_t *seq, uint8_t id[32])
{
	/* North's newest assigned message, as south received it: after
	 * wait_settled both sides hold the same chain, and south's inbox lists
	 * only north's messages, newest first (north's own log mixes both
	 * directions, so its newest entries may all be incoming). */
	json_t *r = call(home_s, json_pack("{s:s, s:i}", "cmd", "inbox", "max",
	    1)), *m;
	bool found = false;

	m = json_array_get(json_object_get(json_object_get(r, "result"),
	    "messages"), 0);
	if (m != NULL) {
		*seq = (uint64_t)json_integer_value(json_object_get(m, "seq"));
		found = json_string_value(json_object_get(m, "id")) != NULL &&
		    hex_decode(id, 32, json_string_value(
		    json_object_get(m, "id"))) == 0;
	}
	json_decref(r);
	return found;
}

static int count_in(const char *cmd, const char *home, const char *needle);

/* South's uncleared alerts of a kind. */
static int
alerts_of(const char *kind)
{
	char needle[64];

	snprintf(needle, sizeof needle, "\"kind\": \"%s\"", kind);
	return count_in("alerts --json", home_s, needle);
}

static void
test_refusals(void)
{
	static const struct { const char *name; } names[] = {
	    { "unsigned run over the cap" }, { "wrong channel or sender" },
	    { "gap in sequence" }, { "repeat with another id" },
	    { "wrong previous hash" }, { "body does not match its header" },
	    { "unknown kind" }, { "oversized body" },
	    { "non-deterministic CBOR" }, { "malformed CBOR" },
	    { "bad signature" } };
	uint8_t id[32], other[32], prev[32], hdr[ENVELOPE_HEADER_MAX];
	uint8_t bh[32], rec[1024], bad[3] = { 0xff, 0x00, 0x13 };
	uint8_t nc[8] = { 0xa2, 0x01, 0x41, 0x00, 0x18, 0x02, 0x41, 0x00 };
	uint64_t seq = 0;
	long long held, refused;
	int forks;
	size_t hl, n;

	CHECK(wait_settled(30000));
	CHECK(north_last(&seq, id));
	forks = alerts_of("chain-forked");
	held = msg_field(home_s, "received");
	refused = msg_field(home_s, "refused");
	CHECK_INT(held, (long long)seq);
	/* An unsigned run one past the cap. */
	memcpy(prev, id, 32);
	envelope_body_hash((const uint8_t *)"r", 1, bh);
	for (uint64_t q = seq + 1; q <= seq + CHAIN_RUN_MAX + 1; q++) {
		hl = raw_header(hdr, ag.id, q, prev, ENVELOPE_TEXT, 1, bh);
		if (delivery_msg_encode(hdr, hl, (const uint8_t *)"r", 1, rec,
		    sizeof rec, &n) == 0 && !inject(DELIVERY_REC_MSG, rec, n))
			CHECK(0);
		envelope_header_id(hdr, hl, prev);
	}
	/* Non-deterministic CBOR ends the session and drops the run. */
	CHECK(inject(DELIVERY_REC_MSG, nc, sizeof nc));
	CHECK(inject_north_run());
	randombytes_buf(other, sizeof other);
	fake(other, seq + 1, id, ENVELOPE_TEXT, "x", "x", &k_n);
	fake(ag.id, seq + 3, id, ENVELOPE_TEXT, "x", "x", &k_n);
	{
		uint8_t pid[32];
		memcpy(pid, id, 32);
		pid[0] ^= 1;		/* seq holds id, not this */
		fake(ag.id, seq, pid, ENVELOPE_TEXT, "again", "again", &k_n);
	}
	fake(ag.id, seq + 1, other, ENVELOPE_TEXT, "x", "x", &k_n);
	fake(ag.id, seq + 1, id, ENVELOPE_TEXT, "y", "x", &k_n);
	fake(ag.id, seq + 1, id, 77, "x", "x", &k_n);
	hl = raw_header(hdr, ag.id, seq + 1, id, ENVELOPE_TEXT,
	    ENVELOPE_BODY_MAX + 1, bh);
	if (delivery_part_encode(hdr, hl, 0, (const uint8_t *)"abc", 3, rec,
	    sizeof rec, &n) == 0)
		CHECK(inject(DELIVERY_REC_PART, rec, n));
	CHECK(inject(DELIVERY_REC_MSG, bad, sizeof bad));
	CHECK(inject_north_run());
	fake(ag.id, seq + 1, id, ENVELOPE_TEXT, "x", "x", &k_s);
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		CHECK(wait_log(log_s, "refused", names[i].name, 5000));
	CHECK(msg_field(home_s, "refused") >= refused + 11);
	CHECK_INT(msg_field(home_s, "received"), held);
	/* the repeat with another id came with a head north signed: its
	 * chain forks, one alert with the head as evidence */
	CHECK_INT(alerts_of("chain-forked"), forks + 1);
	CHECK(count_in("status --json", home_s, "signed another message") >= 1);
	/* The real north goes on as before. */
	CHECK_INT(send_text(home_n, "after the refusals", "routine", NULL, 0),
	    1);
	CHECK(wait_settled(30000));
	CHECK_INT(msg_field(home_s, "received"), held + 1);
}

/*
 * A peer repeating a forged checkpoint (here: five proposals "from north"
 * signed by south's own key, handed to south as if north sent them on
 * path 0): the first is an ALARM and one alert; the next ones in the same
 * minute are logged once more and counted, not raised again (no alert row
 * nor alert command each), and each ends the path's session, so that a
 * repeat costs the sender a new handshake. The real north goes on.
 */
static void
test_forged_checkpoints(void)
{
	struct checkpoint_rec *c = calloc(1, sizeof *c);
	uint8_t *rec = malloc(CHECKPOINT_REC_MAX);
	int before = alerts_of("checkpoint-forged");
	size_t n = 0;

	CHECK(wait_settled(30000));
	c->kind = CHECKPOINT_PROPOSE;
	memcpy(c->cp.channel, ag.id, 32);
	c->cp.time_ms = now_ms();
	transcript_checkpoint_fill(&c->cp);
	CHECK_INT(transcript_checkpoint_sign(&c->cp, 0, &k_s), 0);
	CHECK_INT(checkpoint_rec_encode(c, rec, CHECKPOINT_REC_MAX, &n), 0);
	/* each on a session of north's run, as a peer would send it (one
	 * on the ended session would not be taken: docs/transcript.md) */
	for (int i = 0; i < 5; i++)
		CHECK(inject_north_run() && inject(CHECKPOINT_REC, rec, n));
	CHECK(wait_log(log_s, "ALARM", "forged or altered", 5000));
	CHECK(wait_log(log_s, "ALARM", "not raised as a new alert", 5000));
	CHECK(wait_log(log_s, "session ended", "forged checkpoint", 5000));
	CHECK_INT(alerts_of("checkpoint-forged"), before + 1);
	/* the real north goes on */
	CHECK_INT(send_text(home_n, "after the forged checkpoints",
	    "routine", NULL, 0), 1);
	CHECK(wait_settled(30000));
	free(c);
	free(rec);
}

/* Both daemons stopped (SIGTERM, reaped), their parleyd.conf now cn and
 * cs (unless cn is NULL); started again by restart_pair or by the
 * caller. */
static void
stop_pair(const char *cn, const char *cs)
{
	kill_pid(pid_n, SIGTERM);
	kill_pid(pid_s, SIGTERM);
	CHECK(reap(pid_n, 10000) >= 0 && reap(pid_s, 10000) >= 0);
	pid_n = pid_s = -1;
	if (cn != NULL)
		CHECK(write_conf(home_n, cn) == 0 &&
		    write_conf(home_s, cs) == 0);
}

/* stop_pair, then both started again (south first), answering. */
static void
restart_pair(const char *cn, const char *cs)
{
	stop_pair(cn, cs);
	CHECK(start(&pid_s, home_s, log_s));
	CHECK(start(&pid_n, home_n, log_n));
}

/* --- FLASH overtakes ------------------------------------------------------- */

static void
test_flash_overtakes(void)
{
	json_t *r, *m;
	long long base = msg_field(home_n, "assigned"), fseq = -1;
	size_t i;
	int ok = 0;
	char text[64];

	CHECK(wait_synced(15000));
	kill_pid(pid_s, SIGSTOP);
	for (int k = 0; k < 1000; k++) {
		snprintf(text, sizeof text, "routine %d", k);
		ok += send_text(home_n, text, "routine", NULL, 0) == 1;
	}
	ok += send_text(home_n, "FLASH: sent last", "flash", NULL, 0) == 1;
	kill_pid(pid_s, SIGCONT);
	CHECK_INT(ok, 1001);
	CHECK(wait_settled(60000));
	r = call(home_n, json_pack("{s:s, s:i}", "cmd", "log", "max", 1100));
	json_array_foreach(json_object_get(json_object_get(r, "result"),
	    "messages"), i, m)
		if (strcmp(json_string_value(json_object_get(m, "precedence")),
		    "flash") == 0 && fseq < 0)
			fseq = json_integer_value(json_object_get(m, "seq"));
	json_decref(r);
	printf("  FLASH was number %lld of 1001 (1,000 ROUTINE queued "
	    "before it)\n", fseq - base);
	CHECK(fseq > base && fseq - base < 500);
}

/*
 * North and south (stopped first) with north's sends through
 * tools/throttle at rate bytes a second (south's answers pass at once),
 * their link up (pair_start_relayed), and the relay's pid (SIGUSR1 pauses
 * and resumes it); heartbeats 10 s apart, so a paused relay keeps the
 * link up.
 */
static pid_t
start_throttled(const char *rate)
{
	pid_t thr = -1;

	stop_pair(NULL, NULL);
	CHECK(pair_start_relayed(rate, "\"heartbeat_ms\": 10000, ", &thr));
	return thr;
}

/* The relay stopped, the pair back on the common configuration. */
static void
stop_throttled(pid_t thr)
{
	kill_pid(thr, SIGKILL);
	reap(thr, 2000);
	restart_pair(conf, conf);
	CHECK(wait_synced(15000));
}

/* The same through tools/throttle (start_throttled): south is slow
 * (nothing passes while the backlog is queued, then 100 KB/s from north)
 * with its link up. */
static void
test_flash_slow_peer(void)
{
	char text[400];
	long long base, fseq = -1;
	json_t *r, *m;
	pid_t thr;
	size_t i;
	int ok = 0;

	thr = start_throttled("100000");
	base = msg_field(home_n, "assigned");
	/* Nothing passes while the backlog is queued (heartbeats are 10 s
	 * apart here, so the link stays up); then 100 KB/s. */
	kill_pid(thr, SIGUSR1);
	usleep(100000);
	memset(text, '.', sizeof text - 1);
	text[sizeof text - 1] = '\0';
	for (int k = 0; k < 1000; k++) {
		int n = snprintf(text, 32, "slow routine %d", k);
		text[n] = ' ';
		ok += send_text(home_n, text, "routine", NULL, 0) == 1;
	}
	printf("  1,000 ROUTINE queued; north has %lld receipted of them\n",
	    msg_field(home_n, "receipted") - base);
	ok += send_text(home_n, "FLASH: sent last, slow peer", "flash", NULL,
	    0) == 1;
	kill_pid(thr, SIGUSR1);
	CHECK_INT(ok, 1001);
	CHECK(wait_settled(60000));
	r = call(home_s, json_pack("{s:s, s:i}", "cmd", "inbox", "max",
	    1100));
	json_array_foreach(json_object_get(json_object_get(r, "result"),
	    "messages"), i, m)
		if (strcmp(json_string_value(json_object_get(m, "precedence")),
		    "flash") == 0 && fseq < 0)
			fseq = json_integer_value(json_object_get(m, "seq"));
	json_decref(r);
	printf("  FLASH arrived as number %lld of 1001 at the slow peer\n",
	    fseq - base);
	CHECK(fseq > base && fseq - base < 500);
	stop_throttled(thr);
}

/*
 * A slow path (tools/throttle, 200 KB/s from north): three messages of
 * 800 KB, each longer on the wire than the sender's stall timer (3 s).
 * North resends nothing while its session still has bytes to send
 * (link_queued): copies would only queue behind what is on its way and
 * delay what comes after (before: 3 resends, and a short message sent
 * next took 24 s, behind 2.4 MB of copies; now about 0.1 s).
 */
static void
test_slow_path_no_resend(void)
{
	char *text = malloc(800001);
	long long r0;
	uint64_t t0;
	pid_t thr;
	int ok = 0;

	thr = start_throttled("200000");
	r0 = msg_field(home_n, "resends");
	t0 = now_ms();
	for (int k = 0; k < 3; k++) {
		char f[1400], cmd[4000];
		FILE *fp;

		memset(text, 'a' + k, 800000);
		snprintf(f, sizeof f, "%s/big.txt", home_n);
		if ((fp = fopen(f, "w")) != NULL) {
			fwrite(text, 1, 800000, fp);
			fclose(fp);
		}
		snprintf(cmd, sizeof cmd, "%s/parley send --home %s --file %s "
		    ">/dev/null", build, home_n, f);
		ok += system(cmd) == 0;
	}
	CHECK_INT(ok, 3);
	CHECK(wait_settled(120000));
	printf("  3 x 800 KB at 200 KB/s: settled in %llu ms, %lld resends\n",
	    (unsigned long long)(now_ms() - t0),
	    msg_field(home_n, "resends") - r0);
	CHECK_INT(msg_field(home_n, "resends") - r0, 0);
	t0 = now_ms();
	CHECK_INT(send_text(home_n, "a short one after them", "routine", NULL,
	    0), 1);
	CHECK(wait_settled(120000));
	printf("  then a short one: settled in %llu ms\n",
	    (unsigned long long)(now_ms() - t0));
	free(text);
	stop_throttled(thr);
}

/* --- FLASH on every live path ------------------------------------------ */

/* tools/throttle relaying 127.0.0.1:port to 127.0.0.1:upstream at full
 * speed: its pid. */
static pid_t
relay_start(int port, int upstream)
{
	char bin[1100], a[2][16];
	pid_t pid;

	snprintf(a[0], sizeof a[0], "%d", port);
	snprintf(a[1], sizeof a[1], "%d", upstream);
	snprintf(bin, sizeof bin, "%s/tools/throttle", build);
	if ((pid = fork()) == 0) {
		execl(bin, "throttle", "100000000", a[0], a[1], (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* A relay of relay_start's (pid_relay, pid_relay1) stopped and reaped. */
static void
relay_stop(pid_t *pid)
{
	if (*pid <= 0)
		return;
	kill_pid(*pid, SIGCONT);
	kill_pid(*pid, SIGKILL);
	reap(*pid, 2000);
	*pid = -1;
}

/* A parleyd.conf of relayed_pairs': knob (a "key": value, pair and its
 * comma), listening on 127.0.0.1 ports l0 and l1. */
static void
relayed_conf(char *buf, size_t cap, const char *knob, int l0, int l1)
{
	snprintf(buf, cap, "{\"backoff_min_ms\": 50, \"backoff_max_ms\": "
	    "500, %s\"listen\": [\"127.0.0.1:%d\", \"127.0.0.1:%d\"]}\n",
	    knob, l0, l1);
}

/*
 * Both daemons restarted with path 0 (south's first address) through
 * tools/throttle (pid_relay) and path 1 direct, or with both1 through a
 * second relay too (pid_relay1); north dials both (north listens
 * elsewhere, so south's dials fail). kn, ks: more of north's and south's
 * parleyd.conf (a "key": value, pair and its comma each). Returns once
 * both paths are up at north, path 0 active, synced and settled.
 * relayed_pair_end stops the relays and restarts the pair with the
 * suite's conf.
 */
static void
relayed_pairs(const char *kn, const char *ks, bool both1)
{
	char cn[512], cs[512];
	uint64_t t0;

	relayed_conf(cn, sizeof cn, kn, port_base + 10, port_base + 11);
	relayed_conf(cs, sizeof cs, ks, port_base + 12, port_base +
	    (both1 ? 13 : 3));
	stop_pair(cn, cs);
	/* south's path-0 address -> the relay -> where south listens */
	pid_relay = relay_start(port_base + 2, port_base + 12);
	if (both1)
		pid_relay1 = relay_start(port_base + 3, port_base + 13);
	CHECK(start(&pid_s, home_s, log_s));
	CHECK(start(&pid_n, home_n, log_n));
	CHECK(wait_synced(15000));
	t0 = now_ms();
	while ((path_up(home_n, NULL, 0) != 1 ||
	    path_up(home_n, NULL, 1) != 1) && now_ms() - t0 < 15000)
		usleep(50000);
	CHECK_INT(path_up(home_n, NULL, 0), 1);
	CHECK_INT(path_up(home_n, NULL, 1), 1);
	CHECK_INT(msg_field(home_n, "active_path"), 0);
	CHECK(wait_synced(15000));	/* on path 0, if it came up last */
	CHECK(wait_settled(30000));
}

/* relayed_pairs with path 1 direct and knob in both confs. */
static void
relayed_pair(const char *knob)
{
	relayed_pairs(knob, knob, false);
}

static void
relayed_pair_end(void)
{
	relay_stop(&pid_relay);
	relay_stop(&pid_relay1);
	restart_pair(conf, conf);
	CHECK(wait_synced(15000));
}

/*
 * Path 0 (the active one) goes through tools/throttle, path 1 is direct;
 * north dials both (north listens elsewhere, so south's dials fail). The
 * relay is stopped (SIGSTOP): its connections stay open and nothing
 * passes, so the link sees path 0 up until 2 heartbeat intervals of
 * silence (heartbeat_ms 15000 here: 30 s; the agreement's 1 s would
 * make it 2 s). A FLASH sent then is in south's inbox while north still
 * shows path 0 up: it came over path 1, before any failover. Once the
 * relay goes on, south gets the copy on path 0 again: taken as a repeat,
 * nothing refused, the FLASH in the inbox once.
 */
static void
test_flash_every_path(void)
{
	const char *text = "FLASH: on every live path";
	long long refused;
	uint64_t t0, took = 0;
	bool in = false;

	relayed_pair("\"heartbeat_ms\": 15000, ");
	refused = msg_field(home_s, "refused");

	kill_pid(pid_relay, SIGSTOP);
	t0 = now_ms();
	CHECK_INT(send_text(home_n, text, "flash", NULL, 0), 1);
	while (!(in = inbox_count(home_s, text, 50) > 0) &&
	    now_ms() - t0 < 20000)
		usleep(20000);
	took = now_ms() - t0;
	CHECK(in);
	/* south's receipt came back on path 1, where the copy got through:
	 * north's operator sees the FLASH receipted */
	while (msg_field(home_n, "receipted") < msg_field(home_n, "assigned")
	    && now_ms() - t0 < 20000)
		usleep(20000);
	CHECK_INT(msg_field(home_n, "receipted"), msg_field(home_n,
	    "assigned"));
	/* before the link noticed anything: path 0 still up and active */
	CHECK_INT(path_up(home_n, NULL, 0), 1);
	CHECK_INT(msg_field(home_n, "active_path"), 0);
	printf("  FLASH %s south's inbox %llu ms after the send; path 0 "
	    "(stopped relay) up: %d\n", in ? "in" : "NOT in",
	    (unsigned long long)took, path_up(home_n, NULL, 0));
	kill_pid(pid_relay, SIGCONT);

	/* path 0 flows again: the repeat changes nothing */
	CHECK(wait_settled(30000));
	CHECK_INT(inbox_count(home_s, text, 50), 1);
	CHECK_INT(msg_field(home_s, "refused"), refused);
	relayed_pair_end();
}

/* --- full disk --------------------------------------------------------- */

static void
test_full_disk(void)
{
	char path[1400], confcap[512], err[512] = "", out[8192];
	char *big = malloc(60001);
	struct stat stt;
	long long before, after;
	int r = 1, fitted = 0;

	memset(big, 'f', 60000);
	big[60000] = '\0';
	CHECK(wait_settled(30000));
	kill_pid(pid_n, SIGTERM);
	CHECK(reap(pid_n, 10000) >= 0);
	pid_n = -1;
	snprintf(path, sizeof path, "%s/parley.db", home_n);
	CHECK(stat(path, &stt) == 0);
	snprintf(confcap, sizeof confcap, "{\"backoff_min_ms\": 50, "
	    "\"backoff_max_ms\": 500, \"store_max_pages\": %lld}\n",
	    (long long)stt.st_size / 4096 + 40);
	CHECK(write_conf(home_n, confcap) == 0);
	CHECK(start(&pid_n, home_n, log_n));
	before = msg_field(home_n, "assigned") + msg_field(home_n, "queued");
	for (int k = 0; k < 100 && r == 1; k++) {
		big[0] = (char)('a' + k % 26);
		if ((r = send_text(home_n, big, "routine", err, sizeof err))
		    == 1)
			fitted++;
	}
	CHECK_INT(r, 0);
	printf("  %d large messages fitted; then: %s\n", fitted, err);
	CHECK(strstr(err, "store full") != NULL);
	/* write_conf writes any text: here a 60 KB message file. */
	CHECK(write_conf(tmpdir, big) == 0);
	snprintf(path, sizeof path, "%s/parleyd.conf", tmpdir);
	CHECK_INT(parley(out, sizeof out, "send --home %s --file %s",
	    home_n, path), 1);
	CHECK(strstr(out, "store full") != NULL);
	after = msg_field(home_n, "assigned") + msg_field(home_n, "queued");
	CHECK_INT(after, before + fitted);
	/* Room again: the cap lifted, a restart. */
	kill_pid(pid_n, SIGTERM);
	CHECK(reap(pid_n, 10000) >= 0);
	pid_n = -1;
	CHECK(write_conf(home_n, conf) == 0);
	CHECK(start(&pid_n, home_n, log_n));
	CHECK_INT(parley(out, sizeof out, "send --home %s 'room again'",
	    home_n), 0);
	CHECK(wait_settled(60000));
	CHECK_INT(msg_field(home_n, "assigned"), after + 1);
	free(big);
}

/* --- the store fails just after an early send ------------------------- */

/* How many lines of `parley CMD --home home` hold needle (grep -c: the
 * audit log is long after the earlier tests). */
static int
count_in(const char *cmd, const char *home, const char *needle)
{
	char out[64];

	(void)parley(out, sizeof out, "%s --home %s | grep -c '%s'", cmd, home,
	    needle);
	return atoi(out);
}

/* Lines of the file at path holding needle. */
static int
lines_in(const char *path, const char *needle)
{
	char cmd[2048], out[32] = "";
	FILE *p;

	snprintf(cmd, sizeof cmd, "grep -c '%s' %s", needle, path);
	if ((p = popen(cmd, "r")) == NULL)
		return -1;
	if (fgets(out, sizeof out, p) == NULL)
		out[0] = 0;
	pclose(p);
	return atoi(out);
}

/*
 * North's next `writes` commits fail (store-fail), then it sends
 * "LABEL, try N" at prec (the text in text): 1 sent, 0 refused (err
 * says why). It waits first for north's tick to store the last receipt,
 * whose commit would take the failure instead.
 */
static int
send_failing(int writes, const char *label, int try, const char *prec,
    char *text, size_t tcap, char *err, size_t ecap)
{
	json_t *r;

	usleep(300000);
	r = call(home_n, json_pack("{s:s, s:i}", "cmd", "store-fail",
	    "writes", writes));
	CHECK(r != NULL && json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	snprintf(text, tcap, "%s, try %d", label, try);
	return send_text(home_n, text, prec, err, ecap);
}

/*
 * North's disk fails at the commit of a send that already went to south
 * (store-fail, a test request: the next n commits' WAL writes fail).
 * With one failing write, the message sent early is stored again at once
 * at its seq: the operator gets an ordinary answer and the message is in
 * both stores once. With two, it cannot be (the commit and the try at
 * once both fail): the operator is told the outcome is
 * unknown (ERR_DOUBT) rather than that the send failed, the audit log says
 * so, and north keeps the message and stores it at its seq at a later
 * try: once the daemons settle it is in both stores, once, and the next
 * send goes on after it. The failure is armed for the next commit, which
 * may be another one (our copy of south's last receipt, stored at north's
 * next tick): then it is armed again, with another text, at most 5 times.
 */
static void
test_store_fails_after_send(void)
{
	static const char again[] = "sent before a failed commit, are in the "
	    "store at their seqs";
	char err[512] = "", text[64] = "";
	int sent = 0, before = 0, in_s, in_n;
	bool hit = false;

	CHECK(wait_settled(30000));
	/* one failing write: stored again at once */
	for (int i = 0; i < 5 && !hit; i++) {
		before = lines_in(log_n, again);
		sent = send_failing(1, "stored again", i + 1, "flash", text,
		    sizeof text, err, sizeof err);
		hit = lines_in(log_n, again) > before;
		if (!hit)
			printf("  the failure hit another commit: again\n");
	}
	CHECK(hit);
	CHECK_INT(sent, 1);
	CHECK(wait_settled(60000));
	CHECK_INT(count_in("inbox", home_s, text), 1);
	CHECK_INT(count_in("log", home_n, text), 1);
	/* two: outcome unknown, held, stored later */
	sent = 1;
	for (int i = 0; i < 5 && sent == 1; i++) {
		before = lines_in(log_n, again);
		sent = send_failing(2, "sent in doubt", i + 1, "flash", text,
		    sizeof text, err, sizeof err);
		if (sent == 1)
			printf("  the failures hit other commits: again\n");
		else if (i > 0)
			printf("  armed %d times\n", i + 1);
	}
	CHECK_INT(sent, 0);
	printf("  the sender was told: %s\n", err);
	CHECK(strstr(err, "outcome unknown") != NULL);
	CHECK(strstr(err, "it is kept and stored at its place") != NULL);
	CHECK_INT(count_in("audit", home_n, "outcome unknown"), 1);
	for (int i = 0; i < 100 && lines_in(log_n, again) == before; i++)
		usleep(100000);		/* the held message stored */
	CHECK_INT(lines_in(log_n, again), before + 1);
	CHECK_INT(send_text(home_n, "after the doubt", "routine", NULL, 0), 1);
	CHECK(wait_settled(60000));
	CHECK(log_cmd_shows(home_s, "after the doubt", 10000));
	in_s = count_in("inbox", home_s, text);
	in_n = count_in("log", home_n, text);
	printf("  '%s': %d at south, %d in north's chain\n", text, in_s,
	    in_n);
	CHECK_INT(in_s, 1);
	CHECK_INT(in_n, 1);
}

/*
 * The fork a failed commit after an early send could cause, between real
 * daemons (docs/delivery.md, "Early send"). Path 0, the active one, goes
 * through tools/throttle, stopped (SIGSTOP: its connections stay open,
 * nothing passes), path 1 is direct; north dials both. North's disk
 * fails at the commit of a ROUTINE message already sent early on path 0
 * and at the try at once after it: the operator is told the outcome is
 * unknown, north ends its sessions and keeps the message, stored at its
 * seq at the next try. Path 1 comes back first; south's old path-0
 * session dies of silence (the agreement's 1 s heartbeat), so the SYNC
 * settles on path 1 while the first records are still in the stopped
 * relay. The message then reaches south over path 1, once, and the next
 * one follows it; no chain-forked alert on either side, and south got
 * it although the records it was first sent in never arrived. (Before
 * the held copy, its seq went to the next message and it was in
 * neither store.)
 */
static void
test_doubt_late_on_slow_path(void)
{
	char err[512] = "", text[64] = "";
	const char *after = "after the doubt on a slow path";
	int sent = 1, forks_s = alerts_of("chain-forked"), forks_n;
	uint64_t t0;

	forks_n = count_in("alerts --json", home_n, "chain-forked");
	relayed_pair("\"debug_inject\": true, ");

	kill_pid(pid_relay, SIGSTOP);
	for (int i = 0; i < 5 && sent == 1; i++) {
		sent = send_failing(2, "in doubt on a slow path", i + 1,
		    "routine", text, sizeof text, err, sizeof err);
		if (sent == 1)
			printf("  the failures hit other commits: again\n");
	}
	CHECK_INT(sent, 0);
	CHECK(strstr(err, "outcome unknown") != NULL);
	CHECK_INT(send_text(home_n, after, "routine", NULL, 0), 1);
	/* over path 1, while the relay still holds the first records */
	t0 = now_ms();
	while (inbox_count(home_s, after, 50) == 0 && now_ms() - t0 < 30000)
		usleep(100000);
	CHECK_INT(inbox_count(home_s, after, 50), 1);
	CHECK_INT(inbox_count(home_s, text, 50), 1);
	printf("  '%s' and the next at south over path 1 %llu ms after the "
	    "send\n", text, (unsigned long long)(now_ms() - t0));
	kill_pid(pid_relay, SIGCONT);
	CHECK(wait_settled(60000));
	CHECK_INT(inbox_count(home_s, text, 50), 1);
	CHECK_INT(inbox_count(home_s, after, 50), 1);
	CHECK_INT(count_in("log", home_n, text), 1);
	CHECK_INT(alerts_of("chain-forked"), forks_s);
	CHECK_INT(count_in("alerts --json", home_n, "chain-forked"), forks_n);
	relayed_pair_end();
}

/* The seq of the message whose first line is text among south's newest
 * 50 in its inbox: -1 when none, -2 when several. */
static long long
inbox_seq(const char *text)
{
	json_t *r = call(home_s, json_pack("{s:s, s:i}", "cmd", "inbox",
	    "max", 50)), *m;
	long long seq = -1;
	size_t i;

	json_array_foreach(json_object_get(json_object_get(r, "result"),
	    "messages"), i, m)
		if (json_string_value(json_object_get(m, "first_line")) &&
		    strcmp(json_string_value(json_object_get(m, "first_line")),
		    text) == 0)
			seq = seq == -1 ? json_integer_value(json_object_get(m,
			    "seq")) : -2;
	json_decref(r);
	return seq;
}

/* North's fence (status messages.fence): its seq, 0 when none, -1 when
 * north does not answer. */
static long long
north_fence(void)
{
	json_t *m = msgs(home_n), *f;
	long long seq;

	if (m == NULL)
		return -1;
	f = json_object_get(m, "fence");
	seq = f == NULL ? 0 : json_integer_value(json_object_get(f, "seq"));
	json_decref(m);
	return seq;
}

/* The heartbeat of the crash tests (both daemons): a silent session is
 * closed after 6 s, the fence lasts 9. */
static const char crash_hb[] = "\"heartbeat_ms\": 3000, ";

/*
 * The crash of the two tests below. Both paths through relays, north with
 * debug_kill_after_early_send 1; path 0's relay killed (path 1 active at
 * both sides, synced); south sends "PREFIX s2n 0" and it settles (north's
 * receipt of it is the last south hears on path 1: its 6 s of silence
 * count from there); path 1's relay stopped (SIGSTOP: its connections
 * stay open, nothing passes); north sends first and kills itself right
 * after its early send, unanswered, its records in the stopped relay.
 * Returns the seq first took (n: north's store ends at n - 1); *t_stop:
 * when the relay stopped.
 */
static long long
north_killed_sending(const char *prefix, const char *first,
    uint64_t *t_stop)
{
	char kn[256], text[64];
	long long n;
	uint64_t t0;
	int st;

	snprintf(kn, sizeof kn, "%s\"debug_kill_after_early_send\": 1, ",
	    crash_hb);
	relayed_pairs(kn, crash_hb, true);
	relay_stop(&pid_relay);		/* path 0 down at both sides */
	t0 = now_ms();
	while ((msg_field(home_n, "active_path") != 1 ||
	    msg_field(home_s, "active_path") != 1) && now_ms() - t0 < 15000)
		usleep(50000);
	CHECK_INT(msg_field(home_n, "active_path"), 1);
	CHECK_INT(msg_field(home_s, "active_path"), 1);
	CHECK(wait_synced(15000));
	snprintf(text, sizeof text, "%s s2n 0", prefix);
	CHECK_INT(send_text(home_s, text, "routine", NULL, 0), 1);
	CHECK(wait_settled(15000));
	n = msg_field(home_n, "assigned") + 1;
	CHECK(pid_relay1 > 0);
	kill_pid(pid_relay1, SIGSTOP);
	*t_stop = now_ms();
	CHECK_INT(send_text(home_n, first, "routine", NULL, 0), -1);
	st = reap(pid_n, 10000);
	CHECK(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	if (st == -1)
		kill9(&pid_n);		/* it did not kill itself */
	pid_n = -1;
	return n;
}

/* North restarted without the knob and path 0's relay back (path 0 is up
 * at both sides, the lowest: south's active path). Returns when north
 * was started. */
static uint64_t
north_restarted(void)
{
	char cn[512];
	uint64_t t_start;

	relayed_conf(cn, sizeof cn, crash_hb, port_base + 10,
	    port_base + 11);
	CHECK(write_conf(home_n, cn) == 0);
	pid_relay = relay_start(port_base + 2, port_base + 12);
	t_start = now_ms();
	CHECK(start(&pid_n, home_n, log_n));
	return t_start;
}

/*
 * The end of a crash test, once settled: the message north was killed
 * sending (never answered) is in neither store, nor in north's log; the
 * next one is south's seq n; no chain-forked alert at either side since
 * the counts forks_s and forks_n, nothing refused at south since refused.
 */
static void
crash_settled(const char *first, const char *next, long long n, int forks_s,
    int forks_n, long long refused)
{
	CHECK(wait_settled(30000));
	CHECK_INT(inbox_seq(first), -1);
	CHECK_INT(inbox_seq(next), n);
	CHECK_INT(count_in("log", home_n, first), 0);
	CHECK_INT(alerts_of("chain-forked"), forks_s);
	CHECK_INT(count_in("alerts --json", home_n, "chain-forked"), forks_n);
	CHECK_INT(msg_field(home_s, "refused"), refused);
}

/*
 * A crash between an early send and its commit (docs/delivery.md "After
 * a crash"), between real daemons (north_killed_sending): the records,
 * seq N of north's chain, sit in the stopped relay of path 1, and north's
 * store ends at N-1. North restarts without the knob and path 0's relay
 * comes back. North's RUN, first on its new path-0 session, tells south
 * that north started again: south ends its path-1 session of the last run
 * there and then, so the records in the relay can never reach it, and its
 * SYNC, which names north's new run, ends north's fence at once, not
 * after its 9 s. A message sent after the restart takes seq N; when the
 * relay goes on, the old records go nowhere. Both stores then hold the
 * same chains, each message once (chain_check); nothing refused, no
 * chain-forked alert at either side; the message north was killed
 * sending (never answered) is in neither store. Before the runs the
 * fence held the next message until south had the old records and north
 * took them back (2.2 s here); without any fence the old records met a
 * new seq N at south: refused, and a chain-forked alert against north.
 */
static void
test_crash_after_early_send(void)
{
	static const uint8_t acked_n[2] = { 0, 1 }, acked_s[1] = { 1 };
	struct chain_want want[2] = {
		{ "crash n2s", acked_n, NULL, 2, 0 },
		{ "crash s2n", acked_s, NULL, 1, 1 },
	};
	const char *first = "crash n2s 0", *next = "crash n2s 1";
	int forks_s = alerts_of("chain-forked"), forks_n, heard, timed, again;
	long long n, refused;
	uint64_t t_stop, t_start, t_end = 0;

	forks_n = count_in("alerts --json", home_n, "chain-forked");
	heard = lines_in(log_n, "has heard this run");
	timed = lines_in(log_n, "no record of the last run can reach");
	again = lines_in(log_s, "north started again");
	n = north_killed_sending("crash", first, &t_stop);
	refused = msg_field(home_s, "refused");
	CHECK_INT(path_up(home_s, NULL, 1), 1);	/* the last run's session */

	/* restarted without the knob; path 0 comes back */
	t_start = north_restarted();
	while (t_end == 0 && now_ms() - t_start < 20000) {
		if (north_fence() == 0)
			t_end = now_ms();
		usleep(20000);
	}
	CHECK(t_end != 0);
	CHECK_INT(lines_in(log_s, "north started again"), again + 1);
	CHECK_INT(lines_in(log_n, "has heard this run"), heard + 1);
	CHECK_INT(lines_in(log_n, "no record of the last run can reach"),
	    timed);
	CHECK_INT(path_up(home_s, NULL, 1), 0);	/* ended by south */
	CHECK_INT(msg_field(home_n, "assigned"), n - 1);
	CHECK_INT(send_text(home_n, next, "routine", NULL, 0), 1);
	CHECK(wait_settled(30000));
	CHECK_INT(inbox_seq(next), n);
	/* the relay goes on: the old records have nowhere to go */
	if (pid_relay1 > 0)
		kill_pid(pid_relay1, SIGCONT);
	usleep(1000000);
	crash_settled(first, next, n, forks_s, forks_n, refused);
	CHECK_INT(msg_field(home_n, "assigned"), n);
	printf("  seq %lld sent early, then north killed; north's fence ended "
	    "%lld ms after its restart (south heard its run); '%s' seq %lld; "
	    "the old records never reached south; south refused %lld\n", n,
	    (long long)(t_end - t_start), next, inbox_seq(next),
	    msg_field(home_s, "refused") - refused);

	/* both chains whole and the same at both sides */
	relay_stop(&pid_relay);
	relay_stop(&pid_relay1);
	stop_pair(conf, conf);
	want[0].min = (size_t)n;
	chain_check(home_n, home_s, ag.id, want);
	CHECK(start(&pid_s, home_s, log_s));
	CHECK(start(&pid_n, home_n, log_n));
	CHECK(wait_synced(15000));
}

/*
 * The same crash, but the records of the last run are lost (path 1's
 * relay killed with them) and south is out of reach when north comes
 * back (its path-0 relay comes back only after the fence's time): the
 * fence runs its whole time (3 heartbeat intervals: 9 s here) with no
 * session up, ends, and once path 0 is back the queued message takes
 * seq n. Nothing forks, nothing is refused; the message north was killed
 * sending (never answered) is in neither store.
 */
static void
test_crash_records_lost(void)
{
	const char *first = "lost n2s 0", *next = "lost n2s 1";
	int forks_s = alerts_of("chain-forked"), forks_n, ended;
	long long n, refused;
	uint64_t t_stop, t_start, t_end = 0, t_in = 0;
	char cn[512];

	forks_n = count_in("alerts --json", home_n, "chain-forked");
	ended = lines_in(log_n, "no record of the last run can reach");
	n = north_killed_sending("lost", first, &t_stop);
	refused = msg_field(home_s, "refused");
	/* killed while stopped: it never runs again, the records die with
	 * it (relay_stop lets it run first) */
	kill_pid(pid_relay1, SIGKILL);
	reap(pid_relay1, 2000);
	pid_relay1 = -1;
	/* north back, path 0's relay not yet: no session */
	relayed_conf(cn, sizeof cn, crash_hb, port_base + 10,
	    port_base + 11);
	CHECK(write_conf(home_n, cn) == 0);
	t_start = now_ms();
	CHECK(start(&pid_n, home_n, log_n));
	CHECK_INT(north_fence(), n);
	CHECK_INT(send_text(home_n, next, "routine", NULL, 0), 1);
	while (t_end == 0 && now_ms() - t_start < 30000) {
		if (north_fence() == 0)
			t_end = now_ms();
		usleep(20000);
	}
	CHECK(t_end != 0);
	CHECK_INT(lines_in(log_n, "no record of the last run can reach"),
	    ended + 1);
	CHECK_INT(msg_field(home_n, "assigned"), n - 1);
	pid_relay = relay_start(port_base + 2, port_base + 12);
	while (t_in == 0 && now_ms() - t_start < 60000) {
		if (inbox_seq(next) != -1)
			t_in = now_ms();
		usleep(20000);
	}
	CHECK(t_in != 0);
	crash_settled(first, next, n, forks_s, forks_n, refused);
	printf("  records of seq %lld lost with the relay, south out of reach: "
	    "north's fence ended %lld ms after its restart (time out); '%s' "
	    "at south as seq %lld %lld ms after the path came back\n", n,
	    (long long)(t_end - t_start), next, inbox_seq(next),
	    (long long)(t_in - t_end));
	relay_stop(&pid_relay);
	stop_pair(conf, conf);
	CHECK(start(&pid_s, home_s, log_s));
	CHECK(start(&pid_n, home_n, log_n));
	CHECK(wait_synced(15000));
}

/*
 * A sent-ahead note that cannot be opened (a directory in its place):
 * north logs it, turns the early send off and fences its channel, as
 * after a crash whose note is lost (status FENCED at an unknown seq,
 * JSON seq null), while south is away. Once south is back and has heard
 * north's run, the fence ends, and a message sent meanwhile goes at the
 * next seq.
 */
static void
test_note_unreadable(void)
{
	const char *text = "note unreadable";
	char path[sizeof home_n + 32], out[8192];
	json_t *m, *f;
	long long n;

	stop_pair(conf, conf);
	snprintf(path, sizeof path, "%s/%s", home_n, STORE_AHEAD_FILE);
	unlink(path);
	CHECK_INT(mkdir(path, 0700), 0);
	CHECK(start(&pid_n, home_n, log_n));	/* south away */
	CHECK_INT(parley(out, sizeof out, "status --home %s", home_n), 0);
	CHECK_CONTAINS(out, "FENCED: the last run may have sent our messages "
	    "up to an unknown seq (the note is damaged or unreadable)");
	m = msgs(home_n);
	f = m != NULL ? json_object_get(m, "fence") : NULL;
	CHECK(f != NULL && json_is_null(json_object_get(f, "seq")));
	json_decref(m);
	CHECK(wait_log(log_n, "cannot open", "messages leave only after their "
	    "commit", 5000));
	n = msg_field(home_n, "assigned") + 1;
	CHECK_INT(send_text(home_n, text, "routine", NULL, 0), 1);
	usleep(300000);
	CHECK_INT(msg_field(home_n, "queued"), 1);
	CHECK(start(&pid_s, home_s, log_s));
	CHECK(wait_settled(30000));
	CHECK_INT(north_fence(), 0);
	/* south heard this run (or, on a slow machine, the fence's 3 s
	 * ran out first) */
	CHECK(log_has(log_n, "has heard this run", NULL) ||
	    log_has(log_n, "no record of the last run can reach", NULL));
	CHECK_INT(inbox_seq(text), n);
	CHECK_INT(rmdir(path), 0);
	restart_pair(conf, conf);
	CHECK(wait_synced(15000));
}

/*
 * A peer whose signed receipt claims our chain far past our store (here a
 * SYNC "from north" whose receipt says it holds south's chain up to seq
 * 1,000,000, handed to south while the real north is stopped, SIGSTOP):
 * south takes nothing new into its chain (that would fork it) and
 * `parley status` says why, with both seqs, instead of messages that just
 * stay queued. When the real north comes back, its SYNC says what it
 * holds (no more than south's store): south stops taking its chain back
 * and the held message goes.
 */
static void
test_false_claim_shown(void)
{
	struct chain_receipt rc;
	uint8_t rec[CHAIN_RECEIPT_MAX + 64];
	char out[8192] = "";
	json_t *m, *r;
	uint64_t t0;
	size_t n = 0;
	bool shown = false;

	CHECK(wait_settled(30000));
	memset(&rc, 0, sizeof rc);
	memcpy(rc.channel, ag.id, 32);
	rc.receiver = 0;		/* north's receipt of south's chain */
	rc.seq = 1000000;
	rc.time_ms = now_ms();
	CHECK_INT(chain_receipt_sign(&rc, &k_n), 0);
	CHECK_INT(delivery_sync_encode(&rc, false, 0, rec, sizeof rec, &n), 0);
	kill_pid(pid_n, SIGSTOP);
	CHECK(inject_north_run());
	CHECK(inject(DELIVERY_REC_SYNC, rec, n));
	CHECK(wait_log(log_s, "north holds our chain up to seq 1000000",
	    "asking for ours back", 5000));
	t0 = now_ms();
	while (!shown && now_ms() - t0 < 10000) {
		CHECK_INT(parley(out, sizeof out, "status --home %s", home_s),
		    0);
		shown = strstr(out, "RECOVERING our chain: north holds it up "
		    "to seq 1000000, this store up to ") != NULL;
		if (!shown)
			usleep(100000);
	}
	CHECK(shown);
	m = msgs(home_s);
	r = m ? json_object_get(m, "recovering") : NULL;
	CHECK(r != NULL && json_integer_value(json_object_get(r,
	    "peer_holds")) == 1000000);
	json_decref(m);
	/* nothing new gets a seq meanwhile */
	CHECK_INT(send_text(home_s, "held back by the claim", "routine",
	    NULL, 0), 1);
	usleep(500000);
	CHECK_INT(msg_field(home_s, "queued"), 1);
	/* the real north's word ends it; the held message goes */
	kill_pid(pid_n, SIGCONT);
	CHECK(wait_log(log_s, "north now holds our chain up to seq",
	    "no longer taking it back", 15000));
	CHECK(wait_settled(15000));
	m = msgs(home_s);
	CHECK(m != NULL && json_object_get(m, "recovering") == NULL);
	json_decref(m);
	CHECK_INT(parley(out, sizeof out, "status --home %s", home_s), 0);
	CHECK(strstr(out, "RECOVERING") == NULL);
}

/* --- the stores agree ----------------------------------------------------- */

static void
test_stores_agree(void)
{
	const struct chain_want want[2] = {
		{ "n2s", acked[0], NULL, N_EACH * 2, N_EACH },
		{ "s2n", acked[1], NULL, N_EACH * 2, N_EACH },
	};

	kill_pid(pid_n, SIGTERM);
	kill_pid(pid_s, SIGTERM);
	CHECK(reap(pid_n, 10000) >= 0);
	CHECK(reap(pid_s, 10000) >= 0);
	pid_n = pid_s = -1;
	chain_check(home_n, home_s, ag.id, want);
	/* Under make asan: no sanitizer report from either daemon. */
	CHECK(pair_logs_clean());
}

int
main(void)
{
	char cmd[3000];

	time_limit_kills(&pid_relay);
	time_limit_kills(&pid_relay1);
	if (sodium_init() < 0 || !pair_begin("it_messages", TIME_LIMIT_S,
	    18000, 19000, 14, tmpdir, conf))
		return 1;
	RUN(test_round_trip);
	RUN(test_pipelined);
	RUN(test_exactly_once_under_faults);
	RUN(test_refusals);
	RUN(test_forged_checkpoints);
	RUN(test_flash_overtakes);
	RUN(test_flash_slow_peer);
	RUN(test_slow_path_no_resend);
	RUN(test_flash_every_path);
	RUN(test_full_disk);
	RUN(test_store_fails_after_send);
	RUN(test_doubt_late_on_slow_path);
	RUN(test_crash_after_early_send);
	RUN(test_crash_records_lost);
	RUN(test_note_unreadable);
	RUN(test_false_claim_shown);
	RUN(test_stores_agree);
	kill9(&pid_n);		/* before the logs are read */
	kill9(&pid_s);
	if (harness_failed) {
		printf("--- north.log (tail) ---\n");
		snprintf(cmd, sizeof cmd, "grep -v 'refused message seq' %s | "
		    "tail -n 30; echo '--- south.log (tail) ---'; grep -v "
		    "'refused message seq' %s | tail -n 40", log_n, log_s);
		(void)!system(cmd);
	}
	pair_end(tmpdir);
	return harness_summary();
}
