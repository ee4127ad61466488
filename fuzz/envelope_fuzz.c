/*
 * envelope_fuzz.c: libFuzzer target for the parsers of message bytes that
 * arrive from a peer (docs/envelope.md): envelope_header_decode,
 * chain_head_decode, chain_receipt_decode, and envelope_open + the chain
 * verifier on a header/body split of the input. Besides "never crash", it
 * checks that whatever decodes re-encodes to exactly the input (only the
 * canonical encoding is accepted).
 *
 *   make fuzz (seeds: fuzz/corpus/envelope_fuzz/)
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "msg/chain.h"
#include "msg/envelope.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
header(const uint8_t *data, size_t size)
{
	struct envelope_header h;
	uint8_t out[ENVELOPE_HEADER_MAX];
	size_t len;

	if (envelope_header_decode(&h, data, size) != 0)
		return;
	if (envelope_header_encode(&h, out, sizeof out, &len) != 0 ||
	    len != size || memcmp(out, data, size) != 0)
		abort();	/* accepted a non-canonical encoding */
}

static void
head(const uint8_t *data, size_t size)
{
	struct chain_head h;
	uint8_t out[CHAIN_HEAD_MAX];
	size_t len;

	if (chain_head_decode(&h, data, size) != 0)
		return;
	if (chain_head_encode(&h, out, sizeof out, &len) != 0 ||
	    len != size || memcmp(out, data, size) != 0)
		abort();
}

static void
receipt(const uint8_t *data, size_t size)
{
	struct chain_receipt r;
	uint8_t out[CHAIN_RECEIPT_MAX];
	size_t len;

	if (chain_receipt_decode(&r, data, size) != 0)
		return;
	if (chain_receipt_encode(&r, out, sizeof out, &len) != 0 ||
	    len != size || memcmp(out, data, size) != 0)
		abort();
}

/* data[0] is the header's length; after the header, for a version 2
 * header, its body's salt (32 bytes), then the body. A fresh verifier for
 * the header's own channel and sender takes it. */
static void
message(const uint8_t *data, size_t size)
{
	static struct chain_verifier v;
	static const uint8_t zero[ENVELOPE_ID_LEN], pub[KEYS_PUB_LEN];
	struct envelope_header h;
	uint8_t id[ENVELOPE_ID_LEN];
	const uint8_t *salt = NULL, *body;
	size_t hlen, blen;

	if (size < 1 || (hlen = data[0]) > size - 1)
		return;
	if (envelope_header_decode(&h, data + 1, hlen) != 0)
		return;
	body = data + 1 + hlen;
	blen = size - 1 - hlen;
	if (h.version == 2) {
		if (blen < ENVELOPE_SALT_LEN)
			return;
		salt = body;
		body += ENVELOPE_SALT_LEN;
		blen -= ENVELOPE_SALT_LEN;
	}
	chain_verifier_init(&v, h.channel, h.sender, pub, 0, zero);
	/* the salt is required exactly for a version 2 header */
	if (chain_accept_message(&v, data + 1, hlen, salt != NULL ? NULL :
	    zero, body, blen, &h, id) != ERR_SALT || v.npending != 0)
		abort();
	if (chain_accept_message(&v, data + 1, hlen, salt, body, blen, &h,
	    id) == 0 && (h.seq != 1 || v.npending != 1))
		abort();	/* only seq 1 can start a chain */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;

	if (!ready) {
		if (sodium_init() < 0)
			abort();
		ready = 1;
	}
	header(data, size);
	head(data, size);
	receipt(data, size);
	message(data, size);
	(void)envelope_utf8_is_valid(data, size);
	return 0;
}
