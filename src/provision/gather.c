/* gather.c: what a provisioning pass reads: the tenant (groups in scope, their members, the users they name) and the
 * forest (its users, the AD groups that may match), and the groups that left management (see provisioner.h). */
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/adcodec.h"
#include "groupbridge/anchor.h"
#include "groupbridge/log.h"
#include "groupbridge/provision.h"
#include "groupbridge/util.h"

#include "provision/provision_int.h"

int gb_ptrs_push(gb_ptrs *p, void *item, gb_error *err)
{
	if (gb_grow(&p->items, p->n, &p->cap, sizeof(*p->items), 32))
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	p->items[p->n++] = item;
	return 0;
}

int gb_ptrs_push_copy(gb_ptrs *p, const char *s, gb_error *err)
{
	char *copy = gb_strdup(s);

	if (!copy || gb_ptrs_push(p, copy, err)) {
		free(copy);
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	}
	return 0;
}

int gb_ptrs_terminate(gb_ptrs *p, gb_error *err)
{
	int rc = gb_ptrs_push(p, NULL, err);

	if (!rc)
		p->n--;
	return rc;
}

/* Frees the elements of p with f, then its array. */
static void ptrs_clear(gb_ptrs *p, void (*f)(void *))
{
	size_t i;

	for (i = 0; i < p->n; i++)
		f(p->items[i]);
	free(p->items);
	memset(p, 0, sizeof(*p));
}

static void free_cloud_group(void *p)
{
	gb_cloud_group_free(p);
}

static void free_cloud_user(void *p)
{
	gb_cloud_user_free(p);
}

static void free_ad_group(void *p)
{
	gb_ad_group_free(p);
}

static void free_entry(void *p)
{
	gb_dir_entry_free(p);
}

void gb_provision__map_free_values(gb_map *m, void (*fn)(void *))
{
	size_t pos = 0;
	const char *k;
	void *v;

	while (m && gb_map_next(m, &pos, &k, &v))
		fn(v);
	gb_map_free(m);
}

void gb_provision__gather_clear(gb_gather *g)
{
	gb_map *maps[] = {g->cloud_groups, g->cloud_users, g->wanted_users, g->forest_users, g->ad_by_anchor,
			  g->ad_by_sid,    g->ad_by_dn,    g->in_scope,     g->extra,        g->provisioned,
			  g->anchor_dups,  g->provisioned_types};
	size_t i;

	ptrs_clear(&g->groups, free_cloud_group);
	ptrs_clear(&g->extra_groups, free_cloud_group);
	ptrs_clear(&g->users, free_cloud_user);
	ptrs_clear(&g->ad, free_ad_group);
	ptrs_clear(&g->hard_deleted, free);
	ptrs_clear(&g->left_scope, free);
	ptrs_clear(&g->not_members, free);
	for (i = 0; i < sizeof(maps) / sizeof(maps[0]); i++)
		gb_map_free(maps[i]);
	gb_provision__map_free_values(g->managed, free);
	gb_provision__map_free_values(g->usn, free);
	gb_map_free(g->usn_trusted);
	gb_provision__ahead_drop(g);
	gb_provision__map_free_values(g->pre, free_entry);
	gb_provision__map_free_values(g->pre_anchor, free);
	gb_provision__map_free_values(g->domains, free);
	free((char *)g->dc.dsa);
	free((char *)g->dc.invocation_id);
	gb_scope_free(g->scope);
	if (g->listing)
		gb_pstate_listing_end(g->listing, GB_EINTERRUPTED, NULL);
	memset(g, 0, sizeof(*g));
}

/* ---- the tenant ---- */

int gb_provision__add_group(gb_gather *g, gb_cloud_group *grp, gb_error *err)
{
	int rc = gb_ptrs_push(&g->groups, grp, err);

	if (rc) {
		gb_cloud_group_free(grp);
		return rc;
	}
	rc = gb_map_set(g->in_scope, grp->id, (void *)1, err);
	if (!rc)
		rc = gb_map_set(g->cloud_groups, grp->id, grp, err);
	return rc;
}

/* On demand: only the chosen members take part (the others are neither added nor removed); the chosen ids that are
 * not members are kept for the result. */
static int keep_chosen(gb_gather *g, gb_cloud_group *grp, gb_error *err)
{
	size_t i, j, kept = 0;
	int rc = 0;

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
	for (j = 0; j < g->nonly && !rc; j++) {
		bool found = false;
		for (i = 0; i < grp->nmembers && !found; i++)
			found = gb_str_iequal(grp->members[i].id, g->only_members[j]);
		if (!found)
			rc = gb_ptrs_push_copy(&g->not_members, g->only_members[j], err);
	}
	return rc;
}

int gb_provision__keep_group(gb_gather *g, gb_cloud_group *grp, gb_error *err)
{
	int rc;

	if (gb_map_get(g->in_scope, grp->id)) {
		gb_cloud_group_free(grp); /* listed twice */
		return 0;
	}
	rc = gb_graph_read_members(g->graph, grp, 999, err);
	if (rc)
		gb_error_prefix(err, "reading the members of group %s", grp->id);
	if (!rc && g->only_group)
		rc = keep_chosen(g, grp, err);
	if (rc) {
		gb_cloud_group_free(grp);
		return rc;
	}
	return gb_provision__add_group(g, grp, err);
}

int gb_provision__scope_has(gb_gather *g, const gb_cloud_group *grp, bool *out, gb_error *err)
{
	if (grp->id && g->extra && gb_map_get(g->extra, grp->id)) {
		*out = true;
		return 0;
	}
	return gb_scope_matches(g->scope, grp, out, err);
}

/* Reads the members of the groups got[0..n) concurrently and hands the groups to g in list order, as keeping them
 * one after the other (gb_provision__keep_group) would: a NULL got[i] is skipped (gone from the tenant: warned
 * about with warn[i], a format taking ids[i], when warn and warn[i] are not NULL); a group already in scope, or
 * earlier in the list, is dropped unread. stop is the list position of an earlier failure (n: none): the groups
 * from it on are neither read nor kept. Returns the member read's failure (prefixed as keep_group does) when one
 * failed, else 0. Every got[i] is consumed (kept or freed), also on failure. */
static int keep_many(gb_gather *g, gb_cloud_group **got, const char *const *ids, const char *const *warn, size_t n,
		     size_t stop, gb_error *err)
{
	gb_cloud_group **read = malloc((n ? n : 1) * sizeof(*read));
	size_t *pos = malloc((n ? n : 1) * sizeof(*pos));
	size_t nread = 0, failed = 0, i;
	gb_map *seen = NULL;
	gb_error scratch;
	int rc = read && pos ? gb_map_new(GB_MAP_ICASE, &seen, err) : gb_error_set(err, GB_ENOMEM, "out of memory");

	for (i = 0; !rc && i < stop; i++) {
		if (!got[i] || gb_map_get(g->in_scope, got[i]->id) || gb_map_get(seen, got[i]->id))
			continue;
		rc = gb_map_set(seen, got[i]->id, (void *)1, err);
		read[nread] = got[i];
		pos[nread++] = i;
	}
	if (!rc && nread) {
		rc = gb_graph_read_members_many(g->graph, read, nread, GB_GRAPH_PAGE_MAX, &failed, err);
		if (rc && failed < nread)
			gb_error_prefix(err, "reading the members of group %s", read[failed]->id);
		if (rc)
			stop = failed < nread ? pos[failed] : 0;
	}
	if (rc && stop == n)
		stop = 0; /* out of memory before reading: keep nothing */
	for (i = 0; i < n; i++) {
		gb_cloud_group *grp = got[i];

		got[i] = NULL;
		if (i >= stop)
			gb_cloud_group_free(grp);
		else if (!grp && warn && warn[i])
			gb_warn("provision", warn[i], ids[i]);
		else if (grp && gb_map_get(g->in_scope, grp->id))
			gb_cloud_group_free(grp); /* listed twice */
		else if (grp && gb_provision__add_group(g, grp, rc ? &scratch : err) && !rc)
			rc = err ? err->code : GB_ENOMEM;
	}
	gb_map_free(seen);
	free(read);
	free(pos);
	return rc;
}

/* Reads the groups ids[0..n) concurrently and keeps them (keep_many) in list order; a group gone from the tenant is
 * skipped, warned about with warn[i] (see keep_many). The first failure in list order is returned, as a loop over
 * gb_graph_get_group and gb_provision__keep_group that stops at the first error would return it. */
static int read_ids(gb_gather *g, const char *const *ids, const char *const *warn, size_t n, gb_error *err)
{
	gb_cloud_group **got = calloc(n ? n : 1, sizeof(*got));
	size_t failed = n, i;
	gb_error gerr;
	int rc, krc;

	if (!got)
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	gb_error_clear(&gerr);
	rc = gb_graph_get_groups_many(g->graph, ids, n, got, &failed, &gerr);
	if (rc && failed == n) {
		/* not one group's failure (out of memory): nothing is kept */
		for (i = 0; i < n; i++)
			gb_cloud_group_free(got[i]);
		free(got);
		if (err)
			*err = gerr;
		return rc;
	}
	krc = keep_many(g, got, ids, warn, n, failed, err);
	free(got);
	if (krc)
		return krc;
	if (rc && err)
		*err = gerr;
	return rc;
}

/* On demand: the one group, which must be in scope. */
static int read_on_demand(gb_gather *g, gb_error *err)
{
	gb_cloud_group *grp = NULL;
	bool in_scope = false;
	int rc;

	rc = gb_graph_get_group(g->graph, g->only_group, &grp, err);
	if (rc)
		return gb_error_prefix(err, "reading group %s", g->only_group);
	rc = gb_provision__scope_has(g, grp, &in_scope, err);
	if (!rc && !in_scope)
		rc = gb_error_set(err, GB_EINVAL, "group %s (%s) is not in the [provisioning] scope; on-demand "
						  "provisioning only acts on groups in scope",
				  grp->id, grp->display_name ? grp->display_name : "no name");
	if (rc) {
		gb_cloud_group_free(grp);
		return rc;
	}
	return gb_provision__keep_group(g, grp, err);
}

/* scope = selected: the handed-over groups that are not selected, then the selected ones (one list, read
 * concurrently). A selected group gone from the tenant is decided with the managed groups (read_managed). */
static int read_selected(gb_gather *g, const char *const *ids, gb_error *err)
{
	static const char gone[] = "selected group %s does not exist in the tenant";
	size_t nsel = 0, n = 0, pos = 0, nextra = g->extra ? gb_map_count(g->extra) : 0;
	const char **list, **warn;
	const char *key;
	void *v;
	int rc;

	while (ids[nsel])
		nsel++;
	list = malloc((nsel + nextra + 1) * sizeof(*list));
	warn = malloc((nsel + nextra + 1) * sizeof(*warn));
	if (!list || !warn) {
		free(list);
		free(warn);
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	}
	while (g->extra && gb_map_next(g->extra, &pos, &key, &v)) {
		const char *const *s;
		for (s = ids; *s && !gb_str_iequal(*s, key); s++)
			;
		if (!*s) {
			warn[n] = NULL;
			list[n++] = key;
		}
	}
	for (; *ids; ids++) {
		warn[n] = gone;
		list[n++] = *ids;
	}
	rc = read_ids(g, list, warn, n, err);
	free(list);
	free(warn);
	return rc;
}

/* scope = all: every group of the tenant, kept when the filters match; their members read concurrently. */
static int read_all(gb_gather *g, gb_error *err)
{
	gb_cloud_group *all = NULL, **got = NULL;
	size_t n = 0, i, stop;
	gb_error serr;
	int rc, krc;

	gb_warn("provision", "scope = all reads every group of the tenant on every run; Microsoft recommends selected "
			     "groups for large tenants (more than 200,000 users, 40,000 groups or 1,000,000 memberships)");
	rc = gb_graph_read_groups(g->graph, NULL, false, &all, &n, err);
	if (rc)
		return gb_error_prefix(err, "reading the tenant's groups");
	got = calloc(n ? n : 1, sizeof(*got));
	if (!got) {
		gb_graph_groups_free(all, n);
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	}
	gb_error_clear(&serr);
	for (i = 0, stop = n; i < n && !rc; i++) {
		bool match = false;

		rc = gb_provision__scope_has(g, &all[i], &match, &serr);
		if (!rc && match && !(got[i] = malloc(sizeof(*got[i]))))
			rc = gb_error_set(&serr, GB_ENOMEM, "out of memory");
		if (rc)
			stop = i; /* the groups before it are kept, as one at a time would have */
		else if (match) {
			*got[i] = all[i]; /* take the strings over */
			memset(&all[i], 0, sizeof(all[i]));
		}
	}
	gb_graph_groups_free(all, n);
	krc = keep_many(g, got, NULL, NULL, n, stop, err);
	free(got);
	if (krc)
		return krc;
	if (rc && err)
		*err = serr;
	return rc;
}

static int read_groups(gb_gather *g, gb_error *err)
{
	const char *const *ids = gb_scope_selected_ids(g->scope);
	int rc = 0;

	if (g->only_group)
		return read_on_demand(g, err);
	if (g->only_ids) {
		/* The caller names the groups (the migration's handoff and verify): they are in scope by definition. */
		static const char gone[] = "group %s does not exist in the tenant";
		const char **warn;
		size_t n = 0;

		while (g->only_ids[n])
			n++;
		if (!(warn = malloc((n + 1) * sizeof(*warn))))
			return gb_error_set(err, GB_ENOMEM, "out of memory");
		for (size_t i = 0; i < n; i++)
			warn[i] = gone;
		rc = read_ids(g, g->only_ids, warn, n, err);
		free(warn);
		return rc;
	}
	return ids ? read_selected(g, ids, err) : read_all(g, err);
}

int gb_provision__copy_user(const gb_cloud_user *u, gb_cloud_user **out)
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

int gb_provision__on_user(const gb_cloud_user *u, void *ud, gb_error *err)
{
	gb_gather *g = ud;
	gb_cloud_user *c;

	if (g->listing && u->id) {
		int rc = gb_pstate_listing_put(g->listing, u, err);
		if (rc)
			return rc;
	}
	if (!u->id || !gb_map_get(g->wanted_users, u->id) || gb_map_get(g->cloud_users, u->id))
		return 0;
	if (gb_provision__copy_user(u, &c))
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	if (gb_ptrs_push(&g->users, c, err)) {
		gb_cloud_user_free(c);
		return GB_ENOMEM;
	}
	return gb_map_set(g->cloud_users, c->id, c, err);
}

/* A member group outside the scope, read to classify it (a group synced from AD, say); absent is fine. */
static int read_member_group(gb_gather *g, const char *id, gb_error *err)
{
	gb_cloud_group *other = NULL;
	int rc = gb_graph_get_group(g->graph, id, &other, err);

	if (rc == GB_ENOTFOUND)
		return 0;
	if (!rc && (rc = gb_ptrs_push(&g->extra_groups, other, err)) != 0)
		gb_cloud_group_free(other);
	if (!rc)
		rc = gb_map_set(g->cloud_groups, other->id, other, err);
	return rc;
}

int gb_provision__collect_referenced(gb_gather *g, size_t *wanted, gb_error *err)
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
				/* in an incremental pass, a managed group needs no reading: the rules name it by GUID */
				if (g->incremental && (guid = gb_map_get(g->managed, m->id)) != NULL && *guid)
					continue;
				rc = read_member_group(g, m->id, err);
			}
		}
	}
	return rc;
}

/* A full pass: the users named as members, from one listing of the tenant's users. A pass that keeps delta state
 * records every user listed in cloud_users, the incremental passes' source (kept current by users delta). */
static int read_members_referenced(gb_gather *g, gb_error *err)
{
	size_t wanted = 0;
	int rc = gb_provision__collect_referenced(g, &wanted, err);

	if (!rc && g->record_users)
		rc = gb_pstate_listing_begin(g->st, &g->listing, err);
	/* One paged listing of the tenant's users costs far fewer requests than one request per member. */
	if (!rc && wanted) {
		rc = gb_graph_list_users(g->graph, NULL, 999, gb_provision__on_user, g, err);
		if (rc)
			gb_error_prefix(err, "reading the tenant's users");
	}
	if (g->listing) {
		rc = gb_pstate_listing_end(g->listing, rc, err);
		g->listing = NULL;
	}
	return rc;
}

/* ---- the forest ---- */

/* The user's domain, the trailing DC= RDNs of its DN, as one shared copy per spelling (a forest has few domains, and
 * forest_users may hold hundreds of thousands of users); "" when the DN has none. */
static int user_domain(gb_gather *g, const gb_dir_entry *e, const char **out, gb_error *err)
{
	const char *root = gb_ad_dn_domain(e->dn);
	char *copy;
	int rc;

	*out = "";
	if (!root)
		return 0;
	if ((*out = gb_map_get(g->domains, root)) != NULL)
		return 0;
	if (!(copy = gb_strdup(root)))
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	if ((rc = gb_map_set(g->domains, root, copy, err))) {
		free(copy);
		return rc;
	}
	*out = copy;
	return 0;
}

int gb_provision__on_forest_user(const gb_dir_entry *e, void *ctx, gb_error *err)
{
	gb_gather *g = ctx;
	char guid[GB_AD_GUID_TEXT_SIZE];
	const char *domain;
	int rc;

	if (!gb_dir_entry_guid(e, guid))
		return 0;
	rc = user_domain(g, e, &domain, err);
	return rc ? rc : gb_map_set(g->forest_users, guid, (void *)domain, err);
}

static int add_ad_group(gb_gather *g, gb_ad_group *a, gb_error *err)
{
	char *key = NULL;
	int rc;

	rc = gb_ptrs_push(&g->ad, a, err);
	if (rc) {
		gb_ad_group_free(a);
		return rc;
	}
	if (gb_anchor_is_ours(a->anchor)) {
		const gb_ad_group *prev = gb_map_get(g->ad_by_anchor, a->anchor);

		/* two live groups with one anchor are reported by the rules, never one silently picked (D6) */
		if (prev && !gb_str_iequal(prev->dn, a->dn))
			rc = gb_map_set(g->anchor_dups, a->anchor, a, err);
		else
			rc = gb_map_set(g->ad_by_anchor, a->anchor, a, err);
	}
	if (!rc && a->sid)
		rc = gb_map_set(g->ad_by_sid, a->sid, a, err);
	if (!rc && gb_provision_dn_key(a->dn, &key, NULL) == 0)
		rc = gb_map_set(g->ad_by_dn, key, a, err);
	free(key);
	return rc;
}

int gb_provision__dc_identity(gb_directory *dir, gb_pstate_dc *out, gb_error *err)
{
	const gb_directory_dc *dc = NULL;
	gb_error e;
	int rc;

	out->dsa = out->invocation_id = NULL;
	rc = gb_directory_dc_info(dir, &dc, &e);
	if (!rc && !dc->invocation_id)
		rc = gb_error_set(&e, GB_ENOTFOUND, "%s has no readable invocationId", dc->dsa);
	if (!rc) {
		out->dsa = gb_strdup(dc->dsa);
		out->invocation_id = gb_strdup(dc->invocation_id);
		if (!out->dsa || !out->invocation_id)
			rc = gb_error_set(err, GB_ENOMEM, "out of memory");
	} else if (rc != GB_ENOMEM) {
		gb_warn("provision", "cannot read the DC's identity (%s): every AD group is read in full", e.msg);
		rc = 0;
	} else if (err) {
		*err = e;
	}
	if (rc) {
		free((char *)out->dsa);
		free((char *)out->invocation_id);
		out->dsa = out->invocation_id = NULL;
	}
	return rc;
}

/* Keeps the uSNChanged the pass saw for group id (and whether its members came from the store). */
static int remember_usn(gb_gather *g, const char *id, long long usn, bool trusted, gb_error *err)
{
	long long *v = gb_map_get(g->usn, id);
	int rc = 0;

	if (!v) {
		if (!(v = malloc(sizeof(*v))))
			return gb_error_set(err, GB_ENOMEM, "out of memory");
		rc = gb_map_set(g->usn, id, v, err);
		if (rc) {
			free(v);
			return rc;
		}
	}
	*v = usn;
	if (trusted)
		rc = gb_map_set(g->usn_trusted, id, (void *)1, err);
	return rc;
}

/* The uSNChanged guard: the group's uSNChanged is read first; when the same DC reported the same value after
 * groupbridge last read or wrote the group, AD holds exactly the stored members and they are taken from the store;
 * any difference (another DC, a hand edit, a restore) reads the members from AD. Either way the uSNChanged is kept
 * for recording after the pass (read before the members, so that a change during the read shows next time). */
/* ---- prefetched AD groups ---- */

static const gb_dir_entry *prefetched(const gb_gather *g, const char *dn)
{
	const gb_dir_entry *e = NULL;
	char *key = NULL;

	if (g->pre && gb_provision_dn_key(dn, &key, NULL) == 0)
		e = gb_map_get(g->pre, key);
	free(key);
	return e;
}

/* Keeps a copy of e, a group a search returned with gb_directory_group_attrs. */
static int keep_entry(gb_gather *g, const gb_dir_entry *e, gb_error *err)
{
	gb_dir_entry *c = NULL;
	char *key = NULL;
	int rc = 0;

	if (!g->pre)
		rc = gb_map_new(GB_MAP_ICASE, &g->pre, err);
	if (!rc)
		rc = gb_provision_dn_key(e->dn, &key, err);
	if (!rc && !gb_map_get(g->pre, key) && !(rc = gb_dir_entry_dup(e, &c, err)) &&
	    (rc = gb_map_set(g->pre, key, c, err)))
		gb_dir_entry_free(c);
	free(key);
	return rc;
}

static int on_prefetched(const gb_dir_entry *e, void *ctx, gb_error *err)
{
	gb_gather *g = ctx;
	const char *anchor = gb_dir_entry_str(e, GB_DIRECTORY_ANCHOR_ATTR);
	char *was = anchor ? gb_map_get(g->pre_anchor, anchor) : NULL;
	char *dn;
	int rc;

	if (!was) /* not an anchor asked for (the filter matches exactly, so only a server's oddity) */
		return 0;
	if ((rc = keep_entry(g, e, err)))
		return rc;
	if (!(dn = gb_strdup(*was ? "\n" : e->dn)))
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	if ((rc = gb_map_set(g->pre_anchor, anchor, dn, err))) {
		free(dn);
		return rc;
	}
	free(was);
	return 0;
}

int gb_provision__anchor_term(const char *anchor, gb_buf *f, gb_error *err)
{
	int rc = gb_buf_puts(f, "(" GB_DIRECTORY_ANCHOR_ATTR "=", err);

	if (!rc)
		rc = gb_ad_filter_escape(anchor, strlen(anchor), f, err);
	return rc ? rc : gb_buf_puts(f, ")", err);
}

/* One search for the anchors [from, to) of ids (each set to "" in pre_anchor first: none found yet). */
static int prefetch_batch(gb_gather *g, const char *const *ids, size_t from, size_t to, gb_error *err)
{
	gb_buf f;
	size_t i, asked = 0;
	int rc;

	gb_buf_init(&f, 64 * 1024);
	rc = gb_buf_puts(&f, "(&(objectClass=group)(|", err);
	for (i = from; !rc && i < to; i++) {
		char anchor[GB_ANCHOR_MAX];
		char *none;

		if (gb_anchor_format(ids[i], anchor, sizeof(anchor)) || gb_map_get(g->pre_anchor, anchor))
			continue;
		if (!(none = gb_strdup("")))
			rc = gb_error_set(err, GB_ENOMEM, "out of memory");
		else if ((rc = gb_map_set(g->pre_anchor, anchor, none, err)))
			free(none);
		if (!rc)
			rc = gb_provision__anchor_term(anchor, &f, err);
		asked++;
	}
	if (!rc)
		rc = gb_buf_puts(&f, "))", err);
	if (!rc && asked)
		rc = gb_directory_search(g->dir, NULL, GB_DIR_SUBTREE, gb_buf_cstr(&f), gb_directory_group_attrs, 0,
					 on_prefetched, g, err);
	gb_buf_free(&f);
	return rc;
}

int gb_provision__prefetch_anchors(gb_gather *g, const char *const *ids, size_t n, gb_error *err)
{
	gb_ptrs todo = {NULL, 0, 0};
	size_t i;
	int rc = g->pre_anchor ? 0 : gb_map_new(GB_MAP_ICASE, &g->pre_anchor, err);

	/* only the anchors not asked for yet (read ahead during the delta, or earlier), a hundred a search: taken in
	 * slices of the whole list, the few left over from the read ahead went out as one small search per slice */
	for (i = 0; !rc && i < n; i++) {
		char anchor[GB_ANCHOR_MAX];

		if (!gb_anchor_format(ids[i], anchor, sizeof(anchor)) && !gb_map_get(g->pre_anchor, anchor))
			rc = gb_ptrs_push(&todo, (void *)ids[i], err);
	}
	for (i = 0; !rc && i < todo.n; i += GB_DIRECTORY_GUID_BATCH)
		rc = prefetch_batch(g, (const char *const *)todo.items, i,
				    i + GB_DIRECTORY_GUID_BATCH < todo.n ? i + GB_DIRECTORY_GUID_BATCH : todo.n, err);
	free(todo.items);
	return rc ? gb_error_prefix(err, "reading the AD groups of %zu anchors", n) : 0;
}

/* ---- anchors read ahead ---- */

#define AHEAD_IN_FLIGHT 4

/* The ids one search asked for (its tag). */
struct ahead_ids {
	char **ids; /* owned */
	size_t n;
};

/* Forgets that the anchors of ids were asked for (a search that gave no answer), so that they are read again. */
static void unmark(gb_gather *g, char **ids, size_t n)
{
	size_t i;

	for (i = 0; g->pre_anchor && i < n; i++) {
		char anchor[GB_ANCHOR_MAX];
		char *v;

		if (gb_anchor_format(ids[i], anchor, sizeof(anchor)) || !(v = gb_map_get(g->pre_anchor, anchor)) || *v)
			continue;
		gb_map_del(g->pre_anchor, anchor);
		free(v);
	}
}

static void ids_free(char **ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

/* A search taken (its entries went to on_prefetched) or one that gave no answer: then its anchors are unmarked and
 * the usual read after the delta asks for them, so that no anchor reads as absent without an answer saying so. */
static void ahead_done(void *tag, int rc, const gb_error *why, void *ctx)
{
	struct ahead_ids *a = tag;

	if (rc) {
		unmark(ctx, a->ids, a->n);
		gb_debug("provision", "anchors read ahead: %s; they are read again after the delta", why->msg);
	}
	ids_free(a->ids, a->n);
	free(a);
}

/* One search for the ids queued; wait: with four searches out, for the oldest's answer (see gb_dir_ahead_send). */
static int ahead_send(gb_gather *g, bool wait, gb_error *err)
{
	struct ahead_ids *a;
	gb_buf f;
	size_t i;
	int rc = 0;

	if (!g->ahead_ids.n)
		return 0;
	/* a hundred managed groups changed: the writes that follow will want their connections; they connect now,
	 * while the pass still reads (the apply engine's pool takes them) */
	if (g->ahead_ids.n >= GB_DIRECTORY_GUID_BATCH && g->cfg->directory.writes_in_flight > 1)
		gb_directory_prepare_twins(g->dir, (size_t)g->cfg->directory.writes_in_flight);
	if (!g->ahead && (rc = gb_dir_ahead_new(g->dir, AHEAD_IN_FLIGHT, gb_directory_group_attrs, on_prefetched,
						 ahead_done, g, &g->ahead, err)))
		return rc;
	if (!(a = calloc(1, sizeof(*a))))
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	a->ids = (char **)g->ahead_ids.items;
	a->n = g->ahead_ids.n;
	memset(&g->ahead_ids, 0, sizeof(g->ahead_ids));
	gb_buf_init(&f, 64 * 1024);
	rc = gb_buf_puts(&f, "(&(objectClass=group)(|", err);
	for (i = 0; !rc && i < a->n; i++) {
		char anchor[GB_ANCHOR_MAX];

		if (!gb_anchor_format(a->ids[i], anchor, sizeof(anchor)))
			rc = gb_provision__anchor_term(anchor, &f, err);
	}
	if (!rc)
		rc = gb_buf_puts(&f, "))", err);
	if (!rc)
		rc = gb_dir_ahead_send(g->ahead, gb_buf_cstr(&f), a, wait, err);
	else
		ahead_done(a, rc, err, g);
	gb_buf_free(&f);
	return rc;
}

int gb_provision__ahead_add(gb_gather *g, const char *id, gb_error *err)
{
	char anchor[GB_ANCHOR_MAX];
	char *none = NULL;
	int rc = g->pre_anchor ? 0 : gb_map_new(GB_MAP_ICASE, &g->pre_anchor, err);

	if (rc || gb_anchor_format(id, anchor, sizeof(anchor)) || gb_map_get(g->pre_anchor, anchor))
		return rc;
	if (!(none = gb_strdup("")))
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	if ((rc = gb_map_set(g->pre_anchor, anchor, none, err))) {
		free(none);
		return rc;
	}
	if ((rc = gb_ptrs_push_copy(&g->ahead_ids, id, err))) {
		gb_map_del(g->pre_anchor, anchor);
		free(none);
		return rc;
	}
	/* this runs inside a Graph reply's callback, so it never waits: with four searches out and the oldest not
	 * answered yet, these anchors are left to the usual read after the delta (ahead_done unmarks them) */
	return g->ahead_ids.n >= GB_DIRECTORY_GUID_BATCH ? ahead_send(g, false, err) : 0;
}

int gb_provision__ahead_take(gb_gather *g, gb_error *err)
{
	int rc = ahead_send(g, true, err);

	if (!rc)
		rc = gb_dir_ahead_take_all(g->ahead, err);
	gb_provision__ahead_drop(g);
	return rc;
}

void gb_provision__ahead_drop(gb_gather *g)
{
	gb_dir_ahead_free(g->ahead);
	g->ahead = NULL;
	unmark(g, (char **)g->ahead_ids.items, g->ahead_ids.n);
	ids_free((char **)g->ahead_ids.items, g->ahead_ids.n);
	memset(&g->ahead_ids, 0, sizeof(g->ahead_ids));
}

const char *gb_provision__prefetched_anchor(const gb_gather *g, const char *id)
{
	char anchor[GB_ANCHOR_MAX];
	const char *dn;

	if (!g->pre_anchor || gb_anchor_format(id, anchor, sizeof(anchor)))
		return NULL;
	dn = gb_map_get(g->pre_anchor, anchor);
	return dn && strcmp(dn, "\n") != 0 ? dn : NULL;
}

const char *gb_provision__prefetched_attr(const gb_gather *g, const char *id, const char *attr)
{
	const char *dn = gb_provision__prefetched_anchor(g, id);
	const gb_dir_entry *e = dn && *dn ? prefetched(g, dn) : NULL;

	return e ? gb_dir_entry_str(e, attr) : NULL;
}

/* The group at dn, from its prefetched entry when there is one, else read. */
static int read_group(gb_gather *g, const gb_dir_entry *pe, const char *dn, bool with_members, gb_ad_group **out,
		      gb_error *err)
{
	return pe ? gb_directory_group_from_entry(g->dir, pe, with_members, out, err)
		  : gb_directory_read_group(g->dir, dn, with_members, out, err);
}

static int read_guarded(gb_gather *g, const char *dn, gb_ad_group **out, gb_error *err)
{
	static const char *const attrs[] = {"uSNChanged", GB_DIRECTORY_ANCHOR_ATTR, NULL};
	const gb_dir_entry *pe = prefetched(g, dn);
	gb_dir_entry *e = NULL;
	const char *v, *oid;
	char id[64] = "";
	long long usn = -1;
	bool trusted = false;
	int rc = 0;

	if (!g->dc_read) {
		g->dc_read = true;
		rc = gb_provision__dc_identity(g->dir, &g->dc, err);
	}
	if (!rc && !pe)
		rc = gb_directory_get(g->dir, dn, attrs, 0, &e, err);
	if (rc)
		return rc;
	v = gb_dir_entry_str(pe ? pe : e, "uSNChanged");
	oid = gb_anchor_object_id(gb_dir_entry_str(pe ? pe : e, GB_DIRECTORY_ANCHOR_ATTR));
	if (v)
		usn = strtoll(v, NULL, 10);
	if (oid && strlen(oid) < sizeof(id))
		snprintf(id, sizeof(id), "%s", oid);
	gb_dir_entry_free(e);
	if (!id[0] || usn <= 0 || !g->dc.dsa)
		return read_group(g, pe, dn, true, out, err);
	rc = read_group(g, pe, dn, !g->usn_trust, out, err);
	if (!rc && g->usn_trust)
		rc = gb_pstate_ad_members_get(g->st, id, &g->dc, usn, *out, &trusted, err);
	else
		trusted = true; /* read in full above */
	if (!rc && !trusted) {
		gb_ad_group_free(*out);
		*out = NULL;
		rc = read_group(g, pe, dn, true, out, err);
	}
	if (!rc)
		rc = remember_usn(g, id, usn, trusted && g->usn_trust, err);
	if (rc) {
		gb_ad_group_free(*out);
		*out = NULL;
	}
	return rc;
}

int gb_provision__load_ad_group(gb_gather *g, const char *dn, bool with_members, gb_error *err)
{
	gb_ad_group *a = NULL;
	char *key = NULL;
	int rc;

	if (gb_provision_dn_key(dn, &key, NULL) == 0 && gb_map_get(g->ad_by_dn, key)) {
		free(key);
		return 0;
	}
	free(key);
	if (with_members && g->usn_guard)
		rc = read_guarded(g, dn, &a, err);
	else
		rc = read_group(g, prefetched(g, dn), dn, with_members, &a, err);
	if (rc == GB_ENOTFOUND)
		return 0;
	if (rc)
		return gb_error_prefix(err, "reading AD group %s", dn);
	return add_ad_group(g, a, err);
}

/* Reads the AD group a converted group's GroupDN extension names. The value comes from the cloud and may be
 * hostile: a value that is not a DN, or that the server refuses as such (a permanent LDAP error for that one base),
 * matches nothing and is that group's business (its mapping or the fence refuses it later), never the run's. */
static int load_group_dn_ext(gb_gather *g, const gb_cloud_group *grp, gb_error *err)
{
	char *key = NULL;
	int rc;

	if (gb_provision_dn_key(grp->group_dn_ext, &key, NULL) != 0) {
		gb_log_write(GB_LOG_WARN, "provision", "group %s: its GroupDN extension is not a DN; not matched by it",
			     grp->id);
		return 0;
	}
	free(key);
	rc = gb_provision__load_ad_group(g, grp->group_dn_ext, true, err);
	if (rc == GB_ELDAP) {
		gb_log_write(GB_LOG_WARN, "provision", "group %s: not matched by its GroupDN extension: %s", grp->id,
			     err->msg);
		gb_error_clear(err);
		rc = 0;
	}
	return rc;
}

int gb_provision__load_unanchored(gb_gather *g, gb_error *err)
{
	static const char *const dn_attr[] = {"distinguishedName", NULL};
	size_t i;
	int rc = 0;

	for (i = 0; !rc && i < g->groups.n; i++) {
		const gb_cloud_group *grp = g->groups.items[i];
		char anchor[GB_ANCHOR_MAX];

		if (gb_anchor_format(grp->id, anchor, sizeof(anchor)) || gb_map_get(g->ad_by_anchor, anchor))
			continue;
		if (grp->on_prem_sid && !gb_map_get(g->ad_by_sid, grp->on_prem_sid)) {
			gb_dir_entry *e = NULL;
			rc = gb_directory_find_by_sid(g->dir, grp->on_prem_sid, dn_attr, 0, &e, err);
			if (rc == GB_ENOTFOUND)
				rc = 0;
			else if (!rc)
				rc = gb_provision__load_ad_group(g, e->dn, true, err);
			gb_dir_entry_free(e);
		}
		if (!rc && grp->group_dn_ext)
			rc = load_group_dn_ext(g, grp, err);
	}
	return rc;
}

typedef struct anchored {
	gb_gather *g;
	gb_ptrs dns; /* char*: anchored groups to load */
	gb_ptrs ids; /* char*: the object id of each one's anchor, or NULL */
} anchored;

static void anchored_clear(anchored *a)
{
	ptrs_clear(&a->dns, free);
	ptrs_clear(&a->ids, free);
}

static int on_anchored(const gb_dir_entry *e, void *ctx, gb_error *err)
{
	anchored *a = ctx;
	const char *id = gb_anchor_object_id(gb_dir_entry_str(e, GB_DIRECTORY_ANCHOR_ATTR));
	char *copy = id ? gb_strdup(id) : NULL;
	int rc = keep_entry(a->g, e, err);

	if (!rc && id && !copy)
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
	if (!rc)
		rc = gb_ptrs_push_copy(&a->dns, e->dn, err);
	if (!rc && (rc = gb_ptrs_push(&a->ids, copy, err)) == 0)
		return 0;
	free(copy);
	return rc;
}

/* Every AD group that carries an anchor, into a (their entries kept in a->g->pre), on dir. */
static int search_anchored(gb_directory *dir, anchored *a, gb_error *err)
{
	int rc = gb_directory_search(dir, NULL, GB_DIR_SUBTREE,
				     "(&(objectClass=group)(" GB_DIRECTORY_ANCHOR_ATTR "=" GB_ANCHOR_PREFIX "*))",
				     gb_directory_group_attrs, 0, on_anchored, a, err);

	return rc ? gb_error_prefix(err, "finding anchored AD groups") : 0;
}

/* Every user of the forest (the Global Catalog when there is one) into g->forest_users, on dir. */
static int search_forest_users(gb_gather *g, gb_directory *dir, gb_error *err)
{
	static const char *const guid_attr[] = {"objectGUID", NULL};
	const char *gc = g->cfg->directory.gc_uri;
	int rc = gb_directory_search(dir, gc ? "" : NULL, GB_DIR_SUBTREE, "(&(objectCategory=person)(objectClass=user))",
				     guid_attr, gc ? GB_DIR_GC : 0, gb_provision__on_forest_user, g, err);

	return rc ? gb_error_prefix(err, "reading the forest's users") : 0;
}

/* The forest's users and anchored groups, read on a connection of their own while the tenant is read: both reads
 * mostly wait on the network, so the waits overlap. The thread fills only g->forest_users, g->pre and its own list,
 * which nothing else touches before it is joined; which groups' members are needed is decided after (in_scope comes
 * from the tenant). What it read counts only when it reached the DC the pass writes to (as the write pool's
 * connections must): another DC may not have replicated a group the last pass created. */
typedef struct forest_read {
	gb_gather *g;
	gb_directory *dir; /* a twin of g->dir */
	char *dsa;         /* the DC it reached */
	anchored a;
	pthread_t thread;
	bool running;
	int rc;
	gb_error err;
} forest_read;

static void *forest_read_main(void *arg)
{
	forest_read *r = arg;

	r->rc = gb_directory_connect(r->dir, &r->err);
	if (!r->rc && !(r->dsa = gb_directory_dsa(r->dir, &r->err)))
		r->rc = r->err.code ? r->err.code : GB_ERROR;
	if (!r->rc)
		r->rc = search_forest_users(r->g, r->dir, &r->err);
	if (!r->rc)
		r->rc = search_anchored(r->dir, &r->a, &r->err);
	return NULL;
}

/* Starts the read; when no twin or thread can be had, read_forest does both searches itself. */
static void forest_read_start(gb_gather *g, forest_read *r)
{
	gb_error e;

	memset(r, 0, sizeof(*r));
	r->g = g;
	r->a.g = g;
	if (gb_directory_twin(g->dir, &r->dir, &e))
		return;
	if (pthread_create(&r->thread, NULL, forest_read_main, r) != 0) {
		gb_directory_free(r->dir);
		r->dir = NULL;
		return;
	}
	r->running = true;
}

/* Waits for the read and ends it; *done: both searches were done on the pass's DC (else read_forest runs them on
 * g->dir, which also reports an error the twin met, such as a DC that takes no second connection). What a twin that
 * reached another DC found is dropped; after a failure on the same DC, what it found is kept or found again, never
 * twice. Returns GB_ENOMEM only. */
static int forest_read_join(forest_read *r, bool *done, gb_error *err)
{
	gb_gather *g = r->g;
	char *dsa = NULL;
	int rc = 0;

	*done = false;
	if (r->running) {
		pthread_join(r->thread, NULL);
		r->running = false;
		gb_directory_stats_add(g->dir, gb_directory_get_stats(r->dir));
		if (!r->rc && (!(dsa = gb_directory_dsa(g->dir, &r->err)) || !gb_str_iequal(dsa, r->dsa))) {
			if (dsa)
				gb_error_set(&r->err, GB_ECONFIG, "it reached %s, not %s", r->dsa, dsa);
			r->rc = GB_ECONFIG;
			/* nothing but the thread has filled these: start them again */
			gb_provision__map_free_values(g->pre, free_entry);
			g->pre = NULL;
			gb_map_free(g->forest_users);
			g->forest_users = NULL;
			rc = gb_map_new(GB_MAP_ICASE, &g->forest_users, err);
		}
		if (r->rc) {
			gb_debug("provision", "reading the forest on a second connection: %s; reading it again", r->err.msg);
			anchored_clear(&r->a);
		}
		*done = r->rc == 0;
	}
	free(dsa);
	free(r->dsa);
	r->dsa = NULL;
	gb_directory_free(r->dir);
	r->dir = NULL;
	return rc;
}

/* The forest: its users and anchored groups (from fu when its thread read them), then the groups to load. */
static int read_forest(gb_gather *g, forest_read *fu, bool done, gb_error *err)
{
	anchored *a = &fu->a;
	size_t i;
	int rc = 0;

	if (!done) {
		rc = search_forest_users(g, g->dir, err);
		if (!rc)
			rc = search_anchored(g->dir, a, err);
	}
	for (i = 0; !rc && i < a->dns.n; i++) {
		const char *id = a->ids.items[i];

		rc = gb_provision__load_ad_group(g, a->dns.items[i], id && gb_map_get(g->in_scope, id), err);
	}
	anchored_clear(a);
	return rc ? rc : gb_provision__load_unanchored(g, err);
}

/* ---- groups that left management ---- */

/* A managed group not in scope: present in the tenant means it left scope; absent and in the deleted items means
 * soft-deleted (both: management stops); absent from both means deleted for good. */
static int on_managed(void *ctx, const char *id, const char *guid, gb_error *err)
{
	gb_gather *g = ctx;
	gb_cloud_group *grp = NULL;
	json_t *reply = NULL;
	char url[256];
	int rc;

	(void)guid;
	if (gb_map_get(g->in_scope, id))
		return 0;
	rc = gb_graph_get_group(g->graph, id, &grp, err);
	gb_cloud_group_free(grp);
	if (rc == 0)
		return gb_ptrs_push_copy(&g->left_scope, id, err);
	if (rc != GB_ENOTFOUND)
		return rc;
	/* Not in the tenant: soft-deleted groups are still in the deleted items for 30 days. */
	snprintf(url, sizeof(url), "/v1.0/directory/deletedItems/%s", id);
	rc = gb_graph_call(g->graph, "GET", url, NULL, &reply, err);
	json_decref(reply);
	if (rc == 0)
		return gb_ptrs_push_copy(&g->left_scope, id, err);
	if (rc == GB_ENOTFOUND) {
		gb_error_clear(err);
		return gb_ptrs_push_copy(&g->hard_deleted, id, err);
	}
	return rc;
}

/* The groups the migration handed over (handed_over = 1) are provisioning's too; handed_over = 2 means handed to a
 * Cloud Sync job instead, which provisions them. (migration_groups belongs to steps/; this read is all provisioning
 * needs of it.) */
static int read_handed_over(gb_gather *g, gb_error *err)
{
	sqlite3_stmt *s = NULL;
	int rc;

	rc = gb_store_prepare(g->st, "SELECT object_id FROM migration_groups WHERE handed_over = 1", &s, err);
	while (!rc && sqlite3_step(s) == SQLITE_ROW)
		rc = gb_map_set(g->extra, (const char *)sqlite3_column_text(s, 0), (void *)1, err);
	sqlite3_finalize(s);
	return rc;
}

int gb_provision__gather_init(gb_gather *g, gb_error *err)
{
	gb_map **icase[] = {&g->cloud_groups, &g->cloud_users, &g->wanted_users, &g->forest_users,
			    &g->ad_by_anchor, &g->ad_by_sid,   &g->in_scope,     &g->extra,
			    &g->anchor_dups,  &g->domains};
	size_t i;
	int rc;

	rc = gb_scope_new(&g->cfg->provisioning, &g->scope, err);
	for (i = 0; !rc && i < sizeof(icase) / sizeof(icase[0]); i++)
		rc = gb_map_new(GB_MAP_ICASE, icase[i], err);
	if (!rc)
		rc = gb_map_new(0, &g->ad_by_dn, err);
	if (!rc)
		rc = gb_map_new(GB_MAP_ICASE, &g->usn, err);
	if (!rc)
		rc = gb_map_new(GB_MAP_ICASE, &g->usn_trusted, err);
	if (!rc)
		rc = read_handed_over(g, err);
	return rc;
}

int gb_provision__gather_all(gb_gather *g, gb_error *err)
{
	forest_read fu;
	bool users_read;
	int rc, jrc;

	forest_read_start(g, &fu);
	gb_info("provision", "reading groups in scope from the tenant");
	rc = read_groups(g, err);
	if (!rc)
		rc = read_members_referenced(g, err);
	jrc = forest_read_join(&fu, &users_read, err);
	if (!rc)
		rc = jrc;
	if (!rc) {
		gb_info("provision", "read %zu groups and %zu member users; reading the forest", g->groups.n, g->users.n);
		rc = read_forest(g, &fu, users_read, err);
	}
	anchored_clear(&fu.a);
	if (!rc && !g->only_group && !g->only_ids)
		rc = gb_pstate_each_managed(g->st, on_managed, g, err);
	if (!rc)
		gb_info("provision", "forest: %zu users, %zu anchored or matched groups", gb_map_count(g->forest_users),
			g->ad.n);
	return rc;
}
