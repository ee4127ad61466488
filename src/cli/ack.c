/*
 * ack.c: `parley ack ID ["text"]`: acknowledges a received message
 * ("received and understood") as the operator running the command: a
 * signed ACK envelope in this side's chain goes back to the sender
 * (request "ack", docs/operators.md).
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: parley ack [--home DIR] [--json] ID [TEXT]\n\n"
	    "Acknowledges received message ID (q123, a message id or a "
	    "unique prefix of\nit) in your operator name, with an optional "
	    "TEXT. Needs the duty-officer or\nprincipal role. Exit 0 queued, "
	    "1 refused, 2 bad usage, 3 parleyd not running.\n");
}

int
cmd_ack(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "home", required_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	const char *home = NULL;
	json_t *req, *res = NULL;
	int json = 0, ch, rc;

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
	if (argc - optind < 1 || argc - optind > 2) {
		usage(stderr);
		return CLI_USAGE;
	}
	home = cli_home(home);
	if ((req = json_pack("{s:s, s:s}", "cmd", "ack", "id",
	    argv[optind])) == NULL)
		return CLI_FAIL;
	if (argc - optind == 2)
		json_object_set_new(req, "text", json_string(argv[optind + 1]));
	rc = cli_call(home, "ack", req, &res);
	json_decref(req);
	if (rc != CLI_OK)
		return rc;
	if (json) {
		json_dumpf(res, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		printf("\n");
	} else
		printf("%s acknowledged by %s (%s)\n", json_string_value(
		    json_object_get(res, "acked")), json_string_value(
		    json_object_get(res, "by")), json_string_value(
		    json_object_get(res, "local_id")));
	json_decref(res);
	return CLI_OK;
}
