/* rules.c: Cloud Sync's group provisioning rules, from fetched data to a plan (see provision.h). */
#include "groupbridge/provision.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/adcodec.h"
#include "groupbridge/anchor.h"
#include "groupbridge/buf.h"
#include "groupbridge/directory.h"
#include "groupbridge/util.h"


/* What pass 1 decides for each provisioned group; pass 2 reads it to resolve nested members. */
typedef struct desired {
	const gb_cloud_group *cloud;
	const gb_ad_group *ad;  /* the matched AD group, or NULL: it will be created */
	char anchor[GB_ANCHOR_MAX];
	char *cn;
	char *container;
	char *dn;               /* where the group is (matched) or will be (created) */
	char *description;
	char *sam;
	size_t plan_group;      /* index of this group in plan->groups */
} desired;

typedef struct ctx {
	const gb_provision_input *in;
	gb_plan *plan;
	gb_map *anchored_guids; /* objectGUIDs of AD groups that carry a Group_ anchor */
	gb_map *desired_by_id;  /* id -> desired* for every group this run provisions */
	gb_map *names;          /* "dn:"/"sam:" + AD-folded value -> cloud id, for the groups this run creates */
	desired *items;
	size_t nitems;
	gb_error *err;
} ctx;

int gb_provision_dn_key(const char *dn, char **out, gb_error *err)
{
	gb_ad_dn *parsed = NULL;
	int rc;

	char *formatted = NULL;

	*out = NULL;
	rc = gb_ad_dn_parse(dn, &parsed, err);
	if (!rc)
		rc = gb_ad_dn_format(parsed, &formatted, err);
	/* folded as AD compares values, so a GroupDN spelled "OU=ZÜRICH" finds the group AD holds in "OU=Zürich" (D5) */
	if (!rc)
		rc = gb_ad_str_fold(formatted, out, err);
	free(formatted);
	gb_ad_dn_free(parsed);
	return rc;
}

static void desired_clear(desired *d)
{
	free(d->cn);
	free(d->container);
	free(d->dn);
	free(d->description);
	free(d->sam);
}

static bool in_list(const char *const *list, const char *id)
{
	for (; list && *list; list++)
		if (gb_str_iequal(*list, id))
			return true;
	return false;
}

/* Eligibility: the reasons Cloud Sync refuses a group, as note codes. NULL when eligible. */
static const char *unsupported(const gb_cloud_group *g, const char **why)
{
	if (g->on_prem_sync_enabled == GB_TRI_TRUE) {
		*why = "its source of authority is on-premises AD (synced by a sync client)";
		return "synced-from-ad";
	}
	if (g->unified) {
		*why = "it is a Microsoft 365 group; only security groups are provisioned";
		return "microsoft-365-group";
	}
	if (g->mail_enabled == GB_TRI_TRUE) {
		*why = "it is mail-enabled; mail-enabled groups stay with group writeback v1";
		return "mail-enabled";
	}
	if (g->security_enabled != GB_TRI_TRUE) {
		*why = "it is not security-enabled";
		return "not-security-enabled";
	}
	return NULL;
}

static int note_group_error(ctx *c, const gb_cloud_group *g, const char *code, const char *msg)
{
	return gb_plan_note(c->plan, GB_NOTE_GROUP_ERROR, g->id, NULL, code, c->err, "group %s (%s): %s", g->id,
			    g->display_name ? g->display_name : "no name", msg);
}

/* Finds the AD group for a cloud group; a disagreement between sources is a conflict. */
static int match(ctx *c, desired *d, bool *conflict)
{
	const gb_provision_input *in = c->in;
	const gb_ad_group *by_anchor, *by_sid = NULL, *by_dn = NULL, *found;

	*conflict = false;
	by_anchor = gb_map_get(in->ad_by_anchor, d->anchor);
	if (by_anchor && in->ad_anchor_dups && gb_map_get(in->ad_anchor_dups, d->anchor)) {
		const gb_ad_group *dup = gb_map_get(in->ad_anchor_dups, d->anchor);

		*conflict = true;
		return gb_plan_note(c->plan, GB_NOTE_GROUP_ERROR, d->cloud->id, NULL, "match-conflict", c->err,
				    "group %s: two live AD groups carry its anchor %s (%s and %s), as a Recycle Bin restore "
				    "next to a re-created group leaves them; neither is changed: delete one, or clear "
				    GB_DIRECTORY_ANCHOR_ATTR " and adminDescription on it",
				    d->cloud->id, d->anchor, by_anchor->dn, dup->dn);
	}
	if (in->ad_by_sid && d->cloud->on_prem_sid)
		by_sid = gb_map_get(in->ad_by_sid, d->cloud->on_prem_sid);
	if (in->ad_by_dn && d->cloud->group_dn_ext) {
		char *key = NULL;
		if (gb_provision_dn_key(d->cloud->group_dn_ext, &key, NULL) == 0)
			by_dn = gb_map_get(in->ad_by_dn, key);
		free(key);
	}
	found = by_anchor ? by_anchor : by_sid ? by_sid : by_dn;
	if ((by_anchor && by_sid && by_anchor != by_sid) || (by_anchor && by_dn && by_anchor != by_dn) ||
	    (by_sid && by_dn && by_sid != by_dn)) {
		*conflict = true;
		return gb_plan_note(c->plan, GB_NOTE_GROUP_ERROR, d->cloud->id, NULL, "match-conflict", c->err,
				    "group %s: the anchor, the SID and the GroupDN extension point at different AD groups "
				    "(%s, %s, %s); resolve by hand",
				    d->cloud->id, by_anchor ? by_anchor->dn : "none", by_sid ? by_sid->dn : "none",
				    by_dn ? by_dn->dn : "none");
	}
	/* An AD group already anchored to another cloud group is never taken over. */
	if (found && found->anchor && !gb_str_iequal(found->anchor, d->anchor)) {
		*conflict = true;
		return gb_plan_note(c->plan, GB_NOTE_GROUP_ERROR, d->cloud->id, NULL, "match-conflict", c->err,
				    "group %s: AD group %s is anchored to %s, not to this group", d->cloud->id, found->dn,
				    found->anchor);
	}
	d->ad = found;
	return 0;
}

static int map_field(ctx *c, gb_mapping_field f, const gb_cloud_group *g, char **out, bool *failed)
{
	gb_error e;
	static const char *names[] = {"cn", "description", "target_container", "samaccountname"};

	*out = NULL;
	gb_error_clear(&e);
	if (c->in->map(c->in->map_ctx, f, g, out, &e) == 0) {
		/* AD holds no empty strings: an empty result means "no value", as an absent attribute does. */
		if (*out && !**out) {
			free(*out);
			*out = NULL;
		}
		return 0;
	}
	if (e.code == GB_ENOMEM)
		return gb_error_set(c->err, GB_ENOMEM, "%s", e.msg);
	*failed = true;
	return gb_plan_note(c->plan, GB_NOTE_GROUP_ERROR, g->id, NULL, "mapping-error", c->err,
			    "group %s (%s): mapping %s: %s", g->id, g->display_name ? g->display_name : "no name",
			    names[f], e.msg);
}

/* AD's own rules for the names a group is written with, checked before the write so that a bad mapping is that
 * group's error in the plan rather than a failed add at apply time (AD review D3, D4, D5): cn at most 64 UTF-16 units;
 * a sAMAccountName (written at creation only) valid by MS-SAMR; and no two groups created in this run whose DN or
 * sAMAccountName AD would take for the same ("Café" and "Cafe" collide on AD, which compares names without regard to
 * case, accents and width). *bad is set when the group is refused. */
static int check_names(ctx *c, const desired *d, bool *bad)
{
	const gb_cloud_group *g = d->cloud;
	const char *kinds[2] = {"dn:", "sam:"}, *values[2];
	char msg[GB_ERROR_MSG_MAX];
	gb_error e;
	size_t i, units = gb_ad_utf16_len(d->cn);
	int rc = 0;

	*bad = true;
	if (units > GB_AD_CN_MAX) {
		snprintf(msg, sizeof msg, "cn \"%s\" has %zu characters (UTF-16 units), more than the %d AD allows; shorten "
			 "the cn mapping", d->cn, units, GB_AD_CN_MAX);
		return note_group_error(c, g, "cn-too-long", msg);
	}
	if (d->ad) {
		*bad = false;
		return 0;
	}
	if (d->sam && gb_ad_sam_check(d->sam, &e)) {
		snprintf(msg, sizeof msg, "mapping samaccountname: %s", e.msg);
		return note_group_error(c, g, "bad-samaccountname", msg);
	}
	values[0] = d->dn;
	values[1] = d->sam;
	for (i = 0; i < 2 && !rc; i++) {
		char *fold = NULL, key[GB_ERROR_MSG_MAX];
		const char *other;

		if (!values[i])
			continue;
		if ((rc = gb_ad_str_fold(values[i], &fold, c->err)))
			break;
		snprintf(key, sizeof key, "%s%s", kinds[i], fold);
		free(fold);
		other = gb_map_get(c->names, key);
		if (other) {
			snprintf(msg, sizeof msg, "its %s \"%s\" is the same to AD (which ignores case, accents and width) as "
				 "that of group %s, provisioned in this run; change one of the names", i ? "sAMAccountName" : "DN",
				 values[i], other);
			return note_group_error(c, g, "name-collision", msg);
		}
		rc = gb_map_set(c->names, key, (void *)g->id, c->err);
	}
	*bad = false;
	return rc;
}

/* Pass 1: eligibility, limits, mappings and matching for one group. */
static int prepare(ctx *c, const gb_cloud_group *g)
{
	desired *d = &c->items[c->nitems];
	const char *why = NULL, *code;
	bool failed = false, conflict = false;
	int rc;

	memset(d, 0, sizeof(*d));
	d->cloud = g;
	code = unsupported(g, &why);
	if (code)
		return gb_plan_note(c->plan, GB_NOTE_GROUP_UNSUPPORTED, g->id, NULL, code, c->err,
				    "group %s (%s) is not provisioned: %s", g->id, g->display_name ? g->display_name : "",
				    why);
	if (g->nmembers > GB_MAX_GROUP_MEMBERS) {
		char msg[160];
		snprintf(msg, sizeof(msg), "it has %zu members, more than the %d that group provisioning supports; split it",
			 g->nmembers, GB_MAX_GROUP_MEMBERS);
		return note_group_error(c, g, "over-member-limit", msg);
	}
	if (gb_anchor_format(g->id, d->anchor, sizeof(d->anchor)))
		return note_group_error(c, g, "bad-object-id", "its object id is empty or too long to be an anchor");
	rc = map_field(c, GB_MAPPING_CN, g, &d->cn, &failed);
	if (!rc && !failed)
		rc = map_field(c, GB_MAPPING_CONTAINER, g, &d->container, &failed);
	if (!rc && !failed)
		rc = map_field(c, GB_MAPPING_DESCRIPTION, g, &d->description, &failed);
	if (!rc && !failed)
		rc = map_field(c, GB_MAPPING_SAM, g, &d->sam, &failed);
	if (!rc && !failed && (!d->cn || !*d->cn)) {
		failed = true;
		rc = note_group_error(c, g, "mapping-error", "the cn mapping gave an empty name");
	}
	if (!rc && !failed && (!d->container || !*d->container)) {
		failed = true;
		rc = note_group_error(c, g, "mapping-error", "the target_container mapping gave no container");
	}
	if (!rc && !failed)
		rc = match(c, d, &conflict);
	if (rc || failed || conflict) {
		desired_clear(d);
		return rc;
	}
	if (d->ad) {
		d->dn = gb_strdup(d->ad->dn);
	} else {
		gb_error e;
		gb_ad_dn *parsed = NULL;

		/* The container comes from a mapping: it must be a well-formed DN before anything is built on it. */
		rc = gb_ad_dn_parse(d->container, &parsed, &e);
		gb_ad_dn_free(parsed);
		if (!rc)
			rc = gb_ad_dn_build("CN", d->cn, d->container, &d->dn, &e);
		if (rc) {
			desired_clear(d);
			if (rc == GB_ENOMEM)
				return gb_error_set(c->err, GB_ENOMEM, "out of memory");
			return note_group_error(c, g, "mapping-error", e.msg);
		}
	}
	if (!d->dn) {
		desired_clear(d);
		return gb_error_set(c->err, GB_ENOMEM, "out of memory");
	}
	if ((rc = check_names(c, d, &failed)) || failed) {
		desired_clear(d);
		return rc;
	}
	c->nitems++;
	d->plan_group = c->plan->ngroups;
	rc = gb_plan_add_group(c->plan, g->id, d->dn, d->ad ? d->ad->guid : NULL, c->err);
	return rc ? rc : gb_map_set(c->desired_by_id, g->id, d, c->err);
}

static int skip(ctx *c, const gb_cloud_group *g, const gb_member_ref *m, const char *code, const char *why)
{
	return gb_plan_note(c->plan, GB_NOTE_MEMBER_SKIPPED, g->id, m->id, code, c->err, "%s %s in group %s: %s",
			    gb_object_kind_name(m->kind), m->id, g->id, why);
}

/* groupType's scope bits (MS-SAMR 2.2.1.11) */
#define SCOPE_GLOBAL 0x2L
#define SCOPE_LOCAL 0x4L
#define SCOPE_UNIVERSAL 0x8L

/* Why AD refuses to make a matched group universal (Microsoft's "Changing a group's scope", AD review D2), in words, or
 * NULL when the change is allowed (or not needed). */
static const char *universal_refused(const gb_ad_group *ad, char *why, size_t n)
{
	if (!ad || ad->group_type == GB_GROUP_TYPE_UNIVERSAL_SECURITY || (ad->group_type & SCOPE_UNIVERSAL))
		return NULL;
	if ((ad->group_type & SCOPE_LOCAL) && ad->nforeign > 0)
		snprintf(why, n, "it is domain local and holds %zu foreign security principal(s) (members from another "
			 "forest); remove those members, or leave the group out of scope", ad->nforeign);
	else if ((ad->group_type & SCOPE_LOCAL) && ad->scope_blocker &&
		 gb_directory_is_foreign_principal(ad->scope_blocker))
		snprintf(why, n, "it is domain local and holds the foreign security principal %s (a member from another "
			 "forest); remove those members, or leave the group out of scope", ad->scope_blocker);
	else if ((ad->group_type & SCOPE_LOCAL) && ad->scope_blocker)
		snprintf(why, n, "it is domain local and holds the domain local group %s; take that group out of it first",
			 ad->scope_blocker);
	else if ((ad->group_type & SCOPE_GLOBAL) && ad->scope_blocker)
		snprintf(why, n, "it is global and a member of the global group %s; make that group universal (or take this "
			 "one out of it) first, the next pass converts this one", ad->scope_blocker);
	else
		return NULL;
	return why;
}

/* The scope a provisioned group has once the plan ran: universal when it is created or may be converted, else the
 * scope it has in AD. */
static long scope_after(const desired *d)
{
	char why[8];

	if (!d->ad || !universal_refused(d->ad, why, sizeof why))
		return SCOPE_UNIVERSAL;
	return d->ad->group_type & (SCOPE_GLOBAL | SCOPE_LOCAL);
}

static const char *scope_name(long scope)
{
	return scope == SCOPE_GLOBAL ? "global" : scope == SCOPE_LOCAL ? "domain local" : "universal";
}

/* AD's nesting rules between two groups of this domain: a universal group holds no domain local group ("A universal
 * group cannot have a local group as a member"), a global group holds only global groups ("A global group can't have
 * universal groups as members"); a domain local group holds any of them. NULL when AD accepts the member. */
static const char *nesting_refused(long parent, long member)
{
	if (parent == SCOPE_UNIVERSAL && member == SCOPE_LOCAL)
		return "a universal group cannot hold a domain local group";
	if (parent == SCOPE_GLOBAL && member != SCOPE_GLOBAL)
		return member == SCOPE_LOCAL ? "a global group cannot hold a domain local group"
					     : "a global group cannot hold a universal group";
	return NULL;
}

/* The scope of a nested member group that this plan does not re-plan (provisioned by an earlier run): the scope AD
 * holds, which this plan does not change; 0 when it is not known (no single AD group carries its anchor). */
static long earlier_scope(const ctx *c, const char *id)
{
	const char *type = c->in->provisioned_types ? gb_map_get(c->in->provisioned_types, id) : NULL;
	long gt;

	if (!type)
		return 0;
	gt = strtol(type, NULL, 10);
	if (gt & SCOPE_UNIVERSAL)
		return SCOPE_UNIVERSAL;
	return gt & SCOPE_LOCAL ? SCOPE_LOCAL : gt & SCOPE_GLOBAL ? SCOPE_GLOBAL : 0;
}

/* A nested member that AD would refuse in this group: skipped with both scopes and why the one that stays is not
 * universal. An AD reference that exists already is kept (key is filled, value is not), never removed. nd is NULL for a
 * group provisioned by an earlier run: its scope is the one AD holds, and when that is not known it is written only
 * into a group that stays domain local (which holds groups of every scope). */
static int check_nesting(ctx *c, const desired *d, const gb_member_ref *m, const desired *nd, char *key, size_t kn,
			 bool *refused)
{
	long ps = scope_after(d), ms = nd ? scope_after(nd) : earlier_scope(c, m->id);
	/* not known: a domain local group holds groups of every scope, any other may refuse it */
	const char *rule = ms ? nesting_refused(ps, ms) : ps == SCOPE_LOCAL ? NULL : "its scope is not known";
	char why[1024], stays[600];
	const desired *kept = ps != SCOPE_UNIVERSAL ? d : nd;

	*refused = rule != NULL;
	if (!rule)
		return 0;
	if (nd && nd->ad && nd->ad->guid)
		snprintf(key, kn, "%s", nd->ad->guid);
	else if (!nd && c->in->provisioned && gb_map_get(c->in->provisioned, m->id))
		snprintf(key, kn, "%s", (const char *)gb_map_get(c->in->provisioned, m->id));
	if (!ms)
		snprintf(why, sizeof why, "AD may refuse the reference: the group was provisioned by an earlier run "
			 "and no single AD group carries its anchor, so its scope is not known (this group is %s); it "
			 "is not written", scope_name(ps));
	else if (kept) {
		universal_refused(kept->ad, stays, sizeof stays);
		snprintf(why, sizeof why, "AD refuses the reference: %s (this group stays %s, the member is %s, as "
			 "group %s stays %s because %s); it is not written", rule, scope_name(ps), scope_name(ms),
			 kept->cloud->id, scope_name(scope_after(kept)), stays);
	} else {
		snprintf(why, sizeof why, "AD refuses the reference: %s (this group is %s, the member group, "
			 "provisioned by an earlier run, is %s in AD); it is not written", rule, scope_name(ps),
			 scope_name(ms));
	}
	return skip(c, d->cloud, m, "group-scope", why);
}

/* A domain's DN as a DNS name ("DC=emea,DC=example" as emea.example), for messages; the DN as it is when it is not
 * only DC= RDNs. */
static void domain_name(const char *dn, char *out, size_t n)
{
	gb_ad_dn *p = NULL;
	size_t i, len = 0;

	snprintf(out, n, "%s", dn && *dn ? dn : "an unknown domain");
	if (!dn || !*dn || gb_ad_dn_parse(dn, &p, NULL))
		return;
	for (i = 0; i < p->nrdns; i++)
		if (p->rdns[i].navas != 1 || !gb_str_iequal(p->rdns[i].avas[0].type, "DC") ||
		    memchr(p->rdns[i].avas[0].value, '\0', p->rdns[i].avas[0].value_len))
			break;
	if (i == p->nrdns && i > 0) {
		for (i = 0; i < p->nrdns && len < n; i++)
			len += (size_t)snprintf(out + len, n - len, "%s%s", i ? "." : "", p->rdns[i].avas[0].value);
	}
	gb_ad_dn_free(p);
}

/* A user of this forest in a group that stays global: AD lets a global group hold only accounts of its own domain
 * (Microsoft's "Group scope"); domain local and universal groups hold users of every domain of the forest. Skipped
 * when its domain is another, or is not known; an AD reference that exists already is kept (key is the caller's). */
static int check_user_domain(ctx *c, const desired *d, const gb_member_ref *m, const char *user_domain, bool *refused)
{
	const char *group_domain = d->ad ? gb_ad_dn_domain(d->ad->dn) : NULL;
	char why[1400], stays[600], ud[256], gd[256];

	*refused = false;
	if (scope_after(d) != SCOPE_GLOBAL)
		return 0;
	if (user_domain && *user_domain && group_domain && gb_ad_dn_text_equal(user_domain, group_domain, NULL) == 1)
		return 0;
	*refused = true;
	universal_refused(d->ad, stays, sizeof stays);
	domain_name(user_domain, ud, sizeof ud);
	domain_name(group_domain, gd, sizeof gd);
	snprintf(why, sizeof why, "AD refuses the reference: a global group holds only accounts of its own domain (the "
		 "user is of %s, this group of %s, and it stays global because %s); it is not written",
		 ud, gd, stays);
	return skip(c, d->cloud, m, "group-scope", why);
}

/* The member value and comparison key for one cloud member, or a skip note. key is a lower-case GUID for
 * existing objects, or empty for a group created in this run. */
static int resolve_member(ctx *c, const desired *d, const gb_member_ref *m, char *value, size_t n, char *key,
			  size_t kn)
{
	const gb_provision_input *in = c->in;

	value[0] = key[0] = '\0';
	if (m->kind == GB_KIND_USER) {
		const gb_cloud_user *u = gb_map_get(in->cloud_users, m->id);
		const char *domain = u && u->on_prem_object_id ? gb_map_get(in->forest_users, u->on_prem_object_id) : NULL;
		bool refused = false;
		size_t i;
		int rc;

		if (!u)
			return skip(c, d->cloud, m, "unknown-user", "the user could not be read from the tenant");
		if (!u->on_prem_object_id || !*u->on_prem_object_id)
			return skip(c, d->cloud, m, "cloud-only-user",
				    "a cloud-only user has no AD account (no onPremisesObjectIdentifier)");
		if (!domain)
			return skip(c, d->cloud, m, "other-forest",
				    "its onPremisesObjectIdentifier matches no user of this forest");
		snprintf(key, kn, "%s", u->on_prem_object_id);
		for (i = 0; key[i]; i++)
			if (key[i] >= 'A' && key[i] <= 'Z')
				key[i] = (char)(key[i] + 32);
		if ((rc = check_user_domain(c, d, m, domain, &refused)) || refused)
			return rc; /* key without value: a reference AD holds is kept */
		snprintf(value, n, "<GUID=%s>", u->on_prem_object_id);
		return 0;
	}
	if (m->kind == GB_KIND_GROUP) {
		const desired *nd = gb_map_get(c->desired_by_id, m->id);
		const gb_cloud_group *cg;
		bool refused = false;
		int rc;

		if ((nd || (in->provisioned && gb_map_get(in->provisioned, m->id))) &&
		    ((rc = check_nesting(c, d, m, nd, key, kn, &refused)) || refused))
			return rc;
		if (nd && nd->ad && nd->ad->guid) {
			snprintf(value, n, "<GUID=%s>", nd->ad->guid);
			snprintf(key, kn, "%s", nd->ad->guid);
			return 0;
		}
		if (nd) {
			snprintf(value, n, "%s", nd->dn);
			return 0;
		}
		if (in->provisioned && gb_map_get(in->provisioned, m->id)) {
			const char *guid = gb_map_get(in->provisioned, m->id);
			snprintf(value, n, "<GUID=%s>", guid);
			snprintf(key, kn, "%s", guid);
			return 0;
		}
		cg = gb_map_get(in->cloud_groups, m->id);
		if (cg && cg->on_prem_sync_enabled == GB_TRI_TRUE)
			return skip(c, d->cloud, m, "synced-group",
				    "a group synced from AD is not referenced by cloud provisioning");
		return skip(c, d->cloud, m, "group-not-in-scope",
			    "the nested group is not provisioned by this configuration; add it to the scope");
	}
	return skip(c, d->cloud, m, m->kind == GB_KIND_DEVICE ? "device"
				  : m->kind == GB_KIND_CONTACT ? "contact"
				  : m->kind == GB_KIND_SERVICE_PRINCIPAL ? "service-principal"
									 : "other-object",
		    "only users and groups are provisioned as members");
}

static int add_attr_if_changed(gb_op **op, ctx *c, const desired *d, const char *name, const char *before,
			       const char *after)
{
	int rc;

	if ((before == NULL && after == NULL) || (before && after && strcmp(before, after) == 0))
		return 0;
	if (!*op) {
		rc = gb_plan_add_op(c->plan, GB_OP_SET_ATTRS, d->cloud->id, d->dn, "attributes differ from the mappings",
				    op, c->err);
		if (rc)
			return rc;
		rc = gb_op_set_guid(*op, d->ad->guid, c->err);
		if (rc)
			return rc;
	}
	return gb_op_add_attr(*op, name, before, after, c->err);
}

/* True when a mapped cn names the AD group's cn once RFC 4514 escapes are undone. Microsoft's published cn expression
 * for converted groups unescapes commas only, so "R\+D" must not rename a group whose cn is "R+D". */
static bool same_name_escaped(const char *ad_cn, const char *mapped)
{
	gb_buf b;
	gb_ad_dn *dn = NULL;
	bool same = false;

	if (!strchr(mapped, '\\'))
		return false;
	gb_buf_init(&b, 64 * 1024);
	if (gb_buf_puts(&b, "CN=", NULL) == 0 && gb_buf_puts(&b, mapped, NULL) == 0 &&
	    gb_ad_dn_parse(gb_buf_cstr(&b), &dn, NULL) == 0 && dn->nrdns == 1 && dn->rdns[0].navas == 1)
		same = strcmp(dn->rdns[0].avas[0].value, ad_cn) == 0;
	gb_ad_dn_free(dn);
	gb_buf_free(&b);
	return same;
}

/* A new group: one create operation carrying every attribute written. */
static int plan_create(ctx *c, const desired *d)
{
	const gb_cloud_group *g = d->cloud;
	gb_op *op = NULL;
	char gt[24];
	int rc;

	snprintf(gt, sizeof(gt), "%ld", GB_GROUP_TYPE_UNIVERSAL_SECURITY);
	rc = gb_plan_add_op(c->plan, GB_OP_CREATE_GROUP, g->id, d->dn, "cloud group in scope has no AD group", &op,
			    c->err);
	if (!rc)
		rc = gb_op_add_attr(op, "cn", NULL, d->cn, c->err);
	if (!rc)
		rc = gb_op_add_attr(op, "groupType", NULL, gt, c->err);
	if (!rc && d->description)
		rc = gb_op_add_attr(op, "description", NULL, d->description, c->err);
	if (!rc && g->display_name)
		rc = gb_op_add_attr(op, "displayName", NULL, g->display_name, c->err);
	if (!rc)
		rc = gb_op_add_attr(op, GB_DIRECTORY_ANCHOR_ATTR, NULL, d->anchor, c->err);
	if (!rc)
		rc = gb_op_add_attr(op, "adminDescription", NULL, d->anchor, c->err);
	if (!rc && d->sam)
		rc = gb_op_add_attr(op, "sAMAccountName", NULL, d->sam, c->err);
	return rc;
}

/* A matched group in another container: a move, or a warning (move_on_container_change = no). */
static int plan_move(ctx *c, const desired *d)
{
	const gb_ad_group *ad = d->ad;
	char *parent = NULL;
	gb_op *op = NULL;
	gb_error e;
	int rc = 0;

	if (gb_ad_dn_parent(ad->dn, &parent, &e) == GB_ENOMEM)
		return gb_error_set(c->err, GB_ENOMEM, "out of memory");
	if (parent && gb_ad_dn_text_equal(parent, d->container, &e) == 0) {
		if (c->in->move_on_container_change) {
			rc = gb_plan_add_op(c->plan, GB_OP_MOVE, d->cloud->id, ad->dn, "the container mapping changed", &op,
					    c->err);
			if (!rc)
				rc = gb_op_set_guid(op, ad->guid, c->err);
			if (!rc)
				rc = gb_op_set_rdn(op, NULL, d->container, c->err);
		} else {
			rc = gb_plan_note(c->plan, GB_NOTE_WARNING, d->cloud->id, NULL, "container-changed", c->err,
					  "group %s is in %s but the mapping gives %s; it is not moved "
					  "(move_on_container_change = no)",
					  d->cloud->id, parent, d->container);
		}
	}
	free(parent);
	return rc;
}

/* A matched group: its attributes that differ set, then a move and a rename where the mappings say so. */
static int plan_update(ctx *c, const desired *d)
{
	const gb_cloud_group *g = d->cloud;
	const gb_ad_group *ad = d->ad;
	gb_op *op = NULL;
	char before_gt[24], gt[24];
	int rc;

	snprintf(gt, sizeof(gt), "%ld", GB_GROUP_TYPE_UNIVERSAL_SECURITY);
	snprintf(before_gt, sizeof(before_gt), "%ld", ad->group_type);
	rc = add_attr_if_changed(&op, c, d, "description", ad->description, d->description);
	if (!rc)
		rc = add_attr_if_changed(&op, c, d, "displayName", ad->display_name, g->display_name);
	if (!rc)
		rc = add_attr_if_changed(&op, c, d, GB_DIRECTORY_ANCHOR_ATTR, ad->anchor, d->anchor);
	if (!rc)
		rc = add_attr_if_changed(&op, c, d, "adminDescription", ad->admin_description, d->anchor);
	/* sAMAccountName is written at creation only: renaming an existing account name breaks scripts and
	 * references by name, and a generated one (RandomString) would change on every run. */
	if (!rc && ad->group_type != GB_GROUP_TYPE_UNIVERSAL_SECURITY) {
		char why[600];

		if (universal_refused(ad, why, sizeof why))
			rc = gb_plan_note(c->plan, GB_NOTE_GROUP_ERROR, g->id, NULL, "cannot-be-universal", c->err,
					  "group %s: AD refuses to make AD group %s universal, so its groupType is left as "
					  "it is: %s",
					  g->id, ad->dn, why);
		else
			rc = add_attr_if_changed(&op, c, d, "groupType", before_gt, gt);
	}
	if (!rc)
		rc = plan_move(c, d);
	if (!rc && ad->cn && strcmp(ad->cn, d->cn) != 0 && !same_name_escaped(ad->cn, d->cn)) {
		char *rdn = NULL;

		rc = gb_ad_dn_build("CN", d->cn, NULL, &rdn, c->err);
		if (!rc)
			rc = gb_plan_add_op(c->plan, GB_OP_RENAME, g->id, ad->dn, "the cn mapping gives a new name", &op,
					    c->err);
		if (!rc)
			rc = gb_op_set_guid(op, ad->guid, c->err);
		if (!rc)
			rc = gb_op_set_rdn(op, rdn, NULL, c->err);
		if (!rc)
			rc = gb_op_add_attr(op, "cn", ad->cn, d->cn, c->err);
		free(rdn);
	}
	return rc;
}

/* The cloud members AD lacks (want gets every member provisioned; *provisioned counts them). */
static int plan_adds(ctx *c, const desired *d, gb_map *want, const gb_map *have, size_t *provisioned)
{
	const gb_cloud_group *g = d->cloud;
	gb_op *adds = NULL;
	char value[1024], key[128];
	size_t i;
	int rc = 0;

	*provisioned = 0;
	for (i = 0; !rc && i < g->nmembers; i++) {
		rc = resolve_member(c, d, &g->members[i], value, sizeof(value), key, sizeof(key));
		if (!rc && !value[0] && key[0])
			rc = gb_map_set(want, key, (void *)1, c->err); /* skipped, but a reference AD has is kept */
		if (rc || !value[0])
			continue;
		if (key[0]) {
			if (gb_map_get(want, key))
				continue; /* a member listed twice */
			(*provisioned)++;
			rc = gb_map_set(want, key, (void *)1, c->err);
			if (rc || gb_map_get(have, key))
				continue;
		} else {
			(*provisioned)++;
		}
		if (!adds) {
			rc = gb_plan_add_op(c->plan, GB_OP_ADD_MEMBERS, g->id, d->dn, "members in the cloud group", &adds,
					    c->err);
			if (!rc && d->ad)
				rc = gb_op_set_guid(adds, d->ad->guid, c->err);
		}
		if (!rc)
			rc = gb_op_add_value(adds, value, c->err);
	}
	return rc;
}

/* Authoritative membership: the AD members the cloud group lacks, but only those provisioning could have written
 * (users of this forest and anchored groups). Contacts, computers, foreign principals and groups synced from AD are
 * kept. */
static int plan_removes(ctx *c, const desired *d, const gb_map *want)
{
	const gb_ad_group *ad = d->ad;
	gb_op *removes = NULL;
	char value[128];
	size_t i;
	int rc = 0;

	for (i = 0; !rc && ad && c->in->authoritative && i < ad->nmembers; i++) {
		if (gb_map_get(want, ad->member_guids[i]))
			continue;
		if (!gb_map_get(c->in->forest_users, ad->member_guids[i]) &&
		    !gb_map_get(c->anchored_guids, ad->member_guids[i])) {
			rc = gb_plan_note(c->plan, GB_NOTE_WARNING, d->cloud->id, ad->member_guids[i], "kept-member", c->err,
					  "AD member <GUID=%s> of group %s is kept: it is neither a user of this forest nor a "
					  "provisioned group, so provisioning does not remove it",
					  ad->member_guids[i], d->cloud->id);
			continue;
		}
		if (!removes) {
			rc = gb_plan_add_op(c->plan, GB_OP_REMOVE_MEMBERS, d->cloud->id, d->dn,
					    "AD members that the cloud group does not have (membership = authoritative)",
					    &removes, c->err);
			if (!rc)
				rc = gb_op_set_guid(removes, ad->guid, c->err);
		}
		snprintf(value, sizeof(value), "<GUID=%s>", ad->member_guids[i]);
		if (!rc)
			rc = gb_op_add_value(removes, value, c->err);
	}
	return rc;
}

/* Pass 2: members and the operations for one provisioned group. */
static int plan_group(ctx *c, const desired *d)
{
	const gb_ad_group *ad = d->ad;
	gb_map *want = NULL, *have = NULL;
	size_t i, provisioned = 0;
	int rc;

	if (ad && !ad->members_read)
		return note_group_error(c, d->cloud, "members-not-read",
					"the AD group's members could not be read completely; nothing is changed");
	rc = gb_map_new(GB_MAP_ICASE, &want, c->err);
	if (!rc)
		rc = gb_map_new(GB_MAP_ICASE, &have, c->err);
	for (i = 0; !rc && ad && i < ad->nmembers; i++)
		rc = gb_map_set(have, ad->member_guids[i], (void *)1, c->err);
	if (!rc)
		rc = ad ? plan_update(c, d) : plan_create(c, d);
	if (!rc)
		rc = plan_adds(c, d, want, have, &provisioned);
	if (!rc)
		rc = plan_removes(c, d, want);
	if (!rc)
		c->plan->groups[d->plan_group].nmembers = provisioned;
	gb_map_free(want);
	gb_map_free(have);
	return rc;
}

static int plan_deletes(ctx *c)
{
	const char *const *id;
	char anchor[GB_ANCHOR_MAX];
	int rc = 0;

	for (id = c->in->hard_deleted; !rc && id && *id; id++) {
		const gb_ad_group *ad;
		gb_op *op;

		if (gb_anchor_format(*id, anchor, sizeof(anchor)))
			continue;
		ad = gb_map_get(c->in->ad_by_anchor, anchor);
		if (!ad)
			continue; /* never provisioned, or already gone: nothing of ours to delete */
		if (c->in->ad_anchor_dups && gb_map_get(c->in->ad_anchor_dups, anchor)) {
			rc = gb_plan_note(c->plan, GB_NOTE_GROUP_ERROR, *id, NULL, "match-conflict", c->err,
					  "group %s: two live AD groups carry its anchor %s; neither is deleted", *id, anchor);
			continue;
		}
		rc = gb_plan_add_op(c->plan, GB_OP_DELETE_GROUP, *id, ad->dn, "the cloud group was deleted for good",
				    &op, c->err);
		if (!rc)
			rc = gb_op_set_guid(op, ad->guid, c->err);
		if (!rc)
			rc = gb_op_add_attr(op, GB_DIRECTORY_ANCHOR_ATTR, ad->anchor, NULL, c->err);
	}
	for (id = c->in->left_scope; !rc && id && *id; id++) {
		const gb_ad_group *ad;
		gb_op *op;

		if (gb_anchor_format(*id, anchor, sizeof(anchor)) || in_list(c->in->hard_deleted, *id))
			continue;
		ad = gb_map_get(c->in->ad_by_anchor, anchor);
		if (!ad)
			continue;
		rc = gb_plan_add_op(c->plan, GB_OP_UNMANAGE, *id, ad->dn,
				    "the group left management (soft delete, out of scope, or SOA rollback): the AD "
				    "group is kept",
				    &op, c->err);
		if (!rc)
			rc = gb_op_set_guid(op, ad->guid, c->err);
		if (!rc)
			rc = gb_plan_note(c->plan, GB_NOTE_GROUP_UNMANAGED, *id, NULL, "left-management", c->err,
					  "group %s left management; AD group %s is kept and no longer changed", *id, ad->dn);
	}
	return rc;
}

/* Whether op (the members added to a new group) names only objects that exist before this run (<GUID=...> values)
 * or groups whose creates are already in the sorted plan (their DNs, keys of done). A value naming a group created in
 * this run is its DN, which exists only once that create has run. */
static bool names_ready(const gb_op *op, const gb_map *done)
{
	size_t i;

	for (i = 0; i < op->nvalues; i++)
		if (strncmp(op->values[i], "<GUID=", 6) != 0 && !gb_map_get(done, op->values[i]))
			return false;
	return true;
}

/* One round of placing creates into sorted: a create whose members are ready (names_ready) goes with them right
 * after it, so that the two can go to AD as one add; one whose members name a group not placed yet waits for a later
 * round, unless last (a cycle of new groups naming each other): then it goes alone and its members wait in rank 1
 * for every create. *placed: whether the round placed any. */
static int place_creates(const gb_plan *plan, gb_op *sorted, bool *taken, size_t *n, gb_map *done, bool last,
			 bool *placed, gb_error *err)
{
	size_t i;
	int rc = 0;

	*placed = false;
	for (i = 0; !rc && i < plan->nops; i++) {
		const gb_op *op = &plan->ops[i], *next = i + 1 < plan->nops ? &plan->ops[i + 1] : NULL;
		bool members = next && next->kind == GB_OP_ADD_MEMBERS && op->object_id && next->object_id &&
			       strcmp(op->object_id, next->object_id) == 0 && !taken[i + 1];
		bool ready = members && names_ready(next, done);

		if (op->kind != GB_OP_CREATE_GROUP || taken[i] || (members && !ready && !last))
			continue;
		sorted[(*n)++] = *op;
		taken[i] = *placed = true;
		if (ready) {
			sorted[(*n)++] = *next;
			taken[i + 1] = true;
		}
		if (op->target)
			rc = gb_map_set(done, op->target, (void *)1, err);
	}
	return rc;
}

/* Creates first, so that a member value naming a group created in this run (by DN) exists when it is added;
 * deletes and stop-managing last. A new group's members follow its create at once when they name only objects that
 * already exist or groups created before it, so that the two go to AD as one add, as an LDIF that creates nested
 * groups first would (the creates are placed in rounds: the groups that name no new group, then those that name only
 * groups placed already, ...). Stable within each rank and round, so a group's own operations keep their order. */
static int order_ops(gb_plan *plan, gb_error *err)
{
	gb_op *sorted;
	bool *taken, placed = true;
	gb_map *done = NULL;
	size_t i, n = 0;
	int rank, rc;

	if (plan->nops < 2)
		return 0;
	sorted = malloc(plan->nops * sizeof(gb_op));
	taken = calloc(plan->nops, sizeof(bool));
	rc = sorted && taken ? gb_map_new(GB_MAP_ICASE, &done, err) : gb_error_set(err, GB_ENOMEM, "out of memory");
	while (!rc && placed)
		rc = place_creates(plan, sorted, taken, &n, done, false, &placed, err);
	if (!rc)
		rc = place_creates(plan, sorted, taken, &n, done, true, &placed, err);
	for (rank = 1; !rc && rank < 3; rank++)
		for (i = 0; i < plan->nops; i++) {
			gb_op_kind k = plan->ops[i].kind;
			int r = k == GB_OP_CREATE_GROUP ? 0 : (k == GB_OP_DELETE_GROUP || k == GB_OP_UNMANAGE) ? 2 : 1;

			if (r == rank && !taken[i]) {
				sorted[n++] = plan->ops[i];
				taken[i] = true;
			}
		}
	gb_map_free(done);
	free(taken);
	if (rc) {
		free(sorted);
		return rc;
	}
	free(plan->ops);
	plan->ops = sorted;
	plan->ops_cap = plan->nops;
	return 0;
}

int gb_provision_plan(const gb_provision_input *in, gb_plan **out, gb_error *err)
{
	ctx c;
	size_t i;
	int rc;

	*out = NULL;
	memset(&c, 0, sizeof(c));
	c.in = in;
	c.err = err;
	rc = gb_plan_new(&c.plan, err);
	if (!rc)
		rc = gb_map_new(GB_MAP_ICASE, &c.desired_by_id, err);
	if (!rc)
		rc = gb_map_new(GB_MAP_ICASE, &c.anchored_guids, err);
	if (!rc)
		rc = gb_map_new(GB_MAP_ICASE, &c.names, err);
	if (!rc) {
		size_t pos = 0;
		const char *key;
		void *v;
		while (!rc && gb_map_next(in->ad_by_anchor, &pos, &key, &v))
			if (((const gb_ad_group *)v)->guid)
				rc = gb_map_set(c.anchored_guids, ((const gb_ad_group *)v)->guid, (void *)1, err);
		pos = 0;
		while (!rc && in->provisioned && gb_map_next(in->provisioned, &pos, &key, &v))
			rc = gb_map_set(c.anchored_guids, (const char *)v, (void *)1, err);
	}
	if (!rc && in->ngroups) {
		c.items = calloc(in->ngroups, sizeof(desired));
		if (!c.items)
			rc = gb_error_set(err, GB_ENOMEM, "out of memory");
	}
	for (i = 0; !rc && i < in->ngroups; i++) {
		if (in_list(in->hard_deleted, in->groups[i]->id) || in_list(in->left_scope, in->groups[i]->id))
			continue;
		rc = prepare(&c, in->groups[i]);
	}
	for (i = 0; !rc && i < c.nitems; i++)
		rc = plan_group(&c, &c.items[i]);
	if (!rc)
		rc = plan_deletes(&c);
	if (!rc)
		rc = order_ops(c.plan, err);
	for (i = 0; i < c.nitems; i++)
		desired_clear(&c.items[i]);
	free(c.items);
	gb_map_free(c.desired_by_id);
	gb_map_free(c.anchored_guids);
	gb_map_free(c.names);
	if (rc) {
		gb_plan_free(c.plan);
		return rc;
	}
	*out = c.plan;
	return 0;
}
