/*
 * test_audit.c: the audit log (src/msg/audit.h): entries chain and verify;
 * the pure verifier names the first bad row for an altered entry, an
 * altered hash, a missing row, a non-canonical entry; the store refuses
 * updates and deletes (triggers); a row rewritten behind the triggers'
 * back (trigger dropped with raw SQL) is caught by audit_verify_store.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../harness.h"
#include "msg/audit.h"
#include "store/people.h"

static char dir[] = "/tmp/parley-test-audit-XXXXXX";

struct rows {
	struct audit_row r[16];
	uint8_t buf[16][AUDIT_ENTRY_MAX];
	size_t n;
};

static int
grab(void *arg, uint64_t n, const uint8_t *entry, size_t len,
    const uint8_t hash[STORE_ID_LEN])
{
	struct rows *rs = arg;

	if (rs->n == 16 || len > AUDIT_ENTRY_MAX)
		return ERR_FULL;
	memcpy(rs->buf[rs->n], entry, len);
	rs->r[rs->n].n = n;
	rs->r[rs->n].entry = rs->buf[rs->n];
	rs->r[rs->n].len = len;
	memcpy(rs->r[rs->n].hash, hash, AUDIT_HASH_LEN);
	rs->n++;
	return 0;
}

static struct store *
open_log(const char *name, struct rows *rs)
{
	static const char *who[] = { "Maj. Aster", "Sgt. Example",
	    "Col. Birch", "Lt. Reed", "Maj. Aster" };
	static const char *what[] = { "send", "show", "approve", "ack",
	    "alert-clear" };
	struct store *s = NULL;
	char p[256];

	snprintf(p, sizeof p, "%s/%s", dir, name);
	CHECK_INT(store_open(&s, p), 0);
	for (int i = 0; i < 5; i++)
		CHECK_INT(audit_append(s, (uint32_t)(60001 + i), who[i],
		    what[i], "detail", 1000u + (uint64_t)i), 0);
	memset(rs, 0, sizeof *rs);
	CHECK_INT(store_audit_each(s, grab, rs), 0);
	CHECK_INT(rs->n, 5);
	return s;
}

static void
test_chain_verifies(void)
{
	struct audit_entry e;
	struct rows rs;
	struct store *s = open_log("a.db", &rs);
	uint8_t prev[AUDIT_HASH_LEN] = { 0 }, h[AUDIT_HASH_LEN];
	size_t bad = 99, count = 0;

	CHECK_INT(audit_verify(rs.r, rs.n, &bad), 0);
	CHECK_INT(bad, 5);
	CHECK_INT(audit_verify_store(s, &count, &bad), 0);
	CHECK_INT(count, 5);
	/* The formula of docs/operators.md, recomputed here by hand. */
	for (size_t i = 0; i < rs.n; i++) {
		audit_hash(prev, rs.r[i].entry, rs.r[i].len, h);
		CHECK_MEM(h, rs.r[i].hash, AUDIT_HASH_LEN);
		memcpy(prev, h, sizeof prev);
	}
	CHECK_INT(audit_decode(&e, rs.r[2].entry, rs.r[2].len), 0);
	CHECK_INT(e.n, 3);
	CHECK_INT(e.uid, 60003);
	CHECK_STR(e.operator, "Col. Birch");
	CHECK_STR(e.action, "approve");
	CHECK_INT(e.time_ms, 1002);
	/* Appending out of turn is refused. */
	CHECK_INT(store_audit_put(s, 9, rs.r[0].entry, rs.r[0].len,
	    rs.r[0].hash), ERR_CHAIN);
	store_close(s);
}

/*
 * Inside a caller's transaction (a group commit) the last entry is taken
 * from memory (store_int.h audit_last): entries appended there, a
 * transaction rolled back in the middle, a savepoint refused inside one,
 * and entries after it all keep one unbroken chain with no number twice.
 */
static void
test_chain_across_transactions(void)
{
	struct rows rs;
	struct store *s = open_log("t.db", &rs);
	size_t bad = 99, count = 0;
	uint64_t n;
	uint8_t h[AUDIT_HASH_LEN];

	CHECK_INT(store_txn_begin(s), 0);
	for (int i = 0; i < 3; i++)
		CHECK_INT(audit_append(s, 1, "Maj. Aster", "send", "in txn",
		    2000), 0);
	store_txn_rollback(s);		/* 6..8 gone */
	CHECK_INT(store_audit_last(s, &n, h), 0);
	CHECK_INT(n, 5);
	CHECK_INT(store_txn_begin(s), 0);
	CHECK_INT(audit_append(s, 1, "Maj. Aster", "send", "kept", 2001), 0);
	/* a put out of turn fails alone, inside the transaction */
	CHECK_INT(store_audit_put(s, 99, rs.r[0].entry, rs.r[0].len,
	    rs.r[0].hash), ERR_CHAIN);
	CHECK_INT(audit_append(s, 1, "Maj. Aster", "send", "kept", 2002), 0);
	CHECK_INT(store_txn_commit(s), 0);
	CHECK_INT(audit_append(s, 1, "Maj. Aster", "send", "after", 2003), 0);
	CHECK_INT(audit_verify_store(s, &count, &bad), 0);
	CHECK_INT(count, 8);
	CHECK_INT(store_audit_last(s, &n, h), 0);
	CHECK_INT(n, 8);
	store_close(s);
}

/*
 * The disk fills inside a group (SQLite rolls the whole transaction back
 * on its own): an audit entry asked for afterwards is refused instead of
 * committing alone in its place, and the log keeps only what committed.
 */
static void
test_no_entry_after_rollback_by_sqlite(void)
{
	static uint8_t big[256 * 1024];
	uint8_t chan[32] = { 7 };
	struct rows rs;
	struct store *s = open_log("full.db", &rs);
	size_t bad = 99, count = 0;
	uint64_t cap, n;
	uint8_t h[AUDIT_HASH_LEN];
	int64_t qid;
	int r;

	memset(big, 'a', sizeof big);
	CHECK_INT(store_set_max_pages(s, 1, &cap), 0);	/* as small as it is */
	CHECK_INT(store_txn_begin(s), 0);
	CHECK_INT(audit_append(s, 1, "Maj. Aster", "send", "first", 3000), 0);
	r = store_queue(s, chan, 0, 3, 0, 1, big, sizeof big, 3001, &qid);
	CHECK_INT(r, ERR_FULL);
	CHECK(audit_append(s, 1, "Maj. Aster", "send", "after", 3002) != 0);
	CHECK(store_txn_commit(s) != 0);
	CHECK_INT(audit_verify_store(s, &count, &bad), 0);
	CHECK_INT(count, 5);
	CHECK_INT(store_audit_last(s, &n, h), 0);
	CHECK_INT(n, 5);
	store_close(s);
}

static void
test_pure_verifier_names_the_row(void)
{
	struct rows rs, t;
	struct store *s = open_log("b.db", &rs);
	size_t bad;

	/* Every single-bit flip of every entry is caught at that row. */
	for (size_t i = 0; i < rs.n; i++)
		for (size_t j = 0; j < rs.r[i].len * 8; j++) {
			t = rs;
			for (size_t k = 0; k < t.n; k++)
				t.r[k].entry = t.buf[k];
			t.buf[i][j / 8] ^= (uint8_t)(1u << (j % 8));
			CHECK(audit_verify(t.r, t.n, &bad) != 0);
			CHECK_INT(bad, i);
		}
	/* An altered hash. */
	t = rs;
	for (size_t k = 0; k < t.n; k++)
		t.r[k].entry = t.buf[k];
	t.r[3].hash[0] ^= 1;
	CHECK_INT(audit_verify(t.r, t.n, &bad), ERR_CHAIN);
	CHECK_INT(bad, 3);
	/* A row taken out. */
	t = rs;
	for (size_t k = 0; k < t.n; k++)
		t.r[k].entry = t.buf[k];
	memmove(&t.r[1], &t.r[2], 3 * sizeof t.r[0]);
	CHECK_INT(audit_verify(t.r, 4, &bad), ERR_GAP);
	CHECK_INT(bad, 1);
	store_close(s);
}

static void
test_noncanonical_entry(void)
{
	struct audit_entry e, d;
	uint8_t buf[AUDIT_ENTRY_MAX], wide[AUDIT_ENTRY_MAX + 8];
	size_t len;

	memset(&e, 0, sizeof e);
	e.n = 1;
	e.time_ms = 5;
	snprintf(e.operator, sizeof e.operator, "Maj. Aster");
	snprintf(e.action, sizeof e.action, "send");
	CHECK_INT(audit_encode(&e, buf, sizeof buf, &len), 0);
	CHECK_INT(audit_decode(&d, buf, len), 0);
	/* {0: 1, ...} with n as a two-byte integer (0x18 0x01). */
	CHECK(buf[0] == 0xa6 && buf[1] == 0x00 && buf[2] == 0x01);
	wide[0] = 0xa6;
	wide[1] = 0x00;
	wide[2] = 0x18;
	wide[3] = 0x01;
	memcpy(wide + 4, buf + 3, len - 3);
	CHECK_INT(audit_decode(&d, wide, len + 1), ERR_NONCANONICAL);
	/* Trailing bytes. */
	buf[len] = 0;
	CHECK(audit_decode(&d, buf, len + 1) != 0);
}

static void
raw(const char *name, const char *sql, const uint8_t *blob, size_t n,
    int want)
{
	char p[256];
	sqlite3 *db;
	sqlite3_stmt *st;

	snprintf(p, sizeof p, "%s/%s", dir, name);
	CHECK_INT(sqlite3_open(p, &db), SQLITE_OK);
	CHECK_INT(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (blob)
		sqlite3_bind_blob(st, 1, blob, (int)n, SQLITE_TRANSIENT);
	CHECK_INT(sqlite3_step(st), want);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void
test_store_append_only_and_tamper(void)
{
	struct rows rs;
	struct store *s = open_log("c.db", &rs);
	struct audit_entry e;
	uint8_t buf[AUDIT_ENTRY_MAX];
	size_t len, count, bad;
	char p[256];

	store_close(s);
	raw("c.db", "UPDATE audit SET entry = x'00' WHERE n = 2", NULL, 0,
	    SQLITE_CONSTRAINT);
	raw("c.db", "DELETE FROM audit WHERE n = 5", NULL, 0,
	    SQLITE_CONSTRAINT);
	/* Someone with the file drops the trigger and rewrites who approved
	 * (entry 3), keeping a well-formed entry and the old hash. */
	CHECK_INT(audit_decode(&e, rs.r[2].entry, rs.r[2].len), 0);
	snprintf(e.operator, sizeof e.operator, "Maj. Aster");
	CHECK_INT(audit_encode(&e, buf, sizeof buf, &len), 0);
	raw("c.db", "DROP TRIGGER audit_fixed", NULL, 0, SQLITE_DONE);
	raw("c.db", "UPDATE audit SET entry = ?1 WHERE n = 3", buf, len,
	    SQLITE_DONE);
	snprintf(p, sizeof p, "%s/c.db", dir);
	CHECK_INT(store_open(&s, p), 0);
	CHECK_INT(audit_verify_store(s, &count, &bad), ERR_CHAIN);
	CHECK_INT(count, 5);
	CHECK_INT(bad, 2);		/* index: entry n = 3 */
	store_close(s);
}

int
main(void)
{
	char cmd[128];
	int rc;

	if (mkdtemp(dir) == NULL)
		return 1;
	RUN(test_chain_verifies);
	RUN(test_chain_across_transactions);
	RUN(test_no_entry_after_rollback_by_sqlite);
	RUN(test_pure_verifier_names_the_row);
	RUN(test_noncanonical_entry);
	RUN(test_store_append_only_and_tamper);
	rc = harness_summary();
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return rc;
}
