/*
 * floor.c: the machine's floor, against which parley's numbers are read:
 * the latency of a 4 KiB write + fsync (what a durable commit cannot beat)
 * and a TCP round trip on loopback (what a receipt cannot beat). Medians and
 * p99 over a fixed number of trials; prints numbers, asserts nothing.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TRIALS 500

static double
now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void
report(const char *what, double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp);
	printf("%-28s median %8.1f us   p99 %8.1f us   (%d trials)\n", what,
	    v[n / 2], v[n * 99 / 100], n);
}

static int
bench_fsync(const char *dir)
{
	static double t[TRIALS];
	char path[4096], block[4096];
	int fd;

	snprintf(path, sizeof path, "%s/parley-floor.XXXXXX", dir);
	if ((fd = mkstemp(path)) < 0) {
		perror("mkstemp");
		return 1;
	}
	unlink(path);
	memset(block, 'p', sizeof block);
	for (int i = 0; i < TRIALS; i++) {
		double t0 = now_us();
		if (pwrite(fd, block, sizeof block, (off_t)i * 4096) != 4096 ||
		    fsync(fd) != 0) {
			perror("write/fsync");
			close(fd);
			return 1;
		}
		t[i] = now_us() - t0;
	}
	close(fd);
	report("fsync of 4 KiB", t, TRIALS);
	return 0;
}

static int
bench_loopback(void)
{
	static double t[TRIALS];
	struct sockaddr_in sa;
	socklen_t len = sizeof sa;
	int one = 1, ls, c, s, status;
	char b = 'x';
	pid_t pid;

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((ls = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    bind(ls, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    listen(ls, 1) != 0 ||
	    getsockname(ls, (struct sockaddr *)&sa, &len) != 0) {
		perror("listen");
		return 1;
	}
	if ((pid = fork()) == 0) {
		if ((s = accept(ls, NULL, NULL)) < 0)
			_exit(1);
		setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		while (read(s, &b, 1) == 1)
			if (write(s, &b, 1) != 1)
				break;
		_exit(0);
	}
	close(ls);
	c = socket(AF_INET, SOCK_STREAM, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&sa, sizeof sa) != 0) {
		perror("connect");
		return 1;
	}
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	for (int i = 0; i < TRIALS; i++) {
		double t0 = now_us();
		if (write(c, &b, 1) != 1 || read(c, &b, 1) != 1) {
			perror("round trip");
			return 1;
		}
		t[i] = now_us() - t0;
	}
	close(c);
	waitpid(pid, &status, 0);
	report("loopback TCP round trip", t, TRIALS);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : ".";
	int r = bench_fsync(dir);
	return r | bench_loopback();
}
