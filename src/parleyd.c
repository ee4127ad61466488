/*
 * parleyd.c: the daemon. Loads the node's keys and installed channel
 * agreements from its home, keeps the links (src/link/) and serves the
 * control socket (src/ctl/) on one libevent loop, until SIGTERM or SIGINT.
 * It never forks into the background: a service manager runs it
 * (docs/parleyd.8.md). Logs go to stderr, and to syslog with --syslog.
 */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/hex.h"
#include "base/log.h"
#include "base/period.h"
#include "crypto/agreement.h"
#include "crypto/keys.h"
#include "ctl/ctl.h"
#include "ctl/roles.h"
#include "daemon/conf.h"
#include "link/link.h"
#include "msg/anchor.h"
#include "msg/checkpoint.h"
#include "msg/recover.h"
#include "msg/delivery.h"
#include "msg/alert.h"
#include "msg/deadline.h"
#include "store/ahead.h"
#include "store/run.h"
#include "store/store.h"

#define PARLEYD_VERSION "0.1"
#define TICK_MS 100

static struct parleyd_conf conf;	/* HOME/parleyd.conf */
#define PEOPLE_TICK_MS 1000		/* deadlines and alert commands */

/* What the link and delivery callbacks share. */
struct daemon {
	struct link *link;
	struct delivery *dl;
	struct event *pump, *tick;
	struct event *warm;		/* status's owed counts read in slices */
	struct event *scan;		/* the deadline scan's next step */
	struct checkpoint_set *cps;	/* docs/transcript.md */
	struct anchor_set *anchors;	/* audit anchors, msg/anchor.h */
	struct alerter *alerts;		/* people in the loop */
	struct deadline_watch *dw;
	struct roles *roles;
	struct ctl_server *ctl;		/* answers corked per event */
	const char *home;
	uint64_t people_ms;		/* people_tick's next (monotonic) */
	int wal_err;			/* the last store_wal_tick's */
	struct store_ahead *ahead;	/* the sent-ahead note */
	bool noted;			/* a note since the last flush */
	uint64_t early_sends;		/* debug_kill_after_early_send */
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: parleyd [--home DIR] [--log-level "
	    "error|warn|info|debug] [--syslog] [--foreground]\n"
	    "  The node home: --home, else $PARLEY_HOME, else ~/.parley.\n"
	    "  Tuning knobs: HOME/%s (docs/parleyd.8.md).\n", CONF_NAME);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	log_info("signal %d: stopping", (int)sig);
	event_base_loopexit(arg, NULL);
}

static int
dm_send(void *ctx, const uint8_t ch[ENVELOPE_ID_LEN], unsigned path,
    uint8_t type, const uint8_t *b, size_t n)
{
	struct daemon *dm = ctx;

	if (dm->link == NULL)
		return ERR_CLOSED;
	/* the bodies are paced by the path, so that what follows them
	 * (receipts, a rekey, a FLASH) does not wait minutes behind them:
	 * ours and those of our answer to the peer's RECOVER */
	if (type == DELIVERY_REC_MSG || type == DELIVERY_REC_PART ||
	    type == RECOVER_REC_OWN)
		return link_send_bulk(dm->link, ch, path, type, b, n);
	return link_send(dm->link, ch, path, type, b, n);
}

static size_t
dm_queued(void *ctx, const uint8_t ch[ENVELOPE_ID_LEN], unsigned path)
{
	struct daemon *dm = ctx;

	return dm->link != NULL ? link_queued(dm->link, ch, path) : 0;
}

static void
dm_drop(void *ctx, const uint8_t ch[ENVELOPE_ID_LEN], unsigned path,
    const char *why)
{
	struct daemon *dm = ctx;

	if (dm->link && link_drop(dm->link, ch, path, why) != 0)
		log_debug("path %u: no session to end", path);
}

/* The delivery engine's alarms (a forked chain), raised as alerts. */
static void
dm_alarm(void *ctx, const uint8_t ch[ENVELOPE_ID_LEN], const char *kind,
    const char *text)
{
	struct daemon *dm = ctx;
	char full[2 * ENVELOPE_ID_LEN + 1], key[96];
	uint64_t now;

	now = clock_wall_ms();
	hex_encode(full, ch, ENVELOPE_ID_LEN);
	alert_key_once(dm->alerts, key, sizeof key, kind, full, now);
	(void)alert_raise_text(dm->alerts, kind, key, full, text, now);
}

static void
dm_hold(void *ctx)
{
	link_hold(((struct daemon *)ctx)->link);
}

static void
dm_flush(void *ctx)
{
	struct daemon *dm = ctx;

	link_flush(dm->link);
	if (dm->noted && conf.debug_kill_early != 0 &&
	    ++dm->early_sends == conf.debug_kill_early)
		raise(SIGKILL);	/* a crash between early send and commit */
	dm->noted = false;
}

/* The sent-ahead note (store/ahead.h), before an early send. */
static int
dm_note_ahead(void *ctx, const uint8_t channel[ENVELOPE_ID_LEN],
    uint64_t seq)
{
	struct daemon *dm = ctx;
	int r;

	if (dm->ahead == NULL)
		return ERR_CLOSED;
	if ((r = store_ahead_put(dm->ahead, channel, seq)) == 0)
		dm->noted = true;
	return r;
}

static void
dm_wake(void *ctx)
{
	struct daemon *dm = ctx;

	if (dm->pump)
		event_active(dm->pump, 0, 0);
}

static void
dm_deliver(void *ctx, const uint8_t ch[LINK_ID_LEN], unsigned path,
    uint8_t type, const uint8_t *b, size_t n)
{
	struct daemon *dm = ctx;

	ctl_cork(dm->ctl);
	if (type == CHECKPOINT_REC) {
		delivery_flush(dm->dl);		/* receipts */
		checkpoint_set_record(dm->cps, ch, path, b, n, 0);
	} else if (type == ANCHOR_REC)
		anchor_set_record(dm->anchors, ch, path, b, n, 0, 0);
	else {
		delivery_record(dm->dl, ch, path, type, b, n);
		if (type == RECOVER_REC_ASK)	/* after our chain's answer */
			checkpoint_set_resend(dm->cps, ch, path, b, n);
	}
	ctl_uncork(dm->ctl);
}

static void
dm_path_change(void *ctx, const uint8_t ch[LINK_ID_LEN], unsigned path,
    bool up)
{
	delivery_path_change(((struct daemon *)ctx)->dl, ch, path, up);
}

static void
on_pump(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *dm = arg;

	(void)fd;
	(void)what;
	ctl_cork(dm->ctl);
	delivery_pump(dm->dl);
	ctl_uncork(dm->ctl);
}

/* A step of the deadline scan (deadline.h), of at most about 10 ms; while
 * it has more to list (the record at the start, a burst of arrivals, many
 * texts falling due at once or over a jump of the clock), the next from
 * the loop after the I/O that is ready (a zero timer), not a second
 * later. */
static void
scan_step(struct daemon *dm)
{
	static const struct timeval at_once = { 0, 0 };

	if (deadline_watch_step(dm->dw, clock_wall_ms(), DEADLINE_SCAN_SEQS,
	    DEADLINE_SCAN_US))
		return;
	if (evtimer_add(dm->scan, &at_once) != 0) {
		log_error("deadline scan: cannot schedule its next step; "
		    "scanned whole now");
		deadline_watch_tick(dm->dw, clock_wall_ms());
	}
}

static void
on_scan(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	scan_step(arg);
}

/* Once a second of the monotonic clock (a wall clock stepped neither
 * holds nor hurries it): deadlines that passed, alert commands that
 * ended; the deadlines and the alerts' times are the wall clock's. */
static void
people_tick(struct daemon *dm)
{
	if (dm->alerts == NULL || !period_due(clock_mono_ms(),
	    &dm->people_ms, PEOPLE_TICK_MS))
		return;
	alert_tick(dm->alerts, clock_wall_ms());
	scan_step(dm);
}

/* SIGHUP: reads HOME/roles.json again; a bad file keeps the old roles. */
static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *dm = arg;
	struct roles *r;
	char why[256] = "";

	(void)sig;
	(void)what;
	if ((r = malloc(sizeof *r)) == NULL)
		return;
	if (roles_load(r, dm->home, geteuid(), why, sizeof why) != 0) {
		log_error("SIGHUP: %s/%s refused, the old roles stay: %s",
		    dm->home, ROLES_FILE, why);
		free(r);
		return;
	}
	*dm->roles = *r;
	free(r);
	log_info("SIGHUP: roles reloaded (%zu operator%s)", dm->roles->n,
	    dm->roles->n == 1 ? "" : "s");
}

/* The alerter and the deadline watch over the store, a channel per
 * agreement this node is a party of. */
static int
people_open(const struct keys *k, const struct agreement *ags, size_t n,
    struct daemon *dm, struct store *st)
{
	int r;

	if ((r = alert_new(st, conf.alert_argv[0] ? conf.alert_argv : NULL,
	    conf.alert_timeout_ms, &dm->alerts)) != 0 ||
	    (r = deadline_watch_new(st, dm->alerts, &dm->dw)) != 0)
		return r;
	for (size_t i = 0; i < n; i++)
		for (int j = 0; j < 2; j++)
			if (memcmp(ags[i].party[j].sign_pub, k->id.sign_pub,
			    KEYS_PUB_LEN) == 0 && (r = deadline_watch_add(
			    dm->dw, ags[i].id, (uint8_t)j,
			    ags[i].party[1 - j].name, ags[i].ack_deadline_s))
			    != 0)
				return r;
	/* status's owed counts: the record read from the loop, in slices
	 * (on_warm), not before links and clients are served, nor in the
	 * first status's request */
	deadline_owed_warm_begin(dm->dw);
	return 0;
}

/* A slice of the start's read of what is owed (deadline.h), then the loop
 * serves what came meanwhile before the next (a zero timer: after the
 * I/O that is ready); with debug_owed_slice_ms, one seq a slice and that
 * long between two (tests). */
static void
on_warm(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *dm = arg;
	uint64_t ms = conf.debug_owed_ms;
	struct timeval tv = { (time_t)(ms / 1000),
	    (suseconds_t)(ms % 1000 * 1000) };

	(void)fd;
	(void)what;
	if (ms != 0 ? deadline_owed_warm_step(dm->dw, 1, 0) :
	    deadline_owed_warm_step(dm->dw, DEADLINE_WARM_SEQS,
	    DEADLINE_WARM_US))
		return;
	if (evtimer_add(dm->warm, &tv) != 0) {
		log_error("status: cannot schedule the read of what is owed; "
		    "read whole now");
		(void)deadline_owed_warm_step(dm->dw, UINT64_MAX, UINT64_MAX);
	}
}

/* A test conf in production would lose every write not yet synced at
 * each crash and hold every write in memory: an alert at each start, not
 * only the log's warning. */
static void
powercut_alert(struct daemon *dm)
{
	uint64_t now;
	char key[64];

	now = clock_wall_ms();
	snprintf(key, sizeof key, "debug-powercut-%llu",
	    (unsigned long long)now);
	(void)alert_raise_text(dm->alerts, "debug-powercut", key, NULL,
	    "parleyd runs in power-cut mode (parleyd.conf \"debug_powercut\":"
	    " true), a test mode: the store keeps every write in memory "
	    "until its sync, so a crash loses more than it must. Never in "
	    "production: remove it from parleyd.conf and restart", now);
}

/* WAL checkpoints, off the commit path (docs/store.md, "WAL
 * checkpoints"). */
static void
wal_tick(struct daemon *dm)
{
	uint64_t copied;
	int r = store_wal_tick(delivery_store(dm->dl), &copied);

	if (r != 0 && r != ERR_AGAIN && r != dm->wal_err)
		log_warn("store checkpoint: %s", err_str(r));
	dm->wal_err = r;
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *dm = arg;

	(void)fd;
	(void)what;
	ctl_cork(dm->ctl);
	delivery_tick(dm->dl);
	delivery_pump(dm->dl);
	ctl_uncork(dm->ctl);
	checkpoint_set_tick(dm->cps, 0);
	anchor_set_tick(dm->anchors, 0, 0);
	people_tick(dm);
	wal_tick(dm);
}

/* Opens the store and the delivery engine with one channel per
 * agreement this node is a party of. */
static int
messages_open(const char *home, const struct keys *k,
    const struct agreement *ags, size_t n, uint32_t heartbeat_ms,
    struct daemon *dm, struct store **st)
{
	struct delivery_io io = { dm_send, dm_drop, dm_wake, NULL, dm,
	    dm_hold, dm_flush, dm_alarm, dm_note_ahead, dm_queued, NULL };
	bool damaged = false;
	uint64_t eff, hb, run;
	int r;

	/* before SQLite's first use, which it must precede */
	if ((r = store_cache_reserve(STORE_DAEMON_CACHE_MIB)) != 0)
		log_warn("store: the page cache's memory is not reserved (%s):"
		    " each page it takes costs a page fault", err_str(r));
	if (conf.debug_powercut) {
		if ((r = store_powercut(conf.debug_kill_at)) != 0) {
			log_error("debug_powercut: %s", err_str(r));
			return r;
		}
		log_warn("debug_powercut: the store keeps every write in "
		    "memory until its sync, for tests only (docs/store.md, "
		    "\"Power-cut mode\")");
		if (conf.debug_kill_at != 0)
			log_warn("debug_powercut_kill_at: this process kills "
			    "itself at its WAL sync %llu",
			    (unsigned long long)conf.debug_kill_at);
	}
	if (conf.debug_kill_early != 0)
		log_warn("debug_kill_after_early_send: this process kills "
		    "itself after its early send %llu, before that group's "
		    "commit, for tests only",
		    (unsigned long long)conf.debug_kill_early);
	if (conf.debug_owed_ms != 0)
		log_warn("debug_owed_slice_ms: the acknowledgments owed are "
		    "read one message every %llu ms, for tests only (status "
		    "counts them only once through)",
		    (unsigned long long)conf.debug_owed_ms);
	if ((r = store_open_home(st, home)) != 0) {
		log_error("cannot open the store %s/%s: %s", home, STORE_FILE,
		    store_open_error());
		return r;
	}
	store_wal_defer(*st);
	if (store_cache_set(*st, STORE_DAEMON_CACHE_MIB) != 0)
		log_warn("store: page cache left at SQLite's default: %s",
		    store_errmsg(*st));
	if (conf.store_max_pages != 0 && (r = store_set_max_pages(*st,
	    conf.store_max_pages, &eff)) == 0)
		log_info("store capped at %llu pages (store_max_pages)",
		    (unsigned long long)eff);
	if (r != 0 || (r = delivery_new(*st, k, &io, &dm->dl)) != 0)
		return r;
	/* higher than every earlier start's: the peer ends its sessions of
	 * the last run once it hears it (docs/delivery.md "After a crash") */
	if ((r = store_run_next(home, clock_wall_ms(), &run)) == ERR_PARSE)
		log_warn("%s/%s is damaged: this run is numbered by the clock "
		    "alone (%llu)", home, STORE_RUN_FILE,
		    (unsigned long long)run);
	else if (r != 0)
		log_warn("cannot keep this run's number in %s/%s: %s: it is "
		    "numbered by the clock alone (%llu)", home, STORE_RUN_FILE,
		    err_str(r), (unsigned long long)run);
	else
		log_info("this is run %llu of the node",
		    (unsigned long long)run);
	delivery_set_run(dm->dl, run);
	/* without it nothing is sent before its commit (a slower path, not
	 * a failure: docs/delivery.md "After a crash") */
	if ((r = store_ahead_open(home, &dm->ahead, &damaged)) != 0)
		log_error("cannot open %s/%s: %s: messages leave only after "
		    "their commit, and every channel waits as after a crash "
		    "(what the last run noted is unknown)", home,
		    STORE_AHEAD_FILE, strerror(errno));
	else if (damaged)
		log_warn("%s/%s is damaged: every channel it names waits as "
		    "after a crash (docs/store.md, \"The sent-ahead note\")",
		    home, STORE_AHEAD_FILE);
	for (size_t i = 0; i < n; i++) {
		int self = agreement_party_of(&ags[i], k->id.sign_pub);
		if (self < 0)
			continue;
		if ((r = delivery_add_channel(dm->dl, ags[i].id,
		    (uint8_t)self, ags[i].party[1 - self].sign_pub,
		    ags[i].party[1 - self].name, ags[i].npaths)) != 0) {
			log_error("channel messages: %s", err_str(r));
			return r;
		}
		/* the peer's link closes a session silent for
		 * LINK_DEAD_INTERVALS intervals, of the agreement's or of
		 * its override (taken as ours at most): one more for its
		 * timer and a record on the way */
		hb = ags[i].heartbeat_s * 1000u;
		if (heartbeat_ms > hb)
			hb = heartbeat_ms;
		delivery_fence(dm->dl, delivery_channel_count(dm->dl) - 1,
		    dm->ahead != NULL ? store_ahead_get(dm->ahead, ags[i].id) :
		    UINT64_MAX, (LINK_DEAD_INTERVALS + 1) * hb);
	}
	/* the fences are read: channels no longer installed give their
	 * slots of the note to new ones */
	if (dm->ahead != NULL) {
		uint8_t (*ids)[STORE_ID_LEN] = calloc(n ? n : 1, sizeof *ids);

		for (size_t i = 0; ids != NULL && i < n; i++)
			memcpy(ids[i], ags[i].id, STORE_ID_LEN);
		if (ids != NULL)
			store_ahead_release_others(dm->ahead,
			    (const uint8_t (*)[STORE_ID_LEN])ids, n);
		free(ids);
	}
	if ((r = checkpoint_set_new(dm->dl, k, ags, n, &io,
	    conf.checkpoint_every, conf.checkpoint_ms, &dm->cps)) != 0)
		return r;
	checkpoint_set_watch_disk(dm->cps, home, conf.disk_min_mb << 20);
	if ((r = anchor_set_new(dm->dl, k, ags, n, conf.anchor_ms,
	    conf.debug_anchor_ms, 0, 0, &dm->anchors)) != 0)
		return r;
	anchor_set_drop_answers(dm->anchors, conf.debug_anchor_drop);
	return 0;
}

static const char *
home_of(const char *opt)
{
	static char buf[KEYS_PATH_MAX];
	const char *env;

	if (opt)
		return opt;
	if ((env = getenv("PARLEY_HOME")) != NULL && *env)
		return env;
	snprintf(buf, sizeof buf, "%s/.parley",
	    getenv("HOME") ? getenv("HOME") : ".");
	return buf;
}

/* One daemon per home: an flock on HOME/parleyd.lock, held (fd left
 * open) for the process's life. Also covers the control socket's
 * probe-unlink-bind (src/ctl/ctl.c) and the store. */
static int
lock_home(const char *home)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof path, "%s/parleyd.lock", home);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600)) < 0) {
		log_error("cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		log_error("%s", errno == EWOULDBLOCK ? "another parleyd is "
		    "running in this home (parleyd.lock is held)" :
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int
run(const char *home, enum log_level level, bool use_syslog)
{
	static char ident[KEYS_NAME_MAX + 16];
	struct keys k;
	struct agreement *ags = NULL;
	struct link_config cfg;
	struct event_base *base = NULL;
	struct event *sigterm = NULL, *sigint = NULL, *sighup = NULL;
	struct roles *roles = NULL;
	char why[256] = "";
	struct link *l = NULL;
	struct ctl_server *ctl = NULL;
	struct ctl_env env;
	struct daemon dm;
	struct store *st = NULL;
	struct link_upper up;
	struct timeval tv = { 0, TICK_MS * 1000 }, at_once = { 0, 0 };
	char fpr[FINGERPRINT_STR_LEN];
	size_t n = 0;
	int r, rc = 1;

	memset(&k, 0, sizeof k);
	memset(&dm, 0, sizeof dm);
	memset(&env, 0, sizeof env);
	if (lock_home(home) < 0)
		return 1;
	if ((r = keys_load(&k, home)) != 0) {
		log_error("cannot load the node in %s: %s", home, err_str(r));
		return 1;
	}
	snprintf(ident, sizeof ident, "parleyd[%s]", k.id.name);
	log_setup(ident, level, use_syslog);
	link_config_defaults(&cfg);
	if ((ags = calloc(LINK_MAX_CHANNELS, sizeof *ags)) == NULL)
		goto out;
	if ((r = agreement_load_all(home, ags, LINK_MAX_CHANNELS, &n)) != 0) {
		log_error("cannot load the channel agreements in %s: %s", home,
		    err_str(r));
		goto out;
	}
	if (parleyd_conf_load(home, &cfg, &conf) != 0)
		goto out;
	if ((roles = malloc(sizeof *roles)) == NULL)
		goto out;
	if (roles_load(roles, home, geteuid(), why, sizeof why) != 0) {
		log_error("%s/%s: %s", home, ROLES_FILE, why);
		goto out;
	}
	dm.roles = roles;
	dm.home = home;
	if ((base = event_base_new()) == NULL)
		goto out;
	sigterm = evsignal_new(base, SIGTERM, on_signal, base);
	sigint = evsignal_new(base, SIGINT, on_signal, base);
	if (sigterm == NULL || sigint == NULL || evsignal_add(sigterm, NULL) ||
	    evsignal_add(sigint, NULL))
		goto out;
	keys_fingerprint_link(&k.id, fpr);
	log_info("node %s, link key fingerprint %s, %zu channel%s", k.id.name,
	    fpr, n, n == 1 ? "" : "s");
	if (messages_open(home, &k, ags, n, cfg.heartbeat_ms, &dm, &st) != 0)
		goto out;
	if (people_open(&k, ags, n, &dm, st) != 0 ||
	    (sighup = evsignal_new(base, SIGHUP, on_hup, &dm)) == NULL ||
	    evsignal_add(sighup, NULL) != 0)
		goto out;
	checkpoint_set_alerter(dm.cps, dm.alerts);	/* alarms as alerts */
	anchor_set_alerter(dm.anchors, dm.alerts);
	if (conf.debug_powercut)
		powercut_alert(&dm);
	dm.pump = event_new(base, -1, 0, on_pump, &dm);
	dm.tick = event_new(base, -1, EV_PERSIST, on_tick, &dm);
	dm.warm = evtimer_new(base, on_warm, &dm);
	dm.scan = evtimer_new(base, on_scan, &dm);
	if (dm.pump == NULL || dm.tick == NULL || dm.warm == NULL ||
	    dm.scan == NULL ||
	    evtimer_add(dm.tick, &tv) || evtimer_add(dm.warm, &at_once))
		goto out;
	up.deliver = dm_deliver;
	up.path_change = dm_path_change;
	up.ctx = &dm;
	if ((r = link_new(base, home, &k, ags, n, &cfg, &up, &l)) != 0) {
		log_error("cannot start the links: %s", err_str(r));
		goto out;
	}
	dm.link = l;
	env.link = l;
	env.home = home;
	env.version = PARLEYD_VERSION;
	env.base = base;
	env.delivery = dm.dl;
	env.checkpoints = dm.cps;
	env.anchors = dm.anchors;
	env.debug_inject = conf.debug_inject;
	env.debug_powercut = conf.debug_powercut;
	env.roles = roles;
	env.alerts = dm.alerts;
	env.deadlines = dm.dw;
	env.control_group_set = conf.group_set;
	env.control_gid = conf.group;
	if ((r = ctl_server_open(base, home, &env, &ctl)) != 0 ||
	    (dm.ctl = ctl) == NULL) {
		log_error("cannot serve %s/%s: %s", home, CTL_SOCKET_NAME,
		    r == ERR_EXISTS ? "another parleyd is running" :
		    err_str(r));
		goto out;
	}
	log_info("ready; control socket %s/%s", home, CTL_SOCKET_NAME);
	event_base_dispatch(base);
	rc = 0;
out:
	ctl_server_close(ctl);
	dm.ctl = NULL;
	if (dm.warm)		/* no slice while the link closes */
		evtimer_del(dm.warm);
	if (dm.scan)
		evtimer_del(dm.scan);
	link_free(l);
	dm.link = NULL;
	if (dm.pump)
		event_free(dm.pump);
	if (dm.tick)
		event_free(dm.tick);
	if (dm.warm)
		event_free(dm.warm);
	if (dm.scan)
		event_free(dm.scan);
	checkpoint_set_free(dm.cps);
	anchor_set_free(dm.anchors);
	delivery_free(dm.dl);
	dm.dl = NULL;
	if (dm.ahead != NULL && store_ahead_sync(dm.ahead) != 0)
		log_warn("cannot sync %s/%s: %s", home, STORE_AHEAD_FILE,
		    strerror(errno));
	store_ahead_close(dm.ahead);
	deadline_watch_free(dm.dw);
	alert_stop(dm.alerts, ALERT_STOP_GRACE_MS);
	alert_free(dm.alerts);
	if (sighup)
		event_free(sighup);
	free(roles);
	parleyd_conf_free(&conf);
	store_close(st);
	if (sigterm)
		event_free(sigterm);
	if (sigint)
		event_free(sigint);
	if (base)
		event_base_free(base);
	for (size_t i = 0; ags && i < n; i++)
		agreement_wipe(&ags[i]);
	free(ags);
	keys_fini(&k);
	log_info("stopped");
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "home", required_argument, NULL, 'h' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "syslog", no_argument, NULL, 's' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'H' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *home = NULL;
	int level = LOG_LVL_INFO, use_syslog = 0, c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			home = optarg;
			break;
		case 'l':
			if ((level = log_level_parse(optarg)) < 0) {
				fprintf(stderr, "parleyd: unknown log level "
				    "'%s'\n", optarg);
				return 2;
			}
			break;
		case 's':
			use_syslog = 1;
			break;
		case 'f':
			break;
		case 'H':
			usage(stdout);
			return 0;
		case 'V':
			printf("parleyd %s (link protocol %d, control protocol "
			    "%d)\n", PARLEYD_VERSION, LINK_VERSION,
			    CTL_PROTOCOL_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "parleyd: libsodium failed to initialise\n");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	log_setup("parleyd", (enum log_level)level, use_syslog != 0);
	return run(home_of(home), (enum log_level)level, use_syslog != 0);
}
