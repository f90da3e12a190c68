/* adcodec.c: AD's GUID and SID layouts, RFC 4514 DNs and RFC 4515 filter values. */
#include "groupbridge/adcodec.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/util.h"

/* ---- GUID ---- */

/* Position of each of the 16 wire bytes in the 32 hex digits of the text (without dashes): the first three fields
 * are little-endian on the wire. */
static const int guid_order[GB_AD_GUID_LEN] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};

static bool guid_digits(const char *text, unsigned char digits[GB_AD_GUID_LEN])
{
	size_t len = strlen(text);
	const char *p = text;
	size_t i, k = 0;

	if (len == 38 && text[0] == '{' && text[37] == '}')
		p++;
	else if (len != 36)
		return false;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (p[i] != '-')
				return false;
			continue;
		}
		int hi = gb_hex_digit((unsigned char)p[i]), lo = gb_hex_digit((unsigned char)p[i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		digits[k++] = (unsigned char)(hi << 4 | lo);
		i++;
	}
	return k == GB_AD_GUID_LEN;
}

bool gb_ad_guid_is_text(const char *text)
{
	unsigned char d[GB_AD_GUID_LEN];

	return text && guid_digits(text, d);
}

int gb_ad_guid_from_text(const char *text, unsigned char out[GB_AD_GUID_LEN], gb_error *err)
{
	unsigned char d[GB_AD_GUID_LEN];
	size_t i;

	if (!text || !guid_digits(text, d))
		return gb_error_set(err, GB_EINVAL, "\"%.64s\" is not a guid", text ? text : "(null)");
	for (i = 0; i < GB_AD_GUID_LEN; i++)
		out[i] = d[guid_order[i]];
	return 0;
}

void gb_ad_guid_to_text(const unsigned char bin[GB_AD_GUID_LEN], char dst[GB_AD_GUID_TEXT_SIZE])
{
	unsigned char d[GB_AD_GUID_LEN];
	size_t i;

	for (i = 0; i < GB_AD_GUID_LEN; i++)
		d[guid_order[i]] = bin[i];
	snprintf(dst, GB_AD_GUID_TEXT_SIZE,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", d[0], d[1], d[2], d[3], d[4],
		 d[5], d[6], d[7], d[8], d[9], d[10], d[11], d[12], d[13], d[14], d[15]);
}

/* ---- SID ---- */

int gb_ad_sid_to_text(const unsigned char *bin, size_t len, char *dst, size_t n, gb_error *err)
{
	uint64_t auth = 0;
	size_t count, i, used;
	int w;

	if (n > 0)
		dst[0] = '\0';
	if (!bin || len < 8)
		return gb_error_set(err, GB_EINVAL, "sid of %zu bytes is too short", len);
	count = bin[1];
	if (bin[0] != 1)
		return gb_error_set(err, GB_EINVAL, "sid revision %u is not 1", bin[0]);
	if (count > GB_AD_SID_MAX_SUBAUTH || len != 8 + 4 * count)
		return gb_error_set(err, GB_EINVAL, "sid of %zu bytes does not match its %zu sub-authorities", len, count);
	for (i = 2; i < 8; i++)
		auth = auth << 8 | bin[i];
	if (auth < ((uint64_t)1 << 32))
		w = snprintf(dst, n, "S-1-%llu", (unsigned long long)auth);
	else
		w = snprintf(dst, n, "S-1-0x%012llX", (unsigned long long)auth);
	if (w < 0 || (size_t)w >= n)
		return gb_error_set(err, GB_ETOOBIG, "sid text does not fit %zu bytes", n);
	used = (size_t)w;
	for (i = 0; i < count; i++) {
		const unsigned char *s = bin + 8 + 4 * i;
		uint32_t sub = (uint32_t)s[0] | (uint32_t)s[1] << 8 | (uint32_t)s[2] << 16 | (uint32_t)s[3] << 24;

		w = snprintf(dst + used, n - used, "-%lu", (unsigned long)sub);
		if (w < 0 || (size_t)w >= n - used) {
			dst[0] = '\0';
			return gb_error_set(err, GB_ETOOBIG, "sid text does not fit %zu bytes", n);
		}
		used += (size_t)w;
	}
	return 0;
}

/* Parses an unsigned number at *p (decimal, or 0x-hex when allow_hex), at most max; advances *p. */
static bool parse_num(const char **p, uint64_t max, bool allow_hex, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	int base = 10, digits = 0;

	if (allow_hex && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	for (;; s++) {
		int d = base == 16 ? gb_hex_digit((unsigned char)*s) : (*s >= '0' && *s <= '9' ? *s - '0' : -1);
		if (d < 0)
			break;
		if (v > (max - (uint64_t)d) / (uint64_t)base)
			return false;
		v = v * (uint64_t)base + (uint64_t)d;
		digits++;
	}
	if (digits == 0)
		return false;
	*p = s;
	*out = v;
	return true;
}

int gb_ad_sid_from_text(const char *text, unsigned char out[GB_AD_SID_MAX_LEN], size_t *out_len, gb_error *err)
{
	const char *p = text;
	uint64_t rev, auth, sub;
	size_t count = 0, i;

	*out_len = 0;
	if (!text || (p[0] != 'S' && p[0] != 's') || p[1] != '-')
		goto bad;
	p += 2;
	if (!parse_num(&p, 255, false, &rev) || rev != 1 || *p++ != '-')
		goto bad;
	if (!parse_num(&p, ((uint64_t)1 << 48) - 1, true, &auth))
		goto bad;
	out[0] = 1;
	for (i = 0; i < 6; i++)
		out[2 + i] = (unsigned char)(auth >> (8 * (5 - i)));
	while (*p == '-') {
		p++;
		if (count == GB_AD_SID_MAX_SUBAUTH || !parse_num(&p, UINT32_MAX, false, &sub))
			goto bad;
		for (i = 0; i < 4; i++)
			out[8 + 4 * count + i] = (unsigned char)(sub >> (8 * i));
		count++;
	}
	if (*p != '\0' || count == 0)
		goto bad;
	out[1] = (unsigned char)count;
	*out_len = 8 + 4 * count;
	return 0;
bad:
	return gb_error_set(err, GB_EINVAL, "\"%.80s\" is not a sid", text ? text : "(null)");
}

/* ---- escaping ----
 * Why not libldap's ldap_bv2escaped_filter_value: it writes every byte outside printable ASCII as \XX with upper-case
 * hex, which is valid RFC 4515 but not what groupbridge writes and tests pin (UTF-8 kept as it is, lower-case hex for
 * the five bytes RFC 4515 requires escaped). Compared on the 429 inputs of a three-minute fuzz_adcodec run
 * (2026-12), the two differed on 222; the filters AD is sent and the audit trail shows would all change. */

/* How one byte is written: as it is, as a `\` pair, or as `\` and two hex digits (upper or lower case). */
enum { AS_IS, PAIR, HEX_UPPER, HEX_LOWER };

/* The one escaping loop: how() decides each byte (i and n are its place, for the RFC 4514 rules at either end). */
static int escape(const unsigned char *value, size_t n, int (*how)(unsigned char c, size_t i, size_t n), gb_buf *out,
		  gb_error *err)
{
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		unsigned char c = value[i];
		char enc[4] = {'\\', (char)c};
		size_t len = 2;

		switch (how(c, i, n)) {
		case HEX_UPPER:
			len = (size_t)snprintf(enc, sizeof enc, "\\%02X", c);
			break;
		case HEX_LOWER:
			len = (size_t)snprintf(enc, sizeof enc, "\\%02x", c);
			break;
		case PAIR:
			break;
		default:
			enc[0] = (char)c;
			len = 1;
		}
		if ((rc = gb_buf_append(out, enc, len, err)))
			return rc;
	}
	return 0;
}

static int dn_how(unsigned char c, size_t i, size_t n)
{
	if (c < 0x20 || c == 0x7f)
		return HEX_UPPER;
	if (strchr("\"+,;<>\\=", c) || (i == 0 && (c == '#' || c == ' ')) || (i == n - 1 && c == ' '))
		return PAIR;
	return AS_IS;
}

static int filter_how(unsigned char c, size_t i, size_t n)
{
	(void)i;
	(void)n;
	return c == '*' || c == '(' || c == ')' || c == '\\' || c == '\0' ? HEX_LOWER : AS_IS;
}

static int binary_how(unsigned char c, size_t i, size_t n)
{
	(void)c;
	(void)i;
	(void)n;
	return HEX_LOWER;
}

int gb_ad_dn_escape_value(const char *value, size_t n, gb_buf *out, gb_error *err)
{
	return escape((const unsigned char *)value, n, dn_how, out, err);
}

int gb_ad_filter_escape(const char *value, size_t n, gb_buf *out, gb_error *err)
{
	return escape((const unsigned char *)value, n, filter_how, out, err);
}

int gb_ad_filter_escape_binary(const unsigned char *value, size_t n, gb_buf *out, gb_error *err)
{
	return escape(value, n, binary_how, out, err);
}

/* ---- DN parsing ----
 * Why not libldap's ldap_str2dn/ldap_dnfree (evaluated 2026-12, as SSSD uses them):
 *   - gb_ad_dn_parent returns the parent in its original spelling, which needs each RDN's offset in the text;
 *     ldap_str2dn gives no offsets.
 *   - With LDAP_DN_FORMAT_LDAPV3 it refuses what people and Connect Sync exports write and this parser reads as
 *     RFC 2253 parsers do: spaces around '=' and ';' between RDNs (test_adcodec.c hex_escapes_and_lenient_spaces).
 *   - With LDAP_DN_FORMAT_LDAP it reads those, but on the 429 inputs of a three-minute fuzz_adcodec run it disagreed
 *     with this parser on 53: 39 that only this one accepts (a DN of spaces as the root, a type that starts with '-'
 *     or '.', an unescaped '"' in a value) and 13 that only libldap accepts ("member;range=5-1499" read as the
 *     type member, a '#' value followed by spaces), and one read differently (a tab before an escaped space). It
 *     also decodes "#hex" values into BER bytes, where gb_ad_ava keeps the text and gb_ad_dn_format writes it back.
 * Behaviour would change for DNs read from AD and from configuration files, so this parser stays. */

void gb_ad_dn_free(gb_ad_dn *dn)
{
	size_t i, j;

	if (!dn)
		return;
	for (i = 0; i < dn->nrdns; i++) {
		for (j = 0; j < dn->rdns[i].navas; j++) {
			free(dn->rdns[i].avas[j].type);
			free(dn->rdns[i].avas[j].value);
		}
		free(dn->rdns[i].avas);
	}
	free(dn->rdns);
	free(dn);
}

static bool is_sep(char c)
{
	return c == ',' || c == ';';
}

/* Parses one AVA at s[*pos]; stops before a separator, a '+', or the end. */
static int parse_ava(const char *s, size_t *pos, gb_ad_ava *ava, const char *dn, gb_error *err)
{
	size_t i = *pos, start, end;
	gb_buf v;
	int rc = GB_EPARSE;

	gb_buf_init(&v, strlen(s) + 1);
	while (s[i] == ' ')
		i++;
	start = i;
	while (s[i] && s[i] != '=' && s[i] != ' ' && !is_sep(s[i]) && s[i] != '+') {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
			goto bad;
		i++;
	}
	end = i;
	while (s[i] == ' ')
		i++;
	if (end == start || s[i] != '=')
		goto bad;
	ava->type = gb_strndup(s + start, end - start);
	if (!ava->type) {
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
		goto out;
	}
	i++;
	while (s[i] == ' ')
		i++;
	if (s[i] == '#') {
		start = i++;
		while (gb_hex_digit((unsigned char)s[i]) >= 0 && gb_hex_digit((unsigned char)s[i + 1]) >= 0)
			i += 2;
		if (i == start + 1)
			goto bad;
		if ((rc = gb_buf_append(&v, s + start, i - start, err)))
			goto out;
		ava->hex = true;
		while (s[i] == ' ')
			i++;
		if (s[i] && !is_sep(s[i]) && s[i] != '+')
			goto bad;
	} else {
		size_t keep = 0; /* length of v up to the last character that is not an unescaped trailing space */

		while (s[i] && !is_sep(s[i]) && s[i] != '+') {
			if (s[i] == '\\') {
				int hi = gb_hex_digit((unsigned char)s[i + 1]);
				int lo = hi >= 0 ? gb_hex_digit((unsigned char)s[i + 2]) : -1;

				if (hi >= 0 && lo >= 0) {
					rc = gb_buf_putc(&v, (char)(hi << 4 | lo), err);
					i += 3;
				} else if (s[i + 1] && strchr("\"+,;<>\\= #", s[i + 1])) {
					rc = gb_buf_putc(&v, s[i + 1], err);
					i += 2;
				} else {
					goto bad;
				}
				if (rc)
					goto out;
				keep = v.len;
			} else {
				if ((rc = gb_buf_putc(&v, s[i], err)))
					goto out;
				if (s[i] != ' ')
					keep = v.len;
				i++;
			}
		}
		v.len = keep;
		if (v.data)
			v.data[keep] = '\0';
	}
	ava->value_len = v.len;
	ava->value = gb_buf_detach(&v);
	if (!ava->value) {
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
		goto out;
	}
	*pos = i;
	return 0;
bad:
	rc = gb_error_set(err, GB_EPARSE, "malformed dn \"%.200s\" at offset %zu", dn, i);
out:
	gb_buf_free(&v);
	return rc;
}

/* Makes room for element n of arr (capacity *cap, doubled from first when full): returns the array, perhaps moved,
 * with element n zeroed; NULL when memory runs out (arr and *cap are then unchanged). */
static void *grow(void *arr, size_t n, size_t *cap, size_t elem, size_t first)
{
	if (gb_grow(&arr, n, cap, elem, first))
		return NULL;
	memset((char *)arr + n * elem, 0, elem);
	return arr;
}

int gb_ad_dn_parse(const char *s, gb_ad_dn **out, gb_error *err)
{
	gb_ad_dn *dn = NULL;
	size_t pos = 0, cap = 0;
	int rc;

	*out = NULL;
	if (!s)
		return gb_error_set(err, GB_EINVAL, "no dn");
	dn = calloc(1, sizeof *dn);
	if (!dn)
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	while (s[pos] == ' ')
		pos++;
	if (s[pos] == '\0')
		goto done;
	for (;;) {
		gb_ad_rdn *rdn = grow(dn->rdns, dn->nrdns, &cap, sizeof *rdn, 8);
		size_t acap = 0;

		if (!rdn) {
			rc = gb_error_set(err, GB_ENOMEM, "out of memory");
			goto fail;
		}
		dn->rdns = rdn;
		rdn = &dn->rdns[dn->nrdns++];
		while (s[pos] == ' ')
			pos++;
		rdn->offset = pos;
		for (;;) {
			gb_ad_ava *avas = grow(rdn->avas, rdn->navas, &acap, sizeof *avas, 2);

			if (!avas) {
				rc = gb_error_set(err, GB_ENOMEM, "out of memory");
				goto fail;
			}
			rdn->avas = avas;
			rdn->navas++;
			if ((rc = parse_ava(s, &pos, &rdn->avas[rdn->navas - 1], s, err)))
				goto fail;
			if (s[pos] != '+')
				break;
			pos++;
		}
		if (s[pos] == '\0')
			break;
		pos++; /* a separator */
	}
done:
	*out = dn;
	return 0;
fail:
	gb_ad_dn_free(dn);
	return rc;
}

/* Ends a function that wrote its result in b: on success (rc 0) the text becomes *out (the caller's: free()); b is
 * freed either way. */
static int finish(gb_buf *b, int rc, char **out, gb_error *err)
{
	if (!rc && !(*out = gb_buf_detach(b)))
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
	gb_buf_free(b);
	return rc;
}

int gb_ad_dn_format(const gb_ad_dn *dn, char **out, gb_error *err)
{
	gb_buf b;
	size_t i, j, k;
	int rc = 0;

	*out = NULL;
	gb_buf_init(&b, GB_BUF_DEFAULT_MAX);
	for (i = 0; i < dn->nrdns && !rc; i++) {
		for (j = 0; j < dn->rdns[i].navas && !rc; j++) {
			const gb_ad_ava *a = &dn->rdns[i].avas[j];

			if (i || j)
				rc = gb_buf_putc(&b, j ? '+' : ',', err);
			for (k = 0; a->type[k] && !rc; k++) {
				char c = a->type[k];
				rc = gb_buf_putc(&b, (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c), err);
			}
			if (!rc)
				rc = gb_buf_putc(&b, '=', err);
			if (!rc)
				rc = a->hex ? gb_buf_append(&b, a->value, a->value_len, err)
					    : gb_ad_dn_escape_value(a->value, a->value_len, &b, err);
		}
	}
	return finish(&b, rc, out, err);
}

/* AD's value equality (gb_ad_str_equal): a fence container or a mapped container spelled "OU=ZÜRICH" where AD
 * holds "OU=Zürich" is the same container to AD, so it is the same one here. A hex (#...) value is BER and is
 * compared exactly, ignoring only the case of its hex digits. */
static bool value_iequal(const gb_ad_ava *a, const gb_ad_ava *b, bool accents)
{
	if (a->hex != b->hex)
		return false;
	if (a->hex) {
		size_t i;

		if (a->value_len != b->value_len)
			return false;
		for (i = 0; i < a->value_len; i++) {
			char x = a->value[i], y = b->value[i];
			if ((x >= 'A' && x <= 'F' ? x + 32 : x) != (y >= 'A' && y <= 'F' ? y + 32 : y))
				return false;
		}
		return true;
	}
	return accents ? gb_ad_str_equal(a->value, a->value_len, b->value, b->value_len)
		       : gb_ad_str_equal_case(a->value, a->value_len, b->value, b->value_len);
}

static bool rdn_equal(const gb_ad_rdn *a, const gb_ad_rdn *b, bool accents)
{
	size_t i, j;

	if (a->navas != b->navas)
		return false;
	/* a multi-valued RDN is a set: every AVA of a must be in b (the counts being equal) */
	for (i = 0; i < a->navas; i++) {
		bool found = false;
		for (j = 0; j < b->navas && !found; j++)
			found = gb_str_iequal(a->avas[i].type, b->avas[j].type) && value_iequal(&a->avas[i], &b->avas[j], accents);
		if (!found)
			return false;
	}
	return true;
}

bool gb_ad_dn_equal(const gb_ad_dn *a, const gb_ad_dn *b)
{
	size_t i;

	if (a->nrdns != b->nrdns)
		return false;
	for (i = 0; i < a->nrdns; i++)
		if (!rdn_equal(&a->rdns[i], &b->rdns[i], true))
			return false;
	return true;
}

bool gb_ad_dn_is_under(const gb_ad_dn *dn, const gb_ad_dn *container)
{
	size_t i, skip;

	if (dn->nrdns <= container->nrdns)
		return false;
	skip = dn->nrdns - container->nrdns;
	for (i = 0; i < container->nrdns; i++)
		if (!rdn_equal(&dn->rdns[skip + i], &container->rdns[i], false))
			return false;
	return true;
}

static int text_relation(const char *a, const char *b, bool under, gb_error *err)
{
	gb_ad_dn *da = NULL, *db = NULL;
	int rc;

	if ((rc = gb_ad_dn_parse(a, &da, err)) || (rc = gb_ad_dn_parse(b, &db, err)))
		goto out;
	rc = under ? gb_ad_dn_is_under(da, db) : gb_ad_dn_equal(da, db);
out:
	gb_ad_dn_free(da);
	gb_ad_dn_free(db);
	return rc;
}

int gb_ad_dn_text_equal(const char *a, const char *b, gb_error *err)
{
	return text_relation(a, b, false, err);
}

int gb_ad_dn_text_is_under(const char *dn, const char *container, gb_error *err)
{
	return text_relation(dn, container, true, err);
}

const char *gb_ad_dn_domain(const char *dn)
{
	const char *p, *root = NULL, *rdn = dn;
	bool dc = false;

	if (!dn || !*dn)
		return NULL;
	for (p = dn;; p++) {
		if (*p == '\\' && p[1]) {
			p++;
			continue;
		}
		if (*p != ',' && *p)
			continue;
		/* rdn .. p is one RDN */
		while (*rdn == ' ')
			rdn++;
		if (gb_str_ihas_prefix(rdn, "DC=")) {
			if (!dc)
				root = rdn;
			dc = true;
		} else {
			dc = false;
		}
		if (!*p)
			break;
		rdn = p + 1;
	}
	return dc ? root : NULL;
}

int gb_ad_dn_parent(const char *text, char **out, gb_error *err)
{
	gb_ad_dn *dn = NULL;
	int rc;

	*out = NULL;
	if ((rc = gb_ad_dn_parse(text, &dn, err)))
		return rc;
	if (dn->nrdns == 0) {
		rc = gb_error_set(err, GB_EINVAL, "the root dn has no parent");
	} else if (dn->nrdns == 1) {
		*out = gb_strdup("");
	} else {
		*out = gb_strdup(text + dn->rdns[1].offset);
	}
	if (!rc && !*out)
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
	gb_ad_dn_free(dn);
	return rc;
}

int gb_ad_dn_build(const char *type, const char *value, const char *parent, char **out, gb_error *err)
{
	gb_buf b;
	int rc;

	*out = NULL;
	gb_buf_init(&b, GB_BUF_DEFAULT_MAX);
	if (!(rc = gb_buf_puts(&b, type, err)) && !(rc = gb_buf_putc(&b, '=', err)))
		rc = gb_ad_dn_escape_value(value, strlen(value), &b, err);
	if (!rc && parent && *parent && !(rc = gb_buf_putc(&b, ',', err)))
		rc = gb_buf_puts(&b, parent, err);
	return finish(&b, rc, out, err);
}

/* ---- extended DN ---- */

/* Decodes n hex digits pairs of s into out; false on a bad digit. */
static bool unhex(const char *s, size_t ndigits, unsigned char *out)
{
	size_t i;

	if (ndigits % 2)
		return false;
	for (i = 0; i < ndigits; i += 2) {
		int hi = gb_hex_digit((unsigned char)s[i]), lo = gb_hex_digit((unsigned char)s[i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[i / 2] = (unsigned char)(hi << 4 | lo);
	}
	return true;
}

int gb_ad_extended_dn_split(const char *s, char *guid, char *sid, const char **dn_start, gb_error *err)
{
	const char *p = s;

	guid[0] = '\0';
	sid[0] = '\0';
	*dn_start = NULL;
	while (*p == '<') {
		const char *eq = strchr(p, '='), *end = strchr(p, '>');
		char val[GB_AD_SID_TEXT_SIZE];
		size_t vlen;

		if (!eq || !end || eq > end)
			goto bad;
		vlen = (size_t)(end - eq - 1);
		if (vlen >= sizeof val)
			goto bad;
		memcpy(val, eq + 1, vlen);
		val[vlen] = '\0';
		if (eq - p == 5 && gb_str_ihas_prefix(p, "<GUID=")) {
			unsigned char bin[GB_AD_GUID_LEN];
			if (vlen == 32 && unhex(val, 32, bin)) {
				gb_ad_guid_to_text(bin, guid);
			} else if (gb_ad_guid_from_text(val, bin, NULL) == 0) {
				gb_ad_guid_to_text(bin, guid);
			} else {
				goto bad;
			}
		} else if (eq - p == 4 && gb_str_ihas_prefix(p, "<SID=")) {
			unsigned char bin[GB_AD_SID_MAX_LEN];
			size_t blen;
			if (val[0] == 'S' || val[0] == 's') {
				if (gb_ad_sid_from_text(val, bin, &blen, NULL))
					goto bad;
				if (gb_ad_sid_to_text(bin, blen, sid, GB_AD_SID_TEXT_SIZE, NULL))
					goto bad;
			} else if (vlen <= 2 * GB_AD_SID_MAX_LEN && unhex(val, vlen, bin)) {
				if (gb_ad_sid_to_text(bin, vlen / 2, sid, GB_AD_SID_TEXT_SIZE, NULL))
					goto bad;
			} else {
				goto bad;
			}
		}
		p = end + 1;
		if (*p == ';')
			p++;
		else if (*p != '\0')
			goto bad;
	}
	*dn_start = p;
	return 0;
bad:
	return gb_error_set(err, GB_EPARSE, "malformed extended dn \"%.200s\"", s);
}
