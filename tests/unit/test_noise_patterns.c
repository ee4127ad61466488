/*
 * test_noise_patterns.c: the Noise engine driven through memory buffers,
 * beyond IKpsk2 (test_noise.c): protocol name parsing, PSK placement, a
 * transport failure that keeps the nonce, the nonce limit, one-way
 * patterns, and a round trip of every fundamental pattern with every
 * allowed combination of psk modifiers.
 */
#include "noise_util.h"

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

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	RUN(test_names);
	RUN(test_psk_placement);
	RUN(test_transport_failure_keeps_nonce);
	RUN(test_nonce_limit);
	RUN(test_one_way);
	RUN(test_all_patterns_and_psks);
	return harness_summary();
}
