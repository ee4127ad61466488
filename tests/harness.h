/*
 * harness.h: parley's test harness. A test program is a main() that calls
 * RUN(fn) for each test function and returns harness_summary(). A test
 * passes when none of its CHECKs fail; a failed CHECK prints file, line and
 * both values, and the test goes on (so one run shows every failure). The
 * last line printed is "N passed, N failed", which tests/run.sh adds up.
 */
#ifndef PARLEY_TESTS_HARNESS_H
#define PARLEY_TESTS_HARNESS_H

#include <dirent.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int harness_passed, harness_failed, harness_test_failed;
static const char *harness_current = "?";

static inline void
harness_fail_head(const char *file, int line)
{
	if (!harness_test_failed)
		printf("FAIL %s\n", harness_current);
	harness_test_failed = 1;
	printf("  %s:%d: ", file, line);
}

static inline void
harness_hex(const char *label, const void *p, size_t n)
{
	const unsigned char *b = p;
	printf("    %s: ", label);
	for (size_t i = 0; i < n && i < 64; i++)
		printf("%02x", b[i]);
	printf("%s\n", n > 64 ? "..." : "");
}

#define CHECK(cond) do { \
	if (!(cond)) { \
		harness_fail_head(__FILE__, __LINE__); \
		printf("CHECK(%s) is false\n", #cond); \
	} \
} while (0)

#define CHECK_INT(a, b) do { \
	long long ha_ = (long long)(a), hb_ = (long long)(b); \
	if (ha_ != hb_) { \
		harness_fail_head(__FILE__, __LINE__); \
		printf("%s == %s: %lld != %lld\n", #a, #b, ha_, hb_); \
	} \
} while (0)

#define CHECK_STR(a, b) do { \
	const char *ha_ = (a), *hb_ = (b); \
	if (ha_ == NULL || hb_ == NULL || strcmp(ha_, hb_) != 0) { \
		harness_fail_head(__FILE__, __LINE__); \
		printf("%s == %s: \"%s\" != \"%s\"\n", #a, #b, \
		    ha_ ? ha_ : "(null)", hb_ ? hb_ : "(null)"); \
	} \
} while (0)

/* a contains b as a substring */
#define CHECK_CONTAINS(a, b) do { \
	const char *ha_ = (a), *hb_ = (b); \
	if (ha_ == NULL || hb_ == NULL || strstr(ha_, hb_) == NULL) { \
		harness_fail_head(__FILE__, __LINE__); \
		printf("\"%s\" does not contain \"%s\"\n", \
		    ha_ ? ha_ : "(null)", hb_ ? hb_ : "(null)"); \
	} \
} while (0)

#define CHECK_MEM(a, b, n) do { \
	if (memcmp((a), (b), (n)) != 0) { \
		harness_fail_head(__FILE__, __LINE__); \
		printf("%s == %s (%zu bytes) differ\n", #a, #b, (size_t)(n)); \
		harness_hex(#a, (a), (n)); \
		harness_hex(#b, (b), (n)); \
	} \
} while (0)

#define RUN(fn) do { \
	harness_current = #fn; \
	harness_test_failed = 0; \
	fn(); \
	if (harness_test_failed) \
		harness_failed++; \
	else { \
		harness_passed++; \
		printf("ok %s\n", #fn); \
	} \
} while (0)

/* Fails the current test when out (what a child program printed) holds a
 * sanitizer's report, naming the command: under make asan a leak or an
 * error in a child `parley` must fail the test even where the child's exit
 * code is one the test expects (LeakSanitizer's 23 passes for "failed"). */
static inline void
harness_no_sanitizer_report(const char *out, const char *cmd)
{
	static const char *const reports[] = {
		"ERROR: LeakSanitizer", "ERROR: AddressSanitizer",
		": runtime error: ",
	};

	for (size_t i = 0; i < sizeof reports / sizeof reports[0]; i++)
		if (strstr(out, reports[i]) != NULL) {
			harness_fail_head(__FILE__, __LINE__);
			printf("a sanitizer's report (\"%s\") from: %s\n",
			    reports[i], cmd);
			printf("%s\n", out);
			return;
		}
}

/* Removes a test's temporary directory and the files in it (one level:
 * the tests make no subdirectories there). */
static inline void
harness_rmdir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[512];

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

static inline int
harness_summary(void)
{
	printf("%d passed, %d failed\n", harness_passed, harness_failed);
	return harness_failed ? 1 : 0;
}

#endif
