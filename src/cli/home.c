/* home.c: where a command finds its node. */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>

const char *
cli_home(const char *opt_home)
{
	static char buf[4096];
	const char *env;

	if (opt_home != NULL)
		return opt_home;
	if ((env = getenv("PARLEY_HOME")) != NULL && *env)
		return env;
	snprintf(buf, sizeof buf, "%s/.parley",
	    getenv("HOME") ? getenv("HOME") : ".");
	return buf;
}
