/* auth.c: the authentication layer: OAuth2 client credentials (the client secret, or a certificate's JWT client
 * assertion signed with OpenSSL), the token cache and its renewal. It sends through transport.c only. */
#include "graph/graph_int.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/buf.h"
#include "groupbridge/log.h"
#include "groupbridge/util.h"

#define CERT_MAX (1024 * 1024)
#define RENEW_MARGIN_S 300

/* base64url (RFC 4648 section 5) through OpenSSL's base64: EVP_EncodeBlock/EVP_DecodeBlock speak the standard
 * alphabet with padding, so only the two characters that differ and the padding are translated here. */
char *gb_graph_base64url(const unsigned char *data, size_t n)
{
	char *out;
	size_t i, len;
	int w;

	if (n > (size_t)INT_MAX / 2)
		return NULL;
	out = malloc((n + 2) / 3 * 4 + 1);
	if (!out)
		return NULL;
	w = EVP_EncodeBlock((unsigned char *)out, data, (int)n);
	len = w > 0 ? (size_t)w : 0;
	while (len && out[len - 1] == '=')
		len--;
	out[len] = '\0';
	for (i = 0; i < len; i++)
		out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
	return out;
}

unsigned char *gb_graph_base64url_decode(const char *s, size_t len, size_t *out_len)
{
	unsigned char *in, *out;
	size_t i, pad, n;
	int w;

	while (len && s[len - 1] == '=')
		len--;
	if (len % 4 == 1 || len > (size_t)INT_MAX / 2)
		return NULL;
	pad = (4 - len % 4) % 4;
	n = len + pad;
	in = malloc(n + 1);
	out = malloc(n / 4 * 3 + 1);
	if (!in || !out) {
		free(in);
		free(out);
		return NULL;
	}
	for (i = 0; i < len; i++) {
		char c = s[i];
		/* only the URL-safe alphabet: '+', '/' and white space, which EVP_DecodeBlock would take, are refused */
		if (c == '+' || c == '/' || !(isalnum((unsigned char)c) || c == '-' || c == '_'))
			goto bad;
		in[i] = (unsigned char)(c == '-' ? '+' : c == '_' ? '/' : c);
	}
	memset(in + len, '=', pad);
	w = n ? EVP_DecodeBlock(out, in, (int)n) : 0;
	if (w < 0)
		goto bad;
	/* EVP_DecodeBlock counts the bytes the padding stands for */
	*out_len = (size_t)w - pad;
	out[*out_len] = '\0';
	free(in);
	return out;
bad:
	free(in);
	free(out);
	return NULL;
}

static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return 0; /* an encrypted key is refused rather than prompted for */
}

static const char *ossl_reason(void)
{
	unsigned long e = ERR_get_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	return r ? r : "unknown OpenSSL error";
}

static char *b64_json(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER), *b;

	if (!s)
		return NULL;
	b = gb_graph_base64url((const unsigned char *)s, strlen(s));
	free(s);
	return b;
}

/* Loads the certificate and the private key and checks that they belong together (an RSA key, as PS256 and RS256
 * need). */
static int load_pair(const char *cert_file, const char *key_file, X509 **cert_out, EVP_PKEY **key_out, gb_error *err)
{
	gb_buf certpem;
	char *keypem = NULL;
	BIO *bio = NULL;
	X509 *cert = NULL;
	EVP_PKEY *key = NULL;
	int rc;

	gb_buf_init(&certpem, CERT_MAX);
	rc = gb_read_file(cert_file, &certpem, err);
	if (rc) {
		gb_error_prefix(err, "reading the graph certificate");
		if (rc != GB_ENOMEM) {
			rc = GB_ECONFIG;
			if (err)
				err->code = rc;
		}
		goto cleanup;
	}
	bio = BIO_new_mem_buf(certpem.data, (int)certpem.len);
	cert = bio ? PEM_read_bio_X509(bio, NULL, no_passphrase, NULL) : NULL;
	BIO_free(bio);
	bio = NULL;
	if (!cert) {
		rc = gb_error_set(err, GB_ECONFIG, "%s: not a PEM certificate (%s)", cert_file, ossl_reason());
		goto cleanup;
	}
	rc = gb_secret_read_file(key_file, &keypem, err);
	if (rc)
		goto cleanup;
	bio = BIO_new_mem_buf(keypem, (int)strlen(keypem));
	key = bio ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL) : NULL;
	if (!key)
		rc = gb_error_set(err, GB_ECONFIG, "%s: not an unencrypted PEM private key (%s)", key_file, ossl_reason());
	else if (EVP_PKEY_base_id(key) != EVP_PKEY_RSA)
		rc = gb_error_set(err, GB_ECONFIG, "%s: the private key is not an RSA key (PS256 and RS256 need RSA)",
				  key_file);
	else if (X509_check_private_key(cert, key) != 1) {
		ERR_clear_error();
		rc = gb_error_set(err, GB_ECONFIG, "%s does not match the certificate %s", key_file, cert_file);
	}
cleanup:
	if (!rc) {
		*cert_out = cert;
		*key_out = key;
	} else {
		X509_free(cert);
		EVP_PKEY_free(key);
	}
	BIO_free(bio);
	gb_secret_free(keypem);
	gb_buf_free(&certpem);
	return rc;
}

/* The base64url thumbprint of the DER certificate: SHA-256 for PS256 (x5t#S256), SHA-1 for RS256 (x5t). */
static int thumbprint(X509 *cert, gb_graph_jwt_alg alg, const char *cert_file, char **out, gb_error *err)
{
	unsigned char *der = NULL, dig[EVP_MAX_MD_SIZE];
	unsigned int diglen = 0;
	int derlen = i2d_X509(cert, &der), rc = 0;

	*out = NULL;
	if (derlen <= 0 || EVP_Digest(der, (size_t)derlen, dig, &diglen,
				      alg == GB_GRAPH_JWT_PS256 ? EVP_sha256() : EVP_sha1(), NULL) != 1)
		rc = gb_error_set(err, GB_ECONFIG, "%s: cannot compute the certificate thumbprint (%s)", cert_file,
				  ossl_reason());
	else if (!(*out = gb_graph_base64url(dig, diglen)))
		rc = gb_error_set(err, GB_ENOMEM, "out of memory building the client assertion");
	OPENSSL_free(der);
	return rc;
}

/* "header.claims" in base64url into jwt. */
static int jwt_body(gb_graph_jwt_alg alg, const char *thumb, const char *client_id, const char *audience, time_t now,
		    long lifetime, gb_buf *jwt, gb_error *err)
{
	json_t *hdr = NULL, *claims = NULL;
	char jti[40], *h64 = NULL, *c64 = NULL;
	int rc = gb_uuid_v4(jti, sizeof(jti), err);

	if (rc)
		return rc;
	hdr = json_pack("{s:s, s:s, s:s}", "alg", alg == GB_GRAPH_JWT_PS256 ? "PS256" : "RS256", "typ", "JWT",
			alg == GB_GRAPH_JWT_PS256 ? "x5t#S256" : "x5t", thumb);
	claims = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I}", "aud", audience, "iss", client_id, "sub", client_id,
			   "jti", jti, "nbf", (json_int_t)now, "iat", (json_int_t)now, "exp",
			   (json_int_t)now + lifetime);
	if (hdr && claims) {
		h64 = b64_json(hdr);
		c64 = b64_json(claims);
	}
	if (!h64 || !c64)
		rc = gb_error_set(err, GB_ENOMEM, "out of memory building the client assertion");
	else
		rc = gb_buf_printf(jwt, err, "%s.%s", h64, c64);
	json_decref(hdr);
	json_decref(claims);
	free(h64);
	free(c64);
	return rc;
}

/* Signs jwt with key (PSS with a digest-length salt for PS256, PKCS#1 v1.5 for RS256) and appends ".signature". */
static int jwt_sign(gb_graph_jwt_alg alg, EVP_PKEY *key, const char *key_file, gb_buf *jwt, gb_error *err)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char *sig = NULL;
	size_t siglen = 0;
	char *s64 = NULL;
	int rc = 0;

	if (!md || EVP_DigestSignInit(md, &pctx, EVP_sha256(), NULL, key) != 1 ||
	    (alg == GB_GRAPH_JWT_PS256 &&
	     (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	      EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
	      EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) != 1)) ||
	    (alg == GB_GRAPH_JWT_RS256 && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) ||
	    EVP_DigestSign(md, NULL, &siglen, (const unsigned char *)jwt->data, jwt->len) != 1 ||
	    !(sig = malloc(siglen)) ||
	    EVP_DigestSign(md, sig, &siglen, (const unsigned char *)jwt->data, jwt->len) != 1)
		rc = gb_error_set(err, GB_ECONFIG, "signing the client assertion with %s failed (%s)", key_file,
				  ossl_reason());
	else if (!(s64 = gb_graph_base64url(sig, siglen)))
		rc = gb_error_set(err, GB_ENOMEM, "out of memory building the client assertion");
	else
		rc = gb_buf_printf(jwt, err, ".%s", s64);
	free(s64);
	free(sig);
	EVP_MD_CTX_free(md);
	return rc;
}

int gb_graph_jwt_assertion(const char *cert_file, const char *key_file, gb_graph_jwt_alg alg, const char *client_id,
			   const char *audience, time_t now, long lifetime, char **out, gb_error *err)
{
	gb_buf jwt;
	X509 *cert = NULL;
	EVP_PKEY *key = NULL;
	char *thumb = NULL;
	int rc;

	*out = NULL;
	gb_buf_init(&jwt, 64 * 1024);
	rc = load_pair(cert_file, key_file, &cert, &key, err);
	if (!rc)
		rc = thumbprint(cert, alg, cert_file, &thumb, err);
	if (!rc)
		rc = jwt_body(alg, thumb, client_id, audience, now, lifetime, &jwt, err);
	if (!rc)
		rc = jwt_sign(alg, key, key_file, &jwt, err);
	if (!rc && !(*out = gb_buf_detach(&jwt)))
		rc = gb_error_set(err, GB_ENOMEM, "out of memory building the client assertion");
	free(thumb);
	EVP_PKEY_free(key);
	X509_free(cert);
	gb_buf_wipe(&jwt);
	return rc;
}

/* ---- the token ---- */

/* Appends "name=value" form-encoded. */
static int form_add(gb_buf *b, const char *name, const char *value, gb_error *err)
{
	char *esc = curl_easy_escape(NULL, value, 0);
	int rc;

	if (!esc)
		return gb_error_set(err, GB_ENOMEM, "out of memory encoding the token request");
	rc = gb_buf_printf(b, err, "%s%s=%s", b->len ? "&" : "", name, esc);
	gb_memzero(esc, strlen(esc));
	curl_free(esc);
	return rc;
}

static int token_form(gb_graph *g, gb_buf *form, gb_error *err)
{
	char *assertion = NULL, scope[1024];
	int rc;

	snprintf(scope, sizeof(scope), "%s/.default", g->graph_url);
	rc = form_add(form, "client_id", g->client_id, err);
	if (!rc)
		rc = form_add(form, "scope", scope, err);
	if (!rc)
		rc = form_add(form, "grant_type", "client_credentials", err);
	if (!rc && g->secret) {
		rc = form_add(form, "client_secret", g->secret, err);
	} else if (!rc) {
		rc = gb_graph_jwt_assertion(g->cert_file, g->key_file, g->alg, g->client_id, g->token_url, time(NULL),
					    600, &assertion, err);
		if (!rc)
			rc = form_add(form, "client_assertion_type",
				      "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", err);
		if (!rc)
			rc = form_add(form, "client_assertion", assertion, err);
	}
	gb_secret_free(assertion);
	return rc;
}

/* One POST to the token endpoint with the same retries as every request (gb_graph_retry_decide): the token request
 * creates nothing, so a transport failure may be retried like a GET. Leaves the final reply in x. */
static int token_exchange(gb_graph *g, const char *what, gb_graph__xfer *x, gb_error *err)
{
	unsigned throttles = 0, net = 0;
	int rc;

	for (;;) {
		gb_graph_retry_input in;
		gb_graph_retry_decision d;
		char crid[40];

		rc = gb_uuid_v4(crid, sizeof(crid), err);
		if (rc)
			return rc;
		curl_slist_free_all(x->headers);
		x->headers = gb_graph__std_headers(NULL, crid, "application/x-www-form-urlencoded");
		if (!x->headers)
			return gb_error_set(err, GB_ENOMEM, "%s: out of memory building headers", what);
		g->stats.requests++;
		rc = gb_graph__xfer_start(g, x, err);
		if (rc)
			return rc;
		gb_graph__transport_run(g, x, -1);
		memset(&in, 0, sizeof(in));
		in.transport = x->result;
		in.status = x->status;
		in.retry_after = -1;
		if (x->retry_after[0] && gb_graph_parse_retry_after(x->retry_after, time(NULL), &in.retry_after))
			in.retry_after = -1;
		in.method = "POST";
		in.replay_safe = true;
		in.throttles = throttles;
		in.net_failures = net;
		in.waited_ms = g->stats.wait_ms;
		in.budget_ms = g->max_wait_ms;
		in.jitter = gb_graph__jitter();
		d = gb_graph_retry_decide(&in);
		gb_debug("graph", "%s -> %ld (client-request-id %s): %s", what, x->status, crid, d.why);
		if (d.verdict == GB_GRAPH_DONE || d.verdict == GB_GRAPH_RENEW_TOKEN)
			return 0;
		if (d.verdict == GB_GRAPH_GIVE_UP)
			return d.code == GB_ETHROTTLED ? gb_graph__budget_error(g, d.wait_ms, what, err)
						       : gb_error_set(err, d.code, "%s: %s", what,
								      x->error[0] ? x->error : d.why);
		if (x->result == GB_GRAPH_XFER_OK) {
			throttles++;
			g->stats.throttled++;
			g->stats.throttled_429 += x->status == 429;
		} else {
			net++;
			g->stats.net_retries++;
			gb_warn("graph", "%s: %s; retrying in %lld ms", what, x->error, (long long)d.wait_ms);
		}
		rc = gb_graph__wait(g, d.wait_ms, what, err);
		if (rc)
			return rc;
	}
}

/* Takes access_token and expires_in from a 200 reply of the token endpoint. */
static int take_token(gb_graph *g, const char *what, gb_graph__xfer *x, gb_error *err)
{
	json_t *root = NULL, *exp, *t;
	const char *tok;
	long long expires_in = 0;
	int rc = gb_graph_parse_json(what, x->body_buf.data ? x->body_buf.data : "", x->body_buf.len, &root, err);

	if (rc)
		return rc;
	tok = gb_graph__str(root, "access_token");
	exp = json_object_get(root, "expires_in");
	if (json_is_integer(exp))
		expires_in = json_integer_value(exp);
	else if (json_is_string(exp))
		expires_in = strtoll(json_string_value(exp), NULL, 10);
	if (!tok || !*tok || expires_in <= 0) {
		rc = gb_error_set(err, GB_EPARSE, "%s: the token reply lacks access_token or a positive expires_in", what);
		goto cleanup;
	}
	gb_secret_free(g->token);
	g->token = gb_strdup(tok);
	if (!g->token) {
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
		goto cleanup;
	}
	g->token_gen++;
	/* Register the token, then the secret again: the redactor keeps a bounded list and forgets the oldest. */
	if (gb_log_add_secret(g->token) || (g->secret && gb_log_add_secret(g->secret))) {
		rc = gb_error_set(err, GB_ENOMEM, "out of memory registering the token for redaction");
		goto cleanup;
	}
	g->token_lifetime_s = expires_in;
	g->token_expires_ms = gb_graph__now(g) + expires_in * 1000;
	gb_debug("graph", "token for client %s valid %lld s", g->client_id, expires_in);
cleanup:
	t = json_object_get(root, "access_token");
	if (json_is_string(t))
		gb_memzero((char *)json_string_value(t), json_string_length(t));
	json_decref(root);
	return rc;
}

int gb_graph__fetch_token(gb_graph *g, gb_error *err)
{
	gb_buf form;
	gb_graph__xfer x;
	char what[512];
	int rc;

	memset(&x, 0, sizeof(x));
	gb_buf_init(&form, 256 * 1024);
	snprintf(what, sizeof(what), "POST %s", gb_graph__path(g, g->token_url));
	rc = token_form(g, &form, err);
	if (rc)
		goto cleanup;
	x.method = "POST";
	x.url = g->token_url;
	x.body = gb_buf_cstr(&form);
	g->stats.token_requests++;
	rc = token_exchange(g, what, &x, err);
	if (!rc && x.status != 200) {
		char desc[800];

		gb_graph_describe_error(x.status, x.body_buf.data, x.body_buf.len, desc, sizeof(desc));
		rc = gb_error_set(err, x.status >= 500 ? GB_ERETRY : GB_EAUTH,
				  "%s: the authority refused a token for client %s in tenant %s: %s", what, g->client_id,
				  g->tenant_id, desc);
	}
	if (!rc)
		rc = take_token(g, what, &x, err);
cleanup:
	if (x.body_buf.data)
		gb_memzero(x.body_buf.data, x.body_buf.len);
	gb_graph__xfer_clear(g, &x);
	curl_slist_free_all(x.headers);
	gb_buf_wipe(&form);
	return rc;
}

int gb_graph_token(gb_graph *g, long *expires_in, gb_error *err)
{
	int64_t margin_ms, now = gb_graph__now(g);
	int rc;

	margin_ms = g->token_lifetime_s >= 4 * RENEW_MARGIN_S ? RENEW_MARGIN_S * 1000 : g->token_lifetime_s * 250;
	if (!g->token || now >= g->token_expires_ms - margin_ms) {
		rc = gb_graph__fetch_token(g, err);
		if (rc)
			return rc;
		now = gb_graph__now(g);
	}
	if (expires_in)
		*expires_in = (long)((g->token_expires_ms - now) / 1000);
	return 0;
}

void gb_graph_token_invalidate(gb_graph *g)
{
	gb_secret_free(g->token);
	g->token = NULL;
	g->token_expires_ms = 0;
}

/* The claims of a JWS access token (header.payload.signature, each base64url); NULL for anything else: Microsoft
 * may issue opaque tokens, and encrypted ones (JWE, five parts) cannot be read either. */
static json_t *jwt_claims(const char *tok)
{
	const char *dot1 = strchr(tok, '.'), *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
	unsigned char *payload;
	size_t plen = 0;
	json_t *claims;

	if (!dot2 || strchr(dot2 + 1, '.'))
		return NULL;
	payload = gb_graph_base64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), &plen);
	if (!payload)
		return NULL;
	claims = json_loadb((const char *)payload, plen, 0, NULL);
	free(payload);
	if (!json_is_object(claims)) {
		json_decref(claims);
		return NULL;
	}
	return claims;
}

int gb_graph_token_roles(gb_graph *g, char ***out, size_t *n, gb_error *err)
{
	json_t *claims, *roles, *r;
	char **list;
	size_t i, k = 0;
	int rc;

	*out = NULL;
	*n = 0;
	rc = gb_graph_token(g, NULL, err);
	if (rc)
		return rc;
	claims = jwt_claims(g->token);
	if (!claims)
		return gb_error_set(err, GB_EUNSUPPORTED, "the access token is opaque (not a readable JWT, which Microsoft "
			"allows), so the permissions granted to the app cannot be read from it");
	roles = json_object_get(claims, "roles");
	if (!json_is_array(roles)) {
		json_decref(claims);
		return gb_error_set(err, GB_ENOTFOUND, "the access token carries no roles claim (no application permission "
						       "is granted to the app)");
	}
	list = calloc(json_array_size(roles) + 1, sizeof(char *));
	if (!list) {
		json_decref(claims);
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	}
	json_array_foreach(roles, i, r) {
		if (json_is_string(r) && !(list[k++] = gb_strdup(json_string_value(r)))) {
			for (i = 0; i < k; i++)
				free(list[i]);
			free(list);
			json_decref(claims);
			return gb_error_set(err, GB_ENOMEM, "out of memory");
		}
	}
	json_decref(claims);
	*out = list;
	*n = k;
	return 0;
}
