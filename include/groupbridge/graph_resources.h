/*
 * graph_resources.h: the Graph resources the migration needs: writeback configuration, source of authority, the
 * tenant's synchronization features, the CloudSyncCustomExtensionsApp with its GroupDN extension, the Cloud Sync
 * job's app role assignments, and provisionOnDemand.
 *
 * Writes and reads of the same object: Graph is eventually consistent ("designing for eventual consistency" in
 * Microsoft's docs), so a read right after a write may not show it yet. The client remembers its own writes for a
 * minute; a read of the same thing that does not show the write yet is read again (0.5, 1, 2, 4 ... s, at most
 * 30 s of waiting), and where Graph returns the written object (PATCH onPremisesSyncBehavior, POST of a created
 * object) the reply itself is used.
 *
 * Creating objects: POST /applications, /servicePrincipals, /extensionProperties and /appRoleAssignedTo have no
 * idempotency key, so after a transport failure the POST is never replayed blindly: the function looks the object
 * up first (with the settle wait above, since a just-created object may not be visible yet) and returns what it
 * finds; only when nothing is there is the POST sent again.
 */
#ifndef GROUPBRIDGE_GRAPH_RESOURCES_H
#define GROUPBRIDGE_GRAPH_RESOURCES_H

#include "groupbridge/graph_client.h"
#include "groupbridge/model.h"

/* beta writebackConfiguration of a group: isEnabled (tri) and onPremisesGroupType (*group_type allocated, the
 * caller's; NULL when null). */
int gb_graph_get_writeback(gb_graph *g, const char *group_id, gb_tri *enabled, char **group_type, gb_error *err);
/* PATCH it; group_type NULL leaves it out of the body. */
int gb_graph_set_writeback(gb_graph *g, const char *group_id, bool enabled, const char *group_type, gb_error *err);

/* onPremisesSyncBehavior on v1.0 (in the v1.0 metadata since 2025-10; beta is not supported in production).
 * get reads isCloudManaged, accepting {"value":{...}}, {"value":[{...}]} and the plain object; after this client
 * set it, a read that still shows the old value is repeated (see above). set PATCHes it; when the reply carries
 * the object (200, as documented) its isCloudManaged must be the value asked for (else GB_ECONFLICT). */
int gb_graph_get_sync_behavior(gb_graph *g, const char *group_id, bool *is_cloud_managed, gb_error *err);
int gb_graph_set_sync_behavior(gb_graph *g, const char *group_id, bool is_cloud_managed, gb_error *err);

/* directory/onPremisesSynchronization: the tenant's feature flags (GB_TRI_UNKNOWN when not reported). */
typedef struct gb_graph_sync_features {
	char *id;
	gb_tri group_writeback_enabled;         /* groupWriteBackEnabled */
	gb_tri unified_group_writeback_enabled; /* unifiedGroupWritebackEnabled */
	gb_tri block_hard_match_enabled;        /* blockCloudObjectTakeoverThroughHardMatchEnabled */
	gb_tri block_soft_match_enabled;        /* blockSoftMatchEnabled */
	gb_tri directory_extensions_enabled;    /* directoryExtensionsEnabled */
} gb_graph_sync_features;
/* GB_ENOTFOUND when the tenant reports no synchronization object. *out is the caller's
 * (gb_graph_sync_features_free). */
int gb_graph_get_sync_features(gb_graph *g, gb_graph_sync_features **out, gb_error *err);
void gb_graph_sync_features_free(gb_graph_sync_features *f);

/* Applications and service principals. */
typedef struct gb_graph_app {
	char *id;     /* object id */
	char *app_id; /* application (client) id */
	char *display_name;
} gb_graph_app;
/* Frees an application record; NULL is fine. */
void gb_graph_app_free(gb_graph_app *a);

#define GB_GRAPH_EXT_APP_NAME "CloudSyncCustomExtensionsApp"
/* The application with identifier URI api://<tenant id>/CloudSyncCustomExtensionsApp; GB_ENOTFOUND when absent.
 * Cloud Sync only reads extensions of the application with that URI, where <tenant id> is the tenant's GUID: a
 * [graph] tenant_id that is not a GUID (a domain name, which the token endpoint accepts) is refused with
 * GB_ECONFIG before any request. *out is the caller's (gb_graph_app_free). */
int gb_graph_find_extension_app(gb_graph *g, gb_graph_app **out, gb_error *err);
/* Creates it (displayName and identifierUris as Microsoft documents); after a transport failure it looks the
 * application up before sending again. Errors as gb_graph_find_extension_app. *out is the caller's
 * (gb_graph_app_free). */
int gb_graph_create_extension_app(gb_graph *g, gb_graph_app **out, gb_error *err);
/* The service principal object id of an appId; GB_ENOTFOUND when absent. *out allocated, the caller's (free). */
int gb_graph_find_service_principal(gb_graph *g, const char *app_id, char **out, gb_error *err);
/* Creates the service principal of app_id (looking it up first after a transport failure); *out gets its object
 * id, allocated, the caller's (free). */
int gb_graph_create_service_principal(gb_graph *g, const char *app_id, char **out, gb_error *err);

typedef struct gb_graph_extension_property {
	char *id;
	char *name; /* extension_<appIdNoHyphens>_<name> */
	char *data_type;
	bool targets_group;
} gb_graph_extension_property;
typedef struct gb_graph_extension_list {
	gb_graph_extension_property *items;
	size_t n;
} gb_graph_extension_list;
/* Frees a list and its items; NULL is fine. */
void gb_graph_extension_list_free(gb_graph_extension_list *l);

/* The extension properties of an application (by object id). *out is the caller's
 * (gb_graph_extension_list_free). */
int gb_graph_list_extension_properties(gb_graph *g, const char *app_object_id, gb_graph_extension_list **out,
				       gb_error *err);
/* Creates a single-valued String extension for Group objects named short_name ("GroupDN") (looking it up first
 * after a transport failure); *out gets the full name Graph returns (allocated, the caller's). */
int gb_graph_create_extension_property(gb_graph *g, const char *app_object_id, const char *short_name, char **out,
				       gb_error *err);

/* The most characters a String directory extension value may hold (extensionProperty: "256 characters
 * maximum"). */
#define GB_GRAPH_EXTENSION_VALUE_MAX 256
/* PATCHes a group's directory extension to value (NULL sets null). A value over GB_GRAPH_EXTENSION_VALUE_MAX
 * characters (UTF-16 code units, as Graph counts) is refused with GB_EINVAL before anything is sent. */
int gb_graph_set_group_extension_value(gb_graph *g, const char *group_id, const char *ext_name, const char *value,
				       gb_error *err);
/* Reads a group's directory extension ext_name (GET /v1.0/groups/{id}?$select=id,<ext_name>, escaped): *value gets
 * it (allocated, the caller's) or NULL when it is not set. GB_ENOTFOUND when the group does not exist; GB_EINVAL
 * for an ext_name not of the form extension_<32 hex>_<name>. After this client set it, a read that does not show
 * the value yet is repeated (see above). */
int gb_graph_get_group_extension_value(gb_graph *g, const char *group_id, const char *ext_name, char **value,
				       gb_error *err);

/* servicePrincipals/{sp}/appRoleAssignedTo: the principals holding a role of that service principal. */
typedef struct gb_graph_role_assignment {
	char *id;
	char *principal_id;
	char *principal_type;
	char *app_role_id;
} gb_graph_role_assignment;
typedef struct gb_graph_role_assignment_list {
	gb_graph_role_assignment *items;
	size_t n;
} gb_graph_role_assignment_list;
/* Frees a list and its items; NULL is fine. */
void gb_graph_role_assignment_list_free(gb_graph_role_assignment_list *l);
/* *out is the caller's (gb_graph_role_assignment_list_free). */
int gb_graph_list_app_role_assigned_to(gb_graph *g, const char *sp_id, gb_graph_role_assignment_list **out,
				       gb_error *err);
/* Assigns app_role_id of sp_id to principal_id (a group); after a transport failure it looks the assignment up
 * before sending again. *out gets the assignment id (allocated, the caller's; may be NULL, and stays NULL when
 * Graph's reply names none). */
int gb_graph_assign_app_role(gb_graph *g, const char *sp_id, const char *principal_id, const char *app_role_id,
			     char **out, gb_error *err);

/* The Cloud Sync group-provisioning app role, which differs by cloud. Reads the job's service principal
 * (GET /servicePrincipals/{sp}?$select=appRoles) and takes the role there whose id is one of the documented ones;
 * a service principal that exposes none of them is GB_ENOTFOUND naming its roles. When the appRoles cannot be read
 * (no permission, no reply), falls back to the documented table by graph_url (gb_graph_cloudsync_role_for_url).
 * *out allocated, the caller's (free). */
int gb_graph_cloudsync_group_role(gb_graph *g, const char *sp_id, char **out, gb_error *err);
/* The documented table (Cloud Sync, "Expanded group selection via API", App role IDs by cloud), keyed by the Graph
 * endpoint of each cloud: graph.microsoft.com Public, microsoftgraph.chinacloudapi.cn AzureChinaCloud,
 * graph.microsoft.us and dod-graph.microsoft.us AzureUSGovernment, graph.eaglex.ic.gov AzureUSNatCloud,
 * graph.microsoft.scloud AzureUSSecCloud. NULL for another host (borrowed static text). */
const char *gb_graph_cloudsync_role_for_url(const char *graph_url);

/* synchronization/jobs/{job}/provisionOnDemand for one group and at most 5 members (user object ids). *result gets
 * the outcome Graph reports ("Success", "Skipped", "Failure" ...) and *details the raw details JSON text; both
 * allocated, the caller's, either may be NULL. GB_EINVAL for more than 5 members; GB_EPARSE for a reply without a
 * result. */
int gb_graph_provision_on_demand(gb_graph *g, const char *sp_id, const char *job_id, const char *rule_id,
				 const char *group_id, const char *const *member_ids, size_t nmembers, char **result,
				 char **details, gb_error *err);
/* The pure part: the reply is a stringKeyStringValuePair whose key holds the result as JSON text
 * ("{\"result\":\"Success\",\"details\":{}}") and whose value holds the provisioning steps (synchronizationJob:
 * provisionOnDemand, Examples 1 to 3). *result and *details as above. */
int gb_graph_provision_on_demand_parse(const json_t *reply, char **result, char **details, gb_error *err);

#endif
