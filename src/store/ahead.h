/*
 * ahead.h: the sent-ahead note (HOME/sent-ahead, docs/store.md "The
 * sent-ahead note"): per channel, the highest seq of our chain that may
 * have left this node before its commit (the group commit's early send,
 * docs/delivery.md "Early send"). Written before each early send with one
 * pwrite and no fsync: a killed process's page cache survives it, so the
 * next start knows whether the last run may have sent past its store and
 * fences the channel until that is settled (docs/delivery.md "After a
 * crash"). A power cut may lose the latest writes (docs/store.md says
 * what that leaves open); a graceful stop syncs the file.
 *
 * The file: a 64-byte head (the magic "parley-ahead v1\n", then zeros)
 * and up to STORE_AHEAD_SLOTS slots of 64 bytes: channel id (32), seq (8,
 * big endian), BLAKE2b-128 of the 40 bytes before (16), zeros (8). The
 * file ends after its last slot (an all-zero slot is a lost write, read
 * as damaged). Mode 0600.
 */
#ifndef PARLEY_STORE_AHEAD_H
#define PARLEY_STORE_AHEAD_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

#define STORE_AHEAD_FILE "sent-ahead"	/* in the node home */
#define STORE_AHEAD_SLOTS 256
#define STORE_AHEAD_UNKNOWN UINT64_MAX	/* a slot or file that is damaged */

struct store_ahead;

/* Opens (creating, mode 0600) HOME/sent-ahead and reads it. A file of the
 * wrong size or magic, a read error, or a slot whose check fails, is not
 * an error: every channel (or every one without an intact slot) then
 * reads as STORE_AHEAD_UNKNOWN, and *damaged (may be NULL) says so; the
 * file is started afresh at the next write. ERR_IO (errno says why: the
 * caller then knows nothing of what the last run noted), ERR_NOMEM. */
int store_ahead_open(const char *home, struct store_ahead **out,
    bool *damaged) WUR;
void store_ahead_close(struct store_ahead *a);

/* The seq noted for channel, 0 when none (never sent early, or a fresh
 * file); STORE_AHEAD_UNKNOWN when the file or its slot was damaged. */
uint64_t store_ahead_get(const struct store_ahead *a,
    const uint8_t channel[STORE_ID_LEN]);

/* Notes seq for channel: one pwrite of its slot, no fsync. ERR_FULL: no
 * slot free (STORE_AHEAD_SLOTS channels noted); ERR_IO. */
int store_ahead_put(struct store_ahead *a,
    const uint8_t channel[STORE_ID_LEN], uint64_t seq) WUR;

/* At a start, once the fences are read: the slots of channels not in
 * keep[0..n) (no longer installed) may be taken by channels noted for the
 * first time from now on, so the slots never run out while at most
 * STORE_AHEAD_SLOTS channels are installed at once. Their notes are
 * forgotten (store_ahead_get: 0). Damaged slots are not touched. */
void store_ahead_release_others(struct store_ahead *a,
    const uint8_t (*keep)[STORE_ID_LEN], size_t n);

/* fdatasync of the file (a graceful stop). ERR_IO. */
int store_ahead_sync(struct store_ahead *a) WUR;

#endif
