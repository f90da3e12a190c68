/* request.c: the requests layer: every Graph request goes through this engine. It adds the Authorization header
 * (auth.c), sends through transport.c, decides what a reply means with gb_graph_retry_decide (renew the token once,
 * wait and send again, give up), keeps at most a window of requests in flight and pauses the whole client when Graph
 * says so. One request at a time (gb_graph_request, gb_graph_call, paging) is the same engine with one request. */
#include "graph/graph_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/log.h"
#include "groupbridge/util.h"

#define SLOWDOWN_FROM 0.9
#define SLOWDOWN_MAX_MS 10000
#define PAGE_RESTARTS 2

/* ---- the queues ---- */

static void push_back(gb_graph__req **head, gb_graph__req **tail, gb_graph__req *r)
{
	r->next = NULL;
	if (*tail)
		(*tail)->next = r;
	else
		*head = r;
	*tail = r;
}

static void push_front(gb_graph *g, gb_graph__req *r)
{
	r->next = g->queue;
	g->queue = r;
	if (!g->queue_tail)
		g->queue_tail = r;
}

static gb_graph__req *pop(gb_graph__req **head, gb_graph__req **tail)
{
	gb_graph__req *r = *head;

	if (r) {
		*head = r->next;
		if (!*head)
			*tail = NULL;
		r->next = NULL;
	}
	return r;
}

/* Takes r out of the finished list, wherever it is. */
static void unlink_finished(gb_graph *g, gb_graph__req *r)
{
	gb_graph__req **p = &g->finished, *prev = NULL;

	for (; *p; prev = *p, p = &(*p)->next)
		if (*p == r) {
			*p = r->next;
			if (g->finished_tail == r)
				g->finished_tail = prev;
			r->next = NULL;
			return;
		}
}

void gb_graph__req_init(gb_graph__req *r, const char *method, const char *body)
{
	memset(r, 0, sizeof(*r));
	r->method = method;
	r->body = body;
	r->cost = 1;
}

void gb_graph__req_clear(gb_graph *g, gb_graph__req *r)
{
	gb_graph__xfer_clear(g, &r->x);
	curl_slist_free_all(r->x.headers);
	r->x.headers = NULL;
	free(r->url);
	r->url = NULL;
	gb_graph_response_free(r->resp);
	r->resp = NULL;
}

int gb_graph__submit(gb_graph *g, gb_graph__req *r, const char *url, gb_error *err)
{
	gb_buf b;
	int rc;

	gb_buf_init(&b, 64 * 1024);
	rc = gb_graph__absolute(g, r->method, url, &b, err);
	if (!rc && !(r->url = gb_buf_detach(&b)))
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
	gb_buf_free(&b);
	if (rc)
		return rc;
	r->done = r->started = false;
	r->rc = 0;
	push_back(&g->queue, &g->queue_tail, r);
	return 0;
}

static void finish(gb_graph *g, gb_graph__req *r, int rc)
{
	r->rc = rc;
	r->done = true;
	push_back(&g->finished, &g->finished_tail, r);
}

/* ---- flow control ---- */

double gb_graph__pct(const char *value)
{
	double p = value && *value ? strtod(value, NULL) : 0;

	return p > 2 ? p / 100 : p; /* tolerate a percentage given as 90 rather than 0.9 */
}

int gb_graph__pause(gb_graph *g, int64_t ms, const char *what, gb_error *err)
{
	int64_t now = gb_graph__now(g), until = now + ms, left = g->pause_until > now ? g->pause_until - now : 0;
	int rc;

	if (until <= g->pause_until)
		return 0;
	rc = gb_graph__charge(g, ms - left, what, err);
	if (!rc)
		g->pause_until = until;
	return rc;
}

void gb_graph__adapt(gb_graph *g, int64_t started, bool throttled, double pct, unsigned ok)
{
	if (throttled || pct >= 0.8)
		g->slow_start = false;
	if (throttled || pct >= SLOWDOWN_FROM) {
		unsigned cut = throttled ? g->window / 2 : g->window / 4;

		/* the requests that were in flight together with the one that cut the window say the same thing */
		if (started >= g->last_cut) {
			g->window -= cut ? cut : (g->window > 1);
			g->last_cut = gb_graph__now(g);
		}
		g->window_credit = 0;
	} else if (pct >= 0.8) {
		g->window_credit = 0; /* close to the limit: hold */
	} else if (ok && g->slow_start) {
		/* never more in flight than the server has already granted: a budget that allowed them allows them again */
		unsigned long cap = g->granted += ok;

		if (cap < GB_GRAPH_START_WINDOW)
			cap = GB_GRAPH_START_WINDOW;
		if (cap > g->max_concurrency)
			cap = g->max_concurrency;
		g->window = g->window + ok < cap ? g->window + ok : (unsigned)cap;
	} else if (ok) {
		/* after a sign of throttling, back by one per window's worth, to the starting window at most */
		unsigned ceiling = g->max_concurrency < GB_GRAPH_START_WINDOW ? g->max_concurrency : GB_GRAPH_START_WINDOW;

		g->window_credit += ok;
		if (g->window_credit >= g->window && g->window < ceiling) {
			g->window++;
			g->window_credit = 0;
		}
	}
	if (!g->window)
		g->window = 1;
	g->stats.window = g->window;
}

unsigned gb_graph__capacity(const gb_graph *g)
{
	const gb_graph__req *r;
	unsigned used = g->in_flight;

	if (gb_graph__now(g) < g->pause_until)
		return 0;
	for (r = g->queue; r; r = r->next)
		used += r->cost;
	return used >= g->window ? 0 : g->window - used;
}

void gb_graph__wait_pause(gb_graph *g)
{
	int64_t left = g->pause_until - gb_graph__now(g);

	if (left > 0)
		gb_graph__sleep(g, left);
}

/* Graph reports the app's use of its limit from 0.8 on: from 0.9 every request waits a little, so that the client
 * slows down before it is throttled. Not charged to the budget. */
static void slow_down(gb_graph *g, const char *method, const char *path)
{
	int64_t ms = (int64_t)((g->throttle_pct - 0.8) * 10000 + 0.5), until;

	if (ms > SLOWDOWN_MAX_MS)
		ms = SLOWDOWN_MAX_MS;
	gb_debug("graph", "throttle limit at %.0f%%: pausing %lld ms before %s %s", g->throttle_pct * 100, (long long)ms,
		 method, path);
	g->stats.slowdown_ms += ms;
	g->throttle_pct = 0;
	until = gb_graph__now(g) + ms;
	if (until > g->pause_until)
		g->pause_until = until;
}

/* ---- one attempt ---- */

static int build_headers(gb_graph *g, gb_graph__req *r, gb_error *err)
{
	const char *const *h;
	struct curl_slist *l = NULL, *n;
	gb_buf line;
	int rc;

	gb_buf_init(&line, 16 * 1024);
	rc = gb_buf_printf(&line, err, "Authorization: Bearer %s", g->token);
	if (!rc && !(l = curl_slist_append(NULL, gb_buf_cstr(&line))))
		rc = gb_error_set(err, GB_ENOMEM, "out of memory building headers");
	gb_buf_wipe(&line);
	if (rc)
		return rc;
	l = gb_graph__std_headers(l, r->crid, r->body ? (r->content_type ? r->content_type : "application/json") : NULL);
	for (h = r->headers; l && h && *h; h++) {
		if (!(n = curl_slist_append(l, *h))) {
			curl_slist_free_all(l);
			l = NULL;
		} else {
			l = n;
		}
	}
	if (!l)
		return gb_error_set(err, GB_ENOMEM, "%s %s: out of memory building headers", r->method,
				    gb_graph__path(g, r->url));
	curl_slist_free_all(r->x.headers);
	r->x.headers = l;
	return 0;
}

static void start(gb_graph *g, gb_graph__req *r)
{
	int rc = gb_graph_token(g, NULL, &r->err);

	if (!rc)
		rc = gb_uuid_v4(r->crid, sizeof(r->crid), &r->err);
	if (!rc)
		rc = build_headers(g, r, &r->err);
	if (!rc) {
		r->x.method = r->method;
		r->x.url = r->url;
		r->x.body = r->body;
		r->x.fresh = !r->replay_safe && !gb_graph_method_idempotent(r->method);
		r->token_gen = g->token_gen;
		r->t0 = gb_graph__now(g);
		g->stats.requests++;
		rc = gb_graph__xfer_start(g, &r->x, &r->err);
	}
	if (rc) {
		finish(g, r, rc);
		return;
	}
	r->started = true;
	g->in_flight += r->cost;
	if (g->in_flight > g->stats.peak_in_flight)
		g->stats.peak_in_flight = g->in_flight;
	r->next = g->active;
	g->active = r;
}

/* Starts queued requests while the window and the client's pause allow; at least one when nothing is in flight. */
static void start_ready(gb_graph *g)
{
	while (g->queue) {
		gb_graph__req *r = g->queue;

		if (g->throttle_pct >= SLOWDOWN_FROM)
			slow_down(g, r->method, gb_graph__path(g, r->url));
		if (gb_graph__now(g) < g->pause_until)
			return;
		if (g->active && g->in_flight + r->cost > g->window)
			return;
		start(g, pop(&g->queue, &g->queue_tail));
	}
}

void gb_graph__decision_input(const gb_graph *g, const gb_graph__req *r, gb_graph_retry_input *in)
{
	int64_t now = gb_graph__now(g);

	memset(in, 0, sizeof(*in));
	in->transport = r->x.result;
	in->status = r->x.status;
	in->retry_after = -1;
	if (r->x.retry_after[0] && gb_graph_parse_retry_after(r->x.retry_after, time(NULL), &in->retry_after))
		in->retry_after = -1;
	in->method = r->method;
	in->replay_safe = r->replay_safe;
	in->authenticated = true;
	in->renewed = r->renewed;
	in->throttles = r->throttles;
	in->net_failures = r->net_failures;
	in->waited_ms = g->stats.wait_ms;
	in->budget_ms = g->max_wait_ms;
	in->pause_left_ms = g->pause_until > now ? g->pause_until - now : 0;
	in->jitter = gb_graph__jitter();
}

static int take_reply(gb_graph__req *r)
{
	gb_graph_response *p = calloc(1, sizeof(*p));

	if (!p)
		return GB_ENOMEM;
	p->status = r->x.status;
	p->body_len = r->x.body_buf.len;
	p->body = gb_buf_detach(&r->x.body_buf);
	p->location = r->x.location;
	r->x.location = NULL;
	snprintf(p->client_request_id, sizeof(p->client_request_id), "%s", r->crid);
	snprintf(p->request_id, sizeof(p->request_id), "%s", r->x.request_id);
	if (!p->body) {
		gb_graph_response_free(p);
		return GB_ENOMEM;
	}
	r->resp = p;
	return 0;
}

static void give_up(gb_graph *g, gb_graph__req *r, const gb_graph_retry_decision *d)
{
	char what[600];

	snprintf(what, sizeof(what), "%s %s", r->method, gb_graph__path(g, r->url));
	if (d->code == GB_ETHROTTLED)
		gb_graph__budget_error(g, d->wait_ms, what, &r->err);
	else if (d->code == GB_ETOOBIG)
		gb_error_set(&r->err, GB_ETOOBIG, "%s: the response body exceeds the limit of %zu bytes", what,
			     r->x.body_buf.max);
	else if (d->code == GB_ENET && r->x.result == GB_GRAPH_XFER_BROKEN && !gb_graph_method_idempotent(r->method) &&
		 !r->replay_safe) {
		r->unsure = true;
		gb_error_set(&r->err, GB_ENET, "%s: %s; %s", what, r->x.error, d->why);
	} else
		gb_error_set(&r->err, d->code, "%s: %s", what, r->x.error[0] ? r->x.error : d->why);
	finish(g, r, r->err.code);
}

/* A request whose exchange ended: decide, then finish it or queue it again. */
static void on_done(gb_graph *g, gb_graph__req *r)
{
	gb_graph_retry_input in;
	gb_graph_retry_decision d;
	const char *path = gb_graph__path(g, r->url);
	double pct = gb_graph__pct(r->x.throttle_pct);

	g->in_flight -= r->cost;
	gb_graph__decision_input(g, r, &in);
	d = gb_graph_retry_decide(&in);
	gb_debug("graph", "%s %s -> %ld in %lld ms (client-request-id %s%s%s)%s%s", r->method, path, r->x.status,
		 (long long)(gb_graph__now(g) - r->t0), r->crid, r->x.request_id[0] ? ", request-id " : "",
		 r->x.request_id, r->x.result ? ": " : "", r->x.result ? r->x.error : "");
	if (r->x.result == GB_GRAPH_XFER_OK) {
		g->throttle_pct = pct;
		gb_graph__adapt(g, r->t0, r->x.status == 429, pct, d.verdict == GB_GRAPH_DONE ? r->cost : 0);
	}
	switch (d.verdict) {
	case GB_GRAPH_DONE:
		finish(g, r, take_reply(r) ? gb_error_set(&r->err, GB_ENOMEM, "%s %s: out of memory", r->method, path) : 0);
		return;
	case GB_GRAPH_RENEW_TOKEN:
		gb_debug("graph", "%s %s: 401, renewing the token once", r->method, path);
		g->stats.auth_retries++;
		if (r->token_gen == g->token_gen)
			gb_graph_token_invalidate(g);
		r->renewed = true;
		push_front(g, r);
		return;
	case GB_GRAPH_WAIT:
		break;
	case GB_GRAPH_GIVE_UP:
	default:
		give_up(g, r, &d);
		return;
	}
	if (r->x.result == GB_GRAPH_XFER_OK) {
		r->throttles++;
		g->stats.throttled++;
		g->stats.throttled_429 += r->x.status == 429;
		gb_debug("graph", "%s %s: %ld, waiting %lld ms (Retry-After %s)", r->method, path, r->x.status,
			 (long long)d.wait_ms, r->x.retry_after[0] ? r->x.retry_after : "absent");
	} else {
		r->net_failures++;
		g->stats.net_retries++;
		gb_warn("graph", "%s %s: %s; retrying in %lld ms", r->method, path, r->x.error, (long long)d.wait_ms);
	}
	gb_graph__pause(g, d.wait_ms, r->method, NULL); /* the decision checked the budget */
	push_front(g, r);
}

/* Hands every request whose exchange ended to on_done; true when there was one. */
static bool collect(gb_graph *g)
{
	gb_graph__req **p = &g->active;
	bool any = false;

	while (*p) {
		gb_graph__req *r = *p;

		if (!r->x.done) {
			p = &r->next;
			continue;
		}
		*p = r->next;
		r->next = NULL;
		on_done(g, r);
		any = true;
	}
	return any;
}

/* Drives the engine one step; false when there is nothing left to drive. */
static bool step(gb_graph *g)
{
	if (collect(g) || g->finished)
		return true;
	start_ready(g);
	if (g->finished)
		return true;
	if (g->active) {
		int64_t left = g->queue ? g->pause_until - gb_graph__now(g) : 0;
		bool done = false;
		const gb_graph__req *r;

		for (r = g->active; r && !done; r = r->next)
			done = r->x.done;
		if (done)
			return true;
		if (left > 0)
			gb_graph__sleep(g, left); /* paused with requests queued: the ones in flight go on meanwhile */
		else
			gb_graph__transport_run(g, NULL, -1);
		return true;
	}
	if (g->queue) {
		gb_graph__wait_pause(g);
		return true;
	}
	return false;
}

gb_graph__req *gb_graph__pump(gb_graph *g)
{
	while (!g->finished)
		if (!step(g))
			return NULL;
	return pop(&g->finished, &g->finished_tail);
}

/* Drives the engine until r is done and takes it out of the finished list; other requests that finish meanwhile
 * stay there for their owner. */
static int run_until(gb_graph *g, gb_graph__req *r, gb_error *err)
{
	while (!r->done)
		if (!step(g))
			break;
	if (!r->done)
		return gb_error_set(err, GB_ERROR, "%s %s: the request was lost", r->method, gb_graph__path(g, r->url));
	unlink_finished(g, r);
	if (r->rc && err)
		*err = r->err;
	return r->rc;
}

/* ---- requests ---- */

/* Every PATCH groupbridge sends sets absolute values: sending it again writes the same thing. */
static bool replay_safe(const char *method)
{
	return strcmp(method, "PATCH") == 0;
}

static int request(gb_graph *g, const char *method, const char *url, const char *body, const char *const *headers,
		   gb_graph_response **out, bool *unsure, gb_error *err)
{
	gb_graph__req r;
	int rc;

	*out = NULL;
	gb_graph__req_init(&r, method, body);
	r.headers = headers;
	r.replay_safe = replay_safe(method);
	rc = gb_graph__submit(g, &r, url, err);
	if (!rc)
		rc = run_until(g, &r, err);
	if (!rc) {
		*out = r.resp;
		r.resp = NULL;
	}
	if (unsure)
		*unsure = r.unsure;
	gb_graph__req_clear(g, &r);
	return rc;
}

int gb_graph_request(gb_graph *g, const char *method, const char *url, const char *body, const char *const *headers,
		     gb_graph_response **out, gb_error *err)
{
	return request(g, method, url, body, headers, out, NULL, err);
}

void gb_graph_response_free(gb_graph_response *r)
{
	if (!r)
		return;
	free(r->body);
	free(r->location);
	free(r);
}

int gb_graph__call(gb_graph *g, const char *method, const char *url, const json_t *body, json_t **out, bool *unsure,
		   gb_error *err)
{
	gb_graph_response *r = NULL;
	char *text = NULL, what[600];
	json_t *parsed = NULL;
	int rc;

	if (out)
		*out = NULL;
	if (unsure)
		*unsure = false;
	if (body) {
		text = json_dumps(body, JSON_COMPACT);
		if (!text)
			return gb_error_set(err, GB_ENOMEM, "%s %s: cannot serialise the request body", method, url);
	}
	rc = request(g, method, url, text, NULL, &r, unsure, err);
	if (rc)
		goto cleanup;
	if (r->status < 200 || r->status >= 300) {
		rc = gb_graph__reply_error(g, method, url, r, err);
		goto cleanup;
	}
	if (out && r->body_len) {
		snprintf(what, sizeof(what), "%s %s (client-request-id %s)", method, gb_graph__path(g, url),
			 r->client_request_id);
		rc = gb_graph_parse_json(what, r->body, r->body_len, &parsed, err);
		if (!rc)
			*out = parsed;
	}
cleanup:
	free(text);
	gb_graph_response_free(r);
	return rc;
}

int gb_graph_call(gb_graph *g, const char *method, const char *url, const json_t *body, json_t **out, gb_error *err)
{
	return gb_graph__call(g, method, url, body, out, NULL, err);
}

/* ---- paging ---- */

/* One page: fn for each item of "value"; *next gets @odata.nextLink (allocated) or NULL. */
static int page_items(gb_graph *g, const char *url, const gb_graph_response *r, gb_graph_item_fn fn, void *ud,
		      char **next, gb_error *err)
{
	json_t *page = NULL, *value, *item, *nl;
	char what[600];
	size_t i;
	int rc;

	*next = NULL;
	snprintf(what, sizeof(what), "GET %s (client-request-id %s)", gb_graph__path(g, url), r->client_request_id);
	rc = gb_graph_parse_json(what, r->body, r->body_len, &page, err);
	if (rc)
		return rc;
	value = json_object_get(page, "value");
	if (!json_is_array(value)) {
		rc = gb_error_set(err, GB_EPARSE, "GET %s: the reply has no \"value\" array", gb_graph__path(g, url));
		goto cleanup;
	}
	json_array_foreach(value, i, item) {
		rc = fn(item, ud, err);
		if (rc)
			goto cleanup;
	}
	nl = json_object_get(page, "@odata.nextLink");
	if (json_is_string(nl)) {
		if (!(*next = gb_strdup(json_string_value(nl))))
			rc = gb_error_set(err, GB_ENOMEM, "out of memory");
	} else if (nl && !json_is_null(nl)) {
		rc = gb_error_set(err, GB_EPARSE, "GET %s: @odata.nextLink is not a string", gb_graph__path(g, url));
	}
cleanup:
	json_decref(page);
	return rc;
}

int gb_graph_each_reset(gb_graph *g, const char *url, gb_graph_item_fn fn, gb_graph_reset_fn reset, void *ud,
			gb_error *err)
{
	char *next = gb_strdup(url), *after = NULL;
	gb_graph_response *r = NULL;
	unsigned restarts = 0;
	int rc = 0;

	if (!next)
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	while (next) {
		rc = gb_graph_request(g, "GET", next, NULL, NULL, &r, err);
		if (rc)
			break;
		if (r->status >= 200 && r->status < 300) {
			rc = page_items(g, next, r, fn, ud, &after, err);
		} else if (strcmp(next, url) != 0 && restarts < PAGE_RESTARTS &&
			   gb_graph_page_expired(r->status, r->body, r->body_len)) {
			/* The page token expired (a slow consumer, a long listing): start over from the first page. */
			gb_info("graph", "GET %s: the page token has expired; reading the listing again from its first "
				"page", gb_graph__path(g, url));
			restarts++;
			rc = reset ? reset(ud, err) : 0;
			if (!rc && !(after = gb_strdup(url)))
				rc = gb_error_set(err, GB_ENOMEM, "out of memory");
		} else {
			rc = gb_graph__reply_error(g, "GET", next, r, err);
		}
		gb_graph_response_free(r);
		r = NULL;
		free(next);
		next = after;
		after = NULL;
		if (rc)
			break;
	}
	free(next);
	return rc;
}

int gb_graph_each(gb_graph *g, const char *url, gb_graph_item_fn fn, void *ud, gb_error *err)
{
	return gb_graph_each_reset(g, url, fn, NULL, ud, err);
}
