/*
 * id.c: `parley id`: this node's name and key fingerprints, in groups of
 * five digits to read aloud; --json for programs; --export FILE writes the
 * public identity file the other side drafts an agreement with
 * (docs/node-home.md). Also cli_keys_load, shared by the commands that
 * need the node's keys.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hex.h"
#include "cli/cli.h"
#include "crypto/keys.h"

int
cli_keys_load(struct keys *k, const char *home, const char *cmd)
{
	char bad[KEYS_PATH_MAX];
	int r;

	switch ((r = keys_load_detail(k, home, bad, sizeof bad))) {
	case 0:
		return CLI_OK;
	case ERR_PERMS:
		if (strcmp(bad, home) == 0) {
			fprintf(stderr, "parley %s: the home %s is not owned "
			    "by this user or group or others may write it; "
			    "refusing to use it: its key files may have been "
			    "swapped; if not, chmod go-w it\n", cmd, home);
			break;
		}
		fprintf(stderr, "parley %s: %s is readable or writable by group "
		    "or others (or is not a regular file owned by this user); "
		    "refusing to use "
		    "it: the key may be exposed; if not, chmod 600 it\n", cmd,
		    bad);
		break;
	case ERR_NOT_FOUND:
		fprintf(stderr, "parley %s: no node in %s (%s is missing); "
		    "create one with parley init --home %s --name NAME\n",
		    cmd, home, bad, home);
		break;
	case ERR_PARSE:
		fprintf(stderr, "parley %s: %s is damaged or does not match "
		    "the node's other key files\n", cmd, bad);
		break;
	case ERR_VERSION:
		fprintf(stderr, "parley %s: %s has an unsupported version\n",
		    cmd, bad);
		break;
	default:
		fprintf(stderr, "parley %s: cannot load the node's keys from "
		    "%s: %s\n", cmd, bad, err_str(r));
		break;
	}
	return CLI_FAIL;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: parley id [--home DIR] [--json] [--export FILE]\n"
	    "\n"
	    "Prints this node's name and the fingerprints of its link and\n"
	    "signing keys, in groups of five digits to read over a voice line.\n"
	    "--export FILE writes the public identity file (JSON: version,\n"
	    "name, link_key, sign_key) that the other side drafts a channel\n"
	    "agreement with; it holds no secret. It never overwrites a\n"
	    "file.\n");
}

static int
print_json(const struct node_identity *id)
{
	char link[2 * KEYS_PUB_LEN + 1], sign[2 * KEYS_PUB_LEN + 1];
	char lfp[FINGERPRINT_STR_LEN], sfp[FINGERPRINT_STR_LEN];
	json_t *o;
	char *s;

	hex_encode(link, id->link_pub, KEYS_PUB_LEN);
	hex_encode(sign, id->sign_pub, KEYS_PUB_LEN);
	keys_fingerprint_link(id, lfp);
	keys_fingerprint_sign(id, sfp);
	o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "name", id->name,
	    "link_key", link, "sign_key", sign, "link_fingerprint", lfp,
	    "sign_fingerprint", sfp);
	if (o == NULL || (s = json_dumps(o, JSON_INDENT(2) |
	    JSON_PRESERVE_ORDER)) == NULL) {
		json_decref(o);
		fprintf(stderr, "parley id: out of memory\n");
		return CLI_FAIL;
	}
	printf("%s\n", s);
	free(s);
	json_decref(o);
	return CLI_OK;
}

int
cmd_id(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "home", required_argument, NULL, 'H' },
		{ "json", no_argument, NULL, 'j' },
		{ "export", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *opt_home = NULL, *export = NULL, *home;
	char fp[FINGERPRINT_STR_LEN];
	struct keys k;
	int c, r, rc, json = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'H':
			opt_home = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'e':
			export = optarg;
			break;
		case 'h':
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
	home = cli_home(opt_home);
	if ((rc = cli_keys_load(&k, home, "id")) != CLI_OK)
		return rc;
	if (export != NULL) {
		if ((r = keys_identity_write(export, &k.id)) == ERR_EXISTS) {
			fprintf(stderr, "parley id: %s exists; refusing to "
			    "overwrite it (remove it first, if it is an old "
			    "export)\n", export);
			keys_fini(&k);
			return CLI_FAIL;
		}
		if (r != 0) {
			fprintf(stderr, "parley id: cannot write %s: %s\n",
			    export, err_str(r));
			keys_fini(&k);
			return CLI_FAIL;
		}
		if (!json)
			printf("wrote the public identity of %s to %s\n",
			    k.id.name, export);
	}
	if (json)
		rc = print_json(&k.id);
	else {
		printf("node                     %s\n", k.id.name);
		keys_fingerprint_link(&k.id, fp);
		printf("link key fingerprint     %s\n", fp);
		keys_fingerprint_sign(&k.id, fp);
		printf("signing key fingerprint  %s\n", fp);
	}
	keys_fini(&k);
	return rc;
}
