/*
 * restore.c: `parley restore FILE --home DIR [--force]` brings a node's
 * store back from a backup: the file must be a parley store of schema
 * version 1 up to this build's (parleyd migrates an older one) and this
 * node's own (owner_check: the home's agreements name this node at the
 * party index of the store's own chain of each channel); an existing
 * store is replaced only with --force, and never while parleyd runs for
 * DIR. When the daemon starts
 * again it resynchronises with its peer (SYNC, docs/delivery.md): what
 * the peer holds beyond the backup is sent again, nothing twice.
 *
 * Our own messages sent after the backup are held only by the peer: the
 * daemon takes them back over the link (RECOVER, msg/recover.h); offline,
 * with --peer-export (the peer's full export of the channel, `parley
 * export` on the peer's node) they are taken back into the store,
 * checked against our own signatures (only messages under a head we
 * signed; the peer's taken with them, only under a head it signed) and
 * the installed agreement, before
 * the daemon starts (docs/store.md, "Backup and restore").
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/file.h"
#include "base/hex.h"
#include "cli/cli.h"
#include "crypto/agreement.h"
#include "crypto/keys.h"
#include "msg/anchor.h"
#include "msg/chain.h"
#include "msg/export.h"
#include "store/record.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: parley restore --home DIR [--force] [--peer-export X] "
	    "[FILE]\n\n"
	    "Restores DIR/parley.db from the backup FILE (parley backup). Refuses"
	    "\na file that is not a parley store of schema version 1..%d or\n"
	    "not this node's (DIR's keys and channels/ come back first), an\n"
	    "existing store unless --force, and a running parleyd. With\n"
	    "--peer-export X (the peer's full `parley export` of the channel),\n"
	    "then takes back our own messages the peer holds beyond the store,\n"
	    "checked against our signatures. Exit 0 done, 1 refused or failed,\n"
	    "2 bad usage.\n", STORE_SCHEMA_VERSION);
}

/* The installed agreement of rec's channel must name the same keys. */
static int
same_parties(const char *home, const struct export_record *rec, int *self)
{
	struct agreement *as = NULL;
	char hex[2 * ENVELOPE_ID_LEN + 1];
	int *idx = NULL, rc;
	size_t n;

	hex_encode(hex, rec->channel, sizeof rec->channel);
	if ((rc = cli_record_channels(home, hex, "restore", false, &as,
	    &idx, &n)) != CLI_OK)
		return rc;
	rc = CLI_OK;
	if (n != 1 || memcmp(as[0].party[0].sign_pub, rec->party[0].sign_pub,
	    KEYS_PUB_LEN) != 0 || memcmp(as[0].party[1].sign_pub,
	    rec->party[1].sign_pub, KEYS_PUB_LEN) != 0) {
		fprintf(stderr, "parley restore: the export's signing keys are "
		    "not the installed channel's\n");
		rc = CLI_FAIL;
	} else
		*self = idx[0];
	free(as);
	free(idx);
	return rc;
}

/* Our messages past the store's highest, from the export, in batches. */
static int
take_own(struct store *s, const struct export_record *rec, uint8_t self,
    uint64_t from, size_t *taken)
{
	static struct store_in in[STORE_BATCH_MAX];
	const struct export_chain *c = &rec->chain[self];
	struct envelope_header h;
	uint8_t id[ENVELOPE_ID_LEN];
	size_t k = (size_t)from, n;
	int r;

	*taken = 0;
	while (k < c->nmsg) {
		for (n = 0; n < STORE_BATCH_MAX && k < c->nmsg; n++, k++) {
			const struct export_msg *m = &c->msg[k];
			if (m->body == NULL) {
				fprintf(stderr, "parley restore: the export "
				    "lacks the body of our seq %zu (a full "
				    "export is needed)\n", k + 1);
				return ERR_BODY;
			}
			if ((r = envelope_header_decode(&h, m->hdr,
			    m->hlen)) != 0)
				return r;
			export_msg_id(m, id);
			chain_store_in(&in[n], &h, m->hdr, m->hlen,
			    m->salted ? m->salt : NULL, m->body, m->blen, id);
		}
		if ((r = store_own_recover(s, rec->channel, self, in, n,
		    clock_wall_ms())) != 0)
			return r;
		*taken += n;
	}
	return 0;
}

/* The peer's messages past what the store holds (its SYNC would bring
 * them too; taking them here leaves no header of ours naming one we lack),
 * with the peer's heads. */
static int
take_peer(struct store *s, const struct export_record *rec, uint8_t peer,
    size_t *taken)
{
	static struct store_in in[STORE_BATCH_MAX];
	const struct export_chain *c = &rec->chain[peer];
	struct envelope_header h;
	struct store_head sh;
	uint8_t id[ENVELOPE_ID_LEN];
	uint64_t from;
	size_t k, n, added;
	int r;

	*taken = 0;
	if ((r = store_highest(s, rec->channel, peer, &from, id)) != 0)
		return r;
	for (k = (size_t)from; k < c->nmsg; ) {
		for (n = 0; n < STORE_BATCH_MAX && k < c->nmsg; n++, k++) {
			const struct export_msg *m = &c->msg[k];
			if (m->body == NULL)
				return ERR_BODY;
			if ((r = envelope_header_decode(&h, m->hdr,
			    m->hlen)) != 0)
				return r;
			export_msg_id(m, id);
			chain_store_in(&in[n], &h, m->hdr, m->hlen,
			    m->salted ? m->salt : NULL, m->body, m->blen, id);
		}
		if ((r = store_received_put(s, rec->channel, peer, in, n, NULL,
		    clock_wall_ms(), &added)) != 0)
			return r;
		*taken += added;
	}
	for (size_t j = 0; j < c->nheads; j++) {
		if (c->heads[j].seq <= from)
			continue;
		chain_head_to_store(&sh, &c->heads[j]);
		if ((r = store_head_put(s, &sh, clock_wall_ms())) != 0)
			return r;
	}
	return 0;
}

/* Our heads and the peer's receipts past what the store holds. */
static int
take_signed(struct store *s, const struct export_record *rec, uint8_t self,
    uint64_t from)
{
	const struct export_chain *c = &rec->chain[self];
	const struct export_chain *p = &rec->chain[1 - self];
	struct store_receipt latest, sr;
	struct store_head sh;
	uint64_t have = 0;
	size_t newly;
	int r;

	for (size_t j = 0; j < c->nheads; j++) {
		if (c->heads[j].seq <= from)
			continue;
		chain_head_to_store(&sh, &c->heads[j]);
		if ((r = store_head_put(s, &sh, clock_wall_ms())) != 0)
			return r;
	}
	if (store_receipt_latest(s, rec->channel, (uint8_t)(1 - self),
	    &latest) == 0)
		have = latest.seq;
	for (size_t j = 0; j < p->nreceipts; j++) {
		if (p->receipts[j].seq <= have)
			continue;
		chain_receipt_to_store(&sr, &p->receipts[j]);
		if ((r = store_receipt_put(s, &sr, clock_wall_ms(),
		    &newly)) != 0)
			return r;
		have = p->receipts[j].seq;
	}
	return 0;
}

/* True, and says so, when the export holds a message of party i's past
 * the store's highest seq have and past the last head i signed. A node
 * stores the peer's runs only with their heads and signs a head over its
 * own in the commit that places them: such a message is held by its prev
 * link alone, which whoever wrote the file could have made. whose names
 * the chain. */
static bool
past_head(const struct export_record *rec, const struct export_report *rep,
    int i, uint64_t have, const char *path, const char *whose)
{
	size_t n = rec->chain[i].nmsg, tail = rep->unsigned_tail[i];

	if (tail == 0 || have >= n)
		return false;
	fprintf(stderr, "parley restore: %s: %s seq %zu: past the last head "
	    "%s signed (%zu such, up to seq %zu): not provably %s's, nothing "
	    "taken\n", path, whose, n - tail + 1, rec->party[i].name, tail,
	    n, rec->party[i].name);
	return true;
}

/* --peer-export: takes our own chain back from the peer's export. */
static int
recover(const char *home, const char *path)
{
	struct export_record rec;
	struct export_report rep;
	struct store *s = NULL;
	uint8_t *buf = NULL, id[ENVELOPE_ID_LEN], eid[ENVELOPE_ID_LEN];
	uint64_t high = 0, peer_high = 0;
	size_t len, taken = 0, peer_taken = 0;
	int self = -1, r, rc = CLI_FAIL;

	export_record_init(&rec);
	if (cli_export_read("restore", path, &buf, &len) != 0)
		goto out;
	if ((r = export_decode(&rec, buf, len)) != 0) {
		fprintf(stderr, "parley restore: %s: not a readable export file "
		    "(%s)\n", path, rec.decode_fault[0] != '\0' ?
		    rec.decode_fault : err_str(r));
		goto out;
	}
	if (export_verify(&rec, &rep) != 0) {
		fprintf(stderr, "parley restore: %s does not verify: %s\n",
		    path, rep.fault);
		goto out;
	}
	if ((rc = same_parties(home, &rec, &self)) != CLI_OK)
		goto out;
	rc = CLI_FAIL;
	if ((r = store_open_home(&s, home)) != 0 ||
	    (r = store_highest(s, rec.channel, (uint8_t)self, &high,
	    id)) != 0) {
		fprintf(stderr, "parley restore: the store of %s: %s%s%s\n",
		    home, err_str(r), s == NULL ? ": " : "",
		    s == NULL ? store_open_error() : "");
		goto out;
	}
	if (high > 0 && high <= rec.chain[self].nmsg) {
		export_msg_id(&rec.chain[self].msg[high - 1], eid);
		if (memcmp(eid, id, sizeof id) != 0) {
			fprintf(stderr, "parley restore: our chain differs from"
			    " the peer's copy at or before seq %llu: nothing "
			    "taken\n", (unsigned long long)high);
			goto out;
		}
	}
	if (high < rec.chain[self].nmsg &&
	    (r = store_highest(s, rec.channel, (uint8_t)(1 - self),
	    &peer_high, id)) != 0) {
		fprintf(stderr, "parley restore: the store of %s: %s (%s)\n",
		    home, err_str(r), store_errmsg(s));
		goto out;
	}
	if (high < rec.chain[self].nmsg &&
	    (past_head(&rec, &rep, self, high, path, "our chain's") ||
	    past_head(&rec, &rep, 1 - self, peer_high, path,
	    "the peer's chain's")))
		goto out;
	if (high < rec.chain[self].nmsg) {
		if ((r = take_peer(s, &rec, (uint8_t)(1 - self),
		    &peer_taken)) != 0 ||
		    (r = take_own(s, &rec, (uint8_t)self, high, &taken)) != 0 ||
		    (r = take_signed(s, &rec, (uint8_t)self, high)) != 0) {
			fprintf(stderr, "parley restore: taking our messages "
			    "back: %s (%s)\n", err_str(r), store_errmsg(s));
			goto out;
		}
	}
	if (high >= rec.chain[self].nmsg)
		printf("nothing to take back: the store holds our chain up to "
		    "seq %llu, the peer's export %s up to seq %zu\n",
		    (unsigned long long)high, path, rec.chain[self].nmsg);
	else
		printf("took back %zu of our own messages (seq %llu..%zu) and "
		    "%zu of the peer's from the peer's export %s\n", taken,
		    (unsigned long long)high + 1, rec.chain[self].nmsg,
		    peer_taken, path);
	rc = CLI_OK;
out:
	store_close(s);
	export_record_fini(&rec);
	free(buf);
	return rc;
}

/* What the home's node is, for owner_check's callback. */
struct owner {
	const char *home, *file, *me;	/* me: the home's node name */
	const uint8_t *me_pub;		/* the home's node's signing key */
	const struct agreement *as;
	size_t n;
	uint8_t last[ENVELOPE_ID_LEN];	/* the channel seen before */
	bool seen;
	bool refused;			/* the reason printed */
	/* owner_anchor: the (channel, table) whose anchors have decided */
	uint8_t decided[ENVELOPE_ID_LEN];
	bool decided_given, decided_any;
};

/* The home must hold channel's agreement and be its party self, as the
 * backup's evidence says (held: "holds 3 messages", "holds audit
 * anchors"; why: "its own chain of channel C is party 0's"): 0, or
 * ERR_INVALID with the reason printed. *a: the agreement, when found. */
static int
owner_is_home(struct owner *o, const uint8_t channel[STORE_ID_LEN],
    const char *held, const char *why, int self,
    const struct agreement **a)
{
	char ch[2 * ENVELOPE_ID_LEN + 1];
	size_t i;
	int mine;

	hex_encode(ch, channel, ENVELOPE_ID_LEN);
	ch[16] = '\0';			/* as the logs name it */
	for (i = 0; i < o->n; i++)
		if (memcmp(o->as[i].id, channel, ENVELOPE_ID_LEN) == 0)
			break;
	if (i == o->n) {
		fprintf(stderr, "parley restore: %s %s of channel %s, which %s "
		    "(%s) has no agreement for: not %s's backup, or %s/channels "
		    "not restored (restore it first); refused\n", o->file,
		    held, ch, o->home, o->me, o->me, o->home);
		o->refused = true;
		return ERR_INVALID;
	}
	*a = &o->as[i];
	if (self < 0)			/* the caller decides from *a */
		return 0;
	/* by key: a home whose key is neither party's (a new node given
	 * another's channels/) is no party of the channel at all */
	mine = agreement_party_of(&o->as[i], o->me_pub);
	if (mine < 0) {
		fprintf(stderr, "parley restore: %s is %s's store (%s), but %s "
		    "is the home of %s, no party of it (its parties are %s and "
		    "%s): refused\n", o->file, o->as[i].party[self].name, why,
		    o->home, o->me, o->as[i].party[0].name,
		    o->as[i].party[1].name);
		o->refused = true;
		return ERR_INVALID;
	}
	if (self != mine) {
		fprintf(stderr, "parley restore: %s is %s's store (%s), but %s "
		    "is the home of %s (party %d): refused\n", o->file,
		    o->as[i].party[self].name, why, o->home, o->me, mine);
		o->refused = true;
		return ERR_INVALID;
	}
	return 0;
}

/* One (channel, own party index) of the backup: the home must hold the
 * channel's agreement and be its party at that index. */
static int
owner_party(void *arg, const uint8_t channel[STORE_ID_LEN], uint8_t self,
    uint64_t messages)
{
	struct owner *o = arg;
	const struct agreement *a = NULL;
	char ch[2 * ENVELOPE_ID_LEN + 1], held[64], why[128];

	hex_encode(ch, channel, ENVELOPE_ID_LEN);
	ch[16] = '\0';
	if (o->seen && memcmp(o->last, channel, sizeof o->last) == 0) {
		fprintf(stderr, "parley restore: %s holds both parties' "
		    "chains of channel %s as its own: not the store of one "
		    "node, refused\n", o->file, ch);
		o->refused = true;
		return ERR_INVALID;
	}
	memcpy(o->last, channel, sizeof o->last);
	o->seen = true;
	snprintf(held, sizeof held, "holds %llu messages",
	    (unsigned long long)messages);
	snprintf(why, sizeof why, "its own chain of channel %s is party %u's",
	    ch, self);
	return owner_is_home(o, channel, held, why, self, &a);
}

/* One audit-anchor signature of the backup: its signer, found among the
 * agreement's two keys, tells whose store it is (the peer signs the
 * anchors over our log, audit_anchor; we sign the peer's,
 * audit_anchor_given). A signature by neither is no evidence (`parley
 * verify` names it); a store with no message rows is still tied to one
 * node by its anchors. The first row of a (channel, table) signed by a
 * party decides for the rest of it, which are not checked (verify
 * checks each). */
static int
owner_anchor(void *arg, const uint8_t channel[STORE_ID_LEN], bool given,
    const uint8_t anchor[STORE_ID_LEN], uint64_t time_ms,
    const uint8_t sig[STORE_SIG_LEN])
{
	struct owner *o = arg;
	const struct agreement *a = NULL;
	char ch[2 * ENVELOPE_ID_LEN + 1], why[160];
	int r, signer = -1, self;

	if ((r = owner_is_home(o, channel, "holds audit anchors", "", -1, &a))
	    != 0)
		return r;
	/* one signature by a party decides for its (channel, table): the
	 * rows come in that order, one per answer or ask (144 a day a
	 * channel at the default interval, each up to two checks of some
	 * 60 us: a channel's year of audit_anchor took 7 s, the home locked
	 * meanwhile; docs/store.md) */
	if (o->decided_any && o->decided_given == given &&
	    memcmp(o->decided, channel, sizeof o->decided) == 0)
		return 0;
	for (int p = 0; p < 2 && signer < 0; p++)
		if (anchor_check(a->party[p].sign_pub, channel, anchor,
		    time_ms, sig) == 0)
			signer = p;
	if (signer < 0)
		return 0;
	self = given ? signer : 1 - signer;
	hex_encode(ch, channel, ENVELOPE_ID_LEN);
	ch[16] = '\0';
	snprintf(why, sizeof why, "its audit anchors of channel %s are signed "
	    "by party %d, %s", ch, signer, given ? "as its own evidence" :
	    "its peer");
	if ((r = owner_is_home(o, channel, "holds audit anchors", why, self,
	    &a)) != 0)
		return r;
	memcpy(o->decided, channel, sizeof o->decided);
	o->decided_given = given;
	o->decided_any = true;
	return 0;
}

/* SQLite's messages about a backup can name the file's own tables,
 * views and indexes: their control bytes are not for the terminal. */
static void
printable(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

/*
 * The backup FILE must be this node's store: for every channel it holds
 * messages of, the home's agreement of that channel names this node's
 * key at the party index whose chain the store holds as its own; and
 * its audit anchors signed by one of the channel's parties say the same
 * (owner_anchor: the first such of each channel's table). The store
 * names no node (no key, no name): this is what ties it to one. A store
 * with neither identifies no one and is accepted.
 */
static int
owner_check(const char *home, const char *file)
{
	struct node_identity id;
	struct agreement *as = NULL;
	struct store *s = NULL;
	struct owner o;
	char path[4200], why[256];
	int *idx = NULL, r, rc;
	size_t n;

	snprintf(path, sizeof path, "%s/%s", home, KEYS_ID_FILE);
	if ((r = keys_identity_read(path, &id)) != 0) {
		fprintf(stderr, "parley restore: no usable node in %s (%s: %s):"
		    " restore its keys and channels/ first\n", home, path,
		    err_str(r));
		return CLI_FAIL;
	}
	if ((rc = cli_record_channels(home, NULL, "restore", true, &as,
	    &idx, &n)) != CLI_OK)
		return rc;
	if ((r = store_open_backup_file(&s, file)) != 0) {
		/* store_restore names why (not a store, no such file) */
		rc = CLI_OK;
		goto out;
	}
	memset(&o, 0, sizeof o);
	o.home = home;
	o.file = file;
	o.me = id.name;
	o.me_pub = id.sign_pub;
	o.as = as;
	o.n = n;
	if ((r = store_own_parties_each(s, owner_party, &o)) != 0 ||
	    (r = store_anchor_sigs_each(s, owner_anchor, &o)) != 0) {
		if (!o.refused) {
			/* SQLite's message can name the file's own tables and
			 * views: its control bytes are not for the terminal */
			snprintf(why, sizeof why, "%s", store_errmsg(s));
			printable(why);
			fprintf(stderr, "parley restore: %s: %s (%s)\n", file,
			    err_str(r), why);
		}
		rc = CLI_FAIL;
	}
out:
	store_close(s);
	free(as);
	free(idx);
	return rc;
}

/*
 * Takes HOME/parleyd.lock, the flock every parleyd holds for its life
 * (src/parleyd.c): held by us, no daemon runs on the store while it is
 * replaced, nor starts meanwhile. Asking the control socket is not
 * enough: a daemon that is starting (no socket yet) or stalled (no
 * answer in 10 s) looked stopped. The descriptor, or -1 with the reason
 * printed (a daemon runs, or the lock cannot be opened).
 */
static int
lock_home(const char *home)
{
	char path[4096];
	int fd;

	if ((size_t)snprintf(path, sizeof path, "%s/parleyd.lock", home) >=
	    sizeof path) {
		fprintf(stderr, "parley restore: %s: path too long\n", home);
		return -1;
	}
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600)) < 0) {
		fprintf(stderr, "parley restore: %s: %s\n", path,
		    strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EWOULDBLOCK)
			fprintf(stderr, "parley restore: parleyd is running for"
			    " %s (parleyd.lock is held): stop it first\n",
			    home);
		else
			fprintf(stderr, "parley restore: %s: %s\n", path,
			    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int
cmd_restore(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "home", required_argument, NULL, 'h' },
		{ "force", no_argument, NULL, 'f' },
		{ "peer-export", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	const char *home = NULL, *peer = NULL;
	char why[512] = "";
	bool force = false;
	int ch, r, rc, lock;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'h': home = optarg; break;
		case 'f': force = true; break;
		case 'p': peer = optarg; break;
		case 'H':
			usage(stdout);
			return CLI_OK;
		default:
			usage(stderr);
			return CLI_USAGE;
		}
	}
	if (argc - optind > 1 || (argc == optind && peer == NULL) ||
	    home == NULL) {
		usage(stderr);
		return CLI_USAGE;
	}
	if ((lock = lock_home(home)) < 0)
		return CLI_FAIL;
	rc = CLI_OK;
	if (optind < argc) {
		if ((rc = owner_check(home, argv[optind])) != CLI_OK)
			goto out;
		if ((r = store_restore(argv[optind], home, force, why,
		    sizeof why)) != 0) {
			/* quick_check's answer names the file's own tables */
			printable(why);
			fprintf(stderr, "parley restore: %s\n", why[0] ? why :
			    err_str(r));
			rc = CLI_FAIL;
			goto out;
		}
		printf("restored %s/%s from %s\n", home, STORE_FILE,
		    argv[optind]);
	}
	if (peer != NULL)
		rc = recover(home, peer);
out:
	close(lock);		/* releases the lock */
	return rc;
}
