/* hex.c: see hex.h. */
#include "base/hex.h"

#include <string.h>

static int
nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void
hex_encode(char *out, const uint8_t *in, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

int
hex_decode_any(uint8_t *out, size_t cap, size_t *len, const char *hex)
{
	size_t n = strlen(hex);
	if (n % 2 != 0)
		return ERR_PARSE;
	if (n / 2 > cap)
		return ERR_TOO_BIG;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return ERR_PARSE;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*len = n / 2;
	return 0;
}

int
hex_decode(uint8_t *out, size_t outlen, const char *hex)
{
	size_t len;
	int r;

	if (strlen(hex) != 2 * outlen)
		return ERR_PARSE;
	if ((r = hex_decode_any(out, outlen, &len, hex)) != 0)
		return r;
	return 0;
}
