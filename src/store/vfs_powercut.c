/*
 * vfs_powercut.c: the store VFS's power-cut mode, for tests (vfs.h
 * store_vfs_powercut; vfs.c NOTES 7; docs/store.md, "Power-cut mode"):
 * a database or WAL file opened while it is on holds every write and
 * truncate in this process's memory until that file's xSync. Moved out
 * of vfs.c as it was; vfs_int.h is what the two share.
 */
#include "store/vfs.h"
#include "store/vfs_int.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* --- power-cut mode (vfs.c NOTES 7) --------------------------------------- */

#define HELD_MAX ((size_t)1 << 30)	/* bytes held in the process */

struct held_op {
	struct held_op *next;
	sqlite3_int64 off;		/* a write's offset, a truncate's size */
	int n;				/* a write's bytes; -1: a truncate */
	unsigned char data[];
};

bool vfs_powercut;				/* store_vfs_powercut */
static store_vfs_powercut_fn pc_hook;
static void *pc_hook_arg;
struct held *vfs_helds;			/* every name held */
static size_t held_bytes;

void
vfs_held_drop(struct held *h)
{
	struct held_op *o, *next;

	for (o = h->first; o != NULL; o = next) {
		next = o->next;
		if (o->n > 0)
			held_bytes -= (size_t)o->n;
		free(o);
	}
	h->first = h->last = NULL;
}

struct held *
vfs_held_find(const char *name)
{
	for (struct held *h = vfs_helds; h != NULL; h = h->next)
		if (strcmp(h->name, name) == 0)
			return h;
	return NULL;
}

void
vfs_held_free(struct held *h)
{
	for (struct held **p = &vfs_helds; *p != NULL; p = &(*p)->next)
		if (*p == h) {
			*p = h->next;
			break;
		}
	vfs_held_drop(h);
	free(h);
}

static void
hook(const struct shim_file *f, enum store_vfs_event ev, sqlite3_int64 off)
{
	if (pc_hook != NULL)
		pc_hook(pc_hook_arg, f->wal, ev, (int64_t)off);
}

/* Appends an operation; the size seen follows it. */
static int
held_add(struct shim_file *f, const void *buf, int n, sqlite3_int64 off)
{
	struct held *h = f->held;
	struct held_op *o;
	sqlite3_int64 size;
	int rc;

	if (h->first == NULL) {
		if ((rc = f->real->pMethods->xFileSize(f->real, &size)) !=
		    SQLITE_OK)
			return rc;
		h->size = size;
	}
	if (n > 0 && held_bytes + (size_t)n > HELD_MAX)
		return SQLITE_IOERR_WRITE;
	if ((o = malloc(sizeof *o + (n > 0 ? (size_t)n : 0))) == NULL)
		return SQLITE_IOERR_NOMEM;
	o->next = NULL;
	o->off = off;
	o->n = n;
	if (n > 0) {
		memcpy(o->data, buf, (size_t)n);
		held_bytes += (size_t)n;
		if (off + n > h->size)
			h->size = off + n;
	} else {
		h->size = off;
	}
	if (h->last != NULL)
		h->last->next = o;
	else
		h->first = o;
	h->last = o;
	return SQLITE_OK;
}

static int
pc_close(sqlite3_file *p)
{
	struct shim_file *f = (struct shim_file *)p;

	/* the held writes stay for the next open (the page cache's) */
	if (--f->held->refs == 0 && f->held->first == NULL)
		vfs_held_free(f->held);
	f->held = NULL;
	return f->real->pMethods->xClose(f->real);
}

static int
pc_read(sqlite3_file *p, void *buf, int n, sqlite3_int64 off)
{
	struct shim_file *f = (struct shim_file *)p;
	struct held *h = f->held;
	unsigned char *b = buf;
	sqlite3_int64 end = off + n, lo, hi;
	int rc;

	rc = f->real->pMethods->xRead(f->real, buf, n, off);
	if (h->first == NULL ||
	    (rc != SQLITE_OK && rc != SQLITE_IOERR_SHORT_READ))
		return rc;
	/* the real file's bytes (zeros past its end), then each held
	 * operation over them in order */
	for (const struct held_op *o = h->first; o != NULL; o = o->next) {
		if (o->n < 0) {
			lo = o->off > off ? o->off : off;
			if (lo < end)
				memset(b + (lo - off), 0, (size_t)(end - lo));
			continue;
		}
		lo = o->off > off ? o->off : off;
		hi = o->off + o->n < end ? o->off + o->n : end;
		if (lo < hi)
			memcpy(b + (lo - off), o->data + (lo - o->off),
			    (size_t)(hi - lo));
	}
	if (h->size >= end)
		return SQLITE_OK;
	lo = h->size > off ? h->size : off;
	memset(b + (lo - off), 0, (size_t)(end - lo));
	return SQLITE_IOERR_SHORT_READ;
}

static int
pc_write(sqlite3_file *p, const void *buf, int n, sqlite3_int64 off)
{
	struct shim_file *f = (struct shim_file *)p;

	hook(f, STORE_VFS_WRITE, off);
	return n > 0 ? held_add(f, buf, n, off) : SQLITE_OK;
}

/* The size held is the one the replay will make: the unix VFS rounds a
 * truncate up to the handle's chunk size (the WAL's is set, store.c
 * wal_presize), keeping the bytes below that. */
static int
pc_truncate(sqlite3_file *p, sqlite3_int64 size)
{
	struct shim_file *f = (struct shim_file *)p;

	hook(f, STORE_VFS_TRUNCATE, size);
	if (f->chunk > 0)
		size = (size + f->chunk - 1) / f->chunk * f->chunk;
	return held_add(f, NULL, -1, size);
}

/* The held operations made on the real file, in order, then the sync.
 * A WAL's sync work runs first (after the hook: a kill there runs none),
 * as x_sync runs it before the fdatasync: once, then forgotten. */
static int
pc_sync(sqlite3_file *p, int flags)
{
	struct shim_file *f = (struct shim_file *)p;
	sqlite3_file *r = f->real;
	int rc = SQLITE_OK;

	hook(f, STORE_VFS_SYNC, 0);
	if (vfs_sync_work != NULL && f->wal) {
		void (*fn)(void *) = vfs_sync_work;

		vfs_sync_work = NULL;
		fn(vfs_sync_work_arg);
	}
	/* store_vfs_fail_writes: the write-out fails as on a disk error,
	 * the held bytes dropped (as run_out drops a run) */
	if (f->wal && vfs_fail_writes > 0 && f->held->first != NULL) {
		vfs_fail_writes--;
		rc = SQLITE_IOERR_WRITE;
	}
	for (const struct held_op *o = f->held->first; o != NULL &&
	    rc == SQLITE_OK; o = o->next) {
		rc = o->n < 0 ? r->pMethods->xTruncate(r, o->off) :
		    r->pMethods->xWrite(r, o->data, o->n, o->off);
		if (f->wal && o->n > 0)
			vfs_unsynced_add(f, o->off, o->n);
	}
	vfs_held_drop(f->held);
	if (f->wal && rc != SQLITE_OK)
		return vfs_unsynced_void(f, rc, flags);
	if (rc != SQLITE_OK)
		return rc;
	if (f->wal && vfs_fail_syncs > 0) {
		vfs_fail_syncs--;
		return vfs_unsynced_void(f, SQLITE_IOERR_FSYNC, flags);
	}
	rc = r->pMethods->xSync(r, flags);
	if (f->wal && rc != SQLITE_OK)
		return vfs_unsynced_void(f, rc, flags);
	f->unsynced_lo = -1;
	f->unsynced_hi = 0;
	return rc;
}

static int
pc_file_size(sqlite3_file *p, sqlite3_int64 *size)
{
	struct shim_file *f = (struct shim_file *)p;

	if (f->held->first == NULL)
		return f->real->pMethods->xFileSize(f->real, size);
	*size = f->held->size;
	return SQLITE_OK;
}

static int
pc_file_control(sqlite3_file *p, int op, void *arg)
{
	struct shim_file *f = (struct shim_file *)p;

	/* A size hint extends the real file at once: not while writes are
	 * held, whose sizes it would not see (a hint: nothing is lost). */
	if (op == SQLITE_FCNTL_SIZE_HINT && f->held->first != NULL)
		return SQLITE_OK;
	if (op == SQLITE_FCNTL_CHUNK_SIZE)	/* pc_truncate rounds as the */
		f->chunk = *(int *)arg;		/* unix VFS will */
	return f->real->pMethods->xFileControl(f->real, op, arg);
}

/* No memory map: every read goes through pc_read. */
static int
pc_fetch(sqlite3_file *p, sqlite3_int64 off, int n, void **pp)
{
	(void)p;
	(void)off;
	(void)n;
	*pp = NULL;
	return SQLITE_OK;
}

static int
pc_unfetch(sqlite3_file *p, sqlite3_int64 off, void *page)
{
	(void)p;
	(void)off;
	(void)page;
	return SQLITE_OK;
}

/* Locks, sector size, characteristics and the shared memory as the
 * gathering shim's: with nothing gathered (len 0) they go straight on. */
static const sqlite3_io_methods pc_methods = {
	3, pc_close, pc_read, pc_write, pc_truncate, pc_sync, pc_file_size,
	vfs_x_lock, vfs_x_unlock, vfs_x_check_reserved, pc_file_control, vfs_x_sector_size,
	vfs_x_device_characteristics, vfs_x_shm_map, vfs_x_shm_lock, vfs_x_shm_barrier,
	vfs_x_shm_unmap, pc_fetch, pc_unfetch,
};

/* Attaches f to its name's held writes (made if new). */
int
vfs_pc_attach(struct shim_file *f, const char *name)
{
	struct held *h = vfs_held_find(name);
	size_t len = strlen(name);

	if (h == NULL) {
		if ((h = calloc(1, sizeof *h + len + 1)) == NULL)
			return SQLITE_NOMEM;
		memcpy(h->name, name, len + 1);
		h->next = vfs_helds;
		vfs_helds = h;
	}
	h->refs++;
	f->held = h;
	f->base.pMethods = &pc_methods;
	return SQLITE_OK;
}

void
store_vfs_powercut(bool on, store_vfs_powercut_fn fn, void *arg)
{
	vfs_powercut = on;
	pc_hook = on ? fn : NULL;
	pc_hook_arg = on ? arg : NULL;
}
