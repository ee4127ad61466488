/*
 * export.h: a channel's record in memory, its verifier, and the export
 * file that carries it (docs/export.md: CDDL, what a file proves; bump
 * EXPORT_VERSION with it).
 *
 * One record holds, for a channel, both chains of headers (with the
 * bodies that are disclosed), the signed heads, the receipts, the
 * checkpoints, and the parties' public keys. export_verify checks all of
 * it the same way whether it came from a node's store (`parley verify`)
 * or from a file (`parley verify --file`), and names the first fault.
 *
 * A selective export keeps every header (so both chains and the
 * transcript head can still be checked) and only the named bodies: a body
 * that is not disclosed appears only as its hash inside its header.
 *
 * Pure: no I/O; the caller reads and writes files.
 */
#ifndef PARLEY_MSG_EXPORT_H
#define PARLEY_MSG_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "crypto/keys.h"
#include "msg/chain.h"
#include "msg/envelope.h"
#include "msg/transcript.h"

#define EXPORT_VERSION 2		/* written; 1 is still read */
#define EXPORT_VERSION_MIN 1
#define EXPORT_FILE_MAX (256u << 20)	/* 256 MiB */
#define EXPORT_MSG_MAX (1u << 20)	/* headers per chain */
#define EXPORT_FAULT_MAX 512
/* A header holds four ids (channel, prev, peer_last, body_hash): a file's
 * shorter one is refused as it is read, so that a file's entries cost
 * memory only in proportion to their bytes. */
#define EXPORT_HEADER_MIN (4 * ENVELOPE_ID_LEN)

struct export_party {
	char name[KEYS_NAME_MAX + 1];
	uint8_t sign_pub[KEYS_PUB_LEN];
};

struct export_msg {
	uint8_t *hdr;			/* owned */
	size_t hlen;
	uint8_t *body;			/* owned; NULL when not disclosed */
	size_t blen;
	bool salted;			/* salt is the disclosed body's */
	uint8_t salt[ENVELOPE_SALT_LEN];	/* (header version 2) */
};

struct export_chain {
	struct export_msg *msg;		/* msg[k] is seq k + 1 */
	size_t nmsg, capmsg;
	struct chain_head *heads;	/* signed by this party */
	size_t nheads, capheads;
	struct chain_receipt *receipts;	/* signed by this party */
	size_t nreceipts, capreceipts;
};

struct export_record {
	uint8_t channel[ENVELOPE_ID_LEN];
	struct export_party party[2];	/* [0] the agreement's drafter */
	struct export_chain chain[2];	/* chain[i]: party i's messages */
	struct transcript_checkpoint *cps;
	size_t ncps, capcps;
	uint8_t exporter;		/* party index of the exporting node */
	uint32_t version;		/* of the file read; 0: EXPORT_VERSION */
	uint64_t time_ms;		/* when exported */
	/* export_decode's refusal, when it can name the place (a header
	 * too short to be one: whose chain, which seq), else "" */
	char decode_fault[EXPORT_FAULT_MAX];
};

/* What export_verify found. */
struct export_report {
	bool ok;
	char fault[EXPORT_FAULT_MAX];	/* the first fault, "" when ok */
	uint64_t seq[2];		/* highest seq of each chain */
	uint8_t id[2][ENVELOPE_ID_LEN];
	uint8_t head[ENVELOPE_ID_LEN];	/* transcript head over the above */
	size_t disclosed[2];		/* bodies present, per chain */
	size_t unsigned_tail[2];	/* headers past the last head */
	/* hidden bodies under version 1 headers: their body hash is
	 * unsalted, so a guess of the body can be confirmed against it */
	size_t guessable[2];
	size_t nheads, nreceipts, ncps;
};

void export_record_init(struct export_record *rec);
void export_record_fini(struct export_record *rec);

/* Appends to party sender's chain copies of hdr and (if body is not
 * NULL) body and its salt (NULL: none; ignored without a body). The
 * chain's next seq must be the header's: the caller adds in seq order
 * (the verifier checks the header says so). ERR_NOMEM, ERR_TOO_BIG. */
int export_add_msg(struct export_record *rec, uint8_t sender,
    const uint8_t *hdr, size_t hlen, const uint8_t salt[ENVELOPE_SALT_LEN],
    const uint8_t *body, size_t blen) WUR;
int export_add_head(struct export_record *rec, const struct chain_head *h)
    WUR;
int export_add_receipt(struct export_record *rec,
    const struct chain_receipt *r) WUR;
int export_add_checkpoint(struct export_record *rec,
    const struct transcript_checkpoint *c) WUR;

/* Drops the body and its salt of every message whose header id is not in
 * keep[0..n): the file then holds nothing to test a guess against. */
void export_keep_only(struct export_record *rec,
    const uint8_t (*keep)[ENVELOPE_ID_LEN], size_t n);

/* Checks everything (see docs/export.md, "What verify checks") and fills
 * rep. Returns 0 when intact, ERR_* of the first fault otherwise (rep->fault
 * names the message, the field, what was expected and what was found). */
int export_verify(const struct export_record *rec, struct export_report *rep)
    WUR;

/* The file: *out is malloc'd (caller frees), deterministic CBOR. */
int export_encode(const struct export_record *rec, uint8_t **out,
    size_t *len) WUR;
/* ERR_TOO_BIG, ERR_PARSE, ERR_NONCANONICAL, ERR_VERSION, ERR_NOMEM.
 * rec must be freshly initialised; on error it holds what was read (fini
 * it), and rec->decode_fault names the place when it can. Signatures are
 * not checked here (export_verify does). */
int export_decode(struct export_record *rec, const uint8_t *p, size_t n)
    WUR;

/* The header id of a message. */
void export_msg_id(const struct export_msg *m, uint8_t id[ENVELOPE_ID_LEN]);

#endif
