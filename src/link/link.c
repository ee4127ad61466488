/*
 * link.c: the node's channels and paths: listeners, dialling with
 * exponential backoff and jitter, the duplicate-session rule, path up and
 * down, and status (link.h, docs/link.md). Connections themselves are in
 * conn.c, conn_handshake.c and conn_health.c.
 *
 * Invariants:
 *  1. A path has at most one established session (path->session).
 *  2. A path dials only while it has neither a session nor a dial in
 *     progress, and never before its backoff timer fires.
 *  3. Between two sessions on one path, the one started by the party with
 *     the lower static key survives; between two started by the same
 *     party, the newer one (the older is taken to be dead).
 *  4. A channel whose agreement is not valid now (ch->usable != 0) has no
 *     session, no dial and accepts no handshake. Validity is checked again
 *     on each initiation and by a timer (at the next not_before/not_after
 *     boundary, at least every LINK_VALIDITY_CHECK_MS).
 *  5. Backoff grows after failed dials and after sessions that ended
 *     within LINK_STABLE_MS; only a session that stayed up longer resets
 *     it (a flapping path does not redial four times a second).
 *  6. A dial to a host name first looks it up without blocking the loop
 *     (resolve.c); the lookup counts as the dial in progress (invariant
 *     2) and is cancelled with the channel's dials. A failed lookup is
 *     logged at warn level once until a lookup of that path succeeds.
 *  7. A session that replaces another on a path that is up (invariant 3)
 *     is told to the layer above as the path coming up again, with no
 *     down between: what was sent on the old session went with it.
 */
#include "link/link_int.h"

#include <linux/sockios.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <sys/ioctl.h>

#include "base/hex.h"
#include "base/log.h"

void
link_config_defaults(struct link_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->rekey_records = LINK_REKEY_RECORDS;
	cfg->rekey_seconds = LINK_REKEY_MS / 1000;
	cfg->handshake_timeout_ms = 5000;
	cfg->pending_max = 256;
	cfg->pending_per_source = 8;
	cfg->backoff_min_ms = 250;
	cfg->backoff_max_ms = 30000;
	cfg->heartbeat_ms = 0;
	cfg->out_max = 4u << 20;
}

struct link_channel *
link_find_channel(struct link *l, const uint8_t id[LINK_ID_LEN])
{
	for (size_t i = 0; i < l->nch; i++)
		if (memcmp(l->ch[i].ag.id, id, LINK_ID_LEN) == 0)
			return &l->ch[i];
	return NULL;
}

void
link_hs_params(struct link_path *p, struct link_hs_params *hp)
{
	struct link_channel *ch = p->ch;

	memset(hp, 0, sizeof *hp);
	memcpy(hp->channel_id, ch->ag.id, LINK_ID_LEN);
	hp->path = (uint8_t)p->index;
	hp->local_priv = keys_link_private(ch->link->keys);
	hp->peer_pub = ch->ag.party[1 - ch->self].link_pub;
	hp->psk = ch->ag.psk;
	hp->mac1_key = ch->mac1_key;
	hp->random = link_random;
}

static uint64_t
unix_ms(void)
{
	return link_unix_ns() / 1000000u;
}

static void schedule_dial(struct link_path *p, bool failed);
static void on_flush(evutil_socket_t fd, short what, void *arg);

/* Dials p's peer address: at once when it is numeric, else after its
 * lookup (invariant 6). */
static int
dial(struct link_path *p)
{
	struct sockaddr_storage ss;
	char host[AGREEMENT_ADDR_MAX + 1];
	const char *port;
	socklen_t sl;
	int r;

	r = link_addr_numeric(p->peer_addr, &ss, &sl);
	if (r == 0)
		return link_conn_dial(p, (struct sockaddr *)&ss, sl);
	if (r != ERR_NOT_FOUND)
		return r;
	if ((r = link_addr_split(p->peer_addr, host, &port)) != 0)
		return r;
	return link_resolve_start(p, host, port);
}

static void
on_redial(evutil_socket_t fd, short what, void *arg)
{
	struct link_path *p = arg;
	int r;

	(void)fd;
	(void)what;
	if (p->session != NULL || p->dialing != NULL || p->lookup != NULL ||
	    p->ch->usable != 0 || p->ch->link->closing)
		return;
	if ((r = dial(p)) != 0) {
		log_warn("channel %s path %u: cannot dial %s: %s",
		    p->ch->idhex, p->index, p->peer_addr, err_str(r));
		schedule_dial(p, true);
	}
}

void
link_path_resolved(struct link_path *p, int r, const char *why,
    const struct sockaddr *sa, socklen_t salen)
{
	if (r == 0) {
		p->resolve_failed = false;
		/* a session may have come from the peer meanwhile */
		if (p->ch->usable != 0 || p->ch->link->closing ||
		    p->session != NULL)
			return;
		if ((r = link_conn_dial(p, sa, salen)) == 0)
			return;
		log_warn("channel %s path %u: cannot dial %s: %s",
		    p->ch->idhex, p->index, p->peer_addr, err_str(r));
	} else {
		log_msg(p->resolve_failed ? LOG_LVL_DEBUG : LOG_LVL_WARN,
		    "channel %s path %u: cannot resolve %s: %s%s",
		    p->ch->idhex, p->index, p->peer_addr, why,
		    p->resolve_failed ? "" : " (dialling again with backoff; "
		    "further failures are logged at debug level)");
		p->resolve_failed = true;
	}
	schedule_dial(p, true);
}

/* Arms the redial timer: at once-ish after a loss, growing after
 * failures; the delay is uniform in [backoff/2, backoff]. */
static void
schedule_dial(struct link_path *p, bool failed)
{
	const struct link_config *cfg = &p->ch->link->cfg;
	struct timeval tv;
	uint32_t d;

	if (p->ch->usable != 0 || p->session != NULL || p->dialing != NULL ||
	    p->lookup != NULL || evtimer_pending(p->redial, NULL))
		return;
	if (!failed || p->backoff_ms == 0)
		p->backoff_ms = cfg->backoff_min_ms;
	else if (p->backoff_ms < cfg->backoff_max_ms / 2)
		p->backoff_ms *= 2;
	else
		p->backoff_ms = cfg->backoff_max_ms;
	d = p->backoff_ms / 2 + randombytes_uniform(p->backoff_ms / 2 + 1);
	tv.tv_sec = d / 1000;
	tv.tv_usec = (suseconds_t)(d % 1000 * 1000);
	evtimer_add(p->redial, &tv);
}

static void
set_up(struct link_path *p, bool up)
{
	struct link *l = p->ch->link;

	if (p->up == up)
		return;
	p->up = up;
	p->since_ms = unix_ms();
	if (!up)
		p->have_rtt = false;
	if (l->up.path_change)
		l->up.path_change(l->up.ctx, p->ch->ag.id, p->index, up);
}

bool
link_path_attach(struct link_path *p, struct link_conn *c)
{
	struct link_channel *ch = p->ch;
	struct link_conn *old = p->session;
	const char *us = ch->ag.party[ch->self].name;
	const char *them = ch->ag.party[1 - ch->self].name;
	struct link *l = ch->link;
	bool keep_old, swapped = old != NULL && p->up;

	if (old != NULL) {
		if (old->initiator == c->initiator)
			keep_old = false;
		else
			keep_old = old->initiator == ch->we_lower;
		if (keep_old) {
			link_conn_fail(c, LOG_LVL_INFO, "channel %s path %u: "
			    "duplicate session started by %s closed; the one "
			    "started by %s stays", ch->idhex, p->index,
			    c->initiator ? us : them, old->initiator ? us :
			    them);
			return false;
		}
		p->session = NULL;
		link_conn_fail(old, LOG_LVL_INFO, "channel %s path %u: "
		    "duplicate session started by %s closed; the one started "
		    "by %s stays", ch->idhex, p->index, old->initiator ? us :
		    them, c->initiator ? us : them);
		link_conn_free(old);
	}
	p->session = c;
	p->up_at_ms = link_now_ms();
	p->test_next = 0;
	p->dialled_len = 0;	/* the next lookup's first address first */
	if (!p->up)
		log_info("channel %s path %u to %s up (%s, started by %s)",
		    ch->idhex, p->index, them, c->peer,
		    c->initiator ? us : them);
	set_up(p, true);
	/* Invariant 7. */
	if (swapped && l->up.path_change)
		l->up.path_change(l->up.ctx, ch->ag.id, p->index, true);
	return true;
}

void
link_path_detach(struct link_conn *c, const char *why)
{
	struct link_path *p = c->path;

	if (p == NULL)
		return;
	if (p->dialing == c) {
		p->dialing = NULL;
		schedule_dial(p, true);
	}
	if (p->session == c) {
		p->session = NULL;
		log_warn("channel %s path %u to %s down: %s", p->ch->idhex,
		    p->index, p->ch->ag.party[1 - p->ch->self].name, why);
		set_up(p, false);
		/* Invariant 5. */
		schedule_dial(p, link_now_ms() - p->up_at_ms < LINK_STABLE_MS);
	}
}

static void
on_accept(struct evconnlistener *lis, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	(void)lis;
	(void)link_conn_accept(arg, fd, sa, (socklen_t)salen);
}

static void
on_resume(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	evconnlistener_enable(arg);
}

/* accept() failed (out of descriptors): pause this listener for 100 ms
 * rather than spin on a socket that stays readable. */
static void
on_accept_error(struct evconnlistener *lis, void *arg)
{
	struct link *l = arg;
	struct timeval tv = { 0, 100000 };
	int err = EVUTIL_SOCKET_ERROR();

	log_warn("accept failed: %s; pausing the listener for 100 ms",
	    evutil_socket_error_to_string(err));
	evconnlistener_disable(lis);
	event_base_once(l->base, -1, EV_TIMEOUT, on_resume, lis, &tv);
}

static int
listen_on(struct link *l, const char *addr)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int r;

	for (size_t i = 0; i < l->nlis; i++)
		if (strcmp(l->lisaddr[i], addr) == 0)
			return 0;
	if (l->nlis >= LINK_MAX_LISTEN)
		return ERR_FULL;
	if ((r = link_addr_parse(addr, true, &ss, &sl)) != 0) {
		log_error("cannot listen on %s: bad address", addr);
		return r;
	}
	l->lis[l->nlis] = evconnlistener_new_bind(l->base, on_accept, l,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    128, (struct sockaddr *)&ss, (int)sl);
	if (l->lis[l->nlis] == NULL) {
		log_error("cannot listen on %s: %s", addr,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		return ERR_IO;
	}
	evconnlistener_set_error_cb(l->lis[l->nlis], on_accept_error);
	snprintf(l->lisaddr[l->nlis], sizeof l->lisaddr[l->nlis], "%s", addr);
	l->nlis++;
	log_info("listening on %s", addr);
	return 0;
}

/* Listens on the override addresses, or on every distinct local path
 * address of the usable channels. */
static int
start_listeners(struct link *l)
{
	const char *addrs[LINK_MAX_LISTEN];
	size_t n = 0;
	int r;

	if (l->cfg.nlisten > 0) {
		for (size_t i = 0; i < l->cfg.nlisten && n < LINK_MAX_LISTEN;
		    i++)
			addrs[n++] = l->cfg.listen[i];
	} else {
		for (size_t i = 0; i < l->nch; i++) {
			struct link_channel *ch = &l->ch[i];
			if (ch->usable != 0)
				continue;
			for (unsigned j = 0; j < ch->ag.npaths; j++) {
				const char *a = ch->paths[j].local_addr;
				size_t k;
				for (k = 0; k < n; k++)
					if (strcmp(addrs[k], a) == 0)
						break;
				if (k == n && n < LINK_MAX_LISTEN)
					addrs[n++] = a;
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		if ((r = listen_on(l, addrs[i])) != 0)
			return r;
	return 0;
}

/* Ends c from outside its handlers, unless it is the caller's own
 * connection (except), which its handler frees. */
static void
close_conn(struct link_conn *c, struct link_conn *except, const char *why)
{
	link_conn_fail(c, LOG_LVL_INFO, "%s: %s", c->peer, why);
	if (c != except)
		link_conn_free(c);
}

int
link_channel_recheck(struct link_channel *ch, struct link_conn *except)
{
	struct link *l = ch->link;
	const char *them = ch->ag.party[1 - ch->self].name;
	int self, r;

	r = agreement_check(&ch->ag, &l->keys->id, unix_ms() / 1000u, &self);
	if (r == ch->usable)
		return r;
	ch->usable = r;
	if (r != 0) {
		log_warn("channel %s with %s: agreement %s; sessions closed, "
		    "no dialling, handshakes refused", ch->idhex, them,
		    err_str(r));
		for (unsigned i = 0; i < ch->ag.npaths; i++) {
			struct link_path *p = &ch->paths[i];
			evtimer_del(p->redial);
			link_resolve_cancel(p);
			if (p->dialing)
				close_conn(p->dialing, except,
				    "agreement no longer valid");
			if (p->session)
				close_conn(p->session, except,
				    "agreement no longer valid");
		}
		return r;
	}
	log_info("channel %s with %s: agreement now valid; listening and "
	    "dialling", ch->idhex, them);
	for (unsigned i = 0; i < ch->ag.npaths; i++) {
		if (l->cfg.nlisten == 0)
			(void)listen_on(l, ch->paths[i].local_addr);
		schedule_dial(&ch->paths[i], false);
	}
	return 0;
}

/* Milliseconds from now_ms (unix) to ch's next validity change, or
 * UINT64_MAX when there is none. */
static uint64_t
next_boundary(const struct link_channel *ch, uint64_t now_ms)
{
	uint64_t nb = ch->ag.not_before * 1000u;
	uint64_t na = (ch->ag.not_after + 1) * 1000u;

	if (now_ms < nb)
		return nb - now_ms;
	if (now_ms < na)
		return na - now_ms;
	return UINT64_MAX;
}

static void
on_validity(evutil_socket_t fd, short what, void *arg)
{
	struct link *l = arg;
	struct timeval tv;
	uint64_t now, next = LINK_VALIDITY_CHECK_MS, d;

	(void)fd;
	(void)what;
	for (size_t i = 0; i < l->nch; i++)
		(void)link_channel_recheck(&l->ch[i], NULL);
	now = unix_ms();
	for (size_t i = 0; i < l->nch; i++)
		if ((d = next_boundary(&l->ch[i], now)) < next)
			next = d;
	next += 10;	/* past the boundary, whatever the rounding */
	tv.tv_sec = (time_t)(next / 1000);
	tv.tv_usec = (suseconds_t)(next % 1000 * 1000);
	evtimer_add(l->validity, &tv);
}

static int
setup_channel(struct link *l, struct link_channel *ch,
    const struct agreement *ag)
{
	const struct node_identity *self = &l->keys->id;
	int r;

	ch->link = l;
	ch->ag = *ag;
	r = agreement_check(&ch->ag, self, link_unix_ns() / 1000000000u,
	    &ch->self);
	if (r == ERR_FOREIGN || r == ERR_UNSIGNED)
		return r;
	ch->usable = r;
	link_mac1_key(ch->mac1_key, ch->ag.psk);
	ch->we_lower = memcmp(ch->ag.party[ch->self].link_pub,
	    ch->ag.party[1 - ch->self].link_pub, KEYS_PUB_LEN) < 0;
	hex_encode(ch->idhex, ch->ag.id, 4);
	for (unsigned i = 0; i < ch->ag.npaths && i < LINK_MAX_PATHS; i++) {
		struct link_path *p = &ch->paths[i];
		p->ch = ch;
		p->index = i;
		p->local_addr = ch->ag.party[ch->self].paths[i];
		p->peer_addr = ch->ag.party[1 - ch->self].paths[i];
		if ((p->redial = evtimer_new(l->base, on_redial, p)) == NULL)
			return ERR_NOMEM;
	}
	if (ch->usable != 0)
		log_warn("channel %s with %s: agreement %s; no sessions",
		    ch->idhex, ch->ag.party[1 - ch->self].name,
		    err_str(ch->usable));
	return 0;
}

int
link_new(struct event_base *base, const char *home, const struct keys *k,
    const struct agreement *ags, size_t n, const struct link_config *cfg,
    const struct link_upper *up, struct link **out)
{
	struct link *l;
	size_t nch = 0;
	int r;

	*out = NULL;
	if (n > LINK_MAX_CHANNELS)
		return ERR_TOO_BIG;
	if ((l = calloc(1, sizeof *l)) == NULL)
		return ERR_NOMEM;
	TAILQ_INIT(&l->conns);
	l->base = base;
	snprintf(l->home, sizeof l->home, "%s", home);
	l->keys = k;
	l->cfg = *cfg;
	/* Local knobs may only lower the rekey point (docs/link.md). */
	if (l->cfg.rekey_records == 0 ||
	    l->cfg.rekey_records > LINK_REKEY_RECORDS) {
		if (l->cfg.rekey_records != 0)
			log_warn("rekey_records lowered to the protocol's "
			    "maximum %llu", (unsigned long long)
			    LINK_REKEY_RECORDS);
		l->cfg.rekey_records = LINK_REKEY_RECORDS;
	}
	if (l->cfg.rekey_seconds == 0 ||
	    l->cfg.rekey_seconds > LINK_REKEY_MS / 1000) {
		if (l->cfg.rekey_seconds != 0)
			log_warn("rekey_seconds lowered to the protocol's "
			    "maximum %u", LINK_REKEY_MS / 1000);
		l->cfg.rekey_seconds = LINK_REKEY_MS / 1000;
	}
	if (up)
		l->up = *up;
	keys_fingerprint_link(&k->id, l->fpr);
	if (n > 0 && (l->ch = calloc(n, sizeof *l->ch)) == NULL) {
		r = ERR_NOMEM;
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		r = setup_channel(l, &l->ch[nch], &ags[i]);
		if (r == ERR_FOREIGN || r == ERR_UNSIGNED) {
			char id[9];
			hex_encode(id, ags[i].id, 4);
			log_warn("channel %s ignored: %s", id, err_str(r));
			agreement_wipe(&l->ch[nch].ag);
			memset(&l->ch[nch], 0, sizeof l->ch[nch]);
			continue;
		}
		nch++;
		l->nch = nch;
		if (r != 0)
			goto fail;
	}
	if ((r = link_state_load(l)) != 0) {
		log_error("cannot read %s/%s: %s", home, LINK_STATE_FILE,
		    err_str(r));
		goto fail;
	}
	if ((r = start_listeners(l)) != 0)
		goto fail;
	for (size_t i = 0; i < l->nch; i++)
		for (unsigned j = 0; j < l->ch[i].ag.npaths; j++)
			schedule_dial(&l->ch[i].paths[j], false);
	if ((l->flushev = event_new(base, -1, 0, on_flush, l)) == NULL ||
	    (l->validity = evtimer_new(base, on_validity, l)) == NULL) {
		r = ERR_NOMEM;
		goto fail;
	}
	on_validity(-1, 0, l);
	*out = l;
	return 0;
fail:
	link_free(l);
	return r;
}

void
link_free(struct link *l)
{
	struct link_conn *c;

	if (l == NULL)
		return;
	/* First, with the link whole: pending lookups end (resolve.c
	 * may run a turn of the loop) and no dial starts. */
	l->closing = true;
	for (size_t i = 0; i < l->nch; i++)
		for (unsigned j = 0; j < l->ch[i].ag.npaths; j++)
			link_resolve_cancel(&l->ch[i].paths[j]);
	link_resolve_fini(l);
	for (size_t i = 0; i < l->nlis; i++)
		evconnlistener_free(l->lis[i]);
	if (l->validity)
		event_free(l->validity);
	while ((c = TAILQ_FIRST(&l->conns)) != NULL) {
		if (c->path && c->path->session == c)
			c->path->session = NULL;
		if (c->path && c->path->dialing == c)
			c->path->dialing = NULL;
		link_conn_free(c);
	}
	for (size_t i = 0; i < l->nch; i++) {
		for (unsigned j = 0; j < AGREEMENT_MAX_PATHS; j++)
			if (l->ch[i].paths[j].redial)
				event_free(l->ch[i].paths[j].redial);
		agreement_wipe(&l->ch[i].ag);
		sodium_memzero(l->ch[i].mac1_key, sizeof l->ch[i].mac1_key);
	}
	if (l->flushev)
		event_free(l->flushev);
	free(l->ch);
	free(l->rspare);
	free(l);
}

void
link_hold(struct link *l)
{
	l->hold = true;
}

void
link_flush(struct link *l)
{
	struct link_conn *c;

	l->hold = false;
	event_del(l->flushev);
	TAILQ_FOREACH(c, &l->conns, entry)
		link_conn_flush(c);
}

/* The end of the loop's turn after a link_hold: a hold forgotten costs
 * latency, never a stall. */
static void
on_flush(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	link_flush(arg);
}

static int
find_path(struct link *l, const uint8_t id[LINK_ID_LEN], unsigned path,
    struct link_path **p)
{
	struct link_channel *ch = link_find_channel(l, id);

	if (ch == NULL || path >= ch->ag.npaths)
		return ERR_NOT_FOUND;
	*p = &ch->paths[path];
	if ((*p)->session == NULL || (*p)->session->state != CONN_UP)
		return ERR_CLOSED;
	return 0;
}

/* One record of the layer above on p's session (link_send). */
static int
send_upper(struct link_path *p, uint8_t type, const uint8_t *body,
    size_t len)
{
	int r;

	if ((r = link_conn_send(p->session, type, body, len)) != 0)
		return r;
	/* Sends count toward the rekey point too. */
	link_conn_maybe_rekey(p->session);
	return 0;
}

int
link_send(struct link *l, const uint8_t id[LINK_ID_LEN], unsigned path,
    uint8_t type, const uint8_t *body, size_t len)
{
	struct link_path *p;
	int r;

	if (type < LINK_REC_UPPER_MIN)
		return ERR_INVALID;
	if ((r = find_path(l, id, path, &p)) != 0)
		return r;
	return send_upper(p, type, body, len);
}

int
link_send_bulk(struct link *l, const uint8_t id[LINK_ID_LEN], unsigned path,
    uint8_t type, const uint8_t *body, size_t len)
{
	struct link_path *p;
	int r, k = 0;

	if (type < LINK_REC_UPPER_MIN)
		return ERR_INVALID;
	if ((r = find_path(l, id, path, &p)) != 0)
		return r;
	/* a short record goes as any (the check costs a system call; the
	 * delivery window bounds how many of them are in flight) */
	if (len >= LINK_BULK_MIN) {
		if (ioctl(p->session->fd, SIOCOUTQ, &k) != 0 || k < 0)
			k = 0;
		if (link_conn_bulk_full(p->session, (size_t)k,
		    LINK_DATA_LEN(len)))
			return ERR_FULL;
	}
	return send_upper(p, type, body, len);
}

/* link_queued of an established path p. */
static size_t
path_queued(const struct link_path *p)
{
	size_t n;
	int k = 0;

	n = p->session->out != NULL ? evbuffer_get_length(p->session->out) : 0;
	if (ioctl(p->session->fd, SIOCOUTQ, &k) == 0 && k > 0)
		n += (size_t)k;
	/* what the peer has not read yet: past our socket, bytes may sit
	 * in a relay or a proxy that acknowledged them (and the peer's
	 * receive buffer) */
	if (link_conn_unread(p->session) > n)
		n = (size_t)link_conn_unread(p->session);
	return n;
}

size_t
link_queued(struct link *l, const uint8_t id[LINK_ID_LEN],
    unsigned path)
{
	struct link_path *p;

	if (find_path(l, id, path, &p) != 0)
		return 0;
	return path_queued(p);
}

int
link_drop(struct link *l, const uint8_t id[LINK_ID_LEN], unsigned path,
    const char *why)
{
	struct link_path *p;
	int r;

	if ((r = find_path(l, id, path, &p)) != 0)
		return r;
	link_conn_fail(p->session, LOG_LVL_WARN, "channel %s path %u: "
	    "session ended: %s", p->ch->idhex, path, why);
	return 0;
}

int
link_send_test(struct link *l, const uint8_t id[LINK_ID_LEN], unsigned path,
    uint32_t count)
{
	struct link_path *p;
	struct link_conn *c;
	uint8_t b[LINK_TEST_LEN];
	int r;

	if ((r = find_path(l, id, path, &p)) != 0)
		return r;
	c = p->session;
	for (uint32_t i = 0; i < count; i++) {
		link_put64(b, c->test_seq);
		if ((r = link_conn_send(c, LINK_REC_TEST, b, sizeof b)) != 0)
			return r;
		c->test_seq++;
		/* Rekeys fall due under traffic, not only on a timer. */
		link_conn_maybe_rekey(c);
		if (c->state != CONN_UP)
			return ERR_CLOSED;
	}
	return 0;
}

size_t
link_channel_count(const struct link *l)
{
	return l->nch;
}

const struct node_identity *
link_identity(const struct link *l)
{
	return &l->keys->id;
}

int
link_channel_status(const struct link *l, size_t i,
    struct link_channel_status *out)
{
	const struct link_channel *ch;

	if (i >= l->nch)
		return ERR_NOT_FOUND;
	ch = &l->ch[i];
	memset(out, 0, sizeof *out);
	memcpy(out->id, ch->ag.id, LINK_ID_LEN);
	snprintf(out->peer, sizeof out->peer, "%s",
	    ch->ag.party[1 - ch->self].name);
	agreement_fingerprint(&ch->ag, out->fingerprint);
	out->not_before = ch->ag.not_before;
	out->not_after = ch->ag.not_after;
	out->usable = ch->usable;
	out->heartbeat_ms = l->cfg.heartbeat_ms ? l->cfg.heartbeat_ms :
	    ch->ag.heartbeat_s * 1000u;
	out->npaths = ch->ag.npaths;
	for (unsigned j = 0; j < ch->ag.npaths; j++) {
		const struct link_path *p = &ch->paths[j];
		struct link_path_status *s = &out->paths[j];
		s->index = j;
		snprintf(s->local, sizeof s->local, "%s", p->local_addr);
		snprintf(s->peer, sizeof s->peer, "%s", p->peer_addr);
		s->up = p->up;
		s->since_ms = p->since_ms;
		s->have_rtt = p->have_rtt;
		s->rtt_ms = (double)p->rtt_ns / 1e6;
		s->offset_ms = (double)p->offset_ns / 1e6;
		s->we_initiated = p->session ? p->session->initiator : false;
		s->dialling = p->dialing != NULL || p->lookup != NULL;
		s->records_tx = p->records_tx;
		s->records_rx = p->records_rx;
		s->rekeys = p->rekeys;
		s->handshakes = p->handshakes;
		s->init_dh = p->init_dh;
		s->init_refused_no_dh = p->init_refused_no_dh;
		s->test_rx = p->test_rx;
		s->test_gaps = p->test_gaps;
		s->unread = p->session != NULL && p->session->state ==
		    CONN_UP ? path_queued(p) : 0;
	}
	return 0;
}
