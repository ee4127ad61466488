/*
 * agreement.h: channel agreements: the doubly signed document that sets up
 * a channel between two nodes (docs/agreement.md, CDDL there).
 *
 * The body is deterministic CBOR (wire.h); the channel id is
 * hash_ctx(32, "parley channel id v1", body). Each party signs the body
 * with keys_sign() under the context "parley agreement v1". The file holds
 * the PSK: it is written mode 0600 and travels out of band.
 *
 * A decoded agreement has been checked for form (canonical CBOR, field
 * ranges) and every signature present verifies; whether it is complete,
 * current and ours is agreement_check()'s question.
 */
#ifndef PARLEY_CRYPTO_AGREEMENT_H
#define PARLEY_CRYPTO_AGREEMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "crypto/hash.h"
#include "crypto/keys.h"

#define AGREEMENT_VERSION 1
#define AGREEMENT_MAX_PATHS 8
#define AGREEMENT_ADDR_MAX 63	/* "host:port" or "[v6]:port" */
#define AGREEMENT_LANG_MAX 15	/* BCP 47 tag, e.g. "en", "fr" */
#define AGREEMENT_FILE_MAX 8192
#define AGREEMENT_PSK_LEN 32
#define AGREEMENT_ID_LEN 32

/* Field ranges (docs/agreement.md). */
#define AGREEMENT_HEARTBEAT_MAX 3600		/* seconds */
#define AGREEMENT_TEST_INTERVAL_MAX 604800	/* one week */
#define AGREEMENT_DEADLINE_MAX 2592000		/* 30 days */
#define AGREEMENT_TIME_MAX 253402300799ull	/* 9999-12-31T23:59:59Z */

/* Index into ack_deadline_s. */
enum agreement_precedence {
	AGREEMENT_FLASH, AGREEMENT_IMMEDIATE, AGREEMENT_PRIORITY,
	AGREEMENT_ROUTINE, AGREEMENT_NPRECEDENCE
};

struct agreement_party {
	char name[KEYS_NAME_MAX + 1];
	uint8_t link_pub[KEYS_PUB_LEN];
	uint8_t sign_pub[KEYS_PUB_LEN];
	char language[AGREEMENT_LANG_MAX + 1];
	char paths[AGREEMENT_MAX_PATHS][AGREEMENT_ADDR_MAX + 1];
};

struct agreement {
	/* The signed body. */
	struct agreement_party party[2];	/* [0] is the drafter */
	uint8_t npaths;				/* same count on both sides */
	uint8_t psk[AGREEMENT_PSK_LEN];
	uint64_t created;			/* unix seconds */
	uint64_t not_before, not_after;		/* unix seconds, inclusive */
	uint32_t heartbeat_s;			/* link heartbeat interval */
	uint32_t test_interval_s;		/* test message interval */
	uint32_t ack_deadline_s[AGREEMENT_NPRECEDENCE];
	/* Signatures over the body, by party[i].sign_pub. */
	bool is_signed[2];
	uint8_t sig[2][KEYS_SIG_LEN];
	/* Derived: hash of the body. */
	uint8_t id[AGREEMENT_ID_LEN];
};

/* What agreement_decode_detail and agreement_validate found wrong: the
 * field at fault (a static string, "" when none) and, for ERR_SIGNATURE
 * or a party's field, the party index (-1 when none). */
struct agreement_why {
	const char *field;
	int party;
};

/* Defaults for a draft: heartbeat 10 s, test 3600 s, deadlines FLASH 600,
 * IMMEDIATE 1800, PRIORITY 10800, ROUTINE 21600 s. */
void agreement_defaults(struct agreement *a);

/* Validates the fields, encodes the body and sets a->id. */
int agreement_finalize(struct agreement *a) WUR;

/* ERR_INVALID when a field is out of range (docs/agreement.md); why may be
 * NULL. */
int agreement_validate(const struct agreement *a, struct agreement_why *why)
    WUR;

/* True when s is "host:port" or "[v6]:port", port 1..65535 without leading
 * zeros, host of [A-Za-z0-9.-] (or hex digits, ':' and '.' in brackets),
 * at most AGREEMENT_ADDR_MAX characters. */
bool agreement_path_is_valid(const char *s);

/* Splits a valid path into host (brackets removed; cap bytes with NUL) and
 * port. ERR_INVALID when s is not valid, ERR_SHORT when host does not fit. */
int agreement_path_split(const char *s, char *host, size_t cap,
    uint16_t *port) WUR;

/* True when s is a language tag: 2..15 of [A-Za-z0-9-], starting with a
 * letter. */
bool agreement_language_is_valid(const char *s);

/* Adds the signature of the party whose signing key is k's.
 * ERR_FOREIGN when k is neither party. */
int agreement_sign(struct agreement *a, const struct keys *k) WUR;

/* Encodes the file (body and signatures) into out. */
int agreement_encode(const struct agreement *a, uint8_t *out, size_t cap,
    size_t *len) WUR;
/* Decodes a file: ERR_PARSE (malformed or truncated), ERR_NONCANONICAL,
 * ERR_VERSION, ERR_INVALID (a field out of range), ERR_SIGNATURE (a
 * signature present does not verify: tampered). Sets a->id. */
int agreement_decode(struct agreement *a, const uint8_t *p, size_t n) WUR;
/* agreement_decode, telling in why (may be NULL) which field or whose
 * signature is at fault. On ERR_SIGNATURE the body fields of a are filled
 * (so that the message can name the party) but must not be used. */
int agreement_decode_detail(struct agreement *a, const uint8_t *p, size_t n,
    struct agreement_why *why) WUR;

/* Checks that a may be used by node self at time now: ERR_UNSIGNED (a
 * signature is missing), ERR_EXPIRED, ERR_NOT_YET_VALID, ERR_FOREIGN (self
 * is not a party). Sets *self_index to self's party index. */
int agreement_check(const struct agreement *a, const struct node_identity *self,
    uint64_t now, int *self_index) WUR;

/* File I/O (mode 0600, atomic). */
int agreement_read_file(struct agreement *a, const char *path) WUR;
int agreement_read_file_detail(struct agreement *a, const char *path,
    struct agreement_why *why) WUR;
int agreement_write_file(const struct agreement *a, const char *path,
    int replace) WUR;

/* Installed channels live in HOME/channels/<hex id>.agreement.
 * agreement_install writes a checked agreement there (ERR_EXISTS if it is
 * already installed); agreement_load_all reads every installed agreement
 * (at most cap) into out, in id order. */
int agreement_install(const char *home, const struct agreement *a) WUR;
int agreement_load_all(const char *home, struct agreement *out, size_t cap,
    size_t *n) WUR;

/* The fingerprint both officers read aloud: hash_fingerprint under
 * "parley channel fingerprint v1" of the channel id. */
void agreement_fingerprint(const struct agreement *a,
    char out[FINGERPRINT_STR_LEN]);

/* Which party of a signs with sign_pub: 0 or 1, -1 when neither (a node
 * that is not a party of this channel). */
int agreement_party_of(const struct agreement *a,
    const uint8_t sign_pub[KEYS_PUB_LEN]);

/* Wipes the PSK. */
void agreement_wipe(struct agreement *a);

#endif
