/*
 * aw.c: parley aw FILE.json [--json]. Reads a points table for two parties,
 * runs the Adjusted Winner procedure (src/nego/aw.h) and prints the
 * package: a table for people, or exact fractions with --json. Needs no
 * daemon and touches no node state. The input and output formats and the
 * procedure are in docs/adjusted-winner.md; every refusal names the
 * problem and exits CLI_USAGE (2).
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "cli/cli.h"
#include "nego/aw.h"
#include "nego/rational.h"

#define AW_FILE_MAX	(1024 * 1024)	/* bytes of input read at most */
#define AW_NAME_MAX	100		/* bytes in a party or issue name */

struct awin {
	const char	*path;
	const char	*party[AW_PARTIES];	/* borrowed from root */
	const char	*issue[AW_MAX_ISSUES];	/* borrowed from root */
	struct aw_table	 table;
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: parley aw FILE.json [--json]\n\n"
	    "Divides the issues of FILE between two parties by the Adjusted "
	    "Winner\nprocedure. FILE holds {\"parties\": [A, B], \"issues\": "
	    "[{\"name\": N,\n\"points\": [a, b]}, ...]}: each party spreads "
	    "100 whole points over\n2 to %d issues. --json prints each "
	    "party's share of each issue and its\ntotal as exact fractions. "
	    "See docs/adjusted-winner.md.\n", AW_MAX_ISSUES);
}

/* Prints "parley aw: FILE: <message>" and returns CLI_USAGE. */
static int refuse(const struct awin *in, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
refuse(const struct awin *in, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "parley aw: %s: ", in->path);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CLI_USAGE;
}

/* A name is a non-empty string of at most AW_NAME_MAX bytes without
 * control characters (it is printed on an operator's terminal). */
static const char *
name_problem(const json_t *v)
{
	const char *s;

	if (!json_is_string(v))
		return "must be a string";
	s = json_string_value(v);
	if (*s == '\0')
		return "must not be empty";
	if (json_string_length(v) > AW_NAME_MAX)
		return "is longer than 100 bytes";
	if (strlen(s) != json_string_length(v))
		return "contains a NUL character";
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return "contains a control character";
	return NULL;
}

/* Refuses any key of obj outside the NULL-terminated list allowed. */
static int
only_keys(const struct awin *in, const json_t *obj, const char *where,
    const char *const allowed[])
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)(uintptr_t)obj, key, v) {
		size_t k;

		for (k = 0; allowed[k] != NULL; k++)
			if (strcmp(key, allowed[k]) == 0)
				break;
		if (allowed[k] == NULL)
			return refuse(in, "%sunknown field \"%s\"", where, key);
	}
	return 0;
}

static int
parse_parties(struct awin *in, const json_t *root)
{
	const json_t *a = json_object_get(root, "parties");
	const char *why;

	if (a == NULL)
		return refuse(in, "missing field \"parties\"");
	if (!json_is_array(a))
		return refuse(in, "\"parties\" must be an array of two names");
	if (json_array_size(a) != AW_PARTIES)
		return refuse(in, "\"parties\" must name exactly two parties, "
		    "not %zu", json_array_size(a));
	for (size_t p = 0; p < AW_PARTIES; p++) {
		const json_t *v = json_array_get(a, p);

		if ((why = name_problem(v)) != NULL)
			return refuse(in, "party %zu's name %s", p + 1, why);
		in->party[p] = json_string_value(v);
	}
	if (strcmp(in->party[0], in->party[1]) == 0)
		return refuse(in, "both parties are named \"%s\"",
		    in->party[0]);
	return 0;
}

/* One party's points on one issue: a whole number in [0, AW_POINTS]. */
static int
parse_points(struct awin *in, size_t i, size_t p, const json_t *v)
{
	json_int_t x;

	if (!json_is_integer(v)) {
		char *s = json_dumps(v, JSON_ENCODE_ANY);
		int r = refuse(in, "issue \"%s\": %s's points must be a whole "
		    "number like 25, not %s", in->issue[i], in->party[p],
		    s != NULL ? s : "that");
		free(s);
		return r;
	}
	x = json_integer_value(v);
	if (x < 0)
		return refuse(in, "issue \"%s\": %s's points are negative "
		    "(%" JSON_INTEGER_FORMAT ")", in->issue[i], in->party[p], x);
	if (x > AW_POINTS)
		return refuse(in, "issue \"%s\": %s's points exceed %d "
		    "(%" JSON_INTEGER_FORMAT ")", in->issue[i], in->party[p],
		    AW_POINTS, x);
	in->table.points[i][p] = (int)x;
	return 0;
}

static int
parse_issue(struct awin *in, size_t i, const json_t *o)
{
	static const char *const keys[] = { "name", "points", NULL };
	const json_t *name, *pts;
	const char *why;
	char where[32];
	int r;

	if (!json_is_object(o))
		return refuse(in, "issue %zu must be an object", i + 1);
	snprintf(where, sizeof where, "issue %zu: ", i + 1);
	if ((name = json_object_get(o, "name")) == NULL)
		return refuse(in, "%smissing field \"name\"", where);
	if ((why = name_problem(name)) != NULL)
		return refuse(in, "%s\"name\" %s", where, why);
	in->issue[i] = json_string_value(name);
	for (size_t j = 0; j < i; j++)
		if (strcmp(in->issue[j], in->issue[i]) == 0)
			return refuse(in, "duplicate issue name \"%s\" "
			    "(issues %zu and %zu)", in->issue[i], j + 1, i + 1);
	if ((r = only_keys(in, o, where, keys)) != 0)
		return r;
	if ((pts = json_object_get(o, "points")) == NULL)
		return refuse(in, "issue \"%s\": missing field \"points\"",
		    in->issue[i]);
	if (!json_is_array(pts) || json_array_size(pts) != AW_PARTIES)
		return refuse(in, "issue \"%s\": \"points\" must be an array "
		    "of two numbers, one per party", in->issue[i]);
	for (size_t p = 0; p < AW_PARTIES; p++)
		if ((r = parse_points(in, i, p, json_array_get(pts, p))) != 0)
			return r;
	return 0;
}

/* Fills in from the JSON document root, or refuses. */
static int
parse(struct awin *in, const json_t *root)
{
	static const char *const keys[] = { "parties", "issues", NULL };
	const json_t *a;
	int party, sum, r;
	size_t n;

	if (!json_is_object(root))
		return refuse(in, "the top level must be an object with "
		    "\"parties\" and \"issues\"");
	if ((r = only_keys(in, root, "", keys)) != 0 ||
	    (r = parse_parties(in, root)) != 0)
		return r;
	if ((a = json_object_get(root, "issues")) == NULL)
		return refuse(in, "missing field \"issues\"");
	if (!json_is_array(a))
		return refuse(in, "\"issues\" must be an array");
	n = json_array_size(a);
	if (n < AW_MIN_ISSUES)
		return refuse(in, "fewer than two issues (%zu): there is "
		    "nothing to trade", n);
	if (n > AW_MAX_ISSUES)
		return refuse(in, "too many issues: %zu (at most %d)", n,
		    AW_MAX_ISSUES);
	in->table.n = n;
	for (size_t i = 0; i < n; i++)
		if ((r = parse_issue(in, i, json_array_get(a, i))) != 0)
			return r;
	if (aw_check(&in->table, &party, &sum) != 0)
		return refuse(in, "party %s's points sum to %d, not %d",
		    in->party[party], sum, AW_POINTS);
	return 0;
}

/* ---- output ---- */

static int
print_json(const struct awin *in, const struct aw_result *res)
{
	char b[AW_PARTIES][RAT_STR_MAX];
	json_t *root, *issues;
	char *s;

	if ((root = json_object()) == NULL ||
	    json_object_set_new(root, "issues", issues = json_array()) != 0)
		goto nomem;
	for (size_t i = 0; i < res->n; i++)
		if (json_array_append_new(issues, json_pack("{s:s, s:[s, s]}",
		    "name", in->issue[i], "shares",
		    rat_format(res->share[i][0], b[0], sizeof b[0]),
		    rat_format(res->share[i][1], b[1], sizeof b[1]))) != 0)
			goto nomem;
	if (json_object_set_new(root, "totals", json_pack("[s, s]",
	    rat_format(res->total[0], b[0], sizeof b[0]),
	    rat_format(res->total[1], b[1], sizeof b[1]))) != 0)
		goto nomem;
	if ((s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) ==
	    NULL)
		goto nomem;
	printf("%s\n", s);
	free(s);
	json_decref(root);
	return CLI_OK;
nomem:
	json_decref(root);
	fprintf(stderr, "parley aw: out of memory\n");
	return CLI_FAIL;
}

/* "62" or "435/7 (62.14)": a total in a party's own points. */
static const char *
total_str(struct rat t, char *buf, size_t len)
{
	char f[RAT_STR_MAX], d[RAT_STR_MAX];

	if (t.den == 1)
		snprintf(buf, len, "%lld", (long long)t.num);
	else
		snprintf(buf, len, "%s (%s)", rat_format(t, f, sizeof f),
		    rat_percent(rat_div(t, rat_int(100)), d, sizeof d));
	return buf;
}

/* What happened to issue i, e.g. "south (moved from north)". */
static void
outcome(const struct awin *in, const struct aw_result *res, size_t i,
    char *buf, size_t len)
{
	char f[AW_PARTIES][RAT_STR_MAX], pc[AW_PARTIES][RAT_STR_MAX];
	int w = res->winner[i];

	if ((int)i == res->split) {
		for (int p = 0; p < AW_PARTIES; p++) {
			rat_format(res->share[i][p], f[p], sizeof f[p]);
			rat_percent(res->share[i][p], pc[p], sizeof pc[p]);
		}
		snprintf(buf, len, "split: %s %s (%s%%), %s %s (%s%%)",
		    in->party[0], f[0], pc[0], in->party[1], f[1], pc[1]);
	} else if (res->share[i][w].num == 0)
		snprintf(buf, len, "%s (%smoved from %s)", in->party[1 - w],
		    res->tied[i] ? "tied, " : "", in->party[w]);
	else
		snprintf(buf, len, "%s%s", in->party[w],
		    res->tied[i] ? " (tied)" : "");
}

static void
print_table(const struct awin *in, const struct aw_result *res)
{
	char buf[3 * AW_NAME_MAX + 4 * RAT_STR_MAX], t[2][2 * RAT_STR_MAX];
	int wi = (int)strlen("issue"), wp[AW_PARTIES];

	for (size_t i = 0; i < res->n; i++)
		if ((int)strlen(in->issue[i]) > wi)
			wi = (int)strlen(in->issue[i]);
	for (int p = 0; p < AW_PARTIES; p++) {
		wp[p] = (int)strlen(in->party[p]);
		if (wp[p] < 6)
			wp[p] = 6;
	}
	printf("Adjusted Winner: %s and %s, %zu issues, %d points each\n\n",
	    in->party[0], in->party[1], res->n, AW_POINTS);
	printf("  %-*s  %*s  %*s  %s\n", wi, "issue", wp[0], in->party[0],
	    wp[1], in->party[1], "goes to");
	for (size_t i = 0; i < res->n; i++) {
		outcome(in, res, i, buf, sizeof buf);
		printf("  %-*s  %*d  %*d  %s\n", wi, in->issue[i], wp[0],
		    in->table.points[i][0], wp[1], in->table.points[i][1], buf);
	}
	printf("\n  totals, each in its own points: %s %s, %s %s\n\n",
	    in->party[0], total_str(res->total[0], t[0], sizeof t[0]),
	    in->party[1], total_str(res->total[1], t[1], sizeof t[1]));
	printf("  Winner phase: %s %d, %s %d.", in->party[0], res->won[0],
	    in->party[1], res->won[1]);
	if (res->leader < 0) {
		printf(" Equal: nothing moves.\n");
		return;
	}
	printf(" %s led, so its issues moved to\n"
	    "  %s in increasing order of %s's points / %s's points:\n ",
	    in->party[res->leader], in->party[1 - res->leader],
	    in->party[res->leader], in->party[1 - res->leader]);
	for (size_t m = 0; m < res->nmoved; m++)
		printf("%s %s %s", m == 0 ? "" : ",", in->issue[res->moved[m]],
		    (int)res->moved[m] == res->split ? "(split)" : "(whole)");
	printf(".\n");
}

int
cmd_aw(int argc, char **argv)
{
	struct awin in;
	struct aw_result res;
	json_error_t jerr;
	json_t *root = NULL;
	uint8_t *buf = NULL;
	size_t len;
	int as_json = 0, r;

	memset(&in, 0, sizeof in);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return CLI_OK;
		} else if (strcmp(argv[i], "--json") == 0)
			as_json = 1;
		else if (argv[i][0] == '-' || in.path != NULL) {
			fprintf(stderr, "parley aw: unexpected argument "
			    "'%s'\n", argv[i]);
			usage(stderr);
			return CLI_USAGE;
		} else
			in.path = argv[i];
	}
	if (in.path == NULL) {
		usage(stderr);
		return CLI_USAGE;
	}
	if ((r = file_read(in.path, AW_FILE_MAX, &buf, &len)) != 0) {
		if (r == ERR_TOO_BIG)
			return refuse(&in, "larger than %d bytes", AW_FILE_MAX);
		return refuse(&in, "cannot read: %s", err_str(r));
	}
	root = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES,
	    &jerr);
	free(buf);
	if (root == NULL)
		return refuse(&in, "malformed JSON at line %d, column %d: %s",
		    jerr.line, jerr.column, jerr.text);
	if ((r = parse(&in, root)) != 0)
		goto out;
	if (aw_divide(&in.table, &res) != 0) {	/* parse() checked it all */
		r = refuse(&in, "invalid table");
		goto out;
	}
	if (as_json)
		r = print_json(&in, &res);
	else {
		print_table(&in, &res);
		r = CLI_OK;
	}
out:
	json_decref(root);
	return r;
}
