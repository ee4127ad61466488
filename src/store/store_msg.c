/*
 * store_msg.c: the message rows of store.h: queueing, assignment (one by
 * one, in batches, queued and assigned at once), received runs, heads,
 * receipts, and the reads (store_get*, store_after, store_list,
 * store_highest, ...). Opening, the kept statements and transactions are
 * store.c's (store_int.h).
 *
 * NOTES (the numbering is docs/store.md's):
 *   1. Every write is one transaction begun IMMEDIATE: it either commits
 *      whole or rolls back whole; on error nothing is half-written.
 *   2. A chain (channel, sender) is stored without gaps: seq 1..n, each
 *      header's prev the id at seq-1 (checked for received runs here, made
 *      so for our own in assign_batch).
 *   3. A queued message has no seq, id or header; assignment fixes all
 *      three at once, and only once (trigger message_assign_once).
 *   4. Rows are never deleted and never rewritten except state,
 *      assigned_ms and receipted_ms; states only move forward (triggers).
 *
 * Outgoing:  QUEUED --assign--> SENT --receipt--> RECEIPTED
 * Incoming:  RECEIVED (stored only once its covering head verified)
 */
#include "store/store.h"
#include "store/store_int.h"

#include <sqlite3.h>

#include <stdlib.h>
#include <string.h>

static const uint8_t zero_id[STORE_ID_LEN];

static void
bind_blob(sqlite3_stmt *st, int i, const uint8_t *p, size_t n)
{
	if (n == 0)
		sqlite3_bind_zeroblob(st, i, 0);
	else
		sqlite3_bind_blob(st, i, p, (int)n, SQLITE_STATIC);
}

void
st_bind_salt(sqlite3_stmt *st, int i, const uint8_t *salt)
{
	if (salt == NULL)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_blob(st, i, salt, STORE_SALT_LEN, SQLITE_STATIC);
}

static void
bind_u64(sqlite3_stmt *st, int i, uint64_t v)
{
	sqlite3_bind_int64(st, i, (sqlite3_int64)v);
}

static uint64_t
col_u64(sqlite3_stmt *st, int i)
{
	sqlite3_int64 v = sqlite3_column_int64(st, i);
	return v < 0 ? 0 : (uint64_t)v;
}

/* Copies a blob column of exactly n bytes (zeros for NULL). */
static int
col_fixed(sqlite3_stmt *st, int i, uint8_t *out, size_t n)
{
	const void *p = sqlite3_column_blob(st, i);
	size_t len = (size_t)sqlite3_column_bytes(st, i);

	if (p == NULL && len == 0) {
		memset(out, 0, n);
		return 0;
	}
	if (len != n)
		return ERR_PARSE;
	memcpy(out, p, n);
	return 0;
}

/* The direction of chain (channel, sender) if any row exists, else 0. */
static int
chain_dir(struct store *s, const uint8_t channel[STORE_ID_LEN],
    uint8_t sender, int *dir)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = store_kept_prep(s, &st,
	    "SELECT dir FROM message WHERE channel = ?1"
	    " AND sender = ?2 LIMIT 1")) != 0)
		return r;
	bind_blob(st, 1, channel, STORE_ID_LEN);
	sqlite3_bind_int(st, 2, sender);
	*dir = 0;
	if ((r = st_step(s, st)) == 1) {
		*dir = sqlite3_column_int(st, 0);
		r = 0;
	}
	store_kept_done(s, st);
	return r;
}

int
store_queue(struct store *s, const uint8_t channel[STORE_ID_LEN],
    uint8_t sender, uint8_t precedence, uint8_t marking, uint32_t kind,
    const uint8_t *body, size_t len, uint64_t now_ms, int64_t *qid)
{
	sqlite3_stmt *st = NULL;
	int r, dir;

	if (sender > 1 || precedence > 3 || marking > 2 || kind == 0 ||
	    now_ms > INT64_MAX)
		return ERR_INVALID;
	if (len > STORE_BODY_MAX)
		return ERR_TOO_BIG;
	if ((r = st_begin(s)) != 0)
		return r;
	if ((r = chain_dir(s, channel, sender, &dir)) != 0)
		goto out;
	if (dir == STORE_IN) {
		r = ERR_INVALID;	/* that chain is the peer's */
		goto out;
	}
	if ((r = store_kept_prep(s, &st,
	    "INSERT INTO message (channel, sender, dir,"
	    " precedence, marking, kind, body, state, time_ms, stored_ms)"
	    " VALUES (?1, ?2, 1, ?3, ?4, ?5, ?6, 0, ?7, ?7)")) != 0)
		goto out;
	bind_blob(st, 1, channel, STORE_ID_LEN);
	sqlite3_bind_int(st, 2, sender);
	sqlite3_bind_int(st, 3, precedence);
	sqlite3_bind_int(st, 4, marking);
	sqlite3_bind_int64(st, 5, kind);
	bind_blob(st, 6, body, len);
	bind_u64(st, 7, now_ms);
	if ((r = st_step(s, st)) != 0)
		goto out;
	*qid = sqlite3_last_insert_rowid(s->db);
	store_kept_done(s, st);
	st = NULL;
	r = st_commit(s);
out:
	store_kept_done(s, st);
	if (r != 0)
		st_rollback(s);
	return r;
}

/* The id stored at (channel, sender, seq): ERR_NOT_FOUND if none. */
static int
id_at(struct store *s, const uint8_t channel[STORE_ID_LEN], uint8_t sender,
    uint64_t seq, uint8_t id[STORE_ID_LEN])
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = store_kept_prep(s, &st,
	    "SELECT id FROM message WHERE channel = ?1"
	    " AND sender = ?2 AND seq = ?3")) != 0)
		return r;
	bind_blob(st, 1, channel, STORE_ID_LEN);
	sqlite3_bind_int(st, 2, sender);
	bind_u64(st, 3, seq);
	if ((r = st_step(s, st)) == 1)
		r = col_fixed(st, 0, id, STORE_ID_LEN);
	else if (r == 0)
		r = ERR_NOT_FOUND;
	store_kept_done(s, st);
	return r;
}

/*
 * The chain's end as store_highest reads it (0 and zeros when no row has
 * a place), and its direction (chain_dir) from that same row: one lookup
 * for the two in a write that needs both. Every row of a chain has the
 * chain's direction (the writes that take rows of either direction check
 * it first; store_own_recover adds only rows of our own chain, which are
 * ours), so only a chain without a placed row asks chain_dir (queued
 * rows only, or none).
 * dir may be NULL: the end alone (store_highest).
 */
static unsigned fail_top_at;		/* store_fail_top_at */

static int
chain_top(struct store *s, const uint8_t channel[STORE_ID_LEN],
    uint8_t sender, uint64_t *seq, uint8_t id[STORE_ID_LEN], int *dir)
{
	uint8_t top_id[STORE_ID_LEN] = { 0 };
	sqlite3_stmt *st = NULL;
	uint64_t top = 0;
	int r, top_dir = 0;

	if (fail_top_at > 0 && --fail_top_at == 0)
		return ERR_IO;
	if ((r = store_kept_prep(s, &st,
	    "SELECT seq, id, dir FROM message WHERE channel = ?1"
	    " AND sender = ?2 AND seq IS NOT NULL ORDER BY seq DESC LIMIT 1"))
	    != 0)
		return r;
	bind_blob(st, 1, channel, STORE_ID_LEN);
	sqlite3_bind_int(st, 2, sender);
	if ((r = st_step(s, st)) == 1) {
		top = col_u64(st, 0);
		top_dir = sqlite3_column_int(st, 2);
		r = col_fixed(st, 1, top_id, STORE_ID_LEN);
	} else if (r == 0 && dir != NULL)
		r = chain_dir(s, channel, sender, &top_dir);
	store_kept_done(s, st);
	if (r != 0)		/* the outputs only from a good read */
		return r;
	*seq = top;
	memcpy(id, top_id, STORE_ID_LEN);
	if (dir != NULL)
		*dir = top_dir;
	return 0;
}

void
store_fail_top_at(unsigned k)
{
	fail_top_at = k;
}

int
store_highest(struct store *s, const uint8_t channel[STORE_ID_LEN],
    uint8_t sender, uint64_t *seq, uint8_t id[STORE_ID_LEN])
{
	return chain_top(s, channel, sender, seq, id, NULL);
}

/*
 * Assigns one queued message (the row sel points at) the place after
 * d->seq - 1: builds its header and fixes it. sel is reset before the
 * update so that no read is open on the row being changed.
 */
static int
assign_one(struct store *s, sqlite3_stmt *sel, sqlite3_stmt *upd,
    struct store_draft *d, uint64_t now_ms, store_header_fn build,
    void *arg)
{
	uint8_t hdr[STORE_HEADER_MAX], id[STORE_ID_LEN], salt[STORE_SALT_LEN];
	sqlite3_int64 qid = sqlite3_column_int64(sel, 0);
	size_t len = 0;
	bool salted = false;
	int r;

	d->precedence = (uint8_t)sqlite3_column_int(sel, 1);
	d->marking = (uint8_t)sqlite3_column_int(sel, 2);
	d->kind = (uint32_t)sqlite3_column_int64(sel, 3);
	d->body = sqlite3_column_blob(sel, 4);
	d->body_len = (size_t)sqlite3_column_bytes(sel, 4);
	d->time_ms = col_u64(sel, 5);
	r = build(arg, d, hdr, sizeof hdr, &len, id, salt, &salted);
	sqlite3_reset(sel);
	d->body = NULL;
	if (r != 0)
		return r;
	if (len == 0 || len > sizeof hdr)
		return ERR_INVALID;
	sqlite3_reset(upd);
	bind_u64(upd, 1, d->seq);
	bind_blob(upd, 2, id, STORE_ID_LEN);
	bind_blob(upd, 3, hdr, len);
	bind_u64(upd, 4, now_ms);
	sqlite3_bind_int64(upd, 5, qid);
	st_bind_salt(upd, 6, salted ? salt : NULL);
	if ((r = st_step(s, upd)) != 0)
		return r;
	if (sqlite3_changes(s->db) != 1)
		return ERR_STATE;
	memcpy(d->prev, id, STORE_ID_LEN);
	return 0;
}

int
store_assign_batch(struct store *s, const uint8_t channel[STORE_ID_LEN],
    uint8_t sender, size_t max, uint64_t now_ms, store_header_fn build,
    void *arg, uint64_t *first, uint64_t *last)
{
	return store_assign_signed(s, channel, sender, max, 0, now_ms, build,
	    arg, NULL, NULL, first, last, NULL, NULL);
}

static int head_insert(struct store *s, const struct store_head *h,
    uint64_t now_ms, const uint8_t *at);

int
store_assign_signed(struct store *s, const uint8_t channel[STORE_ID_LEN],
    uint8_t sender, size_t max, size_t max_bytes, uint64_t now_ms,
    store_header_fn build, void *arg, store_sign_fn sign, void *sign_arg,
    uint64_t *first, uint64_t *last, bool *cut, uint8_t *prec)
{
	struct store_head h;
	sqlite3_stmt *sel = NULL, *upd = NULL;
	struct store_draft d;
	uint64_t top, pseq;
	size_t n = 0, bytes = 0;
	bool by_bytes = false;
	int r, first_prec = 0;

	if (sender > 1 || max == 0 || max > STORE_BATCH_MAX ||
	    now_ms > INT64_MAX)
		return ERR_INVALID;
	memset(&d, 0, sizeof d);
	d.channel = channel;
	d.sender = sender;
	if ((r = st_begin(s)) != 0)
		return r;
	if ((r = store_highest(s, channel, sender, &top, d.prev)) != 0 ||
	    (r = store_highest(s, channel, (uint8_t)(1 - sender), &pseq,
	    d.peer_last)) != 0)
		goto out;
	if ((r = store_kept_prep(s, &sel,
	    "SELECT qid, precedence, marking, kind, body,"
	    " time_ms FROM message WHERE channel = ?1 AND sender = ?2"
	    " AND state = 0 ORDER BY precedence, qid LIMIT 1")) != 0 ||
	    (r = store_kept_prep(s, &upd,
	    "UPDATE message SET seq = ?1, id = ?2,"
	    " header = ?3, state = 1, assigned_ms = ?4, body_salt = ?6"
	    " WHERE qid = ?5 AND state = 0")) != 0)
		goto out;
	bind_blob(sel, 1, channel, STORE_ID_LEN);
	sqlite3_bind_int(sel, 2, sender);
	for (n = 0; n < max; n++) {
		if ((r = st_step(s, sel)) < 0)
			goto out;
		if (r == 0)
			break;
		if (max_bytes != 0 && n > 0 &&
		    sqlite3_column_int(sel, 1) != first_prec) {
			sqlite3_reset(sel);	/* one precedence a batch */
			by_bytes = true;
			break;
		}
		first_prec = n == 0 ? sqlite3_column_int(sel, 1) : first_prec;
		d.seq = top + n + 1;
		if ((r = assign_one(s, sel, upd, &d, now_ms, build, arg)) != 0)
			goto out;
		bytes += d.body_len;
		if (max_bytes != 0 && bytes >= max_bytes && n + 1 < max) {
			n++;		/* the bodies' bound: this one is the last */
			by_bytes = true;
			break;
		}
	}
	if (n == 0) {
		r = ERR_NOT_FOUND;
		goto out;
	}
	store_kept_done(s, sel);
	store_kept_done(s, upd);
	sel = upd = NULL;
	/* d.prev: the id assign_one just gave to seq top + n */
	if (sign != NULL && ((r = sign(sign_arg, channel, sender, top + n,
	    d.prev, &h)) != 0 || (r = head_insert(s, &h, now_ms, d.prev)) != 0))
		goto out;
	if ((r = st_commit(s)) != 0)
		goto out;
	*first = top + 1;
	*last = top + n;
	if (cut != NULL)
		*cut = by_bytes;
	if (prec != NULL)
		*prec = (uint8_t)first_prec;
out:
	store_kept_done(s, sel);
	store_kept_done(s, upd);
	if (r != 0)
		st_rollback(s);
	return r;
}

int
store_assign_next(struct store *s, const uint8_t channel[STORE_ID_LEN],
    uint8_t sender, uint64_t now_ms, store_header_fn build, void *arg,
    struct store_msg *out)
{
	uint64_t first, last;
	int r;

	memset(out, 0, sizeof *out);
	if ((r = store_assign_batch(s, channel, sender, 1, now_ms, build, arg,
	    &first, &last)) != 0)
		return r;
	return store_get_at(s, channel, sender, first, out);
}

/*
 * Queues and assigns a run of messages of one chain at once (each gets
 * its seq, id and header in one row, instead of a queued row read back
 * and rewritten). The chain's place is read once, here, inside the
 * write: gapless by construction. ERR_STATE when something is queued
 * (queue them instead); a refusal of build (ERR_INVALID, ERR_KIND,
 * ERR_TOO_BIG) is that draft's out[i].r and the chain goes on without
 * it; any other error undoes the whole run.
 */
int
store_queue_assigned_run(struct store *s, const struct store_draft *in,
    size_t n, uint64_t now_ms, store_header_fn build, void *arg,
    struct store_assigned *out)
{
	uint8_t hdr[STORE_HEADER_MAX], prev[STORE_ID_LEN];
	uint8_t peer_last[STORE_ID_LEN], salt[STORE_SALT_LEN];
	sqlite3_stmt *st = NULL;
	uint64_t seq, pseq;
	size_t len = 0;
	bool salted = false;
	int r, dir;

	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		const struct store_draft *d = &in[i];
		if (d->sender > 1 || d->precedence > 3 || d->marking > 2 ||
		    d->kind == 0 || now_ms > INT64_MAX ||
		    d->time_ms > INT64_MAX || d->sender != in[0].sender ||
		    memcmp(d->channel, in[0].channel, STORE_ID_LEN) != 0)
			return ERR_INVALID;
		if (d->body_len > STORE_BODY_MAX)
			return ERR_TOO_BIG;
		memset(&out[i], 0, sizeof out[i]);
	}
	if ((r = st_begin(s)) != 0)
		return r;
	if ((r = chain_top(s, in[0].channel, in[0].sender, &seq, prev,
	    &dir)) != 0)
		goto out;
	if (dir == STORE_IN) {
		r = ERR_INVALID;	/* that chain is the peer's */
		goto out;
	}
	if ((r = store_kept_prep(s, &st,
	    "SELECT 1 FROM message WHERE channel = ?1"
	    " AND sender = ?2 AND state = 0 LIMIT 1")) != 0)
		goto out;
	bind_blob(st, 1, in[0].channel, STORE_ID_LEN);
	sqlite3_bind_int(st, 2, in[0].sender);
	r = st_step(s, st);
	store_kept_done(s, st);
	st = NULL;
	if (r != 0) {
		r = r == 1 ? ERR_STATE : r;
		goto out;
	}
	if ((r = store_highest(s, in[0].channel, (uint8_t)(1 - in[0].sender),
	    &pseq, peer_last)) != 0)
		goto out;
	if ((r = store_kept_prep(s, &st,
	    "INSERT INTO message (channel, sender, dir,"
	    " seq, id, header, precedence, marking, kind, body, state,"
	    " time_ms, stored_ms, assigned_ms, body_salt) VALUES (?1, ?2, 1,"
	    " ?3, ?4, ?5, ?6, ?7, ?8, ?9, 1, ?10, ?11, ?11, ?12)")) != 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct store_draft d = in[i];
		d.seq = seq + 1;
		memcpy(d.prev, prev, STORE_ID_LEN);
		memcpy(d.peer_last, peer_last, STORE_ID_LEN);
		r = build(arg, &d, hdr, sizeof hdr, &len, out[i].id, salt,
		    &salted);
		if (r == ERR_INVALID || r == ERR_KIND || r == ERR_TOO_BIG) {
			out[i].r = r;	/* refused: nothing written for it */
			continue;
		}
		if (r == 0 && (len == 0 || len > sizeof hdr))
			r = ERR_INVALID;
		if (r != 0)
			goto out;
		sqlite3_reset(st);
		bind_blob(st, 1, d.channel, STORE_ID_LEN);
		sqlite3_bind_int(st, 2, d.sender);
		bind_u64(st, 3, d.seq);
		bind_blob(st, 4, out[i].id, STORE_ID_LEN);
		bind_blob(st, 5, hdr, len);
		sqlite3_bind_int(st, 6, d.precedence);
		sqlite3_bind_int(st, 7, d.marking);
		sqlite3_bind_int64(st, 8, d.kind);
		bind_blob(st, 9, d.body, d.body_len);
		bind_u64(st, 10, d.time_ms);
		bind_u64(st, 11, now_ms);
		st_bind_salt(st, 12, salted ? salt : NULL);
		if ((r = st_step(s, st)) != 0)
			goto out;
		out[i].qid = sqlite3_last_insert_rowid(s->db);
		out[i].seq = seq = d.seq;
		memcpy(prev, out[i].id, STORE_ID_LEN);
	}
	store_kept_done(s, st);
	st = NULL;
	r = st_commit(s);
out:
	store_kept_done(s, st);
	if (r != 0)
		st_rollback(s);
	return r;
}

int
store_queue_assigned(struct store *s, const struct store_draft *in,
    uint64_t now_ms, store_header_fn build, void *arg, int64_t *qid,
    uint64_t *seq, uint8_t id[STORE_ID_LEN])
{
	struct store_assigned a;
	int r;

	if ((r = store_queue_assigned_run(s, in, 1, now_ms, build, arg,
	    &a)) != 0)
		return r;
	if (a.r != 0)
		return a.r;
	*qid = a.qid;
	*seq = a.seq;
	memcpy(id, a.id, STORE_ID_LEN);
	return 0;
}

/* Inserts a head inside the caller's transaction. at: the id stored at
 * the head's seq when the caller has just read or written it, else NULL
 * (read here). */
static int
head_insert(struct store *s, const struct store_head *h, uint64_t now_ms,
    const uint8_t *at)
{
	sqlite3_stmt *st = NULL;
	uint8_t id[STORE_ID_LEN];
	int r;

	if (h->sender > 1 || h->seq == 0 || h->seq > INT64_MAX)
		return ERR_INVALID;
	if (at == NULL) {
		if ((r = id_at(s, h->channel, h->sender, h->seq, id)) != 0)
			return r;
		at = id;
	}
	if (memcmp(at, h->id, STORE_ID_LEN) != 0)
		return ERR_CHAIN;
	if ((r = store_kept_prep(s, &st,
	    "INSERT OR IGNORE INTO head (channel, sender,"
	    " seq, id, sig, stored_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"))
	    != 0)
		return r;
	bind_blob(st, 1, h->channel, STORE_ID_LEN);
	sqlite3_bind_int(st, 2, h->sender);
	bind_u64(st, 3, h->seq);
	bind_blob(st, 4, h->id, STORE_ID_LEN);
	bind_blob(st, 5, h->sig, STORE_SIG_LEN);
	bind_u64(st, 6, now_ms);
	r = st_step(s, st);
	store_kept_done(s, st);
	return r;
}

int
store_head_put(struct store *s, const struct store_head *h, uint64_t now_ms)
{
	int r;

	if (now_ms > INT64_MAX)
		return ERR_INVALID;
	if ((r = st_begin(s)) != 0)
		return r;
	if ((r = head_insert(s, h, now_ms, NULL)) != 0) {
		st_rollback(s);
		return r;
	}
	return st_commit(s);
}

int
store_head_covering(struct store *s, const uint8_t channel[STORE_ID_LEN],
    uint8_t sender, uint64_t seq, struct store_head *out)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = store_kept_prep(s, &st, "SELECT seq, id, sig FROM head WHERE"
	    " channel = ?1 AND sender = ?2 AND seq >= ?3 ORDER BY seq"
	    " LIMIT 1")) != 0)
		return r;
	bind_blob(st, 1, channel, STORE_ID_LEN);
	sqlite3_bind_int(st, 2, sender);
	bind_u64(st, 3, seq > INT64_MAX ? INT64_MAX : seq);
	if ((r = st_step(s, st)) == 1) {
		memcpy(out->channel, channel, STORE_ID_LEN);
		out->sender = sender;
		out->seq = col_u64(st, 0);
		if ((r = col_fixed(st, 1, out->id, STORE_ID_LEN)) == 0)
			r = col_fixed(st, 2, out->sig, STORE_SIG_LEN);
	} else if (r == 0)
		r = ERR_NOT_FOUND;
	store_kept_done(s, st);
	return r;
}

/* Checks and inserts one received message inside the caller's
 * transaction; *top and topid follow the chain's end. */
static int
received_one(struct store *s, sqlite3_stmt *ins,
    const uint8_t channel[STORE_ID_LEN], uint8_t sender,
    const struct store_in *m, uint64_t *top, uint8_t topid[STORE_ID_LEN],
    size_t *added)
{
	uint8_t have[STORE_ID_LEN];
	int r;

	if (m->seq == 0 || m->seq > INT64_MAX || m->precedence > 3 ||
	    m->marking > 2 || m->kind == 0 || m->time_ms > INT64_MAX ||
	    m->header_len == 0 || m->header_len > STORE_HEADER_MAX)
		return ERR_INVALID;
	if (m->body_len > STORE_BODY_MAX)
		return ERR_TOO_BIG;
	if (m->seq <= *top) {
		if ((r = id_at(s, channel, sender, m->seq, have)) != 0)
			return r;
		return memcmp(have, m->id, STORE_ID_LEN) == 0 ? 0 : ERR_CHAIN;
	}
	if (m->seq > *top + 1)
		return ERR_GAP;
	if (memcmp(m->prev, topid, STORE_ID_LEN) != 0)
		return ERR_CHAIN;
	sqlite3_reset(ins);
	bind_u64(ins, 3, m->seq);
	bind_blob(ins, 4, m->id, STORE_ID_LEN);
	bind_blob(ins, 5, m->header, m->header_len);
	sqlite3_bind_int(ins, 6, m->precedence);
	sqlite3_bind_int(ins, 7, m->marking);
	sqlite3_bind_int64(ins, 8, m->kind);
	bind_blob(ins, 9, m->body, m->body_len);
	bind_u64(ins, 10, m->time_ms);
	st_bind_salt(ins, 12, m->body_salt);
	if ((r = st_step(s, ins)) != 0)
		return r;
	*top = m->seq;
	memcpy(topid, m->id, STORE_ID_LEN);
	(*added)++;
	return 0;
}

int
store_received_put(struct store *s, const uint8_t channel[STORE_ID_LEN],
    uint8_t sender, const struct store_in *in, size_t n,
    const struct store_head *head, uint64_t now_ms, size_t *added)
{
	sqlite3_stmt *ins = NULL;
	uint8_t topid[STORE_ID_LEN];
	uint64_t top;
	int r, dir;

	*added = 0;
	if (sender > 1 || n > STORE_BATCH_MAX || now_ms > INT64_MAX)
		return ERR_INVALID;
	if ((r = st_begin(s)) != 0)
		return r;
	if ((r = chain_top(s, channel, sender, &top, topid, &dir)) != 0)
		goto out;
	if (dir == STORE_OUT) {
		r = ERR_INVALID;	/* that chain is ours */
		goto out;
	}
	if ((r = store_kept_prep(s, &ins,
	    "INSERT INTO message (channel, sender, dir,"
	    " seq, id, header, precedence, marking, kind, body, state,"
	    " time_ms, stored_ms, body_salt) VALUES (?1, ?2, 2, ?3, ?4, ?5,"
	    " ?6, ?7, ?8, ?9, 3, ?10, ?11, ?12)")) != 0)
		goto out;
	bind_blob(ins, 1, channel, STORE_ID_LEN);
	sqlite3_bind_int(ins, 2, sender);
	bind_u64(ins, 11, now_ms);
	for (size_t i = 0; i < n; i++) {
		if ((r = received_one(s, ins, channel, sender, &in[i], &top,
		    topid, added)) != 0)
			goto out;
	}
	store_kept_done(s, ins);
	ins = NULL;
	if (head != NULL) {
		if (memcmp(head->channel, channel, STORE_ID_LEN) != 0 ||
		    head->sender != sender) {
			r = ERR_INVALID;
			goto out;
		}
		/* the run's end, just read or written, is the usual head */
		if ((r = head_insert(s, head, now_ms, head->seq == top ?
		    topid : NULL)) != 0)
			goto out;
	}
	r = st_commit(s);
out:
	store_kept_done(s, ins);
	if (r != 0) {
		st_rollback(s);
		*added = 0;
	}
	return r;
}

int
store_receipt_put(struct store *s, const struct store_receipt *rc,
    uint64_t now_ms, size_t *newly)
{
	sqlite3_stmt *st = NULL;
	uint8_t id[STORE_ID_LEN];
	uint8_t sender = (uint8_t)(1 - rc->receiver);
	uint64_t before = 0;
	int r;

	*newly = 0;
	if (rc->receiver > 1 || rc->seq > INT64_MAX ||
	    rc->time_ms > INT64_MAX || now_ms > INT64_MAX)
		return ERR_INVALID;
	if (rc->seq == 0 && memcmp(rc->id, zero_id, STORE_ID_LEN) != 0)
		return ERR_CHAIN;
	if ((r = st_begin(s)) != 0)
		return r;
	if (rc->seq > 0) {
		if ((r = id_at(s, rc->channel, sender, rc->seq, id)) != 0)
			goto out;
		if (memcmp(id, rc->id, STORE_ID_LEN) != 0) {
			r = ERR_CHAIN;
			goto out;
		}
	}
	/* Every stored receipt has moved the messages up to its seq on:
	 * only those after the highest one are left to move (without this
	 * bound the update reads the whole chain at every receipt). */
	if ((r = store_kept_prep(s, &st, "SELECT max(seq) FROM receipt WHERE"
	    " channel = ?1 AND receiver = ?2")) != 0)
		goto out;
	bind_blob(st, 1, rc->channel, STORE_ID_LEN);
	sqlite3_bind_int(st, 2, rc->receiver);
	if ((r = st_step(s, st)) == 1) {
		before = col_u64(st, 0);
		r = 0;
	} else if (r == 0)
		r = ERR_STATE;
	if (r != 0)
		goto out;
	store_kept_done(s, st);
	st = NULL;
	if ((r = store_kept_prep(s, &st,
	    "INSERT OR IGNORE INTO receipt (channel,"
	    " receiver, seq, id, time_ms, sig, stored_ms) VALUES (?1, ?2,"
	    " ?3, ?4, ?5, ?6, ?7)")) != 0)
		goto out;
	bind_blob(st, 1, rc->channel, STORE_ID_LEN);
	sqlite3_bind_int(st, 2, rc->receiver);
	bind_u64(st, 3, rc->seq);
	bind_blob(st, 4, rc->id, STORE_ID_LEN);
	bind_u64(st, 5, rc->time_ms);
	bind_blob(st, 6, rc->sig, STORE_SIG_LEN);
	bind_u64(st, 7, now_ms);
	if ((r = st_step(s, st)) != 0)
		goto out;
	store_kept_done(s, st);
	st = NULL;
	/* The rows are not rewritten: a message reads as receipted from
	 * the receipt table (STORE_MSG_STATE, store_int.h). */
	*newly = rc->seq > before ? (size_t)(rc->seq - before) : 0;
	r = st_commit(s);
out:
	store_kept_done(s, st);
	if (r != 0) {
		st_rollback(s);
		*newly = 0;
	}
	return r;
}

int
store_receipt_latest(struct store *s, const uint8_t channel[STORE_ID_LEN],
    uint8_t receiver, struct store_receipt *out)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = store_kept_prep(s, &st,
	    "SELECT seq, id, time_ms, sig FROM receipt"
	    " WHERE channel = ?1 AND receiver = ?2 ORDER BY seq DESC"
	    " LIMIT 1")) != 0)
		return r;
	bind_blob(st, 1, channel, STORE_ID_LEN);
	sqlite3_bind_int(st, 2, receiver);
	if ((r = st_step(s, st)) == 1) {
		memcpy(out->channel, channel, STORE_ID_LEN);
		out->receiver = receiver;
		out->seq = col_u64(st, 0);
		out->time_ms = col_u64(st, 2);
		if ((r = col_fixed(st, 1, out->id, STORE_ID_LEN)) == 0)
			r = col_fixed(st, 3, out->sig, STORE_SIG_LEN);
	} else if (r == 0)
		r = ERR_NOT_FOUND;
	store_kept_done(s, st);
	return r;
}

/* Reads a row of STORE_MSG_COLS into m (body copied). */
int
st_read_msg(sqlite3_stmt *st, struct store_msg *m)
{
	const void *p;
	int r;

	memset(m, 0, sizeof *m);
	m->qid = sqlite3_column_int64(st, 0);
	if ((r = col_fixed(st, 1, m->channel, STORE_ID_LEN)) != 0 ||
	    (r = col_fixed(st, 5, m->id, STORE_ID_LEN)) != 0)
		return r;
	m->sender = (uint8_t)sqlite3_column_int(st, 2);
	m->dir = sqlite3_column_int(st, 3) == STORE_IN ? STORE_IN : STORE_OUT;
	m->seq = col_u64(st, 4);
	p = sqlite3_column_blob(st, 6);
	m->header_len = (size_t)sqlite3_column_bytes(st, 6);
	if (m->header_len > STORE_HEADER_MAX)
		return ERR_PARSE;
	if (m->header_len)
		memcpy(m->header, p, m->header_len);
	m->precedence = (uint8_t)sqlite3_column_int(st, 7);
	m->marking = (uint8_t)sqlite3_column_int(st, 8);
	m->kind = (uint32_t)sqlite3_column_int64(st, 9);
	p = sqlite3_column_blob(st, 10);
	m->body_len = (size_t)sqlite3_column_bytes(st, 10);
	if ((m->body = malloc(m->body_len ? m->body_len : 1)) == NULL)
		return ERR_NOMEM;
	if (m->body_len)
		memcpy(m->body, p, m->body_len);
	m->state = (enum store_state)sqlite3_column_int(st, 11);
	m->time_ms = col_u64(st, 12);
	m->stored_ms = col_u64(st, 13);
	m->assigned_ms = col_u64(st, 14);
	m->receipted_ms = col_u64(st, 15);
	if (sqlite3_column_type(st, 16) == SQLITE_NULL)
		return 0;
	m->salted = true;
	return col_fixed(st, 16, m->body_salt, STORE_SALT_LEN);
}

/* Runs a prepared listing, calling fn per row. */
static int
each(struct store *s, sqlite3_stmt *st, store_msg_fn fn, void *arg)
{
	struct store_msg m;
	int r;

	while ((r = st_step(s, st)) == 1) {
		if ((r = st_read_msg(st, &m)) == 0)
			r = fn(arg, &m);
		store_msg_fini(&m);
		if (r != 0)
			break;
	}
	store_kept_done(s, st);
	return r;
}

int
store_after(struct store *s, const uint8_t channel[STORE_ID_LEN],
    uint8_t sender, uint64_t after, size_t max, store_msg_fn fn, void *arg)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = store_kept_prep(s, &st,
	    "SELECT " STORE_MSG_COLS " FROM message m WHERE"
	    " channel = ?1 AND sender = ?2 AND seq > ?3 ORDER BY seq"
	    " LIMIT ?4")) != 0)
		return r;
	bind_blob(st, 1, channel, STORE_ID_LEN);
	sqlite3_bind_int(st, 2, sender);
	bind_u64(st, 3, after > INT64_MAX ? INT64_MAX : after);
	bind_u64(st, 4, max > INT64_MAX ? INT64_MAX : max);
	return each(s, st, fn, arg);
}

int
store_list(struct store *s, const uint8_t *channel, enum store_dir dir,
    size_t max, store_msg_fn fn, void *arg)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = store_kept_prep(s, &st,
	    "SELECT " STORE_MSG_COLS " FROM message m WHERE"
	    " (?1 IS NULL OR channel = ?1) AND (dir & ?2) != 0"
	    " ORDER BY qid DESC LIMIT ?3")) != 0)
		return r;
	if (channel != NULL)
		bind_blob(st, 1, channel, STORE_ID_LEN);
	sqlite3_bind_int(st, 2, (int)dir);
	bind_u64(st, 3, max > INT64_MAX ? INT64_MAX : max);
	return each(s, st, fn, arg);
}

int
store_queued_count(struct store *s, const uint8_t *channel, size_t *n)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = store_kept_prep(s, &st,
	    "SELECT count(*) FROM message WHERE state = 0"
	    " AND (?1 IS NULL OR channel = ?1)")) != 0)
		return r;
	if (channel != NULL)
		bind_blob(st, 1, channel, STORE_ID_LEN);
	if ((r = st_step(s, st)) == 1) {
		*n = (size_t)col_u64(st, 0);
		r = 0;
	}
	store_kept_done(s, st);
	return r;
}

/* One row by a unique key. */
static int
get_one(struct store *s, sqlite3_stmt *st, struct store_msg *out)
{
	int r;

	memset(out, 0, sizeof *out);
	if ((r = st_step(s, st)) == 1)
		r = st_read_msg(st, out);
	else if (r == 0)
		r = ERR_NOT_FOUND;
	store_kept_done(s, st);
	if (r != 0)
		store_msg_fini(out);
	return r;
}

int
store_get_at(struct store *s, const uint8_t channel[STORE_ID_LEN],
    uint8_t sender, uint64_t seq, struct store_msg *out)
{
	sqlite3_stmt *st = NULL;
	int r;

	memset(out, 0, sizeof *out);
	if (seq == 0 || seq > INT64_MAX)
		return ERR_NOT_FOUND;
	if ((r = store_kept_prep(s, &st,
	    "SELECT " STORE_MSG_COLS " FROM message m WHERE"
	    " channel = ?1 AND sender = ?2 AND seq = ?3")) != 0)
		return r;
	bind_blob(st, 1, channel, STORE_ID_LEN);
	sqlite3_bind_int(st, 2, sender);
	bind_u64(st, 3, seq);
	return get_one(s, st, out);
}

int
store_get_local(struct store *s, int64_t qid, struct store_msg *out)
{
	sqlite3_stmt *st = NULL;
	int r;

	memset(out, 0, sizeof *out);
	if ((r = store_kept_prep(s, &st,
	    "SELECT " STORE_MSG_COLS " FROM message m WHERE"
	    " qid = ?1")) != 0)
		return r;
	sqlite3_bind_int64(st, 1, qid);
	return get_one(s, st, out);
}

void
store_msg_fini(struct store_msg *m)
{
	if (m == NULL)
		return;
	free(m->body);
	m->body = NULL;
	m->body_len = 0;
}
