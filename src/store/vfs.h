/*
 * vfs.h: the store's SQLite VFS, "parley-unix": SQLite's own unix VFS with
 * the writes of a commit to the WAL gathered into one (docs/store.md,
 * "Gathered WAL writes"). Internal to the store (store_open uses it).
 */
#ifndef PARLEY_STORE_VFS_H
#define PARLEY_STORE_VFS_H

#include <stdbool.h>
#include <stdint.h>

#define STORE_VFS_NAME "parley-unix"

/* Registers the VFS once (not as the default); 0 or an SQLite code. */
int store_vfs_register(void);

/* Counters over the process, for tests and benchmarks: xWrite calls SQLite
 * made on WAL files, and the writes that reached the file for them. */
struct store_vfs_counts {
	uint64_t wal_writes_asked;
	uint64_t wal_writes_done;
	uint64_t syncs_voided;		/* failed WAL syncs made void (NOTES 8) */
};
void store_vfs_counts(struct store_vfs_counts *out);
/* The next sync of a WAL file runs fn(arg) once, on this thread, while
 * the disk writes what was written before it (vfs.c NOTES 6): the
 * commit's frames, or at a WAL restart the new header alone (the frames
 * come after); in power-cut mode before the held writes are made. Not
 * run (and kept) for a WAL without a read-only descriptor or when
 * sync_file_range fails. fn(NULL, NULL) forgets it. fn must only
 * prepare: the commit is not durable yet and may still fail. */
void store_vfs_sync_work(void (*fn)(void *), void *arg);
/* Tests: the next n write-outs of gathered WAL bytes (in power-cut mode:
 * of a WAL's held writes, at its sync) fail with SQLITE_IOERR_WRITE (a
 * disk error at the commit). */
void store_vfs_fail_writes(unsigned n);
/* Tests: the next n syncs of a WAL file fail with SQLITE_IOERR_FSYNC
 * after the sync work ran and the bytes were written (an fdatasync
 * error at the commit). */
void store_vfs_fail_syncs(unsigned n);
/* Tests: the next n times the WAL index (the -shm file) would have to
 * grow, it fails with SQLITE_IOERR_SHMSIZE instead (a full disk). */
void store_vfs_fail_shm_grows(unsigned n);

/*
 * Tests only: power-cut mode (docs/store.md, "Power-cut mode"). A
 * database or WAL file opened through the VFS while it is on holds every
 * write and truncate in this process's memory until that file's xSync
 * (reads and sizes see them), so a process killed with SIGKILL loses
 * exactly what a power cut would: everything not synced. Files opened
 * before keep their mode. fn (may be NULL) is called before each held
 * write (off: its offset), truncate (off: the size) and sync of such a
 * file, wal telling which file: a test may end the process there.
 */
enum store_vfs_event {
	STORE_VFS_WRITE,
	STORE_VFS_TRUNCATE,
	STORE_VFS_SYNC,
};
typedef void (*store_vfs_powercut_fn)(void *arg, bool wal,
    enum store_vfs_event ev, int64_t off);
void store_vfs_powercut(bool on, store_vfs_powercut_fn fn, void *arg);

#endif
