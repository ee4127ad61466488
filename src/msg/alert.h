/*
 * alert.h: alerts that reach a person (docs/operators.md). An alert is a
 * JSON object stored once under a key (store/people.h, table alert; a
 * clearing is a new row in alert_clear, by a named operator). On every
 * new alert the node runs its alert_command (parleyd.conf), without a
 * shell, the alert as JSON on standard input; its output goes to the log
 * at debug; it is killed after ALERT_COMMAND_MS. A command that fails
 * (cannot run, non-zero exit, killed) raises an alert of kind
 * "alert-command-failed", which does not run the command again (no loop
 * of failures). The caller ignores SIGPIPE (parleyd does): a command that
 * exits without reading its input must not kill the daemon.
 */
#ifndef PARLEY_MSG_ALERT_H
#define PARLEY_MSG_ALERT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

#define ALERT_COMMAND_MS 10000		/* then SIGKILL */
#define ALERT_ARGV_MAX 16
#define ALERT_CHILDREN_MAX 16		/* commands running at once */
#define ALERT_OUTPUT_MAX 4096		/* bytes of output logged per run */

struct alerter;

/* An alerter over store s (borrowed); argv (NULL-terminated, copied) is
 * the command, NULL or empty for none; timeout_ms 0: ALERT_COMMAND_MS. */
int alert_new(struct store *s, const char *const *argv, uint64_t timeout_ms,
    struct alerter **out) WUR;
/* Kills and reaps running commands; NULL does nothing. */
void alert_free(struct alerter *a);
/* At the daemon's stop, before alert_free (the store still open): waits
 * up to grace_ms (ALERT_STOP_GRACE_MS from parleyd) for the commands
 * still running, among them those of the alerts raised at the stop
 * itself, reaping them as alert_tick does (a failure raises its alert);
 * then kills those left, each an "alert-command-failed" ("killed at
 * parleyd's stop"). Returns at once when none runs; NULL does nothing. */
#define ALERT_STOP_GRACE_MS 3000
void alert_stop(struct alerter *a, uint64_t grace_ms);

/* Stores alert (its "key" member must be a string; "n" and "raised_ms" are
 * set here) unless its key exists; a new one is logged and its command
 * run. *fresh may be NULL. When the store refuses it (a disk error, a full
 * disk: the error is returned, and the caller raises it again later), it
 * is announced anyway, once per key: logged at ERROR and its command run
 * with "n": 0 and "stored": false; stored later, it is logged and its
 * command not run again (docs/operators.md, "alert_command"). */
int alert_raise(struct alerter *a, json_t *alert, uint64_t now_ms,
    bool *fresh) WUR;
/* alert_raise of {"key", "kind", "channel" (NULL: ""), "text"}, the
 * shape of the node's own alarms; a failure is logged (WARN) and
 * returned. a NULL does nothing. */
int alert_raise_text(struct alerter *a, const char *kind, const char *key,
    const char *channel, const char *text, uint64_t now_ms);
/* The key of an alarm raised once, never the same alert again:
 * "KIND-CH16-NOW_MS-N", CH16 the first 16 hex digits of channel_hex, N a
 * number a's calls count up, so two alarms of one kind and channel in
 * one ms (the two chains' chain-forked counts, due at one tick) are two
 * alerts, not one taken as a repeat of the other. a may be NULL. */
void alert_key_once(struct alerter *a, char *key, size_t cap,
    const char *kind, const char *channel_hex, uint64_t now_ms);

/*
 * An alarm that a peer can repeat at will (a forged or forked record) is
 * raised as an alert at most once per ALERT_LIMIT_MS for each limit l (a
 * zeroed struct: none yet; the period starts at the one raised, so two
 * are never raised closer than that, whatever the clock's minute; a
 * clock stepped back before the last one raised starts a period), so that
 * it fills neither the store with alerts nor the alert command's queue.
 * alert_limit logs one more alarm at now_ms ("ALARM " text, at ERROR) and
 * says whether to raise it: true for the first of a period; false for the
 * others, the first of them logged ("again within 60 s"), the rest only
 * counted (l->quiet), the last one's text kept (l->last, cut to
 * ALERT_LIMIT_TEXT - 1 bytes). Those held back reach the operator's alerts
 * all the same, as a count: the owner calls alert_limit_due from its tick
 * (parleyd's: every 100 ms) and, when it says so, raises one alert of
 * alert_limit_text(l, NULL): how many came and the last one's text; the
 * first alarm after a period, when it comes before that tick, carries the
 * count instead (its alert's text is alert_limit_text(l, its text)). So
 * an alarm repeated without end raises one alert per period, each saying
 * how many it stands for; at the owner's end (its free) it calls
 * alert_limit_due(l, ALERT_LIMIT_END), so none are lost with a stop.
 * now_ms may be of any clock, the same for one l
 * (the delivery engine's and the checkpoint set's: monotonic).
 */
#define ALERT_LIMIT_MS 60000
#define ALERT_LIMIT_TEXT 1100		/* a delivery alarm's line fits */
struct alert_limit {
	uint64_t raised_ms;	/* when the last one was raised */
	bool raised;		/* false: none yet */
	uint64_t quiet;		/* held back since */
	uint64_t more;		/* held back in the period before the one
				 * raised last: its alert says so */
	char last[ALERT_LIMIT_TEXT];	/* the last one held back */
};
bool alert_limit(struct alert_limit *l, uint64_t now_ms, const char *text);
/* True (once) when the period of the last one raised has ended with some
 * held back: logged, and a new period starts at now_ms, as if the alert
 * the caller now raises (alert_limit_text(l, NULL)) were an alarm of its
 * own; l->more says how many. False otherwise, and changes nothing. */
bool alert_limit_due(struct alert_limit *l, uint64_t now_ms);
/* now_ms for alert_limit_due at the owner's end (its free): every period
 * has ended, so those held back are raised at the stop, not lost with it
 * (a new process starts with no period anyway). */
#define ALERT_LIMIT_END UINT64_MAX
/* The alert's text of what l raised last, into out (cap bytes, cut to
 * fit): text (the alarm alert_limit raised), with the number held back in
 * the period before when there were any; text NULL: the alert of
 * alert_limit_due, "N more alarm(s) like the last alert came in the 60
 * s after it (not raised as alerts); the last of them: " l->last. */
#define ALERT_LIMIT_OUT (ALERT_LIMIT_TEXT + 160)	/* out suffices */
void alert_limit_text(const struct alert_limit *l, const char *text,
    char *out, size_t cap);

/* Reaps finished commands, kills late ones, logs output; failures raise
 * alerts (stored at now_ms, the wall clock). Call about once a second.
 * A command's time limit is counted on the monotonic clock (base/clock.h),
 * not on now_ms: a wall clock stepped either way kills none early. */
void alert_tick(struct alerter *a, uint64_t now_ms);
/* Commands started and failed since alert_new. */
void alert_counts(const struct alerter *a, uint64_t *started,
    uint64_t *failed);

/*
 * The uncleared alerts of a channel (channel: its id in hex, as alerts
 * name it in "channel"): *n of them, and in alarm (cap bytes) the text of
 * the newest whose "kind" starts with "checkpoint-" or is "chain-forked"
 * (the chains diverge; "" none). One pass
 * over the uncleared alerts of store s, parsing each (alert_open_scan);
 * alert_open keeps what the pass found for every channel and passes
 * again only once the store's alerts may have changed
 * (store_alerts_version), so that a status call costs no pass while no
 * alert is raised or cleared. The store's error, or ERR_NOMEM.
 */
int alert_open(struct alerter *a, const char *channel, int64_t *n,
    char *alarm, size_t cap) WUR;
int alert_open_scan(struct store *s, const char *channel, int64_t *n,
    char *alarm, size_t cap) WUR;
/* Passes alert_open made over the alerts (for tests). */
uint64_t alert_open_passes(const struct alerter *a);

#endif
