/*
 * test_store_wal.c: the daemon's WAL checkpoint policy (store_wal_defer,
 * store_wal_tick; docs/store.md, "WAL checkpoints"), on temporary files.
 * The WAL stays bounded under a long run of commits with the tick called
 * and, past STORE_WAL_HARD, without it; the file has its size from the
 * start and keeps it (reused from its start after a checkpoint, never
 * truncated); everything committed is intact after checkpoints and a
 * reopen, and after a writer that dies without closing. Prints the WAL
 * pages a single-message commit writes, and a message in a group of 64
 * (docs/store.md, "Pages per commit").
 *
 * It reads the frames the WAL holds from struct store (store_int.h: what
 * SQLite reported after the last commit); the code under test is
 * store.h. The store's VFS: test_store_vfs.c; the migrations:
 * test_store_migrate.c.
 */
#include "store_files.h"

#define FRAME (4096 + 24)		/* a WAL frame: page and its header */
#define PRESIZED (32 + STORE_WAL_PRESIZE * FRAME)	/* at least */

static void
test_tick_needs_defer(void)
{
	struct store *s = open_name("plain.db");
	uint64_t copied = 99;

	CHECK_INT(store_wal_tick(s, &copied), ERR_STATE);
	CHECK_INT(copied, 0);
	store_close(s);
}

/*
 * The page cache's memory reserved before SQLite's first use (run first):
 * taken once, refused after; the store works the same over it (the tests
 * after this one run over it), and what it stores reads back.
 */
static void
test_cache_reserve(void)
{
	struct store *s;
	int used = 0, most = 0;

	CHECK_INT(store_cache_reserve(0), ERR_INVALID);
	CHECK_INT(store_cache_reserve(4), 0);
	CHECK_INT(store_cache_reserve(4), ERR_STATE);
	s = open_name("reserve.db");
	for (uint64_t i = 1; i <= 200; i++)
		CHECK_INT(send_one(s, i, 1000), 0);
	/* the cache took its pages from the pool */
	CHECK(sqlite3_status(SQLITE_STATUS_PAGECACHE_USED, &used, &most,
	    0) == SQLITE_OK);
	CHECK(used > 10);
	store_close(s);
	s = open_name("reserve.db");
	CHECK_INT(check_chain(s, 1000), 200);
	store_close(s);
}

/* The daemon's page cache: a size in range is set, others refused. */
static void
test_cache_set(void)
{
	struct store *s = open_name("cache.db");

	CHECK_INT(store_cache_set(s, 0), ERR_INVALID);
	CHECK_INT(store_cache_set(s, 4097), ERR_INVALID);
	CHECK_INT(store_cache_set(s, STORE_DAEMON_CACHE_MIB), 0);
	store_close(s);
}

/*
 * Below STORE_WAL_SOFT pages the tick copies only once no commit came
 * since the last tick; afterwards the WAL is written again from its start.
 * The file has STORE_WAL_PRESIZE pages from the start and keeps its size
 * (no truncation: SQLite's journal_size_limit stays -1).
 */
static void
test_quiet_tick(void)
{
	struct store *s = open_name("quiet.db");
	uint64_t copied = 0, size, held;

	CHECK(wal_bytes("quiet.db") < PRESIZED);	/* the migrations' */
	store_wal_defer(s);
	size = wal_bytes("quiet.db");
	CHECK(size >= PRESIZED);
	CHECK(size <= PRESIZED + (1 << 20));	/* 1 MiB chunks */
	for (uint64_t i = 1; i <= 20; i++)
		CHECK_INT(send_one(s, i, 500), 0);
	held = frames(s);
	CHECK(held >= 20 * 4);
	CHECK(held < STORE_WAL_SOFT);
	CHECK_INT(store_wal_tick(s, &copied), 0);	/* commits came */
	CHECK_INT(copied, 0);
	CHECK_INT(store_wal_tick(s, &copied), 0);	/* quiet: copies */
	CHECK_INT(copied, held);
	CHECK_INT(store_wal_tick(s, &copied), 0);	/* nothing left */
	CHECK_INT(copied, 0);
	for (uint64_t i = 21; i <= 25; i++)
		CHECK_INT(send_one(s, i, 500), 0);
	CHECK(frames(s) < held);		/* written from its start */
	CHECK_INT(wal_bytes("quiet.db"), size);	/* same file, same size */
	CHECK_INT(check_chain(s, 500), 25);
	store_close(s);
}

/*
 * A long run of single-message commits with a tick every 40 commits (a
 * daemon at 160 messages a second, 250 ms ticks): the WAL never holds much
 * more than STORE_WAL_SOFT pages and one tick's commits, and the file
 * keeps the size it was given.
 */
static void
test_bounded_with_tick(void)
{
	struct store *s = open_name("tick.db");
	uint64_t copied, total = 0, max = 0, ticks = 0, size;
	const uint64_t n = 2 * STORE_WAL_SOFT, every = 40;

	store_wal_defer(s);
	size = wal_bytes("tick.db");
	for (uint64_t i = 1; i <= n; i++) {
		CHECK_INT(send_one(s, i, 1024), 0);
		if (frames(s) > max)
			max = frames(s);
		if (i % every == 0) {
			CHECK_INT(store_wal_tick(s, &copied), 0);
			total += copied;
			ticks += copied > 0;
		}
	}
	printf("  %llu commits, a tick every %llu: %llu ticks copied"
	    " %llu pages; the WAL held at most %llu\n", (unsigned long long)n,
	    (unsigned long long)every, (unsigned long long)ticks,
	    (unsigned long long)total, (unsigned long long)max);
	CHECK(ticks >= 3);
	/* the ticks copied most of it: a commit writes about 4 pages (the
	 * message's table, its two indexes, page 1), the last tick's
	 * leftovers stay */
	CHECK(total >= n * 3);
	/* each commit writes well under 32 pages */
	CHECK(max <= STORE_WAL_SOFT + every * 32);
	CHECK_INT(wal_bytes("tick.db"), size);
	CHECK_INT(check_chain(s, 1024), n);
	store_close(s);
}

/*
 * No tick at all (a daemon too busy to tick, or one that never does):
 * past STORE_WAL_HARD pages a commit copies the WAL itself, so the WAL
 * stays near that bound however much is written.
 */
static void
test_bounded_without_tick(void)
{
	struct store *s = open_name("hard.db");
	uint64_t i = 0, max = 0;
	const uint64_t batch = 100;

	store_wal_defer(s);
	/* over 1.6 x STORE_WAL_HARD pages: 3000-byte bodies, a page each */
	while (i < STORE_WAL_HARD + STORE_WAL_HARD * 6 / 10) {
		CHECK_INT(store_txn_begin(s), 0);
		for (uint64_t k = 0; k < batch; k++)
			CHECK_INT(send_one(s, ++i, 3000), 0);
		CHECK_INT(store_txn_commit(s), 0);
		if (frames(s) > max)
			max = frames(s);
	}
	printf("  %llu messages in commits of %llu, no tick: the WAL held at"
	    " most %llu pages (bound %d)\n", (unsigned long long)i,
	    (unsigned long long)batch, (unsigned long long)max,
	    STORE_WAL_HARD);
	CHECK(max >= STORE_WAL_HARD);		/* no copy before the bound */
	CHECK(max <= STORE_WAL_HARD + 4 * batch);
	CHECK(s->wal.checkpoints >= 1);
	CHECK(wal_bytes("hard.db") <= (STORE_WAL_HARD + 4 * batch) * FRAME +
	    (1 << 20));
	CHECK_INT(check_chain(s, 3000), i);
	store_close(s);
}

/* Open, write, checkpoint, write, close, reopen, read: all there. */
static void
test_intact_after_reopen(void)
{
	struct store *s = open_name("intact.db");
	uint64_t copied, top = 0;
	uint8_t id[32];

	store_wal_defer(s);
	for (uint64_t i = 1; i <= 300; i++) {
		CHECK_INT(send_one(s, i, 1024), 0);
		if (i % 50 == 0) {
			CHECK_INT(store_wal_tick(s, &copied), 0);
			CHECK_INT(store_wal_tick(s, &copied), 0);
		}
	}
	for (uint64_t i = 301; i <= 310; i++)	/* only in the WAL */
		CHECK_INT(send_one(s, i, 1024), 0);
	store_close(s);
	s = open_name("intact.db");
	CHECK_INT(check_chain(s, 1024), 310);
	CHECK_INT(store_highest(s, chan, 0, &top, id), 0);
	CHECK_INT(top, 310);
	store_close(s);
}

/*
 * Durability is SQLite's: a writer that dies without closing (its last
 * commits in the WAL, not yet copied) loses nothing it committed.
 */
static void
test_intact_after_crash(void)
{
	struct store *s;
	pid_t pid;
	int status = -1;

	fflush(stdout);
	if ((pid = fork()) == 0) {
		uint64_t copied;
		s = open_name("crash.db");
		store_wal_defer(s);
		for (uint64_t i = 1; i <= 150; i++) {
			if (send_one(s, i, 1024) != 0)
				_exit(1);
			if (i == 100 && (store_wal_tick(s, &copied) != 0 ||
			    store_wal_tick(s, &copied) != 0 || copied == 0))
				_exit(2);
		}
		_exit(0);			/* no store_close */
	}
	CHECK(pid > 0);
	CHECK_INT(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(wal_bytes("crash.db") > 0);
	s = open_name("crash.db");
	CHECK_INT(check_chain(s, 1024), 150);
	store_close(s);
}

/*
 * What one message costs in WAL pages (docs/store.md, "Pages per
 * commit"), after a warm-up so that the b-trees have their usual depth,
 * from a fresh WAL (a reopen), so that no checkpoint restarts it: ours,
 * as the daemon's group commit stores one message sent alone (the peer's
 * receipt of the one before, the message queued and assigned in one row,
 * its head, an audit entry), and the peer's (the run of one and its head).
 */
struct side {
	struct store *s;
	const char *name;
	uint64_t frames;
};

/*
 * Prints where the WAL's frames 1..x->frames went, per b-tree, per
 * message: each frame's page number (the first 4 bytes of its header, big
 * endian) and the b-tree that owns that page (SQLite's dbstat table; pages
 * never change owner here, nothing is ever deleted). Silent where the
 * library was built without dbstat.
 */
#define OWNERS_MAX 4096

static void
print_split(const struct side *x, uint64_t n)
{
	static char owner[OWNERS_MAX][40];
	char names[16][40], path[160];
	uint64_t count[16] = { 0 };
	size_t kinds = 0, k;
	sqlite3_stmt *st;
	uint8_t fh[4];
	FILE *f;

	memset(owner, 0, sizeof owner);
	if (sqlite3_prepare_v2(x->s->db, "SELECT name, pageno FROM dbstat",
	    -1, &st, NULL) != SQLITE_OK)
		return;
	while (sqlite3_step(st) == SQLITE_ROW) {
		int pg = sqlite3_column_int(st, 1);
		if (pg > 0 && pg < OWNERS_MAX)
			snprintf(owner[pg], sizeof owner[pg], "%s",
			    (const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
	snprintf(path, sizeof path, "%s/%s-wal", tmpdir, x->name);
	if ((f = fopen(path, "rb")) == NULL)
		return;
	for (uint64_t i = 0; i < x->frames; i++) {
		uint32_t pg;
		const char *nm;
		if (fseek(f, (long)(32 + i * FRAME), SEEK_SET) != 0 ||
		    fread(fh, 1, sizeof fh, f) != sizeof fh)
			break;
		pg = (uint32_t)fh[0] << 24 | (uint32_t)fh[1] << 16 |
		    (uint32_t)fh[2] << 8 | fh[3];
		nm = pg < OWNERS_MAX && owner[pg][0] ? owner[pg] : "?";
		for (k = 0; k < kinds && strcmp(names[k], nm) != 0; k++)
			;
		if (k == kinds && kinds < 16)
			snprintf(names[kinds++], sizeof names[0], "%s", nm);
		if (k < kinds)
			count[k]++;
	}
	fclose(f);
	for (k = 0; k < kinds; k++)
		printf("    %-28s %5.2f\n", names[k], (double)count[k] /
		    (double)n);
}

static void
test_pages_per_message(void)
{
	struct side a = { open_name("pa.db"), "pa.db", 0 };
	struct side b = { open_name("pb.db"), "pb.db", 0 };
	const uint64_t warm = 500, n = 200;
	uint8_t hdr[ENVELOPE_HEADER_MAX], body[1024], id[32], prev[32];
	uint8_t entry[150], hash[32], salt[STORE_SALT_LEN];
	bool salted;
	struct envelope_header eh;
	struct store_receipt rc;
	struct store_head h;
	struct store_in in;
	struct store_draft d;
	size_t hlen, added, newly;
	uint64_t w0;

	now = 1800000000000ull;		/* the same ids whatever ran before */
	memset(prev, 0, sizeof prev);
	memset(entry, 0xa7, sizeof entry);
	memset(hash, 0, sizeof hash);
	for (uint64_t i = 1; i <= warm + n; i++) {
		if (i == warm + 1) {	/* closing ends the WAL */
			store_close(a.s);
			store_close(b.s);
			a.s = open_name(a.name);
			b.s = open_name(b.name);
			store_wal_defer(a.s);
			store_wal_defer(b.s);
		}
		w0 = frames(a.s);
		CHECK_INT(store_txn_begin(a.s), 0);
		if (i > 1) {
			memset(&rc, 0, sizeof rc);
			memcpy(rc.channel, chan, 32);
			rc.receiver = 1;
			CHECK_INT(store_highest(a.s, chan, 0, &rc.seq, rc.id), 0);
			rc.time_ms = now;
			memset(rc.sig, 0x5e, sizeof rc.sig);
			CHECK_INT(store_receipt_put(a.s, &rc, now, &newly), 0);
			CHECK_INT(newly, 1);
		}
		CHECK_INT(send_one(a.s, i, sizeof body), 0);
		CHECK_INT(store_highest(a.s, chan, 0, &h.seq, h.id), 0);
		memcpy(h.channel, chan, 32);
		h.sender = 0;
		memset(h.sig, 0x5e, sizeof h.sig);
		CHECK_INT(store_head_put(a.s, &h, now), 0);
		hash[i % 32]++;
		CHECK_INT(store_audit_put(a.s, i, entry, sizeof entry, hash), 0);
		CHECK_INT(store_txn_commit(a.s), 0);
		if (i > warm)
			a.frames += frames(a.s) - w0;

		fill_body(body, sizeof body, i);
		memset(&d, 0, sizeof d);
		d.channel = chan;
		d.sender = 1;
		d.seq = i;
		memcpy(d.prev, prev, 32);
		d.time_ms = now;
		d.precedence = ENVELOPE_ROUTINE;
		d.marking = ENVELOPE_PRIVATE;
		d.kind = ENVELOPE_TEXT;
		d.body = body;
		d.body_len = sizeof body;
		if (chain_store_build(NULL, &d, hdr, sizeof hdr, &hlen, id,
		    salt, &salted) != 0 ||
		    envelope_header_decode(&eh, hdr, hlen) != 0)
			abort();
		chain_store_in(&in, &eh, hdr, hlen, salt, body, sizeof body,
		    id);
		memcpy(h.channel, chan, 32);
		h.sender = 1;
		h.seq = i;
		memcpy(h.id, id, 32);
		w0 = frames(b.s);
		CHECK_INT(store_received_put(b.s, chan, 1, &in, 1, &h, now,
		    &added), 0);
		CHECK_INT(added, 1);
		if (i > warm)
			b.frames += frames(b.s) - w0;
		memcpy(prev, id, 32);
	}
	printf("  WAL pages per single-message commit: ours (receipt,"
	    " message, head, audit entry) %.2f; the peer's (message, head)"
	    " %.2f\n", (double)a.frames / (double)n,
	    (double)b.frames / (double)n);
	printf("  ours, per b-tree:\n");
	print_split(&a, n);
	printf("  the peer's, per b-tree:\n");
	print_split(&b, n);
	/* every table and index written at least once (ours 6, the peer's
	 * 4); below what version 6 wrote (9.6 and 7.1: a b-tree more per
	 * message would show) */
	CHECK(a.frames >= 6 * n && 2 * a.frames <= 19 * n);
	CHECK(b.frames >= 4 * n && 2 * b.frames <= 13 * n);
	store_close(a.s);
	store_close(b.s);
}

/*
 * What a group of 64 received messages (1 KiB bodies) writes to the WAL,
 * per message, on a store already holding 5120 (docs/store.md, "Pages per
 * commit"): every b-tree left is written in key order, so the group
 * shares its leaves; the table's rows take about a third of a page each.
 * With UNIQUE (id) (version 6) each message also wrote a leaf of that
 * index of its own: about 1 page more per message.
 */
static void
test_pages_per_group(void)
{
	enum { GROUP = 64, WARM = 80, MEASURED = 20 };
	struct side b = { open_name("pg.db"), "pg.db", 0 };
	static uint8_t hdr[GROUP][ENVELOPE_HEADER_MAX], body[GROUP][1024];
	static uint8_t salt[GROUP][STORE_SALT_LEN];
	static struct store_in in[GROUP];
	bool salted;
	struct envelope_header eh;
	struct store_draft d;
	struct store_head h;
	uint8_t prev[32], id[32];
	size_t hlen, added;
	uint64_t seq = 0, w0;

	now = 1800000000000ull;
	memset(prev, 0, sizeof prev);
	for (int g = 0; g < WARM + MEASURED; g++) {
		if (g == WARM) {	/* a fresh WAL, as in the test above */
			store_close(b.s);
			b.s = open_name(b.name);
			store_wal_defer(b.s);
		}
		for (int k = 0; k < GROUP; k++) {
			seq++;
			fill_body(body[k], sizeof body[k], seq);
			memset(&d, 0, sizeof d);
			d.channel = chan;
			d.sender = 1;
			d.seq = seq;
			memcpy(d.prev, prev, 32);
			d.time_ms = now + seq;
			d.precedence = ENVELOPE_ROUTINE;
			d.marking = ENVELOPE_PRIVATE;
			d.kind = ENVELOPE_TEXT;
			d.body = body[k];
			d.body_len = sizeof body[k];
			if (chain_store_build(NULL, &d, hdr[k], sizeof hdr[k],
			    &hlen, id, salt[k], &salted) != 0 ||
			    envelope_header_decode(&eh, hdr[k], hlen) != 0)
				abort();
			chain_store_in(&in[k], &eh, hdr[k], hlen, salt[k],
			    body[k], sizeof body[k], id);
			memcpy(prev, id, 32);
		}
		memset(&h, 0, sizeof h);
		memcpy(h.channel, chan, 32);
		h.sender = 1;
		h.seq = seq;
		memcpy(h.id, prev, 32);
		memset(h.sig, 0x5e, sizeof h.sig);
		w0 = frames(b.s);
		CHECK_INT(store_received_put(b.s, chan, 1, in, GROUP, &h, now,
		    &added), 0);
		CHECK_INT(added, GROUP);
		if (g >= WARM)
			b.frames += frames(b.s) - w0;
	}
	printf("  WAL pages per message received in groups of %d, after"
	    " %d: %.2f\n", GROUP, WARM * GROUP,
	    (double)b.frames / (double)(MEASURED * GROUP));
	print_split(&b, MEASURED * GROUP);
	/* the rows alone are a third of a page each (0.56 in all here);
	 * version 6 wrote 1.26, 0.70 of them UNIQUE (id)'s, and a b-tree
	 * written at random would do so again */
	CHECK(3 * b.frames >= (uint64_t)MEASURED * GROUP);
	CHECK(5 * b.frames <= 4 * (uint64_t)MEASURED * GROUP);
	store_close(b.s);
}

int
main(void)
{
	if (!store_files_begin("/tmp/parley-store-wal-XXXXXX"))
		return 1;
	RUN(test_cache_reserve);	/* first: before SQLite is used */
	RUN(test_tick_needs_defer);
	RUN(test_cache_set);
	RUN(test_quiet_tick);
	RUN(test_bounded_with_tick);
	RUN(test_bounded_without_tick);
	RUN(test_intact_after_reopen);
	RUN(test_intact_after_crash);
	RUN(test_pages_per_message);
	RUN(test_pages_per_group);
	return store_files_end();
}
