/* resources.c: the migration's group resources: writeback configuration, source of authority, the tenant's
 * synchronization features, a group's directory extension value, provisionOnDemand. Applications, service
 * principals, extension properties and app roles are in apps.c. */
#include "graph/graph_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/buf.h"
#include "groupbridge/util.h"

#define URL_MAX (16 * 1024)

static gb_tri tri_of(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (json_is_true(v))
		return GB_TRI_TRUE;
	if (json_is_false(v))
		return GB_TRI_FALSE;
	return GB_TRI_UNKNOWN;
}

/* ---- writebackConfiguration (beta) ---- */

int gb_graph_get_writeback(gb_graph *g, const char *group_id, gb_tri *enabled, char **group_type, gb_error *err)
{
	gb_buf url;
	json_t *o = NULL, *wb;
	int rc;

	*enabled = GB_TRI_UNKNOWN;
	*group_type = NULL;
	gb_buf_init(&url, URL_MAX);
	rc = gb_graph__require_id("reading writebackConfiguration", group_id, err);
	if (!rc)
		rc = gb_graph_url(&url, err, "/beta/groups/%s?$select=id,writebackConfiguration", group_id);
	if (!rc)
		rc = gb_graph_call(g, "GET", gb_buf_cstr(&url), NULL, &o, err);
	if (rc)
		goto cleanup;
	wb = json_object_get(o, "writebackConfiguration");
	if (wb && !json_is_null(wb) && !json_is_object(wb)) {
		rc = gb_error_set(err, GB_EPARSE, "group %s: writebackConfiguration is not an object", group_id);
		goto cleanup;
	}
	*enabled = tri_of(wb, "isEnabled");
	if (gb_graph__dupstr(group_type, wb, "onPremisesGroupType"))
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
cleanup:
	json_decref(o);
	gb_buf_free(&url);
	return rc;
}

int gb_graph_set_writeback(gb_graph *g, const char *group_id, bool enabled, const char *group_type, gb_error *err)
{
	gb_buf url;
	json_t *body = NULL, *wb;
	int rc;

	gb_buf_init(&url, URL_MAX);
	rc = gb_graph__require_id("setting writebackConfiguration", group_id, err);
	if (!rc)
		rc = gb_graph_url(&url, err, "/beta/groups/%s", group_id);
	if (rc)
		goto cleanup;
	body = json_object();
	wb = json_object();
	if (!body || !wb || json_object_set_new(body, "writebackConfiguration", wb) ||
	    json_object_set_new(wb, "isEnabled", json_boolean(enabled)) ||
	    (group_type && json_object_set_new(wb, "onPremisesGroupType", json_string(group_type)))) {
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
		goto cleanup;
	}
	rc = gb_graph_call(g, "PATCH", gb_buf_cstr(&url), body, NULL, err);
cleanup:
	json_decref(body);
	gb_buf_free(&url);
	return rc;
}

/* ---- onPremisesSyncBehavior (v1.0) ---- */

#define SOA "soa"

/* isCloudManaged from the documented GET shape ({"value":{...}}), a one-element array, or the plain object (the
 * PATCH reply). */
static const json_t *sync_behavior_of(const json_t *o)
{
	const json_t *v = json_object_get(o, "value");

	if (json_is_array(v))
		v = json_array_size(v) == 1 ? json_array_get(v, 0) : NULL;
	else if (!json_is_object(v))
		v = o;
	return json_object_get(v, "isCloudManaged");
}

typedef struct soa_read {
	const char *group_id;
	const char *url;
	bool value;
	const char *want; /* the value this client wrote, or NULL */
} soa_read;

static int soa_get(gb_graph *g, void *ud, gb_error *err)
{
	soa_read *s = ud;
	json_t *o = NULL;
	const json_t *icm;
	int rc = gb_graph_call(g, "GET", s->url, NULL, &o, err);

	if (!rc) {
		icm = sync_behavior_of(o);
		if (!json_is_boolean(icm))
			rc = gb_error_set(err, GB_EPARSE, "GET %s: the reply has no boolean isCloudManaged", s->url);
		else
			s->value = json_is_true(icm);
	}
	json_decref(o);
	return rc;
}

static bool soa_seen(void *ud)
{
	const soa_read *s = ud;

	return !s->want || s->value == (strcmp(s->want, "true") == 0);
}

int gb_graph_get_sync_behavior(gb_graph *g, const char *group_id, bool *is_cloud_managed, gb_error *err)
{
	gb_buf url;
	soa_read s = {group_id, NULL, false, NULL};
	char what[128];
	int rc;

	gb_buf_init(&url, URL_MAX);
	rc = gb_graph__require_id("reading onPremisesSyncBehavior", group_id, err);
	/* $select as in Microsoft's own SOA scripts (the reference page says query parameters are not supported) */
	if (!rc)
		rc = gb_graph_url(&url, err, "/v1.0/groups/%s/onPremisesSyncBehavior?$select=id,isCloudManaged", group_id);
	if (!rc) {
		s.url = gb_buf_cstr(&url);
		gb_graph__written(g, SOA, group_id, &s.want);
		snprintf(what, sizeof(what), "group %s: onPremisesSyncBehavior", group_id);
		rc = gb_graph__settle(g, what, soa_get, soa_seen, &s, err);
	}
	if (!rc)
		*is_cloud_managed = s.value;
	gb_buf_free(&url);
	return rc;
}

int gb_graph_set_sync_behavior(gb_graph *g, const char *group_id, bool is_cloud_managed, gb_error *err)
{
	gb_buf url;
	json_t *body = NULL, *o = NULL;
	const json_t *icm;
	int rc;

	gb_buf_init(&url, URL_MAX);
	rc = gb_graph__require_id("setting onPremisesSyncBehavior", group_id, err);
	if (!rc)
		rc = gb_graph_url(&url, err, "/v1.0/groups/%s/onPremisesSyncBehavior", group_id);
	if (rc)
		goto cleanup;
	body = json_pack("{s:s, s:b}", "@odata.type", "#microsoft.graph.onPremisesSyncBehavior", "isCloudManaged",
			 is_cloud_managed);
	if (!body) {
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
		goto cleanup;
	}
	rc = gb_graph_call(g, "PATCH", gb_buf_cstr(&url), body, &o, err);
	if (rc)
		goto cleanup;
	/* The documented reply is 200 with the object: it says what Graph now holds (204 says nothing). */
	icm = sync_behavior_of(o);
	if (o && json_is_boolean(icm) && json_is_true(icm) != is_cloud_managed)
		rc = gb_error_set(err, GB_ECONFLICT, "PATCH %s: Graph answered isCloudManaged %s, not %s", gb_buf_cstr(&url),
				  json_is_true(icm) ? "true" : "false", is_cloud_managed ? "true" : "false");
	else
		rc = gb_graph__wrote(g, SOA, group_id, is_cloud_managed ? "true" : "false", err);
cleanup:
	json_decref(o);
	json_decref(body);
	gb_buf_free(&url);
	return rc;
}

/* ---- onPremisesSynchronization features ---- */

void gb_graph_sync_features_free(gb_graph_sync_features *f)
{
	if (!f)
		return;
	free(f->id);
	free(f);
}

int gb_graph_get_sync_features(gb_graph *g, gb_graph_sync_features **out, gb_error *err)
{
	json_t *o = NULL, *v, *feat;
	gb_graph_sync_features *f = NULL;
	int rc;

	*out = NULL;
	rc = gb_graph_call(g, "GET", "/v1.0/directory/onPremisesSynchronization", NULL, &o, err);
	if (rc)
		return rc;
	v = json_object_get(o, "value");
	v = json_is_array(v) ? json_array_get(v, 0) : o;
	if (!json_is_object(v) || !json_object_get(v, "features")) {
		rc = gb_error_set(err, GB_ENOTFOUND, "GET /v1.0/directory/onPremisesSynchronization: the tenant reports "
				  "no synchronization configuration");
		goto cleanup;
	}
	feat = json_object_get(v, "features");
	f = calloc(1, sizeof(*f));
	if (!f || gb_graph__dupstr(&f->id, v, "id")) {
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
		goto cleanup;
	}
	f->group_writeback_enabled = tri_of(feat, "groupWriteBackEnabled");
	f->unified_group_writeback_enabled = tri_of(feat, "unifiedGroupWritebackEnabled");
	f->block_hard_match_enabled = tri_of(feat, "blockCloudObjectTakeoverThroughHardMatchEnabled");
	f->block_soft_match_enabled = tri_of(feat, "blockSoftMatchEnabled");
	f->directory_extensions_enabled = tri_of(feat, "directoryExtensionsEnabled");
	*out = f;
	f = NULL;
cleanup:
	gb_graph_sync_features_free(f);
	json_decref(o);
	return rc;
}

/* ---- a group's directory extension value ---- */

#define EXT "ext"

/* UTF-16 code units of UTF-8 text (Graph, a .NET service, counts string lengths in them). */
static size_t utf16_units(const char *s)
{
	size_t n = 0;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c & 0xC0) != 0x80)
			n += c >= 0xF0 ? 2 : 1; /* a character beyond the BMP is a surrogate pair */
	}
	return n;
}

static int ext_key(char *dst, size_t n, const char *group_id, const char *ext_name)
{
	return (size_t)snprintf(dst, n, "%s/%s", group_id, ext_name) >= n ? GB_EINVAL : 0;
}

int gb_graph_set_group_extension_value(gb_graph *g, const char *group_id, const char *ext_name, const char *value,
				       gb_error *err)
{
	gb_buf url;
	json_t *body = NULL;
	char key[512];
	int rc;

	gb_buf_init(&url, URL_MAX);
	rc = gb_graph__require_id("setting a group extension", group_id, err);
	if (!rc && value && utf16_units(value) > GB_GRAPH_EXTENSION_VALUE_MAX)
		rc = gb_error_set(err, GB_EINVAL, "group %s: the value for %s has %zu characters; a String directory "
				  "extension holds at most %d", group_id, ext_name, utf16_units(value),
				  GB_GRAPH_EXTENSION_VALUE_MAX);
	if (!rc && ext_key(key, sizeof(key), group_id, ext_name))
		rc = gb_error_set(err, GB_EINVAL, "group %s: extension name too long", group_id);
	if (!rc)
		rc = gb_graph_url(&url, err, "/v1.0/groups/%s", group_id);
	if (rc)
		goto cleanup;
	body = json_object();
	if (!body || json_object_set_new(body, ext_name, value ? json_string(value) : json_null())) {
		rc = gb_error_set(err, GB_ENOMEM, "out of memory or a value that is not UTF-8");
		goto cleanup;
	}
	rc = gb_graph_call(g, "PATCH", gb_buf_cstr(&url), body, NULL, err);
	if (!rc)
		rc = gb_graph__wrote(g, EXT, key, value, err);
cleanup:
	json_decref(body);
	gb_buf_free(&url);
	return rc;
}

typedef struct ext_read {
	const char *url;
	const char *ext_name;
	char *value;
	bool expect;       /* this client wrote it */
	const char *want;
} ext_read;

static int ext_get(gb_graph *g, void *ud, gb_error *err)
{
	ext_read *e = ud;
	json_t *o = NULL, *v;
	int rc = gb_graph_call(g, "GET", e->url, NULL, &o, err);

	free(e->value);
	e->value = NULL;
	if (!rc) {
		v = json_object_get(o, e->ext_name);
		if (v && !json_is_null(v) && !json_is_string(v))
			rc = gb_error_set(err, GB_EPARSE, "GET %s: %s is not a string", e->url, e->ext_name);
		else if (json_is_string(v) && !(e->value = gb_strdup(json_string_value(v))))
			rc = gb_error_set(err, GB_ENOMEM, "out of memory");
	}
	json_decref(o);
	return rc;
}

static bool ext_seen(void *ud)
{
	const ext_read *e = ud;

	if (!e->expect)
		return true;
	if (!e->want || !e->value)
		return !e->want && !e->value;
	return strcmp(e->want, e->value) == 0;
}

int gb_graph_get_group_extension_value(gb_graph *g, const char *group_id, const char *ext_name, char **value,
				       gb_error *err)
{
	gb_buf url;
	ext_read e;
	char key[512], what[600];
	int rc;

	*value = NULL;
	memset(&e, 0, sizeof(e));
	gb_buf_init(&url, URL_MAX);
	rc = gb_graph__require_id("reading a group extension", group_id, err);
	/* the name goes into $select: it must be an extension name and nothing else */
	if (!rc && (!gb_graph__extension_ok(ext_name) || ext_key(key, sizeof(key), group_id, ext_name)))
		rc = gb_error_set(err, GB_EINVAL, "\"%s\" is not of the form extension_<app id without hyphens>_<name>",
				  ext_name ? ext_name : "");
	if (!rc)
		rc = gb_graph_url(&url, err, "/v1.0/groups/%s?$select=id,%s", group_id, ext_name);
	if (!rc) {
		e.url = gb_buf_cstr(&url);
		e.ext_name = ext_name;
		e.expect = gb_graph__written(g, EXT, key, &e.want);
		snprintf(what, sizeof(what), "group %s: %s", group_id, ext_name);
		rc = gb_graph__settle(g, what, ext_get, ext_seen, &e, err);
	}
	if (!rc) {
		*value = e.value;
		e.value = NULL;
	}
	free(e.value);
	gb_buf_free(&url);
	return rc;
}

/* ---- provisionOnDemand ---- */

int gb_graph_provision_on_demand_parse(const json_t *reply, char **result, char **details, gb_error *err)
{
	const char *key = gb_graph__str(reply, "key");
	json_t *parsed = key ? json_loads(key, 0, NULL) : NULL;
	const char *res = gb_graph__str(parsed, "result");
	json_t *det = json_object_get(parsed, "details");
	int rc = 0;

	if (result)
		*result = NULL;
	if (details)
		*details = NULL;
	/* The result is in "key" as JSON text; "value" holds the provisioning steps, or "{}". */
	if (!json_is_object(parsed) || !res)
		rc = gb_error_set(err, GB_EPARSE, "provisionOnDemand: the reply's key is not a JSON object with a result "
				  "(%.200s)", key ? key : "no key");
	else if (result && !(*result = gb_strdup(res)))
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
	else if (details && det && !(*details = json_dumps(det, JSON_COMPACT | JSON_ENCODE_ANY)))
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
	if (rc && result) {
		free(*result);
		*result = NULL;
	}
	json_decref(parsed);
	return rc;
}

static json_t *pod_body(const char *rule_id, const char *group_id, const char *const *member_ids, size_t nmembers)
{
	json_t *subject = json_pack("{s:s, s:s}", "objectId", group_id, "objectTypeName", "Group"), *members = NULL;
	size_t i;

	if (subject && nmembers) {
		members = json_array();
		for (i = 0; members && i < nmembers; i++)
			if (json_array_append_new(members, json_pack("{s:s, s:s}", "objectId", member_ids[i],
								     "objectTypeName", "User"))) {
				json_decref(members);
				members = NULL;
			}
		if (!members || json_object_set_new(subject, "links", json_pack("{s:o}", "members", members))) {
			json_decref(subject);
			return NULL;
		}
	}
	return subject ? json_pack("{s:[{s:s, s:[o]}]}", "parameters", "ruleId", rule_id, "subjects", subject) : NULL;
}

int gb_graph_provision_on_demand(gb_graph *g, const char *sp_id, const char *job_id, const char *rule_id,
				 const char *group_id, const char *const *member_ids, size_t nmembers, char **result,
				 char **details, gb_error *err)
{
	gb_buf url;
	json_t *body = NULL, *o = NULL;
	int rc;

	if (result)
		*result = NULL;
	if (details)
		*details = NULL;
	if (nmembers > 5)
		return gb_error_set(err, GB_EINVAL, "provisionOnDemand takes one group and at most 5 members, not %zu",
				    nmembers);
	gb_buf_init(&url, URL_MAX);
	rc = gb_graph__require_id("provisionOnDemand", sp_id, err);
	if (!rc)
		rc = gb_graph__require_id("provisionOnDemand", job_id, err);
	if (!rc)
		rc = gb_graph__require_id("provisionOnDemand", rule_id, err);
	if (!rc)
		rc = gb_graph__require_id("provisionOnDemand", group_id, err);
	if (!rc)
		rc = gb_graph_url(&url, err, "/v1.0/servicePrincipals/%s/synchronization/jobs/%s/provisionOnDemand", sp_id,
				  job_id);
	if (!rc && !(body = pod_body(rule_id, group_id, member_ids, nmembers)))
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
	if (!rc)
		rc = gb_graph_call(g, "POST", gb_buf_cstr(&url), body, &o, err);
	if (!rc) {
		rc = gb_graph_provision_on_demand_parse(o, result, details, err);
		if (rc)
			gb_error_prefix(err, "POST %s", gb_buf_cstr(&url));
	}
	json_decref(body);
	json_decref(o);
	gb_buf_free(&url);
	return rc;
}
