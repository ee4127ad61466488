/*
 * people_anchor.c: the store's audit anchor tables (people.h, "audit
 * anchors"; msg/anchor.h): the anchors the peer signed over our log
 * (audit_anchor, every answer since schema 9), what we signed for the
 * peer (audit_anchor_given, our evidence, with the asker's held time),
 * and the regressions either side saw (audit_anchor_back).
 */
#include "store/people.h"
#include "store/people_sql.h"

#include <sqlite3.h>
#include <string.h>

/* Binds what both anchor tables hold, ?1..?5 (channel, anchor, time_ms,
 * sig, stored_ms); the caller binds the rest. ERR_INVALID (st given back)
 * for a time over INT64_MAX. */
static int
anchor_write(struct store *s, sqlite3_stmt *st,
    const uint8_t channel[STORE_ID_LEN], const struct store_anchor *a,
    uint64_t now_ms)
{
	if (a->time_ms > INT64_MAX || now_ms > INT64_MAX) {
		pdone(s, st);
		return ERR_INVALID;
	}
	sqlite3_bind_blob(st, 1, channel, STORE_ID_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, a->anchor, STORE_ID_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)a->time_ms);
	sqlite3_bind_blob(st, 4, a->sig, STORE_SIG_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)now_ms);
	return 0;
}

int
store_anchor_put(struct store *s, const uint8_t channel[STORE_ID_LEN],
    const struct store_anchor *a, uint64_t now_ms)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (a->n == 0 || a->n > INT64_MAX)
		return ERR_INVALID;
	if ((r = pprep(s, &st, "SELECT 1 FROM audit_anchor WHERE channel = ?1"
	    " AND n = ?2 AND time_ms = ?3")) != 0)
		return r;
	sqlite3_bind_blob(st, 1, channel, STORE_ID_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)a->n);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)(a->time_ms & INT64_MAX));
	r = pstep(s, st);
	pdone(s, st);
	if (r < 0)
		return r;
	if (r == 1)
		return ERR_EXISTS;
	if ((r = pprep(s, &st, "INSERT INTO audit_anchor (channel, anchor,"
	    " time_ms, sig, stored_ms, n, salt) VALUES (?1, ?2, ?3, ?4, ?5,"
	    " ?6, ?7)")) != 0)
		return r;
	if ((r = anchor_write(s, st, channel, a, now_ms)) != 0)
		return r;
	sqlite3_bind_int64(st, 6, (sqlite3_int64)a->n);
	sqlite3_bind_blob(st, 7, a->salt, STORE_ID_LEN, SQLITE_STATIC);
	r = write1(s, st);
	pdone(s, st);
	return r;
}

/* One number of channel's rows: sql selects it with the channel as ?1. */
static int
channel_number(struct store *s, const char *sql,
    const uint8_t channel[STORE_ID_LEN], uint64_t *out)
{
	sqlite3_stmt *st = NULL;
	int r;

	*out = 0;
	if ((r = pprep(s, &st, sql)) != 0)
		return r;
	sqlite3_bind_blob(st, 1, channel, STORE_ID_LEN, SQLITE_STATIC);
	if ((r = pstep(s, st)) == 1) {
		*out = u64(st, 0);
		r = 0;
	}
	pdone(s, st);
	return r;
}

int
store_anchor_last(struct store *s, const uint8_t channel[STORE_ID_LEN],
    uint64_t *n)
{
	return channel_number(s, "SELECT max(n) FROM audit_anchor WHERE"
	    " channel = ?1", channel, n);
}

/* An anchor row selected as (n, anchor, time_ms, sig, stored_ms, salt). */
static void
anchor_read(sqlite3_stmt *st, struct store_anchor *a)
{
	memset(a, 0, sizeof *a);
	a->n = u64(st, 0);
	if (sqlite3_column_bytes(st, 1) == STORE_ID_LEN)
		memcpy(a->anchor, sqlite3_column_blob(st, 1), STORE_ID_LEN);
	a->time_ms = u64(st, 2);
	if (sqlite3_column_bytes(st, 3) == STORE_SIG_LEN)
		memcpy(a->sig, sqlite3_column_blob(st, 3), STORE_SIG_LEN);
	a->stored_ms = u64(st, 4);
	if (sqlite3_column_bytes(st, 5) == STORE_ID_LEN)
		memcpy(a->salt, sqlite3_column_blob(st, 5), STORE_ID_LEN);
}

int
store_anchors_each(struct store *s, const uint8_t channel[STORE_ID_LEN],
    store_anchor_fn fn, void *arg)
{
	struct store_anchor a;
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = pprep(s, &st, "SELECT n, anchor, time_ms, sig, stored_ms,"
	    " salt FROM audit_anchor WHERE channel = ?1 ORDER BY n, time_ms"))
	    != 0)
		return r;
	sqlite3_bind_blob(st, 1, channel, STORE_ID_LEN, SQLITE_STATIC);
	while ((r = pstep(s, st)) == 1) {
		anchor_read(st, &a);
		if ((r = fn(arg, &a)) != 0)
			break;
	}
	pdone(s, st);
	return r;
}

/* The one row sql selects (as anchor_read reads it) of channel (?1). */
static int
anchor_one(struct store *s, const char *sql,
    const uint8_t channel[STORE_ID_LEN], struct store_anchor *a)
{
	sqlite3_stmt *st = NULL;
	int r;

	memset(a, 0, sizeof *a);
	if ((r = pprep(s, &st, sql)) != 0)
		return r;
	sqlite3_bind_blob(st, 1, channel, STORE_ID_LEN, SQLITE_STATIC);
	if ((r = pstep(s, st)) == 1) {
		anchor_read(st, a);
		r = 0;
	}
	pdone(s, st);
	return r;
}

int
store_anchor_given_newest(struct store *s,
    const uint8_t channel[STORE_ID_LEN], struct store_anchor *a)
{
	return anchor_one(s, "SELECT 0, anchor, time_ms, sig, stored_ms, NULL"
	    " FROM audit_anchor_given WHERE channel = ?1 ORDER BY time_ms DESC"
	    " LIMIT 1", channel, a);
}

int
store_anchor_given_put(struct store *s,
    const uint8_t channel[STORE_ID_LEN], const struct store_anchor *a,
    uint64_t now_ms)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (a->held_ms > INT64_MAX)
		return ERR_INVALID;
	if ((r = pprep(s, &st, "INSERT OR IGNORE INTO audit_anchor_given"
	    " (channel, anchor, time_ms, sig, stored_ms, held_ms) VALUES"
	    " (?1, ?2, ?3, ?4, ?5, ?6)")) != 0)
		return r;
	if ((r = anchor_write(s, st, channel, a, now_ms)) != 0)
		return r;
	sqlite3_bind_int64(st, 6, (sqlite3_int64)a->held_ms);
	r = write1(s, st);
	pdone(s, st);
	return r;
}

int
store_anchor_given_count(struct store *s,
    const uint8_t channel[STORE_ID_LEN], uint64_t *count)
{
	return channel_number(s, "SELECT count(*) FROM audit_anchor_given"
	    " WHERE channel = ?1", channel, count);
}

/* The one row of channel (?1) sql selects as anchor_read reads it, all of
 * its blobs of their sizes (*found false, *a zeroed: none). */
static int
anchor_found(struct store *s, const char *sql,
    const uint8_t channel[STORE_ID_LEN], struct store_anchor *a, bool *found)
{
	sqlite3_stmt *st = NULL;
	int r;

	memset(a, 0, sizeof *a);
	*found = false;
	if ((r = pprep(s, &st, sql)) != 0)
		return r;
	sqlite3_bind_blob(st, 1, channel, STORE_ID_LEN, SQLITE_STATIC);
	if ((r = pstep(s, st)) == 1 &&
	    sqlite3_column_bytes(st, 1) == STORE_ID_LEN &&
	    sqlite3_column_bytes(st, 3) == STORE_SIG_LEN &&
	    sqlite3_column_bytes(st, 5) == STORE_ID_LEN) {
		anchor_read(st, a);
		*found = true;
	}
	pdone(s, st);
	return r < 0 ? r : 0;
}

int
store_anchor_newest(struct store *s, const uint8_t channel[STORE_ID_LEN],
    struct store_anchor *a, bool *found)
{
	/* by n, not by time: a row dated by a clock that was ahead stays
	 * the latest by time after the clock steps back (by the primary
	 * key, from the top down) */
	return anchor_found(s, "SELECT n, anchor, time_ms, sig, stored_ms,"
	    " salt FROM audit_anchor WHERE channel = ?1 ORDER BY n DESC,"
	    " time_ms DESC LIMIT 1", channel, a, found);
}

int
store_anchor_held(struct store *s, const uint8_t channel[STORE_ID_LEN],
    struct store_anchor *a, bool *found)
{
	/* by index audit_anchor_time, from the top down */
	return anchor_found(s, "SELECT n, anchor, time_ms, sig, stored_ms,"
	    " salt FROM audit_anchor WHERE channel = ?1 ORDER BY time_ms DESC"
	    " LIMIT 1", channel, a, found);
}

int
store_anchor_claimed(struct store *s, const uint8_t channel[STORE_ID_LEN],
    uint64_t before_ms, uint64_t *held_ms)
{
	sqlite3_stmt *st = NULL;
	int r;

	*held_ms = 0;
	/* by index audit_anchor_given_held, from the top down */
	if ((r = pprep(s, &st, "SELECT held_ms FROM audit_anchor_given WHERE"
	    " channel = ?1 AND time_ms < ?2 ORDER BY held_ms DESC LIMIT 1"))
	    != 0)
		return r;
	sqlite3_bind_blob(st, 1, channel, STORE_ID_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)(before_ms & INT64_MAX));
	if ((r = pstep(s, st)) == 1)
		*held_ms = u64(st, 0);
	pdone(s, st);
	return r < 0 ? r : 0;
}

int
store_anchor_back_put(struct store *s, const uint8_t channel[STORE_ID_LEN],
    bool ours, uint64_t from_ms, uint64_t to_ms, uint64_t now_ms,
    bool *fresh)
{
	sqlite3_stmt *st = NULL;
	bool nested;
	int r;

	*fresh = false;
	if (from_ms == 0 || from_ms > INT64_MAX || to_ms > INT64_MAX ||
	    now_ms > INT64_MAX)
		return ERR_INVALID;
	if ((r = pbegin(s, &nested)) != 0)
		return r;
	if ((r = pprep(s, &st, "INSERT OR IGNORE INTO audit_anchor_back"
	    " (channel, ours, from_ms, to_ms, stored_ms) VALUES"
	    " (?1, ?2, ?3, ?4, ?5)")) == 0) {
		sqlite3_bind_blob(st, 1, channel, STORE_ID_LEN, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, ours ? 1 : 0);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)from_ms);
		sqlite3_bind_int64(st, 4, (sqlite3_int64)to_ms);
		sqlite3_bind_int64(st, 5, (sqlite3_int64)now_ms);
		if ((r = pstep(s, st)) == 0)
			*fresh = sqlite3_changes(s->db) == 1;
		pdone(s, st);
	}
	if ((r = pend(s, nested, r)) != 0)
		*fresh = false;
	return r;
}

int
store_anchor_back_each(struct store *s, const uint8_t channel[STORE_ID_LEN],
    store_anchor_back_fn fn, void *arg)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = pprep(s, &st, "SELECT ours, from_ms, to_ms, stored_ms FROM"
	    " audit_anchor_back WHERE channel = ?1 ORDER BY stored_ms,"
	    " from_ms")) != 0)
		return r;
	sqlite3_bind_blob(st, 1, channel, STORE_ID_LEN, SQLITE_STATIC);
	while ((r = pstep(s, st)) == 1)
		if ((r = fn(arg, u64(st, 0) != 0, u64(st, 1), u64(st, 2),
		    u64(st, 3))) != 0)
			break;
	pdone(s, st);
	return r;
}
