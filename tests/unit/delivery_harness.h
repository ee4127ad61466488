/*
 * delivery_harness.h: the harness the test_delivery*.c programs share.
 * Two delivery engines (msg/delivery.h), north (na) and south (nb), each
 * with its own store, wired through memory: one struct pipe per direction
 * (all paths, in the order sent), a fake io (delivery_io) whose knobs are
 * the globals below (a full output, a lost record, a slow link's cap, a
 * clock), run() to move records, and the helpers several programs use:
 * submissions and their answers, the received chain, the log (stderr goes
 * to a file the tests read), store files, paths dropped and held.
 *
 * A program calls delivery_harness_open(its name) first and
 * delivery_harness_close() before harness_summary(). Every function is
 * static and marked unused (as in tests/integration/daemon_util.h): each
 * program takes what it needs and has its own copy of the state, so its
 * CHECKs count in its own harness.h totals. No network.
 */
#ifndef PARLEY_TESTS_DELIVERY_HARNESS_H
#define PARLEY_TESTS_DELIVERY_HARNESS_H

#include <sodium.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../harness.h"
#include "base/hex.h"
#include "base/log.h"
#include "base/wire.h"
#include "crypto/agreement.h"
#include "msg/ack.h"
#include "msg/checkpoint.h"
#include "msg/alert.h"
#include "msg/delivery.h"
#include "msg/recover.h"
#include "store/record.h"

#define DH_UNUSED __attribute__((unused))

#define QCAP 20000

struct rec {
	uint8_t type;
	unsigned path;
	uint8_t *b;
	size_t n;
};

/* One direction of the memory wire (all paths, in the order sent). */
struct pipe {
	struct rec q[QCAP];
	size_t head, tail;
	uint64_t msgs;			/* MSG records sent */
	uint64_t msg_on[3], part_on[3], head_on[3], rc_on[3];	/* per path */
	uint64_t own_bytes;		/* RECOVER_REC_OWN record bytes sent */
	uint8_t own_at[3][32];		/* per path, messages (by seq) whose
					 * first OWN record was sent */
};

/* Bytes sent through p and not yet taken off it. */
static DH_UNUSED size_t
pipe_bytes(const struct pipe *p)
{
	size_t n = 0;

	for (size_t i = p->head; i < p->tail; i++)
		n += p->q[i % QCAP].n;
	return n;
}

/* Records of type waiting in p (sent and not yet taken off it). */
static DH_UNUSED size_t
pipe_count(const struct pipe *p, unsigned type)
{
	size_t n = 0;

	for (size_t i = p->head; i < p->tail; i++)
		n += p->q[i % QCAP].type == type;
	return n;
}

struct node {
	struct keys k;
	struct store *s;
	struct delivery *d;
	struct pipe *out;
	struct node *peer;
	bool connected, woken;
	uint64_t drops;
	uint64_t alarms;		/* io.alarm calls */
	char alarm[1024];		/* the last one's kind: text */
	uint64_t noted;			/* io.note_ahead's last seq */
	bool note_fails;		/* io.note_ahead refuses */
	size_t queued;			/* io.queued's answer */
};

static uint8_t chan[32];
/* The engines' wall clock (io.now_ms): moving it on is time passing,
 * on both clocks; wall_step moves the wall clock alone. */
static uint64_t clock_ms = 1700000000000u;
static uint64_t wall_stepped;		/* the steps' sum, mod 2^64 */
static int drop_type = -1;		/* the next record of this type is lost */
static int fail_msg_path = -1;		/* on this path, MSG number */
static int fail_msg_nth;		/* fail_msg_nth is refused (ERR_FULL) */
static int full_path = -1;		/* north's output on it is full */
static int full_path_s = -1;		/* south's output on it is full */
static unsigned npaths = 1;		/* of the channel, at engines_start */
static size_t wire_cap;			/* bytes outstanding per direction
					 * (a slow link; 0: any) */
static struct node na, nb;
static struct pipe pab, pba;
static bool hold_answer;		/* south's OWN and OWN_HEAD are kept
					 * in answer_held (a slow path) */
static struct rec answer_held[64];
static size_t nanswer_held;
static char logpath[] = "/tmp/parley-test-delivery-XXXXXX";

static DH_UNUSED int
io_send(void *ctx, const uint8_t c[32], unsigned path, uint8_t type,
    const uint8_t *b, size_t n)
{
	struct node *x = ctx;
	struct rec *r;

	(void)c;
	if (!x->connected || path >= npaths)
		return ERR_CLOSED;
	if (x->out->tail - x->out->head >= QCAP)
		return ERR_FULL;
	if ((x == &na && (int)path == full_path) ||
	    (x == &nb && (int)path == full_path_s))
		return ERR_FULL;	/* clogged: refuses every record */
	if (wire_cap != 0 && pipe_bytes(x->out) + n > wire_cap)
		return ERR_FULL;	/* the link's queue at its cap */
	if (type == DELIVERY_REC_MSG && (int)path == fail_msg_path &&
	    --fail_msg_nth == 0)
		return ERR_FULL;	/* that path's output is full */
	if (drop_type == type) {	/* lost inside a session */
		drop_type = -1;
		return 0;
	}
	r = &x->out->q[x->out->tail % QCAP];
	r->type = type;
	r->path = path;
	r->b = malloc(n ? n : 1);
	memcpy(r->b, b, n);
	r->n = n;
	x->out->tail++;
	if (type == DELIVERY_REC_MSG)
		x->out->msgs++;
	if (type == DELIVERY_REC_MSG)
		x->out->msg_on[path]++;
	else if (type == DELIVERY_REC_PART)
		x->out->part_on[path]++;
	else if (type == DELIVERY_REC_HEAD)
		x->out->head_on[path]++;
	else if (type == DELIVERY_REC_RECEIPT)
		x->out->rc_on[path]++;
	else if (type == RECOVER_REC_OWN) {
		struct recover_own o;
		struct envelope_header h;
		x->out->own_bytes += n;
		if (recover_own_decode(b, n, &o) == 0 && o.offset == 0 &&
		    envelope_header_decode(&h, o.hdr, o.hlen) == 0 &&
		    h.seq < 32)
			x->out->own_at[path][h.seq]++;
	}
	return 0;
}

static DH_UNUSED void
io_drop(void *ctx, const uint8_t c[32], unsigned path, const char *why)
{
	struct node *x = ctx;

	(void)c;
	(void)path;
	(void)why;
	x->drops++;
}

static DH_UNUSED void
io_alarm(void *ctx, const uint8_t c[32], const char *kind, const char *text)
{
	struct node *x = ctx;

	(void)c;
	x->alarms++;
	snprintf(x->alarm, sizeof x->alarm, "%s: %s", kind, text);
}

/* The sent-ahead note, kept in the node (the daemon's is a file). */
static DH_UNUSED int
io_note(void *ctx, const uint8_t c[32], uint64_t seq)
{
	struct node *x = ctx;

	(void)c;
	if (x->note_fails)
		return ERR_IO;
	x->noted = seq;
	return 0;
}

/* Bytes the session still has to send (a slow path): set by the test. */
static DH_UNUSED size_t
io_queued(void *ctx, const uint8_t c[32], unsigned path)
{
	(void)c;
	(void)path;
	return ((struct node *)ctx)->queued;
}

static DH_UNUSED uint64_t
io_now(void *ctx)
{
	(void)ctx;
	return clock_ms;
}

/* The engines' monotonic clock (io.mono_ms): clock_ms without the wall
 * clock's steps. */
static DH_UNUSED uint64_t
io_mono(void *ctx)
{
	(void)ctx;
	return clock_ms - wall_stepped;
}

/* The wall clock stepped by ms (forward, or back when negative), as an
 * operator or NTP does; no time passes. */
static DH_UNUSED void
wall_step(int64_t ms)
{
	clock_ms += (uint64_t)ms;
	wall_stepped += (uint64_t)ms;
}

static DH_UNUSED void
io_wake(void *ctx)
{
	((struct node *)ctx)->woken = true;
}

static DH_UNUSED void
pipe_clear(struct pipe *p)
{
	while (p->head < p->tail)
		free(p->q[p->head++ % QCAP].b);
}

/* Opens x's store (when not open) and a new engine over it: x is north
 * (self 0) or south. */
static DH_UNUSED void
engine_start(struct node *x)
{
	struct delivery_io io = { io_send, io_drop, io_wake, io_now, NULL,
	    NULL, NULL, io_alarm, io_note, io_queued, io_mono };
	int self = x == &nb;

	if (x->s == NULL && store_open(&x->s, ":memory:") != 0)
		abort();
	io.ctx = x;
	if (delivery_new(x->s, &x->k, &io, &x->d) != 0 ||
	    delivery_add_channel(x->d, chan, (uint8_t)self,
	    x->peer->k.id.sign_pub, self ? "north" : "south", npaths) != 0)
		abort();
}

/* Opens both stores and engines (a restart keeps nothing but the store). */
static DH_UNUSED void
engines_start(void)
{
	engine_start(&na);
	engine_start(&nb);
}

static DH_UNUSED void
engines_stop(bool keep_store)
{
	struct node *n[2] = { &na, &nb };

	pipe_clear(&pab);
	pipe_clear(&pba);
	for (int i = 0; i < 2; i++) {
		delivery_free(n[i]->d);
		n[i]->d = NULL;
		n[i]->connected = false;
		if (!keep_store) {
			store_close(n[i]->s);
			n[i]->s = NULL;
		}
	}
}

static DH_UNUSED void
connect_both(bool up)
{
	na.connected = nb.connected = up;
	if (!up) {
		pipe_clear(&pab);
		pipe_clear(&pba);
	}
	for (unsigned p = 0; p < npaths; p++) {
		delivery_path_change(na.d, chan, p, up);
		delivery_path_change(nb.d, chan, p, up);
	}
}

/* Delivers up to max records each way; returns how many moved. */
static DH_UNUSED size_t
run(size_t max)
{
	size_t moved = 0;
	bool any = true;

	while (any && moved < max) {
		any = false;
		for (int i = 0; i < 2; i++) {
			struct node *x = i ? &nb : &na;
			struct pipe *p = x->out;
			if (x->woken) {
				x->woken = false;
				delivery_pump(x->d);
				any = true;
			}
			if (p->head < p->tail && moved < max) {
				struct rec r = p->q[p->head++ % QCAP];
				if (x == &nb && hold_answer &&
				    (r.type == RECOVER_REC_OWN ||
				    r.type == RECOVER_REC_HEAD) &&
				    nanswer_held < 64) {
					answer_held[nanswer_held++] = r;
					moved++;
					any = true;
					continue;
				}
				delivery_record(x->peer->d, chan, r.path,
				    r.type, r.b, r.n);
				free(r.b);
				moved++;
				any = true;
			}
		}
	}
	return moved;
}

/* Both engines started on n paths and connected, their first records
 * (RUN, SYNC) moved. */
static DH_UNUSED void
start_on_paths(unsigned n)
{
	npaths = n;
	engines_start();
	connect_both(true);
	run(1000000);
}

static DH_UNUSED void
queue_n(struct node *x, int n, uint8_t prec, const char *fmt)
{
	char body[64];
	int64_t qid;

	for (int i = 0; i < n; i++) {
		snprintf(body, sizeof body, "%s %d", fmt, i);
		if (delivery_queue(x->d, 0, prec, ENVELOPE_PRIVATE,
		    ENVELOPE_TEXT, (const uint8_t *)body, strlen(body), &qid)
		    != 0)
			abort();
	}
}

struct seen {
	uint64_t next;
	int bad;
	uint64_t flash_seq;
};

static DH_UNUSED int
check_row(void *arg, struct store_msg *m)
{
	struct seen *s = arg;

	if (m->seq != s->next)
		s->bad++;
	if (m->precedence == ENVELOPE_FLASH && s->flash_seq == 0)
		s->flash_seq = m->seq;
	s->next++;
	return 0;
}

/* The received chain of sender at x: 1..n, each once. */
static DH_UNUSED uint64_t
received(struct node *x, uint8_t sender, struct seen *s)
{
	memset(s, 0, sizeof *s);
	s->next = 1;
	if (store_after(x->s, chan, sender, 0, 100000, check_row, s) != 0)
		s->bad++;
	return s->next - 1;
}

/* delivery_submit's answers, in the order they came. */
struct answers {
	int n, bad, in_txn;
	int64_t qid[200];
	int r[200];
};

static DH_UNUSED void
answer(void *arg, int r, int64_t qid)
{
	struct answers *a = arg;

	if (a->n >= 200) {
		a->bad++;
		return;
	}
	a->qid[a->n] = qid;
	a->r[a->n++] = r;
}

/* North submits a PRIVATE text at prec, answered into a. */
static DH_UNUSED void
submit(uint8_t prec, const char *text, struct answers *a)
{
	CHECK_INT(delivery_submit(na.d, 0, prec, ENVELOPE_PRIVATE,
	    ENVELOPE_TEXT, (const uint8_t *)text, strlen(text), false, NULL,
	    answer, a), 0);
}

static DH_UNUSED int
in_txn(void *arg, int64_t qid)
{
	struct answers *a = arg;

	(void)qid;
	a->in_txn++;
	return 0;
}

/* Where the log ends now (log_since reads from there). */
static DH_UNUSED long
log_mark(void)
{
	long end = 0;
	FILE *f;

	fflush(stderr);
	if ((f = fopen(logpath, "r")) != NULL) {
		if (fseek(f, 0, SEEK_END) == 0)
			end = ftell(f);
		fclose(f);
	}
	return end;
}

/* A line containing s written since mark. */
static DH_UNUSED bool
log_since(long mark, const char *s)
{
	char line[2048];
	bool found = false;
	FILE *f;

	fflush(stderr);
	if ((f = fopen(logpath, "r")) == NULL)
		return false;
	if (fseek(f, mark, SEEK_SET) == 0)
		while (!found && fgets(line, sizeof line, f))
			found = strstr(line, s) != NULL;
	fclose(f);
	return found;
}

/* A line containing s anywhere in the log. */
static DH_UNUSED bool
log_has(const char *s)
{
	return log_since(0, s);
}

static DH_UNUSED uint64_t
held(void)
{
	uint64_t seq;
	uint8_t id[32];

	if (store_highest(na.s, chan, 1, &seq, id) != 0)
		return 999;
	return seq;
}

/* The peer's RUN (its engine's run) on path of x's engine, as the peer
 * sends it first on a session: for a test that plays the peer by
 * feeding records, which are taken only after it. */
static DH_UNUSED void
fake_run(struct node *x, unsigned path)
{
	uint8_t b[32];
	size_t n;

	CHECK_INT(delivery_run_encode(delivery_run(x->peer->d), b, sizeof b,
	    &n), 0);
	delivery_record(x->d, chan, path, DELIVERY_REC_RUN, b, n);
}

/* Milliseconds of the monotonic clock. */
static DH_UNUSED double
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* sign_head of delivery_send.c, with north's key. */
static DH_UNUSED int
north_signs(void *arg, const uint8_t *channel, uint8_t sender, uint64_t seq,
    const uint8_t id[STORE_ID_LEN], struct store_head *out)
{
	struct chain_head h;
	int r;

	(void)arg;
	memset(&h, 0, sizeof h);
	memcpy(h.channel, channel, sizeof h.channel);
	h.sender = sender;
	h.seq = seq;
	memcpy(h.id, id, sizeof h.id);
	if ((r = chain_head_sign(&h, &na.k)) != 0)
		return r;
	chain_head_to_store(out, &h);
	return 0;
}

static DH_UNUSED uint64_t
own_held(void)
{
	uint64_t seq;
	uint8_t id[32];

	if (store_highest(na.s, chan, 0, &seq, id) != 0)
		return 999;
	return seq;
}

/* South's signed receipt of north's chain at seq (naming north's id
 * there, when north holds it), signed at time t, as a RECEIPT (sync
 * false) or SYNC record in b; its length. */
static DH_UNUSED size_t
south_receipt(uint64_t seq, uint64_t t, bool sync, uint8_t *b, size_t cap)
{
	struct chain_receipt rc;
	size_t n = 0;

	memset(&rc, 0, sizeof rc);
	memcpy(rc.channel, chan, sizeof rc.channel);
	rc.receiver = 1;
	rc.seq = seq;
	rc.time_ms = t;
	{
		uint8_t ids[1][32];
		if (store_ids_range(na.s, chan, 0, seq - 1, 1, ids) == 0)
			memcpy(rc.id, ids[0], sizeof rc.id);
	}
	CHECK_INT(chain_receipt_sign(&rc, &nb.k), 0);
	if (sync)
		CHECK_INT(delivery_sync_encode(&rc, false, 0, b, cap, &n), 0);
	else
		CHECK_INT(chain_receipt_encode(&rc, b, cap, &n), 0);
	return n;
}

static int body_matches;
static DH_UNUSED char doubt_body[] = "in doubt";

static DH_UNUSED int
body_is(void *arg, struct store_msg *m)
{
	const char *want = arg;

	body_matches = m->body_len == strlen(want) &&
	    memcmp(m->body, want, m->body_len) == 0;
	return 0;
}

/* The message of our chain at seq in x's store has body want. */
static DH_UNUSED bool
chain_body_at(struct node *x, uint8_t sender, uint64_t seq, const char *want)
{
	body_matches = 0;
	return store_after(x->s, chan, sender, seq - 1, 1, body_is,
	    (void *)(uintptr_t)want) == 0 && body_matches == 1;
}

/* A store file for x at a new name made from path (a mkstemp
 * template). */
static DH_UNUSED void
file_store(struct node *x, char *path)
{
	int fd;

	if ((fd = mkstemp(path)) < 0)
		abort();
	close(fd);
	unlink(path);
	CHECK_INT(store_open(&x->s, path), 0);
}

/* n ticks of both engines, 100 ms apart, the records moved after each. */
static DH_UNUSED void
ticks(int n)
{
	for (int k = 0; k < n; k++) {
		clock_ms += 100;
		delivery_tick(na.d);
		delivery_tick(nb.d);
		run(1000000);
	}
}

static DH_UNUSED void
unlink_store(const char *path)
{
	char side[256];

	unlink(path);
	snprintf(side, sizeof side, "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof side, "%s-shm", path);
	unlink(side);
}

/* Takes the records in q on path (any path: -1) of type (any type: -1)
 * off the wire, the others kept in their order. */
static DH_UNUSED void
drop_records(struct pipe *q, int path, int type)
{
	struct rec *keep = malloc(QCAP * sizeof *keep);
	size_t n = 0;

	if (keep == NULL)
		abort();
	while (q->head < q->tail) {
		struct rec r = q->q[q->head++ % QCAP];
		if ((path < 0 || (int)r.path == path) &&
		    (type < 0 || (int)r.type == type))
			free(r.b);
		else
			keep[n++] = r;
	}
	for (size_t i = 0; i < n; i++)
		q->q[q->tail++ % QCAP] = keep[i];
	free(keep);
}

/* Drops what x's engine sent on path p (records into a session that is
 * gone: the dead process's). */
static DH_UNUSED void
drop_path(struct pipe *q, unsigned p)
{
	drop_records(q, (int)p, -1);
}

/* The slow path's records (taken off the wire) reach south on path 1. */
static DH_UNUSED void
slow_arrive(struct rec *slow, size_t nslow)
{
	for (size_t i = 0; i < nslow; i++) {
		delivery_record(nb.d, chan, 1, slow[i].type, slow[i].b,
		    slow[i].n);
		free(slow[i].b);
	}
}

/* The end of a test on two paths and a store file: the engines stopped,
 * one path again, the file gone. */
static DH_UNUSED void
fence_test_end(const char *path)
{
	engines_stop(false);
	npaths = 1;
	unlink_store(path);
}

/* North's chain is one at both sides, n long: no alarm since alarms, no
 * fork logged since mark, nothing bad in what south holds. */
static DH_UNUSED void
one_chain(uint64_t alarms, long mark, int n)
{
	struct seen sn;

	CHECK_INT(na.alarms + nb.alarms, alarms);
	CHECK(!log_since(mark, "chain forks"));
	CHECK_INT(own_held(), n);
	CHECK_INT(received(&nb, 0, &sn), n);
	CHECK_INT(sn.bad, 0);
}

/* Drops the records of type in q (lost on the way). */
static DH_UNUSED void
drop_of_type(struct pipe *q, uint8_t type)
{
	drop_records(q, -1, type);
}

/* Moves every record in q to its receiver (no answers moved). */
static DH_UNUSED void
deliver_all(struct pipe *q, struct node *to)
{
	while (q->head < q->tail) {
		struct rec r = q->q[q->head++ % QCAP];
		delivery_record(to->d, chan, r.path, r.type, r.b, r.n);
		free(r.b);
	}
}

static void
node_make(struct node *x, struct node *peer, struct pipe *out)
{
	memset(x, 0, sizeof *x);
	x->k.sign_sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
	crypto_sign_keypair(x->k.id.sign_pub, x->k.sign_sk);
	x->peer = peer;
	x->out = out;
}

/* Sets up the program: libsodium, the channel id, both nodes' keys, and
 * stderr to the log file (log_setup as name). 0, or -1 on failure. */
static DH_UNUSED int
delivery_harness_open(const char *name)
{
	int fd;

	if (sodium_init() < 0)
		return -1;
	memset(chan, 0x5a, sizeof chan);
	node_make(&na, &nb, &pab);
	node_make(&nb, &na, &pba);
	if ((fd = mkstemp(logpath)) < 0)
		return -1;
	close(fd);
	if (freopen(logpath, "w", stderr) == NULL)
		return -1;
	log_setup(name, LOG_LVL_INFO, false);
	return 0;
}

/* Ends the program: when a test failed, the log's last lines (but the
 * "gap in" ones) on stdout; the log file removed, the keys wiped. */
static DH_UNUSED void
delivery_harness_close(void)
{
	if (harness_failed) {
		char cmd[200];
		snprintf(cmd, sizeof cmd, "grep -v \"gap in\" %s | tail -n 60", logpath);
		(void)!system(cmd);
	}
	unlink(logpath);
	keys_fini(&na.k);
	keys_fini(&nb.k);
}

#endif
