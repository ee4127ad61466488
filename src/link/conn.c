/*
 * conn.c: one TCP connection of the link layer, from accept or connect to
 * close: its life (accept, dial, connect, failure, free), its reads and
 * frames, its writes and the bulk cap (docs/link.md). The handshake and
 * rekeying are in conn_handshake.c, heartbeats and the silence timer in
 * conn_health.c (link_int.h declares what the three share). The protocol
 * itself is in the pure engines (frame.c, handshake.c, transport.c); these
 * files move bytes. The invariants below hold for all three.
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
 *     the session, at either side (heartbeat(), conn_health.c).
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
#include <netinet/tcp.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"

#define FRAMES_PER_READ 64	/* then yield to other connections */

static void on_read(evutil_socket_t fd, short what, void *arg);
static void on_write(evutil_socket_t fd, short what, void *arg);

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
int
link_conn_send_frame(struct link_conn *c, const uint8_t *p, size_t n, bool hs)
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
		r = link_conn_send_frame(c, buf, n, false);
	free(buf);
	if (r != 0)
		return r;
	if (type >= LINK_REC_UPPER_MIN)
		c->upper_end = c->tx_bytes;
	c->path->records_tx++;
	return 0;
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
			link_conn_on_pong(c, b);
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
		link_conn_on_init_frame(c, f, n);
		return;
	case CONN_WAIT_RESP:
		link_conn_on_resp_frame(c, f, n);
		return;
	case CONN_UP:
		break;
	default:
		return;
	}
	c->last_rx_ms = link_now_ms();
	if (f[0] == LINK_TYPE_INIT && !c->tr->initiator) {
		link_conn_on_init_frame(c, f, n);
		return;
	}
	if (f[0] == LINK_TYPE_RESP) {
		link_conn_on_resp_frame(c, f, n);
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

void
link_conn_finish(struct link_conn *c)
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
			link_conn_finish(c);
			return;
		}
	}
	read_some(c);
	if (c->state != CONN_DEAD)
		arm_read(c);
	link_conn_finish(c);
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
	if ((r = link_conn_start_initiation(c)) != 0) {
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
	link_conn_finish(c);
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
