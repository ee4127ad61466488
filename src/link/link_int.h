/*
 * link_int.h: the link layer's private structures, shared by link.c
 * (channels, paths, listeners, dialling, the duplicate rule, status),
 * conn.c (one TCP connection: its life, reads, frames and writes),
 * conn_handshake.c (its handshakes and rekeying), conn_health.c
 * (heartbeats, silence, PONGs), state.c (the timestamp file), resolve.c
 * (asynchronous name lookups for dials) and util.c (clocks, addresses,
 * the refusal log). Not for use outside src/link/.
 */
#ifndef PARLEY_LINK_LINK_INT_H
#define PARLEY_LINK_LINK_INT_H

#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "link/frame.h"
#include "link/handshake.h"
#include "link/link.h"
#include "link/transport.h"

struct link_conn;
struct link_channel;

/* replay.c (docs/link.md 3.3 and 6): per path, a ring of the digests of
 * the last LINK_REPLAY_SLOTS initiations read with Diffie-Hellman; per
 * source, a budget of initiations refused after Diffie-Hellman (a burst,
 * then one per interval), for LINK_DH_SOURCES sources. Protocol-visible
 * numbers: change them with the page. */
#define LINK_REPLAY_SLOTS 32
#define LINK_PING_MARKS 16	/* PINGs in flight remembered per session */
/* Bulk (link_send_bulk): the output holds at most what the peer's side
 * took in the last LINK_DRAIN_SECS seconds, and at least LINK_BULK_FLOOR. */
#define LINK_DRAIN_SECS 5
#define LINK_BULK_FLOOR (128u << 10)
#define LINK_BULK_MIN 4096	/* shorter bulk records are not paced */
#define LINK_REPLAY_DIGEST_LEN 16
#define LINK_DH_SOURCES 256
#define LINK_DH_REFUSED_BURST 8
#define LINK_DH_REFUSED_MS 1000u

struct link_dh_source {
	uint8_t channel[LINK_ID_LEN];	/* a budget is a source's
					   on one channel */
	char src[48];			/* link_source_key; "" free */
	uint64_t due_ms;		/* monotonic: the GCRA's due time */
};
struct link_lookup;
struct evdns_base;

struct link_path {
	struct link_channel *ch;
	unsigned index;
	const char *local_addr;		/* in ch->ag */
	const char *peer_addr;
	struct link_conn *session;	/* the established session, or NULL */
	struct link_conn *dialing;	/* our dial in progress, or NULL */
	struct link_lookup *lookup;	/* its name lookup (before the dial
					   has a connection), or NULL */
	bool resolve_failed;		/* a lookup failed since the last one
					   that succeeded: logged already */
	/* The address a name's lookup gave the last dial (resolve.c: the
	 * next dial takes the one after it); dialled_len 0: none, or the
	 * path was up since. */
	struct sockaddr_storage dialled;
	socklen_t dialled_len;
	struct event *redial;		/* backoff timer */
	uint32_t backoff_ms;
	uint64_t up_at_ms;		/* monotonic: the session's start */
	bool up;
	uint64_t since_ms;		/* unix ms of the last change */
	bool have_rtt;
	int64_t rtt_ns, offset_ns;
	uint64_t records_tx, records_rx, rekeys, handshakes;
	uint64_t test_rx, test_gaps, test_next;
	uint8_t ts_sent[LINK_TS_LEN];	/* last initiation timestamp sent */
	uint8_t ts_accepted[LINK_TS_LEN]; /* last one accepted from the peer */
	/* replay.c: digests of the last initiations read with DH (a ring) */
	uint8_t seen[LINK_REPLAY_SLOTS][LINK_REPLAY_DIGEST_LEN];
	unsigned nseen, seen_next;
	uint64_t init_dh, init_refused_no_dh;	/* for status */
};

struct link_channel {
	struct link *link;
	struct agreement ag;
	int self;			/* our party index */
	int usable;			/* 0, or ERR_EXPIRED / _NOT_YET_VALID */
	uint8_t mac1_key[32];
	bool we_lower;			/* our static key sorts lower */
	char idhex[9];			/* first 8 hex digits, for logs */
	struct link_path paths[AGREEMENT_MAX_PATHS];
};

enum conn_state {
	CONN_CONNECTING,	/* our dial; waiting for connect() */
	CONN_WAIT_INIT,		/* accepted; waiting for an initiation */
	CONN_WAIT_RESP,		/* our initiation sent; waiting for the answer */
	CONN_UP,		/* session established */
	CONN_DEAD,		/* failed; to be freed by the event handler */
};

struct link_conn {
	TAILQ_ENTRY(link_conn) entry;
	struct link *link;
	struct link_path *path;		/* NULL while a listener does not know */
	int fd;
	enum conn_state state;
	bool initiator;			/* we started the session's handshake */
	bool held;			/* out has frames a hold kept */
	uint32_t hs_out;		/* bytes of out up to the end of the
					   last handshake frame queued: not
					   yet written while > 0 */
	struct event *rev;		/* read; handshake deadline as timeout */
	struct event *wev;		/* write; created when first needed */
	struct event *hb;		/* heartbeat timer, while up */
	struct event *silence;		/* one-shot: peer silent too long */
	struct event *rekey_wait;	/* one-shot: a rekey due sooner than
					   LINK_REKEY_MIN_MS after the keys */
	struct frame_reader fr;		/* before the session is up */
	uint8_t hsbuf[LINK_INIT_LEN];	/* its frame */
	struct frame_chunk in;		/* once up; a buffer only while
					   bytes are held (conn.c, inv. 6) */
	struct evbuffer *out;		/* created when first needed */
	struct noise_handshake *hs;	/* our pending initiation, or NULL */
	struct link_transport *tr;	/* while up */
	uint64_t deadline_ms;		/* handshake deadline (monotonic) */
	uint64_t last_rx_ms;
	uint64_t last_ping_ms;		/* 0: none yet */
	/* What the peer has read of our stream (docs/link.md 8,
	 * link_queued): bytes of frames queued so far, the end of the last
	 * record of the layer above among them, and how far the peer has
	 * read: the position after the last PING whose PONG came back (a
	 * TCP stream is read in order). PINGs in flight, oldest first,
	 * with their t1 and that position: when full, the newest is
	 * replaced, and none is added while the newest covers upper_end
	 * (conn_health.c ping_mark). */
	uint64_t tx_bytes, upper_end, read_mark;
	struct {
		uint64_t t1, mark;
	} pings[LINK_PING_MARKS];
	unsigned npings;
	/* Bytes the socket took, ever; and for link_send_bulk, by second
	 * (a ring of the last LINK_DRAIN_SECS), how many of them the peer's
	 * side had taken (written less what the socket held). */
	uint64_t written;
	uint64_t acked_at[LINK_DRAIN_SECS], acked_sec[LINK_DRAIN_SECS];
	uint64_t test_seq;
	char peer[56];			/* "address:port" for logs */
	char src[48];			/* address only, for per-source caps */
};

TAILQ_HEAD(link_conn_list, link_conn);

struct link {
	struct event_base *base;
	char home[1024];
	const struct keys *keys;
	struct link_config cfg;
	struct link_upper up;
	struct link_channel *ch;	/* nch of them */
	size_t nch;
	struct evconnlistener *lis[LINK_MAX_LISTEN];
	char lisaddr[LINK_MAX_LISTEN][AGREEMENT_ADDR_MAX + 1];
	size_t nlis;
	struct event *validity;		/* agreement validity timer */
	struct link_conn_list conns;
	uint32_t pending;		/* conns in CONN_WAIT_INIT */
	bool hold;			/* link_hold: sends only queue */
	uint8_t *rspare;		/* a FRAME_CHUNK_LEN read buffer that no
					   session holds, or NULL */
	struct event *flushev;		/* ends a hold with the turn */
	uint64_t rlog_ms;		/* refusal log: start of the window */
	uint32_t rlog_count, rlog_dropped;
	struct evdns_base *dns;		/* for dials to host names; created
					   with the first lookup */
	struct link_lookup *cancelled;	/* lookups cancelled whose callback
					   (deferred by evdns) has not run */
	char *dns_bad;			/* the bad nameserver value logged
					   last (resolve.c), or NULL */
	bool closing;			/* link_free: no new dial */
	struct link_dh_source dhsrc[LINK_DH_SOURCES];	/* replay.c */
	char fpr[FINGERPRINT_STR_LEN];
};

/* util.c. Clocks: monotonic milliseconds, unix nanoseconds. */
uint64_t link_now_ms(void);
uint64_t link_unix_ns(void);
void link_random(void *ctx, uint8_t *buf, size_t len);

/* link.c: the path a session belongs to. */
struct link_channel *link_find_channel(struct link *l,
    const uint8_t id[LINK_ID_LEN]);
/* A session became established on p: applies the duplicate rule. Returns
 * false when c lost and must be closed. */
bool link_path_attach(struct link_path *p, struct link_conn *c);
/* c is going away: updates its path (down, redial). */
void link_path_detach(struct link_conn *c, const char *why);
void link_hs_params(struct link_path *p, struct link_hs_params *hp);
/* Checks ch's agreement against the clock; when it stopped being valid,
 * closes the channel's sessions and dials (except, the caller's own
 * connection, is only marked dead); when it became valid, listens and
 * dials. Returns the new ch->usable. */
int link_channel_recheck(struct link_channel *ch, struct link_conn *except);
/* At least this often; and at each not_before/not_after boundary. */
#define LINK_VALIDITY_CHECK_MS 60000u
/* A session up this long resets the dial backoff. */
#define LINK_STABLE_MS 10000u

/* The name lookup of a dial ended (not when cancelled): r is 0 with the
 * address in sa, or the failure, named in why. Dials, or logs and
 * schedules the next dial. */
void link_path_resolved(struct link_path *p, int r, const char *why,
    const struct sockaddr *sa, socklen_t salen);

/* conn.c */
int link_conn_accept(struct link *l, int fd, const struct sockaddr *sa,
    socklen_t salen);
/* Starts p's dial (a connection in CONN_CONNECTING) to the address sa. */
int link_conn_dial(struct link_path *p, const struct sockaddr *sa,
    socklen_t salen);
/* Queues frame p (n bytes) on c and writes it; hs: a handshake frame. */
int link_conn_send_frame(struct link_conn *c, const uint8_t *p, size_t n,
    bool hs) WUR;
/* Last in c's event handlers: frees c when it is dead (CONN_DEAD). */
void link_conn_finish(struct link_conn *c);

/* conn_handshake.c: sends an initiation on c's path (first or rekey). */
int link_conn_start_initiation(struct link_conn *c) WUR;
/* An initiation frame came on c: answered (up, or rekeyed), or c fails. */
void link_conn_on_init_frame(struct link_conn *c, const uint8_t *msg,
    size_t len);
/* A response frame came on c: its keys installed (up, or rekeyed), or c
 * fails. */
void link_conn_on_resp_frame(struct link_conn *c, const uint8_t *msg,
    size_t len);
/* Starts a rekey when this side initiated the session and one is due. */
void link_conn_maybe_rekey(struct link_conn *c);

/* conn_health.c: c's handshake is done: takes the keys, arms the timers,
 * attaches c to its path (may fail c). */
void link_conn_become_up(struct link_conn *c, struct noise_cipher *send,
    struct noise_cipher *recv, uint64_t keyed_ms);
/* Arms the timer ev to fire ms milliseconds from now. */
void link_conn_add_ms(struct event *ev, uint64_t ms);
/* A PONG record (LINK_PONG_LEN bytes at b) came on c. */
void link_conn_on_pong(struct link_conn *c, const uint8_t *b);
/* Bytes of c's records of the layer above (and what came before them)
 * that the peer has not shown it read: no PONG came for a PING queued
 * after them. */
uint64_t link_conn_unread(const struct link_conn *c);

/* resolve.c: dials to host names (docs/link.md, section 1). Lookups are
 * bounded to about LINK_RESOLVE_TIMEOUT_S * LINK_RESOLVE_ATTEMPTS
 * seconds. The environment variable LINK_NAMESERVER_ENV (a test hook)
 * replaces resolv.conf and /etc/hosts with that one nameserver. */
#define LINK_RESOLVE_TIMEOUT_S 5
#define LINK_RESOLVE_ATTEMPTS 2
#define LINK_NAMESERVER_ENV "PARLEY_NAMESERVER"
/* Looks host (a name, not numeric), port up for p's dial; the answer goes
 * to link_path_resolved, from the loop or before this returns. 0, or why
 * the lookup could not start (nothing was called). */
int link_resolve_start(struct link_path *p, const char *host,
    const char *port) WUR;
/* Cancels p's lookup, if any: link_path_resolved will not be called. */
void link_resolve_cancel(struct link_path *p);
/* After every lookup is cancelled: runs the loop without blocking (until
 * nothing is ready: event_base_loop's EVLOOP_NONBLOCK) when evdns still
 * owes cancelled callbacks (they free their records), then detaches the
 * records still owed from the link (their callback, if it ever comes,
 * frees only its record) and frees the evdns base. */
void link_resolve_fini(struct link *l);
/* util.c: at most LINK_REFUSAL_LOG_BURST refusal lines a second; the
 * rest are counted and summed up in one line. */
#define LINK_REFUSAL_LOG_BURST 20
void link_log_refusal(struct link *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Marks c dead with a log line (level lvl). */
void link_conn_fail(struct link_conn *c, int lvl, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Frees c (its path must already be detached). */
void link_conn_free(struct link_conn *c);
int link_conn_send(struct link_conn *c, uint8_t type, const uint8_t *body,
    size_t len) WUR;
/* Writes what a hold kept back in c->out (c->held). A write error is left
 * to c's read handler, which finds the socket broken and ends c. */
void link_conn_flush(struct link_conn *c);
/* Whether a bulk record of n bytes waits (link_send_bulk): c's output,
 * queued and in the socket (in_socket: SIOCOUTQ), would hold more than
 * the peer's side took in the last LINK_DRAIN_SECS seconds (at least
 * LINK_BULK_FLOOR). */
bool link_conn_bulk_full(struct link_conn *c, size_t in_socket, size_t n);
/* util.c: the per-source key for pending caps: src (as link_addr_str
 * left it) is kept for IPv4; for IPv6 it becomes the /64 ("P::/64"). */
void link_source_key(const struct sockaddr *sa, char *src, size_t cap);
/* util.c: "address:port" (and the address alone into src), and
 * HOST:PORT / [V6]:PORT split (host without brackets; port points into
 * addr) or resolved: link_addr_parse with the blocking getaddrinfo (listen
 * addresses, at startup), link_addr_numeric without DNS (ERR_NOT_FOUND:
 * the host is a name; ERR_INVALID: malformed). */
void link_addr_str(const struct sockaddr *sa, char *out, size_t cap,
    char *src, size_t srccap);
int link_addr_split(const char *addr, char host[AGREEMENT_ADDR_MAX + 1],
    const char **port) WUR;
int link_addr_parse(const char *addr, bool passive,
    struct sockaddr_storage *ss, socklen_t *len) WUR;
int link_addr_numeric(const char *addr, struct sockaddr_storage *ss,
    socklen_t *len) WUR;

/* replay.c: the digest of an initiation (BLAKE2b, 16 bytes of the whole
 * message); whether p read one with that digest among its last
 * LINK_REPLAY_SLOTS (with DH), and noting one read. */
void link_init_digest(uint8_t d[LINK_REPLAY_DIGEST_LEN], const uint8_t *msg,
    size_t len);
bool link_replay_seen(const struct link_path *p,
    const uint8_t d[LINK_REPLAY_DIGEST_LEN]);
void link_replay_note(struct link_path *p,
    const uint8_t d[LINK_REPLAY_DIGEST_LEN]);
/* replay.c: whether source src (link_source_key) may still cost a DH on
 * an initiation for channel id that may be refused; and charging it for
 * one that was refused after its DH. A source's budget is its own on each
 * channel: who holds one channel's PSK spends no other channel's. */
bool link_dh_budget_ok(struct link *l, const uint8_t id[LINK_ID_LEN],
    const char *src, uint64_t now_ms);
void link_dh_budget_charge(struct link *l, const uint8_t id[LINK_ID_LEN],
    const char *src, uint64_t now_ms);

/* state.c: HOME/link.state (docs/link.md, "State file"). */
int link_state_load(struct link *l) WUR;
int link_state_save(struct link *l) WUR;

#endif
