/* read.c: groups, members and users: JSON to model (where non-GUID ids are refused), paged streaming reads,
 * convenience reads. */
#include "graph/graph_int.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/buf.h"
#include "groupbridge/util.h"

static const char *obj_name(const json_t *o)
{
	const char *id = gb_graph__str(o, "id");

	return id ? id : "(without id)";
}

static int get_str(const json_t *o, const char *key, char **dst, const char *kind, gb_error *err)
{
	json_t *v = json_object_get(o, key);

	*dst = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return gb_error_set(err, GB_EPARSE, "%s %s: %s is not a string", kind, obj_name(o), key);
	*dst = gb_strndup(json_string_value(v), json_string_length(v));
	if (!*dst)
		return gb_error_set(err, GB_ENOMEM, "out of memory reading %s %s", kind, obj_name(o));
	return 0;
}

static int get_tri(const json_t *o, const char *key, gb_tri *dst, const char *kind, gb_error *err)
{
	json_t *v = json_object_get(o, key);

	*dst = GB_TRI_UNKNOWN;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return gb_error_set(err, GB_EPARSE, "%s %s: %s is not a boolean", kind, obj_name(o), key);
	*dst = json_is_true(v) ? GB_TRI_TRUE : GB_TRI_FALSE;
	return 0;
}

/* A string or true/false member of a Graph record and where it goes in the model's struct. */
typedef struct field {
	const char *key; /* NULL: the directory extension named by the caller (left out when it names none) */
	size_t offset;   /* of a char *, or of a gb_tri with tri */
	bool tri;
} field;

static const field group_fields[] = {
    {"id", offsetof(gb_cloud_group, id), false},
    {"displayName", offsetof(gb_cloud_group, display_name), false},
    {"description", offsetof(gb_cloud_group, description), false},
    {"onPremisesSecurityIdentifier", offsetof(gb_cloud_group, on_prem_sid), false},
    {NULL, offsetof(gb_cloud_group, group_dn_ext), false},
    {"securityEnabled", offsetof(gb_cloud_group, security_enabled), true},
    {"mailEnabled", offsetof(gb_cloud_group, mail_enabled), true},
    {"onPremisesSyncEnabled", offsetof(gb_cloud_group, on_prem_sync_enabled), true},
};

static const field user_fields[] = {
    {"id", offsetof(gb_cloud_user, id), false},
    {"displayName", offsetof(gb_cloud_user, display_name), false},
    {"userPrincipalName", offsetof(gb_cloud_user, user_principal_name), false},
    {"onPremisesObjectIdentifier", offsetof(gb_cloud_user, on_prem_object_id), false},
    {"onPremisesSecurityIdentifier", offsetof(gb_cloud_user, on_prem_sid), false},
    {"onPremisesSyncEnabled", offsetof(gb_cloud_user, on_prem_sync_enabled), true},
};

/* What every group and user record passes first: a JSON object with a GUID id (kind: "group", "user"). */
static int check_record(const json_t *o, const char *kind, gb_error *err)
{
	const char *id;

	if (!json_is_object(o))
		return gb_error_set(err, GB_EPARSE, "a %s record is not a JSON object", kind);
	id = gb_graph__str(o, "id");
	if (!id)
		return gb_error_set(err, GB_EPARSE, "a %s record has no id", kind);
	if (!gb_graph_is_guid(id))
		return gb_error_set(err, GB_EPARSE, "%s \"%.80s\": its id is not a GUID (every Graph object id is one)",
				    kind, id);
	return 0;
}

/* Copies the n fields of record o into rec, in order; the first failure (as get_str, get_tri) stops it. */
static int get_fields(const json_t *o, const field *f, size_t n, void *rec, const char *ext, const char *kind,
		      gb_error *err)
{
	char *base = rec;
	int rc = 0;

	for (size_t i = 0; !rc && i < n; i++) {
		if (f[i].tri)
			rc = get_tri(o, f[i].key, (gb_tri *)(void *)(base + f[i].offset), kind, err);
		else if (f[i].key || ext)
			rc = get_str(o, f[i].key ? f[i].key : ext, (char **)(void *)(base + f[i].offset), kind, err);
	}
	return rc;
}

/* @removed: 0 none, 1 "deleted", 2 another reason ("changed"). */
static int removed_reason(const json_t *o)
{
	json_t *r = json_object_get(o, "@removed");
	const char *why;

	if (!r)
		return 0;
	why = gb_graph__str(r, "reason");
	return why && strcmp(why, "deleted") == 0 ? 1 : 2;
}

int gb_graph_group_from_json(const json_t *o, const char *ext_name, gb_cloud_group *out, gb_error *err)
{
	json_t *types;
	int rc;

	memset(out, 0, sizeof(*out));
	gb_cloud_group_clear(out);
	if ((rc = check_record(o, "group", err)))
		return rc;
	rc = get_fields(o, group_fields, sizeof(group_fields) / sizeof(group_fields[0]), out, ext_name, "group", err);
	if (rc)
		goto fail;
	types = json_object_get(o, "groupTypes");
	if (types && !json_is_null(types)) {
		size_t i;
		json_t *t;

		if (!json_is_array(types)) {
			rc = gb_error_set(err, GB_EPARSE, "group %s: groupTypes is not an array", out->id);
			goto fail;
		}
		json_array_foreach(types, i, t) {
			if (!json_is_string(t)) {
				rc = gb_error_set(err, GB_EPARSE, "group %s: groupTypes holds a non-string", out->id);
				goto fail;
			}
			if (strcmp(json_string_value(t), "Unified") == 0)
				out->unified = true;
			else if (strcmp(json_string_value(t), "DynamicMembership") == 0)
				out->dynamic = true;
		}
	}
	switch (removed_reason(o)) {
	case 1: out->deleted = true; break;
	case 2: out->changed_out = true; break;
	default: break;
	}
	return 0;
fail:
	gb_cloud_group_clear(out);
	return rc;
}

int gb_graph_user_from_json(const json_t *o, gb_cloud_user *out, gb_error *err)
{
	int rc;

	memset(out, 0, sizeof(*out));
	gb_cloud_user_clear(out);
	if ((rc = check_record(o, "user", err)))
		return rc;
	rc = get_fields(o, user_fields, sizeof(user_fields) / sizeof(user_fields[0]), out, NULL, "user", err);
	if (rc) {
		gb_cloud_user_clear(out);
		return rc;
	}
	out->deleted = removed_reason(o) != 0;
	return 0;
}

int gb_graph_member_from_json(const json_t *o, gb_member_ref *out, gb_error *err)
{
	const char *id = gb_graph__str(o, "id");

	out->id = NULL;
	out->kind = GB_KIND_OTHER;
	if (!json_is_object(o) || !id)
		return gb_error_set(err, GB_EPARSE, "a member record has no id");
	out->id = gb_strdup(id);
	if (!out->id)
		return gb_error_set(err, GB_ENOMEM, "out of memory reading member %s", id);
	out->kind = gb_object_kind_from_odata(gb_graph__str(o, "@odata.type"));
	return 0;
}

/* ---- URLs ---- */

static int top_of(int top)
{
	return top <= 0 || top > GB_GRAPH_PAGE_MAX ? GB_GRAPH_PAGE_MAX : top;
}

int gb_graph__members_url(gb_buf *b, const char *group_id, int top, gb_error *err)
{
	int rc = gb_graph_url(b, err, "/v1.0/groups/%s/members?$select=id&$top=", group_id);

	return rc ? rc : gb_buf_printf(b, err, "%d", top_of(top));
}

int gb_graph__group_url(const gb_graph *g, gb_buf *b, const char *id, gb_error *err)
{
	int rc = gb_graph_url(b, err, "/v1.0/groups/%s?$select=" GB_GRAPH_GROUP_SELECT, id);

	if (!rc && g->ext_name)
		rc = gb_buf_printf(b, err, ",%s", g->ext_name);
	return rc;
}

static int collection_url(gb_buf *b, const char *path, const char *select, const char *ext, const char *filter,
			  int top, gb_error *err)
{
	int rc = gb_buf_printf(b, err, "%s?$select=%s%s%s&$top=%d", path, select, ext ? "," : "", ext ? ext : "",
			       top_of(top));

	if (!rc && filter)
		rc = gb_graph_url(b, err, "&$filter=%s", filter);
	return rc;
}

/* ---- streaming ---- */

typedef struct group_ctx {
	gb_graph *g;
	gb_graph_group_fn fn;
	gb_graph_reset_fn reset;
	void *ud;
} group_ctx;

static int on_group_reset(void *ud, gb_error *err)
{
	group_ctx *c = ud;

	return c->reset(c->ud, err);
}

static int on_group(const json_t *item, void *ud, gb_error *err)
{
	group_ctx *c = ud;
	gb_cloud_group grp;
	int rc = gb_graph_group_from_json(item, c->g->ext_name, &grp, err);

	if (rc)
		return rc;
	rc = c->fn(&grp, c->ud, err);
	gb_cloud_group_clear(&grp);
	return rc;
}

static int list_groups(gb_graph *g, const char *filter, int top, gb_graph_group_fn fn, gb_graph_reset_fn reset,
		       void *ud, gb_error *err)
{
	gb_buf url;
	group_ctx c = {g, fn, reset, ud};
	int rc;

	gb_buf_init(&url, 64 * 1024);
	rc = collection_url(&url, "/v1.0/groups", GB_GRAPH_GROUP_SELECT, g->ext_name, filter, top, err);
	if (!rc)
		rc = gb_graph_each_reset(g, gb_buf_cstr(&url), on_group, reset ? on_group_reset : NULL, &c, err);
	gb_buf_free(&url);
	return rc;
}

int gb_graph_list_groups(gb_graph *g, const char *filter, int top, gb_graph_group_fn fn, void *ud, gb_error *err)
{
	return list_groups(g, filter, top, fn, NULL, ud, err);
}

typedef struct member_ctx {
	gb_graph_member_fn fn;
	void *ud;
} member_ctx;

static int on_member(const json_t *item, void *ud, gb_error *err)
{
	member_ctx *c = ud;
	gb_member_ref m;
	int rc = gb_graph_member_from_json(item, &m, err);

	if (rc)
		return rc;
	rc = c->fn(&m, c->ud, err);
	free(m.id);
	return rc;
}

int gb_graph_list_members(gb_graph *g, const char *group_id, int top, gb_graph_member_fn fn, void *ud,
			  gb_error *err)
{
	gb_buf url;
	member_ctx c = {fn, ud};
	int rc;

	gb_buf_init(&url, 64 * 1024);
	rc = gb_graph__members_url(&url, group_id, top, err);
	if (!rc)
		rc = gb_graph_each(g, gb_buf_cstr(&url), on_member, &c, err);
	gb_buf_free(&url);
	return rc;
}

int gb_graph__on_user(const json_t *item, void *ud, gb_error *err)
{
	const gb_graph__user_cb *c = ud;
	gb_cloud_user u;
	int rc = gb_graph_user_from_json(item, &u, err);

	if (rc)
		return rc;
	rc = c->fn(&u, c->ud, err);
	gb_cloud_user_clear(&u);
	return rc;
}

int gb_graph_list_users(gb_graph *g, const char *filter, int top, gb_graph_user_fn fn, void *ud, gb_error *err)
{
	gb_buf url;
	gb_graph__user_cb c = {fn, ud};
	int rc;

	gb_buf_init(&url, 64 * 1024);
	rc = collection_url(&url, "/v1.0/users", GB_GRAPH_USER_SELECT, NULL, filter, top, err);
	if (!rc)
		rc = gb_graph_each(g, gb_buf_cstr(&url), gb_graph__on_user, &c, err);
	gb_buf_free(&url);
	return rc;
}

int gb_graph_get_group(gb_graph *g, const char *id, gb_cloud_group **out, gb_error *err)
{
	gb_buf url;
	json_t *o = NULL;
	gb_cloud_group *grp = NULL;
	int rc;

	*out = NULL;
	gb_buf_init(&url, 64 * 1024);
	rc = gb_graph__group_url(g, &url, id, err);
	if (!rc)
		rc = gb_graph_call(g, "GET", gb_buf_cstr(&url), NULL, &o, err);
	if (rc)
		goto cleanup;
	grp = calloc(1, sizeof(*grp));
	if (!grp) {
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
		goto cleanup;
	}
	rc = gb_graph_group_from_json(o, g->ext_name, grp, err);
	if (rc) {
		free(grp);
		goto cleanup;
	}
	*out = grp;
cleanup:
	json_decref(o);
	gb_buf_free(&url);
	return rc;
}

int gb_graph_get_user(gb_graph *g, const char *id, gb_cloud_user **out, gb_error *err)
{
	gb_buf url;
	json_t *o = NULL;
	gb_cloud_user *u = NULL;
	int rc;

	*out = NULL;
	gb_buf_init(&url, 64 * 1024);
	rc = gb_graph_url(&url, err, "/v1.0/users/%s?$select=" GB_GRAPH_USER_SELECT, id);
	if (!rc)
		rc = gb_graph_call(g, "GET", gb_buf_cstr(&url), NULL, &o, err);
	if (rc)
		goto cleanup;
	u = calloc(1, sizeof(*u));
	if (!u) {
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
		goto cleanup;
	}
	rc = gb_graph_user_from_json(o, u, err);
	if (rc) {
		free(u);
		goto cleanup;
	}
	*out = u;
cleanup:
	json_decref(o);
	gb_buf_free(&url);
	return rc;
}

int gb_graph_read_members(gb_graph *g, gb_cloud_group *grp, int top, gb_error *err)
{
	gb_cloud_group *one = grp;

	return gb_graph_read_members_many(g, &one, 1, top, NULL, err);
}

typedef struct groups_acc {
	gb_cloud_group *items;
	size_t n, cap;
} groups_acc;

static int dup_str(char **dst, const char *s)
{
	*dst = NULL;
	if (!s)
		return 0;
	*dst = gb_strdup(s);
	return *dst ? 0 : -1;
}

static int collect_group(const gb_cloud_group *grp, void *ud, gb_error *err)
{
	groups_acc *a = ud;
	gb_cloud_group *c;

	if (gb_grow(&a->items, a->n, &a->cap, sizeof(*a->items), 64))
		return gb_error_set(err, GB_ENOMEM, "out of memory reading groups");
	c = &a->items[a->n];
	memset(c, 0, sizeof(*c));
	*c = *grp;
	c->id = c->display_name = c->description = c->on_prem_sid = c->group_dn_ext = c->writeback_group_type = NULL;
	c->members = NULL;
	c->nmembers = c->members_cap = 0;
	if (dup_str(&c->id, grp->id) || dup_str(&c->display_name, grp->display_name) ||
	    dup_str(&c->description, grp->description) || dup_str(&c->on_prem_sid, grp->on_prem_sid) ||
	    dup_str(&c->group_dn_ext, grp->group_dn_ext) ||
	    dup_str(&c->writeback_group_type, grp->writeback_group_type)) {
		gb_cloud_group_clear(c);
		return gb_error_set(err, GB_ENOMEM, "out of memory reading groups");
	}
	a->n++;
	return 0;
}

/* After an expired page token the listing starts over: forget what was collected. */
static int collect_reset(void *ud, gb_error *err)
{
	groups_acc *a = ud;
	size_t i;

	(void)err;
	for (i = 0; i < a->n; i++)
		gb_cloud_group_clear(&a->items[i]);
	a->n = 0;
	return 0;
}

void gb_graph_groups_free(gb_cloud_group *groups, size_t n)
{
	size_t i;

	for (i = 0; groups && i < n; i++)
		gb_cloud_group_clear(&groups[i]);
	free(groups);
}

int gb_graph_read_groups(gb_graph *g, const char *filter, bool with_members, gb_cloud_group **out, size_t *n,
			 gb_error *err)
{
	groups_acc a = {NULL, 0, 0};
	gb_cloud_group **each = NULL;
	size_t i;
	int rc;

	*out = NULL;
	*n = 0;
	rc = list_groups(g, filter, 0, collect_group, collect_reset, &a, err);
	if (!rc && with_members && a.n) {
		each = malloc(a.n * sizeof(*each));
		if (!each)
			rc = gb_error_set(err, GB_ENOMEM, "out of memory reading groups");
		for (i = 0; !rc && i < a.n; i++)
			each[i] = &a.items[i];
		if (!rc)
			rc = gb_graph_read_members_many(g, each, a.n, 0, NULL, err);
		free(each);
	}
	if (rc) {
		gb_graph_groups_free(a.items, a.n);
		return rc;
	}
	*out = a.items;
	*n = a.n;
	return 0;
}
