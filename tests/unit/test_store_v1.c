/*
 * test_store_v1.c: a store from before salted bodies (schema 9, envelope
 * version 1 headers, unsalted bodies) is migrated to schema 10 and its
 * record verifies unchanged (the same rows, ids and transcript head, every
 * body checked with no salt); the chain then goes on with version 2
 * headers, salted (a row queued before the upgrade first: its salt is
 * drawn at its assignment), and the mixed record verifies. A flipped salt byte of
 * a stored version 2 body is named (docs/export.md, "What verify checks"
 * 4). The version 1 store is made as those builds made it (headers of
 * tests/v1_build.h, heads signed), then its column and user_version taken
 * back to schema 9.
 */
#include <sodium.h>
#include <sqlite3.h>
#include <stdlib.h>

#include "../harness.h"
#include "../header_builders.h"
#include "sign_keys.h"
#include "store_dir.h"
#include "store/record.h"
#include "msg/chain.h"
#include "msg/export.h"

static struct keys kp[2];

/* Party i's next message text, assigned with build and signed. */
static void
party_sends(struct store *s, uint8_t i, const char *text, store_header_fn build)
{
	struct store_msg m;
	struct chain_head h;
	struct store_head sh;
	int64_t qid;

	CHECK_INT(chain_queue(s, chan, i, ENVELOPE_ROUTINE, ENVELOPE_PRIVATE,
	    ENVELOPE_TEXT, (const uint8_t *)text, strlen(text), now, &qid),
	    0);
	CHECK_INT(store_assign_next(s, chan, i, now, build, NULL, &m), 0);
	CHECK_INT(chain_head_over(&h, &m, &kp[i]), 0);
	chain_head_to_store(&sh, &h);
	CHECK_INT(store_head_put(s, &sh, now), 0);
	store_msg_fini(&m);
}

static int
add_msg(void *arg, struct store_msg *m)
{
	return export_add_msg(arg, m->sender, m->header, m->header_len,
	    m->salted ? m->body_salt : NULL, m->body, m->body_len);
}

static int
add_head(void *arg, const struct store_head *sh)
{
	struct chain_head h;

	chain_head_from_store(&h, sh);
	return export_add_head(arg, &h);
}

/* Verifies the store's record (as parley verify loads it) into rep. */
static int
verify_store(struct store *s, struct export_report *rep)
{
	struct export_record rec;
	int r;

	export_record_init(&rec);
	memcpy(rec.channel, chan, 32);
	for (uint8_t i = 0; i < 2; i++) {
		snprintf(rec.party[i].name, sizeof rec.party[i].name, "%s",
		    i ? "south" : "north");
		memcpy(rec.party[i].sign_pub, kp[i].id.sign_pub, 32);
		CHECK_INT(store_after(s, chan, i, 0, SIZE_MAX, add_msg, &rec),
		    0);
		CHECK_INT(store_heads_each(s, chan, i, add_head, &rec), 0);
	}
	r = export_verify(&rec, rep);
	export_record_fini(&rec);
	return r;
}

/* Runs sql on the file name by SQLite alone (the store closed). */
static void
exec_on(const char *name, const char *sql)
{
	char p[128];
	sqlite3 *db = NULL;

	path_of(p, sizeof p, name);
	CHECK_INT(sqlite3_open(p, &db), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static int
count_salted(void *arg, struct store_msg *m)
{
	struct envelope_header h;

	if (m->header_len == 0)		/* queued: no salt yet */
		return m->salted ? ERR_INVALID : 0;
	if (envelope_header_decode(&h, m->header, m->header_len) != 0 ||
	    m->salted != (h.version == 2))
		return ERR_INVALID;
	*(int *)arg += m->salted;
	return 0;
}

static void
test_v1_store_goes_on(void)
{
	struct store *s;
	struct export_report rep;
	struct store_msg m;
	struct chain_head h;
	struct store_head sh;
	uint8_t head[32];
	int64_t qid;
	int salted = 0;
	int v;

	s = open_name("v1.db");
	for (int k = 0; k < 3; k++) {
		party_sends(s, 0, "north, version 1", v1_store_build);
		party_sends(s, 1, "south, version 1", v1_store_build);
	}
	/* one more of north's, queued before the upgrade: no header yet */
	CHECK_INT(chain_queue(s, chan, 0, ENVELOPE_ROUTINE, ENVELOPE_PRIVATE,
	    ENVELOPE_TEXT, (const uint8_t *)"queued before",
	    strlen("queued before"), now, &qid), 0);
	CHECK_INT(verify_store(s, &rep), 0);
	memcpy(head, rep.head, 32);
	store_close(s);
	/* back to schema 9: no body_salt, the trigger as it was */
	exec_on("v1.db", "DROP TRIGGER message_assign_once;"
	    " ALTER TABLE message DROP COLUMN body_salt;"
	    " CREATE TRIGGER message_assign_once BEFORE UPDATE OF seq, id,"
	    " header ON message WHEN OLD.seq IS NOT NULL BEGIN SELECT"
	    " RAISE(ABORT, 'a place in the chain is fixed once'); END;"
	    " PRAGMA user_version = 9;");

	s = open_name("v1.db");		/* migrated: 9 -> 10 */
	CHECK_INT(store_schema_version(s, &v), 0);
	CHECK_INT(v, 10);
	CHECK_INT(verify_store(s, &rep), 0);
	CHECK(rep.ok);
	CHECK_MEM(rep.head, head, 32);		/* the same record */
	CHECK_INT(rep.disclosed[0] + rep.disclosed[1], 6);
	CHECK_INT(store_list(s, chan, STORE_BOTH, 100, count_salted, &salted),
	    0);
	CHECK_INT(salted, 0);

	/* the row queued before the upgrade: salted at its assignment */
	CHECK_INT(store_assign_next(s, chan, 0, now, chain_store_build, NULL,
	    &m), 0);
	CHECK(m.salted && m.body_len == strlen("queued before") &&
	    memcmp(m.body, "queued before", m.body_len) == 0);
	CHECK_INT(chain_head_over(&h, &m, &kp[0]), 0);
	chain_head_to_store(&sh, &h);
	CHECK_INT(store_head_put(s, &sh, now), 0);
	store_msg_fini(&m);
	/* the builder every sender uses now: version 2, salted */
	party_sends(s, 0, "north, version 2", chain_store_build);
	party_sends(s, 1, "south, version 2", chain_store_build);
	CHECK_INT(store_list(s, chan, STORE_BOTH, 100, count_salted, &salted),
	    0);
	CHECK_INT(salted, 3);
	CHECK_INT(verify_store(s, &rep), 0);
	CHECK_INT(rep.seq[0], 5);
	CHECK_INT(rep.seq[1], 4);
	CHECK_INT(rep.disclosed[0] + rep.disclosed[1], 9);
	store_close(s);

	/* a salt byte flipped in the file: that message's salt is named */
	exec_on("v1.db", "DROP TRIGGER message_assign_once;"
	    " UPDATE message SET body_salt = CAST(substr(body_salt, 1, 7) ||"
	    " CASE WHEN substr(body_salt, 8, 1) = x'00' THEN x'01' ELSE x'00'"
	    " END || substr(body_salt, 9) AS BLOB) WHERE sender = 1 AND"
	    " seq = 4;");
	s = open_name("v1.db");
	CHECK_INT(verify_store(s, &rep), ERR_BODY);
	CHECK_CONTAINS(rep.fault, "chain of party 1 (south), seq 4: "
	    "body_salt and body (their hash; expected: header.body_hash)");
	store_close(s);
}

int
main(void)
{
	int r;

	if (!store_files_begin("/tmp/parley-store-v1-XXXXXX"))
		return 1;
	keys_make(&kp[0]);
	keys_make(&kp[1]);
	RUN(test_v1_store_goes_on);
	keys_fini(&kp[0]);
	keys_fini(&kp[1]);
	r = store_files_end();
	return r;
}
