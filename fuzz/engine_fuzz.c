/*
 * engine_fuzz.c: libFuzzer target for the delivery engine's receiving side
 * (msg/delivery.h, docs/delivery.md): a sequence of the peer's records fed
 * to delivery_record on a channel whose two paths are up, over an in-memory
 * store. This reaches what delivery_fuzz cannot: the SYNC / MSG / MSG_PART
 * decoders, the assembly of a body from parts, the verifier's unsigned run
 * (MSG needs no signature until its HEAD), repeats, the answer to a
 * RECOVER from the store, the recovery of our own chain (OWN, OWN_HEAD:
 * recover_on_record) that a receipt past our chain starts, and a
 * checkpoint engine's handling of the peer's CHECKPOINT records
 * (checkpoint_on_record).
 *
 * Input: records, each type (1 byte, picks one of the 9 record types),
 * path (1 byte, mod 3: path 2 does not exist), length (2 bytes, big-endian,
 * cut to what is left), body. Each input meets a fresh engine over the
 * same store. The peer's signing key is a fixed one (PEER_SEED) so that
 * seeds can hold receipts it signed (seq 0: a SYNC is taken; past 0: the
 * recovery starts); no seed holds a head or a checkpoint it signed, and
 * ours is made at start (nobody holds it), so no HEAD, OWN_HEAD or
 * checkpoint verifies. Besides "never crash", nothing may be stored,
 * received, receipted, co-signed or held. What lies behind those
 * signature checks (records the peer signed with its valid key, and our
 * own heads coming back in a recovery) is signed_fuzz's.
 *
 *   make fuzz (seeds: fuzz/corpus/engine_fuzz/)
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "msg/checkpoint.h"
#include "msg/delivery.h"
#include "msg/recover.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PEER_SEED 0x50	/* the peer's key: crypto_sign_seed_keypair of
			 * 32 bytes of it (the seeds' receipts) */

static int
io_send(void *ctx, const uint8_t c[ENVELOPE_ID_LEN], unsigned path,
    uint8_t type, const uint8_t *b, size_t n)
{
	(void)ctx; (void)c; (void)path; (void)type; (void)b; (void)n;
	return 0;
}

static uint64_t
io_now(void *ctx)
{
	(void)ctx;
	return 1700000000000u;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t types[] = {
		DELIVERY_REC_SYNC, DELIVERY_REC_MSG, DELIVERY_REC_PART,
		DELIVERY_REC_HEAD, DELIVERY_REC_RECEIPT, RECOVER_REC_ASK,
		RECOVER_REC_OWN, RECOVER_REC_HEAD, CHECKPOINT_REC,
	};
	static const struct delivery_io io = { io_send, NULL, NULL, io_now,
	    NULL, NULL, NULL, NULL, NULL, NULL, io_now };
	static uint8_t chan[ENVELOPE_ID_LEN], peer_pub[KEYS_PUB_LEN];
	static uint8_t pub[2][KEYS_PUB_LEN], out[CHECKPOINT_REC_MAX];
	static struct keys k;
	static struct store *s;
	struct checkpoint_engine e;
	struct delivery_stats st;
	struct delivery *d;
	size_t off = 0, len, olen;

	if (s == NULL) {
		uint8_t peer_sk[crypto_sign_SECRETKEYBYTES];
		uint8_t seed[crypto_sign_SEEDBYTES];
		if (sodium_init() < 0 || store_open(&s, ":memory:") != 0)
			abort();
		log_setup("engine_fuzz", LOG_LVL_ERROR, false);
		memset(chan, 0x63, sizeof chan);	/* the seeds' channel */
		k.sign_sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
		crypto_sign_keypair(k.id.sign_pub, k.sign_sk);
		memset(seed, PEER_SEED, sizeof seed);
		crypto_sign_seed_keypair(peer_pub, peer_sk, seed);
		sodium_memzero(peer_sk, sizeof peer_sk);
		memcpy(pub[0], k.id.sign_pub, KEYS_PUB_LEN);
		memcpy(pub[1], peer_pub, KEYS_PUB_LEN);
	}
	if (delivery_new(s, &k, &io, &d) != 0)
		abort();
	if (delivery_add_channel(d, chan, 0, peer_pub, "peer", 2) != 0)
		abort();
	delivery_path_change(d, chan, 0, true);
	delivery_path_change(d, chan, 1, true);
	/* the peer's RUN, first on each session as a peer sends it */
	if (delivery_run_encode(7, out, sizeof out, &olen) != 0)
		abort();
	delivery_record(d, chan, 0, DELIVERY_REC_RUN, out, olen);
	delivery_record(d, chan, 1, DELIVERY_REC_RUN, out, olen);
	checkpoint_init(&e, s, &k, chan, 0,
	    (const uint8_t (*)[KEYS_PUB_LEN])pub, 0, 0, io_now(NULL));
	while (size - off >= 4) {
		uint8_t type = types[data[off] % sizeof types];
		unsigned path = data[off + 1] % 3u;
		len = (size_t)data[off + 2] << 8 | data[off + 3];
		off += 4;
		if (len > size - off)
			len = size - off;
		if (type == CHECKPOINT_REC)
			(void)checkpoint_on_record(&e, data + off, len,
			    io_now(NULL), io_now(NULL), out, sizeof out, &olen);
		else
			delivery_record(d, chan, path, type, data + off, len);
		off += len;
	}
	if (delivery_stats(d, 0, &st) != 0 || st.received != 0 ||
	    st.receipted != 0 || e.cosigned != 0 || e.nheld != 0)
		abort();	/* took what nobody signed */
	checkpoint_fini(&e);
	delivery_free(d);
	return 0;
}
