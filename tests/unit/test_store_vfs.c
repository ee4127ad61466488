/*
 * test_store_vfs.c: the store's VFS (store/vfs.h; docs/store.md,
 * "Gathered WAL writes"), on temporary files. It writes a commit to the
 * WAL in one write (or a few for a big one) and a plain SQLite reader
 * sees it whole; a write error or a rollback leaves nothing of the
 * commit, with two writers too; a failed sync stays out (after a
 * restart, and with another writer), as does a commit whose WAL index
 * cannot grow; work given for a commit's sync runs once, before the
 * commit is visible, and for nothing when the sync fails.
 *
 * It opens files with SQLite directly (through the shim and without it)
 * to look at what a commit left; the code under test is store.h and
 * vfs.h.
 */
#include "store_files.h"

/*
 * A commit whose WAL sync fails is answered as failed, and it must stay
 * failed: its frames were written before the sync, and a process that
 * opens the store after a kill rebuilds the WAL index from the file
 * (vfs.c NOTES 8: the frames are made void at the failure). A child
 * commits 5, then one whose sync fails, then dies without closing; the
 * store then holds the 5 and not the sixth, and one more commit goes on
 * from seq 6. With powercut, the same in power-cut mode (the held writes
 * are made at the sync, then it fails).
 */
static void
failed_sync_stays_out(const char *name, bool powercut)
{
	struct store *s;
	pid_t pid;
	int status = -1;

	fflush(stdout);
	if ((pid = fork()) == 0) {
		if (powercut && store_powercut(0) != 0)
			_exit(3);
		s = open_name(name);
		for (uint64_t i = 1; i <= 5; i++)
			if (send_one(s, i, 1024) != 0)
				_exit(1);
		store_fail_syncs(1);
		if (send_one(s, 6, 1024) == 0)
			_exit(2);		/* the failure did not come */
		_exit(0);			/* as a kill: no close */
	}
	CHECK(pid > 0);
	CHECK_INT(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	s = open_name(name);
	CHECK_INT(check_chain(s, 1024), 5);
	CHECK_INT(send_one(s, 6, 1024), 0);
	store_close(s);
	s = open_name(name);
	CHECK_INT(check_chain(s, 1024), 6);
	store_close(s);
}

/* A connection of the store's VFS to name, in WAL mode, no automatic
 * checkpoint, a small page cache (a big transaction spills). */
static sqlite3 *
vfs_conn(const char *name)
{
	char p[128];
	sqlite3 *db = NULL;

	path_of(p, sizeof p, name);
	if (sqlite3_open_v2(p, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
	    STORE_VFS_NAME) != SQLITE_OK || sqlite3_exec(db,
	    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
	    " PRAGMA wal_autocheckpoint = 0; PRAGMA cache_size = 10", NULL,
	    NULL, NULL) != SQLITE_OK) {
		printf("  %s: %s\n", name, db ? sqlite3_errmsg(db) : "no memory");
		CHECK(false);
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

static int
conn_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

/*
 * The voiding (vfs.c NOTES 8) never touches what another connection
 * committed: A's big transaction spills frames and rolls back, B commits
 * frames over the same offsets, then A's next commit fails at its sync:
 * only A's own frames are voided, and B's 20 rows stay whole (before the
 * range was cleared at the write lock, A zeroed B's frames: a malformed
 * database).
 */
static void
test_failed_sync_other_writer(void)
{
	sqlite3 *a = vfs_conn("voided-two.db"), *b = vfs_conn("voided-two.db");

	if (a == NULL || b == NULL)
		abort();
	CHECK_INT(sqlite3_exec(a, "CREATE TABLE t (k INTEGER PRIMARY KEY,"
	    " v BLOB)", NULL, NULL, NULL), SQLITE_OK);
	CHECK_INT(sqlite3_exec(a, "BEGIN; WITH RECURSIVE c(x) AS (SELECT 1"
	    " UNION ALL SELECT x + 1 FROM c WHERE x < 200) INSERT INTO t (v)"
	    " SELECT randomblob(3000) FROM c; ROLLBACK", NULL, NULL, NULL),
	    SQLITE_OK);
	CHECK_INT(sqlite3_exec(b, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL"
	    " SELECT x + 1 FROM c WHERE x < 20) INSERT INTO t (v) SELECT"
	    " randomblob(3000) FROM c", NULL, NULL, NULL), SQLITE_OK);
	store_fail_syncs(1);
	CHECK(sqlite3_exec(a, "INSERT INTO t (v) VALUES (randomblob(100))",
	    NULL, NULL, NULL) != SQLITE_OK);
	store_fail_syncs(0);
	CHECK_INT(conn_int(b, "SELECT count(*) FROM t"), 20);
	CHECK_INT(conn_int(b, "SELECT count(*) FROM pragma_integrity_check"
	    " WHERE integrity_check <> 'ok'"), 0);
	sqlite3_close(a);
	sqlite3_close(b);
	if ((b = vfs_conn("voided-two.db")) == NULL)	/* after a restart */
		return;
	CHECK_INT(conn_int(b, "SELECT count(*) FROM t"), 20);
	CHECK_INT(conn_int(b, "SELECT count(*) FROM pragma_integrity_check"
	    " WHERE integrity_check <> 'ok'"), 0);
	sqlite3_close(b);
}

static void
test_failed_sync_stays_out(void)
{
	failed_sync_stays_out("voided.db", false);
	failed_sync_stays_out("voided-pc.db", true);
}

/* Rows and integrity of name's file as a reader without the shim sees
 * them. */
static void
plain_view(const char *name, int *rows, int *ok)
{
	*rows = plain_int(name, "SELECT count(*) FROM message", NULL);
	*ok = plain_int(name, "SELECT count(*) FROM pragma_integrity_check"
	    " WHERE integrity_check <> 'ok'", NULL) == 0;
}

/*
 * A commit whose WAL index (the -shm file) cannot grow stays failed
 * (vfs.c NOTES 9): a child fills the WAL to just below the 4,062 frames
 * the index's first region names, then commits 200 rows while the
 * index cannot grow (a full disk), and dies without closing. The commit
 * was answered failed, and a reader without the shim, after the kill,
 * sees the rows before it and not its own (before the fix the sync had
 * made them durable and the failure came after it, at the index's
 * append: the failed commit came back). Once the index can grow, the
 * next commit goes past the region.
 */
static void
test_index_growth_fails(void)
{
	const char *name = "index-grow.db";
	sqlite3 *db;
	pid_t pid;
	int status = -1, rows = 0, ok = 0;

	fflush(stdout);
	if ((pid = fork()) == 0) {
		if ((db = vfs_conn(name)) == NULL ||
		    sqlite3_exec(db, "CREATE TABLE t (k INTEGER PRIMARY KEY,"
		    " v BLOB)", NULL, NULL, NULL) != SQLITE_OK)
			_exit(1);
		/* 3,500 rows of a page each in one commit, then 50 a
		 * commit, up to ~100 frames below the first region's end */
		if (sqlite3_exec(db, "WITH RECURSIVE c(x) AS (SELECT 1 UNION"
		    " ALL SELECT x + 1 FROM c WHERE x < 3500) INSERT INTO t (v)"
		    " SELECT randomblob(3000) FROM c", NULL, NULL, NULL) !=
		    SQLITE_OK)
			_exit(2);
		while ((wal_bytes(name) - 32) / (4096 + 24) + 100 < 4062)
			if (sqlite3_exec(db, "WITH RECURSIVE c(x) AS (SELECT 1"
			    " UNION ALL SELECT x + 1 FROM c WHERE x < 50)"
			    " INSERT INTO t (v) SELECT randomblob(3000) FROM c",
			    NULL, NULL, NULL) != SQLITE_OK)
				_exit(2);
		/* the commit's pages all in the cache: written at the
		 * commit, not spilled (a spill appends to the index at once,
		 * before any commit frame) */
		if (sqlite3_exec(db, "PRAGMA cache_size = 2000", NULL, NULL,
		    NULL) != SQLITE_OK)
			_exit(5);
		store_vfs_fail_shm_grows(1);
		if (sqlite3_exec(db, "WITH RECURSIVE c(x) AS (SELECT 1 UNION"
		    " ALL SELECT x + 1 FROM c WHERE x < 199) INSERT INTO t (v)"
		    " SELECT randomblob(3000) FROM c", NULL, NULL, NULL) ==
		    SQLITE_OK)
			_exit(3);		/* the failure did not come */
		_exit(0);			/* as a kill: no close */
	}
	CHECK(pid > 0);
	CHECK_INT(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	rows = plain_int(name, "SELECT count(*) FROM t", NULL);
	ok = plain_int(name, "SELECT count(*) FROM pragma_integrity_check"
	    " WHERE integrity_check <> 'ok'", NULL) == 0;
	CHECK(rows > 3000);
	CHECK_INT(rows % 50, 0);		/* not the failed 199 */
	CHECK(ok);
	if ((db = vfs_conn(name)) == NULL)
		return;
	CHECK_INT(sqlite3_exec(db, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL"
	    " SELECT x + 1 FROM c WHERE x < 200) INSERT INTO t (v) SELECT"
	    " randomblob(3000) FROM c", NULL, NULL, NULL), SQLITE_OK);
	CHECK(wal_bytes(name) > 32 + 4062ull * (4096 + 24));
	sqlite3_close(db);
	CHECK_INT(plain_int(name, "SELECT count(*) FROM t", NULL), rows + 200);
}

/*
 * The store's VFS gathers a commit's WAL writes (docs/store.md, "Gathered
 * WAL writes"): a message alone reaches the WAL file in one write instead
 * of two per page, and what it committed is there for a reader that does
 * not go through the shim, before and after a checkpoint.
 */
static void
test_gathered_wal_writes(void)
{
	struct store_vfs_counts a, b;
	struct store *s = open_name("gather.db");
	uint64_t f0, copied;
	int rows, ok;

	store_wal_defer(s);
	CHECK_INT(send_one(s, 1, 1024), 0);
	f0 = frames(s);
	store_vfs_counts(&a);
	CHECK_INT(send_one(s, 2, 1024), 0);
	store_vfs_counts(&b);
	CHECK(frames(s) > f0 + 2);
	/* SQLite asked for a header and a page per frame; one write went */
	CHECK(b.wal_writes_asked - a.wal_writes_asked >= 2 * (frames(s) - f0));
	CHECK_INT(b.wal_writes_done - a.wal_writes_done, 1);
	plain_view("gather.db", &rows, &ok);
	CHECK_INT(rows, 2);
	CHECK(ok);
	CHECK_INT(store_wal_tick(s, &copied), 0);
	CHECK_INT(send_one(s, 3, 1024), 0);
	plain_view("gather.db", &rows, &ok);
	CHECK_INT(rows, 3);
	CHECK(ok);
	CHECK_INT(check_chain(s, 1024), 3);
	store_close(s);
}

/* Sync work's witness: how often it ran, and the rows a reader without
 * the shim saw while it ran. */
struct sync_seen {
	const char *name;
	int runs;
	int rows;
};

static void
sync_seen_run(void *arg)
{
	struct sync_seen *w = arg;

	w->runs++;
	w->rows = plain_int(w->name, "SELECT count(*) FROM message", NULL);
}

/*
 * Work given to store_during_sync (the receiver signs its receipt there,
 * docs/delivery.md "Receiver") runs once, during the next commit, before
 * that commit is visible (a reader sees the rows before it), and never
 * again; forgotten work does not run; a store in memory has no WAL sync
 * and runs none.
 */
static void
test_sync_work(void)
{
	struct store *s = open_name("syncwork.db"), *m = NULL;
	struct sync_seen w = { "syncwork.db", 0, -1 };
	int rows, ok;

	CHECK_INT(send_one(s, 1, 1024), 0);
	store_during_sync(sync_seen_run, &w);
	CHECK_INT(send_one(s, 2, 1024), 0);
	CHECK_INT(w.runs, 1);
	CHECK_INT(w.rows, 1);		/* during the commit of the second */
	plain_view("syncwork.db", &rows, &ok);
	CHECK_INT(rows, 2);
	CHECK(ok);
	CHECK_INT(send_one(s, 3, 1024), 0);
	CHECK_INT(w.runs, 1);		/* once */
	store_during_sync(NULL, NULL);
	store_during_sync(sync_seen_run, &w);
	store_during_sync(NULL, NULL);
	CHECK_INT(send_one(s, 4, 1024), 0);
	CHECK_INT(w.runs, 1);		/* forgotten */
	CHECK_INT(check_chain(s, 1024), 4);
	store_close(s);

	CHECK_INT(store_open(&m, ":memory:"), 0);
	if (m == NULL)
		abort();
	store_during_sync(sync_seen_run, &w);
	CHECK_INT(send_one(m, 1, 1024), 0);
	CHECK_INT(w.runs, 1);
	store_during_sync(NULL, NULL);
	store_close(m);
}

/* After the commit of message 2 into name's store s failed: the file
 * holds message 1 alone, intact; messages 2 and 3 then commit; s is
 * closed and a reader without the shim sees the three. */
static void
failed_commit_then_on(struct store *s, const char *name)
{
	int rows, ok;

	plain_view(name, &rows, &ok);
	CHECK_INT(rows, 1);
	CHECK(ok);
	CHECK_INT(check_chain(s, 1024), 1);
	CHECK_INT(send_one(s, 2, 1024), 0);
	CHECK_INT(send_one(s, 3, 1024), 0);
	CHECK_INT(check_chain(s, 1024), 3);
	store_close(s);
	plain_view(name, &rows, &ok);
	CHECK_INT(rows, 3);
	CHECK(ok);
}

/*
 * A sync that fails after the sync work ran (an fdatasync error): the
 * work ran once, for a commit that then failed; nothing of that commit is
 * stored, the one before stays, and the next commits work.
 */
static void
test_sync_work_then_sync_fails(void)
{
	struct store *s = open_name("syncfail.db");
	struct sync_seen w = { "syncfail.db", 0, -1 };

	store_wal_defer(s);
	CHECK_INT(send_one(s, 1, 1024), 0);
	store_during_sync(sync_seen_run, &w);
	store_fail_syncs(1);
	CHECK(send_one(s, 2, 1024) != 0);
	store_fail_syncs(0);
	store_during_sync(NULL, NULL);
	CHECK_INT(w.runs, 1);
	CHECK_INT(w.rows, 1);
	failed_commit_then_on(s, "syncfail.db");
}

/* n messages of 3000 bytes from seq first in one transaction: the VFS's
 * writes for it. */
static uint64_t
big_txn(struct store *s, uint64_t first, uint64_t n, bool commit,
    uint64_t *asked)
{
	struct store_vfs_counts a, b;

	store_vfs_counts(&a);
	CHECK_INT(store_txn_begin(s), 0);
	for (uint64_t i = first; i < first + n; i++)
		CHECK_INT(send_one(s, i, 3000), 0);
	if (commit)
		CHECK_INT(store_txn_commit(s), 0);
	else
		store_txn_rollback(s);
	store_vfs_counts(&b);
	*asked = b.wal_writes_asked - a.wal_writes_asked;
	return b.wal_writes_done - a.wal_writes_done;
}

/*
 * One transaction far past what the shim gathers at once (8 MiB): written
 * in chunks below 128 KiB, in order, whole. Then one past the page cache
 * (1 MiB: SQLite spills pages to the WAL before the commit and rewrites
 * spilled frames in place, which breaks the runs): whole too. A rolled
 * back one leaves nothing. A reader without the shim agrees.
 */
static void
test_gathered_big_transaction(void)
{
	struct store *s = open_name("bigtxn.db");
	uint64_t asked, done;
	int rows, ok;

	store_wal_defer(s);
	CHECK_INT(store_cache_set(s, 64), 0);
	done = big_txn(s, 1, 3000, true, &asked);
	CHECK(done >= 3000 * 4120 / (120 * 1024));	/* 12 MiB in chunks */
	CHECK(done < asked / 20);
	CHECK_INT(store_cache_set(s, 1), 0);
	done = big_txn(s, 3001, 3000, true, &asked);
	CHECK(done > 0 && done < asked);
	(void)big_txn(s, 6001, 500, false, &asked);
	plain_view("bigtxn.db", &rows, &ok);
	CHECK_INT(rows, 6000);
	CHECK(ok);
	CHECK_INT(check_chain(s, 3000), 6000);
	store_close(s);
	s = open_name("bigtxn.db");
	CHECK_INT(check_chain(s, 3000), 6000);
	store_close(s);
}

/*
 * A disk error while the gathered bytes are written out fails the commit:
 * nothing of it is stored, what was committed before stays, and the next
 * commit works (the frames are written again at the same place).
 */
static void
test_gathered_write_error(void)
{
	struct store *s = open_name("werr.db");

	store_wal_defer(s);
	CHECK_INT(send_one(s, 1, 1024), 0);
	store_fail_writes(1);
	CHECK(send_one(s, 2, 1024) != 0);
	store_fail_writes(0);
	failed_commit_then_on(s, "werr.db");
	s = open_name("werr.db");
	CHECK_INT(check_chain(s, 1024), 3);
	store_close(s);
}

/*
 * Two connections on one file (the daemon and a `parley` process): one
 * spills a big transaction to the WAL (a 10-page cache) and rolls it back,
 * the other then commits, the first reads again. The frames the rolled
 * back transaction spilled must reach the file while it held the write
 * lock, never later over the other's committed frames: the file stays
 * whole for both and for a reader without the shim.
 */
static void
test_gathered_rollback_two_writers(void)
{
	struct store *a = open_name("two.db"), *b = open_name("two.db");
	int rows, ok;

	CHECK_INT(send_one(a, 1, 1024), 0);
	/* the WAL from its start, and a cache of 10 pages: A's spilled
	 * frames and B's commits land at the same offsets */
	CHECK_INT(sqlite3_exec(a->db, "PRAGMA cache_size = 10", NULL, NULL,
	    NULL), SQLITE_OK);
	/* new pages only (a scratch table), so that the rollback reads
	 * nothing back through the WAL file */
	CHECK_INT(sqlite3_exec(a->db, "CREATE TABLE scratch (x INTEGER"
	    " PRIMARY KEY, y BLOB)", NULL, NULL, NULL), SQLITE_OK);
	CHECK_INT(sqlite3_exec(b->db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL,
	    NULL, NULL), SQLITE_OK);
	CHECK_INT(sqlite3_exec(a->db, "BEGIN; WITH RECURSIVE c(i) AS (SELECT 1"
	    " UNION ALL SELECT i + 1 FROM c WHERE i < 300) INSERT INTO scratch"
	    " SELECT i, randomblob(3000) FROM c", NULL, NULL, NULL),
	    SQLITE_OK);
	CHECK_INT(sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL),
	    SQLITE_OK);
	for (uint64_t i = 2; i <= 21; i++)
		CHECK_INT(send_one(b, i, 1024), 0);
	CHECK_INT(check_chain(a, 1024), 21);
	CHECK_INT(send_one(a, 22, 1024), 0);
	CHECK_INT(check_chain(b, 1024), 22);
	plain_view("two.db", &rows, &ok);
	CHECK_INT(rows, 22);
	CHECK(ok);
	store_close(a);
	store_close(b);
	plain_view("two.db", &rows, &ok);
	CHECK_INT(rows, 22);
	CHECK(ok);
}

int
main(void)
{
	if (!store_files_begin("/tmp/parley-store-vfs-XXXXXX"))
		return 1;
	RUN(test_failed_sync_stays_out);
	RUN(test_failed_sync_other_writer);
	RUN(test_index_growth_fails);
	RUN(test_gathered_wal_writes);
	RUN(test_gathered_big_transaction);
	RUN(test_gathered_write_error);
	RUN(test_gathered_rollback_two_writers);
	RUN(test_sync_work);
	RUN(test_sync_work_then_sync_fails);
	return store_files_end();
}
