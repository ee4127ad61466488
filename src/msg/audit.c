/*
 * audit.c: the audit log's entries, their hash chain and its check
 * (audit.h).
 */
#include "msg/audit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/wire.h"
#include "crypto/hash.h"
#include "msg/envelope.h"
#include "store/people.h"

_Static_assert(AUDIT_ENTRY_MAX <= STORE_AUDIT_MAX, "entries fit the store");
_Static_assert(AUDIT_HASH_LEN == STORE_ID_LEN, "hash fits the store");

enum { E_N, E_TIME, E_UID, E_OPERATOR, E_ACTION, E_DETAIL };

int
audit_encode(const struct audit_entry *e, uint8_t *out, size_t cap,
    size_t *len)
{
	struct wire_writer w;

	if (e->n == 0 || e->n > INT64_MAX)
		return ERR_INVALID;
	wire_writer_init(&w, out, cap);
	wire_put_map(&w, 6);
	wire_put_uint(&w, E_N);
	wire_put_uint(&w, e->n);
	wire_put_uint(&w, E_TIME);
	wire_put_uint(&w, e->time_ms);
	wire_put_uint(&w, E_UID);
	wire_put_uint(&w, e->uid);
	wire_put_uint(&w, E_OPERATOR);
	wire_put_text(&w, e->operator);
	wire_put_uint(&w, E_ACTION);
	wire_put_text(&w, e->action);
	wire_put_uint(&w, E_DETAIL);
	wire_put_text(&w, e->detail);
	return wire_writer_finish(&w, len);
}

int
audit_decode(struct audit_entry *e, const uint8_t *p, size_t n)
{
	uint8_t again[AUDIT_ENTRY_MAX];
	cbor_item_t *item = NULL;
	uint64_t uid;
	size_t len;
	int r;

	memset(e, 0, sizeof *e);
	if (n > AUDIT_ENTRY_MAX)
		return ERR_TOO_BIG;
	if ((r = wire_load(p, n, &item)) != 0)
		return r;
	if (!cbor_isa_map(item) || cbor_map_size(item) != 6) {
		r = ERR_PARSE;
		goto out;
	}
	if ((r = wire_get_uint(wire_map_get(item, E_N), &e->n)) != 0 ||
	    (r = wire_get_uint(wire_map_get(item, E_TIME), &e->time_ms)) != 0 ||
	    (r = wire_get_uint(wire_map_get(item, E_UID), &uid)) != 0 ||
	    (r = wire_get_text(wire_map_get(item, E_OPERATOR), e->operator,
	    sizeof e->operator)) != 0 ||
	    (r = wire_get_text(wire_map_get(item, E_ACTION), e->action,
	    sizeof e->action)) != 0 ||
	    (r = wire_get_text(wire_map_get(item, E_DETAIL), e->detail,
	    sizeof e->detail)) != 0)
		goto out;
	if (uid > UINT32_MAX) {
		r = ERR_PARSE;
		goto out;
	}
	e->uid = (uint32_t)uid;
	if ((r = audit_encode(e, again, sizeof again, &len)) != 0)
		goto out;
	if (!wire_same(p, n, again, len))
		r = ERR_NONCANONICAL;
out:
	cbor_decref(&item);
	return r;
}

void
audit_hash(const uint8_t prev[AUDIT_HASH_LEN], const uint8_t *entry,
    size_t len, uint8_t out[AUDIT_HASH_LEN])
{
	hash_ctx2(out, AUDIT_HASH_LEN, AUDIT_CTX, prev, AUDIT_HASH_LEN, entry,
	    len);
}

int
audit_verify(const struct audit_row *rows, size_t n, size_t *bad)
{
	uint8_t prev[AUDIT_HASH_LEN] = { 0 }, h[AUDIT_HASH_LEN];
	struct audit_entry e;
	int r;

	for (size_t i = 0; i < n; i++) {
		*bad = i;
		if (rows[i].n != i + 1)
			return ERR_GAP;
		if ((r = audit_decode(&e, rows[i].entry, rows[i].len)) != 0)
			return r;
		if (e.n != rows[i].n)
			return ERR_GAP;
		audit_hash(prev, rows[i].entry, rows[i].len, h);
		if (memcmp(h, rows[i].hash, sizeof h) != 0)
			return ERR_CHAIN;
		memcpy(prev, h, sizeof prev);
	}
	*bad = n;
	return 0;
}

/* Copies s into out (cap bytes) cut at a UTF-8 boundary. */
static void
cut(char *out, size_t cap, const char *s)
{
	size_t n = strnlen(s, cap - 1);

	while (n > 0 && n < strlen(s) && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	memcpy(out, s, n);
	out[n] = '\0';
}

int
audit_append(struct store *s, uint32_t uid, const char *name,
    const char *action, const char *detail, uint64_t now_ms)
{
	uint8_t prev[AUDIT_HASH_LEN], h[AUDIT_HASH_LEN], buf[AUDIT_ENTRY_MAX];
	struct audit_entry e;
	size_t len;
	int r;

	memset(&e, 0, sizeof e);
	if ((r = store_audit_last(s, &e.n, prev)) != 0)
		return r;
	e.n++;
	e.time_ms = now_ms;
	e.uid = uid;
	cut(e.operator, sizeof e.operator, name);
	cut(e.action, sizeof e.action, action);
	cut(e.detail, sizeof e.detail, detail);
	if ((r = audit_encode(&e, buf, sizeof buf, &len)) != 0)
		return r;
	audit_hash(prev, buf, len, h);
	return store_audit_put(s, e.n, buf, len, h);
}

struct rows {
	struct audit_row *v;
	size_t n, cap;
};

static int
collect(void *arg, uint64_t n, const uint8_t *entry, size_t len,
    const uint8_t hash[STORE_ID_LEN])
{
	struct rows *rs = arg;
	struct audit_row *v;
	uint8_t *copy;

	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? 2 * rs->cap : 64;
		if ((v = realloc(rs->v, cap * sizeof *v)) == NULL)
			return ERR_NOMEM;
		rs->v = v;
		rs->cap = cap;
	}
	if ((copy = malloc(len ? len : 1)) == NULL)
		return ERR_NOMEM;
	if (len)
		memcpy(copy, entry, len);
	rs->v[rs->n].n = n;
	rs->v[rs->n].entry = copy;
	rs->v[rs->n].len = len;
	memcpy(rs->v[rs->n].hash, hash, AUDIT_HASH_LEN);
	rs->n++;
	return 0;
}

int
audit_verify_store(struct store *s, size_t *count, size_t *bad)
{
	struct rows rs = { NULL, 0, 0 };
	int r;

	*count = 0;
	*bad = 0;
	if ((r = store_audit_each(s, collect, &rs)) == 0)
		r = audit_verify(rs.v, rs.n, bad);
	*count = rs.n;
	for (size_t i = 0; i < rs.n; i++)
		free((void *)(uintptr_t)rs.v[i].entry);
	free(rs.v);
	return r;
}
