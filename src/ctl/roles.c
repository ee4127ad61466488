/*
 * roles.c: the roles file and the one table of who may run which control
 * command (roles.h, docs/operators.md).
 */
#include "ctl/roles.h"

#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/file.h"

#define READERS (ROLE_DUTY | ROLE_PRINCIPAL | ROLE_AUDITOR)

const struct roles_rule roles_table[] = {
	{ "status", ROLE_ALL, "reading the status" },
	{ "whoami", ROLE_ALL, "asking who you are" },
	{ "link-test", ROLE_COMMS, "sending test traffic" },
	{ "msg-inject", ROLE_COMMS, "injecting service traffic" },
	{ "store-fail", ROLE_COMMS, "injecting a store fault" },
	{ "send", ROLE_DUTY | ROLE_PRINCIPAL, "sending" },
	{ "inbox", READERS, "reading messages" },
	{ "show", READERS, "reading messages" },
	{ "log", READERS, "reading messages" },
	{ "held", READERS, "reading held messages" },
	{ "ack", ROLE_DUTY | ROLE_PRINCIPAL, "acknowledging" },
	{ "approve", ROLE_PRINCIPAL, "approving" },
	{ "alerts", ROLE_ALL, "reading alerts" },
	{ "alert-clear", ROLE_DUTY | ROLE_PRINCIPAL, "clearing an alert" },
	{ "audit", ROLE_ALL, "reading the audit log" },
	/* harmless (the peer signs our log's head; the asks stay within its
	 * limits): whoever may read the status may ask */
	{ "anchor", ROLE_ALL, "asking for an audit anchor" },
};
const size_t roles_ntable = sizeof roles_table / sizeof roles_table[0];

static const struct {
	const char *name;
	unsigned bit;
} names[] = {
	{ "duty-officer", ROLE_DUTY },
	{ "principal", ROLE_PRINCIPAL },
	{ "communications-officer", ROLE_COMMS },
	{ "auditor", ROLE_AUDITOR },
};

void
roles_default(struct roles *r, uid_t owner)
{
	memset(r, 0, sizeof *r);
	r->n = 1;
	r->op[0].uid = owner;
	r->op[0].roles = ROLE_ALL;
	snprintf(r->op[0].name, sizeof r->op[0].name, "operator (uid %u)",
	    (unsigned)owner);
}

static int
parse_op(struct roles_operator *op, json_t *o, size_t i, char *why,
    size_t whycap)
{
	json_t *uid = json_object_get(o, "uid"), *user = json_object_get(o,
	    "user"), *name = json_object_get(o, "name"), *rl =
	    json_object_get(o, "roles"), *v;
	struct passwd *pw;
	const char *key;
	size_t j, k;

	if (!json_is_object(o))
		goto bad;
	json_object_foreach(o, key, v)
		if (strcmp(key, "uid") && strcmp(key, "user") &&
		    strcmp(key, "name") && strcmp(key, "roles")) {
			snprintf(why, whycap, "operator %zu: unknown key "
			    "\"%.32s\"", i + 1, key);
			return ERR_INVALID;
		}
	if ((uid == NULL) == (user == NULL)) {
		snprintf(why, whycap, "operator %zu: give exactly one of "
		    "\"uid\" and \"user\"", i + 1);
		return ERR_INVALID;
	}
	if (uid) {
		if (!json_is_integer(uid) || json_integer_value(uid) < 0 ||
		    json_integer_value(uid) >= (json_int_t)UINT32_MAX)
			goto bad;
		op->uid = (uid_t)json_integer_value(uid);
	} else {
		if (!json_is_string(user))
			goto bad;
		if ((pw = getpwnam(json_string_value(user))) == NULL) {
			snprintf(why, whycap, "operator %zu: no user \"%.64s\" "
			    "on this system", i + 1, json_string_value(user));
			return ERR_INVALID;
		}
		op->uid = pw->pw_uid;
	}
	if (!json_is_string(name) || json_string_length(name) == 0 ||
	    json_string_length(name) > ROLES_NAME_MAX ||
	    strlen(json_string_value(name)) != json_string_length(name))
		goto bad;
	snprintf(op->name, sizeof op->name, "%s", json_string_value(name));
	if (!json_is_array(rl) || json_array_size(rl) == 0)
		goto bad;
	json_array_foreach(rl, j, v) {
		for (k = 0; k < sizeof names / sizeof names[0]; k++)
			if (json_is_string(v) && strcmp(json_string_value(v),
			    names[k].name) == 0)
				break;
		if (k == sizeof names / sizeof names[0]) {
			snprintf(why, whycap, "operator %zu: unknown role (the "
			    "roles are duty-officer, principal, "
			    "communications-officer, auditor)", i + 1);
			return ERR_INVALID;
		}
		op->roles |= names[k].bit;
	}
	return 0;
bad:
	snprintf(why, whycap, "operator %zu: want {\"uid\": N or \"user\": "
	    "NAME, \"name\": \"1..%d bytes\", \"roles\": [...]}", i + 1,
	    ROLES_NAME_MAX);
	return ERR_INVALID;
}

int
roles_parse(struct roles *r, const char *text, size_t len, char *why,
    size_t whycap)
{
	json_t *root, *ops, *o;
	json_error_t jerr;
	size_t i, j;
	int rc = ERR_INVALID;

	memset(r, 0, sizeof *r);
	r->from_file = true;
	if ((root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		snprintf(why, whycap, "not JSON: line %d: %s", jerr.line,
		    jerr.text);
		return ERR_PARSE;
	}
	if (!json_is_object(root) || !json_is_integer(json_object_get(root,
	    "version"))) {
		snprintf(why, whycap, "want {\"version\": %d, \"operators\": "
		    "[...]}", ROLES_VERSION);
		goto out;
	}
	if (json_integer_value(json_object_get(root, "version")) !=
	    ROLES_VERSION) {
		snprintf(why, whycap, "version %lld; this build reads %d",
		    (long long)json_integer_value(json_object_get(root,
		    "version")), ROLES_VERSION);
		rc = ERR_VERSION;
		goto out;
	}
	ops = json_object_get(root, "operators");
	if (!json_is_array(ops) || json_array_size(ops) > ROLES_MAX ||
	    json_object_size(root) != 2) {
		snprintf(why, whycap, "want exactly \"version\" and "
		    "\"operators\" (an array of at most %d)", ROLES_MAX);
		goto out;
	}
	json_array_foreach(ops, i, o) {
		if ((rc = parse_op(&r->op[i], o, i, why, whycap)) != 0)
			goto out;
		for (j = 0; j < i; j++)
			if (r->op[j].uid == r->op[i].uid) {
				snprintf(why, whycap, "operator %zu: uid %u is "
				    "listed twice", i + 1,
				    (unsigned)r->op[i].uid);
				rc = ERR_INVALID;
				goto out;
			}
		r->n = i + 1;
	}
	rc = 0;
out:
	json_decref(root);
	return rc;
}

int
roles_load(struct roles *r, const char *home, uid_t owner, char *why,
    size_t whycap)
{
	char path[4096];
	uint8_t *buf = NULL;
	struct stat st;
	size_t len;
	int rc;

	snprintf(path, sizeof path, "%s/%s", home, ROLES_FILE);
	if ((rc = file_read(path, ROLES_FILE_MAX, &buf, &len)) ==
	    ERR_NOT_FOUND) {
		roles_default(r, owner);
		return 0;
	}
	/* Whoever may write the file may give himself every role. */
	if (rc == 0 && (stat(path, &st) != 0 || (st.st_mode & 022) != 0 ||
	    (st.st_uid != owner && st.st_uid != 0))) {
		snprintf(why, whycap, "%s: writable by others than its owner, "
		    "or owned by another user than the daemon's or root "
		    "(chmod go-w)", path);
		free(buf);
		return ERR_PERMS;
	}
	if (rc != 0) {
		snprintf(why, whycap, "%s: %s", path, err_str(rc));
		return rc;
	}
	rc = roles_parse(r, (const char *)buf, len, why, whycap);
	free(buf);
	return rc;
}

const struct roles_operator *
roles_find(const struct roles *r, uid_t uid)
{
	for (size_t i = 0; r && i < r->n; i++)
		if (r->op[i].uid == uid)
			return &r->op[i];
	return NULL;
}

const struct roles_rule *
roles_rule(const char *cmd)
{
	for (size_t i = 0; i < roles_ntable; i++)
		if (strcmp(roles_table[i].cmd, cmd) == 0)
			return &roles_table[i];
	return NULL;
}

void
roles_names(unsigned bits, char *out, size_t cap, const char *sep)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
		if ((bits & names[k].bit) && used < cap)
			used += (size_t)snprintf(out + used, cap - used, "%s%s",
			    used ? sep : "", names[k].name);
	if (used == 0)
		snprintf(out, cap, "none");
}

int
roles_check(const struct roles *r, uid_t uid, const char *cmd, char *why,
    size_t whycap)
{
	const struct roles_rule *rule = roles_rule(cmd);
	const struct roles_operator *op = roles_find(r, uid);
	char need[128], have[128];

	if (rule == NULL) {
		snprintf(why, whycap, "refused: \"%.64s\" has no row in the "
		    "roles table", cmd);
		return ERR_DENIED;
	}
	if (op && (op->roles & rule->roles))
		return 0;
	roles_names(rule->roles, need, sizeof need, " or ");
	if (op == NULL) {
		snprintf(why, whycap, "refused: %s needs the %s role; uid %u "
		    "is not an operator of this node (%s)", rule->verb, need,
		    (unsigned)uid, r && r->from_file ? "HOME/roles.json" :
		    "no roles.json: only the daemon's user");
		return ERR_DENIED;
	}
	roles_names(op->roles, have, sizeof have, ", ");
	snprintf(why, whycap, "refused: %s needs the %s role; uid %u (%s) has "
	    "%s", rule->verb, need, (unsigned)uid, op->name, have);
	return ERR_DENIED;
}

const char *
roles_name(const struct roles *r, uid_t uid, char *buf, size_t cap)
{
	const struct roles_operator *op = roles_find(r, uid);

	if (op)
		return op->name;
	snprintf(buf, cap, "uid %u", (unsigned)uid);
	return buf;
}
