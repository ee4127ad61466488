/*
 * vfs.c: "parley-unix", SQLite's unix VFS with a commit's WAL writes
 * gathered (vfs.h, docs/store.md "Gathered WAL writes").
 *
 * SQLite appends a commit to the WAL one xWrite per frame header (24
 * bytes) and one per page (4 KiB), then calls xSync: two write system
 * calls per page, each costly on this kind of machine. A WAL file opened
 * through this VFS keeps writes that continue one another in memory and
 * hands them to the unix VFS as one xWrite (per 120 KiB: it writes less
 * than 128 KiB at a time) when anything else is asked of the file.
 *
 * NOTES
 * 1. The gathered bytes are [off, off + len) of the file, written in the
 *    order SQLite wrote them. Every method but xWrite and the ones that do
 *    not look at the file's bytes (sector size, device characteristics)
 *    writes them out first, so what SQLite reads, syncs, sizes, truncates
 *    or closes is what it wrote. A write that does not continue the
 *    gathered run (a frame rewritten in place, the WAL header at a
 *    restart) writes the run out first, so writes reach the file in
 *    SQLite's order.
 * 2. A commit is durable when xSync returns: xSync writes the run out and
 *    only then syncs. A crash before that loses only frames no reader can
 *    see (the WAL index names a commit's frames after its sync), as a
 *    crash between SQLite's own writes would.
 * 3. A failed write-out is that method's failure (SQLITE_IOERR_WRITE, or
 *    SQLITE_FULL on a full disk): the commit fails and SQLite rolls back.
 *    The gathered bytes are dropped either way. SQLite ignores the code
 *    of some file controls (size hints): a failure there stays (failed)
 *    until a method whose code SQLite acts on reports it, xSync at the
 *    latest, so a commit never returns over bytes that were not written.
 *    This needs synchronous = FULL or NORMAL with a sync at each commit,
 *    which store.c sets (FULL): without an xSync a failure at the barrier
 *    (NOTES 5, no code to give) would show only at the next method.
 *    A failure kept from a write-out at a lock release is given to that
 *    connection's next WAL method: one later transaction fails with it.
 * 4. Files other than WAL files go straight through.
 * 5. The WAL's state changes go through the database file's shared
 *    memory (xShmLock, xShmBarrier), never through the WAL file: before
 *    either, every open WAL file's run is written out. So frames are in
 *    the file before the WAL index names them (when that write-out
 *    succeeds: NOTES 3), and the frames a rolled-back transaction spilled are
 *    written (as garbage past the last commit, as SQLite itself would
 *    have) while its connection still holds the write lock, never later
 *    over another connection's frames. The list of WAL files is the
 *    process's: the store is used from one thread.
 * 6. Sync work (store_vfs_sync_work): at a WAL file's xSync (the
 *    commit's, or at a WAL restart the one SQLite makes of the new header
 *    before the frames), after its run is written out, the write-back of
 *    the file's dirty pages is started (sync_file_range,
 *    SYNC_FILE_RANGE_WRITE: it starts the I/O and does not wait), the
 *    work runs on this thread while the disk writes, and only then does
 *    the unix VFS's xSync (fdatasync) wait for it and for the disk's
 *    cache. Durability is the same: the xSync is the same one.
 *    The work must only prepare (it runs before the commit is durable,
 *    and the commit may yet fail). Each WAL file has a read-only
 *    descriptor of its own for this; without one, or if the write-back
 *    cannot be started, the work is not run and the slot stays set.
 *    store_vfs_fail_syncs fails the sync after the work ran, as an
 *    fdatasync error would: the work then was for a commit that failed.
 * 7. Power-cut mode (tests only: store_vfs_powercut; docs/store.md,
 *    "Power-cut mode"; its code in vfs_powercut.c). A database or WAL
 *    file opened while it is on gets pc_methods instead: no gathering
 *    (NOTES 1-5 do not apply to it); every write and truncate is held in
 *    this process's memory, in order, as one list per file name that
 *    every handle on that name shares (the page cache is the inode's),
 *    and reads and sizes see the file as if the held operations had been
 *    made. The file's xSync makes them, in order, on the real file, and
 *    only then syncs it; a WAL's sync work (NOTES 6) runs before that, as
 *    in x_sync, and store_vfs_fail_writes fails a WAL's making of them
 *    (all dropped, as a run is). A process killed before that loses them
 *    all (during it, all but a prefix, in order): a power cut that keeps
 *    nothing unsynced. The held list outlives a close (the page cache
 *    does) and goes with a delete of the name. Files opened while the
 *    mode is off keep shim_methods; the normal path does not look at the
 *    mode. One writer process: a rolled-back transaction's spilled frames
 *    stay held until the WAL's next sync, which would make them over
 *    frames another process committed meanwhile (docs/store.md, "One
 *    writer process": writing them at the lock's release would let
 *    commits made with the sync off survive a kill).
 * 8. A failed WAL sync is made void. SQLite writes a commit's frames,
 *    the last one marked as a commit, then syncs; when the sync fails it
 *    rolls the transaction back in memory and answers the error, but the
 *    frames are in the file (at least in the page cache), and a process
 *    that opens the store after a kill rebuilds the WAL index from the
 *    file and takes them as committed: a commit reported failed would
 *    come back (a send answered "cannot queue" sent after a restart, or
 *    a seq given again in between: two messages at one seq). So each WAL
 *    handle keeps the range written since its last good sync, and when
 *    a sync fails (or the write-out before it) the range is overwritten
 *    with zeros (a zero frame ends the WAL's recovery: its salt is not
 *    the header's; a zero header voids a WAL restarted by it, whose
 *    content before was all checkpointed) and synced again, best effort:
 *    a restart of the process then reads zeros. Only a power cut between
 *    a failed sync and the zeros reaching the disk can keep the frames
 *    (docs/store.md, "A failed sync"). SQLite writes the next frames
 *    over them (the WAL index never named them). In power-cut mode
 *    (NOTES 7) the range is the held writes made at the sync. The range
 *    is cleared whenever the connection takes or gives back the WAL write
 *    lock (vfs_x_shm_lock): it only ever holds what its current write
 *    transaction wrote, never frames another connection committed over a
 *    rolled-back spill, nor the tail of a padding frame SQLite writes
 *    after a commit's sync when the file system lacks powersafe
 *    overwrite, nor commits made with synchronous = NORMAL.
 * 9. The WAL index covers a commit before its sync. SQLite appends a
 *    commit's frames to the WAL index (the -shm file) after the WAL's
 *    sync; an index that has to grow then (past 4,062 frames, then every
 *    4,096) and cannot (a full disk) fails the commit, which SQLite
 *    answers as failed while its frames are durable: a restart reads
 *    them back (docs/store.md, "A failed sync"). So a WAL's xSync first
 *    maps, growing it if need be, the index region that will name the
 *    last frame written, through its connection's database file; if
 *    that fails, the sync fails and is made void (NOTES 8). A region
 *    once mapped stays until the connection closes, so the append after
 *    the sync finds it. Not in power-cut mode (NOTES 7).
 */
#include "store/vfs.h"
#include "store/vfs_int.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RUN_MIN (256u << 10)		/* first buffer */
#define RUN_MAX (8u << 20)		/* a longer run is written out */
#define WRITE_MAX (120u << 10)		/* bytes per write of a run */
#define RUN_KEEP (1u << 20)		/* kept between commits (a group's) */

static sqlite3_vfs *real_vfs;
static struct store_vfs_counts counts;
unsigned vfs_fail_writes;			/* store_vfs_fail_writes */
unsigned vfs_fail_syncs;			/* store_vfs_fail_syncs */
static struct shim_file *wals;		/* every open WAL file */
static struct shim_file *dbs;		/* every open database file */
static unsigned fail_shm_grows;		/* store_vfs_fail_shm_grows */
void (*vfs_sync_work)(void *);		/* store_vfs_sync_work */
void *vfs_sync_work_arg;

static int
run_out(struct shim_file *f)
{
	size_t done = 0, k;
	int rc = SQLITE_OK;

	if (f->failed != SQLITE_OK)
		return f->failed;
	/* The unix VFS writes at most 128 KiB - 1 per pwrite and takes a
	 * write of exactly 128 KiB for a full disk: chunks below that. */
	while (rc == SQLITE_OK && done < f->len) {
		k = f->len - done < WRITE_MAX ? f->len - done : WRITE_MAX;
		if (vfs_fail_writes > 0) {
			vfs_fail_writes--;
			rc = SQLITE_IOERR_WRITE;
			break;
		}
		rc = f->real->pMethods->xWrite(f->real, f->run + done, (int)k,
		    f->off + (sqlite3_int64)done);
		if (rc == SQLITE_OK)
			counts.wal_writes_done++;
		done += k;
	}
	f->len = 0;
	f->failed = rc;
	return rc;
}

/* run_out for a method whose code SQLite acts on: the failure is
 * reported there and then forgotten (the bytes are gone; SQLite rolls
 * back or fails the checkpoint and writes them again). */
static int
report(struct shim_file *f)
{
	int rc = run_out(f);

	f->failed = SQLITE_OK;
	return rc;
}

/* Writes the run out before another method, whose code it returns when
 * the write fails. */
#define RUN_OUT_OR_FAIL(f) do { \
	int rc_ = report(f); \
	if (rc_ != SQLITE_OK) \
		return rc_; \
} while (0)

/* Writes out every WAL file's run (NOTES 5); a failure stays with its
 * file. */
static void
wals_out(void)
{
	for (struct shim_file *w = wals; w != NULL; w = w->next_wal)
		(void)run_out(w);
}

static int
x_close(sqlite3_file *p)
{
	struct shim_file *f = (struct shim_file *)p;
	int rc = report(f), rc2;

	if (f->wal)
		for (struct shim_file **w = &wals; *w != NULL;
		    w = &(*w)->next_wal)
			if (*w == f) {
				*w = f->next_wal;
				break;
			}
	for (struct shim_file **d = &dbs; *d != NULL; d = &(*d)->next_db)
		if (*d == f) {
			*d = f->next_db;
			break;
		}
	rc2 = f->real->pMethods->xClose(f->real);
	if (f->wb_fd >= 0)
		(void)close(f->wb_fd);
	free(f->run);
	f->run = NULL;
	f->cap = 0;
	return rc != SQLITE_OK ? rc : rc2;
}

static int
x_read(sqlite3_file *p, void *buf, int n, sqlite3_int64 off)
{
	struct shim_file *f = (struct shim_file *)p;

	RUN_OUT_OR_FAIL(f);
	return f->real->pMethods->xRead(f->real, buf, n, off);
}

static bool
run_room(struct shim_file *f, size_t n)
{
	size_t cap = f->cap ? f->cap : RUN_MIN;
	unsigned char *b;

	while (cap < f->len + n && cap < RUN_MAX)
		cap *= 2;
	if (f->len + n > cap)
		return false;
	if (cap != f->cap) {
		if ((b = realloc(f->run, cap)) == NULL)
			return false;
		f->run = b;
		f->cap = cap;
	}
	return true;
}

/* NOTES 8: [off, off + n) written, not synced yet. */
void
vfs_unsynced_add(struct shim_file *f, sqlite3_int64 off, sqlite3_int64 n)
{
	if (n <= 0)
		return;
	if (f->unsynced_lo < 0 || off < f->unsynced_lo)
		f->unsynced_lo = off;
	if (off + n > f->unsynced_hi)
		f->unsynced_hi = off + n;
}

/* NOTES 8: the sync failed: zeros over what it was to make durable, and
 * one more sync, best effort; returns rc. */
int
vfs_unsynced_void(struct shim_file *f, int rc, int flags)
{
	static const unsigned char zeros[64u << 10];
	sqlite3_file *r = f->real;
	sqlite3_int64 at = f->unsynced_lo;

	while (at >= 0 && at < f->unsynced_hi) {
		sqlite3_int64 k = f->unsynced_hi - at;
		if (k > (sqlite3_int64)sizeof zeros)
			k = (sqlite3_int64)sizeof zeros;
		if (r->pMethods->xWrite(r, zeros, (int)k, at) != SQLITE_OK)
			break;
		at += k;
	}
	if (f->unsynced_lo >= 0) {
		counts.syncs_voided++;
		(void)r->pMethods->xSync(r, flags);
	}
	f->unsynced_lo = -1;
	f->unsynced_hi = 0;
	return rc;
}

static int
x_write(sqlite3_file *p, const void *buf, int n, sqlite3_int64 off)
{
	struct shim_file *f = (struct shim_file *)p;

	if (!f->wal)
		return f->real->pMethods->xWrite(f->real, buf, n, off);
	counts.wal_writes_asked++;
	vfs_unsynced_add(f, off, n);
	if (n > 0 && f->len > 0 && off == f->off + (sqlite3_int64)f->len &&
	    run_room(f, (size_t)n)) {
		memcpy(f->run + f->len, buf, (size_t)n);
		f->len += (size_t)n;
		return SQLITE_OK;
	}
	RUN_OUT_OR_FAIL(f);
	if (n > 0 && run_room(f, (size_t)n)) {
		memcpy(f->run, buf, (size_t)n);
		f->len = (size_t)n;
		f->off = off;
		return SQLITE_OK;
	}
	counts.wal_writes_done++;
	return f->real->pMethods->xWrite(f->real, buf, n, off);
}

static int
x_truncate(sqlite3_file *p, sqlite3_int64 size)
{
	struct shim_file *f = (struct shim_file *)p;

	RUN_OUT_OR_FAIL(f);
	return f->real->pMethods->xTruncate(f->real, size);
}

/* The WAL index's layout (SQLite's wal.c): a 32-byte WAL header, then
 * frames of a 24-byte header and a page; the index in regions of 32 KiB,
 * the first naming 4,062 frames (after the index's header), each other
 * 4,096. */
#define WAL_HDR 32
#define WAL_FRAME_HDR 24
#define INDEX_REGION 32768
#define INDEX_FRAMES 4096
#define INDEX_FRAMES_ONE 4062

/* NOTES 9: the index region that will name the last frame written since
 * the last sync is mapped (grown if need be) before the sync, or the
 * sync fails with the map's code. */
static int
index_cover(struct shim_file *f)
{
	unsigned char b[4];
	sqlite3_int64 frame_len, n;
	void volatile *map = NULL;
	struct shim_file *d;
	int region, rc;
	uint32_t pg;

	if (f->unsynced_lo < 0 || f->unsynced_hi <= WAL_HDR)
		return SQLITE_OK;
	if (f->wal_page == 0) {
		if ((rc = f->real->pMethods->xRead(f->real, b, 4, 8)) !=
		    SQLITE_OK)
			return rc;
		pg = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
		    (uint32_t)b[2] << 8 | b[3];
		if (pg == 1)
			pg = 65536;
		if (pg < 512 || pg > 65536 || (pg & (pg - 1)) != 0)
			return SQLITE_OK;	/* not a WAL SQLite wrote */
		f->wal_page = pg;
	}
	frame_len = WAL_FRAME_HDR + (sqlite3_int64)f->wal_page;
	n = (f->unsynced_hi - WAL_HDR + frame_len - 1) / frame_len;
	region = (int)((n + INDEX_FRAMES - INDEX_FRAMES_ONE - 1) /
	    INDEX_FRAMES);
	if (region <= f->shm_mapped)
		return SQLITE_OK;
	for (d = dbs; d != NULL && d->db != f->db; d = d->next_db)
		;
	if (d == NULL || f->db == NULL)
		return SQLITE_OK;
	rc = vfs_x_shm_map(&d->base, region, INDEX_REGION, 1, &map);
	if (rc == SQLITE_OK && map != NULL)
		f->shm_mapped = region;
	return rc;
}

static int
x_sync(sqlite3_file *p, int flags)
{
	struct shim_file *f = (struct shim_file *)p;
	int rc;

	if (f->wal && (rc = report(f)) != SQLITE_OK)
		return vfs_unsynced_void(f, rc, flags);
	RUN_OUT_OR_FAIL(f);
	if (f->cap > RUN_KEEP) {	/* a big transaction's buffer goes */
		free(f->run);
		f->run = NULL;
		f->cap = 0;
	}
	if (f->wal && (rc = index_cover(f)) != SQLITE_OK)
		return vfs_unsynced_void(f, rc, flags);
	/* NOTES 6: the disk starts on the frames, the CPU work runs, then
	 * the sync waits for both the write and the disk's cache. */
	if (vfs_sync_work != NULL && f->wal && f->wb_fd >= 0 &&
	    sync_file_range(f->wb_fd, 0, 0, SYNC_FILE_RANGE_WRITE) == 0) {
		void (*fn)(void *) = vfs_sync_work;

		vfs_sync_work = NULL;
		fn(vfs_sync_work_arg);
	}
	if (f->wal && vfs_fail_syncs > 0) {
		vfs_fail_syncs--;
		return vfs_unsynced_void(f, SQLITE_IOERR_FSYNC, flags);
	}
	rc = f->real->pMethods->xSync(f->real, flags);
	if (f->wal && rc != SQLITE_OK)
		return vfs_unsynced_void(f, rc, flags);
	if (f->wal) {
		f->unsynced_lo = -1;
		f->unsynced_hi = 0;
	}
	return rc;
}

static int
x_file_size(sqlite3_file *p, sqlite3_int64 *size)
{
	struct shim_file *f = (struct shim_file *)p;

	RUN_OUT_OR_FAIL(f);
	return f->real->pMethods->xFileSize(f->real, size);
}

int
vfs_x_lock(sqlite3_file *p, int lock)
{
	struct shim_file *f = (struct shim_file *)p;

	RUN_OUT_OR_FAIL(f);
	return f->real->pMethods->xLock(f->real, lock);
}

int
vfs_x_unlock(sqlite3_file *p, int lock)
{
	struct shim_file *f = (struct shim_file *)p;

	RUN_OUT_OR_FAIL(f);
	return f->real->pMethods->xUnlock(f->real, lock);
}

int
vfs_x_check_reserved(sqlite3_file *p, int *out)
{
	struct shim_file *f = (struct shim_file *)p;

	return f->real->pMethods->xCheckReservedLock(f->real, out);
}

static int
x_file_control(sqlite3_file *p, int op, void *arg)
{
	struct shim_file *f = (struct shim_file *)p;
	int rc;

	/* SQLite ignores the code of some (the size hints): a failure stays
	 * for the next method, the commit's sync at the latest. */
	if ((rc = run_out(f)) != SQLITE_OK)
		return rc;
	return f->real->pMethods->xFileControl(f->real, op, arg);
}

int
vfs_x_sector_size(sqlite3_file *p)
{
	struct shim_file *f = (struct shim_file *)p;

	return f->real->pMethods->xSectorSize(f->real);
}

int
vfs_x_device_characteristics(sqlite3_file *p)
{
	struct shim_file *f = (struct shim_file *)p;

	return f->real->pMethods->xDeviceCharacteristics(f->real);
}

int
vfs_x_shm_map(sqlite3_file *p, int pg, int pgsz, int extend, void volatile **pp)
{
	struct shim_file *f = (struct shim_file *)p;
	int rc;

	if (extend && fail_shm_grows > 0) {
		/* a region not there yet: the index would grow */
		rc = f->real->pMethods->xShmMap(f->real, pg, pgsz, 0, pp);
		if (rc != SQLITE_OK || *pp == NULL) {
			fail_shm_grows--;
			*pp = NULL;
			return SQLITE_IOERR_SHMSIZE;
		}
		return rc;
	}
	return f->real->pMethods->xShmMap(f->real, pg, pgsz, extend, pp);
}

int
vfs_x_shm_lock(sqlite3_file *p, int offset, int n, int flags)
{
	struct shim_file *f = (struct shim_file *)p;

	int rc;

	wals_out();
	rc = f->real->pMethods->xShmLock(f->real, offset, n, flags);
	/* NOTES 8: the WAL write lock (offset 0) taken or given back: a
	 * write transaction starts or has ended, and nothing written before
	 * is this connection's to void */
	if (rc == SQLITE_OK && offset == 0)
		for (struct shim_file *w = wals; w != NULL; w = w->next_wal)
			if (w->db != NULL && w->db == f->db) {
				w->unsynced_lo = -1;
				w->unsynced_hi = 0;
			}
	return rc;
}

void
vfs_x_shm_barrier(sqlite3_file *p)
{
	struct shim_file *f = (struct shim_file *)p;

	wals_out();
	f->real->pMethods->xShmBarrier(f->real);
}

int
vfs_x_shm_unmap(sqlite3_file *p, int del)
{
	struct shim_file *f = (struct shim_file *)p;

	return f->real->pMethods->xShmUnmap(f->real, del);
}

static int
x_fetch(sqlite3_file *p, sqlite3_int64 off, int n, void **pp)
{
	struct shim_file *f = (struct shim_file *)p;

	RUN_OUT_OR_FAIL(f);
	return f->real->pMethods->xFetch(f->real, off, n, pp);
}

static int
x_unfetch(sqlite3_file *p, sqlite3_int64 off, void *page)
{
	struct shim_file *f = (struct shim_file *)p;

	return f->real->pMethods->xUnfetch(f->real, off, page);
}

static const sqlite3_io_methods shim_methods = {
	3, x_close, x_read, x_write, x_truncate, x_sync, x_file_size, vfs_x_lock,
	vfs_x_unlock, vfs_x_check_reserved, x_file_control, vfs_x_sector_size,
	vfs_x_device_characteristics, vfs_x_shm_map, vfs_x_shm_lock, vfs_x_shm_barrier,
	vfs_x_shm_unmap, x_fetch, x_unfetch,
};

static int
v_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *p, int flags,
    int *out_flags)
{
	struct shim_file *f = (struct shim_file *)p;
	int rc;

	(void)vfs;
	memset(f, 0, sizeof *f);
	f->real = (sqlite3_file *)(f + 1);
	memset(f->real, 0, (size_t)real_vfs->szOsFile);
	rc = real_vfs->xOpen(real_vfs, name, f->real, flags, out_flags);
	if (rc != SQLITE_OK || f->real->pMethods == NULL) {
		if (rc == SQLITE_OK) {
			rc = SQLITE_CANTOPEN;
		} else if (f->real->pMethods != NULL) {
			f->real->pMethods->xClose(f->real);
		}
		f->base.pMethods = NULL;
		return rc;
	}
	/* The unix VFS's methods below version 3 lack the shm ones: the shim
	 * then cannot stand in for them. */
	if (f->real->pMethods->iVersion < 3) {
		f->real->pMethods->xClose(f->real);
		f->base.pMethods = NULL;
		return SQLITE_CANTOPEN;
	}
	f->wal = (flags & SQLITE_OPEN_WAL) != 0;
	f->wb_fd = -1;
	f->unsynced_lo = -1;
	f->db = name == NULL ? NULL : f->wal ? sqlite3_filename_database(name) :
	    name;
	if (vfs_powercut && name != NULL && (flags & (SQLITE_OPEN_MAIN_DB |
	    SQLITE_OPEN_WAL)) != 0) {
		if ((rc = vfs_pc_attach(f, name)) != SQLITE_OK) {
			f->real->pMethods->xClose(f->real);
			f->base.pMethods = NULL;
		}
		return rc;
	}
	f->shm_mapped = -1;
	if ((flags & SQLITE_OPEN_MAIN_DB) != 0) {
		f->next_db = dbs;
		dbs = f;
	}
	if (f->wal) {
		f->next_wal = wals;
		wals = f;
		/* Without it a WAL's sync runs no sync work (NOTES 6). */
		f->wb_fd = open(name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	}
	f->base.pMethods = &shim_methods;
	return SQLITE_OK;
}

static int
v_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
	struct held *h;

	(void)vfs;
	/* the lists, not the mode: a list held while it was on goes too */
	if (vfs_helds != NULL && (h = vfs_held_find(name)) != NULL) {
		if (h->refs == 0)
			vfs_held_free(h);
		else
			vfs_held_drop(h);
	}
	return real_vfs->xDelete(real_vfs, name, sync_dir);
}

static int
v_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
	(void)vfs;
	return real_vfs->xAccess(real_vfs, name, flags, out);
}

static int
v_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
	(void)vfs;
	return real_vfs->xFullPathname(real_vfs, name, n, out);
}

static void *
v_dlopen(sqlite3_vfs *vfs, const char *name)
{
	(void)vfs;
	return real_vfs->xDlOpen(real_vfs, name);
}

static void
v_dlerror(sqlite3_vfs *vfs, int n, char *out)
{
	(void)vfs;
	real_vfs->xDlError(real_vfs, n, out);
}

static void (*v_dlsym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
	(void)vfs;
	return real_vfs->xDlSym(real_vfs, h, sym);
}

static void
v_dlclose(sqlite3_vfs *vfs, void *h)
{
	(void)vfs;
	real_vfs->xDlClose(real_vfs, h);
}

static int
v_randomness(sqlite3_vfs *vfs, int n, char *out)
{
	(void)vfs;
	return real_vfs->xRandomness(real_vfs, n, out);
}

static int
v_sleep(sqlite3_vfs *vfs, int us)
{
	(void)vfs;
	return real_vfs->xSleep(real_vfs, us);
}

static int
v_current_time(sqlite3_vfs *vfs, double *out)
{
	(void)vfs;
	return real_vfs->xCurrentTime(real_vfs, out);
}

static int
v_last_error(sqlite3_vfs *vfs, int n, char *out)
{
	(void)vfs;
	return real_vfs->xGetLastError(real_vfs, n, out);
}

static int
v_current_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
	(void)vfs;
	return real_vfs->xCurrentTimeInt64(real_vfs, out);
}

static sqlite3_vfs shim_vfs = {
	.iVersion = 2,
	.zName = STORE_VFS_NAME,
	.xOpen = v_open,
	.xDelete = v_delete,
	.xAccess = v_access,
	.xFullPathname = v_full_pathname,
	.xDlOpen = v_dlopen,
	.xDlError = v_dlerror,
	.xDlSym = v_dlsym,
	.xDlClose = v_dlclose,
	.xRandomness = v_randomness,
	.xSleep = v_sleep,
	.xCurrentTime = v_current_time,
	.xGetLastError = v_last_error,
	.xCurrentTimeInt64 = v_current_time64,
};

int
store_vfs_register(void)
{
	sqlite3_vfs *unix_vfs;
	int rc;

	if (real_vfs != NULL)
		return SQLITE_OK;
	if ((rc = sqlite3_initialize()) != SQLITE_OK)
		return rc;
	if ((unix_vfs = sqlite3_vfs_find("unix")) == NULL ||
	    unix_vfs->iVersion < 2)
		return SQLITE_ERROR;
	shim_vfs.szOsFile = (int)sizeof(struct shim_file) + unix_vfs->szOsFile;
	shim_vfs.mxPathname = unix_vfs->mxPathname;
	real_vfs = unix_vfs;
	if ((rc = sqlite3_vfs_register(&shim_vfs, 0)) != SQLITE_OK)
		real_vfs = NULL;
	return rc;
}

void
store_vfs_counts(struct store_vfs_counts *out)
{
	*out = counts;
}

void
store_vfs_sync_work(void (*fn)(void *), void *arg)
{
	vfs_sync_work = fn;
	vfs_sync_work_arg = arg;
}

void
store_vfs_fail_writes(unsigned n)
{
	vfs_fail_writes = n;
}

void
store_vfs_fail_syncs(unsigned n)
{
	vfs_fail_syncs = n;
}

void
store_vfs_fail_shm_grows(unsigned n)
{
	fail_shm_grows = n;
}
