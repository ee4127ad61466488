/*
 * test_wire.c: the strict CBOR reader (struct wire_reader): every head
 * width at its boundaries, shortest against non-shortest forms, truncation
 * at every byte, trailing bytes, keys twice or out of order, nesting at
 * the limit, text (NUL, UTF-8, size), lengths larger than the input, what
 * lies outside the subset, sticky refusals; the tolerant index used to
 * name refusals; UTF-8 validation against libcbor's.
 */
#include <cbor.h>
#include <sodium.h>
#include <stdlib.h>

#include "../harness.h"
#include "base/wire.h"

/* A document with one of everything the reader reads. */
struct doc {
	uint64_t u;
	const uint8_t *b;
	size_t blen;
	char t[16];
	bool yes;
	size_t nitems;
	uint64_t items[3];
};

static size_t
doc_write(uint8_t *out, size_t cap)
{
	static const uint8_t bytes[] = { 0xde, 0xad, 0xbe, 0xef };
	struct wire_writer w;
	size_t len;

	wire_writer_init(&w, out, cap);
	wire_put_map(&w, 6);
	wire_put_uint(&w, 0);
	wire_put_uint(&w, 0x1122334455667788ull);
	wire_put_uint(&w, 1);
	wire_put_bytes(&w, bytes, sizeof bytes);
	wire_put_uint(&w, 2);
	wire_put_text(&w, "caf\xc3\xa9");
	wire_put_uint(&w, 3);
	wire_put_bool(&w, true);
	wire_put_uint(&w, 4);
	wire_put_array(&w, 3);
	wire_put_uint(&w, 24);
	wire_put_uint(&w, 256);
	wire_put_uint(&w, 65536);
	wire_put_uint(&w, 30);
	wire_put_null(&w);
	if (wire_writer_finish(&w, &len) != 0)
		abort();
	return len;
}

/* The decoder for doc_write's layout: 0 or the reader's first refusal. */
static int
doc_read(struct doc *d, const uint8_t *p, size_t n)
{
	struct wire_reader r;
	int e;

	memset(d, 0, sizeof *d);
	wire_reader_init(&r, p, n);
	if ((e = wire_read_map(&r, 6)) != 0 ||
	    (e = wire_read_key(&r, 0)) != 0 ||
	    (e = wire_read_uint(&r, &d->u)) != 0 ||
	    (e = wire_read_key(&r, 1)) != 0 ||
	    (e = wire_read_bytes(&r, &d->b, &d->blen)) != 0 ||
	    (e = wire_read_key(&r, 2)) != 0 ||
	    (e = wire_read_text(&r, d->t, sizeof d->t)) != 0 ||
	    (e = wire_read_key(&r, 3)) != 0 ||
	    (e = wire_read_bool(&r, &d->yes)) != 0 ||
	    (e = wire_read_key(&r, 4)) != 0 ||
	    (e = wire_read_array(&r, 3, &d->nitems)) != 0)
		return e;
	for (size_t i = 0; i < d->nitems; i++)
		if ((e = wire_read_uint(&r, &d->items[i])) != 0)
			return e;
	if ((e = wire_read_key(&r, 30)) != 0 ||
	    (e = wire_read_null(&r)) != 0)
		return e;
	return wire_read_end(&r);
}

static void
test_reader_round_trip(void)
{
	uint8_t buf[128];
	size_t len = doc_write(buf, sizeof buf);
	struct doc d;

	CHECK_INT(doc_read(&d, buf, len), 0);
	CHECK_INT(d.u, 0x1122334455667788ull);
	CHECK_INT(d.blen, 4);
	CHECK(d.b == buf + 13);		/* borrowed, not copied */
	CHECK_STR(d.t, "caf\xc3\xa9");
	CHECK(d.yes);
	CHECK_INT(d.nitems, 3);
	CHECK_INT(d.items[0], 24);
	CHECK_INT(d.items[1], 256);
	CHECK_INT(d.items[2], 65536);
}

static void
test_reader_truncation_and_trailing(void)
{
	uint8_t buf[128], big[129];
	size_t len = doc_write(buf, sizeof buf);
	struct doc d;

	/* Cut at every byte: ERR_PARSE, never a read past the end (ASan
	 * watches: each cut lives in its own allocation). */
	for (size_t n = 0; n < len; n++) {
		uint8_t *cut = malloc(n ? n : 1);
		if (cut == NULL)
			abort();
		memcpy(cut, buf, n);
		CHECK_INT(doc_read(&d, cut, n), ERR_PARSE);
		free(cut);
	}
	memcpy(big, buf, len);
	big[len] = 0x00;
	CHECK_INT(doc_read(&d, big, len + 1), ERR_PARSE);
}

/* Reads one unsigned integer as the whole input. */
static int
read_uint(const uint8_t *p, size_t n, uint64_t *v)
{
	struct wire_reader r;
	int e;

	wire_reader_init(&r, p, n);
	if ((e = wire_read_uint(&r, v)) != 0)
		return e;
	return wire_read_end(&r);
}

/* Writes head (major, v) with 1 + extra bytes of argument: extra 0 puts v
 * in the initial byte, 1, 2, 4, 8 after it. */
static size_t
head_put(uint8_t *out, unsigned major, uint64_t v, size_t extra)
{
	static const uint8_t info[9] = { 0, 24, 25, 0, 26, 0, 0, 0, 27 };

	if (extra == 0) {
		out[0] = (uint8_t)(major << 5 | v);
		return 1;
	}
	out[0] = (uint8_t)(major << 5 | info[extra]);
	for (size_t i = 0; i < extra; i++)
		out[1 + i] = (uint8_t)(v >> (8 * (extra - 1 - i)));
	return 1 + extra;
}

/* Bytes of argument the shortest head of v takes. */
static size_t
shortest(uint64_t v)
{
	return v < 24 ? 0 : v <= 0xff ? 1 : v <= 0xffff ? 2 :
	    v <= 0xffffffffu ? 4 : 8;
}

static void
test_reader_head_boundaries(void)
{
	static const uint64_t vals[] = { 0, 1, 23, 24, 255, 256, 65535,
		65536, 0xffffffffu, 0x100000000ull, UINT64_MAX };
	static const size_t widths[] = { 0, 1, 2, 4, 8 };
	uint8_t buf[16], wbuf[16];
	struct wire_writer w;
	uint64_t v;
	size_t len, wlen;

	for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
		/* What the writer writes is the shortest and reads back. */
		wire_writer_init(&w, wbuf, sizeof wbuf);
		wire_put_uint(&w, vals[i]);
		CHECK_INT(wire_writer_finish(&w, &wlen), 0);
		CHECK_INT(wlen, 1 + shortest(vals[i]));
		CHECK_INT(read_uint(wbuf, wlen, &v), 0);
		CHECK_INT(v, vals[i]);
		/* Every other width that can hold the value is refused as
		 * non-shortest; the shortest one is the writer's. */
		for (size_t k = 0; k < sizeof widths / sizeof widths[0]; k++) {
			size_t x = widths[k];
			if (x == 0 ? vals[i] >= 24 : x < 8 &&
			    vals[i] >> (8 * x) != 0)
				continue;	/* does not fit */
			len = head_put(buf, 0, vals[i], x);
			int want = x == shortest(vals[i]) ? 0 :
			    ERR_NONCANONICAL;
			CHECK_INT(read_uint(buf, len, &v), want);
			if (want == 0)
				CHECK_MEM(buf, wbuf, len);
		}
	}
	/* The same rule for lengths and counts: an empty byte string, map
	 * and array with a one-byte argument. */
	{
		static const uint8_t b0[] = { 0x58, 0x00 },
			m0[] = { 0xb8, 0x00 }, a0[] = { 0x98, 0x00 },
			t0[] = { 0x78, 0x00 };
		struct wire_reader r;
		const uint8_t *p;
		size_t n;
		char t[4];

		wire_reader_init(&r, b0, sizeof b0);
		CHECK_INT(wire_read_bytes(&r, &p, &n), ERR_NONCANONICAL);
		wire_reader_init(&r, m0, sizeof m0);
		CHECK_INT(wire_read_map(&r, 0), ERR_NONCANONICAL);
		wire_reader_init(&r, a0, sizeof a0);
		CHECK_INT(wire_read_array(&r, 4, &n), ERR_NONCANONICAL);
		wire_reader_init(&r, t0, sizeof t0);
		CHECK_INT(wire_read_text(&r, t, sizeof t), ERR_NONCANONICAL);
	}
}

/* A byte string of n bytes (length head in its shortest form). */
static uint8_t *
bstr(size_t n, size_t *len)
{
	uint8_t *p = malloc(n + 9);

	if (p == NULL)
		abort();
	*len = head_put(p, 2, n, shortest(n)) + n;
	memset(p + *len - n, 0xab, n);
	return p;
}

static void
test_reader_string_lengths(void)
{
	static const size_t ns[] = { 0, 23, 24, 255, 256, 65535, 65536 };
	struct wire_reader r;
	const uint8_t *p;
	size_t n, len;

	for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
		uint8_t *b = bstr(ns[i], &len);
		CHECK_INT(len, 1 + shortest(ns[i]) + ns[i]);
		wire_reader_init(&r, b, len);
		CHECK_INT(wire_read_bytes(&r, &p, &n), 0);
		CHECK_INT(n, ns[i]);
		CHECK(p == b + len - ns[i]);
		CHECK_INT(wire_read_end(&r), 0);
		/* one byte short of its length */
		wire_reader_init(&r, b, len - 1);
		if (ns[i] > 0)
			CHECK_INT(wire_read_bytes(&r, &p, &n), ERR_PARSE);
		free(b);
	}
}

static void
test_reader_huge_lengths(void)
{
	/* lengths and counts the input cannot hold */
	static const uint8_t bytes64[] = { 0x5b, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0x00 };
	static const uint8_t bytes32[] = { 0x5a, 0x00, 0x01, 0x00, 0x00, 0x01 };
	static const uint8_t text1[] = { 0x61 };
	static const uint8_t map63[] = { 0xbb, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x01,
		0x01 };
	static const uint8_t map2[] = { 0xa2, 0x01, 0x01, 0x02 };
	static const uint8_t arr3[] = { 0x83, 0x01, 0x02 };
	static const uint8_t arr5[] = { 0x85, 0x01, 0x02, 0x03, 0x04, 0x05 };
	struct wire_reader r;
	const uint8_t *p;
	size_t n;
	char t[8];

	wire_reader_init(&r, bytes64, sizeof bytes64);
	CHECK_INT(wire_read_bytes(&r, &p, &n), ERR_PARSE);
	wire_reader_init(&r, bytes32, sizeof bytes32);
	CHECK_INT(wire_read_bytes(&r, &p, &n), ERR_PARSE);
	wire_reader_init(&r, text1, sizeof text1);
	CHECK_INT(wire_read_text(&r, t, sizeof t), ERR_PARSE);
	wire_reader_init(&r, map63, sizeof map63);
	CHECK_INT(wire_read_map(&r, 1), ERR_PARSE);	/* not that count */
	/* a map of 2 pairs needs at least 4 bytes after its head */
	wire_reader_init(&r, map2, sizeof map2);
	CHECK_INT(wire_read_map(&r, 2), ERR_PARSE);
	wire_reader_init(&r, arr3, sizeof arr3);
	CHECK_INT(wire_read_array(&r, 10, &n), ERR_PARSE);
	/* an array larger than the decoder's maximum */
	wire_reader_init(&r, arr5, sizeof arr5);
	CHECK_INT(wire_read_array(&r, 4, &n), ERR_TOO_BIG);
	wire_reader_init(&r, arr5, sizeof arr5);
	CHECK_INT(wire_read_array(&r, 5, &n), 0);
	CHECK_INT(n, 5);
}

/* Reads {key: uint, ...} expecting the keys in want[]. */
static int
read_keys(const uint8_t *p, size_t n, size_t npairs, const uint64_t *want)
{
	struct wire_reader r;
	uint64_t v;
	int e;

	wire_reader_init(&r, p, n);
	if ((e = wire_read_map(&r, npairs)) != 0)
		return e;
	for (size_t i = 0; i < npairs; i++)
		if ((e = wire_read_key(&r, want[i])) != 0 ||
		    (e = wire_read_uint(&r, &v)) != 0)
			return e;
	return wire_read_end(&r);
}

static void
test_reader_keys(void)
{
	static const uint64_t k012[] = { 0, 1, 2 }, k123[] = { 1, 2, 3 };
	static const uint8_t ok[] = { 0xa3, 0x00, 0x07, 0x01, 0x07, 0x02,
		0x07 };
	static const uint8_t dup[] = { 0xa3, 0x00, 0x07, 0x00, 0x07, 0x02,
		0x07 };
	static const uint8_t down[] = { 0xa3, 0x00, 0x07, 0x02, 0x07, 0x01,
		0x07 };
	static const uint8_t wide[] = { 0xa3, 0x00, 0x07, 0x18, 0x01, 0x07,
		0x02, 0x07 };
	static const uint8_t neg[] = { 0xa3, 0x00, 0x07, 0x20, 0x07, 0x02,
		0x07 };
	static const uint8_t text[] = { 0xa3, 0x00, 0x07, 0x61, 0x61, 0x07,
		0x02, 0x07 };

	CHECK_INT(read_keys(ok, sizeof ok, 3, k012), 0);
	/* the same key twice */
	CHECK_INT(read_keys(dup, sizeof dup, 3, k012), ERR_NONCANONICAL);
	/* 2 before 1: the expected 1 is missing at 2 (ERR_PARSE), and if 2
	 * was expected, 1 after it is out of order */
	CHECK_INT(read_keys(down, sizeof down, 3, k012), ERR_PARSE);
	{
		static const uint64_t k021[] = { 0, 2, 1 };
		CHECK_INT(read_keys(down, sizeof down, 3, k021),
		    ERR_NONCANONICAL);
	}
	/* a key not in its shortest form */
	CHECK_INT(read_keys(wide, sizeof wide, 3, k012), ERR_NONCANONICAL);
	/* keys that are not unsigned integers */
	CHECK_INT(read_keys(neg, sizeof neg, 3, k012), ERR_PARSE);
	CHECK_INT(read_keys(text, sizeof text, 3, k012), ERR_PARSE);
	/* another key than expected (unknown, or the expected one missing) */
	CHECK_INT(read_keys(ok, sizeof ok, 3, k123), ERR_PARSE);
	/* another pair count */
	CHECK_INT(read_keys(ok, sizeof ok, 2, k012), ERR_PARSE);
	/* the keys of a nested map are their own sequence */
	{
		static const uint8_t nested[] = { 0xa2, 0x01, 0xa1, 0x05, 0x07,
			0x02, 0x07 };
		struct wire_reader r;
		uint64_t v;
		wire_reader_init(&r, nested, sizeof nested);
		CHECK_INT(wire_read_map(&r, 2), 0);
		CHECK_INT(wire_read_key(&r, 1), 0);
		CHECK_INT(wire_read_map(&r, 1), 0);
		CHECK_INT(wire_read_key(&r, 5), 0);
		CHECK_INT(wire_read_uint(&r, &v), 0);
		CHECK_INT(wire_read_key(&r, 2), 0);	/* after 1, not 5 */
		CHECK_INT(wire_read_uint(&r, &v), 0);
		CHECK_INT(wire_read_end(&r), 0);
	}
}

/* n arrays of one item nested in one another around the innermost item
 * (0x80: an empty array, 0x01: the integer 1). */
static size_t
nest(uint8_t *out, size_t n, uint8_t inner)
{
	memset(out, 0x81, n);
	out[n] = inner;
	return n + 1;
}

static int
read_nest(const uint8_t *p, size_t len, size_t arrays, bool empty)
{
	struct wire_reader r;
	size_t n;
	uint64_t v;
	int e;

	wire_reader_init(&r, p, len);
	for (size_t i = 0; i < arrays; i++)
		if ((e = wire_read_array(&r, 1, &n)) != 0)
			return e;
	if (!empty && (e = wire_read_uint(&r, &v)) != 0)
		return e;
	return wire_read_end(&r);
}

static void
test_reader_nesting(void)
{
	uint8_t buf[WIRE_MAX_DEPTH + 4];
	size_t len;

	/* WIRE_MAX_DEPTH containers, one inside the other: read */
	len = nest(buf, WIRE_MAX_DEPTH, 0x01);
	CHECK_INT(read_nest(buf, len, WIRE_MAX_DEPTH, false), 0);
	len = nest(buf, WIRE_MAX_DEPTH - 1, 0x80);
	CHECK_INT(read_nest(buf, len, WIRE_MAX_DEPTH, true), 0);
	/* one more, even an empty one: refused */
	len = nest(buf, WIRE_MAX_DEPTH + 1, 0x01);
	CHECK_INT(read_nest(buf, len, WIRE_MAX_DEPTH + 1, false), ERR_PARSE);
	len = nest(buf, WIRE_MAX_DEPTH, 0x80);
	CHECK_INT(read_nest(buf, len, WIRE_MAX_DEPTH + 1, true), ERR_PARSE);
	/* an unfinished container at the end */
	len = nest(buf, 3, 0x01);
	CHECK_INT(read_nest(buf, len - 1, 3, true), ERR_PARSE);
}

static void
test_reader_text(void)
{
	static const uint8_t nul[] = { 0x63, 'a', 0x00, 'b' };
	static const uint8_t bad[] = { 0x62, 0xc0, 0x80 };	/* overlong */
	static const uint8_t surrogate[] = { 0x63, 0xed, 0xa0, 0x80 };
	static const uint8_t five[] = { 0x65, 'n', 'o', 'r', 't', 'h' };
	static const uint8_t empty[] = { 0x60 };
	static const uint8_t bytes[] = { 0x41, 'a' };
	struct wire_reader r;
	char t[6];

	wire_reader_init(&r, nul, sizeof nul);
	CHECK_INT(wire_read_text(&r, t, sizeof t), ERR_PARSE);
	wire_reader_init(&r, bad, sizeof bad);
	CHECK_INT(wire_read_text(&r, t, sizeof t), ERR_PARSE);
	wire_reader_init(&r, surrogate, sizeof surrogate);
	CHECK_INT(wire_read_text(&r, t, sizeof t), ERR_PARSE);
	/* five bytes need six with the NUL */
	wire_reader_init(&r, five, sizeof five);
	CHECK_INT(wire_read_text(&r, t, 6), 0);
	CHECK_STR(t, "north");
	CHECK_INT(wire_read_end(&r), 0);
	wire_reader_init(&r, five, sizeof five);
	CHECK_INT(wire_read_text(&r, t, 5), ERR_TOO_BIG);
	wire_reader_init(&r, empty, sizeof empty);
	CHECK_INT(wire_read_text(&r, t, 1), 0);
	CHECK_STR(t, "");
	/* a byte string is not text, nor the reverse */
	wire_reader_init(&r, bytes, sizeof bytes);
	CHECK_INT(wire_read_text(&r, t, sizeof t), ERR_PARSE);
	{
		const uint8_t *p;
		size_t n;
		wire_reader_init(&r, five, sizeof five);
		CHECK_INT(wire_read_bytes(&r, &p, &n), ERR_PARSE);
	}
}

/* Reads the single item as every scalar kind: how many refuse ERR_PARSE
 * (all but at most one, since the item has one type). */
static int
parse_refusals(const uint8_t *p, size_t n)
{
	struct wire_reader r;
	const uint8_t *b;
	uint64_t v;
	size_t len;
	bool yes;
	char t[8];
	int count = 0;

	wire_reader_init(&r, p, n);
	count += wire_read_uint(&r, &v) == ERR_PARSE;
	wire_reader_init(&r, p, n);
	count += wire_read_bytes(&r, &b, &len) == ERR_PARSE;
	wire_reader_init(&r, p, n);
	count += wire_read_text(&r, t, sizeof t) == ERR_PARSE;
	wire_reader_init(&r, p, n);
	count += wire_read_bool(&r, &yes) == ERR_PARSE;
	wire_reader_init(&r, p, n);
	count += wire_read_null(&r) == ERR_PARSE;
	wire_reader_init(&r, p, n);
	count += wire_read_array(&r, 8, &len) == ERR_PARSE;
	wire_reader_init(&r, p, n);
	count += wire_read_map(&r, 1) == ERR_PARSE;
	return count;
}

static void
test_reader_outside_subset(void)
{
	static const struct {
		uint8_t b[10];
		size_t n;
	} refused[] = {
		{ { 0xc0, 0x01 }, 2 },			/* tag 0 */
		{ { 0xd8, 0x20, 0x01 }, 3 },		/* tag 32 */
		{ { 0xf9, 0x3c, 0x00 }, 3 },		/* half float */
		{ { 0xfa, 0, 0, 0, 0 }, 5 },		/* float */
		{ { 0xfb, 0, 0, 0, 0, 0, 0, 0, 0 }, 9 }, /* double */
		{ { 0xf7 }, 1 },			/* undefined */
		{ { 0xf0 }, 1 },			/* simple 16 */
		{ { 0xf8, 0x14 }, 2 },			/* false, wide */
		{ { 0xf8, 0xff }, 2 },			/* simple 255 */
		{ { 0x5f, 0x41, 0x01, 0xff }, 4 },	/* indefinite */
		{ { 0x7f, 0xff }, 2 },
		{ { 0x9f, 0xff }, 2 },
		{ { 0xbf, 0xff }, 2 },
		{ { 0xff }, 1 },			/* break */
		{ { 0x1c }, 1 },			/* reserved 28..30 */
		{ { 0x3d }, 1 },
		{ { 0x5e }, 1 },
		{ { 0x20 }, 1 },			/* -1: no reader */
	};

	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
		CHECK_INT(parse_refusals(refused[i].b, refused[i].n), 7);
	/* The ones in the subset: each read by exactly one function. */
	{
		static const uint8_t in[][3] = { { 0x01 }, { 0x41, 0x01 },
			{ 0x61, 0x61 }, { 0xf4 }, { 0xf5 }, { 0xf6 },
			{ 0x81, 0x01 }, { 0xa1, 0x01, 0x01 } };
		static const size_t len[] = { 1, 2, 2, 1, 1, 1, 2, 3 };
		for (size_t i = 0; i < sizeof len / sizeof len[0]; i++)
			CHECK_INT(parse_refusals(in[i], len[i]), 6);
	}
}

static void
test_reader_sticky_and_misuse(void)
{
	static const uint8_t two[] = { 0x01, 0x02 };
	static const uint8_t map1[] = { 0xa1, 0x01, 0x02 };
	static const uint8_t wide[] = { 0x18, 0x01 };
	struct wire_reader r;
	uint64_t v;
	bool b;

	/* the first refusal sticks: later calls and the end return it (the
	 * head is judged before its type) */
	wire_reader_init(&r, wide, sizeof wide);
	CHECK_INT(wire_read_bool(&r, &b), ERR_NONCANONICAL);
	CHECK_INT(wire_read_uint(&r, &v), ERR_NONCANONICAL);
	CHECK_INT(wire_read_end(&r), ERR_NONCANONICAL);
	wire_reader_init(&r, map1, sizeof map1);
	CHECK_INT(wire_read_bool(&r, &b), ERR_PARSE);
	CHECK_INT(wire_read_map(&r, 1), ERR_PARSE);
	CHECK_INT(wire_read_end(&r), ERR_PARSE);
	/* one top-level item only */
	wire_reader_init(&r, two, sizeof two);
	CHECK_INT(wire_read_uint(&r, &v), 0);
	CHECK_INT(wire_read_uint(&r, &v), ERR_PARSE);
	/* a key where none is due, a value where a key is */
	wire_reader_init(&r, two, sizeof two);
	CHECK_INT(wire_read_key(&r, 1), ERR_PARSE);
	wire_reader_init(&r, map1, sizeof map1);
	CHECK_INT(wire_read_map(&r, 1), 0);
	CHECK_INT(wire_read_uint(&r, &v), ERR_PARSE);
	wire_reader_init(&r, map1, sizeof map1);
	CHECK_INT(wire_read_map(&r, 1), 0);
	CHECK_INT(wire_read_key(&r, 1), 0);
	CHECK_INT(wire_read_key(&r, 2), ERR_PARSE);
	/* more pairs than the map holds */
	wire_reader_init(&r, map1, sizeof map1);
	CHECK_INT(wire_read_map(&r, 1), 0);
	CHECK_INT(wire_read_key(&r, 1), 0);
	CHECK_INT(wire_read_uint(&r, &v), 0);
	CHECK_INT(wire_read_key(&r, 2), ERR_PARSE);
	/* the end before the item is read */
	wire_reader_init(&r, map1, sizeof map1);
	CHECK_INT(wire_read_map(&r, 1), 0);
	CHECK_INT(wire_read_end(&r), ERR_PARSE);
	wire_reader_init(&r, two, 0);
	CHECK_INT(wire_read_end(&r), ERR_PARSE);
	CHECK_INT(wire_read_uint(&r, &v), ERR_PARSE);
}

static void
test_index_is_tolerant(void)
{
	/* {1: 5 (in 2 bytes), 3: h'aabb', 1: 6, 2: true} */
	static const uint8_t m[] = { 0xa4, 0x01, 0x18, 0x05, 0x03, 0x42, 0xaa,
		0xbb, 0x01, 0x06, 0x19, 0x00, 0x02, 0xf5 };
	static const uint8_t other[] = { 0xa2, 0x01, 0x01, 0x20, 0x01 };
	static const uint8_t textkey[] = { 0xa1, 0x61, 0x61, 0x01 };
	static const uint8_t last[] = { 0xa1, 0x0f, 0x07 };
	static const uint8_t beyond[] = { 0xa1, 0x10, 0x07 };
	static const uint8_t arr[] = { 0x81, 0x01 };
	static const uint8_t trailing[] = { 0xa0, 0x00 };
	static const uint8_t badtext[] = { 0xa1, 0x01, 0x61, 0xff };
	struct wire_index ix;
	uint8_t two[2], three[3];
	uint64_t v;

	CHECK_INT(wire_index_map(&ix, m, sizeof m, 3), 0);
	CHECK(!ix.other);
	CHECK_INT(wire_index_uint(&ix, 1, &v), 0);
	CHECK_INT(v, 5);			/* the first of two */
	CHECK_INT(wire_index_bytes(&ix, 3, two, 2), 0);
	CHECK_INT(two[1], 0xbb);
	CHECK_INT(wire_index_bytes(&ix, 3, three, 3), ERR_PARSE);
	CHECK_INT(wire_index_uint(&ix, 3, &v), ERR_PARSE);
	CHECK_INT(wire_index_uint(&ix, 2, &v), ERR_PARSE);  /* a bool */
	CHECK_INT(wire_index_map(&ix, m, sizeof m, 1), 0);
	CHECK(ix.other);			/* keys 2, 3 are beyond 1 */
	CHECK_INT(wire_index_uint(&ix, 3, &v), ERR_PARSE);
	CHECK_INT(wire_index_map(&ix, other, sizeof other, 3), 0);
	CHECK(ix.other);			/* -1 */
	CHECK_INT(wire_index_map(&ix, textkey, sizeof textkey, 3), 0);
	CHECK(ix.other);
	CHECK_INT(wire_index_map(&ix, last, sizeof last, WIRE_INDEX_KEYS), 0);
	CHECK(!ix.other);
	CHECK_INT(wire_index_uint(&ix, WIRE_INDEX_KEYS, &v), 0);
	CHECK_INT(v, 7);
	CHECK_INT(wire_index_map(&ix, beyond, sizeof beyond, WIRE_INDEX_KEYS),
	    0);
	CHECK(ix.other);
	CHECK_INT(wire_index_uint(&ix, WIRE_INDEX_KEYS + 1, &v), ERR_PARSE);
	CHECK_INT(wire_index_map(&ix, last, sizeof last, WIRE_INDEX_KEYS + 1),
	    ERR_PARSE);			/* more keys than it keeps */
	CHECK_INT(wire_index_map(&ix, arr, sizeof arr, 3), ERR_PARSE);
	CHECK_INT(wire_index_map(&ix, trailing, sizeof trailing, 3),
	    ERR_PARSE);
	CHECK_INT(wire_index_map(&ix, badtext, sizeof badtext, 3), ERR_PARSE);
	CHECK_INT(wire_index_map(&ix, m, 0, 3), ERR_PARSE);
}

/* libcbor's verdict on p as the contents of a text string. */
static bool
libcbor_utf8(const uint8_t *p, size_t n)
{
	uint8_t buf[32];
	struct cbor_load_result res;
	cbor_item_t *item;

	if (n > 23)
		abort();
	buf[0] = (uint8_t)(0x60 | n);
	memcpy(buf + 1, p, n);
	item = cbor_load(buf, n + 1, &res);
	if (item == NULL)
		return false;
	cbor_decref(&item);
	return true;
}

static void
test_utf8_agrees_with_libcbor(void)
{
	static const uint8_t pick[] = { 0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90,
		0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0,
		0xf4, 0xf5, 0xff };
	size_t np = sizeof pick, disagree = 0;
	uint8_t s[24];

	/* every string of one and two bytes */
	for (unsigned a = 0; a < 256; a++) {
		s[0] = (uint8_t)a;
		disagree += wire_utf8_is_valid(s, 1) != libcbor_utf8(s, 1);
		for (unsigned b = 0; b < 256; b++) {
			s[1] = (uint8_t)b;
			disagree += wire_utf8_is_valid(s, 2) !=
			    libcbor_utf8(s, 2);
		}
	}
	/* every lead byte with picked continuations, three and four bytes */
	for (unsigned a = 0x80; a < 256; a++)
		for (size_t i = 0; i < np; i++)
			for (size_t j = 0; j < np; j++) {
				s[0] = (uint8_t)a;
				s[1] = pick[i];
				s[2] = pick[j];
				disagree += wire_utf8_is_valid(s, 3) !=
				    libcbor_utf8(s, 3);
				for (size_t k = 0; k < np; k++) {
					s[3] = pick[k];
					disagree += wire_utf8_is_valid(s, 4) !=
					    libcbor_utf8(s, 4);
				}
			}
	/* one sequence at every offset of an ASCII run (the eight-byte
	 * fast path), whole and cut short */
	{
		static const char *const seqs[] = { "\xc3\xa9", "\xe2\x82\xac",
			"\xf0\x9d\x84\x9e", "\x80", "\xc0\x80", "\xed\xa0\x80",
			"\xf4\x90\x80\x80", "\xff" };
		for (size_t q = 0; q < sizeof seqs / sizeof seqs[0]; q++) {
			size_t sl = strlen(seqs[q]);
			for (size_t at = 0; at + sl <= 20; at++) {
				for (size_t n = at; n <= 20; n++) {
					memset(s, 'x', sizeof s);
					memcpy(s + at, seqs[q], sl);
					disagree += wire_utf8_is_valid(s, n) !=
					    libcbor_utf8(s, n);
				}
			}
		}
	}
	CHECK_INT(disagree, 0);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	RUN(test_reader_round_trip);
	RUN(test_reader_truncation_and_trailing);
	RUN(test_reader_head_boundaries);
	RUN(test_reader_string_lengths);
	RUN(test_reader_huge_lengths);
	RUN(test_reader_keys);
	RUN(test_reader_nesting);
	RUN(test_reader_text);
	RUN(test_reader_outside_subset);
	RUN(test_reader_sticky_and_misuse);
	RUN(test_index_is_tolerant);
	RUN(test_utf8_agrees_with_libcbor);
	return harness_summary();
}
