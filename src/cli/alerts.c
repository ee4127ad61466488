/*
 * alerts.c: `parley alerts [--json] [--all]` lists alerts (not cleared,
 * or all), and `parley alert clear ID ["note"]` clears one in the name of
 * the operator running it (requests "alerts", "alert-clear";
 * docs/operators.md).
 */
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "cli/cli.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: parley alerts [--home DIR] [--json] [--all]\n"
	    "       parley alert clear [--home DIR] [--json] ID [NOTE]\n\n"
	    "alerts lists the alerts not yet cleared (--all: every one, with "
	    "who cleared\nit). alert clear clears alert ID in your operator "
	    "name, with a NOTE; it\nneeds the duty-officer or principal role "
	    "and is recorded in the audit log.\nExit 0 done, 1 refused, 2 bad "
	    "usage, 3 parleyd not running.\n");
}

static void
print_alert(json_t *a)
{
	json_int_t ms = json_integer_value(json_object_get(a, "raised_ms"));
	json_t *c = json_object_get(a, "clearing");
	char when[CLOCK_UTC_LEN];

	clock_utc_str(when, (uint64_t)ms);
	printf("%-4lld  %s  %s", (long long)json_integer_value(
	    json_object_get(a, "n")), when, json_string_value(
	    json_object_get(a, "text")) ? json_string_value(json_object_get(a,
	    "text")) : json_string_value(json_object_get(a, "key")));
	if (json_is_object(c)) {	/* an operator's free text */
		printf("  [cleared by ");
		cli_put_str(stdout, json_string_value(json_object_get(c,
		    "by")));
		printf(": ");
		cli_put_str(stdout, json_string_value(json_object_get(c,
		    "note")));
		printf("]");
	}
	printf("\n");
}

static int
run(int argc, char **argv, bool clear)
{
	static const struct option opts[] = {
		{ "home", required_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'j' },
		{ "all", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	const char *home = NULL, *cmd = clear ? "alert-clear" : "alerts";
	json_t *req, *res = NULL, *a;
	int json = 0, all = 0, ch, rc;
	long long id = 0;
	size_t i;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'h': home = optarg; break;
		case 'j': json = 1; break;
		case 'a': all = 1; break;
		case 'H':
			usage(stdout);
			return CLI_OK;
		default:
			usage(stderr);
			return CLI_USAGE;
		}
	}
	if ((!clear && argc != optind) || (clear && (argc - optind < 1 ||
	    argc - optind > 2 || all))) {
		usage(stderr);
		return CLI_USAGE;
	}
	/* an alert's number: nothing is asked of parleyd when it is not one */
	if (clear && (rc = cli_num("alert clear", "ID", argv[optind], 1,
	    LLONG_MAX, &id)) != CLI_OK)
		return rc;
	home = cli_home(home);
	req = clear ? json_pack("{s:s, s:I, s:s}", "cmd", cmd, "id",
	    (json_int_t)id, "note", argc - optind == 2 ? argv[optind + 1] :
	    "") : json_pack("{s:s, s:b}", "cmd", cmd, "all", all);
	if (req == NULL)
		return CLI_FAIL;
	rc = cli_call(home, clear ? "alert clear" : cmd, req, &res);
	json_decref(req);
	if (rc != CLI_OK)
		return rc;
	if (json) {
		json_dumpf(res, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		printf("\n");
	} else if (clear)
		printf("alert %lld cleared by %s\n", id, json_string_value(
		    json_object_get(res, "cleared_by")));
	else {
		json_array_foreach(json_object_get(res, "alerts"), i, a)
			print_alert(a);
		if (json_array_size(json_object_get(res, "alerts")) == 0)
			printf("no %salerts\n", all ? "" : "open ");
	}
	json_decref(res);
	return CLI_OK;
}

int
cmd_alerts(int argc, char **argv)
{
	return run(argc, argv, false);
}

/* `parley alert clear ...`: argv[0] is "alert". */
int
cmd_alert(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "clear") != 0) {
		usage(argc < 2 || strcmp(argv[1], "--help") != 0 ? stderr :
		    stdout);
		return argc >= 2 && strcmp(argv[1], "--help") == 0 ? CLI_OK :
		    CLI_USAGE;
	}
	return run(argc - 1, argv + 1, true);
}
