/*
 * it_ctl_held.c: held sends and answers on the control socket of a real
 * parleyd (docs/control.md): a held send with a raw body, the largest
 * body, `parley send` of a file over the old line limit; answers waiting
 * behind a deferred one count toward the client's output cap; a daemon
 * that takes a send and does not answer is reported as an unknown
 * outcome, not as not running; an action whose audit entry cannot be
 * written is not taken.
 *
 * A node home with two channels (as it_ctl.c's test_expiry leaves it:
 * channels_ready), the daemon started before the first test; ports
 * 127.0.0.1, 10500-10999 (a free block of two, ports.h). Kills only its
 * own children; removes its temporary directory.
 */
#include "ctl_node.h"

/* The CPU time pid has used, in ms (/proc/PID/schedstat). */
static double
cpu_ms(pid_t p)
{
	char path[64];
	unsigned long long ns = 0;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/schedstat", (int)p);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	if (fscanf(f, "%llu", &ns) != 1)
		ns = 0;
	fclose(f);
	return (double)ns / 1e6;
}

/* A held send with a raw body holds the same text; a body of the
 * largest size, over the read-ahead and the line cap, is taken whole;
 * `parley send` sends a file over the old 64 KiB line limit. */
static void
test_raw_held_and_large(void)
{
	enum { BIG = CTL_BODY_MAX };
	char *big = malloc(BIG), err[256], q[32], cmd[3000], path[200];
	json_t *a, *m, *h, *e;
	size_t i;
	int fd;
	FILE *f;

	CHECK(big != NULL);
	if (big == NULL)
		return;
	CHECK((fd = connect_ctl()) >= 0);
	if (fd < 0) {
		free(big);
		return;
	}
	CHECK(put_raw(fd, "\"cmd\":\"send\",\"to\":\"isle\","
	    "\"for_principal\":true", text, sizeof text - 1) == 0);
	a = answer(fd);
	CHECK_INT(code_of(a, err, sizeof err), 0);
	CHECK_STR(json_string_value(json_object_get(json_object_get(a,
	    "result"), "state")), "awaiting-approval");
	snprintf(q, sizeof q, "%s", local_of(a));
	json_decref(a);
	h = call(home, json_pack("{s:s}", "cmd", "held"));
	m = NULL;
	json_array_foreach(json_object_get(json_object_get(h, "result"),
	    "held"), i, e)
		if (strcmp(json_string_value(json_object_get(e, "local_id")),
		    q) == 0)
			m = e;
	CHECK(m != NULL);
	if (m)
		CHECK_STR(json_string_value(json_object_get(m, "text")), text);
	json_decref(h);
	/* the largest body: more than the read-ahead and the line cap */
	for (i = 0; i < BIG; i++)
		big[i] = (char)('a' + i % 26);
	{
		char line[256];
		size_t n = raw_line(line, sizeof line,
		    "\"cmd\":\"send\",\"to\":\"isle\"", BIG);

		/* in 16 pieces, 100 ms apart: the daemon must keep reading
		 * past its line cap and read-ahead while the body comes,
		 * and wait for it without spinning (a daemon that spins
		 * takes most of the 1.6 s of CPU; this one a few ms) */
		double cpu0 = cpu_ms(pid);
		CHECK(put(fd, line, n) == 0);
		for (i = 0; i < 16; i++) {
			usleep(100000);
			CHECK(put(fd, big + i * (BIG / 16), BIG / 16) == 0);
		}
		CHECK(cpu_ms(pid) - cpu0 < 400);
	}
	a = answer(fd);
	CHECK_INT(code_of(a, err, sizeof err), 0);
	snprintf(q, sizeof q, "%s", local_of(a));
	json_decref(a);
	m = show(q);
	CHECK_INT(json_integer_value(json_object_get(m, "body_len")), BIG);
	CHECK(json_string_length(json_object_get(m, "body")) == BIG &&
	    memcmp(json_string_value(json_object_get(m, "body")), big, BIG) ==
	    0);
	json_decref(m);
	close(fd);
	/* parley send --file with 200 KiB */
	snprintf(path, sizeof path, "%s/big.txt", tmpdir);
	CHECK((f = fopen(path, "w")) != NULL);
	if (f) {
		fwrite(big, 1, 200000, f);
		fclose(f);
	}
	snprintf(cmd, sizeof cmd, "%s/parley send --home %s --to isle --file "
	    "%s", build, home, path);
	CHECK((f = popen(cmd, "r")) != NULL);
	if (f) {
		CHECK(fgets(q, sizeof q, f) != NULL);
		q[strcspn(q, "\n")] = '\0';
		CHECK_INT(WEXITSTATUS(pclose(f)), 0);
		m = show(q);
		CHECK_INT(json_integer_value(json_object_get(m, "body_len")),
		    200000);
		CHECK(json_string_length(json_object_get(m, "body")) ==
		    200000 && memcmp(json_string_value(json_object_get(m,
		    "body")), big, 200000) == 0);
		json_decref(m);
	}
	/* parley send TEXT: the text as given (no escaping shows) */
	snprintf(cmd, sizeof cmd, "%s/parley send --home %s --to isle "
	    "'say \"hi\" \\back'", build, home);
	CHECK((f = popen(cmd, "r")) != NULL);
	if (f) {
		CHECK(fgets(q, sizeof q, f) != NULL);
		q[strcspn(q, "\n")] = '\0';
		CHECK_INT(WEXITSTATUS(pclose(f)), 0);
		m = show(q);
		CHECK_STR(json_string_value(json_object_get(m, "body")),
		    "say \"hi\" \\back");
		json_decref(m);
	}
	free(big);
}

/* Runs sql on the running daemon's store from a connection of ours: 0
 * or the SQLite error code. */
static int
store_sql(const char *sql)
{
	char path[200];
	sqlite3 *db = NULL;
	int rc;

	snprintf(path, sizeof path, "%s/parley.db", home);
	if ((rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL)) ==
	    SQLITE_OK) {
		sqlite3_busy_timeout(db, 5000);
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	}
	sqlite3_close(db);
	return rc;
}

/* The number of held messages (all states), or -1. */
static long long
held_count(void)
{
	json_t *r = call(home, json_pack("{s:s, s:b}", "cmd", "held", "all",
	    1));
	long long n = r ? (long long)json_array_size(json_object_get(
	    json_object_get(r, "result"), "held")) : -1;

	json_decref(r);
	return n;
}

/*
 * A daemon that takes a send and does not answer (stopped here, as one
 * stalled on a slow disk) is not reported as not running: parley send
 * says the outcome is unknown (exit 1, not 3), and indeed the message is
 * stored once the daemon goes on. An operator told "not running" would
 * send it again.
 */
static void
test_no_answer_is_doubt(void)
{
	char cmd[1400], out[2048];
	long long before = stored();
	size_t n;
	FILE *p;
	int st;

	snprintf(cmd, sizeof cmd, "%s/parley send --home %s --to isle "
	    "'sent while stalled' 2>&1", build, home);
	CHECK_INT(kill_pid(pid, SIGSTOP), 0);
	CHECK((p = popen(cmd, "r")) != NULL);
	if (p != NULL) {
		n = fread(out, 1, sizeof out - 1, p);
		out[n] = '\0';
		st = pclose(p);
		CHECK_INT(WEXITSTATUS(st), 1);
		CHECK_CONTAINS(out, "may have been carried out");
	}
	CHECK_INT(kill_pid(pid, SIGCONT), 0);
	for (int i = 0; i < 100 && stored() == before; i++)
		usleep(50000);
	CHECK_INT(stored(), before + 1);
}

/*
 * An action whose audit entry cannot be written is not taken: with the
 * store refusing audit rows (a trigger of ours, as a full store would
 * refuse the row), a held send, an approval and a send are each refused
 * and store nothing; a send is told it was its audit entry (before, "text
 * refused" and exit 2), and one committed with it that the entry's
 * failure rolled back; a send whose own row the store refuses is told
 * so, alone. Once the audit log works again the approval goes through.
 */
static void
test_unaudited_refused(void)
{
	char line[256], err[256], h[32];
	long long msgs, held;
	json_t *a;
	int fd;

	CHECK((fd = connect_ctl()) >= 0);
	if (fd < 0)
		return;
	snprintf(line, sizeof line, "{" SEND_ISLE ",\"text\":\"for approval"
	    "\",\"for_principal\":true}\n");
	CHECK(put(fd, line, strlen(line)) == 0);
	a = answer(fd);
	CHECK_INT(code_of(a, err, sizeof err), 0);
	snprintf(h, sizeof h, "%s", local_of(a));
	json_decref(a);
	msgs = stored();
	held = held_count();
	CHECK_INT(store_sql("CREATE TRIGGER test_no_audit BEFORE INSERT ON "
	    "audit BEGIN SELECT RAISE(ABORT, 'no audit'); END;"), SQLITE_OK);
	CHECK(put(fd, line, strlen(line)) == 0);
	a = answer(fd);
	CHECK(code_of(a, err, sizeof err) < 0);
	CHECK_CONTAINS(err, "audit log");
	json_decref(a);
	snprintf(line, sizeof line, "{\"cmd\":\"approve\",\"id\":\"%s\"}\n",
	    h);
	CHECK(put(fd, line, strlen(line)) == 0);
	a = answer(fd);
	CHECK(code_of(a, err, sizeof err) < 0);
	CHECK_CONTAINS(err, "audit log");
	json_decref(a);
	/* a send is told what failed: its audit entry, not its text; two
	 * sends in one write share a group commit: the second is told the
	 * first's entry failed and rolled the group back */
	snprintf(line, sizeof line, "{" SEND_ISLE ",\"text\":\"plain\"}\n"
	    "{" SEND_ISLE ",\"text\":\"plain too\"}\n");
	CHECK(put(fd, line, strlen(line)) == 0);
	a = answer(fd);
	CHECK_INT(code_of(a, err, sizeof err), ERR_INVALID);
	CHECK_STR(err, "not stored: the audit log cannot record this send "
	    "(invalid value: no audit), and no send is stored without its "
	    "entry; the sends committed with it were rolled back too");
	json_decref(a);
	a = answer(fd);
	CHECK_INT(code_of(a, err, sizeof err), ERR_INVALID);
	CHECK_STR(err, "not stored: it was committed together with another "
	    "send whose audit entry could not be written (invalid value: no "
	    "audit), and that commit was rolled back whole; send it again");
	json_decref(a);
	{	/* parley send: exit 1 (failed), not 2 (bad usage) */
		char cmd[1400], got[1024];
		size_t n;
		FILE *p;

		snprintf(cmd, sizeof cmd, "%s/parley send --home %s --to isle "
		    "'plain' 2>&1", build, home);
		CHECK((p = popen(cmd, "r")) != NULL);
		if (p != NULL) {
			n = fread(got, 1, sizeof got - 1, p);
			got[n] = '\0';
			CHECK_INT(WEXITSTATUS(pclose(p)), 1);
			CHECK_CONTAINS(got, "the audit log cannot record this "
			    "send (invalid value: no audit)");
		}
	}
	CHECK_INT(stored(), msgs);
	CHECK_INT(held_count(), held);
	CHECK_INT(store_sql("DROP TRIGGER test_no_audit;"), SQLITE_OK);
	/* the store refusing one send's own row (a trigger again): that send
	 * is told the store refused it, not its text; the other send of its
	 * group is stored */
	CHECK_INT(store_sql("CREATE TRIGGER test_no_row BEFORE INSERT ON "
	    "message WHEN NEW.body = CAST('refuse this' AS BLOB) BEGIN "
	    "SELECT RAISE(ABORT, 'no row'); END;"), SQLITE_OK);
	snprintf(line, sizeof line, "{" SEND_ISLE ",\"text\":\"refuse this"
	    "\"}\n{" SEND_ISLE ",\"text\":\"take this\"}\n");
	CHECK(put(fd, line, strlen(line)) == 0);
	a = answer(fd);
	CHECK_INT(code_of(a, err, sizeof err), ERR_INVALID);
	CHECK_STR(err, "not stored: the store refused it (invalid value: no "
	    "row)");
	json_decref(a);
	a = answer(fd);
	CHECK_INT(code_of(a, err, sizeof err), 0);
	json_decref(a);
	CHECK_INT(stored(), msgs + 1);
	CHECK_INT(store_sql("DROP TRIGGER test_no_row;"), SQLITE_OK);
	snprintf(line, sizeof line, "{\"cmd\":\"approve\",\"id\":\"%s\"}\n",
	    h);
	CHECK(put(fd, line, strlen(line)) == 0);
	a = answer(fd);
	CHECK_INT(code_of(a, err, sizeof err), 0);
	json_decref(a);
	CHECK_INT(stored(), msgs + 2);
	close(fd);
	stop(&pid);
}

/* The daemon's peak resident memory in KiB (VmHWM), or -1. */
static long
peak_kib(pid_t p)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/status", (int)p);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmHWM: %ld", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/*
 * Answers that wait behind a deferred one (a send with "wait": its
 * receipt never comes, isle is down) count toward the client's output
 * cap: a client that asks for 256 shows of a 1 MiB message behind it is
 * read only until about CTL_RESPONSE_MAX of answers wait, not all 256
 * (a quarter of a GiB held for a client that may never get them).
 */
static void
test_held_answers_capped(void)
{
	enum { BIG = CTL_BODY_MAX, NSHOW = 256 };
	char *big = malloc(BIG), *reqs = NULL, err[256], q[32];
	size_t n = 0, cap = NSHOW * 64;
	json_t *a;
	long before, after;
	int fd, fd2;

	CHECK(big != NULL && (reqs = malloc(cap)) != NULL);
	CHECK((fd = connect_ctl()) >= 0);
	if (big == NULL || reqs == NULL || fd < 0) {
		free(big);
		free(reqs);
		return;
	}
	memset(big, 'b', BIG);
	CHECK(put_raw(fd, SEND_ISLE, big, BIG) == 0);
	a = answer(fd);
	CHECK_INT(code_of(a, err, sizeof err), 0);
	snprintf(q, sizeof q, "%s", local_of(a));
	json_decref(a);
	before = peak_kib(pid);
	n = (size_t)snprintf(reqs, cap, "{\"cmd\":\"send\",\"to\":\"isle\","
	    "\"text\":\"waits for ever\",\"wait\":true}\n");
	for (int i = 0; i < NSHOW; i++)
		n += (size_t)snprintf(reqs + n, cap - n, "{\"cmd\":\"show\","
		    "\"id\":\"%s\"}\n", q);
	CHECK(put(fd, reqs, n) == 0);
	/* another client's answer comes once the loop is past them */
	CHECK((fd2 = connect_ctl()) >= 0);
	if (fd2 >= 0) {
		CHECK_INT(ask(fd2, "{\"cmd\":\"whoami\"}\n", err, sizeof err),
		    0);
		close(fd2);
	}
	usleep(200000);
	after = peak_kib(pid);
	printf("  peak memory %ld KiB before, %ld KiB after\n", before, after);
	CHECK(before > 0 && after > 0);
	CHECK(after - before < 64 * 1024);
	close(fd);
	/* behind a send answered at its commit, the held answers are all
	 * given once it is, and the client is read again for the rest */
	CHECK((fd = connect_ctl()) >= 0);
	if (fd >= 0) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		long lines = 0;
		ssize_t k;

		n = (size_t)snprintf(reqs, cap, "{\"cmd\":\"send\",\"to\":"
		    "\"isle\",\"text\":\"answered at its commit\"}\n");
		for (int i = 0; i < 20; i++)
			n += (size_t)snprintf(reqs + n, cap - n, "{\"cmd\":"
			    "\"show\",\"id\":\"%s\"}\n", q);
		CHECK(put(fd, reqs, n) == 0);
		while (lines < 21 && poll(&pfd, 1, 10000) > 0 &&
		    (k = read(fd, big, BIG)) > 0)
			for (ssize_t i = 0; i < k; i++)
				lines += big[i] == '\n';
		CHECK_INT(lines, 21);
		close(fd);
	}
	free(reqs);
	free(big);
}

int
main(void)
{
	if (!ctl_node_begin() || !channels_ready(10500, 11000, true))
		return 1;
	RUN(test_raw_held_and_large);
	RUN(test_held_answers_capped);
	RUN(test_no_answer_is_doubt);
	RUN(test_unaudited_refused);
	return ctl_node_end();
}
