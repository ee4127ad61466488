/*
 * client.c: the control socket's client side, for `parley` commands
 * (ctl.h, docs/control.md): connect, one request line (and its raw body,
 * if any), one response line.
 */
#include "ctl/ctl.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define CALL_TIMEOUT_MS 10000

/* MSG_NOSIGNAL: a daemon that closes early is ERR_IO, not SIGPIPE. */
static int
write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	ssize_t w;

	while (n > 0) {
		w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return ERR_IO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
ctl_call(const char *home, json_t *req, json_t **resp)
{
	return ctl_call_body(home, req, NULL, 0, resp);
}

int
ctl_call_body(const char *home, json_t *req, const void *body,
    size_t blen, json_t **resp)
{
	struct sockaddr_un sun;
	struct pollfd pfd;
	json_error_t jerr;
	json_t *line = NULL;
	char *text = NULL, *buf = NULL, *nl;
	size_t len = 0, cap = 4096;
	ssize_t got;
	int fd = -1, r;

	*resp = NULL;
	if (body != NULL && blen > CTL_BODY_MAX)
		return ERR_TOO_BIG;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof sun.sun_path, "%s/%s", home,
	    CTL_SOCKET_NAME) >= sizeof sun.sun_path)
		return ERR_TOO_BIG;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return ERR_IO;
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) != 0) {
		r = ERR_CLOSED;
		goto out;
	}
	r = ERR_NOMEM;
	/* The raw body's length goes in a copy: req is the caller's. */
	if (body != NULL && ((line = json_copy(req)) == NULL ||
	    json_object_set_new(line, CTL_BODY_FIELD, json_integer(
	    (json_int_t)blen)) != 0))
		goto out;
	if ((text = json_dumps(line ? line : req, JSON_COMPACT)) == NULL ||
	    (buf = malloc(cap)) == NULL)
		goto out;
	if ((r = write_all(fd, text, strlen(text))) != 0 ||
	    (r = write_all(fd, "\n", 1)) != 0 ||
	    (body != NULL && (r = write_all(fd, body, blen)) != 0))
		goto out;
	/* The request is with the daemon: from here a missing answer says
	 * nothing of whether it was carried out. */
	for (;;) {
		if (len + 1 >= cap) {
			char *nb;
			if (cap >= CTL_RESPONSE_MAX) {
				r = ERR_TOO_BIG;
				goto out;
			}
			if ((nb = realloc(buf, cap * 2)) == NULL) {
				r = ERR_NOMEM;
				goto out;
			}
			buf = nb;
			cap *= 2;
		}
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, CALL_TIMEOUT_MS) <= 0) {
			r = ERR_DOUBT;
			goto out;
		}
		got = read(fd, buf + len, cap - len - 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			r = ERR_DOUBT;
			goto out;
		}
		len += (size_t)got;
		buf[len] = '\0';
		if ((nl = memchr(buf, '\n', len)) != NULL)
			break;
	}
	r = ERR_PARSE;
	if ((*resp = json_loadb(buf, (size_t)(nl - buf), 0, &jerr)) == NULL)
		goto out;
	r = 0;
out:
	json_decref(line);
	free(text);
	free(buf);
	if (fd >= 0)
		close(fd);
	return r;
}
