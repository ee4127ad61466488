/*
 * delivery_recover.c: the delivery engine's glue to the recovery of our
 * own chain after a restore (msg/recover.h, docs/delivery.md "Recovery"):
 * the ask when the peer's receipt claims our chain past our store, our
 * messages coming back and stored at each head, the stall watch, our
 * answer to the peer's own ask, and the alarm when the peer's claim
 * shrinks (recovery-abandoned).
 */
#include "msg/delivery.h"

#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "msg/delivery_int.h"
#include "msg/recover.h"

/* --- recovery of our own chain (msg/recover.h, docs/delivery.md) ------- */

struct rc_path {
	struct delivery *d;
	struct dl_channel *c;
	unsigned path;
};

static int
rc_send(void *arg, uint8_t type, const uint8_t *b, size_t n)
{
	struct rc_path *x = arg;

	if (type == RECOVER_REC_ASK)
		x->c->rec_path = x->path;
	return dl_io_send(x->d, x->c, x->path, type, b, n);
}

/* The peer holds our chain up to want, past our store: ask for it back.
 * The channel stays unsynced meanwhile, so nothing new is assigned. */
void
dl_recover_start(struct delivery *d, struct dl_channel *c, unsigned path,
    uint64_t want)
{
	struct rc_path x = { d, c, path };
	int r;

	if (c->rec == NULL) {
		if ((r = recover_new(d->s, c->id, c->self, d->k->id.sign_pub,
		    &c->rec)) != 0) {
			log_warn("channel %s: cannot start recovery: %s",
			    c->idhex, err_str(r));
			return;
		}
		c->rec_progress_ms = dl_now(d);
		c->rec_heard_ms = c->rec_tick_ms = dl_mono(d);
		c->rec_stall_raised = false;
		c->rec_run_open = c->rec_run_over = false;
	}
	if (recover_want(c->rec) != want)
		log_info("channel %s: %s holds our chain up to seq %llu, this "
		    "store up to %llu: asking for ours back", c->idhex,
		    c->peer, (unsigned long long)want,
		    (unsigned long long)c->assigned);
	if ((r = recover_ask(c->rec, want, dl_mono(d), rc_send, &x)) != 0)
		log_warn("channel %s: cannot ask for our chain back: %s",
		    c->idhex, err_str(r));
}

/* The stall watch's times (when a record last counted, when the unsigned
 * run began) at now, seen last at rec_tick_ms, all on the monotonic clock
 * (dl_mono): while no path is up they hold still. A wall clock stepped
 * forward (else the watch saw the step as silence: a false alarm at once)
 * or back (else what had passed no longer counted) does not reach them. */
static void
watch_clock(struct dl_channel *c, uint64_t now)
{
	if (c->active < 0) {	/* nothing could come */
		c->rec_heard_ms += now - c->rec_tick_ms;
		c->rec_run_ms += now - c->rec_tick_ms;
	}
	c->rec_tick_ms = now;
}

/* A record that took the recovery further (recover_last_moved, or stored
 * a run) came: the watch starts again, but for a record that stored
 * nothing only while the run it adds to, held unsigned, is younger than
 * DELIVERY_RECOVER_STALL_MS plus the run's bytes at
 * DELIVERY_RECOVER_RATE_MIN (the run begins at its first such record since
 * a run was last stored; a dropped run does not start it again, and its
 * bytes stay granted: recover_run_bytes). Else a peer feeding messages
 * that link to our chain but never the head that would let them be stored
 * held the alarm off a minute per message, up to the run's cap (256
 * messages or 8 MiB) and for hours.
 * Records sending a dropped run again count (an honest peer resends it
 * after a new ask), and cycling drops, asks or repeats buys a peer no more
 * than one run: the time does not restart, the bytes granted are at most
 * RECOVER_RUN_BYTES_MAX whatever was dropped, and a repeat of what is held
 * or stored takes nothing further. Until a run is stored, the last record
 * that counts comes at most DELIVERY_RECOVER_STALL_MS plus
 * RECOVER_RUN_BYTES_MAX at the rate (944 s) after the run's first, and
 * the alarm a minute after it. */
static void
recover_heard(struct delivery *d, struct dl_channel *c, bool stored)
{
	uint64_t now = dl_mono(d), bound;

	watch_clock(c, now);
	if (stored) {		/* verified and committed: a new run here */
		c->rec_run_open = recover_unsigned_bytes(c->rec) != 0;
		c->rec_run_ms = now;
	} else {
		if (!c->rec_run_open) {
			c->rec_run_open = true;
			c->rec_run_ms = now;
		}
		bound = DELIVERY_RECOVER_STALL_MS +
		    (uint64_t)recover_run_bytes(c->rec) * 1000 /
		    DELIVERY_RECOVER_RATE_MIN;
		if (now - c->rec_run_ms >= bound) {
			c->rec_run_over = true;
			return;
		}
	}
	c->rec_heard_ms = now;
	c->rec_stall_raised = false;
	c->rec_run_over = false;
}

/* OWN / OWN_HEAD: our own messages coming back, stored at each head. */
void
dl_on_recovered(struct delivery *d, struct dl_channel *c, unsigned path,
    uint8_t type, const uint8_t *b, size_t n)
{
	uint64_t top, seq, before = c->assigned;
	int r;

	if (c->rec == NULL) {
		/* the tail of an answer to an ask that is done: nothing to
		 * take (nothing is ever stored without an ask) */
		log_debug("channel %s path %u: recovery record 0x%02x not "
		    "asked for, ignored", c->idhex, path, type);
		return;
	}
	r = recover_on_record(c->rec, type, b, n, dl_now(d), dl_mono(d), &top,
	    &seq);
	if (r == ERR_GAP) {
		/* of an answer no longer waited for (another path's, or
		 * one whose run our new ask dropped): late, not wrong, and
		 * not a sign that the answer is coming */
		log_debug("channel %s path %u: recovered %s seq %llu from %s "
		    "does not follow what we hold: late, not taken",
		    c->idhex, path, type == RECOVER_REC_OWN ? "message" :
		    "head", (unsigned long long)seq, c->peer);
		return;
	}
	if (r == 0 && (recover_last_moved(c->rec) || top > before))
		/* it is coming: no stall (a repeat of what is held is not:
		 * a peer sending it again would hold the watch off for
		 * ever) */
		recover_heard(d, c, top > before);
	if (r != 0) {
		dl_refuse(d, c, path, type == RECOVER_REC_OWN ?
		    "recovered message" : "recovered head", seq, r);
		return;
	}
	if (top <= before)
		return;
	c->rec_progress_ms = dl_now(d);
	dl_sender_reload(d, c);
	dl_fence_check(d, c, dl_mono(d));	/* the store may hold it now */
	log_info("channel %s: took back our messages %llu..%llu from %s",
	    c->idhex, (unsigned long long)before + 1,
	    (unsigned long long)top, c->peer);
	if (top < recover_want(c->rec)) {
		dl_recover_start(d, c, path, recover_want(c->rec));
		return;
	}
	log_info("channel %s: our chain is whole again (seq %llu); going on",
	    c->idhex, (unsigned long long)top);
	recover_free(c->rec);
	c->rec = NULL;
	dl_send_sync(d, c, true); /* its SYNC brings the receipt: synced */
}

/* One step of our answer to the peer's RECOVER: it goes until it is done
 * or the session's output is full (then from there at the next tick). */
static void
answer_step(struct delivery *d, struct dl_channel *c)
{
	struct rc_path x = { d, c, c->ans_path };
	bool was_full = c->ans_full;
	int r;

	if (c->ans.next == 0)
		return;
	r = recover_answer_step(d->s, c->id, (uint8_t)(1 - c->self), &c->ans,
	    rc_send, &x);
	c->ans_full = r == ERR_FULL;
	if (r == ERR_FULL) {
		if (!was_full)	/* once per fill, not per step or ask */
			log_info("channel %s path %u: our answer to the "
			    "RECOVER of %s waits at seq %llu: the session's "
			    "output is full (it goes on from there as the "
			    "output drains)", c->idhex, c->ans_path, c->peer,
			    (unsigned long long)c->ans.next);
	} else if (r != 0) {
		log_warn("channel %s: cannot answer the RECOVER of %s: %s",
		    c->idhex, c->peer, err_str(r));
	} else {
		log_debug("channel %s: answered the RECOVER of %s", c->idhex,
		    c->peer);
	}
}

/* The peer asks for its own chain back: answered from the store, from
 * the asked seq (a new ask replaces an answer still open: the asker
 * dropped what it held unsigned of it). */
void
dl_on_recover_ask(struct delivery *d, struct dl_channel *c, unsigned path,
    const uint8_t *b, size_t n)
{
	struct recover_answer a;
	int r;

	r = recover_answer_start(d->s, c->id, (uint8_t)(1 - c->self), b, n,
	    &a);
	if (r == ERR_PARSE || r == ERR_NONCANONICAL || r == ERR_VERSION ||
	    r == ERR_INVALID) {
		dl_refuse(d, c, path, "RECOVER", 0, r);
		return;
	}
	if (r != 0) {
		log_warn("channel %s: cannot answer the RECOVER of %s: %s",
		    c->idhex, c->peer, err_str(r));
		return;
	}
	c->ans = a;
	c->ans_path = path;
	if (c->ans_full) {
		/* the output was full at the last step: the tick goes on
		 * (a peer may send RECOVER as often as it likes, on any of
		 * its paths) */
		log_debug("channel %s: the RECOVER of %s is answered from the "
		    "tick: the session's output was full", c->idhex, c->peer);
		return;
	}
	answer_step(d, c);
}

void
dl_recover_answer_tick(struct delivery *d, struct dl_channel *c)
{
	if (c->ans.next != 0)
		answer_step(d, c);
}

void
dl_recover_path_end(struct dl_channel *c, unsigned path)
{
	if (c->rec != NULL && path == c->rec_path)
		recover_ask_lost(c->rec);
	if (path != c->ans_path)
		return;
	memset(&c->ans, 0, sizeof c->ans);
	c->ans_full = false;
}

void
dl_recover_watch(struct delivery *d, struct dl_channel *c, uint64_t now)
{
	char what[768], stall[256];

	if (c->rec == NULL)
		return;
	/* no path: the watch holds still, what passed with a path up
	 * before still counts (starting the minute again let a peer whose
	 * sessions end every 59 s hold the alarm off for ever) */
	watch_clock(c, now);
	if (c->active < 0 || c->rec_stall_raised ||
	    now - c->rec_heard_ms < DELIVERY_RECOVER_STALL_MS)
		return;
	c->rec_stall_raised = true;
	if (c->rec_run_over)	/* records came, none that could be stored */
		snprintf(stall, sizeof stall, "for %llu s %s has sent back "
		    "only messages of it without the head signed by this "
		    "node that would let them be stored (longer than %u s "
		    "plus what their bytes take at %u kB/s)",
		    (unsigned long long)(now - c->rec_run_ms) / 1000, c->peer,
		    (unsigned)(DELIVERY_RECOVER_STALL_MS / 1000),
		    (unsigned)(DELIVERY_RECOVER_RATE_MIN / 1000));
	else
		snprintf(stall, sizeof stall, "%s has sent nothing of the "
		    "rest back for %u s", c->peer,
		    (unsigned)(DELIVERY_RECOVER_STALL_MS / 1000));
	snprintf(what, sizeof what, "%s says (its signed receipt) that it "
	    "holds this node's chain up to seq %llu, but this store holds "
	    "it up to seq %llu and %s: nothing new is sent on this channel "
	    "until the rest is back (a node restored from a backup takes its "
	    "messages back from the peer; if this node was not restored, "
	    "the peer's claim is false)", c->peer,
	    (unsigned long long)recover_want(c->rec),
	    (unsigned long long)c->assigned, stall);
	dl_alarm(d, c, &c->rec_limit, "recovery-stalled", what, c->rec_claim,
	    c->rec_claim_len);
}

/*
 * The peer signed that it holds our chain up to the claim's seq, and
 * later that it holds it only up to seq (within our store: the recovery
 * ends; or a later claim short of the first: it stops there): the seqs
 * past seq get new messages of ours, so the peer may hold two heads we
 * signed at each. Expected only when it too went back to a backup; either
 * way an ALARM, with both signed receipts (the claim, then rc: a CBOR
 * sequence) as evidence, since its word alone decides it.
 */
void
dl_recovery_abandoned(struct delivery *d, struct dl_channel *c, uint64_t seq,
    const uint8_t *rc, size_t n)
{
	uint8_t ev[2 * CHAIN_RECEIPT_MAX];
	size_t len = c->rec_claim_len;
	char what[640];

	memcpy(ev, c->rec_claim, len);
	if (n <= sizeof ev - len) {
		memcpy(ev + len, rc, n);
		len += n;
	}
	snprintf(what, sizeof what, "%s signed that it holds this node's "
	    "chain up to seq %llu, later up to seq %llu only: the recovery "
	    "%s and seqs %llu to %llu get new messages, so %s may hold two "
	    "heads of this node at each (expected only if it too went back "
	    "to a backup; the claim, then the later receipt)", c->peer,
	    (unsigned long long)recover_want(c->rec), (unsigned long long)seq,
	    seq > c->assigned ? "stops there" : "ends",
	    (unsigned long long)seq + 1,
	    (unsigned long long)recover_want(c->rec), c->peer);
	dl_alarm(d, c, &c->rec_drop_limit, "recovery-abandoned", what, ev,
	    len);
}
