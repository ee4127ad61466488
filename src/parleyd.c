/*
 * parleyd.c: the daemon. Loads the node's keys and installed channel
 * agreements from its home, keeps the links (src/link/) and serves the
 * control socket (src/ctl/) on one libevent loop, until SIGTERM or SIGINT.
 * It never forks into the background: a service manager runs it
 * (docs/parleyd.8.md). Logs go to stderr, and to syslog with --syslog.
 */
#include <event2/event.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "base/log.h"
#include "crypto/agreement.h"
#include "crypto/keys.h"
#include "ctl/ctl.h"
#include "link/link.h"

#define PARLEYD_VERSION "0.1"
#define CONF_NAME "parleyd.conf"
#define CONF_MAX 65536

static void
usage(FILE *f)
{
	fprintf(f, "usage: parleyd [--home DIR] [--log-level "
	    "error|warn|info|debug] [--syslog] [--foreground]\n"
	    "  The node home: --home, else $PARLEY_HOME, else ~/.parley.\n"
	    "  Tuning knobs: HOME/%s (docs/parleyd.8.md).\n", CONF_NAME);
}

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
conf_knob(struct link_config *cfg, const char *key, json_t *v)
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
}

/* Reads HOME/parleyd.conf if present (a JSON object of knobs). */
static int
conf_load(const char *home, struct link_config *cfg)
{
	char path[KEYS_PATH_MAX];
	uint8_t *buf = NULL;
	size_t len;
	json_t *root, *v;
	json_error_t jerr;
	const char *key;
	int r;

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
		if ((r = conf_knob(cfg, key, v)) != 0)
			break;
	json_decref(root);
	if (r == 0 && cfg->backoff_max_ms < cfg->backoff_min_ms) {
		log_error("%s: backoff_max_ms < backoff_min_ms", CONF_NAME);
		r = ERR_INVALID;
	}
	return r;
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	log_info("signal %d: stopping", (int)sig);
	event_base_loopexit(arg, NULL);
}

static const char *
home_of(const char *opt)
{
	static char buf[KEYS_PATH_MAX];
	const char *env;

	if (opt)
		return opt;
	if ((env = getenv("PARLEY_HOME")) != NULL && *env)
		return env;
	snprintf(buf, sizeof buf, "%s/.parley",
	    getenv("HOME") ? getenv("HOME") : ".");
	return buf;
}

static int
run(const char *home, enum log_level level, bool use_syslog)
{
	static char ident[KEYS_NAME_MAX + 16];
	struct keys k;
	struct agreement *ags = NULL;
	struct link_config cfg;
	struct event_base *base = NULL;
	struct event *sigterm = NULL, *sigint = NULL;
	struct link *l = NULL;
	struct ctl_server *ctl = NULL;
	struct ctl_env env;
	char fpr[FINGERPRINT_STR_LEN];
	size_t n = 0;
	int r, rc = 1;

	memset(&k, 0, sizeof k);
	if ((r = keys_load(&k, home)) != 0) {
		log_error("cannot load the node in %s: %s", home, err_str(r));
		return 1;
	}
	snprintf(ident, sizeof ident, "parleyd[%s]", k.id.name);
	log_setup(ident, level, use_syslog);
	link_config_defaults(&cfg);
	if ((ags = calloc(LINK_MAX_CHANNELS, sizeof *ags)) == NULL)
		goto out;
	if ((r = agreement_load_all(home, ags, LINK_MAX_CHANNELS, &n)) != 0) {
		log_error("cannot load the channel agreements in %s: %s", home,
		    err_str(r));
		goto out;
	}
	if (conf_load(home, &cfg) != 0)
		goto out;
	if ((base = event_base_new()) == NULL)
		goto out;
	sigterm = evsignal_new(base, SIGTERM, on_signal, base);
	sigint = evsignal_new(base, SIGINT, on_signal, base);
	if (sigterm == NULL || sigint == NULL || evsignal_add(sigterm, NULL) ||
	    evsignal_add(sigint, NULL))
		goto out;
	keys_fingerprint_link(&k.id, fpr);
	log_info("node %s, link key fingerprint %s, %zu channel%s", k.id.name,
	    fpr, n, n == 1 ? "" : "s");
	if ((r = link_new(base, home, &k, ags, n, &cfg, NULL, &l)) != 0) {
		log_error("cannot start the links: %s", err_str(r));
		goto out;
	}
	env.link = l;
	env.home = home;
	env.version = PARLEYD_VERSION;
	env.base = base;
	if ((r = ctl_server_open(base, home, &env, &ctl)) != 0) {
		log_error("cannot serve %s/%s: %s", home, CTL_SOCKET_NAME,
		    r == ERR_EXISTS ? "another parleyd is running" :
		    err_str(r));
		goto out;
	}
	log_info("ready; control socket %s/%s", home, CTL_SOCKET_NAME);
	event_base_dispatch(base);
	rc = 0;
out:
	ctl_server_close(ctl);
	link_free(l);
	if (sigterm)
		event_free(sigterm);
	if (sigint)
		event_free(sigint);
	if (base)
		event_base_free(base);
	for (size_t i = 0; ags && i < n; i++)
		agreement_wipe(&ags[i]);
	free(ags);
	keys_fini(&k);
	log_info("stopped");
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "home", required_argument, NULL, 'h' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "syslog", no_argument, NULL, 's' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'H' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *home = NULL;
	int level = LOG_LVL_INFO, use_syslog = 0, c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			home = optarg;
			break;
		case 'l':
			if ((level = log_level_parse(optarg)) < 0) {
				fprintf(stderr, "parleyd: unknown log level "
				    "'%s'\n", optarg);
				return 2;
			}
			break;
		case 's':
			use_syslog = 1;
			break;
		case 'f':
			break;
		case 'H':
			usage(stdout);
			return 0;
		case 'V':
			printf("parleyd %s (link protocol %d, control protocol "
			    "%d)\n", PARLEYD_VERSION, LINK_VERSION,
			    CTL_PROTOCOL_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "parleyd: libsodium failed to initialise\n");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	log_setup("parleyd", (enum log_level)level, use_syslog != 0);
	return run(home_of(home), (enum log_level)level, use_syslog != 0);
}
