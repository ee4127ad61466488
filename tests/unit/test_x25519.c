/*
 * test_x25519.c: X25519 as the Noise engine uses it. Every Wycheproof
 * x25519 case (from $PARLEY_VECTORS/wycheproof/x25519_test.json, default
 * ../shared/vectors) through crypto_scalarmult: the 31 low-order public
 * keys, whose shared secret is all zero, must be refused; every other case
 * must give the expected secret. Then Noise handshakes whose peer sends a
 * low-order ephemeral must end FAILED, on the reading and on the writing
 * side.
 */
#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>

#include "../harness.h"
#include "base/hex.h"
#include "crypto/noise.h"

#define LOW_ORDER_EXPECTED 31
#define MAX_LOW 64

static uint8_t low_order[MAX_LOW][32];	/* distinct low-order publics */
static size_t nlow;

static json_t *
vectors_load(void)
{
	const char *dir = getenv("PARLEY_VECTORS");
	char path[1024];
	json_error_t err;
	json_t *root;

	snprintf(path, sizeof path, "%s/wycheproof/x25519_test.json",
	    dir != NULL ? dir : "../shared/vectors");
	root = json_load_file(path, 0, &err);
	if (root == NULL)
		printf("cannot load %s: %s\n", path, err.text);
	return root;
}

static void
low_order_add(const uint8_t pub[32])
{
	for (size_t i = 0; i < nlow; i++)
		if (memcmp(low_order[i], pub, 32) == 0)
			return;
	if (nlow < MAX_LOW)
		memcpy(low_order[nlow++], pub, 32);
}

/* Decodes the 32-byte hex field of c; -1 when absent or malformed. */
static int
field32(uint8_t out[32], json_t *c, const char *name)
{
	const char *s = json_string_value(json_object_get(c, name));

	return s != NULL && hex_decode(out, 32, s) == 0 ? 0 : -1;
}

static void
test_wycheproof(void)
{
	json_t *root = vectors_load(), *groups;
	size_t ncases = 0, nzero = 0, g, t;
	static const uint8_t zero[32];

	CHECK(root != NULL);
	groups = json_object_get(root, "testGroups");
	CHECK(json_is_array(groups));
	for (g = 0; g < json_array_size(groups); g++) {
		json_t *tests = json_object_get(json_array_get(groups, g),
		    "tests");
		CHECK(json_is_array(tests));
		for (t = 0; t < json_array_size(tests); t++) {
			json_t *c = json_array_get(tests, t);
			uint8_t pub[32], priv[32], want[32], got[32];
			long id = (long)json_integer_value(json_object_get(c,
			    "tcId"));
			int r;

			if (field32(pub, c, "public") != 0 ||
			    field32(priv, c, "private") != 0 ||
			    field32(want, c, "shared") != 0) {
				printf("  tcId %ld: cannot parse\n", id);
				CHECK(0);
				continue;
			}
			ncases++;
			r = crypto_scalarmult(got, priv, pub);
			if (memcmp(want, zero, 32) == 0) {
				nzero++;
				low_order_add(pub);
				if (r != -1)
					printf("  tcId %ld: low-order accepted\n",
					    id);
				CHECK_INT(r, -1);
			} else {
				if (r != 0 || memcmp(got, want, 32) != 0)
					printf("  tcId %ld: wrong result\n", id);
				CHECK_INT(r, 0);
				CHECK_MEM(got, want, 32);
			}
		}
	}
	CHECK_INT(json_integer_value(json_object_get(root, "numberOfTests")),
	    ncases);
	CHECK(ncases >= 500);
	CHECK_INT(nzero, LOW_ORDER_EXPECTED);
	CHECK(nlow > 0);
	json_decref(root);
}

static void
key_fill(uint8_t k[32], uint8_t v)
{
	for (int i = 0; i < 32; i++)
		k[i] = (uint8_t)(v + i);
}

static void
rnd(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	randombytes_buf(buf, len);
}

/* IK: the initiator's message 1 with its ephemeral replaced by each
 * low-order point; the responder's "es" (DH(s, re)) must fail. */
static void
test_ik_low_order_ephemeral_read(void)
{
	uint8_t rs_priv[32], rs_pub[32], is_priv[32];
	uint8_t msg[256], pt[64];
	size_t len, plen;
	const char *name = "Noise_IK_25519_ChaChaPoly_BLAKE2b";

	key_fill(rs_priv, 1);
	key_fill(is_priv, 2);
	crypto_scalarmult_base(rs_pub, rs_priv);
	CHECK(nlow > 0);
	for (size_t i = 0; i < nlow; i++) {
		struct noise_handshake ini, resp;

		CHECK_INT(noise_handshake_init(&ini, name, NOISE_INITIATOR,
		    NULL, 0, rnd, NULL), 0);
		CHECK_INT(noise_handshake_set_static(&ini, is_priv), 0);
		CHECK_INT(noise_handshake_set_remote_static(&ini, rs_pub), 0);
		CHECK_INT(noise_handshake_start(&ini), 0);
		CHECK_INT(noise_handshake_init(&resp, name, NOISE_RESPONDER,
		    NULL, 0, rnd, NULL), 0);
		CHECK_INT(noise_handshake_set_static(&resp, rs_priv), 0);
		CHECK_INT(noise_handshake_start(&resp), 0);
		CHECK_INT(noise_handshake_write(&ini, NULL, 0, msg, sizeof msg,
		    &len), 0);
		memcpy(msg, low_order[i], 32);
		CHECK_INT(noise_handshake_read(&resp, msg, len, pt, sizeof pt,
		    &plen), ERR_CRYPTO);
		CHECK_INT(noise_handshake_action(&resp), NOISE_ACTION_FAILED);
		noise_handshake_fini(&ini);
		noise_handshake_fini(&resp);
	}
}

/* NN: the responder's message 2 carries a low-order ephemeral; the
 * initiator's "ee" fails while reading. And when the initiator's message 1
 * carries one, the responder's own write ("ee") fails. */
static void
test_nn_low_order_ephemeral(void)
{
	const char *name = "Noise_NN_25519_ChaChaPoly_BLAKE2b";
	uint8_t msg[256], pt[64];
	size_t len, plen;

	CHECK(nlow > 0);
	for (size_t i = 0; i < nlow; i++) {
		struct noise_handshake ini, resp;

		/* low-order e from the responder */
		CHECK_INT(noise_handshake_init(&ini, name, NOISE_INITIATOR,
		    NULL, 0, rnd, NULL), 0);
		CHECK_INT(noise_handshake_start(&ini), 0);
		CHECK_INT(noise_handshake_init(&resp, name, NOISE_RESPONDER,
		    NULL, 0, rnd, NULL), 0);
		CHECK_INT(noise_handshake_start(&resp), 0);
		CHECK_INT(noise_handshake_write(&ini, NULL, 0, msg, sizeof msg,
		    &len), 0);
		CHECK_INT(noise_handshake_read(&resp, msg, len, pt, sizeof pt,
		    &plen), 0);
		CHECK_INT(noise_handshake_write(&resp, NULL, 0, msg, sizeof msg,
		    &len), 0);
		memcpy(msg, low_order[i], 32);
		CHECK_INT(noise_handshake_read(&ini, msg, len, pt, sizeof pt,
		    &plen), ERR_CRYPTO);
		CHECK_INT(noise_handshake_action(&ini), NOISE_ACTION_FAILED);
		noise_handshake_fini(&ini);
		noise_handshake_fini(&resp);

		/* low-order e from the initiator */
		CHECK_INT(noise_handshake_init(&ini, name, NOISE_INITIATOR,
		    NULL, 0, rnd, NULL), 0);
		CHECK_INT(noise_handshake_start(&ini), 0);
		CHECK_INT(noise_handshake_init(&resp, name, NOISE_RESPONDER,
		    NULL, 0, rnd, NULL), 0);
		CHECK_INT(noise_handshake_start(&resp), 0);
		CHECK_INT(noise_handshake_write(&ini, NULL, 0, msg, sizeof msg,
		    &len), 0);
		memcpy(msg, low_order[i], 32);
		CHECK_INT(noise_handshake_read(&resp, msg, len, pt, sizeof pt,
		    &plen), 0);
		CHECK_INT(noise_handshake_write(&resp, NULL, 0, msg, sizeof msg,
		    &len), ERR_CRYPTO);
		CHECK_INT(noise_handshake_action(&resp), NOISE_ACTION_FAILED);
		noise_handshake_fini(&ini);
		noise_handshake_fini(&resp);
	}
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	RUN(test_wycheproof);
	RUN(test_ik_low_order_ephemeral_read);
	RUN(test_nn_low_order_ephemeral);
	return harness_summary();
}
