/*
 * test_store.c: the store on temporary files: migrations, the priority
 * queue (FLASH overtakes ROUTINE, gapless chains), received batches,
 * receipts, reopening, a full disk, the never-delete triggers, and the
 * commit counts behind group commit.
 *
 * It opens the file with SQLite directly only to play a hostile or broken
 * world (someone else's database, a newer schema, a bug that tries to
 * delete); the code under test is store.h alone.
 */
#include <sodium.h>
#include <poll.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../harness.h"
#include "base/file.h"
#include "msg/chain.h"
#include "msg/envelope.h"
#include "store/schema.h"
#include "store/store.h"

static char tmpdir[64];
static uint8_t chan[32], chan2[32];
static const uint8_t zero32[32];
static uint64_t now = 1700000000000ull;

static void
path_of(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", tmpdir, name);
}

/* A fresh store file under tmpdir. */
static struct store *
open_new(const char *name)
{
	char p[128];
	struct store *s = NULL;

	path_of(p, sizeof p, name);
	CHECK_INT(store_open(&s, p), 0);
	if (s == NULL)
		abort();
	return s;
}

static int64_t
queue_text(struct store *s, const uint8_t *c, uint8_t prec, const char *t)
{
	int64_t qid = -1;

	CHECK_INT(store_queue(s, c, 0, prec, ENVELOPE_PRIVATE, ENVELOPE_TEXT,
	    (const uint8_t *)t, strlen(t), now++, &qid), 0);
	return qid;
}

/* The peer's messages (sender 1), as its store would have built them. */
struct pmsg {
	struct envelope_header h;
	uint8_t hdr[ENVELOPE_HEADER_MAX];
	size_t hlen;
	uint8_t id[32];
	uint8_t *body;
	size_t blen;
};

static struct pmsg *
peer_run(size_t n, size_t body_len)
{
	struct pmsg *m = calloc(n, sizeof *m);
	struct store_draft d;

	if (m == NULL)
		abort();
	for (size_t i = 0; i < n; i++) {
		m[i].blen = body_len;
		if ((m[i].body = malloc(body_len)) == NULL)
			abort();
		memset(m[i].body, 'a' + (int)(i % 26), body_len);
		memset(&d, 0, sizeof d);
		d.channel = chan;
		d.sender = 1;
		d.seq = i + 1;
		memcpy(d.prev, i ? m[i - 1].id : zero32, 32);
		d.time_ms = now + i;
		d.precedence = ENVELOPE_IMMEDIATE;
		d.marking = ENVELOPE_RELEASABLE;
		d.kind = ENVELOPE_TEXT;
		d.body = m[i].body;
		d.body_len = body_len;
		if (chain_store_build(NULL, &d, m[i].hdr, sizeof m[i].hdr,
		    &m[i].hlen, m[i].id) != 0 ||
		    envelope_header_decode(&m[i].h, m[i].hdr, m[i].hlen) != 0)
			abort();
	}
	return m;
}

static void
peer_free(struct pmsg *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(m[i].body);
	free(m);
}

/* Stores m[from..to) (0-based) as one batch, with a head at the last
 * (signature bytes are the verifier's business, not the store's). */
static int
put_run(struct store *s, const struct pmsg *m, size_t from, size_t to,
    size_t *added)
{
	struct store_in in[64];
	struct store_head hd;

	if (to - from > 64)
		abort();
	for (size_t i = from; i < to; i++)
		chain_store_in(&in[i - from], &m[i].h, m[i].hdr, m[i].hlen,
		    m[i].body, m[i].blen, m[i].id);
	memset(&hd, 0, sizeof hd);
	memcpy(hd.channel, chan, 32);
	hd.sender = 1;
	hd.seq = to;
	memcpy(hd.id, m[to - 1].id, 32);
	memset(hd.sig, 0x5e, sizeof hd.sig);
	return store_received_put(s, chan, 1, in, to - from, &hd, now,
	    added);
}

/* Checks that the stored chain (c, sender) is 1..n, each prev the id
 * before, each header decoding to the stored fields and body. */
struct walk {
	uint64_t next;
	uint8_t prev[32];
	int bad;
};

static int
walk_one(void *arg, struct store_msg *m)
{
	struct walk *w = arg;
	struct envelope_header h;
	uint8_t id[32];

	if (m->seq != w->next ||
	    envelope_open(m->header, m->header_len, m->body, m->body_len, &h,
	    id) != 0 || memcmp(id, m->id, 32) != 0 ||
	    memcmp(h.prev, w->prev, 32) != 0 || h.seq != m->seq ||
	    h.precedence != m->precedence)
		w->bad++;
	memcpy(w->prev, m->id, 32);
	w->next++;
	return 0;
}

static uint64_t
check_chain(struct store *s, const uint8_t *c, uint8_t sender)
{
	struct walk w;

	memset(&w, 0, sizeof w);
	w.next = 1;
	CHECK_INT(store_after(s, c, sender, 0, 1000000, walk_one, &w), 0);
	CHECK_INT(w.bad, 0);
	return w.next - 1;
}

static void
test_open_migrate_reopen(void)
{
	char p[128];
	struct store *s;
	struct stat st;
	int v = -1;

	s = open_new("a.db");
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

struct collect {
	uint64_t seq[64];
	uint8_t prec[64];
	char first[64][16];
	size_t n;
};

static int
collect_one(void *arg, struct store_msg *m)
{
	struct collect *c = arg;

	if (c->n < 64) {
		c->seq[c->n] = m->seq;
		c->prec[c->n] = m->precedence;
		snprintf(c->first[c->n], sizeof c->first[0], "%.*s",
		    (int)(m->body_len < 15 ? m->body_len : 15),
		    (const char *)m->body);
		c->n++;
	}
	return 0;
}

static void
test_flash_overtakes_routine(void)
{
	struct store *s = open_new("queue.db");
	struct store_msg m;
	struct collect c;
	char text[32];
	uint64_t first, last;
	size_t nq;

	for (int i = 0; i < 5; i++) {
		snprintf(text, sizeof text, "routine %d", i);
		queue_text(s, chan, ENVELOPE_ROUTINE, text);
	}
	queue_text(s, chan, ENVELOPE_PRIORITY, "priority 0");
	queue_text(s, chan, ENVELOPE_PRIORITY, "priority 1");
	queue_text(s, chan, ENVELOPE_FLASH, "flash 0");
	queue_text(s, chan2, ENVELOPE_FLASH, "other channel");
	CHECK_INT(store_queued_count(s, chan, &nq), 0);
	CHECK_INT(nq, 8);

	/* the first assigned is the FLASH queued last, as seq 1 */
	CHECK_INT(store_assign_next(s, chan, 0, now, chain_store_build, NULL,
	    &m), 0);
	CHECK_INT(m.seq, 1);
	CHECK_INT(m.state, STORE_SENT);
	CHECK_INT(m.body_len, 7);
	CHECK(memcmp(m.body, "flash 0", 7) == 0);
	store_msg_fini(&m);

	/* a ROUTINE goes out, then a new FLASH still overtakes the rest */
	CHECK_INT(store_assign_batch(s, chan, 0, 3, now, chain_store_build,
	    NULL, &first, &last), 0);
	CHECK_INT(first, 2);
	CHECK_INT(last, 4);
	queue_text(s, chan, ENVELOPE_FLASH, "flash 1");
	CHECK_INT(store_assign_batch(s, chan, 0, 100, now, chain_store_build,
	    NULL, &first, &last), 0);
	CHECK_INT(first, 5);
	CHECK_INT(last, 9);
	CHECK_INT(store_assign_batch(s, chan, 0, 100, now, chain_store_build,
	    NULL, &first, &last), ERR_NOT_FOUND);

	memset(&c, 0, sizeof c);
	CHECK_INT(store_after(s, chan, 0, 0, 100, collect_one, &c), 0);
	CHECK_INT(c.n, 9);
	static const char *want[] = { "flash 0", "priority 0", "priority 1",
		"routine 0", "flash 1", "routine 1", "routine 2",
		"routine 3", "routine 4" };
	for (size_t i = 0; i < 9 && i < c.n; i++) {
		CHECK_INT(c.seq[i], i + 1);
		CHECK_STR(c.first[i], want[i]);
	}
	CHECK_INT(check_chain(s, chan, 0), 9);

	/* the other channel's chain is its own, from 1 */
	CHECK_INT(store_assign_next(s, chan2, 0, now, chain_store_build, NULL,
	    &m), 0);
	CHECK_INT(m.seq, 1);
	store_msg_fini(&m);
	CHECK_INT(store_queued_count(s, NULL, &nq), 0);
	CHECK_INT(nq, 0);
	store_close(s);
}

/* Queued and assigned in one row: gapless with the queue's assignments,
 * and refused (nothing written) while anything of the chain is queued,
 * so that it never overtakes a queued FLASH. */
static void
test_queue_assigned(void)
{
	struct store *s = open_new("direct.db");
	struct store_draft dr;
	struct store_msg m;
	uint8_t id[STORE_ID_LEN];
	uint64_t seq, first, last;
	int64_t qid;
	size_t nq;

	memset(&dr, 0, sizeof dr);
	dr.channel = chan;
	dr.precedence = ENVELOPE_ROUTINE;
	dr.marking = ENVELOPE_PRIVATE;
	dr.kind = ENVELOPE_TEXT;
	dr.body = (const uint8_t *)"direct";
	dr.body_len = 6;
	dr.time_ms = now;
	for (uint64_t i = 1; i <= 2; i++) {
		CHECK_INT(store_queue_assigned(s, &dr, now, chain_store_build,
		    NULL, &qid, &seq, id), 0);
		CHECK_INT(seq, i);
		CHECK_INT(store_get_local(s, qid, &m), 0);
		CHECK_INT(m.seq, i);
		CHECK_INT(m.state, STORE_SENT);
		CHECK_MEM(m.id, id, STORE_ID_LEN);
		store_msg_fini(&m);
	}
	queue_text(s, chan, ENVELOPE_ROUTINE, "queued");
	dr.precedence = ENVELOPE_FLASH;
	CHECK_INT(store_queue_assigned(s, &dr, now, chain_store_build, NULL,
	    &qid, &seq, id), ERR_STATE);
	CHECK_INT(store_queued_count(s, chan, &nq), 0);
	CHECK_INT(nq, 1);
	CHECK_INT(store_assign_batch(s, chan, 0, 10, now, chain_store_build,
	    NULL, &first, &last), 0);
	CHECK_INT(first, 3);
	CHECK_INT(last, 3);
	CHECK_INT(store_queue_assigned(s, &dr, now, chain_store_build, NULL,
	    &qid, &seq, id), 0);
	CHECK_INT(seq, 4);
	dr.kind = 0;
	CHECK_INT(store_queue_assigned(s, &dr, now, chain_store_build, NULL,
	    &qid, &seq, id), ERR_INVALID);
	CHECK_INT(check_chain(s, chan, 0), 4);

	/* A run: the place read once, a refused body skipped, the chain
	 * gapless and linked across the run. */
	{
		struct store_draft run[4];
		struct store_assigned out[4];
		static const uint8_t bad[] = { 'a', 0xff, 'b' };

		dr.kind = ENVELOPE_TEXT;
		for (size_t k = 0; k < 4; k++)
			run[k] = dr;
		run[1].body = bad;
		run[1].body_len = sizeof bad;
		CHECK_INT(store_queue_assigned_run(s, run, 4, now,
		    chain_store_build, NULL, out), 0);
		CHECK_INT(out[0].r, 0);
		CHECK_INT(out[0].seq, 5);
		CHECK(out[1].r != 0);
		CHECK_INT(out[2].r, 0);
		CHECK_INT(out[2].seq, 6);
		CHECK_INT(out[3].seq, 7);
		CHECK_INT(store_get_local(s, out[3].qid, &m), 0);
		CHECK_MEM(m.id, out[3].id, STORE_ID_LEN);
		store_msg_fini(&m);
		CHECK_INT(check_chain(s, chan, 0), 7);
		/* another chain in the same run: refused, nothing written */
		run[2].sender = 1;
		CHECK_INT(store_queue_assigned_run(s, run, 4, now,
		    chain_store_build, NULL, out), ERR_INVALID);
		run[2].sender = 0;
		/* something queued: ERR_STATE, nothing written */
		queue_text(s, chan, ENVELOPE_ROUTINE, "queued again");
		CHECK_INT(store_queue_assigned_run(s, run, 4, now,
		    chain_store_build, NULL, out), ERR_STATE);
		CHECK_INT(check_chain(s, chan, 0), 7);
	}
	store_close(s);
}

/* The numbers of the test: 1,000 ROUTINE queued, some of them
 * already out, then a FLASH: it is the very next one assigned. */
static void
test_flash_overtakes_a_thousand(void)
{
	struct store *s = open_new("thousand.db");
	struct store_msg m;
	uint64_t first, last;
	size_t nq;

	for (int i = 0; i < 1000; i++)
		queue_text(s, chan, ENVELOPE_ROUTINE, "routine traffic");
	CHECK_INT(store_assign_batch(s, chan, 0, 100, now, chain_store_build,
	    NULL, &first, &last), 0);
	CHECK_INT(last, 100);
	queue_text(s, chan, ENVELOPE_FLASH, "flash: accidental launch");
	CHECK_INT(store_assign_next(s, chan, 0, now, chain_store_build, NULL,
	    &m), 0);
	CHECK_INT(m.seq, 101);
	CHECK_INT(m.precedence, ENVELOPE_FLASH);
	store_msg_fini(&m);
	while (store_assign_batch(s, chan, 0, STORE_BATCH_MAX, now,
	    chain_store_build, NULL, &first, &last) == 0)
		;
	CHECK_INT(last, 1001);
	CHECK_INT(store_queued_count(s, chan, &nq), 0);
	CHECK_INT(nq, 0);
	CHECK_INT(check_chain(s, chan, 0), 1001);
	store_close(s);
}

/* chain_queue refuses what could never get a header; a head over an
 * assigned message verifies and is stored. */
static void
test_queue_checks_and_heads(void)
{
	struct store *s = open_new("heads.db");
	struct keys k;
	struct chain_head hd;
	struct store_head sh, back;
	struct store_msg m;
	static const uint8_t bad_utf8[] = { 'a', 0xff };
	size_t nq;
	int64_t qid;

	memset(&k, 0, sizeof k);
	k.sign_sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
	crypto_sign_keypair(k.id.sign_pub, k.sign_sk);
	CHECK_INT(chain_queue(s, chan, 0, ENVELOPE_FLASH, ENVELOPE_PRIVATE,
	    ENVELOPE_TEXT, bad_utf8, sizeof bad_utf8, now, &qid), ERR_INVALID);
	CHECK_INT(chain_queue(s, chan, 0, ENVELOPE_FLASH, ENVELOPE_PRIVATE, 77,
	    (const uint8_t *)"x", 1, now, &qid), ERR_KIND);
	CHECK_INT(chain_queue(s, chan, 0, ENVELOPE_FLASH, ENVELOPE_PRIVATE,
	    ENVELOPE_TEXT, (const uint8_t *)"", 0, now, &qid), ERR_INVALID);
	CHECK_INT(store_queued_count(s, NULL, &nq), 0);
	CHECK_INT(nq, 0);
	CHECK_INT(chain_queue(s, chan, 0, ENVELOPE_FLASH, ENVELOPE_PRIVATE,
	    ENVELOPE_TEXT, (const uint8_t *)"ok", 2, now, &qid), 0);

	CHECK_INT(store_get_local(s, qid, &m), 0);
	CHECK_INT(chain_head_over(&hd, &m, &k), ERR_STATE);	/* queued */
	store_msg_fini(&m);
	CHECK_INT(store_assign_next(s, chan, 0, now, chain_store_build, NULL,
	    &m), 0);
	CHECK_INT(chain_head_over(&hd, &m, &k), 0);
	CHECK_INT(chain_head_verify(&hd, k.id.sign_pub), 0);
	chain_head_to_store(&sh, &hd);
	CHECK_INT(store_head_put(s, &sh, now), 0);
	CHECK_INT(store_head_put(s, &sh, now), 0);		/* again */
	CHECK_INT(store_head_covering(s, chan, 0, 1, &back), 0);
	CHECK_MEM(back.sig, hd.sig, 64);
	store_msg_fini(&m);
	keys_fini(&k);
	store_close(s);
}

static void
test_peer_last_and_direction(void)
{
	struct store *s = open_new("dir.db");
	struct pmsg *p = peer_run(3, 40);
	struct store_msg m;
	struct envelope_header h;
	size_t added;
	int64_t qid;

	CHECK_INT(put_run(s, p, 0, 3, &added), 0);
	queue_text(s, chan, ENVELOPE_ROUTINE, "after three");
	CHECK_INT(store_assign_next(s, chan, 0, now, chain_store_build, NULL,
	    &m), 0);
	CHECK_INT(envelope_header_decode(&h, m.header, m.header_len), 0);
	CHECK_MEM(h.peer_last, p[2].id, 32);		/* the peer's last */
	CHECK_MEM(h.prev, zero32, 32);
	store_msg_fini(&m);

	/* our chain is not the peer's, and the other way round */
	CHECK_INT(store_queue(s, chan, 1, 0, 0, ENVELOPE_TEXT,
	    (const uint8_t *)"x", 1, now, &qid), ERR_INVALID);
	{
		struct store_in in;
		chain_store_in(&in, &p[0].h, p[0].hdr, p[0].hlen, p[0].body,
		    p[0].blen, p[0].id);
		CHECK_INT(store_received_put(s, chan, 0, &in, 1, NULL, now,
		    &added), ERR_INVALID);
	}
	/* out of range */
	CHECK_INT(store_queue(s, chan, 0, 4, 0, ENVELOPE_TEXT,
	    (const uint8_t *)"x", 1, now, &qid), ERR_INVALID);
	peer_free(p, 3);
	store_close(s);
}

static void
test_received_batches(void)
{
	struct store *s = open_new("recv.db");
	struct pmsg *p = peer_run(30, 100);
	struct pmsg *q = peer_run(30, 101);		/* a different fork */
	uint8_t id[32];
	uint64_t hi, c0;
	size_t added;
	struct store_head hd;

	c0 = store_commits(s);
	CHECK_INT(put_run(s, p, 0, 10, &added), 0);
	CHECK_INT(added, 10);
	CHECK_INT(put_run(s, p, 10, 20, &added), 0);
	CHECK_INT(added, 10);
	CHECK_INT(store_commits(s) - c0, 2);		/* one per batch */
	CHECK_INT(store_highest(s, chan, 1, &hi, id), 0);
	CHECK_INT(hi, 20);
	CHECK_MEM(id, p[19].id, 32);

	/* a resend of what is held, overlapping the next: exactly once */
	CHECK_INT(put_run(s, p, 15, 25, &added), 0);
	CHECK_INT(added, 5);
	CHECK_INT(put_run(s, p, 0, 10, &added), 0);
	CHECK_INT(added, 0);

	/* refusals store nothing */
	CHECK_INT(put_run(s, p, 26, 30, &added), ERR_GAP);
	CHECK_INT(added, 0);
	CHECK_INT(put_run(s, q, 20, 26, &added), ERR_CHAIN);	/* other ids */
	CHECK_INT(put_run(s, q, 25, 26, &added), ERR_CHAIN);	/* bad prev */
	CHECK_INT(put_run(s, q, 0, 1, &added), ERR_CHAIN);	/* other id */
	{	/* a head naming another id than its run's last message */
		struct store_in in;
		chain_store_in(&in, &p[25].h, p[25].hdr, p[25].hlen,
		    p[25].body, p[25].blen, p[25].id);
		memset(&hd, 0, sizeof hd);
		memcpy(hd.channel, chan, 32);
		hd.sender = 1;
		hd.seq = 26;
		memcpy(hd.id, p[24].id, 32);
		CHECK_INT(store_received_put(s, chan, 1, &in, 1, &hd, now,
		    &added), ERR_CHAIN);
		CHECK_INT(added, 0);
	}
	CHECK_INT(store_highest(s, chan, 1, &hi, id), 0);
	CHECK_INT(hi, 25);
	CHECK_INT(check_chain(s, chan, 1), 25);

	/* heads: stored with their run, found by what they cover */
	CHECK_INT(store_head_covering(s, chan, 1, 11, &hd), 0);
	CHECK_INT(hd.seq, 20);
	CHECK_INT(store_head_covering(s, chan, 1, 21, &hd), 0);
	CHECK_INT(hd.seq, 25);
	CHECK_INT(store_head_covering(s, chan, 1, 26, &hd), ERR_NOT_FOUND);
	memcpy(hd.id, p[3].id, 32);			/* not the id at 25 */
	CHECK_INT(store_head_put(s, &hd, now), ERR_CHAIN);
	hd.seq = 26;
	CHECK_INT(store_head_put(s, &hd, now), ERR_NOT_FOUND);
	peer_free(p, 30);
	peer_free(q, 30);
	store_close(s);
}

static void
test_receipts(void)
{
	struct store *s = open_new("rcpt.db");
	struct store_receipt rc, got;
	struct store_msg m;
	uint64_t first, last;
	size_t newly;
	int64_t qid;

	for (int i = 0; i < 5; i++)
		queue_text(s, chan, ENVELOPE_ROUTINE, "to be receipted");
	qid = queue_text(s, chan, ENVELOPE_ROUTINE, "still queued");
	CHECK_INT(store_assign_batch(s, chan, 0, 5, now, chain_store_build,
	    NULL, &first, &last), 0);
	CHECK_INT(last, 5);

	memset(&rc, 0, sizeof rc);
	memcpy(rc.channel, chan, 32);
	rc.receiver = 1;
	rc.seq = 3;
	memset(rc.id, 0x42, 32);			/* not our header */
	CHECK_INT(store_receipt_put(s, &rc, now, &newly), ERR_CHAIN);
	CHECK_INT(store_get_local(s, qid - 3, &m), 0);	/* seq 3 */
	CHECK_INT(m.seq, 3);
	memcpy(rc.id, m.id, 32);
	store_msg_fini(&m);
	rc.time_ms = now;
	memset(rc.sig, 0x51, 64);
	CHECK_INT(store_receipt_put(s, &rc, now, &newly), 0);
	CHECK_INT(newly, 3);
	CHECK_INT(store_receipt_put(s, &rc, now, &newly), 0);	/* again */
	CHECK_INT(newly, 0);
	CHECK_INT(store_get_local(s, qid - 3, &m), 0);
	CHECK_INT(m.state, STORE_RECEIPTED);
	CHECK(m.receipted_ms != 0);
	store_msg_fini(&m);
	CHECK_INT(store_get_local(s, qid - 2, &m), 0);
	CHECK_INT(m.state, STORE_SENT);
	store_msg_fini(&m);
	CHECK_INT(store_get_local(s, qid, &m), 0);
	CHECK_INT(m.state, STORE_QUEUED);
	CHECK_INT(m.seq, 0);
	CHECK_INT(m.header_len, 0);
	store_msg_fini(&m);

	CHECK_INT(store_receipt_latest(s, chan, 1, &got), 0);
	CHECK_INT(got.seq, 3);
	CHECK_MEM(got.sig, rc.sig, 64);
	CHECK_INT(store_receipt_latest(s, chan, 0, &got), ERR_NOT_FOUND);

	rc.seq = 9;					/* past what we sent */
	CHECK_INT(store_receipt_put(s, &rc, now, &newly), ERR_NOT_FOUND);
	rc.seq = 0;					/* holds nothing */
	memset(rc.id, 0, 32);
	CHECK_INT(store_receipt_put(s, &rc, now, &newly), 0);
	CHECK_INT(newly, 0);

	/* A later receipt: seq 4 and 5 take its time, seq 3 keeps the time
	 * of the first receipt that covered it (read from the receipts,
	 * not written into the rows). */
	CHECK_INT(store_get_local(s, qid - 1, &m), 0);	/* seq 5 */
	rc.seq = 5;
	memcpy(rc.id, m.id, 32);
	store_msg_fini(&m);
	CHECK_INT(store_receipt_put(s, &rc, now + 1000, &newly), 0);
	CHECK_INT(newly, 2);
	for (int64_t q = qid - 3; q < qid; q++) {
		CHECK_INT(store_get_local(s, q, &m), 0);
		CHECK_INT(m.state, STORE_RECEIPTED);
		CHECK_INT(m.receipted_ms, m.seq == 3 ? now : now + 1000);
		store_msg_fini(&m);
	}
	CHECK_INT(store_get_local(s, qid, &m), 0);
	CHECK_INT(m.state, STORE_QUEUED);
	CHECK_INT(m.receipted_ms, 0);
	store_msg_fini(&m);
	store_close(s);
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
	struct store *s = open_new("keep.db");
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

struct newest {
	int64_t qid[8];
	size_t n;
};

static int
newest_one(void *arg, struct store_msg *m)
{
	struct newest *w = arg;

	if (w->n < 8)
		w->qid[w->n++] = m->qid;
	return 0;
}

static void
test_listing_and_get(void)
{
	struct store *s = open_new("list.db");
	struct pmsg *pm = peer_run(5, 20);
	struct newest w;
	struct store_msg m;
	struct collect c;
	size_t added;
	uint8_t nope[32];

	CHECK_INT(put_run(s, pm, 0, 5, &added), 0);
	memset(&w, 0, sizeof w);
	CHECK_INT(store_list(s, chan, STORE_IN, 3, newest_one, &w), 0);
	CHECK_INT(w.n, 3);
	/* newest first */
	CHECK(w.qid[0] > w.qid[1] && w.qid[1] > w.qid[2]);
	memset(&c, 0, sizeof c);
	CHECK_INT(store_after(s, chan, 1, 3, 10, collect_one, &c), 0);
	CHECK_INT(c.n, 2);
	CHECK_INT(c.seq[0], 4);
	CHECK_INT(c.seq[1], 5);
	CHECK_INT(store_get_at(s, chan, 1, 3, &m), 0);
	CHECK_MEM(m.id, pm[2].id, 32);
	CHECK_INT(m.seq, 3);
	CHECK_INT(m.dir, STORE_IN);
	CHECK_INT(m.state, STORE_RECEIVED);
	CHECK_INT(m.precedence, ENVELOPE_IMMEDIATE);
	CHECK_INT(m.marking, ENVELOPE_RELEASABLE);
	CHECK_INT(m.time_ms, pm[2].h.time_ms);
	CHECK_MEM(m.body, pm[2].body, 20);
	store_msg_fini(&m);
	CHECK_INT(store_get_at(s, chan, 1, 6, &m), ERR_NOT_FOUND);
	CHECK_INT(store_get_at(s, chan, 0, 3, &m), ERR_NOT_FOUND);
	memset(nope, 0x99, 32);
	CHECK_INT(store_get_at(s, nope, 1, 3, &m), ERR_NOT_FOUND);
	CHECK_INT(store_get_local(s, 999999, &m), ERR_NOT_FOUND);
	peer_free(pm, 5);
	store_close(s);
}

static void
test_full_disk(void)
{
	char p[128];
	struct store *s = open_new("full.db");
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
	struct store *s = open_new("keep2.db");
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
			chain_store_in(&in[i], &m->h, m->hdr, m->hlen, m->body,
			    m->blen, m->id);
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
	struct store *s = open_new("group.db");
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
	struct store *s = open_new("late.db");
	int64_t qid;

	CHECK_INT(store_cache_reserve(4), ERR_STATE);
	CHECK_INT(store_queue(s, chan, 0, 0, 0, ENVELOPE_TEXT,
	    (const uint8_t *)"x", 1, now, &qid), 0);
	store_close(s);
}

int
main(void)
{
	int r;

	if (sodium_init() < 0)
		return 1;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/parley-store-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	memset(chan, 0xc1, sizeof chan);
	memset(chan2, 0xc2, sizeof chan2);
	RUN(test_open_migrate_reopen);
	RUN(test_refuses_foreign_and_newer);
	RUN(test_schema_matches_docs);
	RUN(test_flash_overtakes_routine);
	RUN(test_flash_overtakes_a_thousand);
	RUN(test_queue_assigned);
	RUN(test_queue_checks_and_heads);
	RUN(test_peer_last_and_direction);
	RUN(test_received_batches);
	RUN(test_receipts);
	RUN(test_reopen_keeps_everything);
	RUN(test_listing_and_get);
	RUN(test_full_disk);
	RUN(test_never_deleted_or_rewritten);
	RUN(test_group_commit_counts);
	RUN(test_kill9_during_writes);
	RUN(test_cache_reserve_late);
	r = harness_summary();
	harness_rmdir(tmpdir);
	return r;
}
