/*
 * metrics.h: what groupbridge tells monitoring: Prometheus text-format metrics after every provisioning pass, and
 * the health of the last pass for `groupbridge status`.
 *
 * The module knows nothing of how a pass works. The caller (src/cli/provision.c) fills a gb_metrics_pass with plain
 * numbers, gb_metrics_totals_add folds it into the counters that persist in the state database (kv
 * "metrics.totals", so that a counter never goes back when the service restarts or a pass runs by hand), and
 * gb_metrics_write renders both, with the migration's verify drift and the build information, into the file the
 * node_exporter textfile collector reads: written beside it under another name and renamed, so a reader never sees
 * half a file.
 *
 * Names follow Prometheus' conventions: the groupbridge_ prefix, base units (seconds), _total for counters, one
 * label config="<configuration file name without .ini>" on every sample so that several forests' files can sit in
 * one textfile directory. See man/groupbridge.8 (METRICS) for the list.
 */
#ifndef GROUPBRIDGE_METRICS_H
#define GROUPBRIDGE_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "groupbridge/buf.h"
#include "groupbridge/error.h"
#include "groupbridge/store.h"

/* A label value with its count, such as a reason code and how many groups it kept out. */
#define GB_METRICS_LABEL_MAX 64
#define GB_METRICS_MAX_LABELS 32

typedef struct gb_metrics_labelled {
	struct {
		char label[GB_METRICS_LABEL_MAX];
		uint64_t value;
	} items[GB_METRICS_MAX_LABELS];
	size_t n;
} gb_metrics_labelled;

/* Adds by to the count of label (created at 0 when new). An empty or NULL label counts as "other"; when every slot
 * is taken, the last slot becomes "other" and takes the count, so no count is lost. A label longer than
 * GB_METRICS_LABEL_MAX - 1 bytes is cut. */
void gb_metrics_labelled_add(gb_metrics_labelled *l, const char *label, uint64_t by);

/* How a pass ended. */
typedef enum gb_metrics_outcome {
	GB_METRICS_SUCCESS,     /* everything planned was applied */
	GB_METRICS_PARTIAL,     /* some groups failed, the rest were done */
	GB_METRICS_FAILURE,     /* stopped by an error (Graph, the directory, the state database...) */
	GB_METRICS_GATE,        /* stopped by delete_threshold before any change */
	GB_METRICS_INTERRUPTED  /* stopped on request (SIGTERM) at a safe point */
} gb_metrics_outcome;

/* "success", "partial", "failure", "gate", "interrupted". */
const char *gb_metrics_outcome_name(gb_metrics_outcome o);

/* One pass, as the caller saw it. Every count is of this pass only. */
typedef struct gb_metrics_pass {
	int64_t start_ms;            /* wall clock at the start and end, Unix epoch milliseconds */
	int64_t end_ms;
	gb_metrics_outcome outcome;
	int exit_code;               /* the process exit code the pass's result maps to */
	bool incremental;            /* read only what Graph delta reported */
	bool scope_known;            /* groups_in_scope was counted (a full read); else the last known value stays */
	uint64_t groups_in_scope;
	uint64_t groups_read;        /* cloud groups read and planned this pass */
	uint64_t groups_provisioned; /* groups the plan provisions whose operations did not fail */
	uint64_t groups_failed;      /* groups with an operation that failed */
	gb_metrics_labelled groups_skipped;  /* groups the rules did not provision, by reason code */
	gb_metrics_labelled members_skipped; /* members the rules did not write, by reason code */
	bool members_counted;        /* members_added and members_removed are known for this pass */
	uint64_t members_added;
	uint64_t members_removed;
	uint64_t ops_applied, ops_failed, ops_skipped;
	uint64_t graph_requests;     /* HTTP requests to Microsoft Graph and its token endpoint, retries included */
	uint64_t graph_throttled;    /* replies that asked to slow down: 429 (and 503, 504), $batch parts included */
	uint64_t ldap_adds, ldap_modifies, ldap_renames, ldap_deletes; /* write requests sent to the DC */
	bool delete_threshold_tripped;
} gb_metrics_pass;

/* The counters and the remembered gauges, across passes and processes. */
typedef struct gb_metrics_totals {
	uint64_t passes[GB_METRICS_INTERRUPTED + 1]; /* by outcome */
	uint64_t members_added, members_removed;
	uint64_t ops_applied, ops_failed, ops_skipped;
	uint64_t graph_requests, graph_throttled;
	uint64_t ldap_adds, ldap_modifies, ldap_renames, ldap_deletes;
	uint64_t delete_threshold_trips;
	bool scope_known;
	uint64_t groups_in_scope;    /* as of the last full read */
	int64_t last_success_ms;     /* end of the last successful pass, 0 when none */
} gb_metrics_totals;

/* Reads the totals from the state database's kv "metrics.totals"; absent gives zeros. GB_EPARSE when the stored
 * value is not what gb_metrics_totals_save wrote (the message says so), GB_EIO on database errors. */
int gb_metrics_totals_load(gb_store *st, gb_metrics_totals *out, gb_error *err);

/* Writes the totals back. Errors as gb_store_kv_set. */
int gb_metrics_totals_save(gb_store *st, const gb_metrics_totals *t, gb_error *err);

/* Folds one pass into the totals: counters grow, the scope and the last success move when the pass tells them. */
void gb_metrics_totals_add(gb_metrics_totals *t, const gb_metrics_pass *p);

/* What the migration's verify step found (table migration_verify), for the drift gauges. */
typedef struct gb_metrics_verify {
	bool present;               /* the verify step has run: the gauges are written */
	uint64_t groups_checked, groups_drifted;
	uint64_t members_missing, members_extra, other_changes;
	int64_t checked_ms;         /* the newest check, Unix epoch milliseconds */
} gb_metrics_verify;

/* Reads the verify step's results. No rows gives present = false. GB_EIO on database errors. */
int gb_metrics_verify_read(gb_store *st, gb_metrics_verify *out, gb_error *err);

/* Renders the text format (version 0.0.4) into out, which the caller initialised. config names the configuration
 * (the label's value); verify may be NULL. Errors as gb_buf_append. */
int gb_metrics_render(const char *config, const gb_metrics_pass *p, const gb_metrics_totals *t,
		      const gb_metrics_verify *verify, gb_buf *out, gb_error *err);

/* Renders and writes path atomically (a temporary file beside it, then rename), mode 0644 so that node_exporter
 * can read it. GB_EIO names the path and the reason; the old file stays as it was. */
int gb_metrics_write(const char *path, const char *config, const gb_metrics_pass *p, const gb_metrics_totals *t,
		     const gb_metrics_verify *verify, gb_error *err);

/* The label value for a configuration path: its file name without directories and without ".ini"
 * ("/etc/groupbridge/contoso.ini" -> "contoso"). dst gets at most n - 1 bytes. */
void gb_metrics_config_label(const char *config_path, char *dst, size_t n);

/* ---- health: the provisioning passes recorded in the state database's runs table ---- */

/* A run as the runs table holds it. */
typedef struct gb_metrics_run {
	bool present;
	char id[40];
	char command[64];
	int64_t started_ms;
	int64_t ended_ms;           /* 0 when the run has no end (running, or killed) */
	int exit_code;              /* -1 when the run has no end */
	char summary[256];
} gb_metrics_run;

typedef struct gb_metrics_health {
	gb_metrics_run last;        /* the newest provisioning pass that ended */
	gb_metrics_run last_success;/* the newest that ended with exit code 0 */
	gb_metrics_run unfinished;  /* a pass newer than `last` without an end: running now, or killed */
} gb_metrics_health;

/* Reads the provisioning passes (commands "provision" and "provision --allow-deletes"; not on-demand, not dry runs,
 * which are not recorded) from the runs table. Absent runs are present = false. GB_EIO on database errors. */
int gb_metrics_health_read(gb_store *st, gb_metrics_health *out, gb_error *err);

/* Parses the runs table's "2026-11-24T08:31:54.123Z" (fraction optional) into Unix epoch milliseconds. GB_EPARSE
 * when text is not of that form. */
int gb_metrics_parse_time(const char *text, int64_t *out);

/* The wall clock now, Unix epoch milliseconds. */
int64_t gb_metrics_now_ms(void);

#endif
