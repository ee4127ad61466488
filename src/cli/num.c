/*
 * num.c: a number given on the command line (an option's value, an
 * argument), read strictly (base/num.h) and, when it is not one, a usage
 * error that names the argument, shows what was given and says what is
 * wanted.
 */
#include "cli/cli.h"

#include <limits.h>

#include "base/num.h"

int
cli_num(const char *cmd, const char *what, const char *arg, long long min,
    long long max, long long *v)
{
	if (num_parse(arg, min, max, v) == 0)
		return CLI_OK;
	fprintf(stderr, "parley %s: %s: \"", cmd, what);
	cli_put_str(stderr, arg);
	if (max == LLONG_MAX)
		fprintf(stderr, "\" is not a whole number of at least %lld\n",
		    min);
	else
		fprintf(stderr, "\" is not a whole number from %lld to %lld\n",
		    min, max);
	return CLI_USAGE;
}
