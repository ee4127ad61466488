/*
 * anchor.c: `parley anchor [--channel C] [--wait SECONDS]`: asks the
 * peer of each channel (or of the one C names) for an audit anchor now
 * (request "anchor", docs/control.md), then reads the status until each
 * peer's answer is stored or SECONDS pass (docs/operators.md, "Audit
 * anchors"). The ask itself is the daemon's; this only waits and tells.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "cli/cli.h"
#include "ctl/ctl.h"
#include "msg/anchor.h"

#define WAIT_DEFAULT_S 10
#define WAIT_MAX_S 3600
#define POLL_US 100000

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: parley anchor [--home DIR] [--channel C] [--wait SECONDS]\n"
	    "\n"
	    "Asks the peer of each channel (--channel: of the one C names, a\n"
	    "peer name or channel id prefix) to sign our audit log's head now,\n"
	    "off the fixed schedule, and waits up to SECONDS (default %d, 0:\n"
	    "not at all) until each answer is stored. An ask not answered in\n"
	    "time stays pending: sent again until the peer answers, or until\n"
	    "the next scheduled ask replaces it (whose answer covers it too);\n"
	    "one made before parleyd restarts is lost with it.\n"
	    "Exit 0 all anchored (or asked, --wait 0), 1 a channel was not,\n"
	    "2 bad usage, 3 parleyd not running (or stopped while waiting),\n"
	    "4 parleyd restarted while waiting and the ask was lost.\n",
	    WAIT_DEFAULT_S);
}

/* The "anchor" object of channel id in a status result, or NULL. */
static json_t *
anchor_of(json_t *st, const char *id)
{
	json_t *c;
	size_t i;

	json_array_foreach(json_object_get(st, "channels"), i, c) {
		const char *cid = json_string_value(json_object_get(c, "id"));
		if (cid != NULL && strcmp(cid, id) == 0)
			return json_object_get(c, "anchor");
	}
	return NULL;
}

/* Prints what a channel's answered ask anchored. */
static void
print_anchored(json_t *a, const char *peer, const char *id)
{
	json_t *last = json_object_get(a, "last");
	char when[32];

	if (!json_is_object(last)) {	/* an empty log: nothing stored */
		printf("%s signed our empty audit log: nothing to anchor yet "
		    "(channel %.16s)\n", peer, id);
		return;
	}
	clock_utc_str(when, (uint64_t)json_integer_value(json_object_get(
	    last, "time_ms")));
	printf("audit log anchored by %s up to entry %lld at %s (channel "
	    "%.16s)\n", peer, (long long)json_integer_value(json_object_get(
	    last, "n")), when, id);
}

/* What the waiting knows: the instance that gave the tickets (NULL: an
 * older daemon, not compared), the ask's own audit entry (0: not told)
 * and the wall clock before the ask. */
struct waiting {
	const char *home, *instance;
	uint64_t entry, asked_ms;
	bool gone, restarted;		/* at the last poll, at any poll */
};

/* One status, quietly when parleyd is not running (it may be
 * restarting): CLI_OK and *st, CLI_NO_DAEMON, or another code printed.
 * A call that got no answer (ERR_DOUBT: connected, then closed or
 * silent; ERR_IO: closed before the request was written) is a daemon on
 * its way out: as not running (status changes nothing, so asking again
 * is safe). */
static int
status_read(struct waiting *w, json_t **st)
{
	json_t *req = json_pack("{s:s}", "cmd", "status"), *resp = NULL;
	int r;

	*st = NULL;
	if (req == NULL)
		return CLI_FAIL;
	r = ctl_call(w->home, req, &resp);
	json_decref(req);
	if (r == ERR_CLOSED || r == ERR_DOUBT || r == ERR_IO) {
		w->gone = true;
		return CLI_NO_DAEMON;
	}
	w->gone = false;
	if (r == 0 && json_is_true(json_object_get(resp, "ok"))) {
		*st = json_incref(json_object_get(resp, "result"));
		json_decref(resp);
		return CLI_OK;
	}
	fprintf(stderr, "parley anchor: status: %s\n", r != 0 ? err_str(r) :
	    json_string_value(json_object_get(resp, "error")) ?
	    json_string_value(json_object_get(resp, "error")) : "refused");
	json_decref(resp);
	return CLI_FAIL;
}

/* Whether a's channel answered ticket t: by the ticket on the instance
 * that gave it; on another (parleyd restarted: the ticket was lost with
 * the old one), by an anchor stored of the log up to our ask's own audit
 * entry or beyond. Not by the anchor's time: an ask made before ours
 * (in the moment between our clock read and the daemon's handling, or
 * before the wall clock was stepped back) may be dated after it and
 * still not cover our entry. Only a daemon that does not tell the entry
 * is judged by the time. */
static bool
answered(struct waiting *w, json_t *a, json_int_t t)
{
	const char *inst = json_string_value(json_object_get(a, "instance"));
	json_t *last = json_object_get(a, "last");

	if (w->instance == NULL || inst == NULL ||
	    strcmp(inst, w->instance) == 0)
		return json_integer_value(json_object_get(a,
		    "operator_answered")) >= t;
	w->restarted = true;
	if (!json_is_object(last))
		return false;
	if (w->entry > 0)
		return (uint64_t)json_integer_value(json_object_get(last,
		    "n")) >= w->entry;
	return (uint64_t)json_integer_value(json_object_get(last,
	    "time_ms")) >= w->asked_ms;
}

/* Why row's ask was not answered, on stderr; its exit code. */
static int
not_answered(const struct waiting *w, json_t *row, long long wait_s)
{
	const char *peer = json_string_value(json_object_get(row, "peer"));
	const char *id = json_string_value(json_object_get(row, "id"));

	if (w->gone) {
		fprintf(stderr, "parley anchor: parleyd stopped while waiting "
		    "for %s's answer (channel %.16s): the ask was lost with it "
		    "(asks live in the daemon's memory); start parleyd, which "
		    "asks at its first tick, or run parley anchor again\n",
		    peer, id);
		return CLI_NO_DAEMON;
	}
	if (w->restarted) {
		fprintf(stderr, "parley anchor: parleyd restarted while waiting "
		    "for %s's answer (channel %.16s): the ask was lost with it "
		    "(asks live in the daemon's memory), and no anchor asked "
		    "since came within %lld s; the new parleyd asks on its own "
		    "schedule (parley status shows the newest anchor), or run "
		    "parley anchor again\n", peer, id, wait_s);
		return CLI_RESTARTED;
	}
	fprintf(stderr, "parley anchor: %s did not answer within %lld s "
	    "(channel %.16s): the ask stays pending and is sent again until "
	    "%s answers, or until the next scheduled ask, whose answer covers "
	    "it too, replaces it (a peer answers at most %d asks at once, then one a "
	    "minute; its log names any refusal)\n", peer, wait_s, id, peer,
	    ANCHOR_ANSWER_BURST);
	return CLI_FAIL;
}

/* Reads the status until each asked row (with a "ticket") is answered
 * or wait_s pass; prints each; CLI_OK when all were, else the worst of
 * not_answered's codes. */
static int
wait_answers(struct waiting *w, json_t *rows, long long wait_s)
{
	uint64_t until = clock_mono_ms() + (uint64_t)wait_s * 1000u;
	size_t i, left = 0;
	json_t *row, *st = NULL, *a;
	int rc, worst = CLI_OK;

	json_array_foreach(rows, i, row)
		left += json_object_get(row, "ticket") != NULL;
	while (left > 0) {
		rc = status_read(w, &st);
		if (rc != CLI_OK && rc != CLI_NO_DAEMON)
			return rc;
		json_array_foreach(rows, i, row) {
			json_int_t t = json_integer_value(json_object_get(row,
			    "ticket"));
			const char *id = json_string_value(json_object_get(row,
			    "id"));
			if (st == NULL || t == 0 || id == NULL ||
			    (a = anchor_of(st, id)) == NULL ||
			    !answered(w, a, t))
				continue;
			print_anchored(a, json_string_value(json_object_get(row,
			    "peer")), id);
			json_object_del(row, "ticket");
			left--;
		}
		json_decref(st);
		st = NULL;
		if (left == 0 || clock_mono_ms() >= until)
			break;
		usleep(POLL_US);
	}
	json_array_foreach(rows, i, row)
		if (json_object_get(row, "ticket") != NULL) {
			rc = not_answered(w, row, wait_s);
			if (worst == CLI_OK || rc == CLI_RESTARTED ||
			    (rc == CLI_NO_DAEMON && worst != CLI_RESTARTED))
				worst = rc;
		}
	return worst;
}

int
cmd_anchor(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "home", required_argument, NULL, 'h' },
		{ "channel", required_argument, NULL, 'c' },
		{ "wait", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	const char *home = NULL, *channel = NULL, *wait_arg = NULL;
	long long wait_s = WAIT_DEFAULT_S;
	json_t *req, *res = NULL, *rows, *row;
	struct waiting w;
	int ch, rc, failed = 0;
	size_t i;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'h': home = optarg; break;
		case 'c': channel = optarg; break;
		case 'w': wait_arg = optarg; break;
		case 'H':
			usage(stdout);
			return CLI_OK;
		default:
			usage(stderr);
			return CLI_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (wait_arg != NULL && (rc = cli_num("anchor", "--wait", wait_arg, 0,
	    WAIT_MAX_S, &wait_s)) != CLI_OK)
		return rc;
	home = cli_home(home);
	req = channel ? json_pack("{s:s, s:s}", "cmd", "anchor", "channel",
	    channel) : json_pack("{s:s}", "cmd", "anchor");
	if (req == NULL)
		return CLI_FAIL;
	memset(&w, 0, sizeof w);
	w.home = home;
	w.asked_ms = clock_wall_ms();
	rc = cli_call(home, "anchor", req, &res);
	json_decref(req);
	if (rc != CLI_OK)
		return rc;
	rows = json_object_get(res, "channels");
	if (json_array_size(rows) == 0) {
		fprintf(stderr, "parley anchor: no channel is installed: "
		    "nothing to anchor\n");
		json_decref(res);
		return CLI_FAIL;
	}
	json_array_foreach(rows, i, row)
		if (json_object_get(row, "error") != NULL) {
			fprintf(stderr, "parley anchor: channel %.16s with %s: "
			    "%s\n", json_string_value(json_object_get(row,
			    "id")), json_string_value(json_object_get(row,
			    "peer")), json_string_value(json_object_get(row,
			    "error")));
			failed = 1;
		} else if (wait_s == 0)
			printf("audit anchor asked of %s (channel %.16s); not "
			    "waiting for the answer\n", json_string_value(
			    json_object_get(row, "peer")), json_string_value(
			    json_object_get(row, "id")));
	w.instance = json_string_value(json_object_get(res, "instance"));
	if (json_integer_value(json_object_get(res, "entry")) > 0)
		w.entry = (uint64_t)json_integer_value(json_object_get(res,
		    "entry"));
	rc = wait_s > 0 ? wait_answers(&w, rows, wait_s) : CLI_OK;
	json_decref(res);
	return failed && rc == CLI_OK ? CLI_FAIL : rc;
}
