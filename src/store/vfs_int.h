/*
 * vfs_int.h: what the two halves of the store's VFS share, and nothing
 * else includes: vfs.c (the gathering shim and the VFS, its NOTES) and
 * vfs_powercut.c (the tests' power-cut mode, vfs.c NOTES 7). One file
 * handle of either kind, the shim's methods that power-cut files use as
 * they are, and the power-cut mode's lists that the VFS's open and delete
 * look at.
 */
#ifndef PARLEY_STORE_VFS_INT_H
#define PARLEY_STORE_VFS_INT_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/vfs.h"

struct held;

struct shim_file {
	sqlite3_file base;		/* pMethods: shim_methods, pc_methods */
	sqlite3_file *real;		/* the unix VFS's file, after this */
	struct held *held;		/* pc_methods: its name's held writes */
	bool wal;			/* a WAL file: writes gathered */
	int failed;			/* a write-out's failure not yet reported */
	unsigned char *run;		/* gathered writes */
	struct shim_file *next_wal;	/* open WAL files (wals) */
	int wb_fd;			/* the WAL, read-only, to start its
					 * write-back (sync work); -1: none */
	int chunk;			/* pc_methods: SQLITE_FCNTL_CHUNK_SIZE */
	size_t len, cap;
	sqlite3_int64 off;		/* of run[0] in the file */
	/* A WAL's bytes written since its last good sync, [lo, hi); lo < 0:
	 * none (NOTES 8). */
	sqlite3_int64 unsynced_lo, unsynced_hi;
	const char *db;			/* its connection's database name: the
					 * same pointer for its WAL (NOTES 8) */
	struct shim_file *next_db;	/* open database files (dbs) */
	uint32_t wal_page;		/* a WAL's page size; 0: not read yet */
	int shm_mapped;			/* a WAL: index regions 0..this known
					 * mapped (NOTES 9); -1: none */
};

/* vfs.c: the gathering shim's methods that pc_methods shares (with
 * nothing gathered they go straight on), its range of a WAL's unsynced
 * bytes (NOTES 8), and the tests' failures and the sync work (vfs.h). */
int vfs_x_lock(sqlite3_file *p, int lock);
int vfs_x_unlock(sqlite3_file *p, int lock);
int vfs_x_check_reserved(sqlite3_file *p, int *out);
int vfs_x_sector_size(sqlite3_file *p);
int vfs_x_device_characteristics(sqlite3_file *p);
int vfs_x_shm_map(sqlite3_file *p, int pg, int pgsz, int extend,
    void volatile **pp);
int vfs_x_shm_lock(sqlite3_file *p, int offset, int n, int flags);
void vfs_x_shm_barrier(sqlite3_file *p);
int vfs_x_shm_unmap(sqlite3_file *p, int del);
void vfs_unsynced_add(struct shim_file *f, sqlite3_int64 off, sqlite3_int64 n);
int vfs_unsynced_void(struct shim_file *f, int rc, int flags);
extern unsigned vfs_fail_writes;		/* store_vfs_fail_writes */
extern unsigned vfs_fail_syncs;		/* store_vfs_fail_syncs */
extern void (*vfs_sync_work)(void *);	/* store_vfs_sync_work */
extern void *vfs_sync_work_arg;

struct held_op;

/* One file name's writes not yet synced. */
struct held {
	struct held *next;		/* vfs_helds */
	struct held_op *first, *last;
	sqlite3_int64 size;		/* the file's size seen, while first */
	unsigned refs;			/* open handles */
	char name[];
};

/* vfs_powercut.c: the mode (store_vfs_powercut), every file name's held
 * writes, and a handle attached to its name's (pc_methods). */
extern bool vfs_powercut;
extern struct held *vfs_helds;
int vfs_pc_attach(struct shim_file *f, const char *name);
struct held *vfs_held_find(const char *name);
void vfs_held_free(struct held *h);
void vfs_held_drop(struct held *h);

#endif
