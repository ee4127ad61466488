/*
 * test_store_queue.c: the store on temporary files: the priority queue
 * (FLASH overtakes ROUTINE, gapless chains), the queue's checks and heads,
 * the peer's last message and the direction, received batches, receipts,
 * and listings and gets. The file itself (migrations, reopening, a full
 * disk, the triggers, group commit): test_store.c.
 */
#include "store_chains.h"

static uint8_t chan2[32];

struct collect {
	uint64_t seq[64];
	uint8_t prec[64];
	char first[64][16];
	size_t n;
};

static int
collect_one(void *arg, struct store_msg *m)
{
	struct collect *c = arg;

	if (c->n < 64) {
		c->seq[c->n] = m->seq;
		c->prec[c->n] = m->precedence;
		snprintf(c->first[c->n], sizeof c->first[0], "%.*s",
		    (int)(m->body_len < 15 ? m->body_len : 15),
		    (const char *)m->body);
		c->n++;
	}
	return 0;
}

static void
test_flash_overtakes_routine(void)
{
	struct store *s = open_name("queue.db");
	struct store_msg m;
	struct collect c;
	char text[32];
	uint64_t first, last;
	size_t nq;

	for (int i = 0; i < 5; i++) {
		snprintf(text, sizeof text, "routine %d", i);
		queue_text(s, chan, ENVELOPE_ROUTINE, text);
	}
	queue_text(s, chan, ENVELOPE_PRIORITY, "priority 0");
	queue_text(s, chan, ENVELOPE_PRIORITY, "priority 1");
	queue_text(s, chan, ENVELOPE_FLASH, "flash 0");
	queue_text(s, chan2, ENVELOPE_FLASH, "other channel");
	CHECK_INT(store_queued_count(s, chan, &nq), 0);
	CHECK_INT(nq, 8);

	/* the first assigned is the FLASH queued last, as seq 1 */
	CHECK_INT(store_assign_next(s, chan, 0, now, chain_store_build, NULL,
	    &m), 0);
	CHECK_INT(m.seq, 1);
	CHECK_INT(m.state, STORE_SENT);
	CHECK_INT(m.body_len, 7);
	CHECK(memcmp(m.body, "flash 0", 7) == 0);
	store_msg_fini(&m);

	/* a ROUTINE goes out, then a new FLASH still overtakes the rest */
	CHECK_INT(store_assign_batch(s, chan, 0, 3, now, chain_store_build,
	    NULL, &first, &last), 0);
	CHECK_INT(first, 2);
	CHECK_INT(last, 4);
	queue_text(s, chan, ENVELOPE_FLASH, "flash 1");
	CHECK_INT(store_assign_batch(s, chan, 0, 100, now, chain_store_build,
	    NULL, &first, &last), 0);
	CHECK_INT(first, 5);
	CHECK_INT(last, 9);
	CHECK_INT(store_assign_batch(s, chan, 0, 100, now, chain_store_build,
	    NULL, &first, &last), ERR_NOT_FOUND);

	memset(&c, 0, sizeof c);
	CHECK_INT(store_after(s, chan, 0, 0, 100, collect_one, &c), 0);
	CHECK_INT(c.n, 9);
	static const char *want[] = { "flash 0", "priority 0", "priority 1",
		"routine 0", "flash 1", "routine 1", "routine 2",
		"routine 3", "routine 4" };
	for (size_t i = 0; i < 9 && i < c.n; i++) {
		CHECK_INT(c.seq[i], i + 1);
		CHECK_STR(c.first[i], want[i]);
	}
	CHECK_INT(check_chain(s, chan, 0), 9);

	/* the other channel's chain is its own, from 1 */
	CHECK_INT(store_assign_next(s, chan2, 0, now, chain_store_build, NULL,
	    &m), 0);
	CHECK_INT(m.seq, 1);
	store_msg_fini(&m);
	CHECK_INT(store_queued_count(s, NULL, &nq), 0);
	CHECK_INT(nq, 0);
	store_close(s);
}

/* Queued and assigned in one row: gapless with the queue's assignments,
 * and refused (nothing written) while anything of the chain is queued,
 * so that it never overtakes a queued FLASH. */
static void
test_queue_assigned(void)
{
	struct store *s = open_name("direct.db");
	struct store_draft dr;
	struct store_msg m;
	uint8_t id[STORE_ID_LEN];
	uint64_t seq, first, last;
	int64_t qid;
	size_t nq;

	memset(&dr, 0, sizeof dr);
	dr.channel = chan;
	dr.precedence = ENVELOPE_ROUTINE;
	dr.marking = ENVELOPE_PRIVATE;
	dr.kind = ENVELOPE_TEXT;
	dr.body = (const uint8_t *)"direct";
	dr.body_len = 6;
	dr.time_ms = now;
	for (uint64_t i = 1; i <= 2; i++) {
		CHECK_INT(store_queue_assigned(s, &dr, now, chain_store_build,
		    NULL, &qid, &seq, id), 0);
		CHECK_INT(seq, i);
		CHECK_INT(store_get_local(s, qid, &m), 0);
		CHECK_INT(m.seq, i);
		CHECK_INT(m.state, STORE_SENT);
		CHECK_MEM(m.id, id, STORE_ID_LEN);
		store_msg_fini(&m);
	}
	queue_text(s, chan, ENVELOPE_ROUTINE, "queued");
	dr.precedence = ENVELOPE_FLASH;
	CHECK_INT(store_queue_assigned(s, &dr, now, chain_store_build, NULL,
	    &qid, &seq, id), ERR_STATE);
	CHECK_INT(store_queued_count(s, chan, &nq), 0);
	CHECK_INT(nq, 1);
	CHECK_INT(store_assign_batch(s, chan, 0, 10, now, chain_store_build,
	    NULL, &first, &last), 0);
	CHECK_INT(first, 3);
	CHECK_INT(last, 3);
	CHECK_INT(store_queue_assigned(s, &dr, now, chain_store_build, NULL,
	    &qid, &seq, id), 0);
	CHECK_INT(seq, 4);
	dr.kind = 0;
	CHECK_INT(store_queue_assigned(s, &dr, now, chain_store_build, NULL,
	    &qid, &seq, id), ERR_INVALID);
	CHECK_INT(check_chain(s, chan, 0), 4);

	/* A run: the place read once, a refused body skipped, the chain
	 * gapless and linked across the run. */
	{
		struct store_draft run[4];
		struct store_assigned out[4];
		static const uint8_t bad[] = { 'a', 0xff, 'b' };

		dr.kind = ENVELOPE_TEXT;
		for (size_t k = 0; k < 4; k++)
			run[k] = dr;
		run[1].body = bad;
		run[1].body_len = sizeof bad;
		CHECK_INT(store_queue_assigned_run(s, run, 4, now,
		    chain_store_build, NULL, out), 0);
		CHECK_INT(out[0].r, 0);
		CHECK_INT(out[0].seq, 5);
		CHECK(out[1].r != 0);
		CHECK_INT(out[2].r, 0);
		CHECK_INT(out[2].seq, 6);
		CHECK_INT(out[3].seq, 7);
		CHECK_INT(store_get_local(s, out[3].qid, &m), 0);
		CHECK_MEM(m.id, out[3].id, STORE_ID_LEN);
		store_msg_fini(&m);
		CHECK_INT(check_chain(s, chan, 0), 7);
		/* another chain in the same run: refused, nothing written */
		run[2].sender = 1;
		CHECK_INT(store_queue_assigned_run(s, run, 4, now,
		    chain_store_build, NULL, out), ERR_INVALID);
		run[2].sender = 0;
		/* something queued: ERR_STATE, nothing written */
		queue_text(s, chan, ENVELOPE_ROUTINE, "queued again");
		CHECK_INT(store_queue_assigned_run(s, run, 4, now,
		    chain_store_build, NULL, out), ERR_STATE);
		CHECK_INT(check_chain(s, chan, 0), 7);
	}
	store_close(s);
}

/* The numbers of the test: 1,000 ROUTINE queued, some of them
 * already out, then a FLASH: it is the very next one assigned. */
static void
test_flash_overtakes_a_thousand(void)
{
	struct store *s = open_name("thousand.db");
	struct store_msg m;
	uint64_t first, last;
	size_t nq;

	for (int i = 0; i < 1000; i++)
		queue_text(s, chan, ENVELOPE_ROUTINE, "routine traffic");
	CHECK_INT(store_assign_batch(s, chan, 0, 100, now, chain_store_build,
	    NULL, &first, &last), 0);
	CHECK_INT(last, 100);
	queue_text(s, chan, ENVELOPE_FLASH, "flash: accidental launch");
	CHECK_INT(store_assign_next(s, chan, 0, now, chain_store_build, NULL,
	    &m), 0);
	CHECK_INT(m.seq, 101);
	CHECK_INT(m.precedence, ENVELOPE_FLASH);
	store_msg_fini(&m);
	while (store_assign_batch(s, chan, 0, STORE_BATCH_MAX, now,
	    chain_store_build, NULL, &first, &last) == 0)
		;
	CHECK_INT(last, 1001);
	CHECK_INT(store_queued_count(s, chan, &nq), 0);
	CHECK_INT(nq, 0);
	CHECK_INT(check_chain(s, chan, 0), 1001);
	store_close(s);
}

/* chain_queue refuses what could never get a header; a head over an
 * assigned message verifies and is stored. */
static void
test_queue_checks_and_heads(void)
{
	struct store *s = open_name("heads.db");
	struct keys k;
	struct chain_head hd;
	struct store_head sh, back;
	struct store_msg m;
	static const uint8_t bad_utf8[] = { 'a', 0xff };
	size_t nq;
	int64_t qid;

	memset(&k, 0, sizeof k);
	k.sign_sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
	crypto_sign_keypair(k.id.sign_pub, k.sign_sk);
	CHECK_INT(chain_queue(s, chan, 0, ENVELOPE_FLASH, ENVELOPE_PRIVATE,
	    ENVELOPE_TEXT, bad_utf8, sizeof bad_utf8, now, &qid), ERR_INVALID);
	CHECK_INT(chain_queue(s, chan, 0, ENVELOPE_FLASH, ENVELOPE_PRIVATE, 77,
	    (const uint8_t *)"x", 1, now, &qid), ERR_KIND);
	CHECK_INT(chain_queue(s, chan, 0, ENVELOPE_FLASH, ENVELOPE_PRIVATE,
	    ENVELOPE_TEXT, (const uint8_t *)"", 0, now, &qid), ERR_INVALID);
	CHECK_INT(store_queued_count(s, NULL, &nq), 0);
	CHECK_INT(nq, 0);
	CHECK_INT(chain_queue(s, chan, 0, ENVELOPE_FLASH, ENVELOPE_PRIVATE,
	    ENVELOPE_TEXT, (const uint8_t *)"ok", 2, now, &qid), 0);

	CHECK_INT(store_get_local(s, qid, &m), 0);
	CHECK_INT(chain_head_over(&hd, &m, &k), ERR_STATE);	/* queued */
	store_msg_fini(&m);
	CHECK_INT(store_assign_next(s, chan, 0, now, chain_store_build, NULL,
	    &m), 0);
	CHECK_INT(chain_head_over(&hd, &m, &k), 0);
	CHECK_INT(chain_head_verify(&hd, k.id.sign_pub), 0);
	chain_head_to_store(&sh, &hd);
	CHECK_INT(store_head_put(s, &sh, now), 0);
	CHECK_INT(store_head_put(s, &sh, now), 0);		/* again */
	CHECK_INT(store_head_covering(s, chan, 0, 1, &back), 0);
	CHECK_MEM(back.sig, hd.sig, 64);
	store_msg_fini(&m);
	keys_fini(&k);
	store_close(s);
}

static void
test_peer_last_and_direction(void)
{
	struct store *s = open_name("dir.db");
	struct pmsg *p = peer_run(3, 40);
	struct store_msg m;
	struct envelope_header h;
	size_t added;
	int64_t qid;

	CHECK_INT(put_run(s, p, 0, 3, &added), 0);
	queue_text(s, chan, ENVELOPE_ROUTINE, "after three");
	CHECK_INT(store_assign_next(s, chan, 0, now, chain_store_build, NULL,
	    &m), 0);
	CHECK_INT(envelope_header_decode(&h, m.header, m.header_len), 0);
	CHECK_MEM(h.peer_last, p[2].id, 32);		/* the peer's last */
	CHECK_MEM(h.prev, zero32, 32);
	store_msg_fini(&m);

	/* our chain is not the peer's, and the other way round */
	CHECK_INT(store_queue(s, chan, 1, 0, 0, ENVELOPE_TEXT,
	    (const uint8_t *)"x", 1, now, &qid), ERR_INVALID);
	{
		struct store_in in;
		chain_store_in(&in, &p[0].h, p[0].hdr, p[0].hlen, p[0].salt,
		    p[0].body, p[0].blen, p[0].id);
		CHECK_INT(store_received_put(s, chan, 0, &in, 1, NULL, now,
		    &added), ERR_INVALID);
	}
	/* out of range */
	CHECK_INT(store_queue(s, chan, 0, 4, 0, ENVELOPE_TEXT,
	    (const uint8_t *)"x", 1, now, &qid), ERR_INVALID);
	peer_free(p, 3);
	store_close(s);
}

static void
test_received_batches(void)
{
	struct store *s = open_name("recv.db");
	struct pmsg *p = peer_run(30, 100);
	struct pmsg *q = peer_run(30, 101);		/* a different fork */
	uint8_t id[32];
	uint64_t hi, c0;
	size_t added;
	struct store_head hd;

	c0 = store_commits(s);
	CHECK_INT(put_run(s, p, 0, 10, &added), 0);
	CHECK_INT(added, 10);
	CHECK_INT(put_run(s, p, 10, 20, &added), 0);
	CHECK_INT(added, 10);
	CHECK_INT(store_commits(s) - c0, 2);		/* one per batch */
	CHECK_INT(store_highest(s, chan, 1, &hi, id), 0);
	CHECK_INT(hi, 20);
	CHECK_MEM(id, p[19].id, 32);

	/* a resend of what is held, overlapping the next: exactly once */
	CHECK_INT(put_run(s, p, 15, 25, &added), 0);
	CHECK_INT(added, 5);
	CHECK_INT(put_run(s, p, 0, 10, &added), 0);
	CHECK_INT(added, 0);

	/* refusals store nothing */
	CHECK_INT(put_run(s, p, 26, 30, &added), ERR_GAP);
	CHECK_INT(added, 0);
	CHECK_INT(put_run(s, q, 20, 26, &added), ERR_CHAIN);	/* other ids */
	CHECK_INT(put_run(s, q, 25, 26, &added), ERR_CHAIN);	/* bad prev */
	CHECK_INT(put_run(s, q, 0, 1, &added), ERR_CHAIN);	/* other id */
	{	/* a head naming another id than its run's last message */
		struct store_in in;
		chain_store_in(&in, &p[25].h, p[25].hdr, p[25].hlen,
		    p[25].salt, p[25].body, p[25].blen, p[25].id);
		memset(&hd, 0, sizeof hd);
		memcpy(hd.channel, chan, 32);
		hd.sender = 1;
		hd.seq = 26;
		memcpy(hd.id, p[24].id, 32);
		CHECK_INT(store_received_put(s, chan, 1, &in, 1, &hd, now,
		    &added), ERR_CHAIN);
		CHECK_INT(added, 0);
	}
	CHECK_INT(store_highest(s, chan, 1, &hi, id), 0);
	CHECK_INT(hi, 25);
	CHECK_INT(check_chain(s, chan, 1), 25);

	/* heads: stored with their run, found by what they cover */
	CHECK_INT(store_head_covering(s, chan, 1, 11, &hd), 0);
	CHECK_INT(hd.seq, 20);
	CHECK_INT(store_head_covering(s, chan, 1, 21, &hd), 0);
	CHECK_INT(hd.seq, 25);
	CHECK_INT(store_head_covering(s, chan, 1, 26, &hd), ERR_NOT_FOUND);
	memcpy(hd.id, p[3].id, 32);			/* not the id at 25 */
	CHECK_INT(store_head_put(s, &hd, now), ERR_CHAIN);
	hd.seq = 26;
	CHECK_INT(store_head_put(s, &hd, now), ERR_NOT_FOUND);
	peer_free(p, 30);
	peer_free(q, 30);
	store_close(s);
}

static void
test_receipts(void)
{
	struct store *s = open_name("rcpt.db");
	struct store_receipt rc, got;
	struct store_msg m;
	uint64_t first, last;
	size_t newly;
	int64_t qid;

	for (int i = 0; i < 5; i++)
		queue_text(s, chan, ENVELOPE_ROUTINE, "to be receipted");
	qid = queue_text(s, chan, ENVELOPE_ROUTINE, "still queued");
	CHECK_INT(store_assign_batch(s, chan, 0, 5, now, chain_store_build,
	    NULL, &first, &last), 0);
	CHECK_INT(last, 5);

	memset(&rc, 0, sizeof rc);
	memcpy(rc.channel, chan, 32);
	rc.receiver = 1;
	rc.seq = 3;
	memset(rc.id, 0x42, 32);			/* not our header */
	CHECK_INT(store_receipt_put(s, &rc, now, &newly), ERR_CHAIN);
	CHECK_INT(store_get_local(s, qid - 3, &m), 0);	/* seq 3 */
	CHECK_INT(m.seq, 3);
	memcpy(rc.id, m.id, 32);
	store_msg_fini(&m);
	rc.time_ms = now;
	memset(rc.sig, 0x51, 64);
	CHECK_INT(store_receipt_put(s, &rc, now, &newly), 0);
	CHECK_INT(newly, 3);
	CHECK_INT(store_receipt_put(s, &rc, now, &newly), 0);	/* again */
	CHECK_INT(newly, 0);
	CHECK_INT(store_get_local(s, qid - 3, &m), 0);
	CHECK_INT(m.state, STORE_RECEIPTED);
	CHECK(m.receipted_ms != 0);
	store_msg_fini(&m);
	CHECK_INT(store_get_local(s, qid - 2, &m), 0);
	CHECK_INT(m.state, STORE_SENT);
	store_msg_fini(&m);
	CHECK_INT(store_get_local(s, qid, &m), 0);
	CHECK_INT(m.state, STORE_QUEUED);
	CHECK_INT(m.seq, 0);
	CHECK_INT(m.header_len, 0);
	store_msg_fini(&m);

	CHECK_INT(store_receipt_latest(s, chan, 1, &got), 0);
	CHECK_INT(got.seq, 3);
	CHECK_MEM(got.sig, rc.sig, 64);
	CHECK_INT(store_receipt_latest(s, chan, 0, &got), ERR_NOT_FOUND);

	rc.seq = 9;					/* past what we sent */
	CHECK_INT(store_receipt_put(s, &rc, now, &newly), ERR_NOT_FOUND);
	rc.seq = 0;					/* holds nothing */
	memset(rc.id, 0, 32);
	CHECK_INT(store_receipt_put(s, &rc, now, &newly), 0);
	CHECK_INT(newly, 0);

	/* A later receipt: seq 4 and 5 take its time, seq 3 keeps the time
	 * of the first receipt that covered it (read from the receipts,
	 * not written into the rows). */
	CHECK_INT(store_get_local(s, qid - 1, &m), 0);	/* seq 5 */
	rc.seq = 5;
	memcpy(rc.id, m.id, 32);
	store_msg_fini(&m);
	CHECK_INT(store_receipt_put(s, &rc, now + 1000, &newly), 0);
	CHECK_INT(newly, 2);
	for (int64_t q = qid - 3; q < qid; q++) {
		CHECK_INT(store_get_local(s, q, &m), 0);
		CHECK_INT(m.state, STORE_RECEIPTED);
		CHECK_INT(m.receipted_ms, m.seq == 3 ? now : now + 1000);
		store_msg_fini(&m);
	}
	CHECK_INT(store_get_local(s, qid, &m), 0);
	CHECK_INT(m.state, STORE_QUEUED);
	CHECK_INT(m.receipted_ms, 0);
	store_msg_fini(&m);
	store_close(s);
}

struct newest {
	int64_t qid[8];
	size_t n;
};

static int
newest_one(void *arg, struct store_msg *m)
{
	struct newest *w = arg;

	if (w->n < 8)
		w->qid[w->n++] = m->qid;
	return 0;
}

static void
test_listing_and_get(void)
{
	struct store *s = open_name("list.db");
	struct pmsg *pm = peer_run(5, 20);
	struct newest w;
	struct store_msg m;
	struct collect c;
	size_t added;
	uint8_t nope[32];

	CHECK_INT(put_run(s, pm, 0, 5, &added), 0);
	memset(&w, 0, sizeof w);
	CHECK_INT(store_list(s, chan, STORE_IN, 3, newest_one, &w), 0);
	CHECK_INT(w.n, 3);
	/* newest first */
	CHECK(w.qid[0] > w.qid[1] && w.qid[1] > w.qid[2]);
	memset(&c, 0, sizeof c);
	CHECK_INT(store_after(s, chan, 1, 3, 10, collect_one, &c), 0);
	CHECK_INT(c.n, 2);
	CHECK_INT(c.seq[0], 4);
	CHECK_INT(c.seq[1], 5);
	CHECK_INT(store_get_at(s, chan, 1, 3, &m), 0);
	CHECK_MEM(m.id, pm[2].id, 32);
	CHECK_INT(m.seq, 3);
	CHECK_INT(m.dir, STORE_IN);
	CHECK_INT(m.state, STORE_RECEIVED);
	CHECK_INT(m.precedence, ENVELOPE_IMMEDIATE);
	CHECK_INT(m.marking, ENVELOPE_RELEASABLE);
	CHECK_INT(m.time_ms, pm[2].h.time_ms);
	CHECK_MEM(m.body, pm[2].body, 20);
	store_msg_fini(&m);
	CHECK_INT(store_get_at(s, chan, 1, 6, &m), ERR_NOT_FOUND);
	CHECK_INT(store_get_at(s, chan, 0, 3, &m), ERR_NOT_FOUND);
	memset(nope, 0x99, 32);
	CHECK_INT(store_get_at(s, nope, 1, 3, &m), ERR_NOT_FOUND);
	CHECK_INT(store_get_local(s, 999999, &m), ERR_NOT_FOUND);
	peer_free(pm, 5);
	store_close(s);
}

int
main(void)
{
	if (!store_files_begin("/tmp/parley-store-XXXXXX"))
		return 1;
	memset(chan2, 0xc2, sizeof chan2);
	RUN(test_flash_overtakes_routine);
	RUN(test_flash_overtakes_a_thousand);
	RUN(test_queue_assigned);
	RUN(test_queue_checks_and_heads);
	RUN(test_peer_last_and_direction);
	RUN(test_received_batches);
	RUN(test_receipts);
	RUN(test_listing_and_get);
	return store_files_end();
}
