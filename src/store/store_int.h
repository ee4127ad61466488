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

#endif
