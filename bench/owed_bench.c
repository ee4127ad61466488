/*
 * owed_bench.c: what `parley status`'s acknowledgment counts cost
 * (deadline_owed, msg/deadline.h) on a long record: one channel holding N
 * text messages, half ours and half the peer's, one a second, mixed
 * precedences, every one acknowledged by the other side except one in
 * UNACKED (default 10: a tenth owed both ways). The store is a file in
 * /tmp with the daemon's page cache; the counts are
 * taken at the end of the record, so most of what is owed is overdue.
 * Times, on a new connection as at the daemon's start: the watch's
 * warm-up, twice each way, alternating: whole (deadline_owed_warm: the
 * record read at once) and in the daemon's slices (deadline_owed_warm_step
 * with DEADLINE_WARM_SEQS and DEADLINE_WARM_US, nothing between them: the
 * total, the number of slices and the longest, which is the longest the
 * daemon's loop waits); then
 * deadline_owed_recount (the reference: every message read) and
 * deadline_owed (the kept owed messages, read on), after checking they
 * agree; then deadline_owed again after each of 20 rounds of new traffic
 * (20 texts and their ACKs, but one in UNACKED: a status while messages
 * flow). Prints the median and the fastest of several calls in ms, wall
 * and CPU of this process; judges nothing.
 *
 * Then the deadline watch's first scan (deadline_watch_tick's, msg/
 * deadline.h) over a copy of the record, SCAN_ROUNDS times each way,
 * alternating: whole (one tick) and in the daemon's steps
 * (deadline_watch_step with DEADLINE_SCAN_SEQS and DEADLINE_SCAN_US,
 * nothing between them), each at a first start (no alert yet: it raises
 * one per overdue text, a commit each) and at a restart (every alert
 * raised already), on a connection with the daemon's WAL policy
 * (store_wal_defer: no checkpoint inside a commit). Prints the total, the steps and the longest, which is
 * the longest the daemon's loop waits. Built against a tree without
 * deadline_watch_step, only the whole scan (the before).
 *
 * Then texts falling due together after a clock jump (at most 10,000
 * of the record's N; alone: OWED_BENCH_ONLY=burst owed_bench 10000): a
 * store of N texts, half ours, half the peer's, none acknowledged, FLASH,
 * all at one time_ms ("at once") or spread over an hour ("spread"); the
 * watch's first scan goes through before they are due, then the clock
 * jumps two hours on and the daemon's steps (deadline_watch_step with
 * DEADLINE_SCAN_SEQS and DEADLINE_SCAN_US, nothing between them) raise
 * the N alerts, a commit each (the daemon's WAL policy). Prints the
 * total, the steps and the longest, which is the longest the daemon's
 * loop waits: before the listing by due time was bounded, one step.
 *
 * Usage: owed_bench [N ...]   (default 10000 100000)
 *        OWED_BENCH_UNACKED=2 owed_bench 100000   (half owed)
 *        OWED_BENCH_ONLY=scan (or owed, burst) owed_bench 100000
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "msg/ack.h"
#include "msg/alert.h"
#include "msg/chain.h"
#include "msg/deadline.h"
#include "msg/envelope.h"
#include "store/people.h"
#include "store/store.h"

#define BATCH 1000
#define T0 1700000000000ull		/* the first message's time */
#define CALLS_MIN 5
#define CALLS_MS 3000.0			/* calls until this much time */
#define ROUNDS 20			/* of new traffic, a status each */
#define ROUND 20			/* texts in a round */
#define SCAN_ROUNDS 3			/* deadline scans, each way */

static const uint32_t deadline_s[4] = { 600, 1800, 10800, 21600 };

static void
die(const char *what, int r)
{
	fprintf(stderr, "owed_bench: %s: %s\n", what, err_str(r));
	exit(1);
}

static double
now_ms(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* One side's chain as the bench writes it. */
struct side {
	uint8_t sender;
	uint64_t seq;
	uint8_t prev[ENVELOPE_ID_LEN];
	uint8_t (*ids)[ENVELOPE_ID_LEN];	/* of its text messages */
	uint64_t *times;
	uint8_t *prec;
	size_t n;
};

struct item {
	uint32_t kind;
	uint8_t precedence;
	uint64_t time_ms;
	uint8_t body[ACK_BODY_MAX];
	size_t body_len;
};

/* Writes n items into side's chain: ours queued and assigned, the peer's
 * received (headers built here as the peer would). */
static void
put(struct store *s, const uint8_t *ch, struct side *sd,
    const struct item *it, size_t n)
{
	static uint8_t hdr[BATCH][ENVELOPE_HEADER_MAX];
	static struct store_draft d[BATCH];
	static struct store_assigned out[BATCH];
	static struct store_in in[BATCH];
	static uint8_t salt[BATCH][ENVELOPE_SALT_LEN];
	struct envelope_header h;
	bool salted;
	size_t hlen, added;
	int r;

	for (size_t i = 0; i < n; i++) {
		memset(&d[i], 0, sizeof d[i]);
		d[i].channel = ch;
		d[i].sender = sd->sender;
		d[i].seq = ++sd->seq;
		memcpy(d[i].prev, sd->prev, ENVELOPE_ID_LEN);
		d[i].time_ms = it[i].time_ms;
		d[i].precedence = it[i].precedence;
		d[i].marking = ENVELOPE_PRIVATE;
		d[i].kind = it[i].kind;
		d[i].body = it[i].body;
		d[i].body_len = it[i].body_len;
		if (sd->sender == 1) {
			if ((r = chain_store_build(NULL, &d[i], hdr[i],
			    sizeof hdr[i], &hlen, sd->prev, salt[i],
			    &salted)) != 0 ||
			    (r = envelope_header_decode(&h, hdr[i], hlen))
			    != 0)
				die("build", r);
			chain_store_in(&in[i], &h, hdr[i], hlen, salt[i],
			    d[i].body, d[i].body_len, sd->prev);
		}
	}
	if (sd->sender == 1) {
		if ((r = store_received_put(s, ch, 1, in, n, NULL,
		    it[n - 1].time_ms, &added)) != 0)
			die("store_received_put", r);
		for (size_t i = 0; i < n; i++)
			if (it[i].kind == ENVELOPE_TEXT)
				memcpy(sd->ids[sd->n++], in[i].id,
				    ENVELOPE_ID_LEN);
		return;
	}
	if ((r = store_queue_assigned_run(s, d, n, it[n - 1].time_ms,
	    chain_store_build, NULL, out)) != 0)
		die("store_queue_assigned_run", r);
	for (size_t i = 0; i < n; i++) {
		if (out[i].r != 0)
			die("draft", out[i].r);
		if (it[i].kind == ENVELOPE_TEXT)
			memcpy(sd->ids[sd->n++], out[i].id, ENVELOPE_ID_LEN);
	}
}

/* Texts k .. k + n - 1 of the record (even: ours, odd: the peer's). */
static void
texts(struct store *s, const uint8_t *ch, struct side sd[2], size_t k,
    size_t n)
{
	static struct item it[2][BATCH];
	size_t m[2] = { 0, 0 };

	for (size_t i = k; i < k + n; i++) {
		struct item *x = &it[i % 2][m[i % 2]++];
		struct side *o = &sd[i % 2];

		x->kind = ENVELOPE_TEXT;
		x->precedence = (uint8_t)(i % 7 == 0 ? 0 : i % 5 == 0 ? 1 :
		    i % 3 == 0 ? 2 : 3);
		x->time_ms = T0 + i * 1000;
		x->body_len = (size_t)snprintf((char *)x->body,
		    sizeof x->body, "message %zu of the record", i);
		o->times[o->n + m[i % 2] - 1] = x->time_ms;
		o->prec[o->n + m[i % 2] - 1] = x->precedence;
	}
	for (unsigned w = 0; w < 2; w++)
		if (m[w] > 0)
			put(s, ch, &sd[w], it[w], m[w]);
}

/* The ACKs by side w of the other's texts from..to-1, but one in every
 * unacked, each a minute after its message. */
static void
acks(struct store *s, const uint8_t *ch, struct side sd[2], unsigned w,
    size_t from, size_t to, size_t unacked)
{
	static struct item it[BATCH];
	struct side *o = &sd[1 - w];
	struct ack_body b;
	size_t m = 0;
	int r;

	memset(&b, 0, sizeof b);
	snprintf(b.operator, sizeof b.operator, "Duty Officer");
	for (size_t i = from; i < to; i++) {
		if (i % unacked == unacked - 1)
			continue;
		memcpy(b.acked, o->ids[i], ENVELOPE_ID_LEN);
		it[m].kind = ENVELOPE_ACK;
		it[m].precedence = o->prec[i];
		it[m].time_ms = o->times[i] + 60000;
		if ((r = ack_body_encode(&b, it[m].body, sizeof it[m].body,
		    &it[m].body_len)) != 0)
			die("ack_body_encode", r);
		if (++m == BATCH) {
			put(s, ch, &sd[w], it, m);
			m = 0;
		}
	}
	if (m > 0)
		put(s, ch, &sd[w], it, m);
}

/* Dies unless deadline_owed and its recount agree. */
static void
check(struct deadline_watch *dw, struct store *s, const uint8_t *ch,
    uint64_t now)
{
	struct deadline_owed a[3], b[3];
	int r;

	if ((r = deadline_owed(dw, s, ch, 0, deadline_s, now, &a[0], &a[1],
	    &a[2])) != 0 || (r = deadline_owed_recount(s, ch, 0, deadline_s,
	    now, &b[0], &b[1], &b[2])) != 0)
		die("deadline_owed", r);
	if (memcmp(a, b, sizeof a) != 0)
		die("deadline_owed and its recount differ", ERR_STATE);
}

/* The start's read on a new connection and watch (s reopened), whole or
 * in the daemon's slices; the watch stays open for the caller. */
static struct deadline_watch *
warm(struct store **s, const char *path, const uint8_t *ch, size_t n,
    size_t unacked, bool sliced, uint64_t now)
{
	struct deadline_watch *dw = NULL;
	double t0, start, d, longest = 0;
	unsigned slices = 0;
	int r;

	store_close(*s);
	if ((r = store_open(s, path)) != 0 ||
	    (r = store_cache_set(*s, STORE_DAEMON_CACHE_MIB)) != 0 ||
	    (r = deadline_watch_new(*s, NULL, &dw)) != 0 ||
	    (r = deadline_watch_add(dw, ch, 0, "south", deadline_s)) != 0)
		die("store_open", r);
	start = now_ms(CLOCK_MONOTONIC);
	if (!sliced)
		deadline_owed_warm(dw);
	else {
		deadline_owed_warm_begin(dw);
		do {
			t0 = now_ms(CLOCK_MONOTONIC);
			r = deadline_owed_warm_step(dw, DEADLINE_WARM_SEQS,
			    DEADLINE_WARM_US);
			if ((d = now_ms(CLOCK_MONOTONIC) - t0) > longest)
				longest = d;
			slices++;
		} while (!r);
	}
	d = now_ms(CLOCK_MONOTONIC) - start;
	if (!sliced)
		printf("%7zu msgs, 1 in %zu owed: deadline_owed_warm (whole)   "
		    "%7.1f ms, %zu kept\n", n, unacked, d,
		    deadline_owed_kept(dw));
	else
		printf("%7zu msgs, 1 in %zu owed: deadline_owed_warm_step      "
		    "%7.1f ms in %u slices, the longest %.1f ms, %zu kept\n",
		    n, unacked, d, slices, longest, deadline_owed_kept(dw));
	check(dw, *s, ch, now);
	return dw;
}

/* Removes the database at path with its WAL and shared memory. */
static void
db_remove(const char *path)
{
	char p[160];

	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof p, "%s%s", path, i == 0 ? "" : i == 1 ?
		    "-wal" : "-shm");
		unlink(p);
	}
}

/* Frees what the two sides keep of their texts. */
static void
sides_free(struct side sd[2])
{
	for (unsigned w = 0; w < 2; w++) {
		free(sd[w].ids);
		free(sd[w].times);
		free(sd[w].prec);
	}
}

/* Copies the database from to to (and its WAL, if any; to's removed). */
static void
copy_db(const char *from, const char *to)
{
	char a[96], b[96], buf[1 << 16];
	FILE *in, *out;
	size_t k;

	for (int i = 0; i < 3; i++) {
		snprintf(a, sizeof a, "%s%s", from, i == 0 ? "" : i == 1 ?
		    "-wal" : "-shm");
		snprintf(b, sizeof b, "%s%s", to, i == 0 ? "" : i == 1 ?
		    "-wal" : "-shm");
		unlink(b);
		if (i == 2 || (in = fopen(a, "rb")) == NULL)
			continue;
		if ((out = fopen(b, "wb")) == NULL)
			die("copy", ERR_IO);
		while ((k = fread(buf, 1, sizeof buf, in)) > 0)
			if (fwrite(buf, 1, k, out) != k)
				die("copy", ERR_IO);
		fclose(in);
		if (fclose(out) != 0)
			die("copy", ERR_IO);
	}
}

static int
count_alert(void *arg, const struct store_alert *a)
{
	(void)a;
	(*(size_t *)arg)++;
	return 0;
}

/* The deadline watch's first scan at now on a new connection to path, as
 * a daemon starts: whole or in the daemon's steps. */
static void
scan(const char *path, const uint8_t *ch, size_t n, size_t unacked,
    bool sliced, const char *when, uint64_t now)
{
	struct deadline_watch *dw = NULL;
	struct alerter *a = NULL;
	struct store *s = NULL;
	double t0, c0, start, d, longest = 0;
	unsigned steps = 0;
	size_t alerts = 0;
	int r;

	if ((r = store_open(&s, path)) != 0 ||
	    (r = store_cache_set(s, STORE_DAEMON_CACHE_MIB)) != 0 ||
	    (r = alert_new(s, NULL, 0, &a)) != 0 ||
	    (r = deadline_watch_new(s, a, &dw)) != 0 ||
	    (r = deadline_watch_add(dw, ch, 0, "south", deadline_s)) != 0)
		die("store_open", r);
	store_wal_defer(s);	/* as the daemon: no copy inside a commit */
	start = now_ms(CLOCK_MONOTONIC);
	c0 = now_ms(CLOCK_PROCESS_CPUTIME_ID);
	if (!sliced) {
		deadline_watch_tick(dw, now);
		steps = 1;
		longest = now_ms(CLOCK_MONOTONIC) - start;
	} else {
#ifdef DEADLINE_SCAN_SEQS
		do {
			t0 = now_ms(CLOCK_MONOTONIC);
			r = deadline_watch_step(dw, now, DEADLINE_SCAN_SEQS,
			    DEADLINE_SCAN_US);
			if ((d = now_ms(CLOCK_MONOTONIC) - t0) > longest)
				longest = d;
			steps++;
		} while (!r);
#else
		(void)t0;
#endif
	}
	d = now_ms(CLOCK_MONOTONIC) - start;
	c0 = now_ms(CLOCK_PROCESS_CPUTIME_ID) - c0;
	if ((r = store_alerts_each(s, true, count_alert, &alerts)) != 0)
		die("store_alerts_each", r);
	printf("%7zu msgs, 1 in %zu owed: deadline scan, %-11s %-6s %8.1f ms "
	    "(cpu %.1f) in %5u step%s, the longest %6.1f ms; %zu alerts\n",
	    n, unacked, when, sliced ? "steps" : "whole", d, c0, steps,
	    steps == 1 ? " " : "s", longest, alerts);
	deadline_watch_free(dw);
	alert_free(a);
	store_close(s);
}

/* The first scan SCAN_ROUNDS times each way over a copy of the record at
 * path, at a first start and at a restart. */
static void
scans(const char *dir, const char *path, const uint8_t *ch, size_t n,
    size_t unacked, uint64_t now)
{
	char fresh[64], at[64];
	bool sliced;

	snprintf(fresh, sizeof fresh, "%s/fresh.db", dir);
	snprintf(at, sizeof at, "%s/scan.db", dir);
	copy_db(path, fresh);
	log_setup("owed_bench", LOG_LVL_ERROR, false);	/* an ALERT each */
	for (int k = 0; k < 2 * SCAN_ROUNDS; k++) {
		sliced = (k % 2 == 1) != (k / 2 % 2 == 1);
#ifndef DEADLINE_SCAN_SEQS
		if (sliced)
			continue;
#endif
		copy_db(fresh, at);
		scan(at, ch, n, unacked, sliced, "first start", now);
		scan(at, ch, n, unacked, sliced, "restart", now);
	}
	log_setup("owed_bench", LOG_LVL_INFO, false);
	db_remove(fresh);
	db_remove(at);
}

/* The steps of w at now until through: the total, the steps and the
 * longest into *total, *steps, *longest. */
static void
steps_to_end(struct deadline_watch *dw, uint64_t now, double *total,
    double *cpu, unsigned *steps, double *longest)
{
	double t0, c0, start, d;
	bool r;

	*steps = 0;
	*longest = 0;
	start = now_ms(CLOCK_MONOTONIC);
	c0 = now_ms(CLOCK_PROCESS_CPUTIME_ID);
	do {
		t0 = now_ms(CLOCK_MONOTONIC);
		r = deadline_watch_step(dw, now, DEADLINE_SCAN_SEQS,
		    DEADLINE_SCAN_US);
		if ((d = now_ms(CLOCK_MONOTONIC) - t0) > *longest)
			*longest = d;
		(*steps)++;
	} while (!r);
	*total = now_ms(CLOCK_MONOTONIC) - start;
	*cpu = now_ms(CLOCK_PROCESS_CPUTIME_ID) - c0;
}

/* The shapes of burst(). */
enum burst_shape {
	BURST_AT_ONCE,		/* n texts at one time_ms */
	BURST_SPREAD,		/* over an hour */
	BURST_ACKED,		/* spread, each acknowledged in time but 1
				 * in 20 of ours and the peer's last: the
				 * listings read many rows they leave out */
};

/* n texts falling due together after a clock jump (the head comment), in
 * one of the shapes above. */
static void
burst(size_t n, enum burst_shape shape)
{
	const bool spread = shape != BURST_AT_ONCE;
	static struct item it[BATCH];
	char dir[] = "/tmp/owed_bench.XXXXXX", path[64];
	const uint64_t t1 = T0 + 86400000;
	struct deadline_watch *dw = NULL;
	struct alerter *a = NULL;
	struct store *s = NULL;
	struct side sd[2];
	uint8_t ch[ENVELOPE_ID_LEN];
	double total, cpu, longest;
	unsigned steps;
	size_t alerts = 0, m;
	int r;

	if (mkdtemp(dir) == NULL)
		die("mkdtemp", ERR_IO);
	snprintf(path, sizeof path, "%s/parley.db", dir);
	if ((r = store_open(&s, path)) != 0)
		die("store_open", r);
	memset(ch, 0x43, sizeof ch);
	memset(sd, 0, sizeof sd);
	for (unsigned w = 0; w < 2; w++) {
		sd[w].sender = (uint8_t)w;
		sd[w].ids = calloc(n + 1, ENVELOPE_ID_LEN);
		sd[w].times = calloc(n + 1, sizeof *sd[w].times);
		sd[w].prec = calloc(n + 1, 1);
		if (!sd[w].ids || !sd[w].times || !sd[w].prec)
			die("calloc", ERR_NOMEM);
	}
	for (size_t k = 0; k < n; k += m) {
		struct side *o = &sd[k / BATCH % 2];
		m = n - k < BATCH ? n - k : BATCH;
		for (size_t i = 0; i < m; i++) {
			it[i].kind = ENVELOPE_TEXT;
			it[i].precedence = ENVELOPE_FLASH;
			it[i].time_ms = spread ? t1 + (k + i) * 3600000 / n :
			    t1;
			it[i].body_len = (size_t)snprintf((char *)it[i].body,
			    sizeof it[i].body, "falls due with many, %zu",
			    k + i);
			o->times[o->n + i] = it[i].time_ms;	/* for acks */
			o->prec[o->n + i] = it[i].precedence;
		}
		put(s, ch, o, it, m);
	}
	/* each acknowledged in time (a minute after) but 1 in 20 of ours,
	 * and the peer's last */
	if (shape == BURST_ACKED) {
		acks(s, ch, sd, 1, 0, sd[0].n, 20);
		acks(s, ch, sd, 0, 0, sd[1].n, sd[1].n);
	}
	store_close(s);
	/* as a daemon that runs on: a new connection, its first scan
	 * through before any is due */
	if ((r = store_open(&s, path)) != 0 ||
	    (r = store_cache_set(s, STORE_DAEMON_CACHE_MIB)) != 0 ||
	    (r = alert_new(s, NULL, 0, &a)) != 0 ||
	    (r = deadline_watch_new(s, a, &dw)) != 0 ||
	    (r = deadline_watch_add(dw, ch, 0, "south", deadline_s)) != 0)
		die("store_open", r);
	store_wal_defer(s);
	log_setup("owed_bench", LOG_LVL_ERROR, false);	/* an ALERT each */
	steps_to_end(dw, t1 - 1000, &total, &cpu, &steps, &longest);
	steps_to_end(dw, t1 + 2 * 3600000, &total, &cpu, &steps, &longest);
	log_setup("owed_bench", LOG_LVL_INFO, false);
	if ((r = store_alerts_each(s, true, count_alert, &alerts)) != 0)
		die("store_alerts_each", r);
	printf("%7zu texts falling due %-9s after a clock jump: %8.1f ms "
	    "(cpu %.1f) in %5u step%s, the longest %6.1f ms; %zu alerts\n",
	    n, shape == BURST_SPREAD ? "(spread)" : shape == BURST_ACKED ?
	    "(acked)" : "at once", total, cpu, steps, steps == 1 ? " " : "s",
	    longest, alerts);
	deadline_watch_free(dw);
	alert_free(a);
	store_close(s);
	db_remove(path);
	rmdir(dir);
	sides_free(sd);
}

static void
report(size_t n, size_t unacked, const char *name, double *wall,
    double *cpu, int calls, const struct deadline_owed *wait,
    const struct deadline_owed *we, const struct deadline_owed *peer)
{
	qsort(wall, (size_t)calls, sizeof wall[0], cmp);
	qsort(cpu, (size_t)calls, sizeof cpu[0], cmp);
	printf("%7zu msgs, 1 in %zu owed: %-21s %9.3f ms median "
	    "(fastest %.3f; cpu %.3f), %d calls; owed to peer %zu, "
	    "overdue %zu; peer overdue %zu\n", n, unacked, name,
	    wall[calls / 2], wall[0], cpu[calls / 2], calls, wait->count,
	    we->count, peer->count);
}

static void
bench(size_t n, size_t unacked)
{
	static const char *const names[2] = { "deadline_owed_recount",
	    "deadline_owed" };
	const char *only = getenv("OWED_BENCH_ONLY");
	struct deadline_watch *dw = NULL;
	char dir[] = "/tmp/owed_bench.XXXXXX", path[64];
	struct deadline_owed wait, we, peer;
	struct side sd[2];
	struct store *s = NULL;
	uint8_t ch[ENVELOPE_ID_LEN];
	double wall[1000], cpu[1000], t0, c0, start;
	bool sliced = false;
	uint64_t now;
	int calls = 0, r;

	if (mkdtemp(dir) == NULL)
		die("mkdtemp", ERR_IO);
	snprintf(path, sizeof path, "%s/parley.db", dir);
	if ((r = store_open(&s, path)) != 0 ||
	    (r = store_cache_set(s, STORE_DAEMON_CACHE_MIB)) != 0)
		die("store_open", r);
	memset(ch, 0x42, sizeof ch);
	memset(sd, 0, sizeof sd);
	for (unsigned w = 0; w < 2; w++) {
		sd[w].sender = (uint8_t)w;
		sd[w].ids = calloc(n / 2 + 1 + ROUNDS * ROUND, ENVELOPE_ID_LEN);
		sd[w].times = calloc(n / 2 + 1 + ROUNDS * ROUND, sizeof *sd[w].times);
		sd[w].prec = calloc(n / 2 + 1 + ROUNDS * ROUND, 1);
		if (!sd[w].ids || !sd[w].times || !sd[w].prec)
			die("calloc", ERR_NOMEM);
	}
	start = now_ms(CLOCK_MONOTONIC);
	for (size_t k = 0; k < n; k += BATCH) {
		texts(s, ch, sd, k, k + BATCH <= n ? BATCH : n - k);
		/* each side acknowledges what the other sent up to here */
		for (unsigned w = 0; w < 2; w++)
			acks(s, ch, sd, w, k / 2, sd[1 - w].n, unacked);
	}
	fprintf(stderr, "owed_bench: %zu messages written in %.1f s\n", n,
	    (now_ms(CLOCK_MONOTONIC) - start) / 1000);
	now = T0 + n * 1000 + 1000;
	if (only != NULL && strcmp(only, "scan") == 0) {
		store_close(s);
		s = NULL;
		scans(dir, path, ch, n, unacked, now);
		goto out;
	}
	/* as a daemon starts over the record: a new connection and watch,
	 * whole and sliced in turn (the host's speed drifts) */
	for (int k = 0; k < 4; k++, sliced = !sliced) {
		deadline_watch_free(dw);
		dw = warm(&s, path, ch, n, unacked, sliced, now);
	}
	for (unsigned k = 0; k < 2; k++) {
		calls = 0;
		start = now_ms(CLOCK_MONOTONIC);
		while (calls < 1000 && (calls < CALLS_MIN ||
		    now_ms(CLOCK_MONOTONIC) - start < CALLS_MS)) {
			t0 = now_ms(CLOCK_MONOTONIC);
			c0 = now_ms(CLOCK_PROCESS_CPUTIME_ID);
			r = k == 0 ? deadline_owed_recount(s, ch, 0,
			    deadline_s, now, &wait, &we, &peer) :
			    deadline_owed(dw, s, ch, 0, deadline_s, now,
			    &wait, &we, &peer);
			if (r != 0)
				die(names[k], r);
			cpu[calls] = now_ms(CLOCK_PROCESS_CPUTIME_ID) - c0;
			wall[calls++] = now_ms(CLOCK_MONOTONIC) - t0;
		}
		report(n, unacked, names[k], wall, cpu, calls, &wait, &we,
		    &peer);
	}
	/* a status after each round of new traffic */
	for (calls = 0; calls < ROUNDS; calls++) {
		size_t k = n + (size_t)calls * ROUND;

		texts(s, ch, sd, k, ROUND);
		for (unsigned w = 0; w < 2; w++)
			acks(s, ch, sd, w, sd[1 - w].n - ROUND / 2,
			    sd[1 - w].n, unacked);
		now = T0 + (k + ROUND) * 1000 + 1000;
		t0 = now_ms(CLOCK_MONOTONIC);
		c0 = now_ms(CLOCK_PROCESS_CPUTIME_ID);
		if ((r = deadline_owed(dw, s, ch, 0, deadline_s, now, &wait,
		    &we, &peer)) != 0)
			die("deadline_owed", r);
		cpu[calls] = now_ms(CLOCK_PROCESS_CPUTIME_ID) - c0;
		wall[calls] = now_ms(CLOCK_MONOTONIC) - t0;
	}
	report(n, unacked, "deadline_owed, new", wall, cpu, calls, &wait, &we,
	    &peer);
	check(dw, s, ch, now);
	deadline_watch_free(dw);
	store_close(s);
	if (only == NULL || strcmp(only, "owed") != 0)
		scans(dir, path, ch, n, unacked, now);
	if (only == NULL) {
		burst(n < 10000 ? n : 10000, BURST_AT_ONCE);
		burst(n < 10000 ? n : 10000, BURST_SPREAD);
		burst(n < 100000 ? n : 100000, BURST_ACKED);
	}
out:
	db_remove(path);
	rmdir(dir);
	sides_free(sd);
}

int
main(int argc, char **argv)
{
	const char *u = getenv("OWED_BENCH_UNACKED");
	const char *only = getenv("OWED_BENCH_ONLY");
	size_t unacked = u ? strtoul(u, NULL, 10) : 10;

	if (unacked < 2)
		unacked = 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (only != NULL && strcmp(only, "burst") == 0) {
		for (int i = 1; i < argc; i++) {
			burst(strtoul(argv[i], NULL, 10), BURST_AT_ONCE);
			burst(strtoul(argv[i], NULL, 10), BURST_SPREAD);
			burst(strtoul(argv[i], NULL, 10), BURST_ACKED);
		}
		return 0;
	}
	if (argc < 2) {
		bench(10000, unacked);
		bench(100000, unacked);
	}
	for (int i = 1; i < argc; i++)
		bench(strtoul(argv[i], NULL, 10), unacked);
	return 0;
}
