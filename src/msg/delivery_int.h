/*
 * delivery_int.h: the delivery engine's private parts, shared by
 * delivery.c (the engine's life, channels, stats, paths, the tick and the
 * pump, the records' codec and dispatcher), delivery_send.c (the sending
 * side), delivery_group.c (the group commit), delivery_held.c (what a
 * failed group had sent), delivery_recv.c (the receiving side) and
 * delivery_recover.c (the recovery of our own chain). Not for use outside these files: the engine's
 * contract is delivery.h. Each function is described where it is defined.
 */
#ifndef PARLEY_MSG_DELIVERY_INT_H
#define PARLEY_MSG_DELIVERY_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg/alert.h"
#include "msg/delivery.h"
#include "msg/recover.h"

struct recover;

/* One message of the peer's unsigned run, held until a head covers it. */
struct dl_pend {
	uint8_t hdr[ENVELOPE_HEADER_MAX];
	size_t hlen;
	bool salted;			/* salt travelled with the body */
	uint8_t salt[ENVELOPE_SALT_LEN];
	uint8_t *body;
	size_t blen;
	struct envelope_header h;
	uint8_t id[ENVELOPE_ID_LEN];
};

enum { DL_ALARM_PEERS, DL_ALARM_OURS };
/* A message of ours sent early by a group whose commit then failed, kept
 * until it is committed again at its seq (dl_held_commit). */
struct dl_held {
	uint64_t seq;
	uint8_t hdr[ENVELOPE_HEADER_MAX];
	size_t hlen;
	bool salted;
	uint8_t salt[ENVELOPE_SALT_LEN];
	uint8_t *body;
	size_t blen;
};


struct dl_channel {
	uint8_t id[ENVELOPE_ID_LEN];
	char idhex[17];			/* for the log */
	uint8_t self;
	uint8_t peer_pub[KEYS_PUB_LEN];
	char peer[KEYS_NAME_MAX + 1];
	unsigned npaths;
	bool up[DELIVERY_MAX_PATHS];
	int active;			/* -1: none */
	/* Sender. */
	bool synced;			/* the peer's SYNC came since active */
	uint64_t assigned, receipted, sent;
	uint64_t sent_early;		/* the group's last seq sent early */
	uint64_t head_early;		/* its head's seq, if that went on the
					 * active path; 0: none */
	/* What a failed group had sent early (seqs held[0].seq ..), not in
	 * the store: the peer may hold it, so no other message may ever take
	 * those seqs. Nothing new is assigned until dl_held_commit stores
	 * them again; held_err: its last failure, logged once. */
	struct dl_held *held;
	size_t nheld;
	int held_err;
	/* The sent-ahead note (io.note_ahead): the highest seq noted, and
	 * whether the last note failed (logged once). */
	uint64_t noted;
	bool note_err;
	/* After a crash (delivery_fence): nothing new is assigned until the
	 * store holds fence_seq or fence_ms have passed; 0: no fence.
	 * The time is counted on the monotonic clock (dl_mono, which a wall
	 * clock stepped either way does not reach) from its steps between
	 * two checks, each taken as at most DL_FENCE_STEP_MS (the ticks come
	 * every 250 ms; a loop held up longer counts a second):
	 * fence_seen_ms is the last clock read. */
	uint64_t fence_seq, fence_ms, fence_elapsed_ms, fence_seen_ms;
	/* The peer's receipt taken (verified, c->receipted), not yet in the
	 * store: it goes in with the next group's transaction, or alone at
	 * the next tick (rc_store). */
	struct store_receipt rc_pend;
	bool rc_pending;
	size_t queued;			/* ours not yet assigned */
	/* Of those, at most this many FLASH (assignment takes them first;
	 * read back as queued at a reload): while any, the pump assigns at
	 * once instead of waiting for the last batch's receipt. */
	size_t flash_queued;
	/* The last assignment stopped at DELIVERY_BATCH_BYTES: the next is
	 * made once the active path took it all, without waiting for its
	 * receipt (the queue holds bodies, not a group to gather). */
	bool assign_cut;
	/* A body of DELIVERY_BULK_MIN or more was queued since the queue was
	 * last empty (at most: read back as set at a reload while anything
	 * is queued). While set, nothing is assigned before the active path
	 * took all assigned (c->sent), by a group of short messages either,
	 * since the batch would take the bodies queued before them; and the
	 * pump assigns once it has, without waiting for a receipt. */
	bool bulk_queued;
	int assign_err;			/* the last one logged */
	size_t unsigned_n, unsigned_bytes;	/* sent since the last head */
	/* A body in parts that met a full output on the active path: its
	 * parts before part_off are on that session's way, so it goes on
	 * from there (dl_send_msg), not from its first part again. Valid while
	 * part_seq is c->sent + 1; 0 after the sender goes back (a SYNC, a
	 * stall, a path change, a reload). */
	uint64_t part_seq;
	size_t part_off;
	uint64_t progress_ms, sync_ms, gap_sync_ms;	/* dl_mono's */
	/* Records a full output refused (ERR_FULL), sent again at the tick
	 * until one gets through (docs/delivery.md, Receiver 5): our
	 * receipt (the newest then, on rc_owed_path if it is up, else on
	 * the active path) and a SYNC that asked for no reply (a gap's,
	 * or our answer to the peer's); a SYNC that asks for one is asked
	 * again by its own retry. */
	bool rc_owed, sync_owed;
	unsigned rc_owed_path;
	uint64_t refused, resends;
	/* dl_alarm's alerts, per chain (DL_ALARM_PEERS: the peer signed a
	 * fork of its own chain; DL_ALARM_OURS: a receipt names another
	 * message in ours): alert_limit's. */
	struct alert_limit alarm_limit[2];
	/* FLASH copies on the other live paths (delivery_send.c dl_copy_paths):
	 * per path, the seq of the last MSG copied there in an unbroken run
	 * after what the peer holds; 0: none since the run restarted
	 * (dl_copy_runs_restart). */
	uint64_t copied[DELIVERY_MAX_PATHS];
	/* The pump's copies (send_one): the last message copied in this
	 * pass and the paths its copies went on, owed one head over it when
	 * the pass ends (copy_head_flush), unless a head at its seq went
	 * with it; so a burst of FLASH shares heads as the active path's
	 * messages do. */
	uint64_t copy_seq;
	uint8_t copy_id[ENVELOPE_ID_LEN];
	unsigned copy_mask;
	/* The highest seq of our chain the peer says it holds: set by its
	 * SYNC (lower than c->receipted after it restored a backup), raised
	 * by its receipts. A copy goes only where the peer holds everything
	 * before it (dl_copy_paths). */
	uint64_t peer_holds;
	/* Our chain's last head that a group committed (subs_commit), seq 0
	 * when none yet: a receipt at its seq is checked against its id
	 * without reading the store (a committed place never changes). */
	uint64_t head_seq;
	uint8_t head_id[ENVELOPE_ID_LEN];
	/* Runs (delivery_set_run, docs/delivery.md "After a crash"): the
	 * peer's newest announced (RUN), the one each path's session
	 * announced (0: none yet), when a record of a session of the newest
	 * last came (dl_mono), and the channel's silence limit
	 * (delivery_fence's wait_ms). A session of another run is ended
	 * and its records are ignored. Our own RUN is owed first on each
	 * new session. path_floor:
	 * the highest run heard while the path's session still awaited its
	 * RUN (0: none); a lower RUN on it is of an earlier run for sure. */
	uint64_t peer_run, path_run[DELIVERY_MAX_PATHS];
	uint64_t path_floor[DELIVERY_MAX_PATHS];
	bool pre_run_said[DELIVERY_MAX_PATHS];	/* a record before the RUN:
						 * said at WARN, once */
	uint64_t peer_run_heard_ms, dead_ms;
	bool run_owed[DELIVERY_MAX_PATHS];
	/* Receiver. */
	struct chain_verifier v;
	struct dl_pend pend[CHAIN_RUN_MAX];
	size_t npend;
	/* The peer's message not taken yet because what it names in our
	 * chain is not in this store while ours is being taken back (0:
	 * none): the messages and heads after it meet a gap that is no
	 * refusal (the peer sends them again after it). */
	uint64_t refs_wait;
	/* A body arriving in parts. */
	uint8_t asm_hdr[ENVELOPE_HEADER_MAX];
	bool asm_salted;		/* its parts carry asm_salt */
	uint8_t asm_salt[ENVELOPE_SALT_LEN];
	size_t asm_hlen, asm_len, asm_want;
	uint8_t *asm_body;
	/* Recovery of our own chain after a restore (msg/recover.h): while
	 * set, nothing new is assigned. When it started or last stored
	 * something (status: the wall clock, dl_now); its watch
	 * (dl_recover_watch), on the monotonic clock (dl_mono): when a
	 * record of it last came (held still while no path is up), whether
	 * its stall was raised; the peer's newest signed receipt that claims
	 * our chain past our store (the evidence) and its signed time.
	 * The run held unsigned (rec_run_open): when it began (its first
	 * record that counted since a run was last stored; not again after
	 * a dropped run; held still with the watch, rec_tick_ms the watch's
	 * last look at the clock, a tick's or a record's), and whether a
	 * record of it came too late to count (rec_run_over: past
	 * DELIVERY_RECOVER_STALL_MS plus its bytes and those dropped,
	 * recover_run_bytes, at DELIVERY_RECOVER_RATE_MIN; the alert says
	 * so). */
	/* Our answer to the peer's RECOVER, on path ans_path, while open
	 * (ans.next != 0): one that met a full output (ans_full) goes on
	 * from where it stopped at the tick, at most one step per tick (a
	 * step on a full output reads a message, up to 1 MiB, only to fail
	 * at its send); a RECOVER meanwhile only moves where it goes on
	 * from (ans_full stays until a step gets through: an empty ask
	 * between two does not make the next one read). */
	struct recover_answer ans;
	unsigned ans_path;
	bool ans_full;
	struct recover *rec;
	unsigned rec_path;		/* where our last RECOVER went */
	uint64_t rec_progress_ms, rec_heard_ms, rec_claim_ms;
	bool rec_stall_raised;
	uint64_t rec_run_ms, rec_tick_ms;
	bool rec_run_open, rec_run_over;
	struct alert_limit rec_limit;
	struct alert_limit rec_drop_limit;	/* recovery-abandoned */
	uint8_t rec_claim[CHAIN_RECEIPT_MAX];
	size_t rec_claim_len;
};

/* A message given to delivery_submit: committed at the next pump. */
struct dl_sub {
	struct dl_sub *next;
	size_t ch;
	uint8_t precedence, marking;
	uint32_t kind;
	bool wait;			/* answer at the receipt */
	delivery_txn_fn *in_txn;
	delivery_done_fn *done;
	void *arg;
	int r;
	int64_t qid;
	uint64_t seq;			/* once assigned; 0 before */
	uint64_t looked;		/* c->assigned when seq was read */
	bool placed;			/* taken (or refused) by subs_direct */
	bool direct;			/* taken: in the chain, head to sign */
	bool again;			/* sent early, the group failed, stored
					 * again by dl_held_commit: answered 0 */
	uint8_t hdr[ENVELOPE_HEADER_MAX];	/* once placed by subs_direct */
	size_t hlen;
	bool salted;				/* ... with the body's salt */
	uint8_t salt[ENVELOPE_SALT_LEN];
	size_t len;
	uint8_t body[];
};

struct delivery {
	struct store *s;
	const struct keys *k;
	struct delivery_io io;
	size_t nch;
	struct dl_channel *ch[DELIVERY_MAX_CHANNELS];
	struct dl_sub *subs, **subs_tail;	/* to commit at the pump */
	size_t nsubs;
	struct dl_sub *waits;			/* committed, wait for receipts */
	size_t nwaits;
	uint64_t run;				/* delivery_set_run */
};

/*
 * dl_record_decode (delivery.c) decodes a record map with keys 1..n into
 * byte strings / uints (kinds: 'b' bytes, 'u' uint, 't' bool) with the
 * strict reader (base/wire.h): only the deterministic encoding is
 * accepted, so nothing is re-encoded. Byte strings point into b.
 * ERR_PARSE, ERR_NONCANONICAL.
 */
struct dl_field {
	char kind;
	const uint8_t *p;
	size_t n;
	uint64_t u;
};

/* Nothing new may be assigned: held messages wait to be stored again, or
 * a fence after a crash stands (delivery_fence). */
static inline bool
dl_assign_blocked(const struct dl_channel *c)
{
	return c->nheld != 0 || c->fence_seq != 0;
}

/* delivery.c */
/* The wall clock (io.now_ms): times shown, stored, signed or sent. */
uint64_t dl_now(const struct delivery *d);
/* The monotonic clock (io.mono_ms): every duration the engine waits for
 * or watches (stalls, retries, the fence, the peer's silence, alarm
 * periods), so that a wall clock stepped either way neither ends a wait
 * early nor holds it. */
uint64_t dl_mono(const struct delivery *d);
/* io.send on a path of c, after our RUN when that is still owed on the
 * path's session (the peer takes nothing before it): io.send's codes. */
int dl_io_send(struct delivery *d, struct dl_channel *c, unsigned path,
    uint8_t type, const uint8_t *b, size_t n);
#define DL_FENCE_STEP_MS 1000
/* Lifts the fence once the store holds its seq, or once its time is out:
 * then every session of the channel ends (io.drop), so that the SYNC
 * that comes first is one the peer sent on a new session, after anything
 * of the last run reached it (a SYNC it sent before, still on its way,
 * must not count). */
void dl_fence_check(struct delivery *d, struct dl_channel *c, uint64_t now);
/* How often a fenced channel asks for the peer's SYNC: a quarter of the
 * fence's time, at least DELIVERY_SYNC_RETRY_MS. */
uint64_t dl_fence_ask_ms(const struct dl_channel *c);
int dl_record_decode(const uint8_t *b, size_t len, struct dl_field *f,
    size_t n);
/* dl_record_decode of keys 1..n and an optional key n + 1, the body's
 * salt (ENVELOPE_SALT_LEN bytes, else ERR_PARSE): *salt points into b,
 * or NULL without it. */
int dl_record_decode_salted(const uint8_t *b, size_t len, struct dl_field *f,
    size_t n, const uint8_t **salt);
void dl_pend_drop(struct dl_channel *c);
void dl_copy_runs_restart(struct dl_channel *c);
int dl_channel_reload(struct delivery *d, struct dl_channel *c);

/* delivery_send.c */
void dl_wake(struct delivery *d);
unsigned dl_copy_paths(const struct dl_channel *c, uint8_t precedence,
    size_t body_len, uint64_t seq);
int dl_send_head(struct delivery *d, struct dl_channel *c,
    const struct chain_head *h, unsigned copies, bool copy_only);
int dl_send_msg(struct delivery *d, struct dl_channel *c,
    const struct store_msg *m, unsigned copies, bool copy_only,
    unsigned *went);
int dl_assign(struct delivery *d, struct dl_channel *c, size_t max);
void dl_send_sync(struct delivery *d, struct dl_channel *c, bool reply);
/* Our receipt signed ahead, while the commit of what it covers waits on
 * the disk (dl_receipt_ahead run by store_during_sync); sent only after
 * that commit returned. made: it was signed. */
struct dl_receipt_ahead {
	struct delivery *d;
	struct dl_channel *c;
	struct chain_receipt rc;
	bool made;
};
void dl_receipt_ahead(void *ahead);
/* ahead: NULL, or one made for this channel; used when it names what the
 * verifier holds now, else a receipt is signed here. A full output
 * (ERR_FULL) leaves it owed (c->rc_owed). */
void dl_send_receipt_on(struct delivery *d, struct dl_channel *c,
    unsigned path, const struct dl_receipt_ahead *ahead);
/* At the tick: the receipt and the SYNC a full output refused (c->rc_owed,
 * c->sync_owed), the receipt as the newest now; owed still if refused
 * again. */
void dl_owed_send(struct delivery *d, struct dl_channel *c);
void dl_pump_channel(struct delivery *d, struct dl_channel *c);

/* delivery_group.c */
void dl_waits_check_at(struct delivery *d, struct dl_channel *c,
    uint64_t receipted);
void dl_sender_reload(struct delivery *d, struct dl_channel *c);
void dl_subs_flush(struct delivery *d);
void dl_subs_close(struct delivery *d);

/* delivery_held.c */
int dl_held_take(struct delivery *d, size_t i, struct dl_sub *list);
int dl_held_commit(struct delivery *d, struct dl_channel *c,
    struct dl_sub *group);
void dl_held_free(struct dl_channel *c);

/* delivery_recv.c: the handlers of delivery_record */
void dl_on_sync(struct delivery *d, struct dl_channel *c, unsigned path,
    const uint8_t *b, size_t n);
void dl_on_run(struct delivery *d, struct dl_channel *c, unsigned path,
    const uint8_t *b, size_t n);
/* Whether a record (not RUN) on path may be taken: its session announced
 * the peer's newest run. Else it is ignored: before the session's RUN,
 * or on a session of an earlier run (being ended). */
bool dl_run_current(struct delivery *d, struct dl_channel *c, unsigned path);
void dl_on_msg(struct delivery *d, struct dl_channel *c, unsigned path,
    const uint8_t *b, size_t n);
void dl_on_part(struct delivery *d, struct dl_channel *c, unsigned path,
    const uint8_t *b, size_t n);
void dl_on_head(struct delivery *d, struct dl_channel *c, unsigned path,
    const uint8_t *b, size_t n);
/* *seq and *signed_ms (may be NULL): the receipt's seq and time. */
int dl_take_receipt(struct delivery *d, struct dl_channel *c, unsigned path,
    const uint8_t *b, size_t n, const char *what, uint64_t *seq,
    uint64_t *signed_ms);
/* A record refused: counted, logged at WARN naming what and why; a bad
 * signature or encoding also ends the session (io.drop). */
void dl_refuse(struct delivery *d, struct dl_channel *c, unsigned path,
    const char *what, uint64_t seq, int code);
void dl_alarm(struct delivery *d, struct dl_channel *c,
    struct alert_limit *lim, const char *kind, const char *what,
    const uint8_t *evidence, size_t n);
/* From the tick (mono_ms, dl_mono's): one alert per limit of c whose
 * period ended with alarms held back, saying how many (alert_limit_due). */
void dl_alarm_due(struct delivery *d, struct dl_channel *c,
    uint64_t mono_ms);

/* delivery_recover.c: the recovery of our own chain */
void dl_recover_start(struct delivery *d, struct dl_channel *c,
    unsigned path, uint64_t want);
void dl_recovery_abandoned(struct delivery *d, struct dl_channel *c,
    uint64_t seq, const uint8_t *rc, size_t n);
/* A recovery that nothing takes further for DELIVERY_RECOVER_STALL_MS
 * while a path is up (unsigned records only within their run's time
 * bound, dl_on_recovered) is raised once as an alert of kind
 * recovery-stalled (docs/delivery.md, "Recovery" 1). */
void dl_recover_watch(struct delivery *d, struct dl_channel *c, uint64_t now);
void dl_on_recover_ask(struct delivery *d, struct dl_channel *c,
    unsigned path, const uint8_t *b, size_t n);
/* The tick: our answer to the peer's RECOVER goes on (one step); ended
 * when its path is down or has a new session (dl_recover_path_end). */
void dl_recover_answer_tick(struct delivery *d, struct dl_channel *c);
/* A path's session is gone (down, or replaced): our answer on it ends,
 * and our own RECOVER sent on it is no longer waited for (the next SYNC
 * or RECEIPT with the peer's claim asks again at once). */
void dl_recover_path_end(struct dl_channel *c, unsigned path);
void dl_on_recovered(struct delivery *d, struct dl_channel *c, unsigned path,
    uint8_t type, const uint8_t *b, size_t n);

#endif
