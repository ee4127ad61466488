/*
 * bench_util.h: the machine's floor, shared by the benchmarks (floor.c,
 * msg_bench.c): the latency of a 4 KiB write + fsync (what a durable
 * commit cannot beat) and of a TCP round trip on loopback (what a receipt
 * cannot beat), as median and p99 over a number of trials. Header-only:
 * each benchmark is one program.
 */
#ifndef PARLEY_BENCH_UTIL_H
#define PARLEY_BENCH_UTIL_H

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

struct bench_stat {
	double median, p99;		/* microseconds */
	int n;
};

static inline double
bench_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static inline int
bench_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Sorts v and takes its median and p99. */
static inline struct bench_stat
bench_stat_of(double *v, int n)
{
	struct bench_stat s = { 0, 0, n };

	if (n <= 0)
		return s;
	qsort(v, (size_t)n, sizeof *v, bench_cmp);
	s.median = v[n / 2];
	s.p99 = v[n * 99 / 100];
	return s;
}

/* Write 4 KiB and fsync, trials times, in a temporary file in dir, with
 * gap_us of idle between trials (0: back to back, the floor; a gap shows
 * what a disk left idle costs, as a message alone finds it). */
static inline int
bench_floor_fsync_gap(const char *dir, int trials, unsigned gap_us,
    struct bench_stat *out)
{
	char path[4096], block[4096];
	double *t;
	int fd;

	if ((t = calloc((size_t)trials, sizeof *t)) == NULL)
		return -1;
	snprintf(path, sizeof path, "%s/parley-floor.XXXXXX", dir);
	if ((fd = mkstemp(path)) < 0) {
		free(t);
		return -1;
	}
	unlink(path);
	memset(block, 'p', sizeof block);
	for (int i = 0; i < trials; i++) {
		double t0;
		if (gap_us > 0)
			usleep(gap_us);
		t0 = bench_now_us();
		if (pwrite(fd, block, sizeof block, (off_t)i * 4096) != 4096 ||
		    fsync(fd) != 0) {
			close(fd);
			free(t);
			return -1;
		}
		t[i] = bench_now_us() - t0;
	}
	close(fd);
	*out = bench_stat_of(t, trials);
	free(t);
	return 0;
}

static inline int
bench_floor_fsync(const char *dir, int trials, struct bench_stat *out)
{
	return bench_floor_fsync_gap(dir, trials, 0, out);
}

/* One byte there and back over loopback TCP (TCP_NODELAY), trials times,
 * to a child process that echoes. */
static inline int
bench_floor_rtt(int trials, struct bench_stat *out)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof sa;
	int one = 1, ls, c, s, status, r = -1;
	char b = 'x';
	double *t;
	pid_t pid;

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((ls = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return -1;
	if (bind(ls, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    listen(ls, 1) != 0 ||
	    getsockname(ls, (struct sockaddr *)&sa, &len) != 0) {
		close(ls);
		return -1;
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
	if (pid < 0 || (t = calloc((size_t)trials, sizeof *t)) == NULL)
		return -1;
	c = socket(AF_INET, SOCK_STREAM, 0);
	if (c >= 0 && connect(c, (struct sockaddr *)&sa, sizeof sa) == 0) {
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		r = 0;
		for (int i = 0; i < trials && r == 0; i++) {
			double t0 = bench_now_us();
			if (write(c, &b, 1) != 1 || read(c, &b, 1) != 1)
				r = -1;
			t[i] = bench_now_us() - t0;
		}
	}
	if (c >= 0)
		close(c);
	waitpid(pid, &status, 0);
	if (r == 0)
		*out = bench_stat_of(t, trials);
	free(t);
	return r;
}

#endif
