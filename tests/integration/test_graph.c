/* Integration tests of the Graph client against the Graph fake (tests/testbed/graph_fake.py). Every test starts a
 * fake of its own with a tenant written here, so tests can run in parallel. Waits are shrunk with
 * gb_graph_set_time_scale; the throttling logic and its budget still count the full waits, and the tests assert
 * on those logical figures. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "graph/graph_int.h" /* graph.h, plus g->token for the redaction test */
#include "groupbridge/log.h"
#include "groupbridge/store.h"
#include "groupbridge/util.h"
#include "support/graphfake.h"

#define TENANT "7d1c2f4e-5a6b-4c8d-9e0f-112233445566"
#define CLIENT "0a1b2c3d-4e5f-4a6b-8c7d-8e9fa0b1c2d3"
#define SECRET "graph-client-secret-do-not-log-9f8e7d"
#define BIG "aaaaaaaa-1111-4111-8111-000000000001"
#define MIXED "aaaaaaaa-1111-4111-8111-000000000002"
#define SYNCED "aaaaaaaa-1111-4111-8111-000000000003"
#define GONE "aaaaaaaa-1111-4111-8111-0000000000ff"
#define U1 "bbbbbbbb-2222-4222-8222-000000000001"
#define U2 "bbbbbbbb-2222-4222-8222-000000000002"
#define DEV "cccccccc-3333-4333-8333-000000000001"
#define CON "dddddddd-4444-4444-8444-000000000001"
#define SP "eeeeeeee-5555-4555-8555-000000000001"
#define SPAPP "eeeeeeee-5555-4555-8555-0000000000aa"
#define ROLE "1a0abf4d-b9fa-4512-a3a2-51ee82c6fd9f"
#define EXT "extension_0123456789abcdef0123456789abcdef_GroupDN"

static const char *tenant_json =
	"{\"tenant_id\": \"" TENANT "\", \"page_size\": 100,"
	" \"clients\": [{\"client_id\": \"" CLIENT "\", \"secret\": \"" SECRET "\"}],"
	" \"users\": ["
	"  {\"id\": \"" U1 "\", \"displayName\": \"User One\", \"userPrincipalName\": \"one@test.example\","
	"   \"onPremisesObjectIdentifier\": \"0f0e0d0c-0b0a-4908-8706-050403020100\", \"onPremisesSyncEnabled\": true},"
	"  {\"id\": \"" U2 "\", \"displayName\": \"User Two\", \"userPrincipalName\": \"two@test.example\","
	"   \"onPremisesObjectIdentifier\": null}],"
	" \"devices\": [{\"id\": \"" DEV "\", \"displayName\": \"Laptop\", \"deviceId\": \"d1\"}],"
	" \"orgContacts\": [{\"id\": \"" CON "\", \"displayName\": \"Contact\", \"mail\": \"c@example.org\"}],"
	" \"servicePrincipals\": [{\"id\": \"" SP "\", \"appId\": \"" SPAPP "\", \"displayName\": \"Cloud Sync\","
	"   \"appRoles\": [{\"id\": \"" ROLE "\", \"value\": \"Group\", \"displayName\": \"Group\","
	"                   \"allowedMemberTypes\": [\"User\"]}],"
	"   \"synchronization\": {\"jobs\": [{\"id\": \"AAD2ADGroupProvisioning.abc\", \"templateId\": \"t\","
	"                                      \"on_demand_result\": \"Success\"}]}}],"
	" \"groups\": ["
	"  {\"id\": \"" BIG "\", \"displayName\": \"Big\", \"securityEnabled\": true, \"mailEnabled\": false,"
	"   \"groupTypes\": [], \"generate_members\": {\"count\": 5000, \"id_prefix\": \"ffffffff-0000-4000-8000-\","
	"   \"type\": \"user\", \"on_premises\": \"alternate\"}},"
	"  {\"id\": \"" MIXED "\", \"displayName\": \"Mixed\", \"description\": \"all kinds\", \"securityEnabled\": true,"
	"   \"mailEnabled\": false, \"groupTypes\": [], \"" EXT "\": \"CN=Mixed,OU=Groups,DC=test,DC=example\","
	"   \"writebackConfiguration\": {\"isEnabled\": true, \"onPremisesGroupType\": \"universalSecurityGroup\"},"
	"   \"onPremisesSyncBehavior\": {\"isCloudManaged\": false},"
	"   \"members\": [\"" U1 "\", \"" U2 "\", \"" SYNCED "\", \"" DEV "\", \"" CON "\", \"" SP "\"]},"
	"  {\"id\": \"" SYNCED "\", \"displayName\": \"Synced\", \"securityEnabled\": true, \"mailEnabled\": false,"
	"   \"groupTypes\": [], \"onPremisesSyncEnabled\": true,"
	"   \"onPremisesSecurityIdentifier\": \"S-1-5-21-1-2-3-1105\", \"members\": [\"" U1 "\"]}],"
	" \"onPremisesSynchronization\": {\"features\": {\"groupWriteBackEnabled\": true,"
	"   \"blockCloudObjectTakeoverThroughHardMatchEnabled\": false}}"
	"}";

/* ---- fixtures ---- */

typedef struct env env;

typedef struct counter {
	size_t n, kinds[GB_KIND_OTHER + 1];
	env *e;
	size_t expire_at; /* expire every token when this many members were seen (0: never) */
	char last[64];
} counter;

/* A test's Graph client on a fake of its own, with what most tests keep beside it: a counter of listed members,
 * the error of the last call, and for the delta tests a state database (start_delta). */
struct env {
	gb_fake *fake;
	gb_config *cfg;
	gb_graph *g;
	counter c;
	gb_error err;
	gb_store *st;
	char store_path[512];
};

static void start(env *e, long max_wait)
{
	char text[4096];

	memset(e, 0, sizeof(*e));
	cr_assert_eq(gb_fake_start_json(tenant_json, &e->fake), 0, "the fake did not start");
	snprintf(text, sizeof(text),
		 "[graph]\ntenant_id = %s\nclient_id = %s\nclient_secret_file = %s\ngraph_url = %s\n"
		 "authority_url = %s\nca_file = %s\ntimeout = 30\nmax_throttle_wait = %ld\n",
		 e->fake->tenant_id, e->fake->client_id, e->fake->secret_file, e->fake->url, e->fake->authority_url,
		 e->fake->ca_file, max_wait);
	cr_assert_eq(gb_config_parse("test.ini", text, &e->cfg, &e->err), 0, "%s", e->err.msg);
	cr_assert_eq(gb_graph_new(e->cfg, &e->g, &e->err), 0, "%s", e->err.msg);
	gb_graph_set_time_scale(e->g, 0.001);
}

static void stop(env *e)
{
	gb_graph_free(e->g);
	gb_config_free(e->cfg);
	gb_fake_free(e->fake);
}

/* Sends a control request (path starts with "/_fake"); the parsed reply (NULL when empty) is the caller's. */
static json_t *ctl(env *e, const char *method, const char *path, const char *body)
{
	char *text = NULL;
	json_t *out = NULL;
	int status = gb_fake_control(e->fake, method, path + strlen("/_fake"), body, &text);

	cr_assert(status >= 200 && status < 300, "%s %s: %d %s", method, path, status, text ? text : "");
	if (text && *text)
		out = json_loads(text, 0, NULL);
	free(text);
	return out;
}

/* Counts log entries whose method matches and whose path contains needle (and whose status is status, or any
 * when status is 0). */
static size_t log_count(env *e, const char *method, const char *needle, long status)
{
	json_t *log = ctl(e, "GET", "/_fake/log", NULL), *v = json_object_get(log, "value"), *it;
	size_t i, n = 0;

	json_array_foreach(v, i, it) {
		const char *m = json_string_value(json_object_get(it, "method"));
		const char *p = json_string_value(json_object_get(it, "path"));
		if (m && p && strcmp(m, method) == 0 && strstr(p, needle) &&
		    (!status || json_integer_value(json_object_get(it, "status")) == status))
			n++;
	}
	json_decref(log);
	return n;
}

static void report(const char *what, env *e, int64_t ms)
{
	const gb_graph_stats *s = gb_graph_get_stats(e->g);

	fprintf(stderr,
		"graph-figures: %s: %lld ms, %lu requests (%lu token, %lu connections), %lu throttled, %lu auth "
		"retries, %lu net retries, logical wait %lld ms, slowdown %lld ms\n",
		what, (long long)ms, s->requests, s->token_requests, s->connections, s->throttled, s->auth_retries,
		s->net_retries, (long long)s->wait_ms, (long long)s->slowdown_ms);
}

static int count_member(const gb_member_ref *m, void *ud, gb_error *err)
{
	counter *c = ud;

	(void)err;
	c->n++;
	c->kinds[m->kind]++;
	snprintf(c->last, sizeof(c->last), "%s", m->id);
	if (c->expire_at && c->n == c->expire_at)
		json_decref(ctl(c->e, "POST", "/_fake/faults", "{\"expire_all_tokens\": true}"));
	return 0;
}

/* Sets the fake's fault rules to rules (a JSON object). */
static void faults(env *e, const char *rules)
{
	json_decref(ctl(e, "POST", "/_fake/faults", rules));
}

/* Lists BIG's members, 100 a page, counting them in e->c; what the list returned (the error in e->err). */
static int big_members(env *e)
{
	return gb_graph_list_members(e->g, BIG, 100, count_member, &e->c, &e->err);
}

/* Lists BIG's members, timed and named label in the figures: the list succeeds with every member once. */
static void read_big(env *e, const char *label)
{
	int64_t t0 = gb_time_mono_ms();

	cr_assert_eq(big_members(e), 0, "%s", e->err.msg);
	report(label, e, gb_time_mono_ms() - t0);
	cr_assert_eq(e->c.n, 5000, "every member once, none lost or repeated across retries");
}

/* ---- paging ---- */

Test(graph_fake, reads_5000_members_with_a_page_size_of_100)
{
	env e;

	start(&e, 900);
	read_big(&e, "5000 members, page 100");
	cr_assert_eq(e.c.kinds[GB_KIND_USER], 5000);
	cr_assert_str_eq(e.c.last, "ffffffff-0000-4000-8000-000000001387", "the last generated member (index 4999)");
	cr_assert_eq(log_count(&e, "GET", "/members", 200), 50, "50 pages of 100");
	cr_assert_eq(log_count(&e, "POST", "/oauth2/v2.0/token", 200), 1, "one token for the whole read");
	cr_assert_eq(gb_graph_get_stats(e.g)->requests, 51);
	cr_assert_eq(gb_graph_get_stats(e.g)->connections, 1, "one connection reused for every request");
	stop(&e);
}

Test(graph_fake, members_come_with_their_kinds_and_groups_with_their_properties)
{
	env e;
	gb_cloud_group *grp = NULL, *all = NULL;
	size_t n = 0, i;

	start(&e, 900);
	cr_assert_eq(gb_graph_list_members(e.g, MIXED, 2, count_member, &e.c, &e.err), 0, "%s", e.err.msg);
	cr_assert_eq(e.c.n, 6);
	cr_assert_eq(e.c.kinds[GB_KIND_USER], 2);
	cr_assert_eq(e.c.kinds[GB_KIND_GROUP], 1);
	cr_assert_eq(e.c.kinds[GB_KIND_DEVICE], 1);
	cr_assert_eq(e.c.kinds[GB_KIND_CONTACT], 1);
	cr_assert_eq(e.c.kinds[GB_KIND_SERVICE_PRINCIPAL], 1);
	cr_assert_eq(gb_graph_set_group_extension(e.g, EXT, &e.err), 0);
	cr_assert_eq(gb_graph_get_group(e.g, MIXED, &grp, &e.err), 0, "%s", e.err.msg);
	cr_assert_str_eq(grp->display_name, "Mixed");
	cr_assert_str_eq(grp->description, "all kinds");
	cr_assert_str_eq(grp->group_dn_ext, "CN=Mixed,OU=Groups,DC=test,DC=example");
	cr_assert_eq(grp->security_enabled, GB_TRI_TRUE);
	cr_assert_eq(grp->on_prem_sync_enabled, GB_TRI_UNKNOWN);
	gb_cloud_group_free(grp);
	cr_assert_eq(gb_graph_get_group(e.g, GONE, &grp, &e.err), GB_ENOTFOUND);
	cr_assert(strstr(e.err.msg, "GET /v1.0/groups/" GONE) == e.err.msg, "%s", e.err.msg);
	cr_assert(strstr(e.err.msg, "Request_ResourceNotFound") != NULL, "%s", e.err.msg);
	cr_assert(strstr(e.err.msg, "(request-id ") != NULL, "%s", e.err.msg);
	cr_assert_null(grp);
	cr_assert_eq(gb_graph_read_groups(e.g, "securityEnabled eq true", true, &all, &n, &e.err), 0, "%s", e.err.msg);
	cr_assert_eq(n, 3);
	for (i = 0; i < n; i++) {
		cr_assert(all[i].members_read);
		if (strcmp(all[i].id, SYNCED) == 0) {
			cr_assert_eq(all[i].on_prem_sync_enabled, GB_TRI_TRUE);
			cr_assert_str_eq(all[i].on_prem_sid, "S-1-5-21-1-2-3-1105");
			cr_assert_eq(all[i].nmembers, 1);
		}
		if (strcmp(all[i].id, BIG) == 0)
			cr_assert_eq(all[i].nmembers, 5000);
	}
	gb_graph_groups_free(all, n);
	stop(&e);
}

static int count_user(const gb_cloud_user *u, void *ud, gb_error *err)
{
	counter *c = ud;

	(void)err;
	if (u && strcmp(u->id, U1) == 0)
		cr_assert_str_eq(u->on_prem_object_id, "0f0e0d0c-0b0a-4908-8706-050403020100");
	c->n++;
	return 0;
}

Test(graph_fake, users_with_on_premises_object_identifier)
{
	env e;
	gb_cloud_user *u = NULL;

	start(&e, 900);
	cr_assert_eq(gb_graph_list_users(e.g, NULL, 999, count_user, &e.c, &e.err), 0, "%s", e.err.msg);
	cr_assert_eq(e.c.n, 5002, "2 listed users and the 5000 generated members");
	cr_assert_eq(log_count(&e, "GET", "/v1.0/users", 200), 6, "999 per page");
	cr_assert_eq(gb_graph_get_user(e.g, U2, &u, &e.err), 0, "%s", e.err.msg);
	cr_assert_null(u->on_prem_object_id);
	cr_assert_str_eq(u->user_principal_name, "two@test.example");
	gb_cloud_user_free(u);
	stop(&e);
}

/* ---- throttling ---- */

/* A fresh fake and client (start, max_wait 900 s) and a storm of faults (rules) while BIG's members are listed, named
 * label in the timing report: the list succeeds with every member once. */
static void storm(env *e, const char *label, const char *rules)
{
	start(e, 900);
	faults(e, rules);
	read_big(e, label);
}

Test(graph_fake, survives_a_storm_of_429_with_retry_after)
{
	env e;

	storm(&e, "429 storm with Retry-After 3",
	      "{\"rules\": [{\"method\": \"GET\", \"path_regex\": \"/members\", \"status\": 429, \"retry_after\": \"3\", "
	      "\"count\": 8, \"every\": 2}]}");
	cr_assert_eq(gb_graph_get_stats(e.g)->throttled, 8);
	cr_assert_eq(gb_graph_get_stats(e.g)->wait_ms, 8 * 3000, "Retry-After is honoured exactly");
	cr_assert_eq(log_count(&e, "GET", "/members", 429), 8);
	cr_assert_eq(log_count(&e, "GET", "/members", 200), 50);
	stop(&e);
}

Test(graph_fake, survives_a_storm_of_429_and_503_without_retry_after)
{
	env e;
	int64_t w;

	storm(&e, "429x4 + 503x2 storm without Retry-After",
	      "{\"rules\": [{\"method\": \"GET\", \"path_regex\": \"/members\", \"status\": 429, \"count\": 4},"
	      " {\"method\": \"GET\", \"path_regex\": \"/members\", \"status\": 503, \"count\": 2, \"skip\": 20}]}");
	cr_assert_eq(gb_graph_get_stats(e.g)->throttled, 6);
	/* exponential backoff with jitter in [half, full]: 1+2+4+8 s on the first page, then 1+2 s */
	w = gb_graph_get_stats(e.g)->wait_ms;
	cr_assert(w >= (15000 + 3000) / 2 && w <= 15000 + 3000, "backoff waits %lld ms", (long long)w);
	cr_assert_eq(log_count(&e, "GET", "/members", 429), 4);
	cr_assert_eq(log_count(&e, "GET", "/members", 503), 2);
	stop(&e);
}

Test(graph_fake, stops_cleanly_when_throttling_outlasts_the_wait_cap)
{
	env e;

	start(&e, 30);
	faults(&e, "{\"rules\": [{\"method\": \"GET\", \"path_regex\": \"/members\", \"status\": 429, "
	       "\"retry_after\": \"10\", \"count\": -1, \"skip\": 3}]}");
	cr_assert_eq(big_members(&e), GB_ETHROTTLED);
	cr_assert_eq(e.c.n, 300, "the pages before the storm were delivered");
	cr_assert(strstr(e.err.msg, "/members") != NULL, "%s", e.err.msg);
	cr_assert(strstr(e.err.msg, "run again later to resume") != NULL, "%s", e.err.msg);
	cr_assert_eq(gb_graph_get_stats(e.g)->wait_ms, 30000, "waited up to the cap, not beyond");
	cr_assert_eq(log_count(&e, "GET", "/members", 429), 4, "three waits of 10 s, then the fourth refused");
	stop(&e);
}

Test(graph_fake, slows_down_when_the_throttle_limit_percentage_is_high)
{
	env e;

	start(&e, 900);
	json_decref(ctl(&e, "POST", "/_fake/config", "{\"throttle_percentage\": \"1.2\"}"));
	cr_assert_eq(gb_graph_list_members(e.g, MIXED, 2, count_member, &e.c, &e.err), 0, "%s", e.err.msg);
	/* three pages: the reply to each of the first two reports 120 %, so 4 s pauses before pages 2 and 3 */
	cr_assert_eq(gb_graph_get_stats(e.g)->slowdown_ms, 8000);
	cr_assert_eq(gb_graph_get_stats(e.g)->wait_ms, 0, "pre-emptive pauses are not throttling waits");
	stop(&e);
}

/* ---- tokens ---- */

Test(graph_fake, renews_a_token_that_expires_in_the_middle_of_paging)
{
	env e;

	start(&e, 900);
	e.c.e = &e;
	e.c.expire_at = 2000;
	read_big(&e, "token expired at member 2000");
	cr_assert_eq(gb_graph_get_stats(e.g)->auth_retries, 1);
	cr_assert_eq(gb_graph_get_stats(e.g)->token_requests, 2);
	cr_assert_eq(log_count(&e, "GET", "/members", 401), 1);
	cr_assert_eq(log_count(&e, "POST", "/oauth2/v2.0/token", 200), 2);
	stop(&e);
}

Test(graph_fake, renews_a_short_lived_token_before_it_expires)
{
	env e;
	long left = 0;

	start(&e, 900);
	json_decref(ctl(&e, "POST", "/_fake/config", "{\"token_lifetime\": 8}"));
	cr_assert_eq(gb_graph_token(e.g, &left, &e.err), 0, "%s", e.err.msg);
	cr_assert(left <= 8);
	/* with 8 s tokens the client renews when 2 s are left: slow every page by 150 ms so the read spans ~8 s */
	faults(&e, "{\"rules\": [{\"method\": \"GET\", \"path_regex\": \"/members\", \"delay_ms\": 150, "
	       "\"count\": -1}]}");
	read_big(&e, "8 s tokens renewed while paging");
	cr_assert(gb_graph_get_stats(e.g)->token_requests >= 2, "renewed before expiry");
	cr_assert_eq(log_count(&e, "GET", "/members", 401), 0, "never sent an expired token");
	stop(&e);
}

Test(graph_fake, a_wrong_secret_is_an_authentication_error_naming_the_client)
{
	env e;
	char path[GB_FAKE_PATH_MAX];
	FILE *f;

	start(&e, 900);
	snprintf(path, sizeof(path), "%s", e.fake->secret_file);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("not-the-secret\n", f);
	fclose(f);
	chmod(path, 0600);
	gb_graph_free(e.g);
	cr_assert_eq(gb_graph_new(e.cfg, &e.g, &e.err), 0, "%s", e.err.msg);
	cr_assert_eq(gb_graph_token(e.g, NULL, &e.err), GB_EAUTH);
	cr_assert(strstr(e.err.msg, "/oauth2/v2.0/token") != NULL, "%s", e.err.msg);
	cr_assert(strstr(e.err.msg, CLIENT) != NULL, "%s", e.err.msg);
	cr_assert(strstr(e.err.msg, "invalid_client") != NULL, "%s", e.err.msg);
	cr_assert_null(strstr(e.err.msg, "not-the-secret"));
	stop(&e);
}

/* ---- malformed replies ---- */

static int ignore_group(const gb_cloud_group *g, void *ud, gb_error *err)
{
	(void)g;
	(void)ud;
	(void)err;
	return 0;
}

Test(graph_fake, malformed_and_truncated_json_are_clean_errors_naming_the_request)
{
	env e;

	start(&e, 900);
	faults(&e, "{\"rules\": [{\"method\": \"GET\", \"path_regex\": \"^/v1.0/groups\\\\?\", \"body\": "
	       "\"malformed\", \"count\": 1}]}");
	cr_assert_eq(gb_graph_list_groups(e.g, NULL, 0, ignore_group, NULL, &e.err), GB_EPARSE);
	cr_assert(strstr(e.err.msg, "GET /v1.0/groups?$select=") == e.err.msg, "%s", e.err.msg);
	cr_assert(strstr(e.err.msg, "malformed JSON") != NULL, "%s", e.err.msg);
	cr_assert(strstr(e.err.msg, "client-request-id") != NULL, "%s", e.err.msg);
	/* a transfer cut short is retried (it is a network failure) ... */
	faults(&e, "{\"clear\": true, \"rules\": [{\"method\": \"GET\", \"path_regex\": \"/members\", \"body\": "
	       "\"truncated\", \"count\": 1, \"skip\": 5}]}");
	read_big(&e, "a transfer cut short, retried");
	cr_assert_eq(gb_graph_get_stats(e.g)->net_retries, 1);
	/* ... and when it keeps happening the call fails naming the request */
	faults(&e, "{\"clear\": true, \"rules\": [{\"method\": \"GET\", \"path_regex\": \"/members\", \"body\": "
	       "\"truncated\", \"count\": -1}]}");
	cr_assert_eq(gb_graph_list_members(e.g, MIXED, 100, count_member, &e.c, &e.err), GB_ENET);
	cr_assert(strstr(e.err.msg, "GET /v1.0/groups/" MIXED "/members") == e.err.msg, "%s", e.err.msg);
	/* a body over the limit */
	gb_graph_set_max_body(e.g, 1000);
	cr_assert_eq(big_members(&e), GB_ETOOBIG);
	cr_assert(strstr(e.err.msg, "exceeds the limit of 1000 bytes") != NULL, "%s", e.err.msg);
	stop(&e);
}

/* ---- delta ---- */

typedef struct dlog {
	int resets;
	size_t records, added, removed;
	char text[8192];
} dlog;

static int on_delta(const gb_graph_group_delta *d, void *ud, gb_error *err)
{
	dlog *l = ud;
	size_t i, n = strlen(l->text);

	(void)err;
	if (!d) {
		l->resets++;
		return 0;
	}
	l->records++;
	l->added += d->nadded;
	l->removed += d->nremoved;
	if (strcmp(d->group.id, BIG) == 0)
		return 0; /* too many to print */
	n += (size_t)snprintf(l->text + n, sizeof(l->text) - n, "[%s%s%s", d->group.id + 24,
			      d->group.deleted ? " deleted" : "", d->group.changed_out ? " changed" : "");
	for (i = 0; i < d->nadded && n < sizeof(l->text); i++)
		n += (size_t)snprintf(l->text + n, sizeof(l->text) - n, " +%s", d->added[i].id + 24);
	for (i = 0; i < d->nremoved && n < sizeof(l->text); i++)
		n += (size_t)snprintf(l->text + n, sizeof(l->text) - n, " -%s", d->removed[i].id + 24);
	if (n < sizeof(l->text))
		snprintf(l->text + n, sizeof(l->text) - n, "]");
	return 0;
}

static gb_store *open_store(char *path, size_t n)
{
	gb_store *st = NULL;
	gb_error err;
	char dir[512];
	const char *tmp = getenv("GB_TEST_TMP");

	snprintf(dir, sizeof(dir), "%s/gb-graph-store-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, n, "%s/state.db", dir);
	cr_assert_eq(gb_store_open(path, "test_graph", &st, &err), 0, "%s", err.msg);
	return st;
}

/* Closes the store and removes its directory (the database, its WAL files and the lock file). */
static void drop_store(gb_store *st, const char *path)
{
	const char *suffix[] = {"", "-wal", "-shm", "-journal", ".lock"};
	char f[600], *slash;
	size_t i;

	gb_store_free(st);
	for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(f, sizeof(f), "%s%s", path, suffix[i]);
		unlink(f);
	}
	snprintf(f, sizeof(f), "%s", path);
	slash = strrchr(f, '/');
	if (slash) {
		*slash = '\0';
		cr_assert_eq(rmdir(f), 0, "the store directory %s is not empty", f);
	}
}

/* The delta link saved under key in st contains needle. */
static void assert_link(gb_store *st, const char *key, const char *needle)
{
	char *link = NULL;
	gb_error err;

	cr_assert_eq(gb_store_kv_get(st, key, &link, &err), 0, "%s", err.msg);
	cr_assert(strstr(link, needle) != NULL, "%s", link);
	free(link);
}

/* start, with a state database of its own in e->st for the delta links. */
static void start_delta(env *e)
{
	start(e, 900);
	e->st = open_store(e->store_path, sizeof(e->store_path));
}

/* stop, after drop_store of e->st. */
static void stop_delta(env *e)
{
	drop_store(e->st, e->store_path);
	stop(e);
}

Test(graph_fake, delta_resumes_from_the_saved_delta_link)
{
	env e;
	dlog l1 = {0}, l2 = {0}, l3 = {0};
	gb_graph_delta_info info;
	int64_t t0;

	start_delta(&e);
	t0 = gb_time_mono_ms();
	cr_assert_eq(gb_graph_delta_groups(e.g, e.st, 0, on_delta, &l1, &info, &e.err), 0, "%s", e.err.msg);
	report("groups delta, first run", &e, gb_time_mono_ms() - t0);
	cr_assert(info.full);
	cr_assert_eq(l1.resets, 1, "a first run announces a full enumeration");
	cr_assert_eq(l1.added, 5000 + 6 + 1, "every membership once");
	cr_assert_eq(l1.removed, 0);
	assert_link(e.st, GB_GRAPH_DELTA_KEY_GROUPS, "/v1.0/groups/delta?");
	assert_link(e.st, GB_GRAPH_DELTA_KEY_GROUPS, "deltatoken");
	json_decref(ctl(&e, "POST", "/_fake/mutate",
			"{\"changes\": ["
			"{\"op\": \"add_members\", \"group\": \"" SYNCED "\", \"members\": [\"" U2 "\"]},"
			"{\"op\": \"remove_members\", \"group\": \"" MIXED "\", \"members\": [\"" DEV "\"]},"
			"{\"op\": \"remove_members\", \"group\": \"" BIG "\", \"members\": "
			"[\"ffffffff-0000-4000-8000-000000000000\"]},"
			"{\"op\": \"create_group\", \"object\": {\"id\": \"aaaaaaaa-1111-4111-8111-000000000004\", "
			"\"displayName\": \"New\", \"securityEnabled\": true, \"mailEnabled\": false, \"groupTypes\": [], "
			"\"members\": [\"" U1 "\"]}}]}"));
	/* a second client (a new run) resumes from the store */
	gb_graph_free(e.g);
	cr_assert_eq(gb_graph_new(e.cfg, &e.g, &e.err), 0, "%s", e.err.msg);
	t0 = gb_time_mono_ms();
	cr_assert_eq(gb_graph_delta_groups(e.g, e.st, 0, on_delta, &l2, &info, &e.err), 0, "%s", e.err.msg);
	report("groups delta, resumed", &e, gb_time_mono_ms() - t0);
	cr_assert(!info.full);
	cr_assert_eq(l2.resets, 0);
	cr_assert(strstr(l2.text, "[000000000003 +000000000002]") != NULL, "%s", l2.text);
	cr_assert(strstr(l2.text, "[000000000002 -000000000001]") != NULL, "%s", l2.text);
	cr_assert(strstr(l2.text, "[000000000004 +000000000001]") != NULL, "%s", l2.text);
	cr_assert_eq(l2.removed, 2, "the device from Mixed and one member of Big");
	cr_assert_eq(l2.added, 2);
	/* deleting groups: soft (restorable, "changed") and hard ("deleted") */
	json_decref(ctl(&e, "POST", "/_fake/mutate",
			"{\"changes\": [{\"op\": \"soft_delete_group\", \"id\": \"" SYNCED "\"},"
			"{\"op\": \"hard_delete_group\", \"id\": \"aaaaaaaa-1111-4111-8111-000000000004\"}]}"));
	cr_assert_eq(gb_graph_delta_groups(e.g, e.st, 0, on_delta, &l3, &info, &e.err), 0, "%s", e.err.msg);
	cr_assert(strstr(l3.text, "[000000000003 changed") != NULL, "%s", l3.text);
	cr_assert(strstr(l3.text, "[000000000004 deleted") != NULL, "%s", l3.text);
	stop_delta(&e);
}

Test(graph_fake, a_link_from_now_reports_only_later_changes)
{
	env e;
	dlog l1 = {0}, l2 = {0};
	gb_graph_delta_info info;
	char *text;
	json_t *log;

	start_delta(&e);
	json_decref(ctl(&e, "POST", "/_fake/log/clear", NULL));
	cr_assert_eq(gb_graph_delta_groups(e.g, e.st, GB_GRAPH_DELTA_LATEST, on_delta, &l1, &info, &e.err), 0, "%s",
		     e.err.msg);
	cr_assert(!info.full);
	cr_assert_eq(info.pages, 1, "one request, not the whole enumeration");
	cr_assert_eq(l1.records, 0);
	cr_assert_eq(l1.resets, 0);
	log = ctl(&e, "GET", "/_fake/log", NULL);
	text = json_dumps(log, 0);
	cr_assert(text && strstr(text, "deltatoken=latest") != NULL, "the request asks for a link from now: %s", text);
	free(text);
	json_decref(log);
	assert_link(e.st, GB_GRAPH_DELTA_KEY_GROUPS, "deltatoken");
	json_decref(ctl(&e, "POST", "/_fake/mutate",
			"{\"changes\": [{\"op\": \"add_members\", \"group\": \"" SYNCED "\", \"members\": [\"" U2 "\"]}]}"));
	cr_assert_eq(gb_graph_delta_groups(e.g, e.st, 0, on_delta, &l2, &info, &e.err), 0, "%s", e.err.msg);
	cr_assert(!info.full);
	cr_assert_eq(l2.resets, 0);
	cr_assert_eq(l2.records, 1, "only the change made after the link: %s", l2.text);
	cr_assert(strstr(l2.text, "[000000000003 +000000000002]") != NULL, "%s", l2.text);
	stop_delta(&e);
}

Test(graph_fake, an_expired_delta_link_is_reported_or_falls_back_to_a_full_read)
{
	env e;
	dlog l1 = {0}, l2 = {0};
	gb_graph_delta_info info;
	char *link = NULL;

	start_delta(&e);
	cr_assert_eq(gb_graph_delta_groups(e.g, e.st, 0, on_delta, &l1, &info, &e.err), 0, "%s", e.err.msg);
	json_decref(ctl(&e, "POST", "/_fake/delta/expire", "{\"status\": 410, \"code\": \"syncStateNotFound\"}"));
	cr_assert_eq(gb_graph_delta_groups(e.g, e.st, 0, on_delta, &l2, &info, &e.err), GB_ERETRY);
	cr_assert(info.expired);
	cr_assert(strstr(e.err.msg, "GET /v1.0/groups/delta?") == e.err.msg, "%s", e.err.msg);
	cr_assert(strstr(e.err.msg, "a full read is needed") != NULL, "%s", e.err.msg);
	cr_assert_eq(gb_store_kv_get(e.st, GB_GRAPH_DELTA_KEY_GROUPS, &link, &e.err), GB_ENOTFOUND,
		     "the dead link is forgotten");
	/* with the fallback the client starts over by itself */
	cr_assert_eq(gb_graph_delta_groups(e.g, e.st, 0, on_delta, &l2, &info, &e.err), 0, "%s", e.err.msg);
	json_decref(ctl(&e, "POST", "/_fake/delta/expire", "{\"status\": 400, \"code\": \"resyncRequired\"}"));
	memset(&l2, 0, sizeof(l2));
	cr_assert_eq(gb_graph_delta_groups(e.g, e.st, GB_GRAPH_DELTA_FALLBACK, on_delta, &l2, &info, &e.err), 0, "%s",
		     e.err.msg);
	cr_assert(info.expired && info.full);
	cr_assert_eq(l2.resets, 1);
	cr_assert_eq(l2.added, 5000 + 6 + 1);
	cr_assert_eq(gb_store_kv_get(e.st, GB_GRAPH_DELTA_KEY_GROUPS, &link, &e.err), 0, "a new link is saved");
	free(link);
	stop_delta(&e);
}

typedef struct ulog {
	int resets;
	size_t n;
	char u1[64];
} ulog;

static int on_user_delta(const gb_cloud_user *u, void *ud, gb_error *err)
{
	ulog *l = ud;

	(void)err;
	if (!u) {
		l->resets++;
		return 0;
	}
	l->n++;
	if (strcmp(u->id, U2) == 0)
		snprintf(l->u1, sizeof(l->u1), "%s", u->on_prem_object_id ? u->on_prem_object_id : "(null)");
	return 0;
}

Test(graph_fake, users_delta_reports_on_premises_object_identifier_changes)
{
	env e;
	ulog l1 = {0}, l2 = {0};
	gb_graph_delta_info info;

	start_delta(&e);
	cr_assert_eq(gb_graph_delta_users(e.g, e.st, 0, on_user_delta, &l1, &info, &e.err), 0, "%s", e.err.msg);
	cr_assert_eq(l1.n, 5002);
	cr_assert_str_eq(l1.u1, "(null)");
	json_decref(ctl(&e, "POST", "/_fake/mutate",
			"{\"changes\": [{\"op\": \"update_user\", \"id\": \"" U2 "\", \"set\": "
			"{\"onPremisesObjectIdentifier\": \"11112222-3333-4444-5555-666677778888\"}}]}"));
	cr_assert_eq(gb_graph_delta_users(e.g, e.st, 0, on_user_delta, &l2, &info, &e.err), 0, "%s", e.err.msg);
	cr_assert(!info.full);
	cr_assert_eq(l2.n, 1);
	cr_assert_str_eq(l2.u1, "11112222-3333-4444-5555-666677778888");
	stop_delta(&e);
}

/* ---- both listings at once ---- */

typedef struct both_log {
	dlog g;
	ulog u;
} both_log;

static int both_group(const gb_graph_group_delta *d, void *ud, gb_error *err)
{
	return on_delta(d, &((both_log *)ud)->g, err);
}

static int both_user(const gb_cloud_user *u, void *ud, gb_error *err)
{
	return on_user_delta(u, &((both_log *)ud)->u, err);
}

static long fake_peak(env *e)
{
	json_t *st = ctl(e, "GET", "/_fake/stats", NULL);
	long peak = (long)json_integer_value(json_object_get(st, "peak_in_flight"));

	json_decref(st);
	return peak;
}

/* The groups and users listings read by gb_graph_delta_both into one store, and one after the other into another:
 * the same records, the same links saved, the same resumption; with their requests in flight together. */
Test(graph_fake, both_delta_listings_read_at_once_as_one_after_the_other)
{
	env e;
	both_log a = {0}, b = {0};
	gb_graph_delta_info gi, ui;
	char pa[512], pb[512], *lb = NULL;
	gb_store *sa = open_store(pa, sizeof(pa)), *sb = open_store(pb, sizeof(pb));
	int round;

	start(&e, 900);
	/* each reply takes long enough for the two listings' requests to meet in the server */
	json_decref(ctl(&e, "POST", "/_fake/config", "{\"latency_ms\": 150}"));
	for (round = 0; round < 2; round++) {
		memset(&a, 0, sizeof(a));
		memset(&b, 0, sizeof(b));
		cr_assert_eq(gb_graph_delta_groups(e.g, sa, 0, on_delta, &a.g, NULL, &e.err), 0, "%s", e.err.msg);
		cr_assert_eq(gb_graph_delta_users(e.g, sa, 0, on_user_delta, &a.u, NULL, &e.err), 0, "%s", e.err.msg);
		json_decref(ctl(&e, "POST", "/_fake/stats/reset", NULL));
		json_decref(ctl(&e, "POST", "/_fake/log/clear", NULL));
		cr_assert_eq(gb_graph_delta_both(e.g, sb, 0, both_group, both_user, &b, &gi, &ui, &e.err), 0, "%s",
			     e.err.msg);
		cr_assert_eq(fake_peak(&e), 2, "the two listings' requests were in flight together");
		cr_assert_eq(log_count(&e, "POST", "/$batch", 0), 0, "delta pages are plain requests, never $batch parts");
		cr_assert_eq(gi.full, round == 0);
		cr_assert_eq(ui.full, round == 0);
		cr_assert_eq(b.g.resets, a.g.resets);
		cr_assert_eq(b.g.records, a.g.records);
		cr_assert_eq(gi.records, a.g.records);
		cr_assert_eq(b.g.added, a.g.added);
		cr_assert_eq(b.g.removed, a.g.removed);
		cr_assert_str_eq(b.g.text, a.g.text);
		cr_assert_eq(b.u.resets, a.u.resets);
		cr_assert_eq(b.u.n, a.u.n);
		cr_assert_eq(ui.records, a.u.n);
		cr_assert_str_eq(b.u.u1, a.u.u1);
		assert_link(sb, GB_GRAPH_DELTA_KEY_GROUPS, "deltatoken");
		assert_link(sb, GB_GRAPH_DELTA_KEY_USERS, "deltatoken");
		if (round)
			break;
		cr_assert_str_eq(b.u.u1, "(null)");
		json_decref(ctl(&e, "POST", "/_fake/mutate",
				"{\"changes\": ["
				"{\"op\": \"add_members\", \"group\": \"" SYNCED "\", \"members\": [\"" U2 "\"]},"
				"{\"op\": \"update_user\", \"id\": \"" U2 "\", \"set\": "
				"{\"onPremisesObjectIdentifier\": \"11112222-3333-4444-5555-666677778888\"}}]}"));
	}
	/* the second round read only the first round's changes */
	cr_assert(strstr(b.g.text, "[000000000003 +000000000002]") != NULL, "%s", b.g.text);
	cr_assert_eq(b.g.records, 1, "%s", b.g.text);
	cr_assert_eq(b.u.n, 1);
	cr_assert_str_eq(b.u.u1, "11112222-3333-4444-5555-666677778888");
	/* a dead users link: the groups listing reads on, the users' expiry is reported as a full read needed */
	json_decref(ctl(&e, "POST", "/_fake/mutate",
			"{\"changes\": [{\"op\": \"remove_members\", \"group\": \"" SYNCED "\", \"members\": "
			"[\"" U2 "\"]}]}"));
	json_decref(ctl(&e, "POST", "/_fake/delta/expire", "{\"status\": 410, \"code\": \"syncStateNotFound\", "
							   "\"kind\": \"users\"}"));
	memset(&b, 0, sizeof(b));
	cr_assert_eq(gb_graph_delta_both(e.g, sb, 0, both_group, both_user, &b, &gi, &ui, &e.err), GB_ERETRY);
	cr_assert(ui.expired && !gi.expired);
	cr_assert(strstr(e.err.msg, "GET /v1.0/users/delta?") == e.err.msg, "%s", e.err.msg);
	cr_assert(strstr(b.g.text, "[000000000003 -000000000002]") != NULL, "the groups listing read its change: %s",
		  b.g.text);
	cr_assert_eq(gb_store_kv_get(sb, GB_GRAPH_DELTA_KEY_USERS, &lb, &e.err), GB_ENOTFOUND, "the dead link is gone");
	/* both dead: the groups' error is the one reported, as when read one after the other */
	cr_assert_eq(gb_graph_delta_both(e.g, sb, 0, both_group, both_user, &b, &gi, &ui, &e.err), 0, "%s", e.err.msg);
	json_decref(ctl(&e, "POST", "/_fake/delta/expire", "{\"status\": 410, \"code\": \"syncStateNotFound\"}"));
	cr_assert_eq(gb_graph_delta_both(e.g, sb, 0, both_group, both_user, &b, &gi, &ui, &e.err), GB_ERETRY);
	cr_assert(gi.expired && ui.expired);
	cr_assert(strstr(e.err.msg, "GET /v1.0/groups/delta?") == e.err.msg, "%s", e.err.msg);
	drop_store(sa, pa);
	drop_store(sb, pb);
	stop(&e);
}

/* A 429 on one of the two listings' requests in flight: that request waits out its Retry-After and goes again; both
 * listings end as they would unthrottled. */
Test(graph_fake, both_delta_listings_ride_out_a_429_on_one_of_them)
{
	env e;
	both_log a = {0}, b = {0};
	gb_graph_delta_info gi, ui;
	char pa[512], pb[512];
	gb_store *sa = open_store(pa, sizeof(pa)), *sb = open_store(pb, sizeof(pb));

	start(&e, 900);
	cr_assert_eq(gb_graph_delta_both(e.g, sa, 0, both_group, both_user, &a, &gi, &ui, &e.err), 0, "%s", e.err.msg);
	json_decref(ctl(&e, "POST", "/_fake/config", "{\"latency_ms\": 100}"));
	faults(&e, "{\"rules\": [{\"method\": \"GET\", \"path_regex\": \"/users/delta\", \"status\": 429, "
		   "\"retry_after\": \"1\", \"count\": 1, \"where\": \"request\"}]}");
	cr_assert_eq(gb_graph_delta_both(e.g, sb, 0, both_group, both_user, &b, &gi, &ui, &e.err), 0, "%s", e.err.msg);
	cr_assert_eq(gb_graph_get_stats(e.g)->throttled_429, 1);
	cr_assert_eq(b.g.records, a.g.records);
	cr_assert_eq(b.g.added, a.g.added);
	cr_assert_eq(b.u.n, a.u.n);
	cr_assert(gi.full && ui.full);
	drop_store(sa, pa);
	drop_store(sb, pb);
	stop(&e);
}

/* ---- $batch ---- */

Test(graph_fake, batch_parts_fail_differently_and_throttled_parts_are_retried)
{
	env e;
	gb_graph_batch_item it[3] = {{.method = "GET", .url = "/groups/" GONE},
				     {.method = "GET", .url = "/groups/" SYNCED "?$select=id,displayName"},
				     {.method = "GET", .url = "/groups/" MIXED "?$select=id"}};

	start(&e, 900);
	faults(&e, "{\"rules\": [{\"path_regex\": \"" SYNCED "\", \"status\": 429, \"retry_after\": \"5\", "
	       "\"count\": 1, \"where\": \"batch_part\"}]}");
	cr_assert_eq(gb_graph_batch(e.g, "v1.0", it, 3, &e.err), 0, "%s", e.err.msg);
	cr_assert_eq(it[0].status, 404);
	cr_assert(strstr(it[0].error, "GET /groups/" GONE " (batch part 0): 404 Request_ResourceNotFound") ==
			  it[0].error,
		  "%s", it[0].error);
	cr_assert_eq(it[1].status, 200, "the throttled part was sent again");
	cr_assert(strstr(it[1].response, "\"displayName\":\"Synced\"") != NULL, "%s", it[1].response);
	cr_assert_eq(it[2].status, 200);
	cr_assert_str_eq(it[2].error, "");
	cr_assert_eq(gb_graph_get_stats(e.g)->throttled, 1);
	cr_assert_eq(gb_graph_get_stats(e.g)->wait_ms, 5000, "after the part's Retry-After");
	cr_assert_eq(log_count(&e, "POST", "/$batch", 200), 2);
	gb_graph_batch_clear(it, 3);
	stop(&e);
}

Test(graph_fake, a_batch_of_45_is_split_into_20_20_5)
{
	env e;
	gb_graph_batch_item it[45];
	char urls[45][96];
	size_t i;

	start(&e, 900);
	for (i = 0; i < 45; i++) {
		memset(&it[i], 0, sizeof(it[i]));
		snprintf(urls[i], sizeof(urls[i]), "/users/ffffffff-0000-4000-8000-%012zx?$select=id", i);
		it[i].method = "GET";
		it[i].url = urls[i];
	}
	json_decref(ctl(&e, "POST", "/_fake/config", "{\"batch_response_order\": \"random\"}"));
	cr_assert_eq(gb_graph_batch(e.g, "v1.0", it, 45, &e.err), 0, "%s", e.err.msg);
	for (i = 0; i < 45; i++) {
		char want[80];
		snprintf(want, sizeof(want), "\"id\":\"ffffffff-0000-4000-8000-%012zx\"", i);
		cr_assert_eq(it[i].status, 200, "part %zu: %s", i, it[i].error);
		cr_assert(strstr(it[i].response, want) != NULL, "part %zu got %s", i, it[i].response);
	}
	cr_assert_eq(log_count(&e, "POST", "/$batch", 200), 3);
	gb_graph_batch_clear(it, 45);
	stop(&e);
}

/* ---- the migration's resources ---- */

Test(graph_fake, writeback_configuration_and_source_of_authority)
{
	env e;
	gb_tri en = GB_TRI_UNKNOWN;
	char *type = NULL;
	bool cm = true;
	const char *shapes[] = {"value_object", "value_array", "plain"};
	size_t i;

	start(&e, 900);
	cr_assert_eq(gb_graph_get_writeback(e.g, MIXED, &en, &type, &e.err), 0, "%s", e.err.msg);
	cr_assert_eq(en, GB_TRI_TRUE);
	cr_assert_str_eq(type, "universalSecurityGroup");
	free(type);
	cr_assert_eq(gb_graph_set_writeback(e.g, MIXED, false, NULL, &e.err), 0, "%s", e.err.msg);
	cr_assert_eq(gb_graph_get_writeback(e.g, MIXED, &en, &type, &e.err), 0, "%s", e.err.msg);
	cr_assert_eq(en, GB_TRI_FALSE);
	free(type);
	for (i = 0; i < 3; i++) {
		char cfgtext[128];
		snprintf(cfgtext, sizeof(cfgtext), "{\"sync_behavior_shape\": \"%s\"}", shapes[i]);
		json_decref(ctl(&e, "POST", "/_fake/config", cfgtext));
		cr_assert_eq(gb_graph_get_sync_behavior(e.g, MIXED, &cm, &e.err), 0, "%s: %s", shapes[i], e.err.msg);
		cr_assert(!cm, "%s", shapes[i]);
	}
	cr_assert_eq(gb_graph_set_sync_behavior(e.g, SYNCED, true, &e.err), 0, "%s", e.err.msg);
	cr_assert_eq(gb_graph_get_sync_behavior(e.g, SYNCED, &cm, &e.err), 0, "%s", e.err.msg);
	cr_assert(cm);
	{
		gb_cloud_group *g = NULL;
		cr_assert_eq(gb_graph_get_group(e.g, SYNCED, &g, &e.err), 0, "%s", e.err.msg);
		cr_assert_eq(g->on_prem_sync_enabled, GB_TRI_UNKNOWN, "converted groups have onPremisesSyncEnabled null");
		gb_cloud_group_free(g);
	}
	json_decref(ctl(&e, "POST", "/_fake/config", "{\"sync_behavior_patch_reply\": \"no_content\"}"));
	cr_assert_eq(gb_graph_set_sync_behavior(e.g, SYNCED, false, &e.err), 0, "%s", e.err.msg);
	{
		gb_graph_sync_features *f = NULL;
		cr_assert_eq(gb_graph_get_sync_features(e.g, &f, &e.err), 0, "%s", e.err.msg);
		cr_assert_eq(f->group_writeback_enabled, GB_TRI_TRUE);
		cr_assert_eq(f->block_hard_match_enabled, GB_TRI_FALSE);
		gb_graph_sync_features_free(f);
	}
	stop(&e);
}

Test(graph_fake, the_extension_application_and_the_group_dn_extension)
{
	env e;
	gb_graph_app *app = NULL, *found = NULL;
	gb_graph_extension_list *exts = NULL;
	char *sp = NULL, *sp2 = NULL, *name = NULL, want[128];
	gb_cloud_group *g = NULL;

	start(&e, 900);
	cr_assert_eq(gb_graph_find_extension_app(e.g, &app, &e.err), GB_ENOTFOUND);
	cr_assert(strstr(e.err.msg, "api://" TENANT "/CloudSyncCustomExtensionsApp") != NULL, "%s", e.err.msg);
	cr_assert_eq(gb_graph_create_extension_app(e.g, &app, &e.err), 0, "%s", e.err.msg);
	cr_assert_eq(gb_graph_find_extension_app(e.g, &found, &e.err), 0, "%s", e.err.msg);
	cr_assert_str_eq(found->id, app->id);
	cr_assert_str_eq(found->app_id, app->app_id);
	cr_assert_eq(gb_graph_find_service_principal(e.g, app->app_id, &sp, &e.err), GB_ENOTFOUND);
	cr_assert_eq(gb_graph_create_service_principal(e.g, app->app_id, &sp, &e.err), 0, "%s", e.err.msg);
	cr_assert_eq(gb_graph_find_service_principal(e.g, app->app_id, &sp2, &e.err), 0, "%s", e.err.msg);
	cr_assert_str_eq(sp, sp2);
	cr_assert_eq(gb_graph_create_extension_property(e.g, app->id, "GroupDN", &name, &e.err), 0, "%s", e.err.msg);
	cr_assert_eq(gb_graph_extension_name(app->app_id, "GroupDN", want, sizeof(want), &e.err), 0);
	cr_assert_str_eq(name, want);
	cr_assert_eq(gb_graph_list_extension_properties(e.g, app->id, &exts, &e.err), 0, "%s", e.err.msg);
	cr_assert_eq(exts->n, 1);
	cr_assert_str_eq(exts->items[0].name, want);
	cr_assert(exts->items[0].targets_group);
	cr_assert_eq(gb_graph_set_group_extension_value(e.g, SYNCED, name, "CN=Synced,OU=Old,DC=test,DC=example", &e.err),
		     0, "%s", e.err.msg);
	cr_assert_eq(gb_graph_set_group_extension(e.g, name, &e.err), 0, "%s", e.err.msg);
	cr_assert_eq(gb_graph_get_group(e.g, SYNCED, &g, &e.err), 0, "%s", e.err.msg);
	cr_assert_str_eq(g->group_dn_ext, "CN=Synced,OU=Old,DC=test,DC=example");
	gb_cloud_group_free(g);
	gb_graph_extension_list_free(exts);
	gb_graph_app_free(app);
	gb_graph_app_free(found);
	free(sp);
	free(sp2);
	free(name);
	stop(&e);
}

Test(graph_fake, app_role_assignments_and_provision_on_demand)
{
	env e;
	gb_graph_role_assignment_list *l = NULL;
	char *id = NULL, *result = NULL, *details = NULL;
	const char *members[] = {U1, U2};
	const char *six[6] = {U1, U2, U1, U2, U1, U2};

	start(&e, 900);
	cr_assert_eq(gb_graph_list_app_role_assigned_to(e.g, SP, &l, &e.err), 0, "%s", e.err.msg);
	cr_assert_eq(l->n, 0);
	gb_graph_role_assignment_list_free(l);
	cr_assert_eq(gb_graph_assign_app_role(e.g, SP, MIXED, ROLE, &id, &e.err), 0, "%s", e.err.msg);
	cr_assert_not_null(id);
	cr_assert_eq(gb_graph_list_app_role_assigned_to(e.g, SP, &l, &e.err), 0, "%s", e.err.msg);
	cr_assert_eq(l->n, 1);
	cr_assert_str_eq(l->items[0].principal_id, MIXED);
	cr_assert_str_eq(l->items[0].app_role_id, ROLE);
	gb_graph_role_assignment_list_free(l);
	cr_assert_eq(gb_graph_provision_on_demand(e.g, SP, "AAD2ADGroupProvisioning.abc", "rule-1", MIXED, members, 2,
						  &result, &details, &e.err),
		     0, "%s", e.err.msg);
	cr_assert_str_eq(result, "Success");
	cr_assert_eq(gb_graph_provision_on_demand(e.g, SP, "AAD2ADGroupProvisioning.abc", "rule-1", MIXED, six, 6,
						  NULL, NULL, &e.err),
		     GB_EINVAL);
	free(id);
	free(result);
	free(details);
	stop(&e);
}

/* ---- secrets ---- */

Test(graph_fake, nothing_secret_reaches_the_log)
{
	env e;
	char logpath[] = "/tmp/gb-graph-log-XXXXXX", *token;
	int fd = mkstemp(logpath);
	FILE *f = fdopen(fd, "w+");
	gb_buf text;
	gb_graph_batch_item it[2] = {{.method = "GET", .url = "/groups/" GONE},
				     {.method = "PATCH", .url = "/groups/" MIXED, .body = "{\"description\":\"x\"}"}};

	cr_assert_not_null(f);
	gb_log_setup(GB_LOG_DEBUG, 0, f);
	start(&e, 900);
	e.c.e = &e;
	e.c.expire_at = 150; /* a second token mid-way */
	faults(&e, "{\"rules\": [{\"method\": \"GET\", \"path_regex\": \"/members\", \"status\": 429, \"count\": 1}]}");
	cr_assert_eq(big_members(&e), 0, "%s", e.err.msg);
	token = gb_strdup(e.g->token);
	cr_assert_eq(gb_graph_batch(e.g, "v1.0", it, 2, &e.err), 0, "%s", e.err.msg);
	gb_graph_batch_clear(it, 2);
	gb_graph_free(e.g);
	e.g = NULL;
	/* a refused secret and its error message are logged too */
	{
		FILE *sf = fopen(e.fake->secret_file, "w");
		fputs(SECRET "-wrong\n", sf);
		fclose(sf);
		cr_assert_eq(gb_graph_new(e.cfg, &e.g, &e.err), 0, "%s", e.err.msg);
		cr_assert_eq(gb_graph_token(e.g, NULL, &e.err), GB_EAUTH);
		gb_err("test", "%s", e.err.msg);
	}
	fflush(f);
	gb_buf_init(&text, GB_BUF_DEFAULT_MAX);
	cr_assert_eq(gb_read_file(logpath, &text, &e.err), 0, "%s", e.err.msg);
	cr_assert(strstr(text.data, "GET /v1.0/groups/" BIG "/members") != NULL, "debug lines are written");
	cr_assert(strstr(text.data, "client-request-id") != NULL);
	cr_assert(strstr(text.data, "-> 429 in ") != NULL);
	cr_assert_null(strstr(text.data, SECRET), "the client secret is in the log");
	cr_assert_null(strstr(text.data, token), "a token is in the log");
	cr_assert_null(strstr(text.data, "Bearer "), "an Authorization header is in the log");
	cr_assert_null(strstr(text.data, "client_secret="), "a token request body is in the log");
	gb_log_setup(GB_LOG_INFO, 0, NULL);
	gb_buf_free(&text);
	fclose(f);
	unlink(logpath);
	free(token);
	stop(&e);
}

/* ---- config check ---- */

Test(graph_fake, the_probe_obtains_a_token)
{
	env e;
	char detail[512];

	start(&e, 900);
	cr_assert_eq(gb_graph_probe(e.cfg, detail, sizeof(detail), &e.err), 0, "%s", e.err.msg);
	cr_assert(strstr(detail, "token for client " CLIENT) == detail, "%s", detail);
	cr_assert(strstr(detail, "valid") != NULL, "%s", detail);
	cr_assert_null(strstr(detail, SECRET));
	stop(&e);
}

/* ---- certificate credentials ---- */

Test(graph_fake, certificate_credentials_with_ps256_and_rs256)
{
	char dir[] = "/tmp/gb-graph-cert-XXXXXX", tenant[4096], text[4096], detail[512], *cert = NULL, *key = NULL;
	gb_fake *fake = NULL;
	gb_config *cfg = NULL;
	gb_graph *g = NULL;
	gb_error err;
	long left = 0;

	cr_assert_not_null(mkdtemp(dir));
	cr_assert_eq(gb_fake_make_cert(dir, "client", &cert, &key), 0);
	snprintf(tenant, sizeof(tenant),
		 "{\"tenant_id\": \"" TENANT "\", \"clients\": [{\"client_id\": \"" CLIENT "\", \"certificate\": "
		 "\"%s\"}], \"groups\": [{\"id\": \"" MIXED "\", \"displayName\": \"Mixed\"}]}",
		 cert);
	cr_assert_eq(gb_fake_start_json(tenant, &fake), 0);
	snprintf(text, sizeof(text),
		 "[graph]\ntenant_id = %s\nclient_id = %s\ncertificate_file = %s\nprivate_key_file = %s\n"
		 "graph_url = %s\nauthority_url = %s\nca_file = %s\n",
		 fake->tenant_id, CLIENT, cert, key, fake->url, fake->authority_url, fake->ca_file);
	cr_assert_eq(gb_config_parse("cert.ini", text, &cfg, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_graph_new(cfg, &g, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_graph_token(g, &left, &err), 0, "PS256: %s", err.msg);
	cr_assert(left > 3000);
	{
		gb_cloud_group *grp = NULL;
		cr_assert_eq(gb_graph_get_group(g, MIXED, &grp, &err), 0, "%s", err.msg);
		gb_cloud_group_free(grp);
	}
	gb_graph_token_invalidate(g);
	gb_graph_set_jwt_alg(g, GB_GRAPH_JWT_RS256);
	cr_assert_eq(gb_graph_token(g, &left, &err), 0, "RS256: %s", err.msg);
	cr_assert_eq(gb_graph_get_stats(g)->token_requests, 2);
	cr_assert_eq(gb_graph_probe(cfg, detail, sizeof(detail), &err), 0, "%s", err.msg);
	gb_graph_free(g);
	gb_config_free(cfg);
	gb_fake_free(fake);
	unlink(cert);
	unlink(key);
	rmdir(dir);
	free(cert);
	free(key);
}

/* ---- scale ---- */

Test(graph_fake, streams_a_50000_member_group_in_pages_of_999)
{
	const char *tenant = "{\"tenant_id\": \"" TENANT "\", \"clients\": [{\"client_id\": \"" CLIENT "\", "
			     "\"secret\": \"" SECRET "\"}], \"groups\": [{\"id\": \"" BIG "\", \"displayName\": "
			     "\"Huge\", \"generate_members\": {\"count\": 50000, \"id_prefix\": "
			     "\"ffffffff-0000-4000-8000-\", \"type\": \"user\"}}]}";
	env e;
	char text[4096];
	int64_t t0;

	memset(&e, 0, sizeof(e));
	cr_assert_eq(gb_fake_start_json(tenant, &e.fake), 0);
	cr_assert_eq(gb_fake_graph_ini(e.fake, text, sizeof(text)), 0);
	cr_assert_eq(gb_config_parse("scale.ini", text, &e.cfg, &e.err), 0, "%s", e.err.msg);
	cr_assert_eq(gb_graph_new(e.cfg, &e.g, &e.err), 0, "%s", e.err.msg);
	t0 = gb_time_mono_ms();
	cr_assert_eq(gb_graph_list_members(e.g, BIG, 0, count_member, &e.c, &e.err), 0, "%s", e.err.msg);
	report("50000 members, page 999", &e, gb_time_mono_ms() - t0);
	cr_assert_eq(e.c.n, 50000);
	cr_assert_str_eq(e.c.last, "ffffffff-0000-4000-8000-00000000c34f");
	cr_assert_eq(gb_graph_get_stats(e.g)->requests, 1 + 51, "a token and ceil(50000 / 999) pages");
	stop(&e);
}

/* ---- many requests in flight (issue 14) ---- */

#define MBIG "dddddddd-1111-4111-8111-000000000001"
#define MEMPTY "dddddddd-1111-4111-8111-000000000002"
#define GONE2 "dddddddd-1111-4111-8111-0000000000ff"
#define SPGOV "eeeeeeee-6666-4666-8666-000000000001"
#define GOVROLE "d8fa317e-0713-4930-91d8-1dbeb150978f"

/* 40 generated groups of 150 members (two pages of 100 each), one of 2,500 (25 pages) and an empty one; a Cloud
 * Sync service principal of the US Government cloud. */
static const char *many_json =
	"{\"tenant_id\": \"" TENANT "\", \"page_size\": 100,"
	" \"clients\": [{\"client_id\": \"" CLIENT "\", \"secret\": \"" SECRET "\"}],"
	" \"generate\": {\"users\": {\"count\": 400, \"id_prefix\": \"cccccccc-0000-4000-8000-\", \"on_premises\": true},"
	"              \"groups\": {\"count\": 40, \"id_prefix\": \"dddddddd-0000-4000-8000-\","
	"                          \"members_per_group\": 150}},"
	" \"groups\": [{\"id\": \"" MBIG "\", \"displayName\": \"Big\", \"securityEnabled\": true, \"mailEnabled\": false,"
	"   \"groupTypes\": [], \"generate_members\": {\"count\": 2500, \"id_prefix\": \"bbbbbbbb-0000-4000-8000-\","
	"   \"type\": \"user\"}},"
	"  {\"id\": \"" MEMPTY "\", \"displayName\": \"Empty\", \"securityEnabled\": true, \"mailEnabled\": false,"
	"   \"groupTypes\": []}],"
	" \"servicePrincipals\": [{\"id\": \"" SPGOV "\", \"appId\": \"eeeeeeee-6666-4666-8666-0000000000aa\","
	"   \"displayName\": \"Cloud Sync (US Gov)\", \"appRoles\": [{\"id\": \"" GOVROLE "\", \"value\": \"Group\","
	"   \"displayName\": \"Group\", \"allowedMemberTypes\": [\"User\"]}]}]"
	"}";

typedef struct many_env {
	env e;
	gb_cloud_group *groups; /* as listed, without members */
	size_t n;
	gb_cloud_group **ptrs;
} many_env;

static void start_many(many_env *m, long max_wait)
{
	char text[4096];
	gb_error err;
	size_t i;

	memset(m, 0, sizeof(*m));
	cr_assert_eq(gb_fake_start_json(many_json, &m->e.fake), 0, "the fake did not start");
	snprintf(text, sizeof(text),
		 "[graph]\ntenant_id = %s\nclient_id = %s\nclient_secret_file = %s\ngraph_url = %s\n"
		 "authority_url = %s\nca_file = %s\ntimeout = 30\nmax_throttle_wait = %ld\n",
		 m->e.fake->tenant_id, m->e.fake->client_id, m->e.fake->secret_file, m->e.fake->url,
		 m->e.fake->authority_url, m->e.fake->ca_file, max_wait);
	cr_assert_eq(gb_config_parse("many.ini", text, &m->e.cfg, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_graph_new(m->e.cfg, &m->e.g, &err), 0, "%s", err.msg);
	gb_graph_set_time_scale(m->e.g, 0.001);
	cr_assert_eq(gb_graph_read_groups(m->e.g, NULL, false, &m->groups, &m->n, &err), 0, "%s", err.msg);
	cr_assert_eq(m->n, 42);
	m->ptrs = calloc(m->n, sizeof(*m->ptrs));
	for (i = 0; i < m->n; i++)
		m->ptrs[i] = &m->groups[i];
	json_decref(ctl(&m->e, "POST", "/_fake/log/clear", NULL));
}

static void stop_many(many_env *m)
{
	gb_graph_groups_free(m->groups, m->n);
	free(m->ptrs);
	stop(&m->e);
}

/* The index of a group in the listing. */
static size_t index_of(const many_env *m, const char *id)
{
	size_t i;

	for (i = 0; i < m->n && strcmp(m->groups[i].id, id) != 0; i++)
		;
	cr_assert(i < m->n, "%s is not listed", id);
	return i;
}

/* Each group's members equal what gb_graph_read_members gives for it alone, in the same order. */
static void assert_as_one_by_one(many_env *m, size_t upto, int top)
{
	size_t i, j;
	gb_error err;

	for (i = 0; i < upto; i++) {
		gb_cloud_group one;

		memset(&one, 0, sizeof(one));
		one.id = m->groups[i].id;
		cr_assert_eq(gb_graph_read_members(m->e.g, &one, top, &err), 0, "%s", err.msg);
		cr_assert(m->groups[i].members_read, "group %zu was read", i);
		cr_assert_eq(m->groups[i].nmembers, one.nmembers, "group %zu", i);
		for (j = 0; j < one.nmembers; j++)
			cr_assert_str_eq(m->groups[i].members[j].id, one.members[j].id, "group %zu member %zu", i, j);
		one.id = NULL;
		gb_cloud_group_clear(&one);
	}
}

/* Reads every group's members in one call that must succeed (top as gb_graph_read_members_many takes it); returns
 * what it gave as the failed index. */
static size_t read_many(many_env *m, int top)
{
	size_t failed = 99;
	gb_error err;

	cr_assert_eq(gb_graph_read_members_many(m->e.g, m->ptrs, m->n, top, &failed, &err), 0, "%s", err.msg);
	return failed;
}

/* Sets the fake's fault rules to rules_fmt with the id of group k for its %s. */
static void fault_group(many_env *m, size_t k, const char *rules_fmt)
{
	char rules[512];

	snprintf(rules, sizeof(rules), rules_fmt, m->groups[k].id);
	json_decref(ctl(&m->e, "POST", "/_fake/faults", rules));
}

#define STATS(m) gb_graph_get_stats((m).e.g)

Test(graph_many, reads_the_members_of_many_groups_in_batches_as_one_by_one)
{
	many_env m;
	size_t failed;
	int64_t t0;

	start_many(&m, 900);
	t0 = gb_time_mono_ms();
	failed = read_many(&m, 100);
	report("42 groups, 8,500 members, batched", &m.e, gb_time_mono_ms() - t0);
	cr_assert_eq(failed, m.n);
	cr_assert_eq(m.groups[index_of(&m, MBIG)].nmembers, 2500);
	cr_assert_eq(m.groups[index_of(&m, MEMPTY)].nmembers, 0);
	cr_assert(m.groups[index_of(&m, MEMPTY)].members_read);
	cr_assert(log_count(&m.e, "POST", "/$batch", 200) >= 3, "the pages went out in $batch requests");
	cr_assert_eq(gb_graph_get_stats(m.e.g)->batch_parts + log_count(&m.e, "GET", "/members", 0), 42 + 40 + 24,
		     "every page once, as a part or alone (%lu parts)", gb_graph_get_stats(m.e.g)->batch_parts);
	cr_assert(gb_graph_get_stats(m.e.g)->peak_in_flight > 1);
	cr_assert(gb_graph_get_stats(m.e.g)->peak_in_flight <= GB_GRAPH_DEFAULT_CONCURRENCY);
	assert_as_one_by_one(&m, m.n, 100);
	stop_many(&m);
}

Test(graph_many, a_429_on_one_batch_part_waits_for_that_part_only)
{
	many_env m;

	start_many(&m, 900);
	fault_group(&m, 17, "{\"rules\": [{\"path_regex\": \"%s/members\", \"status\": 429, \"retry_after\": \"2\", "
			    "\"count\": 1, \"where\": \"batch_part\"}]}");
	read_many(&m, 0);
	cr_assert_eq(STATS(m)->throttled_429, 1);
	cr_assert_eq(STATS(m)->wait_ms, 2000, "the part's own Retry-After, once");
	cr_assert(STATS(m)->window < GB_GRAPH_DEFAULT_CONCURRENCY, "the window shrank for all");
	assert_as_one_by_one(&m, m.n, 0);
	stop_many(&m);
}

Test(graph_many, a_429_on_one_of_several_requests_in_flight)
{
	many_env m;

	start_many(&m, 900);
	gb_graph_set_batching(m.e.g, false);
	fault_group(&m, 5, "{\"rules\": [{\"method\": \"GET\", \"path_regex\": \"%s/members\", \"status\": 429, "
			   "\"retry_after\": \"3\", \"count\": 1, \"where\": \"request\"}]}");
	read_many(&m, 0);
	cr_assert_eq(log_count(&m.e, "POST", "/$batch", 0), 0, "no batching asked for");
	cr_assert(STATS(m)->peak_in_flight > 1, "several requests were in flight");
	cr_assert_eq(STATS(m)->throttled_429, 1);
	cr_assert_eq(STATS(m)->wait_ms, 3000, "the client paused once for the Retry-After");
	assert_as_one_by_one(&m, m.n, 0);
	stop_many(&m);
}

Test(graph_many, throttling_past_the_budget_stops_cleanly_at_the_first_group_that_cannot_be_read)
{
	many_env m;
	size_t i, k = 9, failed = 99;
	gb_error err;

	start_many(&m, 30);
	fault_group(&m, k, "{\"rules\": [{\"path_regex\": \"%s/members\", \"status\": 429, \"retry_after\": \"10\", "
			   "\"count\": -1}]}");
	cr_assert_eq(gb_graph_read_members_many(m.e.g, m.ptrs, m.n, 0, &failed, &err), GB_ETHROTTLED);
	cr_assert_eq(failed, k, "the group that could not be read is named by its index");
	cr_assert(strstr(err.msg, m.groups[k].id) && strstr(err.msg, "/members"), "%s", err.msg);
	cr_assert(strstr(err.msg, "run again later to resume") != NULL, "%s", err.msg);
	cr_assert(STATS(m)->wait_ms <= 30000, "never past the budget");
	for (i = k; i < m.n; i++)
		cr_assert(!m.groups[i].members_read && !m.groups[i].nmembers, "group %zu is left as it was", i);
	assert_as_one_by_one(&m, k, 0);
	stop_many(&m);
}

Test(graph_many, a_missing_group_fails_as_reading_it_alone_would)
{
	many_env m;
	gb_cloud_group ghost, alone, **ptrs;
	size_t i, failed = 99;
	gb_error err, err1;
	const char *cut;

	start_many(&m, 900);
	memset(&ghost, 0, sizeof(ghost));
	memset(&alone, 0, sizeof(alone));
	ghost.id = alone.id = (char *)GONE2;
	ptrs = calloc(m.n + 1, sizeof(*ptrs));
	for (i = 0; i < 3; i++)
		ptrs[i] = m.ptrs[i];
	ptrs[3] = &ghost;
	for (i = 3; i < m.n; i++)
		ptrs[i + 1] = m.ptrs[i];
	cr_assert_eq(gb_graph_read_members_many(m.e.g, ptrs, m.n + 1, 0, &failed, &err), GB_ENOTFOUND);
	cr_assert_eq(failed, 3);
	cr_assert_eq(gb_graph_read_members(m.e.g, &alone, 0, &err1), GB_ENOTFOUND);
	/* the same message up to the request ids */
	cut = strstr(err1.msg, "(request-id");
	cr_assert_not_null(cut, "%s", err1.msg);
	cr_assert(strncmp(err.msg, err1.msg, (size_t)(cut - err1.msg)) == 0, "%s\nvs\n%s", err.msg, err1.msg);
	cr_assert(strstr(err.msg, "GET /v1.0/groups/" GONE2 "/members?$select=id&$top=999: 404") == err.msg, "%s",
		  err.msg);
	cr_assert(!ghost.members_read);
	assert_as_one_by_one(&m, 3, 0);
	free(ptrs);
	stop_many(&m);
}

Test(graph_many, many_groups_by_id_with_one_missing)
{
	many_env m;
	const char *ids[4];
	gb_cloud_group *out[4];
	size_t i, failed = 99;
	gb_error err;

	start_many(&m, 900);
	ids[0] = m.groups[0].id;
	ids[1] = GONE2;
	ids[2] = MBIG;
	ids[3] = m.groups[41].id;
	cr_assert_eq(gb_graph_get_groups_many(m.e.g, ids, 4, out, &failed, &err), 0, "%s", err.msg);
	cr_assert_not_null(out[0]);
	cr_assert_null(out[1], "404 is no group, not an error");
	cr_assert_str_eq(out[2]->display_name, "Big");
	cr_assert_str_eq(out[3]->id, m.groups[41].id);
	for (i = 0; i < 4; i++)
		gb_cloud_group_free(out[i]);
	stop_many(&m);
}

Test(graph_many, a_high_throttle_percentage_shrinks_the_window_for_every_request)
{
	many_env m;

	start_many(&m, 900);
	json_decref(ctl(&m.e, "POST", "/_fake/config", "{\"throttle_percentage\": \"0.95\"}"));
	read_many(&m, 0);
	cr_assert(STATS(m)->window < GB_GRAPH_DEFAULT_CONCURRENCY, "window %u", STATS(m)->window);
	cr_assert(STATS(m)->slowdown_ms > 0);
	cr_assert_eq(STATS(m)->wait_ms, 0, "slowing down is not throttling");
	json_decref(ctl(&m.e, "POST", "/_fake/config", "{\"throttle_percentage\": null}"));
	assert_as_one_by_one(&m, m.n, 0);
	stop_many(&m);
}

/* ---- creating after a transport failure (review #9), the Cloud Sync role (#2) ---- */

Test(graph_many, a_create_whose_connection_was_reset_is_looked_up_then_sent_again)
{
	many_env m;
	gb_graph_app *app = NULL;
	json_t *state;
	size_t napps;
	gb_error err;

	start_many(&m, 900);
	json_decref(ctl(&m.e, "POST", "/_fake/faults",
			"{\"rules\": [{\"method\": \"POST\", \"path_regex\": \"/applications$\", \"reset_connection\": true, "
			"\"count\": 1}]}"));
	cr_assert_eq(gb_graph_create_extension_app(m.e.g, &app, &err), 0, "%s", err.msg);
	cr_assert_eq(log_count(&m.e, "POST", "/v1.0/applications", 0), 2, "sent again only after the lookup");
	cr_assert(log_count(&m.e, "GET", "/v1.0/applications?$filter=", 0) >= 1, "looked up first");
	state = ctl(&m.e, "GET", "/_fake/state", NULL);
	napps = json_array_size(json_object_get(state, "applications"));
	cr_assert_eq(napps, 1, "one application, no duplicate");
	json_decref(state);
	gb_graph_app_free(app);
	stop_many(&m);
}

Test(graph_many, the_cloud_sync_role_of_the_job_s_cloud_is_assigned)
{
	many_env m;
	char *role = NULL, *id = NULL;
	gb_error err;

	start_many(&m, 900);
	cr_assert_eq(gb_graph_cloudsync_group_role(m.e.g, SPGOV, &role, &err), 0, "%s", err.msg);
	cr_assert_str_eq(role, GOVROLE);
	cr_assert_eq(gb_graph_assign_app_role(m.e.g, SPGOV, m.groups[0].id, role, &id, &err), 0, "%s", err.msg);
	free(role);
	free(id);
	stop_many(&m);
}
