/*
 * people_fuzz.c: libFuzzer target for the people-in-the-loop parsers
 * (docs/operators.md): the ACK body (bytes from the peer), the audit entry
 * (bytes from the store file) and the roles file (bytes from the home).
 * The first byte picks the parser. Whatever decodes must re-encode to
 * exactly the input (only the canonical encoding is accepted); the roles
 * parser must only never crash.
 *
 *   make fuzz (seeds: fuzz/corpus/people_fuzz/)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/roles.h"
#include "msg/ack.h"
#include "msg/audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
ack(const uint8_t *data, size_t size)
{
	struct ack_body b;
	uint8_t out[ACK_BODY_MAX];
	size_t len;

	if (ack_body_decode(&b, data, size) != 0)
		return;
	if (ack_body_encode(&b, out, sizeof out, &len) != 0 || len != size ||
	    memcmp(out, data, size) != 0)
		abort();	/* accepted a non-canonical encoding */
}

static void
entry(const uint8_t *data, size_t size)
{
	struct audit_entry e;
	uint8_t out[AUDIT_ENTRY_MAX];
	size_t len;

	if (audit_decode(&e, data, size) != 0)
		return;
	if (audit_encode(&e, out, sizeof out, &len) != 0 || len != size ||
	    memcmp(out, data, size) != 0)
		abort();
}

static void
roles(const uint8_t *data, size_t size)
{
	static struct roles r;
	char why[256];

	if (roles_parse(&r, (const char *)data, size, why, sizeof why) == 0 &&
	    r.n > ROLES_MAX)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0: ack(data + 1, size - 1); break;
	case 1: entry(data + 1, size - 1); break;
	default: roles(data + 1, size - 1); break;
	}
	return 0;
}
