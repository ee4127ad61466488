/*
 * test_store_migrate.c: the migrations that cut pages per commit (4 -> 5,
 * 5 -> 6, 6 -> 7; docs/store.md), on temporary files: a version-4, 5
 * and 6 store (with messages and heads) migrate and keep what they held,
 * and the store is used as before; a version-6 file whose approval names
 * no message is refused and left as it was.
 *
 * It opens files with SQLite directly only to build older stores, to
 * look at the schema and to play a bug that inserts a head naming
 * nothing; the code under test is store.h.
 */
#include "store_files.h"
#include "../header_builders.h"

/* A version-4 file with a message in it becomes the current version:
 * message_dir gone, the message kept, the listings still answering. */
static int
count_index(const char *name, const char *index)
{
	return plain_int(name, "SELECT count(*) FROM sqlite_schema WHERE"
	    " type = 'index' AND name = ?1", index);
}

static int
count_row(void *arg, struct store_msg *m)
{
	(void)m;
	(*(int *)arg)++;
	return 0;
}

static void
test_migration_drops_message_dir(void)
{
	char p[128], sql[96];
	struct store *s;
	sqlite3 *db;
	int v = -1, rows = 0;

	path_of(p, sizeof p, "v4.db");
	CHECK_INT(sqlite3_open(p, &db), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db, "PRAGMA journal_mode = WAL", NULL, NULL,
	    NULL), SQLITE_OK);
	for (int k = 0; k < 4; k++)
		CHECK_INT(sqlite3_exec(db, store_migration_sql(k), NULL, NULL,
		    NULL), SQLITE_OK);
	snprintf(sql, sizeof sql, "PRAGMA user_version = 4;"
	    " PRAGMA application_id = %d;", STORE_APPLICATION_ID);
	CHECK_INT(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	s = open_name("v4.db");		/* a version-4 store, empty */
	store_close(s);
	CHECK_INT(count_index("v4.db", "message_dir"), 0);

	/* again, with a message stored at version 4 */
	path_of(p, sizeof p, "v4b.db");
	CHECK_INT(sqlite3_open(p, &db), SQLITE_OK);
	for (int k = 0; k < 4; k++)
		CHECK_INT(sqlite3_exec(db, store_migration_sql(k), NULL, NULL,
		    NULL), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db, "INSERT INTO message (channel, sender, dir,"
	    " precedence, marking, kind, body, state, time_ms, stored_ms)"
	    " VALUES (zeroblob(32), 0, 1, 3, 0, 1, x'68690a', 0, 1, 1)", NULL,
	    NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	CHECK_INT(count_index("v4b.db", "message_dir"), 1);
	s = open_name("v4b.db");
	CHECK_INT(store_schema_version(s, &v), 0);
	CHECK_INT(v, STORE_SCHEMA_VERSION);
	CHECK_INT(store_list(s, NULL, STORE_OUT, 10, count_row, &rows), 0);
	CHECK_INT(rows, 1);
	rows = 0;
	CHECK_INT(store_list(s, NULL, STORE_IN, 10, count_row, &rows), 0);
	CHECK_INT(rows, 0);
	store_close(s);
	CHECK_INT(count_index("v4b.db", "message_dir"), 0);
	CHECK_INT(count_index("v4b.db", "message_due"), 1);
}

/* A file at version v (the migrations before it run by SQLite alone). */
static sqlite3 *
raw_at(const char *name, int v)
{
	char p[128], sql[96];
	sqlite3 *db = NULL;

	path_of(p, sizeof p, name);
	CHECK_INT(sqlite3_open(p, &db), SQLITE_OK);
	for (int k = 0; k < v; k++)
		CHECK_INT(sqlite3_exec(db, store_migration_sql(k), NULL, NULL,
		    NULL), SQLITE_OK);
	snprintf(sql, sizeof sql, "PRAGMA user_version = %d;"
	    " PRAGMA application_id = %d;", v, STORE_APPLICATION_ID);
	CHECK_INT(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	return db;
}

/* Message seq of sender's chain on chan (prev: the id before), built as
 * the store builds them. */
struct built {
	uint8_t hdr[ENVELOPE_HEADER_MAX], id[32], body[16];
	size_t hlen;
	struct envelope_header h;
};

static void
build_msg(struct built *b, uint8_t sender, uint64_t seq,
    const uint8_t prev[32])
{
	struct store_draft d;

	fill_body(b->body, sizeof b->body, seq);
	memset(&d, 0, sizeof d);
	d.channel = chan;
	d.sender = sender;
	d.seq = seq;
	memcpy(d.prev, prev, 32);
	d.time_ms = now + seq;
	d.precedence = ENVELOPE_ROUTINE;
	d.marking = ENVELOPE_PRIVATE;
	d.kind = ENVELOPE_TEXT;
	d.body = b->body;
	d.body_len = sizeof b->body;
	uint8_t salt[STORE_SALT_LEN];
	bool salted;

	if (v1_store_build(NULL, &d, b->hdr, sizeof b->hdr, &b->hlen,
	    b->id, salt, &salted) != 0 ||
	    envelope_header_decode(&b->h, b->hdr, b->hlen) != 0)
		abort();
}

/* Inserts b as SQLite would have stored it at version 5 (ours sent, the
 * peer's received), with a head over it when sig is not 0. */
static void
raw_put(sqlite3 *db, uint8_t sender, const struct built *b, uint8_t sig)
{
	sqlite3_stmt *st;
	uint8_t sg[64];

	CHECK_INT(sqlite3_prepare_v2(db, "INSERT INTO message (channel,"
	    " sender, dir, seq, id, header, precedence, marking, kind, body,"
	    " state, time_ms, stored_ms, assigned_ms) VALUES (?1, ?2, ?3, ?4,"
	    " ?5, ?6, 3, 0, 1, ?7, ?8, ?9, ?9, CASE ?3 WHEN 1 THEN ?9 END)",
	    -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_blob(st, 1, chan, 32, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, sender);
	sqlite3_bind_int(st, 3, sender == 0 ? 1 : 2);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)b->h.seq);
	sqlite3_bind_blob(st, 5, b->id, 32, SQLITE_STATIC);
	sqlite3_bind_blob(st, 6, b->hdr, (int)b->hlen, SQLITE_STATIC);
	sqlite3_bind_blob(st, 7, b->body, sizeof b->body, SQLITE_STATIC);
	sqlite3_bind_int(st, 8, sender == 0 ? 1 : 3);
	sqlite3_bind_int64(st, 9, (sqlite3_int64)b->h.time_ms);
	CHECK_INT(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	if (sig == 0)
		return;
	memset(sg, sig, sizeof sg);
	CHECK_INT(sqlite3_prepare_v2(db, "INSERT INTO head (channel, sender,"
	    " seq, id, sig, stored_ms) VALUES (?1, ?2, ?3, ?4, ?5, 1)", -1,
	    &st, NULL), SQLITE_OK);
	sqlite3_bind_blob(st, 1, chan, 32, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, sender);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)b->h.seq);
	sqlite3_bind_blob(st, 4, b->id, 32, SQLITE_STATIC);
	sqlite3_bind_blob(st, 5, sg, sizeof sg, SQLITE_STATIC);
	CHECK_INT(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
}

/* The head of (chan, sender) covering seq is (seq, id, sig bytes). */
static void
check_head(struct store *s, uint8_t sender, uint64_t seq,
    const uint8_t id[32], uint8_t sig)
{
	struct store_head h;
	uint8_t sg[64];

	memset(&h, 0, sizeof h);
	memset(sg, sig, sizeof sg);
	CHECK_INT(store_head_covering(s, chan, sender, seq, &h), 0);
	CHECK_INT(h.seq, seq);
	CHECK_MEM(h.id, id, 32);
	CHECK_MEM(h.sig, sg, sizeof sg);
}

/* A raw insert of a head: SQLite's answer and message. */
static int
raw_head(sqlite3 *db, uint8_t sender, uint64_t seq, const uint8_t id[32],
    char *msg, size_t cap)
{
	sqlite3_stmt *st;
	uint8_t sg[64];
	int rc;

	memset(sg, 0x77, sizeof sg);
	if (sqlite3_prepare_v2(db, "INSERT INTO head (channel, sender, seq,"
	    " id, sig, stored_ms) VALUES (?1, ?2, ?3, ?4, ?5, 1)", -1, &st,
	    NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_blob(st, 1, chan, 32, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, sender);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)seq);
	sqlite3_bind_blob(st, 4, id, 32, SQLITE_STATIC);
	sqlite3_bind_blob(st, 5, sg, sizeof sg, SQLITE_STATIC);
	rc = sqlite3_step(st);
	snprintf(msg, cap, "%s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return rc;
}

/* Both chains of the migration tests: the peer's p[0..2] (p[2] not yet
 * stored), ours o[0..1]. */
static void
build_chains(struct built p[3], struct built o[2])
{
	static const uint8_t zero[32];

	build_msg(&p[0], 1, 1, zero);
	build_msg(&p[1], 1, 2, p[0].id);
	build_msg(&p[2], 1, 3, p[1].id);
	build_msg(&o[0], 0, 1, zero);
	build_msg(&o[1], 0, 2, o[0].id);
}

/* name at version v holding p[0..1] and o[0..1] with their heads, written
 * by SQLite alone (foreign keys on); the caller closes db. */
static sqlite3 *
raw_chains(const char *name, int v, const struct built p[3],
    const struct built o[2])
{
	sqlite3 *db = raw_at(name, v);

	CHECK_INT(sqlite3_exec(db, "PRAGMA foreign_keys = ON", NULL, NULL,
	    NULL), SQLITE_OK);
	raw_put(db, 1, &p[0], 0x11);
	raw_put(db, 1, &p[1], 0x12);
	raw_put(db, 0, &o[0], 0);
	raw_put(db, 0, &o[1], 0x21);
	return db;
}

/* After a migration: every head kept, the four messages there; the peer's
 * next run and our next message are stored with their heads through
 * head_names, and a head naming the peer's id in our chain is refused. */
static void
chains_kept_and_used(struct store *s, const struct built p[3],
    const struct built o[2])
{
	struct store_head h;
	struct store_in in;
	size_t added;
	uint64_t top;
	uint8_t id[32];
	int rows = 0;

	check_head(s, 1, 1, p[0].id, 0x11);
	check_head(s, 1, 2, p[1].id, 0x12);
	check_head(s, 0, 2, o[1].id, 0x21);	/* ours: over 1 and 2 */
	CHECK_INT(store_list(s, chan, STORE_BOTH, 10, count_row, &rows), 0);
	CHECK_INT(rows, 4);
	chain_store_in(&in, &p[2].h, p[2].hdr, p[2].hlen, NULL, p[2].body,
	    sizeof p[2].body, p[2].id);
	memset(&h, 0, sizeof h);
	memcpy(h.channel, chan, 32);
	h.sender = 1;
	h.seq = 3;
	memcpy(h.id, p[2].id, 32);
	memset(h.sig, 0x13, sizeof h.sig);
	CHECK_INT(store_received_put(s, chan, 1, &in, 1, &h, now, &added), 0);
	CHECK_INT(added, 1);
	check_head(s, 1, 3, p[2].id, 0x13);
	CHECK_INT(send_one(s, 3, 100), 0);
	CHECK_INT(store_highest(s, chan, 0, &top, id), 0);
	CHECK_INT(top, 3);
	h.sender = 0;
	h.seq = top;
	memcpy(h.id, p[2].id, 32);	/* the peer's id at our seq 3 */
	CHECK_INT(store_head_put(s, &h, now), ERR_CHAIN);
	memcpy(h.id, id, 32);
	memset(h.sig, 0x22, sizeof h.sig);
	CHECK_INT(store_head_put(s, &h, now), 0);
	CHECK_INT(store_head_put(s, &h, now), 0);	/* again: nothing */
	check_head(s, 0, 3, id, 0x22);
}

/* The integer a one-column PRAGMA gives on db, -1 if none. */
static int
pragma_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

/*
 * A version-5 store with both chains and their heads becomes version 6:
 * message_arrived and head_id gone, head rebuilt without its foreign key
 * and every head kept (same seq, id, signature); a received run and our
 * own send store their heads through the new trigger; a head that names
 * no message of its chain at its seq is refused, as is a delete.
 */
static void
test_migration_keeps_heads(void)
{
	static const uint8_t zero[32];
	struct built p[3], o[2];
	struct store *s;
	sqlite3 *db;
	char msg[160];
	int v = -1;

	build_chains(p, o);
	sqlite3_close(raw_chains("v5.db", 5, p, o));
	CHECK_INT(count_index("v5.db", "head_id"), 1);
	CHECK_INT(count_index("v5.db", "message_arrived"), 1);

	s = open_name("v5.db");
	CHECK_INT(store_schema_version(s, &v), 0);
	CHECK_INT(v, STORE_SCHEMA_VERSION);
	chains_kept_and_used(s, p, o);
	store_close(s);
	CHECK_INT(count_index("v5.db", "head_id"), 0);
	CHECK_INT(count_index("v5.db", "message_arrived"), 0);

	/* a bug writing heads by hand meets the trigger */
	path_of(msg, sizeof msg, "v5.db");
	CHECK_INT(sqlite3_open(msg, &db), SQLITE_OK);
	CHECK_INT(raw_head(db, 1, 4, p[2].id, msg, sizeof msg),
	    SQLITE_CONSTRAINT);		/* an id, not at that seq */
	CHECK_CONTAINS(msg, "a head names a message in the chain");
	CHECK_INT(raw_head(db, 0, 3, p[2].id, msg, sizeof msg),
	    SQLITE_CONSTRAINT);		/* the peer's id in our chain */
	CHECK_INT(raw_head(db, 1, 1, zero, msg, sizeof msg),
	    SQLITE_CONSTRAINT);		/* no such id */
	CHECK_INT(sqlite3_exec(db, "DELETE FROM head", NULL, NULL, NULL),
	    SQLITE_CONSTRAINT);
	sqlite3_close(db);
	s = open_name("v5.db");
	check_head(s, 1, 3, p[2].id, 0x13);
	check_head(s, 0, 2, o[1].id, 0x21);
	store_close(s);
}

/* Indexes of message with the column id alone (UNIQUE (id) until 7). */
static int
id_indexes(const char *name)
{
	return plain_int(name, "SELECT count(*) FROM pragma_index_list("
	    "'message') l WHERE (SELECT group_concat(name) FROM"
	    " pragma_index_info(l.name)) = 'id'", NULL);
}

/* A hash of every message row, column by column (type and bytes), in
 * qid order: the same before and after a migration that copies them. */
static void
rows_digest(const char *name, uint8_t out[32])
{
	crypto_generichash_state h;
	sqlite3_stmt *st;
	char p[128];
	sqlite3 *db;

	memset(out, 0, 32);
	path_of(p, sizeof p, name);
	CHECK_INT(sqlite3_open_v2(p, &db, SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	CHECK_INT(sqlite3_prepare_v2(db, "SELECT qid, channel, sender, dir,"
	    " seq, id, header, precedence, marking, kind, body, state, time_ms,"
	    " stored_ms, assigned_ms, receipted_ms FROM message ORDER BY qid",
	    -1, &st, NULL), SQLITE_OK);
	crypto_generichash_init(&h, NULL, 0, 32);
	while (sqlite3_step(st) == SQLITE_ROW)
		for (int i = 0; i < 16; i++) {
			uint8_t t = (uint8_t)sqlite3_column_type(st, i);
			const void *b = sqlite3_column_blob(st, i);
			uint32_t n = (uint32_t)sqlite3_column_bytes(st, i);
			crypto_generichash_update(&h, &t, 1);
			crypto_generichash_update(&h, (const uint8_t *)&n,
			    sizeof n);
			if (n > 0)
				crypto_generichash_update(&h, b, n);
		}
	crypto_generichash_final(&h, out, 32);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* A held message (hid) approved and queued as row qid, written raw. */
static void
raw_approval(sqlite3 *db, int hid, int qid)
{
	char sql[400];

	snprintf(sql, sizeof sql, "INSERT INTO held (hid, channel,"
	    " precedence, marking, kind, body, uid, operator, time_ms) VALUES"
	    " (%d, zeroblob(32), 3, 0, 1, x'6869', 7, 'ann', 1);"
	    " INSERT INTO approval (hid, qid, uid, operator, time_ms) VALUES"
	    " (%d, %d, 8, 'bob', 2);", hid, hid, qid);
	CHECK_INT(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
}

/*
 * A version-6 store with both chains, their heads and an approval that
 * names a message row becomes version 7: message rebuilt without UNIQUE
 * (id), every row, head and approval kept (same qid), the store used as
 * before (a received run, our next message, their heads through
 * head_names), foreign keys on again. A version-6 file whose approval
 * names no message (written with the keys off) is refused by the
 * migration's key check, ERR_INVALID, and left at version 6.
 */
static void
test_migration_drops_id_index(void)
{
	struct built p[3], o[2];
	struct store_msg m;
	struct store *s;
	sqlite3 *db, *fresh;
	char path[128];
	uint8_t before[32], after[32];
	int v = -1, rows = 0, secure = -1;

	build_chains(p, o);
	db = raw_chains("v6.db", 6, p, o);
	raw_approval(db, 1, 3);		/* qid 3: o[0] */
	CHECK_INT(sqlite3_exec(db, "INSERT INTO message (channel, sender, dir,"
	    " precedence, marking, kind, body, state, time_ms, stored_ms)"
	    " VALUES (zeroblob(32), 0, 1, 0, 2, 1, x'71', 0, 5, 6)", NULL,
	    NULL, NULL), SQLITE_OK);	/* a queued one: NULLs, no seq */
	sqlite3_close(db);
	CHECK_INT(id_indexes("v6.db"), 1);
	rows_digest("v6.db", before);

	s = open_name("v6.db");
	CHECK_INT(store_schema_version(s, &v), 0);
	CHECK_INT(v, STORE_SCHEMA_VERSION);
	CHECK_INT(wal_bytes("v6.db"), 0);	/* the copy left the WAL */
	/* secure_delete as SQLite's default again (OFF only while
	 * migrating); foreign keys on again */
	CHECK_INT(sqlite3_open(":memory:", &fresh), SQLITE_OK);
	secure = pragma_int(fresh, "PRAGMA secure_delete");
	sqlite3_close(fresh);
	CHECK(secure >= 0);
	CHECK_INT(pragma_int(s->db, "PRAGMA secure_delete"), secure);
	CHECK_INT(pragma_int(s->db, "PRAGMA foreign_keys"), 1);
	rows_digest("v6.db", after);
	CHECK_MEM(after, before, sizeof before);	/* every column kept */
	CHECK_INT(store_list(s, NULL, STORE_OUT, 10, count_row, &rows), 0);
	CHECK_INT(rows, 3);		/* ours: two sent, one queued */
	CHECK_INT(store_get_local(s, 3, &m), 0);
	CHECK_MEM(m.id, o[0].id, 32);
	store_msg_fini(&m);
	CHECK_INT(store_get_at(s, chan, 1, 2, &m), 0);
	CHECK_MEM(m.id, p[1].id, 32);
	CHECK_MEM(m.header, p[1].hdr, p[1].hlen);
	store_msg_fini(&m);
	chains_kept_and_used(s, p, o);
	store_close(s);
	CHECK_INT(id_indexes("v6.db"), 0);
	CHECK_INT(plain_int("v6.db", "SELECT count(*) FROM approval a JOIN"
	    " message m ON m.qid = a.qid", NULL), 1);
	CHECK_INT(count_index("v6.db", "message_due"), 1);
	CHECK_INT(count_index("v6.db", "message_queue"), 1);
	CHECK_INT(count_index("v6.db", "message_acked"), 1);
	/* the place in a chain is still unique */
	path_of(path, sizeof path, "v6.db");
	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db, "INSERT INTO message (channel, sender, dir,"
	    " seq, id, header, precedence, marking, kind, body, state, time_ms,"
	    " stored_ms) SELECT channel, sender, dir, seq, zeroblob(32), header,"
	    " precedence, marking, kind, body, state, time_ms, stored_ms FROM"
	    " message WHERE seq = 1 AND sender = 1", NULL, NULL, NULL),
	    SQLITE_CONSTRAINT);
	sqlite3_close(db);
	CHECK_INT(plain_int("v6.db", "SELECT count(*) FROM sqlite_schema WHERE"
	    " type = 'trigger' AND tbl_name = 'message'", NULL), 4);
	CHECK_INT(plain_int("v6.db", "SELECT count(*) FROM sqlite_schema WHERE"
	    " type = 'trigger' AND name = 'head_names'", NULL), 1);

	/* an approval naming no message: the key check stops the step */
	db = raw_at("v6bad.db", 6);
	raw_put(db, 0, &o[0], 0);
	raw_approval(db, 1, 42);
	sqlite3_close(db);
	path_of(path, sizeof path, "v6bad.db");
	CHECK_INT(store_open(&s, path), ERR_INVALID);
	CHECK_CONTAINS(store_open_error(), "migration 6 -> 7 leaves a foreign"
	    " key unmet");
	CHECK_INT(plain_int("v6bad.db", "PRAGMA user_version", NULL), 6);
	CHECK_INT(id_indexes("v6bad.db"), 1);
}

int
main(void)
{
	if (!store_files_begin("/tmp/parley-store-migrate-XXXXXX"))
		return 1;
	RUN(test_migration_drops_message_dir);
	RUN(test_migration_keeps_heads);
	RUN(test_migration_drops_id_index);
	return store_files_end();
}
