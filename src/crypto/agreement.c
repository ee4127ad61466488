/*
 * agreement.c: channel agreements (agreement.h): validation, deterministic
 * encoding, strict decoding, signatures, the channel id and fingerprint,
 * and the installed copies in HOME/channels/.
 *
 * The format (CDDL, field ranges) is docs/agreement.md; the contexts are in
 * docs/crypto.md. Decoding is strict in this order: the file parses within
 * parley's CBOR subset, every field has its type and range, the body and
 * the file re-encode to exactly the bytes read, every signature present
 * verifies. Whether the agreement is complete, current and ours is
 * agreement_check()'s question, asked by whoever installs or uses it.
 *
 * It does not open connections or interpret paths beyond their syntax.
 */
#include "crypto/agreement.h"

#include <dirent.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/file.h"
#include "base/hex.h"
#include "base/wire.h"

#define CTX_ID "parley channel id v1"
#define CTX_SIG "parley agreement v1"
#define CTX_FP "parley channel fingerprint v1"

/* File map keys and body map keys (docs/agreement.md). */
enum { F_VERSION, F_BODY, F_SIG0, F_SIG1, F_NKEYS };
enum { B_PARTIES, B_PSK, B_CREATED, B_NOT_BEFORE, B_NOT_AFTER, B_HEARTBEAT,
	B_TEST_INTERVAL, B_DEADLINES, B_NKEYS };
enum { P_NAME, P_LINK_KEY, P_SIGN_KEY, P_LANGUAGE, P_PATHS, P_NKEYS };

_Static_assert(AGREEMENT_PSK_LEN == 32, "Noise PSKs are 32 bytes");
_Static_assert(AGREEMENT_ID_LEN == HASH_LEN, "id is one context hash");

static void
why_set(struct agreement_why *why, const char *field, int party)
{
	if (why != NULL) {
		why->field = field;
		why->party = party;
	}
}

void
agreement_defaults(struct agreement *a)
{
	memset(a, 0, sizeof *a);
	a->heartbeat_s = 10;
	a->test_interval_s = 3600;
	a->ack_deadline_s[AGREEMENT_FLASH] = 600;
	a->ack_deadline_s[AGREEMENT_IMMEDIATE] = 1800;
	a->ack_deadline_s[AGREEMENT_PRIORITY] = 10800;
	a->ack_deadline_s[AGREEMENT_ROUTINE] = 21600;
	snprintf(a->party[0].language, sizeof a->party[0].language, "en");
	snprintf(a->party[1].language, sizeof a->party[1].language, "en");
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Parses a decimal port 1..65535 without leading zeros or a sign. */
static bool
port_parse(const char *s, uint16_t *port)
{
	unsigned long v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > 5 || s[0] == '0')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return false;
	*port = (uint16_t)v;
	return true;
}

/* Finds the host part of s: [start, start+len) and the port string. */
static bool
path_parse(const char *s, size_t *start, size_t *len, uint16_t *port)
{
	size_t n = strlen(s), colon;

	if (n == 0 || n > AGREEMENT_ADDR_MAX)
		return false;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		bool has_colon = false;
		if (close == NULL || close[1] != ':')
			return false;
		colon = (size_t)(close - s) + 1;
		for (size_t i = 1; i + 1 < colon; i++) {
			if (!is_hex(s[i]) && s[i] != ':' && s[i] != '.')
				return false;
			has_colon |= s[i] == ':';
		}
		if (colon < 4 || !has_colon)
			return false;
		*start = 1;
		*len = colon - 2;
	} else {
		const char *c = strchr(s, ':');
		if (c == NULL || c == s || strchr(c + 1, ':') != NULL)
			return false;
		colon = (size_t)(c - s);
		if (s[0] == '-' || s[0] == '.')
			return false;
		for (size_t i = 0; i < colon; i++)
			if (!is_alpha(s[i]) && !is_digit(s[i]) &&
			    s[i] != '.' && s[i] != '-')
				return false;
		*start = 0;
		*len = colon;
	}
	return port_parse(s + colon + 1, port);
}

bool
agreement_path_is_valid(const char *s)
{
	size_t start, len;
	uint16_t port;

	return s != NULL && path_parse(s, &start, &len, &port);
}

int
agreement_path_split(const char *s, char *host, size_t cap, uint16_t *port)
{
	size_t start, len;

	if (s == NULL || !path_parse(s, &start, &len, port))
		return ERR_INVALID;
	if (len >= cap)
		return ERR_SHORT;
	memcpy(host, s + start, len);
	host[len] = '\0';
	return 0;
}

bool
agreement_language_is_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n < 2 || n > AGREEMENT_LANG_MAX || !is_alpha(s[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_alpha(s[i]) && !is_digit(s[i]) && s[i] != '-')
			return false;
	return true;
}

/* ERR_INVALID for public keys no honest key generation produces. */
static bool
public_keys_ok(const struct agreement_party *p)
{
	static const uint8_t probe[32] = { 9, 1, 2, 3 };
	uint8_t out[32];

	return crypto_core_ed25519_is_valid_point(p->sign_pub) == 1 &&
	    crypto_scalarmult(out, probe, p->link_pub) == 0;
}

static int
validate_party(const struct agreement *a, int i, struct agreement_why *why)
{
	const struct agreement_party *p = &a->party[i];

	if (!keys_name_is_valid(p->name))
		return why_set(why, "name", i), ERR_INVALID;
	if (!agreement_language_is_valid(p->language))
		return why_set(why, "language", i), ERR_INVALID;
	if (!public_keys_ok(p))
		return why_set(why, "public key", i), ERR_INVALID;
	for (size_t j = 0; j < AGREEMENT_MAX_PATHS; j++) {
		bool used = j < a->npaths;
		if (used && !agreement_path_is_valid(p->paths[j]))
			return why_set(why, "path", i), ERR_INVALID;
		if (!used && p->paths[j][0] != '\0')
			return why_set(why, "path count", i), ERR_INVALID;
	}
	return 0;
}

int
agreement_validate(const struct agreement *a, struct agreement_why *why)
{
	const struct agreement_party *p0 = &a->party[0], *p1 = &a->party[1];
	int r;

	why_set(why, "", -1);
	if (a->npaths < 1 || a->npaths > AGREEMENT_MAX_PATHS)
		return why_set(why, "path count", -1), ERR_INVALID;
	for (int i = 0; i < 2; i++)
		if ((r = validate_party(a, i, why)) != 0)
			return r;
	if (strcmp(p0->name, p1->name) == 0)
		return why_set(why, "name (both parties)", 1), ERR_INVALID;
	if (memcmp(p0->link_pub, p1->link_pub, KEYS_PUB_LEN) == 0 ||
	    memcmp(p0->sign_pub, p1->sign_pub, KEYS_PUB_LEN) == 0)
		return why_set(why, "keys (both parties)", 1), ERR_INVALID;
	if (sodium_is_zero(a->psk, sizeof a->psk))
		return why_set(why, "psk", -1), ERR_INVALID;
	if (a->created > AGREEMENT_TIME_MAX || a->not_before >
	    AGREEMENT_TIME_MAX || a->not_after > AGREEMENT_TIME_MAX)
		return why_set(why, "time", -1), ERR_INVALID;
	if (a->not_after <= a->not_before)
		return why_set(why, "not_after", -1), ERR_INVALID;
	if (a->heartbeat_s < 1 || a->heartbeat_s > AGREEMENT_HEARTBEAT_MAX)
		return why_set(why, "heartbeat", -1), ERR_INVALID;
	if (a->test_interval_s < 1 ||
	    a->test_interval_s > AGREEMENT_TEST_INTERVAL_MAX)
		return why_set(why, "test interval", -1), ERR_INVALID;
	for (int i = 0; i < AGREEMENT_NPRECEDENCE; i++)
		if (a->ack_deadline_s[i] < 1 ||
		    a->ack_deadline_s[i] > AGREEMENT_DEADLINE_MAX)
			return why_set(why, "deadline", -1), ERR_INVALID;
	return 0;
}

static void
put_party(struct wire_writer *w, const struct agreement *a, int i)
{
	const struct agreement_party *p = &a->party[i];

	wire_put_map(w, P_NKEYS);
	wire_put_uint(w, P_NAME);
	wire_put_text(w, p->name);
	wire_put_uint(w, P_LINK_KEY);
	wire_put_bytes(w, p->link_pub, KEYS_PUB_LEN);
	wire_put_uint(w, P_SIGN_KEY);
	wire_put_bytes(w, p->sign_pub, KEYS_PUB_LEN);
	wire_put_uint(w, P_LANGUAGE);
	wire_put_text(w, p->language);
	wire_put_uint(w, P_PATHS);
	wire_put_array(w, a->npaths);
	for (size_t j = 0; j < a->npaths; j++)
		wire_put_text(w, p->paths[j]);
}

/* The signed body, deterministic CBOR. Holds the PSK: callers wipe out. */
static int
body_encode(const struct agreement *a, uint8_t *out, size_t cap, size_t *len)
{
	struct wire_writer w;

	wire_writer_init(&w, out, cap);
	wire_put_map(&w, B_NKEYS);
	wire_put_uint(&w, B_PARTIES);
	wire_put_array(&w, 2);
	put_party(&w, a, 0);
	put_party(&w, a, 1);
	wire_put_uint(&w, B_PSK);
	wire_put_bytes(&w, a->psk, sizeof a->psk);
	wire_put_uint(&w, B_CREATED);
	wire_put_uint(&w, a->created);
	wire_put_uint(&w, B_NOT_BEFORE);
	wire_put_uint(&w, a->not_before);
	wire_put_uint(&w, B_NOT_AFTER);
	wire_put_uint(&w, a->not_after);
	wire_put_uint(&w, B_HEARTBEAT);
	wire_put_uint(&w, a->heartbeat_s);
	wire_put_uint(&w, B_TEST_INTERVAL);
	wire_put_uint(&w, a->test_interval_s);
	wire_put_uint(&w, B_DEADLINES);
	wire_put_array(&w, AGREEMENT_NPRECEDENCE);
	for (int i = 0; i < AGREEMENT_NPRECEDENCE; i++)
		wire_put_uint(&w, a->ack_deadline_s[i]);
	return wire_writer_finish(&w, len);
}

int
agreement_finalize(struct agreement *a)
{
	uint8_t body[AGREEMENT_FILE_MAX];
	size_t len;
	int r;

	if ((r = agreement_validate(a, NULL)) != 0)
		return r;
	if ((r = body_encode(a, body, sizeof body, &len)) == 0)
		hash_ctx(a->id, sizeof a->id, CTX_ID, body, len);
	sodium_memzero(body, sizeof body);
	return r;
}

static int
party_index(const struct agreement *a, const struct node_identity *id)
{
	for (int i = 0; i < 2; i++)
		if (memcmp(a->party[i].sign_pub, id->sign_pub,
		    KEYS_PUB_LEN) == 0 && memcmp(a->party[i].link_pub,
		    id->link_pub, KEYS_PUB_LEN) == 0)
			return i;
	return -1;
}

int
agreement_sign(struct agreement *a, const struct keys *k)
{
	uint8_t body[AGREEMENT_FILE_MAX];
	size_t len;
	int i, r;

	if ((i = party_index(a, &k->id)) < 0)
		return ERR_FOREIGN;
	if ((r = agreement_validate(a, NULL)) != 0)
		return r;
	if ((r = body_encode(a, body, sizeof body, &len)) != 0)
		goto out;
	if ((r = keys_sign(k, CTX_SIG, body, len, a->sig[i])) != 0)
		goto out;
	a->is_signed[i] = true;
	hash_ctx(a->id, sizeof a->id, CTX_ID, body, len);
out:
	sodium_memzero(body, sizeof body);
	return r;
}

int
agreement_encode(const struct agreement *a, uint8_t *out, size_t cap,
    size_t *len)
{
	uint8_t body[AGREEMENT_FILE_MAX];
	struct wire_writer w;
	size_t blen;
	int r;

	if ((r = body_encode(a, body, sizeof body, &blen)) != 0)
		goto out;
	wire_writer_init(&w, out, cap);
	wire_put_map(&w, F_NKEYS);
	wire_put_uint(&w, F_VERSION);
	wire_put_uint(&w, AGREEMENT_VERSION);
	wire_put_uint(&w, F_BODY);
	wire_put_bytes(&w, body, blen);
	for (int i = 0; i < 2; i++) {
		wire_put_uint(&w, (uint64_t)(F_SIG0 + i));
		if (a->is_signed[i])
			wire_put_bytes(&w, a->sig[i], KEYS_SIG_LEN);
		else
			wire_put_null(&w);
	}
	r = wire_writer_finish(&w, len);
out:
	sodium_memzero(body, sizeof body);
	return r;
}

/* Copies a text field; any failure is the field's fault. */
static int
get_text(const cbor_item_t *item, char *out, size_t cap)
{
	int r = wire_get_text(item, out, cap);

	return r == ERR_TOO_BIG ? ERR_INVALID : r;
}

static int
get_u32(const cbor_item_t *item, uint32_t *v)
{
	uint64_t x;
	int r;

	if ((r = wire_get_uint(item, &x)) != 0)
		return r;
	if (x > UINT32_MAX)
		return ERR_INVALID;
	*v = (uint32_t)x;
	return 0;
}

/* Returns r, first naming field (of party, or -1) in why when r fails, so
 * that a refusal can say which field is out of range. */
static int
field_err(int r, struct agreement_why *why, const char *field, int party)
{
	if (r != 0)
		why_set(why, field, party);
	return r;
}

static int
parse_party(struct agreement *a, int i, const cbor_item_t *m, size_t *npaths,
    struct agreement_why *why)
{
	struct agreement_party *p = &a->party[i];
	cbor_item_t *paths;
	int r;

	if (!cbor_isa_map(m) || cbor_map_size(m) != P_NKEYS)
		return why_set(why, "party", i), ERR_PARSE;
	if ((r = field_err(get_text(wire_map_get(m, P_NAME), p->name,
	    sizeof p->name), why, "name", i)) != 0 ||
	    (r = field_err(wire_get_bytes_exact(wire_map_get(m, P_LINK_KEY),
	    p->link_pub, KEYS_PUB_LEN), why, "public key", i)) != 0 ||
	    (r = field_err(wire_get_bytes_exact(wire_map_get(m, P_SIGN_KEY),
	    p->sign_pub, KEYS_PUB_LEN), why, "public key", i)) != 0 ||
	    (r = field_err(get_text(wire_map_get(m, P_LANGUAGE), p->language,
	    sizeof p->language), why, "language", i)) != 0)
		return r;
	paths = wire_map_get(m, P_PATHS);
	if (paths == NULL || !cbor_isa_array(paths) ||
	    !cbor_array_is_definite(paths))
		return why_set(why, "paths", i), ERR_PARSE;
	*npaths = cbor_array_size(paths);
	if (*npaths < 1 || *npaths > AGREEMENT_MAX_PATHS)
		return why_set(why, "path count", i), ERR_INVALID;
	for (size_t j = 0; j < *npaths; j++) {
		cbor_item_t *s = cbor_array_get(paths, j);
		r = get_text(s, p->paths[j], sizeof p->paths[j]);
		cbor_decref(&s);
		if (r != 0)
			return why_set(why, "path", i), r;
	}
	return 0;
}

static int
parse_body(struct agreement *a, const cbor_item_t *m, struct agreement_why *why)
{
	cbor_item_t *parties, *dl;
	size_t np[2] = { 0, 0 };
	int r;

	if (!cbor_isa_map(m) || cbor_map_size(m) != B_NKEYS)
		return ERR_PARSE;
	parties = wire_map_get(m, B_PARTIES);
	if (parties == NULL || !cbor_isa_array(parties) ||
	    cbor_array_size(parties) != 2)
		return ERR_PARSE;
	for (int i = 0; i < 2; i++) {
		cbor_item_t *p = cbor_array_get(parties, (size_t)i);
		r = parse_party(a, i, p, &np[i], why);
		cbor_decref(&p);
		if (r != 0)
			return r;
	}
	if (np[0] != np[1])
		return why_set(why, "path count", 1), ERR_INVALID;
	a->npaths = (uint8_t)np[0];
	if ((r = field_err(wire_get_bytes_exact(wire_map_get(m, B_PSK),
	    a->psk, sizeof a->psk), why, "psk", -1)) != 0 ||
	    (r = field_err(wire_get_uint(wire_map_get(m, B_CREATED),
	    &a->created), why, "time", -1)) != 0 ||
	    (r = field_err(wire_get_uint(wire_map_get(m, B_NOT_BEFORE),
	    &a->not_before), why, "time", -1)) != 0 ||
	    (r = field_err(wire_get_uint(wire_map_get(m, B_NOT_AFTER),
	    &a->not_after), why, "not_after", -1)) != 0 ||
	    (r = field_err(get_u32(wire_map_get(m, B_HEARTBEAT),
	    &a->heartbeat_s), why, "heartbeat", -1)) != 0 ||
	    (r = field_err(get_u32(wire_map_get(m, B_TEST_INTERVAL),
	    &a->test_interval_s), why, "test interval", -1)) != 0)
		return r;
	dl = wire_map_get(m, B_DEADLINES);
	if (dl == NULL || !cbor_isa_array(dl) ||
	    cbor_array_size(dl) != AGREEMENT_NPRECEDENCE)
		return why_set(why, "deadline", -1), ERR_PARSE;
	for (size_t i = 0; i < AGREEMENT_NPRECEDENCE; i++) {
		cbor_item_t *d = cbor_array_get(dl, i);
		r = get_u32(d, &a->ack_deadline_s[i]);
		cbor_decref(&d);
		if (r != 0)
			return why_set(why, "deadline", -1), r;
	}
	return 0;
}

/* Reads signature slot i: null or a 64-byte string. */
static int
parse_sig(struct agreement *a, int i, const cbor_item_t *item)
{
	if (item == NULL)
		return ERR_PARSE;
	if (cbor_is_null(item)) {
		a->is_signed[i] = false;
		return 0;
	}
	a->is_signed[i] = true;
	return wire_get_bytes_exact(item, a->sig[i], KEYS_SIG_LEN);
}

/* Checks the canonical form of the body and the file, and the signatures. */
static int
decode_finish(struct agreement *a, const uint8_t *body, size_t blen,
    const uint8_t *p, size_t n, struct agreement_why *why)
{
	uint8_t re[AGREEMENT_FILE_MAX];
	size_t len;
	int r;

	if ((r = body_encode(a, re, sizeof re, &len)) != 0)
		goto out;
	if (!wire_same(re, len, body, blen)) {
		why_set(why, "body", -1);
		r = ERR_NONCANONICAL;
		goto out;
	}
	if ((r = agreement_encode(a, re, sizeof re, &len)) != 0)
		goto out;
	if (!wire_same(re, len, p, n)) {
		why_set(why, "file", -1);
		r = ERR_NONCANONICAL;
		goto out;
	}
	hash_ctx(a->id, sizeof a->id, CTX_ID, body, blen);
	for (int i = 0; i < 2; i++) {
		if (a->is_signed[i] && keys_verify(a->party[i].sign_pub,
		    CTX_SIG, body, blen, a->sig[i]) != 0) {
			why_set(why, "signature", i);
			r = ERR_SIGNATURE;
			goto out;
		}
	}
out:
	sodium_memzero(re, sizeof re);
	return r;
}

int
agreement_decode_detail(struct agreement *a, const uint8_t *p, size_t n,
    struct agreement_why *why)
{
	cbor_item_t *file = NULL, *bitem = NULL;
	const uint8_t *body;
	uint64_t version;
	size_t blen;
	int r;

	memset(a, 0, sizeof *a);
	why_set(why, "", -1);
	if (n > AGREEMENT_FILE_MAX)
		return ERR_TOO_BIG;
	if ((r = wire_load(p, n, &file)) != 0)
		goto out;
	if (!cbor_isa_map(file) || cbor_map_size(file) != F_NKEYS) {
		r = ERR_PARSE;
		goto out;
	}
	if ((r = wire_get_uint(wire_map_get(file, F_VERSION), &version)) != 0)
		goto out;
	if (version != AGREEMENT_VERSION) {
		r = ERR_VERSION;
		goto out;
	}
	if ((r = wire_get_bytes(wire_map_get(file, F_BODY), &body,
	    &blen)) != 0 ||
	    (r = parse_sig(a, 0, wire_map_get(file, F_SIG0))) != 0 ||
	    (r = parse_sig(a, 1, wire_map_get(file, F_SIG1))) != 0)
		goto out;
	if ((r = wire_load(body, blen, &bitem)) != 0 ||
	    (r = parse_body(a, bitem, why)) != 0 ||
	    (r = agreement_validate(a, why)) != 0 ||
	    (r = decode_finish(a, body, blen, p, n, why)) != 0)
		goto out;
out:
	if (bitem != NULL)
		cbor_decref(&bitem);
	if (file != NULL)
		cbor_decref(&file);
	if (r != 0 && r != ERR_SIGNATURE)
		memset(a, 0, sizeof *a);
	else if (r == ERR_SIGNATURE)
		agreement_wipe(a);
	return r;
}

int
agreement_decode(struct agreement *a, const uint8_t *p, size_t n)
{
	return agreement_decode_detail(a, p, n, NULL);
}

int
agreement_check(const struct agreement *a, const struct node_identity *self,
    uint64_t now, int *self_index)
{
	int i;

	*self_index = -1;
	if ((i = party_index(a, self)) < 0)
		return ERR_FOREIGN;
	*self_index = i;
	if (!a->is_signed[0] || !a->is_signed[1])
		return ERR_UNSIGNED;
	if (now < a->not_before)
		return ERR_NOT_YET_VALID;
	if (now > a->not_after)
		return ERR_EXPIRED;
	return 0;
}

int
agreement_read_file_detail(struct agreement *a, const char *path,
    struct agreement_why *why)
{
	uint8_t *buf = NULL;
	size_t len;
	int r;

	memset(a, 0, sizeof *a);
	why_set(why, "", -1);
	if ((r = file_read(path, AGREEMENT_FILE_MAX, &buf, &len)) != 0)
		return r;
	r = agreement_decode_detail(a, buf, len, why);
	sodium_memzero(buf, len);
	free(buf);
	return r;
}

/* agreement_read_file for an installed copy: through file_read_private
 * (one descriptor, no symbolic link, ours, mode 0600 or stricter). */
static int
read_installed(struct agreement *a, const char *path)
{
	uint8_t *buf = NULL;
	size_t len;
	int r;

	memset(a, 0, sizeof *a);
	if ((r = file_read_private(path, AGREEMENT_FILE_MAX, &buf, &len)) != 0)
		return r;
	r = agreement_decode(a, buf, len);
	sodium_memzero(buf, len);
	free(buf);
	return r;
}

int
agreement_read_file(struct agreement *a, const char *path)
{
	return agreement_read_file_detail(a, path, NULL);
}

int
agreement_write_file(const struct agreement *a, const char *path, int replace)
{
	uint8_t buf[AGREEMENT_FILE_MAX];
	size_t len;
	int r;

	if ((r = agreement_validate(a, NULL)) != 0)
		return r;
	if ((r = agreement_encode(a, buf, sizeof buf, &len)) == 0)
		r = file_write(path, buf, len, 0600, replace);
	sodium_memzero(buf, sizeof buf);
	return r;
}

static int
channel_path(char out[KEYS_PATH_MAX], const char *home, const uint8_t *id)
{
	char hex[2 * AGREEMENT_ID_LEN + 1];
	int n;

	hex_encode(hex, id, AGREEMENT_ID_LEN);
	n = snprintf(out, KEYS_PATH_MAX, "%s/%s/%s.agreement", home,
	    KEYS_CHANNELS_DIR, hex);
	return n < 0 || n >= KEYS_PATH_MAX ? ERR_INVALID : 0;
}

int
agreement_install(const char *home, const struct agreement *a)
{
	char dir[KEYS_PATH_MAX], path[KEYS_PATH_MAX];
	int n, r;

	n = snprintf(dir, sizeof dir, "%s/%s", home, KEYS_CHANNELS_DIR);
	if (n < 0 || (size_t)n >= sizeof dir)
		return ERR_INVALID;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return ERR_IO;
	if ((r = channel_path(path, home, a->id)) != 0)
		return r;
	return agreement_write_file(a, path, 0);
}

static int
by_id(const void *x, const void *y)
{
	const struct agreement *a = x, *b = y;

	return memcmp(a->id, b->id, AGREEMENT_ID_LEN);
}

/* True for "<64 lower-case hex digits>.agreement" (the name
 * agreement_install gives; hex_encode writes lower case). */
static bool
is_channel_file(const char *name)
{
	size_t n = strlen(name);

	if (n != 2 * AGREEMENT_ID_LEN + strlen(".agreement") ||
	    strcmp(name + 2 * AGREEMENT_ID_LEN, ".agreement") != 0)
		return false;
	for (size_t i = 0; i < 2 * AGREEMENT_ID_LEN; i++)
		if (!((name[i] >= '0' && name[i] <= '9') ||
		    (name[i] >= 'a' && name[i] <= 'f')))
			return false;
	return true;
}

int
agreement_load_all(const char *home, struct agreement *out, size_t cap,
    size_t *n)
{
	char dir[KEYS_PATH_MAX], path[KEYS_PATH_MAX];
	struct dirent *de;
	char hexid[2 * AGREEMENT_ID_LEN + 1];
	uint8_t want[AGREEMENT_ID_LEN];
	DIR *d;
	int len, r = 0;

	*n = 0;
	len = snprintf(dir, sizeof dir, "%s/%s", home, KEYS_CHANNELS_DIR);
	if (len < 0 || (size_t)len >= sizeof dir)
		return ERR_INVALID;
	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : ERR_IO;
	while ((de = readdir(d)) != NULL) {
		if (!is_channel_file(de->d_name))
			continue;
		if (*n == cap) {
			r = ERR_FULL;
			break;
		}
		len = snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		if (len < 0 || (size_t)len >= sizeof path) {
			r = ERR_INVALID;
			break;
		}
		if ((r = read_installed(&out[*n], path)) != 0) {
			agreement_wipe(&out[*n]);
			break;
		}
		/* the name is the id: a renamed or swapped file is refused */
		memcpy(hexid, de->d_name, 2 * AGREEMENT_ID_LEN);
		hexid[2 * AGREEMENT_ID_LEN] = '\0';
		if (hex_decode(want, sizeof want, hexid) != 0 ||
		    memcmp(want, out[*n].id, sizeof want) != 0) {
			agreement_wipe(&out[*n]);
			r = ERR_PARSE;
			break;
		}
		(*n)++;
	}
	closedir(d);
	if (r == 0)
		qsort(out, *n, sizeof *out, by_id);
	if (r != 0) {
		for (size_t i = 0; i < *n; i++)
			agreement_wipe(&out[i]);
		*n = 0;
	}
	return r;
}

int
agreement_party_of(const struct agreement *a,
    const uint8_t sign_pub[KEYS_PUB_LEN])
{
	for (int j = 0; j < 2; j++)
		if (memcmp(a->party[j].sign_pub, sign_pub, KEYS_PUB_LEN) == 0)
			return j;
	return -1;
}

void
agreement_fingerprint(const struct agreement *a,
    char out[FINGERPRINT_STR_LEN])
{
	hash_fingerprint(out, CTX_FP, a->id, AGREEMENT_ID_LEN);
}

void
agreement_wipe(struct agreement *a)
{
	sodium_memzero(a->psk, sizeof a->psk);
}
