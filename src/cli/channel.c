/* channel.c: parley channel (being built). */
#include <stdio.h>

#include "cli/cli.h"

int
cmd_channel(int argc, char **argv)
{
	(void)argc;
	fprintf(stderr, "parley %s: not built yet\n", argv[0]);
	return CLI_FAIL;
}
