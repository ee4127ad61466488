/*
 * store.h: the node's record: messages both ways, signed chain heads and
 * receipts, in one SQLite file (HOME/parley.db). The only module that
 * includes sqlite3.h. Schema, version, migrations and invariants:
 * docs/store.md.
 *
 * The store knows nothing of the envelope's encoding (msg/ stands above
 * store/): it keeps header bytes, ids and the few fields it sorts and
 * checks by, and asks a caller-supplied function to build a header when it
 * fixes an outgoing message's place in the chain (store_assign_next).
 *
 * Durability: WAL, synchronous=FULL; every function that writes does so in
 * one transaction (one commit, one WAL fsync), and either all of it is
 * stored or none (a full disk gives ERR_FULL and changes nothing). Nothing
 * is ever deleted; rows are never rewritten except their state columns
 * (enforced by triggers).
 */
#ifndef PARLEY_STORE_STORE_H
#define PARLEY_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define STORE_FILE "parley.db"		/* in the node home */
#define STORE_SCHEMA_VERSION 10	/* PRAGMA user_version; docs/store.md */
#define STORE_APPLICATION_ID 0x70726c79	/* "prly", PRAGMA application_id */
#define STORE_ID_LEN 32
#define STORE_SALT_LEN 32		/* a body's salt (header version 2) */
#define STORE_SIG_LEN 64
#define STORE_HEADER_MAX 512		/* encoded header bytes */
#define STORE_BODY_MAX (1u << 20)	/* body bytes */
#define STORE_BATCH_MAX 1024		/* messages per write transaction */
#define STORE_BUSY_MS 5000		/* wait for another writer this long */

enum store_state {
	STORE_QUEUED = 0,	/* outgoing, committed, no place in the chain */
	STORE_SENT = 1,		/* outgoing, seq and header fixed; resend until
				 * a receipt covers it */
	STORE_RECEIPTED = 2,	/* outgoing, covered by the peer's receipt */
	STORE_RECEIVED = 3,	/* incoming, stored under a verified head */
};

enum store_dir {
	STORE_OUT = 1,
	STORE_IN = 2,
	STORE_BOTH = 3,		/* a filter for store_list */
};

struct store;

/* One message as stored. body is malloc'd and owned by the struct
 * (store_msg_fini frees it). */
struct store_msg {
	int64_t qid;			/* local row id, stable for ever */
	uint8_t channel[STORE_ID_LEN];
	uint8_t sender;			/* party index 0 or 1 */
	enum store_dir dir;		/* STORE_OUT or STORE_IN */
	uint64_t seq;			/* 0 while queued */
	uint8_t id[STORE_ID_LEN];	/* header id; zeros while queued */
	uint8_t precedence, marking;
	uint32_t kind;
	enum store_state state;
	uint64_t time_ms;		/* header time (outgoing: queued) */
	uint64_t stored_ms;		/* committed here */
	uint64_t assigned_ms;		/* outgoing: seq fixed; else 0 */
	uint64_t receipted_ms;		/* outgoing: receipt stored; else 0 */
	uint8_t header[STORE_HEADER_MAX];
	size_t header_len;		/* 0 while queued */
	uint8_t *body;
	size_t body_len;
	bool salted;			/* body_salt holds the body's salt */
	uint8_t body_salt[STORE_SALT_LEN]; /* else zeros (version 1, queued) */
};

/* What store_assign_next fixes for one queued message, handed to the
 * header builder. Borrowed pointers, valid during the call. */
struct store_draft {
	const uint8_t *channel;		/* STORE_ID_LEN */
	uint8_t sender;
	uint64_t seq;
	uint8_t prev[STORE_ID_LEN];	/* id at seq - 1, zeros at 1 */
	uint8_t peer_last[STORE_ID_LEN];/* id of the peer's highest, or zeros */
	uint64_t time_ms;
	uint8_t precedence, marking;
	uint32_t kind;
	const uint8_t *body;
	size_t body_len;
	void *tag;			/* the caller's, for build */
};

/* Builds the header for d into hdr (cap bytes): sets *len and id, and
 * *salted with the body's salt in salt (stored beside the body) or false
 * (an unsalted version 1 header). Any error aborts the assignment (rolled
 * back). chain.h has the real one. */
typedef int (*store_header_fn)(void *arg, const struct store_draft *d,
    uint8_t *hdr, size_t cap, size_t *len, uint8_t id[STORE_ID_LEN],
    uint8_t salt[STORE_SALT_LEN], bool *salted);

/* One received message for store_received_put; the caller has decoded and
 * verified it (chain.h). Borrowed pointers. */
struct store_in {
	const uint8_t *header;
	size_t header_len;
	const uint8_t *body;
	size_t body_len;
	const uint8_t *body_salt;	/* STORE_SALT_LEN, or NULL: none */
	uint8_t id[STORE_ID_LEN];
	uint64_t seq;
	uint8_t prev[STORE_ID_LEN];
	uint8_t precedence, marking;
	uint32_t kind;
	uint64_t time_ms;
};

/* A signed chain head: sig by the sender over (channel, sender, seq, id). */
struct store_head {
	uint8_t channel[STORE_ID_LEN];
	uint8_t sender;
	uint64_t seq;
	uint8_t id[STORE_ID_LEN];
	uint8_t sig[STORE_SIG_LEN];
};

/* A signed receipt: receiver holds the sender's chain (the other party)
 * up to seq without a gap, and id is the header id there. */
struct store_receipt {
	uint8_t channel[STORE_ID_LEN];
	uint8_t receiver;
	uint64_t seq;
	uint8_t id[STORE_ID_LEN];
	uint64_t time_ms;
	uint8_t sig[STORE_SIG_LEN];
};

/* Called once per row by the listing functions; m is the callee's to read
 * (and may steal m->body by setting it NULL). A non-zero return stops the
 * listing and is returned. */
typedef int (*store_msg_fn)(void *arg, struct store_msg *m);

/* Opens (creating if missing) the store at path (":memory:" for tests),
 * sets WAL, synchronous=FULL, foreign keys, the busy timeout, and migrates
 * to STORE_SCHEMA_VERSION. ERR_VERSION if the file is newer than this
 * build or not parley's, ERR_IO/ERR_PARSE if it cannot be opened or read. */
int store_open(struct store **sp, const char *path) WUR;
/* store_open on HOME/parley.db. */
int store_open_home(struct store **sp, const char *home) WUR;
/* Why this thread's last store_open (or store_open_home) failed, in
 * words (SQLite's message, which check refused the file, or err_str of
 * the code); "" after one that worked. */
const char *store_open_error(void);
/* Closes; NULL does nothing. */
void store_close(struct store *s);

/* The last SQLite message, for the caller's log; never NULL. */
const char *store_errmsg(const struct store *s);
/* Write transactions committed since open (each is one WAL fsync). */
uint64_t store_commits(const struct store *s);
/* Work to overlap with the disk: the next WAL sync in this process (a
 * commit's, normally the very next commit) runs fn(arg) once, on this
 * thread, after the disk has started on what was written and before
 * waiting for it (src/store/vfs.c NOTES 6). That is normally after the
 * commit's frames; at a WAL restart it is the sync of the new header,
 * before the frames are written. fn must only prepare what is published
 * after the commit returns: the commit is not durable yet and may still
 * fail. fn must not use the store. It may not run at all (a store in
 * memory, a commit that wrote nothing, SQLite's own VFS as fallback, a
 * WAL without its read-only descriptor, sync_file_range failing;
 * docs/store.md "Work during the sync"): the caller checks, and forgets
 * the work after the commit, whatever happened, with
 * store_during_sync(NULL, NULL). */
void store_during_sync(void (*fn)(void *), void *arg);
/* The schema version of the open file. */
int store_schema_version(struct store *s, int *version) WUR;

/* Tests only (parleyd's store-fail request, with debug_inject): the next
 * n write-outs of a commit's WAL bytes in this process fail as a disk
 * error would (src/store/vfs.h). */
void store_fail_writes(unsigned n);
/* Tests only (unit tests; no control request): the next n syncs of a
 * commit's WAL in this process fail as an fdatasync error would, after
 * the work given to store_during_sync ran (src/store/vfs.h). */
void store_fail_syncs(unsigned n);
/* Tests only (unit tests): the k-th read of a chain's end from now
 * (store_highest, and the assignments' own reads) fails with ERR_IO, as
 * a read error would, its outputs left as they were; 0: none. */
void store_fail_top_at(unsigned k);
/* Tests only (parleyd's debug_powercut; docs/store.md, "Power-cut
 * mode"): the stores this process opens from now on hold every write to
 * the database file and its WAL in memory until that file's sync, so a
 * kill -9 loses what a power cut would. Not to be undone. With
 * kill_at_wal_sync k > 0 (parleyd's debug_powercut_kill_at) the process
 * sends itself SIGKILL just before its k-th sync of a WAL file from now
 * on (before that sync's work and writes: a power cut at the sync),
 * logged first. ERR_IO when the store's VFS cannot be registered (the
 * mode would not apply). */
int store_powercut(uint64_t kill_at_wal_sync) WUR;
/* Tests only (unit tests; no control request): the next n calls of
 * store_ids_range (record.h) in this process fail with ERR_IO, as a
 * disk read error would, reading nothing. */
void store_fail_reads(unsigned n);
/* Caps the file at pages pages (PRAGMA max_page_count; SQLite will not go
 * below the current size): *effective is the cap now in force. Used to
 * simulate a full disk. */
int store_set_max_pages(struct store *s, uint64_t pages, uint64_t *effective)
    WUR;
/* Pages in the file now. */
int store_page_count(struct store *s, uint64_t *pages) WUR;

/*
 * WAL checkpoints, the daemon's policy (docs/store.md, "WAL
 * checkpoints"). By default SQLite copies the WAL into the database inside
 * the commit that brings it to 1000 pages, which adds the copy and an
 * fsync of the database to that one commit. store_wal_defer moves that automatic
 * checkpoint to STORE_WAL_HARD pages (a bound: the WAL cannot grow without
 * limit while the daemon is busy), and the caller runs store_wal_tick
 * periodically: a PASSIVE checkpoint (it waits for no reader) when the WAL
 * holds STORE_WAL_SOFT pages not yet copied, or any when no commit came
 * since the last tick. The WAL file is given STORE_WAL_PRESIZE pages at
 * once, so that commits overwrite its blocks instead of extending it.
 * Durability is unchanged (a commit is durable once its WAL fsync
 * returns, whenever the copy is made). Tools that open the store briefly
 * keep SQLite's default.
 */
#define STORE_WAL_SOFT 1000		/* pages: store_wal_tick copies */
#define STORE_WAL_HARD 8192		/* pages: a commit copies anyway */
#define STORE_WAL_PRESIZE (4 * STORE_WAL_SOFT)	/* pages: the WAL file's
					 * size from store_wal_defer on */
void store_wal_defer(struct store *s);
/* The daemon's page cache (SQLite's default is 2 MiB): the recently
 * written pages, which live in the WAL until a checkpoint, and the
 * indexes' hot pages stay in memory instead of being read back with a
 * pread each (13 reads per message at 64 in flight with the default, 3.5
 * with this). */
#define STORE_DAEMON_CACHE_MIB 32
int store_cache_set(struct store *s, unsigned mib) WUR;
/* Once per process, before SQLite is first used (before any store is
 * opened): the page caches of the process take their pages from a pool
 * sized for a cache of mib MiB (and a sixteenth more), mapped and touched
 * now (MAP_POPULATE). A page the cache takes for the first time then
 * costs no page fault: about one per two messages stored, each some
 * 20 us on this kind of machine, until the cache is full (docs/delivery.md,
 * "Fifth round"). With the pool nearly used up the caches recycle their
 * own pages (SQLite's memory pressure): caches of the process that add
 * up to more than mib MiB are held to about mib MiB. ERR_STATE when
 * SQLite is already in use or this was done before, ERR_NOMEM when the
 * memory is not there; nothing changes then. */
int store_cache_reserve(unsigned mib) WUR;
/* Runs a checkpoint if the policy above says so; *copied is the number of
 * WAL pages it copied (0: none ran, or nothing to copy). ERR_AGAIN when
 * another connection was checkpointing or this one is inside a
 * transaction (nothing lost: the next tick tries again); ERR_STATE
 * without store_wal_defer. */
int store_wal_tick(struct store *s, uint64_t *copied) WUR;

/*
 * Group commit: between store_txn_begin and store_txn_commit every write
 * function above and below runs inside one transaction (each still all or
 * nothing of itself, as a savepoint), and the commit makes them all
 * durable with one fsync; store_txn_rollback drops them all. Not nested
 * (ERR_STATE). After an error that SQLite answers by rolling the whole
 * transaction back (a full disk), writes give ERR_STATE and the commit
 * ERR_STATE: nothing of the group is stored.
 */
int store_txn_begin(struct store *s) WUR;
int store_txn_commit(struct store *s) WUR;
void store_txn_rollback(struct store *s);

/* Commits an outgoing message as queued (no seq yet); *qid names it.
 * ERR_INVALID for a field out of range, ERR_TOO_BIG for a large body,
 * ERR_FULL when the disk is full (nothing stored). */
int store_queue(struct store *s, const uint8_t channel[STORE_ID_LEN],
    uint8_t sender, uint8_t precedence, uint8_t marking, uint32_t kind,
    const uint8_t *body, size_t len, uint64_t now_ms, int64_t *qid) WUR;

/* In one transaction, takes up to max queued messages of (channel, sender),
 * highest precedence first (FLASH), oldest first within one, and gives each
 * the next seq, prev and peer_last, and the header build() makes; they
 * become STORE_SENT. *first..*last are the seqs assigned (one commit for
 * all of them). ERR_NOT_FOUND when nothing is queued; ERR_FULL (nothing
 * changed); build()'s error. */
int store_assign_batch(struct store *s, const uint8_t channel[STORE_ID_LEN],
    uint8_t sender, size_t max, uint64_t now_ms, store_header_fn build,
    void *arg, uint64_t *first, uint64_t *last) WUR;
/* Signs the head over (channel, sender, seq, id) into out (chain.h has
 * the real one); any error aborts the assignment. */
typedef int (*store_sign_fn)(void *arg, const uint8_t *channel,
    uint8_t sender, uint64_t seq, const uint8_t id[STORE_ID_LEN],
    struct store_head *out);
/* store_assign_batch that also stores sign()'s head over the last message
 * assigned, in the same transaction (one commit for the batch and its
 * head). max_bytes (0: none) also bounds the batch by its bodies: the
 * message whose body brings their sum to max_bytes or more is the last
 * (so at least one is taken), and the batch holds one precedence (the
 * head over a FLASH does not wait for the bodies queued behind it); *cut
 * (may be NULL) then says either stopped it, not max or the end of the
 * queue (the queue may hold more). *prec (may be NULL): the precedence of
 * the batch's first message, the lowest queued (so no FLASH is queued
 * when it is not ENVELOPE_FLASH's 0). */
int store_assign_signed(struct store *s, const uint8_t channel[STORE_ID_LEN],
    uint8_t sender, size_t max, size_t max_bytes, uint64_t now_ms,
    store_header_fn build, void *arg, store_sign_fn sign, void *sign_arg,
    uint64_t *first, uint64_t *last, bool *cut, uint8_t *prec) WUR;
/* store_assign_batch of one, returned in out (store_msg_fini it). */
int store_assign_next(struct store *s, const uint8_t channel[STORE_ID_LEN],
    uint8_t sender, uint64_t now_ms, store_header_fn build, void *arg,
    struct store_msg *out) WUR;

/* Queues and assigns one message at once (d: channel, sender, precedence,
 * marking, kind, body, time_ms; seq, prev and peer_last are read here):
 * one row, STORE_SENT, header from build(). Only when nothing of the chain
 * is queued: else ERR_STATE and nothing changed (use store_queue). A
 * refusal of build is returned and nothing changed. */
int store_queue_assigned(struct store *s, const struct store_draft *d,
    uint64_t now_ms, store_header_fn build, void *arg, int64_t *qid,
    uint64_t *seq, uint8_t id[STORE_ID_LEN]) WUR;

/* What store_queue_assigned_run did with one draft: r is 0 (qid, seq, id
 * set) or build's refusal (ERR_INVALID, ERR_KIND, ERR_TOO_BIG: nothing
 * written for it). */
struct store_assigned {
	int r;
	int64_t qid;
	uint64_t seq;
	uint8_t id[STORE_ID_LEN];
};

/* store_queue_assigned for n drafts of one chain (same channel and
 * sender), in order, in one write: the chain's place is read once. A
 * refused draft is skipped (out[i].r) and the next takes its place; any
 * other error (ERR_STATE when something is queued) changes nothing. build
 * is called once per draft, in order (d->tag is the draft's own). */
int store_queue_assigned_run(struct store *s, const struct store_draft *in,
    size_t n, uint64_t now_ms, store_header_fn build, void *arg,
    struct store_assigned *out) WUR;

/* Stores a verified run of the peer's messages (n <= STORE_BATCH_MAX) and
 * the head that covers it (may be NULL) in one transaction. A message the
 * store already holds with the same id is skipped (*added counts the new
 * ones); the same seq with another id is ERR_CHAIN, a seq past the next
 * is ERR_GAP, a prev that is not the id before is ERR_CHAIN; any error
 * stores nothing. */
int store_received_put(struct store *s, const uint8_t channel[STORE_ID_LEN],
    uint8_t sender, const struct store_in *in, size_t n,
    const struct store_head *head, uint64_t now_ms, size_t *added) WUR;

/* Stores a head (ours, after signing a run; or the peer's). The header it
 * names must be stored (ERR_NOT_FOUND) at that seq (ERR_CHAIN). Storing the
 * same head again does nothing. */
int store_head_put(struct store *s, const struct store_head *h,
    uint64_t now_ms) WUR;
/* The first stored head of (channel, sender) at or after seq. */
int store_head_covering(struct store *s, const uint8_t channel[STORE_ID_LEN],
    uint8_t sender, uint64_t seq, struct store_head *out) WUR;

/* Stores a verified receipt (ours or the peer's). The message it names,
 * (channel, the other party, seq), must be stored with that id (ERR_CHAIN,
 * ERR_NOT_FOUND; seq 0 names nothing). Outgoing messages up to seq read
 * as STORE_RECEIPTED from then on (their rows are not rewritten: the state
 * is read from the receipt table); *newly counts the seqs it covers past
 * the last stored receipt. */
int store_receipt_put(struct store *s, const struct store_receipt *r,
    uint64_t now_ms, size_t *newly) WUR;
/* The receipt with the highest seq from receiver on channel. */
int store_receipt_latest(struct store *s, const uint8_t channel[STORE_ID_LEN],
    uint8_t receiver, struct store_receipt *out) WUR;

/* The highest seq of (channel, sender) and its id: chains are stored
 * without gaps, so it is also the highest contiguous one. 0 and zeros when
 * there is none. */
int store_highest(struct store *s, const uint8_t channel[STORE_ID_LEN],
    uint8_t sender, uint64_t *seq, uint8_t id[STORE_ID_LEN]) WUR;

/* Calls fn for each message of (channel, sender) with seq > after, in seq
 * order, at most max (for resending). */
int store_after(struct store *s, const uint8_t channel[STORE_ID_LEN],
    uint8_t sender, uint64_t after, size_t max, store_msg_fn fn, void *arg)
    WUR;

/* Calls fn for the newest max messages of dir (STORE_IN for the inbox),
 * on channel (NULL: all), newest first. */
int store_list(struct store *s, const uint8_t *channel, enum store_dir dir,
    size_t max, store_msg_fn fn, void *arg) WUR;

/* Counts the queued messages of channel (NULL: all). */
int store_queued_count(struct store *s, const uint8_t *channel, size_t *n)
    WUR;

/* A message by its place in a chain (channel, sender, seq), or by local
 * row id. ERR_NOT_FOUND. out is zeroed first, so store_msg_fini(out) is
 * always safe. There is no lookup by header id: no index keeps ids (their
 * keys land at random: docs/store.md, "Migration 6 -> 7"); an operator's
 * id or prefix is found by a scan (ctl_find_message). */
int store_get_at(struct store *s, const uint8_t channel[STORE_ID_LEN],
    uint8_t sender, uint64_t seq, struct store_msg *out) WUR;
int store_get_local(struct store *s, int64_t qid, struct store_msg *out) WUR;

/* Frees m's body; m may be zeroed. */
void store_msg_fini(struct store_msg *m);

#endif
