/*
 * sign_keys.h: a node's signing keys made in memory (no home), for the
 * unit tests of what is signed (envelopes, transcripts, exports,
 * checkpoints, anchors). Free them with keys_fini.
 */
#ifndef PARLEY_TESTS_SIGN_KEYS_H
#define PARLEY_TESTS_SIGN_KEYS_H

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/keys.h"

static inline void
keys_make(struct keys *k)
{
	memset(k, 0, sizeof *k);
	k->sign_sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
	if (k->sign_sk == NULL)
		abort();
	crypto_sign_keypair(k->id.sign_pub, k->sign_sk);
}

#endif
