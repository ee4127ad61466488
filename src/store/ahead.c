/*
 * ahead.c: the sent-ahead note (ahead.h; the format in docs/store.md).
 *
 * NOTES
 * 1. The whole file is read once at open and kept in memory (at most
 *    64 + 256 * 64 bytes); each put writes its channel's slot alone, so a
 *    put costs one pwrite into the page cache.
 * 2. A slot is 64 bytes at offset 64 + 64 k: a pwrite of it never crosses
 *    a page (nor a 512-byte sector), so a killed process leaves it whole;
 *    the check catches a slot torn by a power cut, which is then read as
 *    unknown (a fence by time, the safe side).
 * 3. A damaged file is written afresh (its head, then each slot as it is
 *    put) at the first put; until then its channels read as unknown.
 * 4. Whatever cannot be read for sure (a read error, a short or odd size,
 *    another head, an all-zero slot: the writer never writes one, so it
 *    is a write a power cut lost) is damaged, never "nothing noted".
 */
#include "store/ahead.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "parley-ahead v1\n"	/* then zeros to HEAD_LEN */
#define MAGIC_LEN 16
#define HEAD_LEN 64
#define SLOT_LEN 64
#define CHECK_LEN 16

struct slot {
	uint8_t channel[STORE_ID_LEN];
	uint64_t seq;
	bool unknown;			/* its check failed */
	bool released;			/* store_ahead_release_others */
};

struct store_ahead {
	int fd;
	bool damaged;			/* the whole file: rewrite at a put */
	size_t n;
	struct slot slot[STORE_AHEAD_SLOTS];
};

static void
slot_encode(uint8_t out[SLOT_LEN], const uint8_t channel[STORE_ID_LEN],
    uint64_t seq)
{
	memset(out, 0, SLOT_LEN);
	memcpy(out, channel, STORE_ID_LEN);
	for (int i = 0; i < 8; i++)
		out[STORE_ID_LEN + i] = (uint8_t)(seq >> (56 - 8 * i));
	crypto_generichash(out + STORE_ID_LEN + 8, CHECK_LEN, out,
	    STORE_ID_LEN + 8, NULL, 0);
}

/* 1: a good slot, -1: damaged (an all-zero one too: NOTES 4). */
static int
slot_decode(const uint8_t in[SLOT_LEN], struct slot *s)
{
	uint8_t check[CHECK_LEN];

	memset(s, 0, sizeof *s);
	if (sodium_is_zero(in, SLOT_LEN))
		return -1;
	memcpy(s->channel, in, STORE_ID_LEN);
	crypto_generichash(check, CHECK_LEN, in, STORE_ID_LEN + 8, NULL, 0);
	if (sodium_memcmp(check, in + STORE_ID_LEN + 8, CHECK_LEN) != 0 ||
	    !sodium_is_zero(in + STORE_ID_LEN + 8 + CHECK_LEN,
	    SLOT_LEN - STORE_ID_LEN - 8 - CHECK_LEN))
		return -1;
	s->seq = 0;
	for (int i = 0; i < 8; i++)
		s->seq = s->seq << 8 | in[STORE_ID_LEN + i];
	return 1;
}

static void
read_all(struct store_ahead *a)
{
	uint8_t buf[HEAD_LEN + STORE_AHEAD_SLOTS * SLOT_LEN + 1];
	size_t got = 0;
	ssize_t k = 0;

	while (got < sizeof buf && ((k = pread(a->fd, buf + got,
	    sizeof buf - got, (off_t)got)) > 0 || (k < 0 && errno == EINTR)))
		if (k > 0)
			got += (size_t)k;
	if (k < 0) {
		a->damaged = true;	/* NOTES 4 */
		return;
	}
	if (got == 0)
		return;			/* a fresh file */
	if (got < HEAD_LEN || got > HEAD_LEN + STORE_AHEAD_SLOTS *
	    SLOT_LEN || (got - HEAD_LEN) % SLOT_LEN != 0 ||
	    memcmp(buf, MAGIC, MAGIC_LEN) != 0 ||
	    !sodium_is_zero(buf + MAGIC_LEN, HEAD_LEN - MAGIC_LEN)) {
		a->damaged = true;
		return;
	}
	for (size_t off = HEAD_LEN; off < got; off += SLOT_LEN) {
		struct slot s;
		/* a damaged slot keeps its place; its channel is unknown */
		memset(&a->slot[a->n], 0, sizeof a->slot[a->n]);
		if (slot_decode(buf + off, &s) == 1)
			a->slot[a->n] = s;
		else
			a->slot[a->n].unknown = true;
		a->n++;
	}
}

int
store_ahead_open(const char *home, struct store_ahead **out, bool *damaged)
{
	char path[4096];
	struct store_ahead *a;

	*out = NULL;
	if ((a = calloc(1, sizeof *a)) == NULL)
		return ERR_NOMEM;
	snprintf(path, sizeof path, "%s/%s", home, STORE_AHEAD_FILE);
	if ((a->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600)) < 0) {
		int e = errno;
		free(a);
		errno = e;
		return ERR_IO;
	}
	read_all(a);
	if (damaged != NULL)
		*damaged = a->damaged;
	for (size_t i = 0; i < a->n && damaged != NULL; i++)
		if (a->slot[i].unknown)
			*damaged = true;
	*out = a;
	return 0;
}

void
store_ahead_close(struct store_ahead *a)
{
	if (a == NULL)
		return;
	close(a->fd);
	free(a);
}

uint64_t
store_ahead_get(const struct store_ahead *a,
    const uint8_t channel[STORE_ID_LEN])
{
	bool torn = false;

	if (a->damaged)
		return STORE_AHEAD_UNKNOWN;
	for (size_t i = 0; i < a->n; i++) {
		if (a->slot[i].unknown)
			torn = true;
		else if (!a->slot[i].released && memcmp(a->slot[i].channel,
		    channel, STORE_ID_LEN) == 0)
			return a->slot[i].seq;
	}
	/* a torn slot may have been this channel's */
	return torn ? STORE_AHEAD_UNKNOWN : 0;
}

static int
write_at(int fd, const uint8_t *b, size_t n, off_t at)
{
	while (n > 0) {
		ssize_t k = pwrite(fd, b, n, at);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return ERR_IO;
		b += k;
		n -= (size_t)k;
		at += k;
	}
	return 0;
}

int
store_ahead_put(struct store_ahead *a, const uint8_t channel[STORE_ID_LEN],
    uint64_t seq)
{
	uint8_t b[SLOT_LEN];
	size_t i;
	int r;

	if (a->damaged) {	/* NOTES 3 */
		if (ftruncate(a->fd, 0) != 0)
			return ERR_IO;
		a->damaged = false;
		a->n = 0;
	}
	if (a->n == 0) {		/* a fresh file: its head */
		uint8_t head[HEAD_LEN] = { 0 };
		memcpy(head, MAGIC, MAGIC_LEN);
		if ((r = write_at(a->fd, head, HEAD_LEN, 0)) != 0)
			return r;
	}
	for (i = 0; i < a->n; i++)
		if (!a->slot[i].unknown && !a->slot[i].released &&
		    memcmp(a->slot[i].channel, channel, STORE_ID_LEN) == 0)
			break;
	if (i == a->n) {
		/* a new channel: a torn slot's place is taken first, then a
		 * released one's */
		for (i = 0; i < a->n && !a->slot[i].unknown; i++)
			;
		for (size_t j = 0; i == a->n && j < a->n; j++)
			if (a->slot[j].released)
				i = j;
		if (i == a->n && a->n == STORE_AHEAD_SLOTS)
			return ERR_FULL;
	}
	slot_encode(b, channel, seq);
	if ((r = write_at(a->fd, b, SLOT_LEN, (off_t)(HEAD_LEN +
	    i * SLOT_LEN))) != 0)
		return r;
	memcpy(a->slot[i].channel, channel, STORE_ID_LEN);
	a->slot[i].seq = seq;
	a->slot[i].unknown = false;
	a->slot[i].released = false;
	if (i == a->n)
		a->n++;
	return 0;
}

void
store_ahead_release_others(struct store_ahead *a,
    const uint8_t (*keep)[STORE_ID_LEN], size_t n)
{
	for (size_t i = 0; i < a->n; i++) {
		bool kept = a->slot[i].unknown;

		for (size_t j = 0; j < n && !kept; j++)
			kept = memcmp(a->slot[i].channel, keep[j],
			    STORE_ID_LEN) == 0;
		a->slot[i].released = !kept;
	}
}

int
store_ahead_sync(struct store_ahead *a)
{
	return fdatasync(a->fd) == 0 ? 0 : ERR_IO;
}
