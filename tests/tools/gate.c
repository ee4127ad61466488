/*
 * gate.c: a TCP relay for tests that makes two parties' dials meet.
 *
 *   gate PORT_A UPSTREAM_A PORT_B UPSTREAM_B
 *
 * Listens on 127.0.0.1:PORT_A and :PORT_B; each accepted connection is
 * relayed to 127.0.0.1:UPSTREAM_A (or _B). What clients send is held back
 * until both sides have a connection holding at least a whole link
 * initiation (162 bytes: length header and initiation), then released at
 * once; from then on everything is relayed as it comes. So two parleyd
 * that dial each other through the gate have their initiations arrive
 * together: both sessions form, and the duplicate rule must pick one.
 * Answers from upstream always pass. Runs until killed.
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
#include <unistd.h>

#define MAXC 64
#define HOLD 4096
#define INIT_BYTES 162

struct relay {
	int c, u, side;
	uint8_t buf[HOLD];
	size_t len;
};

static struct relay rl[MAXC];
static int nrl;

static int
listen_on(int port)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    listen(fd, 16) != 0) {
		perror("gate: listen");
		exit(1);
	}
	return fd;
}

static int
dial(int port)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
drop(int i)
{
	close(rl[i].c);
	close(rl[i].u);
	rl[i] = rl[--nrl];
}

static int
put(int fd, const uint8_t *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static bool
both_ready(void)
{
	bool a = false, b = false;

	for (int i = 0; i < nrl; i++)
		if (rl[i].len >= INIT_BYTES) {
			if (rl[i].side == 0)
				a = true;
			else
				b = true;
		}
	return a && b;
}

int
main(int argc, char **argv)
{
	struct pollfd pfd[2 + 2 * MAXC];
	int lis[2], up[2], n, i;
	bool released = false;
	uint8_t tmp[4096];
	ssize_t got;

	if (argc != 5) {
		fprintf(stderr, "usage: gate PORT_A UPSTREAM_A PORT_B "
		    "UPSTREAM_B\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	lis[0] = listen_on(atoi(argv[1]));
	up[0] = atoi(argv[2]);
	lis[1] = listen_on(atoi(argv[3]));
	up[1] = atoi(argv[4]);
	for (;;) {
		for (i = 0; i < 2; i++) {
			pfd[i].fd = lis[i];
			pfd[i].events = POLLIN;
		}
		for (i = 0; i < nrl; i++) {
			pfd[2 + 2 * i].fd = rl[i].c;
			pfd[2 + 2 * i].events = POLLIN;
			pfd[3 + 2 * i].fd = rl[i].u;
			pfd[3 + 2 * i].events = POLLIN;
		}
		n = 2 + 2 * nrl;
		if (poll(pfd, (nfds_t)n, -1) < 0 && errno != EINTR)
			return 1;
		for (i = nrl - 1; i >= 0; i--) {
			short cr = pfd[2 + 2 * i].revents;
			short ur = pfd[3 + 2 * i].revents;
			if (cr) {
				got = read(rl[i].c, tmp, sizeof tmp);
				if (got <= 0) {
					drop(i);
					continue;
				}
				if (released) {
					if (put(rl[i].u, tmp, (size_t)got) != 0) {
						drop(i);
						continue;
					}
				} else if (rl[i].len + (size_t)got <= HOLD) {
					memcpy(rl[i].buf + rl[i].len, tmp,
					    (size_t)got);
					rl[i].len += (size_t)got;
				}
			}
			if (ur) {
				got = read(rl[i].u, tmp, sizeof tmp);
				if (got <= 0 ||
				    put(rl[i].c, tmp, (size_t)got) != 0) {
					drop(i);
					continue;
				}
			}
		}
		for (i = 0; i < 2; i++) {
			int c, u;
			if (!(pfd[i].revents & POLLIN))
				continue;
			if ((c = accept(lis[i], NULL, NULL)) < 0)
				continue;
			if (nrl == MAXC || (u = dial(up[i])) < 0) {
				close(c);
				continue;
			}
			rl[nrl].c = c;
			rl[nrl].u = u;
			rl[nrl].side = i;
			rl[nrl].len = 0;
			nrl++;
		}
		if (!released && both_ready()) {
			released = true;
			for (i = nrl - 1; i >= 0; i--)
				if (rl[i].len > 0 &&
				    put(rl[i].u, rl[i].buf, rl[i].len) != 0)
					drop(i);
		}
	}
}
