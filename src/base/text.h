/*
 * text.h: text from outside (a peer's message body, an export file)
 * printed for a person: no control character reaches the terminal, and
 * what was escaped can be told from what was written.
 *
 * Does not judge the text (envelope_body_check_kind does); it prints any
 * bytes.
 */
#ifndef PARLEY_BASE_TEXT_H
#define PARLEY_BASE_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Writes p[0..n) to f as the UTF-8 text it holds, but: a newline is
 * written followed by indent (NULL: none); a tab as it is; any other C0
 * control (U+0000..U+001F) and DEL as \xNN; a backslash as \\; the C1
 * controls (U+0080..U+009F) and the bidirectional embeddings, overrides
 * and isolates (U+202A..U+202E, U+2066..U+2069) as \u{NNNN}; a byte that
 * does not start valid UTF-8 as \xNN.
 */
void text_print(FILE *f, const uint8_t *p, size_t n, const char *indent);
/* text_print for a field shown on one line (a name, a first line): a
 * newline and a tab are escaped too (\x0a, \x09), so the text cannot
 * start a line of its own. */
void text_print_line(FILE *f, const uint8_t *p, size_t n);

#endif
