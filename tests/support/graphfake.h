/*
 * graphfake.h: a private Microsoft Graph fake (tests/testbed/graph_fake.py) per test, and a small libcurl client
 * for its Graph endpoints and its control API (faults, mutations, delta expiry, the request log, the state).
 *
 * gb_fake_start copies nothing: it makes a temporary directory (under $GB_TEST_TMP, else /tmp), issues a server
 * certificate for 127.0.0.1 from the test CA ($GB_TEST_CA_DIR, or a CA made in that directory when the variable is
 * unset), spawns `python3 $GB_SRCDIR/tests/testbed/graph_fake.py` (GB_SRCDIR defaults to the current directory,
 * which is the repository root when make runs the tests), and waits until the fake listens (20 s at most). The
 * tenant JSON format and the control API are documented at the top of graph_fake.py and in
 * tests/testbed/README.md. Set GB_TEST_KEEP to keep the directory (the fake's stderr is in DIR/fake.log).
 * The fake gets SIGTERM when the test process ends (PR_SET_PDEATHSIG), so a test that fails an assertion before
 * gb_fake_free leaves no server behind (only its directory, under $GB_TEST_TMP).
 *
 * All functions print a one-line reason to stderr when they fail, so a test can simply assert on the result.
 */
#ifndef GB_TEST_GRAPHFAKE_H
#define GB_TEST_GRAPHFAKE_H

#include <stddef.h>
#include <sys/types.h>

#define GB_FAKE_PATH_MAX 1024

typedef struct gb_fake {
	pid_t pid;
	int port;
	double load_seconds;                   /* time the fake took to load the tenant */
	char dir[GB_FAKE_PATH_MAX];            /* the private directory */
	char url[128];                         /* https://127.0.0.1:PORT: the graph_url */
	char authority_url[128];               /* the same server: the authority_url */
	char control_url[160];                 /* url + "/_fake" */
	char ca_file[GB_FAKE_PATH_MAX];        /* the CA bundle that verifies the fake's certificate */
	char tenant_id[128];
	char client_id[128];                   /* the tenant's first client */
	char secret_file[GB_FAKE_PATH_MAX];    /* its secret, mode 0600; "" when it has no secret */
	char cert_client_id[128];              /* the first client with a certificate, "" when none */
	char cert_file[GB_FAKE_PATH_MAX];      /* its certificate and private_key paths as the tenant gives them */
	char key_file[GB_FAKE_PATH_MAX];
} gb_fake;

/* Starts a fake serving the tenant in tenant_json_path. 0 and *out (free with gb_fake_free), or -1. */
int gb_fake_start(const char *tenant_json_path, gb_fake **out);

/* The same for a tenant given as JSON text (written to DIR/tenant.json; relative certificate paths in it are
 * then relative to DIR, so pass absolute ones). */
int gb_fake_start_json(const char *tenant_json, gb_fake **out);

/* Stops the fake (SIGTERM, waitpid; SIGKILL after 5 s) and removes its directory. NULL is fine. */
void gb_fake_free(gb_fake *f);

/* One HTTP reply. body and headers ("Name: value\r\n" lines of the final response) are NUL-terminated. */
typedef struct gb_fake_reply {
	long status;
	char *body;
	size_t body_len;
	char *headers;
} gb_fake_reply;

void gb_fake_reply_clear(gb_fake_reply *r);

/* Sends method to url (a path such as "/v1.0/groups" on the fake, or an absolute URL such as a nextLink) with
 * extra headers (NULL-terminated "Name: value" strings, may be NULL) and a body (may be NULL), verifying TLS with
 * the fake's CA. 0 with *out filled (clear it), or -1 when no reply could be had (then out->status is 0). */
int gb_fake_http(gb_fake *f, const char *method, const char *url, const char *const *headers, const char *body,
		 gb_fake_reply *out);

/* A value of a reply's header (case-insensitive name), allocated; NULL when absent. */
char *gb_fake_header(const gb_fake_reply *r, const char *name);

/* Calls the control API: path is relative to /_fake ("/faults", "/log" ...), json_body may be NULL. Returns
 * the HTTP status, or -1 on a transport failure. *out_body (may be NULL) gets the reply body, allocated. */
int gb_fake_control(gb_fake *f, const char *method, const char *path, const char *json_body, char **out_body);

/* An access token for the tenant's first client with its secret (allocated into *out). 0 or -1. */
int gb_fake_token(gb_fake *f, char **out);

/* The number of logged requests with this method (NULL: any) whose path and query contain needle (NULL: any).
 * -1 when the log cannot be read. */
int gb_fake_count_requests(gb_fake *f, const char *method, const char *needle);

/* Writes a [graph] INI section for groupbridge pointing at the fake with the secret client into dst (n bytes):
 * tenant_id, client_id, client_secret_file, authority_url, graph_url, ca_file. 0, or -1 when it does not fit. */
int gb_fake_graph_ini(const gb_fake *f, char *dst, size_t n);

/* Creates a self-signed RSA-2048 certificate for client assertions: dir/name.pem and dir/name.key (mode 0600),
 * with the openssl command. *cert and *key are allocated paths. 0 or -1. */
int gb_fake_make_cert(const char *dir, const char *name, char **cert, char **key);

#endif
