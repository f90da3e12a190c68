/* Unit tests of the Graph client's layers and of its fidelity to Microsoft's documentation: the retry decision from a
 * table, and the client driven by a scripted transport (graph_script.h) replaying the replies Microsoft documents.
 * Waits are scaled to nothing; the logical figures (wait_ms, counters) still count them. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph_script.h"
#include "groupbridge/store.h"
#include "groupbridge/util.h"

#define GRP "aaaaaaaa-1111-4111-8111-000000000001"
#define OK_GROUP                                                                                                   \
	"{\"id\":\"" GRP "\",\"displayName\":\"G\",\"securityEnabled\":true,\"mailEnabled\":false,\"groupTypes\":[]}"

/* ---- the retry decision, from a table ---- */

typedef struct rcase {
	const char *name;
	gb_graph_transport_result transport;
	long status;
	long retry_after;
	const char *method;
	bool replay_safe, authenticated, renewed;
	unsigned throttles, net_failures;
	int64_t waited, budget, pause_left;
	uint32_t jitter;
	gb_graph_verdict want;
	int64_t want_wait; /* -1: any */
	int64_t want_charged;
	int want_code;
} rcase;

#define B 900000 /* the default budget, 900 s */

static const rcase table[] = {
	/* name                                   transport               status ra  method  safe  auth  renew th net
	   waited budget pause jitter -> verdict wait charged code */
	{"2xx is done", GB_GRAPH_XFER_OK, 200, -1, "GET", false, true, false, 0, 0, 0, B, 0, 0, GB_GRAPH_DONE, 0, 0, 0},
	{"404 is done", GB_GRAPH_XFER_OK, 404, -1, "GET", false, true, false, 0, 0, 0, B, 0, 0, GB_GRAPH_DONE, 0, 0, 0},
	{"500 is done (not a throttling status)", GB_GRAPH_XFER_OK, 500, -1, "GET", false, true, false, 0, 0, 0, B, 0, 0,
	 GB_GRAPH_DONE, 0, 0, 0},
	{"first 401 renews", GB_GRAPH_XFER_OK, 401, -1, "GET", false, true, false, 0, 0, 0, B, 0, 0,
	 GB_GRAPH_RENEW_TOKEN, 0, 0, 0},
	{"second 401 is done", GB_GRAPH_XFER_OK, 401, -1, "GET", false, true, true, 0, 0, 0, B, 0, 0, GB_GRAPH_DONE, 0,
	 0, 0},
	{"401 from the token endpoint is done", GB_GRAPH_XFER_OK, 401, -1, "POST", true, false, false, 0, 0, 0, B, 0, 0,
	 GB_GRAPH_DONE, 0, 0, 0},
	{"429 waits Retry-After", GB_GRAPH_XFER_OK, 429, 7, "GET", false, true, false, 0, 0, 0, B, 0, 0, GB_GRAPH_WAIT,
	 7000, 7000, 0},
	{"429 Retry-After 0 waits one second", GB_GRAPH_XFER_OK, 429, 0, "GET", false, true, false, 0, 0, 0, B, 0, 0,
	 GB_GRAPH_WAIT, 1000, 1000, 0},
	{"429 on a POST waits too (as the SDKs)", GB_GRAPH_XFER_OK, 429, 3, "POST", false, true, false, 0, 0, 0, B, 0, 0,
	 GB_GRAPH_WAIT, 3000, 3000, 0},
	{"503 without Retry-After backs off", GB_GRAPH_XFER_OK, 503, -1, "GET", false, true, false, 0, 0, 0, B, 0, 0,
	 GB_GRAPH_WAIT, 500, 500, 0},
	{"504, third throttle: 4 s full, jitter 1000", GB_GRAPH_XFER_OK, 504, -1, "PATCH", false, true, false, 2, 0, 0, B,
	 0, 1000, GB_GRAPH_WAIT, 3000, 3000, 0},
	{"backoff is capped at 32 s", GB_GRAPH_XFER_OK, 429, -1, "GET", false, true, false, 9, 0, 0, B, 0, 16000,
	 GB_GRAPH_WAIT, 32000, 32000, 0},
	{"a wait inside the client's pause costs nothing", GB_GRAPH_XFER_OK, 429, 5, "GET", false, true, false, 0, 0, 0,
	 B, 8000, 0, GB_GRAPH_WAIT, 5000, 0, 0},
	{"only the extension of the pause is charged", GB_GRAPH_XFER_OK, 429, 5, "GET", false, true, false, 0, 0, 0, B,
	 2000, 0, GB_GRAPH_WAIT, 5000, 3000, 0},
	{"over the budget gives up throttled", GB_GRAPH_XFER_OK, 429, 10, "GET", false, true, false, 3, 0, 25000, 30000,
	 0, 0, GB_GRAPH_GIVE_UP, 10000, 0, GB_ETHROTTLED},
	{"exactly the budget still waits", GB_GRAPH_XFER_OK, 429, 10, "GET", false, true, false, 2, 0, 20000, 30000, 0,
	 0, GB_GRAPH_WAIT, 10000, 10000, 0},
	{"GET after a reset is retried", GB_GRAPH_XFER_BROKEN, 0, -1, "GET", false, true, false, 0, 0, 0, B, 0, 0,
	 GB_GRAPH_WAIT, 500, 500, 0},
	{"DELETE after a timeout is retried", GB_GRAPH_XFER_BROKEN, 0, -1, "DELETE", false, true, false, 0, 1, 0, B, 0,
	 0, GB_GRAPH_WAIT, 1000, 1000, 0},
	{"POST after a timeout is not replayed", GB_GRAPH_XFER_BROKEN, 0, -1, "POST", false, true, false, 0, 0, 0, B, 0,
	 0, GB_GRAPH_GIVE_UP, 0, 0, GB_ENET},
	{"PATCH after a reset is not replayed by method", GB_GRAPH_XFER_BROKEN, 0, -1, "PATCH", false, true, false, 0, 0,
	 0, B, 0, 0, GB_GRAPH_GIVE_UP, 0, 0, GB_ENET},
	{"a replay-safe POST is retried", GB_GRAPH_XFER_BROKEN, 0, -1, "POST", true, false, false, 0, 0, 0, B, 0, 0,
	 GB_GRAPH_WAIT, 500, 500, 0},
	{"a POST that never left is retried", GB_GRAPH_XFER_NOT_SENT, 0, -1, "POST", false, true, false, 0, 0, 0, B, 0, 0,
	 GB_GRAPH_WAIT, 500, 500, 0},
	{"the fourth transport failure gives up", GB_GRAPH_XFER_BROKEN, 0, -1, "GET", false, true, false, 0, 3, 0, B, 0,
	 0, GB_GRAPH_GIVE_UP, 0, 0, GB_ENET},
	{"a transport retry over the budget gives up with the network error", GB_GRAPH_XFER_NOT_SENT, 0, -1, "GET",
	 false, true, false, 0, 0, 900000, B, 0, 0, GB_GRAPH_GIVE_UP, -1, 0, GB_ENET},
	{"TLS is never retried", GB_GRAPH_XFER_TLS, 0, -1, "GET", false, true, false, 0, 0, 0, B, 0, 0, GB_GRAPH_GIVE_UP,
	 0, 0, GB_ETLS},
	{"a body too big is never retried", GB_GRAPH_XFER_TOO_BIG, 0, -1, "GET", false, true, false, 0, 0, 0, B, 0, 0,
	 GB_GRAPH_GIVE_UP, 0, 0, GB_ETOOBIG},
	{"out of memory gives up", GB_GRAPH_XFER_NOMEM, 0, -1, "GET", false, true, false, 0, 0, 0, B, 0, 0,
	 GB_GRAPH_GIVE_UP, 0, 0, GB_ENOMEM},
};

Test(graph_retry, the_decision_table)
{
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		const rcase *c = &table[i];
		gb_graph_retry_input in = {c->transport, c->status, c->retry_after, c->method, c->replay_safe,
					   c->authenticated, c->renewed, c->throttles, c->net_failures, c->waited,
					   c->budget, c->pause_left, c->jitter};
		gb_graph_retry_decision d = gb_graph_retry_decide(&in);

		cr_assert_eq(d.verdict, c->want, "%s: verdict %d", c->name, d.verdict);
		if (c->want == GB_GRAPH_WAIT) {
			cr_assert(c->want_wait < 0 || d.wait_ms == c->want_wait, "%s: wait %lld", c->name,
				  (long long)d.wait_ms);
			cr_assert_eq(d.charged_ms, c->want_charged, "%s: charged %lld", c->name, (long long)d.charged_ms);
		}
		if (c->want == GB_GRAPH_GIVE_UP)
			cr_assert_eq(d.code, c->want_code, "%s: code %d", c->name, d.code);
	}
}

Test(graph_retry, idempotent_methods)
{
	cr_assert(gb_graph_method_idempotent("GET") && gb_graph_method_idempotent("PUT") &&
		  gb_graph_method_idempotent("DELETE") && gb_graph_method_idempotent("HEAD"));
	cr_assert(!gb_graph_method_idempotent("POST") && !gb_graph_method_idempotent("PATCH") &&
		  !gb_graph_method_idempotent(NULL));
}

/* ---- the engine with a scripted transport ---- */

/* Reads the group GRP through g (and frees it); what the read returned. */
static int get_grp(gb_graph *g, gb_error *err)
{
	gb_cloud_group *grp = NULL;
	int rc = gb_graph_get_group(g, GRP, &grp, err);

	gb_cloud_group_free(grp);
	return rc;
}

Test(graph_engine, a_throttled_request_waits_and_429s_are_counted_apart)
{
	script_reply r[] = {{"GET", "/v1.0/groups/" GRP "?", 429, NULL, "2", 1},
			    {"GET", "/v1.0/groups/" GRP "?", 503, NULL, "1", 1},
			    {"GET", "/v1.0/groups/" GRP "?", 200, OK_GROUP, NULL, 0}};
	SCRIPT_START(r, 3);
	gb_error err;

	cr_assert_eq(get_grp(g, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_graph_get_stats(g)->throttled, 2);
	cr_assert_eq(gb_graph_get_stats(g)->throttled_429, 1, "429s are counted on their own for metrics");
	cr_assert_eq(gb_graph_get_stats(g)->wait_ms, 3000);
	cr_assert_eq(gb_graph_get_stats(g)->requests, 4, "three attempts and the token");
	SCRIPT_END();
}

Test(graph_engine, a_401_renews_the_token_once_then_fails)
{
	script_reply r[] = {{"GET", "/v1.0/groups/" GRP "?", 401, "{\"error\":{\"code\":\"InvalidAuthenticationToken\","
								    "\"message\":\"expired\"}}", NULL, 0}};
	SCRIPT_START(r, 1);
	gb_error err;

	cr_assert_eq(get_grp(g, &err), GB_EAUTH);
	cr_assert_eq(s.calls, 2);
	cr_assert_eq(gb_graph_get_stats(g)->token_requests, 2);
	cr_assert_eq(gb_graph_get_stats(g)->auth_retries, 1);
	cr_assert(strstr(err.msg, "GET /v1.0/groups/" GRP) == err.msg, "%s", err.msg);
	SCRIPT_END();
}

Test(graph_engine, reads_are_retried_after_a_transport_failure)
{
	script_reply r[] = {{"GET", "/v1.0/groups/" GRP "?", 0, NULL, NULL, 2, GB_GRAPH_XFER_BROKEN},
			    {"GET", "/v1.0/groups/" GRP "?", 200, OK_GROUP, NULL, 0}};
	SCRIPT_START(r, 2);
	gb_error err;

	cr_assert_eq(get_grp(g, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_graph_get_stats(g)->net_retries, 2);
	cr_assert_eq(s.calls, 3);
	SCRIPT_END();
}

/* ---- Graph review #1: provisionOnDemand's result is in "key" ---- */

/* synchronizationJob: provisionOnDemand (v1.0), Example 3, the reply verbatim. */
#define POD_EXAMPLE_3                                                                                              \
	"{\"@odata.context\": \"https://syncfabric.windowsazure.com/api/$metadata#microsoft.synchronization."      \
	"stringKeyStringValuePair\", \"key\": \"{\\\"result\\\":\\\"Success\\\",\\\"details\\\":{}}\", \"value\": \"{}\"}"
#define POD_URL "/v1.0/servicePrincipals/eeeeeeee-5555-4555-8555-000000000001/synchronization/jobs/job-1/provisionOnDemand"

Test(graph_fidelity, provision_on_demand_reads_the_documented_example_3_reply)
{
	script_reply r[] = {{"POST", POD_URL, 200, POD_EXAMPLE_3, NULL, 0}};
	SCRIPT_START(r, 1);
	const char *members[] = {"cbc86211-6ada-4803-b73f-8039cf56d8a2", "2bc86211-6ada-4803-b73f-8039cf56d8a2"};
	char *result = NULL, *details = NULL;
	json_t *body;
	gb_error err;

	cr_assert_eq(gb_graph_provision_on_demand(g, "eeeeeeee-5555-4555-8555-000000000001", "job-1",
						  "33f7c90d-bf71-41b1-bda6-aaf0ddbee5d8#V2",
						  "8213fd99-d6b6-417b-8e13-af6334856215", members, 2, &result, &details, &err),
		     0, "%s", err.msg);
	cr_assert_str_eq(result, "Success");
	cr_assert_str_eq(details, "{}");
	/* and the request is Example 3's */
	body = json_loads(s.body, 0, NULL);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(body, "parameters"), 0),
							   "ruleId")),
			 "33f7c90d-bf71-41b1-bda6-aaf0ddbee5d8#V2");
	json_decref(body);
	free(result);
	free(details);
	SCRIPT_END();
}

Test(graph_fidelity, provision_on_demand_failure_in_key_surfaces_as_failure)
{
	json_t *reply = json_pack("{s:s, s:s}", "key",
				  "{\"result\":\"Failure\",\"details\":{\"errorCode\":\"EntryConflict\"}}", "value",
				  "{\"provisioningSteps\":[{\"name\":\"EntryExportAdd\",\"status\":\"Failure\"}]}");
	json_t *odd = json_pack("{s:s, s:s}", "key", "job-1", "value", "{\"result\":\"Success\"}");
	char *result = NULL, *details = NULL;
	gb_error err;

	cr_assert_eq(gb_graph_provision_on_demand_parse(reply, &result, &details, &err), 0, "%s", err.msg);
	cr_assert_str_eq(result, "Failure");
	cr_assert(strstr(details, "EntryConflict") != NULL, "%s", details);
	free(result);
	free(details);
	/* a result only in "value" is not Graph's shape: refused, never read as a success */
	cr_assert_eq(gb_graph_provision_on_demand_parse(odd, &result, NULL, &err), GB_EPARSE);
	cr_assert_null(result);
	json_decref(reply);
	json_decref(odd);
}

/* ---- Graph review #3: a delta record that omits never-set properties is complete ---- */

static int note_complete(const gb_graph_group_delta *d, void *ud, gb_error *err)
{
	(void)err;
	gb_testfs_appendf(ud, 256, "[%s %s %s %d]", d->complete ? "complete" : "partial",
			  d->group.description ? d->group.description : "-",
			  d->group.on_prem_sid ? d->group.on_prem_sid : "-", (int)d->group.on_prem_sync_enabled);
	return 0;
}

Test(graph_fidelity, a_cloud_group_record_without_never_set_properties_is_complete)
{
	/* group-delta.md: "If the property has never been set before it will not be included in the response at
	 * all." A cloud-only group never has onPremisesSecurityIdentifier or onPremisesSyncEnabled; this one has no
	 * description either. */
	const char *text =
		"{\"@odata.deltaLink\":\"d\",\"value\":["
		"{\"id\":\"" GRP "\",\"displayName\":\"Cloud\",\"securityEnabled\":true,\"mailEnabled\":false,"
		"\"groupTypes\":[],\"members@delta\":[]},"
		"{\"id\":\"" GRP "\",\"members@delta\":[{\"@odata.type\":\"#microsoft.graph.user\",\"id\":\"u\"}]}]}";
	json_t *page = json_loads(text, 0, NULL);
	char log[256] = "", *next = NULL, *delta = NULL;
	gb_error err;

	cr_assert_eq(gb_graph_delta_parse_groups(page, NULL, note_complete, log, &next, &delta, &err), 0, "%s", err.msg);
	cr_assert_str_eq(log, "[complete - - -1][partial - - -1]",
			 "absent never-set properties are null; a record without displayName, securityEnabled and "
			 "mailEnabled is not a default reply");
	free(delta);
	json_decref(page);
}

/* ---- Graph review #4: expired delta and page tokens, by every shape ---- */

Test(graph_fidelity, every_documented_expiry_shape_is_recognised)
{
	static const struct {
		long status;
		const char *body;
		bool expired;
	} c[] = {
		{410, NULL, true},
		{400, "{\"error\":{\"code\":\"syncStateNotFound\",\"message\":\"x\"}}", true},
		{409, "{\"error\":{\"code\":\"resyncRequired\",\"message\":\"x\"}}", true},
		{400, "{\"error\":{\"code\":\"Directory_ExpiredPageToken\",\"message\":\"The specified page token value "
		      "has expired and can no longer be included in your request.\"}}", true},
		{400, "{\"error\":{\"code\":\"Request_BadRequest\",\"message\":\"The specified page token value has "
		      "expired or is invalid.\"}}", true},
		{400, "{\"error\":{\"code\":\"Request_BadRequest\",\"message\":\"Invalid filter clause\"}}", false},
		{403, "{\"error\":{\"code\":\"Authorization_RequestDenied\",\"message\":\"x\"}}", false},
		{500, "{\"error\":{\"code\":\"syncStateNotFound\",\"message\":\"x\"}}", false},
		{200, NULL, false},
	};
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		cr_assert_eq(gb_graph_page_expired(c[i].status, c[i].body, c[i].body ? strlen(c[i].body) : 0), c[i].expired,
			     "case %zu (%ld %s)", i, c[i].status, c[i].body ? c[i].body : "");
}

/* Closes the store and removes its files and directory. */
static void drop_store(gb_store *st, const char *path)
{
	const char *ext[] = {"", "-wal", "-shm", ".lock"};
	char f[700], *slash;
	size_t i;

	gb_store_free(st);
	for (i = 0; i < 4; i++) {
		snprintf(f, sizeof(f), "%s%s", path, ext[i]);
		unlink(f);
	}
	snprintf(f, sizeof(f), "%s", path);
	slash = strrchr(f, '/');
	if (slash) {
		*slash = '\0';
		rmdir(f);
	}
}

static gb_store *temp_store(char *path, size_t n)
{
	char dir[] = "/tmp/gb-graph-unit-XXXXXX";
	gb_store *st = NULL;
	gb_error err;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, n, "%s/state.db", dir);
	cr_assert_eq(gb_store_open(path, "unit", &st, &err), 0, "%s", err.msg);
	return st;
}

static int count_delta(const gb_graph_group_delta *d, void *ud, gb_error *err)
{
	int *n = ud;

	(void)err;
	*n += d ? 1 : 1000;
	return 0;
}

#define SAVED "https://graph.microsoft.com/v1.0/groups/delta?$deltatoken=old"

Test(graph_fidelity, a_saved_delta_link_that_fails_with_a_4xx_means_read_everything)
{
	script_reply r[] = {
		{"GET", "$deltatoken=old", 400, "{\"error\":{\"code\":\"Request_BadRequest\",\"message\":\"Invalid "
						"token\"}}", NULL, 0},
		{"GET", "/v1.0/groups/delta?$select=", 200,
		 "{\"@odata.deltaLink\":\"https://graph.microsoft.com/v1.0/groups/delta?$deltatoken=new\",\"value\":["
		 OK_GROUP "]}", NULL, 0}};
	SCRIPT_START(r, 2);
	char path[600], *link = NULL;
	gb_store *st = temp_store(path, sizeof(path));
	gb_graph_delta_info info;
	gb_error err;
	int n = 0;

	cr_assert_eq(gb_store_kv_set(st, GB_GRAPH_DELTA_KEY_GROUPS, SAVED, &err), 0);
	cr_assert_eq(gb_graph_delta_groups(g, st, 0, count_delta, &n, &info, &err), GB_ERETRY);
	cr_assert(strstr(err.msg, "a full read is needed") != NULL, "%s", err.msg);
	cr_assert_eq(gb_store_kv_get(st, GB_GRAPH_DELTA_KEY_GROUPS, &link, NULL), GB_ENOTFOUND, "never tried again");
	cr_assert_eq(gb_store_kv_set(st, GB_GRAPH_DELTA_KEY_GROUPS, SAVED, &err), 0);
	cr_assert_eq(gb_graph_delta_groups(g, st, GB_GRAPH_DELTA_FALLBACK, count_delta, &n, &info, &err), 0, "%s",
		     err.msg);
	cr_assert(info.expired && info.full);
	cr_assert_eq(n, 1001, "a reset, then the full read");
	cr_assert_eq(gb_store_kv_get(st, GB_GRAPH_DELTA_KEY_GROUPS, &link, &err), 0);
	cr_assert(strstr(link, "deltatoken=new") != NULL, "%s", link);
	free(link);
	drop_store(st, path);
	SCRIPT_END();
}

Test(graph_fidelity, a_saved_delta_link_refused_for_permissions_is_kept)
{
	script_reply r[] = {{"GET", "$deltatoken=old", 403, "{\"error\":{\"code\":\"Authorization_RequestDenied\","
							    "\"message\":\"Insufficient privileges\"}}", NULL, 0}};
	SCRIPT_START(r, 1);
	char path[600], *link = NULL;
	gb_store *st = temp_store(path, sizeof(path));
	gb_error err;
	int n = 0;

	cr_assert_eq(gb_store_kv_set(st, GB_GRAPH_DELTA_KEY_GROUPS, SAVED, &err), 0);
	cr_assert_eq(gb_graph_delta_groups(g, st, GB_GRAPH_DELTA_FALLBACK, count_delta, &n, NULL, &err), GB_EAUTH);
	cr_assert_eq(gb_store_kv_get(st, GB_GRAPH_DELTA_KEY_GROUPS, &link, &err), 0, "the link stays");
	free(link);
	drop_store(st, path);
	SCRIPT_END();
}

#define PAGE1                                                                                                      \
	"{\"@odata.nextLink\":\"https://graph.microsoft.com/v1.0/groups?$skiptoken=p2\",\"value\":[" OK_GROUP "]}"
#define PAGE2 "{\"value\":[{\"id\":\"aaaaaaaa-1111-4111-8111-000000000002\",\"displayName\":\"H\"}]}"

Test(graph_fidelity, an_expired_next_link_reads_the_listing_again_from_the_start)
{
	script_reply r[] = {{"GET", "$skiptoken=p2", 400, "{\"error\":{\"code\":\"Directory_ExpiredPageToken\","
							  "\"message\":\"expired\"}}", NULL, 1},
			    {"GET", "$skiptoken=p2", 200, PAGE2, NULL, 0},
			    {"GET", "/v1.0/groups?$select=", 200, PAGE1, NULL, 0}};
	SCRIPT_START(r, 3);
	gb_cloud_group *all = NULL;
	size_t n = 0;
	gb_error err;

	cr_assert_eq(gb_graph_read_groups(g, NULL, false, &all, &n, &err), 0, "%s", err.msg);
	cr_assert_eq(n, 2, "each group once: what was read before the restart is forgotten");
	cr_assert_eq(script_count(&s, "GET /v1.0/groups?$select="), 2);
	gb_graph_groups_free(all, n);
	SCRIPT_END();
}

#define MEMBERS "/v1.0/groups/" GRP "/members?$select=id&$top=999"
#define MPAGE1                                                                                                     \
	"{\"@odata.nextLink\":\"https://graph.microsoft.com" MEMBERS "&$skiptoken=m2\",\"value\":[{\"@odata.type\":" \
	"\"#microsoft.graph.user\",\"id\":\"u1\"}]}"
#define MPAGE2 "{\"value\":[{\"@odata.type\":\"#microsoft.graph.user\",\"id\":\"u2\"}]}"

Test(graph_fidelity, an_expired_member_page_token_reads_the_group_again)
{
	script_reply r[] = {{"GET", "$skiptoken=m2", 410, "{\"error\":{\"code\":\"syncStateNotFound\",\"message\":"
							  "\"gone\"}}", NULL, 1},
			    {"GET", "$skiptoken=m2", 200, MPAGE2, NULL, 0},
			    {"GET", MEMBERS, 200, MPAGE1, NULL, 0}};
	SCRIPT_START(r, 3);
	gb_cloud_group grp;
	gb_error err;

	memset(&grp, 0, sizeof(grp));
	grp.id = (char *)GRP;
	cr_assert_eq(gb_graph_read_members(g, &grp, 0, &err), 0, "%s", err.msg);
	cr_assert_eq(grp.nmembers, 2);
	cr_assert_str_eq(grp.members[0].id, "u1");
	cr_assert_str_eq(grp.members[1].id, "u2");
	grp.id = NULL;
	gb_cloud_group_clear(&grp);
	SCRIPT_END();
}

/* ---- Graph review #6: a GroupDN value over 256 characters is refused before it is sent ---- */

#define EXTN "extension_0123456789abcdef0123456789abcdef_GroupDN"

Test(graph_fidelity, an_extension_value_over_256_characters_is_refused_unsent)
{
	script_reply r[] = {{"PATCH", "/v1.0/groups/" GRP, 204, NULL, NULL, 0}};
	SCRIPT_START(r, 1);
	char dn[400];
	gb_error err;

	memset(dn, 'a', sizeof(dn));
	memcpy(dn, "CN=", 3);
	dn[257] = '\0';
	cr_assert_eq(gb_graph_set_group_extension_value(g, GRP, EXTN, dn, &err), GB_EINVAL);
	cr_assert(strstr(err.msg, "257 characters") && strstr(err.msg, "at most 256"), "%s", err.msg);
	cr_assert_eq(s.calls, 0, "nothing was sent");
	/* 255 characters and one outside the BMP (two UTF-16 units, as Graph counts): 257 */
	memcpy(dn + 255, "\xf0\x9f\x98\x80", 5);
	cr_assert_eq(gb_graph_set_group_extension_value(g, GRP, EXTN, dn, &err), GB_EINVAL);
	dn[256] = '\0';
	memset(dn, 'b', 256);
	cr_assert_eq(gb_graph_set_group_extension_value(g, GRP, EXTN, dn, &err), 0, "%s", err.msg);
	cr_assert_eq(s.calls, 1);
	SCRIPT_END();
}

/* ---- reading one group's extension value (escaped; the steps used to build this URL by hand) ---- */

Test(graph_fidelity, a_group_extension_value_is_read_through_an_escaped_url)
{
	script_reply r[] = {{"GET", "?$select=id," EXTN, 200,
			     "{\"id\":\"" GRP "\",\"" EXTN "\":\"CN=A,OU=B,DC=c\"}", NULL, 1},
			    {"GET", "?$select=id," EXTN, 200, "{\"id\":\"" GRP "\"}", NULL, 0}};
	SCRIPT_START(r, 2);
	char *v = NULL;
	gb_error err;

	cr_assert_eq(gb_graph_get_group_extension_value(g, GRP, EXTN, &v, &err), 0, "%s", err.msg);
	cr_assert_str_eq(v, "CN=A,OU=B,DC=c");
	free(v);
	cr_assert_eq(gb_graph_get_group_extension_value(g, "a b/c?d", EXTN, &v, &err), 0, "%s", err.msg);
	cr_assert_null(v, "not set is NULL");
	cr_assert(strstr(s.log, "GET /v1.0/groups/a%20b%2Fc%3Fd?$select=id," EXTN "\n") != NULL, "%s", s.log);
	cr_assert_eq(gb_graph_get_group_extension_value(g, GRP, "id,displayName&$expand=members", &v, &err),
		     GB_EINVAL);
	cr_assert_eq(s.calls, 2, "a name that is not an extension never reaches a URL");
	SCRIPT_END();
}

/* ---- Graph review #9: a POST that creates an object is never replayed blindly ---- */

#define APPS_FILTER "/v1.0/applications?$filter="
#define APP_JSON "{\"id\":\"11111111-aaaa-4aaa-8aaa-000000000001\",\"appId\":\"22222222-bbbb-4bbb-8bbb-000000000002\"," \
		 "\"displayName\":\"CloudSyncCustomExtensionsApp\"}"

Test(graph_fidelity, a_timed_out_create_is_looked_up_before_it_is_sent_again)
{
	script_reply r[] = {
		{"POST", "/v1.0/applications", 0, NULL, NULL, 1, GB_GRAPH_XFER_BROKEN},
		{"POST", "/v1.0/applications", 400, "{\"error\":{\"code\":\"Request_BadRequest\",\"message\":\"Another "
						   "object with the same value for property identifierUris already exists.\"}}",
		 NULL, 0},
		{"GET", APPS_FILTER, 200, "{\"value\":[" APP_JSON "]}", NULL, 0}};
	SCRIPT_START(r, 3);
	gb_graph_app *app = NULL;
	gb_error err;

	cr_assert_eq(gb_graph_create_extension_app(g, &app, &err), 0, "%s", err.msg);
	cr_assert_str_eq(app->app_id, "22222222-bbbb-4bbb-8bbb-000000000002");
	cr_assert_eq(script_count(&s, "POST /v1.0/applications"), 1, "the POST was not replayed:\n%s", s.log);
	gb_graph_app_free(app);
	SCRIPT_END();
}

Test(graph_fidelity, a_timed_out_create_that_did_nothing_is_sent_again)
{
	script_reply r[] = {
		{"POST", "/v1.0/servicePrincipals", 0, NULL, NULL, 1, GB_GRAPH_XFER_BROKEN},
		{"POST", "/v1.0/servicePrincipals", 201, "{\"id\":\"33333333-cccc-4ccc-8ccc-000000000003\"}", NULL, 0},
		{"GET", "/v1.0/servicePrincipals?$filter=", 200, "{\"value\":[]}", NULL, 0}};
	SCRIPT_START(r, 3);
	char *sp = NULL;
	gb_error err;

	cr_assert_eq(gb_graph_create_service_principal(g, "22222222-bbbb-4bbb-8bbb-000000000002", &sp, &err), 0, "%s",
		     err.msg);
	cr_assert_str_eq(sp, "33333333-cccc-4ccc-8ccc-000000000003");
	cr_assert_eq(script_count(&s, "POST /v1.0/servicePrincipals"), 2);
	cr_assert(script_count(&s, "GET /v1.0/servicePrincipals?$filter=") >= 1, "looked up first:\n%s", s.log);
	free(sp);
	SCRIPT_END();
}

Test(graph_fidelity, a_timed_out_app_role_assignment_is_looked_up)
{
	script_reply r[] = {
		{"POST", "/appRoleAssignedTo", 0, NULL, NULL, 1, GB_GRAPH_XFER_BROKEN},
		{"GET", "/appRoleAssignedTo", 200, "{\"value\":[{\"id\":\"x\",\"principalId\":\"" GRP "\",\"appRoleId\":"
						   "\"1a0abf4d-b9fa-4512-a3a2-51ee82c6fd9f\"}]}", NULL, 0}};
	SCRIPT_START(r, 2);
	gb_error err;

	cr_assert_eq(gb_graph_assign_app_role(g, "eeeeeeee-5555-4555-8555-000000000001", GRP,
					      "1a0abf4d-b9fa-4512-a3a2-51ee82c6fd9f", NULL, &err),
		     0, "%s", err.msg);
	cr_assert_eq(script_count(&s, "POST /v1.0/servicePrincipals"), 1);
	SCRIPT_END();
}

/* ---- Graph review #10: reads after writes wait for Graph's eventual consistency; #11: v1.0 ---- */

#define OPSB "/v1.0/groups/" GRP "/onPremisesSyncBehavior"

Test(graph_fidelity, the_source_of_authority_read_back_waits_for_the_write)
{
	script_reply r[] = {
		{"PATCH", OPSB, 204, NULL, NULL, 0},
		{"GET", OPSB, 200, "{\"value\":{\"isCloudManaged\":false}}", NULL, 2},
		{"GET", OPSB, 200, "{\"value\":{\"isCloudManaged\":true}}", NULL, 0}};
	SCRIPT_START(r, 3);
	bool cm = false;
	gb_error err;

	cr_assert_eq(gb_graph_set_sync_behavior(g, GRP, true, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_graph_get_sync_behavior(g, GRP, &cm, &err), 0, "%s", err.msg);
	cr_assert(cm, "a stale read is read again, not taken for a failed conversion");
	cr_assert_eq(script_count(&s, "GET " OPSB), 3);
	cr_assert_eq(gb_graph_get_stats(g)->settle_reads, 2);
	cr_assert_eq(script_count(&s, "/beta/"), 0, "onPremisesSyncBehavior is on v1.0:\n%s", s.log);
	SCRIPT_END();
}

Test(graph_fidelity, the_patch_reply_says_what_graph_holds)
{
	script_reply r[] = {{"PATCH", OPSB, 200,
			     "{\"@odata.type\":\"#microsoft.graph.onPremisesSyncBehavior\",\"id\":\"" GRP "\","
			     "\"isCloudManaged\":false}", NULL, 0}};
	SCRIPT_START(r, 1);
	gb_error err;

	cr_assert_eq(gb_graph_set_sync_behavior(g, GRP, true, &err), GB_ECONFLICT);
	cr_assert(strstr(err.msg, "isCloudManaged false") != NULL, "%s", err.msg);
	SCRIPT_END();
}

Test(graph_fidelity, a_just_created_application_is_found_although_graph_lags)
{
	script_reply r[] = {{"POST", "/v1.0/applications", 201, APP_JSON, NULL, 0},
			    {"GET", APPS_FILTER, 200, "{\"value\":[]}", NULL, 2},
			    {"GET", APPS_FILTER, 200, "{\"value\":[" APP_JSON "]}", NULL, 0}};
	SCRIPT_START(r, 3);
	gb_graph_app *made = NULL, *found = NULL;
	gb_error err;

	cr_assert_eq(gb_graph_create_extension_app(g, &made, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_graph_find_extension_app(g, &found, &err), 0, "%s", err.msg);
	cr_assert_str_eq(found->id, made->id);
	cr_assert_eq(script_count(&s, "GET " APPS_FILTER), 3);
	gb_graph_app_free(made);
	gb_graph_app_free(found);
	SCRIPT_END();
}

Test(graph_fidelity, a_written_extension_value_is_read_back_once_graph_shows_it)
{
	script_reply r[] = {{"PATCH", "/v1.0/groups/" GRP, 204, NULL, NULL, 0},
			    {"GET", "?$select=id," EXTN, 200, "{\"id\":\"" GRP "\",\"" EXTN "\":null}", NULL, 1},
			    {"GET", "?$select=id," EXTN, 200, "{\"id\":\"" GRP "\",\"" EXTN "\":\"CN=X,DC=y\"}", NULL, 0}};
	SCRIPT_START(r, 3);
	char *v = NULL;
	gb_error err;

	cr_assert_eq(gb_graph_set_group_extension_value(g, GRP, EXTN, "CN=X,DC=y", &err), 0, "%s", err.msg);
	cr_assert_eq(gb_graph_get_group_extension_value(g, GRP, EXTN, &v, &err), 0, "%s", err.msg);
	cr_assert_str_eq(v, "CN=X,DC=y");
	free(v);
	SCRIPT_END();
}

/* ---- Graph review #12: opaque access tokens ---- */

Test(graph_fidelity, an_opaque_token_fails_soft_with_a_clear_message)
{
	script s = {NULL, 0};
	gb_config *cfg = NULL;
	gb_graph *g;
	char **roles = NULL;
	size_t n = 9, i;
	gb_error err;
	/* {"alg":"none"} . {"roles":["Group.Read.All"]} . (no signature) */
	const char *jwt = "eyJhbGciOiJub25lIn0.eyJyb2xlcyI6WyJHcm91cC5SZWFkLkFsbCJdfQ.c2ln";

	s.token = "EwBwA8l6BAAURSN/FHlDW5xN74t6GzbtsBBeBUYAAXAzG2H2a0wn0Z0u";
	g = script_client(&s, NULL, NULL, &cfg);
	cr_assert_eq(gb_graph_token_roles(g, &roles, &n, &err), GB_EUNSUPPORTED);
	cr_assert_null(roles);
	cr_assert_eq(n, 0);
	cr_assert(strstr(err.msg, "opaque") && strstr(err.msg, "cannot be read"), "%s", err.msg);
	SCRIPT_END();
	/* five parts (an encrypted JWE) are opaque too */
	s.token = "a.b.c.d.e";
	g = script_client(&s, NULL, NULL, &cfg);
	cr_assert_eq(gb_graph_token_roles(g, &roles, &n, &err), GB_EUNSUPPORTED);
	SCRIPT_END();
	s.token = jwt;
	g = script_client(&s, NULL, NULL, &cfg);
	cr_assert_eq(gb_graph_token_roles(g, &roles, &n, &err), 0, "%s", err.msg);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(roles[0], "Group.Read.All");
	for (i = 0; i < n; i++)
		free(roles[i]);
	free(roles);
	SCRIPT_END();
}

/* ---- Graph review #2: the Cloud Sync group role of the cloud ---- */

#define SPID "eeeeeeee-5555-4555-8555-000000000001"
#define GOV_ROLE "d8fa317e-0713-4930-91d8-1dbeb150978f"

/* gb_graph_cloudsync_group_role for SPID, Graph at graph_url answering with the one reply r: its return code; the
 * role in *role (the caller frees it) and the error in *err. */
static int role_from(script_reply *r, const char *graph_url, char **role, gb_error *err)
{
	script s = {r, 1};
	gb_config *cfg = NULL;
	gb_graph *g = script_client(&s, graph_url, NULL, &cfg);
	int rc = gb_graph_cloudsync_group_role(g, SPID, role, err);

	SCRIPT_END();
	return rc;
}

Test(graph_fidelity, the_cloud_sync_role_comes_from_the_service_principal)
{
	script_reply r[] = {{"GET", "/v1.0/servicePrincipals/" SPID "?$select=appRoles", 200,
			     "{\"appRoles\":[{\"id\":\"0f1e2d3c-0000-4000-8000-000000000000\",\"value\":\"User\"},"
			     "{\"id\":\"" GOV_ROLE "\",\"value\":\"Group\"}]}", NULL, 0}};
	char *role = NULL;
	gb_error err;

	cr_assert_eq(role_from(r, "https://graph.microsoft.us", &role, &err), 0, "%s", err.msg);
	cr_assert_str_eq(role, GOV_ROLE);
	free(role);
}

Test(graph_fidelity, the_cloud_sync_role_falls_back_to_the_documented_table)
{
	script_reply r[] = {{"GET", "?$select=appRoles", 403, "{\"error\":{\"code\":\"Authorization_RequestDenied\","
							     "\"message\":\"Insufficient privileges\"}}", NULL, 0}};
	char *role = NULL;
	gb_error err;

	cr_assert_eq(role_from(r, "https://dod-graph.microsoft.us/", &role, &err), 0, "%s", err.msg);
	cr_assert_str_eq(role, GOV_ROLE);
	free(role);
	cr_assert_str_eq(gb_graph_cloudsync_role_for_url("https://graph.microsoft.com"),
			 "1a0abf4d-b9fa-4512-a3a2-51ee82c6fd9f");
	cr_assert_str_eq(gb_graph_cloudsync_role_for_url("https://microsoftgraph.chinacloudapi.cn"),
			 "15af7fd5-1a3f-4034-8ea1-1afa3d5ecf63");
	cr_assert_str_eq(gb_graph_cloudsync_role_for_url("https://graph.eaglex.ic.gov/v1.0"),
			 "50a55e47-aae2-425c-8dcb-ed711147a39f");
	cr_assert_str_eq(gb_graph_cloudsync_role_for_url("https://graph.microsoft.scloud"),
			 "52e862b9-0b95-43fe-9340-54f51248314f");
	cr_assert_null(gb_graph_cloudsync_role_for_url("https://127.0.0.1:8443"));
	cr_assert_null(gb_graph_cloudsync_role_for_url("https://graph.microsoft.com.evil.example"));
}

Test(graph_fidelity, a_service_principal_without_a_documented_role_is_named)
{
	script_reply r[] = {{"GET", "?$select=appRoles", 200, "{\"appRoles\":[{\"id\":\"0f1e2d3c-0000-4000-8000-"
							      "000000000000\",\"value\":\"msiam_access\"}]}", NULL, 0}};
	char *role = NULL;
	gb_error err;

	cr_assert_eq(role_from(r, NULL, &role, &err), GB_ENOTFOUND);
	cr_assert(strstr(err.msg, SPID) && strstr(err.msg, "msiam_access"), "%s", err.msg);
}

/* ---- Graph review #7: the extension application's URI needs the tenant's GUID ---- */

Test(graph_fidelity, a_tenant_id_that_is_a_domain_is_refused_before_any_request)
{
	script s = {NULL, 0};
	gb_config *cfg = NULL;
	gb_graph *g = script_client(&s, NULL, "contoso.onmicrosoft.com", &cfg);
	gb_graph_app *app = NULL;
	gb_error err;

	cr_assert_eq(gb_graph_find_extension_app(g, &app, &err), GB_ECONFIG);
	cr_assert(strstr(err.msg, "contoso.onmicrosoft.com") && strstr(err.msg, "GUID"), "%s", err.msg);
	cr_assert_eq(gb_graph_create_extension_app(g, &app, &err), GB_ECONFIG);
	cr_assert_eq(s.calls, 0);
	SCRIPT_END();
}

/* ---- issue 18: an object id that is not a GUID is refused where it enters ---- */

Test(graph_fidelity, object_ids_that_are_not_guids_are_refused_naming_the_object)
{
	json_t *grp = json_loads("{\"id\":\"Group_1; DROP\",\"displayName\":\"x\"}", 0, NULL);
	json_t *usr = json_loads("{\"id\":\"u-alice\",\"displayName\":\"Alice\"}", 0, NULL);
	json_t *ok = json_loads("{\"id\":\"AAAAAAAA-1111-4111-8111-000000000001\"}", 0, NULL);
	gb_cloud_group g;
	gb_cloud_user u;
	gb_error err;

	cr_assert_eq(gb_graph_group_from_json(grp, NULL, &g, &err), GB_EPARSE);
	cr_assert(strstr(err.msg, "group \"Group_1; DROP\"") && strstr(err.msg, "not a GUID"), "%s", err.msg);
	cr_assert_eq(gb_graph_user_from_json(usr, &u, &err), GB_EPARSE);
	cr_assert(strstr(err.msg, "user \"u-alice\"") != NULL, "%s", err.msg);
	cr_assert_eq(gb_graph_group_from_json(ok, NULL, &g, &err), 0, "upper-case hex is a GUID too: %s", err.msg);
	gb_cloud_group_clear(&g);
	cr_assert(gb_graph_is_guid("00000000-0000-0000-0000-000000000000"));
	cr_assert(!gb_graph_is_guid("00000000-0000-0000-0000-00000000000"));
	cr_assert(!gb_graph_is_guid("{00000000-0000-0000-0000-000000000000}"));
	cr_assert(!gb_graph_is_guid("00000000x0000-0000-0000-000000000000"));
	json_decref(grp);
	json_decref(usr);
	json_decref(ok);
}

/* ---- flow control: a server with a resource budget is exceeded by at most one window ---- */

typedef struct budget {
	gb_graph *g;
	int64_t start;        /* logical ms the current budget window began */
	unsigned used, over;  /* units granted and refused in this budget window */
	unsigned max_over;    /* the most refused in one budget window */
	unsigned served;      /* requests answered 200 */
} budget;

#define BUDGET 30
#define BUDGET_MS 10000
#define PAGE "{\"value\":[{\"@odata.type\":\"#microsoft.graph.user\",\"id\":\"u\"}]}"

/* One unit: 200, or 429 with the seconds left in the budget window. */
static long budget_take(budget *b, char *retry_after, size_t n)
{
	int64_t now = gb_graph__now(b->g);

	if (now - b->start >= BUDGET_MS) {
		b->start = now;
		b->used = b->over = 0;
	}
	if (b->used < BUDGET) {
		b->used++;
		b->served++;
		return 200;
	}
	b->over++;
	if (b->over > b->max_over)
		b->max_over = b->over;
	snprintf(retry_after, n, "%lld", (long long)((b->start + BUDGET_MS - now + 999) / 1000));
	return 429;
}

static void budget_hook(void *ud, gb_graph__xfer *x)
{
	budget *b = ud;
	char ra[32];

	if (strstr(x->url, "/oauth2/v2.0/token")) {
		x->status = 200;
		gb_buf_puts(&x->body_buf, "{\"access_token\":\"tok\",\"expires_in\":3600}", NULL);
		return;
	}
	if (strstr(x->url, "/$batch")) {
		json_t *in = json_loads(x->body, 0, NULL), *req, *out = json_pack("{s:[]}", "responses");
		size_t i;

		json_array_foreach(json_object_get(in, "requests"), i, req) {
			long st = budget_take(b, ra, sizeof(ra));
			json_t *p = json_pack("{s:O, s:i}", "id", json_object_get(req, "id"), "status", (int)st);

			if (st == 200)
				json_object_set_new(p, "body", json_loads(PAGE, 0, NULL));
			else
				json_object_set_new(p, "headers", json_pack("{s:s}", "Retry-After", ra));
			json_array_append_new(json_object_get(out, "responses"), p);
		}
		script_reply_json(x, out, in);
		return;
	}
	x->status = budget_take(b, x->retry_after, sizeof(x->retry_after));
	gb_buf_puts(&x->body_buf, x->status == 200 ? PAGE : "{\"error\":{\"code\":\"TooManyRequests\",\"message\":\"x\"}}",
		    NULL);
}

static void run_budget(bool batching)
{
	SCRIPT_START(NULL, 0);
	gb_cloud_group groups[100], *ptrs[100];
	budget b;
	size_t i, failed = 0;
	char ids[100][40];
	gb_error err;

	memset(&b, 0, sizeof(b));
	memset(groups, 0, sizeof(groups));
	b.g = g;
	b.start = gb_graph__now(g);
	g->hook = budget_hook;
	g->hook_ud = &b;
	gb_graph_set_max_concurrency(g, 8);
	gb_graph_set_batching(g, batching);
	for (i = 0; i < 100; i++) {
		snprintf(ids[i], sizeof(ids[i]), "aaaaaaaa-1111-4111-8111-%012zx", i);
		groups[i].id = ids[i];
		ptrs[i] = &groups[i];
	}
	cr_assert_eq(gb_graph_read_members_many(g, ptrs, 100, 0, &failed, &err), 0, "%s", err.msg);
	cr_assert_eq(b.served, 100);
	for (i = 0; i < 100; i++)
		cr_assert(groups[i].members_read && groups[i].nmembers == 1, "group %zu", i);
	cr_assert(b.max_over <= 8, "%u refused in one budget window: more than one window (8) past the budget", b.max_over);
	cr_assert(gb_graph_get_stats(g)->throttled_429 > 0, "the budget was reached");
	cr_assert(gb_graph_get_stats(g)->peak_in_flight <= 8);
	for (i = 0; i < 100; i++) {
		groups[i].id = NULL;
		gb_cloud_group_clear(&groups[i]);
	}
	SCRIPT_END();
}

Test(graph_engine, a_budget_is_exceeded_by_at_most_one_window_of_batch_parts)
{
	run_budget(true);
}

Test(graph_engine, a_budget_is_exceeded_by_at_most_one_window_of_requests)
{
	run_budget(false);
}

/* The window starts at GB_GRAPH_START_WINDOW and grows by every success, never beyond the successes so far (what the
 * server has shown it grants) nor max_concurrency, until the first sign of throttling; after it, back by one per
 * window's worth, to GB_GRAPH_START_WINDOW at most. */
Test(graph_engine, the_window_grows_fast_until_the_first_sign_of_throttling)
{
	SCRIPT_START(NULL, 0);

	gb_graph_set_max_concurrency(g, 100);
	cr_assert_eq(g->window, GB_GRAPH_START_WINDOW, "a first burst is at most %u requests", GB_GRAPH_START_WINDOW);
	gb_graph__adapt(g, gb_graph__now(g), false, 0, 20);
	gb_graph__adapt(g, gb_graph__now(g), false, 0, 20);
	cr_assert_eq(g->window, 40, "no more in flight than the 40 granted so far");
	gb_graph__adapt(g, gb_graph__now(g), false, 0, 40);
	cr_assert_eq(g->window, 80, "80 granted: 80 in flight");
	gb_graph__adapt(g, gb_graph__now(g), false, 0, 40);
	cr_assert_eq(g->window, 100, "never beyond max_concurrency");
	gb_graph__adapt(g, gb_graph__now(g), true, 0, 0);
	cr_assert_eq(g->window, 50, "a 429 halves it");
	gb_graph__adapt(g, gb_graph__now(g), false, 0, 200);
	cr_assert_eq(g->window, 50, "after a 429 it does not grow above the starting window");
	gb_graph__adapt(g, gb_graph__now(g), true, 0, 0);
	cr_assert_eq(g->window, 25);
	gb_graph__adapt(g, gb_graph__now(g), false, 0, 24);
	cr_assert_eq(g->window, 25, "one per window's worth of successes");
	gb_graph__adapt(g, gb_graph__now(g), false, 0, 1);
	cr_assert_eq(g->window, 26);
	gb_graph_set_max_concurrency(g, 8);
	cr_assert_eq(g->window, 8, "a lower maximum applies at once");
	SCRIPT_END();
}

Test(graph_engine, a_throttle_percentage_of_0_8_ends_the_fast_growth)
{
	SCRIPT_START(NULL, 0);

	gb_graph_set_max_concurrency(g, 100);
	gb_graph__adapt(g, gb_graph__now(g), false, 0.85, 10);
	cr_assert_eq(g->window, GB_GRAPH_START_WINDOW, "0.8 or more holds the window");
	gb_graph__adapt(g, gb_graph__now(g), false, 0, 200);
	cr_assert_eq(g->window, GB_GRAPH_START_WINDOW, "and it no longer grows beyond the starting window");
	gb_graph__adapt(g, gb_graph__now(g), false, 0.95, 0);
	cr_assert_eq(g->window, 30, "0.9 or more takes a quarter off");
	gb_graph__adapt(g, gb_graph__now(g), false, 0, 30);
	cr_assert_eq(g->window, 31);
	SCRIPT_END();
}
