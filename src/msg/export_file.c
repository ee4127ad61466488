/*
 * export_file.c: the export file (docs/export.md, "Format"): a record's
 * deterministic CBOR, and the strict reader that re-encodes what it read
 * and refuses other bytes. The record and its verifier are in export.c.
 */
#include "msg/export.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/wire.h"

/* The file's map keys, in order. */
enum {
	X_VERSION = 1, X_CHANNEL, X_EXPORTER, X_TIME, X_PARTIES, X_CHAINS,
	X_HEADS, X_RECEIPTS, X_CHECKPOINTS
};

/* An upper bound of the encoded size. */
static size_t
bound(const struct export_record *rec)
{
	size_t n = 1024;

	for (int i = 0; i < 2; i++) {
		const struct export_chain *c = &rec->chain[i];
		for (size_t k = 0; k < c->nmsg; k++)
			n += c->msg[k].hlen + c->msg[k].blen + 24 +
			    ENVELOPE_SALT_LEN + 4;
		n += c->nheads * (CHAIN_HEAD_MAX + 9);
		n += c->nreceipts * (CHAIN_RECEIPT_MAX + 9);
	}
	return n + rec->ncps * (TRANSCRIPT_CHECKPOINT_MAX + 9);
}

static int
write_all(const struct export_record *rec, struct wire_writer *w)
{
	uint8_t buf[TRANSCRIPT_CHECKPOINT_MAX];
	size_t len;
	int r;

	wire_put_map(w, 9);
	wire_put_uint(w, X_VERSION);
	wire_put_uint(w, rec->version != 0 ? rec->version : EXPORT_VERSION);
	wire_put_uint(w, X_CHANNEL);
	wire_put_bytes(w, rec->channel, sizeof rec->channel);
	wire_put_uint(w, X_EXPORTER);
	wire_put_uint(w, rec->exporter);
	wire_put_uint(w, X_TIME);
	wire_put_uint(w, rec->time_ms);
	wire_put_uint(w, X_PARTIES);
	wire_put_array(w, 2);
	for (int i = 0; i < 2; i++) {
		wire_put_array(w, 2);
		wire_put_text(w, rec->party[i].name);
		wire_put_bytes(w, rec->party[i].sign_pub, KEYS_PUB_LEN);
	}
	wire_put_uint(w, X_CHAINS);
	wire_put_array(w, 2);
	for (int i = 0; i < 2; i++) {
		const struct export_chain *c = &rec->chain[i];
		wire_put_array(w, c->nmsg);
		for (size_t k = 0; k < c->nmsg; k++) {
			const struct export_msg *m = &c->msg[k];
			wire_put_array(w, 2);
			wire_put_bytes(w, m->hdr, m->hlen);
			if (m->body == NULL) {
				wire_put_null(w);
				continue;
			}
			if (m->salted) {
				wire_put_array(w, 2);
				wire_put_bytes(w, m->salt, sizeof m->salt);
			}
			wire_put_bytes(w, m->body, m->blen);
		}
	}
	wire_put_uint(w, X_HEADS);
	wire_put_array(w, 2);
	for (int i = 0; i < 2; i++) {
		const struct export_chain *c = &rec->chain[i];
		wire_put_array(w, c->nheads);
		for (size_t k = 0; k < c->nheads; k++) {
			if ((r = chain_head_encode(&c->heads[k], buf,
			    sizeof buf, &len)) != 0)
				return r;
			wire_put_bytes(w, buf, len);
		}
	}
	wire_put_uint(w, X_RECEIPTS);
	wire_put_array(w, 2);
	for (int i = 0; i < 2; i++) {
		const struct export_chain *c = &rec->chain[i];
		wire_put_array(w, c->nreceipts);
		for (size_t k = 0; k < c->nreceipts; k++) {
			if ((r = chain_receipt_encode(&c->receipts[k], buf,
			    sizeof buf, &len)) != 0)
				return r;
			wire_put_bytes(w, buf, len);
		}
	}
	wire_put_uint(w, X_CHECKPOINTS);
	wire_put_array(w, rec->ncps);
	for (size_t k = 0; k < rec->ncps; k++) {
		if ((r = transcript_checkpoint_encode(&rec->cps[k], buf,
		    sizeof buf, &len)) != 0)
			return r;
		wire_put_bytes(w, buf, len);
	}
	return 0;
}

int
export_encode(const struct export_record *rec, uint8_t **out, size_t *len)
{
	struct wire_writer w;
	size_t cap = bound(rec);
	uint8_t *buf;
	int r;

	*out = NULL;
	if (cap > EXPORT_FILE_MAX)
		return ERR_TOO_BIG;
	if ((buf = malloc(cap)) == NULL)
		return ERR_NOMEM;
	wire_writer_init(&w, buf, cap);
	if ((r = write_all(rec, &w)) != 0 ||
	    (r = wire_writer_finish(&w, len)) != 0) {
		free(buf);
		return r;
	}
	*out = buf;
	return 0;
}

/*
 * Reading walks the bytes in place with base/wire.h's strict reader: no
 * item tree (a tree of libcbor items costs some 100 bytes per item, and
 * a file of one-byte items would have cost 100 times its size), only
 * the deterministic encoding, every count capped before anything is
 * allocated for it.
 */

/* True when the next item is null (a body not disclosed). */
static bool
next_is_null(const struct wire_reader *rd)
{
	return rd->err == 0 && rd->pos < rd->n && rd->p[rd->pos] == 0xf6;
}

/* True when the next item is an array (a salted body, file version 2). */
static bool
next_is_array(const struct wire_reader *rd)
{
	return rd->err == 0 && rd->pos < rd->n && (rd->p[rd->pos] >> 5) == 4;
}

/* An array of exactly n items. */
static int
read_pair(struct wire_reader *rd, size_t n)
{
	size_t got;
	int r;

	if ((r = wire_read_array(rd, n, &got)) != 0)
		return r;
	return got == n ? 0 : ERR_PARSE;
}

/* A disclosed body: bstr, or in a version 2 file [salt, bstr] too. */
static int
read_body(const struct export_record *rec, struct wire_reader *rd,
    const uint8_t **salt, const uint8_t **b, size_t *bl)
{
	static const uint8_t empty[1];
	const uint8_t *s;
	size_t sl;
	int r;

	*salt = NULL;
	if (next_is_array(rd)) {
		if (rec->version < 2)
			return ERR_PARSE;
		if ((r = read_pair(rd, 2)) != 0 ||
		    (r = wire_read_bytes(rd, &s, &sl)) != 0)
			return r;
		if (sl != ENVELOPE_SALT_LEN)
			return ERR_PARSE;
		*salt = s;
	}
	if ((r = wire_read_bytes(rd, b, bl)) == 0 && *b == NULL)
		*b = empty;		/* disclosed, and empty */
	return r;
}

static int
read_chain(struct export_record *rec, uint8_t i, struct wire_reader *rd)
{
	const uint8_t *h, *b, *salt;
	size_t n, hl, bl;
	int r;

	if ((r = wire_read_array(rd, EXPORT_MSG_MAX, &n)) != 0)
		return r;
	for (size_t k = 0; k < n; k++) {
		if ((r = read_pair(rd, 2)) != 0 ||
		    (r = wire_read_bytes(rd, &h, &hl)) != 0)
			return r;
		if (hl < EXPORT_HEADER_MIN) {	/* no header: not kept */
			snprintf(rec->decode_fault, sizeof rec->decode_fault,
			    "chain of party %u (%s), seq %zu: header: does not"
			    " decode (%zu bytes; a header holds four ids of %d"
			    " bytes)", i, rec->party[i].name, k + 1, hl,
			    ENVELOPE_ID_LEN);
			return ERR_PARSE;
		}
		b = salt = NULL;
		bl = 0;
		if (next_is_null(rd))
			r = wire_read_null(rd);
		else
			r = read_body(rec, rd, &salt, &b, &bl);
		if (r != 0 ||
		    (r = export_add_msg(rec, i, h, hl, salt, b, bl)) != 0)
			return r;
	}
	return 0;
}

/* Reads one of the three lists of signed objects: kind 0 heads (of party
 * i), 1 receipts (by party i), 2 checkpoints. */
static int
read_signed(struct export_record *rec, int kind, int i,
    struct wire_reader *rd)
{
	struct chain_head h;
	struct chain_receipt rc;
	struct transcript_checkpoint cp;
	const uint8_t *p;
	size_t n, len;
	int r;

	if ((r = wire_read_array(rd, EXPORT_MSG_MAX, &n)) != 0)
		return r;
	for (size_t k = 0; k < n; k++) {
		if ((r = wire_read_bytes(rd, &p, &len)) != 0)
			return r;
		if (kind == 0) {
			if ((r = chain_head_decode(&h, p, len)) != 0)
				return r;
			if (h.sender != i)
				return ERR_PARSE;
			r = export_add_head(rec, &h);
		} else if (kind == 1) {
			if ((r = chain_receipt_decode(&rc, p, len)) != 0)
				return r;
			if (rc.receiver != i)
				return ERR_PARSE;
			r = export_add_receipt(rec, &rc);
		} else {
			if ((r = transcript_checkpoint_decode(&cp, p,
			    len)) != 0)
				return r;
			r = export_add_checkpoint(rec, &cp);
		}
		if (r != 0)
			return r;
	}
	return 0;
}

static int
read_all(struct export_record *rec, struct wire_reader *rd)
{
	uint64_t version, x, t;
	int r;

	if ((r = wire_read_map(rd, 9)) != 0 ||
	    (r = wire_read_key(rd, X_VERSION)) != 0 ||
	    (r = wire_read_uint(rd, &version)) != 0)
		return r;
	if (version < EXPORT_VERSION_MIN || version > EXPORT_VERSION)
		return ERR_VERSION;
	rec->version = (uint32_t)version;
	if ((r = wire_read_key(rd, X_CHANNEL)) != 0 ||
	    (r = wire_read_bytes_exact(rd, rec->channel,
	    sizeof rec->channel)) != 0 ||
	    (r = wire_read_key(rd, X_EXPORTER)) != 0 ||
	    (r = wire_read_uint(rd, &x)) != 0 ||
	    (r = wire_read_key(rd, X_TIME)) != 0 ||
	    (r = wire_read_uint(rd, &t)) != 0)
		return r;
	if (x > 1)
		return ERR_PARSE;
	rec->exporter = (uint8_t)x;
	rec->time_ms = t;
	if ((r = wire_read_key(rd, X_PARTIES)) != 0 ||
	    (r = read_pair(rd, 2)) != 0)
		return r;
	for (int i = 0; i < 2; i++) {
		if ((r = read_pair(rd, 2)) != 0 ||
		    (r = wire_read_text(rd, rec->party[i].name,
		    sizeof rec->party[i].name)) != 0 ||
		    (r = wire_read_bytes_exact(rd, rec->party[i].sign_pub,
		    KEYS_PUB_LEN)) != 0)
			return r;
		/* names are printed: only what a node can be called */
		if (!keys_name_is_valid(rec->party[i].name))
			return ERR_PARSE;
	}
	if ((r = wire_read_key(rd, X_CHAINS)) != 0 ||
	    (r = read_pair(rd, 2)) != 0)
		return r;
	for (uint8_t i = 0; i < 2; i++)
		if ((r = read_chain(rec, i, rd)) != 0)
			return r;
	if ((r = wire_read_key(rd, X_HEADS)) != 0 ||
	    (r = read_pair(rd, 2)) != 0)
		return r;
	for (int i = 0; i < 2; i++)
		if ((r = read_signed(rec, 0, i, rd)) != 0)
			return r;
	if ((r = wire_read_key(rd, X_RECEIPTS)) != 0 ||
	    (r = read_pair(rd, 2)) != 0)
		return r;
	for (int i = 0; i < 2; i++)
		if ((r = read_signed(rec, 1, i, rd)) != 0)
			return r;
	if ((r = wire_read_key(rd, X_CHECKPOINTS)) != 0 ||
	    (r = read_signed(rec, 2, 0, rd)) != 0)
		return r;
	return wire_read_end(rd);
}

int
export_decode(struct export_record *rec, const uint8_t *p, size_t n)
{
	struct wire_reader rd;
	uint8_t *again = NULL;
	size_t len;
	int r;

	if (n > EXPORT_FILE_MAX)
		return ERR_TOO_BIG;
	wire_reader_init(&rd, p, n);
	if ((r = read_all(rec, &rd)) != 0)
		goto out;
	if ((r = export_encode(rec, &again, &len)) != 0)
		goto out;
	if (!wire_same(p, n, again, len))
		r = ERR_NONCANONICAL;
out:
	free(again);
	return r;
}
