/*
 * store_dir.h: a temporary directory for the store's file tests and the
 * paths in it, a store opened by name in it, the channel id and the clock
 * their messages use, and a program's start and end (test_store*.c; with
 * more for the WAL's tests in store_files.h). Every function is static
 * inline: a program that uses only some of them builds without
 * -Wunused-function.
 */
#ifndef PARLEY_TESTS_STORE_DIR_H
#define PARLEY_TESTS_STORE_DIR_H

#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "store/store.h"

static char tmpdir[64];
static uint8_t chan[32];
static uint64_t now = 1700000000000ull;

static inline void
path_of(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", tmpdir, name);
}

/* The store on name under tmpdir, made when there is none. */
static inline struct store *
open_name(const char *name)
{
	char p[128];
	struct store *s = NULL;

	path_of(p, sizeof p, name);
	CHECK_INT(store_open(&s, p), 0);
	if (s == NULL)
		abort();
	return s;
}

/* A test program's start: libsodium, tmpdir made from template (for
 * mkdtemp), the channel id set. False on failure. */
static inline bool
store_files_begin(const char *template)
{
	if (sodium_init() < 0)
		return false;
	snprintf(tmpdir, sizeof tmpdir, "%s", template);
	if (mkdtemp(tmpdir) == NULL)
		return false;
	memset(chan, 0xc1, sizeof chan);
	return true;
}

/* A test program's end: the summary, tmpdir removed; its exit code. */
static inline int
store_files_end(void)
{
	int r = harness_summary();

	harness_rmdir(tmpdir);
	return r;
}

#endif
