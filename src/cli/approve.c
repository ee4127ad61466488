/*
 * approve.c: `parley approve ID` (a principal releases a message sent
 * --for-principal: it is queued and leaves) and `parley held` (what
 * waits for approval). Requests "approve" and "held", docs/operators.md.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"

static int
opts_parse(int argc, char **argv, const char **home, int *json, int *all,
    void (*usage)(FILE *))
{
	static const struct option opts[] = {
		{ "home", required_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'j' },
		{ "all", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'h': *home = optarg; break;
		case 'j': *json = 1; break;
		case 'a': *all = 1; break;
		case 'H':
			usage(stdout);
			return -1;
		default:
			usage(stderr);
			return CLI_USAGE;
		}
	}
	*home = cli_home(*home);
	return CLI_OK;
}

static void
usage_approve(FILE *f)
{
	fprintf(f, "usage: parley approve [--home DIR] [--json] ID\n\n"
	    "Approves held message ID (h12, printed by parley send "
	    "--for-principal):\nit is queued and sent. Needs the principal "
	    "role; recorded in the audit log.\n");
}

int
cmd_approve(int argc, char **argv)
{
	const char *home = NULL;
	json_t *req, *res = NULL;
	int json = 0, all = 0, rc;

	if ((rc = opts_parse(argc, argv, &home, &json, &all, usage_approve))
	    != CLI_OK)
		return rc < 0 ? CLI_OK : rc;
	if (argc - optind != 1 || all) {
		usage_approve(stderr);
		return CLI_USAGE;
	}
	if ((req = json_pack("{s:s, s:s}", "cmd", "approve", "id",
	    argv[optind])) == NULL)
		return CLI_FAIL;
	rc = cli_call(home, "approve", req, &res);
	json_decref(req);
	if (rc != CLI_OK)
		return rc;
	if (json) {
		json_dumpf(res, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		printf("\n");
	} else
		printf("%s approved by %s: queued as %s\n", json_string_value(
		    json_object_get(res, "held_id")), json_string_value(
		    json_object_get(res, "approved_by")), json_string_value(
		    json_object_get(res, "local_id")));
	json_decref(res);
	return CLI_OK;
}

static void
usage_held(FILE *f)
{
	fprintf(f, "usage: parley held [--home DIR] [--json] [--all]\n\n"
	    "Messages sent --for-principal that await a principal's approval "
	    "(--all:\nthe approved ones too).\n");
}

int
cmd_held(int argc, char **argv)
{
	const char *home = NULL;
	json_t *req, *res = NULL, *h;
	int json = 0, all = 0, rc;
	size_t i;

	if ((rc = opts_parse(argc, argv, &home, &json, &all, usage_held)) !=
	    CLI_OK)
		return rc < 0 ? CLI_OK : rc;
	if (argc != optind) {
		usage_held(stderr);
		return CLI_USAGE;
	}
	if ((req = json_pack("{s:s, s:b}", "cmd", "held", "all", all)) == NULL)
		return CLI_FAIL;
	rc = cli_call(home, "held", req, &res);
	json_decref(req);
	if (rc != CLI_OK)
		return rc;
	if (json) {
		json_dumpf(res, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		printf("\n");
	} else {
		json_array_foreach(json_object_get(res, "held"), i, h) {
			printf("%-6s  to %-12s  %-9s  %-17s  by ",
			    json_string_value(json_object_get(h, "local_id")),
			    json_string_value(json_object_get(h, "to")),
			    json_string_value(json_object_get(h, "precedence")),
			    json_string_value(json_object_get(h, "state")));
			cli_put_str(stdout, json_string_value(json_object_get(h,
			    "by")));
			putchar('\n');
		}
	}
	json_decref(res);
	return CLI_OK;
}
