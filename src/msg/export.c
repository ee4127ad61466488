/*
 * export.c: see export.h; the file format is in docs/export.md.
 *
 * The verifier walks each chain from seq 1, checking every header's
 * encoding, channel, sender, seq and prev link, and every disclosed body
 * against its header's hash; then each head and receipt against the ids
 * it names and its signer's key; then each header's peer_last against the
 * other chain; then the checkpoints. The first fault stops it and is
 * described in full: whose chain, which seq, which field, what was
 * expected and what was found.
 */
#include "msg/export.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hex.h"
#include "msg/ack.h"

static const uint8_t zero_id[ENVELOPE_ID_LEN];

void
export_record_init(struct export_record *rec)
{
	memset(rec, 0, sizeof *rec);
}

void
export_record_fini(struct export_record *rec)
{
	for (int i = 0; i < 2; i++) {
		struct export_chain *c = &rec->chain[i];
		for (size_t k = 0; k < c->nmsg; k++) {
			free(c->msg[k].hdr);
			free(c->msg[k].body);
		}
		free(c->msg);
		free(c->heads);
		free(c->receipts);
	}
	free(rec->cps);
	memset(rec, 0, sizeof *rec);
}

/* Makes room for one more element of size sz in *v (n used, *cap). */
static int
grow(void **v, size_t n, size_t *cap, size_t sz)
{
	size_t ncap;
	void *nv;

	if (n < *cap)
		return 0;
	ncap = *cap == 0 ? 16 : *cap * 2;
	if ((nv = realloc(*v, ncap * sz)) == NULL)
		return ERR_NOMEM;
	*v = nv;
	*cap = ncap;
	return 0;
}

static uint8_t *
dup(const uint8_t *p, size_t n)
{
	uint8_t *d = malloc(n == 0 ? 1 : n);

	if (d != NULL && n > 0)
		memcpy(d, p, n);
	return d;
}

int
export_add_msg(struct export_record *rec, uint8_t sender, const uint8_t *hdr,
    size_t hlen, const uint8_t salt[ENVELOPE_SALT_LEN], const uint8_t *body,
    size_t blen)
{
	struct export_chain *c;
	struct export_msg m = { 0 };
	int r;

	if (sender > 1)
		return ERR_INVALID;
	c = &rec->chain[sender];
	if (hlen > ENVELOPE_HEADER_MAX || blen > ENVELOPE_BODY_MAX ||
	    c->nmsg >= EXPORT_MSG_MAX)
		return ERR_TOO_BIG;
	if ((r = grow((void **)&c->msg, c->nmsg, &c->capmsg,
	    sizeof *c->msg)) != 0)
		return r;
	if ((m.hdr = dup(hdr, hlen)) == NULL)
		return ERR_NOMEM;
	m.hlen = hlen;
	if (body != NULL) {
		if ((m.body = dup(body, blen)) == NULL) {
			free(m.hdr);
			return ERR_NOMEM;
		}
		m.blen = blen;
		m.salted = salt != NULL;
		if (salt != NULL)
			memcpy(m.salt, salt, sizeof m.salt);
	}
	c->msg[c->nmsg++] = m;
	return 0;
}

int
export_add_head(struct export_record *rec, const struct chain_head *h)
{
	struct export_chain *c;
	int r;

	if (h->sender > 1)
		return ERR_INVALID;
	c = &rec->chain[h->sender];
	if (c->nheads >= EXPORT_MSG_MAX)
		return ERR_TOO_BIG;
	if ((r = grow((void **)&c->heads, c->nheads, &c->capheads,
	    sizeof *c->heads)) != 0)
		return r;
	c->heads[c->nheads++] = *h;
	return 0;
}

int
export_add_receipt(struct export_record *rec, const struct chain_receipt *rc)
{
	struct export_chain *c;
	int r;

	if (rc->receiver > 1)
		return ERR_INVALID;
	c = &rec->chain[rc->receiver];
	if (c->nreceipts >= EXPORT_MSG_MAX)
		return ERR_TOO_BIG;
	if ((r = grow((void **)&c->receipts, c->nreceipts, &c->capreceipts,
	    sizeof *c->receipts)) != 0)
		return r;
	c->receipts[c->nreceipts++] = *rc;
	return 0;
}

int
export_add_checkpoint(struct export_record *rec,
    const struct transcript_checkpoint *cp)
{
	int r;

	if (rec->ncps >= EXPORT_MSG_MAX)
		return ERR_TOO_BIG;
	if ((r = grow((void **)&rec->cps, rec->ncps, &rec->capcps,
	    sizeof *rec->cps)) != 0)
		return r;
	rec->cps[rec->ncps++] = *cp;
	return 0;
}

void
export_msg_id(const struct export_msg *m, uint8_t id[ENVELOPE_ID_LEN])
{
	envelope_header_id(m->hdr, m->hlen, id);
}

void
export_keep_only(struct export_record *rec,
    const uint8_t (*keep)[ENVELOPE_ID_LEN], size_t n)
{
	uint8_t id[ENVELOPE_ID_LEN];

	for (int i = 0; i < 2; i++) {
		struct export_chain *c = &rec->chain[i];
		for (size_t k = 0; k < c->nmsg; k++) {
			bool kept = false;
			export_msg_id(&c->msg[k], id);
			for (size_t j = 0; j < n && !kept; j++)
				kept = memcmp(id, keep[j], sizeof id) == 0;
			if (!kept && c->msg[k].body != NULL) {
				free(c->msg[k].body);
				c->msg[k].body = NULL;
				c->msg[k].blen = 0;
				c->msg[k].salted = false;
				sodium_memzero(c->msg[k].salt,
				    sizeof c->msg[k].salt);
			}
		}
	}
}

/* ---- verification ---- */

struct id_at {
	uint8_t id[ENVELOPE_ID_LEN];		/* first: cmp_id compares it */
	size_t k;				/* seq k + 1 */
};

struct vstate {
	const struct export_record *rec;
	struct export_report *rep;
	struct envelope_header *h[2];		/* h[i][k]: seq k + 1 */
	uint8_t (*ids[2])[ENVELOPE_ID_LEN];	/* as the headers hash */
	uint8_t (*want[2])[ENVELOPE_ID_LEN];	/* as the signed heads say */
	uint64_t *from[2];			/* the head that says so */
	uint8_t (*sorted[2])[ENVELOPE_ID_LEN];
	struct id_at *at[2];			/* ids with their seqs, sorted */
	size_t *acked_at[2];			/* [k]: the seq of the other
						 * chain's ACK of k + 1, or 0 */
};

static int fault(struct vstate *v, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fault(struct vstate *v, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v->rep->fault, sizeof v->rep->fault, fmt, ap);
	va_end(ap);
	v->rep->ok = false;
	return code;
}

static void
hex32(char out[2 * ENVELOPE_ID_LEN + 1], const uint8_t *id)
{
	hex_encode(out, id, ENVELOPE_ID_LEN);
}

static const char *
pname(const struct vstate *v, int i)
{
	return v->rec->party[i].name[0] != '\0' ? v->rec->party[i].name : "?";
}

/* Compares a fixed field; on difference fills the fault. */
static int
same_id(struct vstate *v, int code, const uint8_t *want, const uint8_t *got,
    const char *what, const char *field)
{
	char w[2 * ENVELOPE_ID_LEN + 1], g[2 * ENVELOPE_ID_LEN + 1];

	if (memcmp(want, got, ENVELOPE_ID_LEN) == 0)
		return 0;
	hex32(w, want);
	hex32(g, got);
	return fault(v, code, "%s: %s: expected %s, found %s", what, field,
	    w, g);
}

static void
msg_what(const struct vstate *v, int i, size_t k, char *what, size_t cap)
{
	snprintf(what, cap, "chain of party %d (%s), seq %zu", i, pname(v, i),
	    k + 1);
}

/* Phase 1: each header decodes, is of this channel and sits at its seq. */
static int
check_headers(struct vstate *v, int i)
{
	const struct export_chain *c = &v->rec->chain[i];
	char what[160];
	int r;

	for (size_t k = 0; k < c->nmsg; k++) {
		struct envelope_header *h = &v->h[i][k];
		msg_what(v, i, k, what, sizeof what);
		if ((r = envelope_header_decode(h, c->msg[k].hdr,
		    c->msg[k].hlen)) != 0)
			return fault(v, r, "%s: header: does not decode (%s)",
			    what, err_str(r));
		envelope_header_id(c->msg[k].hdr, c->msg[k].hlen,
		    v->ids[i][k]);
		if (h->sender != i || h->seq != k + 1)
			return fault(v, ERR_CHAIN, "%s: header.sender/seq: "
			    "expected %d/%zu, found %u/%llu (a header missing"
			    " or out of place)", what, i, k + 1, h->sender,
			    (unsigned long long)h->seq);
		if ((r = same_id(v, ERR_FOREIGN, v->rec->channel, h->channel,
		    what, "header.channel")) != 0)
			return r;
	}
	return 0;
}

/* Phase 2: each head is the party's signature over an id at a seq the
 * record holds. */
static int
check_heads(struct vstate *v, int i)
{
	const struct export_chain *c = &v->rec->chain[i];
	char what[160];
	int r;

	for (size_t j = 0; j < c->nheads; j++) {
		const struct chain_head *h = &c->heads[j];
		snprintf(what, sizeof what, "head of party %d (%s) at seq "
		    "%llu", i, pname(v, i), (unsigned long long)h->seq);
		if (h->seq == 0 || h->seq > c->nmsg)
			return fault(v, ERR_NOT_FOUND, "%s: names a header "
			    "the record does not hold (chain has %zu)", what,
			    c->nmsg);
		if ((r = same_id(v, ERR_FOREIGN, v->rec->channel,
		    h->channel, what, "channel")) != 0)
			return r;
		if (chain_head_verify(h, v->rec->party[i].sign_pub) != 0)
			return fault(v, ERR_SIGNATURE, "%s: signature: does "
			    "not verify under %s's signing key", what,
			    pname(v, i));
	}
	v->rep->nheads += c->nheads;
	return 0;
}

/*
 * Phase 3: the ids the signatures vouch for. A verified head gives the id
 * at its seq; an authentic header (its id as vouched) gives, by its prev,
 * the id below it. The lowest header whose id differs from the vouched
 * one is the altered one. Headers above the last head are checked by
 * their links alone.
 */
static int
check_links(struct vstate *v, int i)
{
	const struct export_chain *c = &v->rec->chain[i];
	size_t top = 0;
	char what[160], src[64];
	int r;

	for (size_t j = 0; j < c->nheads; j++) {
		const struct chain_head *h = &c->heads[j];
		size_t s = (size_t)h->seq;
		/* two signed heads at one seq must name one header */
		if (v->from[i][s - 1] != 0) {
			snprintf(what, sizeof what, "head of party %d (%s) at "
			    "seq %zu", i, pname(v, i), s);
			if ((r = same_id(v, ERR_CHAIN, v->want[i][s - 1],
			    h->id, what, "id (another signed head at this seq"
			    " names the first)")) != 0)
				return r;
		}
		memcpy(v->want[i][s - 1], h->id, ENVELOPE_ID_LEN);
		v->from[i][s - 1] = h->seq;
		if (s > top)
			top = s;
	}
	for (size_t s = top; s > 1; s--) {
		if (v->from[i][s - 1] == 0 || v->from[i][s - 2] != 0 ||
		    memcmp(v->want[i][s - 1], v->ids[i][s - 1],
		    ENVELOPE_ID_LEN) != 0)
			continue;
		memcpy(v->want[i][s - 2], v->h[i][s - 1].prev,
		    ENVELOPE_ID_LEN);
		v->from[i][s - 2] = v->from[i][s - 1];
	}
	for (size_t k = 0; k < c->nmsg; k++) {
		msg_what(v, i, k, what, sizeof what);
		if (v->from[i][k] != 0) {
			snprintf(src, sizeof src, "header id (as the head at "
			    "seq %llu vouches)",
			    (unsigned long long)v->from[i][k]);
			if ((r = same_id(v, ERR_CHAIN, v->want[i][k],
			    v->ids[i][k], what, src)) != 0)
				return r;
		}
		if ((r = same_id(v, ERR_CHAIN, k == 0 ? zero_id :
		    v->ids[i][k - 1], v->h[i][k].prev, what,
		    "header.prev")) != 0)
			return r;
	}
	v->rep->unsigned_tail[i] = c->nmsg - top;
	return 0;
}

/* Phase 4: each disclosed body against its header. */
static int
check_bodies(struct vstate *v, int i)
{
	const struct export_chain *c = &v->rec->chain[i];
	uint8_t bh[ENVELOPE_ID_LEN];
	char what[160];

	for (size_t k = 0; k < c->nmsg; k++) {
		const struct export_msg *m = &c->msg[k];
		if (m->body == NULL) {
			if (v->h[i][k].version == 1)
				v->rep->guessable[i]++;
			continue;
		}
		msg_what(v, i, k, what, sizeof what);
		v->rep->disclosed[i]++;
		if (m->blen != v->h[i][k].body_len)
			return fault(v, ERR_BODY, "%s: body: header.body_len "
			    "%u, found %zu bytes", what, v->h[i][k].body_len,
			    m->blen);
		if (envelope_body_hash_of(v->h[i][k].version, m->salted ?
		    m->salt : NULL, m->body, m->blen, bh) != 0)
			return fault(v, ERR_SALT, m->salted ? "%s: body_salt: "
			    "present, but a version %u header's body has none" :
			    "%s: body_salt: missing (a version %u header's body "
			    "is salted)", what, v->h[i][k].version);
		if (memcmp(bh, v->h[i][k].body_hash, sizeof bh) != 0)
			return same_id(v, ERR_BODY, v->h[i][k].body_hash, bh,
			    what, m->salted ? "body_salt and body (their hash;"
			    " expected: header.body_hash)" :
			    "body (its hash; expected: header.body_hash)");
	}
	return 0;
}

static int
check_receipts(struct vstate *v, int i)
{
	const struct export_chain *c = &v->rec->chain[i];
	const struct export_chain *o = &v->rec->chain[1 - i];
	char what[160];
	int r;

	for (size_t j = 0; j < c->nreceipts; j++) {
		const struct chain_receipt *rc = &c->receipts[j];
		snprintf(what, sizeof what, "receipt by party %d (%s) at seq "
		    "%llu", i, pname(v, i), (unsigned long long)rc->seq);
		if (rc->seq > o->nmsg)
			return fault(v, ERR_NOT_FOUND, "%s: names a header "
			    "the record does not hold (chain has %zu)", what,
			    o->nmsg);
		if ((r = same_id(v, ERR_FOREIGN, v->rec->channel,
		    rc->channel, what, "channel")) != 0 ||
		    (r = same_id(v, ERR_CHAIN, rc->seq == 0 ? zero_id :
		    v->ids[1 - i][rc->seq - 1], rc->id, what, "id")) != 0)
			return r;
		if (chain_receipt_verify(rc, v->rec->party[i].sign_pub) != 0)
			return fault(v, ERR_SIGNATURE, "%s: signature: does "
			    "not verify under %s's signing key", what,
			    pname(v, i));
	}
	v->rep->nreceipts += c->nreceipts;
	return 0;
}

static int
cmp_id(const void *a, const void *b)
{
	return memcmp(a, b, ENVELOPE_ID_LEN);
}

/* Each header's peer_last is zeros or a header of the other chain. */
static int
check_peer_last(struct vstate *v, int i)
{
	size_t no = v->rec->chain[1 - i].nmsg;
	char got[2 * ENVELOPE_ID_LEN + 1];

	for (size_t k = 0; k < v->rec->chain[i].nmsg; k++) {
		const uint8_t *pl = v->h[i][k].peer_last;
		if (memcmp(pl, zero_id, sizeof zero_id) == 0)
			continue;
		if (no > 0 && bsearch(pl, v->sorted[1 - i], no,
		    ENVELOPE_ID_LEN, cmp_id) != NULL)
			continue;
		hex32(got, pl);
		return fault(v, ERR_CHAIN, "chain of party %d (%s), seq %zu: "
		    "header.peer_last: expected a header of %s's chain, found"
		    " %s", i, pname(v, i), k + 1, pname(v, 1 - i), got);
	}
	return 0;
}

/*
 * Each disclosed acknowledgment (docs/operators.md): its body decodes and
 * names a message of the other chain in this record, not an ACK, which
 * no other ACK of this chain names (once per side). A hidden body (a
 * selective export) is not checked; its header is, as any other.
 */
static int
check_acks(struct vstate *v, int i)
{
	const struct export_chain *c = &v->rec->chain[i];
	size_t no = v->rec->chain[1 - i].nmsg;
	char what[160], want[2 * ENVELOPE_ID_LEN + 1];
	struct ack_body b;
	struct id_at *at;
	bool late;
	int r;

	for (size_t k = 0; k < c->nmsg; k++) {
		const struct export_msg *m = &c->msg[k];
		if (v->h[i][k].kind != ENVELOPE_ACK || m->body == NULL)
			continue;
		msg_what(v, i, k, what, sizeof what);
		if ((r = ack_body_decode(&b, m->body, m->blen)) != 0)
			return fault(v, r, "%s: body: not an acknowledgment's "
			    "body (docs/operators.md ack-body)", what);
		at = no > 0 ? bsearch(b.acked, v->at[1 - i], no,
		    sizeof *v->at[1 - i], cmp_id) : NULL;
		hex32(want, b.acked);
		if (at == NULL)
			return fault(v, ERR_NOT_FOUND, "%s: body.acked: %s is "
			    "no message of %s's chain in this record", what,
			    want, pname(v, 1 - i));
		r = ack_verify(&v->h[i][k], m->body, m->blen,
		    &v->h[1 - i][at->k], v->ids[1 - i][at->k], 0, &late, &b);
		if (r != 0)
			return fault(v, r, "%s: body.acked: %s's seq %zu, which "
			    "%s", what, pname(v, 1 - i), at->k + 1,
			    r == ERR_INVALID ? "is an acknowledgment itself, "
			    "or not of this channel" : "it does not name");
		if (v->acked_at[1 - i][at->k] != 0)
			return fault(v, ERR_EXISTS, "%s: acknowledges %s's seq "
			    "%zu a second time (first at seq %zu)", what,
			    pname(v, 1 - i), at->k + 1,
			    v->acked_at[1 - i][at->k]);
		v->acked_at[1 - i][at->k] = k + 1;
	}
	return 0;
}

static int
check_checkpoints(struct vstate *v)
{
	uint8_t pub[2][KEYS_PUB_LEN];
	char what[160];
	int bad, r;

	memcpy(pub[0], v->rec->party[0].sign_pub, KEYS_PUB_LEN);
	memcpy(pub[1], v->rec->party[1].sign_pub, KEYS_PUB_LEN);
	for (size_t j = 0; j < v->rec->ncps; j++) {
		const struct transcript_checkpoint *cp = &v->rec->cps[j];
		snprintf(what, sizeof what, "checkpoint %zu (seqs %llu/%llu)",
		    j + 1, (unsigned long long)cp->seq[0],
		    (unsigned long long)cp->seq[1]);
		if ((r = same_id(v, ERR_FOREIGN, v->rec->channel,
		    cp->channel, what, "channel")) != 0)
			return r;
		for (int i = 0; i < 2; i++) {
			if (cp->seq[i] > v->rec->chain[i].nmsg)
				return fault(v, ERR_NOT_FOUND, "%s: seq of "
				    "party %d: the record holds %zu", what, i,
				    v->rec->chain[i].nmsg);
			if ((r = same_id(v, ERR_CHAIN, cp->seq[i] == 0 ?
			    zero_id : v->ids[i][cp->seq[i] - 1], cp->id[i],
			    what, i == 0 ? "id of party 0" :
			    "id of party 1")) != 0)
				return r;
		}
		/* only co-signed checkpoints are kept: both signatures */
		r = transcript_checkpoint_verify(cp,
		    (const uint8_t (*)[KEYS_PUB_LEN])pub, true, &bad);
		if (r == ERR_CHAIN)
			return fault(v, r, "%s: head: not the transcript head"
			    " of its seqs and ids", what);
		if (r == ERR_UNSIGNED)
			return fault(v, r, "%s: not co-signed: a signature is "
			    "missing", what);
		if (r != 0)
			return fault(v, r, "%s: signature of party %d (%s): "
			    "does not verify", what, bad, bad >= 0 ?
			    pname(v, bad) : "?");
	}
	v->rep->ncps = v->rec->ncps;
	return 0;
}

static int
verify_all(struct vstate *v)
{
	int r;

	/* two parties, two keys: else one holder signed both chains and
	 * its checkpoints only look co-signed (agreements refuse it too) */
	if (memcmp(v->rec->party[0].sign_pub, v->rec->party[1].sign_pub,
	    KEYS_PUB_LEN) == 0)
		return fault(v, ERR_INVALID, "party 1 (%s): signing key: the "
		    "same as party 0's (%s): a channel's parties never share "
		    "a key", pname(v, 1), pname(v, 0));
	for (int i = 0; i < 2; i++)
		if ((r = check_headers(v, i)) != 0)
			return r;
	for (int i = 0; i < 2; i++)
		if ((r = check_heads(v, i)) != 0 ||
		    (r = check_links(v, i)) != 0 ||
		    (r = check_bodies(v, i)) != 0)
			return r;
	for (int i = 0; i < 2; i++) {
		size_t n = v->rec->chain[i].nmsg;
		if (n > 0) {
			memcpy(v->sorted[i], v->ids[i], n * ENVELOPE_ID_LEN);
			qsort(v->sorted[i], n, ENVELOPE_ID_LEN, cmp_id);
		}
		for (size_t k = 0; k < n; k++) {
			memcpy(v->at[i][k].id, v->ids[i][k], ENVELOPE_ID_LEN);
			v->at[i][k].k = k;
		}
		if (n > 0)
			qsort(v->at[i], n, sizeof *v->at[i], cmp_id);
	}
	for (int i = 0; i < 2; i++)
		if ((r = check_receipts(v, i)) != 0 ||
		    (r = check_peer_last(v, i)) != 0 ||
		    (r = check_acks(v, i)) != 0)
			return r;
	return check_checkpoints(v);
}

static void
vstate_free(struct vstate *v)
{
	for (int i = 0; i < 2; i++) {
		free(v->h[i]);
		free(v->ids[i]);
		free(v->want[i]);
		free(v->from[i]);
		free(v->sorted[i]);
		free(v->at[i]);
		free(v->acked_at[i]);
	}
}

int
export_verify(const struct export_record *rec, struct export_report *rep)
{
	struct vstate v = { .rec = rec, .rep = rep };
	int r = 0;

	memset(rep, 0, sizeof *rep);
	rep->ok = true;
	for (int i = 0; i < 2; i++) {
		size_t n = rec->chain[i].nmsg + 1;
		v.h[i] = calloc(n, sizeof *v.h[i]);
		v.ids[i] = calloc(n, ENVELOPE_ID_LEN);
		v.want[i] = calloc(n, ENVELOPE_ID_LEN);
		v.from[i] = calloc(n, sizeof *v.from[i]);
		v.sorted[i] = calloc(n, ENVELOPE_ID_LEN);
		v.at[i] = calloc(n, sizeof *v.at[i]);
		v.acked_at[i] = calloc(n, sizeof *v.acked_at[i]);
		if (v.h[i] == NULL || v.ids[i] == NULL || v.want[i] == NULL ||
		    v.from[i] == NULL || v.sorted[i] == NULL ||
		    v.at[i] == NULL || v.acked_at[i] == NULL) {
			r = fault(&v, ERR_NOMEM, "out of memory");
			goto out;
		}
	}
	if ((r = verify_all(&v)) != 0)
		goto out;
	for (int i = 0; i < 2; i++) {
		rep->seq[i] = rec->chain[i].nmsg;
		if (rep->seq[i] > 0)
			memcpy(rep->id[i], v.ids[i][rep->seq[i] - 1],
			    ENVELOPE_ID_LEN);
	}
	transcript_head(rec->channel, rep->seq,
	    (const uint8_t (*)[ENVELOPE_ID_LEN])rep->id, rep->head);
out:
	vstate_free(&v);
	return r;
}
