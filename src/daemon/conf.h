/*
 * conf.h: parleyd's settings file, HOME/parleyd.conf (docs/parleyd.8.md):
 * one JSON object of knobs, each checked against its range. A bad file
 * stops the daemon with a line naming the knob and what it must be; a
 * missing file leaves every default.
 */
#ifndef PARLEY_DAEMON_CONF_H
#define PARLEY_DAEMON_CONF_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "link/link.h"
#include "msg/alert.h"

#define CONF_NAME "parleyd.conf"
#define CONF_MAX 65536			/* bytes of the file, at most */

/* The knobs beside the link's (struct link_config); 0 or false: the
 * default named. */
struct parleyd_conf {
	/* the message layer */
	uint64_t store_max_pages;	/* 0: no cap (test/tuning knob) */
	uint64_t checkpoint_every;	/* 0: CHECKPOINT_EVERY */
	uint64_t checkpoint_ms;		/* 0: CHECKPOINT_INTERVAL_MS */
	uint64_t disk_min_mb;		/* 0: CHECKPOINT_DISK_MIN */
	uint64_t anchor_ms;		/* 0: ANCHOR_INTERVAL_MS */
	/* tests only */
	uint64_t debug_anchor_ms;	/* anchor_pace */
	uint64_t debug_anchor_drop;	/* answers dropped as if lost */
	bool debug_inject;		/* msg-inject allowed */
	bool debug_powercut;		/* store: power-cut mode */
	uint64_t debug_kill_at;		/* with it: SIGKILL at this WAL sync */
	uint64_t debug_owed_ms;		/* owed read: 1 seq a slice, N ms */
	uint64_t debug_kill_early;	/* SIGKILL after this early send */
	/* people in the loop (docs/operators.md) */
	const char *alert_argv[ALERT_ARGV_MAX + 1];
	json_t *alert_json;		/* holds alert_argv's strings */
	uint64_t alert_timeout_ms;	/* 0: ALERT_COMMAND_MS */
	bool group_set;			/* control_group */
	gid_t group;
};

/* Reads HOME/parleyd.conf, if there is one, into cfg (the link's knobs,
 * set to their defaults by the caller) and c (zeroed here). 0, or
 * ERR_INVALID / ERR_PARSE / a file error, logged naming the knob or the
 * line; c holds nothing to free then. */
int parleyd_conf_load(const char *home, struct link_config *cfg,
    struct parleyd_conf *c);
/* What parleyd_conf_load holds (the alert command's strings). */
void parleyd_conf_free(struct parleyd_conf *c);

#endif
