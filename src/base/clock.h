/*
 * clock.h: the system's clocks, read in one place. The wall clock
 * (CLOCK_REALTIME) gives the times that are shown, stored, signed or sent
 * (unix time); it may be stepped forward or back at any moment (an
 * operator, NTP). The monotonic clock (CLOCK_MONOTONIC) never goes back
 * and is never stepped: it measures how long something took or has been
 * waiting (timeouts, retries, stall watches). Its values mean nothing
 * outside this process (not stored, not sent, not shown as a time).
 *
 * The monotonic readings start CLOCK_MONO_ORIGIN_MS past the system's
 * own origin (its boot): a time field left 0 ("never") then always lies at
 * least that long in the past, also in the first seconds after a boot,
 * where "now - 0 < a pacing interval" would otherwise hold off the first
 * event of every such pacing.
 *
 * Engines that must be driven by tests take a clock hook from their
 * caller instead (delivery_io's now_ms and mono_ms); these are their
 * defaults.
 */
#ifndef PARLEY_BASE_CLOCK_H
#define PARLEY_BASE_CLOCK_H

#include <stdint.h>

#define CLOCK_MONO_ORIGIN_MS 86400000u	/* one day */
#define CLOCK_UTC_LEN 32		/* clock_utc_str's buffer */

/* Unix time in milliseconds (the wall clock). */
uint64_t clock_wall_ms(void);
/* Unix time in whole seconds (the wall clock). */
uint64_t clock_wall_s(void);
/* Unix time in nanoseconds (the wall clock). */
uint64_t clock_wall_ns(void);
/* Milliseconds of the monotonic clock (from an arbitrary origin). */
uint64_t clock_mono_ms(void);
/* Nanoseconds of the monotonic clock (from an arbitrary origin). */
uint64_t clock_mono_ns(void);

/* A wall-clock time in milliseconds as the CLI and the logs show it:
 * "YYYY-MM-DD HH:MM:SSZ" (UTC, whole seconds); a time the system cannot
 * break down (beyond its calendar) as the number of milliseconds.
 * Returns out. */
const char *clock_utc_str(char out[CLOCK_UTC_LEN], uint64_t unix_ms);

#endif
