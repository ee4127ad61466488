/*
 * anchor.h: audit anchors (docs/operators.md "Audit anchors"; the record
 * in CDDL there). The audit log (msg/audit.h) is node-wide and only
 * hash-chained: whoever can write the store file can rewrite it whole,
 * every hash recomputed. So now and then the peer of each channel signs a
 * value bound to the log's head, and `parley verify` recomputes every
 * stored anchor from the log and checks the peer's signature over it:
 *
 *   anchor = hash_ctx(32, "parley audit anchor v1",
 *                     channel || hash(n) || salt)
 *   sig    = keys_sign(peer, "parley audit anchor signature v1",
 *                      channel || anchor || time_ms (8 bytes, big-endian))
 *
 * salt is 32 fresh random bytes per ask, kept with the anchor and never
 * sent. The peer sees an anchor that is unlinkable to any other (even of
 * the same n, or of another channel) and asks that come on a fixed
 * schedule whether or not the log grew, so it learns nothing of the log:
 * not n, not an entry, not when entries are added by any channel. The
 * peer keeps what it signed (table audit_anchor_given, its evidence); we
 * keep (n, anchor, salt, time_ms, sig) (table audit_anchor), of every
 * answer.
 *
 * NOTES, invariants of one channel's engine:
 *  1. At most one ask in flight (pending). An answer is taken only if it
 *     names the pending ask's anchor and time (or those of the ask it
 *     replaced, answered late: prev) and carries the peer's signature
 *     over them; anything else is refused and changes nothing (e->why
 *     says what was wrong). An answer is stored unless its n is 0 (an
 *     empty log) or below last_n: every answer, so that the newest one
 *     held (5) moves at each answer, whether or not the log grew.
 *  2. An ask names a committed head (store_settled); with an empty log,
 *     an all-zero head (answered, never stored). The log is read only
 *     when a new ask is due: nothing of when or whether it grew changes
 *     what is sent or when.
 *  3. A new ask at the first tick, then interval_ms after the last new
 *     one (ANCHOR_INTERVAL_MIN_MS at least), whether or not the log
 *     grew. An unanswered ask is sent again, the same bytes, wait_ms
 *     after it last went: retry_ms, doubled at each, at most interval_ms.
 *     A store error at a due ask puts it off by retry_ms; an operator's
 *     ask (5) too, kept: made at a tick retry_ms later, its ticket kept.
 *  4. We sign a peer's ask only once its evidence is stored; only an ask
 *     whose time is within ANCHOR_CLOCK_SKEW_MS of our clock and later
 *     than the last we signed (also before a restart: read back from
 *     the evidence); at most ANCHOR_ANSWER_BURST, then one per
 *     ANCHOR_ANSWER_REFILL_MS (a token bucket: a peer cannot fill the
 *     store). The last ask signed, sent again, is answered again from
 *     memory (nothing stored; one per ANCHOR_ANSWER_GAP_MS), after a
 *     restart from the evidence: its signature and its claimed (6).
 *  5. An operator's ask (anchor_ask_now) is a new ask at the next tick,
 *     as in 3 (the one in flight becomes prev), that leaves next_ms as
 *     it was: the schedule does not depend on what operators do. The
 *     peer answers it within its token bucket as any other. Operators'
 *     asks have a bucket of their own, below the peer's (ANCHOR_OP_BURST,
 *     then one per ANCHOR_OP_REFILL_MS): an operator asking in a loop
 *     neither drains the peer's (the schedule's asks stay answered) nor
 *     replaces asks faster than answers come back (an answer arriving
 *     after two newer asks fits neither ask nor prev: lost).
 *  6. The asker states what it holds, the answerer remembers. A new ask
 *     carries held: the newest anchor stored, by time (its anchor,
 *     time, the answerer's signature; none while none is stored, or
 *     when that row's signature is not the peer's: altered; by time,
 *     as claimed is, not by n as in 7: store_anchor_held). The
 *     answerer takes held only if it is its own signature over this
 *     channel (else as none: e->forged_held; refusing the ask would let
 *     whoever altered the asker's store silence the alarm), stores held's
 *     time with its evidence, and answers with claimed: the newest held
 *     time of the asks it signed dated before this one. held older than
 *     claimed means the asker's store lost anchors it had held (restored
 *     from a backup, or rows deleted with the log's tail): both sides
 *     see it (the answerer at the ask, the asker at the answer), store
 *     it once in audit_anchor_back and set e->back for that record only
 *     (the daemon raises an alert); still answered. A lost answer is
 *     never held, so it is never claimed: no false alarm.
 *  7. The asker checks its own log too: every interval, with or without
 *     a path up, and at each new ask (before its answer is stored), the
 *     newest anchor stored, the highest n (store_anchor_newest: not the
 *     latest time, which a row dated by a clock that was ahead keeps
 *     after the clock steps back), against the log's entry at its n
 *     (anchor_check_log): a log rewritten or cut below it is raised
 *     locally, without waiting for parley verify or the peer.
 *
 *      idle --(interval passed)--> pending
 *      pending --(answer verified and stored)--> idle
 *      pending --(wait_ms, no answer)--> pending (the same ask again)
 *      pending --(interval passed)--> pending (a new ask; the old one prev)
 *      idle, pending --(an operator asks)--> pending (as the interval)
 *
 * Like the checkpoint engine, it does no I/O: the caller sends the bytes
 * it returns as a link record (ANCHOR_REC). It reads and writes the store
 * and signs with k.
 *
 * Two clocks (base/clock.h), both the caller's: now_ms, the wall clock,
 * gives what is signed, stored or held against the peer's clock (an
 * ask's time, held and claimed times, ANCHOR_CLOCK_SKEW_MS, "later than
 * the last signed"); mono_ms, a monotonic clock, measures every duration
 * (the interval, the wait for an answer, both token buckets,
 * ANCHOR_ANSWER_GAP_MS), so that a step of the wall clock, back or
 * forward, neither stops nor hastens asks nor drains nor fills a bucket.
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
#define ANCHOR_VERSION 2		/* the record's field 1; bump me */
#define ANCHOR_CTX "parley audit anchor v1"
#define ANCHOR_SIGN_CTX "parley audit anchor signature v1"
#define ANCHOR_LEN 32
#define ANCHOR_CHANNEL_LEN 32
#define ANCHOR_SIGNED_LEN (ANCHOR_CHANNEL_LEN + ANCHOR_LEN + 8)
#define ANCHOR_REC_MAX 192		/* the longest record is 161 bytes */
#define ANCHOR_INTERVAL_MS 600000	/* ten minutes */
#define ANCHOR_RETRY_MS 10000		/* an unanswered ask again */
#define ANCHOR_INTERVAL_MIN_MS 60000	/* new asks, at most one per */
#define ANCHOR_ANSWER_REFILL_MS 60000	/* asks answered: one per, */
#define ANCHOR_ANSWER_BURST 4		/* ... after a burst of this many */
#define ANCHOR_ANSWER_GAP_MS 500	/* the last ask answered again */
#define ANCHOR_OP_BURST (ANCHOR_ANSWER_BURST - 1)	/* operators' asks: */
#define ANCHOR_OP_REFILL_MS (2 * ANCHOR_ANSWER_REFILL_MS)	/* one per */
#define ANCHOR_CLOCK_SKEW_MS 300000	/* an ask's time off our clock */
#define ANCHOR_SALT_LEN 32
#define ANCHOR_WHY_MAX 200
#define ANCHOR_FAULT_MAX 320

_Static_assert(ANCHOR_LEN == AUDIT_HASH_LEN, "an anchor is a hash's size");
_Static_assert(ANCHOR_LEN == STORE_ID_LEN, "anchors fit the store");
_Static_assert(ANCHOR_SALT_LEN == STORE_ID_LEN, "salts fit the store");
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
	uint64_t claimed_ms;		/* ANCHOR_SIGNED only: the newest
					 * held time the asker claimed in an
					 * earlier ask (0: none) */
	bool has_held;			/* ANCHOR_ASK only: the asker's */
	uint8_t held_anchor[ANCHOR_LEN];	/* newest anchor stored, */
	uint64_t held_time_ms;		/* ... its time (>= 1) */
	uint8_t held_sig[KEYS_SIG_LEN];	/* ... the answerer's signature */
};

/* Its builder (ANCHOR_REC_MAX bytes suffice): ERR_INVALID for a kind out
 * of range, a time over INT64_MAX or a held time of 0, ERR_SHORT for a
 * small buffer. */
int anchor_rec_encode(const struct anchor_rec *a, uint8_t *out, size_t cap,
    size_t *len) WUR;
/* Its parser, pure: deterministic CBOR only, every byte read.
 * ERR_TOO_BIG, ERR_PARSE (truncated, trailing bytes, a field missing, of
 * another type or size), ERR_NONCANONICAL, ERR_VERSION, ERR_INVALID (an
 * unknown kind, a time over INT64_MAX, a held time of 0). */
int anchor_rec_decode(struct anchor_rec *a, const uint8_t *p, size_t n)
    WUR;

/* anchor = hash_ctx(32, ANCHOR_CTX, channel || head || salt). */
void anchor_compute(const uint8_t channel[ANCHOR_CHANNEL_LEN],
    const uint8_t head[AUDIT_HASH_LEN], const uint8_t salt[ANCHOR_SALT_LEN],
    uint8_t anchor[ANCHOR_LEN]);
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
	/* the fields named *_ms below are of the monotonic clock, but
	 * times of records (ask, prev, took, signed_, back_*) */
	uint64_t next_ms;			/* a new ask is due then */
	uint64_t sent_ms;			/* the ask in flight last went */
	bool pending;				/* our ask unanswered */
	struct anchor_rec ask;			/* ... which is this */
	uint64_t ask_n;				/* ... at entry ask_n */
	uint8_t ask_salt[ANCHOR_SALT_LEN];	/* ... with this salt */
	bool has_prev;				/* the ask it replaced: */
	struct anchor_rec prev;
	uint64_t prev_n;
	uint8_t prev_salt[ANCHOR_SALT_LEN];
	struct store_anchor took;		/* the newest anchor stored */
	/* operators' asks (invariant 5) */
	uint64_t op_asked;			/* asked for, counted */
	uint64_t op_tried;			/* op_asked, last ask made */
	uint64_t op_after_ms;			/* not made before (a store
						 * error put it off) */
	uint64_t ask_op, prev_op;		/* op_asked when made */
	uint64_t op_answered;			/* the highest answered */
	uint64_t op_tokens, op_bucket_ms;	/* their token bucket */
	uint64_t op_refill_ms;			/* ANCHOR_OP_REFILL_MS */
	/* the answering side */
	uint64_t refill_ms;			/* ANCHOR_ANSWER_REFILL_MS */
	uint64_t tokens, bucket_ms;		/* the token bucket */
	struct anchor_rec signed_;		/* the last ask signed */
	uint64_t answered_ms;			/* ... when */
	uint64_t anchored, answered, refused;	/* counts */
	uint64_t given;				/* evidence rows of the
						 * channel: read at init,
						 * then counted as stored */
	bool given_known;			/* ... read at init */
	char why[ANCHOR_WHY_MAX];		/* the last refusal, "" none */
	/* a regression (invariant 6) that the last record showed for the
	 * first time (stored in audit_anchor_back): back true, ours true
	 * when our store went back (the peer's answer says so), false when
	 * the peer's did (its ask says so); from the newest time claimed
	 * before to the one held now (0: none); backs counts them */
	bool back, back_ours;
	uint64_t back_from_ms, back_to_ms;
	uint64_t backs;
	/* the last record was an ask whose held is not our signature over
	 * this channel (invariant 6): answered as holding none */
	bool forged_held;
	/* our log against the newest anchor stored (anchor_check_log) */
	uint64_t log_check_ms;			/* checked last (monotonic) */
	bool log_checked;			/* ... ever */
	uint64_t log_checks;			/* checks made, counted */
	uint8_t log_ask[ANCHOR_LEN];		/* ask.anchor then */
	bool log_bad;				/* the last check failed: */
	struct store_anchor log_row;		/* ... against this row */
	char log_fault[ANCHOR_FAULT_MAX];	/* ... what is wrong */
};

/*
 * Our log against the newest anchor stored, while the daemon runs (parley
 * verify checks them all, but only when someone runs it): at the first
 * call, then every interval_ms of mono_ms and at a call after a new ask
 * was made (before its answer: that ask showed the head of the log as it
 * is now, and its answer will match it), reads the newest anchor row
 * of the channel (the highest n; of its rows, the latest time) and our
 * log's entry at its n. e->log_bad is
 * set, and e->log_fault says what is wrong, when the row is not the
 * peer's signature (altered), or when entry n is gone or no longer gives
 * the anchor with the row's salt: the log was cut or rewritten, every hash
 * recomputed, since the peer signed it, or the row's n was altered
 * (parley verify, which reads every row, tells which). The daemon raises an
 * alert of kind "audit-log-rewritten". Entries after that n are not
 * covered (the blind spot, docs/operators.md). 0 also when not due, or
 * when no anchor is stored; a store error's code (checked again an
 * interval later).
 */
int anchor_check_log(struct anchor_engine *e, uint64_t mono_ms) WUR;

/* Sets e up for a channel; interval_ms 0: ANCHOR_INTERVAL_MS, and at
 * least ANCHOR_INTERVAL_MIN_MS; retry_ms is ANCHOR_RETRY_MS. The first
 * ask is due at the first tick. Goes on from the highest stored anchor of
 * the channel (e->took; none, or unreadable: from 0), counts the evidence
 * rows (e->given; unreadable: e->given_known false), and answers only
 * asks later than the last one signed (audit_anchor_given; unreadable:
 * none dated before now_ms + ANCHOR_CLOCK_SKEW_MS). */
void anchor_init(struct anchor_engine *e, struct store *s,
    const struct keys *k, const uint8_t channel[ANCHOR_CHANNEL_LEN],
    const uint8_t peer_pub[KEYS_PUB_LEN], uint64_t interval_ms,
    uint64_t now_ms, uint64_t mono_ms);
/* Tests only (parleyd's debug_audit_anchor_ms): asks every pace_ms and
 * answers one ask per pace_ms after the burst, below the minimums; the
 * retry is ANCHOR_RETRY_MS or pace_ms if shorter. 0: no change. */
void anchor_pace(struct anchor_engine *e, uint64_t pace_ms);
/* An operator's ask (invariant 5): a new ask at the next anchor_tick,
 * without moving the schedule. Its ticket in *ticket: the ask is answered
 * once e->op_answered reaches it. Asks before that tick make one ask.
 * ERR_FULL (nothing asked; *ticket 0, *retry_ms when a token comes) when
 * operators asked ANCHOR_OP_BURST times, then more than once per
 * ANCHOR_OP_REFILL_MS. */
int anchor_ask_now(struct anchor_engine *e, uint64_t mono_ms,
    uint64_t *ticket, uint64_t *retry_ms) WUR;
/* When an ask is due (invariants 3 and 5), writes it into out (cap bytes,
 * ANCHOR_REC_MAX suffices) and sets *len (0: none due). Store errors. */
int anchor_tick(struct anchor_engine *e, uint64_t now_ms, uint64_t mono_ms,
    uint8_t *out, size_t cap, size_t *len) WUR;
/* Handles an ANCHOR_REC from the peer. An ask: signed, our evidence
 * stored, the answer written into out (*len; 0 none). An answer: checked
 * against our pending ask and the peer's key, and stored. Refusals (e->why
 * names what is wrong; nothing changed, e->refused counts): the decoder's
 * codes; ERR_STATE (an answer to no ask in flight, or to another ask);
 * ERR_REPLAY (an ask not later than the last one signed); ERR_SIGNATURE
 * (not the peer's signature); ERR_INVALID (an ask's time more than
 * ANCHOR_CLOCK_SKEW_MS off our clock); ERR_FULL (no token left in the
 * bucket, or the last ask again within ANCHOR_ANSWER_GAP_MS); a store
 * error. A stored answer sets
 * e->took when it is the newest (the highest n, of its rows the latest
 * time: a late answer of the same n leaves it) and e->anchored counts it. A regression seen for the first
 * time sets e->back, an ask whose held is not our signature e->forged_held
 * (invariant 6). */
int anchor_on_record(struct anchor_engine *e, const uint8_t *p, size_t n,
    uint64_t now_ms, uint64_t mono_ms, uint8_t *out, size_t cap,
    size_t *len) WUR;

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
 * fault). The row's signature first: ERR_SIGNATURE when it is not the
 * peer's over the row's own anchor and time (the row was altered or
 * forged). Then the anchor recomputed with the row's salt: 0 when it is
 * hash(a->n)'s; ERR_INVALID when it is another entry's (the row's n was
 * altered); ERR_GAP (the log is shorter than a->n: cut); ERR_CHAIN (the
 * peer signed another log up to a->n: the log was rewritten). v->fault
 * says which and v->bad_n is a->n. Pure. */
int anchor_verify_one(const uint8_t (*heads)[AUDIT_HASH_LEN], size_t count,
    const uint8_t channel[ANCHOR_CHANNEL_LEN],
    const uint8_t pub[KEYS_PUB_LEN], const char *peer,
    const struct store_anchor *a, struct anchor_verdict *v) WUR;
/* Reads the log and every stored anchor of channel, as of one commit (one
 * read transaction: parleyd may commit meanwhile), and checks each as
 * anchor_verify_one does, up to the first fault (returned); v counts them
 * and names the newest. Store errors. */
int anchor_verify_store(struct store *s,
    const uint8_t channel[ANCHOR_CHANNEL_LEN],
    const uint8_t pub[KEYS_PUB_LEN], const char *peer,
    struct anchor_verdict *v) WUR;

/*
 * The daemon's glue (anchor_set.c): one engine per channel of the
 * delivery engine dl this node is a party of, sending through dl
 * (delivery_send_other: asks on the channel's active path, answers on the
 * path the ask came on) and taking a record only on a session of the
 * peer's newest run (delivery_record_current). A path coming up asks
 * nothing (it would tell a peer that flaps its session when our log
 * grew). Anchors stored are logged at INFO, refusals at WARN naming what
 * is wrong (at most one line per channel and ANCHOR_LOG_MS, then a count
 * of those not logged; store errors of the tick too). parleyd calls
 * anchor_set_record for records of type ANCHOR_REC and anchor_set_tick
 * from its tick. pace_ms: anchor_pace's (tests only; 0 off). now_ms 0:
 * the system's wall clock; mono_ms 0: its monotonic clock (base/clock.h).
 * A regression (invariant 6) is logged at ERROR ("ALARM ...") and raised
 * as an alert of kind "anchor-went-back" through the alerter of
 * anchor_set_alerter (once per regression: its key names both times); a
 * log that no longer matches the newest anchor (anchor_check_log) so too,
 * at each check that finds it, as an alert of kind "audit-log-rewritten"
 * (once per anchor row).
 */
#define ANCHOR_LOG_MS 10000
struct agreement;
struct delivery;
struct anchor_set;

int anchor_set_new(struct delivery *dl, const struct keys *k,
    const struct agreement *ags, size_t n, uint64_t interval_ms,
    uint64_t pace_ms, uint64_t now_ms, uint64_t mono_ms,
    struct anchor_set **out) WUR;
void anchor_set_free(struct anchor_set *as);
void anchor_set_tick(struct anchor_set *as, uint64_t now_ms,
    uint64_t mono_ms);
void anchor_set_record(struct anchor_set *as,
    const uint8_t channel[ANCHOR_CHANNEL_LEN], unsigned path,
    const uint8_t *p, size_t n, uint64_t now_ms, uint64_t mono_ms);
/* This set's instance: random, not 0, drawn at anchor_set_new (0 for
 * NULL). Operators' tickets live in memory and mean something only to
 * the instance that gave them: a client that sees another instance knows
 * the daemon restarted and its ask was lost with it. */
uint64_t anchor_set_instance(const struct anchor_set *as);
/* Tests only (parleyd's debug_audit_anchor_drop): the next n answers to
 * our asks are dropped as if lost on the way (logged at INFO). */
void anchor_set_drop_answers(struct anchor_set *as, uint64_t n);
/* Alarms become alerts through a (borrowed; NULL: logged only). */
struct alerter;
void anchor_set_alerter(struct anchor_set *as, struct alerter *a);
/* The alarm's text of e's last regression into out: "north's audit
 * anchors went back from <time> to <time>: its store was restored from a
 * backup or rewritten" (self: this node's name, peer: the other's). */
void anchor_back_text(char *out, size_t cap, const struct anchor_engine *e,
    const char *self, const char *peer);
/* For status and tests: the engine of a channel, or NULL. */
const struct anchor_engine *anchor_set_engine(const struct anchor_set *as,
    const uint8_t channel[ANCHOR_CHANNEL_LEN]);
/* Our own name in channel's agreement (the alarm's text names us so), or
 * NULL (no engine for it). */
const char *anchor_set_self(const struct anchor_set *as,
    const uint8_t channel[ANCHOR_CHANNEL_LEN]);
/* An operator's ask on channel (anchor_ask_now; `parley anchor`): its
 * ticket in *ticket. ERR_NOT_FOUND (no engine for it), ERR_CLOSED (no
 * path of it up: nothing asked), ERR_FULL (operators asked too often:
 * nothing asked; a token comes in *retry_ms). mono_ms 0: the system's
 * monotonic clock. */
int anchor_set_ask_now(struct anchor_set *as,
    const uint8_t channel[ANCHOR_CHANNEL_LEN], uint64_t mono_ms,
    uint64_t *ticket, uint64_t *retry_ms) WUR;

#endif
