/* test_connect_sync.c: the Connect Sync export importer against the real contoso-2016 export and variants of it
 * made in a temporary copy (writeback enabled, coexistence and delete rules, lexical traps, malformed files). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "groupbridge/connect_sync.h"
#include "groupbridge/store.h"
#include "groupbridge/util.h"
#include "support/testfs.h"

#define SAMPLE "tests/data/connect-sync/contoso-2016"
#define FIXTURES "tests/data/connect-sync/fixtures"
#define AD_CONN "Connectors/Connector_{ae4db4cc-b16b-4eb2-acf5-837ca84e4d7d}.xml"
#define AAD_CONN "Connectors/Connector_{b891884f-051e-4a83-95af-2544101c9083}.xml"
#define MV "GlobalSettings/MV.xml"
#define GROUP_JOIN "SynchronizationRules/SynchronizationRule_{794ef0a3-0556-410e-96ff-b2ec8495ef39}.xml"

static char tmp[256];

/* ---- helpers: a writable copy of the sample, edited per test ---------------------------------------------- */

static void setup(void)
{
	gb_testfs_mkdtemp(tmp, sizeof(tmp), "cs");
	gb_testfs_copy_tree(SAMPLE, tmp);
}

static void teardown(void)
{
	gb_testfs_rmtree(tmp);
}

static char *path_in(const char *rel)
{
	static char p[1024];

	snprintf(p, sizeof(p), "%s/%s", tmp, rel);
	return p;
}

/* Replaces every occurrence of old by new in the copy's file rel; fails the test when old is absent. */
static void edit(const char *rel, const char *old, const char *new)
{
	gb_testfs_edit(path_in(rel), old, new);
}

/* Replaces old with new in the synchronization rule added from the fixture rule (add_rule). */
static void edit_rule(const char *rule, const char *old, const char *new)
{
	char rel[256];

	snprintf(rel, sizeof(rel), "SynchronizationRules/SynchronizationRule_%s", rule);
	edit(rel, old, new);
}

static void add_rule(const char *fixture)
{
	char src[512], dst[512];
	size_t n;
	char *data;

	snprintf(src, sizeof(src), FIXTURES "/rules/%s", fixture);
	snprintf(dst, sizeof(dst), "SynchronizationRules/SynchronizationRule_%s", fixture);
	data = gb_testfs_slurp(src, &n);
	gb_testfs_spit(path_in(dst), data, n);
	free(data);
}

/* add_rule, with the rule disabled. */
static void add_disabled_rule(const char *fixture)
{
	add_rule(fixture);
	edit_rule(fixture, "<disabled>False</disabled>", "<disabled>True</disabled>");
}

static void enable_writeback(const char *container)
{
	char v[512];

	edit(MV,
	     "name=\"Microsoft.OptionalFeature.GroupWriteBack\" type=\"string\" use=\"SynchronizationGlobal\" "
	     "dataType=\"String\">False<",
	     "name=\"Microsoft.OptionalFeature.GroupWriteBack\" type=\"string\" use=\"SynchronizationGlobal\" "
	     "dataType=\"String\">True<");
	edit(MV,
	     "<parameter name=\"Microsoft.GroupWriteBack.Forest\" type=\"string\" use=\"SynchronizationGlobal\" "
	     "dataType=\"String\" />",
	     "<parameter name=\"Microsoft.GroupWriteBack.Forest\" type=\"string\" use=\"SynchronizationGlobal\" "
	     "dataType=\"String\">contoso.com</parameter>");
	snprintf(v, sizeof(v),
	         "<parameter name=\"Microsoft.GroupWriteBack.Container\" type=\"string\" use=\"SynchronizationGlobal\" "
	         "dataType=\"String\">%s</parameter>",
	         container);
	edit(MV,
	     "<parameter name=\"Microsoft.GroupWriteBack.Container\" type=\"string\" use=\"SynchronizationGlobal\" "
	     "dataType=\"String\" />",
	     v);
}

static void set_connector_container(const char *container)
{
	char v[512];

	snprintf(
	    v, sizeof(v),
	    "<parameter name=\"Connector.GroupFilteringGroupDn\" type=\"string\" use=\"global\" dataType=\"String\" />"
	    "<parameter name=\"Connector.GroupWriteBackContainerDn\" type=\"string\" use=\"global\" "
	    "dataType=\"String\">%s</parameter>",
	    container);
	edit(AD_CONN,
	     "<parameter name=\"Connector.GroupFilteringGroupDn\" type=\"string\" use=\"global\" "
	     "dataType=\"String\" />",
	     v);
}

static gb_cs_export *import_ok(void)
{
	gb_cs_export *exp = NULL;
	gb_error err = {0};
	int rc = gb_cs_import_dir(tmp, &exp, &err);

	cr_assert_eq(rc, 0, "import failed: %s", err.msg);
	cr_assert_not_null(exp);
	return exp;
}

static int import_fails(gb_error *err)
{
	gb_cs_export *exp = (gb_cs_export *)1;
	int rc = gb_cs_import_dir(tmp, &exp, err);

	cr_assert_neq(rc, 0, "import of a broken export succeeded");
	cr_assert_null(exp, "*out must stay NULL on failure");
	return rc;
}

static bool list_has(const gb_cs_strlist *l, const char *s)
{
	size_t i;

	for (i = 0; i < l->count; i++)
		if (strcmp(l->items[i], s) == 0)
			return true;
	return false;
}

static bool finding(const gb_cs_export *exp, const char *code, gb_cs_severity sev)
{
	const gb_cs_finding *f = gb_cs_find_finding(exp, code);

	return f && f->severity == sev;
}

/* A finding a test expects: its code, its severity, and a text its message contains (NULL: any message). */
typedef struct want_finding {
	const char *code;
	gb_cs_severity sev;
	const char *says;
} want_finding;

/* exp holds each of the n findings want. */
static void has_findings(const gb_cs_export *exp, const want_finding *want, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const gb_cs_finding *f = gb_cs_find_finding(exp, want[i].code);

		cr_assert(f && f->severity == want[i].sev, "finding %s with severity %d", want[i].code, (int)want[i].sev);
		cr_assert(!want[i].says || strstr(f->message, want[i].says), "finding %s: %s", want[i].code, f->message);
	}
}

/* Imports the export (which must succeed) and checks that it finds code with severity sev. */
static void expect_finding(const char *code, gb_cs_severity sev)
{
	gb_cs_export *exp = import_ok();

	cr_assert(finding(exp, code, sev), "%s", code);
	gb_cs_export_free(exp);
}

/* ---- the real sample --------------------------------------------------------------------------------------- */

TestSuite(sample, .init = setup, .fini = teardown);

Test(sample, export_facts)
{
	gb_cs_export *exp = import_ok();

	cr_assert_str_eq(exp->server, "CONTOSO-SYNC01");
	cr_assert_str_eq(exp->export_date, "2016-05-03 14:28:09.784");
	cr_assert_str_eq(exp->version, "1.1.130.0");
	cr_assert_eq(exp->staging_mode, GB_CS_NO);
	cr_assert_str_eq(exp->staging_mode_source, "MV.xml");
	cr_assert_eq(exp->scheduler_suspended, GB_CS_NO);
	cr_assert_eq(exp->delete_threshold_enabled, GB_CS_YES);
	cr_assert_eq(exp->delete_threshold, 500);
	cr_assert_eq(exp->file_count, 65);
	cr_assert_eq(exp->has_persisted_state, false);
	cr_assert_eq(exp->global_params.count, 37);
	gb_cs_export_free(exp);
}

Test(sample, writeback_off_two_connectors_62_rules)
{
	gb_cs_export *exp = import_ok();
	const gb_cs_connector *ad, *aad;

	cr_assert_eq(exp->writeback_enabled, false);
	cr_assert_eq(exp->writeback_flag, GB_CS_NO);
	cr_assert_null(exp->writeback_forest);
	cr_assert_null(exp->writeback_container);
	cr_assert_null(exp->writeback_connector_container);
	cr_assert_eq(exp->connector_count, 2);
	cr_assert_eq(exp->rule_count, 62);
	cr_assert(exp->group_join_filter, "the In from AD - Group Join filter was not found");
	has_findings(exp, (const want_finding[]){{"writeback.disabled", GB_CS_INFO},
	                                         {"coexistence.missing", GB_CS_INFO}, {"staging.off", GB_CS_INFO}}, 3);
	cr_assert_null(gb_cs_find_finding(exp, "delete-rule.present"));
	cr_assert_null(gb_cs_find_finding(exp, "custom-rule"));
	cr_assert_eq(exp->findings[0].severity >= exp->findings[exp->finding_count - 1].severity, true);

	/* GUIDs: upper case with braces inside the connector file, lower case in the rules and file names */
	ad = gb_cs_find_connector(exp, "{AE4DB4CC-B16B-4EB2-ACF5-837CA84E4D7D}");
	cr_assert_not_null(ad);
	cr_assert_str_eq(ad->id, "ae4db4cc-b16b-4eb2-acf5-837ca84e4d7d");
	cr_assert_eq(ad->kind, GB_CS_CONNECTOR_AD);
	cr_assert_str_eq(ad->name, "contoso.com");
	cr_assert_str_eq(ad->forest, "contoso.com");
	cr_assert_eq(ad->partition_count, 1);
	cr_assert_str_eq(ad->partitions[0].name, "DC=contoso,DC=com");
	cr_assert(ad->partitions[0].selected);
	cr_assert_eq(ad->partitions[0].inclusions.count, 1);
	cr_assert_str_eq(ad->partitions[0].inclusions.items[0], "OU=CORP,DC=contoso,DC=com");
	cr_assert_str_eq(ad->partitions[0].exclusions.items[0], "DC=contoso,DC=com");
	cr_assert(list_has(&ad->partitions[0].object_classes, "group"));
	cr_assert_null(gb_cs_param_get(&ad->params, "password"), "encrypted parameters carry no value");
	cr_assert_str_eq(gb_cs_param_get(&ad->params, "Forest.LDAP"), "DC=contoso,DC=com");

	aad = gb_cs_find_connector(exp, GB_CS_ENTRA_CONNECTOR_ID);
	cr_assert_not_null(aad);
	cr_assert_eq(aad->kind, GB_CS_CONNECTOR_ENTRA);
	cr_assert_str_eq(aad->name, "contoso.onmicrosoft.com - AAD");
	gb_cs_export_free(exp);
}

Test(sample, group_join_rule_kept_as_data)
{
	gb_cs_export *exp = import_ok();
	const gb_cs_rule *r = gb_cs_find_rule(exp, "794EF0A3-0556-410E-96FF-B2EC8495EF39");
	const gb_cs_rule *user = gb_cs_find_rule_by_name(exp, "In from AD - User Join");

	cr_assert_not_null(r);
	cr_assert_str_eq(r->name, "In from AD - Group Join");
	cr_assert(r->roles & GB_CS_ROLE_GROUP_JOIN);
	cr_assert(r->roles & GB_CS_ROLE_GROUP);
	cr_assert_eq(r->roles & GB_CS_ROLE_CUSTOM_GROUP, 0u);
	cr_assert(r->detailed);
	cr_assert_str_eq(r->immutable_tag, "Microsoft.InfromADGroupJoin.003");
	cr_assert_str_eq(r->connector, "ae4db4cc-b16b-4eb2-acf5-837ca84e4d7d");
	cr_assert_str_eq(r->link_type, "Provision");
	cr_assert_eq(r->precedence, 112);
	cr_assert_eq(r->scope_count, 1);
	cr_assert_eq(r->scope[0].count, 2);
	cr_assert_str_eq(r->scope[0].items[1].attribute, "adminDescription");
	cr_assert_str_eq(r->scope[0].items[1].op, "NOTSTARTSWITH");
	cr_assert_str_eq(r->scope[0].items[1].value, "Group_");
	cr_assert_eq(r->join_count, 1);
	cr_assert_str_eq(r->join[0].items[0].cs_attribute, "objectGUID");
	cr_assert_str_eq(r->join[0].items[0].mv_attribute, "sourceAnchorBinary");
	cr_assert_eq(r->mapping_count, 2);
	cr_assert_eq(r->mappings[0].flow, GB_CS_FLOW_EXPRESSION);
	/* entity-escaped text comes back unescaped */
	cr_assert(strstr(r->mappings[0].expression, "&H40000000) > 0") != NULL, "%s", r->mappings[0].expression);
	cr_assert_not_null(user);
	cr_assert_eq(user->detailed, false, "a user rule keeps no body");
	gb_cs_export_free(exp);
}

Test(sample, constant_and_execute_once_mapping)
{
	gb_cs_export *exp = import_ok();
	const gb_cs_rule *r = gb_cs_find_rule(exp, "d79c6b03-a3d5-4160-8b12-87eff97ab7be");
	size_t i;
	bool seen = false;

	cr_assert_not_null(r);
	for (i = 0; i < r->mapping_count; i++)
		if (r->mappings[i].dest && strcmp(r->mappings[i].dest, "cloudCreated") == 0) {
			cr_assert_eq(r->mappings[i].flow, GB_CS_FLOW_CONSTANT);
			cr_assert_str_eq(r->mappings[i].constant, "False");
			cr_assert(r->mappings[i].execute_once);
			seen = true;
		}
	cr_assert(seen);
	gb_cs_export_free(exp);
}

Test(sample, json_holds_the_whole_model)
{
	gb_cs_export *exp = import_ok();
	char *text = NULL;
	gb_error err;
	json_t *j, *rules;
	json_error_t jerr;

	cr_assert_eq(gb_cs_to_json(exp, false, &text, &err), 0, "%s", err.msg);
	j = json_loads(text, 0, &jerr);
	cr_assert_not_null(j, "%s", jerr.text);
	cr_assert_str_eq(json_string_value(json_object_get(j, "server")), "CONTOSO-SYNC01");
	cr_assert(json_is_false(json_object_get(json_object_get(j, "writeback"), "enabled")));
	cr_assert(json_is_true(json_object_get(json_object_get(j, "writeback"), "group_join_filter")));
	rules = json_object_get(j, "rules");
	cr_assert_eq(json_array_size(rules), 62);
	cr_assert_eq(json_array_size(json_object_get(j, "connectors")), 2);
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(j, "delete_threshold"), "value")), 500);
	cr_assert(
	    strstr(json_string_value(json_object_get(json_object_get(j, "sources"), "writeback.connector_container")),
	           "Connector.GroupWriteBackContainerDn") != NULL);
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "global_settings"),
	                                                   "Microsoft.Synchronize.TimeInterval")),
	                 "00:30:00");
	json_decref(j);
	free(text);
	gb_cs_export_free(exp);
}

/* ---- writeback configured ---------------------------------------------------------------------------------- */

TestSuite(writeback, .init = setup, .fini = teardown);

Test(writeback, mv_flags_alone)
{
	gb_cs_export *exp;

	enable_writeback("OU=CloudGroups,OU=CORP,DC=contoso,DC=com");
	exp = import_ok();
	cr_assert(exp->writeback_enabled);
	cr_assert_eq(exp->writeback_flag, GB_CS_YES);
	cr_assert_str_eq(exp->writeback_forest, "contoso.com");
	cr_assert_str_eq(exp->writeback_container, "OU=CloudGroups,OU=CORP,DC=contoso,DC=com");
	cr_assert_null(exp->writeback_connector_container);
	cr_assert_eq(exp->writeback_ou_in_scope, GB_CS_YES);
	has_findings(exp, (const want_finding[]){{"writeback.enabled", GB_CS_INFO},
	                                         {"writeback.ou-in-scope", GB_CS_INFO},
	                                         {"writeback.rules-missing", GB_CS_WARNING},
	                                         {"coexistence.missing", GB_CS_WARNING}}, 4);
	gb_cs_export_free(exp);
}

Test(writeback, connector_container_alone)
{
	gb_cs_export *exp;

	set_connector_container("OU=CloudGroups,OU=CORP,DC=contoso,DC=com");
	exp = import_ok();
	cr_assert_str_eq(exp->connectors[0].writeback_container, "OU=CloudGroups,OU=CORP,DC=contoso,DC=com");
	cr_assert_str_eq(exp->writeback_connector_container, "OU=CloudGroups,OU=CORP,DC=contoso,DC=com");
	cr_assert_eq(exp->writeback_enabled, false, "a container alone does not enable writeback");
	cr_assert_eq(exp->writeback_ou_in_scope, GB_CS_YES);
	gb_cs_export_free(exp);
}

Test(writeback, container_disagreement_is_a_finding)
{
	gb_cs_export *exp;

	enable_writeback("OU=CloudGroups,OU=CORP,DC=contoso,DC=com");
	set_connector_container("OU=Other,OU=CORP,DC=contoso,DC=com");
	exp = import_ok();
	has_findings(exp, (const want_finding[]){{"writeback.container-mismatch", GB_CS_WARNING, "OU=Other"}}, 1);
	gb_cs_export_free(exp);
}

Test(writeback, same_container_spelled_differently_agrees)
{
	gb_cs_export *exp;

	enable_writeback("OU=CloudGroups,OU=CORP,DC=contoso,DC=com");
	set_connector_container("ou=cloudgroups, ou=CORP, dc=contoso, dc=com");
	exp = import_ok();
	cr_assert_null(gb_cs_find_finding(exp, "writeback.container-mismatch"));
	gb_cs_export_free(exp);
}

Test(writeback, configuration_overrides_the_ou)
{
	gb_cs_export *exp;
	gb_error err = {0};

	enable_writeback("OU=CloudGroups,OU=CORP,DC=contoso,DC=com");
	exp = import_ok();
	exp->writeback_ou_override = gb_strdup("OU=Elsewhere,DC=contoso,DC=com");
	cr_assert_eq(gb_cs_analyze(exp, &err), 0, "%s", err.msg);
	cr_assert(finding(exp, "writeback.ou-override", GB_CS_WARNING));
	cr_assert_eq(exp->writeback_ou_in_scope, GB_CS_NO, "the scope check uses the configured OU");
	cr_assert(finding(exp, "writeback.ou-out-of-scope", GB_CS_WARNING));
	cr_assert_null(gb_cs_find_finding(exp, "writeback.ou-in-scope"), "analysis starts afresh");
	gb_cs_export_free(exp);
}

Test(writeback, ou_outside_included_containers)
{
	gb_cs_export *exp;

	enable_writeback("OU=CloudGroups,DC=contoso,DC=com");
	exp = import_ok();
	cr_assert_eq(exp->writeback_ou_in_scope, GB_CS_NO);
	cr_assert(finding(exp, "writeback.ou-out-of-scope", GB_CS_WARNING));
	gb_cs_export_free(exp);
}

Test(writeback, soainaad_rules_alone)
{
	gb_cs_export *exp;
	const gb_cs_rule *out, *in;

	add_rule("soainaad-out.xml");
	add_rule("soainaad-in.xml");
	add_rule("member-limit.xml");
	exp = import_ok();
	cr_assert_eq(exp->rule_count, 65);
	out = gb_cs_find_rule_by_name(exp, "Out to AD - Group SOAInAAD");
	in = gb_cs_find_rule_by_name(exp, "In from AAD - Group SOAInAAD");
	cr_assert(out && in);
	cr_assert(out->roles & GB_CS_ROLE_SOAINAAD);
	cr_assert(out->roles & GB_CS_ROLE_WRITEBACK_DN);
	cr_assert(in->roles & GB_CS_ROLE_SOAINAAD);
	cr_assert(gb_cs_find_rule_by_name(exp, "Out to AD - Group Writeback Member Limit")->roles &
	          GB_CS_ROLE_MEMBER_LIMIT);
	cr_assert(strstr(out->mappings[0].expression, "%Connector.GroupWriteBackContainerDn%") != NULL);
	/* the flag says no, the rules write groups back: writeback is on, and the disagreement is reported */
	cr_assert(exp->writeback_enabled);
	has_findings(exp, (const want_finding[]){{"writeback.flag-mismatch", GB_CS_WARNING},
	                                         {"writeback.ou-unknown", GB_CS_WARNING}}, 2);
	gb_cs_export_free(exp);
}

Test(writeback, disabled_soainaad_rule_does_not_enable)
{
	gb_cs_export *exp;

	add_disabled_rule("soainaad-out.xml");
	exp = import_ok();
	cr_assert_eq(exp->writeback_enabled, false);
	gb_cs_export_free(exp);
}

Test(writeback, coexistence_rules_alone)
{
	gb_cs_export *exp;
	const gb_cs_rule *in, *out;

	add_rule("coex-inbound.xml");
	add_rule("coex-outbound.xml");
	exp = import_ok();
	in = gb_cs_find_rule(exp, GB_CS_COEX_INBOUND_ID);
	out = gb_cs_find_rule(exp, "{419FDA18-75BB-4E23-B947-8B06E7246551}");
	cr_assert(in && out);
	cr_assert(in->roles & GB_CS_ROLE_COEX_INBOUND);
	cr_assert(out->roles & GB_CS_ROLE_COEX_OUTBOUND);
	cr_assert_eq(in->roles & (GB_CS_ROLE_CUSTOM_GROUP | GB_CS_ROLE_SOAINAAD), 0u);
	cr_assert_null(in->immutable_tag, "an empty <immutable-tag /> is no tag");
	cr_assert_str_eq(in->connector, GB_CS_ENTRA_CONNECTOR_ID);
	cr_assert_eq(in->scope[0].count, 2);
	cr_assert_null(in->scope[0].items[1].value);
	cr_assert_eq(in->mappings[0].flow, GB_CS_FLOW_CONSTANT);
	cr_assert_str_eq(in->mappings[0].constant, "true");
	cr_assert(finding(exp, "coexistence.present", GB_CS_INFO));
	cr_assert_null(gb_cs_find_finding(exp, "custom-rule"));
	gb_cs_export_free(exp);
}

Test(writeback, coexistence_found_by_name_and_by_shape)
{
	add_rule("coex-inbound.xml");
	add_rule("coex-outbound.xml");
	/* other identifiers: the inbound one is still found by its name, the outbound one by what it does */
	edit_rule("coex-inbound.xml", "E4EAE1C9-B9BC-4328-ADE9-DF871CDD3027",
		  "11111111-2222-3333-4444-555555555555");
	edit_rule("coex-inbound.xml", "e4eae1c9-b9bc-4328-ade9-df871cdd3027",
		  "11111111-2222-3333-4444-555555555555");
	edit_rule("coex-outbound.xml", "419fda18-75bb-4e23-b947-8b06e7246551",
		  "66666666-2222-3333-4444-555555555555");
	edit_rule("coex-outbound.xml", "Out to AD - Group SOAinAAD coexistence with Cloud Sync",
		  "Out to AD - keep written-back groups");
	expect_finding("coexistence.present", GB_CS_INFO);
}

Test(writeback, coexistence_partial_is_danger)
{
	gb_cs_export *exp;

	enable_writeback("OU=CloudGroups,OU=CORP,DC=contoso,DC=com");
	add_rule("coex-inbound.xml");
	exp = import_ok();
	has_findings(exp, (const want_finding[]){{"coexistence.partial", GB_CS_DANGER, "missing"}}, 1);
	cr_assert_eq(exp->findings[0].severity, GB_CS_DANGER, "findings are sorted most serious first");
	gb_cs_export_free(exp);
}

Test(writeback, delete_rule_is_danger)
{
	gb_cs_export *exp;
	const gb_cs_rule *r;

	add_rule("delete-rule.xml");
	exp = import_ok();
	r = gb_cs_find_rule(exp, GB_CS_DELETE_RULE_ID);
	cr_assert_not_null(r);
	cr_assert(r->roles & GB_CS_ROLE_DELETE_OUT_OF_SCOPE);
	cr_assert_eq(r->roles & GB_CS_ROLE_CUSTOM_GROUP, 0u);
	cr_assert_eq(r->join[0].items[0].case_sensitive, false);
	has_findings(exp, (const want_finding[]){{"delete-rule.present", GB_CS_DANGER, "DANGER"}}, 1);
	cr_assert_eq(exp->findings[0].severity, GB_CS_DANGER);
	gb_cs_export_free(exp);
}

Test(writeback, delete_rule_found_by_what_it_does)
{
	add_rule("delete-rule.xml");
	edit_rule("delete-rule.xml", "cb871f2d-0f01-4c32-a333-ff809145b947",
		  "77777777-2222-3333-4444-555555555555");
	edit_rule("delete-rule.xml", "In from AAD - Group SOAinAAD Delete WriteBackOutOfScope and SoftDelete",
		  "In from AAD - tidy groups");
	expect_finding("delete-rule.present", GB_CS_DANGER);
}

Test(writeback, disabled_delete_rule_is_a_warning)
{
	gb_cs_export *exp;

	add_disabled_rule("delete-rule.xml");
	exp = import_ok();
	cr_assert_null(gb_cs_find_finding(exp, "delete-rule.present"));
	cr_assert(finding(exp, "delete-rule.disabled", GB_CS_WARNING));
	gb_cs_export_free(exp);
}

Test(writeback, everything_together)
{
	gb_cs_export *exp;
	size_t i;

	enable_writeback("OU=CloudGroups,OU=CORP,DC=contoso,DC=com");
	set_connector_container("OU=CloudGroups,OU=CORP,DC=contoso,DC=com");
	add_rule("soainaad-out.xml");
	add_rule("soainaad-in.xml");
	add_rule("member-limit.xml");
	add_rule("coex-inbound.xml");
	add_rule("coex-outbound.xml");
	add_rule("delete-rule.xml");
	add_rule("custom-group.xml");
	exp = import_ok();
	cr_assert_eq(exp->rule_count, 69);
	cr_assert(exp->writeback_enabled);
	cr_assert_str_eq(exp->writeback_connector_container, "OU=CloudGroups,OU=CORP,DC=contoso,DC=com");
	has_findings(exp, (const want_finding[]){{"writeback.enabled", GB_CS_INFO},
	                                         {"writeback.ou-in-scope", GB_CS_INFO},
	                                         {"coexistence.present", GB_CS_INFO},
	                                         {"delete-rule.present", GB_CS_DANGER},
	                                         {"custom-rule", GB_CS_WARNING, "extensionAttribute10 filter"}}, 5);
	cr_assert_null(gb_cs_find_finding(exp, "writeback.container-mismatch"));
	cr_assert_null(gb_cs_find_finding(exp, "writeback.flag-mismatch"));
	for (i = 1; i < exp->finding_count; i++)
		cr_assert(exp->findings[i - 1].severity >= exp->findings[i].severity);
	gb_cs_export_free(exp);
}

/* ---- the export's own settings ------------------------------------------------------------------------------ */

TestSuite(settings, .init = setup, .fini = teardown);

Test(settings, staging_on_threshold_off_scheduler_suspended)
{
	gb_cs_export *exp;

	edit(MV,
	     "\"Microsoft.Synchronize.StagingMode\" type=\"string\" use=\"SynchronizationGlobal\" "
	     "dataType=\"String\">False",
	     "\"Microsoft.Synchronize.StagingMode\" type=\"string\" use=\"SynchronizationGlobal\" "
	     "dataType=\"String\">True");
	edit(MV,
	     "\"Microsoft.OptionalFeature.ExportDeletionThreshold\" type=\"string\" use=\"SynchronizationGlobal\" "
	     "dataType=\"String\">True",
	     "\"Microsoft.OptionalFeature.ExportDeletionThreshold\" type=\"string\" use=\"SynchronizationGlobal\" "
	     "dataType=\"String\">False");
	edit(MV,
	     "\"Microsoft.Synchronize.SchedulerSuspended\" type=\"string\" use=\"SynchronizationGlobal\" "
	     "dataType=\"String\">False",
	     "\"Microsoft.Synchronize.SchedulerSuspended\" type=\"string\" use=\"SynchronizationGlobal\" "
	     "dataType=\"String\">True");
	exp = import_ok();
	cr_assert_eq(exp->staging_mode, GB_CS_YES);
	cr_assert_eq(exp->delete_threshold_enabled, GB_CS_NO);
	cr_assert_eq(exp->scheduler_suspended, GB_CS_YES);
	has_findings(exp, (const want_finding[]){{"staging.on", GB_CS_INFO},
	                                         {"delete-threshold.disabled", GB_CS_WARNING},
	                                         {"scheduler.suspended", GB_CS_INFO}}, 3);
	gb_cs_export_free(exp);
}

Test(settings, unknown_when_absent_then_persisted_state)
{
	gb_cs_export *exp;
	static const char persisted[] =
	    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n"
	    "<PersistedStateContainer xmlns=\"http://schemas.datacontract.org/2004/07/Example\">\r\n"
	    "  <Elements><PersistedStateElement><Key>IAadConnectConfiguration.StagingModeEnabled</Key>"
	    "<Value>True</Value></PersistedStateElement>\r\n"
	    "  <PersistedStateElement><Key>ProductVersion</Key><Value>2.3.8.0</Value></PersistedStateElement>"
	    "</Elements>\r\n  <Mode>Upgrade</Mode>\r\n</PersistedStateContainer>\r\n";

	edit(MV,
	     "<parameter name=\"Microsoft.Synchronize.StagingMode\" type=\"string\" use=\"SynchronizationGlobal\" "
	     "dataType=\"String\">False</parameter>",
	     "");
	edit(MV,
	     "<parameter name=\"Microsoft.OptionalFeature.ExportDeletionThresholdValue\" type=\"string\" "
	     "use=\"SynchronizationGlobal\" dataType=\"String\">500</parameter>",
	     "");
	exp = import_ok();
	cr_assert_eq(exp->staging_mode, GB_CS_UNKNOWN);
	cr_assert_eq(exp->delete_threshold, -1, "a value the export lacks is unknown, not invented");
	cr_assert(finding(exp, "staging.unknown", GB_CS_WARNING));
	gb_cs_export_free(exp);

	gb_testfs_spit(path_in("persistedstate.XML"), persisted, sizeof(persisted) - 1);
	exp = import_ok();
	cr_assert(exp->has_persisted_state);
	cr_assert_eq(exp->staging_mode, GB_CS_YES);
	cr_assert_str_eq(exp->staging_mode_source, "PersistedState.xml");
	cr_assert_str_eq(gb_cs_param_get(&exp->persisted, "ProductVersion"), "2.3.8.0");
	cr_assert_str_eq(gb_cs_param_get(&exp->persisted, "Mode"), "Upgrade");
	gb_cs_export_free(exp);
}

Test(settings, directory_extension_carrying_a_group_dn)
{
	gb_cs_export *exp;
	size_t i;
	const gb_cs_extension *dn = NULL, *emp = NULL;

	edit(MV,
	     "\"Microsoft.OptionalFeature.DirectoryExtension\" type=\"string\" use=\"SynchronizationGlobal\" "
	     "dataType=\"String\">False",
	     "\"Microsoft.OptionalFeature.DirectoryExtension\" type=\"string\" use=\"SynchronizationGlobal\" "
	     "dataType=\"String\">True");
	edit(MV,
	     "<parameter name=\"Microsoft.OptionalFeature.DirectoryExtensionAttributes\" type=\"string\" "
	     "use=\"SynchronizationGlobal\" dataType=\"String\" />",
	     "<parameter name=\"Microsoft.OptionalFeature.DirectoryExtensionAttributes\" type=\"string\" "
	     "use=\"SynchronizationGlobal\" dataType=\"String\">employeeNumber.user.String.True,"
	     "distinguishedName.group.String.True</parameter>");
	edit(MV,
	     "<parameter name=\"Microsoft.DirectoryExtension.SourceTargetAttributesMap\" type=\"string\" "
	     "use=\"SynchronizationGlobal\" dataType=\"String\" />",
	     "<parameter name=\"Microsoft.DirectoryExtension.SourceTargetAttributesMap\" type=\"string\" "
	     "use=\"SynchronizationGlobal\" "
	     "dataType=\"String\">employeeNumber.extension_4483c871ae4a40d0af7c6037e2ff4af7"
	     "_employeeNumber,distinguishedName.extension_4483c871ae4a40d0af7c6037e2ff4af7_GroupDN</parameter>");
	exp = import_ok();
	cr_assert_eq(exp->dirext_enabled, GB_CS_YES);
	cr_assert_eq(exp->extension_count, 2);
	for (i = 0; i < exp->extension_count; i++) {
		if (strcmp(exp->extensions[i].source, "distinguishedName") == 0)
			dn = &exp->extensions[i];
		if (strcmp(exp->extensions[i].source, "employeeNumber") == 0)
			emp = &exp->extensions[i];
	}
	cr_assert(dn && emp);
	cr_assert_str_eq(dn->object_class, "group");
	cr_assert_str_eq(dn->type, "String");
	cr_assert_str_eq(dn->target, "extension_4483c871ae4a40d0af7c6037e2ff4af7_GroupDN");
	cr_assert_str_eq(dn->group_dn, "likely");
	cr_assert_str_eq(emp->group_dn, "no");
	cr_assert(finding(exp, "dirext.group-dn", GB_CS_INFO));
	gb_cs_export_free(exp);
}

/* ---- what real files do ------------------------------------------------------------------------------------- */

TestSuite(lexical, .init = setup, .fini = teardown);

static void to_crlf(const char *rel)
{
	size_t n, i;
	char *s = gb_testfs_slurp(path_in(rel), &n);
	gb_buf out;

	gb_buf_init(&out, GB_BUF_DEFAULT_MAX);
	for (i = 0; i < n; i++) {
		if (s[i] == '\n')
			gb_buf_putc(&out, '\r', NULL);
		gb_buf_putc(&out, s[i], NULL);
	}
	gb_testfs_spit(path_in(rel), out.data, out.len);
	gb_buf_free(&out);
	free(s);
}

Test(lexical, crlf_everywhere)
{
	gb_cs_export *exp;

	to_crlf(MV);
	to_crlf(AD_CONN);
	to_crlf(AAD_CONN);
	to_crlf(GROUP_JOIN);
	exp = import_ok();
	cr_assert_eq(exp->rule_count, 62);
	cr_assert(exp->group_join_filter);
	cr_assert_str_eq(exp->server, "CONTOSO-SYNC01");
	cr_assert_str_eq(gb_cs_find_connector(exp, GB_CS_ENTRA_CONNECTOR_ID)->name, "contoso.onmicrosoft.com - AAD");
	gb_cs_export_free(exp);
}

Test(lexical, utf8_bom_and_utf16_bom)
{
	gb_cs_export *exp;
	size_t n, i;
	char *s;
	gb_buf out;

	/* the Group Join rule as UTF-8 with a BOM */
	s = gb_testfs_slurp(path_in(GROUP_JOIN), &n);
	gb_buf_init(&out, GB_BUF_DEFAULT_MAX);
	gb_buf_append(&out, "\xEF\xBB\xBF", 3, NULL);
	gb_buf_append(&out, s, n, NULL);
	gb_testfs_spit(path_in(GROUP_JOIN), out.data, out.len);
	gb_buf_free(&out);
	free(s);
	/* MV.xml as UTF-16LE with a BOM and no declaration (the sample is ASCII, so widening each byte is exact) */
	s = gb_testfs_slurp(path_in(MV), &n);
	gb_buf_init(&out, GB_BUF_DEFAULT_MAX);
	gb_buf_append(&out, "\xFF\xFE", 2, NULL);
	for (i = 0; i < n; i++) {
		gb_buf_putc(&out, s[i], NULL);
		gb_buf_putc(&out, '\0', NULL);
	}
	gb_testfs_spit(path_in(MV), out.data, out.len);
	gb_buf_free(&out);
	free(s);
	exp = import_ok();
	cr_assert_str_eq(exp->server, "CONTOSO-SYNC01");
	cr_assert_str_eq(exp->version, "1.1.130.0");
	cr_assert(exp->group_join_filter);
	gb_cs_export_free(exp);
}

Test(lexical, utf16_big_endian_with_declaration_and_non_ascii)
{
	gb_cs_export *exp;
	/* "In from AD - Group Café" in UTF-16BE with a BOM */
	static const char head[] = "<?xml version=\"1.0\" encoding=\"UTF-16\"?><synchronizationRule><id>{0f5d4b4e-7d27-"
	                           "4b1f-9a7f-2b8c9e0a1dff}</id><name>In from AD - Group Caf";
	static const char tail[] = "</name><direction>Inbound</direction><sourceObjectType>group</sourceObjectType>"
	                           "</synchronizationRule>";
	gb_buf out;
	size_t i;

	gb_buf_init(&out, GB_BUF_DEFAULT_MAX);
	gb_buf_append(&out, "\xFE\xFF", 2, NULL);
	for (i = 0; head[i]; i++) {
		gb_buf_putc(&out, '\0', NULL);
		gb_buf_putc(&out, head[i], NULL);
	}
	gb_buf_append(&out, "\x00\xE9", 2, NULL);
	for (i = 0; tail[i]; i++) {
		gb_buf_putc(&out, '\0', NULL);
		gb_buf_putc(&out, tail[i], NULL);
	}
	gb_testfs_spit(path_in("SynchronizationRules/SynchronizationRule_utf16.xml"), out.data, out.len);
	gb_buf_free(&out);
	exp = import_ok();
	cr_assert_not_null(gb_cs_find_rule_by_name(exp, "In from AD - Group Caf\xc3\xa9"));
	cr_assert(finding(exp, "custom-rule", GB_CS_WARNING));
	gb_cs_export_free(exp);
}

Test(lexical, single_quotes_no_declaration_and_unknown_elements)
{
	gb_cs_export *exp;
	const gb_cs_rule *r;

	edit(GROUP_JOIN, "<synchronizationRule>",
	     "<synchronizationRule xmlns:x='urn:example' x:extra='1'><future-element a='b'><nested/></future-element>");
	edit(GROUP_JOIN, "<precedence>112</precedence>",
	     "<precedence>112</precedence><IsStandardRule>True</IsStandardRule><x:unknown>v</x:unknown>");
	edit(GROUP_JOIN, "<scope>", "<scope kind='new'><csComment>ignored</csComment>");
	exp = import_ok();
	r = gb_cs_find_rule_by_name(exp, "In from AD - Group Join");
	cr_assert_not_null(r);
	cr_assert_eq(r->precedence, 112);
	cr_assert(exp->group_join_filter);
	gb_cs_export_free(exp);
}

Test(lexical, dsml_matched_by_namespace_uri_not_prefix)
{
	gb_cs_export *exp;
	const gb_cs_connector *aad;

	/* the Entra connector's schema: another prefix for the same URI, plus a look-alike prefix bound elsewhere */
	edit(AAD_CONN, "xmlns:dsml=\"http://www.dsml.org/DSML\"", "xmlns:q=\"http://www.dsml.org/DSML\"");
	edit(AAD_CONN, "<dsml:", "<q:");
	edit(AAD_CONN, "</dsml:", "</q:");
	edit(AAD_CONN, "</q:directory-schema>",
	     "<q:attribute-type id=\"x1\"><q:name>\n extension_00aa_GroupDN</q:name></q:attribute-type>"
	     "<dsml:attribute-type xmlns:dsml=\"urn:not-dsml\" id=\"x2\"><dsml:name>extension_00bb_Fake</dsml:name>"
	     "</dsml:attribute-type></q:directory-schema>");
	/* the AD connector's schema uses the DSML URI as its default namespace */
	edit(AD_CONN, "<directory-schema>",
	     "<directory-schema><attribute-type id=\"x9\"><name>extension_00cc_department</name></attribute-type>");
	exp = import_ok();
	cr_assert_eq(exp->connectors[0].extension_attributes.count, 1);
	cr_assert_str_eq(exp->connectors[0].extension_attributes.items[0], "extension_00cc_department");
	aad = gb_cs_find_connector(exp, GB_CS_ENTRA_CONNECTOR_ID);
	cr_assert_eq(aad->extension_attributes.count, 1);
	cr_assert_str_eq(aad->extension_attributes.items[0], "extension_00aa_GroupDN");
	cr_assert(finding(exp, "dirext.group-dn", GB_CS_INFO));
	gb_cs_export_free(exp);
}

Test(lexical, two_megabyte_line)
{
	gb_cs_export *exp;
	const gb_cs_rule *r;
	gb_buf big;
	size_t i;

	gb_buf_init(&big, GB_BUF_DEFAULT_MAX);
	gb_buf_puts(&big, "<description>", NULL);
	for (i = 0; i < 2 * 1024 * 1024; i += 16)
		gb_buf_puts(&big, "0123456789abcdef", NULL);
	gb_buf_puts(&big, "</description><immutable-tag>", NULL);
	edit(GROUP_JOIN, "<description />\n  <immutable-tag>", big.data);
	gb_buf_free(&big);
	exp = import_ok();
	r = gb_cs_find_rule_by_name(exp, "In from AD - Group Join");
	cr_assert_eq(strlen(r->description), 2 * 1024 * 1024);
	cr_assert(exp->group_join_filter);
	gb_cs_export_free(exp);
}

Test(lexical, entra_connector_found_by_type)
{
	gb_cs_export *exp;
	size_t i;
	int entra = 0;

	edit(AAD_CONN, "{B891884F-051E-4A83-95AF-2544101C9083}", "{12345678-051E-4A83-95AF-2544101C9083}");
	exp = import_ok();
	for (i = 0; i < exp->connector_count; i++)
		entra += exp->connectors[i].kind == GB_CS_CONNECTOR_ENTRA;
	cr_assert_eq(entra, 1);
	gb_cs_export_free(exp);
}

/* ---- malformed and unsafe input: exit with the file and line, nothing half-read ------------------------------ */

TestSuite(malformed, .init = setup, .fini = teardown);

static void put_fixture(const char *name, const char *rel)
{
	char src[512];
	size_t n;
	char *data;

	snprintf(src, sizeof(src), FIXTURES "/malformed/%s", name);
	data = gb_testfs_slurp(src, &n);
	gb_testfs_spit(path_in(rel), data, n);
	free(data);
}

Test(malformed, truncated_rule_names_file_and_line)
{
	gb_error err = {0};

	put_fixture("truncated.xml", "SynchronizationRules/SynchronizationRule_truncated.xml");
	cr_assert_eq(import_fails(&err), GB_EPARSE);
	cr_assert(strstr(err.msg, "SynchronizationRule_truncated.xml:") != NULL, "%s", err.msg);
	cr_assert(strstr(err.msg, "malformed xml") != NULL, "%s", err.msg);
	cr_assert(strstr(err.msg, ":1:") == NULL, "the line is the end of the document, not 1: %s", err.msg);
}

Test(malformed, bad_utf8)
{
	gb_error err = {0};

	put_fixture("bad-utf8.xml", "SynchronizationRules/SynchronizationRule_bad.xml");
	cr_assert_eq(import_fails(&err), GB_EPARSE);
	cr_assert(strstr(err.msg, "SynchronizationRule_bad.xml:3:") != NULL, "%s", err.msg);
}

Test(malformed, xxe_refused_and_file_not_read)
{
	gb_error err = {0};
	char *host;
	size_t n;

	put_fixture("xxe.xml", "SynchronizationRules/SynchronizationRule_xxe.xml");
	cr_assert_eq(import_fails(&err), GB_EPARSE);
	cr_assert(strstr(err.msg, "SynchronizationRule_xxe.xml:2:") != NULL, "%s", err.msg);
	cr_assert(strstr(err.msg, "document type declarations are refused") != NULL, "%s", err.msg);
	host = gb_testfs_slurp("/etc/hostname", &n);
	if (n > 2) {
		host[strcspn(host, "\n")] = '\0';
		cr_assert(strstr(err.msg, host) == NULL, "the entity's file leaked into the message");
	}
	free(host);
}

Test(malformed, xxe_in_memory_never_expands)
{
	gb_cs_export *exp;
	gb_error err = {0};
	size_t n;
	char *doc = gb_testfs_slurp(FIXTURES "/malformed/xxe.xml", &n);

	cr_assert_eq(gb_cs_export_new(&exp, &err), 0);
	cr_assert_eq(gb_cs_add_document(exp, GB_CS_DOC_RULE, "xxe.xml", doc, n, &err), GB_EPARSE);
	cr_assert_eq(exp->rule_count, 0, "nothing of a refused document is kept");
	free(doc);
	doc = gb_testfs_slurp(FIXTURES "/malformed/entities.xml", &n);
	cr_assert_eq(gb_cs_add_document(exp, GB_CS_DOC_ANY, "entities.xml", doc, n, &err), GB_EPARSE);
	cr_assert_eq(exp->rule_count, 0);
	free(doc);
	gb_cs_export_free(exp);
}

Test(malformed, wrong_root_in_rules)
{
	gb_error err = {0};

	put_fixture("wrong-root.xml", "SynchronizationRules/SynchronizationRule_wrong.xml");
	cr_assert_eq(import_fails(&err), GB_EPARSE);
	cr_assert(strstr(err.msg, "SynchronizationRule_wrong.xml:1: expected a <synchronizationRule>") != NULL, "%s",
	          err.msg);
}

Test(malformed, truncated_big_connector)
{
	gb_error err = {0};
	size_t n;
	char *s = gb_testfs_slurp(path_in(AD_CONN), &n);

	gb_testfs_spit(path_in(AD_CONN), s, n / 2);
	free(s);
	cr_assert_eq(import_fails(&err), GB_EPARSE);
	cr_assert(strstr(err.msg, "Connector_{ae4db4cc-b16b-4eb2-acf5-837ca84e4d7d}.xml:14:") != NULL, "%s", err.msg);
}

Test(malformed, missing_mv_xml)
{
	gb_error err = {0};

	cr_assert_eq(unlink(path_in(MV)), 0);
	cr_assert_eq(import_fails(&err), GB_ENOTFOUND);
	cr_assert(strstr(err.msg, "GlobalSettings: no MV.xml") != NULL, "%s", err.msg);
}

Test(malformed, missing_folders)
{
	gb_error err = {0};

	gb_testfs_rmtree(path_in("SynchronizationRules"));
	cr_assert_eq(import_fails(&err), GB_ENOTFOUND);
	cr_assert(strstr(err.msg, "SynchronizationRules: missing") != NULL, "%s", err.msg);
}

Test(malformed, missing_export)
{
	gb_cs_export *exp = NULL;
	gb_error err = {0};

	cr_assert_eq(gb_cs_import_dir("/nonexistent/export", &exp, &err), GB_ENOTFOUND);
	cr_assert(strstr(err.msg, "/nonexistent/export") != NULL);
	cr_assert_null(exp);
}

Test(malformed, unreadable_file)
{
	gb_error err = {0};

	/* root reads any mode, so make the "file" something that cannot be read as one: a folder */
	cr_assert_eq(mkdir(path_in("Connectors/Connector_{00000000-0000-0000-0000-00000000dead}.xml"), 0700), 0);
	cr_assert_eq(import_fails(&err), GB_EIO);
	cr_assert(strstr(err.msg, "Connector_{00000000-0000-0000-0000-00000000dead}.xml") != NULL, "%s", err.msg);
}

Test(malformed, file_above_the_bound)
{
	gb_error err = {0};
	int fd = open(path_in("SynchronizationRules/SynchronizationRule_huge.xml"), O_WRONLY | O_CREAT, 0600);

	cr_assert(fd >= 0);
	cr_assert_eq(ftruncate(fd, (off_t)GB_CS_MAX_FILE + 1), 0); /* sparse: costs no disk */
	close(fd);
	cr_assert_eq(import_fails(&err), GB_ETOOBIG);
	cr_assert(strstr(err.msg, "SynchronizationRule_huge.xml") != NULL, "%s", err.msg);
}

Test(malformed, empty_file)
{
	gb_error err = {0};

	gb_testfs_spit(path_in("SynchronizationRules/SynchronizationRule_empty.xml"), "", 0);
	cr_assert_eq(import_fails(&err), GB_EPARSE);
	cr_assert(strstr(err.msg, "SynchronizationRule_empty.xml:1:") != NULL, "%s", err.msg);
}

/* ---- pure helpers -------------------------------------------------------------------------------------------- */

Test(helpers, guid_equal)
{
	cr_assert(gb_cs_guid_equal("{B891884F-051E-4A83-95AF-2544101C9083}", GB_CS_ENTRA_CONNECTOR_ID));
	cr_assert(gb_cs_guid_equal("b891884f-051e-4a83-95af-2544101c9083", "{b891884f-051e-4a83-95af-2544101c9083}"));
	cr_assert_not(gb_cs_guid_equal("b891884f-051e-4a83-95af-2544101c9084", GB_CS_ENTRA_CONNECTOR_ID));
	cr_assert_not(gb_cs_guid_equal(NULL, GB_CS_ENTRA_CONNECTOR_ID));
	cr_assert_not(gb_cs_guid_equal("{}", ""));
}

Test(helpers, dn_in_scope_closest_listed_ancestor_wins)
{
	char *inc[] = {"OU=CORP,DC=contoso,DC=com", "OU=Keep,OU=Old,OU=CORP,DC=contoso,DC=com"};
	char *exc[] = {"DC=contoso,DC=com", "OU=Old,OU=CORP,DC=contoso,DC=com"};
	gb_cs_partition p = {0};

	p.inclusions.items = inc;
	p.inclusions.count = 2;
	p.exclusions.items = exc;
	p.exclusions.count = 2;
	cr_assert(gb_cs_dn_in_scope(&p, "OU=Groups,OU=CORP,DC=contoso,DC=com"));
	cr_assert(gb_cs_dn_in_scope(&p, "ou=groups, ou=corp, dc=CONTOSO, dc=com"));
	cr_assert(gb_cs_dn_in_scope(&p, "OU=CORP,DC=contoso,DC=com"));
	cr_assert_not(gb_cs_dn_in_scope(&p, "OU=Groups,DC=contoso,DC=com"));
	cr_assert_not(gb_cs_dn_in_scope(&p, "OU=X,OU=Old,OU=CORP,DC=contoso,DC=com"));
	cr_assert(gb_cs_dn_in_scope(&p, "OU=X,OU=Keep,OU=Old,OU=CORP,DC=contoso,DC=com"));
	cr_assert_not(gb_cs_dn_in_scope(&p, "OU=XCORP,DC=contoso,DC=com"), "a suffix match must end at a comma");
	cr_assert_not(gb_cs_dn_in_scope(&p, "OU=A\\,OU=CORP,DC=contoso,DC=com"), "an escaped comma is no boundary");
	cr_assert_not(gb_cs_dn_in_scope(&p, "DC=fabrikam,DC=com"));
}

/* ---- the state database --------------------------------------------------------------------------------------- */

TestSuite(store, .init = setup, .fini = teardown);

Test(store, new_import_replaces_current_and_keeps_history)
{
	gb_cs_export *exp = import_ok(), *exp2;
	gb_store *st = NULL;
	gb_error err = {0};
	int64_t id1 = 0, id2 = 0, cur = 0;
	char *json = NULL;
	json_t *j;

	cr_assert_eq(gb_store_open(path_in("state.db"), "test", &st, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_cs_load_current(st, &json, &cur, &err), GB_ENOTFOUND);
	cr_assert_eq(gb_cs_save(st, exp, &id1, &err), 0, "%s", err.msg);
	enable_writeback("OU=CloudGroups,OU=CORP,DC=contoso,DC=com");
	exp2 = import_ok();
	cr_assert_eq(gb_cs_save(st, exp2, &id2, &err), 0, "%s", err.msg);
	cr_assert_gt(id2, id1);
	cr_assert_eq((int)gb_testfs_int(st, "SELECT count(*) FROM cs_imports"), 2);
	cr_assert_eq((int)gb_testfs_int(st, "SELECT count(*) FROM cs_imports WHERE is_current = 1"), 1);
	cr_assert_eq((int)gb_testfs_int(st, "SELECT writeback_enabled FROM cs_imports WHERE is_current = 1"), 1);
	cr_assert_eq((int)gb_testfs_int(st, "SELECT count(*) FROM cs_rules"), 124);
	cr_assert_eq((int)gb_testfs_int(st, "SELECT count(*) FROM cs_connectors WHERE kind = 'entra'"), 2);
	cr_assert_eq(gb_cs_load_current(st, &json, &cur, &err), 0, "%s", err.msg);
	cr_assert_eq(cur, id2);
	j = json_loads(json, 0, NULL);
	cr_assert(json_is_true(json_object_get(json_object_get(j, "writeback"), "enabled")));
	json_decref(j);
	free(json);
	gb_store_free(st);
	gb_cs_export_free(exp);
	gb_cs_export_free(exp2);
}

Test(store, failure_stores_nothing)
{
	gb_cs_export *exp = import_ok();
	gb_store *st = NULL;
	gb_error err = {0};
	int64_t id = 0;

	cr_assert_eq(gb_store_open(path_in("state.db"), "test", &st, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_cs_save(st, exp, &id, &err), 0, "%s", err.msg);
	/* make the last insert of the next save fail: the whole import must roll back, the old one stays current */
	cr_assert_eq(gb_store_exec(st,
	                           "CREATE TRIGGER no_findings BEFORE INSERT ON cs_findings "
	                           "BEGIN SELECT RAISE(ABORT, 'refused by test'); END",
	                           &err),
	             0, "%s", err.msg);
	cr_assert_neq(gb_cs_save(st, exp, NULL, &err), 0);
	cr_assert(strstr(err.msg, "refused by test") != NULL, "%s", err.msg);
	cr_assert_eq((int)gb_testfs_int(st, "SELECT count(*) FROM cs_imports"), 1);
	cr_assert_eq((int)gb_testfs_int(st, "SELECT id FROM cs_imports WHERE is_current = 1"), (int)id);
	cr_assert_eq((int)gb_testfs_int(st, "SELECT count(*) FROM cs_rules"), 62);
	gb_store_free(st);
	gb_cs_export_free(exp);
}

/* ---- the finding checks, one code at a time, on exports built by hand ------------------------------------- */

static gb_cs_export *bare(void)
{
	gb_cs_export *exp = NULL;
	gb_error err = {0};

	cr_assert_eq(gb_cs_export_new(&exp, &err), 0, "%s", err.msg);
	return exp;
}

static gb_cs_rule *with_rule(gb_cs_export *exp, const char *name, unsigned roles, bool disabled)
{
	gb_cs_rule *r;

	exp->rules = realloc(exp->rules, (exp->rule_count + 1) * sizeof(*exp->rules));
	cr_assert_not_null(exp->rules);
	r = &exp->rules[exp->rule_count++];
	memset(r, 0, sizeof(*r));
	r->name = gb_strdup(name);
	r->roles = roles;
	r->disabled = disabled;
	r->precedence = -1;
	return r;
}

static void with_ad_connector(gb_cs_export *exp, const char *name)
{
	exp->connectors = calloc(1, sizeof(*exp->connectors));
	cr_assert_not_null(exp->connectors);
	exp->connector_count = 1;
	exp->connectors[0].kind = GB_CS_CONNECTOR_AD;
	exp->connectors[0].name = gb_strdup(name);
}

static void enabled(gb_cs_export *e)
{
	e->writeback_enabled = true;
}
static void disabled_default(gb_cs_export *e)
{
	(void)e;
}
static void flag_off_rules_on(gb_cs_export *e)
{
	e->writeback_flag = GB_CS_NO;
	with_rule(e, "Out to AD - Group SOAInAAD", GB_CS_ROLE_SOAINAAD | GB_CS_ROLE_GROUP, false);
}
static void flag_on_no_rules(gb_cs_export *e)
{
	e->writeback_flag = GB_CS_YES;
}
static void containers_disagree(gb_cs_export *e)
{
	e->writeback_container = gb_strdup("OU=A,DC=contoso,DC=com");
	e->writeback_connector_container = gb_strdup("OU=B,DC=contoso,DC=com");
}
static void enabled_no_connector(gb_cs_export *e)
{
	e->writeback_enabled = true;
	e->writeback_forest = gb_strdup("fabrikam.com");
}
static void override_differs(gb_cs_export *e)
{
	e->writeback_container = gb_strdup("OU=A,DC=contoso,DC=com");
	e->writeback_ou_override = gb_strdup("OU=Z,DC=contoso,DC=com");
}
static void ou_inside(gb_cs_export *e)
{
	with_ad_connector(e, "contoso.com");
	e->writeback_container = gb_strdup("OU=A,DC=contoso,DC=com");
	e->writeback_ou_in_scope = GB_CS_YES;
}
static void ou_outside(gb_cs_export *e)
{
	e->writeback_container = gb_strdup("OU=A,DC=contoso,DC=com");
	e->writeback_ou_in_scope = GB_CS_NO;
}
static void both_coexistence_rules(gb_cs_export *e)
{
	with_rule(e, "coex in", GB_CS_ROLE_COEX_INBOUND, false);
	with_rule(e, "coex out", GB_CS_ROLE_COEX_OUTBOUND, false);
}
static void one_coexistence_rule(gb_cs_export *e)
{
	with_rule(e, "coex in", GB_CS_ROLE_COEX_INBOUND, false);
}
static void enabled_coexistence_disabled(gb_cs_export *e)
{
	e->writeback_enabled = true;
	with_rule(e, "coex in", GB_CS_ROLE_COEX_INBOUND, true);
	with_rule(e, "coex out", GB_CS_ROLE_COEX_OUTBOUND, true);
}
static void delete_rule(gb_cs_export *e)
{
	with_rule(e, "the delete rule", GB_CS_ROLE_DELETE_OUT_OF_SCOPE, false);
}
static void delete_rule_disabled(gb_cs_export *e)
{
	with_rule(e, "the delete rule", GB_CS_ROLE_DELETE_OUT_OF_SCOPE, true);
}
static void staging_on(gb_cs_export *e)
{
	e->staging_mode = GB_CS_YES;
	e->staging_mode_source = "MV.xml";
}
static void staging_off(gb_cs_export *e)
{
	e->staging_mode = GB_CS_NO;
	e->staging_mode_source = "PersistedState.xml";
}
static void suspended(gb_cs_export *e)
{
	e->scheduler_suspended = GB_CS_YES;
}
static void threshold_off(gb_cs_export *e)
{
	e->delete_threshold_enabled = GB_CS_NO;
}
static void join_without_filter(gb_cs_export *e)
{
	with_rule(e, "In from AD - Group Join", GB_CS_ROLE_GROUP_JOIN | GB_CS_ROLE_GROUP, false);
}
static void rules_without_join(gb_cs_export *e)
{
	with_rule(e, "In from AD - User Join", 0, false);
}
static void custom_group_rule(gb_cs_export *e)
{
	gb_cs_rule *r = with_rule(e, "Contoso groups", GB_CS_ROLE_CUSTOM_GROUP | GB_CS_ROLE_GROUP, true);

	r->precedence = 42;
}
static void group_dn_extension(gb_cs_export *e)
{
	e->extensions = calloc(1, sizeof(*e->extensions));
	cr_assert_not_null(e->extensions);
	e->extension_count = 1;
	e->extensions[0].source = gb_strdup("distinguishedName");
	e->extensions[0].target = gb_strdup("extension_app_GroupDN");
	e->extensions[0].group_dn = "likely";
}

static const struct {
	const char *code;
	void (*arrange)(gb_cs_export *);
	gb_cs_severity severity;
	const char *says;
} check_cases[] = {
    {"writeback.enabled", enabled, GB_CS_INFO, "group writeback is enabled"},
    {"writeback.disabled", disabled_default, GB_CS_INFO, "not enabled in this export"},
    {"writeback.flag-mismatch", flag_off_rules_on, GB_CS_WARNING, "yet 1 enabled SOAInAAD rules"},
    {"writeback.rules-missing", flag_on_no_rules, GB_CS_WARNING, "holds no Group SOAInAAD rules"},
    {"writeback.container-mismatch", containers_disagree, GB_CS_WARNING, "MV.xml (OU=A,DC=contoso,DC=com)"},
    {"writeback.forest-unknown", enabled_no_connector, GB_CS_WARNING, "the writeback forest fabrikam.com"},
    {"writeback.ou-override", override_differs, GB_CS_WARNING, "writeback_ou (OU=Z,DC=contoso,DC=com) overrides"},
    {"writeback.ou-in-scope", ou_inside, GB_CS_INFO, "containers of connector contoso.com"},
    {"writeback.ou-out-of-scope", ou_outside, GB_CS_WARNING, "cannot see or manage"},
    {"writeback.ou-unknown", enabled, GB_CS_WARNING, "names no writeback container"},
    {"coexistence.present", both_coexistence_rules, GB_CS_INFO, "(coex in, coex out)"},
    {"coexistence.partial", one_coexistence_rule, GB_CS_DANGER, "the outbound JoinNoFlow rule is missing"},
    {"coexistence.missing", enabled_coexistence_disabled, GB_CS_WARNING, "are present but disabled"},
    {"delete-rule.present", delete_rule, GB_CS_DANGER, "DANGER: rule the delete rule"},
    {"delete-rule.disabled", delete_rule_disabled, GB_CS_WARNING, "is present but disabled"},
    {"staging.on", staging_on, GB_CS_INFO, "staging mode is on (per MV.xml)"},
    {"staging.off", staging_off, GB_CS_INFO, "(per PersistedState.xml)"},
    {"staging.unknown", disabled_default, GB_CS_WARNING, "Get-ADSyncScheduler"},
    {"scheduler.suspended", suspended, GB_CS_INFO, "suspended"},
    {"delete-threshold.disabled", threshold_off, GB_CS_WARNING, "accidental-delete threshold is disabled"},
    {"group-join.filter-missing", join_without_filter, GB_CS_WARNING, "NOTSTARTSWITH Group_"},
    {"group-join.missing", rules_without_join, GB_CS_WARNING, "In from AD - Group Join is not in the export"},
    {"custom-rule", custom_group_rule, GB_CS_WARNING, "precedence 42, disabled"},
    {"dirext.group-dn", group_dn_extension, GB_CS_INFO, "extension_app_GroupDN (from distinguishedName"},
};

#define CHECK_CASES (sizeof(check_cases) / sizeof(check_cases[0]))

Test(checks, every_code_has_one_check_and_a_case_here)
{
	size_t i, j;

	for (i = 0; gb_cs_finding_code(i); i++) {
		for (j = 0; j < i; j++)
			cr_assert_str_neq(gb_cs_finding_code(j), gb_cs_finding_code(i), "one check per code");
		for (j = 0; j < CHECK_CASES && strcmp(check_cases[j].code, gb_cs_finding_code(i)) != 0; j++)
			;
		cr_assert_lt(j, CHECK_CASES, "no test case for %s", gb_cs_finding_code(i));
	}
	cr_assert_eq(i, CHECK_CASES);
}

Test(checks, each_check_reports_its_code_alone)
{
	size_t i;

	for (i = 0; i < CHECK_CASES; i++) {
		gb_cs_export *exp = bare();
		gb_error err = {0};

		check_cases[i].arrange(exp);
		cr_assert_eq(gb_cs_check(exp, check_cases[i].code, &err), 0, "%s", err.msg);
		cr_assert_eq(exp->finding_count, 1, "%s: %zu findings", check_cases[i].code, exp->finding_count);
		cr_assert_str_eq(exp->findings[0].code, check_cases[i].code);
		cr_assert_eq(exp->findings[0].severity, check_cases[i].severity, "%s", check_cases[i].code);
		cr_assert(strstr(exp->findings[0].message, check_cases[i].says) != NULL, "%s: %s", check_cases[i].code,
		          exp->findings[0].message);
		gb_cs_export_free(exp);
	}
}

Test(checks, an_empty_export_has_three_findings)
{
	static const char *const expected[] = {"writeback.disabled", "coexistence.missing", "staging.unknown"};
	size_t i, k = 0;

	for (i = 0; gb_cs_finding_code(i); i++) {
		gb_cs_export *exp = bare();
		gb_error err = {0};

		cr_assert_eq(gb_cs_check(exp, gb_cs_finding_code(i), &err), 0, "%s", err.msg);
		if (exp->finding_count) {
			cr_assert_lt(k, 3, "unexpected %s", gb_cs_finding_code(i));
			cr_assert_str_eq(exp->findings[0].code, expected[k++]);
		}
		gb_cs_export_free(exp);
	}
	cr_assert_eq(k, 3);
}

Test(checks, one_check_clears_what_the_analysis_found)
{
	gb_cs_export *exp = bare();
	gb_error err = {0};

	staging_on(exp);
	cr_assert_eq(gb_cs_analyze(exp, &err), 0, "%s", err.msg);
	cr_assert_gt(exp->finding_count, 1);
	cr_assert_eq(gb_cs_check(exp, "scheduler.suspended", &err), 0, "%s", err.msg);
	cr_assert_eq(exp->finding_count, 0);
	gb_cs_export_free(exp);
}

Test(checks, an_unknown_code_is_refused)
{
	gb_cs_export *exp = bare();
	gb_error err = {0};

	cr_assert_eq(gb_cs_check(exp, "writeback.nonsense", &err), GB_EINVAL);
	cr_assert(strstr(err.msg, "writeback.nonsense") != NULL, "%s", err.msg);
	cr_assert_eq(gb_cs_check(exp, NULL, &err), GB_EINVAL);
	gb_cs_export_free(exp);
}
