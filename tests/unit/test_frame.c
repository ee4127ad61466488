/* test_frame.c: the 2-byte length framing (link/frame.h): split input at
 * every byte, zero and oversized lengths, buffer swaps, headers; the
 * chunk reader: many frames in one read, a stream cut at every byte
 * boundary, lengths refused before their body is in, room to finish the
 * longest frame. */
#include <stdlib.h>

#include "../harness.h"
#include "link/frame.h"

static void
test_header(void)
{
	uint8_t h[2];

	CHECK_INT(frame_header(h, 1), 0);
	CHECK_INT(h[0], 0);
	CHECK_INT(h[1], 1);
	CHECK_INT(frame_header(h, 0x1234), 0);
	CHECK_INT(h[0], 0x12);
	CHECK_INT(h[1], 0x34);
	CHECK_INT(frame_header(h, FRAME_MAX), 0);
	CHECK_INT(h[0], 0xff);
	CHECK_INT(frame_header(h, 0), ERR_TOO_BIG);
	CHECK_INT(frame_header(h, FRAME_MAX + 1), ERR_TOO_BIG);
}

/* Two frames in one stream, fed in chunks of every size from 1 up. */
static void
test_split_everywhere(void)
{
	uint8_t stream[2 + 5 + 2 + 3] = { 0, 5, 'h', 'e', 'l', 'l', 'o',
	    0, 3, 'a', 'b', 'c' };
	uint8_t buf[16];

	for (size_t chunk = 1; chunk <= sizeof stream; chunk++) {
		struct frame_reader fr;
		size_t off = 0, used, frames = 0;
		int r;

		frame_reader_init(&fr, buf, sizeof buf, sizeof buf);
		while (off < sizeof stream) {
			size_t n = sizeof stream - off < chunk ?
			    sizeof stream - off : chunk;
			r = frame_reader_feed(&fr, stream + off, n, &used);
			CHECK(r >= 0);
			off += used;
			if (r == FRAME_READY) {
				if (frames == 0) {
					CHECK_INT(fr.len, 5);
					CHECK_MEM(fr.buf, "hello", 5);
				} else {
					CHECK_INT(fr.len, 3);
					CHECK_MEM(fr.buf, "abc", 3);
				}
				frames++;
				frame_reader_next(&fr);
			}
			if (r < 0)
				break;
		}
		CHECK_INT(frames, 2);
	}
}

static void
test_refusals(void)
{
	struct frame_reader fr;
	uint8_t buf[160], zero[2] = { 0, 0 }, big[2] = { 0xff, 0xff };
	uint8_t over[2] = { 0, 161 };
	size_t used;

	frame_reader_init(&fr, buf, sizeof buf, sizeof buf);
	CHECK_INT(frame_reader_feed(&fr, zero, 2, &used), ERR_PARSE);
	frame_reader_init(&fr, buf, sizeof buf, sizeof buf);
	CHECK_INT(frame_reader_feed(&fr, big, 2, &used), ERR_TOO_BIG);
	frame_reader_init(&fr, buf, sizeof buf, sizeof buf);
	CHECK_INT(frame_reader_feed(&fr, over, 2, &used), ERR_TOO_BIG);
	/* max larger than the buffer: feed refuses rather than overflow */
	frame_reader_init(&fr, buf, 4, 100);
	CHECK_INT(frame_reader_feed(&fr, over + 0, 1, &used), FRAME_MORE);
	{
		uint8_t b[1] = { 50 };
		CHECK_INT(frame_reader_feed(&fr, b, 1, &used), ERR_TOO_BIG);
	}
}

/* The want/got interface never asks for more than the current frame:
 * the bytes of the next frame stay in the socket. */
static void
test_want_bounded(void)
{
	struct frame_reader fr;
	uint8_t small[8], big[300];
	size_t n;
	uint8_t *p;

	frame_reader_init(&fr, small, sizeof small, 1000);
	p = frame_reader_want(&fr, &n);
	CHECK_INT(n, 2);
	p[0] = 0x01;
	p[1] = 0x00;		/* 256 bytes */
	CHECK_INT(frame_reader_got(&fr, 2), FRAME_HEADER);
	CHECK_INT(fr.len, 256);
	frame_reader_set_buffer(&fr, big, sizeof big);
	p = frame_reader_want(&fr, &n);
	CHECK(p == big);
	CHECK_INT(n, 256);
	CHECK_INT(frame_reader_got(&fr, 100), FRAME_MORE);
	p = frame_reader_want(&fr, &n);
	CHECK(p == big + 100);
	CHECK_INT(n, 156);
	CHECK_INT(frame_reader_got(&fr, 156), FRAME_READY);
	frame_reader_next(&fr);
	p = frame_reader_want(&fr, &n);
	CHECK_INT(n, 2);
	CHECK(p == fr.hdr);
}

/*
 * frame_reader_got, as documented in frame.h: a length over max is
 * ERR_TOO_BIG; a length within max but over the buffer's cap is
 * FRAME_HEADER (the caller swaps in a bigger buffer, as conn.c does),
 * after which the body lands in the new buffer; feed refuses it instead.
 */
static void
test_got_header_then_swap(void)
{
	struct frame_reader fr;
	uint8_t small[4], big[64], *dst;
	size_t want, used;
	const uint8_t hdr[2] = { 0, 10 }, body[10] = "0123456789";

	frame_reader_init(&fr, small, sizeof small, 32);
	dst = frame_reader_want(&fr, &want);
	CHECK_INT(want, 2);
	memcpy(dst, hdr, 2);
	CHECK_INT(frame_reader_got(&fr, 2), FRAME_HEADER);
	CHECK_INT(fr.len, 10);
	frame_reader_set_buffer(&fr, big, sizeof big);
	dst = frame_reader_want(&fr, &want);
	CHECK(dst == big);
	CHECK_INT(want, 10);
	memcpy(dst, body, 10);
	CHECK_INT(frame_reader_got(&fr, 10), FRAME_READY);
	CHECK_MEM(big, body, 10);
	/* over max: refused at the header */
	frame_reader_init(&fr, big, sizeof big, 8);
	dst = frame_reader_want(&fr, &want);
	memcpy(dst, hdr, 2);
	CHECK_INT(frame_reader_got(&fr, 2), ERR_TOO_BIG);
	/* feed checks the cap itself */
	frame_reader_init(&fr, small, sizeof small, 32);
	CHECK_INT(frame_reader_feed(&fr, hdr, 2, &used), ERR_TOO_BIG);
}

/* A stream of frames: lengths from lens (n of them), the bytes of frame i
 * are (i + j) & 0xff. Returns the stream's length. */
static size_t
stream_make(uint8_t *out, const size_t *lens, size_t n)
{
	size_t off = 0;

	for (size_t i = 0; i < n; i++) {
		CHECK_INT(frame_header(out + off, lens[i]), 0);
		off += FRAME_HDR_LEN;
		for (size_t j = 0; j < lens[i]; j++)
			out[off + j] = (uint8_t)(i + j);
		off += lens[i];
	}
	return off;
}

/*
 * Feeds stream (n bytes) to a chunk reader as reads of the sizes in cuts
 * (ncut of them, the last repeated; each read also limited by the room the
 * reader gives, as read(2) is), cutting frames whenever no more are
 * whole. Returns how many frames came out, each checked against lens.
 */
static size_t
chunk_run(const uint8_t *stream, size_t n, const size_t *cuts, size_t ncut,
    const size_t *lens, size_t nlens)
{
	static uint8_t buf[FRAME_CHUNK_LEN];
	struct frame_chunk fc;
	size_t off = 0, k = 0, frames = 0, len, room, take;
	uint8_t *f, *dst;
	int r;

	frame_chunk_init(&fc, FRAME_MAX);
	frame_chunk_set_buffer(&fc, buf, sizeof buf);
	for (;;) {
		while ((r = frame_chunk_next(&fc, &f, &len)) == FRAME_READY) {
			if (frames >= nlens) {
				CHECK(frames < nlens);
				return frames;
			}
			CHECK_INT(len, lens[frames]);
			for (size_t j = 0; j < len; j++)
				if (f[j] != (uint8_t)(frames + j)) {
					CHECK_INT(f[j], (uint8_t)(frames + j));
					break;
				}
			frames++;
		}
		CHECK_INT(r, FRAME_MORE);
		if (r != FRAME_MORE || off == n)
			break;
		dst = frame_chunk_room(&fc, &room);
		CHECK(room >= 1);
		take = cuts[k < ncut ? k : ncut - 1];
		k++;
		if (take > n - off)
			take = n - off;
		if (take > room)
			take = room;
		memcpy(dst, stream + off, take);
		frame_chunk_got(&fc, take);
		off += take;
	}
	CHECK(frame_chunk_empty(&fc));
	return frames;
}

/* Several frames in one read: all cut from it, in order, none left. */
static void
test_chunk_many_in_one_read(void)
{
	static uint8_t stream[200 * (FRAME_HDR_LEN + 60)];
	size_t lens[200], n, cut = sizeof stream;

	for (size_t i = 0; i < 200; i++)
		lens[i] = 1 + i % 60;
	n = stream_make(stream, lens, 200);
	CHECK_INT(chunk_run(stream, n, &cut, 1, lens, 200), 200);
}

/*
 * A stream cut into two reads at every byte boundary, and read a byte at
 * a time, 2 at a time, ...: every frame whole and in order, whatever the
 * cut (inside a header, between header and body, inside a body).
 */
static void
test_chunk_split_everywhere(void)
{
	static uint8_t stream[4 * (FRAME_HDR_LEN + 300)];
	size_t lens[4] = { 1, 300, 2, 257 }, n, cuts[2];

	n = stream_make(stream, lens, 4);
	for (size_t k = 0; k <= n; k++) {
		cuts[0] = k;
		cuts[1] = n;
		CHECK_INT(chunk_run(stream, n, cuts, 2, lens, 4), 4);
	}
	for (size_t c = 1; c <= 9; c++)
		CHECK_INT(chunk_run(stream, n, &c, 1, lens, 4), 4);
}

/*
 * The longest frames, read in pieces that never line up with them: a
 * partial frame kept at the buffer's end is moved to its start, and the
 * room given always finishes it.
 */
static void
test_chunk_longest(void)
{
	static uint8_t stream[3 * FRAME_CHUNK_LEN + 10];
	size_t lens[4] = { FRAME_MAX, 3, FRAME_MAX, FRAME_MAX }, n;
	size_t cuts[3] = { 40000, 30001, 65535 };

	n = stream_make(stream, lens, 4);
	CHECK_INT(chunk_run(stream, n, cuts, 3, lens, 4), 4);
	for (size_t c = 65530; c <= 65537; c++)
		CHECK_INT(chunk_run(stream, n, &c, 1, lens, 4), 4);
}

/*
 * Lengths are judged when their 2 bytes are in, before any of the body:
 * an oversized length is refused with only its header held, a zero one
 * too; the error stays. A header split over two reads waits.
 */
static void
test_chunk_refusals(void)
{
	static uint8_t buf[FRAME_HDR_LEN + 100];
	const uint8_t over[2] = { 0, 101 }, zero[2] = { 0, 0 };
	const uint8_t ok[5] = { 0, 100, 'a', 'b', 'c' };
	struct frame_chunk fc;
	uint8_t *dst, *f = NULL;
	size_t room, len = 0;

	frame_chunk_init(&fc, 100);
	frame_chunk_set_buffer(&fc, buf, sizeof buf);
	CHECK_INT(frame_chunk_next(&fc, &f, &len), FRAME_MORE);
	dst = frame_chunk_room(&fc, &room);
	CHECK_INT(room, sizeof buf);
	dst[0] = over[0];
	frame_chunk_got(&fc, 1);
	CHECK_INT(frame_chunk_next(&fc, &f, &len), FRAME_MORE);
	dst = frame_chunk_room(&fc, &room);
	dst[0] = over[1];
	frame_chunk_got(&fc, 1);
	CHECK_INT(frame_chunk_next(&fc, &f, &len), ERR_TOO_BIG);
	CHECK_INT(len, 101);
	CHECK_INT(frame_chunk_next(&fc, &f, &len), ERR_TOO_BIG);

	frame_chunk_init(&fc, 100);
	frame_chunk_set_buffer(&fc, buf, sizeof buf);
	dst = frame_chunk_room(&fc, &room);
	memcpy(dst, zero, 2);
	frame_chunk_got(&fc, 2);
	CHECK_INT(frame_chunk_next(&fc, &f, &len), ERR_PARSE);
	CHECK_INT(len, 0);

	/* a frame of exactly max, only partly in: more wanted, not refused */
	frame_chunk_init(&fc, 100);
	frame_chunk_set_buffer(&fc, buf, sizeof buf);
	dst = frame_chunk_room(&fc, &room);
	memcpy(dst, ok, sizeof ok);
	frame_chunk_got(&fc, sizeof ok);
	CHECK_INT(frame_chunk_next(&fc, &f, &len), FRAME_MORE);
	CHECK(!frame_chunk_empty(&fc));
	dst = frame_chunk_room(&fc, &room);
	CHECK_INT(room, sizeof buf - sizeof ok);
	memset(dst, 'z', 97);
	frame_chunk_got(&fc, 97);
	CHECK_INT(frame_chunk_next(&fc, &f, &len), FRAME_READY);
	CHECK_INT(len, 100);
	CHECK_MEM(f, "abc", 3);
	CHECK(frame_chunk_empty(&fc));
	/* empty: the buffer can go back, and come again */
	frame_chunk_set_buffer(&fc, NULL, 0);
	CHECK_INT(frame_chunk_next(&fc, &f, &len), FRAME_MORE);
	frame_chunk_set_buffer(&fc, buf, sizeof buf);
	CHECK_INT(frame_chunk_next(&fc, &f, &len), FRAME_MORE);
}

int
main(void)
{
	RUN(test_header);
	RUN(test_got_header_then_swap);
	RUN(test_split_everywhere);
	RUN(test_refusals);
	RUN(test_want_bounded);
	RUN(test_chunk_many_in_one_read);
	RUN(test_chunk_split_everywhere);
	RUN(test_chunk_longest);
	RUN(test_chunk_refusals);
	return harness_summary();
}
