/*
 * deadline_int.h: what deadline.c (the watch of acknowledgment deadlines)
 * and deadline_owed.c (status's owed counts) share: the watch's state.
 * Not for use outside these files: the contract is deadline.h.
 */
#ifndef PARLEY_MSG_DEADLINE_INT_H
#define PARLEY_MSG_DEADLINE_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "base/clock.h"
#include "msg/deadline.h"


/* Where a listing by due time of one precedence and sender is: the
 * message time and qid of the last row it went past (message_due's
 * order). */
struct due_at {
	uint64_t time_ms;
	int64_t qid;			/* INT64_MAX: every row at time_ms */
};

struct wchan {
	uint8_t id[ENVELOPE_ID_LEN];
	uint8_t self;
	char peer[129];
	uint32_t deadline_s[4];
	uint64_t scanned_ms;		/* due times up to here are done */
	uint64_t due_to_ms;		/* the listing by due time goes to */
	struct due_at at[4][2];		/* per precedence and sender */
	uint64_t scanned_seq[2];	/* per sender: seqs up to here too */
};

/*
 * The watch's scan of a channel (scan_clock, scan_seqs), at each step:
 *  1. the clock's part of precedence p (deadline d) and sender who is
 *     the texts with (time_ms, qid) at or below at[p][who], in the order
 *     of index message_due (time, then qid: unique, so a total order).
 *     at[p][who].time_ms <= due_to_ms - d (0 when below) and scanned_ms
 *     <= due_to_ms; every text due by scanned_ms is in every clock's
 *     part (at[p][who] is at (scanned_ms - d, INT64_MAX) or past it).
 *     Every text with a seq up to scanned_seq[who] in the clock's part
 *     of its precedence, with no ACK in time, is alerted;
 *  2. the first step sets scanned_ms and due_to_ms to its now, each
 *     at[p][who] to (now - d, INT64_MAX), and lists no due times: with
 *     scanned_seq at 0, every text in the chain is above it;
 *  3. a step at now first brings due_to_ms to now: down if the clock
 *     stepped back (scanned_ms and the cursors with it, so the clock's
 *     part shrinks: 1 still holds), up otherwise; then lists by the
 *     clock, for each p and who, the texts above at[p][who] up to
 *     due_to_ms - d, in message_due's order, each moving at[p][who]
 *     onto itself once alerted (or found alerted: the query leaves those
 *     out); when the time is out the listing stops, its cursor on the
 *     last row alerted (the step raised one alert at least, so the scan
 *     goes on); a row whose alert failed holds the cursor before it
 *     (listed again at the next tick). A listing that gets to the end
 *     puts at[p][who] at (due_to_ms - d, INT64_MAX); when all eight of
 *     a channel got there in the step, scanned_ms = due_to_ms;
 *  4. then by seq, from scanned_seq up to the top it reads, at most seqs
 *     seqs a listing, what is due by now; a listing that ends before its
 *     last row (the step's time is out) moves nothing, the next step
 *     lists its range again (alerted rows are left out).
 *  So a cursor never goes past a row not alerted, and at a step's seq
 *  listing every clock's part holds only texts due by that step's now:
 *  a text its range finds not due yet lies above the cursor of its
 *  precedence, and a later listing by due time reaches it (it goes on
 *  from the cursor, with no gap: rows of equal time_ms are ordered by
 *  qid, never split nor passed over). A text in the chain when a step
 *  reads the top is alerted by the step whose seq listing reaches it, if
 *  due by then, or else by the clock listing that passes it; one that
 *  gets into the chain later has a seq above that top (a chain gets its
 *  seqs in order) and is a later step's, even if the clock's part
 *  passed its place before it came. The texts the listings by the clock
 *  raise are FLASH first, of every channel (the first channel and the
 *  first sender turn at each step), so a burst of ROUTINE texts falling
 *  due does not hold a FLASH one back, nor one side's FLASH burst the
 *  other side's. A listing stopped for time goes on from the row it
 *  stopped at, not from its cursor: every row between was left out by
 *  the query for good (not owed, or alerted; rows never change), so a
 *  step does not read them again.
 */

/*
 * status's owed counts, kept per channel and sender (deadline_owed):
 *  1. every text of the sender with seq <= seq, time above 0 and no ACK
 *     from the other party among those with qid <= ack_qid is in v, in
 *     seq order, and nothing else is;
 *  2. so, as messages are never deleted or rewritten and an ACK never
 *     goes away, a query reads only the ACKs above ack_qid (dropping what
 *     they name from v) and the seqs above seq (adding what is owed);
 *  3. nothing is read into it inside a transaction (it may roll back);
 *  4. the start's read (deadline_owed_warm_step) is the same reading in
 *     slices: seq may stay below the chain's top between two, and the
 *     next slice applies first the ACKs that came meanwhile, then reads
 *     on from seq. A text that came meanwhile has a seq above the top (a
 *     chain gets its seqs in order), so above seq: read by a later slice
 *     with the ACKs committed by then; an ACK of a text not read yet
 *     drops nothing, and the text's own reading leaves it out. So 1
 *     holds after each slice, as after a whole read.
 */
struct owed_ent {
	int64_t qid;
	uint64_t time_ms;
	uint8_t id[ENVELOPE_ID_LEN];
	uint8_t precedence;
};

struct owed_list {
	uint64_t seq;			/* seqs up to here are in v or acked */
	uint64_t top;			/* the chain's highest seq, last seen */
	struct owed_ent *v;
	size_t n, cap;
};

struct owed_chan {
	uint8_t id[ENVELOPE_ID_LEN];
	bool built;			/* false: read the record whole */
	bool too_big;			/* over DEADLINE_OWED_MAX: recount */
	bool warming;			/* the start's read is not through */
	int64_t ack_qid;		/* ACKs up to here are applied */
	struct owed_list who[2];
};

struct deadline_watch {
	struct store *s;
	struct alerter *a;
	size_t n;
	struct wchan ch[DEADLINE_MAX_CHANNELS];
	int failing;		/* the last scan's first error, 0: none */
	int failed_now;		/* this tick's first error */
	/* the steps until every channel first read through (logged once) */
	bool scan_through;
	uint64_t scan_t0;	/* clock_mono_ns at the first step */
	uint64_t scan_ns, scan_max_ns;
	unsigned scan_steps;
	uint64_t raised, again;	/* alerts stored new, and not new */
	size_t turn;		/* the channel the clock listings start at */
	unsigned who_first;	/* and the sender (0 or 1): both turn */
	struct owed_chan owed[DEADLINE_MAX_CHANNELS];
	size_t nowed;
	size_t owed_total;	/* entries in every owed list */
	bool over_cap;		/* owed_update stopped at DEADLINE_OWED_MAX */
	/* the start's read (deadline_owed_warm_begin, _step) */
	bool warming;		/* some channel's is not through */
	uint64_t warm_t0;	/* clock_mono_ns at its begin */
	uint64_t warm_ns, warm_max_ns;	/* in all, the longest step */
	unsigned warm_steps;
};

/* Nanoseconds since t0 (clock_mono_ns). */
static inline uint64_t
ns_since(uint64_t t0)
{
	return clock_mono_ns() - t0;
}

#endif
