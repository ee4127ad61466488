/*
 * delivery.c: the per-channel delivery engine (delivery.h,
 * docs/delivery.md): the sender's scheduler and resend pointer, the
 * receiver's verifier and unsigned run, SYNC, receipts and refusals.
 */
#include "msg/delivery.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "base/hex.h"
#include "base/log.h"
#include "base/wire.h"
#include "msg/recover.h"

/* One message of the peer's unsigned run, held until a head covers it. */
struct dl_pend {
	uint8_t hdr[ENVELOPE_HEADER_MAX];
	size_t hlen;
	uint8_t *body;
	size_t blen;
	struct envelope_header h;
	uint8_t id[ENVELOPE_ID_LEN];
};

struct dl_channel {
	uint8_t id[ENVELOPE_ID_LEN];
	char idhex[17];			/* for the log */
	uint8_t self;
	uint8_t peer_pub[KEYS_PUB_LEN];
	char peer[KEYS_NAME_MAX + 1];
	unsigned npaths;
	bool up[DELIVERY_MAX_PATHS];
	int active;			/* -1: none */
	/* Sender. */
	bool synced;			/* the peer's SYNC came since active */
	uint64_t assigned, receipted, sent;
	/* The peer's receipt taken (verified, c->receipted), not yet in the
	 * store: it goes in with the next group's transaction, or alone at
	 * the next tick (rc_store). */
	struct store_receipt rc_pend;
	bool rc_pending;
	size_t queued;			/* ours not yet assigned */
	int assign_err;			/* the last one logged */
	size_t unsigned_n, unsigned_bytes;	/* sent since the last head */
	uint64_t progress_ms, sync_ms, gap_sync_ms;
	uint64_t refused, resends;
	/* Receiver. */
	struct chain_verifier v;
	struct dl_pend pend[CHAIN_RUN_MAX];
	size_t npend;
	/* A body arriving in parts. */
	uint8_t asm_hdr[ENVELOPE_HEADER_MAX];
	size_t asm_hlen, asm_len, asm_want;
	uint8_t *asm_body;
	/* Recovery of our own chain after a restore (msg/recover.h): while
	 * set, nothing new is assigned. */
	struct recover *rec;
};

/* A message given to delivery_submit: committed at the next pump. */
struct dl_sub {
	struct dl_sub *next;
	size_t ch;
	uint8_t precedence, marking;
	uint32_t kind;
	bool wait;			/* answer at the receipt */
	delivery_txn_fn *in_txn;
	delivery_done_fn *done;
	void *arg;
	int r;
	int64_t qid;
	uint64_t seq;			/* once assigned; 0 before */
	uint64_t looked;		/* c->assigned when seq was read */
	bool placed;			/* taken (or refused) by subs_direct */
	uint8_t hdr[ENVELOPE_HEADER_MAX];	/* once placed by subs_direct */
	size_t hlen;
	size_t len;
	uint8_t body[];
};

struct delivery {
	struct store *s;
	const struct keys *k;
	struct delivery_io io;
	size_t nch;
	struct dl_channel *ch[DELIVERY_MAX_CHANNELS];
	struct dl_sub *subs, **subs_tail;	/* to commit at the pump */
	size_t nsubs;
	struct dl_sub *waits;			/* committed, wait for receipts */
	size_t nwaits;
};

static void subs_close(struct delivery *d);

static uint64_t
dl_now(const struct delivery *d)
{
	struct timeval tv;

	if (d->io.now_ms)
		return d->io.now_ms(d->io.ctx);
	gettimeofday(&tv, NULL);
	return (uint64_t)tv.tv_sec * 1000u + (uint64_t)tv.tv_usec / 1000u;
}

const char *
delivery_refusal_name(int code)
{
	switch (code) {
	case ERR_SIGNATURE: return "bad signature";
	case ERR_FOREIGN: return "wrong channel or sender";
	case ERR_GAP: return "gap in sequence";
	case ERR_REPLAY: return "repeat in sequence";
	case ERR_CHAIN: return "wrong previous hash";
	case ERR_EXISTS: return "repeat with another id";
	case ERR_BODY: return "body does not match its header";
	case ERR_TOO_BIG: return "oversized body";
	case ERR_KIND: return "unknown kind";
	case ERR_NONCANONICAL: return "non-deterministic CBOR";
	case ERR_PARSE: return "malformed CBOR";
	case ERR_FULL: return "unsigned run over the cap";
	case ERR_VERSION: return "unknown version";
	default: return err_str(code);
	}
}

/* --- records ---------------------------------------------------------- */

int
delivery_msg_encode(const uint8_t *hdr, size_t hlen, const uint8_t *body,
    size_t blen, uint8_t *out, size_t cap, size_t *len)
{
	struct wire_writer w;

	wire_writer_init(&w, out, cap);
	wire_put_map(&w, 2);
	wire_put_uint(&w, 1);
	wire_put_bytes(&w, hdr, hlen);
	wire_put_uint(&w, 2);
	wire_put_bytes(&w, body, blen);
	return wire_writer_finish(&w, len);
}

int
delivery_part_encode(const uint8_t *hdr, size_t hlen, uint64_t offset,
    const uint8_t *chunk, size_t clen, uint8_t *out, size_t cap, size_t *len)
{
	struct wire_writer w;

	wire_writer_init(&w, out, cap);
	wire_put_map(&w, 3);
	wire_put_uint(&w, 1);
	wire_put_bytes(&w, hdr, hlen);
	wire_put_uint(&w, 2);
	wire_put_uint(&w, offset);
	wire_put_uint(&w, 3);
	wire_put_bytes(&w, chunk, clen);
	return wire_writer_finish(&w, len);
}

int
delivery_sync_encode(const struct chain_receipt *r, bool reply, uint8_t *out,
    size_t cap, size_t *len)
{
	uint8_t rb[CHAIN_RECEIPT_MAX];
	size_t rlen;
	struct wire_writer w;
	int e;

	if ((e = chain_receipt_encode(r, rb, sizeof rb, &rlen)) != 0)
		return e;
	wire_writer_init(&w, out, cap);
	wire_put_map(&w, 3);
	wire_put_uint(&w, 1);
	wire_put_uint(&w, DELIVERY_VERSION);
	wire_put_uint(&w, 2);
	wire_put_bytes(&w, rb, rlen);
	wire_put_uint(&w, 3);
	wire_put_bool(&w, reply);
	return wire_writer_finish(&w, len);
}

/*
 * Decodes a record map with keys 1..n into byte strings / uints (kinds:
 * 'b' bytes, 'u' uint, 't' bool) with the strict reader (base/wire.h):
 * only the deterministic encoding is accepted, so nothing is re-encoded.
 * Byte strings point into b. ERR_PARSE, ERR_NONCANONICAL.
 */
struct dl_field {
	char kind;
	const uint8_t *p;
	size_t n;
	uint64_t u;
};

static int
record_decode(const uint8_t *b, size_t len, struct dl_field *f, size_t n)
{
	struct wire_reader r;
	bool t;
	int e;

	wire_reader_init(&r, b, len);
	if ((e = wire_read_map(&r, n)) != 0)
		return e;
	for (size_t i = 0; i < n; i++) {
		if ((e = wire_read_key(&r, i + 1)) != 0)
			return e;
		if (f[i].kind == 'b')
			e = wire_read_bytes(&r, &f[i].p, &f[i].n);
		else if (f[i].kind == 'u')
			e = wire_read_uint(&r, &f[i].u);
		else if ((e = wire_read_bool(&r, &t)) == 0)
			f[i].u = t;
		if (e != 0)
			return e;
	}
	return wire_read_end(&r);
}

/* --- channels ----------------------------------------------------------- */

int
delivery_new(struct store *s, const struct keys *k,
    const struct delivery_io *io, struct delivery **out)
{
	struct delivery *d;

	if ((d = calloc(1, sizeof *d)) == NULL)
		return ERR_NOMEM;
	d->s = s;
	d->k = k;
	d->io = *io;
	d->subs_tail = &d->subs;
	*out = d;
	return 0;
}

static void
pend_drop(struct dl_channel *c)
{
	for (size_t i = 0; i < c->npend; i++)
		free(c->pend[i].body);
	c->npend = 0;
	chain_verifier_drop(&c->v);
	free(c->asm_body);
	c->asm_body = NULL;
	c->asm_len = c->asm_want = c->asm_hlen = 0;
}

void
delivery_free(struct delivery *d)
{
	if (d == NULL)
		return;
	subs_close(d);
	delivery_flush(d);
	for (size_t i = 0; i < d->nch; i++) {
		pend_drop(d->ch[i]);
		recover_free(d->ch[i]->rec);
		free(d->ch[i]);
	}
	free(d);
}

/* Re-reads where both chains stand (after start or a failed store). */
/*
 * Stores the peer's receipt taken since the last time (inside a caller's
 * transaction too: then it is kept pending until that commits). A failure
 * keeps it for the next try; c->receipted stands (the peer's signature
 * says it holds the messages; its next SYNC carries the receipt again).
 */
static int
rc_store(struct delivery *d, struct dl_channel *c)
{
	size_t newly;
	int r;

	if (!c->rc_pending)
		return 0;
	if ((r = store_receipt_put(d->s, &c->rc_pend, dl_now(d), &newly)) != 0)
		log_warn("channel %s: cannot store the receipt of %s (seq %llu)"
		    ": %s", c->idhex, c->peer, (unsigned long long)
		    c->rc_pend.seq, r == ERR_FULL ? "store full" : err_str(r));
	else
		c->rc_pending = false;
	return r;
}

void
delivery_flush(struct delivery *d)
{
	for (size_t i = 0; i < d->nch; i++)
		(void)rc_store(d, d->ch[i]);
}

static int
channel_reload(struct delivery *d, struct dl_channel *c)
{
	uint8_t id[ENVELOPE_ID_LEN];
	struct store_receipt rc;
	uint64_t seq;
	int r;

	pend_drop(c);
	rc_store(d, c);
	if ((r = store_highest(d->s, c->id, (uint8_t)(1 - c->self), &seq, id))
	    != 0)
		return r;
	chain_verifier_init(&c->v, c->id, (uint8_t)(1 - c->self), c->peer_pub,
	    seq, id);
	if ((r = store_highest(d->s, c->id, c->self, &c->assigned, id)) != 0)
		return r;
	r = store_receipt_latest(d->s, c->id, (uint8_t)(1 - c->self), &rc);
	if (r == ERR_NOT_FOUND)
		c->receipted = 0;
	else if (r != 0)
		return r;
	else
		c->receipted = rc.seq;
	c->sent = c->receipted;
	return store_queued_count(d->s, c->id, &c->queued);
}

int
delivery_add_channel(struct delivery *d,
    const uint8_t channel[ENVELOPE_ID_LEN], uint8_t self,
    const uint8_t peer_pub[KEYS_PUB_LEN], const char *peer_name,
    unsigned npaths)
{
	struct dl_channel *c;
	int r;

	if (d->nch >= DELIVERY_MAX_CHANNELS || self > 1 ||
	    npaths > DELIVERY_MAX_PATHS)
		return ERR_INVALID;
	if ((c = calloc(1, sizeof *c)) == NULL)
		return ERR_NOMEM;
	memcpy(c->id, channel, sizeof c->id);
	hex_encode(c->idhex, channel, 8);
	c->self = self;
	memcpy(c->peer_pub, peer_pub, sizeof c->peer_pub);
	snprintf(c->peer, sizeof c->peer, "%s", peer_name);
	c->npaths = npaths;
	c->active = -1;
	if ((r = channel_reload(d, c)) != 0) {
		free(c);
		return r;
	}
	d->ch[d->nch++] = c;
	return 0;
}

static struct dl_channel *
find_channel(struct delivery *d, const uint8_t id[ENVELOPE_ID_LEN])
{
	for (size_t i = 0; i < d->nch; i++)
		if (memcmp(d->ch[i]->id, id, ENVELOPE_ID_LEN) == 0)
			return d->ch[i];
	return NULL;
}

int
delivery_find(const struct delivery *d, const char *name, size_t *index)
{
	char hex[2 * ENVELOPE_ID_LEN + 1];
	size_t found = 0;

	if (name == NULL || *name == '\0') {
		if (d->nch != 1)
			return d->nch == 0 ? ERR_NOT_FOUND : ERR_INVALID;
		*index = 0;
		return 0;
	}
	for (size_t i = 0; i < d->nch; i++) {
		hex_encode(hex, d->ch[i]->id, ENVELOPE_ID_LEN);
		if (strcmp(d->ch[i]->peer, name) == 0 || (strlen(name) >= 4 &&
		    strncmp(hex, name, strlen(name)) == 0)) {
			*index = i;
			found++;
		}
	}
	return found == 1 ? 0 : found == 0 ? ERR_NOT_FOUND : ERR_INVALID;
}

size_t
delivery_channel_count(const struct delivery *d)
{
	return d->nch;
}

const uint8_t *
delivery_channel_id(const struct delivery *d, size_t i)
{
	return d->ch[i]->id;
}

const char *
delivery_channel_peer(const struct delivery *d, size_t i)
{
	return d->ch[i]->peer;
}

uint8_t
delivery_channel_self(const struct delivery *d, size_t i)
{
	return d->ch[i]->self;
}

struct store *
delivery_store(struct delivery *d)
{
	return d->s;
}

int
delivery_stats(struct delivery *d, size_t i, struct delivery_stats *st)
{
	struct dl_channel *c = d->ch[i];
	int r;

	memset(st, 0, sizeof *st);
	if ((r = store_queued_count(d->s, c->id, &st->queued)) != 0)
		return r;
	st->assigned = c->assigned;
	st->receipted = c->receipted;
	st->received = c->v.seq;
	st->active_path = c->active;
	st->synced = c->synced;
	st->refused = c->refused;
	st->resends = c->resends;
	return 0;
}

static void
wake(struct delivery *d)
{
	if (d->io.wake)
		d->io.wake(d->io.ctx);
}

int
delivery_queue(struct delivery *d, size_t i, uint8_t precedence,
    uint8_t marking, uint32_t kind, const uint8_t *body, size_t len,
    int64_t *qid)
{
	struct dl_channel *c = d->ch[i];
	int r;

	r = chain_queue(d->s, c->id, c->self, precedence, marking, kind, body,
	    len, dl_now(d), qid);
	if (r == 0) {
		c->queued++;
		wake(d);
	}
	return r;
}

/* --- sending ---------------------------------------------------------- */

static int
send_rec(struct delivery *d, struct dl_channel *c, uint8_t type,
    const uint8_t *b, size_t n)
{
	if (c->active < 0)
		return ERR_CLOSED;
	return d->io.send(d->io.ctx, c->id, (unsigned)c->active, type, b, n);
}

/* Our signed statement of how far we hold the peer's chain. */
static int
make_receipt(struct delivery *d, struct dl_channel *c, struct chain_receipt *r)
{
	memset(r, 0, sizeof *r);
	memcpy(r->channel, c->id, sizeof r->channel);
	r->receiver = c->self;
	r->seq = c->v.seq;
	memcpy(r->id, c->v.id, sizeof r->id);
	r->time_ms = dl_now(d);
	return chain_receipt_sign(r, d->k);
}

static void
send_sync(struct delivery *d, struct dl_channel *c, bool reply)
{
	struct chain_receipt rc;
	uint8_t b[CHAIN_RECEIPT_MAX + 32];
	size_t n;

	if (make_receipt(d, c, &rc) != 0 ||
	    delivery_sync_encode(&rc, reply, b, sizeof b, &n) != 0)
		return;
	if (send_rec(d, c, DELIVERY_REC_SYNC, b, n) == 0)
		c->sync_ms = dl_now(d);
}

static void
send_receipt(struct delivery *d, struct dl_channel *c)
{
	struct chain_receipt rc;
	uint8_t b[CHAIN_RECEIPT_MAX];
	size_t n;

	if (make_receipt(d, c, &rc) != 0 ||
	    chain_receipt_encode(&rc, b, sizeof b, &n) != 0)
		return;
	(void)send_rec(d, c, DELIVERY_REC_RECEIPT, b, n);
}

static int
send_head(struct delivery *d, struct dl_channel *c, const struct chain_head *h)
{
	uint8_t b[CHAIN_HEAD_MAX];
	size_t n;
	int r;

	if ((r = chain_head_encode(h, b, sizeof b, &n)) != 0)
		return r;
	return send_rec(d, c, DELIVERY_REC_HEAD, b, n);
}

/* Sends one message: one MSG, or MSG_PARTs for a large body. */
static int
send_msg(struct delivery *d, struct dl_channel *c, const struct store_msg *m)
{
	uint8_t *b;
	size_t cap = m->header_len + (m->body_len < DELIVERY_PART_MAX ?
	    m->body_len : DELIVERY_PART_MAX) + 64, n, off = 0;
	int r;

	if ((b = malloc(cap)) == NULL)
		return ERR_NOMEM;
	if (m->body_len <= DELIVERY_PART_MAX) {
		r = delivery_msg_encode(m->header, m->header_len, m->body,
		    m->body_len, b, cap, &n);
		if (r == 0)
			r = send_rec(d, c, DELIVERY_REC_MSG, b, n);
		free(b);
		return r;
	}
	r = 0;
	while (r == 0 && off < m->body_len) {
		size_t k = m->body_len - off;
		if (k > DELIVERY_PART_MAX)
			k = DELIVERY_PART_MAX;
		r = delivery_part_encode(m->header, m->header_len, off,
		    m->body + off, k, b, cap, &n);
		if (r == 0)
			r = send_rec(d, c, DELIVERY_REC_PART, b, n);
		off += k;
	}
	free(b);
	return r;
}

struct send_ctx {
	struct delivery *d;
	struct dl_channel *c;
	int err;
};

/* store_after's callback: one message, then a head where one is due. */
static int
send_one(void *arg, struct store_msg *m)
{
	struct send_ctx *sc = arg;
	struct delivery *d = sc->d;
	struct dl_channel *c = sc->c;
	struct store_head sh;
	struct chain_head h;
	bool head = false;
	int r;

	if ((r = send_msg(d, c, m)) != 0)
		goto fail;
	c->unsigned_n++;
	c->unsigned_bytes += m->header_len + m->body_len;
	r = store_head_covering(d->s, c->id, c->self, m->seq, &sh);
	if (r == 0 && sh.seq == m->seq) {
		chain_head_from_store(&h, &sh);
		head = true;
	} else if (r != 0 && r != ERR_NOT_FOUND) {
		goto fail;
	} else if (c->unsigned_n >= DELIVERY_RUN_SIGN ||
	    c->unsigned_bytes >= DELIVERY_RUN_BYTES || m->seq == c->assigned) {
		if ((r = chain_head_over(&h, m, d->k)) != 0)
			goto fail;
		chain_head_to_store(&sh, &h);
		if ((r = store_head_put(d->s, &sh, dl_now(d))) != 0)
			goto fail;
		head = true;
	}
	if (head) {
		if ((r = send_head(d, c, &h)) != 0)
			goto fail;
		c->unsigned_n = c->unsigned_bytes = 0;
	}
	c->sent = m->seq;
	return 0;
fail:
	/* The message goes again next time (the peer drops repeats). */
	sc->err = r;
	return 1;
}

/* The head over the last message of a batch, signed inside the store's
 * assignment transaction. */
static int
sign_head(void *arg, const uint8_t *channel, uint8_t sender, uint64_t seq,
    const uint8_t id[STORE_ID_LEN], struct store_head *out)
{
	struct delivery *d = arg;
	struct chain_head h;
	int r;

	memset(&h, 0, sizeof h);
	memcpy(h.channel, channel, sizeof h.channel);
	h.sender = sender;
	h.seq = seq;
	memcpy(h.id, id, sizeof h.id);
	if ((r = chain_head_sign(&h, d->k)) != 0)
		return r;
	chain_head_to_store(out, &h);
	return 0;
}

/* Gives queued messages their place in the chain, FLASH first, and signs
 * a head over the batch: one commit. ERR_NOT_FOUND when nothing is
 * queued. */
static int
assign(struct delivery *d, struct dl_channel *c, size_t max)
{
	uint64_t first, last;
	int r;

	if ((r = store_assign_signed(d->s, c->id, c->self, max, dl_now(d),
	    chain_store_build, NULL, sign_head, d, &first, &last)) != 0)
		return r;
	c->assigned = last;
	c->queued -= c->queued < last - first + 1 ? c->queued :
	    (size_t)(last - first + 1);
	return 0;
}

/* --- group commit (docs/delivery.md, "Group commit") -------------------- */

int
delivery_submit(struct delivery *d, size_t i, uint8_t precedence,
    uint8_t marking, uint32_t kind, const uint8_t *body, size_t len,
    bool wait, delivery_txn_fn *in_txn, delivery_done_fn *done, void *arg)
{
	struct dl_sub *sb;

	if (i >= d->nch || done == NULL)
		return ERR_INVALID;
	if (len > ENVELOPE_BODY_MAX)
		return ERR_TOO_BIG;
	if (d->nsubs >= DELIVERY_SUBMIT_MAX ||
	    (wait && d->nwaits >= DELIVERY_WAIT_MAX))
		return ERR_AGAIN;
	if ((sb = calloc(1, sizeof *sb + len)) == NULL)
		return ERR_NOMEM;
	sb->ch = i;
	sb->precedence = precedence;
	sb->marking = marking;
	sb->kind = kind;
	sb->wait = wait;
	sb->in_txn = in_txn;
	sb->done = done;
	sb->arg = arg;
	sb->len = len;
	memcpy(sb->body, body, len);
	*d->subs_tail = sb;
	d->subs_tail = &sb->next;
	d->nsubs++;
	wake(d);
	return 0;
}

/* Answers the waiters of channel c that its receipt now covers. A seq not
 * known yet is read from the store once the channel has assigned more. */
static void
waits_check_at(struct delivery *d, struct dl_channel *c, uint64_t receipted)
{
	struct dl_sub **pp = &d->waits, *sb;
	struct store_msg m;

	while ((sb = *pp) != NULL) {
		if (d->ch[sb->ch] != c) {
			pp = &sb->next;
			continue;
		}
		if (sb->seq == 0 && sb->looked != c->assigned &&
		    store_get_local(d->s, sb->qid, &m) == 0) {
			sb->looked = c->assigned;
			sb->seq = m.seq;
			store_msg_fini(&m);
		}
		if (sb->seq == 0 || sb->seq > receipted) {
			pp = &sb->next;
			continue;
		}
		*pp = sb->next;
		d->nwaits--;
		sb->done(sb->arg, 0, sb->qid);
		free(sb);
	}
}

static void
waits_check(struct delivery *d, struct dl_channel *c)
{
	waits_check_at(d, c, c->receipted);
}

/* Where a failed group left the sender's side of channel c. */
static void
sender_reload(struct delivery *d, struct dl_channel *c)
{
	uint8_t id[ENVELOPE_ID_LEN];

	if (store_highest(d->s, c->id, c->self, &c->assigned, id) != 0 ||
	    store_queued_count(d->s, c->id, &c->queued) != 0)
		log_warn("channel %s: cannot read the store: %s", c->idhex,
		    store_errmsg(d->s));
}

static bool
refusal(int r)
{
	return r == ERR_INVALID || r == ERR_KIND || r == ERR_TOO_BIG;
}

static int assign(struct delivery *d, struct dl_channel *c, size_t max);

/* The most the window lets channel c assign now; 0 when it may not. */
static size_t
assign_room(const struct dl_channel *c)
{
	size_t room;

	if (c->active < 0 || !c->synced ||
	    c->assigned - c->receipted >= DELIVERY_WINDOW)
		return 0;
	room = DELIVERY_WINDOW - (size_t)(c->assigned - c->receipted);
	return room < DELIVERY_BATCH_MAX ? room : DELIVERY_BATCH_MAX;
}

/* chain_store_build, keeping the header in the submission (the draft's
 * tag) for the early send (subs_send). */
static int
sub_build(void *arg, const struct store_draft *dr, uint8_t *hdr, size_t cap,
    size_t *len, uint8_t id[STORE_ID_LEN])
{
	struct dl_sub *sb = dr->tag;
	int r;

	(void)arg;
	if ((r = chain_store_build(NULL, dr, hdr, cap, len, id)) != 0)
		return r;
	if (*len > sizeof sb->hdr)
		return ERR_TOO_BIG;
	memcpy(sb->hdr, hdr, *len);
	sb->hlen = *len;
	return 0;
}

/*
 * Channel i's n submissions (in v, FLASH first, oldest first within a
 * precedence: what assign() would do) queued and assigned in one write
 * (store_queue_assigned_run), and a head signed over the last. ERR_STATE:
 * something is queued after all (nothing written; the caller queues them).
 * Sets placed in what it took or refused.
 */
static int
run_direct(struct delivery *d, size_t i, struct dl_sub **v, size_t n,
    bool *took, struct store_head *heads)
{
	struct dl_channel *c = d->ch[i];
	struct store_draft dr[DELIVERY_BATCH_MAX];
	struct store_assigned out[DELIVERY_BATCH_MAX];
	const uint8_t *last = NULL;
	uint64_t now = dl_now(d);
	int r;

	for (size_t k = 0; k < n; k++) {
		memset(&dr[k], 0, sizeof dr[k]);
		dr[k].channel = c->id;
		dr[k].sender = c->self;
		dr[k].precedence = v[k]->precedence;
		dr[k].marking = v[k]->marking;
		dr[k].kind = v[k]->kind;
		dr[k].body = v[k]->body;
		dr[k].body_len = v[k]->len;
		dr[k].time_ms = now;
		dr[k].tag = v[k];
	}
	if ((r = store_queue_assigned_run(d->s, dr, n, now, sub_build, NULL,
	    out)) != 0)
		return r;
	for (size_t k = 0; k < n; k++) {
		struct dl_sub *sb = v[k];
		sb->placed = true;
		if ((sb->r = out[k].r) != 0)
			continue;	/* refused: answered with it */
		sb->qid = out[k].qid;
		sb->seq = out[k].seq;
		c->assigned = out[k].seq;
		last = out[k].id;
		if (sb->in_txn)
			sb->in_txn(sb->arg, sb->qid);
	}
	if (last == NULL)
		return 0;
	took[i] = true;
	if ((r = sign_head(d, c->id, c->self, c->assigned, last,
	    &heads[i])) != 0 ||
	    (r = store_head_put(d->s, &heads[i], now)) != 0)
		return r;
	return 0;
}

/*
 * A channel with nothing queued and room in its window for all of this
 * group's submissions takes them straight into its chain (run_direct).
 * The others, and any left (ERR_STATE), are queued by the caller.
 */
static int
subs_direct(struct delivery *d, struct dl_sub *list, bool *touched,
    bool *took, struct store_head *heads)
{
	struct dl_sub *v[DELIVERY_BATCH_MAX];
	size_t cnt[DELIVERY_MAX_CHANNELS] = { 0 };
	struct dl_sub *sb;
	int r;

	for (sb = list; sb != NULL; sb = sb->next)
		cnt[sb->ch]++;
	for (size_t i = 0; i < d->nch; i++) {
		size_t n = 0;
		if (cnt[i] == 0 || d->ch[i]->queued != 0 ||
		    cnt[i] > assign_room(d->ch[i]))
			continue;
		for (uint8_t p = 0; p <= 3; p++)
			for (sb = list; sb != NULL; sb = sb->next)
				if (sb->ch == i && sb->precedence == p)
					v[n++] = sb;
		r = run_direct(d, i, v, n, took, heads);
		if (r == ERR_STATE)
			continue;
		if (r != 0)
			return r;
		touched[i] = took[i];
	}
	return 0;
}

/*
 * The early send (docs/delivery.md, "Group commit"): what subs_direct put
 * in a channel's chain goes on the wire from memory, MSGs in seq order and
 * the head, before the transaction's commit, so that the peer verifies and
 * stores them while our fsync runs. Only where everything before them was
 * sent (c->sent was the seq before the group's first); a send that does not go
 * (a full output queue) is left to pump_channel, which reads the rest back
 * once committed. Sets early[i] where anything left.
 */
static void
subs_send(struct delivery *d, struct dl_sub *list, const bool *took,
    const struct store_head *heads, bool *early)
{
	struct store_msg m;
	struct chain_head h;
	struct dl_sub *sb;

	for (size_t i = 0; i < d->nch; i++)
		early[i] = false;
	for (uint8_t p = 0; p <= 3; p++)
		for (sb = list; sb != NULL; sb = sb->next) {
			struct dl_channel *c = d->ch[sb->ch];
			if (!took[sb->ch] || !sb->placed || sb->r != 0 ||
			    sb->precedence != p || c->sent + 1 != sb->seq)
				continue;
			memset(&m, 0, sizeof m);
			m.seq = sb->seq;
			memcpy(m.header, sb->hdr, sb->hlen);
			m.header_len = sb->hlen;
			m.body = sb->body;
			m.body_len = sb->len;
			if (send_msg(d, c, &m) != 0)
				continue;
			c->sent = sb->seq;
			early[sb->ch] = true;
		}
	for (size_t i = 0; i < d->nch; i++) {
		struct dl_channel *c = d->ch[i];
		if (!early[i] || c->sent != heads[i].seq)
			continue;
		chain_head_from_store(&h, &heads[i]);
		if (send_head(d, c, &h) == 0)
			c->unsigned_n = c->unsigned_bytes = 0;
	}
}

/* Queues the submitted messages in one transaction; where a channel may
 * assign, the same transaction gives them (and any queued before) their
 * place in the chain and signs the head: one fsync for all, with the
 * peer's receipts taken since the last commit. */
static int
subs_commit(struct delivery *d, struct dl_sub *list, bool *touched,
    bool *early)
{
	bool rc_in[DELIVERY_MAX_CHANNELS], took[DELIVERY_MAX_CHANNELS];
	struct store_head heads[DELIVERY_MAX_CHANNELS];
	struct dl_sub *sb;
	size_t newly;
	int r;

	if ((r = store_txn_begin(d->s)) != 0)
		return r;
	for (size_t i = 0; i < d->nch; i++) {	/* see rc_store */
		rc_in[i] = d->ch[i]->rc_pending &&
		    store_receipt_put(d->s, &d->ch[i]->rc_pend, dl_now(d),
		    &newly) == 0;
		took[i] = false;
	}
	if ((r = subs_direct(d, list, touched, took, heads)) != 0)
		goto out;
	for (sb = list; sb != NULL; sb = sb->next) {
		struct dl_channel *c = d->ch[sb->ch];
		if (sb->placed)
			continue;
		sb->r = chain_queue(d->s, c->id, c->self, sb->precedence,
		    sb->marking, sb->kind, sb->body, sb->len, dl_now(d),
		    &sb->qid);
		if (sb->r == 0) {
			c->queued++;
			touched[sb->ch] = true;
			if (sb->in_txn)
				sb->in_txn(sb->arg, sb->qid);
		} else if (!refusal(sb->r)) {
			r = sb->r;
			goto out;
		}
	}
	for (size_t i = 0; i < d->nch; i++) {
		size_t room = assign_room(d->ch[i]);
		if (!touched[i] || room == 0 || d->ch[i]->queued == 0)
			continue;
		if ((r = assign(d, d->ch[i], room)) != 0 && r != ERR_NOT_FOUND)
			goto out;
		r = 0;
	}
	if (d->io.hold)
		d->io.hold(d->io.ctx);
	subs_send(d, list, took, heads, early);
	if (d->io.flush)
		d->io.flush(d->io.ctx);
	if ((r = store_txn_commit(d->s)) == 0)
		for (size_t i = 0; i < d->nch; i++)
			if (rc_in[i])
				d->ch[i]->rc_pending = false;
out:
	if (r != 0)
		store_txn_rollback(d->s);
	return r;
}

/* Commits what was submitted since the last pump, then answers it. */
static void
subs_flush(struct delivery *d)
{
	bool touched[DELIVERY_MAX_CHANNELS] = { false };
	bool early[DELIVERY_MAX_CHANNELS] = { false };
	struct dl_sub *list = d->subs, *sb, *next;
	int r;

	if (list == NULL)
		return;
	d->subs = NULL;
	d->subs_tail = &d->subs;
	d->nsubs = 0;
	if ((r = subs_commit(d, list, touched, early)) != 0) {
		log_warn("cannot queue %s: %s", list->next ? "messages" :
		    "a message", r == ERR_FULL ? "store full" : err_str(r));
		for (size_t i = 0; i < d->nch; i++) {
			struct dl_channel *c = d->ch[i];
			if (touched[i])
				sender_reload(d, c);
			if (c->sent > c->assigned)
				c->sent = c->assigned;
			/* Sent early, then not committed: the peer may
			 * hold what this store does not. A new session's
			 * SYNC tells, and the chain is taken back from the
			 * peer (recovery) before anything new is assigned. */
			if (early[i] && c->active >= 0 && d->io.drop) {
				log_warn("channel %s: the store failed after "
				    "sending: session ended; the peer's "
				    "receipt decides what was sent",
				    c->idhex);
				d->io.drop(d->io.ctx, c->id,
				    (unsigned)c->active, "store failed after "
				    "sending");
			}
		}
	}
	for (sb = list; sb != NULL; sb = next) {
		next = sb->next;
		if (r != 0 && sb->r == 0)
			sb->r = r;
		if (sb->r != 0 || !sb->wait) {
			sb->done(sb->arg, sb->r, sb->qid);
			free(sb);
			continue;
		}
		sb->next = d->waits;
		d->waits = sb;
		d->nwaits++;
	}
	for (size_t i = 0; i < d->nch; i++)
		if (touched[i])
			waits_check(d, d->ch[i]);
}

/* The engine goes away: nobody's answer is left hanging. */
static void
subs_close(struct delivery *d)
{
	struct dl_sub *lists[2] = { d->subs, d->waits }, *sb, *next;

	d->subs = d->waits = NULL;
	for (size_t k = 0; k < 2; k++)
		for (sb = lists[k]; sb != NULL; sb = next) {
			next = sb->next;
			sb->done(sb->arg, ERR_CLOSED, sb->qid);
			free(sb);
		}
}

static void
pump_channel(struct delivery *d, struct dl_channel *c)
{
	struct send_ctx sc;
	int r;

	if (c->active < 0 || !c->synced)
		return;
	for (int rounds = 0; rounds < 64; rounds++) {
		if (c->sent < c->assigned) {
			uint64_t before = c->sent;
			sc.d = d;
			sc.c = c;
			sc.err = 0;
			if (d->io.hold)
				d->io.hold(d->io.ctx);
			r = store_after(d->s, c->id, c->self, c->sent, 32,
			    send_one, &sc);
			if (d->io.flush)
				d->io.flush(d->io.ctx);
			if (sc.err != 0 || (r != 0 && r != 1) ||
			    c->sent == before)
				return;		/* full, closed, or broken */
			continue;
		}
		if (c->assigned - c->receipted >= DELIVERY_WINDOW)
			return;
		/* Group commit: while a batch waits for its receipt, the
		 * queue gathers the next one (unless it is already big). */
		if (c->assigned > c->receipted &&
		    c->queued < DELIVERY_BATCH_MIN)
			return;
		r = assign(d, c, DELIVERY_WINDOW - (size_t)(c->assigned -
		    c->receipted) < DELIVERY_BATCH_MAX ? DELIVERY_WINDOW -
		    (size_t)(c->assigned - c->receipted) : DELIVERY_BATCH_MAX);
		if (r != 0) {
			if (r == ERR_NOT_FOUND)
				c->queued = 0;
			else if (r != c->assign_err)	/* once, not per tick */
				log_warn("channel %s: cannot assign: %s",
				    c->idhex, r == ERR_FULL ? "store full" :
				    err_str(r));
			if (r != ERR_NOT_FOUND)
				c->assign_err = r;
			return;
		}
		c->assign_err = 0;
	}
	wake(d);		/* more to do: yield to the loop first */
}

void
delivery_pump(struct delivery *d)
{
	subs_flush(d);
	for (size_t i = 0; i < d->nch; i++)
		pump_channel(d, d->ch[i]);
}

void
delivery_tick(struct delivery *d)
{
	uint64_t now = dl_now(d);

	delivery_flush(d);
	for (size_t i = 0; i < d->nch; i++) {
		struct dl_channel *c = d->ch[i];
		if (c->active < 0)
			continue;
		if (!c->synced && now - c->sync_ms >= DELIVERY_SYNC_RETRY_MS)
			send_sync(d, c, true);
		if (c->synced && c->receipted < c->sent &&
		    now - c->progress_ms >= DELIVERY_STALL_MS) {
			c->sent = c->receipted;
			c->unsigned_n = c->unsigned_bytes = 0;
			c->progress_ms = now;
			c->resends++;
			pump_channel(d, c);
		}
	}
}

/* --- paths -------------------------------------------------------------- */

void
delivery_path_change(struct delivery *d,
    const uint8_t channel[ENVELOPE_ID_LEN], unsigned path, bool up)
{
	struct dl_channel *c = find_channel(d, channel);
	int active = -1;

	if (c == NULL || path >= c->npaths)
		return;
	c->up[path] = up;
	for (unsigned i = 0; i < c->npaths && active < 0; i++)
		if (c->up[i])
			active = (int)i;
	if (active == c->active)
		return;
	log_info("channel %s: messages on path %d", c->idhex, active);
	c->active = active;
	c->synced = false;
	c->sent = c->receipted;
	c->unsigned_n = c->unsigned_bytes = 0;
	pend_drop(c);
	if (active >= 0)
		send_sync(d, c, false);
}

/* --- receiving ---------------------------------------------------------- */

static void
refuse(struct delivery *d, struct dl_channel *c, unsigned path,
    const char *what, uint64_t seq, int code)
{
	c->refused++;
	log_warn("channel %s path %u: refused %s seq %llu from %s: %s",
	    c->idhex, path, what, (unsigned long long)seq, c->peer,
	    delivery_refusal_name(code));
	if (code == ERR_SIGNATURE || code == ERR_PARSE ||
	    code == ERR_NONCANONICAL) {
		pend_drop(c);
		if (d->io.drop)
			d->io.drop(d->io.ctx, c->id, path,
			    delivery_refusal_name(code));
	}
}

/* A repeat: the same message again (ignored) or another one at a seq we
 * hold (refused). */
static bool
is_same_repeat(struct delivery *d, struct dl_channel *c,
    const struct envelope_header *h, const uint8_t *hdr, size_t hlen)
{
	uint8_t id[ENVELOPE_ID_LEN];
	struct store_msg m;
	bool same;

	envelope_header_id(hdr, hlen, id);
	if (h->seq > c->v.seq) {
		size_t k = (size_t)(h->seq - c->v.seq - 1);
		return k < c->npend && sodium_memcmp(c->pend[k].id, id,
		    sizeof id) == 0;
	}
	if (store_get(d->s, id, &m) != 0)
		return false;
	same = m.seq == h->seq && m.dir == STORE_IN &&
	    memcmp(m.channel, c->id, sizeof m.channel) == 0;
	store_msg_fini(&m);
	return same;
}

static void
ask_resend(struct delivery *d, struct dl_channel *c)
{
	uint64_t now = dl_now(d);

	if (now - c->gap_sync_ms < DELIVERY_GAP_SYNC_MS)
		return;
	c->gap_sync_ms = now;
	send_sync(d, c, false);
}

/* One whole message (header and body) from the peer. */
static void
on_message(struct delivery *d, struct dl_channel *c, unsigned path,
    const uint8_t *hdr, size_t hlen, const uint8_t *body, size_t blen)
{
	struct envelope_header h;
	uint8_t id[ENVELOPE_ID_LEN];
	struct dl_pend *p;
	int r;

	r = chain_accept_message(&c->v, hdr, hlen, body, blen, &h, id);
	if (r == ERR_REPLAY && is_same_repeat(d, c, &h, hdr, hlen))
		return;
	if (r == ERR_REPLAY)
		r = ERR_EXISTS;
	if (r != 0) {
		refuse(d, c, path, "message", r == ERR_PARSE ||
		    r == ERR_NONCANONICAL || r == ERR_TOO_BIG ||
		    r == ERR_VERSION || r == ERR_KIND ? 0 : h.seq, r);
		if (r == ERR_GAP)
			ask_resend(d, c);
		return;
	}
	p = &c->pend[c->npend];
	memcpy(p->hdr, hdr, hlen);
	p->hlen = hlen;
	p->h = h;
	memcpy(p->id, id, sizeof id);
	p->blen = blen;
	if ((p->body = malloc(blen ? blen : 1)) == NULL) {
		chain_verifier_drop(&c->v);
		pend_drop(c);
		return;
	}
	memcpy(p->body, body, blen);
	c->npend++;
}

static void
on_msg(struct delivery *d, struct dl_channel *c, unsigned path,
    const uint8_t *b, size_t n)
{
	struct dl_field f[2] = { { .kind = 'b' }, { .kind = 'b' } };
	int r;

	if ((r = record_decode(b, n, f, 2)) != 0 || f[0].n >
	    ENVELOPE_HEADER_MAX)
		refuse(d, c, path, "MSG", 0, r ? r : ERR_PARSE);
	else
		on_message(d, c, path, f[0].p, f[0].n, f[1].p, f[1].n);
}

static void
part_take(struct delivery *d, struct dl_channel *c, unsigned path,
    const struct dl_field *f)
{
	struct envelope_header h;
	int r;

	if (f[1].u == 0) {
		free(c->asm_body);
		c->asm_body = NULL;
		c->asm_len = 0;
		if ((r = envelope_header_decode(&h, f[0].p, f[0].n)) != 0) {
			refuse(d, c, path, "MSG_PART", 0, r);
			return;
		}
		if ((c->asm_body = malloc(h.body_len ? h.body_len : 1)) ==
		    NULL)
			return;
		memcpy(c->asm_hdr, f[0].p, f[0].n);
		c->asm_hlen = f[0].n;
		c->asm_want = h.body_len;
	} else if (c->asm_body == NULL || f[1].u != c->asm_len ||
	    f[0].n != c->asm_hlen || memcmp(f[0].p, c->asm_hdr, f[0].n) != 0) {
		/* A part out of place: the sender starts the body again. */
		refuse(d, c, path, "MSG_PART out of order", 0, ERR_GAP);
		return;
	}
	if (f[2].n > c->asm_want - c->asm_len) {
		refuse(d, c, path, "MSG_PART", 0, ERR_TOO_BIG);
		free(c->asm_body);
		c->asm_body = NULL;
		return;
	}
	memcpy(c->asm_body + c->asm_len, f[2].p, f[2].n);
	c->asm_len += f[2].n;
	if (c->asm_len == c->asm_want) {
		on_message(d, c, path, c->asm_hdr, c->asm_hlen, c->asm_body,
		    c->asm_len);
		free(c->asm_body);
		c->asm_body = NULL;
		c->asm_len = 0;
	}
}

static void
on_part(struct delivery *d, struct dl_channel *c, unsigned path,
    const uint8_t *b, size_t n)
{
	struct dl_field f[3] = { { .kind = 'b' }, { .kind = 'u' },
	    { .kind = 'b' } };
	int r;

	if ((r = record_decode(b, n, f, 3)) != 0 || f[0].n >
	    ENVELOPE_HEADER_MAX)
		refuse(d, c, path, "MSG_PART", 0, r ? r : ERR_PARSE);
	else
		part_take(d, c, path, f);
}

/* A head: the covered run is stored in one transaction, then receipted. */
static void
on_head(struct delivery *d, struct dl_channel *c, unsigned path,
    const uint8_t *b, size_t n)
{
	struct store_in in[CHAIN_RUN_MAX];
	struct chain_head h;
	struct store_head sh;
	size_t acc = 0, added;
	int r;

	if ((r = chain_head_decode(&h, b, n)) != 0) {
		refuse(d, c, path, "HEAD", 0, r);
		return;
	}
	r = chain_accept_head(&c->v, &h, &acc);
	if (r == ERR_REPLAY) {
		send_receipt(d, c);		/* tell it again */
		return;
	}
	if (r != 0) {
		refuse(d, c, path, "HEAD", h.seq, r);
		return;
	}
	for (size_t i = 0; i < acc; i++)
		chain_store_in(&in[i], &c->pend[i].h, c->pend[i].hdr,
		    c->pend[i].hlen, c->pend[i].body, c->pend[i].blen,
		    c->pend[i].id);
	chain_head_to_store(&sh, &h);
	r = store_received_put(d->s, c->id, (uint8_t)(1 - c->self), in, acc,
	    &sh, dl_now(d), &added);
	if (r != 0) {
		/* Nothing stored: start over from what the store holds. */
		log_warn("channel %s: cannot store %zu messages from %s: %s",
		    c->idhex, acc, c->peer, r == ERR_FULL ? "store full" :
		    err_str(r));
		(void)channel_reload(d, c);
		return;
	}
	for (size_t i = 0; i < acc; i++)
		free(c->pend[i].body);
	memmove(c->pend, c->pend + acc, (c->npend - acc) * sizeof c->pend[0]);
	c->npend -= acc;
	send_receipt(d, c);
}

/* --- recovery of our own chain (msg/recover.h, docs/delivery.md) ------- */

struct rc_path {
	struct delivery *d;
	struct dl_channel *c;
	unsigned path;
};

static int
rc_send(void *arg, uint8_t type, const uint8_t *b, size_t n)
{
	struct rc_path *x = arg;

	return x->d->io.send(x->d->io.ctx, x->c->id, x->path, type, b, n);
}

/* The peer holds our chain up to want, past our store: ask for it back.
 * The channel stays unsynced meanwhile, so nothing new is assigned. */
static void
recover_start(struct delivery *d, struct dl_channel *c, unsigned path,
    uint64_t want)
{
	struct rc_path x = { d, c, path };
	int r;

	if (c->rec == NULL && (r = recover_new(d->s, c->id, c->self,
	    d->k->id.sign_pub, &c->rec)) != 0) {
		log_warn("channel %s: cannot start recovery: %s", c->idhex,
		    err_str(r));
		return;
	}
	if (recover_want(c->rec) != want)
		log_info("channel %s: %s holds our chain up to seq %llu, this "
		    "store up to %llu: asking for ours back", c->idhex,
		    c->peer, (unsigned long long)want,
		    (unsigned long long)c->assigned);
	if ((r = recover_ask(c->rec, want, dl_now(d), rc_send, &x)) != 0)
		log_warn("channel %s: cannot ask for our chain back: %s",
		    c->idhex, err_str(r));
}

/* OWN / OWN_HEAD: our own messages coming back, stored at each head. */
static void
on_recovered(struct delivery *d, struct dl_channel *c, unsigned path,
    uint8_t type, const uint8_t *b, size_t n)
{
	uint64_t top, seq, before = c->assigned;
	int r;

	if (c->rec == NULL) {
		/* the tail of an answer to an ask that is done: nothing to
		 * take (nothing is ever stored without an ask) */
		log_debug("channel %s path %u: recovery record 0x%02x not "
		    "asked for, ignored", c->idhex, path, type);
		return;
	}
	r = recover_on_record(c->rec, type, b, n, dl_now(d), &top, &seq);
	if (r != 0) {
		refuse(d, c, path, type == RECOVER_REC_OWN ?
		    "recovered message" : "recovered head", seq, r);
		return;
	}
	if (top <= before)
		return;
	sender_reload(d, c);
	log_info("channel %s: took back our messages %llu..%llu from %s",
	    c->idhex, (unsigned long long)before + 1,
	    (unsigned long long)top, c->peer);
	if (top < recover_want(c->rec)) {
		recover_start(d, c, path, recover_want(c->rec));
		return;
	}
	log_info("channel %s: our chain is whole again (seq %llu); going on",
	    c->idhex, (unsigned long long)top);
	recover_free(c->rec);
	c->rec = NULL;
	send_sync(d, c, true);	/* its SYNC brings the receipt: synced */
}

/* The peer asks for its own chain back: answered from the store. */
static void
on_recover_ask(struct delivery *d, struct dl_channel *c, unsigned path,
    const uint8_t *b, size_t n)
{
	struct rc_path x = { d, c, path };
	int r;

	r = recover_answer(d->s, c->id, (uint8_t)(1 - c->self), b, n,
	    rc_send, &x);
	if (r == ERR_PARSE || r == ERR_NONCANONICAL || r == ERR_VERSION ||
	    r == ERR_INVALID)
		refuse(d, c, path, "RECOVER", 0, r);
	else if (r != 0)
		log_warn("channel %s: cannot answer the RECOVER of %s: %s",
		    c->idhex, c->peer, err_str(r));
	else
		log_debug("channel %s: answered the RECOVER of %s", c->idhex,
		    c->peer);
}

/* A receipt of our chain (RECEIPT, or inside a SYNC): verified, stored
 * when it says more than the last. */
static int
take_receipt(struct delivery *d, struct dl_channel *c, unsigned path,
    const uint8_t *b, size_t n, const char *what, uint64_t *seq)
{
	struct chain_receipt rc;
	int r;

	if ((r = chain_receipt_decode(&rc, b, n)) != 0) {
		refuse(d, c, path, what, 0, r);
		return r;
	}
	if (memcmp(rc.channel, c->id, sizeof c->id) != 0 ||
	    rc.receiver != 1 - c->self) {
		refuse(d, c, path, what, rc.seq, ERR_FOREIGN);
		return ERR_FOREIGN;
	}
	if ((r = chain_receipt_verify(&rc, c->peer_pub)) != 0) {
		refuse(d, c, path, what, rc.seq, r);
		return r;
	}
	if (rc.seq > c->assigned) {
		/* the peer holds more of our chain than we do (restored from
		 * a backup): take it back before anything new */
		recover_start(d, c, path, rc.seq);
		return ERR_AGAIN;
	}
	*seq = rc.seq;
	if (rc.seq <= c->receipted)
		return 0;
	/* Waiters are answered before our copy of the receipt is stored:
	 * the peer's signature says it holds the messages durably (our copy
	 * can be had again: its next SYNC carries it). */
	if (d->waits)
		waits_check_at(d, c, rc.seq);
	chain_receipt_to_store(&c->rc_pend, &rc);
	c->rc_pending = true;
	c->receipted = rc.seq;
	c->progress_ms = dl_now(d);
	return 0;
}

static void
on_sync(struct delivery *d, struct dl_channel *c, unsigned path,
    const uint8_t *b, size_t n)
{
	struct dl_field f[3] = { { .kind = 'u' }, { .kind = 'b' },
	    { .kind = 't' } };
	uint64_t seq;
	int r;

	if ((r = record_decode(b, n, f, 3)) != 0)
		refuse(d, c, path, "SYNC", 0, r);
	else if (f[0].u != DELIVERY_VERSION) {
		refuse(d, c, path, "SYNC", 0, ERR_VERSION);
		r = ERR_VERSION;
	} else
		r = take_receipt(d, c, path, f[1].p, f[1].n, "SYNC", &seq);
	if (r != 0)
		return;
	c->synced = true;
	c->sent = seq;
	c->unsigned_n = c->unsigned_bytes = 0;
	c->progress_ms = dl_now(d);
	if (f[2].u)
		send_sync(d, c, false);
	pump_channel(d, c);
}

void
delivery_record(struct delivery *d, const uint8_t channel[ENVELOPE_ID_LEN],
    unsigned path, uint8_t type, const uint8_t *body, size_t len)
{
	struct dl_channel *c = find_channel(d, channel);
	uint64_t seq;

	if (c == NULL || path >= c->npaths)
		return;
	switch (type) {
	case DELIVERY_REC_SYNC:
		on_sync(d, c, path, body, len);
		break;
	case DELIVERY_REC_MSG:
		on_msg(d, c, path, body, len);
		break;
	case DELIVERY_REC_PART:
		on_part(d, c, path, body, len);
		break;
	case DELIVERY_REC_HEAD:
		on_head(d, c, path, body, len);
		break;
	case DELIVERY_REC_RECEIPT:
		if (take_receipt(d, c, path, body, len, "RECEIPT", &seq) == 0)
			pump_channel(d, c);
		break;
	case RECOVER_REC_ASK:
		on_recover_ask(d, c, path, body, len);
		break;
	case RECOVER_REC_OWN:
	case RECOVER_REC_HEAD:
		on_recovered(d, c, path, type, body, len);
		break;
	default:
		log_debug("channel %s path %u: record type 0x%02x ignored",
		    c->idhex, path, type);
		break;
	}
}
