/*
 * frame.h: the link's framing on TCP: each frame is preceded by its length,
 * 2 bytes big-endian (docs/link.md, "Frames"). A zero length is refused.
 *
 * The reader is a pure engine: it never reads a socket and never allocates.
 * It tells its caller where the next bytes go and how many it wants, never
 * more than the rest of the current frame, so a connection never buffers
 * more than one frame, and never more than the caller's buffer. After the
 * header the caller may swap in a buffer sized to the declared length.
 */
#ifndef PARLEY_LINK_FRAME_H
#define PARLEY_LINK_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define FRAME_HDR_LEN 2
#define FRAME_MAX 65535		/* the largest length the header can say */

enum frame_status {
	FRAME_MORE = 0,		/* want more bytes */
	FRAME_HEADER = 1,	/* the length is known (frame_reader.len) */
	FRAME_READY = 2,	/* buf[0..len) holds the frame */
};

struct frame_reader {
	uint8_t *buf;		/* caller's storage for the frame body */
	size_t cap;		/* its size */
	size_t max;		/* longest frame accepted */
	uint8_t hdr[FRAME_HDR_LEN];
	size_t hdr_got;
	size_t len;		/* declared length, once the header is in */
	size_t got;		/* body bytes stored */
};

/* Starts a reader over buf (cap bytes) accepting frames of 1..max bytes. */
void frame_reader_init(struct frame_reader *fr, uint8_t *buf, size_t cap,
    size_t max);
/* Replaces the body buffer; only between frames or right after
 * FRAME_HEADER, and cap must hold the declared length. */
void frame_reader_set_buffer(struct frame_reader *fr, uint8_t *buf,
    size_t cap);
/* Where the next bytes go; *n is how many are wanted (at least 1). */
uint8_t *frame_reader_want(struct frame_reader *fr, size_t *n);
/*
 * Records that n bytes (at most the *n of the last frame_reader_want) were
 * stored where frame_reader_want said. Returns a frame_status, or
 * ERR_PARSE (zero length), ERR_TOO_BIG (length over max). It does not
 * compare the length with the buffer's cap: on FRAME_HEADER the caller
 * refuses the frame or calls frame_reader_set_buffer with room for len
 * (frame_reader_feed refuses it with ERR_TOO_BIG).
 */
int frame_reader_got(struct frame_reader *fr, size_t n) WUR;
/* Forgets the current frame; the next bytes start a header. */
void frame_reader_next(struct frame_reader *fr);
/*
 * Copies bytes from p (n bytes) into the reader until a frame is ready or
 * p is used up; *used tells how many were taken. Returns as
 * frame_reader_got, except that FRAME_HEADER is handled internally.
 * For tests and fuzzing, and callers that already hold bytes.
 */
int frame_reader_feed(struct frame_reader *fr, const uint8_t *p, size_t n,
    size_t *used) WUR;

/* Writes the 2-byte header for a frame of len bytes (1..FRAME_MAX). */
int frame_header(uint8_t out[FRAME_HDR_LEN], size_t len) WUR;

#endif
