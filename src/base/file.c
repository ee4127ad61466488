/* file.c: see file.h. */
#include "base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
file_read(const char *path, size_t cap, uint8_t **out, size_t *len)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t got = 0;
	int fd, r = 0;

	*out = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? ERR_NOT_FOUND : ERR_IO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		r = ERR_IO;
		goto out;
	}
	if ((size_t)st.st_size > cap) {
		r = ERR_TOO_BIG;
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
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
	free(buf);
	close(fd);
	return r;
}

int
file_write(const char *path, const uint8_t *data, size_t len, mode_t mode,
    int replace)
{
	char tmp[4096], dir[4096];
	size_t done = 0;
	int fd, dfd, r = 0;

	if (!replace && access(path, F_OK) == 0)
		return ERR_EXISTS;
	if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp%ld", path,
	    (long)getpid()) >= sizeof tmp)
		return ERR_INVALID;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0)
		return ERR_IO;
	if (fchmod(fd, mode) != 0)
		r = ERR_IO;
	while (r == 0 && done < len) {
		ssize_t n = write(fd, data + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			r = ERR_IO;
		else
			done += (size_t)n;
	}
	if (r == 0 && fsync(fd) != 0)
		r = ERR_IO;
	if (close(fd) != 0 && r == 0)
		r = ERR_IO;
	if (r == 0 && !replace && access(path, F_OK) == 0)
		r = ERR_EXISTS;
	if (r == 0 && rename(tmp, path) != 0)
		r = ERR_IO;
	if (r != 0) {
		unlink(tmp);
		return r;
	}
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

	if (stat(path, &st) != 0)
		return errno == ENOENT ? ERR_NOT_FOUND : ERR_IO;
	if (!S_ISREG(st.st_mode) || (st.st_mode & 077) != 0)
		return ERR_PERMS;
	return 0;
}
