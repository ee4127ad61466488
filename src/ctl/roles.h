/*
 * roles.h: operators and roles (docs/operators.md). HOME/roles.json maps
 * local users (by uid or user name) to a display name and roles:
 *
 *   {"version": 1, "operators": [
 *     {"uid": 60001, "name": "Maj. Example", "roles": ["duty-officer"]},
 *     {"user": "ops2", "name": "Sgt. Example", "roles": ["auditor"]}]}
 *
 * Without the file the daemon's own uid is the one operator, with every
 * role (a single-operator node), and nobody else is. One table
 * (roles_table) says which roles may run each control command; a command
 * that is not in it is refused for everybody.
 */
#ifndef PARLEY_CTL_ROLES_H
#define PARLEY_CTL_ROLES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"

#define ROLES_FILE "roles.json"
#define ROLES_VERSION 1
#define ROLES_MAX 256			/* operators in the file */
#define ROLES_NAME_MAX 128		/* bytes of a display name */
#define ROLES_FILE_MAX 65536

enum role {
	ROLE_DUTY = 1 << 0,		/* duty-officer: read, ack, send */
	ROLE_PRINCIPAL = 1 << 1,	/* principal: also approve */
	ROLE_COMMS = 1 << 2,		/* communications-officer */
	ROLE_AUDITOR = 1 << 3,		/* auditor: read only */
	ROLE_ALL = 0xf
};

struct roles_operator {
	uid_t uid;
	char name[ROLES_NAME_MAX + 1];
	unsigned roles;			/* enum role bits */
};

struct roles {
	bool from_file;			/* false: the single-operator default */
	size_t n;
	struct roles_operator op[ROLES_MAX];
};

/* One row per control command: the roles that may run it, and the verb a
 * refusal names ("acknowledging"). */
struct roles_rule {
	const char *cmd;
	unsigned roles;
	const char *verb;
};
extern const struct roles_rule roles_table[];
extern const size_t roles_ntable;

/* The single-operator default: uid owner with every role. */
void roles_default(struct roles *r, uid_t owner);
/* Parses a roles file's bytes: ERR_PARSE (not JSON), ERR_VERSION,
 * ERR_INVALID (a field), with a message in why. User names are looked up
 * with getpwnam. */
int roles_parse(struct roles *r, const char *text, size_t len, char *why,
    size_t whycap) WUR;
/* Loads HOME/roles.json, or the default for owner when it is missing.
 * ERR_PERMS when the file is group- or world-writable, or owned by
 * another user than owner or root. */
int roles_load(struct roles *r, const char *home, uid_t owner, char *why,
    size_t whycap) WUR;

/* The operator of uid, or NULL. */
const struct roles_operator *roles_find(const struct roles *r, uid_t uid);
/* The rule of cmd, or NULL. */
const struct roles_rule *roles_rule(const char *cmd);
/* 0 when uid may run cmd; else ERR_DENIED with the refusal in why
 * ("refused: acknowledging needs the duty-officer role; uid 60002 (Sgt.
 * Example) has auditor"). */
int roles_check(const struct roles *r, uid_t uid, const char *cmd, char *why,
    size_t whycap) WUR;
/* Names the roles in bits, joined by sep, into out ("none" when 0). */
void roles_names(unsigned bits, char *out, size_t cap, const char *sep);
/* The display name of uid ("uid N" when not an operator). */
const char *roles_name(const struct roles *r, uid_t uid, char *buf,
    size_t cap);

#endif
