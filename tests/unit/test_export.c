/*
 * test_export.c: a channel's record (two chains made as senders make
 * them, heads, receipts, a co-signed checkpoint): it verifies and gives
 * the transcript head; each kind of fault is named (header byte, body
 * byte, head and receipt signatures, a missing or reordered header, a
 * foreign channel, a peer_last that names nothing, two signed heads at
 * one seq that disagree, in either order); the file round-trips
 * byte for byte; every bit flip of a file is refused unless it only
 * touches the labels that are not signed (names, exporter, time); a
 * selective export proves the disclosed bodies and holds no byte of the
 * others; a file of millions of one-byte items costs no memory for them.
 */
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/resource.h>

#include "../harness.h"
#include "sign_keys.h"
#include "cli/cli.h"
#include "msg/ack.h"
#include "msg/export.h"
#include "../export_build.h"
#include "../header_builders.h"

static const uint8_t zero32[32];
static struct keys kp[2];
static uint8_t channel[32];

/* Adds seq to party i's chain of rec, with a body naming (i, seq), after
 * the other chain's last id. */
static void
add(struct export_record *rec, uint8_t i, const uint8_t peer_last[32])
{
	char body[64];
	int n = snprintf(body, sizeof body, "secret-%c-%03llu report",
	    i ? 's' : 'n', (unsigned long long)rec->chain[i].nmsg + 1);

	export_build_msg(rec, channel, i, peer_last, (const uint8_t *)body,
	    (size_t)n);
}

static void
last_id(const struct export_record *rec, int i, uint8_t id[32])
{
	if (rec->chain[i].nmsg == 0)
		memset(id, 0, 32);
	else
		export_msg_id(&rec->chain[i].msg[rec->chain[i].nmsg - 1], id);
}

static void
head(struct export_record *rec, uint8_t i)
{
	export_build_head(rec, channel, &kp[i], i, rec->chain[i].nmsg);
}

static void
receipt(struct export_record *rec, uint8_t by)
{
	struct chain_receipt r;

	memset(&r, 0, sizeof r);
	memcpy(r.channel, channel, 32);
	r.receiver = by;
	r.seq = rec->chain[1 - by].nmsg;
	last_id(rec, 1 - by, r.id);
	r.time_ms = 1700000009999ull;
	CHECK_INT(chain_receipt_sign(&r, &kp[by]), 0);
	CHECK_INT(export_add_receipt(rec, &r), 0);
}

/* north sends 5 (two heads), south 3 (one head each), a receipt each
 * way, and a co-signed checkpoint. */
static void
build(struct export_record *rec)
{
	struct transcript_checkpoint cp;
	uint8_t pl[32];

	export_build_start(rec, channel, kp);
	for (int k = 0; k < 3; k++)
		add(rec, 0, zero32);
	head(rec, 0);
	for (int k = 0; k < 3; k++) {
		last_id(rec, 0, pl);
		add(rec, 1, pl);
		head(rec, 1);
	}
	last_id(rec, 1, pl);
	add(rec, 0, pl);
	add(rec, 0, pl);
	head(rec, 0);
	receipt(rec, 0);
	receipt(rec, 1);
	memset(&cp, 0, sizeof cp);
	memcpy(cp.channel, channel, 32);
	for (int i = 0; i < 2; i++) {
		cp.seq[i] = rec->chain[i].nmsg;
		last_id(rec, i, cp.id[i]);
	}
	cp.time_ms = 1700000010001ull;
	transcript_checkpoint_fill(&cp);
	CHECK_INT(transcript_checkpoint_sign(&cp, 0, &kp[0]), 0);
	CHECK_INT(transcript_checkpoint_sign(&cp, 1, &kp[1]), 0);
	CHECK_INT(export_add_checkpoint(rec, &cp), 0);
}

static void
test_intact(void)
{
	struct export_record rec;
	struct export_report rep;
	uint8_t want[32], id[2][32];

	build(&rec);
	CHECK_INT(export_verify(&rec, &rep), 0);
	CHECK(rep.ok);
	CHECK_INT(rep.seq[0], 5);
	CHECK_INT(rep.seq[1], 3);
	CHECK_INT(rep.nheads, 5);
	CHECK_INT(rep.nreceipts, 2);
	CHECK_INT(rep.ncps, 1);
	CHECK_INT(rep.disclosed[0] + rep.disclosed[1], 8);
	CHECK_INT(rep.unsigned_tail[0] + rep.unsigned_tail[1], 0);
	last_id(&rec, 0, id[0]);
	last_id(&rec, 1, id[1]);
	transcript_head(channel, rep.seq, (const uint8_t (*)[32])id, want);
	CHECK_MEM(rep.head, want, 32);
	CHECK_MEM(rep.head, rec.cps[0].head, 32);
	export_record_fini(&rec);
}

/* Verifies rec, expecting code and a fault containing each of the
 * strings; frees rec. */
static void
expect(struct export_record *rec, int code, const char *s1, const char *s2)
{
	struct export_report rep;

	CHECK_INT(export_verify(rec, &rep), code);
	CHECK(!rep.ok);
	CHECK_CONTAINS(rep.fault, s1);
	if (s2 != NULL)
		CHECK_CONTAINS(rep.fault, s2);
	export_record_fini(rec);
}

static void
test_faults_named(void)
{
	struct export_record rec;
	uint8_t *p;

	/* a byte of a stored header: the signed head above vouches for
	 * another id, and the altered header itself is named */
	build(&rec);
	p = rec.chain[0].msg[1].hdr;
	p[rec.chain[0].msg[1].hlen - 3] ^= 1;	/* inside body_hash */
	expect(&rec, ERR_CHAIN, "party 0 (north), seq 2: header id (as the "
	    "head at seq 3 vouches)", "expected");
	/* past the last head, the link names it */
	build(&rec);
	rec.chain[0].nheads = 1;		/* heads at 3 only */
	p = rec.chain[0].msg[3].hdr;
	p[rec.chain[0].msg[3].hlen - 3] ^= 1;
	expect(&rec, ERR_CHAIN, "party 0 (north), seq 5", "header.prev");
	/* a byte of a body */
	build(&rec);
	rec.chain[1].msg[2].body[4] ^= 0x20;
	expect(&rec, ERR_BODY, "party 1 (south), seq 3", "body");
	/* a head's signature */
	build(&rec);
	rec.chain[0].heads[1].sig[10] ^= 1;
	expect(&rec, ERR_SIGNATURE, "head of party 0 (north) at seq 5",
	    "signature");
	/* a receipt's signature */
	build(&rec);
	rec.chain[1].receipts[0].sig[63] ^= 1;
	expect(&rec, ERR_SIGNATURE, "receipt by party 1 (south) at seq 5",
	    "signature");
	/* a checkpoint's signature */
	build(&rec);
	rec.cps[0].sig[1][0] ^= 1;
	expect(&rec, ERR_SIGNATURE, "checkpoint 1", "party 1 (south)");
	/* a header missing from the middle */
	build(&rec);
	free(rec.chain[1].msg[1].hdr);
	free(rec.chain[1].msg[1].body);
	memmove(&rec.chain[1].msg[1], &rec.chain[1].msg[2],
	    sizeof rec.chain[1].msg[1]);
	rec.chain[1].nmsg--;
	expect(&rec, ERR_CHAIN, "party 1 (south), seq 2", "seq");
	/* a head naming another id: its signature no longer holds */
	build(&rec);
	rec.chain[1].heads[0].id[0] ^= 1;
	expect(&rec, ERR_SIGNATURE, "head of party 1 (south) at seq 1",
	    "signature");
	/* the record of another channel */
	build(&rec);
	rec.channel[0] ^= 1;
	expect(&rec, ERR_FOREIGN, "seq 1", "header.channel");
	/* a signing key that is not the party's (nor the other's) */
	build(&rec);
	{
		uint8_t sk[crypto_sign_SECRETKEYBYTES];
		crypto_sign_keypair(rec.party[1].sign_pub, sk);
		sodium_memzero(sk, sizeof sk);
	}
	expect(&rec, ERR_SIGNATURE, "head of party 1 (south)", "signature");
}

/* Two heads of one party at one seq that name different headers: both
 * are that party's signatures, so the record contradicts itself, whatever
 * order the heads come in. */
static void
test_heads_disagree(void)
{
	struct export_record rec, back;
	struct export_report rep;
	struct chain_head h, t;
	uint8_t *a;
	size_t alen, n;

	build(&rec);
	memset(&h, 0, sizeof h);
	memcpy(h.channel, channel, 32);
	h.sender = 0;
	h.seq = 3;
	memset(h.id, 0x5a, 32);			/* another header at seq 3 */
	CHECK_INT(chain_head_sign(&h, &kp[0]), 0);
	CHECK_INT(export_add_head(&rec, &h), 0);
	/* after the genuine head (seq 3 first, then 5, then this one) */
	CHECK_INT(export_verify(&rec, &rep), ERR_CHAIN);
	CHECK(!rep.ok);
	/* and before it: the bogus one first */
	n = rec.chain[0].nheads;
	t = rec.chain[0].heads[0];
	rec.chain[0].heads[0] = rec.chain[0].heads[n - 1];
	rec.chain[0].heads[n - 1] = t;
	CHECK_INT(export_verify(&rec, &rep), ERR_CHAIN);
	CHECK(!rep.ok);
	CHECK_CONTAINS(rep.fault, "party 0 (north)");
	CHECK_CONTAINS(rep.fault, "seq 3");
	/* the same through a file */
	CHECK_INT(export_encode(&rec, &a, &alen), 0);
	export_record_init(&back);
	CHECK_INT(export_decode(&back, a, alen), 0);
	CHECK_INT(export_verify(&back, &rep), ERR_CHAIN);
	export_record_fini(&back);
	free(a);
	/* the same head twice is no contradiction */
	export_record_fini(&rec);
	build(&rec);
	CHECK_INT(export_add_head(&rec, &rec.chain[0].heads[0]), 0);
	CHECK_INT(export_verify(&rec, &rep), 0);
	export_record_fini(&rec);
}

/* Appends the CBOR head of major type m with argument v to p at *n. */
static void
cbor_head(uint8_t *p, size_t *n, unsigned m, uint64_t v)
{
	int w = v < 24 ? 0 : v < 0x100 ? 1 : v < 0x10000 ? 2 :
	    v < 0x100000000ull ? 4 : 8;

	p[(*n)++] = (uint8_t)(m << 5 | (w == 0 ? v : w == 1 ? 24 : w == 2 ?
	    25 : w == 4 ? 26 : 27));
	for (int k = w - 1; k >= 0; k--)
		p[(*n)++] = (uint8_t)(v >> (8 * k));
}

/* A file's bytes by hand, up to its parties (keys 1 to 5 of a map of 9),
 * at p + *n: what the tests of memory per item fill in after. */
static void
file_start(uint8_t *p, size_t *np)
{
	size_t n = *np;

	cbor_head(p, &n, 5, 9);
	cbor_head(p, &n, 0, 1);
	cbor_head(p, &n, 0, 1);
	cbor_head(p, &n, 0, 2);
	cbor_head(p, &n, 2, 32);
	memset(p + n, 0xc4, 32);
	n += 32;
	cbor_head(p, &n, 0, 3);
	cbor_head(p, &n, 0, 0);
	cbor_head(p, &n, 0, 4);
	cbor_head(p, &n, 0, 0);
	cbor_head(p, &n, 0, 5);
	cbor_head(p, &n, 4, 2);
	for (int i = 0; i < 2; i++) {
		cbor_head(p, &n, 4, 2);
		cbor_head(p, &n, 3, 5);
		memcpy(p + n, i ? "south" : "north", 5);
		n += 5;
		cbor_head(p, &n, 2, 32);
		memset(p + n, i + 1, 32);
		n += 32;
	}
	*np = n;
}

/* A file whose checkpoint list holds millions of one-byte items: it is
 * refused, and reading it costs no memory in proportion to its items
 * (a tree of decoded items cost some 100 bytes each: 400 MB here). */
static void
test_file_many_items(void)
{
	const size_t items = 4u << 20;
	struct export_record back;
	struct rusage ru0, ru1;
	uint8_t *p = malloc(items + 512);
	size_t n = 0;

	if (p == NULL)
		return;
	file_start(p, &n);
	for (unsigned key = 6; key <= 8; key++) {
		cbor_head(p, &n, 0, key);
		cbor_head(p, &n, 4, 2);
		cbor_head(p, &n, 4, 0);
		cbor_head(p, &n, 4, 0);
	}
	cbor_head(p, &n, 0, 9);
	cbor_head(p, &n, 4, items);
	memset(p + n, 0x40, items);		/* empty byte strings */
	n += items;
	getrusage(RUSAGE_SELF, &ru0);
	export_record_init(&back);
	CHECK(export_decode(&back, p, n) != 0);
	export_record_fini(&back);
	getrusage(RUSAGE_SELF, &ru1);
	CHECK(ru1.ru_maxrss - ru0.ru_maxrss < 64 * 1024);	/* KiB */
	free(p);
}

/* A file whose chains hold the most entries a list may (EXPORT_MSG_MAX
 * each), every header empty: 3 bytes an entry, 6 MiB in all. It is
 * refused as it is read, and costs no memory in proportion to its
 * entries (each kept as a message cost some 70 bytes: 146 MB of memory
 * for `parley verify --file` before it named the first header). */
static void
test_file_many_headers(void)
{
	const size_t entries = EXPORT_MSG_MAX;
	struct export_record back;
	struct rusage ru0, ru1;
	uint8_t *p = malloc(6 * entries + 512);
	size_t n = 0;

	if (p == NULL)
		return;
	file_start(p, &n);
	cbor_head(p, &n, 0, 6);
	cbor_head(p, &n, 4, 2);
	for (int i = 0; i < 2; i++) {
		cbor_head(p, &n, 4, entries);
		for (size_t k = 0; k < entries; k++) {
			p[n++] = 0x82;		/* [h'', null] */
			p[n++] = 0x40;
			p[n++] = 0xf6;
		}
	}
	for (unsigned key = 7; key <= 8; key++) {
		cbor_head(p, &n, 0, key);
		cbor_head(p, &n, 4, 2);
		cbor_head(p, &n, 4, 0);
		cbor_head(p, &n, 4, 0);
	}
	cbor_head(p, &n, 0, 9);
	cbor_head(p, &n, 4, 0);
	getrusage(RUSAGE_SELF, &ru0);
	export_record_init(&back);
	CHECK_INT(export_decode(&back, p, n), ERR_PARSE);
	CHECK_INT(back.chain[0].nmsg, 0);
	export_record_fini(&back);
	getrusage(RUSAGE_SELF, &ru1);
	CHECK(ru1.ru_maxrss - ru0.ru_maxrss < 16 * 1024);	/* KiB */
	free(p);
}

/* One key for both parties: one key holder made both chains, and its
 * checkpoints only look co-signed. No channel has that (agreement
 * refuses it); a record that has it does not verify. */
static void
test_one_key_for_both(void)
{
	struct export_record rec;
	struct keys k1 = kp[1];

	kp[1] = kp[0];			/* build signs south's side with kp[0] */
	build(&rec);
	kp[1] = k1;
	CHECK_MEM(rec.party[0].sign_pub, rec.party[1].sign_pub, 32);
	expect(&rec, ERR_INVALID, "party 1 (south)", "signing key");
}

static void
test_file_roundtrip(void)
{
	struct export_record rec, back;
	struct export_report rep;
	uint8_t *a, *b;
	size_t alen, blen;

	build(&rec);
	CHECK_INT(export_encode(&rec, &a, &alen), 0);
	export_record_init(&back);
	CHECK_INT(export_decode(&back, a, alen), 0);
	CHECK_INT(export_verify(&back, &rep), 0);
	CHECK_INT(export_encode(&back, &b, &blen), 0);
	CHECK_INT(blen, alen);
	CHECK_MEM(a, b, alen);
	CHECK_STR(back.party[1].name, "south");
	export_record_fini(&back);
	/* trailing and missing bytes */
	export_record_init(&back);
	CHECK(export_decode(&back, a, alen - 1) != 0);
	export_record_fini(&back);
	free(a);
	free(b);
	export_record_fini(&rec);
}

/* export_decode's answer to the bytes export_encode makes of rec. */
static int
reread(const struct export_record *rec)
{
	struct export_record back;
	uint8_t *a;
	size_t alen;
	int r;

	CHECK_INT(export_encode(rec, &a, &alen), 0);
	export_record_init(&back);
	r = export_decode(&back, a, alen);
	export_record_fini(&back);
	free(a);
	return r;
}

/* `parley CMD --file F` (verify or show, called in this process) on the
 * file bytes a: its exit code 0 and its output holding want. */
static void
cli_says(const uint8_t *a, size_t alen, const char *cmd, const char *want)
{
	char dir[] = "/tmp/parley-test-export-XXXXXX", path[64], out[64];
	char name[16], opt[] = "--file", buf[8192];
	char *argv[] = { name, opt, path, NULL };
	FILE *f;
	size_t n;
	int fd, saved, rc;
	bool redirected, made = mkdtemp(dir) != NULL;

	CHECK(made);
	if (!made)
		return;
	snprintf(name, sizeof name, "%s", cmd);
	snprintf(path, sizeof path, "%s/v1.export", dir);
	snprintf(out, sizeof out, "%s/out", dir);
	f = fopen(path, "wb");
	CHECK(f != NULL && fwrite(a, 1, alen, f) == alen);
	if (f != NULL)
		fclose(f);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	redirected = saved >= 0 && fd >= 0 && dup2(fd, STDOUT_FILENO) >= 0;
	CHECK(redirected);
	rc = !redirected ? CLI_FAIL : strcmp(cmd, "verify") == 0 ?
	    cmd_verify(3, argv) : cmd_export_show(3, argv);
	fflush(stdout);
	if (saved >= 0) {
		dup2(saved, STDOUT_FILENO);
		close(saved);
	}
	if (fd >= 0)
		close(fd);
	CHECK_INT(rc, CLI_OK);
	f = fopen(out, "r");
	n = f != NULL ? fread(buf, 1, sizeof buf - 1, f) : 0;
	buf[n] = '\0';
	if (f != NULL)
		fclose(f);
	CHECK_CONTAINS(buf, want);
	unlink(path);
	unlink(out);
	rmdir(dir);
}

/*
 * A file of version 1 (written before salted bodies: version 1 headers,
 * bodies as bare byte strings) is still read, verified and re-encoded as
 * it was (docs/export.md, "Versions"); a salted body [salt, body] in a
 * file that says version 1 is refused as it is read.
 */
static void
test_file_version1(void)
{
	struct export_record rec, back;
	struct export_report rep;
	uint8_t *a, *b, pl[32];
	size_t alen, blen;

	export_build_start(&rec, channel, kp);
	export_build_with(&rec, channel, 0, NULL, ENVELOPE_TEXT,
	    (const uint8_t *)"Agreed.", 7, v1_store_build);
	last_id(&rec, 0, pl);
	export_build_with(&rec, channel, 1, pl, ENVELOPE_TEXT,
	    (const uint8_t *)"Noted.", 6, v1_store_build);
	head(&rec, 0);
	head(&rec, 1);
	rec.version = 1;
	CHECK_INT(export_encode(&rec, &a, &alen), 0);
	CHECK(alen > 2 && a[0] == 0xa9 && a[1] == 0x01 && a[2] == 0x01);
	export_record_init(&back);
	CHECK_INT(export_decode(&back, a, alen), 0);
	CHECK_INT((int)back.version, 1);
	CHECK(!back.chain[0].msg[0].salted && !back.chain[1].msg[0].salted);
	CHECK_INT(export_verify(&back, &rep), 0);
	CHECK(rep.ok);
	CHECK_INT(rep.disclosed[0] + rep.disclosed[1], 2);
	CHECK_INT(rep.guessable[0] + rep.guessable[1], 0);
	CHECK_INT(export_encode(&back, &b, &blen), 0);
	CHECK_INT(blen, alen);
	CHECK_MEM(a, b, alen);
	free(b);
	/* south's body hidden: its hash is unsalted, and verify --file and
	 * show --file say so (docs/export.md, "Hidden") */
	export_keep_only(&back, (const uint8_t (*)[32])&pl, 1);
	CHECK_INT(export_verify(&back, &rep), 0);
	CHECK_INT(rep.disclosed[0], 1);
	CHECK_INT(rep.guessable[0], 0);
	CHECK_INT(rep.guessable[1], 1);
	CHECK_INT(export_encode(&back, &b, &blen), 0);
	cli_says(b, blen, "verify", "  south    1 hidden bodies behind "
	    "unsalted hashes (version 1 headers): a guess of them can be "
	    "confirmed\n");
	cli_says(b, blen, "show", "    (not disclosed: 6 bytes, unsalted body "
	    "hash ");
	export_record_fini(&back);
	free(a);
	free(b);
	export_record_fini(&rec);
	/* salted bodies in a file that says version 1 */
	build(&rec);
	rec.version = 1;
	CHECK_INT(reread(&rec), ERR_PARSE);
	export_record_fini(&rec);
}

/* A file whose one header is too short to be one is refused as it is
 * read, and the refusal names whose chain and which seq, as verify names
 * a header that does not decode (docs/export.md). */
static void
test_file_short_header(void)
{
	struct export_record rec, back;
	uint8_t *a;
	size_t alen;

	build(&rec);
	CHECK(rec.chain[0].nmsg >= 2);
	rec.chain[0].msg[1].hlen = EXPORT_HEADER_MIN - 1;
	CHECK_INT(export_encode(&rec, &a, &alen), 0);
	export_record_init(&back);
	CHECK_INT(export_decode(&back, a, alen), ERR_PARSE);
	CHECK(strstr(back.decode_fault, "chain of party 0 (north), seq 2: "
	    "header: does not decode (127 bytes") != NULL);
	export_record_fini(&back);
	free(a);
	export_record_fini(&rec);
}

/* A party's name is a node name (1..32 of [a-z0-9-]): a file that puts
 * anything else there, such as terminal control sequences that verify
 * and show would print, is refused. */
static void
test_file_names(void)
{
	static const char *bad[] = {
	    "south\x1b[8m", "south): intact\n", "", "South", "s\x7f" };
	struct export_record rec;

	for (size_t j = 0; j < sizeof bad / sizeof bad[0]; j++) {
		build(&rec);
		snprintf(rec.party[1].name, sizeof rec.party[1].name, "%s",
		    bad[j]);
		CHECK_INT(reread(&rec), ERR_PARSE);
		export_record_fini(&rec);
	}
}

/* A copy of rec's encoding with its unsigned labels set from ref's. */
static void
relabel(struct export_record *rec, const struct export_record *ref)
{
	memcpy(rec->party[0].name, ref->party[0].name, sizeof ref->party[0].name);
	memcpy(rec->party[1].name, ref->party[1].name, sizeof ref->party[1].name);
	rec->exporter = ref->exporter;
	rec->time_ms = ref->time_ms;
}

static void
test_file_every_flip(void)
{
	struct export_record rec, back;
	struct export_report rep;
	uint8_t *a, *b;
	size_t alen, blen, undetected = 0, labels = 0;

	build(&rec);
	CHECK_INT(export_encode(&rec, &a, &alen), 0);
	for (size_t i = 0; i < alen; i++) {
		a[i] ^= 0x01;
		export_record_init(&back);
		if (export_decode(&back, a, alen) == 0 &&
		    export_verify(&back, &rep) == 0) {
			/* accepted: only an unsigned label may differ */
			relabel(&back, &rec);
			if (export_encode(&back, &b, &blen) == 0) {
				a[i] ^= 0x01;
				if (blen == alen && memcmp(a, b, alen) == 0)
					labels++;
				else
					undetected++;
				a[i] ^= 0x01;
				free(b);
			} else
				undetected++;
		}
		export_record_fini(&back);
		a[i] ^= 0x01;
	}
	CHECK_INT(undetected, 0);
	CHECK(labels > 0 && labels < 40);	/* names, exporter, time */
	free(a);
	export_record_fini(&rec);
}

static bool
holds(const uint8_t *p, size_t n, const char *s)
{
	size_t k = strlen(s);

	for (size_t i = 0; i + k <= n; i++)
		if (memcmp(p + i, s, k) == 0)
			return true;
	return false;
}

/* South's acknowledgment (a chain ACK) of north's message at seq: body
 * names id (NULL: that message's id), operator "duty". */
static void
ack_of(struct export_record *rec, uint64_t seq, const uint8_t *id)
{
	struct ack_body b;
	uint8_t body[ACK_BODY_MAX], pl[32];
	size_t n;

	memset(&b, 0, sizeof b);
	if (id != NULL)
		memcpy(b.acked, id, 32);
	else
		export_msg_id(&rec->chain[0].msg[seq - 1], b.acked);
	snprintf(b.operator, sizeof b.operator, "duty");
	snprintf(b.text, sizeof b.text, "seen, acting");
	CHECK_INT(ack_body_encode(&b, body, sizeof body, &n), 0);
	last_id(rec, 0, pl);
	export_build_kind(rec, channel, 1, pl, ENVELOPE_ACK, body, n);
	head(rec, 1);
}

/*
 * parley verify checks each acknowledgment (issue: "every ... receipt,
 * acknowledgment and checkpoint"): one that names north's message is
 * intact, also with its body hidden; one that names no message of the
 * other chain and a second one of the same message are faults that name
 * the ACK's seq. (A body that is not an acknowledgment's cannot be built
 * here: the envelope refuses it; verify names that too.)
 */
static void
test_acks(void)
{
	struct export_record rec;
	struct export_report rep;
	uint8_t other[32], keep[1][32];

	build(&rec);
	ack_of(&rec, 2, NULL);
	CHECK_INT(export_verify(&rec, &rep), 0);
	CHECK(rep.ok);
	export_msg_id(&rec.chain[0].msg[0], keep[0]);	/* ACK hidden */
	export_keep_only(&rec, (const uint8_t (*)[32])keep, 1);
	CHECK_INT(export_verify(&rec, &rep), 0);
	export_record_fini(&rec);

	build(&rec);
	memset(other, 0x77, sizeof other);
	ack_of(&rec, 2, other);
	CHECK_INT(export_verify(&rec, &rep), ERR_NOT_FOUND);
	CHECK_CONTAINS(rep.fault, "chain of party 1 (south), seq 4: "
	    "body.acked: 7777");
	CHECK_CONTAINS(rep.fault, "is no message of north's chain");
	export_record_fini(&rec);

	build(&rec);
	ack_of(&rec, 2, NULL);
	ack_of(&rec, 2, NULL);
	CHECK(export_verify(&rec, &rep) == ERR_EXISTS);
	CHECK_CONTAINS(rep.fault, "chain of party 1 (south), seq 5: "
	    "acknowledges north's seq 2 a second time (first at seq 4)");
	export_record_fini(&rec);

	export_record_fini(&rec);
}

static void
test_selective(void)
{
	struct export_record rec, back;
	struct export_report rep;
	uint8_t keep[1][32], *a;
	size_t alen;
	char s[32];

	build(&rec);
	export_msg_id(&rec.chain[1].msg[1], keep[0]);	/* south #2 */
	export_keep_only(&rec, (const uint8_t (*)[32])keep, 1);
	CHECK_INT(export_encode(&rec, &a, &alen), 0);
	CHECK(holds(a, alen, "secret-s-002 report"));
	for (int i = 0; i < 2; i++)
		for (int k = 1; k <= (i ? 3 : 5); k++) {
			if (i == 1 && k == 2)
				continue;
			/* no byte of the others: not even their prefix */
			snprintf(s, sizeof s, "-%c-%03d", i ? 's' : 'n', k);
			CHECK(!holds(a, alen, s));
		}
	CHECK(!holds(a, alen, " report") ||
	    holds(a, alen, "secret-s-002 report"));
	export_record_init(&back);
	CHECK_INT(export_decode(&back, a, alen), 0);
	CHECK_INT(export_verify(&back, &rep), 0);
	CHECK_INT(rep.disclosed[0], 0);
	CHECK_INT(rep.disclosed[1], 1);
	/* salted (version 2 headers): none of the hidden is guessable */
	CHECK_INT(rep.guessable[0] + rep.guessable[1], 0);
	CHECK(back.chain[1].msg[1].body != NULL);
	CHECK_INT(back.chain[1].nmsg, 3);
	CHECK_INT(back.chain[0].nmsg, 5);
	/* the disclosed body is proved: change it and verify fails */
	back.chain[1].msg[1].body[0] ^= 1;
	CHECK_INT(export_verify(&back, &rep), ERR_BODY);
	CHECK_CONTAINS(rep.fault, "party 1 (south), seq 2");
	export_record_fini(&back);
	free(a);
	export_record_fini(&rec);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	keys_make(&kp[0]);
	keys_make(&kp[1]);
	memset(channel, 0xc4, sizeof channel);
	RUN(test_file_many_items);
	RUN(test_file_many_headers);
	RUN(test_intact);
	RUN(test_faults_named);
	RUN(test_heads_disagree);
	RUN(test_one_key_for_both);
	RUN(test_file_roundtrip);
	RUN(test_file_version1);
	RUN(test_file_names);
	RUN(test_file_short_header);
	RUN(test_file_every_flip);
	RUN(test_selective);
	RUN(test_acks);
	keys_fini(&kp[0]);
	keys_fini(&kp[1]);
	return harness_summary();
}
