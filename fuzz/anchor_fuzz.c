/*
 * anchor_fuzz.c: libFuzzer target for the audit anchor record a peer sends
 * (msg/anchor.h, ANCHOR_REC): anchor_rec_decode, whose accepted input must
 * re-encode to exactly itself, then anchor_on_record on an engine over a
 * store in memory that has an ask in flight (so that an answer is checked
 * against it and the peer's key, and an ask is signed and its evidence
 * stored, after its held is checked against our own key). Nothing may
 * crash; a refusal must leave the ask in flight and store no anchor and
 * no evidence.
 *
 *   make fuzz (seeds: fuzz/corpus/anchor_fuzz/, version 2: an ask; an ask
 *   holding an anchor signed by our key below, and one whose signature is
 *   altered; the answer to the ask in flight signed by the peer's key
 *   below, with claimed 0 and 900; a non-canonical ask)
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "msg/anchor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Fixed keys, so that a seed can hold a valid answer: the peer's from
 * 32 bytes of 0x01, ours from 0x02; the channel 32 bytes of 0x5c, the
 * ask in flight anchor 32 x 0x33 at time 1000. */
static struct keys ours;
static uint8_t peer_pub[KEYS_PUB_LEN], channel[ANCHOR_CHANNEL_LEN];
static struct store *s;
/* near the seed ask's time, so that the answerer's clock check passes
 * for it (each run has a fresh engine: a fresh token bucket) */
static const uint64_t now = 0x19ae0000000ULL + 1000;

static void
setup(void)
{
	uint8_t seed[crypto_sign_SEEDBYTES], sk[crypto_sign_SECRETKEYBYTES];

	if (sodium_init() < 0 || store_open(&s, ":memory:") != 0)
		abort();
	memset(seed, 0x01, sizeof seed);
	crypto_sign_seed_keypair(peer_pub, sk, seed);
	sodium_memzero(sk, sizeof sk);
	memset(&ours, 0, sizeof ours);
	if ((ours.sign_sk = sodium_malloc(crypto_sign_SECRETKEYBYTES)) == NULL)
		abort();
	memset(seed, 0x02, sizeof seed);
	crypto_sign_seed_keypair(ours.id.sign_pub, ours.sign_sk, seed);
	memset(channel, 0x5c, sizeof channel);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct anchor_engine e;
	struct anchor_rec a;
	uint8_t out[ANCHOR_REC_MAX];
	size_t len;
	uint64_t stored = 0, given = 0, given_after = 0;
	int r;

	if (!ready) {
		setup();
		ready = 1;
	}
	if (anchor_rec_decode(&a, data, size) == 0 &&
	    (anchor_rec_encode(&a, out, sizeof out, &len) != 0 ||
	    len != size || memcmp(out, data, size) != 0))
		abort();
	anchor_init(&e, s, &ours, channel, peer_pub, 1000, now, now);
	e.pending = true;
	e.ask.kind = ANCHOR_ASK;
	memset(e.ask.anchor, 0x33, ANCHOR_LEN);
	e.ask.time_ms = 1000;
	e.ask_n = e.last_n + 1;
	if (store_anchor_given_count(s, channel, &given) != 0)
		abort();
	r = anchor_on_record(&e, data, size, now, now, out, sizeof out, &len);
	if (store_anchor_last(s, channel, &stored) != 0 ||
	    store_anchor_given_count(s, channel, &given_after) != 0)
		abort();
	if (r != 0 && (!e.pending || stored != e.last_n || len != 0 ||
	    e.why[0] == '\0' || given_after != given))
		abort();
	if (r == 0 && len > 0 && anchor_rec_decode(&a, out, len) != 0)
		abort();
	return 0;
}
