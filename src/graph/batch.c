/* batch.c: JSON batching: the $batch body and reply (pure), and gb_graph_batch on top of sched.c (20 requests per
 * $batch, each part's status on its own, throttled parts sent again). */
#include "graph/graph_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/log.h"
#include "groupbridge/util.h"

int gb_graph_batch_build(const gb_graph_batch_item *items, const size_t *idx, size_t count, char **out,
			 gb_error *err)
{
	json_t *root = json_object(), *reqs = json_array();
	size_t i;
	int rc = 0;

	*out = NULL;
	if (!root || !reqs || json_object_set(root, "requests", reqs)) {
		rc = gb_error_set(err, GB_ENOMEM, "out of memory building a batch");
		goto cleanup;
	}
	if (count > GB_GRAPH_BATCH_MAX) {
		rc = gb_error_set(err, GB_EINVAL, "a batch holds at most %d requests, not %zu", GB_GRAPH_BATCH_MAX, count);
		goto cleanup;
	}
	for (i = 0; i < count; i++) {
		const gb_graph_batch_item *it = &items[idx[i]];
		json_t *r = json_object();
		char id[24];

		if (!r || json_array_append_new(reqs, r)) {
			rc = gb_error_set(err, GB_ENOMEM, "out of memory building a batch");
			goto cleanup;
		}
		if (!it->method || !it->url || it->url[0] != '/') {
			rc = gb_error_set(err, GB_EINVAL, "batch request %zu needs a method and a url starting with /",
					  idx[i]);
			goto cleanup;
		}
		snprintf(id, sizeof(id), "%zu", idx[i]);
		if (json_object_set_new(r, "id", json_string(id)) ||
		    json_object_set_new(r, "method", json_string(it->method)) ||
		    json_object_set_new(r, "url", json_string(it->url))) {
			rc = gb_error_set(err, GB_ENOMEM, "out of memory building a batch");
			goto cleanup;
		}
		if (it->body) {
			json_error_t je;
			json_t *b = json_loads(it->body, JSON_DECODE_ANY, &je), *h = json_object();

			if (!b) {
				json_decref(h);
				rc = gb_error_set(err, GB_EINVAL, "batch request %zu (%s %s): the body is not JSON (%s)",
						  idx[i], it->method, it->url, je.text);
				goto cleanup;
			}
			if (!h || json_object_set_new(h, "Content-Type", json_string("application/json")) ||
			    json_object_set_new(r, "headers", h) || json_object_set_new(r, "body", b)) {
				rc = gb_error_set(err, GB_ENOMEM, "out of memory building a batch");
				goto cleanup;
			}
		}
	}
	*out = json_dumps(root, JSON_COMPACT);
	if (!*out)
		rc = gb_error_set(err, GB_ENOMEM, "out of memory building a batch");
cleanup:
	json_decref(reqs);
	json_decref(root);
	return rc;
}

static int parse_index(const char *s, size_t n, size_t *out)
{
	size_t v = 0, i;

	if (!s || !*s || strlen(s) > 9)
		return -1;
	for (i = 0; s[i]; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (size_t)(s[i] - '0');
	}
	if (v >= n || (s[0] == '0' && s[1]))
		return -1;
	*out = v;
	return 0;
}

static const json_t *header_ci(const json_t *headers, const char *name)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)headers, k, v)
		if (strcasecmp(k, name) == 0)
			return v;
	return NULL;
}

/* A throttled part's Retry-After (a number or a string of seconds or an HTTP date); -1 when none. */
static long part_retry_after(const json_t *hdrs)
{
	const json_t *ra = json_is_object(hdrs) ? header_ci(hdrs, "Retry-After") : NULL;
	long s = -1;

	if (json_is_integer(ra))
		s = (long)json_integer_value(ra);
	else if (json_is_string(ra) && gb_graph_parse_retry_after(json_string_value(ra), time(NULL), &s))
		s = -1;
	return s;
}

/* Sets one part from its response object. */
static int part_of(json_t *r, gb_graph_batch_item *it, size_t k, long *ra, gb_error *err)
{
	json_t *b = json_object_get(r, "body");

	free(it->response);
	it->response = NULL;
	it->error[0] = '\0';
	it->status = (long)json_integer_value(json_object_get(r, "status"));
	if (b && !json_is_null(b)) {
		it->response = json_dumps(b, JSON_COMPACT | JSON_ENCODE_ANY);
		if (!it->response)
			return gb_error_set(err, GB_ENOMEM, "out of memory reading a batch reply");
	}
	if (it->status < 200 || it->status >= 300) {
		char desc[400];

		gb_graph_describe_error(it->status, it->response, it->response ? strlen(it->response) : 0, desc,
					sizeof(desc));
		snprintf(it->error, sizeof(it->error), "%s %s (batch part %zu): %s", it->method, it->url, k, desc);
	}
	*ra = it->status == 429 || it->status == 503 || it->status == 504
		      ? part_retry_after(json_object_get(r, "headers")) : -1;
	return 0;
}

int gb_graph__batch_parse(const char *body, size_t len, gb_graph_batch_item *items, size_t n, long *retry_after,
			  gb_error *err)
{
	json_t *root = NULL, *resps, *r;
	size_t i;
	int rc;

	for (i = 0; i < n; i++)
		retry_after[i] = -1;
	rc = gb_graph_parse_json("POST $batch", body, len, &root, err);
	if (rc)
		return rc;
	resps = json_object_get(root, "responses");
	if (!json_is_array(resps)) {
		rc = gb_error_set(err, GB_EPARSE, "POST $batch: the reply has no \"responses\" array");
		goto cleanup;
	}
	json_array_foreach(resps, i, r) {
		size_t k;

		if (parse_index(gb_graph__str(r, "id"), n, &k) || !json_is_integer(json_object_get(r, "status"))) {
			rc = gb_error_set(err, GB_EPARSE, "POST $batch: response %zu has an unknown id or no status", i);
			goto cleanup;
		}
		rc = part_of(r, &items[k], k, &retry_after[k], err);
		if (rc)
			goto cleanup;
	}
cleanup:
	json_decref(root);
	return rc;
}

int gb_graph_batch_parse(const char *body, size_t len, gb_graph_batch_item *items, size_t n, long *retry_after,
			 gb_error *err)
{
	long *each = calloc(n ? n : 1, sizeof(*each));
	size_t i;
	int rc;

	*retry_after = -1;
	if (!each)
		return gb_error_set(err, GB_ENOMEM, "out of memory reading a batch reply");
	rc = gb_graph__batch_parse(body, len, items, n, each, err);
	for (i = 0; !rc && i < n; i++)
		if (each[i] > *retry_after)
			*retry_after = each[i];
	free(each);
	return rc;
}

void gb_graph_batch_clear(gb_graph_batch_item *items, size_t n)
{
	size_t i;

	for (i = 0; items && i < n; i++) {
		free(items[i].response);
		items[i].response = NULL;
	}
}

typedef struct batch_ctx {
	gb_graph_batch_item *items;
	int rc;      /* the first failure of a whole batch request */
	gb_error err;
	bool throttled;
} batch_ctx;

static int on_part(gb_graph__sched *s, gb_graph__part *p, void *ud, gb_error *err)
{
	batch_ctx *b = ud;
	gb_graph_batch_item *it = &b->items[p->tag];

	(void)s;
	(void)err;
	if (p->rc == GB_ETHROTTLED) {
		/* still throttled at the budget: the part keeps its 429 */
		it->status = 429;
		snprintf(it->error, sizeof(it->error), "%s", p->err.msg);
		if (!b->rc) {
			b->rc = GB_ETHROTTLED;
			b->err = p->err;
		}
		b->throttled = true;
		return 0;
	}
	if (p->rc) {
		snprintf(it->error, sizeof(it->error), "%s", p->err.msg);
		if (!b->rc || b->throttled) {
			b->rc = p->rc;
			b->err = p->err;
			b->throttled = false;
		}
		return 0;
	}
	it->status = p->status;
	it->response = p->response;
	p->response = NULL;
	if (it->status < 200 || it->status >= 300) {
		char desc[400];

		gb_graph_describe_error(it->status, it->response, it->response ? strlen(it->response) : 0, desc,
					sizeof(desc));
		snprintf(it->error, sizeof(it->error), "%s %s (batch part %zu): %s", it->method, it->url, p->tag, desc);
	}
	return 0;
}

int gb_graph_batch(gb_graph *g, const char *version, gb_graph_batch_item *items, size_t n, gb_error *err)
{
	gb_graph__sched *s = NULL;
	batch_ctx b;
	size_t i;
	int rc;

	memset(&b, 0, sizeof(b));
	b.items = items;
	for (i = 0; i < n; i++) {
		items[i].status = 0;
		items[i].response = NULL;
		items[i].error[0] = '\0';
		if (!items[i].method || !items[i].url || items[i].url[0] != '/')
			return gb_error_set(err, GB_EINVAL, "batch request %zu needs a method and a url starting with /", i);
	}
	if (!n)
		return 0;
	rc = gb_graph__sched_new(g, version, GB_GRAPH__BATCH_ALWAYS, on_part, NULL, &b, &s, err);
	for (i = 0; !rc && i < n; i++)
		rc = gb_graph__sched_add(s, items[i].method, items[i].url, items[i].body, i, false, false, err);
	if (!rc)
		rc = gb_graph__sched_run(s, err);
	gb_graph__sched_free(s);
	if (!rc && b.rc) {
		rc = b.rc;
		if (err)
			*err = b.err;
	}
	return rc;
}
