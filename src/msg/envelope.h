/*
 * envelope.h: the message envelope: a header, and a body the header names by
 * its hash (docs/envelope.md, CDDL there; bump ENVELOPE_VERSION with it).
 *
 * The header is a CBOR map with small unsigned keys in core deterministic
 * encoding (RFC 8949 section 4.2.1). The decoder reads that one encoding
 * strictly (base/wire.h's reader: any other bytes are refused, at the
 * latest as ERR_NONCANONICAL) and checks every field and range, so one
 * header has exactly one byte string and one id:
 * id = hash_ctx(32, "parley header v1", header bytes). The sender's chain
 * runs over headers (chain.h); a body can be disclosed and proved alone.
 *
 * Pure: no I/O, no allocation.
 */
#ifndef PARLEY_MSG_ENVELOPE_H
#define PARLEY_MSG_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "crypto/hash.h"

#define ENVELOPE_VERSION 2		/* what a sender writes */
#define ENVELOPE_VERSION_MIN 1		/* still read: unsalted bodies */
#define ENVELOPE_SALT_LEN 32		/* a version 2 body's salt */
#define ENVELOPE_ID_LEN 32		/* header ids, body hashes, channel */
#define ENVELOPE_HEADER_MAX 256		/* encoded header; today at most 181 */
#define ENVELOPE_BODY_MAX (1u << 20)	/* 1 MiB */
#define ENVELOPE_SEQ_MAX INT64_MAX	/* fits the store's signed integers */
#define ENVELOPE_TIME_MAX INT64_MAX	/* unix milliseconds */

#define ENVELOPE_CTX_HEADER "parley header v1"
#define ENVELOPE_CTX_BODY "parley body v1"	/* version 1 headers */
#define ENVELOPE_CTX_BODY_SALTED "parley body v2" /* version 2: salt || body */

/* Order of service: lower goes first. Same values as agreement.h's. */
enum envelope_precedence {
	ENVELOPE_FLASH = 0,
	ENVELOPE_IMMEDIATE = 1,
	ENVELOPE_PRIORITY = 2,
	ENVELOPE_ROUTINE = 3,
	ENVELOPE_NPRECEDENCE
};

/* Disclosure marking. */
enum envelope_marking {
	ENVELOPE_PRIVATE = 0,		/* content not releasable */
	ENVELOPE_CONTACT_RELEASABLE = 1, /* the fact of contact may be */
	ENVELOPE_RELEASABLE = 2,
	ENVELOPE_NMARKING
};

/* Body kinds. A receiver refuses kinds it does not know (ERR_KIND); a new
 * kind is added here, in envelope_kind_is_known and in docs/envelope.md. */
enum envelope_kind {
	ENVELOPE_TEXT = 1,		/* UTF-8, 1..ENVELOPE_BODY_MAX bytes */
	ENVELOPE_ACK = 2,		/* an acknowledgment (msg/ack.h) */
};

struct envelope_header {
	uint32_t version;			/* 1 or ENVELOPE_VERSION */
	uint8_t channel[ENVELOPE_ID_LEN];	/* agreement id */
	uint8_t sender;				/* party index 0 or 1 */
	uint64_t seq;				/* 1, 2, ... per sender */
	uint8_t prev[ENVELOPE_ID_LEN];		/* id of seq-1; zeros at 1 */
	uint8_t peer_last[ENVELOPE_ID_LEN];	/* last id from the peer */
	uint64_t time_ms;			/* unix milliseconds */
	uint8_t precedence;			/* enum envelope_precedence */
	uint8_t marking;			/* enum envelope_marking */
	uint32_t kind;				/* enum envelope_kind */
	uint32_t body_len;			/* <= ENVELOPE_BODY_MAX */
	uint8_t body_hash[ENVELOPE_ID_LEN];	/* envelope_body_hash_of */
};

/* True for the kinds this build understands. */
bool envelope_kind_is_known(uint32_t kind);

/* Checks h's fields against their ranges: ERR_VERSION, ERR_KIND,
 * ERR_TOO_BIG (body_len), ERR_INVALID (anything else out of range,
 * including seq 1 with a non-zero prev). */
int envelope_header_check(const struct envelope_header *h) WUR;

/* Checks h, then encodes it into out (cap bytes); *len is the size.
 * ERR_TOO_BIG if cap is too small (ENVELOPE_HEADER_MAX always suffices). */
int envelope_header_encode(const struct envelope_header *h, uint8_t *out,
    size_t cap, size_t *len) WUR;

/* Decodes exactly n bytes into h: ERR_TOO_BIG (n > ENVELOPE_HEADER_MAX),
 * ERR_PARSE (malformed, a field missing, of the wrong type or length, an
 * unknown key), ERR_NONCANONICAL (well-formed but not the deterministic
 * encoding: non-shortest integers, keys out of order, duplicate keys), or
 * envelope_header_check's codes. h is unspecified on error. */
int envelope_header_decode(struct envelope_header *h, const uint8_t *p,
    size_t n) WUR;

/* id = hash_ctx(32, "parley header v1", header bytes). */
void envelope_header_id(const uint8_t *hdr, size_t n,
    uint8_t id[ENVELOPE_ID_LEN]);

/* out = hash_ctx(32, "parley body v1", body): a version 1 header's. */
void envelope_body_hash(const uint8_t *body, size_t n,
    uint8_t out[ENVELOPE_ID_LEN]);

/* out = hash_ctx(32, "parley body v2", salt || body): a version 2
 * header's. The salt is 32 random bytes the sender draws per message; it
 * travels and is kept beside the body, never inside it. */
void envelope_body_hash_salted(const uint8_t salt[ENVELOPE_SALT_LEN],
    const uint8_t *body, size_t n, uint8_t out[ENVELOPE_ID_LEN]);

/* The body hash a header of version (1 or 2) gives body: salt must be
 * NULL for 1 and 32 bytes for 2, else ERR_SALT. */
int envelope_body_hash_of(uint32_t version,
    const uint8_t salt[ENVELOPE_SALT_LEN], const uint8_t *body, size_t n,
    uint8_t out[ENVELOPE_ID_LEN]) WUR;

/* Checks a body against its kind alone: ERR_TOO_BIG, ERR_KIND, ERR_INVALID
 * (TEXT: empty, not valid UTF-8, or holding a NUL). */
int envelope_body_check_kind(uint32_t kind, const uint8_t *body, size_t n)
    WUR;

/* Checks a body and its salt (NULL: none) against its decoded header:
 * ERR_TOO_BIG (over the maximum), ERR_SALT (a version 2 header without a
 * salt, or a version 1 header with one), ERR_BODY (length or hash
 * differ), then envelope_body_check_kind. */
int envelope_body_check(const struct envelope_header *h,
    const uint8_t salt[ENVELOPE_SALT_LEN], const uint8_t *body, size_t n)
    WUR;

/* A received message: decodes the header, computes its id and checks the
 * body with its salt (NULL: none). Any code of envelope_header_decode or
 * envelope_body_check. */
int envelope_open(const uint8_t *hdr, size_t hlen,
    const uint8_t salt[ENVELOPE_SALT_LEN], const uint8_t *body, size_t blen,
    struct envelope_header *h, uint8_t id[ENVELOPE_ID_LEN]) WUR;

/* True when p holds well-formed UTF-8 (no overlong forms, no surrogates,
 * nothing above U+10FFFF). */
bool envelope_utf8_is_valid(const uint8_t *p, size_t n);

/* Names as commands and documents spell them ("flash", "private",
 * "contact-releasable", "text"); "?" when out of range. */
const char *envelope_precedence_name(unsigned precedence);
const char *envelope_marking_name(unsigned marking);
const char *envelope_kind_name(uint32_t kind);
/* The inverses, case-insensitive: ERR_INVALID for an unknown name. */
int envelope_precedence_parse(const char *s, uint8_t *out) WUR;
int envelope_marking_parse(const char *s, uint8_t *out) WUR;

#endif
