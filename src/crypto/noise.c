/*
 * noise.c: the Noise Protocol Framework, revision 34, for the one suite
 * 25519_ChaChaPoly_BLAKE2b, as a sans-I/O engine (see noise.h and
 * docs/noise.md). It parses the protocol name into message patterns (the 15
 * fundamental patterns of spec sections 7.4 and 7.5, plus psk modifiers per
 * section 9), then runs the HandshakeState/SymmetricState/CipherState
 * objects of section 5 over the caller's buffers.
 *
 * It does not: allocate, do I/O, log, rekey, implement deferred or fallback
 * patterns, or send transport messages without a key.
 *
 * NOTES (invariants)
 *  1. Before noise_handshake_start() succeeds, write and read refuse
 *     (ERR_STATE); after it, exactly one of write/read is allowed, as given
 *     by hs->action, until the last message makes the action SPLIT.
 *  2. Errors about the caller's buffers (ERR_SHORT, and ERR_TOO_BIG on
 *     write) are detected before any state changes and change nothing. Every
 *     other error wipes the secrets and leaves the action FAILED for good.
 *  3. An all-zero DH result (crypto_scalarmult() == -1) is an ERR_CRYPTO.
 *  4. A CipherState never uses the nonce 2^64-1; n advances only on success.
 *  5. split() may be called once; it then wipes ck, k, and every private key
 *     and PSK; h and the remote static key stay readable.
 *
 *   init --set_*--> start --+--> WRITE <--> READ --> SPLIT --split--> done
 *                           |        (any error but buffer size)
 *                           +-----------------> FAILED
 */
#include "crypto/noise.h"

#include <sodium.h>
#include <string.h>

#include "crypto/hmac.h"

_Static_assert(NOISE_KEY_LEN == crypto_scalarmult_BYTES, "DH length");
_Static_assert(NOISE_KEY_LEN == crypto_scalarmult_SCALARBYTES, "DH key");
_Static_assert(NOISE_KEY_LEN == crypto_aead_chacha20poly1305_ietf_KEYBYTES,
    "cipher key");
_Static_assert(NOISE_TAG_LEN == crypto_aead_chacha20poly1305_ietf_ABYTES,
    "tag length");
_Static_assert(NOISE_HASH_LEN == HMAC_LEN, "hash length");

#define NAME_PREFIX "Noise_"
#define NAME_SUFFIX "_25519_ChaChaPoly_BLAKE2b"

/* The fundamental patterns, as in the spec (sections 7.4, 7.5): whether
 * the initiator's (pre_i) or responder's (pre_r) static key is a
 * pre-message, then the message patterns, initiator first, alternating. */
struct pattern_def {
	const char *name;
	uint8_t pre_i, pre_r;
	const char *msgs[3];
};

static const struct pattern_def patterns[] = {
	{ "N", 0, 1, { "e es", NULL, NULL } },
	{ "K", 1, 1, { "e es ss", NULL, NULL } },
	{ "X", 0, 1, { "e es s ss", NULL, NULL } },
	{ "NN", 0, 0, { "e", "e ee", NULL } },
	{ "NK", 0, 1, { "e es", "e ee", NULL } },
	{ "NX", 0, 0, { "e", "e ee s es", NULL } },
	{ "XN", 0, 0, { "e", "e ee", "s se" } },
	{ "XK", 0, 1, { "e es", "e ee", "s se" } },
	{ "XX", 0, 0, { "e", "e ee s es", "s se" } },
	{ "KN", 1, 0, { "e", "e ee se", NULL } },
	{ "KK", 1, 1, { "e es ss", "e ee se", NULL } },
	{ "KX", 1, 0, { "e", "e ee se s es", NULL } },
	{ "IN", 0, 0, { "e s", "e ee se", NULL } },
	{ "IK", 0, 1, { "e es s ss", "e ee se", NULL } },
	{ "IX", 0, 0, { "e s", "e ee se s es", NULL } },
};

static int
token_parse(const char *s, size_t len, uint8_t *tok)
{
	static const struct {
		const char *s;
		enum noise_token t;
	} names[] = {
		{ "e", NOISE_TOK_E }, { "s", NOISE_TOK_S },
		{ "ee", NOISE_TOK_EE }, { "es", NOISE_TOK_ES },
		{ "se", NOISE_TOK_SE }, { "ss", NOISE_TOK_SS },
	};

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (strlen(names[i].s) == len && memcmp(names[i].s, s, len) == 0) {
			*tok = (uint8_t)names[i].t;
			return 0;
		}
	}
	return ERR_INVALID;
}

static int
token_add(struct noise_pattern *p, uint8_t m, uint8_t tok)
{
	if (p->ntokens[m] >= NOISE_MAX_TOKENS)
		return ERR_INVALID;
	p->tokens[m][p->ntokens[m]++] = tok;
	return 0;
}

/* Parses the modifiers after the pattern letters: "" or
 * "pskN(+pskN)*"; sets bit N of *mask for each, refusing repeats. */
static int
modifiers_parse(const char *s, size_t len, unsigned *mask)
{
	size_t i = 0;

	*mask = 0;
	while (i < len) {
		if (len - i < 4 || memcmp(s + i, "psk", 3) != 0 ||
		    s[i + 3] < '0' || s[i + 3] > '9')
			return ERR_INVALID;
		unsigned n = (unsigned)(s[i + 3] - '0');
		if (*mask & (1u << n))
			return ERR_INVALID;
		*mask |= 1u << n;
		i += 4;
		if (i < len) {
			if (s[i] != '+' || i + 1 == len)
				return ERR_INVALID;
			i++;
		}
	}
	return 0;
}

/* Builds the token lists from a pattern definition and psk mask: psk0 goes
 * first in message 1, pskN (N >= 1) last in message N (section 9). */
static int
pattern_build(struct noise_pattern *p, const struct pattern_def *d,
    unsigned pskmask)
{
	uint8_t m;
	int r;

	memset(p, 0, sizeof *p);
	p->pre_initiator_s = d->pre_i;
	p->pre_responder_s = d->pre_r;
	for (m = 0; m < 3 && d->msgs[m] != NULL; m++)
		;
	p->nmessages = m;
	p->one_way = m == 1;
	if (pskmask >> (p->nmessages + 1) != 0)
		return ERR_INVALID;	/* pskN past the last message */

	for (m = 0; m < p->nmessages; m++) {
		const char *s = d->msgs[m];

		if (m == 0 && (pskmask & 1) &&
		    (r = token_add(p, m, NOISE_TOK_PSK)) != 0)
			return r;
		while (*s != '\0') {
			size_t n = strcspn(s, " ");
			uint8_t tok;

			if ((r = token_parse(s, n, &tok)) != 0 ||
			    (r = token_add(p, m, tok)) != 0)
				return r;
			s += n;
			if (*s == ' ')
				s++;
		}
		if ((pskmask & (1u << (m + 1))) &&
		    (r = token_add(p, m, NOISE_TOK_PSK)) != 0)
			return r;
	}
	p->npsks = (uint8_t)__builtin_popcount(pskmask);
	if (p->npsks > NOISE_MAX_PSKS)
		return ERR_INVALID;
	return 0;
}

/* "Noise_" PATTERN [modifiers] "_25519_ChaChaPoly_BLAKE2b" */
static int
name_parse(struct noise_pattern *p, const char *name)
{
	size_t len = strlen(name), pre = strlen(NAME_PREFIX);
	size_t suf = strlen(NAME_SUFFIX), mid, plen;
	const char *s;
	unsigned mask;
	int r;

	if (len <= pre + suf || memcmp(name, NAME_PREFIX, pre) != 0 ||
	    strcmp(name + len - suf, NAME_SUFFIX) != 0)
		return ERR_INVALID;
	s = name + pre;
	mid = len - pre - suf;
	for (plen = 0; plen < mid && s[plen] >= 'A' && s[plen] <= 'Z'; plen++)
		;
	if ((r = modifiers_parse(s + plen, mid - plen, &mask)) != 0)
		return r;
	for (size_t i = 0; i < sizeof patterns / sizeof patterns[0]; i++) {
		if (strlen(patterns[i].name) == plen &&
		    memcmp(patterns[i].name, s, plen) == 0)
			return pattern_build(p, &patterns[i], mask);
	}
	return ERR_INVALID;
}

/* --- CipherState ------------------------------------------------------ */

static void
nonce_make(uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES],
    uint64_t n)
{
	memset(nonce, 0, 4);
	for (int i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(n >> (8 * i));
}

/* out = ENCRYPT(k, n, ad, pt) || tag; sizes already checked. */
static void
cipher_seal(struct noise_cipher *c, const uint8_t *ad, size_t ad_len,
    const uint8_t *pt, size_t pt_len, uint8_t *out)
{
	uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
	static const uint8_t none;

	nonce_make(nonce, c->n);
	crypto_aead_chacha20poly1305_ietf_encrypt(out, NULL,
	    pt != NULL ? pt : &none, pt_len, ad, ad_len, NULL, nonce, c->k);
	c->n++;
}

static int
cipher_open(struct noise_cipher *c, const uint8_t *ad, size_t ad_len,
    const uint8_t *ct, size_t ct_len, uint8_t *out)
{
	uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
	static uint8_t sink;

	nonce_make(nonce, c->n);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(out != NULL ? out : &sink,
	    NULL, NULL, ct, ct_len, ad, ad_len, nonce, c->k) != 0)
		return ERR_CRYPTO;
	c->n++;
	return 0;
}

int
noise_cipher_encrypt(struct noise_cipher *c, const uint8_t *ad, size_t ad_len,
    const uint8_t *pt, size_t pt_len, uint8_t *out, size_t cap,
    size_t *out_len)
{
	*out_len = 0;
	if (out == NULL || (pt == NULL && pt_len > 0) ||
	    (ad == NULL && ad_len > 0))
		return ERR_INVALID;
	if (!c->has_key || c->n == UINT64_MAX)
		return ERR_STATE;
	if (pt_len > NOISE_MAX_MSG - NOISE_TAG_LEN)
		return ERR_TOO_BIG;
	if (cap < pt_len + NOISE_TAG_LEN)
		return ERR_SHORT;
	cipher_seal(c, ad, ad_len, pt, pt_len, out);
	*out_len = pt_len + NOISE_TAG_LEN;
	return 0;
}

int
noise_cipher_decrypt(struct noise_cipher *c, const uint8_t *ad, size_t ad_len,
    const uint8_t *ct, size_t ct_len, uint8_t *out, size_t cap,
    size_t *out_len)
{
	int r;

	*out_len = 0;
	if (ct == NULL || (out == NULL && cap > 0) ||
	    (ad == NULL && ad_len > 0))
		return ERR_INVALID;
	if (!c->has_key || c->n == UINT64_MAX)
		return ERR_STATE;
	if (ct_len > NOISE_MAX_MSG)
		return ERR_TOO_BIG;
	if (ct_len < NOISE_TAG_LEN)
		return ERR_CRYPTO;
	if (cap < ct_len - NOISE_TAG_LEN)
		return ERR_SHORT;
	if ((r = cipher_open(c, ad, ad_len, ct, ct_len, out)) != 0)
		return r;
	*out_len = ct_len - NOISE_TAG_LEN;
	return 0;
}

void
noise_cipher_fini(struct noise_cipher *c)
{
	sodium_memzero(c, sizeof *c);
}

/* --- SymmetricState --------------------------------------------------- */

static void
mix_hash(struct noise_handshake *hs, const uint8_t *data, size_t len)
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, NOISE_HASH_LEN);
	crypto_generichash_update(&st, hs->h, NOISE_HASH_LEN);
	if (len > 0)
		crypto_generichash_update(&st, data, len);
	crypto_generichash_final(&st, hs->h, NOISE_HASH_LEN);
}

static void
mix_key(struct noise_handshake *hs, const uint8_t *ikm, size_t len)
{
	uint8_t k[NOISE_HASH_LEN];

	hkdf_blake2b(hs->ck, ikm, len, hs->ck, k, NULL);
	memcpy(hs->cs.k, k, NOISE_KEY_LEN);
	hs->cs.n = 0;
	hs->cs.has_key = true;
	sodium_memzero(k, sizeof k);
}

static void
mix_key_and_hash(struct noise_handshake *hs, const uint8_t *ikm, size_t len)
{
	uint8_t th[NOISE_HASH_LEN], k[NOISE_HASH_LEN];

	hkdf_blake2b(hs->ck, ikm, len, hs->ck, th, k);
	mix_hash(hs, th, sizeof th);
	memcpy(hs->cs.k, k, NOISE_KEY_LEN);
	hs->cs.n = 0;
	hs->cs.has_key = true;
	sodium_memzero(th, sizeof th);
	sodium_memzero(k, sizeof k);
}

/* out = EncryptAndHash(pt); out has room for len (+ tag when keyed). */
static int
encrypt_and_hash(struct noise_handshake *hs, const uint8_t *pt, size_t len,
    uint8_t *out, size_t *out_len)
{
	if (!hs->cs.has_key) {
		if (len > 0)
			memmove(out, pt, len);
		mix_hash(hs, out, len);
		*out_len = len;
		return 0;
	}
	if (hs->cs.n == UINT64_MAX)
		return ERR_STATE;
	cipher_seal(&hs->cs, hs->h, NOISE_HASH_LEN, pt, len, out);
	*out_len = len + NOISE_TAG_LEN;
	mix_hash(hs, out, *out_len);
	return 0;
}

/* out = DecryptAndHash(ct); the caller checked ct_len against the tag. */
static int
decrypt_and_hash(struct noise_handshake *hs, const uint8_t *ct, size_t ct_len,
    uint8_t *out)
{
	uint8_t h[NOISE_HASH_LEN];
	int r;

	if (!hs->cs.has_key) {
		if (ct_len > 0)
			memmove(out, ct, ct_len);
		mix_hash(hs, ct, ct_len);
		return 0;
	}
	if (hs->cs.n == UINT64_MAX)
		return ERR_STATE;
	/* h must cover ct, so hash after decrypting with the old h. */
	memcpy(h, hs->h, sizeof h);
	if ((r = cipher_open(&hs->cs, h, sizeof h, ct, ct_len, out)) != 0)
		return r;
	mix_hash(hs, ct, ct_len);
	return 0;
}

/* --- HandshakeState --------------------------------------------------- */

/* Wipes the handshake's secrets and makes every later call fail. Once split
 * is done, h is the finished handshake hash the caller binds the session
 * to (not a secret): a refused call after split must not erase it. */
static void
fail(struct noise_handshake *hs)
{
	sodium_memzero(&hs->cs, sizeof hs->cs);
	sodium_memzero(hs->ck, sizeof hs->ck);
	if (!hs->split_done)
		sodium_memzero(hs->h, sizeof hs->h);
	sodium_memzero(hs->s_priv, sizeof hs->s_priv);
	sodium_memzero(hs->e_priv, sizeof hs->e_priv);
	sodium_memzero(hs->psks, sizeof hs->psks);
	hs->has_s = hs->has_e = hs->fixed_e = false;
	hs->action = NOISE_ACTION_FAILED;
}

/* Who sends message m. */
static enum noise_role
sender(const struct noise_handshake *hs, uint8_t m)
{
	if (hs->pattern.one_way || m % 2 == 0)
		return NOISE_INITIATOR;
	return NOISE_RESPONDER;
}

static void
action_update(struct noise_handshake *hs)
{
	if (hs->msg_index >= hs->pattern.nmessages)
		hs->action = NOISE_ACTION_SPLIT;
	else if (sender(hs, hs->msg_index) == hs->role)
		hs->action = NOISE_ACTION_WRITE;
	else
		hs->action = NOISE_ACTION_READ;
}

/* Does role send token tok in some message? */
static bool
sends(const struct noise_handshake *hs, enum noise_role role, uint8_t tok)
{
	const struct noise_pattern *p = &hs->pattern;

	for (uint8_t m = 0; m < p->nmessages; m++) {
		if (sender(hs, m) != role)
			continue;
		for (uint8_t i = 0; i < p->ntokens[m]; i++)
			if (p->tokens[m][i] == tok)
				return true;
	}
	return false;
}

/* Bytes of message m other than the payload, given the current key. */
static size_t
overhead(const struct noise_handshake *hs, uint8_t m)
{
	const struct noise_pattern *p = &hs->pattern;
	bool keyed = hs->cs.has_key;
	size_t n = 0;

	for (uint8_t i = 0; i < p->ntokens[m]; i++) {
		switch (p->tokens[m][i]) {
		case NOISE_TOK_E:
			n += NOISE_KEY_LEN;
			if (p->npsks > 0)
				keyed = true;
			break;
		case NOISE_TOK_S:
			n += NOISE_KEY_LEN + (keyed ? (size_t)NOISE_TAG_LEN : 0);
			break;
		default:
			keyed = true;
			break;
		}
	}
	return n + (keyed ? NOISE_TAG_LEN : 0);
}

/* MixKey(DH(local, remote)) for a DH token, choosing keys by role. */
static int
dh_token(struct noise_handshake *hs, uint8_t tok)
{
	bool ini = hs->role == NOISE_INITIATOR, local_e, remote_e;
	const uint8_t *priv, *pub;
	uint8_t out[crypto_scalarmult_BYTES];
	int r;

	switch (tok) {
	case NOISE_TOK_EE: local_e = true; remote_e = true; break;
	case NOISE_TOK_ES: local_e = ini; remote_e = !ini; break;
	case NOISE_TOK_SE: local_e = !ini; remote_e = ini; break;
	case NOISE_TOK_SS: local_e = false; remote_e = false; break;
	default: return ERR_STATE;
	}
	if ((local_e ? !hs->has_e : !hs->has_s) ||
	    (remote_e ? !hs->has_re : !hs->has_rs))
		return ERR_STATE;
	priv = local_e ? hs->e_priv : hs->s_priv;
	pub = remote_e ? hs->re : hs->rs;
	if (crypto_scalarmult(out, priv, pub) != 0) {
		r = ERR_CRYPTO;		/* all-zero: a low-order point */
		goto out;
	}
	mix_key(hs, out, sizeof out);
	r = 0;
out:
	sodium_memzero(out, sizeof out);
	return r;
}

static int
psk_token(struct noise_handshake *hs)
{
	if (hs->npsks_used >= hs->pattern.npsks)
		return ERR_STATE;
	mix_key_and_hash(hs, hs->psks[hs->npsks_used], NOISE_KEY_LEN);
	sodium_memzero(hs->psks[hs->npsks_used], NOISE_KEY_LEN);
	hs->npsks_used++;
	return 0;
}

int
noise_handshake_init(struct noise_handshake *hs, const char *protocol_name,
    enum noise_role role, const uint8_t *prologue, size_t prologue_len,
    noise_random_fn *random, void *random_ctx)
{
	size_t len;
	int r;

	sodium_memzero(hs, sizeof *hs);
	hs->action = NOISE_ACTION_FAILED;
	if (protocol_name == NULL ||
	    (role != NOISE_INITIATOR && role != NOISE_RESPONDER) ||
	    (prologue == NULL && prologue_len > 0))
		return ERR_INVALID;
	len = strlen(protocol_name);
	if (len >= sizeof hs->name)
		return ERR_INVALID;
	if ((r = name_parse(&hs->pattern, protocol_name)) != 0)
		return r;
	memcpy(hs->name, protocol_name, len + 1);
	hs->role = role;
	hs->random = random;
	hs->random_ctx = random_ctx;

	/* InitializeSymmetric(name), then MixHash(prologue). */
	if (len <= NOISE_HASH_LEN)
		memcpy(hs->h, protocol_name, len);
	else
		crypto_generichash(hs->h, NOISE_HASH_LEN,
		    (const uint8_t *)protocol_name, len, NULL, 0);
	memcpy(hs->ck, hs->h, NOISE_HASH_LEN);
	mix_hash(hs, prologue, prologue_len);
	action_update(hs);
	return 0;
}

/* Setters are allowed between a successful init and start. */
static int
setter_check(struct noise_handshake *hs)
{
	if (hs->started || hs->action == NOISE_ACTION_FAILED) {
		fail(hs);
		return ERR_STATE;
	}
	return 0;
}

int
noise_handshake_set_static(struct noise_handshake *hs,
    const uint8_t priv[NOISE_KEY_LEN])
{
	int r;

	if ((r = setter_check(hs)) != 0)
		return r;
	memcpy(hs->s_priv, priv, NOISE_KEY_LEN);
	crypto_scalarmult_base(hs->s_pub, hs->s_priv);
	hs->has_s = true;
	return 0;
}

int
noise_handshake_set_remote_static(struct noise_handshake *hs,
    const uint8_t pub[NOISE_KEY_LEN])
{
	int r;

	if ((r = setter_check(hs)) != 0)
		return r;
	memcpy(hs->rs, pub, NOISE_KEY_LEN);
	hs->has_rs = true;
	return 0;
}

int
noise_handshake_set_psk(struct noise_handshake *hs,
    const uint8_t psk[NOISE_KEY_LEN])
{
	int n, r;

	if ((r = setter_check(hs)) != 0)
		return r;
	n = __builtin_popcount(hs->psks_set);
	if (n >= hs->pattern.npsks) {
		fail(hs);
		return ERR_STATE;
	}
	memcpy(hs->psks[n], psk, NOISE_KEY_LEN);
	hs->psks_set = (uint8_t)(hs->psks_set | 1u << n);
	return 0;
}

int
noise_handshake_set_ephemeral(struct noise_handshake *hs,
    const uint8_t priv[NOISE_KEY_LEN])
{
	int r;

	if ((r = setter_check(hs)) != 0)
		return r;
	memcpy(hs->e_priv, priv, NOISE_KEY_LEN);
	crypto_scalarmult_base(hs->e_pub, hs->e_priv);
	hs->fixed_e = true;
	return 0;
}

/* Checks the keys this role needs, then mixes the pre-messages
 * (initiator's first, section 7). */
int
noise_handshake_start(struct noise_handshake *hs)
{
	const struct noise_pattern *p = &hs->pattern;
	bool ini = hs->role == NOISE_INITIATOR;
	bool pre_mine = ini ? p->pre_initiator_s : p->pre_responder_s;
	bool pre_peer = ini ? p->pre_responder_s : p->pre_initiator_s;
	int r;

	if ((r = setter_check(hs)) != 0)
		return r;
	if (((pre_mine || sends(hs, hs->role, NOISE_TOK_S)) && !hs->has_s) ||
	    pre_peer != hs->has_rs ||
	    __builtin_popcount(hs->psks_set) != p->npsks ||
	    (sends(hs, hs->role, NOISE_TOK_E) && !hs->fixed_e &&
	    hs->random == NULL)) {
		fail(hs);
		return ERR_STATE;
	}
	if (p->pre_initiator_s)
		mix_hash(hs, ini ? hs->s_pub : hs->rs, NOISE_KEY_LEN);
	if (p->pre_responder_s)
		mix_hash(hs, ini ? hs->rs : hs->s_pub, NOISE_KEY_LEN);
	hs->started = true;
	action_update(hs);
	return 0;
}

enum noise_action
noise_handshake_action(const struct noise_handshake *hs)
{
	return hs->action;
}

/* Processes one token of a message being written at out + *off. */
static int
write_token(struct noise_handshake *hs, uint8_t tok, uint8_t *out,
    size_t *off)
{
	size_t n;
	int r;

	switch (tok) {
	case NOISE_TOK_E:
		if (!hs->fixed_e) {
			hs->random(hs->random_ctx, hs->e_priv, NOISE_KEY_LEN);
			crypto_scalarmult_base(hs->e_pub, hs->e_priv);
		}
		hs->has_e = true;
		memcpy(out + *off, hs->e_pub, NOISE_KEY_LEN);
		*off += NOISE_KEY_LEN;
		mix_hash(hs, hs->e_pub, NOISE_KEY_LEN);
		if (hs->pattern.npsks > 0)
			mix_key(hs, hs->e_pub, NOISE_KEY_LEN);
		return 0;
	case NOISE_TOK_S:
		if ((r = encrypt_and_hash(hs, hs->s_pub, NOISE_KEY_LEN,
		    out + *off, &n)) != 0)
			return r;
		*off += n;
		return 0;
	case NOISE_TOK_PSK:
		return psk_token(hs);
	default:
		return dh_token(hs, tok);
	}
}

int
noise_handshake_write(struct noise_handshake *hs, const uint8_t *payload,
    size_t payload_len, uint8_t *out, size_t cap, size_t *out_len)
{
	const struct noise_pattern *p = &hs->pattern;
	uint8_t m = hs->msg_index;
	size_t over, off = 0, n;
	int r;

	*out_len = 0;
	if (payload == NULL && payload_len > 0) {
		r = ERR_INVALID;
		goto fail;
	}
	if (!hs->started || hs->action != NOISE_ACTION_WRITE) {
		r = ERR_STATE;
		goto fail;
	}
	over = overhead(hs, m);
	if (payload_len > NOISE_MAX_MSG - over)
		return ERR_TOO_BIG;
	if (cap < over + payload_len)
		return ERR_SHORT;
	for (uint8_t i = 0; i < p->ntokens[m]; i++)
		if ((r = write_token(hs, p->tokens[m][i], out, &off)) != 0)
			goto fail;
	if ((r = encrypt_and_hash(hs, payload, payload_len, out + off,
	    &n)) != 0)
		goto fail;
	*out_len = off + n;
	hs->msg_index++;
	action_update(hs);
	return 0;
fail:
	fail(hs);
	return r;
}

/* Processes one token of a message being read at msg + *off. */
static int
read_token(struct noise_handshake *hs, uint8_t tok, const uint8_t *msg,
    size_t *off)
{
	size_t n;
	int r;

	switch (tok) {
	case NOISE_TOK_E:
		memcpy(hs->re, msg + *off, NOISE_KEY_LEN);
		hs->has_re = true;
		*off += NOISE_KEY_LEN;
		mix_hash(hs, hs->re, NOISE_KEY_LEN);
		if (hs->pattern.npsks > 0)
			mix_key(hs, hs->re, NOISE_KEY_LEN);
		return 0;
	case NOISE_TOK_S:
		n = NOISE_KEY_LEN + (hs->cs.has_key ? (size_t)NOISE_TAG_LEN : 0);
		if ((r = decrypt_and_hash(hs, msg + *off, n, hs->rs)) != 0)
			return r;
		hs->has_rs = true;
		*off += n;
		return 0;
	case NOISE_TOK_PSK:
		return psk_token(hs);
	default:
		return dh_token(hs, tok);
	}
}

int
noise_handshake_read(struct noise_handshake *hs, const uint8_t *msg,
    size_t msg_len, uint8_t *payload, size_t cap, size_t *payload_len)
{
	const struct noise_pattern *p = &hs->pattern;
	uint8_t m = hs->msg_index;
	size_t over, off = 0, plen;
	int r;

	*payload_len = 0;
	if (msg == NULL && msg_len > 0) {
		r = ERR_INVALID;
		goto fail;
	}
	if (!hs->started || hs->action != NOISE_ACTION_READ) {
		r = ERR_STATE;
		goto fail;
	}
	over = overhead(hs, m);
	if (msg_len > NOISE_MAX_MSG || msg_len < over) {
		r = ERR_PARSE;
		goto fail;
	}
	plen = msg_len - over;
	if (cap < plen)
		return ERR_SHORT;
	for (uint8_t i = 0; i < p->ntokens[m]; i++)
		if ((r = read_token(hs, p->tokens[m][i], msg, &off)) != 0)
			goto fail;
	if ((r = decrypt_and_hash(hs, msg + off, msg_len - off, payload)) != 0)
		goto fail;
	*payload_len = plen;
	hs->msg_index++;
	action_update(hs);
	return 0;
fail:
	fail(hs);
	return r;
}

int
noise_handshake_split(struct noise_handshake *hs, struct noise_cipher *send,
    struct noise_cipher *recv)
{
	uint8_t k1[NOISE_HASH_LEN], k2[NOISE_HASH_LEN];
	struct noise_cipher *c1, *c2;

	sodium_memzero(send, sizeof *send);
	sodium_memzero(recv, sizeof *recv);
	if (hs->action != NOISE_ACTION_SPLIT || hs->split_done) {
		fail(hs);
		return ERR_STATE;
	}
	hkdf_blake2b(hs->ck, NULL, 0, k1, k2, NULL);
	c1 = hs->role == NOISE_INITIATOR ? send : recv;
	c2 = hs->role == NOISE_INITIATOR ? recv : send;
	memcpy(c1->k, k1, NOISE_KEY_LEN);
	c1->has_key = true;
	if (!hs->pattern.one_way) {
		memcpy(c2->k, k2, NOISE_KEY_LEN);
		c2->has_key = true;
	}
	sodium_memzero(k1, sizeof k1);
	sodium_memzero(k2, sizeof k2);

	/* Keep h and rs for the caller; wipe everything secret. */
	sodium_memzero(&hs->cs, sizeof hs->cs);
	sodium_memzero(hs->ck, sizeof hs->ck);
	sodium_memzero(hs->s_priv, sizeof hs->s_priv);
	sodium_memzero(hs->e_priv, sizeof hs->e_priv);
	sodium_memzero(hs->psks, sizeof hs->psks);
	hs->split_done = true;
	return 0;
}

const uint8_t *
noise_handshake_hash(const struct noise_handshake *hs)
{
	return hs->h;
}

const uint8_t *
noise_handshake_remote_static(const struct noise_handshake *hs)
{
	return hs->has_rs ? hs->rs : NULL;
}

void
noise_handshake_fini(struct noise_handshake *hs)
{
	sodium_memzero(hs, sizeof *hs);
	hs->action = NOISE_ACTION_FAILED;
}
