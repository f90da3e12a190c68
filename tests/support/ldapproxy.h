/*
 * ldapproxy.h: a private Windows-personality LDAP proxy (tests/testbed/ldap_proxy.py) in front of DC1, per test.
 *
 * gb_ldap_proxy_start spawns `python3 $GB_SRCDIR/tests/testbed/ldap_proxy.py` (GB_SRCDIR defaults to the current
 * directory, the repository root under make) for the DC at $GB_TEST_DC1_IP, with the certificate samba-dc.sh issued
 * for that address ($GB_TEST_CA_DIR/dc-IP.pem and .key) and the test CA, plus the test's own switches
 * ("--member-limit", "3", ...; see the top of ldap_proxy.py), and waits until it listens (20 s at most). The proxy
 * gets SIGTERM when the test process ends (PR_SET_PDEATHSIG). Its log is DIR/proxy.log (kept with GB_TEST_KEEP).
 * Functions print a one-line reason to stderr when they fail, so a test can simply assert on the result.
 */
#ifndef GB_TEST_LDAPPROXY_H
#define GB_TEST_LDAPPROXY_H

#include <sys/types.h>

typedef struct gb_ldap_proxy {
	pid_t pid;
	char dir[512];
	char ldaps_uri[128];  /* TLS from the first byte, to the DC's 636 */
	char ldap_uri[128];   /* plain, StartTLS mirrored to the DC's 389 */
	char gc_uri[128];     /* plain, StartTLS mirrored to the DC's 3268 */
	char gcs_uri[128];    /* TLS, to the DC's 3269 */
} gb_ldap_proxy;

/* Starts a proxy with the NULL-terminated switches (NULL: none, a plain relay). 0 and *out, or -1. */
int gb_ldap_proxy_start(const char *const *switches, gb_ldap_proxy **out);

/* Stops it (SIGTERM, SIGKILL after 5 s) and removes its directory. NULL is fine. */
void gb_ldap_proxy_free(gb_ldap_proxy *p);

#endif
