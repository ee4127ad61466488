/*
 * wire.h: deterministic CBOR (RFC 8949 section 4.2.1, core deterministic
 * encoding), for every signed or hashed structure.
 *
 * Writing: a bounded writer emits shortest-form heads through libcbor's
 * cbor_encode_* functions; callers write map keys in ascending order. The
 * writer never allocates; overflow is sticky and reported by finish.
 *
 * Reading strictly (struct wire_reader): the decoder walks the bytes in
 * place, item by item in the order it expects them, allocating nothing;
 * byte strings are borrowed from the input. Only the one deterministic
 * encoding of parley's subset passes, so a decoder that reads with it
 * needs no re-encoding check. Refusals, the first of which sticks:
 *   ERR_PARSE         truncated; trailing bytes; indefinite lengths,
 *                     tags, floats, simple values other than false, true,
 *                     null; text that is not UTF-8; more than
 *                     WIRE_MAX_DEPTH containers deep; a length or count
 *                     the remaining bytes cannot hold; an item of another
 *                     type or size than the decoder reads; a map key that
 *                     is not the one expected (an unknown or missing key);
 *   ERR_NONCANONICAL  a head (integer, length, count, key) not in its
 *                     shortest form; a key not above the key before it in
 *                     its map (duplicate or out of order);
 *   ERR_TOO_BIG       an array or a text longer than the decoder allows.
 * An item's head is judged before its type, so a non-shortest head is
 * ERR_NONCANONICAL whatever was asked for. (wire_load lets an empty
 * container sit one level deeper than WIRE_MAX_DEPTH; the reader does not.)
 *
 * Classifying refusals (struct wire_index): after a strict read fails, a
 * decoder whose documented codes rank several faults (docs/envelope.md:
 * a field's type before its value before the encoding) looks again the
 * tolerant way: one well-formed item of the subset with heads of any
 * width, and for each small unsigned map key the first value under it.
 *
 * Reading into a tree: wire_load() scans the bytes itself and refuses
 * anything outside parley's subset (as above, but tolerating any head
 * width), then builds a libcbor item tree. libcbor accepts non-shortest
 * integers and duplicate keys, so a decoder must re-encode what it decoded
 * and compare bytes (wire_same()), refusing ERR_NONCANONICAL on difference.
 */
#ifndef PARLEY_BASE_WIRE_H
#define PARLEY_BASE_WIRE_H

#include <cbor.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define WIRE_MAX_DEPTH 16	/* containers nested in one another */
#define WIRE_INDEX_KEYS 15	/* map keys a wire_index keeps: 1..15 */

struct wire_writer {
	uint8_t *buf;
	size_t cap;
	size_t len;
	bool overflow;
};

void wire_writer_init(struct wire_writer *w, uint8_t *buf, size_t cap);
void wire_put_uint(struct wire_writer *w, uint64_t v);
void wire_put_bytes(struct wire_writer *w, const uint8_t *p, size_t n);
void wire_put_text(struct wire_writer *w, const char *s);
void wire_put_array(struct wire_writer *w, size_t n);
void wire_put_map(struct wire_writer *w, size_t n);
void wire_put_bool(struct wire_writer *w, bool v);
void wire_put_null(struct wire_writer *w);
/* Sets *len to the bytes written; ERR_TOO_BIG if anything did not fit. */
int wire_writer_finish(const struct wire_writer *w, size_t *len) WUR;

/* One open container of a wire_reader. */
struct wire_level {
	uint64_t left;		/* items still owed (a map: 2 a pair) */
	uint64_t last;		/* the map's last key read, if any */
	bool map, keyed;	/* keyed: last holds a key */
};

/* Borrows its input: p must outlive the reader and what it lends. */
struct wire_reader {
	const uint8_t *p;
	size_t n, pos;
	int err;				/* the first refusal, sticky */
	unsigned depth;			/* lvl[depth] is current */
	struct wire_level lvl[WIRE_MAX_DEPTH + 1]; /* lvl[0]: the top */
};

/* Reads the n bytes at p, which must hold exactly one item (see
 * wire_read_end). Keeps p. */
void wire_reader_init(struct wire_reader *r, const uint8_t *p, size_t n);
/* A map of exactly n pairs (ERR_PARSE for another count); then, n times,
 * wire_read_key and one value read. */
int wire_read_map(struct wire_reader *r, size_t n) WUR;
/* The next key of the current map, which must be key: ERR_NONCANONICAL if
 * it is not above the previous key, ERR_PARSE if it is another key or not
 * an unsigned integer. ERR_PARSE, too, when called where no key is due
 * (a decoder's bug). */
int wire_read_key(struct wire_reader *r, uint64_t key) WUR;
/* An array of at most max items (ERR_TOO_BIG over it); *n is its count,
 * and the decoder reads that many items next. */
int wire_read_array(struct wire_reader *r, size_t max, size_t *n) WUR;
int wire_read_uint(struct wire_reader *r, uint64_t *v) WUR;
/* Borrows a byte string: *p points into the input (NULL when *n is 0). */
int wire_read_bytes(struct wire_reader *r, const uint8_t **p, size_t *n)
    WUR;
/* Copies a byte string of exactly n bytes (ERR_PARSE for another size). */
int wire_read_bytes_exact(struct wire_reader *r, uint8_t *out, size_t n)
    WUR;
/* Copies a text string into out (cap bytes with its NUL): ERR_TOO_BIG if
 * it does not fit, ERR_PARSE if it holds a NUL or is not UTF-8. */
int wire_read_text(struct wire_reader *r, char *out, size_t cap) WUR;
int wire_read_bool(struct wire_reader *r, bool *v) WUR;
int wire_read_null(struct wire_reader *r) WUR;
/* 0 once the one item is read whole and no byte is left; ERR_PARSE
 * otherwise (or the sticky refusal). Every decoder ends with it. */
int wire_read_end(struct wire_reader *r) WUR;

/* A map looked at the tolerant way (see the top): for refusals only. */
struct wire_index {
	const uint8_t *p;
	size_t n;
	size_t at[WIRE_INDEX_KEYS + 1];	/* 1 + offset of key k's first
					 * value; 0 when k is absent */
	bool other;			/* a key not an unsigned 1..nkeys */
};

/* Indexes the map that the n bytes at p must be exactly, for keys
 * 1..nkeys: ERR_PARSE when they are not one well-formed item of the subset
 * (as wire_load judges) or not a map, or nkeys is over WIRE_INDEX_KEYS.
 * Keeps p. */
int wire_index_map(struct wire_index *ix, const uint8_t *p, size_t n,
    uint64_t nkeys) WUR;
/* The first value under key: ERR_PARSE if there is none or it is not an
 * unsigned integer (of any head width). */
int wire_index_uint(const struct wire_index *ix, uint64_t key, uint64_t *v)
    WUR;
/* The same for a byte string of exactly n bytes, copied to out. */
int wire_index_bytes(const struct wire_index *ix, uint64_t key, uint8_t *out,
    size_t n) WUR;

/* True when p holds well-formed UTF-8 (no overlong forms, no surrogates,
 * nothing above U+10FFFF), as text strings must. */
bool wire_utf8_is_valid(const uint8_t *p, size_t n);

/* Parses exactly n bytes into *out (caller frees with cbor_decref).
 * ERR_PARSE for malformed or out-of-subset input or trailing bytes. */
int wire_load(const uint8_t *p, size_t n, cbor_item_t **out) WUR;

/* The value under unsigned key in a definite map, or NULL. */
cbor_item_t *wire_map_get(const cbor_item_t *map, uint64_t key);
/* ERR_PARSE unless item is an unsigned integer. */
int wire_get_uint(const cbor_item_t *item, uint64_t *v) WUR;
/* ERR_PARSE unless item is a byte string of exactly n bytes. */
int wire_get_bytes_exact(const cbor_item_t *item, uint8_t *out, size_t n) WUR;
/* Borrows the bytes of a byte string (valid while item lives). */
int wire_get_bytes(const cbor_item_t *item, const uint8_t **p, size_t *n) WUR;
/* Copies a text string into out (cap bytes with NUL); ERR_TOO_BIG if long,
 * ERR_PARSE if not text or if it holds a NUL byte. */
int wire_get_text(const cbor_item_t *item, char *out, size_t cap) WUR;

/* True when a and b hold the same bytes (for the re-encode check). */
bool wire_same(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

#endif
