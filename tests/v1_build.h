/*
 * v1_build.h: the header builder of the builds before salted bodies
 * (envelope version 1, body_hash = H("parley body v1", body), no salt):
 * for tests that make stores, rows or records as those builds did. Same
 * signature as chain_store_build (store_header_fn); *salted is false.
 */
#ifndef PARLEY_TESTS_V1_BUILD_H
#define PARLEY_TESTS_V1_BUILD_H

#include <stdbool.h>
#include <string.h>

#include "msg/envelope.h"
#include "store/store.h"

static inline int
v1_store_build(void *arg, const struct store_draft *d, uint8_t *hdr,
    size_t cap, size_t *len, uint8_t id[STORE_ID_LEN],
    uint8_t salt[STORE_SALT_LEN], bool *salted)
{
	struct envelope_header h;
	int r;

	(void)arg;
	memset(&h, 0, sizeof h);
	h.version = 1;
	memcpy(h.channel, d->channel, sizeof h.channel);
	h.sender = d->sender;
	h.seq = d->seq;
	memcpy(h.prev, d->prev, sizeof h.prev);
	memcpy(h.peer_last, d->peer_last, sizeof h.peer_last);
	h.time_ms = d->time_ms;
	h.precedence = d->precedence;
	h.marking = d->marking;
	h.kind = d->kind;
	h.body_len = (uint32_t)d->body_len;
	envelope_body_hash(d->body, d->body_len, h.body_hash);
	if ((r = envelope_header_encode(&h, hdr, cap, len)) != 0)
		return r;
	envelope_header_id(hdr, *len, id);
	memset(salt, 0, STORE_SALT_LEN);
	*salted = false;
	return 0;
}

#endif
