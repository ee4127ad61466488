/*
 * anchor_pair.h: what the audit anchor tests share (test_anchor.c,
 * test_anchor_back.c): two keys and a forger's, two channel ids, and a
 * pair of engines over two stores in memory (ours asks, the peer
 * answers), with small readers of the store.
 */
#ifndef PARLEY_TESTS_ANCHOR_PAIR_H
#define PARLEY_TESTS_ANCHOR_PAIR_H

#include <sodium.h>
#include <sqlite3.h>
#include <stdlib.h>

#include "../harness.h"
#include "sign_keys.h"
#include "base/hex.h"
#include "crypto/agreement.h"
#include "msg/anchor.h"
#include "msg/delivery.h"
#include "store/schema.h"
#include "store/store_int.h"

static uint8_t channel[32], other[32];
static struct keys kp[2], mallory;

/* Two nodes: engine a (ours) asks, engine b (the peer) answers. */
struct pair {
	struct store *s[2];
	struct anchor_engine e[2];
	uint8_t buf[ANCHOR_REC_MAX], ans[ANCHOR_REC_MAX];
	size_t len, alen;
};

static inline void
pair_open(struct pair *p, uint64_t interval_ms)
{
	memset(p, 0, sizeof *p);
	CHECK_INT(store_open(&p->s[0], ":memory:"), 0);
	CHECK_INT(store_open(&p->s[1], ":memory:"), 0);
	anchor_init(&p->e[0], p->s[0], &kp[0], channel, kp[1].id.sign_pub,
	    interval_ms, 1000, 1000);
	anchor_init(&p->e[1], p->s[1], &kp[1], channel, kp[0].id.sign_pub,
	    interval_ms, 1000, 1000);
}

static inline void
pair_close(struct pair *p)
{
	store_close(p->s[0]);
	store_close(p->s[1]);
}

static inline void
log_n(struct store *s, int n)
{
	for (int i = 0; i < n; i++)
		CHECK_INT(audit_append(s, 60001, "Maj. Aster", "send",
		    "to south", 2000u + (uint64_t)i), 0);
}

static inline uint64_t
given(struct store *s)
{
	uint64_t c = 99;

	CHECK_INT(store_anchor_given_count(s, channel, &c), 0);
	return c;
}

static inline uint64_t
last(struct store *s)
{
	uint64_t n = 99;

	CHECK_INT(store_anchor_last(s, channel, &n), 0);
	return n;
}

/* The keys and channel ids every test uses. */
static inline void
anchor_pair_setup(void)
{
	keys_make(&kp[0]);
	keys_make(&kp[1]);
	keys_make(&mallory);
	memset(channel, 0x5c, sizeof channel);
	memset(other, 0x6d, sizeof other);
}

#endif
