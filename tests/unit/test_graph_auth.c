/* Unit tests of the Graph client's certificate credential: the JWT client assertion, verified with OpenSSL against
 * a key and self-signed certificate generated here. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "groupbridge/graph.h"
#include "groupbridge/util.h"

static char dir[256], cert_path[300], key_path[300], other_key_path[300];
static X509 *cert;

static EVP_PKEY *write_key(const char *path)
{
	EVP_PKEY *k = EVP_RSA_gen(2048);
	FILE *f;

	cr_assert_not_null(k);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	cr_assert_eq(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
	chmod(path, 0600);
	return k;
}

static void setup(void)
{
	EVP_PKEY *k, *other;
	X509_NAME *name;
	FILE *f;

	snprintf(dir, sizeof(dir), "/tmp/gb-graph-auth-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(cert_path, sizeof(cert_path), "%s/cert.pem", dir);
	snprintf(key_path, sizeof(key_path), "%s/key.pem", dir);
	snprintf(other_key_path, sizeof(other_key_path), "%s/other.pem", dir);
	k = write_key(key_path);
	other = write_key(other_key_path);
	cert = X509_new();
	ASN1_INTEGER_set(X509_get_serialNumber(cert), 42);
	X509_gmtime_adj(X509_getm_notBefore(cert), 0);
	X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
	X509_set_pubkey(cert, k);
	name = X509_get_subject_name(cert);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"groupbridge-test", -1, -1, 0);
	X509_set_issuer_name(cert, name);
	cr_assert(X509_sign(cert, k, EVP_sha256()) > 0);
	f = fopen(cert_path, "w");
	cr_assert_not_null(f);
	PEM_write_X509(f, cert);
	fclose(f);
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
}

static void teardown(void)
{
	X509_free(cert);
	unlink(cert_path);
	unlink(key_path);
	unlink(other_key_path);
	rmdir(dir);
}

static unsigned char *b64url_decode(const char *s, size_t n, size_t *outlen)
{
	unsigned char *out = malloc(n + 1);
	unsigned v = 0;
	int bits = 0;
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		const char *al = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
		const char *p = strchr(al, s[i]);
		cr_assert(p && *p, "character %c is not base64url", s[i]);
		v = v << 6 | (unsigned)(p - al);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(v >> bits);
		}
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

static json_t *part_json(const char *s, size_t n)
{
	size_t l;
	unsigned char *d = b64url_decode(s, n, &l);
	json_t *j = json_loadb((const char *)d, l, 0, NULL);

	free(d);
	cr_assert_not_null(j);
	return j;
}

static char *thumb(const EVP_MD *md)
{
	unsigned char *der = NULL, dig[EVP_MAX_MD_SIZE];
	unsigned int dl;
	int n = i2d_X509(cert, &der);
	char *t;

	cr_assert(n > 0);
	cr_assert_eq(EVP_Digest(der, (size_t)n, dig, &dl, md, NULL), 1);
	OPENSSL_free(der);
	t = gb_graph_base64url(dig, dl);
	return t;
}

/* Verifies the signature of header.claims with the certificate's public key and the given padding. */
static int verify(const char *jwt, int padding)
{
	const char *dot2 = strrchr(jwt, '.');
	size_t siglen;
	unsigned char *sig = b64url_decode(dot2 + 1, strlen(dot2 + 1), &siglen);
	EVP_PKEY *pub = X509_get_pubkey(cert);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int ok;

	cr_assert_eq(EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), NULL, pub), 1);
	cr_assert_eq(EVP_PKEY_CTX_set_rsa_padding(pctx, padding), 1);
	if (padding == RSA_PKCS1_PSS_PADDING)
		cr_assert_eq(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST), 1);
	ok = EVP_DigestVerify(md, sig, siglen, (const unsigned char *)jwt, (size_t)(dot2 - jwt)) == 1;
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pub);
	free(sig);
	return ok;
}

static void check_claims(json_t *c, time_t now)
{
	const char *aud = "https://login.example/tenant-1/oauth2/v2.0/token";
	const char *jti = json_string_value(json_object_get(c, "jti"));

	cr_assert_str_eq(json_string_value(json_object_get(c, "aud")), aud);
	cr_assert_str_eq(json_string_value(json_object_get(c, "iss")), "11111111-2222-3333-4444-555555555555");
	cr_assert_str_eq(json_string_value(json_object_get(c, "sub")), "11111111-2222-3333-4444-555555555555");
	cr_assert_not_null(jti);
	cr_assert_eq(strlen(jti), 36);
	cr_assert_eq(jti[14], '4', "jti is a version-4 UUID");
	cr_assert_eq(json_integer_value(json_object_get(c, "nbf")), (json_int_t)now);
	cr_assert_eq(json_integer_value(json_object_get(c, "exp")), (json_int_t)now + 600);
}

TestSuite(graph_jwt, .init = setup, .fini = teardown);

Test(graph_jwt, ps256_with_sha256_thumbprint_verifies_against_the_certificate)
{
	char *jwt = NULL, *t = thumb(EVP_sha256());
	const char *d1, *d2;
	gb_error err;
	json_t *h, *c;
	time_t now = 1764000000;

	cr_assert_eq(gb_graph_jwt_assertion(cert_path, key_path, GB_GRAPH_JWT_PS256,
					    "11111111-2222-3333-4444-555555555555",
					    "https://login.example/tenant-1/oauth2/v2.0/token", now, 600, &jwt, &err),
		     0, "%s", err.msg);
	d1 = strchr(jwt, '.');
	d2 = strrchr(jwt, '.');
	cr_assert(d1 && d2 && d1 != d2);
	cr_assert_null(strchr(jwt, '='), "no padding in a JWT");
	h = part_json(jwt, (size_t)(d1 - jwt));
	c = part_json(d1 + 1, (size_t)(d2 - d1 - 1));
	cr_assert_str_eq(json_string_value(json_object_get(h, "alg")), "PS256");
	cr_assert_str_eq(json_string_value(json_object_get(h, "typ")), "JWT");
	cr_assert_str_eq(json_string_value(json_object_get(h, "x5t#S256")), t);
	cr_assert_eq(strlen(t), 43, "a SHA-256 thumbprint is 43 base64url characters");
	cr_assert_null(json_object_get(h, "x5t"));
	check_claims(c, now);
	cr_assert(verify(jwt, RSA_PKCS1_PSS_PADDING), "PSS signature verifies with the certificate's key");
	cr_assert(!verify(jwt, RSA_PKCS1_PADDING), "and is not a PKCS#1 v1.5 signature");
	json_decref(h);
	json_decref(c);
	free(t);
	gb_secret_free(jwt);
}

Test(graph_jwt, rs256_with_sha1_thumbprint_verifies_against_the_certificate)
{
	char *jwt = NULL, *t = thumb(EVP_sha1());
	const char *d1;
	gb_error err;
	json_t *h;

	cr_assert_eq(gb_graph_jwt_assertion(cert_path, key_path, GB_GRAPH_JWT_RS256,
					    "11111111-2222-3333-4444-555555555555",
					    "https://login.example/tenant-1/oauth2/v2.0/token", 1764000000, 600, &jwt, &err),
		     0, "%s", err.msg);
	d1 = strchr(jwt, '.');
	h = part_json(jwt, (size_t)(d1 - jwt));
	cr_assert_str_eq(json_string_value(json_object_get(h, "alg")), "RS256");
	cr_assert_str_eq(json_string_value(json_object_get(h, "x5t")), t);
	cr_assert_eq(strlen(t), 27, "a SHA-1 thumbprint is 27 base64url characters");
	cr_assert(verify(jwt, RSA_PKCS1_PADDING));
	cr_assert(!verify(jwt, RSA_PKCS1_PSS_PADDING));
	json_decref(h);
	free(t);
	gb_secret_free(jwt);
}

Test(graph_jwt, every_assertion_has_a_fresh_jti)
{
	char *a = NULL, *b = NULL;

	cr_assert_eq(gb_graph_jwt_assertion(cert_path, key_path, GB_GRAPH_JWT_PS256, "c", "aud", 1, 600, &a, NULL), 0);
	cr_assert_eq(gb_graph_jwt_assertion(cert_path, key_path, GB_GRAPH_JWT_PS256, "c", "aud", 1, 600, &b, NULL), 0);
	cr_assert_str_neq(a, b);
	gb_secret_free(a);
	gb_secret_free(b);
}

Test(graph_jwt, a_key_that_does_not_match_the_certificate_is_a_configuration_error)
{
	char *jwt = (char *)"untouched";
	gb_error err;

	cr_assert_eq(gb_graph_jwt_assertion(cert_path, other_key_path, GB_GRAPH_JWT_PS256, "c", "aud", 1, 600, &jwt, &err),
		     GB_ECONFIG);
	cr_assert_null(jwt);
	cr_assert(strstr(err.msg, "does not match") != NULL, "%s", err.msg);
}

Test(graph_jwt, a_readable_key_file_and_a_bad_certificate_are_refused)
{
	char *jwt = NULL;
	gb_error err;

	chmod(key_path, 0644);
	cr_assert_eq(gb_graph_jwt_assertion(cert_path, key_path, GB_GRAPH_JWT_PS256, "c", "aud", 1, 600, &jwt, &err),
		     GB_ECONFIG);
	cr_assert_null(jwt);
	chmod(key_path, 0600);
	cr_assert_eq(gb_graph_jwt_assertion(key_path, key_path, GB_GRAPH_JWT_PS256, "c", "aud", 1, 600, &jwt, &err),
		     GB_ECONFIG);
	cr_assert(strstr(err.msg, "not a PEM certificate") != NULL, "%s", err.msg);
	cr_assert_eq(gb_graph_jwt_assertion("/nonexistent/cert.pem", key_path, GB_GRAPH_JWT_PS256, "c", "aud", 1, 600,
					    &jwt, &err),
		     GB_ECONFIG);
	cr_assert(strstr(err.msg, "/nonexistent/cert.pem") != NULL, "%s", err.msg);
}

Test(graph_b64, base64url_matches_rfc4648_vectors)
{
	const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	const char *want[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
	const unsigned char bin[] = {0xfb, 0xff, 0xbf};
	size_t i;

	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		char *s = gb_graph_base64url((const unsigned char *)in[i], strlen(in[i]));
		cr_assert_str_eq(s, want[i]);
		free(s);
	}
	{
		char *s = gb_graph_base64url(bin, 3);
		cr_assert_str_eq(s, "-_-_");
		free(s);
	}
}

Test(graph_ext, extension_names_drop_hyphens)
{
	char buf[128];
	gb_error err;

	cr_assert_eq(gb_graph_extension_name("9D98ED11-4C48-40d2-98fa-d781915f27e4", "GroupDN", buf, sizeof(buf), &err),
		     0);
	cr_assert_str_eq(buf, "extension_9d98ed114c4840d298fad781915f27e4_GroupDN");
	cr_assert_eq(gb_graph_extension_name("not-a-guid", "GroupDN", buf, sizeof(buf), &err), GB_EINVAL);
	cr_assert_eq(gb_graph_extension_name("9d98ed11-4c48-40d2-98fa-d781915f27e4", "GroupDN", buf, 20, &err),
		     GB_EINVAL);
}

Test(graph_b64, base64url_decodes_what_it_encodes_and_refuses_other_alphabets)
{
	unsigned char all[256], *back;
	size_t i, n = 0;
	char *text;

	for (i = 0; i < sizeof(all); i++)
		all[i] = (unsigned char)i;
	for (i = 0; i <= 4; i++) {
		text = gb_graph_base64url(all + 250, i);
		back = gb_graph_base64url_decode(text, strlen(text), &n);
		cr_assert_not_null(back, "%zu bytes: %s", i, text);
		cr_assert_eq(n, i);
		cr_assert(memcmp(back, all + 250, i) == 0);
		free(back);
		free(text);
	}
	text = gb_graph_base64url(all, sizeof(all));
	cr_assert(!strchr(text, '+') && !strchr(text, '/') && !strchr(text, '='), "%s", text);
	back = gb_graph_base64url_decode(text, strlen(text), &n);
	cr_assert_eq(n, sizeof(all));
	cr_assert(memcmp(back, all, sizeof(all)) == 0);
	free(back);
	free(text);
	back = gb_graph_base64url_decode("Zm9v", 4, &n);
	cr_assert_str_eq((char *)back, "foo", "a NUL follows the bytes");
	free(back);
	back = gb_graph_base64url_decode("Zg==", 4, &n);
	cr_assert(back && n == 1, "padding is optional, and taken");
	free(back);
	cr_assert_null(gb_graph_base64url_decode("a+b/", 4, &n), "the standard alphabet is not base64url");
	cr_assert_null(gb_graph_base64url_decode("ab cd", 5, &n));
	cr_assert_null(gb_graph_base64url_decode("abcde", 5, &n), "a length that cannot be");
}
