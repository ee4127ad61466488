/*
 * test_delivery_recover_watch.c: the recovery-stalled watch (msg/
 * delivery_recover.c, docs/delivery.md "Recovery" 1) between two delivery
 * engines wired through memory (delivery_harness.h): the peer's claim
 * watched while no path is up, repeats, unsigned records that never get
 * our head, an honest slow run, an outage, a reconnect late in a run,
 * sessions that end every 55 s, the wall clock stepped back or forward.
 */
#include "delivery_harness.h"


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
	CHECK_INT(recover_own_encode(m.header, m.header_len, m.body_salt, 0,
	    m.body, m.body_len, own, sizeof own, &on), 0);
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
	uint8_t hdr[ENVELOPE_HEADER_MAX], salt[ENVELOPE_SALT_LEN];
	size_t hl = 0, n = 0;

	h.seq = seq;
	memcpy(h.prev, prev, ENVELOPE_ID_LEN);
	h.body_len = (uint32_t)strlen(body);
	randombytes_buf(salt, sizeof salt);
	envelope_body_hash_salted(salt, (const uint8_t *)body, h.body_len,
	    h.body_hash);
	CHECK_INT(envelope_header_encode(&h, hdr, sizeof hdr, &hl), 0);
	envelope_header_id(hdr, hl, prev);
	CHECK_INT(recover_own_encode(hdr, hl, salt, 0, (const uint8_t *)body,
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
unsigned_feed(uint64_t step_at_s, int64_t step_ms, uint64_t alarm_s)
{
	struct delivery_stats st;
	struct envelope_header like;
	struct store_msg m;
	uint8_t b[CHAIN_RECEIPT_MAX + 64], rec[1024], prev[ENVELOPE_ID_LEN];
	char body[32];
	uint64_t alarms, raised = 0;
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
	for (uint64_t s = 10; s <= 300; s += 10) {	/* five minutes */
		clock_ms += 10000;
		if (s == step_at_s)
			wall_step(step_ms);
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
	CHECK_INT(raised, alarm_s);
	CHECK_INT(delivery_stats(na.d, 0, &st), 0);
	CHECK_INT(st.assigned, 3);
	engines_stop(false);
}

static void
test_recover_watch_unsigned(void)
{
	unsigned_feed(UINT64_MAX, 0, 160);
}

/*
 * As test_recover_watch_unsigned, but the wall clock is stepped back an
 * hour just before the third message (150 s after the ask, before a tick
 * sees it). The watch runs on the monotonic clock, which the step does
 * not reach: the alarm at 160 s, "for 110 s", as without the step. (Until
 * 2026-12-06 the record after the step started the run's time again: the
 * alarm at 260 s; each step back bought another run's time. Then, with
 * the watch on the wall clock gone back with the step, at 170 s: the
 * 10 s from its last look to the step were lost.)
 */
static void
test_recover_watch_clock_back(void)
{
	unsigned_feed(150, -3600000, 160);
}

/*
 * South claims north's chain up to seq 1000 (north holds 3) and sends
 * nothing back. 30 s into the recovery the wall clock is stepped forward
 * two minutes (an operator, NTP): not two minutes of silence, no alarm.
 * The silence that really passes still raises recovery-stalled, once it
 * reaches a minute on the monotonic clock (not 30 s after the step, nor
 * earlier). (Until 2026-12-06 the watch ran on the wall clock: the step
 * raised a false recovery-stalled at the next tick.)
 */
static void
test_recover_watch_clock_forward(void)
{
	struct delivery_stats st;
	uint8_t b[CHAIN_RECEIPT_MAX + 64];
	uint64_t alarms;
	size_t n;
	int raised = 0;

	engines_start();
	connect_both(true);
	queue_n(&na, 3, ENVELOPE_ROUTINE, "north before");
	run(100000);
	CHECK_INT(delivery_stats(na.d, 0, &st), 0);
	CHECK(st.synced && st.assigned == 3 && st.receipted == 3);
	connect_both(false);
	n = south_receipt(1000, clock_ms, false, b, sizeof b);
	delivery_path_change(na.d, chan, 0, true);
	fake_run(&na, 0);
	delivery_record(na.d, chan, 0, DELIVERY_REC_RECEIPT, b, n);
	CHECK_INT(delivery_stats(na.d, 0, &st), 0);
	CHECK_INT(st.recovering_to, 1000);
	alarms = na.alarms;
	for (int s = 1; s <= 30; s++) {
		clock_ms += 1000;
		delivery_tick(na.d);
	}
	wall_step(2 * DELIVERY_RECOVER_STALL_MS);
	delivery_tick(na.d);
	CHECK_INT(na.alarms, alarms);
	/* the silence goes on: raised once a minute of it has passed */
	for (int s = 31; s <= 120 && raised == 0; s++) {
		clock_ms += 1000;
		delivery_tick(na.d);
		if (na.alarms != alarms)
			raised = s;
	}
	printf("  the wall clock 2 min forward 30 s into the recovery: "
	    "recovery-stalled %d s into it\n", raised);
	CHECK_INT(raised, DELIVERY_RECOVER_STALL_MS / 1000);
	CHECK_INT(na.alarms, alarms + 1);
	CHECK_CONTAINS(na.alarm, "recovery-stalled: south says (its signed "
	    "receipt) that it holds this node's chain up to seq 1000, but "
	    "this store holds it up to seq 3 and south has sent nothing of "
	    "the rest back for 60 s");
	CHECK_INT(delivery_stats(na.d, 0, &st), 0);
	CHECK_INT(st.assigned, 3);
	engines_stop(false);
}

/*
 * As test_recover_watch_unsigned, with the wall clock stepped forward two
 * minutes just before the third message: the alarm at 160 s all the
 * same. (Until 2026-12-06: at 150 s, the step taken for silence.)
 */
static void
test_recover_watch_clock_forward_unsigned(void)
{
	unsigned_feed(150, 2 * DELIVERY_RECOVER_STALL_MS, 160);
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
	asks = pipe_count(&pab, RECOVER_REC_ASK);
	CHECK_INT(asks, 1);			/* asked again: dropped */
	slow_run_feed(&ans, 0, ans.n);
	CHECK_INT(na.alarms, alarms);
	CHECK_INT(own_held(), 2);
	answer_copy_free(&ans);
	engines_stop(false);
}

/*
 * South's answer is coming (an honest run of 2 MiB at
 * DELIVERY_RECOVER_RATE_MIN) when the wall clock is stepped a minute
 * forward, then two back, and south's claim comes again after each (its
 * next SYNC or receipt): the same ask, younger than RECOVER_RETRY_MS on
 * the monotonic clock, is not sent again, so the run held is kept (until
 * 2026-12-06 each step made north ask again, dropping the run held, and
 * south sent it again from its start). North is whole again at the head,
 * no recovery-stalled.
 */
static void
test_recover_ask_wall_steps(void)
{
	struct answer_copy ans;
	uint8_t b[CHAIN_RECEIPT_MAX + 64];
	uint64_t alarms;
	size_t n, asks = 0;
	long mark;

	slow_run_start(2, &ans, b, sizeof b, &n);
	alarms = na.alarms;
	mark = log_mark();
	slow_run_feed(&ans, 0, 5);
	for (int k = 0; k < 2; k++) {
		wall_step(k == 0 ? 60000 : -120000);
		delivery_record(na.d, chan, 0, DELIVERY_REC_RECEIPT, b, n);
		asks += pipe_count(&pab, RECOVER_REC_ASK);
		pipe_clear(&pab);
	}
	CHECK_INT(asks, 0);
	slow_run_feed(&ans, 5, ans.n);
	CHECK(!log_since(mark, "refused recovered"));
	CHECK(!log_since(mark, "late, not taken"));
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

/*
 * South claims north's chain up to seq 1000 and sends none of it back;
 * instead its session ends every 55 s and a new one comes 1 s later (the
 * claim again, north asks again). The watch holds still while no path is
 * up, so the silence with a path up adds up: recovery-stalled once the
 * minute is reached, in the second session. (Until 2026-12-06 each
 * moment without a path started the minute again: no alarm in 20
 * sessions, 20 minutes, nor ever.)
 */
static void
test_recover_watch_flaps(void)
{
	struct delivery_stats st;
	uint8_t b[CHAIN_RECEIPT_MAX + 64];
	uint64_t alarms;
	size_t n;
	int raised = 0;

	engines_start();
	connect_both(true);
	queue_n(&na, 3, ENVELOPE_ROUTINE, "north before");
	run(100000);
	CHECK_INT(delivery_stats(na.d, 0, &st), 0);
	CHECK(st.synced && st.assigned == 3 && st.receipted == 3);
	connect_both(false);
	n = south_receipt(1000, clock_ms, false, b, sizeof b);
	alarms = na.alarms;
	for (int k = 1; k <= 20 && raised == 0; k++) {
		delivery_path_change(na.d, chan, 0, true);
		fake_run(&na, 0);
		delivery_record(na.d, chan, 0, DELIVERY_REC_RECEIPT, b, n);
		delivery_tick(na.d);
		for (int s = 0; s < 55; s += 5) {
			clock_ms += 5000;
			delivery_tick(na.d);
		}
		if (na.alarms != alarms)
			raised = k;
		delivery_path_change(na.d, chan, 0, false);
		clock_ms += 1000;
		delivery_tick(na.d);
	}
	printf("  a new session every 56 s, nothing sent back: "
	    "recovery-stalled in session %d\n", raised);
	CHECK_INT(raised, 2);
	CHECK_INT(na.alarms, alarms + 1);
	CHECK_CONTAINS(na.alarm, "recovery-stalled: south says (its signed "
	    "receipt) that it holds this node's chain up to seq 1000, but "
	    "this store holds it up to seq 3 and south has sent nothing of "
	    "the rest back for 60 s");
	CHECK_INT(delivery_stats(na.d, 0, &st), 0);
	CHECK_INT(st.assigned, 3);
	engines_stop(false);
}

int
main(void)
{
	if (delivery_harness_open("test_delivery_recover_watch") != 0)
		return 1;
	RUN(test_recover_watch);
	RUN(test_recover_watch_repeats);
	RUN(test_recover_watch_unsigned);
	RUN(test_recover_watch_slow_run);
	RUN(test_recover_watch_outage);
	RUN(test_recover_watch_reconnect_late);
	RUN(test_recover_watch_flaps);
	RUN(test_recover_watch_clock_back);
	RUN(test_recover_watch_clock_forward);
	RUN(test_recover_watch_clock_forward_unsigned);
	RUN(test_recover_ask_wall_steps);
	delivery_harness_close();
	return harness_summary();
}
