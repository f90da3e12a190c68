/* internal.h: what the files of src/directory share (not a public interface). */
#ifndef GROUPBRIDGE_DIRECTORY_INTERNAL_H
#define GROUPBRIDGE_DIRECTORY_INTERNAL_H

#include <ldap.h>

#include "groupbridge/adcodec.h"
#include "groupbridge/directory.h"

/* The Kerberos side of a GSSAPI bind (kerberos.c). */
typedef struct gb_dir_krb5 gb_dir_krb5;

struct gb_directory {
	LDAP *ld;            /* the DC */
	LDAP *gc;            /* the Global Catalog, opened on first use */
	char *uri;
	char *gc_uri;
	gb_directory_bind_method bind_method;
	char *bind_dn;
	char *password;
	char *keytab;        /* GSSAPI */
	char *principal;     /* GSSAPI */
	gb_dir_krb5 *krb5;   /* GSSAPI: libkrb5 context and the private credential cache, made on first connect */
	char *base_dn;
	char *ca_file;
	bool start_tls;
	bool allow_insecure;
	long connect_timeout;
	long timeout;
	long page_size;
	long range_size;
	long member_batch;
	gb_dir_fence *fence; /* allowed containers */
	int last_rc;         /* LDAP result code of the last failure */
	char last_referral[256]; /* the domain the last referral named, "" when the last failure was none */
	gb_dir_refusal *refused; /* the values the last member change left out (gb_directory_refusals) */
	size_t nrefused;
	gb_directory_stats stats;
	unsigned long ld_gen;   /* connections of ld made so far: a reconnect changes it */
	unsigned long dc_gen;   /* the ld_gen dc was read on (dc.dsa NULL: not read) */
	bool dc_ntds;           /* dc's NTDS Settings part is read too */
	gb_directory_dc dc;     /* gb_directory_dc_info's answer; its strings owned */
	struct gb_dir_spare *spares; /* twins being connected ahead (gb_directory_prepare_twins) */
	size_t nspares;
};

/* GSSAPI, step 1: a fresh TGT for d->principal from d->keytab into d's private memory credential cache (made on
 * first use). 0, or GB_EAUTH (no usable key, unknown principal, clock skew...), GB_ERETRY (no KDC answered),
 * GB_ECONFIG (no realm or KDC configured, unreadable keytab) with a message naming principal and keytab. */
int gb_dir_krb5_login(gb_directory *d, gb_error *err);

/* GSSAPI, step 2: binds ld with SASL/GSSAPI from that cache (the thread's GSSAPI cache name is set for the bind and
 * restored afterwards). tls: the connection is TLS-protected (no SASL security layer, channel binding). Returns an
 * LDAP result code, as ldap_sasl_bind_s does (its diagnostic message on ld). */
int gb_dir_gssapi_bind(gb_directory *d, LDAP *ld, bool tls);

/* Destroys the private credential cache and frees the Kerberos context. NULL is fine. */
void gb_dir_krb5_free(gb_dir_krb5 *k);

/* Forgets the refusals of the previous member change (at the start of each). */
void gb_dir_refusals_clear(gb_directory *d);

/* One LDAP operation on a handle; returns an LDAP result code. arg is the operation's own state. */
typedef int (*gb_dir_op_fn)(gb_directory *d, LDAP *ld, void *arg);

/* Runs op on the DC (or the GC with gc), reconnecting with backoff and running it once more when the server went
 * away and may_retry (when not NULL) says so. A failure becomes an error naming opname and dn. Returns 0 or GB_E*. */
int gb_dir_run(gb_directory *d, bool gc, const char *opname, const char *dn, gb_dir_op_fn op, void *arg,
	       const bool *may_retry, gb_error *err);

/* Formats the error for an LDAP result code on ld (its diagnostic message included) and returns the GB_E* code. */
int gb_dir_ldap_error(gb_directory *d, LDAP *ld, int rc, const char *opname, const char *dn, gb_error *err);

/* Resolves "<GUID=...>" and "<SID=...>" to the object's DN (a copy of a plain DN otherwise). *out: free(). */
int gb_dir_resolve(gb_directory *d, const char *dn, char **out, gb_error *err);

/* The extended-DN control (flag 1: string GUIDs and SIDs). Static storage. */
LDAPControl *gb_dir_extended_dn_control(void);

#endif
