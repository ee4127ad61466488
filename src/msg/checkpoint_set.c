/*
 * checkpoint_set.c: the daemon's glue of checkpoints (checkpoint.h, "The
 * daemon's glue"): one engine per channel of the delivery engine, records
 * in and out through it (proposals when due, answers), held co-signed ones
 * tried again at each tick, what each record did logged and its alarms
 * raised as alerts at a bounded rate, the peer's own checkpoints given back
 * at its RECOVER, and the watch of free disk space. The engine and the
 * record are checkpoint.c's.
 */
#include "msg/checkpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "base/clock.h"
#include "base/hex.h"
#include "base/log.h"
#include "crypto/agreement.h"
#include "msg/alert.h"
#include "msg/checkpoint_int.h"
#include "msg/delivery.h"
#include "msg/recover.h"
#include "store/record.h"

struct checkpoint_set {
	struct alerter *alerts;			/* borrowed; NULL: log only */
	const char *home;			/* disk watch; NULL: off */
	uint64_t disk_min, disk_free;
	uint64_t disk_ms;			/* last checked (monotonic) */
	bool disk_checked;			/* ... once at least */
	bool disk_low;
	struct delivery *dl;
	struct delivery_io io;
	size_t n;
	struct checkpoint_engine e[DELIVERY_MAX_CHANNELS];
	uint8_t buf[CHECKPOINT_REC_MAX];
};

/* The set's monotonic clock: io's, or the system's. */
static uint64_t
set_mono(const struct checkpoint_set *cs)
{
	return cs->io.mono_ms != NULL ? cs->io.mono_ms(cs->io.ctx) :
	    clock_mono_ms();
}

int
checkpoint_set_new(struct delivery *dl, const struct keys *k,
    const struct agreement *ags, size_t n, const struct delivery_io *io,
    uint64_t every, uint64_t interval_ms, struct checkpoint_set **out)
{
	struct checkpoint_set *cs;
	uint8_t pub[2][KEYS_PUB_LEN];
	uint64_t mono;

	if ((cs = calloc(1, sizeof *cs)) == NULL)
		return ERR_NOMEM;
	cs->dl = dl;
	cs->io = *io;
	mono = set_mono(cs);
	for (size_t i = 0; i < n && cs->n < DELIVERY_MAX_CHANNELS; i++) {
		int self = -1;
		for (int j = 0; j < 2; j++) {
			memcpy(pub[j], ags[i].party[j].sign_pub, KEYS_PUB_LEN);
			if (memcmp(pub[j], k->id.sign_pub, KEYS_PUB_LEN) == 0)
				self = j;
		}
		if (self < 0)
			continue;
		checkpoint_init(&cs->e[cs->n++], delivery_store(dl), k,
		    ags[i].id, (uint8_t)self,
		    (const uint8_t (*)[KEYS_PUB_LEN])pub, every, interval_ms,
		    mono);
	}
	*out = cs;
	return 0;
}

static void raise_alarm(struct checkpoint_set *cs,
    struct checkpoint_engine *e, unsigned kind, const char *text,
    uint64_t now_ms);

void
checkpoint_set_free(struct checkpoint_set *cs)
{
	if (cs == NULL)
		return;
	for (size_t i = 0; i < cs->n; i++) {
		/* alarms held back: raised now, not lost with the stop */
		for (unsigned kind = 0; kind < 2; kind++)
			if (alert_limit_due(&cs->e[i].alert_limit[kind],
			    ALERT_LIMIT_END))
				raise_alarm(cs, &cs->e[i], kind, NULL,
				    clock_wall_ms());
		checkpoint_fini(&cs->e[i]);
	}
	free(cs);
}

/* The index of channel's engine in cs->e, cs->n when none. */
static size_t
engine_index(const struct checkpoint_set *cs, const uint8_t *ch)
{
	size_t i;

	for (i = 0; i < cs->n; i++)
		if (memcmp(cs->e[i].channel, ch, ENVELOPE_ID_LEN) == 0)
			break;
	return i;
}

static struct checkpoint_engine *
engine_of(struct checkpoint_set *cs, const uint8_t *ch)
{
	size_t i = engine_index(cs, ch);

	return i < cs->n ? &cs->e[i] : NULL;
}

const struct checkpoint_engine *
checkpoint_set_engine(const struct checkpoint_set *cs,
    const uint8_t channel[ENVELOPE_ID_LEN])
{
	size_t i = engine_index(cs, channel);

	return i < cs->n ? &cs->e[i] : NULL;
}

void
checkpoint_set_alerter(struct checkpoint_set *cs, struct alerter *a)
{
	if (cs != NULL)
		cs->alerts = a;
}

void
checkpoint_set_watch_disk(struct checkpoint_set *cs, const char *home,
    uint64_t min_bytes)
{
	if (cs == NULL)
		return;
	cs->home = home;
	cs->disk_min = min_bytes ? min_bytes : CHECKPOINT_DISK_MIN;
	cs->disk_checked = false;
}

/* Paced on the monotonic clock (mono_ms); the alert is raised at now_ms
 * (the wall clock). */
static void
watch_disk(struct checkpoint_set *cs, uint64_t now_ms, uint64_t mono_ms)
{
	struct statvfs sv;
	bool low;

	if (cs->home == NULL || (cs->disk_checked &&
	    mono_ms - cs->disk_ms < CHECKPOINT_DISK_CHECK_MS))
		return;
	cs->disk_ms = mono_ms;
	cs->disk_checked = true;
	if (statvfs(cs->home, &sv) != 0)
		return;
	cs->disk_free = (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
	low = cs->disk_free < cs->disk_min;
	if (low && !cs->disk_low) {
		char text[256], key[64];
		snprintf(text, sizeof text, "free space on the filesystem of "
		    "the node home is low: %llu MiB (threshold %llu MiB, "
		    "disk_free_min_mb)",
		    (unsigned long long)(cs->disk_free >> 20),
		    (unsigned long long)(cs->disk_min >> 20));
		log_warn("%s (%s): the store will refuse messages when the "
		    "disk is full", text, cs->home);
		snprintf(key, sizeof key, "disk-low-%llu",
		    (unsigned long long)now_ms);
		(void)alert_raise_text(cs->alerts, "disk-low", key, NULL, text,
		    now_ms);
	}
	else if (!low && cs->disk_low)
		log_info("free space on the filesystem of %s is back above "
		    "the threshold: %llu MiB", cs->home,
		    (unsigned long long)(cs->disk_free >> 20));
	cs->disk_low = low;
}

static void report(struct checkpoint_set *cs, struct checkpoint_engine *e,
    unsigned path, int r, uint64_t before, bool again, uint64_t now_ms,
    uint64_t mono_ms);

void
checkpoint_set_tick(struct checkpoint_set *cs, uint64_t now_ms)
{
	uint64_t mono_ms;
	size_t len;
	int path, r;

	if (cs == NULL)
		return;
	if (now_ms == 0)
		now_ms = clock_wall_ms();
	mono_ms = set_mono(cs);
	watch_disk(cs, now_ms, mono_ms);
	for (size_t i = 0; i < cs->n; i++) {
		struct checkpoint_engine *e = &cs->e[i];
		/* alarms held back in a period now ended: their count */
		for (unsigned kind = 0; kind < 2; kind++)
			if (alert_limit_due(&e->alert_limit[kind], mono_ms))
				raise_alarm(cs, e, kind, NULL, now_ms);
		/* the held co-signed ones the chains now reach: each at most
		 * once, CHECKPOINT_HELD_PER_TICK at most (the walk's limit) */
		struct checkpoint_walk w = { 0 };
		for (;;) {
			uint64_t before = e->cosigned;
			r = checkpoint_retry_held(e, now_ms, mono_ms, &w);
			if (!w.tried) {
				if (r != 0)
					log_warn("checkpoint: %s", err_str(r));
				break;
			}
			if (!w.kept)
				report(cs, e, 0, r, before, true, now_ms,
				    mono_ms);
			else if (w.first) {
				char ch[17];
				bool st = r != ERR_AGAIN;  /* a store error */
				checkpoint_short_hex(ch, e->channel);
				log_warn("channel %s: a held checkpoint is held "
				    "still: %s%s%s (tried again at each tick, "
				    "logged once)", ch, err_str(r), st ? ": " :
				    "", st ? store_errmsg(e->s) : "");
			}
		}
		uint64_t last_ms = e->last_ms;
		if ((path = delivery_active_path(cs->dl, e->channel)) < 0)
			continue;
		if ((r = checkpoint_tick(e, now_ms, mono_ms, cs->buf,
		    sizeof cs->buf, &len)) != 0) {
			log_warn("checkpoint: %s", err_str(r));
			continue;
		}
		/* not sent: made again at the next tick, so the interval
		 * counts from before it (checkpoint_tick moved it on) */
		if (len > 0 && delivery_send_other(cs->dl, e->channel,
		    (unsigned)path, CHECKPOINT_REC, cs->buf, len) != 0) {
			e->pending = false;
			e->last_ms = last_ms;
		}
	}
}

/* checkpoint_set_resend's walk over the stored checkpoints. */
struct resend {
	struct checkpoint_set *cs;
	struct checkpoint_engine *e;
	unsigned path;
	uint8_t asker;
	uint64_t from, prev[2];
	size_t sent;
	int err;
};

static int
resend_one(void *arg, const uint8_t *p, size_t n)
{
	struct resend *x = arg;
	struct checkpoint_rec *c;
	uint64_t base[2] = { x->prev[0], x->prev[1] };
	size_t len;
	int r;

	if ((c = calloc(1, sizeof *c)) == NULL)
		return ERR_NOMEM;
	if ((r = transcript_checkpoint_decode(&c->cp, p, n)) != 0) {
		free(c);
		return r;
	}
	x->prev[0] = c->cp.seq[0];
	x->prev[1] = c->cp.seq[1];
	c->kind = CHECKPOINT_COSIGNED;
	if ((r = checkpoint_fill_ids_from(x->e, c, base)) == 0 &&
	    (r = checkpoint_rec_encode(c, x->cs->buf, sizeof x->cs->buf,
	    &len)) == 0 && (r = delivery_send_other(x->cs->dl, x->e->channel,
	    x->path, CHECKPOINT_REC, x->cs->buf, len)) == 0)
		x->sent++;
	free(c);
	return r;
}

void
checkpoint_set_resend(struct checkpoint_set *cs,
    const uint8_t channel[ENVELOPE_ID_LEN], unsigned path,
    const uint8_t *ask, size_t n)
{
	struct checkpoint_engine *e = cs ? engine_of(cs, channel) : NULL;
	struct resend x;
	uint64_t to;
	int r;

	if (e == NULL || !delivery_record_current(cs->dl, channel, path))
		return;
	memset(&x, 0, sizeof x);
	x.cs = cs;
	x.e = e;
	x.path = path;
	x.asker = (uint8_t)(1 - e->self);
	if (recover_ask_decode(ask, n, &x.from, &to) != 0)
		return;		/* the delivery engine refuses it */
	/* those from the ask's from seq on, and no other read: a peer may
	 * send RECOVER as often as it likes (the first one's ids start at
	 * the chains' start, moved up to fit, as no earlier one is read) */
	r = store_checkpoints_from(e->s, e->channel, x.asker, x.from,
	    CHECKPOINT_RESEND_MAX, resend_one, &x);
	if (r != 0)
		log_warn("checkpoint: cannot give the peer its checkpoints "
		    "back: %s", err_str(r));
	else if (x.sent > 0)
		log_info("checkpoint: gave %zu co-signed checkpoints back to "
		    "the peer (restored from a backup)", x.sent);
}

/* The alert of an alarm of e that alert_limit let through (kind 0: the
 * chains diverge, 1: forged), or of those it held back (text NULL,
 * alert_limit_due), at now_ms (the wall clock). */
static void
raise_alarm(struct checkpoint_set *cs, struct checkpoint_engine *e,
    unsigned kind, const char *text, uint64_t now_ms)
{
	char key[96], ch[17], full[2 * ENVELOPE_ID_LEN + 1];
	char out[ALERT_LIMIT_OUT];

	checkpoint_short_hex(ch, e->channel);
	hex_encode(full, e->channel, ENVELOPE_ID_LEN);
	snprintf(key, sizeof key, "checkpoint-%s-%s-%llu", kind ? "forged" :
	    "diverged", ch, (unsigned long long)now_ms);
	alert_limit_text(&e->alert_limit[kind], text, out, sizeof out);
	(void)alert_raise_text(cs->alerts, kind ? "checkpoint-forged" :
	    "checkpoint-diverged", key, full, out, now_ms);
}

/* Logs (and alerts) what handling a record, or a held one again, did: an
 * alert at now_ms (the wall clock), limited on mono_ms (monotonic). */
static void
report(struct checkpoint_set *cs, struct checkpoint_engine *e, unsigned path,
    int r, uint64_t before, bool again, uint64_t now_ms, uint64_t mono_ms)
{
	char ch[17];

	checkpoint_short_hex(ch, e->channel);
	if (r == ERR_CHAIN || r == ERR_SIGNATURE) {
		unsigned kind = r == ERR_CHAIN ? 0 : 1;
		if (alert_limit(&e->alert_limit[kind], mono_ms,
		    checkpoint_alarm(e)))
			raise_alarm(cs, e, kind, checkpoint_alarm(e), now_ms);
	}
	else if (e->hold == CHECKPOINT_HOLD_FULL)
		log_warn("channel %s: a co-signed checkpoint %s and %d are held "
		    "already: dropped", ch, r == ERR_AGAIN ? "names messages "
		    "not held here yet" : "is not stored", CHECKPOINT_HELD_MAX);
	else if (e->hold == CHECKPOINT_HOLD_NOMEM)
		log_warn("channel %s: a co-signed checkpoint %s and cannot be "
		    "held (out of memory): dropped", ch, r == ERR_AGAIN ?
		    "names messages not held here yet" : "is not stored");
	else if (e->hold == CHECKPOINT_HOLD_NEW && r == ERR_AGAIN)
		log_info("channel %s: a co-signed checkpoint names messages not"
		    " held here yet; held until they are (%zu held)", ch,
		    e->nheld);
	else if (e->hold != CHECKPOINT_HOLD_NONE && r != ERR_AGAIN)
		log_warn("channel %s: a co-signed checkpoint is not stored (%s:"
		    " %s); held, stored again from the tick (%zu held)", ch,
		    err_str(r), store_errmsg(e->s), e->nheld);
	else if (e->hold == CHECKPOINT_HOLD_ALREADY)
		log_info("channel %s: a co-signed checkpoint names messages not"
		    " held here yet; one with its seqs is held already", ch);
	else if (r == ERR_AGAIN && !again)
		log_info("channel %s: a checkpoint names messages not held here"
		    " yet; not answered", ch);
	else if (r != 0 && again)
		log_warn("channel %s: a held checkpoint is dropped: %s", ch,
		    err_str(r));
	else if (r != 0)
		log_warn("channel %s path %u: refused a checkpoint record: %s",
		    ch, path, err_str(r));
	else if (e->cosigned != before)
		log_info("channel %s: checkpoint co-signed at seqs %llu/%llu",
		    ch, (unsigned long long)e->last.seq[0],
		    (unsigned long long)e->last.seq[1]);
	else if (again)
		log_info("channel %s: a held co-signed checkpoint is verified "
		    "and stored (%zu still held)", ch, e->nheld);
}

void
checkpoint_set_record(struct checkpoint_set *cs,
    const uint8_t channel[ENVELOPE_ID_LEN], unsigned path, const uint8_t *p,
    size_t n, uint64_t now_ms)
{
	struct checkpoint_engine *e = cs ? engine_of(cs, channel) : NULL;
	uint64_t before, mono_ms;
	size_t len = 0;
	char ch[17];
	int r;

	/* only on a session of the peer's newest run, after its RUN
	 * (docs/delivery.md "Paths"): a dead run's record on its way on a
	 * slow path is not taken, as its messages are not */
	if (e == NULL || !delivery_record_current(cs->dl, channel, path))
		return;
	if (now_ms == 0)
		now_ms = clock_wall_ms();
	mono_ms = set_mono(cs);
	before = e->cosigned;
	r = checkpoint_on_record(e, p, n, now_ms, mono_ms, cs->buf,
	    sizeof cs->buf, &len);
	report(cs, e, path, r, before, false, now_ms, mono_ms);
	checkpoint_short_hex(ch, channel);
	/* Forged: no honest peer sends it. Its session ends (as the
	 * delivery engine ends one for a forged message), so a repeat costs
	 * the sender a new handshake. A record that does not parse is only
	 * refused: a newer peer's format may be one (its decoders check the
	 * field count before the version). */
	if (r == ERR_SIGNATURE && cs->io.drop != NULL) {
		cs->io.drop(cs->io.ctx, channel, path, "forged checkpoint");
		return;
	}
	if (len > 0 && delivery_send_other(cs->dl, channel, path,
	    CHECKPOINT_REC, cs->buf, len) != 0)
		log_warn("channel %s path %u: checkpoint answer not sent", ch,
		    path);
}
