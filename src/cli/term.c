/*
 * term.c: text from outside (a peer's message or acknowledgment, an
 * export file, another operator's note) printed on an operator's
 * terminal through base/text.h, so that a peer cannot rewrite or hide
 * what the screen shows. --json output is JSON-escaped already.
 */
#include "cli/cli.h"

#include <stdint.h>
#include <string.h>

#include "base/text.h"

void
cli_put_safe(FILE *f, const char *s, size_t n, bool lines)
{
	if (s == NULL)
		return;
	if (lines)
		text_print(f, (const uint8_t *)s, n, NULL);
	else
		text_print_line(f, (const uint8_t *)s, n);
}

void
cli_put_str(FILE *f, const char *s)
{
	if (s != NULL)
		text_print_line(f, (const uint8_t *)s, strlen(s));
}
