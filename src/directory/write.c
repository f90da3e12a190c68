/* write.c: creating, modifying, renaming and deleting objects, and batched member changes; each behind the fence. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "directory/internal.h"
#include "groupbridge/log.h"
#include "groupbridge/util.h"

#define PERMISSIVE_MODIFY_OID "1.2.840.113556.1.4.1413"

int gb_dir_resolve(gb_directory *d, const char *dn, char **out, gb_error *err)
{
	static const char *const no_attrs[] = {"1.1", NULL};
	gb_dir_entry *e = NULL;
	int rc;

	*out = NULL;
	if (!dn)
		return gb_error_set(err, GB_EINVAL, "no dn");
	if (dn[0] != '<') {
		*out = gb_strdup(dn);
		return *out ? 0 : gb_error_set(err, GB_ENOMEM, "out of memory");
	}
	if ((rc = gb_directory_get(d, dn, no_attrs, 0, &e, err)))
		return rc;
	*out = e->dn;
	e->dn = NULL;
	gb_dir_entry_free(e);
	return 0;
}

/* ---- LDAPMod arrays ---- */

struct mods {
	LDAPMod **list;   /* NULL-terminated */
	size_t n;
	size_t cap;
};

static void mods_free(struct mods *m)
{
	size_t i, j;

	for (i = 0; i < m->n; i++) {
		for (j = 0; m->list[i]->mod_bvalues && m->list[i]->mod_bvalues[j]; j++)
			free(m->list[i]->mod_bvalues[j]);
		free(m->list[i]->mod_bvalues);
		free(m->list[i]);
	}
	free(m->list);
	memset(m, 0, sizeof *m);
}

/* Appends a modification of attr with the NULL-terminated values (copied by reference: they must outlive m). */
static int mods_add(struct mods *m, int op, const char *attr, const char *const *values, gb_error *err)
{
	LDAPMod *mod;
	size_t nv = 0, i;

	if (gb_grow(&m->list, m->n + 1, &m->cap, sizeof(*m->list), 8)) /* and the NULL after it */
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	while (values && values[nv])
		nv++;
	mod = calloc(1, sizeof *mod);
	if (!mod)
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	mod->mod_op = op | LDAP_MOD_BVALUES;
	mod->mod_type = (char *)attr;
	if (nv) {
		mod->mod_bvalues = calloc(nv + 1, sizeof *mod->mod_bvalues);
		if (!mod->mod_bvalues) {
			free(mod);
			return gb_error_set(err, GB_ENOMEM, "out of memory");
		}
		for (i = 0; i < nv; i++) {
			mod->mod_bvalues[i] = malloc(sizeof(struct berval));
			if (!mod->mod_bvalues[i]) {
				m->list[m->n++] = mod;
				m->list[m->n] = NULL;
				return gb_error_set(err, GB_ENOMEM, "out of memory");
			}
			mod->mod_bvalues[i]->bv_val = (char *)values[i];
			mod->mod_bvalues[i]->bv_len = strlen(values[i]);
		}
	}
	m->list[m->n++] = mod;
	m->list[m->n] = NULL;
	return 0;
}

/* ---- operations ---- */

struct write_arg {
	int kind; /* 'a'dd, 'm'odify, 'r'ename, 'd'elete */
	const char *dn;
	LDAPMod **mods;
	LDAPControl **ctrls;
	const char *new_rdn;
	const char *new_parent;
};

static int write_op(gb_directory *d, LDAP *ld, void *argp)
{
	struct write_arg *a = argp;

	switch (a->kind) {
	case 'a':
		d->stats.adds++;
		return ldap_add_ext_s(ld, a->dn, a->mods, a->ctrls, NULL);
	case 'm':
		d->stats.modifies++;
		return ldap_modify_ext_s(ld, a->dn, a->mods, a->ctrls, NULL);
	case 'r':
		d->stats.renames++;
		return ldap_rename_s(ld, a->dn, a->new_rdn, a->new_parent, 1, a->ctrls, NULL);
	default:
		d->stats.deletes++;
		return ldap_delete_ext_s(ld, a->dn, a->ctrls, NULL);
	}
}

static int create_group(gb_directory *d, const gb_directory_group_spec *g, size_t with_members, gb_error *err);

static int change_members(gb_directory *d, int op, const char *dn, const char *const *members, size_t n,
			  size_t *done, gb_error *err);

/* The DC refused a request for carrying too many values (adminLimitExceeded, 11): Windows has a limit of its own,
 * not documented by Microsoft, that a peer met at about 1,500 member values. The handle remembers the smaller
 * batch, so that later requests do not meet the limit again. Returns the new batch size (at least 1). */
static size_t halve_batch(gb_directory *d, const char *opname, const char *dn, size_t refused)
{
	size_t half = refused / 2 ? refused / 2 : 1;

	if ((long)half < d->member_batch)
		d->member_batch = (long)half;
	gb_warn("ldap", "%s %s: the DC refused %zu member values in one request (an administrative limit); sending %zu "
		"at a time", opname, dn, refused, half);
	return half;
}

int gb_directory_create_group(gb_directory *d, const gb_directory_group_spec *g, gb_error *err)
{
	size_t first = 0;
	int rc;

	gb_dir_refusals_clear(d);
	if (g && g->members && g->nmembers)
		first = g->nmembers < (size_t)d->member_batch ? g->nmembers : (size_t)d->member_batch;
	for (;;) {
		rc = create_group(d, g, first, err);
		if (!rc || first == 0 || d->last_rc != LDAP_ADMINLIMIT_EXCEEDED)
			break;
		first = first > 1 ? halve_batch(d, "add", g->dn, first) : 0;
		gb_error_clear(err);
	}
	if (!rc && g->nmembers > first)
		rc = change_members(d, LDAP_MOD_ADD, g->dn, g->members + first, g->nmembers - first, NULL, err);
	return rc;
}

/* The add itself, carrying the first with_members of g's members. */
static int create_group(gb_directory *d, const gb_directory_group_spec *g, size_t with_members, gb_error *err)
{
	static const char *const oc[] = {"group", NULL};
	struct mods m = {NULL, 0, 0};
	struct write_arg a;
	gb_ad_dn *dn = NULL;
	char type[24];
	const char *cn[2] = {NULL, NULL}, *gt[2] = {type, NULL}, **mv = NULL;
	size_t i;
	int rc;

	if (!g || !g->dn)
		return gb_error_set(err, GB_EINVAL, "ldap add: no dn");
	if ((rc = gb_directory_fence_check(d, "add", g->dn, err)))
		return rc;
	if ((rc = gb_ad_dn_parse(g->dn, &dn, err)))
		return rc;
	if (dn->rdns[0].navas != 1 || !gb_str_iequal(dn->rdns[0].avas[0].type, "cn") ||
	    strlen(dn->rdns[0].avas[0].value) != dn->rdns[0].avas[0].value_len || dn->rdns[0].avas[0].hex) {
		rc = gb_error_set(err, GB_EINVAL, "ldap add %s: a group's dn must start with one CN=", g->dn);
		goto out;
	}
	cn[0] = dn->rdns[0].avas[0].value;
	snprintf(type, sizeof type, "%ld", g->group_type ? g->group_type : GB_GROUP_TYPE_UNIVERSAL_SECURITY);
#define OPT(attr, field)                                                                                               \
	do {                                                                                                           \
		const char *v_[2] = {(field), NULL};                                                                   \
		if (!rc && (field) && *(field))                                                                        \
			rc = mods_add(&m, LDAP_MOD_ADD, (attr), v_, err);                                              \
	} while (0)
	rc = mods_add(&m, LDAP_MOD_ADD, "objectClass", oc, err);
	if (!rc)
		rc = mods_add(&m, LDAP_MOD_ADD, "cn", cn, err);
	if (!rc)
		rc = mods_add(&m, LDAP_MOD_ADD, "groupType", gt, err);
	OPT("sAMAccountName", g->sam_account_name);
	OPT("description", g->description);
	OPT("displayName", g->display_name);
	OPT(GB_DIRECTORY_ANCHOR_ATTR, g->anchor);
	OPT("adminDescription", g->admin_description);
#undef OPT
	if (!rc && with_members) {
		mv = calloc(with_members + 1, sizeof(*mv));
		if (!mv)
			rc = gb_error_set(err, GB_ENOMEM, "out of memory");
		for (i = 0; !rc && i < with_members; i++) {
			if (!g->members[i] || !*g->members[i])
				rc = gb_error_set(err, GB_EINVAL, "ldap add %s: member %zu is empty", g->dn, i);
			mv[i] = g->members[i];
		}
		if (!rc)
			rc = mods_add(&m, LDAP_MOD_ADD, "member", mv, err);
	}
	if (rc)
		goto out;
	memset(&a, 0, sizeof a);
	a.kind = 'a';
	a.dn = g->dn;
	a.mods = m.list;
	rc = gb_dir_run(d, false, "add", g->dn, write_op, &a, NULL, err);
	if (rc == GB_EEXISTS && g->anchor && *g->anchor) {
		/* An add sent again after a reconnect, whose first attempt reached the DC before it went away: the
		 * entry is there with this group's own anchor, so the add is done. Any other entry stays an error. */
		gb_ad_group *have = NULL;
		gb_error e2;

		gb_error_clear(&e2);
		if (gb_directory_read_group(d, g->dn, false, &have, &e2) == 0 && have->anchor &&
		    strcmp(have->anchor, g->anchor) == 0) {
			gb_info("ldap", "add %s: already there with this anchor (an earlier attempt landed); done", g->dn);
			gb_error_clear(err);
			rc = 0;
		}
		gb_ad_group_free(have);
	}
out:
	free(mv);
	mods_free(&m);
	gb_ad_dn_free(dn);
	return rc;
}

int gb_directory_modify(gb_directory *d, const char *dn, const gb_dir_change *changes, size_t n, gb_error *err)
{
	struct mods m = {NULL, 0, 0};
	struct write_arg a;
	char *real = NULL;
	size_t i;
	int rc = 0;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++) {
		if (changes[i].op == GB_DIR_MOD_REPLACE && gb_str_iequal(changes[i].attr, "member"))
			return gb_error_set(err, GB_EINVAL, "ldap modify %s: member is never replaced wholesale; add and "
					    "remove members in batches", dn ? dn : "(null)");
		if (changes[i].op < GB_DIR_MOD_ADD || changes[i].op > GB_DIR_MOD_REPLACE)
			return gb_error_set(err, GB_EINVAL, "ldap modify %s: unknown change %d", dn ? dn : "(null)",
					    changes[i].op);
	}
	if ((rc = gb_dir_resolve(d, dn, &real, err)) || (rc = gb_directory_fence_check(d, "modify", real, err)))
		goto out;
	for (i = 0; i < n && !rc; i++) {
		int op = changes[i].op == GB_DIR_MOD_ADD ? LDAP_MOD_ADD
			 : changes[i].op == GB_DIR_MOD_DELETE ? LDAP_MOD_DELETE
							     : LDAP_MOD_REPLACE;
		rc = mods_add(&m, op, changes[i].attr, changes[i].values, err);
	}
	if (rc)
		goto out;
	memset(&a, 0, sizeof a);
	a.kind = 'm';
	a.dn = real;
	a.mods = m.list;
	rc = gb_dir_run(d, false, "modify", real, write_op, &a, NULL, err);
out:
	mods_free(&m);
	free(real);
	return rc;
}

int gb_directory_rename(gb_directory *d, const char *dn, const char *new_rdn, const char *new_parent, gb_error *err)
{
	struct write_arg a;
	gb_ad_dn *parsed = NULL, *rdn_check = NULL;
	char *real = NULL, *parent = NULL, *rdn = NULL, *target = NULL;
	size_t len;
	int rc;

	if ((rc = gb_dir_resolve(d, dn, &real, err)) || (rc = gb_directory_fence_check(d, "rename", real, err)))
		goto out;
	if ((rc = gb_ad_dn_parse(real, &parsed, err)))
		goto out;
	if (new_rdn) {
		if ((rc = gb_ad_dn_parse(new_rdn, &rdn_check, err)))
			goto out;
		if (rdn_check->nrdns != 1) {
			rc = gb_error_set(err, GB_EINVAL, "ldap rename %s: new rdn \"%s\" is not one rdn", real, new_rdn);
			goto out;
		}
		rdn = gb_strdup(new_rdn);
	} else {
		/* the current RDN as written: up to the separator before the second RDN */
		len = parsed->nrdns > 1 ? parsed->rdns[1].offset : strlen(real);
		while (len > 0 && (real[len - 1] == ' ' || real[len - 1] == ',' || real[len - 1] == ';') &&
		       !(len > 1 && real[len - 2] == '\\'))
			len--;
		rdn = gb_strndup(real, len);
	}
	if (!rdn) {
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
		goto out;
	}
	if (new_parent)
		parent = gb_strdup(new_parent);
	else if ((rc = gb_ad_dn_parent(real, &parent, err)))
		goto out;
	if (!parent) {
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
		goto out;
	}
	len = strlen(rdn) + strlen(parent) + 2;
	target = malloc(len);
	if (!target) {
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
		goto out;
	}
	snprintf(target, len, "%s%s%s", rdn, *parent ? "," : "", parent);
	if ((rc = gb_directory_fence_check(d, "rename", target, err)))
		goto out;
	memset(&a, 0, sizeof a);
	a.kind = 'r';
	a.dn = real;
	a.new_rdn = rdn;
	a.new_parent = new_parent;
	rc = gb_dir_run(d, false, "rename", real, write_op, &a, NULL, err);
	if (rc)
		gb_error_prefix(err, "renaming to %s", target);
out:
	gb_ad_dn_free(parsed);
	gb_ad_dn_free(rdn_check);
	free(real);
	free(parent);
	free(rdn);
	free(target);
	return rc;
}

int gb_directory_delete(gb_directory *d, const char *dn, const char *expected_id, gb_error *err)
{
	static const char *const attrs[] = {GB_DIRECTORY_ANCHOR_ATTR, NULL};
	struct write_arg a;
	gb_dir_entry *e = NULL;
	char *real = NULL;
	const char *anchor;
	int rc;

	if ((rc = gb_dir_resolve(d, dn, &real, err)) || (rc = gb_directory_fence_check(d, "delete", real, err)))
		goto out;
	if ((rc = gb_directory_get(d, real, attrs, 0, &e, err)))
		goto out;
	anchor = gb_dir_entry_str(e, GB_DIRECTORY_ANCHOR_ATTR);
	if ((rc = gb_dir_anchor_check(real, anchor, expected_id, err)))
		goto out;
	memset(&a, 0, sizeof a);
	a.kind = 'd';
	a.dn = real;
	rc = gb_dir_run(d, false, "delete", real, write_op, &a, NULL, err);
out:
	gb_dir_entry_free(e);
	free(real);
	return rc;
}

/* ---- member batches ---- */

/* The current members of a group as a sorted set of keys: "g:<guid>", "s:<sid>" and "d:<canonical dn, lower case>"
 * for each, so that a value given as a DN, a <GUID=...> or a <SID=...> can be looked up. */
struct keyset {
	char **keys;
	size_t n;
	size_t cap;
};

static void keyset_free(struct keyset *k)
{
	size_t i;

	for (i = 0; i < k->n; i++)
		free(k->keys[i]);
	free(k->keys);
	memset(k, 0, sizeof *k);
}

static int keyset_add(struct keyset *k, const char *prefix, const char *value, gb_error *err)
{
	size_t len = strlen(prefix) + strlen(value) + 1, i;
	char *key;

	if (gb_grow(&k->keys, k->n, &k->cap, sizeof(*k->keys), 64))
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	key = malloc(len);
	if (!key)
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	snprintf(key, len, "%s%s", prefix, value);
	for (i = 0; key[i]; i++)
		if (key[i] >= 'A' && key[i] <= 'Z')
			key[i] = (char)(key[i] - 'A' + 'a');
	k->keys[k->n++] = key;
	return 0;
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The lookup key of a member value as given by a caller ("<GUID=...>", "<SID=...>" or a DN). *out: free(). */
static int member_key(const char *value, char **out, gb_error *err)
{
	struct keyset one = {NULL, 0, 0};
	char guid[GB_AD_GUID_TEXT_SIZE], sid[GB_AD_SID_TEXT_SIZE];
	const char *plain;
	gb_ad_dn *dn = NULL;
	char *canon = NULL;
	int rc;

	*out = NULL;
	if ((rc = gb_ad_extended_dn_split(value, guid, sid, &plain, err)))
		return rc;
	if (guid[0])
		rc = keyset_add(&one, "g:", guid, err);
	else if (sid[0])
		rc = keyset_add(&one, "s:", sid, err);
	else if (!(rc = gb_ad_dn_parse(plain, &dn, err)) && !(rc = gb_ad_dn_format(dn, &canon, err)))
		rc = keyset_add(&one, "d:", canon, err);
	gb_ad_dn_free(dn);
	free(canon);
	if (!rc) {
		*out = one.keys[0];
		one.n = 0;
	}
	keyset_free(&one);
	return rc;
}

static int current_member_cb(const char *value, size_t len, void *ctx, gb_error *err)
{
	struct keyset *k = ctx;
	char guid[GB_AD_GUID_TEXT_SIZE], sid[GB_AD_SID_TEXT_SIZE];
	const char *plain;
	gb_ad_dn *dn = NULL;
	char *canon = NULL;
	int rc;

	(void)len;
	if ((rc = gb_ad_extended_dn_split(value, guid, sid, &plain, err)))
		return rc;
	if (guid[0] && (rc = keyset_add(k, "g:", guid, err)))
		return rc;
	if (sid[0] && (rc = keyset_add(k, "s:", sid, err)))
		return rc;
	if (!(rc = gb_ad_dn_parse(plain, &dn, err)) && !(rc = gb_ad_dn_format(dn, &canon, err)))
		rc = keyset_add(k, "d:", canon, err);
	gb_ad_dn_free(dn);
	free(canon);
	return rc;
}

/* ---- refusals and primary groups ---- */

void gb_dir_refusals_clear(gb_directory *d)
{
	size_t i;

	for (i = 0; i < d->nrefused; i++)
		free(d->refused[i].value);
	free(d->refused);
	d->refused = NULL;
	d->nrefused = 0;
}

static int refusal_add(gb_directory *d, const char *value, int reason, gb_error *err)
{
	gb_dir_refusal *nr = realloc(d->refused, (d->nrefused + 1) * sizeof *nr);

	if (!nr)
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	d->refused = nr;
	if (!(nr[d->nrefused].value = gb_strdup(value)))
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	nr[d->nrefused++].reason = reason;
	return 0;
}

size_t gb_directory_refusals(const gb_directory *d, const gb_dir_refusal **out)
{
	*out = d->refused;
	return d->nrefused;
}

/* The filter "(primaryGroupID=RID)" of the group dn, from the last component of its objectSid. */
static int primary_filter(gb_directory *d, const char *dn, char *filter, size_t n, gb_error *err)
{
	static const char *const attrs[] = {"objectSid", NULL};
	char sid[GB_AD_SID_TEXT_SIZE];
	gb_dir_entry *e = NULL;
	const char *rid;
	int rc;

	if ((rc = gb_directory_get(d, dn, attrs, 0, &e, err)))
		return rc;
	if (!gb_dir_entry_sid(e, sid) || !(rid = strrchr(sid, '-'))) {
		gb_dir_entry_free(e);
		return gb_error_set(err, GB_EPARSE, "ldap %s: the group has no objectSid", dn);
	}
	snprintf(filter, n, "(primaryGroupID=%s)", rid + 1);
	gb_dir_entry_free(e);
	return 0;
}

struct primary_ctx {
	gb_dir_value_cb cb;
	void *ctx;
};

static int primary_guid_cb(const gb_dir_entry *e, void *ctxp, gb_error *err)
{
	struct primary_ctx *c = ctxp;
	char guid[GB_AD_GUID_TEXT_SIZE];

	if (!gb_dir_entry_guid(e, guid))
		return 0;
	return c->cb(guid, strlen(guid), c->ctx, err);
}

int gb_directory_primary_group_members(gb_directory *d, const char *dn, gb_dir_value_cb cb, void *ctx,
				       gb_error *err)
{
	static const char *const attrs[] = {"objectGUID", NULL};
	struct primary_ctx c = {cb, ctx};
	char filter[64];
	int rc;

	if ((rc = primary_filter(d, dn, filter, sizeof filter, err)))
		return rc;
	return gb_directory_search(d, NULL, GB_DIR_SUBTREE, filter, attrs, 0, primary_guid_cb, &c, err);
}

/* Every key (g:, s:, d:) of the objects whose primary group is dn, sorted. */
static int primary_key_cb(const gb_dir_entry *e, void *ctx, gb_error *err)
{
	struct keyset *k = ctx;
	char guid[GB_AD_GUID_TEXT_SIZE], sid[GB_AD_SID_TEXT_SIZE];
	gb_ad_dn *dn = NULL;
	char *canon = NULL;
	int rc = 0;

	if (gb_dir_entry_guid(e, guid))
		rc = keyset_add(k, "g:", guid, err);
	if (!rc && gb_dir_entry_sid(e, sid))
		rc = keyset_add(k, "s:", sid, err);
	if (!rc && !(rc = gb_ad_dn_parse(e->dn, &dn, err)) && !(rc = gb_ad_dn_format(dn, &canon, err)))
		rc = keyset_add(k, "d:", canon, err);
	gb_ad_dn_free(dn);
	free(canon);
	return rc;
}

static int load_primary(gb_directory *d, const char *dn, struct keyset *k, gb_error *err)
{
	static const char *const attrs[] = {"objectGUID", "objectSid", NULL};
	char filter[64];
	int rc;

	if ((rc = primary_filter(d, dn, filter, sizeof filter, err)) ||
	    (rc = gb_directory_search(d, NULL, GB_DIR_SUBTREE, filter, attrs, 0, primary_key_cb, k, err)))
		return rc;
	if (k->n)
		qsort(k->keys, k->n, sizeof *k->keys, cmp_key);
	return 0;
}

/* Whether the key of member value v (member_key) is in the sorted set ks. */
static int in_keyset(const struct keyset *ks, const char *v, bool *in, gb_error *err)
{
	char *key = NULL;
	int rc = member_key(v, &key, err);

	if (rc)
		return rc;
	*in = ks->n && bsearch(&key, ks->keys, ks->n, sizeof *ks->keys, cmp_key) != NULL;
	free(key);
	return 0;
}

/* Keeps at the front of bvp[0..count) (NULL-terminated after them) the values whose key is in the sorted set ks when
 * keep_in, or not in it otherwise; *kept is their number. on_drop, when set, is told of each value left out. */
static int keep_by_keyset(const struct keyset *ks, bool keep_in, struct berval **bvp, size_t count, size_t *kept,
			  int (*on_drop)(gb_directory *d, const char *value, gb_error *err), gb_directory *d,
			  gb_error *err)
{
	size_t i, k = 0;
	int rc;

	for (i = 0; i < count; i++) {
		bool in;

		if ((rc = in_keyset(ks, bvp[i]->bv_val, &in, err)))
			return rc;
		if (in == keep_in)
			bvp[k++] = bvp[i];
		else if (on_drop && (rc = on_drop(d, bvp[i]->bv_val, err)))
			return rc;
	}
	bvp[k] = NULL;
	*kept = k;
	return 0;
}

static int refuse_primary(gb_directory *d, const char *value, gb_error *err)
{
	gb_warn("ldap", "member %s: the group is its primary group (a member already, through its primaryGroupID); "
		"not written", value);
	return refusal_add(d, value, GB_DIR_REFUSED_PRIMARY_GROUP, err);
}

/* Leaves out of bvp[0..count) the values whose primary group is the group (prim), recording each as refused;
 * *left is the number of values left at the front. */
static int drop_primary(gb_directory *d, const struct keyset *prim, struct berval **bvp, size_t count, size_t *left,
			gb_error *err)
{
	return keep_by_keyset(prim, false, bvp, count, left, refuse_primary, d, err);
}

/* The group's current members, sorted, for narrow_batch. */
static int load_current(gb_directory *d, const char *dn, struct keyset *cur, gb_error *err)
{
	int rc = gb_directory_read_values(d, dn, "member", GB_DIR_EXTENDED_DN, current_member_cb, cur, err);

	if (!rc && cur->n)
		qsort(cur->keys, cur->n, sizeof *cur->keys, cmp_key);
	return rc;
}

/* A server that does not honour the permissive modify control for linked attributes (Samba 4.17 does not) fails a
 * whole batch with 68 (add) or 53/16 (delete) when one value is already (or no longer) there. The batch is then
 * narrowed to the values that still need the change, read against the group's current members (cur). *kept is the
 * number of values left at the front of bvp. */
static int narrow_batch(const struct keyset *cur, int op, struct berval **bvp, size_t count, size_t *kept,
			gb_error *err)
{
	return keep_by_keyset(cur, op != LDAP_MOD_ADD, bvp, count, kept, NULL, NULL, err);
}

/* Fills bv/bvp with members[0..n) (bvp NULL-terminated); GB_EINVAL naming the empty value. */
static int fill_batch(const char *opname, const char *dn, const char *const *members, size_t n, struct berval *bv,
		      struct berval **bvp, gb_error *err)
{
	size_t j;

	for (j = 0; j < n; j++) {
		if (!members[j] || !*members[j])
			return gb_error_set(err, GB_EINVAL, "ldap %s %s: member %zu is empty", opname, dn, j);
		bv[j].bv_val = (char *)members[j];
		bv[j].bv_len = strlen(members[j]);
		bvp[j] = &bv[j];
	}
	bvp[n] = NULL;
	return 0;
}

static bool narrowable(const gb_directory *d, int op)
{
	return (op == LDAP_MOD_ADD && d->last_rc == LDAP_ALREADY_EXISTS) ||
	       (op == LDAP_MOD_DELETE && (d->last_rc == LDAP_UNWILLING_TO_PERFORM || d->last_rc == LDAP_NO_SUCH_ATTRIBUTE));
}

/* The batch in bvp[0..count) failed with a code that says some of its values are done already (68 on an add, 53 or
 * 16 on a delete: a server that ignores the permissive modify control): the values whose primary group is the
 * group are left out (and recorded), those that no longer need the change are dropped (read against the group's
 * current members), and the rest is sent once more. */
static int narrow_and_retry(gb_directory *d, int op, const char *real, struct write_arg *a, struct berval **bvp,
			    size_t count, const char *opname, gb_error *err)
{
	struct keyset cur = {NULL, 0, 0}, prim = {NULL, 0, 0};
	size_t left = 0, kept = 0;
	int rc;

	if ((rc = load_current(d, real, &cur, err)) || (rc = load_primary(d, real, &prim, err)) ||
	    (rc = drop_primary(d, &prim, bvp, count, &left, err)) ||
	    (rc = narrow_batch(&cur, op, bvp, left, &kept, err)))
		goto out;
	if (kept > 0)
		rc = gb_dir_run(d, false, opname, real, write_op, a, NULL, err);
out:
	keyset_free(&cur);
	keyset_free(&prim);
	return rc;
}

static int change_members(gb_directory *d, int op, const char *dn, const char *const *members, size_t n,
			  size_t *done, gb_error *err)
{
	static LDAPControl permissive = {PERMISSIVE_MODIFY_OID, {0, NULL}, 1};
	LDAPControl *ctrls[2] = {&permissive, NULL};
	const char *opname = op == LDAP_MOD_ADD ? "add members to" : "remove members from";
	struct berval *bv = NULL, **bvp = NULL;
	LDAPMod mod, *mods[2] = {&mod, NULL};
	struct write_arg a;
	char *real = NULL;
	size_t batch = (size_t)d->member_batch, i;
	int rc;

	if (done)
		*done = 0;
	if (n == 0)
		return 0;
	if ((rc = gb_dir_resolve(d, dn, &real, err)) || (rc = gb_directory_fence_check(d, opname, real, err)))
		goto out;
	bv = calloc(batch, sizeof *bv);
	bvp = calloc(batch + 1, sizeof *bvp);
	if (!bv || !bvp) {
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < n;) {
		size_t end = i + batch < n ? i + batch : n;

		if ((rc = fill_batch(opname, real, members + i, end - i, bv, bvp, err)))
			goto out;
		mod.mod_op = op | LDAP_MOD_BVALUES;
		mod.mod_type = "member";
		mod.mod_bvalues = bvp;
		memset(&a, 0, sizeof a);
		a.kind = 'm';
		a.dn = real;
		a.mods = mods;
		a.ctrls = ctrls;
		rc = gb_dir_run(d, false, opname, real, write_op, &a, NULL, err);
		if (rc && d->last_rc == LDAP_ADMINLIMIT_EXCEEDED && end - i > 1) {
			batch = halve_batch(d, opname, real, end - i);
			gb_error_clear(err);
			continue;
		}
		if (rc && narrowable(d, op))
			rc = narrow_and_retry(d, op, real, &a, bvp, end - i, opname, err);
		if (rc) {
			gb_error_prefix(err, "values %zu to %zu of %zu", i + 1, end, n);
			goto out;
		}
		if (done)
			*done = end;
		i = end;
	}
out:
	free(bv);
	free(bvp);
	free(real);
	return rc;
}

int gb_directory_add_members(gb_directory *d, const char *dn, const char *const *members, size_t n, size_t *done,
			     gb_error *err)
{
	gb_dir_refusals_clear(d);
	return change_members(d, LDAP_MOD_ADD, dn, members, n, done, err);
}

int gb_directory_remove_members(gb_directory *d, const char *dn, const char *const *members, size_t n, size_t *done,
				gb_error *err)
{
	gb_dir_refusals_clear(d);
	return change_members(d, LDAP_MOD_DELETE, dn, members, n, done, err);
}

int gb_directory_update_members(gb_directory *d, const char *dn, const char *const *adds, size_t nadd,
				const char *const *removes, size_t nremove, gb_error *err)
{
	static LDAPControl permissive = {PERMISSIVE_MODIFY_OID, {0, NULL}, 1};
	LDAPControl *ctrls[2] = {&permissive, NULL};
	struct berval *bv = NULL, **add_p = NULL, **del_p = NULL;
	LDAPMod madd, mdel, *mods[3];
	struct keyset cur = {NULL, 0, 0}, prim = {NULL, 0, 0};
	struct write_arg a;
	char *real = NULL;
	int rc;

	gb_dir_refusals_clear(d);
	/* One side empty, or more values than one modify carries: the batched calls. */
	if (nadd == 0 || nremove == 0 || nadd + nremove > (size_t)d->member_batch) {
		rc = change_members(d, LDAP_MOD_ADD, dn, adds, nadd, NULL, err);
		return rc ? rc : change_members(d, LDAP_MOD_DELETE, dn, removes, nremove, NULL, err);
	}
	if ((rc = gb_dir_resolve(d, dn, &real, err)) || (rc = gb_directory_fence_check(d, "change members of", real, err)))
		goto out;
	bv = calloc(nadd + nremove, sizeof *bv);
	add_p = calloc(nadd + 1, sizeof *add_p);
	del_p = calloc(nremove + 1, sizeof *del_p);
	if (!bv || !add_p || !del_p) {
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = fill_batch("add members to", real, adds, nadd, bv, add_p, err)) ||
	    (rc = fill_batch("remove members from", real, removes, nremove, bv + nadd, del_p, err)))
		goto out;
	madd.mod_op = LDAP_MOD_ADD | LDAP_MOD_BVALUES;
	madd.mod_type = "member";
	madd.mod_bvalues = add_p;
	mdel.mod_op = LDAP_MOD_DELETE | LDAP_MOD_BVALUES;
	mdel.mod_type = "member";
	mdel.mod_bvalues = del_p;
	mods[0] = &madd;
	mods[1] = &mdel;
	mods[2] = NULL;
	memset(&a, 0, sizeof a);
	a.kind = 'm';
	a.dn = real;
	a.mods = mods;
	a.ctrls = ctrls;
	rc = gb_dir_run(d, false, "change members of", real, write_op, &a, NULL, err);
	if (rc && d->last_rc == LDAP_ADMINLIMIT_EXCEEDED) {
		/* too many values for one request: the halves go in batches below what was refused */
		halve_batch(d, "change members of", real, nadd + nremove);
		gb_error_clear(err);
		rc = change_members(d, LDAP_MOD_ADD, real, adds, nadd, NULL, err);
		if (!rc)
			rc = change_members(d, LDAP_MOD_DELETE, real, removes, nremove, NULL, err);
		goto out;
	}
	if (rc && (narrowable(d, LDAP_MOD_ADD) || narrowable(d, LDAP_MOD_DELETE))) {
		/* Either half may have met a value already done (a retried run), or a member whose primary group this
		 * is: leave those out of both, narrow both, send what is left. */
		size_t kadd = 0, kdel = 0, k = 0;

		if ((rc = load_current(d, real, &cur, err)) || (rc = load_primary(d, real, &prim, err)) ||
		    (rc = drop_primary(d, &prim, add_p, nadd, &nadd, err)) ||
		    (rc = drop_primary(d, &prim, del_p, nremove, &nremove, err)) ||
		    (rc = narrow_batch(&cur, LDAP_MOD_ADD, add_p, nadd, &kadd, err)) ||
		    (rc = narrow_batch(&cur, LDAP_MOD_DELETE, del_p, nremove, &kdel, err)))
			goto out;
		if (kadd)
			mods[k++] = &madd;
		if (kdel)
			mods[k++] = &mdel;
		mods[k] = NULL;
		if (k)
			rc = gb_dir_run(d, false, "change members of", real, write_op, &a, NULL, err);
	}
out:
	keyset_free(&cur);
	keyset_free(&prim);
	free(bv);
	free(add_p);
	free(del_p);
	free(real);
	return rc;
}
