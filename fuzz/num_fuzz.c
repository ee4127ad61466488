/*
 * num_fuzz.c: libFuzzer target for num_parse (base/num.h), the strict
 * reader of numbers a person writes (command-line arguments, the q/h ids
 * of control requests). The input is min and max (8 bytes each, little
 * endian; inputs with min > max are outside the contract and skipped),
 * then the text (up to its first NUL). Checked against an independent
 * reading of the contract: accepted exactly when the text is an optional
 * '-' and one or more digits, nothing else, whose value fits a long long
 * and lies in min..max; then *v is that value; refused, *v is untouched.
 *
 *   make fuzz (seeds: fuzz/corpus/num_fuzz/)
 */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/num.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static long long
le64(const uint8_t *p)
{
	uint64_t u = 0;

	for (int i = 7; i >= 0; i--)
		u = u << 8 | p[i];
	return (long long)u;
}

/* The contract's reading: 1 and *v, or 0. */
static int
expected(const char *s, long long min, long long max, long long *v)
{
	__int128 x = 0;
	bool neg = *s == '-';
	const char *d = neg ? s + 1 : s;

	if (*d == '\0')
		return 0;
	for (; *d != '\0'; d++) {
		if (*d < '0' || *d > '9')
			return 0;
		if (x <= (__int128)LLONG_MAX + 1)	/* past it: stays past */
			x = x * 10 + (*d - '0');
	}
	if (neg)
		x = -x;
	if (x < LLONG_MIN || x > LLONG_MAX || x < min || x > max)
		return 0;
	*v = (long long)x;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char text[256];
	long long min, max, want = 0, got = 0x5a5a5a5a;
	size_t n;
	int ok;

	if (size < 16)
		return 0;
	min = le64(data);
	max = le64(data + 8);
	if (min > max)
		return 0;
	n = size - 16 < sizeof text - 1 ? size - 16 : sizeof text - 1;
	memcpy(text, data + 16, n);
	text[n] = '\0';
	ok = expected(text, min, max, &want);
	if (num_parse(text, min, max, &got) == 0) {
		if (!ok || got != want)
			abort();
	} else if (ok || got != 0x5a5a5a5a) {
		abort();
	}
	return 0;
}
