/*
 * audit.h: the audit log (docs/operators.md): every action an operator
 * takes through the control socket (send, approve, ack, show, alert
 * clear, ...) with who took it, as hash-chained entries in the store
 * (store/people.h, table audit). An entry is deterministic CBOR:
 *
 *   audit-entry = { 0: uint n (1, 2, ...), 1: uint time_ms, 2: uint uid,
 *                   3: tstr operator, 4: tstr action, 5: tstr detail }
 *
 * and hash(n) = hash_ctx(32, "parley audit v1", hash(n-1) || entry), with
 * 32 zero bytes before the first. audit_verify is pure: it recomputes the
 * chain over rows the caller read (for `parley verify` and tests).
 */
#ifndef PARLEY_MSG_AUDIT_H
#define PARLEY_MSG_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

#define AUDIT_CTX "parley audit v1"
#define AUDIT_HASH_LEN 32
#define AUDIT_NAME_MAX 128
#define AUDIT_ACTION_MAX 32
#define AUDIT_DETAIL_MAX 1024
#define AUDIT_ENTRY_MAX (AUDIT_NAME_MAX + AUDIT_ACTION_MAX + \
	AUDIT_DETAIL_MAX + 64)

struct audit_entry {
	uint64_t n;
	uint64_t time_ms;
	uint32_t uid;
	char operator[AUDIT_NAME_MAX + 1];
	char action[AUDIT_ACTION_MAX + 1];
	char detail[AUDIT_DETAIL_MAX + 1];
};

/* One stored row, as audit_verify takes it (borrowed bytes). */
struct audit_row {
	uint64_t n;
	const uint8_t *entry;
	size_t len;
	uint8_t hash[AUDIT_HASH_LEN];
};

int audit_encode(const struct audit_entry *e, uint8_t *out, size_t cap,
    size_t *len) WUR;
/* ERR_TOO_BIG, ERR_PARSE, ERR_NONCANONICAL. */
int audit_decode(struct audit_entry *e, const uint8_t *p, size_t n) WUR;
/* hash = hash_ctx(32, AUDIT_CTX, prev || entry). */
void audit_hash(const uint8_t prev[AUDIT_HASH_LEN], const uint8_t *entry,
    size_t len, uint8_t out[AUDIT_HASH_LEN]);

/* Checks rows[0..n): numbers 1, 2, ... in order, each entry decodes
 * canonically with its row's number, each hash chains from the one before.
 * 0, or ERR_GAP (a number out of order), ERR_PARSE/ERR_NONCANONICAL (an
 * entry), ERR_CHAIN (a hash); *bad is the index of the first bad row. */
int audit_verify(const struct audit_row *rows, size_t n, size_t *bad) WUR;

/* Appends an entry (the next number, the store's last hash) for operator
 * uid/name doing action with detail at now_ms. Long strings are cut. */
int audit_append(struct store *s, uint32_t uid, const char *name,
    const char *action, const char *detail, uint64_t now_ms) WUR;

/* Reads the whole log from the store and runs audit_verify; *count is the
 * number of entries. */
int audit_verify_store(struct store *s, size_t *count, size_t *bad) WUR;

#endif
