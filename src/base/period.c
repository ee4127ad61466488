/* period.c: period.h. */
#include "base/period.h"

bool
period_due(uint64_t now_ms, uint64_t *next_ms, uint64_t period_ms)
{
	if (now_ms < *next_ms && *next_ms - now_ms <= period_ms)
		return false;
	*next_ms = now_ms + period_ms;
	return true;
}
