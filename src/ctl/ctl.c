/*
 * ctl.c: the control socket's server (ctl.h, docs/control.md). One
 * bufferevent per client with a read watermark, so a request line is
 * capped at CTL_REQUEST_MAX bytes whatever the client sends; the peer's
 * uid/gid/pid are read with SO_PEERCRED at accept.
 *
 * A client's input is read in one of three states:
 *
 *   LINE --(line with a raw body of N bytes)--> BODY --(N bytes in)--> LINE
 *     \--(refused line with a raw body of N)--> SKIP --(N bytes gone)--/
 *
 * 1. In LINE the input starts with a request line; in BODY and SKIP with
 *    the raw body's remaining bytes (c->need, c->skip).
 * 2. In BODY the read watermark lets the body and CTL_REQUEST_MAX + 2
 *    bytes past it accumulate, and read_more reads up to CTL_READ_MAX
 *    past it; in LINE the watermark is CTL_REQUEST_MAX + 2 again. (At
 *    the line's watermark a larger body would stall half read, libevent
 *    2.1 calling the read callback in a busy loop meanwhile.)
 * 3. A raw body is handed to its command in place in the input buffer
 *    (contiguous: copied once only when it spans the buffer's chains).
 * 4. A raw body whose length cannot be read from its line (not a whole
 *    number, negative, over CTL_BODY_MAX) closes the connection.
 */
#include "ctl/ctl.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "base/log.h"
#include "msg/envelope.h"

#define CTL_READ_MAX (4 * CTL_REQUEST_MAX)	/* read ahead per callback */
#define CTL_LINE_WM (CTL_REQUEST_MAX + 2)	/* read watermark in LINE */

_Static_assert(CTL_BODY_MAX == ENVELOPE_BODY_MAX,
    "a raw body carries up to one message body");

/* One answer in a client's line, in request order: given (text) or not
 * yet (a deferred one). */
struct ctl_later {
	struct ctl_later *next;
	struct ctl_client *c;		/* NULL once the client is gone */
	char *text;			/* the answer line, no newline */
	size_t len;			/* its bytes in c->later_bytes */
	bool ready;
};

struct ctl_client {
	struct ctl_server *srv;
	struct bufferevent *bev;
	struct ctl_peer who;
	int closing;
	bool push_due;			/* answers to push at ctl_uncork */
	struct ctl_later *later, **later_tail;	/* answers held back */
	size_t nlater;
	size_t later_bytes;		/* of the given ones among them */
	json_t *req;			/* BODY: the request waiting for */
	const struct ctl_command *cmd;	/* its raw body of need bytes */
	size_t need;
	size_t skip;			/* SKIP: bytes still to drop */
	struct ctl_client *next;
};

struct ctl_server {
	struct event_base *base;
	const struct ctl_env *env;
	struct evconnlistener *lis;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct ctl_client *clients;
	size_t nclients;
	int corked;			/* ctl_cork depth */
};

static void
client_free(struct ctl_client *c)
{
	struct ctl_client **pp;
	struct ctl_later *l;

	for (pp = &c->srv->clients; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	c->srv->nclients--;
	/* Answers not given yet are freed when they are (ctl_answer). */
	while ((l = c->later) != NULL) {
		c->later = l->next;
		if (l->ready) {
			free(l->text);
			free(l);
		} else
			l->c = NULL;
	}
	json_decref(c->req);
	bufferevent_free(c->bev);
	free(c);
}

static void
write_line(struct ctl_client *c, const char *s)
{
	static const char oom[] = "{\"ok\":false,\"code\":-1,"
	    "\"error\":\"out of memory\"}";

	if (s == NULL)
		s = oom;
	bufferevent_write(c->bev, s, strlen(s));
	bufferevent_write(c->bev, "\n", 1);
}

/* Writes the answers at the head of the line that are given. */
static void
later_flush(struct ctl_client *c)
{
	struct ctl_later *l;

	while ((l = c->later) != NULL && l->ready) {
		write_line(c, l->text);
		c->later = l->next;
		if (c->later == NULL)
			c->later_tail = &c->later;
		c->nlater--;
		c->later_bytes -= l->len;
		free(l->text);
		free(l);
	}
}

static void
reply(struct ctl_client *c, json_t *resp)
{
	struct ctl_later *l;
	char *s = json_dumps(resp, JSON_COMPACT);

	if (c->later == NULL) {
		write_line(c, s);
		free(s);
		return;
	}
	/* Behind a deferred answer: wait for it. */
	if ((l = calloc(1, sizeof *l)) == NULL) {
		free(s);
		return;		/* the client sees its line end short */
	}
	l->c = c;
	l->text = s;
	l->len = s ? strlen(s) + 1 : 0;
	l->ready = true;
	*c->later_tail = l;
	c->later_tail = &l->next;
	c->nlater++;
	c->later_bytes += l->len;
}

struct ctl_later *
ctl_defer(const struct ctl_peer *who)
{
	struct ctl_client *c = who->client;
	struct ctl_later *l;

	if (c == NULL || (l = calloc(1, sizeof *l)) == NULL)
		return NULL;
	l->c = c;
	if (c->later == NULL)
		c->later_tail = &c->later;
	*c->later_tail = l;
	c->later_tail = &l->next;
	c->nlater++;
	return l;
}

/*
 * Deferred answers are given late in a loop turn (after a commit): they
 * are written to the socket now rather than at the next turn, which may
 * first hold another commit. What does not fit stays for the bufferevent
 * (whose output start is frozen but for its own writes).
 */
static void
push(struct ctl_client *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	evutil_socket_t fd = bufferevent_getfd(c->bev);

	if (fd < 0 || evbuffer_get_length(out) == 0)
		return;
	evbuffer_unfreeze(out, 1);
	(void)evbuffer_write(out, fd);
	evbuffer_freeze(out, 1);
}

/* Gives l its answer line (taken; NULL: the client sees its line end
 * short) and sends what is ready. */
static void
answer_text(struct ctl_later *l, char *text)
{
	struct ctl_client *c;

	if (l->c == NULL) {		/* the client is gone */
		free(text);
		free(l);
		return;
	}
	l->text = text;
	l->ready = true;
	c = l->c;
	/* held if an earlier answer is not given yet */
	l->len = text ? strlen(text) + 1 : 0;
	c->later_bytes += l->len;
	later_flush(c);		/* frees l */
	if (c->srv->corked)
		c->push_due = true;
	else
		push(c);
}

void
ctl_cork(struct ctl_server *s)
{
	if (s)
		s->corked++;
}

void
ctl_uncork(struct ctl_server *s)
{
	if (s == NULL || s->corked == 0 || --s->corked > 0)
		return;
	for (struct ctl_client *c = s->clients; c != NULL; c = c->next)
		if (c->push_due) {
			c->push_due = false;
			push(c);
		}
}

void
ctl_answer(struct ctl_later *l, int r, json_t *result, const char *err)
{
	json_t *resp;

	if (l->c == NULL) {
		json_decref(result);
		answer_text(l, NULL);
		return;
	}
	if (r == 0)
		resp = json_pack("{s:b, s:o}", "ok", 1, "result",
		    result ? result : json_null());
	else {
		json_decref(result);
		resp = json_pack("{s:b, s:i, s:s}", "ok", 0, "code", r,
		    "error", err && *err ? err : err_str(r));
	}
	answer_text(l, resp ? json_dumps(resp, JSON_COMPACT) : NULL);
	json_decref(resp);
}

void
ctl_answer_result_text(struct ctl_later *l, const char *result)
{
	static const char head[] = "{\"ok\":true,\"result\":";
	size_t n = strlen(result);
	char *text = malloc(sizeof head + n + 1);

	if (text) {
		memcpy(text, head, sizeof head - 1);
		memcpy(text + sizeof head - 1, result, n);
		memcpy(text + sizeof head - 1 + n, "}", 2);
	}
	answer_text(l, text);
}

static void
reply_error(struct ctl_client *c, int code, const char *msg)
{
	json_t *r = json_pack("{s:b, s:i, s:s}", "ok", 0, "code", code,
	    "error", msg);

	if (r) {
		reply(c, r);
		json_decref(r);
	}
}

/* The raw body's length declared in req (CTL_BODY_FIELD): see ctl.h. */
static int
body_len(json_t *req, int64_t *body, char *err, size_t errcap)
{
	json_t *v = json_object_get(req, CTL_BODY_FIELD);
	json_int_t n;

	*body = CTL_BODY_NONE;
	if (v == NULL)
		return 0;
	*body = CTL_BODY_BAD;
	if (!json_is_integer(v) || (n = json_integer_value(v)) < 0) {
		snprintf(err, errcap, "\"" CTL_BODY_FIELD "\" must be a whole "
		    "number of bytes, 0..%u; the stream cannot be framed: "
		    "closing", CTL_BODY_MAX);
		return ERR_USAGE;
	}
	if (n > CTL_BODY_MAX) {
		snprintf(err, errcap, "\"" CTL_BODY_FIELD "\" %lld is over "
		    "the cap of %u bytes; the stream cannot be framed: "
		    "closing", (long long)n, CTL_BODY_MAX);
		return ERR_TOO_BIG;
	}
	*body = (int64_t)n;
	return 0;
}

/* The one parse of a request line: see ctl.h. */
int
ctl_request_parse(const char *line, size_t len, json_t **reqp,
    const struct ctl_command **cmdp, int64_t *body, char *err,
    size_t errcap)
{
	const struct ctl_command *row = NULL;
	json_t *req;
	json_error_t jerr;
	const char *cmd;
	int r;

	*reqp = NULL;
	*cmdp = NULL;
	*body = CTL_BODY_NONE;
	/* A key given twice is refused, not resolved to its last value:
	 * another reader of the same line (a proxy, an audit tool) might
	 * take the first ("for_principal": true, "for_principal": false). */
	if ((req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL || !json_is_object(req)) {
		if (req == NULL && strstr(jerr.text, "duplicate") != NULL)
			snprintf(err, errcap, "request is not a JSON object: "
			    "%.64s", jerr.text);
		else
			snprintf(err, errcap, "request is not a JSON object");
		json_decref(req);
		return ERR_PARSE;
	}
	/* First what follows the line, so that a refused request's body is
	 * skipped too. */
	if ((r = body_len(req, body, err, errcap)) != 0)
		goto refuse;
	r = ERR_USAGE;
	if (!json_is_string(json_object_get(req, "cmd"))) {
		snprintf(err, errcap, "request has no \"cmd\" string");
		goto refuse;
	}
	cmd = json_string_value(json_object_get(req, "cmd"));
	for (size_t i = 0; i < ctl_ncommands && row == NULL; i++)
		if (strcmp(cmd, ctl_commands[i].name) == 0)
			row = &ctl_commands[i];
	if (row == NULL) {
		snprintf(err, errcap, "unknown command \"%.64s\"", cmd);
		goto refuse;
	}
	if (*body != CTL_BODY_NONE && !row->body) {
		snprintf(err, errcap, "%s takes no raw body (\"" CTL_BODY_FIELD
		    "\"); the body was skipped", row->name);
		goto refuse;
	}
	*reqp = req;
	*cmdp = row;
	return 0;
refuse:
	json_decref(req);
	return r;
}

/* Runs one request (req: taken) with its raw body, if any, and answers
 * it or leaves the answer to ctl_answer. */
static void
dispatch(struct ctl_client *c, json_t *req,
    const struct ctl_command *command, const uint8_t *body, size_t blen)
{
	const struct ctl_env *env = c->srv->env;
	json_t *result = NULL, *resp;
	const char *cmd = command->name;
	char err[256] = "";
	int r;

	c->who.body = body;
	c->who.body_len = blen;
	if ((r = ctl_people_check(env, &c->who, cmd, err, sizeof err)) == 0)
		r = command->fn(env, &c->who, req, &result, err, sizeof err);
	/* a failure is logged; the command's own outcome stands (a send's
	 * entry is written in its group's transaction: msgcmds.c) */
	(void)ctl_people_after(env, &c->who, cmd, req, result, r);
	c->who.body = NULL;
	c->who.body_len = 0;
	if (r == CTL_LATER) {
		/* ctl_answer will give it. */
	} else if (r != 0) {
		reply_error(c, r, err[0] ? err : err_str(r));
	} else {
		resp = json_pack("{s:b, s:o}", "ok", 1, "result",
		    result ? result : json_null());
		if (resp)
			reply(c, resp);
		json_decref(resp);
	}
	log_debug("control: uid %u pid %d: %s: %s", (unsigned)c->who.uid,
	    (int)c->who.pid, cmd, r == CTL_LATER ? "later" : r ?
	    err_str(r) : "ok");
	json_decref(req);
}

/*
 * libevent 2.1 reads at most 4 KiB per callback: a pipelining client's
 * requests would come in a few per loop turn, and so commit a few at a
 * time. Takes what the socket holds now, up to CTL_READ_MAX past the raw
 * body awaited, if any (an end of file or an error is left for the
 * bufferevent to see on its next read).
 */
static void
read_more(struct ctl_client *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	evutil_socket_t fd = bufferevent_getfd(c->bev);
	size_t cap = CTL_READ_MAX + c->need;

	/* The bufferevent keeps its input's end frozen but for its own
	 * reads (bufferevent_sock.c does the same around its read). */
	evbuffer_unfreeze(in, 0);
	while (fd >= 0 && evbuffer_get_length(in) < cap &&
	    evbuffer_read(in, fd, 16384) > 0)
		;
	evbuffer_freeze(in, 0);
}

/* Refuses what the client sent and closes the connection once the answer
 * is written (on_client_write). */
static void
refuse_close(struct ctl_client *c, int code, const char *msg)
{
	reply_error(c, code, msg);
	c->closing = 1;
	bufferevent_disable(c->bev, EV_READ);
}

/* LINE: takes the request line at the input's start, if it is whole.
 * False when it is not (or the client is being closed). */
static bool
take_line(struct ctl_client *c, struct evbuffer *in)
{
	const struct ctl_command *command;
	struct evbuffer_ptr eol;
	const char *line;
	json_t *req;
	int64_t body;
	char err[256] = "";
	size_t n;
	int r;

	assert(c->req == NULL && c->skip == 0);
	eol = evbuffer_search_eol(in, NULL, &n, EVBUFFER_EOL_LF);
	if (eol.pos < 0 ? evbuffer_get_length(in) > CTL_REQUEST_MAX :
	    (size_t)eol.pos > CTL_REQUEST_MAX) {
		refuse_close(c, ERR_TOO_BIG, "request line too long");
		return false;
	}
	if (eol.pos < 0)
		return false;
	/* Parsed in place: json_loadb needs no NUL. */
	if ((line = (const char *)evbuffer_pullup(in, eol.pos)) == NULL &&
	    eol.pos > 0)
		return false;	/* out of memory: tried again next read */
	r = ctl_request_parse(line ? line : "", (size_t)eol.pos, &req,
	    &command, &body, err, sizeof err);
	/* A line that does not parse cannot say how long its raw body is:
	 * if it names one, what follows cannot be framed (the body must not
	 * be read as requests), so the connection is closed. */
	if (r != 0 && body == CTL_BODY_NONE && line != NULL &&
	    memmem(line, (size_t)eol.pos, CTL_BODY_FIELD,
	    strlen(CTL_BODY_FIELD)) != NULL) {
		snprintf(err, sizeof err, "the request line is not a JSON "
		    "object but names \"%s\": its body cannot be framed; "
		    "closing", CTL_BODY_FIELD);
		body = CTL_BODY_BAD;
	}
	evbuffer_drain(in, (size_t)eol.pos + n);
	if (r != 0) {
		if (body == CTL_BODY_BAD) {
			refuse_close(c, r, err);
			return false;
		}
		reply_error(c, r, err);
		if (body > 0)
			c->skip = (size_t)body;
		return true;
	}
	if (body == CTL_BODY_NONE) {
		dispatch(c, req, command, NULL, 0);
		return true;
	}
	c->req = req;
	c->cmd = command;
	c->need = (size_t)body;
	bufferevent_setwatermark(c->bev, EV_READ, 0, CTL_LINE_WM + c->need);
	return true;
}

/* BODY: runs the request waiting for its raw body once the body is in
 * whole. False while it is not. */
static bool
take_body(struct ctl_client *c, struct evbuffer *in)
{
	static const uint8_t empty[1];
	const uint8_t *body = empty;
	json_t *req = c->req;
	size_t need = c->need;

	assert(req != NULL && c->skip == 0);
	if (evbuffer_get_length(in) < need)
		return false;
	if (need > 0 && (body = evbuffer_pullup(in, (ev_ssize_t)need)) ==
	    NULL)
		return false;	/* out of memory: tried again next read */
	c->req = NULL;
	c->need = 0;
	dispatch(c, req, c->cmd, body, need);
	evbuffer_drain(in, need);
	bufferevent_setwatermark(c->bev, EV_READ, 0, CTL_LINE_WM);
	return true;
}

static void
on_client_read(struct bufferevent *bev, void *arg)
{
	struct ctl_client *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t k;

	if (!c->closing && c->nlater < CTL_LATER_MAX)
		read_more(c);
	while (!c->closing) {
		/* A client that does not read its answers is not read
		 * either: its output and the answers held back behind a
		 * deferred one stay under about CTL_RESPONSE_MAX more than
		 * one answer, and at most CTL_LATER_MAX answers are held
		 * back (resumed in on_client_write). */
		if (evbuffer_get_length(bufferevent_get_output(bev)) +
		    c->later_bytes > CTL_RESPONSE_MAX ||
		    c->nlater >= CTL_LATER_MAX) {
			bufferevent_disable(bev, EV_READ);
			return;
		}
		if (c->skip > 0) {
			if ((k = evbuffer_get_length(in)) > c->skip)
				k = c->skip;
			evbuffer_drain(in, k);
			if ((c->skip -= k) > 0)
				return;
		} else if (!(c->req ? take_body(c, in) : take_line(c, in)))
			return;
	}
}

static void
on_client_write(struct bufferevent *bev, void *arg)
{
	struct ctl_client *c = arg;

	if (c->closing &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
		client_free(c);
		return;
	}
	/* Output drained: read again what on_client_read held back. */
	if (!c->closing && !(bufferevent_get_enabled(bev) & EV_READ)) {
		bufferevent_enable(bev, EV_READ);
		on_client_read(bev, c);
	}
}

static void
on_client_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	client_free(arg);
}

static void
on_accept(struct evconnlistener *lis, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct ctl_server *s = arg;
	struct ctl_client *c;
	struct ucred cr;
	socklen_t cl = sizeof cr;
	struct timeval idle = { CTL_IDLE_MS / 1000, 0 };

	(void)lis;
	(void)sa;
	(void)salen;
	if (s->nclients >= CTL_MAX_CLIENTS) {
		log_warn("control: too many clients; connection refused");
		close(fd);
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) != 0) {
		log_warn("control: SO_PEERCRED failed: %s", strerror(errno));
		close(fd);
		return;
	}
	if ((c = calloc(1, sizeof *c)) == NULL) {
		close(fd);
		return;
	}
	c->srv = s;
	c->who.uid = cr.uid;
	c->who.gid = cr.gid;
	c->who.pid = cr.pid;
	c->who.client = c;
	c->later_tail = &c->later;
	c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		close(fd);
		free(c);
		return;
	}
	/* Stop reading once a line longer than the cap is buffered. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, CTL_LINE_WM);
	bufferevent_setcb(c->bev, on_client_read, on_client_write,
	    on_client_event, c);
	bufferevent_set_timeouts(c->bev, &idle, &idle);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	c->next = s->clients;
	s->clients = c;
	s->nclients++;
	log_debug("control: client uid %u gid %u pid %d", (unsigned)cr.uid,
	    (unsigned)cr.gid, (int)cr.pid);
}

/*
 * 0 when nothing answers on path (a stale file may be removed). The
 * probe-unlink-bind sequence is not atomic by itself; parleyd holds
 * HOME/parleyd.lock (flock) before it gets here, so no second daemon of
 * the same home races it. Non-blocking: a listener whose backlog is full
 * (EAGAIN) is alive too, and never stalls the start.
 */
static int
probe(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0), r = 0;

	if (fd < 0)
		return ERR_IO;
	if (connect(fd, (const struct sockaddr *)sun, sizeof *sun) == 0 ||
	    errno == EAGAIN || errno == EINPROGRESS)
		r = ERR_EXISTS;
	close(fd);
	return r;
}

int
ctl_server_open(struct event_base *base, const char *home,
    const struct ctl_env *env, struct ctl_server **out)
{
	struct ctl_server *s;
	struct sockaddr_un sun;
	mode_t old;
	int fd = -1, r;

	*out = NULL;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof sun.sun_path, "%s/%s", home,
	    CTL_SOCKET_NAME) >= sizeof sun.sun_path)
		return ERR_TOO_BIG;
	if ((r = probe(&sun)) != 0)
		return r;
	unlink(sun.sun_path);
	if ((s = calloc(1, sizeof *s)) == NULL)
		return ERR_NOMEM;
	s->base = base;
	s->env = env;
	memcpy(s->path, sun.sun_path, sizeof s->path);
	r = ERR_IO;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) < 0)
		goto fail;
	old = umask(0177);	/* the socket is born 0600 */
	if (bind(fd, (struct sockaddr *)&sun, sizeof sun) != 0) {
		umask(old);
		goto fail;
	}
	umask(old);
	if (chmod(sun.sun_path, 0600) != 0 || listen(fd, 16) != 0)
		goto fail;
	/* control_group: operators of that group reach the socket; the home
	 * lets them traverse, not list (docs/operators.md). */
	if (env->control_group_set && (chown(sun.sun_path, (uid_t)-1,
	    env->control_gid) != 0 || chmod(sun.sun_path, 0660) != 0 ||
	    chown(home, (uid_t)-1, env->control_gid) != 0 ||
	    chmod(home, 0710) != 0))
		goto fail;
	s->lis = evconnlistener_new(base, on_accept, s, LEV_OPT_CLOSE_ON_FREE,
	    -1, fd);
	if (s->lis == NULL)
		goto fail;
	*out = s;
	return 0;
fail:
	log_error("control socket %s: %s", sun.sun_path, strerror(errno));
	if (fd >= 0)
		close(fd);
	free(s);
	return r;
}

void
ctl_server_close(struct ctl_server *s)
{
	if (s == NULL)
		return;
	while (s->clients)
		client_free(s->clients);
	evconnlistener_free(s->lis);
	unlink(s->path);
	free(s);
}
