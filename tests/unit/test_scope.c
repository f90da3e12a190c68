/* Unit tests of scoping: selected ids, Cloud Sync's filter operators, AND within a line, OR across lines. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "groupbridge/scope.h"
#include "support/testfs.h"

static gb_cloud_group group(const char *id, const char *name, const char *desc)
{
	gb_cloud_group g;

	memset(&g, 0, sizeof(g));
	g.id = (char *)id;
	g.display_name = (char *)name;
	g.description = (char *)desc;
	g.security_enabled = GB_TRI_TRUE;
	g.mail_enabled = GB_TRI_FALSE;
	g.on_prem_sync_enabled = GB_TRI_UNKNOWN;
	g.is_cloud_managed = GB_TRI_UNKNOWN;
	return g;
}

static bool in(const gb_scope *s, const gb_cloud_group *g)
{
	bool m;
	gb_error err;

	cr_assert_eq(gb_scope_matches(s, g, &m, &err), 0, "%s", err.msg);
	return m;
}

static gb_scope *filters(const char *a, const char *b)
{
	const char *f[3] = {a, b, NULL};
	gb_scope *s;
	gb_error err;

	cr_assert_eq(gb_scope_new_filters(f, "extension_abc_GroupDN", &s, &err), 0, "%s", err.msg);
	return s;
}

Test(scope, selected_ids_from_key_and_file)
{
	char path[64];
	gb_config_provisioning cfg;
	gb_scope *s;
	gb_error err;
	gb_cloud_group g = group("ID-4", "x", NULL);

	gb_testfs_mkstemp(path, sizeof(path), "scope", "# groups to provision\nid-3\n  id-4  # trailing comment\n\n");
	memset(&cfg, 0, sizeof(cfg));
	cfg.scope = "selected";
	cfg.groups = "id-1, id-2,\tid-2b id-2c";
	cfg.groups_file = path;
	cr_assert_eq(gb_scope_new(&cfg, &s, &err), 0, "%s", err.msg);
	cr_assert(gb_scope_is_selected(s));
	cr_assert_str_eq(gb_scope_selected_ids(s)[1], "id-2");
	cr_assert_str_eq(gb_scope_selected_ids(s)[2], "id-2b");
	cr_assert_str_eq(gb_scope_selected_ids(s)[3], "id-2c");
	cr_assert_str_eq(gb_scope_selected_ids(s)[5], "id-4");
	cr_assert_null(gb_scope_selected_ids(s)[6]);
	cr_assert(in(s, &g), "object ids compare without regard to case");
	g.id = "id-9";
	cr_assert(!in(s, &g));
	gb_scope_free(s);
	unlink(path);
	cr_assert_eq(gb_scope_new(&cfg, &s, &err), GB_ECONFIG);
	cr_assert(strstr(err.msg, "groups_file") != NULL, "%s", err.msg);
	cfg.groups_file = NULL;
	cfg.groups = " , ";
	cr_assert_eq(gb_scope_new(&cfg, &s, &err), GB_ECONFIG);
	cr_assert(strstr(err.msg, "at least one group id") != NULL);
}

Test(scope, and_within_a_line_or_across_lines)
{
	gb_scope *s = filters("displayName REGEX MATCH \"^Sales\" AND description IS NOT NULL",
			      "displayName EQUALS \"Finance\"");
	gb_cloud_group a = group("1", "Sales EMEA", "d"), b = group("2", "Sales EMEA", NULL),
		       c = group("3", "Finance", NULL), d = group("4", "finance", NULL);

	cr_assert(in(s, &a));
	cr_assert(!in(s, &b), "second clause of the first line fails, second line does not match");
	cr_assert(in(s, &c));
	cr_assert(!in(s, &d), "EQUALS is case-sensitive");
	gb_scope_free(s);
}

Test(scope, boolean_null_and_not_regex_semantics)
{
	gb_scope *s = filters("mailEnabled IS FALSE AND onPremisesSyncEnabled IS NULL", NULL);
	gb_cloud_group g = group("1", "x", NULL);

	cr_assert(in(s, &g));
	g.on_prem_sync_enabled = GB_TRI_FALSE;
	cr_assert(!in(s, &g));
	gb_scope_free(s);
	s = filters("description NOT REGEX MATCH \"^temp\"", NULL);
	g.description = NULL;
	cr_assert(!in(s, &g), "NOT REGEX MATCH is false for null");
	g.description = "";
	cr_assert(!in(s, &g), "NOT REGEX MATCH is false for empty");
	g.description = "permanent";
	cr_assert(in(s, &g));
	g.description = "temporary";
	cr_assert(!in(s, &g));
	gb_scope_free(s);
	s = filters("dirSyncEnabled IS TRUE", NULL);
	g.on_prem_sync_enabled = GB_TRI_TRUE;
	cr_assert(in(s, &g), "dirSyncEnabled is onPremisesSyncEnabled");
	gb_scope_free(s);
}

Test(scope, numbers_and_extension_attributes)
{
	gb_scope *s = filters("description GREATER_THAN_OR_EQUALS 10", "extension_abc_GroupDN IS NOT NULL");
	gb_cloud_group g = group("1", "x", "10");

	cr_assert(in(s, &g));
	g.description = "9";
	cr_assert(!in(s, &g));
	g.description = "ten";
	cr_assert(!in(s, &g), "a non-number never compares");
	g.group_dn_ext = "CN=x,OU=y";
	cr_assert(in(s, &g));
	gb_scope_free(s);
}

Test(scope, parse_errors_name_filter_and_column)
{
	const char *bad[][2] = {
		{"displayName LIKE \"x\"", "filter 1: column 13: expected an operator"},
		{"colour EQUALS \"x\"", "filter 1: column 1: unknown attribute"},
		{"displayName EQUALS", "filter 1: column 19: expected a value"},
		{"displayName EQUALS \"x\" OR id IS NULL", "filter 1: column 24: expected AND"},
		{"description GREATER_THAN ten", "GREATER_THAN takes a whole number"},
		{"displayName REGEX MATCH \"(unclosed\"", "bad regular expression"},
		{"displayName EQUALS \"unterminated", "expected a value"},
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *f[2] = {bad[i][0], NULL};
		gb_scope *s;
		gb_error err;

		cr_assert_eq(gb_scope_new_filters(f, NULL, &s, &err), GB_ECONFIG, "%s", bad[i][0]);
		cr_assert(strstr(err.msg, bad[i][1]) != NULL, "\"%s\" gave \"%s\"", bad[i][0], err.msg);
	}
	{
		const char *none[1] = {NULL};
		gb_scope *s;
		gb_error err;
		cr_assert_eq(gb_scope_new_filters(none, NULL, &s, &err), GB_ECONFIG);
	}
}

Test(scope, catastrophic_regex_is_an_error_not_a_hang)
{
	gb_scope *s = filters("displayName REGEX MATCH \"^(a+)+$\"", NULL);
	char name[64];
	gb_cloud_group g;
	bool m;
	gb_error err;

	memset(name, 'a', 40);
	name[40] = 'b';
	name[41] = '\0';
	g = group("1", name, NULL);
	cr_assert_eq(gb_scope_matches(s, &g, &m, &err), GB_EINVAL);
	cr_assert(strstr(err.msg, "filter 1") != NULL, "%s", err.msg);
	gb_scope_free(s);
}
