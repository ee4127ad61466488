/*
 * aw_fuzz.c: libFuzzer target for aw_divide, the Adjusted Winner
 * procedure behind `parley aw` (docs/adjusted-winner.md), on tables built
 * from the input. (The JSON reading of `parley aw` is static in
 * src/cli/aw.c, interleaved with its messages; it is jansson plus range
 * checks, and what it hands on is such a table.)
 *
 * The first byte: bit 0 picks the mode, the rest the issue count.
 * Raw mode: any points (also negative, over 100, sums not 100, counts
 * outside 2..64): aw_divide must refuse exactly what aw_check refuses.
 * Valid mode: the bytes are weights scaled to 100 points per party: then
 * aw_divide must succeed, deterministically, with each issue shared out
 * whole (shares in [0, 1] summing to 1), at most one issue split (the one
 * it names), totals that are what the shares give, and equal totals (the
 * procedure's equitability).
 *
 *   make fuzz (seeds: fuzz/corpus/aw_fuzz/)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nego/aw.h"
#include "nego/rational.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Party p's points from weights w[0..n), largest remainder to 100. */
static void
scale(struct aw_table *t, int p, const unsigned w[AW_MAX_ISSUES])
{
	unsigned sum = 0, given = 0, rem[AW_MAX_ISSUES];

	for (size_t i = 0; i < t->n; i++)
		sum += w[i];
	for (size_t i = 0; i < t->n; i++) {
		t->points[i][p] = (int)(w[i] * AW_POINTS / sum);
		rem[i] = w[i] * AW_POINTS % sum;
		given += (unsigned)t->points[i][p];
	}
	while (given < AW_POINTS) {
		size_t best = 0;
		for (size_t i = 1; i < t->n; i++)
			if (rem[i] > rem[best])
				best = i;
		t->points[best][p]++;
		rem[best] = 0;
		given++;
	}
}

static void
check(const struct aw_table *t, const struct aw_result *res)
{
	struct rat one = rat_int(1), zero = rat_int(0), tot[AW_PARTIES];
	size_t nsplit = 0;

	tot[0] = tot[1] = zero;
	if (res->n != t->n)
		abort();
	for (size_t i = 0; i < t->n; i++) {
		const struct rat *s = res->share[i];
		if (rat_cmp(rat_add(s[0], s[1]), one) != 0)
			abort();	/* an issue not shared out whole */
		for (int p = 0; p < AW_PARTIES; p++) {
			if (rat_cmp(s[p], zero) < 0 || rat_cmp(s[p], one) > 0)
				abort();
			tot[p] = rat_add(tot[p], rat_mul(s[p],
			    rat_int(t->points[i][p])));
		}
		if (!rat_is_zero(s[0]) && !rat_is_zero(s[1])) {
			nsplit++;
			if ((int)i != res->split)
				abort();	/* split, and not the one named */
		}
	}
	if (nsplit > 1 || res->split >= (int)t->n)
		abort();
	for (int p = 0; p < AW_PARTIES; p++)
		if (rat_cmp(tot[p], res->total[p]) != 0)
			abort();	/* totals not what the shares give */
	if (rat_cmp(res->total[0], res->total[1]) != 0)
		abort();		/* not equitable */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct aw_result res, again;
	struct aw_table t;
	unsigned w[AW_PARTIES][AW_MAX_ISSUES];
	size_t k = 1;
	int r;

	if (size < 1)
		return 0;
	memset(&t, 0, sizeof t);
	if ((data[0] & 1) == 0) {		/* raw */
		t.n = (size_t)(data[0] >> 1) % (AW_MAX_ISSUES + 4);
		for (size_t i = 0; i < t.n && i < AW_MAX_ISSUES; i++)
			for (int p = 0; p < AW_PARTIES; p++, k++)
				t.points[i][p] = k < size ?
				    (int)(data[k] % 126) - 5 : 0;
		r = aw_divide(&t, &res);
		if ((r == 0) != (aw_check(&t, NULL, NULL) == 0))
			abort();
		if (r == 0)
			check(&t, &res);
		return 0;
	}
	t.n = AW_MIN_ISSUES + (size_t)(data[0] >> 1) %
	    (AW_MAX_ISSUES - AW_MIN_ISSUES + 1);
	for (int p = 0; p < AW_PARTIES; p++) {
		unsigned sum = 0;
		for (size_t i = 0; i < t.n; i++, k++) {
			w[p][i] = k < size ? data[k] : 0;
			sum += w[p][i];
		}
		if (sum == 0)
			w[p][0] = 1;
		scale(&t, p, w[p]);
	}
	if (aw_check(&t, NULL, NULL) != 0 || aw_divide(&t, &res) != 0 ||
	    aw_divide(&t, &again) != 0 || memcmp(&res, &again, sizeof res))
		abort();
	check(&t, &res);
	return 0;
}
