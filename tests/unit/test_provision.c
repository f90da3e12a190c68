/* Unit tests of the provisioning rules: the source-of-authority and nesting tables row by row, limits, naming,
 * matching, membership differences, deletes. Pure data in, plan out: no servers. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/provision.h"
#include "groupbridge/util.h"

#define MAXG 16
#define MAXU 16

/* A small world: cloud groups and users, forest users, AD groups. */
static gb_cloud_group groups[MAXG];
static gb_cloud_group *scope[MAXG];
static size_t ngroups, nscope;
static gb_cloud_user users[MAXU];
static size_t nusers;
static gb_ad_group ad[MAXG];
static size_t nad;
static gb_map *cloud_groups, *cloud_users, *forest_users, *by_anchor, *by_sid, *by_dn;
static gb_provision_input in;
static gb_plan *plans[4]; /* the plans a test made (plan()), freed after it */
static size_t nplans;

static int mapping(void *ctx, gb_mapping_field f, const gb_cloud_group *g, char **out, gb_error *err)
{
	char buf[256];

	(void)ctx;
	*out = NULL;
	switch (f) {
	case GB_MAPPING_CN:
		if (g->display_name && strcmp(g->display_name, "explode") == 0)
			return gb_error_set(err, GB_EINVAL, "Mid: start beyond the end");
		if (g->group_dn_ext && strncmp(g->group_dn_ext, "cn:", 3) == 0) {
			*out = gb_strdup(g->group_dn_ext + 3); /* a cn mapping that gives the name as it is */
			return 0;
		}
		if (g->group_dn_ext && strcmp(g->group_dn_ext, "escaped-cn") == 0) {
			*out = gb_strdup("R\\+D \\\"Lab\\\""); /* as Microsoft's cn expression leaves it: R\+D \"Lab\" */
			return 0;
		}
		snprintf(buf, sizeof(buf), "%s_%s", g->display_name ? g->display_name : "", g->id);
		break;
	case GB_MAPPING_CONTAINER: snprintf(buf, sizeof(buf), "OU=Groups,DC=test,DC=example"); break;
	case GB_MAPPING_DESCRIPTION:
		if (!g->description)
			return 0;
		if (strcmp(g->description, "empty") == 0) {
			*out = gb_strdup("");
			return 0;
		}
		snprintf(buf, sizeof(buf), "%s", g->description);
		break;
	case GB_MAPPING_SAM:
		if (g->description && strncmp(g->description, "sam:", 4) == 0) {
			*out = gb_strdup(g->description + 4);
			return 0;
		}
		if (!g->description || strcmp(g->description, "with-sam") != 0)
			return 0;
		snprintf(buf, sizeof(buf), "sam-%s", g->id);
		break;
	}
	*out = gb_strdup(buf);
	return 0;
}

static void setup(void)
{
	memset(groups, 0, sizeof(groups));
	memset(users, 0, sizeof(users));
	memset(ad, 0, sizeof(ad));
	ngroups = nscope = nusers = nad = nplans = 0;
	cr_assert_eq(gb_map_new(GB_MAP_ICASE, &cloud_groups, NULL), 0);
	cr_assert_eq(gb_map_new(GB_MAP_ICASE, &cloud_users, NULL), 0);
	cr_assert_eq(gb_map_new(GB_MAP_ICASE, &forest_users, NULL), 0);
	cr_assert_eq(gb_map_new(GB_MAP_ICASE, &by_anchor, NULL), 0);
	cr_assert_eq(gb_map_new(GB_MAP_ICASE, &by_sid, NULL), 0);
	cr_assert_eq(gb_map_new(GB_MAP_ICASE, &by_dn, NULL), 0);
	memset(&in, 0, sizeof(in));
	in.groups = scope;
	in.cloud_groups = cloud_groups;
	in.cloud_users = cloud_users;
	in.forest_users = forest_users;
	in.ad_by_anchor = by_anchor;
	in.ad_by_sid = by_sid;
	in.ad_by_dn = by_dn;
	in.map = mapping;
	in.authoritative = true;
}

static void teardown(void)
{
	while (nplans)
		gb_plan_free(plans[--nplans]);
	gb_map_free(cloud_groups);
	gb_map_free(cloud_users);
	gb_map_free(forest_users);
	gb_map_free(by_anchor);
	gb_map_free(by_sid);
	gb_map_free(by_dn);
	for (size_t i = 0; i < ngroups; i++) {
		for (size_t j = 0; j < groups[i].nmembers; j++)
			free(groups[i].members[j].id);
		free(groups[i].members);
	}
	for (size_t i = 0; i < nad; i++) {
		for (size_t j = 0; j < ad[i].nmembers; j++)
			free(ad[i].member_guids[j]);
		free(ad[i].member_guids);
	}
}

TestSuite(provision, .init = setup, .fini = teardown);

/* A cloud security group; in_scope adds it to the configuration's scope. */
static gb_cloud_group *cloud_group(const char *id, const char *name, int in_scope)
{
	gb_cloud_group *g = &groups[ngroups++];

	g->id = (char *)id;
	g->display_name = (char *)name;
	g->security_enabled = GB_TRI_TRUE;
	g->mail_enabled = GB_TRI_FALSE;
	g->on_prem_sync_enabled = GB_TRI_UNKNOWN;
	g->is_cloud_managed = GB_TRI_UNKNOWN;
	g->members_read = true;
	gb_map_set(cloud_groups, id, g, NULL);
	if (in_scope)
		scope[nscope++] = g;
	in.ngroups = nscope;
	return g;
}

/* A user of domain (the DN of its domain naming context) of this forest; guid NULL makes it cloud-only; domain NULL
 * leaves it out of the forest. */
static void user_of(const char *id, const char *guid, const char *domain)
{
	gb_cloud_user *u = &users[nusers++];

	u->id = (char *)id;
	u->on_prem_object_id = (char *)guid;
	gb_map_set(cloud_users, id, u, NULL);
	if (guid && domain)
		gb_map_set(forest_users, guid, (void *)domain, NULL);
}

/* A user; guid NULL makes it cloud-only; in_forest puts its GUID among the users of this forest's domain
 * DC=test,DC=example, the domain of the test's groups. */
static void user(const char *id, const char *guid, int in_forest)
{
	user_of(id, guid, in_forest ? "DC=test,DC=example" : NULL);
}

static void member(gb_cloud_group *g, gb_object_kind k, const char *id)
{
	cr_assert_eq(gb_cloud_group_add_member(g, k, id, NULL), 0);
}

static gb_ad_group *ad_group(const char *dn, const char *guid, const char *cn, const char *anchor)
{
	gb_ad_group *a = &ad[nad++];

	a->dn = (char *)dn;
	a->guid = (char *)guid;
	a->cn = (char *)cn;
	a->anchor = (char *)anchor;
	a->admin_description = (char *)anchor;
	a->group_type = GB_GROUP_TYPE_UNIVERSAL_SECURITY;
	a->members_read = true;
	char *key = NULL;

	if (anchor)
		gb_map_set(by_anchor, anchor, a, NULL);
	cr_assert_eq(gb_provision_dn_key(dn, &key, NULL), 0);
	gb_map_set(by_dn, key, a, NULL);
	free(key);
	return a;
}

/* The AD group provisioning made for cloud group id named name: CN=<name>_<id> in OU=Groups, anchored Group_<id>,
 * with the GUID bbbbbbbb-0000-0000-0000-00000000000<n>. */
static gb_ad_group *provisioned(const char *name, const char *id, int n)
{
	static char text[MAXG][4][96];
	char(*t)[96] = text[nad];

	snprintf(t[0], sizeof(t[0]), "CN=%s_%s,OU=Groups,DC=test,DC=example", name, id);
	snprintf(t[1], sizeof(t[1]), "bbbbbbbb-0000-0000-0000-%012d", n);
	snprintf(t[2], sizeof(t[2]), "%s_%s", name, id);
	snprintf(t[3], sizeof(t[3]), "Group_%s", id);
	return ad_group(t[0], t[1], t[2], t[3]);
}

/* The plan for the input as the test set it up; it is freed after the test. */
static gb_plan *plan(void)
{
	gb_plan *p;
	gb_error err;

	cr_assert_lt(nplans, sizeof(plans) / sizeof(plans[0]));
	cr_assert_eq(gb_provision_plan(&in, &p, &err), 0, "%s", err.msg);
	plans[nplans++] = p;
	return p;
}

static const gb_op *find_op(const gb_plan *p, gb_op_kind k, const char *id)
{
	for (size_t i = 0; i < p->nops; i++)
		if (p->ops[i].kind == k && p->ops[i].object_id && strcmp(p->ops[i].object_id, id) == 0)
			return &p->ops[i];
	return NULL;
}

static const gb_note *find_note(const gb_plan *p, const char *code, const char *subject)
{
	for (size_t i = 0; i < p->nnotes; i++)
		if (strcmp(p->notes[i].code, code) == 0 && (!subject || (p->notes[i].subject_id &&
									  strcmp(p->notes[i].subject_id, subject) == 0)))
			return &p->notes[i];
	return NULL;
}

static bool has_value(const gb_op *op, const char *v)
{
	for (size_t i = 0; op && i < op->nvalues; i++)
		if (strcmp(op->values[i], v) == 0)
			return true;
	return false;
}

/* One operation a plan should hold: its kind and its object. */
typedef struct want_op {
	gb_op_kind kind;
	const char *object_id;
} want_op;

/* The plan holds exactly the n operations want, in that order. */
static void assert_ops(const gb_plan *p, const want_op *want, size_t n)
{
	cr_assert_eq(p->nops, n);
	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(p->ops[i].kind, want[i].kind, "operation %zu", i);
		cr_assert_str_eq(p->ops[i].object_id, want[i].object_id, "operation %zu", i);
	}
}

/* --- the source-of-authority table (groups-only configuration) --- */

Test(provision, soa_cloud_group_with_onprem_members_gets_all_references)
{
	gb_cloud_group *g = cloud_group("g1", "Sales", 1);
	gb_plan *p;
	const gb_op *create, *add;

	user("u1", "11111111-1111-1111-1111-111111111111", 1);
	user("u2", "22222222-2222-2222-2222-222222222222", 1);
	member(g, GB_KIND_USER, "u1");
	member(g, GB_KIND_USER, "u2");
	p = plan();
	create = find_op(p, GB_OP_CREATE_GROUP, "g1");
	cr_assert_not_null(create);
	cr_assert_str_eq(create->target, "CN=Sales_g1,OU=Groups,DC=test,DC=example");
	add = find_op(p, GB_OP_ADD_MEMBERS, "g1");
	cr_assert_eq(add->nvalues, 2);
	cr_assert(has_value(add, "<GUID=11111111-1111-1111-1111-111111111111>"));
	cr_assert_eq(p->nnotes, 0);
}

Test(provision, soa_cloud_members_only_gets_no_references)
{
	gb_cloud_group *g = cloud_group("g1", "Sales", 1);
	gb_plan *p;

	user("c1", NULL, 0);
	user("c2", NULL, 0);
	member(g, GB_KIND_USER, "c1");
	member(g, GB_KIND_USER, "c2");
	p = plan();
	cr_assert_not_null(find_op(p, GB_OP_CREATE_GROUP, "g1"));
	cr_assert_null(find_op(p, GB_OP_ADD_MEMBERS, "g1"));
	cr_assert_not_null(find_note(p, "cloud-only-user", "c1"));
	cr_assert_not_null(find_note(p, "cloud-only-user", "c2"));
}

Test(provision, soa_mixed_members_gets_only_onprem_references)
{
	gb_cloud_group *g = cloud_group("g1", "Sales", 1);
	gb_plan *p;
	const gb_op *add;

	user("c1", NULL, 0);
	user("u1", "11111111-1111-1111-1111-111111111111", 1);
	member(g, GB_KIND_USER, "c1");
	member(g, GB_KIND_USER, "u1");
	p = plan();
	add = find_op(p, GB_OP_ADD_MEMBERS, "g1");
	cr_assert_eq(add->nvalues, 1);
	cr_assert(has_value(add, "<GUID=11111111-1111-1111-1111-111111111111>"));
	cr_assert_not_null(find_note(p, "cloud-only-user", "c1"));
	cr_assert_eq(p->groups[0].nmembers, 1, "the plan counts the members the group will have");
}

Test(provision, soa_empty_group_is_provisioned_empty)
{
	gb_plan *p;

	cloud_group("g1", "Empty", 1);
	p = plan();
	cr_assert_not_null(find_op(p, GB_OP_CREATE_GROUP, "g1"));
	cr_assert_eq(p->nops, 1);
}

Test(provision, soa_onprem_group_is_not_provisioned)
{
	gb_cloud_group *g = cloud_group("g1", "Synced", 1);
	gb_plan *p;

	g->on_prem_sync_enabled = GB_TRI_TRUE;
	p = plan();
	cr_assert_eq(p->nops, 0);
	cr_assert_not_null(find_note(p, "synced-from-ad", NULL));
}

Test(provision, unsupported_kinds_are_noted_and_never_written)
{
	gb_plan *p;

	cloud_group("m1", "Mail", 1)->mail_enabled = GB_TRI_TRUE;
	cloud_group("u1", "M365", 1)->unified = true;
	cloud_group("d1", "Distribution", 1)->security_enabled = GB_TRI_FALSE;
	p = plan();
	cr_assert_eq(p->nops, 0);
	cr_assert_not_null(find_note(p, "mail-enabled", NULL));
	cr_assert_not_null(find_note(p, "microsoft-365-group", NULL));
	cr_assert_not_null(find_note(p, "not-security-enabled", NULL));
}

Test(provision, users_of_another_forest_devices_contacts_are_skipped)
{
	gb_cloud_group *g = cloud_group("g1", "Sales", 1);
	gb_plan *p;

	user("f2", "33333333-3333-3333-3333-333333333333", 0);
	member(g, GB_KIND_USER, "f2");
	member(g, GB_KIND_DEVICE, "dev1");
	member(g, GB_KIND_CONTACT, "con1");
	member(g, GB_KIND_SERVICE_PRINCIPAL, "sp1");
	p = plan();
	cr_assert_null(find_op(p, GB_OP_ADD_MEMBERS, "g1"));
	cr_assert_not_null(find_note(p, "other-forest", "f2"));
	cr_assert_not_null(find_note(p, "device", "dev1"));
	cr_assert_not_null(find_note(p, "contact", "con1"));
	cr_assert_not_null(find_note(p, "service-principal", "sp1"));
}

/* --- the nested-group table --- */

Test(provision, nested_cloud_group_in_scope_is_referenced_never_expanded)
{
	gb_cloud_group *parent = cloud_group("p1", "Parent", 1), *child = cloud_group("c1", "Child", 1);
	gb_plan *p;
	const gb_op *add;

	user("u1", "11111111-1111-1111-1111-111111111111", 1);
	member(child, GB_KIND_USER, "u1");
	member(parent, GB_KIND_GROUP, "c1");
	p = plan();
	add = find_op(p, GB_OP_ADD_MEMBERS, "p1");
	cr_assert_eq(add->nvalues, 1, "only the nested group, not its members");
	cr_assert(has_value(add, "CN=Child_c1,OU=Groups,DC=test,DC=example"));
	/* the nested group's create comes before the add that references it: it exists when it is referenced */
	cr_assert(find_op(p, GB_OP_CREATE_GROUP, "c1") < add);
}

Test(provision, a_new_groups_members_follow_its_create_and_the_groups_they_name_are_created_first)
{
	gb_cloud_group *parent = cloud_group("p1", "Parent", 1), *child = cloud_group("c1", "Child", 1);
	gb_plan *p;

	user("u1", "11111111-1111-1111-1111-111111111111", 1);
	member(parent, GB_KIND_USER, "u1");
	member(parent, GB_KIND_GROUP, "c1");
	member(child, GB_KIND_USER, "u1");
	member(cloud_group("o1", "Other", 1), GB_KIND_USER, "u1");
	p = plan();
	/* the child's and the other group's members exist already (<GUID=...>): right after their create; the parent's
	 * name the child by DN, so the parent's create comes after the child's, with its members right after it: each
	 * pair can go to AD as one add, as an LDIF that creates nested groups first does */
	assert_ops(p, (const want_op[]){{GB_OP_CREATE_GROUP, "c1"},
					{GB_OP_ADD_MEMBERS, "c1"},
					{GB_OP_CREATE_GROUP, "o1"},
					{GB_OP_ADD_MEMBERS, "o1"},
					{GB_OP_CREATE_GROUP, "p1"},
					{GB_OP_ADD_MEMBERS, "p1"}},
		   6);
	cr_assert(has_value(&p->ops[5], "CN=Child_c1,OU=Groups,DC=test,DC=example"));
}

Test(provision, of_new_groups_that_name_each_other_the_first_gets_its_members_after_every_create)
{
	gb_cloud_group *a = cloud_group("a1", "Alpha", 1), *b = cloud_group("b1", "Beta", 1);
	gb_plan *p;

	user("u1", "11111111-1111-1111-1111-111111111111", 1);
	member(a, GB_KIND_GROUP, "b1");
	member(b, GB_KIND_GROUP, "a1");
	member(cloud_group("o1", "Other", 1), GB_KIND_USER, "u1");
	p = plan();
	/* a cycle: the first is created alone and its members wait for every create; the second names only the first,
	 * created before it, so it goes with its members */
	assert_ops(p, (const want_op[]){{GB_OP_CREATE_GROUP, "o1"},
					{GB_OP_ADD_MEMBERS, "o1"},
					{GB_OP_CREATE_GROUP, "a1"},
					{GB_OP_CREATE_GROUP, "b1"},
					{GB_OP_ADD_MEMBERS, "b1"},
					{GB_OP_ADD_MEMBERS, "a1"}},
		   6);
	cr_assert(has_value(&p->ops[4], "CN=Alpha_a1,OU=Groups,DC=test,DC=example"));
}

Test(provision, nested_synced_group_is_not_referenced)
{
	gb_cloud_group *parent = cloud_group("p1", "Parent", 1), *synced = cloud_group("s1", "Synced", 0);
	gb_plan *p;

	synced->on_prem_sync_enabled = GB_TRI_TRUE;
	member(parent, GB_KIND_GROUP, "s1");
	p = plan();
	cr_assert_not_null(find_op(p, GB_OP_CREATE_GROUP, "p1"));
	cr_assert_null(find_op(p, GB_OP_ADD_MEMBERS, "p1"));
	cr_assert_not_null(find_note(p, "synced-group", "s1"));
}

Test(provision, nested_soa_converted_group_is_referenced_by_guid)
{
	gb_cloud_group *parent = cloud_group("p1", "Parent", 1), *conv = cloud_group("v1", "Converted", 1);
	gb_plan *p;

	conv->on_prem_sync_enabled = GB_TRI_FALSE;
	conv->is_cloud_managed = GB_TRI_TRUE;
	conv->on_prem_sid = "S-1-5-21-1-2-3-1100";
	gb_map_set(by_sid, "S-1-5-21-1-2-3-1100",
		   ad_group("CN=Converted,OU=Old,DC=test,DC=example", "aaaaaaaa-0000-0000-0000-000000000001", "Converted",
			    NULL),
		   NULL);
	member(parent, GB_KIND_GROUP, "v1");
	p = plan();
	cr_assert(has_value(find_op(p, GB_OP_ADD_MEMBERS, "p1"), "<GUID=aaaaaaaa-0000-0000-0000-000000000001>"));
	/* the converted group is matched by SID and gets the anchor stamped */
	cr_assert_not_null(find_op(p, GB_OP_SET_ATTRS, "v1"));
	cr_assert_null(find_op(p, GB_OP_CREATE_GROUP, "v1"));
}

Test(provision, nested_group_not_in_scope_is_skipped_with_advice)
{
	gb_cloud_group *parent = cloud_group("p1", "Parent", 1);
	gb_plan *p;

	cloud_group("o1", "Outside", 0);
	member(parent, GB_KIND_GROUP, "o1");
	p = plan();
	cr_assert_not_null(find_note(p, "group-not-in-scope", "o1"));
}

/* --- limits and mappings --- */

Test(provision, over_50000_members_is_that_groups_error_only)
{
	gb_cloud_group *big = cloud_group("big", "Big", 1);
	gb_plan *p;
	char id[32];

	cloud_group("ok", "Fine", 1);
	for (int i = 0; i <= GB_MAX_GROUP_MEMBERS; i++) {
		snprintf(id, sizeof(id), "u%d", i);
		member(big, GB_KIND_USER, id);
	}
	p = plan();
	cr_assert_null(find_op(p, GB_OP_CREATE_GROUP, "big"));
	cr_assert_not_null(find_note(p, "over-member-limit", NULL));
	cr_assert_not_null(find_op(p, GB_OP_CREATE_GROUP, "ok"), "the other groups go on");
}

Test(provision, exactly_50000_members_is_provisioned)
{
	gb_cloud_group *big = cloud_group("big", "Big", 1);
	gb_plan *p;
	char id[32], guid[40];

	for (int i = 0; i < GB_MAX_GROUP_MEMBERS; i++) {
		snprintf(id, sizeof(id), "u%d", i);
		member(big, GB_KIND_USER, id);
	}
	/* only two are real users here; the rest are unknown and noted, which is enough to prove the limit */
	snprintf(guid, sizeof(guid), "11111111-1111-1111-1111-111111111111");
	user("u0", guid, 1);
	p = plan();
	cr_assert_not_null(find_op(p, GB_OP_CREATE_GROUP, "big"));
	cr_assert_eq(find_op(p, GB_OP_ADD_MEMBERS, "big")->nvalues, 1);
}

Test(provision, mapping_error_is_that_groups_error)
{
	gb_plan *p;

	cloud_group("bad", "explode", 1);
	cloud_group("ok", "Fine", 1);
	p = plan();
	cr_assert_not_null(find_note(p, "mapping-error", NULL));
	cr_assert(strstr(find_note(p, "mapping-error", NULL)->message, "Mid: start beyond the end") != NULL);
	cr_assert_not_null(find_op(p, GB_OP_CREATE_GROUP, "ok"));
}

Test(provision, hostile_display_name_is_escaped_into_one_rdn)
{
	gb_plan *p;
	const gb_op *create;

	cloud_group("h1", " #Evil,OU=Domain Controllers+x=\"y\"\\<>;= ", 1);
	p = plan();
	create = find_op(p, GB_OP_CREATE_GROUP, "h1");
	cr_assert_not_null(create);
	/* RFC 4514: a leading space is escaped; '#' only when it is the first character */
	cr_assert(gb_str_has_prefix(create->target,
				    "CN=\\ #Evil\\,OU\\=Domain Controllers\\+x\\=\\\"y\\\"\\\\\\<\\>\\;\\= _h1,"),
		  "%s", create->target);
	cr_assert(strstr(create->target, ",OU=Groups,DC=test,DC=example") != NULL);
}

/* --- matching and differences --- */

/* Cloud group g1 "Sales" in scope with the forest user u1 (GUID guid) as its member, and the AD group provisioned
 * for it (display name Sales) holding the member ad_member (NULL: none); the AD group. */
static gb_ad_group *sales_with_u1(const char *guid, const char *ad_member)
{
	gb_cloud_group *g = cloud_group("g1", "Sales", 1);
	gb_ad_group *a = provisioned("Sales", "g1", 1);

	a->display_name = "Sales";
	user("u1", guid, 1);
	member(g, GB_KIND_USER, "u1");
	if (ad_member)
		gb_ad_group_add_member(a, ad_member, NULL);
	return a;
}

Test(provision, matched_group_converges_to_nothing)
{
	gb_plan *p;

	sales_with_u1("11111111-1111-1111-1111-111111111111", "11111111-1111-1111-1111-111111111111");
	p = plan();
	cr_assert_eq(p->nops, 0, "a second run with no change writes nothing");
	cr_assert_eq(p->ngroups, 1, "the converged group is still listed as provisioned");
	cr_assert_str_eq(p->groups[0].guid, "bbbbbbbb-0000-0000-0000-000000000001");
}

Test(provision, authoritative_removes_and_additive_keeps)
{
	gb_plan *p;
	const gb_op *rm;

	/* a user added by hand */
	gb_map_set(forest_users, "99999999-0000-0000-0000-000000000009", "DC=test,DC=example", NULL);
	sales_with_u1("11111111-1111-1111-1111-111111111111", "99999999-0000-0000-0000-000000000009");
	p = plan();
	rm = find_op(p, GB_OP_REMOVE_MEMBERS, "g1");
	cr_assert(has_value(rm, "<GUID=99999999-0000-0000-0000-000000000009>"));
	cr_assert_str_eq(rm->guid, "bbbbbbbb-0000-0000-0000-000000000001");
	cr_assert(has_value(find_op(p, GB_OP_ADD_MEMBERS, "g1"), "<GUID=11111111-1111-1111-1111-111111111111>"));
	in.authoritative = false;
	p = plan();
	cr_assert_null(find_op(p, GB_OP_REMOVE_MEMBERS, "g1"));
}

Test(provision, guid_case_does_not_create_false_differences)
{
	gb_plan *p;

	sales_with_u1("ABCDEF00-1111-1111-1111-111111111111", "abcdef00-1111-1111-1111-111111111111");
	p = plan();
	cr_assert_eq(p->nops, 0);
}

Test(provision, cn_change_is_a_rename_and_container_change_moves_only_when_allowed)
{
	gb_cloud_group *g = cloud_group("g1", "Renamed", 1);
	gb_ad_group *a = ad_group("CN=Sales_g1,OU=Old,DC=test,DC=example", "bbbbbbbb-0000-0000-0000-000000000001",
				  "Sales_g1", "Group_g1");
	gb_plan *p;
	const gb_op *op;

	a->display_name = "Renamed";
	p = plan();
	op = find_op(p, GB_OP_RENAME, "g1");
	cr_assert_str_eq(op->new_rdn, "CN=Renamed_g1");
	cr_assert_null(find_op(p, GB_OP_MOVE, "g1"));
	cr_assert_not_null(find_note(p, "container-changed", NULL));
	in.move_on_container_change = true;
	p = plan();
	op = find_op(p, GB_OP_MOVE, "g1");
	cr_assert_str_eq(op->new_parent, "OU=Groups,DC=test,DC=example");
	(void)g;
}

Test(provision, match_by_group_dn_extension_stamps_the_anchor)
{
	gb_cloud_group *g = cloud_group("g1", "Sales", 1);
	gb_plan *p;
	const gb_op *set;

	/* the extension spells the DN differently from AD (case, spaces, \2C for \,): still the same group */
	g->group_dn_ext = "cn=Sales\\2C EMEA,ou=groups, dc=TEST,dc=example";
	ad_group("CN=Sales\\, EMEA,OU=Groups,DC=test,DC=example", "bbbbbbbb-0000-0000-0000-000000000001",
		 "Sales_g1", NULL)
		->display_name = "Sales";
	p = plan();
	cr_assert_null(find_op(p, GB_OP_CREATE_GROUP, "g1"));
	set = find_op(p, GB_OP_SET_ATTRS, "g1");
	cr_assert_not_null(set);
	cr_assert_eq(set->nattrs, 2);
	cr_assert_str_eq(set->attrs[0].name, "msDS-ExternalDirectoryObjectId");
	cr_assert_str_eq(set->attrs[0].after, "Group_g1");
}

Test(provision, conflicting_matches_block_the_group)
{
	gb_cloud_group *g = cloud_group("g1", "Sales", 1);
	gb_plan *p;

	g->on_prem_sid = "S-1-5-21-1-2-3-1100";
	ad_group("CN=A,OU=Groups,DC=test,DC=example", "bbbbbbbb-0000-0000-0000-000000000001", "A", "Group_g1");
	gb_map_set(by_sid, "S-1-5-21-1-2-3-1100",
		   ad_group("CN=B,OU=Groups,DC=test,DC=example", "bbbbbbbb-0000-0000-0000-000000000002", "B", NULL), NULL);
	p = plan();
	cr_assert_eq(p->nops, 0);
	cr_assert_not_null(find_note(p, "match-conflict", NULL));
}

Test(provision, group_anchored_to_another_cloud_group_is_never_taken)
{
	gb_cloud_group *g = cloud_group("g1", "Sales", 1);
	gb_plan *p;

	g->group_dn_ext = "CN=Other,OU=Groups,DC=test,DC=example";
	ad_group("CN=Other,OU=Groups,DC=test,DC=example", "bbbbbbbb-0000-0000-0000-000000000003", "Other", "Group_zz");
	p = plan();
	cr_assert_eq(p->nops, 0);
	cr_assert(strstr(find_note(p, "match-conflict", NULL)->message, "Group_zz") != NULL);
}

Test(provision, incompletely_read_ad_members_change_nothing)
{
	gb_cloud_group *g = cloud_group("g1", "Sales", 1);
	gb_plan *p;

	provisioned("Sales", "g1", 1)
		->members_read = false;
	user("u1", "11111111-1111-1111-1111-111111111111", 1);
	member(g, GB_KIND_USER, "u1");
	p = plan();
	cr_assert_eq(p->nops, 0);
	cr_assert_not_null(find_note(p, "members-not-read", NULL));
}

/* --- deletes --- */

Test(provision, hard_delete_deletes_only_anchored_groups)
{
	const char *deleted[] = {"g1", "never", NULL};
	gb_plan *p;
	const gb_op *del;

	provisioned("Sales", "g1", 1);
	ad_group("CN=Manual,OU=Groups,DC=test,DC=example", "bbbbbbbb-0000-0000-0000-000000000002", "Manual", NULL);
	in.hard_deleted = deleted;
	p = plan();
	cr_assert_eq(gb_plan_count(p, GB_OP_DELETE_GROUP), 1);
	del = find_op(p, GB_OP_DELETE_GROUP, "g1");
	cr_assert_str_eq(del->guid, "bbbbbbbb-0000-0000-0000-000000000001");
}

Test(provision, leaving_scope_stops_management_without_delete)
{
	const char *left[] = {"g1", NULL};
	gb_plan *p;

	cloud_group("g1", "Sales", 1);
	provisioned("Sales", "g1", 1);
	in.left_scope = left;
	p = plan();
	cr_assert_eq(gb_plan_count(p, GB_OP_DELETE_GROUP), 0);
	cr_assert_not_null(find_op(p, GB_OP_UNMANAGE, "g1"));
	cr_assert_not_null(find_note(p, "left-management", NULL));
}

Test(provision, sam_account_name_is_written_at_creation_only)
{
	gb_cloud_group *g = cloud_group("g1", "Sales", 1), *n = cloud_group("g2", "New", 1);
	gb_ad_group *a = provisioned("Sales", "g1", 1);
	gb_plan *p;
	const gb_op *create;
	bool found = false;

	g->description = n->description = "with-sam";
	a->description = "with-sam";
	a->display_name = "Sales";
	a->sam_account_name = "old-name";
	p = plan();
	cr_assert_null(find_op(p, GB_OP_SET_ATTRS, "g1"), "an existing account name is never changed");
	create = find_op(p, GB_OP_CREATE_GROUP, "g2");
	for (size_t i = 0; i < create->nattrs; i++)
		found |= strcmp(create->attrs[i].name, "sAMAccountName") == 0 && strcmp(create->attrs[i].after, "sam-g2") == 0;
	cr_assert(found);
}

Test(provision, an_empty_mapping_result_is_no_value)
{
	gb_cloud_group *g = cloud_group("g1", "Sales", 1);
	gb_ad_group *a = provisioned("Sales", "g1", 1);
	gb_plan *p;

	g->description = "empty";
	a->display_name = "Sales";
	p = plan();
	cr_assert_eq(p->nops, 0, "an absent description in AD equals an empty mapped one");
}

Test(provision, authoritative_removal_keeps_what_provisioning_could_not_have_written)
{
	gb_cloud_group *g = cloud_group("g1", "Converted", 1), *synced = cloud_group("s1", "Synced", 0);
	gb_ad_group *a = provisioned("Converted", "g1", 1);
	gb_ad_group *other = provisioned("Team", "g2", 2);
	gb_plan *p;
	const gb_op *rm;

	(void)other;
	a->display_name = "Converted";
	synced->on_prem_sync_enabled = GB_TRI_TRUE;
	member(g, GB_KIND_GROUP, "s1");
	/* AD holds: a group synced from AD, a contact, and a group provisioning manages that the cloud dropped */
	gb_ad_group_add_member(a, "cccccccc-0000-0000-0000-000000000001", NULL);
	gb_ad_group_add_member(a, "cccccccc-0000-0000-0000-000000000002", NULL);
	gb_ad_group_add_member(a, "bbbbbbbb-0000-0000-0000-000000000002", NULL);
	p = plan();
	rm = find_op(p, GB_OP_REMOVE_MEMBERS, "g1");
	cr_assert_not_null(rm);
	cr_assert_eq(rm->nvalues, 1, "only the anchored group is removed");
	cr_assert(has_value(rm, "<GUID=bbbbbbbb-0000-0000-0000-000000000002>"));
	cr_assert_not_null(find_note(p, "kept-member", "cccccccc-0000-0000-0000-000000000001"));
	cr_assert_not_null(find_note(p, "kept-member", "cccccccc-0000-0000-0000-000000000002"));
}

Test(provision, groups_provisioned_earlier_stay_referenced_in_an_incremental_plan)
{
	gb_cloud_group *parent = cloud_group("p1", "Parent", 1);
	gb_ad_group *a = provisioned("Parent", "p1", 1);
	gb_map *earlier, *types;
	gb_plan *p;

	a->display_name = "Parent";
	member(parent, GB_KIND_GROUP, "c1"); /* in scope, provisioned earlier, not re-planned in this run */
	gb_ad_group_add_member(a, "dddddddd-0000-0000-0000-000000000001", NULL);
	cr_assert_eq(gb_map_new(GB_MAP_ICASE, &earlier, NULL), 0);
	gb_map_set(earlier, "c1", "dddddddd-0000-0000-0000-000000000001", NULL);
	cr_assert_eq(gb_map_new(GB_MAP_ICASE, &types, NULL), 0);
	gb_map_set(types, "c1", "-2147483640", NULL); /* universal, as AD holds it */
	in.provisioned = earlier;
	in.provisioned_types = types;
	p = plan();
	cr_assert_eq(p->nops, 0, "the nested reference is neither re-added nor removed");
	cr_assert_null(find_note(p, "group-not-in-scope", "c1"));
	cr_assert_null(find_note(p, "group-scope", "c1"));
	in.provisioned = in.provisioned_types = NULL;
	gb_map_free(earlier);
	gb_map_free(types);
}

Test(provision, a_cn_left_escaped_by_the_published_expression_is_not_a_rename)
{
	gb_cloud_group *g = cloud_group("g1", "Lab", 1);
	gb_ad_group *a = ad_group("CN=R\\+D \\\"Lab\\\",OU=Groups,DC=test,DC=example", "bbbbbbbb-0000-0000-0000-000000000001",
				  "R+D \"Lab\"", "Group_g1");
	gb_plan *p;

	g->group_dn_ext = "escaped-cn";
	a->display_name = "Lab";
	p = plan();
	cr_assert_null(find_op(p, GB_OP_RENAME, "g1"), "the same name, escaped, is not a rename");
	cr_assert_eq(p->nops, 0);
}

/* --- AD's own rules before the write (AD review D2-D5) --- */

static const gb_op *create_of(const gb_plan *p, const char *id)
{
	return find_op(p, GB_OP_CREATE_GROUP, id);
}

/* The note with code on group id. */
static const gb_note *group_note(const gb_plan *p, const char *code, const char *id)
{
	for (size_t i = 0; i < p->nnotes; i++)
		if (strcmp(p->notes[i].code, code) == 0 && p->notes[i].object_id && strcmp(p->notes[i].object_id, id) == 0)
			return &p->notes[i];
	return NULL;
}

/* A group of a naming test: its id and display name, its mapped name ("cn:VALUE" sets its cn, "sam:VALUE" its
 * sAMAccountName; see mapping), and the note that refuses it (NULL: it is created). */
typedef struct named_group {
	const char *id, *name;
	char *mapped;
	const char *note;
} named_group;

/* Plans the n groups g: each is created, or is not and has its note. The plan. */
static gb_plan *plan_named(const named_group *g, size_t n)
{
	gb_plan *p;

	for (size_t i = 0; i < n; i++) {
		gb_cloud_group *cg = cloud_group(g[i].id, g[i].name, 1);

		if (strncmp(g[i].mapped, "cn:", 3) == 0)
			cg->group_dn_ext = g[i].mapped;
		else
			cg->description = g[i].mapped;
	}
	p = plan();
	for (size_t i = 0; i < n; i++) {
		if (!g[i].note) {
			cr_assert_not_null(create_of(p, g[i].id), "%s is created", g[i].id);
			continue;
		}
		cr_assert_null(create_of(p, g[i].id), "%s is not created", g[i].id);
		cr_assert_not_null(group_note(p, g[i].note, g[i].id), "%s has the note %s", g[i].id, g[i].note);
	}
	return p;
}

Test(provision, a_mapped_sam_account_name_that_ad_refuses_is_that_groups_error)
{
	static const named_group g[] = {{"g1", "A", "sam:R&D/Lab", "bad-samaccountname"},
					{"g2", "B", "sam:sales.", "bad-samaccountname"},
					{"g3", "C", "sam:abcdefghijklmnopqrstuvwxyz", "bad-samaccountname"},
					{"g4", "D", "sam:Sales-EMEA", NULL}}; /* the other groups go on */
	gb_plan *p = plan_named(g, 4);
	const gb_note *n;

	n = group_note(p, "bad-samaccountname", "g1");
	cr_assert(strstr(n->message, "g1") && strstr(n->message, "'/'"), "%s", n->message);
	n = group_note(p, "bad-samaccountname", "g3");
	cr_assert(strstr(n->message, "26 characters"), "%s", n->message);
}

Test(provision, cn_over_64_utf16_units_is_refused_before_the_write)
{
	char name[160] = "cn:", ok[160] = "cn:";
	named_group g[] = {{"g1", "E", name, "cn-too-long"}, {"g2", "F", ok, NULL}}; /* 64 units fit */

	/* 32 emoji: 32 characters, 128 bytes, 64 UTF-16 units; one more is over AD's 64 */
	for (int i = 0; i < 33; i++)
		memcpy(name + 3 + 4 * i, "\xf0\x9f\x98\x80", 5);
	for (int i = 0; i < 32; i++)
		memcpy(ok + 3 + 4 * i, "\xf0\x9f\x98\x80", 5);
	plan_named(g, 2);
}

Test(provision, names_that_ad_compares_equal_collide_in_the_plan_not_at_apply)
{
	static const named_group g[] = {{"g1", "Cafe", "cn:Cafe", NULL},
					{"g2", "Café", "cn:CAFÉ", "name-collision"},
					{"g3", "X", "sam:jmuller", NULL},
					{"g4", "Y", "sam:JMüller", "name-collision"}};

	plan_named(g, 4);
}

Test(provision, a_domain_local_group_with_foreign_principals_is_not_made_universal)
{
	gb_plan *p;
	const gb_op *op;

	cloud_group("g1", "Sales", 1);
	cloud_group("g2", "Ops", 1);
	gb_ad_group *a = provisioned("Sales", "g1", 1);
	gb_ad_group *b = provisioned("Ops", "g2", 2);

	a->group_type = b->group_type = (long)(int)0x80000004u; /* domain local security */
	a->display_name = "Renamed";
	a->nforeign = 1;
	b->display_name = "Ops";
	p = plan();
	cr_assert_not_null(group_note(p, "cannot-be-universal", "g1"));
	op = find_op(p, GB_OP_SET_ATTRS, "g1");
	cr_assert_not_null(op, "its other changes go on");
	for (size_t i = 0; i < op->nattrs; i++)
		cr_assert_str_neq(op->attrs[i].name, "groupType");
	op = find_op(p, GB_OP_SET_ATTRS, "g2");
	cr_assert_not_null(op, "without foreign principals the group is made universal");
	cr_assert_null(group_note(p, "cannot-be-universal", "g2"));
}

Test(provision, a_group_dn_extension_finds_the_group_as_ad_compares_names)
{
	gb_cloud_group *g = cloud_group("g1", "Finance", 1);
	gb_plan *p;

	/* D5: the extension spells the OU with another non-ASCII case than AD holds it */
	g->group_dn_ext = "CN=Finanz,OU=ZÜRICH,DC=test,DC=example";
	ad_group("CN=Finanz,OU=Zürich,DC=test,DC=example", "bbbbbbbb-0000-0000-0000-000000000001", "Finanz", NULL)
		->display_name = "Finance";
	p = plan();
	cr_assert_null(find_op(p, GB_OP_CREATE_GROUP, "g1"), "the AD group is found, not created again");
	cr_assert_not_null(find_op(p, GB_OP_SET_ATTRS, "g1"));
}

Test(provision, two_live_groups_with_one_anchor_are_reported_never_picked)
{
	gb_cloud_group *g = cloud_group("g1", "Sales", 1), *h = cloud_group("g2", "Ops", 1);
	gb_ad_group *a = provisioned("Sales", "g1", 1);
	gb_ad_group *b = ad_group("CN=Sales restored,OU=Groups,DC=test,DC=example",
				  "bbbbbbbb-0000-0000-0000-000000000002", "Sales restored", NULL);
	gb_map *dups = NULL;
	const gb_note *n;
	gb_plan *p;

	/* D6: a Recycle Bin restore next to the re-created group: both carry Group_g1 */
	b->anchor = b->admin_description = "Group_g1";
	a->display_name = "Sales";
	cr_assert_eq(gb_map_new(GB_MAP_ICASE, &dups, NULL), 0);
	gb_map_set(dups, "Group_g1", b, NULL);
	in.ad_anchor_dups = dups;
	(void)g;
	(void)h;
	p = plan();
	n = group_note(p, "match-conflict", "g1");
	cr_assert_not_null(n);
	cr_assert(strstr(n->message, "CN=Sales_g1") && strstr(n->message, "CN=Sales restored"), "%s", n->message);
	for (size_t i = 0; i < p->nops; i++)
		cr_assert(!p->ops[i].object_id || strcmp(p->ops[i].object_id, "g1") != 0, "no operation on g1");
	cr_assert_not_null(create_of(p, "g2"), "the run goes on with the other groups");
	/* nor is either deleted when the cloud group is gone for good */
	{
		const char *gone[] = {"g1", NULL};

		in.hard_deleted = gone;
		p = plan();
		cr_assert_eq(gb_plan_count(p, GB_OP_DELETE_GROUP), 0);
		cr_assert_not_null(group_note(p, "match-conflict", "g1"));
			in.hard_deleted = NULL;
	}
	in.ad_anchor_dups = NULL;
	gb_map_free(dups);
}

/* --- AD's scope rules for members (issue 16) --- */

#define GT_GLOBAL "-2147483646"
#define GT_LOCAL "-2147483644"
#define GT_UNIVERSAL "-2147483640"
#define U_SAME "11111111-1111-1111-1111-111111111111"
#define U_SIBLING "22222222-2222-2222-2222-222222222222"

/* Cloud group g1 "Sales" in scope, matched to its AD group in DC=test,DC=example, with two forest users as members:
 * u1 of the group's own domain and u2 of the sibling domain DC=emea,DC=example. */
static gb_ad_group *sales_with_two_domains(void)
{
	gb_cloud_group *g = cloud_group("g1", "Sales", 1);
	gb_ad_group *a = provisioned("Sales", "g1", 1);

	a->display_name = "Sales";
	user_of("u1", U_SAME, "DC=test,DC=example");
	user_of("u2", U_SIBLING, "dc=EMEA,dc=Example");
	member(g, GB_KIND_USER, "u1");
	member(g, GB_KIND_USER, "u2");
	return a;
}

Test(provision, a_group_that_stays_global_holds_no_user_of_another_domain)
{
	gb_ad_group *a = sales_with_two_domains();
	const gb_op *add, *rm;
	const gb_note *n;
	gb_plan *p;

	/* global, and a member of the global group Outer: AD refuses to make it universal */
	a->group_type = (long)(int)0x80000002u;
	a->scope_blocker = "CN=Outer,OU=Groups,DC=test,DC=example";
	p = plan();
	cr_assert_not_null(group_note(p, "cannot-be-universal", "g1"));
	add = find_op(p, GB_OP_ADD_MEMBERS, "g1");
	cr_assert_not_null(add, "the user of the group's own domain is added");
	cr_assert_eq(add->nvalues, 1);
	cr_assert(has_value(add, "<GUID=" U_SAME ">"));
	n = find_note(p, "group-scope", "u2");
	cr_assert_not_null(n, "the user of the sibling domain is skipped");
	cr_assert_eq(n->kind, GB_NOTE_MEMBER_SKIPPED);
	cr_assert(strstr(n->message, "EMEA.Example") && strstr(n->message, "test.example"), "%s", n->message);
	cr_assert(strstr(n->message, "CN=Outer"), "it says why the group stays global: %s", n->message);
	cr_assert_null(find_note(p, "group-scope", "u1"));

	/* domains are compared as AD compares DNs: a user whose DN spells the group's domain otherwise is added */
	user_of("u3", "33333333-3333-3333-3333-333333333333", "dc=TEST, dc=Example");
	member(&groups[0], GB_KIND_USER, "u3");
	p = plan();
	cr_assert_eq(find_op(p, GB_OP_ADD_MEMBERS, "g1")->nvalues, 2);
	cr_assert(has_value(find_op(p, GB_OP_ADD_MEMBERS, "g1"), "<GUID=33333333-3333-3333-3333-333333333333>"));
	cr_assert_null(find_note(p, "group-scope", "u3"));

	/* a reference AD already holds (Samba accepted it) is kept, even with membership = authoritative */
	gb_ad_group_add_member(a, U_SIBLING, NULL);
	p = plan();
	rm = find_op(p, GB_OP_REMOVE_MEMBERS, "g1");
	cr_assert(!has_value(rm, "<GUID=" U_SIBLING ">"), "the existing reference is not removed");
	cr_assert_not_null(find_note(p, "group-scope", "u2"));
}

Test(provision, a_universal_or_domain_local_group_holds_users_of_every_domain_of_the_forest)
{
	gb_ad_group *a = sales_with_two_domains();
	const gb_op *add;
	gb_plan *p;

	p = plan(); /* universal */
	add = find_op(p, GB_OP_ADD_MEMBERS, "g1");
	cr_assert_not_null(add);
	cr_assert_eq(add->nvalues, 2, "both users are added");
	cr_assert_null(find_note(p, "group-scope", NULL));

	/* a global group that may become universal: it is made universal, and holds both */
	a->group_type = (long)(int)0x80000002u;
	p = plan();
	cr_assert_null(group_note(p, "cannot-be-universal", "g1"));
	cr_assert_eq(find_op(p, GB_OP_ADD_MEMBERS, "g1")->nvalues, 2);
	cr_assert_null(find_note(p, "group-scope", NULL));

	/* a domain local group that stays domain local (a foreign principal) holds users of any domain of the forest */
	a->group_type = (long)(int)0x80000004u;
	a->nforeign = 1;
	p = plan();
	cr_assert_not_null(group_note(p, "cannot-be-universal", "g1"));
	cr_assert_eq(find_op(p, GB_OP_ADD_MEMBERS, "g1")->nvalues, 2);
	cr_assert_null(find_note(p, "group-scope", NULL));
}

Test(provision, a_user_whose_domain_is_not_known_is_not_added_to_a_group_that_stays_global)
{
	gb_cloud_group *g = cloud_group("g1", "Sales", 1);
	gb_ad_group *a = provisioned("Sales", "g1", 1);
	gb_plan *p;

	a->display_name = "Sales";
	a->group_type = (long)(int)0x80000002u;
	a->scope_blocker = "CN=Outer,OU=Groups,DC=test,DC=example";
	user_of("u1", U_SAME, ""); /* found without its DN */
	member(g, GB_KIND_USER, "u1");
	p = plan();
	cr_assert_null(find_op(p, GB_OP_ADD_MEMBERS, "g1"));
	cr_assert_not_null(find_note(p, "group-scope", "u1"));
}

/* Parent p1 (of groupType parent_type, kept from being universal by blocker when not NULL, in scope) nesting c1 and
 * c2, groups provisioned by an earlier run that this (incremental) plan does not re-plan, whose groupType in AD is
 * c1type and c2type (NULL: not known). */
static gb_plan *parent_with_earlier_groups(const char *c1type, const char *c2type, long parent_type,
					   const char *blocker)
{
	static gb_map *earlier, *types;
	gb_cloud_group *parent = cloud_group("p1", "Parent", 1);
	gb_ad_group *a = provisioned("Parent", "p1", 1);
	gb_plan *p;

	a->display_name = "Parent";
	a->group_type = parent_type;
	a->scope_blocker = (char *)blocker;
	member(parent, GB_KIND_GROUP, "c1");
	member(parent, GB_KIND_GROUP, "c2");
	cr_assert_eq(gb_map_new(GB_MAP_ICASE, &earlier, NULL), 0);
	cr_assert_eq(gb_map_new(GB_MAP_ICASE, &types, NULL), 0);
	gb_map_set(earlier, "c1", "dddddddd-0000-0000-0000-000000000001", NULL);
	gb_map_set(earlier, "c2", "dddddddd-0000-0000-0000-000000000002", NULL);
	if (c1type)
		gb_map_set(types, "c1", (void *)c1type, NULL);
	if (c2type)
		gb_map_set(types, "c2", (void *)c2type, NULL);
	in.provisioned = earlier;
	in.provisioned_types = types;
	p = plan();
	in.provisioned = in.provisioned_types = NULL;
	gb_map_free(earlier);
	gb_map_free(types);
	return p;
}

Test(provision, a_group_provisioned_earlier_is_nested_by_the_scope_ad_holds)
{
	const gb_op *add;
	const gb_note *n;
	gb_plan *p;

	/* under a universal parent: the domain local c1 is refused, the universal c2 is written */
	p = parent_with_earlier_groups(GT_LOCAL, GT_UNIVERSAL, GB_GROUP_TYPE_UNIVERSAL_SECURITY, NULL);
	add = find_op(p, GB_OP_ADD_MEMBERS, "p1");
	cr_assert_not_null(add);
	cr_assert_eq(add->nvalues, 1);
	cr_assert(has_value(add, "<GUID=dddddddd-0000-0000-0000-000000000002>"));
	n = find_note(p, "group-scope", "c1");
	cr_assert_not_null(n, "the domain local group is skipped");
	cr_assert(strstr(n->message, "domain local"), "%s", n->message);
	cr_assert_null(find_note(p, "group-scope", "c2"));
}

Test(provision, a_group_provisioned_earlier_that_is_global_may_be_nested_in_a_global_group)
{
	const gb_op *add;
	gb_plan *p;

	/* the parent stays global (in the global group Outer): the global c1 is written, not the universal c2 */
	p = parent_with_earlier_groups(GT_GLOBAL, GT_UNIVERSAL, (long)(int)0x80000002u,
				       "CN=Outer,OU=Groups,DC=test,DC=example");
	add = find_op(p, GB_OP_ADD_MEMBERS, "p1");
	cr_assert_not_null(add, "the global group is written into the global parent");
	cr_assert_eq(add->nvalues, 1);
	cr_assert(has_value(add, "<GUID=dddddddd-0000-0000-0000-000000000001>"));
	cr_assert_not_null(find_note(p, "group-scope", "c2"));
}

Test(provision, a_group_provisioned_earlier_whose_scope_is_not_known_is_not_written_into_a_universal_group)
{
	gb_plan *p;

	/* c1's AD group was not found (deleted by hand, or two carry its anchor): its scope is not known */
	p = parent_with_earlier_groups(NULL, GT_UNIVERSAL, GB_GROUP_TYPE_UNIVERSAL_SECURITY, NULL);
	cr_assert_not_null(find_note(p, "group-scope", "c1"));
	cr_assert(!has_value(find_op(p, GB_OP_ADD_MEMBERS, "p1"), "<GUID=dddddddd-0000-0000-0000-000000000001>"));
}
