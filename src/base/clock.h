/*
 * clock.h: the system's clocks, read in one place. The wall clock
 * (CLOCK_REALTIME) gives the times that are shown, stored, signed or sent
 * (unix time); it may be stepped forward or back at any moment (an
 * operator, NTP). The monotonic clock (CLOCK_MONOTONIC) never goes back
 * and is never stepped: it measures how long something took or has been
 * waiting (timeouts, retries, stall watches). Its values mean nothing
 * outside this process (not stored, not sent, not shown as a time).
 *
 * Engines that must be driven by tests take a clock hook from their
 * caller instead (delivery_io's now_ms and mono_ms); these are their
 * defaults.
 */
#ifndef PARLEY_BASE_CLOCK_H
#define PARLEY_BASE_CLOCK_H

#include <stdint.h>

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

#endif
