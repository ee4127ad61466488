/*
 * test_envelope.c: the envelope (deterministic CBOR header, body checks),
 * signed chain heads, receipts and the receiver's chain verifier: round
 * trips, exact bytes, and every refusal with its own code.
 */
#include <sodium.h>
#include <stdlib.h>

#include "../harness.h"
#include "sign_keys.h"
#include "base/wire.h"
#include "crypto/hash.h"
#include "msg/chain.h"
#include "msg/envelope.h"

static const uint8_t zero32[32];
static uint8_t channel_a[32], channel_b[32];

/* One message as a sender makes it, through the store's header builder. */
struct msg {
	struct envelope_header h;
	uint8_t hdr[ENVELOPE_HEADER_MAX];
	size_t hlen;
	uint8_t id[32];
	uint8_t salt[ENVELOPE_SALT_LEN];
	uint8_t body[64];
	size_t blen;
};

static void
make_msg(struct msg *m, const uint8_t channel[32], uint8_t sender,
    uint64_t seq, const uint8_t prev[32])
{
	struct store_draft d;
	bool salted;

	memset(m, 0, sizeof *m);
	m->blen = (size_t)snprintf((char *)m->body, sizeof m->body,
	    "north to south, message %llu", (unsigned long long)seq);
	memset(&d, 0, sizeof d);
	d.channel = channel;
	d.sender = sender;
	d.seq = seq;
	memcpy(d.prev, prev, 32);
	d.time_ms = 1700000000000ull + seq;
	d.precedence = ENVELOPE_ROUTINE;
	d.marking = ENVELOPE_PRIVATE;
	d.kind = ENVELOPE_TEXT;
	d.body = m->body;
	d.body_len = m->blen;
	CHECK_INT(chain_store_build(NULL, &d, m->hdr, sizeof m->hdr, &m->hlen,
	    m->id, m->salt, &salted), 0);
	CHECK_INT(envelope_header_decode(&m->h, m->hdr, m->hlen), 0);
}

static struct msg *
make_run(size_t n, const uint8_t channel[32], uint8_t sender)
{
	struct msg *m = calloc(n, sizeof *m);

	if (m == NULL)
		abort();
	for (size_t i = 0; i < n; i++)
		make_msg(&m[i], channel, sender, i + 1, i ? m[i - 1].id :
		    zero32);
	return m;
}

static void
make_head(struct chain_head *hd, const struct msg *m, const struct keys *k)
{
	memset(hd, 0, sizeof *hd);
	memcpy(hd->channel, m->h.channel, 32);
	hd->sender = m->h.sender;
	hd->seq = m->h.seq;
	memcpy(hd->id, m->id, 32);
	CHECK_INT(chain_head_sign(hd, k), 0);
}

static int
feed(struct chain_verifier *v, const struct msg *m)
{
	struct envelope_header h;
	uint8_t id[32];

	return chain_accept_message(v, m->hdr, m->hlen, m->salt, m->body,
	    m->blen, &h, id);
}

/* A header as a list of (key, encoded value) entries, so that tests can
 * reorder, repeat or re-encode fields the encoder would never write. */
struct raw {
	struct {
		uint64_t key;
		uint8_t val[48];
		size_t len;
	} e[16];
	size_t n;
};

static void
raw_uint(struct raw *r, uint64_t key, uint64_t v)
{
	struct wire_writer w;

	wire_writer_init(&w, r->e[r->n].val, sizeof r->e[r->n].val);
	wire_put_uint(&w, v);
	r->e[r->n].key = key;
	if (wire_writer_finish(&w, &r->e[r->n].len) != 0)
		abort();
	r->n++;
}

static void
raw_bytes(struct raw *r, uint64_t key, const uint8_t *p, size_t n)
{
	struct wire_writer w;

	wire_writer_init(&w, r->e[r->n].val, sizeof r->e[r->n].val);
	wire_put_bytes(&w, p, n);
	r->e[r->n].key = key;
	if (wire_writer_finish(&w, &r->e[r->n].len) != 0)
		abort();
	r->n++;
}

static void
raw_from(struct raw *r, const struct envelope_header *h)
{
	memset(r, 0, sizeof *r);
	raw_uint(r, 1, h->version);
	raw_bytes(r, 2, h->channel, 32);
	raw_uint(r, 3, h->sender);
	raw_uint(r, 4, h->seq);
	raw_bytes(r, 5, h->prev, 32);
	raw_bytes(r, 6, h->peer_last, 32);
	raw_uint(r, 7, h->time_ms);
	raw_uint(r, 8, h->precedence);
	raw_uint(r, 9, h->marking);
	raw_uint(r, 10, h->kind);
	raw_uint(r, 11, h->body_len);
	raw_bytes(r, 12, h->body_hash, 32);
}

/* Index of key in r. */
static size_t
raw_find(const struct raw *r, uint64_t key)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->e[i].key == key)
			return i;
	abort();
}

static size_t
raw_encode(const struct raw *r, uint8_t *out, size_t cap)
{
	struct wire_writer w;
	size_t len;

	wire_writer_init(&w, out, cap);
	wire_put_map(&w, r->n);
	for (size_t i = 0; i < r->n; i++) {
		wire_put_uint(&w, r->e[i].key);
		if (w.len + r->e[i].len > cap)
			abort();
		memcpy(out + w.len, r->e[i].val, r->e[i].len);
		w.len += r->e[i].len;
	}
	if (wire_writer_finish(&w, &len) != 0)
		abort();
	return len;
}

static int
raw_decode(const struct raw *r)
{
	struct envelope_header h;
	uint8_t buf[1024];
	size_t n = raw_encode(r, buf, sizeof buf);

	return envelope_header_decode(&h, buf, n);
}

static void
sample_header(struct envelope_header *h)
{
	memset(h, 0, sizeof *h);
	h->version = ENVELOPE_VERSION;
	memset(h->channel, 0x11, 32);
	h->sender = 1;
	h->seq = 42;
	memset(h->prev, 0x22, 32);
	memset(h->peer_last, 0x33, 32);
	h->time_ms = 1700000000000ull;
	h->precedence = ENVELOPE_ROUTINE;
	h->marking = ENVELOPE_CONTACT_RELEASABLE;
	h->kind = ENVELOPE_TEXT;
	h->body_len = 256;
	memset(h->body_hash, 0x44, 32);
}

static void
test_header_exact_bytes(void)
{
	struct envelope_header h, back;
	uint8_t want[200], got[ENVELOPE_HEADER_MAX], again[ENVELOPE_HEADER_MAX];
	uint8_t id1[32], id2[32];
	size_t o = 0, len, len2;
	static const uint8_t time_ms[] = { 0x1b, 0x00, 0x00, 0x01, 0x8b, 0xcf,
		0xe5, 0x68, 0x00 };

	/* Written out by hand from RFC 8949: map(12), keys 1..12 in order,
	 * shortest heads. */
	want[o++] = 0xac;
	want[o++] = 0x01; want[o++] = 0x02;		/* version 2 */
	want[o++] = 0x02; want[o++] = 0x58; want[o++] = 0x20;
	memset(want + o, 0x11, 32); o += 32;
	want[o++] = 0x03; want[o++] = 0x01;
	want[o++] = 0x04; want[o++] = 0x18; want[o++] = 0x2a;
	want[o++] = 0x05; want[o++] = 0x58; want[o++] = 0x20;
	memset(want + o, 0x22, 32); o += 32;
	want[o++] = 0x06; want[o++] = 0x58; want[o++] = 0x20;
	memset(want + o, 0x33, 32); o += 32;
	want[o++] = 0x07;
	memcpy(want + o, time_ms, sizeof time_ms); o += sizeof time_ms;
	want[o++] = 0x08; want[o++] = 0x03;
	want[o++] = 0x09; want[o++] = 0x01;
	want[o++] = 0x0a; want[o++] = 0x01;
	want[o++] = 0x0b; want[o++] = 0x19; want[o++] = 0x01; want[o++] = 0x00;
	want[o++] = 0x0c; want[o++] = 0x58; want[o++] = 0x20;
	memset(want + o, 0x44, 32); o += 32;

	sample_header(&h);
	CHECK_INT(envelope_header_encode(&h, got, sizeof got, &len), 0);
	CHECK_INT(len, o);
	CHECK_MEM(got, want, o);

	CHECK_INT(envelope_header_decode(&back, got, len), 0);
	CHECK_INT(back.seq, 42);
	CHECK_INT(back.sender, 1);
	CHECK_INT(back.time_ms, 1700000000000ll);
	CHECK_INT(back.precedence, ENVELOPE_ROUTINE);
	CHECK_INT(back.marking, ENVELOPE_CONTACT_RELEASABLE);
	CHECK_INT(back.body_len, 256);
	CHECK_MEM(back.peer_last, h.peer_last, 32);
	CHECK_INT(envelope_header_encode(&back, again, sizeof again, &len2), 0);
	CHECK_INT(len2, len);
	CHECK_MEM(again, got, len);

	/* The id is the context hash of exactly those bytes. */
	envelope_header_id(got, len, id1);
	hash_ctx(id2, 32, "parley header v1", want, o);
	CHECK_MEM(id1, id2, 32);

	/* A small cap is reported, not overrun. */
	CHECK_INT(envelope_header_encode(&h, got, 100, &len), ERR_TOO_BIG);
}

static void
test_header_field_refusals(void)
{
	struct envelope_header h;
	struct raw r;
	uint8_t one = 1;

	sample_header(&h);
	raw_from(&r, &h);
	CHECK_INT(raw_decode(&r), 0);

	raw_from(&r, &h);
	r.e[raw_find(&r, 1)].val[0] = 0x01;		/* version 1 */
	CHECK_INT(raw_decode(&r), 0);			/* still read */
	r.e[raw_find(&r, 1)].val[0] = 0x03;		/* version 3 */
	CHECK_INT(raw_decode(&r), ERR_VERSION);
	r.e[raw_find(&r, 1)].val[0] = 0x00;		/* version 0 */
	CHECK_INT(raw_decode(&r), ERR_VERSION);

	raw_from(&r, &h);
	r.e[raw_find(&r, 10)].val[0] = 0x07;		/* kind 7 */
	CHECK_INT(raw_decode(&r), ERR_KIND);
	r.e[raw_find(&r, 10)].val[0] = 0x00;		/* kind 0 */
	CHECK_INT(raw_decode(&r), ERR_KIND);

	raw_from(&r, &h);
	raw_uint(&r, 11, ENVELOPE_BODY_MAX + 1);	/* too big a body */
	r.e[raw_find(&r, 11)] = r.e[r.n - 1];
	r.n--;
	CHECK_INT(raw_decode(&r), ERR_TOO_BIG);

	raw_from(&r, &h);
	r.e[raw_find(&r, 3)].val[0] = 0x02;		/* sender 2 */
	CHECK_INT(raw_decode(&r), ERR_INVALID);
	raw_from(&r, &h);
	r.e[raw_find(&r, 8)].val[0] = 0x04;		/* precedence 4 */
	CHECK_INT(raw_decode(&r), ERR_INVALID);
	raw_from(&r, &h);
	r.e[raw_find(&r, 9)].val[0] = 0x03;		/* marking 3 */
	CHECK_INT(raw_decode(&r), ERR_INVALID);
	raw_from(&r, &h);
	r.e[raw_find(&r, 4)].len = 1;
	r.e[raw_find(&r, 4)].val[0] = 0x00;		/* seq 0 */
	CHECK_INT(raw_decode(&r), ERR_INVALID);
	raw_from(&r, &h);
	r.e[raw_find(&r, 4)].len = 1;
	r.e[raw_find(&r, 4)].val[0] = 0x01;		/* seq 1, prev set */
	CHECK_INT(raw_decode(&r), ERR_INVALID);

	raw_from(&r, &h);
	r.e[raw_find(&r, 2)].len = 33;			/* 31-byte channel */
	r.e[raw_find(&r, 2)].val[1] = 0x1f;
	CHECK_INT(raw_decode(&r), ERR_PARSE);
	raw_from(&r, &h);
	r.e[raw_find(&r, 3)].val[0] = 0x41;		/* sender as bytes */
	r.e[raw_find(&r, 3)].val[1] = 0x01;
	r.e[raw_find(&r, 3)].len = 2;
	CHECK_INT(raw_decode(&r), ERR_PARSE);
	raw_from(&r, &h);
	raw_bytes(&r, 13, &one, 1);			/* unknown key */
	CHECK_INT(raw_decode(&r), ERR_PARSE);
	raw_from(&r, &h);
	r.e[raw_find(&r, 6)] = r.e[r.n - 1];		/* peer_last missing */
	r.n--;
	CHECK_INT(raw_decode(&r), ERR_PARSE);
}

static void
test_header_noncanonical(void)
{
	struct envelope_header h;
	struct raw r;
	size_t i;

	sample_header(&h);

	/* seq 42 as a two-byte integer (0x19 0x00 0x2a) */
	raw_from(&r, &h);
	i = raw_find(&r, 4);
	r.e[i].val[0] = 0x19;
	r.e[i].val[1] = 0x00;
	r.e[i].val[2] = 0x2a;
	r.e[i].len = 3;
	CHECK_INT(raw_decode(&r), ERR_NONCANONICAL);

	/* sender 1 as 0x18 0x01 */
	raw_from(&r, &h);
	i = raw_find(&r, 3);
	r.e[i].val[0] = 0x18;
	r.e[i].val[1] = 0x01;
	r.e[i].len = 2;
	CHECK_INT(raw_decode(&r), ERR_NONCANONICAL);

	/* keys 3 and 4 swapped */
	raw_from(&r, &h);
	{
		__typeof__(r.e[0]) t = r.e[2];
		r.e[2] = r.e[3];
		r.e[3] = t;
	}
	CHECK_INT(raw_decode(&r), ERR_NONCANONICAL);

	/* key 9 twice, same value */
	raw_from(&r, &h);
	raw_uint(&r, 9, h.marking);
	CHECK_INT(raw_decode(&r), ERR_NONCANONICAL);

	/* a byte string's length as a non-shortest head (0x59 0x00 0x20) */
	raw_from(&r, &h);
	i = raw_find(&r, 12);
	memmove(r.e[i].val + 3, r.e[i].val + 2, 32);
	r.e[i].val[0] = 0x59;
	r.e[i].val[1] = 0x00;
	r.e[i].val[2] = 0x20;
	r.e[i].len = 35;
	CHECK_INT(raw_decode(&r), ERR_NONCANONICAL);
}

static void
test_header_malformed(void)
{
	struct envelope_header h;
	uint8_t buf[ENVELOPE_HEADER_MAX + 8], big[ENVELOPE_HEADER_MAX + 1];
	size_t len;
	static const uint8_t not_map[] = { 0x83, 0x01, 0x02, 0x03 };
	static const uint8_t indefinite[] = { 0xbf, 0x01, 0x01, 0xff };
	static const uint8_t tagged[] = { 0xc0, 0xa0 };

	CHECK_INT(envelope_header_decode(&h, not_map, sizeof not_map),
	    ERR_PARSE);
	CHECK_INT(envelope_header_decode(&h, indefinite, sizeof indefinite),
	    ERR_PARSE);
	CHECK_INT(envelope_header_decode(&h, tagged, sizeof tagged),
	    ERR_PARSE);
	CHECK_INT(envelope_header_decode(&h, buf, 0), ERR_PARSE);

	sample_header(&h);
	CHECK_INT(envelope_header_encode(&h, buf, sizeof buf, &len), 0);
	buf[len] = 0x00;				/* trailing byte */
	CHECK_INT(envelope_header_decode(&h, buf, len + 1), ERR_PARSE);

	memset(big, 0, sizeof big);
	CHECK_INT(envelope_header_decode(&h, big, sizeof big), ERR_TOO_BIG);

	/* Cut at every length: refused, never a crash (ASan watches). */
	sample_header(&h);
	CHECK_INT(envelope_header_encode(&h, buf, sizeof buf, &len), 0);
	for (size_t n = 0; n < len; n++) {
		uint8_t *cut = malloc(n ? n : 1);
		if (n)
			memcpy(cut, buf, n);
		if (envelope_header_decode(&h, cut, n) == 0)
			CHECK_INT(n, -1);
		free(cut);
	}

	/* Every single-bit flip either fails or decodes to a header whose
	 * encoding is exactly the flipped bytes. */
	for (size_t i = 0; i < len; i++) {
		for (int b = 0; b < 8; b++) {
			uint8_t again[ENVELOPE_HEADER_MAX];
			size_t alen;
			buf[i] ^= (uint8_t)(1u << b);
			if (envelope_header_decode(&h, buf, len) == 0) {
				CHECK_INT(envelope_header_encode(&h, again,
				    sizeof again, &alen), 0);
				CHECK_INT(alen, len);
				CHECK_MEM(again, buf, len);
			}
			buf[i] ^= (uint8_t)(1u << b);
		}
	}
}

static void
test_body_checks(void)
{
	struct envelope_header h;
	uint8_t body[] = "ceasefire holds at 06:00";
	size_t n = sizeof body - 1;
	uint8_t *huge;

	sample_header(&h);
	h.version = 1;				/* unsalted: as before v2 */
	h.body_len = (uint32_t)n;
	envelope_body_hash(body, n, h.body_hash);
	CHECK_INT(envelope_body_check(&h, NULL, body, n), 0);

	body[0] ^= 1;					/* hash mismatch */
	CHECK_INT(envelope_body_check(&h, NULL, body, n), ERR_BODY);
	body[0] ^= 1;
	CHECK_INT(envelope_body_check(&h, NULL, body, n - 1), ERR_BODY);

	huge = calloc(1, ENVELOPE_BODY_MAX + 1);
	CHECK(huge != NULL);
	memset(huge, 'a', ENVELOPE_BODY_MAX + 1);
	CHECK_INT(envelope_body_check(&h, NULL, huge, ENVELOPE_BODY_MAX + 1),
	    ERR_TOO_BIG);
	CHECK_INT(envelope_body_check_kind(ENVELOPE_TEXT, huge,
	    ENVELOPE_BODY_MAX), 0);
	free(huge);

	CHECK_INT(envelope_body_check_kind(ENVELOPE_TEXT, body, 0),
	    ERR_INVALID);
	CHECK_INT(envelope_body_check_kind(99, body, n), ERR_KIND);
	CHECK_INT(envelope_body_check_kind(ENVELOPE_TEXT,
	    (const uint8_t *)"a\0b", 3), ERR_INVALID);
	/* invalid UTF-8 in a TEXT body whose hash matches */
	{
		static const uint8_t bad[] = { 'o', 'k', 0xc0, 0x80 };
		h.body_len = sizeof bad;
		envelope_body_hash(bad, sizeof bad, h.body_hash);
		CHECK_INT(envelope_body_check(&h, NULL, bad, sizeof bad),
		    ERR_INVALID);
	}
}

/*
 * Version 2: body_hash = H("parley body v2", salt || body). The salt is
 * required for a version 2 header and refused for a version 1 one
 * (ERR_SALT); another salt, or the body without one, is another hash, so
 * the unsalted hashes of a body (v1 or v2 context) never match it.
 */
/* The sender's salts, drawn from a pool (chain_store_build): every one
 * fresh across several refills, none zero, and the header built with it
 * checks. Two equal salts would let one body's guess confirm the
 * other's. */
static void
test_salts_fresh(void)
{
	enum { N = 100 };
	static uint8_t salts[N][ENVELOPE_SALT_LEN];
	const uint8_t zero[ENVELOPE_SALT_LEN] = { 0 }, body[] = "Agreed.";
	uint8_t ch[ENVELOPE_ID_LEN], hdr[ENVELOPE_HEADER_MAX];
	uint8_t id[ENVELOPE_ID_LEN], id2[ENVELOPE_ID_LEN];
	struct envelope_header h;
	struct store_draft d;
	size_t len = 0;
	bool salted;

	memset(ch, 3, sizeof ch);
	memset(&d, 0, sizeof d);
	d.channel = ch;
	d.seq = 1;
	d.time_ms = 1000;
	d.precedence = ENVELOPE_ROUTINE;
	d.kind = ENVELOPE_TEXT;
	d.body = body;
	d.body_len = sizeof body - 1;
	for (int i = 0; i < N; i++) {
		salted = false;
		CHECK_INT(chain_store_build(NULL, &d, hdr, sizeof hdr, &len,
		    id, salts[i], &salted), 0);
		CHECK(salted);
		CHECK(memcmp(salts[i], zero, sizeof zero) != 0);
		CHECK_INT(envelope_open(hdr, len, salts[i], body, d.body_len,
		    &h, id2), 0);
		CHECK_INT(h.version, 2);
		for (int j = 0; j < i; j++)
			CHECK(memcmp(salts[i], salts[j], sizeof salts[i]) != 0);
	}
}

static void
test_body_salted(void)
{
	struct envelope_header h;
	const uint8_t body[] = "Agreed.";
	size_t n = sizeof body - 1;
	uint8_t salt[ENVELOPE_SALT_LEN], other[ENVELOPE_SALT_LEN];
	uint8_t want[ENVELOPE_ID_LEN], v1[ENVELOPE_ID_LEN];
	uint8_t buf[ENVELOPE_SALT_LEN + sizeof body], plain[ENVELOPE_ID_LEN];

	for (size_t i = 0; i < sizeof salt; i++)
		salt[i] = (uint8_t)(0xa0 + i);
	memcpy(other, salt, sizeof other);
	other[31] ^= 0x01;
	/* the definition, spelled out: ctx, 0x00, salt, body */
	memcpy(buf, salt, sizeof salt);
	memcpy(buf + sizeof salt, body, n);
	hash_ctx(want, sizeof want, "parley body v2", buf, sizeof salt + n);

	sample_header(&h);
	CHECK_INT(h.version, 2);		/* what a sender writes */
	h.body_len = (uint32_t)n;
	envelope_body_hash_salted(salt, body, n, h.body_hash);
	CHECK_MEM(h.body_hash, want, sizeof want);
	CHECK_INT(envelope_body_check(&h, salt, body, n), 0);
	CHECK_INT(envelope_body_check(&h, NULL, body, n), ERR_SALT);
	CHECK_INT(envelope_body_check(&h, other, body, n), ERR_BODY);
	/* no unsalted hash of the body is the header's */
	envelope_body_hash(body, n, v1);
	hash_ctx(plain, sizeof plain, "parley body v2", body, n);
	CHECK(memcmp(v1, h.body_hash, sizeof v1) != 0);
	CHECK(memcmp(plain, h.body_hash, sizeof plain) != 0);

	/* a version 1 header with a salt: refused, whatever its hash */
	h.version = 1;
	CHECK_INT(envelope_body_check(&h, salt, body, n), ERR_SALT);
	memcpy(h.body_hash, v1, sizeof v1);
	CHECK_INT(envelope_body_check(&h, NULL, body, n), 0);
	CHECK_INT(envelope_body_check(&h, salt, body, n), ERR_SALT);

	/* both versions decode; 3 is refused */
	{
		uint8_t hdr[ENVELOPE_HEADER_MAX];
		struct envelope_header back;
		uint8_t id[ENVELOPE_ID_LEN];
		size_t hl;

		h.version = 2;
		envelope_body_hash_salted(salt, body, n, h.body_hash);
		CHECK_INT(envelope_header_encode(&h, hdr, sizeof hdr, &hl), 0);
		CHECK_INT(envelope_open(hdr, hl, salt, body, n, &back, id), 0);
		CHECK_INT(back.version, 2);
		CHECK_INT(envelope_open(hdr, hl, NULL, body, n, &back, id),
		    ERR_SALT);
		CHECK_INT(envelope_open(hdr, hl, other, body, n, &back, id),
		    ERR_BODY);
		h.version = 3;
		CHECK_INT(envelope_header_encode(&h, hdr, sizeof hdr, &hl),
		    ERR_VERSION);
	}
}

static void
test_utf8(void)
{
#define U(s) ((const uint8_t *)(s)), (sizeof(s) - 1)
	CHECK(envelope_utf8_is_valid(U("plain ascii")));
	CHECK(envelope_utf8_is_valid(U("caf\xc3\xa9 \xe2\x82\xac")));
	CHECK(envelope_utf8_is_valid(U("\xf0\x9d\x84\x9e")));	/* U+1D11E */
	CHECK(envelope_utf8_is_valid(U("\xf4\x8f\xbf\xbf")));	/* U+10FFFF */
	CHECK(!envelope_utf8_is_valid(U("\xc0\x80")));		/* overlong */
	CHECK(!envelope_utf8_is_valid(U("\xe0\x80\xaf")));	/* overlong */
	CHECK(!envelope_utf8_is_valid(U("\xed\xa0\x80")));	/* surrogate */
	CHECK(!envelope_utf8_is_valid(U("\xf4\x90\x80\x80")));	/* > 10FFFF */
	CHECK(!envelope_utf8_is_valid(U("\xe2\x82")));		/* truncated */
	CHECK(!envelope_utf8_is_valid(U("\x80")));		/* stray */
	CHECK(!envelope_utf8_is_valid(U("\xff")));
#undef U
}

static void
test_names(void)
{
	uint8_t v;

	CHECK_STR(envelope_precedence_name(ENVELOPE_FLASH), "flash");
	CHECK_STR(envelope_marking_name(ENVELOPE_CONTACT_RELEASABLE),
	    "contact-releasable");
	CHECK_STR(envelope_precedence_name(9), "?");
	CHECK_INT(envelope_precedence_parse("IMMEDIATE", &v), 0);
	CHECK_INT(v, ENVELOPE_IMMEDIATE);
	CHECK_INT(envelope_marking_parse("releasable", &v), 0);
	CHECK_INT(v, ENVELOPE_RELEASABLE);
	CHECK_INT(envelope_precedence_parse("urgent", &v), ERR_INVALID);
}

static void
test_head_round_trip(void)
{
	struct keys k, other;
	struct chain_head hd, back;
	uint8_t buf[CHAIN_HEAD_MAX], again[CHAIN_HEAD_MAX];
	size_t len, len2;

	keys_make(&k);
	keys_make(&other);
	memset(&hd, 0, sizeof hd);
	memcpy(hd.channel, channel_a, 32);
	hd.sender = 0;
	hd.seq = 300;
	memset(hd.id, 0x5a, 32);
	CHECK_INT(chain_head_sign(&hd, &k), 0);
	CHECK_INT(chain_head_verify(&hd, k.id.sign_pub), 0);
	CHECK_INT(chain_head_verify(&hd, other.id.sign_pub), ERR_SIGNATURE);

	CHECK_INT(chain_head_encode(&hd, buf, sizeof buf, &len), 0);
	/* 300 is 0x19 0x01 0x2c */
	CHECK_INT(len, 1 + 35 + 2 + 4 + 35 + 67);
	CHECK_INT(buf[0], 0xa5);
	CHECK_INT(chain_head_decode(&back, buf, len), 0);
	CHECK_INT(back.seq, 300);
	CHECK_MEM(back.sig, hd.sig, 64);
	CHECK_INT(chain_head_verify(&back, k.id.sign_pub), 0);
	CHECK_INT(chain_head_encode(&back, again, sizeof again, &len2), 0);
	CHECK_INT(len2, len);
	CHECK_MEM(again, buf, len);

	/* Ed25519 is deterministic: the same head signs to the same bytes. */
	CHECK_INT(chain_head_sign(&back, &k), 0);
	CHECK_MEM(back.sig, hd.sig, 64);

	/* Each field is covered by the signature. */
	back = hd;
	back.seq++;
	CHECK_INT(chain_head_verify(&back, k.id.sign_pub), ERR_SIGNATURE);
	back = hd;
	back.sender = 1;
	CHECK_INT(chain_head_verify(&back, k.id.sign_pub), ERR_SIGNATURE);
	back = hd;
	back.id[31] ^= 1;
	CHECK_INT(chain_head_verify(&back, k.id.sign_pub), ERR_SIGNATURE);

	/* A head signature is no receipt signature (context strings). */
	{
		struct chain_receipt rc;
		memset(&rc, 0, sizeof rc);
		memcpy(rc.channel, hd.channel, 32);
		rc.seq = 300;
		memcpy(rc.id, hd.id, 32);
		memcpy(rc.sig, hd.sig, 64);
		CHECK_INT(chain_receipt_verify(&rc, k.id.sign_pub),
		    ERR_SIGNATURE);
	}

	for (size_t n = 0; n < len; n++)
		CHECK(chain_head_decode(&back, buf, n) != 0);
	CHECK_INT(buf[36], 0x02);	/* key 2, then sender 0 */
	buf[37] = 0x02;			/* sender 2 */
	CHECK_INT(chain_head_decode(&back, buf, len), ERR_INVALID);
	hd.seq = 0;
	CHECK_INT(chain_head_sign(&hd, &k), ERR_INVALID);
	keys_fini(&k);
	keys_fini(&other);
}

static void
test_receipt_round_trip(void)
{
	struct keys k, other;
	struct chain_receipt rc, back;
	uint8_t buf[CHAIN_RECEIPT_MAX], dup[CHAIN_RECEIPT_MAX + 8];
	size_t len;

	keys_make(&k);
	keys_make(&other);
	memset(&rc, 0, sizeof rc);
	memcpy(rc.channel, channel_a, 32);
	rc.receiver = 1;
	rc.seq = 1000;
	memset(rc.id, 0x77, 32);
	rc.time_ms = 1700000001234ull;
	CHECK_INT(chain_receipt_sign(&rc, &k), 0);
	CHECK_INT(chain_receipt_verify(&rc, k.id.sign_pub), 0);
	CHECK_INT(chain_receipt_verify(&rc, other.id.sign_pub),
	    ERR_SIGNATURE);
	CHECK_INT(chain_receipt_encode(&rc, buf, sizeof buf, &len), 0);
	CHECK_INT(len, 1 + 35 + 2 + 4 + 35 + 10 + 67);
	CHECK_INT(chain_receipt_decode(&back, buf, len), 0);
	CHECK_INT(back.seq, 1000);
	CHECK_INT(back.time_ms, 1700000001234ll);
	CHECK_INT(back.receiver, 1);
	CHECK_INT(chain_receipt_verify(&back, k.id.sign_pub), 0);
	back.time_ms++;
	CHECK_INT(chain_receipt_verify(&back, k.id.sign_pub), ERR_SIGNATURE);

	for (size_t n = 0; n < len; n++)
		CHECK(chain_receipt_decode(&back, buf, n) != 0);
	/* map(7) with key 5 again at the end: duplicate key */
	memcpy(dup, buf, len);
	dup[0] = 0xa7;
	{
		struct wire_writer w;
		size_t extra;
		wire_writer_init(&w, dup + len, sizeof dup - len);
		wire_put_uint(&w, 5);
		wire_put_uint(&w, rc.time_ms);
		CHECK_INT(wire_writer_finish(&w, &extra), 0);
		CHECK_INT(chain_receipt_decode(&back, dup, len + extra),
		    ERR_NONCANONICAL);
	}

	/* Nothing held: seq 0 and a zero id, nothing else. */
	rc.seq = 0;
	CHECK_INT(chain_receipt_sign(&rc, &k), ERR_INVALID);
	memset(rc.id, 0, 32);
	CHECK_INT(chain_receipt_sign(&rc, &k), 0);
	CHECK_INT(chain_receipt_verify(&rc, k.id.sign_pub), 0);
	keys_fini(&k);
	keys_fini(&other);
}

static void
test_chain_alone_and_batch(void)
{
	struct keys k;
	struct chain_verifier *v = malloc(sizeof *v);
	struct msg *m = make_run(10, channel_a, 0);
	struct chain_head hd;
	size_t acc;

	keys_make(&k);
	chain_verifier_init(v, channel_a, 0, k.id.sign_pub, 0, zero32);

	/* Alone: one header, its own head. */
	CHECK_INT(feed(v, &m[0]), 0);
	CHECK_INT(v->seq, 0);				/* nothing yet */
	make_head(&hd, &m[0], &k);
	CHECK_INT(chain_accept_head(v, &hd, &acc), 0);
	CHECK_INT(acc, 1);
	CHECK_INT(v->seq, 1);
	CHECK_MEM(v->id, m[0].id, 32);

	/* A run of eight, one head at the fifth, then one at the ninth. */
	for (int i = 1; i < 9; i++)
		CHECK_INT(feed(v, &m[i]), 0);
	CHECK_INT(v->npending, 8);
	CHECK_INT(v->seq, 1);
	make_head(&hd, &m[4], &k);
	CHECK_INT(chain_accept_head(v, &hd, &acc), 0);
	CHECK_INT(acc, 4);
	CHECK_INT(v->seq, 5);
	CHECK_INT(v->npending, 4);
	make_head(&hd, &m[8], &k);
	CHECK_INT(chain_accept_head(v, &hd, &acc), 0);
	CHECK_INT(acc, 4);
	CHECK_INT(v->seq, 9);
	CHECK_INT(v->npending, 0);
	CHECK_INT(v->run_bytes, 0);
	CHECK_MEM(v->id, m[8].id, 32);

	/* An old head again, and a head past what is held. */
	CHECK_INT(chain_accept_head(v, &hd, &acc), ERR_REPLAY);
	make_head(&hd, &m[9], &k);
	CHECK_INT(chain_accept_head(v, &hd, &acc), ERR_GAP);

	/* Resuming from what a store holds. */
	chain_verifier_init(v, channel_a, 0, k.id.sign_pub, 9, m[8].id);
	CHECK_INT(feed(v, &m[9]), 0);
	CHECK_INT(chain_accept_head(v, &hd, &acc), 0);
	CHECK_INT(acc, 1);
	keys_fini(&k);
	free(m);
	free(v);
}

static void
test_chain_refusals(void)
{
	struct keys k, mallory;
	struct chain_verifier *v = malloc(sizeof *v);
	struct msg *m = make_run(4, channel_a, 0);
	struct msg *mb = make_run(1, channel_b, 0);
	struct msg *m1 = make_run(1, channel_a, 1);
	struct msg x;
	struct chain_head hd;
	uint8_t junk[32];
	size_t acc;

	keys_make(&k);
	keys_make(&mallory);
	chain_verifier_init(v, channel_a, 0, k.id.sign_pub, 0, zero32);

	CHECK_INT(feed(v, &mb[0]), ERR_FOREIGN);	/* wrong channel */
	CHECK_INT(feed(v, &m1[0]), ERR_FOREIGN);	/* wrong sender */
	CHECK_INT(feed(v, &m[1]), ERR_GAP);		/* seq 2 first */
	CHECK_INT(feed(v, &m[0]), 0);
	CHECK_INT(feed(v, &m[0]), ERR_REPLAY);		/* repeat, pending */
	memset(junk, 0xee, sizeof junk);
	make_msg(&x, channel_a, 0, 2, junk);		/* wrong prev */
	CHECK_INT(feed(v, &x), ERR_CHAIN);
	CHECK_INT(feed(v, &m[1]), 0);

	/* body does not match its header */
	x = m[2];
	x.body[0] ^= 0x20;
	CHECK_INT(feed(v, &x), ERR_BODY);
	x = m[2];
	x.blen--;
	CHECK_INT(feed(v, &x), ERR_BODY);	{
		struct raw r;
		size_t i;
		raw_from(&r, &m[2].h);
		x = m[2];
		/* seq as 0x18 0x03 instead of 0x03 */
		i = raw_find(&r, 4);
		r.e[i].val[0] = 0x18;
		r.e[i].val[1] = 0x03;
		r.e[i].len = 2;
		x.hlen = raw_encode(&r, x.hdr, sizeof x.hdr);
		CHECK_INT(feed(v, &x), ERR_NONCANONICAL);
		/* unknown kind, oversized body: decoded before the chain */
		raw_from(&r, &m[2].h);
		r.e[raw_find(&r, 10)].val[0] = 0x09;
		x.hlen = raw_encode(&r, x.hdr, sizeof x.hdr);
		CHECK_INT(feed(v, &x), ERR_KIND);
		raw_from(&r, &m[2].h);
		i = raw_find(&r, 11);
		r.e[i].val[0] = 0x1a;			/* 0x00100001 */
		r.e[i].val[1] = 0x00;
		r.e[i].val[2] = 0x10;
		r.e[i].val[3] = 0x00;
		r.e[i].val[4] = 0x01;
		r.e[i].len = 5;
		x.hlen = raw_encode(&r, x.hdr, sizeof x.hdr);
		CHECK_INT(feed(v, &x), ERR_TOO_BIG);
		/* malformed: cut short */
		x = m[2];
		x.hlen -= 3;
		CHECK_INT(feed(v, &x), ERR_PARSE);
	}
	CHECK_INT(v->npending, 2);
	CHECK_INT(feed(v, &m[2]), 0);

	/* Heads that must not verify: nothing of the run is accepted. */
	make_head(&hd, &m[2], &mallory);		/* someone else's key */
	CHECK_INT(chain_accept_head(v, &hd, &acc), ERR_SIGNATURE);
	make_head(&hd, &m[2], &k);
	hd.sig[7] ^= 0x01;				/* a flipped bit */
	CHECK_INT(chain_accept_head(v, &hd, &acc), ERR_SIGNATURE);
	make_head(&hd, &m[2], &k);
	hd.id[0] ^= 0x01;				/* another header */
	CHECK_INT(chain_accept_head(v, &hd, &acc), ERR_CHAIN);
	make_head(&hd, &mb[0], &k);			/* another channel */
	CHECK_INT(chain_accept_head(v, &hd, &acc), ERR_FOREIGN);
	CHECK_INT(acc, 0);
	CHECK_INT(v->seq, 0);
	CHECK_INT(v->npending, 3);

	/* The right head takes all three. */
	make_head(&hd, &m[2], &k);
	CHECK_INT(chain_accept_head(v, &hd, &acc), 0);
	CHECK_INT(acc, 3);
	CHECK_INT(feed(v, &m[0]), ERR_REPLAY);		/* repeat, accepted */

	/* A dropped run is forgotten; resending it works. */
	CHECK_INT(feed(v, &m[3]), 0);
	chain_verifier_drop(v);
	CHECK_INT(v->npending, 0);
	CHECK_INT(feed(v, &m[3]), 0);
	make_head(&hd, &m[3], &k);
	CHECK_INT(chain_accept_head(v, &hd, &acc), 0);
	CHECK_INT(acc, 1);
	keys_fini(&k);
	keys_fini(&mallory);
	free(m);
	free(mb);
	free(m1);
	free(v);
}

static void
test_chain_run_caps(void)
{
	struct keys k;
	struct chain_verifier *v = malloc(sizeof *v);
	struct msg *m = make_run(CHAIN_RUN_MAX + 1, channel_a, 1);
	struct chain_head hd;
	size_t acc;

	keys_make(&k);
	chain_verifier_init(v, channel_a, 1, k.id.sign_pub, 0, zero32);
	for (size_t i = 0; i < CHAIN_RUN_MAX; i++)
		CHECK_INT(feed(v, &m[i]), 0);
	/* one more unsigned header: over the cap, refused */
	CHECK_INT(feed(v, &m[CHAIN_RUN_MAX]), ERR_FULL);
	CHECK_INT(v->npending, CHAIN_RUN_MAX);
	CHECK_INT(v->seq, 0);
	make_head(&hd, &m[CHAIN_RUN_MAX - 1], &k);	/* one verification */
	CHECK_INT(chain_accept_head(v, &hd, &acc), 0);
	CHECK_INT(acc, CHAIN_RUN_MAX);
	CHECK_INT(feed(v, &m[CHAIN_RUN_MAX]), 0);

	/* The byte cap: eight 1 MiB messages fit, the ninth does not. */
	chain_verifier_init(v, channel_a, 1, k.id.sign_pub, 0, zero32);
	for (size_t i = 0; i < 8; i++)
		CHECK_INT(chain_accept_header(v, &m[i].h, m[i].id,
		    ENVELOPE_BODY_MAX), 0);
	CHECK_INT(chain_accept_header(v, &m[8].h, m[8].id, ENVELOPE_BODY_MAX),
	    ERR_FULL);
	make_head(&hd, &m[1], &k);
	CHECK_INT(chain_accept_head(v, &hd, &acc), 0);
	CHECK_INT(acc, 2);
	CHECK_INT(v->run_bytes, 6 * (size_t)ENVELOPE_BODY_MAX);
	CHECK_INT(chain_accept_header(v, &m[8].h, m[8].id, ENVELOPE_BODY_MAX),
	    0);
	keys_fini(&k);
	free(m);
	free(v);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	memset(channel_a, 0xaa, sizeof channel_a);
	memset(channel_b, 0xbb, sizeof channel_b);
	RUN(test_header_exact_bytes);
	RUN(test_header_field_refusals);
	RUN(test_header_noncanonical);
	RUN(test_header_malformed);
	RUN(test_body_checks);
	RUN(test_body_salted);
	RUN(test_salts_fresh);
	RUN(test_utf8);
	RUN(test_names);
	RUN(test_head_round_trip);
	RUN(test_receipt_round_trip);
	RUN(test_chain_alone_and_batch);
	RUN(test_chain_refusals);
	RUN(test_chain_run_caps);
	return harness_summary();
}
