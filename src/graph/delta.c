/* delta.c: /groups/delta and /users/delta: page parsing, the deltaLink kept in the state store, expiry. */
#include "graph/graph_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/buf.h"
#include "groupbridge/log.h"
#include "groupbridge/util.h"

static int take_links(const json_t *page, char **next_link, char **delta_link, gb_error *err)
{
	const char *nl = gb_graph__str(page, "@odata.nextLink"), *dl = gb_graph__str(page, "@odata.deltaLink");

	*next_link = *delta_link = NULL;
	if (!nl == !dl)
		return gb_error_set(err, GB_EPARSE, "a delta page must carry exactly one of @odata.nextLink and "
				    "@odata.deltaLink");
	if (nl)
		*next_link = gb_strdup(nl);
	else
		*delta_link = gb_strdup(dl);
	if (!*next_link && !*delta_link)
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	return 0;
}

static void free_refs(gb_member_ref *r, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(r[i].id);
	free(r);
}

static int push_ref(gb_member_ref **v, size_t *n, gb_member_ref *m, gb_error *err)
{
	gb_member_ref *p = realloc(*v, (*n + 1) * sizeof(*p));

	if (!p)
		return gb_error_set(err, GB_ENOMEM, "out of memory reading members@delta");
	*v = p;
	p[(*n)++] = *m;
	return 0;
}

/* Microsoft's rule for default delta replies (no "Prefer: return=minimal", which groupbridge never sends): every
 * selected property is in the record, changed or not, except one that "has never been set before", which "will not
 * be included in the response at all" (group-delta.md). So a record that is not @removed tells every property: one
 * it omits is null. displayName, securityEnabled and mailEnabled are set when any group is created, so a record
 * without them is not a default reply, and its absent properties mean nothing. */
static bool record_complete(const json_t *item)
{
	static const char *const always[] = {"displayName", "securityEnabled", "mailEnabled"};
	size_t i;

	if (json_object_get(item, "@removed"))
		return false;
	for (i = 0; i < sizeof(always) / sizeof(always[0]); i++)
		if (!json_object_get(item, always[i]))
			return false;
	return true;
}

/* The loop over a delta page: each record to one(), then the page's links. */
static int each_record(const json_t *page, int (*one)(const json_t *item, void *ctx, gb_error *err), void *ctx,
		       char **next_link, char **delta_link, gb_error *err)
{
	json_t *value = json_object_get(page, "value"), *item;
	size_t i;
	int rc;

	*next_link = *delta_link = NULL;
	if (!json_is_array(value))
		return gb_error_set(err, GB_EPARSE, "a delta page has no \"value\" array");
	json_array_foreach(value, i, item) {
		if ((rc = one(item, ctx, err)))
			return rc;
	}
	return take_links(page, next_link, delta_link, err);
}

typedef struct group_cb {
	const char *ext_name;
	gb_graph_group_delta_fn fn;
	void *ud;
} group_cb;

static int group_record(const json_t *item, void *ctx, gb_error *err)
{
	const group_cb *cb = ctx;
	gb_graph_group_delta d;
	json_t *md, *m;
	size_t j;
	int rc;

	memset(&d, 0, sizeof(d));
	rc = gb_graph_group_from_json(item, cb->ext_name, &d.group, err);
	if (rc)
		return rc;
	d.complete = record_complete(item);
	md = json_object_get(item, "members@delta");
	d.members_delta = md != NULL;
	if (md && !json_is_array(md)) {
		rc = gb_error_set(err, GB_EPARSE, "group %s: members@delta is not an array", d.group.id);
		goto out;
	}
	json_array_foreach(md, j, m) {
		gb_member_ref r;

		rc = gb_graph_member_from_json(m, &r, err);
		if (rc) {
			gb_error_prefix(err, "group %s: members@delta", d.group.id);
			goto out;
		}
		if (json_object_get(m, "@removed"))
			rc = push_ref(&d.removed, &d.nremoved, &r, err);
		else
			rc = push_ref(&d.added, &d.nadded, &r, err);
		if (rc) {
			free(r.id);
			goto out;
		}
	}
	rc = cb->fn(&d, cb->ud, err);
out:
	gb_cloud_group_clear(&d.group);
	free_refs(d.added, d.nadded);
	free_refs(d.removed, d.nremoved);
	return rc;
}

int gb_graph_delta_parse_groups(const json_t *page, const char *ext_name, gb_graph_group_delta_fn fn, void *ud,
				char **next_link, char **delta_link, gb_error *err)
{
	group_cb cb = {ext_name, fn, ud};

	return each_record(page, group_record, &cb, next_link, delta_link, err);
}

int gb_graph_delta_parse_users(const json_t *page, gb_graph_user_delta_fn fn, void *ud, char **next_link,
			       char **delta_link, gb_error *err)
{
	gb_graph__user_cb cb = {fn, ud};

	return each_record(page, gb_graph__on_user, &cb, next_link, delta_link, err);
}

bool gb_graph_delta_is_expired(long status, const char *body, size_t len)
{
	return gb_graph_page_expired(status, body, len);
}

/* The common driver: parse is gb_graph_delta_parse_groups or _users bound to the caller's callback. */
typedef int (*page_fn)(const json_t *page, void *ctx, char **next, char **delta, gb_error *err);
typedef int (*reset_fn)(void *ctx, gb_error *err);

/* Where a run starts: the "sync from now" URL, the saved link (*saved true), or initial for a full read. */
static int start_url(gb_store *st, const char *key, const char *initial, unsigned flags, char **url, bool *saved,
		     gb_error *err)
{
	int rc = 0;

	*url = NULL;
	*saved = false;
	if (flags & GB_GRAPH_DELTA_LATEST) {
		gb_buf b;

		gb_buf_init(&b, 8192);
		rc = gb_buf_printf(&b, err, "%s%s$deltatoken=latest", initial, strchr(initial, '?') ? "&" : "?");
		if (!rc && !(*url = gb_strdup(gb_buf_cstr(&b))))
			rc = gb_error_set(err, GB_ENOMEM, "out of memory");
		gb_buf_free(&b);
		return rc;
	}
	if (st) {
		rc = gb_store_kv_get(st, key, url, err);
		if (rc == GB_ENOTFOUND)
			rc = 0;
		*saved = !rc && *url;
	}
	return rc;
}

/* A reply that says the link is dead: an expired state token by any shape, and for the saved link any other 4xx
 * but 401 and 403 (those are about permissions, not the link, and the link stays for when they are granted). */
static bool link_dead(const gb_graph_response *r, bool saved)
{
	if (gb_graph_delta_is_expired(r->status, r->body, r->body_len))
		return true;
	return saved && r->status >= 400 && r->status < 500 && r->status != 401 && r->status != 403;
}

/* A dead link: forgotten, then reported (GB_ERETRY: read everything) or, with the fallback, *restart. */
static int on_dead(gb_store *st, const char *key, unsigned flags, const gb_graph_response *r, const char *what,
		   gb_graph_delta_info *info, bool *restart, gb_error *err)
{
	char desc[800];
	int rc = 0;

	*restart = false;
	info->expired = true;
	if (st)
		rc = gb_store_kv_del(st, key, err);
	if (rc)
		return rc;
	gb_graph_describe_error(r->status, r->body, r->body_len, desc, sizeof(desc));
	if (!(flags & GB_GRAPH_DELTA_FALLBACK))
		return gb_error_set(err, GB_ERETRY, "%s: the saved delta link has expired (%s); a full read is needed",
				    what, desc);
	gb_info("graph", "%s: the delta link has expired (%s); reading everything again", what, desc);
	*restart = true;
	info->full = true;
	return 0;
}

/* One page: parsed and handed to parse; *next is the next URL, or NULL after the last page (its deltaLink saved). */
static int delta_page(gb_store *st, const char *key, gb_graph_response *r, const char *what, page_fn parse,
		      void *ctx, char **next, gb_error *err)
{
	json_t *page = NULL;
	char *delta = NULL;
	int rc = gb_graph_parse_json(what, r->body, r->body_len, &page, err);

	*next = NULL;
	if (!rc) {
		rc = parse(page, ctx, next, &delta, err);
		if (rc == GB_EPARSE || rc == GB_ENOMEM)
			gb_error_prefix(err, "%s", what);
	}
	if (!rc && !*next && st)
		rc = gb_store_kv_set(st, key, delta, err);
	json_decref(page);
	free(delta);
	return rc;
}

static int run_delta(gb_graph *g, gb_store *st, const char *key, const char *initial, unsigned flags, page_fn parse,
		     reset_fn reset, void *ctx, gb_graph_delta_info *info, gb_error *err)
{
	char *url = NULL, *next = NULL, what[600];
	gb_graph_response *r = NULL;
	bool saved = false, restart = false;
	int rc, restarts = 0;

	memset(info, 0, sizeof(*info));
	rc = start_url(st, key, initial, flags, &url, &saved, err);
	while (!rc) {
		if (!url || restart) {
			free(url);
			info->full = true;
			url = gb_strdup(initial);
			rc = url ? reset(ctx, err) : gb_error_set(err, GB_ENOMEM, "out of memory");
			restart = saved = false;
			if (rc)
				break;
		}
		rc = gb_graph_request(g, "GET", url, NULL, NULL, &r, err);
		if (rc)
			break;
		snprintf(what, sizeof(what), "GET %s (client-request-id %s)", gb_graph__path(g, url),
			 r->client_request_id);
		if (r->status >= 200 && r->status < 300) {
			rc = delta_page(st, key, r, what, parse, ctx, &next, err);
			info->pages += !rc;
			free(url);
			url = next;
			next = NULL;
			saved = false;
			if (!rc && !url)
				break;
		} else if (!restarts && link_dead(r, saved)) {
			restarts++;
			rc = on_dead(st, key, flags, r, what, info, &restart, err);
		} else {
			rc = gb_graph__reply_error(g, "GET", url, r, err);
		}
		gb_graph_response_free(r);
		r = NULL;
	}
	gb_graph_response_free(r);
	free(url);
	return rc;
}

/* One context for both kinds of delta: exactly one of gfn and ufn is set, so that the count and the reset are
 * written once. */
typedef struct dctx {
	gb_graph *g;
	gb_graph_group_delta_fn gfn;
	gb_graph_user_delta_fn ufn;
	void *ud;
	gb_graph_delta_info *info;
} dctx;

static int g_count(const gb_graph_group_delta *d, void *ud, gb_error *err)
{
	dctx *c = ud;

	c->info->records++;
	return c->gfn(d, c->ud, err);
}

static int u_count(const gb_cloud_user *u, void *ud, gb_error *err)
{
	dctx *c = ud;

	c->info->records++;
	return c->ufn(u, c->ud, err);
}

static int g_page(const json_t *page, void *ctx, char **next, char **delta, gb_error *err)
{
	dctx *c = ctx;

	return gb_graph_delta_parse_groups(page, c->g->ext_name, g_count, c, next, delta, err);
}

static int u_page(const json_t *page, void *ctx, char **next, char **delta, gb_error *err)
{
	return gb_graph_delta_parse_users(page, u_count, ctx, next, delta, err);
}

/* The reset is announced to the caller's callback as NULL: a full enumeration follows (graph_delta.h). */
static int d_reset(void *ctx, gb_error *err)
{
	dctx *c = ctx;

	return c->gfn ? c->gfn(NULL, c->ud, err) : c->ufn(NULL, c->ud, err);
}

int gb_graph_delta_groups(gb_graph *g, gb_store *st, unsigned flags, gb_graph_group_delta_fn fn, void *ud,
			  gb_graph_delta_info *info, gb_error *err)
{
	gb_graph_delta_info local;
	dctx c = {g, fn, NULL, ud, info ? info : &local};
	gb_buf url;
	int rc;

	gb_buf_init(&url, 4096);
	rc = gb_buf_printf(&url, err, "/v1.0/groups/delta?$select=%s%s%s,members", GB_GRAPH_GROUP_SELECT,
			   g->ext_name ? "," : "", g->ext_name ? g->ext_name : "");
	if (!rc)
		rc = run_delta(g, st, GB_GRAPH_DELTA_KEY_GROUPS, gb_buf_cstr(&url), flags, g_page, d_reset, &c, c.info,
			       err);
	gb_buf_free(&url);
	return rc;
}

int gb_graph_delta_users(gb_graph *g, gb_store *st, unsigned flags, gb_graph_user_delta_fn fn, void *ud,
			 gb_graph_delta_info *info, gb_error *err)
{
	gb_graph_delta_info local;
	dctx c = {g, NULL, fn, ud, info ? info : &local};

	return run_delta(g, st, GB_GRAPH_DELTA_KEY_USERS, "/v1.0/users/delta?$select=" GB_GRAPH_USER_SELECT, flags,
			 u_page, d_reset, &c, c.info, err);
}
