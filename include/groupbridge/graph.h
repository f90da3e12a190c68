/*
 * graph.h: the Microsoft Graph client: authentication, HTTP with throttling, paging, delta, $batch, and the
 * resources the migration and provisioning need.
 *
 * One gb_graph per run. It holds one libcurl easy handle (so connections and TLS sessions are reused), the cached
 * access token, and the throttling budget of the run. It is not thread-safe: use one per thread.
 *
 * Authentication is OAuth2 client credentials against authority_url + "/" + tenant + "/oauth2/v2.0/token" with the
 * scope graph_url + "/.default", using either the client secret or a certificate (a JWT client assertion signed
 * with the private key: PS256 with x5t#S256 by default, RS256 with x5t for older tenants). The token is fetched
 * lazily, renewed shortly before it expires (5 minutes, or a quarter of its life for short-lived tokens) and renewed
 * once more when a request gets 401; a second 401 is a failure. The secret and every token are registered with
 * gb_log_add_secret so that no log line can carry them.
 *
 * Every request carries a fresh client-request-id (UUID). At debug level one line per request gives method, path,
 * status, duration and that id. TLS verification is always on (graph.ca_file adds a CA bundle); redirects are not
 * followed; absolute URLs (nextLink, deltaLink) are followed only when they start with graph_url, so a token is never
 * sent to another host.
 *
 * Throttling: 429, 503 and 504 are retried after Retry-After (seconds or an HTTP date; at least one second), or
 * without it after an exponential backoff with jitter (1, 2, 4 ... 32 s, each randomised to [half, full]).
 * Network failures (connect, reset, timeout, truncated transfer) are retried three times with the same backoff.
 * All waits of a run add up; when the next wait would take the total beyond graph.max_throttle_wait seconds the
 * call fails with GB_ETHROTTLED without waiting, so the run stops cleanly and can be resumed. When responses report
 * x-ms-throttle-limit-percentage of 0.9 or more the client pauses before its next request ((pct - 0.8) * 10 s,
 * at most 10 s), which is not counted in the budget.
 *
 * Errors: GB_ENET (network), GB_ETLS (certificate verification), GB_EAUTH (token refused, 401 twice, 403),
 * GB_ENOTFOUND (404), GB_EEXISTS (409), GB_ETHROTTLED (wait cap), GB_ETOOBIG (a body over the limit, default
 * 64 MiB), GB_EPARSE (malformed or truncated JSON), GB_EGRAPH (any other failure Graph reports), GB_ERETRY (5xx
 * after retries, an expired delta link). Messages name the request ("GET /v1.0/groups/ID/members: ...") and carry
 * Graph's error code, message and request-id plus our client-request-id.
 */
#ifndef GROUPBRIDGE_GRAPH_H
#define GROUPBRIDGE_GRAPH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "groupbridge/config.h"
#include "groupbridge/error.h"
#include "groupbridge/model.h"
#include "groupbridge/store.h"

typedef struct gb_graph gb_graph;

typedef enum gb_graph_jwt_alg {
	GB_GRAPH_JWT_PS256 = 0, /* RSASSA-PSS with SHA-256, header x5t#S256 = SHA-256 thumbprint (current docs) */
	GB_GRAPH_JWT_RS256 = 1  /* RSASSA-PKCS1-v1_5 with SHA-256, header x5t = SHA-1 thumbprint (older tenants) */
} gb_graph_jwt_alg;

/* Counters of one client, for tests, benchmarks and the run summary. */
typedef struct gb_graph_stats {
	unsigned long requests;       /* HTTP requests sent, every attempt and token request included */
	unsigned long connections;    /* new connections opened (the rest reused one) */
	unsigned long token_requests; /* token endpoint requests */
	unsigned long throttled;      /* 429, 503 and 504 replies (whole requests and $batch parts) */
	unsigned long net_retries;    /* network failures retried */
	unsigned long auth_retries;   /* 401 replies answered by renewing the token */
	int64_t wait_ms;              /* throttling and retry waits of the run, before the time scale */
	int64_t slowdown_ms;          /* pre-emptive pauses for x-ms-throttle-limit-percentage */
} gb_graph_stats;

/* Creates a client from the [graph] section. Reads the credential now (the secret file or variable, or checks that
 * the certificate and key files load and match) but contacts nothing. GB_ECONFIG when [graph] is absent or a
 * credential cannot be read; GB_ENOMEM. *out belongs to the caller (gb_graph_free). */
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

/* The directory extension read with groups (default: [provisioning] group_dn_extension); NULL for none. The name
 * is copied. GB_EINVAL when it is not of the form extension_<32 hex>_<name>. */
int gb_graph_set_group_extension(gb_graph *g, const char *name, gb_error *err);

/* Counters so far (borrowed, lives as long as g). */
const gb_graph_stats *gb_graph_get_stats(const gb_graph *g);

/* Makes sure a valid token is cached (fetching one when needed) and gives its remaining lifetime in seconds
 * through expires_in (may be NULL). Errors as described above; GB_EAUTH when the authority refuses. */
int gb_graph_token(gb_graph *g, long *expires_in, gb_error *err);

/* The application permissions (the "roles" claim) of the access token, fetching one if needed: *out is a
 * NULL-terminated list of *n names (free each, then the list). GB_ENOTFOUND when the token is not a JWT or carries
 * no roles claim (Entra's app-only tokens are JWTs; this reads the claims, it does not check the signature, which is
 * the issuer's business). */
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

void gb_graph_response_free(gb_graph_response *r);

/* Sends method to url (a path such as "/v1.0/groups" relative to graph_url, or an absolute URL under graph_url)
 * with an optional JSON body and extra headers (NULL-terminated "Name: value" strings, may be NULL), retrying
 * throttling, network failures and one 401 as described above. Returns 0 with whatever final status Graph gave
 * (the caller interprets it); fails only when no reply could be had (GB_ENET, GB_ETLS, GB_ETHROTTLED, GB_ETOOBIG,
 * GB_EAUTH from the token, GB_EINVAL for a URL outside graph_url). *out belongs to the caller. */
int gb_graph_request(gb_graph *g, const char *method, const char *url, const char *body, const char *const *headers,
		     gb_graph_response **out, gb_error *err);

/* gb_graph_request plus interpretation: a 2xx reply's body is parsed as JSON into *out (NULL for an empty body or
 * when out is NULL); any other status is an error built from Graph's error body (codes as above). GB_EPARSE for a
 * malformed or truncated body. *out belongs to the caller (json_decref). */
int gb_graph_call(gb_graph *g, const char *method, const char *url, const json_t *body, json_t **out, gb_error *err);

/* Calls fn for every element of "value" across all pages of a collection, following @odata.nextLink to the end.
 * fn returns 0 to go on, or a non-zero value that stops paging and is returned as is (fn sets err when it returns
 * a GB_E code). The item is borrowed for the call. */
typedef int (*gb_graph_item_fn)(const json_t *item, void *ud, gb_error *err);
int gb_graph_each(gb_graph *g, const char *url, gb_graph_item_fn fn, void *ud, gb_error *err);

/* ---- Pure helpers (no network; unit-tested) ------------------------------------------------------------- */

/* Parses a Retry-After value: delta seconds, or an HTTP date (IMF-fixdate, RFC 850 or asctime) taken relative to
 * now (a date in the past gives 0). GB_EPARSE for anything else (negative, garbage, trailing junk, overflow). */
int gb_graph_parse_retry_after(const char *value, time_t now, long *seconds);

/* Describes a failed reply in dst: "404 Request_ResourceNotFound: Resource 'x' does not exist (request-id R)",
 * for Graph's {"error":{"code","message","innerError":{"request-id"}}} and the token endpoint's {"error",
 * "error_description"} shapes, or "HTTP 502 with a body that is not a Graph error" otherwise. Never fails. */
void gb_graph_describe_error(long status, const char *body, size_t len, char *dst, size_t n);

/* The GB_E code for a final HTTP status (404 GB_ENOTFOUND, 401/403 GB_EAUTH, 409 GB_EEXISTS, 429 GB_ETHROTTLED,
 * 5xx GB_ERETRY, others GB_EGRAPH); 0 for 2xx. */
int gb_graph_status_code(long status);

/* Parses a reply body as JSON; what names the request in the message. GB_EPARSE with jansson's position. */
int gb_graph_parse_json(const char *what, const char *body, size_t len, json_t **out, gb_error *err);

/* Builds the client assertion for certificate credentials: header {alg, typ, x5t#S256 or x5t}, claims aud,
 * iss = sub = client_id, jti (random UUID), nbf = iat = now, exp = now + lifetime seconds; signed with the key.
 * The key file must be mode 0600 (gb_secret_read_file) and match the certificate (both PEM; the key unencrypted,
 * RSA). GB_ECONFIG for unreadable or mismatched files. *out is the caller's (gb_secret_free it). */
int gb_graph_jwt_assertion(const char *cert_file, const char *key_file, gb_graph_jwt_alg alg, const char *client_id,
			   const char *audience, time_t now, long lifetime, char **out, gb_error *err);

/* base64url without padding of n bytes into an allocated string (NULL when out of memory). */
char *gb_graph_base64url(const unsigned char *data, size_t n);

/* "extension_<appId without hyphens>_<name>" into dst. GB_EINVAL when app_id is not a GUID or dst is too small. */
int gb_graph_extension_name(const char *app_id, const char *name, char *dst, size_t n, gb_error *err);

/* ---- Reading groups, members, users --------------------------------------------------------------------- */

/* Properties read for groups (the configured extension is added). */
#define GB_GRAPH_GROUP_SELECT                                                                                      \
	"id,displayName,description,securityEnabled,mailEnabled,groupTypes,onPremisesSyncEnabled,"                 \
	"onPremisesSecurityIdentifier"
#define GB_GRAPH_USER_SELECT                                                                                       \
	"id,displayName,userPrincipalName,onPremisesObjectIdentifier,onPremisesSecurityIdentifier,"                \
	"onPremisesSyncEnabled"
#define GB_GRAPH_PAGE_MAX 999

/* Fill a model object from Graph JSON (out is cleared first; absent properties stay NULL / GB_TRI_UNKNOWN; wrong
 * types are GB_EPARSE naming the object). ext_name (may be NULL) is the extension copied into group_dn_ext.
 * @removed sets deleted (reason "deleted") or changed_out (other reasons; users: deleted either way). */
int gb_graph_group_from_json(const json_t *o, const char *ext_name, gb_cloud_group *out, gb_error *err);
int gb_graph_user_from_json(const json_t *o, gb_cloud_user *out, gb_error *err);
/* A member reference from {"@odata.type", "id"}; GB_EPARSE without an id. */
int gb_graph_member_from_json(const json_t *o, gb_member_ref *out, gb_error *err);

/* Streaming reads: the callbacks get borrowed objects valid for the call only; returning non-zero stops and is
 * returned. top is the page size (1..999; 0 means 999). filter is an OData $filter or NULL. */
typedef int (*gb_graph_group_fn)(const gb_cloud_group *grp, void *ud, gb_error *err);
typedef int (*gb_graph_member_fn)(const gb_member_ref *m, void *ud, gb_error *err);
typedef int (*gb_graph_user_fn)(const gb_cloud_user *u, void *ud, gb_error *err);

int gb_graph_list_groups(gb_graph *g, const char *filter, int top, gb_graph_group_fn fn, void *ud, gb_error *err);
/* Direct members of a group with their @odata.type. */
int gb_graph_list_members(gb_graph *g, const char *group_id, int top, gb_graph_member_fn fn, void *ud,
			  gb_error *err);
int gb_graph_list_users(gb_graph *g, const char *filter, int top, gb_graph_user_fn fn, void *ud, gb_error *err);

/* One group or user by id; GB_ENOTFOUND when absent. *out is the caller's. */
int gb_graph_get_group(gb_graph *g, const char *id, gb_cloud_group **out, gb_error *err);
int gb_graph_get_user(gb_graph *g, const char *id, gb_cloud_user **out, gb_error *err);

/* Convenience: reads all of a group's direct members into grp->members (replacing what was there) and sets
 * members_read. grp->id names the group. */
int gb_graph_read_members(gb_graph *g, gb_cloud_group *grp, int top, gb_error *err);

/* Convenience: reads all groups matching filter into an allocated array (*out, *n; free each with
 * gb_cloud_group_clear and the array with free, or use gb_graph_groups_free), with members when with_members. */
int gb_graph_read_groups(gb_graph *g, const char *filter, bool with_members, gb_cloud_group **out, size_t *n,
			 gb_error *err);
void gb_graph_groups_free(gb_cloud_group *groups, size_t n);

/* ---- Delta ---------------------------------------------------------------------------------------------- */

/* State store keys holding the deltaLinks between runs. */
#define GB_GRAPH_DELTA_KEY_GROUPS "graph.delta.groups"
#define GB_GRAPH_DELTA_KEY_USERS "graph.delta.users"

/* One group record of a delta page. group holds the properties the record carries (group.deleted or
 * group.changed_out for removed groups); added and removed are this record's members@delta entries (a large
 * group's members are spread across several records and pages: merge them). members_delta is true when the record
 * carries a members@delta array at all (possibly empty); complete is true when it carries every property of
 * GB_GRAPH_GROUP_SELECT (null ones included), as Graph does unless asked for "Prefer: return=minimal", so that
 * group's properties are all known from the record. */
typedef struct gb_graph_group_delta {
	gb_cloud_group group;
	gb_member_ref *added;
	size_t nadded;
	gb_member_ref *removed;
	size_t nremoved;
	bool members_delta;
	bool complete;
} gb_graph_group_delta;

/* d == NULL announces a reset: the saved state is void and the records that follow are a full enumeration (on a
 * first run, or after an expired delta link with GB_GRAPH_DELTA_FALLBACK). */
typedef int (*gb_graph_group_delta_fn)(const gb_graph_group_delta *d, void *ud, gb_error *err);
typedef int (*gb_graph_user_delta_fn)(const gb_cloud_user *u, void *ud, gb_error *err);

#define GB_GRAPH_DELTA_FALLBACK 1u /* on an expired link, start over with a full enumeration by itself */
/* "Sync from now": ignore the saved link and ask for a new one with $deltatoken=latest (one request, no records:
 * the caller reads the current state itself, and the changes made from then on are what the link reports). */
#define GB_GRAPH_DELTA_LATEST 2u

typedef struct gb_graph_delta_info {
	bool full;             /* this run enumerated everything (first run or fallback) */
	bool expired;          /* the saved link had expired */
	unsigned long pages;
	unsigned long records;
} gb_graph_delta_info;

/* Parses one delta page (pure): calls fn for each record and returns the page's @odata.nextLink or
 * @odata.deltaLink (exactly one of them is set on success; each allocated, caller frees). GB_EPARSE for a page
 * with neither, or a malformed record. */
int gb_graph_delta_parse_groups(const json_t *page, const char *ext_name, gb_graph_group_delta_fn fn, void *ud,
				char **next_link, char **delta_link, gb_error *err);
int gb_graph_delta_parse_users(const json_t *page, gb_graph_user_delta_fn fn, void *ud, char **next_link,
			       char **delta_link, gb_error *err);

/* True when a reply means the delta link is no longer usable (410 Gone, or an error code such as
 * syncStateNotFound, resyncRequired, or a token-expired code) and a full read is needed. */
bool gb_graph_delta_is_expired(long status, const char *body, size_t len);

/* Runs /groups/delta ($select = the group properties, the extension and members). Starts from the deltaLink saved
 * under GB_GRAPH_DELTA_KEY_GROUPS in st (st may be NULL: always a full enumeration, nothing saved), follows every
 * nextLink, and saves the new deltaLink only after the last page was delivered and fn accepted every record; a
 * run that stops early leaves the old link, and the next run replays from it (records are idempotent). An expired
 * saved link is deleted from the store; then, with GB_GRAPH_DELTA_FALLBACK, the client restarts from scratch (fn
 * first gets d == NULL), and without it the call fails with GB_ERETRY ("a full read is needed"). With
 * GB_GRAPH_DELTA_LATEST the saved link is not used: one request with $deltatoken=latest (and the same $select)
 * saves a link that reports the changes made from now on (info->full stays false, fn gets no record unless the
 * server sends some). info may be NULL. */
int gb_graph_delta_groups(gb_graph *g, gb_store *st, unsigned flags, gb_graph_group_delta_fn fn, void *ud,
			  gb_graph_delta_info *info, gb_error *err);

/* The same for /users/delta (GB_GRAPH_USER_SELECT; key GB_GRAPH_DELTA_KEY_USERS): onPremisesObjectIdentifier
 * changes and removed users (u->deleted). The reset is announced as u == NULL. */
int gb_graph_delta_users(gb_graph *g, gb_store *st, unsigned flags, gb_graph_user_delta_fn fn, void *ud,
			 gb_graph_delta_info *info, gb_error *err);

/* ---- $batch --------------------------------------------------------------------------------------------- */

#define GB_GRAPH_BATCH_MAX 20

/* One request of a batch. The caller fills method, url (relative to the version: "/groups/ID") and body (JSON text
 * or NULL); gb_graph_batch fills status (0 when no reply was had), response (the part's body as JSON text, or
 * NULL) and, for failures, error (a message naming the part). */
typedef struct gb_graph_batch_item {
	const char *method;
	const char *url;
	const char *body;
	long status;
	char *response;
	char error[512];
} gb_graph_batch_item;

/* Sends items through POST /<version>/$batch ("v1.0" or "beta"), 20 at a time. Each part's status is its own: a
 * 404 part does not fail the others. Parts answered 429, 503 or 504 are sent again in a later batch after their
 * Retry-After (the longest of them, or backoff), under the same wait budget as whole requests. Returns 0 when
 * every part has a final status (look at each), GB_ETHROTTLED when throttled parts were still pending at the
 * budget (they keep status 429), or the error of a batch request that failed as a whole. */
int gb_graph_batch(gb_graph *g, const char *version, gb_graph_batch_item *items, size_t n, gb_error *err);

/* Frees the responses of items (the caller's own fields are untouched). */
void gb_graph_batch_clear(gb_graph_batch_item *items, size_t n);

/* Pure helpers: the JSON body for items[idx[0..count)] with ids equal to their index in items, and the parse of a
 * $batch reply that sets status/response/error of the parts it names. *retry_after gets the longest Retry-After of
 * the throttled parts in seconds (-1 when none gave one). GB_EPARSE for a malformed reply or an unknown id. */
int gb_graph_batch_build(const gb_graph_batch_item *items, const size_t *idx, size_t count, char **out,
			 gb_error *err);
int gb_graph_batch_parse(const char *body, size_t len, gb_graph_batch_item *items, size_t n, long *retry_after,
			 gb_error *err);

/* ---- The migration's resources -------------------------------------------------------------------------- */

/* beta writebackConfiguration of a group: isEnabled (tri) and onPremisesGroupType (NULL when null). */
int gb_graph_get_writeback(gb_graph *g, const char *group_id, gb_tri *enabled, char **group_type, gb_error *err);
/* PATCH it; group_type NULL leaves it out of the body. */
int gb_graph_set_writeback(gb_graph *g, const char *group_id, bool enabled, const char *group_type, gb_error *err);

/* beta onPremisesSyncBehavior: reads isCloudManaged (accepting {"value":{...}}, {"value":[{...}]} and the plain
 * object); sets it with PATCH. */
int gb_graph_get_sync_behavior(gb_graph *g, const char *group_id, bool *is_cloud_managed, gb_error *err);
int gb_graph_set_sync_behavior(gb_graph *g, const char *group_id, bool is_cloud_managed, gb_error *err);

/* directory/onPremisesSynchronization: the tenant's feature flags (GB_TRI_UNKNOWN when not reported). */
typedef struct gb_graph_sync_features {
	char *id;
	gb_tri group_writeback_enabled;         /* groupWriteBackEnabled */
	gb_tri unified_group_writeback_enabled; /* unifiedGroupWritebackEnabled */
	gb_tri block_hard_match_enabled;        /* blockCloudObjectTakeoverThroughHardMatchEnabled */
	gb_tri block_soft_match_enabled;        /* blockSoftMatchEnabled */
	gb_tri directory_extensions_enabled;    /* directoryExtensionsEnabled */
} gb_graph_sync_features;
/* GB_ENOTFOUND when the tenant reports no synchronization object. *out is the caller's. */
int gb_graph_get_sync_features(gb_graph *g, gb_graph_sync_features **out, gb_error *err);
void gb_graph_sync_features_free(gb_graph_sync_features *f);

/* Applications and service principals. */
typedef struct gb_graph_app {
	char *id;     /* object id */
	char *app_id; /* application (client) id */
	char *display_name;
} gb_graph_app;
void gb_graph_app_free(gb_graph_app *a);

#define GB_GRAPH_EXT_APP_NAME "CloudSyncCustomExtensionsApp"
/* The application with identifier URI api://<tenant>/CloudSyncCustomExtensionsApp; GB_ENOTFOUND when absent. */
int gb_graph_find_extension_app(gb_graph *g, gb_graph_app **out, gb_error *err);
/* Creates it (displayName and identifierUris as Microsoft documents). */
int gb_graph_create_extension_app(gb_graph *g, gb_graph_app **out, gb_error *err);
/* The service principal object id of an appId; GB_ENOTFOUND when absent. *out allocated. */
int gb_graph_find_service_principal(gb_graph *g, const char *app_id, char **out, gb_error *err);
int gb_graph_create_service_principal(gb_graph *g, const char *app_id, char **out, gb_error *err);

typedef struct gb_graph_extension_property {
	char *id;
	char *name; /* extension_<appIdNoHyphens>_<name> */
	char *data_type;
	bool targets_group;
} gb_graph_extension_property;
typedef struct gb_graph_extension_list {
	gb_graph_extension_property *items;
	size_t n;
} gb_graph_extension_list;
void gb_graph_extension_list_free(gb_graph_extension_list *l);

/* The extension properties of an application (by object id). */
int gb_graph_list_extension_properties(gb_graph *g, const char *app_object_id, gb_graph_extension_list **out,
				       gb_error *err);
/* Creates a single-valued String extension for Group objects named short_name ("GroupDN"); *out gets the full
 * name Graph returns (allocated). */
int gb_graph_create_extension_property(gb_graph *g, const char *app_object_id, const char *short_name, char **out,
				       gb_error *err);
/* PATCHes a group's directory extension to value (NULL sets null). */
int gb_graph_set_group_extension_value(gb_graph *g, const char *group_id, const char *ext_name, const char *value,
				       gb_error *err);

/* servicePrincipals/{sp}/appRoleAssignedTo: the principals holding a role of that service principal. */
typedef struct gb_graph_role_assignment {
	char *id;
	char *principal_id;
	char *principal_type;
	char *app_role_id;
} gb_graph_role_assignment;
typedef struct gb_graph_role_assignment_list {
	gb_graph_role_assignment *items;
	size_t n;
} gb_graph_role_assignment_list;
void gb_graph_role_assignment_list_free(gb_graph_role_assignment_list *l);
int gb_graph_list_app_role_assigned_to(gb_graph *g, const char *sp_id, gb_graph_role_assignment_list **out,
				       gb_error *err);
/* Assigns app_role_id of sp_id to principal_id (a group); *out gets the assignment id (may be NULL). */
int gb_graph_assign_app_role(gb_graph *g, const char *sp_id, const char *principal_id, const char *app_role_id,
			     char **out, gb_error *err);

/* synchronization/jobs/{job}/provisionOnDemand for one group and at most 5 members (user object ids). *result gets
 * the outcome Graph reports ("Success", "Skipped", "Failure" ...) and *details the raw details JSON text; both
 * allocated, either may be NULL. GB_EINVAL for more than 5 members. */
int gb_graph_provision_on_demand(gb_graph *g, const char *sp_id, const char *job_id, const char *rule_id,
				 const char *group_id, const char *const *member_ids, size_t nmembers, char **result,
				 char **details, gb_error *err);

/* ---- config check ---------------------------------------------------------------------------------------- */

/* Obtains a token with the configured credential and writes a one-line detail without secrets ("token for tenant
 * T from AUTHORITY, valid N s") into detail. Returns 0 or the error of gb_graph_new / gb_graph_token (the message
 * also copied into detail). */
int gb_graph_probe(const gb_config *cfg, char *detail, size_t n, gb_error *err);

#endif
