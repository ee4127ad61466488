/*
 * signed_fuzz.c: libFuzzer target for what lies behind the signature
 * checks of the delivery engine, the recovery of our own chain and the
 * checkpoint exchange (msg/delivery.h, msg/recover.h, msg/checkpoint.h;
 * docs/delivery.md, docs/transcript.md). The peer is an adversary that
 * holds valid keys: everything it signs passes the signature checks, so
 * here the harness signs what the input describes.
 *
 * Each input gets fresh engines and a channel of its own in an in-memory
 * store (opened again every STORE_INPUTS inputs). The harness holds
 * both parties' signing keys (fixed seeds) and two short virtual chains
 * of well-formed messages, the peer's and ours (VMAX each); the input's
 * setup bytes choose our party index, how much of each chain the store
 * holds at the start (ours as sent, under our heads; the peer's as
 * received, under its head), queued rows of ours that match messages of
 * our chain past the store (a message queued before a backup and sent
 * after it: recovery places it), and which paths are up. Then ops, each
 * an op byte and its fields (an input that ends reads zeros):
 *
 *   MSG       a message of the peer's chain, or one with a field mutated
 *             (seq, prev, channel, sender, time, precedence, marking, kind,
 *             body, body_len, body hash, version, peer_last), as MSG or in
 *             MSG_PARTs of the input's sizes
 *   HEAD      a head over the peer's chain (a message of it, the last one
 *             built, or a fuzzed seq), signed by the peer; or by us, or
 *             with the signature as the input gives it, or one bit off
 *   RECEIPT   the peer's receipt over our chain (seq, id, receiver,
 *             channel, time chosen), signed as above, as RECEIPT or in a
 *             SYNC (reply flag, version)
 *   OWN       a message of our own chain back from the peer, as OWN
 *             records, mutated as MSG
 *   OWN_HEAD  a head over our chain signed with OUR key (as the peer
 *             gives back heads we signed before a backup), or as above
 *   CHECKPOINT a record built from its fields (kind, proposer, seqs and
 *             ids of both chains, time, base and id lists, the head),
 *             signed by the peer and/or us or with the input's
 *             signatures; or our last proposal co-signed or disputed
 *   RAW       a record of any type with the input's bytes (the old path)
 *   TICK      time goes on; delivery_tick, delivery_pump, checkpoint_tick
 *             (its proposal kept for CHECKPOINT), checkpoint_retry_held
 *   PATH      a path up or down
 *   QUEUE     a message of ours queued or submitted (the sending side)
 *   ASK       the peer's RECOVER, answered from our store
 *
 * Besides "never crash" (abort() when broken): 6 after every op, 1-5
 * after the setup, when an answer or proposal is checked and at the end
 * of the input (the store never deletes or rewrites, so a row, head,
 * receipt or checkpoint stored wrongly on the way is still there), 7
 * when sent:
 *   1. each chain in the store is gapless from seq 1; each row's header
 *      decodes, names the channel, its chain and seq, links to the row
 *      before, has the row's id and the row's body; the peer's rows are
 *      incoming and received, ours outgoing; nothing is stored twice
 *      (one row per seq, the row count is the top);
 *   2. every stored head verifies under its chain's key and names the
 *      stored id at its seq; the top of each chain is covered by a head;
 *   3. every stored receipt verifies under its signer's key and names
 *      the stored id at its seq of the other chain (zeros at 0);
 *   4. every stored checkpoint decodes, carries both valid signatures
 *      and names the stored ids at its seqs;
 *   5. our chain as the last check read it is unchanged (it only grows:
 *      our pump, or recovery under heads of ours, by 2);
 *   6. the engine's received/assigned equal the store's tops;
 *   7. every receipt we send (RECEIPT, SYNC) is ours, verifies, and names
 *      a message of the peer we hold with that id (checked when sent and
 *      again at the end of the input, when nothing may have rolled back);
 *      every head we send (HEAD) is ours and names a stored message; a
 *      checkpoint answer we give co-signed, and our proposal, name the
 *      ids we hold.
 *
 * The checks of 1-7 are in signed_check.c (signed_check.h: the harness's
 * state F, which both files read).
 *
 * SIGNED_FUZZ_LOG=1 in the environment shows the engines' log (DEBUG),
 * with a line per input saying what the store holds at its end.
 *
 *   make fuzz (seeds: fuzz/corpus/signed_fuzz/)
 */
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/wire.h"
#include "msg/chain.h"
#include "msg/checkpoint.h"
#include "msg/delivery.h"
#include "msg/recover.h"
#include "msg/transcript.h"
#include "store/record.h"
#include "store/store.h"

#include "signed_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct signed_fuzz F;

static struct checkpoint_rec crec, cans;

/* --- the input ------------------------------------------------------- */

static uint8_t
u8(void)
{
	return F.off < F.n ? F.p[F.off++] : 0;
}

static uint64_t
u64(void)
{
	uint64_t v = 0;

	/* a length byte, then that many bytes (big-endian): small values
	 * stay short in the input */
	for (unsigned k = u8() % 9; k > 0; k--)
		v = v << 8 | u8();
	return v;
}

/* Up to max bytes of the input, at least 1 when any is left. */
static const uint8_t *
take(size_t max, size_t *len)
{
	size_t n = u8();

	if (n > max)
		n = max;
	if (n > F.n - F.off)
		n = F.n - F.off;
	*len = n;
	F.off += n;
	return F.p + F.off - n;
}

/* --- records --------------------------------------------------------- */

/* envelope_header_encode without its checks, so that a field out of
 * range reaches the receiver's decoder; the same bytes for a valid one. */
static void
hdr_encode(struct vmsg *m)
{
	const struct envelope_header *h = &m->h;
	struct wire_writer w;

	wire_writer_init(&w, m->hdr, sizeof m->hdr);
	wire_put_map(&w, 12);
	wire_put_uint(&w, 1);
	wire_put_uint(&w, h->version);
	wire_put_uint(&w, 2);
	wire_put_bytes(&w, h->channel, ENVELOPE_ID_LEN);
	wire_put_uint(&w, 3);
	wire_put_uint(&w, h->sender);
	wire_put_uint(&w, 4);
	wire_put_uint(&w, h->seq);
	wire_put_uint(&w, 5);
	wire_put_bytes(&w, h->prev, ENVELOPE_ID_LEN);
	wire_put_uint(&w, 6);
	wire_put_bytes(&w, h->peer_last, ENVELOPE_ID_LEN);
	wire_put_uint(&w, 7);
	wire_put_uint(&w, h->time_ms);
	wire_put_uint(&w, 8);
	wire_put_uint(&w, h->precedence);
	wire_put_uint(&w, 9);
	wire_put_uint(&w, h->marking);
	wire_put_uint(&w, 10);
	wire_put_uint(&w, h->kind);
	wire_put_uint(&w, 11);
	wire_put_uint(&w, h->body_len);
	wire_put_uint(&w, 12);
	wire_put_bytes(&w, h->body_hash, ENVELOPE_ID_LEN);
	if (wire_writer_finish(&w, &m->hlen) != 0)
		abort();
	envelope_header_id(m->hdr, m->hlen, m->id);
}

/* Message k (seq k + 1) of party's virtual chain after m[k - 1]. */
static void
vmsg_make(struct vmsg *m, uint8_t party, size_t k, const uint8_t prev[32])
{
	memset(m, 0, sizeof *m);
	m->blen = (size_t)snprintf((char *)m->body, sizeof m->body,
	    "party %u message %zu", party, k + 1);
	m->h.version = ENVELOPE_VERSION;
	memcpy(m->h.channel, F.chan, ENVELOPE_ID_LEN);
	m->h.sender = party;
	m->h.seq = k + 1;
	memcpy(m->h.prev, prev, ENVELOPE_ID_LEN);
	m->h.time_ms = T0 + 1000 * (k + 1);
	m->h.precedence = ENVELOPE_ROUTINE;
	m->h.marking = ENVELOPE_PRIVATE;
	m->h.kind = ENVELOPE_TEXT;
	m->h.body_len = (uint32_t)m->blen;
	for (size_t i = 0; i < sizeof m->salt; i++)	/* as drawn */
		m->salt[i] = (uint8_t)(0x5au ^ ((size_t)party << 7) ^ (k * 31) ^ i);
	m->salted = true;
	envelope_body_hash_salted(m->salt, m->body, m->blen, m->h.body_hash);
	hdr_encode(m);
}

/* A message of party's chain, a field mutated as the input says; it
 * becomes the last built of that party. */
static struct vmsg *
msg_build(uint8_t party)
{
	struct vmsg *m = &F.last[party];
	const uint8_t *b;
	size_t n;

	*m = F.v[party][u8() % VMAX];
	switch (u8() % 16) {
	case 0:		/* the salt: a byte changed, or left out */
		if (u8() & 1)
			m->salt[u8() % ENVELOPE_SALT_LEN] ^= 1;
		else
			m->salted = false;
		break;
	case 1: m->h.seq = u64(); break;
	case 2: m->h.seq += (uint64_t)(int8_t)u8(); break;
	case 3: memcpy(m->h.prev, F.v[party][u8() % VMAX].id, 32); break;
	case 4: memcpy(m->h.channel, F.other, 32); break;
	case 5: m->h.sender ^= 1 + (u8() & 1); break;
	case 6: m->h.time_ms = u64(); break;
	case 7: m->h.precedence = u8(); break;
	case 8: m->h.marking = u8(); break;
	case 9: m->h.kind = u8(); break;
	case 10:	/* another body, the header naming it */
		b = take(sizeof m->body, &n);
		memcpy(m->body, b, n);
		m->blen = n;
		m->h.body_len = (uint32_t)n;
		envelope_body_hash_salted(m->salt, m->body, n,
		    m->h.body_hash);
		break;
	case 11:	/* another body under the same header */
		b = take(sizeof m->body, &n);
		memcpy(m->body, b, n);
		m->blen = n;
		break;
	case 12: m->h.body_len = (uint32_t)u64(); break;
	case 13: m->h.body_hash[u8() % 32] ^= 1; break;
	case 14: m->h.version = u8(); break;
	case 15: memcpy(m->h.peer_last, F.v[1 - party][u8() % VMAX].id, 32);
		break;
	default: break;
	}
	hdr_encode(m);
	F.have_last[party] = true;
	return m;
}

/* A signature: by signer's key (0: the party's own, 1: the other's), the
 * input's bytes (2), or the party's with a bit off (3). */
static int
sig_pick(uint8_t *sig, uint8_t party, int (*sign)(void *, const struct keys *),
    void *arg)
{
	uint8_t how = u8() % 8;
	const struct keys *own = party == F.self ? &F.key[0] : &F.key[1];
	const struct keys *oth = party == F.self ? &F.key[1] : &F.key[0];
	const uint8_t *b;
	size_t n;

	if (how == 2) {
		b = take(KEYS_SIG_LEN, &n);
		memset(sig, 0, KEYS_SIG_LEN);
		memcpy(sig, b, n);
		return 0;
	}
	if (sign(arg, how == 1 ? oth : own) != 0)
		return -1;
	if (how == 3)
		sig[u8() % KEYS_SIG_LEN] ^= (uint8_t)(1u << (u8() % 8));
	return 0;
}

static int
head_sign(void *arg, const struct keys *k)
{
	return chain_head_sign(arg, k);
}

static int
receipt_sign(void *arg, const struct keys *k)
{
	return chain_receipt_sign(arg, k);
}

/* A head over party's chain as the input says. */
static int
head_build(uint8_t party, uint8_t *out, size_t cap, size_t *len)
{
	struct chain_head h;
	uint8_t t = u8();

	memset(&h, 0, sizeof h);
	memcpy(h.channel, F.chan, 32);
	h.sender = party;
	if (t % 4 == 3 && F.have_last[party]) {
		h.seq = F.last[party].h.seq;
		memcpy(h.id, F.last[party].id, 32);
	} else {
		const struct vmsg *m = &F.v[party][(t >> 2) % VMAX];
		h.seq = m->h.seq;
		memcpy(h.id, m->id, 32);
	}
	switch (u8() % 8) {
	case 1: h.seq = u64(); break;
	case 2: memcpy(h.channel, F.other, 32); break;
	case 3: h.sender ^= 1 + (u8() & 1); break;
	case 4: h.id[u8() % 32] ^= 1; break;
	default: break;
	}
	if (sig_pick(h.sig, party, head_sign, &h) != 0)
		return -1;
	return chain_head_encode(&h, out, cap, len);
}

static int
io_send(void *ctx, const uint8_t c[ENVELOPE_ID_LEN], unsigned path,
    uint8_t type, const uint8_t *b, size_t n)
{
	(void)ctx; (void)path;
	CHECK(memcmp(c, F.chan, 32) == 0);
	if (type == DELIVERY_REC_RECEIPT)
		sent_receipt(b, n);
	else if (type == DELIVERY_REC_SYNC)
		sent_sync(b, n);
	else if (type == DELIVERY_REC_HEAD)
		sent_head(b, n);
	else if (type == DELIVERY_REC_RUN)
		sent_run(b, n);
	return 0;
}

static uint64_t
io_now(void *ctx)
{
	(void)ctx;
	return F.now;
}

/* --- ops --------------------------------------------------------------- */

static void
send_msg(uint8_t type_whole, const struct vmsg *m)
{
	static uint8_t rec[2 * ENVELOPE_HEADER_MAX + ENVELOPE_SALT_LEN + 64];
	const uint8_t *salt = m->salted ? m->salt : NULL;
	uint8_t how = u8();
	size_t n, off = 0;
	int r;

	if (how % 4 != 1) {		/* whole */
		r = type_whole == DELIVERY_REC_MSG ?
		    delivery_msg_encode(m->hdr, m->hlen, salt, m->body, m->blen,
		    rec, sizeof rec, &n) :
		    recover_own_encode(m->hdr, m->hlen, salt, 0, m->body,
		    m->blen, rec, sizeof rec, &n);
		if (r == 0)
			delivery_record(F.d, F.chan, how % 3 == 2 ? 1 : 0,
			    type_whole, rec, n);
		return;
	}
	/* in parts of the input's sizes, an offset maybe off */
	do {
		size_t k = 1 + u8() % 16;
		uint64_t at = off;
		if (k > m->blen - off)
			k = m->blen - off;
		if (u8() == 0xff)
			at += 1;
		r = type_whole == DELIVERY_REC_MSG ?
		    delivery_part_encode(m->hdr, m->hlen, salt, at,
		    m->body + off, k, rec, sizeof rec, &n) :
		    recover_own_encode(m->hdr, m->hlen, salt, at,
		    m->body + off, k, rec, sizeof rec, &n);
		if (r != 0)
			return;
		delivery_record(F.d, F.chan, 0, type_whole ==
		    DELIVERY_REC_MSG ? DELIVERY_REC_PART : RECOVER_REC_OWN,
		    rec, n);
		off += k;
	} while (off < m->blen);
}

static void
op_head(uint8_t party, uint8_t type)
{
	uint8_t b[CHAIN_HEAD_MAX];
	size_t n;

	if (head_build(party, b, sizeof b, &n) == 0)
		delivery_record(F.d, F.chan, u8() % 2, type, b, n);
}

static void
op_receipt(void)
{
	struct chain_receipt rc;
	uint8_t b[CHAIN_RECEIPT_MAX + 16], s[CHAIN_RECEIPT_MAX + 32];
	uint8_t t = u8();
	size_t n, sn;

	memset(&rc, 0, sizeof rc);
	memcpy(rc.channel, F.chan, 32);
	rc.receiver = F.peer;
	rc.time_ms = F.now;
	switch (t % 4) {
	case 0: {
		const struct vmsg *m = &F.v[F.self][(t >> 2) % VMAX];
		rc.seq = m->h.seq;
		memcpy(rc.id, m->id, 32);
		break;
	}
	case 1:		/* what our store holds (our pump's own chain) */
		rc.seq = (t >> 2) % (F.rows[F.self].n + 1);
		(void)id_at(F.self, rc.seq, rc.id);
		break;
	case 2:
		if (F.have_last[F.self]) {
			rc.seq = F.last[F.self].h.seq;
			memcpy(rc.id, F.last[F.self].id, 32);
		}
		break;
	default:
		rc.seq = u64();
		memcpy(rc.id, F.v[F.self][(t >> 2) % VMAX].id, 32);
		break;
	}
	switch (u8() % 8) {
	case 1: rc.receiver ^= 1 + (u8() & 1); break;
	case 2: memcpy(rc.channel, F.other, 32); break;
	case 3: rc.time_ms = u64(); break;
	case 4: rc.id[u8() % 32] ^= 1; break;
	default: break;
	}
	if (sig_pick(rc.sig, F.peer, receipt_sign, &rc) != 0 ||
	    chain_receipt_encode(&rc, b, sizeof b, &n) != 0)
		return;
	t = u8();
	if (t % 2 == 0) {
		delivery_record(F.d, F.chan, t % 3 == 0 ? 0 : 1,
		    DELIVERY_REC_RECEIPT, b, n);
		return;
	}
	if (delivery_sync_encode(&rc, t & 2, 0, s, sizeof s, &sn) != 0)
		return;
	if (t & 4)	/* the version byte: {1: 1, ...} */
		s[2] = u8();
	delivery_record(F.d, F.chan, (t >> 3) % 2, DELIVERY_REC_SYNC, s, sn);
}

static int
cp_sign(void *arg, const struct keys *k)
{
	struct transcript_checkpoint *cp = arg;
	uint8_t party = k == &F.key[0] ? F.self : F.peer;

	return transcript_checkpoint_sign(cp, party, k);
}

/* Answers to checkpoints: a co-signed one names what we hold. */
static void
cp_feed(const uint8_t *b, size_t n)
{
	static uint8_t out[CHECKPOINT_REC_MAX];
	size_t len = 0;

	(void)checkpoint_on_record(&F.e, b, n, F.now, F.now, out, sizeof out,
	    &len);
	if (len == 0)
		return;
	CHECK(checkpoint_rec_decode(&cans, out, len) == 0);
	CHECK(memcmp(cans.cp.channel, F.chan, 32) == 0);
	if (cans.kind == CHECKPOINT_COSIGNED) {
		CHECK(transcript_checkpoint_verify(&cans.cp,
		    (const uint8_t (*)[KEYS_PUB_LEN])F.pub, true, NULL) == 0);
		check_store();		/* F.rows up to date */
		cp_names_ours(&cans.cp);
	} else
		CHECK(cans.kind == CHECKPOINT_DISPUTE);
}

static void
op_checkpoint(void)
{
	static uint8_t b[CHECKPOINT_REC_MAX];
	struct checkpoint_rec *c = &crec;
	uint8_t t = u8();
	size_t n;

	if (t % 4 == 3 && F.plen > 0) {
		/* our last proposal, co-signed by the peer or disputed */
		if (checkpoint_rec_decode(c, F.prop, F.plen) != 0)
			abort();
		if (t & 4) {
			c->kind = CHECKPOINT_DISPUTE;
			for (int i = 0; i < 2; i++)
				if (c->nids[i] > 0 && (t & 8))
					c->ids[i][u8() % c->nids[i]][0] ^= 1;
		} else {
			c->kind = CHECKPOINT_COSIGNED;
			if (sig_pick(c->cp.sig[F.peer], F.peer, cp_sign,
			    &c->cp) != 0)
				return;
			c->cp.is_signed[F.peer] = true;
		}
	} else {
		memset(c, 0, sizeof *c);
		c->kind = (uint8_t)(1 + t % 3);
		memcpy(c->cp.channel, (t & 0x80) ? F.other : F.chan, 32);
		c->cp.proposer = (t & 4) ? F.self : F.peer;
		c->cp.time_ms = F.now;
		for (uint8_t i = 0; i < 2; i++) {
			uint8_t w = u8();
			uint64_t base;
			/* a seq of the virtual chain, of the store, or 0 */
			if (w % 3 == 0) {
				c->cp.seq[i] = 1 + (w >> 2) % VMAX;
				memcpy(c->cp.id[i],
				    F.v[i][c->cp.seq[i] - 1].id, 32);
			} else if (w % 3 == 1) {
				c->cp.seq[i] = (w >> 2) % (F.rows[i].n + 1);
				(void)id_at(i, c->cp.seq[i], c->cp.id[i]);
			}
			base = u8() % (c->cp.seq[i] + 1);
			c->base[i] = base;
			c->nids[i] = (size_t)(c->cp.seq[i] - base);
			for (size_t k = 0; k < c->nids[i]; k++) {
				uint64_t seq = base + k + 1;
				if (w & 2 || seq > VMAX)
					(void)id_at(i, seq, c->ids[i][k]);
				else
					memcpy(c->ids[i][k],
					    F.v[i][seq - 1].id, 32);
			}
			if (c->nids[i] > 0 && (w & 0x80))
				c->ids[i][u8() % c->nids[i]][u8() % 32] ^= 1;
		}
		transcript_checkpoint_fill(&c->cp);
		if (t & 8)
			c->cp.head[u8() % 32] ^= 1;
		if (t & 16) {
			uint8_t p = u8() & 1;
			if (sig_pick(c->cp.sig[p], p, cp_sign, &c->cp) != 0)
				return;
			c->cp.is_signed[p] = true;
		}
		if (t & 32) {
			if (sig_pick(c->cp.sig[F.peer], F.peer, cp_sign,
			    &c->cp) != 0)
				return;
			c->cp.is_signed[F.peer] = true;
		}
		if (t & 64) {
			if (sig_pick(c->cp.sig[F.self], F.self, cp_sign,
			    &c->cp) != 0)
				return;
			c->cp.is_signed[F.self] = true;
		}
	}
	if (checkpoint_rec_encode(c, b, sizeof b, &n) == 0)
		cp_feed(b, n);
}

static void
op_raw(void)
{
	static const uint8_t types[] = {
		DELIVERY_REC_SYNC, DELIVERY_REC_MSG, DELIVERY_REC_PART,
		DELIVERY_REC_HEAD, DELIVERY_REC_RECEIPT, RECOVER_REC_ASK,
		RECOVER_REC_OWN, RECOVER_REC_HEAD, CHECKPOINT_REC,
	};
	uint8_t type = types[u8() % sizeof types];
	const uint8_t *b;
	size_t n;

	b = take(255, &n);
	if (type == CHECKPOINT_REC)
		cp_feed(b, n);
	else
		delivery_record(F.d, F.chan, u8() % 3, type, b, n);
}

static void
op_tick(void)
{
	static uint8_t out[CHECKPOINT_REC_MAX];
	struct checkpoint_walk w;
	size_t len = 0;

	F.now += (uint64_t)u8() * 250;
	delivery_tick(F.d);
	delivery_pump(F.d);
	if (checkpoint_tick(&F.e, F.now, F.now, out, sizeof out, &len) == 0 &&
	    len > 0) {
		CHECK(checkpoint_rec_decode(&crec, out, len) == 0);
		CHECK(crec.kind == CHECKPOINT_PROPOSE);
		check_store();
		cp_names_ours(&crec.cp);
		memcpy(F.prop, out, len);
		F.plen = len;
	}
	memset(&w, 0, sizeof w);
	do {
		int r = checkpoint_retry_held(&F.e, F.now, F.now, &w);
		(void)r;	/* stored, alarmed or held: the store says */
	} while (w.tried);
}

static void
done(void *arg, int r, int64_t qid)
{
	(void)arg; (void)r; (void)qid;
}

static void
op_queue(void)
{
	uint8_t t = u8();
	char body[32];
	int64_t qid;
	int n;

	n = snprintf(body, sizeof body, "queued %u", t);
	if (t & 1)
		(void)delivery_queue(F.d, 0, (uint8_t)(t >> 1) % 4, 0,
		    ENVELOPE_TEXT, (const uint8_t *)body, (size_t)n, &qid);
	else
		(void)delivery_submit(F.d, 0, (uint8_t)(t >> 1) % 4, 0,
		    ENVELOPE_TEXT, (const uint8_t *)body, (size_t)n, t & 2,
		    NULL, done, NULL);
	delivery_pump(F.d);
}

static void
op_ask(void)
{
	uint8_t b[64];
	uint64_t from = u8() % (VMAX + 2), to = from + u8() % (VMAX + 2);
	size_t n;

	if (recover_ask_encode(from, to, b, sizeof b, &n) == 0)
		delivery_record(F.d, F.chan, u8() % 2, RECOVER_REC_ASK, b, n);
}

/* --- setup ------------------------------------------------------------- */

static int
sign_ours(void *arg, const uint8_t *channel, uint8_t sender, uint64_t seq,
    const uint8_t id[STORE_ID_LEN], struct store_head *out)
{
	struct chain_head h;

	(void)arg;
	memset(&h, 0, sizeof h);
	memcpy(h.channel, channel, 32);
	h.sender = sender;
	h.seq = seq;
	memcpy(h.id, id, 32);
	if (chain_head_sign(&h, &F.key[0]) != 0)
		return ERR_INVALID;
	chain_head_to_store(out, &h);
	return 0;
}

static void
init_once(void)
{
	uint8_t seed[crypto_sign_SEEDBYTES];

	if (sodium_init() < 0)
		abort();
	/* SIGNED_FUZZ_LOG=1: the engines' log, to see what an input does */
	log_setup("signed_fuzz", getenv("SIGNED_FUZZ_LOG") != NULL ?
	    LOG_LVL_DEBUG : LOG_LVL_ERROR, false);
	/* SQLite's pages from a pool, not malloc: the store lives across
	 * inputs, and libFuzzer looks for leaks in an input that mallocs
	 * more than it frees */
	if (store_cache_reserve(8) != 0)
		abort();
	for (int i = 0; i < 2; i++) {
		F.key[i].sign_sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
		memset(seed, i == 0 ? 0x4d : 0x50, sizeof seed);
		crypto_sign_seed_keypair(F.key[i].id.sign_pub, F.key[i].sign_sk,
		    seed);
	}
	memset(F.other, 0x64, sizeof F.other);
}

/* The store at the start: the peer's first np messages received under
 * its head, our first na sent under our heads (one per batch), nq of
 * ours past them queued as the virtual chain has them. */
/* A path's session up (the peer's RUN first on it, as a peer sends it)
 * or down. */
static void
path_set(unsigned path, bool up)
{
	uint8_t b[32];
	size_t n;

	delivery_path_change(F.d, F.chan, path, up);
	if (up && delivery_run_encode(PEER_RUN, b, sizeof b, &n) == 0)
		delivery_record(F.d, F.chan, path, DELIVERY_REC_RUN, b, n);
}

static void
setup(void)
{
	uint8_t flags = u8(), counts = u8();
	size_t np = (counts & 7) % (VMAX / 2 + 1);
	size_t na = ((counts >> 3) & 7) % (VMAX / 2 + 1);
	size_t nq = (counts >> 6) % 3;
	struct store_in in[VMAX];
	struct store_head sh;
	struct chain_head h;
	size_t added;

	F.self = flags & 1;
	F.peer = (uint8_t)(1 - F.self);
	memcpy(F.pub[F.self], F.key[0].id.sign_pub, KEYS_PUB_LEN);
	memcpy(F.pub[F.peer], F.key[1].id.sign_pub, KEYS_PUB_LEN);
	F.now = T0 + 100000;
	/* a channel of its own in the store (opening one costs 13 ms, the
	 * schema's creation; an input about 0.2): the store is opened
	 * again every STORE_INPUTS inputs, so that it stays small */
	if (F.inputs++ % STORE_INPUTS == 0) {
		store_close(F.s);
		if (store_open(&F.s, ":memory:") != 0)
			abort();
	}
	memset(F.chan, 0x63, sizeof F.chan);
	for (int i = 0; i < 8; i++)
		F.chan[i] = (uint8_t)(F.inputs >> (56 - 8 * i));
	for (size_t k = 0; k < VMAX; k++)
		vmsg_make(&F.v[F.peer][k], F.peer, k,
		    k ? F.v[F.peer][k - 1].id : zero);
	for (size_t k = 0; k < np; k++)
		chain_store_in(&in[k], &F.v[F.peer][k].h, F.v[F.peer][k].hdr,
		    F.v[F.peer][k].hlen, F.v[F.peer][k].salt,
		    F.v[F.peer][k].body, F.v[F.peer][k].blen,
		    F.v[F.peer][k].id);
	if (np > 0) {
		memset(&h, 0, sizeof h);
		memcpy(h.channel, F.chan, 32);
		h.sender = F.peer;
		h.seq = np;
		memcpy(h.id, F.v[F.peer][np - 1].id, 32);
		if (chain_head_sign(&h, &F.key[1]) != 0)
			abort();
		chain_head_to_store(&sh, &h);
		if (store_received_put(F.s, F.chan, F.peer, in, np, &sh,
		    F.now, &added) != 0)
			abort();
	}
	/* ours: queued, then assigned in batches of 1 or 2 under a head */
	for (size_t k = 0; k < na; k++) {
		struct vmsg m;
		int64_t qid;
		vmsg_make(&m, F.self, k, zero);
		if (chain_queue(F.s, F.chan, F.self, m.h.precedence,
		    m.h.marking, m.h.kind, m.body, m.blen, m.h.time_ms,
		    &qid) != 0)
			abort();
	}
	for (size_t k = 0; k < na; k += (flags & 2) ? 2 : 1) {
		uint64_t first, last;
		if (store_assign_signed(F.s, F.chan, F.self, (flags & 2) ? 2 : 1,
		    0, F.now, chain_store_build, NULL, sign_ours, NULL, &first,
		    &last, NULL, NULL) != 0)
			abort();
	}
	for (size_t k = 0; k < na; k++) {
		struct store_msg m;
		struct vmsg *v = &F.v[F.self][k];
		if (store_get_at(F.s, F.chan, F.self, k + 1, &m) != 0)
			abort();
		memset(v, 0, sizeof *v);
		memcpy(v->hdr, m.header, m.header_len);
		v->hlen = m.header_len;
		memcpy(v->id, m.id, 32);
		memcpy(v->body, m.body, m.body_len);
		v->blen = m.body_len;
		v->salted = m.salted;
		memcpy(v->salt, m.body_salt, sizeof v->salt);
		if (envelope_header_decode(&v->h, v->hdr, v->hlen) != 0)
			abort();
		store_msg_fini(&m);
	}
	for (size_t k = na; k < VMAX; k++)
		vmsg_make(&F.v[F.self][k], F.self, k,
		    k ? F.v[F.self][k - 1].id : zero);
	for (size_t k = na; k < na + nq; k++) {
		const struct vmsg *m = &F.v[F.self][k];
		int64_t qid;
		if (chain_queue(F.s, F.chan, F.self, m->h.precedence,
		    m->h.marking, m->h.kind, m->body, m->blen, m->h.time_ms,
		    &qid) != 0)
			abort();
	}
	if (delivery_new(F.s, &F.key[0], &(const struct delivery_io){ io_send,
	    NULL, NULL, io_now, NULL, NULL, NULL, NULL, NULL, NULL, io_now },
	    &F.d) != 0 ||
	    delivery_add_channel(F.d, F.chan, F.self, F.pub[F.peer], "peer",
	    2) != 0)
		abort();
	checkpoint_init(&F.e, F.s, &F.key[0], F.chan, F.self,
	    (const uint8_t (*)[KEYS_PUB_LEN])F.pub, 4, 0, F.now);
	F.have_last[0] = F.have_last[1] = false;
	F.plen = 0;
	F.nsent = 0;
	F.before.n = 0;
	check_store();
	if (flags & 4)
		path_set(0, true);
	if (flags & 8)
		path_set(1, true);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	unsigned ops = 0;

	if (!ready) {
		init_once();
		ready = true;
	}
	F.p = data;
	F.n = size;
	F.off = 0;
	setup();
	while (F.off < F.n && ops++ < 64) {
		uint8_t op = u8();
		switch (op % 12) {
		case 0: send_msg(DELIVERY_REC_MSG, msg_build(F.peer)); break;
		case 1: op_head(F.peer, DELIVERY_REC_HEAD); break;
		case 2: op_receipt(); break;
		case 3: send_msg(RECOVER_REC_OWN, msg_build(F.self)); break;
		case 4: op_head(F.self, RECOVER_REC_HEAD); break;
		case 5: op_checkpoint(); break;
		case 6: op_raw(); break;
		case 7: op_tick(); break;
		case 8: path_set((op >> 4) & 1, (op >> 5) & 1); break;
		case 9: op_queue(); break;
		case 10: op_ask(); break;
		default:	/* the peer's head right after its message */
			send_msg(DELIVERY_REC_MSG, msg_build(F.peer));
			op_head(F.peer, DELIVERY_REC_HEAD);
			break;
		}
		check_quick();
	}
	delivery_flush(F.d);
	check_store();
	for (size_t i = 0; i < F.nsent; i++) {	/* still there */
		CHECK(F.sent_seq[i] <= F.rows[F.peer].n);
		CHECK(memcmp(F.sent_id[i], F.sent_seq[i] ?
		    F.rows[F.peer].id[F.sent_seq[i] - 1] : zero, 32) == 0);
	}
	log_debug("input done: the peer's chain %zu, ours %zu, %llu "
	    "co-signed, %zu held, %zu receipts sent", F.rows[F.peer].n,
	    F.rows[F.self].n, (unsigned long long)F.e.cosigned, F.e.nheld,
	    F.nsent);
	checkpoint_fini(&F.e);
	delivery_free(F.d);
	F.d = NULL;
	return 0;
}
