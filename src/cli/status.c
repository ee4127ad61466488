/*
 * status.c: `parley status`: asks the running parleyd (control socket,
 * docs/control.md) for each channel and each of its paths: up or down,
 * since when, round-trip time, the peer's clock offset; warns when an
 * agreement expires within 30 days or has expired; messages, acks, the
 * last checkpoint and audit anchor of each channel. --json prints the
 * daemon's answer with a "warnings" list added.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "cli/cli.h"
#include "ctl/ctl.h"

#define WARN_DAYS 30

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: parley status [--home DIR] [--json]\n"
	    "\n"
	    "Shows each channel of the running parleyd and each of its paths:\n"
	    "up or down, since when, round-trip time and the peer's clock\n"
	    "offset. Warns when a channel agreement expires within %d days or\n"
	    "has expired. Exit 3 when parleyd is not running.\n", WARN_DAYS);
}

/* A string member of o, or "?" when missing or not a string (a newer or
 * broken daemon must not make printf see NULL). */
static const char *
jstr(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));

	return v ? v : "?";
}

/* A time in ms, or "start" for none (0). */
static const char *
fmt_time(char out[CLOCK_UTC_LEN], json_int_t ms)
{
	if (ms <= 0) {
		snprintf(out, CLOCK_UTC_LEN, "start");
		return out;
	}
	return clock_utc_str(out, (uint64_t)ms);
}

/* Adds to warnings (and returns) the warning for channel c, if any. */
static const char *
expiry_warning(json_t *c, json_t *warnings, char *buf, size_t cap)
{
	json_t *jl = json_object_get(c, "expires_in_s");
	json_int_t left = json_integer_value(jl);
	const char *peer = jstr(c, "peer");
	const char *id = jstr(c, "id");

	if (!json_is_integer(jl))
		return NULL;	/* nothing to warn about that we can tell */
	if (left < 0)
		snprintf(buf, cap, "channel %.8s agreement with %s has EXPIRED "
		    "(%lld days ago)", id, peer, (long long)(-left / 86400));
	else if (left <= WARN_DAYS * 86400)
		snprintf(buf, cap, "channel %.8s agreement with %s expires in "
		    "%lld days", id, peer, (long long)(left / 86400));
	else
		return NULL;
	json_array_append_new(warnings, json_string(buf));
	return buf;
}

static void
print_path(json_t *p)
{
	char since[CLOCK_UTC_LEN];
	json_t *rtt = json_object_get(p, "rtt_ms");
	json_t *off = json_object_get(p, "offset_ms");
	int up = json_is_true(json_object_get(p, "up"));

	fmt_time(since, json_integer_value(json_object_get(p, "since_ms")));
	printf("  path %lld  %s -> %s  %-4s since %s",
	    (long long)json_integer_value(json_object_get(p, "index")),
	    jstr(p, "local"),
	    jstr(p, "peer"), up ? "up" : "DOWN",
	    since);
	if (up && rtt && off)
		printf("  rtt %.3f ms  offset %+.3f ms", json_real_value(rtt),
		    json_real_value(off));
	/* what a slow path still carries of ours (docs/control.md) */
	if (up && json_integer_value(json_object_get(p, "unread_bytes")) > 0)
		printf("  %lld bytes on their way", (long long)
		    json_integer_value(json_object_get(p, "unread_bytes")));
	printf("\n");
}

/* Acknowledgments owed both ways (docs/operators.md). */
static void
print_acks(json_t *a, const char *peer)
{
	json_t *w = json_object_get(a, "waiting_for_us");
	json_t *we = json_object_get(a, "we_overdue");
	json_t *po = json_object_get(a, "peer_overdue");
	long long n;

	if (json_is_true(json_object_get(a, "reading"))) {
		printf("  acks: acknowledgments owed: reading the record "
		    "(%lld of %lld messages; counted when whole)\n",
		    (long long)json_integer_value(json_object_get(a, "read")),
		    (long long)json_integer_value(json_object_get(a, "of")));
		return;
	}
	if ((n = (long long)json_integer_value(json_object_get(w, "count"))))
		printf("  acks: %lld waiting for our acknowledgment (%lld past "
		    "the deadline; highest %s, oldest %.16s)\n", n,
		    (long long)json_integer_value(json_object_get(we, "count")),
		    jstr(w, "highest_precedence"), jstr(w, "oldest"));
	else
		printf("  acks: none waiting for our acknowledgment\n");
	if ((n = (long long)json_integer_value(json_object_get(po, "count"))))
		printf("  acks: %s owes %lld past the deadline (highest %s, "
		    "oldest %.16s)\n", peer, n, jstr(po, "highest_precedence"),
		    jstr(po, "oldest"));
	else
		printf("  acks: %s owes none past the deadline\n", peer);
}

/* The last co-signed checkpoint and the last alarm (docs/transcript.md). */
static void
print_checkpoint(json_t *p)
{
	json_t *last = json_object_get(p, "last"), *seq;
	const char *alarm = json_string_value(json_object_get(p, "alarm"));
	char when[CLOCK_UTC_LEN];

	if (json_is_object(last)) {
		seq = json_object_get(last, "seq");
		clock_utc_str(when, (uint64_t)json_integer_value(
		    json_object_get(last, "time_ms")));
		printf("  checkpoint: last co-signed at seqs %lld/%lld, %s\n",
		    (long long)json_integer_value(json_array_get(seq, 0)),
		    (long long)json_integer_value(json_array_get(seq, 1)),
		    when);
	} else
		printf("  checkpoint: none co-signed yet\n");
	if (alarm != NULL)
		printf("  ALARM: %s\n", alarm);
}

/* The newest audit anchor the peer signed, and what we answered and
 * refused of its (docs/operators.md, "Audit anchors"). */
static void
print_anchor(json_t *a, const char *peer)
{
	json_t *last = json_object_get(a, "last");
	json_int_t given, refused;
	char when[CLOCK_UTC_LEN];

	if (json_is_object(last)) {
		fmt_time(when, json_integer_value(json_object_get(last,
		    "time_ms")));
		printf("  audit anchor: our audit log anchored by %s up to "
		    "entry %lld at %s", peer, (long long)json_integer_value(
		    json_object_get(last, "n")), when);
	} else
		printf("  audit anchor: our audit log not anchored by %s yet",
		    peer);
	given = json_integer_value(json_object_get(a, "given"));
	refused = json_integer_value(json_object_get(a, "refused"));
	printf("%s; %lld answer%s given to %s, %lld of its records refused "
	    "since the start\n", json_is_true(json_object_get(a, "pending")) ?
	    " (an ask pending)" : "", (long long)given, given == 1 ? "" : "s",
	    peer, (long long)refused);
}

/* Our chain taken back from the peer (docs/delivery.md, "Recovery"):
 * nothing new is sent meanwhile, so the operator is told why. */
static void
print_recovering(json_t *r, const char *peer)
{
	char when[CLOCK_UTC_LEN];

	clock_utc_str(when, (uint64_t)json_integer_value(json_object_get(r,
	    "progress_ms")));
	printf("  RECOVERING our chain: %s holds it up to seq %lld, this "
	    "store up to %lld; nothing new is sent until it is whole (last "
	    "progress %s)\n", peer, (long long)json_integer_value(
	    json_object_get(r, "peer_holds")), (long long)json_integer_value(
	    json_object_get(r, "ours")), when);
}

static void
print_fence(json_t *f, const char *peer)
{
	json_t *seq = json_object_get(f, "seq");
	char when[CLOCK_UTC_LEN], upto[64] = "an unknown seq (the note is damaged "
	    "or unreadable)";

	clock_utc_str(when, (uint64_t)json_integer_value(json_object_get(f,
	    "until_ms")));
	if (json_is_integer(seq))
		snprintf(upto, sizeof upto, "seq %lld",
		    (long long)json_integer_value(seq));
	printf("  FENCED: the last run may have sent our messages up to %s "
	    "before it stored them (it stopped between a send and its "
	    "commit); nothing new is sent until %s is heard to hold them or "
	    "until %s\n", upto, peer, when);
}

static void
print_human(json_t *st, json_t *warnings)
{
	json_t *chans = json_object_get(st, "channels"), *c, *p;
	size_t i, j;
	char buf[256];
	const char *w;

	printf("node %s  link key %s\n",
	    jstr(st, "node"),
	    jstr(st, "link_fingerprint"));
	if (json_is_true(json_object_get(st, "debug_powercut")))
		printf("WARNING: power-cut mode (debug_powercut, tests only): "
		    "the store holds every write in memory until its sync\n");
	if (json_array_size(chans) == 0)
		printf("no channels installed\n");
	json_array_foreach(chans, i, c) {
		time_t na = (time_t)json_integer_value(json_object_get(c,
		    "not_after"));
		struct tm tm;
		char until[32];

		gmtime_r(&na, &tm);
		strftime(until, sizeof until, "%Y-%m-%d", &tm);
		printf("channel %.16s with %s  fingerprint %s\n",
		    jstr(c, "id"),
		    jstr(c, "peer"),
		    jstr(c, "fingerprint"));
		printf("  agreement %s, valid until %s, heartbeat %lld ms\n",
		    jstr(c, "agreement"), until,
		    (long long)json_integer_value(json_object_get(c,
		    "heartbeat_ms")));
		json_array_foreach(json_object_get(c, "paths"), j, p)
			print_path(p);
		if ((p = json_object_get(c, "messages")) != NULL)
			printf("  messages: %lld queued%s, %lld in flight, %lld "
			    "received\n", (long long)json_integer_value(
			    json_object_get(p, "queued")),
			    json_integer_value(json_object_get(p,
			    "active_path")) < 0 ? " (no path up)" : "",
			    (long long)json_integer_value(json_object_get(p,
			    "in_flight")), (long long)json_integer_value(
			    json_object_get(p, "received")));
		if (p != NULL && json_object_get(p, "held") != NULL)
			printf("  HELD: our messages %lld..%lld were sent just "
			    "before the store failed and wait to be stored at "
			    "their seqs; nothing new is sent until they are\n",
			    (long long)json_integer_value(json_object_get(
			    json_object_get(p, "held"), "first")),
			    (long long)json_integer_value(json_object_get(
			    json_object_get(p, "held"), "last")));
		if (p != NULL && json_object_get(p, "fence") != NULL)
			print_fence(json_object_get(p, "fence"),
			    jstr(c, "peer"));
		if (p != NULL && json_object_get(p, "recovering") != NULL)
			print_recovering(json_object_get(p, "recovering"),
			    jstr(c, "peer"));
		if ((p = json_object_get(c, "acks")) != NULL)
			print_acks(p, jstr(c, "peer"));
		if ((p = json_object_get(c, "checkpoint")) != NULL)
			print_checkpoint(p);
		if ((p = json_object_get(c, "anchor")) != NULL)
			print_anchor(p, jstr(c, "peer"));
		if (json_integer_value(json_object_get(c, "alerts_open")) > 0)
			printf("  ALERTS: %lld not cleared (parley alerts "
			    "lists them)\n", (long long)json_integer_value(
			    json_object_get(c, "alerts_open")));
		if ((w = expiry_warning(c, warnings, buf, sizeof buf)) != NULL)
			printf("  WARNING: %s\n", w);
	}
}

int
cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "home", required_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	const char *home = NULL;
	json_t *req, *resp = NULL, *st, *warnings, *c;
	int json = 0, ch, r, rc = CLI_FAIL;
	char buf[256];
	size_t i;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			home = optarg;
			break;
		case 'j':
			json = 1;
			break;
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
	home = cli_home(home);
	if ((req = json_pack("{s:s}", "cmd", "status")) == NULL)
		return CLI_FAIL;
	r = ctl_call(home, req, &resp);
	json_decref(req);
	if (r == ERR_CLOSED) {
		fprintf(stderr, "parley status: parleyd is not running for %s "
		    "(no answer on %s/%s)\n", home, home, CTL_SOCKET_NAME);
		return CLI_NO_DAEMON;
	}
	if (r == ERR_DOUBT) {
		fprintf(stderr, "parley status: parleyd of %s took the request "
		    "but gave no answer (none in 10 s, or it closed the "
		    "connection): it runs but is stalled or busy\n", home);
		return CLI_FAIL;
	}
	if (r != 0) {
		fprintf(stderr, "parley status: %s\n", err_str(r));
		return CLI_FAIL;
	}
	if (!json_is_true(json_object_get(resp, "ok")) ||
	    !json_is_object(st = json_object_get(resp, "result"))) {
		fprintf(stderr, "parley status: parleyd refused: %s\n",
		    jstr(resp, "error"));
		goto out;
	}
	warnings = json_array();
	if (json) {
		json_array_foreach(json_object_get(st, "channels"), i, c)
			expiry_warning(c, warnings, buf, sizeof buf);
		json_object_set(st, "warnings", warnings);
		json_dumpf(st, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		printf("\n");
	} else
		print_human(st, warnings);
	json_array_foreach(warnings, i, c)
		if (!json)
			fprintf(stderr, "parley status: warning: %s\n",
			    json_string_value(c));
	json_decref(warnings);
	rc = CLI_OK;
out:
	json_decref(resp);
	return rc;
}
