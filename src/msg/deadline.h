/*
 * deadline.h: acknowledgment deadlines (docs/operators.md). Each channel's
 * agreement gives a deadline per precedence. A message is due at its
 * header time plus that deadline; once this node's clock passes that
 * point with no acknowledgment in time, both sides raise an alert: the
 * sender's says the peer owes one, the receiver's says we owe one. The
 * local clock is the only clock there is to notice that time passed; the
 * lateness of an ACK that does come is judged by the two signed times
 * alone (ack.h), so both sides agree on it.
 *
 * A watch scans, per channel, precedence and sender, the messages that
 * fell due since its last scan (index message_due, from a cursor: a
 * listing cut short goes on where it stopped) and those that got into
 * the chain here since then already past due (received late, or ours
 * assigned late): the seqs above the highest it saw of that sender at its
 * last scan, kept in memory (index UNIQUE (channel, sender, seq); a chain
 * gets its places in seq order). The first scan is the seq listing from
 * 0: everything in the chain, in steps of bounded time (deadline_watch_
 * step), its clock listings from the first step's time on; the clock
 * listings are in steps of bounded time too.
 * Alerts are keyed by side and message id, and the queries leave out what
 * is alerted, so nothing is raised twice.
 */
#ifndef PARLEY_MSG_DEADLINE_H
#define PARLEY_MSG_DEADLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "msg/alert.h"
#include "msg/envelope.h"
#include "store/store.h"

#define DEADLINE_MAX_CHANNELS 64

struct deadline_watch;

int deadline_watch_new(struct store *s, struct alerter *a,
    struct deadline_watch **out) WUR;
void deadline_watch_free(struct deadline_watch *w);
/* Watches channel: our party index self, the peer's name (copied), the
 * agreement's deadlines in seconds (FLASH first). */
int deadline_watch_add(struct deadline_watch *w,
    const uint8_t channel[ENVELOPE_ID_LEN], uint8_t self, const char *peer,
    const uint32_t deadline_s[4]) WUR;
/* The deadlines of channel: ERR_NOT_FOUND when it is not watched. */
int deadline_watch_get(const struct deadline_watch *w,
    const uint8_t channel[ENVELOPE_ID_LEN], uint32_t deadline_s[4]) WUR;
/*
 * A step of the scan at now_ms: on every channel, FLASH first, what fell
 * due by the clock since the last step, from where the last step's
 * listing of that precedence and sender stopped (a cursor: due time, then
 * qid); then the chain's seqs not listed yet, in listings of at most seqs
 * seqs, until budget_us have passed (at least one listing, unless an
 * alert was raised; 0: one only). Raising an alert is a commit, so a
 * listing stops when the time is out, or would be by the end of the next
 * alert if it takes what the last took: after one alert at least in the
 * step (a stopped listing by due time goes on from its cursor at the next
 * step; a stopped seq listing lists its range again). Returns false while
 * due times or seqs are left to list: call again soon (the daemon: from
 * the loop, after the I/O that is ready); true when nothing is left, or
 * when a listing failed (logged, tried again at the next tick: not at
 * once, which would spin while the store fails). The first steps list
 * the whole record; the step that gets through logs the time they took,
 * once. deadline_watch_tick: a step without a bound.
 */
#define DEADLINE_SCAN_SEQS 256		/* seqs per listing of a step */
#define DEADLINE_SCAN_US 10000		/* a step's time, the daemon's */
bool deadline_watch_step(struct deadline_watch *w, uint64_t now_ms,
    uint64_t seqs, uint64_t budget_us);
void deadline_watch_tick(struct deadline_watch *w, uint64_t now_ms);
/* Alerts the scans stored new, and raised again when they were stored
 * already (the listings leave those out: 0; for tests). */
void deadline_watch_counts(const struct deadline_watch *w, uint64_t *raised,
    uint64_t *again);

/* Per channel numbers for `parley status`. */
struct deadline_owed {
	size_t count;			/* past due, no ACK in time */
	uint64_t oldest_ms;		/* message time of the oldest */
	int top;			/* highest precedence, -1: none */
	char oldest_id[2 * ENVELOPE_ID_LEN + 1];
};
/*
 * For channel with our index self and deadlines: what we owe (received
 * messages with no ACK of ours: waiting counts all of them, overdue those
 * past due) and what the peer owes us past due. w (may be NULL: the
 * recount) keeps, per channel and sender, the messages still owed at the
 * last call and how far it read the chain and the ACKs; a call reads only
 * the ACKs and the chain's seqs that came since (from any connection), so
 * its cost grows with what is owed and what is new, not with the record.
 * The first call for a channel reads the record whole, or what the
 * start's read (deadline_owed_warm_begin) has not read yet.
 * Inside a transaction on s, or past DEADLINE_OWED_MAX owed messages, it
 * is the recount. s must be w's store.
 */
#define DEADLINE_OWED_MAX (1 << 19)	/* owed messages kept, in all */
int deadline_owed(struct deadline_watch *w, struct store *s,
    const uint8_t channel[ENVELOPE_ID_LEN], uint8_t self,
    const uint32_t deadline_s[4], uint64_t now_ms,
    struct deadline_owed *waiting, struct deadline_owed *we_overdue,
    struct deadline_owed *peer_overdue) WUR;
/* The same numbers by reading every message of the channel (a listing
 * per sender and precedence, the ACK test by index): the reference the
 * tests hold deadline_owed to. Its cost grows with the record. */
int deadline_owed_recount(struct store *s,
    const uint8_t channel[ENVELOPE_ID_LEN], uint8_t self,
    const uint32_t deadline_s[4], uint64_t now_ms,
    struct deadline_owed *waiting, struct deadline_owed *we_overdue,
    struct deadline_owed *peer_overdue) WUR;
/*
 * The start's read of the record for deadline_owed, in slices, so that a
 * daemon serves links and clients meanwhile (docs/store.md, "What is
 * owed"). deadline_owed_warm_begin marks every watched channel not read
 * yet as being read; each deadline_owed_warm_step then reads on, one
 * channel after the other, in reads of at most seqs seqs of the chains,
 * until budget_us have passed (at least one read; 0: one only), and
 * returns true once every channel is read through (then logs the time it
 * took, once). What is written between two steps is counted as if the
 * read had been whole (invariant 4 in deadline.c). Inside a transaction a
 * step reads nothing (false: step again later); a store error is logged
 * and leaves that channel to its first status (read whole there). A
 * deadline_owed on a channel still being read reads the rest of it at
 * once: check deadline_owed_reading first not to hold the loop.
 * deadline_owed_warm: begin and read everything now (tests, benches).
 */
#define DEADLINE_WARM_SEQS 1024		/* seqs per read of a step */
#define DEADLINE_WARM_US 10000		/* a step's time, the daemon's */
void deadline_owed_warm_begin(struct deadline_watch *w);
bool deadline_owed_warm_step(struct deadline_watch *w, uint64_t seqs,
    uint64_t budget_us);
void deadline_owed_warm(struct deadline_watch *w);
/* Whether channel is still being read by the start's read: then read and
 * of are how many of its chains' seqs (both senders') it read, of how
 * many there are as far as it saw (for status). */
bool deadline_owed_reading(const struct deadline_watch *w,
    const uint8_t channel[ENVELOPE_ID_LEN], uint64_t *read, uint64_t *of);
/* The owed messages w keeps, in all channels (for tests). */
size_t deadline_owed_kept(const struct deadline_watch *w);

#endif
