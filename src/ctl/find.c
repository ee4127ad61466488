/*
 * find.c: finds one stored message by the name an operator gives it: a
 * local id (q123), its 64-hex message id or a unique prefix of at least 4
 * hex digits. Shared by show (msgcmds.c) and ack (peoplecmds.c).
 */
#include "ctl/ctl.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/hex.h"
#include "base/num.h"
#include "store/store.h"

#define FIND_SCAN_MAX 1000000	/* rows looked at for a prefix */

struct find_ctx {
	const char *prefix;
	size_t plen, found;
	struct store_msg m;
};

/* store_list callback: keeps the first sequenced row whose id has prefix. */
static int
find_row(void *arg, struct store_msg *m)
{
	struct find_ctx *fc = arg;
	char id[2 * STORE_ID_LEN + 1];

	if (m->seq == 0)
		return 0;
	hex_encode(id, m->id, STORE_ID_LEN);
	if (strncmp(id, fc->prefix, fc->plen) != 0)
		return 0;
	if (fc->found++ == 0) {
		fc->m = *m;
		m->body = NULL;		/* stolen */
	}
	return 0;
}

int
ctl_find_message(struct store *st, const char *s, struct store_msg *out,
    char *err, size_t errcap)
{
	struct find_ctx fc;
	long long q;
	int r;

	memset(&fc, 0, sizeof fc);
	memset(out, 0, sizeof *out);
	if (s[0] == 'q' && s[1] >= '0' && s[1] <= '9') {
		if (num_parse(s + 1, 1, INT64_MAX, &q) != 0)
			goto usage;
		if ((r = store_get_local(st, q, out)) == ERR_NOT_FOUND)
			snprintf(err, errcap, "no message \"%s\"", s);
		else if (r != 0)
			snprintf(err, errcap, "store: %s", err_str(r));
		return r;
	}
	fc.plen = strlen(s);
	if (fc.plen < 4 || fc.plen > 2 * STORE_ID_LEN ||
	    strspn(s, "0123456789abcdef") != fc.plen)
		goto usage;
	fc.prefix = s;
	if ((r = store_list(st, NULL, STORE_BOTH, FIND_SCAN_MAX, find_row,
	    &fc)) != 0 && r != ERR_NOT_FOUND) {
		store_msg_fini(&fc.m);
		snprintf(err, errcap, "store: %s", err_str(r));
		return r;
	}
	if (fc.found != 1) {
		store_msg_fini(&fc.m);
		snprintf(err, errcap, fc.found ? "\"%s\" names several "
		    "messages: give more digits" : "no message \"%s\"", s);
		return fc.found ? ERR_USAGE : ERR_NOT_FOUND;
	}
	*out = fc.m;
	return 0;
usage:
	snprintf(err, errcap, "\"id\" must be a local id (q and a whole number "
	    "from 1, as q123) or a message id or unique prefix of it "
	    "(4..64 lower-case hex digits)");
	return ERR_USAGE;
}
