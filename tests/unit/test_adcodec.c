/* Unit tests of the AD codecs: GUID and SID layouts, RFC 4514 DNs, RFC 4515 filter values (to the byte). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/adcodec.h"
#include "groupbridge/buf.h"

static const unsigned char guid_wire[16] = {0x6a, 0xbd, 0xda, 0x7d, 0x4b, 0xbb, 0x60, 0x45,
					    0x9a, 0x76, 0xb1, 0xf2, 0x0d, 0xe3, 0xb3, 0x47};

Test(guid, text_to_wire_swaps_the_first_three_fields)
{
	unsigned char bin[16];
	gb_error err;

	cr_assert_eq(gb_ad_guid_from_text("7ddabd6a-bb4b-4560-9a76-b1f20de3b347", bin, &err), 0);
	cr_assert_eq(memcmp(bin, guid_wire, 16), 0);
	cr_assert_eq(gb_ad_guid_from_text("{7DDABD6A-BB4B-4560-9A76-B1F20DE3B347}", bin, &err), 0);
	cr_assert_eq(memcmp(bin, guid_wire, 16), 0);
	cr_assert_eq(gb_ad_guid_from_text("00112233-4455-6677-8899-aabbccddeeff", bin, &err), 0);
	const unsigned char seq[16] = {0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66,
				       0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
	cr_assert_eq(memcmp(bin, seq, 16), 0);
}

Test(guid, wire_to_text_is_lower_case_and_round_trips)
{
	char text[GB_AD_GUID_TEXT_SIZE];

	gb_ad_guid_to_text(guid_wire, text);
	cr_assert_str_eq(text, "7ddabd6a-bb4b-4560-9a76-b1f20de3b347");
	cr_assert(gb_ad_guid_is_text(text));
}

Test(guid, malformed_text_is_refused)
{
	unsigned char bin[16];
	gb_error err;
	const char *bad[] = {"", "7ddabd6a-bb4b-4560-9a76-b1f20de3b34", "7ddabd6a-bb4b-4560-9a76-b1f20de3b3477",
			     "7ddabd6abb4b-4560-9a76-b1f20de3b3477", "7ddabd6g-bb4b-4560-9a76-b1f20de3b347",
			     "{7ddabd6a-bb4b-4560-9a76-b1f20de3b347", "7ddabd6a-bb4b-4560-9a76_b1f20de3b347"};
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cr_assert_eq(gb_ad_guid_from_text(bad[i], bin, &err), GB_EINVAL, "accepted %s", bad[i]);
		cr_assert_not(gb_ad_guid_is_text(bad[i]));
	}
	cr_assert_eq(gb_ad_guid_from_text(NULL, bin, &err), GB_EINVAL);
}

static const unsigned char sid_wire[28] = {0x01, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x15, 0x00,
					   0x00, 0x00, 0x58, 0x69, 0x45, 0xb8, 0x7c, 0x4c, 0x73, 0xcd,
					   0x45, 0xcd, 0x34, 0x1f, 0xf4, 0x01, 0x00, 0x00};

Test(sid, wire_to_text)
{
	char text[GB_AD_SID_TEXT_SIZE];
	gb_error err;

	cr_assert_eq(gb_ad_sid_to_text(sid_wire, sizeof sid_wire, text, sizeof text, &err), 0);
	cr_assert_str_eq(text, "S-1-5-21-3091556696-3446885500-523554117-500");
	const unsigned char everyone[12] = {1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0};
	cr_assert_eq(gb_ad_sid_to_text(everyone, 12, text, sizeof text, &err), 0);
	cr_assert_str_eq(text, "S-1-1-0");
	const unsigned char big[12] = {1, 1, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xff, 0xff, 0xff, 0xff};
	cr_assert_eq(gb_ad_sid_to_text(big, 12, text, sizeof text, &err), 0);
	cr_assert_str_eq(text, "S-1-0x123456789ABC-4294967295");
}

Test(sid, text_to_wire_and_back)
{
	unsigned char bin[GB_AD_SID_MAX_LEN];
	char text[GB_AD_SID_TEXT_SIZE];
	size_t len;
	gb_error err;

	cr_assert_eq(gb_ad_sid_from_text("S-1-5-21-3091556696-3446885500-523554117-500", bin, &len, &err), 0);
	cr_assert_eq(len, sizeof sid_wire);
	cr_assert_eq(memcmp(bin, sid_wire, len), 0);
	cr_assert_eq(gb_ad_sid_from_text("S-1-0x123456789ABC-4294967295", bin, &len, &err), 0);
	cr_assert_eq(gb_ad_sid_to_text(bin, len, text, sizeof text, &err), 0);
	cr_assert_str_eq(text, "S-1-0x123456789ABC-4294967295");
}

Test(sid, malformed_is_refused)
{
	unsigned char bin[GB_AD_SID_MAX_LEN];
	char text[GB_AD_SID_TEXT_SIZE];
	size_t len;
	gb_error err;
	const char *bad[] = {"", "S-1", "S-1-5", "S-2-5-21", "S-1-5-4294967296", "S-1-5-21-", "X-1-5-21",
			     "S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16", "S-1-5-21x"};
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_assert_eq(gb_ad_sid_from_text(bad[i], bin, &len, &err), GB_EINVAL, "accepted %s", bad[i]);
	cr_assert_eq(gb_ad_sid_to_text(sid_wire, 27, text, sizeof text, &err), GB_EINVAL);
	cr_assert_eq(gb_ad_sid_to_text(sid_wire, 4, text, sizeof text, &err), GB_EINVAL);
	unsigned char rev2[28];
	memcpy(rev2, sid_wire, 28);
	rev2[0] = 2;
	cr_assert_eq(gb_ad_sid_to_text(rev2, 28, text, sizeof text, &err), GB_EINVAL);
	cr_assert_eq(gb_ad_sid_to_text(sid_wire, 28, text, 10, &err), GB_ETOOBIG);
}

static char *escape_dn(const char *v, size_t n)
{
	gb_buf b;
	gb_error err;

	gb_buf_init(&b, GB_BUF_DEFAULT_MAX);
	cr_assert_eq(gb_ad_dn_escape_value(v, n, &b, &err), 0);
	return gb_buf_detach(&b);
}

Test(dn, escaping_follows_rfc4514)
{
	struct {
		const char *in;
		const char *out;
	} cases[] = {
		{"plain", "plain"},
		{"a,b", "a\\,b"},
		{"a+b\"c\\d<e>f;g=h", "a\\+b\\\"c\\\\d\\<e\\>f\\;g\\=h"},
		{"#start", "\\#start"},
		{"mid#dle", "mid#dle"},
		{" lead", "\\ lead"},
		{"trail ", "trail\\ "},
		{" ", "\\ "},
		{"in side", "in side"},
		{"Ågren, Zoë", "Ågren\\, Zoë"},
		{"tab\tx", "tab\\09x"},
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *s = escape_dn(cases[i].in, strlen(cases[i].in));
		cr_assert_str_eq(s, cases[i].out, "escaping %s", cases[i].in);
		free(s);
	}
	char *nul = escape_dn("a\0b", 3);
	cr_assert_str_eq(nul, "a\\00b");
	free(nul);
}

Test(dn, parse_unescapes_and_round_trips)
{
	const char *names[] = {"a,b", "+", "\"q\"", "back\\slash", "<x>", "semi;colon", "eq=ual", "#hash", " both ",
			       "Ågren, Zoë ", "  two leading", "x#y", "=+,;"};
	size_t i;
	gb_error err;

	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		char *dn = NULL, *parent = NULL;
		gb_ad_dn *p = NULL;

		cr_assert_eq(gb_ad_dn_build("CN", names[i], "OU=Test\\, One,DC=test,DC=example", &dn, &err), 0);
		cr_assert_eq(gb_ad_dn_parse(dn, &p, &err), 0, "%s: %s", dn, err.msg);
		cr_assert_eq(p->nrdns, 4);
		cr_assert_str_eq(p->rdns[0].avas[0].type, "CN");
		cr_assert_str_eq(p->rdns[0].avas[0].value, names[i], "value of %s", dn);
		cr_assert_str_eq(p->rdns[1].avas[0].value, "Test, One");
		cr_assert_eq(gb_ad_dn_parent(dn, &parent, &err), 0);
		cr_assert_str_eq(parent, "OU=Test\\, One,DC=test,DC=example");
		free(parent);
		gb_ad_dn_free(p);
		free(dn);
	}
}

Test(dn, hex_escapes_and_lenient_spaces)
{
	gb_ad_dn *p = NULL;
	gb_error err;

	cr_assert_eq(gb_ad_dn_parse("cn = J\\C3\\BCrgen\\2C K ,  ou=x\\20 ; dc=y", &p, &err), 0, "%s", err.msg);
	cr_assert_eq(p->nrdns, 3);
	cr_assert_str_eq(p->rdns[0].avas[0].value, "Jürgen, K");
	cr_assert_str_eq(p->rdns[1].avas[0].value, "x ");
	cr_assert_str_eq(p->rdns[2].avas[0].type, "dc");
	gb_ad_dn_free(p);

	cr_assert_eq(gb_ad_dn_parse("CN=a+sn=b,DC=x", &p, &err), 0);
	cr_assert_eq(p->nrdns, 2);
	cr_assert_eq(p->rdns[0].navas, 2);
	cr_assert_str_eq(p->rdns[0].avas[1].type, "sn");
	gb_ad_dn_free(p);

	cr_assert_eq(gb_ad_dn_parse("1.3.6.1.4.1.1466.0=#04024869,DC=x", &p, &err), 0);
	cr_assert(p->rdns[0].avas[0].hex);
	cr_assert_str_eq(p->rdns[0].avas[0].value, "#04024869");
	gb_ad_dn_free(p);

	cr_assert_eq(gb_ad_dn_parse("", &p, &err), 0);
	cr_assert_eq(p->nrdns, 0);
	gb_ad_dn_free(p);
}

Test(dn, malformed_is_refused)
{
	const char *bad[] = {"CN", "=x", "CN=a,", "CN=a,,DC=b", "CN=a\\", "CN=a\\q", "CN=a,DC", "<GUID=x>",
			     "C N=a", "CN=#zz", "CN=a+"};
	size_t i;
	gb_ad_dn *p = NULL;
	gb_error err;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cr_assert_eq(gb_ad_dn_parse(bad[i], &p, &err), GB_EPARSE, "accepted %s", bad[i]);
		cr_assert_null(p);
	}
}

Test(dn, comparison_ignores_case_of_types_and_ascii_values_and_respects_escapes)
{
	gb_error err;

	cr_assert_eq(gb_ad_dn_text_equal("CN=Group One,OU=G,DC=test,DC=example", "cn=group one,ou=g,dc=TEST,dc=example",
					 &err), 1);
	cr_assert_eq(gb_ad_dn_text_equal("CN=a\\,b,DC=x", "CN=a\\2cb,DC=x", &err), 1);
	cr_assert_eq(gb_ad_dn_text_equal("CN=a\\,b,DC=x", "CN=a,CN=b,DC=x", &err), 0);
	cr_assert_eq(gb_ad_dn_text_equal("CN=a+SN=b,DC=x", "sn=B+cn=A,DC=x", &err), 1);
	/* AD's equality is case-insensitive beyond ASCII (AD review D5; this asserted the old byte comparison) */
	cr_assert_eq(gb_ad_dn_text_equal("CN=Ä,DC=x", "CN=ä,DC=x", &err), 1);
	cr_assert_eq(gb_ad_dn_text_equal("CN=a, DC=x", "CN=a,DC=x", &err), 1);
	cr_assert_eq(gb_ad_dn_text_equal("CN=a,DC=x", "CN=a", &err), 0);
	cr_assert_eq(gb_ad_dn_text_equal("CN=a,DC=x", "CN=a,", &err), GB_EPARSE);
}

Test(dn, is_under_compares_whole_rdns_not_string_suffixes)
{
	gb_error err;

	cr_assert_eq(gb_ad_dn_text_is_under("CN=g,OU=Groups,DC=test,DC=example", "ou=groups,dc=test,dc=example", &err),
		     1);
	cr_assert_eq(gb_ad_dn_text_is_under("CN=g,OU=a,OU=Groups,DC=test,DC=example", "OU=Groups,DC=test,DC=example",
					    &err), 1);
	/* a string suffix that is not an RDN suffix */
	cr_assert_eq(gb_ad_dn_text_is_under("CN=g,OU=MyGroups,DC=test,DC=example", "Groups,DC=test,DC=example", &err),
		     GB_EPARSE);
	cr_assert_eq(gb_ad_dn_text_is_under("CN=g,OU=XGroups,DC=test,DC=example", "OU=Groups,DC=test,DC=example",
					    &err), 0);
	/* an escaped comma that makes the text end like the container */
	cr_assert_eq(gb_ad_dn_text_is_under("CN=g\\,OU=Groups,DC=test,DC=example", "OU=Groups,DC=test,DC=example",
					    &err), 0);
	cr_assert_eq(gb_ad_dn_text_is_under("CN=g,OU=Groups\\,DC=test,DC=example", "DC=test,DC=example", &err), 0);
	/* the container itself is not under itself */
	cr_assert_eq(gb_ad_dn_text_is_under("OU=Groups,DC=test,DC=example", "OU=Groups,DC=test,DC=example", &err), 0);
	cr_assert_eq(gb_ad_dn_text_is_under("CN=x,DC=other,DC=example", "DC=test,DC=example", &err), 0);
}

Test(dn, parent_keeps_the_original_spelling)
{
	char *p = NULL;
	gb_error err;

	cr_assert_eq(gb_ad_dn_parent("CN=a\\,b, OU=x\\2C y,DC=z", &p, &err), 0);
	cr_assert_str_eq(p, "OU=x\\2C y,DC=z");
	free(p);
	cr_assert_eq(gb_ad_dn_parent("DC=z", &p, &err), 0);
	cr_assert_str_eq(p, "");
	free(p);
	cr_assert_eq(gb_ad_dn_parent("", &p, &err), GB_EINVAL);
	cr_assert_null(p);
}

Test(dn, domain_is_the_trailing_run_of_dc_rdns)
{
	cr_assert_str_eq(gb_ad_dn_domain("CN=Ann,OU=Users,DC=emea,DC=example"), "DC=emea,DC=example");
	cr_assert_str_eq(gb_ad_dn_domain("CN=Ann, ou=Users, dc=emea, dc=example"), "dc=emea, dc=example");
	/* a DC= RDN before another RDN is not part of the domain; an escaped comma is part of a value */
	cr_assert_str_eq(gb_ad_dn_domain("CN=x,DC=old,OU=a\\,DC=b,DC=test"), "DC=test");
	cr_assert_str_eq(gb_ad_dn_domain("DC=test"), "DC=test");
	cr_assert_null(gb_ad_dn_domain("CN=x,OU=y"));
	cr_assert_null(gb_ad_dn_domain(""));
	cr_assert_null(gb_ad_dn_domain(NULL));
}

Test(dn, format_is_canonical)
{
	gb_ad_dn *p = NULL;
	char *s = NULL;
	gb_error err;

	cr_assert_eq(gb_ad_dn_parse("CN = a\\2cb , OU=\\#x,DC=Y", &p, &err), 0);
	cr_assert_eq(gb_ad_dn_format(p, &s, &err), 0);
	cr_assert_str_eq(s, "cn=a\\,b,ou=\\#x,dc=Y");
	free(s);
	gb_ad_dn_free(p);
}

Test(filter, escaping_follows_rfc4515)
{
	gb_buf b;
	gb_error err;

	gb_buf_init(&b, GB_BUF_DEFAULT_MAX);
	cr_assert_eq(gb_ad_filter_escape("a*(b)\\c\0d", 9, &b, &err), 0);
	cr_assert_str_eq(gb_buf_cstr(&b), "a\\2a\\28b\\29\\5cc\\00d");
	gb_buf_clear(&b);
	cr_assert_eq(gb_ad_filter_escape("Zoë", strlen("Zoë"), &b, &err), 0);
	cr_assert_str_eq(gb_buf_cstr(&b), "Zoë");
	gb_buf_clear(&b);
	cr_assert_eq(gb_ad_filter_escape_binary(guid_wire, 16, &b, &err), 0);
	cr_assert_str_eq(gb_buf_cstr(&b), "\\6a\\bd\\da\\7d\\4b\\bb\\60\\45\\9a\\76\\b1\\f2\\0d\\e3\\b3\\47");
	gb_buf_free(&b);
}

Test(extended_dn, both_flag_forms_split)
{
	char guid[GB_AD_GUID_TEXT_SIZE], sid[GB_AD_SID_TEXT_SIZE];
	const char *dn;
	gb_error err;

	cr_assert_eq(gb_ad_extended_dn_split("<GUID=7ddabd6a-bb4b-4560-9a76-b1f20de3b347>;"
					     "<SID=S-1-5-21-3091556696-3446885500-523554117-500>;CN=x,DC=y",
					     guid, sid, &dn, &err), 0);
	cr_assert_str_eq(guid, "7ddabd6a-bb4b-4560-9a76-b1f20de3b347");
	cr_assert_str_eq(sid, "S-1-5-21-3091556696-3446885500-523554117-500");
	cr_assert_str_eq(dn, "CN=x,DC=y");

	cr_assert_eq(gb_ad_extended_dn_split("<GUID=6abdda7d4bbb60459a76b1f20de3b347>;"
					     "<SID=010500000000000515000000586945b87c4c73cd45cd341ff4010000>;CN=x,DC=y",
					     guid, sid, &dn, &err), 0);
	cr_assert_str_eq(guid, "7ddabd6a-bb4b-4560-9a76-b1f20de3b347");
	cr_assert_str_eq(sid, "S-1-5-21-3091556696-3446885500-523554117-500");

	cr_assert_eq(gb_ad_extended_dn_split("<GUID=6abdda7d4bbb60459a76b1f20de3b347>;OU=a,DC=y", guid, sid, &dn, &err),
		     0);
	cr_assert_str_eq(sid, "");
	cr_assert_str_eq(dn, "OU=a,DC=y");
	cr_assert_eq(gb_ad_extended_dn_split("CN=plain,DC=y", guid, sid, &dn, &err), 0);
	cr_assert_str_eq(guid, "");
	cr_assert_str_eq(dn, "CN=plain,DC=y");
	cr_assert_eq(gb_ad_extended_dn_split("<GUID=zz>;CN=x", guid, sid, &dn, &err), GB_EPARSE);
	cr_assert_eq(gb_ad_extended_dn_split("<GUID=7ddabd6a-bb4b-4560-9a76-b1f20de3b347CN=x", guid, sid, &dn, &err),
		     GB_EPARSE);
}

/* ---- AD's own rules for names (AD review D3, D4, D5) ---- */

Test(adnames, dn_equality_is_ads_case_accent_and_width_insensitive)
{
	gb_error err;

	/* D5: a fence or mapped container spelled with another non-ASCII case is the same container to AD */
	cr_assert_eq(gb_ad_dn_text_equal("OU=Zürich,DC=test,DC=example", "OU=ZÜRICH,DC=test,DC=example", &err), 1);
	cr_assert_eq(gb_ad_dn_text_equal("OU=ZÜRICH,DC=test,DC=example", "ou=zürich,dc=test,dc=example", &err), 1);
	cr_assert_eq(gb_ad_dn_text_is_under("CN=g,OU=Zürich,DC=test,DC=example", "OU=ZÜRICH,DC=test,DC=example", &err),
		     1);
	/* accents (precomposed and combining) and width */
	cr_assert(gb_ad_str_equal("Café", strlen("Café"), "CAFE", 4));
	cr_assert(gb_ad_str_equal("Cafe\xcc\x81", 6, "café", strlen("café")));
	cr_assert(gb_ad_str_equal("\xef\xbc\xa1\xef\xbc\xa2", 6, "ab", 2)); /* fullwidth AB */
	cr_assert(gb_ad_str_equal("jmüller", strlen("jmüller"), "JMULLER", 7));
	cr_assert(gb_ad_str_equal("Москва", strlen("Москва"), "МОСКВА", strlen("МОСКВА")));
	/* what differs stays different: a letter with a stroke is a letter of its own, and so are other letters */
	cr_assert_not(gb_ad_str_equal("Øst", strlen("Øst"), "Ost", 3));
	cr_assert_not(gb_ad_str_equal("Cafe", 4, "Cafes", 5));
	cr_assert_eq(gb_ad_dn_text_equal("OU=Zürich,DC=test,DC=example", "OU=Zurich2,DC=test,DC=example", &err), 0);
	/* the write fence ignores case but never accents: it is not widened to a sibling OU that differs by one */
	cr_assert_eq(gb_ad_dn_text_equal("OU=Cafe,DC=x", "OU=Café,DC=x", &err), 1);
	cr_assert_eq(gb_ad_dn_text_is_under("CN=g,OU=Cafe,DC=x", "OU=Café,DC=x", &err), 0);
	cr_assert_eq(gb_ad_dn_text_is_under("CN=g,OU=CAFÉ,DC=x", "OU=café,DC=x", &err), 1);
}

Test(adnames, fold_gives_one_key_for_ad_equal_values)
{
	char *a = NULL, *b = NULL;
	gb_error err;

	cr_assert_eq(gb_ad_str_fold("CN=Café,OU=ZÜRICH", &a, &err), 0);
	cr_assert_eq(gb_ad_str_fold("cn=cafe,ou=zurich", &b, &err), 0);
	cr_assert_str_eq(a, b);
	free(a);
	free(b);
}

Test(adnames, utf16_length_counts_surrogate_pairs_twice)
{
	cr_assert_eq(gb_ad_utf16_len("abc"), 3);
	cr_assert_eq(gb_ad_utf16_len("Zürich"), 6);
	cr_assert_eq(gb_ad_utf16_len("\xf0\x9f\x98\x80"), 2); /* U+1F600 */
	cr_assert_eq(gb_ad_utf16_prefix("a\xf0\x9f\x98\x80" "b", 2), 1); /* never half a pair */
	cr_assert_eq(gb_ad_utf16_prefix("a\xf0\x9f\x98\x80" "b", 3), 5);
}

Test(adnames, sam_account_name_follows_ms_samr)
{
	gb_error err;

	cr_assert_eq(gb_ad_sam_check("Sales-EMEA_2024", &err), 0);
	cr_assert_eq(gb_ad_sam_check("Zürich Finance", &err), 0);
	cr_assert_eq(gb_ad_sam_check("a/b", &err), GB_EINVAL);
	cr_assert(strstr(err.msg, "'/'"), "%s", err.msg);
	cr_assert_eq(gb_ad_sam_check("sales.", &err), GB_EINVAL);
	cr_assert(strstr(err.msg, "period"), "%s", err.msg);
	cr_assert_eq(gb_ad_sam_check("a\tb", &err), GB_EINVAL);
	cr_assert(strstr(err.msg, "control"), "%s", err.msg);
	cr_assert_eq(gb_ad_sam_check("...", &err), GB_EINVAL);
	cr_assert_eq(gb_ad_sam_check("", &err), GB_EINVAL);
	cr_assert_eq(gb_ad_sam_check("abcdefghijklmnopqrst", &err), 0);
	cr_assert_eq(gb_ad_sam_check("abcdefghijklmnopqrstu", &err), GB_EINVAL);
	cr_assert(strstr(err.msg, "21 characters"), "%s", err.msg);
	for (const char *p = "\"[]:;|=,+*?<>\\"; *p; p++) {
		char s[4] = {'x', *p, 'y', 0};
		cr_assert_eq(gb_ad_sam_check(s, &err), GB_EINVAL, "%s", s);
	}
}

Test(adnames, derived_sam_account_name_is_valid_stable_and_unique_by_object_id)
{
	char a[GB_AD_SAM_BUF], b[GB_AD_SAM_BUF], c[GB_AD_SAM_BUF];
	gb_error err;

	cr_assert_eq(gb_ad_sam_derive("Sales EMEA: all staff", "0f3e1c2a-1111-4222-8333-abcdef012345", a, sizeof a, &err),
		     0);
	cr_assert_eq(strncmp(a, "Sales_EMEA_", 11), 0, "%s", a);
	cr_assert_eq(strlen(a), 11 + GB_AD_SAM_SUFFIX);
	cr_assert_eq(gb_ad_sam_check(a, &err), 0);
	cr_assert_eq(gb_ad_sam_derive("Sales EMEA: all staff", "0f3e1c2a-1111-4222-8333-abcdef012345", b, sizeof b, &err),
		     0);
	cr_assert_str_eq(a, b);
	cr_assert_eq(gb_ad_sam_derive("Sales EMEA: all staff", "0f3e1c2a-1111-4222-8333-abcdef0123ff", c, sizeof c, &err),
		     0);
	cr_assert_str_neq(a, c);
	/* forbidden characters, periods at the end, characters outside the BMP, nothing left */
	cr_assert_eq(gb_ad_sam_derive("R&D [lab].", "00000000-0000-0000-0000-0000000000AA", a, sizeof a, &err), 0);
	cr_assert_eq(strncmp(a, "R&D_lab_", 8), 0, "%s", a);
	cr_assert_eq(gb_ad_sam_check(a, &err), 0);
	cr_assert_eq(gb_ad_sam_derive("\xf0\x9f\x98\x80\xf0\x9f\x98\x80", "00000000-0000-0000-0000-0000000000aa", a,
				      sizeof a, &err), 0);
	cr_assert_eq(strncmp(a, "group_", 6), 0, "%s", a);
	cr_assert_eq(gb_ad_sam_derive(NULL, "00000000-0000-0000-0000-0000000000aa", a, sizeof a, &err), 0);
	cr_assert_eq(gb_ad_sam_check(a, &err), 0);
	cr_assert_eq(gb_ad_sam_derive("Zürich Übersee Finanzen", "00000000-0000-0000-0000-0000000000aa", a, sizeof a,
				      &err), 0);
	cr_assert_eq(gb_ad_utf16_len(a), 20);
	cr_assert_eq(gb_ad_sam_check(a, &err), 0);
	/* ids that differ only at the start (the test bed's run prefixes) still give different names */
	cr_assert_eq(gb_ad_sam_derive("Sales", "5c000001-0001-4000-8000-000000000001", a, sizeof a, &err), 0);
	cr_assert_eq(gb_ad_sam_derive("Sales", "5c000002-0001-4000-8000-000000000001", b, sizeof b, &err), 0);
	cr_assert_str_neq(a, b);
	cr_assert_eq(gb_ad_sam_derive("x", "", a, sizeof a, &err), GB_EINVAL);
}
