/* resources.c: the migration's Graph resources: writeback configuration, source of authority, synchronization
 * features, the extension application and its GroupDN property, app role assignments, provisionOnDemand; and the
 * probe for `config check`. */
#include "graph/graph_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/buf.h"
#include "groupbridge/util.h"

#define URL_MAX (16 * 1024)

/* Builds a URL from fmt where every %s argument is a path segment or a literal query value (escaped). */
static int url_of(gb_buf *b, gb_error *err, const char *fmt, ...)
{
	va_list ap;
	const char *p;
	int rc = 0;

	va_start(ap, fmt);
	for (p = fmt; *p && !rc; p++) {
		if (p[0] == '%' && p[1] == 's') {
			const char *arg = va_arg(ap, const char *);
			char *e = curl_easy_escape(NULL, arg ? arg : "", 0);

			if (!e) {
				rc = gb_error_set(err, GB_ENOMEM, "out of memory encoding a URL");
				break;
			}
			rc = gb_buf_puts(b, e, err);
			curl_free(e);
			p++;
		} else {
			rc = gb_buf_putc(b, *p, err);
		}
	}
	va_end(ap);
	return rc;
}

static int dupo(char **dst, const json_t *o, const char *key)
{
	const char *s = gb_graph__str(o, key);

	*dst = NULL;
	if (!s)
		return 0;
	*dst = gb_strdup(s);
	return *dst ? 0 : -1;
}

static gb_tri tri_of(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (json_is_true(v))
		return GB_TRI_TRUE;
	if (json_is_false(v))
		return GB_TRI_FALSE;
	return GB_TRI_UNKNOWN;
}

static int require_id(const char *what, const char *id, gb_error *err)
{
	if (!id || !*id)
		return gb_error_set(err, GB_EINVAL, "%s: an object id is needed", what);
	return 0;
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
	rc = require_id("reading writebackConfiguration", group_id, err);
	if (!rc)
		rc = url_of(&url, err, "/beta/groups/%s?$select=id,writebackConfiguration", group_id);
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
	if (dupo(group_type, wb, "onPremisesGroupType"))
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
	rc = require_id("setting writebackConfiguration", group_id, err);
	if (!rc)
		rc = url_of(&url, err, "/beta/groups/%s", group_id);
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

/* ---- onPremisesSyncBehavior (beta) ---- */

int gb_graph_get_sync_behavior(gb_graph *g, const char *group_id, bool *is_cloud_managed, gb_error *err)
{
	gb_buf url;
	json_t *o = NULL, *v, *icm;
	int rc;

	gb_buf_init(&url, URL_MAX);
	rc = require_id("reading onPremisesSyncBehavior", group_id, err);
	if (!rc)
		rc = url_of(&url, err, "/beta/groups/%s/onPremisesSyncBehavior?$select=id,isCloudManaged", group_id);
	if (!rc)
		rc = gb_graph_call(g, "GET", gb_buf_cstr(&url), NULL, &o, err);
	if (rc)
		goto cleanup;
	/* The documented GET example wraps the object in "value"; the PATCH reply does not; accept a one-element
	 * array too. */
	v = json_object_get(o, "value");
	if (json_is_array(v))
		v = json_array_size(v) == 1 ? json_array_get(v, 0) : NULL;
	else if (!json_is_object(v))
		v = o;
	icm = json_object_get(v, "isCloudManaged");
	if (!json_is_boolean(icm)) {
		rc = gb_error_set(err, GB_EPARSE, "GET %s: the reply has no boolean isCloudManaged",
				  gb_buf_cstr(&url));
		goto cleanup;
	}
	*is_cloud_managed = json_is_true(icm);
cleanup:
	json_decref(o);
	gb_buf_free(&url);
	return rc;
}

int gb_graph_set_sync_behavior(gb_graph *g, const char *group_id, bool is_cloud_managed, gb_error *err)
{
	gb_buf url;
	json_t *body = NULL;
	int rc;

	gb_buf_init(&url, URL_MAX);
	rc = require_id("setting onPremisesSyncBehavior", group_id, err);
	if (!rc)
		rc = url_of(&url, err, "/beta/groups/%s/onPremisesSyncBehavior", group_id);
	if (rc)
		goto cleanup;
	body = json_pack("{s:s, s:b}", "@odata.type", "#microsoft.graph.onPremisesSyncBehavior", "isCloudManaged",
			 is_cloud_managed);
	if (!body) {
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
		goto cleanup;
	}
	rc = gb_graph_call(g, "PATCH", gb_buf_cstr(&url), body, NULL, err);
cleanup:
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
	if (!f || dupo(&f->id, v, "id")) {
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

/* ---- applications, service principals, extension properties ---- */

void gb_graph_app_free(gb_graph_app *a)
{
	if (!a)
		return;
	free(a->id);
	free(a->app_id);
	free(a->display_name);
	free(a);
}

static int app_from(const json_t *o, gb_graph_app **out, gb_error *err)
{
	gb_graph_app *a = calloc(1, sizeof(*a));

	if (!a || dupo(&a->id, o, "id") || dupo(&a->app_id, o, "appId") || dupo(&a->display_name, o, "displayName")) {
		gb_graph_app_free(a);
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	}
	if (!a->id || !a->app_id) {
		gb_graph_app_free(a);
		return gb_error_set(err, GB_EPARSE, "an application record lacks id or appId");
	}
	*out = a;
	return 0;
}

static int ext_app_uri(gb_graph *g, gb_buf *b, gb_error *err)
{
	return gb_buf_printf(b, err, "api://%s/" GB_GRAPH_EXT_APP_NAME, g->tenant_id);
}

int gb_graph_find_extension_app(gb_graph *g, gb_graph_app **out, gb_error *err)
{
	gb_buf uri, filter, url;
	json_t *o = NULL, *v;
	int rc;

	*out = NULL;
	gb_buf_init(&uri, 1024);
	gb_buf_init(&filter, 2048);
	gb_buf_init(&url, URL_MAX);
	rc = ext_app_uri(g, &uri, err);
	if (!rc)
		rc = gb_buf_printf(&filter, err, "identifierUris/any(uri:uri eq '%s')", gb_buf_cstr(&uri));
	if (!rc)
		rc = url_of(&url, err, "/v1.0/applications?$filter=%s&$select=id,appId,displayName,identifierUris",
			    gb_buf_cstr(&filter));
	if (!rc)
		rc = gb_graph_call(g, "GET", gb_buf_cstr(&url), NULL, &o, err);
	if (rc)
		goto cleanup;
	v = json_object_get(o, "value");
	if (!json_is_array(v) || json_array_size(v) == 0) {
		rc = gb_error_set(err, GB_ENOTFOUND, "no application has the identifier URI %s", gb_buf_cstr(&uri));
		goto cleanup;
	}
	rc = app_from(json_array_get(v, 0), out, err);
cleanup:
	json_decref(o);
	gb_buf_free(&uri);
	gb_buf_free(&filter);
	gb_buf_free(&url);
	return rc;
}

int gb_graph_create_extension_app(gb_graph *g, gb_graph_app **out, gb_error *err)
{
	gb_buf uri;
	json_t *body = NULL, *o = NULL;
	int rc;

	*out = NULL;
	gb_buf_init(&uri, 1024);
	rc = ext_app_uri(g, &uri, err);
	if (rc)
		goto cleanup;
	body = json_pack("{s:s, s:[s]}", "displayName", GB_GRAPH_EXT_APP_NAME, "identifierUris", gb_buf_cstr(&uri));
	if (!body) {
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
		goto cleanup;
	}
	rc = gb_graph_call(g, "POST", "/v1.0/applications", body, &o, err);
	if (!rc)
		rc = app_from(o, out, err);
cleanup:
	json_decref(body);
	json_decref(o);
	gb_buf_free(&uri);
	return rc;
}

int gb_graph_find_service_principal(gb_graph *g, const char *app_id, char **out, gb_error *err)
{
	gb_buf filter, url;
	json_t *o = NULL, *v;
	int rc;

	*out = NULL;
	gb_buf_init(&filter, 1024);
	gb_buf_init(&url, URL_MAX);
	rc = require_id("finding a service principal", app_id, err);
	if (!rc)
		rc = gb_buf_printf(&filter, err, "appId eq '%s'", app_id);
	if (!rc)
		rc = url_of(&url, err, "/v1.0/servicePrincipals?$filter=%s&$select=id,appId", gb_buf_cstr(&filter));
	if (!rc)
		rc = gb_graph_call(g, "GET", gb_buf_cstr(&url), NULL, &o, err);
	if (rc)
		goto cleanup;
	v = json_object_get(o, "value");
	v = json_is_array(v) ? json_array_get(v, 0) : NULL;
	if (!gb_graph__str(v, "id")) {
		rc = gb_error_set(err, GB_ENOTFOUND, "no service principal for application %s", app_id);
		goto cleanup;
	}
	*out = gb_strdup(gb_graph__str(v, "id"));
	if (!*out)
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
cleanup:
	json_decref(o);
	gb_buf_free(&filter);
	gb_buf_free(&url);
	return rc;
}

int gb_graph_create_service_principal(gb_graph *g, const char *app_id, char **out, gb_error *err)
{
	json_t *body, *o = NULL;
	int rc;

	*out = NULL;
	rc = require_id("creating a service principal", app_id, err);
	if (rc)
		return rc;
	body = json_pack("{s:s}", "appId", app_id);
	if (!body)
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	rc = gb_graph_call(g, "POST", "/v1.0/servicePrincipals", body, &o, err);
	json_decref(body);
	if (rc)
		return rc;
	if (!gb_graph__str(o, "id"))
		rc = gb_error_set(err, GB_EPARSE, "POST /v1.0/servicePrincipals: the reply has no id");
	else if (!(*out = gb_strdup(gb_graph__str(o, "id"))))
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
	json_decref(o);
	return rc;
}

int gb_graph_extension_name(const char *app_id, const char *name, char *dst, size_t n, gb_error *err)
{
	char hex[33];
	size_t i, k = 0;

	for (i = 0; app_id && app_id[i]; i++) {
		if (app_id[i] == '-')
			continue;
		if (!isxdigit((unsigned char)app_id[i]) || k == 32)
			goto bad;
		hex[k++] = (char)tolower((unsigned char)app_id[i]);
	}
	if (k != 32)
		goto bad;
	hex[k] = '\0';
	if (!name || !*name)
		return gb_error_set(err, GB_EINVAL, "an extension needs a name");
	if ((size_t)snprintf(dst, n, "extension_%s_%s", hex, name) >= n)
		return gb_error_set(err, GB_EINVAL, "extension name for %s is too long", name);
	return 0;
bad:
	return gb_error_set(err, GB_EINVAL, "\"%s\" is not an application id (a GUID)", app_id ? app_id : "");
}

void gb_graph_extension_list_free(gb_graph_extension_list *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->n; i++) {
		free(l->items[i].id);
		free(l->items[i].name);
		free(l->items[i].data_type);
	}
	free(l->items);
	free(l);
}


static int on_ext(const json_t *item, void *ud, gb_error *err)
{
	gb_graph_extension_list *l = ud;
	gb_graph_extension_property *p = realloc(l->items, (l->n + 1) * sizeof(*p)), *e;
	json_t *targets, *t;
	size_t i;

	if (!p)
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	l->items = p;
	e = &p[l->n];
	memset(e, 0, sizeof(*e));
	l->n++;
	if (dupo(&e->id, item, "id") || dupo(&e->name, item, "name") || dupo(&e->data_type, item, "dataType"))
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	if (!e->name)
		return gb_error_set(err, GB_EPARSE, "an extension property record has no name");
	targets = json_object_get(item, "targetObjects");
	json_array_foreach(targets, i, t)
		if (json_is_string(t) && strcmp(json_string_value(t), "Group") == 0)
			e->targets_group = true;
	return 0;
}

int gb_graph_list_extension_properties(gb_graph *g, const char *app_object_id, gb_graph_extension_list **out,
				       gb_error *err)
{
	gb_buf url;
	gb_graph_extension_list *l = NULL;
	int rc;

	*out = NULL;
	gb_buf_init(&url, URL_MAX);
	rc = require_id("listing extension properties", app_object_id, err);
	if (!rc)
		rc = url_of(&url, err, "/v1.0/applications/%s/extensionProperties", app_object_id);
	if (rc)
		goto cleanup;
	l = calloc(1, sizeof(*l));
	if (!l) {
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
		goto cleanup;
	}
	rc = gb_graph_each(g, gb_buf_cstr(&url), on_ext, l, err);
	if (!rc) {
		*out = l;
		l = NULL;
	}
cleanup:
	gb_graph_extension_list_free(l);
	gb_buf_free(&url);
	return rc;
}

int gb_graph_create_extension_property(gb_graph *g, const char *app_object_id, const char *short_name, char **out,
				       gb_error *err)
{
	gb_buf url;
	json_t *body = NULL, *o = NULL;
	int rc;

	*out = NULL;
	gb_buf_init(&url, URL_MAX);
	rc = require_id("creating an extension property", app_object_id, err);
	if (!rc)
		rc = url_of(&url, err, "/v1.0/applications/%s/extensionProperties", app_object_id);
	if (rc)
		goto cleanup;
	body = json_pack("{s:s, s:s, s:b, s:[s]}", "name", short_name, "dataType", "String", "isMultiValued", 0,
			 "targetObjects", "Group");
	if (!body) {
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
		goto cleanup;
	}
	rc = gb_graph_call(g, "POST", gb_buf_cstr(&url), body, &o, err);
	if (rc)
		goto cleanup;
	if (!gb_graph__str(o, "name"))
		rc = gb_error_set(err, GB_EPARSE, "POST %s: the reply has no name", gb_buf_cstr(&url));
	else if (!(*out = gb_strdup(gb_graph__str(o, "name"))))
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
cleanup:
	json_decref(body);
	json_decref(o);
	gb_buf_free(&url);
	return rc;
}

int gb_graph_set_group_extension_value(gb_graph *g, const char *group_id, const char *ext_name, const char *value,
				       gb_error *err)
{
	gb_buf url;
	json_t *body = NULL;
	int rc;

	gb_buf_init(&url, URL_MAX);
	rc = require_id("setting a group extension", group_id, err);
	if (!rc)
		rc = url_of(&url, err, "/v1.0/groups/%s", group_id);
	if (rc)
		goto cleanup;
	body = json_object();
	if (!body || json_object_set_new(body, ext_name, value ? json_string(value) : json_null())) {
		rc = gb_error_set(err, GB_ENOMEM, "out of memory or a value that is not UTF-8");
		goto cleanup;
	}
	rc = gb_graph_call(g, "PATCH", gb_buf_cstr(&url), body, NULL, err);
cleanup:
	json_decref(body);
	gb_buf_free(&url);
	return rc;
}

/* ---- app role assignments ---- */

void gb_graph_role_assignment_list_free(gb_graph_role_assignment_list *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->n; i++) {
		free(l->items[i].id);
		free(l->items[i].principal_id);
		free(l->items[i].principal_type);
		free(l->items[i].app_role_id);
	}
	free(l->items);
	free(l);
}

static int on_assignment(const json_t *item, void *ud, gb_error *err)
{
	gb_graph_role_assignment_list *l = ud;
	gb_graph_role_assignment *p = realloc(l->items, (l->n + 1) * sizeof(*p)), *a;

	if (!p)
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	l->items = p;
	a = &p[l->n];
	memset(a, 0, sizeof(*a));
	l->n++;
	if (dupo(&a->id, item, "id") || dupo(&a->principal_id, item, "principalId") ||
	    dupo(&a->principal_type, item, "principalType") || dupo(&a->app_role_id, item, "appRoleId"))
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	if (!a->principal_id)
		return gb_error_set(err, GB_EPARSE, "an appRoleAssignment record has no principalId");
	return 0;
}

int gb_graph_list_app_role_assigned_to(gb_graph *g, const char *sp_id, gb_graph_role_assignment_list **out,
				       gb_error *err)
{
	gb_buf url;
	gb_graph_role_assignment_list *l = NULL;
	int rc;

	*out = NULL;
	gb_buf_init(&url, URL_MAX);
	rc = require_id("listing appRoleAssignedTo", sp_id, err);
	if (!rc)
		rc = url_of(&url, err, "/v1.0/servicePrincipals/%s/appRoleAssignedTo?$top=999", sp_id);
	if (rc)
		goto cleanup;
	l = calloc(1, sizeof(*l));
	if (!l) {
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
		goto cleanup;
	}
	rc = gb_graph_each(g, gb_buf_cstr(&url), on_assignment, l, err);
	if (!rc) {
		*out = l;
		l = NULL;
	}
cleanup:
	gb_graph_role_assignment_list_free(l);
	gb_buf_free(&url);
	return rc;
}

int gb_graph_assign_app_role(gb_graph *g, const char *sp_id, const char *principal_id, const char *app_role_id,
			     char **out, gb_error *err)
{
	gb_buf url;
	json_t *body = NULL, *o = NULL;
	int rc;

	if (out)
		*out = NULL;
	gb_buf_init(&url, URL_MAX);
	rc = require_id("assigning an app role", sp_id, err);
	if (!rc)
		rc = require_id("assigning an app role", principal_id, err);
	if (!rc)
		rc = require_id("assigning an app role", app_role_id, err);
	if (!rc)
		rc = url_of(&url, err, "/v1.0/servicePrincipals/%s/appRoleAssignedTo", sp_id);
	if (rc)
		goto cleanup;
	body = json_pack("{s:s, s:s, s:s}", "principalId", principal_id, "resourceId", sp_id, "appRoleId",
			 app_role_id);
	if (!body) {
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
		goto cleanup;
	}
	rc = gb_graph_call(g, "POST", gb_buf_cstr(&url), body, &o, err);
	if (!rc && out && gb_graph__str(o, "id") && !(*out = gb_strdup(gb_graph__str(o, "id"))))
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
cleanup:
	json_decref(body);
	json_decref(o);
	gb_buf_free(&url);
	return rc;
}

/* ---- provisionOnDemand ---- */

int gb_graph_provision_on_demand(gb_graph *g, const char *sp_id, const char *job_id, const char *rule_id,
				 const char *group_id, const char *const *member_ids, size_t nmembers, char **result,
				 char **details, gb_error *err)
{
	gb_buf url;
	json_t *body = NULL, *o = NULL, *members = NULL, *subject, *parsed = NULL;
	const char *value;
	size_t i;
	int rc;

	if (result)
		*result = NULL;
	if (details)
		*details = NULL;
	gb_buf_init(&url, URL_MAX);
	if (nmembers > 5)
		return gb_error_set(err, GB_EINVAL, "provisionOnDemand takes one group and at most 5 members, not %zu",
				    nmembers);
	rc = require_id("provisionOnDemand", sp_id, err);
	if (!rc)
		rc = require_id("provisionOnDemand", job_id, err);
	if (!rc)
		rc = require_id("provisionOnDemand", rule_id, err);
	if (!rc)
		rc = require_id("provisionOnDemand", group_id, err);
	if (!rc)
		rc = url_of(&url, err, "/v1.0/servicePrincipals/%s/synchronization/jobs/%s/provisionOnDemand", sp_id,
			    job_id);
	if (rc)
		goto cleanup;
	subject = json_pack("{s:s, s:s}", "objectId", group_id, "objectTypeName", "Group");
	members = json_array();
	if (!subject || !members) {
		json_decref(subject);
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
		goto cleanup;
	}
	for (i = 0; i < nmembers; i++)
		if (json_array_append_new(members, json_pack("{s:s, s:s}", "objectId", member_ids[i], "objectTypeName",
							     "User"))) {
			json_decref(subject);
			rc = gb_error_set(err, GB_ENOMEM, "out of memory");
			goto cleanup;
		}
	if (nmembers && json_object_set_new(subject, "links", json_pack("{s:O}", "members", members))) {
		json_decref(subject);
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
		goto cleanup;
	}
	body = json_pack("{s:[{s:s, s:[o]}]}", "parameters", "ruleId", rule_id, "subjects", subject);
	if (!body) {
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
		goto cleanup;
	}
	rc = gb_graph_call(g, "POST", gb_buf_cstr(&url), body, &o, err);
	if (rc)
		goto cleanup;
	/* The reply is a stringKeyStringValuePair whose value is itself JSON text: {"result": ..., "details": ...}. */
	value = gb_graph__str(o, "value");
	if (value)
		parsed = json_loads(value, 0, NULL);
	if (!json_is_object(parsed)) {
		rc = gb_error_set(err, GB_EPARSE, "POST %s: the reply's value is not a JSON object in a string",
				  gb_buf_cstr(&url));
		goto cleanup;
	}
	if (result && gb_graph__str(parsed, "result") && !(*result = gb_strdup(gb_graph__str(parsed, "result"))))
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
	if (!rc && details && json_object_get(parsed, "details") &&
	    !(*details = json_dumps(json_object_get(parsed, "details"), JSON_COMPACT | JSON_ENCODE_ANY)))
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
cleanup:
	json_decref(parsed);
	json_decref(members);
	json_decref(body);
	json_decref(o);
	gb_buf_free(&url);
	return rc;
}

/* ---- config check ---- */

int gb_graph_probe(const gb_config *cfg, char *detail, size_t n, gb_error *err)
{
	gb_graph *g = NULL;
	long left = 0;
	int rc;

	rc = gb_graph_new(cfg, &g, err);
	if (!rc)
		rc = gb_graph_token(g, &left, err);
	if (rc)
		snprintf(detail, n, "%s", err ? err->msg : gb_error_name(rc));
	else
		snprintf(detail, n, "token for client %s in tenant %s from %s, valid %ld s", g->client_id, g->tenant_id,
			 g->authority_url, left);
	gb_graph_free(g);
	return rc;
}
