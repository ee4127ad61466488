/* wire.c: see wire.h. */
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

/*
 * Scans one data item at *pos, refusing what parley never sends. It keeps
 * an explicit count of items still owed instead of recursing, so hostile
 * nesting cannot exhaust the stack; depth is bounded by WIRE_MAX_DEPTH.
 */
static int
scan(const uint8_t *p, size_t n)
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
