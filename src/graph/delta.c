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

/* True when the record carries every property of GB_GRAPH_GROUP_SELECT (a null one as null). */
static bool record_complete(const json_t *item)
{
	const char *p = GB_GRAPH_GROUP_SELECT;
	char name[64];

	while (*p) {
		size_t n = strcspn(p, ",");
		if (n >= sizeof(name))
			return false;
		memcpy(name, p, n);
		name[n] = '\0';
		if (!json_object_get(item, name))
			return false;
		p += n;
		if (*p == ',')
			p++;
	}
	return true;
}

int gb_graph_delta_parse_groups(const json_t *page, const char *ext_name, gb_graph_group_delta_fn fn, void *ud,
				char **next_link, char **delta_link, gb_error *err)
{
	json_t *value = json_object_get(page, "value"), *item;
	size_t i;
	int rc;

	*next_link = *delta_link = NULL;
	if (!json_is_array(value))
		return gb_error_set(err, GB_EPARSE, "a delta page has no \"value\" array");
	json_array_foreach(value, i, item) {
		gb_graph_group_delta d;
		json_t *md, *m;
		size_t j;

		memset(&d, 0, sizeof(d));
		rc = gb_graph_group_from_json(item, ext_name, &d.group, err);
		if (rc)
			return rc;
		d.complete = record_complete(item);
		md = json_object_get(item, "members@delta");
		d.members_delta = md != NULL;
		if (md && !json_is_array(md)) {
			rc = gb_error_set(err, GB_EPARSE, "group %s: members@delta is not an array", d.group.id);
			goto next;
		}
		json_array_foreach(md, j, m) {
			gb_member_ref r;

			rc = gb_graph_member_from_json(m, &r, err);
			if (rc) {
				gb_error_prefix(err, "group %s: members@delta", d.group.id);
				goto next;
			}
			if (json_object_get(m, "@removed"))
				rc = push_ref(&d.removed, &d.nremoved, &r, err);
			else
				rc = push_ref(&d.added, &d.nadded, &r, err);
			if (rc) {
				free(r.id);
				goto next;
			}
		}
		rc = fn(&d, ud, err);
	next:
		gb_cloud_group_clear(&d.group);
		free_refs(d.added, d.nadded);
		free_refs(d.removed, d.nremoved);
		if (rc)
			return rc;
	}
	return take_links(page, next_link, delta_link, err);
}

int gb_graph_delta_parse_users(const json_t *page, gb_graph_user_delta_fn fn, void *ud, char **next_link,
			       char **delta_link, gb_error *err)
{
	json_t *value = json_object_get(page, "value"), *item;
	size_t i;
	int rc;

	*next_link = *delta_link = NULL;
	if (!json_is_array(value))
		return gb_error_set(err, GB_EPARSE, "a delta page has no \"value\" array");
	json_array_foreach(value, i, item) {
		gb_cloud_user u;

		rc = gb_graph_user_from_json(item, &u, err);
		if (rc)
			return rc;
		rc = fn(&u, ud, err);
		gb_cloud_user_clear(&u);
		if (rc)
			return rc;
	}
	return take_links(page, next_link, delta_link, err);
}

static bool icontains(const char *s, const char *needle)
{
	size_t n = strlen(needle), i;

	for (; s && *s; s++) {
		for (i = 0; i < n && s[i] && tolower((unsigned char)s[i]) == needle[i]; i++)
			;
		if (i == n)
			return true;
	}
	return false;
}

bool gb_graph_delta_is_expired(long status, const char *body, size_t len)
{
	json_t *root, *e;
	const char *code;
	bool expired = false;

	if (status == 410)
		return true;
	if (status < 400 || status >= 500 || !body || !len)
		return false;
	root = json_loadb(body, len, 0, NULL);
	e = json_object_get(root, "error");
	code = gb_graph__str(e, "code");
	if (code && (icontains(code, "syncstate") || icontains(code, "resync") || icontains(code, "deltatoken")))
		expired = true;
	json_decref(root);
	return expired;
}

/* The common driver: parse is gb_graph_delta_parse_groups or _users bound to the caller's callback. */
typedef int (*page_fn)(const json_t *page, void *ctx, char **next, char **delta, gb_error *err);
typedef int (*reset_fn)(void *ctx, gb_error *err);

static int run_delta(gb_graph *g, gb_store *st, const char *key, const char *initial, unsigned flags, page_fn parse,
		     reset_fn reset, void *ctx, gb_graph_delta_info *info, gb_error *err)
{
	char *url = NULL, *next = NULL, *delta = NULL, what[600];
	gb_graph_response *r = NULL;
	json_t *page = NULL;
	int rc, restarts = 0;

	memset(info, 0, sizeof(*info));
	if (flags & GB_GRAPH_DELTA_LATEST) {
		gb_buf b;

		gb_buf_init(&b, 8192);
		rc = gb_buf_printf(&b, err, "%s%s$deltatoken=latest", initial, strchr(initial, '?') ? "&" : "?");
		url = rc ? NULL : gb_strdup(gb_buf_cstr(&b));
		gb_buf_free(&b);
		if (rc)
			return rc;
		if (!url)
			return gb_error_set(err, GB_ENOMEM, "out of memory");
	} else if (st) {
		rc = gb_store_kv_get(st, key, &url, err);
		if (rc == GB_ENOTFOUND)
			url = NULL;
		else if (rc)
			return rc;
	}
	if (!url) {
		info->full = true;
		url = gb_strdup(initial);
		if (!url)
			return gb_error_set(err, GB_ENOMEM, "out of memory");
		rc = reset(ctx, err);
		if (rc)
			goto cleanup;
	}
	for (;;) {
		rc = gb_graph_request(g, "GET", url, NULL, NULL, &r, err);
		if (rc)
			goto cleanup;
		snprintf(what, sizeof(what), "GET %s (client-request-id %s)", gb_graph__path(g, url),
			 r->client_request_id);
		if (r->status < 200 || r->status >= 300) {
			if (!gb_graph_delta_is_expired(r->status, r->body, r->body_len) || restarts) {
				rc = gb_graph__reply_error(g, "GET", url, r, err);
				goto cleanup;
			}
			info->expired = true;
			if (st) {
				rc = gb_store_kv_del(st, key, err);
				if (rc)
					goto cleanup;
			}
			if (!(flags & GB_GRAPH_DELTA_FALLBACK)) {
				char desc[800];

				gb_graph_describe_error(r->status, r->body, r->body_len, desc, sizeof(desc));
				rc = gb_error_set(err, GB_ERETRY, "%s: the saved delta link has expired (%s); a full read is "
						  "needed", what, desc);
				goto cleanup;
			}
			gb_info("graph", "%s: the delta link has expired; reading everything again", what);
			restarts++;
			info->full = true;
			free(url);
			url = gb_strdup(initial);
			gb_graph_response_free(r);
			r = NULL;
			if (!url) {
				rc = gb_error_set(err, GB_ENOMEM, "out of memory");
				goto cleanup;
			}
			rc = reset(ctx, err);
			if (rc)
				goto cleanup;
			continue;
		}
		rc = gb_graph_parse_json(what, r->body, r->body_len, &page, err);
		if (rc)
			goto cleanup;
		gb_graph_response_free(r);
		r = NULL;
		rc = parse(page, ctx, &next, &delta, err);
		if (rc) {
			if (rc == GB_EPARSE || rc == GB_ENOMEM)
				gb_error_prefix(err, "%s", what);
			goto cleanup;
		}
		json_decref(page);
		page = NULL;
		info->pages++;
		free(url);
		url = NULL;
		if (next) {
			url = next;
			next = NULL;
			continue;
		}
		if (st) {
			rc = gb_store_kv_set(st, key, delta, err);
			if (rc)
				goto cleanup;
		}
		break;
	}
cleanup:
	json_decref(page);
	gb_graph_response_free(r);
	free(url);
	free(next);
	free(delta);
	return rc;
}

typedef struct gctx {
	gb_graph *g;
	gb_graph_group_delta_fn fn;
	void *ud;
	gb_graph_delta_info *info;
} gctx;

static int g_count(const gb_graph_group_delta *d, void *ud, gb_error *err)
{
	gctx *c = ud;

	c->info->records++;
	return c->fn(d, c->ud, err);
}

static int g_page(const json_t *page, void *ctx, char **next, char **delta, gb_error *err)
{
	gctx *c = ctx;

	return gb_graph_delta_parse_groups(page, c->g->ext_name, g_count, c, next, delta, err);
}

static int g_reset(void *ctx, gb_error *err)
{
	gctx *c = ctx;

	return c->fn(NULL, c->ud, err);
}

int gb_graph_delta_groups(gb_graph *g, gb_store *st, unsigned flags, gb_graph_group_delta_fn fn, void *ud,
			  gb_graph_delta_info *info, gb_error *err)
{
	gb_graph_delta_info local;
	gctx c = {g, fn, ud, info ? info : &local};
	gb_buf url;
	int rc;

	gb_buf_init(&url, 4096);
	rc = gb_buf_printf(&url, err, "/v1.0/groups/delta?$select=%s%s%s,members", GB_GRAPH_GROUP_SELECT,
			   g->ext_name ? "," : "", g->ext_name ? g->ext_name : "");
	if (!rc)
		rc = run_delta(g, st, GB_GRAPH_DELTA_KEY_GROUPS, gb_buf_cstr(&url), flags, g_page, g_reset, &c, c.info,
			       err);
	gb_buf_free(&url);
	return rc;
}

typedef struct uctx {
	gb_graph_user_delta_fn fn;
	void *ud;
	gb_graph_delta_info *info;
} uctx;

static int u_count(const gb_cloud_user *u, void *ud, gb_error *err)
{
	uctx *c = ud;

	c->info->records++;
	return c->fn(u, c->ud, err);
}

static int u_page(const json_t *page, void *ctx, char **next, char **delta, gb_error *err)
{
	return gb_graph_delta_parse_users(page, u_count, ctx, next, delta, err);
}

static int u_reset(void *ctx, gb_error *err)
{
	uctx *c = ctx;

	return c->fn(NULL, c->ud, err);
}

int gb_graph_delta_users(gb_graph *g, gb_store *st, unsigned flags, gb_graph_user_delta_fn fn, void *ud,
			 gb_graph_delta_info *info, gb_error *err)
{
	gb_graph_delta_info local;
	uctx c = {fn, ud, info ? info : &local};

	return run_delta(g, st, GB_GRAPH_DELTA_KEY_USERS, "/v1.0/users/delta?$select=" GB_GRAPH_USER_SELECT, flags,
			 u_page, u_reset, &c, c.info, err);
}
