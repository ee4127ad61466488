/* log.c: see log.h. Lines go to stderr with a UTC timestamp. */
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

static const char *log_ident = "parley";
static enum log_level log_min = LOG_LVL_INFO;
static bool log_syslog;

void
log_setup(const char *ident, enum log_level min, bool use_syslog)
{
	log_ident = ident ? ident : "parley";
	log_min = min;
	log_syslog = use_syslog;
	if (use_syslog)
		openlog(log_ident, LOG_PID, LOG_DAEMON);
}

int
log_level_parse(const char *s)
{
	static const char *names[] = { "error", "warn", "info", "debug" };
	for (int i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

void
log_msg(enum log_level lvl, const char *fmt, ...)
{
	static const char *tags[] = { "ERROR", "WARN", "INFO", "DEBUG" };
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char line[1024], stamp[32];
	struct timespec ts;
	struct tm tm;
	va_list ap;

	if (lvl > log_min)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ %s %s: %s\n", stamp, ts.tv_nsec / 1000000,
	    log_ident, tags[lvl], line);
	if (log_syslog)
		syslog(prio[lvl], "%s", line);
}
