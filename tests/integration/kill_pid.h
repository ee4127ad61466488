/*
 * kill_pid.h: the only way the integration tests and benchmarks signal a
 * process they started. kill(2) with a pid of 0 or below signals a whole
 * process group, or (-1, as root) every process the caller may signal:
 * a helper's pid left at -1 (a daemon not started, a fork that failed)
 * must never reach it. kill_pid refuses such a pid (-1, errno EINVAL);
 * it is async-signal-safe, for the time-limit handlers.
 */
#ifndef PARLEY_TESTS_KILL_PID_H
#define PARLEY_TESTS_KILL_PID_H

#include <errno.h>
#include <signal.h>
#include <sys/types.h>

__attribute__((unused)) static int
kill_pid(pid_t pid, int sig)
{
	if (pid <= 0) {
		errno = EINVAL;
		return -1;
	}
	return kill(pid, sig);
}

#endif
