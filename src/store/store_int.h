/*
 * store_int.h: the store's private parts, shared by the files of the
 * store module (store.c, record.c) and nobody else.
 */
#ifndef PARLEY_STORE_STORE_INT_H
#define PARLEY_STORE_STORE_INT_H

#include <sqlite3.h>
#include <stdint.h>

#define STORE_STMTS 48		/* prepared statements kept (store.c) */

struct store {
	sqlite3 *db;
	/* Statements prepared once and kept, by the address of their SQL
	 * text (a literal at one place in store.c). */
	struct {
		const char *sql;
		sqlite3_stmt *st;
	} stmts[STORE_STMTS];
	uint64_t commits;
	int txn;		/* a caller's transaction is open
				 * (store_txn_begin): writes nest in it */
	char errmsg[256];
};

/* store.c's kept prepared statements, for the module's other files: sql
 * must be a string literal (its address is the key); each store_kept_prep
 * is paired with store_kept_done. store_kept_run runs one statement
 * without rows (BEGIN, SAVEPOINT, RELEASE, COMMIT) that way. */
int store_kept_prep(struct store *s, sqlite3_stmt **st, const char *sql);
void store_kept_done(struct store *s, sqlite3_stmt *st);
int store_kept_run(struct store *s, const char *sql);

#endif
