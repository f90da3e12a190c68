/* kerberos.c: the SASL/GSSAPI bind from a keytab, as sssd and adcli bind on Linux.
 *
 * Why libkrb5 in the process rather than KRB5_CLIENT_KTNAME and the default cache: environment variables are
 * process-wide (and setenv is not thread-safe), the default cache belongs to the user who runs groupbridge (an
 * operator's own tickets must neither be used nor overwritten), and MIT's automatic client-keytab login picks the
 * keytab's first principal rather than the configured one. So each connect does what `kinit -k -t KEYTAB PRINCIPAL`
 * does (krb5_get_init_creds_keytab) into a MEMORY: cache of this handle's own, and the bind points GSSAPI at that
 * cache with gss_krb5_ccache_name, MIT's documented per-thread switch, restoring the previous name right after. A
 * fresh TGT per connect also covers Windows closing an LDAP connection whose Kerberos ticket has expired: the
 * reconnect logs in again.
 */
#include <errno.h>
#include <gssapi/gssapi_krb5.h>
#include <krb5.h>
#include <sasl/sasl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "directory/internal.h"
#include "groupbridge/util.h"

struct gb_dir_krb5 {
	krb5_context ctx;
	krb5_ccache cc;
	char ccname[128]; /* MEMORY:... */
};

void gb_dir_krb5_free(gb_dir_krb5 *k)
{
	if (!k)
		return;
	if (k->cc)
		krb5_cc_destroy(k->ctx, k->cc);
	if (k->ctx)
		krb5_free_context(k->ctx);
	free(k);
}

/* GB_E* for a libkrb5 error code of an initial-credentials request */
static int krb5_code_to_error(krb5_error_code kc)
{
	switch (kc) {
	case KRB5_KDC_UNREACH:
	case KRB5_REALM_CANT_RESOLVE:
	case KRB5KRB_ERR_RESPONSE_TOO_BIG:
	case KRB5KDC_ERR_SVC_UNAVAILABLE:
		return GB_ERETRY;
	case KRB5_REALM_UNKNOWN:
	case KRB5_CONFIG_NODEFREALM:
	case KRB5_KT_NOTFOUND:
	case KRB5_KT_END:
	case ENOENT:
	case EACCES:
		return GB_ECONFIG;
	default:
		return GB_EAUTH;
	}
}

static int krb5_fail(gb_directory *d, krb5_context ctx, krb5_error_code kc, const char *what, gb_error *err)
{
	const char *msg = ctx ? krb5_get_error_message(ctx, kc) : NULL;
	int rc = krb5_code_to_error(kc);

	gb_error_set(err, rc, "kerberos login as %s with keytab %s: %s: %s (%ld)%s", d->principal, d->keytab, what,
		     msg ? msg : "unknown error", (long)kc,
		     kc == KRB5_KT_NOTFOUND ? " (the keytab holds no key for this principal; klist -k -e shows what it "
					      "holds)" :
		     kc == KRB5KDC_ERR_C_PRINCIPAL_UNKNOWN ? " (the KDC does not know this principal)" :
		     kc == KRB5KRB_AP_ERR_SKEW ? " (the clocks of this host and the DC differ by more than 5 minutes)" :
		     kc == KRB5KDC_ERR_PREAUTH_FAILED || kc == KRB5KRB_AP_ERR_BAD_INTEGRITY
			     ? " (the keys in the keytab are not the account's current ones: export the keytab again "
			       "after a password change)" : "");
	if (msg)
		krb5_free_error_message(ctx, msg);
	return rc;
}

/* The handle's context and its memory cache, made once. */
static int krb5_setup(gb_directory *d, gb_error *err)
{
	gb_dir_krb5 *k;
	krb5_error_code kc;

	if (d->krb5)
		return 0;
	if (!(k = calloc(1, sizeof *k)))
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	if ((kc = krb5_init_context(&k->ctx))) {
		free(k);
		return gb_error_set(err, GB_ECONFIG, "kerberos login as %s: cannot read the kerberos configuration "
				    "(krb5.conf, $KRB5_CONFIG): error %ld", d->principal, (long)kc);
	}
	/* MEMORY: caches are private to the process; the unique name keeps two handles (DC and tests) apart */
	if ((kc = krb5_cc_new_unique(k->ctx, "MEMORY", NULL, &k->cc))) {
		int rc = krb5_fail(d, k->ctx, kc, "creating a memory credential cache", err);

		gb_dir_krb5_free(k);
		return rc;
	}
	snprintf(k->ccname, sizeof k->ccname, "MEMORY:%s", krb5_cc_get_name(k->ctx, k->cc));
	d->krb5 = k;
	return 0;
}

int gb_dir_krb5_login(gb_directory *d, gb_error *err)
{
	krb5_principal client = NULL;
	krb5_keytab kt = NULL;
	krb5_get_init_creds_opt *opt = NULL;
	krb5_creds creds;
	krb5_error_code kc;
	krb5_context ctx;
	int rc;

	if ((rc = krb5_setup(d, err)))
		return rc;
	ctx = d->krb5->ctx;
	memset(&creds, 0, sizeof creds);
	if ((kc = krb5_parse_name(ctx, d->principal, &client))) {
		rc = krb5_fail(d, ctx, kc, "parsing the principal", err);
		goto out;
	}
	if ((kc = krb5_kt_resolve(ctx, d->keytab, &kt))) {
		rc = krb5_fail(d, ctx, kc, "opening the keytab", err);
		goto out;
	}
	if ((kc = krb5_get_init_creds_opt_alloc(ctx, &opt))) {
		rc = krb5_fail(d, ctx, kc, "allocating options", err);
		goto out;
	}
	if ((kc = krb5_get_init_creds_keytab(ctx, &creds, client, kt, 0, NULL, opt))) {
		rc = krb5_fail(d, ctx, kc, "getting a ticket-granting ticket", err);
		goto out;
	}
	/* initialize empties the cache: the previous connect's tickets go, the new TGT is the only one */
	if ((kc = krb5_cc_initialize(ctx, d->krb5->cc, client)) || (kc = krb5_cc_store_cred(ctx, d->krb5->cc, &creds))) {
		rc = krb5_fail(d, ctx, kc, "storing the ticket in the memory cache", err);
		goto out;
	}
	rc = 0;
out:
	krb5_free_cred_contents(ctx, &creds);
	if (opt)
		krb5_get_init_creds_opt_free(ctx, opt);
	if (kt)
		krb5_kt_close(ctx, kt);
	if (client)
		krb5_free_principal(ctx, client);
	return rc;
}

/* libldap's SASL prompts: GSSAPI asks at most for an authorization identity, and we want none (the principal's own) */
static int interact(LDAP *ld, unsigned flags, void *defaults, void *in)
{
	sasl_interact_t *it;

	(void)ld;
	(void)flags;
	(void)defaults;
	for (it = in; it && it->id != SASL_CB_LIST_END; it++) {
		it->result = "";
		it->len = 0;
	}
	return LDAP_SUCCESS;
}

int gb_dir_gssapi_bind(gb_directory *d, LDAP *ld, bool tls)
{
	OM_uint32 minor;
	const char *prev = NULL;
	char *saved = NULL;
	int rc, cb = LDAP_OPT_X_SASL_CBINDING_TLS_ENDPOINT;

	/* the SPN is ldap/<host of the uri>: no reverse lookup of the address (a DC behind a load balancer or a
	 * loopback test DC would otherwise ask for a ticket to whatever the PTR record says) */
	if (ldap_set_option(ld, LDAP_OPT_X_SASL_NOCANON, LDAP_OPT_ON) != LDAP_OPT_SUCCESS)
		return LDAP_LOCAL_ERROR;
	/* inside TLS: no SASL signing or sealing (Windows refuses it there, as sssd's AD provider knows), and the TLS channel bound into
	 * the authenticator (tls-server-end-point, what Windows' LdapEnforceChannelBinding checks) */
	if (tls && (ldap_set_option(ld, LDAP_OPT_X_SASL_SECPROPS, "maxssf=0") != LDAP_OPT_SUCCESS ||
		    ldap_set_option(ld, LDAP_OPT_X_SASL_CBINDING, &cb) != LDAP_OPT_SUCCESS))
		return LDAP_LOCAL_ERROR;
	if (gss_krb5_ccache_name(&minor, d->krb5->ccname, &prev) != GSS_S_COMPLETE)
		return LDAP_LOCAL_ERROR;
	/* prev belongs to the GSSAPI library and is only good until the next call: copy it to restore it */
	if (prev && !(saved = gb_strdup(prev))) {
		gss_krb5_ccache_name(&minor, NULL, NULL);
		return LDAP_NO_MEMORY;
	}
	rc = ldap_sasl_interactive_bind_s(ld, NULL, "GSSAPI", NULL, NULL, LDAP_SASL_QUIET, interact, NULL);
	gss_krb5_ccache_name(&minor, saved, NULL);
	free(saved);
	return rc;
}
