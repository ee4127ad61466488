/*
 * test_anchor_back.c: audit anchors that go back (src/msg/anchor.h,
 * invariant 6), between two engines over two stores in memory: an ask's
 * held checked with the answerer's own key (a forged claim taken as none,
 * answered); the asker's rows deleted with its log's tail seen by both
 * sides at the next ask, once, across the answerer's restart, also when
 * the newest row left was altered (shown as none); lost answers raise
 * nothing; a store error as the answer is taken loses no alarm; a
 * version-8 store migrated with its rows; our log checked against the
 * newest anchor stored (a rewrite, a cut, an altered row); the log and
 * its anchors read by verify as of one moment beside a writer.
 */
#include "anchor_pair.h"
#include "store/record.h"

/* One round at t: e[0] asks (a new ask due), e[1] answers at t + 100,
 * e[0] takes the answer at t + 200 unless lose. 0, or the first error. */
static int
round_at(struct pair *p, uint64_t t, bool lose)
{
	int r;

	if ((r = anchor_tick(&p->e[0], t, t, p->buf, sizeof p->buf, &p->len))
	    != 0 || p->len == 0)
		return r ? r : ERR_STATE;
	if ((r = anchor_on_record(&p->e[1], p->buf, p->len, t + 100, t + 100,
	    p->ans, sizeof p->ans, &p->alen)) != 0)
		return r;
	if (lose)
		return 0;
	return anchor_on_record(&p->e[0], p->ans, p->alen, t + 200, t + 200,
	    p->buf, sizeof p->buf, &p->len);
}

/* Rows deleted as an attacker with the store file would: the triggers
 * dropped first. */
static void
raw_exec(struct store *s, const char *sql)
{
	CHECK_INT(sqlite3_exec(s->db, sql, NULL, NULL, NULL), SQLITE_OK);
}

static uint64_t
backs_stored(struct store *s)
{
	sqlite3_stmt *st = NULL;
	uint64_t n = 0;

	if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM "
	    "audit_anchor_back", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* Invariant 5: the asker's store loses the anchors it held (rows deleted
 * with the log's tail, a restart): the next ask shows it to both sides,
 * once, even across the answerer's restart (its claims are stored). */
static void
test_went_back(void)
{
	struct pair p;
	char text[400];

	pair_open(&p, 60000);
	log_n(p.s[0], 2);
	CHECK_INT(round_at(&p, 1000, false), 0);
	CHECK(!p.e[0].ask.has_held);		/* nothing held yet */
	log_n(p.s[0], 2);
	CHECK_INT(round_at(&p, 61000, false), 0);
	CHECK(p.e[0].ask.has_held);
	CHECK_INT(p.e[0].ask.held_time_ms, 1000);
	log_n(p.s[0], 2);
	CHECK_INT(round_at(&p, 121000, false), 0);
	CHECK_INT(p.e[0].ask.held_time_ms, 61000);
	CHECK_INT(p.e[1].backs + p.e[0].backs, 0);
	/* the answerer restarts: what the asker claimed is in its store */
	anchor_init(&p.e[1], p.s[1], &kp[1], channel, kp[0].id.sign_pub,
	    60000, 150000, 150000);
	/* the asker's anchors after 1000 deleted, its log cut to entry 2
	 * (verify passes: nothing local shows it), and it restarts */
	raw_exec(p.s[0], "DROP TRIGGER audit_anchor_keep; DROP TRIGGER "
	    "audit_keep; DELETE FROM audit_anchor WHERE time_ms > 1000; "
	    "DELETE FROM audit WHERE n > 2");
	CHECK_INT(last(p.s[0]), 2);
	anchor_init(&p.e[0], p.s[0], &kp[0], channel, kp[1].id.sign_pub,
	    60000, 181000, 181000);
	CHECK_INT(round_at(&p, 181000, true), 0);
	CHECK_INT(p.e[0].ask.held_time_ms, 1000);
	/* still answered; the answerer saw it: from the newest held it was
	 * shown before (61000, in the ask of 121000) back to 1000 */
	CHECK(p.alen > 0);
	CHECK(p.e[1].back);
	CHECK(!p.e[1].back_ours);
	CHECK_INT(p.e[1].back_from_ms, 61000);
	CHECK_INT(p.e[1].back_to_ms, 1000);
	anchor_back_text(text, sizeof text, &p.e[1], "south", "north");
	CHECK_CONTAINS(text, "north's audit anchors went back from "
	    "1970-01-01 00:01:01Z to 1970-01-01 00:00:01Z: its store was "
	    "restored from a backup or rewritten");
	/* ... and its answer says so to the asker */
	CHECK_INT(anchor_on_record(&p.e[0], p.ans, p.alen, 181200, 181200,
	    p.buf, sizeof p.buf, &p.len), 0);
	CHECK(p.e[0].back);
	CHECK(p.e[0].back_ours);
	CHECK_INT(p.e[0].back_from_ms, 61000);
	CHECK_INT(p.e[0].back_to_ms, 1000);
	anchor_back_text(text, sizeof text, &p.e[0], "north", "south");
	CHECK_CONTAINS(text, "north's audit anchors went back from ");
	CHECK_CONTAINS(text, "(as south says: it keeps what it signed, and its "
	    "word is not signed)");
	CHECK_INT(backs_stored(p.s[0]), 1);
	CHECK_INT(backs_stored(p.s[1]), 1);
	/* once: an answer lost, the next ask holds the same again; after
	 * the answerer's restart too, nothing new on either side */
	raw_exec(p.s[0], "DELETE FROM audit_anchor WHERE time_ms > 1000");
	anchor_init(&p.e[0], p.s[0], &kp[0], channel, kp[1].id.sign_pub,
	    60000, 241000, 241000);
	anchor_init(&p.e[1], p.s[1], &kp[1], channel, kp[0].id.sign_pub,
	    60000, 241000, 241000);
	CHECK_INT(round_at(&p, 241000, false), 0);
	CHECK_INT(p.e[0].ask.held_time_ms, 1000);
	CHECK(!p.e[1].back);
	CHECK(!p.e[0].back);
	CHECK_INT(backs_stored(p.s[0]), 1);
	CHECK_INT(backs_stored(p.s[1]), 1);
	/* the answer stored: the next ask holds it, and all is quiet */
	CHECK_INT(round_at(&p, 301000, false), 0);
	CHECK_INT(p.e[0].ask.held_time_ms, 241000);
	CHECK(!p.e[1].back && !p.e[0].back);
	/* all of them deleted: none held after some, a new regression */
	raw_exec(p.s[0], "DELETE FROM audit_anchor");
	anchor_init(&p.e[0], p.s[0], &kp[0], channel, kp[1].id.sign_pub,
	    60000, 361000, 361000);
	CHECK_INT(round_at(&p, 361000, false), 0);
	CHECK(!p.e[0].ask.has_held);
	CHECK(p.e[1].back && p.e[0].back);
	CHECK_INT(p.e[1].back_from_ms, 241000);
	CHECK_INT(p.e[1].back_to_ms, 0);
	anchor_back_text(text, sizeof text, &p.e[1], "south", "north");
	CHECK_CONTAINS(text, "went back from 1970-01-01 00:04:01Z to none:");
	CHECK_INT(backs_stored(p.s[1]), 2);
	pair_close(&p);
}

/* The asker's store fails as it takes the answer that shows its anchors
 * went back: refused, and the alarm is raised when the same answer (sent
 * again, or over the other path) is taken, not lost for good because the
 * regression was stored as seen before the answer was. */
static void
test_went_back_store_fails(void)
{
	struct pair p;

	pair_open(&p, 60000);
	log_n(p.s[0], 2);
	CHECK_INT(round_at(&p, 1000, false), 0);
	CHECK_INT(round_at(&p, 61000, false), 0);
	CHECK_INT(round_at(&p, 121000, false), 0);
	raw_exec(p.s[0], "DROP TRIGGER audit_anchor_keep; DELETE FROM "
	    "audit_anchor WHERE time_ms > 1000; CREATE TRIGGER disk_full "
	    "BEFORE INSERT ON audit_anchor BEGIN SELECT RAISE(ABORT, "
	    "'database or disk is full'); END");
	anchor_init(&p.e[0], p.s[0], &kp[0], channel, kp[1].id.sign_pub,
	    60000, 181000, 181000);
	CHECK_INT(round_at(&p, 181000, true), 0);
	CHECK(p.e[1].back);
	CHECK(anchor_on_record(&p.e[0], p.ans, p.alen, 181200, 181200, p.buf,
	    sizeof p.buf, &p.len) != 0);
	CHECK(p.e[0].pending);
	raw_exec(p.s[0], "DROP TRIGGER disk_full");
	CHECK_INT(anchor_on_record(&p.e[0], p.ans, p.alen, 181300, 181300,
	    p.buf, sizeof p.buf, &p.len), 0);
	CHECK(p.e[0].back);
	CHECK(p.e[0].back_ours);
	CHECK_INT(p.e[0].back_from_ms, 61000);
	CHECK_INT(p.e[0].back_to_ms, 1000);
	CHECK_INT(backs_stored(p.s[0]), 1);
	pair_close(&p);
}

/* A held the answerer did not sign (altered, another channel's, another
 * key's): taken as holding none (held_ms 0 stored, so it can never
 * inflate what is claimed later), the ask answered, the record marked
 * (e->forged_held, logged by the daemon). Each variant from an asker of
 * its own, so that each is a first ask. */
static void
test_forged_claim(void)
{
	struct pair p;
	struct anchor_rec ask;
	uint8_t out[ANCHOR_REC_MAX];
	size_t len;
	uint64_t held = 99;

	for (int k = 0; k < 5; k++) {
		pair_open(&p, 60000);
		log_n(p.s[0], 2);
		CHECK_INT(round_at(&p, 1000, false), 0);
		CHECK_INT(anchor_tick(&p.e[0], 61000, 61000, p.buf,
		    sizeof p.buf, &p.len), 0);
		CHECK(p.e[0].ask.has_held);
		CHECK_INT(given(p.s[1]), 1);
		ask = p.e[0].ask;
		if (k == 0)
			ask.held_sig[5] ^= 1;
		else if (k == 1)
			ask.held_time_ms += 1;
		else if (k == 2)
			CHECK_INT(anchor_sign(&kp[1], other, ask.held_anchor,
			    ask.held_time_ms, ask.held_sig), 0);
		else if (k == 3)
			CHECK_INT(anchor_sign(&mallory, channel,
			    ask.held_anchor, ask.held_time_ms, ask.held_sig),
			    0);
		CHECK_INT(anchor_rec_encode(&ask, out, sizeof out, &len), 0);
		CHECK_INT(anchor_on_record(&p.e[1], out, len, 61100, 61100,
		    p.ans, sizeof p.ans, &p.alen), 0);
		CHECK(p.alen > 0);
		CHECK_INT(given(p.s[1]), 2);
		CHECK(p.e[1].forged_held == (k < 4));	/* k 4: genuine */
		CHECK(!p.e[1].back);		/* nothing claimed before */
		CHECK_INT(store_anchor_claimed(p.s[1], channel, 70000, &held),
		    0);
		CHECK_INT(held, k < 4 ? 0 : 1000);
		pair_close(&p);
	}
}

/* The attacker with our store deletes the anchors after a point and cuts
 * the log to match (as in test_went_back), and also alters the newest
 * row left (its time made the newest, so its signature fails): held must
 * not be a claim the answerer refuses (that was a WARN in its log and no
 * answer: no alarm on either side, and no anchor ever again). The asker
 * shows none (the row is not the peer's signature), so both sides raise
 * the regression, and it holds a genuine anchor again after it. */
static void
test_forged_claim_went_back(void)
{
	struct pair p;

	pair_open(&p, 60000);
	log_n(p.s[0], 2);
	CHECK_INT(round_at(&p, 1000, false), 0);
	log_n(p.s[0], 2);
	CHECK_INT(round_at(&p, 61000, false), 0);
	CHECK_INT(round_at(&p, 121000, false), 0);
	raw_exec(p.s[0], "DROP TRIGGER audit_anchor_keep; DROP TRIGGER "
	    "audit_anchor_fixed; DROP TRIGGER audit_keep; DELETE FROM "
	    "audit_anchor WHERE time_ms > 1000; DELETE FROM audit WHERE "
	    "n > 2; UPDATE audit_anchor SET time_ms = 170000");
	anchor_init(&p.e[0], p.s[0], &kp[0], channel, kp[1].id.sign_pub,
	    60000, 181000, 181000);
	CHECK_INT(round_at(&p, 181000, false), 0);
	CHECK(!p.e[0].ask.has_held);
	CHECK(p.alen > 0);
	CHECK(p.e[1].back);
	CHECK(!p.e[1].back_ours);
	CHECK_INT(p.e[1].back_from_ms, 61000);
	CHECK_INT(p.e[1].back_to_ms, 0);
	CHECK(p.e[0].back);
	CHECK(p.e[0].back_ours);
	CHECK_INT(p.e[0].back_from_ms, 61000);
	/* the answer stored: a genuine anchor held from now on, quiet */
	CHECK_INT(round_at(&p, 241000, false), 0);
	CHECK_INT(p.e[0].ask.held_time_ms, 181000);
	CHECK(!p.e[1].forged_held && !p.e[1].back && !p.e[0].back);
	pair_close(&p);
}

/* Answers lost on the way (the peer signed, we never stored them) are
 * never claimed: no alarm on either side, then or later. */
static void
test_lost_answer_quiet(void)
{
	struct pair p;
	uint64_t t = 1000;

	pair_open(&p, 60000);
	log_n(p.s[0], 2);
	CHECK_INT(round_at(&p, t, true),
	    0);		/* lost: none held */
	for (int k = 0; k < 6; k++) {
		t += 60000;
		log_n(p.s[0], 1);
		CHECK_INT(round_at(&p, t, k % 3 != 0), 0);
		CHECK(!p.e[1].back);
		CHECK(!p.e[0].back);
	}
	/* the answerer restarts in between: the same */
	anchor_init(&p.e[1], p.s[1], &kp[1], channel, kp[0].id.sign_pub,
	    60000, t + 30000, t + 30000);
	for (int k = 0; k < 3; k++) {
		t += 60000;
		CHECK_INT(round_at(&p, t, k == 0), 0);
		CHECK(!p.e[1].back && !p.e[0].back);
	}
	CHECK_INT(p.e[0].backs + p.e[1].backs, 0);
	CHECK_INT(backs_stored(p.s[0]) + backs_stored(p.s[1]), 0);
	CHECK_INT(given(p.s[1]), 10);
	pair_close(&p);
}


/* A version-8 store with an anchor and an evidence row, opened: migrated
 * to 9 with both rows (the evidence's held 0), and a second answer of
 * the same n now stored beside the first. */
static void
test_migration_8_to_9(void)
{
	char dir[] = "/tmp/parley-test-anchor-XXXXXX", path[64], sql[96];
	struct store_anchor a, b;
	struct store *s = NULL;
	sqlite3 *db = NULL;
	uint64_t held = 99;
	bool found = false;
	int v = -1;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/v8.db", dir);
	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
	for (int k = 0; k < 8; k++)
		CHECK_INT(sqlite3_exec(db, store_migration_sql(k), NULL, NULL,
		    NULL), SQLITE_OK);
	snprintf(sql, sizeof sql, "PRAGMA user_version = 8;"
	    " PRAGMA application_id = %d;", STORE_APPLICATION_ID);
	CHECK_INT(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db, "INSERT INTO audit_anchor (channel, n, "
	    "anchor, salt, time_ms, sig, stored_ms) VALUES (zeroblob(32), 3, "
	    "zeroblob(32), zeroblob(32), 1000, zeroblob(64), 1100); INSERT "
	    "INTO audit_anchor_given (channel, anchor, time_ms, sig, "
	    "stored_ms) VALUES (zeroblob(32), zeroblob(32), 900, "
	    "zeroblob(64), 950)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	CHECK_INT(store_open(&s, path), 0);
	if (s == NULL)
		return;
	CHECK_INT(store_schema_version(s, &v), 0);
	CHECK_INT(v, STORE_SCHEMA_VERSION);
	memset(&b, 0, sizeof b);
	CHECK_INT(store_anchor_newest(s, b.anchor, &a, &found), 0);
	CHECK(found);
	CHECK_INT(a.n, 3);
	CHECK_INT(a.time_ms, 1000);
	CHECK_INT(store_anchor_claimed(s, b.anchor, 5000, &held), 0);
	CHECK_INT(held, 0);
	b.n = 3;
	b.time_ms = 2000;
	CHECK_INT(store_anchor_put(s, b.anchor, &b, 2100), 0);
	CHECK_INT(store_anchor_put(s, b.anchor, &b, 2100), ERR_EXISTS);
	CHECK_INT(store_anchor_newest(s, b.anchor, &a, &found), 0);
	CHECK_INT(a.time_ms, 2000);
	store_close(s);
	(void)unlink(path);
	snprintf(sql, sizeof sql, "%s-wal", path);
	(void)unlink(sql);
	snprintf(sql, sizeof sql, "%s-shm", path);
	(void)unlink(sql);
	CHECK_INT(rmdir(dir), 0);
}

/* NOTES 6 across the answerer's restart: its answer to the last ask it
 * signed, lost and asked again (the same bytes) after the restart, is
 * given from the store with the claim it first carried, so the asker sees
 * its own regression at that answer, not one ask later. */
static void
test_resent_answer_claims(void)
{
	struct anchor_rec ans;
	struct pair p;

	pair_open(&p, 60000);
	log_n(p.s[0], 2);
	CHECK_INT(round_at(&p, 1000, false), 0);
	CHECK_INT(round_at(&p, 61000, false), 0);
	CHECK_INT(round_at(&p, 121000, false), 0);
	raw_exec(p.s[0], "DROP TRIGGER audit_anchor_keep; DELETE FROM "
	    "audit_anchor WHERE time_ms > 1000");
	anchor_init(&p.e[0], p.s[0], &kp[0], channel, kp[1].id.sign_pub,
	    60000, 181000, 181000);
	CHECK_INT(round_at(&p, 181000, true), 0);	/* the answer lost */
	CHECK(p.e[1].back);
	CHECK_INT(anchor_rec_decode(&ans, p.ans, p.alen), 0);
	CHECK_INT(ans.claimed_ms, 61000);
	/* the answerer restarts; the asker sends its ask again */
	anchor_init(&p.e[1], p.s[1], &kp[1], channel, kp[0].id.sign_pub,
	    60000, 185000, 185000);
	CHECK_INT(anchor_tick(&p.e[0], 181000 + ANCHOR_RETRY_MS,
	    181000 + ANCHOR_RETRY_MS, p.buf, sizeof p.buf, &p.len), 0);
	CHECK(p.len > 0);
	CHECK_INT(anchor_on_record(&p.e[1], p.buf, p.len, 191100, 191100,
	    p.ans, sizeof p.ans, &p.alen), 0);
	CHECK_INT(given(p.s[1]), 4);		/* answered again, not stored */
	CHECK_INT(anchor_rec_decode(&ans, p.ans, p.alen), 0);
	CHECK_INT(ans.claimed_ms, 61000);
	CHECK_INT(anchor_on_record(&p.e[0], p.ans, p.alen, 191200, 191200,
	    p.buf, sizeof p.buf, &p.len), 0);
	CHECK(p.e[0].back);
	CHECK(p.e[0].back_ours);
	CHECK_INT(p.e[0].back_from_ms, 61000);
	CHECK_INT(p.e[0].back_to_ms, 1000);
	pair_close(&p);
}

/* anchor_check_log: our log against the newest anchor stored, paced by
 * the interval, with no peer involved: a consistent rewrite of an entry up
 * to it, a cut log and an altered row are each named; a sound log is not. */
static void
test_check_log(void)
{
	struct pair p;

	pair_open(&p, 60000);
	CHECK_INT(anchor_check_log(&p.e[0], 500), 0);	/* none stored */
	CHECK(!p.e[0].log_bad);
	log_n(p.s[0], 3);
	CHECK_INT(round_at(&p, 1000, false), 0);
	CHECK_INT(last(p.s[0]), 3);
	log_n(p.s[0], 2);		/* entries after it: not covered */
	CHECK_INT(anchor_check_log(&p.e[0], 60500), 0);
	CHECK(!p.e[0].log_bad);
	/* entry 2 rewritten and every hash after it recomputed, as one who
	 * holds the store file would: entry 3's hash is no longer the one
	 * the peer signed an anchor of */
	raw_exec(p.s[0], "DROP TRIGGER audit_fixed; DROP TRIGGER audit_keep;"
	    " UPDATE audit SET hash = randomblob(32) WHERE n >= 2");
	CHECK_INT(anchor_check_log(&p.e[0], 61000), 0);	/* not due */
	CHECK(!p.e[0].log_bad);
	CHECK_INT(anchor_check_log(&p.e[0], 120500), 0);
	CHECK(p.e[0].log_bad);
	CHECK_INT(p.e[0].log_row.n, 3);
	CHECK_INT(p.e[0].log_row.time_ms, 1000);
	CHECK_CONTAINS(p.e[0].log_fault, "audit log entry <= 3 does not match "
	    "what the peer signed at 1970-01-01 00:00:01Z: the log was "
	    "rewritten");
	/* the log cut below the anchor */
	raw_exec(p.s[0], "DELETE FROM audit WHERE n >= 3");
	CHECK_INT(anchor_check_log(&p.e[0], 180500), 0);
	CHECK(p.e[0].log_bad);
	CHECK_CONTAINS(p.e[0].log_fault, "the audit log has no entry 3");
	/* the row itself altered */
	raw_exec(p.s[0], "DROP TRIGGER audit_anchor_fixed; UPDATE audit_anchor"
	    " SET sig = randomblob(64)");
	CHECK_INT(anchor_check_log(&p.e[0], 240500), 0);
	CHECK(p.e[0].log_bad);
	CHECK_CONTAINS(p.e[0].log_fault, "is not signed by the peer");
	pair_close(&p);
}

/* anchor_check_log: a new ask made after the last check (its schedule
 * drifts from the check's: the first ask waits for a path, an outage
 * delays one) reads the head of a log rewritten meanwhile; once its answer
 * is stored, the newest row matches the rewritten log. So the log is
 * checked against the newest row before that answer: at the new ask. */
static void
test_check_log_at_ask(void)
{
	struct pair p;

	pair_open(&p, 60000);
	log_n(p.s[0], 3);
	CHECK_INT(anchor_check_log(&p.e[0], 500), 0);	/* none stored */
	CHECK_INT(round_at(&p, 1000, false), 0);
	CHECK_INT(anchor_check_log(&p.e[0], 60500), 0);
	CHECK(!p.e[0].log_bad);
	raw_exec(p.s[0], "DROP TRIGGER audit_fixed; UPDATE audit SET hash ="
	    " randomblob(32) WHERE n >= 2");
	/* the scheduled ask, after the check, shows the rewritten head */
	CHECK_INT(anchor_tick(&p.e[0], 61000, 61000, p.buf, sizeof p.buf,
	    &p.len), 0);
	CHECK(p.len > 0);
	CHECK_INT(anchor_check_log(&p.e[0], 61000), 0);
	CHECK(p.e[0].log_bad);
	CHECK_INT(p.e[0].log_row.time_ms, 1000);
	CHECK_CONTAINS(p.e[0].log_fault, "audit log entry <= 3 does not match");
	/* its answer stored: the newest row now matches the rewritten log */
	CHECK_INT(anchor_on_record(&p.e[1], p.buf, p.len, 61100, 61100, p.ans,
	    sizeof p.ans, &p.alen), 0);
	CHECK_INT(anchor_on_record(&p.e[0], p.ans, p.alen, 61200, 61200,
	    p.buf, sizeof p.buf, &p.len), 0);
	CHECK_INT(anchor_check_log(&p.e[0], 121000), 0);
	CHECK(!p.e[0].log_bad);
	pair_close(&p);
}

/* The engines as parleyd runs them while anchor_verify_store reads:
 * one more log entry and its anchor, once, as the anchors are read. */
static struct pair *busy;
static int rounds_between;

static int
on_stmt(unsigned type, void *ctx, void *stmt, void *x)
{
	const char *sql = sqlite3_sql(stmt);

	(void)type;
	(void)ctx;
	(void)x;
	if (rounds_between == 0 && sql != NULL &&
	    strstr(sql, "FROM audit_anchor WHERE channel = ?1 ORDER BY n,") !=
	    NULL) {
		rounds_between++;
		log_n(busy->s[0], 1);
		CHECK_INT(round_at(busy, 70000, false), 0);
	}
	return 0;
}

/* `parley verify` reads the log, then the anchors, beside a running
 * daemon: an entry and the anchor over it committed between the two
 * reads are in neither (one read transaction), not an anchor past the
 * log read ("the log was cut or rewritten"). */
static void
test_verify_one_moment(void)
{
	char dir[] = "/tmp/parley-test-anchor-XXXXXX", path[64], side[80];
	struct anchor_verdict v;
	struct store *r = NULL;
	struct pair p;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/a.db", dir);
	memset(&p, 0, sizeof p);
	CHECK_INT(store_open(&p.s[0], path), 0);
	CHECK_INT(store_open(&p.s[1], ":memory:"), 0);
	if (p.s[0] == NULL || p.s[1] == NULL)
		return;
	anchor_init(&p.e[0], p.s[0], &kp[0], channel, kp[1].id.sign_pub,
	    60000, 1000, 1000);
	anchor_init(&p.e[1], p.s[1], &kp[1], channel, kp[0].id.sign_pub,
	    60000, 1000, 1000);
	log_n(p.s[0], 3);
	CHECK_INT(round_at(&p, 1000, false), 0);
	CHECK_INT(last(p.s[0]), 3);
	CHECK_INT(store_open_readonly(&r, path), 0);
	if (r == NULL)
		return;
	busy = &p;
	sqlite3_trace_v2(r->db, SQLITE_TRACE_STMT, on_stmt, NULL);
	CHECK_INT(anchor_verify_store(r, channel, kp[1].id.sign_pub, "south",
	    &v), 0);
	CHECK_STR(v.fault, "");
	CHECK_INT(rounds_between, 1);
	CHECK_INT(v.count, 1);
	CHECK_INT(v.newest_n, 3);
	/* the next verify sees both */
	CHECK_INT(last(p.s[0]), 4);
	CHECK_INT(anchor_verify_store(r, channel, kp[1].id.sign_pub, "south",
	    &v), 0);
	CHECK_INT(v.count, 2);
	CHECK_INT(v.newest_n, 4);
	store_close(r);
	pair_close(&p);
	(void)unlink(path);
	snprintf(side, sizeof side, "%s-wal", path);
	(void)unlink(side);
	snprintf(side, sizeof side, "%s-shm", path);
	(void)unlink(side);
	CHECK_INT(rmdir(dir), 0);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	anchor_pair_setup();
	RUN(test_went_back);
	RUN(test_went_back_store_fails);
	RUN(test_forged_claim);
	RUN(test_forged_claim_went_back);
	RUN(test_lost_answer_quiet);
	RUN(test_migration_8_to_9);
	RUN(test_resent_answer_claims);
	RUN(test_check_log);
	RUN(test_check_log_at_ask);
	RUN(test_verify_one_moment);
	keys_fini(&kp[0]);
	keys_fini(&kp[1]);
	keys_fini(&mallory);
	return harness_summary();
}
