/*
 * export_build.h: an export record built by hand for the tests that read
 * one (test_export.c, it_show.c): its parties, a message (a text) of
 * party i after its chain's last, and party i's signed head at seq. The including file
 * includes harness.h first.
 */
#ifndef PARLEY_TESTS_EXPORT_BUILD_H
#define PARLEY_TESTS_EXPORT_BUILD_H

#include <stdio.h>
#include <string.h>

#include "msg/chain.h"
#include "msg/export.h"
#include "store/store.h"

/* Starts rec: channel, parties north and south signing with kp[0] and
 * kp[1], a fixed time. */
static inline void
export_build_start(struct export_record *rec, const uint8_t channel[32],
    const struct keys kp[2])
{
	export_record_init(rec);
	memcpy(rec->channel, channel, 32);
	snprintf(rec->party[0].name, sizeof rec->party[0].name, "north");
	snprintf(rec->party[1].name, sizeof rec->party[1].name, "south");
	for (int i = 0; i < 2; i++)
		memcpy(rec->party[i].sign_pub, kp[i].id.sign_pub, 32);
	rec->time_ms = 1700000010000ull;
}

/* Appends to party i's chain of rec a RELEASABLE message of kind with
 * body b[0..n), after the other chain's peer_last (NULL: none), its
 * header made by build (chain_store_build: version 2, salted). */
static inline void
export_build_with(struct export_record *rec, const uint8_t channel[32],
    uint8_t i, const uint8_t *peer_last, uint32_t kind, const uint8_t *b,
    size_t n, store_header_fn build)
{
	struct export_chain *c = &rec->chain[i];
	struct store_draft d;
	uint8_t hdr[ENVELOPE_HEADER_MAX], id[32], salt[ENVELOPE_SALT_LEN];
	size_t hlen;
	bool salted;

	memset(&d, 0, sizeof d);
	d.channel = channel;
	d.sender = i;
	d.seq = c->nmsg + 1;
	if (c->nmsg > 0)
		export_msg_id(&c->msg[c->nmsg - 1], d.prev);
	if (peer_last != NULL)
		memcpy(d.peer_last, peer_last, 32);
	d.time_ms = 1700000000000ull + d.seq;
	d.precedence = ENVELOPE_ROUTINE;
	d.marking = ENVELOPE_RELEASABLE;
	d.kind = kind;
	d.body = b;
	d.body_len = n;
	CHECK_INT(build(NULL, &d, hdr, sizeof hdr, &hlen, id, salt, &salted),
	    0);
	CHECK_INT(export_add_msg(rec, i, hdr, hlen, salted ? salt : NULL, b,
	    n), 0);
}

/* export_build_with of the senders' builder. */
static inline void
export_build_kind(struct export_record *rec, const uint8_t channel[32],
    uint8_t i, const uint8_t *peer_last, uint32_t kind, const uint8_t *b,
    size_t n)
{
	export_build_with(rec, channel, i, peer_last, kind, b, n,
	    chain_store_build);
}

/* export_build_kind of a text. */
static inline void
export_build_msg(struct export_record *rec, const uint8_t channel[32],
    uint8_t i, const uint8_t *peer_last, const uint8_t *b, size_t n)
{
	export_build_kind(rec, channel, i, peer_last, ENVELOPE_TEXT, b, n);
}

/* Adds party i's head over its chain's message at seq, signed by k. */
static inline void
export_build_head(struct export_record *rec, const uint8_t channel[32],
    const struct keys *k, uint8_t i, uint64_t seq)
{
	struct chain_head h;

	memset(&h, 0, sizeof h);
	memcpy(h.channel, channel, 32);
	h.sender = i;
	h.seq = seq;
	if (seq > 0)
		export_msg_id(&rec->chain[i].msg[seq - 1], h.id);
	CHECK_INT(chain_head_sign(&h, k), 0);
	CHECK_INT(export_add_head(rec, &h), 0);
}

#endif
