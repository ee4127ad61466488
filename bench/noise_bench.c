/*
 * noise_bench.c: speed of the Noise engine alone (no I/O): complete
 * Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b handshakes per second, both roles in
 * this one process with random ephemerals (randombytes_buf), and transport
 * encryption throughput for 1 KiB records. Prints numbers; judges nothing.
 *
 * Usage: noise_bench [seconds per measurement, default 1]
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "crypto/noise.h"

#define NAME "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b"
#define RECORD 1024

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
rnd(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	randombytes_buf(buf, len);
}

struct keys {
	uint8_t is[NOISE_KEY_LEN], rs[NOISE_KEY_LEN], rs_pub[NOISE_KEY_LEN];
	uint8_t psk[NOISE_KEY_LEN];
};

/* One full handshake and split on both sides; 0 on success. */
static int
handshake(const struct keys *k, struct noise_cipher *tx,
    struct noise_cipher *rx)
{
	struct noise_handshake a, b;
	struct noise_cipher bs, br;
	uint8_t m[256], pt[256];
	size_t len, plen;
	int r;

	if ((r = noise_handshake_init(&a, NAME, NOISE_INITIATOR, NULL, 0, rnd,
	    NULL)) != 0 ||
	    (r = noise_handshake_set_static(&a, k->is)) != 0 ||
	    (r = noise_handshake_set_remote_static(&a, k->rs_pub)) != 0 ||
	    (r = noise_handshake_set_psk(&a, k->psk)) != 0 ||
	    (r = noise_handshake_start(&a)) != 0 ||
	    (r = noise_handshake_init(&b, NAME, NOISE_RESPONDER, NULL, 0, rnd,
	    NULL)) != 0 ||
	    (r = noise_handshake_set_static(&b, k->rs)) != 0 ||
	    (r = noise_handshake_set_psk(&b, k->psk)) != 0 ||
	    (r = noise_handshake_start(&b)) != 0 ||
	    (r = noise_handshake_write(&a, NULL, 0, m, sizeof m, &len)) != 0 ||
	    (r = noise_handshake_read(&b, m, len, pt, sizeof pt, &plen)) != 0 ||
	    (r = noise_handshake_write(&b, NULL, 0, m, sizeof m, &len)) != 0 ||
	    (r = noise_handshake_read(&a, m, len, pt, sizeof pt, &plen)) != 0 ||
	    (r = noise_handshake_split(&a, tx, rx)) != 0 ||
	    (r = noise_handshake_split(&b, &bs, &br)) != 0)
		goto out;
	noise_cipher_fini(&bs);
	noise_cipher_fini(&br);
out:
	noise_handshake_fini(&a);
	noise_handshake_fini(&b);
	return r;
}

int
main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 1.0, t0, t;
	struct keys k;
	struct noise_cipher tx, rx;
	static uint8_t rec[RECORD], out[RECORD + NOISE_TAG_LEN];
	unsigned long n;
	size_t len;

	if (sodium_init() < 0 || secs <= 0) {
		fprintf(stderr, "usage: noise_bench [seconds]\n");
		return 1;
	}
	randombytes_buf(k.is, sizeof k.is);
	randombytes_buf(k.rs, sizeof k.rs);
	randombytes_buf(k.psk, sizeof k.psk);
	crypto_scalarmult_base(k.rs_pub, k.rs);

	t0 = now();
	for (n = 0; (t = now() - t0) < secs; n++) {
		if (handshake(&k, &tx, &rx) != 0) {
			fprintf(stderr, "handshake failed\n");
			return 1;
		}
		noise_cipher_fini(&tx);
		noise_cipher_fini(&rx);
	}
	printf("noise handshake %s (both roles): %.0f handshakes/s "
	    "(%lu in %.2f s)\n", NAME, (double)n / t, n, t);

	if (handshake(&k, &tx, &rx) != 0)
		return 1;
	randombytes_buf(rec, sizeof rec);
	t0 = now();
	for (n = 0; (n & 1023) != 0 || (t = now() - t0) < secs; n++) {
		if (noise_cipher_encrypt(&tx, NULL, 0, rec, sizeof rec, out,
		    sizeof out, &len) != 0) {
			fprintf(stderr, "encrypt failed\n");
			return 1;
		}
	}
	printf("noise transport encrypt, %d-byte records: %.0f records/s, "
	    "%.1f MiB/s of plaintext\n", RECORD, (double)n / t,
	    (double)n * RECORD / t / (1024.0 * 1024.0));
	noise_cipher_fini(&tx);
	noise_cipher_fini(&rx);
	return 0;
}
