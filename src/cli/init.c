/*
 * init.c: `parley init --name NAME [--home DIR]`: creates a node home with
 * its link and signing key pairs (keys_create) and prints the fingerprints
 * to read to the other side. The layout is docs/node-home.md.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "crypto/keys.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: parley init --name NAME [--home DIR]\n"
	    "\n"
	    "Creates a node in DIR (made mode 0700): an X25519 link key pair,\n"
	    "an Ed25519 signing key pair (files mode 0600) and the public\n"
	    "identity file. NAME is 1..%d characters of a-z, 0-9 and '-', not\n"
	    "starting with '-'. DIR defaults to $PARLEY_HOME, then ~/.parley.\n"
	    "Refuses a DIR that already holds a node; never overwrites a\n"
	    "file; on failure removes only what it created.\n",
	    KEYS_NAME_MAX);
}

int
cmd_init(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "home", required_argument, NULL, 'H' },
		{ "name", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *opt_home = NULL, *name = NULL, *home;
	char fp[FINGERPRINT_STR_LEN];
	struct keys k;
	int c, r, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'H':
			opt_home = optarg;
			break;
		case 'n':
			name = optarg;
			break;
		case 'h':
			usage(stdout);
			return CLI_OK;
		default:
			usage(stderr);
			return CLI_USAGE;
		}
	}
	if (optind != argc || name == NULL) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (!keys_name_is_valid(name)) {
		fprintf(stderr, "parley init: invalid node name '%s': 1..%d "
		    "characters of a-z, 0-9 and '-', not starting with '-'\n",
		    name, KEYS_NAME_MAX);
		return CLI_USAGE;
	}
	home = cli_home(opt_home);
	switch ((r = keys_create(home, name))) {
	case 0:
		break;
	case ERR_EXISTS:
		fprintf(stderr, "parley init: %s already holds a node (or is "
		    "not a directory); refusing to overwrite it\n", home);
		return CLI_FAIL;
	case ERR_PERMS:
		fprintf(stderr, "parley init: %s is not owned by this user "
		    "or is accessible by group or others; use a new "
		    "directory or chmod 700 it\n", home);
		return CLI_FAIL;
	default:
		fprintf(stderr, "parley init: cannot create a node in %s: %s\n",
		    home, err_str(r));
		return CLI_FAIL;
	}
	if ((rc = cli_keys_load(&k, home, "init")) != CLI_OK)
		return rc;
	printf("created node %s in %s\n", k.id.name, home);
	keys_fingerprint_link(&k.id, fp);
	printf("link key fingerprint     %s\n", fp);
	keys_fingerprint_sign(&k.id, fp);
	printf("signing key fingerprint  %s\n", fp);
	keys_fini(&k);
	return CLI_OK;
}
