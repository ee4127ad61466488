/*
 * people_sql.h: the few SQL helpers of the store's people-in-the-loop
 * tables (people.c, people_anchor.c), private to src/store/. Every SQL text
 * passed to pprep is a literal: its address keys store.c's kept statements
 * (store_int.h). Errors come back as base/err.h codes, SQLite's message
 * kept in s->errmsg.
 */
#ifndef PARLEY_STORE_PEOPLE_SQL_H
#define PARLEY_STORE_PEOPLE_SQL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "base/err.h"
#include "store/store_int.h"

static inline int
pfail(struct store *s, int rc)
{
	snprintf(s->errmsg, sizeof s->errmsg, "%s", sqlite3_errmsg(s->db));
	switch (rc & 0xff) {
	case SQLITE_FULL: return ERR_FULL;
	case SQLITE_NOMEM: return ERR_NOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED: return ERR_AGAIN;
	case SQLITE_CONSTRAINT: return ERR_INVALID;
	case SQLITE_TOOBIG: return ERR_TOO_BIG;
	default: return ERR_IO;
	}
}

/* A kept statement for sql, a string literal (its address is the key);
 * each pprep is paired with pdone. */
static inline int
pprep(struct store *s, sqlite3_stmt **st, const char *sql)
{
	int rc = store_kept_prepare(s, st, sql);
	return rc == SQLITE_OK ? 0 : pfail(s, rc);
}

/* Gives back a statement of pprep (reset and unbound, or finalized if it
 * was a fresh one); NULL does nothing. */
static inline void
pdone(struct store *s, sqlite3_stmt *st)
{
	store_kept_done(s, st);
}

static inline int
pstep(struct store *s, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : pfail(s, rc);
}

/*
 * A write of its own: a transaction, or a savepoint inside one the caller
 * holds open (the group commit's store_txn_begin), whose commit makes it
 * durable. *nested says which, for pend.
 */
static inline int
pbegin(struct store *s, bool *nested)
{
	/* The caller's transaction was rolled back by SQLite itself (a full
	 * disk, an I/O error): nothing may commit on its own in its place
	 * (store_txn_commit then reports it). */
	if (s->txn && sqlite3_get_autocommit(s->db))
		return ERR_STATE;
	*nested = !sqlite3_get_autocommit(s->db);
	return store_kept_run(s, *nested ? "SAVEPOINT people" :
	    "BEGIN IMMEDIATE");
}

/* Ends what pbegin began: commits (or releases) when r is 0, else rolls
 * back. Returns r, or the commit's own failure (a disk error at the
 * commit: nothing of it is stored, and the caller must say so). */
static inline int
pend(struct store *s, bool nested, int r)
{
	if (r == 0 && (r = store_kept_run(s, nested ? "RELEASE people" :
	    "COMMIT")) == 0) {
		if (!nested)
			s->commits++;
		return 0;
	}
	s->audit_last.valid = 0;
	if (sqlite3_get_autocommit(s->db))
		return r;
	(void)sqlite3_exec(s->db, nested ? "ROLLBACK TO people; RELEASE "
	    "people" : "ROLLBACK", NULL, NULL, NULL);
	return r;
}

static inline uint64_t
u64(sqlite3_stmt *st, int i)
{
	sqlite3_int64 v = sqlite3_column_int64(st, i);
	return v < 0 ? 0 : (uint64_t)v;
}

static inline const char *
text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? (const char *)t : "";
}

/* Runs a one-statement write in its own transaction. */
static inline int
write1(struct store *s, sqlite3_stmt *st)
{
	bool nested;
	int r;

	if ((r = pbegin(s, &nested)) != 0)
		return r;
	r = pstep(s, st);
	return pend(s, nested, r);
}

#endif
