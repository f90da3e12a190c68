/* adnames.c: AD's own rules for names before a write: sAMAccountName (MS-SAMR 3.1.1.6), cn's length in UTF-16 units
 * and AD's string equality (MS-ADTS 6.5.1). See adcodec.h for the contracts. */
#include "groupbridge/adcodec.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/utf8.h"

/* ---- AD's equality: a narrow rule ----
 *
 * AD compares String(Unicode) values with CompareString and NORM_IGNORECASE | NORM_IGNOREKANATYPE |
 * NORM_IGNORENONSPACE | NORM_IGNOREWIDTH (MS-ADTS 6.5.1). Nothing already linked does that (PCRE2 folds case but not
 * accents, iconv's //TRANSLIT depends on the process locale) and ICU would be a new dependency for a comparison
 * used on names and DNs, so this is a narrow rule that covers the scripts directory names are written in, and
 * compares exactly (byte for byte after ASCII folding) outside them:
 *   - case: ASCII, Latin-1, Latin Extended-A, basic Greek and Cyrillic;
 *   - accents (non-spacing marks): the precomposed Latin letters of Latin-1 and Latin Extended-A fold to their base
 *     letter, combining marks U+0300-U+036F are ignored; letters with a stroke (Ø, Đ, Ł) are letters of their own,
 *     as in Windows' tables;
 *   - width: the fullwidth forms U+FF01-U+FF5E are their ASCII letters, U+3000 is a space;
 *   - kana type: katakana U+30A1-U+30F6 is its hiragana.
 * A byte that does not start valid UTF-8 is compared as itself. */

/* U+00C0-U+017F: a letter is the folded base letter, '*' lower-case by +0x20, '+' lower-case by +1, '-' as is. */
static const char latin_fold[] = "aaaaaa*ceeeeiiii*nooooo-*uuuuy*-"
				 "aaaaaa-ceeeeiiii-nooooo--uuuuy-y"
				 "aaaaaaccccccccdd+-eeeeeeeeeegggggggghh+-iiiiiiiii-+-jjkk-llllll+-+-nnnnnn-+-oooooo+-"
				 "rrrrrrsssssssstttt+-uuuuuuuuuuuuwwyyyzzzzzz-";

/* The folded code point, or 0 for a mark that AD ignores. Without accents, case and width only (and Latin
 * Extended-A exactly): the stricter rule the write fence uses. */
static uint32_t fold_cp(uint32_t c, bool accents)
{
	if (c < 0x80)
		return c >= 'A' && c <= 'Z' ? c + 0x20 : c;
	if (!accents && c >= 0xC0 && c <= 0x17F)
		return c <= 0xDE && c != 0xD7 ? c + 0x20 : c;
	if (!accents && c >= 0x300 && c <= 0x36F)
		return c;
	if (c >= 0xC0 && c <= 0x17F) {
		char f = latin_fold[c - 0xC0];
		return f == '*' ? c + 0x20 : f == '+' ? c + 1 : f == '-' ? c : (uint32_t)(unsigned char)f;
	}
	if (c >= 0x300 && c <= 0x36F)
		return 0;
	if ((c >= 0x391 && c <= 0x3A9 && c != 0x3A2) || (c >= 0x410 && c <= 0x42F))
		return c + 0x20;
	if (c >= 0x400 && c <= 0x40F)
		return c + 0x50;
	if (c >= 0xFF01 && c <= 0xFF5E)
		return fold_cp(c - 0xFF01 + 0x21, accents);
	if (c == 0x3000)
		return ' ';
	if (c >= 0x30A1 && c <= 0x30F6)
		return c - 0x60;
	return c;
}

/* The next folded code point of s[*pos..n), skipping ignored marks; UINT32_MAX at the end. An invalid byte is
 * returned as 0x110000 + byte, so it equals only itself. */
static uint32_t next_folded(const char *s, size_t n, size_t *pos, bool accents)
{
	while (*pos < n) {
		uint32_t cp = 0, f;
		size_t len = gb_utf8_decode(s + *pos, n - *pos, &cp);

		if (len == 0) {
			cp = 0x110000u + (unsigned char)s[*pos];
			(*pos)++;
			return cp;
		}
		*pos += len;
		if ((f = fold_cp(cp, accents)) != 0)
			return f;
	}
	return UINT32_MAX;
}

static bool str_equal(const char *a, size_t alen, const char *b, size_t blen, bool accents)
{
	size_t i = 0, j = 0;

	for (;;) {
		uint32_t x = next_folded(a, alen, &i, accents), y = next_folded(b, blen, &j, accents);

		if (x != y)
			return false;
		if (x == UINT32_MAX)
			return true;
	}
}

bool gb_ad_str_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	return str_equal(a, alen, b, blen, true);
}

bool gb_ad_str_equal_case(const char *a, size_t alen, const char *b, size_t blen)
{
	return str_equal(a, alen, b, blen, false);
}

int gb_ad_str_fold(const char *s, char **out, gb_error *err)
{
	size_t n = strlen(s), pos = 0, k = 0;
	char *r;
	uint32_t cp;

	*out = NULL;
	r = malloc(n * 2 + 1); /* a folded character never takes more than twice the bytes of the original */
	if (!r)
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	while ((cp = next_folded(s, n, &pos, true)) != UINT32_MAX) {
		if (cp >= 0x110000u)
			r[k++] = (char)(cp - 0x110000u);
		else
			k += gb_utf8_encode(cp, r + k);
	}
	r[k] = '\0';
	*out = r;
	return 0;
}

/* ---- lengths ---- */

size_t gb_ad_utf16_len(const char *s)
{
	size_t n = strlen(s), pos = 0, units = 0;

	while (pos < n) {
		uint32_t cp = 0;
		size_t len = gb_utf8_decode(s + pos, n - pos, &cp);

		units += len && cp > 0xFFFF ? 2 : 1;
		pos += len ? len : 1;
	}
	return units;
}

size_t gb_ad_utf16_prefix(const char *s, size_t max_units)
{
	size_t n = strlen(s), pos = 0, units = 0;

	while (pos < n) {
		uint32_t cp = 0;
		size_t len = gb_utf8_decode(s + pos, n - pos, &cp), u = len && cp > 0xFFFF ? 2 : 1;

		if (units + u > max_units)
			break;
		units += u;
		pos += len ? len : 1;
	}
	return pos;
}

/* ---- sAMAccountName ---- */

static bool sam_forbidden(uint32_t cp)
{
	return cp < 0x20 || cp == 0x7F || (cp < 0x80 && strchr("\"/\\[]:;|=,+*?<>", (int)cp) != NULL);
}

int gb_ad_sam_check(const char *sam, gb_error *err)
{
	size_t n = strlen(sam), pos = 0, units;

	if (n == 0)
		return gb_error_set(err, GB_EINVAL, "sAMAccountName is empty");
	while (pos < n) {
		uint32_t cp = 0;
		size_t len = gb_utf8_decode(sam + pos, n - pos, &cp);

		if (len == 0)
			return gb_error_set(err, GB_EINVAL, "sAMAccountName \"%s\" is not valid UTF-8", sam);
		if (sam_forbidden(cp)) {
			if (cp < 0x20 || cp == 0x7F)
				return gb_error_set(err, GB_EINVAL,
						    "sAMAccountName \"%s\" holds control character 0x%02X, which AD refuses",
						    sam, (unsigned)cp);
			return gb_error_set(err, GB_EINVAL,
					    "sAMAccountName \"%s\" holds '%c', which AD refuses (none of \" / \\ [ ] : ; | "
					    "= , + * ? < > is allowed)",
					    sam, (char)cp);
		}
		pos += len;
	}
	if (sam[n - 1] == '.')
		return gb_error_set(err, GB_EINVAL, "sAMAccountName \"%s\" ends with a period, which AD refuses", sam);
	if (strspn(sam, ". ") == n)
		return gb_error_set(err, GB_EINVAL, "sAMAccountName \"%s\" is only periods and spaces", sam);
	units = gb_ad_utf16_len(sam);
	if (units > GB_AD_SAM_MAX)
		return gb_error_set(err, GB_EINVAL,
				    "sAMAccountName \"%s\" has %zu characters, more than the %d that pre-Windows 2000 names "
				    "(net group, NetBIOS logons, many scripts) allow",
				    sam, units, GB_AD_SAM_MAX);
	return 0;
}

int gb_ad_sam_derive(const char *name, const char *object_id, char *out, size_t n, gb_error *err)
{
	char hex[GB_AD_SAM_SUFFIX + 1];
	size_t k = 0, pos = 0, len = name ? strlen(name) : 0, units = 0, i;
	uint32_t h = 2166136261u;

	/* The suffix: FNV-1a of the whole object id (case-folded), so that two groups with one name do not collide,
	 * ids that differ anywhere (not only at the end) give different names, and one group always gets one name. */
	if (!object_id || !*object_id)
		return gb_error_set(err, GB_EINVAL, "no object id to derive a sAMAccountName from");
	for (i = 0; object_id[i]; i++) {
		unsigned char c = (unsigned char)object_id[i];
		h = (h ^ (c >= 'A' && c <= 'Z' ? c + 32u : c)) * 16777619u;
	}
	snprintf(hex, sizeof hex, "%08x", (unsigned)h);
	if (n < GB_AD_SAM_BUF)
		return gb_error_set(err, GB_EINVAL, "sAMAccountName buffer too small");
	while (name && pos < len && units < GB_AD_SAM_MAX - GB_AD_SAM_SUFFIX - 1) {
		uint32_t cp = 0;
		size_t cl = gb_utf8_decode(name + pos, len - pos, &cp);

		if (cl == 0 || cp > 0xFFFF || cp == 0x7F || (cp >= 0x80 && cp < 0xA0)) {
			pos += cl ? cl : 1; /* invalid bytes, characters outside the BMP and C1 controls are left out */
			continue;
		}
		if (cp == ' ' || sam_forbidden(cp) || cp == '@') {
			if (k > 0 && out[k - 1] != '_')
				out[k++] = '_', units++;
		} else {
			memcpy(out + k, name + pos, cl);
			k += cl;
			units++;
		}
		pos += cl;
	}
	while (k > 0 && (out[k - 1] == '_' || out[k - 1] == '.'))
		k--;
	if (k == 0) {
		memcpy(out, "group", 5);
		k = 5;
	}
	out[k++] = '_';
	memcpy(out + k, hex, GB_AD_SAM_SUFFIX + 1);
	return 0;
}
