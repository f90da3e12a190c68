/* model.c: constructors and destructors of the plain data in model.h. */
#include "groupbridge/model.h"

#include <stdlib.h>
#include <string.h>

#include "groupbridge/util.h"

static const struct {
	const char *odata;
	gb_object_kind kind;
	const char *name;
} kinds[] = {
	{"#microsoft.graph.user", GB_KIND_USER, "user"},
	{"#microsoft.graph.group", GB_KIND_GROUP, "group"},
	{"#microsoft.graph.device", GB_KIND_DEVICE, "device"},
	{"#microsoft.graph.orgContact", GB_KIND_CONTACT, "contact"},
	{"#microsoft.graph.servicePrincipal", GB_KIND_SERVICE_PRINCIPAL, "servicePrincipal"},
};

gb_object_kind gb_object_kind_from_odata(const char *odata_type)
{
	size_t i;

	for (i = 0; odata_type && i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(odata_type, kinds[i].odata) == 0)
			return kinds[i].kind;
	return GB_KIND_OTHER;
}

const char *gb_object_kind_name(gb_object_kind kind)
{
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i].kind == kind)
			return kinds[i].name;
	return "other";
}

int gb_cloud_group_add_member(gb_cloud_group *g, gb_object_kind kind, const char *id, gb_error *err)
{
	char *copy;

	if (gb_grow(&g->members, g->nmembers, &g->members_cap, sizeof(*g->members), 16))
		return gb_error_set(err, GB_ENOMEM, "out of memory adding a member to group %s", g->id);
	copy = gb_strdup(id);
	if (!copy)
		return gb_error_set(err, GB_ENOMEM, "out of memory adding a member to group %s", g->id);
	g->members[g->nmembers].kind = kind;
	g->members[g->nmembers].id = copy;
	g->nmembers++;
	return 0;
}

void gb_cloud_user_clear(gb_cloud_user *u)
{
	if (!u)
		return;
	free(u->id);
	free(u->display_name);
	free(u->user_principal_name);
	free(u->on_prem_object_id);
	free(u->on_prem_sid);
	memset(u, 0, sizeof(*u));
	u->on_prem_sync_enabled = GB_TRI_UNKNOWN;
}

void gb_cloud_user_free(gb_cloud_user *u)
{
	gb_cloud_user_clear(u);
	free(u);
}

void gb_cloud_group_clear(gb_cloud_group *g)
{
	size_t i;

	if (!g)
		return;
	for (i = 0; i < g->nmembers; i++)
		free(g->members[i].id);
	free(g->members);
	free(g->id);
	free(g->display_name);
	free(g->description);
	free(g->on_prem_sid);
	free(g->group_dn_ext);
	free(g->writeback_group_type);
	memset(g, 0, sizeof(*g));
	g->security_enabled = g->mail_enabled = g->on_prem_sync_enabled = GB_TRI_UNKNOWN;
	g->is_cloud_managed = g->writeback_enabled = GB_TRI_UNKNOWN;
}

void gb_cloud_group_free(gb_cloud_group *g)
{
	gb_cloud_group_clear(g);
	free(g);
}

int gb_ad_group_add_member(gb_ad_group *g, const char *guid, gb_error *err)
{
	char *copy, *c;

	if (gb_grow(&g->member_guids, g->nmembers, &g->members_cap, sizeof(*g->member_guids), 16))
		return gb_error_set(err, GB_ENOMEM, "out of memory adding a member to %s", g->dn);
	copy = gb_strdup(guid);
	if (!copy)
		return gb_error_set(err, GB_ENOMEM, "out of memory adding a member to %s", g->dn);
	for (c = copy; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c + 32);
	g->member_guids[g->nmembers++] = copy;
	return 0;
}

void gb_ad_group_clear(gb_ad_group *g)
{
	size_t i;

	if (!g)
		return;
	for (i = 0; i < g->nmembers; i++)
		free(g->member_guids[i]);
	free(g->member_guids);
	free(g->dn);
	free(g->guid);
	free(g->sid);
	free(g->cn);
	free(g->anchor);
	free(g->admin_description);
	free(g->description);
	free(g->display_name);
	free(g->sam_account_name);
	free(g->scope_blocker);
	memset(g, 0, sizeof(*g));
}

void gb_ad_group_free(gb_ad_group *g)
{
	gb_ad_group_clear(g);
	free(g);
}
