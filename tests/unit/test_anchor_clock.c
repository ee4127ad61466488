/*
 * test_anchor_clock.c: audit anchors under a wall clock that steps
 * (src/msg/anchor.h, "Two clocks"): the schedule, the wait for an answer
 * and the answering side's token bucket run on the monotonic clock, so a
 * step of the wall clock back or forward by an hour neither stops asks,
 * nor hastens them, nor refills the bucket; the times sent and signed
 * stay the wall clock's; and a row dated by a clock that was ahead is
 * not the newest anchor.
 */
#include "anchor_pair.h"

#define WALL0 1764990000000ull	/* 2025-12-06, the wall clock at start */
#define MONO0 5000ull		/* the monotonic clock at start */
#define HOUR_MS 3600000ull

/* A pair whose engines start at WALL0 on the wall clock, MONO0 on the
 * monotonic one. */
static void
pair_open_at(struct pair *p, uint64_t interval_ms)
{
	pair_open(p, interval_ms);
	anchor_init(&p->e[0], p->s[0], &kp[0], channel, kp[1].id.sign_pub,
	    interval_ms, WALL0, MONO0);
	anchor_init(&p->e[1], p->s[1], &kp[1], channel, kp[0].id.sign_pub,
	    interval_ms, WALL0, MONO0);
}

/* e[0] ticks at (wall, mono): the bytes sent, if any, in p->buf. */
static size_t
tick_at(struct pair *p, uint64_t wall, uint64_t mono)
{
	CHECK_INT(anchor_tick(&p->e[0], wall, mono, p->buf, sizeof p->buf,
	    &p->len), 0);
	return p->len;
}

/* e[1] answers p->buf and e[0] takes the answer, at (wall, mono). */
static void
answer_at(struct pair *p, uint64_t wall, uint64_t mono)
{
	CHECK_INT(anchor_on_record(&p->e[1], p->buf, p->len, wall, mono,
	    p->ans, sizeof p->ans, &p->alen), 0);
	CHECK(p->alen > 0);
	CHECK_INT(anchor_on_record(&p->e[0], p->ans, p->alen, wall, mono,
	    p->buf, sizeof p->buf, &p->len), 0);
	CHECK(!p->e[0].pending);
}

/* The wall clock steps back an hour: the next ask still comes an
 * interval after the last (not an hour later), dated by the wall clock. */
static void
test_step_back_keeps_schedule(void)
{
	uint64_t back = WALL0 - HOUR_MS;
	struct pair p;

	pair_open_at(&p, 60000);
	log_n(p.s[0], 2);
	CHECK(tick_at(&p, WALL0, MONO0) > 0);
	answer_at(&p, WALL0 + 100, MONO0 + 100);
	CHECK_INT(last(p.s[0]), 2);
	/* stepped back: nothing before the interval, then the ask */
	CHECK_INT(tick_at(&p, back + 59000, MONO0 + 59999), 0);
	CHECK(tick_at(&p, back + 60000, MONO0 + 60000) > 0);
	CHECK(p.e[0].pending);
	CHECK_INT(p.e[0].ask.time_ms, back + 60000);
	/* and the one after, an interval later again */
	CHECK_INT(tick_at(&p, back + 61000, MONO0 + 61000), 0);
	pair_close(&p);
}

/* The wall clock steps forward an hour: no ask before the interval has
 * passed on the monotonic clock. */
static void
test_step_forward_no_early_ask(void)
{
	uint64_t fwd = WALL0 + HOUR_MS;
	struct pair p;

	pair_open_at(&p, 60000);
	log_n(p.s[0], 1);
	CHECK(tick_at(&p, WALL0, MONO0) > 0);
	answer_at(&p, WALL0 + 100, MONO0 + 100);
	CHECK_INT(tick_at(&p, fwd, MONO0 + 1000), 0);
	CHECK_INT(tick_at(&p, fwd + 58999, MONO0 + 59999), 0);
	CHECK(!p.e[0].pending);
	CHECK(tick_at(&p, fwd + 59000, MONO0 + 60000) > 0);
	CHECK_INT(p.e[0].ask.time_ms, fwd + 59000);
	pair_close(&p);
}

/* An unanswered ask is sent again after the wait on the monotonic clock:
 * a step back does not send it at every tick, a step forward does not
 * send it early; the bytes are the same. */
static void
test_resend_wait(void)
{
	uint8_t first[ANCHOR_REC_MAX];
	size_t flen;
	struct pair p;

	pair_open_at(&p, 600000);
	log_n(p.s[0], 1);
	CHECK((flen = tick_at(&p, WALL0, MONO0)) > 0);
	memcpy(first, p.buf, flen);
	CHECK_INT(tick_at(&p, WALL0 - HOUR_MS, MONO0 + 1), 0);
	CHECK_INT(tick_at(&p, WALL0 + HOUR_MS, MONO0 + 2), 0);
	CHECK_INT(tick_at(&p, WALL0 - HOUR_MS, MONO0 + ANCHOR_RETRY_MS - 1),
	    0);
	CHECK_INT(tick_at(&p, WALL0 - HOUR_MS, MONO0 + ANCHOR_RETRY_MS),
	    flen);
	CHECK_MEM(p.buf, first, flen);
	/* the wait doubled, on the monotonic clock again */
	CHECK_INT(tick_at(&p, WALL0 + HOUR_MS, MONO0 + 3 * ANCHOR_RETRY_MS -
	    1), 0);
	CHECK_INT(tick_at(&p, WALL0 + HOUR_MS, MONO0 + 3 * ANCHOR_RETRY_MS),
	    flen);
	pair_close(&p);
}

/* Our answers: the token bucket drained, a step forward of the wall
 * clock by an hour (the asks dated by it) refills nothing; a token comes
 * ANCHOR_ANSWER_REFILL_MS later on the monotonic clock. */
static void
test_answer_bucket_forward(void)
{
	uint8_t out[ANCHOR_REC_MAX];
	struct anchor_rec a;
	uint64_t fwd = WALL0 + HOUR_MS;
	size_t len;
	struct pair p;
	int k;

	pair_open_at(&p, 60000);
	memset(&a, 0, sizeof a);
	a.kind = ANCHOR_ASK;
	for (k = 0; k < ANCHOR_ANSWER_BURST; k++) {
		a.time_ms = WALL0 + (unsigned)k;
		memset(a.anchor, k + 1, ANCHOR_LEN);
		CHECK_INT(anchor_rec_encode(&a, out, sizeof out, &len), 0);
		CHECK_INT(anchor_on_record(&p.e[1], out, len, WALL0 + 10,
		    MONO0 + 10, p.ans, sizeof p.ans, &p.alen), 0);
	}
	a.time_ms = fwd;
	memset(a.anchor, 0x77, ANCHOR_LEN);
	CHECK_INT(anchor_rec_encode(&a, out, sizeof out, &len), 0);
	CHECK_INT(anchor_on_record(&p.e[1], out, len, fwd, MONO0 + 1000,
	    p.ans, sizeof p.ans, &p.alen), ERR_FULL);
	CHECK_INT(p.alen, 0);
	CHECK_INT(given(p.s[1]), (uint64_t)ANCHOR_ANSWER_BURST);
	CHECK_INT(anchor_on_record(&p.e[1], out, len, fwd, MONO0 + 10 +
	    ANCHOR_ANSWER_REFILL_MS, p.ans, sizeof p.ans, &p.alen), 0);
	CHECK_INT(given(p.s[1]), (uint64_t)ANCHOR_ANSWER_BURST + 1);
	pair_close(&p);
}

/* The wall clock a day ahead when an anchor of entry 2 was signed (the
 * peer's too, or it would not have signed), then set right; the peer's
 * store restored from a backup taken before (it no longer holds that
 * ask), so it signs asks dated earlier again, and entry 5 is anchored.
 * The newest anchor is entry 5's, not the one latest by time: the
 * daemon's check of its own log finds entries 3 to 5 rewritten, and a
 * restarted engine goes on from entry 5. A new ask still holds the row
 * latest by time, as the peer's claims are by time (invariant 6). */
static void
test_ahead_row_not_newest(void)
{
	uint64_t fut = WALL0 + 24 * HOUR_MS;
	struct store_anchor held;
	struct pair p;
	bool found;

	pair_open_at(&p, 60000);
	log_n(p.s[0], 2);
	CHECK(tick_at(&p, fut, MONO0) > 0);
	answer_at(&p, fut + 100, MONO0 + 100);
	store_close(p.s[1]);
	CHECK_INT(store_open(&p.s[1], ":memory:"), 0);
	anchor_init(&p.e[1], p.s[1], &kp[1], channel, kp[0].id.sign_pub,
	    60000, WALL0 + 1000, MONO0 + 1000);
	log_n(p.s[0], 3);
	CHECK(tick_at(&p, WALL0 + 60000, MONO0 + 60000) > 0);
	CHECK(p.e[0].ask.has_held);
	CHECK_INT(p.e[0].ask.held_time_ms, fut);
	answer_at(&p, WALL0 + 60100, MONO0 + 60100);
	CHECK_INT(last(p.s[0]), 5);
	CHECK_INT(anchor_check_log(&p.e[0], MONO0 + 60200), 0);
	CHECK(!p.e[0].log_bad);
	/* entries 3 to 5 rewritten, every hash from 3 on recomputed: entry
	 * 2, anchored at fut, still matches */
	CHECK_INT(sqlite3_exec(p.s[0]->db, "DROP TRIGGER audit_fixed; UPDATE "
	    "audit SET hash = randomblob(32) WHERE n >= 3", NULL, NULL, NULL),
	    SQLITE_OK);
	CHECK_INT(anchor_check_log(&p.e[0], MONO0 + 120200), 0);
	CHECK(p.e[0].log_bad);
	CHECK_INT(p.e[0].log_row.n, 5);
	CHECK_INT(p.e[0].log_row.time_ms, WALL0 + 60000);
	CHECK_CONTAINS(p.e[0].log_fault, "audit log entry <= 5 does not match");
	/* restarted: goes on from entry 5 (what status shows) */
	anchor_init(&p.e[0], p.s[0], &kp[0], channel, kp[1].id.sign_pub,
	    60000, WALL0 + 130000, MONO0 + 130000);
	CHECK_INT(p.e[0].took.n, 5);
	CHECK_INT(p.e[0].last_n, 5);
	CHECK_INT(p.e[0].took.time_ms, WALL0 + 60000);
	/* held: the row latest by time, in the store and in the next ask */
	CHECK_INT(store_anchor_held(p.s[0], channel, &held, &found), 0);
	CHECK(found);
	CHECK_INT(held.n, 2);
	CHECK_INT(held.time_ms, fut);
	CHECK(tick_at(&p, WALL0 + 130000, MONO0 + 130000) > 0);
	CHECK(p.e[0].ask.has_held);
	CHECK_INT(p.e[0].ask.held_time_ms, fut);
	pair_close(&p);
}

/* Two asks over the same entry (the log did not grow), the first
 * replaced unanswered by the second; the peer signs both in turn, but
 * the answers arrive the other way round (two paths). Both are stored;
 * the newest anchor, what status shows (e->took) and what a restarted
 * engine reads back (store_anchor_newest), is the later one of entry 3,
 * not the late answer taken last. */
static void
test_late_answer_not_newest(void)
{
	uint8_t ask1[ANCHOR_REC_MAX], ans1[ANCHOR_REC_MAX];
	size_t len1, alen1;
	struct store_anchor row;
	struct pair p;
	bool found;

	pair_open_at(&p, 60000);
	log_n(p.s[0], 3);
	CHECK(tick_at(&p, WALL0, MONO0) > 0);
	memcpy(ask1, p.buf, p.len);
	len1 = p.len;
	CHECK(tick_at(&p, WALL0 + 60000, MONO0 + 60000) > 0);	/* replaced */
	CHECK(p.e[0].has_prev);
	CHECK_INT(anchor_on_record(&p.e[1], ask1, len1, WALL0 + 60100,
	    MONO0 + 60100, ans1, sizeof ans1, &alen1), 0);
	CHECK_INT(anchor_on_record(&p.e[1], p.buf, p.len, WALL0 + 60200,
	    MONO0 + 60200, p.ans, sizeof p.ans, &p.alen), 0);
	CHECK_INT(anchor_on_record(&p.e[0], p.ans, p.alen, WALL0 + 60300,
	    MONO0 + 60300, p.buf, sizeof p.buf, &p.len), 0);
	CHECK_INT(anchor_on_record(&p.e[0], ans1, alen1, WALL0 + 60400,
	    MONO0 + 60400, p.buf, sizeof p.buf, &p.len), 0);
	CHECK_INT(p.e[0].anchored, 2);
	CHECK_INT(store_anchor_newest(p.s[0], channel, &row, &found), 0);
	CHECK(found);
	CHECK_INT(row.n, 3);
	CHECK_INT(row.time_ms, WALL0 + 60000);
	CHECK_INT(p.e[0].took.n, 3);
	CHECK_INT(p.e[0].took.time_ms, WALL0 + 60000);
	pair_close(&p);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	anchor_pair_setup();
	RUN(test_step_back_keeps_schedule);
	RUN(test_step_forward_no_early_ask);
	RUN(test_resend_wait);
	RUN(test_answer_bucket_forward);
	RUN(test_ahead_row_not_newest);
	RUN(test_late_answer_not_newest);
	keys_fini(&kp[0]);
	keys_fini(&kp[1]);
	keys_fini(&mallory);
	return harness_summary();
}
