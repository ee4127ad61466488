/*
 * util.c: the link layer's small helpers: clocks, randomness for the
 * handshake, address formatting and parsing (numeric, or blocking for
 * listen addresses at startup; dials resolve names in resolve.c), and the
 * rate-limited log of refused connections (link_int.h). Split from conn.c
 * to keep it short.
 */
#include "link/link_int.h"

#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"

uint64_t
link_now_ms(void)
{
	return clock_mono_ms();
}

uint64_t
link_unix_ns(void)
{
	return clock_wall_ns();
}

void
link_random(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	randombytes_buf(buf, len);
}

void
link_addr_str(const struct sockaddr *sa, char *out, size_t cap, char *src,
    size_t srccap)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
		port = ntohs(in->sin_port);
		snprintf(out, cap, "%s:%u", host, port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 =
		    (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
		port = ntohs(in6->sin6_port);
		snprintf(out, cap, "[%s]:%u", host, port);
	} else
		snprintf(out, cap, "?");
	if (src)
		snprintf(src, srccap, "%s", host);
}

int
link_addr_split(const char *addr, char host[AGREEMENT_ADDR_MAX + 1],
    const char **port)
{
	const char *colon;
	size_t hl;

	if (strlen(addr) > AGREEMENT_ADDR_MAX)
		return ERR_INVALID;
	if (addr[0] == '[') {
		colon = strchr(addr, ']');
		if (colon == NULL || colon[1] != ':')
			return ERR_INVALID;
		hl = (size_t)(colon - addr - 1);
		memcpy(host, addr + 1, hl);
		*port = colon + 2;
	} else {
		colon = strrchr(addr, ':');
		if (colon == NULL)
			return ERR_INVALID;
		hl = (size_t)(colon - addr);
		memcpy(host, addr, hl);
		*port = colon + 1;
	}
	host[hl] = '\0';
	return 0;
}

/* getaddrinfo with flags; the first answer into ss. */
static int
resolve(const char *addr, int flags, struct sockaddr_storage *ss,
    socklen_t *len)
{
	char host[AGREEMENT_ADDR_MAX + 1];
	const char *port;
	struct addrinfo hints, *res = NULL;
	int r;

	if ((r = link_addr_split(addr, host, &port)) != 0)
		return r;
	memset(&hints, 0, sizeof hints);
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = flags;
	r = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (r != 0 || res == NULL) {
		/* Numeric only: EAI_NONAME says the host is a name. */
		if ((flags & AI_NUMERICHOST) && r != EAI_NONAME)
			return ERR_INVALID;
		return ERR_NOT_FOUND;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

int
link_addr_parse(const char *addr, bool passive, struct sockaddr_storage *ss,
    socklen_t *len)
{
	return resolve(addr, passive ? AI_PASSIVE : 0, ss, len);
}

int
link_addr_numeric(const char *addr, struct sockaddr_storage *ss,
    socklen_t *len)
{
	return resolve(addr, AI_NUMERICHOST | AI_NUMERICSERV, ss, len);
}

void
link_log_refusal(struct link *l, const char *fmt, ...)
{
	uint64_t now = link_now_ms();
	char line[512];
	va_list ap;

	if (now - l->rlog_ms >= 1000) {
		if (l->rlog_dropped > 0)
			log_warn("%u more connections refused without a log "
			    "line (over %d a second)", l->rlog_dropped,
			    LINK_REFUSAL_LOG_BURST);
		l->rlog_ms = now;
		l->rlog_count = 0;
		l->rlog_dropped = 0;
	}
	if (l->rlog_count >= LINK_REFUSAL_LOG_BURST) {
		l->rlog_dropped++;
		return;
	}
	l->rlog_count++;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	log_warn("%s", line);
}

/* The per-source key: the address, or for IPv6 its /64 (one host often
 * holds a whole /64). */
void
link_source_key(const struct sockaddr *sa, char *src, size_t cap)
{
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
	struct in6_addr net;
	char host[INET6_ADDRSTRLEN];

	if (sa->sa_family != AF_INET6 ||
	    IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
		return;
	memset(&net, 0, sizeof net);
	memcpy(&net, &in6->sin6_addr, 8);
	inet_ntop(AF_INET6, &net, host, sizeof host);
	snprintf(src, cap, "%.40s/64", host);	/* at most 21 + 3 */
}
