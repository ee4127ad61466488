/*
 * it_record_owner.c: whose store `parley restore` takes, with two real
 * parleyd (north, south) on loopback: another node's store (north's
 * backup into south's home, also of schema 8, also by its audit anchors
 * alone) is refused naming both, and the node's own taken; a home of
 * neither party (west) is refused either party's backup, and verify and
 * export leave out the agreement that does not name it; crafted stores
 * are named and refused; verify and export on a store of schema 8 say
 * what it is and what to do; verify, export and restore read a home of
 * 71 channels. Moved from it_record.c, whose pair start it shares
 * (record_pair.h); what the tests found left there by its earlier tests
 * (north's backup north.bak of north's 8 messages, with an audit anchor)
 * the set-up here makes. At its end both daemons stop on SIGTERM and
 * neither log may hold a sanitizer's report (under make asan), else the
 * program fails.
 *
 * Ports 127.0.0.1 17500-17999, a free block of two (ports.h). Temporary
 * directory under /tmp, removed at the end. Kills only the daemons it
 * started.
 */
#include <sodium.h>
#include <sqlite3.h>
#include <stdlib.h>

#include "../harness.h"
#include "ports.h"
#include "store/schema.h"
#include "store/store.h"

static char tmpdir[] = "/tmp/parley-it-record-owner-XXXXXX";
static int base;

#include "node_util.h"
#include "record_pair.h"

/* The audit anchors in the store at path (its own and those it gave the
 * peer), read beside the running daemon; -1 when it cannot be read. */
static int
anchors_held(const char *path)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	int n = -1;

	if (sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL) ==
	    SQLITE_OK && sqlite3_prepare_v2(h, "SELECT (SELECT count(*) FROM "
	    "audit_anchor) + (SELECT count(*) FROM audit_anchor_given)", -1,
	    &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return n;
}

/* Waits (up to 20 s) until north's store holds an audit anchor: what
 * test_restore_owner_by_anchors names north's store by. */
static bool
wait_anchor(void)
{
	char path[200];

	snprintf(path, sizeof path, "%s/north/parley.db", tmpdir);
	for (int k = 0; k < 200; k++) {
		if (anchors_held(path) > 0)
			return true;
		usleep(100000);
	}
	return false;
}

/* What it_record's tests up to test_backup_restore left for these: the
 * pair started (test_setup), north's 8 messages and south's 6 on both
 * sides, and north's backup north.bak holding them and an audit anchor.
 * False (a failure counted) when any is missing. */
static bool
owner_setup(void)
{
	harness_current = "set-up (the pair, its traffic, north.bak)";
	harness_test_failed = 0;
	test_setup();
	for (int k = 1; k <= 8; k++) {
		send_text(0, k);
		if (k <= 6)
			send_text(1, k);
	}
	CHECK(wait_equal(8, 6));
	CHECK(wait_anchor());
	CHECK_INT(sh("%s/parley backup --home %s/north %s/north.bak", build,
	    tmpdir, tmpdir), 0);
	if (harness_test_failed) {
		harness_failed++;
		return false;
	}
	return true;
}

/* A home with node i's keys and agreements and no store, at to. */
static void
keys_home(int i, const char *to)
{
	CHECK_INT(sh("rm -rf %s/%s && mkdir -m 700 %s/%s && cp -a "
	    "%s/%s/identity.json %s/%s/link.key %s/%s/sign.key %s/%s/channels"
	    " %s/%s/", tmpdir, to, tmpdir, to, tmpdir, names[i], tmpdir,
	    names[i], tmpdir, names[i], tmpdir, names[i], tmpdir, to), 0);
}

/* A store of schema version 8 at path holding one queued message of
 * channel hex (64 digits) from party sender (and with both, one from the
 * other party too): what a node of an older parley left. */
static bool
older_store(const char *path, const char *hex, int sender, bool both)
{
	char sql[800];
	sqlite3 *h = NULL;
	bool ok = sqlite3_open(path, &h) == SQLITE_OK;

	for (int k = 0; ok && k < 8; k++)
		ok = sqlite3_exec(h, store_migration_sql(k), NULL, NULL,
		    NULL) == SQLITE_OK;
	snprintf(sql, sizeof sql, "PRAGMA user_version = 8; PRAGMA "
	    "application_id = %d; INSERT INTO message (channel, sender, dir, "
	    "precedence, marking, kind, body, state, time_ms, stored_ms) "
	    "VALUES (x'%s', %d, 1, 3, 2, 1, x'6869', 0, 1, 1), (x'%s', %d, 1, "
	    "3, 2, 1, x'6869', 0, 1, 1);", STORE_APPLICATION_ID, hex, sender,
	    hex, both ? 1 - sender : sender);
	ok = ok && sqlite3_exec(h, sql, NULL, NULL, NULL) == SQLITE_OK;
	sqlite3_close(h);
	return ok;
}

/* A file that passes for parley's store of this build's schema version
 * (its application_id and user_version), made by the SQL rest, in tables
 * without parley's CHECKs. */
static bool
crafted_file(const char *path, const char *rest)
{
	char sql[1000];
	sqlite3 *h = NULL;
	bool ok = sqlite3_open(path, &h) == SQLITE_OK;

	snprintf(sql, sizeof sql, "PRAGMA user_version = %d; PRAGMA "
	    "application_id = %d; CREATE TABLE message (channel BLOB, sender "
	    "INTEGER, dir INTEGER); %s", STORE_SCHEMA_VERSION,
	    STORE_APPLICATION_ID, rest);
	ok = ok && sqlite3_exec(h, sql, NULL, NULL, NULL) == SQLITE_OK;
	sqlite3_close(h);
	return ok;
}

/* A crafted_file with one message row of channel hex, its sender and dir
 * the SQL expressions given. */
static bool
crafted_store(const char *path, const char *hex, const char *sender,
    const char *dir)
{
	char sql[600];

	snprintf(sql, sizeof sql, "INSERT INTO message VALUES (x'%s', %s, "
	    "%s);", hex, sender, dir);
	return crafted_file(path, sql);
}

/* Restore takes only this node's own store: north's backup into south's
 * home is refused, naming both, and changes nothing; south's own backup,
 * and an older schema's, are taken. */
static void
test_restore_owner(void)
{
	char hex[65], path[200], first;

	keys_home(1, "south2");
	CHECK_INT(sh("%s/parley restore --home %s/south2 %s/north.bak", build,
	    tmpdir, tmpdir), 1);
	CHECK_CONTAINS(out, "/north.bak is north's store (its own chain of "
	    "channel ");
	CHECK_CONTAINS(out, " is party 0's), but ");
	CHECK_CONTAINS(out, "/south2 is the home of south (party 1): "
	    "refused");
	CHECK_INT(sh("test -e %s/south2/parley.db", tmpdir), 1);
	/* south's own backup is taken */
	CHECK_INT(sh("%s/parley backup --home %s/south %s/south.bak", build,
	    tmpdir, tmpdir), 0);
	CHECK_INT(sh("%s/parley restore --home %s/south2 %s/south.bak", build,
	    tmpdir, tmpdir), 0);
	CHECK_INT(sh("cp %s/south2/parley.db %s/south2.db", tmpdir, tmpdir),
	    0);
	CHECK_INT(sh("%s/parley restore --home %s/south2 --force "
	    "%s/north.bak", build, tmpdir, tmpdir), 1);
	CHECK_CONTAINS(out, "is north's store");
	CHECK_INT(sh("cmp %s/south2/parley.db %s/south2.db", tmpdir, tmpdir),
	    0);
	/* a store of schema 8: checked too, and north's own is taken */
	CHECK_INT(sh("ls %s/north/channels | head -1 | cut -c1-64", tmpdir),
	    0);
	snprintf(hex, sizeof hex, "%.64s", out);
	snprintf(path, sizeof path, "%s/north-v8.bak", tmpdir);
	CHECK(older_store(path, hex, 0, false));
	CHECK_INT(sh("%s/parley restore --home %s/south2 --force %s", build,
	    tmpdir, path), 1);
	CHECK_CONTAINS(out, "is north's store");
	keys_home(0, "north2");
	CHECK_INT(sh("%s/parley restore --home %s/north2 %s", build, tmpdir,
	    path), 0);
	/* a channel the home has no agreement for */
	first = hex[0];
	hex[0] = first == 'a' ? 'b' : 'a';
	snprintf(path, sizeof path, "%s/other-v8.bak", tmpdir);
	CHECK(older_store(path, hex, 0, false));
	CHECK_INT(sh("%s/parley restore --home %s/north2 --force %s", build,
	    tmpdir, path), 1);
	CHECK_CONTAINS(out, "holds 2 messages of channel ");
	CHECK_CONTAINS(out, "/north2 (north) has no agreement for: not "
	    "north's backup, or ");
	/* one that holds both parties' chains as its own */
	hex[0] = first;
	snprintf(path, sizeof path, "%s/both-v8.bak", tmpdir);
	CHECK(older_store(path, hex, 0, true));
	CHECK_INT(sh("%s/parley restore --home %s/north2 --force %s", build,
	    tmpdir, path), 1);
	CHECK_CONTAINS(out, "holds both parties' chains of channel ");
	/* a home whose key is neither party's (a new node, `parley init`,
	 * given south's channels/ but not south's keys): south's backup
	 * is not its own, and north's is refused naming what is wrong */
	CHECK_INT(sh("rm -rf %s/west && %s/parley init --name west --home "
	    "%s/west && cp -a %s/south/channels %s/west/", tmpdir, build,
	    tmpdir, tmpdir, tmpdir), 0);
	CHECK_INT(sh("%s/parley restore --home %s/west %s/south.bak", build,
	    tmpdir, tmpdir), 1);
	CHECK_CONTAINS(out, "/south.bak is south's store (its own chain of "
	    "channel ");
	CHECK_CONTAINS(out, "/west is the home of west, no party of it (its "
	    "parties are north and south): refused");
	CHECK_INT(sh("test -e %s/west/parley.db", tmpdir), 1);
	CHECK_INT(sh("%s/parley restore --home %s/west %s/north.bak", build,
	    tmpdir, tmpdir), 1);
	CHECK_CONTAINS(out, "/west is the home of west, no party of it");
	CHECK_INT(sh("test -e %s/west/parley.db", tmpdir), 1);
	/* a file made to look like a store, whose rows name a party index
	 * that no channel has (no CHECK in its schema): refused as not a
	 * store, and never used to index the agreement's parties */
	snprintf(path, sizeof path, "%s/crafted.bak", tmpdir);
	CHECK(crafted_store(path, hex, "200", "1"));
	CHECK_INT(sh("%s/parley restore --home %s/north2 --force %s", build,
	    tmpdir, path), 1);
	CHECK_CONTAINS(out, "crafted.bak: ");
	CHECK_CONTAINS(out, "a message row of channel ");
	CHECK_CONTAINS(out, " is neither party's (sender 200, dir 1)");
	snprintf(path, sizeof path, "%s/crafted2.bak", tmpdir);
	CHECK(crafted_store(path, hex, "0", "7"));
	CHECK_INT(sh("%s/parley restore --home %s/north2 --force %s", build,
	    tmpdir, path), 1);
	CHECK_CONTAINS(out, " is neither party's (sender 0, dir 7)");
	/* the file's own text is not printed: it could hold control bytes */
	snprintf(path, sizeof path, "%s/crafted3.bak", tmpdir);
	CHECK(crafted_store(path, hex, "char(27) || '[2J'", "1"));
	CHECK_INT(sh("%s/parley restore --home %s/north2 --force %s", build,
	    tmpdir, path), 1);
	CHECK_CONTAINS(out, " is neither party's (sender not an integer, dir "
	    "1)");
	CHECK(strchr(out, 27) == NULL);
}

/* A copy of the store at src without any message row (its triggers
 * dropped to delete them): what is left holding audit anchors; false
 * when it holds none (nothing to test). */
static bool
anchors_only_store(const char *src, const char *path)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	char drop[200][120];
	int n = 0, anchors = 0;
	bool ok;

	if (sh("cp %s %s", src, path) != 0 ||
	    sqlite3_open(path, &h) != SQLITE_OK)
		return false;
	ok = sqlite3_prepare_v2(h, "SELECT name FROM sqlite_master WHERE type "
	    "= 'trigger'", -1, &st, NULL) == SQLITE_OK;
	while (ok && sqlite3_step(st) == SQLITE_ROW && n < 200)
		snprintf(drop[n++], sizeof drop[0], "DROP TRIGGER \"%s\"",
		    (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	for (int i = 0; ok && i < n; i++)
		ok = sqlite3_exec(h, drop[i], NULL, NULL, NULL) == SQLITE_OK;
	ok = ok && sqlite3_exec(h, "DELETE FROM message", NULL, NULL, NULL) ==
	    SQLITE_OK;
	ok = ok && sqlite3_prepare_v2(h, "SELECT (SELECT count(*) FROM "
	    "audit_anchor) + (SELECT count(*) FROM audit_anchor_given)", -1,
	    &st, NULL) == SQLITE_OK;
	if (ok && sqlite3_step(st) == SQLITE_ROW)
		anchors = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return ok && anchors > 0;
}

/* An agreement in a home's channels/ that does not name the home's key
 * (west, a node given south's channels/, test_restore_owner) is none of
 * its channels, as parleyd takes it: verify and export say so and leave
 * it out; before, it was taken as the home's channel as party 1 (south),
 * and verify went on to read west's (absent) record of it. */
static void
test_record_stray_agreement(void)
{
	char hex[65];

	CHECK_INT(sh("ls %s/south/channels | head -1 | cut -c1-64", tmpdir),
	    0);
	snprintf(hex, sizeof hex, "%.64s", out);
	CHECK_INT(sh("%s/parley verify --home %s/west --channel %.16s", build,
	    tmpdir, hex), 2);
	CHECK_CONTAINS(out, "parley verify: the agreement of channel ");
	CHECK_CONTAINS(out, "/west/channels names north and south, not this "
	    "node (west): left out, as parleyd leaves it out");
	CHECK(strstr(out, "no store") == NULL);
	CHECK_INT(sh("%s/parley export --home %s/west --channel south "
	    "%s/west.export", build, tmpdir, tmpdir), 2);
	CHECK_CONTAINS(out, "no channel 'south' in ");
	CHECK_INT(sh("test -e %s/west.export", tmpdir), 1);
}

/* A crafted_file whose one audit_anchor_given row has a 3-byte
 * signature. */
static bool
crafted_anchor_store(const char *path)
{
	return crafted_file(path, "CREATE TABLE audit_anchor (channel BLOB, "
	    "anchor BLOB, time_ms INTEGER, sig BLOB); CREATE TABLE "
	    "audit_anchor_given (channel BLOB, anchor BLOB, time_ms INTEGER, "
	    "sig BLOB); INSERT INTO audit_anchor_given VALUES (x'"
	    "0707070707070707070707070707070707070707070707070707070707070707"
	    "', zeroblob(32), 5, x'010203');");
}

/* A crafted_file whose audit_anchor is a view of a table the file does
 * not hold, named with control bytes (ESC [2J clears a terminal):
 * SQLite's error names it. */
static bool
crafted_view_store(const char *path)
{
	return crafted_file(path, "CREATE TABLE audit_anchor_given (channel "
	    "BLOB, anchor BLOB, time_ms INTEGER, sig BLOB); CREATE VIEW "
	    "audit_anchor AS SELECT * FROM \"\033[2Jgone\";");
}

/* A crafted_file that SQLite's quick_check finds damaged, naming the
 * table (with control bytes in its name) whose NOT NULL column holds a
 * NULL: the constraint was added after the row, through the schema. */
static bool
crafted_null_store(const char *path)
{
	return crafted_file(path, "CREATE TABLE \"\033[2Jt\" (a); INSERT "
	    "INTO \"\033[2Jt\" VALUES (NULL); PRAGMA writable_schema = ON; "
	    "UPDATE sqlite_master SET sql = 'CREATE TABLE \"\033[2Jt\" (a "
	    "NOT NULL)' WHERE name = '\033[2Jt';");
}

/* Crafts tmpdir/name with craft; restore --force of it into north3 is
 * refused (exit 1): out holds what it said. */
static void
restore_crafted(const char *name, bool (*craft)(const char *))
{
	char path[200];

	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	CHECK(craft(path));
	CHECK_INT(sh("%s/parley restore --home %s/north3 --force %s", build,
	    tmpdir, path), 1);
}

/* A store with no message left still names its node by its audit
 * anchors' signatures: north's is refused by south's home, taken by
 * north's (a home of north's keys with its channels/). */
static void
test_restore_owner_by_anchors(void)
{
	char src[200], path[200];

	snprintf(src, sizeof src, "%s/north.bak", tmpdir);
	snprintf(path, sizeof path, "%s/north-anchors.bak", tmpdir);
	CHECK(anchors_only_store(src, path));
	CHECK_INT(sh("%s/parley restore --home %s/south2 --force %s", build,
	    tmpdir, path), 1);
	CHECK_CONTAINS(out, "/north-anchors.bak is north's store (its audit "
	    "anchors of channel ");
	CHECK_CONTAINS(out, "/south2 is the home of south (party 1): "
	    "refused");
	keys_home(0, "north3");
	CHECK_INT(sh("%s/parley restore --home %s/north3 %s", build, tmpdir,
	    path), 0);
	/* a row made without parley's CHECKs (a 3-byte signature): named,
	 * refused, not read past */
	restore_crafted("crafted-anchor.bak", crafted_anchor_store);
	CHECK_CONTAINS(out, "a row of audit_anchor_given of channel "
	    "0707070707070707 is malformed");
	/* SQLite's message names the file's own objects: printed without
	 * its control bytes, the refusal still said */
	restore_crafted("crafted-view.bak", crafted_view_store);
	CHECK_CONTAINS(out, "/crafted-view.bak: ");
	CHECK_CONTAINS(out, "[2Jgone");
	CHECK(strchr(out, 27) == NULL);
	/* the same for quick_check's answer on the copy (store_restore) */
	restore_crafted("crafted-null.bak", crafted_null_store);
	CHECK_CONTAINS(out, "/crafted-null.bak: damaged, not restored "
	    "(SQLite: NULL value in ?[2Jt.a)");
	CHECK(strchr(out, 27) == NULL);
}

/* verify and export on a store of schema 8 (north2's, restored above)
 * say which version it is, which this build reads, and what to do. */
static void
test_older_store_read(void)
{
	char want[400];

	snprintf(want, sizeof want, "the store of %s/north2 is of schema "
	    "version 8, this build reads %d: starting parleyd for %s/north2 "
	    "migrates it (parley backup first keeps a copy of the old one), "
	    "then ", tmpdir, STORE_SCHEMA_VERSION, tmpdir);
	CHECK_INT(sh("%s/parley verify --home %s/north2", build, tmpdir), 1);
	CHECK_CONTAINS(out, "parley verify: ");
	CHECK_CONTAINS(out, want);
	CHECK_CONTAINS(out, "then verify again\n");
	CHECK_INT(sh("%s/parley export --home %s/north2 --channel south "
	    "%s/v8.px", build, tmpdir, tmpdir), 1);
	CHECK_CONTAINS(out, "parley export: ");
	CHECK_CONTAINS(out, want);
	CHECK_CONTAINS(out, "then export again\n");
	CHECK_INT(sh("test -e %s/v8.px", tmpdir), 1);
	/* no store at all */
	keys_home(0, "north3");
	CHECK_INT(sh("%s/parley verify --home %s/north3", build, tmpdir), 2);
	snprintf(want, sizeof want, "parley verify: no store in %s/north3 "
	    "(parley.db: no such file)\n", tmpdir);
	CHECK_STR(out, want);
}

/* verify, export and restore with more channels than the 64 the record
 * commands once read (they said "cannot read the channels"): north3, a
 * copy of north restored from its backup, with 70 more agreements. */
static void
test_many_channels(void)
{
	char hex[20];

	CHECK_INT(sh("%s/parley restore --home %s/north3 %s/north.bak", build,
	    tmpdir, tmpdir), 0);
	CHECK_INT(sh("P=%s/parley; D=%s; set -e; for i in $(seq 70); do "
	    "$P channel draft --home $D/north3 --peer $D/south.id --paths "
	    "127.0.0.1:1 --peer-paths 127.0.0.1:2 --out $D/m.agreement "
	    ">/dev/null; $P channel sign --home $D/north3 $D/m.agreement "
	    ">/dev/null; $P channel sign --home $D/south $D/m.agreement "
	    ">/dev/null; $P channel add --home $D/north3 $D/m.agreement "
	    ">/dev/null; rm $D/m.agreement; done; ls $D/north3/channels | "
	    "wc -l", build, tmpdir), 0);
	CHECK_STR(out, "71\n");
	CHECK_INT(sh("%s/parley verify --home %s/north3 | grep -c ': intact'",
	    build, tmpdir), 0);
	CHECK_STR(out, "71\n");
	CHECK_INT(sh("%s/parley verify --home %s/north3", build, tmpdir), 0);
	CHECK_CONTAINS(out, "north    chain seq 8,");
	CHECK_INT(sh("ls %s/north/channels | head -1 | cut -c1-16", tmpdir),
	    0);
	snprintf(hex, sizeof hex, "%.16s", out);
	CHECK_INT(sh("%s/parley export --home %s/north3 --channel %s "
	    "%s/many.px && %s/parley verify --file %s/many.px", build, tmpdir,
	    hex, tmpdir, build, tmpdir), 0);
	CHECK_CONTAINS(out, "north    chain seq 8,");
	CHECK_INT(sh("%s/parley restore --home %s/north3 --force "
	    "%s/north.bak", build, tmpdir, tmpdir), 0);
	CHECK_INT(sh("%s/parley restore --home %s/north3 --force "
	    "%s/south.bak", build, tmpdir, tmpdir), 1);
	CHECK_CONTAINS(out, "is south's store");
}

/* Both daemons stopped on SIGTERM; neither log holds a sanitizer's report
 * (under make asan: leaks are reported at exit), else the program fails. */
static void
stop_logs_clean(void)
{
	stop(0, false);
	stop(1, false);
	for (int i = 0; i < 2; i++)
		if (sh("grep -l -e Sanitizer -e 'runtime error' %s/%s.log",
		    tmpdir, names[i]) != 1) {
			printf("FAIL %s/%s.log holds a sanitizer's report (or "
			    "cannot be read)\n", tmpdir, names[i]);
			harness_failed++;
		}
}

int
main(void)
{
	if ((base = node_begin(17500, 18000, 2)) < 0)
		return 1;
	if (owner_setup()) {
		RUN(test_restore_owner);
		RUN(test_restore_owner_by_anchors);
		RUN(test_record_stray_agreement);
		RUN(test_older_store_read);
		RUN(test_many_channels);
	}
	stop_logs_clean();
	cleanup();
	return harness_summary();
}
