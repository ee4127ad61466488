/*
 * store_chains.h: what test_store.c and test_store_queue.c share, beside
 * store_dir.h (the temporary directory, a store by name, a program's
 * start and end): our text queued, the peer's messages built as its store
 * would and received in runs, and a chain walked and checked link by link
 * (seqs, ids, prev). The code under test is store.h alone.
 */
#ifndef PARLEY_TESTS_STORE_CHAINS_H
#define PARLEY_TESTS_STORE_CHAINS_H

#include <sodium.h>
#include <poll.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../harness.h"
#include "base/file.h"
#include "msg/chain.h"
#include "msg/envelope.h"
#include "store/schema.h"
#include "store/store.h"
#include "store_dir.h"

static const uint8_t zero32[32];

static inline int64_t
queue_text(struct store *s, const uint8_t *c, uint8_t prec, const char *t)
{
	int64_t qid = -1;

	CHECK_INT(store_queue(s, c, 0, prec, ENVELOPE_PRIVATE, ENVELOPE_TEXT,
	    (const uint8_t *)t, strlen(t), now++, &qid), 0);
	return qid;
}

/* The peer's messages (sender 1), as its store would have built them. */
struct pmsg {
	struct envelope_header h;
	uint8_t hdr[ENVELOPE_HEADER_MAX];
	size_t hlen;
	uint8_t id[32];
	uint8_t salt[ENVELOPE_SALT_LEN];
	uint8_t *body;
	size_t blen;
};

static inline struct pmsg *
peer_run(size_t n, size_t body_len)
{
	struct pmsg *m = calloc(n, sizeof *m);
	struct store_draft d;

	if (m == NULL)
		abort();
	for (size_t i = 0; i < n; i++) {
		m[i].blen = body_len;
		if ((m[i].body = malloc(body_len)) == NULL)
			abort();
		memset(m[i].body, 'a' + (int)(i % 26), body_len);
		memset(&d, 0, sizeof d);
		d.channel = chan;
		d.sender = 1;
		d.seq = i + 1;
		memcpy(d.prev, i ? m[i - 1].id : zero32, 32);
		d.time_ms = now + i;
		d.precedence = ENVELOPE_IMMEDIATE;
		d.marking = ENVELOPE_RELEASABLE;
		d.kind = ENVELOPE_TEXT;
		d.body = m[i].body;
		d.body_len = body_len;
		bool salted;
		if (chain_store_build(NULL, &d, m[i].hdr, sizeof m[i].hdr,
		    &m[i].hlen, m[i].id, m[i].salt, &salted) != 0 ||
		    envelope_header_decode(&m[i].h, m[i].hdr, m[i].hlen) != 0)
			abort();
	}
	return m;
}

static inline void
peer_free(struct pmsg *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(m[i].body);
	free(m);
}

/* Stores m[from..to) (0-based) as one batch, with a head at the last
 * (signature bytes are the verifier's business, not the store's). */
static inline int
put_run(struct store *s, const struct pmsg *m, size_t from, size_t to,
    size_t *added)
{
	struct store_in in[64];
	struct store_head hd;

	if (to - from > 64)
		abort();
	for (size_t i = from; i < to; i++)
		chain_store_in(&in[i - from], &m[i].h, m[i].hdr, m[i].hlen,
		    m[i].salt, m[i].body, m[i].blen, m[i].id);
	memset(&hd, 0, sizeof hd);
	memcpy(hd.channel, chan, 32);
	hd.sender = 1;
	hd.seq = to;
	memcpy(hd.id, m[to - 1].id, 32);
	memset(hd.sig, 0x5e, sizeof hd.sig);
	return store_received_put(s, chan, 1, in, to - from, &hd, now,
	    added);
}

/* Checks that the stored chain (c, sender) is 1..n, each prev the id
 * before, each header decoding to the stored fields and body. */
struct walk {
	uint64_t next;
	uint8_t prev[32];
	int bad;
};

static inline int
walk_one(void *arg, struct store_msg *m)
{
	struct walk *w = arg;
	struct envelope_header h;
	uint8_t id[32];

	if (m->seq != w->next ||
	    envelope_open(m->header, m->header_len, m->salted ? m->body_salt :
	    NULL, m->body, m->body_len, &h, id) != 0 || memcmp(id, m->id, 32) != 0 ||
	    memcmp(h.prev, w->prev, 32) != 0 || h.seq != m->seq ||
	    h.precedence != m->precedence)
		w->bad++;
	memcpy(w->prev, m->id, 32);
	w->next++;
	return 0;
}

static inline uint64_t
check_chain(struct store *s, const uint8_t *c, uint8_t sender)
{
	struct walk w;

	memset(&w, 0, sizeof w);
	w.next = 1;
	CHECK_INT(store_after(s, c, sender, 0, 1000000, walk_one, &w), 0);
	CHECK_INT(w.bad, 0);
	return w.next - 1;
}

#endif
