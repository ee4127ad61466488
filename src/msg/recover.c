/*
 * recover.c: see recover.h. The asker keeps one verified-but-unsigned run
 * of its own messages (as the receiver does for the peer's) and a body
 * arriving in parts; the answerer streams from its store.
 */
#include "msg/recover.h"

#include <stdlib.h>
#include <string.h>

#include "base/wire.h"
#include "store/record.h"

struct rc_pend {
	uint8_t hdr[ENVELOPE_HEADER_MAX];
	size_t hlen;
	bool salted;
	uint8_t salt[ENVELOPE_SALT_LEN];
	uint8_t *body;
	size_t blen;
	struct envelope_header h;
	uint8_t id[ENVELOPE_ID_LEN];
};

struct recover {
	struct store *s;				/* borrowed */
	uint8_t channel[ENVELOPE_ID_LEN];
	uint8_t self;
	uint8_t pub[KEYS_PUB_LEN];
	uint64_t want, asked_ms, asked_top;
	struct chain_verifier v;			/* over OUR chain */
	struct rc_pend pend[CHAIN_RUN_MAX];
	size_t npend;
	/* a body in parts */
	uint8_t asm_hdr[ENVELOPE_HEADER_MAX];
	bool asm_salted;			/* its parts carry asm_salt */
	uint8_t asm_salt[ENVELOPE_SALT_LEN];
	size_t asm_hlen, asm_len, asm_want;
	uint8_t *asm_body;
	/* How far the run held now reaches: (seq << 21) | bytes of its body
	 * held (RECOVER_REACH_WHOLE: all of it), from what is stored when
	 * the run was last dropped (restart), and whether the last record
	 * took it further (recover_last_moved). A repeat of what is held or
	 * stored does not; the same records again after a drop do, up to
	 * where the dropped run reached and past it. The bytes dropped since
	 * a run was last stored (recover_run_bytes). */
	uint64_t reach;
	bool moved;
	size_t dropped;
};

#define RECOVER_REACH_WHOLE 0x1FFFFFu	/* > ENVELOPE_BODY_MAX */

/* --- records ------------------------------------------------------------ */

int
recover_ask_encode(uint64_t from, uint64_t to, uint8_t *out, size_t cap,
    size_t *len)
{
	struct wire_writer w;

	wire_writer_init(&w, out, cap);
	wire_put_map(&w, 3);
	wire_put_uint(&w, 1);
	wire_put_uint(&w, RECOVER_VERSION);
	wire_put_uint(&w, 2);
	wire_put_uint(&w, from);
	wire_put_uint(&w, 3);
	wire_put_uint(&w, to);
	return wire_writer_finish(&w, len);
}

int
recover_own_encode(const uint8_t *hdr, size_t hlen,
    const uint8_t salt[ENVELOPE_SALT_LEN], uint64_t offset,
    const uint8_t *chunk, size_t clen, uint8_t *out, size_t cap, size_t *len)
{
	struct wire_writer w;

	wire_writer_init(&w, out, cap);
	wire_put_map(&w, salt != NULL ? 4 : 3);
	wire_put_uint(&w, 1);
	wire_put_bytes(&w, hdr, hlen);
	wire_put_uint(&w, 2);
	wire_put_uint(&w, offset);
	wire_put_uint(&w, 3);
	wire_put_bytes(&w, chunk, clen);
	if (salt != NULL) {
		wire_put_uint(&w, 4);
		wire_put_bytes(&w, salt, ENVELOPE_SALT_LEN);
	}
	return wire_writer_finish(&w, len);
}

/* Decodes a map of the 3 keys 1..3, of kinds 'u' (uint) or 'b' (bytes,
 * pointing into *root: the caller frees it), and when salt is not NULL
 * an optional key 4 of ENVELOPE_SALT_LEN bytes (*salt NULL without it).
 * The caller re-encodes and compares (deterministic CBOR only). */
static int
decode3(const uint8_t *b, size_t n, const char kinds[3], uint64_t u[3],
    const uint8_t *p[3], size_t pn[3], const uint8_t **salt,
    cbor_item_t **root)
{
	size_t keys;

	*root = NULL;
	if (wire_load(b, n, root) != 0 || !cbor_isa_map(*root))
		return ERR_PARSE;
	keys = cbor_map_size(*root);
	if (keys != 3 && (salt == NULL || keys != 4))
		return ERR_PARSE;
	if (keys == 4) {
		cbor_item_t *it = wire_map_get(*root, 4);
		size_t sn;
		if (it == NULL || wire_get_bytes(it, salt, &sn) != 0 ||
		    sn != ENVELOPE_SALT_LEN)
			return ERR_PARSE;
	} else if (salt != NULL)
		*salt = NULL;
	for (int i = 0; i < 3; i++) {
		cbor_item_t *it = wire_map_get(*root, (uint64_t)i + 1);
		if (it == NULL)
			return ERR_PARSE;
		if (kinds[i] == 'u' && wire_get_uint(it, &u[i]) != 0)
			return ERR_PARSE;
		if (kinds[i] == 'b' && wire_get_bytes(it, &p[i], &pn[i]) != 0)
			return ERR_PARSE;
	}
	return 0;
}

int
recover_ask_decode(const uint8_t *b, size_t n, uint64_t *from, uint64_t *to)
{
	uint64_t u[3] = { 0 };
	const uint8_t *p[3] = { NULL };
	size_t pn[3] = { 0 }, len;
	uint8_t again[64];
	cbor_item_t *root;
	int r;

	if ((r = decode3(b, n, "uuu", u, p, pn, NULL, &root)) == 0) {
		if (u[0] != RECOVER_VERSION)
			r = ERR_VERSION;
		else if (recover_ask_encode(u[1], u[2], again, sizeof again,
		    &len) != 0 || !wire_same(b, n, again, len))
			r = ERR_NONCANONICAL;
		else if (u[2] < u[1])
			r = ERR_INVALID;
	}
	if (root != NULL)
		cbor_decref(&root);
	*from = u[1];
	*to = u[2];
	return r;
}

/* Length of the CBOR head of a byte string of n bytes (shortest form). */
static size_t
bytes_head_len(size_t n)
{
	return n < 24 ? 1 : n < 256 ? 2 : n < 65536 ? 3 :
	    n <= UINT32_MAX ? 5 : 9;
}

int
recover_own_decode(const uint8_t *b, size_t n, struct recover_own *o)
{
	uint64_t u[3] = { 0 };
	const uint8_t *p[3] = { NULL };
	size_t pn[3] = { 0 }, len, at, tail;
	const uint8_t *salt = NULL;
	cbor_item_t *root;
	uint8_t *again = NULL;
	int e;

	memset(o, 0, sizeof *o);
	if ((e = decode3(b, n, "bub", u, p, pn, &salt, &root)) != 0)
		goto out;
	if (pn[0] > ENVELOPE_HEADER_MAX || pn[2] > RECOVER_PART_MAX) {
		e = ERR_TOO_BIG;
		goto out;
	}
	if ((again = malloc(n)) == NULL) {
		e = ERR_NOMEM;
		goto out;
	}
	if (recover_own_encode(p[0], pn[0], salt, u[1], p[2], pn[2], again,
	    n, &len) != 0 || !wire_same(b, n, again, len)) {
		e = ERR_NONCANONICAL;
		goto out;
	}
	/* b is {1: hdr, 2: offset, 3: chunk[, 4: salt]} in the one
	 * canonical form: map head, key 1, the header's byte string head,
	 * the header ... the chunk, then key 4 and the salt (1 + 2 + 32
	 * bytes) when it is there. */
	at = 2 + bytes_head_len(pn[0]);
	tail = salt != NULL ? 3 + ENVELOPE_SALT_LEN : 0;
	if (n < tail || at + pn[0] > n - tail ||
	    pn[2] > n - tail - at - pn[0] || (pn[0] > 0 &&
	    memcmp(b + at, p[0], pn[0]) != 0) || (pn[2] > 0 &&
	    memcmp(b + n - tail - pn[2], p[2], pn[2]) != 0) ||
	    (salt != NULL && memcmp(b + n - ENVELOPE_SALT_LEN, salt,
	    ENVELOPE_SALT_LEN) != 0)) {
		e = ERR_NONCANONICAL;
		goto out;
	}
	o->hdr = b + at;
	o->hlen = pn[0];
	o->offset = u[1];
	o->chunk = b + n - tail - pn[2];
	o->clen = pn[2];
	o->salt = salt != NULL ? b + n - ENVELOPE_SALT_LEN : NULL;
out:
	free(again);
	if (root != NULL)
		cbor_decref(&root);
	return e;
}

/* --- asking ------------------------------------------------------------- */

static void
run_drop(struct recover *r)
{
	for (size_t i = 0; i < r->npend; i++)
		free(r->pend[i].body);
	r->npend = 0;
	free(r->asm_body);
	r->asm_body = NULL;
	r->asm_len = 0;
}

/* A fresh verifier from what the store holds of our chain (the bytes of
 * the run dropped kept in r->dropped). */
static int
restart(struct recover *r, uint64_t *top)
{
	uint8_t id[ENVELOPE_ID_LEN];
	int e;

	r->dropped += recover_unsigned_bytes(r);
	if (r->dropped > RECOVER_RUN_BYTES_MAX)
		r->dropped = RECOVER_RUN_BYTES_MAX;
	run_drop(r);
	if ((e = store_highest(r->s, r->channel, r->self, top, id)) != 0)
		return e;
	chain_verifier_init(&r->v, r->channel, r->self, r->pub, *top, id);
	r->reach = *top << 21 | RECOVER_REACH_WHOLE;	/* what is stored */
	return 0;
}

int
recover_new(struct store *s, const uint8_t channel[ENVELOPE_ID_LEN],
    uint8_t self, const uint8_t self_pub[KEYS_PUB_LEN], struct recover **out)
{
	struct recover *r;
	uint64_t top;
	int e;

	if ((r = calloc(1, sizeof *r)) == NULL)
		return ERR_NOMEM;
	r->s = s;
	memcpy(r->channel, channel, sizeof r->channel);
	r->self = self;
	memcpy(r->pub, self_pub, sizeof r->pub);
	if ((e = restart(r, &top)) != 0) {
		free(r);
		return e;
	}
	*out = r;
	return 0;
}

void
recover_free(struct recover *r)
{
	if (r == NULL)
		return;
	run_drop(r);
	free(r);
}

void
recover_ask_lost(struct recover *r)
{
	r->asked_ms = 0;
}

uint64_t
recover_want(const struct recover *r)
{
	return r->want;
}

int
recover_ask(struct recover *r, uint64_t want, uint64_t mono_ms,
    recover_send_fn *send, void *ctx)
{
	uint8_t b[64];
	uint64_t top;
	size_t n;
	int e;

	uint8_t id[ENVELOPE_ID_LEN];

	if ((e = store_highest(r->s, r->channel, r->self, &top, id)) != 0)
		return e;
	/* the same ask, its answer still coming (a record came less than
	 * RECOVER_RETRY_MS ago, and the answer's first RECOVER_BATCH are not
	 * all stored yet): asking again would only send it twice */
	if (want == r->want && r->asked_ms != 0 &&
	    mono_ms - r->asked_ms < RECOVER_RETRY_MS &&
	    top < r->asked_top + RECOVER_BATCH)
		return 0;
	if ((e = restart(r, &top)) != 0)
		return e;
	r->want = want;
	if (top >= want)
		return 0;
	if ((e = recover_ask_encode(top, want, b, sizeof b, &n)) != 0)
		return e;
	r->asked_ms = mono_ms;
	r->asked_top = top;
	return send(ctx, RECOVER_REC_ASK, b, n);
}

/* A whole message of ours: verified into the run. */
static int
take_message(struct recover *r, const uint8_t *hdr, size_t hlen,
    const uint8_t *salt, const uint8_t *body, size_t blen, uint64_t *seq)
{
	struct envelope_header h;
	uint8_t id[ENVELOPE_ID_LEN];
	struct rc_pend *p;
	int e;

	memset(&h, 0, sizeof h);
	e = chain_accept_message(&r->v, hdr, hlen, salt, body, blen, &h, id);
	if (h.seq != 0)
		*seq = h.seq;
	if (e == ERR_REPLAY)
		return 0;		/* held or pending already: nothing new */
	if (e != 0)
		return e;
	p = &r->pend[r->npend];
	if ((p->body = malloc(blen ? blen : 1)) == NULL) {
		chain_verifier_drop(&r->v);
		run_drop(r);
		return ERR_NOMEM;
	}
	memcpy(p->hdr, hdr, hlen);
	p->hlen = hlen;
	p->salted = salt != NULL;
	if (salt != NULL)
		memcpy(p->salt, salt, sizeof p->salt);
	p->h = h;
	memcpy(p->id, id, sizeof id);
	memcpy(p->body, body, blen);
	p->blen = blen;
	r->npend++;
	return 0;
}

/* Whether a part's salt (NULL: none) is the body being assembled's. */
static bool
same_salt(const struct recover *r, const uint8_t *salt)
{
	if (salt == NULL || !r->asm_salted)
		return salt == NULL && !r->asm_salted;
	return memcmp(salt, r->asm_salt, sizeof r->asm_salt) == 0;
}

static int
on_own(struct recover *r, const uint8_t *b, size_t n, uint64_t *seq)
{
	struct recover_own o;
	struct envelope_header h;
	uint64_t next;
	int e;

	if ((e = recover_own_decode(b, n, &o)) != 0)
		return e;
	if (o.offset == 0) {
		if ((e = envelope_header_decode(&h, o.hdr, o.hlen)) != 0)
			goto out;
		*seq = h.seq;
		/* chunks are whole RECOVER_PART_MAX but the last */
		if (o.clen != (h.body_len < RECOVER_PART_MAX ? h.body_len :
		    RECOVER_PART_MAX)) {
			e = ERR_BODY;
			goto out;
		}
		if (o.clen == h.body_len) {	/* whole */
			e = take_message(r, o.hdr, o.hlen, o.salt, o.chunk,
			    o.clen, seq);
			goto out;
		}
		/* only the run's next message starts a body in parts: a
		 * repeat (of what the run holds, or of the body being put
		 * together, whose parts so far are kept) is ignored, and one
		 * past the next is late (an earlier answer's) */
		next = r->v.seq + r->v.npending + 1;
		if (memcmp(h.channel, r->channel, sizeof r->channel) != 0 ||
		    h.sender != r->self) {
			e = ERR_FOREIGN;
			goto out;
		}
		if (h.seq < next || (r->asm_body != NULL &&
		    o.hlen == r->asm_hlen &&
		    memcmp(o.hdr, r->asm_hdr, o.hlen) == 0 &&
		    same_salt(r, o.salt))) {
			e = 0;
			goto out;
		}
		if (h.seq > next) {
			e = ERR_GAP;
			goto out;
		}
		free(r->asm_body);
		if ((r->asm_body = malloc(h.body_len ? h.body_len : 1)) ==
		    NULL) {
			e = ERR_NOMEM;
			goto out;
		}
		memcpy(r->asm_hdr, o.hdr, o.hlen);
		r->asm_hlen = o.hlen;
		r->asm_want = h.body_len;
		r->asm_len = 0;
		r->asm_salted = o.salt != NULL;
		if (o.salt != NULL)
			memcpy(r->asm_salt, o.salt, sizeof r->asm_salt);
	} else if (r->asm_body == NULL || o.offset != r->asm_len ||
	    o.hlen != r->asm_hlen || memcmp(o.hdr, r->asm_hdr, o.hlen) != 0 ||
	    !same_salt(r, o.salt)) {
		e = ERR_GAP;		/* a part out of place */
		goto out;
	}
	if (o.clen > r->asm_want - r->asm_len) {
		e = ERR_TOO_BIG;
		goto out;
	}
	if (o.clen != RECOVER_PART_MAX && o.clen != r->asm_want - r->asm_len) {
		e = ERR_BODY;
		goto out;
	}
	memcpy(r->asm_body + r->asm_len, o.chunk, o.clen);
	r->asm_len += o.clen;
	if (r->asm_len == r->asm_want) {
		e = take_message(r, r->asm_hdr, r->asm_hlen,
		    r->asm_salted ? r->asm_salt : NULL, r->asm_body,
		    r->asm_len, seq);
		free(r->asm_body);
		r->asm_body = NULL;
		r->asm_len = 0;
	}
out:
	return e;
}

/* A head of ours over the run: the covered messages and the head are
 * stored in one transaction, as sent and receipted. */
static int
on_head(struct recover *r, const uint8_t *b, size_t n, uint64_t now_ms,
    uint64_t *seq)
{
	struct store_in in[CHAIN_RUN_MAX];
	struct chain_head h;
	struct store_head sh;
	size_t acc = 0;
	int e;

	if ((e = chain_head_decode(&h, b, n)) != 0)
		return e;
	*seq = h.seq;
	if ((e = chain_accept_head(&r->v, &h, &acc)) == ERR_REPLAY)
		return 0;
	if (e != 0)
		return e;
	for (size_t i = 0; i < acc; i++)
		chain_store_in(&in[i], &r->pend[i].h, r->pend[i].hdr,
		    r->pend[i].hlen, r->pend[i].salted ? r->pend[i].salt :
		    NULL, r->pend[i].body, r->pend[i].blen, r->pend[i].id);
	chain_head_to_store(&sh, &h);
	if ((e = store_txn_begin(r->s)) != 0)
		return e;
	if ((e = store_own_recover(r->s, r->channel, r->self, in, acc,
	    now_ms)) != 0 || (e = store_head_put(r->s, &sh, now_ms)) != 0 ||
	    (e = store_txn_commit(r->s)) != 0) {
		store_txn_rollback(r->s);
		return e;
	}
	for (size_t i = 0; i < acc; i++)
		free(r->pend[i].body);
	r->dropped = 0;			/* a run stored: the next one's time */
	memmove(r->pend, r->pend + acc, (r->npend - acc) * sizeof r->pend[0]);
	r->npend -= acc;
	return 0;
}

/* r->moved: whether what is stored (top) and held of the run now reaches
 * further than the run held before this record did. */
static void
reach_update(struct recover *r, uint64_t top)
{
	uint64_t held = r->v.seq + r->v.npending, reach;

	if (held < top)
		held = top;
	reach = r->asm_body != NULL ? (held + 1) << 21 | r->asm_len :
	    held << 21 | RECOVER_REACH_WHOLE;
	r->moved = reach > r->reach;
	if (r->moved)
		r->reach = reach;
}

int
recover_on_record(struct recover *r, uint8_t type, const uint8_t *b,
    size_t n, uint64_t now_ms, uint64_t mono_ms, uint64_t *top,
    uint64_t *seq)
{
	uint8_t id[ENVELOPE_ID_LEN];
	uint64_t dummy;
	int e;

	*seq = 0;
	r->moved = false;
	if (type == RECOVER_REC_OWN)
		e = on_own(r, b, n, seq);
	else if (type == RECOVER_REC_HEAD)
		e = on_head(r, b, n, now_ms, seq);
	else
		e = ERR_INVALID;
	if (e == ERR_GAP)
		return e;		/* late: the run is kept */
	if (e != 0) {
		/* nothing of the run is kept: the next ask starts again */
		(void)restart(r, &dummy);
		r->asked_ms = 0;
		return e;
	}
	r->asked_ms = mono_ms;		/* the answer is coming */
	e = store_highest(r->s, r->channel, r->self, top, id);
	reach_update(r, e == 0 ? *top : 0);
	return e;
}

bool
recover_last_moved(const struct recover *r)
{
	return r->moved;
}

size_t
recover_unsigned_bytes(const struct recover *r)
{
	return r->v.run_bytes + (r->asm_body != NULL ? r->asm_len : 0);
}

size_t
recover_run_bytes(const struct recover *r)
{
	size_t n = r->dropped + recover_unsigned_bytes(r);

	return n < RECOVER_RUN_BYTES_MAX ? n : RECOVER_RUN_BYTES_MAX;
}

/* --- answering ---------------------------------------------------------- */

struct answer {
	struct store *s;
	struct recover_answer *a;
	recover_send_fn *send;
	void *ctx;
	int err;			/* send's or the store's: stopped */
	uint8_t *buf;
	size_t cap;
};

/* Message m of the answer: its parts from a->parts on, then its head (if
 * one is stored at its seq). 1 stops (x->err set, or the batch is full at
 * a head). */
static int
answer_one(void *arg, struct store_msg *m)
{
	struct answer *x = arg;
	struct recover_answer *a = x->a;
	struct store_head sh;
	struct chain_head h;
	uint8_t hb[CHAIN_HEAD_MAX];
	uint64_t nparts = m->body_len == 0 ? 1 :
	    (m->body_len + RECOVER_PART_MAX - 1) / RECOVER_PART_MAX;
	bool head;
	size_t n;
	int e;

	if (m->seq != a->next) {	/* a hole in the store: done */
		a->next = 0;
		return 1;
	}
	for (; a->parts < nparts; a->parts++) {
		size_t off = (size_t)a->parts * RECOVER_PART_MAX;
		size_t k = m->body_len - off;
		if (k > RECOVER_PART_MAX)
			k = RECOVER_PART_MAX;
		if ((e = recover_own_encode(m->header, m->header_len,
		    m->salted ? m->body_salt : NULL, off, m->body + off, k,
		    x->buf, x->cap, &n)) != 0 ||
		    (e = x->send(x->ctx, RECOVER_REC_OWN, x->buf, n)) != 0)
			goto fail;
	}
	e = store_head_covering(x->s, m->channel, m->sender, m->seq, &sh);
	if (e != 0 && e != ERR_NOT_FOUND)
		goto fail;
	head = e == 0 && sh.seq == m->seq;
	if (head) {
		chain_head_from_store(&h, &sh);
		if ((e = chain_head_encode(&h, hb, sizeof hb, &n)) != 0 ||
		    (e = x->send(x->ctx, RECOVER_REC_HEAD, hb, n)) != 0)
			goto fail;	/* only the head is owed */
	}
	a->next = m->seq + 1;
	a->parts = 0;
	/* the whole batch, however many bytes: the output paces it (a full
	 * one stops the step, not the answer) */
	if (a->next > a->end) {
		a->next = 0;
		return 1;
	}
	return 0;
fail:
	x->err = e;
	return 1;
}

int
recover_answer_start(struct store *s, const uint8_t channel[ENVELOPE_ID_LEN],
    uint8_t asker, const uint8_t *b, size_t n, struct recover_answer *a)
{
	struct store_head sh;
	uint8_t id[ENVELOPE_ID_LEN];
	uint64_t from, to, top;
	int e;

	memset(a, 0, sizeof *a);
	if ((e = recover_ask_decode(b, n, &from, &to)) != 0)
		return e;
	if ((e = store_highest(s, channel, asker, &top, id)) != 0)
		return e;
	if (to > top)
		to = top;
	if (to > from + RECOVER_BATCH)
		to = from + RECOVER_BATCH;
	if (to <= from)
		return 0;		/* nothing held past from */
	/* end at a head: every stored message is covered by one */
	if ((e = store_head_covering(s, channel, asker, to, &sh)) != 0)
		return e;
	a->next = from + 1;
	a->end = sh.seq;
	return 0;
}

int
recover_answer_step(struct store *s, const uint8_t channel[ENVELOPE_ID_LEN],
    uint8_t asker, struct recover_answer *a, recover_send_fn *send,
    void *ctx)
{
	struct answer x;
	int e;

	if (a->next == 0)
		return 0;
	memset(&x, 0, sizeof x);
	x.s = s;
	x.a = a;
	x.send = send;
	x.ctx = ctx;
	x.cap = ENVELOPE_HEADER_MAX + RECOVER_PART_MAX + ENVELOPE_SALT_LEN + 64;
	if ((x.buf = malloc(x.cap)) == NULL) {
		a->next = 0;
		return ERR_NOMEM;
	}
	e = store_after(s, channel, asker, a->next - 1,
	    (size_t)(a->end - a->next + 1), answer_one, &x);
	free(x.buf);
	if (x.err == ERR_FULL)
		return ERR_FULL;	/* *a: where to go on from */
	if (x.err == 0 && (e == 0 || e == 1))
		e = 0;
	else if (x.err != 0)
		e = x.err;
	a->next = 0;			/* done, or stopped for good */
	return e;
}
