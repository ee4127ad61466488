/*
 * ack_watch.h: what the acknowledgment and deadline tests share
 * (test_ack.c, test_deadline.c, test_deadline_steps.c): a store in
 * memory, the alerter and deadline watch of one channel and counts of
 * their alerts, the peer's messages put in a channel's chain, and the
 * mixed run of texts and ACKs both ways on two channels (struct
 * owed_run); a program's start and end.
 * Every function is static inline: a program that uses only some of
 * them builds without -Wunused-function.
 */
#ifndef PARLEY_TESTS_ACK_WATCH_H
#define PARLEY_TESTS_ACK_WATCH_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../harness.h"
#include "../header_builders.h"
#include "base/file.h"
#include "base/hex.h"
#include "msg/ack.h"
#include "msg/alert.h"
#include "msg/chain.h"
#include "msg/deadline.h"
#include "store/people.h"

static inline struct store *
mem_store(void)
{
	struct store *s = NULL;

	CHECK_INT(store_open(&s, ":memory:"), 0);
	return s;
}

/* Ticks the alerter on the deadline watch's own clock (its ticks pass
 * their time to the alerter) until path holds lines lines (the commands
 * have run and been reaped), for at most ms of real time. */
static inline size_t
lines_at(struct alerter *a, uint64_t at, const char *path, size_t lines,
    int ms)
{
	uint8_t *got = NULL;
	size_t n = 0, have = 0;

	for (int i = 0; i < ms / 20; i++) {
		alert_tick(a, at);
		have = 0;
		if (file_read(path, 1 << 16, &got, &n) == 0)
			for (size_t k = 0; k < n; k++)
				have += got[k] == '\n';
		free(got);
		got = NULL;
		if (have >= lines)
			break;
		usleep(20000);
	}
	alert_tick(a, at);
	return have;
}

static inline int
count_overdue(void *arg, const struct store_alert *a)
{
	size_t *n = arg;

	*n += strncmp(a->key, "ack-overdue:peer-owes:", 22) == 0;
	return 0;
}

static inline int
count_we_owe(void *arg, const struct store_alert *a)
{
	size_t *n = arg;

	*n += strncmp(a->key, "ack-overdue:we-owe:", 19) == 0;
	return 0;
}

/* How many stored alerts fn counts. */
static inline size_t
alerts_counted(struct store *s, store_alert_fn fn)
{
	size_t n = 0;

	CHECK_INT(store_alerts_each(s, true, fn, &n), 0);
	return n;
}

/* An alerter and a deadline watch on s of channel ch, ours party 0 and
 * the peer south, with deadlines dl (FLASH first). */
static inline void
watch_open(struct store *s, const uint8_t *ch, const uint32_t dl[4],
    struct alerter **a, struct deadline_watch **w)
{
	CHECK_INT(alert_new(s, NULL, 0, a), 0);
	CHECK_INT(deadline_watch_new(s, *a, w), 0);
	CHECK_INT(deadline_watch_add(*w, ch, 0, "south", dl), 0);
}

/* The peer's message seq (prev: the id before, set to its own), of kind,
 * precedence, body and time t, received here at now. */
static inline void
peer_put(struct store *s, const uint8_t *ch, uint64_t seq,
    uint8_t prev[ENVELOPE_ID_LEN], uint32_t kind, uint8_t prec,
    const uint8_t *body, size_t len, uint64_t t, uint64_t now)
{
	uint8_t hdr[ENVELOPE_HEADER_MAX], id[ENVELOPE_ID_LEN];
	struct envelope_header h;
	struct store_draft d;
	struct store_in in;
	size_t hlen, added = 0;
	uint8_t salt[ENVELOPE_SALT_LEN];
	bool salted;

	memset(&d, 0, sizeof d);
	d.channel = ch;
	d.sender = 1;
	d.seq = seq;
	memcpy(d.prev, prev, ENVELOPE_ID_LEN);
	d.time_ms = t;
	d.precedence = prec;
	d.kind = kind;
	d.body = body;
	d.body_len = len;
	CHECK_INT(fixed_salt_build(NULL, &d, hdr, sizeof hdr, &hlen, id, salt,
	    &salted), 0);
	CHECK_INT(envelope_header_decode(&h, hdr, hlen), 0);
	chain_store_in(&in, &h, hdr, hlen, salt, body, len, id);
	CHECK_INT(store_received_put(s, ch, 1, &in, 1, NULL, now, &added), 0);
	CHECK_INT(added, 1);
	memcpy(prev, id, ENVELOPE_ID_LEN);
}

/*
 * deadline_owed (status's counts, from what the watch keeps of the owed
 * messages, read on from where it stopped) against deadline_owed_recount
 * (every message read),
 * for both parties' views and at several clocks, after each step of a
 * mixed run: ours queued then assigned, or queued and assigned at once;
 * the peer's received in runs; ACKs both ways, some queued unsent, some
 * late, one naming a message of its own side or of another channel;
 * equal times; a group rolled back; writes by another connection (texts
 * and ACKs both ways, seen first inside a transaction); and a restart (a
 * new watch reads the record again, at its warm-up).
 */
struct owed_run {
	struct store *s;
	struct deadline_watch *w;
	uint8_t ch[2][ENVELOPE_ID_LEN];
	uint8_t prev[2][ENVELOPE_ID_LEN];	/* the peer's chain, per channel */
	uint64_t seq[2];
	uint8_t ids[2][2][64][ENVELOPE_ID_LEN];	/* [channel][sender] texts */
	size_t nid[2][2];
	uint64_t t;
	uint32_t rng;
};

static inline uint32_t
owed_rand(struct owed_run *o, uint32_t n)
{
	o->rng = o->rng * 1103515245u + 12345u;
	return (o->rng >> 16) % n;
}

/* The peer's message on channel c (sender 1), received at once. */
static inline void
owed_peer(struct owed_run *o, unsigned c, uint32_t kind, uint8_t prec,
    const uint8_t *body, size_t len, uint64_t t)
{
	peer_put(o->s, o->ch[c], ++o->seq[c], o->prev[c], kind, prec, body,
	    len, t, o->t);
	if (kind == ENVELOPE_TEXT && o->nid[c][1] < 64)
		memcpy(o->ids[c][1][o->nid[c][1]++], o->prev[c],
		    ENVELOPE_ID_LEN);
}

/* Ours on channel c (sender 0): queued, then the queue assigned. */
static inline void
owed_ours(struct owed_run *o, unsigned c, uint32_t kind, uint8_t prec,
    const uint8_t *body, size_t len, uint64_t t, bool assign)
{
	struct store_msg m;
	uint64_t f, l;
	int64_t q;

	CHECK_INT(chain_queue(o->s, o->ch[c], 0, prec, 0, kind, body, len, t,
	    &q), 0);
	if (!assign)
		return;
	CHECK_INT(store_assign_batch(o->s, o->ch[c], 0, 64, t,
	    fixed_salt_build, NULL, &f, &l), 0);
	for (uint64_t k = f; k <= l; k++) {
		CHECK_INT(store_get_at(o->s, o->ch[c], 0, k, &m), 0);
		if (m.kind == ENVELOPE_TEXT && o->nid[c][0] < 64)
			memcpy(o->ids[c][0][o->nid[c][0]++], m.id,
			    ENVELOPE_ID_LEN);
		store_msg_fini(&m);
	}
}

/* An ACK by side w on channel c naming id. */
static inline void
owed_ack(struct owed_run *o, unsigned c, unsigned w, const uint8_t *id,
    uint64_t t, bool assign)
{
	struct ack_body b;
	uint8_t body[ACK_BODY_MAX];
	size_t len;

	memset(&b, 0, sizeof b);
	memcpy(b.acked, id, ENVELOPE_ID_LEN);
	snprintf(b.operator, sizeof b.operator, "Duty Officer");
	CHECK_INT(ack_body_encode(&b, body, sizeof body, &len), 0);
	if (w == 1)
		owed_peer(o, c, ENVELOPE_ACK, 1, body, len, t);
	else
		owed_ours(o, c, ENVELOPE_ACK, 1, body, len, t, assign);
}

static inline void
owed_step(struct owed_run *o)
{
	uint8_t text[32];
	unsigned c = owed_rand(o, 4) == 0 ? 1 : 0, w = owed_rand(o, 2);
	uint8_t prec = (uint8_t)owed_rand(o, 4);
	uint64_t t = o->t - owed_rand(o, 3) * 1000;	/* equal times too */
	size_t len = (size_t)snprintf((char *)text, sizeof text, "text %u",
	    owed_rand(o, 1000));
	size_t n;

	switch (owed_rand(o, 6)) {
	case 0:
	case 1:		/* a text; ours sometimes left queued a while */
		if (w == 1)
			owed_peer(o, c, ENVELOPE_TEXT, prec, text, len, t);
		else
			owed_ours(o, c, ENVELOPE_TEXT, prec, text, len, t,
			    owed_rand(o, 3) != 0);
		break;
	case 2:
	case 3:		/* side w acknowledges one of the other's, maybe
			 * late, maybe not sent yet */
		if ((n = o->nid[c][1 - w]) == 0)
			break;
		owed_ack(o, c, w, o->ids[c][1 - w][owed_rand(o, (uint32_t)n)],
		    o->t + owed_rand(o, 2) * 20000, owed_rand(o, 2) != 0);
		break;
	case 4:		/* an ACK of one's own message, or of the other
			 * channel's: acknowledges nothing here */
		if ((n = o->nid[c][w]) > 0)
			owed_ack(o, c, w, o->ids[c][w][owed_rand(o,
			    (uint32_t)n)], o->t, true);
		if ((n = o->nid[1 - c][1 - w]) > 0)
			owed_ack(o, c, w, o->ids[1 - c][1 - w][owed_rand(o,
			    (uint32_t)n)], o->t, true);
		break;
	default:	/* time passes */
		o->t += 1000 + owed_rand(o, 4) * 1000;
		break;
	}
}

/* A test program's start: d made (a mkdtemp template), SIGPIPE ignored
 * as parleyd does (see alert.h). False on failure. */
static inline bool
ack_tests_begin(char *d)
{
	if (mkdtemp(d) == NULL)
		return false;
	signal(SIGPIPE, SIG_IGN);
	return true;
}

/* A test program's end: the summary, d removed; its exit code. */
static inline int
ack_tests_end(const char *d)
{
	char cmd[128];
	int rc = harness_summary();

	snprintf(cmd, sizeof cmd, "rm -rf %s", d);
	if (system(cmd) != 0)
		return 1;
	return rc;
}

#endif
