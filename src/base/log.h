/*
 * log.h: levelled logging to stderr, and to syslog when asked. One line per
 * event: "LEVEL message". Never pass a secret (keys, PSKs, plaintext) here.
 */
#ifndef PARLEY_BASE_LOG_H
#define PARLEY_BASE_LOG_H

#include <stdbool.h>

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* ident prefixes every line (e.g. the node name); kept by pointer. */
void log_setup(const char *ident, enum log_level min, bool use_syslog);
/* Parses "error", "warn", "info", "debug"; returns -1 when unknown. */
int log_level_parse(const char *s);

void log_msg(enum log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
