/*
 * test_anchor.c: audit anchors (src/msg/anchor.h) between two engines over
 * two stores in memory: the record's encoding (a fixed vector of the
 * ask), refusals of truncated, trailing, non-canonical, wrong-sized and
 * unknown records; asks on a fixed schedule whether or not the log grew
 * (the same times and count; a fresh anchor each, even of the same n),
 * one in flight at most and sent again after retry; the peer's answer
 * verified and stored, the peer's evidence stored; a bad signature,
 * another channel's signature, an answer to nothing asked refused and
 * changing nothing; the answerer's limits (a token bucket, its clock, a
 * replayed time, also after a restart); operators' asks (off the
 * schedule, which they leave as it was; within a bucket of their own,
 * below the peer's: one asking in a loop over a slow link still has
 * answers taken); the verifier names a rewritten log, a cut log, an
 * altered row and an altered n. Anchors that go back: test_anchor_back.c.
 */
#include "anchor_pair.h"


/* Version 2's fields: an ask's held, an answer's claimed. */
static void
test_encoding_v2(void)
{
	struct anchor_rec a, b;
	uint8_t out[ANCHOR_REC_MAX], bad[ANCHOR_REC_MAX + 8];
	size_t len, alen;

	memset(&a, 0, sizeof a);
	a.kind = ANCHOR_ASK;
	memset(a.anchor, 0xab, ANCHOR_LEN);
	a.time_ms = 1000;
	CHECK_INT(anchor_rec_encode(&a, out, sizeof out, &alen), 0);
	a.has_held = true;
	memset(a.held_anchor, 0xcd, ANCHOR_LEN);
	a.held_time_ms = 900;
	memset(a.held_sig, 0xee, KEYS_SIG_LEN);
	CHECK_INT(anchor_rec_encode(&a, out, sizeof out, &len), 0);
	/* ..., 6: [h'cdcd..', 900, h'eeee..'] } */
	CHECK_INT(len, alen + 1 + 1 + 34 + 3 + 66);
	CHECK_INT(out[0], 0xa5);
	CHECK_INT(out[alen], 0x06);
	CHECK_INT(out[alen + 1], 0x83);
	CHECK_INT(anchor_rec_decode(&b, out, len), 0);
	CHECK(b.has_held);
	CHECK_MEM(b.held_anchor, a.held_anchor, ANCHOR_LEN);
	CHECK_INT(b.held_time_ms, 900);
	CHECK_MEM(b.held_sig, a.held_sig, KEYS_SIG_LEN);
	/* truncated at every length */
	for (size_t k = 0; k < len; k++)
		CHECK(anchor_rec_decode(&b, out, k) != 0);
	/* held with two items; held of time 0 (none is absent); a map of 4
	 * that goes on with held; an answer's map count with an ask */
	memcpy(bad, out, len);
	bad[alen + 1] = 0x82;
	CHECK_INT(anchor_rec_decode(&b, bad, len), ERR_PARSE);
	memcpy(bad, out, len);
	bad[alen + 2 + 34] = 0x00;	/* 900 (19 03 84) -> 0 */
	memmove(bad + alen + 37, bad + alen + 39, len - (alen + 39));
	CHECK_INT(anchor_rec_decode(&b, bad, len - 2), ERR_INVALID);
	memcpy(bad, out, len);
	bad[0] = 0xa4;
	CHECK_INT(anchor_rec_decode(&b, bad, len), ERR_PARSE);
	bad[0] = 0xa6;
	CHECK_INT(anchor_rec_decode(&b, bad, len), ERR_PARSE);
	a.held_time_ms = 0;
	CHECK_INT(anchor_rec_encode(&a, out, sizeof out, &len), ERR_INVALID);
	/* an answer's claimed: read back; over INT64_MAX refused */
	memset(&a, 0, sizeof a);
	a.kind = ANCHOR_SIGNED;
	a.time_ms = 1000;
	a.claimed_ms = 777;
	CHECK_INT(anchor_rec_encode(&a, out, sizeof out, &len), 0);
	CHECK_INT(out[0], 0xa6);
	CHECK_INT(anchor_rec_decode(&b, out, len), 0);
	CHECK_INT(b.claimed_ms, 777);
	CHECK(!b.has_held);
	a.claimed_ms = (uint64_t)INT64_MAX + 1;
	CHECK_INT(anchor_rec_encode(&a, out, sizeof out, &len), ERR_INVALID);
	/* an answer without claimed (5 pairs, kind 2): refused */
	a.claimed_ms = 0;
	CHECK_INT(anchor_rec_encode(&a, out, sizeof out, &len), 0);
	out[0] = 0xa5;
	CHECK_INT(anchor_rec_decode(&b, out, len - 2), ERR_PARSE);
}

static void
test_encoding(void)
{
	struct anchor_rec a, b;
	uint8_t out[ANCHOR_REC_MAX], bad[ANCHOR_REC_MAX + 8];
	char hex[2 * ANCHOR_REC_MAX + 1];
	size_t len, slen;

	memset(&a, 0, sizeof a);
	a.kind = ANCHOR_ASK;
	memset(a.anchor, 0xab, ANCHOR_LEN);
	a.time_ms = 1000;
	CHECK_INT(anchor_rec_encode(&a, out, sizeof out, &len), 0);
	/* { 1: 2, 2: 1, 3: h'abab..', 4: 1000 } */
	hex_encode(hex, out, len);
	CHECK_STR(hex, "a401020201035820abababababababababababababababababab"
	    "abababababababababababababab041903e8");
	CHECK_INT(anchor_rec_decode(&b, out, len), 0);
	CHECK_INT(b.kind, ANCHOR_ASK);
	CHECK_MEM(b.anchor, a.anchor, ANCHOR_LEN);
	CHECK_INT(b.time_ms, 1000);
	/* truncated at every length; a trailing byte */
	for (size_t k = 0; k < len; k++)
		CHECK(anchor_rec_decode(&b, out, k) != 0);
	memcpy(bad, out, len);
	bad[len] = 0x00;
	CHECK_INT(anchor_rec_decode(&b, bad, len + 1), ERR_PARSE);
	/* the anchor one byte short (its length 31, the record one shorter) */
	memcpy(bad, out, len);
	bad[7] = 0x1f;
	memmove(bad + 8 + 31, bad + 8 + 32, len - (8 + 32));
	CHECK_INT(anchor_rec_decode(&b, bad, len - 1), ERR_PARSE);
	/* the time in a longer head than needed: not canonical */
	memcpy(bad, out, len - 3);
	bad[len - 3] = 0x1a;
	bad[len - 2] = 0x00;
	bad[len - 1] = 0x00;
	bad[len] = 0x03;
	bad[len + 1] = 0xe8;
	CHECK_INT(anchor_rec_decode(&b, bad, len + 2), ERR_NONCANONICAL);
	/* another version; an unknown kind */
	memcpy(bad, out, len);
	bad[2] = 0x01;		/* version 1: before held and claimed */
	CHECK_INT(anchor_rec_decode(&b, bad, len), ERR_VERSION);
	bad[2] = 0x02;
	bad[4] = 0x07;
	CHECK_INT(anchor_rec_decode(&b, bad, len), ERR_INVALID);
	/* an ask that claims to be an answer (4 fields, kind 2) */
	bad[4] = 0x02;
	CHECK_INT(anchor_rec_decode(&b, bad, len), ERR_PARSE);
	/* the answer: with its 64-byte signature; a 63-byte one refused */
	a.kind = ANCHOR_SIGNED;
	memset(a.sig, 0x5a, sizeof a.sig);
	CHECK_INT(anchor_rec_encode(&a, out, sizeof out, &slen), 0);
	CHECK_INT(slen, len + 1 + 2 + 64 + 2);	/* 7: claimed, 0 */
	CHECK(slen <= ANCHOR_REC_MAX);
	CHECK_INT(anchor_rec_decode(&b, out, slen), 0);
	CHECK_MEM(b.sig, a.sig, KEYS_SIG_LEN);
	out[len + 2] = 0x3f;
	CHECK_INT(anchor_rec_decode(&b, out, slen - 1), ERR_PARSE);
	CHECK_INT(anchor_rec_decode(&b, out, ANCHOR_REC_MAX + 1),
	    ERR_TOO_BIG);
	test_encoding_v2();
}

/* An ask at the first tick, answered, verified and stored; one in flight,
 * sent again unchanged; a new one each interval; a late answer taken. */
static void
test_anchored(void)
{
	struct pair p;
	uint8_t head[AUDIT_HASH_LEN], want[ANCHOR_LEN], old[ANCHOR_REC_MAX];
	struct anchor_verdict v;
	uint64_t n, t;
	size_t olen;

	pair_open(&p, 60000);
	log_n(p.s[0], 3);
	CHECK_INT(anchor_tick(&p.e[0], 1000, 1000, p.buf, sizeof p.buf, &p.len),
	    0);
	CHECK(p.len > 0);
	CHECK(p.e[0].pending);
	CHECK_INT(p.e[0].ask_n, 3);
	CHECK_INT(store_audit_last(p.s[0], &n, head), 0);
	anchor_compute(channel, head, p.e[0].ask_salt, want);
	CHECK_MEM(p.e[0].ask.anchor, want, ANCHOR_LEN);
	/* one in flight: no second ask before the retry */
	log_n(p.s[0], 1);
	CHECK_INT(anchor_tick(&p.e[0], 1100, 1100, p.ans, sizeof p.ans,
	    &p.alen), 0);
	CHECK_INT(p.alen, 0);
	/* the peer answers and keeps its evidence */
	CHECK_INT(anchor_on_record(&p.e[1], p.buf, p.len, 1200, 1200, p.ans,
	    sizeof p.ans, &p.alen), 0);
	CHECK(p.alen > 0);
	CHECK_INT(given(p.s[1]), 1);
	CHECK_INT(anchor_on_record(&p.e[0], p.ans, p.alen, 1300, 1300, p.buf,
	    sizeof p.buf, &p.len), 0);
	CHECK_INT(p.len, 0);
	CHECK(!p.e[0].pending);
	CHECK_INT(p.e[0].anchored, 1);
	CHECK_INT(p.e[0].took.n, 3);
	CHECK_INT(p.e[0].took.time_ms, 1000);
	CHECK_INT(last(p.s[0]), 3);
	CHECK_INT(anchor_verify_store(p.s[0], channel, kp[1].id.sign_pub,
	    "south", &v), 0);
	CHECK_INT(v.count, 1);
	CHECK_INT(v.newest_n, 3);
	CHECK_INT(v.newest_time_ms, 1000);
	/* the next ask an interval after the last, not before */
	CHECK_INT(anchor_tick(&p.e[0], 1000 + 60000 - 1, 1000 + 60000 - 1,
	    p.buf, sizeof p.buf, &p.len), 0);
	CHECK_INT(p.len, 0);
	CHECK_INT(anchor_tick(&p.e[0], 61000, 61000, p.buf, sizeof p.buf,
	    &p.len), 0);
	CHECK(p.len > 0);
	CHECK_INT(p.e[0].ask_n, 4);
	memcpy(old, p.buf, p.len);
	olen = p.len;
	/* unanswered: sent again after the retry, not before, unchanged
	 * even though the log grew */
	log_n(p.s[0], 1);
	CHECK_INT(anchor_tick(&p.e[0], 61000 + ANCHOR_RETRY_MS - 1,
	    61000 + ANCHOR_RETRY_MS - 1, p.buf, sizeof p.buf, &p.len), 0);
	CHECK_INT(p.len, 0);
	CHECK_INT(anchor_tick(&p.e[0], 61000 + ANCHOR_RETRY_MS,
	    61000 + ANCHOR_RETRY_MS, p.buf, sizeof p.buf, &p.len), 0);
	CHECK(p.len == olen && memcmp(p.buf, old, olen) == 0);
	CHECK_INT(anchor_tick(&p.e[0], 61000 + 3 * ANCHOR_RETRY_MS - 1,
	    61000 + 3 * ANCHOR_RETRY_MS - 1, p.buf, sizeof p.buf, &p.len), 0);
	CHECK_INT(p.len, 0);	/* twice as long now */
	CHECK_INT(anchor_tick(&p.e[0], 61000 + 3 * ANCHOR_RETRY_MS,
	    61000 + 3 * ANCHOR_RETRY_MS, p.buf, sizeof p.buf, &p.len), 0);
	CHECK(p.len == olen && memcmp(p.buf, old, olen) == 0);
	/* the interval passed: a new ask at entry 5; an answer to the one at
	 * 4, late, is still taken, and the ask at 5 stays in flight */
	CHECK_INT(anchor_tick(&p.e[0], 121000, 121000, p.buf, sizeof p.buf,
	    &p.len), 0);
	CHECK(p.len > 0 && (p.len != olen || memcmp(p.buf, old, olen) != 0));
	CHECK_INT(p.e[0].ask_n, 5);
	CHECK_INT(anchor_on_record(&p.e[1], old, olen, 121100, 121100, p.ans,
	    sizeof p.ans, &p.alen), 0);
	CHECK_INT(anchor_on_record(&p.e[0], p.ans, p.alen, 121200, 121200, old,
	    sizeof old, &olen), 0);
	CHECK_INT(last(p.s[0]), 4);
	CHECK_INT(p.e[0].took.n, 4);		/* the late one's row */
	CHECK_INT(p.e[0].took.time_ms, 61000);
	CHECK(p.e[0].pending);
	/* ... and again: refused now (nothing changes) */
	CHECK_INT(anchor_on_record(&p.e[0], p.ans, p.alen, 121300, 121300, old,
	    sizeof old, &olen), ERR_STATE);
	CHECK_INT(anchor_on_record(&p.e[1], p.buf, p.len, 121700, 121700, p.ans,
	    sizeof p.ans, &p.alen), 0);
	CHECK_INT(anchor_on_record(&p.e[0], p.ans, p.alen, 121800, 121800,
	    p.buf, sizeof p.buf, &p.len), 0);
	CHECK_INT(last(p.s[0]), 5);
	CHECK_INT(p.e[0].took.time_ms, 121000);
	CHECK(!p.e[0].pending);
	CHECK_INT(anchor_verify_store(p.s[0], channel, kp[1].id.sign_pub,
	    "south", &v), 0);
	CHECK_INT(v.count, 3);
	/* the log unchanged: the next interval asks anyway, an anchor of
	 * the same n, answered and stored too (a second row of n 5, so that
	 * the next ask's held moves: it must not tell when the log grew) */
	t = 181000;
	CHECK_INT(anchor_tick(&p.e[0], t, t, p.buf, sizeof p.buf, &p.len), 0);
	CHECK(p.len > 0);
	CHECK_INT(p.e[0].ask_n, 5);
	CHECK_INT(anchor_on_record(&p.e[1], p.buf, p.len, t + 100, t + 100,
	    p.ans, sizeof p.ans, &p.alen), 0);
	CHECK_INT(anchor_on_record(&p.e[0], p.ans, p.alen, t + 200, t + 200,
	    p.buf, sizeof p.buf, &p.len), 0);
	CHECK(!p.e[0].pending);
	CHECK_INT(p.e[0].anchored, 4);
	CHECK_INT(anchor_verify_store(p.s[0], channel, kp[1].id.sign_pub,
	    "south", &v), 0);
	CHECK_INT(v.count, 4);
	CHECK_INT(v.newest_n, 5);
	CHECK_INT(v.newest_time_ms, t);
	CHECK_INT(anchor_tick(&p.e[0], t + 60000, t + 60000, p.buf,
	    sizeof p.buf, &p.len), 0);
	CHECK(p.e[0].ask.has_held);
	CHECK_INT(p.e[0].ask.held_time_ms, t);
	/* a restarted engine goes on from the stored anchor, and holds the
	 * newest (what status shows) */
	anchor_init(&p.e[0], p.s[0], &kp[0], channel, kp[1].id.sign_pub,
	    60000, 250000, 250000);
	CHECK_INT(p.e[0].last_n, 5);
	CHECK_INT(p.e[0].took.n, 5);
	CHECK_INT(p.e[0].took.time_ms, t);
	pair_close(&p);
}

/* One run of 2 x 30 simulated minutes, a tick every 100 ms: the peer
 * answers in the first half, not in the second; the log grows every 7 s
 * or never. The times of the asks sent go into at[] (*count). */
static void
schedule_run(bool grow, uint64_t *at, size_t max, size_t *count,
    size_t *fresh, bool *all_differ)
{
	uint8_t seen[64][ANCHOR_LEN];
	uint64_t t0 = 1764990000000, t;
	struct pair p;

	*count = *fresh = 0;
	*all_differ = true;
	pair_open(&p, 60000);
	p.e[0].next_ms = p.e[0].bucket_ms = p.e[1].bucket_ms = t0;
	log_n(p.s[0], 1);
	for (t = t0; t < t0 + 3600000; t += 100) {
		if (grow && (t - t0) % 7000 == 0)
			log_n(p.s[0], 1);
		CHECK_INT(anchor_tick(&p.e[0], t, t, p.buf, sizeof p.buf,
		    &p.len), 0);
		if (p.len == 0)
			continue;
		if (*count < max)
			at[(*count)++] = t - t0;
		if (p.e[0].ask.time_ms == t && *fresh < 64) {
			for (size_t k = 0; k < *fresh; k++)
				if (memcmp(seen[k], p.e[0].ask.anchor,
				    ANCHOR_LEN) == 0)
					*all_differ = false;
			memcpy(seen[(*fresh)++], p.e[0].ask.anchor, ANCHOR_LEN);
		}
		if (t - t0 >= 1800000)
			continue;
		CHECK_INT(anchor_on_record(&p.e[1], p.buf, p.len, t, t, p.ans,
		    sizeof p.ans, &p.alen), 0);
		CHECK_INT(anchor_on_record(&p.e[0], p.ans, p.alen, t, t, p.buf,
		    sizeof p.buf, &p.len), 0);
	}
	pair_close(&p);
}

/* What the peer sees does not depend on our log: with it growing or
 * not, the asks go at the same times, as many, each with a new anchor
 * (of the same n too). */
static void
test_schedule(void)
{
	uint64_t a[200], b[200];
	size_t na, nb, fa, fb;
	bool da, db;

	schedule_run(true, a, 200, &na, &fa, &da);
	schedule_run(false, b, 200, &nb, &fb, &db);
	printf("asks in an hour: %zu (%zu new) with the log growing, %zu "
	    "(%zu new) without\n", na, fa, nb, fb);
	CHECK_INT(na, nb);
	CHECK_INT(fa, fb);
	CHECK_INT(fa, 60);
	CHECK(na > fa);		/* sent again while unanswered */
	CHECK(memcmp(a, b, na * sizeof a[0]) == 0);
	CHECK(da);
	CHECK(db);		/* an unchanged log: a new anchor each */
}

/* The store failing at an ask due: one error, put off by the retry, not
 * one at every tick. */
static void
test_store_error(void)
{
	struct pair p;

	pair_open(&p, 60000);
	CHECK_INT(sqlite3_exec(p.s[0]->db, "DROP TABLE audit", NULL, NULL,
	    NULL), SQLITE_OK);
	CHECK(anchor_tick(&p.e[0], 1000, 1000, p.buf, sizeof p.buf,
	    &p.len) != 0);
	CHECK_INT(anchor_tick(&p.e[0], 1100, 1100, p.buf, sizeof p.buf, &p.len),
	    0);
	CHECK_INT(p.len, 0);
	CHECK_INT(anchor_tick(&p.e[0], 1000 + ANCHOR_RETRY_MS - 1,
	    1000 + ANCHOR_RETRY_MS - 1, p.buf, sizeof p.buf, &p.len), 0);
	CHECK(anchor_tick(&p.e[0], 1000 + ANCHOR_RETRY_MS,
	    1000 + ANCHOR_RETRY_MS, p.buf, sizeof p.buf, &p.len) != 0);
	CHECK(!p.e[0].pending);
	pair_close(&p);
}

/* The store failing at an operator's ask: the ask is kept (asked again,
 * the same ticket, no token used), made a retry later, and its answer
 * answers the ticket. */
static void
test_ask_now_store_error(void)
{
	uint64_t ticket, again, retry;
	struct pair p;

	pair_open(&p, 60000);
	log_n(p.s[0], 1);
	CHECK_INT(anchor_tick(&p.e[0], 1000, 1000, p.buf, sizeof p.buf,
	    &p.len), 0);
	CHECK_INT(anchor_on_record(&p.e[1], p.buf, p.len, 1100, 1100, p.ans,
	    sizeof p.ans, &p.alen), 0);
	CHECK_INT(anchor_on_record(&p.e[0], p.ans, p.alen, 1200, 1200, p.buf,
	    sizeof p.buf, &p.len), 0);
	CHECK(!p.e[0].pending);
	CHECK_INT(anchor_ask_now(&p.e[0], 1500, &ticket, &retry), 0);
	CHECK_INT(sqlite3_exec(p.s[0]->db, "ALTER TABLE audit RENAME TO gone",
	    NULL, NULL, NULL), SQLITE_OK);
	CHECK(anchor_tick(&p.e[0], 2000, 2000, p.buf, sizeof p.buf, &p.len)
	    != 0);
	CHECK_INT(p.len, 0);
	CHECK_INT(anchor_ask_now(&p.e[0], 2050, &again, &retry), 0);
	CHECK_INT(again, ticket);
	CHECK_INT(p.e[0].op_tokens, ANCHOR_OP_BURST - 1);
	CHECK_INT(anchor_tick(&p.e[0], 2100, 2100, p.buf, sizeof p.buf,
	    &p.len), 0);
	CHECK_INT(p.len, 0);
	CHECK_INT(sqlite3_exec(p.s[0]->db, "ALTER TABLE gone RENAME TO audit",
	    NULL, NULL, NULL), SQLITE_OK);
	CHECK_INT(anchor_tick(&p.e[0], 2000 + ANCHOR_RETRY_MS - 1,
	    2000 + ANCHOR_RETRY_MS - 1, p.buf, sizeof p.buf, &p.len), 0);
	CHECK_INT(p.len, 0);
	CHECK_INT(anchor_tick(&p.e[0], 2000 + ANCHOR_RETRY_MS,
	    2000 + ANCHOR_RETRY_MS, p.buf, sizeof p.buf, &p.len), 0);
	CHECK(p.len > 0);
	CHECK_INT(anchor_on_record(&p.e[1], p.buf, p.len, 13000, 13000, p.ans,
	    sizeof p.ans, &p.alen), 0);
	CHECK_INT(anchor_on_record(&p.e[0], p.ans, p.alen, 13100, 13100, p.buf,
	    sizeof p.buf, &p.len), 0);
	CHECK_INT(p.e[0].op_answered, ticket);
	pair_close(&p);
}

/* Answers that are refused and change nothing. */
static void
test_bad_answers(void)
{
	struct pair p;
	struct anchor_rec a;
	struct anchor_engine wrong;
	uint8_t out[ANCHOR_REC_MAX];
	size_t len;

	pair_open(&p, 60000);
	log_n(p.s[0], 2);
	/* an answer with nothing asked */
	memset(&a, 0, sizeof a);
	a.kind = ANCHOR_SIGNED;
	a.time_ms = 5;
	CHECK_INT(anchor_sign(&kp[1], channel, a.anchor, a.time_ms, a.sig), 0);
	CHECK_INT(anchor_rec_encode(&a, out, sizeof out, &len), 0);
	CHECK_INT(anchor_on_record(&p.e[0], out, len, 1500, 1500, p.buf,
	    sizeof p.buf, &p.len), ERR_STATE);
	CHECK_CONTAINS(p.e[0].why, "answers no ask of ours");
	CHECK_INT(last(p.s[0]), 0);
	CHECK_INT(anchor_tick(&p.e[0], 2000, 2000, p.buf, sizeof p.buf, &p.len),
	    0);
	CHECK(p.len > 0);
	a = p.e[0].ask;
	a.kind = ANCHOR_SIGNED;
	/* signed by another key than the peer's */
	CHECK_INT(anchor_sign(&mallory, channel, a.anchor, a.time_ms, a.sig),
	    0);
	CHECK_INT(anchor_rec_encode(&a, out, sizeof out, &len), 0);
	CHECK_INT(anchor_on_record(&p.e[0], out, len, 2100, 2100, p.buf,
	    sizeof p.buf, &p.len), ERR_SIGNATURE);
	CHECK_CONTAINS(p.e[0].why, "is not the peer's signing key's");
	/* the peer's key, but over another channel */
	CHECK_INT(anchor_sign(&kp[1], other, a.anchor, a.time_ms, a.sig), 0);
	CHECK_INT(anchor_rec_encode(&a, out, sizeof out, &len), 0);
	CHECK_INT(anchor_on_record(&p.e[0], out, len, 2200, 2200, p.buf,
	    sizeof p.buf, &p.len), ERR_SIGNATURE);
	/* the peer's key over another time than asked */
	a.time_ms++;
	CHECK_INT(anchor_sign(&kp[1], channel, a.anchor, a.time_ms, a.sig), 0);
	CHECK_INT(anchor_rec_encode(&a, out, sizeof out, &len), 0);
	CHECK_INT(anchor_on_record(&p.e[0], out, len, 2300, 2300, p.buf,
	    sizeof p.buf, &p.len), ERR_STATE);
	CHECK_CONTAINS(p.e[0].why, "another anchor or time");
	/* a truncated record */
	CHECK_INT(anchor_on_record(&p.e[0], out, len - 1, 2400, 2400, p.buf,
	    sizeof p.buf, &p.len), ERR_PARSE);
	CHECK_CONTAINS(p.e[0].why, "not a well-formed audit anchor record");
	/* nothing changed: still in flight, nothing stored */
	CHECK(p.e[0].pending);
	CHECK_INT(p.e[0].anchored, 0);
	CHECK_INT(p.e[0].refused, 5);
	CHECK_INT(last(p.s[0]), 0);
	/* the right answer is still taken */
	a.time_ms--;
	CHECK_INT(anchor_sign(&kp[1], channel, a.anchor, a.time_ms, a.sig), 0);
	CHECK_INT(anchor_rec_encode(&a, out, sizeof out, &len), 0);
	CHECK_INT(anchor_on_record(&p.e[0], out, len, 2500, 2500, p.buf,
	    sizeof p.buf, &p.len), 0);
	CHECK_INT(last(p.s[0]), 2);
	/* the same answer again: no ask in flight now */
	CHECK_INT(anchor_on_record(&p.e[0], out, len, 2600, 2600, p.buf,
	    sizeof p.buf, &p.len), ERR_STATE);
	/* an engine of another channel does not take our peer's answer to
	 * this one's ask */
	anchor_init(&wrong, p.s[0], &kp[0], other, kp[1].id.sign_pub, 1000,
	    1000, 1000);
	wrong.pending = true;
	wrong.ask = p.e[0].ask;
	CHECK_INT(anchor_on_record(&wrong, out, len, 2700, 2700, p.buf,
	    sizeof p.buf, &p.len), ERR_SIGNATURE);
	pair_close(&p);
}

/* An ask of the peer's, dated t, with an anchor of its own (k). */
static void
ask_make(uint8_t *out, size_t *len, uint64_t t, int k)
{
	struct anchor_rec a;

	memset(&a, 0, sizeof a);
	a.kind = ANCHOR_ASK;
	memcpy(a.anchor, &k, sizeof k);
	a.time_ms = t;
	CHECK_INT(anchor_rec_encode(&a, out, ANCHOR_REC_MAX, len), 0);
}

/* The answering side: a hostile peer asking 1000 times in an hour gets
 * at most the token bucket's worth stored (and answered). */
static void
test_answer_bucket(void)
{
	uint64_t t0 = 1764990000000, t = t0;
	uint8_t out[ANCHOR_REC_MAX];
	size_t len, ok = 0, full = 0;
	struct pair p;
	int r;

	pair_open(&p, 60000);
	p.e[1].bucket_ms = t0;
	for (int k = 0; k < 1000; k++, t += 3600) {
		ask_make(out, &len, t, k);
		r = anchor_on_record(&p.e[1], out, len, t, t, p.ans,
		    sizeof p.ans, &p.alen);
		if (r == 0)
			ok++;
		else if (r == ERR_FULL && p.alen == 0)
			full++;
	}
	printf("1000 asks in an hour: %zu answered, %zu refused, %llu "
	    "stored\n", ok, full, (unsigned long long)given(p.s[1]));
	CHECK_INT(ok + full, 1000);
	CHECK(ok <= ANCHOR_ANSWER_BURST + 3600000 / ANCHOR_ANSWER_REFILL_MS);
	CHECK(ok >= 3600000 / ANCHOR_ANSWER_REFILL_MS);
	CHECK_INT(given(p.s[1]), ok);
	CHECK_CONTAINS(p.e[1].why, "more asks than one per 60000 ms");
	pair_close(&p);
}

/* The answering side: an ask dated far from its clock, or not later than
 * the last it signed, is refused (nothing stored); the last ask sent
 * again is answered again, not stored again, at most one per gap. */
static void
test_answer_time(void)
{
	uint64_t now = 1764990000000;
	uint8_t out[ANCHOR_REC_MAX], first[ANCHOR_REC_MAX];
	size_t len, flen;
	struct pair p;

	pair_open(&p, 60000);
	p.e[1].bucket_ms = now;
	ask_make(out, &len, now - ANCHOR_CLOCK_SKEW_MS - 1, 1);
	CHECK_INT(anchor_on_record(&p.e[1], out, len, now, now, p.ans,
	    sizeof p.ans, &p.alen), ERR_INVALID);
	CHECK_CONTAINS(p.e[1].why, "behind our clock");
	ask_make(out, &len, now + ANCHOR_CLOCK_SKEW_MS + 1, 2);
	CHECK_INT(anchor_on_record(&p.e[1], out, len, now, now, p.ans,
	    sizeof p.ans, &p.alen), ERR_INVALID);
	CHECK_CONTAINS(p.e[1].why, "ahead of our clock");
	ask_make(out, &len, 0, 3);		/* 1970 */
	CHECK_INT(anchor_on_record(&p.e[1], out, len, now, now, p.ans,
	    sizeof p.ans, &p.alen), ERR_INVALID);
	CHECK_CONTAINS(p.e[1].why, "an ask dated 1970-01-01 00:00:00Z");
	CHECK_INT(p.alen, 0);
	CHECK_INT(given(p.s[1]), 0);
	/* at the edge: answered */
	ask_make(first, &flen, now - ANCHOR_CLOCK_SKEW_MS, 4);
	CHECK_INT(anchor_on_record(&p.e[1], first, flen, now, now, p.ans,
	    sizeof p.ans, &p.alen), 0);
	CHECK(p.alen > 0);
	CHECK_INT(given(p.s[1]), 1);
	/* not later than it: refused */
	ask_make(out, &len, now - ANCHOR_CLOCK_SKEW_MS, 5);
	CHECK_INT(anchor_on_record(&p.e[1], out, len, now, now, p.ans,
	    sizeof p.ans, &p.alen), ERR_REPLAY);
	CHECK_CONTAINS(p.e[1].why, "not later than the last one we signed");
	/* the same ask again: within the gap refused, then answered as
	 * before; one row */
	CHECK_INT(anchor_on_record(&p.e[1], first, flen, now +
	    ANCHOR_ANSWER_GAP_MS - 1, now + ANCHOR_ANSWER_GAP_MS - 1, p.ans,
	    sizeof p.ans, &p.alen), ERR_FULL);
	CHECK_INT(p.alen, 0);
	CHECK_INT(anchor_on_record(&p.e[1], first, flen, now + 2000, now + 2000,
	    p.ans, sizeof p.ans, &p.alen), 0);
	CHECK(p.alen > 0);
	CHECK_INT(given(p.s[1]), 1);
	CHECK_INT(p.e[1].answered, 2);
	pair_close(&p);
}

/* The answering side restarted (its engine set up again over the same
 * store): an ask dated before the last one it signed in the earlier run,
 * or at its time, is still refused; that last ask sent again is answered
 * as before (the same bytes, nothing stored again); a later one is
 * signed. With its evidence unreadable it signs nothing dated within the
 * skew of its start. */
static void
test_answer_restart(void)
{
	uint64_t now = 1764990000000, later = now + 10000;
	uint8_t first[ANCHOR_REC_MAX], out[ANCHOR_REC_MAX],
	    ans1[ANCHOR_REC_MAX];
	size_t flen, len, a1len;
	struct pair p;

	pair_open(&p, 60000);
	p.e[1].bucket_ms = now;
	ask_make(first, &flen, now, 1);
	CHECK_INT(anchor_on_record(&p.e[1], first, flen, now, now, ans1,
	    sizeof ans1, &a1len), 0);
	CHECK(a1len > 0);
	CHECK_INT(given(p.s[1]), 1);
	anchor_init(&p.e[1], p.s[1], &kp[1], channel, kp[0].id.sign_pub,
	    60000, later, later);
	ask_make(out, &len, now - 1000, 2);	/* within the skew, older */
	CHECK_INT(anchor_on_record(&p.e[1], out, len, later, later, p.ans,
	    sizeof p.ans, &p.alen), ERR_REPLAY);
	CHECK_CONTAINS(p.e[1].why, "not later than the last one we signed");
	ask_make(out, &len, now, 3);		/* the same time, another */
	CHECK_INT(anchor_on_record(&p.e[1], out, len, later, later, p.ans,
	    sizeof p.ans, &p.alen), ERR_REPLAY);
	CHECK_INT(p.alen, 0);
	CHECK_INT(given(p.s[1]), 1);
	CHECK_INT(anchor_on_record(&p.e[1], first, flen, later, later, p.ans,
	    sizeof p.ans, &p.alen), 0);
	CHECK(p.alen == a1len && memcmp(p.ans, ans1, a1len) == 0);
	CHECK_INT(given(p.s[1]), 1);
	ask_make(out, &len, now + 1, 4);
	CHECK_INT(anchor_on_record(&p.e[1], out, len, later, later, p.ans,
	    sizeof p.ans, &p.alen), 0);
	CHECK_INT(given(p.s[1]), 2);
	/* the evidence unreadable at the start */
	CHECK_INT(sqlite3_exec(p.s[1]->db, "DROP TABLE audit_anchor_given",
	    NULL, NULL, NULL), SQLITE_OK);
	anchor_init(&p.e[1], p.s[1], &kp[1], channel, kp[0].id.sign_pub,
	    60000, later, later);
	ask_make(out, &len, later + ANCHOR_CLOCK_SKEW_MS - 1, 5);
	CHECK_INT(anchor_on_record(&p.e[1], out, len, later, later, p.ans,
	    sizeof p.ans, &p.alen), ERR_REPLAY);
	CHECK_INT(p.alen, 0);
	pair_close(&p);
}

/* An operator's ask: a new ask at the next tick (two asked before it:
 * one), the one in flight kept as prev; the schedule's next ask stays
 * where it was; only the answer to an ask made after the operator's
 * request answers it. */
static void
test_ask_now(void)
{
	uint8_t sched[ANCHOR_REC_MAX], op[ANCHOR_REC_MAX];
	size_t slen, oplen;
	uint64_t ticket, retry;
	struct pair p;

	pair_open(&p, 60000);
	log_n(p.s[0], 1);
	CHECK_INT(anchor_tick(&p.e[0], 1000, 1000, sched, sizeof sched, &slen),
	    0);
	CHECK(slen > 0);
	CHECK_INT(p.e[0].next_ms, 61000);
	log_n(p.s[0], 2);
	CHECK_INT(anchor_ask_now(&p.e[0], 4000, &ticket, &retry), 0);
	CHECK_INT(ticket, 1);
	/* asked again before the tick: the same ask, the same ticket */
	CHECK_INT(anchor_ask_now(&p.e[0], 4500, &ticket, &retry), 0);
	CHECK_INT(ticket, 1);
	CHECK_INT(anchor_tick(&p.e[0], 5000, 5000, op, sizeof op, &oplen), 0);
	CHECK(oplen > 0 && (oplen != slen || memcmp(op, sched, slen) != 0));
	CHECK_INT(p.e[0].ask_n, 3);
	CHECK(p.e[0].pending && p.e[0].has_prev);
	CHECK_INT(p.e[0].next_ms, 61000);
	CHECK_INT(anchor_tick(&p.e[0], 5100, 5100, p.buf, sizeof p.buf, &p.len),
	    0);
	CHECK_INT(p.len, 0);
	/* the scheduled ask, answered late: stored, not the operator's */
	CHECK_INT(anchor_on_record(&p.e[1], sched, slen, 5200, 5200, p.ans,
	    sizeof p.ans, &p.alen), 0);
	CHECK_INT(anchor_on_record(&p.e[0], p.ans, p.alen, 5300, 5300, p.buf,
	    sizeof p.buf, &p.len), 0);
	CHECK_INT(p.e[0].took.n, 1);
	CHECK_INT(p.e[0].op_answered, 0);
	CHECK(p.e[0].pending);
	CHECK_INT(anchor_on_record(&p.e[1], op, oplen, 5400, 5400, p.ans,
	    sizeof p.ans, &p.alen), 0);
	CHECK_INT(anchor_on_record(&p.e[0], p.ans, p.alen, 5500, 5500, p.buf,
	    sizeof p.buf, &p.len), 0);
	CHECK_INT(p.e[0].took.n, 3);
	CHECK_INT(p.e[0].op_answered, ticket);
	CHECK(!p.e[0].pending);
	/* the schedule as if nobody had asked */
	CHECK_INT(anchor_tick(&p.e[0], 60999, 60999, p.buf, sizeof p.buf,
	    &p.len), 0);
	CHECK_INT(p.len, 0);
	CHECK_INT(anchor_tick(&p.e[0], 61000, 61000, p.buf, sizeof p.buf,
	    &p.len), 0);
	CHECK(p.len > 0);
	CHECK_INT(p.e[0].next_ms, 121000);
	pair_close(&p);
}

/* Operators asking every 100 ms get their own bucket's worth asked
 * (ANCHOR_OP_BURST), the rest refused here with when to try again: the
 * peer's bucket keeps a token for the schedule's ask. */
static void
test_ask_now_bucket(void)
{
	size_t ok = 0, full = 0;
	uint64_t ticket, retry;
	struct pair p;
	int r;

	pair_open(&p, 60000);
	log_n(p.s[0], 1);
	CHECK_INT(anchor_tick(&p.e[0], 1000, 1000, p.buf, sizeof p.buf, &p.len),
	    0);
	CHECK(p.len > 0);	/* the schedule's first, unanswered */
	for (uint64_t t = 2000; t < 3000; t += 100) {
		r = anchor_ask_now(&p.e[0], t, &ticket, &retry);
		if (r == ERR_FULL) {
			CHECK_INT(ticket, 0);
			CHECK(retry > 0 && retry <= ANCHOR_OP_REFILL_MS);
			full++;
			continue;
		}
		CHECK_INT(r, 0);
		CHECK_INT(anchor_tick(&p.e[0], t, t, p.buf, sizeof p.buf,
		    &p.len), 0);
		CHECK(p.len > 0);
		CHECK_INT(anchor_on_record(&p.e[1], p.buf, p.len, t, t, p.ans,
		    sizeof p.ans, &p.alen), 0);
		ok++;
		CHECK_INT(anchor_on_record(&p.e[0], p.ans, p.alen, t, t, p.buf,
		    sizeof p.buf, &p.len), 0);
		CHECK_INT(p.e[0].op_answered, ticket);
	}
	printf("10 operators' asks in a second: %zu asked, %zu refused\n",
	    ok, full);
	CHECK_INT(ok, ANCHOR_OP_BURST);
	CHECK_INT(full, 10 - ANCHOR_OP_BURST);
	CHECK_INT(given(p.s[1]), ANCHOR_OP_BURST);
	CHECK_INT(p.e[0].op_answered, ANCHOR_OP_BURST);
	/* a token again after ANCHOR_OP_REFILL_MS */
	CHECK_INT(anchor_ask_now(&p.e[0], 2000 + ANCHOR_OP_REFILL_MS - 1,
	    &ticket, &retry), ERR_FULL);
	CHECK_INT(retry, 1);
	CHECK_INT(anchor_ask_now(&p.e[0], 2000 + ANCHOR_OP_REFILL_MS, &ticket,
	    &retry), 0);
	CHECK_INT(ticket, ANCHOR_OP_BURST + 1);
	/* the schedule's first ask was due at 1000: the next an interval
	 * later, whatever the operators did */
	CHECK_INT(p.e[0].next_ms, 61000);
	pair_close(&p);
}

/* An operator asking in a loop (every tick, 100 ms) over a link with
 * 150 ms each way: each answer used to come back after two newer asks
 * had replaced its ask (neither ask nor prev: refused), and the peer's
 * bucket was drained by asks whose answers were thrown away: nothing
 * anchored at all, the schedule's asks included. Within the operators'
 * own bucket, answers are taken. */
#define FLIGHT_MAX 64
struct flight {
	uint64_t at;
	int to;
	size_t len;
	uint8_t b[ANCHOR_REC_MAX];
};

static void
fly(struct flight *f, size_t *nf, int to, uint64_t at, const uint8_t *b,
    size_t len)
{
	CHECK(*nf < FLIGHT_MAX);
	if (*nf >= FLIGHT_MAX)
		return;
	f[*nf].at = at;
	f[*nf].to = to;
	f[*nf].len = len;
	memcpy(f[*nf].b, b, len);
	(*nf)++;
}

static void
test_ask_now_flood(void)
{
	static struct flight f[FLIGHT_MAX];
	uint64_t ticket, retry, asked = 0, refused = 0;
	size_t nf = 0;
	struct pair p;

	pair_open(&p, 600000);
	log_n(p.s[0], 1);
	for (uint64_t t = 1000; t < 1000 + 20 * 60000; t += 100) {
		if (anchor_ask_now(&p.e[0], t, &ticket, &retry) == 0)
			asked++;
		CHECK_INT(anchor_tick(&p.e[0], t, t, p.buf, sizeof p.buf,
		    &p.len), 0);
		if (p.len > 0)
			fly(f, &nf, 1, t + 150, p.buf, p.len);
		for (size_t i = 0; i < nf;) {
			struct flight g = f[i];
			if (g.at > t) {
				i++;
				continue;
			}
			f[i] = f[--nf];
			if (anchor_on_record(&p.e[g.to], g.b, g.len, t, t,
			    p.ans, sizeof p.ans, &p.alen) != 0)
				refused++;
			if (p.alen > 0)
				fly(f, &nf, 1 - g.to, t + 150, p.ans, p.alen);
		}
	}
	printf("an operator asking every 100 ms for 20 minutes, 150 ms "
	    "each way: %llu asks made, %llu anchored, %llu signed, %llu "
	    "refused\n", (unsigned long long)asked,
	    (unsigned long long)p.e[0].anchored,
	    (unsigned long long)given(p.s[1]), (unsigned long long)refused);
	/* the schedule's two asks, and the operators' burst and refills */
	CHECK(p.e[0].anchored >= 2 + ANCHOR_OP_BURST);
	CHECK(p.e[0].op_answered > 0);
	pair_close(&p);
}

/* The verifier over a log rewritten, cut, and an altered anchor row. */
static void
test_verify(void)
{
	uint8_t heads[3][AUDIT_HASH_LEN], anchor[ANCHOR_LEN];
	struct store_anchor a;
	struct anchor_verdict v;

	for (int i = 0; i < 3; i++)
		memset(heads[i], 0x10 + i, AUDIT_HASH_LEN);
	memset(&a, 0, sizeof a);
	memset(&v, 0, sizeof v);
	a.n = 2;
	a.time_ms = 1764990000000;
	memset(a.salt, 0x33, sizeof a.salt);
	anchor_compute(channel, heads[1], a.salt, anchor);
	memcpy(a.anchor, anchor, ANCHOR_LEN);
	CHECK_INT(anchor_sign(&kp[1], channel, anchor, a.time_ms, a.sig), 0);
	CHECK_INT(anchor_verify_one((const uint8_t (*)[AUDIT_HASH_LEN])heads,
	    3, channel, kp[1].id.sign_pub, "south", &a, &v), 0);
	/* entry 2's hash differs (the log rewritten up to it) */
	heads[1][0] ^= 1;
	CHECK_INT(anchor_verify_one((const uint8_t (*)[AUDIT_HASH_LEN])heads,
	    3, channel, kp[1].id.sign_pub, "south", &a, &v), ERR_CHAIN);
	CHECK_STR(v.fault, "audit log entry <= 2 does not match what south "
	    "signed at 2025-12-06 03:00:00Z: the log was rewritten");
	heads[1][0] ^= 1;
	/* the log cut below entry 2 */
	CHECK_INT(anchor_verify_one((const uint8_t (*)[AUDIT_HASH_LEN])heads,
	    1, channel, kp[1].id.sign_pub, "south", &a, &v), ERR_GAP);
	CHECK_CONTAINS(v.fault, "the audit log has 1 entries, but south "
	    "signed it up to entry 2");
	/* the row's n altered (to 3, or past the log's end): the peer's
	 * signature holds, over entry 2 */
	a.n = 3;
	CHECK_INT(anchor_verify_one((const uint8_t (*)[AUDIT_HASH_LEN])heads,
	    3, channel, kp[1].id.sign_pub, "south", &a, &v), ERR_INVALID);
	CHECK_STR(v.fault, "the audit anchor row of entry 3 is what south "
	    "signed at 2025-12-06 03:00:00Z for entry 2: the anchor row's n "
	    "was altered");
	a.n = 9;
	CHECK_INT(anchor_verify_one((const uint8_t (*)[AUDIT_HASH_LEN])heads,
	    3, channel, kp[1].id.sign_pub, "south", &a, &v), ERR_INVALID);
	CHECK_CONTAINS(v.fault, "the anchor row's n was altered");
	a.n = 2;
	/* the row's signature altered; or the row's anchor and the log
	 * rewritten together (the signature is then over neither) */
	a.sig[3] ^= 1;
	CHECK_INT(anchor_verify_one((const uint8_t (*)[AUDIT_HASH_LEN])heads,
	    3, channel, kp[1].id.sign_pub, "south", &a, &v), ERR_SIGNATURE);
	CHECK_CONTAINS(v.fault, "is not signed by south");
	a.sig[3] ^= 1;
	/* another channel's anchor: not this channel's */
	CHECK_INT(anchor_verify_one((const uint8_t (*)[AUDIT_HASH_LEN])heads,
	    3, other, kp[1].id.sign_pub, "south", &a, &v), ERR_SIGNATURE);
	/* another key (north's own) */
	CHECK_INT(anchor_verify_one((const uint8_t (*)[AUDIT_HASH_LEN])heads,
	    3, channel, kp[0].id.sign_pub, "south", &a, &v), ERR_SIGNATURE);
}

/* Two channels see different anchors for the same log head. */
static void
test_per_channel(void)
{
	uint8_t head[AUDIT_HASH_LEN], x[ANCHOR_LEN], y[ANCHOR_LEN];
	uint8_t salt[ANCHOR_SALT_LEN], z[ANCHOR_LEN];

	memset(head, 0x77, sizeof head);
	memset(salt, 0x01, sizeof salt);
	anchor_compute(channel, head, salt, x);
	anchor_compute(other, head, salt, y);
	CHECK(memcmp(x, y, ANCHOR_LEN) != 0);
	CHECK(memcmp(x, head, ANCHOR_LEN) != 0);
	/* the same head with another salt: another anchor */
	salt[0] ^= 1;
	anchor_compute(channel, head, salt, z);
	CHECK(memcmp(x, z, ANCHOR_LEN) != 0);
}


/* Our node named differently in two agreements: each channel's alarm
 * names us as that channel's agreement does (it named us as the last
 * agreement read did, on every channel). */
static void
test_set_self_per_channel(void)
{
	static struct agreement ags[2];
	struct delivery_io io;
	struct delivery *dl;
	struct anchor_set *as;
	struct store *s;

	memset(ags, 0, sizeof ags);
	memset(&io, 0, sizeof io);
	memcpy(ags[0].id, channel, sizeof channel);
	snprintf(ags[0].party[0].name, sizeof ags[0].party[0].name, "north");
	memcpy(ags[0].party[0].sign_pub, kp[0].id.sign_pub, KEYS_PUB_LEN);
	snprintf(ags[0].party[1].name, sizeof ags[0].party[1].name, "south");
	memcpy(ags[0].party[1].sign_pub, kp[1].id.sign_pub, KEYS_PUB_LEN);
	memcpy(ags[1].id, other, sizeof other);
	snprintf(ags[1].party[0].name, sizeof ags[1].party[0].name, "west");
	memcpy(ags[1].party[0].sign_pub, mallory.id.sign_pub, KEYS_PUB_LEN);
	snprintf(ags[1].party[1].name, sizeof ags[1].party[1].name,
	    "north-relay");
	memcpy(ags[1].party[1].sign_pub, kp[0].id.sign_pub, KEYS_PUB_LEN);
	CHECK_INT(store_open(&s, ":memory:"), 0);
	CHECK_INT(delivery_new(s, &kp[0], &io, &dl), 0);
	CHECK_INT(anchor_set_new(dl, &kp[0], ags, 2, 0, 0, 1000, 1000, &as), 0);
	CHECK_STR(anchor_set_self(as, channel), "north");
	CHECK_STR(anchor_set_self(as, other), "north-relay");
	anchor_set_free(as);
	delivery_free(dl);
	store_close(s);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	anchor_pair_setup();
	RUN(test_encoding);
	RUN(test_anchored);
	RUN(test_schedule);
	RUN(test_store_error);
	RUN(test_ask_now_store_error);
	RUN(test_bad_answers);
	RUN(test_answer_bucket);
	RUN(test_answer_time);
	RUN(test_answer_restart);
	RUN(test_ask_now);
	RUN(test_ask_now_bucket);
	RUN(test_ask_now_flood);
	RUN(test_set_self_per_channel);
	RUN(test_verify);
	RUN(test_per_channel);
	keys_fini(&kp[0]);
	keys_fini(&kp[1]);
	keys_fini(&mallory);
	return harness_summary();
}
