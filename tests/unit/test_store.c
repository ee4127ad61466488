/*
 * test_store.c: the store on temporary files: migrations, someone else's
 * or a newer database refused, the schema as documented, reopening, a
 * full disk, the never-delete triggers, writes killed by SIGKILL, the
 * commit counts behind group commit, and the cache reserve. The queue,
 * received batches, receipts and listings: test_store_queue.c.
 *
 * It opens the file with SQLite directly only to play a hostile or broken
 * world (someone else's database, a newer schema, a bug that tries to
 * delete); the code under test is store.h alone.
 */
#include "store_chains.h"

static void
test_open_migrate_reopen(void)
{
	char p[128];
	struct store *s;
	struct stat st;
	int v = -1;

	s = open_name("a.db");
	CHECK_INT(store_schema_version(s, &v), 0);
	CHECK_INT(v, STORE_SCHEMA_VERSION);
	CHECK_INT(store_commits(s), STORE_SCHEMA_VERSION);	/* one per migration */
	store_close(s);
	path_of(p, sizeof p, "a.db");
	CHECK_INT(stat(p, &st), 0);
	CHECK_INT(st.st_mode & 0777, 0600);
	CHECK_INT(store_open(&s, p), 0);
	CHECK_INT(store_commits(s), 0);			/* nothing to do */
	store_close(s);

	/* An empty file (as a crash right after creating it leaves). */
	path_of(p, sizeof p, "empty.db");
	CHECK_INT(file_write(p, (const uint8_t *)"", 0, 0600, 0), 0);
	CHECK_INT(store_open(&s, p), 0);
	CHECK_INT(store_schema_version(s, &v), 0);
	CHECK_INT(v, STORE_SCHEMA_VERSION);
	store_close(s);

	/* In memory (no WAL there), for tests of other modules. */
	CHECK_INT(store_open(&s, ":memory:"), 0);
	CHECK_INT(store_schema_version(s, &v), 0);
	CHECK_INT(v, STORE_SCHEMA_VERSION);
	store_close(s);

	/* The node home. */
	CHECK_INT(store_open_home(&s, tmpdir), 0);
	store_close(s);
	path_of(p, sizeof p, STORE_FILE);
	CHECK_INT(stat(p, &st), 0);
	CHECK_INT(st.st_mode & 0777, 0600);
}

static void
raw_sql(const char *name, const char *sql)
{
	char p[128];
	sqlite3 *db;

	path_of(p, sizeof p, name);
	CHECK_INT(sqlite3_open(p, &db), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void
test_refuses_foreign_and_newer(void)
{
	char p[128];
	struct store *s = NULL;

	raw_sql("other.db", "CREATE TABLE t (x);");
	path_of(p, sizeof p, "other.db");
	CHECK_INT(store_open(&s, p), ERR_VERSION);
	CHECK(s == NULL);

	raw_sql("future.db", "PRAGMA user_version = 99;"
	    " PRAGMA application_id = 1886547065;");
	path_of(p, sizeof p, "future.db");
	CHECK_INT(store_open(&s, p), ERR_VERSION);

	raw_sql("junk.db", "PRAGMA application_id = 7;");
	path_of(p, sizeof p, "junk.db");
	CHECK_INT(store_open(&s, p), ERR_VERSION);
	CHECK(store_open_error()[0] != '\0');

	/* a file that cannot be created: the reason names the path */
	CHECK(store_open(&s, "/nonexistent-parley-dir/x.db") != 0);
	CHECK(s == NULL);
	CHECK_CONTAINS(store_open_error(), "/nonexistent-parley-dir/x.db");
}

static void
test_schema_matches_docs(void)
{
	uint8_t *doc = NULL;
	size_t n = 0;
	char *text;

	CHECK_INT(file_read("docs/store.md", 1 << 20, &doc, &n), 0);
	if (doc == NULL)
		return;
	text = malloc(n + 1);
	memcpy(text, doc, n);
	text[n] = '\0';
	for (int v = 0; v < STORE_SCHEMA_VERSION; v++)
		CHECK_CONTAINS(text, store_migration_sql(v));
	CHECK(store_migration_sql(STORE_SCHEMA_VERSION) == NULL);
	free(text);
	free(doc);
}

static int
count_one(void *arg, struct store_msg *m)
{
	(void)m;
	(*(size_t *)arg)++;
	return 0;
}

static void
test_reopen_keeps_everything(void)
{
	char p[128];
	struct store *s = open_name("keep.db");
	struct pmsg *pm = peer_run(12, 300);
	struct store_msg m, back;
	uint64_t first, last, hi;
	uint8_t id[32];
	size_t added, n;

	queue_text(s, chan, ENVELOPE_FLASH, "kept across a restart");
	queue_text(s, chan, ENVELOPE_ROUTINE, "queued across a restart");
	CHECK_INT(store_assign_next(s, chan, 0, now, chain_store_build, NULL,
	    &m), 0);
	CHECK_INT(put_run(s, pm, 0, 12, &added), 0);
	store_close(s);

	path_of(p, sizeof p, "keep.db");
	CHECK_INT(store_open(&s, p), 0);
	CHECK_INT(store_get_at(s, chan, 0, 1, &back), 0);
	CHECK_INT(back.seq, 1);
	CHECK_MEM(back.id, m.id, 32);
	CHECK_INT(back.header_len, m.header_len);
	CHECK_MEM(back.header, m.header, m.header_len);
	CHECK_INT(back.body_len, m.body_len);
	CHECK_MEM(back.body, m.body, m.body_len);
	CHECK_INT(back.state, STORE_SENT);
	store_msg_fini(&back);
	store_msg_fini(&m);
	CHECK_INT(store_highest(s, chan, 1, &hi, id), 0);
	CHECK_INT(hi, 12);
	CHECK_MEM(id, pm[11].id, 32);
	CHECK_INT(check_chain(s, chan, 1), 12);
	n = 0;
	CHECK_INT(store_list(s, NULL, STORE_IN, 100, count_one, &n), 0);
	CHECK_INT(n, 12);
	n = 0;
	CHECK_INT(store_list(s, chan, STORE_BOTH, 100, count_one, &n), 0);
	CHECK_INT(n, 14);
	/* the queue survived, and its next seq is 2 */
	CHECK_INT(store_assign_batch(s, chan, 0, 10, now, chain_store_build,
	    NULL, &first, &last), 0);
	CHECK_INT(first, 2);
	CHECK_INT(last, 2);
	CHECK_INT(check_chain(s, chan, 0), 2);
	peer_free(pm, 12);
	store_close(s);
}

static void
test_full_disk(void)
{
	char p[128];
	struct store *s = open_name("full.db");
	struct pmsg *pm = peer_run(20, 64 * 1024);
	uint8_t *big = malloc(256 * 1024), id[32];
	uint64_t pages, cap, hi, first, last;
	size_t nq, added;
	int64_t qid = 0;
	int r;

	memset(big, 'z', 256 * 1024);
	queue_text(s, chan, ENVELOPE_ROUTINE, "before the disk filled");
	CHECK_INT(put_run(s, pm, 0, 2, &added), 0);
	CHECK_INT(store_page_count(s, &pages), 0);
	CHECK_INT(store_set_max_pages(s, pages, &cap), 0);
	CHECK_INT(cap, pages);

	CHECK_INT(store_queue(s, chan, 0, ENVELOPE_ROUTINE, ENVELOPE_PRIVATE,
	    ENVELOPE_TEXT, big, 256 * 1024, now, &qid), ERR_FULL);
	CHECK_CONTAINS(store_errmsg(s), "full");
	CHECK_INT(put_run(s, pm, 2, 20, &added), ERR_FULL);
	CHECK_INT(added, 0);

	/* nothing half-written, everything readable */
	CHECK_INT(store_queued_count(s, chan, &nq), 0);
	CHECK_INT(nq, 1);
	CHECK_INT(store_highest(s, chan, 1, &hi, id), 0);
	CHECK_INT(hi, 2);
	CHECK_INT(check_chain(s, chan, 1), 2);
	r = store_assign_batch(s, chan, 0, 10, now, chain_store_build, NULL,
	    &first, &last);
	if (r == ERR_FULL) {
		CHECK_INT(store_highest(s, chan, 0, &hi, id), 0);
		CHECK_INT(hi, 0);
	} else
		CHECK_INT(r, 0);

	/* room again: everything works */
	CHECK_INT(store_set_max_pages(s, 1u << 20, &cap), 0);
	CHECK_INT(store_queue(s, chan, 0, ENVELOPE_ROUTINE, ENVELOPE_PRIVATE,
	    ENVELOPE_TEXT, big, 256 * 1024, now, &qid), 0);
	CHECK_INT(put_run(s, pm, 2, 20, &added), 0);
	CHECK_INT(added, 18);
	CHECK_INT(store_assign_batch(s, chan, 0, 10, now, chain_store_build,
	    NULL, &first, &last), 0);
	CHECK_INT(store_highest(s, chan, 0, &hi, id), 0);
	CHECK_INT(hi, 2);
	store_close(s);

	path_of(p, sizeof p, "full.db");
	CHECK_INT(store_open(&s, p), 0);
	CHECK_INT(check_chain(s, chan, 1), 20);
	CHECK_INT(check_chain(s, chan, 0), 2);
	store_close(s);
	peer_free(pm, 20);
	free(big);
}

static void
test_never_deleted_or_rewritten(void)
{
	char p[128];
	struct store *s = open_name("keep2.db");
	struct store_msg m;
	sqlite3 *db;

	queue_text(s, chan, ENVELOPE_ROUTINE, "permanent");
	CHECK_INT(store_assign_next(s, chan, 0, now, chain_store_build, NULL,
	    &m), 0);
	store_msg_fini(&m);
	store_close(s);

	path_of(p, sizeof p, "keep2.db");
	CHECK_INT(sqlite3_open(p, &db), SQLITE_OK);
	CHECK(sqlite3_exec(db, "DELETE FROM message", NULL, NULL, NULL) !=
	    SQLITE_OK);
	CHECK(sqlite3_exec(db, "UPDATE message SET body = x'00'", NULL, NULL,
	    NULL) != SQLITE_OK);
	CHECK(sqlite3_exec(db, "UPDATE message SET seq = 7", NULL, NULL,
	    NULL) != SQLITE_OK);
	CHECK(sqlite3_exec(db, "UPDATE message SET state = 0, seq = NULL,"
	    " id = NULL, header = NULL", NULL, NULL, NULL) != SQLITE_OK);
	CHECK(sqlite3_exec(db, "UPDATE message SET state = 2", NULL, NULL,
	    NULL) == SQLITE_OK);			/* forward is allowed */
	CHECK(sqlite3_exec(db, "UPDATE message SET state = 1", NULL, NULL,
	    NULL) != SQLITE_OK);
	sqlite3_close(db);
}

/* The writer killed below: queues and assigns its own messages and stores
 * the peer's run, reporting each commit's highest seqs on fd. */
static void
writer(const char *path, const struct pmsg *pm, size_t npm, int fd)
{
	struct store *s;
	struct store_in in[5];
	uint64_t hi[2], first, last;
	uint8_t id[32];
	size_t added;
	int64_t qid;

	if (store_open(&s, path) != 0 ||
	    store_highest(s, chan, 1, &hi[1], id) != 0)
		_exit(3);
	for (;;) {
		if (chain_queue(s, chan, 0, ENVELOPE_ROUTINE, ENVELOPE_PRIVATE,
		    ENVELOPE_TEXT, (const uint8_t *)"until killed", 12, now,
		    &qid) != 0)
			_exit(4);
		if (store_assign_batch(s, chan, 0, 2, now, chain_store_build,
		    NULL, &first, &last) != 0)
			_exit(5);
		hi[0] = last;
		for (size_t i = 0; i < 5 && hi[1] + i < npm; i++) {
			const struct pmsg *m = &pm[hi[1] + i];
			chain_store_in(&in[i], &m->h, m->hdr, m->hlen, m->salt,
			    m->body, m->blen, m->id);
		}
		if (hi[1] + 5 <= npm) {
			if (store_received_put(s, chan, 1, in, 5, NULL, now,
			    &added) != 0 || added != 5)
				_exit(6);
			hi[1] += 5;
		}
		if (write(fd, hi, sizeof hi) != (ssize_t)sizeof hi)
			_exit(7);
	}
}

/*
 * kill -9 of a process in the middle of its writes, ten times: whatever it
 * reported committed is there after reopening, and both chains are
 * gapless (WAL recovery; a process crash, not a power cut).
 */
static void
test_kill9_during_writes(void)
{
	char p[128];
	struct pmsg *pm = peer_run(3000, 120);
	struct store *s;
	uint64_t seen[2] = { 0, 0 }, got[2], hi;
	uint8_t id[32];
	struct pollfd pfd;
	int fds[2], status, firsts = 0;
	pid_t pid;

	path_of(p, sizeof p, "kill.db");
	for (int round = 0; round < 10; round++) {
		CHECK_INT(pipe(fds), 0);
		fflush(stdout);
		if ((pid = fork()) == 0) {
			close(fds[0]);
			writer(p, pm, 3000, fds[1]);
		}
		close(fds[1]);
		/* killed within 40 ms of its first commit, not before it:
		 * opening the store and the first commit may take longer
		 * than that on a busy machine (under ASan, 10 kills in a row
		 * came before any commit), and a round that kills a writer
		 * still opening shows nothing */
		pfd.fd = fds[0];
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 30000) == 1 &&
		    read(fds[0], got, sizeof got) == (ssize_t)sizeof got) {
			seen[0] = got[0];
			seen[1] = got[1];
			firsts++;
		}
		usleep((useconds_t)randombytes_uniform(40000));
		kill(pid, SIGKILL);
		while (read(fds[0], got, sizeof got) == (ssize_t)sizeof got) {
			seen[0] = got[0];
			seen[1] = got[1];
		}
		close(fds[0]);
		CHECK_INT(waitpid(pid, &status, 0), pid);
		CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

		CHECK_INT(store_open(&s, p), 0);
		CHECK_INT(store_highest(s, chan, 0, &hi, id), 0);
		CHECK(hi >= seen[0]);
		CHECK_INT(check_chain(s, chan, 0), hi);
		CHECK_INT(store_highest(s, chan, 1, &hi, id), 0);
		CHECK(hi >= seen[1]);
		CHECK_INT(check_chain(s, chan, 1), hi);
		store_close(s);
	}
	printf("  kill -9: after 10 kills, %llu own and %llu peer messages"
	    " reported committed, all present, chains gapless\n",
	    (unsigned long long)seen[0], (unsigned long long)seen[1]);
	CHECK_INT(firsts, 10);	/* every round killed a writer writing */
	CHECK(seen[0] > 0);
	peer_free(pm, 3000);
}

static double
seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Group commit, measured: 64 messages stored one transaction each, then
 * 64 in one. Each commit is one WAL fsync (synchronous=FULL); strace -f -c
 * -e trace=fsync,fdatasync on this program counts them (docs/store.md).
 */
static void
test_group_commit_counts(void)
{
	struct store *s = open_name("group.db");
	struct pmsg *pm = peer_run(128, 200);
	uint64_t c0, c1, c2;
	size_t added, total = 0;
	double t0, t1, t2;

	c0 = store_commits(s);
	t0 = seconds();
	for (size_t i = 0; i < 64; i++) {
		CHECK_INT(put_run(s, pm, i, i + 1, &added), 0);
		total += added;
	}
	c1 = store_commits(s);
	t1 = seconds();
	CHECK_INT(put_run(s, pm, 64, 128, &added), 0);
	total += added;
	c2 = store_commits(s);
	t2 = seconds();
	CHECK_INT(total, 128);
	CHECK_INT(c1 - c0, 64);
	CHECK_INT(c2 - c1, 1);
	printf("  group commit: 64 alone: %llu commits, %.2f ms/msg;"
	    " 64 in one batch: %llu commit, %.3f ms/msg\n",
	    (unsigned long long)(c1 - c0), (t1 - t0) * 1000 / 64,
	    (unsigned long long)(c2 - c1), (t2 - t1) * 1000 / 64);
	peer_free(pm, 128);
	store_close(s);
}

/* The page cache's memory is reserved only before SQLite's first use:
 * refused once it is in use, and nothing changes. */
static void
test_cache_reserve_late(void)
{
	struct store *s = open_name("late.db");
	int64_t qid;

	CHECK_INT(store_cache_reserve(4), ERR_STATE);
	CHECK_INT(store_queue(s, chan, 0, 0, 0, ENVELOPE_TEXT,
	    (const uint8_t *)"x", 1, now, &qid), 0);
	store_close(s);
}

int
main(void)
{
	if (!store_files_begin("/tmp/parley-store-XXXXXX"))
		return 1;
	RUN(test_open_migrate_reopen);
	RUN(test_refuses_foreign_and_newer);
	RUN(test_schema_matches_docs);
	RUN(test_reopen_keeps_everything);
	RUN(test_full_disk);
	RUN(test_never_deleted_or_rewritten);
	RUN(test_group_commit_counts);
	RUN(test_kill9_during_writes);
	RUN(test_cache_reserve_late);
	return store_files_end();
}
