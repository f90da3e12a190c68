/* Unit tests of the [provisioning] mappings: Cloud Sync's defaults, constant and expression containers,
 * Microsoft's published GroupDN expressions, and clear configuration errors. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/adcodec.h"
#include "groupbridge/mapping.h"
#include "groupbridge/provision.h"

#define EXT "extension_0a1b2c3d4e5f60718293a4b5c6d7e8f9_GroupDN"

static const char *container_expr =
	"IIF(IsPresent([" EXT "]), Replace(Mid(Mid(Replace([" EXT "], \"\\,\", , , \"\\2C\", , ), "
	"Instr(Replace([" EXT "], \"\\,\", , , \"\\2C\", , ), \",\", , ), 9999), 2, 9999), \"\\2C\", , , \",\", , ), "
	"\"OU=Default,DC=contoso,DC=com\")";
static const char *cn_expr =
	"IIF(IsPresent([" EXT "]), Replace(Replace(Replace(Word(Replace([" EXT "], \"\\,\", , , \"\\2C\", , ), 1, "
	"\",\"), \"CN=\", , , \"\", , ), \"cn=\", , , \"\", , ), \"\\2C\", , , \",\", , ), "
	"Append(Append(Left(Trim([displayName]), 51), \"_\"), Mid([objectId], 25, 12)))";

static gb_cloud_group group(const char *name, const char *desc, const char *ext)
{
	gb_cloud_group g;

	memset(&g, 0, sizeof(g));
	g.id = "3a5c3221-c465-48c0-95b8-e9305786a271";
	g.display_name = (char *)name;
	g.description = (char *)desc;
	g.group_dn_ext = (char *)ext;
	g.security_enabled = GB_TRI_TRUE;
	return g;
}

static gb_mappings *mappings(const char *container, const char *cn)
{
	gb_config_provisioning cfg;
	gb_mappings *m;
	gb_error err;

	memset(&cfg, 0, sizeof(cfg));
	cfg.target_container = (char *)container;
	cfg.cn = (char *)cn;
	cfg.group_dn_extension = EXT;
	cr_assert_eq(gb_mappings_new(&cfg, &m, &err), 0, "%s", err.msg);
	return m;
}

static char *eval(gb_mappings *m, gb_mapping_field f, const gb_cloud_group *g)
{
	char *out = NULL;
	gb_error err;

	cr_assert_eq(gb_mappings_eval(m, f, g, &out, &err), 0, "%s", err.msg);
	return out;
}

Test(mapping, cloud_sync_defaults_for_cn_and_description)
{
	gb_mappings *m = mappings("OU=Groups,DC=contoso,DC=com", NULL);
	gb_cloud_group g = group("  Sales  ", "  Quarterly numbers  ", NULL);
	char *cn = eval(m, GB_MAPPING_CN, &g), *d = eval(m, GB_MAPPING_DESCRIPTION, &g);

	cr_assert_str_eq(cn, "Sales_e9305786a271");
	cr_assert_str_eq(d, "Quarterly numbers");
	free(cn);
	free(d);
	g.description = NULL;
	cr_assert_null(eval(m, GB_MAPPING_DESCRIPTION, &g), "no description gives no attribute");
	{
		/* not mapped: a derived name, so that AD never generates a "$XXXX-..." one (AD review D3) */
		char *sam = eval(m, GB_MAPPING_SAM, &g), *again = eval(m, GB_MAPPING_SAM, &g);
		gb_error e;

		cr_assert_not_null(sam);
		cr_assert_eq(strncmp(sam, "Sales_", 6), 0, "%s", sam);
		cr_assert_eq(gb_ad_sam_check(sam, &e), 0, "%s", e.msg);
		cr_assert_str_eq(sam, again, "the same group always gets the same name");
		free(sam);
		free(again);
	}
	cr_assert_str_eq(gb_mappings_constant_container(m), "OU=Groups,DC=contoso,DC=com");
	gb_mappings_free(m);
}

Test(mapping, default_cn_truncates_long_names_to_51_characters)
{
	gb_mappings *m = mappings("OU=Groups,DC=contoso,DC=com", NULL);
	char name[80];
	gb_cloud_group g;
	char *cn;

	memset(name, 'x', 70);
	name[70] = '\0';
	g = group(name, NULL, NULL);
	cn = eval(m, GB_MAPPING_CN, &g);
	cr_assert_eq(strlen(cn), 51 + 1 + 12);
	free(cn);
	gb_mappings_free(m);
}

Test(mapping, switch_routes_on_display_name)
{
	gb_mappings *m = mappings("Switch([displayName], \"OU=Default,DC=contoso,DC=com\", \"Marketing\", "
				  "\"OU=Marketing,DC=contoso,DC=com\", \"Sales\", \"OU=Sales,DC=contoso,DC=com\")",
				  NULL);
	gb_cloud_group a = group("Marketing", NULL, NULL), b = group("Engineering", NULL, NULL);
	char *x = eval(m, GB_MAPPING_CONTAINER, &a), *y = eval(m, GB_MAPPING_CONTAINER, &b);

	cr_assert_str_eq(x, "OU=Marketing,DC=contoso,DC=com");
	cr_assert_str_eq(y, "OU=Default,DC=contoso,DC=com");
	cr_assert_null(gb_mappings_constant_container(m));
	free(x);
	free(y);
	gb_mappings_free(m);
}

/* Evaluates both mappings of m for a group with that display name and GroupDN extension value (NULL: none) and
 * checks the container and the cn they give. */
static void expect_placed(gb_mappings *m, const char *name, const char *group_dn, const char *container, const char *cn)
{
	gb_cloud_group g = group(name, NULL, group_dn);
	char *c = eval(m, GB_MAPPING_CONTAINER, &g), *n = eval(m, GB_MAPPING_CN, &g);

	cr_assert_str_eq(c, container, "%s", name);
	cr_assert_str_eq(n, cn, "%s", name);
	free(c);
	free(n);
}

Test(mapping, published_group_dn_expressions_restore_ou_and_cn)
{
	gb_mappings *m = mappings(container_expr, cn_expr);

	expect_placed(m, "Finance", "CN=Finance-App-Access,OU=Groups,DC=contoso,DC=com", "OU=Groups,DC=contoso,DC=com",
		      "Finance-App-Access");
	/* an escaped comma in the CN comes back as a plain comma in the cn value (escaped again when the DN is built) */
	expect_placed(m, "Sales", "CN=Sales\\, EMEA,OU=Groups,DC=contoso,DC=com", "OU=Groups,DC=contoso,DC=com",
		      "Sales, EMEA");
	/* no extension value: the default container and the default cn */
	expect_placed(m, "Sales", NULL, "OU=Default,DC=contoso,DC=com", "Sales_e9305786a271");
	gb_mappings_free(m);
}

/* Microsoft's container expression turns \2C back into a bare comma (reference, section 6, item 12): an escaped
 * comma inside an OU name yields a different DN. The engine must then refuse the group, never write elsewhere. */
static int map_cb(void *ctx, gb_mapping_field f, const gb_cloud_group *g, char **out, gb_error *err)
{
	return gb_mappings_eval(ctx, f, g, out, err);
}

Test(mapping, escaped_comma_in_an_ou_is_that_groups_error_not_a_wrong_place)
{
	gb_mappings *m = mappings(container_expr, cn_expr);
	gb_cloud_group g = group("Sales", NULL, "CN=Sales,OU=EMEA\\, North,DC=contoso,DC=com");
	gb_cloud_group *scope[1] = {&g};
	gb_map *empty;
	gb_provision_input in;
	gb_plan *p;
	gb_error err;
	char *c = eval(m, GB_MAPPING_CONTAINER, &g);

	cr_assert_str_eq(c, "OU=EMEA, North,DC=contoso,DC=com");
	free(c);
	cr_assert_eq(gb_map_new(0, &empty, NULL), 0);
	memset(&in, 0, sizeof(in));
	in.groups = scope;
	in.ngroups = 1;
	in.cloud_groups = in.cloud_users = in.forest_users = in.ad_by_anchor = empty;
	in.map = map_cb;
	in.map_ctx = m;
	cr_assert_eq(gb_provision_plan(&in, &p, &err), 0, "%s", err.msg);
	cr_assert_eq(p->nops, 0);
	cr_assert_eq(p->nnotes, 1);
	cr_assert_str_eq(p->notes[0].code, "mapping-error");
	gb_plan_free(p);
	gb_map_free(empty);
	gb_mappings_free(m);
}

Test(mapping, configuration_errors_name_the_key_with_a_caret)
{
	gb_config_provisioning cfg;
	gb_mappings *m;
	gb_error err;

	memset(&cfg, 0, sizeof(cfg));
	cr_assert_eq(gb_mappings_new(&cfg, &m, &err), GB_ECONFIG);
	cr_assert(strstr(err.msg, "needs target_container") != NULL, "%s", err.msg);
	cfg.target_container = "OU=Groups,DC=contoso,DC=com";
	cfg.cn = "Append([displayName], \"_\"";
	cr_assert_eq(gb_mappings_new(&cfg, &m, &err), GB_ECONFIG);
	cr_assert(strstr(err.msg, "[provisioning] cn: expression:") != NULL, "%s", err.msg);
	cr_assert(strstr(err.msg, "\n") != NULL && strstr(err.msg, "^") != NULL, "a caret line: %s", err.msg);
	cfg.cn = "Append([displayName], Guid())";
	cr_assert_eq(gb_mappings_new(&cfg, &m, &err), GB_ECONFIG);
	cr_assert(strstr(err.msg, "new value on every run") != NULL, "%s", err.msg);
	cfg.cn = NULL;
	cfg.target_container = "this is neither";
	cr_assert_eq(gb_mappings_new(&cfg, &m, &err), GB_ECONFIG);
	cr_assert(strstr(err.msg, "neither a DN") != NULL, "%s", err.msg);
}

Test(mapping, default_cn_counts_utf16_units_as_ad_does)
{
	gb_mappings *m = mappings("OU=Groups,DC=contoso,DC=com", NULL);
	char name[400];
	size_t k = 0;
	gb_cloud_group g;
	char *cn;

	/* 55 characters with emoji (AD review D4): 51 code points would be 79 UTF-16 units, a cn AD refuses */
	for (int i = 0; i < 55; i++) {
		const char *ch = i % 2 ? "a" : "\xf0\x9f\x98\x80";
		memcpy(name + k, ch, strlen(ch));
		k += strlen(ch);
	}
	name[k] = '\0';
	g = group(name, NULL, NULL);
	cn = eval(m, GB_MAPPING_CN, &g);
	cr_assert_leq(gb_ad_utf16_len(cn), GB_AD_CN_MAX, "%zu units", gb_ad_utf16_len(cn));
	cr_assert_eq(strcmp(cn + strlen(cn) - 13, "_e9305786a271"), 0, "%s", cn);
	free(cn);
	gb_mappings_free(m);
}

Test(mapping, an_empty_samaccountname_leaves_the_name_to_ad)
{
	gb_config_provisioning cfg;
	gb_mappings *m;
	gb_error err;
	gb_cloud_group g = group("Sales", NULL, NULL);

	memset(&cfg, 0, sizeof(cfg));
	cfg.target_container = "OU=Groups,DC=contoso,DC=com";
	cfg.samaccountname = "\"\"";
	cr_assert_eq(gb_mappings_new(&cfg, &m, &err), 0, "%s", err.msg);
	cr_assert_null(eval(m, GB_MAPPING_SAM, &g));
	gb_mappings_free(m);
}
