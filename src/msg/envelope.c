/*
 * envelope.c: see envelope.h; the format is docs/envelope.md.
 *
 * The header's map keys, in the order they are written:
 *   1 version, 2 channel, 3 sender, 4 seq, 5 prev, 6 peer_last, 7 time,
 *   8 precedence, 9 marking, 10 kind, 11 body_len, 12 body_hash.
 *
 * Decoding reads exactly the bytes the encoder writes (strict()), so it
 * needs no re-encoding: each value has one shortest head, each key one
 * place, each id one size, and nothing may follow. Only a refusal takes
 * a second, tolerant look (refusal()), to name the fault with the code
 * docs/envelope.md ranks first.
 */
#include "msg/envelope.h"
#include "msg/ack.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/wire.h"
#include "crypto/agreement.h"

enum {
	K_VERSION = 1, K_CHANNEL, K_SENDER, K_SEQ, K_PREV, K_PEER_LAST, K_TIME,
	K_PRECEDENCE, K_MARKING, K_KIND, K_BODY_LEN, K_BODY_HASH,
	NKEYS = K_BODY_HASH
};

static const uint8_t zero_id[ENVELOPE_ID_LEN];

_Static_assert(ENVELOPE_ID_LEN == HASH_LEN, "ids are context hashes");
_Static_assert(ENVELOPE_ID_LEN == AGREEMENT_ID_LEN, "channel ids");
_Static_assert(ENVELOPE_FLASH == (int)AGREEMENT_FLASH &&
    ENVELOPE_ROUTINE == (int)AGREEMENT_ROUTINE &&
    ENVELOPE_NPRECEDENCE == (int)AGREEMENT_NPRECEDENCE,
    "precedence indexes the agreement's deadlines");

bool
envelope_kind_is_known(uint32_t kind)
{
	return kind == ENVELOPE_TEXT || kind == ENVELOPE_ACK;
}

int
envelope_header_check(const struct envelope_header *h)
{
	if (h->version < ENVELOPE_VERSION_MIN || h->version > ENVELOPE_VERSION)
		return ERR_VERSION;
	if (!envelope_kind_is_known(h->kind))
		return ERR_KIND;
	if (h->body_len > ENVELOPE_BODY_MAX)
		return ERR_TOO_BIG;
	if (h->sender > 1 || h->seq == 0 || h->seq > ENVELOPE_SEQ_MAX ||
	    h->time_ms > ENVELOPE_TIME_MAX ||
	    h->precedence >= ENVELOPE_NPRECEDENCE ||
	    h->marking >= ENVELOPE_NMARKING)
		return ERR_INVALID;
	if (h->seq == 1 && memcmp(h->prev, zero_id, sizeof zero_id) != 0)
		return ERR_INVALID;
	return 0;
}

int
envelope_header_encode(const struct envelope_header *h, uint8_t *out,
    size_t cap, size_t *len)
{
	struct wire_writer w;
	int r;

	if ((r = envelope_header_check(h)) != 0)
		return r;
	wire_writer_init(&w, out, cap);
	wire_put_map(&w, NKEYS);
	wire_put_uint(&w, K_VERSION);
	wire_put_uint(&w, h->version);
	wire_put_uint(&w, K_CHANNEL);
	wire_put_bytes(&w, h->channel, sizeof h->channel);
	wire_put_uint(&w, K_SENDER);
	wire_put_uint(&w, h->sender);
	wire_put_uint(&w, K_SEQ);
	wire_put_uint(&w, h->seq);
	wire_put_uint(&w, K_PREV);
	wire_put_bytes(&w, h->prev, sizeof h->prev);
	wire_put_uint(&w, K_PEER_LAST);
	wire_put_bytes(&w, h->peer_last, sizeof h->peer_last);
	wire_put_uint(&w, K_TIME);
	wire_put_uint(&w, h->time_ms);
	wire_put_uint(&w, K_PRECEDENCE);
	wire_put_uint(&w, h->precedence);
	wire_put_uint(&w, K_MARKING);
	wire_put_uint(&w, h->marking);
	wire_put_uint(&w, K_KIND);
	wire_put_uint(&w, h->kind);
	wire_put_uint(&w, K_BODY_LEN);
	wire_put_uint(&w, h->body_len);
	wire_put_uint(&w, K_BODY_HASH);
	wire_put_bytes(&w, h->body_hash, sizeof h->body_hash);
	return wire_writer_finish(&w, len);
}

/* The unsigned fields after the version, in the order their values are
 * judged (docs/envelope.md: kind, body_len, then the others). */
static const uint8_t judged[] = {
	K_KIND, K_BODY_LEN, K_SENDER, K_SEQ, K_TIME, K_PRECEDENCE, K_MARKING
};

/* 0 when v may stand under the unsigned field key, else its code. */
static int
in_range(unsigned key, uint64_t v)
{
	switch (key) {
	case K_VERSION:
		return v >= ENVELOPE_VERSION_MIN && v <= ENVELOPE_VERSION ? 0 :
		    ERR_VERSION;
	case K_KIND:
		return v <= UINT32_MAX && envelope_kind_is_known((uint32_t)v) ?
		    0 : ERR_KIND;
	case K_BODY_LEN:
		return v <= ENVELOPE_BODY_MAX ? 0 : ERR_TOO_BIG;
	case K_SENDER:
		return v <= 1 ? 0 : ERR_INVALID;
	case K_SEQ:
		return v <= ENVELOPE_SEQ_MAX ? 0 : ERR_INVALID;
	case K_TIME:
		return v <= ENVELOPE_TIME_MAX ? 0 : ERR_INVALID;
	case K_PRECEDENCE:
		return v < ENVELOPE_NPRECEDENCE ? 0 : ERR_INVALID;
	default:
		return v < ENVELOPE_NMARKING ? 0 : ERR_INVALID;
	}
}

/* Judges the unsigned fields u[key] in order, then fills them into h and
 * checks what spans fields (seq 1 and prev). */
static int
judge(struct envelope_header *h, const uint64_t u[NKEYS + 1])
{
	int r;

	if ((r = in_range(K_VERSION, u[K_VERSION])) != 0)
		return r;
	for (size_t i = 0; i < sizeof judged; i++)
		if ((r = in_range(judged[i], u[judged[i]])) != 0)
			return r;
	h->version = (uint32_t)u[K_VERSION];
	h->sender = (uint8_t)u[K_SENDER];
	h->seq = u[K_SEQ];
	h->time_ms = u[K_TIME];
	h->precedence = (uint8_t)u[K_PRECEDENCE];
	h->marking = (uint8_t)u[K_MARKING];
	h->kind = (uint32_t)u[K_KIND];
	h->body_len = (uint32_t)u[K_BODY_LEN];
	return envelope_header_check(h);
}

/* The byte string field under key, in h. */
static uint8_t *
id_field(struct envelope_header *h, unsigned key)
{
	switch (key) {
	case K_CHANNEL:
		return h->channel;
	case K_PREV:
		return h->prev;
	case K_PEER_LAST:
		return h->peer_last;
	case K_BODY_HASH:
		return h->body_hash;
	default:
		return NULL;
	}
}

/*
 * Reads the deterministic encoding and nothing else (base/wire.h's strict
 * reader): map(12), keys 1..12 once each in order, shortest heads, each
 * id exactly 32 bytes, nothing after. The byte strings go to h, the
 * unsigned fields to u[key] for judge().
 */
static int
strict(struct envelope_header *h, uint64_t u[NKEYS + 1], const uint8_t *p,
    size_t n)
{
	struct wire_reader rd;
	uint8_t *id;
	int r;

	wire_reader_init(&rd, p, n);
	if ((r = wire_read_map(&rd, NKEYS)) != 0)
		return r;
	for (unsigned k = K_VERSION; k <= NKEYS; k++) {
		if ((r = wire_read_key(&rd, k)) != 0)
			return r;
		if ((id = id_field(h, k)) != NULL)
			r = wire_read_bytes_exact(&rd, id, ENVELOPE_ID_LEN);
		else
			r = wire_read_uint(&rd, &u[k]);
		if (r != 0)
			return r;
	}
	return wire_read_end(&rd);
}

/*
 * Names what is wrong with bytes strict() refused, in the order the codes
 * have always been given (test_envelope.c, the differential test in
 * test_envelope_diff.c): not one well-formed map of the subset; the
 * version (first, so a newer header says ERR_VERSION whatever else it
 * holds); an unknown key; a field missing or of the wrong type or size;
 * the values, as judge(). If all of that is right, only the encoding can
 * be: ERR_NONCANONICAL (non-shortest heads, keys out of order or twice).
 */
static int
refusal(const uint8_t *p, size_t n)
{
	struct wire_index ix;
	struct envelope_header h;
	uint64_t u[NKEYS + 1];
	int r;

	if ((r = wire_index_map(&ix, p, n, NKEYS)) != 0 ||
	    (r = wire_index_uint(&ix, K_VERSION, &u[K_VERSION])) != 0 ||
	    (r = in_range(K_VERSION, u[K_VERSION])) != 0)
		return r;
	if (ix.other)
		return ERR_PARSE;
	if ((r = wire_index_bytes(&ix, K_CHANNEL, h.channel,
	    ENVELOPE_ID_LEN)) != 0 ||
	    (r = wire_index_bytes(&ix, K_PREV, h.prev, ENVELOPE_ID_LEN)) != 0 ||
	    (r = wire_index_bytes(&ix, K_PEER_LAST, h.peer_last,
	    ENVELOPE_ID_LEN)) != 0 ||
	    (r = wire_index_bytes(&ix, K_BODY_HASH, h.body_hash,
	    ENVELOPE_ID_LEN)) != 0)
		return r;
	for (size_t i = 0; i < sizeof judged; i++) {
		if ((r = wire_index_uint(&ix, judged[i], &u[judged[i]])) != 0 ||
		    (r = in_range(judged[i], u[judged[i]])) != 0)
			return r;
	}
	if ((r = judge(&h, u)) != 0)
		return r;
	return ERR_NONCANONICAL;
}

int
envelope_header_decode(struct envelope_header *h, const uint8_t *p, size_t n)
{
	uint64_t u[NKEYS + 1];

	if (n > ENVELOPE_HEADER_MAX)
		return ERR_TOO_BIG;
	if (strict(h, u, p, n) != 0)
		return refusal(p, n);
	return judge(h, u);
}

void
envelope_header_id(const uint8_t *hdr, size_t n, uint8_t id[ENVELOPE_ID_LEN])
{
	hash_ctx(id, ENVELOPE_ID_LEN, ENVELOPE_CTX_HEADER, hdr, n);
}

void
envelope_body_hash(const uint8_t *body, size_t n, uint8_t out[ENVELOPE_ID_LEN])
{
	hash_ctx(out, ENVELOPE_ID_LEN, ENVELOPE_CTX_BODY, body, n);
}

bool
envelope_utf8_is_valid(const uint8_t *p, size_t n)
{
	return wire_utf8_is_valid(p, n);
}

int
envelope_body_check_kind(uint32_t kind, const uint8_t *body, size_t n)
{
	if (n > ENVELOPE_BODY_MAX)
		return ERR_TOO_BIG;
	switch (kind) {
	case ENVELOPE_TEXT:
		if (n == 0 || memchr(body, 0, n) != NULL ||
		    !envelope_utf8_is_valid(body, n))
			return ERR_INVALID;
		return 0;
	case ENVELOPE_ACK:
		return ack_body_check(body, n);	/* msg/ack.h */
	default:
		return ERR_KIND;
	}
}

void
envelope_body_hash_salted(const uint8_t salt[ENVELOPE_SALT_LEN],
    const uint8_t *body, size_t n, uint8_t out[ENVELOPE_ID_LEN])
{
	hash_ctx2(out, ENVELOPE_ID_LEN, ENVELOPE_CTX_BODY_SALTED, salt,
	    ENVELOPE_SALT_LEN, body, n);
}

int
envelope_body_hash_of(uint32_t version,
    const uint8_t salt[ENVELOPE_SALT_LEN], const uint8_t *body, size_t n,
    uint8_t out[ENVELOPE_ID_LEN])
{
	if (version == 1 && salt == NULL)
		envelope_body_hash(body, n, out);
	else if (version == 2 && salt != NULL)
		envelope_body_hash_salted(salt, body, n, out);
	else
		return version == 1 || version == 2 ? ERR_SALT : ERR_VERSION;
	return 0;
}

int
envelope_body_check(const struct envelope_header *h,
    const uint8_t salt[ENVELOPE_SALT_LEN], const uint8_t *body, size_t n)
{
	uint8_t hash[ENVELOPE_ID_LEN];
	int r;

	if (n > ENVELOPE_BODY_MAX)
		return ERR_TOO_BIG;
	if ((h->version == 2) != (salt != NULL))
		return ERR_SALT;		/* before any hashing */
	if (n != h->body_len)
		return ERR_BODY;
	if ((r = envelope_body_hash_of(h->version, salt, body, n, hash)) != 0)
		return r;
	if (memcmp(hash, h->body_hash, sizeof hash) != 0)
		return ERR_BODY;
	return envelope_body_check_kind(h->kind, body, n);
}

int
envelope_open(const uint8_t *hdr, size_t hlen,
    const uint8_t salt[ENVELOPE_SALT_LEN], const uint8_t *body, size_t blen,
    struct envelope_header *h, uint8_t id[ENVELOPE_ID_LEN])
{
	int r;

	if ((r = envelope_header_decode(h, hdr, hlen)) != 0)
		return r;
	if ((r = envelope_body_check(h, salt, body, blen)) != 0)
		return r;
	envelope_header_id(hdr, hlen, id);
	return 0;
}

static const char *const precedence_names[ENVELOPE_NPRECEDENCE] = {
	"flash", "immediate", "priority", "routine"
};
static const char *const marking_names[ENVELOPE_NMARKING] = {
	"private", "contact-releasable", "releasable"
};

const char *
envelope_precedence_name(unsigned precedence)
{
	return precedence < ENVELOPE_NPRECEDENCE ?
	    precedence_names[precedence] : "?";
}

const char *
envelope_marking_name(unsigned marking)
{
	return marking < ENVELOPE_NMARKING ? marking_names[marking] : "?";
}

const char *
envelope_kind_name(uint32_t kind)
{
	return kind == ENVELOPE_TEXT ? "text" : kind == ENVELOPE_ACK ? "ack" :
	    "?";
}

static int
lookup(const char *const *names, size_t n, const char *s, uint8_t *out)
{
	for (size_t i = 0; i < n; i++) {
		if (strcasecmp(names[i], s) == 0) {
			*out = (uint8_t)i;
			return 0;
		}
	}
	return ERR_INVALID;
}

int
envelope_precedence_parse(const char *s, uint8_t *out)
{
	return lookup(precedence_names, ENVELOPE_NPRECEDENCE, s, out);
}

int
envelope_marking_parse(const char *s, uint8_t *out)
{
	return lookup(marking_names, ENVELOPE_NMARKING, s, out);
}
