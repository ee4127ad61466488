/*
 * restore.c: `parley restore FILE --home DIR [--force]` brings a node's
 * store back from a backup: the file must be a parley store of this
 * build's schema version; an existing store is replaced only with
 * --force, and never while parleyd runs for DIR. When the daemon starts
 * again it resynchronises with its peer (SYNC, docs/delivery.md): what
 * the peer holds beyond the backup is sent again, nothing twice.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "cli/cli.h"
#include "ctl/ctl.h"
#include "store/record.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: parley restore --home DIR [--force] FILE\n\n"
	    "Restores DIR/parley.db from the backup FILE (parley backup). Refuses"
	    "\na file that is not a parley store of schema version %d, an\n"
	    "existing store unless --force, and a running parleyd. Exit 0 done,"
	    "\n1 refused or failed, 2 bad usage.\n", STORE_SCHEMA_VERSION);
}

static bool
daemon_runs(const char *home)
{
	json_t *req = json_pack("{s:s}", "cmd", "status"), *resp = NULL;
	int r;

	if (req == NULL)
		return true;
	r = ctl_call(home, req, &resp);
	json_decref(req);
	json_decref(resp);
	return r != ERR_CLOSED;
}

int
cmd_restore(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "home", required_argument, NULL, 'h' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	const char *home = NULL;
	char why[512] = "";
	bool force = false;
	int ch, r;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'h': home = optarg; break;
		case 'f': force = true; break;
		case 'H':
			usage(stdout);
			return CLI_OK;
		default:
			usage(stderr);
			return CLI_USAGE;
		}
	}
	if (argc - optind != 1 || home == NULL) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (daemon_runs(home)) {
		fprintf(stderr, "parley restore: parleyd is running for %s: stop"
		    " it first\n", home);
		return CLI_FAIL;
	}
	if ((r = store_restore(argv[optind], home, force, why,
	    sizeof why)) != 0) {
		fprintf(stderr, "parley restore: %s\n", why[0] ? why :
		    err_str(r));
		return CLI_FAIL;
	}
	printf("restored %s/%s from %s\n", home, STORE_FILE, argv[optind]);
	return CLI_OK;
}
