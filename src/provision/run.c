/* run.c: one provisioning pass: gather, plan, gate, apply (see provisioner.h). */
#include "groupbridge/provisioner.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/adcodec.h"
#include "groupbridge/anchor.h"
#include "groupbridge/apply.h"
#include "groupbridge/audit.h"
#include "groupbridge/buf.h"
#include "groupbridge/log.h"
#include "groupbridge/map.h"
#include "groupbridge/mapping.h"
#include "groupbridge/plan_store.h"
#include "groupbridge/provision.h"
#include "groupbridge/scope.h"
#include "groupbridge/util.h"

/* A growable array of pointers that owns its elements through a destructor. */
typedef struct ptrs {
	void **items;
	size_t n, cap;
} ptrs;

static int ptrs_push(ptrs *p, void *item, gb_error *err)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 32;
		void **items = realloc(p->items, cap * sizeof(void *));
		if (!items)
			return gb_error_set(err, GB_ENOMEM, "out of memory");
		p->items = items;
		p->cap = cap;
	}
	p->items[p->n++] = item;
	return 0;
}

/* Makes items a NULL-terminated array (the terminator is not counted in n). */
static int ptrs_terminate(ptrs *p, gb_error *err)
{
	int rc = ptrs_push(p, NULL, err);

	if (!rc)
		p->n--;
	return rc;
}

typedef struct gather {
	const gb_config *cfg;
	const char *only_group;           /* on-demand: the one group */
	const char *const *only_members;  /* on-demand: the chosen members */
	size_t nonly;
	ptrs not_members;                 /* on-demand: chosen ids that are not members of the cloud group */
	gb_graph *graph;
	gb_directory *dir;
	gb_store *st;
	gb_scope *scope;
	ptrs groups;          /* gb_cloud_group*: in scope (owned) */
	ptrs extra_groups;    /* gb_cloud_group*: member groups outside the scope (owned) */
	ptrs users;           /* gb_cloud_user* (owned) */
	ptrs ad;              /* gb_ad_group* (owned) */
	ptrs hard_deleted;    /* char* */
	ptrs left_scope;      /* char* */
	gb_map *cloud_groups; /* id -> gb_cloud_group* */
	gb_map *cloud_users;  /* id -> gb_cloud_user* */
	gb_map *wanted_users; /* user ids named as members -> 1 */
	gb_map *forest_users; /* objectGUID -> 1 */
	gb_map *ad_by_anchor;
	gb_map *ad_by_sid;
	gb_map *ad_by_dn;
	gb_map *in_scope;     /* id -> 1 */
	gb_map *extra;        /* ids in scope besides [provisioning]: the groups the migration handed over */
	const char *const *only_ids; /* restrict the pass to these groups */
	gb_map *managed;      /* incremental: id -> objectGUID text (owned strings) of managed groups */
	gb_map *provisioned;  /* incremental: managed groups not re-read, id -> objectGUID (borrowed from managed) */
	bool record_users;    /* a full pass that keeps the tenant's users in cloud_users (the delta passes' source) */
	bool incremental;     /* gather_changes: managed groups are named by their objectGUID (provisioned) */
	sqlite3_stmt *user_ins; /* while listing the users of such a pass */
	size_t built, props_read, reread; /* incremental: groups built from the store, of them with properties read,
					   * and groups read again in full */
} gather;

static void gather_clear(gather *g)
{
	size_t i;

	for (i = 0; i < g->groups.n; i++)
		gb_cloud_group_free(g->groups.items[i]);
	for (i = 0; i < g->extra_groups.n; i++)
		gb_cloud_group_free(g->extra_groups.items[i]);
	for (i = 0; i < g->users.n; i++)
		gb_cloud_user_free(g->users.items[i]);
	for (i = 0; i < g->ad.n; i++)
		gb_ad_group_free(g->ad.items[i]);
	for (i = 0; i < g->hard_deleted.n; i++)
		free(g->hard_deleted.items[i]);
	for (i = 0; i < g->left_scope.n; i++)
		free(g->left_scope.items[i]);
	for (i = 0; i < g->not_members.n; i++)
		free(g->not_members.items[i]);
	free(g->not_members.items);
	free(g->groups.items);
	free(g->extra_groups.items);
	free(g->users.items);
	free(g->ad.items);
	free(g->hard_deleted.items);
	free(g->left_scope.items);
	gb_map_free(g->cloud_groups);
	gb_map_free(g->cloud_users);
	gb_map_free(g->wanted_users);
	gb_map_free(g->forest_users);
	gb_map_free(g->ad_by_anchor);
	gb_map_free(g->ad_by_sid);
	gb_map_free(g->ad_by_dn);
	gb_map_free(g->in_scope);
	gb_map_free(g->extra);
	if (g->managed) {
		size_t pos = 0;
		const char *k;
		void *v;
		while (gb_map_next(g->managed, &pos, &k, &v))
			free(v);
	}
	gb_map_free(g->managed);
	gb_map_free(g->provisioned);
	gb_scope_free(g->scope);
}

/* ---- the tenant ---- */

/* Takes grp (members known) into the pass's groups in scope. */
static int add_group(gather *g, gb_cloud_group *grp, gb_error *err)
{
	int rc = ptrs_push(&g->groups, grp, err);

	if (rc) {
		gb_cloud_group_free(grp);
		return rc;
	}
	rc = gb_map_set(g->in_scope, grp->id, (void *)1, err);
	if (!rc)
		rc = gb_map_set(g->cloud_groups, grp->id, grp, err);
	return rc;
}

static int keep_group(gather *g, gb_cloud_group *grp, gb_error *err)
{
	int rc;

	if (gb_map_get(g->in_scope, grp->id)) {
		gb_cloud_group_free(grp); /* listed twice */
		return 0;
	}
	rc = gb_graph_read_members(g->graph, grp, 999, err);
	if (rc) {
		gb_error_prefix(err, "reading the members of group %s", grp->id);
		gb_cloud_group_free(grp);
		return rc;
	}
	if (g->only_group) {
		/* On demand: only the chosen members take part (the others are neither added nor removed). */
		size_t i, j, kept = 0;
		for (i = 0; i < grp->nmembers; i++) {
			bool chosen = false;
			for (j = 0; j < g->nonly && !chosen; j++)
				chosen = gb_str_iequal(grp->members[i].id, g->only_members[j]);
			if (chosen)
				grp->members[kept++] = grp->members[i];
			else
				free(grp->members[i].id);
		}
		grp->nmembers = kept;
		for (j = 0; j < g->nonly; j++) {
			bool found = false;
			char *copy;
			for (i = 0; i < grp->nmembers && !found; i++)
				found = gb_str_iequal(grp->members[i].id, g->only_members[j]);
			if (found)
				continue;
			copy = gb_strdup(g->only_members[j]);
			if (!copy || ptrs_push(&g->not_members, copy, err)) {
				free(copy);
				gb_cloud_group_free(grp);
				return gb_error_set(err, GB_ENOMEM, "out of memory");
			}
		}
	}
	return add_group(g, grp, err);
}

/* In scope: selected or matched by [provisioning], or handed over by the migration. */
static int scope_has(gather *g, const gb_cloud_group *grp, bool *out, gb_error *err)
{
	if (grp->id && g->extra && gb_map_get(g->extra, grp->id)) {
		*out = true;
		return 0;
	}
	return gb_scope_matches(g->scope, grp, out, err);
}

static int read_groups(gather *g, gb_error *err)
{
	const char *const *ids = gb_scope_selected_ids(g->scope);
	int rc = 0;

	if (g->only_group) {
		gb_cloud_group *grp = NULL;
		bool in_scope = false;

		rc = gb_graph_get_group(g->graph, g->only_group, &grp, err);
		if (rc)
			return gb_error_prefix(err, "reading group %s", g->only_group);
		rc = scope_has(g, grp, &in_scope, err);
		if (!rc && !in_scope)
			rc = gb_error_set(err, GB_EINVAL, "group %s (%s) is not in the [provisioning] scope; on-demand "
							  "provisioning only acts on groups in scope",
					  grp->id, grp->display_name ? grp->display_name : "no name");
		if (rc) {
			gb_cloud_group_free(grp);
			return rc;
		}
		return keep_group(g, grp, err);
	}
	if (g->only_ids) {
		/* The caller names the groups (the migration's handoff and verify): they are in scope by definition. */
		for (ids = g->only_ids; *ids && !rc; ids++) {
			gb_cloud_group *grp = NULL;
			rc = gb_graph_get_group(g->graph, *ids, &grp, err);
			if (rc == GB_ENOTFOUND) {
				gb_warn("provision", "group %s does not exist in the tenant", *ids);
				rc = 0;
				continue;
			}
			if (!rc)
				rc = keep_group(g, grp, err);
		}
		return rc;
	}
	if (ids) {
		size_t pos = 0;
		const char *key;
		void *v;

		/* the selected groups, then the handed-over ones that are not among them */
		while (!rc && g->extra && gb_map_next(g->extra, &pos, &key, &v)) {
			const char *const *s;
			for (s = ids; *s && !gb_str_iequal(*s, key); s++)
				;
			if (!*s) {
				gb_cloud_group *grp = NULL;
				rc = gb_graph_get_group(g->graph, key, &grp, err);
				if (rc == GB_ENOTFOUND) {
					rc = 0;
					continue;
				}
				if (!rc)
					rc = keep_group(g, grp, err);
			}
		}
		for (; *ids && !rc; ids++) {
			gb_cloud_group *grp = NULL;
			rc = gb_graph_get_group(g->graph, *ids, &grp, err);
			if (rc == GB_ENOTFOUND) {
				/* Gone from the tenant: decided with the managed groups below. */
				gb_warn("provision", "selected group %s does not exist in the tenant", *ids);
				rc = 0;
				continue;
			}
			if (!rc)
				rc = keep_group(g, grp, err);
		}
		return rc;
	} else {
		gb_cloud_group *all = NULL;
		size_t n = 0, i;

		gb_warn("provision", "scope = all reads every group of the tenant on every run; Microsoft recommends "
				     "selected groups for large tenants (more than 200,000 users, 40,000 groups or 1,000,000 "
				     "memberships)");

		rc = gb_graph_read_groups(g->graph, NULL, false, &all, &n, err);
		if (rc)
			return gb_error_prefix(err, "reading the tenant's groups");
		for (i = 0; i < n && !rc; i++) {
			bool match = false;
			gb_cloud_group *copy;

			rc = scope_has(g, &all[i], &match, err);
			if (rc || !match)
				continue;
			copy = malloc(sizeof(*copy));
			if (!copy) {
				rc = gb_error_set(err, GB_ENOMEM, "out of memory");
				break;
			}
			*copy = all[i]; /* take the strings over */
			memset(&all[i], 0, sizeof(all[i]));
			rc = keep_group(g, copy, err);
		}
		gb_graph_groups_free(all, n);
		return rc;
	}
}

static int copy_user(const gb_cloud_user *u, gb_cloud_user **out)
{
	gb_cloud_user *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (!c)
		return GB_ENOMEM;
	c->id = gb_strdup(u->id);
	c->display_name = gb_strdup(u->display_name);
	c->user_principal_name = gb_strdup(u->user_principal_name);
	c->on_prem_object_id = gb_strdup(u->on_prem_object_id);
	c->on_prem_sid = gb_strdup(u->on_prem_sid);
	c->on_prem_sync_enabled = u->on_prem_sync_enabled;
	if (!c->id || (u->display_name && !c->display_name) || (u->user_principal_name && !c->user_principal_name) ||
	    (u->on_prem_object_id && !c->on_prem_object_id) || (u->on_prem_sid && !c->on_prem_sid)) {
		gb_cloud_user_free(c);
		return GB_ENOMEM;
	}
	*out = c;
	return 0;
}

/* Inserts or replaces u in cloud_users with the prepared statement s. */
static int store_user(gb_store *st, sqlite3_stmt *s, const gb_cloud_user *u, gb_error *err)
{
	sqlite3_reset(s);
	sqlite3_bind_text(s, 1, u->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, u->display_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, u->user_principal_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, u->on_prem_object_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, u->on_prem_sid, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 6, (int)u->on_prem_sync_enabled);
	return sqlite3_step(s) == SQLITE_DONE ? 0 : gb_store_error(st, err, "recording the tenant's users");
}

#define USER_UPSERT                                                                                                \
	"INSERT OR REPLACE INTO cloud_users(id, display_name, user_principal_name, on_prem_object_id, on_prem_sid, "   \
	"on_prem_sync_enabled) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"

static int on_user(const gb_cloud_user *u, void *ud, gb_error *err)
{
	gather *g = ud;
	gb_cloud_user *c;

	if (g->user_ins && u->id) {
		int rc = store_user(g->st, g->user_ins, u, err);
		if (rc)
			return rc;
	}
	if (!u->id || !gb_map_get(g->wanted_users, u->id) || gb_map_get(g->cloud_users, u->id))
		return 0;
	if (copy_user(u, &c))
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	if (ptrs_push(&g->users, c, err)) {
		gb_cloud_user_free(c);
		return GB_ENOMEM;
	}
	return gb_map_set(g->cloud_users, c->id, c, err);
}

/* The users named as members (into wanted_users; *wanted counts them), and member groups outside the scope (to
 * classify them; in an incremental pass, a managed group needs no reading: the rules name it by its objectGUID). */
static int collect_referenced(gather *g, size_t *wanted, gb_error *err)
{
	size_t i, j;
	int rc = 0;

	*wanted = 0;
	for (i = 0; i < g->groups.n && !rc; i++) {
		const gb_cloud_group *grp = g->groups.items[i];
		for (j = 0; j < grp->nmembers && !rc; j++) {
			const gb_member_ref *m = &grp->members[j];
			const char *guid;
			if (m->kind == GB_KIND_USER && !gb_map_get(g->wanted_users, m->id)) {
				rc = gb_map_set(g->wanted_users, m->id, (void *)1, err);
				(*wanted)++;
			} else if (m->kind == GB_KIND_GROUP && !gb_map_get(g->cloud_groups, m->id)) {
				if (g->incremental && (guid = gb_map_get(g->managed, m->id)) != NULL && *guid)
					continue;
				gb_cloud_group *other = NULL;
				rc = gb_graph_get_group(g->graph, m->id, &other, err);
				if (rc == GB_ENOTFOUND) {
					rc = 0;
					continue;
				}
				if (!rc && (rc = ptrs_push(&g->extra_groups, other, err)) != 0)
					gb_cloud_group_free(other);
				if (!rc)
					rc = gb_map_set(g->cloud_groups, other->id, other, err);
			}
		}
	}
	return rc;
}

/* A full pass: the users named as members, from one listing of the tenant's users. A pass that keeps delta state
 * records every user listed in cloud_users, the incremental passes' source (kept current by users delta). */
static int read_members_referenced(gather *g, gb_error *err)
{
	size_t wanted = 0;
	int rc = collect_referenced(g, &wanted, err);

	if (!rc && g->record_users) {
		rc = gb_store_begin(g->st, err);
		if (!rc)
			rc = gb_store_exec(g->st, "DELETE FROM cloud_users", err);
		if (!rc && wanted)
			rc = gb_store_prepare(g->st, USER_UPSERT, &g->user_ins, err);
	}
	/* One paged listing of the tenant's users costs far fewer requests than one request per member. */
	if (!rc && wanted) {
		rc = gb_graph_list_users(g->graph, NULL, 999, on_user, g, err);
		if (rc)
			gb_error_prefix(err, "reading the tenant's users");
	}
	if (g->record_users) {
		sqlite3_finalize(g->user_ins);
		g->user_ins = NULL;
		if (!rc)
			rc = gb_store_commit(g->st, err);
		else
			gb_store_rollback(g->st);
	}
	return rc;
}

/* ---- the forest ---- */

static int on_forest_user(const gb_dir_entry *e, void *ctx, gb_error *err)
{
	gather *g = ctx;
	char guid[GB_AD_GUID_TEXT_SIZE];

	if (!gb_dir_entry_guid(e, guid))
		return 0;
	return gb_map_set(g->forest_users, guid, (void *)1, err);
}

static int add_ad_group(gather *g, gb_ad_group *a, gb_error *err)
{
	char *key = NULL;
	int rc;

	rc = ptrs_push(&g->ad, a, err);
	if (rc) {
		gb_ad_group_free(a);
		return rc;
	}
	if (gb_anchor_is_ours(a->anchor))
		rc = gb_map_set(g->ad_by_anchor, a->anchor, a, err);
	if (!rc && a->sid)
		rc = gb_map_set(g->ad_by_sid, a->sid, a, err);
	if (!rc && gb_provision_dn_key(a->dn, &key, NULL) == 0)
		rc = gb_map_set(g->ad_by_dn, key, a, err);
	free(key);
	return rc;
}

/* Reads the group at dn unless it is loaded already. */
static int load_ad_group(gather *g, const char *dn, bool with_members, gb_error *err)
{
	gb_ad_group *a = NULL;
	char *key = NULL;
	int rc;

	if (gb_provision_dn_key(dn, &key, NULL) == 0 && gb_map_get(g->ad_by_dn, key)) {
		free(key);
		return 0;
	}
	free(key);
	rc = gb_directory_read_group(g->dir, dn, with_members, &a, err);
	if (rc == GB_ENOTFOUND)
		return 0;
	if (rc)
		return gb_error_prefix(err, "reading AD group %s", dn);
	return add_ad_group(g, a, err);
}

/* Reads the AD group a converted group's GroupDN extension names. The value comes from the cloud and may be
 * hostile: a value that is not a DN, or that the server refuses as such (a permanent LDAP error for that one base),
 * matches nothing and is that group's business (its mapping or the fence refuses it later), never the run's. */
static int load_group_dn_ext(gather *g, const gb_cloud_group *grp, gb_error *err)
{
	char *key = NULL;
	int rc;

	if (gb_provision_dn_key(grp->group_dn_ext, &key, NULL) != 0) {
		gb_log_write(GB_LOG_WARN, "provision", "group %s: its GroupDN extension is not a DN; not matched by it",
			     grp->id);
		return 0;
	}
	free(key);
	rc = load_ad_group(g, grp->group_dn_ext, true, err);
	if (rc == GB_ELDAP) {
		gb_log_write(GB_LOG_WARN, "provision", "group %s: not matched by its GroupDN extension: %s", grp->id,
			     err->msg);
		gb_error_clear(err);
		rc = 0;
	}
	return rc;
}

typedef struct anchored {
	gather *g;
	ptrs dns;     /* char*: anchored groups to load */
	ptrs members; /* (void*)1 when that group's members are needed */
} anchored;

static int on_anchored(const gb_dir_entry *e, void *ctx, gb_error *err)
{
	anchored *a = ctx;
	const char *id = gb_anchor_object_id(gb_dir_entry_str(e, GB_DIRECTORY_ANCHOR_ATTR));
	char *dn = gb_strdup(e->dn);
	bool need = id && gb_map_get(a->g->in_scope, id);

	if (!dn)
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	if (ptrs_push(&a->dns, dn, err)) {
		free(dn);
		return GB_ENOMEM;
	}
	return ptrs_push(&a->members, need ? (void *)1 : NULL, err);
}

static int read_forest(gather *g, gb_error *err)
{
	static const char *const guid_attr[] = {"objectGUID", NULL};
	static const char *const anchor_attrs[] = {GB_DIRECTORY_ANCHOR_ATTR, NULL};
	const gb_config_directory *dc = &g->cfg->directory;
	unsigned flags = dc->gc_uri ? GB_DIR_GC : 0;
	anchored a;
	size_t i;
	int rc;

	rc = gb_directory_search(g->dir, dc->gc_uri ? "" : NULL, GB_DIR_SUBTREE,
				 "(&(objectCategory=person)(objectClass=user))", guid_attr, flags, on_forest_user, g, err);
	if (rc)
		return gb_error_prefix(err, "reading the forest's users");
	memset(&a, 0, sizeof(a));
	a.g = g;
	rc = gb_directory_search(g->dir, NULL, GB_DIR_SUBTREE, "(&(objectClass=group)(" GB_DIRECTORY_ANCHOR_ATTR "=" GB_ANCHOR_PREFIX "*))",
				 anchor_attrs, 0, on_anchored, &a, err);
	if (rc)
		gb_error_prefix(err, "finding anchored AD groups");
	for (i = 0; !rc && i < a.dns.n; i++)
		rc = load_ad_group(g, a.dns.items[i], a.members.items[i] != NULL, err);
	for (i = 0; i < a.dns.n; i++)
		free(a.dns.items[i]);
	free(a.dns.items);
	free(a.members.items);
	/* Converted groups not anchored yet: their AD group by SID, or by the DN in the GroupDN extension. */
	for (i = 0; !rc && i < g->groups.n; i++) {
		const gb_cloud_group *grp = g->groups.items[i];
		char anchor[GB_ANCHOR_MAX];

		if (gb_anchor_format(grp->id, anchor, sizeof(anchor)) || gb_map_get(g->ad_by_anchor, anchor))
			continue;
		if (grp->on_prem_sid && !gb_map_get(g->ad_by_sid, grp->on_prem_sid)) {
			static const char *const dn_attr[] = {"distinguishedName", NULL};
			gb_dir_entry *e = NULL;
			rc = gb_directory_find_by_sid(g->dir, grp->on_prem_sid, dn_attr, 0, &e, err);
			if (rc == GB_ENOTFOUND) {
				rc = 0;
			} else if (!rc) {
				rc = load_ad_group(g, e->dn, true, err);
			}
			gb_dir_entry_free(e);
		}
		if (!rc && grp->group_dn_ext)
			rc = load_group_dn_ext(g, grp, err);
	}
	return rc;
}

/* ---- groups that left management ---- */

static int read_managed(gather *g, gb_error *err)
{
	sqlite3_stmt *s = NULL;
	int rc, step;

	rc = gb_store_prepare(g->st, "SELECT object_id FROM managed_groups WHERE state = 'managed'", &s, err);
	while (!rc && (step = sqlite3_step(s)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(s, 0);
		gb_cloud_group *grp = NULL;
		json_t *reply = NULL;
		char url[256];
		char *copy;

		if (gb_map_get(g->in_scope, id))
			continue;
		rc = gb_graph_get_group(g->graph, id, &grp, err);
		gb_cloud_group_free(grp);
		if (rc == 0) {
			copy = gb_strdup(id);
			rc = copy ? ptrs_push(&g->left_scope, copy, err) : gb_error_set(err, GB_ENOMEM, "out of memory");
			continue;
		}
		if (rc != GB_ENOTFOUND)
			break;
		/* Not in the tenant: soft-deleted groups are still in the deleted items for 30 days. */
		snprintf(url, sizeof(url), "/v1.0/directory/deletedItems/%s", id);
		rc = gb_graph_call(g->graph, "GET", url, NULL, &reply, err);
		json_decref(reply);
		copy = gb_strdup(id);
		if (!copy) {
			rc = gb_error_set(err, GB_ENOMEM, "out of memory");
			break;
		}
		if (rc == 0) {
			rc = ptrs_push(&g->left_scope, copy, err);
		} else if (rc == GB_ENOTFOUND) {
			rc = ptrs_push(&g->hard_deleted, copy, err);
		} else {
			free(copy);
		}
	}
	if (s && !rc && step != SQLITE_DONE)
		rc = gb_store_error(g->st, err, "reading managed groups");
	sqlite3_finalize(s);
	return rc;
}

static int gather_init(gather *g, gb_error *err)
{
	int rc;

	rc = gb_scope_new(&g->cfg->provisioning, &g->scope, err);
	if (!rc)
		rc = gb_map_new(GB_MAP_ICASE, &g->cloud_groups, err);
	if (!rc)
		rc = gb_map_new(GB_MAP_ICASE, &g->cloud_users, err);
	if (!rc)
		rc = gb_map_new(GB_MAP_ICASE, &g->wanted_users, err);
	if (!rc)
		rc = gb_map_new(GB_MAP_ICASE, &g->forest_users, err);
	if (!rc)
		rc = gb_map_new(GB_MAP_ICASE, &g->ad_by_anchor, err);
	if (!rc)
		rc = gb_map_new(GB_MAP_ICASE, &g->ad_by_sid, err);
	if (!rc)
		rc = gb_map_new(0, &g->ad_by_dn, err);
	if (!rc)
		rc = gb_map_new(GB_MAP_ICASE, &g->in_scope, err);
	if (!rc)
		rc = gb_map_new(GB_MAP_ICASE, &g->extra, err);
	if (!rc) {
		/* the groups the migration handed over are provisioning's too */
		sqlite3_stmt *s = NULL;
		/* handed_over = 2: handed to a Cloud Sync job instead, which provisions them */
		rc = gb_store_prepare(g->st, "SELECT object_id FROM migration_groups WHERE handed_over = 1", &s, err);
		while (!rc && sqlite3_step(s) == SQLITE_ROW)
			rc = gb_map_set(g->extra, (const char *)sqlite3_column_text(s, 0), (void *)1, err);
		sqlite3_finalize(s);
	}
	return rc;
}

static int gather_all(gather *g, gb_error *err)
{
	int rc;

	gb_info("provision", "reading groups in scope from the tenant");
	rc = read_groups(g, err);
	if (!rc)
		rc = read_members_referenced(g, err);
	if (!rc) {
		gb_info("provision", "read %zu groups and %zu member users; reading the forest", g->groups.n, g->users.n);
		rc = read_forest(g, err);
	}
	if (!rc && !g->only_group && !g->only_ids)
		rc = read_managed(g, err);
	if (!rc)
		gb_info("provision", "forest: %zu users, %zu anchored or matched groups", gb_map_count(g->forest_users),
			g->ad.n);
	return rc;
}

/* ---- incremental passes (Graph delta) ---- */

#define STASH_GROUPS "provision.delta.replay.groups"
#define STASH_USERS "provision.delta.replay.users"
#define FINGERPRINT_KEY "provision.fingerprint"

enum { CHANGED = 1, DELETED = 2, CHANGED_OUT = 3 };

/* What the delta records of one pass say about one group, merged over all its records (a large group's
 * members@delta spans several records and pages, and a record may be replayed). */
typedef struct group_change {
	uintptr_t kind;         /* CHANGED, DELETED or CHANGED_OUT (the strongest seen) */
	gb_cloud_group *props;  /* the properties of the last record that carried all of them (owned), or NULL */
	gb_map *added;          /* member id -> (void *)(kind + 1) */
	gb_map *removed;        /* member id -> (void *)(kind + 1) */
	bool unsure;            /* a member both added and removed (the order cannot be trusted), or one added of an
				 * unknown type: read the group in full */
} group_change;

typedef struct delta_changes {
	gb_map *groups; /* id -> group_change* (owned) */
	gb_map *users;  /* id -> gb_cloud_user* (owned: the last record; deleted set for removed users) */
	bool reset;     /* delta enumerated everything: a full pass is needed */
} delta_changes;

static void group_change_free(group_change *c)
{
	if (!c)
		return;
	gb_cloud_group_free(c->props);
	gb_map_free(c->added);
	gb_map_free(c->removed);
	free(c);
}

static void changes_clear(delta_changes *ch)
{
	size_t pos = 0;
	const char *k;
	void *v;

	while (ch->groups && gb_map_next(ch->groups, &pos, &k, &v))
		group_change_free(v);
	pos = 0;
	while (ch->users && gb_map_next(ch->users, &pos, &k, &v))
		gb_cloud_user_free(v);
	gb_map_free(ch->groups);
	gb_map_free(ch->users);
	memset(ch, 0, sizeof(*ch));
}

/* A copy of a group's properties (no members). */
static int copy_group_props(const gb_cloud_group *src, gb_cloud_group **out)
{
	gb_cloud_group *c = malloc(sizeof(*c));

	*out = NULL;
	if (!c)
		return GB_ENOMEM;
	*c = *src;
	c->members = NULL;
	c->nmembers = c->members_cap = 0;
	c->members_read = false;
	c->id = gb_strdup(src->id);
	c->display_name = src->display_name ? gb_strdup(src->display_name) : NULL;
	c->description = src->description ? gb_strdup(src->description) : NULL;
	c->on_prem_sid = src->on_prem_sid ? gb_strdup(src->on_prem_sid) : NULL;
	c->group_dn_ext = src->group_dn_ext ? gb_strdup(src->group_dn_ext) : NULL;
	c->writeback_group_type = src->writeback_group_type ? gb_strdup(src->writeback_group_type) : NULL;
	if (!c->id || (src->display_name && !c->display_name) || (src->description && !c->description) ||
	    (src->on_prem_sid && !c->on_prem_sid) || (src->group_dn_ext && !c->group_dn_ext) ||
	    (src->writeback_group_type && !c->writeback_group_type)) {
		gb_cloud_group_free(c);
		return GB_ENOMEM;
	}
	*out = c;
	return 0;
}

/* Records one members@delta entry. The same member on both sides, or a member added without a known type (a user
 * taken for another kind would be removed from AD), makes the change unsure. */
static int note_member(group_change *c, const gb_member_ref *m, bool removed, gb_error *err)
{
	gb_map *same = removed ? c->removed : c->added, *other = removed ? c->added : c->removed;

	if (!m->id)
		return 0;
	if (gb_map_get(other, m->id) || (!removed && m->kind == GB_KIND_OTHER))
		c->unsure = true;
	return gb_map_set(same, m->id, (void *)(uintptr_t)(m->kind + 1), err);
}

static int on_group_delta(const gb_graph_group_delta *d, void *ud, gb_error *err)
{
	delta_changes *ch = ud;
	group_change *c;
	uintptr_t kind;
	size_t i;
	int rc = 0;

	if (!d) {
		ch->reset = true;
		return 0;
	}
	if (ch->reset || !d->group.id)
		return 0;
	kind = d->group.deleted ? DELETED : d->group.changed_out ? CHANGED_OUT : CHANGED;
	c = gb_map_get(ch->groups, d->group.id);
	if (!c) {
		c = calloc(1, sizeof(*c));
		if (!c)
			return gb_error_set(err, GB_ENOMEM, "out of memory");
		if (gb_map_new(GB_MAP_ICASE, &c->added, err) || gb_map_new(GB_MAP_ICASE, &c->removed, err) ||
		    gb_map_set(ch->groups, d->group.id, c, err)) {
			group_change_free(c);
			return gb_error_set(err, GB_ENOMEM, "out of memory");
		}
	}
	if (kind > c->kind)
		c->kind = kind;
	if (kind != CHANGED)
		return 0;
	if (d->complete) {
		gb_cloud_group *p = NULL;
		if (copy_group_props(&d->group, &p))
			return gb_error_set(err, GB_ENOMEM, "out of memory");
		gb_cloud_group_free(c->props);
		c->props = p;
	}
	for (i = 0; i < d->nadded && !rc; i++)
		rc = note_member(c, &d->added[i], false, err);
	for (i = 0; i < d->nremoved && !rc; i++)
		rc = note_member(c, &d->removed[i], true, err);
	return rc;
}

static int on_user_delta(const gb_cloud_user *u, void *ud, gb_error *err)
{
	delta_changes *ch = ud;
	gb_cloud_user *c = NULL, *old;

	if (!u) {
		ch->reset = true;
		return 0;
	}
	if (ch->reset || !u->id)
		return 0;
	if (copy_user(u, &c))
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	c->deleted = u->deleted;
	old = gb_map_get(ch->users, u->id);
	if (gb_map_set(ch->users, u->id, c, err)) {
		gb_cloud_user_free(c);
		return GB_ENOMEM;
	}
	gb_cloud_user_free(old);
	return 0;
}

/* Before reading delta: a stash left by an unfinished pass is put back (so its changes are read again); otherwise
 * the current links are stashed until this pass has applied everything. */
static int delta_begin(gb_store *st, gb_error *err)
{
	static const char *const keys[2][2] = {{GB_GRAPH_DELTA_KEY_GROUPS, STASH_GROUPS},
					       {GB_GRAPH_DELTA_KEY_USERS, STASH_USERS}};
	int i, rc = 0;

	for (i = 0; i < 2 && !rc; i++) {
		char *stash = NULL, *cur = NULL;

		rc = gb_store_kv_get(st, keys[i][1], &stash, err);
		if (rc == 0) {
			gb_info("provision", "the previous pass did not finish; its changes are read again");
			rc = *stash ? gb_store_kv_set(st, keys[i][0], stash, err) : gb_store_kv_del(st, keys[i][0], err);
		} else if (rc == GB_ENOTFOUND) {
			rc = gb_store_kv_get(st, keys[i][0], &cur, err);
			if (rc == GB_ENOTFOUND)
				rc = 0;
			if (!rc)
				rc = gb_store_kv_set(st, keys[i][1], cur ? cur : "", err);
		}
		free(stash);
		free(cur);
	}
	return rc;
}

static int delta_commit(gb_store *st, gb_error *err)
{
	int rc = gb_store_kv_del(st, STASH_GROUPS, err);

	return rc ? rc : gb_store_kv_del(st, STASH_USERS, err);
}

static int cmp_keys(const void *a, const void *b)
{
	return gb_strcasecmp(*(const char *const *)a, *(const char *const *)b);
}

/* A fingerprint of everything that decides scope and mappings: when it changes, a full pass is needed. */
static int fingerprint(const gather *g, char out[65], gb_error *err)
{
	const gb_config_provisioning *p = &g->cfg->provisioning;
	const char *fields[] = {p->scope,      p->target_container, p->cn,         p->description,
				p->samaccountname, p->group_dn_extension, p->membership, p->allowed_containers};
	const char *const *ids = gb_scope_selected_ids(g->scope);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t i;

	if (!ctx)
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		EVP_DigestUpdate(ctx, fields[i] ? fields[i] : "\x01", fields[i] ? strlen(fields[i]) + 1 : 1);
	for (i = 0; p->filters && p->filters[i]; i++)
		EVP_DigestUpdate(ctx, p->filters[i], strlen(p->filters[i]) + 1);
	for (; ids && *ids; ids++)
		EVP_DigestUpdate(ctx, *ids, strlen(*ids) + 1);
	EVP_DigestUpdate(ctx, p->move_on_container_change ? "m1" : "m0", 2);
	if (g->extra && gb_map_count(g->extra)) {
		/* the handed-over groups are scope too; sorted, so that the map's order does not matter */
		const char **keys = malloc(gb_map_count(g->extra) * sizeof(char *));
		size_t pos = 0, k = 0;
		const char *key;
		void *v;

		if (!keys) {
			EVP_MD_CTX_free(ctx);
			return gb_error_set(err, GB_ENOMEM, "out of memory");
		}
		while (gb_map_next(g->extra, &pos, &key, &v))
			keys[k++] = key;
		qsort(keys, k, sizeof(char *), cmp_keys);
		EVP_DigestUpdate(ctx, "handed-over", 11);
		for (i = 0; i < k; i++)
			EVP_DigestUpdate(ctx, keys[i], strlen(keys[i]) + 1);
		free(keys);
	}
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	for (i = 0; i < mdlen && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}

static int load_managed(gather *g, gb_error *err)
{
	sqlite3_stmt *s = NULL;
	int rc, step;

	rc = gb_map_new(GB_MAP_ICASE, &g->managed, err);
	if (!rc)
		rc = gb_store_prepare(g->st, "SELECT object_id, COALESCE(guid, '') FROM managed_groups WHERE state = 'managed'",
				      &s, err);
	while (!rc && (step = sqlite3_step(s)) == SQLITE_ROW) {
		char *guid = gb_strdup((const char *)sqlite3_column_text(s, 1));
		if (!guid || gb_map_set(g->managed, (const char *)sqlite3_column_text(s, 0), guid, err)) {
			free(guid);
			rc = gb_error_set(err, GB_ENOMEM, "out of memory");
		}
	}
	if (s && !rc && step != SQLITE_DONE)
		rc = gb_store_error(g->st, err, "reading managed groups");
	sqlite3_finalize(s);
	return rc;
}

static int push_id(ptrs *p, const char *id, gb_error *err)
{
	char *copy = gb_strdup(id);

	if (!copy || ptrs_push(p, copy, err)) {
		free(copy);
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	}
	return 0;
}

/* The groups a changed user belongs to (as last read). */
static int groups_of_user(gather *g, const char *user_id, gb_map *affected, gb_error *err)
{
	sqlite3_stmt *s = NULL;
	int rc;

	rc = gb_store_prepare(g->st, "SELECT group_id FROM managed_members WHERE member_id = ?1", &s, err);
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, user_id, -1, SQLITE_STATIC);
	while (!rc && sqlite3_step(s) == SQLITE_ROW)
		rc = gb_map_set(affected, (const char *)sqlite3_column_text(s, 0), (void *)1, err);
	sqlite3_finalize(s);
	return rc;
}

/* Re-reads one affected group: in scope, it is provisioned; managed but out of scope or gone, it leaves
 * management (or, deleted for good, is deleted). */
static int reread_group(gather *g, const char *id, gb_error *err)
{
	gb_cloud_group *grp = NULL;
	bool match = false;
	json_t *reply = NULL;
	char url[256];
	int rc;

	rc = gb_graph_get_group(g->graph, id, &grp, err);
	if (rc == GB_ENOTFOUND) {
		if (!gb_map_get(g->managed, id))
			return 0;
		snprintf(url, sizeof(url), "/v1.0/directory/deletedItems/%s", id);
		rc = gb_graph_call(g->graph, "GET", url, NULL, &reply, err);
		json_decref(reply);
		if (rc == 0)
			return push_id(&g->left_scope, id, err);
		return rc == GB_ENOTFOUND ? push_id(&g->hard_deleted, id, err) : rc;
	}
	if (rc)
		return gb_error_prefix(err, "reading group %s", id);
	rc = scope_has(g, grp, &match, err);
	if (!rc && match)
		return keep_group(g, grp, err);
	gb_cloud_group_free(grp);
	if (!rc && gb_map_get(g->managed, id))
		rc = push_id(&g->left_scope, id, err);
	return rc;
}

static gb_object_kind kind_from_name(const char *name)
{
	int k;

	for (k = GB_KIND_USER; k < GB_KIND_OTHER; k++)
		if (name && strcmp(name, gb_object_kind_name((gb_object_kind)k)) == 0)
			return (gb_object_kind)k;
	return GB_KIND_OTHER;
}

/* Loads into grp the direct membership stored for group id, when the store holds it complete (member_state):
 * *have tells. */
static int stored_members(gather *g, const char *id, gb_cloud_group *grp, bool *have, gb_error *err)
{
	sqlite3_stmt *s = NULL;
	int rc, step;

	*have = false;
	rc = gb_store_prepare(g->st, "SELECT 1 FROM member_state WHERE group_id = ?1", &s, err);
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	step = sqlite3_step(s);
	sqlite3_finalize(s);
	if (step == SQLITE_DONE)
		return 0;
	if (step != SQLITE_ROW)
		return gb_store_error(g->st, err, "reading the stored membership");
	rc = gb_store_prepare(g->st, "SELECT member_id, kind FROM managed_members WHERE group_id = ?1", &s, err);
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	while (!rc && (step = sqlite3_step(s)) == SQLITE_ROW)
		rc = gb_cloud_group_add_member(grp, kind_from_name((const char *)sqlite3_column_text(s, 1)),
					       (const char *)sqlite3_column_text(s, 0), err);
	if (!rc && step != SQLITE_DONE)
		rc = gb_store_error(g->st, err, "reading the stored membership");
	sqlite3_finalize(s);
	if (!rc)
		*have = true;
	return rc;
}

/* An incremental pass's changed group built without reading its members: the membership stored by the pass that
 * last read or built it, plus and minus every members@delta entry of this pass's records (c, or NULL when only a
 * member user changed); the properties from a record that carried them all, or else read (without members). *done
 * is false when that is not safe: the group is not managed, its stored membership is missing, or its records are
 * unsure (a member both added and removed, or added without a known type); the caller then reads it in full. */
static int build_group(gather *g, const char *id, const group_change *c, bool *done, gb_error *err)
{
	gb_cloud_group *grp = NULL, stored;
	bool have = false, match = false;
	size_t i, kept = 0, pos = 0;
	const char *key;
	void *v;
	int rc;

	*done = false;
	if (!gb_map_get(g->managed, id) || (c && c->unsure))
		return 0;
	memset(&stored, 0, sizeof(stored));
	gb_cloud_group_clear(&stored);
	rc = stored_members(g, id, &stored, &have, err);
	if (rc || !have)
		goto cleanup;
	if (c && c->props) {
		if (copy_group_props(c->props, &grp)) {
			rc = gb_error_set(err, GB_ENOMEM, "out of memory");
			goto cleanup;
		}
	} else {
		rc = gb_graph_get_group(g->graph, id, &grp, err);
		if (rc == GB_ENOTFOUND) {
			rc = 0; /* gone meanwhile: the full read decides between deleted and restorable */
			goto cleanup;
		}
		if (rc) {
			gb_error_prefix(err, "reading group %s", id);
			goto cleanup;
		}
		g->props_read++;
	}
	/* the stored members, less those the records name (removed, or added: added once below) */
	grp->members = stored.members;
	grp->nmembers = stored.nmembers;
	grp->members_cap = stored.members_cap;
	stored.members = NULL;
	stored.nmembers = stored.members_cap = 0;
	for (i = 0; i < grp->nmembers; i++) {
		if (c && (gb_map_get(c->removed, grp->members[i].id) || gb_map_get(c->added, grp->members[i].id)))
			free(grp->members[i].id);
		else
			grp->members[kept++] = grp->members[i];
	}
	grp->nmembers = kept;
	while (!rc && c && gb_map_next(c->added, &pos, &key, &v))
		rc = gb_cloud_group_add_member(grp, (gb_object_kind)((uintptr_t)v - 1), key, err);
	grp->members_read = true;
	if (!rc)
		rc = scope_has(g, grp, &match, err);
	if (rc)
		goto cleanup;
	*done = true;
	g->built++;
	if (match) {
		rc = add_group(g, grp, err);
		grp = NULL;
	} else {
		rc = push_id(&g->left_scope, id, err);
	}
cleanup:
	gb_cloud_group_free(grp);
	gb_cloud_group_clear(&stored);
	return rc;
}

/* An incremental pass: the users the groups built or read name, from this pass's users delta records, else from
 * cloud_users as the last full pass listed them and users delta kept them, else read from the tenant. */
static int resolve_users(gather *g, const delta_changes *ch, gb_error *err)
{
	sqlite3_stmt *s = NULL;
	size_t wanted = 0, pos = 0, i;
	const char *key;
	void *v;
	ptrs miss;
	int rc, step;

	memset(&miss, 0, sizeof(miss));
	rc = collect_referenced(g, &wanted, err);
	if (rc || !wanted)
		return rc;
	rc = gb_store_prepare(g->st, "SELECT display_name, user_principal_name, on_prem_object_id, on_prem_sid, "
				     "on_prem_sync_enabled FROM cloud_users WHERE id = ?1", &s, err);
	while (!rc && gb_map_next(g->wanted_users, &pos, &key, &v)) {
		const gb_cloud_user *u = gb_map_get(ch->users, key);
		gb_cloud_user row;

		if (gb_map_get(g->cloud_users, key))
			continue;
		if (u) {
			if (!u->deleted) /* a removed user stays unknown, as a full read would find it */
				rc = on_user(u, g, err);
			continue;
		}
		sqlite3_reset(s);
		sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
		step = sqlite3_step(s);
		if (step == SQLITE_ROW) {
			memset(&row, 0, sizeof(row));
			row.id = (char *)key;
			row.display_name = (char *)sqlite3_column_text(s, 0);
			row.user_principal_name = (char *)sqlite3_column_text(s, 1);
			row.on_prem_object_id = (char *)sqlite3_column_text(s, 2);
			row.on_prem_sid = (char *)sqlite3_column_text(s, 3);
			row.on_prem_sync_enabled = (gb_tri)sqlite3_column_int(s, 4);
			rc = on_user(&row, g, err);
		} else if (step == SQLITE_DONE) {
			rc = ptrs_push(&miss, (void *)key, err);
		} else {
			rc = gb_store_error(g->st, err, "reading the stored users");
		}
	}
	sqlite3_finalize(s);
	/* Not known (a full pass without user members, say): read them, one listing when there are many. */
	if (!rc && miss.n > 50) {
		rc = gb_graph_list_users(g->graph, NULL, 999, on_user, g, err);
		if (rc)
			gb_error_prefix(err, "reading the tenant's users");
	}
	for (i = 0; !rc && miss.n <= 50 && i < miss.n; i++) {
		gb_cloud_user *u = NULL;
		rc = gb_graph_get_user(g->graph, miss.items[i], &u, err);
		if (rc == GB_ENOTFOUND) {
			rc = 0;
			continue;
		}
		if (rc)
			gb_error_prefix(err, "reading user %s", (const char *)miss.items[i]);
		else
			rc = on_user(u, g, err);
		gb_cloud_user_free(u);
	}
	free(miss.items);
	return rc;
}

/* A user of this forest (objectClass user, not a computer: computers are users too in AD's schema). */
static int on_found_user(const gb_dir_entry *e, void *ctx, gb_error *err)
{
	const gb_dir_attr *oc = gb_dir_entry_attr(e, "objectClass");
	bool user = false, computer = false;
	size_t i;

	for (i = 0; oc && i < oc->nvalues; i++) {
		user |= gb_str_iequal(oc->values[i].data, "user");
		computer |= gb_str_iequal(oc->values[i].data, "computer");
	}
	return user && !computer ? on_forest_user(e, ctx, err) : 0;
}

/* An incremental gather: only the affected groups, their members, and the AD objects they name. */
static int gather_changes(gather *g, const delta_changes *ch, gb_error *err)
{
	gb_map *affected = NULL;
	const char *const *ids = gb_scope_selected_ids(g->scope);
	const char *key;
	void *v;
	size_t pos = 0, i;
	ptrs guids;
	int rc;

	memset(&guids, 0, sizeof(guids));
	g->incremental = true;
	rc = gb_map_new(GB_MAP_ICASE, &affected, err);
	while (!rc && gb_map_next(ch->groups, &pos, &key, &v)) {
		uintptr_t kind = ((const group_change *)v)->kind;
		if (kind == DELETED) {
			if (gb_map_get(g->managed, key))
				rc = push_id(&g->hard_deleted, key, err);
		} else if (kind == CHANGED_OUT) {
			if (gb_map_get(g->managed, key))
				rc = push_id(&g->left_scope, key, err);
		} else if (gb_map_get(g->managed, key) || !ids) {
			rc = gb_map_set(affected, key, (void *)1, err);
		} else {
			for (i = 0; ids[i] && !gb_str_iequal(ids[i], key); i++)
				;
			if (ids[i])
				rc = gb_map_set(affected, key, (void *)1, err);
		}
	}
	pos = 0;
	while (!rc && gb_map_next(ch->users, &pos, &key, &v))
		rc = groups_of_user(g, key, affected, err);
	/* A change of the selected ids changes the fingerprint and makes a full pass: no id is newly selected here. */
	pos = 0;
	while (!rc && gb_map_next(affected, &pos, &key, &v)) {
		bool done = false;
		rc = build_group(g, key, gb_map_get(ch->groups, key), &done, err);
		if (!rc && !done) {
			g->reread++;
			rc = reread_group(g, key, err);
		}
	}
	if (!rc)
		gb_info("provision", "delta: %zu groups and %zu users changed; %zu groups built from the stored membership "
				     "and the delta records (%zu with their properties read), %zu groups to read again",
			gb_map_count(ch->groups), gb_map_count(ch->users), g->built, g->props_read, g->reread);
	if (!rc)
		rc = resolve_users(g, ch, err);
	/* The forest: only the users the affected groups name, and only their AD groups. */
	for (i = 0; !rc && i < g->users.n; i++) {
		const gb_cloud_user *u = g->users.items[i];
		if (u->on_prem_object_id && gb_ad_guid_is_text(u->on_prem_object_id))
			rc = ptrs_push(&guids, u->on_prem_object_id, err);
	}
	for (i = 0; !rc && i < g->groups.n; i++) {
		const gb_cloud_group *grp = g->groups.items[i];
		static const char *const dn_attr[] = {"distinguishedName", NULL};
		gb_dir_entry *e = NULL;
		char anchor[GB_ANCHOR_MAX];

		if (gb_anchor_format(grp->id, anchor, sizeof(anchor)))
			continue;
		rc = gb_directory_find_by_anchor(g->dir, anchor, dn_attr, 0, &e, err);
		if (rc == GB_ENOTFOUND)
			rc = 0;
		else if (!rc)
			rc = load_ad_group(g, e->dn, true, err);
		gb_dir_entry_free(e);
	}
	/* converted groups not anchored yet: by SID or GroupDN, as in a full pass */
	for (i = 0; !rc && i < g->groups.n; i++) {
		const gb_cloud_group *grp = g->groups.items[i];
		char anchor[GB_ANCHOR_MAX];

		if (gb_anchor_format(grp->id, anchor, sizeof(anchor)) || gb_map_get(g->ad_by_anchor, anchor))
			continue;
		if (grp->on_prem_sid && !gb_map_get(g->ad_by_sid, grp->on_prem_sid)) {
			static const char *const dn_attr[] = {"distinguishedName", NULL};
			gb_dir_entry *e = NULL;
			rc = gb_directory_find_by_sid(g->dir, grp->on_prem_sid, dn_attr, 0, &e, err);
			if (rc == GB_ENOTFOUND)
				rc = 0;
			else if (!rc)
				rc = load_ad_group(g, e->dn, true, err);
			gb_dir_entry_free(e);
		}
		if (!rc && grp->group_dn_ext)
			rc = load_group_dn_ext(g, grp, err);
	}
	/* Deleted or left: their AD groups, so that the plan can delete or stop managing them. */
	for (i = 0; !rc && i < g->hard_deleted.n + g->left_scope.n; i++) {
		const char *id = i < g->hard_deleted.n ? g->hard_deleted.items[i] : g->left_scope.items[i - g->hard_deleted.n];
		static const char *const dn_attr[] = {"distinguishedName", NULL};
		gb_dir_entry *e = NULL;
		char anchor[GB_ANCHOR_MAX];

		if (gb_anchor_format(id, anchor, sizeof(anchor)))
			continue;
		rc = gb_directory_find_by_anchor(g->dir, anchor, dn_attr, 0, &e, err);
		if (rc == GB_ENOTFOUND)
			rc = 0;
		else if (!rc)
			rc = load_ad_group(g, e->dn, false, err);
		gb_dir_entry_free(e);
	}
	/* Which of the GUIDs named (cloud members, and AD members of the groups read) are users of this forest: the
	 * rules add the first and may remove the second only when they are. */
	for (i = 0; !rc && i < g->ad.n; i++) {
		const gb_ad_group *a = g->ad.items[i];
		size_t j;
		for (j = 0; !rc && j < a->nmembers; j++)
			rc = ptrs_push(&guids, a->member_guids[j], err);
	}
	if (!rc && guids.n) {
		static const char *const attrs[] = {"objectGUID", "objectClass", NULL};
		rc = gb_directory_find_by_guids(g->dir, (const char *const *)guids.items, guids.n, attrs,
						g->cfg->directory.gc_uri ? GB_DIR_GC : 0, on_found_user, g, err);
	}
	/* Managed groups that are not read again stay referenced by the groups that nest them. */
	if (!rc)
		rc = gb_map_new(GB_MAP_ICASE, &g->provisioned, err);
	pos = 0;
	while (!rc && gb_map_next(g->managed, &pos, &key, &v))
		if (!gb_map_get(g->in_scope, key) && *(const char *)v)
			rc = gb_map_set(g->provisioned, key, v, err);
	free(guids.items);
	gb_map_free(affected);
	return rc;
}

/* Runs s (bound to id) to its end. */
static int step_id(gb_store *st, sqlite3_stmt *s, const char *id, gb_error *err)
{
	sqlite3_reset(s);
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	return sqlite3_step(s) == SQLITE_DONE ? 0 : gb_store_error(st, err, "recording members");
}

/* After a pass applied everything: the direct members of every group read or built (complete: member_state), for
 * the next incremental pass, which builds a changed group from them and its delta records; groups that left are
 * forgotten. An incremental pass also records its users delta in cloud_users. */
static int record_members(gather *g, const gb_plan *plan, const delta_changes *ch, bool full, gb_error *err)
{
	sqlite3_stmt *del = NULL, *ins = NULL, *del_state = NULL, *ins_state = NULL, *user_del = NULL, *user_ins = NULL;
	size_t i, j, pos = 0;
	const char *key;
	void *v;
	int rc;

	rc = gb_store_begin(g->st, err);
	if (!rc && full)
		rc = gb_store_exec(g->st, "DELETE FROM managed_members; DELETE FROM member_state", err);
	if (!rc)
		rc = gb_store_prepare(g->st, "DELETE FROM managed_members WHERE group_id = ?1", &del, err);
	if (!rc)
		rc = gb_store_prepare(g->st, "DELETE FROM member_state WHERE group_id = ?1", &del_state, err);
	if (!rc)
		rc = gb_store_prepare(g->st, "INSERT OR IGNORE INTO managed_members(group_id, member_id, kind) "
					     "VALUES (?1, ?2, ?3)", &ins, err);
	if (!rc)
		rc = gb_store_prepare(g->st, "INSERT OR IGNORE INTO member_state(group_id) VALUES (?1)", &ins_state, err);
	for (i = 0; !rc && i < g->groups.n; i++) {
		const gb_cloud_group *grp = g->groups.items[i];
		bool provisioned = false;

		for (j = 0; j < plan->ngroups && !provisioned; j++)
			provisioned = gb_str_iequal(plan->groups[j].object_id, grp->id);
		rc = step_id(g->st, del, grp->id, err);
		if (!rc)
			rc = step_id(g->st, del_state, grp->id, err);
		if (rc || !provisioned || !grp->members_read)
			continue;
		for (j = 0; !rc && j < grp->nmembers; j++) {
			sqlite3_reset(ins);
			sqlite3_bind_text(ins, 1, grp->id, -1, SQLITE_STATIC);
			sqlite3_bind_text(ins, 2, grp->members[j].id, -1, SQLITE_STATIC);
			sqlite3_bind_text(ins, 3, gb_object_kind_name(grp->members[j].kind), -1, SQLITE_STATIC);
			if (sqlite3_step(ins) != SQLITE_DONE)
				rc = gb_store_error(g->st, err, "recording members");
		}
		if (!rc)
			rc = step_id(g->st, ins_state, grp->id, err);
	}
	for (i = 0; !rc && i < g->hard_deleted.n + g->left_scope.n; i++) {
		const char *id = i < g->hard_deleted.n ? g->hard_deleted.items[i] : g->left_scope.items[i - g->hard_deleted.n];
		rc = step_id(g->st, del, id, err);
		if (!rc)
			rc = step_id(g->st, del_state, id, err);
	}
	if (!rc && !full && ch->users && gb_map_count(ch->users)) {
		rc = gb_store_prepare(g->st, "DELETE FROM cloud_users WHERE id = ?1", &user_del, err);
		if (!rc)
			rc = gb_store_prepare(g->st, USER_UPSERT, &user_ins, err);
		while (!rc && gb_map_next(ch->users, &pos, &key, &v)) {
			const gb_cloud_user *u = v;
			rc = u->deleted ? step_id(g->st, user_del, u->id, err) : store_user(g->st, user_ins, u, err);
		}
	}
	sqlite3_finalize(del);
	sqlite3_finalize(ins);
	sqlite3_finalize(del_state);
	sqlite3_finalize(ins_state);
	sqlite3_finalize(user_del);
	sqlite3_finalize(user_ins);
	if (!rc)
		rc = gb_store_commit(g->st, err);
	else
		gb_store_rollback(g->st);
	return rc;
}

/* ---- apply (the shared engine, apply.h) ---- */

static int set_managed(gb_store *st, const char *id, const char *dn, const char *guid, const char *state,
		       const char *run_id, gb_error *err)
{
	sqlite3_stmt *s;
	int rc;

	rc = gb_store_prepare(st,
			      "INSERT INTO managed_groups(object_id, dn, guid, state, last_run) VALUES (?1, ?2, ?3, ?4, ?5) "
			      "ON CONFLICT(object_id) DO UPDATE SET dn = excluded.dn, guid = COALESCE(excluded.guid, guid), "
			      "state = excluded.state, last_run = excluded.last_run, "
			      "updated = strftime('%Y-%m-%dT%H:%M:%fZ','now')",
			      &s, err);
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, dn, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, guid, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, state, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, run_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(s) == SQLITE_DONE ? 0 : gb_store_error(st, err, "recording a managed group");
	sqlite3_finalize(s);
	return rc;
}

static int set_managed_dn(gb_store *st, const char *id, const char *dn, gb_error *err)
{
	sqlite3_stmt *s;
	int rc;

	rc = gb_store_prepare(st, "UPDATE managed_groups SET dn = ?2, updated = strftime('%Y-%m-%dT%H:%M:%fZ','now') "
				  "WHERE object_id = ?1",
			      &s, err);
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, dn, -1, SQLITE_STATIC);
	rc = sqlite3_step(s) == SQLITE_DONE ? 0 : gb_store_error(st, err, "recording a managed group");
	sqlite3_finalize(s);
	return rc;
}

/* What the pass learns from the engine's outcomes, per group. */
typedef struct applied {
	const char *run_id;
	gb_map *failed;  /* object id -> 1: an operation of the group failed or was skipped */
	gb_map *dn_now;  /* object id -> DN after a rename or move (owned) */
	gb_map *guid;    /* object id -> objectGUID of a group created (owned) */
} applied;

static int remember(gb_map *m, const char *id, const char *value, gb_error *err)
{
	char *copy = gb_strdup(value), *old = gb_map_get(m, id);

	if (!copy || gb_map_set(m, id, copy, err)) {
		free(copy);
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	}
	free(old);
	return 0;
}

/* The engine's hook: provisioning's state changes for one operation, in the transaction of its audit record. */
static int on_outcome(void *ctx, gb_store *st, const gb_op *op, const gb_apply_outcome *o, gb_error *err)
{
	applied *a = ctx;
	int rc = 0;

	if (!op->object_id)
		return 0;
	if (o->outcome != GB_OUTCOME_OK)
		return gb_map_set(a->failed, op->object_id, (void *)1, err);
	switch (op->kind) {
	case GB_OP_CREATE_GROUP:
		rc = set_managed(st, op->object_id, o->dn_after, o->guid, "managed", a->run_id, err);
		if (!rc && o->guid)
			rc = remember(a->guid, op->object_id, o->guid, err);
		break;
	case GB_OP_RENAME:
	case GB_OP_MOVE:
		rc = set_managed_dn(st, op->object_id, o->dn_after, err);
		if (!rc)
			rc = remember(a->dn_now, op->object_id, o->dn_after, err);
		break;
	case GB_OP_DELETE_GROUP: rc = set_managed(st, op->object_id, o->target, op->guid, "deleted", a->run_id, err); break;
	case GB_OP_UNMANAGE: rc = set_managed(st, op->object_id, o->target, op->guid, "unmanaged", a->run_id, err); break;
	default: break;
	}
	return rc;
}

static void applied_clear(applied *a)
{
	gb_map *maps[2] = {a->dn_now, a->guid};
	size_t pos, i;
	const char *k;
	void *v;

	for (i = 0; i < 2; i++) {
		pos = 0;
		while (maps[i] && gb_map_next(maps[i], &pos, &k, &v))
			free(v);
		gb_map_free(maps[i]);
	}
	gb_map_free(a->failed);
	memset(a, 0, sizeof(*a));
}

/* Every group the plan provisions and whose operations all succeeded is managed from now on (in one transaction). */
static int record_managed(gb_store *st, gb_directory *dir, const gb_plan *plan, const applied *a, gb_error *err)
{
	size_t i;
	int rc;

	if (!plan->ngroups)
		return 0;
	rc = gb_store_begin(st, err);
	for (i = 0; !rc && i < plan->ngroups; i++) {
		const gb_plan_group *pg = &plan->groups[i];
		const char *dn = gb_map_get(a->dn_now, pg->object_id), *guid = pg->guid;
		char *read = NULL;

		if (gb_map_get(a->failed, pg->object_id))
			continue;
		if (!guid)
			guid = gb_map_get(a->guid, pg->object_id);
		if (!guid) {
			gb_ad_group *g = NULL;
			if (gb_directory_read_group(dir, dn ? dn : pg->dn, false, &g, NULL) == 0)
				read = gb_strdup(g->guid);
			gb_ad_group_free(g);
			guid = read;
		}
		rc = set_managed(st, pg->object_id, dn ? dn : pg->dn, guid, "managed", a->run_id, err);
		free(read);
	}
	if (!rc)
		return gb_store_commit(st, err);
	gb_store_rollback(st);
	return rc;
}

static int apply(const gb_config *cfg, gb_store *st, gb_directory *dir, const char *fence,
		 const gb_provision_opts *o, gb_provision_result *res, gb_error *err)
{
	gb_apply_opts ao;
	gb_apply_result ar;
	applied a;
	int rc;

	memset(&ar, 0, sizeof(ar));
	memset(&a, 0, sizeof(a));
	a.run_id = o->run_id;
	rc = gb_map_new(GB_MAP_ICASE, &a.failed, err);
	if (!rc)
		rc = gb_map_new(GB_MAP_ICASE, &a.dn_now, err);
	if (!rc)
		rc = gb_map_new(GB_MAP_ICASE, &a.guid, err);
	memset(&ao, 0, sizeof(ao));
	ao.st = st;
	ao.run_id = o->run_id;
	ao.step = "provision";
	ao.dir = dir;
	ao.fence = fence;
	ao.member_batch = cfg->directory.member_batch > 0 ? (size_t)cfg->directory.member_batch : 0;
	ao.hook = on_outcome;
	ao.ctx = &a;
	if (!rc)
		rc = gb_apply(res->plan, &ao, &ar, err);
	res->applied = ar.applied;
	res->failed = ar.failed;
	res->skipped = ar.skipped;
	if (!rc || rc == GB_EINTERRUPTED) {
		gb_error e2;
		int mrc = record_managed(st, dir, res->plan, &a, &e2);
		if (mrc) {
			rc = mrc;
			*err = e2;
		}
	}
	applied_clear(&a);
	return rc;
}

/* ---- the pass ---- */

int gb_provisioner_fence(const gb_config *cfg, char **out, gb_error *err)
{
	gb_mappings *m = NULL;
	const char *constant;
	int rc;

	*out = NULL;
	if (cfg->provisioning.allowed_containers) {
		*out = gb_strdup(cfg->provisioning.allowed_containers);
		return *out ? 0 : gb_error_set(err, GB_ENOMEM, "out of memory");
	}
	rc = gb_mappings_new(&cfg->provisioning, &m, err);
	if (rc)
		return rc;
	constant = gb_mappings_constant_container(m);
	if (constant)
		*out = gb_strdup(constant);
	gb_mappings_free(m);
	if (!constant)
		return gb_error_set(err, GB_ECONFIG,
				    "[provisioning] target_container is an expression: set allowed_containers to the "
				    "containers it may produce (';'-separated DNs), so that no write can land elsewhere");
	return *out ? 0 : gb_error_set(err, GB_ENOMEM, "out of memory");
}

void gb_provision_result_clear(gb_provision_result *res)
{
	if (!res)
		return;
	size_t i;

	gb_plan_free(res->plan);
	for (i = 0; i < res->nnot_members; i++)
		free(res->not_members[i]);
	free(res->not_members);
	memset(res, 0, sizeof(*res));
}

static int pass(const gb_config *cfg, gb_store *st, gb_graph *graph, gb_directory *dir,
		const gb_provision_opts *opts, const char *only_group, const char *const *only_members, size_t nonly,
		gb_provision_result *res, gb_error *err)
{
	gather g;
	gb_mappings *mappings = NULL;
	gb_provision_input in;
	delta_changes ch;
	bool use_delta = !opts->dry_run && !only_group && !opts->only_ids, incremental = false;
	char *fence = NULL, *old_fp = NULL, fp[65] = "";
	size_t i, deletes;
	int rc;

	memset(&ch, 0, sizeof(ch));

	memset(res, 0, sizeof(*res));
	memset(&g, 0, sizeof(g));
	g.cfg = cfg;
	g.only_group = only_group;
	g.only_ids = opts->only_ids;
	g.only_members = only_members;
	g.nonly = nonly;
	g.graph = graph;
	g.dir = dir;
	g.st = st;
	rc = gb_mappings_new(&cfg->provisioning, &mappings, err);
	if (!rc)
		rc = gb_provisioner_fence(cfg, &fence, err);
	if (!rc) {
		/* a fence that does not parse is an error of the configuration, dry run or not (apply sets it) */
		gb_dir_fence *f = NULL;
		rc = gb_dir_fence_new(fence, &f, err);
		gb_dir_fence_free(f);
	}
	if (!rc)
		rc = gather_init(&g, err);
	if (!rc && use_delta) {
		gb_graph_delta_info gi, ui;
		bool links = false, expired = false;

		memset(&gi, 0, sizeof(gi));
		memset(&ui, 0, sizeof(ui));
		/* Delta first: changes made while this pass reads are then reported again next time (harmless: a record
		 * carries the current state, and applying it twice changes nothing). */
		rc = delta_begin(st, err);
		if (!rc)
			rc = gb_map_new(GB_MAP_ICASE, &ch.groups, err);
		if (!rc)
			rc = gb_map_new(GB_MAP_ICASE, &ch.users, err);
		if (!rc)
			rc = fingerprint(&g, fp, err);
		if (!rc && gb_store_kv_get(st, FINGERPRINT_KEY, &old_fp, NULL) != 0)
			old_fp = NULL;
		if (!rc)
			rc = load_managed(&g, err);
		/* A stored membership is good only while its group stays managed: every pass since it was recorded applied
		 * that group's changes. A group that stopped being managed (by a pass whose other writes failed, say) loses
		 * it here, before a later pass could manage it again and build it from an old membership. */
		if (!rc)
			rc = gb_store_exec(st, "DELETE FROM member_state WHERE group_id NOT IN "
					       "(SELECT object_id FROM managed_groups WHERE state = 'managed')", err);
		if (!rc) {
			char *gl = NULL, *ul = NULL;
			links = gb_store_kv_get(st, GB_GRAPH_DELTA_KEY_GROUPS, &gl, NULL) == 0 &&
				gb_store_kv_get(st, GB_GRAPH_DELTA_KEY_USERS, &ul, NULL) == 0;
			free(gl);
			free(ul);
		}
		incremental = !rc && !opts->full && links && old_fp && strcmp(old_fp, fp) == 0 &&
			      gb_map_count(g.managed) > 0;
		if (incremental) {
			rc = gb_graph_delta_groups(graph, st, 0, on_group_delta, &ch, &gi, err);
			if (!rc)
				rc = gb_graph_delta_users(graph, st, 0, on_user_delta, &ch, &ui, err);
			if (rc == GB_ERETRY && (gi.expired || ui.expired)) {
				gb_info("provision", "%s", err->msg);
				gb_error_clear(err);
				rc = 0;
				expired = true;
			}
			if (!rc && (expired || ch.reset))
				incremental = false;
		}
		if (!rc && !incremental) {
			gb_info("provision", "reading everything (%s)",
				opts->full ? "--full" : expired ? "the delta link expired"
				: !links ? "first pass, or the delta link expired"
				: !old_fp || strcmp(old_fp, fp) ? "the [provisioning] section changed"
								 : "no group is managed yet");
			/* Sync from now: the links report what changes from here on, including during the full read. */
			rc = gb_graph_delta_groups(graph, st, GB_GRAPH_DELTA_LATEST, on_group_delta, &ch, NULL, err);
			if (!rc)
				rc = gb_graph_delta_users(graph, st, GB_GRAPH_DELTA_LATEST, on_user_delta, &ch, NULL, err);
			g.record_users = !rc;
		}
	}
	if (!rc)
		rc = incremental ? gather_changes(&g, &ch, err) : gather_all(&g, err);
	res->incremental = incremental;
	if (!rc) {
		memset(&in, 0, sizeof(in));
		in.groups = (gb_cloud_group *const *)g.groups.items;
		in.ngroups = g.groups.n;
		in.cloud_groups = g.cloud_groups;
		in.cloud_users = g.cloud_users;
		in.forest_users = g.forest_users;
		in.ad_by_anchor = g.ad_by_anchor;
		in.ad_by_sid = g.ad_by_sid;
		in.ad_by_dn = g.ad_by_dn;
		in.provisioned = g.provisioned;
		in.map = gb_mappings_eval;
		in.map_ctx = mappings;
		in.authoritative = !only_group && strcmp(cfg->provisioning.membership, "additive") != 0;
		in.move_on_container_change = cfg->provisioning.move_on_container_change;
		rc = ptrs_terminate(&g.hard_deleted, err);
		if (!rc)
			rc = ptrs_terminate(&g.left_scope, err);
		in.hard_deleted = (const char *const *)g.hard_deleted.items;
		in.left_scope = (const char *const *)g.left_scope.items;
		res->groups_read = g.groups.n;
		/* hand the on-demand "not a member" ids over to the result */
		res->not_members = (char **)g.not_members.items;
		res->nnot_members = g.not_members.n;
		memset(&g.not_members, 0, sizeof(g.not_members));
		if (!rc)
			rc = gb_provision_plan(&in, &res->plan, err);
	}
	if (!rc) {
		for (i = 0; i < res->plan->nnotes; i++)
			res->group_errors += res->plan->notes[i].kind == GB_NOTE_GROUP_ERROR;
		deletes = gb_plan_count(res->plan, GB_OP_DELETE_GROUP);
		if (deletes > (size_t)cfg->provisioning.delete_threshold && !opts->allow_deletes)
			rc = gb_error_set(err, GB_EGATE,
					  "the plan deletes %zu groups, more than delete_threshold (%ld); nothing was changed. "
					  "Check the plan (provision --dry-run), then rerun with --allow-deletes",
					  deletes, cfg->provisioning.delete_threshold);
	}
	if ((!rc || rc == GB_EGATE) && res->plan) {
		gb_error e2;
		int src = gb_plan_store_save(st, res->plan, only_group ? "provision on-demand" : "provision", opts->run_id,
					     opts->dry_run, &e2);
		if (src && !rc) {
			rc = src;
			*err = e2;
		}
	}
	if (!rc && !opts->dry_run)
		rc = apply(cfg, st, dir, fence, opts, res, err);
	/* Everything applied: remember the members read, the configuration, and let the delta links move on. */
	if (!rc && use_delta && !res->failed)
		rc = record_members(&g, res->plan, &ch, !incremental, err);
	if (!rc && use_delta && !res->failed)
		rc = gb_store_kv_set(st, FINGERPRINT_KEY, fp, err);
	if (!rc && use_delta && !res->failed)
		rc = delta_commit(st, err);
	if (!rc && (res->failed || res->group_errors))
		rc = gb_error_set(err, GB_EPARTIAL, "%zu operations failed, %zu skipped, %zu groups could not be provisioned",
				  res->failed, res->skipped, res->group_errors);
	if (dir && graph) {
		const gb_directory_stats *ds = gb_directory_get_stats(dir);
		gb_info("provision", "requests: %lu to Graph; directory writes: %lu adds, %lu modifies, %lu renames, "
			"%lu deletes", gb_graph_get_stats(graph)->requests, ds->adds, ds->modifies, ds->renames,
			ds->deletes);
	}
	free(fence);
	free(old_fp);
	changes_clear(&ch);
	gb_mappings_free(mappings);
	gather_clear(&g);
	return rc;
}

int gb_provisioner_run(const gb_config *cfg, gb_store *st, gb_graph *graph, gb_directory *dir,
		       const gb_provision_opts *opts, gb_provision_result *res, gb_error *err)
{
	return pass(cfg, st, graph, dir, opts, NULL, NULL, 0, res, err);
}

int gb_provisioner_on_demand(const gb_config *cfg, gb_store *st, gb_graph *graph, gb_directory *dir,
			     const gb_provision_opts *opts, const char *group_id, const char *const *members, size_t n,
			     gb_provision_result *res, gb_error *err)
{
	memset(res, 0, sizeof(*res));
	if (n < 1 || n > GB_ONDEMAND_MAX_MEMBERS)
		return gb_error_set(err, GB_EINVAL, "on-demand provisioning takes one to %d members, not %zu",
				    GB_ONDEMAND_MAX_MEMBERS, n);
	return pass(cfg, st, graph, dir, opts, group_id, members, n, res, err);
}

const char *gb_provision_member_outcome(const gb_provision_result *res, const char *group_id, const char *member_id,
					const char **why)
{
	size_t i, j;

	*why = NULL;
	for (i = 0; i < res->nnot_members; i++)
		if (gb_str_iequal(res->not_members[i], member_id)) {
			*why = "the id is not a direct member of the cloud group";
			return "not a member";
		}
	if (!res->plan)
		return "not provisioned";
	for (i = 0; i < res->plan->nnotes; i++) {
		const gb_note *n = &res->plan->notes[i];
		if (n->kind == GB_NOTE_MEMBER_SKIPPED && n->subject_id && gb_str_iequal(n->subject_id, member_id)) {
			*why = n->message;
			return "skipped";
		}
	}
	for (i = 0; i < res->plan->ngroups; i++)
		if (gb_str_iequal(res->plan->groups[i].object_id, group_id))
			break;
	if (i == res->plan->ngroups) {
		for (j = 0; j < res->plan->nnotes; j++)
			if (res->plan->notes[j].object_id && gb_str_iequal(res->plan->notes[j].object_id, group_id)) {
				*why = res->plan->notes[j].message;
				break;
			}
		return "not provisioned";
	}
	for (i = 0; i < res->plan->nops; i++) {
		const gb_op *op = &res->plan->ops[i];
		if (op->kind == GB_OP_ADD_MEMBERS && op->object_id && gb_str_iequal(op->object_id, group_id))
			return res->failed ? "not added (the run failed)" : "added";
	}
	return "already a member";
}
