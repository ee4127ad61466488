/*
 * noise_util.h: what test_noise.c and test_noise_patterns.c share: the
 * random source the Noise engine is given (libsodium's).
 */
#ifndef PARLEY_TESTS_NOISE_UTIL_H
#define PARLEY_TESTS_NOISE_UTIL_H

#include <sodium.h>

#include "../harness.h"
#include "crypto/noise.h"

static inline void
rnd(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	randombytes_buf(buf, len);
}

#endif
