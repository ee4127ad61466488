/*
 * test_delivery_flash.c: FLASH on every live path (two paths), between two
 * delivery engines wired through memory (delivery_harness.h): copies where
 * the peer holds what comes before, repeats harmless in either order; bursts
 * and restores, a broken run, a full active path, a FLASH queued but not
 * batched, equivocating heads, a run or session swapped under the copies.
 */
#include "delivery_harness.h"

/* The end of a test on more paths than one: south holds north's chain
 * 1..n, each once and in order, has refused nothing, and nothing was
 * logged at WARN since mark; the engines stopped, one path again. */
static void
flash_test_end(long mark, uint64_t n)
{
	struct delivery_stats st;
	struct seen s;

	CHECK_INT(received(&nb, 0, &s), n);
	CHECK_INT(s.bad, 0);
	CHECK(delivery_stats(nb.d, 0, &st) == 0);
	CHECK_INT(st.refused, 0);
	CHECK(!log_since(mark, " WARN: "));
	engines_stop(false);
	npaths = 1;
}

static void
counts_reset(void)
{
	memset(pab.msg_on, 0, sizeof pab.msg_on);
	memset(pab.part_on, 0, sizeof pab.part_on);
	memset(pab.head_on, 0, sizeof pab.head_on);
	memset(pba.rc_on, 0, sizeof pba.rc_on);
}

/* Hands south what north has sent so far: first everything sent on path
 * first, then the other path's, each in its own order (as two sessions
 * may deliver them). */
static void
deliver_path_first(unsigned first)
{
	size_t n = pab.tail - pab.head;
	struct rec *v = malloc((n ? n : 1) * sizeof *v);

	for (size_t i = 0; i < n; i++)
		v[i] = pab.q[(pab.head + i) % QCAP];
	pab.head = pab.tail;
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < n; i++) {
			if ((v[i].path == first) != (pass == 0))
				continue;
			delivery_record(nb.d, chan, v[i].path, v[i].type,
			    v[i].b, v[i].n);
			free(v[i].b);
		}
	free(v);
}

/*
 * A channel with two paths up, path 0 active. A ROUTINE goes on path 0
 * alone; a FLASH goes on both, with a head over it on each, whether it
 * leaves at its group's commit (the early send), from the pump (queued),
 * or again after a stall; a FLASH behind an unreceipted message, and one
 * in MSG_PARTs, go on path 0 alone. South gets the copies first or last:
 * each message is stored once, nothing refused, nothing logged at WARN.
 */
static void
test_flash_every_path(void)
{
	struct delivery_stats st;
	struct answers a;
	struct seen s;
	uint64_t drops = na.drops + nb.drops;
	uint8_t *big;
	int64_t qid;
	long mark;

	start_on_paths(2);
	CHECK(delivery_stats(na.d, 0, &st) == 0);
	CHECK(st.synced);
	CHECK_INT(st.active_path, 0);
	mark = log_mark();
	memset(&a, 0, sizeof a);

	/* ROUTINE: the active path only */
	counts_reset();
	submit(ENVELOPE_ROUTINE, "routine", &a);
	delivery_pump(na.d);
	CHECK_INT(pab.msg_on[0], 1);
	CHECK_INT(pab.msg_on[1], 0);
	CHECK_INT(pab.head_on[1], 0);
	run(1000000);

	/* FLASH at its commit: both paths; the copy reaches south first */
	counts_reset();
	submit(ENVELOPE_FLASH, "flash early", &a);
	delivery_pump(na.d);
	CHECK_INT(pab.msg_on[0], 1);
	CHECK_INT(pab.head_on[0], 1);
	CHECK_INT(pab.msg_on[1], 1);
	CHECK_INT(pab.head_on[1], 1);
	deliver_path_first(1);
	CHECK_INT(received(&nb, 0, &s), 2);
	/* the receipt goes back on the path the head got through first
	 * (and, for the repeat on path 0, on path 0) */
	CHECK_INT(pba.rc_on[1], 1);
	CHECK_INT(pba.rc_on[0], 1);
	run(1000000);

	/* FLASH from the pump (queued): both paths; path 0 first */
	counts_reset();
	queue_n(&na, 1, ENVELOPE_FLASH, "flash queued");
	delivery_pump(na.d);
	CHECK_INT(pab.msg_on[0], 1);
	CHECK_INT(pab.msg_on[1], 1);
	CHECK_INT(pab.head_on[1], 1);
	deliver_path_first(0);
	CHECK_INT(received(&nb, 0, &s), 3);
	run(1000000);

	/* One group: a ROUTINE and two FLASH. Both FLASH (seq 4, 5) on both
	 * paths; path 1 gets a head over the second (the group's head is
	 * over the ROUTINE, seq 6, which path 1 does not carry). */
	counts_reset();
	submit(ENVELOPE_ROUTINE, "routine in group", &a);
	submit(ENVELOPE_FLASH, "flash 1 in group", &a);
	submit(ENVELOPE_FLASH, "flash 2 in group", &a);
	delivery_pump(na.d);
	CHECK_INT(pab.msg_on[0], 3);
	CHECK_INT(pab.head_on[0], 1);
	CHECK_INT(pab.msg_on[1], 2);
	CHECK_INT(pab.head_on[1], 1);
	deliver_path_first(1);
	CHECK_INT(received(&nb, 0, &s), 6);
	run(1000000);
	CHECK(delivery_stats(na.d, 0, &st) == 0);
	CHECK_INT(st.receipted, 6);

	/* South's receipts are lost: after the stall the FLASH goes again,
	 * on both paths; south takes the repeats as repeats. */
	nb.connected = false;
	counts_reset();
	submit(ENVELOPE_FLASH, "flash resent", &a);
	delivery_pump(na.d);
	run(1000000);
	CHECK_INT(received(&nb, 0, &s), 7);
	CHECK(delivery_stats(na.d, 0, &st) == 0);
	CHECK_INT(st.receipted, 6);
	nb.connected = true;
	counts_reset();
	clock_ms += DELIVERY_STALL_MS;
	delivery_tick(na.d);
	CHECK_INT(pab.msg_on[0], 1);
	CHECK_INT(pab.msg_on[1], 1);
	CHECK_INT(pab.head_on[1], 1);
	run(1000000);
	CHECK(delivery_stats(na.d, 0, &st) == 0);
	CHECK_INT(st.receipted, 7);
	CHECK_INT(st.resends, 1);

	/* Busy: a FLASH behind a message not yet receipted goes on the
	 * active path only (a copy would meet a gap at south). */
	counts_reset();
	submit(ENVELOPE_ROUTINE, "in flight", &a);
	delivery_pump(na.d);
	submit(ENVELOPE_FLASH, "flash behind", &a);
	delivery_pump(na.d);
	CHECK_INT(pab.msg_on[0], 2);
	CHECK_INT(pab.msg_on[1], 0);
	CHECK_INT(pab.head_on[1], 0);
	deliver_path_first(1);	/* (a copy would be refused: gap) */
	run(1000000);
	CHECK_INT(received(&nb, 0, &s), 9);

	/* A FLASH in parts: the active path only */
	big = malloc(DELIVERY_PART_MAX + 100);
	memset(big, 'p', DELIVERY_PART_MAX + 100);
	counts_reset();
	CHECK_INT(delivery_queue(na.d, 0, ENVELOPE_FLASH, ENVELOPE_PRIVATE,
	    ENVELOPE_TEXT, big, DELIVERY_PART_MAX + 100, &qid), 0);
	delivery_pump(na.d);
	CHECK_INT(pab.part_on[0], 2);
	CHECK_INT(pab.part_on[1], 0);
	CHECK_INT(pab.msg_on[1], 0);
	CHECK_INT(pab.head_on[1], 0);
	run(1000000);
	free(big);

	/* every message once, in order; no refusal, no drop, no warning */
	CHECK_INT(received(&nb, 0, &s), 10);
	CHECK_INT(s.bad, 0);
	CHECK(delivery_stats(nb.d, 0, &st) == 0);
	CHECK_INT(st.refused, 0);
	CHECK_INT(st.received, 10);
	CHECK(delivery_stats(na.d, 0, &st) == 0);
	CHECK_INT(st.refused, 0);
	CHECK_INT(st.receipted, 10);
	CHECK_INT(na.drops + nb.drops, drops);
	CHECK(!log_since(mark, " WARN: "));
	CHECK(!log_since(mark, " ERROR: "));
	CHECK_INT(a.n, 8);		/* the submitted ones */
	for (int i = 0; i < a.n; i++)
		CHECK_INT(a.r[i], 0);
	engines_stop(false);
	npaths = 1;
}

/*
 * FLASH copies, review cases: (1) 200 FLASH queued while the peer was
 * away go on both paths once it is back, in a few commits at each side
 * (heads shared per pump pass, not one per message: before, 200 commits
 * at each side); (2) a peer that says, in a SYNC, that it holds less than
 * it once receipted (restored from a backup) gets no copy that would
 * meet a gap there: nothing refused.
 */
static void
test_flash_copies_burst_and_restore(void)
{
	struct delivery_stats st;
	struct chain_receipt rc;
	uint8_t b[CHAIN_RECEIPT_MAX + 32], id[1][32];
	uint64_t cn, cs;
	int64_t qid;
	struct seen s;
	size_t n;
	long mark;

	npaths = 2;
	engines_start();
	mark = log_mark();
	queue_n(&na, 200, ENVELOPE_FLASH, "flash burst");
	cn = store_commits(na.s);
	cs = store_commits(nb.s);
	counts_reset();
	connect_both(true);
	run(1000000);
	CHECK_INT(received(&nb, 0, &s), 200);
	CHECK_INT(s.bad, 0);
	CHECK(pab.msg_on[1] >= 190);	/* the copies went */
	printf("  200 FLASH queued: commits north %llu, south %llu; heads on"
	    " path 0 %llu, path 1 %llu\n",
	    (unsigned long long)(store_commits(na.s) - cn),
	    (unsigned long long)(store_commits(nb.s) - cs),
	    (unsigned long long)pab.head_on[0],
	    (unsigned long long)pab.head_on[1]);
	CHECK(store_commits(na.s) - cn <= 30);
	CHECK(store_commits(nb.s) - cs <= 30);
	CHECK(delivery_stats(nb.d, 0, &st) == 0);
	CHECK_INT(st.refused, 0);

	/* South "restored": its SYNC says it holds our chain up to 150 only
	 * (signed by south; the messages above stay in its store here, so
	 * nothing it is sent meets a gap: what this checks is where the
	 * copies start). The resend from 151 and a FLASH after it (201) go
	 * on path 1 as one run that starts right after what south says it
	 * holds: 51 copies. Before, copies followed what south had once
	 * receipted: one copy, 201 alone, which a south really holding 150
	 * would refuse as a gap. */
	memset(&rc, 0, sizeof rc);
	memcpy(rc.channel, chan, 32);
	rc.receiver = 1;
	rc.seq = 150;
	CHECK_INT(store_ids_range(na.s, chan, 0, 149, 1, id), 0);
	memcpy(rc.id, id[0], 32);
	rc.time_ms = clock_ms;
	CHECK_INT(chain_receipt_sign(&rc, &nb.k), 0);
	CHECK_INT(delivery_sync_encode(&rc, false, 0, b, sizeof b, &n), 0);
	counts_reset();
	delivery_record(na.d, chan, 0, DELIVERY_REC_SYNC, b, n);
	CHECK_INT(delivery_queue(na.d, 0, ENVELOPE_FLASH, ENVELOPE_PRIVATE,
	    ENVELOPE_TEXT, (const uint8_t *)"after restore", 13, &qid), 0);
	delivery_pump(na.d);
	CHECK_INT(pab.msg_on[0], 51);
	CHECK_INT(pab.msg_on[1], 51);
	run(1000000);
	CHECK_INT(received(&nb, 0, &s), 201);
	CHECK(delivery_stats(nb.d, 0, &st) == 0);
	CHECK_INT(st.refused, 0);
	CHECK(!log_since(mark, " WARN: "));
	engines_stop(false);
	npaths = 1;
}

/*
 * Three paths: a copy run that breaks on one path (its output full at the
 * third FLASH) gets no head there: the pump's copy head goes only where
 * the run reached its seq. Path 2's records delivered first: its two
 * copies and nothing over them; refused 0, no WARN (a head at 3 there
 * was refused as a gap before).
 */
static void
test_flash_copy_head_broken_run(void)
{
	long mark;

	start_on_paths(3);
	mark = log_mark();
	queue_n(&na, 3, ENVELOPE_FLASH, "flash");
	queue_n(&na, 1, ENVELOPE_ROUTINE, "routine");
	counts_reset();
	fail_msg_path = 2;
	fail_msg_nth = 3;
	delivery_pump(na.d);
	fail_msg_path = -1;
	CHECK_INT(pab.msg_on[0], 4);
	CHECK_INT(pab.msg_on[1], 3);
	CHECK_INT(pab.msg_on[2], 2);
	CHECK_INT(pab.head_on[2], 0);
	CHECK_INT(pab.head_on[1], 1);
	deliver_path_first(2);
	run(1000000);
	flash_test_end(mark, 4);
}

/*
 * The case the copies are for: the active path's output is full (a path
 * that is up but passes nothing). A FLASH still goes as a copy, with a
 * head, on the other path, whether it leaves at its group's commit, from
 * the pump, or in a burst (queued or in one group); south stores it and
 * receipts it on that path, so north answers the waiter before the active
 * path drains. A FLASH behind a ROUTINE the full path has not carried gets
 * no copy (it would meet a gap). Once path 0 drains, it carries only what
 * south does not hold: each message stored once, nothing refused, no
 * WARN. Before, no copy left while path 0 refused the MSG.
 */
static void
test_flash_active_full(void)
{
	struct delivery_stats st;
	struct answers a, w;
	struct seen s;
	uint64_t drops = na.drops + nb.drops;
	long mark;

	start_on_paths(2);
	memset(&a, 0, sizeof a);
	memset(&w, 0, sizeof w);
	submit(ENVELOPE_ROUTINE, "before", &a);
	delivery_pump(na.d);
	run(1000000);
	CHECK_INT(received(&nb, 0, &s), 1);
	mark = log_mark();

	/* at its commit (early send), waiting for its receipt */
	full_path = 0;
	counts_reset();
	CHECK_INT(delivery_submit(na.d, 0, ENVELOPE_FLASH, ENVELOPE_PRIVATE,
	    ENVELOPE_TEXT, (const uint8_t *)"flash, path 0 full", 18, true,
	    NULL, answer, &w), 0);
	delivery_pump(na.d);
	CHECK_INT(pab.msg_on[0], 0);
	CHECK_INT(pab.msg_on[1], 1);
	CHECK_INT(pab.head_on[1], 1);
	run(1000000);
	CHECK_INT(received(&nb, 0, &s), 2);
	CHECK_INT(pba.rc_on[1], 1);
	CHECK(delivery_stats(na.d, 0, &st) == 0);
	CHECK_INT(st.receipted, 2);
	CHECK_INT(w.n, 1);		/* answered at the receipt */
	CHECK_INT(w.r[0], 0);

	/* queued (an approved one) behind a FLASH not yet receipted: its
	 * copy goes at once, not a round trip later */
	counts_reset();
	submit(ENVELOPE_FLASH, "flash, not yet receipted", &a);
	delivery_pump(na.d);
	queue_n(&na, 1, ENVELOPE_FLASH, "flash queued behind it");
	delivery_pump(na.d);
	CHECK_INT(pab.msg_on[0], 0);
	CHECK_INT(pab.msg_on[1], 2);
	run(1000000);
	CHECK_INT(received(&nb, 0, &s), 4);

	/* a burst from the pump: three FLASH queued, copies and a head */
	counts_reset();
	queue_n(&na, 3, ENVELOPE_FLASH, "flash queued, path 0 full");
	delivery_pump(na.d);
	CHECK_INT(pab.msg_on[0], 0);
	CHECK_INT(pab.msg_on[1], 3);
	CHECK(pab.head_on[1] >= 1);
	run(1000000);
	CHECK_INT(received(&nb, 0, &s), 7);

	/* a burst in one group */
	counts_reset();
	submit(ENVELOPE_FLASH, "group flash 1", &a);
	submit(ENVELOPE_FLASH, "group flash 2", &a);
	submit(ENVELOPE_FLASH, "group flash 3", &a);
	delivery_pump(na.d);
	CHECK_INT(pab.msg_on[0], 0);
	CHECK_INT(pab.msg_on[1], 3);
	CHECK(pab.head_on[1] >= 1);
	run(1000000);
	CHECK_INT(received(&nb, 0, &s), 10);
	CHECK(delivery_stats(na.d, 0, &st) == 0);
	CHECK_INT(st.receipted, 10);

	/* behind a ROUTINE that path 0 has not carried: no copy, no head */
	counts_reset();
	submit(ENVELOPE_ROUTINE, "routine, path 0 full", &a);
	delivery_pump(na.d);
	submit(ENVELOPE_FLASH, "flash behind it", &a);
	delivery_pump(na.d);
	run(1000000);
	CHECK_INT(pab.msg_on[0], 0);
	CHECK_INT(pab.msg_on[1], 0);
	CHECK_INT(pab.head_on[1], 0);
	CHECK_INT(received(&nb, 0, &s), 10);

	/* path 0 drains: the two left go, and nothing south holds */
	full_path = -1;
	counts_reset();
	delivery_pump(na.d);
	run(1000000);
	CHECK_INT(pab.msg_on[0], 2);
	CHECK_INT(received(&nb, 0, &s), 12);
	CHECK_INT(s.bad, 0);
	CHECK(delivery_stats(nb.d, 0, &st) == 0);
	CHECK_INT(st.refused, 0);
	CHECK(delivery_stats(na.d, 0, &st) == 0);
	CHECK_INT(st.refused, 0);
	CHECK_INT(st.receipted, 12);
	CHECK_INT(na.drops + nb.drops, drops);
	CHECK(!log_since(mark, " WARN: "));
	CHECK_INT(a.n, 7);
	for (int i = 0; i < a.n; i++)
		CHECK_INT(a.r[i], 0);
	engines_stop(false);
	npaths = 1;
}

/*
 * The peer signs a head over another message at a seq of its chain that
 * south holds (it forks its chain): south raises the ALARM, once as an
 * alert with the signed head as evidence, neither stores nor receipts it,
 * and goes on; a second within the minute is logged, not raised again. A
 * head "from north" there signed by another key is forged: refused, the
 * session ended, no alarm. The honest repeat of a head (a FLASH copy's)
 * is answered with the receipt again, as before.
 */
static void
test_head_equivocation(void)
{
	struct delivery_stats st;
	struct chain_head h;
	struct answers a;
	struct seen s;
	uint8_t rec[CHAIN_HEAD_MAX];
	uint64_t drops, rc;
	size_t n;

	engines_start();
	connect_both(true);
	run(1000000);
	memset(&a, 0, sizeof a);
	submit(ENVELOPE_ROUTINE, "one", &a);
	submit(ENVELOPE_ROUTINE, "two", &a);
	delivery_pump(na.d);
	run(1000000);
	CHECK_INT(received(&nb, 0, &s), 2);
	/* north's head at seq 1 over another id */
	memset(&h, 0, sizeof h);
	memcpy(h.channel, chan, 32);
	h.sender = 0;
	h.seq = 1;
	memset(h.id, 0x42, sizeof h.id);
	CHECK_INT(chain_head_sign(&h, &na.k), 0);
	CHECK_INT(chain_head_encode(&h, rec, sizeof rec, &n), 0);
	rc = pba.rc_on[0];
	delivery_record(nb.d, chan, 0, DELIVERY_REC_HEAD, rec, n);
	CHECK_INT(nb.alarms, 1);
	CHECK_CONTAINS(nb.alarm, "chain-forked: north signed another message "
	    "at seq 1 of its chain (4242424242424242)");
	CHECK_CONTAINS(nb.alarm, "the signed record: ");
	CHECK(log_has("ALARM channel"));
	CHECK_INT(pba.rc_on[0], rc);		/* not receipted */
	delivery_record(nb.d, chan, 0, DELIVERY_REC_HEAD, rec, n);
	CHECK_INT(nb.alarms, 1);		/* logged, not raised again */
	CHECK(log_has("not raised as a new alert"));
	/* forged: another key */
	drops = nb.drops;
	h.id[0] = 0x43;
	CHECK_INT(chain_head_sign(&h, &nb.k), 0);
	CHECK_INT(chain_head_encode(&h, rec, sizeof rec, &n), 0);
	delivery_record(nb.d, chan, 0, DELIVERY_REC_HEAD, rec, n);
	CHECK(nb.drops > drops);
	CHECK_INT(nb.alarms, 1);
	CHECK_INT(received(&nb, 0, &s), 2);
	CHECK(delivery_stats(nb.d, 0, &st) == 0);
	CHECK_INT(st.received, 2);
	/* the next message goes on */
	connect_both(true);
	run(1000000);
	submit(ENVELOPE_ROUTINE, "three", &a);
	delivery_pump(na.d);
	run(1000000);
	CHECK_INT(received(&nb, 0, &s), 3);
	CHECK_INT(s.bad, 0);
	engines_stop(false);
}

/*
 * A queued FLASH (an approved one, delivery_queue) does not wait for the
 * receipt of the batch in flight, as a queued ROUTINE does (group commit
 * gathers the next batch meanwhile): it is assigned and sent at once.
 */
static void
test_flash_queued_not_batched(void)
{
	struct answers a;
	struct seen s;

	engines_start();
	connect_both(true);
	run(1000000);
	memset(&a, 0, sizeof a);
	counts_reset();
	submit(ENVELOPE_ROUTINE, "in flight", &a);
	delivery_pump(na.d);
	CHECK_INT(pab.msg_on[0], 1);	/* sent, not yet receipted */
	queue_n(&na, 1, ENVELOPE_ROUTINE, "routine queued");
	delivery_pump(na.d);
	CHECK_INT(pab.msg_on[0], 1);	/* waits to batch */
	queue_n(&na, 1, ENVELOPE_FLASH, "flash queued");
	delivery_pump(na.d);
	CHECK_INT(pab.msg_on[0], 3);	/* FLASH first, the routine with it */
	run(1000000);
	CHECK_INT(received(&nb, 0, &s), 3);
	CHECK_INT(s.bad, 0);
	engines_stop(false);
}

/*
 * A duplicate session replaces path 1's while path 1 stays up (the link
 * says "up" again, link.h): the FLASH copied on the old session went with
 * it, so the next FLASH (south holds neither yet: path 0 is slow) gets no
 * copy on the new session, where it would meet a gap (refused at WARN,
 * a gap SYNC). Path 0 then carries both: nothing refused. The engine
 * restarts the run at the "up"; it was the link that did not say it
 * (it_link_api test_duplicate_swap_told).
 */
static void
test_flash_copy_run_swap(void)
{
	struct answers a;
	long mark;

	start_on_paths(2);
	mark = log_mark();
	memset(&a, 0, sizeof a);
	counts_reset();
	submit(ENVELOPE_FLASH, "flash on the old session", &a);
	delivery_pump(na.d);
	CHECK_INT(pab.msg_on[1], 1);
	drop_path(&pab, 1);	/* path 1's session replaced */
	drop_path(&pba, 1);
	delivery_path_change(na.d, chan, 1, true);
	delivery_path_change(nb.d, chan, 1, true);
	counts_reset();
	submit(ENVELOPE_FLASH, "flash on the new session", &a);
	delivery_pump(na.d);
	CHECK_INT(pab.msg_on[0], 1);
	CHECK_INT(pab.msg_on[1], 0);
	CHECK_INT(pab.head_on[1], 0);
	deliver_path_first(1);
	run(1000000);
	flash_test_end(mark, 2);
}

/* The same on the active path: its session replaced while up, what was
 * queued on the old one went with it. The sender goes back to what the
 * peer holds and both sides SYNC, as at a change of active path: the
 * next message is not refused for a gap, and nothing is lost. */
static void
test_active_session_swap(void)
{
	struct answers a;
	long mark;

	start_on_paths(2);
	mark = log_mark();
	memset(&a, 0, sizeof a);
	submit(ENVELOPE_ROUTINE, "routine on the old session", &a);
	delivery_pump(na.d);
	drop_path(&pab, 0);	/* path 0's session replaced */
	drop_path(&pba, 0);
	delivery_path_change(na.d, chan, 0, true);
	delivery_path_change(nb.d, chan, 0, true);
	submit(ENVELOPE_ROUTINE, "routine on the new session", &a);
	delivery_pump(na.d);
	run(1000000);
	flash_test_end(mark, 2);
}

int
main(void)
{
	if (delivery_harness_open("test_delivery_flash") != 0)
		return 1;
	RUN(test_flash_every_path);
	RUN(test_flash_copies_burst_and_restore);
	RUN(test_flash_copy_head_broken_run);
	RUN(test_flash_active_full);
	RUN(test_flash_queued_not_batched);
	RUN(test_head_equivocation);
	RUN(test_flash_copy_run_swap);
	RUN(test_active_session_swap);
	delivery_harness_close();
	return harness_summary();
}
