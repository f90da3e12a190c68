/* approles.c: extension properties of an application, app role assignments of a service principal, and the Cloud
 * Sync group-provisioning app role of each cloud. Creating POSTs look the object up before they are sent again
 * after a transport failure; lists read after this client's creates wait for Graph to show them. */
#include "graph/graph_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "groupbridge/buf.h"
#include "groupbridge/log.h"
#include "groupbridge/util.h"

#define URL_MAX (16 * 1024)
#define EXTPROP "extprop"
#define APPROLE "approle"

/* ---- extension properties ---- */

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
	if (gb_graph__dupstr(&e->id, item, "id") || gb_graph__dupstr(&e->name, item, "name") || gb_graph__dupstr(&e->data_type, item, "dataType"))
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	if (!e->name)
		return gb_error_set(err, GB_EPARSE, "an extension property record has no name");
	targets = json_object_get(item, "targetObjects");
	json_array_foreach(targets, i, t)
		if (json_is_string(t) && strcmp(json_string_value(t), "Group") == 0)
			e->targets_group = true;
	return 0;
}

static int ext_reset(void *ud, gb_error *err)
{
	gb_graph_extension_list *l = ud;
	size_t n = l->n;

	(void)err;
	l->n = 0;
	while (n--) {
		free(l->items[n].id);
		free(l->items[n].name);
		free(l->items[n].data_type);
	}
	return 0;
}

typedef struct ext_read {
	const char *app;
	gb_graph_extension_list *l;
	const char *want;  /* a name this client created, or NULL */
} ext_read;

static int ext_list(gb_graph *g, void *ud, gb_error *err)
{
	ext_read *r = ud;
	gb_buf url;
	int rc;

	gb_buf_init(&url, URL_MAX);
	ext_reset(r->l, NULL);
	rc = gb_graph_url(&url, err, "/v1.0/applications/%s/extensionProperties", r->app);
	if (!rc)
		rc = gb_graph_each_reset(g, gb_buf_cstr(&url), on_ext, ext_reset, r->l, err);
	gb_buf_free(&url);
	return rc;
}

static bool ext_has(const gb_graph_extension_list *l, const char *name, const char *suffix)
{
	size_t i, sl = suffix ? strlen(suffix) : 0;

	for (i = 0; i < l->n; i++) {
		size_t nl = strlen(l->items[i].name);

		if (name ? strcasecmp(l->items[i].name, name) == 0
			 : nl > sl + 1 && l->items[i].name[nl - sl - 1] == '_' && strcmp(l->items[i].name + nl - sl, suffix) == 0)
			return true;
	}
	return false;
}

static bool ext_seen(void *ud)
{
	const ext_read *r = ud;

	return !r->want || ext_has(r->l, r->want, NULL);
}

int gb_graph_list_extension_properties(gb_graph *g, const char *app_object_id, gb_graph_extension_list **out,
				       gb_error *err)
{
	ext_read r = {app_object_id, NULL, NULL};
	int rc;

	*out = NULL;
	rc = gb_graph__require_id("listing extension properties", app_object_id, err);
	if (!rc && !(r.l = calloc(1, sizeof(*r.l))))
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
	if (!rc) {
		gb_graph__written(g, EXTPROP, app_object_id, &r.want);
		rc = gb_graph__settle(g, "listing extension properties", ext_list, ext_seen, &r, err);
	}
	if (!rc) {
		*out = r.l;
		r.l = NULL;
	}
	gb_graph_extension_list_free(r.l);
	return rc;
}

typedef struct ext_find {
	const char *app;
	const char *short_name;
	char *name;
} ext_find;

static int ext_lookup(gb_graph *g, void *ud, bool *there, gb_error *err)
{
	ext_find *f = ud;
	gb_graph_extension_list *l = NULL;
	size_t i;
	int rc = gb_graph_list_extension_properties(g, f->app, &l, err);

	*there = false;
	for (i = 0; !rc && l && i < l->n && !*there; i++) {
		gb_graph_extension_list one = {&l->items[i], 1};

		if (ext_has(&one, NULL, f->short_name) && (f->name = gb_strdup(l->items[i].name)) != NULL)
			*there = true;
	}
	gb_graph_extension_list_free(l);
	return rc;
}

int gb_graph_create_extension_property(gb_graph *g, const char *app_object_id, const char *short_name, char **out,
				       gb_error *err)
{
	ext_find f = {app_object_id, short_name, NULL};
	gb_buf url;
	json_t *body = NULL, *o = NULL;
	bool found = false;
	int rc;

	*out = NULL;
	gb_buf_init(&url, URL_MAX);
	rc = gb_graph__require_id("creating an extension property", app_object_id, err);
	if (!rc)
		rc = gb_graph_url(&url, err, "/v1.0/applications/%s/extensionProperties", app_object_id);
	if (!rc && !(body = json_pack("{s:s, s:s, s:b, s:[s]}", "name", short_name, "dataType", "String",
				      "isMultiValued", 0, "targetObjects", "Group")))
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
	if (!rc)
		rc = gb_graph__create(g, gb_buf_cstr(&url), body, &o, ext_lookup, &f, &found, err);
	if (!rc && !found) {
		if (!gb_graph__str(o, "name"))
			rc = gb_error_set(err, GB_EPARSE, "POST %s: the reply has no name", gb_buf_cstr(&url));
		else if (!(f.name = gb_strdup(gb_graph__str(o, "name"))))
			rc = gb_error_set(err, GB_ENOMEM, "out of memory");
	}
	if (!rc)
		rc = gb_graph__wrote(g, EXTPROP, app_object_id, f.name, err);
	if (!rc) {
		*out = f.name;
		f.name = NULL;
	}
	free(f.name);
	json_decref(body);
	json_decref(o);
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
	if (gb_graph__dupstr(&a->id, item, "id") || gb_graph__dupstr(&a->principal_id, item, "principalId") ||
	    gb_graph__dupstr(&a->principal_type, item, "principalType") || gb_graph__dupstr(&a->app_role_id, item, "appRoleId"))
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	if (!a->principal_id)
		return gb_error_set(err, GB_EPARSE, "an appRoleAssignment record has no principalId");
	return 0;
}

static int assignment_reset(void *ud, gb_error *err)
{
	gb_graph_role_assignment_list *l = ud;
	size_t n = l->n;

	(void)err;
	l->n = 0;
	while (n--) {
		free(l->items[n].id);
		free(l->items[n].principal_id);
		free(l->items[n].principal_type);
		free(l->items[n].app_role_id);
	}
	return 0;
}

typedef struct role_read {
	gb_graph *g;
	const char *sp;
	gb_graph_role_assignment_list *l;
} role_read;

static int role_list(gb_graph *g, void *ud, gb_error *err)
{
	role_read *r = ud;
	gb_buf url;
	int rc;

	gb_buf_init(&url, URL_MAX);
	assignment_reset(r->l, NULL);
	rc = gb_graph_url(&url, err, "/v1.0/servicePrincipals/%s/appRoleAssignedTo?$top=999", r->sp);
	if (!rc)
		rc = gb_graph_each_reset(g, gb_buf_cstr(&url), on_assignment, assignment_reset, r->l, err);
	gb_buf_free(&url);
	return rc;
}

static bool role_has(const gb_graph_role_assignment_list *l, const char *principal, const char *role)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->items[i].principal_id && gb_str_iequal(l->items[i].principal_id, principal) &&
		    (!role || (l->items[i].app_role_id && gb_str_iequal(l->items[i].app_role_id, role))))
			return true;
	return false;
}

/* Every assignment of this service principal that this client made lately is in the list. */
static bool role_seen(void *ud)
{
	const role_read *r = ud;
	size_t i, spl = strlen(r->sp);
	int64_t now = gb_graph__now(r->g);

	for (i = 0; i < r->g->nwrites; i++) {
		const gb_graph__write *w = &r->g->writes[i];

		if (w->until > now && strcmp(w->kind, APPROLE) == 0 && strncasecmp(w->key, r->sp, spl) == 0 &&
		    w->key[spl] == '/' && !role_has(r->l, w->key + spl + 1, w->value))
			return false;
	}
	return true;
}

int gb_graph_list_app_role_assigned_to(gb_graph *g, const char *sp_id, gb_graph_role_assignment_list **out,
				       gb_error *err)
{
	role_read r = {g, sp_id, NULL};
	int rc;

	*out = NULL;
	rc = gb_graph__require_id("listing appRoleAssignedTo", sp_id, err);
	if (!rc && !(r.l = calloc(1, sizeof(*r.l))))
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
	if (!rc)
		rc = gb_graph__settle(g, "listing appRoleAssignedTo", role_list, role_seen, &r, err);
	if (!rc) {
		*out = r.l;
		r.l = NULL;
	}
	gb_graph_role_assignment_list_free(r.l);
	return rc;
}

typedef struct role_find {
	const char *sp, *principal, *role;
} role_find;

static int role_lookup(gb_graph *g, void *ud, bool *there, gb_error *err)
{
	role_find *f = ud;
	gb_graph_role_assignment_list *l = NULL;
	int rc = gb_graph_list_app_role_assigned_to(g, f->sp, &l, err);

	*there = !rc && role_has(l, f->principal, f->role);
	gb_graph_role_assignment_list_free(l);
	return rc;
}

int gb_graph_assign_app_role(gb_graph *g, const char *sp_id, const char *principal_id, const char *app_role_id,
			     char **out, gb_error *err)
{
	role_find f = {sp_id, principal_id, app_role_id};
	gb_buf url;
	json_t *body = NULL, *o = NULL;
	char key[256];
	bool found = false;
	int rc;

	if (out)
		*out = NULL;
	gb_buf_init(&url, URL_MAX);
	rc = gb_graph__require_id("assigning an app role", sp_id, err);
	if (!rc)
		rc = gb_graph__require_id("assigning an app role", principal_id, err);
	if (!rc)
		rc = gb_graph__require_id("assigning an app role", app_role_id, err);
	if (!rc)
		rc = gb_graph_url(&url, err, "/v1.0/servicePrincipals/%s/appRoleAssignedTo", sp_id);
	if (!rc && !(body = json_pack("{s:s, s:s, s:s}", "principalId", principal_id, "resourceId", sp_id,
				      "appRoleId", app_role_id)))
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
	if (!rc)
		rc = gb_graph__create(g, gb_buf_cstr(&url), body, &o, role_lookup, &f, &found, err);
	if (!rc && out && gb_graph__str(o, "id") && !(*out = gb_strdup(gb_graph__str(o, "id"))))
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
	snprintf(key, sizeof(key), "%s/%s", sp_id, principal_id);
	if (!rc)
		rc = gb_graph__wrote(g, APPROLE, key, app_role_id, err);
	json_decref(body);
	json_decref(o);
	gb_buf_free(&url);
	return rc;
}

/* ---- the Cloud Sync group role of each cloud ---- */

/* Microsoft Entra Cloud Sync, "Provision groups to Active Directory", Expanded group selection via API: "App role
 * IDs by cloud", keyed here by each cloud's Microsoft Graph endpoint. */
static const struct {
	const char *host;
	const char *role;
} cloud_roles[] = {
	{"graph.microsoft.com", "1a0abf4d-b9fa-4512-a3a2-51ee82c6fd9f"},             /* Public */
	{"microsoftgraph.chinacloudapi.cn", "15af7fd5-1a3f-4034-8ea1-1afa3d5ecf63"}, /* AzureChinaCloud */
	{"graph.microsoft.us", "d8fa317e-0713-4930-91d8-1dbeb150978f"},              /* AzureUSGovernment (L4) */
	{"dod-graph.microsoft.us", "d8fa317e-0713-4930-91d8-1dbeb150978f"},          /* AzureUSGovernment (L5) */
	{"graph.eaglex.ic.gov", "50a55e47-aae2-425c-8dcb-ed711147a39f"},             /* AzureUSNatCloud */
	{"graph.microsoft.scloud", "52e862b9-0b95-43fe-9340-54f51248314f"},          /* AzureUSSecCloud */
};

const char *gb_graph_cloudsync_role_for_url(const char *graph_url)
{
	const char *h = graph_url ? strstr(graph_url, "://") : NULL;
	size_t n, i;

	if (!h)
		return NULL;
	h += 3;
	n = strcspn(h, ":/");
	for (i = 0; i < sizeof(cloud_roles) / sizeof(cloud_roles[0]); i++)
		if (strlen(cloud_roles[i].host) == n && strncasecmp(h, cloud_roles[i].host, n) == 0)
			return cloud_roles[i].role;
	return NULL;
}

static bool documented(const char *id)
{
	size_t i;

	for (i = 0; id && i < sizeof(cloud_roles) / sizeof(cloud_roles[0]); i++)
		if (strcasecmp(id, cloud_roles[i].role) == 0)
			return true;
	return false;
}

/* The documented role among the service principal's appRoles (this cloud's first, else any documented one). */
static int pick_role(const json_t *roles, const char *mine, const char *sp_id, char **out, gb_error *err)
{
	const char *pick = NULL;
	json_t *r;
	size_t i;
	gb_buf seen;
	int rc;

	json_array_foreach(roles, i, r) {
		const char *id = gb_graph__str(r, "id");

		if (id && mine && strcasecmp(id, mine) == 0)
			pick = id;
		else if (!pick && documented(id))
			pick = id;
	}
	if (pick)
		return (*out = gb_strdup(pick)) ? 0 : gb_error_set(err, GB_ENOMEM, "out of memory");
	gb_buf_init(&seen, 4096);
	json_array_foreach(roles, i, r) {
		const char *v = gb_graph__str(r, "value");
		if (gb_buf_printf(&seen, NULL, "%s%s (%s)", i ? ", " : "", gb_graph__str(r, "id") ? gb_graph__str(r, "id")
										     : "?", v ? v : "no value"))
			break;
	}
	rc = gb_error_set(err, GB_ENOTFOUND, "service principal %s exposes none of the documented Cloud Sync group "
			  "provisioning app roles (its app roles: %s); is it the Cloud Sync job's service principal?", sp_id,
			  seen.len ? gb_buf_cstr(&seen) : "none");
	gb_buf_free(&seen);
	return rc;
}

int gb_graph_cloudsync_group_role(gb_graph *g, const char *sp_id, char **out, gb_error *err)
{
	const char *mine = gb_graph_cloudsync_role_for_url(g->graph_url);
	json_t *o = NULL, *roles;
	gb_buf url;
	gb_error e;
	int rc;

	*out = NULL;
	gb_buf_init(&url, URL_MAX);
	rc = gb_graph__require_id("reading the Cloud Sync app roles", sp_id, err);
	if (!rc)
		rc = gb_graph_url(&url, err, "/v1.0/servicePrincipals/%s?$select=appRoles", sp_id);
	if (!rc) {
		rc = gb_graph_call(g, "GET", gb_buf_cstr(&url), NULL, &o, &e);
		roles = json_object_get(o, "appRoles");
		if (!rc && json_is_array(roles))
			rc = pick_role(roles, mine, sp_id, out, err);
		else if ((rc == GB_ENOTFOUND || rc == GB_ENOMEM) && err)
			*err = e;
		else if (mine) {
			/* the roles cannot be read (a permission, the network): the documented table */
			gb_warn("graph", "%s; using the documented Cloud Sync group role of %s, %s",
				rc ? e.msg : "the service principal's appRoles are missing", g->graph_url, mine);
			rc = (*out = gb_strdup(mine)) ? 0 : gb_error_set(err, GB_ENOMEM, "out of memory");
		} else {
			rc = gb_error_set(err, rc ? rc : GB_EPARSE, "%s; and %s is none of the clouds Microsoft documents "
					  "Cloud Sync app roles for", rc ? e.msg : "the service principal's appRoles are missing",
					  g->graph_url);
		}
	}
	json_decref(o);
	gb_buf_free(&url);
	return rc;
}
