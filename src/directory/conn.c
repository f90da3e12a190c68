/* conn.c: connecting, binding, TLS, reconnecting, error classification and the write fence. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "directory/internal.h"
#include "groupbridge/anchor.h"
#include "groupbridge/log.h"
#include "groupbridge/util.h"

bool gb_directory_ldap_code_is_retryable(int rc)
{
	switch (rc) {
	case LDAP_BUSY:
	case LDAP_UNAVAILABLE:
	case LDAP_TIMELIMIT_EXCEEDED:
	case LDAP_SERVER_DOWN:
	case LDAP_TIMEOUT:
	case LDAP_CONNECT_ERROR:
		return true;
	default:
		return false;
	}
}

int gb_directory_ldap_code_to_error(int rc)
{
	if (rc == LDAP_SUCCESS)
		return 0;
	if (gb_directory_ldap_code_is_retryable(rc))
		return GB_ERETRY;
	switch (rc) {
	case LDAP_INVALID_CREDENTIALS:
	case LDAP_INAPPROPRIATE_AUTH:
	case LDAP_STRONG_AUTH_REQUIRED:
		return GB_EAUTH;
	case LDAP_NO_SUCH_OBJECT:
		return GB_ENOTFOUND;
	case LDAP_ALREADY_EXISTS:
		return GB_EEXISTS;
	case LDAP_NO_MEMORY:
		return GB_ENOMEM;
	case LDAP_REFERRAL:
		return GB_EREFERRAL;
	default:
		return GB_ELDAP;
	}
}

/* The "data XXX" code of a Windows bind refusal ("AcceptSecurityContext error, data 52e, v4563"), lower case, or
 * "" when the text has none. */
static void bind_data_code(const char *diag, char *code, size_t n)
{
	const char *p = strstr(diag, "AcceptSecurityContext");
	size_t k = 0;

	code[0] = '\0';
	if (!p || !(p = strstr(p, "data ")))
		return;
	for (p += 5; k + 1 < n && ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F'));
	     p++)
		code[k++] = (char)(*p >= 'A' && *p <= 'F' ? *p - 'A' + 'a' : *p);
	code[k] = '\0';
}

const char *gb_directory_explain_diagnostic(const char *diag)
{
	/* bind refusals by their data code; sources: Microsoft's Win32 error codes (ERROR_LOGON_FAILURE 0x52e, ...) */
	static const struct {
		const char *code, *meaning;
	} binds[] = {
		{"525", "no such user"},
		{"52e", "the password is wrong"},
		{"530", "the account may not log on at this time"},
		{"531", "the account may not log on from this workstation"},
		{"532", "the password has expired"},
		{"533", "the account is disabled"},
		{"701", "the account has expired"},
		{"773", "the password must be changed before the next logon"},
		{"775", "the account is locked out"},
	},
	  /* the error number the extended text starts with */
	  numbers[] = {
		  {"0000202B", "a referral: the object is in another domain or naming context of the forest"},
		  {"00002024", "an administrative limit of the DC was exceeded (for a member change: too many values in "
			       "one request)"},
		  {"00002028", "the DC requires TLS or signing for this bind (LDAP server signing requirements)"},
		  {"00000005", "access denied: the account lacks the right (missing delegation, or an object protected "
			       "by AdminSDHolder)"},
		  {"00000525", "an object named in the request does not exist (for a member change: a member value)"},
		  {"0000208D", "the object does not exist"},
		  {"00000523", "AD does not accept the value (for sAMAccountName: a forbidden character or a trailing "
			       "period)"},
		  {"00000524", "the name is in use by another object"},
	  };
	char code[16];
	size_t i;

	if (!diag)
		return NULL;
	if (strstr(diag, "primaryGroupID"))
		return "the group is the member's primary group: it is a member already, through its primaryGroupID";
	bind_data_code(diag, code, sizeof code);
	for (i = 0; code[0] && i < sizeof binds / sizeof binds[0]; i++)
		if (strcmp(code, binds[i].code) == 0)
			return binds[i].meaning;
	for (i = 0; i < sizeof numbers / sizeof numbers[0]; i++)
		if (gb_str_ihas_prefix(diag, numbers[i].code) && diag[8] == ':')
			return numbers[i].meaning;
	return NULL;
}

/* The domain a referral names: the host of its first URL (LDAP_OPT_REFERRAL_URLS), else the "ref 1: 'DOMAIN'" of
 * a Windows RefErr text; "" when neither says. */
static void referral_domain(LDAP *ld, const char *diag, char *out, size_t n)
{
	char **urls = NULL;
	const char *p;
	size_t k = 0;

	out[0] = '\0';
	if (ld && ldap_get_option(ld, LDAP_OPT_REFERRAL_URLS, &urls) == LDAP_OPT_SUCCESS && urls && urls[0]) {
		LDAPURLDesc *u = NULL;

		if (ldap_url_parse(urls[0], &u) == LDAP_URL_SUCCESS && u->lud_host)
			snprintf(out, n, "%s", u->lud_host);
		ldap_free_urldesc(u);
	}
	ldap_memvfree((void **)urls);
	if (out[0] || !diag || !(p = strstr(diag, "ref 1: '")))
		return;
	for (p += 8; *p && *p != '\'' && k + 1 < n; p++)
		out[k++] = (unsigned char)*p < 0x20 ? ' ' : *p;
	out[k] = '\0';
}

/* Does a client-side failure while connecting come from TLS? libldap reports a failed handshake or an unverified
 * certificate as a connect error whose diagnostic names it. */
static bool looks_like_tls(const char *diag)
{
	static const char *const words[] = {"tls", "ssl", "certificate", "handshake", "x509", "verif"};
	size_t i, j, n = diag ? strlen(diag) : 0;

	for (i = 0; i < n; i++)
		for (j = 0; j < sizeof words / sizeof words[0]; j++)
			if (gb_str_ihas_prefix(diag + i, words[j]))
				return true;
	return false;
}

/* Does a TCP connection to the URI's host and port succeed within timeout seconds? Used to tell a TLS failure
 * (the server answers, the handshake fails) from an unreachable server when libldap's message does not say. */
static bool tcp_reachable(const char *uri, long timeout)
{
	LDAPURLDesc *u = NULL;
	struct addrinfo hints, *res = NULL, *ai;
	char port[16];
	bool ok = false;

	if (ldap_url_parse(uri, &u) != LDAP_URL_SUCCESS || !u->lud_host || !*u->lud_host)
		goto out;
	snprintf(port, sizeof port, "%d", u->lud_port ? u->lud_port : gb_str_ihas_prefix(uri, "ldaps://") ? 636 : 389);
	memset(&hints, 0, sizeof hints);
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(u->lud_host, port, &hints, &res) != 0)
		goto out;
	for (ai = res; ai && !ok; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
		struct pollfd pfd;
		int soerr = 0;
		socklen_t sl = sizeof soerr;

		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			ok = true;
		} else if (errno == EINPROGRESS) {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			if (poll(&pfd, 1, (int)(timeout * 1000)) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 &&
			    soerr == 0)
				ok = true;
		}
		close(fd);
	}
out:
	if (res)
		freeaddrinfo(res);
	ldap_free_urldesc(u);
	return ok;
}

/* tls_uri: the URI being connected over TLS (LDAPS or StartTLS), NULL otherwise; a client-side failure on it is
 * classified GB_ETLS when the message names TLS or when the server is reachable over TCP. */
static int ldap_error_ex(gb_directory *d, LDAP *ld, int rc, const char *opname, const char *dn, const char *tls_uri,
			 gb_error *err)
{
	char *diag = NULL;
	char clean[512];
	size_t i, k = 0;
	int code = gb_directory_ldap_code_to_error(rc);

	const char *meaning;

	if (d) {
		d->last_rc = rc;
		d->last_referral[0] = '\0';
	}
	if (ld)
		ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
	/* the server's text is untrusted: bounded, control characters flattened, trailing blanks dropped */
	for (i = 0; diag && diag[i] && k + 1 < sizeof clean; i++) {
		unsigned char c = (unsigned char)diag[i];
		clean[k++] = (char)(c < 0x20 || c == 0x7f ? ' ' : c);
	}
	while (k > 0 && clean[k - 1] == ' ')
		k--;
	clean[k] = '\0';
	if (diag)
		ldap_memfree(diag);
	meaning = gb_directory_explain_diagnostic(clean);
	if (rc == LDAP_REFERRAL) {
		char domain[256];

		referral_domain(ld, clean, domain, sizeof domain);
		if (d)
			snprintf(d->last_referral, sizeof d->last_referral, "%s", domain[0] ? domain : "another domain");
		return gb_error_set(err, GB_EREFERRAL, "ldap %s %s: the object is in %s%s of this forest, not in this DC's "
				    "domain: read it through the global catalog (gc_uri) or from that domain's DC: %s (%d)%s%s",
				    opname, dn && *dn ? dn : "(root)", domain[0] ? "the domain " : "another domain",
				    domain, ldap_err2string(rc), rc, k ? ": " : "", clean);
	}
	if (tls_uri && (rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR) &&
	    (looks_like_tls(clean) || tcp_reachable(tls_uri, d ? d->connect_timeout : 5)))
		return gb_error_set(err, GB_ETLS, "ldap %s %s: the tls handshake or certificate verification failed "
				    "(ca_file %s): %s (%d)%s%s", opname, dn && *dn ? dn : "(root)",
				    d && d->ca_file ? d->ca_file : "system default", ldap_err2string(rc), rc,
				    k ? ": " : "", clean);
	return gb_error_set(err, code, "ldap %s %s: %s (%d)%s%s%s%s%s", opname, dn && *dn ? dn : "(root)",
			    ldap_err2string(rc), rc, k ? ": " : "", clean, meaning ? " (" : "", meaning ? meaning : "",
			    meaning ? ")" : "");
}

int gb_dir_ldap_error(gb_directory *d, LDAP *ld, int rc, const char *opname, const char *dn, gb_error *err)
{
	return ldap_error_ex(d, ld, rc, opname, dn, NULL, err);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0)
		;
}

/* What a failed GSSAPI bind most likely means, from libldap's result and SASL's text ("" when nothing useful). */
static const char *gssapi_hint(int ldap_rc, const char *diag)
{
	if (ldap_rc == LDAP_AUTH_UNKNOWN || (diag && strstr(diag, "No such mechanism")))
		return " (no SASL GSSAPI mechanism on this host: install libsasl2-modules-gssapi-mit)";
	if (diag && strstr(diag, "not found in Kerberos database"))
		return " (the KDC knows no service principal ldap/HOST for the host named in uri: name the DC in uri as "
		       "its SPN does, normally its fully qualified name)";
	if (diag && strstr(diag, "Sign or Seal"))
		return " (the DC and groupbridge disagree on a SASL security layer inside TLS)";
	return "";
}

/* Binds ld: simple (bind_dn, password) or SASL/GSSAPI (principal, keytab). tls: the connection is TLS-protected. */
static int bind_ld(gb_directory *d, LDAP *ld, const char *uri, bool tls, gb_error *err)
{
	char what[512];
	int rc;

	if (d->bind_method == GB_DIR_BIND_GSSAPI) {
		char *diag = NULL;
		const char *hint;

		if ((rc = gb_dir_krb5_login(d, err)))
			return gb_error_prefix(err, "ldap bind %s", uri);
		rc = gb_dir_gssapi_bind(d, ld, tls);
		if (rc == LDAP_SUCCESS)
			return 0;
		ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
		hint = gssapi_hint(rc, diag);
		ldap_memfree(diag);
		snprintf(what, sizeof what, "%s as %s (gssapi, keytab %s)", uri, d->principal, d->keytab);
		rc = ldap_error_ex(d, ld, rc, "bind", what, tls ? uri : NULL, err);
		/* a SASL failure on the client (no ticket for the DC, no mechanism) is an authentication failure, not a
		 * directory error */
		if (rc == GB_ELDAP) {
			rc = GB_EAUTH;
			if (err)
				err->code = rc;
		}
		if (*hint && err) {
			char msg[GB_ERROR_MSG_MAX];

			snprintf(msg, sizeof msg, "%s", err->msg);
			gb_error_set(err, rc, "%s%s", msg, hint);
		}
		return rc;
	}
	{
		struct berval cred;

		cred.bv_val = d->password;
		cred.bv_len = strlen(d->password);
		rc = ldap_sasl_bind_s(ld, d->bind_dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
	}
	if (rc == LDAP_SUCCESS)
		return 0;
	snprintf(what, sizeof what, "%s as %s", uri, d->bind_dn);
	return ldap_error_ex(d, ld, rc, "bind", what, tls ? uri : NULL, err);
}

/* Opens and binds one connection to uri. */
static int connect_uri(gb_directory *d, const char *uri, LDAP **out, gb_error *err)
{
	LDAP *ld = NULL;
	int rc, v3 = LDAP_VERSION3, zero = 0, demand = LDAP_OPT_X_TLS_DEMAND, tlsmin = LDAP_OPT_X_TLS_PROTOCOL_TLS1_2;
	struct timeval ct = {d->connect_timeout, 0}, ot = {d->timeout, 0};
	bool ldaps = gb_str_ihas_prefix(uri, "ldaps://");

	*out = NULL;
	rc = ldap_initialize(&ld, uri);
	if (rc != LDAP_SUCCESS || !ld)
		return gb_error_set(err, GB_EINVAL, "ldap connect %s: %s", uri, ldap_err2string(rc));
	if (ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &ct) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_TIMEOUT, &ot) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_RESTART, LDAP_OPT_ON) != LDAP_OPT_SUCCESS) {
		rc = gb_error_set(err, GB_ERROR, "ldap connect %s: cannot set connection options", uri);
		goto fail;
	}
	if (ldaps || d->start_tls) {
		if (ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand) != LDAP_OPT_SUCCESS ||
		    ldap_set_option(ld, LDAP_OPT_X_TLS_PROTOCOL_MIN, &tlsmin) != LDAP_OPT_SUCCESS ||
		    (d->ca_file && ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, d->ca_file) != LDAP_OPT_SUCCESS) ||
		    ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &zero) != LDAP_OPT_SUCCESS) {
			rc = gb_error_set(err, GB_ETLS, "ldap connect %s: cannot set up tls (ca_file %s)", uri,
					  d->ca_file ? d->ca_file : "system default");
			goto fail;
		}
	}
	if (d->start_tls && !ldaps) {
		rc = ldap_start_tls_s(ld, NULL, NULL);
		if (rc != LDAP_SUCCESS) {
			int ldap_rc = rc;

			rc = ldap_error_ex(d, ld, rc, "starttls", uri, uri, err);
			/* the server answered and refused StartTLS (a DC without a usable certificate says unavailable, 52,
			 * "Error initializing SSL/TLS"): a TLS failure, which no retry mends; only a connection that never
			 * got an answer stays retryable */
			if (ldap_rc > 0 && rc != GB_ETLS) {
				gb_error_prefix(err, "the server refused StartTLS");
				rc = GB_ETLS;
				if (err)
					err->code = rc;
			}
			goto fail;
		}
	}
	if ((rc = bind_ld(d, ld, uri, ldaps || d->start_tls, err)))
		goto fail;
	*out = ld;
	if (out == &d->ld)
		d->ld_gen++; /* another connection, maybe to another DC: gb_directory_dc_info reads it again */
	return 0;
fail:
	ldap_unbind_ext_s(ld, NULL, NULL);
	return rc;
}

static void close_ld(LDAP **ld)
{
	if (*ld)
		ldap_unbind_ext_s(*ld, NULL, NULL);
	*ld = NULL;
}

/* Handles of this process reconnecting now (a pool of twins reads it from other threads). */
static atomic_int g_reconnecting;

bool gb_directory_reconnecting(void)
{
	return atomic_load(&g_reconnecting) > 0;
}

static int reconnect_attempts(gb_directory *d, bool gc, gb_error *err);

/* Reconnects the DC (or GC) connection with backoff: 0.2 s, 0.8 s, 3.2 s before the three attempts. */
static int reconnect(gb_directory *d, bool gc, gb_error *err)
{
	int rc;

	atomic_fetch_add(&g_reconnecting, 1);
	rc = reconnect_attempts(d, gc, err);
	atomic_fetch_sub(&g_reconnecting, 1);
	return rc;
}

static int reconnect_attempts(gb_directory *d, bool gc, gb_error *err)
{
	LDAP **slot = gc ? &d->gc : &d->ld;
	long wait = 200;
	int attempt, rc = GB_ERETRY;

	close_ld(slot);
	for (attempt = 0; attempt < 3; attempt++, wait *= 4) {
		sleep_ms(wait);
		rc = connect_uri(d, gc ? d->gc_uri : d->uri, slot, err);
		if (rc == 0) {
			gb_info("ldap", "reconnected to %s", gc ? d->gc_uri : d->uri);
			return 0;
		}
		if (rc != GB_ERETRY)
			break;
	}
	return rc;
}

static int ensure_conn(gb_directory *d, bool gc, LDAP **out, gb_error *err)
{
	int rc;

	*out = NULL;
	if (gc && !d->gc_uri)
		return gb_error_set(err, GB_ECONFIG, "a global catalog search needs gc_uri in [directory]");
	if (gc && !d->gc && (rc = connect_uri(d, d->gc_uri, &d->gc, err)))
		return rc;
	if (!gc && !d->ld && (rc = reconnect(d, false, err)))
		return rc;
	*out = gc ? d->gc : d->ld;
	return 0;
}

int gb_dir_run(gb_directory *d, bool gc, const char *opname, const char *dn, gb_dir_op_fn op, void *arg,
	       const bool *may_retry, gb_error *err)
{
	LDAP *ld;
	int rc, attempt;
	int64_t t0 = gb_time_mono_ms();

	for (attempt = 0;; attempt++) {
		if ((rc = ensure_conn(d, gc, &ld, err)))
			return rc;
		rc = op(d, ld, arg);
		/* at -v, every operation with its time: where a pass waits on the DC shows in the log */
		gb_debug("ldap", "%s %s%s: %s in %lld ms", opname, dn && *dn ? dn : "(root)", gc ? " (GC)" : "",
			 rc == LDAP_SUCCESS ? "done" : ldap_err2string(rc), (long long)(gb_time_mono_ms() - t0));
		if (rc == LDAP_SUCCESS) {
			d->last_rc = 0;
			d->last_referral[0] = '\0';
			return 0;
		}
		if (attempt == 0 && (rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR) && (!may_retry || *may_retry)) {
			gb_warn("ldap", "%s %s: the server went away; reconnecting", opname, dn && *dn ? dn : "(root)");
			d->last_rc = rc;
			if ((rc = reconnect(d, gc, err)))
				return gb_error_prefix(err, "ldap %s %s: reconnecting", opname, dn && *dn ? dn : "(root)");
			continue;
		}
		return gb_dir_ldap_error(d, ld, rc, opname, dn, err);
	}
}

/* ---- opening ---- */

static int set_str(char **dst, const char *src, gb_error *err)
{
	if (!src)
		return 0;
	*dst = gb_strdup(src);
	return *dst ? 0 : gb_error_set(err, GB_ENOMEM, "out of memory");
}

static void spares_free(gb_directory *d);

void gb_directory_free(gb_directory *d)
{
	if (!d)
		return;
	spares_free(d);
	close_ld(&d->ld);
	close_ld(&d->gc);
	free((char *)d->dc.dsa);
	free((char *)d->dc.invocation_id);
	free(d->uri);
	free(d->gc_uri);
	free(d->bind_dn);
	gb_secret_free(d->password);
	free(d->keytab);
	free(d->principal);
	gb_dir_krb5_free(d->krb5);
	free(d->base_dn);
	free(d->ca_file);
	gb_dir_fence_free(d->fence);
	gb_dir_refusals_clear(d);
	free(d);
}

/* Each URI has its own TLS mode: ldaps:// is TLS from the first byte, ldap:// is upgraded with StartTLS when
 * start_tls is set (else plain, with allow_insecure only). So a DC on ldap:// with StartTLS and a Global Catalog on
 * ldaps://...:3269 go together, as do a DC on ldaps:// and a GC on ldap://...:3268 with StartTLS; start_tls is only
 * refused when no URI is ldap:// (it would do nothing). */
static int check_uri(const char *name, const char *uri, const gb_directory_params *p, gb_error *err)
{
	if (gb_str_ihas_prefix(uri, "ldaps://")) {
		if (p->start_tls && gb_str_ihas_prefix(p->uri, "ldaps://") &&
		    (!p->gc_uri || gb_str_ihas_prefix(p->gc_uri, "ldaps://")))
			return gb_error_set(err, GB_EINVAL, "%s %s: start_tls is for ldap:// uris", name, uri);
	} else if (gb_str_ihas_prefix(uri, "ldap://")) {
		if (!p->start_tls && !p->allow_insecure)
			return gb_error_set(err, GB_EINVAL,
					    "%s %s would send the password unencrypted; use ldaps:// or start_tls "
					    "(allow_insecure is for test directories only)", name, uri);
	} else {
		return gb_error_set(err, GB_EINVAL, "%s %s: must start with ldaps:// or ldap://", name, uri);
	}
	return 0;
}

/* A handle with p's settings (defaults for what p leaves at 0), not connected: what gb_directory_open and
 * gb_directory_twin both make, so that a setting added to the handle is copied by both. p is checked already. */
static int handle_new(const gb_directory_params *p, gb_directory **out, gb_error *err)
{
	gb_directory *d;
	int rc;

	*out = NULL;
	d = calloc(1, sizeof *d);
	if (!d)
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	if ((rc = set_str(&d->uri, p->uri, err)) || (rc = set_str(&d->gc_uri, p->gc_uri, err)) ||
	    (rc = set_str(&d->bind_dn, p->bind_dn, err)) || (rc = set_str(&d->password, p->password, err)) ||
	    (rc = set_str(&d->base_dn, p->base_dn, err)) || (rc = set_str(&d->ca_file, p->ca_file, err)) ||
	    (rc = set_str(&d->keytab, p->keytab, err)) || (rc = set_str(&d->principal, p->principal, err)) ||
	    (rc = gb_directory_set_fence(d, p->allowed_containers, err))) {
		gb_directory_free(d);
		return rc;
	}
	d->bind_method = p->bind_method;
	d->start_tls = p->start_tls;
	d->allow_insecure = p->allow_insecure;
	d->connect_timeout = p->connect_timeout > 0 ? p->connect_timeout : 10;
	d->timeout = p->timeout > 0 ? p->timeout : 30;
	d->page_size = p->page_size > 0 ? p->page_size : GB_DIRECTORY_PAGE_SIZE;
	d->range_size = p->range_size > 0 ? p->range_size : GB_DIRECTORY_RANGE_SIZE;
	d->member_batch = p->member_batch > 0 ? p->member_batch : GB_DIRECTORY_MEMBER_BATCH;
	*out = d;
	return 0;
}

int gb_directory_open(const gb_directory_params *p, gb_directory **out, gb_error *err)
{
	gb_directory *d = NULL;
	int rc;

	*out = NULL;
	if (!p || !p->uri || !p->base_dn)
		return gb_error_set(err, GB_EINVAL, "ldap: uri and base_dn are required");
	if (p->bind_method == GB_DIR_BIND_GSSAPI) {
		if (!p->keytab || !*p->keytab || !p->principal || !*p->principal)
			return gb_error_set(err, GB_EINVAL, "ldap: a gssapi bind needs keytab and principal");
	} else if (p->bind_method != GB_DIR_BIND_SIMPLE || !p->bind_dn || !*p->bind_dn) {
		return gb_error_set(err, GB_EINVAL, "ldap: a simple bind needs bind_dn");
	} else if (!p->password || !*p->password) {
		/* an empty password makes a simple bind anonymous (RFC 4513 5.1.2): refuse it rather than bind as nobody */
		return gb_error_set(err, GB_EINVAL, "ldap bind as %s: the password is empty", p->bind_dn);
	}
	if ((rc = check_uri("uri", p->uri, p, err)) || (p->gc_uri && (rc = check_uri("gc_uri", p->gc_uri, p, err))))
		return rc;
	/* libldap writes to its sockets without MSG_NOSIGNAL: a server that closed the connection would otherwise end
	 * the process with SIGPIPE instead of returning LDAP_SERVER_DOWN (and so never reconnect) */
	{
		struct sigaction sa;

		if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
			sa.sa_handler = SIG_IGN;
			sigemptyset(&sa.sa_mask);
			sa.sa_flags = 0;
			sigaction(SIGPIPE, &sa, NULL);
		}
	}
	if (p->password)
		gb_log_pin_secret(p->password);
	if ((rc = handle_new(p, &d, err)))
		return rc;
	if ((rc = connect_uri(d, d->uri, &d->ld, err)))
		goto fail;
	*out = d;
	return 0;
fail:
	gb_directory_free(d);
	return rc;
}

int gb_directory_open_config(const gb_config *cfg, gb_directory **out, gb_error *err)
{
	const gb_config_directory *c;
	gb_directory_params p;
	char *password = NULL, *keytab = NULL;
	int rc;

	*out = NULL;
	if ((rc = gb_config_require_directory(cfg, err)))
		return rc;
	c = &cfg->directory;
	memset(&p, 0, sizeof p);
	if (c->bind_method && strcmp(c->bind_method, "gssapi") == 0) {
		p.bind_method = GB_DIR_BIND_GSSAPI;
		if ((rc = gb_config_keytab(cfg, &keytab, err)))
			return rc;
	} else if ((rc = gb_config_bind_password(cfg, &password, err))) {
		return rc;
	}
	p.uri = c->uri;
	p.bind_dn = c->bind_dn;
	p.password = password;
	p.keytab = keytab;
	p.principal = c->principal;
	p.base_dn = c->base_dn;
	p.ca_file = c->ca_file;
	p.start_tls = c->start_tls;
	p.allow_insecure = c->allow_insecure;
	p.gc_uri = c->gc_uri;
	p.timeout = c->timeout;
	p.connect_timeout = c->timeout > 0 && c->timeout < 10 ? c->timeout : 10;
	p.member_batch = c->member_batch;
	p.allowed_containers = cfg->provisioning.present ? cfg->provisioning.allowed_containers : NULL;
	rc = gb_directory_open(&p, out, err);
	gb_secret_free(password);
	free(keytab);
	return rc;
}

const char *gb_directory_base_dn(const gb_directory *d)
{
	return d->base_dn;
}

const char *gb_directory_last_referral(const gb_directory *d)
{
	return d && d->last_referral[0] ? d->last_referral : NULL;
}

int gb_directory_last_ldap_code(const gb_directory *d)
{
	return d ? d->last_rc : 0;
}

const gb_directory_stats *gb_directory_get_stats(const gb_directory *d)
{
	return &d->stats;
}

/* ---- the fence ---- */

struct gb_dir_fence {
	gb_ad_dn **containers;
	size_t n;
	char *text; /* for messages */
};

void gb_dir_fence_free(gb_dir_fence *f)
{
	size_t i;

	if (!f)
		return;
	for (i = 0; i < f->n; i++)
		gb_ad_dn_free(f->containers[i]);
	free(f->containers);
	free(f->text);
	free(f);
}

int gb_dir_fence_new(const char *containers, gb_dir_fence **out, gb_error *err)
{
	gb_dir_fence *f;
	const char *p = containers;
	size_t cap = 0;
	int rc = 0;

	*out = NULL;
	f = calloc(1, sizeof *f);
	if (!f || !(f->text = gb_strdup(containers ? containers : ""))) {
		free(f);
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	}
	while (p && *p) {
		const char *semi = p;
		char *one;
		gb_ad_dn *dn = NULL;

		/* split on unescaped ';' (an escaped one belongs to a value) */
		while (*semi && *semi != ';') {
			if (*semi == '\\' && semi[1])
				semi++;
			semi++;
		}
		one = gb_strndup(p, (size_t)(semi - p));
		if (!one) {
			rc = gb_error_set(err, GB_ENOMEM, "out of memory");
			goto out;
		}
		rc = gb_ad_dn_parse(one, &dn, err);
		free(one);
		if (rc) {
			gb_error_prefix(err, "allowed container");
			goto out;
		}
		if (dn->nrdns == 0) {
			gb_ad_dn_free(dn); /* blanks between separators */
		} else {
			if (gb_grow(&f->containers, f->n, &cap, sizeof(*f->containers), 4)) {
				gb_ad_dn_free(dn);
				rc = gb_error_set(err, GB_ENOMEM, "out of memory");
				goto out;
			}
			f->containers[f->n++] = dn;
		}
		p = *semi ? semi + 1 : semi;
	}
out:
	if (rc) {
		gb_dir_fence_free(f);
		return rc;
	}
	*out = f;
	return 0;
}

int gb_dir_fence_check(const gb_dir_fence *f, const char *op, const char *dn, gb_error *err)
{
	gb_ad_dn *p = NULL;
	size_t i;
	int rc;

	if (!dn || dn[0] == '<')
		return gb_error_set(err, GB_EFENCE, "ldap %s %s refused: the fence needs the object's real dn", op,
				    dn ? dn : "(null)");
	if ((rc = gb_ad_dn_parse(dn, &p, err)))
		return gb_error_prefix(err, "ldap %s", op);
	for (i = 0; f && i < f->n; i++) {
		if (gb_ad_dn_is_under(p, f->containers[i])) {
			gb_ad_dn_free(p);
			return 0;
		}
	}
	gb_ad_dn_free(p);
	if (!f || f->n == 0)
		return gb_error_set(err, GB_EFENCE, "ldap %s %s refused: no allowed containers are configured", op, dn);
	return gb_error_set(err, GB_EFENCE, "ldap %s %s refused: not below an allowed container (%s)", op, dn, f->text);
}

int gb_dir_anchor_check(const char *dn, const char *anchor, const char *expected_id, gb_error *err)
{
	bool ok = expected_id ? gb_anchor_names(anchor, expected_id) : gb_anchor_is_ours(anchor);

	if (ok)
		return 0;
	return gb_error_set(err, GB_EFENCE, "ldap delete %s refused: its %s is %s%s%s, not " GB_ANCHOR_PREFIX "%s", dn,
			    GB_DIRECTORY_ANCHOR_ATTR, anchor ? "\"" : "", anchor ? anchor : "unset", anchor ? "\"" : "",
			    expected_id ? expected_id : "<id>");
}

long gb_directory_member_batch(const gb_directory *d)
{
	return d ? d->member_batch : 0;
}

void gb_directory_lower_member_batch(gb_directory *d, long n)
{
	if (d && n > 0 && n < d->member_batch)
		d->member_batch = n;
}

int gb_directory_set_fence(gb_directory *d, const char *containers, gb_error *err)
{
	gb_dir_fence *f = NULL;
	int rc;

	if ((rc = gb_dir_fence_new(containers, &f, err)))
		return rc;
	gb_dir_fence_free(d->fence);
	d->fence = f;
	return 0;
}

int gb_directory_fence_check(const gb_directory *d, const char *op, const char *dn, gb_error *err)
{
	return gb_dir_fence_check(d->fence, op, dn, err);
}

static int twin_new(const gb_directory *d, gb_directory **out, gb_error *err)
{
	gb_directory_params p = {
	    .uri = d->uri,
	    .bind_method = d->bind_method,
	    .bind_dn = d->bind_dn,
	    .password = d->password,
	    .keytab = d->keytab,
	    .principal = d->principal,
	    .base_dn = d->base_dn,
	    .ca_file = d->ca_file,
	    .start_tls = d->start_tls,
	    .allow_insecure = d->allow_insecure,
	    .gc_uri = d->gc_uri,
	    .allowed_containers = d->fence ? d->fence->text : NULL,
	    .connect_timeout = d->connect_timeout,
	    .timeout = d->timeout,
	    .page_size = d->page_size,
	    .range_size = d->range_size,
	    .member_batch = d->member_batch, /* the current one: halved when the DC refused a batch */
	};

	return handle_new(&p, out, err);
}

/* ---- twins connected ahead ---- */

struct gb_dir_spare {
	gb_directory *dir;
	pthread_t thread;
	int rc;
};

static void *spare_main(void *arg)
{
	struct gb_dir_spare *s = arg;
	char *dsa = NULL;
	gb_error e;

	gb_error_clear(&e);
	s->rc = gb_directory_connect(s->dir, &e);
	if (!s->rc && !(dsa = gb_directory_dsa(s->dir, &e)))
		s->rc = e.code ? e.code : GB_ERROR;
	free(dsa);
	return NULL;
}

void gb_directory_prepare_twins(gb_directory *d, size_t n)
{
	size_t i;

	if (d->spares || !n || !(d->spares = calloc(n, sizeof(*d->spares))))
		return;
	for (i = 0; i < n; i++) {
		struct gb_dir_spare *s = &d->spares[d->nspares];
		gb_error e;

		if (twin_new(d, &s->dir, &e))
			break;
		if (pthread_create(&s->thread, NULL, spare_main, s) != 0) {
			gb_directory_free(s->dir);
			break;
		}
		d->nspares++;
	}
	gb_debug("ldap", "connecting %zu more connection%s to %s ahead", d->nspares, d->nspares == 1 ? "" : "s", d->uri);
}

static void spares_free(gb_directory *d)
{
	while (d->nspares) {
		struct gb_dir_spare *s = &d->spares[--d->nspares];

		pthread_join(s->thread, NULL);
		gb_directory_free(s->dir);
	}
	free(d->spares);
	d->spares = NULL;
}

int gb_directory_twin(gb_directory *d, gb_directory **out, gb_error *err)
{
	while (d->nspares) {
		struct gb_dir_spare *s = &d->spares[--d->nspares];

		pthread_join(s->thread, NULL);
		/* connected ahead: it takes the settings that may have changed since (the fence apply set, the member
		 * batch a refusal halved) */
		if (!s->rc && gb_directory_set_fence(s->dir, d->fence ? d->fence->text : NULL, NULL) == 0) {
			s->dir->member_batch = d->member_batch;
			*out = s->dir;
			return 0;
		}
		gb_directory_free(s->dir);
	}
	return twin_new(d, out, err);
}

int gb_directory_connect(gb_directory *d, gb_error *err)
{
	return d->ld ? 0 : connect_uri(d, d->uri, &d->ld, err);
}

void gb_directory_stats_add(gb_directory *d, const gb_directory_stats *s)
{
	d->stats.adds += s->adds;
	d->stats.modifies += s->modifies;
	d->stats.renames += s->renames;
	d->stats.deletes += s->deletes;
}
