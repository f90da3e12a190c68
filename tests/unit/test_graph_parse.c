/* Unit tests of the Graph client's pure parts: Retry-After, error bodies, JSON readers, delta pages, $batch. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/graph_int.h" /* the public graph.h plus the private helpers tested at the end */
#include "groupbridge/log.h"
#include "groupbridge/util.h"
#include "support/testfs.h"
#include <unistd.h>

/* ---- Retry-After ---- */

Test(retry_after, delta_seconds)
{
	long s = -1;

	cr_assert_eq(gb_graph_parse_retry_after("0", 1000, &s), 0);
	cr_assert_eq(s, 0);
	cr_assert_eq(gb_graph_parse_retry_after("120", 1000, &s), 0);
	cr_assert_eq(s, 120);
	cr_assert_eq(gb_graph_parse_retry_after("315", 1000, &s), 0);
	cr_assert_eq(s, 315);
}

Test(retry_after, http_dates_in_all_three_formats)
{
	/* Sun, 06 Nov 1994 08:49:37 GMT is 784111777. */
	long s = -1;
	time_t now = 784111777 - 30;

	cr_assert_eq(gb_graph_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now, &s), 0);
	cr_assert_eq(s, 30);
	cr_assert_eq(gb_graph_parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", now, &s), 0);
	cr_assert_eq(s, 30);
	cr_assert_eq(gb_graph_parse_retry_after("Sun Nov  6 08:49:37 1994", now, &s), 0);
	cr_assert_eq(s, 30);
	cr_assert_eq(gb_graph_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 + 100, &s), 0);
	cr_assert_eq(s, 0, "a date in the past means no wait");
}

Test(retry_after, garbage_is_refused)
{
	const char *bad[] = {"", "-5", "5s", " 5x", "soon", "1.5", "99999999999", "Sun, 06 Nov 1994 08:49:37",
			     "Sun, 32 Nov 1994 08:49:37 GMT", "Xyz, 06 Nov 1994 08:49:37 GMT",
			     "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 06 Nov 1994 25:49:37 GMT",
			     "Sun, 06 Nov 1994 08:49:37 GMT trailing"};
	size_t i;
	long s = 77;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(gb_graph_parse_retry_after(bad[i], 0, &s), GB_EPARSE, "\"%s\" was accepted", bad[i]);
	cr_assert_eq(gb_graph_parse_retry_after(NULL, 0, &s), GB_EPARSE);
	cr_assert_eq(s, 77, "the output is untouched on failure");
}

/* ---- error bodies ---- */

Test(graph_error, graph_error_body_names_code_message_and_request_id)
{
	const char *body = "{\"error\":{\"code\":\"Request_ResourceNotFound\",\"message\":\"Resource 'abc' does not "
			   "exist.\",\"innerError\":{\"date\":\"2026-11-24T08:00:00\",\"request-id\":\"rid-1\","
			   "\"client-request-id\":\"crid-1\"}}}";
	char d[512];

	gb_graph_describe_error(404, body, strlen(body), d, sizeof(d));
	cr_assert_str_eq(d, "404 Request_ResourceNotFound: Resource 'abc' does not exist. (request-id rid-1)");
	cr_assert_eq(gb_graph_status_code(404), GB_ENOTFOUND);
	cr_assert_eq(gb_graph_status_code(403), GB_EAUTH);
	cr_assert_eq(gb_graph_status_code(409), GB_EEXISTS);
	cr_assert_eq(gb_graph_status_code(400), GB_EGRAPH);
	cr_assert_eq(gb_graph_status_code(502), GB_ERETRY);
	cr_assert_eq(gb_graph_status_code(204), 0);
}

Test(graph_error, token_endpoint_errors_keep_the_first_line)
{
	const char *body = "{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000215: Invalid client secret "
			   "provided.\\r\\nTrace ID: t\\r\\nCorrelation ID: c\",\"error_codes\":[7000215]}";
	char d[512];

	gb_graph_describe_error(401, body, strlen(body), d, sizeof(d));
	cr_assert_str_eq(d, "401 invalid_client: AADSTS7000215: Invalid client secret provided.");
}

Test(graph_error, bodies_that_are_not_errors_are_described_plainly)
{
	char d[512];

	gb_graph_describe_error(502, "<html>bad gateway</html>", 24, d, sizeof(d));
	cr_assert_str_eq(d, "HTTP 502 with a body that is not a Graph error");
	gb_graph_describe_error(500, NULL, 0, d, sizeof(d));
	cr_assert_str_eq(d, "HTTP 500 with a body that is not a Graph error");
	gb_graph_describe_error(400, "{\"error\":{}}", 12, d, 16);
	cr_assert_eq(strlen(d), 15, "bounded by the destination");
}

Test(graph_error, malformed_and_truncated_json_name_the_request)
{
	json_t *j = (json_t *)1;
	gb_error err;

	cr_assert_eq(gb_graph_parse_json("GET /v1.0/groups", "{\"value\":[{\"id\":", 16, &j, &err), GB_EPARSE);
	cr_assert_null(j);
	cr_assert(strstr(err.msg, "GET /v1.0/groups: malformed JSON") == err.msg, "%s", err.msg);
	cr_assert_eq(gb_graph_parse_json("GET /x", "{\"a\":1}}", 8, &j, &err), GB_EPARSE);
	cr_assert_eq(gb_graph_parse_json("GET /x", "{\"a\":1}", 7, &j, &err), 0);
	json_decref(j);
}

/* ---- readers ---- */

Test(graph_json, group_with_extension_and_tristates)
{
	const char *text = "{\"id\":\"11111111-1111-4111-8111-000000000001\",\"displayName\":\"Sales\",\"description\":null,\"securityEnabled\":true,"
			   "\"mailEnabled\":false,\"groupTypes\":[\"Unified\",\"DynamicMembership\"],"
			   "\"onPremisesSyncEnabled\":null,\"onPremisesSecurityIdentifier\":\"S-1-5-21-1-2-3-1105\","
			   "\"extension_0123456789abcdef0123456789abcdef_GroupDN\":\"CN=Sales,OU=G,DC=x\"}";
	json_t *o = json_loads(text, 0, NULL);
	gb_cloud_group g;
	gb_error err;

	cr_assert_eq(gb_graph_group_from_json(o, "extension_0123456789abcdef0123456789abcdef_GroupDN", &g, &err), 0,
		     "%s", err.msg);
	cr_assert_str_eq(g.id, "11111111-1111-4111-8111-000000000001");
	cr_assert_str_eq(g.display_name, "Sales");
	cr_assert_null(g.description);
	cr_assert_eq(g.security_enabled, GB_TRI_TRUE);
	cr_assert_eq(g.mail_enabled, GB_TRI_FALSE);
	cr_assert_eq(g.on_prem_sync_enabled, GB_TRI_UNKNOWN);
	cr_assert(g.unified && g.dynamic);
	cr_assert_str_eq(g.on_prem_sid, "S-1-5-21-1-2-3-1105");
	cr_assert_str_eq(g.group_dn_ext, "CN=Sales,OU=G,DC=x");
	cr_assert(!g.deleted && !g.changed_out);
	gb_cloud_group_clear(&g);
	json_decref(o);
}

Test(graph_json, wrong_types_are_parse_errors_naming_the_object)
{
	json_t *o = json_loads("{\"id\":\"22222222-2222-4222-8222-000000000002\",\"securityEnabled\":\"yes\"}", 0, NULL);
	gb_cloud_group g;
	gb_cloud_user u;
	gb_member_ref m;
	gb_error err;

	cr_assert_eq(gb_graph_group_from_json(o, NULL, &g, &err), GB_EPARSE);
	cr_assert(strstr(err.msg, "group 22222222-2222-4222-8222-000000000002") && strstr(err.msg, "securityEnabled"), "%s", err.msg);
	cr_assert_null(g.id);
	json_decref(o);
	o = json_loads("{\"displayName\":\"no id\"}", 0, NULL);
	cr_assert_eq(gb_graph_group_from_json(o, NULL, &g, &err), GB_EPARSE);
	cr_assert_eq(gb_graph_user_from_json(o, &u, &err), GB_EPARSE);
	cr_assert_eq(gb_graph_member_from_json(o, &m, &err), GB_EPARSE);
	json_decref(o);
}

Test(graph_json, users_and_member_kinds)
{
	json_t *o = json_loads("{\"id\":\"33333333-3333-4333-8333-000000000001\",\"userPrincipalName\":\"a@x\",\"onPremisesObjectIdentifier\":"
			       "\"8a0e4f6d-1c5e-4d8c-9b7e-1f2a3b4c5d6e\",\"onPremisesSyncEnabled\":true}",
			       0, NULL);
	const char *types[] = {"#microsoft.graph.user", "#microsoft.graph.group", "#microsoft.graph.device",
			       "#microsoft.graph.orgContact", "#microsoft.graph.servicePrincipal", "#microsoft.graph.x"};
	gb_object_kind want[] = {GB_KIND_USER, GB_KIND_GROUP, GB_KIND_DEVICE, GB_KIND_CONTACT,
				 GB_KIND_SERVICE_PRINCIPAL, GB_KIND_OTHER};
	gb_cloud_user u;
	size_t i;

	cr_assert_eq(gb_graph_user_from_json(o, &u, NULL), 0);
	cr_assert_str_eq(u.on_prem_object_id, "8a0e4f6d-1c5e-4d8c-9b7e-1f2a3b4c5d6e");
	cr_assert_eq(u.on_prem_sync_enabled, GB_TRI_TRUE);
	cr_assert(!u.deleted);
	gb_cloud_user_clear(&u);
	json_decref(o);
	for (i = 0; i < 6; i++) {
		gb_member_ref m;
		json_t *mo = json_pack("{s:s, s:s}", "@odata.type", types[i], "id", "m");
		cr_assert_eq(gb_graph_member_from_json(mo, &m, NULL), 0);
		cr_assert_eq(m.kind, want[i], "%s", types[i]);
		free(m.id);
		json_decref(mo);
	}
}

/* ---- delta ---- */

typedef struct seen {
	int resets, records;
	char log[2048];
} seen;

static int on_gdelta(const gb_graph_group_delta *d, void *ud, gb_error *err)
{
	seen *s = ud;
	size_t i;

	(void)err;
	if (!d) {
		s->resets++;
		return 0;
	}
	s->records++;
	gb_testfs_appendf(s->log, sizeof(s->log), "[%s%s%s", d->group.id, d->group.deleted ? " deleted" : "",
			  d->group.changed_out ? " changed" : "");
	for (i = 0; i < d->nadded; i++)
		gb_testfs_appendf(s->log, sizeof(s->log), " +%s:%s", gb_object_kind_name(d->added[i].kind),
				  d->added[i].id);
	for (i = 0; i < d->nremoved; i++)
		gb_testfs_appendf(s->log, sizeof(s->log), " -%s", d->removed[i].id);
	gb_testfs_appendf(s->log, sizeof(s->log), "]");
	return 0;
}

Test(graph_delta, members_added_removed_and_removed_groups)
{
	const char *text =
		"{\"@odata.context\":\"x\",\"@odata.deltaLink\":\"https://g/v1.0/groups/delta?$deltatoken=abc\","
		"\"value\":[{\"displayName\":\"TestGroup3\",\"id\":\"2e580000-0000-4000-8000-000000000000\",\"members@delta\":["
		"{\"@odata.type\":\"#microsoft.graph.user\",\"id\":\"632f\",\"@removed\":{\"reason\":\"deleted\"}},"
		"{\"@odata.type\":\"#microsoft.graph.user\",\"id\":\"37de\"},"
		"{\"@odata.type\":\"#microsoft.graph.group\",\"id\":\"9999\"}]},"
		"{\"id\":\"dead0000-0000-4000-8000-000000000000\",\"@removed\":{\"reason\":\"deleted\"}},"
		"{\"id\":\"50f70000-0000-4000-8000-000000000000\",\"@removed\":{\"reason\":\"changed\"}}]}";
	json_t *page = json_loads(text, 0, NULL);
	seen s = {0};
	char *next = NULL, *delta = NULL;
	gb_error err;

	cr_assert_eq(gb_graph_delta_parse_groups(page, NULL, on_gdelta, &s, &next, &delta, &err), 0, "%s", err.msg);
	cr_assert_null(next);
	cr_assert_str_eq(delta, "https://g/v1.0/groups/delta?$deltatoken=abc");
	cr_assert_str_eq(s.log, "[2e580000-0000-4000-8000-000000000000 +user:37de +group:9999 -632f][dead0000-0000-4000-8000-000000000000 deleted][50f70000-0000-4000-8000-000000000000 changed]");
	free(delta);
	json_decref(page);
}

static int on_flags(const gb_graph_group_delta *d, void *ud, gb_error *err)
{
	(void)err;
	gb_testfs_appendf(ud, 256, "[...%s%s%s]", d->group.id + 32, d->complete ? " complete" : "",
			  d->members_delta ? " members" : "");
	return 0;
}

Test(graph_delta, a_record_says_whether_it_carries_every_property_and_members)
{
	const char *text =
		"{\"@odata.deltaLink\":\"d\",\"value\":["
		"{\"id\":\"f0000000-0000-4000-8000-000000000001\",\"displayName\":\"A\",\"description\":null,\"securityEnabled\":true,"
		"\"mailEnabled\":false,\"groupTypes\":[],\"onPremisesSyncEnabled\":null,"
		"\"onPremisesSecurityIdentifier\":null,\"members@delta\":[]},"
		"{\"id\":\"f0000000-0000-4000-8000-000000000002\",\"displayName\":\"B\",\"description\":null,\"securityEnabled\":true,"
		"\"mailEnabled\":false,\"groupTypes\":[],\"onPremisesSyncEnabled\":null,"
		"\"onPremisesSecurityIdentifier\":null},"
		"{\"id\":\"f0000000-0000-4000-8000-000000000003\",\"displayName\":\"C\",\"members@delta\":[{\"id\":\"u\"}]}]}";
	json_t *page = json_loads(text, 0, NULL);
	char log[256] = "", *next = NULL, *delta = NULL;
	gb_error err;

	cr_assert_eq(gb_graph_delta_parse_groups(page, NULL, on_flags, log, &next, &delta, &err), 0, "%s", err.msg);
	cr_assert_str_eq(log, "[...0001 complete members][...0002 complete][...0003 members]");
	free(delta);
	json_decref(page);
}

Test(graph_delta, a_page_needs_exactly_one_link)
{
	json_t *p1 = json_loads("{\"value\":[]}", 0, NULL);
	json_t *p2 = json_loads("{\"value\":[],\"@odata.nextLink\":\"n\",\"@odata.deltaLink\":\"d\"}", 0, NULL);
	json_t *p3 = json_loads("{\"value\":[],\"@odata.nextLink\":\"n\"}", 0, NULL);
	json_t *p4 = json_loads("{\"@odata.nextLink\":\"n\"}", 0, NULL);
	seen s = {0};
	char *next = NULL, *delta = NULL;

	cr_assert_eq(gb_graph_delta_parse_groups(p1, NULL, on_gdelta, &s, &next, &delta, NULL), GB_EPARSE);
	cr_assert_eq(gb_graph_delta_parse_groups(p2, NULL, on_gdelta, &s, &next, &delta, NULL), GB_EPARSE);
	cr_assert_eq(gb_graph_delta_parse_groups(p4, NULL, on_gdelta, &s, &next, &delta, NULL), GB_EPARSE);
	cr_assert_eq(gb_graph_delta_parse_groups(p3, NULL, on_gdelta, &s, &next, &delta, NULL), 0);
	cr_assert_str_eq(next, "n");
	cr_assert_null(delta);
	free(next);
	json_decref(p1);
	json_decref(p2);
	json_decref(p3);
	json_decref(p4);
}

static int on_udelta(const gb_cloud_user *u, void *ud, gb_error *err)
{
	seen *s = ud;
	size_t l = strlen(s->log);

	(void)err;
	snprintf(s->log + l, sizeof(s->log) - l, "[%s %s%s]", u->id, u->on_prem_object_id ? u->on_prem_object_id : "-",
		 u->deleted ? " deleted" : "");
	return 0;
}

Test(graph_delta, users_carry_on_premises_object_identifier_changes)
{
	json_t *page = json_loads("{\"@odata.nextLink\":\"next\",\"value\":[{\"id\":\"44444444-4444-4444-8444-000000000001\",\"onPremisesObjectIdentifier\":"
				  "\"guid-1\"},{\"id\":\"44444444-4444-4444-8444-000000000002\",\"@removed\":{\"reason\":\"changed\"}}]}",
				  0, NULL);
	seen s = {0};
	char *next = NULL, *delta = NULL;

	cr_assert_eq(gb_graph_delta_parse_users(page, on_udelta, &s, &next, &delta, NULL), 0);
	cr_assert_str_eq(s.log, "[44444444-4444-4444-8444-000000000001 guid-1][44444444-4444-4444-8444-000000000002 - deleted]");
	cr_assert_str_eq(next, "next");
	free(next);
	json_decref(page);
}

Test(graph_delta, expiry_is_410_or_a_resync_code)
{
	const char *a = "{\"error\":{\"code\":\"syncStateNotFound\",\"message\":\"x\"}}";
	const char *b = "{\"error\":{\"code\":\"resyncRequired\",\"message\":\"x\"}}";
	const char *c = "{\"error\":{\"code\":\"Request_BadRequest\",\"message\":\"x\"}}";

	cr_assert(gb_graph_delta_is_expired(410, NULL, 0));
	cr_assert(gb_graph_delta_is_expired(400, a, strlen(a)));
	cr_assert(gb_graph_delta_is_expired(400, b, strlen(b)));
	cr_assert(!gb_graph_delta_is_expired(400, c, strlen(c)));
	cr_assert(!gb_graph_delta_is_expired(500, a, strlen(a)));
	cr_assert(!gb_graph_delta_is_expired(200, NULL, 0));
}

/* ---- $batch ---- */

Test(graph_batch, build_uses_indexes_as_ids_and_wraps_bodies)
{
	gb_graph_batch_item items[3] = {{.method = "GET", .url = "/groups/a"},
					{.method = "PATCH", .url = "/groups/b", .body = "{\"description\":\"d\"}"},
					{.method = "DELETE", .url = "/groups/c"}};
	size_t idx[2] = {1, 2};
	char *text = NULL;
	json_t *root, *reqs;

	cr_assert_eq(gb_graph_batch_build(items, idx, 2, &text, NULL), 0);
	root = json_loads(text, 0, NULL);
	reqs = json_object_get(root, "requests");
	cr_assert_eq(json_array_size(reqs), 2);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(reqs, 0), "id")), "1");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(reqs, 0), "method")), "PATCH");
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(json_array_get(reqs, 0), "headers"),
							   "Content-Type")),
			 "application/json");
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(json_array_get(reqs, 0), "body"),
							   "description")),
			 "d");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(reqs, 1), "id")), "2");
	cr_assert_null(json_object_get(json_array_get(reqs, 1), "body"));
	free(text);
	json_decref(root);
	items[0].body = "{not json";
	idx[0] = 0;
	cr_assert_eq(gb_graph_batch_build(items, idx, 1, &text, NULL), GB_EINVAL);
}

Test(graph_batch, more_than_twenty_is_refused_by_the_builder)
{
	gb_graph_batch_item items[21];
	size_t idx[21], i;
	char *text = NULL;

	for (i = 0; i < 21; i++) {
		memset(&items[i], 0, sizeof(items[i]));
		items[i].method = "GET";
		items[i].url = "/groups/x";
		idx[i] = i;
	}
	cr_assert_eq(gb_graph_batch_build(items, idx, 21, &text, NULL), GB_EINVAL);
	cr_assert_null(text);
}

Test(graph_batch, parse_sets_each_part_out_of_order)
{
	gb_graph_batch_item items[3] = {{.method = "GET", .url = "/groups/a"},
					{.method = "GET", .url = "/groups/b"},
					{.method = "GET", .url = "/groups/c"}};
	const char *reply =
		"{\"responses\":[{\"id\":\"2\",\"status\":200,\"headers\":{},\"body\":{\"id\":\"c\"}},"
		"{\"id\":\"0\",\"status\":404,\"body\":{\"error\":{\"code\":\"Request_ResourceNotFound\",\"message\":"
		"\"gone\"}}},"
		"{\"id\":\"1\",\"status\":429,\"headers\":{\"retry-after\":\"7\"},\"body\":{\"error\":{\"code\":"
		"\"TooManyRequests\",\"message\":\"slow down\"}}}]}";
	long ra = 0;
	gb_error err;

	cr_assert_eq(gb_graph_batch_parse(reply, strlen(reply), items, 3, &ra, &err), 0, "%s", err.msg);
	cr_assert_eq(items[0].status, 404);
	cr_assert_str_eq(items[0].error, "GET /groups/a (batch part 0): 404 Request_ResourceNotFound: gone");
	cr_assert_eq(items[1].status, 429);
	cr_assert_eq(items[2].status, 200);
	cr_assert_str_eq(items[2].response, "{\"id\":\"c\"}");
	cr_assert_str_eq(items[2].error, "");
	cr_assert_eq(ra, 7);
	gb_graph_batch_clear(items, 3);
	cr_assert_null(items[2].response);
}

Test(graph_batch, parse_refuses_unknown_ids_and_malformed_replies)
{
	gb_graph_batch_item items[1] = {{.method = "GET", .url = "/groups/a"}};
	const char *r1 = "{\"responses\":[{\"id\":\"5\",\"status\":200}]}";
	const char *r2 = "{\"responses\":[{\"id\":\"0\",\"status\":200}";
	const char *r3 = "{\"responses\":[{\"id\":\"00\",\"status\":200}]}";
	long ra;

	cr_assert_eq(gb_graph_batch_parse(r1, strlen(r1), items, 1, &ra, NULL), GB_EPARSE);
	cr_assert_eq(gb_graph_batch_parse(r2, strlen(r2), items, 1, &ra, NULL), GB_EPARSE);
	cr_assert_eq(gb_graph_batch_parse(r3, strlen(r3), items, 1, &ra, NULL), GB_EPARSE);
	gb_graph_batch_clear(items, 1);
}

Test(graph_client, configuration_errors_and_extension_names)
{
	gb_config *cfg = NULL;
	gb_graph *g = NULL;
	gb_error err;
	char path[64], text[1024];

	gb_testfs_mkstemp(path, sizeof(path), "graph-secret", "s3cr3t-value\n");
	snprintf(text, sizeof(text),
		 "[graph]\ntenant_id = t1\nclient_id = c1\nclient_secret_file = %s\n"
		 "graph_url = https://graph.example/\nauthority_url = https://login.example\n",
		 path);
	cr_assert_eq(gb_config_parse("t.ini", text, &cfg, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_graph_new(cfg, &g, &err), 0, "%s", err.msg);
	{
		char red[64];
		gb_log_redact("x s3cr3t-value y", red, sizeof(red));
		cr_assert_str_eq(red, "x [secret] y", "the secret is registered for redaction");
	}
	cr_assert_eq(gb_graph_set_group_extension(g, "extension_0123456789abcdef0123456789abcdef_GroupDN", &err), 0);
	cr_assert_eq(gb_graph_set_group_extension(g, "extension_xyz_GroupDN", &err), GB_EINVAL);
	cr_assert_eq(gb_graph_set_group_extension(g, "GroupDN", &err), GB_EINVAL);
	{
		gb_graph_response *r = NULL;
		cr_assert_eq(gb_graph_request(g, "GET", "https://evil.example/v1.0/groups", NULL, NULL, &r, &err),
			     GB_EINVAL, "a token is never sent outside graph_url");
		cr_assert_null(r);
	}
	gb_graph_free(g);
	gb_config_free(cfg);
	unlink(path);
	gb_config_free(NULL);
	gb_graph_free(NULL);
}

/* ---- the wait budget and backoff (private helpers, from graph/graph_int.h) ---- */

Test(graph_throttle, backoff_doubles_with_jitter_in_the_upper_half_and_is_capped)
{
	unsigned a;
	int i;

	for (a = 0; a < 12; a++) {
		int64_t full = a >= 5 ? 32000 : (int64_t)1000 << a, lo = full, hi = 0;
		for (i = 0; i < 200; i++) {
			int64_t ms = gb_graph__backoff_ms(a);
			cr_assert(ms >= full / 2 && ms <= full, "attempt %u gave %lld ms", a, (long long)ms);
			if (ms < lo)
				lo = ms;
			if (ms > hi)
				hi = ms;
		}
		cr_assert(hi > lo, "attempt %u: no jitter", a);
	}
}

Test(graph_throttle, the_budget_refuses_a_wait_that_would_exceed_it_without_waiting)
{
	gb_graph g;
	gb_error err;
	int64_t t0;

	memset(&g, 0, sizeof(g));
	g.max_wait_ms = 10000;
	g.time_scale = 0.001;
	cr_assert_eq(gb_graph__wait(&g, 4000, "GET /a", &err), 0);
	cr_assert_eq(gb_graph__wait(&g, 6000, "GET /a", &err), 0);
	cr_assert_eq(g.stats.wait_ms, 10000);
	g.time_scale = 1.0;
	t0 = gb_time_mono_ms();
	cr_assert_eq(gb_graph__wait(&g, 1000, "GET /b", &err), GB_ETHROTTLED);
	cr_assert(gb_time_mono_ms() - t0 < 500, "refused without sleeping");
	cr_assert(strstr(err.msg, "GET /b: still throttled after 10 s") == err.msg, "%s", err.msg);
	cr_assert(strstr(err.msg, "run again later to resume") != NULL, "%s", err.msg);
	cr_assert_eq(g.stats.wait_ms, 10000);
}
