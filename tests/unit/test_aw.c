/*
 * test_aw.c: the Adjusted Winner module (src/nego/aw.c) and its rationals.
 * Hand-worked tables for each branch of the procedure, then thousands of
 * random tables (fixed seed) checked for the properties the procedure
 * promises: equitable, envy-free, at most one split, and efficient, the
 * last against an exact brute-force search.
 */
#include <stdint.h>
#include <stdlib.h>

#include "../harness.h"
#include "nego/aw.h"
#include "nego/rational.h"

#define RANDOM_TABLES	20000
#define BRUTE_MAX	8	/* brute-force search up to this many issues */

static char *
fmt(struct rat r)
{
	static char buf[8][RAT_STR_MAX];
	static int k;

	k = (k + 1) % 8;
	return rat_format(r, buf[k], sizeof buf[k]);
}

/* ---- rationals ---- */

static void
test_rat_basics(void)
{
	char b[RAT_STR_MAX];

	CHECK_STR(fmt(rat_make(6, 8)), "3/4");
	CHECK_STR(fmt(rat_make(-6, -8)), "3/4");
	CHECK_STR(fmt(rat_make(6, -8)), "-3/4");
	CHECK_STR(fmt(rat_make(0, -5)), "0/1");
	CHECK_STR(fmt(rat_int(7)), "7/1");
	CHECK_STR(fmt(rat_add(rat_make(1, 3), rat_make(1, 6))), "1/2");
	CHECK_STR(fmt(rat_sub(rat_make(1, 3), rat_make(1, 2))), "-1/6");
	CHECK_STR(fmt(rat_mul(rat_make(2, 3), rat_make(9, 4))), "3/2");
	CHECK_STR(fmt(rat_div(rat_make(2, 3), rat_make(4, 9))), "3/2");
	CHECK_INT(rat_cmp(rat_make(1, 3), rat_make(2, 6)), 0);
	CHECK_INT(rat_cmp(rat_make(1, 3), rat_make(1, 2)), -1);
	CHECK_INT(rat_cmp(rat_make(-1, 2), rat_make(-1, 3)), -1);
	CHECK_INT(rat_cmp(rat_make(INT64_MAX, 1), rat_make(INT64_MAX - 1, 1)),
	    1);
	CHECK(rat_is_zero(rat_sub(rat_make(5, 7), rat_make(10, 14))));
	CHECK_STR(rat_percent(rat_make(13, 14), b, sizeof b), "92.86");
	CHECK_STR(rat_percent(rat_make(1, 14), b, sizeof b), "7.14");
	CHECK_STR(rat_percent(rat_make(1, 8), b, sizeof b), "12.50");
	CHECK_STR(rat_percent(rat_make(1, 80000), b, sizeof b), "0.00");
	CHECK_STR(rat_percent(rat_make(1, 20000), b, sizeof b), "0.01");
	CHECK_STR(rat_percent(rat_int(1), b, sizeof b), "100.00");
	CHECK_STR(rat_percent(rat_make(-1, 3), b, sizeof b), "-33.33");
}

/* ---- hand-worked tables ---- */

static void
check_shares(const struct aw_result *r, size_t i, const char *s0,
    const char *s1)
{
	CHECK_STR(fmt(r->share[i][0]), s0);
	CHECK_STR(fmt(r->share[i][1]), s1);
}

/* Winner phase already equal: 60 each, nothing moves. */
static void
test_aw_no_move(void)
{
	static const struct aw_table t = { 2, { { 60, 40 }, { 40, 60 } } };
	struct aw_result r;

	CHECK_INT(aw_divide(&t, &r), 0);
	CHECK_INT(r.leader, -1);
	CHECK_INT(r.nmoved, 0);
	CHECK_INT(r.split, -1);
	check_shares(&r, 0, "1/1", "0/1");
	check_shares(&r, 1, "0/1", "1/1");
	CHECK_STR(fmt(r.total[0]), "60/1");
	CHECK_STR(fmt(r.total[1]), "60/1");
}

/*
 * The ceasefire example (docs/adjusted-winner.md): north wins line,
 * demilitarised zone and monitoring (75), south prisoners and corridor
 * (52). North's issues by ratio: monitoring 10/8, line 40/30, zone 25/10.
 * Monitoring moves whole (65 to 60); moving the line would leave north at
 * 25 against 90, so the line is split: p = (60 - 65 + 40 + 30) / 70 = 13/14
 * for north, both totals 25 + 40 * 13/14 = 60 + 30 * 1/14 = 435/7.
 */
static void
test_aw_moves_then_split(void)
{
	static const struct aw_table t = { 5, {
		{ 40, 30 }, { 10, 35 }, { 25, 10 }, { 15, 17 }, { 10, 8 },
	} };
	struct aw_result r;

	CHECK_INT(aw_divide(&t, &r), 0);
	CHECK_INT(r.won[0], 75);
	CHECK_INT(r.won[1], 52);
	CHECK_INT(r.leader, 0);
	CHECK_INT(r.nmoved, 2);
	CHECK_INT(r.moved[0], 4);
	CHECK_INT(r.moved[1], 0);
	CHECK_INT(r.split, 0);
	check_shares(&r, 0, "13/14", "1/14");
	check_shares(&r, 1, "0/1", "1/1");
	check_shares(&r, 2, "1/1", "0/1");
	check_shares(&r, 3, "0/1", "1/1");
	check_shares(&r, 4, "0/1", "1/1");
	CHECK_STR(fmt(r.total[0]), "435/7");
	CHECK_STR(fmt(r.total[1]), "435/7");
}

/*
 * Tie, equal outright totals (30 each): the tied issue goes to the second
 * party, who then leads 80 to 30 and must give half of it back:
 * p = (30 - 80 + 50 + 50) / 100 = 1/2, totals 55.
 */
static void
test_aw_tie_to_second(void)
{
	static const struct aw_table t = { 3, { { 50, 50 }, { 30, 20 }, { 20, 30 } } };
	struct aw_result r;

	CHECK_INT(aw_divide(&t, &r), 0);
	CHECK(r.tied[0]);
	CHECK(!r.tied[1] && !r.tied[2]);
	CHECK_INT(r.winner[0], 1);
	CHECK_INT(r.won[0], 30);
	CHECK_INT(r.won[1], 80);
	CHECK_INT(r.leader, 1);
	CHECK_INT(r.split, 0);
	check_shares(&r, 0, "1/2", "1/2");
	check_shares(&r, 1, "1/1", "0/1");
	check_shares(&r, 2, "0/1", "1/1");
	CHECK_STR(fmt(r.total[0]), "55/1");
	CHECK_STR(fmt(r.total[1]), "55/1");
}

/*
 * Tie, fewer outright points for the first party (40 against 50): the
 * tied issue goes to it; it leads 80 to 50, the tie (ratio 1) moves
 * first and is split: p = (50 - 80 + 40 + 40) / 80 = 5/8, totals 65.
 */
static void
test_aw_tie_to_first(void)
{
	static const struct aw_table t = { 3, { { 40, 40 }, { 20, 50 }, { 40, 10 } } };
	struct aw_result r;

	CHECK_INT(aw_divide(&t, &r), 0);
	CHECK(r.tied[0]);
	CHECK_INT(r.winner[0], 0);
	CHECK_INT(r.won[0], 80);
	CHECK_INT(r.won[1], 50);
	CHECK_INT(r.split, 0);
	check_shares(&r, 0, "5/8", "3/8");
	check_shares(&r, 2, "1/1", "0/1");
	CHECK_STR(fmt(r.total[0]), "65/1");
	CHECK_STR(fmt(r.total[1]), "65/1");
}

/*
 * A zero-point issue listed first: south put 0 on issue 0, so its ratio
 * is infinite and it moves last even though it comes first. North leads
 * 100 to 80; issue 1 (ratio 3) is split: p = (80 - 100 + 60 + 20) / 80 =
 * 3/4, totals 85. (Moving issue 0 first would give 80 each instead.)
 */
static void
test_aw_zero_point_issue(void)
{
	static const struct aw_table t = { 3, { { 40, 0 }, { 60, 20 }, { 0, 80 } } };
	struct aw_result r;

	CHECK_INT(aw_divide(&t, &r), 0);
	CHECK_INT(r.leader, 0);
	CHECK_INT(r.nmoved, 1);
	CHECK_INT(r.split, 1);
	check_shares(&r, 0, "1/1", "0/1");
	check_shares(&r, 1, "3/4", "1/4");
	check_shares(&r, 2, "0/1", "1/1");
	CHECK_STR(fmt(r.total[0]), "85/1");
	CHECK_STR(fmt(r.total[1]), "85/1");
}

/*
 * An issue neither party cares about (0, 0) is a tie with an infinite
 * ratio: it goes to the first party (60 outright against 70) and is never
 * moved; south leads 70 to 60 and splits issue 2:
 * p = (60 - 70 + 70 + 40) / 110 = 10/11, totals 700/11.
 */
static void
test_aw_zero_zero_issue(void)
{
	static const struct aw_table t = { 3, { { 0, 0 }, { 60, 30 }, { 40, 70 } } };
	struct aw_result r;

	CHECK_INT(aw_divide(&t, &r), 0);
	CHECK(r.tied[0]);
	CHECK_INT(r.winner[0], 0);
	CHECK_INT(r.leader, 1);
	CHECK_INT(r.split, 2);
	check_shares(&r, 0, "1/1", "0/1");
	check_shares(&r, 2, "1/11", "10/11");
	CHECK_STR(fmt(r.total[0]), "700/11");
	CHECK_STR(fmt(r.total[1]), "700/11");
}

/* A whole move that lands exactly on equal totals stops with no split:
 * 70 to 60, issue 0 (6/4) moves, 64 each. */
static void
test_aw_whole_move_exact(void)
{
	static const struct aw_table t = { 3, { { 6, 4 }, { 64, 36 }, { 30, 60 } } };
	struct aw_result r;

	CHECK_INT(aw_divide(&t, &r), 0);
	CHECK_INT(r.leader, 0);
	CHECK_INT(r.nmoved, 1);
	CHECK_INT(r.moved[0], 0);
	CHECK_INT(r.split, -1);
	check_shares(&r, 0, "0/1", "1/1");
	check_shares(&r, 1, "1/1", "0/1");
	check_shares(&r, 2, "0/1", "1/1");
	CHECK_STR(fmt(r.total[0]), "64/1");
	CHECK_STR(fmt(r.total[1]), "64/1");
}

/* Equal ratios move in input order: issues 1 and 2 both 50/45; issue 1
 * is split, issue 2 stays. p = (10 - 100 + 95) / 95 = 1/19. */
static void
test_aw_equal_ratios_input_order(void)
{
	static const struct aw_table t = { 3, { { 0, 10 }, { 50, 45 }, { 50, 45 } } };
	struct aw_result r;

	CHECK_INT(aw_divide(&t, &r), 0);
	CHECK_INT(r.split, 1);
	check_shares(&r, 1, "1/19", "18/19");
	check_shares(&r, 2, "1/1", "0/1");
	CHECK_STR(fmt(r.total[0]), "1000/19");
}

static void
test_aw_refuses(void)
{
	static const struct aw_table one = { 1, { { 100, 100 } } };
	static const struct aw_table neg = { 2, { { 110, 50 }, { -10, 50 } } };
	static const struct aw_table big = { 2, { { 101, 50 }, { 0, 50 } } };
	static const struct aw_table sum = { 2, { { 50, 50 }, { 40, 50 } } };
	static struct aw_table many;
	struct aw_result r;
	int party = -1, s = -1;

	CHECK_INT(aw_divide(&one, &r), ERR_INVALID);
	CHECK_INT(aw_divide(&neg, &r), ERR_INVALID);
	CHECK_INT(aw_divide(&big, &r), ERR_INVALID);
	CHECK_INT(aw_divide(&sum, &r), ERR_INVALID);
	CHECK_INT(aw_check(&sum, &party, &s), ERR_INVALID);
	CHECK_INT(party, 0);
	CHECK_INT(s, 90);
	many.n = AW_MAX_ISSUES + 1;
	many.points[0][0] = many.points[1][1] = 100;
	CHECK_INT(aw_divide(&many, &r), ERR_INVALID);
	many.n = AW_MAX_ISSUES;
	CHECK_INT(aw_divide(&many, &r), 0);
	CHECK_STR(fmt(r.total[0]), "100/1");
	CHECK_STR(fmt(r.total[1]), "100/1");
}

/* ---- random tables ---- */

static uint64_t prng_state = 0x5eedc0ffee15a1e5ULL;

/* splitmix64 */
static uint64_t
prng(void)
{
	uint64_t z = (prng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int
below(int n)
{
	return (int)(prng() % (uint64_t)n);
}

/* A random composition of 100 into n parts (zeros allowed). */
static void
compose(struct aw_table *t, int p)
{
	int cut[AW_MAX_ISSUES + 1];
	size_t n = t->n, k = n - 1;

	for (size_t i = 0; i < k; i++) {
		int c = below(AW_POINTS + 1), j = (int)i;

		while (j > 0 && cut[j - 1] > c) {
			cut[j] = cut[j - 1];
			j--;
		}
		cut[j] = c;
	}
	for (size_t i = 0; i < n; i++) {
		int lo = i == 0 ? 0 : cut[i - 1], hi = i == k ? AW_POINTS :
		    cut[i];
		t->points[i][p] = hi - lo;
	}
}

/* Moves up to `units` points of party p between random issues. */
static void
perturb(struct aw_table *t, int p, int units)
{
	size_t n = t->n;
	int (*pts)[2] = t->points;

	for (int u = 0; u < units; u++) {
		size_t from = (size_t)below((int)n), to = (size_t)below((int)n);

		if (pts[from][p] > 0) {
			pts[from][p]--;
			pts[to][p]++;
		}
	}
}

static void
random_table(struct aw_table *t, size_t n)
{
	int (*pts)[2] = t->points;

	t->n = n;
	compose(t, 0);
	switch (below(4)) {
	case 0:		/* close to the first party: many ties */
		for (size_t i = 0; i < n; i++)
			pts[i][1] = pts[i][0];
		perturb(t, 1, below(6));
		break;
	case 1:		/* some issues worth nothing to one side */
		compose(t, 1);
		for (size_t i = 0; i < n; i++)
			if (below(3) == 0) {
				int p = below(2);
				size_t to = (size_t)below((int)n);

				if (to == i)
					continue;
				pts[to][p] += pts[i][p];
				pts[i][p] = 0;
			}
		break;
	default:
		compose(t, 1);
		break;
	}
}

/*
 * Is there a division with at most one split issue that gives both
 * parties strictly more than x (strict), or one more and neither less
 * (!strict)? Every Pareto improvement over a fractional division can be
 * taken with at most one split issue (a fractional knapsack has an optimal
 * solution with one fractional item), so this searches all divisions.
 * For split issue s and whole assignment of the rest, A gets
 * f(p) = alpha + p a_s and B gets g(p) = beta + (1 - p) b_s, p in [0, 1].
 */
static bool
dominated(const struct aw_table *t, struct rat x, bool strict)
{
	size_t n = t->n;
	const int (*pts)[2] = t->points;

	for (size_t s = 0; s < n; s++) {
		int as = pts[s][0], bs = pts[s][1];

		for (uint32_t mask = 0; mask < (1u << n); mask++) {
			int alpha = 0, beta = 0;
			struct rat cand[3], lo, hi;
			size_t nc = 0;

			if (mask & (1u << s))
				continue;
			for (size_t i = 0; i < n; i++) {
				if (i == s)
					continue;
				if (mask & (1u << i))
					alpha += pts[i][0];
				else
					beta += pts[i][1];
			}
			if (strict) {
				/* min(f, g) is concave: its maximum over
				 * [0, 1] is at an end or where f == g */
				cand[nc++] = rat_int(0);
				cand[nc++] = rat_int(1);
				if (as + bs > 0) {
					struct rat c = rat_make(beta + bs -
					    alpha, as + bs);
					if (rat_cmp(c, rat_int(0)) >= 0 &&
					    rat_cmp(c, rat_int(1)) <= 0)
						cand[nc++] = c;
				}
			} else {
				/* where f >= x and g >= x: an interval */
				lo = rat_int(0);
				hi = rat_int(1);
				if (as > 0) {
					struct rat c = rat_make(
					    x.num - alpha * x.den,
					    (int64_t)as * x.den);
					if (rat_cmp(c, lo) > 0)
						lo = c;
				}
				if (bs > 0) {
					struct rat c = rat_make(
					    (int64_t)(beta + bs) * x.den -
					    x.num, (int64_t)bs * x.den);
					if (rat_cmp(c, hi) < 0)
						hi = c;
				}
				if (rat_cmp(lo, hi) > 0)
					continue;
				cand[nc++] = lo;
				cand[nc++] = hi;
			}
			for (size_t c = 0; c < nc; c++) {
				struct rat p = cand[c], f, g;
				int cf, cg;

				f = rat_add(rat_int(alpha),
				    rat_mul(p, rat_int(as)));
				g = rat_add(rat_int(beta), rat_mul(
				    rat_sub(rat_int(1), p), rat_int(bs)));
				cf = rat_cmp(f, x);
				cg = rat_cmp(g, x);
				if (strict && cf > 0 && cg > 0)
					return true;
				if (!strict && cf >= 0 && cg >= 0 &&
				    (cf > 0 || cg > 0))
					return true;
			}
		}
	}
	return false;
}

/*
 * The rules themselves, recomputed independently: the winner phase (more
 * points wins; all ties to the party with fewer outright points, equal to
 * the second), issues that did not move stay with their winner, moved
 * issues come from the leader, and the order of moves is by ratio.
 */
static void
check_rules(const struct aw_table *t, const struct aw_result *r)
{
	const int (*pts)[2] = t->points;
	int outright[2] = { 0, 0 }, won[2] = { 0, 0 }, tie_to;
	bool moved[AW_MAX_ISSUES] = { false };

	for (size_t i = 0; i < t->n; i++)
		if (pts[i][0] != pts[i][1])
			outright[pts[i][0] > pts[i][1] ? 0 : 1] +=
			    pts[i][pts[i][0] > pts[i][1] ? 0 : 1];
	tie_to = outright[0] < outright[1] ? 0 : 1;
	for (size_t i = 0; i < t->n; i++) {
		int w = pts[i][0] == pts[i][1] ? tie_to :
		    pts[i][0] > pts[i][1] ? 0 : 1;

		CHECK_INT(r->winner[i], w);
		won[w] += pts[i][w];
	}
	CHECK_INT(r->won[0], won[0]);
	CHECK_INT(r->won[1], won[1]);
	CHECK_INT(r->leader, won[0] == won[1] ? -1 : won[0] > won[1] ? 0 : 1);
	for (size_t m = 0; m < r->nmoved; m++) {
		size_t i = r->moved[m];

		moved[i] = true;
		CHECK_INT(r->winner[i], r->leader);
		if (m + 1 < r->nmoved || r->split < 0)
			CHECK_INT(rat_cmp(r->share[i][r->leader], rat_int(0)),
			    0);
		if (m > 0) {
			/* non-decreasing ratio vL / vT, infinity last */
			size_t j = r->moved[m - 1];
			int l = r->leader, tr = 1 - l;

			if (pts[i][tr] != 0)
				CHECK(pts[j][tr] != 0 && pts[j][l] * pts[i][tr]
				    <= pts[i][l] * pts[j][tr]);
		}
	}
	for (size_t i = 0; i < t->n; i++)
		if (!moved[i])
			CHECK_INT(rat_cmp(r->share[i][r->winner[i]],
			    rat_int(1)), 0);
}

/* Checks one result against the properties; returns false on a failure
 * (the CHECKs print it). */
static bool
check_properties(const struct aw_table *t, const struct aw_result *r,
    bool brute)
{
	size_t n = t->n;
	const int (*pts)[2] = t->points;
	int failed_before = harness_test_failed;
	struct rat sum[2] = { rat_int(0), rat_int(0) }, fifty = rat_int(50);
	size_t nsplit = 0;

	for (size_t i = 0; i < n; i++) {
		bool whole = r->share[i][0].den == 1;

		CHECK(rat_cmp(r->share[i][0], rat_int(0)) >= 0);
		CHECK(rat_cmp(r->share[i][1], rat_int(0)) >= 0);
		CHECK_INT(rat_cmp(rat_add(r->share[i][0], r->share[i][1]),
		    rat_int(1)), 0);
		if (!whole) {
			nsplit++;
			CHECK_INT(r->split, (long long)i);
		}
		for (int p = 0; p < 2; p++)
			sum[p] = rat_add(sum[p], rat_mul(r->share[i][p],
			    rat_int(pts[i][p])));
	}
	CHECK(nsplit <= 1);
	check_rules(t, r);
	/* the totals are what the shares are worth */
	CHECK_INT(rat_cmp(sum[0], r->total[0]), 0);
	CHECK_INT(rat_cmp(sum[1], r->total[1]), 0);
	/* equitable */
	CHECK_INT(rat_cmp(r->total[0], r->total[1]), 0);
	/* envy-free: each values its own share at least half, so at least
	 * as much as the other's (its complement) */
	CHECK(rat_cmp(r->total[0], fifty) >= 0);
	CHECK(rat_cmp(r->total[1], fifty) >= 0);
	/* efficient */
	if (brute) {
		CHECK(!dominated(t, r->total[0], true));
		CHECK(!dominated(t, r->total[0], false));
	}
	if (harness_test_failed != failed_before) {
		printf("    table:");
		for (size_t i = 0; i < n; i++)
			printf(" %d/%d", pts[i][0], pts[i][1]);
		printf("\n");
		return false;
	}
	return true;
}

/* The brute force must find a dominating division when there is one. */
static void
test_brute_force_finds(void)
{
	static const struct aw_table t = { 2, { { 60, 40 }, { 40, 60 } } };

	/* giving each its issue yields 60 each: 50 each is dominated */
	CHECK(dominated(&t, rat_int(50), true));
	CHECK(dominated(&t, rat_int(59), true));
	CHECK(!dominated(&t, rat_int(60), true));
	CHECK(dominated(&t, rat_make(119, 2), false));
	CHECK(!dominated(&t, rat_int(60), false));
}

static void
test_aw_random_tables(void)
{
	struct aw_table t;
	struct aw_result r;
	int splits = 0, nomove = 0, exact = 0, ties = 0, zeros = 0, bad = 0;

	for (int k = 0; k < RANDOM_TABLES && bad < 5; k++) {
		size_t n = 2 + (size_t)below(7);	/* 2..8 */

		random_table(&t, n);
		CHECK_INT(aw_check(&t, NULL, NULL), 0);
		if (aw_divide(&t, &r) != 0 ||
		    !check_properties(&t, &r, n <= BRUTE_MAX))
			bad++;
		splits += r.split >= 0;
		nomove += r.leader < 0;
		exact += r.leader >= 0 && r.split < 0;
		for (size_t i = 0; i < n; i++) {
			ties += r.tied[i];
			zeros += t.points[i][0] == 0 || t.points[i][1] == 0;
		}
	}
	printf("    %d tables: %d split, %d no move, %d exact whole move; "
	    "%d tied and %d zero-point issues\n", RANDOM_TABLES, splits,
	    nomove, exact, ties, zeros);
	/* the generator must reach every branch, or the test proves little */
	CHECK(splits > 0 && nomove > 0 && exact > 0 && ties > 0 && zeros > 0);
}

/* Bigger tables, up to the maximum, without the brute force. */
static void
test_aw_random_large(void)
{
	struct aw_table t;
	struct aw_result r;
	int bad = 0;

	for (int k = 0; k < 2000 && bad < 5; k++) {
		size_t n = 9 + (size_t)below(AW_MAX_ISSUES - 8);

		random_table(&t, n);
		CHECK_INT(aw_check(&t, NULL, NULL), 0);
		if (aw_divide(&t, &r) != 0 || !check_properties(&t, &r, false))
			bad++;
	}
}

int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	RUN(test_rat_basics);
	RUN(test_aw_no_move);
	RUN(test_aw_moves_then_split);
	RUN(test_aw_tie_to_second);
	RUN(test_aw_tie_to_first);
	RUN(test_aw_zero_point_issue);
	RUN(test_aw_zero_zero_issue);
	RUN(test_aw_whole_move_exact);
	RUN(test_aw_equal_ratios_input_order);
	RUN(test_aw_refuses);
	RUN(test_brute_force_finds);
	RUN(test_aw_random_tables);
	RUN(test_aw_random_large);
	return harness_summary();
}
