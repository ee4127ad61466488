/*
 * link.h: the node's links: for each channel and each of its paths, one
 * authenticated, encrypted session with the peer over TCP, kept up over
 * libevent (docs/link.md). Both sides listen on their own path addresses
 * and dial the peer's; when two sessions form on one path, the one started
 * by the party whose static key sorts lower survives.
 *
 * The layer above (messages) sees sessions only through struct link_upper
 * (records in, path up/down) and link_send (records out).
 */
#ifndef PARLEY_LINK_LINK_H
#define PARLEY_LINK_LINK_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "crypto/agreement.h"
#include "crypto/keys.h"
#include "link/handshake.h"
#include "link/transport.h"

#define LINK_MAX_CHANNELS 64
#define LINK_MAX_LISTEN 16
#define LINK_STATE_FILE "link.state"
#define LINK_STATE_VERSION 1

/* Tuning knobs (parleyd.conf, docs/parleyd.8.md); link_config_defaults. */
struct link_config {
	uint64_t rekey_records;		/* rekey after this many records */
	uint32_t rekey_seconds;		/* ... or this many seconds */
	uint32_t handshake_timeout_ms;	/* pending handshakes are closed */
	uint32_t pending_max;		/* pending handshakes, all sources */
	uint32_t pending_per_source;	/* pending handshakes per address */
	uint32_t backoff_min_ms, backoff_max_ms;	/* redial delays */
	uint32_t heartbeat_ms;		/* 0: the agreement's interval */
	size_t out_max;			/* bytes queued per session */
	size_t nlisten;			/* overrides the agreement addresses */
	char listen[LINK_MAX_LISTEN][AGREEMENT_ADDR_MAX + 1];
};

/* The layer above; every callback may be NULL. */
struct link_upper {
	/* A record of type >= LINK_REC_UPPER_MIN arrived on a path. */
	void (*deliver)(void *ctx, const uint8_t channel_id[LINK_ID_LEN],
	    unsigned path, uint8_t type, const uint8_t *body, size_t len);
	/* A path came up or went down. Up again while up: a new session
	 * replaced the path's (the duplicate rule) and what was sent on
	 * the old one is gone; no down comes between. */
	void (*path_change)(void *ctx, const uint8_t channel_id[LINK_ID_LEN],
	    unsigned path, bool up);
	void *ctx;
};

/* One path's state, for status. Times are unix milliseconds. */
struct link_path_status {
	unsigned index;
	char local[AGREEMENT_ADDR_MAX + 1], peer[AGREEMENT_ADDR_MAX + 1];
	bool up;
	uint64_t since_ms;		/* of the last up/down change; 0 never */
	bool have_rtt;
	double rtt_ms, offset_ms;	/* offset: peer clock minus ours */
	bool we_initiated;
	bool dialling;			/* a dial of ours is under way (name
					   lookup, connect, handshake): its
					   session may still replace this
					   one (the duplicate rule) */
	uint64_t records_tx, records_rx, rekeys, handshakes;
	uint64_t init_dh;		/* initiations read with Diffie-Hellman
					   (past mac1), as listener */
	uint64_t init_refused_no_dh;	/* past mac1, refused before any DH:
					   seen before, or the source over
					   its budget (docs/link.md 3.3) */
	uint64_t test_rx, test_gaps;
	uint64_t unread;		/* link_queued: bytes on their way */
};

struct link_channel_status {
	uint8_t id[LINK_ID_LEN];
	char peer[KEYS_NAME_MAX + 1];
	char fingerprint[FINGERPRINT_STR_LEN];
	uint64_t not_before, not_after;
	int usable;			/* 0, or why not (ERR_EXPIRED, ...) */
	uint32_t heartbeat_ms;
	unsigned npaths;
	struct link_path_status paths[AGREEMENT_MAX_PATHS];
};

struct link;

void link_config_defaults(struct link_config *cfg);

/*
 * Starts the links of node k for the agreements ags (n of them; copied) on
 * base: listens, dials, reads HOME/link.state. k is borrowed and must
 * outlive the link. Agreements that are not currently valid are kept for
 * status and get no sessions while they are not; validity is checked
 * again on each initiation and at each not_before/not_after boundary
 * (docs/link.md, section 1). rekey_records and rekey_seconds above the
 * protocol's maxima are lowered to them.
 */
int link_new(struct event_base *base, const char *home, const struct keys *k,
    const struct agreement *ags, size_t n, const struct link_config *cfg,
    const struct link_upper *up, struct link **out) WUR;
/*
 * Closes every session and listener; NULL does nothing. Name lookups
 * still pending are cancelled first; evdns completes a cancellation from
 * the loop, so then (only then) link_free runs base without blocking
 * (EVLOOP_NONBLOCK: until nothing is ready, so other ready callbacks run
 * too), with the link still whole and dialling stopped: call it where
 * that is safe (parleyd: after the loop returned, before the layers the
 * link calls up into are freed). Called from inside the loop, that run
 * is refused by libevent: the cancelled lookups free themselves when
 * their callbacks come, touching nothing of the link, and their evdns
 * resolver is left allocated for them (a small leak, logged at debug).
 */
void link_free(struct link *l);

/*
 * Queues one record on a path's session. ERR_CLOSED when the path is down,
 * ERR_NOT_FOUND for an unknown channel or path, ERR_FULL when the session's
 * output queue is over its cap, ERR_TOO_BIG over LINK_RECORD_MAX,
 * ERR_INVALID for a link record type (below LINK_REC_UPPER_MIN), ERR_NOMEM.
 * 0 means queued, not delivered: when writing it to the socket fails, the
 * record stays queued and the session ends through its handlers (path
 * down, as after link_flush), never with an error here.
 */
int link_send(struct link *l, const uint8_t channel_id[LINK_ID_LEN],
    unsigned path, uint8_t type, const uint8_t *body, size_t len) WUR;
/*
 * link_send for bulk (the messages' bodies), paced by the path: also
 * ERR_FULL while the session's output, its queue and its socket, would
 * hold more than the peer's side took from the socket in the last 5 s
 * (at least 128 KiB). So on a slow path what is queued after it (a
 * receipt, a rekey's initiation, a FLASH) waits about 5 s, or 128 KiB's
 * time, not behind the 4 MiB of out_max (210 s at 20 kB/s, past the
 * rekey guard: docs/link.md 5);
 * on a fast one the peer takes it at once. Records under 4 KiB go as
 * with link_send.
 */
int link_send_bulk(struct link *l, const uint8_t channel_id[LINK_ID_LEN],
    unsigned path, uint8_t type, const uint8_t *body, size_t len) WUR;
/*
 * Write coalescing. After link_hold, link_send only queues: link_flush
 * then writes each session's queue in one system call (instead of one per
 * record) and ends the hold. Use it around a burst of sends with nothing
 * slow before the burst's end (link_flush before an fsync, so the records
 * are on the wire while it runs). A hold not ended by link_flush ends at
 * the end of the event loop's turn. Handshake frames are never held. A
 * write that fails in link_flush ends that session through its read
 * handler, as a broken socket always does; link_flush makes no callback.
 */
void link_hold(struct link *l);
void link_flush(struct link *l);
/* Bytes of a path's session still on their way: its output queue, and
 * what the kernel holds in the socket not yet acknowledged by the peer's
 * TCP (SIOCOUTQ; not counted where the kernel cannot tell). 0 when the
 * path is down or unknown. The layer above tells a slow path from a
 * stalled one by it. */
size_t link_queued(struct link *l, const uint8_t channel_id[LINK_ID_LEN],
    unsigned path);
/* Ends the session on a path (the layer above found a record it refuses);
 * the link dials again as after any failure. ERR_CLOSED, ERR_NOT_FOUND. */
int link_drop(struct link *l, const uint8_t channel_id[LINK_ID_LEN],
    unsigned path, const char *why) WUR;
/* Sends count LINK_REC_TEST records on a path (the peer counts them and
 * their gaps), for tests of rekeying under traffic. */
int link_send_test(struct link *l, const uint8_t channel_id[LINK_ID_LEN],
    unsigned path, uint32_t count) WUR;

/* Number of channels, and one channel's status. */
size_t link_channel_count(const struct link *l);
int link_channel_status(const struct link *l, size_t i,
    struct link_channel_status *out) WUR;
/* This node's name and link-key fingerprint. */
const struct node_identity *link_identity(const struct link *l);

#endif
