/*
 * term.c: text from outside (a peer's message or acknowledgment, an
 * export file, another operator's note) printed on an operator's
 * terminal: whatever the terminal would act on instead of showing
 * (escape sequences, carriage returns, bells, C1 controls, bytes that
 * are not UTF-8) is printed as \xHH, so that a peer cannot rewrite or
 * hide what the screen shows. --json output is JSON-escaped already.
 */
#include "cli/cli.h"

#include <stdint.h>
#include <string.h>

/* The length of the UTF-8 sequence at p (n bytes left) and its code
 * point, or 0 when it is not well formed. */
static size_t
utf8_at(const unsigned char *p, size_t n, uint32_t *cp)
{
	size_t len, i;
	uint32_t c;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		c = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		c = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		c = p[0] & 0x07;
	} else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
	    (len == 4 && (c < 0x10000 || c > 0x10ffff)))
		return 0;
	*cp = c;
	return len;
}

void
cli_put_safe(FILE *f, const char *s, size_t n, bool lines)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k;
	uint32_t c;

	if (s == NULL)
		return;
	while (i < n) {
		k = utf8_at(p + i, n - i, &c);
		if (k == 0 || c == 0x7f || (c >= 0x80 && c <= 0x9f) ||
		    (c < 0x20 && !(lines && (c == '\n' || c == '\t')))) {
			if (k == 0)
				k = 1;
			for (size_t j = 0; j < k; j++)
				fprintf(f, "\\x%02x", p[i + j]);
		} else
			fwrite(p + i, 1, k, f);
		i += k;
	}
}

void
cli_put_str(FILE *f, const char *s)
{
	if (s != NULL)
		cli_put_safe(f, s, strlen(s), false);
}
