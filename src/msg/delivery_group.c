/*
 * delivery_group.c: the group commit of the delivery engine (delivery.h,
 * docs/delivery.md "Group commit"): the messages submitted in one turn of
 * the loop are queued, assigned and signed in one transaction, sent early
 * (just before the commit) when they go straight into the chain, and
 * answered after it in request order; the waiters answered at the peer's
 * receipt. What a group that failed had sent is kept by delivery_held.c.
 */
#include "msg/delivery.h"

#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "msg/delivery_int.h"

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
	dl_wake(d);
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
    size_t *len, uint8_t id[STORE_ID_LEN], uint8_t salt[STORE_SALT_LEN],
    bool *salted)
{
	struct dl_sub *sb = dr->tag;
	int r;

	(void)arg;
	if ((r = chain_store_build(NULL, dr, hdr, cap, len, id, salt,
	    salted)) != 0)
		return r;
	if (*len > sizeof sb->hdr)
		return ERR_TOO_BIG;
	memcpy(sb->hdr, hdr, *len);
	sb->hlen = *len;
	sb->salted = *salted;
	memcpy(sb->salt, salt, sizeof sb->salt);
	return 0;
}

/*
 * Channel i's n submissions (in v, FLASH first, oldest first within a
 * precedence: what dl_assign() would do) queued and assigned in one write
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
 * alone, at most DELIVERY_BATCH_BYTES of it of one precedence (as dl_assign()
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
 * The early send's FLASH copies (dl_copy_paths): each path that took copies
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
				(void)dl_send_head(d, c, h, mask, true);
			continue;
		}
		memset(&x, 0, sizeof x);
		memcpy(x.channel, c->id, sizeof x.channel);
		x.sender = c->self;
		x.seq = last[p]->seq;
		envelope_header_id(last[p]->hdr, last[p]->hlen, x.id);
		if ((r = chain_head_sign(&x, d->k)) != 0)
			return r;
		(void)dl_send_head(d, c, &x, mask, true);
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
 * FLASH also goes as a copy on the other live paths (dl_copy_paths), with
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
				m.salted = sb->salted;
				memcpy(m.body_salt, sb->salt, sizeof m.body_salt);
				m.body = sb->body;
				m.body_len = sb->len;
				r = dl_send_msg(d, c, &m, dl_copy_paths(c,
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
			if (dl_send_head(d, c, &h, copies, false) == 0) {
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
		if ((r = dl_assign(d, d->ch[i], room)) != 0 && r != ERR_NOT_FOUND)
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
			if (dl_held_take(d, i, list) != 0)
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
