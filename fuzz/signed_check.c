/*
 * signed_check.c: the checks of signed_fuzz.c's invariants (numbered in
 * its header comment): every record we send (7) and what the store holds
 * (1-6). See signed_check.h.
 */
#include "signed_check.h"

#include <sodium.h>
#include <string.h>

#include "base/wire.h"
#include "msg/chain.h"
#include "msg/recover.h"
#include "store/record.h"

const uint8_t zero[ENVELOPE_ID_LEN];

/* --- what we send ------------------------------------------------------ */

bool
id_at(uint8_t party, uint64_t seq, uint8_t id[32])
{
	uint8_t ids[1][32];

	if (seq == 0) {
		memset(id, 0, 32);
		return true;
	}
	if (store_ids_range(F.s, F.chan, party, seq - 1, 1, ids) != 0)
		abort();
	memcpy(id, ids[0], 32);
	return !sodium_is_zero(ids[0], 32);
}

/* A receipt of ours (RECEIPT, or inside our SYNC): ours, signed, naming
 * a message of the peer we hold with that id. */
void
sent_receipt(const uint8_t *b, size_t n)
{
	struct chain_receipt rc;
	uint8_t id[32];

	CHECK(chain_receipt_decode(&rc, b, n) == 0);
	CHECK(memcmp(rc.channel, F.chan, 32) == 0);
	CHECK(rc.receiver == F.self);
	CHECK(chain_receipt_verify(&rc, F.pub[F.self]) == 0);
	CHECK(id_at(F.peer, rc.seq, id));
	CHECK(memcmp(id, rc.id, 32) == 0);
	if (F.nsent < SENT_MAX) {
		F.sent_seq[F.nsent] = rc.seq;
		memcpy(F.sent_id[F.nsent++], rc.id, 32);
	}
}

void
sent_sync(const uint8_t *b, size_t n)
{
	struct wire_reader r;
	const uint8_t *p;
	uint64_t v;
	size_t len;
	bool reply;

	wire_reader_init(&r, b, n);
	CHECK(wire_read_map(&r, 4) == 0 && wire_read_key(&r, 1) == 0 &&
	    wire_read_uint(&r, &v) == 0 && v == DELIVERY_VERSION &&
	    wire_read_key(&r, 2) == 0 && wire_read_bytes(&r, &p, &len) == 0 &&
	    wire_read_key(&r, 3) == 0 && wire_read_bool(&r, &reply) == 0 &&
	    wire_read_key(&r, 4) == 0 && wire_read_uint(&r, &v) == 0 &&
	    wire_read_end(&r) == 0);
	CHECK(v == 0 || v == PEER_RUN);	/* the peer's run, as announced */
	sent_receipt(p, len);
}

/* A RUN we send: our version and the engine's run. */
void
sent_run(const uint8_t *b, size_t n)
{
	struct wire_reader r;
	uint64_t v, run;

	wire_reader_init(&r, b, n);
	CHECK(wire_read_map(&r, 2) == 0 && wire_read_key(&r, 1) == 0 &&
	    wire_read_uint(&r, &v) == 0 && v == DELIVERY_VERSION &&
	    wire_read_key(&r, 2) == 0 && wire_read_uint(&r, &run) == 0 &&
	    wire_read_end(&r) == 0);
	CHECK(F.d == NULL || run == delivery_run(F.d));
}

/* A head we send over our chain: ours, naming a stored message. */
void
sent_head(const uint8_t *b, size_t n)
{
	struct chain_head h;
	uint8_t id[32];

	CHECK(chain_head_decode(&h, b, n) == 0);
	CHECK(memcmp(h.channel, F.chan, 32) == 0 && h.sender == F.self);
	CHECK(chain_head_verify(&h, F.pub[F.self]) == 0);
	CHECK(id_at(F.self, h.seq, id) && memcmp(id, h.id, 32) == 0);
}

/* --- the checks -------------------------------------------------------- */

struct walk {
	uint8_t party;
	struct rows *rows;
};

static int
row_check(void *arg, struct store_msg *m)
{
	struct walk *w = arg;
	struct envelope_header h;
	uint8_t id[32];
	size_t k = w->rows->n;

	CHECK(k < ROWS_MAX);
	CHECK(m->seq == k + 1 && m->sender == w->party);
	CHECK(memcmp(m->channel, F.chan, 32) == 0);
	CHECK(envelope_header_decode(&h, m->header, m->header_len) == 0);
	CHECK(memcmp(h.channel, F.chan, 32) == 0 && h.sender == w->party &&
	    h.seq == m->seq);
	envelope_header_id(m->header, m->header_len, id);
	CHECK(memcmp(id, m->id, 32) == 0);
	CHECK(memcmp(h.prev, k ? w->rows->id[k - 1] : zero, 32) == 0);
	CHECK(envelope_body_check(&h, m->salted ? m->body_salt : NULL,
	    m->body, m->body_len) == 0);
	CHECK(m->salted == (h.version == 2));
	CHECK(h.time_ms == m->time_ms && h.kind == m->kind &&
	    h.precedence == m->precedence && h.marking == m->marking);
	if (w->party == F.self)
		CHECK(m->dir == STORE_OUT && (m->state == STORE_SENT ||
		    m->state == STORE_RECEIPTED));
	else
		CHECK(m->dir == STORE_IN && m->state == STORE_RECEIVED);
	memcpy(w->rows->id[k], m->id, 32);
	w->rows->n++;
	return 0;
}

struct hwalk {
	uint8_t party;
	uint64_t top;
};

static int
head_check(void *arg, const struct store_head *sh)
{
	struct hwalk *w = arg;
	struct chain_head h;

	chain_head_from_store(&h, sh);
	CHECK(h.sender == w->party && memcmp(h.channel, F.chan, 32) == 0);
	CHECK(chain_head_verify(&h, F.pub[w->party]) == 0);
	CHECK(h.seq >= 1 && h.seq <= F.rows[w->party].n);
	CHECK(memcmp(h.id, F.rows[w->party].id[h.seq - 1], 32) == 0);
	if (h.seq > w->top)
		w->top = h.seq;
	return 0;
}

static int
receipt_check(void *arg, const struct store_receipt *sr)
{
	uint8_t signer = *(const uint8_t *)arg, other = (uint8_t)(1 - signer);
	struct chain_receipt rc;

	chain_receipt_from_store(&rc, sr);
	CHECK(rc.receiver == signer && memcmp(rc.channel, F.chan, 32) == 0);
	CHECK(chain_receipt_verify(&rc, F.pub[signer]) == 0);
	CHECK(rc.seq <= F.rows[other].n);
	CHECK(memcmp(rc.id, rc.seq ? F.rows[other].id[rc.seq - 1] : zero,
	    32) == 0);
	return 0;
}

/* A checkpoint names, at each of its seqs, the id this store holds. */
void
cp_names_ours(const struct transcript_checkpoint *cp)
{
	for (int i = 0; i < 2; i++) {
		CHECK(cp->seq[i] <= F.rows[i].n);
		CHECK(memcmp(cp->id[i], cp->seq[i] ?
		    F.rows[i].id[cp->seq[i] - 1] : zero, 32) == 0);
	}
}

static int
checkpoint_check(void *arg, const uint8_t *b, size_t n)
{
	struct transcript_checkpoint cp;

	(void)arg;
	CHECK(transcript_checkpoint_decode(&cp, b, n) == 0);
	CHECK(memcmp(cp.channel, F.chan, 32) == 0);
	CHECK(transcript_checkpoint_verify(&cp,
	    (const uint8_t (*)[KEYS_PUB_LEN])F.pub, true, NULL) == 0);
	cp_names_ours(&cp);
	return 0;
}

/* Invariant 6, after every op. */
void
check_quick(void)
{
	struct delivery_stats st;
	uint8_t id[32];
	uint64_t top[2];

	for (uint8_t i = 0; i < 2; i++)
		CHECK(store_highest(F.s, F.chan, i, &top[i], id) == 0);
	CHECK(delivery_stats(F.d, 0, &st) == 0);
	CHECK(st.received == top[F.peer]);
	CHECK(st.assigned == top[F.self]);
	CHECK(st.receipted <= st.assigned);
}

/* Invariants 1-6 of the header. */
void
check_store(void)
{

	for (uint8_t i = 0; i < 2; i++) {
		struct walk w = { i, &F.rows[i] };
		uint64_t top;
		uint8_t id[32];
		F.rows[i].n = 0;
		CHECK(store_after(F.s, F.chan, i, 0, ROWS_MAX, row_check,
		    &w) == 0);
		CHECK(store_highest(F.s, F.chan, i, &top, id) == 0);
		CHECK(top == F.rows[i].n);
		CHECK(memcmp(id, top ? F.rows[i].id[top - 1] : zero, 32) == 0);
	}
	for (uint8_t i = 0; i < 2; i++) {
		struct hwalk hw = { i, 0 };
		CHECK(store_heads_each(F.s, F.chan, i, head_check, &hw) == 0);
		CHECK(hw.top == F.rows[i].n);	/* the top is covered */
		CHECK(store_receipts_each(F.s, F.chan, i, receipt_check,
		    &i) == 0);
	}
	CHECK(store_checkpoints_each(F.s, F.chan, checkpoint_check,
	    NULL) == 0);
	/* our chain only grows */
	CHECK(F.rows[F.self].n >= F.before.n);
	CHECK(memcmp(F.rows[F.self].id, F.before.id, F.before.n * 32) == 0);
	F.before.n = F.rows[F.self].n;
	memcpy(F.before.id, F.rows[F.self].id, F.before.n * 32);
	check_quick();
}
