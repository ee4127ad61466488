/*
 * test_delivery_slow.c: a slow or full path between two delivery engines
 * wired through memory (delivery_harness.h): nothing resent that is only
 * slow, a body in parts resumed after a full output and after a rolled-back
 * group commit; a FLASH behind bodies on a slow path waits behind what the
 * path holds and one batch, not a window of bodies; a receipt or SYNC
 * refused by a full output is sent at the next tick.
 */
#include "delivery_harness.h"

/*
 * A slow path is not a stall: while the active path's session still has
 * bytes to send (io.queued), no receipt for DELIVERY_STALL_MS resends
 * nothing (the copies would only queue behind what is on its way, and
 * delay what comes after: 24 s for a short message behind 2.4 MB at
 * 200 KB/s, it_flash test_slow_path_no_resend); once it drained, the
 * stall timer runs from then.
 */
static void
test_slow_path_no_resend(void)
{
	struct delivery_stats st;
	uint64_t resends;

	engines_start();
	connect_both(true);
	run(1000000);
	CHECK_INT(delivery_stats(na.d, 0, &st), 0);
	resends = st.resends;
	queue_n(&na, 1, ENVELOPE_ROUTINE, "on a slow path");
	delivery_pump(na.d);		/* sent; south gets nothing yet */
	na.queued = 1000;
	for (int k = 0; k < 100; k++) {	/* 10 s */
		clock_ms += 100;
		delivery_tick(na.d);
	}
	CHECK_INT(delivery_stats(na.d, 0, &st), 0);
	CHECK_INT((int)(st.resends - resends), 0);
	na.queued = 0;			/* drained, still no receipt */
	for (int k = 0; k < DELIVERY_STALL_MS / 100 - 1; k++) {
		clock_ms += 100;
		delivery_tick(na.d);
	}
	CHECK_INT(delivery_stats(na.d, 0, &st), 0);
	CHECK_INT((int)(st.resends - resends), 0);
	clock_ms += 200;
	delivery_tick(na.d);
	CHECK_INT(delivery_stats(na.d, 0, &st), 0);
	CHECK_INT((int)(st.resends - resends), 1);
	run(1000000);			/* the path delivers at last */
	CHECK_INT(delivery_stats(na.d, 0, &st), 0);
	CHECK_INT((int)st.receipted, (int)st.assigned);
	engines_stop(false);
}

/*
 * A body in parts that meets a full output (the wire holds 150 KB until
 * read: a slow path, or the link pacing its bulk) goes on from the part
 * that was refused, each time the output takes more: 300 KB goes as its
 * 5 parts, once each. Before, each pump sent it again from its first
 * part, behind the parts still on their way (at the receiver repeats;
 * on the wire, duplicates queued behind duplicates).
 */
static void
test_body_resumes_after_full(void)
{
	struct delivery_stats st;
	struct seen seen;
	uint8_t *body = malloc(300000);
	uint64_t parts0;
	int64_t qid;

	engines_start();
	connect_both(true);
	run(1000000);
	CHECK_INT(delivery_stats(nb.d, 0, &st), 0);
	parts0 = pab.part_on[0];
	memset(body, 'p', 300000);
	wire_cap = 150000;
	CHECK(delivery_queue(na.d, 0, ENVELOPE_ROUTINE, ENVELOPE_PRIVATE,
	    ENVELOPE_TEXT, body, 300000, &qid) == 0);
	delivery_pump(na.d);
	CHECK_INT((int)(pab.part_on[0] - parts0), 2);	/* 120 KB of it */
	/* the path delivers one record at a time; north pumps after each */
	for (int k = 0; k < 100 && pab.head < pab.tail; k++) {
		struct rec r = pab.q[pab.head++ % QCAP];
		delivery_record(nb.d, chan, r.path, r.type, r.b, r.n);
		free(r.b);
		while (pba.head < pba.tail) {	/* south's answers */
			r = pba.q[pba.head++ % QCAP];
			delivery_record(na.d, chan, r.path, r.type, r.b, r.n);
			free(r.b);
		}
		delivery_pump(na.d);
	}
	wire_cap = 0;
	run(1000000);
	printf("  300 KB through a wire of 150 KB: %llu parts sent\n",
	    (unsigned long long)(pab.part_on[0] - parts0));
	CHECK_INT((int)(pab.part_on[0] - parts0), 5);
	CHECK_INT(received(&nb, 0, &seen), 1);
	CHECK_INT(delivery_stats(nb.d, 0, &st), 0);
	CHECK_INT((int)st.refused, 0);
	CHECK_INT(delivery_stats(na.d, 0, &st), 0);
	CHECK_INT((int)st.receipted, 1);
	free(body);
	engines_stop(false);
}

/*
 * A body in parts sent early (the group commit) stops at a full output
 * (120 KB of 300 KB on a wire holding 150 KB), then its commit fails:
 * nothing of it was taken by south, its seq is given back and the next
 * body in parts gets it. That one goes from its first part, not from
 * where the rolled-back one stopped (c->part_seq): south takes it whole
 * and refuses nothing. Before, it went from offset 120000: south refused
 * that part as out of order, and the message waited for a stall.
 */
static void
test_body_resume_after_rollback(void)
{
	struct delivery_stats st;
	struct answers a;
	struct seen seen;
	char path[] = "/tmp/parley-test-rollback-XXXXXX";
	uint8_t *body = malloc(300000);
	uint64_t parts0;
	int64_t qid;

	file_store(&na, path);		/* its writes can be made to fail */
	engines_start();
	connect_both(true);
	run(1000000);
	memset(&a, 0, sizeof a);
	memset(body, 'a', 300000);
	parts0 = pab.part_on[0];
	wire_cap = 150000;
	CHECK_INT(delivery_submit(na.d, 0, ENVELOPE_ROUTINE, ENVELOPE_PRIVATE,
	    ENVELOPE_TEXT, body, 300000, false, NULL, answer, &a), 0);
	store_fail_writes(100);
	delivery_pump(na.d);
	store_fail_writes(0);
	CHECK_INT(a.n, 1);
	CHECK(a.r[0] != 0);		/* not queued */
	CHECK_INT((int)(pab.part_on[0] - parts0), 2);	/* early: 120 KB */
	wire_cap = 0;
	memset(body, 'b', 300000);
	CHECK(delivery_queue(na.d, 0, ENVELOPE_ROUTINE, ENVELOPE_PRIVATE,
	    ENVELOPE_TEXT, body, 300000, &qid) == 0);
	delivery_pump(na.d);
	run(1000000);
	printf("  parts sent: %llu\n",
	    (unsigned long long)(pab.part_on[0] - parts0));
	CHECK_INT((int)(pab.part_on[0] - parts0), 7);	/* 2, then 5 */
	CHECK_INT(received(&nb, 0, &seen), 1);
	CHECK_INT(seen.bad, 0);
	CHECK_INT(delivery_stats(nb.d, 0, &st), 0);
	CHECK_INT((int)st.refused, 0);
	CHECK_INT(delivery_stats(na.d, 0, &st), 0);
	CHECK_INT((int)st.receipted, 1);
	CHECK_INT((int)st.resends, 0);
	free(body);
	engines_stop(false);
	unlink_store(path);
}

/* --- FLASH behind bodies on a slow path -------------------------------- */

/* The slow path delivers one record at a time, north pumping after each
 * (as the daemon does after every event), until nothing moves; at k ==
 * flash_at (when >= 0) north's FLASH comes: queued, or submitted. Returns
 * how many of north's messages south held when it first held the FLASH
 * (the FLASH's seq when it was stored without waiting for those after
 * it); 0 when it never did. */
static uint64_t
slow_path_drain(int flash_at, bool submitted, struct answers *a)
{
	uint64_t with_flash = 0;
	struct seen s;

	for (int k = 0; k < 1000; k++) {
		struct rec r;
		if (k == flash_at && submitted)
			submit(ENVELOPE_FLASH, "FLASH behind bodies", a);
		else if (k == flash_at)
			queue_n(&na, 1, ENVELOPE_FLASH, "FLASH behind bodies");
		if (pab.head == pab.tail && k > flash_at)
			break;
		if (pab.head < pab.tail) {
			r = pab.q[pab.head++ % QCAP];
			delivery_record(nb.d, chan, r.path, r.type, r.b, r.n);
			free(r.b);
		}
		while (pba.head < pba.tail) {	/* south's answers */
			r = pba.q[pba.head++ % QCAP];
			delivery_record(na.d, chan, r.path, r.type, r.b, r.n);
			free(r.b);
		}
		delivery_pump(na.d);
		if (with_flash == 0 && (received(&nb, 0, &s), s.flash_seq))
			with_flash = s.next - 1;
	}
	wire_cap = 0;
	run(1000000);
	return with_flash;
}

/* North sends n bodies of 50 KB, one per turn of the loop (the daemon's
 * control requests), each followed in the next turn by a short note when
 * notes; answered into a. */
static void
submit_bodies(int n, bool notes, struct answers *a)
{
	uint8_t *body = malloc(50000);

	for (int i = 0; i < n; i++) {
		memset(body, 'a' + i, 50000);
		CHECK_INT(delivery_submit(na.d, 0, ENVELOPE_ROUTINE,
		    ENVELOPE_PRIVATE, ENVELOPE_TEXT, body, 50000, false, NULL,
		    answer, a), 0);
		delivery_pump(na.d);
		if (notes) {
			submit(ENVELOPE_ROUTINE, "a short note", a);
			delivery_pump(na.d);
		}
	}
	free(body);
}

/* North queues n bodies of 50 KB (delivery_queue: not yet assigned). */
static void
queue_bodies(int n)
{
	uint8_t *body = malloc(50000);
	int64_t qid;

	for (int i = 0; i < n; i++) {
		memset(body, 'a' + i, 50000);
		CHECK(delivery_queue(na.d, 0, ENVELOPE_ROUTINE,
		    ENVELOPE_PRIVATE, ENVELOPE_TEXT, body, 50000, &qid) == 0);
	}
	free(body);
}

/*
 * Twenty bodies of 50 KB queued on a slow path (the wire holds 150 KB:
 * the link's bulk cap), then a FLASH: it is assigned behind what the
 * path holds (three bodies) and at most one batch of DELIVERY_BATCH_BYTES
 * (the one that reaches 128 KiB ends it: three more), so at seq 7 at the
 * latest, not behind every body the window (256 messages) would take.
 * Before, all twenty were assigned at once and the FLASH was seq 21: on
 * a path of 20 kB/s, 50 s late where it is now 15 s at most
 * (docs/delivery.md "Slow paths"). All 21 reach south once, in order.
 */
static void
test_flash_behind_queued_bodies(void)
{
	struct delivery_stats st;
	uint64_t with_flash;
	struct seen s;

	engines_start();
	connect_both(true);
	run(1000000);
	wire_cap = 150000;
	queue_bodies(20);
	delivery_pump(na.d);
	with_flash = slow_path_drain(1, false, NULL);
	CHECK_INT(received(&nb, 0, &s), 21);
	CHECK_INT(s.bad, 0);
	printf("  FLASH queued behind 20 x 50 KB: seq %llu, stored when "
	    "south held %llu\n", (unsigned long long)s.flash_seq,
	    (unsigned long long)with_flash);
	CHECK(s.flash_seq >= 2 && s.flash_seq <= 7);
	CHECK_INT((int)with_flash, (int)s.flash_seq);
	CHECK_INT(delivery_stats(nb.d, 0, &st), 0);
	CHECK_INT((int)st.refused, 0);
	CHECK_INT(delivery_stats(na.d, 0, &st), 0);
	CHECK_INT((int)st.receipted, 21);
	engines_stop(false);
}

/* The end of a FLASH submitted behind bodies (what: printed): all n
 * sends answered ok, south holds north's 1..n in order, the FLASH at
 * max_seq at the latest and stored as soon as it came (with_flash). */
static void
flash_submitted_end(const struct answers *a, int n, uint64_t with_flash,
    uint64_t max_seq, const char *what)
{
	struct seen s;

	CHECK_INT(a->n, n);
	for (int i = 0; i < a->n; i++)
		CHECK_INT(a->r[i], 0);
	CHECK_INT(received(&nb, 0, &s), n);
	CHECK_INT(s.bad, 0);
	printf("  FLASH submitted behind %s: seq %llu, stored when south "
	    "held %llu\n", what, (unsigned long long)s.flash_seq,
	    (unsigned long long)with_flash);
	CHECK(s.flash_seq >= 2 && s.flash_seq <= max_seq);
	CHECK_INT((int)with_flash, (int)s.flash_seq);
	engines_stop(false);
}

/*
 * The same through the group commit, one send of 50 KB per turn of the
 * loop (the daemon's control requests): a body goes straight into the
 * chain only while the path has taken all assigned before it, so the
 * sends that come while it has not are queued, and the FLASH submitted
 * after them is assigned ahead of them (seq 7 at the latest, as above;
 * 21 before). Each send is answered ok, the FLASH too.
 */
static void
test_flash_behind_submitted_bodies(void)
{
	struct answers a = { 0 };

	engines_start();
	connect_both(true);
	run(1000000);
	wire_cap = 150000;
	submit_bodies(20, false, &a);
	flash_submitted_end(&a, 21, slow_path_drain(1, true, &a), 7,
	    "20 x 50 KB");
}

/*
 * A FLASH and a body of 100 KB sent in one turn (one group) on a slow
 * path: the FLASH takes seq 1 and is stored at south under its own head,
 * without waiting for the body (before: one head over both, so south
 * stored the FLASH only once the body had passed the path).
 */
static void
test_flash_with_body_in_group(void)
{
	uint8_t *body = malloc(100000);
	struct answers a = { 0 };
	uint64_t with_flash;
	struct seen s;

	engines_start();
	connect_both(true);
	run(1000000);
	wire_cap = 150000;
	memset(body, 'b', 100000);
	CHECK_INT(delivery_submit(na.d, 0, ENVELOPE_ROUTINE, ENVELOPE_PRIVATE,
	    ENVELOPE_TEXT, body, 100000, false, NULL, answer, &a), 0);
	submit(ENVELOPE_FLASH, "FLASH with a body", &a);
	delivery_pump(na.d);
	with_flash = slow_path_drain(-1, false, NULL);
	CHECK_INT(a.n, 2);
	CHECK_INT(a.r[0], 0);
	CHECK_INT(a.r[1], 0);
	CHECK_INT(received(&nb, 0, &s), 2);
	CHECK_INT(s.bad, 0);
	CHECK_INT((int)s.flash_seq, 1);
	CHECK_INT((int)with_flash, 1);
	free(body);
	engines_stop(false);
}

/*
 * As test_flash_behind_submitted_bodies, but each body of 50 KB is
 * followed, in the next turn, by a short note (a group with no body of
 * its own): the note must not take the bodies queued before it into the
 * chain while the path has not taken what was assigned before them, else
 * every note adds a batch ahead of the FLASH. The FLASH is at seq 14 at
 * the latest (what the path holds and one batch, with the notes between
 * them); before the fix, each note assigned the bodies queued behind the
 * full path, and the FLASH came after all 40.
 */
static void
test_flash_behind_bodies_and_notes(void)
{
	struct answers a = { 0 };

	engines_start();
	connect_both(true);
	run(1000000);
	wire_cap = 150000;
	submit_bodies(20, true, &a);
	flash_submitted_end(&a, 41, slow_path_drain(1, true, &a), 14,
	    "20 x (50 KB, a note)");
}

/*
 * Bodies queued behind a full slow path go into the chain once the path
 * has taken all assigned before them, not after the peer's receipt: six
 * sends of 50 KB, one per turn, on a wire that holds 150 KB; south's
 * answers (its receipts) are held back while north's records drain. All
 * six reach south before any receipt comes back. Before, the pump waited
 * for the receipt of all assigned (the group commit's gate) once the
 * bodies sent straight into the chain had left the queue, so the path
 * went idle for a round trip and the peer's commit with bodies waiting:
 * south held 4.
 */
static void
test_bodies_follow_without_receipt(void)
{
	struct answers a = { 0 };
	struct seen s;

	engines_start();
	connect_both(true);
	run(1000000);
	wire_cap = 150000;
	submit_bodies(6, false, &a);
	for (int k = 0; k < 1000 && pab.head < pab.tail; k++) {
		struct rec r = pab.q[pab.head++ % QCAP];
		delivery_record(nb.d, chan, r.path, r.type, r.b, r.n);
		free(r.b);
		delivery_pump(na.d);	/* south's answers stay in pba */
	}
	received(&nb, 0, &s);
	printf("  6 x 50 KB behind a full path, no receipt back: south "
	    "holds %llu\n", (unsigned long long)(s.next - 1));
	CHECK_INT((int)(s.next - 1), 6);
	CHECK_INT(s.bad, 0);
	wire_cap = 0;
	run(1000000);
	CHECK_INT(a.n, 6);
	CHECK_INT(received(&nb, 0, &s), 6);
	CHECK_INT(s.bad, 0);
	engines_stop(false);
}

/*
 * test_flash_behind_queued_bodies after a restart: the twenty bodies of
 * 50 KB were queued before it, so the engine read them back as queued and
 * counted each as a possible FLASH (c->flash_queued, "at most"). While
 * the full path takes nothing, the pump assigns a queued FLASH past it
 * (flash_past_full); a batch of ROUTINE bodies is no FLASH, and says that
 * none is queued (FLASH goes first). The FLASH queued after the restart
 * (at the sixth record through the path) is at seq 7 at the latest;
 * before the fix each pump met the full path and assigned one more batch
 * of bodies, and the FLASH came after all 20 (seq 21).
 */
static void
test_flash_behind_bodies_after_restart(void)
{
	uint64_t with_flash;
	struct seen s;

	engines_start();
	connect_both(true);
	run(1000000);
	queue_bodies(20);
	engines_stop(true);		/* before any pump: all 20 queued */
	engines_start();
	connect_both(true);
	wire_cap = 150000;
	run(0);
	delivery_pump(na.d);
	with_flash = slow_path_drain(6, false, NULL);
	CHECK_INT(received(&nb, 0, &s), 21);
	CHECK_INT(s.bad, 0);
	printf("  FLASH queued behind 20 x 50 KB read back at a restart: "
	    "seq %llu, stored when south held %llu\n",
	    (unsigned long long)s.flash_seq, (unsigned long long)with_flash);
	CHECK(s.flash_seq >= 2 && s.flash_seq <= 7);
	engines_stop(false);
}

/* --- owed after a full output (docs/delivery.md, Receiver 5) --------- */

/*
 * South's output refuses everything (full) while north's messages come:
 * south stores them but its receipt, or the SYNC a gap makes it send, is
 * refused. Once the output takes records again, south's next tick (here
 * 250 ms later, far below the stall timer) sends it: north sees the five
 * receipted with no resend of their head; after a MSG lost inside the
 * session, the gap's SYNC sends north back and south gets the five
 * others. Before, both waited for north's stall resend (DELIVERY_STALL_MS
 * of silence, counted only once the path has nothing on its way: on a
 * slow path seconds to minutes).
 */
static void
test_owed_after_full(void)
{
	struct delivery_stats st;
	struct seen seen;
	uint64_t heads;

	engines_start();
	connect_both(true);
	run(1000000);
	/* the receipt */
	full_path_s = 0;
	queue_n(&na, 5, ENVELOPE_ROUTINE, "receipt owed");
	run(1000000);
	full_path_s = -1;
	CHECK_INT(received(&nb, 0, &seen), 5);
	CHECK_INT(seen.bad, 0);
	CHECK_INT(delivery_stats(na.d, 0, &st), 0);
	CHECK_INT((int)st.receipted, 0);
	heads = pab.head_on[0];
	clock_ms += 250;
	delivery_tick(na.d);
	delivery_tick(nb.d);
	run(1000000);
	CHECK_INT(delivery_stats(na.d, 0, &st), 0);
	CHECK_INT((int)st.receipted, 5);
	CHECK_INT((int)st.resends, 0);
	CHECK_INT((int)(pab.head_on[0] - heads), 0);
	/* the gap's SYNC */
	drop_type = DELIVERY_REC_MSG;	/* north's first of these is lost */
	full_path_s = 0;
	queue_n(&na, 5, ENVELOPE_ROUTINE, "sync owed");
	run(1000000);
	full_path_s = -1;
	drop_type = -1;
	CHECK_INT(received(&nb, 0, &seen), 5);
	clock_ms += 250;
	delivery_tick(na.d);
	delivery_tick(nb.d);
	run(1000000);
	CHECK_INT(received(&nb, 0, &seen), 10);
	CHECK_INT(seen.bad, 0);
	CHECK_INT(delivery_stats(na.d, 0, &st), 0);
	CHECK_INT((int)st.receipted, 10);
	engines_stop(false);
}

int
main(void)
{
	if (delivery_harness_open("test_delivery_slow") != 0)
		return 1;
	RUN(test_slow_path_no_resend);
	RUN(test_body_resumes_after_full);
	RUN(test_body_resume_after_rollback);
	RUN(test_flash_behind_queued_bodies);
	RUN(test_flash_behind_submitted_bodies);
	RUN(test_flash_with_body_in_group);
	RUN(test_flash_behind_bodies_and_notes);
	RUN(test_bodies_follow_without_receipt);
	RUN(test_flash_behind_bodies_after_restart);
	RUN(test_owed_after_full);
	delivery_harness_close();
	return harness_summary();
}
