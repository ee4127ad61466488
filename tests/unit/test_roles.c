/*
 * test_roles.c: operators and roles (src/ctl/roles.h): every control
 * command against every role, from an expected matrix written here (not
 * read from the table under test); refusals name the missing role and the
 * operator; the roles file's parser refuses what is malformed; without a
 * file only the daemon's uid is an operator.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <string.h>

#include "../harness.h"
#include "ctl/ctl.h"
#include "ctl/roles.h"

/* Who may run what, as docs/operators.md says: D duty officer, P
 * principal, C communications officer, A auditor. */
static const struct {
	const char *cmd;
	const char *may;
} expect[] = {
	{ "status", "DPCA" },
	{ "whoami", "DPCA" },
	{ "link-test", "C" },
	{ "msg-inject", "C" },
	{ "store-fail", "C" },
	{ "send", "DP" },
	{ "inbox", "DPA" },
	{ "show", "DPA" },
	{ "log", "DPA" },
	{ "held", "DPA" },
	{ "ack", "DP" },
	{ "approve", "P" },
	{ "alerts", "DPCA" },
	{ "alert-clear", "DP" },
	{ "audit", "DPCA" },
	{ "anchor", "DPCA" },	/* as status: harmless */
};

static const char roles_json[] =
    "{\"version\": 1, \"operators\": [\n"
    " {\"uid\": 60001, \"name\": \"Maj. Aster\", \"roles\": [\"duty-officer\"]},\n"
    " {\"uid\": 60002, \"name\": \"Sgt. Example\", \"roles\": [\"auditor\"]},\n"
    " {\"uid\": 60003, \"name\": \"Col. Birch\", \"roles\": [\"principal\"]},\n"
    " {\"uid\": 60004, \"name\": \"Lt. Reed\", \"roles\": "
    "[\"communications-officer\"]}]}\n";

static void
test_every_command_every_role(void)
{
	static const struct {
		char letter;
		uid_t uid;
	} ops[] = { { 'D', 60001 }, { 'A', 60002 }, { 'P', 60003 },
	    { 'C', 60004 } };
	struct roles r;
	char why[256];
	size_t checked = 0;

	CHECK_INT(roles_parse(&r, roles_json, strlen(roles_json), why,
	    sizeof why), 0);
	CHECK_INT(r.n, 4);
	/* Every command the daemon serves has a row here and in the table. */
	for (size_t i = 0; i < ctl_ncommands; i++) {
		size_t j;
		for (j = 0; j < sizeof expect / sizeof expect[0]; j++)
			if (strcmp(expect[j].cmd, ctl_commands[i].name) == 0)
				break;
		if (j == sizeof expect / sizeof expect[0])
			printf("  command %s has no expected row\n",
			    ctl_commands[i].name);
		CHECK(j < sizeof expect / sizeof expect[0]);
		CHECK(roles_rule(ctl_commands[i].name) != NULL);
	}
	for (size_t j = 0; j < sizeof expect / sizeof expect[0]; j++) {
		for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
			bool may = strchr(expect[j].may, ops[k].letter) != NULL;
			int rc = roles_check(&r, ops[k].uid, expect[j].cmd, why,
			    sizeof why);
			if ((rc == 0) != may)
				printf("  %s by %c: got %d\n", expect[j].cmd,
				    ops[k].letter, rc);
			CHECK_INT(rc, may ? 0 : ERR_DENIED);
			if (!may)
				CHECK(strncmp(why, "refused: ", 9) == 0);
			checked++;
		}
		/* Nobody else. */
		CHECK_INT(roles_check(&r, 60099, expect[j].cmd, why,
		    sizeof why), ERR_DENIED);
		CHECK_CONTAINS(why, "is not an operator");
	}
	CHECK_INT(checked, 4 * (sizeof expect / sizeof expect[0]));
	CHECK_INT(roles_check(&r, 60001, "no-such-command", why, sizeof why),
	    ERR_DENIED);
}

static void
test_refusal_names_the_role(void)
{
	struct roles r;
	char why[256];

	CHECK_INT(roles_parse(&r, roles_json, strlen(roles_json), why,
	    sizeof why), 0);
	CHECK_INT(roles_check(&r, 60002, "ack", why, sizeof why), ERR_DENIED);
	CHECK_STR(why, "refused: acknowledging needs the duty-officer or "
	    "principal role; uid 60002 (Sgt. Example) has auditor");
	CHECK_INT(roles_check(&r, 60001, "approve", why, sizeof why),
	    ERR_DENIED);
	CHECK_STR(why, "refused: approving needs the principal role; uid "
	    "60001 (Maj. Aster) has duty-officer");
	CHECK_STR(roles_find(&r, 60003)->name, "Col. Birch");
	CHECK(roles_find(&r, 1) == NULL);
}

static void
test_default_single_operator(void)
{
	struct roles r;
	char why[256];

	roles_default(&r, 4242);
	CHECK(!r.from_file);
	for (size_t j = 0; j < sizeof expect / sizeof expect[0]; j++) {
		CHECK_INT(roles_check(&r, 4242, expect[j].cmd, why, sizeof why),
		    0);
		CHECK_INT(roles_check(&r, 4243, expect[j].cmd, why, sizeof why),
		    ERR_DENIED);
	}
	/* A missing file is the default; a bad one is refused. */
	CHECK_INT(roles_load(&r, "/nonexistent-home", 77, why, sizeof why), 0);
	CHECK_INT(r.n, 1);
	CHECK_INT(r.op[0].uid, 77);
}

static void
test_malformed_files(void)
{
	static const struct {
		const char *text;
		int code;
		const char *why;
	} bad[] = {
		{ "not json", ERR_PARSE, "not JSON" },
		{ "[]", ERR_INVALID, "want" },
		{ "{\"version\": 2, \"operators\": []}", ERR_VERSION, "version 2" },
		{ "{\"version\": 1}", ERR_INVALID, "operators" },
		{ "{\"version\": 1, \"operators\": [], \"x\": 1}", ERR_INVALID,
		    "exactly" },
		{ "{\"version\": 1, \"operators\": [{\"uid\": 1, \"name\": "
		    "\"A\", \"roles\": [\"admiral\"]}]}", ERR_INVALID,
		    "unknown role" },
		{ "{\"version\": 1, \"operators\": [{\"uid\": 1, \"user\": "
		    "\"root\", \"name\": \"A\", \"roles\": [\"auditor\"]}]}",
		    ERR_INVALID, "exactly one" },
		{ "{\"version\": 1, \"operators\": [{\"uid\": 1, \"name\": "
		    "\"\", \"roles\": [\"auditor\"]}]}", ERR_INVALID, "want" },
		{ "{\"version\": 1, \"operators\": [{\"uid\": 1, \"name\": "
		    "\"A\", \"roles\": []}]}", ERR_INVALID, "want" },
		{ "{\"version\": 1, \"operators\": [{\"uid\": -1, \"name\": "
		    "\"A\", \"roles\": [\"auditor\"]}]}", ERR_INVALID, "want" },
		{ "{\"version\": 1, \"operators\": [{\"uid\": 1, \"name\": "
		    "\"A\", \"roles\": [\"auditor\"], \"rank\": 3}]}",
		    ERR_INVALID, "unknown key" },
		{ "{\"version\": 1, \"operators\": [{\"uid\": 1, \"name\": "
		    "\"A\", \"roles\": [\"auditor\"]}, {\"uid\": 1, \"name\": "
		    "\"B\", \"roles\": [\"auditor\"]}]}", ERR_INVALID, "twice" },
		{ "{\"version\": 1, \"operators\": [{\"user\": "
		    "\"no-such-user-here\", \"name\": \"A\", \"roles\": "
		    "[\"auditor\"]}]}", ERR_INVALID, "no user" },
		{ "{\"version\": 1, \"version\": 1, \"operators\": []}",
		    ERR_PARSE, "not JSON" },
	};
	struct roles r;
	char why[256];

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		why[0] = '\0';
		CHECK_INT(roles_parse(&r, bad[i].text, strlen(bad[i].text),
		    why, sizeof why), bad[i].code);
		CHECK_CONTAINS(why, bad[i].why);
	}
	/* A user name resolves through the password database. */
	{
		static const char ok[] = "{\"version\": 1, \"operators\": "
		    "[{\"user\": \"root\", \"name\": \"Root\", \"roles\": "
		    "[\"auditor\", \"principal\"]}]}";
		CHECK_INT(roles_parse(&r, ok, strlen(ok), why, sizeof why), 0);
	}
	CHECK_INT(r.op[0].uid, 0);
	CHECK_INT(r.op[0].roles, ROLE_AUDITOR | ROLE_PRINCIPAL);
}

static void
test_file_permissions(void)
{
	char dir[] = "/tmp/parley-test-roles-XXXXXX", path[128], why[256];
	struct roles r;
	FILE *f;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/roles.json", dir);
	CHECK((f = fopen(path, "w")) != NULL);
	if (f) {
		fputs(roles_json, f);
		fclose(f);
	}
	CHECK_INT(chmod(path, 0644), 0);
	CHECK_INT(roles_load(&r, dir, geteuid(), why, sizeof why), 0);
	CHECK_INT(r.n, 4);
	CHECK(r.from_file);
	CHECK_INT(chmod(path, 0666), 0);	/* anyone could add himself */
	CHECK_INT(roles_load(&r, dir, geteuid(), why, sizeof why), ERR_PERMS);
	CHECK_CONTAINS(why, "writable by others");
	CHECK_INT(chmod(path, 0620), 0);
	CHECK_INT(roles_load(&r, dir, geteuid(), why, sizeof why), ERR_PERMS);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	RUN(test_every_command_every_role);
	RUN(test_refusal_names_the_role);
	RUN(test_default_single_operator);
	RUN(test_malformed_files);
	RUN(test_file_permissions);
	return harness_summary();
}
