/*
 * file.c: see file.h. Every read goes through one descriptor opened with
 * O_NONBLOCK (so that a FIFO planted in place of a file cannot hang us),
 * checked with fstat, then set back to blocking.
 */
#include "base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Opens path for reading as a regular file (see file_read_private for
 * private); *fd and *st on success. */
static int
open_regular(const char *path, int private, int *fd, struct stat *st)
{
	int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
	int fl, r = 0;

	if (private)
		flags |= O_NOFOLLOW;
	if ((*fd = open(path, flags)) < 0) {
		if (errno == ENOENT)
			return ERR_NOT_FOUND;
		return private && errno == ELOOP ? ERR_PERMS : ERR_IO;
	}
	if (fstat(*fd, st) != 0)
		r = ERR_IO;
	else if (!S_ISREG(st->st_mode))
		r = private ? ERR_PERMS : ERR_IO;
	else if (private && (st->st_uid != geteuid() ||
	    (st->st_mode & 077) != 0))
		r = ERR_PERMS;
	else if ((fl = fcntl(*fd, F_GETFL)) < 0 ||
	    fcntl(*fd, F_SETFL, fl & ~O_NONBLOCK) != 0)
		r = ERR_IO;
	if (r != 0) {
		close(*fd);
		*fd = -1;
	}
	return r;
}

static int
read_all(const char *path, int private, size_t cap, uint8_t **out,
    size_t *len)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t got = 0, size = 0;
	int fd, r;

	*out = NULL;
	*len = 0;
	if ((r = open_regular(path, private, &fd, &st)) != 0)
		return r;
	if (st.st_size < 0 || (uintmax_t)st.st_size > cap) {
		r = ERR_TOO_BIG;
		goto out;
	}
	size = (size_t)st.st_size;
	if ((buf = malloc(size + 1)) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	while (got < size) {
		ssize_t n = read(fd, buf + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = ERR_IO;
			goto out;
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	buf = NULL;
out:
	if (buf != NULL) {
		sodium_memzero(buf, size + 1);	/* may hold part of a PSK */
		free(buf);
	}
	close(fd);
	return r;
}

int
file_read(const char *path, size_t cap, uint8_t **out, size_t *len)
{
	return read_all(path, 0, cap, out, len);
}

int
file_read_private(const char *path, size_t cap, uint8_t **out, size_t *len)
{
	return read_all(path, 1, cap, out, len);
}

/* Writes all of data to fd and syncs it. */
static int
write_all(int fd, const uint8_t *data, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, data + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return ERR_IO;
		done += (size_t)n;
	}
	return fsync(fd) == 0 ? 0 : ERR_IO;
}

int
file_write(const char *path, const uint8_t *data, size_t len, mode_t mode,
    int replace)
{
	char tmp[4096], dir[4096];
	int fd, dfd, r = 0;

	if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmpXXXXXX", path) >=
	    sizeof tmp)
		return ERR_INVALID;
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0)
		return errno == ENOENT ? ERR_NOT_FOUND : ERR_IO;
	if (fchmod(fd, mode) != 0)
		r = ERR_IO;
	if (r == 0)
		r = write_all(fd, data, len);
	if (close(fd) != 0 && r == 0)
		r = ERR_IO;
	if (r == 0 && replace && rename(tmp, path) != 0)
		r = ERR_IO;
	if (r == 0 && !replace && link(tmp, path) != 0)
		r = errno == EEXIST ? ERR_EXISTS : ERR_IO;
	/* after a link the temporary name is a second name of path */
	if (r != 0 || !replace)
		(void)unlink(tmp);
	if (r != 0)
		return r;
	snprintf(dir, sizeof dir, "%s", path);
	if ((dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	return 0;
}

int
file_check_private(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? ERR_NOT_FOUND : ERR_IO;
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077) != 0)
		return ERR_PERMS;
	return 0;
}
