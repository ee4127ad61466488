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

struct wchan {
	uint8_t id[ENVELOPE_ID_LEN];
	uint8_t self;
	char peer[129];
	uint32_t deadline_s[4];
	uint64_t scanned_ms;		/* due times up to here are done */
	uint64_t scanned_seq[2];	/* per sender: seqs up to here too */
};

struct deadline_watch {
	struct store *s;
	struct alerter *a;
	size_t n;
	struct wchan ch[DEADLINE_MAX_CHANNELS];
	int failing;		/* the last scan's first error, 0: none */
	int failed_now;		/* this tick's first error */
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
};

static int
due_row(void *arg, struct store_msg *m)
{
	struct scan *sc = arg;
	char id[2 * ENVELOPE_ID_LEN + 1], key[96], due[32], text[512], up[16];
	bool ours = m->sender == sc->c->self;
	uint64_t d = ack_deadline_ms(sc->c->deadline_s, m->precedence);
	uint64_t due_ms = m->time_ms + d;
	const char *prec;
	json_t *o;
	int r;

	if (sc->now_ms <= d)
		return 0;	/* a deadline longer than the clock: none */
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
	 * listing counts as failed and is tried again (scan_channel). */
	if ((r = alert_raise(sc->w->a, o, sc->now_ms, NULL)) != 0 &&
	    sc->err == 0)
		sc->err = r;
	json_decref(o);
	return r == ERR_NOMEM ? r : 0;
}

/* What fell due in (from, now] by the clock, and what got into the chain
 * here since the last scan (seqs above c->scanned_seq) already past due.
 * The first scan (from 0) covers everything by the clock. A sender's seqs
 * move on only when its listing worked, and the clock's only when every
 * due listing did (false: the caller keeps from_ms); a failed one is
 * tried again next time (alerted messages are left out, so nothing is
 * raised twice). The seqs are listed once for every precedence: each new
 * message is read once per scan, not once per precedence. */
static bool
scan_channel(struct deadline_watch *w, struct wchan *c, uint64_t from_ms,
    uint64_t now_ms)
{
	struct scan sc = { w, c, now_ms, 0 };
	uint64_t top[2], d, within[4];
	uint8_t id[ENVELOPE_ID_LEN];
	bool ok[2], due_ok = true;
	int r;

	for (unsigned who = 0; who < 2; who++) {
		/* read first: what comes after is the next scan's */
		if ((r = store_highest(w->s, c->id, (uint8_t)who, &top[who],
		    id)) != 0)
			scan_failed(w, r);
		ok[who] = r == 0;
	}
	for (unsigned p = 0; p < 4; p++) {
		within[p] = d = ack_deadline_ms(c->deadline_s, p);
		if (now_ms <= d)
			continue;
		for (unsigned who = 0; who < 2; who++) {
			sc.err = 0;
			r = store_unacked_each(w->s, c->id, (uint8_t)who,
			    (uint8_t)p, from_ms > d ? from_ms - d : 0,
			    now_ms - d, d, alert_key(c, who), due_row, &sc);
			if ((r = r != 0 ? r : sc.err) != 0) {
				scan_failed(w, r);
				due_ok = false;
			}
		}
	}
	for (unsigned who = 0; who < 2; who++) {
		if (from_ms == 0 || !ok[who] ||
		    top[who] <= c->scanned_seq[who])
			continue;
		sc.err = 0;
		r = store_unacked_after_each(w->s, c->id, (uint8_t)who,
		    c->scanned_seq[who], top[who], within, now_ms,
		    alert_key(c, who), due_row, &sc);
		if ((r = r != 0 ? r : sc.err) != 0) {
			scan_failed(w, r);
			ok[who] = false;
		}
	}
	for (unsigned who = 0; who < 2; who++)
		if (ok[who])
			c->scanned_seq[who] = top[who];
	return due_ok;
}

void
deadline_watch_tick(struct deadline_watch *w, uint64_t now_ms)
{
	w->failed_now = 0;
	for (size_t i = 0; i < w->n; i++) {
		if (scan_channel(w, &w->ch[i], w->ch[i].scanned_ms, now_ms))
			w->ch[i].scanned_ms = now_ms;
	}
	if (w->failing != 0 && w->failed_now == 0) {
		log_info("deadline scan works again");
		w->failing = 0;
	}
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

int
deadline_owed(struct store *s, const uint8_t channel[ENVELOPE_ID_LEN],
    uint8_t self, const uint32_t deadline_s[4], uint64_t now_ms,
    struct deadline_owed *waiting, struct deadline_owed *we_overdue,
    struct deadline_owed *peer_overdue)
{
	struct owed ow = { s, self, deadline_s, now_ms, waiting, we_overdue,
	    peer_overdue };

	memset(waiting, 0, sizeof *waiting);
	memset(we_overdue, 0, sizeof *we_overdue);
	memset(peer_overdue, 0, sizeof *peer_overdue);
	waiting->top = we_overdue->top = peer_overdue->top = -1;
	for (unsigned p = 0; p < 4; p++)
		for (unsigned who = 0; who < 2; who++) {
			int r = store_unacked_each(s, channel, (uint8_t)who,
			    (uint8_t)p, 0, INT64_MAX, STORE_ACK_ANY, NULL,
			    owed_row, &ow);
			if (r != 0)
				return r;
		}
	return 0;
}
