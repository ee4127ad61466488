/*
 * audit.c: `parley audit [--json]`: the audit log (who did what, when)
 * and whether its hash chain verifies (request "audit",
 * docs/operators.md). Exit 1 when it does not verify.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "cli/cli.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: parley audit [--home DIR] [--json]\n\n"
	    "Lists every recorded action with its operator, and checks the "
	    "log's hash\nchain. Exit 0 verified, 1 not verified or refused, 3 "
	    "parleyd not running.\n");
}

int
cmd_audit(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "home", required_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	const char *home = NULL;
	json_t *req, *res = NULL, *e;
	int json = 0, ch, rc;
	size_t i;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'h': home = optarg; break;
		case 'j': json = 1; break;
		case 'H':
			usage(stdout);
			return CLI_OK;
		default:
			usage(stderr);
			return CLI_USAGE;
		}
	}
	if (argc != optind) {
		usage(stderr);
		return CLI_USAGE;
	}
	home = cli_home(home);
	if ((req = json_pack("{s:s}", "cmd", "audit")) == NULL)
		return CLI_FAIL;
	rc = cli_call(home, "audit", req, &res);
	json_decref(req);
	if (rc != CLI_OK)
		return rc;
	if (json) {
		json_dumpf(res, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		printf("\n");
	} else {
		json_array_foreach(json_object_get(res, "entries"), i, e) {
			char when[CLOCK_UTC_LEN];

			clock_utc_str(when, (uint64_t)json_integer_value(
			    json_object_get(e, "time_ms")));
			const char *op = json_string_value(
			    json_object_get(e, "operator"));

			/* names and details hold operators' free text */
			printf("%-5lld %s  ", (long long)json_integer_value(
			    json_object_get(e, "n")), when);
			cli_put_str(stdout, op);
			printf("%*s (uid %lld)  %-18s ", op && strlen(op) < 22 ?
			    (int)(22 - strlen(op)) : 0, "",
			    (long long)json_integer_value(json_object_get(e,
			    "uid")), json_string_value(json_object_get(e,
			    "action")));
			cli_put_str(stdout, json_string_value(json_object_get(
			    e, "detail")));
			putchar('\n');
		}
		printf("%lld entries; hash chain: %s\n", (long long)
		    json_integer_value(json_object_get(res, "count")),
		    json_string_value(json_object_get(res, "verify")));
	}
	rc = json_is_true(json_object_get(res, "verified")) ? CLI_OK :
	    CLI_FAIL;
	json_decref(res);
	return rc;
}
