/*
 * people.h: the store's tables for people in the loop (schema version 2,
 * docs/store.md and docs/operators.md): the hash-chained audit log, alerts
 * and their clearings, messages held for a principal's approval, and who
 * first saw a received message. Part of the store module (people.c sees
 * struct store). Every table is append-only, enforced by triggers: a
 * clearing or an approval is a new row, never an update.
 *
 * The store does not encode audit entries or alerts (msg/audit.h and
 * msg/alert.h do); it keeps their bytes and the few columns it looks up by.
 */
#ifndef PARLEY_STORE_PEOPLE_H
#define PARLEY_STORE_PEOPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

#define STORE_AUDIT_MAX 4096		/* bytes per encoded audit entry */
#define STORE_ALERT_MAX 4096		/* bytes per alert JSON */
#define STORE_NAME_MAX 128		/* operator names, notes: bytes */
#define STORE_NOTE_MAX 1024

/* --- audit ---------------------------------------------------------------
 * The last entry's number and hash: 0 and zeros for an empty log. */
int store_audit_last(struct store *s, uint64_t *n, uint8_t hash[STORE_ID_LEN])
    WUR;
/* Entry n's stored hash: *found false (and zeros) when there is none. */
int store_audit_hash(struct store *s, uint64_t n, uint8_t hash[STORE_ID_LEN],
    bool *found) WUR;
/* Appends entry n with its hash in one transaction: ERR_CHAIN unless n is
 * the last number plus one (nothing stored). */
int store_audit_put(struct store *s, uint64_t n, const uint8_t *entry,
    size_t len, const uint8_t hash[STORE_ID_LEN]) WUR;
/* Calls fn per entry in order; a non-zero return stops and is returned. */
typedef int (*store_audit_fn)(void *arg, uint64_t n, const uint8_t *entry,
    size_t len, const uint8_t hash[STORE_ID_LEN]);
int store_audit_each(struct store *s, store_audit_fn fn, void *arg) WUR;
/* True when no transaction is open on s: what store_audit_last reads then
 * is committed and cannot roll back (an audit anchor is asked only for
 * such a head, msg/anchor.h). */
bool store_settled(struct store *s);

/* --- audit anchors (schema 8 and 9, msg/anchor.h) -------------------------
 * One row per anchor the peer of channel signed over our log up to entry
 * n (anchor: 32 bytes, its salt: 32, never sent, sig: 64); since schema
 * 9 every answer, several of one n. ERR_EXISTS when one for (channel, n,
 * time_ms) is stored already (nothing changed). */
struct store_anchor {
	uint64_t n;
	uint8_t anchor[STORE_ID_LEN];
	uint8_t salt[STORE_ID_LEN];	/* ours only (audit_anchor) */
	uint64_t time_ms;
	uint8_t sig[STORE_SIG_LEN];
	uint64_t stored_ms;
	uint64_t held_ms;	/* audit_anchor_given only (schema 9): the
				 * asker's newest anchor's time, 0 none */
};
int store_anchor_put(struct store *s, const uint8_t channel[STORE_ID_LEN],
    const struct store_anchor *a, uint64_t now_ms) WUR;
/* The highest n anchored on channel (0: none). */
int store_anchor_last(struct store *s, const uint8_t channel[STORE_ID_LEN],
    uint64_t *n) WUR;
/* Calls fn per anchor of channel, by n then time; a non-zero return
 * stops and is returned. */
typedef int (*store_anchor_fn)(void *arg, const struct store_anchor *a);
int store_anchors_each(struct store *s, const uint8_t channel[STORE_ID_LEN],
    store_anchor_fn fn, void *arg) WUR;
/* What we signed over the peer's anchor (our evidence: a.n and a.salt
 * are unused and 0). Stored again with the same anchor and time: nothing changes, 0. */
int store_anchor_given_put(struct store *s,
    const uint8_t channel[STORE_ID_LEN], const struct store_anchor *a,
    uint64_t now_ms) WUR;
/* What we signed last for the peer of channel (the latest time_ms: the
 * answerer signs only asks later than it, msg/anchor.h invariant 4; the
 * table has no n) into *a (all 0: nothing yet). */
int store_anchor_given_newest(struct store *s,
    const uint8_t channel[STORE_ID_LEN], struct store_anchor *a) WUR;
/* How many anchors of the peer of channel we signed. */
int store_anchor_given_count(struct store *s,
    const uint8_t channel[STORE_ID_LEN], uint64_t *count) WUR;
/* The newest anchor of channel: the highest n, of its rows the latest
 * time_ms (what the engine goes on from, status shows and the daemon
 * checks its log against), into *a (*found false, *a zeroed: none). Not
 * the latest time_ms of all: a row dated by a wall clock that was ahead
 * would stay that after the clock stepped back, however far the log and
 * its anchors went on. */
int store_anchor_newest(struct store *s, const uint8_t channel[STORE_ID_LEN],
    struct store_anchor *a, bool *found) WUR;
/* The anchor of channel a new ask holds (msg/anchor.h invariant 6): the
 * latest time_ms, whatever its n (the answerer claims the latest time
 * held before: held by n, a row dated ahead would be claimed and then
 * held no more, a regression seen where none is), into *a as
 * store_anchor_newest. */
int store_anchor_held(struct store *s, const uint8_t channel[STORE_ID_LEN],
    struct store_anchor *a, bool *found) WUR;
/* The newest held_ms of the asks of channel's peer we signed dated before
 * before_ms (0: none). */
int store_anchor_claimed(struct store *s, const uint8_t channel[STORE_ID_LEN],
    uint64_t before_ms, uint64_t *held_ms) WUR;
/* A regression of channel's anchors (ours: our store's, as the peer saw
 * it; else the peer's, as we saw it) from from_ms (>= 1) back to to_ms
 * (0: none held): stored once, *fresh true only the first time. */
int store_anchor_back_put(struct store *s, const uint8_t channel[STORE_ID_LEN],
    bool ours, uint64_t from_ms, uint64_t to_ms, uint64_t now_ms,
    bool *fresh) WUR;
/* Calls fn per regression stored of channel, oldest stored first; a
 * non-zero return stops and is returned. */
typedef int (*store_anchor_back_fn)(void *arg, bool ours, uint64_t from_ms,
    uint64_t to_ms, uint64_t stored_ms);
int store_anchor_back_each(struct store *s,
    const uint8_t channel[STORE_ID_LEN], store_anchor_back_fn fn, void *arg)
    WUR;

/* --- alerts -------------------------------------------------------------- */
struct store_alert {
	int64_t n;
	const char *key;		/* what makes it unique */
	const char *json;		/* the alert as raised */
	uint64_t time_ms;		/* raised here (local clock) */
	bool cleared;
	uint32_t cleared_uid;
	const char *cleared_by, *note;	/* "" when not cleared */
	uint64_t cleared_ms;
};
/* Stores an alert under key unless one with that key exists (*fresh says
 * which; *n names the stored one either way). */
int store_alert_put(struct store *s, const char *key, const char *json,
    uint64_t now_ms, int64_t *n, bool *fresh) WUR;
/* Calls fn per alert, oldest first; all: cleared ones too. The strings
 * are valid during the call only. */
typedef int (*store_alert_fn)(void *arg, const struct store_alert *a);
int store_alerts_each(struct store *s, bool all, store_alert_fn fn, void *arg)
    WUR;
/* Records the clearing of alert n: ERR_NOT_FOUND, ERR_STATE (already
 * cleared). */
int store_alert_clear(struct store *s, int64_t n, uint32_t uid,
    const char *name, const char *note, uint64_t now_ms) WUR;
/*
 * A version of the committed alerts and their clearings, for a cache of
 * what is read from them (msg/alert.h alert_open): *version changes
 * whenever they may have changed since the last call: an alert stored or
 * cleared through s (even if its transaction then rolls back), or a
 * commit of another connection to the file (PRAGMA data_version). Never
 * 0, and never the same for two handles in one process. ERR_STATE while
 * a transaction is open on s (what it reads may yet roll back: not to
 * be cached).
 */
int store_alerts_version(struct store *s, uint64_t *version) WUR;

/* --- held for approval --------------------------------------------------- */
struct store_held {
	int64_t hid;
	uint8_t channel[STORE_ID_LEN];
	uint8_t precedence, marking;
	uint32_t kind;
	const uint8_t *body;		/* valid during the call */
	size_t body_len;
	uint32_t uid;
	const char *by;			/* who asked for it */
	uint64_t time_ms;
	int64_t qid;			/* 0 while awaiting approval */
	uint32_t approved_uid;
	const char *approved_by;	/* "" while awaiting */
	uint64_t approved_ms;
};
int store_held_put(struct store *s, const uint8_t channel[STORE_ID_LEN],
    uint8_t precedence, uint8_t marking, uint32_t kind, const uint8_t *body,
    size_t len, uint32_t uid, const char *name, uint64_t now_ms,
    int64_t *hid) WUR;
typedef int (*store_held_fn)(void *arg, const struct store_held *h);
/* One held message (ERR_NOT_FOUND); fn sees it. */
int store_held_get(struct store *s, int64_t hid, store_held_fn fn, void *arg)
    WUR;
/* All held messages, oldest first; pending: only those awaiting. */
int store_held_each(struct store *s, bool pending, store_held_fn fn,
    void *arg) WUR;
/* Records the approval that released held message hid as queued message
 * qid: ERR_STATE if it was approved already. */
int store_held_release(struct store *s, int64_t hid, int64_t qid,
    uint32_t uid, const char *name, uint64_t now_ms) WUR;

/* --- seen ---------------------------------------------------------------- */
/* Records that a person first saw message id (later calls keep the first). */
int store_seen_put(struct store *s, const uint8_t id[STORE_ID_LEN],
    uint32_t uid, const char *name, uint64_t now_ms) WUR;
/* ERR_NOT_FOUND when nobody has seen it; name is cap bytes. */
int store_seen_get(struct store *s, const uint8_t id[STORE_ID_LEN],
    uint32_t *uid, char *name, size_t cap, uint64_t *time_ms) WUR;

/* --- acknowledgments and due times -------------------------------------
 * Calls fn, in qid order, for each ACK (kind 2) on channel whose body's
 * bytes 4..35 are id: the place a canonical ACK body holds the id it
 * acknowledges (index message_acked). The caller decodes to confirm. */
int store_acks_naming(struct store *s, const uint8_t channel[STORE_ID_LEN],
    const uint8_t id[STORE_ID_LEN], store_msg_fn fn, void *arg) WUR;
/*
 * Calls fn, in (time_ms, qid) order, for each text message (kind 1) of
 * channel from sender with precedence and a place in the chain, whose
 * (time_ms, qid) is above (from_ms, from_qid) and time_ms at most to_ms
 * (from_qid INT64_MAX: time_ms in (from_ms, to_ms]), that has no ACK from
 * the other party stamped at most within_ms after it (STORE_ACK_ANY: no
 * ACK at all), and, when alert_prefix is not NULL, no alert keyed
 * alert_prefix followed by its id in lower-case hex. Bodies are not read
 * (body_len 0). The pair is a cursor: a caller that stops after a row
 * and passes that row's (time_ms, qid) next time goes on with the row
 * after it, rows of equal time_ms included (qid is unique). Searches of
 * index message_due; the ACK test is an index search (message_acked),
 * not a decode.
 */
#define STORE_ACK_ANY ((uint64_t)1 << 62)
/* By place in the chain instead, every precedence in one pass: the same
 * for messages whose seq is in (after_seq, upto_seq] and whose time_ms +
 * within_ms[their precedence] is at most due_by (past due by then), the
 * ACK test also against within_ms[their precedence]; by precedence (FLASH
 * first), then oldest first. A chain gets its places in seq order
 * (received runs are stored in seq order, ours assigned so), so the seqs
 * above the highest one a caller saw are what got into the chain here
 * since: each of them is read once. */
int store_unacked_after_each(struct store *s,
    const uint8_t channel[STORE_ID_LEN], uint8_t sender, uint64_t after_seq,
    uint64_t upto_seq, const uint64_t within_ms[4], uint64_t due_by,
    const char *alert_prefix, store_msg_fn fn, void *arg) WUR;
int store_unacked_each(struct store *s, const uint8_t channel[STORE_ID_LEN],
    uint8_t sender, uint8_t precedence, uint64_t from_ms, int64_t from_qid,
    uint64_t to_ms, uint64_t within_ms, const char *alert_prefix,
    store_msg_fn fn, void *arg) WUR;

/*
 * For a cache of what is owed (msg/deadline.h deadline_owed), kept up to
 * date by reading only what is new. Both refuse (ERR_STATE) while a
 * transaction is open on s: what they read then may yet roll back.
 *
 * store_owed_after_each: by place in the chain, every precedence in one
 * pass, what store_unacked_each lists over all time (from 0) with no ACK
 * at all (STORE_ACK_ANY) and no alert test: the texts of (channel,
 * sender) whose seq is in (after_seq, upto_seq], time_ms above 0, with no
 * ACK from the other party; in seq order.
 *
 * store_acks_after_each: every ACK (kind 2) of channel whose qid is in
 * (after_qid, upto_qid], in qid order, with the id its body names (bytes 4..35, as
 * index message_acked reads it; named false for a body too short to hold
 * one). Rows get their qid when inserted, one above the highest (messages
 * are never deleted), and a connection inserts only under the write lock,
 * so a commit's new rows all lie above what any earlier reader saw: a
 * caller that reads up to store_qid_top taken before, and on from there
 * the next time, misses none.
 */
struct store_ack_ref {
	int64_t qid;
	uint8_t sender;
	int64_t time_ms;
	bool named;
	uint8_t acked[STORE_ID_LEN];
};
typedef int (*store_ack_ref_fn)(void *arg, const struct store_ack_ref *a);
int store_owed_after_each(struct store *s,
    const uint8_t channel[STORE_ID_LEN], uint8_t sender, uint64_t after_seq,
    uint64_t upto_seq, store_msg_fn fn, void *arg) WUR;
int store_acks_after_each(struct store *s,
    const uint8_t channel[STORE_ID_LEN], int64_t after_qid, int64_t upto_qid,
    store_ack_ref_fn fn, void *arg) WUR;
/* The highest qid of any message, 0 when there is none: where such a
 * caller starts when it reads the record whole. ERR_STATE as above. */
int store_qid_top(struct store *s, int64_t *qid) WUR;

#endif
