/*
 * conn.c: one TCP connection of the link layer, from accept or connect to
 * close: the handshake, then records, heartbeats and rekeying
 * (docs/link.md). The protocol itself is in the pure engines
 * (frame.c, handshake.c, transport.c); this file moves bytes.
 *
 * Invariants:
 *  1. Before the session is up a connection reads into hsbuf only, and at
 *     most the one frame size its state allows: it never buffers more than
 *     LINK_INIT_LEN bytes, whatever the peer sends.
 *  2. A listener answers nothing until an initiation has passed its header
 *     check, the channel lookup, mac1 (before any DH), the replay checks
 *     (replay.c: seen before, the source's budget; before any DH), the
 *     Noise read, the peer key check and the timestamp check. Any failure
 *     closes silently with one log line.
 *  3. A pending handshake has an absolute deadline (handshake_timeout_ms),
 *     counted from the start of the dial or the accept.
 *  4. Only the session's initiator starts a rekey; one at a time; none
 *     sooner than LINK_REKEY_MIN_MS after the keys (the responder ends a
 *     session whose rekey comes sooner than LINK_REKEY_REFUSE_MS). A rekey
 *     has no deadline of its own: keys used past the guard's limits end
 *     the session, at either side (heartbeat()).
 *  5. A connection is freed only by its own event handlers (or by the
 *     duplicate rule, outside its handlers), after link_path_detach.
 *  6. An established session reads in chunks (up to FRAME_CHUNK_LEN bytes
 *     a read) and cuts its frames from them; it holds a chunk buffer only
 *     while it holds bytes not yet cut (at most one chunk), and gives it
 *     back when they are all cut (to the link's one spare, or free). An
 *     idle session holds no read buffer.
 *  7. At most FRAMES_PER_READ frames per read callback; bytes left over
 *     in the chunk make the callback run again (event_active), since the
 *     socket may have nothing new to wake it.
 *
 *   accept -> WAIT_INIT -(init ok, response sent)-> UP
 *   dial -> CONNECTING -(connected, init sent)-> WAIT_RESP -(resp ok)-> UP
 *   any -(error, timeout, EOF, duplicate lost)-> DEAD -> freed
 */
#include "link/link_int.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/hex.h"
#include "base/log.h"

#define FRAMES_PER_READ 64	/* then yield to other connections */

static void on_read(evutil_socket_t fd, short what, void *arg);
static void on_write(evutil_socket_t fd, short what, void *arg);
static void on_heartbeat(evutil_socket_t fd, short what, void *arg);
static void heartbeat(struct link_conn *c);
static void on_silence(evutil_socket_t fd, short what, void *arg);
static void finish(struct link_conn *c);

void
link_conn_fail(struct link_conn *c, int lvl, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	if (c->state == CONN_DEAD)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	/* An established session's end is logged once, as "path down";
	 * strangers' refusals through the rate limit. */
	if (c->state == CONN_WAIT_INIT && lvl == LOG_LVL_WARN)
		link_log_refusal(c->link, "%s", why);
	else if (c->path == NULL || c->path->session != c)
		log_msg((enum log_level)lvl, "%s", why);
	if (c->state == CONN_WAIT_INIT)
		c->link->pending--;
	c->state = CONN_DEAD;
	link_path_detach(c, why);
}

void
link_conn_free(struct link_conn *c)
{
	if (c == NULL)
		return;
	if (c->state == CONN_WAIT_INIT)
		c->link->pending--;
	TAILQ_REMOVE(&c->link->conns, c, entry);
	if (c->rev)
		event_free(c->rev);
	if (c->wev)
		event_free(c->wev);
	if (c->hb)
		event_free(c->hb);
	if (c->silence)
		event_free(c->silence);
	if (c->rekey_wait)
		event_free(c->rekey_wait);
	if (c->out)
		evbuffer_free(c->out);
	if (c->hs) {
		noise_handshake_fini(c->hs);
		free(c->hs);
	}
	if (c->tr) {
		link_transport_fini(c->tr);
		free(c->tr);
	}
	free(c->in.buf);
	if (c->fd >= 0)
		close(c->fd);
	sodium_memzero(c, sizeof *c);
	free(c);
}

static struct link_conn *
conn_new(struct link *l, int fd, enum conn_state st)
{
	struct link_conn *c;

	if ((c = calloc(1, sizeof *c)) == NULL)
		return NULL;
	c->link = l;
	c->fd = fd;
	c->state = st;
	c->rev = event_new(l->base, fd, EV_READ | EV_PERSIST, on_read, c);
	if (c->rev == NULL) {
		free(c);
		return NULL;
	}
	TAILQ_INSERT_TAIL(&l->conns, c, entry);
	return c;
}

/* Arms the read event with what is left of the handshake deadline. */
static void
arm_read(struct link_conn *c)
{
	struct timeval tv;
	uint64_t now = link_now_ms(), left;

	if (c->state == CONN_UP) {
		/* No deadline, not even for a rekey (heartbeat(): the
		 * guard): event_add(rev, NULL) would keep the old timeout
		 * of a persistent event armed. */
		event_remove_timer(c->rev);
		event_add(c->rev, NULL);
		return;
	}
	left = c->deadline_ms > now ? c->deadline_ms - now : 1;
	tv.tv_sec = (time_t)(left / 1000);
	tv.tv_usec = (suseconds_t)(left % 1000 * 1000);
	event_add(c->rev, &tv);
}

bool
link_conn_bulk_full(struct link_conn *c, size_t in_socket, size_t n)
{
	uint64_t sec = link_now_ms() / 1000, acked, oldest, cap;
	size_t queued = c->out != NULL ? evbuffer_get_length(c->out) : 0;
	unsigned i = (unsigned)(sec % LINK_DRAIN_SECS);

	/* what the peer's side has taken: written less what the socket
	 * still holds; its first value in each second, for LINK_DRAIN_SECS */
	acked = c->written > in_socket ? c->written - in_socket : 0;
	if (c->acked_sec[i] != sec) {
		c->acked_sec[i] = sec;
		c->acked_at[i] = acked;
	}
	oldest = acked;
	for (i = 0; i < LINK_DRAIN_SECS; i++)
		if (sec - c->acked_sec[i] < LINK_DRAIN_SECS &&
		    c->acked_at[i] < oldest)
			oldest = c->acked_at[i];
	cap = acked - oldest;
	if (cap < LINK_BULK_FLOOR)
		cap = LINK_BULK_FLOOR;
	return queued + in_socket > 0 && queued + in_socket + n > cap;
}

static int
flush(struct link_conn *c)
{
	int n;

	while (evbuffer_get_length(c->out) > 0) {
		n = evbuffer_write(c->out, c->fd);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == EINTR)
				continue;
			return ERR_IO;
		}
		if (n == 0)
			break;
		c->written += (uint64_t)n;
		c->hs_out = (uint32_t)n >= c->hs_out ? 0 :
		    c->hs_out - (uint32_t)n;
	}
	if (evbuffer_get_length(c->out) > 0) {
		if (c->wev == NULL && (c->wev = event_new(c->link->base, c->fd,
		    EV_WRITE | EV_PERSIST, on_write, c)) == NULL)
			return ERR_NOMEM;
		event_add(c->wev, NULL);
	} else if (c->wev)
		event_del(c->wev);
	return 0;
}

/*
 * A write failed (flush): c is ended by its handlers, not here (no
 * callback from here, and the frame is queued, as under a hold): the
 * write handler tries again and, failing, ends it, even when the read
 * handler sees only EAGAIN (ENOBUFS).
 */
static void
write_failed(struct link_conn *c)
{
	if (c->wev == NULL)
		c->wev = event_new(c->link->base, c->fd, EV_WRITE | EV_PERSIST,
		    on_write, c);
	if (c->wev != NULL)
		event_active(c->wev, EV_WRITE, 0);
	event_active(c->rev, EV_READ, 0);
}

/*
 * Queues one frame (length header added here) and tries to send it, unless
 * the link holds sends (link_hold): then link_flush, or the end of the
 * loop's turn, writes it with the rest. A handshake frame (hs) is written
 * at once (a hold never delays a handshake), and passes the out_max cap: a
 * full queue must not end the session at its next rekey; there is at most
 * one such frame pending (on_init_frame ends a session whose initiator
 * sends a rekey before our last response was written). A frame queued is
 * not refused when the write fails: c ends through its handlers
 * (write_failed), as after link_flush; ERR_FULL, ERR_NOMEM, ERR_TOO_BIG.
 */
static int
send_frame(struct link_conn *c, const uint8_t *p, size_t n, bool hs)
{
	uint8_t hdr[FRAME_HDR_LEN];
	int r;

	if ((r = frame_header(hdr, n)) != 0)
		return r;
	if (c->out == NULL && (c->out = evbuffer_new()) == NULL)
		return ERR_NOMEM;
	if (!hs && evbuffer_get_length(c->out) + n > c->link->cfg.out_max)
		return ERR_FULL;
	if (evbuffer_add(c->out, hdr, sizeof hdr) != 0 ||
	    evbuffer_add(c->out, p, n) != 0)
		return ERR_NOMEM;
	c->tx_bytes += sizeof hdr + n;
	if (hs)
		c->hs_out = evbuffer_get_length(c->out) > UINT32_MAX ?
		    UINT32_MAX : (uint32_t)evbuffer_get_length(c->out);
	if (c->link->hold && !hs) {
		c->held = true;
		event_active(c->link->flushev, EV_TIMEOUT, 0);
		return 0;
	}
	c->held = false;
	if ((r = flush(c)) != 0)
		write_failed(c);
	return 0;
}

void
link_conn_flush(struct link_conn *c)
{
	if (!c->held)
		return;
	c->held = false;
	if (c->state != CONN_DEAD && c->out != NULL && flush(c) != 0)
		write_failed(c);
}

int
link_conn_send(struct link_conn *c, uint8_t type, const uint8_t *body,
    size_t len)
{
	uint8_t *buf;
	size_t n, cap = LINK_DATA_LEN(len);
	int r;

	if (c->state != CONN_UP)
		return ERR_CLOSED;
	if (len > LINK_RECORD_MAX)
		return ERR_TOO_BIG;
	if (c->out && evbuffer_get_length(c->out) + cap > c->link->cfg.out_max)
		return ERR_FULL;
	if ((buf = malloc(cap)) == NULL)
		return ERR_NOMEM;
	r = link_transport_seal(c->tr, type, body, len, buf, cap, &n);
	if (r == 0)
		r = send_frame(c, buf, n, false);
	free(buf);
	if (r != 0)
		return r;
	if (type >= LINK_REC_UPPER_MIN)
		c->upper_end = c->tx_bytes;
	c->path->records_tx++;
	return 0;
}

/* Starts a handshake as initiator on c's path: first or rekey. */
static int
start_initiation(struct link_conn *c)
{
	struct link_path *p = c->path;
	struct link_hs_params hp;
	uint8_t msg[LINK_INIT_LEN];
	int r;

	if ((c->hs = malloc(sizeof *c->hs)) == NULL)
		return ERR_NOMEM;
	link_ts_next(p->ts_sent, p->ts_sent, link_unix_ns());
	link_hs_params(p, &hp);
	/* Durable before it is used: a restart never sends an older one. */
	if ((r = link_state_save(c->link)) != 0 ||
	    (r = link_hs_write_init(c->hs, &hp, p->ts_sent, msg)) != 0) {
		free(c->hs);
		c->hs = NULL;
		return r;
	}
	/* A first handshake keeps the deadline set at the dial; a rekey
	 * has none of its own (heartbeat(): the guard). */
	return send_frame(c, msg, sizeof msg, true);
}

static uint32_t
heartbeat_ms(const struct link_conn *c)
{
	return c->link->cfg.heartbeat_ms ? c->link->cfg.heartbeat_ms :
	    c->path->ch->ag.heartbeat_s * 1000u;
}

static void
add_ms(struct event *ev, uint64_t ms)
{
	struct timeval tv;

	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000 * 1000);
	event_add(ev, &tv);
}

/*
 * The silence timer: one-shot, due at last_rx_ms + LINK_DEAD_INTERVALS
 * heartbeat intervals. Reads only move last_rx_ms; when the timer fires
 * early (bytes arrived since it was armed) it is armed again for the rest,
 * so the peer is declared down exactly when the silence is long enough.
 */
static void
arm_silence(struct link_conn *c)
{
	uint64_t dead = LINK_DEAD_INTERVALS * (uint64_t)heartbeat_ms(c);
	uint64_t now = link_now_ms(), due = c->last_rx_ms + dead;

	add_ms(c->silence, due > now ? due - now : 0);
}

static void
on_silence(evutil_socket_t fd, short what, void *arg)
{
	struct link_conn *c = arg;
	uint64_t dead, now = link_now_ms();

	(void)fd;
	(void)what;
	if (c->state != CONN_UP)
		return;
	dead = LINK_DEAD_INTERVALS * (uint64_t)heartbeat_ms(c);
	if (now - c->last_rx_ms >= dead) {
		link_conn_fail(c, LOG_LVL_WARN, "peer %s silent for %llu ms",
		    c->peer, (unsigned long long)(now - c->last_rx_ms));
		finish(c);
		return;
	}
	arm_silence(c);
}

/* keyed_ms: when the keys count as installed (the responder's, taken
 * before its response went: on_init_frame). */
static void
become_up(struct link_conn *c, struct noise_cipher *send,
    struct noise_cipher *recv, uint64_t keyed_ms)
{
	struct link *l = c->link;
	uint32_t hb = heartbeat_ms(c);

	if ((c->tr = calloc(1, sizeof *c->tr)) == NULL) {
		noise_cipher_fini(send);
		noise_cipher_fini(recv);
		link_conn_fail(c, LOG_LVL_ERROR, "out of memory");
		return;
	}
	link_transport_init(c->tr, send, recv, c->initiator, keyed_ms);
	if (c->state == CONN_WAIT_INIT)
		l->pending--;
	c->state = CONN_UP;
	c->last_rx_ms = link_now_ms();
	c->path->handshakes++;
	frame_chunk_init(&c->in, FRAME_MAX);
	c->hb = event_new(l->base, -1, EV_PERSIST, on_heartbeat, c);
	c->silence = evtimer_new(l->base, on_silence, c);
	if (c->hb == NULL || c->silence == NULL) {
		link_conn_fail(c, LOG_LVL_ERROR, "out of memory");
		return;
	}
	/* Ticks at a quarter interval for pings (every interval) and rekey
	 * deadlines, but at least every quarter of rekey_seconds: an idle
	 * session under a long heartbeat (up to 3600 s) still rekeys on time,
	 * before the responder's guard (LINK_GUARD_MS) ends it. Silence has
	 * its own exact timer. */
	hb = hb / 4;
	if (hb > l->cfg.rekey_seconds * 1000u / 4)
		hb = l->cfg.rekey_seconds * 1000u / 4;
	add_ms(c->hb, hb < 50 ? 50 : hb);
	arm_silence(c);
	if (!link_path_attach(c->path, c))
		return;
	/* First heartbeat at once, so RTT and offset are known early. */
	heartbeat(c);
}

/*
 * After mac1, before any Diffie-Hellman (replay.c, docs/link.md 3.3): an
 * initiation read with DH before on this path is refused at once, and so
 * is one from a source that spent its budget of initiations refused after
 * DH. Otherwise it is noted as read and 0 returned: the caller does DH.
 */
static int
dh_allowed(struct link_conn *c, struct link_path *p, const uint8_t *msg,
    size_t len, const char *idhex)
{
	uint8_t d[LINK_REPLAY_DIGEST_LEN];

	link_init_digest(d, msg, len);
	if (link_replay_seen(p, d)) {
		p->init_refused_no_dh++;
		link_conn_fail(c, LOG_LVL_WARN, "handshake from %s refused: "
		    "replayed initiation (seen before) on channel %s path %u",
		    c->peer, idhex, p->index);
		return ERR_REPLAY;
	}
	if (!link_dh_budget_ok(c->link, p->ch->ag.id, c->src, link_now_ms())) {
		p->init_refused_no_dh++;
		link_conn_fail(c, LOG_LVL_WARN, "handshake from %s refused: "
		    "too many initiations from %s refused after "
		    "Diffie-Hellman (at most %d, then one every %u ms) on "
		    "channel %s path %u", c->peer, c->src,
		    LINK_DH_REFUSED_BURST, LINK_DH_REFUSED_MS, idhex,
		    p->index);
		return ERR_FULL;
	}
	p->init_dh++;
	link_replay_note(p, d);
	return 0;
}

/*
 * The listener's checks on an initiation, cheapest first (invariant 2).
 * On success the response is queued and the keys are in send/recv.
 */
static int
answer_init(struct link_conn *c, const uint8_t *msg, size_t len,
    struct noise_cipher *send, struct noise_cipher *recv)
{
	struct link *l = c->link;
	struct noise_handshake hs;
	struct link_hs_params hp;
	struct link_channel *ch;
	struct link_path *p;
	uint8_t id[LINK_ID_LEN], path, ts[LINK_TS_LEN], resp[LINK_RESP_LEN];
	char idhex[2 * LINK_ID_LEN + 1];
	int r;

	if ((r = link_init_peek(msg, len, id, &path)) != 0) {
		link_conn_fail(c, LOG_LVL_WARN, "handshake from %s refused: "
		    "%s", c->peer, r == ERR_VERSION ? "unsupported version" :
		    "not an initiation");
		return r;
	}
	hex_encode(idhex, id, 4);
	if ((ch = link_find_channel(l, id)) == NULL) {
		link_conn_fail(c, LOG_LVL_WARN, "handshake from %s refused: "
		    "unknown channel %s", c->peer, idhex);
		return ERR_NOT_FOUND;
	}
	if (link_channel_recheck(ch, c) != 0) {
		link_conn_fail(c, LOG_LVL_WARN, "handshake from %s refused: "
		    "channel %s agreement %s", c->peer, idhex,
		    err_str(ch->usable));
		return ch->usable;
	}
	if (path >= ch->ag.npaths) {
		link_conn_fail(c, LOG_LVL_WARN, "handshake from %s refused: "
		    "no path %u on channel %s", c->peer, path, idhex);
		return ERR_INVALID;
	}
	p = &ch->paths[path];
	if (c->path != NULL && c->path != p) {
		link_conn_fail(c, LOG_LVL_WARN, "rekey from %s refused: "
		    "another channel or path", c->peer);
		return ERR_INVALID;
	}
	if ((r = link_mac1_check(msg, len, ch->mac1_key)) != 0) {
		link_conn_fail(c, LOG_LVL_WARN, "handshake from %s refused: "
		    "bad mac1 for channel %s", c->peer, idhex);
		return r;
	}
	if ((r = dh_allowed(c, p, msg, len, idhex)) != 0)
		return r;
	link_hs_params(p, &hp);
	if ((r = link_hs_read_init(&hs, &hp, msg, len, ts)) != 0) {
		link_dh_budget_charge(l, p->ch->ag.id, c->src, link_now_ms());
		link_conn_fail(c, LOG_LVL_WARN, "handshake from %s refused: "
		    "%s on channel %s path %u", c->peer, r == ERR_FOREIGN ?
		    "unknown static key" : "Noise decryption failed (wrong "
		    "keys)", idhex, path);
		return r;
	}
	if (link_ts_cmp(ts, p->ts_accepted) <= 0) {
		noise_handshake_fini(&hs);
		link_dh_budget_charge(l, p->ch->ag.id, c->src, link_now_ms());
		link_conn_fail(c, LOG_LVL_WARN, "handshake from %s refused: "
		    "replayed initiation (timestamp not newer) on channel %s "
		    "path %u", c->peer, idhex, path);
		return ERR_REPLAY;
	}
	memcpy(p->ts_accepted, ts, LINK_TS_LEN);
	if ((r = link_state_save(l)) != 0) {
		noise_handshake_fini(&hs);
		link_conn_fail(c, LOG_LVL_ERROR, "cannot save %s: %s",
		    LINK_STATE_FILE, err_str(r));
		return r;
	}
	if ((r = link_hs_write_resp(&hs, &hp, resp, send, recv)) != 0) {
		link_conn_fail(c, LOG_LVL_WARN, "handshake from %s failed: %s",
		    c->peer, err_str(r));
		return r;
	}
	c->path = p;
	if ((r = send_frame(c, resp, sizeof resp, true)) != 0) {
		noise_cipher_fini(send);
		noise_cipher_fini(recv);
		link_conn_fail(c, LOG_LVL_INFO, "handshake with %s: cannot "
		    "send response: %s", c->peer, err_str(r));
		return r;
	}
	return 0;
}

static void
on_init_frame(struct link_conn *c, const uint8_t *msg, size_t len)
{
	struct noise_cipher send, recv;
	uint64_t now = link_now_ms();

	/* One rekey at a time: the initiator cannot have read a response
	 * we have not written yet. Otherwise each initiation would queue a
	 * response over out_max (send_frame), without bound, from a peer
	 * that does not read. */
	if (c->state == CONN_UP && c->hs_out > 0) {
		link_conn_fail(c, LOG_LVL_WARN, "rekey from %s refused: the "
		    "response to the last one is not yet sent", c->peer);
		return;
	}
	/* Not too often: each rekey costs us DH and a durable write. A
	 * conforming initiator waits LINK_REKEY_MIN_MS after its keys
	 * (installed after ours: keyed_ms is taken before the response is
	 * sent); the protocol's constant, not a local setting. */
	if (c->state == CONN_UP && now - c->tr->keyed_ms <
	    LINK_REKEY_REFUSE_MS) {
		link_conn_fail(c, LOG_LVL_WARN, "rekey from %s refused: %llu "
		    "ms after the last keys, under the protocol's minimum of "
		    "%u ms (a rekey flood)", c->peer,
		    (unsigned long long)(now - c->tr->keyed_ms),
		    LINK_REKEY_REFUSE_MS);
		return;
	}
	if (answer_init(c, msg, len, &send, &recv) != 0)
		return;
	if (c->state == CONN_UP) {
		link_transport_rekey(c->tr, &send, &recv, now);
		c->path->rekeys++;
		log_debug("channel %s path %u: rekeyed (as responder)",
		    c->path->ch->idhex, c->path->index);
		return;
	}
	c->initiator = false;
	log_info("channel %s path %u: session from %s established",
	    c->path->ch->idhex, c->path->index, c->peer);
	become_up(c, &send, &recv, now);
}

static void
on_resp_frame(struct link_conn *c, const uint8_t *msg, size_t len)
{
	struct noise_cipher send, recv;
	struct link_hs_params hp;
	int r;

	if (c->hs == NULL) {
		link_conn_fail(c, LOG_LVL_WARN, "%s: unexpected handshake "
		    "response", c->peer);
		return;
	}
	link_hs_params(c->path, &hp);
	r = link_hs_read_resp(c->hs, &hp, msg, len, &send, &recv);
	free(c->hs);
	c->hs = NULL;
	if (r != 0) {
		link_conn_fail(c, LOG_LVL_WARN, "handshake with %s failed: "
		    "response refused (%s) on channel %s path %u", c->peer,
		    err_str(r), c->path->ch->idhex, c->path->index);
		return;
	}
	if (c->state == CONN_UP) {
		link_transport_rekey(c->tr, &send, &recv, link_now_ms());
		c->path->rekeys++;
		log_debug("channel %s path %u: rekeyed (as initiator)",
		    c->path->ch->idhex, c->path->index);
		return;
	}
	if (c->path->dialing == c)
		c->path->dialing = NULL;
	c->initiator = true;
	log_info("channel %s path %u: session to %s established",
	    c->path->ch->idhex, c->path->index, c->peer);
	become_up(c, &send, &recv, link_now_ms());
}

static void
on_rekey_wait(evutil_socket_t fd, short what, void *arg)
{
	struct link_conn *c = arg;

	(void)fd;
	(void)what;
	link_conn_maybe_rekey(c);
	finish(c);
}

void
link_conn_maybe_rekey(struct link_conn *c)
{
	struct link_config *cfg = &c->link->cfg;
	int r;

	uint64_t now = link_now_ms();

	if (c->state != CONN_UP || !c->tr->initiator || c->hs != NULL)
		return;
	if (!link_transport_rekey_due(c->tr, now, cfg->rekey_records,
	    (uint64_t)cfg->rekey_seconds * 1000u))
		return;
	/* Due, but the responder refuses rekeys this soon (on_init_frame):
	 * started by a timer at the minimum, not at the next tick. */
	if (now - c->tr->keyed_ms < LINK_REKEY_MIN_MS) {
		if (c->rekey_wait == NULL && (c->rekey_wait = evtimer_new(
		    c->link->base, on_rekey_wait, c)) == NULL) {
			link_conn_fail(c, LOG_LVL_ERROR, "out of memory");
			return;
		}
		if (!evtimer_pending(c->rekey_wait, NULL))
			add_ms(c->rekey_wait, LINK_REKEY_MIN_MS -
			    (now - c->tr->keyed_ms));
		return;
	}
	if ((r = start_initiation(c)) != 0)
		link_conn_fail(c, LOG_LVL_WARN, "rekey failed: %s",
		    err_str(r));
}

/*
 * A PING queued: its t1 and where it ends in our stream, so that its
 * PONG says how far the peer has read (link_queued, docs/link.md 4.1).
 * None when the newest PING in flight already ends after our last record
 * of the layer above: its PONG shows all of them read, and a mark for
 * this one would show no more. When all LINK_PING_MARKS are taken, this
 * PING takes the newest's place: the older ones stay, so the PONGs, which
 * come in order, go on matching them however late they come (dropping
 * the oldest instead, PONGs later than LINK_PING_MARKS PINGs would each
 * match a mark already dropped, and the peer would never be shown to
 * have read anything while it keeps answering late).
 */
static void
ping_mark(struct link_conn *c, uint64_t t1)
{
	if (c->npings != 0 && c->pings[c->npings - 1].mark >= c->upper_end)
		return;
	if (c->npings == LINK_PING_MARKS)
		c->npings--;
	c->pings[c->npings].t1 = t1;
	c->pings[c->npings++].mark = c->tx_bytes;
}

/* A PONG echoing t1: the peer has read our stream up to that PING. */
static void
ping_answered(struct link_conn *c, uint64_t t1)
{
	for (unsigned i = 0; i < c->npings; i++) {
		if (c->pings[i].t1 != t1)
			continue;
		c->read_mark = c->pings[i].mark;
		memmove(c->pings, c->pings + i + 1, (c->npings - i - 1) *
		    sizeof c->pings[0]);
		c->npings -= i + 1;
		return;
	}
}

uint64_t
link_conn_unread(const struct link_conn *c)
{
	return c->upper_end > c->read_mark ? c->upper_end - c->read_mark : 0;
}

/* The times are the peer's to choose: impossible ones are ignored
 * (link_pong_times), never computed with (signed overflow). */
static void
on_pong(struct link_conn *c, const uint8_t *b)
{
	struct link_path *p = c->path;
	int64_t rtt, offset;

	ping_answered(c, link_get64(b));
	if (link_pong_times(link_get64(b), link_get64(b + 8),
	    link_get64(b + 16), link_unix_ns(), &rtt, &offset) != 0)
		return;
	p->rtt_ns = rtt;
	p->offset_ns = offset;
	p->have_rtt = true;
}

static void
on_record(struct link_conn *c, uint8_t type, const uint8_t *b, size_t n)
{
	struct link_path *p = c->path;
	uint8_t pong[LINK_PONG_LEN];
	uint64_t seq;
	int r;

	p->records_rx++;
	switch (type) {
	case LINK_REC_PING:
		if (n != LINK_PING_LEN)
			break;
		memcpy(pong, b, 8);
		link_put64(pong + 8, link_unix_ns());
		link_put64(pong + 16, link_unix_ns());
		if ((r = link_conn_send(c, LINK_REC_PONG, pong, sizeof pong))
		    != 0 && r != ERR_FULL)
			link_conn_fail(c, LOG_LVL_INFO, "send failed: %s",
			    err_str(r));
		break;
	case LINK_REC_PONG:
		if (n == LINK_PONG_LEN)
			on_pong(c, b);
		break;
	case LINK_REC_TEST:
		if (n != LINK_TEST_LEN)
			break;
		seq = link_get64(b);
		if (seq != p->test_next)
			p->test_gaps++;
		p->test_next = seq + 1;
		p->test_rx++;
		break;
	default:
		if (type >= LINK_REC_UPPER_MIN && c->link->up.deliver)
			c->link->up.deliver(c->link->up.ctx, p->ch->ag.id,
			    p->index, type, b, n);
		break;
	}
}

/* A whole frame arrived on c. */
static void
on_frame(struct link_conn *c, uint8_t *f, size_t n)
{
	const uint8_t *body;
	size_t blen;
	uint8_t type;
	int r;

	switch (c->state) {
	case CONN_WAIT_INIT:
		on_init_frame(c, f, n);
		return;
	case CONN_WAIT_RESP:
		on_resp_frame(c, f, n);
		return;
	case CONN_UP:
		break;
	default:
		return;
	}
	c->last_rx_ms = link_now_ms();
	if (f[0] == LINK_TYPE_INIT && !c->tr->initiator) {
		on_init_frame(c, f, n);
		return;
	}
	if (f[0] == LINK_TYPE_RESP) {
		on_resp_frame(c, f, n);
		return;
	}
	if ((r = link_transport_open(c->tr, f, n, &type, &body, &blen)) != 0) {
		link_conn_fail(c, LOG_LVL_WARN, "record from %s refused (%s)",
		    c->peer, err_str(r));
		return;
	}
	on_record(c, type, body, blen);
	if (c->state == CONN_UP)
		link_conn_maybe_rekey(c);
}

/* A read ended in EOF (got 0) or an error (got < 0). */
static void
read_failed(struct link_conn *c, ssize_t got, bool partial)
{
	if (c->state == CONN_WAIT_INIT)
		link_conn_fail(c, LOG_LVL_WARN, "handshake from %s refused: %s",
		    c->peer, got == 0 ? (partial ? "truncated frame" :
		    "closed without a frame") : "read error");
	else
		link_conn_fail(c, LOG_LVL_INFO, "connection to %s %s", c->peer,
		    got == 0 ? "closed by peer" : "failed");
}

/* A frame's length was refused (r: ERR_PARSE or ERR_TOO_BIG). */
static void
bad_length(struct link_conn *c, int r, size_t len)
{
	link_conn_fail(c, LOG_LVL_WARN, "%s from %s refused: bad frame length "
	    "%zu%s", c->state == CONN_UP ? "frame" : "handshake", c->peer, len,
	    r == ERR_TOO_BIG ? " (oversized)" : "");
}

/*
 * Before the session is up (invariant 1): exactly the one frame the state
 * allows, header then body, never a byte past it; bytes after it (the
 * peer's first records may share its TCP segment) stay in the socket for
 * read_records, under the keys it brings.
 */
static void
read_handshake(struct link_conn *c)
{
	enum conn_state st = c->state;
	uint8_t *dst;
	size_t want;
	ssize_t got;
	int r;

	while (c->state == st) {
		dst = frame_reader_want(&c->fr, &want);
		got = read(c->fd, dst, want);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (got <= 0) {
			read_failed(c, got, c->fr.hdr_got || c->fr.got);
			return;
		}
		r = frame_reader_got(&c->fr, (size_t)got);
		if (r == FRAME_HEADER && c->fr.len != (st == CONN_WAIT_INIT ?
		    LINK_INIT_LEN : LINK_RESP_LEN))
			r = ERR_PARSE;
		if (r < 0) {
			bad_length(c, r, c->fr.len);
			return;
		}
		if (r == FRAME_READY) {
			want = c->fr.len;
			frame_reader_next(&c->fr);
			on_frame(c, c->fr.buf, want);
		}
	}
}

/* Lends c a chunk buffer: the link's spare, or a new one. */
static int
chunk_take(struct link_conn *c)
{
	uint8_t *b = c->link->rspare;

	if (b != NULL)
		c->link->rspare = NULL;
	else if ((b = malloc(FRAME_CHUNK_LEN)) == NULL)
		return ERR_NOMEM;
	frame_chunk_set_buffer(&c->in, b, FRAME_CHUNK_LEN);
	return 0;
}

/* All of c's bytes are cut: its buffer goes back (invariant 6). */
static void
chunk_give(struct link_conn *c)
{
	uint8_t *b = c->in.buf;

	if (b == NULL || !frame_chunk_empty(&c->in))
		return;
	frame_chunk_set_buffer(&c->in, NULL, 0);
	if (c->link->rspare == NULL)
		c->link->rspare = b;
	else
		free(b);
}

/*
 * An established session: cuts the frames held, and reads a chunk when no
 * whole frame is left, until FRAMES_PER_READ frames (invariant 7), the
 * socket has nothing more, or c fails. A read that fills less than the
 * room it was given emptied the socket: no second read to hear EAGAIN
 * (the event is level-triggered; new bytes call again).
 */
static void
read_records(struct link_conn *c)
{
	unsigned frames = 0;
	bool drained = false;
	uint8_t *f, *dst;
	size_t n, room;
	ssize_t got;
	int r;

	while (c->state == CONN_UP) {
		if (frames == FRAMES_PER_READ) {
			if (!frame_chunk_empty(&c->in))
				event_active(c->rev, EV_READ, 0);
			break;
		}
		if ((r = frame_chunk_next(&c->in, &f, &n)) == FRAME_READY) {
			frames++;
			on_frame(c, f, n);
			continue;
		}
		if (r < 0) {
			bad_length(c, r, n);
			break;
		}
		if (drained)
			break;
		if (c->in.buf == NULL && (r = chunk_take(c)) != 0) {
			link_conn_fail(c, LOG_LVL_ERROR, "out of memory");
			break;
		}
		dst = frame_chunk_room(&c->in, &room);
		got = read(c->fd, dst, room);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (got <= 0) {
			read_failed(c, got, !frame_chunk_empty(&c->in));
			break;
		}
		/* A long record on a slow path is not silence. */
		c->last_rx_ms = link_now_ms();
		frame_chunk_got(&c->in, (size_t)got);
		drained = (size_t)got < room;
	}
	chunk_give(c);
}

static void
read_some(struct link_conn *c)
{
	if (c->state == CONN_WAIT_INIT || c->state == CONN_WAIT_RESP)
		read_handshake(c);
	/* Up now or before: records, including any that came with the
	 * handshake's last message. */
	if (c->state == CONN_UP)
		read_records(c);
}

static void
finish(struct link_conn *c)
{
	if (c->state == CONN_DEAD)
		link_conn_free(c);
}

static void
on_read(evutil_socket_t fd, short what, void *arg)
{
	struct link_conn *c = arg;

	(void)fd;
	if (c->state != CONN_UP) {
		if ((what & EV_TIMEOUT) || link_now_ms() >= c->deadline_ms) {
			if (c->state == CONN_WAIT_INIT)
				link_conn_fail(c, LOG_LVL_WARN, "handshake from "
				    "%s refused: no valid initiation within "
				    "%u ms", c->peer,
				    c->link->cfg.handshake_timeout_ms);
			else
				link_conn_fail(c, LOG_LVL_WARN, "handshake with "
				    "%s timed out after %u ms", c->peer,
				    c->link->cfg.handshake_timeout_ms);
			finish(c);
			return;
		}
	}
	read_some(c);
	if (c->state != CONN_DEAD)
		arm_read(c);
	finish(c);
}

static void
on_connected(struct link_conn *c)
{
	int err = 0, r;
	socklen_t el = sizeof err;

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0)
		err = errno;
	if (err != 0) {
		link_conn_fail(c, LOG_LVL_DEBUG, "channel %s path %u: dial %s "
		    "failed: %s", c->path->ch->idhex, c->path->index, c->peer,
		    strerror(err));
		return;
	}
	event_del(c->wev);
	c->state = CONN_WAIT_RESP;
	frame_reader_init(&c->fr, c->hsbuf, sizeof c->hsbuf, LINK_RESP_LEN);
	if ((r = start_initiation(c)) != 0) {
		link_conn_fail(c, LOG_LVL_WARN, "channel %s path %u: cannot "
		    "start handshake: %s", c->path->ch->idhex, c->path->index,
		    err_str(r));
		return;
	}
	arm_read(c);
}

static void
on_write(evutil_socket_t fd, short what, void *arg)
{
	struct link_conn *c = arg;

	(void)fd;
	if (c->state == CONN_CONNECTING) {
		if (what & EV_TIMEOUT)
			link_conn_fail(c, LOG_LVL_DEBUG, "channel %s path %u: "
			    "dial %s timed out", c->path->ch->idhex,
			    c->path->index, c->peer);
		else
			on_connected(c);
	} else if (c->out && flush(c) != 0)
		link_conn_fail(c, LOG_LVL_INFO, "%s: write failed: %s",
		    c->peer, strerror(errno));
	finish(c);
}

/* Liveness, rekey deadlines, and a ping; may fail c. */
static void
heartbeat(struct link_conn *c)
{
	uint64_t now = link_now_ms();
	uint32_t hb = heartbeat_ms(c);
	uint8_t ping[LINK_PING_LEN];
	int r;

	if (c->state != CONN_UP)
		return;
	/* The guard: keys used past twice the protocol's maxima end the
	 * session. At the responder the peer never rekeyed; at the
	 * initiator its rekey was never answered. A rekey has no shorter
	 * deadline: its initiation, and the response, may wait behind a
	 * full queue on a slow path while the peer is live (a dead peer is
	 * found by silence). Protocol constants, not our own (lower) knobs,
	 * which the peer need not share (docs/link.md, "Rekeying"). */
	if (link_transport_rekey_due(c->tr, now, LINK_GUARD_RECORDS,
	    LINK_GUARD_MS)) {
		if (c->tr->initiator)
			link_conn_fail(c, LOG_LVL_WARN, "rekey with %s not "
			    "answered", c->peer);
		else
			link_conn_fail(c, LOG_LVL_WARN, "peer %s did not "
			    "rekey", c->peer);
		return;
	}
	/* Between the interval's pings, one when the peer has not shown it
	 * read our last records and no PING is in flight to show it: else
	 * link_queued counts them until the next interval's PONG (up to
	 * 3600 s), and a true stall waits that long for its resend. At most
	 * one such PING in flight; none to a peer that answers none. */
	if (c->last_ping_ms != 0 && now - c->last_ping_ms < hb &&
	    (c->npings != 0 || link_conn_unread(c) == 0)) {
		link_conn_maybe_rekey(c);
		return;
	}
	c->last_ping_ms = now;
	link_put64(ping, link_unix_ns());
	if ((r = link_conn_send(c, LINK_REC_PING, ping, sizeof ping)) != 0 &&
	    r != ERR_FULL) {
		link_conn_fail(c, LOG_LVL_INFO, "send failed: %s",
		    err_str(r));
		return;
	}
	if (r == 0)
		ping_mark(c, link_get64(ping));
	link_conn_maybe_rekey(c);
}

static void
on_heartbeat(evutil_socket_t fd, short what, void *arg)
{
	struct link_conn *c = arg;

	(void)fd;
	(void)what;
	heartbeat(c);
	finish(c);
}

static int
set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return ERR_IO;
	return 0;
}

/* At a cap the oldest pending handshake (of the newcomer's source src,
 * or of any, src NULL) makes room: strangers cannot lock the real peer out
 * by holding every slot, nor every slot of the peer's own source (a NAT,
 * a shared /64); an honest initiation completes within one round trip. */
static bool
evict_oldest(struct link *l, const char *newcomer, const char *src,
    uint32_t pending)
{
	struct link_conn *o;

	TAILQ_FOREACH(o, &l->conns, entry)
		if (o->state == CONN_WAIT_INIT &&
		    (src == NULL || strcmp(o->src, src) == 0))
			break;
	if (o == NULL)
		return false;
	link_conn_fail(o, LOG_LVL_WARN, "handshake from %s refused: evicted "
	    "for %s (%u handshakes pending%s%s, %s cap)", o->peer, newcomer,
	    pending, src ? " from " : "", src ? src : "",
	    src ? "per-source" : "global");
	link_conn_free(o);
	return true;
}

int
link_conn_accept(struct link *l, int fd, const struct sockaddr *sa,
    socklen_t salen)
{
	struct link_conn *c, *o;
	char peer[56], src[48];
	uint32_t same = 0;
	int one = 1;

	(void)salen;
	link_addr_str(sa, peer, sizeof peer, src, sizeof src);
	link_source_key(sa, src, sizeof src);
	TAILQ_FOREACH(o, &l->conns, entry)
		if (o->state == CONN_WAIT_INIT && strcmp(o->src, src) == 0)
			same++;
	for (; same >= l->cfg.pending_per_source; same--)
		if (!evict_oldest(l, peer, src, same))
			break;
	while (l->pending >= l->cfg.pending_max)
		if (!evict_oldest(l, peer, NULL, l->pending))
			break;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (set_nonblock(fd) != 0 ||
	    (c = conn_new(l, fd, CONN_WAIT_INIT)) == NULL) {
		close(fd);
		return ERR_NOMEM;
	}
	l->pending++;
	memcpy(c->peer, peer, sizeof c->peer);
	memcpy(c->src, src, sizeof c->src);
	frame_reader_init(&c->fr, c->hsbuf, sizeof c->hsbuf, LINK_INIT_LEN);
	c->deadline_ms = link_now_ms() + l->cfg.handshake_timeout_ms;
	arm_read(c);
	log_debug("connection from %s", peer);
	return 0;
}

int
link_conn_dial(struct link_path *p, const struct sockaddr *sa,
    socklen_t salen)
{
	struct link *l = p->ch->link;
	struct link_conn *c;
	struct timeval tv;
	int fd, one = 1;

	if ((fd = socket(sa->sa_family, SOCK_STREAM, 0)) < 0)
		return ERR_IO;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (set_nonblock(fd) != 0 ||
	    (c = conn_new(l, fd, CONN_CONNECTING)) == NULL) {
		close(fd);
		return ERR_NOMEM;
	}
	c->path = p;
	c->initiator = true;
	p->dialing = c;
	link_addr_str(sa, c->peer, sizeof c->peer, c->src, sizeof c->src);
	c->deadline_ms = link_now_ms() + l->cfg.handshake_timeout_ms;
	if ((c->wev = event_new(l->base, fd, EV_WRITE | EV_PERSIST, on_write,
	    c)) == NULL) {
		link_conn_fail(c, LOG_LVL_ERROR, "out of memory");
		link_conn_free(c);
		return ERR_NOMEM;
	}
	if (connect(fd, sa, salen) != 0 &&
	    errno != EINPROGRESS) {
		link_conn_fail(c, LOG_LVL_DEBUG, "channel %s path %u: dial %s "
		    "failed: %s", p->ch->idhex, p->index, c->peer,
		    strerror(errno));
		link_conn_free(c);
		return 0;
	}
	tv.tv_sec = l->cfg.handshake_timeout_ms / 1000;
	tv.tv_usec = (suseconds_t)(l->cfg.handshake_timeout_ms % 1000 * 1000);
	event_add(c->wev, &tv);
	return 0;
}
