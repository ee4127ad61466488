/*
 * record_fuzz.c: libFuzzer target for the parsers of record bytes from
 * outside: a checkpoint (transcript_checkpoint_decode, as a peer sends it
 * inside a CHECKPOINT record) and an export file (export_decode, then
 * export_verify, as `parley verify --file` runs them on a file from
 * anyone). Besides "never crash", whatever decodes must re-encode to
 * exactly the input (only the canonical encoding is accepted).
 *
 *   make fuzz (seeds: fuzz/corpus/record_fuzz/)
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "msg/export.h"
#include "msg/transcript.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
checkpoint(const uint8_t *data, size_t size)
{
	struct transcript_checkpoint c;
	uint8_t out[TRANSCRIPT_CHECKPOINT_MAX], pub[2][KEYS_PUB_LEN];
	size_t len;
	int bad;

	if (transcript_checkpoint_decode(&c, data, size) != 0)
		return;
	if (transcript_checkpoint_encode(&c, out, sizeof out, &len) != 0 ||
	    len != size || memcmp(out, data, size) != 0)
		abort();
	memset(pub, 0x42, sizeof pub);
	(void)transcript_checkpoint_verify(&c,
	    (const uint8_t (*)[KEYS_PUB_LEN])pub, true, &bad);
}

static void
export_file(const uint8_t *data, size_t size)
{
	struct export_record rec;
	struct export_report rep;
	uint8_t *out = NULL;
	size_t len;

	export_record_init(&rec);
	if (export_decode(&rec, data, size) == 0) {
		if (export_encode(&rec, &out, &len) != 0 || len != size ||
		    memcmp(out, data, size) != 0)
			abort();
		(void)export_verify(&rec, &rep);
	}
	free(out);
	export_record_fini(&rec);
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
	checkpoint(data, size);
	export_file(data, size);
	return 0;
}
