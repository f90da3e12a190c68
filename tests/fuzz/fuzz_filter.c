/* libFuzzer target for RFC 4515 filter value escaping (gb_ad_filter_escape, gb_ad_filter_escape_binary) on any
 * bytes, NUL included. Invariants checked (a broken one aborts): the escaped text holds no `*` `(` `)` or NUL, every
 * `\` starts a two-hex-digit escape, and decoding the escapes gives back the input exactly, so a hostile value can
 * neither end the assertion nor add a wildcard; the binary form is exactly three characters per byte. The value is
 * then placed in a filter "(cn=VALUE)" whose parentheses must still balance to one top-level assertion. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/adcodec.h"
#include "groupbridge/buf.h"
#include "groupbridge/error.h"
#include "groupbridge/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* decodes esc (len bytes) into a new buffer; aborts on anything an RFC 4515 value may not hold unescaped */
static unsigned char *decode(const char *esc, size_t len, size_t *out_len)
{
	unsigned char *out = malloc(len + 1);
	size_t i, o = 0;

	if (!out)
		abort();
	for (i = 0; i < len; i++) {
		char c = esc[i];
		int hi, lo;

		if (c == '*' || c == '(' || c == ')' || c == '\0')
			abort();
		if (c != '\\') {
			out[o++] = (unsigned char)c;
			continue;
		}
		if (i + 2 >= len)
			abort();
		hi = gb_hex_digit((unsigned char)esc[i + 1]);
		lo = gb_hex_digit((unsigned char)esc[i + 2]);
		if (hi < 0 || lo < 0)
			abort();
		out[o++] = (unsigned char)(hi * 16 + lo);
		i += 2;
	}
	*out_len = o;
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	gb_buf b, f;
	gb_error err;
	unsigned char *back;
	size_t back_len, i;
	int depth = 0, tops = 0;

	gb_error_clear(&err);
	gb_buf_init(&b, 1u << 20);
	if (gb_ad_filter_escape((const char *)data, size, &b, &err) == 0) {
		const char *esc = b.data ? b.data : "";

		if (strlen(esc) != b.len)
			abort(); /* no NUL inside the escaped text */
		back = decode(esc, b.len, &back_len);
		if (back_len != size || (size && memcmp(back, data, size) != 0))
			abort();
		free(back);

		gb_buf_init(&f, 1u << 21);
		if (gb_buf_append(&f, "(cn=", 4, &err) == 0 && gb_buf_append(&f, esc, b.len, &err) == 0 &&
		    gb_buf_append(&f, ")", 1, &err) == 0) {
			for (i = 0; i < f.len; i++) {
				if (f.data[i] == '(' && depth++ == 0)
					tops++;
				else if (f.data[i] == ')' && --depth < 0)
					abort();
			}
			if (depth != 0 || tops != 1)
				abort();
		}
		gb_buf_free(&f);
	}
	gb_buf_free(&b);

	gb_buf_init(&b, 1u << 22);
	if (gb_ad_filter_escape_binary(data, size, &b, &err) == 0) {
		if (b.len != 3 * size)
			abort();
		back = decode(b.data ? b.data : "", b.len, &back_len);
		if (back_len != size || (size && memcmp(back, data, size) != 0))
			abort();
		free(back);
	}
	gb_buf_free(&b);
	return 0;
}
