/* Unit tests of src/graph/sync.c: a Cloud Sync job's settings and its group rule's mappings, read through a scripted
 * transport (graph_script.h) from replies shaped as Microsoft documents synchronizationJob and synchronizationSchema
 * (and as tests/testbed/graph_fake.py serves them). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "graph_script.h"
#include "groupbridge/graph_sync.h"

#define SP "eeeeeeee-5555-4555-8555-000000000001"
#define JOB "AAD2ADGroupProvisioning.fff03.1"
#define RULE "33f7c90d-bf71-41b1-bda6-aaf0ddbee5d8#V2"

#define JOB_BODY(all, membership)                                                                                  \
	"{\"id\":\"" JOB "\",\"templateId\":\"AAD2ADGroupProvisioning\",\"synchronizationJobSettings\":["            \
	"{\"name\":\"SyncAll\",\"value\":\"" all "\"},{\"name\":\"ProvisionMembershipToOnPremisesUsers\","           \
	"\"value\":\"" membership "\"},{\"name\":\"Domain\",\"value\":\"{\\\"domain\\\":\\\"test.example\\\"}\"}]}"

#define SCHEMA_BODY(cn)                                                                                           \
	"{\"id\":\"" JOB "\",\"synchronizationRules\":[{\"id\":\"other#V1\",\"objectMappings\":[]},{\"id\":\"" RULE   \
	"\",\"objectMappings\":[{\"sourceObjectName\":\"Group\",\"targetObjectName\":\"group\",\"attributeMappings\":[" \
	"{\"targetAttributeName\":\"cn\",\"source\":{\"type\":\"Function\",\"name\":\"Append\",\"expression\":" cn "}}," \
	"{\"targetAttributeName\":\"parentDistinguishedName\",\"source\":{\"type\":\"Constant\",\"name\":"          \
	"\"OU=WB,DC=test,DC=example\",\"expression\":\"\\\"OU=WB,DC=test,DC=example\\\"\"}}]}]}]}"

#define DEFAULT_CN "\"Append(Append(Left(Trim([displayName]), 51), \\\"_\\\"), Mid([objectId], 25, 12))\""
#define KEEP_CN "\"Append(\\\"Group_\\\", [objectId])\""

static gb_graph_sync_job *read_job(const char *job, const char *schema, const char *rule, int want)
{
	script_reply r[] = {{"GET", "/synchronization/jobs/" JOB "/schema", 200, schema, NULL, 0},
			    {"GET", "/synchronization/jobs/" JOB, 200, job, NULL, 0}};
	SCRIPT_START(r, 2);
	gb_graph_sync_job *out = NULL;
	gb_error err;
	int rc = gb_graph_sync_job_read(g, SP, JOB, rule, &out, &err);

	cr_assert_eq(rc, want, "rc %d: %s", rc, rc ? err.msg : "");
	if (want == GB_ENOTFOUND)
		cr_assert(strstr(err.msg, "other#V1") && strstr(err.msg, RULE), "%s", err.msg);
	cr_assert_eq(script_count(&s, "GET /v1.0/servicePrincipals/" SP "/synchronization/jobs/" JOB "\n"), 1, "%s",
		     s.log);
	SCRIPT_END();
	return out;
}

Test(graph_sync, microsofts_defaults_read_as_membership_off_and_selected_groups)
{
	gb_graph_sync_job *j = read_job(JOB_BODY("false", "False"), SCHEMA_BODY(DEFAULT_CN), RULE, 0);

	cr_assert_eq(j->scope, GB_SYNC_SCOPE_SELECTED);
	cr_assert_eq(j->membership, GB_TRI_FALSE);
	cr_assert_str_eq(j->container, "OU=WB,DC=test,DC=example");
	cr_assert(j->container_constant);
	cr_assert_str_eq(j->cn_expression, "Append(Append(Left(Trim([displayName]), 51), \"_\"), Mid([objectId], 25, 12))");
	cr_assert_str_eq(gb_graph_sync_scope_name(j->scope), "selected security groups");
	gb_graph_sync_job_free(j);
}

Test(graph_sync, all_security_groups_and_membership_on_and_the_keeping_cn)
{
	gb_graph_sync_job *j = read_job(JOB_BODY("true", "True"), SCHEMA_BODY(KEEP_CN), RULE, 0);

	cr_assert_eq(j->scope, GB_SYNC_SCOPE_ALL);
	cr_assert_eq(j->membership, GB_TRI_TRUE);
	cr_assert_str_eq(j->cn_expression, GB_GRAPH_SYNC_KEEP_CN);
	gb_graph_sync_job_free(j);
}

Test(graph_sync, a_rule_the_schema_lacks_is_named_with_the_rules_it_has)
{
	cr_assert_null(read_job(JOB_BODY("false", "True"), SCHEMA_BODY(KEEP_CN), "nope#V9", GB_ENOTFOUND));
}

Test(graph_sync, a_job_without_the_settings_is_unknown_not_guessed)
{
	json_t *job = json_pack("{s:s,s:[]}", "id", JOB, "synchronizationJobSettings");
	json_t *schema = json_loads(SCHEMA_BODY(KEEP_CN), 0, NULL);
	gb_graph_sync_job *j = NULL;
	gb_error err;

	cr_assert_eq(gb_graph_sync_job_parse(job, schema, RULE, &j, &err), 0, "%s", err.msg);
	cr_assert_eq(j->scope, GB_SYNC_SCOPE_UNKNOWN);
	cr_assert_eq(j->membership, GB_TRI_UNKNOWN);
	gb_graph_sync_job_free(j);
	gb_graph_sync_job_free(NULL);
	{
		json_t *empty = json_object();
		cr_assert_eq(gb_graph_sync_job_parse(empty, schema, RULE, &j, &err), GB_EPARSE);
		cr_assert_null(j);
		json_decref(empty);
	}
	cr_assert_eq(gb_graph_sync_job_parse(job, job, RULE, &j, &err), GB_EPARSE);
	json_decref(job);
	json_decref(schema);
}
