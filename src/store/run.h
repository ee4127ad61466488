/*
 * run.h: the node's run (HOME/run, docs/delivery.md "After a crash"): a
 * number each start of parleyd takes, higher than every earlier start's,
 * which the delivery engine announces first on every session
 * (delivery_set_run) so that the peer ends its sessions of an earlier
 * run and takes nothing more of them.
 *
 * The file: the line "parley-run v1 N\n", N in decimal (1 .. 2^63 - 1),
 * mode 0600, replaced atomically (temporary file, fsync, rename) before
 * the run is used.
 */
#ifndef PARLEY_STORE_RUN_H
#define PARLEY_STORE_RUN_H

#include <stdint.h>

#include "base/err.h"

#define STORE_RUN_FILE "run"		/* in the node home */

/*
 * This start's run: the clock's milliseconds now_ms, or one more than the
 * last start's when that is higher (a clock stepped back), made durable in
 * HOME/run before it is returned. *run is always set, even when the call
 * fails: ERR_PARSE when the file is damaged (the last run is then taken
 * as none: only the clock keeps the order), ERR_IO (or file_write's
 * codes) when it cannot be read or written. The caller logs either and
 * goes on. A run never passes 2^63 - 1 (it stays there: no clock gets
 * near it).
 */
int store_run_next(const char *home, uint64_t now_ms, uint64_t *run) WUR;

#endif
