/*
 * fixed_salt.h: a header builder (store_header_fn) like chain_store_build
 * whose salt is not random but a function of the message's place
 * (channel, sender, seq): for tests that build the same chain in two
 * stores and compare ids, as the builds before salted bodies let them.
 */
#ifndef PARLEY_TESTS_FIXED_SALT_H
#define PARLEY_TESTS_FIXED_SALT_H

#include <stdbool.h>
#include <string.h>

#include "crypto/hash.h"
#include "msg/chain.h"

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
