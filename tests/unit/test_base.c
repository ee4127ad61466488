/* test_base.c: hex, wire (deterministic CBOR subset), context hashes. */
#include <sodium.h>
#include <stdlib.h>

#include "../harness.h"
#include "base/hex.h"
#include "base/wire.h"
#include "crypto/hash.h"

static void
test_hex_round_trip(void)
{
	uint8_t in[4] = { 0x00, 0x7f, 0x80, 0xff }, out[4];
	char s[9];

	hex_encode(s, in, 4);
	CHECK_STR(s, "007f80ff");
	CHECK_INT(hex_decode(out, 4, "007F80fF"), 0);
	CHECK_MEM(in, out, 4);
	CHECK_INT(hex_decode(out, 4, "007f80f"), ERR_PARSE);
	CHECK_INT(hex_decode(out, 4, "007f80fg"), ERR_PARSE);
	CHECK_INT(hex_decode(out, 3, "007f80ff"), ERR_PARSE);
}

static void
test_wire_shortest_integers(void)
{
	uint8_t buf[64];
	struct wire_writer w;
	size_t len;

	wire_writer_init(&w, buf, sizeof buf);
	wire_put_uint(&w, 23);
	wire_put_uint(&w, 24);
	wire_put_uint(&w, 256);
	wire_put_uint(&w, 65536);
	wire_put_uint(&w, 1ull << 32);
	CHECK_INT(wire_writer_finish(&w, &len), 0);
	static const uint8_t want[] = { 0x17, 0x18, 0x18, 0x19, 0x01, 0x00,
		0x1a, 0x00, 0x01, 0x00, 0x00, 0x1b, 0, 0, 0, 1, 0, 0, 0, 0 };
	CHECK_INT(len, sizeof want);
	CHECK_MEM(buf, want, sizeof want);
}

static void
test_wire_overflow_is_reported(void)
{
	uint8_t buf[4];
	struct wire_writer w;
	size_t len;

	wire_writer_init(&w, buf, sizeof buf);
	wire_put_text(&w, "north");
	CHECK_INT(wire_writer_finish(&w, &len), ERR_TOO_BIG);
}

static void
test_wire_load_refuses_outside_subset(void)
{
	cbor_item_t *item;
	static const uint8_t ok[] = { 0xa1, 0x01, 0x42, 0xaa, 0xbb };
	static const uint8_t trailing[] = { 0x01, 0x02 };
	static const uint8_t indefinite[] = { 0x9f, 0x01, 0xff };
	static const uint8_t tag[] = { 0xc1, 0x01 };
	static const uint8_t flt[] = { 0xf9, 0x3c, 0x00 };
	static const uint8_t truncated[] = { 0x43, 0x01, 0x02 };
	static const uint8_t huge_array[] = { 0x9b, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff };
	uint8_t deep[40];

	CHECK_INT(wire_load(ok, sizeof ok, &item), 0);
	if (item) {
		uint8_t v[2];
		CHECK_INT(wire_get_bytes_exact(wire_map_get(item, 1), v, 2), 0);
		CHECK(wire_map_get(item, 2) == NULL);
		cbor_decref(&item);
	}
	CHECK_INT(wire_load(trailing, sizeof trailing, &item), ERR_PARSE);
	CHECK_INT(wire_load(indefinite, sizeof indefinite, &item), ERR_PARSE);
	CHECK_INT(wire_load(tag, sizeof tag, &item), ERR_PARSE);
	CHECK_INT(wire_load(flt, sizeof flt, &item), ERR_PARSE);
	CHECK_INT(wire_load(truncated, sizeof truncated, &item), ERR_PARSE);
	CHECK_INT(wire_load(huge_array, sizeof huge_array, &item), ERR_PARSE);
	memset(deep, 0x81, sizeof deep);
	deep[sizeof deep - 1] = 0x00;
	CHECK_INT(wire_load(deep, sizeof deep, &item), ERR_PARSE);
	CHECK(item == NULL);
}

static void
test_hash_context_separates(void)
{
	uint8_t a[32], b[32], c[32];
	static const uint8_t data[] = "channel";

	hash_ctx(a, 32, "parley one", data, 7);
	hash_ctx(b, 32, "parley two", data, 7);
	hash_ctx2(c, 32, "parley one", data, 3, data + 3, 4);
	CHECK(memcmp(a, b, 32) != 0);
	CHECK_MEM(a, c, 32);
}

static void
test_fingerprint_format(void)
{
	char fp[FINGERPRINT_STR_LEN];
	static const uint8_t key[32] = { 1 };

	hash_fingerprint(fp, "parley test", key, sizeof key);
	CHECK_INT(strlen(fp), 35);
	for (int i = 0; i < 35; i++)
		CHECK(i % 6 == 5 ? fp[i] == ' ' : (fp[i] >= '0' && fp[i] <= '9'));
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	RUN(test_hex_round_trip);
	RUN(test_wire_shortest_integers);
	RUN(test_wire_overflow_is_reported);
	RUN(test_wire_load_refuses_outside_subset);
	RUN(test_hash_context_separates);
	RUN(test_fingerprint_format);
	return harness_summary();
}
