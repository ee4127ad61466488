/*
 * verify.c: `parley verify [--channel C]` checks the record in the node's
 * store (read-only: it runs beside parleyd), `parley verify --file FILE`
 * an export file, without a daemon or a store. Both load the record into
 * an export_record (msg/export.h) and run the same verifier, which names
 * the first fault. The store's check also recomputes every audit anchor
 * (msg/anchor.h) from the audit log and checks the peer's signature. With
 * --json, one JSON object instead of the text. Also the record loader shared with `parley export`
 * and the printer of `parley show --file`.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/file.h"
#include "base/hex.h"
#include "cli/cli.h"
#include "crypto/agreement.h"
#include "crypto/keys.h"
#include "msg/anchor.h"
#include "msg/audit.h"
#include "msg/export.h"
#include "store/record.h"

/* The installed channels the record commands read: room for 64 at
 * first, twice as much while the home holds more, up to this (parleyd
 * runs at most LINK_MAX_CHANNELS, but a home may hold more). */
#define RECORD_CHANNELS_FIRST 64
#define RECORD_CHANNELS_MAX 4096

struct load {
	struct export_record *rec;
	int r;
};

static int
load_msg(void *arg, struct store_msg *m)
{
	struct export_record *rec = arg;

	return export_add_msg(rec, m->sender, m->header, m->header_len,
	    m->salted ? m->body_salt : NULL, m->body, m->body_len);
}

static int
load_head(void *arg, const struct store_head *sh)
{
	struct chain_head h;

	chain_head_from_store(&h, sh);
	return export_add_head(arg, &h);
}

static int
load_receipt(void *arg, const struct store_receipt *sr)
{
	struct chain_receipt rc;

	chain_receipt_from_store(&rc, sr);
	return export_add_receipt(arg, &rc);
}

/* A stored co-signed checkpoint; one that does not decode is a fault that
 * stops the load (verify names it). */
static int
load_checkpoint(void *arg, const uint8_t *p, size_t n)
{
	struct transcript_checkpoint cp;
	int r;

	if ((r = transcript_checkpoint_decode(&cp, p, n)) != 0)
		return r;
	return export_add_checkpoint(arg, &cp);
}

/* The reads of load_channel. */
static int
load_reads(struct store *s, const struct agreement *a, int self,
    struct export_record *rec)
{
	int r;

	memcpy(rec->channel, a->id, sizeof rec->channel);
	rec->exporter = (uint8_t)self;
	for (uint8_t i = 0; i < 2; i++) {
		snprintf(rec->party[i].name, sizeof rec->party[i].name, "%s",
		    a->party[i].name);
		memcpy(rec->party[i].sign_pub, a->party[i].sign_pub,
		    KEYS_PUB_LEN);
	}
	for (uint8_t i = 0; i < 2; i++)
		if ((r = store_after(s, a->id, i, 0, SIZE_MAX, load_msg,
		    rec)) != 0 ||
		    (r = store_heads_each(s, a->id, i, load_head, rec)) != 0 ||
		    (r = store_receipts_each(s, a->id, i, load_receipt,
		    rec)) != 0)
			return r;
	return store_checkpoints_each(s, a->id, load_checkpoint, rec);
}

/* Fills rec with channel a's record from the store s, as of one moment
 * (store_read_begin: parleyd may commit meanwhile); self is our party
 * index. */
static int
load_channel(struct store *s, const struct agreement *a, int self,
    struct export_record *rec)
{
	int r;

	if ((r = store_read_begin(s)) != 0)
		return r;
	r = load_reads(s, a, self, rec);
	store_read_end(s);
	return r;
}

/* True when spec names agreement a: its id in hex or a prefix of it, or
 * the name of the party that is not self (self -1: by id only). */
static bool
matches(const struct agreement *a, int self, const char *spec)
{
	char hex[2 * AGREEMENT_ID_LEN + 1];
	size_t n = strlen(spec);

	if (spec[0] == '\0')
		return false;
	if (self >= 0 && strcmp(a->party[1 - self].name, spec) == 0)
		return true;
	hex_encode(hex, a->id, sizeof a->id);
	return n >= 4 && n <= sizeof hex - 1 && strncmp(hex, spec, n) == 0;
}

/* Every installed agreement of home into *as (and room for as many
 * party indexes in *idx), both malloc'd; ERR_FULL past
 * RECORD_CHANNELS_MAX. */
static int
load_channels(const char *home, struct agreement **as, int **idx,
    size_t *n)
{
	size_t cap = RECORD_CHANNELS_FIRST;
	int r;

	for (;;) {
		*as = calloc(cap, sizeof **as);
		*idx = calloc(cap, sizeof **idx);
		if (*as == NULL || *idx == NULL)
			r = ERR_NOMEM;
		else
			r = agreement_load_all(home, *as, cap, n);
		if (r == 0)
			return 0;
		/* agreement_load_all wiped what it read */
		free(*as);
		free(*idx);
		*as = NULL;
		*idx = NULL;
		if (r != ERR_FULL || cap >= RECORD_CHANNELS_MAX)
			return r;
		cap *= 2;
	}
}

int
cli_record_channels(const char *home, const char *spec, const char *cmd,
    bool strays, struct agreement **out, int **self, size_t *n)
{
	struct node_identity id;
	struct agreement *as;
	char path[4200];
	size_t all = 0;
	int *idx, r;
	bool stray = false;	/* spec names only agreements not ours */

	*n = 0;
	snprintf(path, sizeof path, "%s/%s", home, KEYS_ID_FILE);
	if ((r = keys_identity_read(path, &id)) != 0) {
		fprintf(stderr, "parley %s: no usable node in %s (%s: %s)\n",
		    cmd, home, path, err_str(r));
		return CLI_FAIL;
	}
	if ((r = load_channels(home, &as, &idx, &all)) != 0) {
		if (r == ERR_FULL)
			fprintf(stderr, "parley %s: %s/%s holds more than %d "
			    "agreements, more than %s reads\n", cmd, home,
			    KEYS_CHANNELS_DIR, RECORD_CHANNELS_MAX, cmd);
		else
			fprintf(stderr, "parley %s: cannot read the channels "
			    "of %s: %s\n", cmd, home, err_str(r));
		return CLI_FAIL;
	}
	for (size_t i = 0; i < all; i++) {
		/* by key, as parleyd takes a channel: an agreement that does
		 * not name this node is none of its channels (its messages
		 * in the store, if any, are then named by verify as of no
		 * installed agreement) */
		int me = agreement_party_of(&as[i], id.sign_pub);
		if (spec != NULL && !matches(&as[i], me, spec)) {
			agreement_wipe(&as[i]);
			continue;
		}
		if (me < 0 && !strays) {
			char hex[2 * AGREEMENT_ID_LEN + 1];

			hex_encode(hex, as[i].id, sizeof as[i].id);
			fprintf(stderr, "parley %s: the agreement of channel "
			    "%.16s in %s/%s names %s and %s, not this node "
			    "(%s): left out, as parleyd leaves it out\n", cmd,
			    hex, home, KEYS_CHANNELS_DIR, as[i].party[0].name,
			    as[i].party[1].name, id.name);
			if (spec != NULL)
				stray = true;
			agreement_wipe(&as[i]);
			continue;
		}
		if (*n != i)
			as[*n] = as[i];
		idx[*n] = me;
		(*n)++;
	}
	/* The PSK is never needed here. */
	for (size_t i = 0; i < all; i++)
		agreement_wipe(&as[i]);
	if (spec != NULL && *n == 0) {
		if (!stray)
			fprintf(stderr, "parley %s: no channel '%s' in %s (peer "
			    "name or channel id prefix of at least 4 hex "
			    "digits)\n", cmd, spec, home);
		free(as);
		free(idx);
		return CLI_USAGE;
	}
	*out = as;
	*self = idx;
	return CLI_OK;
}

int
cli_record_load(struct store *s, const struct agreement *a, int self,
    struct export_record *rec)
{
	return load_channel(s, a, self, rec);
}

void
cli_print_sign_keys(const struct export_record *rec, const char *first,
    const char *rest)
{
	struct node_identity id;
	char fp[FINGERPRINT_STR_LEN];

	for (int i = 0; i < 2; i++) {
		memset(&id, 0, sizeof id);
		memcpy(id.sign_pub, rec->party[i].sign_pub, KEYS_PUB_LEN);
		keys_fingerprint_sign(&id, fp);
		printf("%s%-8s signing key fingerprint %s\n", i == 0 ? first :
		    rest, rec->party[i].name, fp);
	}
}

/* Adds the outcome of one verification to out (a JSON array); returns
 * the exit code. */
static int
report_json(json_t *out, const struct export_record *rec,
    const struct export_report *rep, int r)
{
	char ch[2 * ENVELOPE_ID_LEN + 1], head[2 * ENVELOPE_ID_LEN + 1];

	hex_encode(ch, rec->channel, ENVELOPE_ID_LEN);
	hex_encode(head, rep->head, sizeof rep->head);
	if (json_array_append_new(out, json_pack("{s:s, s:[s,s], s:b, s:s?, "
	    "s:[I,I], s:s?}", "channel", ch, "parties", rec->party[0].name,
	    rec->party[1].name, "intact", r == 0, "fault", r != 0 ?
	    rep->fault : NULL, "seq", (json_int_t)rep->seq[0],
	    (json_int_t)rep->seq[1], "transcript_head", r == 0 ? head :
	    NULL)) != 0) {
		fprintf(stderr, "parley verify: out of memory\n");
		return CLI_FAIL;
	}
	return r == 0 ? CLI_OK : CLI_FAIL;
}

/* Prints the outcome of one verification; returns the exit code. */
static int
report(const struct export_record *rec, const struct export_report *rep,
    int r, const char *label)
{
	char ch[17], head[2 * ENVELOPE_ID_LEN + 1];

	hex_encode(ch, rec->channel, 8);	/* as the logs name it */
	if (r != 0) {
		printf("%s %s (%s, %s): FAULT: %s\n", label, ch,
		    rec->party[0].name, rec->party[1].name, rep->fault);
		return CLI_FAIL;
	}
	hex_encode(head, rep->head, sizeof rep->head);
	printf("%s %s (%s, %s): intact\n", label, ch, rec->party[0].name,
	    rec->party[1].name);
	for (int i = 0; i < 2; i++) {
		printf("  %-8s chain seq %llu, %zu bodies held, %zu past the "
		    "last signed head\n", rec->party[i].name,
		    (unsigned long long)rep->seq[i], rep->disclosed[i],
		    rep->unsigned_tail[i]);
		if (rep->guessable[i] > 0)	/* docs/export.md, "Hidden" */
			printf("  %-8s %zu hidden bodies behind unsalted hashes"
			    " (version 1 headers): a guess of them can be "
			    "confirmed\n", rec->party[i].name,
			    rep->guessable[i]);
	}
	/* what the signatures rest on: compare with parley id, channel show */
	cli_print_sign_keys(rec, "  ", "  ");
	printf("  %zu heads, %zu receipts, %zu checkpoints verified\n",
	    rep->nheads, rep->nreceipts, rep->ncps);
	printf("  transcript head %s\n", head);
	return CLI_OK;
}

int
cli_store_open(const char *cmd, const char *home, struct store **s)
{
	int64_t v = 0;
	int r, rv;

	if ((r = store_open_home_readonly(s, home)) == 0)
		return 0;
	rv = r == ERR_VERSION ? store_home_version(home, &v) : r;
	if (r == ERR_NOT_FOUND)
		fprintf(stderr, "parley %s: no store in %s (%s: no such file)"
		    "\n", cmd, home, STORE_FILE);
	else if (rv == ERR_VERSION)
		fprintf(stderr, "parley %s: %s/%s is not a parley store\n",
		    cmd, home, STORE_FILE);
	else if (rv == 0 && v >= 1 && v < STORE_SCHEMA_VERSION)
		fprintf(stderr, "parley %s: the store of %s is of schema "
		    "version %lld, this build reads %d: starting parleyd for "
		    "%s migrates it (parley backup first keeps a copy of the "
		    "old one), then %s again\n", cmd, home, (long long)v,
		    STORE_SCHEMA_VERSION, home, cmd);
	else if (rv == 0 && v > STORE_SCHEMA_VERSION)
		fprintf(stderr, "parley %s: the store of %s is of schema "
		    "version %lld, newer than this build's %d: use the parley "
		    "that wrote it, or a newer one\n", cmd, home, (long long)v,
		    STORE_SCHEMA_VERSION);
	else
		fprintf(stderr, "parley %s: cannot open the store of %s: %s"
		    "\n", cmd, home, err_str(r));
	return r;
}

int
cli_export_read(const char *cmd, const char *path, uint8_t **buf,
    size_t *len)
{
	struct stat st;
	int r, fd;

	if ((r = file_read(path, EXPORT_FILE_MAX, buf, len)) == 0 &&
	    *len > 0)
		return 0;
	if (r == 0) {
		free(*buf);
		*buf = NULL;
		fprintf(stderr, "parley %s: %s is empty (0 bytes), not an "
		    "export file\n", cmd, path);
		return ERR_PARSE;
	}
	/* file_read says only ERR_IO for each of these: name which */
	if (r == ERR_NOT_FOUND)
		fprintf(stderr, "parley %s: %s: no such file\n", cmd, path);
	else if (r == ERR_TOO_BIG)
		fprintf(stderr, "parley %s: %s is larger than an export file "
		    "can be (%u bytes)\n", cmd, path, EXPORT_FILE_MAX);
	else if (stat(path, &st) != 0)
		fprintf(stderr, "parley %s: %s: cannot read it: %s\n", cmd,
		    path, strerror(errno));
	else if (S_ISDIR(st.st_mode))
		fprintf(stderr, "parley %s: %s is a directory, not an export "
		    "file\n", cmd, path);
	else if (!S_ISREG(st.st_mode))
		fprintf(stderr, "parley %s: %s is not a regular file (a FIFO, "
		    "device or socket), not an export file\n", cmd, path);
	else if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK |
	    O_NOCTTY)) < 0)	/* a FIFO put there since must not hang us */
		fprintf(stderr, "parley %s: %s: cannot read it: %s\n", cmd,
		    path, strerror(errno));
	else {
		close(fd);
		fprintf(stderr, "parley %s: %s: cannot read it: %s\n", cmd,
		    path, err_str(r));
	}
	return r;
}

static int
verify_file(const char *path)
{
	struct export_record rec;
	struct export_report rep;
	uint8_t *buf = NULL;
	size_t len;
	int r, rc;

	export_record_init(&rec);
	if (cli_export_read("verify", path, &buf, &len) != 0)
		return CLI_USAGE;
	if ((r = export_decode(&rec, buf, len)) != 0) {
		if (rec.decode_fault[0] != '\0')
			printf("file %s: FAULT: %s\n", path, rec.decode_fault);
		else
			printf("file %s: FAULT: not a parley export file of "
			    "version %d (%s)\n", path, EXPORT_VERSION,
			    err_str(r));
		rc = CLI_FAIL;
		goto out;
	}
	r = export_verify(&rec, &rep);
	rc = report(&rec, &rep, r, "export of channel");
out:
	export_record_fini(&rec);
	free(buf);
	return rc;
}

/* The audit log (docs/operators.md): its hash chain, entry by entry. */
static int
verify_audit(struct store *s, json_t *js)
{
	size_t count = 0, bad = 0;
	int r = audit_verify_store(s, &count, &bad);
	char fault[128];

	snprintf(fault, sizeof fault, "entry %zu: %s (the hash chain breaks "
	    "there)", bad + 1, err_str(r));
	if (js != NULL) {
		json_object_set_new(js, "entries", json_integer(
		    (json_int_t)count));
		json_object_set_new(js, "intact", json_boolean(r == 0));
		json_object_set_new(js, "fault", r != 0 ? json_string(fault) :
		    json_null());
	} else if (r != 0)
		printf("audit log: FAULT: %s\n", fault);
	else
		printf("audit log: %zu entries, hash chain intact\n", count);
	return r == 0 ? CLI_OK : CLI_FAIL;
}

/* The regressions of anchors the store keeps (audit_anchor_back):
 * printed, or added to a JSON array. */
struct backs {
	const char *self, *peer, *ch;
	json_t *js;
};

static int
print_back(void *arg, bool ours, uint64_t from_ms, uint64_t to_ms,
    uint64_t stored_ms)
{
	struct backs *b = arg;
	char from[32], to[32], noted[32];

	if (b->js != NULL)
		return json_array_append_new(b->js, json_pack("{s:b, s:I, s:I, "
		    "s:I}", "ours", ours, "from_ms", (json_int_t)from_ms,
		    "to_ms", (json_int_t)to_ms, "noted_ms",
		    (json_int_t)stored_ms)) == 0 ? 0 : ERR_NOMEM;
	clock_utc_str(from, from_ms);
	if (to_ms == 0)
		snprintf(to, sizeof to, "none");
	else
		clock_utc_str(to, to_ms);
	clock_utc_str(noted, stored_ms);
	printf("audit log (channel %s): ALARM noted %s: %s's audit anchors "
	    "went back from %s to %s (%s)\n", b->ch, noted, ours ? b->self :
	    b->peer, from, to, ours ? "as the peer says: this store was "
	    "restored from a backup or rewritten" : "as seen here");
	return 0;
}

/* The audit anchors the peer of channel a signed (docs/operators.md,
 * "Audit anchors"): each recomputed from the log, its signature checked.
 * js: a JSON array to add to, or NULL for text. */
static int
verify_anchors(struct store *s, const struct agreement *a, int self,
    json_t *js)
{
	const char *peer = a->party[1 - self].name;
	struct anchor_verdict v;
	char ch[2 * ENVELOPE_ID_LEN + 1], when[32], fault[400];
	int r;

	hex_encode(ch, a->id, sizeof a->id);
	r = anchor_verify_store(s, a->id, a->party[1 - self].sign_pub, peer,
	    &v);
	if (r != 0 && v.fault[0] == '\0')
		snprintf(v.fault, sizeof v.fault, "the store could not be read"
		    ": %s (%s)", err_str(r), store_errmsg(s));
	snprintf(fault, sizeof fault, "audit anchor: %s", v.fault);
	clock_utc_str(when, v.newest_time_ms);
	if (js != NULL) {
		struct backs b = { NULL, NULL, NULL, json_array() };
		/* a regression the store keeps: listed, not a fault (the
		 * record here verifies; the alert was raised) */
		if (b.js != NULL && store_anchor_back_each(s, a->id,
		    print_back, &b) != 0) {
			json_decref(b.js);
			b.js = NULL;
		}
		if (b.js == NULL || json_array_append_new(js,
		    json_pack("{s:s, s:s, s:b, s:s?, s:I, s:o?, s:o?, s:o}",
		    "channel", ch, "peer", peer, "intact", r == 0, "fault",
		    r != 0 ? fault : NULL, "anchors", (json_int_t)v.count,
		    "newest_n", v.count ? json_integer((json_int_t)v.newest_n) :
		    NULL, "newest_time_ms", v.count ?
		    json_integer((json_int_t)v.newest_time_ms) : NULL,
		    "went_back", b.js)) != 0) {
			fprintf(stderr, "parley verify: out of memory, or the "
			    "store could not be read\n");
			return CLI_FAIL;
		}
		return r == 0 ? CLI_OK : CLI_FAIL;
	}
	ch[16] = '\0';
	if (r != 0)
		printf("audit log (channel %s): FAULT: %s\n", ch, fault);
	else if (v.count == 0)
		printf("audit log not anchored by %s yet (channel %s)\n", peer,
		    ch);
	else
		printf("audit log anchored by %s up to entry %llu at %s "
		    "(channel %s, %zu anchors verified)\n", peer,
		    (unsigned long long)v.newest_n, when, ch, v.count);
	{
		struct backs b = { a->party[self].name, peer, ch, NULL };
		if (store_anchor_back_each(s, a->id, print_back, &b) != 0)
			printf("audit log (channel %s): the anchors gone back "
			    "could not be read: %s\n", ch, store_errmsg(s));
	}
	return r == 0 ? CLI_OK : CLI_FAIL;
}

/* Channels the store holds messages of and no installed agreement names
 * (channels/ not restored with the store, an agreement removed): their
 * record cannot be checked, and saying nothing would read as intact. */
struct unknown {
	const char *home;
	const struct agreement *as;
	size_t n;
	json_t *js;			/* the channels array, or NULL: text */
	size_t found;
};

static int
unknown_channel(void *arg, const uint8_t channel[STORE_ID_LEN],
    uint64_t messages)
{
	struct unknown *u = arg;
	char ch[2 * ENVELOPE_ID_LEN + 1], fault[256];

	for (size_t i = 0; i < u->n; i++)
		if (memcmp(u->as[i].id, channel, ENVELOPE_ID_LEN) == 0)
			return 0;
	u->found++;
	hex_encode(ch, channel, ENVELOPE_ID_LEN);
	snprintf(fault, sizeof fault, "the store holds %llu messages of this"
	    " channel, but %s/channels has no agreement for it that names "
	    "this node: not verified", (unsigned long long)messages, u->home);
	if (u->js != NULL)
		return json_array_append_new(u->js, json_pack("{s:s, s:b, "
		    "s:s}", "channel", ch, "intact", 0, "fault", fault)) == 0 ?
		    0 : ERR_NOMEM;
	ch[16] = '\0';			/* as the logs name it */
	printf("channel %s: FAULT: %s\n", ch, fault);
	return 0;
}

static int
verify_store(const char *home, const char *spec, bool json)
{
	json_t *js = json ? json_object() : NULL, *jch = NULL, *jaudit = NULL,
	    *janch = NULL;
	struct agreement *as = NULL;
	struct store *s = NULL;
	int *self = NULL, r, rc;
	size_t n;

	if (json && (js == NULL || (jch = json_array()) == NULL ||
	    (jaudit = json_object()) == NULL ||
	    (janch = json_array()) == NULL)) {
		json_decref(js);
		json_decref(jch);
		json_decref(jaudit);
		json_decref(janch);
		return CLI_FAIL;
	}

	if ((rc = cli_record_channels(home, spec, "verify", false, &as,
	    &self, &n)) != CLI_OK)
		goto out;	/* the JSON objects are freed there */
	if ((r = cli_store_open("verify", home, &s)) != 0) {
		rc = r == ERR_NOT_FOUND ? CLI_USAGE : CLI_FAIL;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct export_record rec;
		struct export_report rep;
		export_record_init(&rec);
		r = load_channel(s, &as[i], self[i], &rec);
		if (r != 0) {
			memset(&rep, 0, sizeof rep);
			snprintf(rep.fault, sizeof rep.fault, "the store could "
			    "not be read: %s (%s)", err_str(r),
			    store_errmsg(s));
			if (!json)
				printf("channel: FAULT: %s\n", rep.fault);
			else
				(void)report_json(jch, &rec, &rep, r);
			rc = CLI_FAIL;
		} else {
			r = export_verify(&rec, &rep);
			if ((json ? report_json(jch, &rec, &rep, r) :
			    report(&rec, &rep, r, "channel")) != CLI_OK)
				rc = CLI_FAIL;
		}
		export_record_fini(&rec);
	}
	if (spec == NULL) {
		struct unknown u = { home, as, n, jch, 0 };
		if ((r = store_chain_channels_each(s, unknown_channel,
		    &u)) != 0) {
			char fault[EXPORT_FAULT_MAX];
			snprintf(fault, sizeof fault, "the store could not be "
			    "read: %s (%s)", err_str(r), store_errmsg(s));
			if (!json)
				printf("channels: FAULT: %s\n", fault);
			else if (json_array_append_new(jch, json_pack("{s:b, "
			    "s:s}", "intact", 0, "fault", fault)) != 0)
				fprintf(stderr, "parley verify: out of "
				    "memory\n");
			rc = CLI_FAIL;
		}
		if (u.found > 0)
			rc = CLI_FAIL;
	}
	if (verify_audit(s, jaudit) != CLI_OK)
		rc = CLI_FAIL;
	for (size_t i = 0; i < n; i++)
		if (verify_anchors(s, &as[i], self[i], janch) != CLI_OK)
			rc = CLI_FAIL;
	if (json) {
		json_object_set(js, "channels", jch);
		json_object_set(jaudit, "anchors", janch);
		json_object_set(js, "audit_log", jaudit);
		json_object_set_new(js, "intact", json_boolean(rc == CLI_OK));
		json_dumpf(js, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		putchar('\n');
	}
out:
	json_decref(js);
	json_decref(jch);
	json_decref(jaudit);
	json_decref(janch);
	store_close(s);
	free(as);
	free(self);
	return rc;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: parley verify [--home DIR] [--channel C] [--json]\n"
	    "       parley verify --file FILE\n\n"
	    "Checks every header, chain link, body, signed head, receipt and\n"
	    "checkpoint of the node's record (its store, read-only: parleyd\n"
	    "may run) or of an export file, names the first fault (message,\n"
	    "field, expected, found) and prints each channel's transcript\n"
	    "head; then the audit log's hash chain and, per channel, the audit\n"
	    "anchors the peer signed over it. C: peer name or channel id\n"
	    "prefix. --json: one JSON object. Exit 0 intact, 1 a fault was\n"
	    "found, 2 bad usage.\n");
}

int
cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "home", required_argument, NULL, 'h' },
		{ "channel", required_argument, NULL, 'c' },
		{ "file", required_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	const char *home = NULL, *spec = NULL, *file = NULL;
	bool json = false;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'h': home = optarg; break;
		case 'c': spec = optarg; break;
		case 'f': file = optarg; break;
		case 'j': json = true; break;
		case 'H':
			usage(stdout);
			return CLI_OK;
		default:
			usage(stderr);
			return CLI_USAGE;
		}
	}
	if (optind != argc || (file != NULL && (spec != NULL ||
	    home != NULL || json))) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (file != NULL)
		return verify_file(file);
	return verify_store(cli_home(home), spec, json);
}
