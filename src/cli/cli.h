/*
 * cli.h: the subcommands of `parley`, one file each in src/cli/, one row
 * each in the table of src/parley.c. Exit codes (docs/parley.1.md):
 */
#ifndef PARLEY_CLI_CLI_H
#define PARLEY_CLI_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum cli_exit {
	CLI_OK = 0,		/* done */
	CLI_FAIL = 1,		/* refused or failed; the message says why */
	CLI_USAGE = 2,		/* bad usage or bad input; nothing changed */
	CLI_NO_DAEMON = 3,	/* parleyd is not running for this home */
	CLI_RESTARTED = 4,	/* parleyd restarted during a wait: what it
				 * was waited for was lost (anchor.c) */
};

/* argv[0] is the subcommand's name. Each prints its own --help. */
int cmd_init(int argc, char **argv);
int cmd_id(int argc, char **argv);
int cmd_channel(int argc, char **argv);
int cmd_aw(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_send(int argc, char **argv);
int cmd_inbox(int argc, char **argv);
int cmd_msg_show(int argc, char **argv);
int cmd_log(int argc, char **argv);
int cmd_verify(int argc, char **argv);		/* verify.c */
int cmd_export(int argc, char **argv);		/* export.c */
int cmd_export_show(int argc, char **argv);	/* export.c: show --file */
int cmd_backup(int argc, char **argv);		/* backup.c */
int cmd_restore(int argc, char **argv);		/* restore.c */
int cmd_ack(int argc, char **argv);		/* ack.c */
int cmd_approve(int argc, char **argv);		/* approve.c */
int cmd_held(int argc, char **argv);		/* approve.c */
int cmd_alerts(int argc, char **argv);		/* alerts.c */
int cmd_alert(int argc, char **argv);		/* alerts.c */
int cmd_audit(int argc, char **argv);		/* audit.c */
int cmd_anchor(int argc, char **argv);		/* anchor.c */

/* Message commands' helpers (send.c, inbox.c): one control request; prints
 * why not and returns a cli_exit code; *result is the daemon's result. */
struct json_t;
int cli_call(const char *home, const char *cmd, struct json_t *req,
    struct json_t **result);
/* cli_call with a raw body (ctl_call_body): send's text. */
int cli_call_body(const char *home, const char *cmd, struct json_t *req,
    const void *body, size_t len, struct json_t **result);
int cli_list(int argc, char **argv, const char *cmd);

/* Prints n bytes of s, from outside (a peer, a file, another operator),
 * to f with what a terminal would act on escaped (base/text.h: controls
 * and bytes that are not UTF-8 as \xHH, C1 controls and bidi overrides
 * as \u{NNNN}, a backslash as \\); lines keeps newlines and tabs
 * (term.c). cli_put_str: a NUL-terminated string, one line (NULL: none). */
void cli_put_safe(FILE *f, const char *s, size_t n, bool lines);
void cli_put_str(FILE *f, const char *s);

/* Reads arg, the value of what ("--max", "ID") given to command cmd
 * ("inbox", "alert clear"), as num_parse does (base/num.h: base 10, the
 * whole string, from min to max). CLI_OK and *v set; else it prints
 * `parley CMD: WHAT: "ARG" is not a whole number from MIN to MAX` (max
 * LLONG_MAX: "of at least MIN") and returns CLI_USAGE (num.c). */
int cli_num(const char *cmd, const char *what, const char *arg,
    long long min, long long max, long long *v);

/* The node home: --home wins, then $PARLEY_HOME, then ~/.parley. */
const char *cli_home(const char *opt_home);

/* Loads the node's keys for command cmd, printing to stderr why not (the
 * file at fault, what to do); returns a cli_exit code (src/cli/id.c). */
struct keys;
int cli_keys_load(struct keys *k, const char *home, const char *cmd);

/* The record commands' helpers (verify.c): the installed channels that
 * spec names (all for NULL), with our party index in each (*out, *self
 * malloc'd; PSKs wiped); then one channel's record from the store. An
 * agreement that does not name the home's key is left out, as parleyd
 * leaves it out, with a line on stderr saying so; with strays, it is
 * kept, its index -1 (restore's owner check names it). */
struct agreement;
struct store;
struct export_record;
int cli_record_channels(const char *home, const char *spec, const char *cmd,
    bool strays, struct agreement **out, int **self, size_t *n);
int cli_record_load(struct store *s, const struct agreement *a, int self,
    struct export_record *rec);
/* Opens HOME's store read-only for command cmd ("verify", "export");
 * else prints why: no store, not parley's, an older schema version (what
 * this build reads, and that starting parleyd migrates it), a newer one;
 * returns the error (verify.c). */
int cli_store_open(const char *cmd, const char *home, struct store **s);
/* Reads the export file path for command cmd ("verify", "show") into
 * *buf (malloc'd, *len > 0 bytes); else prints why, naming the file and
 * the problem (no such file, a directory, not a regular file, unreadable,
 * too large, empty), and returns the error (verify.c). */
int cli_export_read(const char *cmd, const char *path, uint8_t **buf,
    size_t *len);
/* Prints each party's name and signing key fingerprint (as `parley id`
 * prints it), one line each, the first after first, the second after
 * rest: what a record's signatures rest on. */
void cli_print_sign_keys(const struct export_record *rec, const char *first,
    const char *rest);

#endif
