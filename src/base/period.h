/*
 * period.h: a job run every period (parleyd's deadline steps and alert
 * retries, once a second: on the monotonic clock since 2026-12-06, on
 * the wall clock before), kept going when the clock it is given steps
 * back: waiting for the clock to come back up to the next time would
 * stop the job for as long as the clock stepped.
 */
#ifndef PARLEY_BASE_PERIOD_H
#define PARLEY_BASE_PERIOD_H

#include <stdbool.h>
#include <stdint.h>

/* True when the job is due at now_ms: now_ms has reached *next_ms, or
 * *next_ms is more than period_ms ahead of it (the clock stepped back).
 * Then *next_ms becomes now_ms + period_ms. */
bool period_due(uint64_t now_ms, uint64_t *next_ms, uint64_t period_ms);

#endif
