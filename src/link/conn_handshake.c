/*
 * conn_handshake.c: a connection's handshakes (docs/link.md, sections 3
 * and 5): the initiation it sends, first or rekey; the listener's checks
 * on one it reads, cheapest first, and its response; the initiator's
 * reading of the response; and when an established session's initiator
 * rekeys. The Noise messages are built and read by handshake.c, the
 * frames move through conn.c (whose invariants the comments here cite),
 * and a session that comes up is started by conn_health.c.
 */
#include "link/link_int.h"

#include <stdlib.h>
#include <string.h>

#include "base/hex.h"
#include "base/log.h"

/* Starts a handshake as initiator on c's path: first or rekey. */
int
link_conn_start_initiation(struct link_conn *c)
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
	return link_conn_send_frame(c, msg, sizeof msg, true);
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
	if ((r = link_conn_send_frame(c, resp, sizeof resp, true)) != 0) {
		noise_cipher_fini(send);
		noise_cipher_fini(recv);
		link_conn_fail(c, LOG_LVL_INFO, "handshake with %s: cannot "
		    "send response: %s", c->peer, err_str(r));
		return r;
	}
	return 0;
}

void
link_conn_on_init_frame(struct link_conn *c, const uint8_t *msg, size_t len)
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
	link_conn_become_up(c, &send, &recv, now);
}

void
link_conn_on_resp_frame(struct link_conn *c, const uint8_t *msg, size_t len)
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
	link_conn_become_up(c, &send, &recv, link_now_ms());
}

static void
on_rekey_wait(evutil_socket_t fd, short what, void *arg)
{
	struct link_conn *c = arg;

	(void)fd;
	(void)what;
	link_conn_maybe_rekey(c);
	link_conn_finish(c);
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
			link_conn_add_ms(c->rekey_wait, LINK_REKEY_MIN_MS -
			    (now - c->tr->keyed_ms));
		return;
	}
	if ((r = link_conn_start_initiation(c)) != 0)
		link_conn_fail(c, LOG_LVL_WARN, "rekey failed: %s",
		    err_str(r));
}
