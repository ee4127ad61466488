/*
 * file.h: whole-file reads with a ceiling, durable atomic writes, and the
 * checks for secret files (owner, mode, no symbolic link, regular file).
 */
#ifndef PARLEY_BASE_FILE_H
#define PARLEY_BASE_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"

/* Reads the whole regular file into a new malloc'd buffer (caller frees) of
 * at most cap bytes. Never blocks on a FIFO or device: anything but a
 * regular file is ERR_IO. ERR_NOT_FOUND, ERR_IO, ERR_TOO_BIG. */
int file_read(const char *path, size_t cap, uint8_t **out, size_t *len) WUR;

/* file_read for a file holding secrets: one descriptor, opened without
 * following a symbolic link; ERR_PERMS unless it is a regular file owned by
 * the effective user that neither group nor others may read, write or
 * execute. The buffer (caller wipes and frees) is wiped on every failure. */
int file_read_private(const char *path, size_t cap, uint8_t **out,
    size_t *len) WUR;

/* Writes data to path atomically (a fresh temporary file PATH.tmpXXXXXX,
 * fsync, then rename or link, fsync of the directory) with the given mode.
 * Replaces an existing file only when replace is nonzero; otherwise the
 * file is linked into place, which fails atomically with ERR_EXISTS if path
 * exists, even when another process creates it meanwhile. A crash may leave
 * a PATH.tmpXXXXXX behind: it is never read, and may be deleted. */
int file_write(const char *path, const uint8_t *data, size_t len, mode_t mode,
    int replace) WUR;

/* 0 when path (not followed if a symbolic link) is a regular file owned by
 * the effective user that neither group nor others can access; ERR_PERMS
 * otherwise (ERR_NOT_FOUND, ERR_IO on lstat failure). */
int file_check_private(const char *path) WUR;

#endif
