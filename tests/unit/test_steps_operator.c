/* test_steps_operator.c: the operator steps' C side (steps/step_coexist.c, step_disable.c, step_prereq.c) and the
 * PowerShell templates they fill, offline: a state database in a temporary directory, Connect Sync exports made from
 * a copy of the contoso-2016 sample, the steps called directly. What needs AD or Graph is in
 * tests/integration/cli_migrate.sh. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "groupbridge/buf.h"
#include "groupbridge/config.h"
#include "groupbridge/connect_sync.h"
#include "groupbridge/migrate.h"
#include "groupbridge/store.h"
#include "groupbridge/util.h"
#include "support/testfs.h"

#include "../../steps/steps_int.h"

#define SAMPLE "tests/data/connect-sync/contoso-2016"
#define FIXTURES "tests/data/connect-sync/fixtures"
#define MV "GlobalSettings/MV.xml"
#define AD_CONN "Connectors/Connector_{ae4db4cc-b16b-4eb2-acf5-837ca84e4d7d}.xml"
/* A second forest's connector that sorts before contoso's, so that "the first AD connector" is the wrong one. */
#define OTHER_CONN "Connectors/Connector_{0000adad-0000-4000-8000-000000000001}.xml"
#define COEX_IN_FILE "SynchronizationRules/SynchronizationRule_{e4eae1c9-b9bc-4328-ade9-df871cdd3027}.xml"
#define COEX_OUT_FILE "SynchronizationRules/SynchronizationRule_{419fda18-75bb-4e23-b947-8b06e7246551}.xml"
#define DELETE_FILE "SynchronizationRules/SynchronizationRule_{cb871f2d-0f01-4c32-a333-ff809145b947}.xml"
#define CHECKER "runbooks/templates/check-templates.py"

static char tmp[256];
static gb_config *cfg;
static gb_store *st;
static gb_migrate_ctx ctx;
static char *outbuf;
static size_t outlen;

/* ---- files ---------------------------------------------------------------------------------------------- */

static const char *in_tmp(const char *rel)
{
	static char p[4][1024];
	static int k;

	k = (k + 1) % 4;
	snprintf(p[k], sizeof(p[k]), "%s/%s", tmp, rel);
	return p[k];
}


/* A copy of the sample as export NAME under the temporary directory; returns its path. */
static const char *make_export(const char *name)
{
	const char *dir = in_tmp(name);
	static char keep[8][1024];
	static int k;

	k = (k + 1) % 8;
	snprintf(keep[k], sizeof(keep[k]), "%s", dir);
	gb_testfs_copy_tree(SAMPLE, keep[k]);
	return keep[k];
}

static void put_file(const char *export, const char *rel, const char *fixture)
{
	char dst[1024], src[512];
	size_t n;
	char *data;

	snprintf(src, sizeof(src), FIXTURES "/rules/%s", fixture);
	snprintf(dst, sizeof(dst), "%s/%s", export, rel);
	data = gb_testfs_slurp(src, &n);
	gb_testfs_spit(dst, data, n);
	free(data);
}

static void export_edit(const char *export, const char *rel, const char *old, const char *new)
{
	char p[1024];

	snprintf(p, sizeof(p), "%s/%s", export, rel);
	gb_testfs_edit(p, old, new);
}

static void set_version(const char *export, const char *version)
{
	char v[128];

	snprintf(v, sizeof(v), "dataType=\"String\">%s</parameter>", version);
	export_edit(export, MV, "dataType=\"String\">1.1.130.0</parameter>", v);
}

static void staging_on(const char *export)
{
	export_edit(export, MV,
	            "\"Microsoft.Synchronize.StagingMode\" type=\"string\" use=\"SynchronizationGlobal\" "
	            "dataType=\"String\">False",
	            "\"Microsoft.Synchronize.StagingMode\" type=\"string\" use=\"SynchronizationGlobal\" "
	            "dataType=\"String\">True");
}

/* Both coexistence rules (optionally at other precedences: -1 keeps the fixture's) and staging mode on. */
static void coexistence(const char *export, long in, long out)
{
	char v[64];

	put_file(export, COEX_IN_FILE, "coex-inbound.xml");
	put_file(export, COEX_OUT_FILE, "coex-outbound.xml");
	if (in >= 0) {
		snprintf(v, sizeof(v), "<precedence>%ld</precedence>", in);
		export_edit(export, COEX_IN_FILE, "<precedence>88</precedence>", v);
	}
	if (out >= 0) {
		snprintf(v, sizeof(v), "<precedence>%ld</precedence>", out);
		export_edit(export, COEX_OUT_FILE, "<precedence>89</precedence>", v);
	}
	staging_on(export);
}

/* A second AD connector (forest adatum.com) that sorts first; writeback_forest names MV.xml's
 * Microsoft.GroupWriteBack.Forest (NULL: not stated). */
static void second_forest(const char *export, const char *writeback_forest)
{
	char src[1024], dst[1024];
	size_t n;
	char *data;

	snprintf(src, sizeof(src), "%s/" AD_CONN, export);
	snprintf(dst, sizeof(dst), "%s/" OTHER_CONN, export);
	data = gb_testfs_slurp(src, &n);
	gb_testfs_spit(dst, data, n);
	free(data);
	gb_testfs_edit(dst, "<id>{AE4DB4CC-B16B-4EB2-ACF5-837CA84E4D7D}</id>",
	          "<id>{0000ADAD-0000-4000-8000-000000000001}</id>");
	gb_testfs_edit(dst, "<name>contoso.com</name>", "<name>adatum.com</name>");
	gb_testfs_edit(dst, "<forest-name>contoso.com</forest-name>", "<forest-name>adatum.com</forest-name>");
	gb_testfs_edit(dst, "DC=contoso,DC=com", "DC=adatum,DC=com");
	if (writeback_forest) {
		char p[512];
		snprintf(
		    p, sizeof(p),
		    "<parameter name=\"Microsoft.GroupWriteBack.Forest\" type=\"string\" use=\"SynchronizationGlobal\" "
		    "dataType=\"String\">%s</parameter>",
		    writeback_forest);
		export_edit(
		    export, MV,
		    "<parameter name=\"Microsoft.GroupWriteBack.Forest\" type=\"string\" use=\"SynchronizationGlobal\" "
		    "dataType=\"String\" />",
		    p);
	}
}

/* ---- the context ------------------------------------------------------------------------------------------ */

static void open_ctx(const char *migration_extra)
{
	gb_error err;
	char text[2048];

	snprintf(text, sizeof(text),
	         "[graph]\ntenant_id = 11111111-2222-3333-4444-555555555555\n"
	         "client_id = 66666666-7777-8888-9999-000000000000\nclient_secret_env = GB_TEST_UNUSED\n"
	         "[directory]\nuri = ldaps://127.0.0.1:9\nbind_dn = cn=unused\nbind_password_env = GB_TEST_UNUSED\n"
	         "base_dn = DC=contoso,DC=com\n"
	         "[migration]\ntenant_domain = contoso.example\n%s",
	         migration_extra ? migration_extra : "");
	cr_assert_eq(gb_config_parse("t.ini", text, &cfg, &err), 0, "%s", err.msg);
	st = gb_testfs_store(tmp);
	memset(&ctx, 0, sizeof(ctx));
	ctx.cfg = cfg;
	ctx.st = st;
	ctx.run_id = "";
	ctx.out = open_memstream(&outbuf, &outlen);
	cr_assert(ctx.out);
}

static void setup(void)
{
	gb_testfs_mkdtemp(tmp, sizeof(tmp), "ops");
	cfg = NULL;
	st = NULL;
	outbuf = NULL;
	memset(&ctx, 0, sizeof(ctx));
}

static void teardown(void)
{
	if (ctx.out)
		fclose(ctx.out);
	free(outbuf);
	gb_migrate_ctx_close(&ctx);
	gb_store_free(st);
	gb_config_free(cfg);
	gb_testfs_rmtree(tmp);
}

static const char *output(void)
{
	fflush(ctx.out);
	return outbuf ? outbuf : "";
}

/* Imports export (as `groupbridge import connect-sync` does) and makes it the current import. */
static void import(const char *export)
{
	gb_cs_export *exp = NULL;
	gb_error err;

	cr_assert_eq(gb_cs_import_dir(export, &exp, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_cs_save(st, exp, NULL, &err), 0, "%s", err.msg);
	gb_cs_export_free(exp);
}

/* The current import's model as JSON; json_decref. */
static json_t *current(void)
{
	char *json = NULL;
	gb_error err;
	json_t *root;

	cr_assert_eq(gb_cs_load_current(st, &json, NULL, &err), 0, "%s", err.msg);
	root = json_loads(json, 0, NULL);
	free(json);
	cr_assert(root);
	return root;
}

/* A value assigned in the generated coexistence script: the text between "$NAME = '" and "'". */
static void script_value(const char *name, char *out, size_t n)
{
	char *text = gb_testfs_slurp(in_tmp("connect-sync-coexistence.ps1"), NULL), pat[128], *p, *q;

	snprintf(pat, sizeof(pat), "$%s", name);
	p = strstr(text, pat);
	cr_assert(p, "the script has no %s", name);
	p = strchr(p, '\'');
	q = p ? strchr(p + 1, '\'') : NULL;
	cr_assert(p && q);
	snprintf(out, n, "%.*s", (int)(q - p - 1), p + 1);
	free(text);
}

/* ---- Connect Sync versions (D6, D15) ----------------------------------------------------------------------- */

static int vcmp(const char *a, const char *b)
{
	gb_error err;
	int c = 99;

	cr_assert_eq(gb_step_version_compare(a, b, &c, &err), 0, "%s", err.msg);
	return c;
}

Test(prereq, versions_compare_part_by_part_as_numbers)
{
	cr_assert_eq(vcmp("2.2.8.0", "2.2.8.0"), 0);
	cr_assert_lt(vcmp("1.1.130.0", "2.2.8.0"), 0);
	cr_assert_gt(vcmp("2.5.76.0", "2.2.8.0"), 0);
	cr_assert_gt(vcmp("2.10.0.0", "2.9.99.99"), 0, "10 is more than 9, not less as text would say");
	cr_assert_gt(vcmp("2.2.10.0", "2.2.8.0"), 0);
	cr_assert_lt(vcmp("2.2.8.0", "2.2.8.1"), 0, "the fourth part counts");
	cr_assert_gt(vcmp("2.5.76.1", "2.5.76.0"), 0);
	cr_assert_eq(vcmp("2.2.8", "2.2.8.0"), 0, "missing parts are 0");
	cr_assert_lt(vcmp("2", "2.0.0.1"), 0);
	cr_assert_eq(vcmp("02.002.8.0", "2.2.8.0"), 0);
	cr_assert_lt(vcmp("2.4.131.0", "2.5.76.0"), 0);
}

Test(prereq, malformed_versions_are_refused)
{
	const char *bad[] = {"",         "2..8.0",     ".2.8.0",  "2.2.8.",        "v2.2.8.0", "2.2.8.0.1", " 2.2.8.0",
	                     "2.2.8.0 ", "2.2.8-beta", "2,2,8,0", "99999999999.0", "2.-1.0.0", NULL};
	gb_error err;
	int c, i;

	for (i = 0; bad[i]; i++)
		cr_assert_eq(gb_step_version_compare(bad[i], "2.2.8.0", &c, &err), GB_EINVAL, "\"%s\" accepted",
		             bad[i]);
	cr_assert_eq(gb_step_version_compare("2.2.8.0", NULL, &c, &err), GB_EINVAL);
}

Test(prereq, inventory_needs_2_2_8_0, .init = setup, .fini = teardown)
{
	gb_error err;
	const char *old = make_export("old"), *ok = make_export("ok");

	open_ctx(NULL);
	import(old); /* the sample: Connect Sync 1.1.130.0 */
	cr_assert_eq(gb_step_prereq_check(&ctx, "inventory", &err), GB_ECONFIG);
	cr_assert(strstr(err.msg, "1.1.130.0") && strstr(err.msg, "2.2.8.0") &&
	              strstr(err.msg, "onPremisesObjectIdentifier"),
	          "%s", err.msg);
	cr_assert_eq(gb_step_prereq_check(&ctx, "stamp-anchors", &err), 0, "other steps need nothing of it");
	cr_assert_eq(gb_step_prereq_check(&ctx, "convert-soa", &err), 0, "no group to convert: no version needed");
	set_version(ok, "2.2.8.0");
	import(ok);
	cr_assert_eq(gb_step_prereq_check(&ctx, "inventory", &err), 0, "%s", err.msg);
}

Test(prereq, convert_soa_needs_2_5_76_0_when_groups_are_listed, .init = setup, .fini = teardown)
{
	gb_error err;
	const char *mid = make_export("mid"), *new = make_export("new");

	open_ctx("convert_groups = 00000000-0000-4000-8000-000000000090\n");
	set_version(mid, "2.4.131.0");
	import(mid);
	cr_assert_eq(gb_step_prereq_check(&ctx, "inventory", &err), 0, "%s", err.msg);
	cr_assert_eq(gb_step_prereq_check(&ctx, "convert-soa", &err), GB_ECONFIG);
	cr_assert(strstr(err.msg, "2.4.131.0") && strstr(err.msg, "2.5.76.0"), "%s", err.msg);
	set_version(new, "2.5.76.0");
	import(new);
	cr_assert_eq(gb_step_prereq_check(&ctx, "convert-soa", &err), 0, "%s", err.msg);
}

Test(prereq, an_export_without_a_version_is_said_not_refused, .init = setup, .fini = teardown)
{
	gb_error err;
	const char *x = make_export("x");

	open_ctx(NULL);
	export_edit(x, MV, "Microsoft.Synchronize.ServerConfigurationVersion", "Microsoft.Synchronize.SomethingElse");
	import(x);
	cr_assert_eq(gb_step_prereq_check(&ctx, "inventory", &err), 0, "%s", err.msg);
	cr_assert(strstr(output(), "does not state a version") && strstr(output(), "2.2.8.0"), "%s", output());
}

Test(prereq, nothing_imported_is_a_configuration_error, .init = setup, .fini = teardown)
{
	gb_error err;

	open_ctx(NULL);
	cr_assert_eq(gb_step_prereq_check(&ctx, "inventory", &err), GB_ECONFIG);
	cr_assert(strstr(err.msg, "import"), "%s", err.msg);
}

/* ---- precedences of the coexistence rules (D17) ------------------------------------------------------------ */

static void precedences_for(const char *export, long *in, long *out)
{
	gb_error err;
	char v[16];

	import(export);
	cr_assert_eq(gb_step_coexist_collect(&ctx, &err), 0, "%s", err.msg);
	script_value("InboundPrecedenceText", v, sizeof(v));
	*in = strtol(v, NULL, 10);
	script_value("OutboundPrecedenceText", v, sizeof(v));
	*out = strtol(v, NULL, 10);
}

Test(coexist, microsofts_88_and_89_when_free, .init = setup, .fini = teardown)
{
	long in, out;

	open_ctx(NULL);
	precedences_for(make_export("plain"), &in, &out);
	cr_assert_eq(in, 88);
	cr_assert_eq(out, 89);
}

Test(coexist, an_outbound_rule_at_88_without_the_inbound_one_gets_another_value, .init = setup, .fini = teardown)
{
	const char *x = make_export("out88");
	long in, out;

	open_ctx(NULL);
	put_file(x, COEX_OUT_FILE, "coex-outbound.xml");
	export_edit(x, COEX_OUT_FILE, "<precedence>89</precedence>", "<precedence>88</precedence>");
	precedences_for(x, &in, &out);
	cr_assert_eq(out, 88, "the existing outbound rule keeps its precedence");
	cr_assert_neq(in, 88, "the inbound rule must not be given the outbound rule's 88 (the script would refuse)");
	cr_assert(in >= 0 && in < 100);
}

Test(coexist, a_coexistence_rule_at_100_or_more_is_given_a_free_value, .init = setup, .fini = teardown)
{
	const char *x = make_export("in120");
	long in, out;
	char *script;

	open_ctx(NULL);
	put_file(x, COEX_IN_FILE, "coex-inbound.xml");
	export_edit(x, COEX_IN_FILE, "<precedence>88</precedence>", "<precedence>120</precedence>");
	precedences_for(x, &in, &out);
	cr_assert(in >= 0 && in < 100,
	          "the script's 0-99 check must pass, so that it reaches its message about the rule "
	          "(got %ld)",
	          in);
	cr_assert_neq(in, out);
	script = gb_testfs_slurp(in_tmp("connect-sync-coexistence.ps1"), NULL);
	cr_assert(strstr(script, "A coexistence rule has precedence 100 or more"), "the script says what to do");
	free(script);
}

Test(coexist, both_rules_present_keep_their_precedences, .init = setup, .fini = teardown)
{
	const char *x = make_export("both");
	long in, out;

	open_ctx(NULL);
	coexistence(x, 42, 43);
	precedences_for(x, &in, &out);
	cr_assert_eq(in, 42);
	cr_assert_eq(out, 43);
}

/* ---- the writeback forest's AD connector (D3) --------------------------------------------------------------- */

Test(connector, two_forests_the_writeback_forest_wins, .init = setup, .fini = teardown)
{
	const char *x = make_export("two");
	char *name = NULL, v[64];
	gb_error err;

	open_ctx(NULL);
	second_forest(x, "contoso.com");
	import(x);
	cr_assert_eq(gb_step_writeback_connector(&ctx, &name, &err), 0, "%s", err.msg);
	cr_assert_str_eq(name, "contoso.com", "not the first AD connector (adatum.com)");
	free(name);
	cr_assert_eq(gb_step_coexist_collect(&ctx, &err), 0, "%s", err.msg);
	script_value("AdConnectorName", v, sizeof(v));
	cr_assert_str_eq(v, "contoso.com");
}

Test(connector, two_forests_without_a_forest_name_the_writeback_ou_decides, .init = setup, .fini = teardown)
{
	const char *x = make_export("two-ou");
	char *name = NULL;
	gb_error err;

	open_ctx("writeback_ou = OU=Groups,DC=contoso,DC=com\n");
	second_forest(x, NULL);
	import(x);
	cr_assert_eq(gb_step_writeback_connector(&ctx, &name, &err), 0, "%s", err.msg);
	cr_assert_str_eq(name, "contoso.com");
	free(name);
}

Test(connector, two_forests_and_no_clue_is_an_error_naming_them, .init = setup, .fini = teardown)
{
	const char *x = make_export("two-none");
	char *name = NULL;
	gb_error err;

	open_ctx(NULL);
	second_forest(x, NULL);
	import(x);
	cr_assert_eq(gb_step_writeback_connector(&ctx, &name, &err), GB_ECONFIG);
	cr_assert_null(name);
	cr_assert(strstr(err.msg, "\"adatum.com\"") && strstr(err.msg, "\"contoso.com\""), "%s", err.msg);
}

/* ---- the export confirmed in step 4 is the one step 5 judges (paper cut; D18) ------------------------------- */

/* Marks steps as a real run would leave them, for the gate of step 5 (which reads only the import). */
static void waiting(const char *step)
{
	char sql[256];
	gb_error err;

	snprintf(sql, sizeof(sql), "INSERT INTO migration_steps(name, state) VALUES ('%s', 'waiting')", step);
	cr_assert_eq(gb_store_exec(st, sql, &err), 0, "%s", err.msg);
}

Test(gate, the_confirmed_export_becomes_the_current_import, .init = setup, .fini = teardown)
{
	const char *before = make_export("before"), *after = make_export("after");
	gb_error err;
	json_t *root;

	open_ctx("writeback_ou = OU=Groups,DC=contoso,DC=com\n");
	put_file(before, DELETE_FILE, "delete-rule.xml");
	import(before);
	coexistence(after, -1, -1);
	cr_assert_eq(gb_step_coexist_confirm(&ctx, after, &err), 0, "%s", err.msg);
	cr_assert(strstr(output(), "recorded as import"), "%s", output());
	root = current();
	cr_assert_str_eq(json_string_value(json_object_get(root, "dir")), after);
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(root, "writeback"), "ou_override")),
	                 "OU=Groups,DC=contoso,DC=com", "read with the configuration's writeback OU, as an import is");
	json_decref(root);
	/* step 5 judges it: the delete rule of the older import no longer stops it; the flag does */
	cr_assert_eq(gb_step_disable_collect(&ctx, &err), GB_EGATE);
	cr_assert(strstr(err.msg, "--i-understand-this-is-irreversible"), "%s", err.msg);
}

Test(gate, an_attested_step_4_does_not_pass_for_a_verified_one, .init = setup, .fini = teardown)
{
	const char *plain = make_export("plain"), *fresh = make_export("fresh");
	gb_error err;

	open_ctx(NULL);
	ctx.irreversible_ok = true;
	import(plain);
	waiting("connect-sync-coexistence");
	cr_assert_eq(gb_migrate_confirm(&ctx, "connect-sync-coexistence", NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_step_disable_collect(&ctx, &err), GB_EGATE);
	cr_assert(strstr(err.msg, "does not show step 4 in place") && strstr(err.msg, "no enabled inbound") &&
	              strstr(err.msg, "staging mode is not on"),
	          "%s", err.msg);
	/* the fresh export, imported, shows it: the gate opens (the next thing needed is the directory) */
	coexistence(fresh, -1, -1);
	import(fresh);
	cr_assert_neq(gb_step_disable_collect(&ctx, &err), GB_EGATE, "%s", err.msg);
	cr_assert_null(strstr(err.msg, "step 4"), "%s", err.msg);
}

Test(gate, a_disabled_delete_rule_is_refused_as_the_script_refuses_it, .init = setup, .fini = teardown)
{
	const char *x = make_export("disabled-delete");
	gb_error err;

	open_ctx(NULL);
	ctx.irreversible_ok = true;
	coexistence(x, -1, -1);
	put_file(x, DELETE_FILE, "delete-rule.xml");
	export_edit(x, DELETE_FILE, "<disabled>False</disabled>", "<disabled>True</disabled>");
	import(x);
	cr_assert_eq(gb_step_disable_collect(&ctx, &err), GB_EGATE);
	cr_assert(strstr(err.msg, "deletes AD groups that leave writeback scope"), "%s", err.msg);
}

/* ---- the templates: -WhatIf and the checker (review section 2) ---------------------------------------------- */

static int run_checker(const char *path)
{
	char cmd[1200];
	int rc;

	snprintf(cmd, sizeof(cmd), "python3 -B " CHECKER " '%s' >'%s.check' 2>&1", path, path);
	rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static char *filled(const char *name)
{
	const char *pairs[] = {"AD_CONNECTOR_NAME",
	                       "contoso.com",
	                       "INBOUND_PRECEDENCE",
	                       "88",
	                       "OUTBOUND_PRECEDENCE",
	                       "89",
	                       "EXPORT_DIR",
	                       "C:\\groupbridge\\export",
	                       "GENERATED_AT",
	                       "2026-12-01T00:00:00Z",
	                       "GROUPBRIDGE_VERSION",
	                       "test",
	                       "TENANT_DOMAIN",
	                       "contoso.example",
	                       NULL};
	char *text = NULL;
	gb_error err;

	cr_assert_eq(gb_step_fill_template(name, pairs, &text, &err), 0, "%s", err.msg);
	return text;
}

/* Writes text (with old replaced by new, when old is given) as FILE in the temporary directory. */
static const char *variant(const char *file, const char *text, const char *old, const char *new)
{
	const char *path = in_tmp(file);
	gb_buf b;

	gb_buf_init(&b, GB_BUF_DEFAULT_MAX);
	if (old) {
		const char *p = strstr(text, old);
		cr_assert(p, "%s not found", old);
		gb_buf_append(&b, text, (size_t)(p - text), NULL);
		gb_buf_puts(&b, new, NULL);
		gb_buf_puts(&b, p + strlen(old), NULL);
	} else {
		gb_buf_puts(&b, text, NULL);
	}
	gb_testfs_spit(path, b.data, b.len);
	gb_buf_free(&b);
	return path;
}

/* name's filled script passes the checker; with guard (the opening of one if ($WhatIf) branch that guards a
 * change) made into if ($false), with the switch gone, or with the printing of one branch (say) made silent, it
 * fails. */
static void template_is_guarded(const char *name, const char *guard, const char *say)
{
	char *text = filled(name), file[128];
	const char *p;

	snprintf(file, sizeof(file), "%s.ps1", name);
	cr_assert(strstr(text, "param([switch]$WhatIf)"), "%s has no -WhatIf switch", name);
	p = variant(file, text, NULL, NULL);
	cr_assert_eq(run_checker(p), 0, "%s fails the checker (see %s.check)", name, p);
	snprintf(file, sizeof(file), "%s-unguarded.ps1", name);
	cr_assert_eq(run_checker(variant(file, text, guard, "if ($false) {")), 1, "%s: an unguarded change passed",
	             name);
	snprintf(file, sizeof(file), "%s-noswitch.ps1", name);
	cr_assert_eq(run_checker(variant(file, text, "param([switch]$WhatIf)", "$WhatIf = $false")), 1,
	             "%s: a script without the switch passed", name);
	snprintf(file, sizeof(file), "%s-silent.ps1", name);
	cr_assert_eq(run_checker(variant(file, text, say, "Write-Host (")), 1, "%s: a silent WhatIf branch passed",
	             name);
	free(text);
}

Test(templates, coexistence_script_guards_every_change_behind_whatif, .init = setup, .fini = teardown)
{
	template_is_guarded("connect-sync-coexistence", "if ($WhatIf) {\n    if ($plan['inbound']) {",
	                    "Write-WhatIf ('move an earlier export");
}

Test(templates, disable_script_guards_every_change_behind_whatif, .init = setup, .fini = teardown)
{
	template_is_guarded("disable-writeback", "if ($WhatIf) {\n        Write-WhatIf ('disable group writeback v2",
	                    "Write-WhatIf ('write the exports pending");
}

Test(templates, the_checker_refuses_an_adsync_change_anywhere_outside_a_guard, .init = setup, .fini = teardown)
{
	char *text = filled("disable-writeback");

	/* a read cmdlet is fine anywhere; a new state-changing ADSync call added at the end is not */
	cr_assert_eq(run_checker(variant("read.ps1", text, "exit 0\n", "Get-ADSyncScheduler | Out-Null\nexit 0\n")), 0);
	cr_assert_eq(run_checker(variant("stop.ps1", text, "exit 0\n", "Stop-ADSyncSyncCycle | Out-Null\nexit 0\n")),
	             1);
	cr_assert_eq(run_checker(variant("rule.ps1", text, "exit 0\n", "Remove-ADSyncRule -Identifier 'x'\nexit 0\n")),
	             1);
	cr_assert_eq(run_checker(variant(
	                 "inwhatif.ps1", text, "Write-WhatIf 'turn the scheduler back on",
	                 "Set-ADSyncScheduler -SyncCycleEnabled $true; Write-WhatIf 'turn the scheduler back on")),
	             1, "a change inside the if ($WhatIf) branch would be made by a -WhatIf run");
	free(text);
}
