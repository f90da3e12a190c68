/*
 * config.h: the per-forest configuration file (INI, read with libinih).
 *
 * One file describes one forest: its directory, the tenant, and the provisioning and migration settings. The file
 * never holds a secret: the Graph client secret, the private key and the bind password come from files (mode 0600
 * checked when they are read) or environment variables. Loading validates every section and key; the first problem
 * is reported as "FILE:LINE: what is wrong" with GB_ECONFIG.
 */
#ifndef GROUPBRIDGE_CONFIG_H
#define GROUPBRIDGE_CONFIG_H

#include <stdbool.h>

#include "groupbridge/error.h"

#define GB_DEFAULT_AUTHORITY_URL "https://login.microsoftonline.com"
#define GB_DEFAULT_GRAPH_URL "https://graph.microsoft.com"

typedef struct gb_config_graph {
	bool present;              /* the [graph] section was in the file */
	char *tenant_id;
	char *client_id;
	char *client_secret_file;  /* one credential source: secret file, secret env, or certificate + key */
	char *client_secret_env;
	char *certificate_file;
	char *private_key_file;
	char *authority_url;       /* default GB_DEFAULT_AUTHORITY_URL */
	char *graph_url;           /* default GB_DEFAULT_GRAPH_URL */
	char *ca_file;             /* extra CA bundle for TLS verification (verification is always on) */
	char *jwt_alg;             /* certificate assertions: "PS256" (default, x5t#S256) or "RS256" (x5t, older tenants) */
	long timeout;              /* seconds per request, default 60 */
	long max_throttle_wait;    /* seconds of throttling waits tolerated per run before stopping, default 900 */
	long max_concurrency;      /* most Graph requests in flight ($batch parts counted), default 100 (graph_client.h) */
} gb_config_graph;

typedef struct gb_config_directory {
	bool present;
	char *uri;                 /* ldaps://host or ldap://host (ldap:// needs start_tls or allow_insecure) */
	char *bind_method;         /* "simple" (default: bind_dn and a password) or "gssapi" (keytab and principal) */
	char *bind_dn;             /* a DN or a UPN (simple) */
	char *bind_password_file;
	char *bind_password_env;
	char *base_dn;
	char *ca_file;
	bool start_tls;
	bool allow_insecure;       /* plain LDAP without TLS: for the test bed only */
	char *gc_uri;              /* optional Global Catalog URI for forest-wide lookups */
	long timeout;              /* seconds per operation, default 30 */
	long member_batch;         /* values per member modify, default 1000 */
	long writes_in_flight;     /* LDAP writes in flight at once, each on a connection of its own, default 16 */
	char *keytab;              /* gssapi: the keytab file, or credential:NAME (see gb_config_keytab) */
	char *principal;           /* gssapi: the Kerberos principal bound as, svc-groupbridge@CONTOSO.COM */
} gb_config_directory;

typedef struct gb_config_provisioning {
	bool present;
	char *scope;               /* "selected" (default) or "all" */
	char *groups;              /* comma-separated object ids (scope = selected) */
	char *groups_file;         /* a file of object ids, one a line */
	char **filters;            /* scope = all: "filter" keys, each a clause list; NULL-terminated, may be NULL */
	char *target_container;    /* a DN constant or an expression */
	char *cn;                  /* expression; default is Cloud Sync's */
	char *description;         /* expression */
	char *samaccountname;      /* optional expression */
	char *group_dn_extension;  /* extension_<appid>_GroupDN */
	char *membership;          /* "authoritative" (default) or "additive" */
	long delete_threshold;     /* default 500 */
	bool move_on_container_change;
	char *allowed_containers;  /* ';'-separated DNs; default: what the mappings can produce */
	char *metrics_file;        /* Prometheus text-format metrics written after every pass (NULL: none) */
} gb_config_provisioning;

typedef struct gb_config_migration {
	bool present;
	char *connect_sync_export; /* the folder Get-ADSyncServerConfiguration wrote */
	char *writeback_ou;        /* override of the writeback container found in the export */
	char *handoff_target;      /* "groupbridge" (default) or "cloudsync" */
	char *cloudsync_service_principal; /* object id of the Cloud Sync job's service principal */
	char *cloudsync_job_id;
	char *cloudsync_rule_id;   /* the job's synchronization rule id, for provisionOnDemand (from the job's schema) */
	char *convert_groups;      /* comma-separated object ids for convert-soa */
	char *convert_groups_file;
	char *tenant_domain;       /* the tenant's primary domain, typed by the operator to confirm the irreversible step */
	long handoff_wave_size;    /* cloudsync hand-over: groups assigned per wave, each wave smoke-tested (default 10) */
	bool handoff_accept_renames; /* cloudsync hand-over: go on although the job's cn mapping renames groups */
} gb_config_migration;

typedef struct gb_config {
	char *path;                /* as given to gb_config_load */
	gb_config_graph graph;
	gb_config_directory directory;
	gb_config_provisioning provisioning;
	gb_config_migration migration;
} gb_config;

/* Reads and validates path. On success *out is the caller's (free with gb_config_free). GB_ENOTFOUND or GB_EIO
 * when the file cannot be read; GB_ECONFIG for an unknown section or key, a repeated key, a bad value, a missing
 * required key, or a secret placed in the file itself; the message is "PATH:LINE: ..." where there is a line. */
int gb_config_load(const char *path, gb_config **out, gb_error *err);

/* Parses configuration text (for tests and fuzzing); name is used in messages. Same contract as gb_config_load. */
int gb_config_parse(const char *name, const char *text, gb_config **out, gb_error *err);

void gb_config_free(gb_config *cfg);

/* GB_ECONFIG with a clear message when the section a command needs is absent. */
int gb_config_require_graph(const gb_config *cfg, gb_error *err);
int gb_config_require_directory(const gb_config *cfg, gb_error *err);

/* Reads the Graph client secret (file or environment, as configured) and registers it for log redaction.
 * GB_ENOTFOUND when the configuration uses a certificate instead. *out: wipe with gb_secret_free. */
int gb_config_graph_secret(const gb_config *cfg, char **out, gb_error *err);

/* Reads the directory bind password likewise. */
int gb_config_bind_password(const gb_config *cfg, char **out, gb_error *err);

/* The path of [directory] keytab (credential:NAME resolved in $CREDENTIALS_DIRECTORY), checked like a secret file:
 * a regular file, not a symbolic link, with no access for group or others. GB_ECONFIG with a message naming the file
 * otherwise, GB_ENOTFOUND when no keytab is configured. The keys are not read here (libkrb5 reads them). *out: free(). */
int gb_config_keytab(const gb_config *cfg, char **out, gb_error *err);

#endif
