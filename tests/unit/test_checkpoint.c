/*
 * test_checkpoint.c: the checkpoint exchange between two engines over two
 * stores in memory: proposed when due (every N, or after T), co-signed by
 * the peer and stored on both sides with the same head; a checkpoint
 * signed by another key (forged) raises the alarm; chains that differ at
 * one seq raise the alarm on both sides naming that seq; malformed
 * records are refused without an alarm; a co-signed checkpoint that comes
 * before the messages it names is held and stored once they are here.
 */
#include <sodium.h>
#include <stdlib.h>

#include "../harness.h"
#include "msg/chain.h"
#include "msg/checkpoint.h"
#include "store/record.h"
#include "store/store_int.h"

static uint8_t channel[32];
static struct keys kp[2], mallory;
static uint8_t pub[2][32];

static void
keys_make(struct keys *k)
{
	memset(k, 0, sizeof *k);
	k->sign_sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
	if (k->sign_sk == NULL)
		abort();
	crypto_sign_keypair(k->id.sign_pub, k->sign_sk);
}

struct copy {
	struct store *to;
	const struct keys *k;
	int r;
};

/* Stores one of the sender's messages at the receiver, with its head. */
static int
copy_one(void *arg, struct store_msg *m)
{
	struct copy *c = arg;
	struct envelope_header h;
	struct store_in in;
	struct chain_head head;
	struct store_head sh;
	size_t added;

	if ((c->r = envelope_header_decode(&h, m->header,
	    m->header_len)) != 0)
		return c->r;
	chain_store_in(&in, &h, m->header, m->header_len, m->body,
	    m->body_len, m->id);
	if ((c->r = chain_head_over(&head, m, c->k)) != 0)
		return c->r;
	chain_head_to_store(&sh, &head);
	c->r = store_received_put(c->to, channel, m->sender, &in, 1, &sh,
	    1000, &added);
	return c->r;
}

/* Party i sends n messages (text starts with tag) in own, received in
 * peer (may be NULL). */
static void
send_n(struct store *own, struct store *peer, uint8_t i, int n,
    const char *tag)
{
	uint64_t first, last, seq;
	uint8_t id[32];
	int64_t qid;
	char body[64];

	CHECK_INT(store_highest(own, channel, i, &seq, id), 0);
	if (n == 0)
		return;
	for (int k = 0; k < n; k++) {
		int len = snprintf(body, sizeof body, "%s %d", tag, k);
		CHECK_INT(chain_queue(own, channel, i, 3, 0, ENVELOPE_TEXT,
		    (const uint8_t *)body, (size_t)len, 1000, &qid), 0);
	}
	CHECK_INT(store_assign_batch(own, channel, i, (size_t)n, 1000,
	    chain_store_build, NULL, &first, &last), 0);
	if (peer != NULL) {
		struct copy c = { peer, &kp[i], 0 };
		CHECK_INT(store_after(own, channel, i, seq, SIZE_MAX, copy_one,
		    &c), 0);
	}
}

/* receiver signs that it holds the other's chain (as in store from) to
 * its highest, stored into to. */
static void
receipt(struct store *from, struct store *to, uint8_t receiver)
{
	struct chain_receipt rc;
	struct store_receipt sr;
	size_t newly;

	memset(&rc, 0, sizeof rc);
	memcpy(rc.channel, channel, 32);
	rc.receiver = receiver;
	CHECK_INT(store_highest(from, channel, (uint8_t)(1 - receiver),
	    &rc.seq, rc.id), 0);
	rc.time_ms = 2000;
	CHECK_INT(chain_receipt_sign(&rc, &kp[receiver]), 0);
	chain_receipt_to_store(&sr, &rc);
	CHECK_INT(store_receipt_put(to, &sr, 2000, &newly), 0);
}

static void
open2(struct store **a, struct store **b)
{
	CHECK_INT(store_open(a, ":memory:"), 0);
	CHECK_INT(store_open(b, ":memory:"), 0);
}

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

/* North's engine ea over a, south's eb over b (keys kp[0], kp[1]): a
 * checkpoint every message, 60 s apart at most, no base. */
static void
engines_init(struct checkpoint_engine *ea, struct store *a,
    struct checkpoint_engine *eb, struct store *b)
{
	checkpoint_init(ea, a, &kp[0], channel, 0,
	    (const uint8_t (*)[32])pub, 1, 60000, 0);
	checkpoint_init(eb, b, &kp[1], channel, 1,
	    (const uint8_t (*)[32])pub, 1, 60000, 0);
}

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

/* north sends n0, south n1, both receipted. */
static void
traffic(struct store *a, struct store *b, int n0, int n1)
{
	send_n(a, b, 0, n0, "north");
	send_n(b, a, 1, n1, "south");
	receipt(b, a, 1);
	receipt(a, b, 0);
}

static int
count_one(void *arg, const uint8_t *p, size_t n)
{
	struct transcript_checkpoint cp;
	int *count = arg;

	CHECK_INT(transcript_checkpoint_decode(&cp, p, n), 0);
	CHECK(cp.is_signed[0] && cp.is_signed[1]);
	(*count)++;
	return 0;
}

static int
count_stored(struct store *s)
{
	int count = 0;

	CHECK_INT(store_checkpoints_each(s, channel, count_one, &count), 0);
	return count;
}

/* Runs sql on the store's connection (the triggers' test). */
static int
store_kept_sql(struct store *s, const char *sql)
{
	return sqlite3_exec(s->db, sql, NULL, NULL, NULL);
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
	if (sodium_init() < 0)
		return 1;
	keys_make(&kp[0]);
	keys_make(&kp[1]);
	keys_make(&mallory);
	memcpy(pub[0], kp[0].id.sign_pub, 32);
	memcpy(pub[1], kp[1].id.sign_pub, 32);
	memset(channel, 0x5c, sizeof channel);
	RUN(test_cosigned);
	RUN(test_forged);
	RUN(test_diverged);
	RUN(test_behind);
	RUN(test_held);
	RUN(test_held_diverged);
	RUN(test_held_walk);
	RUN(test_held_store_error);
	RUN(test_held_bad_row);
	RUN(test_held_read_error);
	RUN(test_held_same_again);
	RUN(test_held_cap);
	RUN(test_held_per_tick);
	RUN(test_behind_and_diverged);
	RUN(test_head_checked);
	RUN(test_dispute_names_head);
	keys_fini(&kp[0]);
	keys_fini(&kp[1]);
	keys_fini(&mallory);
	return harness_summary();
}
