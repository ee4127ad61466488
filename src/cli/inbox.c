/*
 * inbox.c: `parley inbox`: the messages received, newest first (id
 * prefix, time, from, precedence, marking, first line). Also cli_list,
 * which `parley log` shares: both ask the daemon (requests "inbox" and
 * "log", docs/control.md) and print one line per message.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "cli/cli.h"
#include "ctl/ctl.h"

static void
usage(FILE *f, const char *cmd)
{
	if (strcmp(cmd, "inbox") == 0)
		fprintf(f,
		    "usage: parley inbox [--home DIR] [--channel C] [--max N] "
		    "[--json]\n\n"
		    "Lists received messages, newest first: id prefix, time "
		    "(UTC), sender,\nprecedence, marking, first line. "
		    "--channel: peer name or id prefix.\n--max: at most N, "
		    "1..100000 (default 50). Exit 3 when parleyd is not "
		    "running.\n");
	else
		fprintf(f,
		    "usage: parley log [--home DIR] [--channel C] [--max N] "
		    "[--json]\n\n"
		    "Lists messages both ways, newest first, with their "
		    "states: queued (stored,\nnot yet in the chain), sent "
		    "(in the chain, no receipt yet), receipted (the\npeer "
		    "signed that it holds it), received. --channel: peer name "
		    "or id prefix.\n--max: at most N, 1..100000 (default 50). "
		    "Exit 3 when parleyd is not running.\n");
}

static void
print_row(json_t *m, bool with_state)
{
	const char *id = json_string_value(json_object_get(m, "id"));
	const char *dir = json_string_value(json_object_get(m, "dir"));
	json_int_t ms = json_integer_value(json_object_get(m, "time_ms"));
	char when[CLOCK_UTC_LEN], who[80];

	clock_utc_str(when, (uint64_t)ms);
	if (strcmp(dir, "out") == 0)
		snprintf(who, sizeof who, "to %s", json_string_value(
		    json_object_get(m, "to")));
	else
		snprintf(who, sizeof who, "from %s", json_string_value(
		    json_object_get(m, "from")));
	printf("%-12.12s  %s  %-16s  %-9s  %-18s  ", id && *id ? id :
	    json_string_value(json_object_get(m, "local_id")), when, who,
	    json_string_value(json_object_get(m, "precedence")),
	    json_string_value(json_object_get(m, "marking")));
	if (with_state)
		printf("%-9s  ", json_string_value(json_object_get(m,
		    "state")));
	/* The acknowledgment (docs/operators.md): awaiting, overdue,
	 * acknowledged, late; ACK for an acknowledgment itself. */
	printf("%-12s  ", json_string_value(json_object_get(m, "ack_state")) ?
	    json_string_value(json_object_get(m, "ack_state")) :
	    json_object_get(m, "ack_of") ? "ACK" : "-");
	/* the peer's text: shown, never acted on by the terminal */
	cli_put_str(stdout, json_string_value(json_object_get(m,
	    "first_line")));
	putchar('\n');
}

int
cli_list(int argc, char **argv, const char *cmd)
{
	static const struct option opts[] = {
		{ "home", required_argument, NULL, 'h' },
		{ "channel", required_argument, NULL, 'c' },
		{ "max", required_argument, NULL, 'm' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	const char *home = NULL, *chan = NULL;
	long long max = 50;
	json_t *req, *res = NULL, *m;
	int json = 0, ch, rc;
	size_t i;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'h': home = optarg; break;
		case 'c': chan = optarg; break;
		case 'm':
			if ((rc = cli_num(cmd, "--max", optarg, 1,
			    CTL_LIST_MAX, &max)) != CLI_OK)
				return rc;
			break;
		case 'j': json = 1; break;
		case 'H':
			usage(stdout, cmd);
			return CLI_OK;
		default:
			usage(stderr, cmd);
			return CLI_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr, cmd);
		return CLI_USAGE;
	}
	home = cli_home(home);
	if ((req = json_pack("{s:s, s:I}", "cmd", cmd, "max",
	    (json_int_t)max)) == NULL)
		return CLI_FAIL;
	if (chan)
		json_object_set_new(req, "channel", json_string(chan));
	rc = cli_call(home, cmd, req, &res);
	json_decref(req);
	if (rc != CLI_OK)
		return rc;
	if (json) {
		json_dumpf(res, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		printf("\n");
	} else {
		if (json_array_size(json_object_get(res, "messages")) == 0)
			printf("no messages\n");
		json_array_foreach(json_object_get(res, "messages"), i, m)
			print_row(m, strcmp(cmd, "log") == 0);
	}
	json_decref(res);
	return CLI_OK;
}

int
cmd_inbox(int argc, char **argv)
{
	return cli_list(argc, argv, "inbox");
}
