/*
 * deadline.c: watching acknowledgment deadlines (deadline.h): the scan
 * that raises an alert for each text not acknowledged in time. The
 * counts of what is owed are in deadline_owed.c.
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
#include "msg/deadline_int.h"
#include "store/people.h"

/* Alert keys: prefix, then the message id in lower-case hex. */
#define DEADLINE_KEY_PEER "ack-overdue:peer-owes:"
#define DEADLINE_KEY_WE "ack-overdue:we-owe:"

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
	uint64_t t0;
	uint64_t seqs;		/* per seq listing */
	uint64_t ns;		/* UINT64_MAX: none */
	unsigned listings;	/* seq listings so far */
	unsigned alerts;	/* alerts raised so far */
	uint64_t alert_ns;	/* what the last one took */
};


/* Whether a listing under b stops before (or after) raising an alert:
 * one at least in the step, and the time out, or out before the next
 * alert is through if it takes what the last took (a commit each). */
static bool
out_of_time(const struct budget *b, bool before)
{
	uint64_t ns;

	if (b == NULL || b->ns == UINT64_MAX || b->alerts == 0)
		return false;
	ns = ns_since(b->t0);
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
	uint64_t t0;
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
	t0 = clock_mono_ns();
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
		sc->b->alert_ns = ns_since(t0);
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
			    ns_since(b->t0) >= b->ns)
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
	struct budget b = { 0, seqs > 0 ? seqs : 1, budget_us >
	    UINT64_MAX / 1000 ? UINT64_MAX : budget_us * 1000, 0, 0, 0 };
	bool more = false;
	uint64_t ns;

	b.t0 = clock_mono_ns();
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
	ns = ns_since(b.t0);
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
	    (double)ns_since(w->scan_t0) / 1e6,
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
