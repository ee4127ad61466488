/*
 * delivery_recv.c: the receiving side of the delivery engine (delivery.h,
 * docs/delivery.md): the peer's MSG / MSG_PART / HEAD checked by the
 * verifier and its unsigned run stored at each head, refusals and alarms,
 * receipts of our chain (RECEIPT, SYNC), RUN and the fence's end.
 * delivery_record (delivery.c) dispatches the records here; the recovery
 * of our own chain after a restore is in delivery_recover.c, the sending
 * side in delivery_send.c.
 */
#include "msg/delivery.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "base/hex.h"
#include "base/log.h"
#include "msg/ack.h"
#include "msg/delivery_int.h"
#include "msg/recover.h"
#include "store/record.h"

/* --- receiving ---------------------------------------------------------- */

void
dl_refuse(struct delivery *d, struct dl_channel *c, unsigned path,
    const char *what, uint64_t seq, int code)
{
	c->refused++;
	log_warn("channel %s path %u: refused %s seq %llu from %s: %s",
	    c->idhex, path, what, (unsigned long long)seq, c->peer,
	    delivery_refusal_name(code));
	if (code == ERR_SIGNATURE || code == ERR_PARSE ||
	    code == ERR_NONCANONICAL || code == ERR_SALT) {
		dl_pend_drop(c);
		if (d->io.drop)
			d->io.drop(d->io.ctx, c->id, path,
			    delivery_refusal_name(code));
	}
}

/* The alert (io.alarm) of kind on c that lim let through: text, with
 * the number lim held back before (alert_limit_text; NULL: the alert of
 * those held back, alert_limit_due). */
static void
raise_limited(struct delivery *d, struct dl_channel *c,
    const struct alert_limit *lim, const char *kind, const char *text)
{
	char out[ALERT_LIMIT_OUT];

	if (d->io.alarm == NULL)
		return;
	alert_limit_text(lim, text, out, sizeof out);
	d->io.alarm(d->io.ctx, c->id, kind, out);
}

/* An ALARM of kind about channel c: logged, and raised as an alert
 * (io.alarm) at most once per ALERT_LIMIT_MS and limit lim (alert_limit:
 * one per chain for a fork, one for recovery); the next one in that
 * period is logged too, the rest counted, and their number raised when
 * the period ends (dl_alarm_due, from the tick) or with the next one.
 * evidence: the signed record, in hex. */
void
dl_alarm(struct delivery *d, struct dl_channel *c, struct alert_limit *lim,
    const char *kind, const char *what, const uint8_t *evidence, size_t n)
{
	char text[1024], line[1024 + 32], *hex;

	/* the signed record, in hex (a head or receipt: at most 400) */
	if ((hex = malloc(2 * n + 1)) != NULL)
		hex_encode(hex, evidence, n);
	snprintf(text, sizeof text, "%s; the signed record: %.800s", what,
	    hex != NULL ? hex : "(no memory to show it)");
	free(hex);
	snprintf(line, sizeof line, "channel %s: %s", c->idhex, text);
	if (!alert_limit(lim, dl_mono(d), line))
		return;
	raise_limited(d, c, lim, kind, text);
}

void
dl_alarm_due(struct delivery *d, struct dl_channel *c, uint64_t mono_ms)
{
	struct alert_limit *lims[] = { &c->alarm_limit[DL_ALARM_PEERS],
	    &c->alarm_limit[DL_ALARM_OURS], &c->rec_limit,
	    &c->rec_drop_limit };
	const char *kinds[] = { "chain-forked", "chain-forked",
	    "recovery-stalled", "recovery-abandoned" };

	for (size_t i = 0; i < sizeof lims / sizeof lims[0]; i++)
		if (alert_limit_due(lims[i], mono_ms))
			raise_limited(d, c, lims[i], kinds[i], NULL);
}

/*
 * A head at a seq we hold: a repeat (a FLASH copy's, a resend), answered
 * with our receipt again; unless it names another message there. Signed
 * by the peer, that is its chain forking: it signed two histories, and
 * this head with our stored one proves it (an ALARM, the head kept in the
 * alert as evidence; not stored, not receipted). Not signed by it: a
 * forged record (refused; the session ends). 0: a plain repeat.
 */
static int
head_repeat(struct delivery *d, struct dl_channel *c, unsigned path,
    const struct chain_head *h, const uint8_t *b, size_t n)
{
	uint8_t ours[1][ENVELOPE_ID_LEN];
	char what[256], a[17], o[17];
	int r;

	if (h->seq == c->v.seq)
		memcpy(ours[0], c->v.id, ENVELOPE_ID_LEN);
	else if ((r = store_ids_range(d->s, c->id, (uint8_t)(1 - c->self),
	    h->seq - 1, 1, ours)) != 0) {
		log_warn("channel %s: cannot check a repeated head from %s "
		    "against our seq %llu: %s", c->idhex, c->peer,
		    (unsigned long long)h->seq, store_errmsg(d->s));
		return 0;
	}
	if (sodium_memcmp(ours[0], h->id, ENVELOPE_ID_LEN) == 0)
		return 0;
	if (sodium_is_zero(ours[0], ENVELOPE_ID_LEN)) {
		/* no row there (never so: nothing is deleted) */
		log_warn("channel %s: a repeated head from %s names seq %llu, "
		    "which this store does not hold", c->idhex, c->peer,
		    (unsigned long long)h->seq);
		return 0;
	}
	if ((r = chain_head_verify(h, c->peer_pub)) != 0) {
		dl_refuse(d, c, path, "HEAD", h->seq, r);
		return r;
	}
	c->refused++;
	hex_encode(a, h->id, 8);
	hex_encode(o, ours[0], 8);
	snprintf(what, sizeof what, "%s signed another message at seq %llu "
	    "of its chain (%s) than the one this store holds there (%s): its "
	    "chain forks", c->peer, (unsigned long long)h->seq, a, o);
	dl_alarm(d, c, &c->alarm_limit[DL_ALARM_PEERS], "chain-forked", what,
	    b, n);
	return ERR_CHAIN;
}

/* A repeat: the same message again (ignored) or another one at a seq we
 * hold (refused). Only the stored id is read, never the body: a peer may
 * send a small header naming a seq whose stored body is 1 MiB, as often
 * as it likes. */
static bool
is_same_repeat(struct delivery *d, struct dl_channel *c,
    const struct envelope_header *h, const uint8_t *hdr, size_t hlen)
{
	uint8_t id[ENVELOPE_ID_LEN], ours[1][ENVELOPE_ID_LEN];

	envelope_header_id(hdr, hlen, id);
	if (h->seq > c->v.seq) {
		size_t k = (size_t)(h->seq - c->v.seq - 1);
		return k < c->npend && sodium_memcmp(c->pend[k].id, id,
		    sizeof id) == 0;
	}
	if (h->seq == c->v.seq)
		return sodium_memcmp(c->v.id, id, sizeof id) == 0;
	if (store_ids_range(d->s, c->id, (uint8_t)(1 - c->self), h->seq - 1,
	    1, ours) != 0)
		return false;
	return sodium_memcmp(ours[0], id, sizeof id) == 0;
}

static void
ask_resend(struct delivery *d, struct dl_channel *c)
{
	uint64_t now = dl_mono(d);

	if (now - c->gap_sync_ms < DELIVERY_GAP_SYNC_MS)
		return;
	c->gap_sync_ms = now;
	dl_send_sync(d, c, false);
}

/*
 * What a header of the peer names in our chain (docs/delivery.md,
 * "Receiver" 1): its peer_last, and an ACK's acknowledged message. A
 * reference this store does not hold is refused (what = the field);
 * unless our own chain lacks messages the peer may hold (taken back
 * after a restore, fenced after a crash, held after a failed commit):
 * then the message is not taken yet, not refused (the peer sends it
 * again). 0: found, *seq and *kind its place.
 */
static int
ref_find(struct delivery *d, struct dl_channel *c, unsigned path,
    const struct envelope_header *h, const char *what,
    const uint8_t ref[ENVELOPE_ID_LEN], uint64_t *seq, uint32_t *kind)
{
	char hex[2 * ENVELOPE_ID_LEN + 1];
	int r;

	if ((r = store_id_find(d->s, c->id, c->self, ref, seq, kind)) == 0)
		return 0;
	hex_encode(hex, ref, ENVELOPE_ID_LEN);
	if (r != ERR_NOT_FOUND)
		log_warn("channel %s: cannot look up the message that %s's seq "
		    "%llu names (%s %.16s): %s; not taken, it comes again",
		    c->idhex, c->peer, (unsigned long long)h->seq, what, hex,
		    store_errmsg(d->s));
	else if (c->rec != NULL || c->fence_seq != 0 || c->nheld != 0) {
		if (c->refs_wait == 0 || h->seq < c->refs_wait)
			c->refs_wait = h->seq;
		log_info("channel %s path %u: message seq %llu from %s not taken "
		    "yet: its %s names a message of our chain this store does "
		    "not hold yet (%.16s; ours is being taken back, fenced or "
		    "held)", c->idhex, path, (unsigned long long)h->seq,
		    c->peer, what, hex);
	} else {
		c->refused++;
		log_warn("channel %s path %u: refused message seq %llu from %s: "
		    "its %s names no message of our chain (%.16s)", c->idhex,
		    path, (unsigned long long)h->seq, c->peer, what, hex);
	}
	return r;
}

/*
 * The references of a message of the peer that the verifier took: its
 * peer_last is zeros or one of our messages; an ACK acknowledges one of
 * our messages, not an ACK, that no earlier message of the peer
 * acknowledges (stored, or in the unsigned run). `parley verify` names
 * anything else a fault of the record (docs/export.md 6), so it is not
 * stored. 0: it may be taken.
 */
static int
refs_check(struct delivery *d, struct dl_channel *c, unsigned path,
    const struct envelope_header *h, const uint8_t *body, size_t blen)
{
	static const uint8_t zero[ENVELOPE_ID_LEN];
	struct ack_body ack, other;
	struct ack_info info;
	uint64_t seq, first = 0;
	uint32_t kind;
	int r;

	if (sodium_memcmp(h->peer_last, zero, sizeof zero) != 0 &&
	    (r = ref_find(d, c, path, h, "peer_last", h->peer_last, &seq,
	    &kind)) != 0)
		return r;
	if (h->kind != ENVELOPE_ACK)
		return 0;
	if ((r = ack_body_decode(&ack, body, blen)) != 0)
		return r;		/* envelope_open checked it */
	if ((r = ref_find(d, c, path, h, "acknowledgment", ack.acked, &seq,
	    &kind)) != 0)
		return r;
	if (kind == ENVELOPE_ACK) {
		c->refused++;
		log_warn("channel %s path %u: refused message seq %llu from %s: "
		    "it acknowledges our seq %llu, an acknowledgment itself",
		    c->idhex, path, (unsigned long long)h->seq, c->peer,
		    (unsigned long long)seq);
		return ERR_INVALID;
	}
	for (size_t i = 0; i < c->npend && first == 0; i++)
		if (c->pend[i].h.kind == ENVELOPE_ACK &&
		    ack_body_decode(&other, c->pend[i].body,
		    c->pend[i].blen) == 0 &&
		    memcmp(other.acked, ack.acked, ENVELOPE_ID_LEN) == 0)
			first = c->pend[i].h.seq;
	if (first == 0) {
		if ((r = ack_lookup(d->s, c->id, c->self, ack.acked, &info))
		    != 0) {
			log_warn("channel %s: cannot look up the acknowledgments "
			    "of our seq %llu: %s; seq %llu of %s not taken, it "
			    "comes again", c->idhex, (unsigned long long)seq,
			    store_errmsg(d->s), (unsigned long long)h->seq,
			    c->peer);
			return r;
		}
		if (!info.found)
			return 0;
		if (store_id_find(d->s, c->id, (uint8_t)(1 - c->self), info.id,
		    &first, &kind) != 0)
			first = 0;
	}
	c->refused++;
	log_warn("channel %s path %u: refused message seq %llu from %s: it "
	    "acknowledges our seq %llu a second time (first at its seq %llu)",
	    c->idhex, path, (unsigned long long)h->seq, c->peer,
	    (unsigned long long)seq, (unsigned long long)first);
	return ERR_EXISTS;
}

/* One whole message (header and body) from the peer. */
static void
on_message(struct delivery *d, struct dl_channel *c, unsigned path,
    const uint8_t *hdr, size_t hlen, const uint8_t *salt, const uint8_t *body,
    size_t blen)
{
	struct envelope_header h;
	uint8_t id[ENVELOPE_ID_LEN];
	struct dl_pend *p;
	int r;

	memset(&h, 0, sizeof h);	/* seq 0 when the header gives none */
	r = chain_accept_message(&c->v, hdr, hlen, salt, body, blen, &h, id);
	if (r == ERR_REPLAY && is_same_repeat(d, c, &h, hdr, hlen))
		return;
	if (r == ERR_REPLAY)
		r = ERR_EXISTS;
	if (r == ERR_GAP && c->refs_wait != 0 && h.seq > c->refs_wait) {
		log_debug("channel %s path %u: message seq %llu from %s not "
		    "taken: it follows seq %llu, not taken yet", c->idhex, path,
		    (unsigned long long)h.seq, c->peer,
		    (unsigned long long)c->refs_wait);
		return;
	}
	if (r != 0) {
		dl_refuse(d, c, path, "message", r == ERR_PARSE ||
		    r == ERR_NONCANONICAL || r == ERR_TOO_BIG ||
		    r == ERR_VERSION || r == ERR_KIND ? 0 : h.seq, r);
		if (r == ERR_GAP)
			ask_resend(d, c);
		return;
	}
	if (refs_check(d, c, path, &h, body, blen) != 0) {
		chain_verifier_pop(&c->v);	/* not taken */
		return;
	}
	if (h.seq >= c->refs_wait)
		c->refs_wait = 0;		/* it came again and is taken */
	p = &c->pend[c->npend];
	memcpy(p->hdr, hdr, hlen);
	p->hlen = hlen;
	p->salted = salt != NULL;
	if (salt != NULL)
		memcpy(p->salt, salt, sizeof p->salt);
	p->h = h;
	memcpy(p->id, id, sizeof id);
	p->blen = blen;
	if ((p->body = malloc(blen ? blen : 1)) == NULL) {
		chain_verifier_drop(&c->v);
		dl_pend_drop(c);
		return;
	}
	memcpy(p->body, body, blen);
	c->npend++;
}

void
dl_on_msg(struct delivery *d, struct dl_channel *c, unsigned path,
    const uint8_t *b, size_t n)
{
	struct dl_field f[2] = { { .kind = 'b' }, { .kind = 'b' } };
	const uint8_t *salt;
	int r;

	if ((r = dl_record_decode_salted(b, n, f, 2, &salt)) != 0 ||
	    f[0].n > ENVELOPE_HEADER_MAX)
		dl_refuse(d, c, path, "MSG", 0, r ? r : ERR_PARSE);
	else
		on_message(d, c, path, f[0].p, f[0].n, salt, f[1].p, f[1].n);
}

/* Whether a part's salt (NULL: none) is the one of the body being
 * assembled: every part of a body carries the same, as the same header. */
static bool
same_salt(const struct dl_channel *c, const uint8_t *salt)
{
	if (salt == NULL || !c->asm_salted)
		return salt == NULL && !c->asm_salted;
	return memcmp(salt, c->asm_salt, sizeof c->asm_salt) == 0;
}

/*
 * Whether a part is a repeat, dropped without a word: after the active
 * path changed, or a resend, the same message may come on two paths at
 * once (the old path's queue still carries it), its parts interleaved.
 * A part of the body being assembled that is already in it, or of a
 * message already taken (the same id at its seq), is one. A part of
 * another message at a seq already taken is refused (ERR_EXISTS, as the
 * whole message would be); *refused says so.
 */
static bool
part_repeat(struct delivery *d, struct dl_channel *c, unsigned path,
    const struct dl_field *f, const uint8_t *salt, bool *refused)
{
	struct envelope_header h;

	*refused = false;
	if (c->asm_body != NULL && f[0].n == c->asm_hlen &&
	    memcmp(f[0].p, c->asm_hdr, f[0].n) == 0 && same_salt(c, salt))
		return f[1].u < c->asm_len;
	if (envelope_header_decode(&h, f[0].p, f[0].n) != 0 ||
	    h.seq > c->v.seq + c->npend)
		return false;		/* not taken yet: part_take decides */
	if (is_same_repeat(d, c, &h, f[0].p, f[0].n))
		return true;
	dl_refuse(d, c, path, "MSG_PART", h.seq, ERR_EXISTS);
	*refused = true;
	return true;
}

static void
part_take(struct delivery *d, struct dl_channel *c, unsigned path,
    const struct dl_field *f, const uint8_t *salt)
{
	struct envelope_header h;
	bool refused;
	int r;

	if (part_repeat(d, c, path, f, salt, &refused)) {
		if (!refused)
			log_debug("channel %s path %u: a part (offset %llu) "
			    "from %s taken already: dropped", c->idhex, path,
			    (unsigned long long)f[1].u, c->peer);
		return;
	}
	if (f[1].u == 0) {
		free(c->asm_body);
		c->asm_body = NULL;
		c->asm_len = 0;
		if ((r = envelope_header_decode(&h, f[0].p, f[0].n)) != 0) {
			dl_refuse(d, c, path, "MSG_PART", 0, r);
			return;
		}
		if ((c->asm_body = malloc(h.body_len ? h.body_len : 1)) ==
		    NULL)
			return;
		memcpy(c->asm_hdr, f[0].p, f[0].n);
		c->asm_hlen = f[0].n;
		c->asm_want = h.body_len;
		c->asm_salted = salt != NULL;
		if (salt != NULL)
			memcpy(c->asm_salt, salt, sizeof c->asm_salt);
	} else if (c->asm_body == NULL || f[1].u != c->asm_len ||
	    f[0].n != c->asm_hlen || memcmp(f[0].p, c->asm_hdr, f[0].n) != 0 ||
	    !same_salt(c, salt)) {
		/* A part out of place: the sender starts the body again. */
		dl_refuse(d, c, path, "MSG_PART out of order", 0, ERR_GAP);
		return;
	}
	if (f[2].n > c->asm_want - c->asm_len) {
		dl_refuse(d, c, path, "MSG_PART", 0, ERR_TOO_BIG);
		free(c->asm_body);
		c->asm_body = NULL;
		return;
	}
	memcpy(c->asm_body + c->asm_len, f[2].p, f[2].n);
	c->asm_len += f[2].n;
	if (c->asm_len == c->asm_want) {
		on_message(d, c, path, c->asm_hdr, c->asm_hlen,
		    c->asm_salted ? c->asm_salt : NULL, c->asm_body,
		    c->asm_len);
		free(c->asm_body);
		c->asm_body = NULL;
		c->asm_len = 0;
	}
}

void
dl_on_part(struct delivery *d, struct dl_channel *c, unsigned path,
    const uint8_t *b, size_t n)
{
	struct dl_field f[3] = { { .kind = 'b' }, { .kind = 'u' },
	    { .kind = 'b' } };
	const uint8_t *salt;
	int r;

	if ((r = dl_record_decode_salted(b, n, f, 3, &salt)) != 0 ||
	    f[0].n > ENVELOPE_HEADER_MAX)
		dl_refuse(d, c, path, "MSG_PART", 0, r ? r : ERR_PARSE);
	else
		part_take(d, c, path, f, salt);
}

/* A head: the covered run is stored in one transaction, then receipted. */
void
dl_on_head(struct delivery *d, struct dl_channel *c, unsigned path,
    const uint8_t *b, size_t n)
{
	struct store_in in[CHAIN_RUN_MAX];
	struct chain_head h;
	struct store_head sh;
	struct dl_receipt_ahead ahead;
	uint8_t v_id[ENVELOPE_ID_LEN];
	uint64_t v_seq = c->v.seq;
	size_t acc = 0, added;
	int r;

	if ((r = chain_head_decode(&h, b, n)) != 0) {
		dl_refuse(d, c, path, "HEAD", 0, r);
		return;
	}
	memcpy(v_id, c->v.id, sizeof v_id);	/* where the store ends */
	r = chain_accept_head(&c->v, &h, &acc);
	if (r == ERR_REPLAY) {
		if (head_repeat(d, c, path, &h, b, n) == 0)
			dl_send_receipt_on(d, c, path, NULL); /* again */
		return;
	}
	if (r == ERR_GAP && c->refs_wait != 0 && h.seq >= c->refs_wait) {
		log_debug("channel %s path %u: head seq %llu from %s not taken: "
		    "seq %llu is not taken yet", c->idhex, path,
		    (unsigned long long)h.seq, c->peer,
		    (unsigned long long)c->refs_wait);
		return;
	}
	if (r != 0) {
		dl_refuse(d, c, path, "HEAD", h.seq, r);
		return;
	}
	for (size_t i = 0; i < acc; i++)
		chain_store_in(&in[i], &c->pend[i].h, c->pend[i].hdr,
		    c->pend[i].hlen, c->pend[i].salted ? c->pend[i].salt :
		    NULL, c->pend[i].body, c->pend[i].blen, c->pend[i].id);
	chain_head_to_store(&sh, &h);
	/* Our receipt is signed while the disk takes the run (the verifier
	 * already holds its end); it leaves only once the run is stored. */
	ahead.d = d;
	ahead.c = c;
	ahead.made = false;
	store_during_sync(dl_receipt_ahead, &ahead);
	r = store_received_put(d->s, c->id, (uint8_t)(1 - c->self), in, acc,
	    &sh, dl_now(d), &added);
	store_during_sync(NULL, NULL);
	if (r != 0) {
		/* Nothing stored: start over from what the store holds. */
		log_warn("channel %s: cannot store %zu messages from %s: %s",
		    c->idhex, acc, c->peer, r == ERR_FULL ? "store full" :
		    err_str(r));
		/* the verifier back where the store ends, even if the
		 * reload cannot read it: a receipt never names the run */
		dl_pend_drop(c);
		chain_verifier_init(&c->v, c->id, (uint8_t)(1 - c->self),
		    c->peer_pub, v_seq, v_id);
		(void)dl_channel_reload(d, c);
		return;
	}
	for (size_t i = 0; i < acc; i++)
		free(c->pend[i].body);
	memmove(c->pend, c->pend + acc, (c->npend - acc) * sizeof c->pend[0]);
	c->npend -= acc;
	dl_send_receipt_on(d, c, path, &ahead);
}

/* A receipt of our chain (RECEIPT, or inside a SYNC): verified, stored
 * when it says more than the last. */
int
dl_take_receipt(struct delivery *d, struct dl_channel *c, unsigned path,
    const uint8_t *b, size_t n, const char *what, uint64_t *seq,
    uint64_t *signed_ms)
{
	struct chain_receipt rc;
	uint8_t held_id[ENVELOPE_ID_LEN];
	bool held = false;
	int r;

	if ((r = chain_receipt_decode(&rc, b, n)) != 0) {
		dl_refuse(d, c, path, what, 0, r);
		return r;
	}
	if (memcmp(rc.channel, c->id, sizeof c->id) != 0 ||
	    rc.receiver != 1 - c->self) {
		dl_refuse(d, c, path, what, rc.seq, ERR_FOREIGN);
		return ERR_FOREIGN;
	}
	if ((r = chain_receipt_verify(&rc, c->peer_pub)) != 0) {
		dl_refuse(d, c, path, what, rc.seq, r);
		return r;
	}
	/* what a failed group sent is stored again first: the receipt may
	 * name it; while it cannot be, a receipt of it is checked against
	 * the held copy and waits (no recovery: the store is what fails) */
	(void)dl_held_commit(d, c, NULL);
	if (rc.seq > c->assigned && c->nheld != 0 &&
	    rc.seq >= c->held[0].seq && rc.seq <= c->held[c->nheld - 1].seq) {
		const struct dl_held *m = &c->held[rc.seq - c->held[0].seq];
		envelope_header_id(m->hdr, m->hlen, held_id);
		held = true;
	}
	if (rc.seq > c->assigned && !held) {
		/* the peer holds more of our chain than we do (restored from
		 * a backup): take it back before anything new; its signed
		 * claim is kept as the evidence of a stall */
		bool newest = c->rec == NULL || rc.time_ms >= c->rec_claim_ms;
		uint64_t want = rc.seq;
		/* one signed before the claim we work to (come late on
		 * another path) never lowers it: the peer took more of our
		 * chain since (a dead run's records), and stopping short
		 * would give those seqs to new messages; one signed after it
		 * that holds less is the peer's word, as one within our
		 * store is (dl_on_sync), and an ALARM like it */
		if (!newest && recover_want(c->rec) > want)
			want = recover_want(c->rec);
		if (newest && c->rec != NULL && want < recover_want(c->rec))
			dl_recovery_abandoned(d, c, want, b, n);
		if (n <= sizeof c->rec_claim && newest) {
			memcpy(c->rec_claim, b, n);
			c->rec_claim_len = n;
			c->rec_claim_ms = rc.time_ms;
		}
		c->synced = false;	/* nothing new until then */
		dl_recover_start(d, c, path, want);
		return ERR_AGAIN;
	}
	*seq = rc.seq;
	if (signed_ms != NULL)
		*signed_ms = rc.time_ms;
	/* It must name our header at its seq, a repeat too: a receipt of
	 * another message there means the chains have forked (not counted;
	 * the alarm keeps the signed receipt as evidence). */
	if (rc.seq > 0) {
		uint8_t ours[1][ENVELOPE_ID_LEN];
		if (held)
			memcpy(ours[0], held_id, ENVELOPE_ID_LEN);
		else if (rc.seq == c->head_seq)
			memcpy(ours[0], c->head_id, ENVELOPE_ID_LEN);
		else if ((r = store_ids_range(d->s, c->id, c->self,
		    rc.seq - 1, 1, ours)) != 0) {
			log_warn("channel %s: cannot check the %s from %s "
			    "against our seq %llu: %s", c->idhex, what,
			    c->peer, (unsigned long long)rc.seq,
			    store_errmsg(d->s));
			return r;
		}
		if (sodium_memcmp(ours[0], rc.id, ENVELOPE_ID_LEN) != 0) {
			char text[256];
			snprintf(text, sizeof text, "the %s from %s names "
			    "another message at seq %llu than our chain "
			    "holds: the chains diverge; not counted", what,
			    c->peer, (unsigned long long)rc.seq);
			c->refused++;
			dl_alarm(d, c, &c->alarm_limit[DL_ALARM_OURS],
			    "chain-forked", text, b, n);
			return ERR_CHAIN;
		}
	}
	if (held) {
		/* ours once stored: the SYNC after that settles it */
		c->synced = false;
		return ERR_AGAIN;
	}
	if (rc.seq > c->peer_holds) {
		/* progress too after the peer went back to a backup (its
		 * SYNC lowered peer_holds below c->receipted) */
		c->peer_holds = rc.seq;
		c->progress_ms = dl_mono(d);
	}
	if (rc.seq <= c->receipted)
		return 0;
	/* Waiters are answered before our copy of the receipt is stored:
	 * the peer's signature says it holds the messages durably (our copy
	 * can be had again: its next SYNC carries it). */
	if (d->waits)
		dl_waits_check_at(d, c, rc.seq);
	chain_receipt_to_store(&c->rc_pend, &rc);
	c->rc_pending = true;
	c->receipted = rc.seq;
	c->progress_ms = dl_mono(d);
	return 0;
}

/* --- the peer's runs (delivery_set_run) ------------------------------ */

/* We end path's session: nothing more of it is taken (path_run
 * UINT64_MAX until the path's next session). */
static void
end_session(struct delivery *d, struct dl_channel *c, unsigned path,
    const char *why)
{
	c->path_run[path] = UINT64_MAX;
	if (d->io.drop)
		d->io.drop(d->io.ctx, c->id, path, why);
}

bool
dl_run_current(struct delivery *d, struct dl_channel *c, unsigned path)
{
	if (c->path_run[path] == UINT64_MAX)
		return false;		/* being ended */
	if (c->path_run[path] == 0) {
		/* a peer sends its RUN first on every session: this one's
		 * is still to come (what a replaced session had in flight
		 * went with it), and nothing is taken before it; a node of
		 * records version 1 sends none: said once per session */
		if (!c->pre_run_said[path]) {
			c->pre_run_said[path] = true;
			log_warn("channel %s path %u: %s sends records before its "
			    "RUN: ignored, nothing is taken on this session "
			    "(does it run records version 1? both sides need "
			    "version %d)", c->idhex, path, c->peer,
			    DELIVERY_VERSION);
		} else
			log_debug("channel %s path %u: a record from %s before "
			    "its RUN ignored", c->idhex, path, c->peer);
		return false;
	}
	if (c->path_run[path] != c->peer_run) {
		log_debug("channel %s path %u: a record of %s's run %llu "
		    "ignored (its newest is %llu)", c->idhex, path, c->peer,
		    (unsigned long long)c->path_run[path],
		    (unsigned long long)c->peer_run);
		return false;
	}
	c->peer_run_heard_ms = dl_mono(d);
	return true;
}

/*
 * RUN: the first record of every session, the peer's run. A run above
 * its newest is a new start of the peer: its sessions of the earlier run
 * end here and now, and what they brought without a head goes, so that
 * nothing of the earlier run is taken after this point; every SYNC we
 * send from now on names the new run, which tells the peer so. A run
 * below its newest is a session of an earlier run (its records were on
 * their way, on a slow path): ended, nothing of it taken; unless nothing
 * of the newest came for the channel's silence limit and none of its
 * sessions is up (the peer's clock and HOME/run went back): then it is
 * taken as the newest, except on a session that was up before a higher
 * run was heard (path_floor).
 */
void
dl_on_run(struct delivery *d, struct dl_channel *c, unsigned path,
    const uint8_t *b, size_t n)
{
	struct dl_field f[2] = { { .kind = 'u' }, { .kind = 'u' } };
	uint64_t now = dl_mono(d), run, old = c->peer_run;
	bool newest_up = false;
	int r;

	if (c->path_run[path] == UINT64_MAX)
		return;			/* being ended */
	if ((r = dl_record_decode(b, n, f, 2)) != 0) {
		dl_refuse(d, c, path, "RUN", 0, r);	/* the session ends */
		c->path_run[path] = UINT64_MAX;
		return;
	}
	if (f[1].u == 0 || f[1].u == UINT64_MAX) {
		c->refused++;
		log_warn("channel %s path %u: refused RUN from %s: run %llu is "
		    "out of range (1 .. 2^64 - 2): the session ends", c->idhex,
		    path, c->peer, (unsigned long long)f[1].u);
		end_session(d, c, path, "a RUN out of range");
		return;
	}
	if (f[0].u != DELIVERY_VERSION) {
		dl_refuse(d, c, path, "RUN", 0, ERR_VERSION);
		end_session(d, c, path, "unsupported records version");
		return;
	}
	run = f[1].u;
	if (c->path_run[path] != 0) {	/* a second RUN on one session */
		if (run != c->path_run[path]) {
			c->refused++;
			log_warn("channel %s path %u: refused a second RUN from "
			    "%s naming another run (%llu, the session's is "
			    "%llu): the session ends", c->idhex, path, c->peer,
			    (unsigned long long)run,
			    (unsigned long long)c->path_run[path]);
			end_session(d, c, path, "a second RUN");
		}
		return;
	}
	/* the silence limit is for a peer whose clock and HOME/run went
	 * back, its newest run dead: not while a session of the newest is
	 * up (an idle channel sends no record), nor on a session that was
	 * up before a higher run was heard (the dead run's, its RUN slow) */
	for (unsigned q = 0; q < c->npaths; q++)
		if (q != path && c->up[q] && old != 0 && c->path_run[q] == old)
			newest_up = true;
	/* the silence on the monotonic clock: a wall clock stepped either
	 * way makes none */
	if (run < old && (now - c->peer_run_heard_ms < c->dead_ms ||
	    newest_up ||
	    run < c->path_floor[path])) {
		log_info("channel %s path %u: a session of an earlier run of %s "
		    "(%llu; its newest is %llu): ended, nothing of it taken",
		    c->idhex, path, c->peer, (unsigned long long)run,
		    (unsigned long long)old);
		end_session(d, c, path, "a session of the peer's earlier run");
		return;
	}
	c->path_run[path] = run;
	c->peer_run_heard_ms = now;
	if (run == old)
		return;
	if (run < old)
		log_warn("channel %s: %s announces run %llu, below its last "
		    "(%llu), of which nothing came for %llu s: taken as its "
		    "newest (did its clock and HOME/run go back?)", c->idhex,
		    c->peer, (unsigned long long)run, (unsigned long long)old,
		    (unsigned long long)(c->dead_ms / 1000));
	else if (old != 0)
		log_info("channel %s: %s started again (run %llu): its sessions "
		    "of the last run end, and nothing more of them is taken",
		    c->idhex, c->peer, (unsigned long long)run);
	c->peer_run = run;
	if (old != 0)
		dl_pend_drop(c);	/* what the last run sent unheaded */
	/* a session still awaiting its RUN: of this run, or of an earlier
	 * one (its RUN slow), then ended when it comes */
	for (unsigned q = 0; q < c->npaths; q++)
		if (q != path && c->up[q] && c->path_run[q] == 0 &&
		    c->path_floor[q] < run)
			c->path_floor[q] = run;
	/* the highest path first, as a drop may move the active path */
	for (unsigned q = c->npaths; q-- > 0;)
		if (q != path && c->up[q] && c->path_run[q] != 0 &&
		    c->path_run[q] != UINT64_MAX && c->path_run[q] != run)
			end_session(d, c, q, "a session of the peer's earlier "
			    "run");
}

/*
 * A SYNC of the peer naming this run (heard_run) was signed after it
 * heard this run, so after it ended every session of the last one: what
 * it holds of the last run is named in it (seq; taken back when past our
 * store, Recovery), and nothing more of it can reach the peer: the fence
 * after a crash ends, whether or not a recovery follows.
 */
static void
fence_heard(struct dl_channel *c, bool heard_run, uint64_t seq)
{
	if (c->fence_seq == 0 || !heard_run)
		return;
	log_info("channel %s: %s has heard this run and holds our chain up "
	    "to seq %llu: nothing more of the last run can reach it, so the "
	    "fence after the crash ends", c->idhex, c->peer,
	    (unsigned long long)seq);
	c->fence_seq = 0;
}

void
dl_on_sync(struct delivery *d, struct dl_channel *c, unsigned path,
    const uint8_t *b, size_t n)
{
	struct dl_field f[4] = { { .kind = 'u' }, { .kind = 'b' },
	    { .kind = 't' }, { .kind = 'u' } };
	uint64_t seq, signed_ms = 0;
	int r;

	if ((r = dl_record_decode(b, n, f, 4)) != 0)
		dl_refuse(d, c, path, "SYNC", 0, r);
	else if (f[0].u != DELIVERY_VERSION) {
		dl_refuse(d, c, path, "SYNC", 0, ERR_VERSION);
		r = ERR_VERSION;
	} else
		r = dl_take_receipt(d, c, path, f[1].p, f[1].n, "SYNC", &seq,
		    &signed_ms);
	if (r == ERR_AGAIN && c->rec != NULL)	/* past our store: asked
						 * back, nothing new meanwhile */
		fence_heard(c, f[3].u == d->run, recover_want(c->rec));
	if (r != 0)
		return;
	if (c->rec != NULL && signed_ms < c->rec_claim_ms) {
		/* signed before its claim (a SYNC that came late on another
		 * path): not its current word */
		log_info("channel %s: a SYNC from %s signed before its claim "
		    "on our chain: not taken", c->idhex, c->peer);
		return;
	}
	if (c->rec != NULL) {
		/* its current word, signed after its claim: it holds no more
		 * of our chain than this store (it too went back to a backup,
		 * or its claim was false) */
		log_info("channel %s: %s now holds our chain up to seq %llu, "
		    "no further than this store: no longer taking it back",
		    c->idhex, c->peer, (unsigned long long)seq);
		dl_recovery_abandoned(d, c, seq, f[1].p, f[1].n);
		recover_free(c->rec);
		c->rec = NULL;
	}
	c->synced = true;
	c->sent = seq;
	c->part_seq = 0;	/* all of it again, from its first part */
	c->peer_holds = seq;	/* lower after the peer restored a backup */
	dl_copy_runs_restart(c);	/* the resend copies again */
	c->unsigned_n = c->unsigned_bytes = 0;
	c->progress_ms = dl_mono(d);
	fence_heard(c, f[3].u == d->run, seq);
	if (f[2].u)
		dl_send_sync(d, c, false);
	dl_pump_channel(d, c);
}
