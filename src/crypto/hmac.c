/*
 * hmac.c: HMAC-BLAKE2b (RFC 2104) and Noise's HKDF, on libsodium's unkeyed
 * crypto_generichash. See hmac.h; docs/noise.md section "HMAC and HKDF".
 */
#include "crypto/hmac.h"

#include <sodium.h>
#include <string.h>

_Static_assert(HMAC_LEN == crypto_generichash_BYTES_MAX,
    "HMAC output is BLAKE2b-512");

void
hmac_blake2b(uint8_t out[HMAC_LEN], const uint8_t *key, size_t key_len,
    const uint8_t *data, size_t len)
{
	crypto_generichash_state st;
	uint8_t kpad[HMAC_BLOCK_LEN], inner[HMAC_LEN];
	size_t i;

	memset(kpad, 0, sizeof kpad);
	if (key_len > HMAC_BLOCK_LEN)
		crypto_generichash(kpad, HMAC_LEN, key, key_len, NULL, 0);
	else if (key_len > 0)
		memcpy(kpad, key, key_len);

	for (i = 0; i < sizeof kpad; i++)
		kpad[i] ^= 0x36;
	crypto_generichash_init(&st, NULL, 0, HMAC_LEN);
	crypto_generichash_update(&st, kpad, sizeof kpad);
	if (len > 0)
		crypto_generichash_update(&st, data, len);
	crypto_generichash_final(&st, inner, sizeof inner);

	for (i = 0; i < sizeof kpad; i++)
		kpad[i] ^= 0x36 ^ 0x5c;
	crypto_generichash_init(&st, NULL, 0, HMAC_LEN);
	crypto_generichash_update(&st, kpad, sizeof kpad);
	crypto_generichash_update(&st, inner, sizeof inner);
	crypto_generichash_final(&st, out, HMAC_LEN);

	sodium_memzero(kpad, sizeof kpad);
	sodium_memzero(inner, sizeof inner);
	sodium_memzero(&st, sizeof st);
}

void
hkdf_blake2b(const uint8_t ck[HMAC_LEN], const uint8_t *ikm, size_t ikm_len,
    uint8_t out1[HMAC_LEN], uint8_t out2[HMAC_LEN], uint8_t *out3)
{
	uint8_t temp[HMAC_LEN], o1[HMAC_LEN], o2[HMAC_LEN];
	uint8_t in[HMAC_LEN + 1];

	hmac_blake2b(temp, ck, HMAC_LEN, ikm, ikm_len);

	in[0] = 0x01;
	hmac_blake2b(o1, temp, sizeof temp, in, 1);
	memcpy(in, o1, HMAC_LEN);
	in[HMAC_LEN] = 0x02;
	hmac_blake2b(o2, temp, sizeof temp, in, sizeof in);
	if (out3 != NULL) {
		memcpy(in, o2, HMAC_LEN);
		in[HMAC_LEN] = 0x03;
		hmac_blake2b(out3, temp, sizeof temp, in, sizeof in);
	}
	/* ck may alias an output: write them only after the last read. */
	memcpy(out1, o1, HMAC_LEN);
	memcpy(out2, o2, HMAC_LEN);

	sodium_memzero(temp, sizeof temp);
	sodium_memzero(o1, sizeof o1);
	sodium_memzero(o2, sizeof o2);
	sodium_memzero(in, sizeof in);
}
