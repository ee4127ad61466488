/*
 * delivery_send.c: the sending side of the delivery engine (delivery.h,
 * docs/delivery.md): queueing, the records we send (SYNC, MSG / MSG_PART,
 * HEAD, RECEIPT), assignment in batches under a signed head, and the pump
 * of one channel (sends, resends and assignment within the window).
 * Everything goes on the channel's active path; a FLASH message and its
 * head also go as copies on the other live paths (dl_copy_paths). The group
 * commit of submitted messages is in delivery_group.c, what a failed group
 * had sent in delivery_held.c, receiving in delivery_recv.c.
 */
#include "msg/delivery.h"

#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "msg/delivery_int.h"

void
dl_wake(struct delivery *d)
{
	if (d->io.wake)
		d->io.wake(d->io.ctx);
}

int
delivery_queue(struct delivery *d, size_t i, uint8_t precedence,
    uint8_t marking, uint32_t kind, const uint8_t *body, size_t len,
    int64_t *qid)
{
	struct dl_channel *c = d->ch[i];
	int r;

	r = chain_queue(d->s, c->id, c->self, precedence, marking, kind, body,
	    len, dl_now(d), qid);
	if (r == 0) {
		c->queued++;
		if (precedence == ENVELOPE_FLASH)
			c->flash_queued++;
		if (len >= DELIVERY_BULK_MIN)
			c->bulk_queued = true;
		dl_wake(d);
	}
	return r;
}

/* --- sending ---------------------------------------------------------- */

static int
send_rec(struct delivery *d, struct dl_channel *c, uint8_t type,
    const uint8_t *b, size_t n)
{
	if (c->active < 0)
		return ERR_CLOSED;
	return dl_io_send(d, c, (unsigned)c->active, type, b, n);
}

/*
 * FLASH on every live path (docs/delivery.md): the paths, as a mask, on
 * which the message at seq also goes as a copy besides the active path.
 * A FLASH whose body fits one MSG goes on every other path that is up
 * where the peer already holds everything before it: all of it receipted
 * (seq is next after c->peer_holds, which its SYNC lowers after it
 * restored a backup), or the message before copied on that same path
 * (one session keeps the order). Elsewhere the copy would meet a gap
 * at the peer: a refusal (WARN) and a gap SYNC that sends the active path
 * back, so it is not made; the active path carries the message anyway.
 * Not where this session's run already carried it (copy_held). None for
 * other precedences, and none for a body in MSG_PARTs (the peer
 * assembles parts per channel, not per path).
 */
static unsigned
copy_held(const struct dl_channel *c, uint64_t seq)
{
	unsigned mask = 0;

	for (unsigned p = 0; p < c->npaths; p++)
		if ((int)p != c->active && c->up[p] && c->copied[p] != 0 &&
		    c->copied[p] >= seq)
			mask |= 1u << p;
	return mask;
}

unsigned
dl_copy_paths(const struct dl_channel *c, uint8_t precedence, size_t body_len,
    uint64_t seq)
{
	unsigned mask = 0;

	if (precedence != ENVELOPE_FLASH || body_len > DELIVERY_PART_MAX ||
	    c->active < 0)
		return 0;
	for (unsigned p = 0; p < c->npaths; p++)
		if ((int)p != c->active && c->up[p] &&
		    (seq == c->peer_holds + 1 ||
		    (c->copied[p] != 0 && c->copied[p] + 1 == seq)))
			mask |= 1u << p;
	return mask & ~copy_held(c, seq);
}

/* Our signed statement of how far we hold the peer's chain. */
static int
make_receipt(struct delivery *d, struct dl_channel *c, struct chain_receipt *r)
{
	memset(r, 0, sizeof *r);
	memcpy(r->channel, c->id, sizeof r->channel);
	r->receiver = c->self;
	r->seq = c->v.seq;
	memcpy(r->id, c->v.id, sizeof r->id);
	r->time_ms = dl_now(d);
	return chain_receipt_sign(r, d->k);
}

void
dl_receipt_ahead(void *arg)
{
	struct dl_receipt_ahead *a = arg;

	a->made = make_receipt(a->d, a->c, &a->rc) == 0;
}

void
dl_send_sync(struct delivery *d, struct dl_channel *c, bool reply)
{
	struct chain_receipt rc;
	uint8_t b[CHAIN_RECEIPT_MAX + 32];
	size_t n;
	int r;

	if (make_receipt(d, c, &rc) != 0 ||
	    delivery_sync_encode(&rc, reply, c->peer_run, b, sizeof b,
	    &n) != 0)
		return;
	r = send_rec(d, c, DELIVERY_REC_SYNC, b, n);
	if (r == 0) {
		c->sync_ms = dl_mono(d);
		c->sync_owed = false;
	} else if (r == ERR_FULL && !reply) {
		c->sync_owed = true;	/* the tick sends it */
	}
}

/* Our receipt, on path when it is up (the one its head came on: a FLASH
 * copy's receipt goes back where the copy got through, docs/delivery.md),
 * else on the active path. Refused by a full output, it is owed: the
 * tick sends the newest then (dl_owed_send). */
void
dl_send_receipt_on(struct delivery *d, struct dl_channel *c, unsigned path,
    const struct dl_receipt_ahead *ahead)
{
	struct chain_receipt rc;
	uint8_t b[CHAIN_RECEIPT_MAX];
	size_t n;
	int r;

	if (ahead != NULL && ahead->made && ahead->c == c &&
	    ahead->rc.seq == c->v.seq &&
	    memcmp(ahead->rc.id, c->v.id, sizeof rc.id) == 0)
		rc = ahead->rc;
	else if (make_receipt(d, c, &rc) != 0)
		return;
	if (chain_receipt_encode(&rc, b, sizeof b, &n) != 0)
		return;
	if (path < c->npaths && c->up[path] && (int)path != c->active &&
	    dl_io_send(d, c, path, DELIVERY_REC_RECEIPT, b, n) == 0)
		r = 0;
	else
		r = send_rec(d, c, DELIVERY_REC_RECEIPT, b, n);
	if (r == 0) {
		c->rc_owed = false;
	} else if (r == ERR_FULL) {
		c->rc_owed = true;
		c->rc_owed_path = path;
	}
}

void
dl_owed_send(struct delivery *d, struct dl_channel *c)
{
	if (c->sync_owed)
		dl_send_sync(d, c, false);
	if (c->rc_owed)
		dl_send_receipt_on(d, c, c->rc_owed_path, NULL);
}

/* Sends a head on the active path (unless copy_only), and as a copy on
 * the paths in copies; a copy's failure is its own (the next copy on that
 * path meets an unsigned run the next head covers). The active path's
 * result. */
int
dl_send_head(struct delivery *d, struct dl_channel *c, const struct chain_head *h,
    unsigned copies, bool copy_only)
{
	uint8_t b[CHAIN_HEAD_MAX];
	size_t n;
	int r;

	if ((r = chain_head_encode(h, b, sizeof b, &n)) != 0)
		return r;
	if (!copy_only)
		r = send_rec(d, c, DELIVERY_REC_HEAD, b, n);
	for (unsigned p = 0; p < c->npaths; p++)
		if (copies & (1u << p))
			(void)dl_io_send(d, c, p, DELIVERY_REC_HEAD, b, n);
	return r;
}

/*
 * Sends one message: one MSG, or MSG_PARTs for a large body, on the
 * active path (unless copy_only), and a copy on each path in copies
 * (dl_copy_paths) whatever the active path's send did: a full active path
 * is what the copies are for. *went says where a copy went, and
 * c->copied follows. The active path's result (0 when copy_only). A
 * body in parts that meets a full output goes on from that part at the
 * next call (c->part_seq): what went before it is on its way.
 */
int
dl_send_msg(struct delivery *d, struct dl_channel *c, const struct store_msg *m,
    unsigned copies, bool copy_only, unsigned *went)
{
	uint8_t *b;
	size_t cap = m->header_len + (m->body_len < DELIVERY_PART_MAX ?
	    m->body_len : DELIVERY_PART_MAX) + 64 + STORE_SALT_LEN, n, off = 0;
	const uint8_t *salt = m->salted ? m->body_salt : NULL;
	int r;

	*went = 0;
	if ((b = malloc(cap)) == NULL)
		return ERR_NOMEM;
	if (m->body_len <= DELIVERY_PART_MAX) {
		r = delivery_msg_encode(m->header, m->header_len, salt,
		    m->body, m->body_len, b, cap, &n);
		if (r != 0) {
			free(b);
			return r;
		}
		if (!copy_only)
			r = send_rec(d, c, DELIVERY_REC_MSG, b, n);
		for (unsigned p = 0; p < c->npaths; p++) {
			if (!(copies & (1u << p)))
				continue;
			if (dl_io_send(d, c, p, DELIVERY_REC_MSG, b, n) ==
			    0) {
				c->copied[p] = m->seq;
				*went |= 1u << p;
			} else
				c->copied[p] = 0;
		}
		free(b);
		return r;
	}
	r = 0;
	if (c->part_seq == m->seq && c->part_seq == c->sent + 1)
		off = c->part_off;	/* the parts before are on their way */
	c->part_seq = 0;
	while (!copy_only && r == 0 && off < m->body_len) {
		size_t k = m->body_len - off;
		if (k > DELIVERY_PART_MAX)
			k = DELIVERY_PART_MAX;
		r = delivery_part_encode(m->header, m->header_len, salt, off,
		    m->body + off, k, b, cap, &n);
		if (r == 0)
			r = send_rec(d, c, DELIVERY_REC_PART, b, n);
		if (r == ERR_FULL && m->seq == c->sent + 1) {
			c->part_seq = m->seq;	/* goes on from this part */
			c->part_off = off;
		}
		off += k;
	}
	free(b);
	return r;
}

struct send_ctx {
	struct delivery *d;
	struct dl_channel *c;
	int err;
	bool copy_only;		/* the active path refused: copies only */
};

/* The pump's copies of m (where went) are owed a head at the pass's end
 * (copy_head_flush). */
static void
copies_owed(struct dl_channel *c, const struct store_msg *m, unsigned went)
{
	if (went == 0)
		return;
	c->copy_seq = m->seq;
	memcpy(c->copy_id, m->id, sizeof c->copy_id);
	c->copy_mask |= went;
}

/*
 * store_after's callback: one message, then a head where one is due.
 * When the active path refuses a message (its output full) whose copy
 * went, or that a copy run already carried, the pass goes on with copies
 * only (sc->copy_only): a burst of FLASH behind a clogged active path
 * still leaves on the other paths. c->sent stays: the active path sends
 * the rest later, from what the peer does not hold (dl_pump_channel).
 */
static int
send_one(void *arg, struct store_msg *m)
{
	struct send_ctx *sc = arg;
	struct delivery *d = sc->d;
	struct dl_channel *c = sc->c;
	struct store_head sh;
	struct chain_head h;
	bool head = false;
	unsigned copies, went;
	int r;

	copies = dl_copy_paths(c, m->precedence, m->body_len, m->seq);
	if (sc->copy_only) {
		if (copies == 0)	/* the runs stop, or go on past it */
			return copy_held(c, m->seq) != 0 ? 0 : 1;
		(void)dl_send_msg(d, c, m, copies, true, &went);
		copies_owed(c, m, went);
		return went != 0 ? 0 : 1;
	}
	r = dl_send_msg(d, c, m, copies, false, &went);
	copies_owed(c, m, went);
	if (r != 0) {
		if (went == 0 && copy_held(c, m->seq) == 0)
			goto fail;
		sc->err = r;		/* the pass ends after the copies */
		sc->copy_only = true;
		return 0;
	}
	c->unsigned_n++;
	c->unsigned_bytes += m->header_len + m->body_len;
	r = store_head_covering(d->s, c->id, c->self, m->seq, &sh);
	if (r == 0 && sh.seq == m->seq) {
		chain_head_from_store(&h, &sh);
		head = true;
	} else if (r != 0 && r != ERR_NOT_FOUND) {
		goto fail;
	} else if (c->unsigned_n >= DELIVERY_RUN_SIGN ||
	    c->unsigned_bytes >= DELIVERY_RUN_BYTES || m->seq == c->assigned) {
		if ((r = chain_head_over(&h, m, d->k)) != 0)
			goto fail;
		chain_head_to_store(&sh, &h);
		/* the MSGs held so far leave before this commit's fsync */
		if (d->io.flush)
			d->io.flush(d->io.ctx);
		if ((r = store_head_put(d->s, &sh, dl_now(d))) != 0)
			goto fail;
		head = true;
	}
	if (head) {
		/* over this message: its copies' head too */
		if ((r = dl_send_head(d, c, &h, went, false)) != 0)
			goto fail;
		c->unsigned_n = c->unsigned_bytes = 0;
		if (went != 0)
			c->copy_mask = 0;
	}
	c->sent = m->seq;
	return 0;
fail:
	/* The message goes again next time (the peer drops repeats). */
	sc->err = r;
	return 1;
}

/* The head over the last message of a batch, signed inside the store's
 * assignment transaction. */
static int
sign_head(void *arg, const uint8_t *channel, uint8_t sender, uint64_t seq,
    const uint8_t id[STORE_ID_LEN], struct store_head *out)
{
	struct delivery *d = arg;
	struct chain_head h;
	int r;

	memset(&h, 0, sizeof h);
	memcpy(h.channel, channel, sizeof h.channel);
	h.sender = sender;
	h.seq = seq;
	memcpy(h.id, id, sizeof h.id);
	if ((r = chain_head_sign(&h, d->k)) != 0)
		return r;
	chain_head_to_store(out, &h);
	return 0;
}

/* Gives queued messages their place in the chain, FLASH first, and signs
 * a head over the batch: one commit. ERR_NOT_FOUND when nothing is
 * queued. A batch that does not begin with a FLASH says that none is
 * queued (c->flash_queued, an upper bound read back at a reload, is 0:
 * else the pump would take each batch of bodies for a FLASH to assign
 * past a full path, flash_past_full). */
int
dl_assign(struct delivery *d, struct dl_channel *c, size_t max)
{
	uint64_t first, last;
	bool cut = false;
	uint8_t prec = ENVELOPE_FLASH;
	int r;

	if ((r = store_assign_signed(d->s, c->id, c->self, max,
	    DELIVERY_BATCH_BYTES, dl_now(d), chain_store_build, NULL,
	    sign_head, d, &first, &last, &cut, &prec)) != 0) {
		if (r == ERR_NOT_FOUND)
			c->assign_cut = c->bulk_queued = false;
		return r;
	}
	c->assign_cut = cut;
	c->assigned = last;
	c->queued -= c->queued < last - first + 1 ? c->queued :
	    (size_t)(last - first + 1);
	if (c->queued == 0)
		c->bulk_queued = false;
	c->flash_queued -= c->flash_queued < last - first + 1 ?
	    c->flash_queued : (size_t)(last - first + 1);
	if (prec != ENVELOPE_FLASH)
		c->flash_queued = 0;
	return 0;
}


/* The head the pump's copies are owed (c->copy_mask): the stored head at
 * the last copied seq, or one signed over it and stored; on the copy
 * paths only (the active path has its own). Once per pass, so a burst of
 * queued FLASH costs a head (and its commit) per pass, not per message. */
static void
copy_head_flush(struct delivery *d, struct dl_channel *c)
{
	struct store_head sh;
	struct chain_head h;
	int r;

	if (c->copy_mask == 0)
		return;
	r = store_head_covering(d->s, c->id, c->self, c->copy_seq, &sh);
	if (r == 0 && sh.seq == c->copy_seq) {
		chain_head_from_store(&h, &sh);
	} else {
		memset(&h, 0, sizeof h);
		memcpy(h.channel, c->id, sizeof h.channel);
		h.sender = c->self;
		h.seq = c->copy_seq;
		memcpy(h.id, c->copy_id, sizeof h.id);
		if (chain_head_sign(&h, d->k) != 0)
			goto out;
		chain_head_to_store(&sh, &h);
		if (store_head_put(d->s, &sh, dl_now(d)) != 0)
			goto out;	/* the copies wait for the active path */
	}
	/* only where the run reached the head's seq: a path whose copy
	 * failed on the way holds less (a head there would meet a gap) */
	for (unsigned p = 0; p < c->npaths; p++)
		if (c->copied[p] != c->copy_seq)
			c->copy_mask &= ~(1u << p);
	(void)dl_send_head(d, c, &h, c->copy_mask, true);
out:
	c->copy_mask = 0;
}

void
dl_pump_channel(struct delivery *d, struct dl_channel *c)
{
	struct send_ctx sc;
	bool flash_past_full = false;
	int r;

	/* a failed group's messages first: they hold their seqs */
	(void)dl_held_commit(d, c, NULL);
	if (c->active < 0 || !c->synced)
		return;
	for (int rounds = 0; rounds < 64; rounds++) {
		if (c->sent < c->peer_holds) {
			/* copies got there while the active path was full:
			 * it goes on from what the peer holds (nothing of
			 * its own is unsigned at the peer below that) */
			c->sent = c->peer_holds;
			c->unsigned_n = c->unsigned_bytes = 0;
		}
		if (c->sent < c->assigned) {
			uint64_t before = c->sent;
			sc.d = d;
			sc.c = c;
			sc.err = 0;
			sc.copy_only = false;
			if (d->io.hold)
				d->io.hold(d->io.ctx);
			r = store_after(d->s, c->id, c->self, c->sent, 32,
			    send_one, &sc);
			if (d->io.flush)
				d->io.flush(d->io.ctx);
			copy_head_flush(d, c);
			if (sc.err == ERR_FULL && c->flash_queued > 0 &&
			    !flash_past_full && (r == 0 || r == 1)) {
				/* The active path takes nothing (its output
				 * full), but a queued FLASH is assigned now,
				 * once, so that its copies go on the other
				 * paths in the next pass (send_one), not a
				 * round trip later. (A full store gives
				 * ERR_FULL too: the assignment then fails
				 * the same way, and the pump stops.) */
				flash_past_full = true;
			} else if (sc.err != 0 || (r != 0 && r != 1) ||
			    c->sent == before) {
				return;		/* full, closed, or broken */
			} else {
				continue;
			}
		}
		if (c->assigned - c->receipted >= DELIVERY_WINDOW ||
		    dl_assign_blocked(c))
			return;
		/* Nothing queued: no assignment to try (c->queued counts
		 * every message queued through the engine, and is read back
		 * from the store at each reload). */
		if (c->queued == 0)
			return;
		/* Group commit: while a batch waits for its receipt, the
		 * queue gathers the next one (unless it is already big, or
		 * holds a FLASH: that goes at once, and its copies with it,
		 * docs/delivery.md "FLASH on every live path"; or bodies,
		 * which wait for the path, not for a group: "Slow paths"). */
		if (c->assigned > c->receipted &&
		    c->queued < DELIVERY_BATCH_MIN && c->flash_queued == 0 &&
		    !c->assign_cut && !c->bulk_queued)
			return;
		r = dl_assign(d, c, DELIVERY_WINDOW - (size_t)(c->assigned -
		    c->receipted) < DELIVERY_BATCH_MAX ? DELIVERY_WINDOW -
		    (size_t)(c->assigned - c->receipted) : DELIVERY_BATCH_MAX);
		if (r != 0) {
			if (r == ERR_NOT_FOUND)
				c->queued = c->flash_queued = 0;
			else if (r != c->assign_err)	/* once, not per tick */
				log_warn("channel %s: cannot assign: %s",
				    c->idhex, r == ERR_FULL ? "store full" :
				    err_str(r));
			if (r != ERR_NOT_FOUND)
				c->assign_err = r;
			return;
		}
		c->assign_err = 0;
	}
	dl_wake(d);		/* more to do: yield to the loop first */
}
