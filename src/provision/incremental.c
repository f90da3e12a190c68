/* incremental.c: incremental provisioning passes (Graph delta; see provisioner.h): what the delta records of a pass
 * say, which groups they touch, building a changed group from the membership stored by the pass before plus its
 * members@delta, and recording, once a pass has applied everything, what the next one builds from. */
#include <jansson.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/adcodec.h"
#include "groupbridge/anchor.h"
#include "groupbridge/buf.h"
#include "groupbridge/log.h"
#include "groupbridge/provision.h"
#include "groupbridge/util.h"

#include "provision/provision_int.h"

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

/* How the stored members of a group built from them and its delta records change (ch->rows). */
struct gb_member_rows {
	gb_cloud_group put; /* members to insert or replace, with their kinds */
	gb_ptrs drop;       /* member ids (owned) to delete */
};

static void member_rows_free(struct gb_member_rows *r)
{
	if (!r)
		return;
	gb_cloud_group_clear(&r->put);
	for (size_t i = 0; i < r->drop.n; i++)
		free(r->drop.items[i]);
	free(r->drop.items);
	free(r);
}

static void group_change_free(group_change *c)
{
	if (!c)
		return;
	gb_cloud_group_free(c->props);
	gb_map_free(c->added);
	gb_map_free(c->removed);
	free(c);
}

void gb_provision__delta_clear(gb_delta_changes *ch)
{
	size_t pos = 0;
	const char *k;
	void *v;

	while (ch->groups && gb_map_next(ch->groups, &pos, &k, &v))
		group_change_free(v);
	pos = 0;
	while (ch->users && gb_map_next(ch->users, &pos, &k, &v))
		gb_cloud_user_free(v);
	pos = 0;
	while (ch->stored && gb_map_next(ch->stored, &pos, &k, &v))
		gb_cloud_group_free(v);
	pos = 0;
	while (ch->rows && gb_map_next(ch->rows, &pos, &k, &v))
		member_rows_free(v);
	gb_map_free(ch->rows);
	gb_map_free(ch->groups);
	gb_map_free(ch->users);
	gb_map_free(ch->stored);
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
	gb_delta_changes *ch = ud;
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
	gb_delta_changes *ch = ud;
	gb_cloud_user *c = NULL, *old;

	if (!u) {
		ch->reset = true;
		return 0;
	}
	if (ch->reset || !u->id)
		return 0;
	if (gb_provision__copy_user(u, &c))
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
static int fingerprint(const gb_gather *g, char out[65], gb_error *err)
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

static int on_managed(void *ctx, const char *id, const char *guid, gb_error *err)
{
	gb_gather *g = ctx;
	char *copy = gb_strdup(guid ? guid : "");

	if (!copy || gb_map_set(g->managed, id, copy, err)) {
		free(copy);
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	}
	return 0;
}

/* Re-reads one affected group: in scope, it is provisioned; managed but out of scope or gone, it leaves
 * management (or, deleted for good, is deleted). */
static int reread_group(gb_gather *g, const char *id, gb_error *err)
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
			return gb_ptrs_push_copy(&g->left_scope, id, err);
		return rc == GB_ENOTFOUND ? gb_ptrs_push_copy(&g->hard_deleted, id, err) : rc;
	}
	if (rc)
		return gb_error_prefix(err, "reading group %s", id);
	rc = gb_provision__scope_has(g, grp, &match, err);
	if (!rc && match)
		return gb_provision__keep_group(g, grp, err);
	gb_cloud_group_free(grp);
	if (!rc && gb_map_get(g->managed, id))
		rc = gb_ptrs_push_copy(&g->left_scope, id, err);
	return rc;
}

/* An incremental pass's changed group built without reading its members: the membership stored by the pass that
 * last read or built it, plus and minus every members@delta entry of this pass's records (c, or NULL when only a
 * member user changed); the properties from a record that carried them all, or else read (without members). *done
 * is false when that is not safe: the group is not managed, its stored membership is missing, or its records are
 * unsure (a member both added and removed, or added without a known type); the caller then reads it in full. */
static int build_group(gb_gather *g, const char *id, const group_change *c, gb_cloud_group *pre, gb_map *rows,
		       bool *done, gb_error *err)
{
	struct gb_member_rows *r = NULL;
	gb_map *same = NULL; /* member ids added that were stored with the same kind */
	gb_cloud_group *grp = NULL, stored;
	bool have = false, match = false;
	size_t i, kept = 0, pos = 0;
	const char *key;
	void *v;
	int rc = 0;

	*done = false;
	memset(&stored, 0, sizeof(stored));
	gb_cloud_group_clear(&stored);
	if (pre) { /* read while the delta pages came */
		stored = *pre;
		have = pre->members_read;
		free(pre);
	}
	if (!gb_map_get(g->managed, id) || (c && c->unsure))
		goto cleanup;
	if (!stored.id)
		rc = gb_pstate_members(g->st, id, &stored, &have, err);
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
	/* and how the stored rows change, for record_members: a member removed goes, one added comes unless it was
	 * stored with the same kind */
	if (rows && !(r = calloc(1, sizeof(*r))))
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
	if (!rc && r)
		rc = gb_map_new(GB_MAP_ICASE, &same, err);
	for (i = 0; i < grp->nmembers; i++) {
		gb_member_ref *m = &grp->members[i];
		void *added = c ? gb_map_get(c->added, m->id) : NULL;

		if (!c || (!added && !gb_map_get(c->removed, m->id))) {
			grp->members[kept++] = *m;
			continue;
		}
		if (!rc && r && added && (gb_object_kind)((uintptr_t)added - 1) == m->kind)
			rc = gb_map_set(same, m->id, (void *)1, err);
		else if (!rc && r && !added)
			rc = gb_ptrs_push_copy(&r->drop, m->id, err);
		free(m->id);
	}
	grp->nmembers = kept;
	while (!rc && c && gb_map_next(c->added, &pos, &key, &v)) {
		rc = gb_cloud_group_add_member(grp, (gb_object_kind)((uintptr_t)v - 1), key, err);
		if (!rc && r && !gb_map_get(same, key))
			rc = gb_cloud_group_add_member(&r->put, (gb_object_kind)((uintptr_t)v - 1), key, err);
	}
	if (!rc && r) {
		rc = gb_map_set(rows, id, r, err);
		if (!rc)
			r = NULL;
	}
	grp->members_read = true;
	if (!rc)
		rc = gb_provision__scope_has(g, grp, &match, err);
	if (rc)
		goto cleanup;
	*done = true;
	g->built++;
	if (match) {
		rc = gb_provision__add_group(g, grp, err);
		grp = NULL;
	} else {
		rc = gb_ptrs_push_copy(&g->left_scope, id, err);
	}
cleanup:
	member_rows_free(r);
	gb_map_free(same);
	gb_cloud_group_free(grp);
	gb_cloud_group_clear(&stored);
	return rc;
}

/* An incremental pass: the users the groups built or read name, from this pass's users delta records, else from
 * cloud_users as the last full pass listed them and users delta kept them, else read from the tenant. */
static int resolve_users(gb_gather *g, const gb_delta_changes *ch, gb_error *err)
{
	gb_pstate_users *stored = NULL;
	size_t wanted = 0, pos = 0, i;
	const char *key;
	void *v;
	gb_ptrs miss;
	int rc;

	memset(&miss, 0, sizeof(miss));
	rc = gb_provision__collect_referenced(g, &wanted, err);
	if (rc || !wanted)
		return rc;
	rc = gb_pstate_users_open(g->st, &stored, err);
	while (!rc && gb_map_next(g->wanted_users, &pos, &key, &v)) {
		const gb_cloud_user *u = gb_map_get(ch->users, key);
		gb_cloud_user *row = NULL;

		if (gb_map_get(g->cloud_users, key))
			continue;
		if (u) {
			if (!u->deleted) /* a removed user stays unknown, as a full read would find it */
				rc = gb_provision__on_user(u, g, err);
			continue;
		}
		rc = gb_pstate_users_get(stored, key, &row, err);
		if (!rc)
			rc = gb_provision__on_user(row, g, err);
		else if (rc == GB_ENOTFOUND)
			rc = gb_ptrs_push(&miss, (void *)key, err);
		gb_cloud_user_free(row);
	}
	gb_pstate_users_close(stored);
	/* Not known (a full pass without user members, say): read them, one listing when there are many. */
	if (!rc && miss.n > 50) {
		rc = gb_graph_list_users(g->graph, NULL, 999, gb_provision__on_user, g, err);
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
			rc = gb_provision__on_user(u, g, err);
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
	return user && !computer ? gb_provision__on_forest_user(e, ctx, err) : 0;
}

#define RETRY_KEY "provision.retry_groups"

/* Groups with a member skipped because its account was not found (yet: GC replication lags, an account is created
 * after the group) are built again by the next pass, with no change in the cloud, until it is found (AD review D11);
 * so are groups that AD's scope rules kept from becoming universal or from holding a member (AD review D2), until
 * whatever stood in the way is changed in AD. */
static int retry_groups(gb_gather *g, gb_map *affected, gb_error *err)
{
	char *list = NULL, id[256];
	const char *p;
	int rc = gb_store_kv_get(g->st, RETRY_KEY, &list, err);

	if (rc == GB_ENOTFOUND)
		return 0;
	for (p = list; !rc && p && *p; p += strspn(p, " ")) {
		size_t n = strcspn(p, " ");

		if (n < sizeof id) {
			memcpy(id, p, n);
			id[n] = '\0';
			if (gb_map_get(g->managed, id))
				rc = gb_map_set(affected, id, (void *)1, err);
		}
		p += n;
	}
	free(list);
	return rc;
}

/* Whether a note makes its group one that the next pass builds again (see retry_groups). */
static bool retried(const gb_note *n)
{
	if (n->kind == GB_NOTE_MEMBER_SKIPPED)
		return strcmp(n->code, "other-forest") == 0 || strcmp(n->code, "group-scope") == 0;
	return n->kind == GB_NOTE_GROUP_ERROR && strcmp(n->code, "cannot-be-universal") == 0;
}

/* The groups of the plan with a member skipped as not found in the forest, or held back by AD's scope rules, for
 * retry_groups. */
static int save_retry_groups(gb_gather *g, const gb_plan *plan, gb_error *err)
{
	gb_map *seen = NULL; /* each group once (a group may have a note per member skipped) */
	gb_buf b;
	size_t i;
	int rc = gb_map_new(GB_MAP_ICASE, &seen, err);

	gb_buf_init(&b, 1024 * 1024);
	for (i = 0; !rc && i < plan->nnotes; i++) {
		const gb_note *n = &plan->notes[i];

		if (!retried(n) || !n->object_id || gb_map_get(seen, n->object_id))
			continue;
		rc = gb_map_set(seen, n->object_id, (void *)1, err);
		if (!rc && b.len)
			rc = gb_buf_putc(&b, ' ', err);
		if (!rc)
			rc = gb_buf_puts(&b, n->object_id, err);
	}
	if (!rc)
		rc = gb_store_kv_set(g->st, RETRY_KEY, gb_buf_cstr(&b), err);
	gb_buf_free(&b);
	gb_map_free(seen);
	return rc;
}

#define HELD_KEY "provision.held_errors"

/* Group errors that hold until the group changes in the cloud: over the member limit, a fact of its membership, which
 * an incremental pass reads only when delta reports the group. Saved by every pass that applied, as id -> message. */
static bool held(const gb_note *n)
{
	return n->kind == GB_NOTE_GROUP_ERROR && n->object_id && strcmp(n->code, "over-member-limit") == 0;
}

static int save_held_errors(gb_gather *g, const gb_plan *plan, gb_error *err)
{
	json_t *o = json_object();
	char *text = NULL;
	size_t i;
	int rc = o ? 0 : gb_error_set(err, GB_ENOMEM, "out of memory");

	for (i = 0; !rc && i < plan->nnotes; i++)
		if (held(&plan->notes[i]) &&
		    json_object_set_new(o, plan->notes[i].object_id, json_string(plan->notes[i].message)))
			rc = gb_error_set(err, GB_ENOMEM, "out of memory");
	if (!rc && !(text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS)))
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
	if (!rc)
		rc = gb_store_kv_set(g->st, HELD_KEY, text, err);
	free(text);
	json_decref(o);
	return rc;
}

int gb_provision__carry_errors(gb_gather *g, const gb_delta_changes *ch, gb_plan *plan, gb_error *err)
{
	json_error_t jerr;
	json_t *o, *msg;
	const char *id;
	char *text = NULL;
	int rc;

	if (!ch->incremental)
		return 0;
	rc = gb_store_kv_get(g->st, HELD_KEY, &text, err);
	if (rc == GB_ENOTFOUND) {
		gb_error_clear(err);
		return 0;
	}
	if (rc)
		return rc;
	o = json_loads(text, 0, &jerr);
	free(text);
	if (!json_is_object(o)) {
		json_decref(o);
		return gb_error_set(err, GB_ESTATE, "the stored group errors (%s) cannot be read: %s", HELD_KEY,
				    jerr.text);
	}
	json_object_foreach(o, id, msg) {
		/* a group that changed (or left, or was deleted) was read again by this pass, which said what holds now */
		if (rc || !json_is_string(msg) || gb_map_get(ch->groups, id))
			continue;
		rc = gb_plan_note(plan, GB_NOTE_GROUP_ERROR, id, NULL, "over-member-limit", err,
				  "%s (as the last pass that read the group found; it has not changed since)",
				  json_string_value(msg));
	}
	json_decref(o);
	return rc;
}

/* The groups the delta records touch: deleted or moved out (managed ones leave management), changed (managed, or
 * selected, or any under scope = all), and those that hold a changed user. */
static int affected_groups(gb_gather *g, const gb_delta_changes *ch, gb_map *affected, gb_error *err)
{
	const char *const *ids = gb_scope_selected_ids(g->scope);
	const char *key;
	void *v;
	size_t pos = 0, i;
	int rc = 0;

	while (!rc && gb_map_next(ch->groups, &pos, &key, &v)) {
		uintptr_t kind = ((const group_change *)v)->kind;
		if (kind == DELETED) {
			if (gb_map_get(g->managed, key))
				rc = gb_ptrs_push_copy(&g->hard_deleted, key, err);
		} else if (kind == CHANGED_OUT) {
			if (gb_map_get(g->managed, key))
				rc = gb_ptrs_push_copy(&g->left_scope, key, err);
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
		rc = gb_pstate_groups_of_member(g->st, key, affected, err);
	if (!rc)
		rc = retry_groups(g, affected, err);
	/* A change of the selected ids changes the fingerprint and makes a full pass: no id is newly selected here. */
	return rc;
}

/* Each affected group built from the store and its records, or read again in full when that is not safe. */
static int build_affected(gb_gather *g, const gb_delta_changes *ch, const gb_map *affected, gb_error *err)
{
	const char *key;
	void *v;
	size_t pos = 0;
	int rc = 0;

	while (!rc && gb_map_next(affected, &pos, &key, &v)) {
		bool done = false;
		gb_cloud_group *pre = ch->stored ? gb_map_get(ch->stored, key) : NULL;

		if (pre)
			gb_map_del(ch->stored, key);
		rc = build_group(g, key, gb_map_get(ch->groups, key), pre, ch->rows, &done, err);
		if (!rc && !done) {
			g->reread++;
			rc = reread_group(g, key, err);
		}
	}
	if (!rc)
		gb_info("provision", "delta: %zu groups and %zu users changed; %zu groups built from the stored membership "
				     "and the delta records (%zu with their properties read), %zu groups to read again",
			gb_map_count(ch->groups), gb_map_count(ch->users), g->built, g->props_read, g->reread);
	return rc;
}

static int collect_dn(const gb_dir_entry *e, void *ctx, gb_error *err)
{
	return gb_ptrs_push_copy(ctx, e->dn, err);
}

/* Every live AD group that carries anchor (the DNs first: no read runs inside the search). */
static int load_all_anchored(gb_gather *g, const char *anchor, bool with_members, gb_error *err)
{
	static const char *const dn_attr[] = {"distinguishedName", NULL};
	gb_ptrs dns;
	gb_buf f;
	size_t i;
	int rc;

	memset(&dns, 0, sizeof(dns));
	gb_buf_init(&f, 4096);
	rc = gb_provision__anchor_term(anchor, &f, err);
	if (!rc)
		rc = gb_directory_search(g->dir, NULL, GB_DIR_SUBTREE, gb_buf_cstr(&f), dn_attr, 0, collect_dn, &dns, err);
	for (i = 0; !rc && i < dns.n; i++)
		rc = gb_provision__load_ad_group(g, dns.items[i], with_members, err);
	for (i = 0; i < dns.n; i++)
		free(dns.items[i]);
	free(dns.items);
	gb_buf_free(&f);
	return rc;
}

/* The AD group that carries id's anchor, when there is one. */
static int load_anchored(gb_gather *g, const char *id, bool with_members, gb_error *err)
{
	static const char *const dn_attr[] = {"distinguishedName", NULL};
	gb_dir_entry *e = NULL;
	char anchor[GB_ANCHOR_MAX];
	int rc;

	const char *dn = gb_provision__prefetched_anchor(g, id);

	if (dn) /* read with the others: the one group that carries it, or none */
		return *dn ? gb_provision__load_ad_group(g, dn, with_members, err) : 0;
	if (gb_anchor_format(id, anchor, sizeof(anchor)))
		return 0;
	rc = gb_directory_find_by_anchor(g->dir, anchor, dn_attr, 0, &e, err);
	if (rc == GB_ENOTFOUND)
		rc = 0;
	else if (rc == GB_ECONFLICT) /* several live groups: load them all, the rules report the group (D6) */
		rc = load_all_anchored(g, anchor, with_members, err);
	else if (!rc)
		rc = gb_provision__load_ad_group(g, e->dn, with_members, err);
	gb_dir_entry_free(e);
	return rc;
}

/* The managed groups of earlier passes that a group of this pass nests (in g->provisioned, not read again), once. */
static int nested_earlier(gb_gather *g, gb_ptrs *out, gb_error *err)
{
	gb_map *seen = NULL;
	size_t i, j;
	int rc = gb_map_new(GB_MAP_ICASE, &seen, err);

	for (i = 0; !rc && i < g->groups.n; i++) {
		const gb_cloud_group *grp = g->groups.items[i];

		for (j = 0; !rc && j < grp->nmembers; j++) {
			const char *id = grp->members[j].id;

			if (grp->members[j].kind != GB_KIND_GROUP || !gb_map_get(g->provisioned, id) ||
			    gb_map_get(seen, id))
				continue;
			rc = gb_map_set(seen, id, (void *)1, err);
			if (!rc)
				rc = gb_ptrs_push(out, (void *)id, err);
		}
	}
	gb_map_free(seen);
	return rc;
}

/* The AD groups of every changed, deleted or departed group, read in a few searches rather than a read each; with
 * them, those of the groups of earlier passes that the changed groups nest, for the scope AD holds (groupType is
 * among the attributes read), which decides whether AD accepts the nesting (provisioned_types). */
static int prefetch_changed(gb_gather *g, gb_error *err)
{
	gb_ptrs ids, nested;
	size_t i;
	int rc = 0;

	memset(&ids, 0, sizeof(ids));
	memset(&nested, 0, sizeof(nested));
	for (i = 0; !rc && i < g->groups.n; i++)
		rc = gb_ptrs_push(&ids, (void *)((const gb_cloud_group *)g->groups.items[i])->id, err);
	for (i = 0; !rc && i < g->hard_deleted.n; i++)
		rc = gb_ptrs_push(&ids, g->hard_deleted.items[i], err);
	for (i = 0; !rc && i < g->left_scope.n; i++)
		rc = gb_ptrs_push(&ids, g->left_scope.items[i], err);
	if (!rc)
		rc = nested_earlier(g, &nested, err);
	for (i = 0; !rc && i < nested.n; i++)
		rc = gb_ptrs_push(&ids, nested.items[i], err);
	if (!rc)
		rc = gb_provision__prefetch_anchors(g, (const char *const *)ids.items, ids.n, err);
	if (!rc && !g->provisioned_types)
		rc = gb_map_new(GB_MAP_ICASE, &g->provisioned_types, err);
	/* A group no single AD group carries the anchor of (deleted by hand, or a Recycle Bin restore beside it) has no
	 * scope known here: the rules then write it only where no scope is refused (into a domain local group). */
	for (i = 0; !rc && i < nested.n; i++) {
		const char *type = gb_provision__prefetched_attr(g, nested.items[i], "groupType");

		if (type)
			rc = gb_map_set(g->provisioned_types, nested.items[i], (void *)type, err);
	}
	free(ids.items);
	free(nested.items);
	return rc;
}

/* The AD members of the groups loaded, read or trusted from the store (uSNChanged guard), into *out (objectGUID -> 1):
 * objects of this forest, since AD links a group only to objects of its own forest (a member from another forest is
 * a foreign security principal, an object of this forest with a GUID of its own). */
static int held_members(gb_gather *g, gb_map **out, gb_error *err)
{
	size_t i, j;
	int rc = gb_map_new(GB_MAP_ICASE, out, err);

	for (i = 0; !rc && i < g->ad.n; i++) {
		const gb_ad_group *a = g->ad.items[i];

		for (j = 0; !rc && j < a->nmembers; j++)
			rc = gb_map_set(*out, a->member_guids[j], (void *)1, err);
	}
	return rc;
}

/* The AD group a cloud group of this pass matches, as the rules find it (by anchor, SID or GroupDN), or NULL. */
static const gb_ad_group *matched(const gb_gather *g, const gb_cloud_group *grp)
{
	char anchor[GB_ANCHOR_MAX];
	const gb_ad_group *a = NULL;
	char *key = NULL;

	if (!gb_anchor_format(grp->id, anchor, sizeof(anchor)))
		a = gb_map_get(g->ad_by_anchor, anchor);
	if (!a && grp->on_prem_sid)
		a = gb_map_get(g->ad_by_sid, grp->on_prem_sid);
	if (!a && grp->group_dn_ext && gb_provision_dn_key(grp->group_dn_ext, &key, NULL) == 0)
		a = gb_map_get(g->ad_by_dn, key);
	free(key);
	return a;
}

/* The cloud users (id -> 1) named by a group of this pass whose AD group is global: if it stays global, it may hold
 * only users of its own domain, so the rules need each one's domain, which only a look-up gives. */
static int users_of_global_groups(gb_gather *g, gb_map **out, gb_error *err)
{
	size_t i, j;
	int rc = gb_map_new(GB_MAP_ICASE, out, err);

	for (i = 0; !rc && i < g->groups.n; i++) {
		const gb_cloud_group *grp = g->groups.items[i];
		const gb_ad_group *a = matched(g, grp);

		if (!a || !(a->group_type & GB_GROUP_TYPE_GLOBAL))
			continue;
		for (j = 0; !rc && j < grp->nmembers; j++)
			if (grp->members[j].kind == GB_KIND_USER)
				rc = gb_map_set(*out, grp->members[j].id, (void *)1, err);
	}
	return rc;
}

/* Adds guid to the GUIDs to look up, once. */
static int want_guid(gb_ptrs *guids, gb_map *seen, const char *guid, gb_error *err)
{
	int rc;

	if (gb_map_get(seen, guid))
		return 0;
	rc = gb_map_set(seen, guid, (void *)1, err);
	return rc ? rc : gb_ptrs_push(guids, (void *)guid, err);
}

/* The forest, for an incremental pass: only the AD groups of the groups read or gone, and of the GUIDs named (cloud
 * members, and AD members of the groups read) which are users of this forest: the rules add the first and may remove
 * the second only when they are. A cloud member's GUID that an AD group loaded here already holds (read, or trusted
 * from the store by the uSNChanged guard) is a user of this forest without a look-up: the object is in this forest,
 * and a cloud user's onPremisesObjectIdentifier names the user it was synced from. An AD member that is such a cloud
 * member needs none either; only the others are looked up (the rules remove them only when they are users). So a
 * one-member change in a big group looks up one GUID whether the group was trusted or read. A member of a group whose
 * AD group is global is always looked up: the look-up gives its domain (its DN), and a group that stays global holds
 * only users of its own domain, which a full pass checks as well. */
static int forest_of_changes(gb_gather *g, gb_error *err)
{
	static const char *const attrs[] = {"objectGUID", "objectClass", NULL};
	gb_map *held = NULL, *seen = NULL, *cloud = NULL, *in_global = NULL;
	gb_ptrs guids;
	size_t i, j;
	int rc = 0;

	memset(&guids, 0, sizeof(guids));
	rc = prefetch_changed(g, err);
	for (i = 0; !rc && i < g->groups.n; i++)
		rc = load_anchored(g, ((const gb_cloud_group *)g->groups.items[i])->id, true, err);
	/* converted groups not anchored yet: by SID or GroupDN, as in a full pass */
	if (!rc)
		rc = gb_provision__load_unanchored(g, err);
	/* deleted or left: their AD groups, so that the plan can delete or stop managing them */
	for (i = 0; !rc && i < g->hard_deleted.n; i++)
		rc = load_anchored(g, g->hard_deleted.items[i], false, err);
	for (i = 0; !rc && i < g->left_scope.n; i++)
		rc = load_anchored(g, g->left_scope.items[i], false, err);
	if (!rc)
		rc = held_members(g, &held, err);
	if (!rc)
		rc = gb_map_new(GB_MAP_ICASE, &seen, err);
	if (!rc)
		rc = gb_map_new(GB_MAP_ICASE, &cloud, err);
	if (!rc)
		rc = users_of_global_groups(g, &in_global, err);
	for (i = 0; !rc && i < g->users.n; i++) {
		const gb_cloud_user *u = g->users.items[i];
		const char *guid = u->on_prem_object_id;

		if (!guid || !gb_ad_guid_is_text(guid))
			continue;
		rc = gb_map_set(cloud, guid, (void *)1, err);
		if (!rc && gb_map_get(held, guid) && !gb_map_get(in_global, u->id))
			rc = gb_map_set(g->forest_users, guid, "", err); /* its domain is not needed: not known */
		else if (!rc)
			rc = want_guid(&guids, seen, guid, err);
	}
	for (i = 0; !rc && i < g->ad.n; i++) {
		const gb_ad_group *a = g->ad.items[i];

		for (j = 0; !rc && j < a->nmembers; j++)
			if (!gb_map_get(cloud, a->member_guids[j]))
				rc = want_guid(&guids, seen, a->member_guids[j], err);
	}
	gb_debug("provision", "forest of the changes: %zu cloud members with an objectGUID, %zu AD members of the groups "
			      "loaded, %zu objectGUIDs to look up",
		 gb_map_count(cloud), gb_map_count(held), guids.n);
	if (!rc && guids.n)
		rc = gb_directory_find_by_guids(g->dir, (const char *const *)guids.items, guids.n, attrs,
						g->cfg->directory.gc_uri ? GB_DIR_GC : 0, on_found_user, g, err);
	free(guids.items);
	gb_map_free(held);
	gb_map_free(seen);
	gb_map_free(cloud);
	gb_map_free(in_global);
	return rc;
}

int gb_provision__gather_changes(gb_gather *g, const gb_delta_changes *ch, gb_error *err)
{
	gb_map *affected = NULL;
	const char *key;
	void *v;
	size_t pos = 0;
	int rc;

	g->incremental = true;
	rc = gb_map_new(GB_MAP_ICASE, &affected, err);
	if (!rc)
		rc = affected_groups(g, ch, affected, err);
	if (!rc)
		rc = build_affected(g, ch, affected, err);
	if (!rc)
		rc = resolve_users(g, ch, err);
	/* Managed groups that are not read again stay referenced by the groups that nest them. */
	if (!rc)
		rc = gb_map_new(GB_MAP_ICASE, &g->provisioned, err);
	while (!rc && gb_map_next(g->managed, &pos, &key, &v))
		if (!gb_map_get(g->in_scope, key) && *(const char *)v)
			rc = gb_map_set(g->provisioned, key, v, err);
	if (!rc)
		rc = forest_of_changes(g, err);
	gb_map_free(affected);
	return rc;
}

/* After a pass applied everything: the direct members of every group read or built (complete: member_state), for
 * the next incremental pass, which builds a changed group from them and its delta records; groups that left are
 * forgotten. An incremental pass also records its users delta in cloud_users. */
static int record_members(gb_gather *g, const gb_plan *plan, const gb_delta_changes *ch, bool full, gb_error *err)
{
	gb_pstate_writer *w = NULL;
	gb_map *provisioned = NULL; /* the plan's groups, looked up once each rather than in a walk per group */
	size_t i, pos = 0, by_rows = 0;
	const char *key;
	void *v;
	int rc;

	rc = gb_map_new(GB_MAP_ICASE, &provisioned, err);
	for (i = 0; !rc && i < plan->ngroups; i++)
		if (plan->groups[i].object_id)
			rc = gb_map_set(provisioned, plan->groups[i].object_id, (void *)1, err);
	if (!rc)
		rc = gb_pstate_writer_begin(g->st, full, &w, err);
	if (rc) {
		gb_map_free(provisioned);
		return rc;
	}
	for (i = 0; !rc && i < g->groups.n; i++) {
		const gb_cloud_group *grp = g->groups.items[i];
		const struct gb_member_rows *r = !full && ch->rows ? gb_map_get(ch->rows, grp->id) : NULL;

		if (!gb_map_get(provisioned, grp->id) || !grp->members_read)
			rc = gb_pstate_writer_forget(w, grp->id, err);
		else if (r && ++by_rows) /* built from its stored members: only what changed is written, nothing read */
			rc = gb_pstate_writer_changes(w, grp->id, r->put.members, r->put.nmembers,
						      (const char *const *)r->drop.items, r->drop.n, err);
		else
			rc = gb_pstate_writer_members(w, grp, err);
	}
	if (!rc && by_rows)
		gb_debug("provision", "stored members of %zu groups updated from their delta records, without reading them",
			 by_rows);
	gb_map_free(provisioned);
	for (i = 0; !rc && i < g->hard_deleted.n; i++)
		rc = gb_pstate_writer_forget(w, g->hard_deleted.items[i], err);
	for (i = 0; !rc && i < g->left_scope.n; i++)
		rc = gb_pstate_writer_forget(w, g->left_scope.items[i], err);
	while (!rc && !full && ch->users && gb_map_next(ch->users, &pos, &key, &v))
		rc = gb_pstate_writer_user(w, v, err);
	return gb_pstate_writer_end(w, rc, err);
}

int gb_provision__delta_close(gb_gather *g, const gb_plan *plan, const gb_delta_changes *ch, gb_error *err)
{
	int rc = record_members(g, plan, ch, !ch->incremental, err);

	if (!rc)
		rc = save_retry_groups(g, plan, err);
	if (!rc)
		rc = save_held_errors(g, plan, err);
	if (!rc)
		rc = gb_store_kv_set(g->st, FINGERPRINT_KEY, ch->fingerprint, err);
	return rc ? rc : delta_commit(g->st, err);
}

/* Why a pass reads everything, for the log. */
static const char *why_full(const gb_provision_opts *opts, bool expired, bool links, const char *old_fp,
			    const char *fp)
{
	return opts->full		       ? "--full"
	       : expired		       ? "the delta link expired"
	       : !links			       ? "first pass, or the delta link expired"
	       : !old_fp || strcmp(old_fp, fp) ? "the [provisioning] section changed"
					       : "no group is managed yet";
}

/* The delta records of an incremental pass, and the AD groups of the managed ones read meanwhile. */
typedef struct reading {
	gb_gather *g;
	gb_delta_changes *ch;
} reading;

/* A group record: kept; a managed group's anchor is searched for while the next page is on its way (the pass reads
 * those groups from AD anyway: gb_provision__prefetch_anchors then finds them read). */
/* A managed group's stored members, read once, while the next delta page is on its way (build_group takes them
 * rather than reading them after the last page). */
static int stored_ahead(gb_gather *g, gb_delta_changes *ch, const char *id, gb_error *err)
{
	gb_cloud_group *s;
	bool have = false;
	int rc = ch->stored ? 0 : gb_map_new(GB_MAP_ICASE, &ch->stored, err);

	if (rc || gb_map_get(ch->stored, id))
		return rc;
	if (!(s = calloc(1, sizeof(*s))))
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	gb_cloud_group_clear(s);
	rc = gb_pstate_members(g->st, id, s, &have, err);
	s->members_read = have;
	if (!rc && !s->id && !(s->id = gb_strdup(id)))
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
	if (!rc)
		rc = gb_map_set(ch->stored, id, s, err);
	if (rc)
		gb_cloud_group_free(s);
	return rc;
}

static int on_group_read(const gb_graph_group_delta *d, void *ud, gb_error *err)
{
	reading *r = ud;
	int rc = on_group_delta(d, r->ch, err);

	if (!rc && d && !r->ch->reset && d->group.id && gb_map_get(r->g->managed, d->group.id)) {
		rc = gb_provision__ahead_add(r->g, d->group.id, err);
		if (!rc)
			rc = stored_ahead(r->g, r->ch, d->group.id, err);
	}
	return rc;
}

static int on_user_read(const gb_cloud_user *u, void *ud, gb_error *err)
{
	return on_user_delta(u, ((reading *)ud)->ch, err);
}

/* Reads the delta records from the saved links; an expired link (or delta starting over) means a full read. */
static int read_delta(gb_gather *g, gb_delta_changes *ch, bool *expired, gb_error *err)
{
	gb_graph_delta_info gi, ui;
	reading r = {g, ch};
	int rc;

	memset(&gi, 0, sizeof(gi));
	memset(&ui, 0, sizeof(ui));
	rc = ch->rows ? 0 : gb_map_new(GB_MAP_ICASE, &ch->rows, err);
	if (!rc)
		rc = gb_graph_delta_both(g->graph, g->st, 0, on_group_read, on_user_read, &r, &gi, &ui, err);
	/* what was read ahead serves an incremental pass only */
	if (!rc && !ch->reset && ch->stored)
		gb_debug("provision", "delta: the stored members of %zu managed groups read while the pages came",
			 gb_map_count(ch->stored));
	if (!rc && !ch->reset)
		rc = gb_provision__ahead_take(g, err);
	else
		gb_provision__ahead_drop(g);
	if (rc == GB_ERETRY && (gi.expired || ui.expired)) {
		gb_info("provision", "%s", err->msg);
		gb_error_clear(err);
		rc = 0;
		*expired = true;
	}
	if (!rc && (*expired || ch->reset))
		ch->incremental = false;
	return rc;
}

/* Whether both delta links are saved. */
static bool have_links(gb_store *st)
{
	char *gl = NULL, *ul = NULL;
	bool links = gb_store_kv_get(st, GB_GRAPH_DELTA_KEY_GROUPS, &gl, NULL) == 0 &&
		     gb_store_kv_get(st, GB_GRAPH_DELTA_KEY_USERS, &ul, NULL) == 0;

	free(gl);
	free(ul);
	return links;
}

int gb_provision__delta_open(gb_gather *g, const gb_provision_opts *opts, gb_delta_changes *ch, gb_error *err)
{
	char *old_fp = NULL;
	bool links = false, expired = false;
	int rc;

	/* Delta first: changes made while this pass reads are then reported again next time (harmless: a record
	 * carries the current state, and applying it twice changes nothing). */
	rc = delta_begin(g->st, err);
	if (!rc)
		rc = gb_map_new(GB_MAP_ICASE, &ch->groups, err);
	if (!rc)
		rc = gb_map_new(GB_MAP_ICASE, &ch->users, err);
	if (!rc)
		rc = fingerprint(g, ch->fingerprint, err);
	if (!rc && gb_store_kv_get(g->st, FINGERPRINT_KEY, &old_fp, NULL) != 0)
		old_fp = NULL;
	if (!rc)
		rc = gb_map_new(GB_MAP_ICASE, &g->managed, err);
	if (!rc)
		rc = gb_pstate_each_managed(g->st, on_managed, g, err);
	/* A stored membership is good only while its group stays managed: every pass since it was recorded applied
	 * that group's changes. A group that stopped being managed (by a pass whose other writes failed, say) loses it
	 * here, before a later pass could manage it again and build it from an old membership. */
	if (!rc)
		rc = gb_pstate_forget_unmanaged_members(g->st, err);
	if (!rc)
		links = have_links(g->st);
	ch->incremental = !rc && !opts->full && links && old_fp && strcmp(old_fp, ch->fingerprint) == 0 &&
			  gb_map_count(g->managed) > 0;
	if (ch->incremental)
		rc = read_delta(g, ch, &expired, err);
	if (!rc && !ch->incremental) {
		gb_info("provision", "reading everything (%s)", why_full(opts, expired, links, old_fp, ch->fingerprint));
		/* Sync from now: the links report what changes from here on, including during the full read. */
		rc = gb_graph_delta_both(g->graph, g->st, GB_GRAPH_DELTA_LATEST, on_group_delta, on_user_delta, ch, NULL,
					 NULL, err);
		g->record_users = !rc;
	}
	free(old_fp);
	return rc;
}
