/*
 * ctl.h: the control socket (docs/control.md): JSON lines over the Unix
 * socket HOME/parleyd.sock (mode 0600). Each connection's user is taken
 * from the kernel (SO_PEERCRED) when it connects, so commands can check
 * roles. One request line in, one response line out; one table row per
 * command (commands.c).
 */
#ifndef PARLEY_CTL_CTL_H
#define PARLEY_CTL_CTL_H

#include <event2/event.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"

#define CTL_SOCKET_NAME "parleyd.sock"
#define CTL_PROTOCOL_VERSION 4	/* bump with any change to docs/control.md */
#define CTL_REQUEST_MAX 65536	/* bytes per request line */
#define CTL_BODY_MAX (1u << 20)	/* bytes of a raw body: ENVELOPE_BODY_MAX */
#define CTL_LIST_MAX 100000	/* inbox, log: the most "max" may ask */
#define CTL_BODY_FIELD "body_bytes"	/* a request's raw body length */
#define CTL_RESPONSE_MAX (4u << 20)
#define CTL_MAX_CLIENTS 64
#define CTL_IDLE_MS 60000	/* an idle client is closed */
#define CTL_LATER_MAX 1024	/* deferred answers per client; past it the
				 * client is not read until some are given */

struct link;
struct delivery;
struct checkpoint_set;
struct anchor_set;
struct store;
struct store_msg;
struct ctl_client;

/* Who is on the other end of a control connection (SO_PEERCRED). */
struct ctl_peer {
	uid_t uid;
	gid_t gid;
	pid_t pid;
	struct ctl_client *client;	/* the connection, for ctl_defer;
					 * NULL when called without one */
	/* The request's raw body (docs/control.md, "Raw bodies"), borrowed
	 * for the command's call only (a command that keeps it copies it):
	 * NULL when the request has none. */
	const uint8_t *body;
	size_t body_len;
};

/* What command handlers may use. */
struct ctl_env {
	struct link *link;
	const char *home;
	const char *version;
	struct event_base *base;
	struct delivery *delivery;	/* messages (msg/delivery.h) */
	struct checkpoint_set *checkpoints; /* msg/checkpoint.h; may be NULL */
	struct anchor_set *anchors;	/* msg/anchor.h; may be NULL */
	bool debug_inject;		/* parleyd.conf: msg-inject allowed */
	bool debug_powercut;		/* parleyd.conf: the store's power-cut
					 * mode (tests only), shown by status */
	/* People in the loop (docs/operators.md). */
	struct roles *roles;		/* who may run what; NULL: the
					 * daemon's uid only, every role */
	struct alerter *alerts;		/* msg/alert.h */
	struct deadline_watch *deadlines; /* msg/deadline.h */
	bool control_group_set;		/* parleyd.conf control_group: the */
	gid_t control_gid;		/* socket 0660 and the home 0710 */
};

/*
 * A command: fills *result (a new JSON value) and returns 0, or returns an
 * error code with a message in err (errcap bytes).
 */
typedef int ctl_command_fn(const struct ctl_env *env,
    const struct ctl_peer *who, json_t *req, json_t **result, char *err,
    size_t errcap);

/*
 * Deferred answers (the send command's group commit): a command calls
 * ctl_defer and returns CTL_LATER; later ctl_answer gives the answer. A
 * client's answers always leave in the order of its requests, deferred or
 * not, so a client may pipeline requests on one connection. ctl_defer
 * gives NULL when who has no connection or memory is short: the command
 * then answers at once. If the client goes away first, ctl_answer just
 * frees the answer.
 */
#define CTL_LATER 1
struct ctl_later;
struct ctl_later *ctl_defer(const struct ctl_peer *who);
/* result (stolen; NULL: null) when r is 0, else the error r and err. */
void ctl_answer(struct ctl_later *l, int r, json_t *result, const char *err);
/* ctl_answer of a success whose result is already JSON text (a complete,
 * valid JSON value: the caller vouches for it), for the hot path of send:
 * no JSON tree built and dumped. */
void ctl_answer_result_text(struct ctl_later *l, const char *result);
struct ctl_server;
/* Answers given between ctl_cork and ctl_uncork (nested; s may be NULL)
 * are written to their clients' sockets once, at the outermost uncork:
 * one write per client for a receipt that answers many waiting sends,
 * instead of one per answer. The daemon corks around each event that may
 * answer many (a link record, the group commit). */
void ctl_cork(struct ctl_server *s);
void ctl_uncork(struct ctl_server *s);

struct ctl_command {
	const char *name;
	ctl_command_fn *fn;
	bool body;		/* takes a raw body (who->body) */
	const char *summary;
};

/* The command table (commands.c), ctl_ncommands rows. */
extern const struct ctl_command ctl_commands[];
extern const size_t ctl_ncommands;

/* What follows a request line (ctl_request_parse's *body, when not the
 * length of a raw body). */
#define CTL_BODY_NONE (-1)	/* nothing: the next line starts there */
#define CTL_BODY_BAD (-2)	/* unknown: the stream cannot be framed */

/*
 * Parses one request line (without its newline) into the JSON object
 * *req (caller decrefs) and its row of the table *cmd, and says in *body
 * what follows the line: the length of its raw body (0..CTL_BODY_MAX
 * bytes, from CTL_BODY_FIELD), CTL_BODY_NONE or CTL_BODY_BAD. Pure: no
 * I/O, no state. ERR_PARSE (not a JSON object), ERR_USAGE (no "cmd"
 * string, an unknown command, a raw body given to a command that takes
 * none, a CTL_BODY_FIELD not an integer or negative) or ERR_TOO_BIG (a
 * CTL_BODY_FIELD over CTL_BODY_MAX), with the message in err; then *req
 * and *cmd are NULL and *body is still set (a refused request's raw body
 * is skipped; CTL_BODY_BAD closes the connection).
 */
int ctl_request_parse(const char *line, size_t len, json_t **req,
    const struct ctl_command **cmd, int64_t *body, char *err,
    size_t errcap) WUR;

struct ctl_server;

/*
 * Serves HOME/parleyd.sock on base. ERR_EXISTS when another daemon
 * answers on it (a stale socket file is replaced). env is borrowed.
 */
int ctl_server_open(struct event_base *base, const char *home,
    const struct ctl_env *env, struct ctl_server **out) WUR;
/* Closes every client and removes the socket file; NULL does nothing. */
void ctl_server_close(struct ctl_server *s);

/*
 * Client side: sends req to the daemon of home and reads its one response
 * line into *resp (caller decrefs). ERR_CLOSED when no daemon listens
 * (nothing was sent); ERR_DOUBT when the request was sent but no whole
 * answer came (none in 10 s, or the daemon closed the connection): it
 * may have been carried out; ERR_PARSE when the answer is not JSON.
 */
int ctl_call(const char *home, json_t *req, json_t **resp) WUR;
/* ctl_call with a raw body of len (<= CTL_BODY_MAX) bytes after the line
 * (req gets CTL_BODY_FIELD in a copy; req itself is not changed). body
 * NULL: ctl_call. ERR_TOO_BIG when len is over the cap. */
int ctl_call_body(const char *home, json_t *req, const void *body,
    size_t len, json_t **resp) WUR;

/* Audit anchors (anchorcmd.c): the anchor command (an operator's ask);
 * "anchor" {last, pending, given, refused, ...} added to a channel's
 * status object (id: the channel's 32 bytes) when it has an engine. */
ctl_command_fn ctl_cmd_anchor;
void ctl_anchor_status(const struct ctl_env *env, const uint8_t *id,
    json_t *chan);

/* The message commands (msgcmds.c, docs/control.md). */
ctl_command_fn ctl_cmd_send, ctl_cmd_inbox, ctl_cmd_show, ctl_cmd_log,
    ctl_cmd_msg_inject, ctl_cmd_store_fail;
/*
 * A send's text: the "text" string of req or the raw body in who, not
 * both, of 1..ENVELOPE_BODY_MAX bytes, UTF-8 without NUL (the check the
 * store makes, made before the text is submitted). *text is borrowed
 * from req or who. 0, or ERR_USAGE with err.
 */
int ctl_send_text(const struct ctl_peer *who, json_t *req,
    const uint8_t **text, size_t *len, char *err, size_t errcap) WUR;
/* Adds "messages" {queued, in_flight, received, ...} to a channel's
 * status object when the daemon has a delivery engine. */
void ctl_msg_status(const struct ctl_env *env, const char *idhex,
    json_t *chan);

/* People in the loop (peoplecmds.c): ack, approve, held, alerts,
 * alert-clear, audit, whoami; a send with "for_principal" is held. */
ctl_command_fn ctl_cmd_ack, ctl_cmd_approve, ctl_cmd_held, ctl_cmd_alerts,
    ctl_cmd_alert_clear, ctl_cmd_audit, ctl_cmd_whoami, ctl_cmd_send_held;
/* The roles check before a command runs (0 or ERR_DENIED with err). */
int ctl_people_check(const struct ctl_env *env, const struct ctl_peer *who,
    const char *cmd, char *err, size_t errcap);
/* After a command: records it in the audit log (and a show as seen).
 * The audit log's error when its entry could not be written, else 0. */
int ctl_people_after(const struct ctl_env *env, const struct ctl_peer *who,
    const char *cmd, json_t *req, json_t *result, int r);
/* Adds the four states and the acknowledgment of m to its object o. */
void ctl_people_msg(const struct ctl_env *env, const struct store_msg *m,
    json_t *o);
/* Adds "acks" (waiting, owed) to a channel's status object. */
void ctl_people_status(const struct ctl_env *env, const char *idhex,
    json_t *chan);

/*
 * The message named by s (find.c): a local id (q123), 64 hex digits or a
 * unique prefix of at least 4. 0 with *out filled (store_msg_fini it);
 * else ERR_USAGE, ERR_NOT_FOUND or a store error, with a message in err.
 */
int ctl_find_message(struct store *st, const char *s, struct store_msg *out,
    char *err, size_t errcap) WUR;

#endif
