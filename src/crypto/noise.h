/*
 * noise.h: the Noise Protocol Framework, revision 34, as a pure engine.
 *
 * Suite: DH 25519, cipher ChaChaPoly, hash BLAKE2b (libsodium primitives;
 * HMAC per RFC 2104 over BLAKE2b, see hmac.h). Any fundamental pattern (N, K,
 * X, NN, NK, NX, XN, XK, XX, KN, KK, KX, IN, IK, IX) with any psk modifiers
 * is interpreted from the protocol name, e.g.
 * "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b".
 *
 * The engine does no I/O and allocates nothing: its state lives in the
 * caller's struct; the caller moves bytes in and out. Randomness (ephemeral
 * keys) comes from a caller-supplied function, so tests are deterministic.
 * An all-zero DH result (a low-order point) fails the handshake. Every
 * failure leaves the handshake in NOISE_ACTION_FAILED; secrets are wiped by
 * noise_handshake_fini() and on failure.
 *
 * Use:
 *   noise_handshake_init(&hs, name, role, prologue, len, rnd, ctx);
 *   noise_handshake_set_static / _set_remote_static / _set_psk as the
 *     pattern requires (and _set_ephemeral only in tests);
 *   noise_handshake_start(&hs);
 *   while action is WRITE or READ: noise_handshake_write / _read;
 *   when action is SPLIT: noise_handshake_split(&hs, &send, &recv);
 *   noise_handshake_fini(&hs).
 */
#ifndef PARLEY_CRYPTO_NOISE_H
#define PARLEY_CRYPTO_NOISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define NOISE_KEY_LEN 32	/* DH public/private keys, cipher keys, PSKs */
#define NOISE_HASH_LEN 64	/* BLAKE2b */
#define NOISE_TAG_LEN 16	/* ChaChaPoly authentication tag */
#define NOISE_MAX_MSG 65535	/* largest Noise message, as the spec */
#define NOISE_MAX_PSKS 4
#define NOISE_MAX_TOKENS 8	/* tokens per message pattern */
#define NOISE_MAX_MESSAGES 4	/* message patterns per handshake */

enum noise_role { NOISE_INITIATOR, NOISE_RESPONDER };

enum noise_action {
	NOISE_ACTION_WRITE,	/* call noise_handshake_write */
	NOISE_ACTION_READ,	/* call noise_handshake_read */
	NOISE_ACTION_SPLIT,	/* handshake done: call noise_handshake_split */
	NOISE_ACTION_FAILED,	/* unusable; fini it */
};

/* Fills buf with len random bytes. */
typedef void noise_random_fn(void *ctx, uint8_t *buf, size_t len);

/* A CipherState. n counts messages; at 2^64-1 the state refuses to work. */
struct noise_cipher {
	uint8_t k[NOISE_KEY_LEN];
	uint64_t n;
	bool has_key;
};

/* Pattern tokens, as parsed from the protocol name. */
enum noise_token {
	NOISE_TOK_E, NOISE_TOK_S, NOISE_TOK_EE, NOISE_TOK_ES, NOISE_TOK_SE,
	NOISE_TOK_SS, NOISE_TOK_PSK,
};

struct noise_pattern {
	uint8_t pre_initiator_s;	/* initiator's s is known beforehand */
	uint8_t pre_responder_s;	/* responder's s is known beforehand */
	uint8_t nmessages;
	uint8_t ntokens[NOISE_MAX_MESSAGES];
	uint8_t tokens[NOISE_MAX_MESSAGES][NOISE_MAX_TOKENS];
	uint8_t npsks;
	bool one_way;
};

/* The whole HandshakeState (with its SymmetricState), in the caller's
 * storage. Fields are private to noise.c. */
struct noise_handshake {
	struct noise_pattern pattern;
	enum noise_role role;
	enum noise_action action;
	uint8_t msg_index;
	struct noise_cipher cs;
	uint8_t ck[NOISE_HASH_LEN];
	uint8_t h[NOISE_HASH_LEN];
	uint8_t s_priv[NOISE_KEY_LEN], s_pub[NOISE_KEY_LEN];
	uint8_t e_priv[NOISE_KEY_LEN], e_pub[NOISE_KEY_LEN];
	uint8_t rs[NOISE_KEY_LEN], re[NOISE_KEY_LEN];
	uint8_t psks[NOISE_MAX_PSKS][NOISE_KEY_LEN];
	uint8_t psks_set;		/* bit i: psk i given */
	uint8_t npsks_used;
	bool has_s, has_e, has_rs, has_re, fixed_e;
	bool started;			/* noise_handshake_start succeeded */
	bool split_done;		/* noise_handshake_split was called */
	noise_random_fn *random;
	void *random_ctx;
	char name[128];
};

/*
 * Begins a handshake for protocol_name in role, mixing in the prologue.
 * ERR_INVALID for a name this engine does not implement (another suite, an
 * unknown or deferred pattern, a bad modifier). The pre-message keys and
 * PSKs are given next, then noise_handshake_start().
 */
int noise_handshake_init(struct noise_handshake *hs, const char *protocol_name,
    enum noise_role role, const uint8_t *prologue, size_t prologue_len,
    noise_random_fn *random, void *random_ctx) WUR;

/* This side's static key pair, from its private key. */
int noise_handshake_set_static(struct noise_handshake *hs,
    const uint8_t priv[NOISE_KEY_LEN]) WUR;
/* The peer's static public key, for patterns where it is pre-known. */
int noise_handshake_set_remote_static(struct noise_handshake *hs,
    const uint8_t pub[NOISE_KEY_LEN]) WUR;
/* Adds the next PSK, in the order the pattern uses them (psk0 first). */
int noise_handshake_set_psk(struct noise_handshake *hs,
    const uint8_t psk[NOISE_KEY_LEN]) WUR;
/* Tests only: use this ephemeral private key instead of a random one. */
int noise_handshake_set_ephemeral(struct noise_handshake *hs,
    const uint8_t priv[NOISE_KEY_LEN]) WUR;

/* Checks that every key the pattern needs is present, mixes the
 * pre-messages, and makes the handshake ready. ERR_STATE when a key is
 * missing. */
int noise_handshake_start(struct noise_handshake *hs) WUR;

enum noise_action noise_handshake_action(const struct noise_handshake *hs);

/* Writes the next handshake message carrying payload into out (cap bytes).
 * ERR_STATE when it is not our turn, ERR_SHORT when out is too small,
 * ERR_TOO_BIG when the message would exceed NOISE_MAX_MSG, ERR_CRYPTO on a
 * low-order DH result. ERR_SHORT and ERR_TOO_BIG change nothing (retry);
 * any other error leaves the handshake FAILED (docs/noise.md section 8). */
int noise_handshake_write(struct noise_handshake *hs, const uint8_t *payload,
    size_t payload_len, uint8_t *out, size_t cap, size_t *out_len) WUR;

/* Reads the next handshake message; its payload goes to payload (cap bytes).
 * ERR_PARSE for a wrong length, ERR_CRYPTO when decryption or DH fails; the
 * handshake is then FAILED. ERR_SHORT (payload too small) changes nothing. */
int noise_handshake_read(struct noise_handshake *hs, const uint8_t *msg,
    size_t msg_len, uint8_t *payload, size_t cap, size_t *payload_len) WUR;

/* After the last message: the transport cipher states for this side
 * (send is c1 for the initiator, c2 for the responder). For one-way
 * patterns the responder's send state has no key. */
int noise_handshake_split(struct noise_handshake *hs, struct noise_cipher *send,
    struct noise_cipher *recv) WUR;

/* The handshake hash h (NOISE_HASH_LEN bytes), for channel binding. */
const uint8_t *noise_handshake_hash(const struct noise_handshake *hs);
/* The peer's static public key once known, else NULL. */
const uint8_t *noise_handshake_remote_static(const struct noise_handshake *hs);

/* Wipes every secret in hs. */
void noise_handshake_fini(struct noise_handshake *hs);

/* Transport: ct = ENCRYPT(k, n++, ad, pt) || tag into out (cap bytes).
 * out may equal pt. ERR_SHORT, ERR_TOO_BIG over NOISE_MAX_MSG, ERR_STATE
 * when the nonce is exhausted or the state has no key. */
int noise_cipher_encrypt(struct noise_cipher *c, const uint8_t *ad,
    size_t ad_len, const uint8_t *pt, size_t pt_len, uint8_t *out,
    size_t cap, size_t *out_len) WUR;
/* Decrypts and authenticates; n advances only on success. ERR_CRYPTO. */
int noise_cipher_decrypt(struct noise_cipher *c, const uint8_t *ad,
    size_t ad_len, const uint8_t *ct, size_t ct_len, uint8_t *out,
    size_t cap, size_t *out_len) WUR;
/* Wipes the key. */
void noise_cipher_fini(struct noise_cipher *c);

#endif
