/* step_match.c: step 7, match: the AD group each handed-over cloud group will keep.
 *
 * For the ready written-back groups the AD group is the one with the anchor Group_<objectId> (stamp-anchors wrote
 * it); for the converted groups it is the DN in the GroupDN extension, confirmed by objectSid =
 * onPremisesSecurityIdentifier and cross-checked with the anchor (an AD group already carrying Group_<objectId> must
 * be that one). A group is blocked, with the reason, when its DN does not exist, its SID does not
 * match, its anchor is missing, or two cloud groups want the same AD group. The step reads only; its outcome is what
 * handoff hands over.
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/adcodec.h"
#include "groupbridge/anchor.h"
#include "groupbridge/map.h"
#include "groupbridge/util.h"
#include "steps_int.h"

typedef struct cand {
	char *id, *cls;
	char *dn;     /* the AD group found, or NULL */
	char *guid;
	char *result; /* "matched" or "blocked: ..." */
} cand;

/* k's result, formatted (at most 1,023 bytes). */
static void set_result(cand *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_result(cand *k, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	free(k->result);
	k->result = gb_strdup(buf);
}

/* Review D14: a converted group found by GroupDN and SID must not have its anchor Group_<id> on another AD group (an
 * earlier Cloud Sync trial, a copy): provisioning would find two AD groups for one cloud group. Blocks k when it is,
 * or when several carry it; an anchor on the same group, or on none, agrees. gc: GB_DIR_GC when gc_uri is set, so that
 * a group of another domain of the forest carrying the anchor is seen too (AD review D1), as the DC's own domain
 * would hide it. */
static int anchor_agrees(gb_directory *dir, cand *k, const gb_ad_group *a, unsigned gc, gb_error *err)
{
	static const char *const attrs[] = {"distinguishedName", "objectGUID", NULL};
	char anchor[GB_ANCHOR_MAX], guid[GB_AD_GUID_TEXT_SIZE];
	gb_dir_entry *e = NULL;
	int rc;

	if (gb_anchor_format(k->id, anchor, sizeof(anchor)))
		return 0;
	rc = gb_directory_find_by_anchor(dir, anchor, attrs, gc, &e, err);
	if (rc == GB_ENOTFOUND)
		return 0;
	if (rc == GB_ECONFLICT) {
		set_result(k, "blocked: several AD groups carry the anchor %s, and its GroupDN names %s", anchor, a->dn);
		return 0;
	}
	if (!rc && (!gb_dir_entry_guid(e, guid) || !a->guid || !gb_str_iequal(guid, a->guid)))
		set_result(k, "blocked: the anchor %s is on %s, but its GroupDN and SID lead to %s", anchor, e->dn,
			   a->dn);
	gb_dir_entry_free(e);
	return rc;
}

/* The domain the directory's last referral named, for a blocked group's message. */
static const char *referred_domain(const gb_directory *dir)
{
	const char *d = gb_directory_last_referral(dir);

	return d ? d : "another domain";
}

static int find(gb_migrate_ctx *c, gb_graph *graph, gb_directory *dir, cand *k, gb_error *err)
{
	static const char *const attrs[] = {"distinguishedName", "objectGUID", NULL};
	gb_dir_entry *e = NULL;
	gb_ad_group *a = NULL;
	char anchor[GB_ANCHOR_MAX];
	/* A forest of several domains: the anchor and the SID are in the Global Catalog's partial attribute set, so with
	 * gc_uri the whole forest is searched, as provisioning does (AD review D1) */
	unsigned gc = c && c->cfg && c->cfg->directory.gc_uri ? GB_DIR_GC : 0;
	int rc = 0;

	if (strcmp(k->cls, "ready") == 0) {
		if (gb_anchor_format(k->id, anchor, sizeof(anchor)))
			return 0;
		rc = gb_directory_find_by_anchor(dir, anchor, attrs, gc, &e, err);
		if (rc == GB_ENOTFOUND) {
			set_result(k, "blocked: no AD group carries the anchor %s (run stamp-anchors)", anchor);
			return 0;
		}
		if (rc == GB_ECONFLICT) {
			set_result(k, "blocked: several AD groups carry the anchor %s", anchor);
			return 0;
		}
		if (!rc)
			rc = gb_directory_read_group(dir, e->dn, false, &a, err);
		if (rc == GB_EREFERRAL) {
			/* found through the GC in another domain: this configuration could not write that group, so it
			 * blocks itself, not the step, as a converted group's GroupDN there does (AD review D1) */
			rc = 0;
			set_result(k, "blocked: the AD group that carries the anchor %s, %s, is in another domain of the "
				   "forest (%s); match it with a configuration bound to a DC of that domain",
				   anchor, e->dn, referred_domain(dir));
		}
	} else {
		gb_cloud_group *g = NULL;
		char *name = NULL, *dn = NULL;

		rc = gb_graph_get_group(graph, k->id, &g, err);
		if (rc == GB_ENOTFOUND) {
			set_result(k, "blocked: the cloud group no longer exists");
			return 0;
		}
		/* The GroupDN is read by the extension's real name, whatever [provisioning] names. */
		if (!rc && gb_step_groupdn_name(graph, &name, err) == 0 &&
		    gb_graph_get_group_extension_value(graph, k->id, name, &dn, err) == 0 && dn) {
			free(g->group_dn_ext);
			g->group_dn_ext = dn;
		}
		free(name);
		if (!rc && !g->group_dn_ext) {
			set_result(k, "blocked: its GroupDN extension is empty (run convert-soa)");
		} else if (!rc) {
			int r = gb_directory_read_group(dir, g->group_dn_ext, false, &a, err);
			if (r == GB_ENOTFOUND)
				set_result(k, "blocked: its GroupDN %s does not exist in AD", g->group_dn_ext);
			else if (r == GB_EREFERRAL) /* one group of another domain blocks itself, not the step (D1) */
				set_result(k, "blocked: its GroupDN %s is in another domain of the forest (%s); match it with a "
					   "configuration bound to a DC of that domain", g->group_dn_ext, referred_domain(dir));
			else if (r)
				rc = r;
			else if (!a->sid || !g->on_prem_sid || strcmp(a->sid, g->on_prem_sid) != 0)
				set_result(k, "blocked: the SID of %s is not the group's onPremisesSecurityIdentifier %s", a->dn,
					   g->on_prem_sid ? g->on_prem_sid : "");
			else
				rc = anchor_agrees(dir, k, a, gc, err);
		}
		gb_cloud_group_free(g);
	}
	if (!rc && a && !k->result) {
		k->dn = gb_strdup(a->dn);
		k->guid = gb_strdup(a->guid);
		set_result(k, "matched");
	}
	gb_ad_group_free(a);
	gb_dir_entry_free(e);
	return rc;
}

int gb_step_match_collect(gb_migrate_ctx *c, gb_error *err)
{
	gb_graph *graph = NULL;
	gb_directory *dir = NULL;
	sqlite3_stmt *s = NULL;
	gb_map *by_dn = NULL;
	cand *k = NULL;
	size_t n = 0, i, matched = 0;
	int rc;

	rc = gb_migrate_graph(c, &graph, err);
	if (!rc)
		rc = gb_migrate_dir(c, &dir, err);
	if (!rc)
		rc = gb_map_new(GB_MAP_ICASE, &by_dn, err);
	if (!rc)
		rc = gb_store_prepare(c->st, "SELECT object_id, class FROM migration_groups WHERE class IN ('ready', "
					     "'converted') ORDER BY object_id",
				      &s, err);
	while (!rc && sqlite3_step(s) == SQLITE_ROW) {
		cand *more = realloc(k, (n + 1) * sizeof(*k));
		if (!more) {
			rc = gb_error_set(err, GB_ENOMEM, "out of memory");
			break;
		}
		k = more;
		memset(&k[n], 0, sizeof(k[n]));
		k[n].id = gb_strdup((const char *)sqlite3_column_text(s, 0));
		k[n].cls = gb_strdup((const char *)sqlite3_column_text(s, 1));
		n++;
	}
	sqlite3_finalize(s);
	for (i = 0; !rc && i < n; i++)
		rc = find(c, graph, dir, &k[i], err);
	/* Two cloud groups wanting one AD group: both are blocked. */
	for (i = 0; !rc && i < n; i++) {
		cand *other;
		if (!k[i].guid)
			continue;
		other = gb_map_get(by_dn, k[i].guid);
		if (other) {
			set_result(&k[i], "blocked: cloud group %s wants the same AD group %s", other->id, k[i].dn);
			set_result(other, "blocked: cloud group %s wants the same AD group %s", k[i].id, k[i].dn);
		} else {
			rc = gb_map_set(by_dn, k[i].guid, &k[i], err);
		}
	}
	if (!rc)
		rc = gb_store_begin(c->st, err);
	if (!rc)
		rc = gb_store_prepare(c->st, "UPDATE migration_groups SET matched_dn = ?2, match_result = ?3 WHERE object_id = ?1",
				      &s, err);
	for (i = 0; !rc && i < n; i++) {
		sqlite3_reset(s);
		sqlite3_bind_text(s, 1, k[i].id, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, strcmp(k[i].result ? k[i].result : "", "matched") == 0 ? k[i].dn : NULL, -1,
				  SQLITE_STATIC);
		sqlite3_bind_text(s, 3, k[i].result ? k[i].result : "blocked: not examined", -1, SQLITE_STATIC);
		if (sqlite3_step(s) != SQLITE_DONE)
			rc = gb_store_error(c->st, err, "recording a match");
		if (k[i].result && strcmp(k[i].result, "matched") == 0)
			matched++;
		else if (k[i].result)
			fprintf(c->out, "  %s: %s\n", k[i].id, k[i].result);
	}
	sqlite3_finalize(s);
	if (!rc)
		rc = gb_store_commit(c->st, err);
	else
		gb_store_rollback(c->st);
	if (!rc)
		fprintf(c->out, "matched %zu of %zu groups to hand over; %zu blocked\n", matched, n, n - matched);
	for (i = 0; i < n; i++) {
		free(k[i].id);
		free(k[i].cls);
		free(k[i].dn);
		free(k[i].guid);
		free(k[i].result);
	}
	free(k);
	gb_map_free(by_dn);
	return rc;
}

int gb_step_match_forget(gb_migrate_ctx *c, char *detail, size_t n, gb_error *err)
{
	sqlite3_stmt *s = NULL;
	int rc, forgotten = 0;

	rc = gb_store_prepare(c->st, "UPDATE migration_groups SET matched_dn = NULL, match_result = NULL WHERE "
				     "match_result IS NOT NULL OR matched_dn IS NOT NULL",
			      &s, err);
	if (rc)
		return rc;
	rc = gb_store_step_done(c->st, s, "forgetting the matches", err);
	if (!rc)
		forgotten = sqlite3_changes(gb_store_db(c->st));
	if (!rc) {
		char prefix[128];
		snprintf(prefix, sizeof(prefix), "%s", *detail ? detail : "rolled back");
		snprintf(detail, n, "%s: the matches of %d groups forgotten (state only; AD and the tenant unchanged)",
			 prefix, forgotten);
	}
	return rc;
}
