/*
 * hmac.h: HMAC (RFC 2104) over unkeyed BLAKE2b-512, and the HKDF of the
 * Noise Protocol Framework (revision 34, section 4.3).
 *
 * HMAC-BLAKE2b(K, m) = H((K' ^ opad) || H((K' ^ ipad) || m)) with H =
 * BLAKE2b with 64-byte output and no key, block length 128 bytes, K' = K
 * zero-padded to 128 bytes (or H(K) padded, when K is longer than a block).
 * This is NOT libsodium's keyed BLAKE2b (crypto_generichash with a key),
 * which computes a different function. docs/noise.md gives the details.
 */
#ifndef PARLEY_CRYPTO_HMAC_H
#define PARLEY_CRYPTO_HMAC_H

#include <stddef.h>
#include <stdint.h>

#define HMAC_LEN 64		/* BLAKE2b-512 output, Noise's HASHLEN */
#define HMAC_BLOCK_LEN 128	/* BLAKE2b block length, Noise's BLOCKLEN */

/* out = HMAC-BLAKE2b(key, data). key may be any length; data may be NULL
 * when len is 0. */
void hmac_blake2b(uint8_t out[HMAC_LEN], const uint8_t *key, size_t key_len,
    const uint8_t *data, size_t len);

/*
 * Noise's HKDF(chaining_key, input_key_material, num_outputs):
 *   temp = HMAC(ck, ikm); out1 = HMAC(temp, 0x01);
 *   out2 = HMAC(temp, out1 || 0x02); out3 = HMAC(temp, out2 || 0x03).
 * out3 may be NULL for two outputs. ikm may be NULL when ikm_len is 0. The
 * outputs may alias ck. Intermediate values are wiped.
 */
void hkdf_blake2b(const uint8_t ck[HMAC_LEN], const uint8_t *ikm,
    size_t ikm_len, uint8_t out1[HMAC_LEN], uint8_t out2[HMAC_LEN],
    uint8_t *out3);

#endif
