/*
 * transport.c: the record layer (transport.h, docs/link.md "Records").
 * Pure: no I/O, no allocation, no clock.
 *
 *   handshake --split--> [epoch e] --rekey--> [epoch e+1, old e kept]
 *                                    first record under e+1 --> [e+1]
 */
#include "link/transport.h"

#include <sodium.h>
#include <string.h>

static void
take(struct noise_cipher *dst, struct noise_cipher *src)
{
	*dst = *src;
	sodium_memzero(src, sizeof *src);
}

void
link_transport_init(struct link_transport *t, struct noise_cipher *send,
    struct noise_cipher *recv, bool initiator, uint64_t now_ms)
{
	memset(t, 0, sizeof *t);
	take(&t->send, send);
	take(&t->recv, recv);
	t->initiator = initiator;
	t->keyed_ms = now_ms;
}

void
link_transport_rekey(struct link_transport *t, struct noise_cipher *send,
    struct noise_cipher *recv, uint64_t now_ms)
{
	noise_cipher_fini(&t->old_recv);
	t->old_recv = t->recv;
	t->old_epoch = t->recv_epoch;
	t->has_old = true;
	noise_cipher_fini(&t->send);
	take(&t->send, send);
	take(&t->recv, recv);
	t->send_epoch++;
	t->recv_epoch++;
	t->sent = 0;
	t->received = 0;
	t->keyed_ms = now_ms;
	t->rekeys++;
}

void
link_transport_fini(struct link_transport *t)
{
	noise_cipher_fini(&t->send);
	noise_cipher_fini(&t->recv);
	noise_cipher_fini(&t->old_recv);
	sodium_memzero(t, sizeof *t);
}

int
link_transport_seal(struct link_transport *t, uint8_t type,
    const uint8_t *body, size_t len, uint8_t *out, size_t cap,
    size_t *out_len)
{
	size_t n;
	int r;

	if (len > LINK_RECORD_MAX)
		return ERR_TOO_BIG;
	if (cap < LINK_DATA_LEN(len))
		return ERR_SHORT;
	out[0] = LINK_TYPE_DATA;
	out[1] = t->send_epoch;
	out[2] = type;
	if (len)
		memmove(out + 3, body, len);
	if ((r = noise_cipher_encrypt(&t->send, out, LINK_DATA_HDR_LEN,
	    out + LINK_DATA_HDR_LEN, len + 1, out + LINK_DATA_HDR_LEN,
	    cap - LINK_DATA_HDR_LEN, &n)) != 0)
		return r;
	t->sent++;
	*out_len = LINK_DATA_HDR_LEN + n;
	return 0;
}

int
link_transport_open(struct link_transport *t, uint8_t *frame, size_t flen,
    uint8_t *type, const uint8_t **body, size_t *len)
{
	struct noise_cipher *c;
	size_t n;
	int r;

	if (flen < LINK_DATA_LEN(0) || frame[0] != LINK_TYPE_DATA)
		return ERR_PARSE;
	if (frame[1] == t->recv_epoch)
		c = &t->recv;
	else if (t->has_old && frame[1] == t->old_epoch)
		c = &t->old_recv;
	else
		return ERR_CRYPTO;
	if ((r = noise_cipher_decrypt(c, frame, LINK_DATA_HDR_LEN,
	    frame + LINK_DATA_HDR_LEN, flen - LINK_DATA_HDR_LEN,
	    frame + LINK_DATA_HDR_LEN, flen - LINK_DATA_HDR_LEN, &n)) != 0)
		return ERR_CRYPTO;
	if (n < 1)
		return ERR_PARSE;
	if (c == &t->recv) {
		t->received++;
		if (t->has_old) {
			noise_cipher_fini(&t->old_recv);
			t->has_old = false;
		}
	}
	*type = frame[LINK_DATA_HDR_LEN];
	*body = frame + LINK_DATA_HDR_LEN + 1;
	*len = n - 1;
	return 0;
}

bool
link_transport_rekey_due(const struct link_transport *t, uint64_t now_ms,
    uint64_t rekey_records, uint64_t rekey_ms)
{
	return t->sent >= rekey_records || t->received >= rekey_records ||
	    now_ms - t->keyed_ms >= rekey_ms;
}

int
link_pong_times(uint64_t t1, uint64_t t2, uint64_t t3, uint64_t t4,
    int64_t *rtt_ns, int64_t *offset_ns)
{
	int64_t a, b;

	if (t1 > INT64_MAX || t2 > INT64_MAX || t3 > INT64_MAX ||
	    t4 > INT64_MAX || t4 < t1 || t3 < t2)
		return ERR_PARSE;
	*rtt_ns = t3 - t2 > t4 - t1 ? 0 : (int64_t)((t4 - t1) - (t3 - t2));
	/* each difference fits (all four are in [0, 2^63)); their sum may
	 * not: halve each first */
	a = (int64_t)t2 - (int64_t)t1;
	b = (int64_t)t3 - (int64_t)t4;
	*offset_ns = a / 2 + b / 2 + (a % 2 + b % 2) / 2;
	return 0;
}

void
link_put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

uint64_t
link_get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}
