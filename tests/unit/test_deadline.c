/*
 * test_deadline.c: the deadline watch (msg/deadline.h) and what it owes.
 * The arrival scan and the clock scan raise "owes" alerts once; alerts
 * the store could not take are raised at the next tick; one side's FLASH
 * burst does not hold back the other side's; deadline_owed (status's
 * counts, read on from where the watch stopped) matches a recount of
 * every message after each step of a mixed run, and while the start
 * reads the record in slices. The watch's scans in steps:
 * test_deadline_steps.c; ACKs and alerts: test_ack.c.
 */
#include "ack_watch.h"

static char dir[] = "/tmp/parley-test-deadline-XXXXXX";

/* The peer's FLASH text seq (prev: the id before) of time t, received
 * here at now. */
static void
receive_at(struct store *s, const uint8_t *ch, uint64_t seq,
    uint8_t prev[ENVELOPE_ID_LEN], uint64_t t, uint64_t now)
{
	peer_put(s, ch, seq, prev, ENVELOPE_TEXT, ENVELOPE_FLASH,
	    (const uint8_t *)"FLASH", 5, t, now);
}

/* Ours queued at 1000, FLASH deadline 2 s, not in the chain until 5000
 * (no path up): the clock scan at 3500 cannot see it (no id yet); the
 * arrival scan at 5500 raises "south owes", once. Then the peer's: one
 * stamped 6500 received at 6600 is not owed before its due time 8500;
 * one stamped 1000 received at 7200 (held up on the way) is owed at the
 * next scan, once; the first falls due by the clock at 9000. */
static void
test_deadline_arrival_scan(void)
{
	struct store *s = mem_store();
	struct alerter *a = NULL;
	struct deadline_watch *w = NULL;
	uint8_t ch[ENVELOPE_ID_LEN], prev[ENVELOPE_ID_LEN];
	uint32_t dl[4] = { 2, 1800, 10800, 21600 };
	uint64_t f, l;
	int64_t q;

	memset(ch, 5, sizeof ch);
	watch_open(s, ch, dl, &a, &w);
	CHECK_INT(chain_queue(s, ch, 0, ENVELOPE_FLASH, 0, ENVELOPE_TEXT,
	    (const uint8_t *)"FLASH", 5, 1000, &q), 0);
	deadline_watch_tick(w, 3000);
	deadline_watch_tick(w, 3500);
	CHECK_INT(alerts_counted(s, count_overdue), 0);
	CHECK_INT(store_assign_batch(s, ch, 0, 8, 5000, chain_store_build,
	    NULL, &f, &l), 0);
	deadline_watch_tick(w, 5500);
	deadline_watch_tick(w, 6000);
	CHECK_INT(alerts_counted(s, count_overdue), 1);

	memset(prev, 0, sizeof prev);
	receive_at(s, ch, 1, prev, 6500, 6600);
	deadline_watch_tick(w, 7000);
	CHECK_INT(alerts_counted(s, count_we_owe), 0);
	receive_at(s, ch, 2, prev, 1000, 7200);
	deadline_watch_tick(w, 7500);
	deadline_watch_tick(w, 8000);
	CHECK_INT(alerts_counted(s, count_we_owe), 1);
	deadline_watch_tick(w, 9000);
	deadline_watch_tick(w, 9500);
	CHECK_INT(alerts_counted(s, count_we_owe), 2);
	CHECK_INT(alerts_counted(s, count_overdue), 1);
	deadline_watch_free(w);
	alert_free(a);
	store_close(s);
}

/* Two FLASH of ours fall due while the store cannot take their alerts (a
 * disk error at every commit): the due listing fails, and the next tick
 * scans the same span again and raises them, once each. A person hears
 * of both at once all the same: the alert command runs for each when the
 * store refuses it ("stored": false; the listing goes on past the first
 * refusal), and not again when they are stored. */
static void
test_deadline_retried_after_store_error(void)
{
	char path[300], out[300], script[400];
	const char *argv[] = { "/bin/sh", "-c", script, NULL };
	struct store *s = NULL;
	struct alerter *a = NULL;
	struct deadline_watch *w = NULL;
	uint8_t ch[ENVELOPE_ID_LEN];
	uint32_t dl[4] = { 2, 1800, 10800, 21600 };
	uint64_t f, l, started, failed;
	uint8_t *got = NULL;
	size_t n = 0;
	int64_t q;

	snprintf(path, sizeof path, "%s/retry.db", dir);
	snprintf(out, sizeof out, "%s/retry-alerts.json", dir);
	snprintf(script, sizeof script, "cat >> %s", out);
	CHECK_INT(store_open(&s, path), 0);
	memset(ch, 6, sizeof ch);
	CHECK_INT(alert_new(s, argv, 0, &a), 0);
	CHECK_INT(deadline_watch_new(s, a, &w), 0);
	CHECK_INT(deadline_watch_add(w, ch, 0, "south", dl), 0);
	CHECK_INT(chain_queue(s, ch, 0, ENVELOPE_FLASH, 0, ENVELOPE_TEXT,
	    (const uint8_t *)"FLASH", 5, 1000, &q), 0);
	CHECK_INT(chain_queue(s, ch, 0, ENVELOPE_FLASH, 0, ENVELOPE_TEXT,
	    (const uint8_t *)"FLASH 2", 7, 1000, &q), 0);
	CHECK_INT(store_assign_batch(s, ch, 0, 8, 1000, chain_store_build,
	    NULL, &f, &l), 0);
	deadline_watch_tick(w, 2000);		/* not due yet */
	store_fail_writes(100);
	deadline_watch_tick(w, 3500);		/* due; the alerts fail */
	store_fail_writes(0);
	CHECK_INT(alerts_counted(s, count_overdue), 0);
	alert_counts(a, &started, &failed);
	CHECK_INT(started, 2);			/* both announced unstored */
	CHECK_INT(lines_at(a, 3600, out, 2, 10000), 2);
	deadline_watch_tick(w, 4000);
	deadline_watch_tick(w, 4500);
	CHECK_INT(alerts_counted(s, count_overdue), 2);
	alert_counts(a, &started, &failed);
	CHECK_INT(started, 2);			/* not run again */
	CHECK_INT(lines_at(a, 4600, out, 3, 600), 2);
	alert_counts(a, &started, &failed);
	CHECK_INT(failed, 0);
	CHECK_INT(file_read(out, 1 << 16, &got, &n), 0);
	if (got) {
		char *t = strndup((const char *)got, n);
		char *second = strchr(t, '\n');
		CHECK(second != NULL && strstr(second, "\"stored\":false") !=
		    NULL);			/* the second line too */
		CHECK_CONTAINS(t, "\"stored\":false");
		CHECK_CONTAINS(t, "\"kind\":\"ack-overdue\"");
		free(t);
	}
	free(got);
	deadline_watch_free(w);
	alert_free(a);
	store_close(s);
}

static void
owed_check_one(struct owed_run *o, unsigned c)
{
	static const uint32_t dl[4] = { 2, 5, 9, 20 };
	struct deadline_owed a[3], b[3];

	for (uint8_t self = 0; self < 2; self++)
		for (uint64_t dt = 0; dt <= 30000; dt += 2500) {
			CHECK_INT(deadline_owed(o->w, o->s, o->ch[c], self, dl,
			    o->t + dt, &a[0], &a[1], &a[2]), 0);
			CHECK_INT(deadline_owed_recount(o->s, o->ch[c], self,
			    dl, o->t + dt, &b[0], &b[1], &b[2]), 0);
			for (int k = 0; k < 3; k++) {
				CHECK_INT(a[k].count, b[k].count);
				CHECK_INT(a[k].oldest_ms, b[k].oldest_ms);
				CHECK_INT(a[k].top, b[k].top);
				CHECK_STR(a[k].oldest_id, b[k].oldest_id);
			}
		}
}

static void
owed_check(struct owed_run *o)
{
	for (unsigned c = 0; c < 2; c++)
		owed_check_one(o, c);
}

/* The watch of a daemon that starts: both channels watched, read at its
 * warm-up. */
static void
owed_start(struct owed_run *o)
{
	static const uint32_t dl[4] = { 2, 5, 9, 20 };

	CHECK_INT(deadline_watch_new(o->s, NULL, &o->w), 0);
	for (unsigned c = 0; c < 2; c++)
		CHECK_INT(deadline_watch_add(o->w, o->ch[c], 0, "south", dl), 0);
	deadline_owed_warm(o->w);
}

static void
test_owed_matches_recount(void)
{
	struct owed_run o;
	struct store *other = NULL, *mine;
	char path[300];
	uint8_t text[] = "rolled back", prev[ENVELOPE_ID_LEN];
	struct store_msg m;
	uint64_t f, l;
	size_t n;

	memset(&o, 0, sizeof o);
	o.t = 1700000000000ull;
	o.rng = 7;
	memset(o.ch[0], 0x31, ENVELOPE_ID_LEN);
	memset(o.ch[1], 0x32, ENVELOPE_ID_LEN);
	snprintf(path, sizeof path, "%s/owed.db", dir);
	CHECK_INT(store_open(&o.s, path), 0);
	CHECK_INT(deadline_watch_new(o.s, NULL, &o.w), 0);
	/* equal times, older than the rest, both sides: the oldest is the
	 * first stored; and one stamped 0 (a clock far off), which is never
	 * counted */
	for (unsigned c = 0; c < 2; c++)
		for (int i = 0; i < 3; i++) {
			owed_peer(&o, c, ENVELOPE_TEXT, 2, text, 4, o.t - 50000);
			owed_ours(&o, c, ENVELOPE_TEXT, 2, text, 4, o.t - 50000,
			    true);
		}
	owed_peer(&o, 0, ENVELOPE_TEXT, 3, text, 4, 0);
	/* older still, at one time, the later of each pair of a higher
	 * precedence: the oldest is the highest precedence's */
	for (unsigned c = 0; c < 2; c++)
		for (uint8_t p = 4; p-- > 1;) {
			owed_peer(&o, c, ENVELOPE_TEXT, p, text, 4,
			    o.t - 60000);
			owed_ours(&o, c, ENVELOPE_TEXT, p, text, 4,
			    o.t - 60000, true);
		}
	/* a record older than the watch: the first count reads it whole */
	for (int i = 0; i < 40; i++)
		owed_step(&o);
	owed_check(&o);
	CHECK(deadline_owed_kept(o.w) > 0);
	for (int i = 0; i < 160; i++) {
		owed_step(&o);
		owed_check(&o);
	}
	/* a group rolled back: its text and its ACK (of a text owed till
	 * then) leave no trace (the counts inside it are the recount's,
	 * nothing kept from there) */
	owed_peer(&o, 0, ENVELOPE_TEXT, 3, text, 4, o.t);
	memcpy(prev, o.prev[0], sizeof prev);
	n = o.nid[0][1];
	owed_check(&o);
	CHECK_INT(store_txn_begin(o.s), 0);
	owed_peer(&o, 0, ENVELOPE_TEXT, 0, text, sizeof text - 1,
	    o.t - 90000);
	owed_ack(&o, 0, 0, prev, o.t, true);
	owed_check(&o);
	store_txn_rollback(o.s);
	o.seq[0]--;			/* the peer's text is gone */
	o.nid[0][1] = n;
	memcpy(o.prev[0], prev, sizeof prev);
	CHECK_INT(store_get_at(o.s, o.ch[0], 1, o.seq[0] + 1, &m),
	    ERR_NOT_FOUND);
	owed_check(&o);
	/* its seq taken again by another text */
	owed_peer(&o, 0, ENVELOPE_TEXT, 2, text, 4, o.t - 1000);
	owed_check(&o);
	/* the same seq and qids taken again by others, after the rollback */
	for (int i = 0; i < 20; i++) {
		owed_step(&o);
		owed_check(&o);
	}
	/* another connection's writes: ours queued and assigned there, then
	 * a mixed run of texts and ACKs both ways */
	CHECK_INT(store_open(&other, path), 0);
	CHECK_INT(chain_queue(other, o.ch[0], 0, 0, 0, ENVELOPE_TEXT, text,
	    sizeof text - 1, o.t, &(int64_t){ 0 }), 0);
	CHECK_INT(store_assign_batch(other, o.ch[0], 0, 64, o.t,
	    chain_store_build, NULL, &f, &l), 0);
	owed_check(&o);
	for (int k = 0; k < 6; k++) {
		mine = o.s;
		o.s = other;
		for (int i = 0; i < 10; i++)
			owed_step(&o);
		o.s = mine;
		/* seen first inside a transaction: nothing kept from it */
		if (k == 0) {
			CHECK_INT(store_txn_begin(o.s), 0);
			owed_check(&o);
			store_txn_rollback(o.s);
		}
		owed_check(&o);
	}
	store_close(other);
	/* a restart: a new watch, read at its warm-up; more of everything */
	deadline_watch_free(o.w);
	store_close(o.s);
	CHECK_INT(store_open(&o.s, path), 0);
	owed_start(&o);
	CHECK(deadline_owed_kept(o.w) > 0);
	owed_check(&o);
	for (int i = 0; i < 100; i++) {
		owed_step(&o);
		owed_check(&o);
	}
	deadline_watch_free(o.w);
	store_close(o.s);
}

/*
 * The start's read in slices (deadline_owed_warm_step, of 4, 7 and 16
 * seqs) while the record grows between them: at every third slice, a
 * step of the random run (texts and ACKs both ways) and on each channel a
 * new text of the peer (above the read's cursor), acknowledged by us
 * three slices later, and an ACK of the peer's first text (read
 * already). Meanwhile the channels read as being
 * read, with a progress that only grows; once through, the counts are
 * the recount's, on the first channel while the second is still read. A
 * count of a channel not through reads the rest at once (the last run).
 */
static void
test_owed_warm_in_slices(void)
{
	static const uint32_t dl[4] = { 2, 5, 9, 20 };
	static const uint64_t slice[3] = { 4, 7, 16 };
	uint8_t text[] = "sent while the record is read", fresh[2][32];
	uint64_t read, of, last[2];
	bool reading[2], was[2], have[2];
	struct owed_run o;
	char path[300];
	int steps, mid;

	memset(&o, 0, sizeof o);
	o.t = 1700000000000ull;
	o.rng = 11;
	memset(o.ch[0], 0x41, ENVELOPE_ID_LEN);
	memset(o.ch[1], 0x42, ENVELOPE_ID_LEN);
	snprintf(path, sizeof path, "%s/owed-warm.db", dir);
	CHECK_INT(store_open(&o.s, path), 0);
	for (unsigned c = 0; c < 2; c++)	/* owed both ways, at least */
		for (int i = 0; i < 4; i++) {
			owed_peer(&o, c, ENVELOPE_TEXT, 1, text, 4, o.t - 40000);
			owed_ours(&o, c, ENVELOPE_TEXT, 2, text, 4, o.t - 40000,
			    true);
		}
	for (int i = 0; i < 120; i++)
		owed_step(&o);
	for (int k = 0; k < 3; k++) {
		CHECK_INT(deadline_watch_new(o.s, NULL, &o.w), 0);
		for (unsigned c = 0; c < 2; c++)
			CHECK_INT(deadline_watch_add(o.w, o.ch[c], 0, "south",
			    dl), 0);
		deadline_owed_warm_begin(o.w);
		CHECK(deadline_owed_reading(o.w, o.ch[1], &read, &of));
		CHECK_INT(read, 0);
		CHECK(of > 0);
		memset(last, 0, sizeof last);
		memset(was, 1, sizeof was);
		memset(have, 0, sizeof have);
		mid = 0;
		for (steps = 0; !deadline_owed_warm_step(o.w, slice[k], 0) &&
		    steps < 5000; steps++) {
			for (unsigned c = 0; c < 2; c++) {
				reading[c] = deadline_owed_reading(o.w,
				    o.ch[c], &read, &of);
				CHECK(was[c] || !reading[c]);	/* once */
				if (reading[c]) {
					CHECK(read >= last[c] && read <= of);
					last[c] = read;
				}
				/* the first channel through, the second
				 * not yet: counted as the recount does */
				if (c == 0 && was[0] && !reading[0] &&
				    reading[1]) {
					owed_check_one(&o, 0);
					mid++;
				}
				was[c] = reading[c];
			}
			CHECK(reading[0] || reading[1]);
			if (steps % 3 != 0)	/* the read gains on them */
				continue;
			for (unsigned c = 0; c < 2; c++) {
				if (have[c])	/* not read yet, likely */
					owed_ack(&o, c, 0, fresh[c], o.t,
					    true);
				owed_peer(&o, c, ENVELOPE_TEXT, 0, text,
				    sizeof text - 1, o.t);
				memcpy(fresh[c], o.prev[c], sizeof fresh[c]);
				have[c] = true;
				if (o.nid[c][1] > 0)	/* read already */
					owed_ack(&o, c, 0, o.ids[c][1][0],
					    o.t, true);
			}
			owed_step(&o);
			/* the last run: a count reads the rest at once */
			if (k == 2 && steps == 3) {
				CHECK(deadline_owed_reading(o.w, o.ch[1],
				    &read, &of));
				owed_check(&o);
				CHECK(!deadline_owed_reading(o.w, o.ch[0],
				    &read, &of));
				CHECK(!deadline_owed_reading(o.w, o.ch[1],
				    &read, &of));
			}
		}
		CHECK(steps >= 4 && steps < 5000);
		CHECK(k == 2 || mid == 1);
		for (unsigned c = 0; c < 2; c++)
			CHECK(!deadline_owed_reading(o.w, o.ch[c], &read,
			    &of));
		owed_check(&o);
		CHECK(deadline_owed_kept(o.w) > 0);
		for (int i = 0; i < 20; i++) {	/* and on as before */
			owed_step(&o);
			owed_check(&o);
		}
		deadline_watch_free(o.w);
	}
	store_close(o.s);
}

/* One side's FLASH burst does not hold back the other side's FLASH of
 * the same channel: 40 of ours at T (the peer owes), one of the peer's at
 * T (we owe), FLASH 2 s; the first scan through at T + 1 s; steps of no
 * time (one alert each) at T + 10 s: the peer's is raised by the second
 * step (was the 41st, after all of ours: the first sender turns now). */
static void
test_deadline_sender_turns(void)
{
	static const uint32_t dl[4] = { 2, 5, 9, 20 };
	static const uint8_t body[] = "burst";
	struct owed_run o;
	struct alerter *a = NULL;
	struct deadline_watch *w = NULL;
	int steps;

	memset(&o, 0, sizeof o);
	o.s = mem_store();
	o.t = 1700000000000ull;
	memset(o.ch[0], 0x73, ENVELOPE_ID_LEN);
	memset(o.ch[1], 0x74, ENVELOPE_ID_LEN);
	for (int i = 0; i < 40; i++)
		owed_ours(&o, 0, ENVELOPE_TEXT, ENVELOPE_FLASH, body,
		    sizeof body - 1, o.t, true);
	owed_peer(&o, 0, ENVELOPE_TEXT, ENVELOPE_FLASH, body, sizeof body - 1,
	    o.t);
	watch_open(o.s, o.ch[0], dl, &a, &w);
	for (steps = 0; steps < 100; steps++)
		if (deadline_watch_step(w, o.t + 1000, 16, 0))
			break;
	for (steps = 1; steps < 100; steps++) {
		(void)deadline_watch_step(w, o.t + 10000, 16, 0);
		if (alerts_counted(o.s, count_we_owe) > 0)
			break;
	}
	CHECK(steps <= 2);
	deadline_watch_free(w);
	alert_free(a);
	store_close(o.s);
}

int
main(void)
{
	if (!ack_tests_begin(dir))
		return 1;
	RUN(test_deadline_arrival_scan);
	RUN(test_deadline_retried_after_store_error);
	RUN(test_deadline_sender_turns);
	RUN(test_owed_matches_recount);
	RUN(test_owed_warm_in_slices);
	return ack_tests_end(dir);
}
