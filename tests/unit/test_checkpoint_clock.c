/*
 * test_checkpoint_clock.c: the checkpoint engines' durations on the
 * monotonic clock, their times of record on the wall clock. Two nodes'
 * delivery engines wired through memory (delivery_harness.h), a
 * checkpoint set on each (msg/checkpoint.h, as parleyd has them), the
 * wall clock stepped an hour back or forward (wall_step) while the
 * monotonic one runs on: checkpoints still come every interval and none
 * early; an unanswered proposal is made again after CHECKPOINT_RETRY_MS,
 * not at the step; the disk watch checks every CHECKPOINT_DISK_CHECK_MS;
 * a forged record raises one alert per ALERT_LIMIT_MS, and those held
 * back are counted in the next alert. The proposal's
 * signed time and the alerts' stored times are the wall clock's. A
 * proposal the link refuses is made again at the next tick.
 */
#include "delivery_harness.h"

#include <sqlite3.h>

#include "crypto/agreement.h"
#include "msg/alert.h"
#include "msg/checkpoint.h"
#include "store/store_int.h"

#define HOUR_MS 3600000
#define INTERVAL_MS 60000	/* the sets' checkpoint interval */

static struct checkpoint_set *cs_a, *cs_b;	/* north's, south's */
static size_t proposed;			/* PROPOSE records north sent */
static uint64_t proposed_ms;		/* the last one's signed time */
static bool lose_checkpoints;		/* north's are lost on the wire */

/* Both nodes connected, each with its checkpoint set (a checkpoint every
 * `every` messages or INTERVAL_MS). */
static void
sets_start(uint64_t every)
{
	struct delivery_io io = { io_send, io_drop, io_wake, io_now, NULL,
	    NULL, NULL, io_alarm, io_note, io_queued, io_mono };
	struct agreement ag;

	engines_start();
	connect_both(true);
	run(1000);
	memset(&ag, 0, sizeof ag);
	memcpy(ag.id, chan, 32);
	memcpy(ag.party[0].sign_pub, na.k.id.sign_pub, KEYS_PUB_LEN);
	memcpy(ag.party[1].sign_pub, nb.k.id.sign_pub, KEYS_PUB_LEN);
	io.ctx = &na;
	CHECK_INT(checkpoint_set_new(na.d, &na.k, &ag, 1, &io, every,
	    INTERVAL_MS, &cs_a), 0);
	io.ctx = &nb;
	CHECK_INT(checkpoint_set_new(nb.d, &nb.k, &ag, 1, &io, every,
	    INTERVAL_MS, &cs_b), 0);
	proposed = 0;
	proposed_ms = 0;
	lose_checkpoints = false;
}

static void
sets_stop(void)
{
	checkpoint_set_free(cs_a);
	checkpoint_set_free(cs_b);
	cs_a = cs_b = NULL;
	engines_stop(false);
}

/* Counts (and notes the time of) a proposal of north's. */
static void
note_proposal(const struct rec *r)
{
	struct checkpoint_rec *c = malloc(sizeof *c);

	CHECK(c != NULL);
	if (c != NULL && checkpoint_rec_decode(c, r->b, r->n) == 0 &&
	    c->kind == CHECKPOINT_PROPOSE) {
		proposed++;
		proposed_ms = c->cp.time_ms;
	}
	free(c);
}

/* As run(), with the checkpoint records handed to the peer's set (as
 * parleyd's link glue does), north's lost when lose_checkpoints. */
static void
move(void)
{
	bool any = true;

	for (size_t moved = 0; any && moved < 100000; moved++) {
		any = false;
		for (int i = 0; i < 2; i++) {
			struct node *x = i ? &nb : &na;
			struct pipe *p = x->out;
			struct rec r;
			if (x->woken) {
				x->woken = false;
				delivery_pump(x->d);
				any = true;
			}
			if (p->head == p->tail)
				continue;
			any = true;
			r = p->q[p->head++ % QCAP];
			if (r.type != CHECKPOINT_REC)
				delivery_record(x->peer->d, chan, r.path,
				    r.type, r.b, r.n);
			else if (x == &na) {
				note_proposal(&r);
				if (!lose_checkpoints)
					checkpoint_set_record(cs_b, chan,
					    r.path, r.b, r.n, clock_ms);
			} else
				checkpoint_set_record(cs_a, chan, r.path, r.b,
				    r.n, clock_ms);
			free(r.b);
		}
	}
}

/* North's tick at the harness's clocks; the proposals it made. */
static size_t
tick_north(void)
{
	size_t before = proposed;

	checkpoint_set_tick(cs_a, clock_ms);
	move();
	return proposed - before;
}

/* One message from north, delivered and its receipt stored: new since
 * the last checkpoint. */
static void
one_message(void)
{
	queue_n(&na, 1, ENVELOPE_ROUTINE, "due");
	move();
	delivery_flush(na.d);
}

/* The alerts of kind stored in s; *last_ms, the newest one's time. */
static int64_t
alerts_of(struct store *s, const char *kind, int64_t *last_ms)
{
	sqlite3_stmt *st = NULL;
	int64_t n = -1;

	*last_ms = -1;
	CHECK_INT(sqlite3_prepare_v2(s->db, "SELECT count(*) OVER (), time_ms "
	    "FROM alert WHERE json_extract(json, '$.kind') = ?1 ORDER BY n "
	    "DESC LIMIT 1", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		n = sqlite3_column_int64(st, 0);
		*last_ms = sqlite3_column_int64(st, 1);
	} else
		n = 0;
	sqlite3_finalize(st);
	return n;
}

static uint64_t
cosigned_north(void)
{
	const struct checkpoint_engine *e = checkpoint_set_engine(cs_a, chan);

	return e != NULL ? e->cosigned : 0;
}

/*
 * Checkpoints every INTERVAL_MS of the monotonic clock whatever the wall
 * clock does: stepped back an hour, none at the step and one after the
 * interval (signed with the stepped wall clock's time); stepped forward
 * an hour, none early.
 */
static void
test_interval_wall_steps(void)
{
	sets_start(1000);
	one_message();
	CHECK_INT(tick_north(), 0);
	wall_step(-HOUR_MS);
	CHECK_INT(tick_north(), 0);
	clock_ms += INTERVAL_MS - 1;
	CHECK_INT(tick_north(), 0);
	clock_ms += 1;
	CHECK_INT(tick_north(), 1);
	CHECK_INT(proposed_ms, clock_ms);	/* the wall clock, stepped */
	CHECK_INT(cosigned_north(), 1);
	/* the next, an interval after the co-signed one */
	one_message();
	clock_ms += INTERVAL_MS - 1;
	CHECK_INT(tick_north(), 0);
	clock_ms += 1;
	CHECK_INT(tick_north(), 1);
	CHECK_INT(cosigned_north(), 2);
	/* stepped forward an hour: none early */
	one_message();
	wall_step(HOUR_MS);
	CHECK_INT(tick_north(), 0);
	clock_ms += INTERVAL_MS - 1;
	CHECK_INT(tick_north(), 0);
	clock_ms += 1;
	CHECK_INT(tick_north(), 1);
	CHECK_INT(proposed_ms, clock_ms);
	CHECK_INT(cosigned_north(), 3);
	sets_stop();
}

/*
 * An unanswered proposal (lost on the wire; one due by its count, every
 * message here) is made again CHECKPOINT_RETRY_MS after it on the
 * monotonic clock: not at a step of the wall clock back or forward, and
 * still every CHECKPOINT_RETRY_MS after a step back.
 */
static void
test_retry_wall_steps(void)
{
	sets_start(1);
	one_message();
	lose_checkpoints = true;
	CHECK_INT(tick_north(), 1);
	wall_step(-HOUR_MS);
	CHECK_INT(tick_north(), 0);
	wall_step(2 * HOUR_MS);
	CHECK_INT(tick_north(), 0);
	clock_ms += CHECKPOINT_RETRY_MS - 1;
	CHECK_INT(tick_north(), 0);
	clock_ms += 1;
	CHECK_INT(tick_north(), 1);		/* lost again */
	wall_step(-HOUR_MS);
	CHECK_INT(tick_north(), 0);
	clock_ms += CHECKPOINT_RETRY_MS - 1;
	CHECK_INT(tick_north(), 0);
	lose_checkpoints = false;
	clock_ms += 1;
	CHECK_INT(tick_north(), 1);
	CHECK_INT(proposed_ms, clock_ms);
	CHECK_INT(cosigned_north(), 1);
	sets_stop();
}

/*
 * A proposal due by the interval alone (fewer than `every` messages new)
 * and lost is made again CHECKPOINT_RETRY_MS later, as one due by count:
 * not a whole interval later (it waited INTERVAL_MS before).
 */
static void
test_interval_proposal_retried(void)
{
	sets_start(1000);
	one_message();
	CHECK_INT(tick_north(), 0);		/* 1 of 1000: not due */
	clock_ms += INTERVAL_MS;
	lose_checkpoints = true;
	CHECK_INT(tick_north(), 1);		/* due by the interval: lost */
	clock_ms += CHECKPOINT_RETRY_MS - 1;
	CHECK_INT(tick_north(), 0);
	lose_checkpoints = false;
	clock_ms += 1;
	CHECK_INT(tick_north(), 1);		/* again, 10 s after */
	CHECK_INT(cosigned_north(), 1);
	clock_ms += CHECKPOINT_RETRY_MS;
	CHECK_INT(tick_north(), 0);		/* co-signed: nothing new */
	sets_stop();
}

/*
 * The free-space watch checks every CHECKPOINT_DISK_CHECK_MS of the
 * monotonic clock: a wall clock stepped back or forward makes no check
 * early, and a step back stops none. Its home is switched between /proc
 * (no free space at all: low) and /tmp (not low against 1 byte), so that
 * each check shows in the log; the disk-low alert is stored at the wall
 * clock's time.
 */
static void
test_disk_watch_wall_steps(void)
{
	const char *low = "free space on the filesystem of the node home "
	    "is low";
	const char *back = "is back above the threshold";
	struct alerter *al = NULL;
	char home[16] = "/proc";
	int64_t last_ms;
	long mark;

	sets_start(1000);
	CHECK_INT(alert_new(na.s, NULL, 0, &al), 0);
	checkpoint_set_alerter(cs_a, al);
	checkpoint_set_watch_disk(cs_a, home, 1);
	mark = log_mark();
	(void)tick_north();			/* the first check: low */
	CHECK(log_since(mark, low));
	snprintf(home, sizeof home, "/tmp");
	mark = log_mark();
	wall_step(-HOUR_MS);
	(void)tick_north();
	wall_step(2 * HOUR_MS);
	(void)tick_north();
	clock_ms += CHECKPOINT_DISK_CHECK_MS - 1;
	(void)tick_north();
	CHECK(!log_since(mark, back));		/* none early */
	clock_ms += 1;
	(void)tick_north();
	CHECK(log_since(mark, back));
	/* back an hour: still checked, every CHECKPOINT_DISK_CHECK_MS */
	snprintf(home, sizeof home, "/proc");
	wall_step(-HOUR_MS);
	mark = log_mark();
	clock_ms += CHECKPOINT_DISK_CHECK_MS;
	(void)tick_north();
	CHECK(log_since(mark, low));
	/* two disk-low alerts, the last at the wall clock's time */
	CHECK_INT(alerts_of(na.s, "disk-low", &last_ms), 2);
	CHECK_INT(last_ms, (int64_t)clock_ms);
	checkpoint_set_alerter(cs_a, NULL);
	alert_free(al);
	sets_stop();
}

/*
 * A proposal due by the interval alone (fewer than `every` new) that the
 * link refuses (its queue full, a session going down) is made again at
 * the next tick, as checkpoint_set_tick promises: not an interval later,
 * as if it had been sent.
 */
static void
test_refused_proposal_next_tick(void)
{
	int path;

	sets_start(1000);
	one_message();
	clock_ms += INTERVAL_MS;
	path = delivery_active_path(na.d, chan);
	CHECK(path >= 0);
	full_path = path;			/* north's output refused */
	CHECK_INT(tick_north(), 0);
	full_path = -1;
	clock_ms += 1000;			/* parleyd's next tick */
	CHECK_INT(tick_north(), 1);
	CHECK_INT(cosigned_north(), 1);
	sets_stop();
}

/* A forged proposal from north (a byte of its signature flipped) handed
 * to south's set, as if it came on path 0. */
static void
forged_to_south(const uint8_t *rec, size_t n, size_t sig_at)
{
	uint8_t *b = malloc(n);

	CHECK(b != NULL);
	if (b == NULL)
		return;
	memcpy(b, rec, n);
	b[sig_at] ^= 0x01;
	checkpoint_set_record(cs_b, chan, 0, b, n, clock_ms);
	free(b);
}

/* Where in record rec (n bytes) the proposer's signature begins. */
static size_t
signature_at(const uint8_t *rec, size_t n)
{
	struct checkpoint_rec *c = malloc(sizeof *c);
	size_t at = n;

	CHECK(c != NULL);
	if (c != NULL && checkpoint_rec_decode(c, rec, n) == 0)
		for (size_t i = 0; i + KEYS_SIG_LEN <= n && at == n; i++)
			if (memcmp(rec + i, c->cp.sig[c->cp.proposer],
			    KEYS_SIG_LEN) == 0)
				at = i;
	free(c);
	CHECK(at < n);
	return at < n ? at : 0;
}

/* Both sets started, south's with an alerter (*al), one message sent and
 * north's proposal at the interval kept from the wire: a copy of that
 * CHECKPOINT record (its size in *n; NULL when none went), for the
 * caller to forge. */
static uint8_t *
alerts_and_proposal(struct alerter **al, size_t *n)
{
	uint8_t *rec = NULL;

	sets_start(1000);
	CHECK_INT(alert_new(nb.s, NULL, 0, al), 0);
	checkpoint_set_alerter(cs_b, *al);
	one_message();
	clock_ms += INTERVAL_MS;
	lose_checkpoints = true;		/* kept here instead */
	checkpoint_set_tick(cs_a, clock_ms);
	for (size_t i = pab.head; i < pab.tail; i++)
		if (pab.q[i % QCAP].type == CHECKPOINT_REC &&
		    (rec = malloc(pab.q[i % QCAP].n)) != NULL) {
			*n = pab.q[i % QCAP].n;
			memcpy(rec, pab.q[i % QCAP].b, *n);
		}
	move();
	return rec;
}

/*
 * A forged record raises at most one alert per ALERT_LIMIT_MS of the
 * monotonic clock: one after the wall clock stepped back an hour is
 * within the period still (logged "again within 60 s", not raised); one
 * a period later is raised, stored at the wall clock's time.
 */
static void
test_alert_limit_wall_steps(void)
{
	struct alerter *al = NULL;
	uint8_t *rec = NULL;
	int64_t last_ms;
	size_t n = 0, at;
	long mark;

	rec = alerts_and_proposal(&al, &n);
	CHECK(rec != NULL);
	if (rec == NULL)
		goto out;
	at = signature_at(rec, n);
	forged_to_south(rec, n, at);
	CHECK(log_has("ALARM"));
	wall_step(-HOUR_MS);
	mark = log_mark();
	forged_to_south(rec, n, at);
	CHECK(log_since(mark, "again within 60 s"));
	clock_ms += ALERT_LIMIT_MS;
	mark = log_mark();
	forged_to_south(rec, n, at);
	CHECK(log_since(mark, "ALARM"));
	CHECK(!log_since(mark, "again within"));
	CHECK_INT(alerts_of(nb.s, "checkpoint-forged", &last_ms), 2);
	CHECK_INT(last_ms, (int64_t)clock_ms);
out:
	free(rec);
	if (cs_b != NULL)
		checkpoint_set_alerter(cs_b, NULL);
	alert_free(al);
	sets_stop();
}

/* The newest alert of kind stored in s: its text into out. */
static void
newest_text(struct store *s, const char *kind, char *out, size_t cap)
{
	sqlite3_stmt *st = NULL;

	out[0] = '\0';
	CHECK_INT(sqlite3_prepare_v2(s->db, "SELECT json_extract(json, "
	    "'$.text') FROM alert WHERE json_extract(json, '$.kind') = ?1 "
	    "ORDER BY n DESC LIMIT 1", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st,
		    0));
	sqlite3_finalize(st);
}

/*
 * The forged records held back within a period reach the operator's
 * alerts: five forged proposals raise one alert; once the period has
 * ended, south's tick raises one more saying that 4 more came (the alert
 * a following record would have carried the count in); a forged record
 * within the period after that one is held back, and the next after it
 * carries the count of 1 in its own alert.
 */
static void
test_alert_limit_count(void)
{
	struct alerter *al = NULL;
	uint8_t *rec = NULL;
	char text[2048];
	int64_t last_ms;
	size_t n = 0, at;

	rec = alerts_and_proposal(&al, &n);
	CHECK(rec != NULL);
	if (rec == NULL)
		goto out;
	at = signature_at(rec, n);
	for (int i = 0; i < 5; i++) {
		forged_to_south(rec, n, at);
		clock_ms += 1000;
		checkpoint_set_tick(cs_b, clock_ms);
	}
	CHECK_INT(alerts_of(nb.s, "checkpoint-forged", &last_ms), 1);
	newest_text(nb.s, "checkpoint-forged", text, sizeof text);
	CHECK(strstr(text, "more") == NULL);
	clock_ms += ALERT_LIMIT_MS - 5000 - 1;
	checkpoint_set_tick(cs_b, clock_ms);	/* the period not ended */
	CHECK_INT(alerts_of(nb.s, "checkpoint-forged", &last_ms), 1);
	clock_ms += 1;
	checkpoint_set_tick(cs_b, clock_ms);
	CHECK_INT(alerts_of(nb.s, "checkpoint-forged", &last_ms), 2);
	CHECK_INT(last_ms, (int64_t)clock_ms);
	newest_text(nb.s, "checkpoint-forged", text, sizeof text);
	CHECK_CONTAINS(text, "4 more alarms like the last alert came in the "
	    "60 s after it (not raised as alerts); the last of them: ");
	CHECK_CONTAINS(text, "forged or altered");
	clock_ms += 1000;
	checkpoint_set_tick(cs_b, clock_ms);		/* said once */
	CHECK_INT(alerts_of(nb.s, "checkpoint-forged", &last_ms), 2);
	/* within the period that alert started: held back */
	forged_to_south(rec, n, at);
	CHECK_INT(alerts_of(nb.s, "checkpoint-forged", &last_ms), 2);
	/* the next after it, before a tick: carries the count */
	clock_ms += ALERT_LIMIT_MS;
	forged_to_south(rec, n, at);
	CHECK_INT(alerts_of(nb.s, "checkpoint-forged", &last_ms), 3);
	newest_text(nb.s, "checkpoint-forged", text, sizeof text);
	CHECK_CONTAINS(text, "forged or altered");
	CHECK_CONTAINS(text, "(and 1 more like it came in the 60 s after the "
	    "alert before, not raised as alerts)");
	clock_ms += ALERT_LIMIT_MS;
	checkpoint_set_tick(cs_b, clock_ms);
	CHECK_INT(alerts_of(nb.s, "checkpoint-forged", &last_ms), 3);
	/* one raised, one held back, then the set stops: the count is
	 * raised at the stop, not lost with it */
	forged_to_south(rec, n, at);
	forged_to_south(rec, n, at);
	CHECK_INT(alerts_of(nb.s, "checkpoint-forged", &last_ms), 4);
	checkpoint_set_free(cs_b);
	cs_b = NULL;
	CHECK_INT(alerts_of(nb.s, "checkpoint-forged", &last_ms), 5);
	newest_text(nb.s, "checkpoint-forged", text, sizeof text);
	CHECK_CONTAINS(text, "1 more alarm like the last alert came in the "
	    "60 s after it");
out:
	free(rec);
	checkpoint_set_alerter(cs_b, NULL);
	alert_free(al);
	sets_stop();
}

int
main(void)
{
	if (delivery_harness_open("test_checkpoint_clock") != 0)
		return 1;
	RUN(test_interval_wall_steps);
	RUN(test_retry_wall_steps);
	RUN(test_interval_proposal_retried);
	RUN(test_disk_watch_wall_steps);
	RUN(test_alert_limit_wall_steps);
	RUN(test_alert_limit_count);
	RUN(test_refused_proposal_next_tick);
	delivery_harness_close();
	return harness_summary();
}
