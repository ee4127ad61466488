/*
 * delivery_fuzz.c: libFuzzer target for the decoders of the delivery and
 * recovery records a peer sends over the link (docs/delivery.md,
 * docs/transcript.md): HEAD and OWN_HEAD (chain_head_decode), RECEIPT
 * (chain_receipt_decode), RECOVER (recover_ask_decode), OWN
 * (recover_own_decode) and CHECKPOINT (checkpoint_rec_decode). The first
 * input byte modulo 6 picks the decoder (0 HEAD, 1 RECEIPT, 2 RECOVER,
 * 3 OWN, 4 OWN_HEAD, 5 CHECKPOINT); the rest is the record. Pure decoders only: no store, no I/O. Besides
 * "never crash", whatever decodes must re-encode to exactly the input
 * (only the canonical encoding is accepted).
 *
 * Not here: SYNC, MSG and MSG_PART, whose decoder (dl_record_decode) is
 * reached with their handlers through a delivery engine over a store:
 * engine_fuzz.
 *
 *   make fuzz (seeds: fuzz/corpus/delivery_fuzz/)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "msg/chain.h"
#include "msg/checkpoint.h"
#include "msg/delivery.h"
#include "msg/recover.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts unless out[0..len) is exactly p[0..n). */
static void
same(const uint8_t *out, size_t len, const uint8_t *p, size_t n)
{
	if (len != n || memcmp(out, p, n) != 0)
		abort();	/* accepted a non-canonical encoding */
}

static void
head(const uint8_t *p, size_t n)
{
	uint8_t out[CHAIN_HEAD_MAX];
	struct chain_head h;
	size_t len;

	if (chain_head_decode(&h, p, n) != 0)
		return;
	if (chain_head_encode(&h, out, sizeof out, &len) != 0)
		abort();
	same(out, len, p, n);
}

static void
receipt(const uint8_t *p, size_t n)
{
	uint8_t out[CHAIN_RECEIPT_MAX];
	struct chain_receipt r;
	size_t len;

	if (chain_receipt_decode(&r, p, n) != 0)
		return;
	if (chain_receipt_encode(&r, out, sizeof out, &len) != 0)
		abort();
	same(out, len, p, n);
}

static void
ask(const uint8_t *p, size_t n)
{
	uint8_t out[64];
	uint64_t from, to;
	size_t len;

	if (recover_ask_decode(p, n, &from, &to) != 0)
		return;
	if (to < from || recover_ask_encode(from, to, out, sizeof out,
	    &len) != 0)
		abort();
	same(out, len, p, n);
}

static void
own(const uint8_t *p, size_t n)
{
	struct recover_own o;
	uint8_t *out;
	size_t len;

	if (recover_own_decode(p, n, &o) != 0)
		return;
	if (o.hlen > ENVELOPE_HEADER_MAX || o.clen > RECOVER_PART_MAX ||
	    o.hdr < p || o.hdr + o.hlen > p + n || o.chunk < p ||
	    o.chunk + o.clen > p + n || (o.salt != NULL && (o.salt < p ||
	    o.salt + ENVELOPE_SALT_LEN > p + n)))
		abort();	/* parts must lie inside the record */
	if ((out = malloc(n)) == NULL)
		return;
	if (recover_own_encode(o.hdr, o.hlen, o.salt, o.offset, o.chunk,
	    o.clen, out, n, &len) != 0)
		abort();
	same(out, len, p, n);
	free(out);
}

static void
checkpoint(const uint8_t *p, size_t n)
{
	static struct checkpoint_rec c;
	static uint8_t out[CHECKPOINT_REC_MAX];
	size_t len;

	if (checkpoint_rec_decode(&c, p, n) != 0)
		return;
	if (c.kind < CHECKPOINT_PROPOSE || c.kind > CHECKPOINT_DISPUTE ||
	    c.nids[0] > CHECKPOINT_IDS_MAX || c.nids[1] > CHECKPOINT_IDS_MAX)
		abort();
	if (checkpoint_rec_encode(&c, out, sizeof out, &len) != 0)
		abort();
	same(out, len, p, n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t types[] = {
		DELIVERY_REC_HEAD, DELIVERY_REC_RECEIPT, RECOVER_REC_ASK,
		RECOVER_REC_OWN, RECOVER_REC_HEAD, CHECKPOINT_REC,
	};
	uint8_t t;

	if (size < 1)
		return 0;
	t = types[data[0] % sizeof types];
	data++;
	size--;
	switch (t) {
	case DELIVERY_REC_HEAD:
	case RECOVER_REC_HEAD:
		head(data, size);
		break;
	case DELIVERY_REC_RECEIPT:
		receipt(data, size);
		break;
	case RECOVER_REC_ASK:
		ask(data, size);
		break;
	case RECOVER_REC_OWN:
		own(data, size);
		break;
	default:
		checkpoint(data, size);
		break;
	}
	return 0;
}
