/* utf8.c: the one UTF-8 decoder (RFC 3629): shortest forms only, no surrogates, nothing above U+10FFFF. */
#include "groupbridge/utf8.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

size_t gb_utf8_decode(const char *s, size_t n, uint32_t *cp)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len, k;
	uint32_t v;

	if (n == 0)
		return 0;
	if (u[0] < 0x80) {
		*cp = u[0];
		return 1;
	}
	if (u[0] >= 0xC2 && u[0] <= 0xDF)
		len = 2, v = u[0] & 0x1F;
	else if (u[0] >= 0xE0 && u[0] <= 0xEF)
		len = 3, v = u[0] & 0x0F;
	else if (u[0] >= 0xF0 && u[0] <= 0xF4)
		len = 4, v = u[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (k = 1; k < len; k++) {
		if ((u[k] & 0xC0) != 0x80)
			return 0;
		v = (v << 6) | (u[k] & 0x3F);
	}
	if ((len == 3 && (v < 0x800 || (v >= 0xD800 && v <= 0xDFFF))) || (len == 4 && (v < 0x10000 || v > 0x10FFFF)))
		return 0;
	*cp = v;
	return len;
}

size_t gb_utf8_encode(uint32_t cp, char out[4])
{
	assert(cp <= 0x10FFFF);
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

bool gb_utf8_valid(const char *s, size_t n)
{
	size_t i = 0, k;
	uint32_t cp;

	while (i < n) {
		if ((unsigned char)s[i] < 0x80) { /* the common case, without a call */
			i++;
			continue;
		}
		k = gb_utf8_decode(s + i, n - i, &cp);
		if (k == 0)
			return false;
		i += k;
	}
	return true;
}

char *gb_utf8_clean(const char *s, size_t n, unsigned flags, size_t *outlen)
{
	size_t i = 0, o = 0, k;
	uint32_t cp;
	char *d;

	if (n > (SIZE_MAX - 1) / 3)
		return NULL;
	d = malloc(n * 3 + 1); /* a bad byte (1) becomes U+FFFD (3) */
	if (!d)
		return NULL;
	while (i < n) {
		k = gb_utf8_decode(s + i, n - i, &cp);
		if (k == 0 || ((flags & GB_UTF8_CONTROLS) && cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r')) {
			memcpy(d + o, GB_UTF8_REPLACEMENT, 3);
			o += 3;
			i++; /* a bad byte, or a control character (one byte) */
		} else {
			memcpy(d + o, s + i, k);
			o += k;
			i += k;
		}
	}
	d[o] = '\0';
	if (outlen)
		*outlen = o;
	return d;
}
