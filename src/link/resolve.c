/*
 * resolve.c: name lookups for dials, on the link's loop (libevent's evdns),
 * so that a slow or silent DNS server never stalls sessions, heartbeats
 * or the control socket (docs/link.md, section 1). Numeric addresses
 * never come here (util.c parses them); listen addresses are resolved at
 * startup, blocking, in link.c.
 *
 * Invariants:
 *  1. A path has at most one lookup (path->lookup), only while it has no
 *     session and no dial; the lookup's record points back to the path
 *     until the lookup ends or is cancelled.
 *  2. evdns calls back exactly once per lookup, cancelled or not, and a
 *     cancelled lookup's callback comes later, from the loop: so a
 *     cancelled record is detached (path = NULL) and freed by that
 *     callback, which touches nothing but the link's list of those still
 *     owed (l->cancelled); at link_free, records still owed leave that
 *     list (link = NULL), so a late callback touches no link either.
 *  3. A lookup ends within about LINK_RESOLVE_TIMEOUT_S *
 *     LINK_RESOLVE_ATTEMPTS seconds (evdns's own timeout and attempts,
 *     set here, whatever resolv.conf says).
 *
 *   link_resolve_start -> pending -(answer, failure, timeout)->
 *       link_path_resolved -> freed
 *   pending -(link_resolve_cancel)-> detached -(evdns's callback)-> freed
 */
#include "link/link_int.h"

#include <event2/dns.h>
#include <event2/util.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

struct link_lookup {
	struct link *link;		/* NULL once detached (link_free) */
	struct link_path *path;		/* NULL once cancelled */
	struct evdns_getaddrinfo_request *req;	/* NULL until evdns returns */
	struct link_lookup *next;	/* on link->cancelled, once cancelled */
};

/* evdns's own messages (a nameserver down, back up) in our log, at debug
 * level: the failed lookup itself is logged once per path (link.c). */
static void
on_evdns_log(int is_warn, const char *msg)
{
	log_debug("dns%s: %s", is_warn ? " (warning)" : "", msg);
}

/* The evdns base: the system's resolv.conf and /etc/hosts, or the one
 * nameserver of the test hook. A bad hook value is ERR_INVALID at every
 * try, logged at the first and again only once the value changes
 * (l->dns_bad). */
static int
dns_open(struct link *l)
{
	const char *ns = getenv(LINK_NAMESERVER_ENV);
	char v[16];

	evdns_set_log_fn(on_evdns_log);
	if (ns != NULL && *ns != '\0') {
		if ((l->dns = evdns_base_new(l->base, 0)) == NULL)
			return ERR_NOMEM;
		if (evdns_base_nameserver_ip_add(l->dns, ns) != 0) {
			evdns_base_free(l->dns, 0);
			l->dns = NULL;
			if (l->dns_bad != NULL && strcmp(l->dns_bad, ns) == 0)
				return ERR_INVALID;
			log_error("%s=%s: not an IP:PORT nameserver; no name "
			    "is looked up (logged once)", LINK_NAMESERVER_ENV,
			    ns);
			free(l->dns_bad);
			l->dns_bad = strdup(ns);	/* NULL: logged again */
			return ERR_INVALID;
		}
		log_info("name lookups use only the nameserver %s (%s, a "
		    "test hook)", ns, LINK_NAMESERVER_ENV);
	} else if ((l->dns = evdns_base_new(l->base,
	    EVDNS_BASE_INITIALIZE_NAMESERVERS)) == NULL)
		return ERR_NOMEM;
	snprintf(v, sizeof v, "%d", LINK_RESOLVE_TIMEOUT_S);
	(void)evdns_base_set_option(l->dns, "timeout:", v);
	snprintf(v, sizeof v, "%d", LINK_RESOLVE_ATTEMPTS);
	(void)evdns_base_set_option(l->dns, "attempts:", v);
	return 0;
}

static void
on_answer(int result, struct evutil_addrinfo *res, void *arg)
{
	struct link_lookup *lk = arg;
	struct link_path *p = lk->path;
	struct evutil_addrinfo *ai;

	if (p == NULL) {
		/* Cancelled (invariant 2); detached too if the link is gone. */
		if (lk->link != NULL) {
			struct link_lookup **pp = &lk->link->cancelled;
			while (*pp != NULL && *pp != lk)
				pp = &(*pp)->next;
			if (*pp == lk)
				*pp = lk->next;
		}
		if (res != NULL)
			evutil_freeaddrinfo(res);
		free(lk);
		return;
	}
	p->lookup = NULL;
	free(lk);
	if (result != 0 || res == NULL) {
		link_path_resolved(p, ERR_NOT_FOUND, result != 0 ?
		    evutil_gai_strerror(result) : "no address", NULL, 0);
		if (res != NULL)
			evutil_freeaddrinfo(res);
		return;
	}
	/* Each dial after the first takes the address after the one dialled
	 * last, if the answer holds it (evdns lists IPv4 first, and a server
	 * may rotate its records): a name with an address this node cannot
	 * reach is still dialled at its others. The first answer's first
	 * address again once the path was up (p->dialled_len 0). */
	ai = res;
	for (struct evutil_addrinfo *x = res; p->dialled_len != 0 &&
	    x != NULL; x = x->ai_next)
		if (x->ai_addrlen == p->dialled_len && memcmp(x->ai_addr,
		    &p->dialled, p->dialled_len) == 0) {
			ai = x->ai_next != NULL ? x->ai_next : res;
			break;
		}
	if (ai->ai_addrlen <= sizeof p->dialled) {
		memcpy(&p->dialled, ai->ai_addr, ai->ai_addrlen);
		p->dialled_len = (socklen_t)ai->ai_addrlen;
	}
	link_path_resolved(p, 0, NULL, ai->ai_addr, (socklen_t)ai->ai_addrlen);
	evutil_freeaddrinfo(res);
}

int
link_resolve_start(struct link_path *p, const char *host, const char *port)
{
	struct link *l = p->ch->link;
	struct evutil_addrinfo hints;
	struct evdns_getaddrinfo_request *req;
	struct link_lookup *lk;
	int r;

	if (l->dns == NULL && (r = dns_open(l)) != 0) {
		if (r != ERR_INVALID)
			return r;
		/* a bad test hook (dns_open logged it): a failed lookup,
		 * logged once per path like any (link_path_resolved) */
		link_path_resolved(p, r, "no usable nameserver ("
		    LINK_NAMESERVER_ENV ")", NULL, 0);
		return 0;
	}
	if ((lk = calloc(1, sizeof *lk)) == NULL)
		return ERR_NOMEM;
	lk->link = l;
	lk->path = p;
	p->lookup = lk;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	/* May call on_answer (and free lk) before it returns NULL. */
	req = evdns_getaddrinfo(l->dns, host, port, &hints, on_answer, lk);
	if (req != NULL)
		lk->req = req;
	return 0;
}

void
link_resolve_cancel(struct link_path *p)
{
	struct link_lookup *lk = p->lookup;

	if (lk == NULL)
		return;
	p->lookup = NULL;
	lk->path = NULL;
	lk->next = lk->link->cancelled;
	lk->link->cancelled = lk;
	evdns_getaddrinfo_cancel(lk->req);
}

void
link_resolve_fini(struct link *l)
{
	unsigned owed = 0;

	/* Refused (returns -1, nothing run) when called from inside the
	 * loop: the records still owed are then detached below. */
	if (l->cancelled != NULL)
		(void)event_base_loop(l->base, EVLOOP_NONBLOCK);
	while (l->cancelled != NULL) {
		struct link_lookup *lk = l->cancelled;
		l->cancelled = lk->next;
		lk->link = NULL;
		owed++;
	}
	/* evdns's deferred callbacks still use the base: with any owed (the
	 * link freed from inside the loop), it is left allocated, once */
	if (owed > 0)
		log_debug("%u cancelled name lookups not yet called back: "
		    "their resolver is left allocated", owed);
	else if (l->dns != NULL)
		evdns_base_free(l->dns, 0);
	l->dns = NULL;
	free(l->dns_bad);
	l->dns_bad = NULL;
}
