/* test_link_common.h: two parties' keys and a channel for the link engine
 * tests (test_handshake.c, test_transport.c). */
#include <sodium.h>
#include <string.h>

#include "link/handshake.h"
#include "link/transport.h"

struct party {
	uint8_t priv[32], pub[32];
};

struct chan {
	struct party a, b;		/* a initiates */
	uint8_t id[32], psk[32], mac1[32];
};

static void
party_make(struct party *p, uint8_t seed)
{
	memset(p->priv, seed, sizeof p->priv);
	crypto_scalarmult_base(p->pub, p->priv);
}

static void
chan_make(struct chan *c)
{
	party_make(&c->a, 1);
	party_make(&c->b, 2);
	memset(c->id, 0x3f, sizeof c->id);
	memset(c->psk, 0x55, sizeof c->psk);
	link_mac1_key(c->mac1, c->psk);
}

static void
params(struct link_hs_params *hp, const struct chan *c, int side)
{
	memset(hp, 0, sizeof *hp);
	memcpy(hp->channel_id, c->id, 32);
	hp->path = 1;
	hp->local_priv = side == 0 ? c->a.priv : c->b.priv;
	hp->peer_pub = side == 0 ? c->b.pub : c->a.pub;
	hp->psk = c->psk;
	hp->mac1_key = c->mac1;
	hp->random = NULL;
}

static void
test_random(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	randombytes_buf(buf, len);
}
