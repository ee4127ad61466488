/*
 * test_delivery_recover_paths.c: recovery of our own chain over two paths
 * (msg/recover.h), between two delivery engines wired through memory
 * (delivery_harness.h): asking again with a higher or the same want, a
 * path that ends mid-answer, an answer that ends with its session, and a
 * peer's claim to hold less (stale or not).
 */
#include "delivery_harness.h"

/* North's message at seq in the tests below, into b (3 * RECOVER_PART_MAX
 * bytes): every third in three OWN parts, the others short; each byte
 * 'A' + seq % 26. Its length. */
static size_t
rc_body(uint64_t seq, uint8_t *b)
{
	size_t n = seq % 3 == 0 ? 2 * RECOVER_PART_MAX + 10000 : 100;

	memset(b, 'A' + (int)(seq % 26), n);
	return n;
}

struct rc_check {
	uint8_t *want;
	int good;			/* rows with their body, receipted */
};

static int
rc_row_ok(void *arg, struct store_msg *m)
{
	struct rc_check *k = arg;
	size_t n = rc_body(m->seq, k->want);

	if (m->state == STORE_RECEIPTED && m->body_len == n &&
	    memcmp(m->body, k->want, n) == 0)
		k->good++;
	return 0;
}

/*
 * North sends n messages (rc_body) in groups of per, a head over each
 * group, and comes back restored from an empty backup: south holds
 * north's chain 1..n, north nothing. The channel has npaths paths, none
 * up yet; what south sends from here is counted afresh (own_at).
 */
static void
north_restored(int n, int per)
{
	uint8_t *b = malloc(3 * RECOVER_PART_MAX);
	struct store_head sh;
	struct answers a;
	struct seen sn;

	engines_start();
	connect_both(true);
	run(1000000);
	memset(&a, 0, sizeof a);
	for (int i = 1; i <= n; i++) {
		CHECK_INT(delivery_submit(na.d, 0, ENVELOPE_ROUTINE,
		    ENVELOPE_PRIVATE, ENVELOPE_TEXT, b, rc_body((uint64_t)i, b),
		    false, NULL, answer, &a), 0);
		if (i % per == 0) {
			delivery_pump(na.d);
			run(1000000);
		}
	}
	CHECK_INT(a.n, n);
	CHECK_INT(received(&nb, 0, &sn), n);
	CHECK_INT(store_head_covering(nb.s, chan, 0, 1, &sh), 0);
	CHECK_INT(sh.seq, per);
	engines_stop(true);
	store_close(na.s);
	na.s = NULL;
	engines_start();
	memset(pba.own_at, 0, sizeof pba.own_at);
	free(b);
}

/*
 * What the restored north relies on once its recovery is done: its chain
 * 1..n whole, each message once with its body, receipted; no longer
 * RECOVERING, synced, the next seq n + 1; nothing refused since mark (a
 * late record of an answer is not a wrong one).
 */
static void
rc_whole(int n, long mark)
{
	struct rc_check k = { malloc(3 * RECOVER_PART_MAX), 0 };
	struct delivery_stats st;
	struct seen sn;

	CHECK(log_since(mark, "our chain is whole again"));
	CHECK_INT(received(&na, 0, &sn), n);
	CHECK_INT(sn.bad, 0);
	CHECK_INT(store_after(na.s, chan, 0, 0, 1000, rc_row_ok, &k), 0);
	CHECK_INT(k.good, n);
	CHECK_INT(delivery_stats(na.d, 0, &st), 0);
	CHECK_INT(st.recovering_to, 0);
	CHECK(st.synced);
	CHECK_INT(st.assigned, n);
	CHECK_INT(st.refused, 0);
	CHECK(!log_since(mark, "refused"));
	free(k.want);
}

/* South's answer sent each of north's messages first..last on path p
 * once, and none other. */
static void
rc_sent_once(unsigned p, uint64_t first, uint64_t last, int n)
{
	for (uint64_t s = 1; s <= (uint64_t)n; s++)
		CHECK_INT(pba.own_at[p][s], s >= first && s <= last);
}

/* The last record north sent is a RECOVER on path p from from. */
static void
rc_asked(unsigned p, uint64_t from, uint64_t to)
{
	struct rec *r = &pab.q[(pab.tail - 1) % QCAP];
	uint64_t f = 0, t = 0;

	CHECK(pab.tail > pab.head);
	CHECK_INT(r->type, RECOVER_REC_ASK);
	CHECK_INT(r->path, p);
	CHECK_INT(recover_ask_decode(r->b, r->n, &f, &t), 0);
	CHECK_INT(f, from);
	CHECK_INT(t, to);
}

/* r is the OWN record of north's message seq at part (0: the first). */
static bool
own_is(const struct rec *r, uint64_t seq, uint64_t part)
{
	struct recover_own o;
	struct envelope_header h;

	return r->type == RECOVER_REC_OWN &&
	    recover_own_decode(r->b, r->n, &o) == 0 &&
	    envelope_header_decode(&h, o.hdr, o.hlen) == 0 &&
	    h.seq == seq && o.offset == part * RECOVER_PART_MAX;
}

/* South's records reach north, up to the OWN record of north's message
 * seq at part; the rest stay on their way. */
static void
to_north_through(uint64_t seq, uint64_t part)
{
	bool last = false;

	while (!last && pba.head < pba.tail) {
		struct rec r = pba.q[pba.head++ % QCAP];
		last = own_is(&r, seq, part);
		delivery_record(na.d, chan, r.path, r.type, r.b, r.n);
		free(r.b);
	}
	CHECK(last);			/* it was sent */
}

/* Takes the records on path p off q, in their order, onto the end of
 * held (*n of them): a slow path's, on their way. */
static void
hold_path(struct pipe *q, unsigned p, struct rec *held, size_t *n)
{
	size_t m = q->tail - q->head, k = 0;
	struct rec *v = malloc((m ? m : 1) * sizeof *v);

	for (size_t i = 0; i < m; i++) {
		struct rec r = q->q[(q->head + i) % QCAP];
		if (r.path == p)
			held[(*n)++] = r;
		else
			v[k++] = r;
	}
	q->head = q->tail = 0;
	for (size_t i = 0; i < k; i++)
		q->q[q->tail++] = v[i];
	free(v);
}

/* The held records (a slow path's) and what south has sent since reach
 * north one by one in turn, as two sessions may deliver them; then all
 * moves both ways. */
static void
arrive_in_turn(struct rec *held, size_t n)
{
	for (size_t i = 0; i < n || pba.head < pba.tail; i++) {
		if (i < n) {
			delivery_record(na.d, chan, held[i].path,
			    held[i].type, held[i].b, held[i].n);
			free(held[i].b);
		}
		if (pba.head < pba.tail) {
			struct rec r = pba.q[pba.head++ % QCAP];
			delivery_record(na.d, chan, r.path, r.type, r.b, r.n);
			free(r.b);
		}
	}
	run(1000000);
}

/* North, restored, asks on path 0 for its chain (south's SYNC says 12)
 * and holds the first of south's answer there: its chain to the head at
 * 4 stored, message 5 and the first part of 6 unsigned. */
static void
rc_asked_on_path0(void)
{
	connect_both(true);
	deliver_all(&pba, &na);		/* south's RUNs and SYNC */
	rc_asked(0, 0, 12);
	deliver_all(&pab, &nb);		/* the ask: answered on path 0 */
	to_north_through(6, 0);
	CHECK_INT(own_held(), 4);
}

/*
 * Two paths; south's output holds 330 KB until north reads it. North
 * (restored, empty) asks on path 0 (a SYNC there says south holds north's
 * chain up to seq 10); south's answer stops at the full output in message
 * 9, open; north has taken it to the first part of 6 (unsigned after the
 * head at 4), the rest is on its way. A SYNC on path 1 then says 12:
 * north asks there, from its store's 4, and south's open answer moves to
 * path 1 (path 0 gets nothing more). Path 0's tail and path 1's answer
 * reach north one record each in turn: north's chain is whole, each
 * message once, nothing refused (path 0's tail is late, not wrong), not
 * RECOVERING; south sent each message once at most on each path.
 * (Before, each record of path 0's tail was refused, a gap after the run
 * the new ask dropped, and each refusal dropped what path 1 had brought:
 * 18 refusals, and north stayed RECOVERING until south's next SYNC.)
 */
static void
test_recover_two_paths_higher_want(void)
{
	struct rec *held = malloc(QCAP * sizeof *held);
	uint8_t b[CHAIN_RECEIPT_MAX + 64], on0[32];
	size_t n, nheld = 0;
	long mark;
	int k;

	npaths = 2;
	north_restored(12, 2);
	mark = log_mark();
	connect_both(true);
	/* the engines' SYNCs (south's says 12) are left out: the test plays
	 * south's */
	drop_of_type(&pab, DELIVERY_REC_SYNC);
	drop_of_type(&pba, DELIVERY_REC_SYNC);
	run(1000000);
	wire_cap = 330000;
	n = south_receipt(10, clock_ms, true, b, sizeof b);
	delivery_record(na.d, chan, 0, DELIVERY_REC_SYNC, b, n);
	rc_asked(0, 0, 10);
	deliver_all(&pab, &nb);
	CHECK(log_since(mark, "our answer to the RECOVER of north waits at "
	    "seq 9"));
	to_north_through(6, 0);
	CHECK_INT(own_held(), 4);
	hold_path(&pba, 0, held, &nheld);	/* on its way */
	CHECK(nheld >= 4);
	clock_ms += 1;
	n = south_receipt(12, clock_ms, true, b, sizeof b);
	delivery_record(na.d, chan, 1, DELIVERY_REC_SYNC, b, n);
	rc_asked(1, 4, 12);
	memcpy(on0, pba.own_at[0], sizeof on0);
	deliver_all(&pab, &nb);
	delivery_tick(nb.d);			/* the answer goes on */
	arrive_in_turn(held, nheld);
	for (k = 0; k < 600 && !log_since(mark, "our chain is whole again");
	    k++)
		ticks(1);
	printf("  whole again after %d ticks (paced by the output)\n", k);
	wire_cap = 0;
	rc_whole(12, mark);
	CHECK(memcmp(on0, pba.own_at[0], sizeof on0) == 0);
	rc_sent_once(0, 1, 9, 12);
	rc_sent_once(1, 5, 12, 12);
	free(held);
	engines_stop(false);
	npaths = 1;
}

/*
 * Two paths, path 0 slow. North (restored, empty) asks there, south
 * answers there, and north holds the first of it (rc_asked_on_path0);
 * the rest is on its way for seconds. A SYNC on path 1 saying the same
 * asks nothing while the answer is coming; one after RECOVER_RETRY_MS
 * with nothing come asks again on path 1, from north's store, and
 * south's answer moves there. North takes path 1's answer to the middle
 * of message 9 (two of its three parts); path 0's late records then come
 * up to the first part of 9 (a repeat: the parts held are kept), and
 * path 0 ends. The rest of path 1's answer makes north whole, with no
 * further ask: each message once, nothing refused, not RECOVERING;
 * south sent each message once at most on each path.
 */
static void
test_recover_two_paths_same_want(void)
{
	struct rec *held = malloc(QCAP * sizeof *held);
	uint8_t b[CHAIN_RECEIPT_MAX + 64];
	size_t n, nheld = 0, i = 0;
	long mark;

	npaths = 2;
	north_restored(12, 2);
	mark = log_mark();
	rc_asked_on_path0();
	hold_path(&pba, 0, held, &nheld);
	n = south_receipt(12, clock_ms, true, b, sizeof b);
	delivery_record(na.d, chan, 1, DELIVERY_REC_SYNC, b, n);
	CHECK(pab.head == pab.tail);		/* no ask: it is coming */
	/* RECOVER_RETRY_MS and more pass; what south sends on path 0 (its
	 * answers to north's SYNCs) stays on its way too */
	for (int k = 0; k < RECOVER_RETRY_MS / 100 + 5; k++) {
		clock_ms += 100;
		delivery_tick(na.d);
		delivery_tick(nb.d);
		while (pab.head < pab.tail || pba.head < pba.tail) {
			deliver_all(&pab, &nb);
			hold_path(&pba, 0, held, &nheld);
			deliver_all(&pba, &na);
		}
	}
	CHECK_INT(pba.own_at[1][5], 0);
	n = south_receipt(12, clock_ms, true, b, sizeof b);
	delivery_record(na.d, chan, 1, DELIVERY_REC_SYNC, b, n);
	rc_asked(1, 4, 12);
	deliver_all(&pab, &nb);
	to_north_through(9, 1);
	for (bool last = false; i < nheld && !last; i++) {
		last = own_is(&held[i], 9, 0);
		delivery_record(na.d, chan, held[i].path, held[i].type,
		    held[i].b, held[i].n);
		free(held[i].b);
	}
	for (; i < nheld; i++)
		free(held[i].b);
	delivery_path_change(na.d, chan, 0, false);
	delivery_path_change(nb.d, chan, 0, false);
	drop_path(&pab, 0);
	run(1000000);
	rc_whole(12, mark);
	rc_sent_once(0, 1, 12, 12);
	rc_sent_once(1, 5, 12, 12);
	free(held);
	engines_stop(false);
	npaths = 1;
}

/*
 * Two paths. North (restored, empty) asks on path 0 and holds the first
 * of south's answer (rc_asked_on_path0); then path 0 ends at both sides,
 * the rest of the answer with it. North asks again on path 1 and gets the
 * rest there (its unsigned run dropped, sent again): whole, each message
 * once, nothing refused, not RECOVERING; path 1 carried 5..12 once.
 */
static void
test_recover_path_ends_mid_answer(void)
{
	long mark;
	int k;

	npaths = 2;
	north_restored(12, 2);
	mark = log_mark();
	rc_asked_on_path0();
	delivery_path_change(na.d, chan, 0, false);
	delivery_path_change(nb.d, chan, 0, false);
	drop_path(&pba, 0);
	drop_path(&pab, 0);
	run(1000000);
	for (k = 0; k < 600 && !log_since(mark, "our chain is whole again");
	    k++)
		ticks(1);			/* up to a minute */
	printf("  whole again after %d ticks (asked again on path 1 at "
	    "once)\n", k);
	/* the ask that went with path 0 is not waited for (waiting for
	 * RECOVER_RETRY_MS took 20 ticks) */
	CHECK(k < 10);
	rc_whole(12, mark);
	rc_sent_once(1, 5, 12, 12);
	engines_stop(false);
	npaths = 1;
}

/*
 * An answer that ends with its session. South's output holds 200 KB
 * until north reads it: its answer stops at the full output in message
 * 6 (north holds its chain to the head at 4, 5 and the first part of 6
 * unsigned). Then the session is replaced (up again at both sides: what
 * was on its way went with it). South's answer ends there: its tick sends
 * nothing on the new session from where the old one stopped. North's next
 * ask on the new session gets the whole rest from 5: whole, each message
 * once, nothing refused, not RECOVERING.
 */
static void
test_recover_answer_ends_with_session(void)
{
	uint64_t own_bytes;
	long mark;
	int k;

	north_restored(12, 2);
	mark = log_mark();
	wire_cap = 200000;
	connect_both(true);
	run(1000000);
	CHECK(log_since(mark, "our answer to the RECOVER of north waits at "
	    "seq 6"));
	CHECK_INT(own_held(), 4);
	CHECK_INT(pba.own_at[0][6], 1);
	pipe_clear(&pab);
	pipe_clear(&pba);
	delivery_path_change(nb.d, chan, 0, true);
	delivery_path_change(na.d, chan, 0, true);
	memset(pba.own_at, 0, sizeof pba.own_at);
	own_bytes = pba.own_bytes;
	for (k = 0; k < 5; k++) {	/* south's ticks alone: nothing stale */
		clock_ms += 100;
		delivery_tick(nb.d);
	}
	CHECK_INT(pba.own_bytes, own_bytes);
	for (k = 0; k < 600 && !log_since(mark, "our chain is whole again");
	    k++)
		ticks(1);			/* up to a minute */
	printf("  whole again after %d ticks (asked again on the new "
	    "session at once)\n", k);
	/* the ask that went with the old session is not waited for
	 * (waiting for RECOVER_RETRY_MS took 17 more ticks) */
	CHECK(k < 10);
	wire_cap = 0;
	rc_whole(12, mark);
	rc_sent_once(0, 5, 12, 12);
	engines_stop(false);
}

/* South's SYNC of north's chain up to seq, signed at t, naming north's
 * run (0: a run south heard before north's new one), the id south holds
 * at seq; into b, its length. */
static size_t
south_sync_named(uint64_t seq, uint64_t t, uint64_t run, uint8_t *b,
    size_t cap)
{
	struct chain_receipt rc;
	uint8_t ids[1][32];
	size_t n = 0;

	memset(&rc, 0, sizeof rc);
	memcpy(rc.channel, chan, sizeof rc.channel);
	rc.receiver = 1;
	rc.seq = seq;
	rc.time_ms = t;
	CHECK_INT(store_ids_range(nb.s, chan, 0, seq - 1, 1, ids), 0);
	memcpy(rc.id, ids[0], sizeof rc.id);
	CHECK_INT(chain_receipt_sign(&rc, &nb.k), 0);
	CHECK_INT(delivery_sync_encode(&rc, false, run, b, cap, &n), 0);
	return n;
}

/*
 * A claim signed before the one recovery works to does not lower it.
 * North is restored (empty) and fenced at 4 (its last run may have sent
 * up to 4); south holds north's 1..4, heads at 2 and 4. South's SYNCs
 * at t1 and t1 + 1 (holding 2, naming north's last run: signed before
 * south heard the new one) are slow on path 1; its SYNC at t1 + 2 naming
 * the new run and seq 4 comes first, on path 0: the fence ends, north
 * asks for 1..4 there, and that answer is slow. Then the stale SYNCs
 * arrive, an answer on path 1 between them. North must take back all of
 * 1..4 before anything new: its queued message takes seq 5, one chain at
 * both sides. (Before, the first stale SYNC lowered the recovery to 2,
 * north was whole at 2, the second stale SYNC, within its store and with
 * no recovery left to check its time, synced it, and the message took
 * seq 3, which south holds another of: a fork.)
 */
static void
test_recover_stale_claim_lower(void)
{
	struct rec *held = malloc(QCAP * sizeof *held);
	uint8_t b1[CHAIN_RECEIPT_MAX + 64], b2[CHAIN_RECEIPT_MAX + 64];
	uint8_t b[CHAIN_RECEIPT_MAX + 64];
	size_t n1, n2, n, nheld = 0;
	uint64_t t1, alarms = na.alarms + nb.alarms;
	struct delivery_stats st;
	struct answers a;
	struct seen sn;
	long mark;

	npaths = 2;
	north_restored(4, 2);
	mark = log_mark();
	delivery_fence(na.d, 0, 4, 30000);
	memset(&a, 0, sizeof a);
	submit(ENVELOPE_ROUTINE, "after", &a);
	delivery_pump(na.d);
	connect_both(true);
	/* the engines' SYNCs are left out: the test plays south's */
	drop_of_type(&pab, DELIVERY_REC_SYNC);
	drop_of_type(&pba, DELIVERY_REC_SYNC);
	run(1000000);
	t1 = clock_ms;
	n1 = south_sync_named(2, t1, 0, b1, sizeof b1);
	n2 = south_sync_named(2, t1 + 1, 0, b2, sizeof b2);
	clock_ms += 2;
	n = south_sync_named(4, clock_ms, delivery_run(na.d), b, sizeof b);
	delivery_record(na.d, chan, 0, DELIVERY_REC_SYNC, b, n);
	CHECK(log_since(mark, "has heard this run"));
	rc_asked(0, 0, 4);
	delivery_record(na.d, chan, 1, DELIVERY_REC_SYNC, b1, n1);
	deliver_all(&pab, &nb);			/* north's asks */
	hold_path(&pba, 0, held, &nheld);	/* path 0 is slow */
	deliver_all(&pba, &na);			/* path 1's answer, if any */
	delivery_record(na.d, chan, 1, DELIVERY_REC_SYNC, b2, n2);
	CHECK_INT(delivery_stats(na.d, 0, &st), 0);
	CHECK_INT((int)st.queued, 1);		/* nothing new yet */
	for (size_t i = 0; i < nheld; i++) {
		delivery_record(na.d, chan, held[i].path, held[i].type,
		    held[i].b, held[i].n);
		free(held[i].b);
	}
	run(1000000);
	ticks(30);
	CHECK_INT(a.n, 1);
	CHECK_INT(a.r[0], 0);
	CHECK_INT(na.alarms + nb.alarms, alarms);
	CHECK(!log_since(mark, "chain forks"));
	CHECK(!log_since(mark, "diverge"));
	CHECK_INT(own_held(), 5);
	CHECK_INT(received(&nb, 0, &sn), 5);
	CHECK_INT(sn.bad, 0);
	CHECK(chain_body_at(&na, 0, 5, "after"));
	CHECK(chain_body_at(&nb, 0, 5, "after"));
	free(held);
	engines_stop(false);
	npaths = 1;
}

/*
 * What a claim past north's store does to the recovery, by when south
 * signed it. North holds 3; south claims 1000 (a RECEIPT). A claim of
 * 500 signed before it (come late on another path) leaves the recovery
 * at 1000, no alarm. One of 500 signed after it is south's word: the
 * recovery stops at 500, and seqs 501 to 1000 will get new messages that
 * south may hold two of our heads at, so recovery-abandoned is raised
 * with both receipts, as for a later SYNC within the store. (Before, the
 * earlier claim lowered the recovery to 500, and the later one did so
 * without a word.)
 */
static void
test_recover_claim_lower(void)
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
	connect_both(false);		/* the test plays south */
	delivery_path_change(na.d, chan, 0, true);
	fake_run(&na, 0);
	alarms = na.alarms;
	claim_ms = clock_ms;
	n = south_receipt(1000, claim_ms, false, b, sizeof b);
	hex_encode(hex, b, n);
	delivery_record(na.d, chan, 0, DELIVERY_REC_RECEIPT, b, n);
	CHECK_INT(delivery_stats(na.d, 0, &st), 0);
	CHECK_INT(st.recovering_to, 1000);
	n = south_receipt(500, claim_ms - 1, false, b, sizeof b);
	delivery_record(na.d, chan, 0, DELIVERY_REC_RECEIPT, b, n);
	CHECK_INT(delivery_stats(na.d, 0, &st), 0);
	CHECK_INT(st.recovering_to, 1000);
	CHECK_INT(na.alarms, alarms);
	n = south_receipt(500, claim_ms + 1, false, b, sizeof b);
	delivery_record(na.d, chan, 0, DELIVERY_REC_RECEIPT, b, n);
	CHECK_INT(delivery_stats(na.d, 0, &st), 0);
	CHECK_INT(st.recovering_to, 500);
	CHECK(!st.synced);
	CHECK_INT(na.alarms, alarms + 1);
	CHECK_CONTAINS(na.alarm, "recovery-abandoned: south signed that it "
	    "holds this node's chain up to seq 1000, later up to seq 500 "
	    "only: the recovery stops there and seqs 501 to 1000 get new "
	    "messages");
	CHECK_CONTAINS(na.alarm, hex);	/* the claim */
	hex_encode(hex, b, n);
	CHECK_CONTAINS(na.alarm, hex);	/* the later receipt */
	engines_stop(false);
}

int
main(void)
{
	if (delivery_harness_open("test_delivery_recover_paths") != 0)
		return 1;
	RUN(test_recover_two_paths_higher_want);
	RUN(test_recover_two_paths_same_want);
	RUN(test_recover_path_ends_mid_answer);
	RUN(test_recover_answer_ends_with_session);
	RUN(test_recover_stale_claim_lower);
	RUN(test_recover_claim_lower);
	delivery_harness_close();
	return harness_summary();
}
