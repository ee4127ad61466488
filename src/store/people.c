/*
 * people.c: the store's people-in-the-loop tables (people.h): audit log
 * (its anchors: people_anchor.c), alerts, held messages and approvals,
 * seen records, and two message listings (by kind, by due time) for
 * acknowledgments and deadlines.
 * Each write is one transaction; the tables are append-only (triggers in
 * schema.c, migration 1 -> 2). Every statement is one of store.c's kept
 * ones (store_int.h): the deadline scan runs its listings every second and
 * the audit log is written at every send, and preparing them anew cost
 * more than running them. So every SQL text passed to pprep is a literal.
 */
#include "store/people.h"
#include "store/store_int.h"

#include <sqlite3.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/people_sql.h"

int
store_audit_last(struct store *s, uint64_t *n, uint8_t hash[STORE_ID_LEN])
{
	sqlite3_stmt *st = NULL;
	int r;

	/* written by us in this transaction, which SQLite has not rolled
	 * back on its own (a full disk, an I/O error) */
	if (s->txn && s->audit_last.valid && !sqlite3_get_autocommit(s->db)) {
		*n = s->audit_last.n;
		memcpy(hash, s->audit_last.hash, STORE_ID_LEN);
		return 0;
	}
	*n = 0;
	memset(hash, 0, STORE_ID_LEN);
	if ((r = store_kept_prep(s, &st, "SELECT n, hash FROM audit ORDER BY"
	    " n DESC LIMIT 1")) != 0)
		return r;
	if ((r = pstep(s, st)) == 1) {
		*n = u64(st, 0);
		if (sqlite3_column_bytes(st, 1) == STORE_ID_LEN)
			memcpy(hash, sqlite3_column_blob(st, 1), STORE_ID_LEN);
		r = 0;
	}
	store_kept_done(s, st);
	return r;
}

int
store_audit_hash(struct store *s, uint64_t n, uint8_t hash[STORE_ID_LEN],
    bool *found)
{
	sqlite3_stmt *st = NULL;
	int r;

	*found = false;
	memset(hash, 0, STORE_ID_LEN);
	if (n > INT64_MAX)	/* no such entry */
		return 0;
	if ((r = store_kept_prep(s, &st, "SELECT hash FROM audit WHERE n = ?1"))
	    != 0)
		return r;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)n);
	if ((r = pstep(s, st)) == 1) {
		*found = sqlite3_column_bytes(st, 0) == STORE_ID_LEN;
		if (*found)
			memcpy(hash, sqlite3_column_blob(st, 0), STORE_ID_LEN);
		r = 0;
	}
	store_kept_done(s, st);
	return r;
}

int
store_audit_put(struct store *s, uint64_t n, const uint8_t *entry,
    size_t len, const uint8_t hash[STORE_ID_LEN])
{
	sqlite3_stmt *st = NULL;
	uint8_t h[STORE_ID_LEN];
	uint64_t last;
	bool nested;
	int r;

	if (len == 0 || len > STORE_AUDIT_MAX || n > INT64_MAX)
		return ERR_INVALID;
	/* Inside the caller's transaction (a send's entry in the group
	 * commit) the check and the one insert need no savepoint of their
	 * own: the write lock is held, and a failed statement undoes only
	 * itself. Alone, they are one transaction. */
	nested = !sqlite3_get_autocommit(s->db);
	if (!nested && (r = pbegin(s, &nested)) != 0)
		return r;
	if ((r = store_audit_last(s, &last, h)) != 0)
		goto out;
	if (n != last + 1) {
		r = ERR_CHAIN;
		goto out;
	}
	if ((r = store_kept_prep(s, &st, "INSERT INTO audit (n, entry, hash)"
	    " VALUES (?1, ?2, ?3)")) != 0)
		goto out;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)n);
	sqlite3_bind_blob(st, 2, entry, (int)len, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, hash, STORE_ID_LEN, SQLITE_STATIC);
	if ((r = pstep(s, st)) == 0 && s->txn) {
		s->audit_last.valid = 1;
		s->audit_last.n = n;
		memcpy(s->audit_last.hash, hash, STORE_ID_LEN);
	} else
		s->audit_last.valid = 0;
out:
	store_kept_done(s, st);
	if (!nested)
		r = pend(s, false, r);
	return r;
}

int
store_audit_each(struct store *s, store_audit_fn fn, void *arg)
{
	sqlite3_stmt *st = NULL;
	uint8_t h[STORE_ID_LEN];
	int r;

	if ((r = pprep(s, &st, "SELECT n, entry, hash FROM audit ORDER BY n"))
	    != 0)
		return r;
	while ((r = pstep(s, st)) == 1) {
		memset(h, 0, sizeof h);
		if (sqlite3_column_bytes(st, 2) == STORE_ID_LEN)
			memcpy(h, sqlite3_column_blob(st, 2), sizeof h);
		if ((r = fn(arg, u64(st, 0), sqlite3_column_blob(st, 1),
		    (size_t)sqlite3_column_bytes(st, 1), h)) != 0)
			break;
	}
	pdone(s, st);
	return r;
}

bool
store_settled(struct store *s)
{
	return sqlite3_get_autocommit(s->db) != 0;
}

/* The alerts may have changed: a new version, unique in the process. */
static void
alerts_changed(struct store *s)
{
	static uint64_t next;

	s->alerts_gen = __atomic_add_fetch(&next, 1, __ATOMIC_RELAXED);
}

int
store_alert_put(struct store *s, const char *key, const char *json,
    uint64_t now_ms, int64_t *n, bool *fresh)
{
	sqlite3_stmt *st = NULL;
	bool nested;
	int r;

	*fresh = false;
	*n = 0;
	if (strlen(json) > STORE_ALERT_MAX || strlen(key) > STORE_ALERT_MAX)
		return ERR_TOO_BIG;
	if ((r = pbegin(s, &nested)) != 0)
		return r;
	if ((r = pprep(s, &st, "INSERT OR IGNORE INTO alert (key, json,"
	    " time_ms) VALUES (?1, ?2, ?3)")) != 0)
		goto out;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, json, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)now_ms);
	if ((r = pstep(s, st)) != 0)
		goto out;
	*fresh = sqlite3_changes(s->db) == 1;
	if (*fresh)
		alerts_changed(s);
	pdone(s, st);
	st = NULL;
	if ((r = pprep(s, &st, "SELECT n FROM alert WHERE key = ?1")) != 0)
		goto out;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if ((r = pstep(s, st)) == 1) {
		*n = sqlite3_column_int64(st, 0);
		r = 0;
	} else if (r == 0)
		r = ERR_NOT_FOUND;
out:
	pdone(s, st);
	return pend(s, nested, r);
}

int
store_alerts_version(struct store *s, uint64_t *version)
{
	sqlite3_stmt *st = NULL;
	int64_t dv;
	int r;

	*version = 0;
	if (!sqlite3_get_autocommit(s->db))
		return ERR_STATE;
	if ((r = pprep(s, &st, "PRAGMA data_version")) != 0)
		return r;
	if ((r = pstep(s, st)) == 1) {
		dv = sqlite3_column_int64(st, 0);
		r = 0;
	} else if (r == 0)
		r = ERR_NOT_FOUND;
	pdone(s, st);
	if (r != 0)
		return r;
	if (s->alerts_gen == 0 || dv != s->alerts_dv) {
		s->alerts_dv = dv;
		alerts_changed(s);
	}
	*version = s->alerts_gen;
	return 0;
}

int
store_alerts_each(struct store *s, bool all, store_alert_fn fn, void *arg)
{
	sqlite3_stmt *st = NULL;
	struct store_alert a;
	int r;

	if ((r = pprep(s, &st, all ?
	    "SELECT a.n, a.key, a.json, a.time_ms, c.alert, c.uid,"
	    " c.operator, c.note, c.time_ms FROM alert a LEFT JOIN"
	    " alert_clear c ON c.alert = a.n ORDER BY a.n" :
	    "SELECT a.n, a.key, a.json, a.time_ms, c.alert, c.uid,"
	    " c.operator, c.note, c.time_ms FROM alert a LEFT JOIN"
	    " alert_clear c ON c.alert = a.n WHERE c.alert IS NULL"
	    " ORDER BY a.n")) != 0)
		return r;
	while ((r = pstep(s, st)) == 1) {
		memset(&a, 0, sizeof a);
		a.n = sqlite3_column_int64(st, 0);
		a.key = text(st, 1);
		a.json = text(st, 2);
		a.time_ms = u64(st, 3);
		a.cleared = sqlite3_column_type(st, 4) != SQLITE_NULL;
		a.cleared_uid = (uint32_t)sqlite3_column_int64(st, 5);
		a.cleared_by = text(st, 6);
		a.note = text(st, 7);
		a.cleared_ms = u64(st, 8);
		if ((r = fn(arg, &a)) != 0)
			break;
	}
	pdone(s, st);
	return r;
}

int
store_alert_clear(struct store *s, int64_t n, uint32_t uid,
    const char *name, const char *note, uint64_t now_ms)
{
	sqlite3_stmt *st = NULL;
	bool nested;
	int r;

	if (strlen(name) > STORE_NAME_MAX || strlen(note) > STORE_NOTE_MAX)
		return ERR_TOO_BIG;
	if ((r = pbegin(s, &nested)) != 0)
		return r;
	if ((r = pprep(s, &st, "SELECT (SELECT count(*) FROM alert WHERE"
	    " n = ?1), (SELECT count(*) FROM alert_clear WHERE alert = ?1)"))
	    != 0)
		goto out;
	sqlite3_bind_int64(st, 1, n);
	if ((r = pstep(s, st)) != 1)
		goto out;
	r = sqlite3_column_int(st, 0) == 0 ? ERR_NOT_FOUND :
	    sqlite3_column_int(st, 1) != 0 ? ERR_STATE : 0;
	pdone(s, st);
	st = NULL;
	if (r != 0)
		goto out;
	if ((r = pprep(s, &st, "INSERT INTO alert_clear (alert, uid, operator,"
	    " note, time_ms) VALUES (?1, ?2, ?3, ?4, ?5)")) != 0)
		goto out;
	sqlite3_bind_int64(st, 1, n);
	sqlite3_bind_int64(st, 2, uid);
	sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, note, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)now_ms);
	r = pstep(s, st);
	alerts_changed(s);
out:
	pdone(s, st);
	return pend(s, nested, r);
}

int
store_held_put(struct store *s, const uint8_t channel[STORE_ID_LEN],
    uint8_t precedence, uint8_t marking, uint32_t kind, const uint8_t *body,
    size_t len, uint32_t uid, const char *name, uint64_t now_ms,
    int64_t *hid)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (len == 0 || len > STORE_BODY_MAX || strlen(name) > STORE_NAME_MAX)
		return ERR_INVALID;
	if ((r = pprep(s, &st, "INSERT INTO held (channel, precedence,"
	    " marking, kind, body, uid, operator, time_ms) VALUES (?1, ?2,"
	    " ?3, ?4, ?5, ?6, ?7, ?8)")) != 0)
		return r;
	sqlite3_bind_blob(st, 1, channel, STORE_ID_LEN, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, precedence);
	sqlite3_bind_int(st, 3, marking);
	sqlite3_bind_int64(st, 4, kind);
	sqlite3_bind_blob(st, 5, body, (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, uid);
	sqlite3_bind_text(st, 7, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, (sqlite3_int64)now_ms);
	if ((r = write1(s, st)) == 0)
		*hid = sqlite3_last_insert_rowid(s->db);
	pdone(s, st);
	return r;
}

#define HELD_SELECT "SELECT h.hid, h.channel, h.precedence, h.marking," \
	" h.kind, h.body, h.uid, h.operator, h.time_ms, a.qid, a.uid," \
	" a.operator, a.time_ms FROM held h LEFT JOIN approval a" \
	" ON a.hid = h.hid"

static int
held_rows(struct store *s, sqlite3_stmt *st, store_held_fn fn, void *arg,
    size_t *count)
{
	struct store_held h;
	int r;

	*count = 0;
	while ((r = pstep(s, st)) == 1) {
		memset(&h, 0, sizeof h);
		h.hid = sqlite3_column_int64(st, 0);
		if (sqlite3_column_bytes(st, 1) == STORE_ID_LEN)
			memcpy(h.channel, sqlite3_column_blob(st, 1),
			    STORE_ID_LEN);
		h.precedence = (uint8_t)sqlite3_column_int(st, 2);
		h.marking = (uint8_t)sqlite3_column_int(st, 3);
		h.kind = (uint32_t)sqlite3_column_int64(st, 4);
		h.body = sqlite3_column_blob(st, 5);
		h.body_len = (size_t)sqlite3_column_bytes(st, 5);
		h.uid = (uint32_t)sqlite3_column_int64(st, 6);
		h.by = text(st, 7);
		h.time_ms = u64(st, 8);
		h.qid = sqlite3_column_int64(st, 9);
		h.approved_uid = (uint32_t)sqlite3_column_int64(st, 10);
		h.approved_by = text(st, 11);
		h.approved_ms = u64(st, 12);
		(*count)++;
		if ((r = fn(arg, &h)) != 0)
			break;
	}
	pdone(s, st);
	return r;
}

int
store_held_get(struct store *s, int64_t hid, store_held_fn fn, void *arg)
{
	sqlite3_stmt *st = NULL;
	size_t count;
	int r;

	if ((r = pprep(s, &st, HELD_SELECT " WHERE h.hid = ?1")) != 0)
		return r;
	sqlite3_bind_int64(st, 1, hid);
	if ((r = held_rows(s, st, fn, arg, &count)) == 0 && count == 0)
		r = ERR_NOT_FOUND;
	return r;
}

int
store_held_each(struct store *s, bool pending, store_held_fn fn, void *arg)
{
	sqlite3_stmt *st = NULL;
	size_t count;
	int r;

	if ((r = pprep(s, &st, pending ? HELD_SELECT " WHERE a.hid IS NULL"
	    " ORDER BY h.hid" : HELD_SELECT " ORDER BY h.hid")) != 0)
		return r;
	return held_rows(s, st, fn, arg, &count);
}

int
store_held_release(struct store *s, int64_t hid, int64_t qid, uint32_t uid,
    const char *name, uint64_t now_ms)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = pprep(s, &st, "INSERT INTO approval (hid, qid, uid, operator,"
	    " time_ms) VALUES (?1, ?2, ?3, ?4, ?5)")) != 0)
		return r;
	sqlite3_bind_int64(st, 1, hid);
	sqlite3_bind_int64(st, 2, qid);
	sqlite3_bind_int64(st, 3, uid);
	sqlite3_bind_text(st, 4, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)now_ms);
	r = write1(s, st);
	pdone(s, st);
	return r == ERR_INVALID ? ERR_STATE : r;
}

int
store_seen_put(struct store *s, const uint8_t id[STORE_ID_LEN], uint32_t uid,
    const char *name, uint64_t now_ms)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = pprep(s, &st, "INSERT OR IGNORE INTO seen (id, uid, operator,"
	    " time_ms) VALUES (?1, ?2, ?3, ?4)")) != 0)
		return r;
	sqlite3_bind_blob(st, 1, id, STORE_ID_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, uid);
	sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)now_ms);
	r = write1(s, st);
	pdone(s, st);
	return r;
}

int
store_seen_get(struct store *s, const uint8_t id[STORE_ID_LEN], uint32_t *uid,
    char *name, size_t cap, uint64_t *time_ms)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = pprep(s, &st, "SELECT uid, operator, time_ms FROM seen"
	    " WHERE id = ?1")) != 0)
		return r;
	sqlite3_bind_blob(st, 1, id, STORE_ID_LEN, SQLITE_STATIC);
	if ((r = pstep(s, st)) == 1) {
		*uid = (uint32_t)sqlite3_column_int64(st, 0);
		snprintf(name, cap, "%s", text(st, 1));
		*time_ms = u64(st, 2);
		r = 0;
	} else if (r == 0)
		r = ERR_NOT_FOUND;
	pdone(s, st);
	return r;
}

static int
msg_rows(struct store *s, sqlite3_stmt *st, store_msg_fn fn, void *arg)
{
	struct store_msg m;
	int r;

	while ((r = pstep(s, st)) == 1) {
		if ((r = st_read_msg(st, &m)) == 0)
			r = fn(arg, &m);
		store_msg_fini(&m);
		if (r != 0)
			break;
	}
	pdone(s, st);
	return r;
}

int
store_acks_naming(struct store *s, const uint8_t channel[STORE_ID_LEN],
    const uint8_t id[STORE_ID_LEN], store_msg_fn fn, void *arg)
{
	sqlite3_stmt *st = NULL;
	int r;

	/* "kind = 2" literal: the partial index's condition. */
	if ((r = pprep(s, &st, "SELECT " STORE_MSG_COLS " FROM message m WHERE kind"
	    " = 2 AND channel = ?1 AND substr(body, 5, 32) = ?2 ORDER BY"
	    " qid")) != 0)
		return r;
	sqlite3_bind_blob(st, 1, channel, STORE_ID_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, id, STORE_ID_LEN, SQLITE_STATIC);
	return msg_rows(s, st, fn, arg);
}

/* What the two listings share: a text message with a place in the chain
 * from sender ?7, no ACK from the other party stamped at most `within`
 * after it, and no alert keyed ?6 || its id when ?6 is not NULL. */
#define UNACKED_TAIL(within) " AND m.seq IS NOT NULL AND m.kind = 1" \
	" AND m.sender = ?7 AND NOT EXISTS (SELECT 1" \
	" FROM message a WHERE a.kind = 2 AND a.channel = ?1 AND" \
	" substr(a.body, 5, 32) = m.id AND a.sender <> m.sender AND" \
	" a.time_ms <= m.time_ms + " within ") AND (?6 IS NULL OR NOT EXISTS" \
	" (SELECT 1 FROM alert WHERE key = ?6 || lower(hex(m.id))))"
/* Each row's own deadline, by its precedence (?9 .. ?12). */
#define UNACKED_WITHIN "(CASE m.precedence WHEN 0 THEN ?9 WHEN 1 THEN ?10" \
	" WHEN 2 THEN ?11 ELSE ?12 END)"

/* Binds ?1 channel, ?6 alert_prefix, ?7 sender, ?8 due_by, ?9 .. ?12
 * within_ms[0 .. 3]; the caller binds the rest. */
static int
unacked_prep(struct store *s, sqlite3_stmt **st, const char *sql,
    const uint8_t *channel, uint8_t sender, const uint64_t within_ms[4],
    uint64_t due_by, const char *alert_prefix)
{
	int r;

	if (due_by > INT64_MAX)
		return ERR_INVALID;
	for (unsigned p = 0; p < 4; p++)
		if (within_ms[p] > STORE_ACK_ANY)
			return ERR_INVALID;
	if ((r = pprep(s, st, sql)) != 0)
		return r;
	sqlite3_bind_blob(*st, 1, channel, STORE_ID_LEN, SQLITE_STATIC);
	if (alert_prefix)
		sqlite3_bind_text(*st, 6, alert_prefix, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(*st, 6);
	sqlite3_bind_int(*st, 7, sender);
	sqlite3_bind_int64(*st, 8, (sqlite3_int64)due_by);
	for (unsigned p = 0; p < 4; p++)
		sqlite3_bind_int64(*st, 9 + (int)p,
		    (sqlite3_int64)within_ms[p]);
	return 0;
}

int
store_unacked_each(struct store *s, const uint8_t channel[STORE_ID_LEN],
    uint8_t sender, uint8_t precedence, uint64_t from_ms, int64_t from_qid,
    uint64_t to_ms, uint64_t within_ms, const char *alert_prefix,
    store_msg_fn fn, void *arg)
{
	const uint64_t within[4] = { within_ms, within_ms, within_ms,
	    within_ms };
	sqlite3_stmt *st = NULL;
	int r;

	/* A due-time range of one precedence, index message_due (channel,
	 * precedence, time_ms, and the rowid qid at its end), in its order:
	 * first the rest of from_ms's rows (a search of time_ms = and qid >,
	 * not a scan of the rows at from_ms already listed), then the times
	 * above it. One statement with the pair's row value would scan every
	 * row at from_ms (SQLite 3.40 seeks on time_ms alone there). */
	if (from_ms > INT64_MAX || to_ms > INT64_MAX || from_qid < 0)
		return ERR_INVALID;
	if (from_qid < INT64_MAX && from_ms <= to_ms) {
		if ((r = unacked_prep(s, &st, "SELECT " STORE_MSG_COLS_NOBODY
		    " FROM message m WHERE m.channel = ?1 AND m.precedence ="
		    " ?2 AND m.time_ms = ?3 AND m.qid > ?4 AND ?8 >= 0"
		    UNACKED_TAIL(UNACKED_WITHIN) " ORDER BY m.qid", channel,
		    sender, within, 0, alert_prefix)) != 0)
			return r;
		sqlite3_bind_int(st, 2, precedence);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)from_ms);
		sqlite3_bind_int64(st, 4, (sqlite3_int64)from_qid);
		if ((r = msg_rows(s, st, fn, arg)) != 0)
			return r;
	}
	if ((r = unacked_prep(s, &st, "SELECT " STORE_MSG_COLS_NOBODY " FROM"
	    " message m WHERE m.channel = ?1 AND m.precedence = ?2 AND"
	    " m.time_ms > ?3 AND m.time_ms <= ?4 AND ?8 >= 0"
	    UNACKED_TAIL(UNACKED_WITHIN) " ORDER BY m.time_ms, m.qid",
	    channel, sender, within, 0, alert_prefix)) != 0)
		return r;
	sqlite3_bind_int(st, 2, precedence);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)from_ms);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)to_ms);
	return msg_rows(s, st, fn, arg);
}

int
store_unacked_after_each(struct store *s, const uint8_t channel[STORE_ID_LEN],
    uint8_t sender, uint64_t after_seq, uint64_t upto_seq,
    const uint64_t within_ms[4], uint64_t due_by, const char *alert_prefix,
    store_msg_fn fn, void *arg)
{
	sqlite3_stmt *st = NULL;
	int r;

	/* A seq range of (channel, sender): index UNIQUE (channel, sender,
	 * seq), each row read once whatever its precedence. The deadline
	 * scan runs it every second with what arrived since. */
	if (after_seq > INT64_MAX || upto_seq > INT64_MAX)
		return ERR_INVALID;
	if ((r = unacked_prep(s, &st, "SELECT " STORE_MSG_COLS_NOBODY " FROM"
	    " message m WHERE m.channel = ?1 AND m.seq > ?3 AND m.seq <= ?4"
	    " AND m.time_ms + " UNACKED_WITHIN " <= ?8"
	    UNACKED_TAIL(UNACKED_WITHIN) " ORDER BY m.precedence, m.time_ms",
	    channel, sender, within_ms, due_by, alert_prefix)) != 0)
		return r;
	sqlite3_bind_int64(st, 3, (sqlite3_int64)after_seq);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)upto_seq);
	return msg_rows(s, st, fn, arg);
}

int
store_owed_after_each(struct store *s, const uint8_t channel[STORE_ID_LEN],
    uint8_t sender, uint64_t after_seq, uint64_t upto_seq, store_msg_fn fn,
    void *arg)
{
	const uint64_t within[4] = { STORE_ACK_ANY, STORE_ACK_ANY,
	    STORE_ACK_ANY, STORE_ACK_ANY };
	sqlite3_stmt *st = NULL;
	int r;

	/* store_unacked_each's test, each precedence (?2 there) at once:
	 * a seq range of (channel, sender), index UNIQUE (channel, sender,
	 * seq). */
	if (!sqlite3_get_autocommit(s->db))
		return ERR_STATE;
	if (after_seq > INT64_MAX || upto_seq > INT64_MAX)
		return ERR_INVALID;
	if ((r = unacked_prep(s, &st, "SELECT " STORE_MSG_COLS_NOBODY " FROM"
	    " message m WHERE m.channel = ?1 AND m.seq > ?3 AND m.seq <= ?4"
	    " AND m.precedence IN (0, 1, 2, 3) AND m.time_ms > 0 AND ?8 >= 0"
	    UNACKED_TAIL(UNACKED_WITHIN) " ORDER BY m.seq", channel, sender,
	    within, 0, NULL)) != 0)
		return r;
	sqlite3_bind_int64(st, 3, (sqlite3_int64)after_seq);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)upto_seq);
	return msg_rows(s, st, fn, arg);
}

int
store_acks_after_each(struct store *s, const uint8_t channel[STORE_ID_LEN],
    int64_t after_qid, int64_t upto_qid, store_ack_ref_fn fn, void *arg)
{
	struct store_ack_ref a;
	sqlite3_stmt *st = NULL;
	int r;

	if (!sqlite3_get_autocommit(s->db))
		return ERR_STATE;
	/* A qid range of the table ("+": not index message_acked, which
	 * would read every ACK of the channel). */
	if ((r = pprep(s, &st, "SELECT qid, sender, time_ms, substr(body, 5,"
	    " 32) FROM message WHERE qid > ?2 AND qid <= ?3 AND +kind = 2 AND"
	    " +channel = ?1 ORDER BY qid")) != 0)
		return r;
	sqlite3_bind_blob(st, 1, channel, STORE_ID_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, after_qid);
	sqlite3_bind_int64(st, 3, upto_qid);
	while ((r = pstep(s, st)) == 1) {
		memset(&a, 0, sizeof a);
		a.qid = sqlite3_column_int64(st, 0);
		a.sender = (uint8_t)sqlite3_column_int(st, 1);
		a.time_ms = sqlite3_column_int64(st, 2);
		a.named = sqlite3_column_bytes(st, 3) == STORE_ID_LEN;
		if (a.named)
			memcpy(a.acked, sqlite3_column_blob(st, 3),
			    STORE_ID_LEN);
		if ((r = fn(arg, &a)) != 0)
			break;
	}
	pdone(s, st);
	return r;
}

int
store_qid_top(struct store *s, int64_t *qid)
{
	sqlite3_stmt *st = NULL;
	int r;

	*qid = 0;
	if (!sqlite3_get_autocommit(s->db))
		return ERR_STATE;
	if ((r = pprep(s, &st, "SELECT coalesce(max(qid), 0) FROM message"))
	    != 0)
		return r;
	if ((r = pstep(s, st)) == 1) {
		*qid = sqlite3_column_int64(st, 0);
		r = 0;
	} else if (r == 0)
		r = ERR_NOT_FOUND;
	pdone(s, st);
	return r;
}
