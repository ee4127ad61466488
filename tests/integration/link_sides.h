/*
 * link_sides.h: helpers shared by the integration tests that run the link
 * layer in-process (it_link_api.c, it_link_api_fake.c, it_link_replay.c):
 * two struct link, north and south, on one libevent loop (base), with
 * their keys in homes under tmpdir and one signed north-south agreement
 * (ag) on 127.0.0.1 ports from base_port; their link_upper handlers
 * (counts per side); starting and stopping a side; running the loop until
 * a condition; for a test that plays south on the wire, south's handshake
 * parameters and initiations (make_init); and the end of main
 * (sides_end).
 *
 * The including file defines, before the #include, its temporary
 * directory: static char tmpdir[] = "/tmp/parley-it-NAME-XXXXXX";
 * and includes "../harness.h" (CHECK_INT). Every function and global is
 * static and marked unused: each program takes what it needs.
 */
#ifndef PARLEY_TESTS_LINK_SIDES_H
#define PARLEY_TESTS_LINK_SIDES_H

#include <arpa/inet.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ports.h"
#include "crypto/agreement.h"
#include "crypto/keys.h"
#include "link/link.h"

#define LS_UNUSED __attribute__((unused))

struct side {
	const char *name;
	char home[1200];
	struct keys k;
	struct link *l;
	int ups, downs;
	int nrec;
	uint8_t last_type;
	unsigned last_path;
	uint8_t last_channel[LINK_ID_LEN];
	size_t last_len;
	uint8_t last_hash[32];
	uint64_t seq_next;		/* for on_record: the next index */
	int seq_bad;			/* ... records not the one expected */
};

static LS_UNUSED struct side north = { .name = "north" },
    south = { .name = "south" };
static LS_UNUSED struct agreement ag;	/* north-south, path 0 only */
static LS_UNUSED struct event_base *base;
static LS_UNUSED int base_port;		/* north's path 0; south's + 1 */
/* Overrides for the next side_start (0: the default). */
static LS_UNUSED size_t opt_out_max;
static LS_UNUSED uint32_t opt_rekey_s, opt_hb_ms, opt_hs_ms;
static LS_UNUSED const char *opt_listen;	/* the one address to listen
						   on, for the agreement's */
/* How long run_until runs the loop between looks at its condition. */
static LS_UNUSED long run_slice_us = 20000;
/* When set, on_deliver calls it for each record, after its counts. */
static LS_UNUSED void (*on_record)(struct side *s, uint8_t type,
    const uint8_t *body, size_t len);

static LS_UNUSED void
on_change(void *ctx, const uint8_t id[LINK_ID_LEN], unsigned path, bool up)
{
	struct side *s = ctx;

	(void)id;
	(void)path;
	if (up)
		s->ups++;
	else
		s->downs++;
}

static LS_UNUSED void
on_deliver(void *ctx, const uint8_t id[LINK_ID_LEN], unsigned path,
    uint8_t type, const uint8_t *body, size_t len)
{
	struct side *s = ctx;

	s->nrec++;
	s->last_type = type;
	s->last_path = path;
	memcpy(s->last_channel, id, LINK_ID_LEN);
	s->last_len = len;
	crypto_generichash(s->last_hash, 32, body, len, NULL, 0);
	if (on_record != NULL)
		on_record(s, type, body, len);
}

/* Runs the loop until cond() or ms pass; returns cond(). */
static LS_UNUSED bool
run_until(bool (*cond)(void), int ms)
{
	struct timeval tv = { 0, run_slice_us };
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (cond())
			return true;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if ((t1.tv_sec - t0.tv_sec) * 1000 +
		    (t1.tv_nsec - t0.tv_nsec) / 1000000 > ms)
			return false;
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
}

static LS_UNUSED bool both_up(void) { return north.ups >= 1 && south.ups >= 1; }
static LS_UNUSED bool north_up_1(void) { return north.ups >= 1; }
static LS_UNUSED bool north_up_2(void) { return north.ups >= 2; }
static LS_UNUSED bool north_down_1(void) { return north.downs >= 1; }

/*
 * Ports: a free block of nports in [lo, hi) (ports.h), base_port its
 * first; tmpdir made; north's and south's keys in tmpdir/north and
 * tmpdir/south; ag signed by both, path 0 at 127.0.0.1:base_port (north)
 * and base_port + 1 (south), valid from a minute ago for a day,
 * heartbeat 1 s. False on any failure.
 */
static LS_UNUSED bool
sides_setup(int lo, int hi, int nports)
{
	struct side *sd[2] = { &north, &south };

	if ((base_port = ports_pick(lo, hi, nports)) < 0 ||
	    mkdtemp(tmpdir) == NULL)
		return false;
	agreement_defaults(&ag);
	for (int i = 0; i < 2; i++) {
		struct side *s = sd[i];
		snprintf(s->home, sizeof s->home, "%s/%s", tmpdir, s->name);
		if (keys_create(s->home, s->name) != 0 ||
		    keys_load(&s->k, s->home) != 0)
			return false;
		snprintf(ag.party[i].name, sizeof ag.party[i].name, "%s",
		    s->name);
		memcpy(ag.party[i].link_pub, s->k.id.link_pub, 32);
		memcpy(ag.party[i].sign_pub, s->k.id.sign_pub, 32);
		snprintf(ag.party[i].paths[0], sizeof ag.party[i].paths[0],
		    "127.0.0.1:%d", base_port + i);
	}
	ag.npaths = 1;
	randombytes_buf(ag.psk, sizeof ag.psk);
	ag.created = ag.not_before = (uint64_t)time(NULL) - 60;
	ag.not_after = ag.created + 86400;
	ag.heartbeat_s = 1;
	return agreement_finalize(&ag) == 0 &&
	    agreement_sign(&ag, &north.k) == 0 &&
	    agreement_sign(&ag, &south.k) == 0;
}

/* Starts s's link on the nag agreements ags, backoff 50..500 ms,
 * rekey_records (0: the default) and the opt_* overrides; its counts
 * reset. */
static LS_UNUSED void
side_start(struct side *s, const struct agreement *ags, size_t nag,
    uint64_t rekey_records)
{
	struct link_config cfg;
	struct link_upper up = { on_deliver, on_change, s };

	link_config_defaults(&cfg);
	cfg.backoff_min_ms = 50;
	cfg.backoff_max_ms = 500;
	if (rekey_records)
		cfg.rekey_records = rekey_records;
	if (opt_out_max)
		cfg.out_max = opt_out_max;
	if (opt_rekey_s)
		cfg.rekey_seconds = opt_rekey_s;
	if (opt_hb_ms)
		cfg.heartbeat_ms = opt_hb_ms;
	if (opt_hs_ms)
		cfg.handshake_timeout_ms = opt_hs_ms;
	if (opt_listen) {
		cfg.nlisten = 1;
		snprintf(cfg.listen[0], sizeof cfg.listen[0], "%s",
		    opt_listen);
	}
	s->ups = s->downs = s->nrec = 0;
	s->seq_next = 0;
	s->seq_bad = 0;
	CHECK_INT(link_new(base, s->home, &s->k, ags, nag, &cfg, &up, &s->l),
	    0);
}

static LS_UNUSED void
stop(struct side *s)
{
	link_free(s->l);
	s->l = NULL;
}

static LS_UNUSED void
stop_both(void)
{
	stop(&north);
	stop(&south);
}

/* Stops both sides (if running), frees base, wipes north's and south's
 * keys and ag, removes tmpdir. The end of main, before its summary. */
static LS_UNUSED void
sides_end(void)
{
	char cmd[200];

	stop_both();
	event_base_free(base);
	keys_fini(&north.k);
	keys_fini(&south.k);
	agreement_wipe(&ag);
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
	(void)!system(cmd);
}

static LS_UNUSED void
fake_rand(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	randombytes_buf(buf, len);
}

/* South's handshake parameters, for a test that plays south on the wire
 * (mk: room for the mac1 key). */
static LS_UNUSED void
south_hs_params(struct link_hs_params *hp, uint8_t mk[32])
{
	link_mac1_key(mk, ag.psk);
	memset(hp, 0, sizeof *hp);
	memcpy(hp->channel_id, ag.id, LINK_ID_LEN);
	hp->local_priv = south.k.link_priv;
	hp->peer_pub = north.k.id.link_pub;
	hp->psk = ag.psk;
	hp->mac1_key = mk;
	hp->random = fake_rand;
}

/* 127.0.0.1:port, to bind or connect to. */
static LS_UNUSED struct sockaddr_in
loopback(int port)
{
	struct sockaddr_in sa;

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sa;
}

/* The wall clock in ns (a handshake's timestamp). */
static LS_UNUSED uint64_t
unix_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* South's initiation with timestamp ts_ns, with its length header, into
 * out; its handshake state into hs (may be NULL: discarded). */
static LS_UNUSED void
make_init(uint8_t out[2 + LINK_INIT_LEN], uint64_t ts_ns,
    struct noise_handshake *hs)
{
	struct link_hs_params hp;
	struct noise_handshake tmp;
	uint8_t mk[32], ts[LINK_TS_LEN];

	south_hs_params(&hp, mk);
	link_ts_encode(ts, ts_ns);
	CHECK_INT(link_hs_write_init(hs ? hs : &tmp, &hp, ts, out + 2), 0);
	if (hs == NULL)
		noise_handshake_fini(&tmp);
	out[0] = 0;
	out[1] = LINK_INIT_LEN;
}

#endif
