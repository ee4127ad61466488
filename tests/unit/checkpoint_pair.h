/*
 * checkpoint_pair.h: what the checkpoint exchange tests share
 * (test_checkpoint.c, test_checkpoint_held.c): two keys and a forger's, a
 * channel id, two stores in memory with the messages each party sends
 * copied across and receipted, a pair of engines over them, a count of
 * the co-signed checkpoints stored, and a program's start and end.
 */
#ifndef PARLEY_TESTS_CHECKPOINT_PAIR_H
#define PARLEY_TESTS_CHECKPOINT_PAIR_H

#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>

#include "../harness.h"
#include "sign_keys.h"
#include "../header_builders.h"
#include "msg/chain.h"
#include "msg/checkpoint.h"
#include "store/record.h"
#include "store/store_int.h"

static uint8_t channel[32];
static struct keys kp[2], mallory;
static uint8_t pub[2][32];

struct copy {
	struct store *to;
	const struct keys *k;
	int r;
};

/* Stores one of the sender's messages at the receiver, with its head. */
static inline int
copy_one(void *arg, struct store_msg *m)
{
	struct copy *c = arg;
	struct envelope_header h;
	struct store_in in;
	struct chain_head head;
	struct store_head sh;
	size_t added;

	if ((c->r = envelope_header_decode(&h, m->header,
	    m->header_len)) != 0)
		return c->r;
	chain_store_in(&in, &h, m->header, m->header_len,
	    m->salted ? m->body_salt : NULL, m->body, m->body_len, m->id);
	if ((c->r = chain_head_over(&head, m, c->k)) != 0)
		return c->r;
	chain_head_to_store(&sh, &head);
	c->r = store_received_put(c->to, channel, m->sender, &in, 1, &sh,
	    1000, &added);
	return c->r;
}

/* Party i sends n messages (text starts with tag) in own, received in
 * peer (may be NULL). */
static inline void
send_n(struct store *own, struct store *peer, uint8_t i, int n,
    const char *tag)
{
	uint64_t first, last, seq;
	uint8_t id[32];
	int64_t qid;
	char body[64];

	CHECK_INT(store_highest(own, channel, i, &seq, id), 0);
	if (n == 0)
		return;
	for (int k = 0; k < n; k++) {
		int len = snprintf(body, sizeof body, "%s %d", tag, k);
		CHECK_INT(chain_queue(own, channel, i, 3, 0, ENVELOPE_TEXT,
		    (const uint8_t *)body, (size_t)len, 1000, &qid), 0);
	}
	/* salts by place: two stores sending the same text at the same
	 * place hold the same message (open_forked's common start) */
	CHECK_INT(store_assign_batch(own, channel, i, (size_t)n, 1000,
	    fixed_salt_build, NULL, &first, &last), 0);
	if (peer != NULL) {
		struct copy c = { peer, &kp[i], 0 };
		CHECK_INT(store_after(own, channel, i, seq, SIZE_MAX, copy_one,
		    &c), 0);
	}
}

/* receiver signs that it holds the other's chain (as in store from) to
 * its highest, stored into to. */
static inline void
receipt(struct store *from, struct store *to, uint8_t receiver)
{
	struct chain_receipt rc;
	struct store_receipt sr;
	size_t newly;

	memset(&rc, 0, sizeof rc);
	memcpy(rc.channel, channel, 32);
	rc.receiver = receiver;
	CHECK_INT(store_highest(from, channel, (uint8_t)(1 - receiver),
	    &rc.seq, rc.id), 0);
	rc.time_ms = 2000;
	CHECK_INT(chain_receipt_sign(&rc, &kp[receiver]), 0);
	chain_receipt_to_store(&sr, &rc);
	CHECK_INT(store_receipt_put(to, &sr, 2000, &newly), 0);
}

static inline void
open2(struct store **a, struct store **b)
{
	CHECK_INT(store_open(a, ":memory:"), 0);
	CHECK_INT(store_open(b, ":memory:"), 0);
}

/* North's engine ea over a, south's eb over b (keys kp[0], kp[1]): a
 * checkpoint every message, 60 s apart at most, no base. */
static inline void
engines_init(struct checkpoint_engine *ea, struct store *a,
    struct checkpoint_engine *eb, struct store *b)
{
	checkpoint_init(ea, a, &kp[0], channel, 0,
	    (const uint8_t (*)[32])pub, 1, 60000, 0);
	checkpoint_init(eb, b, &kp[1], channel, 1,
	    (const uint8_t (*)[32])pub, 1, 60000, 0);
}

/* north sends n0, south n1, both receipted. */
static inline void
traffic(struct store *a, struct store *b, int n0, int n1)
{
	send_n(a, b, 0, n0, "north");
	send_n(b, a, 1, n1, "south");
	receipt(b, a, 1);
	receipt(a, b, 0);
}

static inline int
count_one(void *arg, const uint8_t *p, size_t n)
{
	struct transcript_checkpoint cp;
	int *count = arg;

	CHECK_INT(transcript_checkpoint_decode(&cp, p, n), 0);
	CHECK(cp.is_signed[0] && cp.is_signed[1]);
	(*count)++;
	return 0;
}

static inline int
count_stored(struct store *s)
{
	int count = 0;

	CHECK_INT(store_checkpoints_each(s, channel, count_one, &count), 0);
	return count;
}

/* Runs sql on the store's connection (the triggers' test). */
static inline int
store_kept_sql(struct store *s, const char *sql)
{
	return sqlite3_exec(s->db, sql, NULL, NULL, NULL);
}

/* A test program's start: the keys of north, south and a forger, and the
 * channel id; false when libsodium cannot start. */
static inline bool
checkpoint_tests_begin(void)
{
	if (sodium_init() < 0)
		return false;
	keys_make(&kp[0]);
	keys_make(&kp[1]);
	keys_make(&mallory);
	memcpy(pub[0], kp[0].id.sign_pub, 32);
	memcpy(pub[1], kp[1].id.sign_pub, 32);
	memset(channel, 0x5c, sizeof channel);
	return true;
}

/* A test program's end: the keys freed; the summary's exit code. */
static inline int
checkpoint_tests_end(void)
{
	keys_fini(&kp[0]);
	keys_fini(&kp[1]);
	keys_fini(&mallory);
	return harness_summary();
}

#endif
