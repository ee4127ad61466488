/*
 * throttle.c: a TCP relay for tests that makes a peer slow.
 *
 *   throttle BYTES_PER_SECOND[:BACK_BYTES_PER_SECOND][@DELAY_MS] PORT
 *       UPSTREAM [PORT UPSTREAM ...]
 *
 * Listens on 127.0.0.1:PORT and relays each accepted connection to
 * 127.0.0.1:UPSTREAM. What clients send is passed on at no more than
 * BYTES_PER_SECOND per connection (each is a path of its own), in 10 ms
 * slices; answers from upstream pass at once, or at no more than
 * BACK_BYTES_PER_SECOND when given (a path slow both ways); its socket
 * buffers are 64 KiB, so what it cannot pass waits at the sender, as on
 * a real slow path. A daemon dialled through it sees a slow peer with a
 * live link. With @DELAY_MS every byte arrives DELAY_MS after it passed
 * the rate limit, each way (a long path: a geostationary satellite hop
 * is about 280 ms one way); what is in flight then is held in memory,
 * as the path itself would hold it. SIGUSR1 pauses the client-to-upstream direction (nothing
 * passes) and resumes it, in turn; SIGUSR2 closes the connections of the
 * first PORT (a path that breaks: what they held is lost). Runs until
 * killed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXL 8
#define MAXC 64
#define BUF 65536

/* Bytes on their way along a delayed path: they leave at `at`. */
struct flight {
	struct flight *next;
	double at;
	size_t len, off;
	uint8_t data[];
};

/* A direction's bytes in flight, oldest first. */
struct flights {
	struct flight *head, *tail;
};

struct relay {
	int cfd, ufd;			/* client, upstream; -1: free */
	uint8_t up[BUF];		/* client -> upstream, throttled */
	size_t uplen;
	uint8_t down[BUF];		/* upstream -> client, when throttled */
	size_t downlen;
	double budget, bbudget;		/* bytes each way it may pass now */
	struct flights fup, fdown;	/* in flight, with a delay */
	int port;			/* its listener's index */
};

static struct relay rel[MAXC];
static volatile sig_atomic_t paused, cut_first;
static double delay;			/* seconds each way; 0: none */

static void
on_usr1(int sig)
{
	(void)sig;
	paused = !paused;
}

static void
on_usr2(int sig)
{
	(void)sig;
	cut_first = 1;
}
static int lfd[MAXL], upstream[MAXL], nl;

static int
listen_on(int port)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1, rcv = BUF;

	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	/* a relay's buffers are bounded: what it cannot take stays unsent
	 * at the sender (SIOCOUTQ), not acknowledged into megabytes of
	 * loopback buffer; the accepted sockets inherit it */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
	if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    listen(fd, 16) != 0) {
		perror("throttle: listen");
		exit(1);
	}
	return fd;
}

static int
dial(int port)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM, 0), rcv = BUF;

	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
flights_free(struct flights *f)
{
	while (f->head != NULL) {
		struct flight *n = f->head->next;
		free(f->head);
		f->head = n;
	}
	f->tail = NULL;
}

static void
drop(struct relay *r)
{
	flights_free(&r->fup);
	flights_free(&r->fdown);
	close(r->cfd);
	close(r->ufd);
	r->cfd = r->ufd = -1;
	r->uplen = r->downlen = 0;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Puts n bytes on their way along f, arriving delay seconds after t:
 * -1 when out of memory. */
static int
fly(struct flights *f, const uint8_t *p, size_t n, double t)
{
	struct flight *x = malloc(sizeof *x + n);

	if (x == NULL)
		return -1;
	x->next = NULL;
	x->at = t + delay;
	x->len = n;
	x->off = 0;
	memcpy(x->data, p, n);
	if (f->tail != NULL)
		f->tail->next = x;
	else
		f->head = x;
	f->tail = x;
	return 0;
}

/* Writes to fd what of f has arrived by t, as much as fd takes now: -1
 * when the connection broke. */
static int
land(int fd, struct flights *f, double t)
{
	while (f->head != NULL && f->head->at <= t) {
		struct flight *x = f->head;
		ssize_t w = send(fd, x->data + x->off, x->len - x->off,
		    MSG_DONTWAIT);

		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (w <= 0)
			return -1;
		x->off += (size_t)w;
		if (x->off < x->len)
			return 0;
		f->head = x->next;
		if (f->head == NULL)
			f->tail = NULL;
		free(x);
	}
	return 0;
}

/* Writes up to *budget bytes of buf (*len held) to fd, or with a delay
 * puts them in flight on f: -1 when the connection broke. */
static int
pass(int fd, struct flights *f, uint8_t *buf, size_t *len, double *budget,
    double t)
{
	size_t k = *len;
	ssize_t w;

	if (k == 0 || *budget < 1)
		return 0;
	if ((double)k > *budget)
		k = (size_t)*budget;
	if (delay > 0)
		w = fly(f, buf, k, t) == 0 ? (ssize_t)k : -1;
	else
		w = write(fd, buf, k);
	if (w <= 0)
		return -1;
	memmove(buf, buf + w, *len - (size_t)w);
	*len -= (size_t)w;
	*budget -= (double)w;
	return 0;
}

int
main(int argc, char **argv)
{
	struct pollfd p[MAXL + 2 * MAXC];
	int idx[MAXL + 2 * MAXC];
	double rate, back = 0, last;
	char *colon, *at;
	uint8_t buf[BUF];

	if (argc < 4 || argc % 2 != 0 || (argc - 2) / 2 > MAXL) {
		fprintf(stderr, "usage: throttle BYTES_PER_SECOND"
		    "[:BACK_BYTES_PER_SECOND][@DELAY_MS] PORT UPSTREAM "
		    "[PORT UPSTREAM ...]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGUSR1, on_usr1);
	signal(SIGUSR2, on_usr2);
	rate = atof(argv[1]);
	if ((colon = strchr(argv[1], ':')) != NULL)
		back = atof(colon + 1);	/* 0: answers pass at once */
	if ((at = strchr(argv[1], '@')) != NULL)
		delay = atof(at + 1) / 1000;
	for (int i = 2; i < argc; i += 2) {
		lfd[nl] = listen_on(atoi(argv[i]));
		upstream[nl++] = atoi(argv[i + 1]);
	}
	for (int i = 0; i < MAXC; i++)
		rel[i].cfd = rel[i].ufd = -1;
	last = now();
	for (;;) {
		int n = 0;
		double t;

		for (int i = 0; i < nl; i++) {
			p[n].fd = lfd[i];
			p[n].events = POLLIN;
			idx[n++] = -1 - i;
		}
		for (int i = 0; i < MAXC; i++) {
			if (rel[i].cfd < 0)
				continue;
			p[n].fd = rel[i].cfd;
			p[n].events = rel[i].uplen < BUF ? POLLIN : 0;
			idx[n++] = i;
			p[n].fd = rel[i].ufd;
			p[n].events = rel[i].downlen < BUF ? POLLIN : 0;
			idx[n++] = MAXC + i;
		}
		if (poll(p, (nfds_t)n, delay > 0 ? 2 : 10) < 0 &&
		    errno != EINTR)
			return 1;
		t = now();
		if (cut_first) {
			cut_first = 0;
			for (int i = 0; i < MAXC; i++)
				if (rel[i].cfd >= 0 && rel[i].port == 0)
					drop(&rel[i]);
		}
		for (int i = 0; i < MAXC; i++) {
			struct relay *r = &rel[i];

			/* no bursts beyond 10 ms */
			r->budget += (t - last) * rate;
			if (r->budget > rate / 100 || paused)
				r->budget = paused ? 0 : rate / 100;
			r->bbudget += (t - last) * back;
			if (r->bbudget > back / 100)
				r->bbudget = back / 100;
		}
		last = t;
		for (int k = 0; k < n; k++) {
			struct relay *r;
			ssize_t got;

			if (p[k].revents == 0)
				continue;
			if (idx[k] < 0) {
				int c = accept(p[k].fd, NULL, NULL), u, i;
				if (c < 0)
					continue;
				u = dial(upstream[-1 - idx[k]]);
				for (i = 0; i < MAXC && rel[i].cfd >= 0; i++)
					;
				if (u < 0 || i == MAXC) {
					close(c);
					if (u >= 0)
						close(u);
					continue;
				}
				rel[i].cfd = c;
				rel[i].ufd = u;
				rel[i].port = -1 - idx[k];
				continue;
			}
			r = &rel[idx[k] % MAXC];
			if (r->cfd < 0)
				continue;
			if (idx[k] >= MAXC && back > 0) {	/* throttled */
				got = read(r->ufd, r->down + r->downlen,
				    BUF - r->downlen);
				if (got <= 0)
					drop(r);
				else
					r->downlen += (size_t)got;
				continue;
			}
			if (idx[k] >= MAXC) {		/* upstream -> client */
				got = read(r->ufd, buf, sizeof buf);
				if (got <= 0 || (delay > 0 ? fly(&r->fdown, buf,
				    (size_t)got, t) != 0 : write(r->cfd, buf,
				    (size_t)got) != got))
					drop(r);
				continue;
			}
			got = read(r->cfd, r->up + r->uplen, BUF - r->uplen);
			if (got <= 0)
				drop(r);
			else
				r->uplen += (size_t)got;
		}
		for (int i = 0; i < MAXC; i++) {
			struct relay *r = &rel[i];

			if (r->cfd >= 0 && (pass(r->ufd, &r->fup, r->up,
			    &r->uplen, &r->budget, t) != 0 || pass(r->cfd,
			    &r->fdown, r->down, &r->downlen, &r->bbudget, t)
			    != 0 || land(r->ufd, &r->fup, t) != 0 ||
			    land(r->cfd, &r->fdown, t) != 0))
				drop(r);
		}
	}
}
