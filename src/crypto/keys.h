/*
 * keys.h: a node's long-term keys: the only holder of long-term secrets.
 *
 * A node has an X25519 static key pair (links, Noise "s") and an Ed25519
 * key pair (signatures). Secrets live in sodium_malloc'd storage, wiped by
 * keys_fini(). Key files are created mode 0600 and refused when group or
 * others may read them. The home layout and the file formats are in
 * docs/node-home.md.
 *
 * Every signature is over (context string || 0x00 || message), so that a
 * signature made for one kind of object can never pass for another.
 */
#ifndef PARLEY_CRYPTO_KEYS_H
#define PARLEY_CRYPTO_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "crypto/hash.h"

#define KEYS_NAME_MAX 32	/* node names: 1..32 of [a-z0-9-], not leading '-' */
#define KEYS_PUB_LEN 32
#define KEYS_SIG_LEN 64

/* Files in a node home (docs/node-home.md). */
#define KEYS_LINK_FILE "link.key"	/* X25519 pair, mode 0600 */
#define KEYS_SIGN_FILE "sign.key"	/* Ed25519 pair, mode 0600 */
#define KEYS_ID_FILE "identity.json"	/* public identity, mode 0644 */
#define KEYS_CHANNELS_DIR "channels"	/* installed agreements, 0700 */
#define KEYS_FILE_VERSION 1
#define KEYS_FILE_LEN 76		/* magic 8, version 4, secret 32, public 32 */
#define KEYS_PATH_MAX 4096

/* What a node may show anyone: its name and public keys. */
struct node_identity {
	char name[KEYS_NAME_MAX + 1];
	uint8_t link_pub[KEYS_PUB_LEN];	/* X25519 */
	uint8_t sign_pub[KEYS_PUB_LEN];	/* Ed25519 */
};

struct keys {
	struct node_identity id;
	uint8_t *link_priv;	/* sodium_malloc'd, 32 bytes */
	uint8_t *sign_sk;	/* sodium_malloc'd, 64 bytes (libsodium form) */
};

/* True when name is a valid node name. */
bool keys_name_is_valid(const char *name);

/* Creates a node in home (made mode 0700 if missing): fresh key pairs, key
 * files mode 0600, the public identity file. ERR_EXISTS if home already
 * holds a node, ERR_INVALID for a bad name. */
int keys_create(const char *home, const char *name) WUR;

/* Loads the node in home. ERR_PERMS if a key file is readable or writable
 * by group or others, ERR_NOT_FOUND if home holds no node, ERR_PARSE if a
 * file is damaged or the public keys do not match the secrets. */
int keys_load(struct keys *k, const char *home) WUR;

/* keys_load, and on failure writes the path of the file at fault (or the
 * home) into bad (cap bytes, may be NULL) so that a message can name it. */
int keys_load_detail(struct keys *k, const char *home, char *bad,
    size_t cap) WUR;

/* Wipes and frees the secrets; k may be zeroed or half-loaded. */
void keys_fini(struct keys *k);

/* sig = Ed25519(sign_sk, ctx || 0x00 || msg). */
int keys_sign(const struct keys *k, const char *ctx, const uint8_t *msg,
    size_t len, uint8_t sig[KEYS_SIG_LEN]) WUR;

/* 0 when sig is pub's signature of (ctx || 0x00 || msg); ERR_SIGNATURE. */
int keys_verify(const uint8_t pub[KEYS_PUB_LEN], const char *ctx,
    const uint8_t *msg, size_t len, const uint8_t sig[KEYS_SIG_LEN]) WUR;

/* The link private key, to hand to the Noise engine (which copies and later
 * wipes it). Borrowed; valid while k is loaded. */
const uint8_t *keys_link_private(const struct keys *k);

/* Public identity files ("parley id --export"), JSON, docs/node-home.md. */
int keys_identity_write(const char *path, const struct node_identity *id) WUR;
int keys_identity_read(const char *path, struct node_identity *id) WUR;

/* Fingerprints to read aloud (hash.h): of the link key, the signing key. */
void keys_fingerprint_link(const struct node_identity *id,
    char out[FINGERPRINT_STR_LEN]);
void keys_fingerprint_sign(const struct node_identity *id,
    char out[FINGERPRINT_STR_LEN]);

#endif
