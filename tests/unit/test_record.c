/*
 * test_record.c: the store read as a record and copied (store/record.h):
 * online backup (never overwrites), restore (refuses an existing store
 * without force, a file that is not a store, a backup with a broken
 * page, leaving the store in place whole), the read-only open, the
 * range of ids, and the recovery of a restored node's own chain: appended
 * in order, a gap or a broken link refused with nothing stored, and a
 * message still queued in the backup takes its place instead of being
 * stored twice; a record read while a writer commits is the store as of
 * one moment; a store of an older schema version is backed up.
 */
#include <sodium.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "../harness.h"
#include "cli/cli.h"
#include "crypto/agreement.h"
#include "msg/chain.h"
#include "msg/export.h"
#include "store/record.h"
#include "store/schema.h"
#include "store/store_int.h"		/* the reader's sqlite3 handle */

static char dir[] = "/tmp/parley-test-record-XXXXXX";
static uint8_t channel[32];

static void
queue(struct store *s, int k)
{
	char body[32];
	int64_t qid;
	int n = snprintf(body, sizeof body, "north %d", k);

	CHECK_INT(chain_queue(s, channel, 0, 3, 2, ENVELOPE_TEXT,
	    (const uint8_t *)body, (size_t)n, 1000 + (uint64_t)k, &qid), 0);
}

static int
count_out(void *arg, struct store_msg *m)
{
	(*(size_t *)arg)++;
	(void)m;
	return 0;
}

struct grab {
	struct store_in in;
	struct store_msg m;
	struct envelope_header h;
};

static int
grab_one(void *arg, struct store_msg *m)
{
	struct grab *g = arg;

	g->m = *m;
	g->m.body = m->body;
	m->body = NULL;			/* ours now */
	if (envelope_header_decode(&g->h, g->m.header, g->m.header_len) != 0)
		return ERR_PARSE;
	chain_store_in(&g->in, &g->h, g->m.header, g->m.header_len,
	    g->m.salted ? g->m.body_salt : NULL, g->m.body, g->m.body_len,
	    g->m.id);
	return 0;
}

static void
test_backup_restore_recover(void)
{
	char a[128], bk[128], home[128], why[256];
	struct store *s, *r;
	struct grab g;
	uint64_t first, last, pages, seq;
	uint8_t id[32], ids[4][32];
	size_t n = 0, q;

	snprintf(a, sizeof a, "%s/a.db", dir);
	snprintf(bk, sizeof bk, "%s/a.bak", dir);
	snprintf(home, sizeof home, "%s/home", dir);
	CHECK_INT(mkdir(home, 0700), 0);
	CHECK_INT(store_open(&s, a), 0);
	for (int k = 1; k <= 3; k++)
		queue(s, k);
	CHECK_INT(store_assign_batch(s, channel, 0, 2, 2000,
	    chain_store_build, NULL, &first, &last), 0);
	/* the backup holds seq 1, 2 and one queued message */
	CHECK_INT(store_backup(s, bk, &pages), 0);
	CHECK(pages > 0);
	CHECK_INT(store_backup(s, bk, &pages), ERR_EXISTS);
	/* then the third is sent */
	CHECK_INT(store_assign_batch(s, channel, 0, 2, 3000,
	    chain_store_build, NULL, &first, &last), 0);
	CHECK_INT(first, 3);
	/* restore: into an empty home; then only with force */
	CHECK_INT(store_restore(bk, home, false, why, sizeof why), 0);
	CHECK_INT(store_restore(bk, home, false, why, sizeof why), ERR_EXISTS);
	CHECK_CONTAINS(why, "--force");
	CHECK_INT(store_restore(bk, home, true, why, sizeof why), 0);
	CHECK(store_restore(a, home, true, why, sizeof why) == 0);
	CHECK_INT(store_restore(bk, home, true, why, sizeof why), 0);
	snprintf(why, sizeof why, "%s/not-a-store", dir);
	FILE *f = fopen(why, "w");
	CHECK(f != NULL);
	if (f != NULL) {
		fputs("north to south\n", f);
		fclose(f);
	}
	char w2[256];
	CHECK(store_restore(why, home, true, w2, sizeof w2) != 0);
	CHECK_CONTAINS(w2, "not a parley store");
	/* the restored store, read-only: two sent, one queued */
	CHECK_INT(store_open_home_readonly(&r, home), 0);
	CHECK_INT(store_highest(r, channel, 0, &seq, id), 0);
	CHECK_INT(seq, 2);
	CHECK_INT(store_ids_range(r, channel, 0, 0, 4, ids), 0);
	CHECK(memcmp(ids[1], id, 32) == 0);
	CHECK(memcmp(ids[2], ids[3], 32) == 0);	/* not held: zeros */
	store_close(r);
	/* recovery of seq 3 from the "peer's" copy */
	CHECK_INT(store_open_home(&r, home), 0);
	memset(&g, 0, sizeof g);
	CHECK_INT(store_after(s, channel, 0, 2, 1, grab_one, &g), 0);
	CHECK_INT(g.in.seq, 3);
	g.in.seq = 4;					/* a gap */
	CHECK_INT(store_own_recover(r, channel, 0, &g.in, 1, 4000), ERR_GAP);
	g.in.seq = 3;
	g.in.prev[0] ^= 1;				/* a broken link */
	CHECK_INT(store_own_recover(r, channel, 0, &g.in, 1, 4000), ERR_CHAIN);
	g.in.prev[0] ^= 1;
	CHECK_INT(store_queued_count(r, channel, &q), 0);
	CHECK_INT(q, 1);
	CHECK_INT(store_own_recover(r, channel, 0, &g.in, 1, 4000), 0);
	/* the queued row took its place: three messages, none queued */
	CHECK_INT(store_queued_count(r, channel, &q), 0);
	CHECK_INT(q, 0);
	CHECK_INT(store_list(r, channel, STORE_OUT, 10, count_out, &n), 0);
	CHECK_INT(n, 3);
	CHECK_INT(store_highest(r, channel, 0, &seq, id), 0);
	CHECK_INT(seq, 3);
	CHECK_MEM(id, g.m.id, 32);
	free(g.m.body);
	store_close(r);
	store_close(s);
}

/* Sets the type byte of the b-tree page of file path that holds needle
 * to a value no page has; true when found. */
static bool
break_page(const char *path, const char *needle)
{
	FILE *f = fopen(path, "r+b");
	uint8_t page[4096], bad = 0x07;
	size_t n = strlen(needle);
	bool found = false;

	if (f == NULL)
		return false;
	for (long pg = 1; !found && fread(page, 1, sizeof page, f) ==
	    sizeof page; pg++)
		for (size_t i = 0; i + n <= sizeof page && !found; i++)
			if (memcmp(page + i, needle, n) == 0)
				found = fseek(f, (pg - 1) * 4096L, SEEK_SET) ==
				    0 && fwrite(&bad, 1, 1, f) == 1;
	fclose(f);
	return found;
}

/* A backup damaged at rest (a page of messages broken, the header and
 * schema whole): restore refuses it, naming the damage, and the store
 * it would have replaced stays as it was. */
static void
test_restore_corrupt(void)
{
	char a[128], bk[128], bad[128], home[128], why[512], body[1500];
	struct store *s, *r;
	uint64_t first, last, pages, seq;
	uint8_t id[32];
	int64_t qid;
	size_t n = 0;

	snprintf(a, sizeof a, "%s/c.db", dir);
	snprintf(bk, sizeof bk, "%s/c.bak", dir);
	snprintf(bad, sizeof bad, "%s/c-bad.bak", dir);
	snprintf(home, sizeof home, "%s/home-c", dir);
	CHECK_INT(mkdir(home, 0700), 0);
	CHECK_INT(store_open(&s, a), 0);
	for (int k = 1; k <= 40; k++) {
		char tag[24];
		snprintf(tag, sizeof tag, "message %03d ", k);
		memset(body, 'x', sizeof body);
		memcpy(body, tag, strlen(tag));
		CHECK_INT(chain_queue(s, channel, 0, 3, 2, ENVELOPE_TEXT,
		    (const uint8_t *)body, sizeof body, 1000 + (uint64_t)k,
		    &qid), 0);
	}
	for (int k = 0; k < 40 && store_assign_batch(s, channel, 0, 40,
	    2000, chain_store_build, NULL, &first, &last) == 0; k++)
		;
	CHECK_INT(last, 40);
	CHECK_INT(store_backup(s, bk, &pages), 0);
	store_close(s);
	CHECK_INT(store_restore(bk, home, false, why, sizeof why), 0);
	/* a copy of the backup with the page of message 20 broken */
	snprintf(why, sizeof why, "cp %s %s", bk, bad);
	CHECK_INT(system(why), 0);
	CHECK(break_page(bad, "message 020 "));
	memset(why, 0, sizeof why);
	CHECK_INT(store_restore(bad, home, true, why, sizeof why), ERR_PARSE);
	CHECK_CONTAINS(why, bad);
	CHECK_CONTAINS(why, "damaged");
	/* the store in place is the whole one, and no copy is left over */
	CHECK_INT(store_open_home_readonly(&r, home), 0);
	CHECK_INT(store_highest(r, channel, 0, &seq, id), 0);
	CHECK_INT(seq, 40);
	CHECK_INT(store_after(r, channel, 0, 0, 100, count_out, &n), 0);
	CHECK_INT(n, 40);
	store_close(r);
	snprintf(why, sizeof why, "ls %s | grep -q restore-", home);
	CHECK_INT(system(why), 256);		/* grep: no line */
}

/* The writer that commits while the record is read (parleyd's part). */
static struct store *writer;
static int commits_between;

/* Sends one more message of party 0 and its head, once. */
static void
commit_more(void)
{
	struct store_head h;
	uint64_t first, last;
	int64_t qid;

	memset(&h, 0, sizeof h);
	memcpy(h.channel, channel, sizeof channel);
	memset(h.sig, 0x5a, sizeof h.sig);
	CHECK_INT(chain_queue(writer, channel, 0, 3, 2, ENVELOPE_TEXT,
	    (const uint8_t *)"north 4", 7, 4000, &qid), 0);
	CHECK_INT(store_assign_batch(writer, channel, 0, 1, 4000,
	    chain_store_build, NULL, &first, &last), 0);
	CHECK_INT(store_highest(writer, channel, 0, &h.seq, h.id), 0);
	CHECK_INT(store_head_put(writer, &h, 4000), 0);
	commits_between++;
}

/* As the reader's query of heads starts (the messages are read). */
static int
on_stmt(unsigned type, void *ctx, void *p, void *x)
{
	const char *sql = sqlite3_sql(p);

	(void)type;
	(void)ctx;
	(void)x;
	if (commits_between == 0 && sql != NULL &&
	    strncmp(sql, "SELECT seq, id, sig FROM head", 29) == 0)
		commit_more();
	return 0;
}

/* A record read while parleyd commits is the store as of one moment: a
 * message and its head committed between the read of the messages and
 * that of the heads are in neither. */
static void
test_record_one_moment(void)
{
	struct agreement a;
	struct export_record rec;
	struct export_report rep;
	struct store *r = NULL;
	char path[128];
	uint64_t first, last;

	snprintf(path, sizeof path, "%s/m.db", dir);
	CHECK_INT(store_open(&writer, path), 0);
	for (int k = 1; k <= 3; k++)
		queue(writer, k);
	for (int k = 0; k < 3 && store_assign_batch(writer, channel, 0, 3,
	    2000, chain_store_build, NULL, &first, &last) == 0; k++)
		;
	CHECK_INT(last, 3);
	memset(&a, 0, sizeof a);
	memcpy(a.id, channel, sizeof a.id);
	snprintf(a.party[0].name, sizeof a.party[0].name, "north");
	snprintf(a.party[1].name, sizeof a.party[1].name, "south");
	memset(a.party[0].sign_pub, 1, sizeof a.party[0].sign_pub);
	memset(a.party[1].sign_pub, 2, sizeof a.party[1].sign_pub);
	CHECK_INT(store_open_readonly(&r, path), 0);
	if (r == NULL)
		return;
	sqlite3_trace_v2(r->db, SQLITE_TRACE_STMT, on_stmt, NULL);
	export_record_init(&rec);
	CHECK_INT(cli_record_load(r, &a, 0, &rec), 0);
	CHECK_INT(commits_between, 1);
	CHECK_INT(rec.chain[0].nmsg, 3);
	CHECK_INT(rec.chain[0].nheads, 0);
	CHECK_INT(export_verify(&rec, &rep), 0);
	CHECK_STR(rep.fault, "");
	export_record_fini(&rec);
	/* the next read sees it */
	export_record_init(&rec);
	CHECK_INT(cli_record_load(r, &a, 0, &rec), 0);
	CHECK_INT(rec.chain[0].nmsg, 4);
	CHECK_INT(rec.chain[0].nheads, 1);
	export_record_fini(&rec);
	store_close(r);
	store_close(writer);
}

/* A store of an older schema version (a newer parley installed, parleyd
 * not yet started on it to migrate it): `parley backup` copies it as it
 * is, the backup to take before the migration. */
static void
test_backup_older(void)
{
	char home[128], db[160], dest[160], sql[128];
	char cmd[] = "backup", opt[] = "--home";
	char *argv[] = { cmd, opt, home, dest, NULL };
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	struct stat sb;

	snprintf(home, sizeof home, "%s/home-v8", dir);
	snprintf(db, sizeof db, "%s/parley.db", home);
	snprintf(dest, sizeof dest, "%s/v8.bak", dir);
	CHECK_INT(mkdir(home, 0700), 0);
	CHECK_INT(sqlite3_open(db, &h), SQLITE_OK);
	for (int k = 0; k < 8; k++)
		CHECK_INT(sqlite3_exec(h, store_migration_sql(k), NULL, NULL,
		    NULL), SQLITE_OK);
	snprintf(sql, sizeof sql, "PRAGMA user_version = 8;"
	    " PRAGMA application_id = %d;", STORE_APPLICATION_ID);
	CHECK_INT(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
	CHECK_INT(cmd_backup(4, argv), CLI_OK);
	CHECK_INT(stat(dest, &sb), 0);
	CHECK_INT(sb.st_mode & 0777, 0600);
	h = NULL;
	CHECK_INT(sqlite3_open_v2(dest, &h, SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	CHECK_INT(sqlite3_prepare_v2(h, "PRAGMA user_version", -1, &st, NULL),
	    SQLITE_OK);
	CHECK_INT(sqlite3_step(st), SQLITE_ROW);
	CHECK_INT(sqlite3_column_int(st, 0), 8);
	sqlite3_finalize(st);
	sqlite3_close(h);
}

static void
test_readonly_refusals(void)
{
	struct store *r = NULL;
	char p[128];

	snprintf(p, sizeof p, "%s/none.db", dir);
	CHECK_INT(store_open_readonly(&r, p), ERR_NOT_FOUND);
	snprintf(p, sizeof p, "%s/not-a-store", dir);
	CHECK(store_open_readonly(&r, p) != 0);
	CHECK(r == NULL);
}

int
main(void)
{
	if (sodium_init() < 0 || mkdtemp(dir) == NULL)
		return 1;
	memset(channel, 0x3c, sizeof channel);
	RUN(test_backup_restore_recover);
	RUN(test_restore_corrupt);
	RUN(test_record_one_moment);
	RUN(test_backup_older);
	RUN(test_readonly_refusals);
	char cmd[160];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return harness_summary();
}
