/* test_graphfake.c: the Graph fake through libcurl, as the C tests use it: tokens (secret, RS256 and PS256
 * assertions built here with OpenSSL), paging, a 429 with Retry-After, delta after a mutation, $batch limits, and
 * the request log. Each test starts a fake of its own (tests/support/graphfake.h). */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "support/graphfake.h"

#define TENANT "5a1e0000-0000-4000-8000-000000000001"
#define CLIENT "c11e0000-0000-4000-8000-000000000001"
#define CERT_CLIENT "c22e0000-0000-4000-8000-000000000002"
#define BIG_GROUP "97000000-0000-4000-8000-000000000001"

static json_t *parse(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);

	cr_assert_not_null(j, "not JSON (%s): %.300s", e.text, text);
	return j;
}

/* A small tenant with a secret client, one group of 250 generated members and one of two users. */
static gb_fake *start_small(const char *extra_client)
{
	char json[4096];
	gb_fake *f = NULL;

	snprintf(json, sizeof(json),
		 "{\"tenant_id\": \"" TENANT "\", \"page_size\": 100,"
		 " \"clients\": [{\"client_id\": \"" CLIENT "\", \"secret\": \"s3cret-value\"}%s],"
		 " \"users\": [{\"id\": \"a0000000-0000-4000-8000-000000000001\", \"displayName\": \"Alice\"},"
		 "             {\"id\": \"a0000000-0000-4000-8000-000000000002\", \"displayName\": \"Bob\","
		 "              \"onPremisesObjectIdentifier\": \"0b0b0b0b-0000-4000-8000-000000000002\"}],"
		 " \"groups\": [{\"id\": \"" BIG_GROUP "\", \"displayName\": \"Big\","
		 "               \"generate_members\": {\"count\": 250, \"id_prefix\": \"97100000-0000-4000-8000-\"}},"
		 "              {\"id\": \"90000000-0000-4000-8000-000000000001\", \"displayName\": \"Small\","
		 "               \"members\": [\"a0000000-0000-4000-8000-000000000001\"]}]}",
		 extra_client ? extra_client : "");
	cr_assert_eq(gb_fake_start_json(json, &f), 0, "the fake did not start");
	return f;
}

static void auth_header(gb_fake *f, char *dst, size_t n)
{
	char *tok = NULL;

	cr_assert_eq(gb_fake_token(f, &tok), 0);
	int len = snprintf(dst, n, "Authorization: Bearer %s", tok);
	free(tok);
	cr_assert(len > 0 && (size_t)len < n, "the token does not fit the header buffer");
}

Test(graphfake, secret_token_and_auth)
{
	gb_fake *f = start_small(NULL);
	gb_fake_reply r;
	char auth[4096];
	const char *h[] = {auth, NULL};
	json_t *j;

	cr_assert_eq(gb_fake_http(f, "GET", "/v1.0/groups", NULL, NULL, &r), 0);
	cr_assert_eq(r.status, 401);
	j = parse(r.body);
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "error"), "code")),
			 "InvalidAuthenticationToken");
	json_decref(j);
	gb_fake_reply_clear(&r);

	auth_header(f, auth, sizeof(auth));
	cr_assert_eq(gb_fake_http(f, "GET", "/v1.0/groups", h, NULL, &r), 0);
	cr_assert_eq(r.status, 200, "%s", r.body);
	gb_fake_reply_clear(&r);

	cr_assert_eq(gb_fake_control(f, "POST", "/faults", "{\"expire_all_tokens\": true}", NULL), 200);
	cr_assert_eq(gb_fake_http(f, "GET", "/v1.0/groups", h, NULL, &r), 0);
	cr_assert_eq(r.status, 401);
	cr_assert(strstr(r.body, "expired") != NULL, "%s", r.body);
	gb_fake_reply_clear(&r);
	gb_fake_free(f);
}

Test(graphfake, wrong_secret_is_refused)
{
	gb_fake *f = start_small(NULL);
	const char *h[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
	char form[512];
	gb_fake_reply r;
	json_t *j;

	snprintf(form, sizeof(form),
		 "grant_type=client_credentials&client_id=" CLIENT "&client_secret=wrong&scope=%s%%2F.default", f->url);
	cr_assert_eq(gb_fake_http(f, "POST", "/" TENANT "/oauth2/v2.0/token", h, form, &r), 0);
	cr_assert_eq(r.status, 401);
	j = parse(r.body);
	cr_assert_str_eq(json_string_value(json_object_get(j, "error")), "invalid_client");
	cr_assert_eq(json_integer_value(json_array_get(json_object_get(j, "error_codes"), 0)), 7000215);
	json_decref(j);
	gb_fake_reply_clear(&r);
	gb_fake_free(f);
}

/* ---- certificate assertions ---- */

static char *b64url(const unsigned char *d, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char *out = malloc(n * 4 / 3 + 4), *p = out;
	size_t i;

	cr_assert_not_null(out);
	for (i = 0; i + 2 < n; i += 3) {
		unsigned v = (unsigned)d[i] << 16 | (unsigned)d[i + 1] << 8 | d[i + 2];

		*p++ = tab[v >> 18];
		*p++ = tab[(v >> 12) & 63];
		*p++ = tab[(v >> 6) & 63];
		*p++ = tab[v & 63];
	}
	if (n - i == 1) {
		*p++ = tab[d[i] >> 2];
		*p++ = tab[(d[i] & 3) << 4];
	} else if (n - i == 2) {
		unsigned v = (unsigned)d[i] << 8 | d[i + 1];

		*p++ = tab[v >> 10];
		*p++ = tab[(v >> 4) & 63];
		*p++ = tab[(v & 15) << 2];
	}
	*p = '\0';
	return out;
}

/* Builds and signs the client assertion: PS256 with x5t#S256, or RS256 with x5t. */
static char *make_jwt(const char *cert_path, const char *key_path, int pss, const char *aud, const char *tamper)
{
	FILE *fp;
	X509 *x;
	EVP_PKEY *k;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char thumb[EVP_MAX_MD_SIZE], sig[1024];
	unsigned tlen = 0;
	size_t slen = sizeof(sig), n;
	char header[256], claims[1024], jti[64], *h64, *c64, *t64, *s64, *signing, *jwt;
	time_t now = time(NULL);

	fp = fopen(cert_path, "r");
	cr_assert_not_null(fp);
	x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	fp = fopen(key_path, "r");
	cr_assert_not_null(fp);
	k = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	cr_assert(x && k && md);
	cr_assert_eq(X509_digest(x, pss ? EVP_sha256() : EVP_sha1(), thumb, &tlen), 1);
	t64 = b64url(thumb, tlen);
	snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"typ\":\"JWT\",\"%s\":\"%s\"}", pss ? "PS256" : "RS256",
		 pss ? "x5t#S256" : "x5t", t64);
	snprintf(jti, sizeof(jti), "%08lx-0000-4000-8000-%012lx", (unsigned long)getpid(), (unsigned long)now);
	snprintf(claims, sizeof(claims),
		 "{\"aud\":\"%s\",\"iss\":\"" CERT_CLIENT "\",\"sub\":\"" CERT_CLIENT "\",\"jti\":\"%s\","
		 "\"nbf\":%ld,\"iat\":%ld,\"exp\":%ld}",
		 aud, jti, (long)now, (long)now, (long)now + 600);
	h64 = b64url((const unsigned char *)header, strlen(header));
	c64 = b64url((const unsigned char *)claims, strlen(claims));
	n = strlen(h64) + strlen(c64) + 2;
	signing = malloc(n);
	cr_assert_not_null(signing);
	snprintf(signing, n, "%s.%s", h64, c64);
	cr_assert_eq(EVP_DigestSignInit(md, &pctx, EVP_sha256(), NULL, k), 1);
	if (pss) {
		cr_assert_eq(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), 1);
		cr_assert_eq(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST), 1);
	}
	cr_assert_eq(EVP_DigestSign(md, sig, &slen, (const unsigned char *)signing, strlen(signing)), 1);
	if (tamper)
		sig[slen / 2] ^= 1;
	s64 = b64url(sig, slen);
	n = strlen(signing) + strlen(s64) + 2;
	jwt = malloc(n);
	cr_assert_not_null(jwt);
	snprintf(jwt, n, "%s.%s", signing, s64);
	free(h64);
	free(c64);
	free(t64);
	free(s64);
	free(signing);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(k);
	X509_free(x);
	return jwt;
}

static long assertion_token(gb_fake *f, const char *jwt, char **body)
{
	const char *h[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
	char *ejwt = curl_easy_escape(NULL, jwt, 0), *escope, scope[256], *form;
	gb_fake_reply r;
	size_t n;
	long st;

	snprintf(scope, sizeof(scope), "%s/.default", f->url);
	escope = curl_easy_escape(NULL, scope, 0);
	n = strlen(ejwt) + strlen(escope) + 512;
	form = malloc(n);
	cr_assert_not_null(form);
	snprintf(form, n,
		 "grant_type=client_credentials&client_id=" CERT_CLIENT "&scope=%s&client_assertion_type="
		 "urn%%3Aietf%%3Aparams%%3Aoauth%%3Aclient-assertion-type%%3Ajwt-bearer&client_assertion=%s",
		 escope, ejwt);
	cr_assert_eq(gb_fake_http(f, "POST", "/" TENANT "/oauth2/v2.0/token", h, form, &r), 0);
	st = r.status;
	*body = r.body;
	r.body = NULL;
	gb_fake_reply_clear(&r);
	free(form);
	curl_free(ejwt);
	curl_free(escope);
	return st;
}

Test(graphfake, certificate_assertions_rs256_and_ps256)
{
	char dir[] = "/tmp/gbfake-cert.XXXXXX", client[2048], aud[256], *cert = NULL, *key = NULL, *body = NULL;
	gb_fake *f;
	int pss;

	cr_assert_not_null(mkdtemp(dir));
	cr_assert_eq(gb_fake_make_cert(dir, "client", &cert, &key), 0);
	snprintf(client, sizeof(client),
		 ", {\"client_id\": \"" CERT_CLIENT "\", \"certificate\": \"%s\", \"private_key\": \"%s\"}", cert, key);
	f = start_small(client);
	cr_assert_str_eq(f->cert_client_id, CERT_CLIENT);
	cr_assert_str_eq(f->cert_file, cert);
	snprintf(aud, sizeof(aud), "%s/" TENANT "/oauth2/v2.0/token", f->authority_url);
	for (pss = 0; pss <= 1; pss++) {
		char *jwt = make_jwt(cert, key, pss, aud, NULL);

		cr_assert_eq(assertion_token(f, jwt, &body), 200, "%s: %s", pss ? "PS256" : "RS256", body);
		cr_assert(strstr(body, "\"access_token\"") != NULL);
		free(body);
		free(jwt);
		jwt = make_jwt(cert, key, pss, aud, "tamper");
		cr_assert_eq(assertion_token(f, jwt, &body), 401, "%s", body);
		cr_assert(strstr(body, "700027") != NULL, "%s", body);
		free(body);
		free(jwt);
		jwt = make_jwt(cert, key, pss, "https://login.microsoftonline.com/" TENANT "/oauth2/v2.0/token", NULL);
		cr_assert_eq(assertion_token(f, jwt, &body), 401, "%s", body);
		cr_assert(strstr(body, "50012") != NULL, "%s", body);
		free(body);
		free(jwt);
	}
	gb_fake_free(f);
	unlink(cert);
	unlink(key);
	rmdir(dir);
	free(cert);
	free(key);
}

/* ---- paging, throttling, delta, batch, log ---- */

/* Follows nextLinks from url; returns the number of items and sets *pages. */
static size_t read_all(gb_fake *f, const char *const *h, const char *url, int *pages)
{
	char next[8192];
	size_t total = 0;

	snprintf(next, sizeof(next), "%s", url);
	*pages = 0;
	while (next[0]) {
		gb_fake_reply r;
		json_t *j, *nl;

		cr_assert_eq(gb_fake_http(f, "GET", next, h, NULL, &r), 0);
		cr_assert_eq(r.status, 200, "%s", r.body);
		j = parse(r.body);
		total += json_array_size(json_object_get(j, "value"));
		nl = json_object_get(j, "@odata.nextLink");
		snprintf(next, sizeof(next), "%s", json_is_string(nl) ? json_string_value(nl) : "");
		(*pages)++;
		json_decref(j);
		gb_fake_reply_clear(&r);
	}
	return total;
}

Test(graphfake, paging_follows_next_links)
{
	gb_fake *f = start_small(NULL);
	char auth[4096];
	const char *h[] = {auth, NULL};
	int pages = 0;
	gb_fake_reply r;

	auth_header(f, auth, sizeof(auth));
	cr_assert_eq(gb_fake_control(f, "POST", "/log/clear", NULL, NULL), 200);
	cr_assert_eq(read_all(f, h, "/v1.0/groups/" BIG_GROUP "/members?$select=id&$top=100", &pages), 250);
	cr_assert_eq(pages, 3);
	cr_assert_eq(gb_fake_count_requests(f, "GET", "/members"), 3);
	cr_assert_eq(read_all(f, h, "/v1.0/groups/" BIG_GROUP "/members?$select=id", &pages), 250);
	cr_assert_eq(pages, 3, "the tenant's page_size (100) is the default");
	cr_assert_eq(gb_fake_http(f, "GET", "/v1.0/groups?$top=1000", h, NULL, &r), 0);
	cr_assert_eq(r.status, 400);
	gb_fake_reply_clear(&r);
	gb_fake_free(f);
}

Test(graphfake, throttling_with_and_without_retry_after)
{
	gb_fake *f = start_small(NULL);
	char auth[4096], *v;
	const char *h[] = {auth, NULL};
	gb_fake_reply r;
	int i;

	auth_header(f, auth, sizeof(auth));
	cr_assert_eq(gb_fake_control(f, "POST", "/faults",
				     "{\"rules\": [{\"method\": \"GET\", \"path_regex\": \"^/v1.0/groups\", \"status\": 429,"
				     " \"retry_after\": \"1\", \"count\": 2},"
				     " {\"method\": \"GET\", \"path_regex\": \"^/v1.0/users\", \"status\": 429}]}",
				     NULL),
		     200);
	for (i = 0; i < 2; i++) {
		cr_assert_eq(gb_fake_http(f, "GET", "/v1.0/groups", h, NULL, &r), 0);
		cr_assert_eq(r.status, 429);
		v = gb_fake_header(&r, "Retry-After");
		cr_assert_str_eq(v, "1");
		free(v);
		cr_assert(strstr(r.body, "\"TooManyRequests\"") != NULL, "%s", r.body);
		gb_fake_reply_clear(&r);
	}
	cr_assert_eq(gb_fake_http(f, "GET", "/v1.0/groups", h, NULL, &r), 0);
	cr_assert_eq(r.status, 200);
	gb_fake_reply_clear(&r);
	cr_assert_eq(gb_fake_http(f, "GET", "/v1.0/users", h, NULL, &r), 0);
	cr_assert_eq(r.status, 429);
	cr_assert_null(gb_fake_header(&r, "Retry-After"));
	gb_fake_reply_clear(&r);
	cr_assert_eq(gb_fake_count_requests(f, "GET", "/v1.0/groups"), 3);
	gb_fake_free(f);
}

Test(graphfake, delta_reports_a_mutation)
{
	gb_fake *f = start_small(NULL);
	char auth[4096], link[2048];
	const char *h[] = {auth, NULL};
	gb_fake_reply r;
	json_t *j, *rec, *md;

	auth_header(f, auth, sizeof(auth));
	cr_assert_eq(gb_fake_http(f, "GET", "/v1.0/groups/delta?$select=displayName,members", h, NULL, &r), 0);
	cr_assert_eq(r.status, 200);
	j = parse(r.body);
	while (json_object_get(j, "@odata.nextLink")) {
		snprintf(link, sizeof(link), "%s", json_string_value(json_object_get(j, "@odata.nextLink")));
		json_decref(j);
		gb_fake_reply_clear(&r);
		cr_assert_eq(gb_fake_http(f, "GET", link, h, NULL, &r), 0);
		j = parse(r.body);
	}
	cr_assert(json_is_string(json_object_get(j, "@odata.deltaLink")));
	snprintf(link, sizeof(link), "%s", json_string_value(json_object_get(j, "@odata.deltaLink")));
	json_decref(j);
	gb_fake_reply_clear(&r);

	cr_assert_eq(gb_fake_control(f, "POST", "/mutate",
				     "{\"changes\": [{\"op\": \"add_members\", \"group\": "
				     "\"90000000-0000-4000-8000-000000000001\", \"members\": "
				     "[\"a0000000-0000-4000-8000-000000000002\"]},"
				     " {\"op\": \"remove_members\", \"group\": \"90000000-0000-4000-8000-000000000001\","
				     " \"members\": [\"a0000000-0000-4000-8000-000000000001\"]}]}",
				     NULL),
		     200);
	cr_assert_eq(gb_fake_http(f, "GET", link, h, NULL, &r), 0);
	cr_assert_eq(r.status, 200, "%s", r.body);
	j = parse(r.body);
	cr_assert_eq(json_array_size(json_object_get(j, "value")), 1, "%s", r.body);
	rec = json_array_get(json_object_get(j, "value"), 0);
	md = json_object_get(rec, "members@delta");
	cr_assert_eq(json_array_size(md), 2);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(md, 0), "id")),
			 "a0000000-0000-4000-8000-000000000002");
	cr_assert_null(json_object_get(json_array_get(md, 0), "@removed"));
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(json_array_get(md, 1), "@removed"),
							   "reason")),
			 "deleted");
	json_decref(j);
	gb_fake_reply_clear(&r);

	cr_assert_eq(gb_fake_control(f, "POST", "/delta/expire", "{\"code\": \"syncStateNotFound\"}", NULL), 200);
	cr_assert_eq(gb_fake_http(f, "GET", link, h, NULL, &r), 0);
	cr_assert_eq(r.status, 410);
	cr_assert(strstr(r.body, "syncStateNotFound") != NULL);
	gb_fake_reply_clear(&r);
	gb_fake_free(f);
}

static char *batch_body(int n)
{
	size_t cap = (size_t)n * 128 + 32, len;
	char *b = malloc(cap);
	int i;

	cr_assert_not_null(b);
	len = (size_t)snprintf(b, cap, "{\"requests\": [");
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(b + len, cap - len,
					"%s{\"id\": \"%d\", \"method\": \"GET\", \"url\": \"/groups/%s?$select=id\"}",
					i ? "," : "", i, i == 3 ? "00000000-0000-4000-8000-0000000000ff" : BIG_GROUP);
	snprintf(b + len, cap - len, "]}");
	return b;
}

Test(graphfake, batch_limits_and_parts)
{
	gb_fake *f = start_small(NULL);
	char auth[4096], *body;
	const char *h[] = {auth, "Content-Type: application/json", NULL};
	gb_fake_reply r;
	json_t *j, *resp;
	size_t i;
	int ok = 0, missing = 0;

	auth_header(f, auth, sizeof(auth));
	body = batch_body(21);
	cr_assert_eq(gb_fake_http(f, "POST", "/v1.0/$batch", h, body, &r), 0);
	cr_assert_eq(r.status, 400, "%s", r.body);
	gb_fake_reply_clear(&r);
	free(body);
	body = batch_body(20);
	cr_assert_eq(gb_fake_http(f, "POST", "/v1.0/$batch", h, body, &r), 0);
	cr_assert_eq(r.status, 200, "%s", r.body);
	j = parse(r.body);
	json_array_foreach(json_object_get(j, "responses"), i, resp) {
		long st = (long)json_integer_value(json_object_get(resp, "status"));

		ok += st == 200;
		missing += st == 404;
	}
	cr_assert_eq(ok, 19);
	cr_assert_eq(missing, 1);
	json_decref(j);
	gb_fake_reply_clear(&r);
	free(body);
	gb_fake_free(f);
}

Test(graphfake, log_records_requests_without_secrets)
{
	gb_fake *f = start_small(NULL);
	char auth[4096], *log = NULL;
	const char *h[] = {auth, "client-request-id: 0c0c0c0c-1111-4222-8333-444444444444", NULL};
	gb_fake_reply r;

	auth_header(f, auth, sizeof(auth));
	cr_assert_eq(gb_fake_http(f, "GET", "/v1.0/users?$select=id", h, NULL, &r), 0);
	cr_assert_eq(r.status, 200);
	{
		char *echo = gb_fake_header(&r, "client-request-id");

		cr_assert_str_eq(echo, "0c0c0c0c-1111-4222-8333-444444444444");
		free(echo);
	}
	gb_fake_reply_clear(&r);
	cr_assert_eq(gb_fake_control(f, "GET", "/log", NULL, &log), 200);
	cr_assert(strstr(log, "\"/v1.0/users?$select=id\"") != NULL, "%s", log);
	cr_assert(strstr(log, "0c0c0c0c-1111-4222-8333-444444444444") != NULL);
	cr_assert(strstr(log, "s3cret-value") == NULL);
	cr_assert(strstr(log, auth + strlen("Authorization: Bearer ")) == NULL);
	free(log);
	cr_assert_eq(gb_fake_count_requests(f, NULL, "/oauth2/v2.0/token"), 1);
	cr_assert_eq(gb_fake_control(f, "POST", "/log/clear", NULL, NULL), 200);
	cr_assert_eq(gb_fake_count_requests(f, NULL, NULL), 0);
	gb_fake_free(f);
}

/* provisionOnDemand as graph-docs documents it: the result in key ("{\"result\":...,\"details\":{}}"), the
 * provisioning steps in value; with Microsoft's default (membership to on-premises users off) the job's AD view
 * loses the members of the migrated group. */
Test(graphfake, provision_on_demand_result_is_in_key)
{
	static const char tenant[] =
		"{\"tenant_id\": \"" TENANT "\", \"provision_on_demand_rate\": null,"
		" \"clients\": [{\"client_id\": \"" CLIENT "\", \"secret\": \"s3cret-value\"}],"
		" \"users\": [{\"id\": \"a0000000-0000-4000-8000-000000000002\", \"displayName\": \"Bob\","
		"              \"onPremisesObjectIdentifier\": \"0b0b0b0b-0000-4000-8000-000000000002\","
		"              \"onPremisesSyncEnabled\": true}],"
		" \"groups\": [{\"id\": \"90000000-0000-4000-8000-000000000001\", \"displayName\": \"Ops\","
		"               \"members\": [\"a0000000-0000-4000-8000-000000000002\"]}],"
		" \"servicePrincipals\": [{\"id\": \"5b000000-0000-4000-8000-000000000002\","
		"   \"appRoleAssignedTo\": [{\"principalId\": \"90000000-0000-4000-8000-000000000001\","
		"                            \"appRoleId\": \"1a0abf4d-b9fa-4512-a3a2-51ee82c6fd9f\"}],"
		"   \"synchronization\": {\"jobs\": [{\"id\": \"AAD2ADGroupProvisioning.c\", \"ad\": {\"groups\": ["
		"     {\"id\": \"90000000-0000-4000-8000-000000000001\","
		"      \"members\": [\"a0000000-0000-4000-8000-000000000002\"]}]}}]}}]}";
	static const char body[] =
		"{\"parameters\": [{\"ruleId\": \"33f7c90d-bf71-41b1-bda6-aaf0ddbee5d8#V2\", \"subjects\": ["
		"{\"objectId\": \"90000000-0000-4000-8000-000000000001\", \"objectTypeName\": \"Group\","
		" \"links\": {\"members\": [{\"objectId\": \"a0000000-0000-4000-8000-000000000002\","
		" \"objectTypeName\": \"User\"}]}}]}]}";
	gb_fake *f = NULL;
	char auth[4096], *state = NULL;
	const char *h[] = {auth, "Content-Type: application/json", NULL};
	gb_fake_reply r;
	json_t *j, *key, *value, *st;

	cr_assert_eq(gb_fake_start_json(tenant, &f), 0, "the fake did not start");
	auth_header(f, auth, sizeof(auth));
	cr_assert_eq(gb_fake_http(f, "POST",
				  "/v1.0/servicePrincipals/5b000000-0000-4000-8000-000000000002/synchronization/jobs/"
				  "AAD2ADGroupProvisioning.c/provisionOnDemand",
				  h, body, &r),
		     0);
	cr_assert_eq(r.status, 200, "%s", r.body);
	j = parse(r.body);
	key = parse(json_string_value(json_object_get(j, "key")));
	cr_assert_str_eq(json_string_value(json_object_get(key, "result")), "Success");
	value = parse(json_string_value(json_object_get(j, "value")));
	cr_assert(json_is_array(json_object_get(value, "provisioningSteps")), "%s", r.body);
	cr_assert_null(json_object_get(value, "result"), "the result is not in value");
	json_decref(value);
	json_decref(key);
	json_decref(j);
	gb_fake_reply_clear(&r);
	cr_assert_eq(gb_fake_control(f, "GET", "/state?id=5b000000-0000-4000-8000-000000000002", NULL, &state), 200);
	st = parse(state);
	j = json_array_get(json_object_get(json_object_get(st, "synchronization"), "jobs"), 0);
	j = json_array_get(json_object_get(json_object_get(j, "ad"), "groups"), 0);
	cr_assert_eq(json_array_size(json_object_get(j, "members")), 0, "%s", state);
	json_decref(st);
	free(state);
	gb_fake_free(f);
}
