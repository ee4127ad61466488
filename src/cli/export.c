/*
 * export.c: `parley export --channel C FILE [--only ID,...]` writes a
 * channel's record from the store (read-only, beside parleyd) as one
 * self-verifying file (docs/export.md); `parley show --file FILE` prints
 * such a file for a person, after verifying it.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/file.h"
#include "base/hex.h"
#include "base/text.h"
#include "cli/cli.h"
#include "crypto/agreement.h"
#include "msg/ack.h"
#include "msg/export.h"
#include "store/record.h"

#define EXPORT_ONLY_MAX 256
#define EXPORT_PREFIX_MIN 8		/* hex digits of an --only id */

/* Resolves one --only item (a header id or a unique prefix of at least
 * EXPORT_PREFIX_MIN hex digits) among rec's messages. */
static int
resolve(const struct export_record *rec, const char *item,
    uint8_t out[ENVELOPE_ID_LEN], uint8_t *marking)
{
	struct envelope_header h;
	char hex[2 * ENVELOPE_ID_LEN + 1];
	uint8_t id[ENVELOPE_ID_LEN];
	size_t n = strlen(item), found = 0;

	if (n < EXPORT_PREFIX_MIN || n > 2 * ENVELOPE_ID_LEN)
		return ERR_USAGE;
	for (int i = 0; i < 2; i++)
		for (size_t k = 0; k < rec->chain[i].nmsg; k++) {
			export_msg_id(&rec->chain[i].msg[k], id);
			hex_encode(hex, id, sizeof id);
			if (strncasecmp(hex, item, n) == 0) {
				memcpy(out, id, sizeof id);
				*marking = ENVELOPE_PRIVATE;
				if (envelope_header_decode(&h,
				    rec->chain[i].msg[k].hdr,
				    rec->chain[i].msg[k].hlen) == 0)
					*marking = h.marking;
				found++;
			}
		}
	return found == 1 ? 0 : found == 0 ? ERR_NOT_FOUND : ERR_INVALID;
}

static int
select_only(struct export_record *rec, char *list, bool any_marking)
{
	static uint8_t keep[EXPORT_ONLY_MAX][ENVELOPE_ID_LEN];
	char *save = NULL, *item;
	uint8_t marking;
	size_t n = 0;
	int r;

	for (item = strtok_r(list, ",", &save); item != NULL;
	    item = strtok_r(NULL, ",", &save)) {
		if (n == EXPORT_ONLY_MAX) {
			fprintf(stderr, "parley export: more than %d ids in "
			    "--only\n", EXPORT_ONLY_MAX);
			return CLI_USAGE;
		}
		if ((r = resolve(rec, item, keep[n], &marking)) != 0) {
			fprintf(stderr, "parley export: --only %s: %s\n", item,
			    r == ERR_USAGE ? "give at least 8 hex digits of a"
			    " message id" : r == ERR_NOT_FOUND ? "no such "
			    "message on this channel" : "ambiguous prefix");
			return CLI_USAGE;
		}
		/* a disclosure follows the sender's marking */
		if (marking != ENVELOPE_RELEASABLE && !any_marking) {
			fprintf(stderr, "parley export: --only %s: the message "
			    "is marked %s, not releasable: nothing written "
			    "(--any-marking discloses it anyway)\n", item,
			    envelope_marking_name(marking));
			return CLI_FAIL;
		}
		n++;
	}
	if (n == 0) {
		fprintf(stderr, "parley export: --only needs ids\n");
		return CLI_USAGE;
	}
	export_keep_only(rec, (const uint8_t (*)[ENVELOPE_ID_LEN])keep, n);
	return CLI_OK;
}

static int
do_export(const char *home, const char *spec, const char *path, char *only,
    bool any_marking)
{
	struct export_record rec;
	struct export_report rep;
	struct agreement *as = NULL;
	struct store *s = NULL;
	uint8_t *buf = NULL;
	int *self = NULL, r, rc;
	size_t n, len;

	export_record_init(&rec);
	if ((rc = cli_record_channels(home, spec, "export", false, &as,
	    &self, &n)) != CLI_OK)
		return rc;
	if (n != 1) {
		fprintf(stderr, "parley export: '%s' names %zu channels\n",
		    spec, n);
		rc = CLI_USAGE;
		goto out;
	}
	if (cli_store_open("export", home, &s) != 0) {
		rc = CLI_FAIL;
		goto out;
	}
	if ((r = cli_record_load(s, &as[0], self[0], &rec)) != 0) {
		fprintf(stderr, "parley export: cannot read the store of %s: "
		    "%s\n", home, err_str(r));
		rc = CLI_FAIL;
		goto out;
	}
	rec.time_ms = clock_wall_ms();
	/* Never export a record that does not verify here. */
	if (export_verify(&rec, &rep) != 0) {
		fprintf(stderr, "parley export: the record does not verify, "
		    "nothing written: %s\n", rep.fault);
		rc = CLI_FAIL;
		goto out;
	}
	if (only != NULL && (rc = select_only(&rec, only, any_marking)) !=
	    CLI_OK)
		goto out;
	if (only != NULL && export_verify(&rec, &rep) != 0) {
		fprintf(stderr, "parley export: %s\n", rep.fault);
		rc = CLI_FAIL;
		goto out;
	}
	if ((r = export_encode(&rec, &buf, &len)) != 0 ||
	    (r = file_write(path, buf, len, 0600, 0)) != 0) {
		fprintf(stderr, "parley export: %s: %s\n", path,
		    r == ERR_EXISTS ? "exists (export never overwrites)" :
		    err_str(r));
		rc = CLI_FAIL;
		goto out;
	}
	printf("exported channel %s: headers %s %llu, %s %llu; bodies "
	    "disclosed %zu, %zu; %zu bytes to %s\n", spec, rec.party[0].name,
	    (unsigned long long)rep.seq[0], rec.party[1].name,
	    (unsigned long long)rep.seq[1], rep.disclosed[0],
	    rep.disclosed[1], len, path);
	if (rep.guessable[0] + rep.guessable[1] > 0)
		fprintf(stderr, "parley export: note: %zu hidden bodies (%s "
		    "%zu, %s %zu) are of version 1 headers, from a build "
		    "before salted bodies: their body hashes are unsalted, "
		    "and whoever holds the file can confirm a guess of them "
		    "(docs/export.md, \"Hidden\")\n", rep.guessable[0] +
		    rep.guessable[1], rec.party[0].name, rep.guessable[0],
		    rec.party[1].name, rep.guessable[1]);
out:
	free(buf);
	export_record_fini(&rec);
	store_close(s);
	free(as);
	free(self);
	return rc;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: parley export [--home DIR] --channel C\n"
	    "                     [--only ID,... [--any-marking]] FILE\n\n"
	    "Writes channel C's record (peer name or channel id prefix) as one\n"
	    "file that `parley verify --file` checks alone: both chains of\n"
	    "headers, signed heads, receipts, checkpoints, the parties' public\n"
	    "signing keys, and the bodies: all, or with --only just those of\n"
	    "the messages named (ids or prefixes of at least 8 hex digits); the\n"
	    "others appear only as the hashes in their headers. --only discloses\n"
	    "only messages marked releasable unless --any-marking (only with\n"
	    "--only). Never the PSK.\n"
	    "Never overwrites FILE. Exit 0 written, 1 failed, 2 bad usage.\n");
}

int
cmd_export(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "home", required_argument, NULL, 'h' },
		{ "channel", required_argument, NULL, 'c' },
		{ "only", required_argument, NULL, 'o' },
		{ "any-marking", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	const char *home = NULL, *spec = NULL;
	char *only = NULL;
	bool any_marking = false;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'h': home = optarg; break;
		case 'c': spec = optarg; break;
		case 'o': only = optarg; break;
		case 'a': any_marking = true; break;
		case 'H':
			usage(stdout);
			return CLI_OK;
		default:
			usage(stderr);
			return CLI_USAGE;
		}
	}
	if (argc - optind != 1 || spec == NULL) {
		usage(stderr);
		return CLI_USAGE;
	}
	/* without --only every body goes out, whatever its marking: the
	 * operator who named --any-marking meant to choose (--only lost) */
	if (any_marking && only == NULL) {
		fprintf(stderr, "parley export: --any-marking applies only with "
		    "--only (without it every body is exported, whatever its "
		    "marking): nothing written\n");
		return CLI_USAGE;
	}
	return do_export(cli_home(home), spec, argv[optind], only,
	    any_marking);
}

/* An acknowledgment's body: what it acknowledges, who, the text. */
static void
print_ack(const uint8_t *body, size_t n)
{
	struct ack_body b;
	char id[2 * ENVELOPE_ID_LEN + 1];

	if (ack_body_decode(&b, body, n) != 0) {
		printf("    (acknowledgment that does not decode: %zu bytes)\n",
		    n);
		return;
	}
	hex_encode(id, b.acked, sizeof b.acked);
	printf("    acknowledges %.16s, by ", id);
	text_print_line(stdout, (const uint8_t *)b.operator,
	    strlen(b.operator));
	if (b.text[0] != '\0') {
		fputs(": ", stdout);
		text_print(stdout, (const uint8_t *)b.text, strlen(b.text),
		    "    ");
	}
	fputc('\n', stdout);
}

/* unsigned_: no signed head covers the message (docs/export.md, step 3) */
static void
print_msg(const struct export_record *rec, int i, size_t k, bool unsigned_)
{
	const struct export_msg *m = &rec->chain[i].msg[k];
	struct envelope_header h;
	char id[2 * ENVELOPE_ID_LEN + 1], bh[2 * ENVELOPE_ID_LEN + 1];
	uint8_t raw[ENVELOPE_ID_LEN];

	export_msg_id(m, raw);
	hex_encode(id, raw, sizeof raw);
	if (envelope_header_decode(&h, m->hdr, m->hlen) != 0) {
		printf("%s #%zu  (header does not decode)\n",
		    rec->party[i].name, k + 1);
		return;
	}
	printf("%s #%llu  id %.16s  %s %s %s  time %llu\n",
	    rec->party[i].name, (unsigned long long)h.seq, id,
	    envelope_precedence_name(h.precedence),
	    envelope_marking_name(h.marking), envelope_kind_name(h.kind),
	    (unsigned long long)h.time_ms);
	if (unsigned_)
		printf("    NOT SIGNED: past the last head %s signed; only "
		    "its link to the header before holds it\n",
		    rec->party[i].name);
	if (m->body != NULL && h.kind == ENVELOPE_ACK)
		print_ack(m->body, m->blen);
	else if (m->body != NULL) {
		/* the sender's text, never a control character */
		fputs("    ", stdout);
		text_print(stdout, m->body, m->blen, "    ");
		fputc('\n', stdout);
	} else {
		hex_encode(bh, h.body_hash, sizeof h.body_hash);
		if (h.version == 1)	/* docs/export.md, "Hidden" */
			printf("    (not disclosed: %u bytes, unsalted body "
			    "hash %.16s...: a guess of the body can be "
			    "confirmed against it)\n", h.body_len, bh);
		else
			printf("    (not disclosed: %u bytes, body hash "
			    "%.16s...)\n", h.body_len, bh);
	}
}

int
cmd_export_show(int argc, char **argv)
{
	struct export_record rec;
	struct export_report rep;
	const char *path = NULL;
	char ch[2 * ENVELOPE_ID_LEN + 1], head[2 * ENVELOPE_ID_LEN + 1];
	uint8_t *buf = NULL;
	size_t len;
	int r, rc = CLI_OK;

	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], "--file") == 0)
			path = argv[i + 1];
	if (path == NULL || argc != 3) {
		fprintf(stderr, "usage: parley show --file FILE\n");
		return CLI_USAGE;
	}
	export_record_init(&rec);
	if (cli_export_read("show", path, &buf, &len) != 0) {
		rc = CLI_FAIL;
		goto out;
	}
	if ((r = export_decode(&rec, buf, len)) != 0) {
		fprintf(stderr, "parley show: %s: not a readable export file "
		    "(%s)\n", path, rec.decode_fault[0] != '\0' ?
		    rec.decode_fault : err_str(r));
		rc = CLI_FAIL;
		goto out;
	}
	r = export_verify(&rec, &rep);
	hex_encode(ch, rec.channel, sizeof rec.channel);
	printf("export of channel %s\nparties   %s (0), %s (1)\n", ch,
	    rec.party[0].name, rec.party[1].name);
	cli_print_sign_keys(&rec, "keys      ", "          ");
	printf("exported  by %s at %llu\n\n", rec.party[rec.exporter].name,
	    (unsigned long long)rec.time_ms);
	for (int i = 0; i < 2; i++)
		for (size_t k = 0; k < rec.chain[i].nmsg; k++)
			print_msg(&rec, i, k, r == 0 && k >= rec.chain[i].nmsg -
			    rep.unsigned_tail[i]);
	if (r != 0) {
		printf("\nFAULT: %s\n", rep.fault);
		rc = CLI_FAIL;
	} else {
		hex_encode(head, rep.head, sizeof rep.head);
		printf("\nverified: %zu heads, %zu receipts, %zu checkpoints;"
		    " transcript head %s\n", rep.nheads, rep.nreceipts,
		    rep.ncps, head);
	}
out:
	export_record_fini(&rec);
	free(buf);
	return rc;
}
