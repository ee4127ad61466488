/* test_transport.c: the record layer (link/transport.h): two engines
 * joined through memory, records both ways, sizes, tampering ends the
 * session, rekeying with records in flight under the old keys, nonces
 * never reused, the rekey triggers; the per-source key of the pending
 * caps (IPv6 per /64); a PONG's times, which the peer chooses. */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "../harness.h"
#include "link/link_int.h"
#include "test_link_common.h"

/* A handshake through memory, then two transports. */
static void
pair(struct link_transport *ti, struct link_transport *tr, uint64_t now)
{
	struct chan c;
	struct noise_handshake hi, hr;
	struct link_hs_params pi, pr;
	struct noise_cipher s1, r1, s2, r2;
	uint8_t ts[LINK_TS_LEN], got[LINK_TS_LEN], init[LINK_INIT_LEN];
	uint8_t resp[LINK_RESP_LEN];

	chan_make(&c);
	params(&pi, &c, 0);
	params(&pr, &c, 1);
	pi.random = pr.random = test_random;
	link_ts_encode(ts, now * 1000000u + 1);
	CHECK_INT(link_hs_write_init(&hi, &pi, ts, init), 0);
	CHECK_INT(link_hs_read_init(&hr, &pr, init, sizeof init, got), 0);
	CHECK_INT(link_hs_write_resp(&hr, &pr, resp, &s2, &r2), 0);
	CHECK_INT(link_hs_read_resp(&hi, &pi, resp, sizeof resp, &s1, &r1), 0);
	link_transport_init(ti, &s1, &r1, true, now);
	link_transport_init(tr, &s2, &r2, false, now);
}

/* Rekeys an existing pair: new handshake keys into both. */
static void
rekey(struct link_transport *ti, struct link_transport *tr, uint64_t now,
    bool responder_first)
{
	struct link_transport tmp[2];

	/* Reuse pair() to get fresh keys, then move them over. */
	memset(tmp, 0, sizeof tmp);
	pair(&tmp[0], &tmp[1], now);
	if (responder_first) {
		link_transport_rekey(tr, &tmp[1].send, &tmp[1].recv, now);
		link_transport_rekey(ti, &tmp[0].send, &tmp[0].recv, now);
	} else {
		link_transport_rekey(ti, &tmp[0].send, &tmp[0].recv, now);
		link_transport_rekey(tr, &tmp[1].send, &tmp[1].recv, now);
	}
	link_transport_fini(&tmp[0]);
	link_transport_fini(&tmp[1]);
}

static int
xfer(struct link_transport *from, struct link_transport *to, uint8_t type,
    const char *msg)
{
	uint8_t frame[256], t;
	const uint8_t *body;
	size_t n, bl;
	int r;

	if ((r = link_transport_seal(from, type, (const uint8_t *)msg,
	    strlen(msg), frame, sizeof frame, &n)) != 0)
		return r;
	if (n != LINK_DATA_LEN(strlen(msg)))
		return ERR_INVALID;
	if ((r = link_transport_open(to, frame, n, &t, &body, &bl)) != 0)
		return r;
	if (t != type || bl != strlen(msg) || memcmp(body, msg, bl) != 0)
		return ERR_INVALID;
	return 0;
}

static void
test_both_ways(void)
{
	struct link_transport t[2];

	pair(&t[0], &t[1], 1000);
	CHECK(t[0].initiator);
	CHECK(!t[1].initiator);
	for (int i = 0; i < 100; i++) {
		CHECK_INT(xfer(&t[0], &t[1], 0x10, "ceasefire at dawn"), 0);
		CHECK_INT(xfer(&t[1], &t[0], LINK_REC_PING, "12345678"), 0);
	}
	CHECK_INT(xfer(&t[0], &t[1], 0x11, ""), 0);
	CHECK_INT(t[0].sent, 101);
	CHECK_INT(t[1].received, 101);
	CHECK_INT(t[1].sent, 100);
	CHECK_INT(t[0].send.n, 101);
	link_transport_fini(&t[0]);
	link_transport_fini(&t[1]);
}

static void
test_sizes(void)
{
	struct link_transport t[2];
	static uint8_t big[LINK_RECORD_MAX + 1], frame[FRAME_MAX + 1];
	const uint8_t *body;
	size_t n, bl;
	uint8_t type;

	pair(&t[0], &t[1], 1);
	CHECK_INT(link_transport_seal(&t[0], 0x10, big, sizeof big, frame,
	    sizeof frame, &n), ERR_TOO_BIG);
	CHECK_INT(link_transport_seal(&t[0], 0x10, big, 10, frame, 10, &n),
	    ERR_SHORT);
	memset(big, 0xab, sizeof big);
	CHECK_INT(link_transport_seal(&t[0], 0x10, big, LINK_RECORD_MAX, frame,
	    sizeof frame, &n), 0);
	CHECK_INT(n, FRAME_MAX);
	CHECK_INT(link_transport_open(&t[1], frame, n, &type, &body, &bl), 0);
	CHECK_INT(bl, LINK_RECORD_MAX);
	CHECK_INT(body[LINK_RECORD_MAX - 1], 0xab);
	/* too short, not a data frame */
	CHECK_INT(link_transport_open(&t[1], frame, LINK_DATA_LEN(0) - 1, &type,
	    &body, &bl), ERR_PARSE);
	frame[0] = LINK_TYPE_INIT;
	CHECK_INT(link_transport_open(&t[1], frame, 40, &type, &body, &bl),
	    ERR_PARSE);
	link_transport_fini(&t[0]);
	link_transport_fini(&t[1]);
}

/* A flipped bit anywhere, a replayed record, an unknown epoch: ERR_CRYPTO
 * (the caller then ends the session). */
static void
test_tamper_replay(void)
{
	struct link_transport t[2];
	uint8_t frame[64], copy[64], type;
	const uint8_t *body;
	size_t n, bl;
	int ok = 0;

	pair(&t[0], &t[1], 1);
	CHECK_INT(link_transport_seal(&t[0], 0x10, (const uint8_t *)"x", 1,
	    frame, sizeof frame, &n), 0);
	for (size_t i = 1; i < n; i++) {
		memcpy(copy, frame, n);
		copy[i] ^= 0x04;
		if (link_transport_open(&t[1], copy, n, &type, &body, &bl) !=
		    ERR_CRYPTO)
			ok++;
	}
	CHECK_INT(ok, 0);
	memcpy(copy, frame, n);
	CHECK_INT(link_transport_open(&t[1], copy, n, &type, &body, &bl), 0);
	/* the same frame again: the nonce has moved on */
	CHECK_INT(link_transport_open(&t[1], frame, n, &type, &body, &bl),
	    ERR_CRYPTO);
	link_transport_fini(&t[0]);
	link_transport_fini(&t[1]);
}

/*
 * Rekey as over TCP: the responder installs new keys first (it answered
 * the initiation) while the initiator's records under the old keys are
 * still in flight; they are accepted, and the old key goes at the first
 * record under the new one. No record is lost.
 */
static void
test_rekey_in_flight(void)
{
	struct link_transport t[2];
	uint8_t f[5][64], type;
	const uint8_t *body;
	size_t n[5], bl;

	pair(&t[0], &t[1], 1);
	CHECK_INT(xfer(&t[0], &t[1], 0x10, "before"), 0);
	/* initiator sends two under epoch 0 */
	for (int i = 0; i < 2; i++)
		CHECK_INT(link_transport_seal(&t[0], 0x10,
		    (const uint8_t *)"old", 3, f[i], 64, &n[i]), 0);
	/* responder rekeys first, then the initiator */
	rekey(&t[0], &t[1], 2, true);
	CHECK(t[1].has_old);
	CHECK_INT(t[0].send_epoch, 1);
	CHECK_INT(link_transport_seal(&t[0], 0x10, (const uint8_t *)"new", 3,
	    f[2], 64, &n[2]), 0);
	CHECK_INT(f[2][1], 1);
	CHECK_INT(link_transport_open(&t[1], f[0], n[0], &type, &body, &bl), 0);
	CHECK_INT(link_transport_open(&t[1], f[1], n[1], &type, &body, &bl), 0);
	CHECK(t[1].has_old);
	CHECK_INT(link_transport_open(&t[1], f[2], n[2], &type, &body, &bl), 0);
	CHECK_MEM(body, "new", 3);
	CHECK(!t[1].has_old);
	/* the old epoch is now refused */
	CHECK_INT(link_transport_seal(&t[1], 0x10, (const uint8_t *)"b", 1,
	    f[3], 64, &n[3]), 0);
	CHECK_INT(link_transport_open(&t[0], f[3], n[3], &type, &body, &bl), 0);
	f[4][0] = LINK_TYPE_DATA;
	f[4][1] = 0;
	memset(f[4] + 2, 0, 30);
	CHECK_INT(link_transport_open(&t[1], f[4], 32, &type, &body, &bl),
	    ERR_CRYPTO);
	CHECK_INT(t[0].rekeys, 1);
	/* many rekeys in a row keep working */
	for (int i = 0; i < 300; i++) {
		rekey(&t[0], &t[1], 3, (i & 1) != 0);
		CHECK_INT(xfer(&t[0], &t[1], 0x10, "again"), 0);
		CHECK_INT(xfer(&t[1], &t[0], 0x10, "back"), 0);
	}
	CHECK_INT(t[0].send_epoch, (301 & 0xff));
	link_transport_fini(&t[0]);
	link_transport_fini(&t[1]);
}

static void
test_rekey_due(void)
{
	struct link_transport t[2];

	pair(&t[0], &t[1], 1000);
	CHECK(!link_transport_rekey_due(&t[0], 1000, 3, 120000));
	CHECK(link_transport_rekey_due(&t[0], 121000, 3, 120000));
	CHECK(!link_transport_rekey_due(&t[0], 120999, 3, 120000));
	for (int i = 0; i < 3; i++)
		CHECK_INT(xfer(&t[1], &t[0], 0x10, "r"), 0);
	/* received records count too */
	CHECK(link_transport_rekey_due(&t[0], 1000, 3, 120000));
	rekey(&t[0], &t[1], 2000, false);
	CHECK(!link_transport_rekey_due(&t[0], 2000, 3, 120000));
	CHECK_INT(t[0].sent, 0);
	link_transport_fini(&t[0]);
	link_transport_fini(&t[1]);
}

/* Pending-handshake caps count IPv4 sources per address and IPv6 per /64
 * (link_source_key, after link_addr_str). */
static void
source_of(const char *addr, char *src, size_t cap)
{
	struct sockaddr_storage ss;
	char peer[64];

	memset(&ss, 0, sizeof ss);
	if (strchr(addr, ':')) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
		in6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, addr, &in6->sin6_addr);
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;
		in->sin_family = AF_INET;
		inet_pton(AF_INET, addr, &in->sin_addr);
	}
	link_addr_str((struct sockaddr *)&ss, peer, sizeof peer, src, cap);
	link_source_key((struct sockaddr *)&ss, src, cap);
}

static void
test_source_key(void)
{
	char a[48], b[48];

	source_of("192.0.2.7", a, sizeof a);
	CHECK_STR(a, "192.0.2.7");
	source_of("192.0.2.8", b, sizeof b);
	CHECK(strcmp(a, b) != 0);
	source_of("2001:db8:1:2:aaaa::1", a, sizeof a);
	CHECK_STR(a, "2001:db8:1:2::/64");
	source_of("2001:db8:1:2:bbbb:cccc:dddd:9", b, sizeof b);
	CHECK_STR(a, b);
	source_of("2001:db8:1:3::1", b, sizeof b);
	CHECK_STR(b, "2001:db8:1:3::/64");
	source_of("::ffff:192.0.2.7", a, sizeof a);
	CHECK_STR(a, "::ffff:192.0.2.7");
	source_of("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", a, sizeof a);
	CHECK_STR(a, "ffff:ffff:ffff:ffff::/64");
}

/* A PONG's times are the peer's: a sane one gives RTT and offset; times
 * that cannot be (at or over 2^63, t4 before t1, t3 before t2) are
 * refused before any arithmetic (in conn.c's int64 formula, 2^63 - t4
 * and the like overflowed: undefined, an abort under UBSan). */
static void
test_pong_times(void)
{
	const uint64_t big = (uint64_t)1 << 63, now = 1800000000000000000u;
	int64_t rtt = 7, off = 7;

	/* 4 ms each way, held 1 ms by a peer whose clock is 5 s ahead */
	CHECK_INT(link_pong_times(now, now + 5000000000u + 4000000u,
	    now + 5000000000u + 5000000u, now + 9000000u, &rtt, &off), 0);
	CHECK(rtt == 8000000);
	CHECK(off == 5000000000);
	/* the peer's hold time over the round trip: RTT 0 */
	CHECK_INT(link_pong_times(now, now, now + 20, now + 10, &rtt, &off),
	    0);
	CHECK(rtt == 0);
	CHECK(off == 5);
	/* a peer far behind: the offset is negative, no overflow */
	CHECK_INT(link_pong_times(now, 0, 0, now, &rtt, &off), 0);
	CHECK(rtt == 0);
	CHECK(off == -(int64_t)now);
	rtt = off = 7;
	CHECK_INT(link_pong_times(big, 0, UINT64_MAX, now, &rtt, &off),
	    ERR_PARSE);
	CHECK_INT(link_pong_times(now, big, big + 1, now + 1, &rtt, &off),
	    ERR_PARSE);
	CHECK_INT(link_pong_times(now, 0, UINT64_MAX, now + 1, &rtt, &off),
	    ERR_PARSE);
	CHECK_INT(link_pong_times(now + 1, now, now, now, &rtt, &off),
	    ERR_PARSE);
	CHECK_INT(link_pong_times(now, now + 2, now + 1, now + 5, &rtt, &off),
	    ERR_PARSE);
	CHECK(rtt == 7 && off == 7);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	RUN(test_both_ways);
	RUN(test_sizes);
	RUN(test_tamper_replay);
	RUN(test_rekey_in_flight);
	RUN(test_rekey_due);
	RUN(test_source_key);
	RUN(test_pong_times);
	return harness_summary();
}
