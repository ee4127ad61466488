/*
 * send.c: `parley send`: queues one text message with the running parleyd
 * (control request "send", docs/control.md). The daemon commits it to its
 * store as queued before it answers, so a printed id is a durable message.
 * The text goes as the request's raw body, as it is (never JSON-escaped).
 * Also cli_call, the request helper of send, inbox, show and log.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "cli/cli.h"
#include "ctl/ctl.h"
#include "msg/envelope.h"

int
cli_call(const char *home, const char *cmd, json_t *req, json_t **result)
{
	return cli_call_body(home, cmd, req, NULL, 0, result);
}

int
cli_call_body(const char *home, const char *cmd, json_t *req,
    const void *body, size_t len, json_t **result)
{
	json_t *resp = NULL, *e;
	int r, rc;

	r = ctl_call_body(home, req, body, len, &resp);
	if (r == ERR_CLOSED) {
		fprintf(stderr, "parley %s: parleyd is not running for %s (no "
		    "answer on %s/%s)\n", cmd, home, home, CTL_SOCKET_NAME);
		return CLI_NO_DAEMON;
	}
	if (r == ERR_DOUBT) {
		fprintf(stderr, "parley %s: parleyd took the request but gave "
		    "no answer (none in 10 s, or it closed the connection): "
		    "it may have been carried out; check (parley log, held, "
		    "audit) before repeating it\n", cmd);
		return CLI_FAIL;
	}
	if (r != 0) {
		fprintf(stderr, "parley %s: %s\n", cmd, err_str(r));
		return CLI_FAIL;
	}
	if (json_is_true(json_object_get(resp, "ok"))) {
		*result = json_incref(json_object_get(resp, "result"));
		json_decref(resp);
		return CLI_OK;
	}
	e = json_object_get(resp, "error");
	fprintf(stderr, "parley %s: %s\n", cmd, json_is_string(e) ?
	    json_string_value(e) : "refused");
	rc = json_integer_value(json_object_get(resp, "code")) == ERR_USAGE ?
	    CLI_USAGE : CLI_FAIL;
	json_decref(resp);
	return rc;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: parley send [--home DIR] [--to PEER] [--precedence P]\n"
	    "                   [--marking M] [--for-principal] [--json]\n"
	    "                   (TEXT | --file F | -)\n"
	    "\n"
	    "Queues a text message (UTF-8 without NUL; up to %u bytes)\n"
	    "for the peer of a channel. --to: peer name or channel id\n"
	    "prefix, optional with one channel. --precedence: flash,\n"
	    "immediate, priority, routine (default). --marking: private\n"
	    "(default), contact-releasable, releasable. Without TEXT or\n"
	    "--file, or with -, reads standard input. Prints the local id\n"
	    "(q123): the message is stored before it is printed.\n"
	    "--for-principal: held (h12) until a principal runs parley\n"
	    "approve. Exit 0 queued, 1 refused (e.g. store full), 2 bad\n"
	    "usage, 3 parleyd not running.\n",
	    ENVELOPE_BODY_MAX);
}

static int
read_stdin(uint8_t **out, size_t *len)
{
	size_t cap = 4096, n = 0, k;
	uint8_t *b = malloc(cap), *nb;

	while (b && (k = fread(b + n, 1, cap - n, stdin)) > 0) {
		n += k;
		if (n == cap) {
			if (cap > ENVELOPE_BODY_MAX) {
				free(b);
				return ERR_TOO_BIG;
			}
			if ((nb = realloc(b, cap * 2)) == NULL) {
				free(b);	/* not a cut text */
				return ERR_NOMEM;
			}
			b = nb;
			cap *= 2;
		}
	}
	if (b == NULL)
		return ERR_NOMEM;
	*out = b;
	*len = n;
	return 0;
}

int
cmd_send(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "home", required_argument, NULL, 'h' },
		{ "to", required_argument, NULL, 't' },
		{ "precedence", required_argument, NULL, 'p' },
		{ "marking", required_argument, NULL, 'm' },
		{ "file", required_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "for-principal", no_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	int for_principal = 0;	/* held until a principal approves */
	const char *home = NULL, *to = NULL, *prec = NULL, *mark = NULL;
	const char *file = NULL;
	uint8_t *body = NULL, x;
	size_t len = 0;
	json_t *req, *res = NULL;
	int json = 0, ch, r, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'h': home = optarg; break;
		case 't': to = optarg; break;
		case 'p': prec = optarg; break;
		case 'm': mark = optarg; break;
		case 'f': file = optarg; break;
		case 'j': json = 1; break;
		case 'P': for_principal = 1; break;
		case 'H':
			usage(stdout);
			return CLI_OK;
		default:
			usage(stderr);
			return CLI_USAGE;
		}
	}
	if (argc - optind > 1 || (file && argc - optind == 1) ||
	    (prec && envelope_precedence_parse(prec, &x) != 0) ||
	    (mark && envelope_marking_parse(mark, &x) != 0)) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (file)
		r = file_read(file, ENVELOPE_BODY_MAX, &body, &len);
	else if (argc - optind == 1 && strcmp(argv[optind], "-") != 0) {
		r = 0;
		len = strlen(argv[optind]);
		if ((body = malloc(len + 1)) == NULL)
			r = ERR_NOMEM;
		else
			memcpy(body, argv[optind], len);
	} else
		r = read_stdin(&body, &len);
	if (r == 0 && len > ENVELOPE_BODY_MAX)
		r = ERR_TOO_BIG;
	if (r != 0 || len == 0 || !envelope_utf8_is_valid(body, len) ||
	    memchr(body, 0, len) != NULL) {
		fprintf(stderr, "parley send: %s\n", r ? err_str(r) :
		    "the text must be 1..1048576 bytes of UTF-8 without NUL");
		free(body);
		return r && r != ERR_TOO_BIG ? CLI_FAIL : CLI_USAGE;
	}
	home = cli_home(home);
	if ((req = json_pack("{s:s}", "cmd", "send")) == NULL) {
		free(body);
		return CLI_FAIL;
	}
	if (to)
		json_object_set_new(req, "to", json_string(to));
	if (prec)
		json_object_set_new(req, "precedence", json_string(prec));
	if (mark)
		json_object_set_new(req, "marking", json_string(mark));
	if (for_principal)
		json_object_set_new(req, "for_principal", json_true());
	rc = cli_call_body(home, "send", req, body, len, &res);
	json_decref(req);
	free(body);
	if (rc != CLI_OK)
		return rc;
	if (json) {
		json_dumpf(res, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		printf("\n");
	} else
		printf("%s\n", json_string_value(json_object_get(res,
		    "local_id")));
	json_decref(res);
	return CLI_OK;
}
