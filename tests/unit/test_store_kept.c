/*
 * test_store_kept.c: the store's kept statements (store_int.h), from
 * outside: the statements the daemon runs all the time (the deadline
 * scan's listings, the audit log, alerts, seen records, held messages and
 * approvals, the checkpoints' ids) are prepared once per connection and
 * never again; a listing whose callback comes back into the store with the
 * same statement, or writes, gets correct answers; errors are the same
 * codes as before, and a statement that failed is usable again; every
 * statement fits in the table (STORE_STMTS).
 *
 * It counts statements compiled on the store's connection with an SQLite
 * authorizer (called when a statement is prepared, never when it runs),
 * and reads struct store (store_int.h) for the connection and the table;
 * everything else goes through store.h, people.h and record.h.
 */
#include <sodium.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include "../harness.h"
#include "msg/chain.h"
#include "msg/envelope.h"
#include "store/people.h"
#include "store/record.h"
#include "store/store.h"
#include "store/store_int.h"

static char tmpdir[64];
static uint8_t chan[32];
static uint64_t now = 1700000000000ull;
static struct store *s;
static uint64_t compiled;	/* grows whenever a statement that reads or
				 * writes is prepared */

static int
count_compiled(void *arg, int action, const char *a, const char *b,
    const char *c, const char *d)
{
	(void)a;
	(void)b;
	(void)c;
	(void)d;
	/* once per SELECT, INSERT, ... compiled (a subquery too); a
	 * ROLLBACK (error paths run it with sqlite3_exec) is none of these */
	if (action == SQLITE_SELECT || action == SQLITE_INSERT ||
	    action == SQLITE_UPDATE || action == SQLITE_DELETE)
		(*(uint64_t *)arg)++;
	return SQLITE_OK;
}

/* Our text message i, sent alone, at time t. */
static void
send_at(uint64_t i, uint8_t precedence, uint64_t t)
{
	char body[64];
	struct store_draft d;
	uint8_t id[32];
	uint64_t seq;
	int64_t qid;

	snprintf(body, sizeof body, "message %llu", (unsigned long long)i);
	memset(&d, 0, sizeof d);
	d.channel = chan;
	d.sender = 0;
	d.precedence = precedence;
	d.marking = ENVELOPE_PRIVATE;
	d.kind = ENVELOPE_TEXT;
	d.body = (const uint8_t *)body;
	d.body_len = strlen(body);
	d.time_ms = t;
	CHECK_INT(store_queue_assigned(s, &d, t, chain_store_build, NULL,
	    &qid, &seq, id), 0);
	CHECK_INT(seq, i);
}

static int
count_msg(void *arg, struct store_msg *m)
{
	(void)m;
	(*(size_t *)arg)++;
	return 0;
}

/* The deadline watch's scan of one channel (msg/deadline.c): per party,
 * a listing per precedence of due times in (from, to] and one of seqs in
 * (after, upto]. Returns the rows seen. */
static size_t
scan(uint64_t from, uint64_t to, uint64_t after, uint64_t upto)
{
	const uint64_t within[4] = { 1000, 1000, 1000, 1000 };
	size_t rows = 0;

	for (unsigned who = 0; who < 2; who++) {
		for (unsigned p = 0; p < 4; p++)
			CHECK_INT(store_unacked_each(s, chan, (uint8_t)who,
			    (uint8_t)p, from, INT64_MAX, to, 1000,
			    "ack-overdue:peer:", count_msg, &rows), 0);
		CHECK_INT(store_unacked_after_each(s, chan, (uint8_t)who,
		    after, upto, within, to, "ack-overdue:peer:", count_msg,
		    &rows), 0);
	}
	return rows;
}

static void
test_scan_prepared_once(void)
{
	uint64_t before;
	size_t first, rows;

	for (uint64_t i = 1; i <= 40; i++)
		send_at(i, (uint8_t)(i % 4), now + i * 100);
	first = scan(0, now + 100000, 0, 40);
	CHECK_INT(first, 40 * 2);	/* each is due and arrived */
	before = compiled;
	for (int k = 0; k < 100; k++) {
		rows = scan(0, now + 100000, 0, 40);
		CHECK_INT(rows, first);
	}
	CHECK_INT(compiled, before);
	/* other bounds, same SQL: seqs 11..20 came at now + 1100 .. 2000 */
	rows = scan(now + 1000, now + 2000, 10, 20);
	CHECK_INT(rows, 10);		/* due then; none arrived past due */
	CHECK_INT(compiled, before);
}

struct seqs {
	uint64_t seq[16];
	size_t n;
};

static int
note_seq(void *arg, struct store_msg *m)
{
	struct seqs *l = arg;

	if (l->n < sizeof l->seq / sizeof l->seq[0])
		l->seq[l->n] = m->seq;
	l->n++;
	return 0;
}

/* One listing of a seq range covers every precedence, each row against
 * its own precedence's deadline, FLASH first, then oldest first: 41..48
 * of precedences 1, 2, 3, 0, 1, 2, 3, 0, stamped T + seq, deadlines 1, 2,
 * 3 and 4 s: at T + 2,500 FLASH and IMMEDIATE are past due. On a
 * channel of its own (seqs 1..40 are the scan test's). */
static void
test_scan_seqs_every_precedence(void)
{
	const uint64_t within[4] = { 1000, 2000, 3000, 4000 };
	const uint64_t bad[4] = { 1000, STORE_ACK_ANY + 1, 0, 0 };
	const uint64_t want[4] = { 44, 48, 41, 45 };
	uint8_t keep[sizeof chan];
	uint64_t t = now + 200000;
	struct seqs l = { { 0 }, 0 };

	memcpy(keep, chan, sizeof chan);
	memset(chan, 0xc2, sizeof chan);
	for (uint64_t i = 1; i <= 40; i++)
		send_at(i, ENVELOPE_ROUTINE, now);
	for (uint64_t i = 41; i <= 48; i++)
		send_at(i, (uint8_t)(i % 4), t + i);
	CHECK_INT(store_unacked_after_each(s, chan, 0, 40, 48, within,
	    t + 2500, NULL, note_seq, &l), 0);
	CHECK_INT(l.n, 4);
	for (size_t k = 0; k < 4 && k < l.n; k++)
		CHECK_INT(l.seq[k], want[k]);
	/* by 4,100 every one; none of the range's other sender */
	l.n = 0;
	CHECK_INT(store_unacked_after_each(s, chan, 0, 40, 48, within,
	    t + 4100, NULL, note_seq, &l), 0);
	CHECK_INT(l.n, 8);
	l.n = 0;
	CHECK_INT(store_unacked_after_each(s, chan, 1, 0, 48, within,
	    t + 4100, NULL, note_seq, &l), 0);
	CHECK_INT(l.n, 0);
	/* a deadline out of range is refused */
	CHECK_INT(store_unacked_after_each(s, chan, 0, 40, 48, bad, t + 4100,
	    NULL, note_seq, &l), ERR_INVALID);
	memcpy(chan, keep, sizeof chan);
}

/* The listing by due time from a cursor (time_ms, qid), as the deadline
 * watch resumes it: on a channel of its own, 12 IMMEDIATE texts at one
 * time T, 4 at T + 1 .. T + 4 (and FLASH ones at T, of another
 * precedence). Listings that stop after k rows (1, 3, 5, 16), each
 * taken up from the last row's (time_ms, qid), list every row once, in
 * (time_ms, qid) order, the same as one whole listing: the rows at T
 * are not split wrongly nor passed over. A cursor at (T, INT64_MAX)
 * lists from T + 1 on; the cursor's statement is kept too. */
struct stop_after {
	size_t k, n;			/* stop after k rows; rows seen */
	uint64_t time[32];
	int64_t qid[32];
};

static int
stop_row(void *arg, struct store_msg *m)
{
	struct stop_after *x = arg;

	if (x->n < 32) {
		x->time[x->n] = m->time_ms;
		x->qid[x->n] = m->qid;
	}
	return ++x->n % x->k == 0 ? ERR_AGAIN : 0;
}

static void
test_scan_due_cursor(void)
{
	static const size_t ks[4] = { 1, 3, 5, 16 };
	uint8_t keep[sizeof chan];
	uint64_t t = now + 500000, at, before;
	struct stop_after whole = { 1000, 0, { 0 }, { 0 } }, x;
	int64_t q;
	int r, calls;

	memcpy(keep, chan, sizeof chan);
	memset(chan, 0xc3, sizeof chan);
	for (uint64_t i = 1; i <= 20; i++)
		send_at(i, i % 5 == 0 ? ENVELOPE_FLASH : ENVELOPE_IMMEDIATE,
		    i <= 15 ? t : t + i - 15);
	CHECK_INT(store_unacked_each(s, chan, 0, ENVELOPE_IMMEDIATE, t - 1,
	    INT64_MAX, t + 10, STORE_ACK_ANY, NULL, stop_row, &whole), 0);
	CHECK_INT(whole.n, 16);
	for (size_t i = 1; i < whole.n; i++)
		CHECK(whole.time[i] > whole.time[i - 1] ||
		    (whole.time[i] == whole.time[i - 1] &&
		    whole.qid[i] > whole.qid[i - 1]));
	CHECK_INT(whole.time[11], t);
	CHECK_INT(whole.time[12], t + 1);
	memset(&x, 0, sizeof x);	/* the statement of the rest at T */
	x.k = 1000;
	CHECK_INT(store_unacked_each(s, chan, 0, ENVELOPE_IMMEDIATE, t,
	    whole.qid[10], t + 10, STORE_ACK_ANY, NULL, stop_row, &x), 0);
	CHECK_INT(x.n, 5);
	CHECK_INT(x.qid[0], whole.qid[11]);
	before = compiled;
	for (size_t j = 0; j < 4; j++) {
		memset(&x, 0, sizeof x);
		x.k = ks[j];
		at = t - 1;
		q = INT64_MAX;
		for (calls = 0; calls < 100; calls++) {
			size_t n0 = x.n;

			r = store_unacked_each(s, chan, 0, ENVELOPE_IMMEDIATE,
			    at, q, t + 10, STORE_ACK_ANY, NULL, stop_row, &x);
			if (r == 0)
				break;
			CHECK_INT(r, ERR_AGAIN);
			CHECK(x.n > n0 && x.n <= 32);
			at = x.time[x.n - 1];
			q = x.qid[x.n - 1];
		}
		CHECK(calls > 0 && calls < 100);
		CHECK_INT(x.n, whole.n);
		for (size_t i = 0; i < whole.n && i < x.n; i++) {
			CHECK_INT(x.time[i], whole.time[i]);
			CHECK_INT(x.qid[i], whole.qid[i]);
		}
	}
	CHECK_INT(compiled, before);	/* kept: both statements */
	/* past every row at T: from T + 1 */
	memset(&x, 0, sizeof x);
	x.k = 1000;
	CHECK_INT(store_unacked_each(s, chan, 0, ENVELOPE_IMMEDIATE, t,
	    INT64_MAX, t + 10, STORE_ACK_ANY, NULL, stop_row, &x), 0);
	CHECK_INT(x.n, 4);
	CHECK_INT(x.time[0], t + 1);
	CHECK_INT(store_unacked_each(s, chan, 0, ENVELOPE_IMMEDIATE, t, -1,
	    t + 10, STORE_ACK_ANY, NULL, stop_row, &x), ERR_INVALID);
	memcpy(chan, keep, sizeof chan);
}

/* People in the loop, as the daemon's requests use them, twice: the
 * second round prepares nothing. Errors keep their codes. */
static int
held_row(void *arg, const struct store_held *h)
{
	(void)h;
	(*(size_t *)arg)++;
	return 0;
}

static int
alert_row(void *arg, const struct store_alert *a)
{
	(void)a;
	(*(size_t *)arg)++;
	return 0;
}

static int
audit_row(void *arg, uint64_t n, const uint8_t *entry, size_t len,
    const uint8_t hash[STORE_ID_LEN])
{
	(void)n;
	(void)entry;
	(void)len;
	(void)hash;
	(*(size_t *)arg)++;
	return 0;
}

static void
people_round(int round, bool check, uint64_t *prepared)
{
	uint8_t hash[32], id[32], ids[4][32];
	char name[STORE_NAME_MAX + 1], key[32];
	uint64_t n = 0, t = 0;
	int64_t an = 0, hid = 0, hid2 = 0;
	size_t count = 0;
	uint32_t uid = 0;
	bool fresh = false;

	CHECK_INT(store_audit_last(s, &n, hash), 0);
	CHECK_INT(store_audit_put(s, n + 1, (const uint8_t *)"entry", 5,
	    hash), 0);
	CHECK_INT(store_audit_put(s, n + 5, (const uint8_t *)"entry", 5,
	    hash), ERR_CHAIN);
	CHECK_INT(store_audit_each(s, audit_row, &count), 0);
	CHECK_INT(count, (size_t)n + 1);

	snprintf(key, sizeof key, "k%d", round);
	CHECK_INT(store_alert_put(s, key, "{}", now, &an, &fresh), 0);
	CHECK(fresh);
	CHECK_INT(store_alert_put(s, key, "{}", now, &an, &fresh), 0);
	CHECK(!fresh);
	CHECK_INT(store_alert_clear(s, an, 1000, "op", "note", now), 0);
	CHECK_INT(store_alert_clear(s, an, 1000, "op", "note", now),
	    ERR_STATE);
	CHECK_INT(store_alert_clear(s, 9999, 1000, "op", "note", now),
	    ERR_NOT_FOUND);
	count = 0;
	CHECK_INT(store_alerts_each(s, true, alert_row, &count), 0);
	CHECK_INT(count, (size_t)round);
	count = 0;
	CHECK_INT(store_alerts_each(s, false, alert_row, &count), 0);
	CHECK_INT(count, 0);

	CHECK_INT(store_held_put(s, chan, 3, 0, 1, (const uint8_t *)"hold", 4,
	    1000, "op", now, &hid), 0);
	CHECK_INT(store_held_put(s, chan, 3, 0, 1, (const uint8_t *)"hold", 4,
	    1000, "op", now, &hid2), 0);
	count = 0;
	CHECK_INT(store_held_get(s, hid, held_row, &count), 0);
	CHECK_INT(count, 1);
	CHECK_INT(store_held_get(s, 99999, held_row, &count), ERR_NOT_FOUND);
	CHECK_INT(store_held_release(s, hid, round, 1000, "op", now), 0);
	CHECK_INT(store_held_release(s, hid, round, 1000, "op", now),
	    ERR_STATE);
	CHECK_INT(store_held_release(s, hid2, round, 1000, "op", now),
	    ERR_STATE);			/* that qid was released already */
	count = 0;
	CHECK_INT(store_held_each(s, true, held_row, &count), 0);
	CHECK_INT(count, (size_t)round);	/* each round leaves hid2 */
	count = 0;
	CHECK_INT(store_held_each(s, false, held_row, &count), 0);
	CHECK_INT(count, (size_t)round * 2);

	CHECK_INT(store_highest(s, chan, 0, &n, id), 0);
	CHECK_INT(store_seen_get(s, id, &uid, name, sizeof name, &t),
	    round == 1 ? ERR_NOT_FOUND : 0);
	CHECK_INT(store_seen_put(s, id, 1000 + (uint32_t)round, "op", now),
	    0);
	CHECK_INT(store_seen_get(s, id, &uid, name, sizeof name, &t), 0);
	CHECK_INT(uid, 1001);		/* the first keeps it */
	CHECK_STR(name, "op");

	CHECK_INT(store_acks_naming(s, chan, id, count_msg, &count), 0);
	CHECK_INT(store_ids_range(s, chan, 0, 0, 4, ids), 0);
	CHECK_INT(store_ids_range(s, chan, 0, n - 1, 1, ids), 0);
	CHECK_MEM(ids[0], id, 32);
	{
		uint64_t at;
		uint32_t kind;
		CHECK_INT(store_id_find(s, chan, 0, id, &at, &kind), 0);
		CHECK_INT(at, n);
		CHECK_INT(store_id_find(s, chan, 1, id, &at, &kind),
		    ERR_NOT_FOUND);
	}

	if (check)
		CHECK_INT(compiled, *prepared);
	*prepared = compiled;
}

static void
test_people_prepared_once(void)
{
	uint64_t prepared = 0;

	for (int round = 1; round <= 3; round++)
		people_round(round, round > 1, &prepared);
	/* inside a caller's transaction too (the group commit: savepoints,
	 * prepared the first time) */
	for (int round = 4; round <= 5; round++) {
		CHECK_INT(store_txn_begin(s), 0);
		people_round(round, round > 4, &prepared);
		CHECK_INT(store_txn_commit(s), 0);
	}
}

/*
 * A listing whose callback comes back with the same listing (the kept
 * statement is running: a fresh one answers, then goes) and writes (as
 * the deadline watch raises an alert per row): both see what they should,
 * and afterwards the kept statement is used again.
 */
struct nest {
	size_t outer, inner;
	int depth;
};

static int
nest_row(void *arg, struct store_msg *m)
{
	struct nest *x = arg;
	char key[80];
	int64_t n;
	bool fresh;
	int r;

	if (x->depth > 0) {
		x->inner++;
		return 0;
	}
	x->outer++;
	x->depth++;
	r = store_unacked_each(s, chan, 0, m->precedence, 0, INT64_MAX,
	    now + 100000, 1000, NULL, nest_row, x);
	x->depth--;
	if (r != 0)
		return r;
	memcpy(key, "nest:", 5);
	for (size_t i = 0; i < 32; i++)
		snprintf(key + 5 + 2 * i, 3, "%02x", m->id[i]);
	return store_alert_put(s, key, "{}", now, &n, &fresh);
}

static void
test_nested_listing(void)
{
	struct nest x = { 0, 0, 0 };
	uint64_t before;
	size_t rows = 0;

	(void)scan(0, now + 100000, 0, 40);
	before = compiled;
	CHECK_INT(store_unacked_each(s, chan, 0, 1, 0, INT64_MAX,
	    now + 100000, 1000, NULL, nest_row, &x), 0);
	CHECK_INT(x.outer, 10);			/* precedence 1 of 40 */
	CHECK_INT(x.inner, 10 * 10);
	CHECK(compiled >= before + 10);		/* a fresh one per nesting */
	before = compiled;
	CHECK_INT(store_unacked_each(s, chan, 0, 1, 0, INT64_MAX,
	    now + 100000, 1000, NULL, count_msg, &rows), 0);
	CHECK_INT(rows, 10);
	CHECK_INT(compiled, before);
	/* the alerts the callback stored, one per row keyed "nest:" and its
	 * id, now hide those rows from a scan that asks */
	rows = 0;
	CHECK_INT(store_unacked_each(s, chan, 0, 1, 0, INT64_MAX,
	    now + 100000, 1000, "nest:", count_msg, &rows), 0);
	CHECK_INT(rows, 0);
}

/* The rest of the store's statements, run twice: every one is kept (the
 * second round prepares nothing), with room to spare in the table. */
static void
other_round(uint64_t i)
{
	struct store_receipt rc, got;
	struct store_head h;
	struct store_msg m;
	uint8_t cp[16] = { 0 }, back[16];
	uint64_t first, last;
	size_t n = 0, newly, len;
	int64_t qid;
	bool added;

	CHECK_INT(store_queue(s, chan, 0, 3, 0, 1, (const uint8_t *)"queued",
	    6, now, &qid), 0);
	CHECK_INT(store_queued_count(s, chan, &n), 0);
	CHECK_INT(n, 1);
	CHECK_INT(store_assign_batch(s, chan, 0, 8, now, chain_store_build,
	    NULL, &first, &last), 0);
	CHECK_INT(first, last);
	CHECK_INT(store_get_local(s, qid, &m), 0);
	CHECK_INT(m.seq, first);
	memset(&h, 0, sizeof h);
	memcpy(h.channel, chan, 32);
	h.seq = m.seq;
	memcpy(h.id, m.id, 32);
	CHECK_INT(store_head_put(s, &h, now), 0);
	CHECK_INT(store_head_covering(s, chan, 0, 1, &h), 0);
	memset(&rc, 0, sizeof rc);
	memcpy(rc.channel, chan, 32);
	rc.receiver = 1;
	rc.seq = m.seq;
	memcpy(rc.id, m.id, 32);
	CHECK_INT(store_receipt_put(s, &rc, now, &newly), 0);
	CHECK_INT(store_receipt_latest(s, chan, 1, &got), 0);
	CHECK_INT(got.seq, m.seq);
	store_msg_fini(&m);
	CHECK_INT(store_get_at(s, chan, 0, got.seq, &m), 0);
	CHECK_MEM(m.id, got.id, 32);
	CHECK_INT(m.state, STORE_RECEIPTED);
	store_msg_fini(&m);
	n = 0;
	CHECK_INT(store_list(s, NULL, STORE_BOTH, 5, count_msg, &n), 0);
	CHECK_INT(n, 5);
	n = 0;
	CHECK_INT(store_after(s, chan, 0, 0, 1000, count_msg, &n), 0);
	CHECK_INT(n, 40 + i);
	cp[0] = (uint8_t)i;
	CHECK_INT(store_checkpoint_put(s, chan, i, i, now, cp, sizeof cp, now,
	    &added), 0);
	CHECK(added);
	CHECK_INT(store_checkpoint_latest(s, chan, back, sizeof back, &len),
	    0);
	CHECK_MEM(back, cp, sizeof cp);
}

static void
test_table_has_room(void)
{
	uint64_t before;
	size_t used = 0;

	other_round(1);
	before = compiled;
	other_round(2);
	CHECK_INT(compiled, before);
	while (used < STORE_STMTS && s->stmts[used].sql != NULL)
		used++;
	printf("  %zu kept statements of %d\n", used, STORE_STMTS);
	CHECK(used >= 46);
	CHECK(used < STORE_STMTS);
}

int
main(void)
{
	char p[128];
	int r;

	if (sodium_init() < 0)
		return 1;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/parley-store-kept-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	memset(chan, 0xc1, sizeof chan);
	snprintf(p, sizeof p, "%s/kept.db", tmpdir);
	if (store_open(&s, p) != 0)
		return 1;
	sqlite3_set_authorizer(s->db, count_compiled, &compiled);
	RUN(test_scan_prepared_once);
	RUN(test_scan_seqs_every_precedence);
	RUN(test_scan_due_cursor);
	RUN(test_people_prepared_once);
	RUN(test_nested_listing);
	RUN(test_table_has_room);
	store_close(s);
	r = harness_summary();
	harness_rmdir(tmpdir);
	return r;
}
