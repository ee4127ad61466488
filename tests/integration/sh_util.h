/*
 * sh_util.h: the integration tests' shell runner (node_util.h, it_show.c):
 * where the built programs are (build_from_env), and sh(), which runs a
 * command line and keeps its output.
 */
#ifndef PARLEY_TESTS_SH_UTIL_H
#define PARLEY_TESTS_SH_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../harness.h"

static char build[1024] = "build";	/* where parley, parleyd are */
static char out[1 << 20];		/* the last sh() output */

/* Runs a shell command (printf-style), its output in out; the exit
 * status. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	FILE *f;
	size_t n;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	strncat(cmd, " 2>&1", sizeof cmd - strlen(cmd) - 1);
	fflush(NULL);
	if ((f = popen(cmd, "r")) == NULL)
		return -1;
	n = fread(out, 1, sizeof out - 1, f);
	out[n] = '\0';
	st = pclose(f);
	harness_no_sanitizer_report(out, cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* build from $BUILD (when set), made absolute; false when it cannot be. */
static bool
build_from_env(void)
{
	const char *b = getenv("BUILD");
	char cwd[256];
	size_t c, n;

	if (b != NULL)
		snprintf(build, sizeof build, "%s", b);
	if (build[0] == '/')
		return true;
	n = strlen(build);
	if (getcwd(cwd, sizeof cwd) == NULL ||
	    (c = strlen(cwd)) + n + 2 > sizeof build)
		return false;
	memmove(build + c + 1, build, n + 1);
	memcpy(build, cwd, c);
	build[c] = '/';
	return true;
}

#endif
