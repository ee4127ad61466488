/*
 * aw.h: the Adjusted Winner procedure (Brams and Taylor) for two parties,
 * exact. Each party spreads AW_POINTS points over the issues; the result
 * says which share of each issue each party gets. Pure: no I/O, no
 * allocation; the caller owns every struct. The procedure, its tie rules
 * and its properties are in docs/adjusted-winner.md.
 *
 * 1. Winner phase: an issue goes to the party that put more points on it.
 *    Tied issues all go together to the party whose total from the issues
 *    it won outright is smaller; on equal totals to the second party.
 * 2. If the totals (each in its own points) are equal, stop. Otherwise the
 *    leader's issues move to the trailer in increasing order of the ratio
 *    leader's points / trailer's points (trailer's points 0: infinite ratio,
 *    moved last; equal ratios in input order), each moved whole while the
 *    leader stays at or above the trailer; a whole move that makes the
 *    totals equal stops the procedure with no split. The first issue whose
 *    whole move would put the leader behind is split so that the totals
 *    become equal. At most one issue is split.
 *
 * Bounds (why int64_t rationals never overflow): points are whole numbers
 * 0..AW_POINTS and each party's sum is AW_POINTS, so every total is in
 * [0, 100]. The only division is by vL + vT <= 200 for the split issue, so
 * every share and total is a fraction with denominator <= 200 and
 * numerator <= 100 * 200. rational.c computes in 128 bits besides.
 */
#ifndef PARLEY_NEGO_AW_H
#define PARLEY_NEGO_AW_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"
#include "nego/rational.h"

#define AW_MAX_ISSUES	64	/* the most issues a table may have */
#define AW_MIN_ISSUES	2
#define AW_POINTS	100	/* each party's points sum to this */
#define AW_PARTIES	2

/* The input: n issues; points[i][p] is party p's points on issue i. */
struct aw_table {
	size_t		n;
	int		points[AW_MAX_ISSUES][AW_PARTIES];
};

struct aw_result {
	size_t		n;				/* issues */
	/* share[i][p]: the fraction of issue i that party p gets */
	struct rat	share[AW_MAX_ISSUES][AW_PARTIES];
	/* total[p]: what party p gets, counted in its own points */
	struct rat	total[AW_PARTIES];
	/* After the winner phase: */
	int		winner[AW_MAX_ISSUES];		/* 0 or 1 */
	bool		tied[AW_MAX_ISSUES];		/* equal points */
	int		won[AW_PARTIES];		/* totals then */
	int		leader;		/* -1 when those totals were equal */
	/* The adjustment phase: issues moved from the leader, in order; the
	 * last of them is the split issue when split >= 0. */
	size_t		moved[AW_MAX_ISSUES];
	size_t		nmoved;
	int		split;		/* index of the split issue or -1 */
};

/*
 * Runs the procedure on the table t. Fills *res. ERR_INVALID when t->n is outside [AW_MIN_ISSUES,
 * AW_MAX_ISSUES], a point value is outside [0, AW_POINTS] or a party's
 * points do not sum to AW_POINTS (res is then zeroed). Deterministic.
 */
int aw_divide(const struct aw_table *t, struct aw_result *res) WUR;

/*
 * Checks a table as aw_divide() would. Returns 0 or ERR_INVALID; when
 * party_out is not NULL and a sum is wrong, sets it to the first party
 * whose sum is wrong and *sum_out to that sum.
 */
int aw_check(const struct aw_table *t, int *party_out, int *sum_out) WUR;

#endif
