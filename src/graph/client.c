/* client.c: the client object, its settings and counters, the logical clock, sleeping, and the run's wait budget. */
#include "graph/graph_int.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "groupbridge/log.h"
#include "groupbridge/util.h"

#define BACKOFF_CAP_MS 32000
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

static int nomem(gb_error *err)
{
	return gb_error_set(err, GB_ENOMEM, "out of memory creating the graph client");
}

/* The credential: load and sign once now so that a bad certificate or key is a configuration error up front. */
static int credential(gb_graph *g, const gb_config *cfg, gb_error *err)
{
	const gb_config_graph *c = &cfg->graph;
	char *probe = NULL;
	int rc;

	if (!c->certificate_file) {
		rc = gb_config_graph_secret(cfg, &g->secret, err);
		if (!rc && gb_log_pin_secret(g->secret))
			rc = gb_error_set(err, GB_ENOMEM, "out of memory registering the client secret for redaction");
		return rc;
	}
	g->cert_file = gb_strdup(c->certificate_file);
	g->key_file = gb_strdup(c->private_key_file);
	if (!g->cert_file || !g->key_file)
		return nomem(err);
	rc = gb_graph_jwt_assertion(g->cert_file, g->key_file, g->alg, g->client_id, g->token_url, time(NULL), 600,
				    &probe, err);
	gb_secret_free(probe);
	return rc;
}

static int extension(gb_graph *g, const gb_config *cfg, gb_error *err)
{
	int rc;

	if (!cfg->provisioning.group_dn_extension)
		return 0;
	rc = gb_graph_set_group_extension(g, cfg->provisioning.group_dn_extension, err);
	if (rc) {
		gb_error_prefix(err, "%s: [provisioning] group_dn_extension", cfg->path ? cfg->path : "configuration");
		rc = GB_ECONFIG;
		if (err)
			err->code = rc;
	}
	return rc;
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
		return nomem(err);
	g->alg = c->jwt_alg && strcmp(c->jwt_alg, "RS256") == 0 ? GB_GRAPH_JWT_RS256 : GB_GRAPH_JWT_PS256;
	g->timeout = c->timeout > 0 ? c->timeout : 60;
	g->connect_timeout = g->timeout < CONNECT_TIMEOUT ? g->timeout : CONNECT_TIMEOUT;
	g->max_wait_ms = (int64_t)c->max_throttle_wait * 1000;
	g->time_scale = 1.0;
	g->max_body = GB_BUF_DEFAULT_MAX;
	g->max_concurrency = c->max_concurrency > 0 ? (unsigned)c->max_concurrency : GB_GRAPH_DEFAULT_CONCURRENCY;
	g->window = g->max_concurrency < GB_GRAPH_START_WINDOW ? g->max_concurrency : GB_GRAPH_START_WINDOW;
	g->slow_start = true;
	g->stats.window = g->window;
	g->graph_url = strip_slash(c->graph_url ? c->graph_url : GB_DEFAULT_GRAPH_URL);
	g->authority_url = strip_slash(c->authority_url ? c->authority_url : GB_DEFAULT_AUTHORITY_URL);
	g->tenant_id = gb_strdup(c->tenant_id);
	g->client_id = gb_strdup(c->client_id);
	g->ca_file = gb_strdup(c->ca_file);
	if (!g->graph_url || !g->authority_url || !g->tenant_id || !g->client_id || (c->ca_file && !g->ca_file)) {
		rc = nomem(err);
		goto cleanup;
	}
	rc = gb_buf_printf(&tu, err, "%s/%s/oauth2/v2.0/token", g->authority_url, g->tenant_id);
	if (!rc && !(g->token_url = gb_buf_detach(&tu)))
		rc = nomem(err);
	if (!rc)
		rc = extension(g, cfg, err);
	if (!rc)
		rc = credential(g, cfg, err);
	if (!rc)
		rc = gb_graph__transport_new(g, err);
	if (!rc) {
		*out = g;
		g = NULL;
	}
cleanup:
	gb_buf_free(&tu);
	gb_graph_free(g);
	return rc;
}

void gb_graph_free(gb_graph *g)
{
	if (!g)
		return;
	gb_graph__transport_free(g);
	gb_graph__writes_free(g);
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

void gb_graph_set_max_concurrency(gb_graph *g, unsigned n)
{
	g->max_concurrency = n ? n : 1;
	gb_graph__transport_limit(g);
	if (g->window > g->max_concurrency || !g->window)
		g->window = g->max_concurrency;
	g->stats.window = g->window;
}

bool gb_graph__extension_ok(const char *name)
{
	const char *p;
	size_t i;

	if (!name || !gb_str_has_prefix(name, "extension_"))
		return false;
	p = name + strlen("extension_");
	for (i = 0; i < 32; i++)
		if (!isxdigit((unsigned char)p[i]))
			return false;
	if (p[32] != '_' || !p[33])
		return false;
	for (p += 33; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_')
			return false;
	return true;
}

void gb_graph_set_batching(gb_graph *g, bool on)
{
	g->no_batch = !on;
}

int gb_graph_set_group_extension(gb_graph *g, const char *name, gb_error *err)
{
	char *copy = NULL;

	if (name && !gb_graph__extension_ok(name))
		return gb_error_set(err, GB_EINVAL, "directory extension \"%s\" is not of the form extension_<app id "
				    "without hyphens>_<name>", name);
	if (name && !(copy = gb_strdup(name)))
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	free(g->ext_name);
	g->ext_name = copy;
	return 0;
}

const gb_graph_stats *gb_graph_get_stats(const gb_graph *g)
{
	return &g->stats;
}

/* ---- time ---- */

int64_t gb_graph__now(const gb_graph *g)
{
	return gb_time_mono_ms() + g->clock_offset;
}

static void nap(double ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)((ms - (double)ts.tv_sec * 1000) * 1000000);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

void gb_graph__sleep(gb_graph *g, int64_t ms)
{
	double real;
	int64_t t0;

	if (ms <= 0)
		return;
	real = (double)ms * g->time_scale;
	t0 = gb_time_mono_ms();
	if (g->tp && gb_graph__transport_active(g)) {
		/* keep the exchanges in flight moving while this one waits */
		while (gb_time_mono_ms() - t0 < (int64_t)real && gb_graph__transport_active(g))
			gb_graph__transport_run(g, NULL, (long)((int64_t)real - (gb_time_mono_ms() - t0)));
		nap(real - (double)(gb_time_mono_ms() - t0));
	} else {
		nap(real);
	}
	/* the logical clock moves by ms although only real ms passed */
	g->clock_offset += ms - (gb_time_mono_ms() - t0);
}

int gb_graph__budget_error(const gb_graph *g, int64_t ms, const char *what, gb_error *err)
{
	return gb_error_set(err, GB_ETHROTTLED,
			    "%s: still throttled after %lld s of waiting this run (graph.max_throttle_wait is %lld s, the "
			    "next wait would be %lld s); run again later to resume",
			    what, (long long)(g->stats.wait_ms / 1000), (long long)(g->max_wait_ms / 1000),
			    (long long)((ms + 999) / 1000));
}

int gb_graph__charge(gb_graph *g, int64_t ms, const char *what, gb_error *err)
{
	if (g->stats.wait_ms + ms > g->max_wait_ms)
		return gb_graph__budget_error(g, ms, what, err);
	g->stats.wait_ms += ms;
	return 0;
}

int gb_graph__wait(gb_graph *g, int64_t ms, const char *what, gb_error *err)
{
	int rc = gb_graph__charge(g, ms, what, err);

	if (!rc)
		gb_graph__sleep(g, ms);
	return rc;
}

uint32_t gb_graph__jitter(void)
{
	uint32_t r = 0;

	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = (uint32_t)gb_time_mono_ms();
	return r;
}

int64_t gb_graph__backoff_ms(unsigned attempt)
{
	int64_t full = 1000;
	uint32_t r = gb_graph__jitter();

	while (attempt-- && full < BACKOFF_CAP_MS)
		full *= 2;
	if (full > BACKOFF_CAP_MS)
		full = BACKOFF_CAP_MS;
	/* Full jitter over the upper half: never an immediate retry, never in lock-step with other clients. */
	return full / 2 + (int64_t)(r % (uint32_t)(full / 2 + 1));
}

/* ---- URLs ---- */

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

int gb_graph__absolute(const gb_graph *g, const char *method, const char *url, gb_buf *b, gb_error *err)
{
	size_t l = strlen(g->graph_url);

	if (url[0] == '/')
		return gb_buf_printf(b, err, "%s%s", g->graph_url, url);
	if ((strncmp(url, g->graph_url, l) == 0 && url[l] == '/') || strcmp(url, g->token_url) == 0)
		return gb_buf_puts(b, url, err);
	return gb_error_set(err, GB_EINVAL, "%s %s: refusing a URL outside %s", method, url, g->graph_url);
}

/* ---- config check ---- */

int gb_graph_probe(const gb_config *cfg, char *detail, size_t n, gb_error *err)
{
	gb_graph *g = NULL;
	long left = 0;
	int rc;

	rc = gb_graph_new(cfg, &g, err);
	if (!rc)
		rc = gb_graph_token(g, &left, err);
	if (rc)
		snprintf(detail, n, "%s", err ? err->msg : gb_error_name(rc));
	else
		snprintf(detail, n, "token for client %s in tenant %s from %s, valid %ld s", g->client_id, g->tenant_id,
			 g->authority_url, left);
	gb_graph_free(g);
	return rc;
}
