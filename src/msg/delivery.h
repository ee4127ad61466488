/*
 * delivery.h: the delivery engine between the link and the store
 * (docs/delivery.md has the records in CDDL and the rules).
 *
 * Per channel, the engine sends our chain on one active path (the lowest
 * path that is up; a FLASH message also goes as a copy on the other paths
 * that are up where the peer can take it: docs/delivery.md, "FLASH on
 * every live path") and receives the peer's on any path: SYNC says what a
 * side holds of the other's chain (a signed receipt) and makes the other
 * resend the rest; MSG / MSG_PART carry a header and its body; HEAD is a
 * signed chain head over the run sent; RECEIPT is the receiver's signed
 * "I hold up to here". Messages are queued durably first (delivery_queue),
 * then given their place in the chain in batches, FLASH first, while the
 * in-flight window (assigned, not receipted) is below DELIVERY_WINDOW.
 *
 * The engine does no I/O itself: records go out through delivery_io.send,
 * a broken session is ended through io.drop, and io.wake asks the caller
 * to call delivery_pump soon (the daemon defers it to its loop, tests call
 * it directly). So two engines can be wired through memory in tests.
 */
#ifndef PARLEY_MSG_DELIVERY_H
#define PARLEY_MSG_DELIVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "crypto/keys.h"
#include "msg/chain.h"
#include "store/store.h"

#define DELIVERY_VERSION 3		/* of the records below */
#define DELIVERY_MAX_CHANNELS 64
#define DELIVERY_MAX_PATHS 8
#define DELIVERY_WINDOW 256		/* assigned, not yet receipted */
#define DELIVERY_BATCH_MAX 128		/* assigned per head at once */
#define DELIVERY_BATCH_MIN 32		/* queued: a batch goes out even
					 * while another is unreceipted */
/* Bodies assigned at once (the batch ends with the one that reaches it),
 * and assigned while the active path has not taken all assigned before:
 * what a FLASH queued next waits behind, beside the link's own bulk cap
 * (docs/delivery.md "Slow paths"). */
#define DELIVERY_BATCH_BYTES (128u << 10)
#define DELIVERY_BULK_MIN 4096		/* a body the link paces (link.h) */
#define DELIVERY_RUN_SIGN 128		/* a fresh head after this many */
#define DELIVERY_RUN_BYTES (4u << 20)	/* ... or this many bytes unsigned */
#define DELIVERY_PART_MAX 60000		/* body bytes per MSG_PART */
#define DELIVERY_STALL_MS 3000		/* no receipt (and nothing left to
					 * send: io.queued): resend from the
					 * last */
#define DELIVERY_SYNC_RETRY_MS 2000	/* no SYNC from the peer: ask again */
#define DELIVERY_RECOVER_STALL_MS 60000	/* recovery without progress: alert */
/* Bytes per second of the slowest path delivery is built for (docs/
 * delivery.md "Slow paths": 10 to 40 kB/s). Records of our chain coming
 * back unsigned (no head of ours over them yet, nothing stored) count as
 * progress only while their run is younger than DELIVERY_RECOVER_STALL_MS
 * plus its bytes at this rate (those of runs dropped since one was stored
 * too, at most RECOVER_RUN_BYTES_MAX: recover_run_bytes): an honest run of the cap's 8 MiB at 10 kB/s
 * (839 s) keeps the watch quiet, and a peer feeding messages that never
 * get that head holds the alarm off for that long at most, not a minute
 * per message (docs/delivery.md "Recovery" 1). */
#define DELIVERY_RECOVER_RATE_MIN 10000
#define DELIVERY_GAP_SYNC_MS 500	/* at most one gap SYNC this often */
#define DELIVERY_SUBMIT_MAX 8192	/* submitted, awaiting the next pump */
#define DELIVERY_WAIT_MAX 65536		/* committed, awaiting their receipt */
#define DELIVERY_DEAD_MS 30000		/* a channel's silence limit when
					 * delivery_fence does not give it */

/* Record types (link upper records). */
enum delivery_rec {
	DELIVERY_REC_SYNC = 0x10,
	DELIVERY_REC_MSG = 0x11,
	DELIVERY_REC_PART = 0x12,
	DELIVERY_REC_HEAD = 0x13,
	DELIVERY_REC_RECEIPT = 0x14,
	DELIVERY_REC_RUN = 0x19,	/* first on every session */
};

struct delivery_io {
	/* Queues one record on a path: 0, ERR_FULL (try later), or another
	 * error (the path is gone). */
	int (*send)(void *ctx, const uint8_t channel[ENVELOPE_ID_LEN],
	    unsigned path, uint8_t type, const uint8_t *body, size_t len);
	/* Ends the session on a path (a bad signature, a malformed record). */
	void (*drop)(void *ctx, const uint8_t channel[ENVELOPE_ID_LEN],
	    unsigned path, const char *why);
	/* Asks for a delivery_pump call soon; may be NULL. */
	void (*wake)(void *ctx);
	/* Unix milliseconds (the wall clock: times shown, stored or
	 * signed; durations use mono_ms below); NULL: clock_wall_ms. */
	uint64_t (*now_ms)(void *ctx);
	void *ctx;
	/* Optional (NULL: each send is written at once): sends between
	 * hold and flush may be queued and written together at flush (the
	 * link's write coalescing). The engine flushes before any commit
	 * that follows, so what it sent early is on the wire meanwhile. */
	void (*hold)(void *ctx);
	void (*flush)(void *ctx);
	/* Optional: an ALARM of kind ("chain-forked": the peer signed
	 * another message at a seq of its chain that we hold, or a receipt
	 * naming another message at a seq of ours; "recovery-stalled": the
	 * peer's receipt claims our chain past our store and it sends none
	 * of it back for DELIVERY_RECOVER_STALL_MS, or only messages without
	 * our head for longer than their bytes take at
	 * DELIVERY_RECOVER_RATE_MIN plus that) to raise as an alert;
	 * text names it and carries the signed record as evidence (hex).
	 * At most one per channel, chain and ALERT_LIMIT_MS (msg/alert.h;
	 * the next is logged with its evidence, the others counted). */
	void (*alarm)(void *ctx, const uint8_t channel[ENVELOPE_ID_LEN],
	    const char *kind, const char *text);
	/* Optional: notes, before an early send, that our chain may leave
	 * up to seq before it is stored (the daemon's sent-ahead note,
	 * store/ahead.h), so that the next start knows (delivery_fence).
	 * Nonzero: not noted; that group's messages then go only after
	 * its commit. */
	int (*note_ahead)(void *ctx, const uint8_t channel[ENVELOPE_ID_LEN],
	    uint64_t seq);
	/* Optional: bytes of a path's session not yet sent (the link's
	 * queue and the socket's). While the active path has any, a wait
	 * for a receipt is a slow path, not a stall: nothing is resent
	 * (DELIVERY_STALL_MS counts from when it drained). */
	size_t (*queued)(void *ctx, const uint8_t channel[ENVELOPE_ID_LEN],
	    unsigned path);
	/* Milliseconds of a clock that never goes back nor is stepped, for
	 * the durations the engine watches (stalls, retries, the fence, the
	 * recovery's stall watch); NULL: clock_mono_ms (base/clock.h).
	 * now_ms gives only the times that are shown, stored or signed. */
	uint64_t (*mono_ms)(void *ctx);
};

/* Per channel numbers, for status and tests. */
struct delivery_stats {
	size_t queued;			/* ours, not yet in the chain */
	uint64_t assigned;		/* our highest seq */
	uint64_t receipted;		/* the peer's receipt of our chain */
	uint64_t received;		/* the peer's highest stored here */
	int active_path;		/* -1: no path up */
	bool synced;			/* the peer's SYNC came on this path */
	uint64_t refused;		/* records refused since start */
	uint64_t resends;		/* times the sender went back */
	/* Taking our chain back (docs/delivery.md "Recovery"): the seq the
	 * peer's receipt says it holds, 0 when not recovering; when the
	 * recovery started or last stored something. */
	uint64_t recovering_to;
	uint64_t recovering_progress_ms;
	/* Our messages a group sent early before its commit failed, not in
	 * the store yet (docs/delivery.md, "Early send"): seqs held_first ..
	 * held_last; 0 when none. Nothing new is assigned meanwhile. */
	uint64_t held_first, held_last;
	/* After a crash (delivery_fence): the last run may have sent our
	 * chain up to fence_seq (UINT64_MAX: unknown) past the store;
	 * nothing new is assigned until the store holds it or until
	 * fence_until_ms. 0 when none. */
	uint64_t fence_seq, fence_until_ms;
};

struct delivery;

/* A new engine over store s (borrowed) signing with k (borrowed). */
int delivery_new(struct store *s, const struct keys *k,
    const struct delivery_io *io, struct delivery **out) WUR;
void delivery_free(struct delivery *d);

/* Adds a channel: our party index self, the peer's signing key and name,
 * npaths paths. Reads where both chains stand from the store. */
int delivery_add_channel(struct delivery *d,
    const uint8_t channel[ENVELOPE_ID_LEN], uint8_t self,
    const uint8_t peer_pub[KEYS_PUB_LEN], const char *peer_name,
    unsigned npaths) WUR;

/*
 * After a start: the last run noted (io.note_ahead) that our chain of
 * channel i may have left up to seq; when that is past the store (a crash
 * between an early send and its commit, or messages held at a stop), a
 * record of it may still be on its way to the peer on a slow path, and a
 * new message at its seq would fork the chain. So nothing new is
 * assigned until the store holds seq (the peer's receipt names it and the
 * recovery takes it back) or until wait_ms have passed (the peer's link
 * has then closed every session of the last run: the caller passes more
 * than its silence limit), after which the peer's SYNC is asked for again
 * and must come first. seq STORE_AHEAD_UNKNOWN-like UINT64_MAX: the note
 * was damaged (only the time lifts it). docs/delivery.md "After a crash".
 */
void delivery_fence(struct delivery *d, size_t i, uint64_t seq,
    uint64_t wait_ms);

/*
 * This engine's run: a number each start of the node takes, higher than
 * any earlier start's (the daemon keeps the last in HOME/run; without a
 * call, the clock's milliseconds, and higher than this process's last).
 * Call before any path comes up. Each side announces its run first on
 * every session (RUN); a peer's session of an earlier run than one it
 * has announced since is ended and nothing more of it is taken, so once
 * the peer has heard this run, no record of our last run can reach it:
 * its SYNC naming this run ends a fence at once (docs/delivery.md,
 * "After a crash"). A peer's run lower than its last one is taken only
 * when nothing of the last one was heard for the channel's silence limit
 * (delivery_fence's wait_ms; DELIVERY_DEAD_MS when not given) and no
 * session of it is up, and never on a session that awaited its RUN when
 * a higher run was heard: a node whose clock and HOME/run both went back
 * is shut out for that long, not for ever.
 */
void delivery_set_run(struct delivery *d, uint64_t run);
uint64_t delivery_run(const struct delivery *d);

/* Finds a channel by id prefix (hex, >= 4 digits) or peer name; NULL
 * name: the only channel. ERR_NOT_FOUND, ERR_AMBIGUOUS-like ERR_INVALID
 * when several match. *index names it for the calls below. */
int delivery_find(const struct delivery *d, const char *name,
    size_t *index) WUR;
size_t delivery_channel_count(const struct delivery *d);
const uint8_t *delivery_channel_id(const struct delivery *d, size_t i);
/* The active path of the channel with this id, -1 when none is up or no
 * such channel: what delivery_stats gives as active_path, without its
 * read of the store (the checkpoint and anchor engines ask at every
 * tick). */
int delivery_active_path(const struct delivery *d,
    const uint8_t id[ENVELOPE_ID_LEN]);
const char *delivery_channel_peer(const struct delivery *d, size_t i);
uint8_t delivery_channel_self(const struct delivery *d, size_t i);
int delivery_stats(struct delivery *d, size_t i, struct delivery_stats *st)
    WUR;
struct store *delivery_store(struct delivery *d);

/* Commits a message of ours as queued (chain_queue) and wakes the pump.
 * chain_queue's codes (ERR_FULL: the disk is full, nothing stored). */
int delivery_queue(struct delivery *d, size_t i, uint8_t precedence,
    uint8_t marking, uint32_t kind, const uint8_t *body, size_t len,
    int64_t *qid) WUR;

/*
 * Group commit: the answer to a submission (delivery_submit): r is 0 and
 * qid names the message, or r is chain_queue's code (ERR_FULL: the disk is
 * full, nothing stored), or ERR_CLOSED when the engine is freed first.
 */
typedef void delivery_done_fn(void *arg, int r, int64_t qid);
/* Called inside the group's transaction once the message is queued (qid
 * names it; for a message sent early, after the send), so that what the
 * caller records about it (the audit log) commits with it, in the same
 * fsync. Nonzero (what it wrote failed): no message of the group is
 * stored without its record; the whole group is rolled back and answered
 * as on a failed commit, with that code (ERR_DOUBT for what was already
 * sent). May be NULL. */
typedef int delivery_txn_fn(void *arg, int64_t qid);

/*
 * delivery_queue, grouped: the body is copied and held until the next
 * delivery_pump (the daemon runs it at the end of the event-loop turn in
 * which the request came), which commits every message submitted since
 * in ONE transaction, together with their assignment to the chain and its
 * signed head when the channel is synced and its window has room, and
 * only then calls done(arg, ...) for each, in submission order (in_txn,
 * if not NULL, inside the transaction, once queued). With wait,
 * done comes once the peer's receipt covers the message instead. Returns
 * ERR_AGAIN when too much is pending (DELIVERY_SUBMIT_MAX,
 * DELIVERY_WAIT_MAX); done is then not called.
 */
int delivery_submit(struct delivery *d, size_t i, uint8_t precedence,
    uint8_t marking, uint32_t kind, const uint8_t *body, size_t len,
    bool wait, delivery_txn_fn *in_txn, delivery_done_fn *done, void *arg)
    WUR;

/* The link's callbacks. delivery_path_change with up on a path that is
 * up: a new session replaced the path's (link.h): its FLASH copy run
 * restarts (the old session's copies went with it), and when it is the
 * active path the sender goes back to what the peer holds and SYNCs, as
 * at a change of active path (what the old session carried is gone). */
void delivery_path_change(struct delivery *d,
    const uint8_t channel[ENVELOPE_ID_LEN], unsigned path, bool up);
void delivery_record(struct delivery *d,
    const uint8_t channel[ENVELOPE_ID_LEN], unsigned path, uint8_t type,
    const uint8_t *body, size_t len);

/* For another layer's records on the channel's sessions (checkpoints,
 * msg/checkpoint.h), so that they follow the runs as delivery's own do
 * (docs/delivery.md "Paths"). delivery_record_current: whether a record
 * that came on path's session may be taken: the session's RUN came and
 * names the peer's newest run (false for an unknown channel or path; a
 * record before the RUN is logged as delivery_record logs its own).
 * delivery_send_other: sends one on path's session, our RUN first when
 * that session has not had it yet; 0, or the link's error (ERR_CLOSED
 * for an unknown channel or path). */
bool delivery_record_current(struct delivery *d,
    const uint8_t channel[ENVELOPE_ID_LEN], unsigned path);
int delivery_send_other(struct delivery *d,
    const uint8_t channel[ENVELOPE_ID_LEN], unsigned path, uint8_t type,
    const uint8_t *b, size_t n) WUR;

/* Commits what was submitted (above), then assigns and sends what the
 * windows allow, on every channel. */
void delivery_pump(struct delivery *d);
/* Timers: call about every 250 ms (stalls, missing SYNCs); also stores
 * the peer's receipts taken since the last commit (delivery_flush). */
void delivery_tick(struct delivery *d);
/* Stores the peer's receipts taken and not stored yet: they wait for the
 * next group's transaction or the next tick. Call before reading the
 * stored receipts (a checkpoint, a shutdown). */
void delivery_flush(struct delivery *d);

/* Name of a refusal code as the log says it ("bad signature", ...). */
const char *delivery_refusal_name(int code);

/* Record builders, also used by tests that play a peer. salt: the body's
 * (ENVELOPE_SALT_LEN bytes; a version 2 header), or NULL (version 1). */
int delivery_msg_encode(const uint8_t *hdr, size_t hlen,
    const uint8_t salt[ENVELOPE_SALT_LEN], const uint8_t *body, size_t blen,
    uint8_t *out, size_t cap, size_t *len) WUR;
int delivery_part_encode(const uint8_t *hdr, size_t hlen,
    const uint8_t salt[ENVELOPE_SALT_LEN], uint64_t offset,
    const uint8_t *chunk, size_t clen, uint8_t *out, size_t cap,
    size_t *len) WUR;
/* peer_run: the receiver's run as the sender last heard it (0: none). */
int delivery_sync_encode(const struct chain_receipt *r, bool reply,
    uint64_t peer_run, uint8_t *out, size_t cap, size_t *len) WUR;
int delivery_run_encode(uint64_t run, uint8_t *out, size_t cap,
    size_t *len) WUR;

#endif
