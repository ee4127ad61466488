/*
 * text.c: see text.h.
 */
#include "base/text.h"

#include <stdbool.h>

#include "base/wire.h"

/* Bytes in the UTF-8 sequence that starts with c; 0 when none does. */
static size_t
seq_len(uint8_t c)
{
	if (c >= 0xc2 && c <= 0xdf)
		return 2;
	if (c >= 0xe0 && c <= 0xef)
		return 3;
	if (c >= 0xf0 && c <= 0xf4)
		return 4;
	return 0;
}

/* True for code points a terminal acts on or that reorder the line. */
static bool
is_hidden(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
	    (cp >= 0x2066 && cp <= 0x2069);
}

/* text_print; one_line: a newline and a tab escaped too */
static void
print_text(FILE *f, const uint8_t *p, size_t n, const char *indent,
    bool one_line)
{
	size_t i = 0, len;
	uint32_t cp;

	while (i < n) {
		uint8_t c = p[i];
		if (c < 0x80) {
			if (one_line && (c == '\n' || c == '\t'))
				fprintf(f, "\\x%02x", c);
			else if (c == '\n') {
				fputc('\n', f);
				if (indent != NULL)
					fputs(indent, f);
			} else if (c == '\\')
				fputs("\\\\", f);
			else if (c == '\t' || (c >= 0x20 && c < 0x7f))
				fputc(c, f);
			else
				fprintf(f, "\\x%02x", c);
			i++;
			continue;
		}
		len = seq_len(c);
		if (len == 0 || len > n - i || !wire_utf8_is_valid(p + i, len)) {
			fprintf(f, "\\x%02x", c);
			i++;
			continue;
		}
		cp = c & (len == 2 ? 0x1fu : len == 3 ? 0x0fu : 0x07u);
		for (size_t k = 1; k < len; k++)
			cp = cp << 6 | (p[i + k] & 0x3fu);
		if (is_hidden(cp))
			fprintf(f, "\\u{%04x}", (unsigned)cp);
		else
			fwrite(p + i, 1, len, f);
		i += len;
	}
}

void
text_print(FILE *f, const uint8_t *p, size_t n, const char *indent)
{
	print_text(f, p, n, indent, false);
}

void
text_print_line(FILE *f, const uint8_t *p, size_t n)
{
	print_text(f, p, n, NULL, true);
}
