/*
 * delivery_held.c: what a group that failed after its early send had sent
 * (docs/delivery.md, "Early send"): the messages are held in memory at
 * their seqs, stored again at the first chance, and nothing new is
 * assigned on the channel meanwhile.
 */
#include "msg/delivery.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "msg/delivery_int.h"
#include "msg/recover.h"
#include "store/record.h"

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
int
dl_held_take(struct delivery *d, size_t i, struct dl_sub *list)
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
		h->salted = sb->salted;
		memcpy(h->salt, sb->salt, sizeof h->salt);
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
		chain_store_in(&in[j], &h, m->hdr, m->hlen,
		    m->salted ? m->salt : NULL, m->body, m->blen, id);
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
