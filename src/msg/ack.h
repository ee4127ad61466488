/*
 * ack.h: acknowledgments ("received and understood", docs/envelope.md,
 * kind ACK = 2; docs/operators.md). An acknowledgment is an envelope of
 * kind ENVELOPE_ACK in the acknowledging side's own chain, signed like
 * any message; its body names the acknowledged header id, the operator
 * who acknowledged and an optional text:
 *
 *   ack-body = { 0: bstr .size 32, 1: tstr (1..128 bytes), 2: tstr (..1024) }
 *
 * in deterministic CBOR (a decoder re-encodes and compares). Lateness is
 * measured between the two signed header times (message vs ACK), so both
 * sides compute it identically. The checks here are pure (no I/O);
 * ack_lookup reads the store.
 */
#ifndef PARLEY_MSG_ACK_H
#define PARLEY_MSG_ACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "msg/envelope.h"
#include "store/store.h"

#define ACK_OPERATOR_MAX 128		/* bytes of the operator's name */
#define ACK_TEXT_MAX 1024		/* bytes of the text */
#define ACK_BODY_MAX (ENVELOPE_ID_LEN + ACK_OPERATOR_MAX + ACK_TEXT_MAX + 16)

struct ack_body {
	uint8_t acked[ENVELOPE_ID_LEN];		/* header id acknowledged */
	char operator[ACK_OPERATOR_MAX + 1];	/* UTF-8, no NUL, non-empty */
	char text[ACK_TEXT_MAX + 1];		/* UTF-8, may be empty */
};

/* Encodes b into out (cap bytes, ACK_BODY_MAX suffices): ERR_INVALID for
 * an empty or over-long operator, a long text or bad UTF-8. */
int ack_body_encode(const struct ack_body *b, uint8_t *out, size_t cap,
    size_t *len) WUR;
/* Decodes exactly n bytes: ERR_TOO_BIG, ERR_PARSE, ERR_NONCANONICAL,
 * ERR_INVALID (as encode refuses). */
int ack_body_decode(struct ack_body *b, const uint8_t *p, size_t n) WUR;
/* ack_body_decode into a scratch struct (envelope_body_check_kind). */
int ack_body_check(const uint8_t *p, size_t n) WUR;

/* Deadline of a precedence in milliseconds, from an agreement's
 * ack_deadline_s (4 entries, FLASH first); 0 for a bad precedence. */
uint64_t ack_deadline_ms(const uint32_t deadline_s[4], unsigned precedence);
/* True when an ACK at ack_ms is later than msg_ms + deadline_ms. */
bool ack_is_late(uint64_t msg_ms, uint64_t ack_ms, uint64_t deadline_ms);

/*
 * The pure check `parley verify` runs on an acknowledgment: ack is the ACK
 * envelope's decoded header, body its body; msg the acknowledged header
 * and msg_id its id. ERR_KIND (not an ACK), ERR_INVALID (another channel,
 * or the ACK comes from the message's own sender), the body's decode
 * codes, ERR_CHAIN (names another id). *late from the header times.
 * Signatures and chain links are the chain's checks, not repeated here.
 */
int ack_verify(const struct envelope_header *ack, const uint8_t *body,
    size_t n, const struct envelope_header *msg,
    const uint8_t msg_id[ENVELOPE_ID_LEN], uint64_t deadline_ms, bool *late,
    struct ack_body *out) WUR;

/* What the store knows of a message's acknowledgment. */
struct ack_info {
	bool found;			/* an ACK exists (maybe only queued) */
	bool assigned;			/* it has its place in the chain */
	int64_t qid;			/* the ACK's local id */
	uint8_t id[ENVELOPE_ID_LEN];	/* the ACK's header id, when assigned */
	uint64_t time_ms;		/* the ACK's header time */
	struct ack_body body;
};

/* The first ACK on channel from the party that did not send message
 * (sender) that names id. info->found false when there is none. */
int ack_lookup(struct store *s, const uint8_t channel[ENVELOPE_ID_LEN],
    uint8_t sender, const uint8_t id[ENVELOPE_ID_LEN], struct ack_info *info)
    WUR;

#endif
