/*
 * msgcmds.c: the control socket's message commands: send, inbox, show,
 * log, and the test-only msg-inject (docs/control.md). Each validates its
 * request before it touches anything: bad input gets ERR_USAGE and a
 * message, and changes nothing.
 */
#include "ctl/ctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hex.h"
#include "msg/alert.h"
#include "msg/checkpoint.h"
#include "msg/delivery.h"
#include "store/people.h"

#define LIST_DEFAULT 50
#define FIRST_LINE_MAX 72

static const char *
state_name(enum store_state s)
{
	switch (s) {
	case STORE_QUEUED: return "queued";
	case STORE_SENT: return "sent";
	case STORE_RECEIPTED: return "receipted";
	case STORE_RECEIVED: return "received";
	default: return "?";
	}
}

static int
no_engine(char *err, size_t errcap)
{
	snprintf(err, errcap, "this parleyd has no message store");
	return ERR_STATE;
}

/* The channel named by the optional string member key (peer name or id
 * prefix); the only channel when absent. */
static int
channel_arg(const struct ctl_env *env, json_t *req, const char *key,
    size_t *index, char *err, size_t errcap)
{
	json_t *v = json_object_get(req, key);
	const char *name = NULL;
	int r;

	if (v != NULL && !json_is_string(v)) {
		snprintf(err, errcap, "\"%s\" must be a peer name or channel "
		    "id prefix", key);
		return ERR_USAGE;
	}
	if (v)
		name = json_string_value(v);
	if ((r = delivery_find(env->delivery, name, index)) == 0)
		return 0;
	if (name == NULL)
		snprintf(err, errcap, r == ERR_NOT_FOUND ? "no channel is "
		    "installed" : "several channels: say which with --to");
	else
		snprintf(err, errcap, r == ERR_NOT_FOUND ? "no channel with "
		    "peer or id prefix \"%.64s\"" : "\"%.64s\" names several "
		    "channels", name);
	return ERR_USAGE;
}

/* The name of the party of channel ch (by index i of the delivery) that
 * is sender. */
static const char *
party_name(const struct ctl_env *env, const uint8_t *ch, uint8_t sender,
    bool *ours)
{
	const struct delivery *d = env->delivery;

	for (size_t i = 0; i < delivery_channel_count(d); i++) {
		if (memcmp(delivery_channel_id(d, i), ch, STORE_ID_LEN) != 0)
			continue;
		*ours = delivery_channel_self(d, i) == sender;
		return *ours ? "me" : delivery_channel_peer(d, i);
	}
	*ours = false;
	return "?";
}

static json_t *
msg_json(const struct ctl_env *env, const struct store_msg *m, bool body)
{
	char ch[2 * STORE_ID_LEN + 1], id[2 * STORE_ID_LEN + 1], local[32];
	char line[FIRST_LINE_MAX + 1];
	const char *peer;
	size_t n = 0;
	bool ours;
	json_t *o;

	hex_encode(ch, m->channel, STORE_ID_LEN);
	hex_encode(id, m->id, STORE_ID_LEN);
	snprintf(local, sizeof local, "q%lld", (long long)m->qid);
	peer = party_name(env, m->channel, (uint8_t)(1 - m->sender), &ours);
	(void)ours;
	while (n < m->body_len && n < FIRST_LINE_MAX && m->body[n] != '\n')
		n++;
	/* Do not cut a UTF-8 sequence in two. */
	while (n > 0 && n < m->body_len && (m->body[n] & 0xc0) == 0x80)
		n--;
	memcpy(line, m->body, n);
	line[n] = '\0';
	o = json_pack("{s:s, s:I, s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:s, "
	    "s:I, s:I, s:I, s:I, s:s, s:I}",
	    "local_id", local, "qid", (json_int_t)m->qid,
	    "id", m->seq ? id : "", "channel", ch,
	    "dir", m->dir == STORE_OUT ? "out" : "in",
	    "seq", (json_int_t)m->seq,
	    m->dir == STORE_OUT ? "to" : "from", m->dir == STORE_OUT ?
	    peer : party_name(env, m->channel, m->sender, &ours),
	    "precedence", envelope_precedence_name(m->precedence),
	    "marking", envelope_marking_name(m->marking),
	    "state", state_name(m->state),
	    "time_ms", (json_int_t)m->time_ms,
	    "stored_ms", (json_int_t)m->stored_ms,
	    "assigned_ms", (json_int_t)m->assigned_ms,
	    "receipted_ms", (json_int_t)m->receipted_ms,
	    "first_line", line, "body_len", (json_int_t)m->body_len);
	if (o)
		ctl_people_msg(env, m, o);	/* states, ack: peoplecmds.c */
	if (o && body) {
		json_object_set_new(o, "kind", json_string(
		    envelope_kind_name(m->kind)));
		json_object_set_new(o, "body", json_stringn((const char *)
		    m->body, m->body_len));
	}
	return o;
}

/* A send whose answer waits for the group commit (or the receipt). */
struct send_defer {
	const struct ctl_env *env;
	struct ctl_peer who;		/* a copy: for the audit log */
	json_t *req;			/* held until done */
	size_t i;
	bool wait;
	struct ctl_later *later;
	int audit_r;			/* its audit entry failed: why */
};

/*
 * Why the group commit being answered was rolled back, when a send's
 * audit entry failed in it (send_audit): the other sends of the group are
 * told that, not a failure of their own. One group's submissions all come
 * before its commit, and its failed sends are all answered within it
 * (delivery.h), so each submission clears the note.
 */
static struct {
	int r;				/* 0: no audit entry failed */
	char why[160];			/* the store's message */
} group_audit;


int
ctl_send_text(const struct ctl_peer *who, json_t *req, const uint8_t **text,
    size_t *len, char *err, size_t errcap)
{
	json_t *t = json_object_get(req, "text");
	int r;

	if (t != NULL && who->body != NULL) {
		snprintf(err, errcap, "the text comes as \"text\" or as a raw "
		    "body (\"" CTL_BODY_FIELD "\"), not both");
		return ERR_USAGE;
	}
	if (who->body != NULL) {
		*text = who->body;
		*len = who->body_len;
	} else if (json_is_string(t)) {
		*text = (const uint8_t *)json_string_value(t);
		*len = json_string_length(t);
	} else {
		snprintf(err, errcap, "\"text\" must be a string of 1..%u "
		    "bytes (or a raw body: \"" CTL_BODY_FIELD "\")",
		    ENVELOPE_BODY_MAX);
		return ERR_USAGE;
	}
	if (*len == 0 || *len > ENVELOPE_BODY_MAX) {
		snprintf(err, errcap, "the text must be 1..%u bytes (%s has "
		    "%zu)", ENVELOPE_BODY_MAX, who->body ? "the raw body" :
		    "\"text\"", *len);
		return ERR_USAGE;
	}
	/* checked here, before the group commit: a refusal that comes back
	 * from the store is then never the text's (send_result) */
	if ((r = envelope_body_check_kind(ENVELOPE_TEXT, *text, *len)) != 0) {
		snprintf(err, errcap, "text refused: %s (it must be UTF-8 "
		    "without NUL)", err_str(r));
		return ERR_USAGE;
	}
	return 0;
}
static delivery_done_fn send_done;
static delivery_txn_fn send_audit;

int
ctl_cmd_send(const struct ctl_env *env, const struct ctl_peer *who,
    json_t *req, json_t **result, char *err, size_t errcap)
{
	json_t *wait = json_object_get(req, "wait");
	json_t *fp = json_object_get(req, "for_principal");
	struct send_defer *sd;
	const uint8_t *text;
	json_t *prec = json_object_get(req, "precedence");
	json_t *mark = json_object_get(req, "marking");
	uint8_t p = ENVELOPE_ROUTINE, m = ENVELOPE_PRIVATE;
	size_t i, len;
	int r;

	if (env->delivery == NULL)
		return no_engine(err, errcap);
	/* Checked first: a request meant to be held must never leave at
	 * once because its flag was mistyped ("yes", 1). */
	if (fp != NULL && !json_is_boolean(fp)) {
		snprintf(err, errcap, "\"for_principal\" must be true or "
		    "false: nothing sent");
		return ERR_USAGE;
	}
	if (json_is_true(fp))
		return ctl_cmd_send_held(env, who, req, result, err, errcap);
	if ((r = ctl_send_text(who, req, &text, &len, err, errcap)) != 0)
		return r;
	if ((prec && (!json_is_string(prec) || envelope_precedence_parse(
	    json_string_value(prec), &p) != 0)) || (mark &&
	    (!json_is_string(mark) || envelope_marking_parse(
	    json_string_value(mark), &m) != 0))) {
		snprintf(err, errcap, "precedence is flash, immediate, "
		    "priority or routine; marking is private, "
		    "contact-releasable or releasable");
		return ERR_USAGE;
	}
	if ((r = channel_arg(env, req, "to", &i, err, errcap)) != 0)
		return r;
	/* The audit entry names the peer, however the channel was given
	 * (a name, a channel id, or none with one channel). */
	if (json_object_set_new(req, "to", json_string(delivery_channel_peer(
	    env->delivery, i))) != 0)
		return ERR_NOMEM;
	if (wait != NULL && !json_is_boolean(wait)) {
		snprintf(err, errcap, "\"wait\" must be true or false");
		return ERR_USAGE;
	}
	/* Group commit: the answer comes after the commit that stores this
	 * and whatever else came in the same loop turn. */
	if ((sd = calloc(1, sizeof *sd)) != NULL &&
	    (sd->later = ctl_defer(who)) != NULL) {
		sd->env = env;
		sd->who = *who;
		sd->who.body = NULL;	/* the raw body is not kept */
		sd->who.body_len = 0;
		sd->req = json_incref(req);
		sd->i = i;
		sd->wait = json_is_true(wait);
		group_audit.r = 0;
		r = delivery_submit(env->delivery, i, p, m, ENVELOPE_TEXT,
		    text, len, sd->wait,
		    send_audit, send_done, sd);
		if (r == 0)
			return CTL_LATER;
		send_done(sd, r, 0);
		return CTL_LATER;
	}
	/* No memory for the deferred answer: refused, not queued outside
	 * the group commit (its audit entry would not share its
	 * transaction, docs/delivery.md "Group commit"). */
	free(sd);
	snprintf(err, errcap, "out of memory: not sent");
	return ERR_NOMEM;
}

/* A send's result object as JSON text (the hot path answers with it as
 * it is): its local id, channel, peer (a name of [a-z0-9-]) and state. */
#define SEND_OK_MAX (160 + 2 * STORE_ID_LEN + KEYS_NAME_MAX)
static void
send_ok_text(const struct ctl_env *env, size_t i, int64_t qid,
    bool receipted, char *text, size_t cap)
{
	char ch[2 * STORE_ID_LEN + 1];

	hex_encode(ch, delivery_channel_id(env->delivery, i), STORE_ID_LEN);
	snprintf(text, cap, "{\"local_id\":\"q%lld\",\"qid\":%lld,"
	    "\"channel\":\"%s\",\"to\":\"%s\",\"state\":\"%s\"}",
	    (long long)qid, (long long)qid, ch,
	    delivery_channel_peer(env->delivery, i), receipted ?
	    "receipted" : "queued");
}

/* The store's message after a failure r, where it is the store's own
 * (an SQLite error it mapped); "" for the other codes. */
static const char *
store_why(const struct ctl_env *env, int r)
{
	return r == ERR_INVALID || r == ERR_TOO_BIG || r == ERR_IO ||
	    r == ERR_FULL ? store_errmsg(delivery_store(env->delivery)) : "";
}

/* Why send sd was not stored (r, nonzero: delivery_done_fn's code); the
 * code to answer with. Its text was checked before it was submitted
 * (ctl_send_text), so a refusal here (ERR_INVALID: a constraint of the
 * store failed) is the store's, not the text's. */
static int
send_result(const struct send_defer *sd, int r, char *err, size_t errcap)
{
	const struct ctl_env *env = sd->env;
	const char *peer = delivery_channel_peer(env->delivery, sd->i);

	if (r == ERR_AGAIN) {
		snprintf(err, errcap, "busy: too many messages waiting to be "
		    "stored or receipted; try again");
	} else if (r == ERR_FULL) {
		snprintf(err, errcap, "store full: %s (nothing was stored)",
		    store_errmsg(delivery_store(env->delivery)));
	} else if (r == ERR_DOUBT) {
		snprintf(err, errcap, "outcome unknown: the message was sent "
		    "to %s just before this node's store failed (%s); it is "
		    "kept and stored at its place in the chain once the store "
		    "works (after a restart, from %s if it holds it): check "
		    "`parley log` before sending it again", peer,
		    store_errmsg(delivery_store(env->delivery)), peer);
	} else if (sd->audit_r != 0) {
		snprintf(err, errcap, "not stored: the audit log cannot record "
		    "this send (%s%s%s), and no send is stored without its "
		    "entry; the sends committed with it were rolled back too",
		    err_str(sd->audit_r), group_audit.why[0] ? ": " : "",
		    group_audit.why);
	} else if (group_audit.r != 0) {
		snprintf(err, errcap, "not stored: it was committed together "
		    "with another send whose audit entry could not be written "
		    "(%s%s%s), and that commit was rolled back whole; send it "
		    "again", err_str(group_audit.r), group_audit.why[0] ?
		    ": " : "", group_audit.why);
	} else if (r == ERR_INVALID || r == ERR_KIND || r == ERR_TOO_BIG) {
		snprintf(err, errcap, "not stored: the store refused it "
		    "(%s%s%s)", err_str(r), store_why(env, r)[0] ? ": " : "",
		    store_why(env, r));
	} else
		snprintf(err, errcap, "cannot queue: %s", err_str(r));
	return r;
}

/* Inside the group's transaction: the audit log's entry for this send
 * commits with the message (ctl_people_after leaves a deferred send to
 * this); if it cannot be written, the group is rolled back (no send
 * without its entry), and the note of why is kept for the answers. */
static int
send_audit(void *arg, int64_t qid)
{
	struct send_defer *sd = arg;
	char local[32];
	json_t *res;
	int r;

	snprintf(local, sizeof local, "q%lld", (long long)qid);
	if ((res = json_pack("{s:s}", "local_id", local)) == NULL)
		r = ERR_NOMEM;
	else {
		r = ctl_people_after(sd->env, &sd->who, "send", sd->req, res,
		    0);
		json_decref(res);
	}
	if ((sd->audit_r = r) != 0) {
		group_audit.r = r;
		snprintf(group_audit.why, sizeof group_audit.why, "%s",
		    store_why(sd->env, r));
	}
	return r;
}

/* delivery_submit's answer: the deferred reply to send. */
static void
send_done(void *arg, int r, int64_t qid)
{
	struct send_defer *sd = arg;
	char err[512] = "";

	if (r == ERR_CLOSED && qid > 0) {
		/* Stored, then the daemon stopped before the receipt came:
		 * the message goes when it is back. */
		snprintf(err, sizeof err, "stored as q%lld, not receipted yet: "
		    "the daemon is stopping", (long long)qid);
		ctl_answer(sd->later, r, NULL, err);
	} else if (r == 0) {
		/* the hot path: no JSON tree built and dumped */
		char text[SEND_OK_MAX];
		send_ok_text(sd->env, sd->i, qid, sd->wait, text, sizeof text);
		ctl_answer_result_text(sd->later, text);
	} else {
		if (r == ERR_DOUBT)	/* logged if it fails */
			(void)ctl_people_after(sd->env, &sd->who, "send",
			    sd->req, NULL, r);
		r = send_result(sd, r, err, sizeof err);
		ctl_answer(sd->later, r, NULL, err);
	}
	json_decref(sd->req);
	free(sd);
}

struct list_ctx {
	const struct ctl_env *env;
	json_t *arr;
};

static int
list_row(void *arg, struct store_msg *m)
{
	struct list_ctx *lc = arg;

	json_array_append_new(lc->arr, msg_json(lc->env, m, false));
	return 0;
}

/* inbox and log: {"channel": C?, "max": N?}. */
static int
list(const struct ctl_env *env, json_t *req, enum store_dir dir,
    json_t **result, char *err, size_t errcap)
{
	json_t *mx = json_object_get(req, "max");
	json_int_t max = LIST_DEFAULT;
	const uint8_t *ch = NULL;
	struct list_ctx lc;
	size_t i;
	int r;

	if (env->delivery == NULL)
		return no_engine(err, errcap);
	if (mx && (!json_is_integer(mx) || (max = json_integer_value(mx)) <
	    1 || max > CTL_LIST_MAX)) {
		snprintf(err, errcap, "\"max\" must be an integer from 1 "
		    "to %d", CTL_LIST_MAX);
		return ERR_USAGE;
	}
	if (json_object_get(req, "channel")) {
		if ((r = channel_arg(env, req, "channel", &i, err, errcap))
		    != 0)
			return r;
		ch = delivery_channel_id(env->delivery, i);
	}
	lc.env = env;
	if ((lc.arr = json_array()) == NULL)
		return ERR_NOMEM;
	if ((r = store_list(delivery_store(env->delivery), ch, dir,
	    (size_t)max, list_row, &lc)) != 0) {
		json_decref(lc.arr);
		snprintf(err, errcap, "store: %s", err_str(r));
		return r;
	}
	*result = json_pack("{s:o}", "messages", lc.arr);
	return *result ? 0 : ERR_NOMEM;
}

int
ctl_cmd_inbox(const struct ctl_env *env, const struct ctl_peer *who,
    json_t *req, json_t **result, char *err, size_t errcap)
{
	(void)who;
	return list(env, req, STORE_IN, result, err, errcap);
}

int
ctl_cmd_log(const struct ctl_env *env, const struct ctl_peer *who,
    json_t *req, json_t **result, char *err, size_t errcap)
{
	(void)who;
	return list(env, req, STORE_BOTH, result, err, errcap);
}

/* {"id": "q123" | 64 hex | unique hex prefix of >= 4}. */
int
ctl_cmd_show(const struct ctl_env *env, const struct ctl_peer *who,
    json_t *req, json_t **result, char *err, size_t errcap)
{
	json_t *idv = json_object_get(req, "id");
	struct store_msg m;
	int r;

	(void)who;
	if (env->delivery == NULL)
		return no_engine(err, errcap);
	if ((r = ctl_find_message(delivery_store(env->delivery),
	    json_is_string(idv) ? json_string_value(idv) : "", &m, err,
	    errcap)) != 0)
		return r;
	*result = msg_json(env, &m, true);
	store_msg_fini(&m);
	return *result ? 0 : ERR_NOMEM;
}

/* {"channel": C, "path": N, "type": N, "hex": H}: feeds one record to the
 * engine as if the peer had sent it on path N. Only with debug_inject. */
int
ctl_cmd_msg_inject(const struct ctl_env *env, const struct ctl_peer *who,
    json_t *req, json_t **result, char *err, size_t errcap)
{
	json_int_t path, type;
	const char *hex;
	uint8_t *b;
	size_t i, n;
	int r;

	(void)who;
	if (env->delivery == NULL)
		return no_engine(err, errcap);
	if (!env->debug_inject) {
		snprintf(err, errcap, "msg-inject is off (parleyd.conf "
		    "\"debug_inject\": true turns it on, for tests only)");
		return ERR_DENIED;
	}
	if (json_unpack(req, "{s:I, s:I, s:s}", "path", &path, "type", &type,
	    "hex", &hex) != 0 || path < 0 || path >= DELIVERY_MAX_PATHS ||
	    type < 0x10 || type > 0xff || strlen(hex) % 2 != 0) {
		snprintf(err, errcap, "want path, type (16..255), hex");
		return ERR_USAGE;
	}
	if ((r = channel_arg(env, req, "channel", &i, err, errcap)) != 0)
		return r;
	n = strlen(hex) / 2;
	if ((b = malloc(n ? n : 1)) == NULL)
		return ERR_NOMEM;
	if (hex_decode(b, n, hex) != 0) {
		free(b);
		snprintf(err, errcap, "bad hex");
		return ERR_USAGE;
	}
	if (type == CHECKPOINT_REC && env->checkpoints != NULL) {
		/* as parleyd's link glue hands it over */
		delivery_flush(env->delivery);
		checkpoint_set_record(env->checkpoints,
		    delivery_channel_id(env->delivery, i), (unsigned)path, b,
		    n, 0);
	} else
		delivery_record(env->delivery, delivery_channel_id(
		    env->delivery, i), (unsigned)path, (uint8_t)type, b, n);
	free(b);
	*result = json_pack("{s:I}", "injected", (json_int_t)n);
	return *result ? 0 : ERR_NOMEM;
}

/* {"cmd":"store-fail", "writes": N}: the next N write-outs of a commit's
 * WAL bytes fail as a disk error would (a test of what a sender is told
 * when the store fails after an early send). Only with debug_inject. */
int
ctl_cmd_store_fail(const struct ctl_env *env, const struct ctl_peer *who,
    json_t *req, json_t **result, char *err, size_t errcap)
{
	json_int_t n;

	(void)who;
	if (!env->debug_inject) {
		snprintf(err, errcap, "store-fail is off (parleyd.conf "
		    "\"debug_inject\": true turns it on, for tests only)");
		return ERR_DENIED;
	}
	if (json_unpack(req, "{s:I}", "writes", &n) != 0 || n < 0 || n > 100) {
		snprintf(err, errcap, "want writes (0..100)");
		return ERR_USAGE;
	}
	store_fail_writes((unsigned)n);
	*result = json_pack("{s:I}", "failing_writes", n);
	return *result ? 0 : ERR_NOMEM;
}

/* The record's state of channel i: the last co-signed checkpoint (also
 * after a restart: it is read back from the store), the alarm (the newest
 * checkpoint alert no operator has cleared, also after a restart; the
 * engine's last alarm when the alerts cannot be read), and how many of
 * the channel's alerts no operator has cleared ("alerts_open"). */
static void
checkpoint_status(const struct ctl_env *env, size_t i, json_t *chan)
{
	const struct checkpoint_engine *e;
	char head[2 * ENVELOPE_ID_LEN + 1], full[2 * ENVELOPE_ID_LEN + 1];
	char alarm[CHECKPOINT_ALARM_MAX] = "";
	json_t *o, *last = json_null();
	int64_t nopen;
	bool known;

	hex_encode(full, delivery_channel_id(env->delivery, i),
	    ENVELOPE_ID_LEN);
	/* kept by the alerter between changes: no pass per status call */
	known = (env->alerts != NULL ? alert_open(env->alerts, full, &nopen,
	    alarm, sizeof alarm) : alert_open_scan(delivery_store(
	    env->delivery), full, &nopen, alarm, sizeof alarm)) == 0;
	if (known)
		json_object_set_new(chan, "alerts_open", json_integer(nopen));
	if (env->checkpoints == NULL || (e = checkpoint_set_engine(
	    env->checkpoints, delivery_channel_id(env->delivery, i))) == NULL)
		return;
	if (e->have_last) {
		hex_encode(head, e->last.head, sizeof e->last.head);
		last = json_pack("{s:[I, I], s:I, s:s}", "seq",
		    (json_int_t)e->last.seq[0], (json_int_t)e->last.seq[1],
		    "time_ms", (json_int_t)e->last.time_ms, "head", head);
	}
	o = json_pack("{s:o*, s:I, s:I, s:I, s:s?}", "last", last,
	    "cosigned", (json_int_t)e->cosigned,
	    "alarms", (json_int_t)e->alarms,
	    "store_errors", (json_int_t)e->store_errors,
	    "alarm", !known ? (e->alarm[0] ? e->alarm : NULL) :
	    alarm[0] ? alarm : NULL);
	if (o != NULL)
		json_object_set_new(chan, "checkpoint", o);
}

void
ctl_msg_status(const struct ctl_env *env, const char *idhex, json_t *chan)
{
	struct delivery_stats st;
	size_t i;

	if (env->delivery == NULL ||
	    delivery_find(env->delivery, idhex, &i) != 0 ||
	    delivery_stats(env->delivery, i, &st) != 0)
		return;
	json_object_set_new(chan, "messages", json_pack("{s:I, s:I, s:I, "
	    "s:I, s:I, s:I, s:b, s:I, s:I, s:I}",
	    "queued", (json_int_t)st.queued,
	    "in_flight", (json_int_t)(st.assigned - st.receipted),
	    "assigned", (json_int_t)st.assigned,
	    "receipted", (json_int_t)st.receipted,
	    "received", (json_int_t)st.received,
	    "active_path", (json_int_t)st.active_path,
	    "synced", st.synced, "refused", (json_int_t)st.refused,
	    "resends", (json_int_t)st.resends,
	    "store_commits", (json_int_t)store_commits(delivery_store(
	    env->delivery))));
	if (st.held_first > 0)
		json_object_set_new(json_object_get(chan, "messages"),
		    "held", json_pack("{s:I, s:I}", "first",
		    (json_int_t)st.held_first, "last",
		    (json_int_t)st.held_last));
	if (st.fence_seq > 0)
		json_object_set_new(json_object_get(chan, "messages"),
		    "fence", json_pack("{s:o, s:I}", "seq", st.fence_seq ==
		    UINT64_MAX ? json_null() : json_integer((json_int_t)
		    st.fence_seq), "until_ms",
		    (json_int_t)st.fence_until_ms));
	if (st.recovering_to > 0)
		json_object_set_new(json_object_get(chan, "messages"),
		    "recovering", json_pack("{s:I, s:I, s:I}", "peer_holds",
		    (json_int_t)st.recovering_to, "ours",
		    (json_int_t)st.assigned, "progress_ms",
		    (json_int_t)st.recovering_progress_ms));
	ctl_people_status(env, idhex, chan);	/* peoplecmds.c */
	checkpoint_status(env, i, chan);
}
