/*
 * chain.h: each sender's hash chain over headers, the signed heads that
 * cover runs of it, receipts, and the receiver's verifier
 * (docs/envelope.md has the CDDL and the rules).
 *
 * A head is the sender's Ed25519 signature, under "parley chain head v1",
 * over (channel, sender, seq, header id at seq). Header k's prev is the id
 * of header k-1, so one head authenticates every header up to its seq: a
 * message sent alone carries a head over itself; a run of headers can be
 * covered by one head at its last (one signature, one verification per
 * batch). A receipt is the receiver's signature, under "parley receipt
 * v1", over (channel, receiver, highest contiguous seq held, header id
 * there, time).
 *
 * The verifier is a pure engine (no I/O, no allocation): the caller feeds
 * it headers, in order, and heads; it holds the ids of an unsigned run up
 * to CHAIN_RUN_MAX headers and CHAIN_RUN_BYTES_MAX bytes, and accepts
 * nothing of the run until a head covering it verifies. The caller keeps
 * the messages themselves and stores the accepted ones.
 */
#ifndef PARLEY_MSG_CHAIN_H
#define PARLEY_MSG_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "crypto/keys.h"
#include "msg/envelope.h"
#include "store/store.h"

#define CHAIN_CTX_HEAD "parley chain head v1"
#define CHAIN_CTX_RECEIPT "parley receipt v1"
#define CHAIN_RUN_MAX 256			/* unsigned headers held */
#define CHAIN_RUN_BYTES_MAX (8u << 20)		/* their headers + bodies */
#define CHAIN_HEAD_MAX 160			/* encoded head, today 150 */
#define CHAIN_RECEIPT_MAX 176			/* encoded receipt, today 160 */

struct chain_head {
	uint8_t channel[ENVELOPE_ID_LEN];
	uint8_t sender;				/* party index */
	uint64_t seq;				/* >= 1 */
	uint8_t id[ENVELOPE_ID_LEN];		/* header id at seq */
	uint8_t sig[KEYS_SIG_LEN];
};

struct chain_receipt {
	uint8_t channel[ENVELOPE_ID_LEN];
	uint8_t receiver;			/* party index of the signer */
	uint64_t seq;				/* of the other party's chain */
	uint8_t id[ENVELOPE_ID_LEN];		/* header id at seq; 0: zeros */
	uint64_t time_ms;
	uint8_t sig[KEYS_SIG_LEN];
};

/* Signs h's fields with k into h->sig. ERR_INVALID for a field out of
 * range; keys_sign's errors. */
int chain_head_sign(struct chain_head *h, const struct keys *k) WUR;
/* 0 when h->sig is pub's signature of h; ERR_SIGNATURE, ERR_INVALID. */
int chain_head_verify(const struct chain_head *h,
    const uint8_t pub[KEYS_PUB_LEN]) WUR;
/* The head with its signature, deterministic CBOR. */
int chain_head_encode(const struct chain_head *h, uint8_t *out, size_t cap,
    size_t *len) WUR;
/* ERR_TOO_BIG, ERR_PARSE, ERR_NONCANONICAL, ERR_INVALID. The signature is
 * not checked (chain_head_verify or chain_accept_head do). */
int chain_head_decode(struct chain_head *h, const uint8_t *p, size_t n) WUR;

int chain_receipt_sign(struct chain_receipt *r, const struct keys *k) WUR;
int chain_receipt_verify(const struct chain_receipt *r,
    const uint8_t pub[KEYS_PUB_LEN]) WUR;
int chain_receipt_encode(const struct chain_receipt *r, uint8_t *out,
    size_t cap, size_t *len) WUR;
int chain_receipt_decode(struct chain_receipt *r, const uint8_t *p,
    size_t n) WUR;

/*
 * The receiver's view of one sender's chain on one channel.
 *
 * NOTES
 *   1. seq/id are the last header accepted (stored under a verified head);
 *      0 and zeros before the first.
 *   2. pending[0..npending) are the ids of seq+1 .. seq+npending, each
 *      linked to the one before by its header's prev; none is accepted.
 *   3. npending <= CHAIN_RUN_MAX, run_bytes <= CHAIN_RUN_BYTES_MAX.
 */
struct chain_pending {
	uint8_t id[ENVELOPE_ID_LEN];
	size_t bytes;				/* header + body */
};

struct chain_verifier {
	uint8_t channel[ENVELOPE_ID_LEN];
	uint8_t sender;
	uint8_t pub[KEYS_PUB_LEN];		/* the sender's signing key */
	uint64_t seq;
	uint8_t id[ENVELOPE_ID_LEN];
	size_t npending;
	size_t run_bytes;
	struct chain_pending pending[CHAIN_RUN_MAX];
};

/* Starts from what the store holds: seq and id of the sender's highest
 * stored header (store_highest), 0 and zeros for none. */
void chain_verifier_init(struct chain_verifier *v,
    const uint8_t channel[ENVELOPE_ID_LEN], uint8_t sender,
    const uint8_t pub[KEYS_PUB_LEN], uint64_t seq,
    const uint8_t id[ENVELOPE_ID_LEN]);

/* Adds a decoded header (id is its id; bytes its header and body size) to
 * the unsigned run. ERR_FOREIGN (another channel or sender), ERR_REPLAY
 * (seq already accepted or pending), ERR_GAP (seq skips ahead), ERR_CHAIN
 * (prev is not the id before), ERR_FULL (the run would pass its caps).
 * Nothing changes on error. */
int chain_accept_header(struct chain_verifier *v,
    const struct envelope_header *h, const uint8_t id[ENVELOPE_ID_LEN],
    size_t bytes) WUR;

/* envelope_open (decode, id, body check with its salt, NULL: none), then
 * chain_accept_header: every refusal of either, each its own code. h and
 * id are filled on success. */
int chain_accept_message(struct chain_verifier *v, const uint8_t *hdr,
    size_t hlen, const uint8_t salt[ENVELOPE_SALT_LEN], const uint8_t *body,
    size_t blen, struct envelope_header *h, uint8_t id[ENVELOPE_ID_LEN]) WUR;

/* Verifies a head over the pending run: ERR_FOREIGN, ERR_REPLAY (seq
 * already accepted), ERR_GAP (past the run), ERR_CHAIN (id is not the
 * pending header's at seq), ERR_SIGNATURE. On success the headers up to
 * head->seq are accepted: *accepted says how many (the first is v->seq
 * before the call + 1); the rest stay pending. Nothing changes on error;
 * after ERR_SIGNATURE the caller should drop the session and the run. */
int chain_accept_head(struct chain_verifier *v, const struct chain_head *head,
    size_t *accepted) WUR;

/* Forgets the unsigned run (a session ended); accepted state stays. */
void chain_verifier_drop(struct chain_verifier *v);
/* Takes back the last header chain_accept_message took into the run (the
 * caller refused its message on other grounds); nothing when none. */
void chain_verifier_pop(struct chain_verifier *v);

/* The sender's store_queue: checks the body against its kind
 * (envelope_body_check_kind: ERR_KIND, ERR_INVALID, ERR_TOO_BIG) before
 * committing it as queued, so that every queued message can be given a
 * header later (one the builder refused would block its chain's queue).
 * Otherwise store_queue's codes. */
int chain_queue(struct store *s, const uint8_t channel[ENVELOPE_ID_LEN],
    uint8_t sender, uint8_t precedence, uint8_t marking, uint32_t kind,
    const uint8_t *body, size_t len, uint64_t now_ms, int64_t *qid) WUR;

/* Fills h to cover m, a message of ours with its place in the chain, and
 * signs it with k. ERR_STATE if m is still queued. */
int chain_head_over(struct chain_head *h, const struct store_msg *m,
    const struct keys *k) WUR;

/* h as d's header: its fields from d, version ENVELOPE_VERSION, the body
 * hash left zero (the caller's: envelope_body_hash_salted). */
void chain_draft_header(struct envelope_header *h,
    const struct store_draft *d);

/* The version 2 header of d with the body's salt given, its bytes and
 * id: ERR_TOO_BIG, envelope_body_check_kind's and envelope_header_encode's
 * codes. Pure (chain_store_build draws the salt). */
int chain_header_build(const struct store_draft *d,
    const uint8_t salt[ENVELOPE_SALT_LEN], uint8_t *hdr, size_t cap,
    size_t *len, uint8_t id[STORE_ID_LEN]) WUR;

/* The store's header builder (store_header_fn) for store_assign_*: draws
 * the body's salt (randombytes_buf) and makes the version 2 header of d,
 * its bytes and id (chain_header_build). arg is unused. */
int chain_store_build(void *arg, const struct store_draft *d, uint8_t *hdr,
    size_t cap, size_t *len, uint8_t id[STORE_ID_LEN],
    uint8_t salt[STORE_SALT_LEN], bool *salted) WUR;

/* Conversions to and from the store's rows (borrowed pointers in in). */
void chain_store_in(struct store_in *in, const struct envelope_header *h,
    const uint8_t *hdr, size_t hlen, const uint8_t *salt,
    const uint8_t *body, size_t blen, const uint8_t id[ENVELOPE_ID_LEN]);
void chain_head_to_store(struct store_head *out, const struct chain_head *h);
void chain_head_from_store(struct chain_head *out,
    const struct store_head *h);
void chain_receipt_to_store(struct store_receipt *out,
    const struct chain_receipt *r);
void chain_receipt_from_store(struct chain_receipt *out,
    const struct store_receipt *r);

#endif
