/*
 * backup.c: `parley backup FILE [--home H]` copies the live store with
 * SQLite's online backup (store_backup): a consistent snapshot, taken
 * while parleyd runs; the daemon is held up for one step at most.
 */
#include <getopt.h>
#include <stdio.h>

#include "cli/cli.h"
#include "store/record.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: parley backup [--home DIR] FILE\n\n"
	    "Copies the node's store (DIR/parley.db) into the new file FILE\n"
	    "(mode 0600, never overwritten) while parleyd runs: a consistent\n"
	    "snapshot. Keys and channels are not in it: back up DIR's key files\n"
	    "and channels/ apart. Exit 0 done, 1 failed, 2 bad usage.\n");
}

int
cmd_backup(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "home", required_argument, NULL, 'h' },
		{ "help", no_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	const char *home = NULL;
	struct store *s = NULL;
	uint64_t pages = 0;
	int ch, r;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'h': home = optarg; break;
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
	if ((r = store_open_home_backup(&s, home)) != 0) {
		if (r == ERR_VERSION)
			fprintf(stderr, "parley backup: %s/%s: not a parley "
			    "store, or of a schema version newer than this "
			    "build's (%d)\n", home, STORE_FILE,
			    STORE_SCHEMA_VERSION);
		else
			fprintf(stderr, "parley backup: cannot open the store "
			    "of %s: %s\n", home, err_str(r));
		return r == ERR_NOT_FOUND ? CLI_USAGE : CLI_FAIL;
	}
	r = store_backup(s, argv[optind], &pages);
	if (r != 0)
		fprintf(stderr, "parley backup: %s: %s (%s)\n", argv[optind],
		    r == ERR_EXISTS ? "exists (backup never overwrites)" :
		    err_str(r), store_errmsg(s));
	else
		printf("backed up %s/%s to %s (%llu pages)\n", home, STORE_FILE,
		    argv[optind], (unsigned long long)pages);
	store_close(s);
	return r == 0 ? CLI_OK : CLI_FAIL;
}
