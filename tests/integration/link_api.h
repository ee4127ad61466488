/*
 * link_api.h: what the tests of the link layer's interface share
 * (it_link_api.c, it_link_api_fake.c), beside link_sides.h: records of
 * SEQ_TYPE numbered and checked in order (on_record = seq_check), both
 * sides down, a path's rekey count, and a program's start and end.
 *
 * The including file defines, before the #include, its temporary
 * directory (link_sides.h): static char tmpdir[] = "...-XXXXXX";
 */
#ifndef PARLEY_TESTS_LINK_API_H
#define PARLEY_TESTS_LINK_API_H

#include <arpa/inet.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "../harness.h"
#include "base/log.h"
#include "crypto/agreement.h"
#include "crypto/keys.h"
#include "link/link.h"

#include "link_sides.h"

/* Records of this type carry seq_body(index): checked in order. */
#define SEQ_TYPE 0x21
#define SEQ_BODY_MAX 1600

/* Record i's body: i (8 bytes), then bytes (i + j); 8..57 bytes for the
 * first 100, then 8..1507. */
static inline size_t
seq_body(uint8_t *b, uint64_t i)
{
	size_t len = 8 + (size_t)(i < 100 ? i % 50 : i * 397 % 1500);

	for (int k = 0; k < 8; k++)
		b[k] = (uint8_t)(i >> (56 - 8 * k));
	for (size_t j = 8; j < len; j++)
		b[j] = (uint8_t)(i + j);
	return len;
}

/* on_record: SEQ_TYPE records checked in order. */
static inline void
seq_check(struct side *s, uint8_t type, const uint8_t *body, size_t len)
{
	if (type == SEQ_TYPE) {
		uint8_t want[SEQ_BODY_MAX];
		size_t n = seq_body(want, s->seq_next++);
		if (n != len || memcmp(want, body, n) != 0)
			s->seq_bad++;
	}
}

static inline bool
both_down(void)
{
	return north.downs >= 1 && south.downs >= 1;
}

static inline long long
rekeys(struct side *s)
{
	struct link_channel_status st;

	if (link_channel_status(s->l, 0, &st) != 0)
		return -1;
	return (long long)st.paths[0].rekeys;
}

/* A program's start: libsodium, the log, SIGPIPE ignored, a bound on the
 * whole run, SEQ_TYPE records checked, the loop and both sides' homes and
 * agreement on a free block of four ports in [lo, hi); false (the summary
 * printed) when it cannot. */
static inline bool
link_api_begin(const char *name, int lo, int hi)
{
	if (sodium_init() < 0)
		return false;
	log_setup(name, LOG_LVL_ERROR, false);
	signal(SIGPIPE, SIG_IGN);	/* as parleyd: a reset is EPIPE */
	setvbuf(stdout, NULL, _IOLBF, 0);
	alarm(120);
	on_record = seq_check;
	if ((base = event_base_new()) == NULL || !sides_setup(lo, hi, 4)) {
		printf("setup failed\n0 passed, 1 failed\n");
		return false;
	}
	return true;
}

/* A program's end: the sides and their homes; the summary's exit code. */
static inline int
link_api_end(void)
{
	sides_end();
	return harness_summary();
}

#endif
