/* ldapproxy.c: see ldapproxy.h. */
#include "ldapproxy.h" /* support objects build without -Itests */

#include "proc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define READY_TIMEOUT_MS 20000
#define MAX_SWITCHES 32

#define fail(...) gb_proc_complain("ldapproxy", __VA_ARGS__)

/* The port after "\"NAME\": " in the ready file's JSON, or 0. */
static int port_of(const char *json, const char *name)
{
	char key[32], *end;
	const char *p;
	long port;

	snprintf(key, sizeof key, "\"%s\": ", name);
	p = strstr(json, key);
	if (!p)
		return 0;
	port = strtol(p + strlen(key), &end, 10);
	return end != p + strlen(key) && port > 0 && port < 65536 ? (int)port : 0;
}

static int read_ready(gb_ldap_proxy *p, const char *ready, const char *ip)
{
	char json[512];
	FILE *fp = fopen(ready, "r");
	size_t n;
	int ldaps, ldap, gc, gcs;

	if (!fp)
		return -1;
	n = fread(json, 1, sizeof json - 1, fp);
	fclose(fp);
	json[n] = '\0';
	ldaps = port_of(json, "ldaps");
	ldap = port_of(json, "ldap");
	gc = port_of(json, "gc");
	gcs = port_of(json, "gcs");
	if (!ldaps || !ldap || !gc || !gcs)
		return -1;
	snprintf(p->ldaps_uri, sizeof p->ldaps_uri, "ldaps://%s:%d", ip, ldaps);
	snprintf(p->ldap_uri, sizeof p->ldap_uri, "ldap://%s:%d", ip, ldap);
	snprintf(p->gc_uri, sizeof p->gc_uri, "ldap://%s:%d", ip, gc);
	snprintf(p->gcs_uri, sizeof p->gcs_uri, "ldaps://%s:%d", ip, gcs);
	return 0;
}

int gb_ldap_proxy_start(const char *const *switches, gb_ldap_proxy **out)
{
	const char *tmp = getenv("GB_TEST_TMP"), *ca_dir = getenv("GB_TEST_CA_DIR"), *ip = getenv("GB_TEST_DC1_IP");
	const char *src = getenv("GB_SRCDIR");
	char script[600], ca[600], cert[600], key[600], ready[600], log[600];
	char *argv[16 + MAX_SWITCHES];
	gb_ldap_proxy *p;
	int n = 0, i;

	*out = NULL;
	if (!ca_dir || !ip) {
		fail("GB_TEST_CA_DIR and GB_TEST_DC1_IP are not set: run under tests/testbed/with-testbed.sh");
		return -1;
	}
	p = calloc(1, sizeof *p);
	if (!p)
		return -1;
	p->pid = -1;
	snprintf(p->dir, sizeof p->dir, "%s/gbproxy.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(p->dir)) {
		fail("cannot create a directory under %s: %s", tmp && *tmp ? tmp : "/tmp", strerror(errno));
		p->dir[0] = '\0';
		goto fail;
	}
	snprintf(script, sizeof script, "%s/tests/testbed/ldap_proxy.py", src && *src ? src : ".");
	snprintf(ca, sizeof ca, "%s/ca.pem", ca_dir);
	snprintf(cert, sizeof cert, "%s/dc-%s.pem", ca_dir, ip);
	snprintf(key, sizeof key, "%s/dc-%s.key", ca_dir, ip);
	snprintf(ready, sizeof ready, "%s/ready", p->dir);
	snprintf(log, sizeof log, "%s/proxy.log", p->dir);
	if (access(script, R_OK) != 0 || access(cert, R_OK) != 0) {
		fail("%s or %s not found", script, cert);
		goto fail;
	}
	argv[n++] = "python3";
	argv[n++] = script;
	argv[n++] = "--upstream";
	argv[n++] = (char *)ip;
	argv[n++] = "--ca";
	argv[n++] = ca;
	argv[n++] = "--cert";
	argv[n++] = cert;
	argv[n++] = "--key";
	argv[n++] = key;
	argv[n++] = "--ready-file";
	argv[n++] = ready;
	argv[n++] = "--log";
	argv[n++] = log;
	for (i = 0; switches && switches[i] && i < MAX_SWITCHES; i++)
		argv[n++] = (char *)switches[i];
	argv[n] = NULL;
	switch (gb_proc_start(argv, log, ready, READY_TIMEOUT_MS, &p->pid)) {
	case 0:
		break;
	case -1:
		fail("the proxy exited during start-up (log %s)", log);
		goto fail;
	default:
		fail("the proxy is not ready after %d s", READY_TIMEOUT_MS / 1000);
		goto fail;
	}
	if (read_ready(p, ready, ip)) {
		fail("cannot read %s", ready);
		goto fail;
	}
	*out = p;
	return 0;
fail:
	gb_ldap_proxy_free(p);
	return -1;
}

void gb_ldap_proxy_free(gb_ldap_proxy *p)
{
	if (!p)
		return;
	gb_proc_stop(p->pid);
	if (p->dir[0] && !getenv("GB_TEST_KEEP")) {
		char ready[600], log[600];

		snprintf(ready, sizeof ready, "%s/ready", p->dir);
		snprintf(log, sizeof log, "%s/proxy.log", p->dir);
		unlink(ready);
		unlink(log);
		rmdir(p->dir);
	}
	free(p);
}
