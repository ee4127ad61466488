/* test_agreement.c: channel agreements (agreement.h): the documented
 * encoding, determinism, ids and fingerprints from both sides, every
 * refusal, truncation and tampering at every byte, paths, installation. */
#include <sodium.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../harness.h"
#include "base/wire.h"
#include "crypto/agreement.h"

static char tmpdir[] = "/tmp/parley-test-agreement-XXXXXX";
static struct keys north, south, isle;

#define T0 1800000000ull	/* 2027-01-15 */

static int
make_node(const char *name, struct keys *k)
{
	char home[KEYS_PATH_MAX];
	int r;

	snprintf(home, sizeof home, "%s/%s", tmpdir, name);
	if ((r = keys_create(home, name)) != 0)
		return r;
	return keys_load(k, home);
}

static void
set_party(struct agreement_party *p, const struct keys *k, const char *lang,
    const char *path0, const char *path1)
{
	snprintf(p->name, sizeof p->name, "%s", k->id.name);
	memcpy(p->link_pub, k->id.link_pub, 32);
	memcpy(p->sign_pub, k->id.sign_pub, 32);
	snprintf(p->language, sizeof p->language, "%s", lang);
	snprintf(p->paths[0], sizeof p->paths[0], "%s", path0);
	snprintf(p->paths[1], sizeof p->paths[1], "%s", path1);
}

/* A valid draft between north (drafter) and south, two paths each. */
static void
draft(struct agreement *a)
{
	agreement_defaults(a);
	set_party(&a->party[0], &north, "en", "10.0.0.1:7000", "[fd00::1]:7000");
	set_party(&a->party[1], &south, "fr", "10.0.1.1:7000",
	    "south.example:7001");
	a->npaths = 2;
	for (int i = 0; i < AGREEMENT_PSK_LEN; i++)
		a->psk[i] = (uint8_t)(0xa0 + i);
	a->created = T0;
	a->not_before = T0;
	a->not_after = T0 + 365 * 86400ull;
}

/* The fully signed file of a draft, into buf. */
static size_t
signed_file(uint8_t *buf, size_t cap, struct agreement *a)
{
	size_t len = 0;

	draft(a);
	CHECK_INT(agreement_finalize(a), 0);
	CHECK_INT(agreement_sign(a, &north), 0);
	CHECK_INT(agreement_sign(a, &south), 0);
	CHECK_INT(agreement_encode(a, buf, cap, &len), 0);
	return len;
}

/* The body bytes of an encoded file (borrowed from *item; decref it). */
static void
body_of(const uint8_t *p, size_t n, cbor_item_t **item, const uint8_t **body,
    size_t *blen)
{
	CHECK_INT(wire_load(p, n, item), 0);
	CHECK_INT(wire_get_bytes(wire_map_get(*item, 1), body, blen), 0);
}

/* The body per docs/agreement.md, written independently of agreement.c;
 * npaths1 lets a test give party 1 a different path count. */
static size_t doc_body_ex(const struct agreement *, size_t, uint64_t,
    uint64_t, uint8_t *, size_t);

static size_t
doc_body(const struct agreement *a, size_t npaths1, uint8_t *out, size_t cap)
{
	return doc_body_ex(a, npaths1, a->heartbeat_s, a->ack_deadline_s[0],
	    out, cap);
}

/* doc_body with the heartbeat and the FLASH deadline given as 64-bit
 * values, to encode ones beyond the u32 fields. */
static size_t
doc_body_ex(const struct agreement *a, size_t npaths1, uint64_t heartbeat,
    uint64_t flash, uint8_t *out, size_t cap)
{
	struct wire_writer w;
	size_t len = 0;

	wire_writer_init(&w, out, cap);
	wire_put_map(&w, 8);
	wire_put_uint(&w, 0);
	wire_put_array(&w, 2);
	for (int i = 0; i < 2; i++) {
		const struct agreement_party *p = &a->party[i];
		size_t np = i ? npaths1 : a->npaths;
		wire_put_map(&w, 5);
		wire_put_uint(&w, 0);
		wire_put_text(&w, p->name);
		wire_put_uint(&w, 1);
		wire_put_bytes(&w, p->link_pub, 32);
		wire_put_uint(&w, 2);
		wire_put_bytes(&w, p->sign_pub, 32);
		wire_put_uint(&w, 3);
		wire_put_text(&w, p->language);
		wire_put_uint(&w, 4);
		wire_put_array(&w, np);
		for (size_t j = 0; j < np; j++)
			wire_put_text(&w, p->paths[j]);
	}
	wire_put_uint(&w, 1);
	wire_put_bytes(&w, a->psk, 32);
	wire_put_uint(&w, 2);
	wire_put_uint(&w, a->created);
	wire_put_uint(&w, 3);
	wire_put_uint(&w, a->not_before);
	wire_put_uint(&w, 4);
	wire_put_uint(&w, a->not_after);
	wire_put_uint(&w, 5);
	wire_put_uint(&w, heartbeat);
	wire_put_uint(&w, 6);
	wire_put_uint(&w, a->test_interval_s);
	wire_put_uint(&w, 7);
	wire_put_array(&w, 4);
	for (int i = 0; i < 4; i++)
		wire_put_uint(&w, i ? a->ack_deadline_s[i] : flash);
	CHECK_INT(wire_writer_finish(&w, &len), 0);
	return len;
}

/* An unsigned file around body bytes: {0: version, 1: body, 2: null, 3: null}. */
static size_t
wrap(const uint8_t *body, size_t blen, uint64_t version, uint8_t *out,
    size_t cap)
{
	struct wire_writer w;
	size_t len = 0;

	wire_writer_init(&w, out, cap);
	wire_put_map(&w, 4);
	wire_put_uint(&w, 0);
	wire_put_uint(&w, version);
	wire_put_uint(&w, 1);
	wire_put_bytes(&w, body, blen);
	wire_put_uint(&w, 2);
	wire_put_null(&w);
	wire_put_uint(&w, 3);
	wire_put_null(&w);
	CHECK_INT(wire_writer_finish(&w, &len), 0);
	return len;
}

static void
test_documented_encoding_and_id(void)
{
	uint8_t file[AGREEMENT_FILE_MAX], doc[AGREEMENT_FILE_MAX];
	uint8_t id[AGREEMENT_ID_LEN];
	const uint8_t *body;
	size_t len, blen, dlen;
	cbor_item_t *item;
	struct agreement a;

	draft(&a);
	CHECK_INT(agreement_finalize(&a), 0);
	CHECK_INT(agreement_encode(&a, file, sizeof file, &len), 0);
	body_of(file, len, &item, &body, &blen);
	dlen = doc_body(&a, a.npaths, doc, sizeof doc);
	CHECK_INT(blen, dlen);
	CHECK_MEM(body, doc, dlen);
	hash_ctx(id, sizeof id, "parley channel id v1", body, blen);
	CHECK_MEM(a.id, id, sizeof id);
	/* the unsigned file is exactly the documented wrapper */
	uint8_t wrapped[AGREEMENT_FILE_MAX];
	CHECK_INT(wrap(doc, dlen, 1, wrapped, sizeof wrapped), len);
	CHECK_MEM(file, wrapped, len);
	cbor_decref(&item);
}

static void
test_round_trip_deterministic(void)
{
	uint8_t f1[AGREEMENT_FILE_MAX], f2[AGREEMENT_FILE_MAX];
	struct agreement a, b;
	size_t l1, l2 = 0;

	l1 = signed_file(f1, sizeof f1, &a);
	CHECK_INT(agreement_encode(&a, f2, sizeof f2, &l2), 0);
	CHECK_INT(l1, l2);
	CHECK_MEM(f1, f2, l1);
	CHECK_INT(agreement_decode(&b, f1, l1), 0);
	CHECK_STR(b.party[0].name, "north");
	CHECK_STR(b.party[1].name, "south");
	CHECK_STR(b.party[1].language, "fr");
	CHECK_STR(b.party[0].paths[1], "[fd00::1]:7000");
	CHECK_STR(b.party[1].paths[1], "south.example:7001");
	CHECK_INT(b.npaths, 2);
	CHECK_MEM(b.psk, a.psk, AGREEMENT_PSK_LEN);
	CHECK_INT(b.not_after, a.not_after);
	CHECK_INT(b.heartbeat_s, 10);
	CHECK_INT(b.test_interval_s, 3600);
	CHECK_INT(b.ack_deadline_s[AGREEMENT_FLASH], 600);
	CHECK_INT(b.ack_deadline_s[AGREEMENT_ROUTINE], 21600);
	CHECK(b.is_signed[0] && b.is_signed[1]);
	CHECK_MEM(b.id, a.id, AGREEMENT_ID_LEN);
	CHECK_INT(agreement_encode(&b, f2, sizeof f2, &l2), 0);
	CHECK_INT(l1, l2);
	CHECK_MEM(f1, f2, l1);
	/* too small an output buffer is reported, not overrun */
	CHECK_INT(agreement_encode(&b, f2, 100, &l2), ERR_TOO_BIG);
}

/* Each side signs its own copy, as over the real out-of-band exchange. */
static void
test_both_views_agree(void)
{
	uint8_t f[AGREEMENT_FILE_MAX];
	char fpn[FINGERPRINT_STR_LEN], fps[FINGERPRINT_STR_LEN];
	char want[FINGERPRINT_STR_LEN];
	struct agreement an, as;
	size_t len = 0;
	int idx;

	draft(&an);
	CHECK_INT(agreement_finalize(&an), 0);
	CHECK_INT(agreement_encode(&an, f, sizeof f, &len), 0);
	CHECK_INT(agreement_decode(&as, f, len), 0);	/* south's copy */
	CHECK_INT(agreement_sign(&as, &south), 0);
	CHECK_INT(agreement_encode(&as, f, sizeof f, &len), 0);
	CHECK_INT(agreement_decode(&an, f, len), 0);	/* back to north */
	CHECK_INT(agreement_check(&an, &north.id, T0, &idx), ERR_UNSIGNED);
	CHECK_INT(idx, 0);
	CHECK_INT(agreement_sign(&an, &north), 0);
	CHECK_INT(agreement_encode(&an, f, sizeof f, &len), 0);
	CHECK_INT(agreement_decode(&as, f, len), 0);
	CHECK_MEM(an.id, as.id, AGREEMENT_ID_LEN);
	agreement_fingerprint(&an, fpn);
	agreement_fingerprint(&as, fps);
	CHECK_STR(fpn, fps);
	hash_fingerprint(want, "parley channel fingerprint v1", an.id, 32);
	CHECK_STR(fpn, want);
	/* the vector of docs/crypto.md, computed outside parley */
	static const uint8_t zero[32];
	hash_fingerprint(want, "parley channel fingerprint v1", zero, 32);
	CHECK_STR(want, "79858 54910 15841 24942 70797 69570");
	CHECK_INT(agreement_check(&an, &north.id, T0, &idx), 0);
	CHECK_INT(idx, 0);
	CHECK_INT(agreement_check(&as, &south.id, T0 + 100, &idx), 0);
	CHECK_INT(idx, 1);
	/* signatures are over the body under "parley agreement v1" */
	cbor_item_t *item;
	const uint8_t *body;
	size_t blen;
	body_of(f, len, &item, &body, &blen);
	CHECK_INT(keys_verify(south.id.sign_pub, "parley agreement v1", body,
	    blen, as.sig[1]), 0);
	cbor_decref(&item);
}

static void
test_check_refusals(void)
{
	struct agreement a;
	uint8_t f[AGREEMENT_FILE_MAX];
	int idx;

	draft(&a);
	CHECK_INT(agreement_finalize(&a), 0);
	CHECK_INT(agreement_check(&a, &north.id, T0, &idx), ERR_UNSIGNED);
	CHECK_INT(agreement_sign(&a, &north), 0);
	CHECK_INT(agreement_check(&a, &south.id, T0, &idx), ERR_UNSIGNED);
	CHECK_INT(idx, 1);
	CHECK_INT(agreement_sign(&a, &isle), ERR_FOREIGN);
	CHECK_INT(agreement_sign(&a, &south), 0);
	CHECK_INT(agreement_check(&a, &north.id, T0, &idx), 0);
	CHECK_INT(agreement_check(&a, &isle.id, T0, &idx), ERR_FOREIGN);
	CHECK_INT(idx, -1);
	CHECK_INT(agreement_check(&a, &north.id, T0 - 1, &idx),
	    ERR_NOT_YET_VALID);
	CHECK_INT(agreement_check(&a, &north.id, a.not_after, &idx), 0);
	CHECK_INT(agreement_check(&a, &north.id, a.not_after + 1, &idx),
	    ERR_EXPIRED);
	/* same signing key but another link key is not this node */
	struct node_identity other = north.id;
	other.link_pub[0] ^= 1;
	CHECK_INT(agreement_check(&a, &other, T0, &idx), ERR_FOREIGN);
	(void)f;
}

static void
test_tamper_every_byte(void)
{
	uint8_t f[AGREEMENT_FILE_MAX];
	struct agreement a, b;
	struct agreement_why why;
	size_t len = signed_file(f, sizeof f, &a);
	int accepted = 0, sig = 0;

	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit += 7) {
			f[i] ^= (uint8_t)(1u << bit);
			int r = agreement_decode_detail(&b, f, len, &why);
			if (r == 0)
				accepted++;
			if (r == ERR_SIGNATURE)
				sig++;
			CHECK(r == ERR_SIGNATURE || r == ERR_PARSE ||
			    r == ERR_NONCANONICAL || r == ERR_INVALID ||
			    r == ERR_VERSION || r == ERR_TOO_BIG);
			f[i] ^= (uint8_t)(1u << bit);
		}
	}
	CHECK_INT(accepted, 0);
	CHECK(sig > 0);
	/* a flipped PSK byte: the body still parses, north's signature fails */
	uint8_t *psk = memmem(f, len, a.psk, AGREEMENT_PSK_LEN);
	CHECK(psk != NULL);
	if (psk != NULL) {
		psk[3] ^= 0x40;
		CHECK_INT(agreement_decode_detail(&b, f, len, &why),
		    ERR_SIGNATURE);
		CHECK_INT(why.party, 0);
		CHECK_STR(b.party[0].name, "north");
		CHECK(sodium_is_zero(b.psk, sizeof b.psk));
		psk[3] ^= 0x40;
	}
	/* south's signature alone damaged */
	f[len - 1] ^= 1;
	CHECK_INT(agreement_decode_detail(&b, f, len, &why), ERR_SIGNATURE);
	CHECK_INT(why.party, 1);
	f[len - 1] ^= 1;
	CHECK_INT(agreement_decode(&b, f, len), 0);
}

static void
test_truncated_every_length(void)
{
	uint8_t f[AGREEMENT_FILE_MAX];
	struct agreement a, b;
	size_t len = signed_file(f, sizeof f, &a);
	int accepted = 0;

	for (size_t n = 0; n < len; n++) {
		/* a fresh heap copy of exactly n bytes, so ASan sees overreads */
		uint8_t *p = malloc(n ? n : 1);
		memcpy(p, f, n);
		int r = agreement_decode(&b, p, n);
		if (r == 0)
			accepted++;
		CHECK(r == ERR_PARSE || r == ERR_NONCANONICAL);
		free(p);
	}
	CHECK_INT(accepted, 0);
	/* trailing bytes */
	f[len] = 0;
	CHECK_INT(agreement_decode(&b, f, len + 1), ERR_PARSE);
	CHECK_INT(agreement_decode(&b, f, AGREEMENT_FILE_MAX + 1), ERR_TOO_BIG);
}

static void
test_noncanonical_refused(void)
{
	uint8_t body[AGREEMENT_FILE_MAX], f[AGREEMENT_FILE_MAX];
	uint8_t g[AGREEMENT_FILE_MAX];
	struct agreement a, b;
	size_t blen, len;

	draft(&a);
	CHECK_INT(agreement_finalize(&a), 0);
	blen = doc_body(&a, a.npaths, body, sizeof body);
	len = wrap(body, blen, 1, f, sizeof f);
	CHECK_INT(agreement_decode(&b, f, len), 0);

	/* the version 1 as a one-byte-argument integer (0x18 0x01) */
	CHECK(f[0] == 0xa4 && f[1] == 0x00 && f[2] == 0x01);
	g[0] = 0xa4;
	g[1] = 0x00;
	g[2] = 0x18;
	g[3] = 0x01;
	memcpy(g + 4, f + 3, len - 3);
	CHECK_INT(agreement_decode(&b, g, len + 1), ERR_NONCANONICAL);

	/* heartbeat 10 inside the body as 0x18 0x0a */
	static const uint8_t hb[] = { 0x05, 0x0a, 0x06, 0x19, 0x0e, 0x10 };
	uint8_t *at = memmem(body, blen, hb, sizeof hb);
	CHECK(at != NULL);
	if (at != NULL) {
		size_t off = (size_t)(at - body) + 1;
		memmove(body + off + 1, body + off, blen - off);
		body[off] = 0x18;
		len = wrap(body, blen + 1, 1, f, sizeof f);
		CHECK_INT(agreement_decode(&b, f, len), ERR_NONCANONICAL);
	}

	/* file map keys out of order: {1: body, 0: 1, 2: null, 3: null} */
	struct wire_writer w;
	blen = doc_body(&a, a.npaths, body, sizeof body);
	wire_writer_init(&w, f, sizeof f);
	wire_put_map(&w, 4);
	wire_put_uint(&w, 1);
	wire_put_bytes(&w, body, blen);
	wire_put_uint(&w, 0);
	wire_put_uint(&w, 1);
	wire_put_uint(&w, 2);
	wire_put_null(&w);
	wire_put_uint(&w, 3);
	wire_put_null(&w);
	CHECK_INT(wire_writer_finish(&w, &len), 0);
	CHECK_INT(agreement_decode(&b, f, len), ERR_NONCANONICAL);

	/* duplicate key: {0: 1, 1: body, 2: null, 2: null} */
	len = wrap(body, blen, 1, f, sizeof f);
	CHECK(f[len - 2] == 0x03);
	f[len - 2] = 0x02;
	CHECK_INT(agreement_decode(&b, f, len), ERR_PARSE);

	/* another version */
	len = wrap(body, blen, 2, f, sizeof f);
	CHECK_INT(agreement_decode(&b, f, len), ERR_VERSION);
}

static void
test_decode_field_ranges(void)
{
	uint8_t body[AGREEMENT_FILE_MAX], f[AGREEMENT_FILE_MAX];
	struct agreement a, b;
	struct agreement_why why;
	size_t blen, len;

	/* path counts differ between the parties */
	draft(&a);
	blen = doc_body(&a, 1, body, sizeof body);
	len = wrap(body, blen, 1, f, sizeof f);
	CHECK_INT(agreement_decode_detail(&b, f, len, &why), ERR_INVALID);
	CHECK_STR(why.field, "path count");

	/* heartbeat out of range */
	draft(&a);
	a.heartbeat_s = 3601;
	blen = doc_body(&a, a.npaths, body, sizeof body);
	len = wrap(body, blen, 1, f, sizeof f);
	CHECK_INT(agreement_decode_detail(&b, f, len, &why), ERR_INVALID);
	CHECK_STR(why.field, "heartbeat");

	/* a bad path inside a well-formed file */
	draft(&a);
	snprintf(a.party[1].paths[0], sizeof a.party[1].paths[0], "x:0");
	blen = doc_body(&a, a.npaths, body, sizeof body);
	len = wrap(body, blen, 1, f, sizeof f);
	CHECK_INT(agreement_decode_detail(&b, f, len, &why), ERR_INVALID);
	CHECK_STR(why.field, "path");
	CHECK_INT(why.party, 1);

	/* u32 fields beyond 32 bits, and a path count of 0, are named too */
	draft(&a);
	blen = doc_body_ex(&a, a.npaths, (uint64_t)UINT32_MAX + 1,
	    a.ack_deadline_s[0], body, sizeof body);
	len = wrap(body, blen, 1, f, sizeof f);
	CHECK_INT(agreement_decode_detail(&b, f, len, &why), ERR_INVALID);
	CHECK_STR(why.field, "heartbeat");
	CHECK_INT(why.party, -1);
	draft(&a);
	blen = doc_body_ex(&a, a.npaths, a.heartbeat_s, UINT64_MAX, body,
	    sizeof body);
	len = wrap(body, blen, 1, f, sizeof f);
	CHECK_INT(agreement_decode_detail(&b, f, len, &why), ERR_INVALID);
	CHECK_STR(why.field, "deadline");
	draft(&a);
	a.npaths = 0;
	blen = doc_body(&a, 0, body, sizeof body);
	len = wrap(body, blen, 1, f, sizeof f);
	CHECK_INT(agreement_decode_detail(&b, f, len, &why), ERR_INVALID);
	CHECK_STR(why.field, "path count");
	CHECK_INT(why.party, 0);
}

static void
test_validate(void)
{
	struct agreement a;
	struct agreement_why why;

	draft(&a);
	CHECK_INT(agreement_validate(&a, &why), 0);
#define BAD(stmt, fieldname) do { \
		draft(&a); \
		stmt; \
		CHECK_INT(agreement_finalize(&a), ERR_INVALID); \
		CHECK_INT(agreement_validate(&a, &why), ERR_INVALID); \
		CHECK_STR(why.field, fieldname); \
	} while (0)
	BAD(a.heartbeat_s = 0, "heartbeat");
	BAD(a.heartbeat_s = 3601, "heartbeat");
	BAD(a.test_interval_s = 0, "test interval");
	BAD(a.ack_deadline_s[AGREEMENT_PRIORITY] = 0, "deadline");
	BAD(a.not_after = a.not_before, "not_after");
	BAD(a.not_after = AGREEMENT_TIME_MAX + 1, "time");
	BAD(a.npaths = 0, "path count");
	BAD(a.npaths = 9, "path count");
	BAD(a.npaths = 1, "path count");	/* slot 2 still filled */
	BAD(snprintf(a.party[0].paths[1], 64, "host"), "path");
	BAD(snprintf(a.party[1].language, 16, "f"), "language");
	BAD(snprintf(a.party[1].name, 33, "South"), "name");
	BAD(snprintf(a.party[1].name, 33, "north"), "name (both parties)");
	BAD(memcpy(a.party[1].sign_pub, a.party[0].sign_pub, 32),
	    "keys (both parties)");
	BAD(memset(a.party[1].link_pub, 0, 32), "public key");
	BAD(memset(a.psk, 0, 32), "psk");
#undef BAD
}

static void
test_paths(void)
{
	static const char *good[] = { "10.0.0.1:7000", "[::1]:1",
		"[fd00::1]:65535", "host-a.example:80", "localhost:443",
		"[::ffff:10.0.0.1]:7000" };
	static const char *bad[] = { "", ":80", "host:", "host:0",
		"host:65536", "host:080", "::1:80", "[::1]80", "[]:80",
		"[x::1]:80", "host:8a", "-host:80", "[fd00::1]", "host",
		"host:+80", "a b:80", "host:80:90",
		"a123456789a123456789a123456789a123456789a123456789a1234567890:80" };
	char host[64];
	uint16_t port = 0;

	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		CHECK(agreement_path_is_valid(good[i]));
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECK(!agreement_path_is_valid(bad[i]));
		if (agreement_path_is_valid(bad[i]))
			printf("    accepted: '%s'\n", bad[i]);
	}
	CHECK_INT(agreement_path_split("[fd00::1]:7000", host, sizeof host,
	    &port), 0);
	CHECK_STR(host, "fd00::1");
	CHECK_INT(port, 7000);
	CHECK_INT(agreement_path_split("south.example:65535", host,
	    sizeof host, &port), 0);
	CHECK_STR(host, "south.example");
	CHECK_INT(port, 65535);
	CHECK_INT(agreement_path_split("south.example:1", host, 5, &port),
	    ERR_SHORT);
	CHECK_INT(agreement_path_split("south", host, sizeof host, &port),
	    ERR_INVALID);
	CHECK(agreement_language_is_valid("en"));
	CHECK(agreement_language_is_valid("pt-BR"));
	CHECK(!agreement_language_is_valid("e"));
	CHECK(!agreement_language_is_valid("1en"));
	CHECK(!agreement_language_is_valid("en_US"));
}

static void
test_files_and_install(void)
{
	char home[256], p[KEYS_PATH_MAX], q[KEYS_PATH_MAX];
	char hex[65];
	struct agreement a, b, all[4];
	uint8_t f[AGREEMENT_FILE_MAX];
	struct stat st;
	size_t n = 99;

	signed_file(f, sizeof f, &a);
	snprintf(p, sizeof p, "%s/ag.agreement", tmpdir);
	CHECK_INT(agreement_write_file(&a, p, 0), 0);
	CHECK_INT(stat(p, &st), 0);
	CHECK_INT(st.st_mode & 0777, 0600);
	CHECK_INT(agreement_write_file(&a, p, 0), ERR_EXISTS);
	CHECK_INT(agreement_read_file(&b, p), 0);
	CHECK_MEM(a.id, b.id, 32);

	snprintf(home, sizeof home, "%s/north", tmpdir);
	CHECK_INT(agreement_load_all(home, all, 4, &n), 0);
	CHECK_INT(n, 0);
	CHECK_INT(agreement_install(home, &b), 0);
	CHECK_INT(agreement_install(home, &b), ERR_EXISTS);
	for (int i = 0; i < 64; i++)
		hex[i] = "0123456789abcdef"[(b.id[i / 2] >> (i % 2 ? 0 : 4)) & 15];
	hex[64] = '\0';
	snprintf(q, sizeof q, "%s/channels/%s.agreement", home, hex);
	CHECK_INT(stat(q, &st), 0);
	CHECK_INT(st.st_mode & 0777, 0600);
	CHECK_INT(agreement_load_all(home, all, 4, &n), 0);
	CHECK_INT(n, 1);
	CHECK_MEM(all[0].id, b.id, 32);
	CHECK_MEM(all[0].psk, b.psk, 32);
	CHECK_INT(agreement_load_all(home, all, 0, &n), ERR_FULL);
	/* an installed file readable by others is refused */
	CHECK_INT(chmod(q, 0644), 0);
	CHECK_INT(agreement_load_all(home, all, 4, &n), ERR_PERMS);
	CHECK_INT(n, 0);
	CHECK_INT(chmod(q, 0600), 0);
	/* a file whose name is not its id is refused */
	hex[0] = hex[0] == '0' ? '1' : '0';
	snprintf(p, sizeof p, "%s/channels/%s.agreement", home, hex);
	CHECK_INT(rename(q, p), 0);
	CHECK_INT(agreement_load_all(home, all, 4, &n), ERR_PARSE);
	CHECK_INT(rename(p, q), 0);
	CHECK_INT(agreement_load_all(home, all, 4, &n), 0);
	CHECK_INT(n, 1);
	agreement_wipe(&all[0]);

	/* an installed copy that is a symbolic link (to a good file) */
	snprintf(p, sizeof p, "%s/channels/real", home);
	CHECK_INT(rename(q, p), 0);
	CHECK_INT(symlink(p, q), 0);
	CHECK_INT(agreement_load_all(home, all, 4, &n), ERR_PERMS);
	CHECK_INT(unlink(q), 0);
	/* a FIFO in its place must not hang the load */
	CHECK_INT(mkfifo(q, 0600), 0);
	alarm(5);
	CHECK_INT(agreement_load_all(home, all, 4, &n), ERR_PERMS);
	alarm(0);
	CHECK_INT(unlink(q), 0);
	CHECK_INT(rename(p, q), 0);
	/* owned by another user (the tests run as root: chown works) */
	if (geteuid() == 0) {
		CHECK_INT(chown(q, 65534, 65534), 0);
		CHECK_INT(agreement_load_all(home, all, 4, &n), ERR_PERMS);
		CHECK_INT(chown(q, 0, 0), 0);
	}
	/* upper-case hex is not a name agreement_install gives: ignored */
	for (int i = 0; i < 64; i++)
		if (hex[i] >= 'a')
			hex[i] = (char)(hex[i] - 'a' + 'A');
	snprintf(p, sizeof p, "%s/channels/%s.agreement", home, hex);
	CHECK_INT(rename(q, p), 0);
	CHECK_INT(agreement_load_all(home, all, 4, &n), 0);
	CHECK_INT(n, 0);
	CHECK_INT(rename(p, q), 0);
	CHECK_INT(agreement_load_all(home, all, 4, &n), 0);
	CHECK_INT(n, 1);
	agreement_wipe(&all[0]);
	CHECK(sodium_is_zero(all[0].psk, 32));
}

int
main(void)
{
	char cmd[256];

	if (sodium_init() < 0 || mkdtemp(tmpdir) == NULL ||
	    make_node("north", &north) != 0 ||
	    make_node("south", &south) != 0 || make_node("isle", &isle) != 0) {
		printf("cannot set up\n0 passed, 1 failed\n");
		return 1;
	}
	RUN(test_documented_encoding_and_id);
	RUN(test_round_trip_deterministic);
	RUN(test_both_views_agree);
	RUN(test_check_refusals);
	RUN(test_tamper_every_byte);
	RUN(test_truncated_every_length);
	RUN(test_noncanonical_refused);
	RUN(test_decode_field_ranges);
	RUN(test_validate);
	RUN(test_paths);
	RUN(test_files_and_install);
	keys_fini(&north);
	keys_fini(&south);
	keys_fini(&isle);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		printf("warning: could not remove %s\n", tmpdir);
	return harness_summary();
}
