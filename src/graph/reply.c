/* reply.c: pure helpers of the requests layer: building URLs with escaped values, Graph's error bodies, JSON
 * replies, object ids. */
#include "graph/graph_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/util.h"

/* ---- URLs ---- */

int gb_graph_url(gb_buf *b, gb_error *err, const char *fmt, ...)
{
	va_list ap;
	const char *p;
	int rc = 0;

	va_start(ap, fmt);
	for (p = fmt; *p && !rc; p++) {
		if (p[0] == '%' && p[1] == 's') {
			const char *arg = va_arg(ap, const char *);
			char *e = curl_easy_escape(NULL, arg ? arg : "", 0);

			if (!e) {
				rc = gb_error_set(err, GB_ENOMEM, "out of memory encoding a URL");
				break;
			}
			rc = gb_buf_puts(b, e, err);
			curl_free(e);
			p++;
		} else {
			rc = gb_buf_putc(b, *p, err);
		}
	}
	va_end(ap);
	return rc;
}

/* ---- interpretation ---- */

const char *gb_graph__str(const json_t *o, const char *key)
{
	json_t *v = o ? json_object_get(o, key) : NULL;

	return json_is_string(v) ? json_string_value(v) : NULL;
}

int gb_graph__dupstr(char **dst, const json_t *o, const char *key)
{
	const char *s = gb_graph__str(o, key);

	*dst = NULL;
	if (!s)
		return 0;
	*dst = gb_strdup(s);
	return *dst ? 0 : -1;
}

int gb_graph__require_id(const char *what, const char *id, gb_error *err)
{
	if (!id || !*id)
		return gb_error_set(err, GB_EINVAL, "%s: an object id is needed", what);
	return 0;
}

bool gb_graph_is_guid(const char *s)
{
	size_t i;

	if (!s || strlen(s) != 36)
		return false;
	for (i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		unsigned char c = (unsigned char)s[i];

		if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return false;
	}
	return true;
}

void gb_graph_describe_error(long status, const char *body, size_t len, char *dst, size_t n)
{
	json_t *root = body && len ? json_loadb(body, len, 0, NULL) : NULL;
	json_t *e = root ? json_object_get(root, "error") : NULL;
	char safe[600];

	if (json_is_object(e)) {
		const char *code = gb_graph__str(e, "code"), *msg = gb_graph__str(e, "message"), *rid = NULL;
		json_t *inner = json_object_get(e, "innerError");

		if (!inner)
			inner = json_object_get(e, "innererror");
		rid = gb_graph__str(inner, "request-id");
		snprintf(safe, sizeof(safe), "%s", msg ? msg : "no message");
		snprintf(dst, n, "%ld %s: %s%s%s%s", status, code ? code : "(no code)", safe, rid ? " (request-id " : "",
			 rid ? rid : "", rid ? ")" : "");
	} else if (json_is_string(e)) {
		const char *desc = gb_graph__str(root, "error_description");
		size_t l;

		snprintf(safe, sizeof(safe), "%s", desc ? desc : "no description");
		/* The authority's descriptions carry trace lines after the first: keep the first line. */
		l = strcspn(safe, "\r\n");
		safe[l] = '\0';
		snprintf(dst, n, "%ld %s: %s", status, json_string_value(e), safe);
	} else {
		snprintf(dst, n, "HTTP %ld with a body that is not a Graph error", status);
	}
	json_decref(root);
}

int gb_graph__reply_error(gb_graph *g, const char *method, const char *url, const gb_graph_response *r,
			  gb_error *err)
{
	char desc[800];
	int code = gb_graph_status_code(r->status);

	if (!code)
		code = GB_EGRAPH;
	gb_graph_describe_error(r->status, r->body, r->body_len, desc, sizeof(desc));
	return gb_error_set(err, code, "%s %s: %s (client-request-id %s)", method, gb_graph__path(g, url), desc,
			    r->client_request_id);
}

int gb_graph_parse_json(const char *what, const char *body, size_t len, json_t **out, gb_error *err)
{
	json_error_t je;

	*out = json_loadb(body, len, 0, &je);
	if (!*out)
		return gb_error_set(err, GB_EPARSE, "%s: malformed JSON in the response (%d bytes; line %d column %d: %s)",
				    what, (int)len, je.line, je.column, je.text);
	return 0;
}
