/* libFuzzer target for the AD codecs: DN parsing (and the invariant that the canonical form parses back to an
 * equal DN), value escaping round trips, parent DNs, extended DNs, SID and GUID text, and the range arithmetic of
 * ranged reads, on any bytes. A broken invariant aborts. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/adcodec.h"
#include "groupbridge/directory.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void dn_invariants(const char *s)
{
	gb_ad_dn *dn = NULL, *again = NULL;
	char *canon = NULL, *parent = NULL;

	if (gb_ad_dn_parse(s, &dn, NULL) != 0)
		return;
	if (gb_ad_dn_format(dn, &canon, NULL) != 0 || gb_ad_dn_parse(canon, &again, NULL) != 0 ||
	    !gb_ad_dn_equal(dn, again))
		abort();
	if (dn->nrdns > 0 && gb_ad_dn_parent(s, &parent, NULL) != 0)
		abort();
	if (dn->nrdns > 1 && gb_ad_dn_text_is_under(s, parent, NULL) != 1)
		abort();
	free(parent);
	free(canon);
	gb_ad_dn_free(again);
	gb_ad_dn_free(dn);
}

static void escape_round_trip(const char *value)
{
	char *dn = NULL;
	gb_ad_dn *p = NULL;

	if (gb_ad_dn_build("CN", value, "DC=x", &dn, NULL) != 0)
		abort();
	if (gb_ad_dn_parse(dn, &p, NULL) != 0 || p->nrdns != 2 || p->rdns[0].navas != 1 ||
	    p->rdns[0].avas[0].value_len != strlen(value) || memcmp(p->rdns[0].avas[0].value, value, strlen(value)) != 0)
		abort();
	gb_ad_dn_free(p);
	free(dn);
}

static void sid_and_guid(const char *s)
{
	unsigned char bin[GB_AD_SID_MAX_LEN], bin2[GB_AD_SID_MAX_LEN], g[GB_AD_GUID_LEN], g2[GB_AD_GUID_LEN];
	char text[GB_AD_SID_TEXT_SIZE], gt[GB_AD_GUID_TEXT_SIZE], sid[GB_AD_SID_TEXT_SIZE];
	size_t len, len2;
	const char *plain;

	if (gb_ad_sid_from_text(s, bin, &len, NULL) == 0) {
		if (gb_ad_sid_to_text(bin, len, text, sizeof text, NULL) != 0 ||
		    gb_ad_sid_from_text(text, bin2, &len2, NULL) != 0 || len != len2 || memcmp(bin, bin2, len) != 0)
			abort();
	}
	if (gb_ad_guid_from_text(s, g, NULL) == 0) {
		gb_ad_guid_to_text(g, gt);
		if (gb_ad_guid_from_text(gt, g2, NULL) != 0 || memcmp(g, g2, sizeof g) != 0)
			abort();
	}
	gb_ad_extended_dn_split(s, gt, sid, &plain, NULL);
}

static void range(const char *s)
{
	const char *names[2] = {s, "member"};
	size_t counts[2] = {1, 0};
	gb_dir_range_step st;

	if (gb_directory_range_step("member", 0, names, counts, 2, &st, NULL) == 0 && !st.done && st.next == 0)
		abort();
	gb_directory_range_step("member", 1500, names, counts, 1, &st, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	dn_invariants(s);
	escape_round_trip(s);
	sid_and_guid(s);
	range(s);
	free(s);
	return 0;
}
