/* test_frame.c: the 2-byte length framing (link/frame.h): split input at
 * every byte, zero and oversized lengths, buffer swaps, headers. */
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

int
main(void)
{
	RUN(test_header);
	RUN(test_got_header_then_swap);
	RUN(test_split_everywhere);
	RUN(test_refusals);
	RUN(test_want_bounded);
	return harness_summary();
}
