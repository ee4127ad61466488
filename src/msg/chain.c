/*
 * chain.c: see chain.h; the formats are in docs/envelope.md.
 *
 * Heads and receipts are CBOR maps with small unsigned keys. The signed
 * bytes are the map without its signature (keys 1..4 for a head, 1..5 for
 * a receipt); the encoded object adds the signature under the next key.
 */
#include "msg/chain.h"

#include <sodium.h>
#include <string.h>

#include "base/wire.h"

enum { H_CHANNEL = 1, H_SENDER, H_SEQ, H_ID, H_SIG };
enum { R_CHANNEL = 1, R_RECEIVER, R_SEQ, R_ID, R_TIME, R_SIG };

_Static_assert(STORE_ID_LEN == ENVELOPE_ID_LEN, "one id size");
_Static_assert(STORE_SIG_LEN == KEYS_SIG_LEN, "one signature size");
_Static_assert(ENVELOPE_HEADER_MAX <= STORE_HEADER_MAX, "headers fit");
_Static_assert(STORE_SALT_LEN == ENVELOPE_SALT_LEN, "one salt size");
_Static_assert(ENVELOPE_BODY_MAX == STORE_BODY_MAX, "one body cap");
_Static_assert(CHAIN_RUN_BYTES_MAX >= ENVELOPE_BODY_MAX +
    ENVELOPE_HEADER_MAX, "one largest message fits a run");

static const uint8_t zero_id[ENVELOPE_ID_LEN];

static int
head_check(const struct chain_head *h)
{
	if (h->sender > 1 || h->seq == 0 || h->seq > ENVELOPE_SEQ_MAX)
		return ERR_INVALID;
	return 0;
}

static int
receipt_check(const struct chain_receipt *r)
{
	if (r->receiver > 1 || r->seq > ENVELOPE_SEQ_MAX ||
	    r->time_ms > ENVELOPE_TIME_MAX)
		return ERR_INVALID;
	if (r->seq == 0 && memcmp(r->id, zero_id, sizeof zero_id) != 0)
		return ERR_INVALID;
	return 0;
}

static int
head_write(const struct chain_head *h, bool with_sig, uint8_t *out,
    size_t cap, size_t *len)
{
	struct wire_writer w;
	int r;

	if ((r = head_check(h)) != 0)
		return r;
	wire_writer_init(&w, out, cap);
	wire_put_map(&w, with_sig ? 5 : 4);
	wire_put_uint(&w, H_CHANNEL);
	wire_put_bytes(&w, h->channel, sizeof h->channel);
	wire_put_uint(&w, H_SENDER);
	wire_put_uint(&w, h->sender);
	wire_put_uint(&w, H_SEQ);
	wire_put_uint(&w, h->seq);
	wire_put_uint(&w, H_ID);
	wire_put_bytes(&w, h->id, sizeof h->id);
	if (with_sig) {
		wire_put_uint(&w, H_SIG);
		wire_put_bytes(&w, h->sig, sizeof h->sig);
	}
	return wire_writer_finish(&w, len);
}

static int
receipt_write(const struct chain_receipt *rc, bool with_sig, uint8_t *out,
    size_t cap, size_t *len)
{
	struct wire_writer w;
	int r;

	if ((r = receipt_check(rc)) != 0)
		return r;
	wire_writer_init(&w, out, cap);
	wire_put_map(&w, with_sig ? 6 : 5);
	wire_put_uint(&w, R_CHANNEL);
	wire_put_bytes(&w, rc->channel, sizeof rc->channel);
	wire_put_uint(&w, R_RECEIVER);
	wire_put_uint(&w, rc->receiver);
	wire_put_uint(&w, R_SEQ);
	wire_put_uint(&w, rc->seq);
	wire_put_uint(&w, R_ID);
	wire_put_bytes(&w, rc->id, sizeof rc->id);
	wire_put_uint(&w, R_TIME);
	wire_put_uint(&w, rc->time_ms);
	if (with_sig) {
		wire_put_uint(&w, R_SIG);
		wire_put_bytes(&w, rc->sig, sizeof rc->sig);
	}
	return wire_writer_finish(&w, len);
}

int
chain_head_sign(struct chain_head *h, const struct keys *k)
{
	uint8_t buf[CHAIN_HEAD_MAX];
	size_t len;
	int r;

	if ((r = head_write(h, false, buf, sizeof buf, &len)) != 0)
		return r;
	return keys_sign(k, CHAIN_CTX_HEAD, buf, len, h->sig);
}

int
chain_head_verify(const struct chain_head *h, const uint8_t pub[KEYS_PUB_LEN])
{
	uint8_t buf[CHAIN_HEAD_MAX];
	size_t len;
	int r;

	if ((r = head_write(h, false, buf, sizeof buf, &len)) != 0)
		return r;
	return keys_verify(pub, CHAIN_CTX_HEAD, buf, len, h->sig);
}

int
chain_head_encode(const struct chain_head *h, uint8_t *out, size_t cap,
    size_t *len)
{
	return head_write(h, true, out, cap, len);
}

/*
 * Decoding reads the one deterministic encoding strictly (base/wire.h):
 * map(5) or map(6), keys 1.. once each in order, shortest heads, exact
 * sizes, nothing after. What it refuses is named by a second, tolerant
 * look (*_refusal) in the order the codes have always been given: not one
 * well-formed map of the subset, an unknown key, a field missing or of
 * the wrong type or size (ERR_PARSE); a value out of range (ERR_INVALID);
 * and when all of that is right, the encoding (ERR_NONCANONICAL).
 */

static int
head_strict(struct chain_head *h, uint64_t *sender, const uint8_t *p,
    size_t n)
{
	struct wire_reader rd;
	int r;

	wire_reader_init(&rd, p, n);
	if ((r = wire_read_map(&rd, H_SIG)) != 0 ||
	    (r = wire_read_key(&rd, H_CHANNEL)) != 0 ||
	    (r = wire_read_bytes_exact(&rd, h->channel, sizeof h->channel))
	    != 0 ||
	    (r = wire_read_key(&rd, H_SENDER)) != 0 ||
	    (r = wire_read_uint(&rd, sender)) != 0 ||
	    (r = wire_read_key(&rd, H_SEQ)) != 0 ||
	    (r = wire_read_uint(&rd, &h->seq)) != 0 ||
	    (r = wire_read_key(&rd, H_ID)) != 0 ||
	    (r = wire_read_bytes_exact(&rd, h->id, sizeof h->id)) != 0 ||
	    (r = wire_read_key(&rd, H_SIG)) != 0 ||
	    (r = wire_read_bytes_exact(&rd, h->sig, sizeof h->sig)) != 0)
		return r;
	return wire_read_end(&rd);
}

static int
head_refusal(const uint8_t *p, size_t n)
{
	struct wire_index ix;
	struct chain_head h;
	uint64_t sender;
	int r;

	if ((r = wire_index_map(&ix, p, n, H_SIG)) != 0)
		return r;
	if (ix.other)
		return ERR_PARSE;
	if ((r = wire_index_bytes(&ix, H_CHANNEL, h.channel,
	    sizeof h.channel)) != 0 ||
	    (r = wire_index_uint(&ix, H_SENDER, &sender)) != 0)
		return r;
	if (sender > 1)
		return ERR_INVALID;
	h.sender = (uint8_t)sender;
	if ((r = wire_index_uint(&ix, H_SEQ, &h.seq)) != 0 ||
	    (r = wire_index_bytes(&ix, H_ID, h.id, sizeof h.id)) != 0 ||
	    (r = wire_index_bytes(&ix, H_SIG, h.sig, sizeof h.sig)) != 0 ||
	    (r = head_check(&h)) != 0)
		return r;
	return ERR_NONCANONICAL;
}

int
chain_head_decode(struct chain_head *h, const uint8_t *p, size_t n)
{
	uint64_t sender;

	if (n > CHAIN_HEAD_MAX)
		return ERR_TOO_BIG;
	if (head_strict(h, &sender, p, n) != 0)
		return head_refusal(p, n);
	if (sender > 1)
		return ERR_INVALID;
	h->sender = (uint8_t)sender;
	return head_check(h);
}

int
chain_receipt_sign(struct chain_receipt *rc, const struct keys *k)
{
	uint8_t buf[CHAIN_RECEIPT_MAX];
	size_t len;
	int r;

	if ((r = receipt_write(rc, false, buf, sizeof buf, &len)) != 0)
		return r;
	return keys_sign(k, CHAIN_CTX_RECEIPT, buf, len, rc->sig);
}

int
chain_receipt_verify(const struct chain_receipt *rc,
    const uint8_t pub[KEYS_PUB_LEN])
{
	uint8_t buf[CHAIN_RECEIPT_MAX];
	size_t len;
	int r;

	if ((r = receipt_write(rc, false, buf, sizeof buf, &len)) != 0)
		return r;
	return keys_verify(pub, CHAIN_CTX_RECEIPT, buf, len, rc->sig);
}

int
chain_receipt_encode(const struct chain_receipt *rc, uint8_t *out,
    size_t cap, size_t *len)
{
	return receipt_write(rc, true, out, cap, len);
}

static int
receipt_strict(struct chain_receipt *rc, uint64_t *receiver,
    const uint8_t *p, size_t n)
{
	struct wire_reader rd;
	int r;

	wire_reader_init(&rd, p, n);
	if ((r = wire_read_map(&rd, R_SIG)) != 0 ||
	    (r = wire_read_key(&rd, R_CHANNEL)) != 0 ||
	    (r = wire_read_bytes_exact(&rd, rc->channel, sizeof rc->channel))
	    != 0 ||
	    (r = wire_read_key(&rd, R_RECEIVER)) != 0 ||
	    (r = wire_read_uint(&rd, receiver)) != 0 ||
	    (r = wire_read_key(&rd, R_SEQ)) != 0 ||
	    (r = wire_read_uint(&rd, &rc->seq)) != 0 ||
	    (r = wire_read_key(&rd, R_ID)) != 0 ||
	    (r = wire_read_bytes_exact(&rd, rc->id, sizeof rc->id)) != 0 ||
	    (r = wire_read_key(&rd, R_TIME)) != 0 ||
	    (r = wire_read_uint(&rd, &rc->time_ms)) != 0 ||
	    (r = wire_read_key(&rd, R_SIG)) != 0 ||
	    (r = wire_read_bytes_exact(&rd, rc->sig, sizeof rc->sig)) != 0)
		return r;
	return wire_read_end(&rd);
}

static int
receipt_refusal(const uint8_t *p, size_t n)
{
	struct wire_index ix;
	struct chain_receipt rc;
	uint64_t receiver;
	int r;

	if ((r = wire_index_map(&ix, p, n, R_SIG)) != 0)
		return r;
	if (ix.other)
		return ERR_PARSE;
	if ((r = wire_index_bytes(&ix, R_CHANNEL, rc.channel,
	    sizeof rc.channel)) != 0 ||
	    (r = wire_index_uint(&ix, R_RECEIVER, &receiver)) != 0)
		return r;
	if (receiver > 1)
		return ERR_INVALID;
	rc.receiver = (uint8_t)receiver;
	if ((r = wire_index_uint(&ix, R_SEQ, &rc.seq)) != 0 ||
	    (r = wire_index_bytes(&ix, R_ID, rc.id, sizeof rc.id)) != 0 ||
	    (r = wire_index_uint(&ix, R_TIME, &rc.time_ms)) != 0 ||
	    (r = wire_index_bytes(&ix, R_SIG, rc.sig, sizeof rc.sig)) != 0 ||
	    (r = receipt_check(&rc)) != 0)
		return r;
	return ERR_NONCANONICAL;
}

int
chain_receipt_decode(struct chain_receipt *rc, const uint8_t *p, size_t n)
{
	uint64_t receiver;

	if (n > CHAIN_RECEIPT_MAX)
		return ERR_TOO_BIG;
	if (receipt_strict(rc, &receiver, p, n) != 0)
		return receipt_refusal(p, n);
	if (receiver > 1)
		return ERR_INVALID;
	rc->receiver = (uint8_t)receiver;
	return receipt_check(rc);
}

void
chain_verifier_init(struct chain_verifier *v,
    const uint8_t channel[ENVELOPE_ID_LEN], uint8_t sender,
    const uint8_t pub[KEYS_PUB_LEN], uint64_t seq,
    const uint8_t id[ENVELOPE_ID_LEN])
{
	memset(v, 0, sizeof *v);
	memcpy(v->channel, channel, sizeof v->channel);
	v->sender = sender;
	memcpy(v->pub, pub, sizeof v->pub);
	v->seq = seq;
	memcpy(v->id, id, sizeof v->id);
}

int
chain_accept_header(struct chain_verifier *v, const struct envelope_header *h,
    const uint8_t id[ENVELOPE_ID_LEN], size_t bytes)
{
	const uint8_t *last;
	uint64_t next;

	if (memcmp(h->channel, v->channel, sizeof v->channel) != 0 ||
	    h->sender != v->sender)
		return ERR_FOREIGN;
	next = v->seq + v->npending + 1;
	if (h->seq < next)
		return ERR_REPLAY;
	if (h->seq > next)
		return ERR_GAP;
	last = v->npending ? v->pending[v->npending - 1].id : v->id;
	if (memcmp(h->prev, last, ENVELOPE_ID_LEN) != 0)
		return ERR_CHAIN;
	if (v->npending == CHAIN_RUN_MAX ||
	    bytes > CHAIN_RUN_BYTES_MAX - v->run_bytes)
		return ERR_FULL;
	memcpy(v->pending[v->npending].id, id, ENVELOPE_ID_LEN);
	v->pending[v->npending].bytes = bytes;
	v->npending++;
	v->run_bytes += bytes;
	return 0;
}

int
chain_accept_message(struct chain_verifier *v, const uint8_t *hdr,
    size_t hlen, const uint8_t salt[ENVELOPE_SALT_LEN], const uint8_t *body,
    size_t blen, struct envelope_header *h, uint8_t id[ENVELOPE_ID_LEN])
{
	int r;

	if ((r = envelope_open(hdr, hlen, salt, body, blen, h, id)) != 0)
		return r;
	return chain_accept_header(v, h, id, hlen + blen);
}

int
chain_accept_head(struct chain_verifier *v, const struct chain_head *head,
    size_t *accepted)
{
	size_t k, bytes = 0;
	int r;

	*accepted = 0;
	if (memcmp(head->channel, v->channel, sizeof v->channel) != 0 ||
	    head->sender != v->sender)
		return ERR_FOREIGN;
	if (head->seq <= v->seq)
		return ERR_REPLAY;
	if (head->seq - v->seq > v->npending)
		return ERR_GAP;
	k = (size_t)(head->seq - v->seq);
	if (memcmp(head->id, v->pending[k - 1].id, ENVELOPE_ID_LEN) != 0)
		return ERR_CHAIN;
	if ((r = chain_head_verify(head, v->pub)) != 0)
		return r;
	for (size_t i = 0; i < k; i++)
		bytes += v->pending[i].bytes;
	memcpy(v->id, v->pending[k - 1].id, ENVELOPE_ID_LEN);
	v->seq = head->seq;
	v->npending -= k;
	v->run_bytes -= bytes;
	memmove(v->pending, v->pending + k, v->npending * sizeof v->pending[0]);
	*accepted = k;
	return 0;
}

void
chain_verifier_drop(struct chain_verifier *v)
{
	v->npending = 0;
	v->run_bytes = 0;
}

void
chain_verifier_pop(struct chain_verifier *v)
{
	if (v->npending == 0)
		return;
	v->npending--;
	v->run_bytes -= v->pending[v->npending].bytes;
}

int
chain_queue(struct store *s, const uint8_t channel[ENVELOPE_ID_LEN],
    uint8_t sender, uint8_t precedence, uint8_t marking, uint32_t kind,
    const uint8_t *body, size_t len, uint64_t now_ms, int64_t *qid)
{
	int r;

	if ((r = envelope_body_check_kind(kind, body, len)) != 0)
		return r;
	return store_queue(s, channel, sender, precedence, marking, kind,
	    body, len, now_ms, qid);
}

int
chain_head_over(struct chain_head *h, const struct store_msg *m,
    const struct keys *k)
{
	if (m->seq == 0 || m->header_len == 0)
		return ERR_STATE;
	memset(h, 0, sizeof *h);
	memcpy(h->channel, m->channel, sizeof h->channel);
	h->sender = m->sender;
	h->seq = m->seq;
	memcpy(h->id, m->id, sizeof h->id);
	return chain_head_sign(h, k);
}

void
chain_draft_header(struct envelope_header *h, const struct store_draft *d)
{
	memset(h, 0, sizeof *h);
	h->version = ENVELOPE_VERSION;
	memcpy(h->channel, d->channel, sizeof h->channel);
	h->sender = d->sender;
	h->seq = d->seq;
	memcpy(h->prev, d->prev, sizeof h->prev);
	memcpy(h->peer_last, d->peer_last, sizeof h->peer_last);
	h->time_ms = d->time_ms;
	h->precedence = d->precedence;
	h->marking = d->marking;
	h->kind = d->kind;
	h->body_len = (uint32_t)d->body_len;
}

int
chain_header_build(const struct store_draft *d,
    const uint8_t salt[ENVELOPE_SALT_LEN], uint8_t *hdr, size_t cap,
    size_t *len, uint8_t id[STORE_ID_LEN])
{
	struct envelope_header h;
	int r;

	if (d->body_len > ENVELOPE_BODY_MAX)
		return ERR_TOO_BIG;
	if ((r = envelope_body_check_kind(d->kind, d->body, d->body_len))
	    != 0)
		return r;
	chain_draft_header(&h, d);
	envelope_body_hash_salted(salt, d->body, d->body_len, h.body_hash);
	if ((r = envelope_header_encode(&h, hdr, cap, len)) != 0)
		return r;
	envelope_header_id(hdr, *len, id);
	return 0;
}

/* Salts are drawn from the system's source CHAIN_SALT_POOL at a time:
 * one randombytes_buf of 1 KiB (a few getrandom calls) instead of one of
 * about 2 us for each message. Each is handed out once and wiped from the
 * pool as it goes. The daemon is one thread; a test's threads build no
 * headers. */
#define CHAIN_SALT_POOL 32
static uint8_t salt_pool[CHAIN_SALT_POOL * STORE_SALT_LEN];
static size_t salt_left;

static void
salt_draw(uint8_t salt[STORE_SALT_LEN])
{
	if (salt_left == 0) {
		randombytes_buf(salt_pool, sizeof salt_pool);
		salt_left = CHAIN_SALT_POOL;
	}
	salt_left--;
	memcpy(salt, salt_pool + salt_left * STORE_SALT_LEN, STORE_SALT_LEN);
	sodium_memzero(salt_pool + salt_left * STORE_SALT_LEN,
	    STORE_SALT_LEN);
}

int
chain_store_build(void *arg, const struct store_draft *d, uint8_t *hdr,
    size_t cap, size_t *len, uint8_t id[STORE_ID_LEN],
    uint8_t salt[STORE_SALT_LEN], bool *salted)
{
	int r;

	(void)arg;
	salt_draw(salt);
	if ((r = chain_header_build(d, salt, hdr, cap, len, id)) != 0)
		return r;
	*salted = true;
	return 0;
}

void
chain_store_in(struct store_in *in, const struct envelope_header *h,
    const uint8_t *hdr, size_t hlen, const uint8_t *salt,
    const uint8_t *body, size_t blen, const uint8_t id[ENVELOPE_ID_LEN])
{
	memset(in, 0, sizeof *in);
	in->header = hdr;
	in->header_len = hlen;
	in->body_salt = salt;
	in->body = body;
	in->body_len = blen;
	memcpy(in->id, id, sizeof in->id);
	in->seq = h->seq;
	memcpy(in->prev, h->prev, sizeof in->prev);
	in->precedence = h->precedence;
	in->marking = h->marking;
	in->kind = h->kind;
	in->time_ms = h->time_ms;
}

void
chain_head_to_store(struct store_head *out, const struct chain_head *h)
{
	memcpy(out->channel, h->channel, sizeof out->channel);
	out->sender = h->sender;
	out->seq = h->seq;
	memcpy(out->id, h->id, sizeof out->id);
	memcpy(out->sig, h->sig, sizeof out->sig);
}

void
chain_head_from_store(struct chain_head *out, const struct store_head *h)
{
	memcpy(out->channel, h->channel, sizeof out->channel);
	out->sender = h->sender;
	out->seq = h->seq;
	memcpy(out->id, h->id, sizeof out->id);
	memcpy(out->sig, h->sig, sizeof out->sig);
}

void
chain_receipt_to_store(struct store_receipt *out,
    const struct chain_receipt *r)
{
	memcpy(out->channel, r->channel, sizeof out->channel);
	out->receiver = r->receiver;
	out->seq = r->seq;
	memcpy(out->id, r->id, sizeof out->id);
	out->time_ms = r->time_ms;
	memcpy(out->sig, r->sig, sizeof out->sig);
}

void
chain_receipt_from_store(struct chain_receipt *out,
    const struct store_receipt *r)
{
	memcpy(out->channel, r->channel, sizeof out->channel);
	out->receiver = r->receiver;
	out->seq = r->seq;
	memcpy(out->id, r->id, sizeof out->id);
	out->time_ms = r->time_ms;
	memcpy(out->sig, r->sig, sizeof out->sig);
}
