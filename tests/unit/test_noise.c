/*
 * test_noise.c: HMAC-BLAKE2b and HKDF against values computed
 * independently, and the Noise engine driven through memory buffers:
 * round trips, wrong keys, tampering, state violations, names, sizes,
 * nonces and wiping. The public test vectors run in tests/noise_vectors.c.
 */
#include <sodium.h>

#include "../harness.h"
#include "base/hex.h"
#include "crypto/hmac.h"
#include "crypto/noise.h"

#define IKPSK2 "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b"

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

/* --- engine helpers -------------------------------------------------- */

struct pair {
	struct noise_handshake ini, resp;
	uint8_t is_priv[NOISE_KEY_LEN], is_pub[NOISE_KEY_LEN];
	uint8_t rs_priv[NOISE_KEY_LEN], rs_pub[NOISE_KEY_LEN];
	uint8_t psk[NOISE_KEY_LEN];
};

static void
rnd(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	randombytes_buf(buf, len);
}

/* Deterministic "random": a counter byte pattern. */
static void
counter_rnd(void *ctx, uint8_t *buf, size_t len)
{
	uint8_t *c = ctx;

	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(*c + i);
	(*c)++;
}

static void
keys_make(struct pair *p)
{
	for (int i = 0; i < NOISE_KEY_LEN; i++) {
		p->is_priv[i] = (uint8_t)(0x10 + i);
		p->rs_priv[i] = (uint8_t)(0x80 + i);
		p->psk[i] = (uint8_t)(0xc0 ^ i);
	}
	crypto_scalarmult_base(p->is_pub, p->is_priv);
	crypto_scalarmult_base(p->rs_pub, p->rs_priv);
}

/* Sets up an IKpsk2 pair; ipsk/rpsk/rs may differ to test mismatches. */
static void
ikpsk2_start(struct pair *p, const uint8_t *ipsk, const uint8_t *rpsk,
    const uint8_t *ini_rs)
{
	static const uint8_t prologue[] = "parley test";

	CHECK_INT(noise_handshake_init(&p->ini, IKPSK2, NOISE_INITIATOR,
	    prologue, sizeof prologue, rnd, NULL), 0);
	CHECK_INT(noise_handshake_set_static(&p->ini, p->is_priv), 0);
	CHECK_INT(noise_handshake_set_remote_static(&p->ini, ini_rs), 0);
	CHECK_INT(noise_handshake_set_psk(&p->ini, ipsk), 0);
	CHECK_INT(noise_handshake_start(&p->ini), 0);
	CHECK_INT(noise_handshake_init(&p->resp, IKPSK2, NOISE_RESPONDER,
	    prologue, sizeof prologue, rnd, NULL), 0);
	CHECK_INT(noise_handshake_set_static(&p->resp, p->rs_priv), 0);
	CHECK_INT(noise_handshake_set_psk(&p->resp, rpsk), 0);
	CHECK_INT(noise_handshake_start(&p->resp), 0);
}

static void
pair_fini(struct pair *p)
{
	noise_handshake_fini(&p->ini);
	noise_handshake_fini(&p->resp);
}

static bool
all_zero(const void *p, size_t n)
{
	return sodium_is_zero(p, n) == 1;
}

/* --- engine tests ---------------------------------------------------- */

static void
test_ikpsk2_round_trip(void)
{
	struct pair p;
	struct noise_cipher is, ir, rs, rr;
	uint8_t m1[256], m2[256], pt[256], ct[256], h[NOISE_HASH_LEN];
	size_t l1, l2, plen, clen;
	static const uint8_t hello[] = "north: hello";
	static const uint8_t reply[] = "south: hello back";

	keys_make(&p);
	ikpsk2_start(&p, p.psk, p.psk, p.rs_pub);
	CHECK_INT(noise_handshake_action(&p.ini), NOISE_ACTION_WRITE);
	CHECK_INT(noise_handshake_action(&p.resp), NOISE_ACTION_READ);

	CHECK_INT(noise_handshake_write(&p.ini, hello, sizeof hello, m1,
	    sizeof m1, &l1), 0);
	/* e, encrypted s, encrypted payload */
	CHECK_INT(l1, 32 + 48 + sizeof hello + 16);
	CHECK_INT(noise_handshake_read(&p.resp, m1, l1, pt, sizeof pt, &plen),
	    0);
	CHECK_INT(plen, sizeof hello);
	CHECK_MEM(pt, hello, sizeof hello);
	CHECK(noise_handshake_remote_static(&p.resp) != NULL);
	if (noise_handshake_remote_static(&p.resp) != NULL)
		CHECK_MEM(noise_handshake_remote_static(&p.resp), p.is_pub, 32);

	CHECK_INT(noise_handshake_write(&p.resp, reply, sizeof reply, m2,
	    sizeof m2, &l2), 0);
	CHECK_INT(l2, 32 + sizeof reply + 16);
	CHECK_INT(noise_handshake_read(&p.ini, m2, l2, pt, sizeof pt, &plen), 0);
	CHECK_INT(plen, sizeof reply);
	CHECK_MEM(pt, reply, sizeof reply);

	CHECK_INT(noise_handshake_action(&p.ini), NOISE_ACTION_SPLIT);
	CHECK_INT(noise_handshake_action(&p.resp), NOISE_ACTION_SPLIT);
	CHECK_INT(noise_handshake_split(&p.ini, &is, &ir), 0);
	CHECK_INT(noise_handshake_split(&p.resp, &rs, &rr), 0);
	CHECK_MEM(noise_handshake_hash(&p.ini), noise_handshake_hash(&p.resp),
	    NOISE_HASH_LEN);
	CHECK(!all_zero(noise_handshake_hash(&p.ini), NOISE_HASH_LEN));
	CHECK_MEM(is.k, rr.k, NOISE_KEY_LEN);
	CHECK_MEM(ir.k, rs.k, NOISE_KEY_LEN);
	CHECK(memcmp(is.k, ir.k, NOISE_KEY_LEN) != 0);
	/* split wiped the handshake's secrets */
	CHECK(all_zero(p.ini.ck, sizeof p.ini.ck));
	CHECK(all_zero(p.ini.e_priv, sizeof p.ini.e_priv));
	CHECK(all_zero(p.resp.s_priv, sizeof p.resp.s_priv));
	CHECK(all_zero(p.resp.psks, sizeof p.resp.psks));

	/* transport both ways, several records each, with ad */
	for (int i = 0; i < 3; i++) {
		CHECK_INT(noise_cipher_encrypt(&is, (const uint8_t *)"ad", 2,
		    hello, sizeof hello, ct, sizeof ct, &clen), 0);
		CHECK_INT(clen, sizeof hello + NOISE_TAG_LEN);
		CHECK_INT(noise_cipher_decrypt(&rr, (const uint8_t *)"ad", 2,
		    ct, clen, pt, sizeof pt, &plen), 0);
		CHECK_MEM(pt, hello, sizeof hello);
		CHECK_INT(noise_cipher_encrypt(&rs, NULL, 0, reply,
		    sizeof reply, ct, sizeof ct, &clen), 0);
		CHECK_INT(noise_cipher_decrypt(&ir, NULL, 0, ct, clen, pt,
		    sizeof pt, &plen), 0);
		CHECK_INT(plen, sizeof reply);
		CHECK_MEM(pt, reply, sizeof reply);
	}
	CHECK_INT(is.n, 3);
	CHECK_INT(rr.n, 3);
	/* a record sent with one ad does not open with another */
	CHECK_INT(noise_cipher_encrypt(&is, (const uint8_t *)"ad", 2, hello,
	    sizeof hello, ct, sizeof ct, &clen), 0);
	CHECK_INT(noise_cipher_decrypt(&rr, (const uint8_t *)"AD", 2, ct, clen,
	    pt, sizeof pt, &plen), ERR_CRYPTO);
	/* in-place encryption */
	memcpy(ct, hello, sizeof hello);
	CHECK_INT(noise_cipher_encrypt(&rs, NULL, 0, ct, sizeof hello, ct,
	    sizeof ct, &clen), 0);
	CHECK_INT(noise_cipher_decrypt(&ir, NULL, 0, ct, clen, pt, sizeof pt,
	    &plen), 0);
	CHECK_MEM(pt, hello, sizeof hello);
	/* split only once; the refused call leaves the handshake hash (the
	 * channel binding) and the remote static key intact */
	memcpy(h, noise_handshake_hash(&p.ini), NOISE_HASH_LEN);
	CHECK_INT(noise_handshake_split(&p.ini, &is, &ir), ERR_STATE);
	CHECK_MEM(noise_handshake_hash(&p.ini), h, NOISE_HASH_LEN);
	CHECK_MEM(noise_handshake_hash(&p.resp), h, NOISE_HASH_LEN);
	CHECK(noise_handshake_remote_static(&p.ini) != NULL);

	noise_cipher_fini(&is);
	noise_cipher_fini(&ir);
	noise_cipher_fini(&rs);
	noise_cipher_fini(&rr);
	CHECK(all_zero(&is, sizeof is));
	pair_fini(&p);
}

/* Same ephemerals, same bytes: the random source is the only input. */
static void
test_deterministic(void)
{
	uint8_t out[2][128], s[32], rs[32];
	size_t len[2];

	for (int i = 0; i < 32; i++)
		s[i] = (uint8_t)(7 * i);
	crypto_scalarmult_base(rs, s);
	for (int run = 0; run < 2; run++) {
		struct noise_handshake hs;
		uint8_t ctr = 9;

		CHECK_INT(noise_handshake_init(&hs,
		    "Noise_IK_25519_ChaChaPoly_BLAKE2b", NOISE_INITIATOR,
		    NULL, 0, counter_rnd, &ctr), 0);
		CHECK_INT(noise_handshake_set_static(&hs, s), 0);
		CHECK_INT(noise_handshake_set_remote_static(&hs, rs), 0);
		CHECK_INT(noise_handshake_start(&hs), 0);
		CHECK_INT(noise_handshake_write(&hs, NULL, 0, out[run],
		    sizeof out[run], &len[run]), 0);
		CHECK_INT(ctr, 10);	/* one ephemeral drawn */
		noise_handshake_fini(&hs);
	}
	CHECK_INT(len[0], len[1]);
	CHECK_MEM(out[0], out[1], len[0]);
}

/* The initiator's PSK differs from the responder's. In IKpsk2 the PSK is
 * first mixed at the end of message 2 (the responder's), so the responder
 * cannot tell in message 1; the initiator fails reading message 2. With
 * psk0 the responder fails reading message 1. */
static void
test_wrong_psk(void)
{
	struct pair p;
	uint8_t other[NOISE_KEY_LEN], m[256], pt[256];
	size_t len, plen;

	keys_make(&p);
	memcpy(other, p.psk, sizeof other);
	other[5] ^= 0x40;
	ikpsk2_start(&p, other, p.psk, p.rs_pub);
	CHECK_INT(noise_handshake_write(&p.ini, NULL, 0, m, sizeof m, &len), 0);
	CHECK_INT(noise_handshake_read(&p.resp, m, len, pt, sizeof pt, &plen),
	    0);
	CHECK_INT(noise_handshake_write(&p.resp, NULL, 0, m, sizeof m, &len),
	    0);
	CHECK_INT(noise_handshake_read(&p.ini, m, len, pt, sizeof pt, &plen),
	    ERR_CRYPTO);
	CHECK_INT(noise_handshake_action(&p.ini), NOISE_ACTION_FAILED);
	pair_fini(&p);

	/* psk0: the responder rejects message 1 */
	{
		const char *name = "Noise_IKpsk0+psk2_25519_ChaChaPoly_BLAKE2b";
		struct noise_handshake a, b;

		CHECK_INT(noise_handshake_init(&a, name, NOISE_INITIATOR, NULL,
		    0, rnd, NULL), 0);
		CHECK_INT(noise_handshake_set_static(&a, p.is_priv), 0);
		CHECK_INT(noise_handshake_set_remote_static(&a, p.rs_pub), 0);
		CHECK_INT(noise_handshake_set_psk(&a, other), 0);
		CHECK_INT(noise_handshake_set_psk(&a, p.psk), 0);
		CHECK_INT(noise_handshake_start(&a), 0);
		CHECK_INT(noise_handshake_init(&b, name, NOISE_RESPONDER, NULL,
		    0, rnd, NULL), 0);
		CHECK_INT(noise_handshake_set_static(&b, p.rs_priv), 0);
		CHECK_INT(noise_handshake_set_psk(&b, p.psk), 0);
		CHECK_INT(noise_handshake_set_psk(&b, p.psk), 0);
		CHECK_INT(noise_handshake_start(&b), 0);
		CHECK_INT(noise_handshake_write(&a, NULL, 0, m, sizeof m, &len),
		    0);
		CHECK_INT(noise_handshake_read(&b, m, len, pt, sizeof pt,
		    &plen), ERR_CRYPTO);
		CHECK_INT(noise_handshake_action(&b), NOISE_ACTION_FAILED);
		CHECK(all_zero(b.psks, sizeof b.psks));
		CHECK(all_zero(b.s_priv, sizeof b.s_priv));
		noise_handshake_fini(&a);
		noise_handshake_fini(&b);
	}
}

/* The initiator believes in another responder key: message 1 does not
 * decrypt at the real responder. */
static void
test_wrong_remote_static(void)
{
	struct pair p;
	uint8_t wrong_priv[32], wrong_pub[32], m[256], pt[256];
	size_t len, plen;

	keys_make(&p);
	memset(wrong_priv, 0x33, sizeof wrong_priv);
	crypto_scalarmult_base(wrong_pub, wrong_priv);
	ikpsk2_start(&p, p.psk, p.psk, wrong_pub);
	CHECK_INT(noise_handshake_write(&p.ini, NULL, 0, m, sizeof m, &len), 0);
	CHECK_INT(noise_handshake_read(&p.resp, m, len, pt, sizeof pt, &plen),
	    ERR_CRYPTO);
	CHECK_INT(noise_handshake_action(&p.resp), NOISE_ACTION_FAILED);
	CHECK(all_zero(p.resp.ck, sizeof p.resp.ck));
	CHECK(all_zero(p.resp.h, sizeof p.resp.h));
	CHECK(all_zero(p.resp.s_priv, sizeof p.resp.s_priv));
	/* a FAILED handshake stays failed */
	CHECK_INT(noise_handshake_read(&p.resp, m, len, pt, sizeof pt, &plen),
	    ERR_STATE);
	pair_fini(&p);
}

/* Every single-bit flip anywhere in message 1 or message 2 fails. */
static void
test_tampered_bytes(void)
{
	uint8_t m[256], pt[256];
	size_t len, plen;
	int bad = 0, tried = 0;

	for (int which = 0; which < 2; which++) {
		for (size_t pos = 0;; pos++) {
			struct pair p;
			struct noise_handshake *rd;

			keys_make(&p);
			ikpsk2_start(&p, p.psk, p.psk, p.rs_pub);
			CHECK_INT(noise_handshake_write(&p.ini,
			    (const uint8_t *)"x", 1, m, sizeof m, &len), 0);
			if (which == 1) {
				CHECK_INT(noise_handshake_read(&p.resp, m, len,
				    pt, sizeof pt, &plen), 0);
				CHECK_INT(noise_handshake_write(&p.resp,
				    (const uint8_t *)"y", 1, m, sizeof m,
				    &len), 0);
			}
			rd = which == 0 ? &p.resp : &p.ini;
			if (pos >= len) {
				pair_fini(&p);
				break;
			}
			m[pos] ^= (uint8_t)(1u << (pos % 8));
			tried++;
			if (noise_handshake_read(rd, m, len, pt, sizeof pt,
			    &plen) != ERR_CRYPTO ||
			    noise_handshake_action(rd) != NOISE_ACTION_FAILED) {
				printf("  message %d byte %zu: accepted\n",
				    which + 1, pos);
				bad++;
			}
			pair_fini(&p);
		}
	}
	CHECK_INT(bad, 0);
	/* message 1: 32 + 48 + 1 + 16 bytes; message 2: 32 + 1 + 16 */
	CHECK_INT(tried, 97 + 49);
}

/* A truncated or overlong message is a parse error and fails. */
static void
test_bad_lengths(void)
{
	struct pair p;
	uint8_t m[256], pt[256];
	size_t len, plen;

	keys_make(&p);
	ikpsk2_start(&p, p.psk, p.psk, p.rs_pub);
	CHECK_INT(noise_handshake_write(&p.ini, NULL, 0, m, sizeof m, &len), 0);
	CHECK_INT(noise_handshake_read(&p.resp, m, 32 + 48 + 15, pt, sizeof pt,
	    &plen), ERR_PARSE);
	CHECK_INT(noise_handshake_action(&p.resp), NOISE_ACTION_FAILED);
	pair_fini(&p);

	keys_make(&p);
	ikpsk2_start(&p, p.psk, p.psk, p.rs_pub);
	CHECK_INT(noise_handshake_write(&p.ini, NULL, 0, m, sizeof m, &len), 0);
	CHECK_INT(noise_handshake_read(&p.resp, m, NOISE_MAX_MSG + 1, pt,
	    sizeof pt, &plen), ERR_PARSE);
	pair_fini(&p);
}

static void
test_out_of_turn(void)
{
	struct pair p;
	struct noise_cipher a, b;
	uint8_t m[256], pt[256], h[NOISE_HASH_LEN];
	size_t len, plen;

	keys_make(&p);
	/* before start */
	CHECK_INT(noise_handshake_init(&p.ini, IKPSK2, NOISE_INITIATOR, NULL, 0,
	    rnd, NULL), 0);
	CHECK_INT(noise_handshake_write(&p.ini, NULL, 0, m, sizeof m, &len),
	    ERR_STATE);
	CHECK_INT(noise_handshake_action(&p.ini), NOISE_ACTION_FAILED);
	noise_handshake_fini(&p.ini);

	/* the responder may not write first, the initiator not read first */
	ikpsk2_start(&p, p.psk, p.psk, p.rs_pub);
	CHECK_INT(noise_handshake_write(&p.resp, NULL, 0, m, sizeof m, &len),
	    ERR_STATE);
	CHECK_INT(noise_handshake_action(&p.resp), NOISE_ACTION_FAILED);
	CHECK_INT(noise_handshake_read(&p.ini, m, 100, pt, sizeof pt, &plen),
	    ERR_STATE);
	CHECK_INT(noise_handshake_action(&p.ini), NOISE_ACTION_FAILED);
	pair_fini(&p);

	/* split before the end, setters after start, writing twice */
	ikpsk2_start(&p, p.psk, p.psk, p.rs_pub);
	CHECK_INT(noise_handshake_set_psk(&p.resp, p.psk), ERR_STATE);
	CHECK_INT(noise_handshake_split(&p.ini, &a, &b), ERR_STATE);
	CHECK(!a.has_key && !b.has_key);
	pair_fini(&p);

	ikpsk2_start(&p, p.psk, p.psk, p.rs_pub);
	CHECK_INT(noise_handshake_write(&p.ini, NULL, 0, m, sizeof m, &len), 0);
	CHECK_INT(noise_handshake_write(&p.ini, NULL, 0, m, sizeof m, &len),
	    ERR_STATE);
	pair_fini(&p);

	/* after split, no more handshake messages */
	ikpsk2_start(&p, p.psk, p.psk, p.rs_pub);
	CHECK_INT(noise_handshake_write(&p.ini, NULL, 0, m, sizeof m, &len), 0);
	CHECK_INT(noise_handshake_read(&p.resp, m, len, pt, sizeof pt, &plen),
	    0);
	CHECK_INT(noise_handshake_write(&p.resp, NULL, 0, m, sizeof m, &len),
	    0);
	CHECK_INT(noise_handshake_split(&p.resp, &a, &b), 0);
	memcpy(h, noise_handshake_hash(&p.resp), NOISE_HASH_LEN);
	CHECK_INT(noise_handshake_write(&p.resp, NULL, 0, m, sizeof m, &len),
	    ERR_STATE);
	CHECK_MEM(noise_handshake_hash(&p.resp), h, NOISE_HASH_LEN);
	CHECK(!all_zero(h, sizeof h));
	noise_cipher_fini(&a);
	noise_cipher_fini(&b);
	pair_fini(&p);
}

static void
test_missing_keys(void)
{
	struct pair p;
	struct noise_handshake hs;

	keys_make(&p);
	/* IKpsk2 initiator: no remote static */
	CHECK_INT(noise_handshake_init(&hs, IKPSK2, NOISE_INITIATOR, NULL, 0,
	    rnd, NULL), 0);
	CHECK_INT(noise_handshake_set_static(&hs, p.is_priv), 0);
	CHECK_INT(noise_handshake_set_psk(&hs, p.psk), 0);
	CHECK_INT(noise_handshake_start(&hs), ERR_STATE);
	CHECK_INT(noise_handshake_action(&hs), NOISE_ACTION_FAILED);
	CHECK(all_zero(hs.s_priv, sizeof hs.s_priv));
	CHECK(all_zero(hs.psks, sizeof hs.psks));
	noise_handshake_fini(&hs);
	/* no static */
	CHECK_INT(noise_handshake_init(&hs, IKPSK2, NOISE_INITIATOR, NULL, 0,
	    rnd, NULL), 0);
	CHECK_INT(noise_handshake_set_remote_static(&hs, p.rs_pub), 0);
	CHECK_INT(noise_handshake_set_psk(&hs, p.psk), 0);
	CHECK_INT(noise_handshake_start(&hs), ERR_STATE);
	noise_handshake_fini(&hs);
	/* no PSK */
	CHECK_INT(noise_handshake_init(&hs, IKPSK2, NOISE_RESPONDER, NULL, 0,
	    rnd, NULL), 0);
	CHECK_INT(noise_handshake_set_static(&hs, p.rs_priv), 0);
	CHECK_INT(noise_handshake_start(&hs), ERR_STATE);
	noise_handshake_fini(&hs);
	/* one PSK too many */
	CHECK_INT(noise_handshake_init(&hs, IKPSK2, NOISE_RESPONDER, NULL, 0,
	    rnd, NULL), 0);
	CHECK_INT(noise_handshake_set_psk(&hs, p.psk), 0);
	CHECK_INT(noise_handshake_set_psk(&hs, p.psk), ERR_STATE);
	noise_handshake_fini(&hs);
	/* XX transmits the remote static: giving it beforehand is an error */
	CHECK_INT(noise_handshake_init(&hs, "Noise_XX_25519_ChaChaPoly_BLAKE2b",
	    NOISE_INITIATOR, NULL, 0, rnd, NULL), 0);
	CHECK_INT(noise_handshake_set_static(&hs, p.is_priv), 0);
	CHECK_INT(noise_handshake_set_remote_static(&hs, p.rs_pub), 0);
	CHECK_INT(noise_handshake_start(&hs), ERR_STATE);
	noise_handshake_fini(&hs);
	/* NN without a random source or a fixed ephemeral */
	CHECK_INT(noise_handshake_init(&hs, "Noise_NN_25519_ChaChaPoly_BLAKE2b",
	    NOISE_INITIATOR, NULL, 0, NULL, NULL), 0);
	CHECK_INT(noise_handshake_start(&hs), ERR_STATE);
	noise_handshake_fini(&hs);
	/* the same with all keys starts */
	CHECK_INT(noise_handshake_init(&hs, IKPSK2, NOISE_INITIATOR, NULL, 0,
	    rnd, NULL), 0);
	CHECK_INT(noise_handshake_set_static(&hs, p.is_priv), 0);
	CHECK_INT(noise_handshake_set_remote_static(&hs, p.rs_pub), 0);
	CHECK_INT(noise_handshake_set_psk(&hs, p.psk), 0);
	CHECK_INT(noise_handshake_start(&hs), 0);
	CHECK_INT(noise_handshake_action(&hs), NOISE_ACTION_WRITE);
	noise_handshake_fini(&hs);
}

static void
test_names(void)
{
	static const char *bad[] = {
	    "", "Noise", "Noise_", "Noise__25519_ChaChaPoly_BLAKE2b",
	    "Noise_XX_25519_AESGCM_BLAKE2b", "Noise_XX_25519_ChaChaPoly_SHA256",
	    "Noise_XX_448_ChaChaPoly_BLAKE2b", "Noise_XX_25519_ChaChaPoly_BLAKE2s",
	    "Noise_X1K_25519_ChaChaPoly_BLAKE2b",
	    "Noise_NK1_25519_ChaChaPoly_BLAKE2b",
	    "Noise_ZZ_25519_ChaChaPoly_BLAKE2b",
	    "Noise_XXfallback_25519_ChaChaPoly_BLAKE2b",
	    "Noise_XXpsk4_25519_ChaChaPoly_BLAKE2b",
	    "Noise_NNpsk3_25519_ChaChaPoly_BLAKE2b",
	    "Noise_Npsk2_25519_ChaChaPoly_BLAKE2b",
	    "Noise_XXpsk0+psk0_25519_ChaChaPoly_BLAKE2b",
	    "Noise_XXpsk0+_25519_ChaChaPoly_BLAKE2b",
	    "Noise_XXpsk_25519_ChaChaPoly_BLAKE2b",
	    "Noise_XXpsk10_25519_ChaChaPoly_BLAKE2b",
	    "Noise_XXhfs_25519_ChaChaPoly_BLAKE2b",
	    "NoisePSK_XX_25519_ChaChaPoly_BLAKE2b",
	    "Noise_xx_25519_ChaChaPoly_BLAKE2b",
	    "Noise_XX_25519_ChaChaPoly_BLAKE2b_",
	    "noise_XX_25519_ChaChaPoly_BLAKE2b",
	};
	static const char *good[] = {
	    "Noise_N_25519_ChaChaPoly_BLAKE2b",
	    "Noise_IX_25519_ChaChaPoly_BLAKE2b",
	    "Noise_NNpsk2_25519_ChaChaPoly_BLAKE2b",
	    "Noise_Npsk1_25519_ChaChaPoly_BLAKE2b",
	    "Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b",
	    "Noise_XXpsk3+psk0_25519_ChaChaPoly_BLAKE2b",
	    "Noise_XXpsk0+psk1+psk2+psk3_25519_ChaChaPoly_BLAKE2b",
	};
	struct noise_handshake hs;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int r = noise_handshake_init(&hs, bad[i], NOISE_INITIATOR, NULL,
		    0, rnd, NULL);
		if (r != ERR_INVALID)
			printf("  accepted or wrong error: \"%s\"\n", bad[i]);
		CHECK_INT(r, ERR_INVALID);
		CHECK_INT(noise_handshake_action(&hs), NOISE_ACTION_FAILED);
		CHECK_INT(noise_handshake_start(&hs), ERR_STATE);
		noise_handshake_fini(&hs);
	}
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		int r = noise_handshake_init(&hs, good[i], NOISE_RESPONDER,
		    NULL, 0, rnd, NULL);
		if (r != 0)
			printf("  refused: \"%s\"\n", good[i]);
		CHECK_INT(r, 0);
		noise_handshake_fini(&hs);
	}
	CHECK_INT(noise_handshake_init(&hs, "Noise_NN_25519_ChaChaPoly_BLAKE2b",
	    (enum noise_role)7, NULL, 0, rnd, NULL), ERR_INVALID);
	CHECK_INT(noise_handshake_init(&hs, "Noise_NN_25519_ChaChaPoly_BLAKE2b",
	    NOISE_INITIATOR, NULL, 3, rnd, NULL), ERR_INVALID);
}

/* The PSK tokens land where section 9 puts them. */
static void
test_psk_placement(void)
{
	struct noise_handshake hs;
	const struct noise_pattern *p = &hs.pattern;

	CHECK_INT(noise_handshake_init(&hs,
	    "Noise_XXpsk0+psk3_25519_ChaChaPoly_BLAKE2b", NOISE_INITIATOR,
	    NULL, 0, rnd, NULL), 0);
	CHECK_INT(p->npsks, 2);
	CHECK_INT(p->nmessages, 3);
	CHECK_INT(p->tokens[0][0], NOISE_TOK_PSK);
	CHECK_INT(p->tokens[0][1], NOISE_TOK_E);
	CHECK_INT(p->ntokens[0], 2);
	CHECK_INT(p->ntokens[1], 4);
	CHECK_INT(p->ntokens[2], 3);
	CHECK_INT(p->tokens[2][2], NOISE_TOK_PSK);
	noise_handshake_fini(&hs);

	CHECK_INT(noise_handshake_init(&hs,
	    "Noise_Kpsk0+psk1_25519_ChaChaPoly_BLAKE2b", NOISE_INITIATOR, NULL,
	    0, rnd, NULL), 0);
	CHECK(p->one_way);
	CHECK(p->pre_initiator_s && p->pre_responder_s);
	CHECK_INT(p->ntokens[0], 5);	/* psk e es ss psk */
	CHECK_INT(p->tokens[0][0], NOISE_TOK_PSK);
	CHECK_INT(p->tokens[0][4], NOISE_TOK_PSK);
	noise_handshake_fini(&hs);
}

/* A failed transport decryption leaves the nonce where it was, so the
 * genuine record still opens; ERR_SHORT and ERR_TOO_BIG change nothing. */
static void
test_transport_failure_keeps_nonce(void)
{
	struct noise_cipher tx, rx;
	uint8_t ct[64], pt[64];
	size_t clen, plen;
	static uint8_t big[NOISE_MAX_MSG + 16];

	memset(&tx, 0, sizeof tx);
	memset(tx.k, 0x42, sizeof tx.k);
	tx.has_key = true;
	rx = tx;
	CHECK_INT(noise_cipher_encrypt(&tx, NULL, 0, (const uint8_t *)"abc", 3,
	    ct, sizeof ct, &clen), 0);
	ct[0] ^= 1;
	CHECK_INT(noise_cipher_decrypt(&rx, NULL, 0, ct, clen, pt, sizeof pt,
	    &plen), ERR_CRYPTO);
	CHECK_INT(rx.n, 0);
	ct[0] ^= 1;
	CHECK_INT(noise_cipher_decrypt(&rx, NULL, 0, ct, clen, pt, 2, &plen),
	    ERR_SHORT);
	CHECK_INT(rx.n, 0);
	CHECK_INT(noise_cipher_decrypt(&rx, NULL, 0, ct, 15, pt, sizeof pt,
	    &plen), ERR_CRYPTO);
	CHECK_INT(noise_cipher_decrypt(&rx, NULL, 0, ct, clen, pt, sizeof pt,
	    &plen), 0);
	CHECK_INT(plen, 3);
	CHECK_MEM(pt, "abc", 3);
	CHECK_INT(rx.n, 1);
	/* replaying the same record fails: its nonce is past */
	CHECK_INT(noise_cipher_decrypt(&rx, NULL, 0, ct, clen, pt, sizeof pt,
	    &plen), ERR_CRYPTO);
	CHECK_INT(rx.n, 1);

	CHECK_INT(noise_cipher_encrypt(&tx, NULL, 0, pt, 3, ct, 18, &clen),
	    ERR_SHORT);
	CHECK_INT(noise_cipher_encrypt(&tx, NULL, 0, big, NOISE_MAX_MSG - 15,
	    big, sizeof big, &clen), ERR_TOO_BIG);
	CHECK_INT(noise_cipher_encrypt(&tx, NULL, 0, big, NOISE_MAX_MSG - 16,
	    big, sizeof big, &clen), 0);
	CHECK_INT(clen, NOISE_MAX_MSG);
	CHECK_INT(tx.n, 2);
	CHECK_INT(noise_cipher_decrypt(&rx, NULL, 0, big, NOISE_MAX_MSG + 1,
	    big, sizeof big, &plen), ERR_TOO_BIG);
}

/* n = 2^64-1 is never used: the state refuses to work. */
static void
test_nonce_limit(void)
{
	struct noise_cipher tx, rx;
	uint8_t ct[64], pt[64];
	size_t clen, plen;

	memset(&tx, 0, sizeof tx);
	memset(tx.k, 0x17, sizeof tx.k);
	tx.has_key = true;
	tx.n = UINT64_MAX - 1;
	rx = tx;
	CHECK_INT(noise_cipher_encrypt(&tx, NULL, 0, pt, 8, ct, sizeof ct,
	    &clen), 0);
	CHECK_INT(noise_cipher_decrypt(&rx, NULL, 0, ct, clen, pt, sizeof pt,
	    &plen), 0);
	CHECK(tx.n == UINT64_MAX);
	CHECK_INT(noise_cipher_encrypt(&tx, NULL, 0, pt, 8, ct, sizeof ct,
	    &clen), ERR_STATE);
	CHECK_INT(clen, 0);
	CHECK_INT(noise_cipher_decrypt(&rx, NULL, 0, ct, 24, pt, sizeof pt,
	    &plen), ERR_STATE);
	/* no key: no transport */
	memset(&tx, 0, sizeof tx);
	CHECK_INT(noise_cipher_encrypt(&tx, NULL, 0, pt, 8, ct, sizeof ct,
	    &clen), ERR_STATE);
}

/* Buffer-size errors during the handshake change nothing. */
static void
test_handshake_sizes(void)
{
	struct pair p;
	static uint8_t big[NOISE_MAX_MSG + 100], m[NOISE_MAX_MSG + 100];
	uint8_t pt[256];
	size_t len, plen, over = 32 + 48 + 16;

	keys_make(&p);
	ikpsk2_start(&p, p.psk, p.psk, p.rs_pub);
	CHECK_INT(noise_handshake_write(&p.ini, big, NOISE_MAX_MSG - over + 1,
	    m, sizeof m, &len), ERR_TOO_BIG);
	CHECK_INT(noise_handshake_write(&p.ini, big, 10, m, over + 9, &len),
	    ERR_SHORT);
	CHECK_INT(noise_handshake_action(&p.ini), NOISE_ACTION_WRITE);
	CHECK_INT(noise_handshake_write(&p.ini, big, NOISE_MAX_MSG - over, m,
	    sizeof m, &len), 0);
	CHECK_INT(len, NOISE_MAX_MSG);
	CHECK_INT(noise_handshake_read(&p.resp, m, len, pt, sizeof pt, &plen),
	    ERR_SHORT);
	CHECK_INT(noise_handshake_action(&p.resp), NOISE_ACTION_READ);
	CHECK_INT(noise_handshake_read(&p.resp, m, len, big, sizeof big,
	    &plen), 0);
	CHECK_INT(plen, NOISE_MAX_MSG - over);
	pair_fini(&p);
}

/* One-way pattern: only the initiator can send transport messages. */
static void
test_one_way(void)
{
	struct noise_handshake a, b;
	struct noise_cipher as, ar, bs, br;
	uint8_t rs_priv[32], rs_pub[32], m[128], pt[128];
	size_t len, plen;
	const char *name = "Noise_Npsk0_25519_ChaChaPoly_BLAKE2b";

	memset(rs_priv, 0x61, sizeof rs_priv);
	crypto_scalarmult_base(rs_pub, rs_priv);
	CHECK_INT(noise_handshake_init(&a, name, NOISE_INITIATOR, NULL, 0, rnd,
	    NULL), 0);
	CHECK_INT(noise_handshake_set_remote_static(&a, rs_pub), 0);
	CHECK_INT(noise_handshake_set_psk(&a, rs_pub), 0);
	CHECK_INT(noise_handshake_start(&a), 0);
	CHECK_INT(noise_handshake_init(&b, name, NOISE_RESPONDER, NULL, 0, rnd,
	    NULL), 0);
	CHECK_INT(noise_handshake_set_static(&b, rs_priv), 0);
	CHECK_INT(noise_handshake_set_psk(&b, rs_pub), 0);
	CHECK_INT(noise_handshake_start(&b), 0);
	CHECK_INT(noise_handshake_write(&a, (const uint8_t *)"isle", 4, m,
	    sizeof m, &len), 0);
	CHECK_INT(noise_handshake_read(&b, m, len, pt, sizeof pt, &plen), 0);
	CHECK_INT(noise_handshake_split(&a, &as, &ar), 0);
	CHECK_INT(noise_handshake_split(&b, &bs, &br), 0);
	CHECK(as.has_key && br.has_key && !ar.has_key && !bs.has_key);
	CHECK_INT(noise_cipher_encrypt(&bs, NULL, 0, pt, 4, m, sizeof m, &len),
	    ERR_STATE);
	CHECK_INT(noise_cipher_encrypt(&as, NULL, 0, pt, 4, m, sizeof m, &len),
	    0);
	CHECK_INT(noise_cipher_decrypt(&br, NULL, 0, m, len, pt, sizeof pt,
	    &plen), 0);
	noise_handshake_fini(&a);
	noise_handshake_fini(&b);
}

/* Runs one handshake of name to the end through memory; both sides hold a
 * static key (unused ones are ignored), remote statics only where the
 * pattern has them as pre-messages. Returns false on any difference. */
static bool
round_trip(const char *name)
{
	struct noise_handshake hs[2];
	struct noise_cipher cs[2][2];
	uint8_t priv[2][32], pub[2][32], psk[32], m[512], pt[512];
	size_t len, plen;
	bool ok = true;
	int steps = 0;

	for (int i = 0; i < 32; i++) {
		priv[0][i] = (uint8_t)(3 * i + 1);
		priv[1][i] = (uint8_t)(5 * i + 2);
		psk[i] = (uint8_t)(7 * i);
	}
	crypto_scalarmult_base(pub[0], priv[0]);
	crypto_scalarmult_base(pub[1], priv[1]);
	for (int side = 0; side < 2; side++) {
		const struct noise_pattern *p = &hs[side].pattern;
		bool peer_pre;

		if (noise_handshake_init(&hs[side], name, side == 0 ?
		    NOISE_INITIATOR : NOISE_RESPONDER, (const uint8_t *)"pr", 2,
		    rnd, NULL) != 0 ||
		    noise_handshake_set_static(&hs[side], priv[side]) != 0)
			return false;
		peer_pre = side == 0 ? p->pre_responder_s : p->pre_initiator_s;
		if (peer_pre && noise_handshake_set_remote_static(&hs[side],
		    pub[1 - side]) != 0)
			return false;
		for (int k = 0; k < p->npsks; k++)
			if (noise_handshake_set_psk(&hs[side], psk) != 0)
				return false;
		if (noise_handshake_start(&hs[side]) != 0)
			return false;
	}
	while (ok && noise_handshake_action(&hs[0]) != NOISE_ACTION_SPLIT) {
		int w = noise_handshake_action(&hs[0]) == NOISE_ACTION_WRITE ?
		    0 : 1;
		ok = noise_handshake_write(&hs[w], (const uint8_t *)"payload",
		    7, m, sizeof m, &len) == 0 &&
		    noise_handshake_read(&hs[1 - w], m, len, pt, sizeof pt,
		    &plen) == 0 && plen == 7 && memcmp(pt, "payload", 7) == 0;
		steps++;
	}
	ok = ok && steps == hs[0].pattern.nmessages &&
	    noise_handshake_action(&hs[1]) == NOISE_ACTION_SPLIT &&
	    noise_handshake_split(&hs[0], &cs[0][0], &cs[0][1]) == 0 &&
	    noise_handshake_split(&hs[1], &cs[1][0], &cs[1][1]) == 0 &&
	    memcmp(noise_handshake_hash(&hs[0]), noise_handshake_hash(&hs[1]),
	    NOISE_HASH_LEN) == 0;
	/* each side learned (or knew) the other's static where it has one */
	for (int side = 0; ok && side < 2; side++) {
		const uint8_t *rs = noise_handshake_remote_static(&hs[side]);
		if (rs != NULL && memcmp(rs, pub[1 - side], 32) != 0)
			ok = false;
	}
	if (ok) {
		ok = noise_cipher_encrypt(&cs[0][0], NULL, 0, m, 10, pt,
		    sizeof pt, &len) == 0 && noise_cipher_decrypt(&cs[1][1],
		    NULL, 0, pt, len, m, sizeof m, &plen) == 0;
		if (!hs[0].pattern.one_way)
			ok = ok && noise_cipher_encrypt(&cs[1][0], NULL, 0, m,
			    10, pt, sizeof pt, &len) == 0 &&
			    noise_cipher_decrypt(&cs[0][1], NULL, 0, pt, len,
			    m, sizeof m, &plen) == 0;
		for (int i = 0; i < 4; i++)
			noise_cipher_fini(&cs[i / 2][i % 2]);
	}
	noise_handshake_fini(&hs[0]);
	noise_handshake_fini(&hs[1]);
	return ok;
}

/* Every fundamental pattern with every combination of psk modifiers the
 * pattern allows runs to the end between two engines. */
static void
test_all_patterns_and_psks(void)
{
	static const char *pats[] = { "N", "K", "X", "NN", "NK", "NX", "XN",
	    "XK", "XX", "KN", "KK", "KX", "IN", "IK", "IX" };
	static const int nmsg[] = { 1, 1, 1, 2, 2, 2, 3, 3, 3, 2, 2, 2, 2, 2,
	    2 };
	int runs = 0;

	for (size_t i = 0; i < sizeof pats / sizeof pats[0]; i++) {
		for (unsigned mask = 0; mask < 1u << (nmsg[i] + 1); mask++) {
			char name[128], mods[64] = "";
			size_t o = 0;

			for (int k = 0; k <= nmsg[i]; k++)
				if (mask & 1u << k)
					o += (size_t)snprintf(mods + o,
					    sizeof mods - o, "%spsk%d",
					    o ? "+" : "", k);
			snprintf(name, sizeof name,
			    "Noise_%s%s_25519_ChaChaPoly_BLAKE2b", pats[i], mods);
			if (!round_trip(name)) {
				printf("  %s: round trip failed\n", name);
				CHECK(0);
			}
			runs++;
		}
	}
	CHECK_INT(runs, 3 * 4 + 9 * 8 + 3 * 16);
}

/* Random bytes of every length up to 200 never pass as message 1 or 2,
 * and fail with the right code. */
static void
test_random_input(void)
{
	uint8_t m[256], pt[256];
	size_t len, plen;
	int accepted = 0, want;

	for (size_t n = 0; n <= 200; n++) {
		struct pair p;

		keys_make(&p);
		ikpsk2_start(&p, p.psk, p.psk, p.rs_pub);
		randombytes_buf(m, n);
		/* shorter than e + encrypted s + tag (96) is a parse error */
		want = n < 96 ? ERR_PARSE : ERR_CRYPTO;
		if (noise_handshake_read(&p.resp, m, n, pt, sizeof pt,
		    &plen) != want)
			accepted++;
		CHECK_INT(noise_handshake_action(&p.resp), NOISE_ACTION_FAILED);
		CHECK_INT(noise_handshake_write(&p.ini, NULL, 0, m, sizeof m,
		    &len), 0);
		randombytes_buf(m, n);
		if (noise_handshake_read(&p.ini, m, n, pt, sizeof pt, &plen) ==
		    0)
			accepted++;
		CHECK_INT(noise_handshake_action(&p.ini), NOISE_ACTION_FAILED);
		pair_fini(&p);
	}
	CHECK_INT(accepted, 0);
}

static void
test_fini_wipes(void)
{
	struct pair p;
	uint8_t m[256];
	size_t len;

	keys_make(&p);
	ikpsk2_start(&p, p.psk, p.psk, p.rs_pub);
	CHECK_INT(noise_handshake_write(&p.ini, NULL, 0, m, sizeof m, &len), 0);
	noise_handshake_fini(&p.ini);
	CHECK(all_zero(p.ini.s_priv, sizeof p.ini.s_priv));
	CHECK(all_zero(p.ini.e_priv, sizeof p.ini.e_priv));
	CHECK(all_zero(p.ini.ck, sizeof p.ini.ck));
	CHECK(all_zero(p.ini.cs.k, sizeof p.ini.cs.k));
	CHECK(all_zero(p.ini.psks, sizeof p.ini.psks));
	CHECK_INT(noise_handshake_action(&p.ini), NOISE_ACTION_FAILED);
	noise_handshake_fini(&p.resp);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	RUN(test_hmac_python);
	RUN(test_hmac_not_keyed_blake2b);
	RUN(test_hkdf_python);
	RUN(test_ikpsk2_round_trip);
	RUN(test_deterministic);
	RUN(test_wrong_psk);
	RUN(test_wrong_remote_static);
	RUN(test_tampered_bytes);
	RUN(test_bad_lengths);
	RUN(test_out_of_turn);
	RUN(test_missing_keys);
	RUN(test_names);
	RUN(test_psk_placement);
	RUN(test_transport_failure_keeps_nonce);
	RUN(test_nonce_limit);
	RUN(test_handshake_sizes);
	RUN(test_one_way);
	RUN(test_all_patterns_and_psks);
	RUN(test_random_input);
	RUN(test_fini_wipes);
	return harness_summary();
}
