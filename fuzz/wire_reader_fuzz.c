/*
 * wire_reader_fuzz.c: libFuzzer target for the strict CBOR reader
 * (base/wire.h) and the tolerant index beside it. The input is a script
 * and the bytes to read: input[0] is the script's length, then the script
 * (one read per byte, with its argument in the next byte where it takes
 * one), then the data. Besides "never crash", it checks that
 *   - a refusal sticks: every later call returns the first one;
 *   - whatever the script reads to wire_read_end is the one deterministic
 *     encoding: the writer, given what was read, writes the data again;
 *     and wire_load accepts it too;
 *   - wire_index_map accepts only what wire_load accepts.
 *
 *   make fuzz (seeds: fuzz/corpus/wire_reader_fuzz/)
 */
#include <stdlib.h>
#include <string.h>

#include "base/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_load(const uint8_t *p, size_t n)
{
	cbor_item_t *item;

	if (wire_load(p, n, &item) != 0)
		abort();
	cbor_decref(&item);
}

/* Runs the script over data; aborts when a check fails. */
static void
run(const uint8_t *s, size_t slen, const uint8_t *data, size_t n)
{
	static uint8_t out[4096];
	struct wire_reader r;
	struct wire_writer w;
	const uint8_t *b;
	char text[64];
	uint8_t exact[40];
	uint64_t v;
	size_t len, k;
	bool yes;
	int e = 0, first = 0;

	wire_reader_init(&r, data, n);
	wire_writer_init(&w, out, sizeof out);
	for (size_t i = 0; i < slen; i++) {
		unsigned arg = i + 1 < slen ? s[i + 1] : 0;
		switch (s[i] % 9) {
		case 0:
			if ((e = wire_read_map(&r, arg % 8)) == 0)
				wire_put_map(&w, arg % 8);
			i++;
			break;
		case 1:
			if ((e = wire_read_key(&r, arg % 24)) == 0)
				wire_put_uint(&w, arg % 24);
			i++;
			break;
		case 2:
			if ((e = wire_read_uint(&r, &v)) == 0)
				wire_put_uint(&w, v);
			break;
		case 3:
			if ((e = wire_read_bytes(&r, &b, &len)) == 0) {
				if (len && (b < data || b + len > data + n))
					abort();	/* lent outside */
				wire_put_bytes(&w, b, len);
			}
			break;
		case 4:
			if ((e = wire_read_text(&r, text, sizeof text)) == 0)
				wire_put_text(&w, text);
			break;
		case 5:
			if ((e = wire_read_bool(&r, &yes)) == 0)
				wire_put_bool(&w, yes);
			break;
		case 6:
			if ((e = wire_read_null(&r)) == 0)
				wire_put_null(&w);
			break;
		case 7:
			if ((e = wire_read_array(&r, arg % 8, &k)) == 0)
				wire_put_array(&w, k);
			i++;
			break;
		default:
			if ((e = wire_read_bytes_exact(&r, exact, arg % 40))
			    == 0)
				wire_put_bytes(&w, exact, arg % 40);
			i++;
			break;
		}
		if (first != 0 && e != first)
			abort();	/* a refusal must stick */
		if (e != 0)
			first = e;
	}
	e = wire_read_end(&r);
	if (first != 0 && e != first)
		abort();
	if (e == 0) {
		if (wire_writer_finish(&w, &len) != 0 || len != n ||
		    memcmp(out, data, n) != 0)
			abort();	/* read something not canonical */
		check_load(data, n);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *input, size_t size)
{
	struct wire_index ix;
	size_t slen;

	if (size < 1 || (slen = input[0]) > size - 1)
		return 0;
	run(input + 1, slen, input + 1 + slen, size - 1 - slen);
	if (wire_index_map(&ix, input, size, WIRE_INDEX_KEYS) == 0)
		check_load(input, size);
	return 0;
}
