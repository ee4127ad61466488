/* test_keys.c: node homes, key files and their modes, signatures with
 * contexts, identity files, fingerprints (keys.h). */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sodium.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../harness.h"
#include "base/file.h"
#include "crypto/keys.h"

static char tmpdir[] = "/tmp/parley-test-keys-XXXXXX";

static void
path_in(char out[KEYS_PATH_MAX], const char *sub, const char *file)
{
	if (file)
		snprintf(out, KEYS_PATH_MAX, "%s/%s/%s", tmpdir, sub, file);
	else
		snprintf(out, KEYS_PATH_MAX, "%s/%s", tmpdir, sub);
}

static unsigned
mode_of(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return 07777;
	return (unsigned)(st.st_mode & 07777);
}

/* Creates node name in tmpdir/sub and loads it into k. */
static int
make_node(const char *sub, const char *name, struct keys *k)
{
	char home[KEYS_PATH_MAX];
	int r;

	path_in(home, sub, NULL);
	if ((r = keys_create(home, name)) != 0)
		return r;
	return keys_load(k, home);
}

static void
test_names(void)
{
	CHECK(keys_name_is_valid("north"));
	CHECK(keys_name_is_valid("a"));
	CHECK(keys_name_is_valid("isle-2"));
	CHECK(keys_name_is_valid("abcdefghijklmnopqrstuvwxyz012345"));
	CHECK(!keys_name_is_valid("abcdefghijklmnopqrstuvwxyz0123456"));
	CHECK(!keys_name_is_valid(""));
	CHECK(!keys_name_is_valid("-north"));
	CHECK(!keys_name_is_valid("North"));
	CHECK(!keys_name_is_valid("no rth"));
	CHECK(!keys_name_is_valid("north/.."));
	CHECK(!keys_name_is_valid(NULL));
}

static void
test_create_load_round_trip(void)
{
	char home[KEYS_PATH_MAX], p[KEYS_PATH_MAX];
	struct keys k, k2;
	uint8_t derived[32];

	CHECK_INT(make_node("rt", "north", &k), 0);
	path_in(home, "rt", NULL);
	CHECK_INT(mode_of(home), 0700);
	path_in(p, "rt", KEYS_LINK_FILE);
	CHECK_INT(mode_of(p), 0600);
	path_in(p, "rt", KEYS_SIGN_FILE);
	CHECK_INT(mode_of(p), 0600);
	path_in(p, "rt", KEYS_ID_FILE);
	CHECK_INT(mode_of(p), 0644);
	path_in(p, "rt", KEYS_CHANNELS_DIR);
	CHECK_INT(mode_of(p), 0700);
	CHECK_STR(k.id.name, "north");
	crypto_scalarmult_base(derived, keys_link_private(&k));
	CHECK_MEM(derived, k.id.link_pub, 32);
	CHECK_INT(keys_load(&k2, home), 0);
	CHECK_MEM(k2.id.link_pub, k.id.link_pub, 32);
	CHECK_MEM(k2.id.sign_pub, k.id.sign_pub, 32);
	CHECK_MEM(k2.link_priv, k.link_priv, 32);
	CHECK_MEM(k2.sign_sk, k.sign_sk, 64);
	/* an existing node is never overwritten */
	CHECK_INT(keys_create(home, "north"), ERR_EXISTS);
	CHECK_INT(keys_create(home, "south"), ERR_EXISTS);
	path_in(p, "bad", NULL);
	CHECK_INT(keys_create(p, "No"), ERR_INVALID);
	CHECK_INT(access(p, F_OK), -1);
	path_in(p, "missing", NULL);
	CHECK_INT(keys_load(&k2, p), ERR_NOT_FOUND);
	CHECK(k2.link_priv == NULL && k2.sign_sk == NULL);
	keys_fini(&k);
	keys_fini(&k2);
	keys_fini(&k2);	/* twice is harmless */
}

static void
test_create_home_rules(void)
{
	char p[KEYS_PATH_MAX], f[KEYS_PATH_MAX];
	struct keys k;

	/* an existing empty home of mode 0700 is used */
	path_in(p, "empty", NULL);
	CHECK_INT(mkdir(p, 0700), 0);
	CHECK_INT(keys_create(p, "north"), 0);
	CHECK_INT(keys_load(&k, p), 0);
	keys_fini(&k);
	/* an existing home others can enter is refused, and left as it was */
	path_in(p, "open", NULL);
	CHECK_INT(mkdir(p, 0755), 0);
	CHECK_INT(chmod(p, 0755), 0);
	CHECK_INT(keys_create(p, "north"), ERR_PERMS);
	path_in(f, "open", KEYS_LINK_FILE);
	CHECK_INT(access(f, F_OK), -1);
	CHECK_INT(mode_of(p), 0755);
	/* a missing parent is not created */
	path_in(p, "no/such", NULL);
	CHECK_INT(keys_create(p, "north"), ERR_NOT_FOUND);
	/* a regular file in the way */
	path_in(p, "file", NULL);
	CHECK_INT(file_write(p, (const uint8_t *)"x", 1, 0600, 0), 0);
	CHECK_INT(keys_create(p, "north"), ERR_EXISTS);
}

/* An export never replaces a file: above all not a key (review finding 1). */
static void
test_export_never_overwrites(void)
{
	char home[KEYS_PATH_MAX], p[KEYS_PATH_MAX];
	uint8_t *before, *after;
	size_t n1, n2;
	struct keys k;

	CHECK_INT(make_node("exp", "north", &k), 0);
	path_in(home, "exp", NULL);
	path_in(p, "exp", KEYS_LINK_FILE);
	CHECK_INT(file_read(p, 4096, &before, &n1), 0);
	CHECK_INT(keys_identity_write(p, &k.id), ERR_EXISTS);
	CHECK_INT(file_read(p, 4096, &after, &n2), 0);
	CHECK_INT(n1, n2);
	CHECK(n1 == n2 && memcmp(before, after, n1) == 0);
	CHECK_INT(mode_of(p), 0600);
	free(before);
	free(after);
	keys_fini(&k);
	CHECK_INT(keys_load(&k, home), 0);
	keys_fini(&k);
}

/* Key files and homes that are not ours, homes others may write, key files
 * that are symbolic links or FIFOs (review findings 5, 6, 7). */
static void
test_owner_and_file_kinds(void)
{
	char home[KEYS_PATH_MAX], p[KEYS_PATH_MAX], q[KEYS_PATH_MAX];
	char bad[KEYS_PATH_MAX];
	struct keys k;

	CHECK_INT(make_node("own", "south", &k), 0);
	keys_fini(&k);
	path_in(home, "own", NULL);
	path_in(p, "own", KEYS_SIGN_FILE);
	/* a home group or others may write is refused; 0750/0755 are not */
	CHECK_INT(chmod(home, 0770), 0);
	CHECK_INT(keys_load_detail(&k, home, bad, sizeof bad), ERR_PERMS);
	CHECK_STR(bad, home);
	CHECK_INT(chmod(home, 0702), 0);
	CHECK_INT(keys_load(&k, home), ERR_PERMS);
	CHECK_INT(chmod(home, 0755), 0);
	CHECK_INT(keys_load(&k, home), 0);
	keys_fini(&k);
	CHECK_INT(chmod(home, 0700), 0);
	if (geteuid() == 0) {	/* chown needs root: CI runs as root */
		CHECK_INT(chown(p, 65534, 65534), 0);
		CHECK_INT(keys_load_detail(&k, home, bad, sizeof bad),
		    ERR_PERMS);
		CHECK_STR(bad, p);
		CHECK_INT(chown(p, 0, 0), 0);
		CHECK_INT(chown(home, 65534, 65534), 0);
		CHECK_INT(keys_load_detail(&k, home, bad, sizeof bad),
		    ERR_PERMS);
		CHECK_STR(bad, home);
		CHECK_INT(chown(home, 0, 0), 0);
	}
	CHECK_INT(keys_load(&k, home), 0);
	keys_fini(&k);
	/* a symbolic link to a good key file */
	path_in(q, "own", "sign.real");
	CHECK_INT(rename(p, q), 0);
	CHECK_INT(symlink(q, p), 0);
	CHECK_INT(keys_load(&k, home), ERR_PERMS);
	CHECK_INT(unlink(p), 0);
	/* a FIFO must not hang the load */
	CHECK_INT(mkfifo(p, 0600), 0);
	alarm(5);
	CHECK_INT(keys_load(&k, home), ERR_PERMS);
	alarm(0);
	CHECK_INT(unlink(p), 0);
	CHECK_INT(rename(q, p), 0);
	CHECK_INT(keys_load(&k, home), 0);
	keys_fini(&k);
}

/* init never follows a symbolic link planted as the home, and a failed init
 * removes what it created (home, channels/) but nothing else. */
static void
test_create_symlink_and_cleanup(void)
{
	char p[KEYS_PATH_MAX], target[KEYS_PATH_MAX], f[KEYS_PATH_MAX];

	path_in(target, "target", NULL);
	CHECK_INT(mkdir(target, 0755), 0);
	CHECK_INT(chmod(target, 0755), 0);
	path_in(p, "planted", NULL);
	CHECK_INT(symlink(target, p), 0);
	CHECK(keys_create(p, "north") != 0);
	CHECK_INT(mode_of(target), 0755);	/* not chmod'ed through it */
	path_in(f, "target", KEYS_LINK_FILE);
	CHECK_INT(access(f, F_OK), -1);
	/* a failure half-way: identity.json cannot be written because a
	 * directory sits at its name; init undoes only its own work */
	path_in(p, "half", NULL);
	path_in(f, "half", KEYS_ID_FILE);
	CHECK_INT(mkdir(p, 0700), 0);
	CHECK_INT(mkdir(f, 0700), 0);
	CHECK_INT(keys_create(p, "north"), ERR_EXISTS);	/* node_files_exist */
	CHECK_INT(access(f, F_OK), 0);
	CHECK_INT(rmdir(f), 0);
	/* identity.json's name taken (by a dangling link, which access()
	 * misses) once the key files are written: they are removed again,
	 * the link is left */
	path_in(p, "half2", NULL);
	CHECK_INT(mkdir(p, 0700), 0);
	path_in(f, "half2", KEYS_ID_FILE);
	CHECK_INT(symlink("/nonexistent-parley/x", f), 0);
	CHECK_INT(keys_create(p, "north"), ERR_EXISTS);
	CHECK_INT(access(f, F_OK), -1);
	CHECK_INT(unlink(f), 0);	/* it was still there */
	path_in(f, "half2", KEYS_LINK_FILE);
	CHECK_INT(access(f, F_OK), -1);
	path_in(f, "half2", KEYS_SIGN_FILE);
	CHECK_INT(access(f, F_OK), -1);
	path_in(f, "half2", KEYS_CHANNELS_DIR);
	CHECK_INT(access(f, F_OK), -1);	/* made by this call: removed */
	CHECK_INT(access(p, F_OK), 0);	/* existed before: kept */
}

static void
test_load_refuses_open_modes(void)
{
	static const unsigned modes[] = { 0644, 0640, 0604, 0602, 0620, 0660 };
	static const char *files[] = { KEYS_LINK_FILE, KEYS_SIGN_FILE };
	char home[KEYS_PATH_MAX], p[KEYS_PATH_MAX], bad[KEYS_PATH_MAX];
	struct keys k;

	CHECK_INT(make_node("perm", "south", &k), 0);
	keys_fini(&k);
	path_in(home, "perm", NULL);
	for (size_t f = 0; f < 2; f++) {
		path_in(p, "perm", files[f]);
		for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
			CHECK_INT(chmod(p, modes[i]), 0);
			CHECK_INT(keys_load_detail(&k, home, bad, sizeof bad),
			    ERR_PERMS);
			CHECK_STR(bad, p);
			CHECK(k.link_priv == NULL && k.sign_sk == NULL);
		}
		CHECK_INT(chmod(p, 0600), 0);
		CHECK_INT(keys_load(&k, home), 0);
		keys_fini(&k);
		/* 0400 is private too */
		CHECK_INT(chmod(p, 0400), 0);
		CHECK_INT(keys_load(&k, home), 0);
		keys_fini(&k);
		CHECK_INT(chmod(p, 0600), 0);
	}
}

/* Rewrites byte off of a key file with v (keeping its mode 0600). */
static void
poke(const char *path, long off, uint8_t v)
{
	int fd = open(path, O_WRONLY);

	CHECK(fd >= 0);
	CHECK_INT(pwrite(fd, &v, 1, off), 1);
	close(fd);
}

static void
test_damaged_key_files_refused(void)
{
	char home[KEYS_PATH_MAX], p[KEYS_PATH_MAX], q[KEYS_PATH_MAX];
	uint8_t *orig;
	size_t len;
	struct keys k;

	CHECK_INT(make_node("dmg", "north", &k), 0);
	keys_fini(&k);
	path_in(home, "dmg", NULL);
	path_in(p, "dmg", KEYS_SIGN_FILE);
	CHECK_INT(file_read(p, 4096, &orig, &len), 0);
	CHECK_INT(len, KEYS_FILE_LEN);
	/* a flipped bit anywhere: magic, version, secret, public */
	static const long offs[] = { 0, 7, 11, 12, 30, 43, 44, 75 };
	for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
		poke(p, offs[i], (uint8_t)(orig[offs[i]] ^ 1));
		int r = keys_load(&k, home);
		CHECK(r == ERR_PARSE || r == ERR_VERSION);
		CHECK_INT(offs[i] == 11 ? ERR_VERSION : ERR_PARSE, r);
		poke(p, offs[i], orig[offs[i]]);
	}
	CHECK_INT(keys_load(&k, home), 0);
	keys_fini(&k);
	/* truncated */
	CHECK_INT(truncate(p, KEYS_FILE_LEN - 1), 0);
	CHECK_INT(keys_load(&k, home), ERR_PARSE);
	CHECK_INT(file_write(p, orig, len, 0600, 1), 0);
	CHECK_INT(keys_load(&k, home), 0);
	keys_fini(&k);
	/* the link key file in the signing key's place */
	path_in(q, "dmg", KEYS_LINK_FILE);
	CHECK_INT(rename(q, p), 0);
	CHECK_INT(keys_load(&k, home), ERR_NOT_FOUND);
	CHECK_INT(file_write(q, orig, len, 0600, 0), 0);	/* swapped */
	CHECK_INT(keys_load(&k, home), ERR_PARSE);
	sodium_memzero(orig, len);
	free(orig);
}

static void
test_identity_must_match_keys(void)
{
	char home[KEYS_PATH_MAX], p[KEYS_PATH_MAX];
	struct keys a, b;

	CHECK_INT(make_node("ida", "north", &a), 0);
	CHECK_INT(make_node("idb", "south", &b), 0);
	path_in(home, "ida", NULL);
	path_in(p, "ida", KEYS_ID_FILE);
	/* never replaces */
	CHECK_INT(keys_identity_write(p, &b.id), ERR_EXISTS);
	CHECK_INT(unlink(p), 0);
	CHECK_INT(keys_identity_write(p, &b.id), 0);
	keys_fini(&a);
	CHECK_INT(keys_load(&a, home), ERR_PARSE);
	keys_fini(&b);
}

static void
test_identity_files(void)
{
	char p[KEYS_PATH_MAX];
	struct node_identity id;
	struct keys k;

	CHECK_INT(make_node("idf", "isle", &k), 0);
	path_in(p, "idf", "export.id");
	CHECK_INT(keys_identity_write(p, &k.id), 0);
	CHECK_INT(keys_identity_read(p, &id), 0);
	CHECK_STR(id.name, "isle");
	CHECK_MEM(id.link_pub, k.id.link_pub, 32);
	CHECK_MEM(id.sign_pub, k.id.sign_pub, 32);

	static const struct {
		const char *text;
		int want;
	} bad[] = {
		{ "", ERR_PARSE },
		{ "[]", ERR_PARSE },
		{ "{\"version\":1,\"name\":\"isle\"}", ERR_PARSE },
		{ "{\"version\":2,\"name\":\"isle\",\"link_key\":\"00\","
		    "\"sign_key\":\"00\"}", ERR_VERSION },
		{ "{\"version\":1,\"name\":\"Isle\",\"link_key\":\"00\","
		    "\"sign_key\":\"00\"}", ERR_INVALID },
		{ "{\"version\":1,\"name\":\"isle\",\"link_key\":\"00\","
		    "\"sign_key\":\"00\"}", ERR_PARSE },
		{ "{\"version\":1,\"name\":\"isle\",\"link_key\":\"00\","
		    "\"sign_key\":\"00\",\"x\":1}", ERR_PARSE },
		/* all-zero keys: a low-order X25519 point, not an Ed25519 key */
		{ "{\"version\":1,\"name\":\"isle\",\"link_key\":\""
		    "0000000000000000000000000000000000000000000000000000000000"
		    "000000\",\"sign_key\":\""
		    "0000000000000000000000000000000000000000000000000000000000"
		    "000000\"}", ERR_INVALID },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECK_INT(file_write(p, (const uint8_t *)bad[i].text,
		    strlen(bad[i].text), 0644, 1), 0);
		CHECK_INT(keys_identity_read(p, &id), bad[i].want);
	}
	keys_fini(&k);
}

static void
test_sign_verify_contexts(void)
{
	static const uint8_t msg[] = "ceasefire at 0600";
	uint8_t sig[KEYS_SIG_LEN], sig2[KEYS_SIG_LEN];
	struct keys n, s;

	CHECK_INT(make_node("sgn", "north", &n), 0);
	CHECK_INT(make_node("sgs", "south", &s), 0);
	CHECK_INT(keys_sign(&n, "parley test v1", msg, sizeof msg, sig), 0);
	CHECK_INT(keys_verify(n.id.sign_pub, "parley test v1", msg, sizeof msg,
	    sig), 0);
	CHECK_INT(keys_verify(n.id.sign_pub, "parley test v2", msg, sizeof msg,
	    sig), ERR_SIGNATURE);
	CHECK_INT(keys_verify(n.id.sign_pub, "parley test v1", msg,
	    sizeof msg - 1, sig), ERR_SIGNATURE);
	CHECK_INT(keys_verify(s.id.sign_pub, "parley test v1", msg, sizeof msg,
	    sig), ERR_SIGNATURE);
	/* the zero byte separates context and message: "a"|"b" != "ab"|"" */
	CHECK_INT(keys_sign(&n, "a", (const uint8_t *)"b", 1, sig2), 0);
	CHECK_INT(keys_verify(n.id.sign_pub, "ab", NULL, 0, sig2),
	    ERR_SIGNATURE);
	CHECK_INT(keys_verify(n.id.sign_pub, "a", (const uint8_t *)"b", 1,
	    sig2), 0);
	/* it is plain Ed25519 over ctx || 0x00 || msg */
	uint8_t framed[64];
	memcpy(framed, "a\0b", 3);
	CHECK_INT(crypto_sign_verify_detached(sig2, framed, 3, n.id.sign_pub),
	    0);
	sig[10] ^= 1;
	CHECK_INT(keys_verify(n.id.sign_pub, "parley test v1", msg, sizeof msg,
	    sig), ERR_SIGNATURE);
	keys_fini(&n);
	keys_fini(&s);
}

static bool
fingerprint_form(const char *fp)
{
	if (strlen(fp) != FINGERPRINT_STR_LEN - 1)
		return false;
	for (int i = 0; i < FINGERPRINT_STR_LEN - 1; i++) {
		bool sep = i % 6 == 5;
		if (sep ? fp[i] != ' ' : (fp[i] < '0' || fp[i] > '9'))
			return false;
	}
	return true;
}

static void
test_fingerprints(void)
{
	char lf[FINGERPRINT_STR_LEN], sf[FINGERPRINT_STR_LEN];
	char want[FINGERPRINT_STR_LEN];
	struct keys k;

	CHECK_INT(make_node("fp", "north", &k), 0);
	keys_fingerprint_link(&k.id, lf);
	keys_fingerprint_sign(&k.id, sf);
	CHECK(fingerprint_form(lf));
	CHECK(fingerprint_form(sf));
	CHECK(strcmp(lf, sf) != 0);
	hash_fingerprint(want, "parley link key fingerprint v1", k.id.link_pub,
	    32);
	CHECK_STR(lf, want);
	hash_fingerprint(want, "parley signing key fingerprint v1",
	    k.id.sign_pub, 32);
	CHECK_STR(sf, want);
	keys_fini(&k);
}

int
main(void)
{
	char cmd[256];

	if (sodium_init() < 0 || mkdtemp(tmpdir) == NULL) {
		printf("cannot set up\n0 passed, 1 failed\n");
		return 1;
	}
	RUN(test_names);
	RUN(test_create_load_round_trip);
	RUN(test_create_home_rules);
	RUN(test_export_never_overwrites);
	RUN(test_owner_and_file_kinds);
	RUN(test_create_symlink_and_cleanup);
	RUN(test_load_refuses_open_modes);
	RUN(test_damaged_key_files_refused);
	RUN(test_identity_must_match_keys);
	RUN(test_identity_files);
	RUN(test_sign_verify_contexts);
	RUN(test_fingerprints);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		printf("warning: could not remove %s\n", tmpdir);
	return harness_summary();
}
