/*
 * anchor.h: audit anchors (docs/operators.md "Audit anchors"; the record
 * in CDDL there). The audit log (msg/audit.h) is node-wide and only
 * hash-chained: whoever can write the store file can rewrite it whole,
 * every hash recomputed. So now and then the peer of each channel signs a
 * value bound to the log's head, and `parley verify` recomputes every
 * stored anchor from the log and checks the peer's signature over it:
 *
 *   anchor = hash_ctx(32, "parley audit anchor v1", channel || hash(n))
 *   sig    = keys_sign(peer, "parley audit anchor signature v1",
 *                      channel || anchor || time_ms (8 bytes, big-endian))
 *
 * Per channel, so that two peers never see the same value; neither n nor
 * an entry is disclosed (the peer learns nothing of other channels). The
 * peer keeps what it signed (table audit_anchor_given, its evidence); we
 * keep (n, anchor, time_ms, sig) (table audit_anchor). n is local only.
 *
 * NOTES, invariants of one channel's engine:
 *  1. At most one ask in flight (pending). An answer is taken only if it
 *     names the pending ask's anchor and time (or those of the ask it
 *     replaced over a grown log, answered late: prev, above last_n) and
 *     carries the peer's signature over them; anything else is refused
 *     and changes nothing (e->why says what was wrong).
 *  2. An ask names a committed head (store_settled) above last_n, the
 *     highest n anchored; a stored answer moves last_n up to the ask's n.
 *  3. An unanswered ask is made again wait_ms after it went (the same
 *     ask, or a new one at the log's head if it grew): retry_ms, doubled
 *     at each ask made again, at most interval_ms (back to retry_ms once
 *     one is answered); a new one interval_ms after the last, or at the
 *     first tick after a session came up (anchor_session_up) but not
 *     within ANCHOR_INTERVAL_MIN_MS of the last, if the log grew.
 *  4. We sign a peer's ask only once its evidence is stored, and answer at
 *     most one ask per ANCHOR_ANSWER_GAP_MS (a peer cannot fill the store).
 *
 *      idle --(log grew; interval passed or session up)--> pending
 *      pending --(answer verified and stored)--> idle
 *      pending --(wait_ms, no answer)--> pending (asked again)
 *
 * Like the checkpoint engine, it does no I/O: the caller sends the bytes
 * it returns as a link record (ANCHOR_REC). It reads and writes the store
 * and signs with k.
 */
#ifndef PARLEY_MSG_ANCHOR_H
#define PARLEY_MSG_ANCHOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "crypto/keys.h"
#include "msg/audit.h"
#include "store/people.h"

#define ANCHOR_REC 0x1a			/* link upper record type */
#define ANCHOR_VERSION 1		/* the record's field 1; bump me */
#define ANCHOR_CTX "parley audit anchor v1"
#define ANCHOR_SIGN_CTX "parley audit anchor signature v1"
#define ANCHOR_LEN 32
#define ANCHOR_CHANNEL_LEN 32
#define ANCHOR_SIGNED_LEN (ANCHOR_CHANNEL_LEN + ANCHOR_LEN + 8)
#define ANCHOR_REC_MAX 128		/* the longest record is 117 bytes */
#define ANCHOR_INTERVAL_MS 600000	/* ten minutes */
#define ANCHOR_RETRY_MS 10000		/* an unanswered ask again */
#define ANCHOR_INTERVAL_MIN_MS 1000	/* asks made, at most one per */
#define ANCHOR_ANSWER_GAP_MS 500	/* asks answered, at most one per */
#define ANCHOR_WHY_MAX 200
#define ANCHOR_FAULT_MAX 320

_Static_assert(ANCHOR_LEN == AUDIT_HASH_LEN, "an anchor is a hash's size");
_Static_assert(ANCHOR_LEN == STORE_ID_LEN, "anchors fit the store");
_Static_assert(KEYS_SIG_LEN == STORE_SIG_LEN, "signatures fit the store");

enum anchor_kind {
	ANCHOR_ASK = 1,		/* ours: "sign this" */
	ANCHOR_SIGNED = 2,	/* the peer's answer, with its signature */
};

/* One ANCHOR_REC record. */
struct anchor_rec {
	uint8_t kind;			/* enum anchor_kind */
	uint8_t anchor[ANCHOR_LEN];
	uint64_t time_ms;		/* the asker's clock */
	uint8_t sig[KEYS_SIG_LEN];	/* ANCHOR_SIGNED only */
};

/* Its builder (ANCHOR_REC_MAX bytes suffice): ERR_INVALID for a kind out
 * of range or a time over INT64_MAX, ERR_SHORT for a small buffer. */
int anchor_rec_encode(const struct anchor_rec *a, uint8_t *out, size_t cap,
    size_t *len) WUR;
/* Its parser, pure: deterministic CBOR only, every byte read.
 * ERR_TOO_BIG, ERR_PARSE (truncated, trailing bytes, a field missing, of
 * another type or size), ERR_NONCANONICAL, ERR_VERSION, ERR_INVALID (an
 * unknown kind, a time over INT64_MAX). */
int anchor_rec_decode(struct anchor_rec *a, const uint8_t *p, size_t n)
    WUR;

/* anchor = hash_ctx(32, ANCHOR_CTX, channel || head). */
void anchor_compute(const uint8_t channel[ANCHOR_CHANNEL_LEN],
    const uint8_t head[AUDIT_HASH_LEN], uint8_t anchor[ANCHOR_LEN]);
/* The peer's signature over channel || anchor || time_ms. */
int anchor_sign(const struct keys *k,
    const uint8_t channel[ANCHOR_CHANNEL_LEN],
    const uint8_t anchor[ANCHOR_LEN], uint64_t time_ms,
    uint8_t sig[KEYS_SIG_LEN]) WUR;
/* 0, or ERR_SIGNATURE when sig is not pub's over them. */
int anchor_check(const uint8_t pub[KEYS_PUB_LEN],
    const uint8_t channel[ANCHOR_CHANNEL_LEN],
    const uint8_t anchor[ANCHOR_LEN], uint64_t time_ms,
    const uint8_t sig[KEYS_SIG_LEN]) WUR;

struct anchor_engine {
	struct store *s;			/* borrowed */
	const struct keys *k;			/* borrowed */
	uint8_t channel[ANCHOR_CHANNEL_LEN];
	uint8_t peer_pub[KEYS_PUB_LEN];		/* the peer's signing key */
	uint64_t interval_ms, retry_ms;
	uint64_t wait_ms;			/* for the answer: retry_ms, x2 */
	uint64_t last_n;			/* highest n anchored */
	uint64_t last_time_ms;			/* ... its time (0: not here) */
	uint64_t asked_ms;			/* the last ask went then */
	bool soon;				/* a session came up */
	bool pending;				/* our ask unanswered */
	struct anchor_rec ask;			/* ... which is this */
	uint64_t ask_n;				/* ... at entry ask_n */
	struct anchor_rec prev;			/* the ask it replaced */
	uint64_t prev_n;			/* ... at entry prev_n */
	uint64_t answered_ms;			/* the peer's last ask answered */
	uint64_t anchored, answered, refused;	/* counts */
	char why[ANCHOR_WHY_MAX];		/* the last refusal, "" none */
};

/* Sets e up for a channel; interval_ms 0: ANCHOR_INTERVAL_MS (and at
 * least ANCHOR_INTERVAL_MIN_MS); retry_ms is ANCHOR_RETRY_MS, or the
 * interval if shorter. Goes on from the highest
 * stored anchor of the channel (none, or unreadable: from 0). */
void anchor_init(struct anchor_engine *e, struct store *s,
    const struct keys *k, const uint8_t channel[ANCHOR_CHANNEL_LEN],
    const uint8_t peer_pub[KEYS_PUB_LEN], uint64_t interval_ms,
    uint64_t now_ms);
/* A session of the channel came up: ask at the next tick if the log grew
 * since the last anchor (and no ask is in flight). */
void anchor_session_up(struct anchor_engine *e);
/* When an ask is due (invariant 3), writes it into out (cap bytes,
 * ANCHOR_REC_MAX suffices) and sets *len (0: none due). Store errors. */
int anchor_tick(struct anchor_engine *e, uint64_t now_ms, uint8_t *out,
    size_t cap, size_t *len) WUR;
/* Handles an ANCHOR_REC from the peer. An ask: signed, our evidence
 * stored, the answer written into out (*len; 0 none). An answer: checked
 * against our pending ask and the peer's key, and stored. Refusals (e->why
 * names what is wrong; nothing changed, e->refused counts): the decoder's
 * codes; ERR_STATE (an answer to no ask in flight, or to another ask);
 * ERR_SIGNATURE (not the peer's signature); ERR_FULL (an ask within
 * ANCHOR_ANSWER_GAP_MS of the last answered); a store error. */
int anchor_on_record(struct anchor_engine *e, const uint8_t *p, size_t n,
    uint64_t now_ms, uint8_t *out, size_t cap, size_t *len) WUR;

/*
 * For `parley verify`: the stored anchors of a channel against the log.
 */
struct anchor_verdict {
	size_t count;			/* anchors checked */
	uint64_t newest_n;		/* the highest anchored (0: none) */
	uint64_t newest_time_ms;
	uint64_t bad_n;			/* the first fault's anchor */
	char fault[ANCHOR_FAULT_MAX];	/* "" none */
};
/* Checks anchor a of channel against the log's hashes (heads[i] is
 * hash(i + 1), count of them) and the peer's key pub (named peer in the
 * fault). 0; ERR_GAP (the log is shorter than a->n), ERR_CHAIN (the
 * peer's signature is over another log up to a->n: the log was
 * rewritten), ERR_SIGNATURE (the row's signature is not the peer's over
 * its own anchor: the row was altered or forged); v->fault says which
 * and v->bad_n is a->n. Pure. */
int anchor_verify_one(const uint8_t (*heads)[AUDIT_HASH_LEN], size_t count,
    const uint8_t channel[ANCHOR_CHANNEL_LEN],
    const uint8_t pub[KEYS_PUB_LEN], const char *peer,
    const struct store_anchor *a, struct anchor_verdict *v) WUR;
/* Reads the log and every stored anchor of channel and checks each as
 * anchor_verify_one does, up to the first fault (returned); v counts them
 * and names the newest. Store errors. */
int anchor_verify_store(struct store *s,
    const uint8_t channel[ANCHOR_CHANNEL_LEN],
    const uint8_t pub[KEYS_PUB_LEN], const char *peer,
    struct anchor_verdict *v) WUR;
/* "2026-12-06 03:40:18Z" (UTC) into out. */
void anchor_time_str(char out[32], uint64_t time_ms);

/*
 * The daemon's glue: one engine per channel of the delivery engine dl
 * this node is a party of, sending through dl (delivery_send_other: asks
 * on the channel's active path, answers on the path the ask came on) and
 * taking a record only on a session of the peer's newest run
 * (delivery_record_current). Anchors stored are logged at INFO, refusals
 * at WARN naming what is wrong (at most one line per channel and
 * ANCHOR_LOG_MS, then a count of those not logged). parleyd calls
 * anchor_set_record for records of type ANCHOR_REC, anchor_set_path_up
 * when a path comes up and anchor_set_tick from its tick. now_ms 0: the
 * system clock.
 */
#define ANCHOR_LOG_MS 10000
struct agreement;
struct delivery;
struct anchor_set;

int anchor_set_new(struct delivery *dl, const struct keys *k,
    const struct agreement *ags, size_t n, uint64_t interval_ms,
    uint64_t now_ms, struct anchor_set **out) WUR;
void anchor_set_free(struct anchor_set *as);
void anchor_set_tick(struct anchor_set *as, uint64_t now_ms);
void anchor_set_path_up(struct anchor_set *as,
    const uint8_t channel[ANCHOR_CHANNEL_LEN]);
void anchor_set_record(struct anchor_set *as,
    const uint8_t channel[ANCHOR_CHANNEL_LEN], unsigned path,
    const uint8_t *p, size_t n, uint64_t now_ms);
/* For status and tests: the engine of a channel, or NULL. */
const struct anchor_engine *anchor_set_engine(const struct anchor_set *as,
    const uint8_t channel[ANCHOR_CHANNEL_LEN]);

#endif
