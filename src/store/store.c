/*
 * store.c: see store.h. The schema is in schema.c; the message rows
 * (queue, assignment, received runs, heads, receipts, reads) and their
 * NOTES are in store_msg.c.
 *
 * This file holds the store itself: opening (pragmas, migrations), the
 * kept statements, transactions (the caller's and each write's own), the
 * WAL policy, the cache's size and memory, errors and counters.
 */
#include "store/store.h"

#include "base/err.h"
#include "base/log.h"
#include "store/schema.h"
#include "store/store_int.h"
#include "store/vfs.h"

#include <sqlite3.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Maps an SQLite result to our codes, keeping SQLite's message. */
static int
fail(struct store *s, int rc)
{
	snprintf(s->errmsg, sizeof s->errmsg, "%s", sqlite3_errmsg(s->db));
	switch (rc & 0xff) {
	case SQLITE_FULL:
		return ERR_FULL;
	case SQLITE_NOMEM:
		return ERR_NOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return ERR_AGAIN;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return ERR_PARSE;
	case SQLITE_CONSTRAINT:
		return ERR_INVALID;
	case SQLITE_TOOBIG:
		return ERR_TOO_BIG;
	default:
		return ERR_IO;
	}
}

static int
exec(struct store *s, const char *sql)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : fail(s, rc);
}

/*
 * A prepared statement for sql, which must be a string literal (its
 * address is the key): kept from the last time, or prepared and kept
 * while there is room. A kept statement still running (a listing whose
 * callback comes back here) is not shared: a fresh one is made. Every
 * kept() is paired with unprep. Returns SQLite's result code.
 */
static int
kept(struct store *s, sqlite3_stmt **st, const char *sql)
{
	size_t i;
	int rc;

	for (i = 0; i < STORE_STMTS && s->stmts[i].sql != NULL; i++)
		if (s->stmts[i].sql == sql) {
			if (sqlite3_stmt_busy(s->stmts[i].st))
				break;
			*st = s->stmts[i].st;
			return SQLITE_OK;
		}
	rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st,
	    NULL);
	if (rc != SQLITE_OK)
		return rc;
	if (i < STORE_STMTS && s->stmts[i].sql == NULL) {
		s->stmts[i].sql = sql;
		s->stmts[i].st = *st;
	}
	return SQLITE_OK;
}

/* kept(), with the result mapped to our codes. */
static int
prep(struct store *s, sqlite3_stmt **st, const char *sql)
{
	int rc = kept(s, st, sql);

	return rc == SQLITE_OK ? 0 : fail(s, rc);
}

/* Gives back a statement of prep: a kept one is reset for next time
 * (its bindings cleared: they may point into the caller's memory). */
static void
unprep(struct store *s, sqlite3_stmt *st)
{
	if (st == NULL)
		return;
	for (size_t i = 0; i < STORE_STMTS && s->stmts[i].sql != NULL; i++)
		if (s->stmts[i].st == st) {
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			return;
		}
	sqlite3_finalize(st);
}

/* One statement without rows, through the kept statements. */
static int
run1(struct store *s, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = prep(s, &st, sql)) != 0)
		return r;
	r = st_step(s, st);
	unprep(s, st);
	return r == 1 ? 0 : r;
}

int
store_kept_prep(struct store *s, sqlite3_stmt **st, const char *sql)
{
	return prep(s, st, sql);
}

int
store_kept_prepare(struct store *s, sqlite3_stmt **st, const char *sql)
{
	return kept(s, st, sql);
}

void
store_kept_done(struct store *s, sqlite3_stmt *st)
{
	unprep(s, st);
}

int
store_kept_run(struct store *s, const char *sql)
{
	return run1(s, sql);
}

/* One step: 1 for a row, 0 when done, or an error code. */
int
st_step(struct store *s, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return fail(s, rc);
}

/*
 * Inside a caller's transaction (store_txn_begin) a write is a savepoint:
 * it still stores all or nothing of itself, and the caller's commit makes
 * the whole group durable with one fsync. If SQLite has already rolled the
 * caller's transaction back (it may on a full disk), nothing more is
 * written: ERR_STATE.
 */
int
st_begin(struct store *s)
{
	if (s->txn)
		return sqlite3_get_autocommit(s->db) ? ERR_STATE :
		    run1(s, "SAVEPOINT w");
	return run1(s, "BEGIN IMMEDIATE");
}

void
st_rollback(struct store *s)
{
	s->audit_last.valid = 0;
	if (sqlite3_get_autocommit(s->db))
		return;
	if (s->txn)
		(void)sqlite3_exec(s->db, "ROLLBACK TO w; RELEASE w", NULL,
		    NULL, NULL);
	else
		(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

int
st_commit(struct store *s)
{
	int r;

	if ((r = run1(s, s->txn ? "RELEASE w" : "COMMIT")) != 0) {
		st_rollback(s);
		return r;
	}
	if (!s->txn)
		s->commits++;
	return 0;
}

int
store_txn_begin(struct store *s)
{
	int r;

	if (s->txn)
		return ERR_STATE;
	s->audit_last.valid = 0;
	if ((r = run1(s, "BEGIN IMMEDIATE")) == 0)
		s->txn = 1;
	return r;
}

int
store_txn_commit(struct store *s)
{
	if (!s->txn)
		return ERR_STATE;
	s->txn = 0;
	s->audit_last.valid = 0;
	if (sqlite3_get_autocommit(s->db))
		return ERR_STATE;	/* SQLite rolled it back */
	return st_commit(s);
}

void
store_txn_rollback(struct store *s)
{
	if (!s->txn)
		return;
	s->txn = 0;
	st_rollback(s);		/* forgets audit_last */
}

/* A single integer from a one-row query. */
static int
query_int(struct store *s, const char *sql, sqlite3_int64 *v)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	/* Not kept: sql may be built in a buffer (max_page_count). */
	if ((rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL)) != SQLITE_OK)
		return fail(s, rc);
	if ((r = st_step(s, st)) == 1) {
		*v = sqlite3_column_int64(st, 0);
		r = 0;
	} else if (r == 0)
		r = ERR_NOT_FOUND;
	unprep(s, st);
	return r;
}

/* Refuses files that are not parley's or newer than this build. */
static int
check_file(struct store *s, sqlite3_int64 version)
{
	sqlite3_int64 app, tables;
	int r;

	if (version > STORE_SCHEMA_VERSION) {
		snprintf(s->errmsg, sizeof s->errmsg,
		    "schema version %lld is newer than this build's %d",
		    (long long)version, STORE_SCHEMA_VERSION);
		return ERR_VERSION;
	}
	if ((r = query_int(s, "PRAGMA application_id", &app)) != 0)
		return r;
	if ((r = query_int(s, "SELECT count(*) FROM sqlite_schema",
	    &tables)) != 0)
		return r;
	if ((version > 0 && app != STORE_APPLICATION_ID) ||
	    (version == 0 && (app != 0 || tables != 0))) {
		snprintf(s->errmsg, sizeof s->errmsg,
		    "not a parley store");
		return ERR_VERSION;
	}
	return 0;
}

/* After a migration step, inside its transaction: every foreign key
 * still met (a step that rebuilds a table runs with the keys off). */
static int
keys_met(struct store *s, sqlite3_int64 v)
{
	sqlite3_int64 any;
	int r;

	r = query_int(s, "PRAGMA foreign_key_check", &any);
	if (r == ERR_NOT_FOUND)
		return 0;
	if (r == 0) {
		snprintf(s->errmsg, sizeof s->errmsg, "migration %lld -> %lld "
		    "leaves a foreign key unmet", (long long)v,
		    (long long)v + 1);
		r = ERR_INVALID;
	}
	return r;
}

/* Why the last store_open of this thread failed (store_open_error). */
static _Thread_local char open_error[256];

/* Brings the file to STORE_SCHEMA_VERSION, one transaction per step; the
 * version is read again inside each so that two openers cannot race.
 * Runs with foreign_keys OFF (the caller turns them on after): a step
 * that rebuilds a table others refer to (6 -> 7) drops it while the rows
 * that refer to it stay, as SQLite's own way of altering a table asks;
 * keys_met checks them all before the step commits. */
static int
migrate(struct store *s)
{
	sqlite3_int64 v, from, secure;
	char sql[96];
	int r;

	if ((r = query_int(s, "PRAGMA user_version", &v)) != 0)
		return r;
	if ((r = check_file(s, v)) != 0 || v == STORE_SCHEMA_VERSION)
		return r;
	from = v;
	if ((r = query_int(s, "PRAGMA secure_delete", &secure)) != 0)
		return r;
	/* A step that rebuilds a table (6 -> 7) drops the old one: its pages
	 * hold copies of rows the new table keeps, so zeroing them (Debian's
	 * SQLite deletes securely by default) would only write the table
	 * once more into the WAL. */
	if ((r = exec(s, "PRAGMA secure_delete = OFF")) != 0)
		return r;
	for (;;) {
		if ((r = st_begin(s)) != 0)
			return r;
		if ((r = query_int(s, "PRAGMA user_version", &v)) != 0 ||
		    (r = check_file(s, v)) != 0)
			goto fail;
		if (v == STORE_SCHEMA_VERSION) {
			st_rollback(s);
			break;
		}
		snprintf(sql, sizeof sql, "PRAGMA user_version = %lld;"
		    " PRAGMA application_id = %d;", (long long)v + 1,
		    STORE_APPLICATION_ID);
		if ((r = exec(s, store_migration_sql((int)v))) != 0 ||
		    (r = keys_met(s, v)) != 0 ||
		    (r = exec(s, sql)) != 0 || (r = st_commit(s)) != 0)
			goto fail;
	}
	/* A store that had messages was copied whole (6 -> 7): the WAL is
	 * as big as the copy, and nothing else ever shrinks it (docs/store.md,
	 * "Migrations"). Best effort: a reader may hold it. */
	if (from > 0)
		(void)sqlite3_exec(s->db, "PRAGMA wal_checkpoint(TRUNCATE)",
		    NULL, NULL, NULL);
	snprintf(sql, sizeof sql, "PRAGMA secure_delete = %lld",
	    (long long)secure);
	return exec(s, sql);
fail:
	st_rollback(s);
	return r;
}

/* Creates a missing file mode 0600 (SQLite would follow the umask); the
 * -wal and -shm files take the database file's mode. */
static int
create_private(const char *path)
{
	int fd;

	if (strcmp(path, ":memory:") == 0)
		return 0;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return ERR_IO;
	close(fd);
	return 0;
}

static int
setup(struct store *s)
{
	sqlite3_stmt *st = NULL;
	const char *mode;
	int r;

	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, STORE_BUSY_MS);
	/* No schema tricks from a tampered file: defensive mode, and SQL
	 * functions in the schema are not trusted. */
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0,
	    (int *)NULL);
	if ((r = prep(s, &st, "PRAGMA journal_mode = WAL")) != 0)
		return r;
	if ((r = st_step(s, st)) != 1) {
		unprep(s, st);
		return r == 0 ? ERR_IO : r;
	}
	mode = (const char *)sqlite3_column_text(st, 0);
	r = mode != NULL && (strcmp(mode, "wal") == 0 ||
	    strcmp(mode, "memory") == 0) ? 0 : ERR_IO;
	unprep(s, st);
	if (r != 0) {
		snprintf(s->errmsg, sizeof s->errmsg, "cannot use WAL mode");
		return r;
	}
	/* temp_store = MEMORY: statement and savepoint journals (a group
	 * commit's savepoints, docs/store.md) stay in memory instead of a
	 * temporary file per statement; the database's durability is the
	 * WAL's and does not change. */
	if ((r = exec(s, "PRAGMA synchronous = FULL")) != 0 ||
	    (r = exec(s, "PRAGMA temp_store = MEMORY")) != 0 ||
	    (r = exec(s, "PRAGMA foreign_keys = OFF")) != 0 ||
	    (r = migrate(s)) != 0)
		return r;
	return exec(s, "PRAGMA foreign_keys = ON");
}

int
store_open(struct store **sp, const char *path)
{
	struct store *s;
	int rc, r;

	*sp = NULL;
	if ((s = calloc(1, sizeof *s)) == NULL) {
		snprintf(open_error, sizeof open_error, "%s", err_str(ERR_NOMEM));
		return ERR_NOMEM;
	}
	if ((r = create_private(path)) != 0) {
		snprintf(open_error, sizeof open_error, "%s: %s", path,
		    strerror(errno));
		free(s);
		return r;
	}
	/* The unix VFS with a commit's WAL writes gathered (vfs.h); SQLite's
	 * own when that cannot be registered. */
	rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW,
	    store_vfs_register() == SQLITE_OK ? STORE_VFS_NAME : NULL);
	if (rc != SQLITE_OK) {
		r = s->db != NULL ? fail(s, rc) : ERR_NOMEM;
		goto fail;
	}
	if ((r = setup(s)) != 0)
		goto fail;
	*sp = s;
	open_error[0] = '\0';
	return 0;
fail:
	snprintf(open_error, sizeof open_error, "%s", s->errmsg[0] ?
	    s->errmsg : err_str(r));
	for (size_t i = 0; i < STORE_STMTS; i++)
		sqlite3_finalize(s->stmts[i].st);	/* else close fails */
	sqlite3_close(s->db);
	free(s);
	return r;
}

const char *
store_open_error(void)
{
	return open_error;
}

int
store_open_home(struct store **sp, const char *home)
{
	char path[4096];
	int n;

	n = snprintf(path, sizeof path, "%s/%s", home, STORE_FILE);
	if (n < 0 || (size_t)n >= sizeof path) {
		*sp = NULL;
		snprintf(open_error, sizeof open_error, "%s: path too long",
		    home);
		return ERR_TOO_BIG;
	}
	return store_open(sp, path);
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < STORE_STMTS; i++)
		sqlite3_finalize(s->stmts[i].st);
	sqlite3_close(s->db);
	free(s);
}

const char *
store_errmsg(const struct store *s)
{
	return s->errmsg;
}

uint64_t
store_commits(const struct store *s)
{
	return s->commits;
}

int
store_schema_version(struct store *s, int *version)
{
	sqlite3_int64 v;
	int r;

	if ((r = query_int(s, "PRAGMA user_version", &v)) != 0)
		return r;
	*version = (int)v;
	return 0;
}

int
store_set_max_pages(struct store *s, uint64_t pages, uint64_t *effective)
{
	char sql[64];
	sqlite3_int64 v;
	int r;

	if (pages == 0 || pages > UINT32_MAX - 1)
		return ERR_INVALID;
	snprintf(sql, sizeof sql, "PRAGMA max_page_count = %llu",
	    (unsigned long long)pages);
	if ((r = query_int(s, sql, &v)) != 0)
		return r;
	*effective = v < 0 ? 0 : (uint64_t)v;
	return 0;
}

int
store_page_count(struct store *s, uint64_t *pages)
{
	sqlite3_int64 v;
	int r;

	if ((r = query_int(s, "PRAGMA page_count", &v)) != 0)
		return r;
	*pages = v < 0 ? 0 : (uint64_t)v;
	return 0;
}

/*
 * Called by SQLite after each commit of this connection that wrote to the
 * WAL, with the frames it now holds (in place of the automatic checkpoint
 * every 1000 pages, store_wal_defer): only past STORE_WAL_HARD does the
 * commit copy them itself. A failed copy does not fail the commit (it is
 * durable already); the next commit or tick tries again.
 */
static int
wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct store *s = arg;
	int log = 0, done = 0;

	(void)name;
	if (frames < 0)
		frames = 0;
	if ((uint64_t)frames < s->wal.frames)
		s->wal.copied = 0;	/* restarted from its start */
	s->wal.frames = (uint64_t)frames;
	s->wal.commits++;
	if (frames >= STORE_WAL_HARD && sqlite3_wal_checkpoint_v2(db, NULL,
	    SQLITE_CHECKPOINT_PASSIVE, &log, &done) == SQLITE_OK) {
		s->wal.frames = log < 0 ? 0 : (uint64_t)log;
		s->wal.copied = done < 0 ? 0 : (uint64_t)done;
		s->wal.checkpoints++;
	}
	return SQLITE_OK;
}

/*
 * Gives the WAL file STORE_WAL_PRESIZE pages up front, zeros written and
 * synced now (SQLite's size hint, in 1 MiB chunks): a commit that extends
 * the file costs an fdatasync about twice as long as one that overwrites
 * blocks (docs/store.md), and a new WAL would otherwise be extended until
 * its first checkpoint. Under the write lock, so that no other writer
 * appends meanwhile. Best effort: without it, commits are as durable,
 * only slower until the WAL has grown.
 */
static void
wal_presize(struct store *s)
{
	sqlite3_file *f = NULL;
	sqlite3_int64 page = 0, size;
	int chunk = 1 << 20;

	if (query_int(s, "PRAGMA page_size", &page) != 0 || page <= 0 ||
	    run1(s, "BEGIN IMMEDIATE") != 0)
		return;
	size = 32 + STORE_WAL_PRESIZE * (page + 24);	/* header, frames */
	if (sqlite3_file_control(s->db, "main", SQLITE_FCNTL_JOURNAL_POINTER,
	    &f) == SQLITE_OK && f != NULL && f->pMethods != NULL &&
	    f->pMethods->xFileControl != NULL &&
	    f->pMethods->xFileControl(f, SQLITE_FCNTL_CHUNK_SIZE, &chunk) ==
	    SQLITE_OK && f->pMethods->xFileControl(f, SQLITE_FCNTL_SIZE_HINT,
	    &size) == SQLITE_OK)
		(void)f->pMethods->xSync(f, SQLITE_SYNC_NORMAL);
	st_rollback(s);
}

int
store_cache_set(struct store *s, unsigned mib)
{
	char sql[64];

	if (mib == 0 || mib > 4096)
		return ERR_INVALID;
	snprintf(sql, sizeof sql, "PRAGMA cache_size = -%u", mib * 1024);
	return exec(s, sql);
}

int
store_cache_reserve(unsigned mib)
{
	static void *pool;
	/* SQLite's default page size, which the store keeps: a bigger page
	 * is taken from malloc as before */
	const size_t page = 4096;
	size_t slot, n;
	int hdr = 0;

	if (pool != NULL)
		return ERR_STATE;
	if (mib == 0 || mib > 4096)
		return ERR_INVALID;
	/* refused (MISUSE) once SQLite is initialised; harmless before */
	if (sqlite3_config(SQLITE_CONFIG_PAGECACHE, NULL, 0, 0) != SQLITE_OK ||
	    sqlite3_config(SQLITE_CONFIG_PCACHE_HDRSZ, &hdr) != SQLITE_OK ||
	    hdr < 0)
		return ERR_STATE;
	slot = (page + (size_t)hdr + 7) & ~(size_t)7;
	/* A slot per page of a cache of mib MiB (cache_size counts a page
	 * with less overhead than a slot has), plus what SQLite keeps free
	 * (a pool nearly used up is memory pressure to it: the cache then
	 * recycles its own pages instead of growing) and other users:
	 * statement journals in memory, a backup's pages. */
	n = ((size_t)mib << 20) / page + 10 + ((size_t)mib << 20) / page / 16;
	pool = mmap(NULL, slot * n, PROT_READ | PROT_WRITE, MAP_PRIVATE |
	    MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (pool == MAP_FAILED) {
		pool = NULL;
		return ERR_NOMEM;
	}
	if (sqlite3_config(SQLITE_CONFIG_PAGECACHE, pool, (int)slot, (int)n)
	    != SQLITE_OK) {
		munmap(pool, slot * n);
		pool = NULL;
		return ERR_STATE;
	}
	return 0;
}

void
store_wal_defer(struct store *s)
{
	sqlite3_wal_hook(s->db, wal_hook, s);
	s->wal.deferred = 1;
	wal_presize(s);
}

int
store_wal_tick(struct store *s, uint64_t *copied)
{
	uint64_t pending, before;
	bool quiet;
	int rc, log = 0, done = 0;

	*copied = 0;
	if (!s->wal.deferred)
		return ERR_STATE;
	pending = s->wal.frames > s->wal.copied ? s->wal.frames -
	    s->wal.copied : 0;
	quiet = s->wal.commits == s->wal.ticked;
	s->wal.ticked = s->wal.commits;
	if (pending == 0 || (pending < STORE_WAL_SOFT && !quiet))
		return 0;
	rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_PASSIVE,
	    &log, &done);
	if (rc != SQLITE_OK)
		return fail(s, rc);
	before = s->wal.copied;
	s->wal.frames = log < 0 ? 0 : (uint64_t)log;
	s->wal.copied = done < 0 ? 0 : (uint64_t)done;
	s->wal.checkpoints++;
	*copied = s->wal.copied > before ? s->wal.copied - before : 0;
	return 0;
}

void
store_during_sync(void (*fn)(void *), void *arg)
{
	store_vfs_sync_work(fn, arg);
}

void
store_fail_writes(unsigned n)
{
	store_vfs_fail_writes(n);
}

void
store_fail_syncs(unsigned n)
{
	store_vfs_fail_syncs(n);
}

/* store_powercut's kill: the process ends itself just before its k-th
 * WAL sync (the VFS's hook, before the sync work and the held writes). */
static uint64_t pc_kill_at, pc_wal_syncs;

static void
pc_kill(void *arg, bool wal, enum store_vfs_event ev, int64_t off)
{
	(void)arg;
	(void)off;
	if (!wal || ev != STORE_VFS_SYNC || ++pc_wal_syncs != pc_kill_at)
		return;
	log_warn("debug_powercut_kill_at: SIGKILL at WAL sync %llu",
	    (unsigned long long)pc_wal_syncs);
	(void)raise(SIGKILL);
}

int
store_powercut(uint64_t kill_at_wal_sync)
{
	if (store_vfs_register() != SQLITE_OK)
		return ERR_IO;
	pc_kill_at = kill_at_wal_sync;
	pc_wal_syncs = 0;
	store_vfs_powercut(true, kill_at_wal_sync ? pc_kill : NULL, NULL);
	return 0;
}
