/*
 * recover.h: a restored node takes its own chain back from its peer over
 * the link (docs/delivery.md, "Recovery"; the records in CDDL there).
 *
 * When the peer's SYNC shows it holds more of our chain than our store
 * (its receipt's seq is past our highest seq: we were restored from a
 * backup), the delivery engine asks with RECOVER for our messages after
 * our highest. The peer answers from its store with our own messages
 * (OWN, header and body, in parts for a large body) and the heads we
 * signed over them (OWN_HEAD). We check them as the peer checks our
 * messages, against OUR signing key (chain_verifier with our key: channel,
 * sender, seq, prev links, body hashes, and a head signed by us covering
 * them), and store each verified run as sent and receipted in our chain
 * with its head, in one transaction (store_own_recover). Until our store
 * reaches the peer's receipt the engine assigns nothing new, so the chain
 * cannot fork; a message queued before the backup and sent after it takes
 * its place from the recovered copy (store_own_recover), a message queued
 * since stays queued and gets the next seq after the recovered ones.
 *
 * Pure of I/O like the engine: records go out through a send callback.
 */
#ifndef PARLEY_MSG_RECOVER_H
#define PARLEY_MSG_RECOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "crypto/keys.h"
#include "msg/chain.h"
#include "store/store.h"

#define RECOVER_REC_ASK 0x15		/* link upper record types */
#define RECOVER_REC_OWN 0x16
#define RECOVER_REC_HEAD 0x17
#define RECOVER_VERSION 1
#define RECOVER_BATCH 128		/* messages per answer, at least:
					 * ending at the head after */
#define RECOVER_RETRY_MS 2000		/* an unanswered ask again */
#define RECOVER_PART_MAX 60000		/* body bytes per OWN record */
/* The most a run held unsigned can be: its messages and a body in parts
 * (recover_unsigned_bytes), and what recover_run_bytes grants at most. */
#define RECOVER_RUN_BYTES_MAX (CHAIN_RUN_BYTES_MAX + ENVELOPE_BODY_MAX)

/* Sends one record (type, body) to the peer; 0 or an error (stop). */
typedef int recover_send_fn(void *ctx, uint8_t type, const uint8_t *b,
    size_t n);

/* The asking side of one channel. */
struct recover;

/* self_pub: our signing key (what our heads verify under). */
int recover_new(struct store *s, const uint8_t channel[ENVELOPE_ID_LEN],
    uint8_t self, const uint8_t self_pub[KEYS_PUB_LEN], struct recover **out)
    WUR;
void recover_free(struct recover *r);

/* Asks for our chain after the store's highest seq up to want (the peer's
 * receipt): starts a fresh run from the store. Does nothing (0) while
 * the same ask is younger than RECOVER_RETRY_MS. mono_ms: a clock that
 * never goes back nor is stepped (the delivery engine's dl_mono), the
 * one recover_on_record is given too. */
int recover_ask(struct recover *r, uint64_t want, uint64_t mono_ms,
    recover_send_fn *send, void *ctx) WUR;
/* The session that carried the last ask is gone, and its answer with it:
 * the next recover_ask asks again at once (not after RECOVER_RETRY_MS). */
void recover_ask_lost(struct recover *r);
/* What the peer holds of our chain (the want of the last ask). */
uint64_t recover_want(const struct recover *r);

/*
 * An OWN or OWN_HEAD record from the peer. 0: taken (or a repeat of what
 * is held: ignored); *top is our chain's highest seq in the store after
 * it (a verified run is stored at its head). ERR_GAP: late, not taken, and
 * nothing else changes (the run held is kept): a message, part or head
 * that does not follow what is held, a record of an answer no longer
 * waited for (one on another path, or one whose run a new ask dropped:
 * recover_ask). Refusals, nothing stored and the run dropped:
 * ERR_SIGNATURE (a head not signed by us), ERR_CHAIN (a prev or head id
 * that does not link), ERR_FOREIGN, ERR_BODY, ERR_PARSE,
 * ERR_NONCANONICAL, ...; store errors (ERR_FULL). *seq names the message
 * or head (0 when unknown). now_ms: unix time, stored with what is taken;
 * mono_ms: recover_ask's clock (an answer coming puts off its retry).
 */
int recover_on_record(struct recover *r, uint8_t type, const uint8_t *b,
    size_t n, uint64_t now_ms, uint64_t mono_ms, uint64_t *top,
    uint64_t *seq) WUR;
/* Whether the last recover_on_record took the run held now further (a
 * message or part held, or a run stored, past what it held before the
 * record): not a repeat of what is held or stored. After a dropped run
 * (a new ask, a refusal) the run starts from what is stored, so the same
 * records sent again take it further. What the stall watch counts as the
 * answer coming (docs/delivery.md "Recovery" 1; a record that stored
 * nothing only within the unsigned run's time bound: recover_run_bytes). */
bool recover_last_moved(const struct recover *r);
/* Bytes held of the run not signed yet (none stored): its whole messages,
 * headers and bodies as the verifier counts them (at most
 * CHAIN_RUN_BYTES_MAX), and the parts held of a body being put together.
 * Zero: no run open (the stall watch's). */
size_t recover_unsigned_bytes(const struct recover *r);
/* recover_unsigned_bytes plus what runs dropped since a run was last
 * stored held (what was sent of them: an honest peer sends it again after
 * a new ask), at most RECOVER_RUN_BYTES_MAX: what the stall watch grants
 * the run time for, at the slowest path (DELIVERY_RECOVER_RATE_MIN). */
size_t recover_run_bytes(const struct recover *r);

/*
 * The answering side: where our answer to the peer's RECOVER stands. One
 * answer's first run (up to CHAIN_RUN_MAX messages and 8 MiB between two
 * heads) may not fit the session's output queue at once (the link's
 * out_max): an answer that meets a full output stops there and goes on
 * later from where it stopped, the message and part after the last one
 * that went, so nothing is sent twice. The caller keeps it (a few
 * numbers, per channel; nothing of the store is held between steps).
 */
struct recover_answer {
	uint64_t next;			/* the message to send; 0: none open */
	uint64_t end;			/* the head the answer ends at */
	uint64_t parts;			/* OWN records of next sent */
};

/* A RECOVER from the peer (asker's party index asker): *a is where its
 * answer from store s starts (a->next 0: we hold nothing past its from).
 * Nothing is read but two indexed rows, nothing sent. ERR_PARSE,
 * ERR_NONCANONICAL, ERR_VERSION, ERR_INVALID for a malformed ask; store
 * errors. */
int recover_answer_start(struct store *s,
    const uint8_t channel[ENVELOPE_ID_LEN], uint8_t asker, const uint8_t *b,
    size_t n, struct recover_answer *a) WUR;
/* Sends the asker's messages (OWN, in parts) and heads (OWN_HEAD) from
 * where *a stands, in seq order, through send, up to a->end (the whole
 * batch, however many bytes: a full output paces it). 0: the answer is done
 * (a->next 0). ERR_FULL from send: stopped, *a says where to go on from
 * (call again once the output drains). Another error (send's, the
 * store's): stopped, a->next 0. */
int recover_answer_step(struct store *s,
    const uint8_t channel[ENVELOPE_ID_LEN], uint8_t asker,
    struct recover_answer *a, recover_send_fn *send, void *ctx) WUR;

/* Record parsers, pure (no store), deterministic CBOR only: a RECOVER
 * ask (ERR_PARSE, ERR_VERSION, ERR_NONCANONICAL, ERR_INVALID: to < from)
 * and an OWN record, whose parts point into b (ERR_PARSE, ERR_TOO_BIG,
 * ERR_NONCANONICAL). */
int recover_ask_decode(const uint8_t *b, size_t n, uint64_t *from,
    uint64_t *to) WUR;
struct recover_own {
	const uint8_t *hdr;		/* the envelope header */
	size_t hlen;
	uint64_t offset;		/* of chunk in the body */
	const uint8_t *chunk;
	size_t clen;
	const uint8_t *salt;		/* ENVELOPE_SALT_LEN, or NULL: none */
};
int recover_own_decode(const uint8_t *b, size_t n, struct recover_own *o)
    WUR;

/* Record builders (also for tests that play the peer). */
int recover_ask_encode(uint64_t from, uint64_t to, uint8_t *out, size_t cap,
    size_t *len) WUR;
/* salt: the body's (ENVELOPE_SALT_LEN bytes, in every part) or NULL. */
int recover_own_encode(const uint8_t *hdr, size_t hlen,
    const uint8_t salt[ENVELOPE_SALT_LEN], uint64_t offset,
    const uint8_t *chunk, size_t clen, uint8_t *out, size_t cap,
    size_t *len) WUR;

#endif
