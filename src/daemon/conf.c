/*
 * conf.c: parleyd's settings file (daemon/conf.h).
 */
#include <grp.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/file.h"
#include "base/log.h"
#include "crypto/agreement.h"
#include "crypto/keys.h"
#include "daemon/conf.h"

static int
conf_uint(json_t *v, const char *key, uint64_t max, uint64_t *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > max) {
		log_error("%s: \"%s\" must be an integer 0..%llu", CONF_NAME,
		    key, (unsigned long long)max);
		return ERR_INVALID;
	}
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

/* One knob; ERR_INVALID for an unknown key or a bad value. */
static int
conf_knob(struct link_config *cfg, struct parleyd_conf *c,
    const char *key, json_t *v)
{
	static const struct {
		const char *name;
		size_t off;
		uint64_t min, max;
	} u32[] = {
		{ "rekey_seconds", offsetof(struct link_config, rekey_seconds),
		    1, 86400 },
		{ "handshake_timeout_ms", offsetof(struct link_config,
		    handshake_timeout_ms), 100, 60000 },
		{ "pending_max", offsetof(struct link_config, pending_max), 1,
		    65536 },
		{ "pending_per_source", offsetof(struct link_config,
		    pending_per_source), 1, 65536 },
		{ "backoff_min_ms", offsetof(struct link_config,
		    backoff_min_ms), 10, 600000 },
		{ "backoff_max_ms", offsetof(struct link_config,
		    backoff_max_ms), 10, 3600000 },
		{ "heartbeat_ms", offsetof(struct link_config, heartbeat_ms),
		    0, 3600000 },
	};
	uint64_t x;
	size_t i;

	if (strcmp(key, "rekey_records") == 0) {
		if (conf_uint(v, key, (uint64_t)1 << 62, &x) != 0 || x < 1)
			return ERR_INVALID;
		cfg->rekey_records = x;
		return 0;
	}
	if (strcmp(key, "store_max_pages") == 0)
		return conf_uint(v, key, (uint64_t)1 << 40,
		    &c->store_max_pages);
	if (strcmp(key, "checkpoint_every") == 0)
		return conf_uint(v, key, 1000000, &c->checkpoint_every);
	if (strcmp(key, "checkpoint_interval_ms") == 0)
		return conf_uint(v, key, 86400000, &c->checkpoint_ms);
	if (strcmp(key, "audit_anchor_interval_ms") == 0)
		return conf_uint(v, key, 86400000, &c->anchor_ms);
	if (strcmp(key, "disk_free_min_mb") == 0)
		return conf_uint(v, key, (uint64_t)1 << 30, &c->disk_min_mb);
	if (strcmp(key, "debug_inject") == 0) {
		if (!json_is_boolean(v)) {
			log_error("%s: \"debug_inject\" must be true or false",
			    CONF_NAME);
			return ERR_INVALID;
		}
		c->debug_inject = json_is_true(v);
		return 0;
	}
	if (strcmp(key, "debug_powercut") == 0) {
		if (!json_is_boolean(v)) {
			log_error("%s: \"debug_powercut\" must be true or "
			    "false", CONF_NAME);
			return ERR_INVALID;
		}
		c->debug_powercut = json_is_true(v);
		return 0;
	}
	if (strcmp(key, "debug_powercut_kill_at") == 0)
		return conf_uint(v, key, UINT32_MAX, &c->debug_kill_at);
	if (strcmp(key, "debug_audit_anchor_ms") == 0)
		return conf_uint(v, key, 60000, &c->debug_anchor_ms);
	if (strcmp(key, "debug_audit_anchor_drop") == 0)
		return conf_uint(v, key, 1000, &c->debug_anchor_drop);
	if (strcmp(key, "debug_owed_slice_ms") == 0)
		return conf_uint(v, key, 60000, &c->debug_owed_ms);
	if (strcmp(key, "debug_kill_after_early_send") == 0)
		return conf_uint(v, key, UINT32_MAX, &c->debug_kill_early);
	if (strcmp(key, "alert_command") == 0) {
		/* An argv array, run without a shell; a string is argv[0]. */
		json_t *a;
		if (json_is_string(v))
			v = json_pack("[O]", v);
		else
			json_incref(v);
		if (!json_is_array(v) || json_array_size(v) == 0 ||
		    json_array_size(v) > ALERT_ARGV_MAX) {
			json_decref(v);
			goto bad_people;
		}
		json_array_foreach(v, i, a) {
			if (!json_is_string(a) || !*json_string_value(a)) {
				json_decref(v);
				goto bad_people;
			}
			c->alert_argv[i] = json_string_value(a);
		}
		json_decref(c->alert_json);
		c->alert_json = v;
		return 0;
	}
	if (strcmp(key, "alert_timeout_ms") == 0)
		return conf_uint(v, key, 3600000, &c->alert_timeout_ms);
	if (strcmp(key, "control_group") == 0) {
		struct group *gr;
		if (json_is_integer(v) && json_integer_value(v) >= 0 &&
		    json_integer_value(v) < (json_int_t)UINT32_MAX)
			c->group = (gid_t)json_integer_value(v);
		else if (json_is_string(v) && (gr = getgrnam(
		    json_string_value(v))) != NULL)
			c->group = gr->gr_gid;
		else
			goto bad_people;
		c->group_set = true;
		return 0;
	}
	if (strcmp(key, "listen") == 0) {
		json_t *a;
		if (!json_is_array(v) || json_array_size(v) > LINK_MAX_LISTEN)
			goto bad;
		json_array_foreach(v, i, a) {
			if (!json_is_string(a) || strlen(json_string_value(a)) >
			    AGREEMENT_ADDR_MAX)
				goto bad;
			snprintf(cfg->listen[i], sizeof cfg->listen[i], "%s",
			    json_string_value(a));
		}
		cfg->nlisten = json_array_size(v);
		return 0;
	}
	for (i = 0; i < sizeof u32 / sizeof u32[0]; i++) {
		if (strcmp(key, u32[i].name) != 0)
			continue;
		if (conf_uint(v, key, u32[i].max, &x) != 0 || x < u32[i].min) {
			log_error("%s: \"%s\" must be %llu..%llu", CONF_NAME,
			    key, (unsigned long long)u32[i].min,
			    (unsigned long long)u32[i].max);
			return ERR_INVALID;
		}
		*(uint32_t *)(void *)((char *)cfg + u32[i].off) = (uint32_t)x;
		return 0;
	}
	log_error("%s: unknown setting \"%s\"", CONF_NAME, key);
	return ERR_INVALID;
bad:
	log_error("%s: \"listen\" must be a list of at most %d addresses",
	    CONF_NAME, LINK_MAX_LISTEN);
	return ERR_INVALID;
bad_people:
	log_error("%s: \"%s\": alert_command is an argv array of 1..%d "
	    "non-empty strings; control_group a gid or a group name",
	    CONF_NAME, key, ALERT_ARGV_MAX);
	return ERR_INVALID;
}

int
parleyd_conf_load(const char *home, struct link_config *cfg,
    struct parleyd_conf *c)
{
	char path[KEYS_PATH_MAX];
	uint8_t *buf = NULL;
	size_t len;
	json_t *root, *v;
	json_error_t jerr;
	const char *key;
	int r;

	memset(c, 0, sizeof *c);
	snprintf(path, sizeof path, "%s/%s", home, CONF_NAME);
	r = file_read(path, CONF_MAX, &buf, &len);
	if (r == ERR_NOT_FOUND)
		return 0;
	if (r != 0) {
		log_error("%s: %s", path, err_str(r));
		return r;
	}
	root = json_loadb((const char *)buf, len, 0, &jerr);
	free(buf);
	if (root == NULL || !json_is_object(root)) {
		log_error("%s: not a JSON object (line %d: %s)", path,
		    jerr.line, jerr.text);
		json_decref(root);
		return ERR_PARSE;
	}
	r = 0;
	json_object_foreach(root, key, v)
		if ((r = conf_knob(cfg, c, key, v)) != 0)
			break;
	json_decref(root);
	if (r == 0 && cfg->backoff_max_ms < cfg->backoff_min_ms) {
		log_error("%s: backoff_max_ms < backoff_min_ms", CONF_NAME);
		r = ERR_INVALID;
	}
	if (r == 0 && c->debug_kill_at != 0 && !c->debug_powercut) {
		log_error("%s: \"debug_powercut_kill_at\" is a test of "
		    "power-cut mode: only with \"debug_powercut\": true",
		    CONF_NAME);
		r = ERR_INVALID;
	}
	if (r != 0)
		parleyd_conf_free(c);
	return r;
}

void
parleyd_conf_free(struct parleyd_conf *c)
{
	json_decref(c->alert_json);
	memset(c, 0, sizeof *c);
}
