/* test_handshake.c: the link handshake messages (link/handshake.h): a
 * round trip, layout, mac1 before any DH, wrong keys, tampering, TAI64N
 * timestamps and the rule that a sender's timestamps only grow. */
#include "../harness.h"
#include "test_link_common.h"

/* Runs a handshake; returns 0 and the four cipher states on success. */
static int
run_hs(const struct chan *ci, const struct chan *cr, uint8_t init[LINK_INIT_LEN],
    struct noise_cipher cs[4])
{
	struct noise_handshake hi, hr;
	struct link_hs_params pi, pr;
	uint8_t ts[LINK_TS_LEN], got_ts[LINK_TS_LEN], resp[LINK_RESP_LEN];
	int r;

	params(&pi, ci, 0);
	params(&pr, cr, 1);
	pi.random = pr.random = test_random;
	link_ts_encode(ts, 1700000000123456789ull);
	if ((r = link_hs_write_init(&hi, &pi, ts, init)) != 0)
		return r;
	if ((r = link_mac1_check(init, LINK_INIT_LEN, pr.mac1_key)) != 0)
		goto fail;
	if ((r = link_hs_read_init(&hr, &pr, init, LINK_INIT_LEN, got_ts)) != 0)
		goto fail;
	if (memcmp(ts, got_ts, LINK_TS_LEN) != 0) {
		r = ERR_INVALID;
		goto fail;
	}
	if ((r = link_hs_write_resp(&hr, &pr, resp, &cs[2], &cs[3])) != 0)
		goto fail;
	return link_hs_read_resp(&hi, &pi, resp, sizeof resp, &cs[0], &cs[1]);
fail:
	noise_handshake_fini(&hi);
	return r;
}

static void
test_round_trip(void)
{
	struct chan c;
	struct noise_cipher cs[4];
	uint8_t init[LINK_INIT_LEN], id[32], path;

	chan_make(&c);
	CHECK_INT(run_hs(&c, &c, init, cs), 0);
	/* initiator's send is responder's receive and vice versa */
	CHECK_MEM(cs[0].k, cs[3].k, 32);
	CHECK_MEM(cs[1].k, cs[2].k, 32);
	CHECK(memcmp(cs[0].k, cs[1].k, 32) != 0);
	/* layout */
	CHECK_INT(LINK_INIT_LEN, 160);
	CHECK_INT(LINK_RESP_LEN, 68);
	CHECK_INT(init[0], LINK_TYPE_INIT);
	CHECK_INT(init[1], LINK_VERSION);
	CHECK_INT(init[2], 1);
	CHECK_INT(init[3], 0);
	CHECK_MEM(init + 4, c.id, 32);
	CHECK_INT(link_init_peek(init, sizeof init, id, &path), 0);
	CHECK_MEM(id, c.id, 32);
	CHECK_INT(path, 1);
}

static void
test_peek_refusals(void)
{
	struct chan c;
	struct noise_cipher cs[4];
	uint8_t init[LINK_INIT_LEN], id[32], path;

	chan_make(&c);
	CHECK_INT(run_hs(&c, &c, init, cs), 0);
	CHECK_INT(link_init_peek(init, sizeof init - 1, id, &path), ERR_PARSE);
	init[0] = LINK_TYPE_RESP;
	CHECK_INT(link_init_peek(init, sizeof init, id, &path), ERR_PARSE);
	init[0] = LINK_TYPE_INIT;
	init[1] = 2;
	CHECK_INT(link_init_peek(init, sizeof init, id, &path), ERR_VERSION);
	init[1] = LINK_VERSION;
	init[3] = 1;
	CHECK_INT(link_init_peek(init, sizeof init, id, &path), ERR_PARSE);
}

/* Any changed bit of an initiation fails mac1; mac1 under another PSK
 * fails. */
static void
test_mac1(void)
{
	struct chan c, other;
	struct noise_cipher cs[4];
	uint8_t init[LINK_INIT_LEN];
	int bad = 0;

	chan_make(&c);
	CHECK_INT(run_hs(&c, &c, init, cs), 0);
	CHECK_INT(link_mac1_check(init, sizeof init, c.mac1), 0);
	for (size_t i = 0; i < sizeof init; i++) {
		init[i] ^= 0x01;
		if (link_mac1_check(init, sizeof init, c.mac1) != ERR_MAC)
			bad++;
		init[i] ^= 0x01;
	}
	CHECK_INT(bad, 0);
	other = c;
	memset(other.psk, 0x56, 32);
	link_mac1_key(other.mac1, other.psk);
	CHECK_INT(link_mac1_check(init, sizeof init, other.mac1), ERR_MAC);
	CHECK_INT(link_mac1_check(init, 3, c.mac1), ERR_PARSE);
}

static void
test_wrong_keys(void)
{
	struct chan c, r;
	struct noise_cipher cs[4];
	uint8_t init[LINK_INIT_LEN];

	chan_make(&c);
	/* the responder expects another initiator key */
	r = c;
	party_make(&r.a, 9);
	CHECK_INT(run_hs(&c, &r, init, cs), ERR_FOREIGN);
	/* the initiator has the wrong key for the responder */
	r = c;
	party_make(&r.b, 7);
	CHECK_INT(run_hs(&r, &c, init, cs), ERR_CRYPTO);
	/* another PSK: mac1 refuses before any DH */
	r = c;
	memset(r.psk, 0x66, 32);
	link_mac1_key(r.mac1, r.psk);
	CHECK_INT(run_hs(&c, &r, init, cs), ERR_MAC);
	/* another channel id: the prologues differ */
	r = c;
	memset(r.id, 0x40, 32);
	CHECK_INT(run_hs(&c, &r, init, cs), ERR_CRYPTO);
}

/* A response with any bit flipped is refused. */
static void
test_response_tamper(void)
{
	struct chan c;
	struct noise_handshake hi, hr;
	struct link_hs_params pi, pr;
	struct noise_cipher s, rcv, s2, r2;
	uint8_t ts[LINK_TS_LEN], got[LINK_TS_LEN], init[LINK_INIT_LEN];
	uint8_t resp[LINK_RESP_LEN];
	int fails = 0;

	chan_make(&c);
	params(&pi, &c, 0);
	params(&pr, &c, 1);
	pi.random = pr.random = test_random;
	link_ts_encode(ts, 5);
	for (size_t i = 0; i < LINK_RESP_LEN; i += 3) {
		CHECK_INT(link_hs_write_init(&hi, &pi, ts, init), 0);
		CHECK_INT(link_hs_read_init(&hr, &pr, init, sizeof init, got),
		    0);
		CHECK_INT(link_hs_write_resp(&hr, &pr, resp, &s2, &r2), 0);
		resp[i] ^= 0x80;
		if (link_hs_read_resp(&hi, &pi, resp, sizeof resp, &s, &rcv)
		    == 0)
			fails++;
	}
	CHECK_INT(fails, 0);
}

static void
test_timestamps(void)
{
	uint8_t a[LINK_TS_LEN], b[LINK_TS_LEN], n[LINK_TS_LEN];
	static const uint8_t want[LINK_TS_LEN] = { 0x40, 0, 0, 0, 0, 0, 0, 1,
	    0x3b, 0x9a, 0xc9, 0xff };

	link_ts_encode(a, 1999999999ull);
	CHECK_MEM(a, want, LINK_TS_LEN);
	link_ts_encode(b, 2000000000ull);
	CHECK(link_ts_cmp(a, b) < 0);
	CHECK(link_ts_cmp(b, a) > 0);
	CHECK_INT(link_ts_cmp(a, a), 0);
	/* the clock moved on: now */
	link_ts_next(n, a, 3000000000ull);
	link_ts_encode(b, 3000000000ull);
	CHECK_MEM(n, b, LINK_TS_LEN);
	/* the clock stepped back: last + 1 ns, with carry into seconds */
	link_ts_next(n, a, 5);
	CHECK(link_ts_cmp(n, a) > 0);
	link_ts_encode(b, 2000000000ull);
	CHECK_MEM(n, b, LINK_TS_LEN);
	/* in place */
	link_ts_next(a, a, 0);
	CHECK_MEM(a, b, LINK_TS_LEN);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	RUN(test_round_trip);
	RUN(test_peek_refusals);
	RUN(test_mac1);
	RUN(test_wrong_keys);
	RUN(test_response_tamper);
	RUN(test_timestamps);
	return harness_summary();
}
