/*
 * frame.c: 2-byte big-endian length framing (frame.h, docs/link.md). Pure:
 * no I/O, no allocation.
 */
#include "link/frame.h"

#include <assert.h>
#include <string.h>

void
frame_reader_init(struct frame_reader *fr, uint8_t *buf, size_t cap,
    size_t max)
{
	memset(fr, 0, sizeof *fr);
	fr->buf = buf;
	fr->cap = cap;
	fr->max = max > FRAME_MAX ? FRAME_MAX : max;
}

void
frame_reader_set_buffer(struct frame_reader *fr, uint8_t *buf, size_t cap)
{
	assert(fr->got == 0);
	assert(fr->hdr_got < FRAME_HDR_LEN || cap >= fr->len);
	fr->buf = buf;
	fr->cap = cap;
}

uint8_t *
frame_reader_want(struct frame_reader *fr, size_t *n)
{
	if (fr->hdr_got < FRAME_HDR_LEN) {
		*n = FRAME_HDR_LEN - fr->hdr_got;
		return fr->hdr + fr->hdr_got;
	}
	assert(fr->got < fr->len);
	*n = fr->len - fr->got;
	return fr->buf + fr->got;
}

int
frame_reader_got(struct frame_reader *fr, size_t n)
{
	if (fr->hdr_got < FRAME_HDR_LEN) {
		assert(n <= FRAME_HDR_LEN - fr->hdr_got);
		fr->hdr_got += n;
		if (fr->hdr_got < FRAME_HDR_LEN)
			return FRAME_MORE;
		fr->len = (size_t)fr->hdr[0] << 8 | fr->hdr[1];
		if (fr->len == 0)
			return ERR_PARSE;
		if (fr->len > fr->max)
			return ERR_TOO_BIG;
		return FRAME_HEADER;
	}
	assert(n <= fr->len - fr->got);
	fr->got += n;
	return fr->got == fr->len ? FRAME_READY : FRAME_MORE;
}

void
frame_reader_next(struct frame_reader *fr)
{
	fr->hdr_got = 0;
	fr->len = 0;
	fr->got = 0;
}

int
frame_reader_feed(struct frame_reader *fr, const uint8_t *p, size_t n,
    size_t *used)
{
	size_t want, take;
	uint8_t *dst;
	int r;

	*used = 0;
	while (*used < n) {
		dst = frame_reader_want(fr, &want);
		take = n - *used < want ? n - *used : want;
		memcpy(dst, p + *used, take);
		*used += take;
		r = frame_reader_got(fr, take);
		if (r == FRAME_HEADER) {
			if (fr->len > fr->cap)
				return ERR_TOO_BIG;
			continue;
		}
		if (r != FRAME_MORE)
			return r;
	}
	return FRAME_MORE;
}

void
frame_chunk_init(struct frame_chunk *fc, size_t max)
{
	memset(fc, 0, sizeof *fc);
	fc->max = max > FRAME_MAX ? FRAME_MAX : max;
}

void
frame_chunk_set_buffer(struct frame_chunk *fc, uint8_t *buf, size_t cap)
{
	assert(fc->len == 0);
	assert(buf == NULL || cap >= FRAME_HDR_LEN + fc->max);
	fc->buf = buf;
	fc->cap = buf ? cap : 0;
	fc->off = 0;
}

bool
frame_chunk_empty(const struct frame_chunk *fc)
{
	return fc->len == 0;
}

uint8_t *
frame_chunk_room(struct frame_chunk *fc, size_t *n)
{
	assert(fc->buf != NULL);
	if (fc->off > 0) {
		memmove(fc->buf, fc->buf + fc->off, fc->len);
		fc->off = 0;
	}
	assert(fc->len < fc->cap);
	*n = fc->cap - fc->len;
	return fc->buf + fc->len;
}

void
frame_chunk_got(struct frame_chunk *fc, size_t n)
{
	assert(n <= fc->cap - fc->off - fc->len);
	fc->len += n;
}

int
frame_chunk_next(struct frame_chunk *fc, uint8_t **f, size_t *len)
{
	uint8_t *p;
	size_t flen;

	if (fc->len < FRAME_HDR_LEN)
		return FRAME_MORE;
	p = fc->buf + fc->off;
	*len = flen = (size_t)p[0] << 8 | p[1];
	if (flen == 0)
		return ERR_PARSE;
	if (flen > fc->max)
		return ERR_TOO_BIG;
	if (fc->len - FRAME_HDR_LEN < flen)
		return FRAME_MORE;
	*f = p + FRAME_HDR_LEN;
	fc->off += FRAME_HDR_LEN + flen;
	fc->len -= FRAME_HDR_LEN + flen;
	if (fc->len == 0)
		fc->off = 0;
	return FRAME_READY;
}

int
frame_header(uint8_t out[FRAME_HDR_LEN], size_t len)
{
	if (len == 0 || len > FRAME_MAX)
		return ERR_TOO_BIG;
	out[0] = (uint8_t)(len >> 8);
	out[1] = (uint8_t)len;
	return 0;
}
