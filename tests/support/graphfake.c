/* graphfake.c: start and stop a private Graph fake per test; a libcurl client for it (see graphfake.h). */
#include "graphfake.h" /* support objects build without -Itests */
#include "proc.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define READY_TIMEOUT_MS 20000
#define REPLY_MAX (256u * 1024 * 1024)

#define fail(...) gb_proc_complain("graphfake", __VA_ARGS__)

#define run gb_proc_run

static int path_join(char *dst, size_t n, const char *a, const char *b)
{
	return (size_t)snprintf(dst, n, "%s/%s", a, b) < n ? 0 : -1;
}

static const char *srcdir(void)
{
	const char *s = getenv("GB_SRCDIR");

	return s && *s ? s : ".";
}

static void copy_str(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : "");
}

static void dump_log(const gb_fake *f)
{
	char p[GB_FAKE_PATH_MAX + 16], line[512];
	FILE *fp;

	if (path_join(p, sizeof(p), f->dir, "fake.log"))
		return;
	fp = fopen(p, "r");
	if (!fp)
		return;
	while (fgets(line, sizeof(line), fp))
		fprintf(stderr, "graphfake:   %s", line);
	fclose(fp);
}

static int read_info(gb_fake *f)
{
	char p[GB_FAKE_PATH_MAX + 16];
	json_error_t jerr;
	json_t *info, *clients, *c;
	size_t i;
	int rc = -1;

	if (path_join(p, sizeof(p), f->dir, "info.json"))
		return -1;
	info = json_load_file(p, 0, &jerr);
	if (!info) {
		fail("%s: %s", p, jerr.text);
		return -1;
	}
	f->port = (int)json_integer_value(json_object_get(info, "port"));
	f->load_seconds = json_number_value(json_object_get(info, "load_seconds"));
	copy_str(f->url, sizeof(f->url), json_string_value(json_object_get(info, "url")));
	copy_str(f->authority_url, sizeof(f->authority_url), f->url);
	snprintf(f->control_url, sizeof(f->control_url), "%s/_fake", f->url);
	copy_str(f->tenant_id, sizeof(f->tenant_id), json_string_value(json_object_get(info, "tenant_id")));
	clients = json_object_get(info, "clients");
	c = json_array_get(clients, 0);
	if (c) {
		copy_str(f->client_id, sizeof(f->client_id), json_string_value(json_object_get(c, "client_id")));
		if (json_is_true(json_object_get(c, "has_secret")) &&
		    path_join(f->secret_file, sizeof(f->secret_file), f->dir, "secret"))
			goto cleanup;
	}
	json_array_foreach(clients, i, c) {
		const char *cert = json_string_value(json_object_get(c, "certificate"));

		if (cert) {
			copy_str(f->cert_client_id, sizeof(f->cert_client_id),
				 json_string_value(json_object_get(c, "client_id")));
			copy_str(f->cert_file, sizeof(f->cert_file), cert);
			copy_str(f->key_file, sizeof(f->key_file),
				 json_string_value(json_object_get(c, "private_key")));
			break;
		}
	}
	rc = f->port > 0 && f->url[0] ? 0 : -1;
cleanup:
	json_decref(info);
	return rc;
}

int gb_fake_start(const char *tenant_json_path, gb_fake **out)
{
	gb_fake *f = NULL;
	const char *tmp = getenv("GB_TEST_TMP"), *ca_env = getenv("GB_TEST_CA_DIR");
	char ca_dir[GB_FAKE_PATH_MAX], script[GB_FAKE_PATH_MAX], sh_script[GB_FAKE_PATH_MAX];
	char cert[GB_FAKE_PATH_MAX + 16], key[GB_FAKE_PATH_MAX + 16], ready[GB_FAKE_PATH_MAX + 16];
	char info[GB_FAKE_PATH_MAX + 16], secret[GB_FAKE_PATH_MAX + 16], log[GB_FAKE_PATH_MAX + 16];
	*out = NULL;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	f->pid = -1;
	if ((size_t)snprintf(f->dir, sizeof(f->dir), "%s/gbfake.XXXXXX", tmp && *tmp ? tmp : "/tmp") >=
		    sizeof(f->dir) ||
	    !mkdtemp(f->dir)) {
		fail("cannot create a directory under %s: %s", tmp && *tmp ? tmp : "/tmp", strerror(errno));
		f->dir[0] = '\0';
		goto fail;
	}
	if (ca_env && *ca_env)
		copy_str(ca_dir, sizeof(ca_dir), ca_env);
	else if (path_join(ca_dir, sizeof(ca_dir), f->dir, "ca"))
		goto fail;
	if ((size_t)snprintf(script, sizeof(script), "%s/tests/testbed/graph_fake.py", srcdir()) >= sizeof(script) ||
	    (size_t)snprintf(sh_script, sizeof(sh_script), "%s/tests/testbed/graph-fake.sh", srcdir()) >=
		    sizeof(sh_script) ||
	    path_join(cert, sizeof(cert), f->dir, "server.pem") || path_join(key, sizeof(key), f->dir, "server.key") ||
	    path_join(ready, sizeof(ready), f->dir, "ready") || path_join(info, sizeof(info), f->dir, "info.json") ||
	    path_join(secret, sizeof(secret), f->dir, "secret") || path_join(log, sizeof(log), f->dir, "fake.log") ||
	    path_join(f->ca_file, sizeof(f->ca_file), ca_dir, "ca.pem")) {
		fail("paths too long under %s", f->dir);
		goto fail;
	}
	if (access(script, R_OK) != 0) {
		fail("%s not found: run the tests from the repository root or set GB_SRCDIR", script);
		goto fail;
	}
	{
		char *argv[] = {"sh", sh_script, "cert", f->dir, ca_dir, NULL};

		if (run(argv, log) != 0) {
			fail("cannot issue a certificate for the fake from the CA in %s", ca_dir);
			dump_log(f);
			goto fail;
		}
	}
	{
		char *argv[] = {"python3",     script,     "--tenant",	    (char *)tenant_json_path,
				"--cert",      cert,	   "--key",	    key,
				"--ready-file", ready,	   "--info-file",   info,
				"--secret-file", secret,   NULL};
		int rc = gb_proc_start(argv, log, ready, READY_TIMEOUT_MS, &f->pid);

		if (rc == -1) {
			fail("the fake exited during start-up (tenant %s):", tenant_json_path);
			dump_log(f);
			goto fail;
		}
		if (rc) {
			fail("the fake is not ready after %d s", READY_TIMEOUT_MS / 1000);
			goto fail;
		}
	}
	if (read_info(f)) {
		fail("cannot read %s", info);
		goto fail;
	}
	*out = f;
	return 0;
fail:
	gb_fake_free(f);
	return -1;
}

int gb_fake_start_json(const char *tenant_json, gb_fake **out)
{
	const char *tmp = getenv("GB_TEST_TMP");
	char dir[GB_FAKE_PATH_MAX], path[GB_FAKE_PATH_MAX + 16];
	FILE *fp;
	int rc;

	*out = NULL;
	if ((size_t)snprintf(dir, sizeof(dir), "%s/gbtenant.XXXXXX", tmp && *tmp ? tmp : "/tmp") >= sizeof(dir) ||
	    !mkdtemp(dir) || path_join(path, sizeof(path), dir, "tenant.json"))
		return -1;
	fp = fopen(path, "w");
	if (!fp || fputs(tenant_json, fp) < 0) {
		if (fp)
			fclose(fp);
		rc = -1;
	} else {
		rc = fclose(fp) == 0 ? gb_fake_start(path, out) : -1;
	}
	unlink(path);
	rmdir(dir);
	return rc;
}

void gb_fake_free(gb_fake *f)
{
	if (!f)
		return;
	gb_proc_stop(f->pid);
	if (f->dir[0] && !getenv("GB_TEST_KEEP")) {
		char *argv[] = {"rm", "-rf", f->dir, NULL};

		run(argv, NULL);
	}
	free(f);
}

/* ---- HTTP ---- */

typedef struct sink {
	char *data;
	size_t len;
	int too_big;
} sink;

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
	sink *s = ud;
	size_t n = size * nmemb;
	char *p;

	if (s->len + n + 1 > REPLY_MAX) {
		s->too_big = 1;
		return 0;
	}
	p = realloc(s->data, s->len + n + 1);
	if (!p)
		return 0;
	s->data = p;
	memcpy(s->data + s->len, ptr, n);
	s->len += n;
	s->data[s->len] = '\0';
	return n;
}

/* keeps only the headers of the last response (a new status line starts over) */
static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
	sink *s = ud;
	size_t n = size * nmemb;

	if (n >= 5 && strncmp(ptr, "HTTP/", 5) == 0)
		s->len = 0;
	return on_data(ptr, size, nmemb, ud) == n ? n : 0;
}

void gb_fake_reply_clear(gb_fake_reply *r)
{
	if (!r)
		return;
	free(r->body);
	free(r->headers);
	memset(r, 0, sizeof(*r));
}

int gb_fake_http(gb_fake *f, const char *method, const char *url, const char *const *headers, const char *body,
		 gb_fake_reply *out)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hl = NULL;
	sink b = {0}, h = {0};
	char full[16384];
	CURLcode cc;
	size_t i;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!c)
		return -1;
	if ((size_t)snprintf(full, sizeof(full), "%s%s", url[0] == '/' ? f->url : "", url) >= sizeof(full)) {
		fail("url too long");
		goto cleanup;
	}
	for (i = 0; headers && headers[i]; i++)
		hl = curl_slist_append(hl, headers[i]);
	if (body && !(headers && headers[0]))
		hl = curl_slist_append(hl, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, full);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_CAINFO, f->ca_file);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		fail("%s %s: %s", method, full, curl_easy_strerror(cc));
		goto cleanup;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	out->body = b.data ? b.data : calloc(1, 1);
	out->body_len = b.len;
	out->headers = h.data ? h.data : calloc(1, 1);
	b.data = h.data = NULL;
	rc = out->body && out->headers ? 0 : -1;
	if (rc)
		gb_fake_reply_clear(out);
cleanup:
	free(b.data);
	free(h.data);
	curl_slist_free_all(hl);
	curl_easy_cleanup(c);
	return rc;
}

char *gb_fake_header(const gb_fake_reply *r, const char *name)
{
	size_t n = strlen(name);
	const char *p = r->headers;

	while (p && *p) {
		const char *eol = strstr(p, "\r\n");
		size_t len = eol ? (size_t)(eol - p) : strlen(p);

		if (len > n && p[n] == ':' && strncasecmp(p, name, n) == 0) {
			const char *v = p + n + 1;
			char *out;

			while (*v == ' ')
				v++;
			len -= (size_t)(v - p);
			out = malloc(len + 1);
			if (out) {
				memcpy(out, v, len);
				out[len] = '\0';
			}
			return out;
		}
		p = eol ? eol + 2 : NULL;
	}
	return NULL;
}

int gb_fake_control(gb_fake *f, const char *method, const char *path, const char *json_body, char **out_body)
{
	gb_fake_reply r;
	char url[1024];
	const char *hdrs[] = {"Content-Type: application/json", NULL};
	int status;

	if (out_body)
		*out_body = NULL;
	if ((size_t)snprintf(url, sizeof(url), "/_fake%s", path) >= sizeof(url))
		return -1;
	if (gb_fake_http(f, method, url, hdrs, json_body, &r))
		return -1;
	status = (int)r.status;
	if (out_body) {
		*out_body = r.body;
		r.body = NULL;
	}
	gb_fake_reply_clear(&r);
	return status;
}

static char *read_file(const char *path)
{
	FILE *fp = fopen(path, "r");
	char buf[4096];
	size_t n;

	if (!fp)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	return strdup(buf);
}

int gb_fake_token(gb_fake *f, char **out)
{
	char *secret = NULL, *e_secret = NULL, *e_scope = NULL, *form = NULL, url[512], scope[256];
	const char *hdrs[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
	gb_fake_reply r = {0};
	json_t *root = NULL;
	size_t n;
	int rc = -1;

	*out = NULL;
	if (!f->secret_file[0] || !(secret = read_file(f->secret_file))) {
		fail("the tenant's first client has no secret");
		return -1;
	}
	snprintf(scope, sizeof(scope), "%s/.default", f->url);
	snprintf(url, sizeof(url), "/%s/oauth2/v2.0/token", f->tenant_id);
	e_secret = curl_easy_escape(NULL, secret, 0);
	e_scope = curl_easy_escape(NULL, scope, 0);
	if (!e_secret || !e_scope)
		goto cleanup;
	n = strlen(e_secret) + strlen(e_scope) + strlen(f->client_id) + 128;
	form = malloc(n);
	if (!form)
		goto cleanup;
	snprintf(form, n, "grant_type=client_credentials&client_id=%s&client_secret=%s&scope=%s", f->client_id,
		 e_secret, e_scope);
	if (gb_fake_http(f, "POST", url, hdrs, form, &r))
		goto cleanup;
	root = json_loads(r.body, 0, NULL);
	if (r.status != 200 || !json_is_string(json_object_get(root, "access_token"))) {
		fail("token request: %ld %s", r.status, r.body);
		goto cleanup;
	}
	*out = strdup(json_string_value(json_object_get(root, "access_token")));
	rc = *out ? 0 : -1;
cleanup:
	json_decref(root);
	gb_fake_reply_clear(&r);
	free(form);
	curl_free(e_secret);
	curl_free(e_scope);
	free(secret);
	return rc;
}

int gb_fake_count_requests(gb_fake *f, const char *method, const char *needle)
{
	char *body = NULL;
	json_t *root, *e;
	size_t i;
	int count = 0;

	if (gb_fake_control(f, "GET", "/log", NULL, &body) != 200) {
		free(body);
		return -1;
	}
	root = json_loads(body, 0, NULL);
	free(body);
	if (!root)
		return -1;
	json_array_foreach(json_object_get(root, "value"), i, e) {
		const char *m = json_string_value(json_object_get(e, "method"));
		const char *p = json_string_value(json_object_get(e, "path"));

		if ((!method || (m && strcmp(m, method) == 0)) && (!needle || (p && strstr(p, needle))))
			count++;
	}
	json_decref(root);
	return count;
}

int gb_fake_graph_ini(const gb_fake *f, char *dst, size_t n)
{
	size_t w = (size_t)snprintf(dst, n,
				    "[graph]\ntenant_id = %s\nclient_id = %s\nclient_secret_file = %s\n"
				    "authority_url = %s\ngraph_url = %s\nca_file = %s\n",
				    f->tenant_id, f->client_id, f->secret_file, f->authority_url, f->url, f->ca_file);

	return w < n ? 0 : -1;
}

int gb_fake_make_cert(const char *dir, const char *name, char **cert, char **key)
{
	char c[GB_FAKE_PATH_MAX], k[GB_FAKE_PATH_MAX], subj[256];

	*cert = *key = NULL;
	if ((size_t)snprintf(c, sizeof(c), "%s/%s.pem", dir, name) >= sizeof(c) ||
	    (size_t)snprintf(k, sizeof(k), "%s/%s.key", dir, name) >= sizeof(k))
		return -1;
	snprintf(subj, sizeof(subj), "/CN=%s", name);
	{
		char *argv[] = {"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", subj,
				"-keyout", k, "-out", c, NULL};

		if (run(argv, "/dev/null") != 0) {
			fail("openssl could not make a certificate in %s", dir);
			return -1;
		}
	}
	if (chmod(k, 0600) != 0)
		return -1;
	*cert = strdup(c);
	*key = strdup(k);
	if (!*cert || !*key) {
		free(*cert);
		free(*key);
		*cert = *key = NULL;
		return -1;
	}
	return 0;
}
