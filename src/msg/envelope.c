/*
 * envelope.c: see envelope.h; the format is docs/envelope.md.
 *
 * The header's map keys, in the order they are written:
 *   1 version, 2 channel, 3 sender, 4 seq, 5 prev, 6 peer_last, 7 time,
 *   8 precedence, 9 marking, 10 kind, 11 body_len, 12 body_hash.
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
	if (h->version != ENVELOPE_VERSION)
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

/* A uint field no larger than max, else ERR_INVALID. */
static int
get_small(const cbor_item_t *map, uint64_t key, uint64_t max, uint64_t *v)
{
	int r;

	if ((r = wire_get_uint(wire_map_get(map, key), v)) != 0)
		return r;
	return *v > max ? ERR_INVALID : 0;
}

/* Every key must be one of ours; duplicates are left to the re-encoding. */
static int
keys_are_known(const cbor_item_t *map)
{
	struct cbor_pair *pairs = cbor_map_handle(map);
	size_t n = cbor_map_size(map);

	for (size_t i = 0; i < n; i++) {
		if (!cbor_isa_uint(pairs[i].key))
			return ERR_PARSE;
		uint64_t k = cbor_get_int(pairs[i].key);
		if (k < K_VERSION || k > NKEYS)
			return ERR_PARSE;
	}
	return 0;
}

/* Fills h from a loaded item; the version is read first so that a newer
 * header says ERR_VERSION rather than whatever its fields look like. */
static int
fields(const cbor_item_t *map, struct envelope_header *h)
{
	uint64_t v;
	int r;

	if (!cbor_isa_map(map) || !cbor_map_is_definite(map))
		return ERR_PARSE;
	if ((r = wire_get_uint(wire_map_get(map, K_VERSION), &v)) != 0)
		return r;
	if (v != ENVELOPE_VERSION)
		return ERR_VERSION;
	h->version = (uint32_t)v;
	if ((r = keys_are_known(map)) != 0)
		return r;
	if ((r = wire_get_bytes_exact(wire_map_get(map, K_CHANNEL),
	    h->channel, sizeof h->channel)) != 0 ||
	    (r = wire_get_bytes_exact(wire_map_get(map, K_PREV), h->prev,
	    sizeof h->prev)) != 0 ||
	    (r = wire_get_bytes_exact(wire_map_get(map, K_PEER_LAST),
	    h->peer_last, sizeof h->peer_last)) != 0 ||
	    (r = wire_get_bytes_exact(wire_map_get(map, K_BODY_HASH),
	    h->body_hash, sizeof h->body_hash)) != 0)
		return r;
	if ((r = wire_get_uint(wire_map_get(map, K_KIND), &v)) != 0)
		return r;
	if (v > UINT32_MAX || !envelope_kind_is_known((uint32_t)v))
		return ERR_KIND;
	h->kind = (uint32_t)v;
	if ((r = wire_get_uint(wire_map_get(map, K_BODY_LEN), &v)) != 0)
		return r;
	if (v > ENVELOPE_BODY_MAX)
		return ERR_TOO_BIG;
	h->body_len = (uint32_t)v;
	if ((r = get_small(map, K_SENDER, 1, &v)) != 0)
		return r;
	h->sender = (uint8_t)v;
	if ((r = get_small(map, K_SEQ, ENVELOPE_SEQ_MAX, &h->seq)) != 0 ||
	    (r = get_small(map, K_TIME, ENVELOPE_TIME_MAX, &h->time_ms)) != 0)
		return r;
	if ((r = get_small(map, K_PRECEDENCE, ENVELOPE_NPRECEDENCE - 1,
	    &v)) != 0)
		return r;
	h->precedence = (uint8_t)v;
	if ((r = get_small(map, K_MARKING, ENVELOPE_NMARKING - 1, &v)) != 0)
		return r;
	h->marking = (uint8_t)v;
	return 0;
}

int
envelope_header_decode(struct envelope_header *h, const uint8_t *p, size_t n)
{
	cbor_item_t *item = NULL;
	uint8_t again[ENVELOPE_HEADER_MAX];
	size_t len;
	int r;

	if (n > ENVELOPE_HEADER_MAX)
		return ERR_TOO_BIG;
	if ((r = wire_load(p, n, &item)) != 0)
		return r;
	if ((r = fields(item, h)) != 0)
		goto out;
	if ((r = envelope_header_encode(h, again, sizeof again, &len)) != 0)
		goto out;
	if (!wire_same(p, n, again, len))
		r = ERR_NONCANONICAL;
out:
	cbor_decref(&item);
	return r;
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
	size_t i = 0;

	while (i < n) {
		uint8_t c = p[i];
		size_t more;
		uint32_t cp, min;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			more = 1;
			cp = c & 0x1fu;
			min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			more = 2;
			cp = c & 0x0fu;
			min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			more = 3;
			cp = c & 0x07u;
			min = 0x10000;
		} else
			return false;
		if (n - i - 1 < more)
			return false;
		for (size_t k = 1; k <= more; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i + k] & 0x3fu);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += more + 1;
	}
	return true;
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

int
envelope_body_check(const struct envelope_header *h, const uint8_t *body,
    size_t n)
{
	uint8_t hash[ENVELOPE_ID_LEN];

	if (n > ENVELOPE_BODY_MAX)
		return ERR_TOO_BIG;
	if (n != h->body_len)
		return ERR_BODY;
	envelope_body_hash(body, n, hash);
	if (memcmp(hash, h->body_hash, sizeof hash) != 0)
		return ERR_BODY;
	return envelope_body_check_kind(h->kind, body, n);
}

int
envelope_open(const uint8_t *hdr, size_t hlen, const uint8_t *body,
    size_t blen, struct envelope_header *h, uint8_t id[ENVELOPE_ID_LEN])
{
	int r;

	if ((r = envelope_header_decode(h, hdr, hlen)) != 0)
		return r;
	if ((r = envelope_body_check(h, body, blen)) != 0)
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
