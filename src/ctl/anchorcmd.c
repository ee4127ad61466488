/*
 * anchorcmd.c: audit anchors at the control socket (docs/control.md,
 * "anchor" and "status: anchor"; docs/operators.md "Audit anchors"): the
 * anchor command, an operator's ask on each channel or on one, and each
 * channel's anchors in status. It only reads the engines and asks them
 * for an ask; it waits for nothing (`parley anchor` waits, reading
 * status).
 */
#include "ctl/ctl.h"

#include <stdio.h>
#include <string.h>

#include "base/hex.h"
#include "msg/anchor.h"
#include "msg/delivery.h"
#include "store/people.h"

/* The anchor set's instance as 16 hex digits (what clients compare). */
static void
instance_hex(const struct ctl_env *env, char out[17])
{
	uint64_t v = anchor_set_instance(env->anchors);

	snprintf(out, 17, "%016llx", (unsigned long long)v);
}

void
ctl_anchor_status(const struct ctl_env *env, const uint8_t *id,
    json_t *chan)
{
	const struct anchor_engine *e;
	json_t *last = json_null(), *o;
	uint64_t given = 0;
	char inst[17];

	if (env->anchors == NULL || env->delivery == NULL ||
	    (e = anchor_set_engine(env->anchors, id)) == NULL)
		return;
	if (e->took.n > 0)
		last = json_pack("{s:I, s:I}", "n", (json_int_t)e->took.n,
		    "time_ms", (json_int_t)e->took.time_ms);
	/* what we signed for the peer: in all, not only in this run; the
	 * engine counts it (counted again here only if it could not at
	 * its start) */
	if (e->given_known)
		given = e->given;
	else if (store_anchor_given_count(delivery_store(env->delivery), id,
	    &given) != 0)
		given = e->answered;
	instance_hex(env, inst);
	o = json_pack("{s:o*, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:s}", "last",
	    last, "pending", e->pending, "anchored", (json_int_t)e->anchored,
	    "given", (json_int_t)given, "answered", (json_int_t)e->answered,
	    "refused", (json_int_t)e->refused,
	    "operator_asks", (json_int_t)e->op_asked,
	    "operator_answered", (json_int_t)e->op_answered, "instance", inst);
	if (o != NULL)
		json_object_set_new(chan, "anchor", o);
}

/* Asks on channel i of the delivery engine; its row of the result. */
static json_t *
ask_one(const struct ctl_env *env, size_t i)
{
	const uint8_t *id = delivery_channel_id(env->delivery, i);
	const char *peer = delivery_channel_peer(env->delivery, i);
	char hex[2 * STORE_ID_LEN + 1], why[256];
	uint64_t ticket, retry_ms;
	int r;

	hex_encode(hex, id, STORE_ID_LEN);
	r = anchor_set_ask_now(env->anchors, id, 0, &ticket, &retry_ms);
	if (r == 0)
		return json_pack("{s:s, s:s, s:I}", "id", hex, "peer", peer,
		    "ticket", (json_int_t)ticket);
	if (r == ERR_CLOSED)
		snprintf(why, sizeof why, "no path to %s is up: nothing asked",
		    peer);
	else if (r == ERR_FULL)
		snprintf(why, sizeof why, "operators asked %s too often (%d "
		    "asks, then one per %d s): nothing asked; try again in "
		    "%llu s", peer, ANCHOR_OP_BURST, ANCHOR_OP_REFILL_MS / 1000,
		    (unsigned long long)(retry_ms + 999) / 1000);
	else
		snprintf(why, sizeof why, "this node is not a party of the "
		    "channel: no anchors");
	return json_pack("{s:s, s:s, s:s}", "id", hex, "peer", peer, "error",
	    why);
}

/* {"cmd":"anchor"[, "channel": C]}: an operator's audit anchor ask on
 * every channel, or on the one C names (a peer name or id prefix). */
int
ctl_cmd_anchor(const struct ctl_env *env, const struct ctl_peer *who,
    json_t *req, json_t **result, char *err, size_t errcap)
{
	json_t *v = json_object_get(req, "channel"), *rows;
	const char *name = NULL;
	char inst[17];
	size_t i, n;
	int r;

	(void)who;
	if (env->delivery == NULL || env->anchors == NULL) {
		snprintf(err, errcap, "this parleyd has no message store: no "
		    "audit anchors");
		return ERR_STATE;
	}
	if (v != NULL && !json_is_string(v)) {
		snprintf(err, errcap, "\"channel\" must be a peer name or "
		    "channel id prefix");
		return ERR_USAGE;
	}
	if (v != NULL) {
		name = json_string_value(v);
		if ((r = delivery_find(env->delivery, name, &i)) != 0) {
			snprintf(err, errcap, r == ERR_NOT_FOUND ? "no channel "
			    "with peer or id prefix \"%.64s\"" : "\"%.64s\" "
			    "names several channels", name);
			return ERR_USAGE;
		}
	}
	if ((rows = json_array()) == NULL)
		return ERR_NOMEM;
	n = delivery_channel_count(env->delivery);
	for (size_t k = name ? i : 0; k < (name ? i + 1 : n); k++)
		json_array_append_new(rows, ask_one(env, k));
	instance_hex(env, inst);
	if ((*result = json_pack("{s:o, s:s}", "channels", rows, "instance",
	    inst)) == NULL)
		return ERR_NOMEM;
	return 0;
}
