/*
 * it_people_owed.c: what is owed between real parleyd processes on
 * loopback (docs/operators.md; the pair, roles and test uids of
 * people_pair.h, so it runs as root): a FLASH that reaches south only
 * after its 2 s deadline raises the alert on both sides; after a restart,
 * while north still reads the record for the owed counts (slowed by
 * debug_owed_slice_ms), status says so and the link carries a message,
 * and the counts come right once it is through. Both daemons are up, with
 * three messages sent, before the first test, and must stop cleanly at
 * the end. The rest of the people in the loop: it_people.c.
 *
 * Ports: 127.0.0.1, 16500-16999, a block of 4 from the pid. Kills only
 * its own children; removes its temporary directory; bounded by an alarm.
 */
#include "people_pair.h"

/* --- the program's start and end --------------------------------------- */

/* North's duty officer sends a ROUTINE text, received at south; false
 * when it is not. */
static bool
north_sends(const char *text)
{
	json_t *r = ok_as(DUTY, home_n, json_pack("{s:s, s:s, s:s}", "cmd",
	    "send", "text", text, "precedence", "routine"));
	char id[65] = "";
	bool ok = r != NULL && id_of(home_n, json_string_value(
	    json_object_get(r, "local_id")), id, 10000) &&
	    wait_field(home_s, id, "state", "received", 10000);

	json_decref(r);
	return ok;
}

/* What it_people's earlier tests left for these (they ran after them):
 * both daemons up and synced, and messages in north's record (three:
 * test_status_while_owed_read reads at least three seqs in slices).
 * False when that fails. */
static bool
start_both(void)
{
	pid_n = spawn(home_n, log_n);
	pid_s = spawn(home_s, log_s);
	return wait_up(home_n, 15000) && wait_up(home_s, 15000) &&
	    north_sends("routine one") && north_sends("routine two") &&
	    north_sends("routine three");
}

/* Both daemons stop cleanly on SIGTERM and no sanitizer spoke (under
 * make asan: leaks are reported at exit), as it_people's test_clean_exit
 * checks there; else the program fails. */
static void
stop_both_checked(void)
{
	pid_t *pids[2] = { &pid_n, &pid_s };
	const char *logs[2] = { log_n, log_s };

	for (int i = 0; i < 2; i++) {
		int st = -1;
		if (*pids[i] > 0) {
			kill_pid(*pids[i], SIGTERM);
			st = reap(*pids[i], 10000);
			if (st == -1)
				stop(pids[i]);
			*pids[i] = -1;
		}
		if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			printf("FAIL %s did not stop cleanly on SIGTERM\n",
			    i ? "south" : "north");
			harness_failed++;
		}
		if (file_has(logs[i], "Sanitizer", 0) ||
		    file_has(logs[i], "runtime error", 0)) {
			printf("FAIL %s holds a sanitizer's report\n",
			    logs[i]);
			harness_failed++;
		}
	}
}

/* A FLASH that reaches south only after its deadline (south was down):
 * south raises "we owe" when it arrives (the arrival scan), north when its
 * clock passes the due time. */
static void
test_past_due_on_arrival(void)
{
	char id[65] = "", needle[96], local[32] = "";
	json_t *r;

	stop(&pid_s);
	r = ok_as(DUTY, home_n, json_pack("{s:s, s:s, s:s}", "cmd", "send",
	    "text", "FLASH while south is down", "precedence", "flash"));
	CHECK(r != NULL);
	if (r)
		snprintf(local, sizeof local, "%s", json_string_value(
		    json_object_get(r, "local_id")));
	json_decref(r);
	usleep(3000000);		/* past the 2 s deadline */
	pid_s = spawn(home_s, log_s);
	CHECK(wait_up(home_s, 15000));
	CHECK(id_of(home_n, local, id, 15000));
	snprintf(needle, sizeof needle, "\"message\":\"%s\"", id);
	CHECK(wait_alert(home_n, needle, 10000));
	CHECK(wait_alert(home_s, needle, 10000));
	CHECK(wait_field(home_s, id, "ack_state", "overdue", 100));
}

/* North's channel in a status result: its "acks" and "messages". */
static json_t *
chan_of(json_t *st, const char *what)
{
	return json_object_get(json_array_get(json_object_get(st, "channels"),
	    0), what);
}

static long long
owed_count(json_t *acks, const char *which)
{
	return (long long)json_integer_value(json_object_get(json_object_get(
	    acks, which), "count"));
}

/* The status's acks of north, waiting until they are counted (not
 * "reading"); NULL after ms. */
static json_t *
wait_counted(int ms)
{
	uint64_t t0 = now_ms();

	do {
		json_t *st = ok_as(AUDITOR, home_n, json_pack("{s:s}", "cmd",
		    "status")), *a = chan_of(st, "acks");
		if (a && !json_object_get(a, "reading")) {
			json_incref(a);
			json_decref(st);
			return a;
		}
		json_decref(st);
		usleep(100000);
	} while (now_ms() - t0 < (uint64_t)ms);
	printf("  north's acks never counted\n");
	return NULL;
}

/* The number of slices in the last "acknowledgments owed read in" line
 * of north's log, -1 when there is none. */
static long
owed_read_slices(void)
{
	FILE *f = fopen(log_n, "r");
	char line[1024];
	const char *p;
	long n = -1;

	while (f && fgets(line, sizeof line, f) != NULL)
		if ((p = strstr(line, "acknowledgments owed read in")) &&
		    (p = strchr(p, '(')) != NULL)
			n = strtol(p + 1, NULL, 10);
	if (f)
		fclose(f);
	return n;
}

/*
 * A restart of north whose read of what is owed is slow (parleyd.conf
 * "debug_owed_slice_ms": one seq a slice, slices ms apart, about 25 s in
 * all, room for a slow ASan run): status answers at once and says it is reading (JSON and the
 * command line), the link syncs and a text from south is received
 * meanwhile; once through, the counts are those before the restart plus
 * that text, and the log has the read's time and its slices, a seq each.
 */
static void
test_status_while_owed_read(void)
{
	char conf[2048], out[16384], local[32] = "", id[65] = "";
	long long waiting, peer, n;
	json_t *st, *a, *r;
	bool reading = false, answered = false;
	uint64_t t0, ms;

	a = wait_counted(10000);
	st = ok_as(AUDITOR, home_n, json_pack("{s:s}", "cmd", "status"));
	waiting = owed_count(a, "waiting_for_us");
	peer = owed_count(a, "peer_overdue");
	n = (long long)json_integer_value(json_object_get(chan_of(st,
	    "messages"), "assigned")) + (long long)json_integer_value(
	    json_object_get(chan_of(st, "messages"), "received"));
	json_decref(a);
	json_decref(st);
	CHECK(n >= 3);			/* a first slice at once, then more */
	ms = n > 0 ? 25000 / (uint64_t)n : 0;
	ms = ms < 200 ? 200 : ms > 10000 ? 10000 : ms;
	stop(&pid_n);
	snprintf(conf, sizeof conf, "{\"handshake_timeout_ms\": 1000, "
	    "\"backoff_min_ms\": 50, \"backoff_max_ms\": 500, "
	    "\"debug_inject\": true, \"control_group\": %d, "
	    "\"alert_command\": [\"/bin/sh\", \"-c\", \"cat >> %s\"], "
	    "\"debug_owed_slice_ms\": %llu}\n", GROUP, alerts_n,
	    (unsigned long long)ms);
	CHECK_INT(write_file(home_n, "parleyd.conf", conf), 0);
	pid_n = spawn(home_n, log_n);
	/* the first status that answers */
	t0 = now_ms();
	do {
		r = call_as(0, home_n, json_pack("{s:s}", "cmd", "status"));
		st = json_object_get(r, "result");
		if ((a = chan_of(st, "acks")) != NULL) {
			answered = true;
			reading = json_is_true(json_object_get(a, "reading"));
			CHECK(json_integer_value(json_object_get(a, "read")) <
			    json_integer_value(json_object_get(a, "of")));
			CHECK(json_integer_value(json_object_get(a, "of")) >=
			    n);
			CHECK(json_object_get(a, "waiting_for_us") == NULL);
		}
		json_decref(r);
		if (!answered)
			usleep(50000);
	} while (!answered && now_ms() - t0 < 15000);
	CHECK(reading);
	CHECK_INT(parley(out, sizeof out, "status --home %s", home_n), 0);
	CHECK_CONTAINS(out, "acks: acknowledgments owed: reading the record "
	    "(");
	/* links and deliveries meanwhile */
	r = ok_as(DUTY, home_s, json_pack("{s:s, s:s, s:s}", "cmd", "send",
	    "text", "sent while north reads what is owed", "precedence",
	    "routine"));
	if (r)
		snprintf(local, sizeof local, "%s", json_string_value(
		    json_object_get(r, "local_id")));
	json_decref(r);
	CHECK(id_of(home_s, local, id, 10000));
	CHECK(wait_field(home_n, id, "state", "received", 10000));
	st = ok_as(AUDITOR, home_n, json_pack("{s:s}", "cmd", "status"));
	CHECK(json_is_true(json_object_get(chan_of(st, "acks"), "reading")));
	json_decref(st);
	/* through: as before, plus that text */
	a = wait_counted(60000);
	CHECK(a != NULL);
	CHECK_INT(owed_count(a, "waiting_for_us"), waiting + 1);
	CHECK_INT(owed_count(a, "peer_overdue"), peer);
	json_decref(a);
	CHECK_INT(parley(out, sizeof out, "status --home %s", home_n), 0);
	CHECK(strstr(out, "reading the record") == NULL);
	snprintf(conf, sizeof conf, "acks: %lld waiting for our "
	    "acknowledgment (", waiting + 1);
	CHECK_CONTAINS(out, conf);
	CHECK(owed_read_slices() > n);	/* the seqs and south's text */
}

int
main(void)
{
	if (!people_begin("it_people_owed", 16500, 17000))
		return 1;
	if (!start_both()) {
		printf("FAIL the daemons did not start, or their messages "
		    "did not go through\n");
		harness_failed++;
		stop_both_checked();
		return people_end();
	}
	RUN(test_past_due_on_arrival);
	RUN(test_status_while_owed_read);
	stop_both_checked();
	return people_end();
}
