/*
 * connect_sync.h: the Connect Sync server configuration export (the folder `Get-ADSyncServerConfiguration -Path DIR`
 * writes), read with libxml2 into plain data, and what it says about group writeback today.
 *
 * The importer reads every .xml file in Connectors, GlobalSettings (MV.xml) and SynchronizationRules, and, when
 * present, PersistedState.xml. It records the export itself (server, date, version, staging mode, scheduler, the delete
 * threshold), the group writeback settings (MV.xml flag, forest and container, and the AD connector's
 * Connector.GroupWriteBackContainerDn), every connector with its partitions and container filter, every sync rule
 * (with scope, join and mappings kept for the rules that touch groups or writeback), the directory-extension
 * settings, and a list of findings, each with a severity and one plain sentence.
 *
 * Safety: files are read into bounded buffers (GB_CS_MAX_FILE per file, GB_CS_MAX_TOTAL per folder, GB_CS_MAX_FILES
 * files per folder); libxml2 never touches the network (XML_PARSE_NONET), substitutes no entities and loads no DTD;
 * a document with a DOCTYPE is refused before its declarations are read, which stops XXE and entity expansion.
 * Tolerance: no XML declaration, single quotes, CRLF, UTF-8 with or without a BOM, UTF-16 with a BOM, very long lines;
 * DSML elements are matched by namespace URI, never by prefix; GUIDs are compared without regard to case or braces;
 * unknown elements are ignored.
 *
 * The importer knows nothing of Graph or LDAP. gb_cs_save stores a result in the state database.
 */
#ifndef GROUPBRIDGE_CONNECT_SYNC_H
#define GROUPBRIDGE_CONNECT_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "groupbridge/error.h"
#include "groupbridge/store.h"

#define GB_CS_MAX_FILE ((size_t)64 * 1024 * 1024)   /* one XML file */
#define GB_CS_MAX_TOTAL ((size_t)512 * 1024 * 1024) /* all the files of one export */
#define GB_CS_MAX_FILES 20000                       /* files in one sub-folder */

/* The Microsoft Entra connector's identifier, the same on every installation. */
#define GB_CS_ENTRA_CONNECTOR_ID "b891884f-051e-4a83-95af-2544101c9083"
/* The two coexistence rules of Microsoft's "migrate group writeback V2 to Cloud Sync" guide, and the optional rule
 * that deletes AD groups leaving writeback scope (how-to-connect-modify-group-writeback). */
#define GB_CS_COEX_INBOUND_ID "e4eae1c9-b9bc-4328-ade9-df871cdd3027"
#define GB_CS_COEX_INBOUND_NAME "In from AAD - Group SOAinAAD coexistence with Cloud Sync"
#define GB_CS_COEX_OUTBOUND_ID "419fda18-75bb-4e23-b947-8b06e7246551"
#define GB_CS_COEX_OUTBOUND_NAME "Out to AD - Group SOAinAAD coexistence with Cloud Sync"
#define GB_CS_DELETE_RULE_ID "cb871f2d-0f01-4c32-a333-ff809145b947"
#define GB_CS_DELETE_RULE_NAME "In from AAD - Group SOAinAAD Delete WriteBackOutOfScope and SoftDelete"

/* A value the export may or may not state. */
typedef enum gb_cs_tristate { GB_CS_UNKNOWN = -1, GB_CS_NO = 0, GB_CS_YES = 1 } gb_cs_tristate;

/* The kind of document a file holds; GB_CS_DOC_ANY lets the root element decide. */
typedef enum gb_cs_doc_kind {
	GB_CS_DOC_ANY = 0,
	GB_CS_DOC_CONNECTOR, /* <ma-data> */
	GB_CS_DOC_GLOBAL,    /* <saved-mv-configuration> */
	GB_CS_DOC_RULE,      /* <synchronizationRule> */
	GB_CS_DOC_PERSISTED  /* PersistedState.xml: any root */
} gb_cs_doc_kind;

typedef struct gb_cs_strlist {
	char **items;
	size_t count;
} gb_cs_strlist;

/* A named parameter (MV.xml global settings, connector parameters, PersistedState keys). value is NULL when the
 * element is empty or encrypted. */
typedef struct gb_cs_param {
	char *name;
	char *use; /* the "use" attribute (global, connectivity, partition, SynchronizationGlobal); may be NULL */
	char *value;
} gb_cs_param;

typedef struct gb_cs_params {
	gb_cs_param *items;
	size_t count;
} gb_cs_params;

typedef struct gb_cs_partition {
	char *name; /* the partition's DN, e.g. DC=contoso,DC=com ("default" on the Entra connector) */
	char *display_name;
	bool selected;
	gb_cs_strlist object_classes;
	gb_cs_strlist inclusions; /* container DNs; an empty <inclusion /> is not listed */
	gb_cs_strlist exclusions;
} gb_cs_partition;

typedef enum gb_cs_connector_kind {
	GB_CS_CONNECTOR_OTHER = 0,
	GB_CS_CONNECTOR_AD,
	GB_CS_CONNECTOR_ENTRA
} gb_cs_connector_kind;

typedef struct gb_cs_connector {
	char *file; /* path of the file it came from */
	char *id;   /* lower case, without braces */
	char *name;
	char *category; /* AD, Extensible2, ... */
	char *subtype;
	gb_cs_connector_kind kind;
	char *forest;              /* adma-configuration/forest-name (AD connectors) */
	char *writeback_container; /* parameter Connector.GroupWriteBackContainerDn, NULL when absent or empty */
	gb_cs_params params;       /* connector-level parameters (encrypted ones with a NULL value) */
	gb_cs_partition *partitions;
	size_t partition_count;
	gb_cs_strlist extension_attributes; /* schema and attribute-inclusion names starting with extension_ */
} gb_cs_connector;

typedef struct gb_cs_scope {
	char *attribute; /* csAttribute: the source object's attribute (CS inbound, MV outbound) */
	char *op;        /* EQUAL, NOTSTARTSWITH, ISNULL, ... */
	char *value;
} gb_cs_scope;

typedef struct gb_cs_scope_group { /* conditions AND-ed; groups OR-ed */
	gb_cs_scope *items;
	size_t count;
} gb_cs_scope_group;

typedef struct gb_cs_join {
	char *cs_attribute;
	char *mv_attribute;
	bool case_sensitive;
} gb_cs_join;

typedef struct gb_cs_join_group {
	gb_cs_join *items;
	size_t count;
} gb_cs_join_group;

typedef enum gb_cs_flow { GB_CS_FLOW_DIRECT, GB_CS_FLOW_EXPRESSION, GB_CS_FLOW_CONSTANT } gb_cs_flow;

typedef struct gb_cs_mapping {
	char *dest;
	gb_cs_flow flow;
	gb_cs_strlist sources; /* src/attr */
	char *expression;      /* flow EXPRESSION */
	char *constant;        /* flow CONSTANT: the src text */
	char *merge;           /* valueMergeType */
	bool execute_once;
} gb_cs_mapping;

/* What a rule is to the migration (bit flags in gb_cs_rule.roles). */
enum {
	GB_CS_ROLE_SOAINAAD = 1 << 0,            /* the "... Group SOAInAAD" family written by the wizard */
	GB_CS_ROLE_MEMBER_LIMIT = 1 << 1,        /* Out to AD - Group Writeback Member Limit */
	GB_CS_ROLE_GROUP_JOIN = 1 << 2,          /* In from AD - Group Join */
	GB_CS_ROLE_CUSTOM_GROUP = 1 << 3,        /* no immutable tag, on group objects */
	GB_CS_ROLE_COEX_INBOUND = 1 << 4,        /* cloudNoFlow inbound coexistence rule */
	GB_CS_ROLE_COEX_OUTBOUND = 1 << 5,       /* JoinNoFlow outbound coexistence rule */
	GB_CS_ROLE_DELETE_OUT_OF_SCOPE = 1 << 6, /* deletes AD groups leaving writeback scope */
	GB_CS_ROLE_WRITEBACK_DN = 1 << 7,        /* a mapping uses %Connector.GroupWriteBackContainerDn% */
	GB_CS_ROLE_GROUP = 1 << 8                /* source or target object type is group */
};

typedef struct gb_cs_rule {
	char *file;
	char *id; /* lower case, without braces */
	char *name;
	char *description;
	char *immutable_tag; /* NULL for custom rules */
	char *direction;     /* Inbound or Outbound */
	bool disabled;
	char *connector; /* connector id, lower case without braces */
	char *source_type;
	char *target_type;
	char *link_type; /* Provision, Join, JoinNoFlow */
	long precedence; /* -1 when absent */
	unsigned roles;  /* GB_CS_ROLE_* set by gb_cs_analyze */
	bool detailed;   /* scope, join and mappings are kept (rules that touch groups or writeback) */
	gb_cs_scope_group *scope;
	size_t scope_count;
	gb_cs_join_group *join;
	size_t join_count;
	gb_cs_mapping *mappings;
	size_t mapping_count;
} gb_cs_rule;

/* A directory extension from MV.xml: DirectoryExtensionAttributes (attr.class.type.flag) joined with
 * SourceTargetAttributesMap (attr.extension_<app>_<attr>). */
typedef struct gb_cs_extension {
	char *source;         /* the AD attribute */
	char *object_class;   /* user or group */
	char *type;           /* String, Boolean, Integer, Binary */
	char *flag;           /* the fourth field (meaning not documented) */
	char *target;         /* the cloud extension name, NULL when the map does not name it */
	const char *group_dn; /* "likely", "possible" or "no": could it carry a group's DN (static string) */
} gb_cs_extension;

typedef enum gb_cs_severity { GB_CS_INFO = 0, GB_CS_WARNING = 1, GB_CS_DANGER = 2 } gb_cs_severity;

typedef struct gb_cs_finding {
	gb_cs_severity severity;
	char *code;    /* stable identifier, e.g. "writeback.enabled", "delete-rule.present" */
	char *message; /* one plain sentence */
} gb_cs_finding;

typedef struct gb_cs_export {
	char *dir; /* the folder read; NULL for documents added one by one */
	/* the export itself */
	char *server;
	char *export_date;
	char *version;            /* Microsoft.Synchronize.ServerConfigurationVersion */
	bool has_global_settings; /* an MV.xml (saved-mv-configuration) was read */
	gb_cs_tristate staging_mode;
	const char *staging_mode_source; /* "MV.xml", "PersistedState.xml" or NULL (static) */
	gb_cs_tristate scheduler_suspended;
	gb_cs_tristate delete_threshold_enabled;
	long delete_threshold; /* -1 when unknown */
	/* group writeback */
	gb_cs_tristate writeback_flag; /* Microsoft.OptionalFeature.GroupWriteBack */
	bool writeback_enabled;        /* the flag, or enabled SOAInAAD provisioning rules */
	char *writeback_forest;        /* Microsoft.GroupWriteBack.Forest */
	char *writeback_container;     /* Microsoft.GroupWriteBack.Container */
	char *
	    writeback_connector_container; /* Connector.GroupWriteBackContainerDn of the writeback forest's connector */
	char *writeback_ou_override;       /* [migration] writeback_ou: owned; the caller sets it (allocated) and
	                                    * calls gb_cs_analyze again; it then wins over the export's values */
	gb_cs_tristate writeback_ou_in_scope; /* inside the included containers of that connector */
	bool group_join_filter;               /* In from AD - Group Join has adminDescription NOTSTARTSWITH Group_ */
	/* directory extensions */
	gb_cs_tristate dirext_enabled; /* Microsoft.OptionalFeature.DirectoryExtension */
	gb_cs_extension *extensions;
	size_t extension_count;
	/* everything read */
	gb_cs_params global_params; /* every MV.xml parameter */
	gb_cs_params persisted;     /* PersistedState.xml keys and leaf values */
	bool has_persisted_state;
	gb_cs_connector *connectors;
	size_t connector_count;
	gb_cs_rule *rules;
	size_t rule_count;
	gb_cs_finding *findings; /* most severe first after gb_cs_analyze */
	size_t finding_count;
	size_t file_count;
	size_t byte_count;
} gb_cs_export;

/* Reads the export folder dir: parses every file, then runs gb_cs_analyze. On success *out is the caller's
 * (gb_cs_export_free). Errors, always naming the file and, for XML, the line: GB_ENOTFOUND (no folder, or a required
 * part missing: GlobalSettings with an MV.xml, Connectors, SynchronizationRules), GB_EIO (unreadable), GB_ETOOBIG
 * (a file or the folder above its bound), GB_EPARSE (malformed XML, a DOCTYPE, a document of the wrong kind). */
int gb_cs_import_dir(const char *dir, gb_cs_export **out, gb_error *err);

/* An empty export to which documents are added one by one (tests, fuzzing). *out is the caller's. GB_ENOMEM. */
int gb_cs_export_new(gb_cs_export **out, gb_error *err);

/* Parses one document held in memory (data, len; any encoding libxml2 detects) as kind and adds what it holds to exp.
 * name is used in messages ("NAME:LINE: ..."). GB_EPARSE for malformed XML, a DOCTYPE, or a root element that does
 * not fit kind; GB_ETOOBIG above GB_CS_MAX_FILE; GB_ENOMEM. On error exp may hold part of the document. */
int gb_cs_add_document(gb_cs_export *exp, gb_cs_doc_kind kind, const char *name, const void *data, size_t len,
                       gb_error *err);

/* Derives the writeback settings, each rule's roles and the findings from what was added. Idempotent: it clears
 * earlier findings. GB_ENOMEM. */
int gb_cs_analyze(gb_cs_export *exp, gb_error *err);

/* The findings are a table of checks, one per finding code. gb_cs_finding_code(i) is the i-th code in the order
 * gb_cs_analyze checks them (findings of one severity keep that order), NULL past the last one. */
const char *gb_cs_finding_code(size_t i);

/* Runs the one check that reports code on an export whose settings and rule roles are set (by gb_cs_analyze, or by
 * hand in a test): clears exp's findings, then adds that check's findings (none when it does not apply).
 * GB_EINVAL when no check is called code; GB_ENOMEM. */
int gb_cs_check(gb_cs_export *exp, const char *code, gb_error *err);

/* Frees the export and everything it owns; NULL is fine. */
void gb_cs_export_free(gb_cs_export *exp);

/* Borrowed lookups; NULL when absent. Ids are compared without regard to case or braces. */
const gb_cs_connector *gb_cs_find_connector(const gb_cs_export *exp, const char *id);
const gb_cs_rule *gb_cs_find_rule(const gb_cs_export *exp, const char *id);
const gb_cs_rule *gb_cs_find_rule_by_name(const gb_cs_export *exp, const char *name);
const gb_cs_finding *gb_cs_find_finding(const gb_cs_export *exp, const char *code);
const char *gb_cs_param_get(const gb_cs_params *params, const char *name);

/* True when a and b name the same GUID: case and surrounding braces ignored. */
bool gb_cs_guid_equal(const char *a, const char *b);

/* True when dn is in scope of a partition's container filter: the closest listed ancestor (or dn itself) is an
 * inclusion. DNs are compared without regard to case or spaces after commas. */
bool gb_cs_dn_in_scope(const gb_cs_partition *p, const char *dn);

/* Where a field of gb_cs_export comes from in the export, for people and for the JSON "sources" object: field is
 * a JSON path such as "staging_mode" or "writeback.connector_container". A static string; NULL for unknown fields.
 * gb_cs_source_fields lists the fields (NULL-terminated). */
const char *gb_cs_source_of(const char *field);
extern const char *const gb_cs_source_fields[];

/* Short names for printing: "info", "warning", "danger"; "unknown"/"no"/"yes". Static strings. */
const char *gb_cs_severity_name(gb_cs_severity s);
const char *gb_cs_tristate_name(gb_cs_tristate t);

/* The whole model as JSON text (UTF-8, indented when pretty). *out is the caller's (free). GB_ENOMEM. */
int gb_cs_to_json(const gb_cs_export *exp, bool pretty, char **out, gb_error *err);

/* Stores exp in the state database inside one transaction: earlier imports stay as history, this one becomes the
 * current import. *import_id (may be NULL) receives its row id. On any error the transaction is rolled back and
 * nothing is stored; errors are those of gb_store (GB_EIO) or GB_ENOMEM. */
int gb_cs_save(gb_store *st, const gb_cs_export *exp, int64_t *import_id, gb_error *err);

/* The current import's model as JSON text (as gb_cs_to_json wrote it) and its id. *out is the caller's (free).
 * GB_ENOTFOUND when nothing was imported yet. */
int gb_cs_load_current(gb_store *st, char **out, int64_t *import_id, gb_error *err);

#endif
