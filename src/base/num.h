/*
 * num.h: whole numbers written as text by a person (a command-line
 * argument, an id in a control request such as "q12" or "h3"), read
 * strictly: what is not exactly a number in range is refused, never
 * taken in part, clamped or wrapped.
 */
#ifndef PARLEY_BASE_NUM_H
#define PARLEY_BASE_NUM_H

#include "base/err.h"

/*
 * Reads s as a whole number from min to max (min <= max): base 10, one
 * optional '-', then at least one digit, and nothing else (no space, no
 * '+', no "0x", no trailing character). Sets *v and returns 0; else
 * returns ERR_INVALID (empty, not a number, outside min..max, or too
 * large for a long long) and leaves *v alone.
 */
int num_parse(const char *s, long long min, long long max, long long *v)
    WUR;

#endif
