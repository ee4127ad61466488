/*
 * transcript.c: see transcript.h; the formats are in docs/transcript.md.
 *
 * A checkpoint is a CBOR map with keys 1..11; the signed bytes are the map
 * of keys 1..9 (everything but the two signatures), so each party signs
 * the same bytes whatever the other has done. A missing signature is null.
 */
#include "msg/transcript.h"

#include <string.h>

#include "base/wire.h"
#include "crypto/hash.h"

enum {
	C_VERSION = 1, C_CHANNEL, C_SEQ0, C_ID0, C_SEQ1, C_ID1, C_HEAD,
	C_TIME, C_PROPOSER, C_SIG0, C_SIG1
};

static const uint8_t zero_id[ENVELOPE_ID_LEN];

static void
put_be64(uint8_t out[8], uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		out[i] = (uint8_t)(v & 0xff);
		v >>= 8;
	}
}

void
transcript_head(const uint8_t channel[ENVELOPE_ID_LEN], const uint64_t seq[2],
    const uint8_t id[2][ENVELOPE_ID_LEN], uint8_t head[ENVELOPE_ID_LEN])
{
	uint8_t buf[ENVELOPE_ID_LEN + 2 * (8 + ENVELOPE_ID_LEN)];
	size_t off = 0;

	memcpy(buf, channel, ENVELOPE_ID_LEN);
	off += ENVELOPE_ID_LEN;
	for (int i = 0; i < 2; i++) {
		put_be64(buf + off, seq[i]);
		off += 8;
		memcpy(buf + off, id[i], ENVELOPE_ID_LEN);
		off += ENVELOPE_ID_LEN;
	}
	hash_ctx(head, ENVELOPE_ID_LEN, TRANSCRIPT_CTX_HEAD, buf, off);
}

void
transcript_checkpoint_fill(struct transcript_checkpoint *c)
{
	transcript_head(c->channel, c->seq, (const uint8_t (*)[32])c->id,
	    c->head);
}

/* The fields' own ranges: what the encoder takes and the decoder gives. */
static int
check_fields(const struct transcript_checkpoint *c)
{
	if (c->proposer > 1 || c->time_ms > ENVELOPE_TIME_MAX)
		return ERR_INVALID;
	for (int i = 0; i < 2; i++) {
		if (c->seq[i] > ENVELOPE_SEQ_MAX)
			return ERR_INVALID;
		if (c->seq[i] == 0 && memcmp(c->id[i], zero_id,
		    sizeof zero_id) != 0)
			return ERR_INVALID;
	}
	return 0;
}

static int
check(const struct transcript_checkpoint *c)
{
	uint8_t head[ENVELOPE_ID_LEN];
	int r;

	if ((r = check_fields(c)) != 0)
		return r;
	transcript_head(c->channel, c->seq, (const uint8_t (*)[32])c->id,
	    head);
	if (memcmp(head, c->head, sizeof head) != 0)
		return ERR_CHAIN;
	return 0;
}

static int
write_cp(const struct transcript_checkpoint *c, bool with_sig, uint8_t *out,
    size_t cap, size_t *len)
{
	struct wire_writer w;

	wire_writer_init(&w, out, cap);
	wire_put_map(&w, with_sig ? 11 : 9);
	wire_put_uint(&w, C_VERSION);
	wire_put_uint(&w, TRANSCRIPT_VERSION);
	wire_put_uint(&w, C_CHANNEL);
	wire_put_bytes(&w, c->channel, sizeof c->channel);
	wire_put_uint(&w, C_SEQ0);
	wire_put_uint(&w, c->seq[0]);
	wire_put_uint(&w, C_ID0);
	wire_put_bytes(&w, c->id[0], sizeof c->id[0]);
	wire_put_uint(&w, C_SEQ1);
	wire_put_uint(&w, c->seq[1]);
	wire_put_uint(&w, C_ID1);
	wire_put_bytes(&w, c->id[1], sizeof c->id[1]);
	wire_put_uint(&w, C_HEAD);
	wire_put_bytes(&w, c->head, sizeof c->head);
	wire_put_uint(&w, C_TIME);
	wire_put_uint(&w, c->time_ms);
	wire_put_uint(&w, C_PROPOSER);
	wire_put_uint(&w, c->proposer);
	if (with_sig) {
		for (int i = 0; i < 2; i++) {
			wire_put_uint(&w, (uint64_t)(C_SIG0 + i));
			if (c->is_signed[i])
				wire_put_bytes(&w, c->sig[i],
				    sizeof c->sig[i]);
			else
				wire_put_null(&w);
		}
	}
	return wire_writer_finish(&w, len);
}

int
transcript_checkpoint_sign(struct transcript_checkpoint *c, uint8_t party,
    const struct keys *k)
{
	uint8_t buf[TRANSCRIPT_CHECKPOINT_MAX];
	size_t len;
	int r;

	if (party > 1)
		return ERR_INVALID;
	if ((r = check(c)) != 0)
		return r == ERR_CHAIN ? ERR_INVALID : r;
	if ((r = write_cp(c, false, buf, sizeof buf, &len)) != 0)
		return r;
	if ((r = keys_sign(k, TRANSCRIPT_CTX_CHECKPOINT, buf, len,
	    c->sig[party])) != 0)
		return r;
	c->is_signed[party] = true;
	return 0;
}

int
transcript_checkpoint_verify(const struct transcript_checkpoint *c,
    const uint8_t pub[2][KEYS_PUB_LEN], bool want_both, int *bad)
{
	uint8_t buf[TRANSCRIPT_CHECKPOINT_MAX];
	size_t len;
	int r;

	if (bad != NULL)
		*bad = -1;
	if ((r = check(c)) != 0)
		return r;
	if ((r = write_cp(c, false, buf, sizeof buf, &len)) != 0)
		return r;
	for (int i = 0; i < 2; i++) {
		if (!c->is_signed[i]) {
			if (want_both) {
				if (bad != NULL)
					*bad = i;
				return ERR_UNSIGNED;
			}
			continue;
		}
		if (keys_verify(pub[i], TRANSCRIPT_CTX_CHECKPOINT, buf, len,
		    c->sig[i]) != 0) {
			if (bad != NULL)
				*bad = i;
			return ERR_SIGNATURE;
		}
	}
	return 0;
}

int
transcript_checkpoint_encode(const struct transcript_checkpoint *c,
    uint8_t *out, size_t cap, size_t *len)
{
	int r = check(c);

	if (r != 0 && r != ERR_CHAIN)
		return r;
	return write_cp(c, true, out, cap, len);
}

static int
get_sig(const cbor_item_t *map, uint64_t key, bool *is, uint8_t *sig)
{
	cbor_item_t *it = wire_map_get(map, key);

	if (it == NULL)
		return ERR_PARSE;
	if (cbor_is_null(it)) {
		*is = false;
		memset(sig, 0, KEYS_SIG_LEN);
		return 0;
	}
	*is = true;
	return wire_get_bytes_exact(it, sig, KEYS_SIG_LEN);
}

static int
get_small(const cbor_item_t *map, uint64_t key, uint64_t max, uint64_t *v)
{
	int r = wire_get_uint(wire_map_get(map, key), v);

	if (r == 0 && *v > max)
		r = ERR_INVALID;
	return r;
}

int
transcript_checkpoint_decode(struct transcript_checkpoint *c,
    const uint8_t *p, size_t n)
{
	cbor_item_t *item = NULL;
	uint8_t again[TRANSCRIPT_CHECKPOINT_MAX];
	uint64_t version, prop;
	size_t len;
	int r;

	memset(c, 0, sizeof *c);
	if (n > TRANSCRIPT_CHECKPOINT_MAX)
		return ERR_TOO_BIG;
	if ((r = wire_load(p, n, &item)) != 0)
		return r;
	if (!cbor_isa_map(item) || cbor_map_size(item) != 11) {
		r = ERR_PARSE;
		goto out;
	}
	if ((r = wire_get_uint(wire_map_get(item, C_VERSION), &version)) != 0)
		goto out;
	if (version != TRANSCRIPT_VERSION) {
		r = ERR_VERSION;
		goto out;
	}
	if ((r = wire_get_bytes_exact(wire_map_get(item, C_CHANNEL),
	    c->channel, sizeof c->channel)) != 0 ||
	    (r = get_small(item, C_SEQ0, ENVELOPE_SEQ_MAX, &c->seq[0])) != 0 ||
	    (r = wire_get_bytes_exact(wire_map_get(item, C_ID0), c->id[0],
	    sizeof c->id[0])) != 0 ||
	    (r = get_small(item, C_SEQ1, ENVELOPE_SEQ_MAX, &c->seq[1])) != 0 ||
	    (r = wire_get_bytes_exact(wire_map_get(item, C_ID1), c->id[1],
	    sizeof c->id[1])) != 0 ||
	    (r = wire_get_bytes_exact(wire_map_get(item, C_HEAD), c->head,
	    sizeof c->head)) != 0 ||
	    (r = get_small(item, C_TIME, ENVELOPE_TIME_MAX, &c->time_ms)) != 0 ||
	    (r = get_small(item, C_PROPOSER, 1, &prop)) != 0 ||
	    (r = get_sig(item, C_SIG0, &c->is_signed[0], c->sig[0])) != 0 ||
	    (r = get_sig(item, C_SIG1, &c->is_signed[1], c->sig[1])) != 0)
		goto out;
	c->proposer = (uint8_t)prop;
	/* no chain is empty with an id (found by record_fuzz: such a
	 * checkpoint decoded, and could not be encoded back) */
	if ((r = check_fields(c)) != 0)
		goto out;
	if ((r = write_cp(c, true, again, sizeof again, &len)) != 0)
		goto out;
	if (!wire_same(p, n, again, len))
		r = ERR_NONCANONICAL;
out:
	cbor_decref(&item);
	return r;
}

uint64_t
transcript_diverge(const uint8_t (*ours)[ENVELOPE_ID_LEN], size_t nours,
    const uint8_t (*theirs)[ENVELOPE_ID_LEN], size_t ntheirs, bool want_len)
{
	size_t n = nours < ntheirs ? nours : ntheirs;

	for (size_t i = 0; i < n; i++)
		if (memcmp(ours[i], theirs[i], ENVELOPE_ID_LEN) != 0)
			return (uint64_t)i + 1;
	if (want_len && nours != ntheirs)
		return (uint64_t)n + 1;
	return 0;
}
