/*
 * commands.c: the control socket's commands, one row each in ctl_commands
 * (docs/control.md lists requests and results).
 */
#include "ctl/ctl.h"

#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "base/hex.h"
#include "link/link.h"

static json_t *
path_json(const struct link_path_status *p)
{
	json_t *o = json_pack("{s:I, s:s, s:s, s:b, s:I, s:b, s:I, s:I, s:I, "
	    "s:I, s:I, s:I, s:I, s:I}",
	    "index", (json_int_t)p->index, "local", p->local, "peer", p->peer,
	    "up", p->up, "since_ms", (json_int_t)p->since_ms,
	    "we_initiated", p->we_initiated,
	    "records_tx", (json_int_t)p->records_tx,
	    "records_rx", (json_int_t)p->records_rx,
	    "rekeys", (json_int_t)p->rekeys,
	    "handshakes", (json_int_t)p->handshakes,
	    "init_dh", (json_int_t)p->init_dh,
	    "init_refused_no_dh", (json_int_t)p->init_refused_no_dh,
	    "test_rx", (json_int_t)p->test_rx,
	    "test_gaps", (json_int_t)p->test_gaps);

	if (o)
		json_object_set_new(o, "unread_bytes",
		    json_integer((json_int_t)p->unread));
	if (o && p->have_rtt) {
		json_object_set_new(o, "rtt_ms", json_real(p->rtt_ms));
		json_object_set_new(o, "offset_ms", json_real(p->offset_ms));
	}
	return o;
}

static json_t *
channel_json(const struct link_channel_status *c, uint64_t now)
{
	char id[2 * LINK_ID_LEN + 1];
	json_t *o, *paths;
	const char *state = c->usable == 0 ? "valid" :
	    c->usable == ERR_EXPIRED ? "expired" :
	    c->usable == ERR_NOT_YET_VALID ? "not yet valid" : "unusable";

	hex_encode(id, c->id, LINK_ID_LEN);
	if ((paths = json_array()) == NULL)
		return NULL;
	for (unsigned i = 0; i < c->npaths; i++)
		json_array_append_new(paths, path_json(&c->paths[i]));
	o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:I, s:o}",
	    "id", id, "peer", c->peer, "fingerprint", c->fingerprint,
	    "not_before", (json_int_t)c->not_before,
	    "not_after", (json_int_t)c->not_after,
	    "expires_in_s", (json_int_t)c->not_after - (json_int_t)now,
	    "agreement", state, "heartbeat_ms", (json_int_t)c->heartbeat_ms,
	    "paths", paths);
	return o;
}

static json_t *
status_json(const struct ctl_env *env)
{
	const struct node_identity *id = link_identity(env->link);
	struct link_channel_status cs;
	char fpr[FINGERPRINT_STR_LEN];
	uint64_t now = clock_wall_s();
	json_t *o, *chans;

	if ((chans = json_array()) == NULL)
		return NULL;
	for (size_t i = 0; i < link_channel_count(env->link); i++)
		if (link_channel_status(env->link, i, &cs) == 0) {
			json_t *c = channel_json(&cs, now);
			char idhex[2 * LINK_ID_LEN + 1];

			hex_encode(idhex, cs.id, LINK_ID_LEN);
			if (c) {
				ctl_msg_status(env, idhex, c);
				ctl_anchor_status(env, cs.id, c);
			}
			json_array_append_new(chans, c);
		}
	keys_fingerprint_link(id, fpr);
	o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:b, s:o}", "node",
	    id->name, "link_fingerprint", fpr, "version", env->version,
	    "protocol", (json_int_t)CTL_PROTOCOL_VERSION,
	    "now", (json_int_t)now, "debug_powercut", env->debug_powercut,
	    "channels", chans);
	return o;
}

static int
cmd_status(const struct ctl_env *env, const struct ctl_peer *who,
    json_t *req, json_t **result, char *err, size_t errcap)
{
	(void)who;
	(void)req;
	(void)err;
	(void)errcap;
	if ((*result = status_json(env)) == NULL)
		return ERR_NOMEM;
	return 0;
}

/* {"cmd":"link-test","channel":HEX,"path":N,"count":N}: a test command:
 * sends count TEST records (for tests of rekeying under traffic), at most
 * CTL_LINK_TEST_MAX per request, since it runs synchronously. */
#define CTL_LINK_TEST_MAX 10000
static int
cmd_link_test(const struct ctl_env *env, const struct ctl_peer *who,
    json_t *req, json_t **result, char *err, size_t errcap)
{
	uint8_t id[LINK_ID_LEN];
	const char *hex;
	json_int_t path, count;
	int r;

	(void)who;
	if (json_unpack(req, "{s:s, s:I, s:I}", "channel", &hex, "path", &path,
	    "count", &count) != 0 || hex_decode(id, sizeof id, hex) != 0 ||
	    path < 0 || path >= LINK_MAX_PATHS || count < 0 ||
	    count > CTL_LINK_TEST_MAX) {
		snprintf(err, errcap, "want channel (64 hex), path, count "
		    "(0..%d)", CTL_LINK_TEST_MAX);
		return ERR_USAGE;
	}
	if ((r = link_send_test(env->link, id, (unsigned)path,
	    (uint32_t)count)) != 0) {
		snprintf(err, errcap, "link-test: %s", err_str(r));
		return r;
	}
	*result = json_pack("{s:I}", "sent", count);
	return *result ? 0 : ERR_NOMEM;
}

const struct ctl_command ctl_commands[] = {
	{ "status", cmd_status, false,
	    "channels and paths: up/down, RTT, offset" },
	{ "link-test", cmd_link_test, false,
	    "send TEST records on a path" },
	{ "send", ctl_cmd_send, true,
	    "queue a message (durable before the reply)" },
	{ "inbox", ctl_cmd_inbox, false,
	    "received messages, newest first" },
	{ "show", ctl_cmd_show, false,
	    "one message: header fields, state, body" },
	{ "log", ctl_cmd_log, false,
	    "messages both ways with their states" },
	{ "msg-inject", ctl_cmd_msg_inject, false,
	    "test only: feed a record" },
	{ "store-fail", ctl_cmd_store_fail, false,
	    "test only: fail the next commits' writes" },
	{ "ack", ctl_cmd_ack, false,
	    "acknowledge a received message (signed ACK)" },
	{ "approve", ctl_cmd_approve, false,
	    "approve a held message: it leaves" },
	{ "held", ctl_cmd_held, false,
	    "messages held for a principal's approval" },
	{ "alerts", ctl_cmd_alerts, false,
	    "alerts not cleared (all: every one)" },
	{ "alert-clear", ctl_cmd_alert_clear, false,
	    "clear an alert, with a note" },
	{ "audit", ctl_cmd_audit, false,
	    "the audit log and whether it verifies" },
	{ "whoami", ctl_cmd_whoami, false,
	    "your uid, operator name and roles" },
	{ "anchor", ctl_cmd_anchor, false,
	    "an audit anchor asked of each channel's peer now" },
};
const size_t ctl_ncommands = sizeof ctl_commands / sizeof ctl_commands[0];
