/* transport.c: the bottom layer: raw HTTP exchanges over libcurl's multi interface. Several exchanges run at once;
 * where the server offers HTTP/2 they share one connection (multiplexed streams), else each has its own HTTP/1.1
 * connection, all kept for reuse. Nothing here knows tokens, retries or Graph. */
#include "graph/graph_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/util.h"

struct gb_graph__transport {
	CURLM *multi;
	CURL **idle;       /* easy handles kept for reuse (the connections live in the multi handle's cache) */
	size_t nidle, cap;
	size_t active;
};

void gb_graph__transport_limit(gb_graph *g)
{
	long conns = (long)g->max_concurrency;

	if (!g->tp)
		return;
	/* HTTP/1.1 needs a connection per exchange in flight; HTTP/2 multiplexes them over one. */
	curl_multi_setopt(g->tp->multi, CURLMOPT_MAX_HOST_CONNECTIONS, conns);
	curl_multi_setopt(g->tp->multi, CURLMOPT_MAXCONNECTS, conns + 1);
}

int gb_graph__transport_new(gb_graph *g, gb_error *err)
{
	gb_graph__transport *t = calloc(1, sizeof(*t));

	if (!t || !(t->multi = curl_multi_init())) {
		free(t);
		return gb_error_set(err, GB_ENOMEM, "cannot create a libcurl multi handle");
	}
	curl_multi_setopt(t->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
	g->tp = t;
	gb_graph__transport_limit(g);
	return 0;
}

void gb_graph__transport_free(gb_graph *g)
{
	gb_graph__transport *t = g->tp;
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->nidle; i++)
		curl_easy_cleanup(t->idle[i]);
	free(t->idle);
	curl_multi_cleanup(t->multi);
	free(t);
	g->tp = NULL;
}

size_t gb_graph__transport_active(const gb_graph *g)
{
	return g->tp ? g->tp->active : 0;
}

struct curl_slist *gb_graph__std_headers(struct curl_slist *h, const char *crid, const char *content_type)
{
	char line[160];
	struct curl_slist *n;

#define ADD(s)                                                                                                     \
	do {                                                                                                       \
		if (!(n = curl_slist_append(h, s))) {                                                              \
			curl_slist_free_all(h);                                                                    \
			return NULL;                                                                               \
		}                                                                                                  \
		h = n;                                                                                             \
	} while (0)
	snprintf(line, sizeof(line), "client-request-id: %s", crid);
	ADD(line);
	ADD("return-client-request-id: true");
	ADD("Accept: application/json");
	ADD("Expect:");
	if (content_type) {
		snprintf(line, sizeof(line), "Content-Type: %s", content_type);
		ADD(line);
	}
#undef ADD
	return h;
}

/* ---- replies ---- */

static size_t on_body(char *p, size_t sz, size_t nm, void *ud)
{
	gb_graph__xfer *x = ud;

	if (gb_buf_append(&x->body_buf, p, sz * nm, NULL)) {
		x->too_big = 1;
		return 0;
	}
	return sz * nm;
}

static void copy_value(char *dst, size_t n, const char *v, size_t len)
{
	while (len && isspace((unsigned char)*v)) {
		v++;
		len--;
	}
	while (len && isspace((unsigned char)v[len - 1]))
		len--;
	if (len >= n)
		len = n - 1;
	memcpy(dst, v, len);
	dst[len] = '\0';
}

static size_t on_header(char *p, size_t sz, size_t nm, void *ud)
{
	gb_graph__xfer *x = ud;
	size_t len = sz * nm, nl;
	const char *colon;

	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		/* A new status line (after 100 Continue): forget the previous reply's headers. */
		x->retry_after[0] = x->request_id[0] = x->throttle_pct[0] = '\0';
		free(x->location);
		x->location = NULL;
		return len;
	}
	colon = memchr(p, ':', len);
	if (!colon)
		return len;
	nl = (size_t)(colon - p);
#define IS(name) (nl == sizeof(name) - 1 && strncasecmp(p, name, nl) == 0)
	if (IS("retry-after"))
		copy_value(x->retry_after, sizeof(x->retry_after), colon + 1, len - nl - 1);
	else if (IS("request-id"))
		copy_value(x->request_id, sizeof(x->request_id), colon + 1, len - nl - 1);
	else if (IS("x-ms-throttle-limit-percentage"))
		copy_value(x->throttle_pct, sizeof(x->throttle_pct), colon + 1, len - nl - 1);
	else if (IS("location")) {
		char tmp[4096];

		copy_value(tmp, sizeof(tmp), colon + 1, len - nl - 1);
		free(x->location);
		x->location = gb_strdup(tmp);
	}
#undef IS
	return len;
}

/* How a transfer ended, for the retry decision. */
static gb_graph_transport_result classify(CURL *c, CURLcode cc, int too_big)
{
	curl_off_t sent = 0;
	long req = 0;

	if (too_big)
		return GB_GRAPH_XFER_TOO_BIG;
	switch (cc) {
	case CURLE_OK:
		return GB_GRAPH_XFER_OK;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
		return GB_GRAPH_XFER_TLS;
	case CURLE_OUT_OF_MEMORY:
		return GB_GRAPH_XFER_NOMEM;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
		return GB_GRAPH_XFER_NOT_SENT;
	default:
		break;
	}
	/* A timeout or reset before a byte of the request went out cannot have been acted on. */
	if (curl_easy_getinfo(c, CURLINFO_REQUEST_SIZE, &req) == CURLE_OK && req == 0 &&
	    curl_easy_getinfo(c, CURLINFO_SIZE_UPLOAD_T, &sent) == CURLE_OK && sent == 0)
		return GB_GRAPH_XFER_NOT_SENT;
	return GB_GRAPH_XFER_BROKEN;
}

/* ---- exchanges ---- */

static void setup(gb_graph *g, CURL *c, gb_graph__xfer *x)
{
	curl_easy_setopt(c, CURLOPT_URL, x->url);
	curl_easy_setopt(c, CURLOPT_PRIVATE, x);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(c, CURLOPT_PIPEWAIT, 1L); /* wait for a connection that may multiplex, not a new one */
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (g->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, g->ca_file);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	if (x->fresh) {
		curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
		curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
	}
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, g->connect_timeout);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, g->timeout);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, x->error);
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(c, CURLOPT_USERAGENT, "groupbridge");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, x->headers);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
	if (strcmp(x->method, "GET") == 0) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	} else {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, x->method);
		if (x->body || strcmp(x->method, "DELETE") != 0) {
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, x->body ? x->body : "");
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(x->body ? strlen(x->body) : 0));
		}
	}
}

static void reset_reply(gb_graph *g, gb_graph__xfer *x)
{
	x->done = false;
	x->result = GB_GRAPH_XFER_OK;
	x->status = 0;
	x->too_big = 0;
	x->retry_after[0] = x->request_id[0] = x->throttle_pct[0] = x->error[0] = '\0';
	free(x->location);
	x->location = NULL;
	gb_buf_free(&x->body_buf);
	gb_buf_init(&x->body_buf, g->max_body);
}

int gb_graph__xfer_start(gb_graph *g, gb_graph__xfer *x, gb_error *err)
{
	gb_graph__transport *t = g->tp;
	CURL *c;

	reset_reply(g, x);
	if (g->hook) {
		g->hook(g->hook_ud, x);
		x->done = true;
		return 0;
	}
	c = t->nidle ? t->idle[--t->nidle] : curl_easy_init();
	if (!c)
		return gb_error_set(err, GB_ENOMEM, "cannot create a libcurl handle");
	setup(g, c, x);
	if (curl_multi_add_handle(t->multi, c) != CURLM_OK) {
		curl_easy_cleanup(c);
		return gb_error_set(err, GB_ENOMEM, "cannot start a transfer");
	}
	x->easy = c;
	t->active++;
	return 0;
}

/* Takes the easy handle back from x (for reuse: the connection stays in the multi handle's cache). */
static void release(gb_graph *g, gb_graph__xfer *x)
{
	gb_graph__transport *t = g->tp;
	CURL *c = x->easy;

	if (!c)
		return;
	x->easy = NULL;
	curl_multi_remove_handle(t->multi, c);
	t->active--;
	curl_easy_reset(c);
	if (gb_grow(&t->idle, t->nidle, &t->cap, sizeof(*t->idle), 8)) {
		curl_easy_cleanup(c);
		return;
	}
	t->idle[t->nidle++] = c;
}

static void finish(gb_graph *g, gb_graph__xfer *x, CURLcode cc)
{
	long fresh = 0;

	x->result = classify(x->easy, cc, x->too_big);
	if (x->result == GB_GRAPH_XFER_OK)
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->status);
	else if (!x->error[0])
		snprintf(x->error, sizeof(x->error), "%s", x->too_big ? "the response body exceeds the limit"
									: curl_easy_strerror(cc));
	if (curl_easy_getinfo(x->easy, CURLINFO_NUM_CONNECTS, &fresh) == CURLE_OK && fresh > 0)
		g->stats.connections += (unsigned long)fresh;
	release(g, x);
	x->done = true;
}

void gb_graph__transport_run(gb_graph *g, gb_graph__xfer *until, long timeout_ms)
{
	gb_graph__transport *t = g->tp;
	int64_t t0 = gb_time_mono_ms();
	bool any = false;

	if (!t || g->hook)
		return;
	for (;;) {
		int running = 0, left = 0;
		CURLMsg *m;
		long wait;

		curl_multi_perform(t->multi, &running);
		while ((m = curl_multi_info_read(t->multi, &left)) != NULL) {
			gb_graph__xfer *x = NULL;

			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
			if (x) {
				finish(g, x, m->data.result);
				any = true;
			}
		}
		if ((until ? until->done : any) || !t->active)
			return;
		wait = 1000;
		if (timeout_ms >= 0) {
			int64_t left_ms = timeout_ms - (gb_time_mono_ms() - t0);
			if (left_ms <= 0)
				return;
			if (left_ms < wait)
				wait = (long)left_ms;
		}
		curl_multi_poll(t->multi, NULL, 0, (int)wait, NULL);
	}
}

void gb_graph__xfer_clear(gb_graph *g, gb_graph__xfer *x)
{
	if (x->easy)
		release(g, x);
	gb_buf_free(&x->body_buf);
	free(x->location);
	x->location = NULL;
}
