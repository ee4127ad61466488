/*
 * conn_health.c: an established session's liveness (docs/link.md, 4.1 and
 * 5): its start (keys installed, heartbeat and silence timers armed), the
 * heartbeat with its PING, the PONG (round trip, clock offset, how far the
 * peer has read our stream), the silence timer, and the guard that ends a
 * session whose keys outlived the protocol's limits. Records come in and
 * go out through conn.c; when to rekey is conn_handshake.c's.
 */
#include "link/link_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"

static void on_heartbeat(evutil_socket_t fd, short what, void *arg);
static void heartbeat(struct link_conn *c);

static uint32_t
heartbeat_ms(const struct link_conn *c)
{
	return c->link->cfg.heartbeat_ms ? c->link->cfg.heartbeat_ms :
	    c->path->ch->ag.heartbeat_s * 1000u;
}

void
link_conn_add_ms(struct event *ev, uint64_t ms)
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

	link_conn_add_ms(c->silence, due > now ? due - now : 0);
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
		link_conn_finish(c);
		return;
	}
	arm_silence(c);
}

/* keyed_ms: when the keys count as installed (the responder's, taken
 * before its response went: on_init_frame). */
void
link_conn_become_up(struct link_conn *c, struct noise_cipher *send,
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
	link_conn_add_ms(c->hb, hb < 50 ? 50 : hb);
	arm_silence(c);
	if (!link_path_attach(c->path, c))
		return;
	/* First heartbeat at once, so RTT and offset are known early. */
	heartbeat(c);
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
void
link_conn_on_pong(struct link_conn *c, const uint8_t *b)
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
	link_conn_finish(c);
}
