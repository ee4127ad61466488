/*
 * handshake.h: the link handshake's messages (docs/link.md, "Handshake"):
 * Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b, wrapped in a small header that
 * names the channel and the path, and closed by mac1, a keyed BLAKE2b of
 * everything before it under a key derived from the channel's PSK, which a
 * listener checks before any Diffie-Hellman.
 *
 * Pure: no I/O, no allocation; the Noise state lives in the caller's
 * struct noise_handshake. Timestamps are TAI64N-like: 8 bytes big-endian
 * 2^62 + unix seconds, 4 bytes big-endian nanoseconds.
 *
 * Initiation (LINK_INIT_LEN bytes)       Response (LINK_RESP_LEN bytes)
 *   0  1  type 1                           0  1  type 2
 *   1  1  version 1                        1  1  version 1
 *   2  1  path index                       2  1  path index
 *   3  1  reserved, 0                      3  1  reserved, 0
 *   4 32  channel id                       4 48  Noise message 2 (e, tag)
 *  36 108 Noise message 1                 52 16  mac1
 * 144 16  mac1
 */
#ifndef PARLEY_LINK_HANDSHAKE_H
#define PARLEY_LINK_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "crypto/noise.h"

#define LINK_PROTOCOL_NAME "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b"
/* Bump with any change to docs/link.md's formats. */
#define LINK_VERSION 1
#define LINK_PROLOGUE "parley link v1"
#define LINK_MAC1_CTX "parley mac1 key v1"

#define LINK_TYPE_INIT 1
#define LINK_TYPE_RESP 2
#define LINK_TYPE_DATA 4

#define LINK_ID_LEN 32
#define LINK_TS_LEN 12
#define LINK_MAC_LEN 16
#define LINK_HDR_LEN 4
#define LINK_INIT_NOISE_LEN (32 + 32 + 16 + LINK_TS_LEN + 16)	/* 108 */
#define LINK_INIT_LEN (LINK_HDR_LEN + LINK_ID_LEN + LINK_INIT_NOISE_LEN + \
    LINK_MAC_LEN)						/* 160 */
#define LINK_RESP_NOISE_LEN (32 + 16)				/* 48 */
#define LINK_RESP_LEN (LINK_HDR_LEN + LINK_RESP_NOISE_LEN + LINK_MAC_LEN) /* 68 */
#define LINK_MAX_PATHS 8

_Static_assert(LINK_INIT_NOISE_LEN == 108, "initiation size");
_Static_assert(LINK_ID_LEN == 32, "channel id is 32 bytes");

/* What one side brings to a handshake on one path of one channel. */
struct link_hs_params {
	uint8_t channel_id[LINK_ID_LEN];
	uint8_t path;
	const uint8_t *local_priv;		/* our X25519 private key */
	const uint8_t *peer_pub;		/* the channel's peer key */
	const uint8_t *psk;			/* the channel's PSK */
	const uint8_t *mac1_key;		/* link_mac1_key(psk) */
	noise_random_fn *random;
	void *random_ctx;
};

/* key = hash_ctx(32, LINK_MAC1_CTX, psk). */
void link_mac1_key(uint8_t key[32], const uint8_t psk[32]);

/*
 * Reads an initiation's header: ERR_PARSE unless len is LINK_INIT_LEN and
 * the type is 1, ERR_VERSION for another version. Sets the channel id and
 * the path. Costs no cryptography.
 */
int link_init_peek(const uint8_t *msg, size_t len,
    uint8_t channel_id[LINK_ID_LEN], uint8_t *path) WUR;
/* 0 when the last LINK_MAC_LEN bytes of msg are mac1 of the rest under
 * key; ERR_MAC otherwise. One keyed hash. */
int link_mac1_check(const uint8_t *msg, size_t len,
    const uint8_t key[32]) WUR;

/* Initiator: starts hs and writes the initiation carrying ts to out. */
int link_hs_write_init(struct noise_handshake *hs,
    const struct link_hs_params *p, const uint8_t ts[LINK_TS_LEN],
    uint8_t out[LINK_INIT_LEN]) WUR;
/*
 * Initiator: reads the response (checks header and mac1 first) and splits.
 * ERR_PARSE, ERR_VERSION, ERR_MAC, ERR_CRYPTO. hs is wiped either way.
 */
int link_hs_read_resp(struct noise_handshake *hs,
    const struct link_hs_params *p, const uint8_t *msg, size_t len,
    struct noise_cipher *send, struct noise_cipher *recv) WUR;

/*
 * Responder: reads an initiation whose header and mac1 were checked. Sets
 * ts to the initiator's timestamp. ERR_CRYPTO when Noise fails, ERR_FOREIGN
 * when the initiator's static key is not the channel's peer key. On error
 * hs is wiped.
 */
int link_hs_read_init(struct noise_handshake *hs,
    const struct link_hs_params *p, const uint8_t *msg, size_t len,
    uint8_t ts[LINK_TS_LEN]) WUR;
/* Responder: writes the response and splits; hs is wiped either way. */
int link_hs_write_resp(struct noise_handshake *hs,
    const struct link_hs_params *p, uint8_t out[LINK_RESP_LEN],
    struct noise_cipher *send, struct noise_cipher *recv) WUR;

/* The timestamp for unix time now_ns. */
void link_ts_encode(uint8_t out[LINK_TS_LEN], uint64_t now_ns);
/* The next timestamp to send: now, or last + 1 ns when the clock has not
 * passed last (a clock stepped back never sends an older one). out may
 * be last. */
void link_ts_next(uint8_t out[LINK_TS_LEN], const uint8_t last[LINK_TS_LEN],
    uint64_t now_ns);
/* <0, 0, >0 as a is older than, equal to, newer than b. */
int link_ts_cmp(const uint8_t a[LINK_TS_LEN], const uint8_t b[LINK_TS_LEN]);

#endif
