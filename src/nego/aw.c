/*
 * aw.c: the Adjusted Winner procedure; see aw.h for the rules and the
 * bounds, docs/adjusted-winner.md for the why. Exact rationals throughout.
 */
#include "nego/aw.h"

#include <assert.h>
#include <string.h>

int
aw_check(const struct aw_table *t, int *party_out, int *sum_out)
{
	int sum[AW_PARTIES] = { 0, 0 };
	size_t n = t->n;
	const int (*points)[AW_PARTIES] = t->points;

	if (n < AW_MIN_ISSUES || n > AW_MAX_ISSUES)
		return ERR_INVALID;
	for (size_t i = 0; i < n; i++)
		for (int p = 0; p < AW_PARTIES; p++) {
			if (points[i][p] < 0 || points[i][p] > AW_POINTS)
				return ERR_INVALID;
			sum[p] += points[i][p];
		}
	for (int p = 0; p < AW_PARTIES; p++)
		if (sum[p] != AW_POINTS) {
			if (party_out != NULL)
				*party_out = p;
			if (sum_out != NULL)
				*sum_out = sum[p];
			return ERR_INVALID;
		}
	return 0;
}

/* Winner phase: fills winner, tied, won and the whole shares. */
static void
winner_phase(size_t n, const int points[][AW_PARTIES], struct aw_result *res)
{
	int outright[AW_PARTIES] = { 0, 0 }, tie_to;

	for (size_t i = 0; i < n; i++) {
		if (points[i][0] == points[i][1]) {
			res->tied[i] = true;
			continue;
		}
		res->winner[i] = points[i][0] > points[i][1] ? 0 : 1;
		outright[res->winner[i]] += points[i][res->winner[i]];
	}
	/* All tied issues go to the party with fewer outright points; on
	 * equal outright totals to the second party. */
	tie_to = outright[0] < outright[1] ? 0 : 1;
	res->won[0] = res->won[1] = 0;
	for (size_t i = 0; i < n; i++) {
		int w;

		if (res->tied[i])
			res->winner[i] = tie_to;
		w = res->winner[i];
		res->won[w] += points[i][w];
		res->share[i][w] = rat_int(1);
		res->share[i][1 - w] = rat_int(0);
	}
}

/* Is moving issue i (ratio vl/vt) strictly after issue j? vt == 0 is an
 * infinite ratio; two infinite ratios are equal. */
static bool
ratio_after(const int points[][AW_PARTIES], int lead, size_t i, size_t j)
{
	int tr = 1 - lead;
	long li = points[i][lead], ti = points[i][tr];
	long lj = points[j][lead], tj = points[j][tr];

	if (ti == 0)
		return tj != 0;
	if (tj == 0)
		return false;
	return li * tj > lj * ti;
}

/* The leader's issues in moving order (stable insertion sort). */
static size_t
move_order(size_t n, const int points[][AW_PARTIES], int lead,
    const int winner[], size_t order[AW_MAX_ISSUES])
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		size_t at;

		if (winner[i] != lead)
			continue;
		at = k++;
		while (at > 0 && ratio_after(points, lead, order[at - 1], i)) {
			order[at] = order[at - 1];
			at--;
		}
		order[at] = i;
	}
	return k;
}

/* Adjustment phase: moves the leader's issues until the totals are equal. */
static void
adjust(size_t n, const int points[][AW_PARTIES], struct aw_result *res)
{
	size_t order[AW_MAX_ISSUES], k;
	int lead = res->leader, tr = 1 - lead;
	int L = res->won[lead], T = res->won[tr];

	k = move_order(n, points, lead, res->winner, order);
	for (size_t m = 0; m < k && L > T; m++) {
		size_t i = order[m];
		int vl = points[i][lead], vt = points[i][tr];

		res->moved[res->nmoved++] = i;
		if (L - vl >= T + vt) {
			/* whole move; the leader stays at or above */
			L -= vl;
			T += vt;
			res->share[i][lead] = rat_int(0);
			res->share[i][tr] = rat_int(1);
			continue;
		}
		/* L - vL + p vL = T + (1 - p) vT; vl + vt > L - T > 0 */
		res->split = (int)i;
		res->share[i][lead] = rat_make(T - L + vl + vt, vl + vt);
		res->share[i][tr] = rat_sub(rat_int(1), res->share[i][lead]);
		res->total[lead] = rat_add(rat_int(L - vl),
		    rat_mul(res->share[i][lead], rat_int(vl)));
		res->total[tr] = rat_add(rat_int(T),
		    rat_mul(res->share[i][tr], rat_int(vt)));
		assert(rat_cmp(res->total[lead], res->total[tr]) == 0);
		return;
	}
	/* Without a split the loop ends only on equal totals: were every
	 * issue of the leader moved while it still led, it would hold 0. */
	assert(L == T);
	res->total[lead] = rat_int(L);
	res->total[tr] = rat_int(T);
}

int
aw_divide(const struct aw_table *t, struct aw_result *res)
{
	size_t n = t->n;
	const int (*points)[AW_PARTIES] = t->points;

	memset(res, 0, sizeof *res);
	if (aw_check(t, NULL, NULL) != 0)
		return ERR_INVALID;
	res->n = n;
	res->split = -1;
	winner_phase(n, points, res);
	if (res->won[0] == res->won[1]) {
		res->leader = -1;
		res->total[0] = rat_int(res->won[0]);
		res->total[1] = rat_int(res->won[1]);
		return 0;
	}
	res->leader = res->won[0] > res->won[1] ? 0 : 1;
	adjust(n, points, res);
	return 0;
}
