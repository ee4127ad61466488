/*
 * alert.c: storing alerts and running the alert command (alert.h).
 *
 * The command is fork/exec'd (execvp, no shell) with a pipe on standard
 * input, which gets the alert's JSON (a few hundred bytes: below the pipe's
 * buffer, so the write does not block) and is closed, and one pipe for
 * standard output and error, read without blocking at each tick. The
 * daemon never waits for it: alert_tick reaps with WNOHANG.
 */
#include "msg/alert.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "store/people.h"

struct child {
	pid_t pid;			/* 0: free slot */
	int out;			/* read end of stdout/stderr */
	int64_t alert;
	uint64_t started_ms;		/* clock_mono_ms: its time limit */
	bool killed;
	size_t logged;
};

/* Keys of alerts announced while the store refused them, remembered so
 * that neither a retry nor the store taking them later announces them
 * again (alert_raise); the oldest is forgotten for a new one when all are
 * taken (keys never raised again, e.g. a disk-low alert's, would else
 * keep their slots for good). */
#define ALERT_UNSTORED_MAX 64

/* alert_open's cache: per channel named by an uncleared alert, what the
 * last pass found; channels past ALERT_OPEN_CHANNELS are read by a pass
 * of their own (open_over). */
#define ALERT_OPEN_CHANNELS 128
#define ALERT_OPEN_TEXT 512

struct open_entry {
	char channel[65];
	int64_t n;
	char alarm[ALERT_OPEN_TEXT];
};

struct alerter {
	struct store *s;
	char *argv[ALERT_ARGV_MAX + 1];
	uint64_t timeout_ms;
	struct child kids[ALERT_CHILDREN_MAX];
	uint64_t started, failed;
	uint64_t keys_once;		/* alert_key_once's N */
	char *unstored[ALERT_UNSTORED_MAX];
	size_t unstored_next;		/* the slot a new key takes */
	/* alert_open: valid while open_version is the store's
	 * store_alerts_version (0: nothing read) */
	uint64_t open_version, open_passes;
	struct open_entry *open;	/* ALERT_OPEN_CHANNELS, or NULL */
	size_t nopen;
	bool open_over;			/* a channel found no entry */
};

int
alert_new(struct store *s, const char *const *argv, uint64_t timeout_ms,
    struct alerter **out)
{
	struct alerter *a;

	*out = NULL;
	if ((a = calloc(1, sizeof *a)) == NULL)
		return ERR_NOMEM;
	a->s = s;
	a->timeout_ms = timeout_ms ? timeout_ms : ALERT_COMMAND_MS;
	for (size_t i = 0; argv && argv[i]; i++) {
		if (i == ALERT_ARGV_MAX || (a->argv[i] = strdup(argv[i])) ==
		    NULL) {
			alert_free(a);
			return i == ALERT_ARGV_MAX ? ERR_TOO_BIG : ERR_NOMEM;
		}
	}
	for (size_t i = 0; i < ALERT_CHILDREN_MAX; i++)
		a->kids[i].out = -1;
	*out = a;
	return 0;
}

void
alert_free(struct alerter *a)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < ALERT_CHILDREN_MAX; i++) {
		if (a->kids[i].pid > 0) {
			kill(a->kids[i].pid, SIGKILL);
			(void)waitpid(a->kids[i].pid, NULL, 0);
		}
		if (a->kids[i].out >= 0)
			close(a->kids[i].out);
	}
	for (size_t i = 0; a->argv[i]; i++)
		free(a->argv[i]);
	for (size_t i = 0; i < ALERT_UNSTORED_MAX; i++)
		free(a->unstored[i]);
	free(a->open);
	free(a);
}

void
alert_counts(const struct alerter *a, uint64_t *started, uint64_t *failed)
{
	*started = a->started;
	*failed = a->failed;
}

/* A failure of the command for alert n: stored, never run again. */
static void
failed(struct alerter *a, int64_t n, const char *why, uint64_t now_ms)
{
	char key[64], text[256];
	json_t *o;

	a->failed++;
	if (n == 0) {	/* an alert the store refused: no number to name */
		snprintf(key, sizeof key, "alert-command-failed:unstored:%llu",
		    (unsigned long long)now_ms);
		snprintf(text, sizeof text, "the alert command failed for an "
		    "alert the store refused: %s", why);
	} else {
		snprintf(key, sizeof key, "alert-command-failed:%lld",
		    (long long)n);
		snprintf(text, sizeof text, "the alert command failed for "
		    "alert %lld: %s", (long long)n, why);
	}
	log_error("%s", text);
	if ((o = json_pack("{s:s, s:s, s:I, s:s}", "key", key, "kind",
	    "alert-command-failed", "alert", (json_int_t)n, "text", text)) ==
	    NULL)
		return;
	json_object_set_new(o, "no_command", json_true());
	if (alert_raise(a, o, now_ms, NULL) != 0)
		log_error("cannot store the alert: %s", text);
	json_decref(o);
}

static void
start(struct alerter *a, int64_t n, const char *json, uint64_t now_ms)
{
	struct child *c = NULL;
	int in[2] = { -1, -1 }, out[2] = { -1, -1 };
	size_t len = strlen(json);
	pid_t pid;

	for (size_t i = 0; i < ALERT_CHILDREN_MAX && c == NULL; i++)
		if (a->kids[i].pid == 0)
			c = &a->kids[i];
	if (c == NULL) {
		failed(a, n, "too many commands running", now_ms);
		return;
	}
	if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0)
		goto fail;
	if ((pid = fork()) < 0)
		goto fail;
	if (pid == 0) {
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 ||
		    dup2(out[1], 2) < 0)
			_exit(126);
		execvp(a->argv[0], a->argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	/* Below PIPE_BUF-ish sizes the write completes at once. */
	if (write(in[1], json, len) != (ssize_t)len || write(in[1], "\n", 1)
	    != 1)
		log_warn("alert command: stdin not fully written");
	close(in[1]);
	(void)fcntl(out[0], F_SETFL, O_NONBLOCK);
	memset(c, 0, sizeof *c);
	c->pid = pid;
	c->out = out[0];
	c->alert = n;
	c->started_ms = clock_mono_ms();	/* not now_ms: a duration */
	a->started++;
	log_debug("alert %lld: started %s (pid %d)", (long long)n, a->argv[0],
	    (int)pid);
	return;
fail:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
	}
	failed(a, n, strerror(errno), now_ms);
}

/* The slot of key among the alerts announced unstored, or -1. */
static int
unstored_find(const struct alerter *a, const char *key)
{
	for (int i = 0; i < ALERT_UNSTORED_MAX; i++)
		if (a->unstored[i] != NULL && strcmp(a->unstored[i], key) == 0)
			return i;
	return -1;
}

/*
 * The store refused a new alert (a disk error, a full disk): a person
 * hears of it anyway, once. Logged at ERROR and its command run, with
 * "n": 0 and "stored": false; the caller raises it again later (the
 * deadline watch retries at each tick), and once stored it is not
 * announced again (unless ALERT_UNSTORED_MAX newer ones came meanwhile).
 */
static void
announce_unstored(struct alerter *a, json_t *alert, const char *key, int r,
    uint64_t now_ms)
{
	const char *text = json_string_value(json_object_get(alert, "text"));
	size_t slot = a->unstored_next;
	char *js;

	if (unstored_find(a, key) >= 0)
		return;
	free(a->unstored[slot]);
	if ((a->unstored[slot] = strdup(key)) == NULL)
		return;
	a->unstored_next = (slot + 1) % ALERT_UNSTORED_MAX;
	log_error("ALERT (not stored: %s): %s", err_str(r), text ? text : key);
	if (a->argv[0] == NULL || json_is_true(json_object_get(alert,
	    "no_command")))
		return;
	json_object_set_new(alert, "n", json_integer(0));
	json_object_set_new(alert, "stored", json_false());
	js = json_dumps(alert, JSON_COMPACT | JSON_SORT_KEYS);
	json_object_del(alert, "n");
	json_object_del(alert, "stored");
	if (js != NULL)
		start(a, 0, js, now_ms);
	free(js);
}

int
alert_raise(struct alerter *a, json_t *alert, uint64_t now_ms, bool *fresh)
{
	const char *key = json_string_value(json_object_get(alert, "key"));
	bool isnew = false;
	int64_t n;
	char *js;
	int r, k;

	if (fresh)
		*fresh = false;
	if (key == NULL)
		return ERR_INVALID;
	json_object_set_new(alert, "raised_ms", json_integer(
	    (json_int_t)now_ms));
	if ((js = json_dumps(alert, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		return ERR_NOMEM;
	r = store_alert_put(a->s, key, js, now_ms, &n, &isnew);
	free(js);
	if (r != 0 && r != ERR_INVALID && r != ERR_NOMEM)
		announce_unstored(a, alert, key, r, now_ms);
	if (r != 0 || !isnew)
		return r;
	if (fresh)
		*fresh = true;
	json_object_set_new(alert, "n", json_integer((json_int_t)n));
	if ((k = unstored_find(a, key)) >= 0) {
		free(a->unstored[k]);
		a->unstored[k] = NULL;
		log_warn("ALERT %lld: %s (stored now; announced when the store "
		    "refused it)", (long long)n, json_string_value(
		    json_object_get(alert, "text")) ? json_string_value(
		    json_object_get(alert, "text")) : key);
		return 0;
	}
	log_warn("ALERT %lld: %s", (long long)n,
	    json_string_value(json_object_get(alert, "text")) ?
	    json_string_value(json_object_get(alert, "text")) : key);
	if (a->argv[0] == NULL || json_is_true(json_object_get(alert,
	    "no_command")))
		return 0;
	if ((js = json_dumps(alert, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		return ERR_NOMEM;
	start(a, n, js, now_ms);
	free(js);
	return 0;
}

static void
drain(struct child *c)
{
	char buf[512];
	ssize_t k;

	if (c->out < 0)
		return;
	while ((k = read(c->out, buf, sizeof buf - 1)) > 0) {
		buf[k] = '\0';
		if (c->logged < ALERT_OUTPUT_MAX)
			log_debug("alert command (alert %lld): %s",
			    (long long)c->alert, buf);
		c->logged += (size_t)k;
	}
	if (k == 0) {
		close(c->out);
		c->out = -1;
	}
}

/* c has ended with status st: its output logged, its slot freed, a
 * failure raised (stored at now_ms). stop_ms: not 0 when alert_stop
 * killed it after that grace (its SIGKILL is then the stop's). */
static void
ended(struct alerter *a, struct child *c, int st, uint64_t now_ms,
    uint64_t stop_ms)
{
	char why[96];

	drain(c);
	if (c->out >= 0)
		close(c->out);
	c->out = -1;
	c->pid = 0;
	if (c->killed)
		snprintf(why, sizeof why, "killed after %llu ms",
		    (unsigned long long)a->timeout_ms);
	else if (stop_ms != 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)
		snprintf(why, sizeof why, "killed at parleyd's stop, still "
		    "running %llu ms after it", (unsigned long long)stop_ms);
	else if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
		snprintf(why, sizeof why, "cannot run %s", a->argv[0]);
	else if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
		snprintf(why, sizeof why, "exit %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(why, sizeof why, "signal %d", WTERMSIG(st));
	else
		return;			/* success */
	failed(a, c->alert, why, now_ms);
}

void
alert_tick(struct alerter *a, uint64_t now_ms)
{
	int st;

	for (size_t i = 0; i < ALERT_CHILDREN_MAX; i++) {
		struct child *c = &a->kids[i];

		if (c->pid == 0)
			continue;
		drain(c);
		if (waitpid(c->pid, &st, WNOHANG) == c->pid) {
			ended(a, c, st, now_ms, 0);
			continue;
		}
		/* on the monotonic clock: a wall clock stepped back (now_ms
		 * below started) or forward killed a command at once */
		if (!c->killed && clock_mono_ms() - c->started_ms >
		    a->timeout_ms) {
			kill(c->pid, SIGKILL);
			c->killed = true;
		}
	}
}

static size_t
running(const struct alerter *a)
{
	size_t n = 0;

	for (size_t i = 0; i < ALERT_CHILDREN_MAX; i++)
		n += a->kids[i].pid > 0;
	return n;
}

void
alert_stop(struct alerter *a, uint64_t grace_ms)
{
	const struct timespec step = { 0, 10 * 1000 * 1000 };
	uint64_t t0 = clock_mono_ms();
	int st;

	if (a == NULL)
		return;
	alert_tick(a, clock_wall_ms());
	while (running(a) > 0 && clock_mono_ms() - t0 < grace_ms) {
		(void)nanosleep(&step, NULL);
		alert_tick(a, clock_wall_ms());
	}
	for (size_t i = 0; i < ALERT_CHILDREN_MAX; i++) {
		struct child *c = &a->kids[i];

		if (c->pid <= 0)
			continue;
		kill(c->pid, SIGKILL);
		st = 0;
		/* not reaped: taken as killed, never as a success */
		if (waitpid(c->pid, &st, 0) != c->pid)
			st = SIGKILL;
		ended(a, c, st, clock_wall_ms(), grace_ms ? grace_ms : 1);
	}
}

/* --- the uncleared alerts of a channel (alert_open) ------------------- */

/* One pass's state: into the entries (the cache), or for one channel. */
struct open_pass {
	struct open_entry *e;
	size_t cap, n;
	bool over;
};

static int
open_one(void *arg, const struct store_alert *al)
{
	struct open_pass *op = arg;
	json_t *j = json_loads(al->json, 0, NULL);
	const char *ch = json_string_value(json_object_get(j, "channel"));
	const char *kind = json_string_value(json_object_get(j, "kind"));
	const char *text = json_string_value(json_object_get(j, "text"));
	struct open_entry *e = NULL;

	if (ch != NULL && strlen(ch) < sizeof e->channel) {
		for (size_t i = 0; i < op->n && e == NULL; i++)
			if (strcmp(op->e[i].channel, ch) == 0)
				e = &op->e[i];
		if (e == NULL && op->n < op->cap) {
			e = &op->e[op->n++];
			memset(e, 0, sizeof *e);
			snprintf(e->channel, sizeof e->channel, "%s", ch);
		} else if (e == NULL)
			op->over = true;
	}
	if (e != NULL) {
		e->n++;
		if (kind != NULL && text != NULL &&
		    (strncmp(kind, "checkpoint-", 11) == 0 ||
		    strcmp(kind, "chain-forked") == 0))
			snprintf(e->alarm, sizeof e->alarm, "%s", text);
	}
	json_decref(j);
	return 0;
}

static void
open_answer(const struct open_entry *e, int64_t *n, char *alarm, size_t cap)
{
	*n = e != NULL ? e->n : 0;
	if (cap > 0)
		snprintf(alarm, cap, "%s", e != NULL ? e->alarm : "");
}

int
alert_open_scan(struct store *s, const char *channel, int64_t *n,
    char *alarm, size_t cap)
{
	struct open_entry e;
	struct open_pass op = { &e, 1, 1, false };
	int r;

	memset(&e, 0, sizeof e);
	if (strlen(channel) >= sizeof e.channel) {
		open_answer(NULL, n, alarm, cap);
		return 0;
	}
	snprintf(e.channel, sizeof e.channel, "%s", channel);
	if ((r = store_alerts_each(s, false, open_one, &op)) != 0)
		return r;
	open_answer(&e, n, alarm, cap);
	return 0;
}

int
alert_open(struct alerter *a, const char *channel, int64_t *n, char *alarm,
    size_t cap)
{
	struct open_pass op;
	uint64_t v;
	bool keep;
	int r;

	if (a->open == NULL && (a->open = calloc(ALERT_OPEN_CHANNELS,
	    sizeof *a->open)) == NULL)
		return ERR_NOMEM;
	keep = store_alerts_version(a->s, &v) == 0;
	if (!keep || v != a->open_version) {
		a->open_version = 0;
		a->nopen = 0;
		a->open_over = false;
		op.e = a->open;
		op.cap = ALERT_OPEN_CHANNELS;
		op.n = 0;
		op.over = false;
		a->open_passes++;
		if ((r = store_alerts_each(a->s, false, open_one, &op)) != 0)
			return r;
		a->nopen = op.n;
		a->open_over = op.over;
		if (keep)
			a->open_version = v;
	}
	for (size_t i = 0; i < a->nopen; i++)
		if (strcmp(a->open[i].channel, channel) == 0) {
			open_answer(&a->open[i], n, alarm, cap);
			return 0;
		}
	if (a->open_over)	/* more channels than entries: its own pass */
		return alert_open_scan(a->s, channel, n, alarm, cap);
	open_answer(NULL, n, alarm, cap);
	return 0;
}

uint64_t
alert_open_passes(const struct alerter *a)
{
	return a->open_passes;
}

/* Whether now_ms is within the period of the last one raised. */
static bool
within(const struct alert_limit *l, uint64_t now_ms)
{
	return l->raised && now_ms >= l->raised_ms &&
	    now_ms - l->raised_ms < ALERT_LIMIT_MS;
}

bool
alert_limit(struct alert_limit *l, uint64_t now_ms, const char *text)
{
	if (within(l, now_ms)) {
		if (l->quiet++ == 0)
			log_error("ALARM %s (again within %d s: not raised as a "
			    "new alert; the next ones in this period are "
			    "counted, not logged, and their number raised as "
			    "an alert when it ends)", text,
			    ALERT_LIMIT_MS / 1000);
		snprintf(l->last, sizeof l->last, "%s", text);
		return false;
	}
	if (l->quiet > 1)	/* the first of them was logged */
		log_error("ALARM %s (%llu more like it came in the period "
		    "after the last alert, not logged)", text,
		    (unsigned long long)l->quiet - 1);
	else
		log_error("ALARM %s", text);
	l->raised = true;
	l->raised_ms = now_ms;
	l->more = l->quiet;
	l->quiet = 0;
	return true;
}

bool
alert_limit_due(struct alert_limit *l, uint64_t now_ms)
{
	if (l->quiet == 0 || within(l, now_ms))
		return false;
	log_error("ALARM %llu more like the last alert came in the %d s after "
	    "it, raised as one alert now; the last of them: %s",
	    (unsigned long long)l->quiet, ALERT_LIMIT_MS / 1000, l->last);
	l->raised_ms = now_ms;
	l->more = l->quiet;
	l->quiet = 0;
	return true;
}

void
alert_limit_text(const struct alert_limit *l, const char *text, char *out,
    size_t cap)
{
	if (text == NULL)
		snprintf(out, cap, "%llu more alarm%s like the last alert "
		    "came in the %d s after it (not raised as alerts); the "
		    "last of them: %s", (unsigned long long)l->more,
		    l->more == 1 ? "" : "s", ALERT_LIMIT_MS / 1000, l->last);
	else if (l->more > 0)
		snprintf(out, cap, "%s (and %llu more like it came in the %d s "
		    "after the alert before, not raised as alerts)", text,
		    (unsigned long long)l->more, ALERT_LIMIT_MS / 1000);
	else
		snprintf(out, cap, "%s", text);
}

void
alert_key_once(struct alerter *a, char *key, size_t cap, const char *kind,
    const char *channel_hex, uint64_t now_ms)
{
	snprintf(key, cap, "%s-%.16s-%llu-%llu", kind, channel_hex,
	    (unsigned long long)now_ms,
	    (unsigned long long)(a != NULL ? ++a->keys_once : 0));
}

int
alert_raise_text(struct alerter *a, const char *kind, const char *key,
    const char *channel, const char *text, uint64_t now_ms)
{
	json_t *o;
	int r;

	if (a == NULL)
		return 0;
	if ((o = json_pack("{s:s, s:s, s:s, s:s}", "key", key, "kind", kind,
	    "channel", channel != NULL ? channel : "", "text", text)) == NULL)
		return ERR_NOMEM;
	if ((r = alert_raise(a, o, now_ms, NULL)) != 0)
		log_warn("could not raise the %s alert: %s", kind, err_str(r));
	json_decref(o);
	return r;
}
