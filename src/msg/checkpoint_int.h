/*
 * checkpoint_int.h: what checkpoint.c (the record and the engine) and
 * checkpoint_set.c (the daemon's glue) share. Not for use outside these
 * files: the contract is checkpoint.h.
 */
#ifndef PARLEY_MSG_CHECKPOINT_INT_H
#define PARLEY_MSG_CHECKPOINT_INT_H

#include <stdint.h>

#include "msg/checkpoint.h"

/* The first 16 hex digits of a channel's or message's id, for logs and
 * alarms. */
void checkpoint_short_hex(char out[17], const uint8_t *id);
/* Fills c's ids of each chain of c->cp: ours since base (moved up to fit,
 * CHECKPOINT_IDS_MAX). */
int checkpoint_fill_ids_from(struct checkpoint_engine *e,
    struct checkpoint_rec *c, const uint64_t base[2]) WUR;

#endif
