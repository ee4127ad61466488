/*
 * store_int.h: the store's private parts, shared by the files of the
 * store module (store.c, record.c) and nobody else.
 */
#ifndef PARLEY_STORE_STORE_INT_H
#define PARLEY_STORE_STORE_INT_H

#include <sqlite3.h>
#include <stdint.h>

struct store {
	sqlite3 *db;
	uint64_t commits;
	char errmsg[256];
};

#endif
