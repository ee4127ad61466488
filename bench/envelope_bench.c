/*
 * envelope_bench.c: what decoding a peer's message bytes costs at the
 * receiver, CPU only (no I/O): envelope_header_decode and envelope_open
 * (header decode, body hash and checks, header id) of a 1 KiB TEXT
 * message, chain_head_decode and chain_receipt_decode, and one header that
 * is refused (a non-shortest seq: the path that finds the refusal's code).
 * Prints the median of several rounds in ns per call; judges nothing.
 *
 * Usage: envelope_bench [milliseconds per round, default 100]
 *        envelope_bench -n COUNT [CASE]   COUNT calls of each case (or of
 *            case CASE, 0-4 in the table's order), no timing: for
 *            valgrind --tool=callgrind
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "msg/chain.h"
#include "msg/envelope.h"

#define ROUNDS 7
#define BODY_LEN 1024

struct sample {
	uint8_t hdr[ENVELOPE_HEADER_MAX], bad[ENVELOPE_HEADER_MAX + 8];
	size_t hlen, badlen;
	uint8_t body[BODY_LEN];
	uint8_t salt[ENVELOPE_SALT_LEN];
	uint8_t head[CHAIN_HEAD_MAX], receipt[CHAIN_RECEIPT_MAX];
	size_t head_len, receipt_len;
};

enum { HEADER, OPEN, HEAD, RECEIPT, REFUSED, NCASES };
static const char *const case_names[NCASES] = {
	"envelope_header_decode", "envelope_open (1 KiB body)",
	"chain_head_decode", "chain_receipt_decode",
	"envelope_header_decode, refused",
};

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void
die(const char *what)
{
	fprintf(stderr, "envelope_bench: %s\n", what);
	exit(1);
}

/* A message as a sender in mid-chain writes it: seq 70000, a 1 KiB body,
 * a signature-sized head and receipt (their signatures are not checked by
 * the decoders, so random bytes stand in). */
static void
sample_make(struct sample *s)
{
	struct envelope_header h;
	struct chain_head hd;
	struct chain_receipt rc;
	size_t i, k;

	memset(s, 0, sizeof *s);
	for (i = 0; i < BODY_LEN; i++)
		s->body[i] = (uint8_t)('a' + i % 26);
	memset(&h, 0, sizeof h);
	h.version = ENVELOPE_VERSION;
	randombytes_buf(h.channel, sizeof h.channel);
	h.sender = 1;
	h.seq = 70000;
	randombytes_buf(h.prev, sizeof h.prev);
	randombytes_buf(h.peer_last, sizeof h.peer_last);
	h.time_ms = 1700000000000ull;
	h.precedence = ENVELOPE_ROUTINE;
	h.marking = ENVELOPE_PRIVATE;
	h.kind = ENVELOPE_TEXT;
	h.body_len = BODY_LEN;
	randombytes_buf(s->salt, sizeof s->salt);
	envelope_body_hash_salted(s->salt, s->body, BODY_LEN, h.body_hash);
	if (envelope_header_encode(&h, s->hdr, sizeof s->hdr, &s->hlen) != 0)
		die("header encode");

	/* The same header with seq 70000 (0x1a 0x00 0x01 0x11 0x70) written
	 * as an 8-byte integer: refused ERR_NONCANONICAL. */
	for (i = 0; i + 5 <= s->hlen; i++)
		if (s->hdr[i] == 0x04 && s->hdr[i + 1] == 0x1a)
			break;
	if (i + 5 > s->hlen)
		die("seq not found");
	memcpy(s->bad, s->hdr, i + 1);
	k = i + 1;
	s->bad[k++] = 0x1b;
	memset(s->bad + k, 0, 4);
	k += 4;
	memcpy(s->bad + k, s->hdr + i + 2, s->hlen - i - 2);
	s->badlen = k + s->hlen - i - 2;

	memset(&hd, 0, sizeof hd);
	memcpy(hd.channel, h.channel, sizeof hd.channel);
	hd.sender = 1;
	hd.seq = 70000;
	randombytes_buf(hd.id, sizeof hd.id);
	randombytes_buf(hd.sig, sizeof hd.sig);
	if (chain_head_encode(&hd, s->head, sizeof s->head, &s->head_len) != 0)
		die("head encode");
	memset(&rc, 0, sizeof rc);
	memcpy(rc.channel, h.channel, sizeof rc.channel);
	rc.receiver = 0;
	rc.seq = 70000;
	randombytes_buf(rc.id, sizeof rc.id);
	rc.time_ms = 1700000000123ull;
	randombytes_buf(rc.sig, sizeof rc.sig);
	if (chain_receipt_encode(&rc, s->receipt, sizeof s->receipt,
	    &s->receipt_len) != 0)
		die("receipt encode");
}

/* One call of case c; the expected result, or exit. */
static void
once(const struct sample *s, int c)
{
	struct envelope_header h;
	struct chain_head hd;
	struct chain_receipt rc;
	uint8_t id[ENVELOPE_ID_LEN];
	int r = 0, want = 0;

	switch (c) {
	case HEADER:
		r = envelope_header_decode(&h, s->hdr, s->hlen);
		break;
	case OPEN:
		r = envelope_open(s->hdr, s->hlen, s->salt, s->body, BODY_LEN,
		    &h, id);
		break;
	case HEAD:
		r = chain_head_decode(&hd, s->head, s->head_len);
		break;
	case RECEIPT:
		r = chain_receipt_decode(&rc, s->receipt, s->receipt_len);
		break;
	default:
		r = envelope_header_decode(&h, s->bad, s->badlen);
		want = ERR_NONCANONICAL;
		break;
	}
	if (r != want)
		die(case_names[c]);
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* ns per call of case c: the median of ROUNDS rounds of about ms each. */
static double
measure(const struct sample *s, int c, double ms)
{
	double per[ROUNDS];
	long calls = 64;

	/* Grow the batch until one takes a round's time. */
	for (;;) {
		double t0 = now_ns();
		for (long i = 0; i < calls; i++)
			once(s, c);
		double dt = now_ns() - t0;
		if (dt >= ms * 1e6 || calls > (1L << 40))
			break;
		calls *= 2;
	}
	for (int k = 0; k < ROUNDS; k++) {
		double t0 = now_ns();
		for (long i = 0; i < calls; i++)
			once(s, c);
		per[k] = (now_ns() - t0) / (double)calls;
	}
	qsort(per, ROUNDS, sizeof per[0], cmp);
	return per[ROUNDS / 2];
}

int
main(int argc, char **argv)
{
	static struct sample s;
	double ms = 100;

	if (sodium_init() < 0)
		die("sodium_init");
	sample_make(&s);
	if (argc >= 3 && strcmp(argv[1], "-n") == 0) {
		long n = atol(argv[2]);
		int only = argc > 3 ? atoi(argv[3]) : -1;
		for (int c = 0; c < NCASES; c++)
			for (long i = 0; i < n && (only < 0 || only == c); i++)
				once(&s, c);
		return 0;
	}
	if (argc > 1 && (ms = atof(argv[1])) <= 0)
		die("usage: envelope_bench [ms per round] | -n COUNT [CASE]");
	printf("decoding at the receiver, CPU only; median of %d rounds "
	    "(a shared machine: noisy)\n", ROUNDS);
	printf("header %zu bytes, head %zu, receipt %zu\n", s.hlen, s.head_len,
	    s.receipt_len);
	for (int c = 0; c < NCASES; c++)
		printf("  %-36s %9.0f ns\n", case_names[c], measure(&s, c, ms));
	return 0;
}
