/*
 * record.c: see record.h. Reads the store as a record (read-only opens,
 * heads, receipts, channels) and copies it (online backup, restore).
 */
#include "store/record.h"
#include "store/store_int.h"

#include "base/hex.h"

#include <sqlite3.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int
rfail(struct store *s, int rc)
{
	snprintf(s->errmsg, sizeof s->errmsg, "%s", sqlite3_errmsg(s->db));
	switch (rc & 0xff) {
	case SQLITE_NOMEM:
		return ERR_NOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return ERR_AGAIN;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return ERR_PARSE;
	case SQLITE_CANTOPEN:
		return ERR_NOT_FOUND;
	case SQLITE_FULL:
		return ERR_FULL;
	case SQLITE_CONSTRAINT:
		return ERR_INVALID;
	default:
		return ERR_IO;
	}
}

static int
qint(struct store *s, const char *sql, sqlite3_int64 *v)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL)) != SQLITE_OK)
		return rfail(s, rc);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? ERR_NOT_FOUND : rfail(s, rc);
}

static int
check_parley(struct store *s, bool older_ok)
{
	sqlite3_int64 app, version;
	int r;

	if ((r = qint(s, "PRAGMA application_id", &app)) != 0 ||
	    (r = qint(s, "PRAGMA user_version", &version)) != 0)
		return r;
	if (app != STORE_APPLICATION_ID) {
		snprintf(s->errmsg, sizeof s->errmsg, "not a parley store");
		return ERR_VERSION;
	}
	if (version != STORE_SCHEMA_VERSION && !(older_ok && version >= 1 &&
	    version < STORE_SCHEMA_VERSION)) {
		snprintf(s->errmsg, sizeof s->errmsg, "schema version %lld,"
		    " this build reads %d", (long long)version,
		    STORE_SCHEMA_VERSION);
		return ERR_VERSION;
	}
	return 0;
}

static int
open_ro(struct store **sp, const char *path, bool older_ok)
{
	struct store *s;
	int rc, r;

	*sp = NULL;
	if (access(path, F_OK) != 0)
		return ERR_NOT_FOUND;
	if ((s = calloc(1, sizeof *s)) == NULL)
		return ERR_NOMEM;
	rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READONLY |
	    SQLITE_OPEN_NOFOLLOW, NULL);
	if (rc != SQLITE_OK) {
		r = s->db != NULL ? rfail(s, rc) : ERR_NOMEM;
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, STORE_BUSY_MS);
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0,
	    (int *)NULL);
	if ((r = check_parley(s, older_ok)) != 0)
		goto fail;
	*sp = s;
	return 0;
fail:
	if (s->db != NULL)
		sqlite3_close(s->db);
	free(s);
	return r;
}

int
store_open_readonly(struct store **sp, const char *path)
{
	return open_ro(sp, path, false);
}

int
store_open_backup_file(struct store **sp, const char *path)
{
	return open_ro(sp, path, true);
}

/* Like store_open_readonly (an older schema is fine: parleyd migrates it
 * when it opens the restored store), but keeps the handle's message on failure in
 * why. */
static int
open_ro_why(struct store **sp, const char *path, char *why, size_t cap)
{
	int r = open_ro(sp, path, true);

	if (r != 0 && why != NULL)
		snprintf(why, cap, r == ERR_NOT_FOUND ? "%s: no such file" :
		    "%s: not a parley store of schema version 1..%d (%s)", path,
		    STORE_SCHEMA_VERSION, err_str(r));
	return r;
}

static int
open_home(struct store **sp, const char *home, bool older_ok)
{
	char path[4096];
	int n;

	*sp = NULL;
	n = snprintf(path, sizeof path, "%s/%s", home, STORE_FILE);
	if (n < 0 || (size_t)n >= sizeof path)
		return ERR_TOO_BIG;
	return open_ro(sp, path, older_ok);
}

int
store_open_home_readonly(struct store **sp, const char *home)
{
	return open_home(sp, home, false);
}

int
store_open_home_backup(struct store **sp, const char *home)
{
	return open_home(sp, home, true);
}

int
store_home_version(const char *home, int64_t *version)
{
	struct store s;
	char path[4096];
	sqlite3_int64 app = 0, v = 0;
	int n, rc, r;

	memset(&s, 0, sizeof s);
	n = snprintf(path, sizeof path, "%s/%s", home, STORE_FILE);
	if (n < 0 || (size_t)n >= sizeof path)
		return ERR_TOO_BIG;
	if (access(path, F_OK) != 0)
		return ERR_NOT_FOUND;
	rc = sqlite3_open_v2(path, &s.db, SQLITE_OPEN_READONLY |
	    SQLITE_OPEN_NOFOLLOW, NULL);
	if (rc != SQLITE_OK)
		r = s.db != NULL ? rfail(&s, rc) : ERR_NOMEM;
	else if ((r = qint(&s, "PRAGMA application_id", &app)) == 0 &&
	    (r = qint(&s, "PRAGMA user_version", &v)) == 0 &&
	    app != STORE_APPLICATION_ID)
		r = ERR_VERSION;
	sqlite3_close(s.db);
	if (r == 0)
		*version = v;
	return r;
}

int
store_read_begin(struct store *s)
{
	int rc;

	if (!sqlite3_get_autocommit(s->db))
		return ERR_STATE;
	rc = sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : rfail(s, rc);
}

void
store_read_end(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		(void)sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
}

static int
blob32(sqlite3_stmt *st, int col, uint8_t *out, size_t n)
{
	const void *p = sqlite3_column_blob(st, col);

	if (p == NULL || (size_t)sqlite3_column_bytes(st, col) != n)
		return ERR_PARSE;
	memcpy(out, p, n);
	return 0;
}

static unsigned fail_reads;		/* store_fail_reads */

void
store_fail_reads(unsigned n)
{
	fail_reads = n;
}

int
store_id_find(struct store *s, const uint8_t channel[STORE_ID_LEN],
    uint8_t sender, const uint8_t id[STORE_ID_LEN], uint64_t *seq,
    uint32_t *kind)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	/* Kept: the receiver looks up each message's references here. */
	if ((r = store_kept_prep(s, &st, "SELECT seq, kind FROM message WHERE"
	    " id = ?1 AND channel = ?2 AND sender = ?3")) != 0)
		return r;
	sqlite3_bind_blob(st, 1, id, STORE_ID_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, channel, STORE_ID_LEN, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, sender);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*seq = (uint64_t)sqlite3_column_int64(st, 0);
		*kind = (uint32_t)sqlite3_column_int64(st, 1);
		r = 0;
	} else
		r = rc == SQLITE_DONE ? ERR_NOT_FOUND : rfail(s, rc);
	store_kept_done(s, st);
	return r;
}

int
store_ids_range(struct store *s, const uint8_t channel[STORE_ID_LEN],
    uint8_t sender, uint64_t from, size_t n, uint8_t (*ids)[STORE_ID_LEN])
{
	sqlite3_stmt *st = NULL;
	sqlite3_int64 seq;
	int rc, r = 0;

	memset(ids, 0, n * STORE_ID_LEN);
	if (fail_reads > 0) {
		fail_reads--;
		snprintf(s->errmsg, sizeof s->errmsg, "a read failed "
		    "(store_fail_reads)");
		return ERR_IO;
	}
	if (n == 0)
		return 0;
	if (from > INT64_MAX - n)
		return ERR_INVALID;
	/* Kept (store_int.h): the daemon's co-signed checkpoints
	 * (msg/checkpoint.c) read ids here. */
	rc = store_kept_prepare(s, &st, "SELECT seq, id FROM message WHERE"
	    " channel = ?1 AND sender = ?2 AND seq > ?3 AND seq <= ?4"
	    " ORDER BY seq");
	if (rc != SQLITE_OK)
		return (r = rfail(s, rc)) == ERR_PARSE ? ERR_IO : r;
	sqlite3_bind_blob(st, 1, channel, STORE_ID_LEN, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, sender);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)from);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)(from + n));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		seq = sqlite3_column_int64(st, 0);
		if ((uint64_t)seq <= from || (uint64_t)seq > from + n ||
		    blob32(st, 1, ids[seq - (sqlite3_int64)from - 1],
		    STORE_ID_LEN) != 0) {
			/* our own store, not the peer's input */
			snprintf(s->errmsg, sizeof s->errmsg, "the message row"
			    " of sender %u at seq %lld has no valid id (%d "
			    "bytes)", sender, (long long)seq,
			    sqlite3_column_bytes(st, 1));
			r = ERR_IO;
			break;
		}
	}
	if (r == 0 && rc != SQLITE_DONE && (r = rfail(s, rc)) == ERR_PARSE)
		r = ERR_IO;		/* a corrupt file: the same */
	store_kept_done(s, st);
	return r;
}

static uint64_t
u64(sqlite3_stmt *st, int col)
{
	sqlite3_int64 v = sqlite3_column_int64(st, col);

	return v < 0 ? 0 : (uint64_t)v;
}

int
store_heads_each(struct store *s, const uint8_t channel[STORE_ID_LEN],
    uint8_t sender, store_head_fn fn, void *arg)
{
	sqlite3_stmt *st = NULL;
	struct store_head h;
	int rc, r = 0;

	rc = sqlite3_prepare_v2(s->db, "SELECT seq, id, sig FROM head WHERE"
	    " channel = ?1 AND sender = ?2 ORDER BY seq", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rfail(s, rc);
	sqlite3_bind_blob(st, 1, channel, STORE_ID_LEN, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, sender);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&h, 0, sizeof h);
		memcpy(h.channel, channel, STORE_ID_LEN);
		h.sender = sender;
		h.seq = u64(st, 0);
		if ((r = blob32(st, 1, h.id, sizeof h.id)) != 0 ||
		    (r = blob32(st, 2, h.sig, sizeof h.sig)) != 0 ||
		    (r = fn(arg, &h)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = rfail(s, rc);
	sqlite3_finalize(st);
	return r;
}

int
store_receipts_each(struct store *s, const uint8_t channel[STORE_ID_LEN],
    uint8_t receiver, store_receipt_fn fn, void *arg)
{
	sqlite3_stmt *st = NULL;
	struct store_receipt rc_;
	int rc, r = 0;

	rc = sqlite3_prepare_v2(s->db, "SELECT seq, id, time_ms, sig FROM"
	    " receipt WHERE channel = ?1 AND receiver = ?2 ORDER BY seq", -1,
	    &st, NULL);
	if (rc != SQLITE_OK)
		return rfail(s, rc);
	sqlite3_bind_blob(st, 1, channel, STORE_ID_LEN, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, receiver);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&rc_, 0, sizeof rc_);
		memcpy(rc_.channel, channel, STORE_ID_LEN);
		rc_.receiver = receiver;
		rc_.seq = u64(st, 0);
		rc_.time_ms = u64(st, 2);
		if ((r = blob32(st, 1, rc_.id, sizeof rc_.id)) != 0 ||
		    (r = blob32(st, 3, rc_.sig, sizeof rc_.sig)) != 0 ||
		    (r = fn(arg, &rc_)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = rfail(s, rc);
	sqlite3_finalize(st);
	return r;
}

int
store_chain_channels_each(struct store *s, store_channel_fn fn, void *arg)
{
	sqlite3_stmt *st = NULL;
	uint8_t channel[STORE_ID_LEN];
	int rc, r = 0;

	rc = sqlite3_prepare_v2(s->db, "SELECT channel, count(*) FROM message"
	    " WHERE seq IS NOT NULL GROUP BY channel ORDER BY channel", -1,
	    &st, NULL);
	if (rc != SQLITE_OK)
		return rfail(s, rc);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((r = blob32(st, 0, channel, sizeof channel)) != 0 ||
		    (r = fn(arg, channel, u64(st, 1))) != 0)
			break;
	if (r == 0 && rc != SQLITE_DONE)
		r = rfail(s, rc);
	sqlite3_finalize(st);
	return r;
}

/* Column i of a row from a file of any schema, as text fit to print: its
 * integer, NULL, or "not an integer" (never the file's own text, which
 * could hold terminal control bytes). */
static void
int_text(sqlite3_stmt *st, int i, char *out, size_t cap)
{
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_INTEGER:
		snprintf(out, cap, "%lld",
		    (long long)sqlite3_column_int64(st, i));
		break;
	case SQLITE_NULL:
		snprintf(out, cap, "NULL");
		break;
	default:
		snprintf(out, cap, "not an integer");
	}
}

int
store_own_parties_each(struct store *s, store_party_fn fn, void *arg)
{
	sqlite3_stmt *st = NULL;
	uint8_t channel[STORE_ID_LEN];
	char hex[2 * 8 + 1];
	int rc, self, r = 0;

	/* dir 1 (ours) and dir 2 (the peer's) exist since schema 1; the
	 * values are checked here, not trusted to the file's CHECKs (a
	 * backup file's schema is whatever its writer made it): a row of
	 * neither is self -1, its dir and sender those of one such row */
	rc = sqlite3_prepare_v2(s->db, "SELECT channel, CASE WHEN sender IN "
	    "(0, 1) AND dir = 1 THEN sender WHEN sender IN (0, 1) AND dir = 2 "
	    "THEN 1 - sender ELSE -1 END AS self, count(*), dir, sender FROM "
	    "message GROUP BY channel, self ORDER BY channel, self", -1, &st,
	    NULL);
	if (rc != SQLITE_OK)
		return rfail(s, rc);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((r = blob32(st, 0, channel, sizeof channel)) != 0)
			break;
		if ((self = sqlite3_column_int(st, 1)) != 0 && self != 1) {
			char sender[24], dir[24];

			hex_encode(hex, channel, 8);
			int_text(st, 4, sender, sizeof sender);
			int_text(st, 3, dir, sizeof dir);
			snprintf(s->errmsg, sizeof s->errmsg, "a message row of "
			    "channel %s is neither party's (sender %s, dir %s)",
			    hex, sender, dir);
			r = ERR_PARSE;
			break;
		}
		if ((r = fn(arg, channel, (uint8_t)self, u64(st, 2))) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = rfail(s, rc);
	sqlite3_finalize(st);
	return r;
}

int
store_anchor_sigs_each(struct store *s, store_anchor_sig_fn fn, void *arg)
{
	sqlite3_stmt *st = NULL;
	uint8_t channel[STORE_ID_LEN], anchor[STORE_ID_LEN];
	uint8_t sig[STORE_SIG_LEN];
	char hex[2 * 8 + 1];
	int rc, r = 0;

	/* both tables came with schema 8 */
	rc = sqlite3_prepare_v2(s->db, "SELECT 1 FROM sqlite_master WHERE "
	    "type = 'table' AND name = 'audit_anchor_given'", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rfail(s, rc);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return rfail(s, rc);
	rc = sqlite3_prepare_v2(s->db, "SELECT channel, 0, anchor, time_ms, "
	    "sig FROM audit_anchor UNION ALL SELECT channel, 1, anchor, "
	    "time_ms, sig FROM audit_anchor_given ORDER BY 1, 2", -1, &st,
	    NULL);
	if (rc != SQLITE_OK)
		return rfail(s, rc);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		bool given = sqlite3_column_int(st, 1) != 0;

		if (blob32(st, 0, channel, sizeof channel) != 0 ||
		    blob32(st, 2, anchor, sizeof anchor) != 0 ||
		    blob32(st, 4, sig, sizeof sig) != 0 ||
		    sqlite3_column_type(st, 3) != SQLITE_INTEGER ||
		    sqlite3_column_int64(st, 3) < 0) {
			if (blob32(st, 0, channel, sizeof channel) == 0)
				hex_encode(hex, channel, 8);
			else
				snprintf(hex, sizeof hex, "(no id)");
			snprintf(s->errmsg, sizeof s->errmsg, "a row of %s of "
			    "channel %s is malformed (a blob of the wrong "
			    "length, or its time no integer >= 0)", given ?
			    "audit_anchor_given" : "audit_anchor", hex);
			r = ERR_PARSE;
			break;
		}
		if ((r = fn(arg, channel, given, anchor, u64(st, 3), sig)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = rfail(s, rc);
	sqlite3_finalize(st);
	return r;
}

/* Copies src into the open, empty database dst, step by step. */
static int
copy(struct store *s, sqlite3 *src, sqlite3 *dst, uint64_t *pages)
{
	sqlite3_backup *b;
	int rc;

	if ((b = sqlite3_backup_init(dst, "main", src, "main")) == NULL) {
		snprintf(s->errmsg, sizeof s->errmsg, "%s",
		    sqlite3_errmsg(dst));
		return ERR_IO;
	}
	do {
		rc = sqlite3_backup_step(b, STORE_BACKUP_STEP);
		if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
			sqlite3_sleep(5);
	} while (rc == SQLITE_OK || rc == SQLITE_BUSY ||
	    rc == SQLITE_LOCKED);
	if (pages != NULL)
		*pages = (uint64_t)sqlite3_backup_pagecount(b);
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE) {
		snprintf(s->errmsg, sizeof s->errmsg, "%s",
		    sqlite3_errstr(rc));
		return (rc & 0xff) == SQLITE_FULL ? ERR_FULL : ERR_IO;
	}
	return 0;
}

/* Opens a new file dest (mode 0600, must not exist) as a database. */
static int
create_new(struct store *s, const char *dest, sqlite3 **db)
{
	int fd, rc;

	fd = open(dest, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd < 0) {
		snprintf(s->errmsg, sizeof s->errmsg, "%s: %s", dest,
		    strerror(errno));
		return errno == EEXIST ? ERR_EXISTS : ERR_IO;
	}
	close(fd);
	rc = sqlite3_open_v2(dest, db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOFOLLOW, NULL);
	if (rc != SQLITE_OK) {
		snprintf(s->errmsg, sizeof s->errmsg, "%s: %s", dest,
		    *db != NULL ? sqlite3_errmsg(*db) : "out of memory");
		sqlite3_close(*db);
		*db = NULL;
		unlink(dest);
		return ERR_IO;
	}
	return 0;
}

/* Leaves the copy in rollback-journal mode off WAL: a single file, as a
 * backup should be; the daemon turns WAL back on when it opens it. */
static int
finish_copy(struct store *s, sqlite3 *db)
{
	int rc = sqlite3_exec(db, "PRAGMA journal_mode = DELETE", NULL, NULL,
	    NULL);

	if (rc == SQLITE_OK)
		return 0;
	snprintf(s->errmsg, sizeof s->errmsg, "%s", sqlite3_errmsg(db));
	return (rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB ?
	    ERR_PARSE : ERR_IO;
}

/* The copy's b-trees are whole (PRAGMA quick_check: every page of every
 * table and index reachable once, well formed): the backup API copies
 * pages as they are, and a file damaged at rest must not replace a
 * store. ERR_PARSE with the first problem in s->errmsg. */
static int
check_copy(struct store *s, sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	const char *res;
	int rc, r = 0;

	rc = sqlite3_prepare_v2(db, "PRAGMA quick_check(1)", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	res = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) :
	    NULL;
	if (rc != SQLITE_ROW || res == NULL || strcmp(res, "ok") != 0) {
		snprintf(s->errmsg, sizeof s->errmsg, "%s", res != NULL ? res :
		    sqlite3_errmsg(db));
		r = rc == SQLITE_ROW || (rc & 0xff) == SQLITE_CORRUPT ||
		    (rc & 0xff) == SQLITE_NOTADB ? ERR_PARSE : ERR_IO;
	}
	sqlite3_finalize(st);
	return r;
}

int
store_backup(struct store *s, const char *dest, uint64_t *pages)
{
	sqlite3 *db = NULL;
	int r;

	if ((r = create_new(s, dest, &db)) != 0)
		return r;
	if ((r = copy(s, s->db, db, pages)) != 0 ||
	    (r = finish_copy(s, db)) != 0) {
		sqlite3_close(db);
		unlink(dest);
		return r;
	}
	if (sqlite3_close(db) != SQLITE_OK) {
		unlink(dest);
		return ERR_IO;
	}
	return 0;
}

int
store_restore(const char *file, const char *home, bool force, char *why,
    size_t whycap)
{
	struct store *src = NULL;
	struct store tmp_s;
	char dest[4096], tmp[4200], side[4200];
	sqlite3 *db = NULL;
	bool made = false;
	int n, r;

	memset(&tmp_s, 0, sizeof tmp_s);
	n = snprintf(dest, sizeof dest, "%s/%s", home, STORE_FILE);
	if (n < 0 || (size_t)n >= sizeof dest)
		return ERR_TOO_BIG;
	if (access(dest, F_OK) == 0 && !force) {
		snprintf(why, whycap, "%s exists (use --force to replace it)",
		    dest);
		return ERR_EXISTS;
	}
	if ((r = open_ro_why(&src, file, why, whycap)) != 0)
		return r;
	snprintf(tmp, sizeof tmp, "%s.restore-%ld", dest, (long)getpid());
	if ((r = create_new(&tmp_s, tmp, &db)) != 0) {
		snprintf(why, whycap, "%s", tmp_s.errmsg);
		goto out;
	}
	made = true;
	if ((r = copy(&tmp_s, src->db, db, NULL)) != 0) {
		snprintf(why, whycap, "copy: %s", tmp_s.errmsg);
		goto out;
	}
	if ((r = check_copy(&tmp_s, db)) != 0 ||
	    (r = finish_copy(&tmp_s, db)) != 0) {
		snprintf(why, whycap, r == ERR_PARSE ? "%s: damaged, not "
		    "restored (SQLite: %s)" : "%s: copy: %s", file,
		    tmp_s.errmsg);
		goto out;
	}
	sqlite3_close(db);
	db = NULL;
	/* The old store's WAL must not be applied to the restored file. */
	snprintf(side, sizeof side, "%s-wal", dest);
	(void)unlink(side);
	snprintf(side, sizeof side, "%s-shm", dest);
	(void)unlink(side);
	if (rename(tmp, dest) != 0) {
		snprintf(why, whycap, "rename %s: %s", tmp, strerror(errno));
		r = ERR_IO;
		goto out;
	}
out:
	if (db != NULL)
		sqlite3_close(db);
	if (made && r != 0)
		(void)unlink(tmp);
	store_close(src);
	return r;
}

static int
run(struct store *s, const char *sql)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : rfail(s, rc);
}

/* The message may still be queued in the restored store (queued before
 * the backup, sent after it): then that row takes its place in the chain
 * (the header's time is the time it was queued) instead of a new row, so
 * that it is not sent twice. 1 when a row was updated. */
static int
own_queued(struct store *s, sqlite3_stmt *upd, const uint8_t *channel,
    uint8_t sender, const struct store_in *m, uint64_t now_ms)
{
	int rc;

	sqlite3_reset(upd);
	sqlite3_bind_int64(upd, 1, (sqlite3_int64)m->seq);
	sqlite3_bind_blob(upd, 2, m->id, STORE_ID_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(upd, 3, m->header, (int)m->header_len,
	    SQLITE_STATIC);
	sqlite3_bind_int64(upd, 4, (sqlite3_int64)now_ms);
	sqlite3_bind_blob(upd, 5, channel, STORE_ID_LEN, SQLITE_STATIC);
	sqlite3_bind_int(upd, 6, sender);
	sqlite3_bind_int64(upd, 7, (sqlite3_int64)m->time_ms);
	sqlite3_bind_int64(upd, 8, (sqlite3_int64)m->kind);
	sqlite3_bind_int(upd, 9, m->precedence);
	sqlite3_bind_int(upd, 10, m->marking);
	sqlite3_bind_blob(upd, 11, m->body, (int)m->body_len, SQLITE_STATIC);
	st_bind_salt(upd, 12, m->body_salt);
	if ((rc = sqlite3_step(upd)) != SQLITE_DONE)
		return rfail(s, rc);
	return sqlite3_changes(s->db) > 0 ? 1 : 0;
}

static int
own_insert(struct store *s, sqlite3_stmt *ins, const uint8_t *channel,
    uint8_t sender, const struct store_in *m, uint64_t now_ms)
{
	int rc;

	sqlite3_reset(ins);
	sqlite3_bind_blob(ins, 1, channel, STORE_ID_LEN, SQLITE_STATIC);
	sqlite3_bind_int(ins, 2, sender);
	sqlite3_bind_int64(ins, 3, (sqlite3_int64)m->seq);
	sqlite3_bind_blob(ins, 4, m->id, STORE_ID_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(ins, 5, m->header, (int)m->header_len,
	    SQLITE_STATIC);
	sqlite3_bind_int(ins, 6, m->precedence);
	sqlite3_bind_int(ins, 7, m->marking);
	sqlite3_bind_int64(ins, 8, (sqlite3_int64)m->kind);
	sqlite3_bind_blob(ins, 9, m->body, (int)m->body_len, SQLITE_STATIC);
	sqlite3_bind_int64(ins, 10, (sqlite3_int64)m->time_ms);
	sqlite3_bind_int64(ins, 11, (sqlite3_int64)now_ms);
	st_bind_salt(ins, 12, m->body_salt);
	rc = sqlite3_step(ins);
	return rc == SQLITE_DONE ? 0 : rfail(s, rc);
}

int
store_checkpoint_put(struct store *s, const uint8_t channel[STORE_ID_LEN],
    uint64_t seq0, uint64_t seq1, uint64_t time_ms, const uint8_t *cp,
    size_t len, uint64_t now_ms, bool *added)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	*added = false;
	if (len == 0 || len > STORE_CHECKPOINT_MAX)
		return ERR_TOO_BIG;
	if (seq0 > INT64_MAX || seq1 > INT64_MAX || time_ms > INT64_MAX ||
	    now_ms > INT64_MAX)
		return ERR_INVALID;
	if ((r = store_kept_prep(s, &st, "INSERT OR IGNORE INTO checkpoint"
	    " (channel, seq0, seq1, time_ms, cp, stored_ms) VALUES (?1, ?2,"
	    " ?3, ?4, ?5, ?6)")) != 0)
		return r;
	sqlite3_bind_blob(st, 1, channel, STORE_ID_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)seq0);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)seq1);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)time_ms);
	sqlite3_bind_blob(st, 5, cp, (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)now_ms);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		*added = sqlite3_changes(s->db) > 0;
		if (*added && !s->txn)
			s->commits++;
		r = 0;
	} else
		r = rfail(s, rc);
	store_kept_done(s, st);
	return r;
}

int
store_checkpoint_latest(struct store *s, const uint8_t channel[STORE_ID_LEN],
    uint8_t *cp, size_t cap, size_t *len)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	if ((r = store_kept_prep(s, &st, "SELECT cp FROM checkpoint WHERE"
	    " channel = ?1 ORDER BY seq0 DESC, seq1 DESC LIMIT 1")) != 0)
		return r;
	sqlite3_bind_blob(st, 1, channel, STORE_ID_LEN, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		size_t n = (size_t)sqlite3_column_bytes(st, 0);
		const void *p = sqlite3_column_blob(st, 0);
		if (p == NULL || n > cap)
			r = ERR_TOO_BIG;
		else {
			memcpy(cp, p, n);
			*len = n;
			r = 0;
		}
	} else
		r = rc == SQLITE_DONE ? ERR_NOT_FOUND : rfail(s, rc);
	store_kept_done(s, st);
	return r;
}

/* Steps st (its parameters bound), each row's checkpoint to fn, and
 * finalizes it. */
static int
checkpoints_walk(struct store *s, sqlite3_stmt *st, store_checkpoint_fn fn,
    void *arg)
{
	int rc, r = 0;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const uint8_t *p = sqlite3_column_blob(st, 0);
		size_t n = (size_t)sqlite3_column_bytes(st, 0);
		if (p == NULL) {
			r = ERR_PARSE;
			break;
		}
		if ((r = fn(arg, p, n)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = rfail(s, rc);
	sqlite3_finalize(st);
	return r;
}

int
store_checkpoints_each(struct store *s, const uint8_t channel[STORE_ID_LEN],
    store_checkpoint_fn fn, void *arg)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(s->db, "SELECT cp FROM checkpoint WHERE"
	    " channel = ?1 ORDER BY seq0, seq1", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rfail(s, rc);
	sqlite3_bind_blob(st, 1, channel, STORE_ID_LEN, SQLITE_STATIC);
	return checkpoints_walk(s, st, fn, arg);
}

int
store_checkpoints_from(struct store *s, const uint8_t channel[STORE_ID_LEN],
    uint8_t party, uint64_t from, size_t max, store_checkpoint_fn fn,
    void *arg)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (max == 0 || from > INT64_MAX)
		return 0;
	/* party 0 by the primary key (channel, seq0, seq1); party 1 reads
	 * the channel's rows in SQLite, but decodes none */
	rc = sqlite3_prepare_v2(s->db, party == 0 ?
	    "SELECT cp FROM checkpoint WHERE channel = ?1 AND seq0 >= ?2"
	    " ORDER BY seq0, seq1 LIMIT ?3" :
	    "SELECT cp FROM checkpoint WHERE channel = ?1 AND seq1 >= ?2"
	    " ORDER BY seq0, seq1 LIMIT ?3", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rfail(s, rc);
	sqlite3_bind_blob(st, 1, channel, STORE_ID_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)from);
	sqlite3_bind_int64(st, 3, max > INT64_MAX ? INT64_MAX :
	    (sqlite3_int64)max);
	return checkpoints_walk(s, st, fn, arg);
}

/* store_own_recover (receipted: matched to a queued copy, else inserted
 * as STORE_RECEIPTED) and store_own_sent (inserted as STORE_SENT, each
 * row's qid in qids when not NULL). */
static int
own_append(struct store *s, const uint8_t channel[STORE_ID_LEN],
    uint8_t sender, const struct store_in *in, size_t n, uint64_t now_ms,
    bool receipted, int64_t *qids)
{
	sqlite3_stmt *ins = NULL, *upd = NULL;
	uint8_t prev[STORE_ID_LEN];
	uint64_t seq = 0;
	int rc, r;

	if (sender > 1 || n > STORE_BATCH_MAX || now_ms > INT64_MAX)
		return ERR_INVALID;
	/* inside a caller's transaction (store_txn_begin): a savepoint */
	if (s->txn && sqlite3_get_autocommit(s->db))
		return ERR_STATE;
	if ((r = run(s, s->txn ? "SAVEPOINT own" : "BEGIN IMMEDIATE")) != 0)
		return r;
	r = store_highest(s, channel, sender, &seq, prev);
	if (r != 0)
		goto fail;
	rc = sqlite3_prepare_v2(s->db, receipted ? "INSERT INTO message"
	    " (channel, sender, dir, seq, id, header, precedence, marking, kind,"
	    " body, state, time_ms, stored_ms, assigned_ms, receipted_ms,"
	    " body_salt) VALUES (?1, ?2, 1, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 2,"
	    " ?10, ?11, ?11, ?11, ?12)" : "INSERT INTO message (channel,"
	    " sender, dir, seq, id, header, precedence, marking, kind, body,"
	    " state, time_ms, stored_ms, assigned_ms, body_salt) VALUES (?1,"
	    " ?2, 1, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 1, ?10, ?11, ?11, ?12)", -1,
	    &ins, NULL);
	if (rc == SQLITE_OK && receipted)
		rc = sqlite3_prepare_v2(s->db, "UPDATE message SET seq = ?1,"
		    " id = ?2, header = ?3, state = 2, assigned_ms = ?4,"
		    " receipted_ms = ?4, body_salt = ?12 WHERE qid = (SELECT qid"
		    " FROM message"
		    " WHERE channel = ?5 AND sender = ?6 AND state = 0 AND"
		    " time_ms = ?7 AND kind = ?8 AND precedence = ?9 AND"
		    " marking = ?10 AND body = ?11 ORDER BY qid LIMIT 1)", -1,
		    &upd, NULL);
	if (rc != SQLITE_OK) {
		r = rfail(s, rc);
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		if (in[i].seq != seq + 1 || in[i].seq > INT64_MAX) {
			r = ERR_GAP;
			goto fail;
		}
		if (in[i].time_ms > INT64_MAX) {	/* as store_msg.c */
			r = ERR_INVALID;
			goto fail;
		}
		if (memcmp(in[i].prev, prev, STORE_ID_LEN) != 0) {
			r = ERR_CHAIN;
			goto fail;
		}
		if (in[i].header_len > STORE_HEADER_MAX ||
		    in[i].body_len > STORE_BODY_MAX) {
			r = ERR_TOO_BIG;
			goto fail;
		}
		r = 0;
		if (upd != NULL && (r = own_queued(s, upd, channel, sender,
		    &in[i], now_ms)) < 0)
			goto fail;
		if (r == 0 && (r = own_insert(s, ins, channel, sender, &in[i],
		    now_ms)) != 0)
			goto fail;
		if (qids != NULL)
			qids[i] = (int64_t)sqlite3_last_insert_rowid(s->db);
		seq = in[i].seq;
		memcpy(prev, in[i].id, STORE_ID_LEN);
	}
	sqlite3_finalize(ins);
	sqlite3_finalize(upd);
	ins = upd = NULL;
	if ((r = run(s, s->txn ? "RELEASE own" : "COMMIT")) != 0)
		goto fail;
	if (!s->txn)
		s->commits++;
	return 0;
fail:
	sqlite3_finalize(ins);
	sqlite3_finalize(upd);
	s->audit_last.valid = 0;
	if (!sqlite3_get_autocommit(s->db))
		(void)sqlite3_exec(s->db, s->txn ? "ROLLBACK TO own; RELEASE own"
		    : "ROLLBACK", NULL, NULL, NULL);
	return r;
}

int
store_own_recover(struct store *s, const uint8_t channel[STORE_ID_LEN],
    uint8_t sender, const struct store_in *in, size_t n, uint64_t now_ms)
{
	return own_append(s, channel, sender, in, n, now_ms, true, NULL);
}

int
store_own_sent(struct store *s, const uint8_t channel[STORE_ID_LEN],
    uint8_t sender, const struct store_in *in, size_t n, uint64_t now_ms,
    int64_t *qids)
{
	return own_append(s, channel, sender, in, n, now_ms, false, qids);
}
