/*
 * hash.h: BLAKE2b under a context string, and fingerprints people read aloud.
 *
 * Every hash parley computes over a structure names what it hashes: the
 * input is the context string's bytes, one zero byte, then the data
 * (docs/crypto.md). Two structures hashed under different contexts can never
 * collide by construction.
 */
#ifndef PARLEY_CRYPTO_HASH_H
#define PARLEY_CRYPTO_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_LEN 32
/* 6 groups of 5 digits separated by spaces, and a NUL */
#define FINGERPRINT_STR_LEN 36

/* out = BLAKE2b-outlen(ctx || 0x00 || data); outlen 16..64. */
void hash_ctx(uint8_t *out, size_t outlen, const char *ctx,
    const uint8_t *data, size_t len);

/* Two-part variant: out = BLAKE2b-outlen(ctx || 0x00 || a || b). */
void hash_ctx2(uint8_t *out, size_t outlen, const char *ctx,
    const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

/*
 * Writes a 30-digit fingerprint "ddddd ddddd ddddd ddddd ddddd ddddd" of
 * data under ctx: h = hash_ctx(32, ctx, data); group i is the big-endian
 * 40-bit integer h[5i..5i+4] modulo 100000, zero-padded to five digits.
 */
void hash_fingerprint(char out[FINGERPRINT_STR_LEN], const char *ctx,
    const uint8_t *data, size_t len);

#endif
