/*
 * run.c: the node's run, HOME/run (run.h).
 */
#include "store/run.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"

#define RUN_MAGIC "parley-run v1 "
#define RUN_MAX (UINT64_MAX >> 1)

/* The last run in b[0..n): 0 and ERR_PARSE unless it is exactly the
 * line run.h gives. */
static int
run_parse(const uint8_t *b, size_t n, uint64_t *last)
{
	size_t m = sizeof RUN_MAGIC - 1, i;
	uint64_t v = 0;

	*last = 0;
	if (n < m + 2 || memcmp(b, RUN_MAGIC, m) != 0 || b[n - 1] != '\n' ||
	    b[m] == '0')
		return ERR_PARSE;
	for (i = m; i < n - 1; i++) {
		uint64_t digit = (uint64_t)(b[i] - '0');
		if (b[i] < '0' || b[i] > '9' || v > (RUN_MAX - digit) / 10)
			return ERR_PARSE;
		v = v * 10 + digit;
	}
	*last = v;
	return 0;
}

int
store_run_next(const char *home, uint64_t now_ms, uint64_t *run)
{
	char path[4096], line[64];
	uint8_t *b = NULL;
	uint64_t last = 0;
	size_t n = 0;
	int r, w;

	if (snprintf(path, sizeof path, "%s/%s", home, STORE_RUN_FILE) >=
	    (int)sizeof path) {
		*run = now_ms;
		errno = ENAMETOOLONG;
		return ERR_IO;
	}
	r = file_read(path, 64, &b, &n);
	if (r == 0)
		r = run_parse(b, n, &last);
	else if (r == ERR_NOT_FOUND)
		r = 0;			/* the first start */
	else if (r == ERR_TOO_BIG)
		r = ERR_PARSE;
	free(b);
	*run = now_ms > last ? now_ms : last + 1;
	if (*run == 0)
		*run = 1;
	if (*run > RUN_MAX)		/* not with a real clock */
		*run = RUN_MAX;
	n = (size_t)snprintf(line, sizeof line, "%s%llu\n", RUN_MAGIC,
	    (unsigned long long)*run);
	w = file_write(path, (const uint8_t *)line, n, 0600, 1);
	return r != 0 ? r : w;
}
