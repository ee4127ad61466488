/*
 * it_ctl_raw.c: raw bodies on the control socket of a real parleyd
 * (docs/control.md "Raw bodies"): the text of a send after its request
 * line, queued on the channel whose peer never comes: the same message
 * and audit entry as "text"; a body in pieces; pipelined with other
 * requests and answered in order (a refused request's body skipped, not
 * run); a bad length answered and the connection closed; "text" with a
 * raw body, invalid UTF-8, an empty body refused. Numbers in command
 * lines and requests: whole, in range, or refused.
 *
 * A node home with two channels (as it_ctl.c's test_expiry leaves it:
 * channels_ready); ports 127.0.0.1, 10000-10499 (a free block of two,
 * ports.h). Kills only its own children; removes its temporary
 * directory.
 */
#include "ctl_node.h"

/* The two messages' show results are the same but for their ids and
 * times. */
static void
check_same_message(const char *a, const char *b)
{
	static const char *same[] = { "body", "body_len", "first_line", "kind",
	    "precedence", "marking", "state", "to", "dir", "channel" };
	json_t *ma = show(a), *mb = show(b);

	CHECK(ma != NULL && mb != NULL);
	for (size_t i = 0; ma && mb && i < sizeof same / sizeof same[0]; i++)
		if (!json_equal(json_object_get(ma, same[i]),
		    json_object_get(mb, same[i]))) {
			printf("  %s and %s differ in %s\n", a, b, same[i]);
			CHECK(false);
		}
	json_decref(ma);
	json_decref(mb);
}

/* The detail of the audit entry for a send of local id q, without the
 * id: "to isle, routine, N bytes". */
static void
audit_detail(const char *q, char *out, size_t cap)
{
	json_t *r = call(home, json_pack("{s:s}", "cmd", "audit")), *e;
	json_t *es = json_object_get(json_object_get(r, "result"), "entries");
	char tail[40];
	size_t i, n, tn;

	snprintf(out, cap, "(none)");
	tn = (size_t)snprintf(tail, sizeof tail, ", %s", q);
	json_array_foreach(es, i, e) {
		const char *d = json_string_value(json_object_get(e, "detail"));
		if (d && (n = strlen(d)) > tn && strcmp(d + n - tn, tail) ==
		    0 && strcmp(json_string_value(json_object_get(e, "action")),
		    "send") == 0)
			snprintf(out, cap, "%.*s", (int)(n - tn), d);
	}
	json_decref(r);
}

static void
test_raw_same(void)
{
	char qt[32], qr[32], da[256], db[256], err[256];
	json_t *a;
	int fd;

	start_again();
	CHECK((fd = connect_ctl()) >= 0);
	if (fd < 0)
		return;
	a = json_pack("{s:s, s:s, s:s, s:s}", "cmd", "send", "to", "isle",
	    "text", text, "precedence", "priority");
	{
		char *s = json_dumps(a, JSON_COMPACT);
		CHECK(put(fd, s, strlen(s)) == 0 && put(fd, "\n", 1) == 0);
		free(s);
	}
	json_decref(a);
	a = answer(fd);
	CHECK_INT(code_of(a, err, sizeof err), 0);
	snprintf(qt, sizeof qt, "%s", local_of(a));
	json_decref(a);
	CHECK(put_raw(fd, "\"cmd\":\"send\",\"to\":\"isle\",\"precedence\":"
	    "\"priority\"", text, sizeof text - 1) == 0);
	a = answer(fd);
	CHECK_INT(code_of(a, err, sizeof err), 0);
	snprintf(qr, sizeof qr, "%s", local_of(a));
	CHECK_STR(json_string_value(json_object_get(json_object_get(a,
	    "result"), "state")), "queued");
	json_decref(a);
	CHECK(strcmp(qt, qr) != 0);
	check_same_message(qt, qr);
	{
		json_t *m = show(qr);
		CHECK_INT(json_integer_value(json_object_get(m, "body_len")),
		    (long long)sizeof text - 1);
		CHECK_STR(json_string_value(json_object_get(m, "body")), text);
		json_decref(m);
	}
	audit_detail(qt, da, sizeof da);
	audit_detail(qr, db, sizeof db);
	CHECK_STR(da, db);
	CHECK_CONTAINS(db, "bytes");
	close(fd);
}

/* A slow client: the line in two writes, the body in three, 50 ms apart;
 * the body's last write holds the next request too. */
static void
test_raw_split(void)
{
	char line[256], err[256], q[32];
	size_t n = raw_line(line, sizeof line,
	    "\"cmd\":\"send\",\"to\":\"isle\"", sizeof text - 1), t3;
	char last[512];
	json_t *a;
	int fd;

	CHECK((fd = connect_ctl()) >= 0);
	if (fd < 0)
		return;
	CHECK(put(fd, line, 10) == 0);
	usleep(50000);
	CHECK(put(fd, line + 10, n - 10) == 0);
	usleep(50000);
	CHECK(put(fd, text, 5) == 0);
	usleep(50000);
	CHECK(put(fd, text + 5, 20) == 0);
	usleep(50000);
	t3 = sizeof text - 1 - 25;
	memcpy(last, text + 25, t3);
	memcpy(last + t3, "{\"cmd\":\"whoami\"}\n", 17);
	CHECK(put(fd, last, t3 + 17) == 0);
	a = answer(fd);
	CHECK_INT(code_of(a, err, sizeof err), 0);
	snprintf(q, sizeof q, "%s", local_of(a));
	json_decref(a);
	a = answer(fd);
	CHECK_INT(code_of(a, err, sizeof err), 0);
	CHECK(json_object_get(json_object_get(a, "result"), "roles") != NULL);
	json_decref(a);
	{
		json_t *m = show(q);
		CHECK_STR(json_string_value(json_object_get(m, "body")), text);
		json_decref(m);
	}
	close(fd);
}

/* Appends at buf + n (8 KiB) a request with members and the string b as
 * its raw body: the new length. */
static size_t
add_raw(char *buf, size_t n, const char *members, const char *b)
{
	n += raw_line(buf + n, 8192 - n, members, strlen(b));
	memcpy(buf + n, b, strlen(b));
	return n + strlen(b);
}

/* Pipelined: raw sends among other requests, one write, answered in
 * order; a refused raw request's body is skipped, not read as requests. */
static void
test_raw_pipelined(void)
{
	static const char skipped[] = "{\"cmd\":\"send\",\"to\":\"isle\","
	    "\"text\":\"must not be sent\"}\n";
	char buf[8192], body[4][32], err[256], q[4][32];
	size_t n = 0;
	long long before = stored();
	json_t *a;
	int fd;

	CHECK((fd = connect_ctl()) >= 0);
	if (fd < 0)
		return;
	for (int i = 0; i < 4; i++)
		snprintf(body[i], sizeof body[i], "pipelined %d", i);
	n = add_raw(buf, n, SEND_ISLE, body[0]);
	n += (size_t)snprintf(buf + n, sizeof buf - n,
	    "{\"cmd\":\"whoami\"}\n");
	n = add_raw(buf, n, SEND_ISLE, body[1]);
	n = add_raw(buf, n, "\"cmd\":\"whoami\"", skipped);
	n += (size_t)snprintf(buf + n, sizeof buf - n, "{\"cmd\":\"send\","
	    "\"to\":\"isle\",\"text\":\"%s\"}\n", body[2]);
	n = add_raw(buf, n, SEND_ISLE, body[3]);
	CHECK(put(fd, buf, n) == 0);
	for (int i = 0, k = 0; i < 6; i++) {
		a = answer(fd);
		if (i == 1) {
			CHECK_INT(code_of(a, err, sizeof err), 0);
			CHECK(json_object_get(json_object_get(a, "result"),
			    "roles") != NULL);
		} else if (i == 3) {
			CHECK_INT(code_of(a, err, sizeof err), ERR_USAGE);
			CHECK_CONTAINS(err, "whoami takes no raw body");
		} else {
			CHECK_INT(code_of(a, err, sizeof err), 0);
			snprintf(q[k++], sizeof q[0], "%s", local_of(a));
		}
		json_decref(a);
	}
	CHECK_INT(stored(), before + 4);
	for (int i = 0; i < 4; i++) {
		json_t *m = show(q[i]);
		CHECK_STR(json_string_value(json_object_get(m, "body")),
		    body[i]);
		json_decref(m);
	}
	close(fd);
}

/* A raw body whose length cannot frame the stream: a clear answer, the
 * connection closed, nothing stored. */
static void
test_raw_bad_length(void)
{
	static const struct {
		const char *value;
		long long code;
		const char *says;
	} bad[] = {
		{ "1048577", ERR_TOO_BIG, "over the cap of 1048576 bytes" },
		{ "99999999999", ERR_TOO_BIG, "over the cap" },
		{ "-5", ERR_USAGE, "must be a whole number of bytes" },
		{ "\"12\"", ERR_USAGE, "must be a whole number of bytes" },
		{ "1.5", ERR_USAGE, "must be a whole number of bytes" },
		{ "null", ERR_USAGE, "must be a whole number of bytes" },
	};
	char line[256], err[256];
	long long before = stored();
	json_t *a;
	int fd;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECK((fd = connect_ctl()) >= 0);
		if (fd < 0)
			return;
		snprintf(line, sizeof line, "{\"cmd\":\"send\",\"to\":\"isle\","
		    "\"" CTL_BODY_FIELD "\":%s}\nxxxxx{\"cmd\":\"whoami\"}\n",
		    bad[i].value);
		CHECK(put(fd, line, strlen(line)) == 0);
		a = answer(fd);
		CHECK_INT(code_of(a, err, sizeof err), bad[i].code);
		CHECK_CONTAINS(err, CTL_BODY_FIELD);
		CHECK_CONTAINS(err, bad[i].says);
		json_decref(a);
		CHECK(answer(fd) == NULL);	/* closed: no whoami answer */
		close(fd);
	}
	/* A line that is not JSON but names a raw body: its body must not
	 * run as a request (here a second send hidden in it). */
	{
		static const char smuggle[] = "{\"cmd\":\"send\",\"to\":"
		    "\"isle\xff\",\"" CTL_BODY_FIELD "\":49}\n{\"cmd\":"
		    "\"send\",\"to\":\"isle\",\"text\":\"smuggled\"}\n";
		CHECK((fd = connect_ctl()) >= 0);
		if (fd < 0)
			return;
		CHECK(put(fd, smuggle, sizeof smuggle - 1) == 0);
		a = answer(fd);
		CHECK(code_of(a, err, sizeof err) != 0);
		CHECK_CONTAINS(err, "cannot be framed");
		json_decref(a);
		CHECK(answer(fd) == NULL);	/* closed */
		close(fd);
	}
	CHECK_INT(stored(), before);
}

/* "text" and a raw body: refused, the body skipped, the connection
 * still good; a raw body with invalid UTF-8 or a NUL refused by the
 * check a send's text passes when it is stored (JSON cannot carry those
 * in "text": jansson refuses the line); a raw body of 0 bytes as an
 * empty "text". Nothing stored. */
static void
test_raw_refused(void)
{
	static const char bad_utf8[] = "caf\xc3 \xff\xfe end";
	static const char nul[] = "a\0b";
	static const char bad_text[] = "{\"cmd\":\"send\",\"to\":\"isle\","
	    "\"text\":\"caf\xc3 \xff\xfe end\"}\n";
	char err[256], err2[256];
	long long before = stored();
	json_t *a;
	int fd;

	CHECK((fd = connect_ctl()) >= 0);
	if (fd < 0)
		return;
	CHECK(put_raw(fd, "\"cmd\":\"send\",\"to\":\"isle\",\"text\":\"hi\"",
	    "raw", 3) == 0);
	a = answer(fd);
	CHECK_INT(code_of(a, err, sizeof err), ERR_USAGE);
	CHECK_CONTAINS(err, "not both");
	json_decref(a);
	/* the same for a held send */
	CHECK(put_raw(fd, "\"cmd\":\"send\",\"to\":\"isle\",\"text\":\"hi\","
	    "\"for_principal\":true", "raw", 3) == 0);
	a = answer(fd);
	CHECK_INT(code_of(a, err, sizeof err), ERR_USAGE);
	CHECK_CONTAINS(err, "not both");
	json_decref(a);
	/* invalid UTF-8 raw, NUL raw, NUL in "text": one refusal */
	CHECK(put_raw(fd, "\"cmd\":\"send\",\"to\":\"isle\"", bad_utf8,
	    sizeof bad_utf8 - 1) == 0);
	a = answer(fd);
	CHECK_INT(code_of(a, err, sizeof err), ERR_USAGE);
	CHECK_CONTAINS(err, "text refused");
	json_decref(a);
	CHECK(put_raw(fd, "\"cmd\":\"send\",\"to\":\"isle\"", nul,
	    sizeof nul - 1) == 0);
	a = answer(fd);
	CHECK_INT(code_of(a, err2, sizeof err2), ERR_USAGE);
	CHECK_STR(err2, err);
	json_decref(a);
	/* as "text" those bytes do not even make a JSON line */
	CHECK(put(fd, bad_text, sizeof bad_text - 1) == 0);
	a = answer(fd);
	CHECK_INT(code_of(a, err2, sizeof err2), ERR_PARSE);
	json_decref(a);
	/* a held send checks its text at once */
	CHECK(put_raw(fd, "\"cmd\":\"send\",\"to\":\"isle\","
	    "\"for_principal\":true", bad_utf8, sizeof bad_utf8 - 1) == 0);
	a = answer(fd);
	CHECK_INT(code_of(a, err, sizeof err), ERR_USAGE);
	json_decref(a);
	/* 0 bytes: framed, then refused as an empty text */
	CHECK(put_raw(fd, "\"cmd\":\"send\",\"to\":\"isle\"", "", 0) == 0);
	a = answer(fd);
	CHECK_INT(code_of(a, err, sizeof err), ERR_USAGE);
	CHECK_CONTAINS(err, "1..1048576 bytes");
	json_decref(a);
	/* the connection is still good */
	CHECK(put(fd, "{\"cmd\":\"whoami\"}\n", 17) == 0);
	a = answer(fd);
	CHECK_INT(code_of(a, err, sizeof err), 0);
	json_decref(a);
	close(fd);
	CHECK_INT(stored(), before);
}

/* Line (a request) is refused as ERR_USAGE with exactly the error want. */
static void
refused_with(int fd, const char *line, const char *want)
{
	char resp[1024];
	json_t *j;

	CHECK_INT(ask(fd, line, resp, sizeof resp), ERR_USAGE);
	j = json_loads(resp, 0, NULL);
	CHECK_STR(j ? json_string_value(json_object_get(j, "error")) : NULL,
	    want);
	json_decref(j);
}

/*
 * Numbers are whole strings in range, or refused, naming what is wrong:
 * `parley log` and `parley inbox --max` (exit 2, nothing asked of the
 * daemon); a request's "max" that is not an integer of 1..100000 (a
 * string, a fraction, out of range); a local id "q..." or held id "h..."
 * past what a number holds is not read as the largest one; an alert's
 * "id" that is not an integer from 1.
 */
static void
test_numbers_strict(void)
{
	static const char *bad[] = { "12x", "", " 5", "+5", "0", "-1",
	    "100001", "99999999999999999999", "0x10" };
	static const char *max_bad[] = { "\"5\"", "5.0", "0", "100001",
	    "true" };
	static const char *alert_bad[] = { "\"1\"", "1.0", "0", "-3" };
	static const char want_max[] = "\"max\" must be an integer from 1 "
	    "to 100000";
	char cmd[1400], line[256], want[200], got[512];
	size_t n;
	FILE *p;
	int fd;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		const char *c = i % 2 ? "inbox" : "log";
		snprintf(cmd, sizeof cmd, "%s/parley %s --home %s --max '%s' "
		    "2>&1", build, c, home, bad[i]);
		CHECK((p = popen(cmd, "r")) != NULL);
		if (p == NULL)
			continue;
		n = fread(got, 1, sizeof got - 1, p);
		got[n] = '\0';
		CHECK_INT(WEXITSTATUS(pclose(p)), 2);
		snprintf(want, sizeof want, "parley %s: --max: \"%s\" is not "
		    "a whole number from 1 to 100000\n", c, bad[i]);
		CHECK_STR(got, want);
	}
	CHECK((fd = connect_ctl()) >= 0);
	if (fd < 0)
		return;
	for (size_t i = 0; i < sizeof max_bad / sizeof max_bad[0]; i++) {
		snprintf(line, sizeof line, "{\"cmd\":\"log\",\"max\":%s}\n",
		    max_bad[i]);
		refused_with(fd, line, want_max);
	}
	refused_with(fd, "{\"cmd\":\"show\",\"id\":"
	    "\"q99999999999999999999\"}\n", "\"id\" must be a local id (q "
	    "and a whole number from 1, as q123) or a message id or unique "
	    "prefix of it (4..64 lower-case hex digits)");
	refused_with(fd, "{\"cmd\":\"approve\",\"id\":"
	    "\"h99999999999999999999\"}\n", "\"id\" must name a held "
	    "message: h and a whole number from 1 (h12)");
	refused_with(fd, "{\"cmd\":\"approve\",\"id\":\"h+1\"}\n",
	    "\"id\" must name a held message: h and a whole number from 1 "
	    "(h12)");
	for (size_t i = 0; i < sizeof alert_bad / sizeof alert_bad[0]; i++) {
		snprintf(line, sizeof line, "{\"cmd\":\"alert-clear\",\"id\":"
		    "%s}\n", alert_bad[i]);
		refused_with(fd, line, "\"id\" must be an alert number: an "
		    "integer from 1 (not a string or a fraction)");
	}
	close(fd);
}

int
main(void)
{
	if (!ctl_node_begin() || !channels_ready(10000, 10500, false))
		return 1;
	RUN(test_raw_same);
	RUN(test_raw_split);
	RUN(test_raw_pipelined);
	RUN(test_raw_bad_length);
	RUN(test_raw_refused);
	RUN(test_numbers_strict);
	return ctl_node_end();
}
