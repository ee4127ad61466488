/*
 * keys.c: a node's long-term keys (keys.h): creating a node home, loading
 * and checking its key files, context-bound Ed25519 signatures, public
 * identity files and key fingerprints.
 *
 * It does not know about channels or agreements. The home layout and the
 * key file format (offset/size tables) are in docs/node-home.md; the
 * signature and fingerprint contexts are listed in docs/crypto.md.
 */
#include "crypto/keys.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/file.h"
#include "base/hex.h"

_Static_assert(KEYS_PUB_LEN == crypto_scalarmult_BYTES, "X25519 size");
_Static_assert(KEYS_PUB_LEN == crypto_sign_PUBLICKEYBYTES, "Ed25519 size");
_Static_assert(KEYS_SIG_LEN == crypto_sign_BYTES, "signature size");
_Static_assert(crypto_sign_SEEDBYTES == 32, "seed size");
_Static_assert(KEYS_FILE_LEN == 8 + 4 + 32 + 32, "key file layout");

#define CTX_LINK_FP "parley link key fingerprint v1"
#define CTX_SIGN_FP "parley signing key fingerprint v1"
#define ID_FILE_MAX 4096

static const char MAGIC_LINK[8] = { 'P', 'A', 'R', 'L', 'E', 'Y', 'L', 'K' };
static const char MAGIC_SIGN[8] = { 'P', 'A', 'R', 'L', 'E', 'Y', 'S', 'K' };

bool
keys_name_is_valid(const char *name)
{
	size_t n;

	if (name == NULL || (n = strlen(name)) == 0 || n > KEYS_NAME_MAX ||
	    name[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-'))
			return false;
	}
	return true;
}

static int
join(char out[KEYS_PATH_MAX], const char *home, const char *file)
{
	int n = snprintf(out, KEYS_PATH_MAX, "%s/%s", home, file);

	return n < 0 || n >= KEYS_PATH_MAX ? ERR_INVALID : 0;
}

/* Serialises one key file: magic, version (u32 big-endian), secret, public. */
static void
keyfile_pack(uint8_t out[KEYS_FILE_LEN], const char magic[8],
    const uint8_t secret[32], const uint8_t pub[32])
{
	memcpy(out, magic, 8);
	out[8] = 0;
	out[9] = 0;
	out[10] = 0;
	out[11] = KEYS_FILE_VERSION;
	memcpy(out + 12, secret, 32);
	memcpy(out + 44, pub, 32);
}

/*
 * Reads a key file through one descriptor (file_read_private), so that the
 * checks and the read are about the same file: ERR_PERMS when it is a
 * symbolic link, not a regular file, not ours, or group or others may
 * access it; ERR_PARSE when its size or magic is wrong, ERR_VERSION.
 */
static int
keyfile_read(const char *path, const char magic[8], uint8_t out[KEYS_FILE_LEN])
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	if ((r = file_read_private(path, KEYS_FILE_LEN, &buf, &len)) != 0)
		return r == ERR_TOO_BIG ? ERR_PARSE : r;
	if (len != KEYS_FILE_LEN)
		r = ERR_PARSE;
	else if (memcmp(buf, magic, 8) != 0)
		r = ERR_PARSE;
	else if (buf[8] || buf[9] || buf[10] || buf[11] != KEYS_FILE_VERSION)
		r = ERR_VERSION;
	else
		memcpy(out, buf, KEYS_FILE_LEN);
	sodium_memzero(buf, len);
	free(buf);
	if (r != 0)
		sodium_memzero(out, KEYS_FILE_LEN);
	return r;
}

static bool
node_files_exist(const char *home)
{
	static const char *files[] = { KEYS_LINK_FILE, KEYS_SIGN_FILE,
		KEYS_ID_FILE };
	char p[KEYS_PATH_MAX];

	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
		if (join(p, home, files[i]) == 0 && access(p, F_OK) == 0)
			return true;
	return false;
}

/* ERR_PERMS unless the directory open as fd is ours and closed to writes
 * by group and others (strict: also to any access by them). */
static int
home_check_fd(int fd, bool strict)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return ERR_IO;
	if (!S_ISDIR(st.st_mode))
		return ERR_EXISTS;
	if (st.st_uid != geteuid() || (st.st_mode & (strict ? 077 : 022)) != 0)
		return ERR_PERMS;
	return 0;
}

/*
 * Makes home 0700 if missing (*made set), without following a symbolic
 * link planted in its place; refuses an existing home that is not ours or
 * that group or others can enter.
 */
static int
home_prepare(const char *home, bool *made)
{
	int fd, r;

	*made = false;
	if (mkdir(home, 0700) == 0) {
		*made = true;
		if ((fd = open(home, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC)) < 0)
			return ERR_IO;
		r = fchmod(fd, 0700) == 0 ? home_check_fd(fd, true) : ERR_IO;
		close(fd);
		return r;
	}
	if (errno != EEXIST)
		return errno == ENOENT ? ERR_NOT_FOUND : ERR_IO;
	if ((fd = open(home, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return errno == ENOTDIR ? ERR_EXISTS : ERR_IO;
	r = home_check_fd(fd, true);
	close(fd);
	return r;
}

/* For loads: ERR_PERMS when home is not ours or group or others may write
 * it (they could swap the key files). */
static int
home_check(const char *home)
{
	int fd, r;

	if ((fd = open(home, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? ERR_NOT_FOUND :
		    errno == ENOTDIR ? ERR_PARSE : ERR_IO;
	r = home_check_fd(fd, false);
	close(fd);
	return r == ERR_EXISTS ? ERR_PARSE : r;
}

int
keys_create(const char *home, const char *name)
{
	uint8_t link_priv[32], seed[32], sk[crypto_sign_SECRETKEYBYTES];
	uint8_t file[KEYS_FILE_LEN];
	struct node_identity id;
	char plink[KEYS_PATH_MAX], psign[KEYS_PATH_MAX], pid[KEYS_PATH_MAX];
	char pch[KEYS_PATH_MAX];
	bool made_home = false, made_ch = false;
	int r, wrote = 0;

	if (!keys_name_is_valid(name))
		return ERR_INVALID;
	if ((r = join(plink, home, KEYS_LINK_FILE)) != 0 ||
	    (r = join(psign, home, KEYS_SIGN_FILE)) != 0 ||
	    (r = join(pid, home, KEYS_ID_FILE)) != 0 ||
	    (r = join(pch, home, KEYS_CHANNELS_DIR)) != 0)
		return r;
	if (node_files_exist(home))
		return ERR_EXISTS;
	if ((r = home_prepare(home, &made_home)) != 0)
		goto out;

	memset(&id, 0, sizeof id);
	snprintf(id.name, sizeof id.name, "%s", name);
	randombytes_buf(link_priv, sizeof link_priv);
	crypto_scalarmult_base(id.link_pub, link_priv);
	randombytes_buf(seed, sizeof seed);
	crypto_sign_seed_keypair(id.sign_pub, sk, seed);

	keyfile_pack(file, MAGIC_LINK, link_priv, id.link_pub);
	if ((r = file_write(plink, file, sizeof file, 0600, 0)) != 0)
		goto out;
	wrote = 1;
	keyfile_pack(file, MAGIC_SIGN, seed, id.sign_pub);
	if ((r = file_write(psign, file, sizeof file, 0600, 0)) != 0)
		goto out;
	wrote = 2;
	if (mkdir(pch, 0700) == 0)
		made_ch = true;
	else if (errno != EEXIST) {
		r = ERR_IO;
		goto out;
	}
	if ((r = keys_identity_write(pid, &id)) != 0)
		goto out;
	wrote = 3;
out:
	/* Undo only what this call made: file_write(.., 0) never replaces,
	 * so a key file present before (another process's) is left alone. */
	if (r != 0 && wrote >= 1)
		unlink(plink);
	if (r != 0 && wrote >= 2)
		unlink(psign);
	if (r != 0 && made_ch)
		rmdir(pch);
	if (r != 0 && made_home)
		rmdir(home);
	sodium_memzero(link_priv, sizeof link_priv);
	sodium_memzero(seed, sizeof seed);
	sodium_memzero(sk, sizeof sk);
	sodium_memzero(file, sizeof file);
	return r;
}

static void
set_bad(char *bad, size_t cap, const char *path)
{
	if (bad != NULL && cap > 0)
		snprintf(bad, cap, "%s", path);
}

/* Loads the link key pair into k, checking the public half. */
static int
load_link(struct keys *k, const char *path, uint8_t pub[32])
{
	uint8_t file[KEYS_FILE_LEN], derived[32];
	int r;

	if ((r = keyfile_read(path, MAGIC_LINK, file)) != 0)
		return r;
	memcpy(k->link_priv, file + 12, 32);
	crypto_scalarmult_base(derived, k->link_priv);
	if (sodium_memcmp(derived, file + 44, 32) != 0)
		r = ERR_PARSE;
	memcpy(pub, derived, 32);
	sodium_memzero(file, sizeof file);
	return r;
}

/* Loads the signing key pair into k, checking the public half. */
static int
load_sign(struct keys *k, const char *path, uint8_t pub[32])
{
	uint8_t file[KEYS_FILE_LEN], derived[32];
	int r;

	if ((r = keyfile_read(path, MAGIC_SIGN, file)) != 0)
		return r;
	crypto_sign_seed_keypair(derived, k->sign_sk, file + 12);
	if (sodium_memcmp(derived, file + 44, 32) != 0)
		r = ERR_PARSE;
	memcpy(pub, derived, 32);
	sodium_memzero(file, sizeof file);
	return r;
}

int
keys_load_detail(struct keys *k, const char *home, char *bad, size_t cap)
{
	char plink[KEYS_PATH_MAX], psign[KEYS_PATH_MAX], pid[KEYS_PATH_MAX];
	uint8_t link_pub[32], sign_pub[32];
	int r;

	memset(k, 0, sizeof *k);
	set_bad(bad, cap, home);
	if ((r = join(plink, home, KEYS_LINK_FILE)) != 0 ||
	    (r = join(psign, home, KEYS_SIGN_FILE)) != 0 ||
	    (r = join(pid, home, KEYS_ID_FILE)) != 0)
		return r;
	if ((r = home_check(home)) != 0)
		return r;
	k->link_priv = sodium_malloc(32);
	k->sign_sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
	if (k->link_priv == NULL || k->sign_sk == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	set_bad(bad, cap, plink);
	if ((r = load_link(k, plink, link_pub)) != 0)
		goto out;
	set_bad(bad, cap, psign);
	if ((r = load_sign(k, psign, sign_pub)) != 0)
		goto out;
	set_bad(bad, cap, pid);
	if ((r = keys_identity_read(pid, &k->id)) != 0)
		goto out;
	if (memcmp(k->id.link_pub, link_pub, 32) != 0 ||
	    memcmp(k->id.sign_pub, sign_pub, 32) != 0) {
		r = ERR_PARSE;
		goto out;
	}
	set_bad(bad, cap, "");
out:
	if (r != 0)
		keys_fini(k);
	return r;
}

int
keys_load(struct keys *k, const char *home)
{
	return keys_load_detail(k, home, NULL, 0);
}

void
keys_fini(struct keys *k)
{
	if (k == NULL)
		return;
	sodium_free(k->link_priv);	/* wipes */
	sodium_free(k->sign_sk);
	k->link_priv = NULL;
	k->sign_sk = NULL;
}

/* Builds ctx || 0x00 || msg in a new buffer (caller frees). */
static uint8_t *
framed(const char *ctx, const uint8_t *msg, size_t len, size_t *out_len)
{
	size_t cl = strlen(ctx);
	uint8_t *buf;

	if (len > SIZE_MAX - cl - 1 || (buf = malloc(cl + 1 + len)) == NULL)
		return NULL;
	memcpy(buf, ctx, cl);
	buf[cl] = 0;
	if (len)
		memcpy(buf + cl + 1, msg, len);
	*out_len = cl + 1 + len;
	return buf;
}

int
keys_sign(const struct keys *k, const char *ctx, const uint8_t *msg,
    size_t len, uint8_t sig[KEYS_SIG_LEN])
{
	uint8_t *buf;
	size_t n;

	if (k->sign_sk == NULL)
		return ERR_STATE;
	if ((buf = framed(ctx, msg, len, &n)) == NULL)
		return ERR_NOMEM;
	crypto_sign_detached(sig, NULL, buf, n, k->sign_sk);
	free(buf);
	return 0;
}

int
keys_verify(const uint8_t pub[KEYS_PUB_LEN], const char *ctx,
    const uint8_t *msg, size_t len, const uint8_t sig[KEYS_SIG_LEN])
{
	uint8_t *buf;
	size_t n;
	int ok;

	if ((buf = framed(ctx, msg, len, &n)) == NULL)
		return ERR_NOMEM;
	ok = crypto_sign_verify_detached(sig, buf, n, pub);
	free(buf);
	return ok == 0 ? 0 : ERR_SIGNATURE;
}

const uint8_t *
keys_link_private(const struct keys *k)
{
	return k->link_priv;
}

int
keys_identity_write(const char *path, const struct node_identity *id)
{
	char link[2 * KEYS_PUB_LEN + 1], sign[2 * KEYS_PUB_LEN + 1];
	json_t *o;
	char *s;
	int r;

	if (!keys_name_is_valid(id->name))
		return ERR_INVALID;
	hex_encode(link, id->link_pub, KEYS_PUB_LEN);
	hex_encode(sign, id->sign_pub, KEYS_PUB_LEN);
	o = json_pack("{s:i, s:s, s:s, s:s}", "version", KEYS_FILE_VERSION,
	    "name", id->name, "link_key", link, "sign_key", sign);
	if (o == NULL)
		return ERR_NOMEM;
	s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (s == NULL)
		return ERR_NOMEM;
	size_t n = strlen(s);
	s[n] = '\n';	/* the NUL becomes the file's last newline */
	/* never replaces: an export must not destroy a file (a key) */
	r = file_write(path, (const uint8_t *)s, n + 1, 0644, 0);
	free(s);
	return r;
}

/* ERR_INVALID for keys that no honest key generation produces. */
static int
check_public_keys(const struct node_identity *id)
{
	static const uint8_t probe[32] = { 9, 1, 2, 3 };
	uint8_t out[32];

	if (crypto_core_ed25519_is_valid_point(id->sign_pub) != 1)
		return ERR_INVALID;
	/* -1 for low-order X25519 points */
	if (crypto_scalarmult(out, probe, id->link_pub) != 0)
		return ERR_INVALID;
	return 0;
}

int
keys_identity_read(const char *path, struct node_identity *id)
{
	const char *name = NULL, *link = NULL, *sign = NULL;
	json_int_t version = 0;
	json_error_t jerr;
	json_t *o = NULL;
	uint8_t *buf = NULL;
	size_t len;
	int r;

	memset(id, 0, sizeof *id);
	if ((r = file_read(path, ID_FILE_MAX, &buf, &len)) != 0)
		return r;
	if ((o = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES,
	    &jerr)) == NULL || !json_is_object(o)) {
		r = ERR_PARSE;
		goto out;
	}
	if (json_unpack(o, "{s:I, s:s, s:s, s:s !}", "version", &version,
	    "name", &name, "link_key", &link, "sign_key", &sign) != 0) {
		r = ERR_PARSE;
		goto out;
	}
	if (version != KEYS_FILE_VERSION) {
		r = ERR_VERSION;
		goto out;
	}
	if (!keys_name_is_valid(name)) {
		r = ERR_INVALID;
		goto out;
	}
	snprintf(id->name, sizeof id->name, "%s", name);
	if (hex_decode(id->link_pub, KEYS_PUB_LEN, link) != 0 ||
	    hex_decode(id->sign_pub, KEYS_PUB_LEN, sign) != 0) {
		r = ERR_PARSE;
		goto out;
	}
	r = check_public_keys(id);
out:
	json_decref(o);
	free(buf);
	if (r != 0)
		memset(id, 0, sizeof *id);
	return r;
}

void
keys_fingerprint_link(const struct node_identity *id,
    char out[FINGERPRINT_STR_LEN])
{
	hash_fingerprint(out, CTX_LINK_FP, id->link_pub, KEYS_PUB_LEN);
}

void
keys_fingerprint_sign(const struct node_identity *id,
    char out[FINGERPRINT_STR_LEN])
{
	hash_fingerprint(out, CTX_SIGN_FP, id->sign_pub, KEYS_PUB_LEN);
}
