/*
 * channel.c: `parley channel draft|sign|add|list|show`: channel agreements
 * from the command line (agreement.h; format in docs/agreement.md, usage
 * in docs/parley.1.md).
 *
 * The life of an agreement: one side drafts it from the other side's
 * public identity file, both sign it (in either order; the file travels
 * out of band because it holds the PSK), both add it, and the two officers
 * read the channel fingerprint to each other. Every refusal says which
 * check failed. Bad command-line values exit 2 (CLI_USAGE); an agreement
 * refused for its content, or a node's state, exits 1 (CLI_FAIL).
 */
#include <getopt.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/clock.h"
#include "base/hex.h"
#include "base/num.h"
#include "cli/cli.h"
#include "crypto/agreement.h"
#include "crypto/keys.h"

#define DAY 86400
#define WARN_DAYS 30		/* list warns this long before expiry */
#define LIST_MAX 256		/* installed channels list reads at most */

static const char *prec_names[AGREEMENT_NPRECEDENCE] = {
	"flash", "immediate", "priority", "routine"
};

/* An agreement's time (unix seconds) as clock_utc_str shows times. */
static void
fmt_time(char out[CLOCK_UTC_LEN], uint64_t t)
{
	if (t > UINT64_MAX / 1000u)
		snprintf(out, CLOCK_UTC_LEN, "%llu s", (unsigned long long)t);
	else
		clock_utc_str(out, t * 1000u);
}

/* Splits a comma-separated list of paths into p (at most 8, each valid). */
static int
parse_paths(const char *opt, const char *s, char paths[][AGREEMENT_ADDR_MAX + 1],
    uint8_t *n)
{
	char buf[AGREEMENT_MAX_PATHS * (AGREEMENT_ADDR_MAX + 1) + 1], *tok, *save;

	*n = 0;
	if (strlen(s) >= sizeof buf) {
		fprintf(stderr, "parley channel draft: %s is too long\n", opt);
		return CLI_USAGE;
	}
	snprintf(buf, sizeof buf, "%s", s);
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		if (*n == AGREEMENT_MAX_PATHS) {
			fprintf(stderr, "parley channel draft: %s: at most %d "
			    "paths\n", opt, AGREEMENT_MAX_PATHS);
			return CLI_USAGE;
		}
		if (!agreement_path_is_valid(tok)) {
			fprintf(stderr, "parley channel draft: %s: '%s' is not "
			    "HOST:PORT (port 1..65535, IPv6 in brackets)\n",
			    opt, tok);
			return CLI_USAGE;
		}
		snprintf(paths[*n], AGREEMENT_ADDR_MAX + 1, "%s", tok);
		(*n)++;
	}
	if (*n == 0) {
		fprintf(stderr, "parley channel draft: %s: no path given\n",
		    opt);
		return CLI_USAGE;
	}
	return CLI_OK;
}

/* "flash=600,immediate=30m,...": seconds, or with a suffix s, m or h. */
static int
parse_deadlines(const char *s, struct agreement *a)
{
	char buf[256], *tok, *save, *eq;

	if (strlen(s) >= sizeof buf)
		goto bad;
	snprintf(buf, sizeof buf, "%s", s);
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		long long v, mult = 1;
		size_t n;
		int i;
		if ((eq = strchr(tok, '=')) == NULL)
			goto bad;
		*eq = '\0';
		for (i = 0; i < AGREEMENT_NPRECEDENCE; i++)
			if (strcasecmp(tok, prec_names[i]) == 0)
				break;
		if (i == AGREEMENT_NPRECEDENCE)
			goto bad;
		/* a unit after the number: s (the default), m or h */
		if ((n = strlen(eq + 1)) > 0 && strchr("smh", eq[n]) != NULL) {
			mult = eq[n] == 'h' ? 3600 : eq[n] == 'm' ? 60 : 1;
			eq[n] = '\0';
		}
		if (num_parse(eq + 1, 1, AGREEMENT_DEADLINE_MAX / mult,
		    &v) != 0)
			goto bad;
		a->ack_deadline_s[i] = (uint32_t)(v * mult);
	}
	return CLI_OK;
bad:
	fprintf(stderr, "parley channel draft: bad --deadline '%s': want "
	    "PRECEDENCE=SECONDS[,...] with PRECEDENCE one of flash, immediate, "
	    "priority, routine and 1..%d seconds (suffix m or h allowed)\n", s,
	    AGREEMENT_DEADLINE_MAX);
	return CLI_USAGE;
}

static const char *
party_name(const struct agreement *a, int i)
{
	return i >= 0 && i < 2 && a->party[i].name[0] ? a->party[i].name :
	    i == 0 ? "party 0" : "party 1";
}

/* Explains why reading or decoding path failed; returns the exit code. */
static int
refuse_read(const char *cmd, const char *path, int r,
    const struct agreement *a, const struct agreement_why *why)
{
	const char *p = "parley channel";

	switch (r) {
	case ERR_NOT_FOUND:
		fprintf(stderr, "%s %s: %s: no such file\n", p, cmd, path);
		return CLI_USAGE;
	case ERR_IO:
		fprintf(stderr, "%s %s: cannot read %s\n", p, cmd, path);
		return CLI_USAGE;
	case ERR_TOO_BIG:
		fprintf(stderr, "%s %s: agreement refused: %s is larger than "
		    "%d bytes\n", p, cmd, path, AGREEMENT_FILE_MAX);
		break;
	case ERR_PARSE:
		fprintf(stderr, "%s %s: agreement refused: %s is truncated or "
		    "malformed (not a parley agreement)\n", p, cmd, path);
		break;
	case ERR_NONCANONICAL:
		fprintf(stderr, "%s %s: agreement refused: %s is not in "
		    "canonical form (altered?)\n", p, cmd, path);
		break;
	case ERR_VERSION:
		fprintf(stderr, "%s %s: agreement refused: %s has an "
		    "unsupported version (this parley reads version %d)\n", p,
		    cmd, path, AGREEMENT_VERSION);
		break;
	case ERR_INVALID:
		fprintf(stderr, "%s %s: agreement refused: %s: field '%s'%s%s "
		    "is out of range\n", p, cmd, path, why->field,
		    why->party >= 0 ? " of " : "",
		    why->party >= 0 ? party_name(a, why->party) : "");
		break;
	case ERR_SIGNATURE:
		fprintf(stderr, "%s %s: agreement refused: signature of %s "
		    "does not verify (tampered?)\n", p, cmd,
		    party_name(a, why->party));
		break;
	default:
		fprintf(stderr, "%s %s: agreement refused: %s: %s\n", p, cmd,
		    path, err_str(r));
		break;
	}
	return CLI_FAIL;
}

/* Explains an agreement_check failure for node self. */
static int
refuse_check(const char *cmd, int r, const struct agreement *a,
    const struct node_identity *self)
{
	char t[32];

	fprintf(stderr, "parley channel %s: agreement refused: ", cmd);
	switch (r) {
	case ERR_FOREIGN:
		fprintf(stderr, "foreign: this node (%s) is not a party; the "
		    "parties are %s and %s\n", self->name, a->party[0].name,
		    a->party[1].name);
		break;
	case ERR_UNSIGNED:
		if (!a->is_signed[0] && !a->is_signed[1])
			fprintf(stderr, "unsigned: neither %s nor %s has signed "
			    "it\n", a->party[0].name, a->party[1].name);
		else
			fprintf(stderr, "half-signed: %s has not signed it\n",
			    a->party[a->is_signed[0] ? 1 : 0].name);
		break;
	case ERR_EXPIRED:
		fmt_time(t, a->not_after);
		fprintf(stderr, "expired on %s\n", t);
		break;
	case ERR_NOT_YET_VALID:
		fmt_time(t, a->not_before);
		fprintf(stderr, "not yet valid: valid from %s\n", t);
		break;
	default:
		fprintf(stderr, "%s\n", err_str(r));
		break;
	}
	return CLI_FAIL;
}

static void
print_summary(const struct agreement *a)
{
	char hex[2 * AGREEMENT_ID_LEN + 1], fp[FINGERPRINT_STR_LEN], t[32];

	hex_encode(hex, a->id, AGREEMENT_ID_LEN);
	agreement_fingerprint(a, fp);
	printf("channel id   %s\n", hex);
	printf("fingerprint  %s\n", fp);
	fmt_time(t, a->not_after);
	printf("valid until  %s\n", t);
}

/* Parses the options every subcommand but draft takes: --home, --help. */
static int
simple_opts(int argc, char **argv, const char **home, void (*usage)(FILE *),
    int *json)
{
	static const struct option opts[] = {
		{ "home", required_argument, NULL, 'H' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'H':
			*home = optarg;
			break;
		case 'j':
			if (json == NULL)
				goto bad;
			*json = 1;
			break;
		case 'h':
			usage(stdout);
			return -1;
		default:
			goto bad;
		}
	}
	return CLI_OK;
bad:
	usage(stderr);
	return CLI_USAGE;
}

static void
usage_draft(FILE *f)
{
	fprintf(f,
	    "usage: parley channel draft [--home DIR] --peer PEER.id\n"
	    "           --paths HOST:PORT[,...] --peer-paths HOST:PORT[,...]\n"
	    "           [--days N] [--start-days N] [--heartbeat S]\n"
	    "           [--test-interval S] [--deadline flash=600,...]\n"
	    "           [--language en] [--peer-language en] --out FILE\n"
	    "\n"
	    "Drafts an unsigned channel agreement between this node and the\n"
	    "peer whose identity file (parley id --export) is PEER.id, with a\n"
	    "fresh random PSK, and writes it to FILE (mode 0600; refuses to\n"
	    "overwrite). --paths are where this node listens, --peer-paths\n"
	    "where the peer does: 1..8 each, the same count on both sides.\n"
	    "Valid from now + --start-days (default 0; negative back-dates,\n"
	    "which tests use) for --days (default 365). Defaults: heartbeat\n"
	    "10 s, test interval 3600 s, deadlines flash=600, immediate=1800,\n"
	    "priority=10800, routine=21600 s. FILE holds the PSK: hand it to\n"
	    "the peer out of band, never over an open network.\n");
}

struct draft_opts {
	const char *home, *peer, *paths, *peer_paths, *out;
	const char *language, *peer_language;
	long long days, start_days, heartbeat, test_interval;
};

static int
draft_parse(int argc, char **argv, struct draft_opts *o, struct agreement *a)
{
	static const struct option opts[] = {
		{ "home", required_argument, NULL, 'H' },
		{ "peer", required_argument, NULL, 'p' },
		{ "paths", required_argument, NULL, 'a' },
		{ "peer-paths", required_argument, NULL, 'A' },
		{ "days", required_argument, NULL, 'd' },
		{ "start-days", required_argument, NULL, 's' },
		{ "heartbeat", required_argument, NULL, 'b' },
		{ "test-interval", required_argument, NULL, 't' },
		{ "deadline", required_argument, NULL, 'D' },
		{ "language", required_argument, NULL, 'l' },
		{ "peer-language", required_argument, NULL, 'L' },
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, rc = CLI_OK;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'H': o->home = optarg; break;
		case 'p': o->peer = optarg; break;
		case 'a': o->paths = optarg; break;
		case 'A': o->peer_paths = optarg; break;
		case 'o': o->out = optarg; break;
		case 'l': o->language = optarg; break;
		case 'L': o->peer_language = optarg; break;
		case 'd':
			rc = cli_num("channel draft", "--days", optarg, 1,
			    36500, &o->days);
			break;
		case 's':
			rc = cli_num("channel draft", "--start-days", optarg,
			    -36500, 36500, &o->start_days);
			break;
		case 'b':
			rc = cli_num("channel draft", "--heartbeat", optarg, 1,
			    AGREEMENT_HEARTBEAT_MAX, &o->heartbeat);
			break;
		case 't':
			rc = cli_num("channel draft", "--test-interval",
			    optarg, 1, AGREEMENT_TEST_INTERVAL_MAX,
			    &o->test_interval);
			break;
		case 'D':
			if ((rc = parse_deadlines(optarg, a)) != CLI_OK)
				return rc;
			break;
		case 'h':
			usage_draft(stdout);
			return -1;
		default:
			usage_draft(stderr);
			return CLI_USAGE;
		}
		if (rc != CLI_OK)
			return rc;
	}
	if (optind != argc || !o->peer || !o->paths || !o->peer_paths ||
	    !o->out) {
		fprintf(stderr, "parley channel draft: --peer, --paths, "
		    "--peer-paths and --out are required\n");
		usage_draft(stderr);
		return CLI_USAGE;
	}
	if (!agreement_language_is_valid(o->language) ||
	    !agreement_language_is_valid(o->peer_language)) {
		fprintf(stderr, "parley channel draft: bad language tag (want "
		    "e.g. en, fr, pt-BR)\n");
		return CLI_USAGE;
	}
	return CLI_OK;
}

/* Fills a from the options, this node's identity and the peer's. */
static int
draft_fill(struct agreement *a, const struct draft_opts *o,
    const struct node_identity *self)
{
	struct node_identity peer;
	uint8_t n0, n1;
	long long start;
	int r, rc;

	if ((r = keys_identity_read(o->peer, &peer)) != 0) {
		fprintf(stderr, "parley channel draft: %s is not a usable "
		    "parley identity file: %s\n", o->peer, err_str(r));
		return CLI_USAGE;
	}
	if (strcmp(peer.name, self->name) == 0 ||
	    memcmp(peer.link_pub, self->link_pub, KEYS_PUB_LEN) == 0 ||
	    memcmp(peer.sign_pub, self->sign_pub, KEYS_PUB_LEN) == 0) {
		fprintf(stderr, "parley channel draft: the peer (%s) has this "
		    "node's name or keys; a channel needs two parties\n",
		    peer.name);
		return CLI_USAGE;
	}
	if ((rc = parse_paths("--paths", o->paths, a->party[0].paths,
	    &n0)) != CLI_OK || (rc = parse_paths("--peer-paths",
	    o->peer_paths, a->party[1].paths, &n1)) != CLI_OK)
		return rc;
	if (n0 != n1) {
		fprintf(stderr, "parley channel draft: --paths has %u path(s) "
		    "but --peer-paths has %u; the counts must match\n", n0, n1);
		return CLI_USAGE;
	}
	a->npaths = n0;
	snprintf(a->party[0].name, sizeof a->party[0].name, "%s", self->name);
	memcpy(a->party[0].link_pub, self->link_pub, KEYS_PUB_LEN);
	memcpy(a->party[0].sign_pub, self->sign_pub, KEYS_PUB_LEN);
	snprintf(a->party[0].language, sizeof a->party[0].language, "%s",
	    o->language);
	snprintf(a->party[1].name, sizeof a->party[1].name, "%s", peer.name);
	memcpy(a->party[1].link_pub, peer.link_pub, KEYS_PUB_LEN);
	memcpy(a->party[1].sign_pub, peer.sign_pub, KEYS_PUB_LEN);
	snprintf(a->party[1].language, sizeof a->party[1].language, "%s",
	    o->peer_language);
	randombytes_buf(a->psk, sizeof a->psk);
	a->created = clock_wall_s();
	start = (long long)a->created + o->start_days * DAY;
	if (start < 0)
		start = 0;
	a->not_before = (uint64_t)start;
	a->not_after = a->not_before + (uint64_t)o->days * DAY;
	if (o->heartbeat)
		a->heartbeat_s = (uint32_t)o->heartbeat;
	if (o->test_interval)
		a->test_interval_s = (uint32_t)o->test_interval;
	return CLI_OK;
}

static int
cmd_draft(int argc, char **argv)
{
	struct draft_opts o = { .language = "en", .peer_language = "en",
		.days = 365 };
	struct agreement_why why;
	struct agreement a;
	struct keys k;
	int r, rc;

	agreement_defaults(&a);
	if ((rc = draft_parse(argc, argv, &o, &a)) != CLI_OK)
		return rc < 0 ? CLI_OK : rc;
	if ((rc = cli_keys_load(&k, cli_home(o.home), "channel draft")) !=
	    CLI_OK)
		return rc;
	if ((rc = draft_fill(&a, &o, &k.id)) != CLI_OK)
		goto out;
	if ((r = agreement_validate(&a, &why)) != 0 ||
	    (r = agreement_finalize(&a)) != 0) {
		fprintf(stderr, "parley channel draft: field '%s' is out of "
		    "range: %s\n", why.field, err_str(r));
		rc = CLI_USAGE;
		goto out;
	}
	if ((r = agreement_write_file(&a, o.out, 0)) != 0) {
		fprintf(stderr, "parley channel draft: cannot write %s: %s\n",
		    o.out, r == ERR_EXISTS ? "it exists; refusing to "
		    "overwrite it" : err_str(r));
		rc = CLI_FAIL;
		goto out;
	}
	printf("drafted an agreement between %s and %s in %s (unsigned)\n",
	    a.party[0].name, a.party[1].name, o.out);
	print_summary(&a);
	printf("next: parley channel sign %s; hand it to %s out of band "
	    "(it holds the PSK)\n", o.out, a.party[1].name);
out:
	agreement_wipe(&a);
	keys_fini(&k);
	return rc;
}

static void
usage_sign(FILE *f)
{
	fprintf(f,
	    "usage: parley channel sign [--home DIR]\n"
	    "           [--expect-fingerprint \"DIGITS\"] FILE\n"
	    "\n"
	    "Checks the agreement in FILE (form, signatures present) and adds\n"
	    "this node's signature, rewriting FILE (mode 0600). Refuses an\n"
	    "agreement this node is not a party to. Before you sign, run\n"
	    "parley channel show FILE and read its fingerprint with the other\n"
	    "side's officer; --expect-fingerprint then refuses (exit 1, not\n"
	    "signing) a FILE whose fingerprint differs from DIGITS (the 30\n"
	    "digits, spaces ignored).\n");
}

/* Copies the digits of s (spaces dropped) into out; false for any other
 * character or a count other than a fingerprint's 30. */
static bool
fingerprint_digits(const char *s, char out[FINGERPRINT_STR_LEN])
{
	size_t n = 0;

	for (; *s != '\0'; s++) {
		if (*s == ' ')
			continue;
		if (*s < '0' || *s > '9' || n == 30)
			return false;
		out[n++] = *s;
	}
	out[n] = '\0';
	return n == 30;
}

/* Options of sign: --home, --expect-fingerprint, --help. */
static int
sign_opts(int argc, char **argv, const char **home, const char **expect)
{
	static const struct option opts[] = {
		{ "home", required_argument, NULL, 'H' },
		{ "expect-fingerprint", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'H':
			*home = optarg;
			break;
		case 'f':
			*expect = optarg;
			break;
		case 'h':
			usage_sign(stdout);
			return -1;
		default:
			usage_sign(stderr);
			return CLI_USAGE;
		}
	}
	if (optind + 1 != argc) {
		usage_sign(stderr);
		return CLI_USAGE;
	}
	return CLI_OK;
}

/* CLI_FAIL (and says so) when a's fingerprint is not the one expected. */
static int
sign_expect(const struct agreement *a, const char *path, const char *expect)
{
	char want[FINGERPRINT_STR_LEN], fp[FINGERPRINT_STR_LEN];
	char got[FINGERPRINT_STR_LEN];

	agreement_fingerprint(a, fp);
	if (fingerprint_digits(fp, got) && fingerprint_digits(expect, want) &&
	    strcmp(got, want) == 0)
		return CLI_OK;
	fprintf(stderr, "parley channel sign: agreement refused: the "
	    "fingerprint of %s is %s, not the expected %s; not signed\n",
	    path, fp, expect);
	return CLI_FAIL;
}

static int
cmd_sign(int argc, char **argv)
{
	const char *home = NULL, *expect = NULL, *path;
	char want[FINGERPRINT_STR_LEN];
	struct agreement_why why;
	struct agreement a;
	struct keys k;
	int i, r, rc;

	if ((rc = sign_opts(argc, argv, &home, &expect)) != CLI_OK)
		return rc < 0 ? CLI_OK : rc;
	if (expect != NULL && !fingerprint_digits(expect, want)) {
		fprintf(stderr, "parley channel sign: bad --expect-fingerprint "
		    "'%s': want the 30 digits that channel show prints\n",
		    expect);
		return CLI_USAGE;
	}
	path = argv[optind];
	if ((r = agreement_read_file_detail(&a, path, &why)) != 0)
		return refuse_read("sign", path, r, &a, &why);
	if (expect != NULL && (rc = sign_expect(&a, path, expect)) != CLI_OK)
		goto out_wipe;
	if ((rc = cli_keys_load(&k, cli_home(home), "channel sign")) != CLI_OK)
		goto out_wipe;
	if (agreement_check(&a, &k.id, clock_wall_s(), &i) == ERR_FOREIGN) {
		rc = refuse_check("sign", ERR_FOREIGN, &a, &k.id);
		goto out;
	}
	if (a.is_signed[i]) {
		printf("%s has already signed %s; nothing changed\n",
		    k.id.name, path);
	} else {
		if ((r = agreement_sign(&a, &k)) != 0 ||
		    (r = agreement_write_file(&a, path, 1)) != 0) {
			fprintf(stderr, "parley channel sign: cannot sign %s: "
			    "%s\n", path, err_str(r));
			rc = CLI_FAIL;
			goto out;
		}
		printf("signed %s as %s\n", path, k.id.name);
	}
	print_summary(&a);
	if (!a.is_signed[1 - i])
		printf("next: hand %s to %s out of band to sign\n", path,
		    a.party[1 - i].name);
	else
		printf("both parties have signed: parley channel add %s\n",
		    path);
	if (clock_wall_s() > a.not_after)
		fprintf(stderr, "warning: this agreement has already "
		    "expired\n");
out:
	keys_fini(&k);
out_wipe:
	agreement_wipe(&a);
	return rc;
}

static void
usage_add(FILE *f)
{
	fprintf(f,
	    "usage: parley channel add [--home DIR] FILE\n"
	    "\n"
	    "Installs the agreement in FILE as a channel of this node, in\n"
	    "DIR/channels/<channel id>.agreement (mode 0600), and prints the\n"
	    "channel fingerprint that both officers must read alike. Refuses\n"
	    "(exit 1, saying which) an agreement that is tampered, half-signed,\n"
	    "expired, not yet valid, foreign, truncated or malformed.\n");
}

static int
cmd_add(int argc, char **argv)
{
	const char *home = NULL, *path;
	struct agreement_why why;
	struct agreement a;
	struct keys k;
	int i, r, rc;

	if ((rc = simple_opts(argc, argv, &home, usage_add, NULL)) != CLI_OK)
		return rc < 0 ? CLI_OK : rc;
	if (optind + 1 != argc) {
		usage_add(stderr);
		return CLI_USAGE;
	}
	path = argv[optind];
	if ((r = agreement_read_file_detail(&a, path, &why)) != 0)
		return refuse_read("add", path, r, &a, &why);
	if ((rc = cli_keys_load(&k, cli_home(home), "channel add")) != CLI_OK)
		goto out_wipe;
	if ((r = agreement_check(&a, &k.id, clock_wall_s(), &i)) != 0) {
		rc = refuse_check("add", r, &a, &k.id);
		goto out;
	}
	if ((r = agreement_install(cli_home(home), &a)) != 0) {
		fprintf(stderr, "parley channel add: cannot install %s: %s\n",
		    path, r == ERR_EXISTS ? "this channel is already "
		    "installed" : err_str(r));
		rc = CLI_FAIL;
		goto out;
	}
	printf("installed the channel between %s and %s\n", k.id.name,
	    a.party[1 - i].name);
	print_summary(&a);
	printf("read the fingerprint to %s's officer: both must hear the same "
	    "digits\n", a.party[1 - i].name);
out:
	keys_fini(&k);
out_wipe:
	agreement_wipe(&a);
	return rc;
}

static void
usage_list(FILE *f)
{
	fprintf(f,
	    "usage: parley channel list [--home DIR] [--json]\n"
	    "\n"
	    "Lists the installed channels: peer, channel id (abbreviated; full\n"
	    "in --json), fingerprint, expiry date, and a warning when a\n"
	    "channel expires within %d days or has expired.\n", WARN_DAYS);
}

/* The warning for a, or NULL. */
static const char *
expiry_warning(const struct agreement *a, uint64_t now, char buf[48])
{
	if (now > a->not_after)
		return "EXPIRED";
	if (now < a->not_before)
		return "not yet valid";
	if (a->not_after - now < (uint64_t)WARN_DAYS * DAY) {
		snprintf(buf, 48, "expires in %llu day(s)",
		    (unsigned long long)((a->not_after - now) / DAY));
		return buf;
	}
	return NULL;
}

static int
list_json(const struct agreement *as, size_t n, int self_idx[], uint64_t now)
{
	char hex[2 * AGREEMENT_ID_LEN + 1], fp[FINGERPRINT_STR_LEN], t[32];
	char wbuf[48];
	json_t *arr = json_array();
	char *s;

	for (size_t i = 0; arr != NULL && i < n; i++) {
		const struct agreement *a = &as[i];
		const char *w = expiry_warning(a, now, wbuf);
		hex_encode(hex, a->id, AGREEMENT_ID_LEN);
		agreement_fingerprint(a, fp);
		fmt_time(t, a->not_after);
		if (json_array_append_new(arr, json_pack(
		    "{s:s, s:s, s:s, s:I, s:I, s:s, s:o}",
		    "peer", party_name(a, 1 - self_idx[i]), "channel_id", hex,
		    "fingerprint", fp, "not_before", (json_int_t)a->not_before,
		    "not_after", (json_int_t)a->not_after, "expires", t,
		    "warning", w ? json_string(w) : json_null())) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	if (arr == NULL || (s = json_dumps(arr, JSON_INDENT(2) |
	    JSON_PRESERVE_ORDER)) == NULL) {
		json_decref(arr);
		fprintf(stderr, "parley channel list: out of memory\n");
		return CLI_FAIL;
	}
	printf("%s\n", s);
	free(s);
	json_decref(arr);
	return CLI_OK;
}

static void
list_table(const struct agreement *as, size_t n, int self_idx[], uint64_t now)
{
	char hex[2 * AGREEMENT_ID_LEN + 1], fp[FINGERPRINT_STR_LEN], t[32];
	char wbuf[48];

	printf("%-16s %-16s %-35s %-10s %s\n", "PEER", "CHANNEL ID",
	    "FINGERPRINT", "EXPIRES", "WARNING");
	for (size_t i = 0; i < n; i++) {
		const struct agreement *a = &as[i];
		const char *w = expiry_warning(a, now, wbuf);
		hex_encode(hex, a->id, AGREEMENT_ID_LEN);
		hex[16] = '\0';
		agreement_fingerprint(a, fp);
		fmt_time(t, a->not_after);
		t[10] = '\0';
		printf("%-16s %-16s %-35s %-10s %s\n",
		    party_name(a, 1 - self_idx[i]), hex, fp, t, w ? w : "");
	}
}

static int
cmd_list(int argc, char **argv)
{
	const char *home = NULL;
	char idpath[KEYS_PATH_MAX];
	struct node_identity self;
	struct agreement *as;
	int self_idx[LIST_MAX];
	uint64_t now = clock_wall_s();
	size_t n = 0;
	int json = 0, r, rc;

	if ((rc = simple_opts(argc, argv, &home, usage_list, &json)) != CLI_OK)
		return rc < 0 ? CLI_OK : rc;
	if (optind != argc) {
		usage_list(stderr);
		return CLI_USAGE;
	}
	home = cli_home(home);
	snprintf(idpath, sizeof idpath, "%s/%s", home, KEYS_ID_FILE);
	if ((r = keys_identity_read(idpath, &self)) != 0) {
		fprintf(stderr, "parley channel list: no usable node in %s "
		    "(%s: %s)\n", home, idpath, err_str(r));
		return CLI_FAIL;
	}
	if ((as = calloc(LIST_MAX, sizeof *as)) == NULL) {
		fprintf(stderr, "parley channel list: out of memory\n");
		return CLI_FAIL;
	}
	if ((r = agreement_load_all(home, as, LIST_MAX, &n)) != 0) {
		fprintf(stderr, "parley channel list: cannot read the installed "
		    "channels in %s/%s: %s\n", home, KEYS_CHANNELS_DIR,
		    err_str(r));
		rc = CLI_FAIL;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		int idx;
		/* expiry is shown, not refused; a foreign one shows party 1 */
		if (agreement_check(&as[i], &self, now, &idx) == ERR_FOREIGN)
			idx = 0;
		self_idx[i] = idx;
	}
	if (json)
		rc = list_json(as, n, self_idx, now);
	else if (n == 0)
		printf("no channels in %s\n", home);
	else
		list_table(as, n, self_idx, now);
out:
	for (size_t i = 0; i < n; i++)
		agreement_wipe(&as[i]);
	free(as);
	return rc;
}

static void
usage_show(FILE *f)
{
	fprintf(f,
	    "usage: parley channel show FILE\n"
	    "\n"
	    "Checks the agreement in FILE (form, signatures present) and prints\n"
	    "its fields, the channel id and fingerprint. Never prints the PSK.\n");
}

static void
show_party(const struct agreement *a, int i)
{
	const struct agreement_party *p = &a->party[i];
	struct node_identity id;
	char fp[FINGERPRINT_STR_LEN];

	memcpy(id.link_pub, p->link_pub, KEYS_PUB_LEN);
	memcpy(id.sign_pub, p->sign_pub, KEYS_PUB_LEN);
	printf("party %d%s      %s\n", i, i == 0 ? " (drafter)" : "          ",
	    p->name);
	printf("  language          %s\n", p->language);
	keys_fingerprint_link(&id, fp);
	printf("  link key          %s\n", fp);
	keys_fingerprint_sign(&id, fp);
	printf("  signing key       %s\n", fp);
	/* numbered from 0, as parley status, the log and link-test do */
	for (size_t j = 0; j < a->npaths; j++)
		printf("  path %zu            %s\n", j, p->paths[j]);
	printf("  signature         %s\n", a->is_signed[i] ? "present, "
	    "verifies" : "missing");
}

static int
cmd_show(int argc, char **argv)
{
	const char *home = NULL, *path;
	struct agreement_why why;
	struct agreement a;
	uint64_t now = clock_wall_s();
	char t[32], wbuf[48];
	const char *w;
	int r, rc;

	if ((rc = simple_opts(argc, argv, &home, usage_show, NULL)) != CLI_OK)
		return rc < 0 ? CLI_OK : rc;
	if (optind + 1 != argc) {
		usage_show(stderr);
		return CLI_USAGE;
	}
	path = argv[optind];
	if ((r = agreement_read_file_detail(&a, path, &why)) != 0)
		return refuse_read("show", path, r, &a, &why);
	printf("agreement version %d\n", AGREEMENT_VERSION);
	print_summary(&a);
	fmt_time(t, a.created);
	printf("created      %s\n", t);
	fmt_time(t, a.not_before);
	printf("valid from   %s\n", t);
	if ((w = expiry_warning(&a, now, wbuf)) != NULL)
		printf("warning      %s\n", w);
	printf("heartbeat    %u s\n", a.heartbeat_s);
	printf("test every   %u s\n", a.test_interval_s);
	printf("ack deadlines");
	for (int i = 0; i < AGREEMENT_NPRECEDENCE; i++)
		printf("%s %s %u s", i ? "," : "", prec_names[i],
		    a.ack_deadline_s[i]);
	printf("\n");
	show_party(&a, 0);
	show_party(&a, 1);
	agreement_wipe(&a);
	return CLI_OK;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: parley channel SUBCOMMAND [ARGS...]   (SUBCOMMAND --help)\n"
	    "\n"
	    "  draft   draft an unsigned agreement with a peer's identity file\n"
	    "  sign    add this node's signature to an agreement file\n"
	    "  add     install a doubly signed agreement as a channel\n"
	    "  list    list the installed channels\n"
	    "  show    print an agreement file's fields (never the PSK)\n");
}

int
cmd_channel(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} subs[] = {
		{ "draft", cmd_draft }, { "sign", cmd_sign }, { "add", cmd_add },
		{ "list", cmd_list }, { "show", cmd_show },
	};

	if (argc < 2) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return CLI_OK;
	}
	for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
		if (strcmp(argv[1], subs[i].name) == 0)
			return subs[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "parley channel: unknown subcommand '%s'\n", argv[1]);
	usage(stderr);
	return CLI_USAGE;
}
