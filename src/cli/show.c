/*
 * show.c: `parley show ID`: one message by local id (q123), message id or
 * a unique prefix of it: its header fields, state and body (request
 * "show", docs/control.md).
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "base/text.h"
#include "cli/cli.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: parley show [--home DIR] [--json] ID\n\n"
	    "Shows one message: ID is its local id (q123, printed by parley "
	    "send) or its\nmessage id or a unique prefix of at least 4 hex "
	    "digits. Prints the header\nfields, the state and the body. "
	    "Exit 1 when there is no such message,\n2 for bad usage, 3 "
	    "when parleyd is not running.\n");
}

/* Seen and acknowledged, kept apart from stored and receipted
 * (docs/operators.md). */
static void
print_people(json_t *res)
{
	json_t *seen = json_object_get(res, "seen");
	json_t *ack = json_object_get(res, "acknowledged");

	if (json_is_string(seen))
		printf("%-13s %s\n", "seen", json_string_value(seen));
	else if (json_is_object(seen)) {
		printf("%-13s by ", "seen");
		cli_put_str(stdout, json_string_value(json_object_get(seen,
		    "by")));
		printf(" at %lld\n", (long long)json_integer_value(
		    json_object_get(seen, "time_ms")));
	}
	else if (seen)
		printf("%-13s no\n", "seen");
	if (json_object_get(res, "ack_state"))
		printf("%-13s %s\n", "ack_state", json_string_value(
		    json_object_get(res, "ack_state")));
	if (json_is_object(ack)) {
		/* the peer's operator and text: never a control character */
		json_t *by = json_object_get(ack, "by");
		json_t *text = json_object_get(ack, "text");
		printf("%-13s by ", "acknowledged");
		cli_put_safe(stdout, json_string_value(by),
		    json_string_length(by), false);
		printf(" at %lld%s", (long long)json_integer_value(
		    json_object_get(ack, "time_ms")), json_is_true(
		    json_object_get(ack, "late")) ? " (LATE)" : "");
		if (json_string_length(text) > 0) {
			fputs(": ", stdout);
			cli_put_safe(stdout, json_string_value(text),
			    json_string_length(text), false);
		}
		fputc('\n', stdout);
	}
	if (json_object_get(res, "ack_of")) {
		printf("%-13s %s by ", "ack_of", json_string_value(
		    json_object_get(res, "ack_of")));
		cli_put_str(stdout, json_string_value(json_object_get(res,
		    "ack_by")));
		putchar('\n');
	}
}

int
cmd_msg_show(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "home", required_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *fields[] = { "local_id", "id", "channel", "dir",
	    "from", "to", "seq", "precedence", "marking", "kind", "state",
	    "time_ms", "stored_ms", "assigned_ms", "receipted_ms", "body_len" };
	const char *home = NULL;
	json_t *req, *res = NULL, *v;
	int json = 0, ch, rc;

	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--file") == 0)
			return cmd_export_show(argc, argv);	/* export.c */
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
	if (argc - optind != 1) {
		usage(stderr);
		return CLI_USAGE;
	}
	home = cli_home(home);
	if ((req = json_pack("{s:s, s:s}", "cmd", "show", "id",
	    argv[optind])) == NULL)
		return CLI_FAIL;
	rc = cli_call(home, "show", req, &res);
	json_decref(req);
	if (rc != CLI_OK)
		return rc;
	if (json) {
		json_dumpf(res, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		printf("\n");
	} else {
		for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
			if ((v = json_object_get(res, fields[i])) == NULL)
				continue;
			if (json_is_string(v))
				printf("%-13s %s\n", fields[i],
				    json_string_value(v));
			else
				printf("%-13s %lld\n", fields[i],
				    (long long)json_integer_value(v));
		}
		print_people(res);		/* the four states */
		v = json_object_get(res, "body");
		/* a peer's text, never a control character */
		fputc('\n', stdout);
		text_print(stdout, (const uint8_t *)json_string_value(v),
		    json_string_length(v), NULL);
		fputc('\n', stdout);
	}
	json_decref(res);
	return CLI_OK;
}
