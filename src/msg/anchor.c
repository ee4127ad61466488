/*
 * anchor.c: see anchor.h. The record (docs/operators.md, "Audit
 * anchors"):
 *   ask:    { 1: version, 2: kind, 3: anchor (bstr 32), 4: time_ms
 *             [, 6: held [anchor (bstr 32), time_ms, sig (bstr 64)]] }
 *   answer: { 1: version, 2: kind, 3: anchor, 4: time_ms,
 *             5: sig (bstr 64), 7: claimed_ms }
 * The answerer signs only a time near its own clock (ANCHOR_CLOCK_SKEW_MS)
 * and later than the last it signed: the time is the asker's claim, but
 * one the peer vouches for to within that skew. The daemon's glue (the
 * set of engines) is anchor_set.c.
 */
#include "msg/anchor.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/wire.h"
#include "crypto/hash.h"
#include "store/record.h"

enum { K_VERSION = 1, K_KIND, K_ANCHOR, K_TIME, K_SIG, K_HELD, K_CLAIMED };

/* The map's pairs: an answer 6, an ask with held 5, without 4. */
#define FIELDS_SIGNED 6
#define FIELDS_HELD 5
#define FIELDS_ASK 4

int
anchor_rec_encode(const struct anchor_rec *a, uint8_t *out, size_t cap,
    size_t *len)
{
	struct wire_writer w;
	bool signed_ = a->kind == ANCHOR_SIGNED;

	if ((a->kind != ANCHOR_ASK && !signed_) || a->time_ms > INT64_MAX ||
	    a->claimed_ms > INT64_MAX || a->held_time_ms > INT64_MAX ||
	    (!signed_ && a->has_held && a->held_time_ms == 0))
		return ERR_INVALID;
	wire_writer_init(&w, out, cap);
	wire_put_map(&w, signed_ ? FIELDS_SIGNED : a->has_held ? FIELDS_HELD :
	    FIELDS_ASK);
	wire_put_uint(&w, K_VERSION);
	wire_put_uint(&w, ANCHOR_VERSION);
	wire_put_uint(&w, K_KIND);
	wire_put_uint(&w, a->kind);
	wire_put_uint(&w, K_ANCHOR);
	wire_put_bytes(&w, a->anchor, ANCHOR_LEN);
	wire_put_uint(&w, K_TIME);
	wire_put_uint(&w, a->time_ms);
	if (signed_) {
		wire_put_uint(&w, K_SIG);
		wire_put_bytes(&w, a->sig, KEYS_SIG_LEN);
		wire_put_uint(&w, K_CLAIMED);
		wire_put_uint(&w, a->claimed_ms);
	} else if (a->has_held) {
		wire_put_uint(&w, K_HELD);
		wire_put_array(&w, 3);
		wire_put_bytes(&w, a->held_anchor, ANCHOR_LEN);
		wire_put_uint(&w, a->held_time_ms);
		wire_put_bytes(&w, a->held_sig, KEYS_SIG_LEN);
	}
	if (wire_writer_finish(&w, len) != 0)
		return ERR_SHORT;
	return 0;
}

/* An ask's held: [anchor, time_ms, sig]. */
static int
read_held(struct wire_reader *r, struct anchor_rec *a)
{
	size_t items;
	int e;

	if ((e = wire_read_key(r, K_HELD)) != 0 ||
	    (e = wire_read_array(r, 3, &items)) != 0)
		return e;
	if (items != 3)
		return ERR_PARSE;
	if ((e = wire_read_bytes_exact(r, a->held_anchor, ANCHOR_LEN)) != 0 ||
	    (e = wire_read_uint(r, &a->held_time_ms)) != 0 ||
	    (e = wire_read_bytes_exact(r, a->held_sig, KEYS_SIG_LEN)) != 0)
		return e;
	a->has_held = true;
	return 0;
}

int
anchor_rec_decode(struct anchor_rec *a, const uint8_t *p, size_t n)
{
	uint8_t again[ANCHOR_REC_MAX];
	struct wire_reader r;
	uint64_t version, kind;
	size_t fields, len;
	int e;

	memset(a, 0, sizeof *a);
	if (n > ANCHOR_REC_MAX)
		return ERR_TOO_BIG;
	/* the map's count names the shape (an answer, an ask with held or
	 * without); a non-shortest head is refused by the reader whichever
	 * count is read */
	fields = n == 0 ? FIELDS_ASK : p[0] == 0xa0 + FIELDS_SIGNED ?
	    FIELDS_SIGNED : p[0] == 0xa0 + FIELDS_HELD ? FIELDS_HELD :
	    FIELDS_ASK;
	wire_reader_init(&r, p, n);
	if ((e = wire_read_map(&r, fields)) != 0 ||
	    (e = wire_read_key(&r, K_VERSION)) != 0 ||
	    (e = wire_read_uint(&r, &version)) != 0)
		return e;
	if (version != ANCHOR_VERSION)
		return ERR_VERSION;
	if ((e = wire_read_key(&r, K_KIND)) != 0 ||
	    (e = wire_read_uint(&r, &kind)) != 0)
		return e;
	if (kind != (fields == FIELDS_SIGNED ? ANCHOR_SIGNED : ANCHOR_ASK))
		return kind == ANCHOR_ASK || kind == ANCHOR_SIGNED ? ERR_PARSE :
		    ERR_INVALID;
	a->kind = (uint8_t)kind;
	if ((e = wire_read_key(&r, K_ANCHOR)) != 0 ||
	    (e = wire_read_bytes_exact(&r, a->anchor, ANCHOR_LEN)) != 0 ||
	    (e = wire_read_key(&r, K_TIME)) != 0 ||
	    (e = wire_read_uint(&r, &a->time_ms)) != 0)
		return e;
	if (fields == FIELDS_SIGNED && ((e = wire_read_key(&r, K_SIG)) != 0 ||
	    (e = wire_read_bytes_exact(&r, a->sig, KEYS_SIG_LEN)) != 0 ||
	    (e = wire_read_key(&r, K_CLAIMED)) != 0 ||
	    (e = wire_read_uint(&r, &a->claimed_ms)) != 0))
		return e;
	if (fields == FIELDS_HELD && (e = read_held(&r, a)) != 0)
		return e;
	if ((e = wire_read_end(&r)) != 0)
		return e;
	if (a->time_ms > INT64_MAX || a->claimed_ms > INT64_MAX ||
	    a->held_time_ms > INT64_MAX || (a->has_held &&
	    a->held_time_ms == 0))
		return ERR_INVALID;
	/* the reader passes only the deterministic encoding; the builder
	 * must agree with it byte for byte */
	if ((e = anchor_rec_encode(a, again, sizeof again, &len)) != 0)
		return e;
	return wire_same(p, n, again, len) ? 0 : ERR_NONCANONICAL;
}

void
anchor_compute(const uint8_t channel[ANCHOR_CHANNEL_LEN],
    const uint8_t head[AUDIT_HASH_LEN], const uint8_t salt[ANCHOR_SALT_LEN],
    uint8_t anchor[ANCHOR_LEN])
{
	uint8_t m[ANCHOR_CHANNEL_LEN + AUDIT_HASH_LEN + ANCHOR_SALT_LEN];

	memcpy(m, channel, ANCHOR_CHANNEL_LEN);
	memcpy(m + ANCHOR_CHANNEL_LEN, head, AUDIT_HASH_LEN);
	memcpy(m + ANCHOR_CHANNEL_LEN + AUDIT_HASH_LEN, salt, ANCHOR_SALT_LEN);
	hash_ctx(anchor, ANCHOR_LEN, ANCHOR_CTX, m, sizeof m);
}

static void
signed_bytes(uint8_t out[ANCHOR_SIGNED_LEN],
    const uint8_t channel[ANCHOR_CHANNEL_LEN],
    const uint8_t anchor[ANCHOR_LEN], uint64_t time_ms)
{
	memcpy(out, channel, ANCHOR_CHANNEL_LEN);
	memcpy(out + ANCHOR_CHANNEL_LEN, anchor, ANCHOR_LEN);
	for (int i = 0; i < 8; i++)
		out[ANCHOR_CHANNEL_LEN + ANCHOR_LEN + i] =
		    (uint8_t)(time_ms >> (56 - 8 * i));
}

int
anchor_sign(const struct keys *k, const uint8_t channel[ANCHOR_CHANNEL_LEN],
    const uint8_t anchor[ANCHOR_LEN], uint64_t time_ms,
    uint8_t sig[KEYS_SIG_LEN])
{
	uint8_t m[ANCHOR_SIGNED_LEN];

	signed_bytes(m, channel, anchor, time_ms);
	return keys_sign(k, ANCHOR_SIGN_CTX, m, sizeof m, sig);
}

int
anchor_check(const uint8_t pub[KEYS_PUB_LEN],
    const uint8_t channel[ANCHOR_CHANNEL_LEN],
    const uint8_t anchor[ANCHOR_LEN], uint64_t time_ms,
    const uint8_t sig[KEYS_SIG_LEN])
{
	uint8_t m[ANCHOR_SIGNED_LEN];

	signed_bytes(m, channel, anchor, time_ms);
	return keys_verify(pub, ANCHOR_SIGN_CTX, m, sizeof m, sig) == 0 ? 0 :
	    ERR_SIGNATURE;
}

/* ---- the engine ---- */

/* The last ask we signed, also in an earlier run (invariant 4): our
 * evidence, and the claim its answer carried. Unreadable: nothing that run may have signed is signed again
 * (its times were within the skew of a clock before now_ms). */
static void
load_signed(struct anchor_engine *e, uint64_t now_ms)
{
	struct store_anchor given;
	int r;

	if ((r = store_anchor_given_newest(e->s, e->channel, &given)) != 0) {
		log_warn("audit anchor: cannot read what we signed last (%s): "
		    "asks dated before %d ms from now are not answered",
		    err_str(r), ANCHOR_CLOCK_SKEW_MS);
		e->signed_.time_ms = (now_ms + ANCHOR_CLOCK_SKEW_MS) & INT64_MAX;
		return;
	}
	if (given.time_ms == 0)
		return;
	e->signed_.kind = ANCHOR_SIGNED;
	memcpy(e->signed_.anchor, given.anchor, ANCHOR_LEN);
	e->signed_.time_ms = given.time_ms;
	memcpy(e->signed_.sig, given.sig, KEYS_SIG_LEN);
	/* the claim it carried (invariant 6), as answer() computed it: an
	 * answer lost and asked again after a restart says it again */
	if ((r = store_anchor_claimed(e->s, e->channel, given.time_ms,
	    &e->signed_.claimed_ms)) != 0) {
		log_warn("audit anchor: cannot read what the peer held before "
		    "(%s): the last answer, if asked again, claims none",
		    err_str(r));
		e->signed_.claimed_ms = 0;
	}
}

void
anchor_init(struct anchor_engine *e, struct store *s, const struct keys *k,
    const uint8_t channel[ANCHOR_CHANNEL_LEN],
    const uint8_t peer_pub[KEYS_PUB_LEN], uint64_t interval_ms,
    uint64_t now_ms, uint64_t mono_ms)
{
	bool found;
	int r;

	memset(e, 0, sizeof *e);
	e->s = s;
	e->k = k;
	memcpy(e->channel, channel, ANCHOR_CHANNEL_LEN);
	memcpy(e->peer_pub, peer_pub, KEYS_PUB_LEN);
	e->interval_ms = interval_ms ? interval_ms : ANCHOR_INTERVAL_MS;
	if (e->interval_ms < ANCHOR_INTERVAL_MIN_MS)
		e->interval_ms = ANCHOR_INTERVAL_MIN_MS;
	e->retry_ms = ANCHOR_RETRY_MS;
	e->wait_ms = e->retry_ms;
	e->next_ms = mono_ms;
	e->refill_ms = ANCHOR_ANSWER_REFILL_MS;
	e->tokens = ANCHOR_ANSWER_BURST;
	e->bucket_ms = mono_ms;
	e->op_refill_ms = ANCHOR_OP_REFILL_MS;
	e->op_tokens = ANCHOR_OP_BURST;
	e->op_bucket_ms = mono_ms;
	if ((r = store_anchor_newest(s, channel, &e->took, &found)) != 0) {
		log_warn("audit anchor: cannot read the last stored one: %s",
		    err_str(r));
		memset(&e->took, 0, sizeof e->took);
	}
	e->last_n = e->took.n;
	load_signed(e, now_ms);
	/* counted here once, then as stored (status reads it often) */
	if ((r = store_anchor_given_count(s, channel, &e->given)) != 0)
		log_warn("audit anchor: cannot count what we signed: %s",
		    err_str(r));
	e->given_known = r == 0;
}

void
anchor_pace(struct anchor_engine *e, uint64_t pace_ms)
{
	if (pace_ms == 0)
		return;
	e->interval_ms = e->refill_ms = pace_ms;
	e->op_refill_ms = 2 * pace_ms;
	e->retry_ms = pace_ms < ANCHOR_RETRY_MS ? pace_ms : ANCHOR_RETRY_MS;
	e->wait_ms = e->retry_ms;
}

/* A new ask over the log's head as it is now, with a fresh salt; the one
 * in flight, if any, becomes prev (still taken if answered late). */
static int
new_ask(struct anchor_engine *e, uint64_t now_ms)
{
	uint8_t head[AUDIT_HASH_LEN];
	struct store_anchor held;
	bool found;
	uint64_t n;
	int r;

	if ((r = store_audit_last(e->s, &n, head)) != 0 ||
	    (r = store_anchor_held(e->s, e->channel, &held, &found)) != 0)
		return r;
	if (n == 0)		/* an empty log: answered, never stored */
		memset(head, 0, sizeof head);
	if (e->pending) {
		e->has_prev = true;
		e->prev = e->ask;
		e->prev_n = e->ask_n;
		e->prev_op = e->ask_op;
		memcpy(e->prev_salt, e->ask_salt, ANCHOR_SALT_LEN);
	}
	e->ask_op = e->op_asked;
	randombytes_buf(e->ask_salt, ANCHOR_SALT_LEN);
	memset(&e->ask, 0, sizeof e->ask);
	e->ask.kind = ANCHOR_ASK;
	anchor_compute(e->channel, head, e->ask_salt, e->ask.anchor);
	e->ask.time_ms = now_ms & INT64_MAX;
	/* invariant 6: a row whose signature is not the peer's (altered)
	 * is not shown: held none, which the peer sees as going back */
	if (found && held.time_ms != 0 && anchor_check(e->peer_pub,
	    e->channel, held.anchor, held.time_ms, held.sig) != 0) {
		log_warn("audit anchor: the newest stored (entry %llu) is not "
		    "signed by the peer: the row was altered; asking as if "
		    "holding none", (unsigned long long)held.n);
		found = false;
	}
	if (found && held.time_ms != 0) {
		e->ask.has_held = true;
		memcpy(e->ask.held_anchor, held.anchor, ANCHOR_LEN);
		e->ask.held_time_ms = held.time_ms;
		memcpy(e->ask.held_sig, held.sig, KEYS_SIG_LEN);
	}
	e->ask_n = n;
	e->pending = true;
	e->wait_ms = e->retry_ms;
	return 0;
}

/* A token bucket: one token per every_ms, at most burst; mono_ms of the
 * monotonic clock (a step of the wall clock neither drains nor fills it). */
static void
bucket_refill(uint64_t *tokens, uint64_t *at_ms, uint64_t burst,
    uint64_t every_ms, uint64_t mono_ms)
{
	uint64_t k;

	if (mono_ms < *at_ms) {	/* never, but a caller's mistake must */
		*at_ms = mono_ms;	/* not make tokens of it */
		return;
	}
	k = (mono_ms - *at_ms) / every_ms;
	if (*tokens + k >= burst) {
		*tokens = burst;
		*at_ms = mono_ms;
	} else {
		*tokens += k;
		*at_ms += k * every_ms;
	}
}

/* The answering side's token bucket: one token per refill_ms, at most
 * ANCHOR_ANSWER_BURST. */
static void
refill(struct anchor_engine *e, uint64_t mono_ms)
{
	bucket_refill(&e->tokens, &e->bucket_ms, ANCHOR_ANSWER_BURST,
	    e->refill_ms, mono_ms);
}

int
anchor_ask_now(struct anchor_engine *e, uint64_t mono_ms, uint64_t *ticket,
    uint64_t *retry_ms)
{
	*ticket = *retry_ms = 0;
	if (e->op_asked > e->op_tried) {	/* one not made yet: the same */
		*ticket = e->op_asked;
		return 0;
	}
	bucket_refill(&e->op_tokens, &e->op_bucket_ms, ANCHOR_OP_BURST,
	    e->op_refill_ms, mono_ms);
	if (e->op_tokens == 0) {
		*retry_ms = e->op_bucket_ms + e->op_refill_ms - mono_ms;
		return ERR_FULL;
	}
	e->op_tokens--;
	*ticket = ++e->op_asked;
	return 0;
}

int
anchor_tick(struct anchor_engine *e, uint64_t now_ms, uint64_t mono_ms,
    uint8_t *out, size_t cap, size_t *len)
{
	bool due = mono_ms >= e->next_ms, op = e->op_asked > e->op_tried &&
	    mono_ms >= e->op_after_ms;
	int r;

	*len = 0;
	if (!due && !op && !(e->pending && mono_ms - e->sent_ms >= e->wait_ms))
		return 0;
	if (due || op) {
		/* a head inside an open transaction may yet roll back */
		if (!store_settled(e->s))
			return 0;
		if ((r = new_ask(e, now_ms)) != 0) {
			/* put off, so that a failing store is not asked (and
			 * logged) at every tick; an operator's ask is kept,
			 * made at a tick after the retry (its ticket stays) */
			if (due)
				e->next_ms = mono_ms + e->retry_ms;
			if (e->op_asked > e->op_tried)
				e->op_after_ms = mono_ms + e->retry_ms;
			return r;
		}
		e->op_tried = e->op_asked;	/* made: new_ask's ask_op */
		if (due)	/* an operator's ask leaves the schedule */
			e->next_ms = mono_ms + e->interval_ms;
	} else if (e->wait_ms < e->interval_ms) {
		/* asked again: the peer may be one that never answers (an
		 * older node): twice as long each time, up to the interval */
		e->wait_ms = e->wait_ms > e->interval_ms / 2 ? e->interval_ms :
		    2 * e->wait_ms;
	}
	if ((r = anchor_rec_encode(&e->ask, out, cap, len)) != 0) {
		*len = 0;
		return r;
	}
	e->sent_ms = mono_ms;
	return 0;
}

static int
refuse(struct anchor_engine *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
refuse(struct anchor_engine *e, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->why, sizeof e->why, fmt, ap);
	va_end(ap);
	e->refused++;
	return code;
}

static bool
same_ask(const struct anchor_rec *a, const struct anchor_rec *b)
{
	return memcmp(a->anchor, b->anchor, ANCHOR_LEN) == 0 &&
	    a->time_ms == b->time_ms;
}

/* Whether we sign a new ask of the peer's (invariant 4); refuses. */
static int
ask_acceptable(struct anchor_engine *e, const struct anchor_rec *ask,
    uint64_t now_ms, uint64_t mono_ms)
{
	uint64_t off = ask->time_ms > now_ms ? ask->time_ms - now_ms :
	    now_ms - ask->time_ms;
	char when[32];

	if (off > ANCHOR_CLOCK_SKEW_MS) {
		clock_utc_str(when, ask->time_ms);
		return refuse(e, ERR_INVALID, "an ask dated %s, %llu ms %s our "
		    "clock (at most %d ms): not answered", when,
		    (unsigned long long)off, ask->time_ms > now_ms ?
		    "ahead of" : "behind", ANCHOR_CLOCK_SKEW_MS);
	}
	if (e->signed_.time_ms != 0 && ask->time_ms <= e->signed_.time_ms)
		return refuse(e, ERR_REPLAY, "an ask dated %llu, not later "
		    "than the last one we signed (%llu): not answered",
		    (unsigned long long)ask->time_ms,
		    (unsigned long long)e->signed_.time_ms);
	refill(e, mono_ms);
	if (e->tokens == 0)
		return refuse(e, ERR_FULL, "more asks than one per %llu ms "
		    "(after %d): not answered",
		    (unsigned long long)e->refill_ms, ANCHOR_ANSWER_BURST);
	return 0;
}

/* Whether an ask's held (invariant 6) is our own signature over this
 * channel: checked with our key, not against our evidence table (which
 * may have been restored from an older backup). One that is not (altered,
 * another channel's or key's) is taken as holding none: refusing it would
 * let whoever altered the asker's store silence the alarm. */
static bool
held_genuine(const struct anchor_engine *e, const struct anchor_rec *ask)
{
	return !ask->has_held || anchor_check(e->k->id.sign_pub, e->channel,
	    ask->held_anchor, ask->held_time_ms, ask->held_sig) == 0;
}

/* A regression (invariant 6) from from_ms back to to_ms, if to_ms is
 * older: stored once; the first time, e->back says so. A store error
 * reports it too (raised again, at worst, while the store fails). */
static void
went_back(struct anchor_engine *e, bool ours, uint64_t from_ms,
    uint64_t to_ms, uint64_t now_ms)
{
	bool fresh = false;
	int r;

	if (from_ms == 0 || to_ms >= from_ms)
		return;
	if ((r = store_anchor_back_put(e->s, e->channel, ours, from_ms, to_ms,
	    now_ms, &fresh)) != 0) {
		log_warn("audit anchor: cannot store that anchors went back: "
		    "%s", err_str(r));
		fresh = true;
	}
	if (!fresh)
		return;
	e->back = true;
	e->back_ours = ours;
	e->back_from_ms = from_ms;
	e->back_to_ms = to_ms;
	e->backs++;
}

/* The peer's ask: our evidence stored first, then signed and answered.
 * The last ask signed, sent again, is answered again as it was. */
static int
answer(struct anchor_engine *e, const struct anchor_rec *ask,
    uint64_t now_ms, uint64_t mono_ms, uint8_t *out, size_t cap, size_t *len)
{
	struct anchor_rec ans = *ask;
	struct store_anchor given;
	bool again = e->signed_.kind == ANCHOR_SIGNED &&
	    same_ask(ask, &e->signed_);
	int r;

	if (again && mono_ms - e->answered_ms < ANCHOR_ANSWER_GAP_MS)
		return refuse(e, ERR_FULL, "the same ask %llu ms after we "
		    "answered it (at most one per %d ms): not answered",
		    (unsigned long long)(mono_ms - e->answered_ms),
		    ANCHOR_ANSWER_GAP_MS);
	if (again) {
		ans = e->signed_;
	} else {
		/* the cheap limits first: a signature checked only for an
		 * ask we would sign */
		if ((r = ask_acceptable(e, ask, now_ms, mono_ms)) != 0)
			return r;
		e->forged_held = !held_genuine(e, ask);
		if ((r = store_anchor_claimed(e->s, e->channel, ask->time_ms,
		    &ans.claimed_ms)) != 0)
			return refuse(e, r, "cannot read what the peer held "
			    "before (%s): the peer's ask is not answered",
			    err_str(r));
		ans.kind = ANCHOR_SIGNED;
		ans.has_held = false;
		if ((r = anchor_sign(e->k, e->channel, ask->anchor,
		    ask->time_ms, ans.sig)) != 0)
			return refuse(e, r, "cannot sign the peer's ask: %s",
			    err_str(r));
		memset(&given, 0, sizeof given);
		memcpy(given.anchor, ask->anchor, ANCHOR_LEN);
		given.time_ms = ask->time_ms;
		memcpy(given.sig, ans.sig, KEYS_SIG_LEN);
		given.held_ms = ask->has_held && !e->forged_held ?
		    ask->held_time_ms : 0;
		if ((r = store_anchor_given_put(e->s, e->channel, &given,
		    now_ms)) != 0)
			return refuse(e, r, "cannot store what we would sign "
			    "(%s): the peer's ask is not answered",
			    err_str(r));
		e->tokens--;
		e->given++;
		e->signed_ = ans;
		went_back(e, false, ans.claimed_ms, given.held_ms, now_ms);
	}
	if ((r = anchor_rec_encode(&ans, out, cap, len)) != 0) {
		*len = 0;
		return refuse(e, r, "cannot build the answer: %s",
		    err_str(r));
	}
	e->answered_ms = mono_ms;
	e->answered++;
	return 0;
}

/* The peer's answer to our pending ask, or to the one it replaced. Stored
 * only above the highest n anchored (an anchor of the same head, made
 * again with another salt, adds nothing). */
static int
take(struct anchor_engine *e, const struct anchor_rec *ans, uint64_t now_ms)
{
	const struct anchor_rec *held;
	struct store_anchor a;
	bool late;
	int r;

	if (!e->pending && !e->has_prev)
		return refuse(e, ERR_STATE, "a signed anchor that answers no "
		    "ask of ours (none in flight): ignored");
	late = !e->pending || !same_ask(ans, &e->ask);
	if (late && (!e->has_prev || !same_ask(ans, &e->prev)))
		return refuse(e, ERR_STATE, "a signed anchor for another "
		    "anchor or time than our ask in flight: ignored");
	if (anchor_check(e->peer_pub, e->channel, ans->anchor, ans->time_ms,
	    ans->sig) != 0)
		return refuse(e, ERR_SIGNATURE, "the signed anchor's signature "
		    "is not the peer's signing key's (of the agreement): "
		    "ignored, asked again later");
	memset(&a, 0, sizeof a);
	a.n = late ? e->prev_n : e->ask_n;
	memcpy(a.anchor, ans->anchor, ANCHOR_LEN);
	memcpy(a.salt, late ? e->prev_salt : e->ask_salt, ANCHOR_SALT_LEN);
	a.time_ms = ans->time_ms;
	memcpy(a.sig, ans->sig, KEYS_SIG_LEN);
	/* every answer (invariant 1), so that held moves whether or not
	 * the log grew */
	if (a.n >= 1 && a.n >= e->last_n) {
		r = store_anchor_put(e->s, e->channel, &a, now_ms);
		if (r != 0 && r != ERR_EXISTS)
			return refuse(e, r, "cannot store the signed anchor "
			    "(%s): asked again later", err_str(r));
		/* the newest: the highest n, of its rows the latest time
		 * (store_anchor_newest), not a late answer of the same n */
		if (a.n > e->took.n || a.time_ms > e->took.time_ms)
			e->took = a;
		e->last_n = a.n;
		e->anchored++;
	}
	if ((late ? e->prev_op : e->ask_op) > e->op_answered)
		e->op_answered = late ? e->prev_op : e->ask_op;
	/* only once the answer is taken: a regression stored as seen by
	 * an answer then refused would never be raised (the daemon raises
	 * alarms of records taken only) */
	held = late ? &e->prev : &e->ask;
	went_back(e, true, ans->claimed_ms, held->has_held ?
	    held->held_time_ms : 0, now_ms);
	if (late) {		/* the ask in flight waits for its own */
		e->has_prev = false;
		return 0;
	}
	e->pending = false;
	e->wait_ms = e->retry_ms;
	return 0;
}

int
anchor_on_record(struct anchor_engine *e, const uint8_t *p, size_t n,
    uint64_t now_ms, uint64_t mono_ms, uint8_t *out, size_t cap, size_t *len)
{
	struct anchor_rec a;
	int r;

	*len = 0;
	e->why[0] = '\0';
	e->back = false;
	e->forged_held = false;
	if ((r = anchor_rec_decode(&a, p, n)) != 0)
		return refuse(e, r, "not a well-formed audit anchor record of "
		    "version %d (%zu bytes): %s", ANCHOR_VERSION, n,
		    err_str(r));
	if (a.kind == ANCHOR_ASK)
		return answer(e, &a, now_ms, mono_ms, out, cap, len);
	return take(e, &a, now_ms);
}

/* ---- parley verify ---- */

int
anchor_check_log(struct anchor_engine *e, uint64_t mono_ms)
{
	struct store_anchor row;
	uint8_t hash[AUDIT_HASH_LEN], anchor[ANCHOR_LEN];
	bool found;
	char when[32];
	int r;

	/* due at the interval, and at a new ask: the head it showed is the
	 * log as it is now, rewritten or not, and its answer, once stored,
	 * is the newest row and matches it */
	if (e->log_checked && mono_ms - e->log_check_ms < e->interval_ms &&
	    memcmp(e->log_ask, e->ask.anchor, ANCHOR_LEN) == 0)
		return 0;
	e->log_checked = true;
	e->log_check_ms = mono_ms;
	e->log_checks++;
	memcpy(e->log_ask, e->ask.anchor, ANCHOR_LEN);
	e->log_bad = false;
	if ((r = store_anchor_newest(e->s, e->channel, &row, &found)) != 0 ||
	    !found || row.n == 0)
		return r;
	if ((r = store_audit_hash(e->s, row.n, hash, &found)) != 0)
		return r;
	clock_utc_str(when, row.time_ms);
	if (anchor_check(e->peer_pub, e->channel, row.anchor, row.time_ms,
	    row.sig) != 0)
		snprintf(e->log_fault, sizeof e->log_fault, "the audit anchor "
		    "at entry %llu (%s) is not signed by the peer: the anchor "
		    "row was altered or forged", (unsigned long long)row.n,
		    when);
	else if (!found)
		snprintf(e->log_fault, sizeof e->log_fault, "the audit log has "
		    "no entry %llu, but the peer signed it up to there at %s: "
		    "the log was cut or rewritten, or the row's n altered", (unsigned long long)row.n,
		    when);
	else {
		anchor_compute(e->channel, hash, row.salt, anchor);
		if (sodium_memcmp(anchor, row.anchor, ANCHOR_LEN) == 0)
			return 0;
		snprintf(e->log_fault, sizeof e->log_fault, "audit log entry "
		    "<= %llu does not match what the peer signed at %s: the "
		    "log was rewritten, or the row's n altered", (unsigned long long)row.n, when);
	}
	e->log_bad = true;
	e->log_row = row;
	return 0;
}

int
anchor_verify_one(const uint8_t (*heads)[AUDIT_HASH_LEN], size_t count,
    const uint8_t channel[ANCHOR_CHANNEL_LEN],
    const uint8_t pub[KEYS_PUB_LEN], const char *peer,
    const struct store_anchor *a, struct anchor_verdict *v)
{
	uint8_t anchor[ANCHOR_LEN];
	char when[32];

	clock_utc_str(when, a->time_ms);
	v->bad_n = a->n;
	if (anchor_check(pub, channel, a->anchor, a->time_ms, a->sig) != 0) {
		snprintf(v->fault, sizeof v->fault, "the audit anchor at entry "
		    "%llu (%s) is not signed by %s: the anchor row was altered"
		    " or forged", (unsigned long long)a->n, when, peer);
		return ERR_SIGNATURE;
	}
	if (a->n >= 1 && a->n <= count) {
		anchor_compute(channel, heads[a->n - 1], a->salt, anchor);
		if (memcmp(anchor, a->anchor, ANCHOR_LEN) == 0) {
			v->bad_n = 0;
			return 0;
		}
	}
	for (size_t m = 1; m <= count; m++) {
		anchor_compute(channel, heads[m - 1], a->salt, anchor);
		if (memcmp(anchor, a->anchor, ANCHOR_LEN) != 0)
			continue;
		snprintf(v->fault, sizeof v->fault, "the audit anchor row of "
		    "entry %llu is what %s signed at %s for entry %zu: the "
		    "anchor row's n was altered", (unsigned long long)a->n,
		    peer, when, m);
		return ERR_INVALID;
	}
	if (a->n == 0 || a->n > count) {
		snprintf(v->fault, sizeof v->fault, "the audit log has %zu "
		    "entries, but %s signed it up to entry %llu at %s: the log"
		    " was cut or rewritten", count, peer,
		    (unsigned long long)a->n, when);
		return ERR_GAP;
	}
	snprintf(v->fault, sizeof v->fault, "audit log entry <= %llu "
	    "does not match what %s signed at %s: the log was "
	    "rewritten", (unsigned long long)a->n, peer, when);
	return ERR_CHAIN;
}

struct heads {
	uint8_t (*v)[AUDIT_HASH_LEN];
	size_t n, cap;
};

static int
grab_head(void *arg, uint64_t n, const uint8_t *entry, size_t len,
    const uint8_t hash[STORE_ID_LEN])
{
	struct heads *h = arg;
	uint8_t (*v)[AUDIT_HASH_LEN];

	(void)entry;
	(void)len;
	if (n != h->n + 1)	/* audit_verify names a gap: stop here */
		return 0;
	if (h->n == h->cap) {
		size_t cap = h->cap ? 2 * h->cap : 256;
		if ((v = realloc(h->v, cap * sizeof *v)) == NULL)
			return ERR_NOMEM;
		h->v = v;
		h->cap = cap;
	}
	memcpy(h->v[h->n++], hash, AUDIT_HASH_LEN);
	return 0;
}

struct walk {
	const struct heads *h;
	const uint8_t *channel, *pub;
	const char *peer;
	struct anchor_verdict *v;
};

static int
check_row(void *arg, const struct store_anchor *a)
{
	struct walk *w = arg;
	int r;

	if ((r = anchor_verify_one((const uint8_t (*)[AUDIT_HASH_LEN])w->h->v,
	    w->h->n, w->channel, w->pub, w->peer, a, w->v)) != 0)
		return r;
	w->v->count++;
	if (a->n >= w->v->newest_n) {
		w->v->newest_n = a->n;
		w->v->newest_time_ms = a->time_ms;
	}
	return 0;
}

int
anchor_verify_store(struct store *s,
    const uint8_t channel[ANCHOR_CHANNEL_LEN],
    const uint8_t pub[KEYS_PUB_LEN], const char *peer,
    struct anchor_verdict *v)
{
	struct heads h = { NULL, 0, 0 };
	struct walk w = { &h, channel, pub, peer, v };
	bool txn;
	int r;

	memset(v, 0, sizeof *v);
	/* the log and the anchors as of one commit: else an entry and its
	 * anchor committed between the two reads look like a cut log
	 * (inside a caller's transaction, that one) */
	if ((r = store_read_begin(s)) != 0 && r != ERR_STATE)
		return r;
	txn = r == 0;
	if ((r = store_audit_each(s, grab_head, &h)) == 0)
		r = store_anchors_each(s, channel, check_row, &w);
	if (txn)
		store_read_end(s);
	free(h.v);
	return r;
}
