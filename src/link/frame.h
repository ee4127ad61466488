/*
 * frame.h: the link's framing on TCP: each frame is preceded by its length,
 * 2 bytes big-endian (docs/link.md, "Frames"). A zero length is refused.
 *
 * Two pure engines (no socket, no allocation) cut frames from a stream:
 *
 * - frame_reader asks for exactly the rest of the current frame, never
 *   more, so the bytes after a frame stay in the socket: for the handshake,
 *   where a connection must not read past the one frame its state allows.
 *   After the header the caller may swap in a buffer sized to the declared
 *   length.
 * - frame_chunk takes whatever one read gave (up to FRAME_CHUNK_LEN bytes)
 *   into the caller's buffer and cuts every whole frame out of it in place:
 *   one read for many frames, for an established session. A length is
 *   judged as soon as its 2 bytes are in, before the frame's body is.
 */
#ifndef PARLEY_LINK_FRAME_H
#define PARLEY_LINK_FRAME_H

#include <stdbool.h>
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

/*
 * The chunk reader's buffer: room for the longest frame with its header,
 * so a partial frame kept from one read always leaves room to finish it.
 */
#define FRAME_CHUNK_LEN (FRAME_HDR_LEN + FRAME_MAX)

struct frame_chunk {
	uint8_t *buf;		/* caller's storage, or NULL while empty */
	size_t cap;		/* its size */
	size_t max;		/* longest frame accepted */
	size_t off;		/* first byte not yet cut */
	size_t len;		/* bytes from off not yet cut */
};

/* Starts a chunk reader with no buffer, accepting frames of 1..max bytes. */
void frame_chunk_init(struct frame_chunk *fc, size_t max);
/* Lends the reader a buffer (cap at least FRAME_HDR_LEN + max bytes), or
 * takes it back (buf NULL); only while frame_chunk_empty. */
void frame_chunk_set_buffer(struct frame_chunk *fc, uint8_t *buf,
    size_t cap);
/* No bytes held (the buffer may be taken back). */
bool frame_chunk_empty(const struct frame_chunk *fc);
/*
 * Where the next read goes (the bytes not yet cut are first moved to the
 * buffer's start); *n is the room there. Only with a buffer, and after
 * frame_chunk_next said FRAME_MORE: then *n >= 1, and at least what
 * finishes the partial frame.
 */
uint8_t *frame_chunk_room(struct frame_chunk *fc, size_t *n);
/* Records that n bytes (at most the last *n) were stored at the room. */
void frame_chunk_got(struct frame_chunk *fc, size_t n);
/*
 * Cuts the next frame: FRAME_READY with *f and *len set (the frame's
 * bytes, in the buffer, valid until the next frame_chunk_room or
 * frame_chunk_set_buffer); FRAME_MORE when no whole frame is held;
 * ERR_PARSE (zero length) or ERR_TOO_BIG (over max), with *len the length
 * refused, once a length's 2 bytes are in, whatever follows. After an
 * error it returns the same error again.
 */
int frame_chunk_next(struct frame_chunk *fc, uint8_t **f, size_t *len) WUR;

/* Writes the 2-byte header for a frame of len bytes (1..FRAME_MAX). */
int frame_header(uint8_t out[FRAME_HDR_LEN], size_t len) WUR;

#endif
