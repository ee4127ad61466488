/*
 * test_anchor_status.c: what status shows of audit anchors, and at what
 * cost (src/ctl/anchorcmd.c, src/msg/anchor.h): the count of what we
 * signed for the peer ("given") is the engine's, read once at its start
 * and counted as rows are stored, so that status (which `parley anchor`
 * reads ten times a second) runs no query over the evidence table.
 */
#include <jansson.h>

#include "anchor_pair.h"
#include "ctl/ctl.h"
#include "msg/alert.h"

static int given_queries;	/* statements reading audit_anchor_given */
static int alert_stmts;		/* statements on the alert table */

static int
trace_stmt(unsigned type, void *ctx, void *p, void *x)
{
	const char *sql = sqlite3_sql(p);

	(void)type;
	(void)ctx;
	(void)x;
	if (sql != NULL && strstr(sql, "audit_anchor_given") != NULL)
		given_queries++;
	if (sql != NULL && strstr(sql, "alert") != NULL)
		alert_stmts++;
	return 0;
}

/* Our node (north, kp[0]) on channel with south (kp[1]). */
static void
agreement_make(struct agreement *ag)
{
	memset(ag, 0, sizeof *ag);
	memcpy(ag->id, channel, sizeof channel);
	snprintf(ag->party[0].name, sizeof ag->party[0].name, "north");
	memcpy(ag->party[0].sign_pub, kp[0].id.sign_pub, KEYS_PUB_LEN);
	snprintf(ag->party[1].name, sizeof ag->party[1].name, "south");
	memcpy(ag->party[1].sign_pub, kp[1].id.sign_pub, KEYS_PUB_LEN);
}

/* status's "given" of channel, read n times; -1 when absent. */
static long long
status_given(const struct ctl_env *env, int n)
{
	long long v = -1;

	for (int k = 0; k < n; k++) {
		json_t *chan = json_object();
		ctl_anchor_status(env, channel, chan);
		v = json_integer_value(json_object_get(json_object_get(chan,
		    "anchor"), "given"));
		json_decref(chan);
	}
	return v;
}

/* "given" in status: the rows stored before the start and since, with
 * no statement over the evidence table at any status call. */
static void
test_given_counted(void)
{
	static struct agreement ag;
	uint8_t ask[ANCHOR_REC_MAX], ans[ANCHOR_REC_MAX];
	struct anchor_engine peer, me, *mine;
	struct anchor_set *as;
	struct delivery_io io;
	struct delivery *dl;
	struct ctl_env env;
	struct store *s, *ps;
	size_t len, alen;

	agreement_make(&ag);
	memset(&io, 0, sizeof io);
	CHECK_INT(store_open(&s, ":memory:"), 0);
	CHECK_INT(store_open(&ps, ":memory:"), 0);
	log_n(ps, 1);
	/* two asks of south's signed before north's daemon starts */
	anchor_init(&peer, ps, &kp[1], channel, kp[0].id.sign_pub, 60000,
	    1000, 1000);
	anchor_init(&me, s, &kp[0], channel, kp[1].id.sign_pub, 60000, 1000,
	    1000);
	for (uint64_t t = 1000; t <= 61000; t += 60000) {
		CHECK_INT(anchor_tick(&peer, t, t, ask, sizeof ask, &len), 0);
		CHECK_INT(anchor_on_record(&me, ask, len, t + 100, t + 100, ans,
		    sizeof ans, &alen), 0);
		CHECK_INT(anchor_on_record(&peer, ans, alen, t + 200, t + 200,
		    ask, sizeof ask, &len), 0);
	}
	CHECK_INT(given(s), 2);
	CHECK_INT(delivery_new(s, &kp[0], &io, &dl), 0);
	CHECK_INT(anchor_set_new(dl, &kp[0], &ag, 1, 0, 0, 130000, 130000,
	    &as), 0);
	memset(&env, 0, sizeof env);
	env.delivery = dl;
	env.anchors = as;
	CHECK_INT(sqlite3_trace_v2(s->db, SQLITE_TRACE_STMT, trace_stmt, NULL),
	    SQLITE_OK);
	given_queries = 0;
	CHECK_INT(status_given(&env, 5), 2);
	CHECK_INT(given_queries, 0);
	/* a third ask of south's signed by the daemon: counted */
	CHECK_INT(anchor_tick(&peer, 130000, 130000, ask, sizeof ask, &len),
	    0);
	CHECK(len > 0);
	/* as anchor_set_record would, once a session of the channel is up */
	mine = (struct anchor_engine *)(uintptr_t)anchor_set_engine(as,
	    channel);
	CHECK(mine != NULL);
	CHECK_INT(anchor_on_record(mine, ask, len, 130100, 130100, ans,
	    sizeof ans, &alen), 0);
	CHECK_INT(given(s), 3);
	given_queries = 0;
	CHECK_INT(status_given(&env, 5), 3);
	CHECK_INT(given_queries, 0);
	CHECK_INT(sqlite3_trace_v2(s->db, 0, NULL, NULL), SQLITE_OK);
	anchor_set_free(as);
	delivery_free(dl);
	store_close(s);
	store_close(ps);
}

/* The daemon's check of its own log (anchor_check_log) finds a rewrite:
 * the alarm is raised (and logged) at the check, every interval, not at
 * every tick of the daemon in between (10 a second: a log line and an
 * alert written each time). */
static void
test_rewrite_alarm_paced(void)
{
	static struct agreement ag;
	uint8_t ask[ANCHOR_REC_MAX], ans[ANCHOR_REC_MAX];
	struct anchor_engine peer, me;
	struct anchor_set *as;
	struct alerter *al;
	struct delivery_io io;
	struct delivery *dl;
	struct store *s, *ps;
	size_t len, alen;
	int64_t open_n = 0;
	char hex[2 * sizeof channel + 1], alarm[8];

	agreement_make(&ag);
	hex_encode(hex, channel, sizeof channel);
	memset(&io, 0, sizeof io);
	CHECK_INT(store_open(&s, ":memory:"), 0);
	CHECK_INT(store_open(&ps, ":memory:"), 0);
	log_n(s, 3);
	anchor_init(&peer, ps, &kp[1], channel, kp[0].id.sign_pub, 60000,
	    1000, 1000);
	anchor_init(&me, s, &kp[0], channel, kp[1].id.sign_pub, 60000, 1000,
	    1000);
	CHECK_INT(anchor_tick(&me, 1000, 1000, ask, sizeof ask, &len), 0);
	CHECK_INT(anchor_on_record(&peer, ask, len, 1100, 1100, ans,
	    sizeof ans, &alen), 0);
	CHECK_INT(anchor_on_record(&me, ans, alen, 1200, 1200, ask,
	    sizeof ask, &len), 0);
	CHECK_INT(last(s), 3);
	/* entries 2 and 3 rewritten, as one holding the store file would */
	CHECK_INT(sqlite3_exec(s->db, "DROP TRIGGER audit_fixed; UPDATE audit"
	    " SET hash = randomblob(32) WHERE n >= 2", NULL, NULL, NULL),
	    SQLITE_OK);
	CHECK_INT(delivery_new(s, &kp[0], &io, &dl), 0);
	CHECK_INT(alert_new(s, NULL, 0, &al), 0);
	CHECK_INT(anchor_set_new(dl, &kp[0], &ag, 1, 0, 0, 130000, 130000,
	    &as), 0);
	anchor_set_alerter(as, al);
	CHECK_INT(sqlite3_trace_v2(s->db, SQLITE_TRACE_STMT, trace_stmt, NULL),
	    SQLITE_OK);
	alert_stmts = 0;
	anchor_set_tick(as, 130000, 130000);	/* the first check finds it */
	CHECK(alert_stmts > 0);
	CHECK_INT(alert_open(al, hex, &open_n, alarm, sizeof alarm), 0);
	CHECK_INT(open_n, 1);
	/* the daemon's ticks until the next check: nothing raised again */
	alert_stmts = 0;
	for (uint64_t t = 130100; t < 130000 + ANCHOR_INTERVAL_MS; t += 5000)
		anchor_set_tick(as, t, t);
	CHECK_INT(alert_stmts, 0);
	/* the next check finds it again: raised again (one alert, its key) */
	anchor_set_tick(as, 130000 + ANCHOR_INTERVAL_MS,
	    130000 + ANCHOR_INTERVAL_MS);
	CHECK(alert_stmts > 0);
	CHECK_INT(sqlite3_trace_v2(s->db, 0, NULL, NULL), SQLITE_OK);
	CHECK_INT(alert_open(al, hex, &open_n, alarm, sizeof alarm), 0);
	CHECK_INT(open_n, 1);
	anchor_set_free(as);
	alert_free(al);
	delivery_free(dl);
	store_close(s);
	store_close(ps);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	anchor_pair_setup();
	RUN(test_given_counted);
	RUN(test_rewrite_alarm_paced);
	keys_fini(&kp[0]);
	keys_fini(&kp[1]);
	keys_fini(&mallory);
	return harness_summary();
}
