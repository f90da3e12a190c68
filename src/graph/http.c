/* http.c: the client object, HTTP over libcurl with retries and throttling, and reply interpretation. */
#include "graph/graph_int.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "groupbridge/buf.h"
#include "groupbridge/log.h"
#include "groupbridge/util.h"

#define NET_RETRIES 3
#define BACKOFF_CAP_MS 32000
#define SLOWDOWN_FROM 0.9
#define SLOWDOWN_MAX_MS 10000
#define CONNECT_TIMEOUT 15

static char *strip_slash(const char *s)
{
	char *c = gb_strdup(s);
	size_t l;

	if (!c)
		return NULL;
	l = strlen(c);
	while (l && c[l - 1] == '/')
		c[--l] = '\0';
	return c;
}

int gb_graph_new(const gb_config *cfg, gb_graph **out, gb_error *err)
{
	const gb_config_graph *c;
	gb_graph *g = NULL;
	gb_buf tu;
	int rc;

	*out = NULL;
	gb_buf_init(&tu, 4096);
	rc = gb_config_require_graph(cfg, err);
	if (rc)
		return rc;
	c = &cfg->graph;
	g = calloc(1, sizeof(*g));
	if (!g)
		return gb_error_set(err, GB_ENOMEM, "out of memory creating the graph client");
	g->alg = cfg->graph.jwt_alg && strcmp(cfg->graph.jwt_alg, "RS256") == 0 ? GB_GRAPH_JWT_RS256 : GB_GRAPH_JWT_PS256;
	g->timeout = c->timeout > 0 ? c->timeout : 60;
	g->connect_timeout = g->timeout < CONNECT_TIMEOUT ? g->timeout : CONNECT_TIMEOUT;
	g->max_wait_ms = (int64_t)c->max_throttle_wait * 1000;
	g->time_scale = 1.0;
	g->max_body = GB_BUF_DEFAULT_MAX;
	g->graph_url = strip_slash(c->graph_url ? c->graph_url : GB_DEFAULT_GRAPH_URL);
	g->authority_url = strip_slash(c->authority_url ? c->authority_url : GB_DEFAULT_AUTHORITY_URL);
	g->tenant_id = gb_strdup(c->tenant_id);
	g->client_id = gb_strdup(c->client_id);
	g->ca_file = gb_strdup(c->ca_file);
	if (!g->graph_url || !g->authority_url || !g->tenant_id || !g->client_id || (c->ca_file && !g->ca_file)) {
		rc = gb_error_set(err, GB_ENOMEM, "out of memory creating the graph client");
		goto cleanup;
	}
	rc = gb_buf_printf(&tu, err, "%s/%s/oauth2/v2.0/token", g->authority_url, g->tenant_id);
	if (rc)
		goto cleanup;
	g->token_url = gb_buf_detach(&tu);
	if (!g->token_url) {
		rc = gb_error_set(err, GB_ENOMEM, "out of memory creating the graph client");
		goto cleanup;
	}
	if (cfg->provisioning.group_dn_extension) {
		rc = gb_graph_set_group_extension(g, cfg->provisioning.group_dn_extension, err);
		if (rc) {
			gb_error_prefix(err, "%s: [provisioning] group_dn_extension", cfg->path ? cfg->path : "configuration");
			rc = GB_ECONFIG;
			if (err)
				err->code = rc;
			goto cleanup;
		}
	}
	if (c->certificate_file) {
		char *probe = NULL;

		g->cert_file = gb_strdup(c->certificate_file);
		g->key_file = gb_strdup(c->private_key_file);
		if (!g->cert_file || !g->key_file) {
			rc = gb_error_set(err, GB_ENOMEM, "out of memory creating the graph client");
			goto cleanup;
		}
		/* Load and sign once now so that a bad certificate or key is a configuration error up front. */
		rc = gb_graph_jwt_assertion(g->cert_file, g->key_file, g->alg, g->client_id, g->token_url, time(NULL), 600,
					    &probe, err);
		gb_secret_free(probe);
		if (rc)
			goto cleanup;
	} else {
		rc = gb_config_graph_secret(cfg, &g->secret, err);
		if (rc)
			goto cleanup;
		rc = gb_log_pin_secret(g->secret);
		if (rc) {
			rc = gb_error_set(err, rc, "out of memory registering the client secret for redaction");
			goto cleanup;
		}
	}
	g->curl = curl_easy_init();
	if (!g->curl) {
		rc = gb_error_set(err, GB_ENOMEM, "cannot create a libcurl handle");
		goto cleanup;
	}
	*out = g;
	g = NULL;
cleanup:
	gb_buf_free(&tu);
	gb_graph_free(g);
	return rc;
}

void gb_graph_free(gb_graph *g)
{
	if (!g)
		return;
	if (g->curl)
		curl_easy_cleanup(g->curl);
	free(g->graph_url);
	free(g->authority_url);
	free(g->token_url);
	free(g->tenant_id);
	free(g->client_id);
	gb_secret_free(g->secret);
	free(g->cert_file);
	free(g->key_file);
	free(g->ca_file);
	free(g->ext_name);
	gb_secret_free(g->token);
	free(g);
}

void gb_graph_set_time_scale(gb_graph *g, double scale)
{
	g->time_scale = scale >= 0 ? scale : 1.0;
}

void gb_graph_set_jwt_alg(gb_graph *g, gb_graph_jwt_alg alg)
{
	g->alg = alg;
}

void gb_graph_set_max_body(gb_graph *g, size_t max)
{
	g->max_body = max ? max : GB_BUF_DEFAULT_MAX;
}

int gb_graph_set_group_extension(gb_graph *g, const char *name, gb_error *err)
{
	const char *p;
	char *copy = NULL;
	size_t i;

	if (name) {
		if (!gb_str_has_prefix(name, "extension_"))
			goto bad;
		p = name + strlen("extension_");
		for (i = 0; i < 32; i++)
			if (!isxdigit((unsigned char)p[i]))
				goto bad;
		if (p[32] != '_' || !p[33])
			goto bad;
		for (p += 33; *p; p++)
			if (!isalnum((unsigned char)*p) && *p != '_')
				goto bad;
		copy = gb_strdup(name);
		if (!copy)
			return gb_error_set(err, GB_ENOMEM, "out of memory");
	}
	free(g->ext_name);
	g->ext_name = copy;
	return 0;
bad:
	return gb_error_set(err, GB_EINVAL, "directory extension \"%s\" is not of the form extension_<app id without "
			    "hyphens>_<name>", name);
}

const gb_graph_stats *gb_graph_get_stats(const gb_graph *g)
{
	return &g->stats;
}

/* ---- waiting ---- */

static void sleep_ms(double ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)((ms - (double)ts.tv_sec * 1000) * 1000000);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int gb_graph__wait(gb_graph *g, int64_t ms, const char *what, gb_error *err)
{
	if (g->stats.wait_ms + ms > g->max_wait_ms)
		return gb_error_set(err, GB_ETHROTTLED,
				    "%s: still throttled after %lld s of waiting this run (graph.max_throttle_wait is %lld s, "
				    "the next wait would be %lld s); run again later to resume",
				    what, (long long)(g->stats.wait_ms / 1000), (long long)(g->max_wait_ms / 1000),
				    (long long)((ms + 999) / 1000));
	g->stats.wait_ms += ms;
	sleep_ms((double)ms * g->time_scale);
	return 0;
}

int64_t gb_graph__backoff_ms(unsigned attempt)
{
	int64_t full = 1000;
	uint32_t r = 0;

	while (attempt-- && full < BACKOFF_CAP_MS)
		full *= 2;
	if (full > BACKOFF_CAP_MS)
		full = BACKOFF_CAP_MS;
	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = (uint32_t)gb_time_mono_ms();
	/* Full jitter over the upper half: never an immediate retry, never in lock-step with other clients. */
	return full / 2 + (int64_t)(r % (uint32_t)(full / 2 + 1));
}

/* ---- Retry-After ---- */

static int month_index(const char *m)
{
	static const char *months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
				       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	int i;

	for (i = 0; i < 12; i++)
		if (strcmp(m, months[i]) == 0)
			return i;
	return -1;
}

static int valid_wday(const char *w, int full)
{
	static const char *days[] = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};
	int i;

	for (i = 0; i < 7; i++)
		if (full ? strcmp(w, days[i]) == 0 : (strlen(w) == 3 && strncmp(w, days[i], 3) == 0))
			return 1;
	return 0;
}

static int parse_http_date(const char *v, time_t *out)
{
	char wd[16], mon[8];
	int d, y, H, M, S, end = -1;
	struct tm tm;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(v, "%3[A-Za-z], %2d %3[A-Za-z] %4d %2d:%2d:%2d GMT%n", wd, &d, mon, &y, &H, &M, &S, &end) == 7 &&
	    end > 0 && v[end] == '\0' && valid_wday(wd, 0)) {
		/* IMF-fixdate */
	} else if (end = -1, sscanf(v, "%9[A-Za-z], %2d-%3[A-Za-z]-%2d %2d:%2d:%2d GMT%n", wd, &d, mon, &y, &H, &M, &S,
				   &end) == 7 &&
		   end > 0 && v[end] == '\0' && valid_wday(wd, 1)) {
		y += y < 70 ? 2000 : 1900; /* RFC 850's two-digit year */
	} else if (end = -1, sscanf(v, "%3[A-Za-z] %3[A-Za-z] %2d %2d:%2d:%2d %4d%n", wd, mon, &d, &H, &M, &S, &y,
				   &end) == 7 &&
		   end > 0 && v[end] == '\0' && valid_wday(wd, 0)) {
		/* asctime */
	} else {
		return -1;
	}
	tm.tm_mon = month_index(mon);
	if (tm.tm_mon < 0 || d < 1 || d > 31 || H > 23 || M > 59 || S > 60 || y < 1970 || H < 0 || M < 0 || S < 0)
		return -1;
	tm.tm_mday = d;
	tm.tm_year = y - 1900;
	tm.tm_hour = H;
	tm.tm_min = M;
	tm.tm_sec = S;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	*out = t;
	return 0;
}

int gb_graph_parse_retry_after(const char *value, time_t now, long *seconds)
{
	size_t i, n;
	time_t t;

	if (!value)
		return GB_EPARSE;
	n = strlen(value);
	if (n == 0)
		return GB_EPARSE;
	for (i = 0; i < n && isdigit((unsigned char)value[i]); i++)
		;
	if (i == n) {
		long s = 0;

		if (n > 9)
			return GB_EPARSE;
		for (i = 0; i < n; i++)
			s = s * 10 + (value[i] - '0');
		*seconds = s;
		return 0;
	}
	if (parse_http_date(value, &t))
		return GB_EPARSE;
	*seconds = t > now ? (long)(t - now) : 0;
	return 0;
}

/* ---- one transfer ---- */

typedef struct xfer {
	gb_buf body;
	int too_big;
	char retry_after[80];
	char request_id[64];
	char throttle_pct[32];
	char *location;
} xfer;

static size_t on_body(char *p, size_t sz, size_t nm, void *ud)
{
	xfer *x = ud;

	if (gb_buf_append(&x->body, p, sz * nm, NULL)) {
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
	xfer *x = ud;
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

const char *gb_graph__path(const gb_graph *g, const char *url)
{
	size_t l = strlen(g->graph_url);

	if (strncmp(url, g->graph_url, l) == 0 && url[l] == '/')
		return url + l;
	l = strlen(g->authority_url);
	if (strncmp(url, g->authority_url, l) == 0 && url[l] == '/')
		return url + l;
	return url;
}

static int curl_code(CURLcode c)
{
	switch (c) {
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
		return GB_ETLS;
	case CURLE_OUT_OF_MEMORY:
		return GB_ENOMEM;
	default:
		return GB_ENET;
	}
}

static int perform(gb_graph *g, const char *method, const char *url, const char *body,
		   const struct curl_slist *hdrs, xfer *x, long *status, gb_error *err)
{
	CURL *c = g->curl;
	CURLcode cc;
	char ebuf[CURL_ERROR_SIZE];

	curl_easy_reset(c); /* keeps the connection cache: the next request reuses the connection */
	ebuf[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (g->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, g->ca_file);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, g->connect_timeout);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, g->timeout);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(c, CURLOPT_USERAGENT, "groupbridge");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
	if (strcmp(method, "GET") == 0) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	} else {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
		if (body || strcmp(method, "DELETE") != 0) {
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? strlen(body) : 0));
		}
	}
	cc = curl_easy_perform(c);
	if (x->too_big)
		return gb_error_set(err, GB_ETOOBIG, "%s %s: the response body exceeds the limit of %zu bytes", method,
				    gb_graph__path(g, url), x->body.max);
	if (cc != CURLE_OK)
		return gb_error_set(err, curl_code(cc), "%s %s: %s", method, gb_graph__path(g, url),
				    ebuf[0] ? ebuf : curl_easy_strerror(cc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	{
		long fresh = 0;

		if (curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &fresh) == CURLE_OK && fresh > 0)
			g->stats.connections += (unsigned long)fresh;
	}
	return 0;
}

static int is_throttle(long status)
{
	return status == 429 || status == 503 || status == 504;
}

static int url_allowed(const gb_graph *g, const char *url)
{
	size_t l = strlen(g->graph_url);

	if (strncmp(url, g->graph_url, l) == 0 && url[l] == '/')
		return 1;
	return strcmp(url, g->token_url) == 0;
}

void gb_graph_response_free(gb_graph_response *r)
{
	if (!r)
		return;
	free(r->body);
	free(r->location);
	free(r);
}

int gb_graph__send(gb_graph *g, const char *method, const char *url, const char *body, const char *content_type,
		   const char *const *headers, int use_auth, gb_graph_response **out, gb_error *err)
{
	gb_buf full, line;
	char crid[40], ctype[128];
	struct curl_slist *hdrs = NULL;
	xfer x;
	long status = 0;
	unsigned throttles = 0, net_failures = 0;
	int renewed = 0, rc;
	const char *path;
	gb_graph_response *r = NULL;

	*out = NULL;
	memset(&x, 0, sizeof(x));
	gb_buf_init(&x.body, g->max_body);
	gb_buf_init(&full, 64 * 1024);
	gb_buf_init(&line, 16 * 1024);
	if (url[0] == '/') {
		rc = gb_buf_printf(&full, err, "%s%s", g->graph_url, url);
	} else if (url_allowed(g, url)) {
		rc = gb_buf_puts(&full, url, err);
	} else {
		rc = gb_error_set(err, GB_EINVAL, "%s %s: refusing a URL outside %s", method, url, g->graph_url);
	}
	if (rc)
		goto cleanup;
	url = gb_buf_cstr(&full);
	path = gb_graph__path(g, url);
	for (;;) {
		int64_t t0;

		if (g->throttle_pct >= SLOWDOWN_FROM) {
			int64_t ms = (int64_t)((g->throttle_pct - 0.8) * 10000 + 0.5);

			if (ms > SLOWDOWN_MAX_MS)
				ms = SLOWDOWN_MAX_MS;
			gb_debug("graph", "throttle limit at %.0f%%: pausing %lld ms before %s %s", g->throttle_pct * 100,
				 (long long)ms, method, path);
			g->stats.slowdown_ms += ms;
			sleep_ms((double)ms * g->time_scale);
			g->throttle_pct = 0;
		}
		if (use_auth) {
			rc = gb_graph_token(g, NULL, err);
			if (rc)
				goto cleanup;
		}
		rc = gb_uuid_v4(crid, sizeof(crid), err);
		if (rc)
			goto cleanup;
		curl_slist_free_all(hdrs);
		hdrs = NULL;
		gb_buf_clear(&line);
		if (use_auth) {
			rc = gb_buf_printf(&line, err, "Authorization: Bearer %s", g->token);
			if (rc)
				goto cleanup;
			hdrs = curl_slist_append(hdrs, gb_buf_cstr(&line));
			gb_memzero(line.data, line.len);
		}
		{
			char idh[80];
			const char *const *h;

			snprintf(idh, sizeof(idh), "client-request-id: %s", crid);
			snprintf(ctype, sizeof(ctype), "Content-Type: %s", content_type ? content_type : "application/json");
			hdrs = curl_slist_append(hdrs, idh);
			hdrs = curl_slist_append(hdrs, "return-client-request-id: true");
			hdrs = curl_slist_append(hdrs, "Accept: application/json");
			hdrs = curl_slist_append(hdrs, "Expect:");
			if (body)
				hdrs = curl_slist_append(hdrs, ctype);
			for (h = headers; h && *h; h++)
				hdrs = curl_slist_append(hdrs, *h);
		}
		if (!hdrs) {
			rc = gb_error_set(err, GB_ENOMEM, "%s %s: out of memory building headers", method, path);
			goto cleanup;
		}
		gb_buf_clear(&x.body);
		x.too_big = 0;
		t0 = gb_time_mono_ms();
		g->stats.requests++;
		status = 0;
		rc = perform(g, method, url, body, hdrs, &x, &status, err);
		gb_debug("graph", "%s %s -> %ld in %lld ms (client-request-id %s%s%s)", method, path, status,
			 (long long)(gb_time_mono_ms() - t0), crid, x.request_id[0] ? ", request-id " : "", x.request_id);
		if (rc == GB_ENET && net_failures < NET_RETRIES) {
			int64_t ms = gb_graph__backoff_ms(net_failures++);

			/* Out of waiting budget: the network error, which names the request, is the one to report. */
			if (g->stats.wait_ms + ms > g->max_wait_ms)
				goto cleanup;
			gb_warn("graph", "%s; retrying in %lld ms", err ? err->msg : "network failure", (long long)ms);
			g->stats.net_retries++;
			rc = gb_graph__wait(g, ms, method, err);
			if (rc)
				goto cleanup;
			continue;
		}
		if (rc)
			goto cleanup;
		g->throttle_pct = x.throttle_pct[0] ? strtod(x.throttle_pct, NULL) : 0;
		if (g->throttle_pct > 2)
			g->throttle_pct /= 100; /* tolerate a percentage given as 90 rather than 0.9 */
		if (status == 401 && use_auth && !renewed) {
			renewed = 1;
			g->stats.auth_retries++;
			gb_debug("graph", "%s %s: 401, renewing the token once", method, path);
			gb_graph_token_invalidate(g);
			continue;
		}
		if (is_throttle(status)) {
			long ra = -1;
			int64_t ms;
			char what[512];

			g->stats.throttled++;
			if (x.retry_after[0] && gb_graph_parse_retry_after(x.retry_after, time(NULL), &ra) == 0)
				ms = (ra < 1 ? 1 : (int64_t)ra) * 1000;
			else
				ms = gb_graph__backoff_ms(throttles);
			throttles++;
			snprintf(what, sizeof(what), "%s %s", method, path);
			gb_debug("graph", "%s: %ld, waiting %lld ms (Retry-After %s)", what, status, (long long)ms,
				 x.retry_after[0] ? x.retry_after : "absent");
			rc = gb_graph__wait(g, ms, what, err);
			if (rc)
				goto cleanup;
			continue;
		}
		break;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		rc = gb_error_set(err, GB_ENOMEM, "%s %s: out of memory", method, path);
		goto cleanup;
	}
	r->status = status;
	r->body_len = x.body.len;
	r->body = gb_buf_detach(&x.body);
	r->location = x.location;
	x.location = NULL;
	snprintf(r->client_request_id, sizeof(r->client_request_id), "%s", crid);
	snprintf(r->request_id, sizeof(r->request_id), "%s", x.request_id);
	if (!r->body) {
		gb_graph_response_free(r);
		rc = gb_error_set(err, GB_ENOMEM, "%s %s: out of memory", method, path);
		goto cleanup;
	}
	*out = r;
	rc = 0;
cleanup:
	curl_slist_free_all(hdrs);
	gb_buf_free(&x.body);
	free(x.location);
	gb_buf_free(&full);
	gb_buf_wipe(&line);
	return rc;
}

int gb_graph_request(gb_graph *g, const char *method, const char *url, const char *body, const char *const *headers,
		     gb_graph_response **out, gb_error *err)
{
	return gb_graph__send(g, method, url, body, NULL, headers, 1, out, err);
}

/* ---- interpretation ---- */

int gb_graph_status_code(long status)
{
	if (status >= 200 && status < 300)
		return 0;
	if (status == 404)
		return GB_ENOTFOUND;
	if (status == 401 || status == 403)
		return GB_EAUTH;
	if (status == 409)
		return GB_EEXISTS;
	if (status == 429)
		return GB_ETHROTTLED;
	if (status >= 500)
		return GB_ERETRY;
	return GB_EGRAPH;
}

const char *gb_graph__str(const json_t *o, const char *key)
{
	json_t *v = o ? json_object_get(o, key) : NULL;

	return json_is_string(v) ? json_string_value(v) : NULL;
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

	*out = NULL;
	*out = json_loadb(body, len, 0, &je);
	if (!*out)
		return gb_error_set(err, GB_EPARSE, "%s: malformed JSON in the response (%d bytes; line %d column %d: %s)",
				    what, (int)len, je.line, je.column, je.text);
	return 0;
}

int gb_graph_call(gb_graph *g, const char *method, const char *url, const json_t *body, json_t **out, gb_error *err)
{
	gb_graph_response *r = NULL;
	char *text = NULL, what[600];
	json_t *parsed = NULL;
	int rc;

	if (out)
		*out = NULL;
	if (body) {
		text = json_dumps(body, JSON_COMPACT);
		if (!text)
			return gb_error_set(err, GB_ENOMEM, "%s %s: cannot serialise the request body", method, url);
	}
	rc = gb_graph_request(g, method, url, text, NULL, &r, err);
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
		if (rc)
			goto cleanup;
		*out = parsed;
	}
cleanup:
	free(text);
	gb_graph_response_free(r);
	return rc;
}

int gb_graph_each(gb_graph *g, const char *url, gb_graph_item_fn fn, void *ud, gb_error *err)
{
	char *next = gb_strdup(url);
	json_t *page = NULL;
	int rc = 0;

	if (!next)
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	while (next) {
		json_t *value, *item, *nl;
		size_t i;

		rc = gb_graph_call(g, "GET", next, NULL, &page, err);
		if (rc)
			goto cleanup;
		value = json_object_get(page, "value");
		if (!json_is_array(value)) {
			rc = gb_error_set(err, GB_EPARSE, "GET %s: the reply has no \"value\" array", gb_graph__path(g, next));
			goto cleanup;
		}
		json_array_foreach(value, i, item) {
			rc = fn(item, ud, err);
			if (rc)
				goto cleanup;
		}
		nl = json_object_get(page, "@odata.nextLink");
		free(next);
		next = NULL;
		if (json_is_string(nl)) {
			next = gb_strdup(json_string_value(nl));
			if (!next) {
				rc = gb_error_set(err, GB_ENOMEM, "out of memory");
				goto cleanup;
			}
		} else if (nl && !json_is_null(nl)) {
			rc = gb_error_set(err, GB_EPARSE, "GET %s: @odata.nextLink is not a string", url);
			goto cleanup;
		}
		json_decref(page);
		page = NULL;
	}
cleanup:
	json_decref(page);
	free(next);
	return rc;
}
