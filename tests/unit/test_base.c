/* test_base.c: hex, whole numbers from text, wire (deterministic CBOR
 * subset), context hashes, files (atomic no-replace writes, private reads,
 * FIFOs). */
#include <dirent.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../harness.h"
#include "base/clock.h"
#include "base/file.h"
#include "base/hex.h"
#include "base/num.h"
#include "base/period.h"
#include "base/text.h"
#include "base/wire.h"
#include "crypto/hash.h"

static void
test_hex_round_trip(void)
{
	uint8_t in[4] = { 0x00, 0x7f, 0x80, 0xff }, out[4];
	char s[9];

	hex_encode(s, in, 4);
	CHECK_STR(s, "007f80ff");
	CHECK_INT(hex_decode(out, 4, "007F80fF"), 0);
	CHECK_MEM(in, out, 4);
	CHECK_INT(hex_decode(out, 4, "007f80f"), ERR_PARSE);
	CHECK_INT(hex_decode(out, 4, "007f80fg"), ERR_PARSE);
	CHECK_INT(hex_decode(out, 3, "007f80ff"), ERR_PARSE);
}

/* A whole number is the whole string, base 10, in range: anything strtoll
 * would take in part, skip, clamp or wrap is refused and *v untouched. */
static void
test_num_parse(void)
{
	static const char *bad[] = { "", "12x", "x12", " 5", "5 ", "+5",
	    "-", "--5", "0x10", "1e3", "5.0", "9223372036854775808",
	    "99999999999999999999", "-9223372036854775809", "0", "101",
	    "-1" };
	long long v = 0;

	CHECK_INT(num_parse("1", 1, 100, &v), 0);
	CHECK(v == 1);
	CHECK_INT(num_parse("100", 1, 100, &v), 0);
	CHECK(v == 100);
	CHECK_INT(num_parse("007", 1, 100, &v), 0);
	CHECK(v == 7);
	CHECK_INT(num_parse("-36500", -36500, 36500, &v), 0);
	CHECK(v == -36500);
	CHECK_INT(num_parse("9223372036854775807", 1, INT64_MAX, &v), 0);
	CHECK(v == INT64_MAX);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		v = 42;
		if (num_parse(bad[i], 1, 100, &v) != ERR_INVALID || v != 42) {
			printf("  \"%s\" taken as %lld\n", bad[i], v);
			CHECK(false);
		}
	}
	CHECK_INT(num_parse("9223372036854775808", 1, INT64_MAX, &v),
	    ERR_INVALID);
	CHECK_INT(num_parse(NULL, 1, 100, &v), ERR_INVALID);
}

static void
test_wire_shortest_integers(void)
{
	uint8_t buf[64];
	struct wire_writer w;
	size_t len;

	wire_writer_init(&w, buf, sizeof buf);
	wire_put_uint(&w, 23);
	wire_put_uint(&w, 24);
	wire_put_uint(&w, 256);
	wire_put_uint(&w, 65536);
	wire_put_uint(&w, 1ull << 32);
	CHECK_INT(wire_writer_finish(&w, &len), 0);
	static const uint8_t want[] = { 0x17, 0x18, 0x18, 0x19, 0x01, 0x00,
		0x1a, 0x00, 0x01, 0x00, 0x00, 0x1b, 0, 0, 0, 1, 0, 0, 0, 0 };
	CHECK_INT(len, sizeof want);
	CHECK_MEM(buf, want, sizeof want);
}

static void
test_wire_overflow_is_reported(void)
{
	uint8_t buf[4];
	struct wire_writer w;
	size_t len;

	wire_writer_init(&w, buf, sizeof buf);
	wire_put_text(&w, "north");
	CHECK_INT(wire_writer_finish(&w, &len), ERR_TOO_BIG);
}

static void
test_wire_load_refuses_outside_subset(void)
{
	cbor_item_t *item;
	static const uint8_t ok[] = { 0xa1, 0x01, 0x42, 0xaa, 0xbb };
	static const uint8_t trailing[] = { 0x01, 0x02 };
	static const uint8_t indefinite[] = { 0x9f, 0x01, 0xff };
	static const uint8_t tag[] = { 0xc1, 0x01 };
	static const uint8_t flt[] = { 0xf9, 0x3c, 0x00 };
	static const uint8_t truncated[] = { 0x43, 0x01, 0x02 };
	static const uint8_t huge_array[] = { 0x9b, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff };
	uint8_t deep[40];

	CHECK_INT(wire_load(ok, sizeof ok, &item), 0);
	if (item) {
		uint8_t v[2];
		CHECK_INT(wire_get_bytes_exact(wire_map_get(item, 1), v, 2), 0);
		CHECK(wire_map_get(item, 2) == NULL);
		cbor_decref(&item);
	}
	CHECK_INT(wire_load(trailing, sizeof trailing, &item), ERR_PARSE);
	CHECK_INT(wire_load(indefinite, sizeof indefinite, &item), ERR_PARSE);
	CHECK_INT(wire_load(tag, sizeof tag, &item), ERR_PARSE);
	CHECK_INT(wire_load(flt, sizeof flt, &item), ERR_PARSE);
	CHECK_INT(wire_load(truncated, sizeof truncated, &item), ERR_PARSE);
	CHECK_INT(wire_load(huge_array, sizeof huge_array, &item), ERR_PARSE);
	memset(deep, 0x81, sizeof deep);
	deep[sizeof deep - 1] = 0x00;
	CHECK_INT(wire_load(deep, sizeof deep, &item), ERR_PARSE);
	CHECK(item == NULL);
}

static void
test_hash_context_separates(void)
{
	uint8_t a[32], b[32], c[32];
	static const uint8_t data[] = "channel";

	hash_ctx(a, 32, "parley one", data, 7);
	hash_ctx(b, 32, "parley two", data, 7);
	hash_ctx2(c, 32, "parley one", data, 3, data + 3, 4);
	CHECK(memcmp(a, b, 32) != 0);
	CHECK_MEM(a, c, 32);
}

static void
test_fingerprint_format(void)
{
	char fp[FINGERPRINT_STR_LEN];
	static const uint8_t key[32] = { 1 };

	hash_fingerprint(fp, "parley test", key, sizeof key);
	CHECK_INT(strlen(fp), 35);
	for (int i = 0; i < 35; i++)
		CHECK(i % 6 == 5 ? fp[i] == ' ' : (fp[i] >= '0' && fp[i] <= '9'));
}

/* An output length outside 16..64 is a bug: the hash aborts rather than
 * leave out unwritten (review nit: init's return was ignored). */
static void
test_hash_bad_length_aborts(void)
{
	static const size_t lens[] = { 0, 15, 65 };

	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		pid_t pid;
		int st = 0;

		if ((pid = fork()) == 0) {
			uint8_t out[128];
			hash_ctx(out, lens[i], "parley test", out, 1);
			_exit(0);
		}
		CHECK(waitpid(pid, &st, 0) == pid);
		CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
	}
}

/* A fresh temporary directory for one test. */
static void
tmpdir(char dir[64])
{
	snprintf(dir, 64, "/tmp/parley-test-base.XXXXXX");
	if (mkdtemp(dir) == NULL)
		abort();
}

static void
rmtree(const char *dir)
{
	char cmd[128];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

/* Entries of dir other than . and .. */
static int
count_entries(const char *dir)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void
test_file_write_no_replace(void)
{
	char dir[64], p[128];
	uint8_t *buf;
	size_t len;

	tmpdir(dir);
	snprintf(p, sizeof p, "%s/f", dir);
	CHECK_INT(file_write(p, (const uint8_t *)"one", 3, 0600, 0), 0);
	CHECK_INT(file_write(p, (const uint8_t *)"two", 3, 0600, 0),
	    ERR_EXISTS);
	CHECK_INT(file_read(p, 16, &buf, &len), 0);
	CHECK_INT(len, 3);
	CHECK_MEM(buf, "one", 3);
	free(buf);
	CHECK_INT(count_entries(dir), 1);	/* no temporary file left */
	CHECK_INT(file_write(p, (const uint8_t *)"two", 3, 0600, 1), 0);
	CHECK_INT(file_read(p, 16, &buf, &len), 0);
	CHECK_MEM(buf, "two", 3);
	free(buf);
	CHECK_INT(count_entries(dir), 1);
	/* a dangling symbolic link is not replaced either */
	snprintf(p, sizeof p, "%s/l", dir);
	CHECK_INT(symlink("/tmp/parley-test-base-nowhere", p), 0);
	CHECK_INT(file_write(p, (const uint8_t *)"x", 1, 0600, 0), ERR_EXISTS);
	CHECK(access("/tmp/parley-test-base-nowhere", F_OK) != 0);
	rmtree(dir);
}

/* Many processes race to create the same file without replace: exactly one
 * of them may win each round (the old access()-then-rename() let several
 * "win", the last silently replacing the others). */
static void
test_file_write_race(void)
{
	enum { ROUNDS = 200, PROCS = 6 };
	char dir[64], p[128];
	int wins_ok = 1;

	tmpdir(dir);
	for (int round = 0; round < ROUNDS && wins_ok; round++) {
		pid_t pids[PROCS];
		int wins = 0;

		snprintf(p, sizeof p, "%s/r%d", dir, round);
		for (int i = 0; i < PROCS; i++) {
			if ((pids[i] = fork()) == 0) {
				uint8_t b = (uint8_t)i;
				_exit(file_write(p, &b, 1, 0600, 0) == 0 ?
				    0 : 1);
			}
		}
		for (int i = 0; i < PROCS; i++) {
			int st;
			if (waitpid(pids[i], &st, 0) == pids[i] &&
			    WIFEXITED(st) && WEXITSTATUS(st) == 0)
				wins++;
		}
		if (wins != 1) {
			fprintf(stderr, "round %d: %d winners\n", round, wins);
			wins_ok = 0;
		}
	}
	CHECK(wins_ok);
	CHECK_INT(count_entries(dir), ROUNDS);
	rmtree(dir);
}

static void
on_alarm(int sig)
{
	(void)sig;
	fprintf(stderr, "FAIL: a read blocked on a FIFO\n");
	_exit(1);
}

static void
test_file_read_fifo_and_private(void)
{
	char dir[64], p[128], q[128];
	uint8_t *buf;
	size_t len;

	tmpdir(dir);
	signal(SIGALRM, on_alarm);
	alarm(5);
	snprintf(p, sizeof p, "%s/fifo", dir);
	CHECK_INT(mkfifo(p, 0600), 0);
	CHECK_INT(file_read(p, 16, &buf, &len), ERR_IO);
	CHECK_INT(file_read_private(p, 16, &buf, &len), ERR_PERMS);
	alarm(0);

	snprintf(p, sizeof p, "%s/secret", dir);
	CHECK_INT(file_write(p, (const uint8_t *)"psk", 3, 0600, 0), 0);
	CHECK_INT(file_read_private(p, 16, &buf, &len), 0);
	CHECK_INT(len, 3);
	free(buf);
	CHECK_INT(file_check_private(p), 0);
	CHECK_INT(file_read_private(p, 2, &buf, &len), ERR_TOO_BIG);
	CHECK(buf == NULL);
	CHECK_INT(chmod(p, 0640), 0);
	CHECK_INT(file_read_private(p, 16, &buf, &len), ERR_PERMS);
	CHECK_INT(file_check_private(p), ERR_PERMS);
	CHECK_INT(chmod(p, 0600), 0);
	/* a symbolic link to a private file is refused */
	snprintf(q, sizeof q, "%s/link", dir);
	CHECK_INT(symlink(p, q), 0);
	CHECK_INT(file_read_private(q, 16, &buf, &len), ERR_PERMS);
	CHECK_INT(file_check_private(q), ERR_PERMS);
	CHECK_INT(file_read(q, 16, &buf, &len), 0);	/* public: followed */
	free(buf);
	/* owned by someone else (the tests run as root in CI: chown works) */
	if (geteuid() == 0) {
		CHECK_INT(chown(p, 65534, 65534), 0);
		CHECK_INT(file_read_private(p, 16, &buf, &len), ERR_PERMS);
		CHECK_INT(file_check_private(p), ERR_PERMS);
	} else {
		CHECK_INT(file_read_private("/etc/passwd", 1 << 20, &buf,
		    &len), ERR_PERMS);
	}
	CHECK_INT(file_read_private(dir, 16, &buf, &len), ERR_PERMS);
	rmtree(dir);
}

/* A job of period 1,000 ms: due at its time, not before; a clock stepped
 * back an hour does not stop it (due at once, then every period from the
 * new time); one stepped forward makes it due at once. */
static void
test_period_due(void)
{
	uint64_t next = 0, t = 1700000000000ull;

	CHECK(period_due(t, &next, 1000));		/* the first */
	CHECK(next == t + 1000);
	CHECK(!period_due(t + 999, &next, 1000));
	CHECK(period_due(t + 1000, &next, 1000));
	CHECK(!period_due(t + 1500, &next, 1000));
	t -= 3600000;					/* back an hour */
	CHECK(period_due(t, &next, 1000));
	CHECK(next == t + 1000);
	CHECK(!period_due(t + 500, &next, 1000));
	CHECK(period_due(t + 1000, &next, 1000));
	CHECK(period_due(t + 7200000, &next, 1000));	/* forward */
	CHECK(!period_due(t + 7200001, &next, 1000));
}

/* What text_print writes for p. */
static void
printed(const char *p, size_t n, const char *indent, char *out, size_t cap)
{
	FILE *f = fmemopen(out, cap, "w");

	if (f == NULL) {
		CHECK(f != NULL);
		out[0] = '\0';
		return;
	}
	text_print(f, (const uint8_t *)p, n, indent);
	fclose(f);
}

/* No control character of a body reaches a terminal; text stays text. */
#define PRINTED(lit, indent) \
	printed(lit, sizeof lit - 1, indent, out, sizeof out)
static void
test_text_print(void)
{
	char out[256];

	PRINTED("plain text, \xc3\xa9t\xc3\xa9 \xe2\x82\xac", NULL);
	CHECK_STR(out, "plain text, \xc3\xa9t\xc3\xa9 \xe2\x82\xac");
	PRINTED("red \x1b[31mX\x1b[0m\a\r\x7f", NULL);
	CHECK_STR(out, "red \\x1b[31mX\\x1b[0m\\x07\\x0d\\x7f");
	PRINTED("a\nb\tc", "    ");
	CHECK_STR(out, "a\n    b\tc");
	PRINTED("a\0b", NULL);				/* not cut at NUL */
	CHECK_STR(out, "a\\x00b");
	PRINTED("C:\\x41", NULL);			/* written, not ESC */
	CHECK_STR(out, "C:\\\\x41");
	PRINTED("a\xe2\x80\xae" "b", NULL);		/* U+202E */
	CHECK_STR(out, "a\\u{202e}b");
	PRINTED("\xc2\x9b" "31m", NULL);		/* U+009B, CSI */
	CHECK_STR(out, "\\u{009b}31m");
	PRINTED("\xff\xc3", NULL);			/* not UTF-8 */
	CHECK_STR(out, "\\xff\\xc3");
}
#undef PRINTED

/* The system's CLOCK_MONOTONIC in ns, as it reads without the origin. */
static uint64_t
raw_mono_ns(void)
{
	struct timespec ts;

	CHECK_INT(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The monotonic readings start a day in: a pacing field left 0 ("never")
 * lies that far back even in a process started just after boot. Each is
 * the system's reading plus CLOCK_MONO_ORIGIN_MS (read between two of
 * them), so the origin shows also on a machine up for more than a day.
 * Times as the CLI shows them, in UTC, whole seconds. */
static void
test_clock_origin_and_format(void)
{
	uint64_t origin_ns = CLOCK_MONO_ORIGIN_MS * 1000000ull;
	uint64_t before = raw_mono_ns(), ms = clock_mono_ms();
	uint64_t ns = clock_mono_ns(), after = raw_mono_ns();
	char out[CLOCK_UTC_LEN];

	CHECK(ms >= CLOCK_MONO_ORIGIN_MS);
	CHECK(ms - CLOCK_MONO_ORIGIN_MS >= before / 1000000u);
	CHECK(ms - CLOCK_MONO_ORIGIN_MS <= after / 1000000u);
	CHECK(ns >= origin_ns);
	CHECK(ns - origin_ns >= before && ns - origin_ns <= after);
	CHECK(ns / 1000000u >= ms);
	CHECK(ns / 1000000u <= clock_mono_ms());
	CHECK_STR(clock_utc_str(out, 0), "1970-01-01 00:00:00Z");
	CHECK_STR(clock_utc_str(out, 1796000000999u), "2026-11-30 00:53:20Z");
}

/* On one line (a name, a first line), a newline or a tab cannot start a
 * line of its own; the rest as text_print. */
static void
test_text_print_line(void)
{
	static const char in[] = "north\nsouth: ok\t\x1b[2J";
	char out[256];
	FILE *f = fmemopen(out, sizeof out, "w");

	if (f == NULL) {
		CHECK(f != NULL);
		return;
	}
	text_print_line(f, (const uint8_t *)in, sizeof in - 1);
	fclose(f);
	CHECK_STR(out, "north\\x0asouth: ok\\x09\\x1b[2J");
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	RUN(test_hex_round_trip);
	RUN(test_num_parse);
	RUN(test_text_print);
	RUN(test_text_print_line);
	RUN(test_clock_origin_and_format);
	RUN(test_period_due);
	RUN(test_wire_shortest_integers);
	RUN(test_wire_overflow_is_reported);
	RUN(test_wire_load_refuses_outside_subset);
	RUN(test_hash_context_separates);
	RUN(test_fingerprint_format);
	RUN(test_hash_bad_length_aborts);
	RUN(test_file_write_no_replace);
	RUN(test_file_write_race);
	RUN(test_file_read_fifo_and_private);
	return harness_summary();
}
