/*
 * parley.c: the command line. git-style subcommands, one row each in the
 * table below, one file each in src/cli/. Exit codes are in cli.h and
 * docs/parley.1.md.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "init", cmd_init, "create a node: its link and signing keys" },
	{ "id", cmd_id, "show this node's name and key fingerprints" },
	{ "channel", cmd_channel, "draft, sign, add and list channel agreements" },
	{ "aw", cmd_aw, "divide issues between two parties by Adjusted Winner" },
	{ "status", cmd_status, "show each channel's paths: up/down, RTT, clock offset" },
	{ "send", cmd_send, "send a message (durable before it prints its id)" },
	{ "inbox", cmd_inbox, "list received messages" },
	{ "show", cmd_msg_show, "show one message: header, state, body" },
	{ "log", cmd_log, "messages both ways with their states" },
	{ "ack", cmd_ack, "acknowledge a received message, in your name" },
	{ "approve", cmd_approve, "approve a message held for a principal" },
	{ "held", cmd_held, "messages held for a principal's approval" },
	{ "alerts", cmd_alerts, "list alerts (overdue acknowledgments, ...)" },
	{ "alert", cmd_alert, "alert clear ID [NOTE]: clear an alert" },
	{ "audit", cmd_audit, "the audit log: who did what; verifies it" },
	{ "anchor", cmd_anchor, "have each peer sign our audit log's head now" },
	{ "verify", cmd_verify, "check the record (store or export file), name the first fault" },
	{ "export", cmd_export, "write a channel's record as one self-verifying file" },
	{ "backup", cmd_backup, "copy the live store (online backup)" },
	{ "restore", cmd_restore, "bring a node's store back from a backup" },
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: parley COMMAND [ARGS...]   (parley COMMAND --help)\n\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
}

int
main(int argc, char **argv)
{
	if (sodium_init() < 0) {
		fprintf(stderr, "parley: libsodium failed to initialise\n");
		return CLI_FAIL;
	}
	if (argc < 2) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return CLI_OK;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "parley: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return CLI_USAGE;
}
