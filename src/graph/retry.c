/* retry.c: the pure parts of retrying: the retry decision, Retry-After, and which replies mean an expired state
 * token. No network, no clock, no randomness (the jitter comes in as input), so a table of cases tests them. */
#include "graph/graph_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NET_RETRIES 3
#define BACKOFF_CAP_MS 32000

bool gb_graph_method_idempotent(const char *method)
{
	static const char *const m[] = {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"};
	size_t i;

	for (i = 0; method && i < sizeof(m) / sizeof(m[0]); i++)
		if (strcmp(method, m[i]) == 0)
			return true;
	return false;
}

static int64_t backoff(unsigned attempt, uint32_t jitter)
{
	int64_t full = 1000;

	while (attempt-- && full < BACKOFF_CAP_MS)
		full *= 2;
	if (full > BACKOFF_CAP_MS)
		full = BACKOFF_CAP_MS;
	return full / 2 + (int64_t)(jitter % (uint32_t)(full / 2 + 1));
}

static gb_graph_retry_decision verdict(gb_graph_verdict v, int64_t wait, int code, const char *why)
{
	gb_graph_retry_decision d;

	d.verdict = v;
	d.wait_ms = wait;
	d.charged_ms = 0;
	d.code = code;
	d.why = why;
	return d;
}

/* A wait: charged beyond what is left of the client's pause; over the budget it becomes give_up. */
static gb_graph_retry_decision wait_or(const gb_graph_retry_input *in, int64_t ms, int give_up, const char *why)
{
	gb_graph_retry_decision d = verdict(GB_GRAPH_WAIT, ms, 0, why);

	d.charged_ms = ms > in->pause_left_ms ? ms - (in->pause_left_ms > 0 ? in->pause_left_ms : 0) : 0;
	if (in->waited_ms + d.charged_ms > in->budget_ms)
		return verdict(GB_GRAPH_GIVE_UP, ms, give_up, "the wait budget is spent");
	return d;
}

static gb_graph_retry_decision transport_failure(const gb_graph_retry_input *in)
{
	if (in->net_failures >= NET_RETRIES)
		return verdict(GB_GRAPH_GIVE_UP, 0, GB_ENET, "transport failures retried three times");
	if (in->transport == GB_GRAPH_XFER_BROKEN && !gb_graph_method_idempotent(in->method) && !in->replay_safe)
		return verdict(GB_GRAPH_GIVE_UP, 0, GB_ENET, "not replayed: the server may have acted on it");
	return wait_or(in, backoff(in->net_failures, in->jitter), GB_ENET, "transport failure");
}

gb_graph_retry_decision gb_graph_retry_decide(const gb_graph_retry_input *in)
{
	switch (in->transport) {
	case GB_GRAPH_XFER_OK:
		break;
	case GB_GRAPH_XFER_TLS:
		return verdict(GB_GRAPH_GIVE_UP, 0, GB_ETLS, "TLS failure");
	case GB_GRAPH_XFER_TOO_BIG:
		return verdict(GB_GRAPH_GIVE_UP, 0, GB_ETOOBIG, "reply too big");
	case GB_GRAPH_XFER_NOMEM:
		return verdict(GB_GRAPH_GIVE_UP, 0, GB_ENOMEM, "out of memory");
	case GB_GRAPH_XFER_NOT_SENT:
	case GB_GRAPH_XFER_BROKEN:
	default:
		return transport_failure(in);
	}
	if (in->status == 401 && in->authenticated && !in->renewed)
		return verdict(GB_GRAPH_RENEW_TOKEN, 0, 0, "401: renewing the token once");
	if (in->status == 429 || in->status == 503 || in->status == 504) {
		int64_t ms = in->retry_after >= 0 ? (in->retry_after < 1 ? 1 : (int64_t)in->retry_after) * 1000
						  : backoff(in->throttles, in->jitter);
		return wait_or(in, ms, GB_ETHROTTLED, in->retry_after >= 0 ? "throttled, Retry-After" : "throttled");
	}
	return verdict(GB_GRAPH_DONE, 0, 0, "final reply");
}

/* ---- Retry-After ---- */

/* curl_getdate does the date arithmetic. It is more lenient than RFC 9110's HTTP-date: it takes other zones, no
 * zone at all (then it assumes GMT), a wrong weekday and trailing words. A wrong wait would do little harm (the
 * budget bounds every wait), but a date without a zone is ambiguous and trailing words mean we misread the header,
 * so this gate admits only the three shapes HTTP allows: the two comma forms must end in " GMT", and asctime's has
 * no comma and ends with a four-digit year. */
static bool http_date_shape(const char *v)
{
	size_t n = strlen(v);

	if (strchr(v, ','))
		return n > 4 && strcmp(v + n - 4, " GMT") == 0;
	return n > 5 && v[n - 5] == ' ' && isdigit((unsigned char)v[n - 4]) && isdigit((unsigned char)v[n - 3]) &&
	       isdigit((unsigned char)v[n - 2]) && isdigit((unsigned char)v[n - 1]);
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
	if (!http_date_shape(value))
		return GB_EPARSE;
	t = curl_getdate(value, NULL);
	if (t == (time_t)-1)
		return GB_EPARSE;
	*seconds = t > now ? (long)(t - now) : 0;
	return 0;
}

/* ---- replies ---- */

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

/* Graph's error code and message; either "" when absent. */
static void error_parts(const char *body, size_t len, char *code, size_t cn, char *msg, size_t mn)
{
	json_t *root = body && len ? json_loadb(body, len, 0, NULL) : NULL;
	const json_t *e = json_object_get(root, "error");
	const char *c = gb_graph__str(e, "code"), *m = gb_graph__str(e, "message");

	snprintf(code, cn, "%s", c ? c : "");
	if (msg)
		snprintf(msg, mn, "%s", m ? m : "");
	json_decref(root);
}

void gb_graph_error_code(const char *body, size_t len, char *dst, size_t n)
{
	error_parts(body, len, dst, n, NULL, 0);
}

static bool icontains(const char *s, const char *needle)
{
	size_t n = strlen(needle);

	for (; *s; s++)
		if (strncasecmp(s, needle, n) == 0)
			return true;
	return false;
}

bool gb_graph_page_expired(long status, const char *body, size_t len)
{
	/* Documented: 410 Gone, and "a 40X-series error with error codes such as syncStateNotFound" (delta query
	 * overview) or resyncRequired; known from the service: 400 Directory_ExpiredPageToken for an old $skiptoken,
	 * and messages about an invalid or expired token. */
	static const char *const codes[] = {"syncstate", "resync", "expiredpagetoken", "deltatoken", "skiptoken",
					    "pagetoken", "tokenexpired", "expiredtoken"};
	char code[128], msg[512];
	size_t i;

	if (status == 410)
		return true;
	if (status < 400 || status >= 500)
		return false;
	error_parts(body, len, code, sizeof(code), msg, sizeof(msg));
	for (i = 0; code[0] && i < sizeof(codes) / sizeof(codes[0]); i++)
		if (icontains(code, codes[i]))
			return true;
	/* "The specified page token value has expired ..." under a generic code */
	return icontains(msg, "token") && icontains(msg, "expired");
}
