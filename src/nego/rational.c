/* rational.c: see rational.h. Exact; no floating point anywhere. */
#include "nego/rational.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>

__extension__ typedef __int128 wide;

static wide
wabs(wide x)
{
	return x < 0 ? -x : x;
}

static wide
wgcd(wide a, wide b)
{
	a = wabs(a);
	b = wabs(b);
	while (b != 0) {
		wide t = a % b;
		a = b;
		b = t;
	}
	return a;
}

/* Reduces a wide fraction and narrows it; overflow is a caller's bug. */
static struct rat
narrow(wide num, wide den)
{
	struct rat r;
	wide g;

	assert(den != 0);
	if (den < 0) {
		num = -num;
		den = -den;
	}
	if (num == 0)
		return (struct rat){ 0, 1 };
	g = wgcd(num, den);
	num /= g;
	den /= g;
	assert(num >= INT64_MIN && num <= INT64_MAX);
	assert(den <= INT64_MAX);
	r.num = (int64_t)num;
	r.den = (int64_t)den;
	return r;
}

struct rat
rat_make(int64_t num, int64_t den)
{
	return narrow(num, den);
}

struct rat
rat_int(int64_t n)
{
	return (struct rat){ n, 1 };
}

struct rat
rat_add(struct rat a, struct rat b)
{
	return narrow((wide)a.num * b.den + (wide)b.num * a.den,
	    (wide)a.den * b.den);
}

struct rat
rat_sub(struct rat a, struct rat b)
{
	return narrow((wide)a.num * b.den - (wide)b.num * a.den,
	    (wide)a.den * b.den);
}

struct rat
rat_mul(struct rat a, struct rat b)
{
	return narrow((wide)a.num * b.num, (wide)a.den * b.den);
}

struct rat
rat_div(struct rat a, struct rat b)
{
	assert(b.num != 0);
	return narrow((wide)a.num * b.den, (wide)a.den * b.num);
}

int
rat_cmp(struct rat a, struct rat b)
{
	wide l = (wide)a.num * b.den, r = (wide)b.num * a.den;

	return (l > r) - (l < r);
}

bool
rat_is_zero(struct rat a)
{
	return a.num == 0;
}

char *
rat_format(struct rat a, char *buf, size_t len)
{
	snprintf(buf, len, "%" PRId64 "/%" PRId64, a.num, a.den);
	return buf;
}

char *
rat_percent(struct rat a, char *buf, size_t len)
{
	/* hundredths of a percent, rounded half away from zero */
	wide x = (wide)a.num * 10000, q;
	int64_t v;

	q = (wabs(x) * 2 + a.den) / (2 * (wide)a.den);
	assert(q <= INT64_MAX);
	v = (int64_t)q;
	snprintf(buf, len, "%s%" PRId64 ".%02" PRId64, x < 0 ? "-" : "",
	    v / 100, v % 100);
	return buf;
}
