/*
 * delivery_send.c: the sending side of the delivery engine (delivery.h,
 * docs/delivery.md): queueing, the records we send (SYNC, MSG / MSG_PART,
 * HEAD, RECEIPT), assignment in batches under a signed head, the group
 * commit of submitted messages with its early send, the waiters answered
 * at the peer's receipt, and the pump of one channel (sends, resends and
 * assignment within the window). Everything goes on the channel's active
 * path; a FLASH message and its head also go as copies on the other live
 * paths (copy_paths). Receiving is in delivery_recv.c.
 */
#include "msg/delivery.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "msg/delivery_int.h"
#include "msg/recover.h"
#include "store/record.h"

static void
wake(struct delivery *d)
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
		wake(d);
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

static unsigned
copy_paths(const struct dl_channel *c, uint8_t precedence, size_t body_len,
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
		c->sync_ms = dl_now(d);
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
static int
send_head(struct delivery *d, struct dl_channel *c, const struct chain_head *h,
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
 * (copy_paths) whatever the active path's send did: a full active path
 * is what the copies are for. *went says where a copy went, and
 * c->copied follows. The active path's result (0 when copy_only). A
 * body in parts that meets a full output goes on from that part at the
 * next call (c->part_seq): what went before it is on its way.
 */
static int
send_msg(struct delivery *d, struct dl_channel *c, const struct store_msg *m,
    unsigned copies, bool copy_only, unsigned *went)
{
	uint8_t *b;
	size_t cap = m->header_len + (m->body_len < DELIVERY_PART_MAX ?
	    m->body_len : DELIVERY_PART_MAX) + 64, n, off = 0;
	int r;

	*went = 0;
	if ((b = malloc(cap)) == NULL)
		return ERR_NOMEM;
	if (m->body_len <= DELIVERY_PART_MAX) {
		r = delivery_msg_encode(m->header, m->header_len, m->body,
		    m->body_len, b, cap, &n);
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
		r = delivery_part_encode(m->header, m->header_len, off,
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

	copies = copy_paths(c, m->precedence, m->body_len, m->seq);
	if (sc->copy_only) {
		if (copies == 0)	/* the runs stop, or go on past it */
			return copy_held(c, m->seq) != 0 ? 0 : 1;
		(void)send_msg(d, c, m, copies, true, &went);
		copies_owed(c, m, went);
		return went != 0 ? 0 : 1;
	}
	r = send_msg(d, c, m, copies, false, &went);
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
		if ((r = send_head(d, c, &h, went, false)) != 0)
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
static int
assign(struct delivery *d, struct dl_channel *c, size_t max)
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

/* --- group commit (docs/delivery.md, "Group commit") -------------------- */

int
delivery_submit(struct delivery *d, size_t i, uint8_t precedence,
    uint8_t marking, uint32_t kind, const uint8_t *body, size_t len,
    bool wait, delivery_txn_fn *in_txn, delivery_done_fn *done, void *arg)
{
	struct dl_sub *sb;

	if (i >= d->nch || done == NULL)
		return ERR_INVALID;
	if (len > ENVELOPE_BODY_MAX)
		return ERR_TOO_BIG;
	if (d->nsubs >= DELIVERY_SUBMIT_MAX ||
	    (wait && d->nwaits >= DELIVERY_WAIT_MAX))
		return ERR_AGAIN;
	if ((sb = calloc(1, sizeof *sb + len)) == NULL)
		return ERR_NOMEM;
	sb->ch = i;
	sb->precedence = precedence;
	sb->marking = marking;
	sb->kind = kind;
	sb->wait = wait;
	sb->in_txn = in_txn;
	sb->done = done;
	sb->arg = arg;
	sb->len = len;
	memcpy(sb->body, body, len);
	*d->subs_tail = sb;
	d->subs_tail = &sb->next;
	d->nsubs++;
	wake(d);
	return 0;
}

/* Answers the waiters of channel c that its receipt now covers. A seq not
 * known yet is read from the store once the channel has assigned more. */
void
dl_waits_check_at(struct delivery *d, struct dl_channel *c, uint64_t receipted)
{
	struct dl_sub **pp = &d->waits, *sb;
	struct store_msg m;

	while ((sb = *pp) != NULL) {
		if (d->ch[sb->ch] != c) {
			pp = &sb->next;
			continue;
		}
		if (sb->seq == 0 && sb->looked != c->assigned &&
		    store_get_local(d->s, sb->qid, &m) == 0) {
			sb->looked = c->assigned;
			sb->seq = m.seq;
			store_msg_fini(&m);
		}
		if (sb->seq == 0 || sb->seq > receipted) {
			pp = &sb->next;
			continue;
		}
		*pp = sb->next;
		d->nwaits--;
		sb->done(sb->arg, 0, sb->qid);
		free(sb);
	}
}

static void
waits_check(struct delivery *d, struct dl_channel *c)
{
	dl_waits_check_at(d, c, c->receipted);
}

/* The sender's side of channel c read back from the store (recovery
 * stored some of our chain). A failed read leaves it as it was. */
void
dl_sender_reload(struct delivery *d, struct dl_channel *c)
{
	uint8_t id[ENVELOPE_ID_LEN];

	if (store_highest(d->s, c->id, c->self, &c->assigned, id) != 0 ||
	    store_queued_count(d->s, c->id, &c->queued) != 0)
		log_warn("channel %s: cannot read the store: %s", c->idhex,
		    store_errmsg(d->s));
	c->flash_queued = c->queued;	/* at most (delivery_int.h) */
	c->bulk_queued = c->queued != 0;
}

static bool
refusal(int r)
{
	return r == ERR_INVALID || r == ERR_KIND || r == ERR_TOO_BIG;
}

/* The most the window lets channel c assign now; 0 when it may not. */
static size_t
assign_room(const struct dl_channel *c)
{
	size_t room;

	if (c->active < 0 || !c->synced || dl_assign_blocked(c) ||
	    c->assigned - c->receipted >= DELIVERY_WINDOW)
		return 0;
	room = DELIVERY_WINDOW - (size_t)(c->assigned - c->receipted);
	return room < DELIVERY_BATCH_MAX ? room : DELIVERY_BATCH_MAX;
}

/* chain_store_build, keeping the header in the submission (the draft's
 * tag) for the early send (subs_send). */
static int
sub_build(void *arg, const struct store_draft *dr, uint8_t *hdr, size_t cap,
    size_t *len, uint8_t id[STORE_ID_LEN])
{
	struct dl_sub *sb = dr->tag;
	int r;

	(void)arg;
	if ((r = chain_store_build(NULL, dr, hdr, cap, len, id)) != 0)
		return r;
	if (*len > sizeof sb->hdr)
		return ERR_TOO_BIG;
	memcpy(sb->hdr, hdr, *len);
	sb->hlen = *len;
	return 0;
}

/*
 * Channel i's n submissions (in v, FLASH first, oldest first within a
 * precedence: what assign() would do) queued and assigned in one write
 * (store_queue_assigned_run); heads[i] names the last, to be signed and
 * stored by the caller (subs_send, subs_commit). ERR_STATE: something is
 * queued after all (nothing written; the caller queues them). Sets placed
 * in what it took or refused.
 */
static int
run_direct(struct delivery *d, size_t i, struct dl_sub **v, size_t n,
    bool *took, struct store_head *heads)
{
	struct dl_channel *c = d->ch[i];
	struct store_draft dr[DELIVERY_BATCH_MAX];
	struct store_assigned out[DELIVERY_BATCH_MAX];
	const uint8_t *last = NULL;
	uint64_t now = dl_now(d);
	int r;

	for (size_t k = 0; k < n; k++) {
		memset(&dr[k], 0, sizeof dr[k]);
		dr[k].channel = c->id;
		dr[k].sender = c->self;
		dr[k].precedence = v[k]->precedence;
		dr[k].marking = v[k]->marking;
		dr[k].kind = v[k]->kind;
		dr[k].body = v[k]->body;
		dr[k].body_len = v[k]->len;
		dr[k].time_ms = now;
		dr[k].tag = v[k];
	}
	if ((r = store_queue_assigned_run(d->s, dr, n, now, sub_build, NULL,
	    out)) != 0)
		return r;
	for (size_t k = 0; k < n; k++) {
		struct dl_sub *sb = v[k];
		sb->placed = true;
		if ((sb->r = out[k].r) != 0)
			continue;	/* refused: answered with it */
		sb->qid = out[k].qid;
		sb->seq = out[k].seq;
		sb->direct = true;
		c->assigned = out[k].seq;
		last = out[k].id;
	}
	if (last == NULL)
		return 0;
	took[i] = true;
	memset(&heads[i], 0, sizeof heads[i]);
	memcpy(heads[i].channel, c->id, sizeof heads[i].channel);
	heads[i].sender = c->self;
	heads[i].seq = c->assigned;
	memcpy(heads[i].id, last, sizeof heads[i].id);
	return 0;
}

/*
 * Whether channel c may assign n bodies of bytes in all at once, now
 * (bulk: one of them of DELIVERY_BULK_MIN or more, which the link paces;
 * mixed: of more than one precedence). Bulk goes into the chain only when
 * the active path has taken all assigned before it (c->sent), and, unless
 * alone, at most DELIVERY_BATCH_BYTES of it of one precedence (as assign()
 * does): a FLASH queued next then waits behind that and the link's bulk
 * cap, not behind a window of bodies, and a FLASH's head does not wait
 * behind bodies of its group (docs/delivery.md "Slow paths").
 */
static bool
bodies_may_go(const struct dl_channel *c, size_t n, size_t bytes, bool bulk,
    bool mixed)
{
	return !bulk || (c->sent >= c->assigned &&
	    (n == 1 || (bytes <= DELIVERY_BATCH_BYTES && !mixed)));
}

/*
 * A channel with nothing queued and room in its window for all of this
 * group's submissions takes them straight into its chain (run_direct),
 * when its bodies may go now (bodies_may_go).
 * The others, and any left (ERR_STATE), are queued by the caller.
 */
static int
subs_direct(struct delivery *d, struct dl_sub *list, bool *touched,
    bool *took, struct store_head *heads)
{
	struct dl_sub *v[DELIVERY_BATCH_MAX];
	size_t cnt[DELIVERY_MAX_CHANNELS] = { 0 };
	size_t bytes[DELIVERY_MAX_CHANNELS] = { 0 };
	bool bulk[DELIVERY_MAX_CHANNELS] = { false };
	int prec[DELIVERY_MAX_CHANNELS];	/* one, or -1: mixed */
	struct dl_sub *sb;
	int r;

	for (sb = list; sb != NULL; sb = sb->next) {
		prec[sb->ch] = cnt[sb->ch] == 0 || prec[sb->ch] ==
		    sb->precedence ? sb->precedence : -1;
		cnt[sb->ch]++;
		bytes[sb->ch] += sb->len;
		bulk[sb->ch] |= sb->len >= DELIVERY_BULK_MIN;
	}
	for (size_t i = 0; i < d->nch; i++) {
		size_t n = 0;
		if (cnt[i] == 0 || d->ch[i]->queued != 0 ||
		    cnt[i] > assign_room(d->ch[i]) ||
		    !bodies_may_go(d->ch[i], cnt[i], bytes[i], bulk[i],
		    prec[i] < 0))
			continue;
		for (uint8_t p = 0; p <= 3; p++)
			for (sb = list; sb != NULL; sb = sb->next)
				if (sb->ch == i && sb->precedence == p)
					v[n++] = sb;
		/* touched first: a failure after run_direct set c->assigned
		 * must make the caller read the channel back */
		touched[i] = true;
		r = run_direct(d, i, v, n, took, heads);
		/* something queued, or a draft the run refuses whole: the
		 * caller queues them one by one (a bad one refused alone) */
		if (r == ERR_STATE || refusal(r))
			continue;
		if (r != 0)
			return r;
	}
	return 0;
}

/*
 * The early send's FLASH copies (copy_paths): each path that took copies
 * gets a head over the last of them. The group's head h where that is
 * its last message (sent here unless with_h: it went with the active
 * path's); else one signed over that message, and stored in the group's
 * transaction as the group's head is.
 */
static int
copy_heads_early(struct delivery *d, struct dl_channel *c,
    struct dl_sub *const *last, const struct chain_head *h, bool with_h)
{
	struct store_head sh;
	struct chain_head x;
	unsigned done = 0, mask;
	int r;

	for (unsigned p = 0; p < c->npaths; p++) {
		if (last[p] == NULL || (done & (1u << p)))
			continue;
		mask = 0;
		for (unsigned q = p; q < c->npaths; q++)
			if (last[q] == last[p])
				mask |= 1u << q;
		done |= mask;
		if (last[p]->seq == h->seq) {
			if (!with_h)
				(void)send_head(d, c, h, mask, true);
			continue;
		}
		memset(&x, 0, sizeof x);
		memcpy(x.channel, c->id, sizeof x.channel);
		x.sender = c->self;
		x.seq = last[p]->seq;
		envelope_header_id(last[p]->hdr, last[p]->hlen, x.id);
		if ((r = chain_head_sign(&x, d->k)) != 0)
			return r;
		(void)send_head(d, c, &x, mask, true);
		chain_head_to_store(&sh, &x);
		if ((r = store_head_put(d->s, &sh, dl_now(d))) != 0)
			return r;
	}
	return 0;
}

/*
 * Before an early send: notes that our chain may leave up to seq before it
 * is stored (io.note_ahead: the next start fences the channel while that
 * is past its store, delivery_fence). false: not noted (logged once), so
 * nothing of the group leaves before its commit.
 */
static bool
note_ahead(struct delivery *d, struct dl_channel *c, uint64_t seq)
{
	int r;

	if (d->io.note_ahead == NULL || seq <= c->noted)
		return true;
	if ((r = d->io.note_ahead(d->io.ctx, c->id, seq)) != 0) {
		if (!c->note_err)
			log_warn("channel %s: cannot note what is sent ahead "
			    "of the store (%s): messages go only after their "
			    "commit until it can", c->idhex, err_str(r));
		c->note_err = true;
		return false;
	}
	if (c->note_err)
		log_info("channel %s: the sent-ahead note is written again; "
		    "the early send goes on", c->idhex);
	c->note_err = false;
	c->noted = seq;
	return true;
}

/*
 * The early send (docs/delivery.md, "Group commit"): what subs_direct put
 * in a channel's chain goes on the wire from memory, MSGs in seq order and
 * the head, before the rest of the transaction (the audit, the head's and
 * receipts' rows) and its commit, so that the peer verifies and stores
 * them while we write and fsync. Only where everything before them was
 * sent (c->sent was the seq before the group's first); a send that does
 * not go (a full output queue) is left to dl_pump_channel, which reads the
 * rest back once committed. Signs every head in heads[] that a channel
 * took (the caller stores them). Sets early[i] where anything left. A
 * FLASH also goes as a copy on the other live paths (copy_paths), with
 * its head (copy_heads_early), even when the active path refuses it.
 */
static int
subs_send(struct delivery *d, struct dl_sub *list, const bool *took,
    struct store_head *heads, bool *early)
{
	struct chain_head h;
	struct store_msg m;
	struct dl_sub *sb;
	int r;

	for (size_t i = 0; i < d->nch; i++) {
		early[i] = false;
		d->ch[i]->sent_early = 0;
		d->ch[i]->head_early = 0;
	}
	for (size_t i = 0; i < d->nch; i++) {
		struct dl_channel *c = d->ch[i];
		struct dl_sub *last[DELIVERY_MAX_PATHS] = { NULL };
		unsigned went;
		bool with_h = false;
		if (!took[i])
			continue;
		/* nothing leaves before the commit unless it is noted */
		for (uint8_t p = note_ahead(d, c, heads[i].seq) ? 0 : 4;
		    p <= 3; p++)
			for (sb = list; sb != NULL; sb = sb->next) {
				if (sb->ch != i || !sb->direct ||
				    sb->precedence != p || c->sent + 1 != sb->seq)
					continue;
				memset(&m, 0, sizeof m);
				m.seq = sb->seq;
				memcpy(m.header, sb->hdr, sb->hlen);
				m.header_len = sb->hlen;
				m.body = sb->body;
				m.body_len = sb->len;
				r = send_msg(d, c, &m, copy_paths(c,
				    sb->precedence, sb->len, sb->seq), false,
				    &went);
				for (unsigned q = 0; q < c->npaths; q++)
					if (went & (1u << q))
						last[q] = sb;
				if (went != 0) {	/* the peer may hold it */
					c->sent_early = sb->seq;
					early[i] = true;
				}
				if (r != 0)	/* the pump sends it, later */
					continue;
				c->sent = c->sent_early = sb->seq;
				early[i] = true;
			}
		chain_head_from_store(&h, &heads[i]);
		if ((r = chain_head_sign(&h, d->k)) != 0)
			return r;
		chain_head_to_store(&heads[i], &h);
		if (early[i] && c->sent == heads[i].seq) {
			unsigned copies = 0;
			for (unsigned q = 0; q < c->npaths; q++)
				if (last[q] != NULL && last[q]->seq == h.seq)
					copies |= 1u << q;
			with_h = true;
			if (send_head(d, c, &h, copies, false) == 0) {
				c->unsigned_n = c->unsigned_bytes = 0;
				c->head_early = h.seq;
			} else	/* the last MSG and its stored head go again */
				c->sent = heads[i].seq - 1;
		}
		if ((r = copy_heads_early(d, c, last, &h, with_h)) != 0)
			return r;
	}
	return 0;
}

/* Queues the submitted messages in one transaction; where a channel may
 * assign, the same transaction gives them (and any queued before) their
 * place in the chain and signs the head: one fsync for all, with the
 * peer's receipts taken since the last commit. */
static int
subs_commit(struct delivery *d, struct dl_sub *list, bool *touched,
    bool *early)
{
	bool rc_in[DELIVERY_MAX_CHANNELS], took[DELIVERY_MAX_CHANNELS];
	struct store_head heads[DELIVERY_MAX_CHANNELS];
	struct dl_sub *sb;
	size_t newly;
	int r;

	if ((r = store_txn_begin(d->s)) != 0)
		return r;
	for (size_t i = 0; i < d->nch; i++)
		took[i] = rc_in[i] = false;
	if ((r = subs_direct(d, list, touched, took, heads)) != 0)
		goto out;
	/* What may fail for another reason than the disk (a refused body, a
	 * channel's own queue) comes before anything is sent: a refusal is
	 * that message's alone, and any other failure rolls the group back
	 * before a record has left, so no send is left in doubt by it. */
	for (sb = list; sb != NULL; sb = sb->next) {
		struct dl_channel *c = d->ch[sb->ch];
		if (sb->placed)
			continue;
		sb->r = chain_queue(d->s, c->id, c->self, sb->precedence,
		    sb->marking, sb->kind, sb->body, sb->len, dl_now(d),
		    &sb->qid);
		if (sb->r == 0) {
			c->queued++;
			if (sb->len >= DELIVERY_BULK_MIN)
				c->bulk_queued = true;
			if (sb->precedence == ENVELOPE_FLASH)
				c->flash_queued++;
			touched[sb->ch] = true;
			/* its record failed: the group is rolled back */
			if (sb->in_txn && (r = sb->in_txn(sb->arg,
			    sb->qid)) != 0)
				goto out;
		} else if (!refusal(sb->r)) {
			r = sb->r;
			goto out;
		}
	}
	for (size_t i = 0; i < d->nch; i++) {
		struct dl_channel *c = d->ch[i];
		size_t room = assign_room(c);
		/* bodies behind bodies the path has not taken: the pump
		 * assigns them once it has (bodies_may_go); short messages
		 * too while bodies are queued before them, else each such
		 * group would take a batch of bodies ahead of a FLASH */
		if (!touched[i] || took[i] || room == 0 || c->queued == 0 ||
		    ((c->bulk_queued || c->assign_cut) &&
		    c->sent < c->assigned))
			continue;
		if ((r = assign(d, d->ch[i], room)) != 0 && r != ERR_NOT_FOUND)
			goto out;
		r = 0;
	}
	if (d->io.hold)
		d->io.hold(d->io.ctx);
	r = subs_send(d, list, took, heads, early);
	if (d->io.flush)
		d->io.flush(d->io.ctx);
	if (r != 0)
		goto out;
	/* What the early send did not wait for, in the same transaction:
	 * rows the peer never sees (a failure here is the disk's, as the
	 * commit's would be: docs/delivery.md, "Early send"). */
	for (sb = list; sb != NULL; sb = sb->next)
		if (sb->direct && sb->in_txn && (r = sb->in_txn(sb->arg,
		    sb->qid)) != 0)
			goto out;
	for (size_t i = 0; i < d->nch; i++)
		if (took[i] && (r = store_head_put(d->s, &heads[i],
		    dl_now(d))) != 0)
			goto out;
	for (size_t i = 0; i < d->nch; i++)	/* see rc_store */
		rc_in[i] = d->ch[i]->rc_pending &&
		    store_receipt_put(d->s, &d->ch[i]->rc_pend, dl_now(d),
		    &newly) == 0;
	if ((r = store_txn_commit(d->s)) == 0)
		for (size_t i = 0; i < d->nch; i++) {
			struct dl_channel *c = d->ch[i];
			if (rc_in[i])
				c->rc_pending = false;
			if (took[i]) {
				c->head_seq = heads[i].seq;
				memcpy(c->head_id, heads[i].id,
				    sizeof c->head_id);
			}
		}
out:
	if (r != 0)
		store_txn_rollback(d->s);
	return r;
}

/* --- what a failed group had sent (docs/delivery.md, "Early send") ---- */

void
dl_held_free(struct dl_channel *c)
{
	for (size_t k = 0; k < c->nheld; k++)
		free(c->held[k].body);
	free(c->held);
	c->held = NULL;
	c->nheld = 0;
}

/* Keeps channel i's messages of the failed group list that may have left
 * (seq up to c->sent_early: a run from the group's first), in seq order. */
static int
held_take(struct delivery *d, size_t i, struct dl_sub *list)
{
	struct dl_channel *c = d->ch[i];
	uint64_t first = UINT64_MAX;
	struct dl_sub *sb;
	size_t n = 0;

	for (sb = list; sb != NULL; sb = sb->next)
		if (sb->ch == i && sb->direct && sb->seq != 0 &&
		    sb->seq <= c->sent_early) {
			n++;
			if (sb->seq < first)
				first = sb->seq;
		}
	if (n == 0 || c->nheld != 0)
		return ERR_STATE;
	if ((c->held = calloc(n, sizeof *c->held)) == NULL)
		return ERR_NOMEM;
	c->nheld = n;
	for (sb = list; sb != NULL; sb = sb->next) {
		struct dl_held *h;
		if (sb->ch != i || !sb->direct || sb->seq == 0 ||
		    sb->seq > c->sent_early)
			continue;
		if (sb->seq - first >= n) {	/* not one run: cannot be */
			dl_held_free(c);
			return ERR_GAP;
		}
		h = &c->held[sb->seq - first];
		h->seq = sb->seq;
		memcpy(h->hdr, sb->hdr, sb->hlen);
		h->hlen = sb->hlen;
		h->blen = sb->len;
		if ((h->body = malloc(sb->len ? sb->len : 1)) == NULL) {
			dl_held_free(c);
			return ERR_NOMEM;
		}
		memcpy(h->body, sb->body, sb->len);
	}
	for (size_t k = 0; k < n; k++)
		if (c->held[k].seq != first + k) {
			dl_held_free(c);
			return ERR_GAP;
		}
	return 0;
}

/* The group's submission sent early at seq on channel c, if any. */
static struct dl_sub *
held_sub(struct delivery *d, struct dl_channel *c, struct dl_sub *group,
    uint64_t seq)
{
	for (struct dl_sub *sb = group; sb != NULL; sb = sb->next)
		if (d->ch[sb->ch] == c && sb->direct && sb->seq == seq)
			return sb;
	return NULL;
}

/* held_commit's transaction: the held messages from index k, each
 * submission's in_txn (group), the head over the last. */
static int
held_write(struct delivery *d, struct dl_channel *c, size_t k,
    struct dl_sub *group, int64_t *qids, struct store_head *sh)
{
	size_t n = c->nheld - k;
	struct store_in *in;
	struct envelope_header h;
	struct chain_head head;
	uint8_t id[ENVELOPE_ID_LEN];
	int r;

	if ((in = calloc(n, sizeof *in)) == NULL)
		return ERR_NOMEM;
	for (size_t j = 0; j < n; j++) {
		struct dl_held *m = &c->held[k + j];
		if ((r = envelope_header_decode(&h, m->hdr, m->hlen)) != 0) {
			free(in);
			return r;
		}
		envelope_header_id(m->hdr, m->hlen, id);
		chain_store_in(&in[j], &h, m->hdr, m->hlen, m->body, m->blen,
		    id);
	}
	memset(&head, 0, sizeof head);
	memcpy(head.channel, c->id, sizeof head.channel);
	head.sender = c->self;
	head.seq = in[n - 1].seq;
	memcpy(head.id, in[n - 1].id, sizeof head.id);
	if ((r = store_txn_begin(d->s)) != 0) {
		free(in);
		return r;
	}
	r = store_own_sent(d->s, c->id, c->self, in, n, dl_now(d), qids);
	free(in);
	for (size_t j = 0; r == 0 && j < n; j++) {
		struct dl_sub *sb = held_sub(d, c, group, c->held[k + j].seq);
		if (sb != NULL && sb->in_txn != NULL)
			r = sb->in_txn(sb->arg, qids[j]);
	}
	if (r == 0 && (r = chain_head_sign(&head, d->k)) == 0) {
		chain_head_to_store(sh, &head);
		r = store_head_put(d->s, sh, dl_now(d));
	}
	if (r == 0 && (r = store_txn_commit(d->s)) == 0)
		return 0;
	store_txn_rollback(d->s);
	return r;
}

/*
 * Commits channel c's held messages again at their seqs, as sent, with a
 * head over the last (the same signature the peer may hold: Ed25519 is
 * deterministic), in one transaction. What the store already holds of
 * them (recovery took it back from the peer) is checked and skipped.
 * group: the failed group itself, on the first try (dl_subs_flush): each
 * of its messages stored again gets its qid, its in_txn runs in the
 * transaction, and it is answered as stored (sb->again). 0 when nothing
 * is held any more.
 */
int
dl_held_commit(struct delivery *d, struct dl_channel *c, struct dl_sub *group)
{
	uint8_t top_id[ENVELOPE_ID_LEN], id[ENVELOPE_ID_LEN];
	uint64_t top, first, last;
	struct store_head sh;
	int64_t *qids = NULL;
	size_t k = 0;
	int r;

	if (c->nheld == 0)
		return 0;
	first = c->held[0].seq;
	last = c->held[c->nheld - 1].seq;
	if ((r = store_highest(d->s, c->id, c->self, &top, top_id)) != 0)
		goto fail;
	if (top + 1 < first) {
		/* cannot be: the group's run began right after the store's
		 * chain, and a chain only grows; the seqs stay held */
		r = ERR_GAP;
		if (r != c->held_err)
			log_error("channel %s: our chain ends at seq %llu in "
			    "the store, before the messages %llu..%llu sent "
			    "before a failed commit: they stay held, nothing "
			    "new is sent until a restart", c->idhex,
			    (unsigned long long)top, (unsigned long long)first,
			    (unsigned long long)last);
		c->held_err = r;
		return r;
	}
	/* what recovery took back from the peer: the same messages */
	for (; k < c->nheld && c->held[k].seq <= top; k++) {
		uint8_t ours[1][ENVELOPE_ID_LEN];
		envelope_header_id(c->held[k].hdr, c->held[k].hlen, id);
		if ((r = store_ids_range(d->s, c->id, c->self,
		    c->held[k].seq - 1, 1, ours)) != 0)
			goto fail;
		if (sodium_memcmp(ours[0], id, sizeof id) != 0) {
			r = ERR_CHAIN;
			if (r != c->held_err)
				log_error("channel %s: seq %llu of our chain in "
				    "the store is not the message sent there "
				    "before a failed commit: the seqs stay "
				    "held, nothing new is sent until a restart",
				    c->idhex,
				    (unsigned long long)c->held[k].seq);
			c->held_err = r;
			return r;
		}
	}
	if (k < c->nheld) {
		if ((qids = calloc(c->nheld - k, sizeof *qids)) == NULL) {
			r = ERR_NOMEM;
			goto fail;
		}
		if ((r = held_write(d, c, k, group, qids, &sh)) != 0)
			goto fail;
		for (size_t j = k; j < c->nheld; j++) {
			struct dl_sub *sb = held_sub(d, c, group,
			    c->held[j].seq);
			if (sb != NULL) {
				sb->qid = qids[j - k];
				sb->again = true;
			}
		}
		c->assigned = last;
		c->head_seq = sh.seq;
		memcpy(c->head_id, sh.id, sizeof c->head_id);
		free(qids);
	}
	log_info("channel %s: our messages %llu..%llu, sent before a failed "
	    "commit, are in the store at their seqs%s", c->idhex,
	    (unsigned long long)first, (unsigned long long)last,
	    k == c->nheld ? " (taken back from the peer)" : "");
	dl_held_free(c);
	c->held_err = 0;
	if (c->rec != NULL && c->assigned >= recover_want(c->rec)) {
		/* the peer held no more of our chain than these */
		recover_free(c->rec);
		c->rec = NULL;
	}
	if (!c->synced && c->rec == NULL && c->active >= 0)
		dl_send_sync(d, c, true);	/* its SYNC: synced again */
	return 0;
fail:
	free(qids);
	if (r != c->held_err)
		log_warn("channel %s: cannot store our messages %llu..%llu, "
		    "sent before a failed commit: %s; nothing new is sent on "
		    "the channel until they are stored", c->idhex,
		    (unsigned long long)first, (unsigned long long)last,
		    r == ERR_FULL ? "store full" : err_str(r));
	c->held_err = r;
	return r;
}

/* Commits what was submitted since the last pump, then answers it. */
void
dl_subs_flush(struct delivery *d)
{
	bool touched[DELIVERY_MAX_CHANNELS] = { false };
	bool early[DELIVERY_MAX_CHANNELS] = { false };
	uint64_t assigned[DELIVERY_MAX_CHANNELS];
	size_t queued[DELIVERY_MAX_CHANNELS], flash[DELIVERY_MAX_CHANNELS];
	bool bulk[DELIVERY_MAX_CHANNELS];
	struct dl_sub *list = d->subs, *sb, *next;
	int r;

	if (list == NULL)
		return;
	d->subs = NULL;
	d->subs_tail = &d->subs;
	d->nsubs = 0;
	/* a failed group's messages first, so this group may go straight
	 * into the chain after them */
	for (size_t i = 0; i < d->nch; i++) {
		(void)dl_held_commit(d, d->ch[i], NULL);
		/* what a rollback takes back (no read of the store) */
		assigned[i] = d->ch[i]->assigned;
		queued[i] = d->ch[i]->queued;
		flash[i] = d->ch[i]->flash_queued;
		bulk[i] = d->ch[i]->bulk_queued;
	}
	if ((r = subs_commit(d, list, touched, early)) != 0) {
		log_warn("cannot queue %s: %s", list->next ? "messages" :
		    "a message", r == ERR_FULL ? "store full" : err_str(r));
		for (size_t i = 0; i < d->nch; i++) {
			struct dl_channel *c = d->ch[i];
			uint64_t sent = c->sent;
			if (touched[i]) {	/* as before the group */
				c->assigned = assigned[i];
				c->queued = queued[i];
				c->flash_queued = flash[i];
				c->bulk_queued = bulk[i];
			}
			if (c->sent > c->assigned)
				c->sent = c->assigned;
			/* seqs rolled back may be given again: no copy run
			 * goes on from them, nor a body in parts from where
			 * an early send of another stopped (c->part_seq) */
			dl_copy_runs_restart(c);
			c->part_seq = 0;
			if (!early[i])
				continue;
			/* Sent early, then not committed: the peer may
			 * hold what this store does not. What left is kept
			 * and committed again at its seqs, at once if the
			 * store takes it (then nothing is in doubt), else
			 * before anything new is assigned (dl_held_commit),
			 * so no other message ever takes those seqs. */
			if (held_take(d, i, list) != 0)
				log_error("channel %s: cannot keep the messages "
				    "sent before the failed commit (out of "
				    "memory): their seqs may be given again",
				    c->idhex);
			else if (dl_held_commit(d, c, list) == 0) {
				/* what the active path carried is not sent
				 * again, but for the last when its head did
				 * not go with it */
				c->sent = sent < c->assigned ? sent :
				    c->assigned;
				if (c->sent == c->assigned &&
				    c->head_early != c->assigned)
					c->sent--;
				continue;
			}
			/* Every session of the channel ends: the next
			 * SYNC tells what the peer holds (a path left up
			 * could be synced before the peer reads the
			 * records still in the other's socket); if the
			 * held copy is lost (a restart), the chain is
			 * taken back from the peer (recovery) before
			 * anything new is assigned. */
			if (d->io.drop == NULL)
				continue;
			log_warn("channel %s: the store failed after sending: "
			    "sessions ended; the peer's receipt decides what "
			    "was sent", c->idhex);
			for (unsigned p = 0; p < c->npaths; p++)
				if (c->up[p])
					d->io.drop(d->io.ctx, c->id, p,
					    "store failed after sending");
		}
	}
	for (sb = list; sb != NULL; sb = next) {
		next = sb->next;
		/* sent early, then rolled back: the peer may hold it, and
		 * this store too once it is stored again (dl_held_commit) */
		if (r != 0 && sb->r == 0 && !sb->again && early[sb->ch] &&
		    sb->seq != 0 && sb->seq <= d->ch[sb->ch]->sent_early)
			sb->r = ERR_DOUBT;
		if (r != 0 && sb->r == 0 && !sb->again)
			sb->r = r;
		if (sb->r != 0 || !sb->wait) {
			sb->done(sb->arg, sb->r, sb->qid);
			free(sb);
			continue;
		}
		sb->next = d->waits;
		d->waits = sb;
		d->nwaits++;
	}
	for (size_t i = 0; i < d->nch; i++)
		if (touched[i])
			waits_check(d, d->ch[i]);
}

/* The engine goes away: nobody's answer is left hanging. */
void
dl_subs_close(struct delivery *d)
{
	struct dl_sub *lists[2] = { d->subs, d->waits }, *sb, *next;

	d->subs = d->waits = NULL;
	for (size_t k = 0; k < 2; k++)
		for (sb = lists[k]; sb != NULL; sb = next) {
			next = sb->next;
			sb->done(sb->arg, ERR_CLOSED, sb->qid);
			free(sb);
		}
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
	(void)send_head(d, c, &h, c->copy_mask, true);
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
		r = assign(d, c, DELIVERY_WINDOW - (size_t)(c->assigned -
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
	wake(d);		/* more to do: yield to the loop first */
}
