/* hash.c: see hash.h; the formulas are in docs/crypto.md. */
#include "crypto/hash.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(HASH_LEN >= crypto_generichash_BYTES_MIN &&
    HASH_LEN <= crypto_generichash_BYTES_MAX, "HASH_LEN is a BLAKE2b length");

void
hash_ctx2(uint8_t *out, size_t outlen, const char *ctx, const uint8_t *a,
    size_t alen, const uint8_t *b, size_t blen)
{
	crypto_generichash_state st;
	static const uint8_t zero = 0;

	/* outlen is the caller's constant (hash.h: 16..64): out of range is a
	 * bug, and an output left unwritten must never be used as a hash */
	if (outlen < crypto_generichash_BYTES_MIN ||
	    outlen > crypto_generichash_BYTES_MAX ||
	    crypto_generichash_init(&st, NULL, 0, outlen) != 0)
		abort();
	crypto_generichash_update(&st, (const uint8_t *)ctx, strlen(ctx));
	crypto_generichash_update(&st, &zero, 1);
	if (alen)
		crypto_generichash_update(&st, a, alen);
	if (blen)
		crypto_generichash_update(&st, b, blen);
	crypto_generichash_final(&st, out, outlen);
}

void
hash_ctx(uint8_t *out, size_t outlen, const char *ctx, const uint8_t *data,
    size_t len)
{
	hash_ctx2(out, outlen, ctx, data, len, NULL, 0);
}

void
hash_fingerprint(char out[FINGERPRINT_STR_LEN], const char *ctx,
    const uint8_t *data, size_t len)
{
	uint8_t h[HASH_LEN];
	size_t o = 0;

	hash_ctx(h, sizeof h, ctx, data, len);
	for (int g = 0; g < 6; g++) {
		uint64_t v = 0;
		for (int i = 0; i < 5; i++)
			v = v << 8 | h[5 * g + i];
		o += (size_t)snprintf(out + o, FINGERPRINT_STR_LEN - o,
		    g ? " %05u" : "%05u", (unsigned)(v % 100000));
	}
}
