/*
 * checkpoint.c: see checkpoint.h. The record:
 *   { 1: kind, 2: checkpoint (bstr, transcript.h's encoding),
 *     3: base_0, 4: [* id], 5: base_1, 6: [* id] }
 * where the ids of chain i are those at seqs base_i + 1 .. seq_i of the
 * checkpoint (at most CHECKPOINT_IDS_MAX; base_i moves up to fit).
 */
#include "msg/checkpoint.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "base/clock.h"
#include "base/hex.h"
#include "base/log.h"
#include "base/wire.h"
#include "crypto/agreement.h"
#include "msg/alert.h"
#include "msg/delivery.h"
#include "msg/recover.h"
#include "store/record.h"

enum { K_KIND = 1, K_CP, K_BASE0, K_IDS0, K_BASE1, K_IDS1 };

static const uint8_t zero_id[ENVELOPE_ID_LEN];

/* A restarted daemon goes on from the last co-signed checkpoint it stored
 * (a missing or unreadable one: from the start, as before). */
static void
resume(struct checkpoint_engine *e)
{
	struct transcript_checkpoint cp;
	uint8_t b[STORE_CHECKPOINT_MAX];
	size_t n;
	int r;

	r = store_checkpoint_latest(e->s, e->channel, b, sizeof b, &n);
	if (r == ERR_NOT_FOUND)
		return;
	if (r == 0)
		r = transcript_checkpoint_decode(&cp, b, n);
	if (r != 0) {
		log_warn("checkpoint: cannot read the last stored one: %s",
		    err_str(r));
		return;
	}
	e->last = cp;
	e->have_last = true;
	e->base[0] = cp.seq[0];
	e->base[1] = cp.seq[1];
}

void
checkpoint_init(struct checkpoint_engine *e, struct store *s,
    const struct keys *k, const uint8_t channel[ENVELOPE_ID_LEN],
    uint8_t self, const uint8_t pub[2][KEYS_PUB_LEN], uint64_t every,
    uint64_t interval_ms, uint64_t mono_ms)
{
	memset(e, 0, sizeof *e);
	e->s = s;
	e->k = k;
	memcpy(e->channel, channel, ENVELOPE_ID_LEN);
	e->self = self;
	memcpy(e->pub, pub, sizeof e->pub);
	e->every = every ? every : CHECKPOINT_EVERY;
	e->interval_ms = interval_ms ? interval_ms : CHECKPOINT_INTERVAL_MS;
	e->last_ms = mono_ms;
	resume(e);
}

void
checkpoint_fini(struct checkpoint_engine *e)
{
	for (size_t i = 0; i < e->nheld; i++)
		free(e->held[i].rec);
	free(e->held);
	e->held = NULL;
	e->nheld = 0;
}

const char *
checkpoint_alarm(const struct checkpoint_engine *e)
{
	return e->alarm;
}

/* Where both sides stand: our chain up to the peer's receipt, the peer's
 * up to our highest stored. */
static int
current(struct checkpoint_engine *e, uint64_t seq[2],
    uint8_t id[2][ENVELOPE_ID_LEN])
{
	struct store_receipt rc;
	uint8_t me = e->self, peer = (uint8_t)(1 - e->self);
	int r;

	r = store_receipt_latest(e->s, e->channel, peer, &rc);
	if (r == ERR_NOT_FOUND) {
		seq[me] = 0;
		memset(id[me], 0, ENVELOPE_ID_LEN);
	} else if (r != 0)
		return r;
	else {
		seq[me] = rc.seq;
		memcpy(id[me], rc.id, ENVELOPE_ID_LEN);
	}
	return store_highest(e->s, e->channel, peer, &seq[peer], id[peer]);
}

/* Our ids since base (moved up to fit) for each chain of c->cp. */
static int
fill_ids_from(struct checkpoint_engine *e, struct checkpoint_rec *c,
    const uint64_t base[2])
{
	int r;

	for (uint8_t i = 0; i < 2; i++) {
		uint64_t top = c->cp.seq[i], from = base[i];
		if (from > top)
			from = 0;
		if (top - from > CHECKPOINT_IDS_MAX)
			from = top - CHECKPOINT_IDS_MAX;
		c->base[i] = from;
		c->nids[i] = (size_t)(top - from);
		if ((r = store_ids_range(e->s, e->channel, i, from,
		    c->nids[i], c->ids[i])) != 0)
			return r;
	}
	return 0;
}

static int
fill_ids(struct checkpoint_engine *e, struct checkpoint_rec *c)
{
	return fill_ids_from(e, c, e->base);
}

int
checkpoint_rec_encode(const struct checkpoint_rec *c, uint8_t *out, size_t cap,
    size_t *len)
{
	uint8_t cp[TRANSCRIPT_CHECKPOINT_MAX];
	struct wire_writer w;
	size_t cplen;
	int r;

	if ((r = transcript_checkpoint_encode(&c->cp, cp, sizeof cp,
	    &cplen)) != 0)
		return r;
	wire_writer_init(&w, out, cap);
	wire_put_map(&w, 6);
	wire_put_uint(&w, K_KIND);
	wire_put_uint(&w, c->kind);
	wire_put_uint(&w, K_CP);
	wire_put_bytes(&w, cp, cplen);
	for (int i = 0; i < 2; i++) {
		wire_put_uint(&w, (uint64_t)(i == 0 ? K_BASE0 : K_BASE1));
		wire_put_uint(&w, c->base[i]);
		wire_put_uint(&w, (uint64_t)(i == 0 ? K_IDS0 : K_IDS1));
		wire_put_array(&w, c->nids[i]);
		for (size_t k = 0; k < c->nids[i]; k++)
			wire_put_bytes(&w, c->ids[i][k], ENVELOPE_ID_LEN);
	}
	return wire_writer_finish(&w, len);
}

static int
decode_ids(const cbor_item_t *map, struct checkpoint_rec *c, int i)
{
	cbor_item_t *a = wire_map_get(map, (uint64_t)(i == 0 ? K_IDS0 :
	    K_IDS1)), **v;
	uint64_t base;
	int r;

	if ((r = wire_get_uint(wire_map_get(map, (uint64_t)(i == 0 ?
	    K_BASE0 : K_BASE1)), &base)) != 0)
		return r;
	if (a == NULL || !cbor_isa_array(a) || !cbor_array_is_definite(a) ||
	    cbor_array_size(a) > CHECKPOINT_IDS_MAX)
		return ERR_PARSE;
	c->base[i] = base;
	c->nids[i] = cbor_array_size(a);
	v = cbor_array_handle(a);
	for (size_t k = 0; k < c->nids[i]; k++)
		if ((r = wire_get_bytes_exact(v[k], c->ids[i][k],
		    ENVELOPE_ID_LEN)) != 0)
			return r;
	/* the list ends at the checkpoint's seq */
	if (base > c->cp.seq[i] || c->cp.seq[i] - base != c->nids[i])
		return ERR_PARSE;
	return 0;
}

int
checkpoint_rec_decode(struct checkpoint_rec *c, const uint8_t *p, size_t n)
{
	cbor_item_t *item = NULL;
	const uint8_t *cp;
	uint8_t *again = NULL;
	uint64_t kind;
	size_t cplen, len;
	int r;

	memset(c, 0, sizeof *c);
	if (n > CHECKPOINT_REC_MAX)
		return ERR_TOO_BIG;
	if ((r = wire_load(p, n, &item)) != 0)
		return r;
	if (!cbor_isa_map(item) || cbor_map_size(item) != 6) {
		r = ERR_PARSE;
		goto out;
	}
	if ((r = wire_get_uint(wire_map_get(item, K_KIND), &kind)) != 0 ||
	    (r = wire_get_bytes(wire_map_get(item, K_CP), &cp, &cplen)) != 0 ||
	    (r = transcript_checkpoint_decode(&c->cp, cp, cplen)) != 0)
		goto out;
	if (kind < CHECKPOINT_PROPOSE || kind > CHECKPOINT_DISPUTE) {
		r = ERR_PARSE;
		goto out;
	}
	c->kind = (uint8_t)kind;
	if ((r = decode_ids(item, c, 0)) != 0 ||
	    (r = decode_ids(item, c, 1)) != 0)
		goto out;
	if ((again = malloc(CHECKPOINT_REC_MAX)) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	if ((r = checkpoint_rec_encode(c, again, CHECKPOINT_REC_MAX,
	    &len)) == 0 && !wire_same(p, n, again, len))
		r = ERR_NONCANONICAL;
out:
	free(again);
	cbor_decref(&item);
	return r;
}

int
checkpoint_tick(struct checkpoint_engine *e, uint64_t now_ms,
    uint64_t mono_ms, uint8_t *out, size_t cap, size_t *len)
{
	struct checkpoint_rec *c;
	uint64_t seq[2], fresh;
	uint8_t id[2][ENVELOPE_ID_LEN];
	int r;

	*len = 0;
	if (e->pending && mono_ms - e->last_ms < CHECKPOINT_RETRY_MS)
		return 0;
	if ((r = current(e, seq, id)) != 0)
		return r;
	fresh = (seq[0] > e->base[0] ? seq[0] - e->base[0] : 0) +
	    (seq[1] > e->base[1] ? seq[1] - e->base[1] : 0);
	/* a proposal unanswered for CHECKPOINT_RETRY_MS is made again
	 * (at the seqs of now), whichever made it due */
	if (fresh == 0 || (!e->pending && fresh < e->every &&
	    mono_ms - e->last_ms < e->interval_ms))
		return 0;
	if ((c = calloc(1, sizeof *c)) == NULL)
		return ERR_NOMEM;
	c->kind = CHECKPOINT_PROPOSE;
	memcpy(c->cp.channel, e->channel, ENVELOPE_ID_LEN);
	memcpy(c->cp.seq, seq, sizeof seq);
	memcpy(c->cp.id, id, sizeof id);
	c->cp.time_ms = now_ms;
	c->cp.proposer = e->self;
	transcript_checkpoint_fill(&c->cp);
	if ((r = transcript_checkpoint_sign(&c->cp, e->self, e->k)) != 0 ||
	    (r = fill_ids(e, c)) != 0 ||
	    (r = checkpoint_rec_encode(c, out, cap, len)) != 0)
		goto out;
	e->proposed = c->cp;
	e->pending = true;
	e->last_ms = mono_ms;
out:
	free(c);
	return r;
}

static void
short_hex(char out[17], const uint8_t *id)
{
	char full[2 * ENVELOPE_ID_LEN + 1];

	hex_encode(full, id, ENVELOPE_ID_LEN);
	memcpy(out, full, 16);
	out[16] = '\0';
}

static int
alarm(struct checkpoint_engine *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
alarm(struct checkpoint_engine *e, int code, const char *fmt, ...)
{
	char ch[17], body[CHECKPOINT_ALARM_MAX - 48];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(body, sizeof body, fmt, ap);
	va_end(ap);
	short_hex(ch, e->channel);
	snprintf(e->alarm, sizeof e->alarm, "channel %s: checkpoint: %s", ch,
	    body);
	e->alarms++;
	return code;
}

/* Compares the peer's ids with ours; on the first difference raises the
 * alarm naming it. An id not held here yet does not hide a difference
 * further on, or in the other chain: ERR_AGAIN only when none differs.
 * The ids the signed head names (c->cp.id, at c->cp.seq) are compared
 * with ours too: the list is the peer's word for naming a divergence, the
 * head is what a signature covers, and it may name seqs the list does
 * not reach (an empty list) or ids it does not hold. A dispute's zero id
 * is a message the peer lacks, not a difference. */
static int
compare(struct checkpoint_engine *e, const struct checkpoint_rec *c)
{
	uint8_t (*ours)[ENVELOPE_ID_LEN];
	char a[17], b[17];
	bool behind = false;
	int r = 0, serr = 0;

	if ((ours = malloc(CHECKPOINT_IDS_MAX * ENVELOPE_ID_LEN)) == NULL)
		return ERR_NOMEM;
	/* A chain that cannot be read (serr, the first such error) does
	 * not keep the other from being compared: a divergence there is
	 * still named. */
	for (uint8_t i = 0; i < 2 && r == 0; i++) {
		if ((r = store_ids_range(e->s, e->channel, i, c->base[i],
		    c->nids[i], ours)) != 0) {
			serr = serr ? serr : r;
			r = 0;
			continue;
		}
		for (size_t k = 0; k < c->nids[i]; k++) {
			if (memcmp(ours[k], c->ids[i][k], ENVELOPE_ID_LEN) == 0)
				continue;
			/* not held here yet (a restored node, a message in
			 * flight): behind, not diverged; no answer */
			if (memcmp(ours[k], zero_id, ENVELOPE_ID_LEN) == 0) {
				behind = true;
				continue;
			}
			if (c->kind == CHECKPOINT_DISPUTE &&
			    memcmp(c->ids[i][k], zero_id, ENVELOPE_ID_LEN) == 0)
				continue;	/* not held there */
			short_hex(a, ours[k]);
			short_hex(b, c->ids[i][k]);
			r = alarm(e, ERR_CHAIN, "the chains diverge: party %u's"
			    " chain first differs at seq %llu (here %s, the "
			    "peer's %s)", i,
			    (unsigned long long)(c->base[i] + k + 1), a, b);
			break;
		}
		if (r != 0 || c->cp.seq[i] == 0)
			continue;	/* seq 0: zeros (the decoder's rule) */
		if ((r = store_ids_range(e->s, e->channel, i,
		    c->cp.seq[i] - 1, 1, ours)) != 0) {
			serr = serr ? serr : r;
			r = 0;
			continue;
		}
		if (memcmp(ours[0], zero_id, ENVELOPE_ID_LEN) == 0)
			behind = true;
		else if (memcmp(ours[0], c->cp.id[i], ENVELOPE_ID_LEN) != 0) {
			short_hex(a, ours[0]);
			short_hex(b, c->cp.id[i]);
			r = alarm(e, ERR_CHAIN, "the chains diverge: the "
			    "checkpoint's head names another message at party "
			    "%u's seq %llu (here %s, the head's %s)", i,
			    (unsigned long long)c->cp.seq[i], a, b);
		}
	}
	free(ours);
	if (r != 0)
		return r;
	if (serr != 0)
		return serr;
	return behind ? ERR_AGAIN : 0;
}

/* A co-signed checkpoint is stored on both sides (docs/transcript.md);
 * failing that (the store error returned) it is still the last one in
 * memory, and the caller holds its record to store it later. One at the
 * seqs of the last, or older, counts no more. */
static int
cosigned(struct checkpoint_engine *e, const struct transcript_checkpoint *cp,
    uint64_t now_ms, uint64_t mono_ms)
{
	uint8_t b[TRANSCRIPT_CHECKPOINT_MAX];
	size_t n;
	bool added;
	int r;

	if ((r = transcript_checkpoint_encode(cp, b, sizeof b, &n)) != 0 ||
	    (r = store_checkpoint_put(e->s, e->channel, cp->seq[0],
	    cp->seq[1], cp->time_ms, b, n, now_ms, &added)) != 0) {
		e->store_errors++;	/* the caller logs it */
		/* a damaged page of our own store, not the peer's bad
		 * input: held and tried again, not dropped as ERR_PARSE */
		if (r == ERR_PARSE)
			r = ERR_IO;
	}
	/* An older one given again (after a restore, checkpoint_set_resend),
	 * or the last one again (a repeat, a held copy), is stored but moves
	 * nothing back, nor counts as new. */
	if (e->have_last && (cp->seq[0] < e->base[0] ||
	    cp->seq[1] < e->base[1] || (cp->seq[0] == e->base[0] &&
	    cp->seq[1] == e->base[1])))
		return r;
	e->cosigned++;
	e->last_ms = mono_ms;
	e->last = *cp;
	e->have_last = true;
	e->base[0] = cp->seq[0];
	e->base[1] = cp->seq[1];
	return r;
}

/* Keeps a co-signed record that is behind us (once per seqs), for
 * checkpoint_retry_held. */
static void
hold(struct checkpoint_engine *e, const struct checkpoint_rec *c,
    const uint8_t *p, size_t n)
{
	struct checkpoint_held *h;

	for (size_t i = 0; i < e->nheld; i++)
		if (e->held[i].seq[0] == c->cp.seq[0] &&
		    e->held[i].seq[1] == c->cp.seq[1]) {
			e->hold = CHECKPOINT_HOLD_ALREADY;
			return;
		}
	if (e->nheld == CHECKPOINT_HELD_MAX) {
		e->hold = CHECKPOINT_HOLD_FULL;
		e->held_dropped++;
		return;
	}
	if (e->held == NULL && (e->held = calloc(CHECKPOINT_HELD_MAX,
	    sizeof *e->held)) == NULL) {
		e->hold = CHECKPOINT_HOLD_NOMEM;
		e->held_dropped++;
		return;
	}
	h = &e->held[e->nheld];
	if ((h->rec = malloc(n)) == NULL) {
		e->hold = CHECKPOINT_HOLD_NOMEM;
		e->held_dropped++;
		return;
	}
	e->hold = CHECKPOINT_HOLD_NEW;
	memcpy(h->rec, p, n);
	h->n = n;
	h->warned = false;
	h->seq[0] = c->cp.seq[0];
	h->seq[1] = c->cp.seq[1];
	e->nheld++;
}

/* A checkpoint at seqs has its final result (stored, or the divergence
 * alarm): a held copy is not tried again. */
static void
drop_held(struct checkpoint_engine *e, const uint64_t seq[2])
{
	for (size_t i = 0; i < e->nheld; i++) {
		if (e->held[i].seq[0] != seq[0] || e->held[i].seq[1] != seq[1])
			continue;
		free(e->held[i].rec);
		memmove(&e->held[i], &e->held[i + 1],
		    (e->nheld - i - 1) * sizeof *e->held);
		e->nheld--;
		return;		/* once per seqs */
	}
}

static int
on_record(struct checkpoint_engine *e, const uint8_t *p, size_t n,
    uint64_t now_ms, uint64_t mono_ms, uint8_t *out, size_t cap, size_t *len,
    bool may_hold);

int
checkpoint_on_record(struct checkpoint_engine *e, const uint8_t *p, size_t n,
    uint64_t now_ms, uint64_t mono_ms, uint8_t *out, size_t cap, size_t *len)
{
	return on_record(e, p, n, now_ms, mono_ms, out, cap, len, true);
}

int
checkpoint_retry_held(struct checkpoint_engine *e, uint64_t now_ms,
    uint64_t mono_ms, struct checkpoint_walk *w)
{
	struct checkpoint_held h;
	uint64_t top[2];
	uint8_t id[ENVELOPE_ID_LEN], none[1];
	size_t i, len;
	int r;

	w->tried = w->kept = w->first = false;
	if (w->at >= e->nheld || w->n >= CHECKPOINT_HELD_PER_TICK)
		return 0;
	for (uint8_t k = 0; k < 2; k++)
		if ((r = store_highest(e->s, e->channel, k, &top[k], id)) != 0)
			return r;
	for (i = w->at; i < e->nheld; i++)
		if (e->held[i].seq[0] <= top[0] && e->held[i].seq[1] <= top[1])
			break;
	w->at = i;
	if (i == e->nheld)
		return 0;
	w->tried = true;
	w->n++;
	h = e->held[i];
	memmove(&e->held[i], &e->held[i + 1], (e->nheld - i - 1) * sizeof h);
	e->nheld--;
	r = on_record(e, h.rec, h.n, now_ms, mono_ms, none, sizeof none, &len,
	    false);
	if (r == 0 || r == ERR_CHAIN || r == ERR_SIGNATURE || r == ERR_PARSE ||
	    r == ERR_NONCANONICAL || r == ERR_FOREIGN) {
		free(h.rec);
		return r;	/* the walk goes on at i: the next one */
	}
	/* still behind, or a store error: held still, in its place, and the
	 * walk goes on past it */
	memmove(&e->held[i + 1], &e->held[i], (e->nheld - i) * sizeof h);
	w->kept = true;
	w->first = !h.warned;
	h.warned = true;
	e->held[i] = h;
	e->nheld++;
	w->at = i + 1;
	return r;
}

static int
on_record(struct checkpoint_engine *e, const uint8_t *p, size_t n,
    uint64_t now_ms, uint64_t mono_ms, uint8_t *out, size_t cap, size_t *len,
    bool may_hold)
{
	uint8_t peer = (uint8_t)(1 - e->self);
	struct checkpoint_rec *c;
	int bad, r;

	*len = 0;
	e->hold = CHECKPOINT_HOLD_NONE;
	if ((c = malloc(sizeof *c)) == NULL)
		return ERR_NOMEM;
	if ((r = checkpoint_rec_decode(c, p, n)) != 0)
		goto out;
	if (memcmp(c->cp.channel, e->channel, ENVELOPE_ID_LEN) != 0) {
		r = ERR_FOREIGN;
		goto out;
	}
	r = transcript_checkpoint_verify(&c->cp,
	    (const uint8_t (*)[KEYS_PUB_LEN])e->pub,
	    c->kind == CHECKPOINT_COSIGNED, &bad);
	/* a proposal is the peer's, signed by it; a dispute answers ours
	 * (the ids come over the authenticated session) */
	if (r == 0 && c->kind == CHECKPOINT_DISPUTE &&
	    (c->cp.proposer != e->self || !c->cp.is_signed[e->self]))
		r = ERR_UNSIGNED, bad = e->self;
	else if (r == 0 && c->kind != CHECKPOINT_DISPUTE &&
	    !c->cp.is_signed[peer])
		r = ERR_UNSIGNED, bad = peer;
	if (r != 0) {
		r = alarm(e, ERR_SIGNATURE, "from the peer, at seqs %llu/%llu:"
		    " %s of party %d (forged or altered)",
		    (unsigned long long)c->cp.seq[0],
		    (unsigned long long)c->cp.seq[1], r == ERR_CHAIN ?
		    "head not the transcript head of its fields" :
		    "no valid signature", bad);
		goto out;
	}
	if ((r = compare(e, c)) != 0) {
		/* behind, or the store could not be read: held, tried
		 * again (a given-back checkpoint comes only once) */
		if (r != ERR_CHAIN && c->kind == CHECKPOINT_COSIGNED &&
		    may_hold)
			hold(e, c, p, n);
		if (r == ERR_CHAIN)
			drop_held(e, c->cp.seq);
		if (r == ERR_CHAIN && c->kind == CHECKPOINT_PROPOSE) {
			/* answer with ours over the proposal's range, and
			 * at least at the checkpoint's seq (the head's id
			 * alone may differ), so the proposer names it too */
			struct checkpoint_rec mine = *c;
			uint64_t base[2];
			for (int i = 0; i < 2; i++)
				base[i] = c->base[i] == c->cp.seq[i] &&
				    c->cp.seq[i] > 0 ? c->cp.seq[i] - 1 :
				    c->base[i];
			mine.kind = CHECKPOINT_DISPUTE;
			if (fill_ids_from(e, &mine, base) == 0 &&
			    checkpoint_rec_encode(&mine, out, cap, len) != 0)
				*len = 0;
		}
		goto out;
	}
	switch (c->kind) {
	case CHECKPOINT_PROPOSE:
		if ((r = transcript_checkpoint_sign(&c->cp, e->self,
		    e->k)) != 0)
			goto out;
		c->kind = CHECKPOINT_COSIGNED;
		if ((r = checkpoint_rec_encode(c, out, cap, len)) != 0)
			goto out;
		/* not stored: the co-signed record (the answer) is held */
		if ((r = cosigned(e, &c->cp, now_ms, mono_ms)) != 0 && may_hold)
			hold(e, c, out, *len);
		break;
	case CHECKPOINT_COSIGNED:
		if ((r = cosigned(e, &c->cp, now_ms, mono_ms)) != 0 && may_hold)
			hold(e, c, p, n);
		if (e->pending && e->proposed.seq[0] == c->cp.seq[0] &&
		    e->proposed.seq[1] == c->cp.seq[1])
			e->pending = false;
		break;
	default:
		/* a dispute whose ids all match ours: the difference is in
		 * what we sent; nothing more to name here */
		e->pending = false;
		break;
	}
	if (r == 0 && c->kind == CHECKPOINT_COSIGNED)
		drop_held(e, c->cp.seq);	/* stored */
out:
	free(c);
	return r;
}

/* ---- the daemon's glue ---- */

struct checkpoint_set {
	struct alerter *alerts;			/* borrowed; NULL: log only */
	const char *home;			/* disk watch; NULL: off */
	uint64_t disk_min, disk_free;
	uint64_t disk_ms;			/* last checked (monotonic) */
	bool disk_checked;			/* ... once at least */
	bool disk_low;
	struct delivery *dl;
	struct delivery_io io;
	size_t n;
	struct checkpoint_engine e[DELIVERY_MAX_CHANNELS];
	uint8_t buf[CHECKPOINT_REC_MAX];
};

/* The set's monotonic clock: io's, or the system's. */
static uint64_t
set_mono(const struct checkpoint_set *cs)
{
	return cs->io.mono_ms != NULL ? cs->io.mono_ms(cs->io.ctx) :
	    clock_mono_ms();
}

int
checkpoint_set_new(struct delivery *dl, const struct keys *k,
    const struct agreement *ags, size_t n, const struct delivery_io *io,
    uint64_t every, uint64_t interval_ms, struct checkpoint_set **out)
{
	struct checkpoint_set *cs;
	uint8_t pub[2][KEYS_PUB_LEN];
	uint64_t mono;

	if ((cs = calloc(1, sizeof *cs)) == NULL)
		return ERR_NOMEM;
	cs->dl = dl;
	cs->io = *io;
	mono = set_mono(cs);
	for (size_t i = 0; i < n && cs->n < DELIVERY_MAX_CHANNELS; i++) {
		int self = -1;
		for (int j = 0; j < 2; j++) {
			memcpy(pub[j], ags[i].party[j].sign_pub, KEYS_PUB_LEN);
			if (memcmp(pub[j], k->id.sign_pub, KEYS_PUB_LEN) == 0)
				self = j;
		}
		if (self < 0)
			continue;
		checkpoint_init(&cs->e[cs->n++], delivery_store(dl), k,
		    ags[i].id, (uint8_t)self,
		    (const uint8_t (*)[KEYS_PUB_LEN])pub, every, interval_ms,
		    mono);
	}
	*out = cs;
	return 0;
}

static void raise_alarm(struct checkpoint_set *cs,
    struct checkpoint_engine *e, unsigned kind, const char *text,
    uint64_t now_ms);

void
checkpoint_set_free(struct checkpoint_set *cs)
{
	if (cs == NULL)
		return;
	for (size_t i = 0; i < cs->n; i++) {
		/* alarms held back: raised now, not lost with the stop */
		for (unsigned kind = 0; kind < 2; kind++)
			if (alert_limit_due(&cs->e[i].alert_limit[kind],
			    ALERT_LIMIT_END))
				raise_alarm(cs, &cs->e[i], kind, NULL,
				    clock_wall_ms());
		checkpoint_fini(&cs->e[i]);
	}
	free(cs);
}

static struct checkpoint_engine *
engine_of(struct checkpoint_set *cs, const uint8_t *ch)
{
	for (size_t i = 0; i < cs->n; i++)
		if (memcmp(cs->e[i].channel, ch, ENVELOPE_ID_LEN) == 0)
			return &cs->e[i];
	return NULL;
}

const struct checkpoint_engine *
checkpoint_set_engine(const struct checkpoint_set *cs,
    const uint8_t channel[ENVELOPE_ID_LEN])
{
	for (size_t i = 0; i < cs->n; i++)
		if (memcmp(cs->e[i].channel, channel, ENVELOPE_ID_LEN) == 0)
			return &cs->e[i];
	return NULL;
}

void
checkpoint_set_alerter(struct checkpoint_set *cs, struct alerter *a)
{
	if (cs != NULL)
		cs->alerts = a;
}

void
checkpoint_set_watch_disk(struct checkpoint_set *cs, const char *home,
    uint64_t min_bytes)
{
	if (cs == NULL)
		return;
	cs->home = home;
	cs->disk_min = min_bytes ? min_bytes : CHECKPOINT_DISK_MIN;
	cs->disk_checked = false;
}

/* Paced on the monotonic clock (mono_ms); the alert is raised at now_ms
 * (the wall clock). */
static void
watch_disk(struct checkpoint_set *cs, uint64_t now_ms, uint64_t mono_ms)
{
	struct statvfs sv;
	bool low;

	if (cs->home == NULL || (cs->disk_checked &&
	    mono_ms - cs->disk_ms < CHECKPOINT_DISK_CHECK_MS))
		return;
	cs->disk_ms = mono_ms;
	cs->disk_checked = true;
	if (statvfs(cs->home, &sv) != 0)
		return;
	cs->disk_free = (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
	low = cs->disk_free < cs->disk_min;
	if (low && !cs->disk_low) {
		char text[256], key[64];
		snprintf(text, sizeof text, "free space on the filesystem of "
		    "the node home is low: %llu MiB (threshold %llu MiB, "
		    "disk_free_min_mb)",
		    (unsigned long long)(cs->disk_free >> 20),
		    (unsigned long long)(cs->disk_min >> 20));
		log_warn("%s (%s): the store will refuse messages when the "
		    "disk is full", text, cs->home);
		snprintf(key, sizeof key, "disk-low-%llu",
		    (unsigned long long)now_ms);
		(void)alert_raise_text(cs->alerts, "disk-low", key, NULL, text,
		    now_ms);
	}
	else if (!low && cs->disk_low)
		log_info("free space on the filesystem of %s is back above "
		    "the threshold: %llu MiB", cs->home,
		    (unsigned long long)(cs->disk_free >> 20));
	cs->disk_low = low;
}

static void report(struct checkpoint_set *cs, struct checkpoint_engine *e,
    unsigned path, int r, uint64_t before, bool again, uint64_t now_ms,
    uint64_t mono_ms);

void
checkpoint_set_tick(struct checkpoint_set *cs, uint64_t now_ms)
{
	uint64_t mono_ms;
	size_t len;
	int path, r;

	if (cs == NULL)
		return;
	if (now_ms == 0)
		now_ms = clock_wall_ms();
	mono_ms = set_mono(cs);
	watch_disk(cs, now_ms, mono_ms);
	for (size_t i = 0; i < cs->n; i++) {
		struct checkpoint_engine *e = &cs->e[i];
		/* alarms held back in a period now ended: their count */
		for (unsigned kind = 0; kind < 2; kind++)
			if (alert_limit_due(&e->alert_limit[kind], mono_ms))
				raise_alarm(cs, e, kind, NULL, now_ms);
		/* the held co-signed ones the chains now reach: each at most
		 * once, CHECKPOINT_HELD_PER_TICK at most (the walk's limit) */
		struct checkpoint_walk w = { 0 };
		for (;;) {
			uint64_t before = e->cosigned;
			r = checkpoint_retry_held(e, now_ms, mono_ms, &w);
			if (!w.tried) {
				if (r != 0)
					log_warn("checkpoint: %s", err_str(r));
				break;
			}
			if (!w.kept)
				report(cs, e, 0, r, before, true, now_ms,
				    mono_ms);
			else if (w.first) {
				char ch[17];
				bool st = r != ERR_AGAIN;  /* a store error */
				short_hex(ch, e->channel);
				log_warn("channel %s: a held checkpoint is held "
				    "still: %s%s%s (tried again at each tick, "
				    "logged once)", ch, err_str(r), st ? ": " :
				    "", st ? store_errmsg(e->s) : "");
			}
		}
		uint64_t last_ms = e->last_ms;
		if ((path = delivery_active_path(cs->dl, e->channel)) < 0)
			continue;
		if ((r = checkpoint_tick(e, now_ms, mono_ms, cs->buf,
		    sizeof cs->buf, &len)) != 0) {
			log_warn("checkpoint: %s", err_str(r));
			continue;
		}
		/* not sent: made again at the next tick, so the interval
		 * counts from before it (checkpoint_tick moved it on) */
		if (len > 0 && delivery_send_other(cs->dl, e->channel,
		    (unsigned)path, CHECKPOINT_REC, cs->buf, len) != 0) {
			e->pending = false;
			e->last_ms = last_ms;
		}
	}
}

/* checkpoint_set_resend's walk over the stored checkpoints. */
struct resend {
	struct checkpoint_set *cs;
	struct checkpoint_engine *e;
	unsigned path;
	uint8_t asker;
	uint64_t from, prev[2];
	size_t sent;
	int err;
};

static int
resend_one(void *arg, const uint8_t *p, size_t n)
{
	struct resend *x = arg;
	struct checkpoint_rec *c;
	uint64_t base[2] = { x->prev[0], x->prev[1] };
	size_t len;
	int r;

	if ((c = calloc(1, sizeof *c)) == NULL)
		return ERR_NOMEM;
	if ((r = transcript_checkpoint_decode(&c->cp, p, n)) != 0) {
		free(c);
		return r;
	}
	x->prev[0] = c->cp.seq[0];
	x->prev[1] = c->cp.seq[1];
	c->kind = CHECKPOINT_COSIGNED;
	if ((r = fill_ids_from(x->e, c, base)) == 0 &&
	    (r = checkpoint_rec_encode(c, x->cs->buf, sizeof x->cs->buf,
	    &len)) == 0 && (r = delivery_send_other(x->cs->dl, x->e->channel,
	    x->path, CHECKPOINT_REC, x->cs->buf, len)) == 0)
		x->sent++;
	free(c);
	return r;
}

void
checkpoint_set_resend(struct checkpoint_set *cs,
    const uint8_t channel[ENVELOPE_ID_LEN], unsigned path,
    const uint8_t *ask, size_t n)
{
	struct checkpoint_engine *e = cs ? engine_of(cs, channel) : NULL;
	struct resend x;
	uint64_t to;
	int r;

	if (e == NULL || !delivery_record_current(cs->dl, channel, path))
		return;
	memset(&x, 0, sizeof x);
	x.cs = cs;
	x.e = e;
	x.path = path;
	x.asker = (uint8_t)(1 - e->self);
	if (recover_ask_decode(ask, n, &x.from, &to) != 0)
		return;		/* the delivery engine refuses it */
	/* those from the ask's from seq on, and no other read: a peer may
	 * send RECOVER as often as it likes (the first one's ids start at
	 * the chains' start, moved up to fit, as no earlier one is read) */
	r = store_checkpoints_from(e->s, e->channel, x.asker, x.from,
	    CHECKPOINT_RESEND_MAX, resend_one, &x);
	if (r != 0)
		log_warn("checkpoint: cannot give the peer its checkpoints "
		    "back: %s", err_str(r));
	else if (x.sent > 0)
		log_info("checkpoint: gave %zu co-signed checkpoints back to "
		    "the peer (restored from a backup)", x.sent);
}

/* The alert of an alarm of e that alert_limit let through (kind 0: the
 * chains diverge, 1: forged), or of those it held back (text NULL,
 * alert_limit_due), at now_ms (the wall clock). */
static void
raise_alarm(struct checkpoint_set *cs, struct checkpoint_engine *e,
    unsigned kind, const char *text, uint64_t now_ms)
{
	char key[96], ch[17], full[2 * ENVELOPE_ID_LEN + 1];
	char out[ALERT_LIMIT_OUT];

	short_hex(ch, e->channel);
	hex_encode(full, e->channel, ENVELOPE_ID_LEN);
	snprintf(key, sizeof key, "checkpoint-%s-%s-%llu", kind ? "forged" :
	    "diverged", ch, (unsigned long long)now_ms);
	alert_limit_text(&e->alert_limit[kind], text, out, sizeof out);
	(void)alert_raise_text(cs->alerts, kind ? "checkpoint-forged" :
	    "checkpoint-diverged", key, full, out, now_ms);
}

/* Logs (and alerts) what handling a record, or a held one again, did: an
 * alert at now_ms (the wall clock), limited on mono_ms (monotonic). */
static void
report(struct checkpoint_set *cs, struct checkpoint_engine *e, unsigned path,
    int r, uint64_t before, bool again, uint64_t now_ms, uint64_t mono_ms)
{
	char ch[17];

	short_hex(ch, e->channel);
	if (r == ERR_CHAIN || r == ERR_SIGNATURE) {
		unsigned kind = r == ERR_CHAIN ? 0 : 1;
		if (alert_limit(&e->alert_limit[kind], mono_ms,
		    checkpoint_alarm(e)))
			raise_alarm(cs, e, kind, checkpoint_alarm(e), now_ms);
	}
	else if (e->hold == CHECKPOINT_HOLD_FULL)
		log_warn("channel %s: a co-signed checkpoint %s and %d are held "
		    "already: dropped", ch, r == ERR_AGAIN ? "names messages "
		    "not held here yet" : "is not stored", CHECKPOINT_HELD_MAX);
	else if (e->hold == CHECKPOINT_HOLD_NOMEM)
		log_warn("channel %s: a co-signed checkpoint %s and cannot be "
		    "held (out of memory): dropped", ch, r == ERR_AGAIN ?
		    "names messages not held here yet" : "is not stored");
	else if (e->hold == CHECKPOINT_HOLD_NEW && r == ERR_AGAIN)
		log_info("channel %s: a co-signed checkpoint names messages not"
		    " held here yet; held until they are (%zu held)", ch,
		    e->nheld);
	else if (e->hold != CHECKPOINT_HOLD_NONE && r != ERR_AGAIN)
		log_warn("channel %s: a co-signed checkpoint is not stored (%s:"
		    " %s); held, stored again from the tick (%zu held)", ch,
		    err_str(r), store_errmsg(e->s), e->nheld);
	else if (e->hold == CHECKPOINT_HOLD_ALREADY)
		log_info("channel %s: a co-signed checkpoint names messages not"
		    " held here yet; one with its seqs is held already", ch);
	else if (r == ERR_AGAIN && !again)
		log_info("channel %s: a checkpoint names messages not held here"
		    " yet; not answered", ch);
	else if (r != 0 && again)
		log_warn("channel %s: a held checkpoint is dropped: %s", ch,
		    err_str(r));
	else if (r != 0)
		log_warn("channel %s path %u: refused a checkpoint record: %s",
		    ch, path, err_str(r));
	else if (e->cosigned != before)
		log_info("channel %s: checkpoint co-signed at seqs %llu/%llu",
		    ch, (unsigned long long)e->last.seq[0],
		    (unsigned long long)e->last.seq[1]);
	else if (again)
		log_info("channel %s: a held co-signed checkpoint is verified "
		    "and stored (%zu still held)", ch, e->nheld);
}

void
checkpoint_set_record(struct checkpoint_set *cs,
    const uint8_t channel[ENVELOPE_ID_LEN], unsigned path, const uint8_t *p,
    size_t n, uint64_t now_ms)
{
	struct checkpoint_engine *e = cs ? engine_of(cs, channel) : NULL;
	uint64_t before, mono_ms;
	size_t len = 0;
	char ch[17];
	int r;

	/* only on a session of the peer's newest run, after its RUN
	 * (docs/delivery.md "Paths"): a dead run's record on its way on a
	 * slow path is not taken, as its messages are not */
	if (e == NULL || !delivery_record_current(cs->dl, channel, path))
		return;
	if (now_ms == 0)
		now_ms = clock_wall_ms();
	mono_ms = set_mono(cs);
	before = e->cosigned;
	r = checkpoint_on_record(e, p, n, now_ms, mono_ms, cs->buf,
	    sizeof cs->buf, &len);
	report(cs, e, path, r, before, false, now_ms, mono_ms);
	short_hex(ch, channel);
	/* Forged: no honest peer sends it. Its session ends (as the
	 * delivery engine ends one for a forged message), so a repeat costs
	 * the sender a new handshake. A record that does not parse is only
	 * refused: a newer peer's format may be one (its decoders check the
	 * field count before the version). */
	if (r == ERR_SIGNATURE && cs->io.drop != NULL) {
		cs->io.drop(cs->io.ctx, channel, path, "forged checkpoint");
		return;
	}
	if (len > 0 && delivery_send_other(cs->dl, channel, path,
	    CHECKPOINT_REC, cs->buf, len) != 0)
		log_warn("channel %s path %u: checkpoint answer not sent", ch,
		    path);
}
