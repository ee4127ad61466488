/*
 * test_envelope_diff.c: the decoders of a peer's message bytes
 * (envelope_header_decode, chain_head_decode, chain_receipt_decode), which
 * read with base/wire.h's strict reader, against the libcbor decoders they
 * replaced, kept below as the reference exactly as they were at commit
 * 82d4bd5 (wire_load's scan and cbor_load, lookup of each field, re-encode
 * and compare).
 *
 * Random valid objects, and mutations of them: fields re-encoded wider,
 * keys swapped, repeated, dropped or added, values of other types or out
 * of range, other map heads, then sometimes bit flips, cuts, inserted or
 * trailing bytes; and plain random bytes. Both decoders must give the
 * same code, and the same fields when they accept. PARLEY_DIFF_N sets the
 * number of cases per decoder (default 40000); the seed is fixed, so a
 * failure repeats.
 */
#include <cbor.h>
#include <sodium.h>
#include <stdlib.h>

#include "../harness.h"
#include "base/wire.h"
#include "msg/chain.h"
#include "msg/envelope.h"

/* --- the reference: the libcbor decoders at 82d4bd5 -------------------- */

static int
old_scan(const uint8_t *p, size_t n)
{
	uint64_t owed[WIRE_MAX_DEPTH + 1];
	int depth = 0;
	size_t pos = 0;

	owed[0] = 1;
	while (depth >= 0) {
		if (owed[depth] == 0) {
			depth--;
			continue;
		}
		owed[depth]--;
		if (pos >= n)
			return ERR_PARSE;
		uint8_t ib = p[pos++];
		unsigned major = ib >> 5, info = ib & 31;
		uint64_t arg = 0;
		if (info < 24)
			arg = info;
		else if (info <= 27) {
			size_t len = (size_t)1 << (info - 24);
			if (n - pos < len)
				return ERR_PARSE;
			for (size_t i = 0; i < len; i++)
				arg = arg << 8 | p[pos++];
		} else
			return ERR_PARSE; /* indefinite or reserved */
		switch (major) {
		case 0:
		case 1:
			break;
		case 2:
		case 3:
			if (arg > n - pos)
				return ERR_PARSE;
			pos += (size_t)arg;
			break;
		case 4:
		case 5:
			if (arg == 0)
				break;
			if (depth == WIRE_MAX_DEPTH)
				return ERR_PARSE;
			/* each element takes at least one byte */
			if (arg > n - pos || (major == 5 && arg > (n - pos) / 2))
				return ERR_PARSE;
			owed[++depth] = major == 5 ? 2 * arg : arg;
			break;
		case 6:
			return ERR_PARSE; /* tags */
		default:
			if (info < 20 || info > 22)
				return ERR_PARSE; /* only false, true, null */
			break;
		}
	}
	return pos == n ? 0 : ERR_PARSE;
}

static int
old_load(const uint8_t *p, size_t n, cbor_item_t **out)
{
	struct cbor_load_result res;
	cbor_item_t *item;
	int r;

	*out = NULL;
	if (n == 0 || (r = old_scan(p, n)) != 0)
		return ERR_PARSE;
	item = cbor_load(p, n, &res);
	if (item == NULL) {
		return res.error.code == CBOR_ERR_MEMERROR ? ERR_NOMEM :
		    ERR_PARSE;
	}
	if (res.read != n) {
		cbor_decref(&item);
		return ERR_PARSE;
	}
	*out = item;
	return 0;
}

enum {
	K_VERSION = 1, K_CHANNEL, K_SENDER, K_SEQ, K_PREV, K_PEER_LAST, K_TIME,
	K_PRECEDENCE, K_MARKING, K_KIND, K_BODY_LEN, K_BODY_HASH,
	NKEYS = K_BODY_HASH
};

static int
get_small(const cbor_item_t *map, uint64_t key, uint64_t max, uint64_t *v)
{
	int r;

	if ((r = wire_get_uint(wire_map_get(map, key), v)) != 0)
		return r;
	return *v > max ? ERR_INVALID : 0;
}

static int
keys_are_known(const cbor_item_t *map)
{
	struct cbor_pair *pairs = cbor_map_handle(map);
	size_t n = cbor_map_size(map);

	for (size_t i = 0; i < n; i++) {
		if (!cbor_isa_uint(pairs[i].key))
			return ERR_PARSE;
		uint64_t k = cbor_get_int(pairs[i].key);
		if (k < K_VERSION || k > NKEYS)
			return ERR_PARSE;
	}
	return 0;
}

static int
fields(const cbor_item_t *map, struct envelope_header *h)
{
	uint64_t v;
	int r;

	if (!cbor_isa_map(map) || !cbor_map_is_definite(map))
		return ERR_PARSE;
	if ((r = wire_get_uint(wire_map_get(map, K_VERSION), &v)) != 0)
		return r;
	if (v < ENVELOPE_VERSION_MIN || v > ENVELOPE_VERSION)
		return ERR_VERSION;
	h->version = (uint32_t)v;
	if ((r = keys_are_known(map)) != 0)
		return r;
	if ((r = wire_get_bytes_exact(wire_map_get(map, K_CHANNEL),
	    h->channel, sizeof h->channel)) != 0 ||
	    (r = wire_get_bytes_exact(wire_map_get(map, K_PREV), h->prev,
	    sizeof h->prev)) != 0 ||
	    (r = wire_get_bytes_exact(wire_map_get(map, K_PEER_LAST),
	    h->peer_last, sizeof h->peer_last)) != 0 ||
	    (r = wire_get_bytes_exact(wire_map_get(map, K_BODY_HASH),
	    h->body_hash, sizeof h->body_hash)) != 0)
		return r;
	if ((r = wire_get_uint(wire_map_get(map, K_KIND), &v)) != 0)
		return r;
	if (v > UINT32_MAX || !envelope_kind_is_known((uint32_t)v))
		return ERR_KIND;
	h->kind = (uint32_t)v;
	if ((r = wire_get_uint(wire_map_get(map, K_BODY_LEN), &v)) != 0)
		return r;
	if (v > ENVELOPE_BODY_MAX)
		return ERR_TOO_BIG;
	h->body_len = (uint32_t)v;
	if ((r = get_small(map, K_SENDER, 1, &v)) != 0)
		return r;
	h->sender = (uint8_t)v;
	if ((r = get_small(map, K_SEQ, ENVELOPE_SEQ_MAX, &h->seq)) != 0 ||
	    (r = get_small(map, K_TIME, ENVELOPE_TIME_MAX, &h->time_ms)) != 0)
		return r;
	if ((r = get_small(map, K_PRECEDENCE, ENVELOPE_NPRECEDENCE - 1,
	    &v)) != 0)
		return r;
	h->precedence = (uint8_t)v;
	if ((r = get_small(map, K_MARKING, ENVELOPE_NMARKING - 1, &v)) != 0)
		return r;
	h->marking = (uint8_t)v;
	return 0;
}

static int
old_header_decode(struct envelope_header *h, const uint8_t *p, size_t n)
{
	cbor_item_t *item = NULL;
	uint8_t again[ENVELOPE_HEADER_MAX];
	size_t len;
	int r;

	if (n > ENVELOPE_HEADER_MAX)
		return ERR_TOO_BIG;
	if ((r = old_load(p, n, &item)) != 0)
		return r;
	if ((r = fields(item, h)) != 0)
		goto out;
	if ((r = envelope_header_encode(h, again, sizeof again, &len)) != 0)
		goto out;
	if (!wire_same(p, n, again, len))
		r = ERR_NONCANONICAL;
out:
	cbor_decref(&item);
	return r;
}

enum { H_CHANNEL = 1, H_SENDER, H_SEQ, H_ID, H_SIG };
enum { R_CHANNEL = 1, R_RECEIVER, R_SEQ, R_ID, R_TIME, R_SIG };

static int
keys_within(const cbor_item_t *map, uint64_t nkeys)
{
	struct cbor_pair *pairs;
	size_t n;

	if (!cbor_isa_map(map) || !cbor_map_is_definite(map))
		return ERR_PARSE;
	pairs = cbor_map_handle(map);
	n = cbor_map_size(map);
	for (size_t i = 0; i < n; i++) {
		if (!cbor_isa_uint(pairs[i].key))
			return ERR_PARSE;
		uint64_t k = cbor_get_int(pairs[i].key);
		if (k < 1 || k > nkeys)
			return ERR_PARSE;
	}
	return 0;
}

static int
get_index(const cbor_item_t *map, uint64_t key, uint8_t *out)
{
	uint64_t v;
	int r;

	if ((r = wire_get_uint(wire_map_get(map, key), &v)) != 0)
		return r;
	if (v > 1)
		return ERR_INVALID;
	*out = (uint8_t)v;
	return 0;
}

static int
old_head_decode(struct chain_head *h, const uint8_t *p, size_t n)
{
	cbor_item_t *item = NULL;
	uint8_t again[CHAIN_HEAD_MAX];
	size_t len;
	int r;

	if (n > CHAIN_HEAD_MAX)
		return ERR_TOO_BIG;
	if ((r = old_load(p, n, &item)) != 0)
		return r;
	if ((r = keys_within(item, H_SIG)) != 0 ||
	    (r = wire_get_bytes_exact(wire_map_get(item, H_CHANNEL),
	    h->channel, sizeof h->channel)) != 0 ||
	    (r = get_index(item, H_SENDER, &h->sender)) != 0 ||
	    (r = wire_get_uint(wire_map_get(item, H_SEQ), &h->seq)) != 0 ||
	    (r = wire_get_bytes_exact(wire_map_get(item, H_ID), h->id,
	    sizeof h->id)) != 0 ||
	    (r = wire_get_bytes_exact(wire_map_get(item, H_SIG), h->sig,
	    sizeof h->sig)) != 0)
		goto out;
	if ((r = chain_head_encode(h, again, sizeof again, &len)) != 0)
		goto out;
	if (!wire_same(p, n, again, len))
		r = ERR_NONCANONICAL;
out:
	cbor_decref(&item);
	return r;
}

static int
old_receipt_decode(struct chain_receipt *rc, const uint8_t *p, size_t n)
{
	cbor_item_t *item = NULL;
	uint8_t again[CHAIN_RECEIPT_MAX];
	size_t len;
	int r;

	if (n > CHAIN_RECEIPT_MAX)
		return ERR_TOO_BIG;
	if ((r = old_load(p, n, &item)) != 0)
		return r;
	if ((r = keys_within(item, R_SIG)) != 0 ||
	    (r = wire_get_bytes_exact(wire_map_get(item, R_CHANNEL),
	    rc->channel, sizeof rc->channel)) != 0 ||
	    (r = get_index(item, R_RECEIVER, &rc->receiver)) != 0 ||
	    (r = wire_get_uint(wire_map_get(item, R_SEQ), &rc->seq)) != 0 ||
	    (r = wire_get_bytes_exact(wire_map_get(item, R_ID), rc->id,
	    sizeof rc->id)) != 0 ||
	    (r = wire_get_uint(wire_map_get(item, R_TIME), &rc->time_ms))
	    != 0 ||
	    (r = wire_get_bytes_exact(wire_map_get(item, R_SIG), rc->sig,
	    sizeof rc->sig)) != 0)
		goto out;
	if ((r = chain_receipt_encode(rc, again, sizeof again, &len)) != 0)
		goto out;
	if (!wire_same(p, n, again, len))
		r = ERR_NONCANONICAL;
out:
	cbor_decref(&item);
	return r;
}

/* --- random objects and their mutations --------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t
rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static size_t
below(size_t n)
{
	return (size_t)(rnd() % n);
}

/* Values at and around every limit the decoders judge. */
static const uint64_t edges[] = {
	0, 1, 2, 3, 4, 5, 23, 24, 255, 256, 65535, 65536,
	ENVELOPE_BODY_MAX, ENVELOPE_BODY_MAX + 1, 0xffffffffu,
	0x100000000ull, 0x100000001ull, 0x100000002ull, INT64_MAX,
	(uint64_t)INT64_MAX + 1, UINT64_MAX
};

/* A value of a random head width up to max. */
static uint64_t
rnd_upto(uint64_t max)
{
	static const uint64_t top[] = { 23, 0xff, 0xffff, 0xffffffffu,
		UINT64_MAX };
	uint64_t v = rnd() & top[below(5)];

	return max == UINT64_MAX ? v : v % (max + 1);
}

enum ftype { F_UINT, F_BYTES };

/* One kind of object: its fields by key 1..nkeys and their valid values. */
struct kind {
	const char *name;
	size_t nkeys;
	enum ftype type[8 + NKEYS];
	size_t blen[8 + NKEYS];		/* byte strings: their size */
	uint64_t lo[8 + NKEYS], hi[8 + NKEYS];	/* unsigned: range */
	/* bytes under zero_key are zeros when the uint under zero_if_key
	 * is zero_if */
	size_t zero_key, zero_if_key;
	uint64_t zero_if;
};

static const struct kind header_kind = {
	"header", NKEYS,
	{ 0, F_UINT, F_BYTES, F_UINT, F_UINT, F_BYTES, F_BYTES, F_UINT,
	  F_UINT, F_UINT, F_UINT, F_UINT, F_BYTES },
	{ 0, 0, 32, 0, 0, 32, 32, 0, 0, 0, 0, 0, 32 },
	{ 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0 },
	{ 0, 1, 0, 1, INT64_MAX, 0, 0, INT64_MAX, 3, 2, 2,
	  ENVELOPE_BODY_MAX, 0 },
	K_PREV, K_SEQ, 1
};

static const struct kind head_kind = {
	"head", H_SIG,
	{ 0, F_BYTES, F_UINT, F_UINT, F_BYTES, F_BYTES },
	{ 0, 32, 0, 0, 32, 64 },
	{ 0, 0, 0, 1, 0, 0 },
	{ 0, 0, 1, INT64_MAX, 0, 0 },
	0, 0, 0
};

static const struct kind receipt_kind = {
	"receipt", R_SIG,
	{ 0, F_BYTES, F_UINT, F_UINT, F_BYTES, F_UINT, F_BYTES },
	{ 0, 32, 0, 0, 32, 0, 64 },
	{ 0, 0, 0, 0, 0, 0, 0 },
	{ 0, 0, 1, INT64_MAX, 0, INT64_MAX, 0 },
	R_ID, R_SEQ, 0
};

/* An object as its map head and its pairs, each key and value encoded
 * apart, so that mutations can touch one pair at a time. */
struct pair {
	uint8_t k[16], v[96];
	size_t klen, vlen;
};

struct obj {
	uint8_t head[9];
	size_t hlen;
	struct pair e[24];
	size_t n;
	bool indefinite;
};

static size_t
put_head(uint8_t *out, unsigned major, uint64_t v, size_t extra)
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

static size_t
shortest(uint64_t v)
{
	return v < 24 ? 0 : v <= 0xff ? 1 : v <= 0xffff ? 2 :
	    v <= 0xffffffffu ? 4 : 8;
}

/* A head for v: the shortest, or (wide) a random wider width. */
static size_t
put_any(uint8_t *out, unsigned major, uint64_t v, bool wide)
{
	static const size_t widths[] = { 0, 1, 2, 4, 8 };
	size_t x = shortest(v), i = 0;

	while (widths[i] != x)
		i++;
	if (wide && i < 4)
		x = widths[i + 1 + below(4 - i)];
	return put_head(out, major, v, x);
}

static void
set_uint(uint8_t *out, size_t *len, uint64_t v, bool wide)
{
	*len = put_any(out, 0, v, wide);
}

static void
set_bytes(uint8_t *out, size_t *len, const uint8_t *p, size_t n, bool wide)
{
	size_t h = put_any(out, 2, n, wide);

	memcpy(out + h, p, n);
	*len = h + n;
}

static void
obj_valid(struct obj *o, const struct kind *k)
{
	uint64_t u[8 + NKEYS];
	uint8_t b[64];

	memset(o, 0, sizeof *o);
	o->hlen = put_head(o->head, 5, k->nkeys, 0);
	for (size_t key = 1; key <= k->nkeys; key++)
		u[key] = k->lo[key] + (rnd() & 1 ? rnd_upto(k->hi[key] -
		    k->lo[key]) : below(3)) % (k->hi[key] - k->lo[key] + 1);
	for (size_t key = 1; key <= k->nkeys; key++) {
		struct pair *e = &o->e[o->n++];
		set_uint(e->k, &e->klen, key, false);
		if (k->type[key] == F_UINT) {
			set_uint(e->v, &e->vlen, u[key], false);
			continue;
		}
		randombytes_buf(b, k->blen[key]);
		if ((key == k->zero_key && u[k->zero_if_key] == k->zero_if) ||
		    below(8) == 0)
			memset(b, 0, k->blen[key]);
		set_bytes(e->v, &e->vlen, b, k->blen[key], false);
	}
}

/* Some value of another type than the field's, or out of the subset. */
static void
other_value(struct pair *e)
{
	static const uint8_t odd[][6] = {
		{ 1, 0x20 },			/* -1 */
		{ 1, 0xf4 }, { 1, 0xf5 }, { 1, 0xf6 },	/* bool, null */
		{ 1, 0xf7 },			/* undefined */
		{ 3, 0xf9, 0x3c, 0x00 },	/* a float */
		{ 2, 0xc1, 0x01 },		/* a tag */
		{ 2, 0x81, 0x01 },		/* [1] */
		{ 3, 0xa1, 0x01, 0x01 },	/* {1: 1} */
		{ 1, 0x80 }, { 1, 0xa0 },	/* [] {} */
		{ 2, 0x61, 0x61 },		/* "a" */
		{ 2, 0x61, 0xff },		/* not UTF-8 */
		{ 3, 0x62, 0xc3, 0xa9 },	/* "é" */
		{ 1, 0x60 }, { 1, 0x40 },	/* "" h'' */
		{ 4, 0x9f, 0x01, 0xff, 0x00 },	/* indefinite */
	};
	uint8_t b[65];
	size_t i;

	switch (below(4)) {
	case 0:				/* bytes of another size */
		randombytes_buf(b, sizeof b);
		set_bytes(e->v, &e->vlen, b, below(66), below(4) == 0);
		break;
	case 1:				/* an unsigned integer */
		set_uint(e->v, &e->vlen, edges[below(sizeof edges /
		    sizeof edges[0])], below(4) == 0);
		break;
	default:
		i = below(sizeof odd / sizeof odd[0]);
		e->vlen = odd[i][0];
		memcpy(e->v, odd[i] + 1, e->vlen);
		break;
	}
}

/* One structural mutation. */
static void
mutate_pairs(struct obj *o, const struct kind *k)
{
	struct pair *e = o->n ? &o->e[below(o->n)] : NULL;
	uint8_t b[sizeof e->v];
	uint64_t v;
	size_t i, j;

	switch (below(12)) {
	case 0:				/* a key wider */
		if (e && e->klen == 1 && e->k[0] < 24)
			e->klen = put_any(e->k, 0, e->k[0], true);
		break;
	case 1:				/* a value's head wider */
		if (e && (e->v[0] >> 5) == 0 && e->vlen <= 9) {
			uint8_t tmp[9];
			size_t at = 0;
			unsigned info = e->v[0] & 31u;
			v = info < 24 ? info : 0;
			for (size_t x = 1; x < e->vlen; x++)
				v = v << 8 | e->v[x];
			set_uint(tmp, &at, v, true);
			memcpy(e->v, tmp, at);
			e->vlen = at;
		} else if (e && (e->v[0] >> 5) == 2 && e->vlen >= 2 &&
		    (e->v[0] & 31u) == 24) {
			size_t n = e->v[1];
			memcpy(b, e->v + 2, n);
			set_bytes(e->v, &e->vlen, b, n, true);
		}
		break;
	case 2:				/* two pairs swapped */
		if (o->n >= 2) {
			i = below(o->n);
			j = below(o->n);
			struct pair t = o->e[i];
			o->e[i] = o->e[j];
			o->e[j] = t;
			if (below(2))
				o->hlen = put_head(o->head, 5, o->n, 0);
		}
		break;
	case 3:				/* a pair repeated somewhere */
		if (e && o->n < 24) {
			i = below(o->n + 1);
			memmove(&o->e[i + 1], &o->e[i], (o->n - i) *
			    sizeof o->e[0]);
			o->e[i] = *(e >= &o->e[i] ? e + 1 : e);
			if (below(2))
				other_value(&o->e[i]);
			o->n++;
			if (below(4))
				o->hlen = put_head(o->head, 5, o->n, 0);
		}
		break;
	case 4:				/* a pair dropped */
		if (e) {
			i = (size_t)(e - o->e);
			memmove(&o->e[i], &o->e[i + 1], (o->n - i - 1) *
			    sizeof o->e[0]);
			o->n--;
			if (below(4))
				o->hlen = put_head(o->head, 5, o->n, 0);
		}
		break;
	case 5:				/* an unknown key added */
		if (o->n < 24) {
			struct pair *a = &o->e[o->n];
			static const uint8_t keys[][3] = { { 1, 0x00 },
				{ 1, 0x20 }, { 2, 0x61, 0x61 }, { 1, 0xf5 },
				{ 2, 0x18, 0x40 } };
			switch (below(3)) {
			case 0:
				set_uint(a->k, &a->klen, k->nkeys + 1 +
				    below(3), false);
				break;
			default:
				i = below(sizeof keys / sizeof keys[0]);
				a->klen = keys[i][0];
				memcpy(a->k, keys[i] + 1, a->klen);
				break;
			}
			set_uint(a->v, &a->vlen, 1, false);
			if (below(2))
				other_value(a);
			o->n++;
			i = below(o->n);
			struct pair t = o->e[i];
			o->e[i] = o->e[o->n - 1];
			o->e[o->n - 1] = t;
			if (below(4))
				o->hlen = put_head(o->head, 5, o->n, 0);
		}
		break;
	case 6:				/* a value of another type */
		if (e)
			other_value(e);
		break;
	case 7:				/* a value at some limit */
	case 8:
		if (e)
			set_uint(e->v, &e->vlen, edges[below(sizeof edges /
			    sizeof edges[0])], false);
		break;
	case 9:				/* an id of zeros, or not */
		if (e && (e->v[0] >> 5) == 2 && (e->v[0] & 31u) <= 27) {
			unsigned info = e->v[0] & 31u;
			size_t at = info < 24 ? 1 : 1 + ((size_t)1 <<
			    (info - 24));
			if (at >= e->vlen)
				break;
			if (below(2))
				memset(e->v + at, 0, e->vlen - at);
			else
				e->v[e->vlen - 1] ^= 1;
		}
		break;
	case 10:			/* another map head */
		switch (below(5)) {
		case 0:
			o->hlen = put_any(o->head, 5, o->n, true);
			break;
		case 1:
			o->hlen = put_head(o->head, 5, o->n + 1 - below(3), 0);
			break;
		case 2:
			o->hlen = put_head(o->head, 4, o->n, 0);
			break;
		case 3:
			o->head[0] = 0xbf;
			o->hlen = 1;
			o->indefinite = true;
			break;
		default:
			o->hlen = put_any(o->head, 5, o->n, false);
			o->indefinite = false;
			break;
		}
		break;
	default:			/* a key of a field replaced */
		if (e)
			set_uint(e->k, &e->klen, 1 + below(k->nkeys), false);
		break;
	}
}

static size_t
obj_encode(const struct obj *o, uint8_t *out)
{
	size_t len = 0;

	memcpy(out, o->head, o->hlen);
	len += o->hlen;
	for (size_t i = 0; i < o->n; i++) {
		memcpy(out + len, o->e[i].k, o->e[i].klen);
		len += o->e[i].klen;
		memcpy(out + len, o->e[i].v, o->e[i].vlen);
		len += o->e[i].vlen;
	}
	if (o->indefinite)
		out[len++] = 0xff;
	return len;
}

/* Byte-level mutations of an encoding (len < cap - 8). */
static size_t
mutate_bytes(uint8_t *p, size_t len, size_t cap)
{
	size_t i;

	switch (below(6)) {
	case 0:
	case 1:				/* bit flips */
		for (size_t m = 1 + below(3); m > 0 && len > 0; m--)
			p[below(len)] ^= (uint8_t)(1u << below(8));
		return len;
	case 2:				/* cut short */
		return len ? below(len) : 0;
	case 3:				/* trailing bytes */
		for (size_t m = 1 + below(2); m > 0 && len < cap; m--)
			p[len++] = (uint8_t)rnd();
		return len;
	case 4:				/* a byte inserted */
		if (len >= cap)
			return len;
		i = below(len + 1);
		memmove(p + i + 1, p + i, len - i);
		p[i] = (uint8_t)rnd();
		return len + 1;
	default:			/* a byte removed */
		if (len == 0)
			return 0;
		i = below(len);
		memmove(p + i, p + i + 1, len - i - 1);
		return len - 1;
	}
}

/* --- the comparison ----------------------------------------------------- */

/* Decodes p with the new and the old decoder of kind k: 0 when they agree
 * (code, and fields when accepted); the new code in *code. */
static int
compare(const struct kind *k, const uint8_t *p, size_t n, int *code)
{
	int a, b, same = 1;

	if (k == &header_kind) {
		struct envelope_header x, y;
		memset(&x, 0, sizeof x);
		memset(&y, 0, sizeof y);
		a = envelope_header_decode(&x, p, n);
		b = old_header_decode(&y, p, n);
		if (a == 0 && b == 0)
			same = memcmp(&x, &y, sizeof x) == 0;
	} else if (k == &head_kind) {
		struct chain_head x, y;
		memset(&x, 0, sizeof x);
		memset(&y, 0, sizeof y);
		a = chain_head_decode(&x, p, n);
		b = old_head_decode(&y, p, n);
		if (a == 0 && b == 0)
			same = memcmp(&x, &y, sizeof x) == 0;
	} else {
		struct chain_receipt x, y;
		memset(&x, 0, sizeof x);
		memset(&y, 0, sizeof y);
		a = chain_receipt_decode(&x, p, n);
		b = old_receipt_decode(&y, p, n);
		if (a == 0 && b == 0)
			same = memcmp(&x, &y, sizeof x) == 0;
	}
	*code = a;
	if (a == b && same)
		return 0;
	printf("  %s: new %d (%s), old %d (%s)%s\n", k->name, a, err_str(a),
	    b, err_str(b), a == b ? ", fields differ" : "");
	harness_hex("input", p, n);
	return -1;
}

static size_t
cases(void)
{
	const char *s = getenv("PARLEY_DIFF_N");
	long n = s ? atol(s) : 0;

	return n > 0 ? (size_t)n : 40000;
}

/* The codes seen, by -code (ERR_* are small negatives). */
struct tally {
	size_t by[64];
};

static void
run_kind(const struct kind *k, struct tally *t)
{
	uint8_t buf[2048];
	struct obj o;
	size_t len, fails = 0, n = cases();
	int code;

	memset(t, 0, sizeof *t);
	for (size_t i = 0; i < n; i++) {
		obj_valid(&o, k);
		switch (below(8)) {
		case 0:				/* as is */
			break;
		case 1:				/* random bytes */
			len = below(k->nkeys * 16);
			for (size_t x = 0; x < len; x++)
				buf[x] = (uint8_t)rnd();
			goto compare;
		default:			/* 1 to 3 mutations */
			for (size_t m = 1 + below(3); m > 0; m--)
				mutate_pairs(&o, k);
			break;
		}
		len = obj_encode(&o, buf);
		if (below(4) == 0)
			len = mutate_bytes(buf, len, sizeof buf - 8);
compare:
		if (compare(k, buf, len, &code) != 0 && ++fails >= 10)
			break;
		t->by[-code < 64 && code <= 0 ? -code : 63]++;
	}
	CHECK_INT(fails, 0);
}

/* Codes each decoder must have met, so the cases reach every check. */
static void
check_reached(const struct tally *t, const int *codes, size_t ncodes)
{
	for (size_t i = 0; i < ncodes; i++)
		if (t->by[-codes[i]] == 0) {
			harness_fail_head(__FILE__, __LINE__);
			printf("no case gave %d (%s)\n", codes[i],
			    err_str(codes[i]));
		}
}

static void
print_tally(const char *name, const struct tally *t)
{
	printf("  %s:", name);
	for (int c = 0; c < 64; c++)
		if (t->by[c])
			printf(" %s %zu;", c ? err_str(-c) : "ok", t->by[c]);
	printf("\n");
}

static void
test_header_same_as_libcbor(void)
{
	static const int codes[] = { 0, ERR_PARSE, ERR_NONCANONICAL,
		ERR_VERSION, ERR_KIND, ERR_TOO_BIG, ERR_INVALID };
	struct tally t;

	run_kind(&header_kind, &t);
	print_tally("header", &t);
	check_reached(&t, codes, sizeof codes / sizeof codes[0]);
}

static void
test_head_same_as_libcbor(void)
{
	static const int codes[] = { 0, ERR_PARSE, ERR_NONCANONICAL,
		ERR_INVALID };
	struct tally t;

	run_kind(&head_kind, &t);
	print_tally("head", &t);
	check_reached(&t, codes, sizeof codes / sizeof codes[0]);
}

static void
test_receipt_same_as_libcbor(void)
{
	static const int codes[] = { 0, ERR_PARSE, ERR_NONCANONICAL,
		ERR_INVALID };
	struct tally t;

	run_kind(&receipt_kind, &t);
	print_tally("receipt", &t);
	check_reached(&t, codes, sizeof codes / sizeof codes[0]);
}

/* Inputs over each maximum, and the seed corpus's shapes cut and grown. */
static void
test_sizes_same_as_libcbor(void)
{
	static const struct kind *const kinds[] = { &header_kind, &head_kind,
		&receipt_kind };
	uint8_t buf[600];
	struct obj o;
	int code;
	size_t fails = 0;

	for (size_t i = 0; i < 3; i++) {
		obj_valid(&o, kinds[i]);
		size_t len = obj_encode(&o, buf);
		for (size_t n = 0; n <= sizeof buf; n++) {
			if (n > len)
				buf[n - 1] = 0x00;
			fails += compare(kinds[i], buf, n, &code) != 0;
		}
	}
	CHECK_INT(fails, 0);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	RUN(test_header_same_as_libcbor);
	RUN(test_head_same_as_libcbor);
	RUN(test_receipt_same_as_libcbor);
	RUN(test_sizes_same_as_libcbor);
	return harness_summary();
}
