/*
 * replay.c: what keeps replayed initiations cheap (docs/link.md 3.3, 6).
 * Only a party that captured real initiations (or holds the PSK) gets
 * past mac1; what it can still make the listener spend is two X25519 per
 * initiation read. Two bounds, both checked after mac1 and before any
 * Diffie-Hellman:
 *
 *  1. Per path, the digests of the last LINK_REPLAY_SLOTS initiations
 *     read with Diffie-Hellman (accepted or refused), in a ring: one seen
 *     before is refused at once. A captured initiation replayed any number
 *     of times costs Diffie-Hellman at most once.
 *  2. Per source (link_source_key: the IPv4 address or the IPv6 /64) and
 *     channel, a budget of initiations refused after Diffie-Hellman: a burst of
 *     LINK_DH_REFUSED_BURST, then one per LINK_DH_REFUSED_MS (a GCRA:
 *     each refusal moves the source's "due" time on by one interval; the
 *     budget is spent while due is more than the burst ahead of now). A
 *     source over it has its initiations refused without Diffie-Hellman
 *     until due comes near: cycling more captured initiations than the
 *     ring holds costs at most the budget. Initiations accepted charge
 *     nothing, so a real peer's sessions and rekeys never spend it; and
 *     a party holding another channel's PSK, behind the peer's address
 *     (a NAT, a /64), spends only that channel's.
 *     LINK_DH_SOURCES sources are remembered; a new one takes the slot
 *     with the least debt (the earliest due, whose budget is the fullest).
 */
#include "link/link_int.h"

#include <sodium.h>
#include <string.h>

void
link_init_digest(uint8_t d[LINK_REPLAY_DIGEST_LEN], const uint8_t *msg,
    size_t len)
{
	crypto_generichash(d, LINK_REPLAY_DIGEST_LEN, msg, len, NULL, 0);
}

bool
link_replay_seen(const struct link_path *p,
    const uint8_t d[LINK_REPLAY_DIGEST_LEN])
{
	for (unsigned i = 0; i < p->nseen; i++)
		if (sodium_memcmp(p->seen[i], d, LINK_REPLAY_DIGEST_LEN) == 0)
			return true;
	return false;
}

void
link_replay_note(struct link_path *p, const uint8_t d[LINK_REPLAY_DIGEST_LEN])
{
	memcpy(p->seen[p->seen_next], d, LINK_REPLAY_DIGEST_LEN);
	p->seen_next = (p->seen_next + 1) % LINK_REPLAY_SLOTS;
	if (p->nseen < LINK_REPLAY_SLOTS)
		p->nseen++;
}

/* The slot of src on channel id, or NULL. */
static struct link_dh_source *
find_source(struct link *l, const uint8_t id[LINK_ID_LEN], const char *src)
{
	for (unsigned i = 0; i < LINK_DH_SOURCES; i++)
		if (l->dhsrc[i].src[0] != '\0' &&
		    strcmp(l->dhsrc[i].src, src) == 0 &&
		    memcmp(l->dhsrc[i].channel, id, LINK_ID_LEN) == 0)
			return &l->dhsrc[i];
	return NULL;
}

bool
link_dh_budget_ok(struct link *l, const uint8_t id[LINK_ID_LEN],
    const char *src, uint64_t now_ms)
{
	const struct link_dh_source *s = find_source(l, id, src);
	uint64_t ahead = (uint64_t)(LINK_DH_REFUSED_BURST - 1) *
	    LINK_DH_REFUSED_MS;

	return s == NULL || s->due_ms <= now_ms + ahead;
}

void
link_dh_budget_charge(struct link *l, const uint8_t id[LINK_ID_LEN],
    const char *src, uint64_t now_ms)
{
	struct link_dh_source *s = find_source(l, id, src), *o;

	if (s == NULL) {
		/* A free slot, or the one with the least debt. */
		s = &l->dhsrc[0];
		for (unsigned i = 1; i < LINK_DH_SOURCES && s->src[0]; i++) {
			o = &l->dhsrc[i];
			if (o->src[0] == '\0' || o->due_ms < s->due_ms)
				s = o;
		}
		memset(s, 0, sizeof *s);
		memcpy(s->channel, id, LINK_ID_LEN);
		memcpy(s->src, src, strnlen(src, sizeof s->src - 1));
	}
	s->due_ms = (s->due_ms > now_ms ? s->due_ms : now_ms) +
	    LINK_DH_REFUSED_MS;
}
