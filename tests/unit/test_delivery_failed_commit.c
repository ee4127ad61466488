/*
 * test_delivery_failed_commit.c: what a failed store commit leaves, between
 * two delivery engines wired through memory (delivery_harness.h): the
 * record's rollback, messages in doubt (sent early, then not stored), held
 * messages that block assignment until stored again, no receipt for what a
 * failed sync or group did not store, a restored peer's tail sent again.
 */
#include "delivery_harness.h"

/* The caller's record of a send (the audit log's entry) fails at its
 * fail_at-th call. */
static int fail_at;

static int
in_txn_failing(void *arg, int64_t qid)
{
	struct answers *a = arg;

	(void)qid;
	return ++a->in_txn == fail_at ? ERR_IO : 0;
}

/*
 * No send is stored without the caller's record of it (the audit log's
 * entry, written in the group's transaction). While the channel is not
 * synced the group is queued: the second record fails, so the whole group
 * is rolled back before anything leaves; every send is answered with the
 * error and none is in the store. Once synced, the group goes straight
 * into the chain and is sent early, before the records: after a failure
 * then, what left is stored again at once at its seq with its record
 * (the record's second try works), and answered as stored; were that to
 * fail too it would be ERR_DOUBT (test_doubt_after_commit_failure).
 */
static void
test_record_failure_rolls_back(void)
{
	struct answers a;
	struct delivery_stats st;
	struct store_msg m;

	engines_start();
	memset(&a, 0, sizeof a);
	fail_at = 2;
	for (int i = 0; i < 3; i++)
		CHECK_INT(delivery_submit(na.d, 0, ENVELOPE_ROUTINE,
		    ENVELOPE_PRIVATE, ENVELOPE_TEXT, (const uint8_t *)"queued",
		    6, false, in_txn_failing, answer, &a), 0);
	delivery_pump(na.d);
	CHECK_INT(a.n, 3);
	for (int i = 0; i < 3; i++) {
		CHECK_INT(a.r[i], ERR_IO);
		if (a.qid[i] > 0)
			CHECK_INT(store_get_local(na.s, a.qid[i], &m),
			    ERR_NOT_FOUND);
	}
	CHECK(delivery_stats(na.d, 0, &st) == 0);
	CHECK_INT(st.queued, 0);
	CHECK_INT(st.assigned, 0);

	/* synced: sent early, then the record fails */
	connect_both(true);
	run(1000000);
	memset(&a, 0, sizeof a);
	fail_at = 1;
	CHECK_INT(delivery_submit(na.d, 0, ENVELOPE_FLASH, ENVELOPE_PRIVATE,
	    ENVELOPE_TEXT, (const uint8_t *)"early", 5, false, in_txn_failing,
	    answer, &a), 0);
	delivery_pump(na.d);
	CHECK_INT(a.n, 1);
	CHECK_INT(a.r[0], 0);
	CHECK_INT(a.in_txn, 2);
	CHECK_INT(own_held(), 1);	/* stored again, with its record */
	/* a record that works: stored and answered */
	memset(&a, 0, sizeof a);
	fail_at = 0;
	run(1000000);
	CHECK_INT(delivery_submit(na.d, 0, ENVELOPE_ROUTINE, ENVELOPE_PRIVATE,
	    ENVELOPE_TEXT, (const uint8_t *)"after", 5, false, in_txn_failing,
	    answer, &a), 0);
	delivery_pump(na.d);
	run(1000000);
	CHECK_INT(a.n, 1);
	CHECK_INT(a.r[0], 0);
	CHECK_INT(a.in_txn, 1);
	CHECK_INT(own_held(), 2);
	engines_stop(false);
}

/*
 * The store fails at the commit of a send that already went out early
 * (a disk error while the commit's WAL bytes are written: injected in the
 * store's VFS, so north's store is a file here) and keeps failing, so the
 * message cannot be stored again at once either. The sender is answered
 * ERR_DOUBT, not a plain failure, the channel's sessions are ended, and
 * the message is held (stats); north's store holds nothing of it. Then
 * north restarts (the held copy is lost with its memory). South did get
 * the records and stored the message: its receipt names a seq past
 * north's chain, so north takes its own message back from south
 * (recovery) before anything new, and the next send follows it as seq 2.
 * Nothing lost, nothing twice, and the operator was told the outcome was
 * unknown.
 */
static void
test_doubt_after_commit_failure(void)
{
	struct delivery_stats st;
	char path[] = "/tmp/parley-test-doubt-XXXXXX";
	struct answers a;
	struct store_msg m;
	struct seen sn;
	uint64_t drops;

	file_store(&na, path);
	engines_start();
	connect_both(true);
	run(1000000);			/* SYNCs: the window is open */
	memset(&a, 0, sizeof a);
	drops = na.drops;
	CHECK_INT(delivery_submit(na.d, 0, ENVELOPE_FLASH, ENVELOPE_PRIVATE,
	    ENVELOPE_TEXT, (const uint8_t *)"in doubt", 8, false, NULL,
	    answer, &a), 0);
	store_fail_writes(100);
	delivery_pump(na.d);
	delivery_tick(na.d);		/* tries again: fails */
	CHECK_INT(a.n, 1);
	CHECK_INT(a.r[0], ERR_DOUBT);
	CHECK(na.drops > drops);	/* the sessions were ended */
	CHECK_INT(own_held(), 0);
	CHECK_INT(delivery_stats(na.d, 0, &st), 0);
	CHECK_INT(st.held_first, 1);
	CHECK_INT(st.held_last, 1);
	CHECK(log_has("cannot store our messages 1..1, sent before a failed "
	    "commit"));
	CHECK(pab.tail > pab.head);	/* MSG and HEAD were on the wire */
	/* the records reach south on the ended session (its receipt goes
	 * back to the process about to stop) */
	while (pab.head < pab.tail) {
		struct rec r = pab.q[pab.head++ % QCAP];
		delivery_record(nb.d, chan, r.path, r.type, r.b, r.n);
		free(r.b);
	}
	pipe_clear(&pba);
	CHECK_INT(received(&nb, 0, &sn), 1);
	/* north restarts, its store still failing: what it held is gone */
	delivery_free(na.d);
	store_fail_writes(0);
	CHECK(log_has("our messages 1..1, sent before a failed commit, are "
	    "lost with this stop; south's receipt decides whether they were "
	    "sent"));
	engine_start(&na);
	for (unsigned p = 0; p < npaths; p++) {	/* new sessions */
		delivery_path_change(na.d, chan, p, true);
		delivery_path_change(nb.d, chan, p, true);
	}
	CHECK_INT(delivery_stats(na.d, 0, &st), 0);
	CHECK_INT(st.held_first, 0);
	/* south's SYNC names seq 1: it brings recovery */
	run(1000000);
	CHECK(log_has("took back our messages 1..1 from south"));
	CHECK_INT(own_held(), 1);
	CHECK_INT(store_after(na.s, chan, 0, 0, 1, body_is, doubt_body), 0);
	CHECK_INT(body_matches, 1);
	/* the next send goes on from there */
	memset(&a, 0, sizeof a);
	submit(ENVELOPE_ROUTINE, "after", &a);
	delivery_pump(na.d);
	run(1000000);
	CHECK_INT(a.n, 1);
	CHECK_INT(a.r[0], 0);
	CHECK_INT(own_held(), 2);
	CHECK_INT(received(&nb, 0, &sn), 2);
	CHECK_INT(sn.bad, 0);
	CHECK_INT(store_get_local(na.s, a.qid[0], &m), 0);
	CHECK_INT(m.seq, 2);
	store_msg_fini(&m);
	engines_stop(false);
	unlink_store(path);
}

/*
 * The fork a failed commit after an early send could cause
 * (docs/delivery.md, "Early send"). Two paths; north's commit fails after
 * its message went out early on path 0, and the store keeps failing for a
 * while: ERR_DOUBT, held. Path 0 is slow (a relay, a satellite link): its
 * records are still on the way when the sessions end and path 1 comes
 * back first, with south's SYNC saying it holds nothing of north's chain.
 * The store works again by then: north stores the held message at seq 1
 * before anything else, sends it again, and its next message takes seq 2
 * (the old code gave seq 1 to the next message: two messages north signed
 * at one seq). The late records then reach south as repeats: no
 * chain-forked alarm, both stores hold the same chain, and the message
 * answered "outcome unknown" is in both.
 */
static void
test_doubt_late_on_slow_path(void)
{
	char path[] = "/tmp/parley-test-slow-XXXXXX";
	struct rec slow[8];
	size_t nslow = 0;
	struct delivery_stats st;
	struct answers a;
	uint64_t alarms = na.alarms + nb.alarms;
	long mark = log_mark();

	file_store(&na, path);
	npaths = 2;
	engines_start();
	connect_both(true);
	run(1000000);			/* synced on path 0 */
	memset(&a, 0, sizeof a);
	submit(ENVELOPE_ROUTINE, doubt_body, &a);
	store_fail_writes(100);
	delivery_pump(na.d);
	store_fail_writes(0);
	CHECK_INT(a.n, 1);
	CHECK_INT(a.r[0], ERR_DOUBT);
	CHECK_INT(own_held(), 0);
	/* MSG and HEAD on path 0, slow: held back */
	while (pab.head < pab.tail && nslow < 8)
		slow[nslow++] = pab.q[pab.head++ % QCAP];
	CHECK_INT((int)nslow, 2);
	CHECK_INT(slow[0].type, DELIVERY_REC_MSG);
	CHECK_INT(slow[0].path, 0);
	/* the sessions ended; path 1 comes back first */
	delivery_path_change(na.d, chan, 0, false);
	delivery_path_change(nb.d, chan, 0, false);
	delivery_path_change(na.d, chan, 1, true);
	delivery_path_change(nb.d, chan, 1, true);
	run(1000000);
	CHECK(log_since(mark, "our messages 1..1, sent before a failed commit, "
	    "are in the store at their seqs"));
	CHECK_INT(delivery_stats(na.d, 0, &st), 0);
	CHECK_INT(st.held_first, 0);
	CHECK(st.synced);
	CHECK_INT(st.active_path, 1);
	/* the next message */
	submit(ENVELOPE_ROUTINE, "after", &a);
	delivery_pump(na.d);
	run(1000000);
	CHECK_INT(a.n, 2);
	CHECK_INT(a.r[1], 0);
	/* the slow path's records arrive at last */
	slow_arrive(slow, nslow);
	run(1000000);
	one_chain(alarms, mark, 2);
	CHECK(!log_since(mark, "refused"));
	CHECK(chain_body_at(&na, 0, 1, doubt_body));
	CHECK(chain_body_at(&nb, 0, 1, doubt_body));
	CHECK(chain_body_at(&na, 0, 2, "after"));
	CHECK(chain_body_at(&nb, 0, 2, "after"));
	CHECK_INT(delivery_stats(na.d, 0, &st), 0);
	CHECK_INT(st.receipted, 2);
	fence_test_end(path);
}

/*
 * While a failed group's message is held, nothing new takes its seq: the
 * store fails for the held message's next try but works for the next
 * group's commit, which queues its message instead of taking seq 1; the
 * held message is stored at seq 1 at the pump's try, the new one follows
 * as seq 2, and south, which got the first records, sees one chain.
 */
static void
test_held_blocks_assignment(void)
{
	char path[] = "/tmp/parley-test-block-XXXXXX";
	struct delivery_stats st;
	struct answers a;
	struct seen sn;
	uint64_t alarms = na.alarms + nb.alarms;

	file_store(&na, path);
	engines_start();
	connect_both(true);
	run(1000000);
	memset(&a, 0, sizeof a);
	submit(ENVELOPE_ROUTINE, doubt_body, &a);
	store_fail_writes(100);
	delivery_pump(na.d);
	store_fail_writes(0);
	CHECK_INT(a.r[0], ERR_DOUBT);
	CHECK_INT(delivery_stats(na.d, 0, &st), 0);
	CHECK_INT(st.held_first, 1);
	CHECK(st.synced);
	/* the held message's try fails, the group's commit works */
	submit(ENVELOPE_ROUTINE, "after", &a);
	store_fail_writes(1);
	delivery_pump(na.d);
	store_fail_writes(0);
	CHECK_INT(a.n, 2);
	CHECK_INT(a.r[1], 0);
	run(1000000);
	CHECK_INT(na.alarms + nb.alarms, alarms);
	CHECK_INT(own_held(), 2);
	CHECK_INT(received(&nb, 0, &sn), 2);
	CHECK_INT(sn.bad, 0);
	CHECK(chain_body_at(&na, 0, 1, doubt_body));
	CHECK(chain_body_at(&nb, 0, 1, doubt_body));
	CHECK(chain_body_at(&na, 0, 2, "after"));
	CHECK(chain_body_at(&nb, 0, 2, "after"));
	engines_stop(false);
	unlink_store(path);
}

/*
 * South got the held message and receipts it while north's store still
 * fails: the receipt names a seq past north's store, but it is the held
 * message's (same id), so north waits for its own copy instead of asking
 * south for it (no recovery, no recovery-stalled alert however long the
 * disk fails); once the store works, the held message is stored, the
 * channel syncs again and the next message takes seq 2.
 */
static void
test_held_receipted_while_failing(void)
{
	char path[] = "/tmp/parley-test-heldrc-XXXXXX";
	struct delivery_stats st;
	struct answers a;
	struct seen sn;
	uint64_t alarms = na.alarms + nb.alarms;
	long mark = log_mark();

	file_store(&na, path);
	engines_start();
	connect_both(true);
	run(1000000);
	memset(&a, 0, sizeof a);
	submit(ENVELOPE_ROUTINE, doubt_body, &a);
	store_fail_writes(1000000);
	delivery_pump(na.d);
	CHECK_INT(a.r[0], ERR_DOUBT);
	run(1000000);			/* south stores it and receipts it */
	CHECK_INT(received(&nb, 0, &sn), 1);
	for (int i = 0; i < 10; i++) {
		clock_ms += DELIVERY_RECOVER_STALL_MS / 4;
		delivery_tick(na.d);
		run(1000000);
	}
	CHECK_INT(delivery_stats(na.d, 0, &st), 0);
	CHECK_INT(st.held_first, 1);
	CHECK_INT(st.recovering_to, 0);
	CHECK(!st.synced);
	CHECK_INT(na.alarms + nb.alarms, alarms);
	CHECK(!log_since(mark, "asking for ours back"));
	store_fail_writes(0);
	delivery_tick(na.d);		/* stored; its SYNC */
	run(1000000);
	CHECK_INT(delivery_stats(na.d, 0, &st), 0);
	CHECK_INT(st.held_first, 0);
	CHECK(st.synced);
	CHECK_INT(st.receipted, 1);
	submit(ENVELOPE_ROUTINE, "after", &a);
	delivery_pump(na.d);
	run(1000000);
	CHECK_INT(a.r[1], 0);
	CHECK_INT(received(&nb, 0, &sn), 2);
	CHECK_INT(sn.bad, 0);
	CHECK(chain_body_at(&na, 0, 1, doubt_body));
	CHECK(chain_body_at(&na, 0, 2, "after"));
	CHECK_INT(na.alarms + nb.alarms, alarms);
	engines_stop(false);
	unlink_store(path);
}

/*
 * A disk error at the commit of a send that went out early, and the store
 * works at the next try: the message is stored again at once at its seq
 * (with the caller's record, in_txn), so the sender is answered as for
 * any send (no ERR_DOUBT), no session is ended, and it is not sent twice
 * on the active path. A "wait" send of the same kind is answered at the
 * receipt.
 */
static void
test_commit_failure_stored_again(void)
{
	char path[] = "/tmp/parley-test-again-XXXXXX";
	struct answers a;
	struct seen sn;
	uint64_t drops, msgs, alarms = na.alarms + nb.alarms;
	long mark;

	file_store(&na, path);
	engines_start();
	connect_both(true);
	run(1000000);
	memset(&a, 0, sizeof a);
	drops = na.drops;
	msgs = pab.msgs;
	CHECK_INT(delivery_submit(na.d, 0, ENVELOPE_ROUTINE, ENVELOPE_PRIVATE,
	    ENVELOPE_TEXT, (const uint8_t *)doubt_body, strlen(doubt_body),
	    false, in_txn, answer, &a), 0);
	store_fail_writes(1);
	delivery_pump(na.d);
	store_fail_writes(0);
	CHECK_INT(a.n, 1);
	CHECK_INT(a.r[0], 0);
	CHECK_INT(a.in_txn, 2);		/* the rolled back one, then again */
	CHECK(a.qid[0] > 0);
	CHECK_INT(na.drops, drops);
	CHECK_INT(own_held(), 1);
	CHECK(chain_body_at(&na, 0, 1, doubt_body));
	run(1000000);
	CHECK_INT((int)(pab.msgs - msgs), 1);	/* sent once */
	CHECK_INT(received(&nb, 0, &sn), 1);
	/* one that waits for its receipt */
	mark = log_mark();
	CHECK_INT(delivery_submit(na.d, 0, ENVELOPE_ROUTINE, ENVELOPE_PRIVATE,
	    ENVELOPE_TEXT, (const uint8_t *)"waits", 5, true, NULL, answer,
	    &a), 0);
	store_fail_writes(1);
	delivery_pump(na.d);
	store_fail_writes(0);
	CHECK(log_since(mark, "our messages 2..2, sent before a failed commit, "
	    "are in the store at their seqs"));
	CHECK_INT(a.n, 1);		/* not before the receipt */
	run(1000000);
	CHECK_INT(a.n, 2);
	CHECK_INT(a.r[1], 0);
	CHECK_INT(received(&nb, 0, &sn), 2);
	CHECK_INT(sn.bad, 0);
	CHECK_INT(na.alarms + nb.alarms, alarms);
	engines_stop(false);
	unlink_store(path);
}

/*
 * South's store is a file (the sync work runs: its receipt is signed
 * while the commit syncs) and the sync of the commit of north's message
 * fails after that work ran, as an fdatasync error would. No RECEIPT
 * leaves for that run (the signed one is dropped), nothing is stored,
 * south's channel goes back to what its store holds; north's sender,
 * waiting for the receipt, is not answered. Once the disk works again,
 * the head north sends again (after a reconnection) is stored and
 * receipted, and the sender answered, once.
 */
static void
test_no_receipt_after_failed_sync(void)
{
	char path[] = "/tmp/parley-test-syncfail-XXXXXX";
	struct answers a;
	struct seen sn;
	uint64_t rc0;
	long mark;

	file_store(&nb, path);
	engines_start();
	connect_both(true);
	run(1000000);			/* SYNCs */
	memset(&a, 0, sizeof a);
	CHECK_INT(delivery_submit(na.d, 0, ENVELOPE_ROUTINE, ENVELOPE_PRIVATE,
	    ENVELOPE_TEXT, (const uint8_t *)"synced?", 7, true, NULL, answer,
	    &a), 0);
	delivery_pump(na.d);
	rc0 = pba.rc_on[0];
	mark = log_mark();
	store_fail_syncs(1);
	run(1000000);
	store_fail_syncs(0);
	CHECK(log_since(mark, "cannot store 1 messages from north"));
	CHECK_INT(pba.rc_on[0], rc0);	/* no receipt */
	CHECK_INT(received(&nb, 0, &sn), 0);
	CHECK_INT(a.n, 0);		/* the sender still waits */
	/* a new session: north sends again from what south holds */
	connect_both(false);
	connect_both(true);
	run(1000000);
	CHECK_INT(received(&nb, 0, &sn), 1);
	CHECK_INT(sn.bad, 0);
	CHECK(pba.rc_on[0] > rc0);
	CHECK_INT(a.n, 1);
	CHECK_INT(a.r[0], 0);
	engines_stop(false);
	unlink_store(path);
}

/*
 * A group fails at its commit while no path is up (nothing went early),
 * and the next read of the chain's end fails too: north's counters come
 * back to where they were before the group (they are not read from the
 * store, so a failed read cannot zero them: a receipt would then look
 * like a claim past our store, a recovery that never ends, and a false
 * recovery-stalled alert). The next message goes as seq 3, no alarm.
 */
static void
test_read_fails_after_failed_group(void)
{
	char path[] = "/tmp/parley-test-rdfail-XXXXXX";
	struct delivery_stats st;
	struct answers a;
	struct seen sn;
	uint64_t alarms = na.alarms + nb.alarms;

	file_store(&na, path);
	engines_start();
	connect_both(true);
	run(1000000);
	memset(&a, 0, sizeof a);
	submit(ENVELOPE_ROUTINE, "one", &a);
	submit(ENVELOPE_ROUTINE, "two", &a);
	delivery_pump(na.d);
	run(1000000);
	CHECK_INT(received(&nb, 0, &sn), 2);
	connect_both(false);
	submit(ENVELOPE_ROUTINE, "fails", &a);
	store_fail_writes(1);
	store_fail_top_at(1);
	delivery_pump(na.d);
	store_fail_writes(0);
	store_fail_top_at(0);
	CHECK_INT(a.r[2], ERR_IO);
	CHECK_INT(delivery_stats(na.d, 0, &st), 0);
	CHECK_INT(st.assigned, 2);
	connect_both(true);
	run(1000000);
	submit(ENVELOPE_ROUTINE, "after", &a);
	delivery_pump(na.d);
	ticks(100);
	CHECK_INT(delivery_stats(na.d, 0, &st), 0);
	CHECK_INT(st.recovering_to, 0);
	CHECK_INT(received(&nb, 0, &sn), 3);
	CHECK_INT(sn.bad, 0);
	CHECK(chain_body_at(&nb, 0, 3, "after"));
	CHECK_INT(na.alarms + nb.alarms, alarms);
	engines_stop(false);
	unlink_store(path);
}

/*
 * South's commit of a run fails at its sync, and the read of where its
 * store ends fails too: its verifier still goes back to the end of the
 * store, so when north sends the run again (after its stall) south stores
 * it and only then receipts it; a receipt never names a run the store
 * does not hold (north's waiter is answered only once south holds it).
 */
static void
test_no_receipt_for_unstored_run(void)
{
	char path[] = "/tmp/parley-test-unstored-XXXXXX";
	struct answers a;
	struct seen sn;

	file_store(&nb, path);
	engines_start();
	connect_both(true);
	run(1000000);
	memset(&a, 0, sizeof a);
	CHECK_INT(delivery_submit(na.d, 0, ENVELOPE_ROUTINE, ENVELOPE_PRIVATE,
	    ENVELOPE_TEXT, (const uint8_t *)"x", 1, true, NULL, answer, &a), 0);
	delivery_pump(na.d);
	run(1);				/* the MSG */
	store_fail_syncs(1);
	store_fail_top_at(2);		/* the reload's read after the run */
	run(1);				/* the HEAD: the run's commit fails */
	store_fail_syncs(0);
	store_fail_top_at(0);
	CHECK_INT(received(&nb, 0, &sn), 0);
	CHECK_INT(a.n, 0);
	for (int k = 0; k < 40; k++) {	/* north's stall: sent again */
		clock_ms += 100;
		delivery_tick(na.d);
		delivery_tick(nb.d);
		run(1000000);
		CHECK(a.n == 0 || received(&nb, 0, &sn) == 1);
	}
	CHECK_INT(received(&nb, 0, &sn), 1);
	CHECK_INT(a.n, 1);
	CHECK_INT(a.r[0], 0);
	engines_stop(false);
	unlink_store(path);
}

/*
 * South goes back to an empty store (a backup from before north's 5) and
 * its store fails once on the run north sends again: north's stall resend
 * goes from what south holds now (its SYNC), not from its older receipt,
 * so the 5 reach south within a few stalls.
 */
static void
test_restored_peer_tail_resent(void)
{
	char path[] = "/tmp/parley-test-tail-XXXXXX";
	char path2[] = "/tmp/parley-test-tail2-XXXXXX";
	struct answers a;
	struct seen sn;

	file_store(&nb, path);
	engines_start();
	connect_both(true);
	run(1000000);
	memset(&a, 0, sizeof a);
	for (int i = 0; i < 5; i++)
		submit(ENVELOPE_ROUTINE, "before", &a);
	delivery_pump(na.d);
	run(1000000);
	CHECK_INT(received(&nb, 0, &sn), 5);
	connect_both(false);
	delivery_free(nb.d);
	store_close(nb.s);
	nb.s = NULL;
	unlink_store(path);
	file_store(&nb, path2);
	engine_start(&nb);
	connect_both(true);
	run(2);				/* the SYNCs, not more */
	store_fail_syncs(1);
	run(1000000);
	store_fail_syncs(0);
	ticks(300); /* 30 s */
	CHECK_INT(received(&nb, 0, &sn), 5);
	CHECK_INT(sn.bad, 0);
	engines_stop(false);
	unlink_store(path2);
}

/*
 * A group whose commit fails at its sync (its message not sent early: the
 * active path is full) must stay failed after a kill (vfs.c NOTES 8):
 * else SQLite's WAL recovery brought it back at restart, while the next
 * group (sent early, in doubt, held, its store still failing) had given
 * its seq to another message that south stores: two messages north
 * signed at one seq, a chain-forked alarm, a stuck channel. After the
 * restart north's store holds neither, south holds C, and north takes C
 * back from south: one chain, no alarm.
 */
static void
test_failed_sync_not_resurrected(void)
{
	char pn[] = "/tmp/parley-test-resn-XXXXXX";
	char ps[] = "/tmp/parley-test-ress-XXXXXX";
	const char *a_text = "A (answered: cannot queue)";
	const char *c_text = "C (sent early, in doubt)";
	struct answers a;
	struct seen sn;
	uint64_t alarms;
	pid_t pid;
	int st = -1, fd;

	if ((fd = mkstemp(pn)) < 0 || close(fd) != 0 || unlink(pn) != 0 ||
	    (fd = mkstemp(ps)) < 0 || close(fd) != 0 || unlink(ps) != 0)
		abort();
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == 0) {
		if (store_open(&na.s, pn) != 0 || store_open(&nb.s, ps) != 0)
			_exit(2);
		engines_start();
		connect_both(true);
		run(1000000);
		memset(&a, 0, sizeof a);
		full_path = 0;
		submit(ENVELOPE_ROUTINE, a_text, &a);
		store_fail_syncs(1);
		delivery_pump(na.d);
		store_fail_syncs(0);
		full_path = -1;
		submit(ENVELOPE_ROUTINE, c_text, &a);
		store_fail_writes(1000);
		delivery_pump(na.d);
		store_fail_writes(0);
		if (a.n != 2 || a.r[0] != ERR_IO || a.r[1] != ERR_DOUBT)
			_exit(3);
		while (pab.head < pab.tail) {	/* south gets C */
			struct rec r = pab.q[pab.head++ % QCAP];
			delivery_record(nb.d, chan, r.path, r.type, r.b, r.n);
		}
		_exit(0);			/* as kill -9 */
	}
	CHECK(pid > 0);
	CHECK_INT(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK_INT(store_open(&na.s, pn), 0);
	CHECK_INT(store_open(&nb.s, ps), 0);
	CHECK_INT(own_held(), 0);		/* A stayed out */
	CHECK(chain_body_at(&nb, 0, 1, c_text));
	alarms = na.alarms + nb.alarms;
	engines_start();
	connect_both(true);
	ticks(100);
	CHECK_INT(na.alarms + nb.alarms, alarms);
	CHECK_INT(own_held(), 1);
	CHECK(chain_body_at(&na, 0, 1, c_text));
	CHECK_INT(received(&nb, 0, &sn), 1);
	engines_stop(false);
	unlink_store(pn);
	unlink_store(ps);
}

int
main(void)
{
	if (delivery_harness_open("test_delivery_failed_commit") != 0)
		return 1;
	RUN(test_doubt_after_commit_failure);
	RUN(test_record_failure_rolls_back);
	RUN(test_doubt_late_on_slow_path);
	RUN(test_commit_failure_stored_again);
	RUN(test_held_blocks_assignment);
	RUN(test_held_receipted_while_failing);
	RUN(test_no_receipt_after_failed_sync);
	RUN(test_read_fails_after_failed_group);
	RUN(test_no_receipt_for_unstored_run);
	RUN(test_restored_peer_tail_resent);
	RUN(test_failed_sync_not_resurrected);
	delivery_harness_close();
	return harness_summary();
}
