/*
 * test_deadline_steps.c: the deadline watch's scans in steps
 * (deadline_watch_step, a few seqs and no time a step). The first scan
 * and the listings by due time raise what one whole scan of the same
 * record raises, each once, with texts arriving between the steps; a
 * step whose alerts the store refuses waits for the next tick; the clock
 * stepped back (during the first scan, inside a run of equal time_ms);
 * random arrivals, clock jumps and store failures leave every overdue
 * text alerted once. The watch's other scans and owed counts:
 * test_deadline.c.
 */
#include "ack_watch.h"

static char dir[] = "/tmp/parley-test-deadline-steps-XXXXXX";

/* The end of a watch test: the watch raised want alerts, none twice;
 * the watch, its alerter and the store closed. */
static void
watch_close(struct deadline_watch *w, struct alerter *a, struct store *s,
    uint64_t want)
{
	uint64_t raised, again;

	deadline_watch_counts(w, &raised, &again);
	CHECK_INT(raised, want);
	CHECK_INT(again, 0);
	deadline_watch_free(w);
	alert_free(a);
	store_close(s);
}

/* The keys of the ack-overdue alerts of a store, sorted, one a line. */
struct keys_seen {
	char *buf;
	size_t n, cap;
};

static int
key_row(void *arg, const struct store_alert *a)
{
	struct keys_seen *k = arg;
	size_t len = strlen(a->key);

	if (strncmp(a->key, "ack-overdue:", 12) != 0)
		return 0;
	if (k->n + len + 2 > k->cap) {
		k->cap = 2 * (k->n + len + 2);
		CHECK((k->buf = realloc(k->buf, k->cap)) != NULL);
		if (k->buf == NULL)
			return ERR_NOMEM;
	}
	memcpy(k->buf + k->n, a->key, len);
	k->n += len;
	k->buf[k->n++] = '\n';
	k->buf[k->n] = '\0';
	return 0;
}

static int
str_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* The overdue alerts' keys of s, sorted, in one string (free it); *n of
 * them. */
static char *
overdue_keys(struct store *s, size_t *n)
{
	struct keys_seen k = { NULL, 0, 0 };
	char **v = NULL, *out, *p;
	size_t m = 0, at = 0;

	CHECK_INT(store_alerts_each(s, true, key_row, &k), 0);
	*n = 0;
	if (k.buf == NULL)
		return strdup("");
	for (p = k.buf; *p != '\0'; p = strchr(p, '\n') + 1)
		m++;
	CHECK((v = calloc(m, sizeof *v)) != NULL);
	for (p = strtok(k.buf, "\n"); p != NULL && at < m;
	    p = strtok(NULL, "\n"))
		v[at++] = p;
	qsort(v, at, sizeof *v, str_cmp);
	CHECK((out = calloc(1, k.n + 1)) != NULL);
	for (size_t i = 0; i < at; i++) {
		strcat(out, v[i]);
		strcat(out, "\n");
	}
	*n = at;
	free(v);
	free(k.buf);
	return out;
}

/* A record for the first scan, the same on every call (the same ids):
 * on both channels, six texts each way at one time, every precedence,
 * long overdue; then a random run (texts both ways, some of ours left
 * queued, ACKs in time and late, equal times, time passing). */
static void
scan_record(struct owed_run *o, struct store *s)
{
	static const uint8_t text[] = "overdue at the start";

	memset(o, 0, sizeof *o);
	o->s = s;
	o->t = 1700000000000ull;
	o->rng = 23;
	memset(o->ch[0], 0x51, ENVELOPE_ID_LEN);
	memset(o->ch[1], 0x52, ENVELOPE_ID_LEN);
	for (unsigned c = 0; c < 2; c++)
		for (int i = 0; i < 6; i++) {
			owed_peer(o, c, ENVELOPE_TEXT, (uint8_t)(i % 4), text,
			    sizeof text - 1, o->t - 50000);
			owed_ours(o, c, ENVELOPE_TEXT, (uint8_t)(3 - i % 4),
			    text, sizeof text - 1, o->t - 50000, true);
		}
	for (int i = 0; i < 300; i++)
		owed_step(o);
}

/* The watch of o's two channels on o->s, with alerter a. */
static struct deadline_watch *
scan_watch(struct owed_run *o, struct alerter **a)
{
	static const uint32_t dl[4] = { 2, 5, 9, 20 };
	struct deadline_watch *w = NULL;

	CHECK_INT(alert_new(o->s, NULL, 0, a), 0);
	CHECK_INT(deadline_watch_new(o->s, *a, &w), 0);
	for (unsigned c = 0; c < 2; c++)
		CHECK_INT(deadline_watch_add(w, o->ch[c], 0, "south", dl), 0);
	return w;
}

/*
 * The first scan in steps (deadline_watch_step: listings of 1, 3 and 16
 * seqs, no time, so that a listing stops after its first alert and lists
 * its range again at the next step) raises the alerts of one whole scan
 * of the same record at the same time, each once: texts of both sides,
 * every precedence, many at one time_ms; what gets into the chains
 * between two steps (old texts of the peer, overdue at once, and ours,
 * falling due later) and what falls due by the clock while the steps go
 * on are alerted too. The first step raises one alert at most; none is
 * raised again (a listing that leaves out what is alerted).
 */
static void
test_deadline_first_scan_in_steps(void)
{
	static const uint64_t seqs[3] = { 1, 3, 16 };
	static const uint8_t late[] = "held up on the way";
	struct owed_run ref, o;
	struct alerter *ra = NULL, *a = NULL;
	struct deadline_watch *rw, *w;
	uint64_t t_end, now, raised, again;
	char *want, *got;
	size_t nwant, ngot;
	int steps;
	bool done;

	/* the reference: the arrivals first, then one whole scan */
	scan_record(&ref, mem_store());
	t_end = ref.t + 30000;
	for (int i = 0; i < 4; i++)
		for (unsigned c = 0; c < 2; c++) {
			owed_peer(&ref, c, ENVELOPE_TEXT, (uint8_t)i, late,
			    sizeof late - 1, ref.t - 90000);
			owed_ours(&ref, c, ENVELOPE_TEXT, (uint8_t)i, late,
			    sizeof late - 1, ref.t + 1000, true);
		}
	rw = scan_watch(&ref, &ra);
	deadline_watch_tick(rw, t_end);
	want = overdue_keys(ref.s, &nwant);
	deadline_watch_counts(rw, &raised, &again);
	CHECK_INT(raised, nwant);
	CHECK_INT(again, 0);
	CHECK(nwant > 100);
	for (int k = 0; k < 3; k++) {
		scan_record(&o, mem_store());
		w = scan_watch(&o, &a);
		now = o.t;
		CHECK(!deadline_watch_step(w, now, seqs[k], 0));
		deadline_watch_counts(w, &raised, &again);
		CHECK(raised <= 1);
		for (steps = 1, done = false; steps < 100000; steps++) {
			/* an arrival every 40 steps, the same as the
			 * reference's */
			if (steps % 40 == 0 && steps / 40 <= 4) {
				for (unsigned c = 0; c < 2; c++) {
					int i = steps / 40 - 1;

					owed_peer(&o, c, ENVELOPE_TEXT,
					    (uint8_t)i, late, sizeof late - 1,
					    ref.t - 90000);
					owed_ours(&o, c, ENVELOPE_TEXT,
					    (uint8_t)i, late, sizeof late - 1,
					    ref.t + 1000, true);
				}
			}
			now = now + 20 < t_end ? now + 20 : t_end;
			done = deadline_watch_step(w, now, seqs[k], 0);
			if (done && now == t_end && steps > 160)
				break;
		}
		CHECK(done && steps < 100000);
		got = overdue_keys(o.s, &ngot);
		CHECK_INT(ngot, nwant);
		CHECK_STR(got, want);
		deadline_watch_counts(w, &raised, &again);
		CHECK_INT(raised, ngot);
		CHECK_INT(again, 0);
		free(got);
		deadline_watch_free(w);
		alert_free(a);
		store_close(o.s);
	}
	free(want);
	deadline_watch_free(rw);
	alert_free(ra);
	store_close(ref.s);
}

/* A record for the listings by due time, the same on every call: on
 * channel 0 a burst at one time T (30 texts each way ROUTINE, 10 each way
 * IMMEDIATE, a few acknowledged in time), then texts at T + 250 ms ..
 * T + 5 s, three at each time, both sides, every precedence; on channel
 * 1 five texts each way. Nothing is due at T + 1 s (FLASH's 2 s). */
static void
due_record(struct owed_run *o, struct store *s)
{
	static const uint8_t text[] = "falls due with many";

	memset(o, 0, sizeof *o);
	o->s = s;
	o->t = 1700000000000ull;
	o->rng = 7;
	memset(o->ch[0], 0x61, ENVELOPE_ID_LEN);
	memset(o->ch[1], 0x62, ENVELOPE_ID_LEN);
	for (int i = 0; i < 40; i++) {
		uint8_t p = i < 30 ? ENVELOPE_ROUTINE : ENVELOPE_IMMEDIATE;

		owed_peer(o, 0, ENVELOPE_TEXT, p, text, sizeof text - 1, o->t);
		owed_ours(o, 0, ENVELOPE_TEXT, p, text, sizeof text - 1, o->t,
		    true);
	}
	for (int i = 0; i < 6; i++) {		/* in time: never alerted */
		owed_ack(o, 0, 0, o->ids[0][1][5 * i], o->t + 1000, true);
		owed_ack(o, 0, 1, o->ids[0][0][5 * i + 2], o->t + 1000, true);
	}
	for (int i = 1; i <= 20; i++)
		for (int j = 0; j < 3; j++) {
			uint8_t p = (uint8_t)((i + j) % 4);

			if ((i + j) % 2 == 0)
				owed_peer(o, 0, ENVELOPE_TEXT, p, text,
				    sizeof text - 1, o->t + 250 * (uint64_t)i);
			else
				owed_ours(o, 0, ENVELOPE_TEXT, p, text,
				    sizeof text - 1, o->t + 250 * (uint64_t)i,
				    true);
		}
	for (int i = 0; i < 5; i++) {
		owed_peer(o, 1, ENVELOPE_TEXT, (uint8_t)(i % 4), text,
		    sizeof text - 1, o->t + 100 * (uint64_t)i);
		owed_ours(o, 1, ENVELOPE_TEXT, (uint8_t)(3 - i % 4), text,
		    sizeof text - 1, o->t + 100 * (uint64_t)i, true);
	}
}

/* What comes between the steps of test_deadline_due_in_steps, before
 * step k (the reference's, all at once: k < 0). */
static void
due_arrivals(struct owed_run *o, int k)
{
	static const uint8_t late[] = "came in the burst's wake";
	uint64_t t = o->t;

	if (k < 0 || k == 7) {	/* at the burst's own time: past due */
		owed_peer(o, 0, ENVELOPE_TEXT, ENVELOPE_ROUTINE, late,
		    sizeof late - 1, t);
		owed_ours(o, 0, ENVELOPE_TEXT, ENVELOPE_ROUTINE, late,
		    sizeof late - 1, t, true);
	}
	if (k < 0 || k == 20)	/* falling due while the steps go on */
		for (int i = 0; i < 3; i++) {
			owed_peer(o, 0, ENVELOPE_TEXT, ENVELOPE_FLASH, late,
			    sizeof late - 1, t + 61000);
			owed_ours(o, 0, ENVELOPE_TEXT, ENVELOPE_IMMEDIATE,
			    late, sizeof late - 1, t + 61000, true);
		}
	if (k < 0 || k == 30)	/* the other channel's FLASH */
		owed_peer(o, 1, ENVELOPE_TEXT, ENVELOPE_FLASH, late,
		    sizeof late - 1, t + 61000);
}

/*
 * The listings by due time in steps (deadline_watch_step with no time: a
 * listing stops before its second alert of the step and goes on from its
 * cursor, due time then qid, at the next step). The first scan is
 * through at T + 1 s with nothing due; then the clock jumps to T + 60 s:
 * a burst at one time_ms (both sides, two precedences) and texts due at
 * many times are alerted one a step, each once, as one whole listing of
 * the same record alerts them; so are texts that come between the steps
 * (at the burst's own time, so among the rows of equal time_ms being
 * listed; falling due later), and a FLASH text of the other channel
 * falling due while the burst is listed is raised within two steps
 * (FLASH first). A version that passed over the rest of a time_ms at a
 * cursor, or moved a stopped listing's cursor to its end, misses some.
 */
static void
test_deadline_due_in_steps(void)
{
	struct owed_run ref, o;
	struct alerter *ra = NULL, *a = NULL;
	struct deadline_watch *rw, *w;
	uint64_t t_end, now, raised, again, before, flash_due = 0;
	char key[96], *want, *got;
	size_t nwant, ngot;
	int steps, most = 0;
	bool done;

	due_record(&ref, mem_store());
	t_end = ref.t + 70000;
	due_arrivals(&ref, -1);
	rw = scan_watch(&ref, &ra);
	deadline_watch_tick(rw, t_end);
	want = overdue_keys(ref.s, &nwant);
	/* 80 at T but 12 in time, 60 later, 10 on channel 1; 9 came */
	CHECK_INT(nwant, 80 - 12 + 60 + 10 + 9);

	due_record(&o, mem_store());
	w = scan_watch(&o, &a);
	for (steps = 0; steps < 1000; steps++)
		if (deadline_watch_step(w, o.t + 1000, 1, 0))
			break;
	deadline_watch_counts(w, &raised, &again);
	CHECK_INT(raised, 0);
	now = o.t + 60000;
	for (steps = 0, done = false; steps < 100000; steps++) {
		due_arrivals(&o, steps);
		if (steps == 30)
			flash_due = o.t + 61000 + 2000;
		deadline_watch_counts(w, &before, &again);
		done = deadline_watch_step(w, now, 1, 0);
		deadline_watch_counts(w, &raised, &again);
		CHECK(raised <= before + 1);	/* one a step */
		if (raised > before + 1)
			break;
		if (!done)
			most = steps + 1;
		if (flash_due != 0 && now >= flash_due + 50) {
			/* the other channel's FLASH, not behind the burst
			 * nor behind channel 0's three of its time: raised
			 * by the step at its due time or the next */
			snprintf(key, sizeof key, "ack-overdue:we-owe:");
			hex_encode(key + strlen(key), o.prev[1],
			    ENVELOPE_ID_LEN);
			got = overdue_keys(o.s, &ngot);
			CHECK(strstr(got, key) != NULL);
			free(got);
			flash_due = 0;
		}
		now = now + 50 < t_end ? now + 50 : t_end;
		if (done && now == t_end && steps > 40)
			break;
	}
	CHECK(done && steps < 100000);
	CHECK(most > 100);		/* the burst took many steps */
	got = overdue_keys(o.s, &ngot);
	CHECK_INT(ngot, nwant);
	CHECK_STR(got, want);
	deadline_watch_counts(w, &raised, &again);
	CHECK_INT(raised, ngot);
	CHECK_INT(again, 0);
	free(got);
	free(want);
	deadline_watch_free(w);
	alert_free(a);
	store_close(o.s);
	deadline_watch_free(rw);
	alert_free(ra);
	store_close(ref.s);
}

/* n FLASH texts of ours at time t on ch, put in the chain together. */
static void
flash_sent(struct store *s, const uint8_t *ch, int n, uint64_t t)
{
	uint64_t f, l;
	int64_t q;

	for (int i = 0; i < n; i++)
		CHECK_INT(chain_queue(s, ch, 0, ENVELOPE_FLASH, 0,
		    ENVELOPE_TEXT, (const uint8_t *)"FLASH", 5, t, &q), 0);
	CHECK_INT(store_assign_batch(s, ch, 0, (uint64_t)n, t,
	    fixed_salt_build, NULL, &f, &l), 0);
}

/*
 * A first scan in steps while the store refuses the alerts: the failing
 * step says it is done for now (the retry waits for the next tick: a
 * zero-delay retry spun on the same failing range, logging the same
 * alerts again, for as long as the store failed); once the store works,
 * the steps go through and every overdue text is alerted once.
 */
static void
test_deadline_steps_wait_after_store_error(void)
{
	char path[300];
	struct store *s = NULL;
	struct alerter *a = NULL;
	struct deadline_watch *w = NULL;
	uint8_t ch[2][ENVELOPE_ID_LEN];
	uint32_t dl[4] = { 2, 1800, 10800, 21600 };
	uint64_t raised, again;
	int steps;
	bool done = false;

	snprintf(path, sizeof path, "%s/retry-steps.db", dir);
	CHECK_INT(store_open(&s, path), 0);
	CHECK_INT(alert_new(s, NULL, 0, &a), 0);
	CHECK_INT(deadline_watch_new(s, a, &w), 0);
	for (int c = 0; c < 2; c++) {	/* two channels: the second's
					 * listing finds the time out */
		memset(ch[c], 7 + c, sizeof ch[c]);
		CHECK_INT(deadline_watch_add(w, ch[c], 0, c ? "west" : "south",
		    dl), 0);
		flash_sent(s, ch[c], 20, 1000);
	}
	store_fail_writes(1000000);
	CHECK(deadline_watch_step(w, 5000, 4, 0));
	store_fail_writes(0);
	CHECK_INT(alerts_counted(s, count_overdue), 0);
	for (steps = 0; steps < 1000 && !done; steps++)
		done = deadline_watch_step(w, 6000, 4, 0);
	CHECK(done);
	CHECK_INT(alerts_counted(s, count_overdue), 40);
	deadline_watch_counts(w, &raised, &again);
	CHECK_INT(again, 0);
	/* the same for the listings by due time: 20 more on each channel at
	 * 6,000 (due at 8,000), listed by seq before they are due; the clock
	 * jumps to 20,000 while the store refuses: that step is done for
	 * now; then each is alerted once */
	for (int c = 0; c < 2; c++) {
		flash_sent(s, ch[c], 20, 6000);
	}
	for (steps = 0, done = false; steps < 1000 && !done; steps++)
		done = deadline_watch_step(w, 6500, 4, 0);
	CHECK(done);
	store_fail_writes(1000000);
	CHECK(deadline_watch_step(w, 20000, 4, 0));
	store_fail_writes(0);
	CHECK_INT(alerts_counted(s, count_overdue), 40);
	for (steps = 0, done = false; steps < 1000 && !done; steps++)
		done = deadline_watch_step(w, 21000, 4, 0);
	CHECK(done && steps > 20);	/* one alert a step */
	CHECK_INT(alerts_counted(s, count_overdue), 80);
	watch_close(w, a, s, 80);
}

/*
 * The clock steps back during a first scan in steps: the clock's mark
 * follows it down, so a text whose range was listed while it was not due
 * yet (by the stepped-back clock) is caught by a later step's listing by
 * due time, though its due time lies below the mark before the step
 * back. Texts at 1,000, 1,000 and 5,000 ms, FLASH (due 2 s later); steps
 * of one seq and no time (a range that raises an alert is listed again
 * at the next step): two at 8,000 ms (seq 1), three at 4,000 (the clock
 * back: seq 2, and seq 3 not due yet), one at 9,000: all three alerted,
 * once (had the mark stayed at 8,000, the third never was).
 */
static void
test_deadline_steps_clock_back(void)
{
	struct store *s = mem_store();
	struct alerter *a = NULL;
	struct deadline_watch *w = NULL;
	uint8_t ch[ENVELOPE_ID_LEN];
	uint32_t dl[4] = { 2, 1800, 10800, 21600 };
	uint64_t f, l;
	const uint64_t at[3] = { 1000, 1000, 5000 };
	int64_t q;

	memset(ch, 9, sizeof ch);
	watch_open(s, ch, dl, &a, &w);
	for (int i = 0; i < 3; i++) {
		CHECK_INT(chain_queue(s, ch, 0, ENVELOPE_FLASH, 0,
		    ENVELOPE_TEXT, (const uint8_t *)"FLASH", 5, at[i], &q), 0);
		CHECK_INT(store_assign_batch(s, ch, 0, 1, at[i],
		    fixed_salt_build, NULL, &f, &l), 0);
	}
	CHECK(!deadline_watch_step(w, 8000, 1, 0));	/* seq 1 */
	CHECK(!deadline_watch_step(w, 8000, 1, 0));	/* listed again */
	CHECK_INT(alerts_counted(s, count_overdue), 1);
	CHECK(!deadline_watch_step(w, 4000, 1, 0));	/* back; seq 2 */
	CHECK(!deadline_watch_step(w, 4000, 1, 0));
	CHECK_INT(alerts_counted(s, count_overdue), 2);
	CHECK(deadline_watch_step(w, 4000, 1, 0));	/* seq 3: not due */
	CHECK_INT(alerts_counted(s, count_overdue), 2);
	CHECK(deadline_watch_step(w, 9000, 1, 0));	/* due by the clock */
	CHECK_INT(alerts_counted(s, count_overdue), 3);
	watch_close(w, a, s, 3);
}

/*
 * The clock steps back while a listing by due time is cut short inside a
 * run of equal time_ms: three FLASH texts at 1,000 ms (due at 3,000), the
 * first scan through at 1,500 (none due); a step at 5,000 (no time)
 * raises the first and stops; the clock goes back to 3,000, the run's
 * own due time: its cursor stays inside the run, and the next steps
 * raise the other two, once each (had the step back put the cursor past
 * every row at 1,000, never).
 */
static void
test_deadline_clock_back_mid_listing(void)
{
	struct store *s = mem_store();
	struct alerter *a = NULL;
	struct deadline_watch *w = NULL;
	uint8_t ch[ENVELOPE_ID_LEN];
	uint32_t dl[4] = { 2, 1800, 10800, 21600 };
	int steps;

	memset(ch, 10, sizeof ch);
	watch_open(s, ch, dl, &a, &w);
	flash_sent(s, ch, 3, 1000);
	for (steps = 0; steps < 10; steps++)
		if (deadline_watch_step(w, 1500, 1, 0))
			break;
	CHECK_INT(alerts_counted(s, count_overdue), 0);
	CHECK(!deadline_watch_step(w, 5000, 1, 0));	/* the first */
	CHECK_INT(alerts_counted(s, count_overdue), 1);
	for (steps = 0; steps < 10; steps++)		/* back */
		if (deadline_watch_step(w, 3000, 1, 0))
			break;
	CHECK_INT(alerts_counted(s, count_overdue), 3);
	CHECK(deadline_watch_step(w, 6000, 1, 0));
	watch_close(w, a, s, 3);
}

/* Counts the rows it is given. */
static int
count_row(void *arg, struct store_msg *m)
{
	(void)m;
	(*(size_t *)arg)++;
	return 0;
}

/* The texts of o's two channels overdue at t, with or without an alert:
 * every precedence and sender, from the start. */
static size_t
overdue_at(struct owed_run *o, const uint32_t dl[4], uint64_t t)
{
	size_t n = 0;

	for (unsigned c = 0; c < 2; c++)
		for (unsigned p = 0; p < 4; p++)
			for (unsigned who = 0; who < 2; who++) {
				uint64_t d = (uint64_t)dl[p] * 1000;

				CHECK_INT(store_unacked_each(o->s, o->ch[c],
				    (uint8_t)who, (uint8_t)p, 0, 0, t - d, d,
				    NULL, count_row, &n), 0);
			}
	return n;
}

/*
 * Random arrivals (times below, at and above the listings' cursors; peer
 * clocks behind and ahead; ACKs in time and late), the clock moving on,
 * jumping forward and stepping back, the store refusing a step's alerts
 * now and then, steps of 1..16 seqs and no time (each listing stops after
 * its first alert): at the end, every text overdue by the last clock is
 * alerted, each once (12 seeds; review: 60 seeds, and it catches a
 * stopped listing's cursor put at its end, the first search skipped, the
 * cursors not lowered at a step back, a cursor moved past a failed
 * alert).
 */
static void
test_deadline_random_steps(void)
{
	static const uint32_t dl[4] = { 2, 5, 9, 20 };
	static const uint8_t body[] = "random";
	for (uint32_t seed = 1; seed <= 12; seed++) {
		char path[300];
		struct owed_run o;
		struct alerter *a = NULL;
		struct deadline_watch *w = NULL;
		uint64_t now, t_end, raised, again, top = 0;
		size_t want, got;
		int steps;
		bool done = false;

		memset(&o, 0, sizeof o);
		snprintf(path, sizeof path, "%s/random-%u.db", dir, seed);
		CHECK_INT(store_open(&o.s, path), 0);
		o.t = 1700000000000ull;
		o.rng = seed * 7919;
		memset(o.ch[0], 0x71, ENVELOPE_ID_LEN);
		memset(o.ch[1], 0x72, ENVELOPE_ID_LEN);
		for (int i = 0; i < 60; i++)
			owed_step(&o);
		w = scan_watch(&o, &a);
		now = o.t;
		for (steps = 0; steps < 3000; steps++) {
			uint32_t r = owed_rand(&o, 100);
			unsigned c = owed_rand(&o, 2);
			uint8_t p = (uint8_t)owed_rand(&o, 4);
			uint64_t t = now - 30000 + owed_rand(&o, 40) * 1000;

			if (r < 8)	/* a text of the peer, any time */
				owed_peer(&o, c, ENVELOPE_TEXT, p, body,
				    sizeof body - 1, t);
			else if (r < 14)
				owed_ours(&o, c, ENVELOPE_TEXT, p, body,
				    sizeof body - 1, t, owed_rand(&o, 4) != 0);
			else if (r < 20) {
				unsigned k = owed_rand(&o, 2);

				if (o.nid[c][1 - k] > 0)
					owed_ack(&o, c, k, o.ids[c][1 - k][
					    owed_rand(&o, (uint32_t)o.nid[c][
					    1 - k])], top + 1 + owed_rand(
					    &o, 30) * 1000, true);
			} else if (r < 22)
				now += 60000;		/* a jump */
			else if (r < 25)
				now -= owed_rand(&o, 30) * 1000; /* back */
			else
				now += owed_rand(&o, 200);
			if (now > top)
				top = now;
			if (r >= 97)
				store_fail_writes(1000000);
			(void)deadline_watch_step(w, now, 1 + owed_rand(&o, 16),
			    0);
			store_fail_writes(0);
		}
		t_end = top + 1;
		for (steps = 0; steps < 100000 && !done; steps++)
			done = deadline_watch_step(w, t_end, 16, 0);
		CHECK(done);
		for (steps = 0; steps < 10; steps++)	/* all through */
			(void)deadline_watch_step(w, t_end, 16, 0);
		want = overdue_at(&o, dl, t_end);
		got = alerts_counted(o.s, count_overdue) +
		    alerts_counted(o.s, count_we_owe);
		deadline_watch_counts(w, &raised, &again);
		CHECK_INT(got, want);
		CHECK_INT(raised, want);
		CHECK_INT(again, 0);
		CHECK(want > 20);
		deadline_watch_free(w);
		alert_free(a);
		store_close(o.s);
	}
}

int
main(void)
{
	if (!ack_tests_begin(dir))
		return 1;
	RUN(test_deadline_first_scan_in_steps);
	RUN(test_deadline_steps_wait_after_store_error);
	RUN(test_deadline_steps_clock_back);
	RUN(test_deadline_due_in_steps);
	RUN(test_deadline_clock_back_mid_listing);
	RUN(test_deadline_random_steps);
	return ack_tests_end(dir);
}
