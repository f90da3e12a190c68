/*
 * graph_client.h: the Microsoft Graph client itself: authentication, requests with throttling and retries, several
 * requests in flight, paging, and the pure helpers behind them. Resource reads and writes are in graph_read.h,
 * graph_delta.h, graph_batch.h and graph_resources.h; graph.h includes them all.
 *
 * One gb_graph per run. It is not thread-safe: use one per thread. Inside it, three layers call only downwards:
 *   transport       raw HTTP exchanges over libcurl's multi interface: connections and TLS sessions are reused,
 *                   several exchanges run at once, multiplexed over one HTTP/2 connection where the server offers
 *                   HTTP/2 (Graph does), else over several HTTP/1.1 connections
 *   authentication  the access token: fetched lazily, renewed before it expires
 *   requests        the Authorization header, one renewal on 401, throttling and transport retries decided by
 *                   gb_graph_retry_decide, the window of requests in flight, paging
 *
 * Authentication is OAuth2 client credentials against authority_url + "/" + tenant + "/oauth2/v2.0/token" with the
 * scope graph_url + "/.default", using either the client secret or a certificate (a JWT client assertion signed
 * with the private key: PS256 with x5t#S256 by default, RS256 with x5t for older tenants). The token is renewed
 * shortly before it expires (5 minutes, or a quarter of its life for short-lived tokens) and once more when a
 * request gets 401; a second 401 is a failure. The secret and every token are registered with gb_log_add_secret.
 *
 * Every request carries a fresh client-request-id (UUID). At debug level one line per attempt gives method, path,
 * status, duration and that id. TLS verification is always on (graph.ca_file adds a CA bundle); redirects are not
 * followed; absolute URLs (nextLink, deltaLink) are followed only when they start with graph_url, so a token is never
 * sent to another host.
 *
 * Retries (gb_graph_retry_decide, the table is in its comment): 429, 503 and 504 are retried for every method, as
 * Microsoft's SDKs do, after Retry-After (seconds or an HTTP date; at least one second) or an exponential backoff
 * with jitter (1, 2, 4 ... 32 s, each randomised to [half, full]). A transport failure (timeout, reset, truncated
 * reply) is retried three times only where a replay cannot do harm: idempotent methods, and requests that never
 * reached the server; a POST that may have created something is not replayed (the functions that create objects
 * look the object up first, see graph_resources.h). Throttling and transport waits of a run add up; when the next
 * wait would take the total beyond graph.max_throttle_wait seconds the request fails with GB_ETHROTTLED (or the
 * transport error) without waiting, so the run stops cleanly and can be resumed.
 *
 * Flow control: at most a window of requests is in flight ($batch parts counted one by one, as Graph's throttling
 * counts them). The window starts at GB_GRAPH_START_WINDOW (or graph.max_concurrency when that is smaller) and is
 * shared by every request of the client. Until the first sign of throttling it grows by one for every successful
 * request (so it doubles with each round trip), never beyond the successful requests so far (a budget that granted
 * them grants as many again) nor graph.max_concurrency. A 429 halves it and pauses the whole client for its
 * Retry-After; x-ms-throttle-limit-percentage of 0.9 or more shrinks it by a quarter and pauses the client
 * ((pct - 0.8) * 10 s, at most 10 s, not counted in the budget); 0.8 or more stops it growing. After any of these it
 * grows back by one for every window's worth of successful requests, up to GB_GRAPH_START_WINDOW at most. A server
 * with a budget is therefore exceeded by at most one window of requests (those already in flight when the first
 * 429 came back), and that window is never larger than what the server had granted before.
 *
 * Errors: GB_ENET (network), GB_ETLS (certificate verification), GB_EAUTH (token refused, 401 twice, 403),
 * GB_ENOTFOUND (404), GB_EEXISTS (409), GB_ETHROTTLED (wait cap), GB_ETOOBIG (a body over the limit, default
 * 64 MiB), GB_EPARSE (malformed or truncated JSON), GB_EGRAPH (any other failure Graph reports), GB_ERETRY (5xx
 * after retries, an expired delta link). Messages name the request ("GET /v1.0/groups/ID/members: ...") and carry
 * Graph's error code, message and request-id plus our client-request-id.
 */
#ifndef GROUPBRIDGE_GRAPH_CLIENT_H
#define GROUPBRIDGE_GRAPH_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "groupbridge/buf.h"
#include "groupbridge/config.h"
#include "groupbridge/error.h"

typedef struct gb_graph gb_graph;

typedef enum gb_graph_jwt_alg {
	GB_GRAPH_JWT_PS256 = 0, /* RSASSA-PSS with SHA-256, header x5t#S256 = SHA-256 thumbprint (current docs) */
	GB_GRAPH_JWT_RS256 = 1  /* RSASSA-PKCS1-v1_5 with SHA-256, header x5t = SHA-1 thumbprint (older tenants) */
} gb_graph_jwt_alg;

/* The default of [graph] max_concurrency (see gb_graph_new), and the window a client starts with when the maximum
 * is larger (the most a first burst can overrun a throttling budget by). */
#define GB_GRAPH_DEFAULT_CONCURRENCY 100
#define GB_GRAPH_START_WINDOW 40

/* Counters of one client, for tests, benchmarks, metrics and the run summary. */
typedef struct gb_graph_stats {
	unsigned long requests;       /* HTTP requests sent, every attempt and token request included */
	unsigned long connections;    /* new connections opened (the rest reused one) */
	unsigned long token_requests; /* token endpoint requests */
	unsigned long throttled;      /* 429, 503 and 504 replies (whole requests and $batch parts) */
	unsigned long throttled_429;  /* of those, 429 Too Many Requests (whole requests and $batch parts) */
	unsigned long batch_parts;    /* requests sent as parts of a $batch (each also counted by Graph) */
	unsigned long net_retries;    /* transport failures retried */
	unsigned long auth_retries;   /* 401 replies answered by renewing the token */
	unsigned long settle_reads;   /* reads repeated because Graph did not show this client's own write yet */
	unsigned peak_in_flight;      /* the most requests in flight at once ($batch parts counted one by one) */
	unsigned window;              /* the window of requests in flight now */
	int64_t wait_ms;              /* throttling and retry waits of the run, before the time scale */
	int64_t slowdown_ms;          /* pre-emptive pauses for x-ms-throttle-limit-percentage */
} gb_graph_stats;

/* Creates a client from the [graph] section. Reads the credential now (the secret file or variable, or checks that
 * the certificate and key files load and match) but contacts nothing. The window starts at [graph]
 * max_concurrency (GB_GRAPH_DEFAULT_CONCURRENCY when 0). GB_ECONFIG when [graph] is absent or a credential cannot be
 * read; GB_ENOMEM. *out belongs to the caller (gb_graph_free). */
int gb_graph_new(const gb_config *cfg, gb_graph **out, gb_error *err);

/* Frees the client, wiping the secret and the token; NULL is fine. */
void gb_graph_free(gb_graph *g);

/* Multiplies every actual sleep by scale (default 1.0). The throttling logic and its budget still count the full
 * waits: tests shrink time, they do not change decisions. */
void gb_graph_set_time_scale(gb_graph *g, double scale);

/* The JWT algorithm for certificate credentials (default PS256). */
void gb_graph_set_jwt_alg(gb_graph *g, gb_graph_jwt_alg alg);

/* The largest response body accepted (default 64 MiB); larger bodies fail with GB_ETOOBIG. */
void gb_graph_set_max_body(gb_graph *g, size_t max);

/* The most requests in flight (at least 1); the window shrinks to it at once. */
void gb_graph_set_max_concurrency(gb_graph *g, unsigned n);

/* Whether the reads of many independent resources (graph_read.h, "Many at once") may be packed into $batch
 * requests (default yes). Without, each goes out as a request of its own, several in flight. gb_graph_batch
 * always batches. */
void gb_graph_set_batching(gb_graph *g, bool on);

/* The directory extension read with groups (default: [provisioning] group_dn_extension); NULL for none. The name
 * is copied. GB_EINVAL when it is not of the form extension_<32 hex>_<name>. */
int gb_graph_set_group_extension(gb_graph *g, const char *name, gb_error *err);

/* Counters so far (borrowed, lives as long as g). */
const gb_graph_stats *gb_graph_get_stats(const gb_graph *g);

/* Makes sure a valid token is cached (fetching one when needed) and gives its remaining lifetime in seconds
 * through expires_in (may be NULL). Errors as described above; GB_EAUTH when the authority refuses. */
int gb_graph_token(gb_graph *g, long *expires_in, gb_error *err);

/* The application permissions (the "roles" claim) of the access token, fetching one if needed: *out is a
 * NULL-terminated list of *n names (the caller frees each, then the list). Microsoft says access tokens are opaque
 * to clients and need not be JWTs; when this one cannot be read as a JWT (an opaque token), the result is
 * GB_EUNSUPPORTED with a message saying so, and the caller goes on without the check (the first call that lacks a
 * permission fails with 403 then). GB_ENOTFOUND when it is a JWT without a roles claim. This reads claims, it
 * does not check the signature, which is the issuer's business. */
int gb_graph_token_roles(gb_graph *g, char ***out, size_t *n, gb_error *err);

/* Forgets the cached token so the next request fetches a new one. */
void gb_graph_token_invalidate(gb_graph *g);

/* ---- Raw requests ---------------------------------------------------------------------------------------- */

/* A reply after retries. body is NUL-terminated (length body_len). */
typedef struct gb_graph_response {
	long status;
	char *body;
	size_t body_len;
	char client_request_id[40]; /* the id we sent with the final attempt */
	char request_id[64];        /* Graph's request-id header, "" when absent */
	char *location;             /* the Location header or NULL */
} gb_graph_response;

/* Frees a reply; NULL is fine. */
void gb_graph_response_free(gb_graph_response *r);

/* Sends method to url (a path such as "/v1.0/groups" relative to graph_url, or an absolute URL under graph_url)
 * with an optional JSON body and extra headers (NULL-terminated "Name: value" strings, may be NULL), retrying as
 * described above. Returns 0 with whatever final status Graph gave (the caller interprets it); fails only when no
 * reply could be had (GB_ENET, GB_ETLS, GB_ETHROTTLED, GB_ETOOBIG, GB_EAUTH from the token, GB_EINVAL for a URL
 * outside graph_url). *out belongs to the caller (gb_graph_response_free). */
int gb_graph_request(gb_graph *g, const char *method, const char *url, const char *body, const char *const *headers,
		     gb_graph_response **out, gb_error *err);

/* gb_graph_request plus interpretation: a 2xx reply's body is parsed as JSON into *out (NULL for an empty body or
 * when out is NULL); any other status is an error built from Graph's error body (codes as above). GB_EPARSE for a
 * malformed or truncated body. *out belongs to the caller (json_decref). */
int gb_graph_call(gb_graph *g, const char *method, const char *url, const json_t *body, json_t **out, gb_error *err);

/* Calls fn for every element of "value" across all pages of a collection, following @odata.nextLink to the end.
 * fn returns 0 to go on, or a non-zero value that stops paging and is returned as is (fn sets err when it returns
 * a GB_E code). The item is borrowed for the call. A page token that has expired (gb_graph_page_expired on a
 * nextLink) starts the listing over from url, at most twice: reset (may be NULL) is called first, and without a
 * reset fn sees the items of the pages before again (each item is delivered at least once). */
typedef int (*gb_graph_item_fn)(const json_t *item, void *ud, gb_error *err);
typedef int (*gb_graph_reset_fn)(void *ud, gb_error *err);
int gb_graph_each(gb_graph *g, const char *url, gb_graph_item_fn fn, void *ud, gb_error *err);
int gb_graph_each_reset(gb_graph *g, const char *url, gb_graph_item_fn fn, gb_graph_reset_fn reset, void *ud,
			gb_error *err);

/* Appends to b a URL built from fmt, where every "%s" argument is percent-encoded (it is a path segment or a query
 * value: "/v1.0/groups/%s?$select=id,%s"); other characters of fmt are copied as they are. Errors of gb_buf. */
int gb_graph_url(gb_buf *b, gb_error *err, const char *fmt, ...);

/* ---- The retry decision (pure) ----------------------------------------------------------------------------- */

/* How an HTTP exchange ended below HTTP. */
typedef enum gb_graph_transport_result {
	GB_GRAPH_XFER_OK = 0,   /* a complete reply, whatever its status */
	GB_GRAPH_XFER_NOT_SENT, /* no connection (refused, unresolved): the server saw nothing, a replay is harmless */
	GB_GRAPH_XFER_BROKEN,   /* timeout, reset, truncated reply after the request went out: the server may have
				 * acted on it */
	GB_GRAPH_XFER_TLS,      /* TLS setup or certificate verification failed */
	GB_GRAPH_XFER_TOO_BIG,  /* the body exceeded the limit */
	GB_GRAPH_XFER_NOMEM
} gb_graph_transport_result;

typedef enum gb_graph_verdict {
	GB_GRAPH_DONE = 0,       /* the reply is final: hand it to the caller (any status) */
	GB_GRAPH_RENEW_TOKEN,    /* 401: fetch a new token and send again at once */
	GB_GRAPH_WAIT,           /* wait wait_ms, then send again */
	GB_GRAPH_GIVE_UP         /* no usable reply: fail with code */
} gb_graph_verdict;

typedef struct gb_graph_retry_input {
	gb_graph_transport_result transport;
	long status;            /* the HTTP status (of the request or of a $batch part) when transport is OK */
	long retry_after;       /* Retry-After in seconds, -1 when absent or unreadable */
	const char *method;
	bool replay_safe;       /* the caller knows a replay does no harm (the token request, a $batch of reads) */
	bool authenticated;     /* sent with a bearer token, which can be renewed */
	bool renewed;           /* a 401 was already answered with a new token */
	unsigned throttles;     /* 429/503/504 replies to this request so far */
	unsigned net_failures;  /* transport failures of this request so far */
	int64_t waited_ms;      /* waits charged to the run's budget so far */
	int64_t budget_ms;      /* graph.max_throttle_wait */
	int64_t pause_left_ms;  /* what is left of the client's current pause: a wait within it costs nothing more */
	uint32_t jitter;        /* a random number for the backoff */
} gb_graph_retry_input;

typedef struct gb_graph_retry_decision {
	gb_graph_verdict verdict;
	int64_t wait_ms;        /* GB_GRAPH_WAIT: how long; charged: what the budget pays (beyond the pause) */
	int64_t charged_ms;
	int code;               /* GB_GRAPH_GIVE_UP: the error */
	const char *why;        /* a short reason for messages and logs (static text) */
} gb_graph_retry_decision;

/* The one place where requests are retried. The table, first match wins:
 *   transport TLS / TOO_BIG / NOMEM            give up (GB_ETLS / GB_ETOOBIG / GB_ENOMEM)
 *   transport NOT_SENT or BROKEN:
 *     3 failures already                       give up, GB_ENET
 *     BROKEN, method not GET/HEAD/PUT/DELETE/OPTIONS and not replay_safe
 *                                              give up, GB_ENET ("not replayed: the server may have acted on it")
 *     the backoff would exceed the budget      give up, GB_ENET (the transport error is the one to report)
 *     otherwise                                wait backoff(net_failures)
 *   status 401, authenticated, not renewed     renew the token
 *   status 429, 503, 504 (any method):
 *     wait = max(Retry-After, 1 s), or backoff(throttles) without one
 *     the wait would exceed the budget         give up, GB_ETHROTTLED
 *     otherwise                                wait
 *   anything else (2xx, 3xx, other 4xx, other 5xx, a second 401)   done
 * backoff(n) = full/2 + jitter % (full/2 + 1) ms with full = min(1000 * 2^n, 32000). A wait is charged to the
 * budget only beyond pause_left_ms (several requests waiting out one pause pay once). */
gb_graph_retry_decision gb_graph_retry_decide(const gb_graph_retry_input *in);

/* True for GET, HEAD, PUT, DELETE and OPTIONS (RFC 9110's idempotent methods). */
bool gb_graph_method_idempotent(const char *method);

/* ---- Pure helpers (no network; unit-tested) ------------------------------------------------------------- */

/* Parses a Retry-After value: delta seconds, or an HTTP date (IMF-fixdate, RFC 850 or asctime) taken relative to
 * now (a date in the past gives 0). GB_EPARSE for anything else (negative, garbage, trailing junk, overflow). */
int gb_graph_parse_retry_after(const char *value, time_t now, long *seconds);

/* Describes a failed reply in dst: "404 Request_ResourceNotFound: Resource 'x' does not exist (request-id R)",
 * for Graph's {"error":{"code","message","innerError":{"request-id"}}} and the token endpoint's {"error",
 * "error_description"} shapes, or "HTTP 502 with a body that is not a Graph error" otherwise. Never fails. */
void gb_graph_describe_error(long status, const char *body, size_t len, char *dst, size_t n);

/* The error code of Graph's error body ({"error":{"code"}}) into dst ("" when there is none). Never fails. */
void gb_graph_error_code(const char *body, size_t len, char *dst, size_t n);

/* The GB_E code for a final HTTP status (404 GB_ENOTFOUND, 401/403 GB_EAUTH, 409 GB_EEXISTS, 429 GB_ETHROTTLED,
 * 5xx GB_ERETRY, others GB_EGRAPH); 0 for 2xx. */
int gb_graph_status_code(long status);

/* True when a reply to a paging or delta link says its state token is no longer usable, by any shape Microsoft
 * documents or is known to send: 410 Gone; a 4xx whose error code is syncStateNotFound, resyncRequired,
 * Directory_ExpiredPageToken, or names an expired or invalid token (delta token, skip token, page token). */
bool gb_graph_page_expired(long status, const char *body, size_t len);

/* Parses a reply body as JSON; what names the request in the message. GB_EPARSE with jansson's position. */
int gb_graph_parse_json(const char *what, const char *body, size_t len, json_t **out, gb_error *err);

/* True when s is a GUID in its text form (8-4-4-4-12 hex digits), as every Graph object id is. */
bool gb_graph_is_guid(const char *s);

/* Builds the client assertion for certificate credentials: header {alg, typ, x5t#S256 or x5t}, claims aud,
 * iss = sub = client_id, jti (random UUID), nbf = iat = now, exp = now + lifetime seconds; signed with the key.
 * The key file must be mode 0600 (gb_secret_read_file) and match the certificate (both PEM; the key unencrypted,
 * RSA). GB_ECONFIG for unreadable or mismatched files. *out is the caller's (gb_secret_free it). */
int gb_graph_jwt_assertion(const char *cert_file, const char *key_file, gb_graph_jwt_alg alg, const char *client_id,
			   const char *audience, time_t now, long lifetime, char **out, gb_error *err);

/* base64url without padding of n bytes into an allocated string (NULL when out of memory). */
char *gb_graph_base64url(const unsigned char *data, size_t n);

/* Decodes base64url (padding optional) into an allocated, NUL-terminated buffer of *out_len bytes; NULL for a
 * character outside the alphabet, an impossible length, or no memory. */
unsigned char *gb_graph_base64url_decode(const char *s, size_t len, size_t *out_len);

/* "extension_<appId without hyphens>_<name>" into dst. GB_EINVAL when app_id is not a GUID or dst is too small. */
int gb_graph_extension_name(const char *app_id, const char *name, char *dst, size_t n, gb_error *err);

/* ---- config check ---------------------------------------------------------------------------------------- */

/* Obtains a token with the configured credential and writes a one-line detail without secrets ("token for tenant
 * T from AUTHORITY, valid N s") into detail. Returns 0 or the error of gb_graph_new / gb_graph_token (the message
 * also copied into detail). */
int gb_graph_probe(const gb_config *cfg, char *detail, size_t n, gb_error *err);

#endif
