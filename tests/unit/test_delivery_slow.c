/*
 * test_delivery_slow.c: a slow or full path between two delivery engines
 * wired through memory (delivery_harness.h): nothing resent that is only
 * slow, a body in parts resumed after a full output and after a rolled-back
 * group commit.
 */
#include "delivery_harness.h"

/*
 * A slow path is not a stall: while the active path's session still has
 * bytes to send (io.queued), no receipt for DELIVERY_STALL_MS resends
 * nothing (the copies would only queue behind what is on its way, and
 * delay what comes after: 24 s for a short message behind 2.4 MB at
 * 200 KB/s, it_messages test_slow_path_resends); once it drained, the
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

int
main(void)
{
	if (delivery_harness_open("test_delivery_slow") != 0)
		return 1;
	RUN(test_slow_path_no_resend);
	RUN(test_body_resumes_after_full);
	RUN(test_body_resume_after_rollback);
	delivery_harness_close();
	return harness_summary();
}
