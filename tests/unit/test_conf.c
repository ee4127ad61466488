/*
 * test_conf.c: parleyd's settings file (daemon/conf.h). A missing file
 * leaves the defaults; each knob lands where the daemon reads it; a bad
 * file (an unknown knob, a value out of range or of another type, not a
 * JSON object, a test knob without the mode it belongs to) is refused
 * naming what is wrong, and leaves nothing held (ASan).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../harness.h"
#include "base/err.h"
#include "base/log.h"
#include "daemon/conf.h"

static char dir[] = "/tmp/parley-test-conf-XXXXXX";

static void
write_conf(const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, CONF_NAME);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f != NULL) {
		fputs(text, f);
		fclose(f);
	}
}

/* Loads text as the file: the result; c and cfg as left. */
static int
load(const char *text, struct link_config *cfg, struct parleyd_conf *c)
{
	link_config_defaults(cfg);
	if (text != NULL)
		write_conf(text);
	return parleyd_conf_load(dir, cfg, c);
}

static char logged[4096];	/* what the last load_logged logged */

/* load, with stderr (the log) caught into logged. */
static int
load_logged(const char *text, struct link_config *cfg,
    struct parleyd_conf *c)
{
	FILE *f = tmpfile();
	int saved, r;
	size_t n = 0;

	fflush(stderr);
	saved = dup(2);
	if (f != NULL)
		dup2(fileno(f), 2);
	r = load(text, cfg, c);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	if (f != NULL) {
		rewind(f);
		n = fread(logged, 1, sizeof logged - 1, f);
		fclose(f);
	}
	logged[n] = '\0';
	return r;
}

static void
test_missing_file(void)
{
	struct link_config cfg, def;
	struct parleyd_conf c;

	memset(&c, 0xa5, sizeof c);	/* zeroed by the load */
	link_config_defaults(&def);
	CHECK_INT(load(NULL, &cfg, &c), 0);
	CHECK_MEM(&cfg, &def, sizeof cfg);
	CHECK_INT(c.store_max_pages, 0);
	CHECK_INT(c.anchor_ms, 0);
	CHECK(!c.debug_powercut);
	CHECK(c.alert_argv[0] == NULL);
	CHECK(c.alert_json == NULL);
	parleyd_conf_free(&c);
}

static void
test_knobs_land(void)
{
	struct link_config cfg;
	struct parleyd_conf c;

	CHECK_INT(load("{\"rekey_seconds\": 60, \"heartbeat_ms\": 0,"
	    " \"rekey_records\": 1000, \"listen\": [\"127.0.0.1:4000\"],"
	    " \"store_max_pages\": 5000, \"checkpoint_every\": 7,"
	    " \"checkpoint_interval_ms\": 9000,"
	    " \"audit_anchor_interval_ms\": 120000,"
	    " \"disk_free_min_mb\": 64,"
	    " \"alert_command\": [\"/bin/echo\", \"alarm\"],"
	    " \"alert_timeout_ms\": 2500, \"control_group\": 1234,"
	    " \"debug_powercut\": true, \"debug_powercut_kill_at\": 3,"
	    " \"debug_audit_anchor_drop\": 2}",
	    &cfg, &c), 0);
	CHECK_INT(cfg.rekey_seconds, 60);
	CHECK_INT(cfg.heartbeat_ms, 0);
	CHECK_INT(cfg.rekey_records, 1000);
	CHECK_INT(cfg.nlisten, 1);
	CHECK_STR(cfg.listen[0], "127.0.0.1:4000");
	CHECK_INT(c.store_max_pages, 5000);
	CHECK_INT(c.checkpoint_every, 7);
	CHECK_INT(c.checkpoint_ms, 9000);
	CHECK_INT(c.anchor_ms, 120000);
	CHECK_INT(c.disk_min_mb, 64);
	CHECK_STR(c.alert_argv[0], "/bin/echo");
	CHECK_STR(c.alert_argv[1], "alarm");
	CHECK(c.alert_argv[2] == NULL);
	CHECK_INT(c.alert_timeout_ms, 2500);
	CHECK(c.group_set);
	CHECK_INT(c.group, 1234);
	CHECK(c.debug_powercut);
	CHECK_INT(c.debug_kill_at, 3);
	CHECK_INT(c.debug_anchor_drop, 2);
	parleyd_conf_free(&c);
	CHECK(c.alert_json == NULL);
}

/* Each bad file: refused with the code, nothing held after. */
static void
test_refused(void)
{
	static const struct {
		const char *text;
		int code;
		const char *says;	/* in the error logged */
	} bad[] = {
		{ "{\"rekey_recrods\": 5}", ERR_INVALID,
		    "unknown setting \"rekey_recrods\"" },
		{ "{\"rekey_seconds\": 0}", ERR_INVALID,
		    "\"rekey_seconds\" must be 1..86400" },
		{ "{\"rekey_seconds\": 86401}", ERR_INVALID,
		    "\"rekey_seconds\" must be" },
		{ "{\"rekey_seconds\": \"60\"}", ERR_INVALID,
		    "\"rekey_seconds\" must be an integer" },
		{ "{\"store_max_pages\": -1}", ERR_INVALID,
		    "\"store_max_pages\" must be an integer 0.." },
		{ "{\"rekey_records\": 0}", ERR_INVALID, NULL },
		{ "{\"debug_inject\": 1}", ERR_INVALID,
		    "\"debug_inject\" must be true or false" },
		{ "{\"listen\": \"127.0.0.1:4000\"}", ERR_INVALID,
		    "\"listen\" must be a list" },
		{ "{\"alert_command\": []}", ERR_INVALID,
		    "\"alert_command\": alert_command is an argv array" },
		{ "{\"alert_command\": [\"\"]}", ERR_INVALID, "argv array" },
		{ "{\"alert_command\": [\"/bin/echo\"], \"alert_timeout_ms\":"
		    " 3600001}", ERR_INVALID,	/* the argv held, then freed */
		    "\"alert_timeout_ms\" must be an integer 0..3600000" },
		{ "{\"control_group\": \"no-such-group-here\"}", ERR_INVALID,
		    "control_group a gid or a group name" },
		{ "{\"backoff_min_ms\": 5000, \"backoff_max_ms\": 100}",
		    ERR_INVALID, "backoff_max_ms < backoff_min_ms" },
		{ "{\"debug_powercut_kill_at\": 3}", ERR_INVALID,
		    "only with \"debug_powercut\": true" },
		{ "[1, 2]", ERR_PARSE, "not a JSON object" },
		{ "{\"rekey_seconds\": 60", ERR_PARSE, "not a JSON object" },
	};
	struct link_config cfg;
	struct parleyd_conf c;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int r = load_logged(bad[i].text, &cfg, &c);
		if (r != bad[i].code)
			printf("  %s: %s\n", bad[i].text, err_str(r));
		CHECK_INT(r, bad[i].code);
		if (bad[i].says != NULL)
			CHECK_CONTAINS(logged, bad[i].says);
		CHECK(c.alert_json == NULL);
		CHECK(c.alert_argv[0] == NULL);
	}
}

int
main(void)
{
	char path[128];

	if (mkdtemp(dir) == NULL)
		return 1;
	log_setup("test_conf", LOG_LVL_ERROR, false);
	RUN(test_missing_file);
	RUN(test_knobs_land);
	RUN(test_refused);
	snprintf(path, sizeof path, "%s/%s", dir, CONF_NAME);
	unlink(path);
	rmdir(dir);
	return harness_summary();
}
