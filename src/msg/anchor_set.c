/*
 * anchor_set.c: the daemon's glue of audit anchors (anchor.h, "The
 * daemon's glue"): one engine per channel of the delivery engine, records
 * in and out through it, refusals logged at a bounded rate, regressions
 * raised as alarms. The engine and the record are anchor.c's.
 */
#include "msg/anchor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <sodium.h>

#include "base/clock.h"
#include "base/hex.h"
#include "base/log.h"
#include "crypto/agreement.h"
#include "msg/alert.h"
#include "msg/delivery.h"

struct anchor_set {
	struct delivery *dl;
	struct alerter *alerts;		/* borrowed; NULL: logged only */
	size_t n;
	struct anchor_engine e[DELIVERY_MAX_CHANNELS];
	/* our name in each channel's agreement (a node may be named
	 * differently in two), the peer's */
	char self[DELIVERY_MAX_CHANNELS][KEYS_NAME_MAX + 1];
	char peer[DELIVERY_MAX_CHANNELS][KEYS_NAME_MAX + 1];
	uint64_t log_ms[DELIVERY_MAX_CHANNELS];	/* last refusal logged
							 * (monotonic) */
	uint64_t unlogged[DELIVERY_MAX_CHANNELS];	/* refusals since */
	uint8_t buf[ANCHOR_REC_MAX];
	uint64_t drop;			/* answers to drop (tests only) */
	uint64_t instance;		/* random, this run's (tickets') */
};

int
anchor_set_new(struct delivery *dl, const struct keys *k,
    const struct agreement *ags, size_t n, uint64_t interval_ms,
    uint64_t pace_ms, uint64_t now_ms, uint64_t mono_ms,
    struct anchor_set **out)
{
	struct anchor_set *as;

	*out = NULL;
	if ((as = calloc(1, sizeof *as)) == NULL)
		return ERR_NOMEM;
	as->dl = dl;
	while (as->instance == 0)
		randombytes_buf(&as->instance, sizeof as->instance);
	if (now_ms == 0)
		now_ms = clock_wall_ms();
	if (mono_ms == 0)
		mono_ms = clock_mono_ms();
	for (size_t i = 0; i < n && as->n < DELIVERY_MAX_CHANNELS; i++) {
		int self = agreement_party_of(&ags[i], k->id.sign_pub);
		if (self < 0)
			continue;
		snprintf(as->peer[as->n], sizeof as->peer[as->n], "%s",
		    ags[i].party[1 - self].name);
		snprintf(as->self[as->n], sizeof as->self[as->n], "%s",
		    ags[i].party[self].name);
		anchor_init(&as->e[as->n], delivery_store(dl), k, ags[i].id,
		    ags[i].party[1 - self].sign_pub, interval_ms, now_ms,
		    mono_ms);
		anchor_pace(&as->e[as->n++], pace_ms);
	}
	*out = as;
	return 0;
}

void
anchor_set_free(struct anchor_set *as)
{
	free(as);
}

uint64_t
anchor_set_instance(const struct anchor_set *as)
{
	return as != NULL ? as->instance : 0;
}

void
anchor_set_drop_answers(struct anchor_set *as, uint64_t n)
{
	if (as != NULL)
		as->drop = n;
}

void
anchor_set_alerter(struct anchor_set *as, struct alerter *a)
{
	if (as != NULL)
		as->alerts = a;
}

void
anchor_back_text(char *out, size_t cap, const struct anchor_engine *e,
    const char *self, const char *peer)
{
	char from[32], to[32];

	clock_utc_str(from, e->back_from_ms);
	if (e->back_to_ms == 0)
		snprintf(to, sizeof to, "none");
	else
		clock_utc_str(to, e->back_to_ms);
	snprintf(out, cap, "%s's audit anchors went back from %s to %s: its "
	    "store was restored from a backup or rewritten%s%s%s",
	    e->back_ours ? self : peer, from, to, e->back_ours ?
	    " (as " : "", e->back_ours ? peer : "", e->back_ours ?
	    " says: it keeps what it signed, and its word is not signed)" :
	    "");
}

/* The alarm of a regression the last record showed (anchor.h). */
static void
alarm_back(struct anchor_set *as, size_t i, uint64_t now_ms)
{
	const struct anchor_engine *e = &as->e[i];
	char text[400], key[160], full[2 * ANCHOR_CHANNEL_LEN + 1];

	anchor_back_text(text, sizeof text, e, as->self[i], as->peer[i]);
	log_error("ALARM %s", text);
	hex_encode(full, e->channel, ANCHOR_CHANNEL_LEN);
	snprintf(key, sizeof key, "anchor-went-back-%.16s-%s-%llu-%llu", full,
	    e->back_ours ? "ours" : "peer",
	    (unsigned long long)e->back_from_ms,
	    (unsigned long long)e->back_to_ms);
	(void)alert_raise_text(as->alerts, "anchor-went-back", key, full, text,
	    now_ms);
}

/* The alarm of our log no longer matching the newest anchor stored
 * (anchor_check_log): logged at each check that finds it, stored once per
 * anchor row (the key). */
static void
alarm_log(struct anchor_set *as, size_t i, uint64_t now_ms)
{
	const struct anchor_engine *e = &as->e[i];
	char text[600], key[160], full[2 * ANCHOR_CHANNEL_LEN + 1];

	snprintf(text, sizeof text, "%s's audit log no longer matches its "
	    "newest audit anchor from %s: %s; run parley verify",
	    as->self[i], as->peer[i], e->log_fault);
	log_error("ALARM %s", text);
	hex_encode(full, e->channel, ANCHOR_CHANNEL_LEN);
	snprintf(key, sizeof key, "audit-log-rewritten-%.16s-%llu-%llu", full,
	    (unsigned long long)e->log_row.n,
	    (unsigned long long)e->log_row.time_ms);
	(void)alert_raise_text(as->alerts, "audit-log-rewritten", key, full,
	    text, now_ms);
}

/* Our log against the newest anchor, when due (anchor_check_log): the
 * alarm at a check that finds it, not at every tick in between (log_bad
 * stays set until the next check). */
static void
check_log(struct anchor_set *as, size_t i, const char *ch, uint64_t now_ms,
    uint64_t mono_ms)
{
	struct anchor_engine *e = &as->e[i];
	uint64_t checks = e->log_checks;
	int r;

	if ((r = anchor_check_log(e, mono_ms)) != 0)
		log_warn("channel %s: audit anchor: our log not checked "
		    "against the newest anchor: %s", ch, err_str(r));
	else if (e->log_bad && e->log_checks != checks)
		alarm_log(as, i, now_ms);
}

static ssize_t
index_of(const struct anchor_set *as, const uint8_t *ch)
{
	for (size_t i = 0; as != NULL && i < as->n; i++)
		if (memcmp(as->e[i].channel, ch, ANCHOR_CHANNEL_LEN) == 0)
			return (ssize_t)i;
	return -1;
}

const struct anchor_engine *
anchor_set_engine(const struct anchor_set *as,
    const uint8_t channel[ANCHOR_CHANNEL_LEN])
{
	ssize_t i = index_of(as, channel);

	return i < 0 ? NULL : &as->e[i];
}

const char *
anchor_set_self(const struct anchor_set *as,
    const uint8_t channel[ANCHOR_CHANNEL_LEN])
{
	ssize_t i = index_of(as, channel);

	return i < 0 ? NULL : as->self[i];
}

int
anchor_set_ask_now(struct anchor_set *as,
    const uint8_t channel[ANCHOR_CHANNEL_LEN], uint64_t mono_ms,
    uint64_t *ticket, uint64_t *retry_ms)
{
	ssize_t i = index_of(as, channel);

	*ticket = *retry_ms = 0;
	if (i < 0)
		return ERR_NOT_FOUND;
	if (delivery_active_path(as->dl, channel) < 0)
		return ERR_CLOSED;
	return anchor_ask_now(&as->e[i], mono_ms ? mono_ms : clock_mono_ms(),
	    ticket, retry_ms);
}

void
anchor_set_tick(struct anchor_set *as, uint64_t now_ms, uint64_t mono_ms)
{
	size_t len;
	int path, r;

	if (as == NULL)
		return;
	if (now_ms == 0)
		now_ms = clock_wall_ms();
	if (mono_ms == 0)
		mono_ms = clock_mono_ms();
	for (size_t i = 0; i < as->n; i++) {
		struct anchor_engine *e = &as->e[i];
		char ch[17];

		hex_encode(ch, e->channel, 8);	/* as the logs name it */
		/* our log, with or without a path up (it is our own store);
		 * with one, after the tick: also due at a new ask made */
		if ((path = delivery_active_path(as->dl, e->channel)) < 0) {
			check_log(as, i, ch, now_ms, mono_ms);
			continue;
		}
		r = anchor_tick(e, now_ms, mono_ms, as->buf, sizeof as->buf,
		    &len);
		check_log(as, i, ch, now_ms, mono_ms);
		if (r != 0) {
			log_warn("channel %s: audit anchor: %s", ch,
			    err_str(r));
			continue;
		}
		if (len == 0)
			continue;
		/* not sent: as if lost on the way, asked again after the
		 * wait */
		if (delivery_send_other(as->dl, e->channel, (unsigned)path,
		    ANCHOR_REC, as->buf, len) == 0)
			log_debug("channel %s: audit log up to entry %llu "
			    "shown to %s to sign", ch,
			    (unsigned long long)e->ask_n, as->peer[i]);
	}
}

void
anchor_set_record(struct anchor_set *as,
    const uint8_t channel[ANCHOR_CHANNEL_LEN], unsigned path,
    const uint8_t *p, size_t n, uint64_t now_ms, uint64_t mono_ms)
{
	ssize_t i = index_of(as, channel);
	struct anchor_engine *e;
	struct anchor_rec a;
	uint64_t before;
	size_t len = 0;
	char ch[17];
	int r;

	/* only on a session of the peer's newest run, as checkpoints */
	if (i < 0 || !delivery_record_current(as->dl, channel, path))
		return;
	if (now_ms == 0)
		now_ms = clock_wall_ms();
	if (mono_ms == 0)
		mono_ms = clock_mono_ms();
	e = &as->e[i];
	hex_encode(ch, channel, 8);	/* as the logs name it */
	if (as->drop > 0 && anchor_rec_decode(&a, p, n) == 0 &&
	    a.kind == ANCHOR_SIGNED) {
		as->drop--;
		log_info("channel %s: an audit anchor answer dropped (debug: "
		    "%llu more)", ch, (unsigned long long)as->drop);
		return;
	}
	before = e->anchored;
	r = anchor_on_record(e, p, n, now_ms, mono_ms, as->buf,
	    sizeof as->buf, &len);
	if (r != 0) {
		if (as->log_ms[i] != 0 && mono_ms - as->log_ms[i] <
		    ANCHOR_LOG_MS) {
			as->unlogged[i]++;
			return;
		}
		log_warn("channel %s path %u: refused an audit anchor record "
		    "from %s: %s (%s)%s", ch, path, as->peer[i], e->why,
		    err_str(r), as->unlogged[i] ? "; and others not logged" :
		    "");
		as->log_ms[i] = mono_ms;
		as->unlogged[i] = 0;
		return;
	}
	if (e->forged_held)
		log_warn("channel %s path %u: %s's audit anchor ask holds an "
		    "anchor that we did not sign (not our signature over this "
		    "channel: its store was altered): taken as holding none",
		    ch, path, as->peer[i]);
	if (e->back)
		alarm_back(as, (size_t)i, now_ms);
	if (e->anchored != before) {
		char when[32];
		/* the row stored: a late answer's, not the ask in flight's */
		clock_utc_str(when, e->took.time_ms);
		log_info("channel %s: audit log anchored by %s up to entry "
		    "%llu at %s", ch, as->peer[i], (unsigned long long)e->took.n,
		    when);
	}
	if (len > 0 && delivery_send_other(as->dl, channel, path, ANCHOR_REC,
	    as->buf, len) != 0)
		log_warn("channel %s path %u: audit anchor answer not sent", ch,
		    path);
}
