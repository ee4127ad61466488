/*
 * rational.h: exact rational numbers with int64_t numerator and denominator,
 * always in lowest terms with a positive denominator, so that two equal
 * values have equal fields. Used by the Adjusted Winner procedure (aw.h),
 * which must never round.
 *
 * Intermediate products are computed in 128 bits and reduced before they
 * are narrowed; a result that still does not fit in int64_t is a bug in the
 * caller's bounds (aw.h documents its bounds: every value there is at most
 * 100 with a denominator of at most 200), so it trips an assert rather than
 * wrapping silently. Nothing here allocates or does I/O.
 */
#ifndef PARLEY_NEGO_RATIONAL_H
#define PARLEY_NEGO_RATIONAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rat {
	int64_t	num;	/* sign carrier */
	int64_t	den;	/* > 0; gcd(|num|, den) == 1; 0 is 0/1 */
};

/* The longest "p/q" that rat_format() can write, with its NUL. */
#define RAT_STR_MAX 48

/* num/den in lowest terms. den must not be 0 (asserted). */
struct rat rat_make(int64_t num, int64_t den);
/* The whole number n, as n/1. */
struct rat rat_int(int64_t n);

struct rat rat_add(struct rat a, struct rat b);
struct rat rat_sub(struct rat a, struct rat b);
struct rat rat_mul(struct rat a, struct rat b);
/* a / b; b must not be 0 (asserted). */
struct rat rat_div(struct rat a, struct rat b);

/* -1, 0 or 1 as a < b, a == b, a > b; exact. */
int rat_cmp(struct rat a, struct rat b);
bool rat_is_zero(struct rat a);

/*
 * Writes "p/q" (whole numbers as "n/1") into buf of size len and returns
 * buf. A len of RAT_STR_MAX always suffices; a shorter buffer truncates.
 */
char *rat_format(struct rat a, char *buf, size_t len);

/*
 * Writes a * 100 as a decimal with two places, rounded half away from
 * zero (13/14 gives "92.86"), using integer arithmetic only.
 */
char *rat_percent(struct rat a, char *buf, size_t len);

#endif
