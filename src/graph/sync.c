/* sync.c: a Cloud Sync job's settings and its group rule's mappings (graph_sync.h), read through the requests layer
 * (request.c) with reply.c's helpers; the interpretation is pure (gb_graph_sync_job_parse). */
#include "graph/graph_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "groupbridge/buf.h"
#include "groupbridge/graph_sync.h"
#include "groupbridge/util.h"

#define URL_MAX (16 * 1024)

void gb_graph_sync_job_free(gb_graph_sync_job *j)
{
	if (!j)
		return;
	free(j->job_id);
	free(j->rule_id);
	free(j->container);
	free(j->cn_expression);
	free(j);
}

const char *gb_graph_sync_scope_name(gb_graph_sync_scope s)
{
	return s == GB_SYNC_SCOPE_SELECTED ? "selected security groups"
	       : s == GB_SYNC_SCOPE_ALL   ? "all security groups"
					  : "unknown";
}

/* The value of setting name in synchronizationJobSettings (keyValuePair list), or NULL. */
static const char *setting(const json_t *job, const char *name)
{
	json_t *list = json_object_get(job, "synchronizationJobSettings"), *kv;
	size_t i;

	json_array_foreach(list, i, kv) {
		const char *k = gb_graph__str(kv, "name");
		if (k && strcasecmp(k, name) == 0)
			return gb_graph__str(kv, "value");
	}
	return NULL;
}

static gb_tri tri_text(const char *v)
{
	if (!v)
		return GB_TRI_UNKNOWN;
	if (strcasecmp(v, "true") == 0)
		return GB_TRI_TRUE;
	if (strcasecmp(v, "false") == 0)
		return GB_TRI_FALSE;
	return GB_TRI_UNKNOWN;
}

/* The rule rule_id of the schema, or NULL with the ids it has in seen. */
static const json_t *find_rule(const json_t *schema, const char *rule_id, gb_buf *seen)
{
	json_t *rules = json_object_get(schema, "synchronizationRules"), *r;
	size_t i;

	json_array_foreach(rules, i, r) {
		const char *id = gb_graph__str(r, "id");
		if (id && strcmp(id, rule_id) == 0)
			return r;
		gb_buf_printf(seen, NULL, "%s%s", seen->len ? ", " : "", id ? id : "(no id)");
	}
	return NULL;
}

/* Takes the parentDistinguishedName and cn mappings of the rule's group object mapping. */
static int take_mappings(const json_t *rule, gb_graph_sync_job *j, gb_error *err)
{
	json_t *maps = json_object_get(rule, "objectMappings"), *om, *am;
	size_t i, k;

	json_array_foreach(maps, i, om) {
		const char *target = gb_graph__str(om, "targetObjectName");
		if (target && strcasecmp(target, "group") != 0)
			continue;
		json_array_foreach(json_object_get(om, "attributeMappings"), k, am) {
			const char *attr = gb_graph__str(am, "targetAttributeName");
			json_t *src = json_object_get(am, "source");
			const char *type = gb_graph__str(src, "type"), *expr = gb_graph__str(src, "expression");
			const char *name = gb_graph__str(src, "name");
			bool constant = type && strcasecmp(type, "Constant") == 0;
			char **dst = NULL;

			if (attr && strcasecmp(attr, "parentDistinguishedName") == 0 && !j->container) {
				dst = &j->container;
				j->container_constant = constant;
				/* attributeMappingSource: a constant's value is its name; expression quotes it */
				*dst = gb_strdup(constant && name ? name : expr ? expr : name ? name : "");
			} else if (attr && strcasecmp(attr, "cn") == 0 && !j->cn_expression) {
				dst = &j->cn_expression;
				*dst = gb_strdup(expr ? expr : constant && name ? name : "");
			}
			if (dst && !*dst)
				return gb_error_set(err, GB_ENOMEM, "out of memory");
		}
	}
	return 0;
}

int gb_graph_sync_job_parse(const json_t *job, const json_t *schema, const char *rule_id, gb_graph_sync_job **out,
			    gb_error *err)
{
	gb_graph_sync_job *j = NULL;
	const json_t *rule;
	const char *all;
	gb_buf seen;
	int rc = 0;

	*out = NULL;
	if (!json_is_object(job) || !gb_graph__str(job, "id"))
		return gb_error_set(err, GB_EPARSE, "the synchronization job reply has no id: not a synchronizationJob");
	if (!json_is_object(schema) || !json_is_array(json_object_get(schema, "synchronizationRules")))
		return gb_error_set(err, GB_EPARSE, "the schema of job %s has no synchronizationRules",
				    gb_graph__str(job, "id"));
	if (!rule_id || !*rule_id)
		return gb_error_set(err, GB_EINVAL, "no synchronization rule id given for job %s", gb_graph__str(job, "id"));
	gb_buf_init(&seen, 4096);
	rule = find_rule(schema, rule_id, &seen);
	if (!rule)
		rc = gb_error_set(err, GB_ENOTFOUND, "the schema of job %s has no synchronization rule %s (its rules: %s)",
				  gb_graph__str(job, "id"), rule_id, seen.len ? gb_buf_cstr(&seen) : "none");
	gb_buf_free(&seen);
	if (rc)
		return rc;
	j = calloc(1, sizeof(*j));
	if (!j || !(j->job_id = gb_strdup(gb_graph__str(job, "id"))) || !(j->rule_id = gb_strdup(rule_id))) {
		gb_graph_sync_job_free(j);
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	}
	all = setting(job, "SyncAll");
	j->scope = tri_text(all) == GB_TRI_TRUE ? GB_SYNC_SCOPE_ALL
		   : tri_text(all) == GB_TRI_FALSE ? GB_SYNC_SCOPE_SELECTED
						   : GB_SYNC_SCOPE_UNKNOWN;
	j->membership = tri_text(setting(job, "ProvisionMembershipToOnPremisesUsers"));
	rc = take_mappings(rule, j, err);
	if (rc) {
		gb_graph_sync_job_free(j);
		return rc;
	}
	*out = j;
	return 0;
}

int gb_graph_sync_job_read(gb_graph *g, const char *sp_id, const char *job_id, const char *rule_id,
			   gb_graph_sync_job **out, gb_error *err)
{
	json_t *job = NULL, *schema = NULL;
	gb_buf url;
	int rc = 0;

	*out = NULL;
	if (!sp_id || !*sp_id || !job_id || !*job_id)
		return gb_error_set(err, GB_EINVAL, "reading a Cloud Sync job: the service principal and the job id are "
						    "needed");
	gb_buf_init(&url, URL_MAX);
	rc = gb_graph_url(&url, err, "/v1.0/servicePrincipals/%s/synchronization/jobs/%s", sp_id, job_id);
	if (!rc)
		rc = gb_graph_call(g, "GET", gb_buf_cstr(&url), NULL, &job, err);
	if (!rc)
		rc = gb_buf_puts(&url, "/schema", err);
	if (!rc)
		rc = gb_graph_call(g, "GET", gb_buf_cstr(&url), NULL, &schema, err);
	if (!rc)
		rc = gb_graph_sync_job_parse(job, schema, rule_id, out, err);
	json_decref(job);
	json_decref(schema);
	gb_buf_free(&url);
	return rc;
}
