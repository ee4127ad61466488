/*
 * record.h: the store read as a record, for `parley verify`, `export`,
 * `backup` and `restore` (docs/store.md, "Reading the record" and
 * "Backup and restore"). Part of the store module: record.c is the only
 * other file that sees struct store.
 *
 * A read-only open never creates, migrates or writes: it works on the
 * file of a running parleyd (WAL lets readers and the writer share it).
 */
#ifndef PARLEY_STORE_RECORD_H
#define PARLEY_STORE_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

#define STORE_BACKUP_STEP (-1)		/* all pages in one step */

/* Opens an existing store read-only and checks it is parley's, of schema
 * STORE_SCHEMA_VERSION: ERR_NOT_FOUND (no file), ERR_VERSION (not parley's
 * or another version; store_errmsg says which), ERR_IO, ERR_PARSE. */
int store_open_readonly(struct store **sp, const char *path) WUR;
/* store_open_readonly on HOME/parley.db. */
int store_open_home_readonly(struct store **sp, const char *home) WUR;
/* The same for store_backup, which copies pages and reads no record: an
 * older schema version is accepted too (a store not yet migrated by a
 * newer parleyd: the backup to take before it starts). */
int store_open_home_backup(struct store **sp, const char *home) WUR;

/* The schema version (user_version) of HOME/parley.db, read-only, for
 * telling the operator why a read-only open refused it: ERR_VERSION when
 * it is not parley's, ERR_NOT_FOUND, ERR_PARSE, ERR_IO. */
int store_home_version(const char *home, int64_t *version) WUR;

/* store_open_readonly of a backup file for restore's checks: an older
 * schema version (1 up) is accepted too. */
int store_open_backup_file(struct store **sp, const char *path) WUR;

/* Calls fn for each channel the store holds messages of (queued, sent or
 * received), with the party index whose chain is this store's own there
 * (dir 1: the sender; dir 2: the other party) and the count of messages
 * that say so, in channel then index order: what tells whose store it is
 * (`parley restore` checks it against the home's agreements). Reads only
 * what schema 1 had: any version store_open_backup_file accepts. A
 * channel listed with both indexes is a store no single node wrote. A
 * row whose dir is not 1 or 2, or sender not 0 or 1 (a file made
 * without parley's CHECKs), is ERR_PARSE, named in store_errmsg; fn is
 * only ever given self 0 or 1. */
typedef int (*store_party_fn)(void *arg,
    const uint8_t channel[STORE_ID_LEN], uint8_t self, uint64_t messages);
int store_own_parties_each(struct store *s, store_party_fn fn, void *arg)
    WUR;

/* For `parley restore`'s owner check, like store_own_parties_each: calls
 * fn per audit-anchor signature of the store (schema 8 on; none before),
 * in (channel, given) order, each channel's rows of a table together:
 * given false for a row of audit_anchor (the peer's signature over our
 * log's anchor: its signer is the store's node's peer), true for one of
 * audit_anchor_given (ours over the peer's: its signer is the store's
 * node). Values checked here, not trusted to the file's CHECKs: a row
 * with a blob of the wrong length or a time that is no integer >= 0 is
 * ERR_PARSE, named in store_errmsg. A non-zero return of fn stops and is
 * returned. */
typedef int (*store_anchor_sig_fn)(void *arg,
    const uint8_t channel[STORE_ID_LEN], bool given,
    const uint8_t anchor[STORE_ID_LEN], uint64_t time_ms,
    const uint8_t sig[STORE_SIG_LEN]);
int store_anchor_sigs_each(struct store *s, store_anchor_sig_fn fn,
    void *arg) WUR;

/* One read transaction over the reads until store_read_end: they all see
 * the store as of the first of them (WAL: parleyd goes on committing
 * meanwhile). A record is read in several queries (messages, heads,
 * receipts, checkpoints); each in its own transaction would see the
 * daemon's commits between them, e.g. a head or receipt naming a seq the
 * messages read before did not reach: a fault in a sound store.
 * ERR_STATE inside a transaction already. */
int store_read_begin(struct store *s) WUR;
void store_read_end(struct store *s);

/* The header ids at seqs from + 1 .. from + n of (channel, sender) into
 * ids[0..n), in one query; a seq the store does not hold gets zeros.
 * A row or file that cannot be read (a bad id, a corrupt page) is ERR_IO,
 * never ERR_PARSE (our store's fault, not the caller's input), with the
 * row named in store_errmsg. */
int store_ids_range(struct store *s, const uint8_t channel[STORE_ID_LEN],
    uint8_t sender, uint64_t from, size_t n, uint8_t (*ids)[STORE_ID_LEN])
    WUR;

/* The message of (channel, sender) whose header id is id: its seq and
 * kind. ERR_NOT_FOUND when that chain holds none (a queued message has
 * no id yet). For the receiver's check of what a peer's header names in
 * our chain (docs/delivery.md, "Receiver"). */
int store_id_find(struct store *s, const uint8_t channel[STORE_ID_LEN],
    uint8_t sender, const uint8_t id[STORE_ID_LEN], uint64_t *seq,
    uint32_t *kind) WUR;

/* Calls fn for each stored head of (channel, sender), in seq order. */
typedef int (*store_head_fn)(void *arg, const struct store_head *h);
int store_heads_each(struct store *s, const uint8_t channel[STORE_ID_LEN],
    uint8_t sender, store_head_fn fn, void *arg) WUR;

/* Calls fn for each stored receipt signed by receiver on channel, in seq
 * order. */
typedef int (*store_receipt_fn)(void *arg, const struct store_receipt *r);
int store_receipts_each(struct store *s, const uint8_t channel[STORE_ID_LEN],
    uint8_t receiver, store_receipt_fn fn, void *arg) WUR;

/* Calls fn for each channel id that messages with a place in a chain (a
 * seq) name, in id order, with their count: what `parley verify` must
 * find an agreement for. */
typedef int (*store_channel_fn)(void *arg,
    const uint8_t channel[STORE_ID_LEN], uint64_t messages);
int store_chain_channels_each(struct store *s, store_channel_fn fn,
    void *arg) WUR;

/* Co-signed checkpoints (schema 4): cp[0..len) is the checkpoint's
 * encoding (msg/transcript.h) at seqs seq0/seq1 of channel. Stored once:
 * a second put at the same seqs is ignored (*added false). One statement:
 * inside a caller's transaction it is part of it. ERR_FULL, ERR_TOO_BIG. */
#define STORE_CHECKPOINT_MAX 512
int store_checkpoint_put(struct store *s, const uint8_t channel[STORE_ID_LEN],
    uint64_t seq0, uint64_t seq1, uint64_t time_ms, const uint8_t *cp,
    size_t len, uint64_t now_ms, bool *added) WUR;
/* The highest stored checkpoint of channel into cp (cap bytes): ERR_NOT_FOUND
 * when none. */
int store_checkpoint_latest(struct store *s,
    const uint8_t channel[STORE_ID_LEN], uint8_t *cp, size_t cap,
    size_t *len) WUR;
/* Calls fn for each stored checkpoint of channel, in seq order. */
typedef int (*store_checkpoint_fn)(void *arg, const uint8_t *cp,
    size_t len);
int store_checkpoints_each(struct store *s,
    const uint8_t channel[STORE_ID_LEN], store_checkpoint_fn fn, void *arg)
    WUR;
/* Calls fn, in seq order, for at most max stored checkpoints of channel
 * whose seq of party's chain is at least from: one query that reads no
 * other (checkpoint_set_resend answers each RECOVER of the peer with
 * them). */
int store_checkpoints_from(struct store *s,
    const uint8_t channel[STORE_ID_LEN], uint8_t party, uint64_t from,
    size_t max, store_checkpoint_fn fn, void *arg) WUR;

/* Copies the live store into a new file dest (mode 0600; ERR_EXISTS if it
 * exists) with SQLite's online backup in one step: one read transaction,
 * so the copy is a consistent snapshot, and in WAL mode the daemon keeps
 * writing meanwhile (a copy in several steps would restart after every
 * write of the daemon and might never finish under traffic). *pages is
 * the size copied. */
int store_backup(struct store *s, const char *dest, uint64_t *pages) WUR;

/* Restores a backup file into HOME/parley.db: checks it as
 * store_open_readonly does (but an older schema version is accepted:
 * parleyd migrates the restored store when it opens it), refuses an
 * existing store (ERR_EXISTS) unless force, and writes the copy beside it
 * before renaming it into place (an interrupted restore leaves the old
 * store or none, never half of one). A copy that fails PRAGMA quick_check
 * (a file damaged at rest) is ERR_PARSE, why naming the file and the first
 * problem, and the store in place is untouched.
 * The daemon must not be running (the caller checks). */
int store_restore(const char *file, const char *home, bool force,
    char *why, size_t whycap) WUR;

/* Recovery of a restored node's own chain (parley restore --peer-export):
 * appends our messages in[0..n) (sender's chain, in seq order, each
 * linking to the one before and the first to the store's highest) as
 * outgoing and receipted (the peer holds them), in one transaction.
 * ERR_GAP (a seq is not the next), ERR_CHAIN (a prev does not link),
 * ERR_FULL; nothing is stored on error. The caller has verified them.
 * Inside a caller's transaction (store_txn_begin) it is a savepoint of it
 * (the delivery engine's recovery stores the head with it: one commit). */
int store_own_recover(struct store *s, const uint8_t channel[STORE_ID_LEN],
    uint8_t sender, const struct store_in *in, size_t n, uint64_t now_ms)
    WUR;
/* A failed group commit's messages that had left before it failed,
 * committed again (docs/delivery.md, "Early send"): appends our messages
 * in[0..n) as store_own_recover does, but as STORE_SENT (the peer may not
 * hold them yet) and always as new rows; qids (may be NULL) gets each
 * row's qid. The same errors; a savepoint inside a caller's transaction
 * too. */
int store_own_sent(struct store *s, const uint8_t channel[STORE_ID_LEN],
    uint8_t sender, const struct store_in *in, size_t n, uint64_t now_ms,
    int64_t *qids) WUR;

#endif
