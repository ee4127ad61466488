/*
 * handshake.c: the link handshake's messages (handshake.h; the layout and
 * the reasons are in docs/link.md). Pure: no I/O, no allocation.
 *
 * Order of checks at a listener, cheapest first: size and header, then the
 * channel lookup (the caller's), then mac1 (one keyed hash), and only then
 * the Noise message (two DH operations), the peer key and the timestamp.
 */
#include "link/handshake.h"

#include <sodium.h>
#include <string.h>

#include "crypto/hash.h"

_Static_assert(LINK_MAC_LEN >= crypto_generichash_BYTES_MIN, "mac1 size");

void
link_mac1_key(uint8_t key[32], const uint8_t psk[32])
{
	hash_ctx(key, 32, LINK_MAC1_CTX, psk, 32);
}

static void
mac1(uint8_t out[LINK_MAC_LEN], const uint8_t key[32], const uint8_t *msg,
    size_t len)
{
	crypto_generichash(out, LINK_MAC_LEN, msg, len, key, 32);
}

int
link_mac1_check(const uint8_t *msg, size_t len, const uint8_t key[32])
{
	uint8_t m[LINK_MAC_LEN];

	if (len < LINK_MAC_LEN)
		return ERR_PARSE;
	mac1(m, key, msg, len - LINK_MAC_LEN);
	if (sodium_memcmp(m, msg + len - LINK_MAC_LEN, LINK_MAC_LEN) != 0)
		return ERR_MAC;
	return 0;
}

int
link_init_peek(const uint8_t *msg, size_t len, uint8_t channel_id[LINK_ID_LEN],
    uint8_t *path)
{
	if (len != LINK_INIT_LEN || msg[0] != LINK_TYPE_INIT)
		return ERR_PARSE;
	if (msg[1] != LINK_VERSION)
		return ERR_VERSION;
	if (msg[3] != 0)
		return ERR_PARSE;
	memcpy(channel_id, msg + LINK_HDR_LEN, LINK_ID_LEN);
	*path = msg[2];
	return 0;
}

/* prologue = LINK_PROLOGUE || channel id || path */
static int
start(struct noise_handshake *hs, const struct link_hs_params *p,
    enum noise_role role)
{
	uint8_t pro[sizeof LINK_PROLOGUE - 1 + LINK_ID_LEN + 1];
	size_t n = sizeof LINK_PROLOGUE - 1;
	int r;

	memcpy(pro, LINK_PROLOGUE, n);
	memcpy(pro + n, p->channel_id, LINK_ID_LEN);
	pro[n + LINK_ID_LEN] = p->path;
	if ((r = noise_handshake_init(hs, LINK_PROTOCOL_NAME, role, pro,
	    sizeof pro, p->random, p->random_ctx)) != 0)
		return r;
	if ((r = noise_handshake_set_static(hs, p->local_priv)) != 0)
		return r;
	if (role == NOISE_INITIATOR &&
	    (r = noise_handshake_set_remote_static(hs, p->peer_pub)) != 0)
		return r;
	if ((r = noise_handshake_set_psk(hs, p->psk)) != 0)
		return r;
	return noise_handshake_start(hs);
}

int
link_hs_write_init(struct noise_handshake *hs, const struct link_hs_params *p,
    const uint8_t ts[LINK_TS_LEN], uint8_t out[LINK_INIT_LEN])
{
	size_t n;
	int r;

	if ((r = start(hs, p, NOISE_INITIATOR)) != 0)
		goto fail;
	out[0] = LINK_TYPE_INIT;
	out[1] = LINK_VERSION;
	out[2] = p->path;
	out[3] = 0;
	memcpy(out + LINK_HDR_LEN, p->channel_id, LINK_ID_LEN);
	if ((r = noise_handshake_write(hs, ts, LINK_TS_LEN,
	    out + LINK_HDR_LEN + LINK_ID_LEN, LINK_INIT_NOISE_LEN, &n)) != 0)
		goto fail;
	if (n != LINK_INIT_NOISE_LEN) {
		r = ERR_STATE;
		goto fail;
	}
	mac1(out + LINK_INIT_LEN - LINK_MAC_LEN, p->mac1_key, out,
	    LINK_INIT_LEN - LINK_MAC_LEN);
	return 0;
fail:
	noise_handshake_fini(hs);
	return r;
}

int
link_hs_read_resp(struct noise_handshake *hs, const struct link_hs_params *p,
    const uint8_t *msg, size_t len, struct noise_cipher *send,
    struct noise_cipher *recv)
{
	uint8_t pl[16];
	size_t pn;
	int r;

	if (len != LINK_RESP_LEN || msg[0] != LINK_TYPE_RESP || msg[3] != 0) {
		r = ERR_PARSE;
		goto out;
	}
	if (msg[1] != LINK_VERSION) {
		r = ERR_VERSION;
		goto out;
	}
	if (msg[2] != p->path) {
		r = ERR_PARSE;
		goto out;
	}
	if ((r = link_mac1_check(msg, len, p->mac1_key)) != 0)
		goto out;
	if ((r = noise_handshake_read(hs, msg + LINK_HDR_LEN,
	    LINK_RESP_NOISE_LEN, pl, sizeof pl, &pn)) != 0)
		goto out;
	if (pn != 0) {
		r = ERR_PARSE;
		goto out;
	}
	if (noise_handshake_action(hs) != NOISE_ACTION_SPLIT) {
		r = ERR_STATE;
		goto out;
	}
	r = noise_handshake_split(hs, send, recv);
out:
	noise_handshake_fini(hs);
	return r;
}

int
link_hs_read_init(struct noise_handshake *hs, const struct link_hs_params *p,
    const uint8_t *msg, size_t len, uint8_t ts[LINK_TS_LEN])
{
	const uint8_t *rs;
	size_t n;
	int r;

	if (len != LINK_INIT_LEN) {
		r = ERR_PARSE;
		goto fail;
	}
	if ((r = start(hs, p, NOISE_RESPONDER)) != 0)
		goto fail;
	if ((r = noise_handshake_read(hs, msg + LINK_HDR_LEN + LINK_ID_LEN,
	    LINK_INIT_NOISE_LEN, ts, LINK_TS_LEN, &n)) != 0)
		goto fail;
	if (n != LINK_TS_LEN) {
		r = ERR_PARSE;
		goto fail;
	}
	rs = noise_handshake_remote_static(hs);
	if (rs == NULL || sodium_memcmp(rs, p->peer_pub, 32) != 0) {
		r = ERR_FOREIGN;
		goto fail;
	}
	return 0;
fail:
	noise_handshake_fini(hs);
	return r;
}

int
link_hs_write_resp(struct noise_handshake *hs, const struct link_hs_params *p,
    uint8_t out[LINK_RESP_LEN], struct noise_cipher *send,
    struct noise_cipher *recv)
{
	size_t n;
	int r;

	out[0] = LINK_TYPE_RESP;
	out[1] = LINK_VERSION;
	out[2] = p->path;
	out[3] = 0;
	if ((r = noise_handshake_write(hs, NULL, 0, out + LINK_HDR_LEN,
	    LINK_RESP_NOISE_LEN, &n)) != 0)
		goto out;
	if (n != LINK_RESP_NOISE_LEN ||
	    noise_handshake_action(hs) != NOISE_ACTION_SPLIT) {
		r = ERR_STATE;
		goto out;
	}
	mac1(out + LINK_RESP_LEN - LINK_MAC_LEN, p->mac1_key, out,
	    LINK_RESP_LEN - LINK_MAC_LEN);
	r = noise_handshake_split(hs, send, recv);
out:
	noise_handshake_fini(hs);
	return r;
}

#define TAI_LABEL ((uint64_t)1 << 62)

static void
ts_put(uint8_t out[LINK_TS_LEN], uint64_t sec, uint32_t nsec)
{
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(sec >> (56 - 8 * i));
	for (int i = 0; i < 4; i++)
		out[8 + i] = (uint8_t)(nsec >> (24 - 8 * i));
}

static void
ts_get(const uint8_t in[LINK_TS_LEN], uint64_t *sec, uint32_t *nsec)
{
	*sec = 0;
	*nsec = 0;
	for (int i = 0; i < 8; i++)
		*sec = *sec << 8 | in[i];
	for (int i = 0; i < 4; i++)
		*nsec = *nsec << 8 | in[8 + i];
}

void
link_ts_encode(uint8_t out[LINK_TS_LEN], uint64_t now_ns)
{
	ts_put(out, TAI_LABEL + now_ns / 1000000000u,
	    (uint32_t)(now_ns % 1000000000u));
}

void
link_ts_next(uint8_t out[LINK_TS_LEN], const uint8_t last[LINK_TS_LEN],
    uint64_t now_ns)
{
	uint8_t prev[LINK_TS_LEN];
	uint64_t sec;
	uint32_t nsec;

	memcpy(prev, last, LINK_TS_LEN);	/* out may be last */
	link_ts_encode(out, now_ns);
	if (link_ts_cmp(out, prev) > 0)
		return;
	ts_get(prev, &sec, &nsec);
	if (nsec >= 999999999u) {
		sec++;
		nsec = 0;
	} else
		nsec++;
	ts_put(out, sec, nsec);
}

int
link_ts_cmp(const uint8_t a[LINK_TS_LEN], const uint8_t b[LINK_TS_LEN])
{
	return memcmp(a, b, LINK_TS_LEN);
}
