/*
 * wire.c: see wire.h. The strict reader and the tolerant scan share no
 * code but the UTF-8 check: for the decoders on the reader, it decides
 * what is accepted, and the scan (wire_index) only how a refusal is named.
 */
#include "base/wire.h"

#include <string.h>

void
wire_writer_init(struct wire_writer *w, uint8_t *buf, size_t cap)
{
	w->buf = buf;
	w->cap = cap;
	w->len = 0;
	w->overflow = false;
}

/* Appends the result of one cbor_encode_* call (0 means no room). */
static void
advance(struct wire_writer *w, size_t n)
{
	if (n == 0)
		w->overflow = true;
	else
		w->len += n;
}

static unsigned char *
room(struct wire_writer *w, size_t *left)
{
	*left = w->overflow ? 0 : w->cap - w->len;
	return w->buf + w->len;
}

void
wire_put_uint(struct wire_writer *w, uint64_t v)
{
	size_t left;
	unsigned char *p = room(w, &left);
	advance(w, left ? cbor_encode_uint(v, p, left) : 0);
}

void
wire_put_bytes(struct wire_writer *w, const uint8_t *src, size_t n)
{
	size_t left;
	unsigned char *p = room(w, &left);
	advance(w, left ? cbor_encode_bytestring_start(n, p, left) : 0);
	p = room(w, &left);
	if (n > left) {
		w->overflow = true;
		return;
	}
	if (n)
		memcpy(p, src, n);
	w->len += n;
}

void
wire_put_text(struct wire_writer *w, const char *s)
{
	size_t n = strlen(s), left;
	unsigned char *p = room(w, &left);
	advance(w, left ? cbor_encode_string_start(n, p, left) : 0);
	p = room(w, &left);
	if (n > left) {
		w->overflow = true;
		return;
	}
	memcpy(p, s, n);
	w->len += n;
}

void
wire_put_array(struct wire_writer *w, size_t n)
{
	size_t left;
	unsigned char *p = room(w, &left);
	advance(w, left ? cbor_encode_array_start(n, p, left) : 0);
}

void
wire_put_map(struct wire_writer *w, size_t n)
{
	size_t left;
	unsigned char *p = room(w, &left);
	advance(w, left ? cbor_encode_map_start(n, p, left) : 0);
}

void
wire_put_bool(struct wire_writer *w, bool v)
{
	size_t left;
	unsigned char *p = room(w, &left);
	advance(w, left ? cbor_encode_bool(v, p, left) : 0);
}

void
wire_put_null(struct wire_writer *w)
{
	size_t left;
	unsigned char *p = room(w, &left);
	advance(w, left ? cbor_encode_null(p, left) : 0);
}

int
wire_writer_finish(const struct wire_writer *w, size_t *len)
{
	if (w->overflow)
		return ERR_TOO_BIG;
	*len = w->len;
	return 0;
}

/* --- strict reading ----------------------------------------------------- */

/* The smallest argument each head width may carry (shortest form). */
static const uint64_t width_min[4] = { 24, 0x100, 0x10000, 0x100000000 };

static int
fail(struct wire_reader *r, int err)
{
	if (r->err == 0)
		r->err = err;
	return r->err;
}

void
wire_reader_init(struct wire_reader *r, const uint8_t *p, size_t n)
{
	r->p = p;
	r->n = n;
	r->pos = 0;
	r->err = 0;
	r->depth = 0;
	r->lvl[0].left = 1;
	r->lvl[0].map = false;
	r->lvl[0].keyed = false;
}

/* Closes every container whose items are all read. */
static void
done(struct wire_reader *r)
{
	while (r->depth > 0 && r->lvl[r->depth].left == 0)
		r->depth--;
}

/*
 * Takes the head of the next item of the current container: one must be
 * owed there, of the kind asked (a key is due at even counts in a map), in
 * shortest form and inside the subset. Strings' contents and containers'
 * items are the caller's to take.
 */
static int
next(struct wire_reader *r, bool key, unsigned *major, uint64_t *arg)
{
	struct wire_level *l = &r->lvl[r->depth];
	const uint8_t *q;
	unsigned info;
	size_t len;
	uint64_t v;

	if (r->err)
		return r->err;
	if (l->left == 0 || key != (l->map && l->left % 2 == 0) ||
	    r->pos >= r->n)
		return fail(r, ERR_PARSE);
	l->left--;
	*major = r->p[r->pos] >> 5;
	info = r->p[r->pos++] & 31u;
	if (*major == 6 || (*major == 7 && (info < 20 || info > 22)))
		return fail(r, ERR_PARSE);	/* tags, floats, simple */
	if (info < 24) {
		*arg = info;
		return 0;
	}
	if (info > 27)
		return fail(r, ERR_PARSE);	/* indefinite, reserved */
	len = (size_t)1 << (info - 24);
	if (r->n - r->pos < len)
		return fail(r, ERR_PARSE);
	q = r->p + r->pos;
	switch (len) {
	case 1:
		v = q[0];
		break;
	case 2:
		v = (uint64_t)q[0] << 8 | q[1];
		break;
	case 4:
		v = (uint64_t)q[0] << 24 | (uint64_t)q[1] << 16 |
		    (uint64_t)q[2] << 8 | q[3];
		break;
	default:
		v = (uint64_t)q[0] << 56 | (uint64_t)q[1] << 48 |
		    (uint64_t)q[2] << 40 | (uint64_t)q[3] << 32 |
		    (uint64_t)q[4] << 24 | (uint64_t)q[5] << 16 |
		    (uint64_t)q[6] << 8 | q[7];
		break;
	}
	r->pos += len;
	if (v < width_min[info - 24])
		return fail(r, ERR_NONCANONICAL);
	*arg = v;
	return 0;
}

/* Opens a container of count items (a map: count pairs) just headed. */
static int
enter(struct wire_reader *r, bool map, uint64_t count)
{
	struct wire_level *l;
	size_t left = r->n - r->pos;

	if (r->depth == WIRE_MAX_DEPTH)
		return fail(r, ERR_PARSE);
	/* each item takes at least one byte */
	if (count > left || (map && count > left / 2))
		return fail(r, ERR_PARSE);
	if (count == 0) {
		done(r);
		return 0;
	}
	l = &r->lvl[++r->depth];
	l->left = map ? 2 * count : count;
	l->map = map;
	l->keyed = false;
	return 0;
}

int
wire_read_map(struct wire_reader *r, size_t n)
{
	unsigned major;
	uint64_t count;
	int e;

	if ((e = next(r, false, &major, &count)) != 0)
		return e;
	if (major != 5 || count != n)
		return fail(r, ERR_PARSE);
	return enter(r, true, count);
}

int
wire_read_key(struct wire_reader *r, uint64_t key)
{
	struct wire_level *l = &r->lvl[r->depth];
	unsigned major;
	uint64_t k;
	int e;

	if ((e = next(r, true, &major, &k)) != 0)
		return e;
	if (major != 0)
		return fail(r, ERR_PARSE);
	if (l->keyed && k <= l->last)
		return fail(r, ERR_NONCANONICAL);
	l->last = k;
	l->keyed = true;
	return k == key ? 0 : fail(r, ERR_PARSE);
}

int
wire_read_array(struct wire_reader *r, size_t max, size_t *n)
{
	unsigned major;
	uint64_t count;
	int e;

	if ((e = next(r, false, &major, &count)) != 0)
		return e;
	if (major != 4 || count > r->n - r->pos)
		return fail(r, ERR_PARSE);
	if (count > max)
		return fail(r, ERR_TOO_BIG);
	*n = (size_t)count;
	return enter(r, false, count);
}

int
wire_read_uint(struct wire_reader *r, uint64_t *v)
{
	unsigned major;
	int e;

	if ((e = next(r, false, &major, v)) != 0)
		return e;
	if (major != 0)
		return fail(r, ERR_PARSE);
	done(r);
	return 0;
}

/* A string of the major type asked: its bytes, borrowed. */
static int
string(struct wire_reader *r, unsigned want, const uint8_t **p, size_t *n)
{
	unsigned major;
	uint64_t len;
	int e;

	if ((e = next(r, false, &major, &len)) != 0)
		return e;
	if (major != want || len > r->n - r->pos)
		return fail(r, ERR_PARSE);
	*p = r->p + r->pos;
	*n = (size_t)len;
	r->pos += (size_t)len;
	done(r);
	return 0;
}

int
wire_read_bytes(struct wire_reader *r, const uint8_t **p, size_t *n)
{
	return string(r, 2, p, n);
}

int
wire_read_bytes_exact(struct wire_reader *r, uint8_t *out, size_t n)
{
	const uint8_t *p;
	size_t len;
	int e;

	if ((e = string(r, 2, &p, &len)) != 0)
		return e;
	if (len != n)
		return fail(r, ERR_PARSE);
	if (n)
		memcpy(out, p, n);
	return 0;
}

int
wire_read_text(struct wire_reader *r, char *out, size_t cap)
{
	const uint8_t *p;
	size_t len;
	int e;

	if ((e = string(r, 3, &p, &len)) != 0)
		return e;
	if (!wire_utf8_is_valid(p, len))
		return fail(r, ERR_PARSE);
	if (len >= cap)
		return fail(r, ERR_TOO_BIG);
	if (len && memchr(p, 0, len) != NULL)
		return fail(r, ERR_PARSE);
	if (len)
		memcpy(out, p, len);
	out[len] = '\0';
	return 0;
}

/* A simple value: false 20, true 21, null 22 (next() refuses others). */
static int
simple(struct wire_reader *r, uint64_t *v)
{
	unsigned major;
	int e;

	if ((e = next(r, false, &major, v)) != 0)
		return e;
	if (major != 7)
		return fail(r, ERR_PARSE);
	done(r);
	return 0;
}

int
wire_read_bool(struct wire_reader *r, bool *v)
{
	uint64_t s;
	int e;

	if ((e = simple(r, &s)) != 0)
		return e;
	if (s == 22)
		return fail(r, ERR_PARSE);
	*v = s == 21;
	return 0;
}

int
wire_read_null(struct wire_reader *r)
{
	uint64_t s;
	int e;

	if ((e = simple(r, &s)) != 0)
		return e;
	return s == 22 ? 0 : fail(r, ERR_PARSE);
}

int
wire_read_end(struct wire_reader *r)
{
	if (r->err)
		return r->err;
	if (r->depth != 0 || r->lvl[0].left != 0 || r->pos != r->n)
		return fail(r, ERR_PARSE);
	return 0;
}

/* --- the subset, tolerantly: heads of any width ------------------------ */

/* Reads the head at *pos: major type and argument. ERR_PARSE when it is
 * truncated, indefinite or reserved (additional information 28..31). */
static int
head_any(const uint8_t *p, size_t n, size_t *pos, unsigned *major,
    uint64_t *arg)
{
	size_t at = *pos, len;
	unsigned info;

	if (at >= n)
		return ERR_PARSE;
	*major = p[at] >> 5;
	info = p[at++] & 31u;
	*arg = info;
	if (info >= 24) {
		if (info > 27)
			return ERR_PARSE;
		len = (size_t)1 << (info - 24);
		if (n - at < len)
			return ERR_PARSE;
		*arg = 0;
		for (size_t i = 0; i < len; i++)
			*arg = *arg << 8 | p[at++];
	}
	*pos = at;
	return 0;
}

/*
 * Scans the one data item at *pos and moves *pos past it, refusing what
 * parley never sends. It keeps an explicit count of items still owed
 * instead of recursing, so hostile nesting cannot exhaust the stack; depth
 * is bounded by WIRE_MAX_DEPTH (an empty container may sit one deeper).
 */
static int
item_end(const uint8_t *p, size_t n, size_t *pos)
{
	uint64_t owed[WIRE_MAX_DEPTH + 1], arg;
	unsigned major;
	size_t at;
	int depth = 0;

	owed[0] = 1;
	while (depth >= 0) {
		if (owed[depth] == 0) {
			depth--;
			continue;
		}
		owed[depth]--;
		at = *pos;
		if (head_any(p, n, pos, &major, &arg) != 0)
			return ERR_PARSE;
		switch (major) {
		case 0:
		case 1:
			break;
		case 2:
		case 3:
			if (arg > n - *pos)
				return ERR_PARSE;
			if (major == 3 && !wire_utf8_is_valid(p + *pos,
			    (size_t)arg))
				return ERR_PARSE;
			*pos += (size_t)arg;
			break;
		case 4:
		case 5:
			if (arg == 0)
				break;
			if (depth == WIRE_MAX_DEPTH)
				return ERR_PARSE;
			/* each element takes at least one byte */
			if (arg > n - *pos ||
			    (major == 5 && arg > (n - *pos) / 2))
				return ERR_PARSE;
			owed[++depth] = major == 5 ? 2 * arg : arg;
			break;
		case 6:
			return ERR_PARSE; /* tags */
		default:
			if (p[at] < 0xf4 || p[at] > 0xf6)
				return ERR_PARSE; /* only false, true, null */
			break;
		}
	}
	return 0;
}

static int
scan(const uint8_t *p, size_t n)
{
	size_t pos = 0;

	if (item_end(p, n, &pos) != 0)
		return ERR_PARSE;
	return pos == n ? 0 : ERR_PARSE;
}

int
wire_index_map(struct wire_index *ix, const uint8_t *p, size_t n,
    uint64_t nkeys)
{
	uint64_t count, k;
	unsigned major;
	size_t pos = 0, kpos, val;

	memset(ix, 0, sizeof *ix);
	ix->p = p;
	ix->n = n;
	if (nkeys > WIRE_INDEX_KEYS || scan(p, n) != 0 ||
	    head_any(p, n, &pos, &major, &count) != 0 || major != 5)
		return ERR_PARSE;
	for (uint64_t i = 0; i < count; i++) {
		kpos = pos;
		if (head_any(p, n, &pos, &major, &k) != 0)
			return ERR_PARSE;
		if (major != 0 || k < 1 || k > nkeys) {
			ix->other = true;
			k = 0;
			pos = kpos;
			if (item_end(p, n, &pos) != 0)
				return ERR_PARSE;
		}
		val = pos;
		if (item_end(p, n, &pos) != 0)
			return ERR_PARSE;
		if (k != 0 && ix->at[k] == 0)
			ix->at[k] = val + 1;
	}
	return 0;
}

/* The head of key's first value, which must be of major type want. */
static int
index_head(const struct wire_index *ix, uint64_t key, unsigned want,
    size_t *pos, uint64_t *arg)
{
	unsigned major;

	if (key > WIRE_INDEX_KEYS || ix->at[key] == 0)
		return ERR_PARSE;
	*pos = ix->at[key] - 1;
	if (head_any(ix->p, ix->n, pos, &major, arg) != 0 || major != want)
		return ERR_PARSE;
	return 0;
}

int
wire_index_uint(const struct wire_index *ix, uint64_t key, uint64_t *v)
{
	size_t pos;

	return index_head(ix, key, 0, &pos, v);
}

int
wire_index_bytes(const struct wire_index *ix, uint64_t key, uint8_t *out,
    size_t n)
{
	size_t pos;
	uint64_t len;
	int r;

	if ((r = index_head(ix, key, 2, &pos, &len)) != 0)
		return r;
	if (len != n || n > ix->n - pos)
		return ERR_PARSE;
	if (n)
		memcpy(out, ix->p + pos, n);
	return 0;
}

bool
wire_utf8_is_valid(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = p[i];
		size_t more;
		uint32_t cp, min;
		uint64_t w;

		/* ASCII eight bytes at a time: a TEXT body is mostly that. */
		if (n - i >= 8) {
			memcpy(&w, p + i, 8);
			if ((w & 0x8080808080808080u) == 0) {
				i += 8;
				continue;
			}
		}
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			more = 1;
			cp = c & 0x1fu;
			min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			more = 2;
			cp = c & 0x0fu;
			min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			more = 3;
			cp = c & 0x07u;
			min = 0x10000;
		} else
			return false;
		if (n - i - 1 < more)
			return false;
		for (size_t k = 1; k <= more; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i + k] & 0x3fu);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += more + 1;
	}
	return true;
}

int
wire_load(const uint8_t *p, size_t n, cbor_item_t **out)
{
	struct cbor_load_result res;
	cbor_item_t *item;
	int r;

	*out = NULL;
	if (n == 0 || (r = scan(p, n)) != 0)
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

cbor_item_t *
wire_map_get(const cbor_item_t *map, uint64_t key)
{
	if (!cbor_isa_map(map) || !cbor_map_is_definite(map))
		return NULL;
	struct cbor_pair *pairs = cbor_map_handle(map);
	size_t n = cbor_map_size(map);
	for (size_t i = 0; i < n; i++) {
		if (cbor_isa_uint(pairs[i].key) &&
		    cbor_get_int(pairs[i].key) == key)
			return pairs[i].value;
	}
	return NULL;
}

int
wire_get_uint(const cbor_item_t *item, uint64_t *v)
{
	if (item == NULL || !cbor_isa_uint(item))
		return ERR_PARSE;
	*v = cbor_get_int(item);
	return 0;
}

int
wire_get_bytes(const cbor_item_t *item, const uint8_t **p, size_t *n)
{
	if (item == NULL || !cbor_isa_bytestring(item) ||
	    !cbor_bytestring_is_definite(item))
		return ERR_PARSE;
	*p = cbor_bytestring_handle(item);
	*n = cbor_bytestring_length(item);
	return 0;
}

int
wire_get_bytes_exact(const cbor_item_t *item, uint8_t *out, size_t n)
{
	const uint8_t *p;
	size_t len;
	int r;

	if ((r = wire_get_bytes(item, &p, &len)) != 0)
		return r;
	if (len != n)
		return ERR_PARSE;
	if (n)
		memcpy(out, p, n);
	return 0;
}

int
wire_get_text(const cbor_item_t *item, char *out, size_t cap)
{
	if (item == NULL || !cbor_isa_string(item) ||
	    !cbor_string_is_definite(item))
		return ERR_PARSE;
	size_t n = cbor_string_length(item);
	const unsigned char *p = cbor_string_handle(item);
	if (n >= cap)
		return ERR_TOO_BIG;
	if (n && memchr(p, 0, n) != NULL)
		return ERR_PARSE;
	if (n)
		memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

bool
wire_same(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	return alen == blen && memcmp(a, b, alen) == 0;
}
