/*
 * it_show.c: `parley show --file` and `parley verify --file` on export
 * files made here (no daemon): what a person reads holds no control
 * character from a body; a file that cannot be one (a directory, none,
 * empty, a FIFO) is named with what is wrong.
 *
 * Temporary directory under /tmp, removed at the end.
 */
#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "../harness.h"
#include "base/file.h"
#include "msg/export.h"
#include "../export_build.h"
#include "sh_util.h"

static char tmpdir[] = "/tmp/parley-it-show-XXXXXX";
static struct keys kp[2];
static uint8_t channel[32];

/* Appends to party i's chain of rec a text message with body text. */
static void
add(struct export_record *rec, uint8_t i, const char *text)
{
	export_build_msg(rec, channel, i, NULL, (const uint8_t *)text,
	    strlen(text));
}

/* A head of party i over its chain's message at seq. */
static void
head(struct export_record *rec, uint8_t i, uint64_t seq)
{
	export_build_head(rec, channel, &kp[i], i, seq);
}

/* Writes rec to tmpdir/name. */
static void
write_file(const struct export_record *rec, const char *name)
{
	char path[200];
	uint8_t *buf;
	size_t len;

	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	CHECK_INT(export_encode(rec, &buf, &len), 0);
	CHECK_INT(file_write(path, buf, len, 0600, 0), 0);
	free(buf);
}

/* A body with terminal control sequences (valid UTF-8: a sender can
 * sign it): show --file prints them escaped, never as they are. */
static void
test_body_escapes(void)
{
	struct export_record rec;

	export_build_start(&rec, channel, kp);
	add(&rec, 0, "esc-\x1b[8m-hidden\x1b]0;title\x07-end");
	add(&rec, 0, "line one\nline two \xc2\x9b" "2J");
	head(&rec, 0, 2);
	add(&rec, 1, "plain reply");
	head(&rec, 1, 1);
	write_file(&rec, "esc.px");
	export_record_fini(&rec);
	CHECK_INT(sh("%s/parley show --file %s/esc.px", build, tmpdir), 0);
	CHECK(strchr(out, 0x1b) == NULL);
	CHECK(strchr(out, 0x07) == NULL);
	CHECK(strstr(out, "\xc2\x9b") == NULL);
	CHECK_CONTAINS(out, "esc-\\x1b[8m-hidden\\x1b]0;title\\x07-end");
	CHECK_CONTAINS(out, "line one\n    line two \\u{009b}2J");
	CHECK_CONTAINS(out, "plain reply");
	CHECK_CONTAINS(out, "verified: 2 heads");
}

/* A message past the last signed head (anyone could have appended it:
 * only its link holds it) is marked so where a person reads it; and both
 * outputs show the signing keys' fingerprints, which the reader compares
 * with those the officers read aloud (parley id): a file made with other
 * keys verifies, and only they tell it. */
static void
test_unsigned_and_keys(void)
{
	struct export_record rec;
	struct node_identity id;
	char fp[2][FINGERPRINT_STR_LEN];
	const char *p;

	for (int i = 0; i < 2; i++) {
		memset(&id, 0, sizeof id);
		memcpy(id.sign_pub, kp[i].id.sign_pub, 32);
		keys_fingerprint_sign(&id, fp[i]);
	}
	export_build_start(&rec, channel, kp);
	add(&rec, 0, "signed-one");
	head(&rec, 0, 1);
	add(&rec, 0, "appended-by-anyone");
	add(&rec, 1, "signed-reply");
	head(&rec, 1, 1);
	write_file(&rec, "tail.px");
	export_record_fini(&rec);
	CHECK_INT(sh("%s/parley show --file %s/tail.px", build, tmpdir), 0);
	CHECK_CONTAINS(out, fp[0]);
	CHECK_CONTAINS(out, fp[1]);
	p = strstr(out, "NOT SIGNED");
	CHECK(p != NULL && strstr(p + 1, "NOT SIGNED") == NULL);
	if (p != NULL) {
		CHECK(strstr(out, "signed-one") < p);
		CHECK(strstr(p, "appended-by-anyone") != NULL);
		CHECK(strstr(p, "signed-reply") != NULL);
		CHECK(strstr(out, "north #2") < p);
	}
	CHECK_INT(sh("%s/parley verify --file %s/tail.px", build, tmpdir), 0);
	CHECK_CONTAINS(out, "1 past the last signed head");
	CHECK_CONTAINS(out, fp[0]);
	CHECK_CONTAINS(out, fp[1]);
}

/* `parley CMD --file TMP/FILE` exits rc and says exactly
 * "parley CMD: TMP/FILE" then rest. */
static void
file_refused(const char *cmd, const char *file, int rc, const char *rest)
{
	char want[300];

	CHECK_INT(sh("%s/parley %s --file %s/%s", build, cmd, tmpdir, file),
	    rc);
	snprintf(want, sizeof want, "parley %s: %s/%s%s", cmd, tmpdir, file,
	    rest);
	CHECK_STR(out, want);
}

/* A file that cannot be an export (a directory, none, an empty one, a
 * FIFO) is named with what is wrong, never as "input/output error". */
static void
test_file_errors(void)
{
	char loop[200];

	CHECK_INT(sh("mkdir %s/dir.px && : > %s/empty.px && mkfifo "
	    "%s/fifo.px", tmpdir, tmpdir, tmpdir), 0);
	file_refused("verify", "dir.px", 2, " is a directory, not an export "
	    "file\n");
	file_refused("show", "dir.px", 1, " is a directory, not an export "
	    "file\n");
	file_refused("verify", "none.px", 2, ": no such file\n");
	file_refused("verify", "empty.px", 2, " is empty (0 bytes), not an "
	    "export file\n");
	file_refused("verify", "fifo.px", 2, " is not a regular file (a FIFO,"
	    " device or socket), not an export file\n");
	/* what stat cannot say either (a symlink loop): as documented,
	 * "FILE: cannot read it: REASON" */
	CHECK_INT(sh("ln -s loop.px %s/loop.px", tmpdir), 0);
	snprintf(loop, sizeof loop, ": cannot read it: %s\n",
	    strerror(ELOOP));
	file_refused("verify", "loop.px", 2, loop);
}

int
main(void)
{
	if (sodium_init() < 0 || !build_from_env())
		return 1;
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	for (int i = 0; i < 2; i++) {
		kp[i].sign_sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
		if (kp[i].sign_sk == NULL)
			return 1;
		crypto_sign_keypair(kp[i].id.sign_pub, kp[i].sign_sk);
	}
	memset(channel, 0xc4, sizeof channel);
	RUN(test_body_escapes);
	RUN(test_unsigned_and_keys);
	RUN(test_file_errors);
	keys_fini(&kp[0]);
	keys_fini(&kp[1]);
	if (harness_failed == 0 && sh("rm -rf %s", tmpdir) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return harness_summary();
}
