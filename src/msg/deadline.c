/*
 * deadline.c: watching acknowledgment deadlines and counting what is owed
 * (deadline.h).
 */
#include "msg/deadline.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/hex.h"
#include "base/log.h"
#include "msg/ack.h"
#include "store/people.h"

/* Alert keys: prefix, then the message id in lower-case hex. */
#define DEADLINE_KEY_PEER "ack-overdue:peer-owes:"
#define DEADLINE_KEY_WE "ack-overdue:we-owe:"

/* Where a listing by due time of one precedence and sender is: the
 * message time and qid of the last row it went past (message_due's
 * order). */
struct due_at {
	uint64_t time_ms;
	int64_t qid;			/* INT64_MAX: every row at time_ms */
};

struct wchan {
	uint8_t id[ENVELOPE_ID_LEN];
	uint8_t self;
	char peer[129];
	uint32_t deadline_s[4];
	uint64_t scanned_ms;		/* due times up to here are done */
	uint64_t due_to_ms;		/* the listing by due time goes to */
	struct due_at at[4][2];		/* per precedence and sender */
	uint64_t scanned_seq[2];	/* per sender: seqs up to here too */
};

/*
 * The watch's scan of a channel (scan_clock, scan_seqs), at each step:
 *  1. the clock's part of precedence p (deadline d) and sender who is
 *     the texts with (time_ms, qid) at or below at[p][who], in the order
 *     of index message_due (time, then qid: unique, so a total order).
 *     at[p][who].time_ms <= due_to_ms - d (0 when below) and scanned_ms
 *     <= due_to_ms; every text due by scanned_ms is in every clock's
 *     part (at[p][who] is at (scanned_ms - d, INT64_MAX) or past it).
 *     Every text with a seq up to scanned_seq[who] in the clock's part
 *     of its precedence, with no ACK in time, is alerted;
 *  2. the first step sets scanned_ms and due_to_ms to its now, each
 *     at[p][who] to (now - d, INT64_MAX), and lists no due times: with
 *     scanned_seq at 0, every text in the chain is above it;
 *  3. a step at now first brings due_to_ms to now: down if the clock
 *     stepped back (scanned_ms and the cursors with it, so the clock's
 *     part shrinks: 1 still holds), up otherwise; then lists by the
 *     clock, for each p and who, the texts above at[p][who] up to
 *     due_to_ms - d, in message_due's order, each moving at[p][who]
 *     onto itself once alerted (or found alerted: the query leaves those
 *     out); when the time is out the listing stops, its cursor on the
 *     last row alerted (the step raised one alert at least, so the scan
 *     goes on); a row whose alert failed holds the cursor before it
 *     (listed again at the next tick). A listing that gets to the end
 *     puts at[p][who] at (due_to_ms - d, INT64_MAX); when all eight of
 *     a channel got there in the step, scanned_ms = due_to_ms;
 *  4. then by seq, from scanned_seq up to the top it reads, at most seqs
 *     seqs a listing, what is due by now; a listing that ends before its
 *     last row (the step's time is out) moves nothing, the next step
 *     lists its range again (alerted rows are left out).
 *  So a cursor never goes past a row not alerted, and at a step's seq
 *  listing every clock's part holds only texts due by that step's now:
 *  a text its range finds not due yet lies above the cursor of its
 *  precedence, and a later listing by due time reaches it (it goes on
 *  from the cursor, with no gap: rows of equal time_ms are ordered by
 *  qid, never split nor passed over). A text in the chain when a step
 *  reads the top is alerted by the step whose seq listing reaches it, if
 *  due by then, or else by the clock listing that passes it; one that
 *  gets into the chain later has a seq above that top (a chain gets its
 *  seqs in order) and is a later step's, even if the clock's part
 *  passed its place before it came. The texts the listings by the clock
 *  raise are FLASH first, of every channel (the first channel and the
 *  first sender turn at each step), so a burst of ROUTINE texts falling
 *  due does not hold a FLASH one back, nor one side's FLASH burst the
 *  other side's. A listing stopped for time goes on from the row it
 *  stopped at, not from its cursor: every row between was left out by
 *  the query for good (not owed, or alerted; rows never change), so a
 *  step does not read them again.
 */

/*
 * status's owed counts, kept per channel and sender (deadline_owed):
 *  1. every text of the sender with seq <= seq, time above 0 and no ACK
 *     from the other party among those with qid <= ack_qid is in v, in
 *     seq order, and nothing else is;
 *  2. so, as messages are never deleted or rewritten and an ACK never
 *     goes away, a query reads only the ACKs above ack_qid (dropping what
 *     they name from v) and the seqs above seq (adding what is owed);
 *  3. nothing is read into it inside a transaction (it may roll back);
 *  4. the start's read (deadline_owed_warm_step) is the same reading in
 *     slices: seq may stay below the chain's top between two, and the
 *     next slice applies first the ACKs that came meanwhile, then reads
 *     on from seq. A text that came meanwhile has a seq above the top (a
 *     chain gets its seqs in order), so above seq: read by a later slice
 *     with the ACKs committed by then; an ACK of a text not read yet
 *     drops nothing, and the text's own reading leaves it out. So 1
 *     holds after each slice, as after a whole read.
 */
struct owed_ent {
	int64_t qid;
	uint64_t time_ms;
	uint8_t id[ENVELOPE_ID_LEN];
	uint8_t precedence;
};

struct owed_list {
	uint64_t seq;			/* seqs up to here are in v or acked */
	uint64_t top;			/* the chain's highest seq, last seen */
	struct owed_ent *v;
	size_t n, cap;
};

struct owed_chan {
	uint8_t id[ENVELOPE_ID_LEN];
	bool built;			/* false: read the record whole */
	bool too_big;			/* over DEADLINE_OWED_MAX: recount */
	bool warming;			/* the start's read is not through */
	int64_t ack_qid;		/* ACKs up to here are applied */
	struct owed_list who[2];
};

struct deadline_watch {
	struct store *s;
	struct alerter *a;
	size_t n;
	struct wchan ch[DEADLINE_MAX_CHANNELS];
	int failing;		/* the last scan's first error, 0: none */
	int failed_now;		/* this tick's first error */
	/* the steps until every channel first read through (logged once) */
	bool scan_through;
	struct timespec scan_t0;
	uint64_t scan_ns, scan_max_ns;
	unsigned scan_steps;
	uint64_t raised, again;	/* alerts stored new, and not new */
	size_t turn;		/* the channel the clock listings start at */
	unsigned who_first;	/* and the sender (0 or 1): both turn */
	struct owed_chan owed[DEADLINE_MAX_CHANNELS];
	size_t nowed;
	size_t owed_total;	/* entries in every owed list */
	bool over_cap;		/* owed_update stopped at DEADLINE_OWED_MAX */
	/* the start's read (deadline_owed_warm_begin, _step) */
	bool warming;		/* some channel's is not through */
	struct timespec warm_t0;
	uint64_t warm_ns, warm_max_ns;	/* in all, the longest step */
	unsigned warm_steps;
};

/* A failed listing is logged when scans start failing (or fail
 * otherwise), not at every tick while the store stays full. */
static void
scan_failed(struct deadline_watch *w, int r)
{
	if (w->failed_now == 0)
		w->failed_now = r;
	if (r != w->failing) {
		log_error("deadline scan: %s (retried at each tick; logged "
		    "again when it works)", err_str(r));
		w->failing = r;
	}
}

int
deadline_watch_new(struct store *s, struct alerter *a,
    struct deadline_watch **out)
{
	if ((*out = calloc(1, sizeof **out)) == NULL)
		return ERR_NOMEM;
	(*out)->s = s;
	(*out)->a = a;
	return 0;
}

void
deadline_watch_free(struct deadline_watch *w)
{
	if (w == NULL)
		return;
	for (size_t i = 0; i < w->nowed; i++)
		for (unsigned who = 0; who < 2; who++)
			free(w->owed[i].who[who].v);
	free(w);
}

int
deadline_watch_add(struct deadline_watch *w,
    const uint8_t channel[ENVELOPE_ID_LEN], uint8_t self, const char *peer,
    const uint32_t deadline_s[4])
{
	struct wchan *c;

	if (w->n == DEADLINE_MAX_CHANNELS)
		return ERR_FULL;
	c = &w->ch[w->n++];
	memcpy(c->id, channel, ENVELOPE_ID_LEN);
	c->self = self;
	snprintf(c->peer, sizeof c->peer, "%s", peer);
	memcpy(c->deadline_s, deadline_s, sizeof c->deadline_s);
	return 0;
}

int
deadline_watch_get(const struct deadline_watch *w,
    const uint8_t channel[ENVELOPE_ID_LEN], uint32_t deadline_s[4])
{
	for (size_t i = 0; w && i < w->n; i++)
		if (memcmp(w->ch[i].id, channel, ENVELOPE_ID_LEN) == 0) {
			memcpy(deadline_s, w->ch[i].deadline_s,
			    sizeof w->ch[i].deadline_s);
			return 0;
		}
	return ERR_NOT_FOUND;
}

static void
utc(uint64_t ms, char *out, size_t cap)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The alert key prefix for messages of sender who on channel c. */
static const char *
alert_key(const struct wchan *c, unsigned who)
{
	return who == c->self ? DEADLINE_KEY_PEER : DEADLINE_KEY_WE;
}

struct scan {
	struct deadline_watch *w;
	struct wchan *c;
	uint64_t now_ms;
	int err;		/* an alert not raised in this listing */
	struct budget *b;	/* NULL: the listing is not stopped */
	bool stopped;		/* it was: the time is out */
	struct due_at *at;	/* a listing by due time: its cursor */
};

/* A step's bound (deadline_watch_step). */
struct budget {
	struct timespec t0;
	uint64_t seqs;		/* per seq listing */
	uint64_t ns;		/* UINT64_MAX: none */
	unsigned listings;	/* seq listings so far */
	unsigned alerts;	/* alerts raised so far */
	uint64_t alert_ns;	/* what the last one took */
};

static uint64_t ns_since(const struct timespec *t0);

/* Whether a listing under b stops before (or after) raising an alert:
 * one at least in the step, and the time out, or out before the next
 * alert is through if it takes what the last took (a commit each). */
static bool
out_of_time(const struct budget *b, bool before)
{
	uint64_t ns;

	if (b == NULL || b->ns == UINT64_MAX || b->alerts == 0)
		return false;
	ns = ns_since(&b->t0);
	return ns >= b->ns || (before && b->ns - ns < b->alert_ns);
}

static int
due_row(void *arg, struct store_msg *m)
{
	struct scan *sc = arg;
	char id[2 * ENVELOPE_ID_LEN + 1], key[96], due[32], text[512], up[16];
	bool ours = m->sender == sc->c->self;
	uint64_t d = ack_deadline_ms(sc->c->deadline_s, m->precedence);
	uint64_t due_ms = m->time_ms + d;
	const char *prec;
	struct timespec t0;
	bool fresh = false;
	json_t *o;
	int r;

	if (sc->now_ms <= d)
		return 0;	/* a deadline longer than the clock: none */
	if (out_of_time(sc->b, true)) {
		/* every row between the cursor and this one was left out
		 * by the query (not owed here, or alerted): go on from
		 * this row, not from the cursor */
		if (sc->at != NULL && sc->err == 0 && m->qid > 0) {
			sc->at->time_ms = m->time_ms;
			sc->at->qid = m->qid - 1;
		}
		sc->stopped = true;
		return ERR_AGAIN;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* The query left out what was acknowledged in time or alerted. */
	hex_encode(id, m->id, ENVELOPE_ID_LEN);
	utc(due_ms, due, sizeof due);
	prec = envelope_precedence_name(m->precedence);
	for (size_t k = 0; k < sizeof up; k++)
		if ((up[k] = (char)toupper((unsigned char)prec[k])) == '\0')
			break;
	snprintf(key, sizeof key, "%s%s", alert_key(sc->c, m->sender), id);
	if (ours)
		snprintf(text, sizeof text, "%s owes an acknowledgment of "
		    "%s message %.16s, due %s", sc->c->peer, up, id, due);
	else
		snprintf(text, sizeof text, "we owe %s an acknowledgment of "
		    "%s message %.16s, due %s", sc->c->peer, up, id, due);
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:s}",
	    "key", key, "kind", "ack-overdue", "side", ours ? "peer-owes" :
	    "we-owe", "peer", sc->c->peer, "message", id, "precedence", prec,
	    "seq", (json_int_t)m->seq, "message_time_ms",
	    (json_int_t)m->time_ms, "due_ms", (json_int_t)due_ms, "text",
	    text);
	if (o == NULL)
		return ERR_NOMEM;
	hex_encode(id, m->channel, ENVELOPE_ID_LEN);
	json_object_set_new(o, "channel", json_string(id));
	/* A failure (the store refuses it: alert_raise announces it anyway)
	 * does not stop the listing: every message due is announced; the
	 * listing counts as failed and is tried again (scan_clock,
	 * scan_seqs). */
	if ((r = alert_raise(sc->w->a, o, sc->now_ms, &fresh)) != 0 &&
	    sc->err == 0)
		sc->err = r;
	json_decref(o);
	if (r == 0) {
		sc->w->raised += fresh;
		sc->w->again += !fresh;
	}
	if (r == ERR_NOMEM)
		return r;
	/* the cursor passes what is alerted; not a row whose alert
	 * failed, nor any after it: listed again */
	if (sc->at != NULL && sc->err == 0) {
		sc->at->time_ms = m->time_ms;
		sc->at->qid = m->qid;
	}
	/* each alert is a commit: a step that raises many stops when its
	 * time is out (after one at least); a listing by due time at its
	 * next row (none: it got to the end), a seq listing now (it lists
	 * its range again) */
	if (sc->b != NULL) {
		sc->b->alerts++;
		sc->b->alert_ns = ns_since(&t0);
		if (sc->at == NULL && out_of_time(sc->b, false)) {
			sc->stopped = true;
			return ERR_AGAIN;
		}
	}
	return 0;
}

/* Brings c's listings by due time to now_ms (invariants 2 and 3 above
 * deadline_watch): false at c's first step (nothing to list by the clock
 * then). */
static bool
clock_to(struct wchan *c, uint64_t now_ms)
{
	uint64_t d, to;

	if (now_ms == 0)
		return false;
	if (c->scanned_ms == 0 || now_ms < c->due_to_ms) {
		/* the first step, or the clock stepped back */
		for (unsigned p = 0; p < 4; p++) {
			d = ack_deadline_ms(c->deadline_s, p);
			to = now_ms > d ? now_ms - d : 0;
			for (unsigned who = 0; who < 2; who++)
				if (c->scanned_ms == 0 ||
				    c->at[p][who].time_ms > to) {
					c->at[p][who].time_ms = to;
					c->at[p][who].qid = INT64_MAX;
				}
		}
		if (c->scanned_ms == 0 || now_ms < c->scanned_ms) {
			bool first = c->scanned_ms == 0;

			c->scanned_ms = c->due_to_ms = now_ms;
			return !first;
		}
	}
	c->due_to_ms = now_ms;
	return true;
}

/* The listing by due time of c's precedence p and sender who at now_ms,
 * from its cursor up to c->due_to_ms, under b. True when it got to the
 * end (its cursor there); false when it stopped (the time is out) or
 * failed (logged; *failed). */
static bool
clock_list(struct deadline_watch *w, struct wchan *c, unsigned p,
    unsigned who, uint64_t now_ms, struct budget *b, bool *failed)
{
	struct due_at *at = &c->at[p][who];
	struct scan sc = { w, c, now_ms, 0, b, false, at };
	uint64_t d = ack_deadline_ms(c->deadline_s, p);
	uint64_t to = c->due_to_ms > d ? c->due_to_ms - d : 0;
	int r;

	if (at->time_ms > to || (at->time_ms == to && at->qid == INT64_MAX))
		return true;	/* nothing due since (a deadline longer
				 * than the clock too) */
	r = store_unacked_each(w->s, c->id, (uint8_t)who, (uint8_t)p,
	    at->time_ms, at->qid, to, d, alert_key(c, who), due_row, &sc);
	if (sc.stopped && r == ERR_AGAIN)
		r = 0;
	if ((r = r != 0 ? r : sc.err) != 0) {
		scan_failed(w, r);
		*failed = true;
		return false;
	}
	if (sc.stopped)
		return false;
	at->time_ms = to;
	at->qid = INT64_MAX;
	return true;
}

/* The step's listings by due time (invariant 3 above deadline_watch), of
 * every channel, FLASH first, the first channel turning at each step:
 * true when one stopped for the time (more to list). */
static bool
scan_clock(struct deadline_watch *w, uint64_t now_ms, struct budget *b)
{
	bool listed[DEADLINE_MAX_CHANNELS], through[DEADLINE_MAX_CHANNELS];
	bool failed = false, more = false;
	size_t i;

	for (i = 0; i < w->n; i++) {
		listed[i] = clock_to(&w->ch[i], now_ms);
		through[i] = true;
	}
	for (unsigned p = 0; p < 4; p++)
		for (size_t k = 0; k < w->n; k++) {
			i = (w->turn + k) % w->n;
			for (unsigned j = 0; j < 2 && listed[i]; j++) {
				unsigned who = (w->who_first + j) % 2;
				failed = false;
				if (clock_list(w, &w->ch[i], p, who, now_ms, b,
				    &failed))
					continue;
				through[i] = false;
				more = more || !failed;
			}
		}
	for (i = 0; i < w->n; i++)
		if (listed[i] && through[i])
			w->ch[i].scanned_ms = w->ch[i].due_to_ms;
	if (w->n > 0)
		w->turn = (w->turn + 1) % w->n;
	w->who_first ^= 1;	/* one side's backlog does not hold the
				 * other's FLASH back */
	return more;
}

/* The step's seq listings of channel c at now_ms (invariant 4 above
 * deadline_watch): the seqs above c->scanned_seq, in listings of at
 * most b->seqs seqs while b's time lasts (one listing at least, unless
 * the step raised an alert already). A sender's seqs move on only when
 * its listing worked; a failed one is tried again next time (alerted
 * messages are left out, so nothing is raised twice). The seqs are
 * listed once for every precedence: each new message is read once, not
 * once per precedence. True when they are not through (the time is
 * out). */
static bool
scan_seqs(struct deadline_watch *w, struct wchan *c, uint64_t now_ms,
    struct budget *b)
{
	struct scan sc = { w, c, now_ms, 0, NULL, false, NULL };
	uint64_t top, within[4], upto;
	uint8_t id[ENVELOPE_ID_LEN];
	int r;

	for (unsigned p = 0; p < 4; p++)
		within[p] = ack_deadline_ms(c->deadline_s, p);
	for (unsigned who = 0; who < 2; who++) {
		/* what comes after the top is a later step's */
		if ((r = store_highest(w->s, c->id, (uint8_t)who, &top,
		    id)) != 0) {
			scan_failed(w, r);
			continue;
		}
		while (c->scanned_seq[who] < top) {
			if ((b->listings++ > 0 || b->alerts > 0) &&
			    ns_since(&b->t0) >= b->ns)
				return true;
			upto = top - c->scanned_seq[who] > b->seqs ?
			    c->scanned_seq[who] + b->seqs : top;
			sc.err = 0;
			sc.b = b;
			sc.stopped = false;
			r = store_unacked_after_each(w->s, c->id,
			    (uint8_t)who, c->scanned_seq[who], upto, within,
			    now_ms, alert_key(c, who), due_row, &sc);
			sc.b = NULL;
			if (sc.stopped && r == ERR_AGAIN)
				r = 0;
			if ((r = r != 0 ? r : sc.err) != 0) {
				scan_failed(w, r);
				break;
			}
			if (sc.stopped)	/* its range again next step */
				return true;
			c->scanned_seq[who] = upto;
		}
	}
	return false;
}

bool
deadline_watch_step(struct deadline_watch *w, uint64_t now_ms,
    uint64_t seqs, uint64_t budget_us)
{
	struct budget b = { { 0, 0 }, seqs > 0 ? seqs : 1, budget_us >
	    UINT64_MAX / 1000 ? UINT64_MAX : budget_us * 1000, 0, 0, 0 };
	bool more = false;
	uint64_t ns;

	clock_gettime(CLOCK_MONOTONIC, &b.t0);
	if (w->scan_steps == 0)
		w->scan_t0 = b.t0;
	w->failed_now = 0;
	/* the listings by due time first (each step, while the time
	 * lasts: what falls due is not held back by the first scan), then
	 * the seq listings while it lasts */
	more = scan_clock(w, now_ms, &b);
	for (size_t i = 0; i < w->n && !more; i++)
		more = scan_seqs(w, &w->ch[i], now_ms, &b);
	if (w->failing != 0 && w->failed_now == 0) {
		log_info("deadline scan works again");
		w->failing = 0;
	}
	/* a listing failed (the store refuses): tried again at the next
	 * tick, not at once (a zero-delay retry would spin on the same
	 * failing range for as long as the store fails) */
	if (w->failed_now != 0)
		more = false;
	if (w->scan_through)
		return !more;
	ns = ns_since(&b.t0);
	w->scan_ns += ns;
	if (ns > w->scan_max_ns)
		w->scan_max_ns = ns;
	w->scan_steps++;
	if (more || w->failed_now != 0)
		return !more;
	w->scan_through = true;
	log_info("deadline scan: the record read in %.1f ms (%u step%s, the "
	    "longest %.1f ms; through %.0f ms after the first; %llu alert%s "
	    "raised)", (double)w->scan_ns / 1e6, w->scan_steps,
	    w->scan_steps == 1 ? "" : "s", (double)w->scan_max_ns / 1e6,
	    (double)ns_since(&w->scan_t0) / 1e6,
	    (unsigned long long)w->raised, w->raised == 1 ? "" : "s");
	return true;
}

void
deadline_watch_tick(struct deadline_watch *w, uint64_t now_ms)
{
	(void)deadline_watch_step(w, now_ms, UINT64_MAX, UINT64_MAX);
}

void
deadline_watch_counts(const struct deadline_watch *w, uint64_t *raised,
    uint64_t *again)
{
	*raised = w->raised;
	*again = w->again;
}

struct owed {
	struct store *s;
	uint8_t self;
	const uint32_t *deadline_s;
	uint64_t now_ms;
	struct deadline_owed *waiting, *we, *peer;
};

static void
count(struct deadline_owed *o, const struct store_msg *m)
{
	if (o->count++ == 0 || m->time_ms < o->oldest_ms) {
		o->oldest_ms = m->time_ms;
		hex_encode(o->oldest_id, m->id, ENVELOPE_ID_LEN);
	}
	if (o->top < 0 || m->precedence < o->top)
		o->top = m->precedence;
}

static int
owed_row(void *arg, struct store_msg *m)
{
	struct owed *ow = arg;
	uint64_t due = m->time_ms + ack_deadline_ms(ow->deadline_s,
	    m->precedence);

	if (m->sender != ow->self) {
		count(ow->waiting, m);
		if (ow->now_ms > due)
			count(ow->we, m);
	} else if (ow->now_ms > due)
		count(ow->peer, m);
	return 0;
}

static void
owed_init(struct deadline_owed *waiting, struct deadline_owed *we_overdue,
    struct deadline_owed *peer_overdue)
{
	memset(waiting, 0, sizeof *waiting);
	memset(we_overdue, 0, sizeof *we_overdue);
	memset(peer_overdue, 0, sizeof *peer_overdue);
	waiting->top = we_overdue->top = peer_overdue->top = -1;
}

int
deadline_owed_recount(struct store *s,
    const uint8_t channel[ENVELOPE_ID_LEN], uint8_t self,
    const uint32_t deadline_s[4], uint64_t now_ms,
    struct deadline_owed *waiting, struct deadline_owed *we_overdue,
    struct deadline_owed *peer_overdue)
{
	struct owed ow = { s, self, deadline_s, now_ms, waiting, we_overdue,
	    peer_overdue };

	owed_init(waiting, we_overdue, peer_overdue);
	for (unsigned p = 0; p < 4; p++)
		for (unsigned who = 0; who < 2; who++) {
			int r = store_unacked_each(s, channel, (uint8_t)who,
			    (uint8_t)p, 0, INT64_MAX, INT64_MAX,
			    STORE_ACK_ANY, NULL, owed_row, &ow);
			if (r != 0)
				return r;
		}
	return 0;
}

static void
owed_drop(struct deadline_watch *w, struct owed_chan *c)
{
	for (unsigned who = 0; who < 2; who++) {
		w->owed_total -= c->who[who].n;
		free(c->who[who].v);
		memset(&c->who[who], 0, sizeof c->who[who]);
	}
	c->built = false;
	c->warming = false;
	c->ack_qid = 0;
}

/* ACKs read, applied by the batch: sorted by the id they name. */
#define OWED_ACK_BATCH 4096

struct owed_acks {
	struct deadline_watch *w;
	struct owed_chan *c;
	struct store_ack_ref a[OWED_ACK_BATCH];
	size_t n;
};

static int
ack_cmp(const void *x, const void *y)
{
	return memcmp(((const struct store_ack_ref *)x)->acked,
	    ((const struct store_ack_ref *)y)->acked, ENVELOPE_ID_LEN);
}

/* Whether a (an ACK, by the id it names) acknowledges e of sender who as
 * the recount's query tests it: from the other party, stamped at most
 * STORE_ACK_ANY after e (e's time is above 0, so the sum fits). */
static bool
acks(const struct store_ack_ref *a, unsigned who, const struct owed_ent *e)
{
	/* (a negative time cannot be stored: store_msg.c, record.c) */
	return a->sender != who && a->time_ms >= 0 && (uint64_t)a->time_ms <=
	    e->time_ms + STORE_ACK_ANY;
}

static bool
acked(const struct owed_acks *oa, unsigned who, const struct owed_ent *e)
{
	size_t lo = 0, hi = oa->n, mid;
	int d;

	while (lo < hi) {	/* the first whose id is not below e's */
		mid = lo + (hi - lo) / 2;
		d = memcmp(oa->a[mid].acked, e->id, ENVELOPE_ID_LEN);
		if (d < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < oa->n && memcmp(oa->a[lo].acked, e->id,
	    ENVELOPE_ID_LEN) == 0; lo++)
		if (acks(&oa->a[lo], who, e))
			return true;
	return false;
}

/* Drops from both lists what the batch acknowledges. */
static void
acks_apply(struct owed_acks *oa)
{
	if (oa->n == 0)
		return;
	qsort(oa->a, oa->n, sizeof oa->a[0], ack_cmp);
	for (unsigned who = 0; who < 2; who++) {
		struct owed_list *l = &oa->c->who[who];
		size_t k = 0;

		for (size_t i = 0; i < l->n; i++)
			if (!acked(oa, who, &l->v[i]))
				l->v[k++] = l->v[i];
		oa->w->owed_total -= l->n - k;
		l->n = k;
	}
	oa->n = 0;
}

static int
ack_row(void *arg, const struct store_ack_ref *a)
{
	struct owed_acks *oa = arg;

	if (a->named) {
		oa->a[oa->n++] = *a;
		if (oa->n == OWED_ACK_BATCH)
			acks_apply(oa);
	}
	return 0;
}

struct owed_add {
	struct deadline_watch *w;
	struct owed_list *l;
};

static int
owed_add_row(void *arg, struct store_msg *m)
{
	struct owed_add *oa = arg;
	struct owed_list *l = oa->l;
	struct owed_ent *e;
	size_t cap;

	if (oa->w->owed_total >= DEADLINE_OWED_MAX) {
		oa->w->over_cap = true;	/* not the store's ERR_FULL */
		return ERR_FULL;
	}
	if (l->n == l->cap) {
		cap = l->cap ? 2 * l->cap : 64;
		if ((e = reallocarray(l->v, cap, sizeof *e)) == NULL)
			return ERR_NOMEM;
		l->v = e;
		l->cap = cap;
	}
	e = &l->v[l->n++];
	e->qid = m->qid;
	e->time_ms = m->time_ms;
	memcpy(e->id, m->id, ENVELOPE_ID_LEN);
	e->precedence = m->precedence;
	oa->w->owed_total++;
	return 0;
}

/* Brings c up to date with the store (invariant 1 of owed_chan), reading
 * at most max seqs of the chains (invariant 4): *whole tells whether it
 * read up to their tops. ERR_STATE inside a transaction, with c as it
 * was. */
static int
owed_update(struct deadline_watch *w, struct owed_chan *c, uint64_t max,
    bool *whole)
{
	struct owed_acks *oa = NULL;
	struct owed_add ad = { w, NULL };
	uint8_t id[ENVELOPE_ID_LEN];
	uint64_t top, upto;
	int64_t q;
	int r;

	*whole = false;
	/* first how far the ACKs go: every row up to it is committed (a
	 * row's qid is above every row before it), so the lists read after
	 * see every ACK up to it; rows of other channels and other kinds
	 * are passed over once, not at every call */
	if ((r = store_qid_top(w->s, &q)) != 0)
		return r;
	if (!c->built) {
		c->ack_qid = q;
		c->built = true;
	} else if (q > c->ack_qid) {
		if ((oa = malloc(sizeof *oa)) == NULL)
			return ERR_NOMEM;
		oa->w = w;
		oa->c = c;
		oa->n = 0;
		if ((r = store_acks_after_each(w->s, c->id, c->ack_qid, q,
		    ack_row, oa)) != 0)
			goto out;
		acks_apply(oa);
		c->ack_qid = q;
	}
	for (unsigned who = 0; who < 2; who++) {
		struct owed_list *l = &c->who[who];

		if ((r = store_highest(w->s, c->id, (uint8_t)who, &top, id))
		    != 0)
			goto out;
		l->top = top;
		if (top <= l->seq || max == 0)
			continue;
		upto = top - l->seq > max ? l->seq + max : top;
		max -= upto - l->seq;
		ad.l = l;
		if ((r = store_owed_after_each(w->s, c->id, (uint8_t)who,
		    l->seq, upto, owed_add_row, &ad)) != 0)
			goto out;
		l->seq = upto;
	}
	*whole = c->who[0].seq >= c->who[0].top &&
	    c->who[1].seq >= c->who[1].top;
out:
	free(oa);
	return r;
}

/* The oldest as the recount finds it: it reads by precedence (FLASH
 * first), then by time, equal times in qid order (index message_due), and
 * takes one only when strictly older than what it holds. */
struct tally {
	struct deadline_owed *o;
	unsigned p;
	int64_t qid;
};

static void
tally(struct tally *t, const struct owed_ent *e)
{
	struct deadline_owed *o = t->o;

	if (o->count++ == 0 || e->time_ms < o->oldest_ms ||
	    (e->time_ms == o->oldest_ms && (e->precedence < t->p ||
	    (e->precedence == t->p && e->qid < t->qid)))) {
		o->oldest_ms = e->time_ms;
		hex_encode(o->oldest_id, e->id, ENVELOPE_ID_LEN);
		t->p = e->precedence;
		t->qid = e->qid;
	}
	if (o->top < 0 || e->precedence < o->top)
		o->top = e->precedence;
}

static struct owed_chan *
owed_find(struct deadline_watch *w, const uint8_t channel[ENVELOPE_ID_LEN])
{
	struct owed_chan *c;

	for (size_t i = 0; i < w->nowed; i++)
		if (memcmp(w->owed[i].id, channel, ENVELOPE_ID_LEN) == 0)
			return &w->owed[i];
	if (w->nowed == DEADLINE_MAX_CHANNELS)
		return NULL;
	c = &w->owed[w->nowed++];
	memset(c, 0, sizeof *c);
	memcpy(c->id, channel, ENVELOPE_ID_LEN);
	return c;
}

/* After owed_update failed with r on c (not ERR_STATE): c dropped, and
 * past DEADLINE_OWED_MAX counted by the recount from now (0: recount);
 * the store's error (a full disk too) otherwise. */
static int
owed_failed(struct deadline_watch *w, struct owed_chan *c, int r)
{
	owed_drop(w, c);
	if (!w->over_cap)
		return r;
	log_warn("status: over %d messages owed; channel counted from the "
	    "whole record at each status from now", DEADLINE_OWED_MAX);
	c->too_big = true;
	return 0;
}

int
deadline_owed(struct deadline_watch *w, struct store *s,
    const uint8_t channel[ENVELOPE_ID_LEN], uint8_t self,
    const uint32_t deadline_s[4], uint64_t now_ms,
    struct deadline_owed *waiting, struct deadline_owed *we_overdue,
    struct deadline_owed *peer_overdue)
{
	struct tally tw = { waiting, 0, 0 }, twe = { we_overdue, 0, 0 },
	    tp = { peer_overdue, 0, 0 };
	struct owed_chan *c;
	bool whole;
	int r;

	if (w == NULL || w->s != s || (c = owed_find(w, channel)) == NULL ||
	    c->too_big)
		goto recount;
	w->over_cap = false;
	if ((r = owed_update(w, c, UINT64_MAX, &whole)) != 0) {
		if (r == ERR_STATE)	/* in a transaction: c as it was */
			goto recount;
		if ((r = owed_failed(w, c, r)) != 0)
			return r;
		goto recount;
	}
	c->warming = false;	/* read through here, if the start had not */
	owed_init(waiting, we_overdue, peer_overdue);
	for (unsigned who = 0; who < 2; who++) {
		const struct owed_list *l = &c->who[who];

		for (size_t i = 0; i < l->n; i++) {
			const struct owed_ent *e = &l->v[i];
			uint64_t due = e->time_ms + ack_deadline_ms(deadline_s,
			    e->precedence);

			if (who != self) {
				tally(&tw, e);
				if (now_ms > due)
					tally(&twe, e);
			} else if (now_ms > due)
				tally(&tp, e);
		}
	}
	return 0;
recount:
	return deadline_owed_recount(s, channel, self, deadline_s, now_ms,
	    waiting, we_overdue, peer_overdue);
}

static uint64_t
ns_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)(t.tv_sec - t0->tv_sec) * 1000000000u +
	    (uint64_t)t.tv_nsec - (uint64_t)t0->tv_nsec;
}

void
deadline_owed_warm_begin(struct deadline_watch *w)
{
	uint8_t id[ENVELOPE_ID_LEN];
	struct owed_chan *c;

	clock_gettime(CLOCK_MONOTONIC, &w->warm_t0);
	w->warm_ns = w->warm_max_ns = 0;
	w->warm_steps = 0;
	for (size_t i = 0; i < w->n; i++) {
		if ((c = owed_find(w, w->ch[i].id)) == NULL || c->too_big ||
		    c->built)
			continue;	/* counted otherwise, or read already */
		c->warming = w->warming = true;
		/* the tops for status's progress (a failure: 0, the first
		 * slice reads them again) */
		for (unsigned who = 0; who < 2; who++)
			if (store_highest(w->s, c->id, (uint8_t)who,
			    &c->who[who].top, id) != 0)
				c->who[who].top = 0;
	}
}

bool
deadline_owed_warm_step(struct deadline_watch *w, uint64_t seqs,
    uint64_t budget_us)
{
	struct timespec t0;
	uint64_t ns, budget_ns = budget_us > UINT64_MAX / 1000 ? UINT64_MAX :
	    budget_us * 1000;
	char hex[2 * ENVELOPE_ID_LEN + 1];
	struct owed_chan *c;
	bool whole;
	int r;

	if (!w->warming)
		return true;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t i = 0; i < w->nowed;) {
		if (!(c = &w->owed[i])->warming) {
			i++;
			continue;
		}
		w->over_cap = false;
		if ((r = owed_update(w, c, seqs, &whole)) == ERR_STATE)
			break;		/* in a transaction: the next step */
		if (r != 0 && owed_failed(w, c, r) != 0) {
			hex_encode(hex, c->id, ENVELOPE_ID_LEN);
			log_error("status: owed counts of channel %.16s: %s "
			    "(read whole at its first status)", hex,
			    err_str(r));
		}
		if (r == 0 && whole)
			c->warming = false;
		if (ns_since(&t0) >= budget_ns)
			break;
	}
	ns = ns_since(&t0);
	w->warm_ns += ns;
	if (ns > w->warm_max_ns)
		w->warm_max_ns = ns;
	w->warm_steps++;
	for (size_t i = 0; i < w->nowed; i++)
		if (w->owed[i].warming)
			return false;
	w->warming = false;
	log_info("status: acknowledgments owed read in %.1f ms (%u slice%s, "
	    "the longest %.1f ms; through %.0f ms after the start; %zu owed)",
	    (double)w->warm_ns / 1e6, w->warm_steps, w->warm_steps == 1 ? "" :
	    "s", (double)w->warm_max_ns / 1e6,
	    (double)ns_since(&w->warm_t0) / 1e6, w->owed_total);
	return true;
}

void
deadline_owed_warm(struct deadline_watch *w)
{
	deadline_owed_warm_begin(w);
	(void)deadline_owed_warm_step(w, UINT64_MAX, UINT64_MAX);
}

bool
deadline_owed_reading(const struct deadline_watch *w,
    const uint8_t channel[ENVELOPE_ID_LEN], uint64_t *read, uint64_t *of)
{
	const struct owed_chan *c;

	*read = *of = 0;
	for (size_t i = 0; w != NULL && w->warming && i < w->nowed; i++) {
		c = &w->owed[i];
		if (memcmp(c->id, channel, ENVELOPE_ID_LEN) != 0)
			continue;
		if (!c->warming)
			return false;
		for (unsigned who = 0; who < 2; who++) {
			*read += c->who[who].seq;
			*of += c->who[who].top > c->who[who].seq ?
			    c->who[who].top : c->who[who].seq;
		}
		return true;
	}
	return false;
}

size_t
deadline_owed_kept(const struct deadline_watch *w)
{
	return w->owed_total;
}
