/* text.c: UTF-8 helpers and the string functions (Append, Left, Mid, Trim, Word, InStr, Split, Join, case...). */
#include <iconv.h>
#include <locale.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <wctype.h>

#include "expr/expr_int.h"
#include "groupbridge/utf8.h"
#include "groupbridge/util.h"

/* ---- UTF-8 ---- */

size_t gb_expr__u8_next(const char *s, size_t len, size_t i, uint32_t *cp)
{
	size_t k = gb_utf8_decode(s + i, len - i, cp);

	if (k)
		return i + k;
	/* an invalid byte is one character of its own, kept as it is; 0xDC00+byte marks it */
	*cp = 0xDC00 + (unsigned char)s[i];
	return i + 1;
}

size_t gb_expr__u8_count(const char *s, size_t len)
{
	size_t i = 0, n = 0;
	uint32_t cp;

	while (i < len) {
		i = gb_expr__u8_next(s, len, i, &cp);
		n++;
	}
	return n;
}

size_t gb_expr__u8_offset(const char *s, size_t len, size_t nchars)
{
	size_t i = 0;
	uint32_t cp;

	while (i < len && nchars > 0) {
		i = gb_expr__u8_next(s, len, i, &cp);
		nchars--;
	}
	return i;
}

size_t gb_expr__u8_put(uint32_t cp, char out[4])
{
	if (cp >= 0xDC80 && cp <= 0xDCFF) { /* an invalid byte kept from the input */
		out[0] = (char)(cp - 0xDC00);
		return 1;
	}
	return gb_utf8_encode(cp, out);
}

static int sb_addcp(ctx *c, const node *n, sb *b, uint32_t cp)
{
	char t[4];

	return gb_expr__sb_add(c, n, b, t, gb_expr__u8_put(cp, t));
}

/* Decodes s into code points (arena). */
static int to_cps(ctx *c, const char *s, size_t len, uint32_t **out, size_t *n)
{
	size_t i = 0, k = 0;

	*out = gb_expr__alloc(c, (len + 1) * sizeof(uint32_t));
	if (!*out)
		return gb_expr__oom(c);
	while (i < len)
		i = gb_expr__u8_next(s, len, i, &(*out)[k++]);
	*n = k;
	return 0;
}

/* A set of code points (Word's delimiters, PCase's separators), looked up in logarithmic time. */
typedef struct cpset {
	uint32_t *cp;
	size_t n;
} cpset;

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int cpset_init(ctx *c, cpset *set, const char *s, size_t len)
{
	int rc = to_cps(c, s, len, &set->cp, &set->n);

	c->work += set->n;
	if (rc == 0 && set->n > 1)
		qsort(set->cp, set->n, sizeof(uint32_t), cmp_u32);
	return rc;
}

static bool cpset_has(const cpset *set, uint32_t cp)
{
	return set->n > 0 && bsearch(&cp, set->cp, set->n, sizeof(uint32_t), cmp_u32) != NULL;
}

/* Knuth-Morris-Pratt over code points: linear time whatever the input. */
typedef struct pat {
	const uint32_t *p;
	size_t n;
	size_t *fail;
	uint64_t *work; /* the evaluation's step counter: every comparison counts */
} pat;

static int pat_init(ctx *c, pat *pt, const uint32_t *p, size_t n)
{
	size_t i, k = 0;

	pt->p = p;
	pt->n = n;
	pt->work = &c->work;
	pt->fail = gb_expr__alloc(c, (n + 1) * sizeof(size_t));
	if (!pt->fail)
		return gb_expr__oom(c);
	pt->fail[0] = 0;
	for (i = 1; i < n; i++) {
		c->work++;
		while (k > 0 && p[i] != p[k]) {
			c->work++;
			k = pt->fail[k - 1];
		}
		if (p[i] == p[k])
			k++;
		pt->fail[i] = k;
	}
	return 0;
}

/* Index of the first match at or after from, or SIZE_MAX. The pattern is not empty. */
static size_t pat_find(const pat *pt, const uint32_t *t, size_t tn, size_t from)
{
	size_t i, k = 0;

	for (i = from; i < tn; i++) {
		(*pt->work)++;
		while (k > 0 && t[i] != pt->p[k]) {
			(*pt->work)++;
			k = pt->fail[k - 1];
		}
		if (t[i] == pt->p[k])
			k++;
		if (k == pt->n)
			return i + 1 - pt->n;
	}
	return SIZE_MAX;
}

/* Finds needle in hay by bytes; fills positions (arena) of every non-overlapping match, left to right. */
int gb_expr__find_all(ctx *c, const node *n, const char *hay, size_t hlen, const char *needle, size_t nlen,
                      size_t **pos, size_t *npos)
{
	uint32_t *h, *p;
	pat pt;
	size_t i, at = 0, cap = 0;
	int rc;

	(void)n;
	*pos = NULL;
	*npos = 0;
	if (nlen == 0 || nlen > hlen)
		return 0;
	h = gb_expr__alloc(c, hlen * sizeof(uint32_t));
	p = gb_expr__alloc(c, nlen * sizeof(uint32_t));
	if (!h || !p)
		return gb_expr__oom(c);
	for (i = 0; i < hlen; i++)
		h[i] = (unsigned char)hay[i];
	for (i = 0; i < nlen; i++)
		p[i] = (unsigned char)needle[i];
	if ((rc = pat_init(c, &pt, p, nlen)) < 0)
		return rc;
	for (;;) {
		size_t m = pat_find(&pt, h, hlen, at);

		if (m == SIZE_MAX)
			break;
		if (*npos == cap) {
			size_t ncap = cap ? cap * 2 : 16, *np = gb_expr__alloc(c, ncap * sizeof(size_t));

			if (!np)
				return gb_expr__oom(c);
			if (cap)
				memcpy(np, *pos, cap * sizeof(size_t));
			*pos = np;
			cap = ncap;
		}
		(*pos)[(*npos)++] = m;
		at = m + nlen;
	}
	return 0;
}

/* ---- case mapping (the C.UTF-8 locale's Unicode tables; ASCII when that locale is missing) ---- */

static locale_t utf8_locale(void)
{
	static locale_t loc;
	static int tried;

	if (!__atomic_load_n(&tried, __ATOMIC_ACQUIRE)) {
		locale_t l = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
		locale_t expected = (locale_t)0;

		if (l && !__atomic_compare_exchange_n(&loc, &expected, l, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			freelocale(l);
		__atomic_store_n(&tried, 1, __ATOMIC_RELEASE);
	}
	return __atomic_load_n(&loc, __ATOMIC_ACQUIRE);
}

static uint32_t cp_lower(uint32_t cp)
{
	locale_t l;

	if (cp < 0x80)
		return cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
	if ((cp >= 0xD800 && cp <= 0xDFFF) || !(l = utf8_locale()))
		return cp;
	return (uint32_t)towlower_l((wint_t)cp, l);
}

static uint32_t cp_upper(uint32_t cp)
{
	locale_t l;

	if (cp < 0x80)
		return cp >= 'a' && cp <= 'z' ? cp - 32 : cp;
	if ((cp >= 0xD800 && cp <= 0xDFFF) || !(l = utf8_locale()))
		return cp;
	return (uint32_t)towupper_l((wint_t)cp, l);
}

static bool cp_space(uint32_t cp)
{
	return cp == ' ' || (cp >= 0x09 && cp <= 0x0D) || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
	       (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
	       cp == 0x3000;
}

static bool cp_mark(uint32_t cp)
{
	return (cp >= 0x0300 && cp <= 0x036F) || (cp >= 0x1AB0 && cp <= 0x1AFF) || (cp >= 0x1DC0 && cp <= 0x1DFF) ||
	       (cp >= 0x20D0 && cp <= 0x20FF) || (cp >= 0xFE20 && cp <= 0xFE2F);
}

/* ---- applying a string transformation to a value or to each value of a list ---- */

typedef int (*xform)(ctx *c, const node *n, const char *s, size_t len, const void *arg, sb *out);

static int map_arg0(ctx *c, const node *n, xform f, const void *arg, val *out)
{
	val v;
	size_t i;
	int rc;

	if ((rc = gb_expr__arg(c, n, 0, &v, NULL)) < 0)
		return rc;
	if (gb_expr__is_null(&v))
		return gb_expr__set_null(out);
	if (v.type == V_LIST && v.count > 1) {
		const char **items = gb_expr__alloc(c, v.count * sizeof(*items));

		if (!items)
			return gb_expr__oom(c);
		for (i = 0; i < v.count; i++) {
			sb b = {0};
			val tmp;

			if ((rc = f(c, n, v.items[i], strlen(v.items[i]), arg, &b)) < 0 ||
			    (rc = gb_expr__sb_done(c, n, &b, &tmp)) < 0)
				return rc;
			items[i] = tmp.s;
		}
		memset(out, 0, sizeof(*out));
		out->type = V_LIST;
		out->items = items;
		out->count = v.count;
		return 0;
	}
	{
		const char *s;
		size_t len;
		sb b = {0};

		if ((rc = gb_expr__to_str(c, n, &v, &s, &len)) < 0 || (rc = f(c, n, s, len, arg, &b)) < 0)
			return rc;
		return gb_expr__sb_done(c, n, &b, out);
	}
}

static int x_trim(ctx *c, const node *n, const char *s, size_t len, const void *arg, sb *out)
{
	size_t i = 0, start = 0, end = 0;
	bool seen = false;
	uint32_t cp;

	(void)arg;
	while (i < len) {
		size_t nx = gb_expr__u8_next(s, len, i, &cp);

		if (!cp_space(cp)) {
			if (!seen)
				start = i;
			seen = true;
			end = nx;
		}
		i = nx;
	}
	return seen ? gb_expr__sb_add(c, n, out, s + start, end - start) : gb_expr__sb_add(c, n, out, "", 0);
}

static int x_case(ctx *c, const node *n, const char *s, size_t len, const void *arg, sb *out)
{
	bool upper = arg != NULL;
	size_t i = 0;
	uint32_t cp;
	int rc;

	while (i < len) {
		i = gb_expr__u8_next(s, len, i, &cp);
		if ((rc = sb_addcp(c, n, out, upper ? cp_upper(cp) : cp_lower(cp))) < 0)
			return rc;
	}
	return gb_expr__sb_add(c, n, out, "", 0);
}

static int x_strip(ctx *c, const node *n, const char *s, size_t len, const void *arg, sb *out)
{
	size_t i;
	int rc;

	(void)arg;
	for (i = 0; i < len; i++)
		if (s[i] != ' ' && (rc = gb_expr__sb_addc(c, n, out, s[i])) < 0)
			return rc;
	return gb_expr__sb_add(c, n, out, "", 0);
}

/* Microsoft's NormalizeDiacritics table: each group of characters maps to the replacement. */
static const struct {
	const char *from, *to;
} diacritics[] = {
	{"äàâãåáąăāǟǡ", "a"}, {"ÄÀÂÃÅÁĄĂĀǞǠ", "A"}, {"æǣ", "ae"}, {"ÆǢ", "AE"}, {"çčć", "c"}, {"ÇČĆ", "C"},
	{"ďḏ", "d"}, {"ĎḎ", "D"}, {"ëèéêęěėēḗḕ", "e"}, {"ËÈÉÊĘĚĖĒḖḔ", "E"}, {"ğḡ", "g"}, {"ĞḠ", "G"},
	{"ïîìíıī", "i"}, {"ÏÎÌÍİĪ", "I"}, {"ľłḹḻ", "l"}, {"ŁĽḸḺ", "L"}, {"ñńňṉ", "n"}, {"ÑŃŇṈ", "N"},
	{"öòőõôóōṓṑȫǭȭȱ", "o"}, {"ÖÒŐÕÔÓŌṒṐȪǬȬȰ", "O"}, {"øœ", "oe"}, {"ØŒ", "OE"}, {"řṟṝ", "r"},
	{"ŘṞṜ", "R"}, {"ß", "ss"}, {"šśșş", "s"}, {"ŠŚȘŞ", "S"}, {"ťțṯ", "t"}, {"ŤȚṮ", "T"},
	{"üùûúůűūǖṻ", "u"}, {"ÜÙÛÚŮŰŪǕṺ", "U"}, {"ÿýȳ", "y"}, {"ŸÝȲ", "Y"}, {"źžżẕ", "z"}, {"ŹŽŻẔ", "Z"},
};

static const char *diacritic(uint32_t cp)
{
	size_t k, i, len;
	uint32_t d;

	if (cp < 0xC0 || cp > 0x1EFF)
		return NULL;
	for (k = 0; k < sizeof(diacritics) / sizeof(diacritics[0]); k++) {
		len = strlen(diacritics[k].from);
		for (i = 0; i < len;) {
			i = gb_expr__u8_next(diacritics[k].from, len, i, &d);
			if (d == cp)
				return diacritics[k].to;
		}
	}
	return NULL;
}

static int x_normalize(ctx *c, const node *n, const char *s, size_t len, const void *arg, sb *out)
{
	size_t i = 0;
	uint32_t cp;
	const char *r;
	int rc;

	(void)arg;
	while (i < len) {
		i = gb_expr__u8_next(s, len, i, &cp);
		if (cp_mark(cp))
			continue;
		r = diacritic(cp);
		rc = r ? gb_expr__sb_add(c, n, out, r, strlen(r)) : sb_addcp(c, n, out, cp);
		if (rc < 0)
			return rc;
	}
	return gb_expr__sb_add(c, n, out, "", 0);
}

static bool default_separator(uint32_t cp)
{
	if (cp < 0x80)
		return !((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9'));
	return (cp >= 0x80 && cp <= 0xBF) || cp == 0xD7 || cp == 0xF7 || (cp >= 0x2000 && cp <= 0x206F) ||
	       (cp >= 0x3000 && cp <= 0x303F) || (cp >= 0xDC80 && cp <= 0xDCFF);
}

static int x_pcase(ctx *c, const node *n, const char *s, size_t len, const void *arg, sb *out)
{
	const cpset *seps = arg;
	size_t i = 0;
	bool start = true;
	uint32_t cp;
	int rc;

	while (i < len) {
		bool sep;

		i = gb_expr__u8_next(s, len, i, &cp);
		sep = seps ? cpset_has(seps, cp) : default_separator(cp);
		if (sep) {
			start = true;
			rc = sb_addcp(c, n, out, cp);
		} else if (cp_mark(cp)) {
			rc = sb_addcp(c, n, out, cp);
		} else {
			rc = sb_addcp(c, n, out, start ? cp_upper(cp) : cp_lower(cp));
			start = false;
		}
		if (rc < 0)
			return rc;
	}
	return gb_expr__sb_add(c, n, out, "", 0);
}

int gb_expr__fn_trim(ctx *c, const node *n, val *out)
{
	return map_arg0(c, n, x_trim, NULL, out);
}

int gb_expr__fn_tolower(ctx *c, const node *n, val *out)
{
	return map_arg0(c, n, x_case, NULL, out);
}

int gb_expr__fn_toupper(ctx *c, const node *n, val *out)
{
	return map_arg0(c, n, x_case, "upper", out);
}

int gb_expr__fn_stripspaces(ctx *c, const node *n, val *out)
{
	return map_arg0(c, n, x_strip, NULL, out);
}

int gb_expr__fn_normalize(ctx *c, const node *n, val *out)
{
	return map_arg0(c, n, x_normalize, NULL, out);
}

int gb_expr__fn_pcase(ctx *c, const node *n, val *out)
{
	const char *s;
	size_t len;
	cpset set;
	int rc;

	if ((rc = gb_expr__arg_str(c, n, 1, &s, &len)) < 0)
		return rc;
	if (s && (rc = cpset_init(c, &set, s, len)) < 0)
		return rc;
	return map_arg0(c, n, x_pcase, s ? &set : NULL, out);
}

/* ---- single-string functions ---- */

int gb_expr__fn_append(ctx *c, const node *n, val *out)
{
	const char *a, *b;
	size_t la, lb;
	sb r = {0};
	int rc;

	if ((rc = gb_expr__arg_str(c, n, 0, &a, &la)) < 0 || (rc = gb_expr__arg_str(c, n, 1, &b, &lb)) < 0)
		return rc;
	if ((a && (rc = gb_expr__sb_add(c, n, &r, a, la)) < 0) || (b && (rc = gb_expr__sb_add(c, n, &r, b, lb)) < 0))
		return rc;
	return gb_expr__sb_done(c, n, &r, out);
}

int gb_expr__fn_left(ctx *c, const node *n, val *out)
{
	const char *s;
	size_t len;
	int64_t k;
	int rc;

	if ((rc = gb_expr__arg_str(c, n, 0, &s, &len)) < 0 || (rc = gb_expr__arg_int(c, n, 1, &k)) < 0)
		return rc;
	if (!s)
		return gb_expr__set_str(c, n, out, "", 0);
	if (k < 0)
		return gb_expr__set_str(c, n, out, s, len);
	return gb_expr__set_str(c, n, out, s, gb_expr__u8_offset(s, len, (size_t)k));
}

int gb_expr__fn_mid(ctx *c, const node *n, val *out)
{
	const char *s;
	size_t len, a, b;
	int64_t start, k;
	int rc;

	if ((rc = gb_expr__arg_str(c, n, 0, &s, &len)) < 0 || (rc = gb_expr__arg_int(c, n, 1, &start)) < 0 ||
	    (rc = gb_expr__arg_int(c, n, 2, &k)) < 0)
		return rc;
	if (start < 1)
		return gb_expr__err(c, n, GB_EINVAL, "Mid: start %lld is less than 1", (long long)start);
	if (k < 0)
		return gb_expr__err(c, n, GB_EINVAL, "Mid: length %lld is negative", (long long)k);
	if (!s)
		return gb_expr__set_null(out);
	a = gb_expr__u8_offset(s, len, (size_t)(start - 1));
	b = a + gb_expr__u8_offset(s + a, len - a, (size_t)k);
	return gb_expr__set_str(c, n, out, s + a, b - a);
}

int gb_expr__fn_word(ctx *c, const node *n, val *out)
{
	const char *s, *d;
	size_t len, dlen, i = 0, wstart = 0, count = 0;
	int64_t k;
	bool in = false;
	uint32_t cp;
	cpset set;
	int rc;

	if ((rc = gb_expr__arg_str(c, n, 0, &s, &len)) < 0 || (rc = gb_expr__arg_int(c, n, 1, &k)) < 0 ||
	    (rc = gb_expr__arg_str(c, n, 2, &d, &dlen)) < 0)
		return rc;
	if (!s || k < 1)
		return gb_expr__set_str(c, n, out, "", 0);
	if (!d)
		d = "", dlen = 0;
	if ((rc = cpset_init(c, &set, d, dlen)) < 0)
		return rc;
	while (i <= len) {
		bool delim = i == len;
		size_t nx = i + 1;

		c->work++;
		if (i < len) {
			nx = gb_expr__u8_next(s, len, i, &cp);
			delim = cpset_has(&set, cp);
		}
		if (delim && in) {
			if (++count == (uint64_t)k)
				return gb_expr__set_str(c, n, out, s + wstart, i - wstart);
			in = false;
		} else if (!delim && !in) {
			in = true;
			wstart = i;
		}
		i = nx;
	}
	return gb_expr__set_str(c, n, out, "", 0);
}

int gb_expr__fn_instr(ctx *c, const node *n, val *out)
{
	const char *s, *f, *cmp;
	size_t len, flen, clen, hn, fnn, i, m;
	uint32_t *h, *p;
	int64_t start;
	bool present, text = false;
	pat pt;
	int rc;

	if ((rc = gb_expr__arg_str(c, n, 0, &s, &len)) < 0 || (rc = gb_expr__arg_str(c, n, 1, &f, &flen)) < 0 ||
	    (rc = gb_expr__arg_int_opt(c, n, 2, &start, &present)) < 0 ||
	    (rc = gb_expr__arg_str(c, n, 3, &cmp, &clen)) < 0)
		return rc;
	if (!present)
		start = 1;
	if (start < 1)
		return gb_expr__err(c, n, GB_EINVAL, "InStr: start %lld is less than 1", (long long)start);
	if (cmp) {
		if (gb_str_iequal(cmp, "vbTextCompare") || gb_str_iequal(cmp, "1"))
			text = true;
		else if (!gb_str_iequal(cmp, "vbBinaryCompare") && !gb_str_iequal(cmp, "0"))
			return gb_expr__err(c, n, GB_EINVAL,
			                    "InStr: compare \"%.40s\" is neither vbBinaryCompare nor vbTextCompare",
			                    cmp);
	}
	if (!s)
		return gb_expr__set_null(out);
	if (!f)
		return gb_expr__err(c, n, GB_EINVAL, "InStr: the string to find is null");
	if ((rc = to_cps(c, s, len, &h, &hn)) < 0 || (rc = to_cps(c, f, flen, &p, &fnn)) < 0)
		return rc;
	if ((uint64_t)start > hn) {
		gb_expr__set_int(out, 0);
		return 0;
	}
	if (fnn == 0) {
		gb_expr__set_int(out, start);
		return 0;
	}
	if (text) {
		for (i = 0; i < hn; i++)
			h[i] = cp_lower(h[i]);
		for (i = 0; i < fnn; i++)
			p[i] = cp_lower(p[i]);
	}
	if ((rc = pat_init(c, &pt, p, fnn)) < 0)
		return rc;
	m = pat_find(&pt, h, hn, (size_t)start - 1);
	gb_expr__set_int(out, m == SIZE_MAX ? 0 : (int64_t)m + 1);
	return 0;
}

/* ---- lists ---- */

static int list_push(ctx *c, const node *n, val *l, size_t *cap, const char *s)
{
	if (l->count >= GB_EXPR_MAX_ITEMS)
		return gb_expr__err(c, n, GB_ETOOBIG, "%s: more than %zu values", n->fn->name, GB_EXPR_MAX_ITEMS);
	if (l->count == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		const char **items = gb_expr__alloc(c, ncap * sizeof(*items));

		if (!items)
			return gb_expr__oom(c);
		if (l->count)
			memcpy(items, l->items, l->count * sizeof(*items));
		l->items = items;
		*cap = ncap;
	}
	l->items[l->count++] = s;
	return 0;
}

int gb_expr__fn_split(ctx *c, const node *n, val *out)
{
	const char *s, *d;
	size_t len, dlen, *pos, npos, i, at = 0, cap = 0;
	int rc;

	if ((rc = gb_expr__arg_str(c, n, 0, &s, &len)) < 0 || (rc = gb_expr__arg_str(c, n, 1, &d, &dlen)) < 0)
		return rc;
	if (!d || dlen == 0)
		return gb_expr__err(c, n, GB_EINVAL, "Split: the delimiter is empty");
	memset(out, 0, sizeof(*out));
	if (!s)
		return 0;
	if ((rc = gb_expr__find_all(c, n, s, len, d, dlen, &pos, &npos)) < 0)
		return rc;
	out->type = V_LIST;
	for (i = 0; i <= npos; i++) {
		size_t end = i < npos ? pos[i] : len;
		val tmp;

		if ((rc = gb_expr__set_str(c, n, &tmp, s + at, end - at)) < 0 ||
		    (rc = list_push(c, n, out, &cap, tmp.s)) < 0)
			return rc;
		at = end + dlen;
	}
	return 0;
}

int gb_expr__fn_join(ctx *c, const node *n, val *out)
{
	const char *sep, *s;
	size_t seplen, len, i, k;
	bool first = true;
	sb b = {0};
	val v;
	int rc;

	if ((rc = gb_expr__arg_str(c, n, 0, &sep, &seplen)) < 0)
		return rc;
	if (!sep)
		sep = "", seplen = 0;
	for (i = 1; i < n->nargs; i++) {
		size_t cnt;

		if ((rc = gb_expr__arg(c, n, i, &v, NULL)) < 0)
			return rc;
		if (gb_expr__is_null(&v))
			continue;
		cnt = v.type == V_LIST ? v.count : 1;
		for (k = 0; k < cnt; k++) {
			if (v.type == V_LIST) {
				s = v.items[k];
				len = strlen(s);
			} else if ((rc = gb_expr__to_str(c, n, &v, &s, &len)) < 0) {
				return rc;
			}
			if (len == 0)
				continue;
			if (!first && (rc = gb_expr__sb_add(c, n, &b, sep, seplen)) < 0)
				return rc;
			if ((rc = gb_expr__sb_add(c, n, &b, s, len)) < 0)
				return rc;
			first = false;
		}
	}
	return gb_expr__sb_done(c, n, &b, out);
}

int gb_expr__fn_item(ctx *c, const node *n, val *out)
{
	val v;
	int64_t k;
	size_t cnt;
	int rc;

	if ((rc = gb_expr__arg(c, n, 0, &v, NULL)) < 0 || (rc = gb_expr__arg_int(c, n, 1, &k)) < 0)
		return rc;
	if (gb_expr__is_null(&v))
		return gb_expr__set_null(out);
	cnt = v.type == V_LIST ? v.count : 1;
	if (k < 1 || (uint64_t)k > cnt)
		return gb_expr__err(c, n, GB_EINVAL, "Item: index %lld is out of range 1..%zu", (long long)k, cnt);
	if (v.type != V_LIST) {
		*out = v;
		return 0;
	}
	return gb_expr__set_str(c, n, out, v.items[k - 1], strlen(v.items[k - 1]));
}

int gb_expr__fn_count(ctx *c, const node *n, val *out)
{
	val v;
	int rc;

	if ((rc = gb_expr__arg(c, n, 0, &v, NULL)) < 0)
		return rc;
	gb_expr__set_int(out, gb_expr__is_null(&v) ? 0 : v.type == V_LIST ? (int64_t)v.count : 1);
	return 0;
}

typedef struct ival {
	const char *s;
	size_t i;
} ival;

static int cmp_ival(const void *a, const void *b)
{
	const ival *x = a, *y = b;
	int r = strcmp(x->s, y->s);

	return r ? r : (x->i < y->i ? -1 : x->i > y->i);
}

int gb_expr__fn_removedups(ctx *c, const node *n, val *out)
{
	val v;
	ival *sorted;
	bool *keep;
	size_t i, cap = 0;
	int rc;

	if ((rc = gb_expr__arg(c, n, 0, &v, NULL)) < 0)
		return rc;
	if (v.type != V_LIST) {
		*out = v;
		return 0;
	}
	/* sort (value, position), keep the first position of each value, emit in the original order */
	sorted = gb_expr__alloc(c, v.count * sizeof(*sorted));
	keep = gb_expr__alloc(c, v.count * sizeof(*keep));
	if (!sorted || !keep)
		return gb_expr__oom(c);
	for (i = 0; i < v.count; i++) {
		sorted[i].s = v.items[i];
		sorted[i].i = i;
		keep[i] = false;
	}
	qsort(sorted, v.count, sizeof(*sorted), cmp_ival);
	c->work += v.count;
	for (i = 0; i < v.count; i++)
		if (i == 0 || strcmp(sorted[i].s, sorted[i - 1].s) != 0)
			keep[sorted[i].i] = true;
	memset(out, 0, sizeof(*out));
	out->type = V_LIST;
	for (i = 0; i < v.count; i++)
		if (keep[i] && (rc = list_push(c, n, out, &cap, v.items[i])) < 0)
			return rc;
	return 0;
}

/* ---- DNs ---- */

int gb_expr__fn_dncomponent(ctx *c, const node *n, val *out)
{
	const char *s;
	size_t len, i, start = 0, comp = 1;
	int64_t k;
	int rc;

	if ((rc = gb_expr__arg_str(c, n, 0, &s, &len)) < 0 || (rc = gb_expr__arg_int(c, n, 1, &k)) < 0)
		return rc;
	memset(out, 0, sizeof(*out));
	if (!s || k < 1)
		return 0;
	for (i = 0; i <= len; i++) {
		if (i < len && s[i] == '\\') {
			i++;
			continue;
		}
		if (i == len || s[i] == ',' || s[i] == ';') {
			if (comp == (uint64_t)k) {
				size_t j = start, e = i;
				sb b = {0};

				while (j < e && s[j] != '=') /* the attribute type holds no escapes */
					j++;
				if (j == e)
					return gb_expr__err(c, n, GB_EINVAL, "DNComponent: component %lld has no '='",
					                    (long long)k);
				j++;
				while (j < e && s[j] == ' ')
					j++;
				while (e > j && s[e - 1] == ' ' && !(e >= 2 && s[e - 2] == '\\'))
					e--;
				while (j < e) {
					int hi = j + 2 < e ? gb_hex_digit((unsigned char)s[j + 1]) : -1;
					int lo = hi >= 0 ? gb_hex_digit((unsigned char)s[j + 2]) : -1;

					if (s[j] == '\\' && lo >= 0) {
						rc = gb_expr__sb_addc(c, n, &b, (char)(hi * 16 + lo));
						j += 3;
					} else if (s[j] == '\\' && j + 1 < e) {
						rc = gb_expr__sb_addc(c, n, &b, s[j + 1]);
						j += 2;
					} else {
						rc = gb_expr__sb_addc(c, n, &b, s[j++]);
					}
					if (rc < 0)
						return rc;
				}
				return gb_expr__sb_done(c, n, &b, out);
			}
			comp++;
			start = i + 1;
		}
	}
	return 0;
}

/* ---- encodings ----
 * Base64 is OpenSSL's (EVP_EncodeBlock, EVP_DecodeBlock) and UTF-16LE is glibc's iconv. What stays here are the
 * rules of ConvertFromBase64 that differ from EVP_DecodeBlock's: the text may hold spaces and line breaks anywhere,
 * it ends at the first '=' whatever follows, padding may be missing (a last group of 2 or 3 characters gives 1 or 2
 * bytes, a lone last character nothing), and the first character outside the alphabet is named by its position. */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int too_long(ctx *c, const node *n)
{
	return gb_expr__err(c, n, GB_ETOOBIG, "%s: result longer than %zu bytes", n->fn->name, GB_EXPR_MAX_STRING);
}

/* Converts len bytes at s from one encoding to the other into the arena (*out, *outlen; NUL-terminated). An input
 * iconv refuses (EILSEQ, or EINVAL for a cut sequence at the end) returns 1 without a message: the caller words it. */
static int transcode(ctx *c, const node *n, const char *to, const char *from, const char *s, size_t len, char **out,
                     size_t *outlen)
{
	size_t cap = len * 2 + 4, in_left = len, out_left = cap; /* UTF-16 takes at most 2 bytes per UTF-8 byte and
	                                                          * UTF-8 at most 3 per UTF-16 pair of bytes */
	char *in = (char *)s, *o;
	iconv_t cd;
	size_t r;

	if (len > GB_EXPR_MAX_STRING)
		return too_long(c, n);
	*out = o = gb_expr__alloc(c, cap);
	if (!o)
		return gb_expr__oom(c);
	cd = iconv_open(to, from);
	if (cd == (iconv_t)-1)
		return gb_expr__err(c, n, GB_EINVAL, "%s: iconv cannot convert %s to %s", n->fn->name, from, to);
	r = iconv(cd, &in, &in_left, &o, &out_left);
	iconv_close(cd);
	if (r == (size_t)-1)
		return 1;
	*outlen = cap - out_left;
	(*out)[*outlen] = '\0';
	return 0;
}

static int b64_encode(ctx *c, const node *n, const unsigned char *d, size_t len, val *out)
{
	size_t olen = (len + 2) / 3 * 4;
	char *t;

	if (olen > GB_EXPR_MAX_STRING)
		return too_long(c, n);
	t = gb_expr__alloc(c, olen + 1);
	if (!t)
		return gb_expr__oom(c);
	return gb_expr__set_strbuf(c, n, out, t, (size_t)EVP_EncodeBlock((unsigned char *)t, d, (int)len));
}

int gb_expr__fn_to_base64(ctx *c, const node *n, val *out)
{
	const char *s;
	char *u16;
	size_t len, u16len;
	int rc;

	if ((rc = gb_expr__arg_str(c, n, 0, &s, &len)) < 0)
		return rc;
	if (!s)
		return gb_expr__set_null(out);
	if ((rc = transcode(c, n, "UTF-16LE", "UTF-8", s, len, &u16, &u16len)) < 0)
		return rc;
	if (rc)
		return gb_expr__err(c, n, GB_EINVAL, "ConvertToBase64: the string is not valid UTF-8");
	if (u16len > GB_EXPR_MAX_STRING)
		return too_long(c, n);
	return b64_encode(c, n, (const unsigned char *)u16, u16len, out);
}

/* The base64 characters of s (ConvertFromBase64's rules above), padded for EVP_DecodeBlock, into the arena. *pad is
 * the number of '=' added: so many of the decoded bytes are not data. */
static int b64_clean(ctx *c, const node *n, const char *s, size_t len, char **out, size_t *olen, size_t *pad)
{
	size_t i, k = 0;
	char *t = gb_expr__alloc(c, len + 4);

	if (!t)
		return gb_expr__oom(c);
	for (i = 0; i < len && s[i] != '='; i++) {
		if (s[i] == ' ' || s[i] == '\r' || s[i] == '\n')
			continue;
		if (!s[i] || !strchr(b64, s[i]))
			return gb_expr__err(c, n, GB_EINVAL, "ConvertFromBase64: not base64 at character %zu", i + 1);
		t[k++] = s[i];
	}
	if (k % 4 == 1) /* six bits make no byte */
		k--;
	*pad = (4 - k % 4) % 4;
	memset(t + k, '=', *pad);
	*olen = k + *pad;
	*out = t;
	return 0;
}

int gb_expr__fn_from_base64(ctx *c, const node *n, val *out)
{
	const char *s, *enc;
	char *text = NULL, *u8;
	size_t len, elen, tlen = 0, pad = 0, i, k, u8len;
	unsigned char *d;
	int mode = 0, dlen; /* mode: 0 Unicode, 1 UTF8, 2 ASCII */
	int rc;

	if ((rc = gb_expr__arg_str(c, n, 0, &s, &len)) < 0 || (rc = gb_expr__arg_str(c, n, 1, &enc, &elen)) < 0)
		return rc;
	if (enc) {
		if (gb_str_iequal(enc, "UTF8"))
			mode = 1;
		else if (gb_str_iequal(enc, "ASCII"))
			mode = 2;
		else if (!gb_str_iequal(enc, "Unicode"))
			return gb_expr__err(c, n, GB_EINVAL,
			                    "ConvertFromBase64: encoding \"%.40s\" is not Unicode, UTF8 or ASCII", enc);
	}
	if (!s)
		return gb_expr__set_null(out);
	if ((rc = b64_clean(c, n, s, len, &text, &tlen, &pad)) < 0)
		return rc;
	d = gb_expr__alloc(c, tlen / 4 * 3 + 1);
	if (!d)
		return gb_expr__oom(c);
	dlen = tlen ? EVP_DecodeBlock(d, (const unsigned char *)text, (int)tlen) : 0;
	if (dlen < (int)pad) /* b64_clean gave it only the alphabet and padding: not expected */
		return gb_expr__err(c, n, GB_EINVAL, "ConvertFromBase64: OpenSSL refused the text");
	k = (size_t)dlen - pad;
	if (mode == 1 || mode == 2) {
		for (i = 0; i < k; i++)
			if (mode == 2 && d[i] >= 0x80)
				return gb_expr__err(c, n, GB_EINVAL, "ConvertFromBase64: byte %zu is not ASCII", i + 1);
		return gb_expr__set_str(c, n, out, (const char *)d, k);
	}
	if (k % 2)
		return gb_expr__err(c, n, GB_EINVAL, "ConvertFromBase64: odd number of bytes for UTF-16");
	/* the length is even: iconv refuses only an unpaired surrogate (EILSEQ, or EINVAL for a high one at the end) */
	if ((rc = transcode(c, n, "UTF-8", "UTF-16LE", (const char *)d, k, &u8, &u8len)) < 0)
		return rc;
	if (rc)
		return gb_expr__err(c, n, GB_EINVAL, "ConvertFromBase64: unpaired UTF-16 surrogate");
	return gb_expr__set_strbuf(c, n, out, u8, u8len);
}

int gb_expr__fn_to_utf8hex(ctx *c, const node *n, val *out)
{
	static const char hx[] = "0123456789ABCDEF";
	const char *s;
	size_t len, i;
	sb b = {0};
	int rc;

	if ((rc = gb_expr__arg_str(c, n, 0, &s, &len)) < 0)
		return rc;
	if (!s)
		return gb_expr__set_null(out);
	for (i = 0; i < len; i++) {
		char h[2] = {hx[(unsigned char)s[i] >> 4], hx[(unsigned char)s[i] & 15]};

		if ((rc = gb_expr__sb_add(c, n, &b, h, 2)) < 0)
			return rc;
	}
	return gb_expr__sb_done(c, n, &b, out);
}

int gb_expr__fn_bitand(ctx *c, const node *n, val *out)
{
	int64_t a, b;
	int rc;

	if ((rc = gb_expr__arg_int(c, n, 0, &a)) < 0 || (rc = gb_expr__arg_int(c, n, 1, &b)) < 0)
		return rc;
	gb_expr__set_int(out, (int64_t)((uint64_t)a & (uint64_t)b));
	return 0;
}

/* ---- non-deterministic functions ---- */

int gb_expr__fn_guid(ctx *c, const node *n, val *out)
{
	char g[40];
	int rc;

	if ((rc = gb_uuid_v4(g, sizeof(g), c->err)) < 0)
		return gb_error_prefix(c->err, "expression:%zu: Guid", gb_expr__column(c->e->text, n->off));
	return gb_expr__set_str(c, n, out, g, strlen(g));
}

static int rand_below(ctx *c, const node *n, uint32_t bound, uint32_t *out)
{
	uint32_t r, lim = UINT32_MAX - UINT32_MAX % bound;

	do {
		if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
			return gb_expr__err(c, n, GB_EIO, "RandomString: the system random source failed");
	} while (r >= lim);
	*out = r % bound;
	return 0;
}

int gb_expr__fn_randomstring(ctx *c, const node *n, val *out)
{
	static const char *const classes[4] = {"0123456789", "~!@#$%^&*_-+=`|\\(){}[]:;\"'<>,.?/",
	                                       "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz"};
	char allowed[4][40], all[160], *buf;
	const char *avoid;
	size_t alen, k, i, na = 0, fill = 0;
	int64_t len, mins[4], sum = 0;
	int rc;

	if ((rc = gb_expr__arg_int(c, n, 0, &len)) < 0)
		return rc;
	for (k = 0; k < 4; k++) {
		if ((rc = gb_expr__arg_int(c, n, k + 1, &mins[k])) < 0)
			return rc;
		if (mins[k] < 0 || mins[k] > 256)
			return gb_expr__err(c, n, GB_EINVAL, "RandomString: minimum %lld is out of range",
			                    (long long)mins[k]);
		sum += mins[k];
	}
	if ((rc = gb_expr__arg_str(c, n, 5, &avoid, &alen)) < 0)
		return rc;
	if (len < 1 || len > 256)
		return gb_expr__err(c, n, GB_EINVAL, "RandomString: length %lld is not between 1 and 256",
		                    (long long)len);
	if (sum > len)
		return gb_expr__err(c, n, GB_EINVAL,
		                    "RandomString: the minimums add up to %lld, more than the length %lld",
		                    (long long)sum, (long long)len);
	for (k = 0; k < 4; k++) {
		size_t w = 0;

		for (i = 0; classes[k][i]; i++)
			if (!avoid || !memchr(avoid, classes[k][i], alen))
				allowed[k][w++] = classes[k][i];
		allowed[k][w] = '\0';
		if (w == 0 && mins[k] > 0)
			return gb_expr__err(c, n, GB_EINVAL,
			                    "RandomString: every character of a required class is avoided");
		memcpy(all + na, allowed[k], w);
		na += w;
	}
	if (na == 0)
		return gb_expr__err(c, n, GB_EINVAL, "RandomString: every character is avoided");
	buf = gb_expr__alloc(c, (size_t)len + 1);
	if (!buf)
		return gb_expr__oom(c);
	for (k = 0; k < 4; k++)
		for (i = 0; i < (size_t)mins[k]; i++) {
			uint32_t r = 0;

			if ((rc = rand_below(c, n, (uint32_t)strlen(allowed[k]), &r)) < 0)
				return rc;
			buf[fill++] = allowed[k][r];
		}
	while (fill < (size_t)len) {
		uint32_t r = 0;

		if ((rc = rand_below(c, n, (uint32_t)na, &r)) < 0)
			return rc;
		buf[fill++] = all[r];
	}
	for (i = fill; i > 1; i--) { /* Fisher-Yates, so the required characters are not all at the front */
		uint32_t r = 0;
		char t;

		if ((rc = rand_below(c, n, (uint32_t)i, &r)) < 0)
			return rc;
		t = buf[i - 1], buf[i - 1] = buf[r], buf[r] = t;
	}
	buf[fill] = '\0';
	return gb_expr__set_strbuf(c, n, out, buf, fill);
}
