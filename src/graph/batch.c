/* batch.c: JSON batching: 20 requests per $batch, each part's status on its own, throttled parts sent again. */
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

int gb_graph_batch_parse(const char *body, size_t len, gb_graph_batch_item *items, size_t n, long *retry_after,
			 gb_error *err)
{
	json_t *root = NULL, *resps, *r;
	size_t i;
	int rc;

	*retry_after = -1;
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
		json_t *st = json_object_get(r, "status"), *b = json_object_get(r, "body");
		const json_t *hdrs = json_object_get(r, "headers"), *ra;
		gb_graph_batch_item *it;

		if (parse_index(gb_graph__str(r, "id"), n, &k) || !json_is_integer(st)) {
			rc = gb_error_set(err, GB_EPARSE, "POST $batch: response %zu has an unknown id or no status", i);
			goto cleanup;
		}
		it = &items[k];
		free(it->response);
		it->response = NULL;
		it->error[0] = '\0';
		it->status = (long)json_integer_value(st);
		if (b && !json_is_null(b)) {
			it->response = json_dumps(b, JSON_COMPACT | JSON_ENCODE_ANY);
			if (!it->response) {
				rc = gb_error_set(err, GB_ENOMEM, "out of memory reading a batch reply");
				goto cleanup;
			}
		}
		if (it->status < 200 || it->status >= 300) {
			char desc[400];

			gb_graph_describe_error(it->status, it->response, it->response ? strlen(it->response) : 0, desc,
						sizeof(desc));
			snprintf(it->error, sizeof(it->error), "%s %s (batch part %zu): %s", it->method, it->url, k, desc);
		}
		if ((it->status == 429 || it->status == 503 || it->status == 504) && json_is_object(hdrs) &&
		    (ra = header_ci(hdrs, "Retry-After")) != NULL) {
			long s = -1;

			if (json_is_integer(ra)) {
				s = (long)json_integer_value(ra);
			} else if (json_is_string(ra)) {
				if (gb_graph_parse_retry_after(json_string_value(ra), time(NULL), &s))
					s = -1;
			}
			if (s > *retry_after)
				*retry_after = s;
		}
	}
cleanup:
	json_decref(root);
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

static int throttled(long status)
{
	return status == 429 || status == 503 || status == 504;
}

int gb_graph_batch(gb_graph *g, const char *version, gb_graph_batch_item *items, size_t n, gb_error *err)
{
	size_t *pending = NULL, npending = n, i, done;
	char url[64], *text = NULL;
	gb_graph_response *r = NULL;
	unsigned round = 0;
	int rc = 0;

	snprintf(url, sizeof(url), "/%s/$batch", version ? version : "v1.0");
	for (i = 0; i < n; i++) {
		items[i].status = 0;
		items[i].response = NULL;
		items[i].error[0] = '\0';
	}
	if (!n)
		return 0;
	pending = malloc(n * sizeof(*pending));
	if (!pending)
		return gb_error_set(err, GB_ENOMEM, "out of memory sending a batch");
	for (i = 0; i < n; i++)
		pending[i] = i;
	while (npending) {
		long ra_max = -1;
		size_t keep = 0;
		int64_t ms;
		char what[128];

		for (done = 0; done < npending; done += GB_GRAPH_BATCH_MAX) {
			size_t count = npending - done < GB_GRAPH_BATCH_MAX ? npending - done : GB_GRAPH_BATCH_MAX;
			long ra;

			rc = gb_graph_batch_build(items, pending + done, count, &text, err);
			if (rc)
				goto cleanup;
			rc = gb_graph_request(g, "POST", url, text, NULL, &r, err);
			free(text);
			text = NULL;
			if (rc)
				goto cleanup;
			if (r->status < 200 || r->status >= 300) {
				rc = gb_graph__reply_error(g, "POST", url, r, err);
				goto cleanup;
			}
			rc = gb_graph_batch_parse(r->body, r->body_len, items, n, &ra, err);
			if (rc) {
				gb_error_prefix(err, "client-request-id %s", r->client_request_id);
				goto cleanup;
			}
			gb_graph_response_free(r);
			r = NULL;
			if (ra > ra_max)
				ra_max = ra;
		}
		for (i = 0; i < npending; i++) {
			gb_graph_batch_item *it = &items[pending[i]];

			if (it->status == 0)
				snprintf(it->error, sizeof(it->error), "%s %s (batch part %zu): no reply in the batch",
					 it->method, it->url, pending[i]);
			else if (throttled(it->status))
				pending[keep++] = pending[i];
		}
		npending = keep;
		if (!npending)
			break;
		g->stats.throttled += npending;
		ms = ra_max >= 0 ? (ra_max < 1 ? 1 : ra_max) * 1000 : gb_graph__backoff_ms(round);
		round++;
		snprintf(what, sizeof(what), "POST %s (%zu throttled parts)", url, npending);
		gb_debug("graph", "%s: sending them again in %lld ms", what, (long long)ms);
		rc = gb_graph__wait(g, ms, what, err);
		if (rc)
			goto cleanup;
	}
cleanup:
	gb_graph_response_free(r);
	free(text);
	free(pending);
	return rc;
}
