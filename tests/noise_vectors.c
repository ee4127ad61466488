/*
 * noise_vectors.c: runs public Noise test vectors (cacophony, snow,
 * noise-c's JSON format) through the engine in src/crypto/noise.c.
 *
 * Usage: noise-vectors FILE...
 *
 * For each vector it drives an initiator and a responder engine with the
 * vector's keys, prologue and PSKs, and checks every handshake message's
 * bytes, that the other side decrypts the payload, the handshake hash when
 * given, and the transport messages that follow (sent with the split cipher
 * states: alternating from the initiator for interactive patterns, all from
 * the initiator for one-way ones).
 *
 * Skipped by name only: other suites (DH, cipher or hash), deferred patterns
 * (an upper-case letter followed by a digit, as X1K or NK1), the obsolete
 * "NoisePSK_" names, and fallback or other non-fundamental names. Any other
 * vector runs; if the engine refuses it, that is a failure. A vector this
 * program cannot parse is a failure too (a self-check at start proves it).
 *
 * Output: one line per failure, one summary line per file, and the last
 * line "N passed, N failed, N skipped". Exit 1 on any failure.
 */
#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/hex.h"
#include "crypto/noise.h"

enum result { PASS, FAIL, SKIP };

#define BUF_LEN (NOISE_MAX_MSG + 1)

static uint8_t want_pt[BUF_LEN], want_ct[BUF_LEN], got_ct[BUF_LEN];
static uint8_t got_pt[BUF_LEN];
static bool in_self_check;	/* failures are expected: say so */

/* Prints the failure line for the vector being run; returns FAIL. */
static enum result failf(const char *where, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static enum result
failf(const char *where, const char *fmt, ...)
{
	va_list ap;

	printf("%s %s: ", in_self_check ? "expected failure" : "FAIL", where);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	return FAIL;
}

static const char *
vector_name(json_t *v)
{
	const char *n = json_string_value(json_object_get(v, "protocol_name"));

	return n != NULL ? n : json_string_value(json_object_get(v, "name"));
}

static bool
is_fundamental(const char *p, size_t len)
{
	static const char *const names[] = { "N", "K", "X", "NN", "NK", "NX",
	    "XN", "XK", "XX", "KN", "KK", "KX", "IN", "IK", "IX" };

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strlen(names[i]) == len && memcmp(names[i], p, len) == 0)
			return true;
	return false;
}

/* Decides from the name alone whether we run the vector. *why names the
 * reason for a skip or a malformed name (returned as FAIL). */
static enum result
classify(const char *name, const char **why)
{
	char buf[128], *parts[6], *save = NULL, *t;
	size_t n = 0, plen;

	if (name == NULL || strlen(name) >= sizeof buf) {
		*why = "no protocol name";
		return FAIL;
	}
	snprintf(buf, sizeof buf, "%s", name);
	for (t = strtok_r(buf, "_", &save); t != NULL && n < 6;
	    t = strtok_r(NULL, "_", &save))
		parts[n++] = t;
	if (n > 0 && strcmp(parts[0], "NoisePSK") == 0) {
		*why = "obsolete NoisePSK_ name";
		return SKIP;
	}
	if (n != 5 || strcmp(parts[0], "Noise") != 0) {
		*why = "malformed protocol name";
		return FAIL;
	}
	if (strcmp(parts[2], "25519") != 0 ||
	    strcmp(parts[3], "ChaChaPoly") != 0 ||
	    strcmp(parts[4], "BLAKE2b") != 0) {
		*why = "other suite";
		return SKIP;
	}
	for (const char *c = parts[1]; c[0] != '\0'; c++) {
		if (c[0] >= 'A' && c[0] <= 'Z' && c[1] >= '0' && c[1] <= '9') {
			*why = "deferred pattern";
			return SKIP;
		}
	}
	if (strstr(parts[1], "fallback") != NULL) {
		*why = "fallback pattern";
		return SKIP;
	}
	plen = strspn(parts[1], "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
	if (!is_fundamental(parts[1], plen)) {
		*why = "non-fundamental pattern";
		return SKIP;
	}
	/* modifiers other than pskN (e.g. hfs) are not fundamental */
	if (strspn(parts[1] + plen, "psk0123456789+") !=
	    strlen(parts[1] + plen)) {
		*why = "non-psk modifier";
		return SKIP;
	}
	return PASS;
}

/* Decodes the optional 32-byte hex key field; *has tells if present. */
static int
key_get(json_t *v, const char *field, uint8_t key[NOISE_KEY_LEN], bool *has)
{
	json_t *j = json_object_get(v, field);

	*has = false;
	if (j == NULL || json_is_null(j))
		return 0;
	if (!json_is_string(j) ||
	    hex_decode(key, NOISE_KEY_LEN, json_string_value(j)) != 0)
		return -1;
	*has = true;
	return 0;
}

static int
hex_get(json_t *j, uint8_t *out, size_t cap, size_t *len)
{
	*len = 0;
	if (j == NULL)
		return 0;
	if (!json_is_string(j))
		return -1;
	return hex_decode_any(out, cap, len, json_string_value(j));
}

/* Sets up one side from the vector fields with prefix pre ("init_"...). */
static enum result
side_init(struct noise_handshake *hs, json_t *v, const char *name,
    enum noise_role role, const char *where)
{
	const char *pre = role == NOISE_INITIATOR ? "init" : "resp";
	uint8_t prologue[1024], key[NOISE_KEY_LEN];
	char field[64];
	json_t *psks;
	size_t plen, i;
	bool has;
	int r;

	snprintf(field, sizeof field, "%s_prologue", pre);
	if (hex_get(json_object_get(v, field), prologue, sizeof prologue,
	    &plen) != 0)
		return failf(where, "cannot parse %s", field);
	if ((r = noise_handshake_init(hs, name, role, prologue, plen, NULL,
	    NULL)) != 0)
		return failf(where, "%s init: %s", pre, err_str(r));

	snprintf(field, sizeof field, "%s_static", pre);
	if (key_get(v, field, key, &has) != 0)
		return failf(where, "cannot parse %s", field);
	if (has && (r = noise_handshake_set_static(hs, key)) != 0)
		return failf(where, "%s: %s", field, err_str(r));
	snprintf(field, sizeof field, "%s_remote_static", pre);
	if (key_get(v, field, key, &has) != 0)
		return failf(where, "cannot parse %s", field);
	if (has && (r = noise_handshake_set_remote_static(hs, key)) != 0)
		return failf(where, "%s: %s", field, err_str(r));
	snprintf(field, sizeof field, "%s_ephemeral", pre);
	if (key_get(v, field, key, &has) != 0)
		return failf(where, "cannot parse %s", field);
	if (has && (r = noise_handshake_set_ephemeral(hs, key)) != 0)
		return failf(where, "%s: %s", field, err_str(r));

	snprintf(field, sizeof field, "%s_psks", pre);
	psks = json_object_get(v, field);
	if (psks != NULL && !json_is_array(psks))
		return failf(where, "cannot parse %s", field);
	for (i = 0; psks != NULL && i < json_array_size(psks); i++) {
		json_t *j = json_array_get(psks, i);
		if (!json_is_string(j) || hex_decode(key, sizeof key,
		    json_string_value(j)) != 0)
			return failf(where, "cannot parse %s[%zu]", field, i);
		if ((r = noise_handshake_set_psk(hs, key)) != 0)
			return failf(where, "%s[%zu]: %s", field, i,
			    err_str(r));
	}
	if ((r = noise_handshake_start(hs)) != 0)
		return failf(where, "%s start: %s", pre, err_str(r));
	return PASS;
}

/* One message during the handshake: the side whose action is WRITE
 * writes, the other reads. */
static enum result
handshake_msg(struct noise_handshake *hs, size_t i, size_t ptlen,
    size_t ctlen, const char *where)
{
	struct noise_handshake *w, *rd;
	size_t glen, plen;
	int r;

	if (noise_handshake_action(&hs[0]) == NOISE_ACTION_WRITE) {
		w = &hs[0];
		rd = &hs[1];
	} else {
		w = &hs[1];
		rd = &hs[0];
	}
	if (noise_handshake_action(w) != NOISE_ACTION_WRITE ||
	    noise_handshake_action(rd) != NOISE_ACTION_READ)
		return failf(where, "message %zu: no writer/reader pair", i);
	if ((r = noise_handshake_write(w, want_pt, ptlen, got_ct,
	    sizeof got_ct, &glen)) != 0)
		return failf(where, "message %zu: write: %s", i, err_str(r));
	if (glen != ctlen || memcmp(got_ct, want_ct, ctlen) != 0)
		return failf(where, "message %zu: handshake ciphertext differs",
		    i);
	if ((r = noise_handshake_read(rd, want_ct, ctlen, got_pt,
	    sizeof got_pt, &plen)) != 0)
		return failf(where, "message %zu: read: %s", i, err_str(r));
	if (plen != ptlen || memcmp(got_pt, want_pt, ptlen) != 0)
		return failf(where, "message %zu: handshake payload differs", i);
	return PASS;
}

static enum result
transport_msg(struct noise_cipher *send, struct noise_cipher *recv, size_t i,
    size_t ptlen, size_t ctlen, const char *where)
{
	size_t glen, plen;
	int r;

	if ((r = noise_cipher_encrypt(send, NULL, 0, want_pt, ptlen, got_ct,
	    sizeof got_ct, &glen)) != 0)
		return failf(where, "message %zu: encrypt: %s", i, err_str(r));
	if (glen != ctlen || memcmp(got_ct, want_ct, ctlen) != 0)
		return failf(where, "message %zu: transport ciphertext differs",
		    i);
	if ((r = noise_cipher_decrypt(recv, NULL, 0, want_ct, ctlen, got_pt,
	    sizeof got_pt, &plen)) != 0)
		return failf(where, "message %zu: decrypt: %s", i, err_str(r));
	if (plen != ptlen || memcmp(got_pt, want_pt, ptlen) != 0)
		return failf(where, "message %zu: transport payload differs", i);
	return PASS;
}

/* After the last handshake message: split both sides, check h. */
static enum result
finish(struct noise_handshake *hs, struct noise_cipher cs[2][2], json_t *v,
    const char *where)
{
	uint8_t h[NOISE_HASH_LEN];
	size_t hlen;

	if (noise_handshake_split(&hs[0], &cs[0][0], &cs[0][1]) != 0 ||
	    noise_handshake_split(&hs[1], &cs[1][0], &cs[1][1]) != 0)
		return failf(where, "split refused");
	if (memcmp(noise_handshake_hash(&hs[0]), noise_handshake_hash(&hs[1]),
	    NOISE_HASH_LEN) != 0)
		return failf(where, "the two sides' handshake hashes differ");
	if (json_object_get(v, "handshake_hash") == NULL)
		return PASS;
	if (hex_get(json_object_get(v, "handshake_hash"), h, sizeof h,
	    &hlen) != 0 || hlen != NOISE_HASH_LEN)
		return failf(where, "cannot parse handshake_hash");
	if (memcmp(h, noise_handshake_hash(&hs[0]), NOISE_HASH_LEN) != 0)
		return failf(where, "handshake hash differs");
	return PASS;
}

/* Runs one vector; for a skip, *skip_why says why. */
static enum result
vector_run(json_t *v, const char *where, const char **skip_why)
{
	struct noise_handshake hs[2];
	struct noise_cipher cs[2][2];	/* [side][send, recv] */
	const char *name = vector_name(v), *why = NULL;
	json_t *msgs = json_object_get(v, "messages");
	enum result res;
	bool done = false, one_way;
	size_t i, ptlen, ctlen;

	memset(hs, 0, sizeof hs);
	memset(cs, 0, sizeof cs);
	if ((res = classify(name, &why)) == SKIP) {
		*skip_why = why;
		return SKIP;
	}
	if (res == FAIL)
		return failf(where, "%s", why);
	if (!json_is_array(msgs) || json_array_size(msgs) == 0) {
		res = failf(where, "cannot parse messages");
		goto out;
	}
	if ((res = side_init(&hs[0], v, name, NOISE_INITIATOR, where)) != PASS ||
	    (res = side_init(&hs[1], v, name, NOISE_RESPONDER, where)) != PASS)
		goto out;
	one_way = hs[0].pattern.one_way;

	for (i = 0; i < json_array_size(msgs); i++) {
		json_t *m = json_array_get(msgs, i);
		if (!json_is_object(m) ||
		    hex_get(json_object_get(m, "payload"), want_pt,
		    sizeof want_pt, &ptlen) != 0 ||
		    hex_get(json_object_get(m, "ciphertext"), want_ct,
		    sizeof want_ct, &ctlen) != 0 ||
		    json_object_get(m, "ciphertext") == NULL) {
			res = failf(where, "cannot parse message %zu", i);
			goto out;
		}
		if (!done) {
			res = handshake_msg(hs, i, ptlen, ctlen, where);
			if (res == PASS &&
			    noise_handshake_action(&hs[0]) == NOISE_ACTION_SPLIT) {
				res = finish(hs, cs, v, where);
				done = true;
			}
		} else if (one_way || i % 2 == 0)
			res = transport_msg(&cs[0][0], &cs[1][1], i, ptlen, ctlen,
			    where);
		else
			res = transport_msg(&cs[1][0], &cs[0][1], i, ptlen, ctlen,
			    where);
		if (res != PASS)
			goto out;
	}
	if (!done)
		res = failf(where, "the vector ends before the handshake does");
out:
	noise_handshake_fini(&hs[0]);
	noise_handshake_fini(&hs[1]);
	for (i = 0; i < 4; i++)
		noise_cipher_fini(&cs[i / 2][i % 2]);
	return res;
}

/* Proves that the runner can fail: a vector with a bad hex key, one with
 * no name, and a correct vector with one ciphertext bit flipped must each
 * count as failures. Returns the number of self-check failures. */
static int
self_check(json_t *sample)
{
	static const char *bad[] = {
	    ("{\"protocol_name\":\"Noise_NN_25519_ChaChaPoly_BLAKE2b\","
	    "\"init_ephemeral\":\"zz\",\"messages\":[{\"payload\":\"\","
	    "\"ciphertext\":\"00\"}]}"),
	    "{\"messages\":[]}",
	    ("{\"protocol_name\":\"Noise_NN_25519_ChaChaPoly_BLAKE2b\","
	    "\"messages\":\"oops\"}"),
	};
	const char *why;
	int failed = 0;

	in_self_check = true;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		json_t *v = json_loads(bad[i], 0, NULL);
		if (v == NULL || vector_run(v, "self-check", &why) != FAIL) {
			printf("SELF-CHECK FAILED: unparsable vector %zu was "
			    "not counted as a failure\n", i);
			failed++;
		}
		json_decref(v);
	}
	if (sample != NULL) {
		json_t *v = json_deep_copy(sample);
		json_t *m = json_array_get(json_object_get(v, "messages"), 0);
		char ct[2 * BUF_LEN + 1];
		const char *s = json_string_value(json_object_get(m,
		    "ciphertext"));
		if (s != NULL && strlen(s) >= 2 && strlen(s) < sizeof ct) {
			snprintf(ct, sizeof ct, "%s", s);
			ct[strlen(ct) - 1] ^= 1;	/* '0'<->'1', 'a'<->'`'... */
			if (ct[strlen(ct) - 1] == '`')
				ct[strlen(ct) - 1] = 'b';
			json_object_set_new(m, "ciphertext", json_string(ct));
		}
		if (vector_run(v, "self-check tampered", &why) != FAIL) {
			printf("SELF-CHECK FAILED: a tampered vector passed\n");
			failed++;
		}
		json_decref(v);
	}
	in_self_check = false;
	return failed;
}

/* Tallies skip reasons (a handful of distinct static strings). */
static void
why_count(const char **whys, int *whyn, int *nwhy, const char *why)
{
	for (int i = 0; i < *nwhy; i++) {
		if (whys[i] == why) {
			whyn[i]++;
			return;
		}
	}
	if (*nwhy < 8) {
		whys[*nwhy] = why;
		whyn[(*nwhy)++] = 1;
	}
}

int
main(int argc, char **argv)
{
	int passed = 0, failed = 0, skipped = 0;
	bool checked = false;

	if (sodium_init() < 0 || argc < 2) {
		fprintf(stderr, "usage: noise-vectors FILE...\n");
		printf("0 passed, 1 failed, 0 skipped\n");
		return 1;
	}
	for (int f = 1; f < argc; f++) {
		json_error_t jerr;
		json_t *root = json_load_file(argv[f], 0, &jerr), *vs;
		int p = 0, fl = 0, s = 0, nwhy = 0, whyn[8];
		const char *whys[8], *why;

		vs = json_object_get(root, "vectors");
		if (!json_is_array(vs)) {
			printf("FAIL %s: cannot parse: %s\n", argv[f],
			    root == NULL ? jerr.text : "no \"vectors\" array");
			failed++;
			json_decref(root);
			continue;
		}
		for (size_t i = 0; i < json_array_size(vs); i++) {
			json_t *v = json_array_get(vs, i);
			const char *name = vector_name(v);
			char where[256];

			snprintf(where, sizeof where, "%s #%zu %s", argv[f], i,
			    name != NULL ? name : "(no name)");
			switch (vector_run(v, where, &why)) {
			case PASS:
				p++;
				if (!checked) {
					fl += self_check(v);
					checked = true;
				}
				break;
			case FAIL: fl++; break;
			case SKIP:
				s++;
				why_count(whys, whyn, &nwhy, why);
				break;
			}
		}
		printf("%s: %d passed, %d failed, %d skipped", argv[f], p, fl,
		    s);
		for (int w = 0; w < nwhy; w++)
			printf("%s%d %s", w ? ", " : " (", whyn[w], whys[w]);
		printf("%s\n", nwhy ? ")" : "");
		passed += p;
		failed += fl;
		skipped += s;
		json_decref(root);
	}
	if (!checked) {
		printf("FAIL: no vector passed, so the self-check did not run\n");
		failed++;
	}
	printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
	return failed ? 1 : 0;
}
