/*
 * agreement_fuzz.c: libFuzzer target for agreement_decode, the parser of
 * agreement files that arrive by hand from another party
 * (docs/agreement.md). Besides "never crash", it checks one property: what
 * decodes re-encodes to exactly the input (only the canonical encoding is
 * accepted), and a decoded agreement has a fingerprint and can be checked.
 *
 *   make fuzz (seeds: fuzz/corpus/agreement_fuzz/)
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/agreement.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[AGREEMENT_FILE_MAX];
	static int ready;
	struct agreement a;
	struct agreement_why why;
	struct node_identity self;
	char fp[FINGERPRINT_STR_LEN];
	size_t len;
	int idx;

	if (!ready) {
		if (sodium_init() < 0)
			abort();
		ready = 1;
	}
	if (agreement_decode_detail(&a, data, size, &why) != 0)
		return 0;
	if (agreement_encode(&a, out, sizeof out, &len) != 0 || len != size ||
	    memcmp(out, data, size) != 0)
		abort();	/* accepted a non-canonical encoding */
	agreement_fingerprint(&a, fp);
	memset(&self, 0, sizeof self);
	memcpy(&self.link_pub, a.party[1].link_pub, KEYS_PUB_LEN);
	memcpy(&self.sign_pub, a.party[1].sign_pub, KEYS_PUB_LEN);
	if (agreement_check(&a, &self, a.not_before, &idx) == ERR_FOREIGN)
		abort();	/* party 1 is always a party */
	agreement_wipe(&a);
	return 0;
}
