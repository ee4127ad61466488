/*
 * clock.c: see clock.h. A clock that cannot be read (clock_gettime fails
 * only for a clock id the system lacks: both are POSIX) reads as 0.
 */
#include "base/clock.h"

#include <stdio.h>
#include <time.h>

static uint64_t
read_ns(clockid_t id)
{
	struct timespec ts;

	if (clock_gettime(id, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t
clock_wall_ms(void)
{
	return read_ns(CLOCK_REALTIME) / 1000000u;
}

uint64_t
clock_wall_s(void)
{
	return read_ns(CLOCK_REALTIME) / 1000000000u;
}

uint64_t
clock_wall_ns(void)
{
	return read_ns(CLOCK_REALTIME);
}

uint64_t
clock_mono_ms(void)
{
	return read_ns(CLOCK_MONOTONIC) / 1000000u + CLOCK_MONO_ORIGIN_MS;
}

uint64_t
clock_mono_ns(void)
{
	return read_ns(CLOCK_MONOTONIC) + CLOCK_MONO_ORIGIN_MS * 1000000ull;
}

const char *
clock_utc_str(char out[CLOCK_UTC_LEN], uint64_t unix_ms)
{
	time_t t = (time_t)(unix_ms / 1000u);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, CLOCK_UTC_LEN, "%Y-%m-%d %H:%M:%SZ", &tm) == 0)
		snprintf(out, CLOCK_UTC_LEN, "%llu ms",
		    (unsigned long long)unix_ms);
	return out;
}
