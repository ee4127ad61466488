/*
 * test_delivery_recover.c: recovery of our own chain after a restore
 * (msg/recover.h) between two delivery engines wired through memory
 * (delivery_harness.h): asking with a full output, checkpoints, the answer
 * checked record by record, an answer resumed after a full output, a slow
 * link, a batch stored whole, watching the peer's receipts, and the
 * stall watch (repeats, unsigned records, a slow run, an outage).
 */
#include "delivery_harness.h"

/* How many lines containing s were written since mark. */
static int
log_count_since(long mark, const char *s)
{
	char line[2048];
	int n = 0;
	FILE *f;

	fflush(stderr);
	if ((f = fopen(logpath, "r")) == NULL)
		return -1;
	if (fseek(f, mark, SEEK_SET) == 0)
		while (fgets(line, sizeof line, f))
			n += strstr(line, s) != NULL;
	fclose(f);
	return n;
}

/*
 * A RECOVER answered when the session's output is full reads a message
 * (up to 1 MiB) only to fail at its send: after such an answer the next
 * RECOVERs only move where the answer goes on from, and it goes on from
 * the tick, so 1000 RECOVERs from a peer that does not read cost one
 * read, not 1000 (one line in the log, not 1000); once the output
 * drains, the tick sends the answer.
 */
static void
test_recover_ask_output_full(void)
{
	uint8_t *body = malloc(ENVELOPE_BODY_MAX), ask[64];
	size_t an, own = 0;
	int64_t qid;
	long mark;

	engines_start();
	for (size_t i = 0; i < ENVELOPE_BODY_MAX; i++)
		body[i] = (uint8_t)('a' + i % 26);
	for (int k = 0; k < 2; k++)
		CHECK(delivery_queue(na.d, 0, ENVELOPE_ROUTINE, ENVELOPE_PRIVATE,
		    ENVELOPE_TEXT, body, ENVELOPE_BODY_MAX, &qid) == 0);
	connect_both(true);
	run(1000000);
	pipe_clear(&pba);
	CHECK_INT(recover_ask_encode(0, 2, ask, sizeof ask, &an), 0);
	full_path_s = 0;
	mark = log_mark();
	for (int k = 0; k < 1000; k++)
		delivery_record(nb.d, chan, 0, RECOVER_REC_ASK, ask, an);
	CHECK_INT(log_count_since(mark, "RECOVER of north"), 1);
	CHECK(log_since(mark, "our answer to the RECOVER of north waits at "
	    "seq 1: the session's output is full"));
	full_path_s = -1;
	delivery_record(nb.d, chan, 0, RECOVER_REC_ASK, ask, an);
	CHECK_INT((int)(pba.tail - pba.head), 0);	/* for the tick */
	delivery_tick(nb.d);
	for (size_t i = pba.head; i < pba.tail; i++)
		own += pba.q[i % QCAP].type == RECOVER_REC_OWN;
	CHECK(own > 0);
	free(body);
	engines_stop(false);
}

static int
count_cp(void *arg, const uint8_t *cp, size_t n)
{
	(void)cp;
	(void)n;
	++*(size_t *)arg;
	return 0;
}

/*
 * The co-signed checkpoints given back at a RECOVER (checkpoint_set_resend,
 * docs/delivery.md "Recovery" 7): those covering the asker's chain from
 * the ask's from seq on, at most CHECKPOINT_RESEND_MAX. A RECOVER, which
 * a peer may send as often as it likes, costs a read of those, not a
 * decoding of every checkpoint the store holds (20,300 here: 111 ms a
 * RECOVER when each was decoded, 0.1 to 0.5 ms now; printed, not
 * asserted). What is asserted: a damaged checkpoint far below the ask's
 * from seq is never read (each was decoded before: the first damaged one
 * stopped the walk, and nothing went back).
 */
static void
test_recover_ask_checkpoints(void)
{
	struct delivery_io io = { io_send, io_drop, io_wake, io_now, NULL,
	    NULL, NULL, io_alarm, io_note, io_queued };
	struct transcript_checkpoint cp;
	struct checkpoint_set *cs = NULL;
	struct agreement ag;
	uint8_t b[TRANSCRIPT_CHECKPOINT_MAX], ask[64];
	size_t n, an, sent = 0;
	uint64_t first = 0;
	double t0, took;
	bool added;

	engines_start();
	connect_both(true);
	run(1000);
	memset(&ag, 0, sizeof ag);
	memcpy(ag.id, chan, 32);
	memcpy(ag.party[0].sign_pub, na.k.id.sign_pub, KEYS_PUB_LEN);
	memcpy(ag.party[1].sign_pub, nb.k.id.sign_pub, KEYS_PUB_LEN);
	io.ctx = &nb;
	CHECK_INT(checkpoint_set_new(nb.d, &nb.k, &ag, 1, &io, 0, 0, &cs), 0);
	CHECK_INT(store_txn_begin(nb.s), 0);
	for (uint64_t k = 1; k <= 20300; k++) {
		memset(&cp, 0, sizeof cp);
		memcpy(cp.channel, chan, 32);
		cp.seq[0] = cp.seq[1] = k;
		memset(cp.id[0], 0x11, 32);
		memset(cp.id[1], 0x22, 32);
		cp.time_ms = clock_ms;
		transcript_checkpoint_fill(&cp);
		CHECK_INT(transcript_checkpoint_encode(&cp, b, sizeof b, &n), 0);
		if (k == 5)	/* damaged: decodes as nothing */
			memset(b, 0xff, n);
		CHECK_INT(store_checkpoint_put(nb.s, chan, k, k, clock_ms, b, n,
		    clock_ms, &added), 0);
	}
	CHECK_INT(store_txn_commit(nb.s), 0);
	pipe_clear(&pba);
	/* north asks from its seq 30000: nothing to give back */
	CHECK_INT(recover_ask_encode(30000, 30001, ask, sizeof ask, &an), 0);
	t0 = mono_ms();
	checkpoint_set_resend(cs, chan, 0, ask, an);
	took = mono_ms() - t0;
	printf("  a RECOVER past 20300 checkpoints: %.2f ms\n", took);
	CHECK_INT((int)(pba.tail - pba.head), 0);
	/* from 20000: the 256 from there on, in seq order */
	CHECK_INT(recover_ask_encode(20000, 20300, ask, sizeof ask, &an), 0);
	checkpoint_set_resend(cs, chan, 0, ask, an);
	while (pba.head < pba.tail) {
		struct rec *r = &pba.q[pba.head++ % QCAP];
		struct checkpoint_rec *c = malloc(sizeof *c);
		if (c != NULL && r->type == CHECKPOINT_REC &&
		    checkpoint_rec_decode(c, r->b, r->n) == 0) {
			if (sent++ == 0)
				first = c->cp.seq[0];
		}
		free(c);
		free(r->b);
	}
	CHECK_INT(sent, CHECKPOINT_RESEND_MAX);
	CHECK_INT(first, 20000);
	/* party 1's seqs, as when north answers south's RECOVER */
	sent = 0;
	CHECK_INT(store_checkpoints_from(nb.s, chan, 1, 20299, 5, count_cp,
	    &sent), 0);
	CHECK_INT(sent, 2);
	checkpoint_set_free(cs);
	engines_stop(false);
}

/* --- recovery of our own chain after a restore (msg/recover.h) ------- */

struct own_copy {
	uint8_t hdr[5][ENVELOPE_HEADER_MAX];
	size_t hlen[5];
	char body[5][64];
	size_t blen[5];
	size_t n;
};

static int
own_take(void *arg, struct store_msg *m)
{
	struct own_copy *o = arg;

	if (o->n >= 5 || m->body_len >= sizeof o->body[0])
		return 0;
	memcpy(o->hdr[o->n], m->header, m->header_len);
	o->hlen[o->n] = m->header_len;
	memcpy(o->body[o->n], m->body, m->body_len);
	o->blen[o->n] = m->body_len;
	o->n++;
	return 0;
}

/* Hands na's engine the records nb sent (nb's SYNC), not the other way. */
static void
deliver_to_na(void)
{
	while (pba.head < pba.tail) {
		struct rec r = pba.q[pba.head++ % QCAP];
		delivery_record(na.d, chan, 0, r.type, r.b, r.n);
		free(r.b);
	}
}

/* Feeds na an answer: na's five messages (body i replaced by bad_body
 * when not NULL) and a head over the fifth signed by key. */
static void
fake_answer(const struct own_copy *o, int bad_i, const char *bad_body,
    const struct keys *key)
{
	uint8_t rec[1024];
	struct chain_head h;
	size_t n;

	for (size_t i = 0; i < o->n; i++) {
		const char *b = (int)i == bad_i ? bad_body : o->body[i];
		size_t bl = (int)i == bad_i ? strlen(bad_body) : o->blen[i];
		CHECK_INT(recover_own_encode(o->hdr[i], o->hlen[i], 0,
		    (const uint8_t *)b, bl, rec, sizeof rec, &n), 0);
		delivery_record(na.d, chan, 0, RECOVER_REC_OWN, rec, n);
	}
	memset(&h, 0, sizeof h);
	memcpy(h.channel, chan, 32);
	h.sender = 0;
	h.seq = o->n;
	envelope_header_id(o->hdr[o->n - 1], o->hlen[o->n - 1], h.id);
	CHECK_INT(chain_head_sign(&h, key), 0);
	CHECK_INT(chain_head_encode(&h, rec, sizeof rec, &n), 0);
	delivery_record(na.d, chan, 0, RECOVER_REC_HEAD, rec, n);
}

/*
 * north sends 5 and one of 150,000 bytes, then loses its store (restored
 * from an empty backup) with one message queued: south's SYNC makes it
 * ask for its chain back;
 * an answer whose head is signed by another key, or with an altered body,
 * is refused and named, nothing stored; the real answer is taken (the
 * large body in parts), and the queued message follows as seq 7, once.
 */
static void
test_recover(void)
{
	struct own_copy o;
	struct seen sn;
	struct store_msg m;

	uint8_t *big = malloc(150000);
	int64_t qid;

	engines_start();
	connect_both(true);
	queue_n(&na, 5, ENVELOPE_ROUTINE, "north before");
	run(100000);
	/* and a large one (seq 6: three parts when it comes back) */
	for (size_t i = 0; i < 150000; i++)
		big[i] = (uint8_t)('a' + i % 26);
	CHECK_INT(delivery_queue(na.d, 0, ENVELOPE_ROUTINE, ENVELOPE_PRIVATE,
	    ENVELOPE_TEXT, big, 150000, &qid), 0);
	run(100000);
	CHECK_INT(received(&nb, 0, &sn), 6);
	memset(&o, 0, sizeof o);
	CHECK_INT(store_after(nb.s, chan, 0, 0, 5, own_take, &o), 0);
	CHECK_INT(o.n, 5);
	/* north comes back with an empty store and one message queued */
	engines_stop(true);
	store_close(na.s);
	na.s = NULL;
	engines_start();
	queue_n(&na, 1, ENVELOPE_ROUTINE, "north queued");
	na.connected = nb.connected = true;
	delivery_path_change(nb.d, chan, 0, true);
	delivery_path_change(na.d, chan, 0, true);
	pipe_clear(&pab);		/* north's SYNC and RECOVER: not yet */
	deliver_to_na();		/* south's SYNC: receipt of seq 5 */
	CHECK(log_has("south holds our chain up to seq 6, this store up to"
	    " 0: asking for ours back"));
	CHECK(pab.tail > pab.head && pab.q[(pab.tail - 1) % QCAP].type ==
	    RECOVER_REC_ASK);
	/* a head signed by south, not by us: refused, nothing stored */
	fake_answer(&o, -1, NULL, &nb.k);
	CHECK(log_has("refused recovered head seq 5 from south: bad "
	    "signature"));
	CHECK_INT(own_held(), 0);
	/* a body altered under our real head: refused, nothing stored */
	fake_answer(&o, 2, "north before 9", &na.k);	/* same length */
	CHECK(log_has("refused recovered message seq 3 from south: body "
	    "does not match its header"));
	CHECK_INT(own_held(), 0);
	fake_answer(&o, 1, "north", &na.k);		/* shorter */
	CHECK(log_has("refused recovered message seq 2 from south: body "
	    "does not match its header"));
	CHECK_INT(own_held(), 0);
	/* nothing was assigned meanwhile: the queued one is still queued */
	{
		size_t q = 0;
		CHECK_INT(store_queued_count(na.s, chan, &q), 0);
		CHECK_INT(q, 1);
	}
	/* status tells why; a minute without anything taken back is an
	 * alarm, raised once, with south's signed claim as evidence */
	{
		struct delivery_stats st;
		uint64_t alarms = na.alarms;

		CHECK_INT(delivery_stats(na.d, 0, &st), 0);
		CHECK_INT(st.recovering_to, 6);
		CHECK_INT(st.assigned, 0);
		clock_ms += DELIVERY_RECOVER_STALL_MS / 2;
		delivery_tick(na.d);
		CHECK_INT(na.alarms, alarms);
		clock_ms += DELIVERY_RECOVER_STALL_MS / 2;
		delivery_tick(na.d);
		CHECK_INT(na.alarms, alarms + 1);
		CHECK_CONTAINS(na.alarm, "recovery-stalled: south says (its "
		    "signed receipt) that it holds this node's chain up to seq "
		    "6, but this store holds it up to seq 0");
		CHECK_CONTAINS(na.alarm, "the signed record: ");
		clock_ms += 3 * DELIVERY_RECOVER_STALL_MS;
		delivery_tick(na.d);
		CHECK_INT(na.alarms, alarms + 1);	/* once */
		pipe_clear(&pab);
	}
	/* the real answer over a new session */
	connect_both(false);
	connect_both(true);
	run(1000000);
	CHECK(log_has("our chain is whole again (seq 6)"));
	CHECK_INT(own_held(), 7);
	{
		struct delivery_stats st;
		CHECK_INT(delivery_stats(na.d, 0, &st), 0);
		CHECK_INT(st.recovering_to, 0);
	}
	CHECK_INT(received(&nb, 0, &sn), 7);
	CHECK_INT(sn.bad, 0);
	/* the queued one (row 1 of the new store) took seq 7 */
	memset(&m, 0, sizeof m);
	CHECK_INT(store_get_local(na.s, 1, &m), 0);
	CHECK_INT(m.seq, 7);
	CHECK(m.body_len == strlen("north queued 0") &&
	    memcmp(m.body, "north queued 0", m.body_len) == 0);
	store_msg_fini(&m);
	/* and the recovered ones are receipted, with their bodies */
	CHECK_INT(store_get_local(na.s, 2, &m), 0);
	CHECK_INT(m.seq, 1);
	CHECK_INT(m.state, STORE_RECEIPTED);
	CHECK(m.body_len == o.blen[0] && memcmp(m.body, o.body[0],
	    m.body_len) == 0);
	store_msg_fini(&m);
	CHECK_INT(store_get_local(na.s, 7, &m), 0);
	CHECK_INT(m.seq, 6);
	CHECK(m.body_len == 150000 && memcmp(m.body, big, 150000) == 0);
	store_msg_fini(&m);
	free(big);
	engines_stop(false);
}

static int slow_bodies;			/* bodies as north sent them */

static int
slow_body_ok(void *arg, struct store_msg *m)
{
	uint8_t want = (uint8_t)('a' + m->seq - 1);

	(void)arg;
	if (m->body_len == ENVELOPE_BODY_MAX && m->body[0] == want &&
	    m->body[ENVELOPE_BODY_MAX - 1] == want)
		slow_bodies++;
	return 0;
}

/* A recording send for recover_answer_step: fails (ERR_FULL) at call
 * number fail_at (1-based; 0: never), keeps what went. */
struct ans_log {
	int calls, fail_at, n;
	uint8_t type[64];
	uint8_t hash[64][32];
};

static int
ans_send(void *arg, uint8_t type, const uint8_t *b, size_t n)
{
	struct ans_log *l = arg;

	if (++l->calls == l->fail_at)
		return ERR_FULL;
	if (l->n >= 64)
		return ERR_TOO_BIG;
	l->type[l->n] = type;
	crypto_generichash(l->hash[l->n], 32, b, n, NULL, 0);
	l->n++;
	return 0;
}

/*
 * An answer stopped by a full output at any of its records (a part of a
 * body, a whole message, a head) goes on from there: what went, in the
 * end, is the uncut answer record for record, nothing twice, nothing
 * missing.
 */
static void
test_recover_answer_resumes(void)
{
	struct recover_answer ra;
	struct ans_log ref, l;
	uint8_t *big = malloc(150000), ask[64];
	size_t an;
	int64_t qid;

	engines_start();
	connect_both(true);
	queue_n(&na, 2, ENVELOPE_ROUTINE, "north before");
	run(100000);
	memset(big, 'b', 150000);	/* three parts */
	CHECK_INT(delivery_queue(na.d, 0, ENVELOPE_ROUTINE, ENVELOPE_PRIVATE,
	    ENVELOPE_TEXT, big, 150000, &qid), 0);
	run(100000);
	queue_n(&na, 2, ENVELOPE_ROUTINE, "north after");
	run(100000);
	CHECK_INT(recover_ask_encode(0, 5, ask, sizeof ask, &an), 0);
	memset(&ref, 0, sizeof ref);
	CHECK_INT(recover_answer_start(nb.s, chan, 0, ask, an, &ra), 0);
	CHECK_INT(recover_answer_step(nb.s, chan, 0, &ra, ans_send, &ref), 0);
	CHECK_INT((int)ra.next, 0);
	CHECK(ref.n >= 5 + 2 + 3);	/* 7 OWN, at least 3 heads */
	for (int cut = 1; cut <= ref.n; cut++) {
		memset(&l, 0, sizeof l);
		l.fail_at = cut;
		CHECK_INT(recover_answer_start(nb.s, chan, 0, ask, an, &ra), 0);
		CHECK_INT(recover_answer_step(nb.s, chan, 0, &ra, ans_send, &l),
		    ERR_FULL);
		CHECK(ra.next != 0);
		CHECK_INT(l.n, cut - 1);
		CHECK_INT(recover_answer_step(nb.s, chan, 0, &ra, ans_send, &l),
		    0);
		CHECK_INT(l.n, ref.n);
		CHECK(memcmp(l.type, ref.type, (size_t)ref.n) == 0 &&
		    memcmp(l.hash, ref.hash, (size_t)ref.n * 32) == 0);
	}
	free(big);
	engines_stop(false);
}

/* sign_head of delivery_send.c, with north's key. */
static int
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

/*
 * A slow link: south's output holds at most 4 MiB until north reads it
 * (the link's out_max, the kernel's buffer not draining during the
 * answer). North's store holds six messages of 1 MiB under one head (a
 * run past what one answer can queue: what the engine assigned at once
 * before DELIVERY_BATCH_BYTES, and what a peer's may), which south
 * received; then north was restored from an empty backup. South's answer
 * stops at the full output and goes on from where it stopped as the
 * output drains (the tick), each body sent once: north takes its six
 * back and is whole again. (Before, each answer stopped before the run's
 * head and nothing was ever stored.)
 */
static void
test_recover_slow_link(void)
{
	struct store_head sh;
	struct seen sn;
	uint8_t *body = malloc(ENVELOPE_BODY_MAX);
	uint64_t first, last;
	int64_t qid;
	long mark;
	int k;

	engines_start();
	for (k = 0; k < 6; k++) {
		memset(body, 'a' + k, ENVELOPE_BODY_MAX);
		CHECK_INT(delivery_queue(na.d, 0, ENVELOPE_ROUTINE,
		    ENVELOPE_PRIVATE, ENVELOPE_TEXT, body, ENVELOPE_BODY_MAX,
		    &qid), 0);
	}
	CHECK_INT(store_assign_signed(na.s, chan, 0, 6, 0, clock_ms,
	    chain_store_build, NULL, north_signs, NULL, &first, &last, NULL,
	    NULL), 0);
	CHECK_INT((int)last, 6);
	engines_stop(true);		/* north's engine reads it back */
	engines_start();
	connect_both(true);
	run(1000000);
	CHECK_INT(received(&nb, 0, &sn), 6);
	CHECK_INT(store_head_covering(nb.s, chan, 0, 1, &sh), 0);
	/* one run of 4 MiB or more: the pump signs a head at the last it
	 * sends, or after DELIVERY_RUN_BYTES (4 MiB) unsigned */
	CHECK(sh.seq >= 4);
	/* north comes back with an empty store, over the slow link */
	engines_stop(true);
	store_close(na.s);
	na.s = NULL;
	engines_start();
	wire_cap = 4u << 20;
	pba.own_bytes = 0;
	mark = log_mark();
	connect_both(true);
	run(1000000);
	for (k = 0; k < 600 && !log_since(mark, "our chain is whole again");
	    k++)
		ticks(1);			/* up to a minute */
	wire_cap = 0;
	printf("  a run of 6 MiB back over a 4 MiB output: %d ticks, %d "
	    "waits\n", k, log_count_since(mark, "output is full"));
	CHECK(log_count_since(mark, "output is full") >= 1);
	CHECK(log_since(mark, "our chain is whole again (seq 6)"));
	CHECK_INT(own_held(), 6);
	/* each body went once (parts, headers and CBOR around them) */
	CHECK(pba.own_bytes < 6 * (ENVELOPE_BODY_MAX + 20 * 600));
	slow_bodies = 0;
	CHECK_INT(store_after(na.s, chan, 0, 0, 6, slow_body_ok, NULL), 0);
	CHECK_INT(slow_bodies, 6);
	free(body);
	engines_stop(false);
}

/*
 * An answer covers its whole batch (up to RECOVER_BATCH messages, ending
 * at a head) however many bytes that is: it is paced by the output
 * (test_recover_slow_link), so it need not stop early. North sent ten
 * messages of 1 MiB, each its own group (ten heads), and comes back with
 * an empty store: one RECOVER brings all ten back at once, with no tick
 * in between. (Before, the answer stopped at the first head past 4 MiB,
 * and the rest waited for an ask after RECOVER_RETRY_MS, about 2 s per
 * 4 MiB.)
 */
static void
test_recover_batch_whole(void)
{
	struct answers a;
	uint8_t *body = malloc(ENVELOPE_BODY_MAX);
	long mark;

	engines_start();
	connect_both(true);
	run(1000000);
	memset(&a, 0, sizeof a);
	for (int k = 0; k < 10; k++) {
		memset(body, 'a' + k, ENVELOPE_BODY_MAX);
		CHECK_INT(delivery_submit(na.d, 0, ENVELOPE_ROUTINE,
		    ENVELOPE_PRIVATE, ENVELOPE_TEXT, body, ENVELOPE_BODY_MAX,
		    false, NULL, answer, &a), 0);
		delivery_pump(na.d);
		run(1000000);
	}
	CHECK_INT(a.n, 10);
	engines_stop(true);
	store_close(na.s);
	na.s = NULL;
	engines_start();
	mark = log_mark();
	connect_both(true);
	run(1000000);			/* no tick: no second ask */
	CHECK(log_since(mark, "our chain is whole again (seq 10)"));
	CHECK_INT(own_held(), 10);
	free(body);
	engines_stop(false);
}

/*
 * South's RECEIPT claims north's chain up to seq 1000 while north holds 3
 * (a false claim, or north restored from a backup): north is no longer
 * synced and assigns nothing new (its chain cannot fork). The stall watch
 * holds still while no path is up (five minutes: nothing), then raises
 * recovery-stalled once after a minute with a path up, with the claim's
 * signed bytes as evidence. A SYNC signed before the claim (come late)
 * does not end it; one signed after it, within north's store, does: the
 * queued message then takes seq 4.
 */
static void
test_recover_watch(void)
{
	struct delivery_stats st;
	uint8_t b[CHAIN_RECEIPT_MAX + 64];
	char hex[2 * sizeof b + 1];
	uint64_t claim_ms, alarms;
	size_t n;

	engines_start();
	connect_both(true);
	queue_n(&na, 3, ENVELOPE_ROUTINE, "north before");
	run(100000);
	CHECK_INT(delivery_stats(na.d, 0, &st), 0);
	CHECK(st.synced && st.assigned == 3 && st.receipted == 3);
	connect_both(false);		/* the engines' links go quiet */
	claim_ms = clock_ms;
	n = south_receipt(1000, claim_ms, false, b, sizeof b);
	hex_encode(hex, b, n);
	delivery_path_change(na.d, chan, 0, true);
	fake_run(&na, 0);
	delivery_record(na.d, chan, 0, DELIVERY_REC_RECEIPT, b, n);
	CHECK_INT(delivery_stats(na.d, 0, &st), 0);
	CHECK(!st.synced);
	CHECK_INT(st.recovering_to, 1000);
	queue_n(&na, 1, ENVELOPE_ROUTINE, "north held");
	delivery_pump(na.d);
	CHECK_INT(delivery_stats(na.d, 0, &st), 0);
	CHECK_INT(st.assigned, 3);
	CHECK_INT(st.queued, 1);
	/* no path: the watch holds still */
	alarms = na.alarms;
	delivery_path_change(na.d, chan, 0, false);
	for (int i = 0; i < 5; i++) {
		clock_ms += DELIVERY_RECOVER_STALL_MS;
		delivery_tick(na.d);
	}
	CHECK_INT(na.alarms, alarms);
	/* a path up, nothing comes back for a minute: raised once */
	delivery_path_change(na.d, chan, 0, true);
	fake_run(&na, 0);
	delivery_tick(na.d);
	clock_ms += DELIVERY_RECOVER_STALL_MS - 1;
	delivery_tick(na.d);
	CHECK_INT(na.alarms, alarms);
	clock_ms += 1;
	delivery_tick(na.d);
	CHECK_INT(na.alarms, alarms + 1);
	CHECK_CONTAINS(na.alarm, "recovery-stalled: south says (its signed "
	    "receipt) that it holds this node's chain up to seq 1000, but "
	    "this store holds it up to seq 3");
	CHECK_CONTAINS(na.alarm, hex);
	clock_ms += 2 * DELIVERY_RECOVER_STALL_MS;
	delivery_tick(na.d);
	CHECK_INT(na.alarms, alarms + 1);
	/* a SYNC signed before the claim: not its current word */
	n = south_receipt(3, claim_ms - 1, true, b, sizeof b);
	delivery_record(na.d, chan, 0, DELIVERY_REC_SYNC, b, n);
	CHECK_INT(delivery_stats(na.d, 0, &st), 0);
	CHECK(!st.synced && st.recovering_to == 1000);
	/* one signed after it, within our store: the recovery ends, an
	 * ALARM with both of south's receipts (seqs 4 to 1000 get new
	 * messages: south may hold two of our heads there) */
	n = south_receipt(3, clock_ms, true, b, sizeof b);
	delivery_record(na.d, chan, 0, DELIVERY_REC_SYNC, b, n);
	CHECK(log_has("south now holds our chain up to seq 3, no further "
	    "than this store: no longer taking it back"));
	CHECK_INT(na.alarms, alarms + 2);
	CHECK_CONTAINS(na.alarm, "recovery-abandoned: south signed that it "
	    "holds this node's chain up to seq 1000, later up to seq 3 only: "
	    "the recovery ends and seqs 4 to 1000 get new messages");
	CHECK_CONTAINS(na.alarm, hex);	/* the claim */
	/* the later receipt (the same bytes: Ed25519 is deterministic) */
	n = south_receipt(3, clock_ms, false, b, sizeof b);
	hex_encode(hex, b, n);
	CHECK_CONTAINS(na.alarm, hex);
	delivery_pump(na.d);
	CHECK_INT(delivery_stats(na.d, 0, &st), 0);
	CHECK(st.synced);
	CHECK_INT(st.recovering_to, 0);
	CHECK_INT(st.assigned, 4);
	CHECK_INT(st.queued, 0);
	engines_stop(false);
}

/*
 * As test_recover_watch, but south answers the ask with nothing but the
 * same record again and again: north's own seq 2, which north holds, every
 * 20 s. A repeat is not the answer coming: recovery-stalled is raised a
 * minute after the ask all the same (before, each repeat held the watch
 * off, for as long as south liked).
 */
static void
test_recover_watch_repeats(void)
{
	struct delivery_stats st;
	struct store_msg m;
	uint8_t b[CHAIN_RECEIPT_MAX + 64], own[4096];
	uint64_t alarms;
	size_t n, on;

	engines_start();
	connect_both(true);
	queue_n(&na, 3, ENVELOPE_ROUTINE, "north before");
	run(100000);
	CHECK_INT(delivery_stats(na.d, 0, &st), 0);
	CHECK(st.synced && st.assigned == 3 && st.receipted == 3);
	CHECK_INT(store_get_at(na.s, chan, 0, 2, &m), 0);
	CHECK_INT(recover_own_encode(m.header, m.header_len, 0, m.body,
	    m.body_len, own, sizeof own, &on), 0);
	store_msg_fini(&m);
	connect_both(false);
	n = south_receipt(1000, clock_ms, false, b, sizeof b);
	delivery_path_change(na.d, chan, 0, true);
	fake_run(&na, 0);
	delivery_record(na.d, chan, 0, DELIVERY_REC_RECEIPT, b, n);
	CHECK_INT(delivery_stats(na.d, 0, &st), 0);
	CHECK_INT(st.recovering_to, 1000);
	alarms = na.alarms;
	for (int k = 0; k < 4; k++) {		/* 80 s */
		clock_ms += 20000;
		delivery_record(na.d, chan, 0, RECOVER_REC_OWN, own, on);
		delivery_tick(na.d);
	}
	CHECK_INT(na.alarms, alarms + 1);
	CHECK_CONTAINS(na.alarm, "recovery-stalled: south says (its signed "
	    "receipt) that it holds this node's chain up to seq 1000");
	CHECK_INT(delivery_stats(na.d, 0, &st), 0);
	CHECK_INT(st.assigned, 3);
	engines_stop(false);
}

/* An OWN record in rec (its length) of a message of north's chain that
 * north never signed: like's fields at seq, linked to prev, with body;
 * prev becomes its id (the next one links to it). */
static size_t
forged_own(const struct envelope_header *like, uint64_t seq,
    uint8_t prev[ENVELOPE_ID_LEN], const char *body, uint8_t *rec, size_t cap)
{
	struct envelope_header h = *like;
	uint8_t hdr[ENVELOPE_HEADER_MAX];
	size_t hl = 0, n = 0;

	h.seq = seq;
	memcpy(h.prev, prev, ENVELOPE_ID_LEN);
	h.body_len = (uint32_t)strlen(body);
	envelope_body_hash((const uint8_t *)body, h.body_len, h.body_hash);
	CHECK_INT(envelope_header_encode(&h, hdr, sizeof hdr, &hl), 0);
	envelope_header_id(hdr, hl, prev);
	CHECK_INT(recover_own_encode(hdr, hl, 0, (const uint8_t *)body,
	    h.body_len, rec, cap, &n), 0);
	return n;
}

/*
 * As test_recover_watch_repeats, but south answers the ask (its claim:
 * seq 1000, north holds 3) with a new message every 50 s that links to
 * north's chain (seq 4, 5, ...) and never the head signed by north that
 * would let them be stored. Each takes the recovery further (held, not
 * stored), but their run's time is bounded by DELIVERY_RECOVER_STALL_MS
 * plus its bytes (about 170 each) at DELIVERY_RECOVER_RATE_MIN: the
 * second, 50 s after the first, still counts, the third does not, and
 * recovery-stalled is raised a minute after the second (160 s after the
 * ask), naming what came. Before, each held the alarm off another minute,
 * up to the run's cap of 256: four hours; none in these five minutes.
 */
static void
test_recover_watch_unsigned(void)
{
	struct delivery_stats st;
	struct envelope_header like;
	struct store_msg m;
	uint8_t b[CHAIN_RECEIPT_MAX + 64], rec[1024], prev[ENVELOPE_ID_LEN];
	char body[32];
	uint64_t alarms, t0, raised = 0;
	size_t n;
	long mark;

	engines_start();
	connect_both(true);
	queue_n(&na, 3, ENVELOPE_ROUTINE, "north before");
	run(100000);
	CHECK_INT(delivery_stats(na.d, 0, &st), 0);
	CHECK(st.synced && st.assigned == 3 && st.receipted == 3);
	CHECK_INT(store_get_at(na.s, chan, 0, 3, &m), 0);
	CHECK_INT(envelope_header_decode(&like, m.header, m.header_len), 0);
	envelope_header_id(m.header, m.header_len, prev);
	store_msg_fini(&m);
	connect_both(false);
	n = south_receipt(1000, clock_ms, false, b, sizeof b);
	delivery_path_change(na.d, chan, 0, true);
	fake_run(&na, 0);
	delivery_record(na.d, chan, 0, DELIVERY_REC_RECEIPT, b, n);
	CHECK_INT(delivery_stats(na.d, 0, &st), 0);
	CHECK_INT(st.recovering_to, 1000);
	alarms = na.alarms;
	mark = log_mark();
	t0 = clock_ms;
	for (uint64_t s = 10; s <= 300; s += 10) {	/* five minutes */
		clock_ms = t0 + s * 1000;
		if (s % 50 == 0) {
			snprintf(body, sizeof body, "forged %llu",
			    (unsigned long long)s / 50);
			n = forged_own(&like, 3 + s / 50, prev, body, rec,
			    sizeof rec);
			delivery_record(na.d, chan, 0, RECOVER_REC_OWN, rec, n);
		}
		delivery_tick(na.d);
		if (raised == 0 && na.alarms != alarms)
			raised = s;
	}
	printf("  a forged message every 50 s: recovery-stalled at %llu s\n",
	    (unsigned long long)raised);
	CHECK(!log_since(mark, "refused recovered"));	/* all held */
	CHECK_INT(na.alarms, alarms + 1);
	CHECK_CONTAINS(na.alarm, "recovery-stalled: south says (its signed "
	    "receipt) that it holds this node's chain up to seq 1000, but "
	    "this store holds it up to seq 3 and for 110 s south has sent "
	    "back only messages of it without the head signed by this node "
	    "that would let them be stored");
	CHECK_INT(delivery_stats(na.d, 0, &st), 0);
	CHECK_INT(st.assigned, 3);
	engines_stop(false);
}

/* What recover_answer_step sends, kept (test_recover_watch_slow_run). */
struct answer_copy {
	size_t n;
	uint8_t type[256];
	uint8_t *b[256];
	size_t len[256];
};

static int
answer_keep(void *arg, uint8_t type, const uint8_t *b, size_t n)
{
	struct answer_copy *a = arg;

	if (a->n >= 256 || (a->b[a->n] = malloc(n)) == NULL)
		return ERR_NOMEM;
	memcpy(a->b[a->n], b, n);
	a->type[a->n] = type;
	a->len[a->n++] = n;
	return 0;
}

/*
 * North's store holds nbodies bodies of ENVELOPE_BODY_MAX (the last 8 KiB
 * less) under one head of north's at the last; *ans is south's answer to
 * north's RECOVER from 0, as it sends it from a store like that. Then
 * north comes back with an empty store, a path up, and south's signed
 * claim (kept in claim, its length *cn) makes it ask for its chain back.
 */
static void
slow_run_start(int nbodies, struct answer_copy *ans, uint8_t *claim,
    size_t cap, size_t *cn)
{
	struct recover_answer ra;
	struct delivery_stats st;
	uint8_t *body = malloc(ENVELOPE_BODY_MAX), ask[64];
	uint64_t first, last;
	size_t an;
	int64_t qid;

	engines_start();
	for (int k = 0; k < nbodies; k++) {
		memset(body, 'a' + k, ENVELOPE_BODY_MAX);
		CHECK_INT(delivery_queue(na.d, 0, ENVELOPE_ROUTINE,
		    ENVELOPE_PRIVATE, ENVELOPE_TEXT, body, k < nbodies - 1 ?
		    ENVELOPE_BODY_MAX : ENVELOPE_BODY_MAX - 8192, &qid), 0);
	}
	free(body);
	CHECK_INT(store_assign_signed(na.s, chan, 0, (size_t)nbodies, 0,
	    clock_ms, chain_store_build, NULL, north_signs, NULL, &first,
	    &last, NULL, NULL), 0);
	CHECK_INT((int)last, nbodies);
	memset(ans, 0, sizeof *ans);
	CHECK_INT(recover_ask_encode(0, (uint64_t)nbodies, ask, sizeof ask,
	    &an), 0);
	CHECK_INT(recover_answer_start(na.s, chan, 0, ask, an, &ra), 0);
	CHECK_INT(recover_answer_step(na.s, chan, 0, &ra, answer_keep, ans),
	    0);
	CHECK(ans->n > 0 && ans->type[ans->n - 1] == RECOVER_REC_HEAD);
	*cn = south_receipt((uint64_t)nbodies, clock_ms, false, claim, cap);
	engines_stop(true);
	store_close(na.s);
	na.s = NULL;
	engines_start();
	na.connected = true;		/* what north sends: dropped */
	delivery_path_change(na.d, chan, 0, true);
	fake_run(&na, 0);
	delivery_record(na.d, chan, 0, DELIVERY_REC_RECEIPT, claim, *cn);
	CHECK_INT(delivery_stats(na.d, 0, &st), 0);
	CHECK_INT(st.recovering_to, nbodies);
}

/* Records from .. to-1 of ans to north, each when its bytes are through
 * at DELIVERY_RECOVER_RATE_MIN (the clock moves on by them), a tick just
 * before and after each. */
static void
slow_run_feed(const struct answer_copy *ans, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++) {
		clock_ms += ans->len[i] * 1000 / DELIVERY_RECOVER_RATE_MIN;
		delivery_tick(na.d);
		delivery_record(na.d, chan, 0, ans->type[i], ans->b[i],
		    ans->len[i]);
		delivery_tick(na.d);
		pipe_clear(&pab);
	}
}

static void
answer_copy_free(struct answer_copy *ans)
{
	for (size_t i = 0; i < ans->n; i++)
		free(ans->b[i]);
}

/*
 * The guard of test_recover_watch_unsigned: an honest run as large as an
 * unsigned run may be (eight bodies, 8 MiB less 8 KiB, under one head of
 * north's at seq 8) coming back at DELIVERY_RECOVER_RATE_MIN, each record
 * when its bytes are through: 140 parts of up to 60,000 bytes, 6 s apart,
 * the head after about 840 s. The unsigned run's bytes buy it that time:
 * no recovery-stalled, and north is whole again at the head. (With the
 * time bound alone, without the bytes, the watch would stop counting the
 * parts a minute into the run.)
 */
static void
test_recover_watch_slow_run(void)
{
	struct answer_copy ans;
	uint8_t b[CHAIN_RECEIPT_MAX + 64];
	uint64_t alarms, t0;
	size_t n;
	long mark;

	slow_run_start(8, &ans, b, sizeof b, &n);
	CHECK(ans.n > 100);
	alarms = na.alarms;
	mark = log_mark();
	t0 = clock_ms;
	slow_run_feed(&ans, 0, ans.n);
	printf("  a run of 8 MiB back at %u B/s: %llu s\n",
	    DELIVERY_RECOVER_RATE_MIN,
	    (unsigned long long)(clock_ms - t0) / 1000);
	CHECK(clock_ms - t0 > 800000);
	CHECK(!log_since(mark, "refused recovered"));
	CHECK_INT(na.alarms, alarms);
	CHECK(log_since(mark, "our chain is whole again (seq 8)"));
	CHECK_INT(own_held(), 8);
	answer_copy_free(&ans);
	engines_stop(false);
}

/*
 * An honest run of 2 MiB coming back at DELIVERY_RECOVER_RATE_MIN, its
 * path down after the records before rec (their bytes' time into the
 * run) for down_s; the new session's claim makes north ask again (the run
 * held is dropped) and the answer comes again from its start, at the same
 * rate: no recovery-stalled, and north is whole again at its head.
 */
static void
outage_run(size_t rec, int down_s)
{
	struct answer_copy ans;
	uint8_t b[CHAIN_RECEIPT_MAX + 64];
	uint64_t alarms, t0;
	size_t n, asks = 0;

	slow_run_start(2, &ans, b, sizeof b, &n);
	alarms = na.alarms;
	t0 = clock_ms;
	slow_run_feed(&ans, 0, rec);
	printf("  path down %llu s into the run for %d s\n",
	    (unsigned long long)(clock_ms - t0) / 1000, down_s);
	delivery_path_change(na.d, chan, 0, false);
	for (int i = 0; i < down_s / 10; i++) {
		clock_ms += 10000;
		delivery_tick(na.d);
	}
	delivery_path_change(na.d, chan, 0, true);
	fake_run(&na, 0);
	delivery_record(na.d, chan, 0, DELIVERY_REC_RECEIPT, b, n);
	for (size_t i = pab.head; i < pab.tail; i++)
		asks += pab.q[i % QCAP].type == RECOVER_REC_ASK;
	CHECK_INT(asks, 1);			/* asked again: dropped */
	slow_run_feed(&ans, 0, ans.n);
	CHECK_INT(na.alarms, alarms);
	CHECK_INT(own_held(), 2);
	answer_copy_free(&ans);
	engines_stop(false);
}

/*
 * The unsigned run's time holds still while no path is up, as the watch
 * does: the path down for ten minutes 30 s into the run. (Counting the
 * outage, the watch stopped at the first record past the repeats and
 * raised it.)
 */
static void
test_recover_watch_outage(void)
{
	outage_run(5, 600);
}

/*
 * The session ends 90 s into the run (more than DELIVERY_RECOVER_STALL_MS),
 * back 10 s later. The records sent again rebuild the dropped run: each
 * takes the run held now further, and the run's time (not restarted by
 * the drop) is granted the dropped bytes too. (Until 2026-12-06 they were
 * repeats of what had been reached, which did not count, and the bytes
 * dropped bought no time: recovery-stalled a minute after the drop,
 * though south was honest.)
 */
static void
test_recover_watch_reconnect_late(void)
{
	outage_run(15, 10);
}

int
main(void)
{
	if (delivery_harness_open("test_delivery_recover") != 0)
		return 1;
	RUN(test_recover_ask_output_full);
	RUN(test_recover_ask_checkpoints);
	RUN(test_recover);
	RUN(test_recover_answer_resumes);
	RUN(test_recover_slow_link);
	RUN(test_recover_batch_whole);
	RUN(test_recover_watch);
	RUN(test_recover_watch_repeats);
	RUN(test_recover_watch_unsigned);
	RUN(test_recover_watch_slow_run);
	RUN(test_recover_watch_outage);
	RUN(test_recover_watch_reconnect_late);
	delivery_harness_close();
	return harness_summary();
}
