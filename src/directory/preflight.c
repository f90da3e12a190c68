/* preflight.c: what `config check` asks the directory beyond the bind (AD review D9, issue 16): the Global Catalog
 * answers, the DC is writable, the containers lie in the domain and the bind account holds the rights a run needs, and
 * AD group enforcement lets it write. See gb_directory_preflight in directory.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/adcodec.h"
#include "groupbridge/buf.h"
#include "groupbridge/map.h"
#include "groupbridge/util.h"
#include "internal.h"

/* supportedCapabilities of a read-only DC: LDAP_CAP_ACTIVE_DIRECTORY_PARTIAL_SECRETS_OID (MS-ADTS 3.1.1.3.4.3.5) */
#define RODC_CAPABILITY "1.2.840.113556.1.4.1920"

/* The attributes a run writes on a managed group, each a right the README lists. name (written by a rename) is not
 * here: AD and Samba leave it out of allowedAttributesEffective whatever the rights, as a system attribute. */
static const char *const group_rights[] = {"member", "cn", "description", "displayName", "groupType",
					   "adminDescription", GB_DIRECTORY_ANCHOR_ATTR, NULL};

typedef struct pf {
	gb_directory *d;
	gb_dir_check_fn report;
	void *ctx;
	int failed;
} pf;

static void say(pf *p, const char *check, int ok, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void say(pf *p, const char *check, int ok, const char *fmt, ...)
{
	char detail[GB_ERROR_MSG_MAX + 256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	if (!ok)
		p->failed++;
	p->report(p->ctx, check, ok, detail);
}

static bool has_value(const gb_dir_entry *e, const char *attr, const char *value)
{
	const gb_dir_attr *a = gb_dir_entry_attr(e, attr);
	size_t i;

	for (i = 0; a && i < a->nvalues; i++)
		if (gb_str_iequal(a->values[i].data, value))
			return true;
	return false;
}

/* Every value of a multi-valued attribute of dn, read in ranges as Windows requires for any attribute with more
 * values than MaxValRange (constructed ones included), into a case-insensitive set. *out: gb_map_free. */
static int add_value(const char *value, size_t len, void *ctx, gb_error *err)
{
	(void)len;
	return gb_map_set(ctx, value, (void *)1, err);
}

static int read_set(gb_directory *d, const char *dn, const char *attr, gb_map **out, gb_error *err)
{
	int rc = gb_map_new(GB_MAP_ICASE, out, err);

	if (!rc)
		rc = gb_directory_read_values(d, dn, attr, 0, add_value, *out, err);
	if (rc) {
		gb_map_free(*out);
		*out = NULL;
	}
	return rc;
}

bool gb_directory_rootdse_is_rodc(const gb_dir_entry *root)
{
	return has_value(root, "supportedCapabilities", RODC_CAPABILITY);
}

/* The Global Catalog: a rootDSE read through gc_uri, which must say it is a ready GC. */
static void check_gc(pf *p, const gb_config *cfg)
{
	static const char *const attrs[] = {"isGlobalCatalogReady", "dnsHostName", NULL};
	gb_dir_entry *root = NULL;
	gb_error e;

	if (!cfg->directory.gc_uri)
		return;
	if (gb_directory_get(p->d, "", attrs, GB_DIR_GC, &root, &e)) {
		say(p, "gc", 0, "gc_uri %s: %s", cfg->directory.gc_uri, e.msg);
		return;
	}
	if (!has_value(root, "isGlobalCatalogReady", "TRUE"))
		say(p, "gc", 0, "gc_uri %s answers but is not a ready Global Catalog (isGlobalCatalogReady is not TRUE): "
			"point it at a GC (port 3268, or 3269 for LDAPS)", cfg->directory.gc_uri);
	else
		say(p, "gc", 1, "gc_uri %s is a Global Catalog (%s)", cfg->directory.gc_uri,
		    gb_dir_entry_str(root, "dnsHostName") ? gb_dir_entry_str(root, "dnsHostName") : "host unknown");
	gb_dir_entry_free(root);
}

int gb_directory_check_writable(gb_directory *d, gb_error *err)
{
	const gb_directory_dc *dc;

	if (gb_directory_dc_info(d, &dc, err))
		return gb_error_prefix(err, "reading the root DSE");
	if (dc->rodc)
		return gb_error_set(err, GB_ECONFIG, "%s is a read-only DC (RODC): it refers every write to a writable DC; "
						     "set [directory] uri to a writable DC of the domain", d->uri);
	gb_error_clear(err);
	return 0;
}

/* A read-only DC answers every write with a referral to a writable one: say so before a run fails on it. */
static void check_writable(pf *p)
{
	gb_error e;

	if (gb_directory_check_writable(p->d, &e))
		say(p, "writable", 0, "%s", e.msg);
	else
		say(p, "writable", 1, "%s is a writable DC", p->d->uri);
}

typedef struct group_pick {
	char *dn;
	bool anchored;
} group_pick;

static int pick_group(const gb_dir_entry *e, void *ctx, gb_error *err)
{
	group_pick *g = ctx;
	bool anchored = gb_dir_entry_str(e, GB_DIRECTORY_ANCHOR_ATTR) != NULL;

	if (g->dn && (g->anchored || !anchored))
		return 0;
	free(g->dn);
	g->dn = gb_strdup(e->dn);
	g->anchored = anchored;
	return g->dn ? 0 : gb_error_set(err, GB_ENOMEM, "out of memory");
}

/* The rights on one group below container, as AD computes them for the bound account (allowedAttributesEffective):
 * a managed group (one with an anchor) when there is one, else any group AdminSDHolder does not protect. */
static void check_group_rights(pf *p, const char *container)
{
	static const char *const find_attrs[] = {GB_DIRECTORY_ANCHOR_ATTR, NULL};
	group_pick g = {NULL, false};
	gb_map *eff = NULL;
	gb_buf missing;
	gb_error err;
	size_t i;

	if (gb_directory_search(p->d, container, GB_DIR_SUBTREE, "(&(objectClass=group)(!(adminCount=1)))", find_attrs,
				0, pick_group, &g, &err)) {
		say(p, "rights", 0, "cannot search %s for a group: %s", container, err.msg);
		return;
	}
	if (!g.dn) {
		say(p, "rights", 1, "%s holds no group yet: the rights on groups are checked once one is there", container);
		return;
	}
	if (read_set(p->d, g.dn, "allowedAttributesEffective", &eff, &err)) {
		say(p, "rights", 0, "cannot read the effective rights on %s: %s", g.dn, err.msg);
		free(g.dn);
		return;
	}
	gb_buf_init(&missing, 4096);
	for (i = 0; group_rights[i]; i++)
		if (!gb_map_get(eff, group_rights[i]))
			(void)(gb_buf_puts(&missing, missing.len ? ", " : "", NULL) || gb_buf_puts(&missing, group_rights[i], NULL));
	if (missing.len)
		say(p, "rights", 0, "the bind account cannot write %s on %s group %s: grant Write property on group "
			"objects in %s (see the README, \"The rights groupbridge needs\")", gb_buf_cstr(&missing),
		    g.anchored ? "managed" : "the", g.dn, container);
	else
		say(p, "rights", 1, "the bind account can write every attribute a run writes on %s group %s",
		    g.anchored ? "managed" : "the", g.dn);
	gb_buf_free(&missing);
	gb_map_free(eff);
	free(g.dn);
}

/* One container: inside base_dn, present, and the account may create groups in it and write them. */
static void check_container(pf *p, const char *container)
{
	gb_map *eff = NULL;
	gb_error err;
	int under = gb_ad_dn_text_is_under(container, p->d->base_dn, &err);

	if (under < 0 || (under == 0 && gb_ad_dn_text_equal(container, p->d->base_dn, &err) != 1)) {
		say(p, "containers", 0, "%s is outside base_dn %s: groupbridge writes only in the domain it is bound to; "
			"fix the container or base_dn", container, p->d->base_dn);
		return;
	}
	if (read_set(p->d, container, "allowedChildClassesEffective", &eff, &err)) {
		say(p, "containers", 0, "%s: %s", container, err.msg);
		return;
	}
	say(p, "containers", 1, "%s is in %s", container, p->d->base_dn);
	if (!gb_map_get(eff, "group"))
		say(p, "rights", 0, "the bind account cannot create group objects in %s: grant Create group objects (and "
			"Delete group objects) on it (see the README, \"The rights groupbridge needs\")", container);
	else
		say(p, "rights", 1, "the bind account can create groups in %s", container);
	gb_map_free(eff);
	check_group_rights(p, container);
}

/* The migration's writeback OU ([migration] writeback_ou): inside base_dn, and stamp-anchors may write the anchor on
 * the groups Connect Sync wrote there (one not protected by AdminSDHolder, as AD computes the rights for the account). */
static void check_writeback(pf *p, const char *ou)
{
	static const char *const find_attrs[] = {GB_DIRECTORY_ANCHOR_ATTR, NULL};
	group_pick g = {NULL, false};
	gb_map *eff = NULL;
	gb_error err;
	int under = gb_ad_dn_text_is_under(ou, p->d->base_dn, &err);

	if (under != 1) {
		say(p, "containers", 0, "writeback_ou %s is outside base_dn %s: stamp-anchors writes only in the domain it is "
			"bound to", ou, p->d->base_dn);
		return;
	}
	if (gb_directory_search(p->d, ou, GB_DIR_SUBTREE, "(&(objectClass=group)(adminDescription=Group_*)(!(adminCount=1)))",
				find_attrs, 0, pick_group, &g, &err)) {
		say(p, "rights", 0, "cannot search writeback_ou %s for a written-back group: %s", ou, err.msg);
		return;
	}
	if (!g.dn) {
		say(p, "rights", 1, "writeback_ou %s holds no written-back group (adminDescription Group_*)", ou);
		return;
	}
	if (read_set(p->d, g.dn, "allowedAttributesEffective", &eff, &err))
		say(p, "rights", 0, "cannot read the effective rights on %s: %s", g.dn, err.msg);
	else if (!gb_map_get(eff, GB_DIRECTORY_ANCHOR_ATTR))
		say(p, "rights", 0, "the bind account cannot write " GB_DIRECTORY_ANCHOR_ATTR " on written-back group %s: "
			"grant Write property " GB_DIRECTORY_ANCHOR_ATTR " on group objects in %s (stamp-anchors; see the "
			"README, \"The rights groupbridge needs\")", g.dn, ou);
	else
		say(p, "rights", 1, "the bind account can stamp the anchor on written-back group %s", g.dn);
	gb_map_free(eff);
	free(g.dn);
}

/* A case-insensitive strstr (SIDs are written "S-1-..." or "s-1-..."). */
static const char *find_icase(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (; hay && *hay; hay++) {
		size_t i = 0;

		while (i < n && hay[i] && (hay[i] | 0x20) == (needle[i] | 0x20))
			i++;
		if (i == n)
			return hay;
	}
	return NULL;
}

static void strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

static int first_dn(const gb_dir_entry *e, void *ctx, gb_error *err)
{
	char **dn = ctx;

	if (*dn)
		return 0;
	*dn = gb_strdup(e->dn);
	return *dn ? 0 : gb_error_set(err, GB_ENOMEM, "out of memory");
}

bool gb_directory_soa_allows(const gb_dir_entry *policy, const char *const *sids, size_t nsids)
{
	const gb_dir_attr *a = gb_dir_entry_attr(policy, "msDS-Settings");
	size_t i, j;

	for (i = 0; a && i < a->nvalues; i++)
		for (j = 0; j < nsids; j++) {
			const char *hit = find_icase(a->values[i].data, sids[j]);
			size_t n = strlen(sids[j]);

			/* a whole SID, not the prefix of a longer one (S-1-5-21-...-1105 is not S-1-5-21-...-11050) */
			if (hit && !(hit[n] >= '0' && hit[n] <= '9') && hit[n] != '-')
				return true;
		}
	return false;
}

/* The bind account's own SID and the SIDs of its groups (tokenGroups, as AD computes them): an allow-list may name
 * either. */
static int account_sids(gb_directory *d, char ***out, size_t *n, gb_error *err)
{
	static const char *const attrs[] = {"objectSid", "tokenGroups", NULL};
	static const char *const dn_attrs[] = {"1.1", NULL};
	gb_dir_entry *e = NULL;
	const gb_dir_attr *tg;
	char **sids = NULL, sid[GB_AD_SID_TEXT_SIZE], *found = NULL;
	size_t i, k = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (strchr(d->bind_dn, '=') == NULL) {
		gb_buf f;

		gb_buf_init(&f, 4096);
		rc = gb_buf_puts(&f, "(userPrincipalName=", err);
		if (!rc)
			rc = gb_ad_filter_escape(d->bind_dn, strlen(d->bind_dn), &f, err);
		if (!rc)
			rc = gb_buf_puts(&f, ")", err);
		if (!rc)
			rc = gb_directory_search(d, NULL, GB_DIR_SUBTREE, gb_buf_cstr(&f), dn_attrs, 0, first_dn, &found, err);
		gb_buf_free(&f);
		if (!rc && !found)
			rc = gb_error_set(err, GB_ENOTFOUND, "no account has userPrincipalName %s", d->bind_dn);
		if (rc) {
			free(found);
			return rc;
		}
	}
	rc = gb_directory_get(d, found ? found : d->bind_dn, attrs, 0, &e, err);
	free(found);
	if (rc)
		return rc;
	tg = gb_dir_entry_attr(e, "tokenGroups");
	sids = calloc((tg ? tg->nvalues : 0) + 1, sizeof(char *));
	if (!sids) {
		gb_dir_entry_free(e);
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	}
	if (gb_dir_entry_sid(e, sid))
		sids[k++] = gb_strdup(sid);
	for (i = 0; tg && i < tg->nvalues; i++)
		if (gb_ad_sid_to_text((const unsigned char *)tg->values[i].data, tg->values[i].len, sid, sizeof sid,
				      NULL) == 0)
			sids[k++] = gb_strdup(sid);
	gb_dir_entry_free(e);
	for (i = 0; i < k; i++)
		if (!sids[i]) {
			strv_free(sids, k);
			return gb_error_set(err, GB_ENOMEM, "out of memory");
		}
	*out = sids;
	*n = k;
	return 0;
}

/* AD group enforcement (preview): a policy CN=CloudSyncSOAPolicy,CN=SOA-Policies,CN=System in the domain lists in
 * msDS-Settings the SIDs that may still modify groups marked msDS-ObjectSoa = Cloud; every other writer's modify is
 * refused. groupbridge's account (or one of its groups) must be on it. */
static void check_soa(pf *p)
{
	static const char *const attrs[] = {"msDS-Settings", NULL};
	char dn[1024], **sids = NULL;
	gb_dir_entry *policy = NULL;
	size_t nsids = 0;
	gb_error e;
	int rc;

	snprintf(dn, sizeof dn, "CN=CloudSyncSOAPolicy,CN=SOA-Policies,CN=System,%s", p->d->base_dn);
	rc = gb_directory_get(p->d, dn, attrs, 0, &policy, &e);
	if (rc == GB_ENOTFOUND) {
		say(p, "soa", 1, "no AD group enforcement policy in %s", p->d->base_dn);
		return;
	}
	if (rc) {
		say(p, "soa", 1, "AD group enforcement policy %s not readable (%s): if the domain enforces it, add the bind "
			"account's SID to its allow-list", dn, e.msg);
		return;
	}
	if (account_sids(p->d, &sids, &nsids, &e))
		say(p, "soa", 0, "AD group enforcement is configured (%s) but the bind account's SIDs cannot be read: %s",
		    dn, e.msg);
	else if (gb_directory_soa_allows(policy, (const char *const *)sids, nsids))
		say(p, "soa", 1, "AD group enforcement is configured and its allow-list names the bind account (%s)", sids[0]);
	else
		say(p, "soa", 0, "AD group enforcement is configured (%s) and its allow-list (msDS-Settings) names neither the "
			"bind account (%s) nor one of its groups: in Enforced mode every member change to a group marked "
			"msDS-ObjectSoa = Cloud is refused; add the account's SID with Set-CloudSyncSOAPolicy.ps1 "
			"(at most 64 SIDs)", dn, nsids ? sids[0] : "SID unknown");
	strv_free(sids, nsids);
	gb_dir_entry_free(policy);
}

int gb_directory_preflight(const gb_config *cfg, const char *const *containers, gb_dir_check_fn report, void *ctx)
{
	pf p = {NULL, report, ctx, 0};
	gb_error e;
	size_t i;

	if (gb_directory_open_config(cfg, &p.d, &e)) {
		say(&p, "ldap", 0, "%s", e.msg);
		return p.failed;
	}
	check_gc(&p, cfg);
	check_writable(&p);
	for (i = 0; containers && containers[i]; i++)
		check_container(&p, containers[i]);
	if (cfg->migration.present && cfg->migration.writeback_ou)
		check_writeback(&p, cfg->migration.writeback_ou);
	check_soa(&p);
	gb_directory_free(p.d);
	return p.failed;
}
