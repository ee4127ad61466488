/* test_ahead.c: the sent-ahead note (store/ahead.h, docs/store.md "The
 * sent-ahead note"): what is put is read back after a reopen, the file's
 * layout and mode, a damaged file and a torn slot read as unknown (never
 * as "nothing sent"), and the slots' cap. And the node's run (store/run.h,
 * HOME/run), kept beside it: each start's is above the last. */
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../harness.h"
#include "store/ahead.h"
#include "store/run.h"

static char home[] = "/tmp/parley-test-ahead-XXXXXX";
static char file[sizeof home + 32];

static void
channel(uint8_t id[STORE_ID_LEN], unsigned n)
{
	memset(id, 0, STORE_ID_LEN);
	id[0] = 0xc0;
	id[30] = (uint8_t)(n >> 8);
	id[31] = (uint8_t)n;
}

static struct store_ahead *
reopen(struct store_ahead *a, bool *damaged)
{
	struct store_ahead *b = NULL;

	store_ahead_close(a);
	CHECK_INT(store_ahead_open(home, &b, damaged), 0);
	return b;
}

/* Overwrites n bytes of the file at off. */
static void
poke(off_t off, const void *b, size_t n)
{
	int fd = open(file, O_WRONLY);

	CHECK(fd >= 0);
	CHECK_INT(pwrite(fd, b, n, off), (long long)n);
	close(fd);
}

/* Closes a, overwrites n bytes of the file at off, and opens it again:
 * the open must say the file is damaged. */
static struct store_ahead *
damage(struct store_ahead *a, off_t off, const void *b, size_t n)
{
	bool damaged = false;

	store_ahead_close(a);
	poke(off, b, n);
	a = NULL;
	CHECK_INT(store_ahead_open(home, &a, &damaged), 0);
	CHECK(damaged);
	return a;
}

/*
 * Each start's run is above the last, whatever the clock: the clock's
 * milliseconds on a first start and when it went forward, the last run
 * plus one when it stepped back. The file is the documented line, mode
 * 0600. A damaged file is ERR_PARSE, the run the clock's, and the file
 * is written afresh.
 */
static void
test_run_next(void)
{
	char path[sizeof home + 8], got[64] = "";
	uint64_t run = 0;
	struct stat st;
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", home, STORE_RUN_FILE);
	CHECK_INT(store_run_next(home, 5000, &run), 0);
	CHECK(run == 5000);
	CHECK_INT(store_run_next(home, 9000, &run), 0);
	CHECK(run == 9000);
	CHECK_INT(store_run_next(home, 100, &run), 0);	/* stepped back */
	CHECK(run == 9001);
	CHECK_INT(store_run_next(home, 100, &run), 0);
	CHECK(run == 9002);
	CHECK_INT(stat(path, &st), 0);
	CHECK_INT(st.st_mode & 0777, 0600);
	if ((f = fopen(path, "r")) != NULL) {
		CHECK(fgets(got, sizeof got, f) != NULL);
		fclose(f);
	}
	CHECK_STR(got, "parley-run v1 9002\n");
	if ((f = fopen(path, "w")) != NULL) {
		fputs("parley-run v1 12x4\n", f);
		fclose(f);
	}
	CHECK_INT(store_run_next(home, 200, &run), ERR_PARSE);
	CHECK(run == 200);
	CHECK_INT(store_run_next(home, 150, &run), 0);	/* written afresh */
	CHECK(run == 201);
	/* the top of the range reads back; one past it is damaged */
	if ((f = fopen(path, "w")) != NULL) {
		fputs("parley-run v1 9223372036854775806\n", f);
		fclose(f);
	}
	CHECK_INT(store_run_next(home, 300, &run), 0);
	CHECK(run == 9223372036854775807ull);
	CHECK_INT(store_run_next(home, 300, &run), 0);
	CHECK(run == 9223372036854775807ull);
	if ((f = fopen(path, "w")) != NULL) {
		fputs("parley-run v1 9223372036854775808\n", f);
		fclose(f);
	}
	CHECK_INT(store_run_next(home, 300, &run), ERR_PARSE);
	unlink(path);
}

static void
test_put_reopen_get(void)
{
	struct store_ahead *a = NULL;
	uint8_t c1[STORE_ID_LEN], c2[STORE_ID_LEN], b[16];
	struct stat st;
	bool damaged = true;
	int fd;

	channel(c1, 1);
	channel(c2, 2);
	CHECK_INT(store_ahead_open(home, &a, &damaged), 0);
	CHECK(!damaged);
	CHECK_INT(store_ahead_get(a, c1), 0);	/* a fresh file */
	CHECK_INT(stat(file, &st), 0);
	CHECK_INT(st.st_mode & 0777, 0600);
	CHECK_INT(store_ahead_put(a, c1, 7), 0);
	CHECK_INT(store_ahead_put(a, c2, 1ull << 40), 0);
	CHECK_INT(store_ahead_put(a, c1, 9), 0);	/* its own slot */
	CHECK_INT(store_ahead_sync(a), 0);
	CHECK_INT(store_ahead_get(a, c1), 9);
	a = reopen(a, &damaged);
	CHECK(!damaged);
	CHECK_INT(store_ahead_get(a, c1), 9);
	CHECK(store_ahead_get(a, c2) == 1ull << 40);
	/* the layout of docs/store.md: magic, then 64-byte slots */
	CHECK_INT(stat(file, &st), 0);
	CHECK_INT(st.st_size, 64 + 2 * 64);
	fd = open(file, O_RDONLY);
	CHECK_INT(pread(fd, b, 16, 0), 16);
	CHECK_MEM(b, "parley-ahead v1\n", 16);
	CHECK_INT(pread(fd, b, 16, 16), 16);
	CHECK(sodium_is_zero(b, 16));
	CHECK_INT(pread(fd, b, 8, 64 + 32), 8);
	CHECK_MEM(b, "\0\0\0\0\0\0\0\x09", 8);
	close(fd);
	store_ahead_close(a);
	unlink(file);
}

static void
test_damage_reads_unknown(void)
{
	struct store_ahead *a = NULL;
	uint8_t c1[STORE_ID_LEN], c2[STORE_ID_LEN], c3[STORE_ID_LEN];
	uint8_t x = 0x55;
	bool damaged = false;

	channel(c1, 1);
	channel(c2, 2);
	channel(c3, 3);
	CHECK_INT(store_ahead_open(home, &a, NULL), 0);
	CHECK_INT(store_ahead_put(a, c1, 5), 0);
	CHECK_INT(store_ahead_put(a, c2, 6), 0);
	/* slot 1 torn (its seq's last byte): c2 and any channel without a
	 * slot of its own read as unknown, c1 as noted */
	a = damage(a, 64 + 64 + 39, &x, 1);
	CHECK_INT(store_ahead_get(a, c1), 5);
	CHECK(store_ahead_get(a, c2) == STORE_AHEAD_UNKNOWN);
	CHECK(store_ahead_get(a, c3) == STORE_AHEAD_UNKNOWN);
	/* a new note takes the torn slot's place */
	CHECK_INT(store_ahead_put(a, c3, 2), 0);
	a = reopen(a, &damaged);
	CHECK(!damaged);
	CHECK_INT(store_ahead_get(a, c3), 2);
	CHECK_INT(store_ahead_get(a, c2), 0);
	CHECK_INT(store_ahead_get(a, c1), 5);
	/* a wrong magic: the whole file is unknown, then written afresh */
	a = damage(a, 0, "X", 1);
	CHECK(store_ahead_get(a, c1) == STORE_AHEAD_UNKNOWN);
	CHECK_INT(store_ahead_put(a, c2, 8), 0);
	a = reopen(a, &damaged);
	CHECK(!damaged);
	CHECK_INT(store_ahead_get(a, c2), 8);
	CHECK_INT(store_ahead_get(a, c1), 0);
	/* a head that is not all magic and zeros */
	a = damage(a, 40, "Y", 1);
	CHECK(store_ahead_get(a, c2) == STORE_AHEAD_UNKNOWN);
	CHECK_INT(store_ahead_put(a, c2, 8), 0);
	a = reopen(a, &damaged);
	CHECK(!damaged);
	/* a size that is no whole number of slots */
	a = damage(a, 64 + 64 + 5, "", 1);
	CHECK(store_ahead_get(a, c2) == STORE_AHEAD_UNKNOWN);
	store_ahead_close(a);
	unlink(file);
}

/* An all-zero slot (the file grew, its write lost to a power cut) is no
 * free slot: a channel without an intact slot of its own is unknown. */
static void
test_zero_slot_unknown(void)
{
	struct store_ahead *a = NULL;
	uint8_t c1[STORE_ID_LEN], c2[STORE_ID_LEN], zero[64] = { 0 };

	channel(c1, 1);
	channel(c2, 2);
	CHECK_INT(store_ahead_open(home, &a, NULL), 0);
	CHECK_INT(store_ahead_put(a, c1, 3), 0);
	a = damage(a, 64 + 64, zero, sizeof zero);
	CHECK_INT(store_ahead_get(a, c1), 3);
	CHECK(store_ahead_get(a, c2) == STORE_AHEAD_UNKNOWN);
	store_ahead_close(a);
	unlink(file);
}

static void
test_slots_full(void)
{
	struct store_ahead *a = NULL;
	uint8_t c[STORE_ID_LEN];
	bool damaged = true;

	CHECK_INT(store_ahead_open(home, &a, NULL), 0);
	for (unsigned i = 0; i < STORE_AHEAD_SLOTS; i++) {
		channel(c, i);
		CHECK_INT(store_ahead_put(a, c, i + 1), 0);
	}
	channel(c, STORE_AHEAD_SLOTS);
	CHECK_INT(store_ahead_put(a, c, 1), ERR_FULL);
	channel(c, 17);
	CHECK_INT(store_ahead_put(a, c, 100), 0);	/* its own: fine */
	a = reopen(a, &damaged);
	CHECK(!damaged);
	CHECK_INT(store_ahead_get(a, c), 100);
	channel(c, STORE_AHEAD_SLOTS - 1);
	CHECK_INT(store_ahead_get(a, c), STORE_AHEAD_SLOTS);
	/* at a start with only channels 17 and 3 installed, the others'
	 * slots are taken by new channels: the file never runs out while
	 * at most 256 are installed at once */
	{
		uint8_t keep[2][STORE_ID_LEN];
		channel(keep[0], 17);
		channel(keep[1], 3);
		store_ahead_release_others(a,
		    (const uint8_t (*)[STORE_ID_LEN])keep, 2);
		CHECK_INT(store_ahead_get(a, c), 0);	/* forgotten */
		for (unsigned i = 0; i < STORE_AHEAD_SLOTS - 2; i++) {
			channel(c, 1000 + i);
			CHECK_INT(store_ahead_put(a, c, 5), 0);
		}
		channel(c, 5000);
		CHECK_INT(store_ahead_put(a, c, 5), ERR_FULL);
		a = reopen(a, &damaged);
		CHECK(!damaged);
		CHECK_INT(store_ahead_get(a, keep[0]), 100);
		CHECK_INT(store_ahead_get(a, keep[1]), 4);
		channel(c, 1000 + STORE_AHEAD_SLOTS - 3);
		CHECK_INT(store_ahead_get(a, c), 5);
		channel(c, 40);				/* taken over */
		CHECK_INT(store_ahead_get(a, c), 0);
	}
	store_ahead_close(a);
	unlink(file);
}

int
main(void)
{
	if (sodium_init() < 0 || mkdtemp(home) == NULL)
		return 1;
	snprintf(file, sizeof file, "%s/%s", home, STORE_AHEAD_FILE);
	RUN(test_put_reopen_get);
	RUN(test_damage_reads_unknown);
	RUN(test_zero_slot_unknown);
	RUN(test_slots_full);
	RUN(test_run_next);
	unlink(file);
	rmdir(home);
	return harness_summary();
}
