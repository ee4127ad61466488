/*
 * transcript.h: the transcript head of a channel, and checkpoints
 * (docs/transcript.md has the formula and the CDDL; bump
 * TRANSCRIPT_VERSION with it).
 *
 * Both parties compute the same head from the two chains:
 *   head = hash_ctx(32, "parley transcript v1",
 *       channel || seq_0 (8 bytes BE) || id_0 || seq_1 || id_1)
 * where party 0 is the agreement's drafter and id_i the header id at seq_i
 * of party i's chain (zeros at seq 0). Each header links to the one before,
 * so the head commits to both chains up to those seqs.
 *
 * A checkpoint is {channel, seq/id of each chain, head, time, proposer},
 * signed by each party under "parley checkpoint v1"; co-signed when both
 * signatures are present.
 *
 * Pure: no I/O, no allocation beyond libcbor's item tree while decoding.
 */
#ifndef PARLEY_MSG_TRANSCRIPT_H
#define PARLEY_MSG_TRANSCRIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "crypto/keys.h"
#include "msg/envelope.h"

#define TRANSCRIPT_VERSION 1
#define TRANSCRIPT_CTX_HEAD "parley transcript v1"
#define TRANSCRIPT_CTX_CHECKPOINT "parley checkpoint v1"
#define TRANSCRIPT_CHECKPOINT_MAX 400	/* encoded, today at most 354 */

struct transcript_checkpoint {
	uint8_t channel[ENVELOPE_ID_LEN];
	uint64_t seq[2];			/* of each party's chain */
	uint8_t id[2][ENVELOPE_ID_LEN];		/* header id there; zeros at 0 */
	uint8_t head[ENVELOPE_ID_LEN];		/* transcript_head of the above */
	uint64_t time_ms;
	uint8_t proposer;			/* party index */
	bool is_signed[2];
	uint8_t sig[2][KEYS_SIG_LEN];
};

/* head = the formula above. */
void transcript_head(const uint8_t channel[ENVELOPE_ID_LEN],
    const uint64_t seq[2], const uint8_t id[2][ENVELOPE_ID_LEN],
    uint8_t head[ENVELOPE_ID_LEN]);

/* Fills c's head from its channel, seqs and ids. */
void transcript_checkpoint_fill(struct transcript_checkpoint *c);

/* Adds party's signature (k must be that party's key; the caller knows).
 * ERR_INVALID for a field out of range or a head that is not the one its
 * fields give; keys_sign's errors. */
int transcript_checkpoint_sign(struct transcript_checkpoint *c,
    uint8_t party, const struct keys *k) WUR;

/* Checks the head against the fields (ERR_CHAIN), then every signature
 * present against pub[party] (ERR_SIGNATURE; *bad, may be NULL, names the
 * party at fault, -1 otherwise). ERR_UNSIGNED if want_both and one is
 * missing. */
int transcript_checkpoint_verify(const struct transcript_checkpoint *c,
    const uint8_t pub[2][KEYS_PUB_LEN], bool want_both, int *bad) WUR;

/* Deterministic CBOR with the signatures present. */
int transcript_checkpoint_encode(const struct transcript_checkpoint *c,
    uint8_t *out, size_t cap, size_t *len) WUR;
/* ERR_TOO_BIG, ERR_PARSE, ERR_NONCANONICAL, ERR_VERSION, ERR_INVALID.
 * Signatures and head are not checked (transcript_checkpoint_verify). */
int transcript_checkpoint_decode(struct transcript_checkpoint *c,
    const uint8_t *p, size_t n) WUR;

/*
 * Divergence: ours[k] and theirs[k] are the header ids at seq k + 1 of one
 * chain as each side holds it (nours, ntheirs entries). Returns the first
 * seq where they differ; with want_len, a seq one side holds and the other
 * lacks (min(nours, ntheirs) + 1) counts as a difference. 0 when they
 * agree.
 */
uint64_t transcript_diverge(const uint8_t (*ours)[ENVELOPE_ID_LEN],
    size_t nours, const uint8_t (*theirs)[ENVELOPE_ID_LEN], size_t ntheirs,
    bool want_len);

#endif
