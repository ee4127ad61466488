/*
 * it_early_send.c: early sends, crashes and fences between real parleyd
 * processes on loopback (a north and south pair set up as
 * it_messages.c's): a send whose commit fails after it went early is
 * kept and stored at its seq (at once, or later: "outcome unknown"), and
 * reaches south once even when the records it first went in are stuck in
 * a stopped relay; north killed right after an early send
 * (debug_kill_after_early_send) whose records sit in a stopped relay
 * starts a new run that ends south's old session and north's fence, so
 * the next message takes the next seq and the chains do not fork; when
 * those records are lost instead, the fence runs its time, the sessions
 * start again, and the next message takes the seq; a sent-ahead note
 * that cannot be opened fences the channel until south is back; a peer's
 * SYNC claiming our chain far past our store is shown by `parley status`
 * and takes nothing into the chain.
 *
 * Ports: 127.0.0.1, 18700-18999, a free block of 14 (ports.h). Kills
 * only its own children; removes its temporary directory; bounded by an
 * alarm.
 */
#include "msg_pair.h"
#include "chain_check.h"

/* Lines of the file at path holding needle. */
static int
lines_in(const char *path, const char *needle)
{
	char cmd[2048], out[32] = "";
	FILE *p;

	snprintf(cmd, sizeof cmd, "grep -c '%s' %s", needle, path);
	if ((p = popen(cmd, "r")) == NULL)
		return -1;
	if (fgets(out, sizeof out, p) == NULL)
		out[0] = 0;
	pclose(p);
	return atoi(out);
}

/*
 * North's next `writes` commits fail (store-fail), then it sends
 * "LABEL, try N" at prec (the text in text): 1 sent, 0 refused (err
 * says why). It waits first for north's tick to store the last receipt,
 * whose commit would take the failure instead.
 */
static int
send_failing(int writes, const char *label, int try, const char *prec,
    char *text, size_t tcap, char *err, size_t ecap)
{
	json_t *r;

	usleep(300000);
	r = call(home_n, json_pack("{s:s, s:i}", "cmd", "store-fail",
	    "writes", writes));
	CHECK(r != NULL && json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	snprintf(text, tcap, "%s, try %d", label, try);
	return send_text(home_n, text, prec, err, ecap);
}

/*
 * North's disk fails at the commit of a send that already went to south
 * (store-fail, a test request: the next n commits' WAL writes fail).
 * With one failing write, the message sent early is stored again at once
 * at its seq: the operator gets an ordinary answer and the message is in
 * both stores once. With two, it cannot be (the commit and the try at
 * once both fail): the operator is told the outcome is
 * unknown (ERR_DOUBT) rather than that the send failed, the audit log says
 * so, and north keeps the message and stores it at its seq at a later
 * try: once the daemons settle it is in both stores, once, and the next
 * send goes on after it. The failure is armed for the next commit, which
 * may be another one (our copy of south's last receipt, stored at north's
 * next tick): then it is armed again, with another text, at most 5 times.
 */
static void
test_store_fails_after_send(void)
{
	static const char again[] = "sent before a failed commit, are in the "
	    "store at their seqs";
	char err[512] = "", text[64] = "";
	int sent = 0, before = 0, in_s, in_n;
	bool hit = false;

	CHECK(wait_settled(30000));
	/* one failing write: stored again at once */
	for (int i = 0; i < 5 && !hit; i++) {
		before = lines_in(log_n, again);
		sent = send_failing(1, "stored again", i + 1, "flash", text,
		    sizeof text, err, sizeof err);
		hit = lines_in(log_n, again) > before;
		if (!hit)
			printf("  the failure hit another commit: again\n");
	}
	CHECK(hit);
	CHECK_INT(sent, 1);
	CHECK(wait_settled(60000));
	CHECK_INT(count_in("inbox", home_s, text), 1);
	CHECK_INT(count_in("log", home_n, text), 1);
	/* two: outcome unknown, held, stored later */
	sent = 1;
	for (int i = 0; i < 5 && sent == 1; i++) {
		before = lines_in(log_n, again);
		sent = send_failing(2, "sent in doubt", i + 1, "flash", text,
		    sizeof text, err, sizeof err);
		if (sent == 1)
			printf("  the failures hit other commits: again\n");
		else if (i > 0)
			printf("  armed %d times\n", i + 1);
	}
	CHECK_INT(sent, 0);
	printf("  the sender was told: %s\n", err);
	CHECK(strstr(err, "outcome unknown") != NULL);
	CHECK(strstr(err, "it is kept and stored at its place") != NULL);
	CHECK_INT(count_in("audit", home_n, "outcome unknown"), 1);
	for (int i = 0; i < 100 && lines_in(log_n, again) == before; i++)
		usleep(100000);		/* the held message stored */
	CHECK_INT(lines_in(log_n, again), before + 1);
	CHECK_INT(send_text(home_n, "after the doubt", "routine", NULL, 0), 1);
	CHECK(wait_settled(60000));
	CHECK(log_cmd_shows(home_s, "after the doubt", 10000));
	in_s = count_in("inbox", home_s, text);
	in_n = count_in("log", home_n, text);
	printf("  '%s': %d at south, %d in north's chain\n", text, in_s,
	    in_n);
	CHECK_INT(in_s, 1);
	CHECK_INT(in_n, 1);
}

/*
 * The fork a failed commit after an early send could cause, between real
 * daemons (docs/delivery.md, "Early send"). Path 0, the active one, goes
 * through tools/throttle, stopped (SIGSTOP: its connections stay open,
 * nothing passes), path 1 is direct; north dials both. North's disk
 * fails at the commit of a ROUTINE message already sent early on path 0
 * and at the try at once after it: the operator is told the outcome is
 * unknown, north ends its sessions and keeps the message, stored at its
 * seq at the next try. Path 1 comes back first; south's old path-0
 * session dies of silence (the agreement's 1 s heartbeat), so the SYNC
 * settles on path 1 while the first records are still in the stopped
 * relay. The message then reaches south over path 1, once, and the next
 * one follows it; no chain-forked alert on either side, and south got
 * it although the records it was first sent in never arrived. (Before
 * the held copy, its seq went to the next message and it was in
 * neither store.)
 */
static void
test_doubt_late_on_slow_path(void)
{
	char err[512] = "", text[64] = "";
	const char *after = "after the doubt on a slow path";
	int sent = 1, forks_s = alerts_of("chain-forked"), forks_n;
	uint64_t t0;

	forks_n = count_in("alerts --json", home_n, "chain-forked");
	relayed_pair("\"debug_inject\": true, ");

	kill_pid(pid_relay, SIGSTOP);
	for (int i = 0; i < 5 && sent == 1; i++) {
		sent = send_failing(2, "in doubt on a slow path", i + 1,
		    "routine", text, sizeof text, err, sizeof err);
		if (sent == 1)
			printf("  the failures hit other commits: again\n");
	}
	CHECK_INT(sent, 0);
	CHECK(strstr(err, "outcome unknown") != NULL);
	CHECK_INT(send_text(home_n, after, "routine", NULL, 0), 1);
	/* over path 1, while the relay still holds the first records */
	t0 = now_ms();
	while (inbox_count(home_s, after, 50) == 0 && now_ms() - t0 < 30000)
		usleep(100000);
	CHECK_INT(inbox_count(home_s, after, 50), 1);
	CHECK_INT(inbox_count(home_s, text, 50), 1);
	printf("  '%s' and the next at south over path 1 %llu ms after the "
	    "send\n", text, (unsigned long long)(now_ms() - t0));
	kill_pid(pid_relay, SIGCONT);
	CHECK(wait_settled(60000));
	CHECK_INT(inbox_count(home_s, text, 50), 1);
	CHECK_INT(inbox_count(home_s, after, 50), 1);
	CHECK_INT(count_in("log", home_n, text), 1);
	CHECK_INT(alerts_of("chain-forked"), forks_s);
	CHECK_INT(count_in("alerts --json", home_n, "chain-forked"), forks_n);
	relayed_pair_end();
}

/* The seq of the message whose first line is text among south's newest
 * 50 in its inbox: -1 when none, -2 when several. */
static long long
inbox_seq(const char *text)
{
	json_t *r = call(home_s, json_pack("{s:s, s:i}", "cmd", "inbox",
	    "max", 50)), *m;
	long long seq = -1;
	size_t i;

	json_array_foreach(json_object_get(json_object_get(r, "result"),
	    "messages"), i, m)
		if (json_string_value(json_object_get(m, "first_line")) &&
		    strcmp(json_string_value(json_object_get(m, "first_line")),
		    text) == 0)
			seq = seq == -1 ? json_integer_value(json_object_get(m,
			    "seq")) : -2;
	json_decref(r);
	return seq;
}

/* North's fence (status messages.fence): its seq, 0 when none, -1 when
 * north does not answer. */
static long long
north_fence(void)
{
	json_t *m = msgs(home_n), *f;
	long long seq;

	if (m == NULL)
		return -1;
	f = json_object_get(m, "fence");
	seq = f == NULL ? 0 : json_integer_value(json_object_get(f, "seq"));
	json_decref(m);
	return seq;
}

/* The heartbeat of the crash tests (both daemons): a silent session is
 * closed after 6 s, the fence lasts 9. */
static const char crash_hb[] = "\"heartbeat_ms\": 3000, ";

/*
 * The crash of the two tests below. Both paths through relays, north with
 * debug_kill_after_early_send 1; path 0's relay killed (path 1 active at
 * both sides, synced); south sends "PREFIX s2n 0" and it settles (north's
 * receipt of it is the last south hears on path 1: its 6 s of silence
 * count from there); path 1's relay stopped (SIGSTOP: its connections
 * stay open, nothing passes); north sends first and kills itself right
 * after its early send, unanswered, its records in the stopped relay.
 * Returns the seq first took (n: north's store ends at n - 1); *t_stop:
 * when the relay stopped.
 */
static long long
north_killed_sending(const char *prefix, const char *first,
    uint64_t *t_stop)
{
	char kn[256], text[64];
	long long n;
	uint64_t t0;
	int st;

	snprintf(kn, sizeof kn, "%s\"debug_kill_after_early_send\": 1, ",
	    crash_hb);
	relayed_pairs(kn, crash_hb, true);
	relay_stop(&pid_relay);		/* path 0 down at both sides */
	t0 = now_ms();
	while ((msg_field(home_n, "active_path") != 1 ||
	    msg_field(home_s, "active_path") != 1) && now_ms() - t0 < 15000)
		usleep(50000);
	CHECK_INT(msg_field(home_n, "active_path"), 1);
	CHECK_INT(msg_field(home_s, "active_path"), 1);
	CHECK(wait_synced(15000));
	snprintf(text, sizeof text, "%s s2n 0", prefix);
	CHECK_INT(send_text(home_s, text, "routine", NULL, 0), 1);
	CHECK(wait_settled(15000));
	n = msg_field(home_n, "assigned") + 1;
	CHECK(pid_relay1 > 0);
	kill_pid(pid_relay1, SIGSTOP);
	*t_stop = now_ms();
	CHECK_INT(send_text(home_n, first, "routine", NULL, 0), -1);
	st = reap(pid_n, 10000);
	CHECK(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	if (st == -1)
		kill9(&pid_n);		/* it did not kill itself */
	pid_n = -1;
	return n;
}

/* North restarted without the knob and path 0's relay back (path 0 is up
 * at both sides, the lowest: south's active path). Returns when north
 * was started. */
static uint64_t
north_restarted(void)
{
	char cn[512];
	uint64_t t_start;

	relayed_conf(cn, sizeof cn, crash_hb, port_base + 10,
	    port_base + 11);
	CHECK(write_conf(home_n, cn) == 0);
	pid_relay = relay_start(port_base + 2, port_base + 12);
	t_start = now_ms();
	CHECK(start(&pid_n, home_n, log_n));
	return t_start;
}

/*
 * The end of a crash test, once settled: the message north was killed
 * sending (never answered) is in neither store, nor in north's log; the
 * next one is south's seq n; no chain-forked alert at either side since
 * the counts forks_s and forks_n, nothing refused at south since refused.
 */
static void
crash_settled(const char *first, const char *next, long long n, int forks_s,
    int forks_n, long long refused)
{
	CHECK(wait_settled(30000));
	CHECK_INT(inbox_seq(first), -1);
	CHECK_INT(inbox_seq(next), n);
	CHECK_INT(count_in("log", home_n, first), 0);
	CHECK_INT(alerts_of("chain-forked"), forks_s);
	CHECK_INT(count_in("alerts --json", home_n, "chain-forked"), forks_n);
	CHECK_INT(msg_field(home_s, "refused"), refused);
}

/*
 * A crash between an early send and its commit (docs/delivery.md "After
 * a crash"), between real daemons (north_killed_sending): the records,
 * seq N of north's chain, sit in the stopped relay of path 1, and north's
 * store ends at N-1. North restarts without the knob and path 0's relay
 * comes back. North's RUN, first on its new path-0 session, tells south
 * that north started again: south ends its path-1 session of the last run
 * there and then, so the records in the relay can never reach it, and its
 * SYNC, which names north's new run, ends north's fence at once, not
 * after its 9 s. A message sent after the restart takes seq N; when the
 * relay goes on, the old records go nowhere. Both stores then hold the
 * same chains, each message once (chain_check); nothing refused, no
 * chain-forked alert at either side; the message north was killed
 * sending (never answered) is in neither store. Before the runs the
 * fence held the next message until south had the old records and north
 * took them back (2.2 s here); without any fence the old records met a
 * new seq N at south: refused, and a chain-forked alert against north.
 */
static void
test_crash_after_early_send(void)
{
	static const uint8_t acked_n[2] = { 0, 1 }, acked_s[1] = { 1 };
	struct chain_want want[2] = {
		{ "crash n2s", acked_n, NULL, 2, 0 },
		{ "crash s2n", acked_s, NULL, 1, 1 },
	};
	const char *first = "crash n2s 0", *next = "crash n2s 1";
	int forks_s = alerts_of("chain-forked"), forks_n, heard, timed, again;
	long long n, refused;
	uint64_t t_stop, t_start, t_end = 0;

	forks_n = count_in("alerts --json", home_n, "chain-forked");
	heard = lines_in(log_n, "has heard this run");
	timed = lines_in(log_n, "no record of the last run can reach");
	again = lines_in(log_s, "north started again");
	n = north_killed_sending("crash", first, &t_stop);
	refused = msg_field(home_s, "refused");
	CHECK_INT(path_up(home_s, NULL, 1), 1);	/* the last run's session */

	/* restarted without the knob; path 0 comes back */
	t_start = north_restarted();
	while (t_end == 0 && now_ms() - t_start < 20000) {
		if (north_fence() == 0)
			t_end = now_ms();
		usleep(20000);
	}
	CHECK(t_end != 0);
	CHECK_INT(lines_in(log_s, "north started again"), again + 1);
	CHECK_INT(lines_in(log_n, "has heard this run"), heard + 1);
	CHECK_INT(lines_in(log_n, "no record of the last run can reach"),
	    timed);
	CHECK_INT(path_up(home_s, NULL, 1), 0);	/* ended by south */
	CHECK_INT(msg_field(home_n, "assigned"), n - 1);
	CHECK_INT(send_text(home_n, next, "routine", NULL, 0), 1);
	CHECK(wait_settled(30000));
	CHECK_INT(inbox_seq(next), n);
	/* the relay goes on: the old records have nowhere to go */
	if (pid_relay1 > 0)
		kill_pid(pid_relay1, SIGCONT);
	usleep(1000000);
	crash_settled(first, next, n, forks_s, forks_n, refused);
	CHECK_INT(msg_field(home_n, "assigned"), n);
	printf("  seq %lld sent early, then north killed; north's fence ended "
	    "%lld ms after its restart (south heard its run); '%s' seq %lld; "
	    "the old records never reached south; south refused %lld\n", n,
	    (long long)(t_end - t_start), next, inbox_seq(next),
	    msg_field(home_s, "refused") - refused);

	/* both chains whole and the same at both sides */
	relay_stop(&pid_relay);
	relay_stop(&pid_relay1);
	stop_pair(conf, conf);
	want[0].min = (size_t)n;
	chain_check(home_n, home_s, ag.id, want);
	CHECK(start(&pid_s, home_s, log_s));
	CHECK(start(&pid_n, home_n, log_n));
	CHECK(wait_synced(15000));
}

/*
 * The same crash, but the records of the last run are lost (path 1's
 * relay killed with them) and south is out of reach when north comes
 * back (its path-0 relay comes back only after the fence's time): the
 * fence runs its whole time (3 heartbeat intervals: 9 s here) with no
 * session up, ends, and once path 0 is back the queued message takes
 * seq n. Nothing forks, nothing is refused; the message north was killed
 * sending (never answered) is in neither store.
 */
static void
test_crash_records_lost(void)
{
	const char *first = "lost n2s 0", *next = "lost n2s 1";
	int forks_s = alerts_of("chain-forked"), forks_n, ended;
	long long n, refused;
	uint64_t t_stop, t_start, t_end = 0, t_in = 0;
	char cn[512];

	forks_n = count_in("alerts --json", home_n, "chain-forked");
	ended = lines_in(log_n, "no record of the last run can reach");
	n = north_killed_sending("lost", first, &t_stop);
	refused = msg_field(home_s, "refused");
	/* killed while stopped: it never runs again, the records die with
	 * it (relay_stop lets it run first) */
	kill_pid(pid_relay1, SIGKILL);
	reap(pid_relay1, 2000);
	pid_relay1 = -1;
	/* north back, path 0's relay not yet: no session */
	relayed_conf(cn, sizeof cn, crash_hb, port_base + 10,
	    port_base + 11);
	CHECK(write_conf(home_n, cn) == 0);
	t_start = now_ms();
	CHECK(start(&pid_n, home_n, log_n));
	CHECK_INT(north_fence(), n);
	CHECK_INT(send_text(home_n, next, "routine", NULL, 0), 1);
	while (t_end == 0 && now_ms() - t_start < 30000) {
		if (north_fence() == 0)
			t_end = now_ms();
		usleep(20000);
	}
	CHECK(t_end != 0);
	CHECK_INT(lines_in(log_n, "no record of the last run can reach"),
	    ended + 1);
	CHECK_INT(msg_field(home_n, "assigned"), n - 1);
	pid_relay = relay_start(port_base + 2, port_base + 12);
	while (t_in == 0 && now_ms() - t_start < 60000) {
		if (inbox_seq(next) != -1)
			t_in = now_ms();
		usleep(20000);
	}
	CHECK(t_in != 0);
	crash_settled(first, next, n, forks_s, forks_n, refused);
	printf("  records of seq %lld lost with the relay, south out of reach: "
	    "north's fence ended %lld ms after its restart (time out); '%s' "
	    "at south as seq %lld %lld ms after the path came back\n", n,
	    (long long)(t_end - t_start), next, inbox_seq(next),
	    (long long)(t_in - t_end));
	relay_stop(&pid_relay);
	stop_pair(conf, conf);
	CHECK(start(&pid_s, home_s, log_s));
	CHECK(start(&pid_n, home_n, log_n));
	CHECK(wait_synced(15000));
}

/*
 * A sent-ahead note that cannot be opened (a directory in its place):
 * north logs it, turns the early send off and fences its channel, as
 * after a crash whose note is lost (status FENCED at an unknown seq,
 * JSON seq null), while south is away. Once south is back and has heard
 * north's run, the fence ends, and a message sent meanwhile goes at the
 * next seq.
 */
static void
test_note_unreadable(void)
{
	const char *text = "note unreadable";
	char path[sizeof home_n + 32], out[8192];
	json_t *m, *f;
	long long n;

	stop_pair(conf, conf);
	snprintf(path, sizeof path, "%s/%s", home_n, STORE_AHEAD_FILE);
	unlink(path);
	CHECK_INT(mkdir(path, 0700), 0);
	CHECK(start(&pid_n, home_n, log_n));	/* south away */
	CHECK_INT(parley(out, sizeof out, "status --home %s", home_n), 0);
	CHECK_CONTAINS(out, "FENCED: the last run may have sent our messages "
	    "up to an unknown seq (the note is damaged or unreadable)");
	m = msgs(home_n);
	f = m != NULL ? json_object_get(m, "fence") : NULL;
	CHECK(f != NULL && json_is_null(json_object_get(f, "seq")));
	json_decref(m);
	CHECK(wait_log(log_n, "cannot open", "messages leave only after their "
	    "commit", 5000));
	n = msg_field(home_n, "assigned") + 1;
	CHECK_INT(send_text(home_n, text, "routine", NULL, 0), 1);
	usleep(300000);
	CHECK_INT(msg_field(home_n, "queued"), 1);
	CHECK(start(&pid_s, home_s, log_s));
	CHECK(wait_settled(30000));
	CHECK_INT(north_fence(), 0);
	/* south heard this run (or, on a slow machine, the fence's 3 s
	 * ran out first) */
	CHECK(log_has(log_n, "has heard this run", NULL) ||
	    log_has(log_n, "no record of the last run can reach", NULL));
	CHECK_INT(inbox_seq(text), n);
	CHECK_INT(rmdir(path), 0);
	restart_pair(conf, conf);
	CHECK(wait_synced(15000));
}

/*
 * A peer whose signed receipt claims our chain far past our store (here a
 * SYNC "from north" whose receipt says it holds south's chain up to seq
 * 1,000,000, handed to south while the real north is stopped, SIGSTOP):
 * south takes nothing new into its chain (that would fork it) and
 * `parley status` says why, with both seqs, instead of messages that just
 * stay queued. When the real north comes back, its SYNC says what it
 * holds (no more than south's store): south stops taking its chain back
 * and the held message goes.
 */
static void
test_false_claim_shown(void)
{
	struct chain_receipt rc;
	uint8_t rec[CHAIN_RECEIPT_MAX + 64];
	char out[8192] = "";
	json_t *m, *r;
	uint64_t t0;
	size_t n = 0;
	bool shown = false;

	CHECK(wait_settled(30000));
	memset(&rc, 0, sizeof rc);
	memcpy(rc.channel, ag.id, 32);
	rc.receiver = 0;		/* north's receipt of south's chain */
	rc.seq = 1000000;
	rc.time_ms = now_ms();
	CHECK_INT(chain_receipt_sign(&rc, &k_n), 0);
	CHECK_INT(delivery_sync_encode(&rc, false, 0, rec, sizeof rec, &n), 0);
	kill_pid(pid_n, SIGSTOP);
	CHECK(inject_north_run());
	CHECK(inject(DELIVERY_REC_SYNC, rec, n));
	CHECK(wait_log(log_s, "north holds our chain up to seq 1000000",
	    "asking for ours back", 5000));
	t0 = now_ms();
	while (!shown && now_ms() - t0 < 10000) {
		CHECK_INT(parley(out, sizeof out, "status --home %s", home_s),
		    0);
		shown = strstr(out, "RECOVERING our chain: north holds it up "
		    "to seq 1000000, this store up to ") != NULL;
		if (!shown)
			usleep(100000);
	}
	CHECK(shown);
	m = msgs(home_s);
	r = m ? json_object_get(m, "recovering") : NULL;
	CHECK(r != NULL && json_integer_value(json_object_get(r,
	    "peer_holds")) == 1000000);
	json_decref(m);
	/* nothing new gets a seq meanwhile */
	CHECK_INT(send_text(home_s, "held back by the claim", "routine",
	    NULL, 0), 1);
	usleep(500000);
	CHECK_INT(msg_field(home_s, "queued"), 1);
	/* the real north's word ends it; the held message goes */
	kill_pid(pid_n, SIGCONT);
	CHECK(wait_log(log_s, "north now holds our chain up to seq",
	    "no longer taking it back", 15000));
	CHECK(wait_settled(15000));
	m = msgs(home_s);
	CHECK(m != NULL && json_object_get(m, "recovering") == NULL);
	json_decref(m);
	CHECK_INT(parley(out, sizeof out, "status --home %s", home_s), 0);
	CHECK(strstr(out, "RECOVERING") == NULL);
}

int
main(void)
{
	if (!msg_pair_begin("it_early_send", 18700, 19000, true))
		return 1;
	RUN(test_store_fails_after_send);
	RUN(test_doubt_late_on_slow_path);
	RUN(test_crash_after_early_send);
	RUN(test_crash_records_lost);
	RUN(test_note_unreadable);
	RUN(test_false_claim_shown);
	return msg_pair_end();
}
