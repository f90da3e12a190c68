/*
 * directory.h: the Active Directory client over LDAP (OpenLDAP's libldap).
 *
 * A gb_directory is one authenticated connection to a domain controller (plus, on demand, one to the Global Catalog).
 * It is exact about AD's formats (see adcodec.h), economical with the server (paged searches, explicit ranged reads
 * of `member`, member changes in add/delete batches) and unable to write where it must not: every write first
 * passes the write fence (the target DN must lie below an allowed container, compared as DNs) and nothing is sent
 * when it does not.
 *
 * Connections: ldaps://, or ldap:// with StartTLS, certificates always verified (against ca_file when given, else
 * the system's trust store); plain LDAP only with allow_insecure (the test bed). Simple bind with a DN or a UPN.
 * Referral chasing is off and search references are skipped. When the server goes away (LDAP_SERVER_DOWN or
 * LDAP_CONNECT_ERROR), the client reconnects with backoff (0.2 s, 0.8 s, 3.2 s) and retries the operation once; a
 * paged search is retried only when no entry has reached the callback yet.
 *
 * Errors: an LDAP failure becomes one message "ldap OPERATION DN: REASON (CODE): SERVER DIAGNOSTIC (MEANING)" and a
 * code; MEANING is what a Windows DC's extended error text says in words (gb_directory_explain_diagnostic), when
 * it is one of the common ones:
 *   GB_ERETRY   retryable: busy, unavailable, server down, connect error, time limit, timeout
 *   GB_EAUTH    invalid credentials (49), strongerAuthRequired (8: a simple bind without TLS on a hardened DC) and
 *               other bind refusals
 *   GB_ETLS     the TLS handshake or certificate verification failed, or the DC refused StartTLS (a DC without a
 *               usable certificate answers it with unavailable, 52, "Error initializing SSL/TLS")
 *   GB_EREFERRAL referral (10): the object lies in another domain of the forest (a DC answers so for another
 *               domain's naming context, "0000202B: RefErr ... ref 1: 'child.contoso.com'"); the message names that
 *               domain, gb_directory_last_referral gives it. Not an error of the object: read it through the Global
 *               Catalog (GB_DIR_GC, gc_uri) or from a DC of that domain, or report it as "in domain X"
 *   GB_ENOTFOUND noSuchObject (32)
 *   GB_EEXISTS  entryAlreadyExists (68)
 *   GB_ELDAP    every other LDAP result (permanent)
 * gb_directory_last_ldap_code() gives the LDAP result code of the last failed operation.
 *
 * Not thread-safe: one gb_directory per thread.
 */
#ifndef GROUPBRIDGE_DIRECTORY_H
#define GROUPBRIDGE_DIRECTORY_H

#include <stdbool.h>
#include <stddef.h>

#include "groupbridge/buf.h"
#include "groupbridge/config.h"
#include "groupbridge/error.h"
#include "groupbridge/model.h"

#define GB_DIRECTORY_PAGE_SIZE 1000      /* entries per page of a paged search */
#define GB_DIRECTORY_RANGE_SIZE 1000     /* values asked for per ranged read of `member` */
#define GB_DIRECTORY_MEMBER_BATCH 5000   /* values per member add/delete modify (halved when a DC refuses) */
#define GB_DIRECTORY_GUID_BATCH 100      /* GUIDs per OR filter in gb_directory_find_by_guids */
#define GB_DIRECTORY_MAX_VALUE (1024 * 1024) /* larger attribute values are refused (GB_ETOOBIG) */

#define GB_GROUP_TYPE_UNIVERSAL_SECURITY (-2147483640L) /* 0x80000008, what Cloud Sync creates */
#define GB_GROUP_TYPE_GLOBAL_SECURITY (-2147483646L)    /* 0x80000002 */

#define GB_DIRECTORY_ANCHOR_ATTR "msDS-ExternalDirectoryObjectId"

typedef struct gb_directory gb_directory;

/* Explicit connection parameters (tests, tools); gb_directory_open_config fills them from a configuration.
 * Strings are copied by gb_directory_open; zero numbers mean the defaults. */
typedef enum gb_directory_bind_method {
	GB_DIR_BIND_SIMPLE = 0,        /* bind_dn and password, over TLS */
	GB_DIR_BIND_GSSAPI             /* SASL/GSSAPI (Kerberos) as principal, with the keys in keytab */
} gb_directory_bind_method;

typedef struct gb_directory_params {
	const char *uri;               /* ldaps://host[:port] or ldap://host[:port]; with GSSAPI the host is the one of
				        * the DC's service principal ldap/HOST (never canonicalised through DNS) */
	gb_directory_bind_method bind_method;
	const char *bind_dn;           /* simple: a DN or a UPN (user@domain) */
	const char *password;          /* simple */
	const char *keytab;            /* GSSAPI: a keytab file (path, or any name libkrb5 resolves: FILE:..) */
	const char *principal;         /* GSSAPI: the client principal, svc-groupbridge@CONTOSO.COM */
	const char *base_dn;           /* the domain's naming context: where subtree lookups start */
	const char *ca_file;           /* PEM bundle to verify the server; NULL: the system's trust store */
	bool start_tls;                /* every ldap:// URI (uri, gc_uri) upgraded with StartTLS */
	bool allow_insecure;           /* ldap:// without TLS (test directories only) */
	const char *gc_uri;            /* Global Catalog, e.g. ldap://dc:3268 or ldaps://dc:3269 (same CA and credentials;
				        * its TLS mode is its own: LDAPS for ldaps://, StartTLS for ldap:// with start_tls) */
	const char *allowed_containers;/* ';'-separated DNs below which writes are allowed; NULL: every write refused */
	long connect_timeout;          /* seconds, default 10 */
	long timeout;                  /* seconds per operation, default 30 */
	long page_size;                /* default GB_DIRECTORY_PAGE_SIZE */
	long range_size;               /* default GB_DIRECTORY_RANGE_SIZE */
	long member_batch;             /* default GB_DIRECTORY_MEMBER_BATCH; halved for the handle's life whenever the
				        * DC refuses a request for carrying too many values (adminLimitExceeded, 11) */
} gb_directory_params;

/* Connects and binds. GB_EINVAL for missing or contradictory parameters (no uri, an ldap:// uri or gc_uri without
 * start_tls or allow_insecure, start_tls when no URI is ldap://, an empty password, which would make the bind
 * anonymous, GSSAPI without keytab or principal); GB_ETLS, GB_EAUTH,
 * GB_ERETRY (server unreachable) or GB_ELDAP with the server's message otherwise. *out is the caller's:
 * gb_directory_free. The password is registered for log redaction. Side effect: SIGPIPE is set to be ignored when it
 * has its default action, because libldap writes to sockets without MSG_NOSIGNAL and a dropped connection must be
 * an error (and a reconnect), not the end of the process.
 *
 * GSSAPI (the way sssd and adcli bind): every connect (the first, the GC's, each reconnect) first gets a fresh
 * ticket-granting ticket for principal from keytab (libkrb5, as `kinit -k` does) into a credential cache of this
 * handle's own in memory (MEMORY:, never the user's default cache, destroyed by gb_directory_free), and the SASL
 * bind uses that cache through gss_krb5_ccache_name for the duration of the bind only. The DC's service principal
 * is ldap/HOST with HOST as written in the URI (LDAP_OPT_X_SASL_NOCANON, as sssd's default: no reverse DNS); the
 * realm and KDCs come from krb5.conf ($KRB5_CONFIG). Over TLS no SASL security layer is negotiated (maxssf=0):
 * Windows refuses sign or seal inside TLS, and TLS already protects the session; channel binding
 * (tls-server-end-point, RFC 5929, LDAP_OPT_X_SASL_CBINDING) is handed to SASL, which puts it in the Kerberos
 * authenticator where the SASL library supports it (Debian 12's Cyrus SASL 2.1.28 does, by its patch 0034).
 * Without TLS (allow_insecure) the SASL layer is left to negotiate. A Kerberos failure (no keys for the principal in
 * the keytab, an unknown principal, no KDC) is GB_EAUTH, or GB_ERETRY when no KDC answered, naming principal and
 * keytab. */
int gb_directory_open(const gb_directory_params *p, gb_directory **out, gb_error *err);

/* The same from a configuration's [directory] section and bind password (gb_config_bind_password), or its keytab
 * (gb_config_keytab) and principal with bind_method = gssapi; the fence is
 * [provisioning] allowed_containers when set (else every write is refused until gb_directory_set_fence). */
int gb_directory_open_config(const gb_config *cfg, gb_directory **out, gb_error *err);

/* A second handle with d's settings (URI, bind, TLS, timeouts, its current member batch and fence), not connected
 * and with counters at zero: for a pool of connections that keeps several writes in flight (the apply engine).
 * Call it on the thread that uses d; the twin is then the caller's to use on any one thread at a time. GB_ENOMEM,
 * or GB_EPARSE as gb_directory_set_fence. *out: gb_directory_free. */
int gb_directory_twin(gb_directory *d, gb_directory **out, gb_error *err);

/* Starts connecting n twins of d now, each on a thread of its own (connect, bind, the DC's identity), so that a pool
 * that follows (the apply engine's) finds them connected: gb_directory_twin hands them out first, with d's fence
 * and member batch as they are then; a twin that could not connect is dropped there, and a fresh one made instead.
 * Once per handle; gb_directory_free waits for those not handed out. Call it on the thread that uses d. */
void gb_directory_prepare_twins(gb_directory *d, size_t n);

/* Whether some handle of this process is reconnecting now (its server went away): a pool of twins sends nothing new
 * until that is settled, so that a directory gone for good fails only the writes already in flight. */
bool gb_directory_reconnecting(void);

/* The DC a handle's connection reaches, as its root DSE and its NTDS Settings object say. */
typedef struct gb_directory_dc {
	const char *dsa;           /* rootDSE dsServiceName: it names the DC */
	const char *invocation_id; /* that NTDS Settings object's invocationId (text); NULL when it cannot be read */
	bool rodc;                 /* read-only: the RODC capability, or msDS-isRODC TRUE on its NTDS Settings */
} gb_directory_dc;

/* The DC d's connection reaches, read (two searches) once per connection: a reconnect makes the next call read it
 * again, so what it returns is always about the connection the next operation uses. An NTDS Settings read that failed
 * for a moment (busy, unavailable, a timeout) gives invocation_id NULL this time and is tried again by the next call.
 * *out is borrowed from d, valid until the next call on d. GB_ENOTFOUND when the rootDSE names no dsServiceName, else
 * the read's error. */
int gb_directory_dc_info(gb_directory *d, const gb_directory_dc **out, gb_error *err);

/* The rootDSE's dsServiceName of the DC d reaches (owned: free), which names that DC: two handles that report the same
 * one reach the same DC. Reads the root DSE only (once per connection, as gb_directory_dc_info). NULL with err set
 * (as gb_directory_dc_info). */
char *gb_directory_dsa(gb_directory *d, gb_error *err);

/* Connects and binds d when it is not connected (a twin); 0 when it is. Errors as gb_directory_open. */
int gb_directory_connect(gb_directory *d, gb_error *err);

/* Closes the connections and frees everything (the password is wiped). NULL is fine. */
void gb_directory_free(gb_directory *d);

/* Replaces the allowed containers: a ';'-separated list of DNs (each parsed; GB_EPARSE for a malformed one, the old
 * fence kept). NULL or "" allows no write at all. */
int gb_directory_set_fence(gb_directory *d, const char *containers, gb_error *err);

/* The most member values d sends in one add or modify now: the handle's member_batch, which a DC's refusal
 * (adminLimitExceeded) halves. NULL: 0. */
long gb_directory_member_batch(const gb_directory *d);

/* Lowers d's member batch to n when n is smaller (n <= 0 changes nothing): what another connection to the same DC,
 * or an earlier pass, learned from a refusal. */
void gb_directory_lower_member_batch(gb_directory *d, long n);

/* The fence of d, checked without the server (see gb_dir_fence_check). */
int gb_directory_fence_check(const gb_directory *d, const char *op, const char *dn, gb_error *err);

/* The write fence as a value of its own (pure logic, no connection). */
typedef struct gb_dir_fence gb_dir_fence;

/* Parses a ';'-separated list of container DNs (an escaped `\;` stays in its value; blank items are skipped).
 * GB_EPARSE for a malformed DN. NULL or "" gives a fence that refuses everything. *out: gb_dir_fence_free. */
int gb_dir_fence_new(const char *containers, gb_dir_fence **out, gb_error *err);
void gb_dir_fence_free(gb_dir_fence *f);

/* 0 when dn lies strictly below one of the containers (compared as DNs: RDN by RDN, types and ASCII values
 * case-insensitive, escapes decoded; never a string suffix), else GB_EFENCE with a message naming op and dn. A
 * "<GUID=...>" dn is refused (resolve it first); GB_EPARSE for a malformed dn. f may be NULL (refuses all). */
int gb_dir_fence_check(const gb_dir_fence *f, const char *op, const char *dn, gb_error *err);

/* The delete rule: 0 when anchor (the object's msDS-ExternalDirectoryObjectId, NULL when unset) is
 * "Group_<expected_id>" (id compared case-insensitively), or any non-empty "Group_..." when expected_id is NULL;
 * else GB_EFENCE with a message naming dn and the anchor found. */
int gb_dir_anchor_check(const char *dn, const char *anchor, const char *expected_id, gb_error *err);

/* The LDAP result code of the last failed operation (0 after a success; libldap's negative codes for client-side
 * failures such as LDAP_SERVER_DOWN). */
int gb_directory_last_ldap_code(const gb_directory *d);

/* The base DN the directory was opened with (borrowed). */
const char *gb_directory_base_dn(const gb_directory *d);

/* The domain named by the referral of the last failed operation ("child.contoso.com"), or NULL when the last
 * failure was not a referral (GB_EREFERRAL). Borrowed until the next operation on d. */
const char *gb_directory_last_referral(const gb_directory *d);

/* ---- errors ---- */

/* True for LDAP result codes worth retrying later: busy (51), unavailable (52), time limit (3), server down (-1),
 * timeout (-5), connect error (-11). */
bool gb_directory_ldap_code_is_retryable(int ldap_code);

/* The GB_E* code for an LDAP result code, as in the table at the top of this file. */
int gb_directory_ldap_code_to_error(int ldap_code);

/* What a Windows DC's extended error text means, in words, for the codes an operator meets: the "data" code of a
 * refused bind ("AcceptSecurityContext error, data 52e": 52e wrong password, 525 no such user, 530 and 531 not at
 * this time or from this workstation, 532 password expired, 533 account disabled, 701 account expired, 773 the
 * password must be changed, 775 account locked out) and the error number the text starts with (0000202B referral,
 * 00002024 an administrative limit, 00002028 stronger authentication required, 00000005 access denied,
 * 00000525 and 0000208D no such object, 00000523 a value AD does not accept, 00000524 the name is in use), and a
 * member refused because the group is its primary group (Samba's "already set via primaryGroupID"). NULL for any
 * other text (NULL too). Static storage. */
const char *gb_directory_explain_diagnostic(const char *diag);

/* ---- entries ---- */

typedef struct gb_dir_value {
	char *data; /* NUL-terminated for convenience; binary values may hold NUL: use len */
	size_t len;
} gb_dir_value;

typedef struct gb_dir_attr {
	char *name; /* as the server returned it (e.g. "member;range=0-999") */
	gb_dir_value *values;
	size_t nvalues;
} gb_dir_attr;

typedef struct gb_dir_entry {
	char *dn; /* with GB_DIR_EXTENDED_DN, the extended form "<GUID=...>;<SID=...>;DN" */
	gb_dir_attr *attrs;
	size_t nattrs;
} gb_dir_entry;

/* The attribute named exactly name (case-insensitive, options such as ";range=" included), or NULL. Borrowed. */
const gb_dir_attr *gb_dir_entry_attr(const gb_dir_entry *e, const char *name);

/* The first value of name as a string, or NULL. Borrowed. */
const char *gb_dir_entry_str(const gb_dir_entry *e, const char *name);

/* objectGUID as lower-case text into dst (GB_AD_GUID_TEXT_SIZE); false when absent or not 16 bytes. */
bool gb_dir_entry_guid(const gb_dir_entry *e, char *dst);

/* objectSid as text into dst (GB_AD_SID_TEXT_SIZE); false when absent or malformed. */
bool gb_dir_entry_sid(const gb_dir_entry *e, char *dst);

void gb_dir_entry_free(gb_dir_entry *e);

/* ---- reads ---- */

enum {
	GB_DIR_EXTENDED_DN = 1 << 0, /* ask for extended DNs (control 1.2.840.113556.1.4.529, flag 1) */
	GB_DIR_GC = 1 << 1           /* search the Global Catalog (gc_uri) instead of the DC; base "" is the forest */
};

enum gb_dir_scope { GB_DIR_BASE = 0, GB_DIR_ONELEVEL = 1, GB_DIR_SUBTREE = 2 };

/* Called once per entry; a non-zero return stops the search and is returned by it (set err too). The entry is
 * borrowed for the duration of the call. */
typedef int (*gb_dir_entry_cb)(const gb_dir_entry *e, void *ctx, gb_error *err);

/* A paged search (page_size entries per page) from base (NULL: the base DN) with filter; attrs is NULL-terminated
 * (NULL: all user attributes). Search references are skipped. Errors as above; GB_ENOTFOUND when base does not
 * exist. Do not read `member` (or any large multi-valued attribute) this way: Windows answers a plain read of a big
 * group with an empty `member` and a `member;range=0-1499`; use gb_directory_read_values. */
int gb_directory_search(gb_directory *d, const char *base, int scope, const char *filter, const char *const *attrs,
			unsigned flags, gb_dir_entry_cb cb, void *ctx, gb_error *err);

/* A subtree search below the base DN sent now and answered later, so that the caller can wait for something else
 * (Graph) meanwhile: the connection is made first if it is not. For a few entries: no paging (a DC that limits an
 * answer without paging, as Windows' MaxPageSize does, fails the search with a size limit), no retry. *out: gb_directory_search_take, or gb_dir_pending_free to give it up. Only the
 * handle's own thread may send and take, and the handle must outlive the pending search. Errors as above. */
typedef struct gb_dir_pending gb_dir_pending;
int gb_directory_search_send(gb_directory *d, const char *filter, const char *const *attrs, gb_dir_pending **out,
			     gb_error *err);

/* Waits for the answer to p (at most the handle's timeout) and hands its entries to cb, as gb_directory_search
 * would, only once the whole answer came and said success: a failure delivers nothing. GB_ERETRY when the connection
 * was made again since p was sent (its answer is lost) or no answer came in time. p is freed in every case. */
int gb_directory_search_take(gb_dir_pending *p, gb_dir_entry_cb cb, void *ctx, gb_error *err);

/* Reads what has come of p's answer so far without waiting, so that the DC does not wait for the caller to read
 * (its answer held up in a full connection); call it now and then while the search is in flight. True once the whole
 * answer came (gb_directory_search_take then delivers it without waiting). */
bool gb_directory_search_poll(gb_dir_pending *p);

/* Gives up a search not taken (abandoned on the server). NULL is fine. */
void gb_dir_pending_free(gb_dir_pending *p);

/* Searches sent ahead (gb_directory_search_send above) as a queue: at most max in flight, taken oldest first, all
 * with the same attributes. Each carries a tag of the caller's, handed back exactly once to done: with rc 0 after its
 * entries went to on_entry (ctx), or with rc and why when it delivered nothing (it was not sent, it failed, its
 * connection was made again, the queue was full, or it was given up), so that the caller reads what it asked for
 * another way. The handle must outlive the queue; only its thread may use either. */
typedef struct gb_dir_ahead gb_dir_ahead;
typedef void (*gb_dir_ahead_done_cb)(void *tag, int rc, const gb_error *why, void *ctx);
/* attrs is borrowed (it must outlive the queue). *out: gb_dir_ahead_free. Errors: GB_ENOMEM. */
int gb_dir_ahead_new(gb_directory *d, size_t max, const char *const *attrs, gb_dir_entry_cb on_entry,
		     gb_dir_ahead_done_cb done, void *ctx, gb_dir_ahead **out, gb_error *err);
/* Sends a search for filter, first reading what has come of the others (gb_dir_ahead_poll). With max searches out,
 * the oldest is taken first when its answer is whole or when wait is set (then this waits for it); otherwise the new
 * search is not sent (done gets tag at once). The only errors are on_entry's GB_ENOMEM while the oldest is taken and
 * GB_ENOMEM here; a search that goes wrong goes to done. */
int gb_dir_ahead_send(gb_dir_ahead *q, const char *filter, void *tag, bool wait, gb_error *err);
/* Reads what has come of every answer so far without waiting: call it now and then while searches are in flight (a
 * DC does not go on while its answers are not read). */
void gb_dir_ahead_poll(gb_dir_ahead *q);
/* Takes every search, oldest first, waiting for each answer. Errors as gb_dir_ahead_send. */
int gb_dir_ahead_take_all(gb_dir_ahead *q, gb_error *err);
/* Gives up every search not taken (done gets each tag) and frees the queue. NULL is fine. */
void gb_dir_ahead_free(gb_dir_ahead *q);

/* One entry: a base-scope read of dn (a DN, or "<GUID=...>"/"<SID=...>"). GB_ENOTFOUND when it does not exist.
 * *out: gb_dir_entry_free. */
int gb_directory_get(gb_directory *d, const char *dn, const char *const *attrs, unsigned flags, gb_dir_entry **out,
		     gb_error *err);

/* By objectGUID text, as a "<GUID=...>" base read. */
int gb_directory_get_by_guid(gb_directory *d, const char *guid, const char *const *attrs, unsigned flags,
			     gb_dir_entry **out, gb_error *err);

/* Subtree searches below the base DN (or the forest with GB_DIR_GC) for exactly one entry with the given
 * msDS-ExternalDirectoryObjectId, objectSid (text) or objectGUID (text, as a binary filter). GB_ENOTFOUND when
 * none, GB_ECONFLICT when several. */
int gb_directory_find_by_anchor(gb_directory *d, const char *anchor, const char *const *attrs, unsigned flags,
				gb_dir_entry **out, gb_error *err);
int gb_directory_find_by_sid(gb_directory *d, const char *sid, const char *const *attrs, unsigned flags,
			     gb_dir_entry **out, gb_error *err);
int gb_directory_find_by_guid(gb_directory *d, const char *guid, const char *const *attrs, unsigned flags,
			      gb_dir_entry **out, gb_error *err);

/* Appends to out the filter that matches the n objectGUIDs (text): "(|(objectGUID=\\xx...)...)". GB_EINVAL for a GUID
 * that is not one, GB_ENOMEM. */
int gb_directory_guid_filter(const char *const *guids, size_t n, gb_buf *out, gb_error *err);

/* Many objectGUIDs (text) at once: OR filters of GB_DIRECTORY_GUID_BATCH binary GUIDs each; cb gets every entry
 * found (GUIDs not found are simply absent). GB_EINVAL for a GUID that is not one. */
int gb_directory_find_by_guids(gb_directory *d, const char *const *guids, size_t n, const char *const *attrs,
			       unsigned flags, gb_dir_entry_cb cb, void *ctx, gb_error *err);

/* Called once per value of a multi-valued attribute read in ranges. */
typedef int (*gb_dir_value_cb)(const char *value, size_t len, void *ctx, gb_error *err);

/* Reads every value of attr (normally "member") of dn through explicit ranges of range_size
 * ("member;range=0-999", then from the next low bound the server reports, until a chunk ends in "-*"). Handles a
 * server that ignores ranges (a plain attribute) and the shape Windows forces. flags: GB_DIR_EXTENDED_DN gives member
 * values as "<GUID=...>;<SID=...>;DN". GB_ENOTFOUND when dn does not exist. */
int gb_directory_read_values(gb_directory *d, const char *dn, const char *attr, unsigned flags, gb_dir_value_cb cb,
			     void *ctx, gb_error *err);

/* Reads a group (by DN or "<GUID=...>") into a gb_ad_group: dn, guid, sid, cn, anchor, adminDescription,
 * description, displayName, sAMAccountName, groupType, adminCount, and with with_members every member's objectGUID
 * (ranged, extended DN) with members_read set. A global or domain local group also gets scope_blocker (one search of
 * the DC's domain), so that a plan never asks AD for a scope change it refuses. GB_ENOTFOUND when absent.
 * *out: gb_ad_group_free. */
/* True for a DN in a domain's CN=ForeignSecurityPrincipals container: the stand-in of a principal of another forest (or
 * a well-known SID). False for anything else, a malformed DN included. */
bool gb_directory_is_foreign_principal(const char *dn);

int gb_directory_read_group(gb_directory *d, const char *dn, bool with_members, gb_ad_group **out, gb_error *err);

/* The attributes gb_directory_read_group reads, with uSNChanged: what a search must return for
 * gb_directory_group_from_entry. NULL-terminated. */
extern const char *const gb_directory_group_attrs[];

/* The same from an entry a search returned with gb_directory_group_attrs (no round trip unless with_members, which
 * reads the members as gb_directory_read_group does). Errors and *out as gb_directory_read_group. */
int gb_directory_group_from_entry(gb_directory *d, const gb_dir_entry *e, bool with_members, gb_ad_group **out,
				  gb_error *err);

/* A deep copy of e (*out: gb_dir_entry_free). GB_ENOMEM. */
int gb_dir_entry_dup(const gb_dir_entry *e, gb_dir_entry **out, gb_error *err);

/* The range arithmetic of ranged reads, a pure function so that shapes Samba never produces (Windows' forced
 * ranging) are unit-tested. Given the attribute names of one reply entry (names[i] with counts[i] values) for a
 * request of attr from low, it says which attribute's values to take and what comes next:
 *   - "attr;range=LOW-HIGH": take it, next = HIGH + 1
 *   - "attr;range=LOW-*": take it, done
 *   - plain "attr" with values and no ranged one: the server ignored ranging, take it, done
 *   - an empty plain "attr" next to a ranged one (Windows): the ranged one decides
 *   - nothing: done, no values
 * GB_EPARSE for a ranged name whose low differs from low, whose high is below low, or that is malformed. */
typedef struct gb_dir_range_step {
	long take;            /* index into names of the values to take, -1 for none */
	bool done;
	unsigned long next;   /* the next low bound when !done */
} gb_dir_range_step;

int gb_directory_range_step(const char *attr, unsigned long low, const char *const *names, const size_t *counts,
			    size_t n, gb_dir_range_step *out, gb_error *err);

/* ---- writes (each passes the fence first) ---- */

typedef struct gb_directory_group_spec {
	const char *dn;                 /* CN=...,<allowed container> */
	long group_type;                /* 0: GB_GROUP_TYPE_UNIVERSAL_SECURITY */
	const char *sam_account_name;   /* optional (AD generates one when absent) */
	const char *description;        /* optional */
	const char *display_name;       /* optional */
	const char *anchor;             /* optional msDS-ExternalDirectoryObjectId, e.g. "Group_<id>" */
	const char *admin_description;  /* optional */
	const char *const *members;     /* optional member values (DNs or "<GUID=...>"/"<SID=...>"), nmembers of them */
	size_t nmembers;
} gb_directory_group_spec;

/* Creates a group: objectClass group, groupType, cn (the RDN's value), and the optional attributes given. The first
 * member_batch members go in the add itself (one request, as ldapadd would do it; a member that does not resolve
 * fails the whole add), the rest follow in batches as gb_directory_add_members adds them. When the DN exists already and carries the given anchor (an add that landed before the connection broke, sent
 * again after the reconnect), the add counts as done; any other existing entry is GB_EEXISTS. */
int gb_directory_create_group(gb_directory *d, const gb_directory_group_spec *g, gb_error *err);

enum gb_dir_mod_op { GB_DIR_MOD_ADD = 0, GB_DIR_MOD_DELETE = 1, GB_DIR_MOD_REPLACE = 2 };

typedef struct gb_dir_change {
	int op;                         /* enum gb_dir_mod_op */
	const char *attr;
	const char *const *values;      /* NULL-terminated; NULL or empty with DELETE/REPLACE clears the attribute */
} gb_dir_change;

/* Applies changes to dn in one modify (atomic on AD). A REPLACE of `member` is refused (GB_EINVAL): membership is
 * changed with gb_directory_add_members/remove_members only. dn may be "<GUID=...>": it is resolved first so that
 * the fence sees the real DN. */
int gb_directory_modify(gb_directory *d, const char *dn, const gb_dir_change *changes, size_t n, gb_error *err);

/* Renames and/or moves dn: new_rdn ("CN=..."; NULL keeps the current one), new_parent (NULL keeps the parent). Both
 * the current DN and the resulting DN must pass the fence. */
int gb_directory_rename(gb_directory *d, const char *dn, const char *new_rdn, const char *new_parent, gb_error *err);

/* Deletes dn after reading its msDS-ExternalDirectoryObjectId: refused with GB_EFENCE unless it is
 * "Group_<expected_id>" (or any "Group_..." when expected_id is NULL). */
int gb_directory_delete(gb_directory *d, const char *dn, const char *expected_id, gb_error *err);

/* Adds (or removes) member values (DNs or "<GUID=...>"/"<SID=...>") to group dn in modifies of member_batch values
 * each, never a replace, with the permissive modify control (1.2.840.113556.1.4.1413) so that a value already
 * present (or already absent) is not an error and a retried batch is harmless. A server that ignores the control
 * for linked attributes (Samba 4.17 does) fails such a batch with 68 (53 or 16 on delete): the batch is then
 * narrowed to the values that still need the change, read from the group's current members, and sent once more;
 * values refused because the group is their primary group are left out and recorded (gb_directory_refusals). A
 * batch the DC refuses as too large (adminLimitExceeded, 11: Windows has an undocumented limit, met at about 1,500
 * values) is halved and sent again, until it passes or holds one value; the handle keeps the smaller size (the same
 * for the members carried by gb_directory_create_group's add, and gb_directory_update_members' single modify).
 * On failure, *done (when not NULL) is the number of values in batches that succeeded; the message names the
 * failed batch ("values 1001 to 2000 of 5000: ..."). */
int gb_directory_add_members(gb_directory *d, const char *dn, const char *const *members, size_t n, size_t *done,
			     gb_error *err);
int gb_directory_remove_members(gb_directory *d, const char *dn, const char *const *members, size_t n, size_t *done,
				gb_error *err);

/* Changes one group's membership: adds and removes (DNs or "<GUID=...>"/"<SID=...>", as above). When both are
 * non-empty and together fit one batch (member_batch), they go in ONE modify (an add and a delete of `member`,
 * atomic on AD) with the permissive modify control; a server that ignores the control gets both halves narrowed
 * against the group's current members and sent once more. Otherwise this is gb_directory_add_members followed by
 * gb_directory_remove_members. Errors as those. */
int gb_directory_update_members(gb_directory *d, const char *dn, const char *const *adds, size_t nadd,
				const char *const *removes, size_t nremove, gb_error *err);

/* A member value that the last member change left out, and why (gb_directory_refusals). */
enum gb_dir_refusal_reason {
	GB_DIR_REFUSED_PRIMARY_GROUP = 1 /* the group is the object's primary group (its primaryGroupID): the object is
					  * a member already, which AD never lists in member, and that membership can be
					  * neither added nor removed through member (only by changing primaryGroupID) */
};

typedef struct gb_dir_refusal {
	char *value; /* the value as the caller gave it */
	int reason;  /* enum gb_dir_refusal_reason */
} gb_dir_refusal;

/* The values the last member change on d (gb_directory_add_members, remove_members, update_members, or the members
 * of gb_directory_create_group) left out because AD refuses them for a reason no retry fixes; the call itself
 * succeeded when it returned 0 (every other value was written). *out is borrowed until the next member change on
 * d; the count is returned. A caller records each as that member's outcome (for example "member through its
 * primary group") instead of planning it again. */
size_t gb_directory_refusals(const gb_directory *d, const gb_dir_refusal **out);

/* Calls cb with the objectGUID (text) of every object whose primary group is the group dn (a DN or "<GUID=...>"):
 * those with primaryGroupID equal to the RID of its objectSid, searched below the base DN (a primary group is
 * always of the object's own domain). These are members of the group that `member` does not list. GB_ENOTFOUND
 * when the group does not exist. */
int gb_directory_primary_group_members(gb_directory *d, const char *dn, gb_dir_value_cb cb, void *ctx,
				       gb_error *err);

/* Write requests sent to the DC by this handle (every attempt, retries included). */
typedef struct gb_directory_stats {
	unsigned long adds;
	unsigned long modifies;
	unsigned long renames;
	unsigned long deletes;
} gb_directory_stats;

/* The handle's counters (never NULL for a non-NULL d). */
const gb_directory_stats *gb_directory_get_stats(const gb_directory *d);

/* Adds s (a twin's counters) to d's counters, so that d's stats count every write of a pool. */
void gb_directory_stats_add(gb_directory *d, const gb_directory_stats *s);

/* ---- for `config check` ---- */

/* Connects and binds with the configuration's [directory] settings, then looks in the schema naming context for
 * lDAPDisplayName=msDS-ExternalDirectoryObjectId. On success detail gets a one-line summary (URI, how TLS was
 * verified, who bound, the DC's dnsHostName) and *has_anchor_attr is 1 when the schema has the attribute, 0 when
 * not (Windows Server 2016 schema needed). Errors as gb_directory_open. */
int gb_directory_probe(const gb_config *cfg, char *detail, size_t n, int *has_anchor_attr, gb_error *err);

/* One result of gb_directory_preflight: check name, pass (non-zero) or fail, and a detail line without secrets. */
typedef void (*gb_dir_check_fn)(void *ctx, const char *check, int ok, const char *detail);

/* config check's directory probes beyond the bind, each reported through report (AD review D9, issue 16):
 *   gc          with gc_uri set, a rootDSE read through it that says isGlobalCatalogReady
 *   writable    the DC is not read-only (supportedCapabilities' RODC OID, or msDS-isRODC of its NTDS settings):
 *               an RODC refers every write elsewhere
 *   containers  each of containers (NULL-terminated DNs: the constant target container, allowed_containers) lies
 *               in base_dn and exists
 *   rights      as AD computes them for the bound account: allowedChildClassesEffective on each container holds
 *               group; allowedAttributesEffective on one group below it (a managed one when there is one, never one
 *               AdminSDHolder protects) holds every attribute a run writes; with [migration] writeback_ou, that
 *               OU lies in base_dn and allowedAttributesEffective on a written-back group there (adminDescription
 *               Group_*) holds msDS-ExternalDirectoryObjectId, which stamp-anchors writes
 *   soa         AD group enforcement: when CN=CloudSyncSOAPolicy,CN=SOA-Policies,CN=System exists in the domain, its
 *               allow-list (msDS-Settings) names the bind account or one of its groups (tokenGroups)
 * Opens (and closes) its own connection; a connection failure is one failed "ldap" check. Returns the number of
 * failed checks. */
int gb_directory_preflight(const gb_config *cfg, const char *const *containers, gb_dir_check_fn report, void *ctx);

/* Whether a rootDSE entry (with supportedCapabilities) is a read-only DC's. Pure. */
bool gb_directory_rootdse_is_rodc(const gb_dir_entry *root);

/* 0 when the DC d reaches takes writes; GB_ECONFIG, naming the URI and the fix, when it is a read-only DC (its root
 * DSE's capabilities or its NTDS settings' msDS-isRODC say so), which would refer every write elsewhere. A read of
 * the root DSE that fails returns its error. Reads only what gb_directory_dc_info has not read for this connection;
 * the apply engine calls it before a plan's first write. */
int gb_directory_check_writable(gb_directory *d, gb_error *err);

/* Whether an AD group enforcement policy entry (with msDS-Settings) allows one of sids (text): a value naming the
 * whole SID, in any case. Pure. */
bool gb_directory_soa_allows(const gb_dir_entry *policy, const char *const *sids, size_t nsids);

#endif
