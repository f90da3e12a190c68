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
static int delta_page(gb_store *st, const char *key, const gb_graph_response *r, const char *what, page_fn parse,
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

/* One delta listing being read: where it stands, and what the reply to its request means. The sequential driver
 * (run_delta) and the concurrent one (gb_graph_delta_both) share it, so that both read, save and restart alike. */
typedef struct chain {
	gb_graph *g;
	gb_store *st;
	const char *key;
	const char *initial;
	unsigned flags;
	page_fn parse;
	reset_fn reset;
	void *ctx;
	gb_graph_delta_info *info;
	char *url;    /* the next request; NULL once the listing is read */
	bool saved;   /* url is the saved link */
	int restarts;
} chain;

/* From the first page again: the reset announced to the callback first. */
static int chain_full(chain *c, gb_error *err)
{
	free(c->url);
	c->info->full = true;
	c->saved = false;
	c->url = gb_strdup(c->initial);
	return c->url ? c->reset(c->ctx, err) : gb_error_set(err, GB_ENOMEM, "out of memory");
}

static int chain_start(chain *c, gb_error *err)
{
	int rc;

	memset(c->info, 0, sizeof(*c->info));
	c->restarts = 0;
	rc = start_url(c->st, c->key, c->initial, c->flags, &c->url, &c->saved, err);
	return !rc && !c->url ? chain_full(c, err) : rc;
}

/* Graph's reply r to c->url: its page delivered and c->url the next request (NULL after the last page, its link
 * saved), or the listing restarted after a dead link, or the error. */
static int chain_reply(chain *c, const gb_graph_response *r, gb_error *err)
{
	char what[600];
	bool restart = false;
	int rc;

	snprintf(what, sizeof(what), "GET %s (client-request-id %s)", gb_graph__path(c->g, c->url),
		 r->client_request_id);
	if (r->status >= 200 && r->status < 300) {
		char *next = NULL;

		rc = delta_page(c->st, c->key, r, what, c->parse, c->ctx, &next, err);
		c->info->pages += !rc;
		free(c->url);
		c->url = next;
		c->saved = false;
		return rc;
	}
	if (!c->restarts && link_dead(r, c->saved)) {
		c->restarts++;
		rc = on_dead(c->st, c->key, c->flags, r, what, c->info, &restart, err);
		return !rc && restart ? chain_full(c, err) : rc;
	}
	return gb_graph__reply_error(c->g, "GET", c->url, r, err);
}

static int run_delta(chain *c, gb_error *err)
{
	int rc = chain_start(c, err);

	while (!rc && c->url) {
		gb_graph_response *r = NULL;

		rc = gb_graph_request(c->g, "GET", c->url, NULL, NULL, &r, err);
		if (!rc)
			rc = chain_reply(c, r, err);
		gb_graph_response_free(r);
	}
	free(c->url);
	c->url = NULL;
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

/* The two listings: their callbacks' context and their chains (the groups' first URL built in url). */
static int groups_chain(gb_graph *g, gb_store *st, unsigned flags, dctx *d, gb_buf *url, chain *c, gb_error *err)
{
	memset(c, 0, sizeof(*c));
	gb_buf_init(url, 4096);
	*c = (chain){g, st, GB_GRAPH_DELTA_KEY_GROUPS, NULL, flags, g_page, d_reset, d, d->info, NULL, false, 0};
	if (gb_buf_printf(url, err, "/v1.0/groups/delta?$select=%s%s%s,members", GB_GRAPH_GROUP_SELECT,
			  g->ext_name ? "," : "", g->ext_name ? g->ext_name : ""))
		return err->code;
	c->initial = gb_buf_cstr(url);
	return 0;
}

static void users_chain(gb_graph *g, gb_store *st, unsigned flags, dctx *d, chain *c)
{
	memset(c, 0, sizeof(*c));
	*c = (chain){g, st, GB_GRAPH_DELTA_KEY_USERS, "/v1.0/users/delta?$select=" GB_GRAPH_USER_SELECT, flags, u_page,
		     d_reset, d, d->info, NULL, false, 0};
}

int gb_graph_delta_groups(gb_graph *g, gb_store *st, unsigned flags, gb_graph_group_delta_fn fn, void *ud,
			  gb_graph_delta_info *info, gb_error *err)
{
	gb_graph_delta_info local;
	dctx d = {g, fn, NULL, ud, info ? info : &local};
	gb_buf url;
	chain c;
	int rc = groups_chain(g, st, flags, &d, &url, &c, err);

	if (!rc)
		rc = run_delta(&c, err);
	gb_buf_free(&url);
	return rc;
}

int gb_graph_delta_users(gb_graph *g, gb_store *st, unsigned flags, gb_graph_user_delta_fn fn, void *ud,
			 gb_graph_delta_info *info, gb_error *err)
{
	gb_graph_delta_info local;
	dctx d = {g, NULL, fn, ud, info ? info : &local};
	chain c;

	users_chain(g, st, flags, &d, &c);
	return run_delta(&c, err);
}

/* ---- both listings at once ---- */

typedef struct both {
	chain *c[2];
	int rc[2];
	gb_error err[2];
} both;

/* c's next request for the scheduler: a path under the version loses it ("/v1.0/users/delta?..." is sent as
 * "/users/delta?..."), an absolute link (nextLink, deltaLink) stays as it is. */
static const char *sched_url(const chain *c)
{
	return strncmp(c->url, "/v1.0/", 6) == 0 ? c->url + 5 : c->url;
}

/* A listing's reply: handed to its chain, and its next page queued. A listing's failure ends that listing only
 * (the other reads on, as it would have been read alone); running out of memory ends both. */
static int on_part(gb_graph__sched *s, gb_graph__part *p, void *ud, gb_error *err)
{
	both *b = ud;
	chain *c = b->c[p->tag];
	gb_error *e = &b->err[p->tag];
	gb_graph_response r;
	int rc;

	if (p->rc) {
		b->rc[p->tag] = p->rc;
		*e = p->err;
		return 0;
	}
	memset(&r, 0, sizeof(r));
	r.status = p->status;
	r.body = p->response;
	r.body_len = p->response_len;
	snprintf(r.client_request_id, sizeof(r.client_request_id), "%s", p->crid);
	rc = chain_reply(c, &r, e);
	if (!rc && c->url)
		rc = gb_graph__sched_add(s, "GET", sched_url(c), NULL, p->tag, false, false, e);
	b->rc[p->tag] = rc;
	if (rc == GB_ENOMEM) {
		*err = *e;
		return rc;
	}
	return 0;
}

int gb_graph_delta_both(gb_graph *g, gb_store *st, unsigned flags, gb_graph_group_delta_fn gfn,
			gb_graph_user_delta_fn ufn, void *ud, gb_graph_delta_info *ginfo, gb_graph_delta_info *uinfo,
			gb_error *err)
{
	gb_graph_delta_info glocal, ulocal;
	dctx gd = {g, gfn, NULL, ud, ginfo ? ginfo : &glocal}, ud2 = {g, NULL, ufn, ud, uinfo ? uinfo : &ulocal};
	gb_graph__sched *s = NULL;
	gb_buf url;
	chain gc, uc;
	both b;
	size_t i;
	int rc;

	memset(&b, 0, sizeof(b));
	b.c[0] = &gc;
	b.c[1] = &uc;
	rc = groups_chain(g, st, flags, &gd, &url, &gc, err);
	users_chain(g, st, flags, &ud2, &uc);
	if (!rc)
		rc = gb_graph__sched_new(g, "v1.0", GB_GRAPH__ALONE, on_part, NULL, &b, &s, err);
	for (i = 0; !rc && i < 2; i++) {
		rc = chain_start(b.c[i], err);
		if (!rc)
			rc = gb_graph__sched_add(s, "GET", sched_url(b.c[i]), NULL, i, true, false, err);
	}
	if (!rc)
		rc = gb_graph__sched_run(s, err);
	gb_graph__sched_free(s);
	for (i = 0; i < 2; i++) {
		if (!rc && b.rc[i]) {
			rc = b.rc[i];
			*err = b.err[i];
		}
		free(b.c[i]->url);
	}
	gb_buf_free(&url);
	return rc;
}
