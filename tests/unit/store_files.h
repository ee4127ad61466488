/*
 * store_files.h: what the store's file tests share (test_store_wal.c,
 * test_store_vfs.c, test_store_migrate.c): with store_dir.h (a temporary
 * directory and the paths in it, a store opened by name, a program's start
 * and end), the WAL's size and the frames it holds (from struct store,
 * store_int.h), messages sent and chains walked. Every function is static
 * inline: a program that uses only some of them builds without
 * -Wunused-function.
 */
#ifndef PARLEY_TESTS_STORE_FILES_H
#define PARLEY_TESTS_STORE_FILES_H

#include <sodium.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../harness.h"
#include "store_dir.h"
#include "msg/chain.h"
#include "msg/envelope.h"
#include "store/people.h"
#include "store/schema.h"
#include "store/store.h"
#include "store/store_int.h"
#include "store/vfs.h"

/* The size of name's WAL file, 0 when there is none. */
static inline uint64_t
wal_bytes(const char *name)
{
	char p[160];
	struct stat st;

	snprintf(p, sizeof p, "%s/%s-wal", tmpdir, name);
	return stat(p, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* Frames in the WAL after this connection's last commit. */
static inline uint64_t
frames(const struct store *s)
{
	return s->wal.frames;
}

/* Body i: len letters (a text body is UTF-8) that say which message
 * they are. */
static inline void
fill_body(uint8_t *b, size_t len, uint64_t i)
{
	for (size_t k = 0; k < len; k++)
		b[k] = (uint8_t)('a' + (i * 31 + k * 7) % 26);
}

/* One of our messages, queued and assigned in a commit of its own (or
 * inside the caller's transaction): seq i. */
static inline int
send_one(struct store *s, uint64_t i, size_t len)
{
	uint8_t body[4096], id[32];
	struct store_draft d;
	uint64_t seq;
	int64_t qid;

	if (len > sizeof body)
		abort();
	fill_body(body, len, i);
	memset(&d, 0, sizeof d);
	d.channel = chan;
	d.sender = 0;
	d.precedence = ENVELOPE_ROUTINE;
	d.marking = ENVELOPE_PRIVATE;
	d.kind = ENVELOPE_TEXT;
	d.body = body;
	d.body_len = len;
	d.time_ms = now++;
	return store_queue_assigned(s, &d, d.time_ms, chain_store_build, NULL,
	    &qid, &seq, id);
}

/* The chain of sender 0 is 1..n with the bodies send_one wrote. */
struct walk {
	uint64_t next;
	size_t len;
	int bad;
};

static inline int
walk_one(void *arg, struct store_msg *m)
{
	struct walk *w = arg;
	uint8_t want[4096];

	fill_body(want, w->len, w->next);
	if (m->seq != w->next || m->body_len != w->len ||
	    memcmp(m->body, want, w->len) != 0)
		w->bad++;
	w->next++;
	return 0;
}

static inline uint64_t
check_chain(struct store *s, size_t len)
{
	struct walk w = { 1, len, 0 };

	CHECK_INT(store_after(s, chan, 0, 0, 1000000, walk_one, &w), 0);
	CHECK_INT(w.bad, 0);
	return w.next - 1;
}

/* The integer sql (with ?1 bound to arg, if any) answers on name's file
 * as SQLite's own VFS reads it (another process's view: no shim in
 * between), -1 when it does not. */
static inline int
plain_int(const char *name, const char *sql, const char *arg)
{
	char p[128];
	sqlite3 *db;
	sqlite3_stmt *st;
	int v = -1;

	path_of(p, sizeof p, name);
	if (sqlite3_open_v2(p, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
		if (arg != NULL)
			sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return v;
}

#endif
