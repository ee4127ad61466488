/*
 * file.h: whole-file reads with a ceiling, durable atomic writes, and the
 * permission check for secret files.
 */
#ifndef PARLEY_BASE_FILE_H
#define PARLEY_BASE_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"

/* Reads the whole file into a new malloc'd buffer (caller frees) of at most
 * cap bytes. ERR_NOT_FOUND, ERR_IO, ERR_TOO_BIG. */
int file_read(const char *path, size_t cap, uint8_t **out, size_t *len) WUR;

/* Writes data to path atomically (temporary file, fsync, rename, fsync of
 * the directory) with the given mode. Replaces an existing file only when
 * replace is nonzero; otherwise ERR_EXISTS. */
int file_write(const char *path, const uint8_t *data, size_t len, mode_t mode,
    int replace) WUR;

/* 0 when path is a regular file that neither group nor others can read or
 * write; ERR_PERMS otherwise (ERR_NOT_FOUND, ERR_IO on stat failure). */
int file_check_private(const char *path) WUR;

#endif
