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
	/* review D5: then the hand-over plan must have been shown, for the configured target */
	cr_assert_eq(gb_step_disable_collect(&ctx, &err), GB_EGATE);
	cr_assert(strstr(err.msg, "migrate plan handoff"), "%s", err.msg);
	cr_assert_eq(gb_store_kv_set(ctx.st, "migration.handoff.preview", "cloudsync 2026-12-06: plan shown", &err), 0);
	cr_assert_eq(gb_step_disable_collect(&ctx, &err), GB_EGATE, "a plan shown for another target does not count");
	cr_assert_eq(gb_store_kv_set(ctx.st, "migration.handoff.preview", "groupbridge 2026-12-06: plan shown", &err), 0);
	cr_assert_neq(gb_step_disable_collect(&ctx, &err), GB_EGATE, "%s", err.msg);
	cr_assert_null(strstr(err.msg, "step 4"), "%s", err.msg);
	cr_assert_eq(gb_step_disable_confirm(&ctx, NULL, &err) == GB_EGATE && strstr(err.msg, "plan handoff"), 0,
		     "the confirmation passes the D5 gate too: %s", err.msg);
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

/* ---- rollbacks (review D2): each from each state it is allowed in, and the refusal with its reason ------------ */

static void set_step(const char *step, const char *state)
{
	char sql[256];
	gb_error err;

	snprintf(sql, sizeof(sql),
	         "INSERT INTO migration_steps(name, state) VALUES ('%s', '%s') ON CONFLICT(name) DO UPDATE SET state = "
	         "excluded.state",
	         step, state);
	cr_assert_eq(gb_store_exec(st, sql, &err), 0, "%s", err.msg);
}

static char *step_state(const char *step)
{
	static char buf[4][64];
	static int k;
	sqlite3_stmt *s;
	gb_error err;

	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "pending");
	cr_assert_eq(gb_store_prepare(st, "SELECT state FROM migration_steps WHERE name = ?1", &s, &err), 0);
	sqlite3_bind_text(s, 1, step, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		snprintf(buf[k], sizeof(buf[k]), "%s", (const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	return buf[k];
}

static long long count_of(const char *sql)
{
	sqlite3_stmt *s;
	gb_error err;
	long long n = -1;

	cr_assert_eq(gb_store_prepare(st, sql, &s, &err), 0, "%s", err.msg);
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return n;
}

/* The states of every step up to and including the last one given (NULL-terminated name, state pairs). */
static void states(const char *const *pairs)
{
	size_t i;

	for (i = 0; pairs[i]; i += 2)
		set_step(pairs[i], pairs[i + 1]);
}

/* Rolling back step is refused with code (label, when not NULL, says in which case) and a message that holds why
 * and, unless it is NULL, also. */
static void expect_refused(const char *step, int code, const char *why, const char *also, const char *label)
{
	gb_error err;

	cr_assert_eq(gb_migrate_rollback(&ctx, step, &err), code, "%s", label ? label : step);
	cr_assert(strstr(err.msg, why) && (!also || strstr(err.msg, also)), "%s", err.msg);
}

/* With step blocker in each of the three states, rolling back a is refused (why_a, also_a), then b (why_b). */
static void refused_while(const char *blocker, const char *const states3[3], const char *a, const char *why_a,
			  const char *also_a, const char *b, const char *why_b)
{
	size_t i;

	for (i = 0; i < 3; i++) {
		set_step(blocker, states3[i]);
		expect_refused(a, GB_EINVAL, why_a, also_a, states3[i]);
		expect_refused(b, GB_EINVAL, why_b, NULL, states3[i]);
	}
}

/* A context over a state database whose steps are in the states pairs gives. */
static void open_at(const char *const *pairs)
{
	open_ctx(NULL);
	states(pairs);
}

/* The states of a step that has run and can be rolled back. */
static const char *const ran_states[] = {"waiting", "done", "failed"};

static const char *const before_step5[] = {"import", "done", "inventory", "done", "stamp-anchors", "done", NULL};

Test(rollback, coexistence_gets_a_script_from_waiting_done_and_failed, .init = setup, .fini = teardown)
{
	size_t i;
	gb_error err;

	open_at(before_step5);
	for (i = 0; i < 3; i++) {
		set_step("connect-sync-coexistence", ran_states[i]);
		unlink(in_tmp("connect-sync-coexistence-rollback.ps1"));
		cr_assert_eq(gb_migrate_rollback(&ctx, "connect-sync-coexistence", &err), 0, "from %s: %s", ran_states[i],
		             err.msg);
		cr_assert_str_eq(step_state("connect-sync-coexistence"), "rolling-back", "from %s", ran_states[i]);
		cr_assert_eq(access(in_tmp("connect-sync-coexistence-rollback.ps1"), R_OK), 0, "from %s", ran_states[i]);
	}
	cr_assert(strstr(output(), "migrate confirm connect-sync-coexistence --export DIR"), "%s", output());
	/* rolling back again writes the script again; the run waits for the confirmation */
	cr_assert_eq(gb_migrate_rollback(&ctx, "connect-sync-coexistence", &err), 0, "%s", err.msg);
	cr_assert_eq(gb_migrate_run(&ctx, NULL, true, &err), GB_EGATE);
	cr_assert(strstr(err.msg, "is being rolled back"), "%s", err.msg);
}

Test(rollback, the_coexistence_rollback_script_removes_both_rules_behind_whatif, .init = setup, .fini = teardown)
{
	char *text;
	const char *p, *q;
	gb_error err;

	open_at(before_step5);
	set_step("connect-sync-coexistence", "done");
	cr_assert_eq(gb_migrate_rollback(&ctx, "connect-sync-coexistence", &err), 0, "%s", err.msg);
	p = in_tmp("connect-sync-coexistence-rollback.ps1");
	text = gb_testfs_slurp(p, NULL);
	for (q = strstr(text, "@@"); q; q = strstr(q + 2, "@@"))
		cr_assert(!(q[2] >= 'A' && q[2] <= 'Z'), "a placeholder is left: %.30s", q);
	cr_assert(strstr(text, "param([switch]$WhatIf)"));
	cr_assert(strstr(text, "e4eae1c9-b9bc-4328-ade9-df871cdd3027") && strstr(text, "419fda18-75bb-4e23-b947-8b06e7246551"));
	cr_assert(strstr(text, "Remove-ADSyncRule -SynchronizationRule"));
	cr_assert(strstr(text, "GroupWritebackV2"), "it refuses once writeback v2 is off");
	cr_assert_eq(run_checker(p), 0, "the generated script fails the checker (see %s.check)", p);
	cr_assert_eq(run_checker(variant("unguarded-removal.ps1", text,
	                                 "Remove-ADSyncRule -SynchronizationRule $found[0] | Out-Null",
	                                 "}\n    Remove-ADSyncRule -SynchronizationRule $found[0] | Out-Null\n    if ($false) {")),
	             1, "a removal outside the guard passed the checker");
	free(text);
}

Test(rollback, the_coexistence_rollback_is_confirmed_from_an_export_without_the_rules, .init = setup,
     .fini = teardown)
{
	const char *with = make_export("with-rules"), *without = make_export("without-rules");
	gb_error err;
	json_t *root;

	open_at(before_step5);
	set_step("connect-sync-coexistence", "done");
	cr_assert_eq(gb_migrate_rollback(&ctx, "connect-sync-coexistence", &err), 0, "%s", err.msg);
	coexistence(with, -1, -1);
	put_file(with, COEX_OUT_FILE, "coex-outbound.xml");
	cr_assert_eq(gb_migrate_confirm(&ctx, "connect-sync-coexistence", with, &err), GB_ECONFLICT);
	cr_assert(strstr(err.msg, "still holds the inbound e4eae1c9") && strstr(err.msg, "outbound 419fda18") &&
	              strstr(err.msg, "stays rolling-back"),
	          "%s", err.msg);
	cr_assert_str_eq(step_state("connect-sync-coexistence"), "rolling-back");
	cr_assert_eq(gb_migrate_confirm(&ctx, "connect-sync-coexistence", without, &err), 0, "%s", err.msg);
	cr_assert_str_eq(step_state("connect-sync-coexistence"), "rolled-back");
	root = current();
	cr_assert_str_eq(json_string_value(json_object_get(root, "dir")), without, "the export becomes the current import");
	json_decref(root);
	cr_assert_eq(count_of("SELECT count(*) FROM audit_log WHERE step = 'connect-sync-coexistence' AND operation = "
	                      "'step.state' AND after = '{\"state\":\"rolled-back\"}' AND message LIKE '%neither "
	                      "coexistence rule is left%'"),
	             1);
}

Test(rollback, an_attested_coexistence_rollback_says_so, .init = setup, .fini = teardown)
{
	gb_error err;

	open_at(before_step5);
	set_step("connect-sync-coexistence", "waiting");
	cr_assert_eq(gb_migrate_rollback(&ctx, "connect-sync-coexistence", &err), 0, "%s", err.msg);
	cr_assert_eq(gb_migrate_confirm(&ctx, "connect-sync-coexistence", NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(count_of("SELECT count(*) FROM migration_steps WHERE name = 'connect-sync-coexistence' AND "
	                      "state = 'rolled-back' AND detail LIKE '%ATTESTED%'"),
	             1);
}

Test(rollback, coexistence_and_stamps_are_refused_once_step_5_has_started, .init = setup, .fini = teardown)
{
	static const char *const blocking[] = {"running", "waiting", "done"};
	gb_error err;

	open_at(before_step5);
	set_step("connect-sync-coexistence", "done");
	refused_while("disable-writeback", blocking, "connect-sync-coexistence", "step disable-writeback is",
		      "cannot be undone", "stamp-anchors", "step stamp-anchors cannot be rolled back: step disable-writeback");
	cr_assert_str_eq(step_state("connect-sync-coexistence"), "done", "nothing changed");
	cr_assert_str_eq(step_state("stamp-anchors"), "done", "nothing changed");
	/* a failed step 5 wrote no script: the way back is open */
	set_step("disable-writeback", "failed");
	cr_assert_eq(gb_migrate_rollback(&ctx, "connect-sync-coexistence", &err), 0, "%s", err.msg);
}

Test(rollback, stamps_roll_back_while_the_coexistence_step_has_run, .init = setup, .fini = teardown)
{
	static const char *const coex[] = {"waiting", "done", "rolling-back", "failed"};
	size_t i;
	gb_error err;

	open_ctx("writeback_ou = OU=Groups,DC=contoso,DC=com\n");
	for (i = 0; i < 4; i++) {
		states(before_step5);
		set_step("connect-sync-coexistence", coex[i]);
		/* nothing stamped in this database: the rollback plan is empty, so no directory is needed */
		cr_assert_eq(gb_migrate_rollback(&ctx, "stamp-anchors", &err), 0, "with step 4 %s: %s", coex[i], err.msg);
		cr_assert_str_eq(step_state("stamp-anchors"), "rolled-back");
		cr_assert_str_eq(step_state("connect-sync-coexistence"), coex[i], "step 4 is left as it is");
	}
}

static void matched_groups(void)
{
	gb_error err;

	cr_assert_eq(gb_store_exec(st,
	                           "INSERT INTO migration_groups(object_id, class, matched_dn, match_result) VALUES "
	                           "('00000000-0000-4000-8000-000000000001', 'ready', 'CN=a', 'matched'), "
	                           "('00000000-0000-4000-8000-000000000002', 'ready', NULL, 'blocked: no anchor')",
	                           &err),
	             0, "%s", err.msg);
}

static const char *const through_convert[] = {
    "import", "done", "inventory", "done", "stamp-anchors", "done", "connect-sync-coexistence", "done",
    "disable-writeback", "done", "convert-soa", "done", NULL};

Test(rollback, match_forgets_the_matches_audited, .init = setup, .fini = teardown)
{
	size_t i;
	gb_error err;

	open_at(through_convert);
	for (i = 0; i < 3; i++) {
		matched_groups();
		set_step("match", ran_states[i]);
		cr_assert_eq(gb_migrate_rollback(&ctx, "match", &err), 0, "from %s: %s", ran_states[i], err.msg);
		cr_assert_str_eq(step_state("match"), "rolled-back");
		cr_assert_eq(count_of("SELECT count(*) FROM migration_groups WHERE matched_dn IS NOT NULL OR match_result "
		                      "IS NOT NULL"),
		             0, "from %s", ran_states[i]);
		cr_assert_eq(gb_store_exec(st, "DELETE FROM migration_groups", &err), 0);
	}
	cr_assert_eq(count_of("SELECT count(*) FROM audit_log WHERE step = 'match' AND operation = 'step.state' AND "
	                      "message LIKE '%the matches of 2 groups forgotten%'"),
	             3);
}

Test(rollback, stamps_and_conversions_roll_back_from_done_and_failed, .init = setup, .fini = teardown)
{
	static const char *const from[] = {"done", "failed"};
	size_t i;
	gb_error err;

	open_ctx("writeback_ou = OU=Groups,DC=contoso,DC=com\n");
	for (i = 0; i < 2; i++) {
		states(through_convert);
		set_step("match", "pending");
		set_step("convert-soa", from[i]);
		cr_assert_eq(gb_migrate_rollback(&ctx, "convert-soa", &err), 0, "from %s: %s", from[i], err.msg);
		cr_assert_str_eq(step_state("convert-soa"), "rolled-back");
		states(before_step5);
		set_step("stamp-anchors", from[i]);
		set_step("connect-sync-coexistence", "pending");
		set_step("disable-writeback", "pending");
		set_step("convert-soa", "pending");
		cr_assert_eq(gb_migrate_rollback(&ctx, "stamp-anchors", &err), 0, "from %s: %s", from[i], err.msg);
		cr_assert_str_eq(step_state("stamp-anchors"), "rolled-back");
	}
	/* from pending or rolled-back there is nothing to roll back */
	expect_refused("stamp-anchors", GB_EINVAL, "is rolled-back: there is nothing to roll back", NULL, NULL);
	expect_refused("match", GB_EINVAL, "is pending", NULL, NULL);
}

Test(rollback, convert_soa_rolls_back_after_match_which_is_forgotten, .init = setup, .fini = teardown)
{
	gb_error err;

	open_at(through_convert);
	matched_groups();
	set_step("match", "done");
	/* no converted group in this database: an empty rollback plan, no Graph needed */
	cr_assert_eq(gb_migrate_rollback(&ctx, "convert-soa", &err), 0, "%s", err.msg);
	cr_assert_str_eq(step_state("convert-soa"), "rolled-back");
	cr_assert_str_eq(step_state("match"), "rolled-back", "the match is forgotten with it");
	cr_assert_eq(count_of("SELECT count(*) FROM migration_groups WHERE matched_dn IS NOT NULL"), 0);
	cr_assert(strstr(output(), "step match forgotten with it"), "%s", output());
}

Test(rollback, nothing_before_a_handoff_that_has_run_rolls_back, .init = setup, .fini = teardown)
{
	gb_error err;

	open_at(through_convert);
	set_step("match", "done");
	refused_while("handoff", ran_states, "match", "roll back handoff first", NULL, "convert-soa",
		      "roll back handoff first");
	set_step("handoff", "rolled-back");
	set_step("verify", "done");
	cr_assert_eq(gb_migrate_rollback(&ctx, "match", &err), 0, "%s", err.msg);
	cr_assert_str_eq(step_state("verify"), "rolled-back", "verify's record is forgotten too");
}

Test(rollback, read_only_steps_and_step_5_say_why_they_cannot, .init = setup, .fini = teardown)
{
	open_at(through_convert);
	set_step("convert-soa", "pending");
	expect_refused("disable-writeback", GB_EUNSUPPORTED, "cannot be undone", NULL, NULL);
	expect_refused("inventory", GB_EUNSUPPORTED, "run it again instead", NULL, NULL);
}

/* ---- D8: scope = all would create the groups left out again ------------------------------------------------------ */

Test(leftout, scope_all_is_refused_while_groups_are_left_out, .init = setup, .fini = teardown)
{
	gb_error err;

	open_ctx(NULL);
	cr_assert_eq(gb_store_exec(st,
	                           "INSERT INTO migration_groups(object_id, class, reason, match_result) VALUES "
	                           "('00000000-0000-4000-8000-000000000001', 'ready', 'ready', 'matched'), "
	                           "('00000000-0000-4000-8000-000000000033', 'orphan', 'gone', NULL), "
	                           "('00000000-0000-4000-8000-000000000032', 'protected', 'adminCount = 1', NULL), "
	                           "('00000000-0000-4000-8000-000000000005', 'ready', 'ready', 'blocked: no anchor')",
	                           &err),
	             0, "%s", err.msg);
	cr_assert_eq(gb_step_left_out_check(&ctx, &err), 0, "scope = selected (the default) creates nothing unasked");
	gb_config_free(cfg);
	cfg = NULL;
	gb_store_free(st);
	st = NULL;
	fclose(ctx.out);
	free(outbuf); /* the closed stream's buffer: open_ctx opens a new one over outbuf */
	outbuf = NULL;
	open_ctx("[provisioning]\nscope = all\ntarget_container = OU=G,DC=contoso,DC=com\n");
	cr_assert_eq(gb_step_left_out_check(&ctx, &err), GB_ECONFIG);
	cr_assert(strstr(err.msg, "scope = all would create 2 groups") && strstr(err.msg, "000000000032 (protected") &&
	              strstr(err.msg, "000000000005 (ready: blocked: no anchor)") && !strstr(err.msg, "000000000033"),
	          "%s", err.msg);
	/* groupbridge provision asks the same */
	cr_assert_eq(gb_migrate_scope_check(cfg, st, "provision", &err), GB_ECONFIG);
	cr_assert(strstr(err.msg, "provision: [provisioning] scope = all would create 2 groups"), "%s", err.msg);
	cr_assert_eq(gb_store_exec(st, "DELETE FROM migration_groups WHERE class = 'protected' OR match_result LIKE 'b%'",
	                           &err),
	             0);
	cr_assert_eq(gb_step_left_out_check(&ctx, &err), 0, "%s", err.msg);
}

/* ---- the runner checks Microsoft's prerequisites before each step (D6, D15) -------------------------------- */

Test(prereq, the_runner_checks_the_version_before_the_inventory, .init = setup, .fini = teardown)
{
	char extra[1200];
	const char *old = make_export("runner-old");
	gb_error err;

	snprintf(extra, sizeof(extra), "connect_sync_export = %s\n", old);
	open_ctx(extra);
	cr_assert_eq(gb_migrate_run(&ctx, "inventory", true, &err), GB_ECONFIG, "%s", err.msg);
	cr_assert(strstr(err.msg, "precondition of step inventory") && strstr(err.msg, "1.1.130.0") &&
	              strstr(err.msg, "2.2.8.0"),
	          "%s", err.msg);
	cr_assert_str_eq(step_state("import"), "done");
	cr_assert_str_eq(step_state("inventory"), "failed", "the step failed before it started reading");
}
