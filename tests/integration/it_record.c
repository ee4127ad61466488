/*
 * it_record.c: the record of two real parleyd (north, south) on loopback:
 * after traffic both ways `parley verify` on both sides prints the same
 * transcript head; a selective export proves the disclosed body and holds
 * no byte of the others, nor their salts or unsalted hashes; a flipped
 * byte in an exported file (a body, a salt), in a stored body or salt, in
 * a stored header and in a stored head signature is named by verify; a
 * backup taken under traffic restores into a node that verifies, and a
 * node restored from a backup resynchronises with its peer (what the
 * peer sent after the backup arrives again, once). With parleyd.conf
 * knobs: checkpoints co-signed by both sides, no alarm; a free-space
 * threshold above the disk warns once. Whose store restore takes, stores
 * of schema 8 and homes of 71 channels: it_record_owner.c.
 *
 * Ports 127.0.0.1 17000-17499, a free block of two (ports.h). Temporary
 * directory under /tmp, removed at the end. Kills only the daemons it
 * started.
 */
#include <sodium.h>
#include <sqlite3.h>
#include <stdlib.h>

#include "../harness.h"
#include "ports.h"
#include "base/file.h"
#include "crypto/hash.h"
#include "msg/export.h"
#include "store/people.h"
#include "store/schema.h"
#include "store/store.h"

static char tmpdir[] = "/tmp/parley-it-record-XXXXXX";
static int base;

#include "node_util.h"
#include "record_pair.h"

static void
test_equal_heads(void)
{
	for (int k = 1; k <= 8; k++) {
		send_text(0, k);
		if (k <= 6)
			send_text(1, k);
	}
	CHECK(wait_equal(8, 6));
	CHECK_CONTAINS(out, "intact");
	CHECK_CONTAINS(out, "audit log: ");
	CHECK_CONTAINS(out, "entries, hash chain intact");
	/* both sides co-signed checkpoints, and no alarm */
	CHECK(wait_log(0, "checkpoint co-signed at seqs 8/6"));
	CHECK(wait_log(1, "checkpoint co-signed at seqs 8/6"));
	CHECK_INT(sh("cat %s/*.log | grep -c ALARM", tmpdir), 1);
	CHECK_STR(out, "0\n");
	/* stored on both sides: verify checks them, status shows the last */
	for (int i = 0; i < 2; i++) {
		char h[80];
		CHECK_INT(verify_node(i, h, sizeof h), 0);
		CHECK(strstr(out, " 0 checkpoints verified") == NULL);
		CHECK_CONTAINS(out, "checkpoints verified");
		CHECK_INT(sh("%s/parley status --home %s/%s --json", build,
		    tmpdir, names[i]), 0);
		CHECK_CONTAINS(out, "\"checkpoint\": {");
		CHECK_CONTAINS(out, "\"alarm\": null");
		CHECK_INT(sh("%s/parley status --home %s/%s", build, tmpdir,
		    names[i]), 0);
		CHECK_CONTAINS(out, "checkpoint: last co-signed at seqs 8/6");
	}
	/* the disk watch: north warned once, south never */
	CHECK(wait_log(0, "free space on the filesystem of .* is low"));
	CHECK_INT(sh("grep -c 'WARN: free space' %s/north.log", tmpdir), 0);
	CHECK_STR(out, "1\n");
	CHECK_INT(sh("grep -c 'free space' %s/south.log", tmpdir), 1);
}

/* The first 16 hex digits of the id of north's message with text body
 * (from parley log --json) into id; false when not found. */
static bool
id_of(const char *body, char id[80])
{
	char *p;

	if (sh("%s/parley log --home %s/north --json", build, tmpdir) != 0 ||
	    (p = strstr(out, body)) == NULL)
		return false;
	while (p > out && *p != '{')
		p--;
	if ((p = strstr(p, "\"id\": \"")) == NULL)
		return false;
	snprintf(id, 80, "%.16s", p + 7);
	return true;
}

static void
test_selective_export(void)
{
	char id[80];
	uint8_t *buf = NULL;
	size_t len;

	/* a private message is not disclosed unless asked for so */
	CHECK(id_of("north-body-001", id));
	CHECK_INT(sh("%s/parley export --home %s/north --channel south "
	    "--only %s %s/private.px", build, tmpdir, id, tmpdir), 1);
	CHECK_CONTAINS(out, "marked private, not releasable");
	CHECK_INT(sh("test -e %s/private.px", tmpdir), 1);
	/* --any-marking without --only would change nothing: refused */
	CHECK_INT(sh("%s/parley export --home %s/north --channel south "
	    "--any-marking %s/private.px", build, tmpdir, tmpdir), 2);
	CHECK_STR(out, "parley export: --any-marking applies only with --only"
	    " (without it every body is exported, whatever its marking): "
	    "nothing written\n");
	CHECK_INT(sh("test -e %s/private.px", tmpdir), 1);
	CHECK_INT(sh("%s/parley export --home %s/north --channel south "
	    "--only %s --any-marking %s/private.px", build, tmpdir, id,
	    tmpdir), 0);
	/* north's message 2 (releasable) is the one disclosed */
	CHECK(id_of("north-body-002", id));
	CHECK_INT(sh("%s/parley export --home %s/north --channel south "
	    "--only %s %s/one.px", build, tmpdir, id, tmpdir), 0);
	/* salted hashes (version 2 headers): no note of guessable bodies */
	CHECK(strstr(out, "unsalted") == NULL);
	CHECK_INT(sh("%s/parley verify --file %s/one.px", build, tmpdir), 0);
	CHECK_CONTAINS(out, "intact");
	CHECK_CONTAINS(out, "north    chain seq 8, 1 bodies held");
	CHECK_CONTAINS(out, "south    chain seq 6, 0 bodies held");
	CHECK(strstr(out, "unsalted") == NULL);
	CHECK_INT(sh("%s/parley show --file %s/one.px", build, tmpdir), 0);
	CHECK_CONTAINS(out, "north-body-002");
	CHECK_CONTAINS(out, "(not disclosed: ");
	CHECK(strstr(out, "unsalted") == NULL);
	/* no byte of the others: not even the common part of their text */
	snprintf(id, sizeof id, "%s/one.px", tmpdir);
	CHECK_INT(file_read(id, EXPORT_FILE_MAX, &buf, &len), 0);
	if (buf == NULL)
		return;
	size_t hits = 0;
	for (size_t i = 0; i + 6 <= len; i++)
		if (memcmp(buf + i, "-body-", 6) == 0)
			hits++;
	CHECK_INT(hits, 1);
	free(buf);
	/* exports never overwrite */
	CHECK_INT(sh("%s/parley export --home %s/north --channel south "
	    "%s/one.px", build, tmpdir, tmpdir), 1);
}

static bool
mem_has(const uint8_t *p, size_t n, const uint8_t *needle, size_t k)
{
	for (size_t i = 0; k > 0 && i + k <= n; i++)
		if (memcmp(p + i, needle, k) == 0)
			return true;
	return false;
}

/*
 * The selective export one.px (test_selective_export: north's message 2
 * disclosed) against every message north's store holds (read beside the
 * running daemon): each was sent salted (docs/envelope.md, version 2);
 * for each hidden one the file holds neither its body, nor its salt, nor
 * its hash unsalted under either context, so no guess can be tested
 * against it; the disclosed one comes with its salt.
 */
static void
test_selective_salted(void)
{
	char path[200];
	uint8_t *buf = NULL, h1[32], h2[32];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	size_t len;
	int hidden = 0, shown = 0;

	snprintf(path, sizeof path, "%s/one.px", tmpdir);
	CHECK_INT(file_read(path, EXPORT_FILE_MAX, &buf, &len), 0);
	snprintf(path, sizeof path, "%s/north/parley.db", tmpdir);
	CHECK_INT(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	CHECK_INT(sqlite3_prepare_v2(db, "SELECT body, body_salt FROM message"
	    " WHERE seq IS NOT NULL", -1, &st, NULL), SQLITE_OK);
	while (buf != NULL && st != NULL && sqlite3_step(st) == SQLITE_ROW) {
		const uint8_t *b = sqlite3_column_blob(st, 0);
		const uint8_t *salt = sqlite3_column_blob(st, 1);
		size_t bl = (size_t)sqlite3_column_bytes(st, 0);
		CHECK_INT(sqlite3_column_bytes(st, 1), 32);
		if (b == NULL)
			continue;
		if (bl == 14 && memcmp(b, "north-body-002", 14) == 0) {
			CHECK(salt != NULL && mem_has(buf, len, salt, 32));
			shown++;
			continue;
		}
		envelope_body_hash(b, bl, h1);
		hash_ctx(h2, sizeof h2, "parley body v2", b, bl);
		CHECK(!mem_has(buf, len, b, bl));
		CHECK(salt == NULL || !mem_has(buf, len, salt, 32));
		CHECK(!mem_has(buf, len, h1, sizeof h1));
		CHECK(!mem_has(buf, len, h2, sizeof h2));
		hidden++;
	}
	CHECK_INT(shown, 1);
	CHECK_INT(hidden, 13);			/* 7 of north's, 6 of south's */
	sqlite3_finalize(st);
	sqlite3_close(db);
	free(buf);
}

/* Flips one byte of file path at the first occurrence of needle (+off);
 * true when found. */
static bool
flip(const char *path, const uint8_t *needle, size_t n, size_t off)
{
	uint8_t *buf = NULL;
	size_t len;
	bool found = false;

	if (file_read(path, 64u << 20, &buf, &len) != 0)
		return false;
	for (size_t i = 0; i + n <= len && !found; i++)
		if (memcmp(buf + i, needle, n) == 0) {
			buf[i + off] ^= 0x01;
			found = true;
		}
	if (found) {
		FILE *f = fopen(path, "r+b");
		found = f != NULL && fwrite(buf, 1, len, f) == len;
		if (f != NULL)
			fclose(f);
	}
	free(buf);
	return found;
}

/* Flips a byte of the salt of party i's message k + 1, as south's full
 * export holds it, in a new export tmpdir/name; or, db not NULL, in that
 * store file. True when flipped. */
static bool
flip_salt(int i, size_t k, const char *name, const char *db)
{
	struct export_record rec;
	char path[200];
	uint8_t *buf = NULL;
	size_t len;
	bool ok = false;

	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	if (sh("rm -f %s && %s/parley export --home %s/south --channel north"
	    " %s", path, build, tmpdir, path) != 0)
		return false;
	export_record_init(&rec);
	if (file_read(path, EXPORT_FILE_MAX, &buf, &len) == 0 &&
	    export_decode(&rec, buf, len) == 0 && rec.chain[i].nmsg > k &&
	    rec.chain[i].msg[k].salted)
		ok = flip(db != NULL ? db : path, rec.chain[i].msg[k].salt, 32,
		    7);
	export_record_fini(&rec);
	free(buf);
	return ok;
}

static void
test_flipped_export(void)
{
	char path[200];

	CHECK_INT(sh("%s/parley export --home %s/south --channel north "
	    "%s/all.px", build, tmpdir, tmpdir), 0);
	snprintf(path, sizeof path, "%s/all.px", tmpdir);
	CHECK(flip(path, (const uint8_t *)"south-body-004", 14, 3));
	CHECK_INT(sh("%s/parley verify --file %s", build, path), 1);
	CHECK_CONTAINS(out, "FAULT: chain of party 1 (south), seq 4: body");
	/* a salt byte: named as the salt of that message */
	CHECK(flip_salt(1, 3, "salt.px", NULL));
	snprintf(path, sizeof path, "%s/salt.px", tmpdir);
	CHECK_INT(sh("%s/parley verify --file %s", build, path), 1);
	CHECK_CONTAINS(out, "FAULT: chain of party 1 (south), seq 4: "
	    "body_salt and body (their hash; expected: header.body_hash)");
}

/* The peer's export at from, with one message of party's appended to
 * party's chain past its last head (as whoever wrote the file could
 * append any: no head of party's covers it, only its prev link holds
 * it), written to to. True when written. */
static bool
forge_tail(const char *from, const char *to, const char *party,
    const char *text)
{
	struct export_record rec;
	struct envelope_header h;
	uint8_t *buf = NULL, *enc = NULL, hdr[ENVELOPE_HEADER_MAX];
	uint8_t salt[ENVELOPE_SALT_LEN];
	size_t len, hlen, elen;
	bool ok = false;
	int me;

	export_record_init(&rec);
	if (file_read(from, EXPORT_FILE_MAX, &buf, &len) != 0 ||
	    export_decode(&rec, buf, len) != 0)
		goto out;
	me = strcmp(rec.party[0].name, party) == 0 ? 0 : 1;
	if (rec.chain[me].nmsg == 0)
		goto out;
	{
		const struct export_msg *m =
		    &rec.chain[me].msg[rec.chain[me].nmsg - 1];
		if (envelope_header_decode(&h, m->hdr, m->hlen) != 0)
			goto out;
		export_msg_id(m, h.prev);
	}
	h.seq++;
	h.time_ms++;
	h.body_len = (uint32_t)strlen(text);
	randombytes_buf(salt, sizeof salt);
	h.version = ENVELOPE_VERSION;
	envelope_body_hash_salted(salt, (const uint8_t *)text, strlen(text),
	    h.body_hash);
	ok = envelope_header_encode(&h, hdr, sizeof hdr, &hlen) == 0 &&
	    export_add_msg(&rec, (uint8_t)me, hdr, hlen, salt,
	    (const uint8_t *)text, strlen(text)) == 0 &&
	    export_encode(&rec, &enc, &elen) == 0 &&
	    file_write(to, enc, elen, 0600, 0) == 0;
out:
	export_record_fini(&rec);
	free(buf);
	free(enc);
	return ok;
}

/* Renames table from of the database at path to to. True when done. */
static bool
rename_table(const char *path, const char *from, const char *to)
{
	char sql[160];
	sqlite3 *db = NULL;
	bool ok;

	snprintf(sql, sizeof sql, "ALTER TABLE %s RENAME TO %s", from, to);
	ok = sqlite3_open(path, &db) == SQLITE_OK &&
	    sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK;
	sqlite3_close(db);
	return ok;
}

/* A copy of node i's home to break, after the daemons stopped. */
static void
copy_home(int i, const char *to)
{
	CHECK_INT(sh("rm -rf %s/%s && cp -a %s/%s %s/%s", tmpdir, to, tmpdir,
	    names[i], tmpdir, to), 0);
}

static void
test_flipped_store(void)
{
	struct export_record rec;
	char path[200];
	uint8_t *buf = NULL;
	size_t len;

	/* a body byte in the store */
	copy_home(0, "bad1");
	snprintf(path, sizeof path, "%s/bad1/parley.db", tmpdir);
	CHECK(flip(path, (const uint8_t *)"south-body-005", 14, 2));
	CHECK_INT(sh("%s/parley verify --home %s/bad1", build, tmpdir), 1);
	CHECK_CONTAINS(out, "FAULT: chain of party 1 (south), seq 5: body");
	/* a salt byte in the store: named as that message's salt */
	copy_home(0, "bad0");
	snprintf(path, sizeof path, "%s/bad0/parley.db", tmpdir);
	CHECK(flip_salt(1, 4, "salt0.px", path));
	CHECK_INT(sh("%s/parley verify --home %s/bad0", build, tmpdir), 1);
	CHECK_CONTAINS(out, "FAULT: chain of party 1 (south), seq 5: "
	    "body_salt and body (their hash; expected: header.body_hash)");
	/* a head's signature: found through the export of the intact one */
	snprintf(path, sizeof path, "%s/all.px", tmpdir);
	CHECK_INT(sh("rm -f %s && %s/parley export --home %s/north --channel"
	    " south %s", path, build, tmpdir, path), 0);
	export_record_init(&rec);
	CHECK_INT(file_read(path, EXPORT_FILE_MAX, &buf, &len), 0);
	CHECK_INT(export_decode(&rec, buf, len), 0);
	/* how many heads south's messages got depends on how group commit
	 * batched them; any one of them will do: take the last */
	CHECK(rec.chain[1].nheads >= 1);
	if (rec.chain[1].nheads >= 1) {
		size_t k = rec.chain[1].nheads - 1;
		copy_home(0, "bad2");
		snprintf(path, sizeof path, "%s/bad2/parley.db", tmpdir);
		CHECK(flip(path, rec.chain[1].heads[k].sig, 64, 17));
		CHECK_INT(sh("%s/parley verify --home %s/bad2", build,
		    tmpdir), 1);
		snprintf(path, sizeof path, "FAULT: head of party 1 (south) at"
		    " seq %llu: signature",
		    (unsigned long long)rec.chain[1].heads[k].seq);
		CHECK_CONTAINS(out, path);
	}
	/* a header byte (its time field): named at its own seq */
	CHECK(rec.chain[0].nmsg >= 3);
	if (rec.chain[0].nmsg >= 3) {
		struct export_msg *m = &rec.chain[0].msg[2];
		copy_home(0, "bad3");
		snprintf(path, sizeof path, "%s/bad3/parley.db", tmpdir);
		CHECK(flip(path, m->hdr, m->hlen, m->hlen - 40));
		CHECK_INT(sh("%s/parley verify --home %s/bad3", build,
		    tmpdir), 1);
		CHECK_CONTAINS(out, "FAULT: chain of party 0 (north), seq 3: "
		    "header");
	}
	/* a stored checkpoint's signature: named, checkpoint and party */
	CHECK(rec.ncps >= 1);
	if (rec.ncps >= 1) {
		copy_home(0, "bad4");
		snprintf(path, sizeof path, "%s/bad4/parley.db", tmpdir);
		CHECK(flip(path, rec.cps[0].sig[1], 64, 9));
		CHECK_INT(sh("%s/parley verify --home %s/bad4", build,
		    tmpdir), 1);
		snprintf(path, sizeof path, "FAULT: checkpoint 1 (seqs "
		    "%llu/%llu): signature of party 1 (south)",
		    (unsigned long long)rec.cps[0].seq[0],
		    (unsigned long long)rec.cps[0].seq[1]);
		CHECK_CONTAINS(out, path);
	}
	export_record_fini(&rec);
	free(buf);
	/* a store whose agreement is not installed (channels/ not restored
	 * with it): its 14 messages are not checked, and verify says so */
	copy_home(0, "bad5");
	CHECK_INT(sh("rm -f %s/bad5/channels/*", tmpdir), 0);
	CHECK_INT(sh("%s/parley verify --home %s/bad5", build, tmpdir), 1);
	CHECK_CONTAINS(out, ": FAULT: the store holds 14 messages of this "
	    "channel, but ");
	CHECK_CONTAINS(out, "/bad5/channels has no agreement for it that "
	    "names this node: not verified");
	CHECK_INT(sh("%s/parley verify --home %s/bad5 --json", build, tmpdir),
	    1);
	CHECK_CONTAINS(out, "has no agreement for it that names this node");
	CHECK_CONTAINS(out, "\"intact\": false");
	/* the same when the agreement is there but names other nodes (a home
	 * of west's keys given north's store and channels/): left out, as
	 * parleyd leaves it out, and its messages named as not verified */
	copy_home(0, "bad8");
	CHECK_INT(sh("%s/parley init --home %s/west6 --name west", build,
	    tmpdir), 0);
	CHECK_INT(sh("cp %s/west6/identity.json %s/bad8/", tmpdir, tmpdir), 0);
	CHECK_INT(sh("%s/parley verify --home %s/bad8", build, tmpdir), 1);
	CHECK_CONTAINS(out, "/bad8/channels names north and south, not this "
	    "node (west): left out");
	CHECK_CONTAINS(out, ": FAULT: the store holds 14 messages of this "
	    "channel, but ");
	CHECK_CONTAINS(out, "/bad8/channels has no agreement for it that "
	    "names this node: not verified");
	/* the same, with the store's list of channels unreadable: --json
	 * still prints one JSON object (the fault in it), no text line */
	copy_home(0, "bad6");
	CHECK_INT(sh("rm -f %s/bad6/channels/*", tmpdir), 0);
	snprintf(path, sizeof path, "%s/bad6/parley.db", tmpdir);
	CHECK(rename_table(path, "message", "message_gone"));
	CHECK_INT(sh("%s/parley verify --home %s/bad6 --json 2>/dev/null",
	    build, tmpdir), 1);
	CHECK(out[0] == '{');
	CHECK(strstr(out, "channels: FAULT") == NULL);
	CHECK_CONTAINS(out, "\"fault\": \"the store could not be read: ");
	CHECK_INT(sh("%s/parley verify --home %s/bad6", build, tmpdir), 1);
	CHECK_CONTAINS(out, "channels: FAULT: the store could not be read: ");
}

/* A checkpoint alarm raised before a restart (stored as an alert, as
 * checkpoint.c raises it) while north's daemon is down. */
static int64_t alarm_n;

static void
test_alarm_stored(void)
{
	char home[300], js[512], hex[65] = "";
	struct store *s = NULL;
	bool fresh = false;

	CHECK_INT(sh("ls %s/north/channels | head -1 | cut -c1-64", tmpdir),
	    0);
	snprintf(hex, sizeof hex, "%.64s", out);
	CHECK_INT(strlen(hex), 64);
	snprintf(js, sizeof js, "{\"channel\": \"%s\", \"key\": "
	    "\"checkpoint-test\", \"kind\": \"checkpoint-diverged\", "
	    "\"text\": \"the chains diverge: party 0's chain first differs "
	    "at seq 3 (test)\"}", hex);
	snprintf(home, sizeof home, "%s/north", tmpdir);
	CHECK_INT(store_open_home(&s, home), 0);
	CHECK_INT(store_alert_put(s, "checkpoint-test", js, 1, &alarm_n,
	    &fresh), 0);
	CHECK(fresh);
	store_close(s);
}

/* `parley alert clear` with an ID that is not wholly a number from 1 is
 * refused (exit 2) with a message naming it, and clears nothing: not the
 * alarm's alert whose number it starts with or ends in. */
static void
alert_clear_bad_ids(void)
{
	char id[4][32], want[160];
	const char *ids[] = { id[0], id[1], id[2], id[3], "",
	    "99999999999999999999", "0", "-1" };

	snprintf(id[0], sizeof id[0], "%lldx", (long long)alarm_n);
	snprintf(id[1], sizeof id[1], " %lld", (long long)alarm_n);
	snprintf(id[2], sizeof id[2], "+%lld", (long long)alarm_n);
	snprintf(id[3], sizeof id[3], "%lld.0", (long long)alarm_n);
	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		CHECK_INT(sh("%s/parley alert clear --home %s/north -- '%s' "
		    "'not this'", build, tmpdir, ids[i]), 2);
		snprintf(want, sizeof want, "parley alert clear: ID: \"%s\" "
		    "is not a whole number of at least 1\n", ids[i]);
		CHECK_STR(out, want);
	}
	CHECK_INT(sh("%s/parley status --home %s/north --json", build,
	    tmpdir), 0);
	CHECK_CONTAINS(out, "\"alerts_open\": 1");
	CHECK_INT(sh("%s/parley alerts --home %s/north", build, tmpdir), 0);
	CHECK_CONTAINS(out, "first differs at seq 3 (test)");
}

/* After the restart, status still names the alarm and counts the alert
 * until an operator clears it; the other side has none. */
static void
test_alarm_kept(void)
{
	CHECK_INT(sh("%s/parley status --home %s/north --json", build,
	    tmpdir), 0);
	CHECK_CONTAINS(out, "\"alerts_open\": 1");
	CHECK_CONTAINS(out, "first differs at seq 3 (test)");
	CHECK_INT(sh("%s/parley status --home %s/north", build, tmpdir), 0);
	CHECK_CONTAINS(out, "ALARM: the chains diverge: party 0's chain first "
	    "differs at seq 3 (test)");
	CHECK_CONTAINS(out, "ALERTS: 1 not cleared");
	CHECK_INT(sh("%s/parley status --home %s/south --json", build,
	    tmpdir), 0);
	CHECK_CONTAINS(out, "\"alerts_open\": 0");
	CHECK_CONTAINS(out, "\"alarm\": null");
	alert_clear_bad_ids();
	CHECK_INT(sh("%s/parley alert clear --home %s/north %lld 'seen, "
	    "test'", build, tmpdir, (long long)alarm_n), 0);
	CHECK_INT(sh("%s/parley status --home %s/north --json", build,
	    tmpdir), 0);
	CHECK_CONTAINS(out, "\"alerts_open\": 0");
	CHECK_CONTAINS(out, "\"alarm\": null");
}

/* Restarted daemons know their last co-signed checkpoint from the store
 * (nothing new since: none co-signed in this run yet). */
static void
test_checkpoint_resumed(void)
{
	for (int i = 0; i < 2; i++) {
		CHECK_INT(sh("%s/parley status --home %s/%s", build, tmpdir,
		    names[i]), 0);
		CHECK_CONTAINS(out, "checkpoint: last co-signed at seqs 8/6");
		CHECK_INT(sh("%s/parley status --home %s/%s --json", build,
		    tmpdir, names[i]), 0);
		CHECK_CONTAINS(out, "\"cosigned\": 0");
	}
}

static void
test_backup_restore(void)
{
	char h0[80], h1[80];
	pid_t p;
	int st;

	/* a backup under traffic: south keeps sending meanwhile */
	fflush(NULL);
	if ((p = fork()) == 0) {
		for (int k = 7; k <= 18; k++)
			if (sh("%s/parley send --home %s/south "
			    "'south-body-%03d'", build, tmpdir, k) != 0) {
				fprintf(stderr, "send %d: %s", k, out);
				_exit(1);
			}
		_exit(0);
	}
	usleep(100000);
	CHECK_INT(sh("%s/parley backup --home %s/north %s/north.bak", build,
	    tmpdir, tmpdir), 0);
	CHECK(waitpid(p, &st, 0) == p && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 0);
	/* and after it: the backup cannot hold these */
	for (int k = 19; k <= 30; k++)
		send_text(1, k);
	for (int k = 9; k <= 12; k++)		/* ours too */
		send_text(0, k);
	CHECK_INT(sh("%s/parley backup --home %s/north %s/north.bak", build,
	    tmpdir, tmpdir), 1);
	CHECK_CONTAINS(out, "never overwrites");
	CHECK(wait_equal(12, 30));
	/* refusals: a running daemon, an existing store, not a store */
	CHECK_INT(sh("%s/parley restore --home %s/north --force "
	    "%s/north.bak", build, tmpdir, tmpdir), 1);
	CHECK_CONTAINS(out, "running");
	/* a daemon that does not answer (stopped here, as one stalled on
	 * its disk, or one still starting) runs all the same: refused */
	CHECK_INT(kill_pid(pids[0], SIGSTOP), 0);
	CHECK_INT(sh("%s/parley restore --home %s/north --force "
	    "%s/north.bak", build, tmpdir, tmpdir), 1);
	CHECK_CONTAINS(out, "running");
	CHECK_INT(kill_pid(pids[0], SIGCONT), 0);
	stop(0, false);
	CHECK_INT(sh("%s/parley restore --home %s/north %s/north.bak", build,
	    tmpdir, tmpdir), 1);
	CHECK_CONTAINS(out, "--force");
	CHECK_INT(sh("%s/parley restore --home %s/north --force "
	    "%s/a.agreement", build, tmpdir, tmpdir), 1);
	CHECK_CONTAINS(out, "not a parley store");
	CHECK_INT(sh("%s/parley restore --home %s/north --force "
	    "%s/north.bak", build, tmpdir, tmpdir), 0);
	/* the restored store verifies and lacks what came after the backup */
	CHECK_INT(verify_node(0, h0, sizeof h0), 0);
	CHECK(strstr(out, "south    chain seq 30,") == NULL);
	CHECK_CONTAINS(out, "north    chain seq 8,");
	/* our own messages after the backup: from the peer's full export;
	 * a tampered one is refused */
	CHECK_INT(sh("%s/parley export --home %s/south --channel north "
	    "%s/south-full.px && cp %s/south-full.px %s/bad.px", build,
	    tmpdir, tmpdir, tmpdir, tmpdir), 0);
	snprintf(h1, sizeof h1, "%s/bad.px", tmpdir);
	CHECK(flip(h1, (const uint8_t *)"north-body-010", 14, 12));
	CHECK_INT(sh("%s/parley restore --home %s/north --peer-export "
	    "%s/bad.px", build, tmpdir, tmpdir), 1);
	CHECK_CONTAINS(out, "does not verify");
	/* a message of ours the peer appended past our last signed head:
	 * it verifies (held by its link alone) but is not ours: refused,
	 * nothing taken */
	snprintf(h1, sizeof h1, "%s/south-full.px", tmpdir);
	snprintf(h0, sizeof h0, "%s/forged.px", tmpdir);
	CHECK(forge_tail(h1, h0, "north", "north-forged-by-south"));
	CHECK_INT(sh("%s/parley verify --file %s", build, h0), 0);
	CHECK_CONTAINS(out, "north    chain seq 13, 13 bodies held, 1 past "
	    "the last signed head");
	CHECK_INT(sh("%s/parley restore --home %s/north --peer-export %s",
	    build, tmpdir, h0), 1);
	CHECK_CONTAINS(out, "seq 13: past the last head north signed");
	CHECK_INT(verify_node(0, h0, sizeof h0), 0);
	CHECK_CONTAINS(out, "north    chain seq 8,");
	CHECK_CONTAINS(out, "south    chain seq ");
	CHECK(strstr(out, "south    chain seq 30,") == NULL);
	/* likewise one of the peer's past its last signed head (whoever
	 * wrote the file made it, not south): refused, nothing taken */
	snprintf(h0, sizeof h0, "%s/forged-peer.px", tmpdir);
	CHECK(forge_tail(h1, h0, "south", "south-forged-by-writer"));
	CHECK_INT(sh("%s/parley verify --file %s", build, h0), 0);
	CHECK_CONTAINS(out, "1 past the last signed head");
	CHECK_INT(sh("%s/parley restore --home %s/north --peer-export %s",
	    build, tmpdir, h0), 1);
	CHECK_CONTAINS(out, "the peer's chain's seq 31: past the last head "
	    "south signed");
	CHECK_INT(verify_node(0, h0, sizeof h0), 0);
	CHECK_CONTAINS(out, "north    chain seq 8,");
	CHECK(strstr(out, "south    chain seq 31,") == NULL);
	CHECK_INT(sh("%s/parley restore --home %s/north --peer-export "
	    "%s/south-full.px", build, tmpdir, tmpdir), 0);
	CHECK_CONTAINS(out, "took back 4 of our own messages (seq 9..12)");
	CHECK_INT(verify_node(0, h0, sizeof h0), 0);
	CHECK_CONTAINS(out, "north    chain seq 12,");
	/* again: nothing left to take, and said so (not "seq 13..12") */
	CHECK_INT(sh("%s/parley restore --home %s/north --peer-export "
	    "%s/south-full.px", build, tmpdir, tmpdir), 0);
	CHECK_CONTAINS(out, "nothing to take back: the store holds our chain "
	    "up to seq 12");
	/* back up: the peer sends the rest again; nothing twice (the peer's
	 * export gave north south's chain too, so the stores may agree before
	 * north answers: wait for it) */
	spawn(0);
	CHECK(wait_up());
	CHECK(wait_equal(12, 30));
	CHECK_INT(verify_node(0, h0, sizeof h0), 0);
	CHECK_INT(verify_node(1, h1, sizeof h1), 0);
	CHECK_STR(h0, h1);
	CHECK_INT(sh("%s/parley inbox --home %s/north --json | grep -c "
	    "'south-body-0'", build, tmpdir), 0);
	CHECK_STR(out, "30\n");
	CHECK_INT(sh("%s/parley log --home %s/north --json | grep -c "
	    "'north-body-0'", build, tmpdir), 0);
	CHECK_STR(out, "12\n");
	/* and the chain goes on */
	send_text(0, 13);
	CHECK(wait_equal(13, 30));
}


int
main(void)
{
	if ((base = node_begin(17000, 17500, 2)) < 0)
		return 1;
	RUN(test_setup);
	RUN(test_equal_heads);
	RUN(test_selective_export);
	RUN(test_selective_salted);
	RUN(test_flipped_export);
	stop(0, false);
	stop(1, false);
	RUN(test_flipped_store);
	RUN(test_alarm_stored);
	spawn(0);
	spawn(1);
	if (!wait_up())
		fprintf(stderr, "the daemons did not come back up\n");
	RUN(test_checkpoint_resumed);
	RUN(test_alarm_kept);
	RUN(test_backup_restore);
	cleanup();
	return harness_summary();
}
