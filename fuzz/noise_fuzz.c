/* noise_fuzz.c: libFuzzer target for the Noise engine's message reader, as
 * a listener meets it: an IKpsk2 responder reading an initiation of any
 * bytes. Nothing a peer sends may crash it or leave secrets behind. */
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "crypto/noise.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fixed_random(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	memset(buf, 0x42, len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t s[NOISE_KEY_LEN] = { 7 }, psk[NOISE_KEY_LEN] = { 9 };
	static uint8_t payload[NOISE_MAX_MSG];
	struct noise_handshake hs;
	size_t plen;

	if (sodium_init() < 0)
		return 0;
	if (noise_handshake_init(&hs, "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b",
	    NOISE_RESPONDER, (const uint8_t *)"parley", 6, fixed_random,
	    NULL) != 0)
		return 0;
	if (noise_handshake_set_static(&hs, s) == 0 &&
	    noise_handshake_set_psk(&hs, psk) == 0 &&
	    noise_handshake_start(&hs) == 0)
		(void)noise_handshake_read(&hs, data, size, payload,
		    sizeof payload, &plen);
	noise_handshake_fini(&hs);
	return 0;
}
