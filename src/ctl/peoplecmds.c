/*
 * peoplecmds.c: the control socket's people-in-the-loop commands (ack,
 * approve, held, alerts, alert-clear, audit, whoami, and send with
 * "for_principal"), the roles check every command passes first, the audit
 * record every action leaves, and the four states of a message
 * (docs/operators.md, docs/control.md).
 */
#include "ctl/ctl.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/hex.h"
#include "base/log.h"
#include "base/num.h"
#include "ctl/roles.h"
#include "msg/ack.h"
#include "msg/alert.h"
#include "msg/audit.h"
#include "msg/deadline.h"
#include "msg/delivery.h"
#include "store/people.h"

#define AUDIT_LIST_DEFAULT 200

/* The roles in force: the daemon's, or the single-operator default. */
static const struct roles *
roles_of(const struct ctl_env *env)
{
	static struct roles dflt;
	static bool init;

	if (env->roles)
		return env->roles;
	if (!init) {
		roles_default(&dflt, geteuid());
		init = true;
	}
	return &dflt;
}

static const char *
who_name(const struct ctl_env *env, const struct ctl_peer *who, char *buf,
    size_t cap)
{
	return roles_name(roles_of(env), who->uid, buf, cap);
}

static int
audit(const struct ctl_env *env, const struct ctl_peer *who,
    const char *action, const char *detail)
{
	char nb[64];
	int r;

	if (env->delivery == NULL)
		return 0;
	if ((r = audit_append(delivery_store(env->delivery),
	    (uint32_t)who->uid, who_name(env, who, nb, sizeof nb), action,
	    detail, clock_wall_ms())) != 0)
		log_error("audit log: cannot record %s by uid %u: %s", action,
		    (unsigned)who->uid, err_str(r));
	return r;
}

/* An action whose audit entry could not be written is rolled back with
 * it: nobody acts unrecorded (as a send: msgcmds.c send_audit). */
static void
audit_refused(char *err, size_t errcap, const char *what, int r)
{
	snprintf(err, errcap, "the audit log cannot record it (%s): the %s "
	    "was not stored", err_str(r), what);
}

int
ctl_people_check(const struct ctl_env *env, const struct ctl_peer *who,
    const char *cmd, char *err, size_t errcap)
{
	return roles_check(roles_of(env), who->uid, cmd, err, errcap);
}

/* The length of a send's text: "text" or the raw body (its length is in
 * the request too, so a deferred send's audit entry has it). */
static size_t
text_len(json_t *req)
{
	json_t *t = json_object_get(req, "text");

	return t ? json_string_length(t) : (size_t)json_integer_value(
	    json_object_get(req, CTL_BODY_FIELD));
}

/* A send's audit detail: "to PEER, PRECEDENCE, N bytes" and tail ("to"
 * is the peer's name: ctl_cmd_send sets it). */
static void
send_detail(json_t *req, const char *tail, char *out, size_t cap)
{
	const char *to = json_string_value(json_object_get(req, "to"));
	const char *prec = json_string_value(json_object_get(req,
	    "precedence"));

	snprintf(out, cap, "to %.64s, %.16s, %zu bytes%s", to ? to : "?",
	    prec ? prec : "routine", text_len(req), tail);
}

/* An anchor command's audit detail: "asked of south, west" (the peers
 * asked; none: "asked of nobody: " and why not on the first channel, as
 * its row says: no path up, or operators asked too often). */
static void
anchor_detail(json_t *result, char *out, size_t cap)
{
	const char *why = NULL;
	size_t used = 0, i;
	json_t *c;

	out[0] = '\0';
	json_array_foreach(json_object_get(result, "channels"), i, c) {
		if (why == NULL)
			why = json_string_value(json_object_get(c, "error"));
		if (json_object_get(c, "ticket") != NULL && used < cap)
			used += (size_t)snprintf(out + used, cap - used,
			    "%s%.64s", used ? ", " : "asked of ",
			    json_string_value(json_object_get(c, "peer")));
	}
	if (used == 0)
		snprintf(out, cap, "asked of nobody: %.200s", why ? why :
		    "no channel");
}

/* The anchor command's own audit entry, just appended, into its result
 * ("entry"): an anchor of the log up to it or beyond covers the ask
 * (what `parley anchor` checks when parleyd restarted during its wait). */
static void
anchor_entry(const struct ctl_env *env, json_t *result)
{
	uint8_t head[STORE_ID_LEN];
	uint64_t n;

	if (result != NULL && store_audit_last(delivery_store(env->delivery),
	    &n, head) == 0 && n > 0)
		json_object_set_new(result, "entry", json_integer(
		    (json_int_t)n));
}

int
ctl_people_after(const struct ctl_env *env, const struct ctl_peer *who,
    const char *cmd, json_t *req, json_t *result, int r)
{
	char detail[512], nb[64];
	const char *id;
	uint8_t bid[STORE_ID_LEN];

	if (r == ERR_DENIED) {
		snprintf(detail, sizeof detail, "%s", cmd);
		return audit(env, who, "refused", detail);
	}
	/* A send that went out and then failed to commit (ERR_DOUBT): its
	 * entry rolled back with the group, and the peer may hold and act
	 * on the message: recorded on its own, after the rollback. */
	if (r == ERR_DOUBT && strcmp(cmd, "send") == 0) {
		send_detail(req, ", outcome unknown: the store failed just "
		    "after it was sent", detail, sizeof detail);
		return audit(env, who, "send", detail);
	}
	/* Refused or failed; or deferred (CTL_LATER): a deferred send is
	 * recorded by msgcmds.c inside the group commit's transaction. */
	if (r != 0)
		return 0;
	if (strcmp(cmd, "send") == 0 && !json_is_true(json_object_get(req,
	    "for_principal"))) {
		const char *local = json_string_value(json_object_get(result,
		    "local_id"));
		char tail[80];

		snprintf(tail, sizeof tail, "%s%.64s", result ? ", " : "",
		    local ? local : "");
		send_detail(req, tail, detail, sizeof detail);
		return audit(env, who, "send", detail);
	} else if (strcmp(cmd, "show") == 0 && result) {
		id = json_string_value(json_object_get(result, "id"));
		snprintf(detail, sizeof detail, "%.64s", id ? id : "?");
		r = audit(env, who, "show", detail);
		if (id && strlen(id) == 2 * STORE_ID_LEN && hex_decode(bid,
		    sizeof bid, id) == 0 && json_is_false(json_object_get(
		    result, "seen"))) {
			uint64_t t = clock_wall_ms();
			if (store_seen_put(delivery_store(env->delivery), bid,
			    (uint32_t)who->uid, who_name(env, who, nb,
			    sizeof nb), t) != 0)
				log_error("cannot record message %.16s as seen",
				    id);
			else	/* this display is the first: say so */
				json_object_set_new(result, "seen", json_pack(
				    "{s:s, s:I, s:I}", "by", who_name(env, who,
				    nb, sizeof nb), "uid",
				    (json_int_t)who->uid, "time_ms",
				    (json_int_t)t));
		}
		return r;
	} else if (strcmp(cmd, "anchor") == 0) {
		anchor_detail(result, detail, sizeof detail);
		if ((r = audit(env, who, cmd, detail)) == 0)
			anchor_entry(env, result);
		return r;
	} else if (strcmp(cmd, "msg-inject") == 0 ||
	    strcmp(cmd, "link-test") == 0) {
		/* (store-fail is not recorded: its own entry would take the
		 * fault it arms; it exists only with debug_inject) */
		return audit(env, who, cmd, "");
	}
	return 0;
}

static int
no_store(char *err, size_t errcap)
{
	snprintf(err, errcap, "this parleyd has no message store");
	return ERR_STATE;
}

static int
channel_index(const struct ctl_env *env, const uint8_t *ch, size_t *i)
{
	char hex[2 * STORE_ID_LEN + 1];

	hex_encode(hex, ch, STORE_ID_LEN);
	return delivery_find(env->delivery, hex, i);
}

/* The deadlines of a channel: the agreement's, else the defaults. */
static void
deadlines_of(const struct ctl_env *env, const uint8_t *ch, uint32_t d[4])
{
	static const uint32_t dflt[4] = { 600, 1800, 10800, 21600 };

	if (deadline_watch_get(env->deadlines, ch, d) != 0)
		memcpy(d, dflt, sizeof dflt);
}

int
ctl_cmd_ack(const struct ctl_env *env, const struct ctl_peer *who,
    json_t *req, json_t **result, char *err, size_t errcap)
{
	json_t *idv = json_object_get(req, "id"), *tv = json_object_get(req,
	    "text");
	uint8_t body[ACK_BODY_MAX];
	char nb[64], hex[2 * STORE_ID_LEN + 1], local[32], detail[256];
	struct ack_body ab;
	struct ack_info ai;
	struct store_msg m;
	struct store *st;
	size_t len, i;
	int64_t qid;
	int r;

	if (env->delivery == NULL)
		return no_store(err, errcap);
	st = delivery_store(env->delivery);
	if (!json_is_string(idv) || (tv && (!json_is_string(tv) ||
	    json_string_length(tv) > ACK_TEXT_MAX))) {
		snprintf(err, errcap, "want \"id\" and an optional \"text\" of "
		    "at most %d bytes", ACK_TEXT_MAX);
		return ERR_USAGE;
	}
	if ((r = ctl_find_message(st, json_string_value(idv), &m, err,
	    errcap)) != 0)
		return r;
	hex_encode(hex, m.id, STORE_ID_LEN);
	if (m.dir != STORE_IN || m.kind != ENVELOPE_TEXT) {
		snprintf(err, errcap, "%.16s is not a received text message: "
		    "only those are acknowledged", hex);
		r = ERR_USAGE;
		goto out;
	}
	if ((r = ack_lookup(st, m.channel, m.sender, m.id, &ai)) != 0)
		goto out;
	if (ai.found) {
		snprintf(err, errcap, "%.16s was acknowledged already by %s",
		    hex, ai.body.operator);
		r = ERR_STATE;
		goto out;
	}
	memset(&ab, 0, sizeof ab);
	memcpy(ab.acked, m.id, sizeof ab.acked);
	snprintf(ab.operator, sizeof ab.operator, "%s", who_name(env, who, nb,
	    sizeof nb));
	snprintf(ab.text, sizeof ab.text, "%s", tv ? json_string_value(tv) :
	    "");
	if ((r = ack_body_encode(&ab, body, sizeof body, &len)) != 0) {
		snprintf(err, errcap, "the text must be UTF-8 without NUL");
		r = ERR_USAGE;
		goto out;
	}
	/* The ACK and its audit entry in one transaction. */
	if ((r = channel_index(env, m.channel, &i)) != 0 ||
	    (r = store_txn_begin(st)) != 0) {
		snprintf(err, errcap, "cannot acknowledge: %s", err_str(r));
		goto out;
	}
	if ((r = delivery_queue(env->delivery, i, m.precedence,
	    ENVELOPE_PRIVATE, ENVELOPE_ACK, body, len, &qid)) != 0) {
		store_txn_rollback(st);
		snprintf(err, errcap, "cannot queue the acknowledgment: %s",
		    err_str(r));
		goto out;
	}
	snprintf(local, sizeof local, "q%lld", (long long)qid);
	snprintf(detail, sizeof detail, "%s (as %s)", hex, local);
	if ((r = audit(env, who, "ack", detail)) != 0) {
		store_txn_rollback(st);
		audit_refused(err, errcap, "acknowledgment", r);
		goto out;
	}
	if ((r = store_txn_commit(st)) != 0) {
		snprintf(err, errcap, "cannot store the acknowledgment: %s "
		    "(nothing stored)", err_str(r));
		goto out;
	}
	*result = json_pack("{s:s, s:s, s:s, s:s}", "acked", hex, "local_id",
	    local, "by", ab.operator, "state", "queued");
	r = *result ? 0 : ERR_NOMEM;
out:
	store_msg_fini(&m);
	return r;
}

int
ctl_cmd_send_held(const struct ctl_env *env, const struct ctl_peer *who,
    json_t *req, json_t **result, char *err, size_t errcap)
{
	json_t *to = json_object_get(req, "to"), *prec = json_object_get(req,
	    "precedence"), *mark = json_object_get(req, "marking");
	uint8_t p = ENVELOPE_ROUTINE, m = ENVELOPE_PRIVATE;
	const uint8_t *text;
	char nb[64], local[32], detail[256];
	struct store *st = delivery_store(env->delivery);
	size_t i, len;
	int64_t hid;
	int r;

	if ((r = ctl_send_text(who, req, &text, &len, err, errcap)) != 0)
		return r;
	if ((prec && (!json_is_string(prec) || envelope_precedence_parse(
	    json_string_value(prec), &p) != 0)) || (mark &&
	    (!json_is_string(mark) || envelope_marking_parse(
	    json_string_value(mark), &m) != 0)) || (to && !json_is_string(to))) {
		snprintf(err, errcap, "\"to\", \"precedence\" and \"marking\" "
		    "are optional strings: a peer, flash, immediate, priority "
		    "or routine, and private, contact-releasable or "
		    "releasable");
		return ERR_USAGE;
	}
	if ((r = delivery_find(env->delivery, to ? json_string_value(to) :
	    NULL, &i)) != 0) {
		snprintf(err, errcap, "no single channel named \"%.64s\"",
		    to ? json_string_value(to) : "");
		return ERR_USAGE;
	}
	/* The held message and its audit entry in one transaction. */
	if ((r = store_txn_begin(st)) != 0) {
		snprintf(err, errcap, "cannot hold the message: %s",
		    err_str(r));
		return r;
	}
	if ((r = store_held_put(st, delivery_channel_id(env->delivery, i), p,
	    m, ENVELOPE_TEXT, text, len, (uint32_t)who->uid,
	    who_name(env, who, nb, sizeof nb), clock_wall_ms(), &hid)) != 0) {
		store_txn_rollback(st);
		snprintf(err, errcap, "cannot hold the message: %s",
		    err_str(r));
		return r;
	}
	snprintf(local, sizeof local, "h%lld", (long long)hid);
	snprintf(detail, sizeof detail, "%s to %.64s, %s, %zu bytes, awaiting "
	    "approval", local, delivery_channel_peer(env->delivery, i),
	    envelope_precedence_name(p), len);
	if ((r = audit(env, who, "send-for-principal", detail)) != 0) {
		store_txn_rollback(st);
		audit_refused(err, errcap, "held message", r);
		return r;
	}
	if ((r = store_txn_commit(st)) != 0) {
		snprintf(err, errcap, "cannot hold the message: %s (nothing "
		    "stored)", err_str(r));
		return r;
	}
	*result = json_pack("{s:s, s:I, s:s, s:s}", "local_id", local,
	    "held_id", (json_int_t)hid, "to", delivery_channel_peer(
	    env->delivery, i), "state", "awaiting-approval");
	return *result ? 0 : ERR_NOMEM;
}

static json_t *
held_json(const struct ctl_env *env, const struct store_held *h)
{
	char local[32], q[32], ch[2 * STORE_ID_LEN + 1];
	size_t i;
	const char *peer = "?";

	snprintf(local, sizeof local, "h%lld", (long long)h->hid);
	snprintf(q, sizeof q, "q%lld", (long long)h->qid);
	hex_encode(ch, h->channel, STORE_ID_LEN);
	if (delivery_find(env->delivery, ch, &i) == 0)
		peer = delivery_channel_peer(env->delivery, i);
	return json_pack("{s:s, s:I, s:s, s:s, s:s, s:s, s:I, s:s, s:I, s:s, "
	    "s:s, s:I, s:s%}", "local_id", local, "held_id", (json_int_t)h->hid,
	    "to", peer, "channel", ch, "precedence", envelope_precedence_name(
	    h->precedence), "by", h->by, "uid", (json_int_t)h->uid,
	    "state", h->qid ? "approved" : "awaiting-approval",
	    "time_ms", (json_int_t)h->time_ms, "approved_by", h->approved_by,
	    "queued_as", h->qid ? q : "", "approved_ms",
	    (json_int_t)h->approved_ms, "text", (const char *)h->body,
	    h->body_len);
}

struct held_ctx {
	const struct ctl_env *env;
	json_t *arr;
	struct store_held copy;
	uint8_t *body;
	char by[STORE_NAME_MAX + 1];
};

static int
held_row(void *arg, const struct store_held *h)
{
	struct held_ctx *hc = arg;

	if (hc->arr)
		return json_array_append_new(hc->arr, held_json(hc->env, h));
	hc->copy = *h;
	if ((hc->body = malloc(h->body_len ? h->body_len : 1)) == NULL)
		return ERR_NOMEM;
	memcpy(hc->body, h->body, h->body_len);
	hc->copy.body = hc->body;
	snprintf(hc->by, sizeof hc->by, "%s", h->by);
	hc->copy.by = hc->by;
	hc->copy.approved_by = "";
	return 0;
}

int
ctl_cmd_held(const struct ctl_env *env, const struct ctl_peer *who,
    json_t *req, json_t **result, char *err, size_t errcap)
{
	struct held_ctx hc = { env, NULL, { 0 }, NULL, "" };
	int r;

	(void)who;
	if (env->delivery == NULL)
		return no_store(err, errcap);
	if ((hc.arr = json_array()) == NULL)
		return ERR_NOMEM;
	if ((r = store_held_each(delivery_store(env->delivery),
	    !json_is_true(json_object_get(req, "all")), held_row, &hc)) != 0) {
		json_decref(hc.arr);
		return r;
	}
	*result = json_pack("{s:o}", "held", hc.arr);
	return *result ? 0 : ERR_NOMEM;
}

int
ctl_cmd_approve(const struct ctl_env *env, const struct ctl_peer *who,
    json_t *req, json_t **result, char *err, size_t errcap)
{
	json_t *idv = json_object_get(req, "id");
	struct held_ctx hc = { env, NULL, { 0 }, NULL, "" };
	char nb[64], local[32], detail[256];
	const char *s;
	long long hid = 0;
	size_t i;
	int64_t qid;
	int r;

	if (env->delivery == NULL)
		return no_store(err, errcap);
	s = json_is_string(idv) ? json_string_value(idv) : "";
	if (num_parse(*s == 'h' ? s + 1 : s, 1, INT64_MAX, &hid) != 0) {
		snprintf(err, errcap, "\"id\" must name a held message: h "
		    "and a whole number from 1 (h12)");
		return ERR_USAGE;
	}
	if ((r = store_held_get(delivery_store(env->delivery), hid, held_row,
	    &hc)) != 0) {
		if (r == ERR_NOT_FOUND)
			snprintf(err, errcap, "no held message h%lld", hid);
		else
			snprintf(err, errcap, "store: %s", err_str(r));
		goto out;
	}
	if (hc.copy.qid != 0) {
		snprintf(err, errcap, "h%lld was approved already", hid);
		r = ERR_STATE;
		goto out;
	}
	/* One transaction: the message queued, the approval that released
	 * it and its audit entry, all or nothing (a crash cannot leave it
	 * queued and still held, to be approved and sent twice). */
	if ((r = channel_index(env, hc.copy.channel, &i)) != 0 ||
	    (r = store_txn_begin(delivery_store(env->delivery))) != 0) {
		snprintf(err, errcap, "cannot approve h%lld: %s", hid,
		    err_str(r));
		goto out;
	}
	if ((r = delivery_queue(env->delivery, i, hc.copy.precedence,
	    hc.copy.marking, hc.copy.kind, hc.copy.body, hc.copy.body_len,
	    &qid)) != 0 || (r = store_held_release(delivery_store(
	    env->delivery), hid, qid, (uint32_t)who->uid, who_name(env, who,
	    nb, sizeof nb), clock_wall_ms())) != 0) {
		store_txn_rollback(delivery_store(env->delivery));
		snprintf(err, errcap, "cannot queue h%lld: %s (nothing "
		    "changed)", hid, err_str(r));
		goto out;
	}
	snprintf(local, sizeof local, "q%lld", (long long)qid);
	snprintf(detail, sizeof detail, "h%lld (asked by %s) queued as %s",
	    hid, hc.copy.by, local);
	if ((r = audit(env, who, "approve", detail)) != 0) {
		store_txn_rollback(delivery_store(env->delivery));
		audit_refused(err, errcap, "approval", r);
		goto out;
	}
	if ((r = store_txn_commit(delivery_store(env->delivery))) != 0) {
		snprintf(err, errcap, "cannot store the approval of h%lld: %s "
		    "(nothing changed)", hid, err_str(r));
		goto out;
	}
	snprintf(detail, sizeof detail, "h%lld", hid);
	*result = json_pack("{s:s, s:s, s:I, s:s, s:s}", "held_id", detail,
	    "local_id",
	    local, "qid", (json_int_t)qid, "approved_by", who_name(env, who, nb,
	    sizeof nb), "state", "queued");
	r = *result ? 0 : ERR_NOMEM;
out:
	free(hc.body);
	return r;
}

struct alerts_ctx {
	json_t *arr;
};

static int
alert_row(void *arg, const struct store_alert *a)
{
	struct alerts_ctx *ac = arg;
	json_t *o = json_loads(a->json, 0, NULL);

	if (o == NULL && (o = json_object()) == NULL)
		return ERR_NOMEM;
	json_object_set_new(o, "n", json_integer(a->n));
	json_object_set_new(o, "cleared", json_boolean(a->cleared));
	if (a->cleared)
		json_object_set_new(o, "clearing", json_pack("{s:s, s:I, s:s, "
		    "s:I}", "by", a->cleared_by, "uid",
		    (json_int_t)a->cleared_uid, "note", a->note, "time_ms",
		    (json_int_t)a->cleared_ms));
	return json_array_append_new(ac->arr, o);
}

int
ctl_cmd_alerts(const struct ctl_env *env, const struct ctl_peer *who,
    json_t *req, json_t **result, char *err, size_t errcap)
{
	struct alerts_ctx ac;
	int r;

	(void)who;
	if (env->delivery == NULL)
		return no_store(err, errcap);
	if ((ac.arr = json_array()) == NULL)
		return ERR_NOMEM;
	if ((r = store_alerts_each(delivery_store(env->delivery),
	    json_is_true(json_object_get(req, "all")), alert_row, &ac)) != 0) {
		json_decref(ac.arr);
		snprintf(err, errcap, "store: %s", err_str(r));
		return r;
	}
	*result = json_pack("{s:o}", "alerts", ac.arr);
	return *result ? 0 : ERR_NOMEM;
}

int
ctl_cmd_alert_clear(const struct ctl_env *env, const struct ctl_peer *who,
    json_t *req, json_t **result, char *err, size_t errcap)
{
	json_t *idv = json_object_get(req, "id"), *nv = json_object_get(req,
	    "note");
	char nb[64], detail[STORE_NOTE_MAX + 64];
	const char *note;
	int r;

	if (env->delivery == NULL)
		return no_store(err, errcap);
	if (!json_is_integer(idv) || json_integer_value(idv) <= 0) {
		snprintf(err, errcap, "\"id\" must be an alert number: an "
		    "integer from 1 (not a string or a fraction)");
		return ERR_USAGE;
	}
	if (nv && (!json_is_string(nv) || json_string_length(nv) >
	    STORE_NOTE_MAX || strlen(json_string_value(nv)) !=
	    json_string_length(nv))) {
		snprintf(err, errcap, "\"note\" must be a string of at most "
		    "%d bytes, without NUL", STORE_NOTE_MAX);
		return ERR_USAGE;
	}
	note = nv ? json_string_value(nv) : "";
	/* The clearing and its audit entry in one transaction. */
	if ((r = store_txn_begin(delivery_store(env->delivery))) != 0) {
		snprintf(err, errcap, "store: %s", err_str(r));
		return r;
	}
	r = store_alert_clear(delivery_store(env->delivery),
	    json_integer_value(idv), (uint32_t)who->uid, who_name(env, who, nb,
	    sizeof nb), note, clock_wall_ms());
	if (r != 0)
		store_txn_rollback(delivery_store(env->delivery));
	if (r == ERR_NOT_FOUND || r == ERR_STATE) {
		snprintf(err, errcap, r == ERR_STATE ? "alert %lld was cleared "
		    "already" : "no alert %lld", (long long)json_integer_value(
		    idv));
		return r;
	}
	if (r != 0) {
		snprintf(err, errcap, "store: %s", err_str(r));
		return r;
	}
	snprintf(detail, sizeof detail, "alert %lld: %s",
	    (long long)json_integer_value(idv), note);
	if ((r = audit(env, who, "alert-clear", detail)) != 0) {
		store_txn_rollback(delivery_store(env->delivery));
		audit_refused(err, errcap, "clearing", r);
		return r;
	}
	if ((r = store_txn_commit(delivery_store(env->delivery))) != 0) {
		snprintf(err, errcap, "store: %s (not cleared)", err_str(r));
		return r;
	}
	*result = json_pack("{s:I, s:s, s:s}", "alert",
	    json_integer_value(idv), "cleared_by", who_name(env, who, nb,
	    sizeof nb), "note", note);
	return *result ? 0 : ERR_NOMEM;
}

static int
audit_row(void *arg, uint64_t n, const uint8_t *entry, size_t len,
    const uint8_t hash[STORE_ID_LEN])
{
	json_t *arr = arg;
	struct audit_entry e;
	char h[2 * STORE_ID_LEN + 1];

	(void)n;
	hex_encode(h, hash, STORE_ID_LEN);
	if (audit_decode(&e, entry, len) != 0)
		return json_array_append_new(arr, json_pack("{s:I, s:s}", "n",
		    (json_int_t)n, "error", "entry does not decode"));
	return json_array_append_new(arr, json_pack("{s:I, s:I, s:I, s:s, "
	    "s:s, s:s, s:s}", "n", (json_int_t)e.n, "time_ms",
	    (json_int_t)e.time_ms, "uid", (json_int_t)e.uid, "operator",
	    e.operator, "action", e.action, "detail", e.detail, "hash", h));
}

int
ctl_cmd_audit(const struct ctl_env *env, const struct ctl_peer *who,
    json_t *req, json_t **result, char *err, size_t errcap)
{
	json_t *arr;
	size_t count, bad;
	int r, v;

	(void)who;
	(void)req;
	if (env->delivery == NULL)
		return no_store(err, errcap);
	if ((arr = json_array()) == NULL)
		return ERR_NOMEM;
	if ((r = store_audit_each(delivery_store(env->delivery), audit_row,
	    arr)) != 0) {
		json_decref(arr);
		snprintf(err, errcap, "store: %s", err_str(r));
		return r;
	}
	v = audit_verify_store(delivery_store(env->delivery), &count, &bad);
	*result = json_pack("{s:o, s:b, s:I, s:s}", "entries", arr,
	    "verified", v == 0, "count", (json_int_t)count, "verify",
	    v == 0 ? "ok" : err_str(v));
	if (*result && v != 0)
		json_object_set_new(*result, "bad_entry", json_integer(
		    (json_int_t)bad + 1));
	return *result ? 0 : ERR_NOMEM;
}

int
ctl_cmd_whoami(const struct ctl_env *env, const struct ctl_peer *who,
    json_t *req, json_t **result, char *err, size_t errcap)
{
	const struct roles_operator *op = roles_find(roles_of(env), who->uid);
	char names[160];

	(void)req;
	(void)err;
	(void)errcap;
	roles_names(op ? op->roles : 0, names, sizeof names, ",");
	*result = json_pack("{s:I, s:s, s:s, s:b}", "uid", (json_int_t)who->uid,
	    "name", op ? op->name : "", "roles", names, "operator", op != NULL);
	return *result ? 0 : ERR_NOMEM;
}

/* The four states of a message, kept apart (docs/operators.md): stored
 * here, receipted by the peer's node, seen by a person at the receiving
 * side (known only there), acknowledged by a named operator. */
void
ctl_people_msg(const struct ctl_env *env, const struct store_msg *m,
    json_t *o)
{
	uint32_t dl[4], uid;
	struct ack_info ai;
	struct ack_body ab;
	struct store *st;
	char name[STORE_NAME_MAX + 1], h[2 * STORE_ID_LEN + 1];
	uint64_t t, due;
	bool late;

	if (env->delivery == NULL)
		return;
	if (m->seq == 0) {
		/* Queued: stored here, nothing else yet. */
		json_object_set_new(o, "stored", json_true());
		json_object_set_new(o, "receipted", json_false());
		json_object_set_new(o, "acknowledged", json_false());
		json_object_set_new(o, "ack_state", json_string("not sent"));
		return;
	}
	st = delivery_store(env->delivery);
	json_object_set_new(o, "kind", json_string(envelope_kind_name(m->kind)));
	if (m->kind == ENVELOPE_ACK) {
		if (ack_body_decode(&ab, m->body, m->body_len) == 0) {
			hex_encode(h, ab.acked, STORE_ID_LEN);
			json_object_set_new(o, "ack_of", json_string(h));
			json_object_set_new(o, "ack_by", json_string(
			    ab.operator));
		}
		return;
	}
	deadlines_of(env, m->channel, dl);
	due = m->time_ms + ack_deadline_ms(dl, m->precedence);
	json_object_set_new(o, "stored", json_true());
	json_object_set_new(o, "receipted", json_boolean(m->dir == STORE_IN ||
	    m->state == STORE_RECEIPTED));
	if (m->dir == STORE_OUT)
		json_object_set_new(o, "seen", json_string("not known to the "
		    "sender"));
	else if (store_seen_get(st, m->id, &uid, name, sizeof name, &t) == 0)
		json_object_set_new(o, "seen", json_pack("{s:s, s:I, s:I}",
		    "by", name, "uid", (json_int_t)uid, "time_ms",
		    (json_int_t)t));
	else
		json_object_set_new(o, "seen", json_false());
	json_object_set_new(o, "due_ms", json_integer((json_int_t)due));
	if (ack_lookup(st, m->channel, m->sender, m->id, &ai) != 0)
		return;
	if (ai.found) {
		late = ack_is_late(m->time_ms, ai.time_ms, due - m->time_ms);
		hex_encode(h, ai.id, STORE_ID_LEN);
		json_object_set_new(o, "acknowledged", json_pack("{s:s, s:s, "
		    "s:I, s:b, s:s, s:b}", "by", ai.body.operator, "text",
		    ai.body.text, "time_ms", (json_int_t)ai.time_ms, "late",
		    late, "ack_id", ai.assigned ? h : "", "sent", ai.assigned));
		json_object_set_new(o, "ack_state", json_string(late ? "late" :
		    "acknowledged"));
	} else {
		json_object_set_new(o, "acknowledged", json_false());
		json_object_set_new(o, "ack_state",
		    json_string(clock_wall_ms() > due ? "overdue" :
		    "awaiting"));
	}
}

static json_t *
owed_json(const struct deadline_owed *d)
{
	return json_pack("{s:I, s:s, s:I, s:s}", "count", (json_int_t)d->count,
	    "oldest", d->oldest_id, "oldest_ms", (json_int_t)d->oldest_ms,
	    "highest_precedence", d->top < 0 ? "" :
	    envelope_precedence_name((unsigned)d->top));
}

void
ctl_people_status(const struct ctl_env *env, const char *idhex, json_t *chan)
{
	struct deadline_owed waiting, we, peer;
	uint64_t read, of;
	uint32_t dl[4];
	size_t i;
	const uint8_t *ch;

	if (env->delivery == NULL || delivery_find(env->delivery, idhex, &i)
	    != 0)
		return;
	ch = delivery_channel_id(env->delivery, i);
	/* the start's read is not through: its progress, not a count that
	 * would read the rest in this request */
	if (deadline_owed_reading(env->deadlines, ch, &read, &of)) {
		json_object_set_new(chan, "acks", json_pack("{s:b, s:I, s:I}",
		    "reading", 1, "read", (json_int_t)read, "of",
		    (json_int_t)of));
		return;
	}
	deadlines_of(env, ch, dl);
	if (deadline_owed(env->deadlines, delivery_store(env->delivery), ch,
	    delivery_channel_self(env->delivery, i), dl, clock_wall_ms(),
	    &waiting, &we, &peer) != 0)
		return;
	json_object_set_new(chan, "acks", json_pack("{s:o, s:o, s:o}",
	    "waiting_for_us", owed_json(&waiting), "we_overdue",
	    owed_json(&we), "peer_overdue", owed_json(&peer)));
}
