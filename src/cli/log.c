/*
 * log.c: `parley log [--channel C]`: messages both ways with their states
 * (queued, sent, receipted, received); the listing is cli_list's
 * (inbox.c).
 */
#include "cli/cli.h"

int
cmd_log(int argc, char **argv)
{
	return cli_list(argc, argv, "log");
}
