/*
 * link_fuzz.c: libFuzzer target for the link's parsers of bytes that
 * arrive from the network (docs/link.md): the 2-byte length framing
 * (fed in chunks whose sizes come from the input), an initiation's header,
 * mac1 and Noise message 1 at a listener, a response at a dialler, and
 * data frames on an established transport. Besides "never crash": a frame
 * never exceeds its reader's cap, no data frame the fuzzer invents
 * decrypts, each frame's bytes sealed as a record (type, body) by the
 * peer's transport open to exactly that record (the path a record takes
 * after the handshake, with the nonces in step), and the chunk reader
 * (frame_chunk, reads of other sizes) cuts exactly the frames the exact
 * reader does, and stops at the same error.
 *
 *   make fuzz (seeds: fuzz/corpus/link_fuzz/)
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "link/frame.h"
#include "link/handshake.h"
#include "link/transport.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t priv_i[32], priv_r[32], pub_i[32], pub_r[32], psk[32];
static uint8_t mk[32];
static struct link_transport peer;	/* seals what t opens */

static void
fixed_random(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	memset(buf, 0x42, len);
}

static void
params(struct link_hs_params *hp, int responder)
{
	memset(hp, 0, sizeof *hp);
	memset(hp->channel_id, 0x3f, 32);
	hp->local_priv = responder ? priv_r : priv_i;
	hp->peer_pub = responder ? pub_i : pub_r;
	hp->psk = psk;
	hp->mac1_key = mk;
	hp->random = fixed_random;
}

static void
one_frame(uint8_t *f, size_t n, struct link_transport *t)
{
	struct noise_handshake hs;
	struct link_hs_params hp;
	struct noise_cipher s, r;
	uint8_t id[32], path, ts[LINK_TS_LEN], type, init[LINK_INIT_LEN];
	static uint8_t sealed[FRAME_MAX];
	const uint8_t *body;
	size_t bl, sl;

	/* The seeds hold a valid initiation and response (fixed keys and
	 * ephemerals), so those may succeed; they must only not crash. */
	if (link_init_peek(f, n, id, &path) == 0) {
		(void)link_mac1_check(f, n, mk);
		/* past mac1 in any case, to fuzz the Noise read */
		params(&hp, 1);
		hp.path = path;
		if (link_hs_read_init(&hs, &hp, f, n, ts) == 0)
			noise_handshake_fini(&hs);
	}
	/* a response to our own initiation */
	params(&hp, 0);
	memset(ts, 1, sizeof ts);
	if (link_hs_write_init(&hs, &hp, ts, init) == 0 &&
	    link_hs_read_resp(&hs, &hp, f, n, &s, &r) == 0) {
		noise_cipher_fini(&s);
		noise_cipher_fini(&r);
	}
	/* the frame's bytes as a record the peer seals: opens to it */
	if (link_transport_seal(&peer, f[0], f + 1, n - 1, sealed,
	    sizeof sealed, &sl) == 0 && (link_transport_open(t, sealed, sl,
	    &type, &body, &bl) != 0 || type != f[0] || bl != n - 1 ||
	    memcmp(body, f + 1, bl) != 0))
		abort();
	/* the fuzzer cannot forge a Poly1305 tag under the fixed key */
	if (link_transport_open(t, f, n, &type, &body, &bl) == 0)
		abort();
}

#define MAX_FRAMES 4096

/* What the exact reader found: frames (offset in the input, length), and
 * how it ended (FRAME_MORE or an error). */
static size_t f_off[MAX_FRAMES], f_len[MAX_FRAMES], nframes;
static int f_end;

/*
 * The same input through a chunk reader accepting frames up to max, in
 * reads whose sizes come from the input in another way; any difference
 * from the exact reader aborts.
 */
static void
chunk_pass(const uint8_t *data, size_t size, size_t max)
{
	static uint8_t cbuf[FRAME_CHUNK_LEN];
	struct frame_chunk fc;
	size_t off = 0, i = 0, room, take, len;
	uint8_t *f, *dst;
	int st;

	frame_chunk_init(&fc, max);
	frame_chunk_set_buffer(&fc, cbuf, sizeof cbuf);
	for (;;) {
		while ((st = frame_chunk_next(&fc, &f, &len)) == FRAME_READY) {
			if (i >= nframes || len != f_len[i] ||
			    memcmp(f, data + f_off[i], len) != 0)
				abort();
			i++;
		}
		if (st < 0 || off == size)
			break;
		dst = frame_chunk_room(&fc, &room);
		take = (size_t)data[off] * 131 % 509 + 1;
		if (take > size - off)
			take = size - off;
		if (take > room)
			take = room;
		memcpy(dst, data + off, take);
		frame_chunk_got(&fc, take);
		off += take;
	}
	if (i != nframes || st != f_end)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	static uint8_t buf[FRAME_MAX];
	struct frame_reader fr;
	struct link_transport t;
	struct noise_cipher s, r;
	size_t off = 0, used, chunk;
	int st;

	if (!ready) {
		if (sodium_init() < 0)
			abort();
		memset(priv_i, 1, 32);
		memset(priv_r, 2, 32);
		memset(psk, 3, 32);
		crypto_scalarmult_base(pub_i, priv_i);
		crypto_scalarmult_base(pub_r, priv_r);
		link_mac1_key(mk, psk);
		ready = 1;
	}
	memset(&s, 0, sizeof s);
	memset(&r, 0, sizeof r);
	memset(r.k, 7, sizeof r.k);
	r.has_key = s.has_key = true;
	link_transport_init(&t, &s, &r, false, 0);
	memset(&s, 0, sizeof s);
	memset(&r, 0, sizeof r);
	memset(s.k, 7, sizeof s.k);	/* t's receive key */
	s.has_key = r.has_key = true;
	link_transport_init(&peer, &s, &r, true, 0);
	/* first byte: the reader's cap (small caps exercise refusals) */
	frame_reader_init(&fr, buf, size && data[0] < 0x80 ? LINK_INIT_LEN :
	    sizeof buf, sizeof buf);
	nframes = 0;
	st = FRAME_MORE;
	while (off < size) {
		chunk = (size_t)(data[off] % 7) + 1;
		if (chunk > size - off)
			chunk = size - off;
		st = frame_reader_feed(&fr, data + off, chunk, &used);
		off += used;
		if (st < 0)
			break;
		if (st == FRAME_READY) {
			if (fr.len > fr.cap || fr.len == 0)
				abort();
			if (nframes < MAX_FRAMES) {
				f_off[nframes] = off - fr.len;
				f_len[nframes] = fr.len;
			}
			nframes++;
			one_frame(fr.buf, fr.len, &t);
			frame_reader_next(&fr);
			st = FRAME_MORE;
		}
	}
	f_end = st;
	if (nframes <= MAX_FRAMES)
		chunk_pass(data, size, fr.cap);
	link_transport_fini(&t);
	link_transport_fini(&peer);
	return 0;
}
