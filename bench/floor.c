/*
 * floor.c: the machine's floor, against which parley's numbers are read:
 * the latency of a 4 KiB write + fsync (what a durable commit cannot beat),
 * the same with the disk left idle 1 ms before each (what one message
 * alone meets: context, not the floor), and a TCP round trip on loopback
 * (what a receipt cannot beat). Medians and
 * p99 over a fixed number of trials (bench_util.h); prints numbers, asserts
 * nothing.
 */
#include "bench_util.h"

#define TRIALS 500

static void
report(const char *what, const struct bench_stat *s)
{
	printf("%-28s median %8.1f us   p99 %8.1f us   (%d trials)\n", what,
	    s->median, s->p99, s->n);
}

int
main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : ".";
	struct bench_stat f, l;

	if (bench_floor_fsync(dir, TRIALS, &f) != 0) {
		perror("fsync floor");
		return 1;
	}
	report("fsync of 4 KiB", &f);
	if (bench_floor_fsync_gap(dir, TRIALS / 5, 1000, &f) != 0) {
		perror("fsync after idle");
		return 1;
	}
	report("fsync of 4 KiB, 1 ms apart", &f);
	if (bench_floor_rtt(TRIALS, &l) != 0) {
		perror("loopback floor");
		return 1;
	}
	report("loopback TCP round trip", &l);
	return 0;
}
