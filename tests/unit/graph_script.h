/* graph_script.h: a scripted transport for unit tests of the Graph client (no network, no server). The client's
 * exchanges are answered from a table of replies matched by method and a piece of the URL; $batch requests are
 * split and each part answered from the same table, as Graph does. The token endpoint always answers with a token
 * (script_token sets which). Every exchange is logged ("METHOD path" lines, batch parts as "  part METHOD url"). */
#ifndef GB_TEST_GRAPH_SCRIPT_H
#define GB_TEST_GRAPH_SCRIPT_H

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "graph/graph_int.h"
#include "support/testfs.h"

typedef struct script_reply {
	const char *method;                /* NULL: any */
	const char *url;                   /* a piece of the URL (path and query) */
	long status;
	const char *body;                  /* NULL: none */
	const char *retry_after;           /* NULL: no header */
	int times;                         /* answers this many matches, then lets later entries answer (0: always) */
	gb_graph_transport_result result;  /* a transport failure instead of a reply */
	const char *throttle_pct;          /* x-ms-throttle-limit-percentage, or NULL */
} script_reply;

typedef struct script {
	script_reply *r;
	size_t n;
	int used[64];
	char log[65536];
	size_t calls;                      /* Graph exchanges (token requests not counted) */
	const char *token;                 /* the access token handed out (default "tok-1") */
	char body[8192];                   /* the body of the last request */
} script;

static inline void script_log(script *s, const char *fmt, const char *a, const char *b)
{
	size_t l = strlen(s->log);

	snprintf(s->log + l, sizeof(s->log) - l, fmt, a, b);
}

/* The reply for method and url (NULL: 404). */
static inline script_reply *script_find(script *s, const char *method, const char *url)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		script_reply *r = &s->r[i];
		if (r->method && strcmp(r->method, method) != 0)
			continue;
		if (!strstr(url, r->url))
			continue;
		if (r->times && s->used[i] >= r->times)
			continue;
		s->used[i]++;
		return r;
	}
	return NULL;
}

static inline json_t *script_part(script *s, json_t *req)
{
	const char *method = json_string_value(json_object_get(req, "method"));
	const char *url = json_string_value(json_object_get(req, "url"));
	script_reply *r = script_find(s, method, url);
	json_t *out = json_pack("{s:O}", "id", json_object_get(req, "id"));

	script_log(s, "  part %s %s\n", method, url);
	if (!r) {
		json_object_set_new(out, "status", json_integer(404));
		json_object_set_new(out, "body", json_pack("{s:{s:s,s:s}}", "error", "code", "Request_ResourceNotFound",
							   "message", "not scripted"));
		return out;
	}
	json_object_set_new(out, "status", json_integer(r->status));
	if (r->body)
		json_object_set_new(out, "body", json_loads(r->body, JSON_DECODE_ANY, NULL));
	if (r->retry_after)
		json_object_set_new(out, "headers", json_pack("{s:s}", "Retry-After", r->retry_after));
	return out;
}

/* Answers x with status 200 and the JSON out as its body; takes out (and in, which may be NULL) and frees them. */
static inline void script_reply_json(gb_graph__xfer *x, json_t *out, json_t *in)
{
	char *text = json_dumps(out, JSON_COMPACT);

	x->status = 200;
	gb_buf_puts(&x->body_buf, text, NULL);
	free(text);
	json_decref(out);
	json_decref(in);
}

static inline void script_batch(script *s, gb_graph__xfer *x)
{
	json_t *in = json_loads(x->body, 0, NULL), *reqs = json_object_get(in, "requests"), *req;
	json_t *out = json_pack("{s:[]}", "responses");
	size_t i;

	json_array_foreach(reqs, i, req)
		json_array_append_new(json_object_get(out, "responses"), script_part(s, req));
	script_reply_json(x, out, in);
}

static inline void script_hook(void *ud, gb_graph__xfer *x)
{
	script *s = ud;
	const char *path = strstr(x->url, "://");
	script_reply *r;

	path = path ? strchr(path + 3, '/') : x->url;
	if (strstr(x->url, "/oauth2/v2.0/token")) {
		char tok[512];
		snprintf(tok, sizeof(tok), "{\"access_token\":\"%s\",\"expires_in\":3600}", s->token ? s->token : "tok-1");
		x->status = 200;
		gb_buf_puts(&x->body_buf, tok, NULL);
		return;
	}
	s->calls++;
	script_log(s, "%s %s\n", x->method, path);
	snprintf(s->body, sizeof(s->body), "%s", x->body ? x->body : "");
	if (strcmp(x->method, "POST") == 0 && strstr(path, "/$batch")) {
		r = script_find(s, "POST", "/$batch");
		if (r && r->result) {
			x->result = r->result;
			snprintf(x->error, sizeof(x->error), "scripted transport failure");
			return;
		}
		script_batch(s, x);
		return;
	}
	r = script_find(s, x->method, path);
	if (!r) {
		x->status = 404;
		gb_buf_puts(&x->body_buf, "{\"error\":{\"code\":\"Request_ResourceNotFound\",\"message\":\"not scripted\"}}",
			    NULL);
		return;
	}
	if (r->result) {
		x->result = r->result;
		snprintf(x->error, sizeof(x->error), "scripted transport failure");
		return;
	}
	x->status = r->status;
	if (r->body)
		gb_buf_puts(&x->body_buf, r->body, NULL);
	if (r->retry_after)
		snprintf(x->retry_after, sizeof(x->retry_after), "%s", r->retry_after);
	if (r->throttle_pct)
		snprintf(x->throttle_pct, sizeof(x->throttle_pct), "%s", r->throttle_pct);
}

/* A client answered by s. graph_url and tenant may be NULL (https://graph.microsoft.com, a GUID tenant). *cfg and
 * the client are the caller's. */
static inline gb_graph *script_client(script *s, const char *graph_url, const char *tenant, gb_config **cfg)
{
	char text[1024], path[64];
	gb_graph *g = NULL;
	gb_error err;

	gb_testfs_mkstemp(path, sizeof(path), "graph-script", "unit-secret\n");
	snprintf(text, sizeof(text),
		 "[graph]\ntenant_id = %s\nclient_id = 0a1b2c3d-4e5f-4a6b-8c7d-8e9fa0b1c2d3\nclient_secret_file = %s\n"
		 "graph_url = %s\nmax_throttle_wait = 900\n",
		 tenant ? tenant : "7d1c2f4e-5a6b-4c8d-9e0f-112233445566", path,
		 graph_url ? graph_url : "https://graph.microsoft.com");
	cr_assert_eq(gb_config_parse("unit.ini", text, cfg, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_graph_new(*cfg, &g, &err), 0, "%s", err.msg);
	unlink(path);
	g->hook = script_hook;
	g->hook_ud = s;
	gb_graph_set_time_scale(g, 0);
	return g;
}

/* Declares s, a script of the first n replies of the array r, and g, a client it answers (script_client with its
 * defaults), made from cfg. SCRIPT_END frees the client and the configuration. */
#define SCRIPT_START(r, n)                                                                                         \
	script s = {r, n};                                                                                         \
	gb_config *cfg = NULL;                                                                                     \
	gb_graph *g = script_client(&s, NULL, NULL, &cfg)
#define SCRIPT_END()                                                                                               \
	do {                                                                                                       \
		gb_graph_free(g);                                                                                  \
		gb_config_free(cfg);                                                                               \
	} while (0)

/* How many log lines contain needle. */
static inline size_t script_count(const script *s, const char *needle)
{
	size_t n = 0;
	const char *p = s->log;

	while ((p = strstr(p, needle)) != NULL) {
		n++;
		p += strlen(needle);
	}
	return n;
}

#endif
