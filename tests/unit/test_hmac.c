/*
 * test_hmac.c: HMAC-BLAKE2b and HKDF (crypto/hmac.h) against values
 * computed independently (Python's hmac module). The Noise engine that
 * uses them: test_noise.c, test_noise_patterns.c.
 */
#include <sodium.h>

#include "../harness.h"
#include "base/hex.h"
#include "crypto/hmac.h"

static void
unhex(uint8_t *out, size_t n, const char *s)
{
	if (hex_decode(out, n, s) != 0) {
		printf("bad hex in test: %s\n", s);
		CHECK(0);
	}
}

/*
 * Expected values computed with Python's hmac module, which implements
 * RFC 2104 independently of this code:
 *   python3 -c "import hmac,hashlib; print(hmac.new(KEY, MSG,
 *       hashlib.blake2b).hexdigest())"
 */
static void
test_hmac_python(void)
{
	static const struct {
		size_t klen;	/* key: bytes 0, 1, 2, ... (or "key") */
		const char *msg, *want;
	} cases[] = {
	    { 0, "", "198cd2006f66ff83fbbd913f78aca2251caf4f19fe9475aade8cf2091b99a684"
		"66775177424f58286886cbae8229644cec747237d4b721735485e17372fdf59c" },
	    { 3, "The quick brown fox jumps over the lazy dog",
		"92294f92c0dfb9b00ec9ae8bd94d7e7d8a036b885a499f149dfe2fd2199394aa"
		"af6b8894a1730cccb2cd050f9bcf5062a38b51b0dab33207f8ef35ae2c9df51b" },
	    /* key exactly one block: used as is */
	    { 128, "north", "77a254f45b81c9946bcee8b79dca8ce50fc654fd3f5261e383b881c554e2dbaf"
		"86bd3d0d6b35f0d833a703cf62fb6c74558898cc456e79cef5812ee8cc79b52c" },
	    /* key longer than a block: hashed first */
	    { 200, "south", "0418843fed9a6e18d9636c2de7d2b6b0c4185e6a04e6c09316999c2dccf069bf"
		"04d4289844c6a6df4137277da640e9fcbe07de41318c55aca4bedf0021626d7c" },
	};
	uint8_t key[200], got[HMAC_LEN], want[HMAC_LEN];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (cases[i].klen == 3)
			memcpy(key, "key", 3);
		else
			for (size_t j = 0; j < cases[i].klen; j++)
				key[j] = (uint8_t)j;
		hmac_blake2b(got, key, cases[i].klen,
		    (const uint8_t *)cases[i].msg, strlen(cases[i].msg));
		unhex(want, sizeof want, cases[i].want);
		CHECK_MEM(got, want, HMAC_LEN);
	}
}

/* HMAC is not libsodium's keyed BLAKE2b. */
static void
test_hmac_not_keyed_blake2b(void)
{
	uint8_t a[HMAC_LEN], b[HMAC_LEN];
	const uint8_t key[3] = { 'k', 'e', 'y' };

	hmac_blake2b(a, key, sizeof key, NULL, 0);
	crypto_generichash(b, sizeof b, NULL, 0, key, sizeof key);
	CHECK(memcmp(a, b, sizeof a) != 0);
}

/*
 * Noise's HKDF with ck = bytes 0..63 and ikm = bytes 100..131; expected
 * values from Python's hmac module:
 *   t = hmac(ck, ikm); o1 = hmac(t, b'\x01'); o2 = hmac(t, o1 + b'\x02');
 *   o3 = hmac(t, o2 + b'\x03')   (hmac = hmac.new(k, m, hashlib.blake2b))
 */
static void
test_hkdf_python(void)
{
	uint8_t ck[HMAC_LEN], ikm[32], o1[HMAC_LEN], o2[HMAC_LEN], o3[HMAC_LEN];
	uint8_t w1[HMAC_LEN], w2[HMAC_LEN], w3[HMAC_LEN], p1[HMAC_LEN],
	    p2[HMAC_LEN];

	for (int i = 0; i < HMAC_LEN; i++)
		ck[i] = (uint8_t)i;
	for (int i = 0; i < 32; i++)
		ikm[i] = (uint8_t)(100 + i);
	unhex(w1, HMAC_LEN, "2262ed5f40c3324574d00a1e0849a7cc67fb5b6a80211c3c"
	    "59404bb8e47512b1cb95e73840718c5d68ca345f934f39a52f1f31e8f6d3ed52"
	    "1f0664f46feddae4");
	unhex(w2, HMAC_LEN, "f6a6559fa2aaab64d3d2666b83fe3f4fed6fae1959537fed"
	    "d6a39b6f8d411e6132593234cc2a750244335da5021c27bf7eacbb65cfa60845"
	    "7de6ecc144b90077");
	unhex(w3, HMAC_LEN, "07c82c1301c70e885f4662f1f3f7b7bb9e04d81c94a6e188"
	    "2f812c02ffb69580c93095bb599ad2fced3d3cf38c9c17df4fb3c0029f231247"
	    "fca69b040e16449e");
	hkdf_blake2b(ck, ikm, sizeof ikm, o1, o2, o3);
	CHECK_MEM(o1, w1, HMAC_LEN);
	CHECK_MEM(o2, w2, HMAC_LEN);
	CHECK_MEM(o3, w3, HMAC_LEN);
	hkdf_blake2b(ck, ikm, sizeof ikm, p1, p2, NULL);
	CHECK_MEM(p1, w1, HMAC_LEN);
	CHECK_MEM(p2, w2, HMAC_LEN);
	/* the first output may alias ck, as MixKey uses it */
	hkdf_blake2b(ck, ikm, sizeof ikm, ck, p2, NULL);
	CHECK_MEM(ck, w1, HMAC_LEN);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	RUN(test_hmac_python);
	RUN(test_hmac_not_keyed_blake2b);
	RUN(test_hkdf_python);
	return harness_summary();
}
