/* apps.c: applications, service principals, extension properties and app role assignments: the
 * CloudSyncCustomExtensionsApp with its GroupDN extension, and handing groups to a Cloud Sync job. Creating POSTs
 * look the object up before they are sent again after a transport failure; reads after this client's creates wait
 * for Graph to show them (consistency.c). */
#include "graph/graph_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "groupbridge/buf.h"
#include "groupbridge/log.h"
#include "groupbridge/util.h"

#define URL_MAX (16 * 1024)

/* ---- applications ---- */

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

	if (!a || gb_graph__dupstr(&a->id, o, "id") || gb_graph__dupstr(&a->app_id, o, "appId") || gb_graph__dupstr(&a->display_name, o, "displayName")) {
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

/* api://<tenant GUID>/CloudSyncCustomExtensionsApp. Cloud Sync reads extensions of that application only, and its
 * URI holds the tenant's GUID (Microsoft's script takes (Get-MgOrganization).Id): a domain name in tenant_id, which
 * the token endpoint accepts, would make groupbridge miss the existing application and create one that Cloud Sync
 * ignores. Looking the GUID up (GET /organization) would need Organization.Read.All, a permission nothing else here
 * needs, so a tenant_id that is not a GUID is refused here, before anything is read or written. */
static int ext_app_uri(gb_graph *g, gb_buf *b, gb_error *err)
{
	if (!gb_graph_is_guid(g->tenant_id))
		return gb_error_set(err, GB_ECONFIG, "[graph] tenant_id \"%s\" is not the tenant's GUID: the identifier URI "
				    "api://<tenant id>/" GB_GRAPH_EXT_APP_NAME " that Cloud Sync reads extensions from holds "
				    "the GUID; set tenant_id to the Tenant ID the Entra admin center shows on its Overview "
				    "page", g->tenant_id);
	return gb_buf_printf(b, err, "api://%s/" GB_GRAPH_EXT_APP_NAME, g->tenant_id);
}

#define APP "app"

static int find_app(gb_graph *g, void *ud, gb_error *err)
{
	gb_graph_app **out = ud;
	gb_buf uri, filter, url;
	json_t *o = NULL, *v;
	int rc;

	gb_graph_app_free(*out);
	*out = NULL;
	gb_buf_init(&uri, 1024);
	gb_buf_init(&filter, 2048);
	gb_buf_init(&url, URL_MAX);
	rc = ext_app_uri(g, &uri, err);
	if (!rc)
		rc = gb_buf_printf(&filter, err, "identifierUris/any(uri:uri eq '%s')", gb_buf_cstr(&uri));
	if (!rc)
		rc = gb_graph_url(&url, err, "/v1.0/applications?$filter=%s&$select=id,appId,displayName,identifierUris",
				  gb_buf_cstr(&filter));
	if (!rc)
		rc = gb_graph_call(g, "GET", gb_buf_cstr(&url), NULL, &o, err);
	if (!rc) {
		v = json_object_get(o, "value");
		if (!json_is_array(v) || json_array_size(v) == 0)
			rc = gb_error_set(err, GB_ENOTFOUND, "no application has the identifier URI %s", gb_buf_cstr(&uri));
		else
			rc = app_from(json_array_get(v, 0), out, err);
	}
	json_decref(o);
	gb_buf_free(&uri);
	gb_buf_free(&filter);
	gb_buf_free(&url);
	return rc;
}

static int app_there(gb_graph *g, void *ud, bool *there, gb_error *err)
{
	int rc = find_app(g, ud, err);

	*there = rc == 0;
	return rc == GB_ENOTFOUND ? 0 : rc;
}

typedef struct app_read {
	gb_graph_app *app;
	bool found;
} app_read;

static int app_read_fn(gb_graph *g, void *ud, gb_error *err)
{
	app_read *a = ud;
	int rc = find_app(g, &a->app, err);

	a->found = rc == 0;
	return rc == GB_ENOTFOUND ? 0 : rc;
}

static bool app_seen(void *ud)
{
	return ((app_read *)ud)->found;
}

int gb_graph_find_extension_app(gb_graph *g, gb_graph_app **out, gb_error *err)
{
	app_read a = {NULL, false};
	const char *made = NULL;
	json_t *o;
	int rc;

	*out = NULL;
	if (!gb_graph__written(g, APP, g->tenant_id, &made))
		return find_app(g, out, err);
	/* created by this client a moment ago: Graph may not list it yet */
	rc = gb_graph__settle(g, "finding " GB_GRAPH_EXT_APP_NAME, app_read_fn, app_seen, &a, err);
	if (!rc && !a.found) {
		o = made ? json_loads(made, 0, NULL) : NULL;
		rc = o ? app_from(o, &a.app, err) : gb_error_set(err, GB_ENOTFOUND, "no %s", GB_GRAPH_EXT_APP_NAME);
		json_decref(o);
	}
	if (!rc)
		*out = a.app;
	else
		gb_graph_app_free(a.app);
	return rc;
}

int gb_graph_create_extension_app(gb_graph *g, gb_graph_app **out, gb_error *err)
{
	gb_buf uri;
	json_t *body = NULL, *o = NULL;
	char *text = NULL;
	bool found = false;
	int rc;

	*out = NULL;
	gb_buf_init(&uri, 1024);
	rc = ext_app_uri(g, &uri, err);
	if (!rc && !(body = json_pack("{s:s, s:[s]}", "displayName", GB_GRAPH_EXT_APP_NAME, "identifierUris",
				      gb_buf_cstr(&uri))))
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
	if (!rc)
		rc = gb_graph__create(g, "/v1.0/applications", body, &o, app_there, out, &found, err);
	if (!rc && !found)
		rc = app_from(o, out, err);
	if (!rc) {
		json_t *keep = json_pack("{s:s, s:s, s:s?}", "id", (*out)->id, "appId", (*out)->app_id, "displayName",
					 (*out)->display_name);
		text = keep ? json_dumps(keep, JSON_COMPACT) : NULL;
		json_decref(keep);
		rc = text ? gb_graph__wrote(g, APP, g->tenant_id, text, err) : gb_error_set(err, GB_ENOMEM, "out of memory");
	}
	if (rc) {
		gb_graph_app_free(*out);
		*out = NULL;
	}
	free(text);
	json_decref(body);
	json_decref(o);
	gb_buf_free(&uri);
	return rc;
}

/* ---- service principals ---- */

#define SP "sp"

typedef struct sp_find {
	const char *app_id;
	char *id;
} sp_find;

static int find_sp(gb_graph *g, void *ud, gb_error *err)
{
	sp_find *f = ud;
	gb_buf filter, url;
	json_t *o = NULL, *v;
	int rc;

	free(f->id);
	f->id = NULL;
	gb_buf_init(&filter, 1024);
	gb_buf_init(&url, URL_MAX);
	rc = gb_buf_printf(&filter, err, "appId eq '%s'", f->app_id);
	if (!rc)
		rc = gb_graph_url(&url, err, "/v1.0/servicePrincipals?$filter=%s&$select=id,appId", gb_buf_cstr(&filter));
	if (!rc)
		rc = gb_graph_call(g, "GET", gb_buf_cstr(&url), NULL, &o, err);
	if (!rc) {
		v = json_object_get(o, "value");
		v = json_is_array(v) ? json_array_get(v, 0) : NULL;
		if (!gb_graph__str(v, "id"))
			rc = gb_error_set(err, GB_ENOTFOUND, "no service principal for application %s", f->app_id);
		else if (!(f->id = gb_strdup(gb_graph__str(v, "id"))))
			rc = gb_error_set(err, GB_ENOMEM, "out of memory");
	}
	json_decref(o);
	gb_buf_free(&filter);
	gb_buf_free(&url);
	return rc;
}

static int sp_there(gb_graph *g, void *ud, bool *there, gb_error *err)
{
	int rc = find_sp(g, ud, err);

	*there = rc == 0;
	return rc == GB_ENOTFOUND ? 0 : rc;
}

static int sp_read(gb_graph *g, void *ud, gb_error *err)
{
	int rc = find_sp(g, ud, err);

	return rc == GB_ENOTFOUND ? 0 : rc;
}

static bool sp_seen(void *ud)
{
	return ((sp_find *)ud)->id != NULL;
}

int gb_graph_find_service_principal(gb_graph *g, const char *app_id, char **out, gb_error *err)
{
	sp_find f = {app_id, NULL};
	const char *made = NULL;
	int rc;

	*out = NULL;
	rc = gb_graph__require_id("finding a service principal", app_id, err);
	if (rc)
		return rc;
	if (!gb_graph__written(g, SP, app_id, &made)) {
		rc = find_sp(g, &f, err);
	} else {
		rc = gb_graph__settle(g, "finding a service principal", sp_read, sp_seen, &f, err);
		if (!rc && !f.id && !(f.id = gb_strdup(made)))
			rc = gb_error_set(err, GB_ENOMEM, "out of memory");
	}
	if (!rc)
		*out = f.id;
	else
		free(f.id);
	return rc;
}

int gb_graph_create_service_principal(gb_graph *g, const char *app_id, char **out, gb_error *err)
{
	sp_find f = {app_id, NULL};
	json_t *body = NULL, *o = NULL;
	bool found = false;
	int rc;

	*out = NULL;
	rc = gb_graph__require_id("creating a service principal", app_id, err);
	if (!rc && !(body = json_pack("{s:s}", "appId", app_id)))
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
	if (!rc)
		rc = gb_graph__create(g, "/v1.0/servicePrincipals", body, &o, sp_there, &f, &found, err);
	if (!rc && !found) {
		if (!gb_graph__str(o, "id"))
			rc = gb_error_set(err, GB_EPARSE, "POST /v1.0/servicePrincipals: the reply has no id");
		else if (!(f.id = gb_strdup(gb_graph__str(o, "id"))))
			rc = gb_error_set(err, GB_ENOMEM, "out of memory");
	}
	if (!rc)
		rc = gb_graph__wrote(g, SP, app_id, f.id, err);
	if (!rc) {
		*out = f.id;
		f.id = NULL;
	}
	free(f.id);
	json_decref(body);
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
