/*
 * wire.h: deterministic CBOR (RFC 8949 section 4.2.1, core deterministic
 * encoding) on top of libcbor, for every signed or hashed structure.
 *
 * Writing: a bounded writer emits shortest-form heads through libcbor's
 * cbor_encode_* functions; callers write map keys in ascending order. The
 * writer never allocates; overflow is sticky and reported by finish.
 *
 * Reading: wire_load() first scans the bytes itself and refuses anything
 * outside parley's subset (indefinite lengths, tags, floats, simple values
 * other than false/true/null, nesting deeper than WIRE_MAX_DEPTH, trailing
 * bytes), then builds a libcbor item tree. libcbor accepts non-shortest
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

#define WIRE_MAX_DEPTH 16

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
