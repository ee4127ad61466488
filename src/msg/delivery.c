/*
 * delivery.c: the per-channel delivery engine (delivery.h,
 * docs/delivery.md): its life, the channels and their lookup, the stats,
 * path changes, the tick and the pump, the records' encoding and decoding
 * and the dispatcher of the peer's records (delivery_record). The sending
 * side is in delivery_send.c, the group commit in delivery_group.c (what
 * a failed group had sent in delivery_held.c), the receiving side in
 * delivery_recv.c and the recovery of our own chain in delivery_recover.c;
 * what they share is in delivery_int.h.
 */
#include "msg/delivery.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/hex.h"
#include "base/log.h"
#include "base/wire.h"
#include "msg/delivery_int.h"
#include "msg/recover.h"

uint64_t
dl_now(const struct delivery *d)
{
	if (d->io.now_ms)
		return d->io.now_ms(d->io.ctx);
	return clock_wall_ms();
}

uint64_t
dl_mono(const struct delivery *d)
{
	if (d->io.mono_ms)
		return d->io.mono_ms(d->io.ctx);
	return clock_mono_ms();
}

const char *
delivery_refusal_name(int code)
{
	switch (code) {
	case ERR_SIGNATURE: return "bad signature";
	case ERR_FOREIGN: return "wrong channel or sender";
	case ERR_GAP: return "gap in sequence";
	case ERR_REPLAY: return "repeat in sequence";
	case ERR_CHAIN: return "wrong previous hash";
	case ERR_EXISTS: return "repeat with another id";
	case ERR_BODY: return "body does not match its header";
	case ERR_TOO_BIG: return "oversized body";
	case ERR_KIND: return "unknown kind";
	case ERR_NONCANONICAL: return "non-deterministic CBOR";
	case ERR_PARSE: return "malformed CBOR";
	case ERR_FULL: return "unsigned run over the cap";
	case ERR_VERSION: return "unknown version";
	default: return err_str(code);
	}
}

/* --- records ---------------------------------------------------------- */

int
delivery_msg_encode(const uint8_t *hdr, size_t hlen,
    const uint8_t salt[ENVELOPE_SALT_LEN], const uint8_t *body, size_t blen,
    uint8_t *out, size_t cap, size_t *len)
{
	struct wire_writer w;

	wire_writer_init(&w, out, cap);
	wire_put_map(&w, salt != NULL ? 3 : 2);
	wire_put_uint(&w, 1);
	wire_put_bytes(&w, hdr, hlen);
	wire_put_uint(&w, 2);
	wire_put_bytes(&w, body, blen);
	if (salt != NULL) {
		wire_put_uint(&w, 3);
		wire_put_bytes(&w, salt, ENVELOPE_SALT_LEN);
	}
	return wire_writer_finish(&w, len);
}

int
delivery_part_encode(const uint8_t *hdr, size_t hlen,
    const uint8_t salt[ENVELOPE_SALT_LEN], uint64_t offset,
    const uint8_t *chunk, size_t clen, uint8_t *out, size_t cap, size_t *len)
{
	struct wire_writer w;

	wire_writer_init(&w, out, cap);
	wire_put_map(&w, salt != NULL ? 4 : 3);
	wire_put_uint(&w, 1);
	wire_put_bytes(&w, hdr, hlen);
	wire_put_uint(&w, 2);
	wire_put_uint(&w, offset);
	wire_put_uint(&w, 3);
	wire_put_bytes(&w, chunk, clen);
	if (salt != NULL) {
		wire_put_uint(&w, 4);
		wire_put_bytes(&w, salt, ENVELOPE_SALT_LEN);
	}
	return wire_writer_finish(&w, len);
}

int
delivery_sync_encode(const struct chain_receipt *r, bool reply,
    uint64_t peer_run, uint8_t *out, size_t cap, size_t *len)
{
	uint8_t rb[CHAIN_RECEIPT_MAX];
	size_t rlen;
	struct wire_writer w;
	int e;

	if ((e = chain_receipt_encode(r, rb, sizeof rb, &rlen)) != 0)
		return e;
	wire_writer_init(&w, out, cap);
	wire_put_map(&w, 4);
	wire_put_uint(&w, 1);
	wire_put_uint(&w, DELIVERY_VERSION);
	wire_put_uint(&w, 2);
	wire_put_bytes(&w, rb, rlen);
	wire_put_uint(&w, 3);
	wire_put_bool(&w, reply);
	wire_put_uint(&w, 4);
	wire_put_uint(&w, peer_run);
	return wire_writer_finish(&w, len);
}

int
delivery_run_encode(uint64_t run, uint8_t *out, size_t cap, size_t *len)
{
	struct wire_writer w;

	wire_writer_init(&w, out, cap);
	wire_put_map(&w, 2);
	wire_put_uint(&w, 1);
	wire_put_uint(&w, DELIVERY_VERSION);
	wire_put_uint(&w, 2);
	wire_put_uint(&w, run);
	return wire_writer_finish(&w, len);
}

static int
record_decode(const uint8_t *b, size_t len, struct dl_field *f, size_t n,
    size_t keys)
{
	struct wire_reader r;
	bool t;
	int e;

	wire_reader_init(&r, b, len);
	if ((e = wire_read_map(&r, keys)) != 0)
		return e;
	for (size_t i = 0; i < n; i++) {
		if ((e = wire_read_key(&r, i + 1)) != 0)
			return e;
		if (f[i].kind == 'b')
			e = wire_read_bytes(&r, &f[i].p, &f[i].n);
		else if (f[i].kind == 'u')
			e = wire_read_uint(&r, &f[i].u);
		else if ((e = wire_read_bool(&r, &t)) == 0)
			f[i].u = t;
		if (e != 0)
			return e;
	}
	return wire_read_end(&r);
}

/* Decodes a record map (struct dl_field, delivery_int.h). */
int
dl_record_decode(const uint8_t *b, size_t len, struct dl_field *f, size_t n)
{
	return record_decode(b, len, f, n, n);
}

int
dl_record_decode_salted(const uint8_t *b, size_t len, struct dl_field *f,
    size_t n, const uint8_t **salt)
{
	struct dl_field g[8];

	*salt = NULL;
	if (n >= sizeof g / sizeof g[0])
		return ERR_INVALID;
	memcpy(g, f, n * sizeof *f);
	g[n] = (struct dl_field){ .kind = 'b' };
	if (record_decode(b, len, g, n + 1, n + 1) == 0) {
		if (g[n].n != ENVELOPE_SALT_LEN)
			return ERR_PARSE;
		memcpy(f, g, n * sizeof *f);
		*salt = g[n].p;
		return 0;
	}
	return record_decode(b, len, f, n, n);
}

/* --- channels ----------------------------------------------------------- */

static uint64_t last_run;		/* the highest run of this process */

int
delivery_new(struct store *s, const struct keys *k,
    const struct delivery_io *io, struct delivery **out)
{
	struct delivery *d;

	if ((d = calloc(1, sizeof *d)) == NULL)
		return ERR_NOMEM;
	d->s = s;
	d->k = k;
	d->io = *io;
	d->subs_tail = &d->subs;
	/* without delivery_set_run: the clock, above this process's last
	 * (two engines of one test, or a restart within a millisecond) */
	d->run = dl_now(d) > last_run ? dl_now(d) : last_run + 1;
	last_run = d->run;
	*out = d;
	return 0;
}

void
delivery_set_run(struct delivery *d, uint64_t run)
{
	d->run = run;
	if (run > last_run)
		last_run = run;
}

uint64_t
delivery_run(const struct delivery *d)
{
	return d->run;
}

/* Our RUN on path's session, if still owed: 0 once it went. */
static int
run_send(struct delivery *d, struct dl_channel *c, unsigned path)
{
	uint8_t b[32];
	size_t n;
	int r;

	if (!c->run_owed[path])
		return 0;
	if ((r = delivery_run_encode(d->run, b, sizeof b, &n)) != 0 ||
	    (r = d->io.send(d->io.ctx, c->id, path, DELIVERY_REC_RUN, b,
	    n)) != 0)
		return r;
	c->run_owed[path] = false;
	return 0;
}

int
dl_io_send(struct delivery *d, struct dl_channel *c, unsigned path,
    uint8_t type, const uint8_t *b, size_t n)
{
	int r;

	if (path >= c->npaths)
		return ERR_CLOSED;
	if ((r = run_send(d, c, path)) != 0)
		return r;
	return d->io.send(d->io.ctx, c->id, path, type, b, n);
}

void
dl_pend_drop(struct dl_channel *c)
{
	for (size_t i = 0; i < c->npend; i++)
		free(c->pend[i].body);
	c->npend = 0;
	c->refs_wait = 0;
	chain_verifier_drop(&c->v);
	free(c->asm_body);
	c->asm_body = NULL;
	c->asm_len = c->asm_want = c->asm_hlen = 0;
}

void
delivery_free(struct delivery *d)
{
	if (d == NULL)
		return;
	dl_subs_close(d);
	delivery_flush(d);
	for (size_t i = 0; i < d->nch; i++) {
		struct dl_channel *c = d->ch[i];
		c->active = -1;		/* nothing is sent at the stop */
		/* alarms held back: raised now, not lost with the stop */
		dl_alarm_due(d, c, ALERT_LIMIT_END);
		if (c->nheld != 0 && dl_held_commit(d, c, NULL) != 0)
			log_warn("channel %s: our messages %llu..%llu, sent "
			    "before a failed commit, are lost with this stop; "
			    "%s's receipt decides whether they were sent",
			    c->idhex, (unsigned long long)c->held[0].seq,
			    (unsigned long long)c->held[c->nheld - 1].seq,
			    c->peer);
		dl_pend_drop(d->ch[i]);
		dl_held_free(d->ch[i]);
		recover_free(d->ch[i]->rec);
		free(d->ch[i]);
	}
	free(d);
}

/*
 * Stores the peer's receipt taken since the last time (inside a caller's
 * transaction too: then it is kept pending until that commits). A failure
 * keeps it for the next try; c->receipted stands (the peer's signature
 * says it holds the messages; its next SYNC carries the receipt again).
 */
static int
rc_store(struct delivery *d, struct dl_channel *c)
{
	size_t newly;
	int r;

	if (!c->rc_pending)
		return 0;
	if ((r = store_receipt_put(d->s, &c->rc_pend, dl_now(d), &newly)) != 0)
		log_warn("channel %s: cannot store the receipt of %s (seq %llu)"
		    ": %s", c->idhex, c->peer, (unsigned long long)
		    c->rc_pend.seq, r == ERR_FULL ? "store full" : err_str(r));
	else
		c->rc_pending = false;
	return r;
}

void
delivery_flush(struct delivery *d)
{
	for (size_t i = 0; i < d->nch; i++)
		(void)rc_store(d, d->ch[i]);
}

/* Re-reads where both chains stand (after start or a failed store). */
int
dl_channel_reload(struct delivery *d, struct dl_channel *c)
{
	uint8_t id[ENVELOPE_ID_LEN];
	struct store_receipt rc;
	uint64_t seq;
	int r;

	dl_pend_drop(c);
	rc_store(d, c);
	if ((r = store_highest(d->s, c->id, (uint8_t)(1 - c->self), &seq, id))
	    != 0)
		return r;
	chain_verifier_init(&c->v, c->id, (uint8_t)(1 - c->self), c->peer_pub,
	    seq, id);
	if ((r = store_highest(d->s, c->id, c->self, &c->assigned, id)) != 0)
		return r;
	r = store_receipt_latest(d->s, c->id, (uint8_t)(1 - c->self), &rc);
	if (r == ERR_NOT_FOUND)
		c->receipted = 0;
	else if (r != 0)
		return r;
	else
		c->receipted = rc.seq;
	c->sent = c->receipted;
	c->part_seq = 0;
	c->peer_holds = c->receipted;
	c->copy_mask = 0;
	if ((r = store_queued_count(d->s, c->id, &c->queued)) != 0)
		return r;
	c->flash_queued = c->queued;	/* at most: none waits to batch */
	c->bulk_queued = c->queued != 0;	/* at most */
	return 0;
}

int
delivery_add_channel(struct delivery *d,
    const uint8_t channel[ENVELOPE_ID_LEN], uint8_t self,
    const uint8_t peer_pub[KEYS_PUB_LEN], const char *peer_name,
    unsigned npaths)
{
	struct dl_channel *c;
	int r;

	if (d->nch >= DELIVERY_MAX_CHANNELS || self > 1 ||
	    npaths > DELIVERY_MAX_PATHS)
		return ERR_INVALID;
	if ((c = calloc(1, sizeof *c)) == NULL)
		return ERR_NOMEM;
	memcpy(c->id, channel, sizeof c->id);
	hex_encode(c->idhex, channel, 8);
	c->self = self;
	memcpy(c->peer_pub, peer_pub, sizeof c->peer_pub);
	snprintf(c->peer, sizeof c->peer, "%s", peer_name);
	c->npaths = npaths;
	c->active = -1;
	c->dead_ms = DELIVERY_DEAD_MS;
	if ((r = dl_channel_reload(d, c)) != 0) {
		free(c);
		return r;
	}
	d->ch[d->nch++] = c;
	return 0;
}

static struct dl_channel *
find_channel(struct delivery *d, const uint8_t id[ENVELOPE_ID_LEN])
{
	for (size_t i = 0; i < d->nch; i++)
		if (memcmp(d->ch[i]->id, id, ENVELOPE_ID_LEN) == 0)
			return d->ch[i];
	return NULL;
}

int
delivery_find(const struct delivery *d, const char *name, size_t *index)
{
	char hex[2 * ENVELOPE_ID_LEN + 1];
	size_t found = 0;

	if (name == NULL || *name == '\0') {
		if (d->nch != 1)
			return d->nch == 0 ? ERR_NOT_FOUND : ERR_INVALID;
		*index = 0;
		return 0;
	}
	for (size_t i = 0; i < d->nch; i++) {
		hex_encode(hex, d->ch[i]->id, ENVELOPE_ID_LEN);
		if (strcmp(d->ch[i]->peer, name) == 0 || (strlen(name) >= 4 &&
		    strncmp(hex, name, strlen(name)) == 0)) {
			*index = i;
			found++;
		}
	}
	return found == 1 ? 0 : found == 0 ? ERR_NOT_FOUND : ERR_INVALID;
}

size_t
delivery_channel_count(const struct delivery *d)
{
	return d->nch;
}

const uint8_t *
delivery_channel_id(const struct delivery *d, size_t i)
{
	return d->ch[i]->id;
}

int
delivery_active_path(const struct delivery *d,
    const uint8_t id[ENVELOPE_ID_LEN])
{
	for (size_t i = 0; i < d->nch; i++)
		if (memcmp(d->ch[i]->id, id, ENVELOPE_ID_LEN) == 0)
			return d->ch[i]->active;
	return -1;
}

const char *
delivery_channel_peer(const struct delivery *d, size_t i)
{
	return d->ch[i]->peer;
}

uint8_t
delivery_channel_self(const struct delivery *d, size_t i)
{
	return d->ch[i]->self;
}

struct store *
delivery_store(struct delivery *d)
{
	return d->s;
}

int
delivery_stats(struct delivery *d, size_t i, struct delivery_stats *st)
{
	struct dl_channel *c = d->ch[i];
	int r;

	memset(st, 0, sizeof *st);
	if ((r = store_queued_count(d->s, c->id, &st->queued)) != 0)
		return r;
	st->assigned = c->assigned;
	st->receipted = c->receipted;
	st->received = c->v.seq;
	st->active_path = c->active;
	st->synced = c->synced;
	st->refused = c->refused;
	st->resends = c->resends;
	if (c->nheld != 0) {
		st->held_first = c->held[0].seq;
		st->held_last = c->held[c->nheld - 1].seq;
	}
	if (c->rec != NULL) {
		st->recovering_to = recover_want(c->rec);
		st->recovering_progress_ms = c->rec_progress_ms;
	}
	if (c->fence_seq != 0) {
		st->fence_seq = c->fence_seq;
		st->fence_until_ms = dl_now(d) + (c->fence_ms -
		    c->fence_elapsed_ms);
	}
	return 0;
}

/* --- after a crash (docs/delivery.md, "After a crash") --------------- */

void
delivery_fence(struct delivery *d, size_t i, uint64_t seq, uint64_t wait_ms)
{
	struct dl_channel *c = d->ch[i];
	char upto[64];

	c->dead_ms = wait_ms;		/* the peer's runs: delivery_set_run */
	if (seq == 0 || (seq != UINT64_MAX && seq <= c->assigned))
		return;			/* all it may have sent is stored */
	c->fence_seq = seq;
	c->fence_seen_ms = dl_mono(d);
	c->fence_elapsed_ms = 0;
	c->fence_ms = wait_ms;
	if (seq != UINT64_MAX)
		c->noted = seq;		/* the note holds it already */
	if (seq == UINT64_MAX)
		snprintf(upto, sizeof upto, "an unknown seq (the note is "
		    "damaged or unreadable)");
	else
		snprintf(upto, sizeof upto, "seq %llu",
		    (unsigned long long)seq);
	log_warn("channel %s: the last run may have sent our chain up to %s "
	    "before storing it (this store ends at seq %llu; it stopped "
	    "between an early send and its commit, or with messages held, or "
	    "this store was restored from a backup): nothing new is sent "
	    "until %s is heard to hold them or for %llu s, so that no record "
	    "of the last run still on its way meets a new message at its "
	    "seq", c->idhex, upto,
	    (unsigned long long)c->assigned, c->peer,
	    (unsigned long long)(wait_ms + 999) / 1000);
}

void
dl_fence_check(struct delivery *d, struct dl_channel *c, uint64_t now)
{
	if (c->fence_seq == 0)
		return;
	if (now > c->fence_seen_ms)
		c->fence_elapsed_ms += now - c->fence_seen_ms <
		    DL_FENCE_STEP_MS ? now - c->fence_seen_ms :
		    DL_FENCE_STEP_MS;
	c->fence_seen_ms = now;
	if (c->fence_seq != UINT64_MAX && c->assigned >= c->fence_seq) {
		log_info("channel %s: this store holds our chain up to seq "
		    "%llu, all that the last run may have sent: the fence "
		    "after the crash ends", c->idhex,
		    (unsigned long long)c->assigned);
		c->fence_seq = 0;
		if (c->queued != 0 && d->io.wake)
			d->io.wake(d->io.ctx);
		return;
	}
	if (c->fence_elapsed_ms < c->fence_ms)
		return;
	log_info("channel %s: no record of the last run can reach %s any "
	    "more (its sessions have been silent past the limit): the fence "
	    "after the crash ends; the sessions start again, and new "
	    "messages go after %s's SYNC on a new one", c->idhex, c->peer,
	    c->peer);
	c->fence_seq = 0;
	c->synced = false;
	if (d->io.drop == NULL) {
		if (c->active >= 0 && c->rec == NULL)
			dl_send_sync(d, c, true);
		return;
	}
	/* a SYNC the peer sent before now may still be on its way: it does
	 * not say what it took of the last run since (the highest path
	 * first: no SYNC on a path about to be dropped too) */
	for (unsigned p = c->npaths; p-- > 0;)
		if (c->up[p])
			d->io.drop(d->io.ctx, c->id, p, "the fence after a "
			    "crash ends: a fresh SYNC");
}

uint64_t
dl_fence_ask_ms(const struct dl_channel *c)
{
	return c->fence_ms / 4 > DELIVERY_SYNC_RETRY_MS ? c->fence_ms / 4 :
	    DELIVERY_SYNC_RETRY_MS;
}

/* --- the pump and the tick ------------------------------------------- */

void
delivery_pump(struct delivery *d)
{
	dl_subs_flush(d);
	for (size_t i = 0; i < d->nch; i++)
		dl_pump_channel(d, d->ch[i]);
}

void
delivery_tick(struct delivery *d)
{
	uint64_t now = dl_mono(d);	/* for durations only */

	delivery_flush(d);
	for (size_t i = 0; i < d->nch; i++) {
		struct dl_channel *c = d->ch[i];
		dl_alarm_due(d, c, now);
		dl_recover_watch(d, c, now);
		dl_fence_check(d, c, now);
		dl_recover_answer_tick(d, c);
		if (c->nheld != 0 && dl_held_commit(d, c, NULL) == 0 &&
		    c->queued != 0 && d->io.wake)
			d->io.wake(d->io.ctx);	/* what waited is assigned */
		if (c->active < 0)
			continue;
		/* what a full output refused, once it takes it: without
		 * this, the peer's receipt waited for its stall resend
		 * (seconds to minutes on a slow path) */
		dl_owed_send(d, c);
		if (!c->synced && now - c->sync_ms >= DELIVERY_SYNC_RETRY_MS)
			dl_send_sync(d, c, true);
		/* while fenced, now and then: the peer's receipt of the last
		 * run's late records went back to the dead process's
		 * session; its SYNC names them (taken back: the fence ends).
		 * Not every 2 s: each SYNC sends the peer back to what we
		 * hold, so it sends its run in flight again. */
		else if (c->fence_seq != 0 && now - c->sync_ms >=
		    dl_fence_ask_ms(c))
			dl_send_sync(d, c, true);
		/* still sending on a slow path: not a stall; resending
		 * would only queue copies behind what is on its way */
		if (c->synced && c->peer_holds < c->sent && c->active >= 0 &&
		    d->io.queued != NULL && d->io.queued(d->io.ctx, c->id,
		    (unsigned)c->active) > 0)
			c->progress_ms = now;
		/* what the peer holds: after it went back to a backup it
		 * is below c->receipted */
		if (c->synced && c->peer_holds < c->sent &&
		    now - c->progress_ms >= DELIVERY_STALL_MS) {
			c->sent = c->peer_holds;
			c->part_seq = 0;
			c->unsigned_n = c->unsigned_bytes = 0;
			c->progress_ms = now;
			c->resends++;
			dl_copy_runs_restart(c);	/* copies go again */
			dl_pump_channel(d, c);
		}
	}
}

/* --- paths -------------------------------------------------------------- */

/* Every FLASH copy run starts again (c->copied): the sender goes back to
 * what the peer holds, so its copies go again where dl_copy_paths allows. */
void
dl_copy_runs_restart(struct dl_channel *c)
{
	memset(c->copied, 0, sizeof c->copied);
	c->copy_mask = 0;
}

void
delivery_path_change(struct delivery *d,
    const uint8_t channel[ENVELOPE_ID_LEN], unsigned path, bool up)
{
	struct dl_channel *c = find_channel(d, channel);
	int active = -1;
	bool again;

	if (c == NULL || path >= c->npaths)
		return;
	/* up again: a new session replaced the path's while it was up, and
	 * what was queued on the old one went with it (link.h) */
	again = up && c->up[path];
	c->up[path] = up;
	/* what our answer to a RECOVER queued there went with the session */
	if (!up || again)
		dl_recover_path_end(c, path);
	/* a new session: the peer announces its run on it first, and so do
	 * we (before anything else we send there: dl_io_send); none: nothing
	 * is taken on the path */
	c->path_run[path] = up ? 0 : UINT64_MAX;
	c->path_floor[path] = 0;
	c->pre_run_said[path] = false;
	c->run_owed[path] = up;
	if (up)
		(void)run_send(d, c, path);	/* else at the next send */
	/* a new session holds no copies yet: after a down, or up again */
	c->copied[path] = 0;
	c->copy_mask &= ~(1u << path);
	for (unsigned i = 0; i < c->npaths && active < 0; i++)
		if (c->up[i])
			active = (int)i;
	if (active == c->active && !(again && active == (int)path))
		return;
	/* a new active path, or the active path's new session: the sender
	 * goes back to what the peer holds, and both sides SYNC */
	if (active != c->active)
		log_info("channel %s: messages on path %d", c->idhex, active);
	else
		log_info("channel %s: path %d has a new session; messages go "
		    "again from what the peer holds", c->idhex, active);
	c->active = active;
	dl_copy_runs_restart(c);	/* the sender goes back */
	c->synced = false;
	c->sent = c->receipted;
	c->part_seq = 0;
	c->unsigned_n = c->unsigned_bytes = 0;
	dl_pend_drop(c);
	/* fenced: the peer's answer, sent after our RUN reached it, names
	 * this run and ends the fence (delivery_set_run) */
	if (active >= 0)
		dl_send_sync(d, c, c->fence_seq != 0);
}

/* --- the peer's records ---------------------------------------------- */

bool
delivery_record_current(struct delivery *d,
    const uint8_t channel[ENVELOPE_ID_LEN], unsigned path)
{
	struct dl_channel *c = find_channel(d, channel);

	return c != NULL && path < c->npaths && dl_run_current(d, c, path);
}

int
delivery_send_other(struct delivery *d,
    const uint8_t channel[ENVELOPE_ID_LEN], unsigned path, uint8_t type,
    const uint8_t *b, size_t n)
{
	struct dl_channel *c = find_channel(d, channel);

	if (c == NULL)
		return ERR_CLOSED;
	return dl_io_send(d, c, path, type, b, n);
}

void
delivery_record(struct delivery *d, const uint8_t channel[ENVELOPE_ID_LEN],
    unsigned path, uint8_t type, const uint8_t *body, size_t len)
{
	struct dl_channel *c = find_channel(d, channel);
	uint64_t seq;

	if (c == NULL || path >= c->npaths)
		return;
	if (type == DELIVERY_REC_RUN) {
		dl_on_run(d, c, path, body, len);
		return;
	}
	if (!dl_run_current(d, c, path))
		return;
	switch (type) {
	case DELIVERY_REC_SYNC:
		dl_on_sync(d, c, path, body, len);
		break;
	case DELIVERY_REC_MSG:
		dl_on_msg(d, c, path, body, len);
		break;
	case DELIVERY_REC_PART:
		dl_on_part(d, c, path, body, len);
		break;
	case DELIVERY_REC_HEAD:
		dl_on_head(d, c, path, body, len);
		break;
	case DELIVERY_REC_RECEIPT:
		if (dl_take_receipt(d, c, path, body, len, "RECEIPT",
		    &seq, NULL) == 0)
			dl_pump_channel(d, c);
		break;
	case RECOVER_REC_ASK:
		dl_on_recover_ask(d, c, path, body, len);
		break;
	case RECOVER_REC_OWN:
	case RECOVER_REC_HEAD:
		dl_on_recovered(d, c, path, type, body, len);
		break;
	default:
		log_debug("channel %s path %u: record type 0x%02x ignored",
		    c->idhex, path, type);
		break;
	}
}
