/*
 * signed_check.h: what signed_fuzz.c and signed_check.c share: the
 * harness's sizes, its state (F) and virtual messages, and the checks of
 * its invariants (signed_fuzz.c's header numbers them): what we send (7)
 * and what the store holds (1-6), in signed_check.c. A broken invariant
 * abort()s.
 */
#ifndef PARLEY_FUZZ_SIGNED_CHECK_H
#define PARLEY_FUZZ_SIGNED_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "msg/checkpoint.h"
#include "msg/delivery.h"
#include "msg/envelope.h"
#include "msg/transcript.h"
#include "store/store.h"

#define VMAX 8			/* messages of each virtual chain */
#define ROWS_MAX 1024		/* rows of a chain the checks read */
#define SENT_MAX 64		/* our receipts re-checked at the end */
#define PEER_RUN 7		/* the peer's run: its RUN on each session */
#define STORE_INPUTS 1024	/* inputs (channels) per store */
#define T0 1700000000000u

#define CHECK(x) do { if (!(x)) abort(); } while (0)

struct vmsg {
	struct envelope_header h;
	uint8_t hdr[ENVELOPE_HEADER_MAX];
	size_t hlen;
	uint8_t id[ENVELOPE_ID_LEN];
	uint8_t body[ENVELOPE_HEADER_MAX];
	size_t blen;
	bool salted;			/* salt goes with the body */
	uint8_t salt[ENVELOPE_SALT_LEN];
};

struct rows {
	size_t n;
	uint8_t id[ROWS_MAX][ENVELOPE_ID_LEN];
};

extern const uint8_t zero[ENVELOPE_ID_LEN];

/* The harness's state: the input, the keys, the store and engines of the
 * input, the virtual chains and what the checks read and keep. */
struct signed_fuzz {
	const uint8_t *p;
	size_t n, off;
	struct keys key[2];		/* 0: ours, 1: the peer's */
	uint8_t chan[ENVELOPE_ID_LEN], other[ENVELOPE_ID_LEN];
	uint8_t self, peer;		/* party indexes */
	uint8_t pub[2][KEYS_PUB_LEN];	/* by party index */
	uint64_t now, inputs;
	struct store *s;
	struct delivery *d;
	struct checkpoint_engine e;
	struct vmsg v[2][VMAX];		/* by party index */
	struct vmsg last[2];		/* the last built, by party */
	bool have_last[2];
	uint8_t prop[CHECKPOINT_REC_MAX];	/* our last proposal */
	size_t plen;
	struct rows rows[2], before;
	size_t nsent;
	uint64_t sent_seq[SENT_MAX];
	uint8_t sent_id[SENT_MAX][ENVELOPE_ID_LEN];
};

extern struct signed_fuzz F;

/* --- what we send (signed_check.c) ----------------------------------- */

/* The stored id of party's message at seq (zeros at 0) into id; false
 * when the store holds none there. */
bool id_at(uint8_t party, uint64_t seq, uint8_t id[32]);
/* Invariant 7 on a record we send, by its type: RECEIPT, SYNC, RUN,
 * HEAD. */
void sent_receipt(const uint8_t *b, size_t n);
void sent_sync(const uint8_t *b, size_t n);
void sent_run(const uint8_t *b, size_t n);
void sent_head(const uint8_t *b, size_t n);

/* --- the store (signed_check.c) -------------------------------------- */

/* A checkpoint names, at each of its seqs, the id this store holds (as
 * the last check_store read it). */
void cp_names_ours(const struct transcript_checkpoint *cp);
/* Invariant 6, after every op. */
void check_quick(void);
/* Invariants 1-6; F.rows and F.before up to date. */
void check_store(void);

#endif
