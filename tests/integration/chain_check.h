/*
 * chain_check.h: the end check of the integration tests that kill
 * daemons while messages flow (it_messages.c's faults test,
 * it_early_send.c's crash tests, it_powercut.c). With both daemons
 * stopped, it opens north's and south's stores and, for each sender's
 * chain: gapless on both sides, the same ids on both; every send the
 * test was answered ok for there once on both sides; every send it was
 * told is receipted in the receiver's store; no test message twice. The
 * test's messages are "PREFIX N", N from 0.
 *
 * The including file includes harness.h and store/store.h first.
 */
#ifndef PARLEY_TESTS_CHAIN_CHECK_H
#define PARLEY_TESTS_CHAIN_CHECK_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHAIN_CHECK_MAX 20000		/* messages per chain */

/* What one sender's chain must hold. */
struct chain_want {
	const char *prefix;		/* its test messages: "PREFIX N" */
	const uint8_t *acked;		/* acked[N]: "PREFIX N" answered ok */
	const uint8_t *receipted;	/* [N]: answered "receipted" (may be
					 * NULL) */
	int n;				/* entries of acked, receipted */
	size_t min;			/* the chain holds at least this many */
};

struct chain_rows {
	size_t n;
	uint64_t next;
	int gaps;
	uint8_t (*ids)[32];
	char **bodies;
};

static int
chain_row(void *arg, struct store_msg *m)
{
	struct chain_rows *c = arg;

	if (c->n == CHAIN_CHECK_MAX)
		return -1;
	if (m->seq != c->next)
		c->gaps++;
	c->next = m->seq + 1;
	memcpy(c->ids[c->n], m->id, 32);
	c->bodies[c->n] = strndup((const char *)m->body, m->body_len > 40 ?
	    40 : m->body_len);
	c->n++;
	return 0;
}

static int
chain_cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* How many of c's bodies are text. */
static int
chain_count(const struct chain_rows *c, const char *text)
{
	int got = 0;

	for (size_t j = 0; j < c->n; j++)
		got += strcmp(c->bodies[j], text) == 0;
	return got;
}

/* One sender's chain in both stores (st[0] north's, st[1] south's). */
static void
chain_check_one(struct store *st[2], const uint8_t chan[32], uint8_t sender,
    const struct chain_want *w)
{
	struct chain_rows c[2];
	size_t missing = 0, unreceipted = 0, dups = 0, plen;
	char want[64];

	for (int i = 0; i < 2; i++) {
		memset(&c[i], 0, sizeof c[i]);
		c[i].next = 1;
		c[i].ids = calloc(CHAIN_CHECK_MAX, 32);
		c[i].bodies = calloc(CHAIN_CHECK_MAX, sizeof(char *));
		if (c[i].ids == NULL || c[i].bodies == NULL)
			abort();
		CHECK(store_after(st[i], chan, sender, 0, CHAIN_CHECK_MAX,
		    chain_row, &c[i]) == 0);
		CHECK_INT(c[i].gaps, 0);
	}
	CHECK_INT(c[0].n, c[1].n);
	CHECK(c[0].n >= w->min);
	for (size_t j = 0; j < c[0].n && j < c[1].n; j++)
		if (memcmp(c[0].ids[j], c[1].ids[j], 32) != 0) {
			CHECK(0);
			break;
		}
	/* Every acknowledged send, once on each side; every receipted one
	 * in the receiver's store (1 - sender). */
	for (int t = 0; t < w->n; t++) {
		snprintf(want, sizeof want, "%s %d", w->prefix, t);
		if (w->acked[t] && (chain_count(&c[0], want) != 1 ||
		    chain_count(&c[1], want) != 1) && missing++ < 10)
			printf("  %s: acknowledged, found %d at north, %d at "
			    "south\n", want, chain_count(&c[0], want),
			    chain_count(&c[1], want));
		if (w->receipted && w->receipted[t] &&
		    chain_count(&c[1 - sender], want) != 1)
			unreceipted++;
	}
	plen = strlen(w->prefix);
	qsort(c[1].bodies, c[1].n, sizeof(char *), chain_cmpstr);
	for (size_t j = 1; j < c[1].n; j++)
		if (strncmp(c[1].bodies[j], w->prefix, plen) == 0)
			dups += strcmp(c[1].bodies[j], c[1].bodies[j - 1]) ==
			    0;
	printf("  sender %u: %zu messages on both sides, %zu acknowledged "
	    "missing or repeated, %zu receipted missing, %zu duplicates\n",
	    sender, c[0].n, missing, unreceipted, dups);
	CHECK_INT(missing, 0);
	CHECK_INT(unreceipted, 0);
	CHECK_INT(dups, 0);
	for (int i = 0; i < 2; i++) {
		for (size_t j = 0; j < c[i].n; j++)
			free(c[i].bodies[j]);
		free(c[i].bodies);
		free(c[i].ids);
	}
}

/* The check above on HOME/parley.db of north and south (both daemons
 * stopped), for sender 0 (north: want[0]) and 1 (south: want[1]). */
static void
chain_check(const char *north, const char *south, const uint8_t chan[32],
    const struct chain_want want[2])
{
	struct store *st[2] = { NULL, NULL };

	CHECK(store_open_home(&st[0], north) == 0);
	CHECK(store_open_home(&st[1], south) == 0);
	for (uint8_t sender = 0; st[0] && st[1] && sender < 2; sender++)
		chain_check_one(st, chan, sender, &want[sender]);
	store_close(st[0]);
	store_close(st[1]);
}

#endif
