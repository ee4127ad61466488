/*
 * store_int.h: the store's private parts, shared by the files of the
 * store module (store.c, store_msg.c, record.c, people.c) and nobody
 * else.
 */
#ifndef PARLEY_STORE_STORE_INT_H
#define PARLEY_STORE_STORE_INT_H

#include <sqlite3.h>
#include <stdint.h>

#define STORE_STMTS 96		/* prepared statements kept (store.c): room
				 * for every SQL literal of the module */

struct store {
	sqlite3 *db;
	/* Statements prepared once and kept, by the address of their SQL
	 * text (a literal at one place in the module's files). */
	struct {
		const char *sql;
		sqlite3_stmt *st;
	} stmts[STORE_STMTS];
	uint64_t commits;
	int txn;		/* a caller's transaction is open
				 * (store_txn_begin): writes nest in it */
	/* The audit log's last entry as this connection wrote it, trusted
	 * only inside a caller's transaction (the write lock is held) and
	 * forgotten at its end and at any rollback (people.c). */
	struct {
		int valid;
		uint64_t n;
		uint8_t hash[STORE_ID_LEN];
	} audit_last;
	/* WAL checkpoints (store_wal_defer, store_wal_tick): as this
	 * connection last saw them. */
	struct {
		int deferred;		/* store_wal_defer was called */
		uint64_t frames;	/* frames in the WAL */
		uint64_t copied;	/* of those, in the database */
		uint64_t commits;	/* commits that wrote frames */
		uint64_t ticked;	/* commits at the last tick */
		uint64_t checkpoints;	/* checkpoints run */
	} wal;
	/* store_alerts_version (people.c): this connection's alerts
	 * version, from a process-wide counter (0: none yet), and the
	 * data_version it last saw (another connection's commits). */
	uint64_t alerts_gen;
	int64_t alerts_dv;
	char errmsg[256];
};

/*
 * The columns of a message row as struct store_msg reads them, for
 * "SELECT " STORE_MSG_COLS " FROM message m ...". A sent message's
 * receipt is not written into its row (that rewrote every 1 KiB row once
 * more): it is receipted when a stored receipt of its chain reaches its
 * seq, and receipted_ms is the stored time of the first such receipt.
 * Rows receipted before schema 5 (state 2 written) read as they are.
 */
#define STORE_MSG_STATE "CASE WHEN m.state = 1 AND m.seq <= (SELECT" \
	" max(r.seq) FROM receipt r WHERE r.channel = m.channel AND" \
	" r.receiver = 1 - m.sender) THEN 2 ELSE m.state END"
#define STORE_MSG_RECEIPTED_MS "CASE WHEN m.state = 1 THEN (SELECT" \
	" r.stored_ms FROM receipt r WHERE r.channel = m.channel AND" \
	" r.receiver = 1 - m.sender AND r.seq >= m.seq ORDER BY r.seq" \
	" LIMIT 1) ELSE m.receipted_ms END"
#define STORE_MSG_HEAD "m.qid, m.channel, m.sender, m.dir, m.seq, m.id," \
	" m.header, m.precedence, m.marking, m.kind, "
#define STORE_MSG_TAIL ", " STORE_MSG_STATE ", m.time_ms, m.stored_ms," \
	" m.assigned_ms, " STORE_MSG_RECEIPTED_MS ", m.body_salt"
#define STORE_MSG_COLS STORE_MSG_HEAD "m.body" STORE_MSG_TAIL
#define STORE_MSG_COLS_NOBODY STORE_MSG_HEAD "zeroblob(0)" STORE_MSG_TAIL
/* Reads a row of STORE_MSG_COLS (or _NOBODY) into m, the body copied
 * (store_msg_fini frees it); ERR_PARSE for a malformed row. */
int st_read_msg(sqlite3_stmt *st, struct store_msg *m);

/* store.c's kept prepared statements, for the module's other files: sql
 * must be a string literal (its address is the key; a ternary between
 * literals is fine, a built buffer is not); each store_kept_prep is paired
 * with store_kept_done. A kept statement still running (a listing whose
 * callback comes back into the store) is not shared: a fresh one is made
 * and store_kept_done finalizes it. store_kept_prepare is store_kept_prep
 * returning SQLite's result code, for a file that maps codes its own way.
 * store_kept_run runs one statement without rows (BEGIN, SAVEPOINT,
 * RELEASE, COMMIT) that way. */
int store_kept_prep(struct store *s, sqlite3_stmt **st, const char *sql);
int store_kept_prepare(struct store *s, sqlite3_stmt **st, const char *sql);
void store_kept_done(struct store *s, sqlite3_stmt *st);
int store_kept_run(struct store *s, const char *sql);

/* store.c's steps and transactions, for store_msg.c; each is described
 * where it is defined. st_step: 1 for a row, 0 when done, or an error
 * code. st_begin .. st_commit (or st_rollback) is one write's own
 * transaction, a savepoint inside a caller's (store_txn_begin). */
int st_step(struct store *s, sqlite3_stmt *st);
/* Binds a body's salt at i, or NULL (none: a version 1 header). */
void st_bind_salt(sqlite3_stmt *st, int i, const uint8_t *salt);
int st_begin(struct store *s);
void st_rollback(struct store *s);
int st_commit(struct store *s);

#endif
