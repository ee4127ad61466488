/* num.c: see num.h. */
#include "base/num.h"

#include <errno.h>
#include <stdlib.h>

int
num_parse(const char *s, long long min, long long max, long long *v)
{
	const char *d;
	char *end;
	long long x;

	if (s == NULL)
		return ERR_INVALID;
	d = *s == '-' ? s + 1 : s;
	if (*d < '0' || *d > '9')	/* strtoll would skip spaces, '+' */
		return ERR_INVALID;
	errno = 0;
	x = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || x < min || x > max)
		return ERR_INVALID;
	*v = x;
	return 0;
}
