/* many.c: reading independent resources concurrently: the members of many groups, and many groups by id. The
 * requests go through sched.c ($batch parts and several requests in flight); what each group ends with, and which
 * error is reported, is exactly what reading the groups one after the other would give. */
#include "graph/graph_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/log.h"
#include "groupbridge/util.h"

#define PAGE_RESTARTS 2

/* The state of one group being read. */
typedef struct item {
	const char *id;
	char *first;             /* the first page's URL */
	gb_member_ref *members;  /* read so far */
	size_t n, cap;
	unsigned restarts;
	gb_cloud_group *got;     /* groups_many: the group read (NULL for 404) */
} item;

typedef struct many {
	item *items;
	size_t n;
	size_t limit;            /* index of the first group that failed (n: none) */
	int rc;
	gb_error err;
	const char *ext_name;
} many;

static void refs_free(gb_member_ref *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i].id);
	free(v);
}

static void items_free(many *m)
{
	size_t i;

	for (i = 0; m->items && i < m->n; i++) {
		free(m->items[i].first);
		refs_free(m->items[i].members, m->items[i].n);
		gb_cloud_group_free(m->items[i].got);
	}
	free(m->items);
}

/* Also sets *failed (may be NULL) to n, nothing failed, for the paths that return before the run. */
static int many_init(many *m, size_t n, size_t *failed, gb_error *err)
{
	if (failed)
		*failed = n;
	memset(m, 0, sizeof(*m));
	m->n = m->limit = n;
	m->items = calloc(n ? n : 1, sizeof(*m->items));
	return m->items ? 0 : gb_error_set(err, GB_ENOMEM, "out of memory");
}

/* The outcome of a run that went through: the first group that failed, if one did (its error in err, its index
 * in *failed). */
static int many_outcome(const many *m, size_t n, size_t *failed, gb_error *err)
{
	if (m->limit >= n)
		return 0;
	if (err)
		*err = m->err;
	if (failed)
		*failed = m->limit;
	return m->rc;
}

/* Records the failure of group i; the first in list order wins, as in a loop that stops at the first error. */
static void fail(many *m, size_t i, const gb_error *e)
{
	if (i < m->limit) {
		m->limit = i;
		m->rc = e->code ? e->code : GB_ERROR;
		m->err = *e;
	}
}

static bool want(const gb_graph__part *p, void *ud)
{
	const many *m = ud;

	return p->tag < m->limit;
}

/* A part without a usable reply: the error names the request as gb_graph_call would. */
static void part_error(gb_graph__sched *s, gb_graph__part *p, many *m)
{
	gb_error e;
	char what[600], desc[800];
	int code;

	if (p->rc) {
		fail(m, p->tag, &p->err);
		return;
	}
	gb_graph__part_what(s, p, what, sizeof(what));
	code = gb_graph_status_code(p->status);
	gb_graph_describe_error(p->status, p->response, p->response_len, desc, sizeof(desc));
	gb_error_set(&e, code ? code : GB_EGRAPH, "%s: %s (client-request-id %s)", what, desc, p->crid);
	fail(m, p->tag, &e);
}

/* "GET /v1.0/...(client-request-id X)" and the page parsed. */
static int parse_part(gb_graph__sched *s, gb_graph__part *p, char *what, size_t n, json_t **out, gb_error *err)
{
	size_t l;

	gb_graph__part_what(s, p, what, n);
	l = strlen(what);
	snprintf(what + l, n - l, " (client-request-id %s)", p->crid);
	return gb_graph_parse_json(what, p->response ? p->response : "", p->response_len, out, err);
}

/* ---- members ---- */

static int add_member(const json_t *o, item *it, gb_error *err)
{
	gb_member_ref r;
	int rc = gb_graph_member_from_json(o, &r, err);

	if (rc)
		return rc;
	if (gb_grow(&it->members, it->n, &it->cap, sizeof(*it->members), 16)) {
		free(r.id);
		return gb_error_set(err, GB_ENOMEM, "out of memory adding a member to group %s", it->id);
	}
	it->members[it->n++] = r;
	return 0;
}

/* One page of a group's members: its members, then the next page (or nothing: the group is read). */
static int members_page(gb_graph__sched *s, gb_graph__part *p, item *it, gb_error *err)
{
	json_t *page = NULL, *value, *o, *nl;
	char what[700];
	size_t i;
	int rc = parse_part(s, p, what, sizeof(what), &page, err);

	if (rc)
		return rc;
	value = json_object_get(page, "value");
	if (!json_is_array(value))
		rc = gb_error_set(err, GB_EPARSE, "%s: the reply has no \"value\" array", what);
	json_array_foreach(value, i, o) {
		if (rc)
			break;
		rc = add_member(o, it, err);
	}
	nl = json_object_get(page, "@odata.nextLink");
	if (!rc && json_is_string(nl))
		rc = gb_graph__sched_add(s, "GET", json_string_value(nl), NULL, p->tag, false, true, err);
	else if (!rc && nl && !json_is_null(nl))
		rc = gb_error_set(err, GB_EPARSE, "%s: @odata.nextLink is not a string", what);
	json_decref(page);
	return rc;
}

static int on_members(gb_graph__sched *s, gb_graph__part *p, void *ud, gb_error *err)
{
	many *m = ud;
	item *it = &m->items[p->tag];
	gb_error e;

	if (p->tag >= m->limit)
		return 0; /* a group after one that failed: left as it was */
	if (!p->rc && p->status >= 200 && p->status < 300) {
		if (members_page(s, p, it, &e)) {
			if (e.code == GB_ENOMEM)
				return gb_error_set(err, GB_ENOMEM, "%s", e.msg);
			fail(m, p->tag, &e);
		}
		return 0;
	}
	if (!p->rc && !p->first && it->restarts < PAGE_RESTARTS &&
	    gb_graph_page_expired(p->status, p->response, p->response_len)) {
		char what[600];

		gb_graph__part_what(s, p, what, sizeof(what));
		gb_info("graph", "%s: the page token has expired; reading the group's members again from the first page",
			what);
		it->restarts++;
		refs_free(it->members, it->n);
		it->members = NULL;
		it->n = it->cap = 0;
		return gb_graph__sched_add(s, "GET", it->first, NULL, p->tag, true, true, err);
	}
	part_error(s, p, m);
	return 0;
}

/* Hands every group before the first failure its members. */
static void members_take(many *m, gb_cloud_group *const *groups)
{
	size_t i;

	for (i = 0; i < m->limit; i++) {
		gb_cloud_group *grp = groups[i];
		item *it = &m->items[i];

		refs_free(grp->members, grp->nmembers);
		grp->members = it->members;
		grp->nmembers = it->n;
		grp->members_cap = it->cap;
		grp->members_read = true;
		it->members = NULL;
		it->n = it->cap = 0;
	}
}

int gb_graph_read_members_many(gb_graph *g, gb_cloud_group *const *groups, size_t n, int top, size_t *failed,
			       gb_error *err)
{
	gb_graph__sched *s = NULL;
	many m;
	size_t i;
	int rc;

	rc = many_init(&m, n, failed, err);
	if (!rc)
		rc = gb_graph__sched_new(g, "v1.0", GB_GRAPH__PACK, on_members, want, &m, &s, err);
	for (i = 0; !rc && i < n; i++) {
		gb_buf b;

		gb_buf_init(&b, 64 * 1024);
		m.items[i].id = groups[i]->id;
		/* relative to the version, so that it can go in a $batch */
		rc = gb_graph__members_url(&b, groups[i]->id, top, err);
		if (!rc && !(m.items[i].first = gb_strdup(gb_buf_cstr(&b) + strlen("/v1.0"))))
			rc = gb_error_set(err, GB_ENOMEM, "out of memory");
		gb_buf_free(&b);
		if (!rc)
			rc = gb_graph__sched_add(s, "GET", m.items[i].first, NULL, i, true, false, err);
	}
	if (!rc)
		rc = gb_graph__sched_run(s, err);
	gb_graph__sched_free(s);
	if (!rc) {
		members_take(&m, groups);
		rc = many_outcome(&m, n, failed, err);
	}
	items_free(&m);
	return rc;
}

/* ---- groups by id ---- */

static int on_group(gb_graph__sched *s, gb_graph__part *p, void *ud, gb_error *err)
{
	many *m = ud;
	item *it = &m->items[p->tag];
	json_t *o = NULL;
	char what[700];
	gb_error e;
	int rc;

	if (p->tag >= m->limit || (!p->rc && p->status == 404))
		return 0;
	if (p->rc || p->status < 200 || p->status >= 300) {
		part_error(s, p, m);
		return 0;
	}
	rc = parse_part(s, p, what, sizeof(what), &o, &e);
	if (!rc && !(it->got = calloc(1, sizeof(*it->got))))
		rc = gb_error_set(&e, GB_ENOMEM, "out of memory");
	if (!rc)
		rc = gb_graph_group_from_json(o, m->ext_name, it->got, &e);
	json_decref(o);
	if (rc) {
		free(it->got);
		it->got = NULL;
		if (rc == GB_ENOMEM)
			return gb_error_set(err, GB_ENOMEM, "%s", e.msg);
		fail(m, p->tag, &e);
	}
	return 0;
}

int gb_graph_get_groups_many(gb_graph *g, const char *const *ids, size_t n, gb_cloud_group **out, size_t *failed,
			     gb_error *err)
{
	gb_graph__sched *s = NULL;
	many m;
	size_t i;
	int rc;

	for (i = 0; i < n; i++)
		out[i] = NULL;
	rc = many_init(&m, n, failed, err);
	m.ext_name = g->ext_name;
	if (!rc)
		rc = gb_graph__sched_new(g, "v1.0", GB_GRAPH__PACK, on_group, want, &m, &s, err);
	for (i = 0; !rc && i < n; i++) {
		gb_buf b;

		gb_buf_init(&b, 64 * 1024);
		m.items[i].id = ids[i];
		rc = gb_graph__group_url(g, &b, ids[i], err);
		if (!rc)
			rc = gb_graph__sched_add(s, "GET", gb_buf_cstr(&b) + strlen("/v1.0"), NULL, i, true, false, err);
		gb_buf_free(&b);
	}
	if (!rc)
		rc = gb_graph__sched_run(s, err);
	gb_graph__sched_free(s);
	for (i = 0; !rc && i < m.limit; i++) {
		out[i] = m.items[i].got;
		m.items[i].got = NULL;
	}
	if (!rc)
		rc = many_outcome(&m, n, failed, err);
	items_free(&m);
	return rc;
}
