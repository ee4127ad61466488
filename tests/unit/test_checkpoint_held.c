/*
 * test_checkpoint_held.c: a co-signed checkpoint that comes before the
 * messages it names is held and stored once they are here: one whose
 * messages then differ raises the alarm; the walk of a tick (at most
 * CHECKPOINT_HELD_PER_TICK, each once), a store's write or read error and
 * a bad row of our own keep it held or drop it as said; one whose seqs
 * come again; at most CHECKPOINT_HELD_MAX held. The exchange itself:
 * test_checkpoint.c.
 */
#include "checkpoint_pair.h"

/* What a test of two engines over stores a and b frees at its end. */
static void
pair_end(struct store *a, struct store *b, struct checkpoint_engine *ea,
    struct checkpoint_engine *eb, uint8_t *buf, uint8_t *ans)
{
	checkpoint_fini(ea);
	checkpoint_fini(eb);
	store_close(a);
	store_close(b);
	free(buf);
	free(ans);
}

/* South's chain in *b; *c: the same 1..2, a different 3, 4 (north's
 * chain, *a's, copied into it); *b receipted as if north had its chain
 * (lost since). */
static void
open_held_diverged(struct store **a, struct store **b, struct store **c)
{
	open2(a, b);
	CHECK_INT(store_open(c, ":memory:"), 0);
	send_n(*a, *b, 0, 2, "north");
	{
		struct copy cp = { *c, &kp[0], 0 };
		CHECK_INT(store_after(*a, channel, 0, 0, SIZE_MAX, copy_one,
		    &cp), 0);
	}
	send_n(*b, *a, 1, 2, "south");
	send_n(*c, NULL, 1, 2, "south");
	send_n(*b, NULL, 1, 2, "south, later");
	receipt(*b, *b, 0);		/* north had them (lost since) */
}

/* A new walk over the held ones (a tick). */
static struct checkpoint_walk *
walk(struct checkpoint_walk *w)
{
	memset(w, 0, sizeof *w);
	return w;
}

/* s refuses (on) or takes again every checkpoint row: a full disk for
 * that table alone. */
static void
refuse_checkpoints(struct store *s, bool on)
{
	CHECK_INT(store_kept_sql(s, on ? "CREATE TEMP TRIGGER no_cp BEFORE "
	    "INSERT ON main.checkpoint BEGIN SELECT RAISE(ABORT, 'full'); END"
	    : "DROP TRIGGER temp.no_cp"), 0);
}

/* The tick at now stores e's one held record in s: tried and not kept,
 * none held, one stored, one co-signed. */
static void
tick_stores_held(struct checkpoint_engine *e, struct store *s, uint64_t now)
{
	struct checkpoint_walk w;

	CHECK_INT(checkpoint_retry_held(e, now, now, walk(&w)), 0);
	CHECK(w.tried && !w.kept);
	CHECK_INT(e->nheld, 0);
	CHECK_INT(count_stored(s), 1);
	CHECK_INT(e->cosigned, 1);
}

/* South's proposal at seqs north has not (all) received, co-signed by
 * north's key as if north had signed it before it lost them (a node
 * restored from a backup is given it back); signer is north's key or
 * another's. */
static size_t
cosigned_by(struct checkpoint_engine *eb, const struct keys *signer,
    uint8_t *out)
{
	struct checkpoint_rec *c = malloc(sizeof *c);
	size_t len = 0;

	CHECK(c != NULL);
	eb->pending = false;
	CHECK_INT(checkpoint_tick(eb, 5, 5, out, CHECKPOINT_REC_MAX, &len), 0);
	CHECK(len > 0);
	CHECK_INT(checkpoint_rec_decode(c, out, len), 0);
	CHECK_INT(transcript_checkpoint_sign(&c->cp, 0, signer), 0);
	c->kind = CHECKPOINT_COSIGNED;
	CHECK_INT(checkpoint_rec_encode(c, out, CHECKPOINT_REC_MAX, &len), 0);
	free(c);
	return len;
}

/* A co-signed checkpoint that comes before the messages it names (south
 * gives a restored north its checkpoints back before sending its own
 * messages again) is held, not lost: stored once they are here, and it
 * ends co-signed and stored on both sides. A forged one is not held. */
static void
test_held(void)
{
	struct store *a, *b;
	struct checkpoint_engine ea, eb;
	uint8_t *buf = malloc(CHECKPOINT_REC_MAX);
	uint8_t *ans = malloc(CHECKPOINT_REC_MAX);
	size_t len, alen;
	struct checkpoint_walk w;

	open2(&a, &b);
	traffic(a, b, 3, 2);
	send_n(b, NULL, 1, 2, "south");	/* south's 3, 4: not at north */
	receipt(b, b, 0);		/* north had them (lost since) */
	engines_init(&ea, a, &eb, b);
	/* a forged one (not north's signature) is refused, not held */
	len = cosigned_by(&eb, &mallory, buf);
	CHECK_INT(checkpoint_on_record(&ea, buf, len, 6, 6, ans,
	    CHECKPOINT_REC_MAX, &alen), ERR_SIGNATURE);
	CHECK_INT(ea.nheld, 0);
	ea.alarms = 0;
	ea.alarm[0] = '\0';
	/* the real one: behind, held; given again, held once */
	len = cosigned_by(&eb, &kp[0], buf);
	for (int k = 0; k < 2; k++) {
		CHECK_INT(checkpoint_on_record(&ea, buf, len, 7, 7, ans,
		    CHECKPOINT_REC_MAX, &alen), ERR_AGAIN);
		CHECK_INT(alen, 0);
	}
	CHECK_INT(ea.nheld, 1);
	CHECK_INT(ea.alarms, 0);
	CHECK_INT(count_stored(a), 0);
	/* not reached yet: nothing tried, still held */
	CHECK_INT(checkpoint_retry_held(&ea, 8, 8, walk(&w)), 0);
	CHECK(!w.tried);
	CHECK_INT(ea.nheld, 1);
	/* south's 3 comes: still behind (4 is missing) */
	{
		struct copy c = { a, &kp[1], 0 };
		CHECK_INT(store_after(b, channel, 1, 2, 1, copy_one, &c), 0);
	}
	CHECK_INT(checkpoint_retry_held(&ea, 9, 9, walk(&w)), 0);
	CHECK(!w.tried);
	/* and 4: verified against the store and stored */
	{
		struct copy c = { a, &kp[1], 0 };
		CHECK_INT(store_after(b, channel, 1, 3, SIZE_MAX, copy_one,
		    &c), 0);
	}
	CHECK_INT(checkpoint_retry_held(&ea, 10, 10, walk(&w)), 0);
	CHECK(w.tried);
	CHECK_INT(ea.nheld, 0);
	CHECK_INT(ea.alarms, 0);
	CHECK_INT(count_stored(a), 1);
	CHECK_INT(ea.cosigned, 1);
	CHECK_INT(ea.last.seq[0], 3);
	CHECK_INT(ea.last.seq[1], 4);
	CHECK_INT(checkpoint_retry_held(&ea, 11, 11, walk(&w)), 0);
	CHECK(!w.tried);
	/* south stores it too (the co-signed answer of its proposal) */
	CHECK_INT(checkpoint_on_record(&eb, buf, len, 12, 12, ans,
	    CHECKPOINT_REC_MAX, &alen), 0);
	CHECK_INT(count_stored(b), 1);
	CHECK(memcmp(ea.last.head, eb.last.head, sizeof ea.last.head) == 0);
	pair_end(a, b, &ea, &eb, buf, ans);
}

/* A held one whose messages, once here, are not the ones it names: the
 * alarm names the first differing seq, and nothing is stored. */
static void
test_held_diverged(void)
{
	struct store *a, *b, *c;
	struct checkpoint_engine ea, eb;
	uint8_t *buf = malloc(CHECKPOINT_REC_MAX);
	uint8_t *ans = malloc(CHECKPOINT_REC_MAX);
	size_t len, alen;
	struct checkpoint_walk w;

	/* south's chain in b; c: the same 1..2, a different 3, 4 */
	open_held_diverged(&a, &b, &c);
	engines_init(&ea, a, &eb, b);
	len = cosigned_by(&eb, &kp[0], buf);
	CHECK_INT(checkpoint_on_record(&ea, buf, len, 7, 7, ans,
	    CHECKPOINT_REC_MAX, &alen), ERR_AGAIN);
	CHECK_INT(ea.nheld, 1);
	/* c's 3, 4 reach north instead; party 0's chain cannot be read at
	 * that moment (a disk read error): the fork in party 1's is named
	 * all the same */
	send_n(c, a, 1, 2, "fork");
	store_fail_reads(1);
	CHECK_INT(checkpoint_retry_held(&ea, 8, 8, walk(&w)), ERR_CHAIN);
	store_fail_reads(0);
	CHECK(w.tried);
	CHECK_INT(ea.nheld, 0);
	CHECK_INT(ea.alarms, 1);
	CHECK_CONTAINS(checkpoint_alarm(&ea), "party 1's chain first differs "
	    "at seq 3");
	CHECK_INT(count_stored(a), 0);
	checkpoint_fini(&ea);
	checkpoint_fini(&eb);
	store_close(a);
	store_close(b);
	store_close(c);
	free(buf);
	free(ans);
}

/* The setup of the held tests: north (a) holds both chains to 3/2, south
 * (b) has its 3, 4 more that north had receipted (north lost them). */
static void
held_setup(struct store **a, struct store **b, struct checkpoint_engine *ea,
    struct checkpoint_engine *eb)
{
	open2(a, b);
	traffic(*a, *b, 3, 2);
	send_n(*b, NULL, 1, 2, "south");
	receipt(*b, *b, 0);
	checkpoint_init(ea, *a, &kp[0], channel, 0,
	    (const uint8_t (*)[32])pub, 1, 60000, 0);
	checkpoint_init(eb, *b, &kp[1], channel, 1,
	    (const uint8_t (*)[32])pub, 1, 60000, 0);
}

/* South's messages after seq `after`, at most n, come to north. */
static void
south_to_north(struct store *b, struct store *a, uint64_t after, size_t n)
{
	struct copy c = { a, &kp[1], 0 };

	CHECK_INT(store_after(b, channel, 1, after, n, copy_one, &c), 0);
}

/* A held one the store reaches but that stays held (here not written: a
 * trigger refuses the insert) keeps its place: a walk (a tick) tries it
 * once, not again and again; it is reported once ("first"); stored once
 * the store takes it. */
static void
test_held_walk(void)
{
	struct store *a, *b;
	struct checkpoint_engine ea, eb;
	struct checkpoint_walk w;
	uint8_t *buf = malloc(CHECKPOINT_REC_MAX);
	uint8_t *ans = malloc(CHECKPOINT_REC_MAX);
	size_t len, alen;

	held_setup(&a, &b, &ea, &eb);
	len = cosigned_by(&eb, &kp[0], buf);
	CHECK_INT(checkpoint_on_record(&ea, buf, len, 7, 7, ans,
	    CHECKPOINT_REC_MAX, &alen), ERR_AGAIN);
	CHECK_INT(ea.nheld, 1);
	CHECK_INT(ea.hold, CHECKPOINT_HOLD_NEW);
	/* given again: held already, said so */
	CHECK_INT(checkpoint_on_record(&ea, buf, len, 7, 7, ans,
	    CHECKPOINT_REC_MAX, &alen), ERR_AGAIN);
	CHECK_INT(ea.hold, CHECKPOINT_HOLD_ALREADY);
	/* south's 3, 4 come; the store refuses the checkpoint */
	south_to_north(b, a, 2, SIZE_MAX);
	refuse_checkpoints(a, true);
	CHECK(checkpoint_retry_held(&ea, 8, 8, walk(&w)) != 0);
	CHECK(w.tried && w.kept && w.first);
	CHECK_INT(ea.nheld, 1);
	/* the same walk does not try it again */
	for (int k = 0; k < 3; k++) {
		CHECK_INT(checkpoint_retry_held(&ea, 8, 8, &w), 0);
		CHECK(!w.tried);
	}
	/* the next tick does, and does not report it again */
	CHECK(checkpoint_retry_held(&ea, 9, 9, walk(&w)) != 0);
	CHECK(w.tried && w.kept && !w.first);
	CHECK_INT(ea.alarms, 0);
	refuse_checkpoints(a, false);
	tick_stores_held(&ea, a, 10);
	pair_end(a, b, &ea, &eb, buf, ans);
}

/* A write error (here a trigger refusing the insert) is not swallowed: a
 * co-signed record not stored is held and stored from a later tick, a
 * held one not stored stays held; each counts once in cosigned. */
static void
test_held_store_error(void)
{
	struct store *a, *b;
	struct checkpoint_engine ea, eb;
	struct checkpoint_walk w;
	uint8_t *buf = malloc(CHECKPOINT_REC_MAX);
	uint8_t *ans = malloc(CHECKPOINT_REC_MAX);
	size_t len, alen;
	int r;

	held_setup(&a, &b, &ea, &eb);
	len = cosigned_by(&eb, &kp[0], buf);
	CHECK_INT(checkpoint_on_record(&ea, buf, len, 7, 7, ans,
	    CHECKPOINT_REC_MAX, &alen), ERR_AGAIN);
	south_to_north(b, a, 2, SIZE_MAX);
	refuse_checkpoints(a, true);
	/* reached and verified, not written: held still */
	r = checkpoint_retry_held(&ea, 8, 8, walk(&w));
	CHECK(r != 0 && r != ERR_AGAIN && r != ERR_CHAIN);
	CHECK(w.tried && w.kept && w.first);
	CHECK_INT(ea.nheld, 1);
	CHECK_INT(ea.store_errors, 1);
	CHECK_INT(count_stored(a), 0);
	CHECK_INT(ea.cosigned, 1);	/* the last one in memory */
	/* the same record comes again now: not written, held once */
	r = checkpoint_on_record(&ea, buf, len, 9, 9, ans, CHECKPOINT_REC_MAX,
	    &alen);
	CHECK(r != 0 && r != ERR_AGAIN && r != ERR_CHAIN);
	CHECK_INT(ea.hold, CHECKPOINT_HOLD_ALREADY);
	CHECK_INT(ea.nheld, 1);
	CHECK_INT(ea.store_errors, 2);
	refuse_checkpoints(a, false);
	tick_stores_held(&ea, a, 10);
	/* south: the co-signed answer of its proposal not written: held,
	 * written from the tick */
	refuse_checkpoints(b, true);
	r = checkpoint_on_record(&eb, buf, len, 11, 11, ans, CHECKPOINT_REC_MAX,
	    &alen);
	CHECK(r != 0 && r != ERR_AGAIN);
	CHECK_INT(eb.hold, CHECKPOINT_HOLD_NEW);
	CHECK_INT(eb.nheld, 1);
	CHECK_INT(eb.cosigned, 1);
	refuse_checkpoints(b, false);
	tick_stores_held(&eb, b, 12);
	pair_end(a, b, &ea, &eb, buf, ans);
}

/* A bad row in our own store (an id that is not 32 bytes: corruption, or
 * an edit from outside) is a store error, not the peer's bad input: the
 * co-signed record is held, stays held when tried again while the row is
 * bad (not dropped), the error names the row, and it is stored once the
 * row reads again. */
static void
test_held_bad_row(void)
{
	struct store *a, *b;
	struct checkpoint_engine ea, eb;
	struct checkpoint_walk w;
	uint8_t *buf = malloc(CHECKPOINT_REC_MAX);
	uint8_t *ans = malloc(CHECKPOINT_REC_MAX);
	size_t len, alen;

	held_setup(&a, &b, &ea, &eb);
	len = cosigned_by(&eb, &kp[0], buf);
	south_to_north(b, a, 2, SIZE_MAX);
	CHECK_INT(store_kept_sql(a, "PRAGMA foreign_keys = OFF; "
	    "PRAGMA ignore_check_constraints = ON; "
	    "DROP TRIGGER main.message_assign_once; "
	    "UPDATE message SET id = CAST(id || x'00' AS BLOB) "
	    "WHERE sender = 1 AND seq = 3"), 0);
	CHECK_INT(checkpoint_on_record(&ea, buf, len, 7, 7, ans,
	    CHECKPOINT_REC_MAX, &alen), ERR_IO);
	CHECK_CONTAINS(store_errmsg(a), "sender 1 at seq 3");
	CHECK_INT(ea.hold, CHECKPOINT_HOLD_NEW);
	CHECK_INT(ea.nheld, 1);
	CHECK_INT(checkpoint_retry_held(&ea, 8, 8, walk(&w)), ERR_IO);
	CHECK(w.tried && w.kept);
	CHECK_INT(ea.nheld, 1);
	CHECK_INT(ea.alarms, 0);
	CHECK_INT(count_stored(a), 0);
	CHECK_INT(store_kept_sql(a, "UPDATE message SET id = substr(id, 1, "
	    "32) WHERE sender = 1 AND seq = 3"), 0);
	tick_stores_held(&ea, a, 9);
	CHECK_INT(ea.alarms, 0);
	pair_end(a, b, &ea, &eb, buf, ans);
}

/* A co-signed record whose ids cannot be read (a disk read error) is not
 * judged: held, held still when the retry cannot read either, stored
 * once reads work again; no alarm. */
static void
test_held_read_error(void)
{
	struct store *a, *b;
	struct checkpoint_engine ea, eb;
	struct checkpoint_walk w;
	uint8_t *buf = malloc(CHECKPOINT_REC_MAX);
	uint8_t *ans = malloc(CHECKPOINT_REC_MAX);
	size_t len, alen;

	held_setup(&a, &b, &ea, &eb);
	len = cosigned_by(&eb, &kp[0], buf);
	south_to_north(b, a, 2, SIZE_MAX);	/* north holds them all */
	store_fail_reads(1);
	CHECK_INT(checkpoint_on_record(&ea, buf, len, 7, 7, ans,
	    CHECKPOINT_REC_MAX, &alen), ERR_IO);
	CHECK_INT(alen, 0);
	CHECK_INT(ea.hold, CHECKPOINT_HOLD_NEW);
	CHECK_INT(ea.nheld, 1);
	CHECK_INT(ea.cosigned, 0);
	store_fail_reads(1);
	CHECK_INT(checkpoint_retry_held(&ea, 8, 8, walk(&w)), ERR_IO);
	CHECK(w.tried && w.kept && w.first);
	CHECK_INT(ea.nheld, 1);
	CHECK_INT(count_stored(a), 0);
	tick_stores_held(&ea, a, 9);
	CHECK_INT(ea.alarms, 0);
	store_fail_reads(0);
	pair_end(a, b, &ea, &eb, buf, ans);
}

/* A held one whose seqs come again and get their final result the normal
 * way is dropped: not stored nor counted again, no second alarm. */
static void
test_held_same_again(void)
{
	struct store *a, *b, *c;
	struct checkpoint_engine ea, eb;
	struct checkpoint_walk w;
	uint8_t *buf = malloc(CHECKPOINT_REC_MAX);
	uint8_t *ans = malloc(CHECKPOINT_REC_MAX);
	size_t len, alen;

	/* stored the normal way */
	held_setup(&a, &b, &ea, &eb);
	len = cosigned_by(&eb, &kp[0], buf);
	CHECK_INT(checkpoint_on_record(&ea, buf, len, 7, 7, ans,
	    CHECKPOINT_REC_MAX, &alen), ERR_AGAIN);
	CHECK_INT(ea.nheld, 1);
	south_to_north(b, a, 2, SIZE_MAX);
	CHECK_INT(checkpoint_on_record(&ea, buf, len, 8, 8, ans,
	    CHECKPOINT_REC_MAX, &alen), 0);
	CHECK_INT(ea.nheld, 0);
	CHECK_INT(ea.cosigned, 1);
	CHECK_INT(checkpoint_retry_held(&ea, 9, 9, walk(&w)), 0);
	CHECK(!w.tried);
	CHECK_INT(ea.cosigned, 1);
	/* the same again is stored but not counted again */
	CHECK_INT(checkpoint_on_record(&ea, buf, len, 10, 10, ans,
	    CHECKPOINT_REC_MAX, &alen), 0);
	CHECK_INT(ea.cosigned, 1);
	CHECK_INT(count_stored(a), 1);
	checkpoint_fini(&ea);
	checkpoint_fini(&eb);
	store_close(a);
	store_close(b);

	/* the divergence alarm the normal way (test_held_diverged's
	 * chains) */
	open_held_diverged(&a, &b, &c);
	engines_init(&ea, a, &eb, b);
	len = cosigned_by(&eb, &kp[0], buf);
	CHECK_INT(checkpoint_on_record(&ea, buf, len, 7, 7, ans,
	    CHECKPOINT_REC_MAX, &alen), ERR_AGAIN);
	CHECK_INT(ea.nheld, 1);
	send_n(c, a, 1, 2, "fork");
	CHECK_INT(checkpoint_on_record(&ea, buf, len, 8, 8, ans,
	    CHECKPOINT_REC_MAX, &alen), ERR_CHAIN);
	CHECK_INT(ea.alarms, 1);
	CHECK_INT(ea.nheld, 0);
	CHECK_INT(checkpoint_retry_held(&ea, 9, 9, walk(&w)), 0);
	CHECK(!w.tried);
	CHECK_INT(ea.alarms, 1);
	checkpoint_fini(&ea);
	checkpoint_fini(&eb);
	store_close(a);
	store_close(b);
	store_close(c);
	free(buf);
	free(ans);
}

/* At most CHECKPOINT_HELD_MAX are held: the next is dropped and counted;
 * a proposal that is behind is never held. */
static void
test_held_cap(void)
{
	struct store *a, *b;
	struct checkpoint_engine ea, eb;
	uint8_t *buf = malloc(CHECKPOINT_REC_MAX);
	uint8_t *ans = malloc(CHECKPOINT_REC_MAX);
	size_t len, alen;

	held_setup(&a, &b, &ea, &eb);
	/* south's own proposal, behind at north: not held */
	CHECK_INT(checkpoint_tick(&eb, 5, 5, buf, CHECKPOINT_REC_MAX, &len), 0);
	CHECK(len > 0);
	CHECK_INT(checkpoint_on_record(&ea, buf, len, 6, 6, ans,
	    CHECKPOINT_REC_MAX, &alen), ERR_AGAIN);
	CHECK_INT(alen, 0);
	CHECK_INT(ea.hold, CHECKPOINT_HOLD_NONE);
	CHECK_INT(ea.nheld, 0);
	/* CHECKPOINT_HELD_MAX + 1 co-signed ones, each at new seqs */
	for (int k = 0; k <= CHECKPOINT_HELD_MAX; k++) {
		send_n(b, NULL, 1, 1, "south, more");
		receipt(b, b, 0);
		len = cosigned_by(&eb, &kp[0], buf);
		CHECK_INT(checkpoint_on_record(&ea, buf, len, 7, 7, ans,
		    CHECKPOINT_REC_MAX, &alen), ERR_AGAIN);
	}
	CHECK_INT(ea.nheld, CHECKPOINT_HELD_MAX);
	CHECK_INT(ea.held_dropped, 1);
	CHECK_INT(ea.hold, CHECKPOINT_HOLD_FULL);
	CHECK_INT(ea.held[CHECKPOINT_HELD_MAX - 1].seq[1],
	    4 + CHECKPOINT_HELD_MAX);
	checkpoint_fini(&ea);
	CHECK_INT(ea.nheld, 0);
	checkpoint_fini(&eb);
	store_close(a);
	store_close(b);
	free(buf);
	free(ans);
}

/* A walk (a tick) tries at most CHECKPOINT_HELD_PER_TICK held ones, each
 * written with an fsync: with more reached, one walk stores that many and
 * the next the rest. */
static void
test_held_per_tick(void)
{
	enum { N = CHECKPOINT_HELD_PER_TICK + 5 };
	struct store *a, *b;
	struct checkpoint_engine ea, eb;
	struct checkpoint_walk w;
	uint8_t *buf = malloc(CHECKPOINT_REC_MAX);
	uint8_t *ans = malloc(CHECKPOINT_REC_MAX);
	size_t len, alen;
	int tried;

	held_setup(&a, &b, &ea, &eb);
	for (int k = 0; k < N; k++) {	/* each at new seqs, all behind */
		send_n(b, NULL, 1, 1, "south, more");
		receipt(b, b, 0);
		len = cosigned_by(&eb, &kp[0], buf);
		CHECK_INT(checkpoint_on_record(&ea, buf, len, 7, 7, ans,
		    CHECKPOINT_REC_MAX, &alen), ERR_AGAIN);
	}
	CHECK_INT(ea.nheld, N);
	south_to_north(b, a, 2, SIZE_MAX);	/* all reached now */
	walk(&w);
	for (tried = 0; tried <= N; tried++) {
		CHECK_INT(checkpoint_retry_held(&ea, 8, 8, &w), 0);
		if (!w.tried)
			break;
	}
	CHECK_INT(tried, CHECKPOINT_HELD_PER_TICK);
	CHECK_INT(count_stored(a), CHECKPOINT_HELD_PER_TICK);
	CHECK_INT(ea.nheld, N - CHECKPOINT_HELD_PER_TICK);
	walk(&w);
	for (tried = 0; tried <= N; tried++) {
		CHECK_INT(checkpoint_retry_held(&ea, 9, 9, &w), 0);
		if (!w.tried)
			break;
	}
	CHECK_INT(tried, N - CHECKPOINT_HELD_PER_TICK);
	CHECK_INT(count_stored(a), N);
	CHECK_INT(ea.nheld, 0);
	CHECK_INT(ea.cosigned, N);
	CHECK_INT(ea.alarms, 0);
	pair_end(a, b, &ea, &eb, buf, ans);
}

int
main(void)
{
	if (!checkpoint_tests_begin())
		return 1;
	RUN(test_held);
	RUN(test_held_diverged);
	RUN(test_held_walk);
	RUN(test_held_store_error);
	RUN(test_held_bad_row);
	RUN(test_held_read_error);
	RUN(test_held_same_again);
	RUN(test_held_cap);
	RUN(test_held_per_tick);
	return checkpoint_tests_end();
}
