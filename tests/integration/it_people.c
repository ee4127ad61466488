/*
 * it_people.c: people in the loop between real parleyd processes on
 * loopback (docs/operators.md). Runs as root: each operator is a child
 * that drops to a test uid (60001 duty officer, 60002 auditor, 60003
 * principal, 60004 communications officer; 60099 nobody) and the control
 * group 60100 before it calls the daemon, so the kernel's SO_PEERCRED says
 * who it is (people_pair.h).
 *
 * Checks: every command x every role through the socket (a refusal is
 * ERR_DENIED and names the missing role; an allowed command gets past the
 * check to its own argument errors); control_group makes the socket 0660
 * and the home 0710; a bad roles.json stops parleyd from starting and a
 * bad one on SIGHUP keeps the old roles; the approval gate holds a
 * --for-principal message until a principal approves it; an ACK travels
 * back and turns the message acknowledged on both sides with the
 * operator's name; a FLASH deadline shortened to 2 s in the agreement
 * passes and raises the alert on both sides, runs alert_command on both
 * (it appends its stdin to a file), shows in status, and the late ACK is
 * marked late on both sides; an alert is cleared by a named duty officer,
 * not by an auditor; the audit log names every actor and verifies. What
 * is owed after an arrival past due and across a restart:
 * it_people_owed.c.
 *
 * Ports: 127.0.0.1, 16000-16499, a block of 4 from the pid. Kills only
 * its own children; removes its temporary directory; bounded by an alarm.
 */
#include "people_pair.h"

/* The error code of a request (0 when it succeeded), error text in err. */
static int
code_as(uid_t uid, const char *home, json_t *req, char *err, size_t cap)
{
	json_t *r = call_as(uid, home, req);
	int code = -999;

	if (err)
		snprintf(err, cap, "%s", r && json_string_value(json_object_get(
		    r, "error")) ? json_string_value(json_object_get(r,
		    "error")) : "");
	if (r)
		code = json_is_true(json_object_get(r, "ok")) ? 0 :
		    (int)json_integer_value(json_object_get(r, "code"));
	json_decref(r);
	return code;
}

/* Waits until show's boolean field is true (our copy of a receipt is
 * stored with the next commit or tick, up to 100 ms after it came). */
static bool
wait_true(const char *home, const char *id, const char *field, int ms)
{
	uint64_t t0 = now_ms();

	do {
		json_t *m = show(home, id);
		bool ok = m && json_is_true(json_object_get(m, field));
		json_decref(m);
		if (ok)
			return true;
		usleep(20000);
	} while (now_ms() - t0 < (uint64_t)ms);
	printf("  %s: %s never became true\n", home, field);
	return false;
}

static bool
inbox_has(const char *home, const char *needle)
{
	json_t *r = ok_as(AUDITOR, home, json_pack("{s:s}", "cmd", "log"));
	char *s = r ? json_dumps(r, JSON_COMPACT) : NULL;
	bool has = s && strstr(s, needle);

	free(s);
	json_decref(r);
	return has;
}

/* --- tests ------------------------------------------------------------------ */

static void
test_start_and_socket_modes(void)
{
	char sock[1300], bad[1300], blog[1300];
	struct stat st;
	struct keys kb;
	int status;
	pid_t pid;

	/* A malformed roles file: parleyd refuses to start. */
	snprintf(bad, sizeof bad, "%s/badhome", tmpdir);
	snprintf(blog, sizeof blog, "%s/bad.log", tmpdir);
	CHECK_INT(keys_create(bad, "north"), 0);
	CHECK_INT(write_file(bad, "roles.json", "{\"version\": 1, "
	    "\"operators\": [{\"uid\": 1, \"roles\": [\"admiral\"]}]}"), 0);
	pid = spawn(bad, blog);
	status = reap(pid, 10000);
	CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) != 0);
	if (status == -1) {
		kill_pid(pid, SIGKILL);
		reap(pid, 2000);
	}
	CHECK(file_has(blog, "roles.json", 100));
	memset(&kb, 0, sizeof kb);

	pid_n = spawn(home_n, log_n);
	pid_s = spawn(home_s, log_s);
	CHECK(wait_up(home_n, 15000));
	CHECK(wait_up(home_s, 15000));
	snprintf(sock, sizeof sock, "%s/%s", home_n, CTL_SOCKET_NAME);
	CHECK_INT(stat(sock, &st), 0);
	CHECK_INT(st.st_mode & 0777, 0660);
	CHECK_INT(st.st_gid, GROUP);
	CHECK_INT(stat(home_n, &st), 0);
	CHECK_INT(st.st_mode & 0777, 0710);
	CHECK_INT(st.st_gid, GROUP);
}

/* The duty officer at north sends text at prec; id: its message id (64
 * hex digits and a NUL) once north has it. */
static void
duty_sends(const char *text, const char *prec, char *id)
{
	json_t *r = ok_as(DUTY, home_n, json_pack("{s:s, s:s, s:s}", "cmd",
	    "send", "text", text, "precedence", prec));

	CHECK(r != NULL);
	if (r)
		CHECK(id_of(home_n, json_string_value(json_object_get(r,
		    "local_id")), id, 10000));
	json_decref(r);
}

/* Every command x every operator through the socket. Each request is one
 * that fails on its own arguments (or harmlessly succeeds) once past the
 * roles check, so "allowed" shows as any code but ERR_DENIED. */
static void
test_every_command_every_role(void)
{
	static const struct {
		const char *req;
		const char *may;	/* D duty, P principal, C comms, A auditor */
	} rows[] = {
		{ "{\"cmd\":\"status\"}", "DPCA" },
		{ "{\"cmd\":\"whoami\"}", "DPCA" },
		{ "{\"cmd\":\"link-test\"}", "C" },
		{ "{\"cmd\":\"msg-inject\"}", "C" },
		{ "{\"cmd\":\"send\",\"text\":\"\"}", "DP" },
		{ "{\"cmd\":\"inbox\",\"max\":1}", "DPA" },
		{ "{\"cmd\":\"show\",\"id\":\"zz\"}", "DPA" },
		{ "{\"cmd\":\"log\",\"max\":1}", "DPA" },
		{ "{\"cmd\":\"held\"}", "DPA" },
		{ "{\"cmd\":\"ack\",\"id\":\"zz\"}", "DP" },
		{ "{\"cmd\":\"approve\",\"id\":\"h999999\"}", "P" },
		{ "{\"cmd\":\"alerts\"}", "DPCA" },
		{ "{\"cmd\":\"alert-clear\",\"id\":999999}", "DP" },
		{ "{\"cmd\":\"audit\"}", "DPCA" },
	};
	static const struct {
		char letter;
		uid_t uid;
	} ops[] = { { 'D', DUTY }, { 'A', AUDITOR }, { 'P', PRINCIPAL },
	    { 'C', COMMS }, { '-', NOBODY } };
	char err[512];
	size_t n = 0;

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
			bool may = strchr(rows[i].may, ops[k].letter) != NULL;
			int code = code_as(ops[k].uid, home_n, json_loads(
			    rows[i].req, 0, NULL), err, sizeof err);
			if ((code != ERR_DENIED) != may || code == -999)
				printf("  %s as %c: code %d %s\n", rows[i].req,
				    ops[k].letter, code, err);
			CHECK(code != -999);
			CHECK((code != ERR_DENIED) == may);
			if (!may)
				CHECK(strncmp(err, "refused: ", 9) == 0);
			n++;
		}
	CHECK_INT(n, 14 * 5);
	/* The refusal names the missing role and who asked. */
	CHECK_INT(code_as(AUDITOR, home_s, json_pack("{s:s, s:s}", "cmd",
	    "ack", "id", "abcd"), err, sizeof err), ERR_DENIED);
	CHECK_STR(err, "refused: acknowledging needs the duty-officer or "
	    "principal role; uid 60002 (Sgt. Example) has auditor");
	CHECK_INT(code_as(NOBODY, home_n, json_pack("{s:s}", "cmd", "status"),
	    err, sizeof err), ERR_DENIED);
	CHECK_CONTAINS(err, "uid 60099 is not an operator");
}

static void
test_sighup_reload(void)
{
	json_t *r;

	CHECK_INT(write_file(home_n, "roles.json", "{\"version\": 7}"), 0);
	kill_pid(pid_n, SIGHUP);
	CHECK(file_has(log_n, "SIGHUP: ", 5000));
	r = ok_as(DUTY, home_n, json_pack("{s:s}", "cmd", "whoami"));
	CHECK_STR(r ? json_string_value(json_object_get(r, "name")) : "",
	    "Maj. Aster");
	json_decref(r);
	CHECK_INT(write_roles(home_n, "Maj. Aster (north duty)"), 0);
	kill_pid(pid_n, SIGHUP);
	CHECK(file_has(log_n, "roles reloaded", 5000));
	r = ok_as(DUTY, home_n, json_pack("{s:s}", "cmd", "whoami"));
	CHECK_STR(r ? json_string_value(json_object_get(r, "name")) : "",
	    "Maj. Aster (north duty)");
	json_decref(r);
}

static void
test_approval_gate(void)
{
	char err[512], id[65] = "";
	json_t *r;

	r = ok_as(DUTY, home_n, json_pack("{s:s, s:s, s:s, s:b}", "cmd",
	    "send", "text", "for the principal: cease-fire text v2",
	    "precedence", "priority", "for_principal", 1));
	CHECK(r != NULL);
	CHECK_STR(r ? json_string_value(json_object_get(r, "state")) : "",
	    "awaiting-approval");
	CHECK_STR(r ? json_string_value(json_object_get(r, "local_id")) : "",
	    "h1");
	json_decref(r);
	/* A mistyped for_principal is refused: the message is neither
	 * held nor sent past the principal. */
	CHECK_INT(code_as(DUTY, home_n, json_pack("{s:s, s:s, s:s}", "cmd",
	    "send", "text", "mistyped flag: must not leave", "for_principal",
	    "yes"), err, sizeof err), ERR_USAGE);
	CHECK_CONTAINS(err, "for_principal");
	CHECK_INT(code_as(DUTY, home_n, json_pack("{s:s, s:s, s:i}", "cmd",
	    "send", "text", "mistyped flag: must not leave", "for_principal",
	    1), err, sizeof err), ERR_USAGE);
	/* Held: not in the chain, not at south. */
	usleep(1500000);
	CHECK(!inbox_has(home_s, "mistyped flag"));
	CHECK(!inbox_has(home_n, "mistyped flag"));
	CHECK(!inbox_has(home_n, "cease-fire text v2"));
	CHECK(!inbox_has(home_s, "cease-fire text v2"));
	r = ok_as(AUDITOR, home_n, json_pack("{s:s}", "cmd", "held"));
	CHECK_INT(r ? json_array_size(json_object_get(r, "held")) : 0, 1);
	json_decref(r);
	/* A duty officer cannot approve; a principal can, once. */
	CHECK_INT(code_as(DUTY, home_n, json_pack("{s:s, s:s}", "cmd",
	    "approve", "id", "h1"), err, sizeof err), ERR_DENIED);
	CHECK_CONTAINS(err, "approving needs the principal role");
	CHECK(!inbox_has(home_s, "cease-fire text v2"));
	r = ok_as(PRINCIPAL, home_n, json_pack("{s:s, s:s}", "cmd", "approve",
	    "id", "h1"));
	CHECK_STR(r ? json_string_value(json_object_get(r, "approved_by")) :
	    "", "Col. Birch");
	if (r)
		CHECK(id_of(home_n, json_string_value(json_object_get(r,
		    "local_id")), id, 10000));
	json_decref(r);
	CHECK_INT(code_as(PRINCIPAL, home_n, json_pack("{s:s, s:s}", "cmd",
	    "approve", "id", "h1"), err, sizeof err), ERR_STATE);
	CHECK(wait_field(home_s, id, "state", "received", 10000));
	CHECK(inbox_has(home_s, "cease-fire text v2"));
}

static void
test_ack_round_trip(void)
{
	char err[512], id[65] = "";
	json_t *r, *m;

	duty_sends("please acknowledge: exercise window opens 0600Z",
	    "immediate", id);
	/* Listings do not count as seen; the first show by a person does. */
	for (int i = 0; i < 200 && !inbox_has(home_s, id); i++)
		usleep(50000);
	CHECK(inbox_has(home_s, id));
	m = ok_as(DUTY, home_s, json_pack("{s:s, s:s}", "cmd", "show", "id",
	    id));
	CHECK_STR(m ? json_string_value(json_object_get(m, "ack_state")) : "",
	    "awaiting");
	CHECK_STR(json_string_value(json_object_get(json_object_get(m,
	    "seen"), "by")) ? json_string_value(json_object_get(
	    json_object_get(m, "seen"), "by")) : "", "Capt. Lark");
	json_decref(m);
	/* The auditor reads, does not acknowledge; the duty officer does. */
	CHECK_INT(code_as(AUDITOR, home_s, json_pack("{s:s, s:s}", "cmd",
	    "ack", "id", id), err, sizeof err), ERR_DENIED);
	r = ok_as(DUTY, home_s, json_pack("{s:s, s:s, s:s}", "cmd", "ack",
	    "id", id, "text", "received and understood"));
	CHECK_STR(r ? json_string_value(json_object_get(r, "by")) : "",
	    "Capt. Lark");
	json_decref(r);
	CHECK_INT(code_as(DUTY, home_s, json_pack("{s:s, s:s}", "cmd", "ack",
	    "id", id), err, sizeof err), ERR_STATE);
	/* Both sides: acknowledged, by the operator's name, in time. */
	CHECK(wait_field(home_n, id, "ack_state", "acknowledged", 10000));
	CHECK(wait_field(home_s, id, "ack_state", "acknowledged", 10000));
	CHECK(wait_true(home_n, id, "receipted", 10000));
	for (int i = 0; i < 2; i++) {
		m = show(i ? home_s : home_n, id);
		json_t *a = json_object_get(m, "acknowledged");
		CHECK_STR(json_string_value(json_object_get(a, "by")) ?
		    json_string_value(json_object_get(a, "by")) : "",
		    "Capt. Lark");
		CHECK_STR(json_string_value(json_object_get(a, "text")) ?
		    json_string_value(json_object_get(a, "text")) : "",
		    "received and understood");
		CHECK(json_is_false(json_object_get(a, "late")));
		CHECK(json_is_true(json_object_get(m, "receipted")));
		if (i)
			CHECK_STR(json_string_value(json_object_get(
			    json_object_get(m, "seen"), "by")) ?
			    json_string_value(json_object_get(json_object_get(
			    m, "seen"), "by")) : "", "Capt. Lark");
		else
			CHECK_STR(json_string_value(json_object_get(m,
			    "seen")) ? json_string_value(json_object_get(m,
			    "seen")) : "", "not known to the sender");
		json_decref(m);
	}
}

/* Whether out holds a byte a terminal acts on: ESC, BEL, CR, C1 CSI. */
static bool
has_controls(const char *out)
{
	return strchr(out, '\x1b') || strchr(out, '\a') || strchr(out, '\r') ||
	    strstr(out, "\xc2\x9b");
}

/*
 * Text from the peer reaches an operator's terminal shown, not acted on:
 * a message whose text holds escape sequences (a title change, a screen
 * clear, a carriage return, a C1 CSI) lists and shows at south with them
 * as \xHH, the body's newline kept; south's ACK text with one shows so
 * at north.
 */
static void
test_peer_text_escaped(void)
{
	static const char text[] = "hostile \x1b]0;owned\x07\x1b[2J\rline\n"
	    "second \xc2\x9b" "31mred";
	char out[8192], err[512], id[65] = "";

	duty_sends(text, "routine", id);
	for (int i = 0; i < 200 && !inbox_has(home_s, id); i++)
		usleep(50000);
	CHECK_INT(parley(out, sizeof out, "inbox --home %s", home_s), 0);
	CHECK(!has_controls(out));
	CHECK_CONTAINS(out, "hostile \\x1b]0;owned\\x07\\x1b[2J\\x0dline");
	CHECK_INT(parley(out, sizeof out, "show --home %s %s", home_s, id), 0);
	CHECK(!has_controls(out));
	CHECK_CONTAINS(out, "\\x0dline\nsecond \\u{009b}31mred");
	CHECK_INT(code_as(DUTY, home_s, json_pack("{s:s, s:s, s:s}", "cmd",
	    "ack", "id", id, "text", "ok \x1b[31mred"), err, sizeof err), 0);
	CHECK(wait_field(home_n, id, "ack_state", "acknowledged", 10000));
	CHECK_INT(parley(out, sizeof out, "show --home %s %s", home_n, id), 0);
	CHECK(!has_controls(out));
	CHECK_CONTAINS(out, "ok \\x1b[31mred");
}

static void
test_deadline_alerts_late_ack(void)
{
	char err[512], id[65] = "", needle[96];
	json_t *r, *st, *ch;
	char *s;

	duty_sends("FLASH: confirm receipt of the revised map", "flash", id);
	CHECK(wait_field(home_s, id, "state", "received", 10000));
	/* Nobody acknowledges: after 2 s, both sides raise the alert. */
	snprintf(needle, sizeof needle, "\"message\":\"%s\"", id);
	CHECK(wait_alert(home_n, needle, 10000));
	CHECK(wait_alert(home_s, needle, 10000));
	s = alerts_text(home_n);
	CHECK(s && strstr(s, "south owes an acknowledgment of FLASH message"));
	free(s);
	s = alerts_text(home_s);
	CHECK(s && strstr(s, "we owe north an acknowledgment of FLASH "
	    "message"));
	free(s);
	/* alert_command ran on both sides with the alert on stdin. */
	CHECK(file_has(alerts_n, id, 5000));
	CHECK(file_has(alerts_s, id, 5000));
	CHECK(file_has(alerts_n, "\"side\":\"peer-owes\"", 100));
	CHECK(file_has(alerts_s, "\"side\":\"we-owe\"", 100));
	/* Status: north is owed one, south owes one. */
	st = ok_as(AUDITOR, home_n, json_pack("{s:s}", "cmd", "status"));
	ch = json_object_get(json_object_get(json_array_get(json_object_get(
	    st, "channels"), 0), "acks"), "peer_overdue");
	CHECK(json_integer_value(json_object_get(ch, "count")) >= 1);
	CHECK_STR(json_string_value(json_object_get(ch,
	    "highest_precedence")) ? json_string_value(json_object_get(ch,
	    "highest_precedence")) : "", "flash");
	json_decref(st);
	st = ok_as(AUDITOR, home_s, json_pack("{s:s}", "cmd", "status"));
	ch = json_object_get(json_object_get(json_array_get(json_object_get(
	    st, "channels"), 0), "acks"), "we_overdue");
	CHECK(json_integer_value(json_object_get(ch, "count")) >= 1);
	json_decref(st);
	/* The same through the command line. */
	{
		char out[16384];
		CHECK_INT(parley(out, sizeof out, "status --home %s", home_n), 0);
		CHECK_CONTAINS(out, "acks: south owes ");
		CHECK_CONTAINS(out, "past the deadline (highest flash");
		CHECK_INT(parley(out, sizeof out, "status --home %s", home_s), 0);
		CHECK_CONTAINS(out, "waiting for our acknowledgment (");
		CHECK_INT(parley(out, sizeof out, "alerts --home %s", home_s),
		    0);
		CHECK_CONTAINS(out, "we owe north an acknowledgment of FLASH");
		CHECK_INT(parley(out, sizeof out, "ack --home %s %s", home_s,
		    id), 1);		/* the harness is not a duty officer */
		CHECK_CONTAINS(out, "acknowledging needs the duty-officer");
		CHECK_INT(parley(out, sizeof out, "audit --home %s", home_n), 0);
		CHECK_CONTAINS(out, "hash chain: ok");
	}
	/* The late acknowledgment: late on both sides. */
	r = ok_as(DUTY, home_s, json_pack("{s:s, s:s}", "cmd", "ack", "id",
	    id));
	json_decref(r);
	CHECK(wait_field(home_n, id, "ack_state", "late", 10000));
	CHECK(wait_field(home_s, id, "ack_state", "late", 10000));
	/* Clearing: not by the auditor; by the duty officer, by name. */
	r = ok_as(AUDITOR, home_n, json_pack("{s:s}", "cmd", "alerts"));
	{
		json_t *a;
		size_t i;
		long long n = 0;
		json_array_foreach(json_object_get(r, "alerts"), i, a)
			if (strcmp(json_string_value(json_object_get(a,
			    "message")) ? json_string_value(json_object_get(a,
			    "message")) : "", id) == 0)
				n = json_integer_value(json_object_get(a, "n"));
		CHECK(n > 0);
		CHECK_INT(code_as(AUDITOR, home_n, json_pack("{s:s, s:I, s:s}",
		    "cmd", "alert-clear", "id", (json_int_t)n, "note", "x"),
		    err, sizeof err), ERR_DENIED);
		CHECK_INT(code_as(DUTY, home_n, json_pack("{s:s, s:I, s:s}",
		    "cmd", "alert-clear", "id", (json_int_t)n, "note",
		    "phoned south"), err, sizeof err), 0);
		CHECK_INT(code_as(DUTY, home_n, json_pack("{s:s, s:I, s:s}",
		    "cmd", "alert-clear", "id", (json_int_t)n, "note",
		    "again"), err, sizeof err), ERR_STATE);
	}
	json_decref(r);
	s = alerts_text(home_n);
	CHECK(s && strstr(s, "\"by\":\"Maj. Aster (north duty)\"") &&
	    strstr(s, "phoned south"));
	free(s);
}

static void
test_audit_names_every_actor(void)
{
	static const struct {
		int side;
		const char *who, *action;
		const char *detail;	/* its start, or NULL */
	} want[] = {
		{ 0, "Maj. Aster (north duty)", "send-for-principal", NULL },
		{ 0, "Col. Birch", "approve", NULL },
		{ 0, "Maj. Aster", "refused", NULL },
		/* sent without "to" (one channel): the peer is named */
		{ 0, "Maj. Aster (north duty)", "send", "to south, " },
		{ 0, "Maj. Aster (north duty)", "alert-clear", NULL },
		{ 0, "Sgt. Example", "refused", NULL },
		{ 0, "uid 60099", "refused", NULL },
		{ 1, "Capt. Lark", "ack", NULL },
		{ 1, "Capt. Lark", "show", NULL },
		{ 1, "Sgt. Example", "refused", NULL },
	};
	json_t *r[2];

	r[0] = ok_as(AUDITOR, home_n, json_pack("{s:s}", "cmd", "audit"));
	r[1] = ok_as(AUDITOR, home_s, json_pack("{s:s}", "cmd", "audit"));
	for (int i = 0; i < 2; i++) {
		CHECK(r[i] && json_is_true(json_object_get(r[i], "verified")));
		CHECK(json_integer_value(json_object_get(r[i], "count")) >= 5);
	}
	for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
		json_t *e;
		size_t i;
		bool found = false;
		json_array_foreach(json_object_get(r[want[k].side], "entries"),
		    i, e)
			if (strcmp(json_string_value(json_object_get(e,
			    "operator")), want[k].who) == 0 && strcmp(
			    json_string_value(json_object_get(e, "action")),
			    want[k].action) == 0 && (want[k].detail == NULL ||
			    strncmp(json_string_value(json_object_get(e,
			    "detail")), want[k].detail, strlen(want[k].detail))
			    == 0))
				found = true;
		if (!found)
			printf("  no audit entry: %s %s\n", want[k].who,
			    want[k].action);
		CHECK(found);
	}
	json_decref(r[0]);
	json_decref(r[1]);
}

/* Both daemons stop cleanly on SIGTERM, and no sanitizer spoke (under
 * BUILD=build-asan: leaks are reported at exit). */
static void
test_clean_exit(void)
{
	pid_t *pids[2] = { &pid_n, &pid_s };
	const char *logs[2] = { log_n, log_s };

	for (int i = 0; i < 2; i++) {
		int st;
		kill_pid(*pids[i], SIGTERM);
		st = reap(*pids[i], 10000);
		CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
		if (st == -1)
			stop(pids[i]);
		*pids[i] = -1;
		CHECK(!file_has(logs[i], "Sanitizer", 0));
		CHECK(!file_has(logs[i], "runtime error", 0));
	}
}

int
main(void)
{
	if (!people_begin("it_people", 16000, 16500))
		return 1;
	RUN(test_start_and_socket_modes);
	RUN(test_every_command_every_role);
	RUN(test_sighup_reload);
	RUN(test_approval_gate);
	RUN(test_ack_round_trip);
	RUN(test_peer_text_escaped);
	RUN(test_deadline_alerts_late_ack);
	RUN(test_audit_names_every_actor);
	RUN(test_clean_exit);
	return people_end();
}
