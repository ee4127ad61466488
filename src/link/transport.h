/*
 * transport.h: a session's record layer after the handshake (docs/link.md,
 * "Records"): typed records in Noise transport messages, key epochs, rekey
 * counters, and the old receive key kept until the first record under the
 * new one.
 *
 * Pure: no I/O, no allocation, no clock (the caller passes now_ms).
 *
 * Data frame: 0 type 4 | 1 key epoch | 2.. ChaChaPoly(k, n, ad = bytes 0..1,
 * record type (1 byte) || body). Nonces are implicit (TCP keeps order) and
 * counted by each noise_cipher; they never repeat, and a cipher refuses to
 * work at 2^64-1.
 *
 * Invariants:
 *  1. send and recv always hold keys of epoch send_epoch / recv_epoch.
 *  2. old_recv has keys only between a rekey and the first record that
 *     decrypts under the new recv; it is wiped at that record.
 *  3. A record that fails to decrypt, or names an epoch we hold no key
 *     for, is an error that must end the session (ERR_CRYPTO).
 */
#ifndef PARLEY_LINK_TRANSPORT_H
#define PARLEY_LINK_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "crypto/noise.h"
#include "link/frame.h"
#include "link/handshake.h"

#define LINK_DATA_HDR_LEN 2
/* Largest record body: a data frame fills at most FRAME_MAX bytes. */
#define LINK_RECORD_MAX (FRAME_MAX - LINK_DATA_HDR_LEN - NOISE_TAG_LEN - 1)
/* Bytes a frame for a body of n bytes takes, without its length header. */
#define LINK_DATA_LEN(n) (LINK_DATA_HDR_LEN + 1 + (n) + NOISE_TAG_LEN)

/* Record types. 0x01..0x0f are the link's; 0x10..0xff go to the layer
 * above (messages). Unknown types are ignored. */
enum link_record_type {
	LINK_REC_PING = 0x01,
	LINK_REC_PONG = 0x02,
	LINK_REC_TEST = 0x03,
	LINK_REC_UPPER_MIN = 0x10,
};

/* Bodies (big-endian, times are unix nanoseconds of the sender's clock). */
#define LINK_PING_LEN 8		/* t1: sent */
#define LINK_PONG_LEN 24	/* t1 echoed, t2: ping received, t3: sent */
#define LINK_TEST_LEN 8		/* sequence number, from 0 per session */

/* Defaults (docs/link.md, "Rekeying"). */
#define LINK_REKEY_RECORDS ((uint64_t)1 << 20)
#define LINK_REKEY_MS 120000u
/*
 * The guard: a session whose keys were not replaced after twice the
 * protocol's maxima (plus a handshake's time) is closed, by the responder
 * (its initiator never rekeyed) and by the initiator (its rekey was never
 * answered). Local settings may only lower the rekey point below
 * LINK_REKEY_RECORDS and LINK_REKEY_MS, so a conforming peer never meets
 * the guard.
 */
#define LINK_GUARD_RECORDS (2 * LINK_REKEY_RECORDS)
#define LINK_GUARD_MS (2 * (uint64_t)LINK_REKEY_MS + 30000u)
/*
 * Rekeys not too often (docs/link.md 5): an initiator starts none sooner
 * than LINK_REKEY_MIN_MS after it installed the current keys; a responder
 * ends the session on a rekey initiation that arrives sooner than
 * LINK_REKEY_REFUSE_MS after it installed them (the difference is slack
 * for clock granularity), so a peer makes it spend DH and a durable write
 * at most 1000 / LINK_REKEY_REFUSE_MS times a second per session.
 */
#define LINK_REKEY_MIN_MS 100u
#define LINK_REKEY_REFUSE_MS 50u
/* A peer silent for this many heartbeat intervals is declared down. */
#define LINK_DEAD_INTERVALS 2u

struct link_transport {
	struct noise_cipher send, recv, old_recv;
	uint8_t send_epoch, recv_epoch, old_epoch;
	bool has_old;
	bool initiator;		/* this side started the session's handshake */
	uint64_t sent, received;	/* records under the current keys */
	uint64_t keyed_ms;	/* when the current keys were installed */
	uint64_t rekeys;
};

/* Starts a transport with the handshake's cipher states, which it takes
 * (the caller's copies are wiped). */
void link_transport_init(struct link_transport *t, struct noise_cipher *send,
    struct noise_cipher *recv, bool initiator, uint64_t now_ms);
/* Installs keys from a rekey handshake (taken, as above): epochs advance by
 * one; the current receive key becomes the old one. */
void link_transport_rekey(struct link_transport *t, struct noise_cipher *send,
    struct noise_cipher *recv, uint64_t now_ms);
/* Wipes every key. */
void link_transport_fini(struct link_transport *t);

/* Encrypts one record into out (cap bytes; LINK_DATA_LEN(len) needed), the
 * frame without its length header. ERR_TOO_BIG, ERR_SHORT, ERR_STATE. */
int link_transport_seal(struct link_transport *t, uint8_t type,
    const uint8_t *body, size_t len, uint8_t *out, size_t cap,
    size_t *out_len) WUR;
/*
 * Decrypts a data frame in place. On success *type and *body / *len (inside
 * frame) give the record. ERR_PARSE when too short or not a data frame,
 * ERR_CRYPTO when it does not decrypt or names an unknown epoch.
 */
int link_transport_open(struct link_transport *t, uint8_t *frame,
    size_t flen, uint8_t *type, const uint8_t **body, size_t *len) WUR;

/* True when the keys are due for a rekey: rekey_records records either way,
 * or rekey_ms since they were installed. */
bool link_transport_rekey_due(const struct link_transport *t,
    uint64_t now_ms, uint64_t rekey_records, uint64_t rekey_ms);

/*
 * From a PONG received at t4 (docs/link.md 4.1; unix ns, t1 and t4 of our
 * clock, t2 and t3 of the peer's): the round-trip time (t4 - t1) -
 * (t3 - t2), 0 when the peer's hold time exceeds it, and the peer's clock
 * offset ((t2 - t1) + (t3 - t4)) / 2. The times come from the peer (t1
 * echoed): ERR_PARSE, nothing set, when they cannot be (t4 before t1, t3
 * before t2, any time at or over 2^63), so no arithmetic overflows.
 */
int link_pong_times(uint64_t t1, uint64_t t2, uint64_t t3, uint64_t t4,
    int64_t *rtt_ns, int64_t *offset_ns) WUR;

/* Big-endian helpers for record bodies. */
void link_put64(uint8_t *p, uint64_t v);
uint64_t link_get64(const uint8_t *p);

#endif
