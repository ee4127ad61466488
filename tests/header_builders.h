/*
 * header_builders.h: header builders (store_header_fn, the signature of
 * chain_store_build) for tests that need another salt than a random one:
 *
 *   v1_store_build     the builds before salted bodies: envelope version 1,
 *                      body_hash = H("parley body v1", body), no salt (for
 *                      stores, rows or records as those builds made them);
 *   fixed_salt_build   version 2 with a salt that is a function of the
 *                      message's place (channel, sender, seq), for tests
 *                      that build one chain in two stores and compare ids.
 */
#ifndef PARLEY_TESTS_HEADER_BUILDERS_H
#define PARLEY_TESTS_HEADER_BUILDERS_H

#include <stdbool.h>
#include <string.h>

#include "crypto/hash.h"
#include "msg/chain.h"

static inline int
v1_store_build(void *arg, const struct store_draft *d, uint8_t *hdr,
    size_t cap, size_t *len, uint8_t id[STORE_ID_LEN],
    uint8_t salt[STORE_SALT_LEN], bool *salted)
{
	struct envelope_header h;
	int r;

	(void)arg;
	chain_draft_header(&h, d);
	h.version = 1;
	envelope_body_hash(d->body, d->body_len, h.body_hash);
	if ((r = envelope_header_encode(&h, hdr, cap, len)) != 0)
		return r;
	envelope_header_id(hdr, *len, id);
	memset(salt, 0, STORE_SALT_LEN);
	*salted = false;
	return 0;
}

static inline int
fixed_salt_build(void *arg, const struct store_draft *d, uint8_t *hdr,
    size_t cap, size_t *len, uint8_t id[STORE_ID_LEN],
    uint8_t salt[STORE_SALT_LEN], bool *salted)
{
	uint8_t place[STORE_ID_LEN + 9];
	int r;

	(void)arg;
	memcpy(place, d->channel, STORE_ID_LEN);
	place[STORE_ID_LEN] = d->sender;
	for (int i = 0; i < 8; i++)
		place[STORE_ID_LEN + 1 + i] = (uint8_t)(d->seq >> (8 * i));
	hash_ctx(salt, STORE_SALT_LEN, "parley test salt", place,
	    sizeof place);
	if ((r = chain_header_build(d, salt, hdr, cap, len, id)) != 0)
		return r;
	*salted = true;
	return 0;
}

#endif
