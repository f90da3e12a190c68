/* sched.c: independent requests ("parts") sent many at once: packed 20 to a $batch (Graph counts each part against
 * its throttling limits on its own and answers each with its own status), or sent alone, with as many in flight as
 * the client's window allows. Each part's 429/503/504 is decided by gb_graph_retry_decide with its own Retry-After;
 * the part goes out again after it, the others of its batch are done. */
#include "graph/graph_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/log.h"
#include "groupbridge/util.h"

/* One HTTP request carrying parts: a $batch, or a single part sent alone. */
typedef struct carrier {
	gb_graph__req r;
	gb_graph__part *parts[GB_GRAPH_BATCH_MAX];
	size_t n;
	bool batch;
	char *body;
	struct carrier *next;
} carrier;

struct gb_graph__sched {
	gb_graph *g;
	char version[16];
	gb_graph__packing packing;
	gb_graph__part_fn fn;
	gb_graph__want_fn want;
	void *ud;
	gb_graph__part *queue, *queue_tail;
	carrier *carriers;
	int rc; /* a callback's failure: stop sending */
	gb_error err;
};

int gb_graph__sched_new(gb_graph *g, const char *version, gb_graph__packing packing, gb_graph__part_fn fn,
			gb_graph__want_fn want, void *ud, gb_graph__sched **out, gb_error *err)
{
	gb_graph__sched *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (!s)
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	s->g = g;
	snprintf(s->version, sizeof(s->version), "%s", version ? version : "v1.0");
	s->packing = packing;
	s->fn = fn;
	s->want = want;
	s->ud = ud;
	*out = s;
	return 0;
}

static void part_free(gb_graph__part *p)
{
	if (!p)
		return;
	free(p->url);
	free(p->response);
	free(p);
}

static void carrier_free(gb_graph *g, carrier *c)
{
	size_t i;

	gb_graph__req_clear(g, &c->r);
	for (i = 0; i < c->n; i++)
		part_free(c->parts[i]);
	free(c->body);
	free(c);
}

void gb_graph__sched_free(gb_graph__sched *s)
{
	gb_graph__part *p;

	if (!s)
		return;
	while ((p = s->queue) != NULL) {
		s->queue = p->next;
		part_free(p);
	}
	/* a run always ends with no carrier in flight */
	free(s);
}

static void enqueue(gb_graph__sched *s, gb_graph__part *p, bool front)
{
	if (front) {
		p->next = s->queue;
		s->queue = p;
		if (!s->queue_tail)
			s->queue_tail = p;
		return;
	}
	p->next = NULL;
	if (s->queue_tail)
		s->queue_tail->next = p;
	else
		s->queue = p;
	s->queue_tail = p;
}

int gb_graph__sched_add(gb_graph__sched *s, const char *method, const char *url, const char *body, size_t tag,
			bool first, bool front, gb_error *err)
{
	gb_graph__part *p = calloc(1, sizeof(*p));

	if (!p || !(p->url = gb_strdup(url))) {
		free(p);
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	}
	p->method = method;
	p->body = body;
	p->tag = tag;
	p->first = first;
	enqueue(s, p, front);
	return 0;
}

void gb_graph__part_what(const gb_graph__sched *s, const gb_graph__part *p, char *dst, size_t n)
{
	if (p->url[0] == '/')
		snprintf(dst, n, "%s /%s%s", p->method, s->version, p->url);
	else
		snprintf(dst, n, "%s %s", p->method, gb_graph__path(s->g, p->url));
}

/* The URL of p relative to the version for a $batch ("/groups/..."), or NULL when it cannot go in one (an absolute
 * URL under another version). */
static const char *batch_url(const gb_graph__sched *s, const gb_graph__part *p)
{
	size_t gl = strlen(s->g->graph_url), vl = strlen(s->version);

	if (p->url[0] == '/')
		return p->url;
	if (strncmp(p->url, s->g->graph_url, gl) == 0 && p->url[gl] == '/' &&
	    strncmp(p->url + gl + 1, s->version, vl) == 0 && p->url[gl + 1 + vl] == '/')
		return p->url + gl + 1 + vl;
	return NULL;
}

/* ---- delivering ---- */

static void deliver(gb_graph__sched *s, gb_graph__part *p)
{
	if (!s->rc) {
		int rc = s->fn(s, p, s->ud, &s->err);
		if (rc) {
			s->rc = rc;
			if (s->err.code != rc)
				s->err.code = rc;
		}
	}
	part_free(p);
}

static void fail_part(gb_graph__sched *s, gb_graph__part *p, const gb_error *e)
{
	p->rc = e->code ? e->code : GB_ERROR;
	p->err = *e;
	deliver(s, p);
}

/* A part's reply: done (to the callback), or throttled: decided like a whole request, with its own Retry-After. */
static void part_reply(gb_graph__sched *s, carrier *c, gb_graph__part *p, long status, long retry_after)
{
	gb_graph *g = s->g;
	gb_graph_retry_input in;
	gb_graph_retry_decision d;
	char what[600];

	p->status = status;
	snprintf(p->crid, sizeof(p->crid), "%s", c->r.crid);
	if (status != 429 && status != 503 && status != 504) {
		deliver(s, p);
		return;
	}
	g->stats.throttled++;
	g->stats.throttled_429 += status == 429;
	gb_graph__decision_input(g, &c->r, &in);
	in.status = status;
	in.retry_after = retry_after;
	in.throttles = p->throttles++;
	in.authenticated = false;
	d = gb_graph_retry_decide(&in);
	gb_graph__part_what(s, p, what, sizeof(what));
	if (d.verdict == GB_GRAPH_WAIT) {
		gb_debug("graph", "%s ($batch part): %ld, sending it again in %lld ms", what, status, (long long)d.wait_ms);
		gb_graph__pause(g, d.wait_ms, what, NULL); /* the decision checked the budget */
		free(p->response);
		p->response = NULL;
		p->response_len = 0;
		enqueue(s, p, true);
		return;
	}
	gb_graph__budget_error(g, d.wait_ms, what, &p->err);
	p->rc = GB_ETHROTTLED;
	deliver(s, p);
}

/* The reply to a $batch: each part's status and body on its own. */
static void batch_reply(gb_graph__sched *s, carrier *c)
{
	gb_graph_batch_item items[GB_GRAPH_BATCH_MAX];
	long ra[GB_GRAPH_BATCH_MAX];
	gb_error e;
	size_t i, ok = 0;
	bool throttled = false;

	memset(items, 0, sizeof(items));
	for (i = 0; i < c->n; i++) {
		items[i].method = c->parts[i]->method;
		items[i].url = batch_url(s, c->parts[i]);
	}
	if (gb_graph__batch_parse(c->r.resp->body, c->r.resp->body_len, items, c->n, ra, &e)) {
		gb_error_prefix(&e, "client-request-id %s", c->r.crid);
		for (i = 0; i < c->n; i++)
			fail_part(s, c->parts[i], &e);
		c->n = 0;
		return;
	}
	for (i = 0; i < c->n; i++) {
		gb_graph__part *p = c->parts[i];

		c->parts[i] = NULL;
		p->response = items[i].response;
		p->response_len = p->response ? strlen(p->response) : 0;
		items[i].response = NULL;
		if (!items[i].status) {
			gb_error_set(&e, GB_EGRAPH, "%s %s ($batch part %zu): no reply in the batch (client-request-id %s)",
				     p->method, items[i].url, i, c->r.crid);
			fail_part(s, p, &e);
			continue;
		}
		throttled |= items[i].status == 429;
		ok += items[i].status >= 200 && items[i].status < 300;
		part_reply(s, c, p, items[i].status, ra[i]);
	}
	c->n = 0;
	gb_graph__adapt(s->g, c->r.t0, throttled, 0, (unsigned)ok);
}

static void carrier_done(gb_graph__sched *s, carrier *c)
{
	size_t i;

	if (c->r.rc) {
		/* no usable reply to the whole request (the engine retried what it could) */
		for (i = 0; i < c->n; i++)
			fail_part(s, c->parts[i], &c->r.err);
		c->n = 0;
	} else if (c->batch && (c->r.resp->status < 200 || c->r.resp->status >= 300)) {
		gb_error e;

		gb_graph__reply_error(s->g, "POST", c->r.url, c->r.resp, &e);
		for (i = 0; i < c->n; i++)
			fail_part(s, c->parts[i], &e);
		c->n = 0;
	} else if (c->batch) {
		batch_reply(s, c);
	} else {
		gb_graph__part *p = c->parts[0];

		c->parts[0] = NULL;
		c->n = 0;
		p->response = c->r.resp->body;
		p->response_len = c->r.resp->body_len;
		c->r.resp->body = NULL;
		snprintf(p->crid, sizeof(p->crid), "%s", c->r.crid);
		p->status = c->r.resp->status;
		deliver(s, p);
	}
}

/* ---- sending ---- */

/* The next part the callback still wants, taken from the queue. */
static gb_graph__part *take(gb_graph__sched *s)
{
	gb_graph__part *p;

	while ((p = s->queue) != NULL) {
		s->queue = p->next;
		if (!s->queue)
			s->queue_tail = NULL;
		p->next = NULL;
		if (!s->want || s->want(p, s->ud))
			return p;
		part_free(p);
	}
	return NULL;
}

static int batch_body(gb_graph__sched *s, carrier *c, gb_error *err)
{
	gb_graph_batch_item items[GB_GRAPH_BATCH_MAX];
	size_t idx[GB_GRAPH_BATCH_MAX], i;
	bool reads = true;

	memset(items, 0, sizeof(items));
	for (i = 0; i < c->n; i++) {
		items[i].method = c->parts[i]->method;
		items[i].url = batch_url(s, c->parts[i]);
		items[i].body = c->parts[i]->body;
		idx[i] = i;
		reads &= gb_graph_method_idempotent(c->parts[i]->method);
	}
	/* a batch of reads changes nothing: the engine may send it again after a transport failure */
	c->r.replay_safe = reads;
	return gb_graph_batch_build(items, idx, c->n, &c->body, err);
}

/* Fills a carrier with up to room parts and hands it to the engine. */
static int send_carrier(gb_graph__sched *s, unsigned room, gb_error *err)
{
	carrier *c = calloc(1, sizeof(*c));
	char url[64];
	int rc;

	if (!c)
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	if (s->packing == GB_GRAPH__ALONE || (s->g->no_batch && s->packing == GB_GRAPH__PACK))
		room = 1;
	while (c->n < room && c->n < GB_GRAPH_BATCH_MAX && s->queue) {
		/* a part whose URL cannot go in a $batch goes alone */
		if (c->n && !batch_url(s, s->queue))
			break;
		if (!(c->parts[c->n] = take(s)))
			break;
		c->n++;
		if (c->n == 1 && !batch_url(s, c->parts[0]))
			break;
	}
	if (!c->n) {
		free(c);
		return 0;
	}
	c->batch = c->n > 1 || (s->packing == GB_GRAPH__BATCH_ALWAYS && batch_url(s, c->parts[0]));
	if (c->batch) {
		snprintf(url, sizeof(url), "/%s/$batch", s->version);
		gb_graph__req_init(&c->r, "POST", NULL);
		rc = batch_body(s, c, err);
		c->r.body = c->body;
		c->r.cost = (unsigned)c->n;
		s->g->stats.batch_parts += c->n;
		if (!rc)
			rc = gb_graph__submit(s->g, &c->r, url, err);
	} else {
		gb_graph__req_init(&c->r, c->parts[0]->method, c->parts[0]->body);
		c->r.replay_safe = strcmp(c->parts[0]->method, "PATCH") == 0;
		snprintf(url, sizeof(url), "/%s", s->version);
		if (c->parts[0]->url[0] == '/') {
			gb_buf b;

			gb_buf_init(&b, 64 * 1024);
			rc = gb_buf_printf(&b, err, "%s%s", url, c->parts[0]->url);
			if (!rc)
				rc = gb_graph__submit(s->g, &c->r, gb_buf_cstr(&b), err);
			gb_buf_free(&b);
		} else {
			rc = gb_graph__submit(s->g, &c->r, c->parts[0]->url, err);
		}
	}
	if (rc) {
		carrier_free(s->g, c);
		return rc;
	}
	c->r.ud = c;
	c->next = s->carriers;
	s->carriers = c;
	return 0;
}

static void unlink_carrier(gb_graph__sched *s, carrier *c)
{
	carrier **p;

	for (p = &s->carriers; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			return;
		}
}

int gb_graph__sched_run(gb_graph__sched *s, gb_error *err)
{
	gb_graph *g = s->g;
	int rc = 0;

	while ((s->queue && !s->rc && !rc) || s->carriers) {
		unsigned room;
		gb_graph__req *f;

		while (!s->rc && !rc && s->queue && (room = gb_graph__capacity(g)) > 0)
			rc = send_carrier(s, room, err);
		if (!s->carriers && s->queue && !s->rc && !rc) {
			/* nothing in flight and no room: the client is paused */
			gb_graph__wait_pause(g);
			continue;
		}
		f = gb_graph__pump(g);
		if (!f)
			break;
		unlink_carrier(s, f->ud);
		carrier_done(s, f->ud);
		carrier_free(g, f->ud);
	}
	if (!rc && s->rc) {
		rc = s->rc;
		if (err)
			*err = s->err;
	}
	return rc;
}
