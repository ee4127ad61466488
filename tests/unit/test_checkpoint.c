/*
 * test_checkpoint.c: the checkpoint exchange between two engines over two
 * stores in memory: proposed when due (every N, or after T), co-signed by
 * the peer and stored on both sides with the same head; a checkpoint
 * signed by another key (forged) raises the alarm; chains that differ at
 * one seq raise the alarm on both sides naming that seq; malformed
 * records are refused without an alarm. A co-signed checkpoint that comes
 * before the messages it names: test_checkpoint_held.c.
 */
#include "checkpoint_pair.h"

/* North's chain forked: *b holds north's chain as north sent it (*a);
 * *c is a north whose chain differs from seq 4 on (its store was
 * altered), holding south's messages, receipted as if by south. */
static void
open_forked(struct store **a, struct store **b, struct store **c)
{
	open2(a, b);
	CHECK_INT(store_open(c, ":memory:"), 0);
	send_n(*a, *b, 0, 3, "north");
	send_n(*c, NULL, 0, 3, "north");
	send_n(*a, *b, 0, 4, "north");
	send_n(*c, NULL, 0, 4, "north, otherwise");
	send_n(*b, *c, 1, 2, "south");
	receipt(*c, *c, 1);		/* as if south had receipted c's */
}

static void
test_cosigned(void)
{
	struct store *a, *b;
	struct checkpoint_engine ea, eb;
	uint8_t *buf = malloc(CHECKPOINT_REC_MAX);
	uint8_t *ans = malloc(CHECKPOINT_REC_MAX);
	size_t len, alen, flen = 0;
	uint8_t *first = NULL;

	open2(&a, &b);
	checkpoint_init(&ea, a, &kp[0], channel, 0,
	    (const uint8_t (*)[32])pub, 10, 60000, 0);
	checkpoint_init(&eb, b, &kp[1], channel, 1,
	    (const uint8_t (*)[32])pub, 10, 60000, 0);
	/* not due: nothing, then fewer than 10 */
	CHECK_INT(checkpoint_tick(&ea, 1, 1, buf, CHECKPOINT_REC_MAX, &len), 0);
	CHECK_INT(len, 0);
	traffic(a, b, 4, 3);
	CHECK_INT(checkpoint_tick(&ea, 2, 2, buf, CHECKPOINT_REC_MAX, &len), 0);
	CHECK_INT(len, 0);
	/* ten messages: due */
	traffic(a, b, 2, 1);
	CHECK_INT(checkpoint_tick(&ea, 3, 3, buf, CHECKPOINT_REC_MAX, &len), 0);
	CHECK(len > 0);
	CHECK(ea.pending);
	/* south checks, co-signs and answers */
	CHECK_INT(checkpoint_on_record(&eb, buf, len, 4, 4, ans,
	    CHECKPOINT_REC_MAX, &alen), 0);
	CHECK(alen > 0);
	CHECK_INT(eb.cosigned, 1);
	CHECK_INT(checkpoint_on_record(&ea, ans, alen, 5, 5, buf,
	    CHECKPOINT_REC_MAX, &len), 0);
	CHECK_INT(len, 0);
	CHECK_INT(ea.cosigned, 1);
	CHECK((first = malloc(alen)) != NULL);
	memcpy(first, ans, alen);
	flen = alen;
	CHECK(!ea.pending);
	CHECK_INT(ea.alarms + eb.alarms, 0);
	CHECK_STR(checkpoint_alarm(&ea), "");
	CHECK_MEM(ea.last.head, eb.last.head, 32);
	CHECK(ea.last.is_signed[0] && ea.last.is_signed[1]);
	CHECK_INT(ea.last.seq[0], 6);
	CHECK_INT(ea.last.seq[1], 4);
	/* nothing new: not due, even after the interval */
	CHECK_INT(checkpoint_tick(&ea, 70000, 70000, buf, CHECKPOINT_REC_MAX,
	    &len), 0);
	CHECK_INT(len, 0);
	/* one new message: due once the interval has passed */
	traffic(a, b, 1, 0);
	CHECK_INT(checkpoint_tick(&ea, 6000, 6000, buf, CHECKPOINT_REC_MAX,
	    &len), 0);
	CHECK_INT(len, 0);
	CHECK_INT(checkpoint_tick(&ea, 70000, 70000, buf, CHECKPOINT_REC_MAX,
	    &len), 0);
	CHECK(len > 0);
	CHECK_INT(checkpoint_on_record(&eb, buf, len, 70001, 70001, ans,
	    CHECKPOINT_REC_MAX, &alen), 0);
	CHECK_INT(eb.cosigned, 2);
	CHECK_INT(checkpoint_on_record(&ea, ans, alen, 70002, 70002, buf,
	    CHECKPOINT_REC_MAX, &len), 0);
	/* stored on both sides: two each, the same bytes */
	CHECK_INT(count_stored(a), 2);
	CHECK_INT(count_stored(b), 2);
	/* the first given again (a peer giving checkpoints back after a
	 * restore): checked and taken, stored once, nothing moves back */
	CHECK_INT(checkpoint_on_record(&ea, first, flen, 70003, 70003, buf,
	    CHECKPOINT_REC_MAX, &len), 0);
	CHECK_INT(len, 0);
	CHECK_INT(count_stored(a), 2);
	CHECK_INT(ea.base[0], 7);
	CHECK_INT(ea.base[1], 4);
	CHECK_INT(ea.last.seq[0], 7);
	free(first);
	CHECK_INT(ea.store_errors + eb.store_errors, 0);
	{
		uint8_t la[STORE_CHECKPOINT_MAX], lb[STORE_CHECKPOINT_MAX];
		size_t na, nb;
		CHECK_INT(store_checkpoint_latest(a, channel, la, sizeof la,
		    &na), 0);
		CHECK_INT(store_checkpoint_latest(b, channel, lb, sizeof lb,
		    &nb), 0);
		CHECK_INT(na, nb);
		CHECK_MEM(la, lb, na);
	}
	/* a restarted engine resumes from the last stored: nothing due */
	{
		struct checkpoint_engine e2;
		checkpoint_init(&e2, a, &kp[0], channel, 0,
		    (const uint8_t (*)[32])pub, 10, 60000, 80000);
		CHECK(e2.have_last);
		CHECK_INT(e2.base[0], 7);
		CHECK_INT(e2.base[1], 4);
		CHECK_MEM(e2.last.head, ea.last.head, 32);
		CHECK_INT(checkpoint_tick(&e2, 200000, 200000, buf,
		    CHECKPOINT_REC_MAX, &len), 0);
		CHECK_INT(len, 0);
	}
	/* the table is append-only */
	CHECK(store_kept_sql(a, "DELETE FROM checkpoint") != 0);
	CHECK(store_kept_sql(a, "UPDATE checkpoint SET time_ms = 1") != 0);
	CHECK_INT(count_stored(a), 2);
	store_close(a);
	store_close(b);
	free(buf);
	free(ans);
}

static void
test_forged(void)
{
	struct store *a, *b;
	struct checkpoint_engine ea, eb;
	uint8_t *buf = malloc(CHECKPOINT_REC_MAX);
	uint8_t *ans = malloc(CHECKPOINT_REC_MAX);
	size_t len, alen;

	open2(&a, &b);
	traffic(a, b, 5, 5);
	/* a checkpoint "from north" signed by another key */
	checkpoint_init(&ea, a, &mallory, channel, 0,
	    (const uint8_t (*)[32])pub, 1, 60000, 0);
	checkpoint_init(&eb, b, &kp[1], channel, 1,
	    (const uint8_t (*)[32])pub, 1, 60000, 0);
	CHECK_INT(checkpoint_tick(&ea, 1, 1, buf, CHECKPOINT_REC_MAX, &len), 0);
	CHECK(len > 0);
	CHECK_INT(checkpoint_on_record(&eb, buf, len, 2, 2, ans,
	    CHECKPOINT_REC_MAX, &alen), ERR_SIGNATURE);
	CHECK_INT(alen, 0);
	CHECK_INT(eb.alarms, 1);
	CHECK_INT(eb.cosigned, 0);
	CHECK_CONTAINS(checkpoint_alarm(&eb), "forged or altered");
	CHECK_CONTAINS(checkpoint_alarm(&eb), "party 0");
	/* malformed and foreign records: refused, no alarm */
	CHECK(checkpoint_on_record(&eb, buf, len - 1, 3, 3, ans,
	    CHECKPOINT_REC_MAX, &alen) != 0);
	CHECK_INT(eb.alarms, 1);
	store_close(a);
	store_close(b);
	free(buf);
	free(ans);
}

static void
test_diverged(void)
{
	struct store *a, *b, *c;
	struct checkpoint_engine ec, eb;
	uint8_t *buf = malloc(CHECKPOINT_REC_MAX);
	uint8_t *ans = malloc(CHECKPOINT_REC_MAX);
	size_t len, alen;

	/* b holds north's chain as north sent it; c is a north whose
	 * chain differs from seq 4 on (its store was altered) */
	open_forked(&a, &b, &c);
	receipt(c, b, 0);
	engines_init(&ec, c, &eb, b);
	CHECK_INT(checkpoint_tick(&ec, 1, 1, buf, CHECKPOINT_REC_MAX, &len), 0);
	CHECK(len > 0);
	CHECK_INT(checkpoint_on_record(&eb, buf, len, 2, 2, ans,
	    CHECKPOINT_REC_MAX, &alen), ERR_CHAIN);
	CHECK_CONTAINS(checkpoint_alarm(&eb), "party 0's chain first "
	    "differs at seq 4");
	CHECK(alen > 0);		/* south's ids go back */
	CHECK_INT(checkpoint_on_record(&ec, ans, alen, 3, 3, buf,
	    CHECKPOINT_REC_MAX, &len), ERR_CHAIN);
	CHECK_CONTAINS(checkpoint_alarm(&ec), "party 0's chain first "
	    "differs at seq 4");
	CHECK_INT(ec.cosigned + eb.cosigned, 0);
	store_close(a);
	store_close(b);
	store_close(c);
	free(buf);
	free(ans);
}

/* A node restored from a backup lacks messages the peer holds: behind,
 * not diverged: no alarm, no answer, until it has caught up. */
static void
test_behind(void)
{
	struct store *a, *b;
	struct checkpoint_engine ea, eb;
	uint8_t *buf = malloc(CHECKPOINT_REC_MAX);
	uint8_t *ans = malloc(CHECKPOINT_REC_MAX);
	size_t len, alen;

	open2(&a, &b);
	traffic(a, b, 3, 0);		/* b holds north's 1..3 */
	send_n(a, NULL, 0, 2, "north");	/* 4, 5: not yet at b */
	send_n(b, a, 1, 1, "south");
	receipt(b, a, 1);
	/* north proposes with its chain up to south's receipt (3): fine */
	engines_init(&ea, a, &eb, b);
	/* south proposes naming north's 3; then a forged receipt makes
	 * north claim 5 to south, who does not hold 4, 5 */
	ea.every = 1;
	CHECK_INT(checkpoint_tick(&ea, 1, 1, buf, CHECKPOINT_REC_MAX, &len), 0);
	CHECK(len > 0);
	CHECK_INT(checkpoint_on_record(&eb, buf, len, 2, 2, ans,
	    CHECKPOINT_REC_MAX, &alen), 0);
	CHECK_INT(eb.cosigned, 1);
	{
		struct chain_receipt rc;
		struct store_receipt sr;
		size_t newly;
		memset(&rc, 0, sizeof rc);
		memcpy(rc.channel, channel, 32);
		rc.receiver = 1;
		CHECK_INT(store_highest(a, channel, 0, &rc.seq, rc.id), 0);
		rc.time_ms = 3000;
		CHECK_INT(chain_receipt_sign(&rc, &kp[1]), 0);
		chain_receipt_to_store(&sr, &rc);
		CHECK_INT(store_receipt_put(a, &sr, 3000, &newly), 0);
	}
	ea.pending = false;
	CHECK_INT(checkpoint_tick(&ea, 2, 2, buf, CHECKPOINT_REC_MAX, &len), 0);
	CHECK(len > 0);
	CHECK_INT(checkpoint_on_record(&eb, buf, len, 3, 3, ans,
	    CHECKPOINT_REC_MAX, &alen), ERR_AGAIN);
	CHECK_INT(alen, 0);
	CHECK_INT(eb.alarms, 0);
	CHECK_STR(checkpoint_alarm(&eb), "");
	store_close(a);
	store_close(b);
	free(buf);
	free(ans);
}

/* A checkpoint behind in one chain and differing in the other: the
 * divergence is named at once, not after the missing message comes. */
static void
test_behind_and_diverged(void)
{
	struct store *a, *b, *c;
	struct checkpoint_engine ea, eb;
	uint8_t *buf = malloc(CHECKPOINT_REC_MAX);
	uint8_t *ans = malloc(CHECKPOINT_REC_MAX);
	size_t len, alen;

	open2(&a, &b);
	CHECK_INT(store_open(&c, ":memory:"), 0);
	send_n(a, b, 0, 2, "north");
	send_n(a, NULL, 0, 1, "north, not at south");	/* north's 3 */
	send_n(b, NULL, 1, 2, "south");
	send_n(c, a, 1, 2, "fork");	/* north holds another south 1, 2 */
	receipt(a, a, 1);		/* south "has" north's 3 */
	engines_init(&ea, a, &eb, b);
	CHECK_INT(checkpoint_tick(&ea, 1, 1, buf, CHECKPOINT_REC_MAX, &len), 0);
	CHECK(len > 0);
	CHECK_INT(checkpoint_on_record(&eb, buf, len, 2, 2, ans,
	    CHECKPOINT_REC_MAX, &alen), ERR_CHAIN);
	CHECK_INT(eb.alarms, 1);
	CHECK_CONTAINS(checkpoint_alarm(&eb), "party 1's chain first differs "
	    "at seq 1");
	CHECK(alen > 0);		/* the dispute, with south's ids */
	/* north, handed the dispute (zeros where south lacks north's 3),
	 * names the same seq, not the one south lacks */
	CHECK_INT(checkpoint_on_record(&ea, ans, alen, 3, 3, buf,
	    CHECKPOINT_REC_MAX, &len), ERR_CHAIN);
	CHECK_CONTAINS(checkpoint_alarm(&ea), "party 1's chain first differs "
	    "at seq 1");
	checkpoint_fini(&ea);
	checkpoint_fini(&eb);
	store_close(a);
	store_close(b);
	store_close(c);
	free(buf);
	free(ans);
}

/* The head a proposal's signatures cover names the ids at its seqs; the
 * list of ids is only the peer's word. A proposal whose head names
 * another id than the list's (and ours) at its seq is an alarm, and one
 * whose seqs pass ours (an empty list) is behind: neither is co-signed,
 * stored, or moves the engine on. */
static void
test_head_checked(void)
{
	struct store *a, *b;
	struct checkpoint_engine ea, eb;
	struct checkpoint_rec *rec = malloc(sizeof *rec);
	uint8_t *buf = malloc(CHECKPOINT_REC_MAX);
	uint8_t *forged = malloc(CHECKPOINT_REC_MAX);
	uint8_t *ans = malloc(CHECKPOINT_REC_MAX);
	size_t len, flen, alen;

	open2(&a, &b);
	traffic(a, b, 4, 3);
	engines_init(&ea, a, &eb, b);
	CHECK_INT(checkpoint_tick(&ea, 1, 1, buf, CHECKPOINT_REC_MAX, &len), 0);
	CHECK(len > 0);
	/* the list right, the head's id of north's chain another */
	CHECK_INT(checkpoint_rec_decode(rec, buf, len), 0);
	memset(rec->cp.id[0], 0xee, ENVELOPE_ID_LEN);
	rec->cp.is_signed[0] = rec->cp.is_signed[1] = false;
	transcript_checkpoint_fill(&rec->cp);
	CHECK_INT(transcript_checkpoint_sign(&rec->cp, 0, &kp[0]), 0);
	CHECK_INT(checkpoint_rec_encode(rec, forged, CHECKPOINT_REC_MAX,
	    &flen), 0);
	CHECK_INT(checkpoint_on_record(&eb, forged, flen, 2, 2, ans,
	    CHECKPOINT_REC_MAX, &alen), ERR_CHAIN);
	CHECK_CONTAINS(checkpoint_alarm(&eb), "head names another message at "
	    "party 0's seq 4");
	/* seqs past ours, no list: behind, not co-signed */
	CHECK_INT(checkpoint_rec_decode(rec, buf, len), 0);
	rec->cp.seq[0] = 50;
	rec->cp.seq[1] = 60;
	memset(rec->cp.id[0], 0x11, ENVELOPE_ID_LEN);
	memset(rec->cp.id[1], 0x22, ENVELOPE_ID_LEN);
	rec->base[0] = 50;
	rec->base[1] = 60;
	rec->nids[0] = rec->nids[1] = 0;
	rec->cp.is_signed[0] = rec->cp.is_signed[1] = false;
	transcript_checkpoint_fill(&rec->cp);
	CHECK_INT(transcript_checkpoint_sign(&rec->cp, 0, &kp[0]), 0);
	CHECK_INT(checkpoint_rec_encode(rec, forged, CHECKPOINT_REC_MAX,
	    &flen), 0);
	CHECK_INT(checkpoint_on_record(&eb, forged, flen, 3, 3, ans,
	    CHECKPOINT_REC_MAX, &alen), ERR_AGAIN);
	CHECK_INT(alen, 0);
	CHECK_INT(eb.cosigned, 0);
	CHECK_INT(eb.base[0], 0);
	CHECK_INT(count_stored(b), 0);
	/* the true one is still co-signed */
	CHECK_INT(checkpoint_on_record(&eb, buf, len, 4, 4, ans,
	    CHECKPOINT_REC_MAX, &alen), 0);
	CHECK_INT(eb.cosigned, 1);
	checkpoint_fini(&ea);
	checkpoint_fini(&eb);
	store_close(a);
	store_close(b);
	free(rec);
	free(buf);
	free(forged);
	free(ans);
}

/* The answerer's base already at the checkpoint's seq (it co-signed
 * there before; here set by hand): its dispute carries its ids over the
 * proposal's range, and at least the one at the checkpoint's seq, so
 * that the proposer names the divergence too, at the same seq, both when
 * only the head's id differs (the proposal's list is empty) and when the
 * proposal's list reaches below the answerer's base. */
static void
test_dispute_names_head(void)
{
	struct store *a, *b, *c;
	struct checkpoint_engine ec, eb;
	uint8_t *buf = malloc(CHECKPOINT_REC_MAX);
	uint8_t *ans = malloc(CHECKPOINT_REC_MAX);
	size_t len, alen;

	/* b holds north's chain as sent (a); c is a north whose chain
	 * differs from seq 4 to its top, 7 */
	open_forked(&a, &b, &c);
	for (int k = 0; k < 2; k++) {
		/* k 0: both at 7 in north's chain (an empty list there);
		 * k 1: the proposer from 0 (its list names 1..7) */
		engines_init(&ec, c, &eb, b);
		ec.base[0] = k == 0 ? 7 : 0;
		eb.base[0] = 7;
		CHECK_INT(checkpoint_tick(&ec, 1, 1, buf, CHECKPOINT_REC_MAX,
		    &len), 0);
		CHECK(len > 0);
		CHECK_INT(checkpoint_on_record(&eb, buf, len, 2, 2, ans,
		    CHECKPOINT_REC_MAX, &alen), ERR_CHAIN);
		CHECK_CONTAINS(checkpoint_alarm(&eb), k == 0 ? "head names "
		    "another message at party 0's seq 7" : "party 0's chain "
		    "first differs at seq 4");
		CHECK(alen > 0);
		CHECK_INT(checkpoint_on_record(&ec, ans, alen, 3, 3, buf,
		    CHECKPOINT_REC_MAX, &len), ERR_CHAIN);
		CHECK_CONTAINS(checkpoint_alarm(&ec), k == 0 ? "party 0's "
		    "chain first differs at seq 7" : "party 0's chain first "
		    "differs at seq 4");
		CHECK_INT(ec.alarms, 1);
		CHECK_INT(ec.cosigned + eb.cosigned, 0);
		checkpoint_fini(&ec);
		checkpoint_fini(&eb);
	}
	store_close(a);
	store_close(b);
	store_close(c);
	free(buf);
	free(ans);
}

int
main(void)
{
	if (!checkpoint_tests_begin())
		return 1;
	RUN(test_cosigned);
	RUN(test_forged);
	RUN(test_diverged);
	RUN(test_behind);
	RUN(test_behind_and_diverged);
	RUN(test_head_checked);
	RUN(test_dispute_names_head);
	return checkpoint_tests_end();
}
