/*
 * adcodec.h: Active Directory's data formats: objectGUID and objectSid (binary and text), RFC 4514 distinguished
 * names (escaping, parsing, comparison, parent) and RFC 4515 filter values. Pure functions: no I/O, no LDAP.
 *
 * AD stores objectGUID as 16 bytes whose first three fields are little-endian, so the text
 * 7ddabd6a-bb4b-4560-9a76-b1f20de3b347 is the byte string 6a bd da 7d 4b bb 60 45 9a 76 b1 f2 0d e3 b3 47. Getting
 * this wrong finds nothing (or the wrong object), which is why every conversion goes through these functions.
 */
#ifndef GROUPBRIDGE_ADCODEC_H
#define GROUPBRIDGE_ADCODEC_H

#include <stdbool.h>
#include <stddef.h>

#include "groupbridge/buf.h"
#include "groupbridge/error.h"

#define GB_AD_GUID_LEN 16        /* bytes of a binary objectGUID */
#define GB_AD_GUID_TEXT_SIZE 37  /* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" and its NUL */
#define GB_AD_SID_MAX_SUBAUTH 15
#define GB_AD_SID_MAX_LEN (8 + 4 * GB_AD_SID_MAX_SUBAUTH) /* 68 bytes */
#define GB_AD_SID_TEXT_SIZE 192  /* enough for "S-1-0x...-" and 15 sub-authorities of 10 digits */

/* GUID text to AD's binary layout. Accepts "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" in any case, optionally in
 * braces. GB_EINVAL with a message quoting the input when it is not a GUID. */
int gb_ad_guid_from_text(const char *text, unsigned char out[GB_AD_GUID_LEN], gb_error *err);

/* AD's binary GUID to lower-case text (dst of at least GB_AD_GUID_TEXT_SIZE bytes). */
void gb_ad_guid_to_text(const unsigned char bin[GB_AD_GUID_LEN], char dst[GB_AD_GUID_TEXT_SIZE]);

/* True when text is a GUID in the form gb_ad_guid_from_text accepts. */
bool gb_ad_guid_is_text(const char *text);

/* Binary objectSid (revision 1, at most 15 sub-authorities, len exactly 8 + 4 * count) to "S-1-5-21-...". The
 * identifier authority is decimal below 2^32 and 0x-hex above, as Windows prints it. GB_EINVAL for a malformed
 * SID; dst must hold GB_AD_SID_TEXT_SIZE bytes. */
int gb_ad_sid_to_text(const unsigned char *bin, size_t len, char *dst, size_t n, gb_error *err);

/* "S-1-..." text (case-insensitive "S", authority decimal or 0x-hex, 1 to 15 sub-authorities each < 2^32) to
 * binary; *out_len is set to the length written into out (GB_AD_SID_MAX_LEN bytes). GB_EINVAL otherwise. */
int gb_ad_sid_from_text(const char *text, unsigned char out[GB_AD_SID_MAX_LEN], size_t *out_len, gb_error *err);

/* Appends value escaped for use as an RFC 4514 attribute value: `\` before `"` `+` `,` `;` `<` `>` `\` `=`, a
 * leading `#` or space and a trailing space; NUL and other control bytes as \XX; UTF-8 is kept as it is. n is the
 * length of value (it may hold NUL). Errors are those of gb_buf_append. */
int gb_ad_dn_escape_value(const char *value, size_t n, gb_buf *out, gb_error *err);

/* Appends value escaped for use inside an RFC 4515 filter: `*` `(` `)` `\` and NUL as \2a \28 \29 \5c \00. */
int gb_ad_filter_escape(const char *value, size_t n, gb_buf *out, gb_error *err);

/* Appends every byte of value as \xx (for binary attributes such as objectGUID and objectSid in filters). */
int gb_ad_filter_escape_binary(const unsigned char *value, size_t n, gb_buf *out, gb_error *err);

/* A parsed distinguished name. Values are unescaped (they may hold NUL: use value_len). A value written as
 * "#hex" (BER) is kept as that text with hex set. rdns[0] is the leftmost (most specific) RDN. */
typedef struct gb_ad_ava {
	char *type;       /* as written; compare case-insensitively */
	char *value;      /* unescaped, NUL-terminated */
	size_t value_len;
	bool hex;
} gb_ad_ava;

typedef struct gb_ad_rdn {
	gb_ad_ava *avas;  /* more than one for a multi-valued RDN (a+b) */
	size_t navas;
	size_t offset;    /* where this RDN starts in the parsed text */
} gb_ad_rdn;

typedef struct gb_ad_dn {
	gb_ad_rdn *rdns;
	size_t nrdns;
} gb_ad_dn;

/* Parses an RFC 4514 DN (leniently as RFC 2253 parsers do: spaces around separators are ignored, `;` separates
 * RDNs like `,`). The empty string is the root DN (no RDNs). GB_EPARSE with a message quoting the DN for a
 * malformed one (a missing `=`, a bad escape, an empty type). *out is the caller's: gb_ad_dn_free. */
int gb_ad_dn_parse(const char *dn, gb_ad_dn **out, gb_error *err);
void gb_ad_dn_free(gb_ad_dn *dn);

/* Writes the DN in a canonical text form: types lower-case, values re-escaped with gb_ad_dn_escape_value, no
 * spaces around separators. Useful as a map key. *out: free(). */
int gb_ad_dn_format(const gb_ad_dn *dn, char **out, gb_error *err);

/* DN equality as AD applies it: the same RDNs in the same order; attribute types compared case-insensitively;
 * values compared after unescaping (so `\,` and `\2C` are the same) with AD's string equality (gb_ad_str_equal:
 * case-, accent- and width-insensitive, as AD matches DNs). */
bool gb_ad_dn_equal(const gb_ad_dn *a, const gb_ad_dn *b);

/* True when dn lies strictly below container (container is a proper suffix by RDNs, compared as gb_ad_dn_equal but
 * accent-sensitive: gb_ad_str_equal_case). This is the write fence's test: it is never wider than configured. */
bool gb_ad_dn_is_under(const gb_ad_dn *dn, const gb_ad_dn *container);

/* The same two on text: 1 true, 0 false, GB_EPARSE when either DN is malformed. */
int gb_ad_dn_text_equal(const char *a, const char *b, gb_error *err);
int gb_ad_dn_text_is_under(const char *dn, const char *container, gb_error *err);

/* The parent of dn as text, the original spelling of its remaining RDNs. GB_EINVAL for the root DN, GB_EPARSE for a
 * malformed DN. *out: free(). */
int gb_ad_dn_parent(const char *dn, char **out, gb_error *err);

/* The DN of dn's domain naming context, borrowed from dn: its trailing run of DC= RDNs ("DC=emea,DC=example" of
 * "CN=x,OU=y,DC=emea,DC=example"), NULL when dn ends in none. A comma escaped as "\," or "\2C" is part of a value,
 * never a separator. Compare two of them with gb_ad_dn_text_equal. */
const char *gb_ad_dn_domain(const char *dn);

/* Builds "TYPE=escaped(value),parent" (parent NULL or "" for none). *out: free(). */
int gb_ad_dn_build(const char *type, const char *value, const char *parent, char **out, gb_error *err);

/* Splits an extended DN as AD returns it with control 1.2.840.113556.1.4.529 (flag 1):
 * "<GUID=...>;<SID=...>;CN=x,DC=y". guid (GB_AD_GUID_TEXT_SIZE bytes, lower-case) and sid (GB_AD_SID_TEXT_SIZE) are
 * set to "" when absent; *dn_start points at the plain DN inside s (borrowed). Also accepts the flag-0 form whose
 * GUID is the hex of the 16 wire bytes, and converts it. GB_EPARSE when the components are malformed. */
int gb_ad_extended_dn_split(const char *s, char *guid, char *sid, const char **dn_start, gb_error *err);

/* ---- AD's own rules for names (adnames.c) ---- */

#define GB_AD_CN_MAX 64          /* cn's rangeUpper, in UTF-16 code units (as AD and Samba count it) */
#define GB_AD_SAM_MAX 20         /* sAMAccountName: the pre-Windows 2000 limit that net group and NetBIOS keep */
#define GB_AD_SAM_SUFFIX 8       /* hex digits (a hash of the object id) that end a derived sAMAccountName */
#define GB_AD_SAM_BUF 64         /* a buffer that holds any derived sAMAccountName and its NUL */

/* AD's equality of two String(Unicode) values (MS-ADTS 6.5.1: case-, accent-, width- and kana-insensitive), by a
 * narrow rule documented in adnames.c (Latin, Greek, Cyrillic, fullwidth forms, kana; exact elsewhere). */
bool gb_ad_str_equal(const char *a, size_t alen, const char *b, size_t blen);

/* The same without accent folding (case and width only): the stricter equality the write fence uses, so that a
 * fence never reaches a sibling whose name differs by an accent (whether AD's RDN uniqueness ignores accents is not
 * documented). */
bool gb_ad_str_equal_case(const char *a, size_t alen, const char *b, size_t blen);

/* The folded form under the same rule, so that AD-equal values give the same map key. *out: free(). GB_ENOMEM. */
int gb_ad_str_fold(const char *s, char **out, gb_error *err);

/* The length of UTF-8 s in UTF-16 code units (a character outside the BMP counts 2, an invalid byte 1), the unit
 * AD counts rangeUpper in. */
size_t gb_ad_utf16_len(const char *s);

/* The number of bytes of s's longest prefix that holds at most max_units UTF-16 units without splitting a
 * character. */
size_t gb_ad_utf16_prefix(const char *s, size_t max_units);

/* Checks a sAMAccountName against AD's rules (MS-SAMR 3.1.1.6, the SAM-Account-Name schema page): not empty, no
 * control character, none of " / \ [ ] : ; | = , + * ? < >, not ending with a period, not only periods and spaces,
 * and at most GB_AD_SAM_MAX characters (UTF-16 units). 0 when valid; GB_EINVAL with a message quoting the value and
 * naming the rule. */
int gb_ad_sam_check(const char *sam, gb_error *err);

/* A deterministic sAMAccountName for a new group: name (a displayName or cn; may be NULL) cut to fit, spaces and
 * forbidden characters as '_', followed by '_' and GB_AD_SAM_SUFFIX hex digits of a hash (FNV-1a) of object_id,
 * so that it passes gb_ad_sam_check and the same group always gets the same name. out holds n >= GB_AD_SAM_BUF
 * bytes. GB_EINVAL when object_id is empty or out is too small. */
int gb_ad_sam_derive(const char *name, const char *object_id, char *out, size_t n, gb_error *err);

#endif
