/*
 * checkpoint.h: the checkpoint exchange of one channel (docs/transcript.md,
 * "Checkpoint exchange"; the record in CDDL there).
 *
 * Every CHECKPOINT_EVERY messages (both ways together) or every
 * CHECKPOINT_INTERVAL_MS, whichever comes first, a node proposes a
 * checkpoint at the seqs both sides hold: its own chain up to the peer's
 * latest receipt, the peer's chain up to its highest stored; it signs it
 * and sends it with the ids of both chains since the last co-signed
 * checkpoint. The peer checks every id against its own store: all equal,
 * it co-signs and sends it back; any differs (or the signature is not the
 * proposer's), it raises the alarm naming the first seq where the chains
 * differ and answers with its own ids over the proposal's range (and at
 * least the one at each of the checkpoint's seqs), so that the proposer
 * names the same seq.
 *
 * Like the delivery engine, it does no I/O: the caller sends the bytes it
 * returns as a link record (CHECKPOINT_REC) and logs the alarm
 * (checkpoint_alarm) at ERROR. It reads the store and signs with k.
 *
 * Two clocks (base/clock.h), both given by the caller: now_ms, the wall
 * clock (unix ms), for what is signed or stored (a proposal's time, a
 * checkpoint's stored time); mono_ms, the monotonic clock, for every
 * duration (the interval, the retry of a proposal), so that a wall clock
 * stepped back or forward neither stops checkpoints nor makes them early.
 */
#ifndef PARLEY_MSG_CHECKPOINT_H
#define PARLEY_MSG_CHECKPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "crypto/keys.h"
#include "msg/alert.h"
#include "msg/transcript.h"
#include "store/store.h"

#define CHECKPOINT_REC 0x18		/* link upper record type */
#define CHECKPOINT_EVERY 100		/* messages between checkpoints */
#define CHECKPOINT_INTERVAL_MS 600000	/* or ten minutes */
#define CHECKPOINT_RETRY_MS 10000	/* an unanswered proposal again */
#define CHECKPOINT_IDS_MAX 256		/* ids per chain in one record */
#define CHECKPOINT_REC_MAX (TRANSCRIPT_CHECKPOINT_MAX + 64 + \
	2 * CHECKPOINT_IDS_MAX * (ENVELOPE_ID_LEN + 2))
#define CHECKPOINT_ALARM_MAX 320
#define CHECKPOINT_HELD_MAX 256		/* co-signed ones held, per channel */
#define CHECKPOINT_HELD_PER_TICK 16	/* held ones tried per tick, per channel */

enum checkpoint_kind {
	CHECKPOINT_PROPOSE = 1,		/* signed by the proposer */
	CHECKPOINT_COSIGNED = 2,	/* signed by both */
	CHECKPOINT_DISPUTE = 3,		/* the answerer's ids: they differ */
};

/* One CHECKPOINT record (docs/transcript.md): the checkpoint and the ids
 * of chain i at seqs base[i] + 1 .. cp.seq[i]. */
struct checkpoint_rec {
	uint8_t kind;				/* enum checkpoint_kind */
	struct transcript_checkpoint cp;
	uint64_t base[2];
	size_t nids[2];
	uint8_t ids[2][CHECKPOINT_IDS_MAX][ENVELOPE_ID_LEN];
};
/* The record's parser, pure (no store): deterministic CBOR only, the ids
 * ending at the checkpoint's seqs. ERR_TOO_BIG, ERR_PARSE,
 * ERR_NONCANONICAL, ... */
int checkpoint_rec_decode(struct checkpoint_rec *c, const uint8_t *p,
    size_t n) WUR;
/* Its builder (CHECKPOINT_REC_MAX bytes suffice). */
int checkpoint_rec_encode(const struct checkpoint_rec *c, uint8_t *out,
    size_t cap, size_t *len) WUR;

/* A co-signed checkpoint from the peer that names messages not held here
 * yet (a node restored from a backup, given its checkpoints back before
 * the peer's messages came again): its record, kept until both chains
 * reach its seqs. */
struct checkpoint_held {
	uint64_t seq[2];
	size_t n;
	uint8_t *rec;
	bool warned;		/* reached, still held: logged once */
};

/* What the hold of the last record did (checkpoint_on_record). */
enum checkpoint_hold {
	CHECKPOINT_HOLD_NONE = 0,	/* not a co-signed one to hold */
	CHECKPOINT_HOLD_NEW,		/* held */
	CHECKPOINT_HOLD_ALREADY,	/* one with its seqs is held already */
	CHECKPOINT_HOLD_FULL,		/* dropped: CHECKPOINT_HELD_MAX held */
	CHECKPOINT_HOLD_NOMEM,		/* dropped: out of memory */
};

struct checkpoint_engine {
	struct store *s;			/* borrowed */
	const struct keys *k;			/* borrowed */
	uint8_t channel[ENVELOPE_ID_LEN];
	uint8_t self;				/* our party index */
	uint8_t pub[2][KEYS_PUB_LEN];		/* signing keys */
	uint64_t every, interval_ms;
	uint64_t base[2];			/* seqs of the last co-signed */
	uint64_t last_ms;	/* last proposal or co-sign (monotonic) */
	bool pending;				/* our proposal unanswered */
	struct transcript_checkpoint proposed;	/* ... which is this */
	bool have_last;
	struct transcript_checkpoint last;	/* last co-signed */
	uint64_t cosigned, alarms;
	uint64_t store_errors;			/* failed checkpoint writes */
	size_t nheld;				/* co-signed ones behind us */
	struct checkpoint_held *held;		/* CHECKPOINT_HELD_MAX */
	uint64_t held_dropped;			/* behind, not held (full, ENOMEM) */
	uint8_t hold;				/* enum checkpoint_hold, last record */
	char alarm[CHECKPOINT_ALARM_MAX];	/* the last alarm, "" none */
	/* The daemon's glue (checkpoint_set): its alerts per kind of alarm
	 * (0 the chains diverge, 1 forged), alert_limit's. */
	struct alert_limit alert_limit[2];
};

/* Sets e up for a channel; every and interval_ms 0: the defaults;
 * mono_ms, the monotonic clock now (the first interval counts from it).
 * checkpoint_fini frees what it holds (the held checkpoints). */
void checkpoint_init(struct checkpoint_engine *e, struct store *s,
    const struct keys *k, const uint8_t channel[ENVELOPE_ID_LEN],
    uint8_t self, const uint8_t pub[2][KEYS_PUB_LEN], uint64_t every,
    uint64_t interval_ms, uint64_t mono_ms);
void checkpoint_fini(struct checkpoint_engine *e);

/* When a checkpoint is due (mono_ms, the monotonic clock, against the
 * interval and the retry), writes a proposal signed with the time now_ms
 * (the wall clock) into out (cap bytes, CHECKPOINT_REC_MAX suffices) and
 * sets *len; *len is 0 when none is due. Store and signing errors. */
int checkpoint_tick(struct checkpoint_engine *e, uint64_t now_ms,
    uint64_t mono_ms, uint8_t *out, size_t cap, size_t *len) WUR;

/* Handles a CHECKPOINT_REC from the peer; writes the answer, if any,
 * into out and sets *len (0: none). A checkpoint co-signed is stored at
 * now_ms (the wall clock); the next interval counts from mono_ms
 * (monotonic). ERR_CHAIN (an id held here differs from the peer's, in
 * either chain, even if the other names a message not held yet) or
 * ERR_SIGNATURE (a signature is not the party's): the alarm is raised
 * (checkpoint_alarm says what and where). ERR_AGAIN: it names a message
 * not held here yet (behind, not diverged): no answer, no alarm; a
 * proposal is dropped (its proposer makes it again), a co-signed one
 * (both signatures checked) is held, once per seqs and at most
 * CHECKPOINT_HELD_MAX (past that it is dropped and counted in
 * held_dropped), for checkpoint_retry_held; e->hold says which. A store
 * error writing a co-signed checkpoint (ERR_FULL, ERR_IO, ERR_BUSY,
 * ...) is returned; the checkpoint is still the last co-signed in
 * memory (a proposal's answer is still written) and its co-signed
 * record is held as above, so that it is stored later. A checkpoint
 * stored, or the divergence alarm raised, drops a held one with the
 * same seqs. Each checkpoint counts once in cosigned. ERR_PARSE,
 * ERR_NONCANONICAL, ERR_FOREIGN for a malformed or foreign record (no
 * alarm: drop it). */
int checkpoint_on_record(struct checkpoint_engine *e, const uint8_t *p,
    size_t n, uint64_t now_ms, uint64_t mono_ms, uint8_t *out, size_t cap,
    size_t *len) WUR;

/* A walk over the held ones (zero it to start one, once per tick). */
struct checkpoint_walk {
	size_t at;		/* the next held one to look at */
	size_t n;		/* held ones tried (CHECKPOINT_HELD_PER_TICK) */
	bool tried;		/* out: one was reached and handled again */
	bool kept;		/* out: ... and it is held still */
	bool first;		/* out: ... for the first time (log it once) */
};
/* Takes the next held co-signed checkpoint of the walk w whose seqs both
 * chains of the store now reach and handles it again as
 * checkpoint_on_record does, returning its result: 0, stored (and the
 * last co-signed if newer); ERR_CHAIN, the alarm naming the first
 * differing seq; ERR_AGAIN (a message below its seqs still missing) or a
 * store error: held still, in its place (w->kept). w->tried is false
 * (and 0 or the error reading the store's highest seqs returned) when no
 * held one past the walk's place is reached, or the walk has tried
 * CHECKPOINT_HELD_PER_TICK already: a walk tries each held one at most
 * once, and at most CHECKPOINT_HELD_PER_TICK in all (each stored is an
 * fsync; the others wait for the next walk). now_ms and mono_ms as for
 * checkpoint_on_record. */
int checkpoint_retry_held(struct checkpoint_engine *e, uint64_t now_ms,
    uint64_t mono_ms, struct checkpoint_walk *w) WUR;

/* The last alarm's text ("" when none was raised). */
const char *checkpoint_alarm(const struct checkpoint_engine *e);

/*
 * The daemon's glue: one engine per channel of the delivery engine dl,
 * sending through dl (delivery_send_other: on the channel's active path,
 * answers on the path the record came on; our RUN first on a new
 * session) and taking a record only on a session of the peer's newest
 * run (delivery_record_current; io serves for drop), logging co-signed
 * checkpoints at INFO and alarms at ERROR, each kind of alarm raised as
 * an alert at most once per channel and ALERT_LIMIT_MS (a peer that
 * repeats a bad record fills neither the store nor the alert command's
 * queue); a forged record also ends the session it came on. parleyd
 * calls checkpoint_set_record for records of type CHECKPOINT_REC and
 * checkpoint_set_tick from its tick. now_ms is the wall clock (0: the
 * system's, clock_wall_ms), for what is signed, stored or alerted; every
 * duration (the engines' interval and retry, the disk watch's pace, the
 * alerts' limit) is on io's monotonic clock (io->mono_ms, NULL:
 * clock_mono_ms), read at each call.
 */
struct agreement;
struct delivery;
struct delivery_io;
struct checkpoint_set;

int checkpoint_set_new(struct delivery *dl, const struct keys *k,
    const struct agreement *ags, size_t n, const struct delivery_io *io,
    uint64_t every, uint64_t interval_ms, struct checkpoint_set **out) WUR;
void checkpoint_set_free(struct checkpoint_set *cs);
/* Proposes when due, and checks again the held co-signed checkpoints the
 * chains now reach (stored, or the alarm raised as for a record): each at
 * most once per tick and at most CHECKPOINT_HELD_PER_TICK per channel
 * (the others wait for the next tick); one that stays held is logged at
 * WARN once. */
void checkpoint_set_tick(struct checkpoint_set *cs, uint64_t now_ms);
/* The peer asked for its own chain back (a RECOVER record, ask: it was
 * restored from a backup, msg/recover.h): after the delivery engine's
 * answer, our co-signed checkpoints that cover its chain from the ask's
 * from seq on (at most CHECKPOINT_RESEND_MAX) go back to it on path as
 * COSIGNED records, which it verifies against its recovered chain and
 * stores like any co-signed checkpoint (one naming messages it does not
 * hold yet is held and checked again from its tick once it does). */
#define CHECKPOINT_RESEND_MAX 256
void checkpoint_set_resend(struct checkpoint_set *cs,
    const uint8_t channel[ENVELOPE_ID_LEN], unsigned path,
    const uint8_t *ask, size_t n);
void checkpoint_set_record(struct checkpoint_set *cs,
    const uint8_t channel[ENVELOPE_ID_LEN], unsigned path, const uint8_t *p,
    size_t n, uint64_t now_ms);
/* The record's other watch: free space on the filesystem of home, checked
 * every CHECKPOINT_DISK_CHECK_MS (monotonic) from checkpoint_set_tick;
 * below min_bytes (0: CHECKPOINT_DISK_MIN) it logs one WARN (and INFO
 * once it is back). home is borrowed. */
#define CHECKPOINT_DISK_MIN (256ull << 20)	/* 256 MiB */
#define CHECKPOINT_DISK_CHECK_MS 10000
void checkpoint_set_watch_disk(struct checkpoint_set *cs, const char *home,
    uint64_t min_bytes);

/* Alarms and the disk warning also become alerts (msg/alert.h: stored,
 * listed by `parley alerts`, alert_command run): kinds
 * "checkpoint-diverged", "checkpoint-forged", "disk-low". a is borrowed;
 * NULL: the log only. */
struct alerter;
void checkpoint_set_alerter(struct checkpoint_set *cs, struct alerter *a);

/* For status: the engine of a channel, or NULL. */
const struct checkpoint_engine *checkpoint_set_engine(
    const struct checkpoint_set *cs, const uint8_t channel[ENVELOPE_ID_LEN]);

#endif
