/* hex.h: lower-case hexadecimal, for ids and keys shown to people and JSON. */
#ifndef PARLEY_BASE_HEX_H
#define PARLEY_BASE_HEX_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* Writes 2*n hex digits and a NUL to out (size at least 2*n+1). */
void hex_encode(char *out, const uint8_t *in, size_t n);
/* Decodes exactly outlen bytes from the string hex (2*outlen digits, any
 * case, nothing else). ERR_PARSE on any other input. */
int hex_decode(uint8_t *out, size_t outlen, const char *hex) WUR;
/* Decodes a hex string of any even length into out (cap bytes); sets *len.
 * ERR_PARSE on a bad digit or odd length, ERR_TOO_BIG over cap. */
int hex_decode_any(uint8_t *out, size_t cap, size_t *len, const char *hex) WUR;

#endif
