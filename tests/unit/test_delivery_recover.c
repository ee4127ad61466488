/*
 * test_delivery_recover.c: recovery of our own chain after a restore
 * (msg/recover.h) between two delivery engines wired through memory
 * (delivery_harness.h): asking with a full output, checkpoints, the answer
 * checked record by record, an answer resumed after a full output, a slow
 * link, a batch stored whole. The stall watch is in
 * test_delivery_recover_watch.c.
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
	own = pipe_count(&pba, RECOVER_REC_OWN);
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
	    NULL, NULL, io_alarm, io_note, io_queued, io_mono };
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
	uint8_t salt[5][ENVELOPE_SALT_LEN];
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
	CHECK(m->salted);			/* headers of version 2 */
	memcpy(o->salt[o->n], m->body_salt, sizeof o->salt[0]);
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
		CHECK_INT(recover_own_encode(o->hdr[i], o->hlen[i], o->salt[i], 0,
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
	delivery_harness_close();
	return harness_summary();
}
