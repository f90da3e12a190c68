/* auth.c: OAuth2 client credentials: the client secret, or a certificate's JWT client assertion signed with
 * OpenSSL; the token cache. */
#include "graph/graph_int.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/buf.h"
#include "groupbridge/log.h"
#include "groupbridge/util.h"

#define CERT_MAX (1024 * 1024)
#define RENEW_MARGIN_S 300

char *gb_graph_base64url(const unsigned char *data, size_t n)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char *out, *o;
	size_t i;

	if (n > ((size_t)-1) / 2)
		return NULL;
	out = malloc((n + 2) / 3 * 4 + 1);
	if (!out)
		return NULL;
	o = out;
	for (i = 0; i + 2 < n; i += 3) {
		unsigned v = (unsigned)data[i] << 16 | (unsigned)data[i + 1] << 8 | data[i + 2];
		*o++ = al[v >> 18 & 63];
		*o++ = al[v >> 12 & 63];
		*o++ = al[v >> 6 & 63];
		*o++ = al[v & 63];
	}
	if (n - i == 1) {
		unsigned v = (unsigned)data[i] << 16;
		*o++ = al[v >> 18 & 63];
		*o++ = al[v >> 12 & 63];
	} else if (n - i == 2) {
		unsigned v = (unsigned)data[i] << 16 | (unsigned)data[i + 1] << 8;
		*o++ = al[v >> 18 & 63];
		*o++ = al[v >> 12 & 63];
		*o++ = al[v >> 6 & 63];
	}
	*o = '\0';
	return out;
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

int gb_graph_jwt_assertion(const char *cert_file, const char *key_file, gb_graph_jwt_alg alg, const char *client_id,
			   const char *audience, time_t now, long lifetime, char **out, gb_error *err)
{
	gb_buf certpem, jwt;
	char *keypem = NULL, *thumb = NULL, *h64 = NULL, *c64 = NULL, *s64 = NULL, jti[40];
	BIO *bio = NULL;
	X509 *cert = NULL;
	EVP_PKEY *key = NULL;
	EVP_MD_CTX *md = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char *der = NULL, dig[EVP_MAX_MD_SIZE], *sig = NULL;
	unsigned int diglen = 0;
	size_t siglen = 0;
	int derlen, rc;
	json_t *hdr = NULL, *claims = NULL;

	*out = NULL;
	gb_buf_init(&certpem, CERT_MAX);
	gb_buf_init(&jwt, 64 * 1024);
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
	if (!key) {
		rc = gb_error_set(err, GB_ECONFIG, "%s: not an unencrypted PEM private key (%s)", key_file, ossl_reason());
		goto cleanup;
	}
	if (EVP_PKEY_base_id(key) != EVP_PKEY_RSA) {
		rc = gb_error_set(err, GB_ECONFIG, "%s: the private key is not an RSA key (PS256 and RS256 need RSA)",
				  key_file);
		goto cleanup;
	}
	if (X509_check_private_key(cert, key) != 1) {
		ERR_clear_error();
		rc = gb_error_set(err, GB_ECONFIG, "%s does not match the certificate %s", key_file, cert_file);
		goto cleanup;
	}
	derlen = i2d_X509(cert, &der);
	if (derlen <= 0 || EVP_Digest(der, (size_t)derlen, dig, &diglen,
				      alg == GB_GRAPH_JWT_PS256 ? EVP_sha256() : EVP_sha1(), NULL) != 1) {
		rc = gb_error_set(err, GB_ECONFIG, "%s: cannot compute the certificate thumbprint (%s)", cert_file,
				  ossl_reason());
		goto cleanup;
	}
	thumb = gb_graph_base64url(dig, diglen);
	rc = gb_uuid_v4(jti, sizeof(jti), err);
	if (rc)
		goto cleanup;
	hdr = json_object();
	claims = json_object();
	if (!thumb || !hdr || !claims ||
	    json_object_set_new(hdr, "alg", json_string(alg == GB_GRAPH_JWT_PS256 ? "PS256" : "RS256")) ||
	    json_object_set_new(hdr, "typ", json_string("JWT")) ||
	    json_object_set_new(hdr, alg == GB_GRAPH_JWT_PS256 ? "x5t#S256" : "x5t", json_string(thumb)) ||
	    json_object_set_new(claims, "aud", json_string(audience)) ||
	    json_object_set_new(claims, "iss", json_string(client_id)) ||
	    json_object_set_new(claims, "sub", json_string(client_id)) ||
	    json_object_set_new(claims, "jti", json_string(jti)) ||
	    json_object_set_new(claims, "nbf", json_integer((json_int_t)now)) ||
	    json_object_set_new(claims, "iat", json_integer((json_int_t)now)) ||
	    json_object_set_new(claims, "exp", json_integer((json_int_t)now + lifetime))) {
		rc = gb_error_set(err, GB_ENOMEM, "out of memory building the client assertion");
		goto cleanup;
	}
	h64 = b64_json(hdr);
	c64 = b64_json(claims);
	if (!h64 || !c64) {
		rc = gb_error_set(err, GB_ENOMEM, "out of memory building the client assertion");
		goto cleanup;
	}
	rc = gb_buf_printf(&jwt, err, "%s.%s", h64, c64);
	if (rc)
		goto cleanup;
	md = EVP_MD_CTX_new();
	if (!md || EVP_DigestSignInit(md, &pctx, EVP_sha256(), NULL, key) != 1 ||
	    (alg == GB_GRAPH_JWT_PS256 &&
	     (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	      EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
	      EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) != 1)) ||
	    (alg == GB_GRAPH_JWT_RS256 && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) ||
	    EVP_DigestSign(md, NULL, &siglen, (const unsigned char *)jwt.data, jwt.len) != 1 ||
	    !(sig = malloc(siglen)) ||
	    EVP_DigestSign(md, sig, &siglen, (const unsigned char *)jwt.data, jwt.len) != 1) {
		rc = gb_error_set(err, GB_ECONFIG, "signing the client assertion with %s failed (%s)", key_file,
				  ossl_reason());
		goto cleanup;
	}
	s64 = gb_graph_base64url(sig, siglen);
	if (!s64) {
		rc = gb_error_set(err, GB_ENOMEM, "out of memory building the client assertion");
		goto cleanup;
	}
	rc = gb_buf_printf(&jwt, err, ".%s", s64);
	if (rc)
		goto cleanup;
	*out = gb_buf_detach(&jwt);
	if (!*out)
		rc = gb_error_set(err, GB_ENOMEM, "out of memory building the client assertion");
cleanup:
	json_decref(hdr);
	json_decref(claims);
	free(thumb);
	free(h64);
	free(c64);
	free(s64);
	free(sig);
	OPENSSL_free(der);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(key);
	X509_free(cert);
	BIO_free(bio);
	gb_secret_free(keypem);
	gb_buf_free(&certpem);
	gb_buf_wipe(&jwt);
	return rc;
}

/* Appends "name=value" form-encoded. */
static int form_add(gb_buf *b, CURL *c, const char *name, const char *value, gb_error *err)
{
	char *esc = curl_easy_escape(c, value, 0);
	int rc;

	if (!esc)
		return gb_error_set(err, GB_ENOMEM, "out of memory encoding the token request");
	rc = gb_buf_printf(b, err, "%s%s=%s", b->len ? "&" : "", name, esc);
	gb_memzero(esc, strlen(esc));
	curl_free(esc);
	return rc;
}

int gb_graph__fetch_token(gb_graph *g, gb_error *err)
{
	gb_buf form, scope;
	char *assertion = NULL, what[512];
	gb_graph_response *r = NULL;
	json_t *root = NULL, *exp;
	const char *tok;
	long long expires_in = 0;
	int rc;

	gb_buf_init(&form, 256 * 1024);
	gb_buf_init(&scope, 4096);
	snprintf(what, sizeof(what), "POST %s", gb_graph__path(g, g->token_url));
	rc = gb_buf_printf(&scope, err, "%s/.default", g->graph_url);
	if (rc)
		goto cleanup;
	rc = form_add(&form, g->curl, "client_id", g->client_id, err);
	if (!rc)
		rc = form_add(&form, g->curl, "scope", gb_buf_cstr(&scope), err);
	if (!rc)
		rc = form_add(&form, g->curl, "grant_type", "client_credentials", err);
	if (rc)
		goto cleanup;
	if (g->secret) {
		rc = form_add(&form, g->curl, "client_secret", g->secret, err);
	} else {
		rc = gb_graph_jwt_assertion(g->cert_file, g->key_file, g->alg, g->client_id, g->token_url, time(NULL),
					    600, &assertion, err);
		if (!rc)
			rc = form_add(&form, g->curl, "client_assertion_type",
				      "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", err);
		if (!rc)
			rc = form_add(&form, g->curl, "client_assertion", assertion, err);
	}
	if (rc)
		goto cleanup;
	g->stats.token_requests++;
	rc = gb_graph__send(g, "POST", g->token_url, gb_buf_cstr(&form), "application/x-www-form-urlencoded", NULL, 0,
			    &r, err);
	if (rc)
		goto cleanup;
	if (r->status != 200) {
		char desc[800];

		gb_graph_describe_error(r->status, r->body, r->body_len, desc, sizeof(desc));
		rc = gb_error_set(err, r->status >= 500 ? GB_ERETRY : GB_EAUTH,
				  "%s: the authority refused a token for client %s in tenant %s: %s", what, g->client_id,
				  g->tenant_id, desc);
		goto cleanup;
	}
	rc = gb_graph_parse_json(what, r->body, r->body_len, &root, err);
	if (rc)
		goto cleanup;
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
	/* Register the token, then the secret again: the redactor keeps a bounded list and forgets the oldest. */
	if (gb_log_add_secret(g->token) || (g->secret && gb_log_add_secret(g->secret))) {
		rc = gb_error_set(err, GB_ENOMEM, "out of memory registering the token for redaction");
		goto cleanup;
	}
	g->token_lifetime_s = expires_in;
	g->token_expires_ms = gb_time_mono_ms() + expires_in * 1000;
	gb_debug("graph", "token for client %s valid %lld s", g->client_id, expires_in);
cleanup:
	if (root) {
		json_t *t = json_object_get(root, "access_token");
		if (json_is_string(t))
			gb_memzero((char *)json_string_value(t), json_string_length(t));
	}
	json_decref(root);
	if (r && r->body)
		gb_memzero(r->body, r->body_len);
	gb_graph_response_free(r);
	gb_secret_free(assertion);
	gb_buf_wipe(&form);
	gb_buf_free(&scope);
	return rc;
}

int gb_graph_token(gb_graph *g, long *expires_in, gb_error *err)
{
	int64_t margin_ms, now = gb_time_mono_ms();
	int rc;

	margin_ms = g->token_lifetime_s >= 4 * RENEW_MARGIN_S ? RENEW_MARGIN_S * 1000 : g->token_lifetime_s * 250;
	if (!g->token || now >= g->token_expires_ms - margin_ms) {
		rc = gb_graph__fetch_token(g, err);
		if (rc)
			return rc;
		now = gb_time_mono_ms();
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

/* base64url text (no padding) to bytes; NULL on a bad character. */
static unsigned char *b64url_decode(const char *s, size_t len, size_t *out_len)
{
	unsigned char *out = malloc(len * 3 / 4 + 3);
	size_t i, o = 0;
	unsigned int acc = 0;
	int bits = 0;

	if (!out)
		return NULL;
	for (i = 0; i < len; i++) {
		int v;
		char ch = s[i];
		if (ch >= 'A' && ch <= 'Z')
			v = ch - 'A';
		else if (ch >= 'a' && ch <= 'z')
			v = ch - 'a' + 26;
		else if (ch >= '0' && ch <= '9')
			v = ch - '0' + 52;
		else if (ch == '-')
			v = 62;
		else if (ch == '_')
			v = 63;
		else if (ch == '=')
			break;
		else {
			free(out);
			return NULL;
		}
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)((acc >> bits) & 0xff);
		}
	}
	out[o] = '\0';
	*out_len = o;
	return out;
}

int gb_graph_token_roles(gb_graph *g, char ***out, size_t *n, gb_error *err)
{
	const char *tok, *dot1, *dot2;
	unsigned char *payload = NULL;
	size_t plen = 0, i;
	json_t *claims = NULL, *roles, *r;
	json_error_t jerr;
	char **list = NULL;
	long life;
	int rc;

	*out = NULL;
	*n = 0;
	rc = gb_graph_token(g, &life, err);
	if (rc)
		return rc;
	tok = g->token;
	dot1 = strchr(tok, '.');
	dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
	if (!dot2 || !(payload = b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), &plen)) ||
	    !(claims = json_loadb((const char *)payload, plen, 0, &jerr))) {
		free(payload);
		return gb_error_set(err, GB_ENOTFOUND, "the access token is not a JWT: its permissions cannot be read");
	}
	free(payload);
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
	json_array_foreach(roles, i, r)
	{
		if (json_is_string(r) && !(list[(*n)++] = gb_strdup(json_string_value(r)))) {
			json_decref(claims);
			for (i = 0; list[i]; i++)
				free(list[i]);
			free(list);
			*n = 0;
			return gb_error_set(err, GB_ENOMEM, "out of memory");
		}
	}
	json_decref(claims);
	*out = list;
	return 0;
}
