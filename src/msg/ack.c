/*
 * ack.c: the ACK body's encoding, the lateness rule, the pure check of an
 * acknowledgment, and finding a message's ACK in the store (ack.h).
 */
#include "msg/ack.h"

#include <string.h>

#include "base/wire.h"
#include "store/people.h"

enum { A_ACKED = 0, A_OPERATOR = 1, A_TEXT = 2 };

static bool
text_ok(const char *s, size_t min, size_t max)
{
	size_t n = strnlen(s, max + 1);

	return n >= min && n <= max &&
	    envelope_utf8_is_valid((const uint8_t *)s, n);
}

int
ack_body_encode(const struct ack_body *b, uint8_t *out, size_t cap,
    size_t *len)
{
	struct wire_writer w;

	if (!text_ok(b->operator, 1, ACK_OPERATOR_MAX) ||
	    !text_ok(b->text, 0, ACK_TEXT_MAX))
		return ERR_INVALID;
	wire_writer_init(&w, out, cap);
	wire_put_map(&w, 3);
	wire_put_uint(&w, A_ACKED);
	wire_put_bytes(&w, b->acked, sizeof b->acked);
	wire_put_uint(&w, A_OPERATOR);
	wire_put_text(&w, b->operator);
	wire_put_uint(&w, A_TEXT);
	wire_put_text(&w, b->text);
	return wire_writer_finish(&w, len);
}

int
ack_body_decode(struct ack_body *b, const uint8_t *p, size_t n)
{
	uint8_t again[ACK_BODY_MAX];
	cbor_item_t *item = NULL;
	size_t len;
	int r;

	memset(b, 0, sizeof *b);
	if (n > ACK_BODY_MAX)
		return ERR_TOO_BIG;
	if ((r = wire_load(p, n, &item)) != 0)
		return r;
	if (!cbor_isa_map(item) || cbor_map_size(item) != 3) {
		r = ERR_PARSE;
		goto out;
	}
	if ((r = wire_get_bytes_exact(wire_map_get(item, A_ACKED), b->acked,
	    sizeof b->acked)) != 0 ||
	    (r = wire_get_text(wire_map_get(item, A_OPERATOR), b->operator,
	    sizeof b->operator)) != 0 ||
	    (r = wire_get_text(wire_map_get(item, A_TEXT), b->text,
	    sizeof b->text)) != 0) {
		if (r == ERR_TOO_BIG)
			r = ERR_INVALID;
		goto out;
	}
	if ((r = ack_body_encode(b, again, sizeof again, &len)) != 0)
		goto out;
	if (!wire_same(p, n, again, len))
		r = ERR_NONCANONICAL;
out:
	cbor_decref(&item);
	return r;
}

int
ack_body_check(const uint8_t *p, size_t n)
{
	struct ack_body b;

	return ack_body_decode(&b, p, n);
}

uint64_t
ack_deadline_ms(const uint32_t deadline_s[4], unsigned precedence)
{
	return precedence < 4 ? (uint64_t)deadline_s[precedence] * 1000 : 0;
}

bool
ack_is_late(uint64_t msg_ms, uint64_t ack_ms, uint64_t deadline_ms)
{
	return ack_ms > msg_ms && ack_ms - msg_ms > deadline_ms;
}

int
ack_verify(const struct envelope_header *ack, const uint8_t *body, size_t n,
    const struct envelope_header *msg, const uint8_t msg_id[ENVELOPE_ID_LEN],
    uint64_t deadline_ms, bool *late, struct ack_body *out)
{
	int r;

	*late = false;
	if (ack->kind != ENVELOPE_ACK)
		return ERR_KIND;
	if (memcmp(ack->channel, msg->channel, ENVELOPE_ID_LEN) != 0 ||
	    ack->sender == msg->sender || msg->kind == ENVELOPE_ACK)
		return ERR_INVALID;
	if ((r = ack_body_decode(out, body, n)) != 0)
		return r;
	if (memcmp(out->acked, msg_id, ENVELOPE_ID_LEN) != 0)
		return ERR_CHAIN;
	*late = ack_is_late(msg->time_ms, ack->time_ms, deadline_ms);
	return 0;
}

struct find {
	uint8_t sender;
	const uint8_t *id;
	struct ack_info *info;
};

static int
find_row(void *arg, struct store_msg *m)
{
	struct find *f = arg;
	struct ack_body b;

	if (m->sender == f->sender || ack_body_decode(&b, m->body,
	    m->body_len) != 0 || memcmp(b.acked, f->id, ENVELOPE_ID_LEN) != 0)
		return 0;
	f->info->found = true;
	f->info->assigned = m->seq != 0;
	f->info->qid = m->qid;
	memcpy(f->info->id, m->id, ENVELOPE_ID_LEN);
	f->info->time_ms = m->time_ms;
	f->info->body = b;
	return 1;			/* the first one counts */
}

int
ack_lookup(struct store *s, const uint8_t channel[ENVELOPE_ID_LEN],
    uint8_t sender, const uint8_t id[ENVELOPE_ID_LEN], struct ack_info *info)
{
	struct find f = { sender, id, info };
	int r;

	memset(info, 0, sizeof *info);
	r = store_acks_naming(s, channel, id, find_row, &f);
	return r == 1 ? 0 : r;
}
