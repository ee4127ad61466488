/*
 * test_powercut.c: the store under power cuts, played by the VFS's
 * power-cut mode (store_vfs_powercut; docs/store.md, "Power-cut mode"):
 * a forked child writes through a store in that mode, with the daemon's
 * WAL policy (store_wal_defer, a checkpoint every 25 commits and the WAL
 * restarted after it), and dies by SIGKILL, which then loses every write
 * not synced. The parent reopens the file without the mode and checks.
 *
 * With the store's settings, every commit the child reported survives
 * and the file passes PRAGMA integrity_check, whether the child is killed
 * by the parent 0 to 2 ms after a random row or kills itself at a point
 * the VFS names: a write of the database file inside a checkpoint, just
 * before the checkpoint's sync of it, at the WAL header's rewrite of a
 * restart, just before a commit's WAL sync. With the sync skipped (PRAGMA
 * synchronous = OFF on the child's connection) the rows committed since
 * are all gone: the harness can fail. The -shm file left by the child
 * still names those frames, and the reopened store does not see them:
 * SQLite rebuilds the WAL index from the WAL file. The same kill without
 * the mode keeps them (a process crash keeps the page cache), which is
 * why kill -9 alone cannot find a missing sync. The sync work
 * (store_during_sync) runs in the mode as in production.
 *
 * It reaches SQLite directly (store_int.h) only to turn the sync off and
 * to run integrity_check; the code under test is the store and its VFS.
 */
#include <sodium.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../harness.h"
#include "msg/envelope.h"
#include "store/store.h"
#include "store/store_int.h"
#include "store/vfs.h"

#define ROWS_MAX 400			/* rows per child's life */
#define CKPT_EVERY 25			/* commits between checkpoints */
#define BODY 1000			/* bytes per row */

static char tmpdir[256], dbpath[300];
static uint8_t chan[32];
static uint64_t now = 1700000000000ull;

/* Where a child kills itself (the VFS's hook): the k-th event of a kind. */
enum point {
	AT_PARENT,			/* no hook: the parent kills */
	AT_DB_WRITE,			/* a checkpoint's page write */
	AT_DB_SYNC,			/* a checkpoint's sync of the file */
	AT_WAL_RESTART,			/* the WAL header rewritten at 0 */
	AT_WAL_SYNC,			/* a commit's sync */
};
static const char *point_names[] = { "parent's kill", "database write",
	"database sync", "WAL restart", "WAL sync" };

struct hook_at {
	enum point point;
	int k, seen;
};

static void
hook(void *arg, bool wal, enum store_vfs_event ev, int64_t off)
{
	struct hook_at *h = arg;
	bool hit;

	switch (h->point) {
	case AT_DB_WRITE:
		hit = !wal && ev == STORE_VFS_WRITE;
		break;
	case AT_DB_SYNC:
		hit = !wal && ev == STORE_VFS_SYNC;
		break;
	case AT_WAL_RESTART:
		hit = wal && ev == STORE_VFS_WRITE && off == 0;
		break;
	case AT_WAL_SYNC:
		hit = wal && ev == STORE_VFS_SYNC;
		break;
	default:
		hit = false;
	}
	if (hit && ++h->seen == h->k)
		raise(SIGKILL);
}

/* One row: "row N" and padding. */
static int
put_row(struct store *s, size_t n)
{
	char body[BODY];
	int64_t qid;

	memset(body, '.', sizeof body);
	snprintf(body, 16, "row %zu", n);
	return store_queue(s, chan, 0, 0, ENVELOPE_PRIVATE, ENVELOPE_TEXT,
	    (const uint8_t *)body, sizeof body, now++, &qid);
}

/* Both ticks of the daemon's policy: the second, with no commit between,
 * copies the whole WAL; the next commit then restarts it. */
static void
checkpoint(struct store *s)
{
	uint64_t copied;

	(void)!store_wal_tick(s, &copied);
	(void)!store_wal_tick(s, &copied);
}

/*
 * The child: opens the store (power-cut mode if pc), writes rows, and
 * after each commit writes its row number to fd; when the parent is to
 * kill it, it then waits for that. With sync_off > 0, that
 * many rows are then written with the sync off (their numbers with the
 * top bit set), the value 0 is written, and it waits to be killed.
 */
static void __attribute__((noreturn))
child(bool pc, struct hook_at *h, size_t sync_off, int fd)
{
	struct store *s = NULL;
	size_t n = 0, first;
	uint64_t v;

	if (pc)
		store_vfs_powercut(true, h->point == AT_PARENT ? NULL : hook,
		    h);
	if (store_open(&s, dbpath) != 0 || store_queued_count(s, chan, &n) !=
	    0)
		_exit(2);
	store_wal_defer(s);
	first = n;
	for (size_t i = 0; i < (sync_off ? 10 : ROWS_MAX); i++) {
		if (put_row(s, ++n) != 0)
			_exit(3);
		v = n;
		if (write(fd, &v, sizeof v) != (ssize_t)sizeof v)
			_exit(4);
		if ((n - first) % CKPT_EVERY == 0)
			checkpoint(s);
	}
	if (sync_off == 0 && h->point != AT_PARENT)
		_exit(0);	/* the hook's point never came */
	if (sync_off == 0)	/* the parent's kill comes, however fast */
		for (;;)	/* the disk (a tmpfs: all 400 in ~25 ms) */
			pause();
	checkpoint(s);		/* the WAL restarts at the next commit */
	if (sqlite3_exec(s->db, "PRAGMA synchronous = OFF", NULL, NULL,
	    NULL) != SQLITE_OK)
		_exit(5);
	for (size_t i = 0; i < sync_off; i++) {
		if (put_row(s, ++n) != 0)
			_exit(3);
		v = n | (1ull << 63);
		if (write(fd, &v, sizeof v) != (ssize_t)sizeof v)
			_exit(4);
	}
	v = 0;
	if (write(fd, &v, sizeof v) != (ssize_t)sizeof v)
		_exit(4);
	for (;;)
		pause();
}

/* The rows in the file, checked to be "row 1" .. "row n" in order (each
 * once); (size_t)-1 when they are not. */
static size_t
rows_in(struct store *s)
{
	size_t n = 0, i = 0;
	struct store_msg m;
	char want[32];

	if (store_queued_count(s, chan, &n) != 0)
		return (size_t)-1;
	for (int64_t q = 1; i < n; q++) {
		if (store_get_local(s, q, &m) != 0)
			return (size_t)-1;
		i++;
		snprintf(want, sizeof want, "row %zu", i);
		if (m.body_len != BODY || memcmp(m.body, want, strlen(want))
		    != 0 || m.body[strlen(want)] != '\0') {
			store_msg_fini(&m);
			return (size_t)-1;
		}
		store_msg_fini(&m);
	}
	return n;
}

/* PRAGMA integrity_check's first line is "ok". */
static bool
intact(struct store *s)
{
	sqlite3_stmt *st = NULL;
	bool ok = false;

	if (sqlite3_prepare_v2(s->db, "PRAGMA integrity_check", -1, &st,
	    NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		ok = strcmp((const char *)sqlite3_column_text(st, 0), "ok") ==
		    0;
	sqlite3_finalize(st);
	return ok;
}

/* The frames the -shm file's WAL index header names (mxFrame, native
 * order, at offset 16); -1 without the file. */
static long long
shm_frames(void)
{
	char p[320];
	uint32_t v;
	int fd;
	long long r = -1;

	snprintf(p, sizeof p, "%s-shm", dbpath);
	if ((fd = open(p, O_RDONLY)) < 0)
		return -1;
	if (pread(fd, &v, sizeof v, 16) == (ssize_t)sizeof v)
		r = v;
	close(fd);
	return r;
}

/* A child's life: its reports read until it dies; *durable is the last
 * row reported committed with the sync on, *unsynced the count reported
 * with it off. parent_kill: killed by us 0 to 2 ms after its h->k-th
 * report (a count, not a time: the child is as fast as its disk), or when
 * it reports its sync-off rows done (*shm then read first). Returns the
 * wait status. */
static int
life(bool pc, struct hook_at *h, size_t sync_off, bool parent_kill,
    size_t *durable, size_t *unsynced, long long *shm)
{
	int fds[2], status = 0;
	struct pollfd pfd;
	uint64_t v;
	pid_t pid;
	int reports = 0;

	*unsynced = 0;
	if (pipe(fds) != 0)
		return -1;
	fflush(stdout);
	if ((pid = fork()) == 0) {
		close(fds[0]);
		child(pc, h, sync_off, fds[1]);
	}
	close(fds[1]);
	pfd.fd = fds[0];
	pfd.events = POLLIN;
	while (poll(&pfd, 1, 60000) == 1 && read(fds[0], &v, sizeof v) ==
	    (ssize_t)sizeof v) {
		if (v == 0) {		/* the sync-off rows are written */
			*shm = shm_frames();
			kill(pid, SIGKILL);
			continue;
		}
		if (v >> 63)
			(*unsynced)++;
		else
			*durable = (size_t)v;
		if (parent_kill && sync_off == 0 && ++reports == h->k) {
			usleep(randombytes_uniform(2000));
			kill(pid, SIGKILL);
		}
	}
	close(fds[0]);
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return status;
}

/*
 * Twelve lives, each ended by SIGKILL at a point of its own (the parent's
 * kill 0-2 ms after a random row, or the k-th database write, database sync, WAL
 * restart or WAL sync): every row reported committed is there, in order,
 * once, and the file is intact.
 */
static void
test_every_commit_survives(void)
{
	size_t durable = 0, unsynced, n;
	int status, kills[5] = { 0 };
	long long shm;
	struct store *s;

	srand(20261201);
	for (int round = 0; round < 12; round++) {
		struct hook_at h = { (enum point)(round % 5), 0, 0 };
		switch (h.point) {
		case AT_DB_WRITE:
			h.k = 1 + rand() % 60;
			break;
		case AT_DB_SYNC:
		case AT_WAL_RESTART:
			h.k = 1 + rand() % 3;
			break;
		case AT_WAL_SYNC:
			h.k = 5 + rand() % 60;
			break;
		default:		/* the parent kills after row k */
			h.k = 1 + rand() % ROWS_MAX;
			break;
		}
		status = life(true, &h, 0, h.point == AT_PARENT, &durable,
		    &unsynced, &shm);
		CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
		if (WIFSIGNALED(status))
			kills[h.point]++;
		s = NULL;
		CHECK_INT(store_open(&s, dbpath), 0);
		if (s == NULL)
			return;
		n = rows_in(s);
		if (n == (size_t)-1 || n < durable)
			printf("  round %d (%s %d): %zu rows reported, %lld "
			    "found\n", round, point_names[h.point], h.k,
			    durable, (long long)n);
		CHECK(n != (size_t)-1);
		CHECK(n >= durable);
		CHECK(intact(s));
		store_close(s);
		durable = n;
	}
	printf("  12 power cuts (%d by the parent, %d at a database write, "
	    "%d at its sync, %d at a WAL restart, %d at a WAL sync): %zu rows,"
	    " all reported ones present, file intact\n", kills[0], kills[1],
	    kills[2], kills[3], kills[4], durable);
	CHECK(durable > 0);
}

/*
 * The same with the sync turned off after ten rows: the rows committed
 * since are lost to the power cut, all of them (the strict model), and
 * the file is intact; the -shm file named their frames and was rebuilt.
 * Without the mode, the kill keeps them.
 */
static void
test_unsynced_rows_lost(void)
{
	struct hook_at h = { AT_PARENT, 0, 0 };
	size_t before, durable = 0, unsynced, n;
	long long shm = -1, shm_after;
	struct store *s = NULL;
	int status;

	CHECK_INT(store_open(&s, dbpath), 0);
	if (s == NULL)
		return;
	before = rows_in(s);
	store_close(s);
	status = life(true, &h, 30, true, &durable, &unsynced, &shm);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	CHECK_INT(durable, before + 10);
	CHECK_INT(unsynced, 30);
	s = NULL;
	CHECK_INT(store_open(&s, dbpath), 0);
	if (s == NULL)
		return;
	n = rows_in(s);
	CHECK(intact(s));
	shm_after = shm_frames();
	store_close(s);
	printf("  sync off, power cut: %zu rows committed unsynced, %zu of "
	    "them found; the stale -shm named %lld WAL frames, rebuilt %lld\n",
	    unsynced, n - durable, shm, shm_after);
	CHECK_INT(n, durable);		/* all 30 lost */
	CHECK(shm > shm_after);

	/* a plain kill -9, the same writes: the page cache keeps them */
	status = life(false, &h, 30, true, &durable, &unsynced, &shm);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	s = NULL;
	CHECK_INT(store_open(&s, dbpath), 0);
	if (s == NULL)
		return;
	n = rows_in(s);
	CHECK(intact(s));
	store_close(s);
	printf("  sync off, kill -9 without the mode: %zu of %zu found\n",
	    n - durable, unsynced);
	CHECK_INT(n, durable + 30);
}

/* Sync work's witness in power-cut mode: the order of the VFS's WAL sync
 * hook and the work, and the WAL file's bytes when the work ran. */
struct order {
	int step, hook_at, work_at;
	unsigned char wal_at_work[crypto_generichash_BYTES];
};

static void
wal_hash(unsigned char out[crypto_generichash_BYTES])
{
	crypto_generichash_state st;
	unsigned char b[65536];
	char p[320];
	ssize_t k;
	int fd;

	snprintf(p, sizeof p, "%s/work.db-wal", tmpdir);
	crypto_generichash_init(&st, NULL, 0, crypto_generichash_BYTES);
	if ((fd = open(p, O_RDONLY)) >= 0) {
		while ((k = read(fd, b, sizeof b)) > 0)
			crypto_generichash_update(&st, b, (size_t)k);
		close(fd);
	}
	crypto_generichash_final(&st, out, crypto_generichash_BYTES);
}

static void
order_hook(void *arg, bool wal, enum store_vfs_event ev, int64_t off)
{
	struct order *o = arg;

	(void)off;
	if (wal && ev == STORE_VFS_SYNC && o->hook_at == 0)
		o->hook_at = ++o->step;
}

static void
order_work(void *arg)
{
	struct order *o = arg;

	o->work_at = ++o->step;
	wal_hash(o->wal_at_work);
}

/*
 * The sync work (store_during_sync: the receiver's receipt, signed while
 * the commit syncs) runs in power-cut mode too, as in production: once,
 * at the commit's WAL sync, after the VFS's hook there (where a test may
 * kill the process: then it never runs) and before the held writes reach
 * the file (the WAL's bytes then are those from before the commit).
 */
static void
test_sync_work_runs(void)
{
	struct order o = { 0, 0, 0, { 0 } };
	unsigned char before[crypto_generichash_BYTES];
	unsigned char after[crypto_generichash_BYTES];
	struct store *s = NULL;
	char p[320];
	size_t n = 0;

	snprintf(p, sizeof p, "%s/work.db", tmpdir);
	store_vfs_powercut(true, order_hook, &o);
	CHECK_INT(store_open(&s, p), 0);
	if (s == NULL)
		return;
	CHECK_INT(put_row(s, 1), 0);
	o.step = o.hook_at = 0;
	wal_hash(before);
	store_during_sync(order_work, &o);
	CHECK_INT(put_row(s, 2), 0);
	wal_hash(after);
	CHECK_INT(o.hook_at, 1);
	CHECK_INT(o.work_at, 2);
	CHECK(memcmp(o.wal_at_work, before, sizeof before) == 0);
	CHECK(memcmp(after, before, sizeof before) != 0);
	CHECK_INT(put_row(s, 3), 0);
	CHECK_INT(o.work_at, 2);	/* once */
	store_during_sync(NULL, NULL);
	CHECK_INT(store_queued_count(s, chan, &n), 0);
	CHECK_INT(n, 3);
	store_close(s);
	store_vfs_powercut(false, NULL, NULL);
}

/*
 * store_fail_writes (parleyd's store-fail) in power-cut mode: the commit's
 * write-out at its sync fails as a disk error would, nothing of it is
 * stored (for the process, and after a power cut), and the next commit
 * works.
 */
static void
test_fail_writes(void)
{
	struct store *s = NULL;
	char p[320];
	size_t n = 0;

	snprintf(p, sizeof p, "%s/fail.db", tmpdir);
	store_vfs_powercut(true, NULL, NULL);
	CHECK_INT(store_open(&s, p), 0);
	if (s == NULL)
		return;
	CHECK_INT(put_row(s, 1), 0);
	store_fail_writes(1);
	CHECK(put_row(s, 2) != 0);
	store_fail_writes(0);
	CHECK_INT(store_queued_count(s, chan, &n), 0);
	CHECK_INT(n, 1);
	CHECK_INT(put_row(s, 2), 0);
	CHECK_INT(put_row(s, 3), 0);
	store_close(s);
	store_vfs_powercut(false, NULL, NULL);
	s = NULL;
	CHECK_INT(store_open(&s, p), 0);
	if (s == NULL)
		return;
	CHECK_INT(rows_in(s), 3);
	CHECK(intact(s));
	store_close(s);
}

/* Opens name through the store's VFS as a database file. */
static sqlite3_file *
vfs_open(sqlite3_vfs *v, const char *name)
{
	sqlite3_file *f = calloc(1, (size_t)v->szOsFile);
	char *z = calloc(1, strlen(name) + 3);	/* two NULs after it */
	int out = 0;

	if (f == NULL || z == NULL)
		abort();
	memcpy(z, name, strlen(name));
	if (v->xOpen(v, z, f, SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_READWRITE, &out) != SQLITE_OK) {
		free(f);
		f = NULL;
	}
	free(z);
	return f;
}

/*
 * A delete drops the name's held writes even when the mode was turned off
 * meanwhile: a file written in the mode and closed unsynced, the mode
 * off, the file deleted, the mode on again: the new file of that name is
 * empty, not the old held bytes.
 */
static void
test_delete_drops_held(void)
{
	sqlite3_vfs *v = NULL;
	sqlite3_int64 size = -1;
	sqlite3_file *f;
	char p[320];

	CHECK_INT(store_vfs_register(), SQLITE_OK);
	v = sqlite3_vfs_find(STORE_VFS_NAME);
	CHECK(v != NULL);
	if (v == NULL)
		return;
	snprintf(p, sizeof p, "%s/del.db", tmpdir);
	store_vfs_powercut(true, NULL, NULL);
	if ((f = vfs_open(v, p)) == NULL) {
		CHECK(f != NULL);
		return;
	}
	CHECK_INT(f->pMethods->xWrite(f, "held", 4, 0), SQLITE_OK);
	CHECK_INT(f->pMethods->xFileSize(f, &size), SQLITE_OK);
	CHECK_INT(size, 4);
	f->pMethods->xClose(f);		/* the held write stays */
	free(f);
	store_vfs_powercut(false, NULL, NULL);
	CHECK_INT(v->xDelete(v, p, 0), SQLITE_OK);
	store_vfs_powercut(true, NULL, NULL);
	if ((f = vfs_open(v, p)) == NULL) {
		CHECK(f != NULL);
		return;
	}
	CHECK_INT(f->pMethods->xFileSize(f, &size), SQLITE_OK);
	CHECK_INT(size, 0);
	f->pMethods->xClose(f);
	free(f);
	store_vfs_powercut(false, NULL, NULL);
	(void)v->xDelete(v, p, 0);
}

/*
 * A truncate held in the mode is seen as the one the sync will make: the
 * unix VFS rounds it up to the chunk size (the store sets one on its WAL),
 * keeping the bytes below. The size and bytes seen before the sync are
 * those after it.
 */
static void
test_truncate_as_synced(void)
{
	sqlite3_vfs *v = NULL;
	sqlite3_int64 before = -1, after = -1;
	unsigned char w[300], r1[300], r2[300];
	int chunk = 256;
	sqlite3_file *f;
	char p[320];

	CHECK_INT(store_vfs_register(), SQLITE_OK);
	v = sqlite3_vfs_find(STORE_VFS_NAME);
	snprintf(p, sizeof p, "%s/trunc.db", tmpdir);
	store_vfs_powercut(true, NULL, NULL);
	if (v == NULL || (f = vfs_open(v, p)) == NULL) {
		CHECK(v != NULL);
		return;
	}
	for (size_t i = 0; i < sizeof w; i++)
		w[i] = (unsigned char)(i + 1);
	CHECK_INT(f->pMethods->xFileControl(f, SQLITE_FCNTL_CHUNK_SIZE,
	    &chunk), SQLITE_OK);
	CHECK_INT(f->pMethods->xWrite(f, w, (int)sizeof w, 0), SQLITE_OK);
	CHECK_INT(f->pMethods->xTruncate(f, 10), SQLITE_OK);
	CHECK_INT(f->pMethods->xFileSize(f, &before), SQLITE_OK);
	(void)f->pMethods->xRead(f, r1, (int)sizeof r1, 0);
	CHECK_INT(f->pMethods->xSync(f, SQLITE_SYNC_NORMAL), SQLITE_OK);
	CHECK_INT(f->pMethods->xFileSize(f, &after), SQLITE_OK);
	(void)f->pMethods->xRead(f, r2, (int)sizeof r2, 0);
	CHECK_INT(after, 256);
	CHECK_INT(before, after);
	CHECK(memcmp(r1, r2, sizeof r1) == 0);
	f->pMethods->xClose(f);
	free(f);
	store_vfs_powercut(false, NULL, NULL);
	(void)v->xDelete(v, p, 0);
}

int
main(void)
{
	int r;

	if (sodium_init() < 0)
		return 1;
	/* $TMPDIR may name another disk (a tmpfs: /dev/shm) */
	snprintf(tmpdir, sizeof tmpdir, "%s/parley-powercut-XXXXXX",
	    getenv("TMPDIR") && *getenv("TMPDIR") && strlen(getenv("TMPDIR"))
	    < 200 ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	snprintf(dbpath, sizeof dbpath, "%s/pc.db", tmpdir);
	memset(chan, 0xc1, sizeof chan);
	setvbuf(stdout, NULL, _IOLBF, 0);
	RUN(test_every_commit_survives);
	RUN(test_unsynced_rows_lost);
	RUN(test_sync_work_runs);
	RUN(test_fail_writes);
	RUN(test_delete_drops_held);
	RUN(test_truncate_as_synced);
	r = harness_summary();
	harness_rmdir(tmpdir);
	return r;
}
