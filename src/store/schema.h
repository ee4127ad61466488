/*
 * schema.h: the store's migrations (internal to src/store and its tests).
 */
#ifndef PARLEY_STORE_SCHEMA_H
#define PARLEY_STORE_SCHEMA_H

/* The SQL that takes a file from user_version from to from + 1, or NULL
 * when from is not 0..STORE_SCHEMA_VERSION-1. */
const char *store_migration_sql(int from);

#endif
