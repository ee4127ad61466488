/*
 * deadline_owed.c: status's counts of acknowledgments owed, kept per
 * channel and sender and read at the start in slices (deadline.h,
 * docs/store.md "What is owed").
 */
#include "msg/deadline.h"

#include <stdlib.h>
#include <string.h>

#include "base/hex.h"
#include "base/log.h"
#include "msg/ack.h"
#include "msg/deadline_int.h"
#include "store/people.h"


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

void
deadline_owed_warm_begin(struct deadline_watch *w)
{
	uint8_t id[ENVELOPE_ID_LEN];
	struct owed_chan *c;

	w->warm_t0 = clock_mono_ns();
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
	uint64_t t0;
	uint64_t ns, budget_ns = budget_us > UINT64_MAX / 1000 ? UINT64_MAX :
	    budget_us * 1000;
	char hex[2 * ENVELOPE_ID_LEN + 1];
	struct owed_chan *c;
	bool whole;
	int r;

	if (!w->warming)
		return true;
	t0 = clock_mono_ns();
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
		if (ns_since(t0) >= budget_ns)
			break;
	}
	ns = ns_since(t0);
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
	    (double)ns_since(w->warm_t0) / 1e6, w->owed_total);
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
