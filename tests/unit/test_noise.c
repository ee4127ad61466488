/*
 * test_noise.c: the Noise engine driven through memory buffers, with
 * IKpsk2 (parley's pattern): a round trip with transport, a deterministic
 * run, wrong PSK and wrong remote static, tampered bytes, bad lengths,
 * state violations (out of turn, missing keys), handshake sizes, random
 * input and wiping. Names, PSK placement, nonces, one-way and every
 * pattern: test_noise_patterns.c; HMAC and HKDF: test_hmac.c. The public
 * test vectors run in tests/noise_vectors.c.
 */
#include "noise_util.h"

#define IKPSK2 "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b"

/* --- engine helpers -------------------------------------------------- */

struct pair {
	struct noise_handshake ini, resp;
	uint8_t is_priv[NOISE_KEY_LEN], is_pub[NOISE_KEY_LEN];
	uint8_t rs_priv[NOISE_KEY_LEN], rs_pub[NOISE_KEY_LEN];
	uint8_t psk[NOISE_KEY_LEN];
};

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
	RUN(test_ikpsk2_round_trip);
	RUN(test_deterministic);
	RUN(test_wrong_psk);
	RUN(test_wrong_remote_static);
	RUN(test_tampered_bytes);
	RUN(test_bad_lengths);
	RUN(test_out_of_turn);
	RUN(test_missing_keys);
	RUN(test_handshake_sizes);
	RUN(test_random_input);
	RUN(test_fini_wipes);
	return harness_summary();
}
