/*
 * graph_sync.h: what a Cloud Sync "Microsoft Entra ID to AD" job (AAD2ADGroupProvisioning) will do with the groups
 * handed to it, read from Graph's synchronization API before any group is assigned to it.
 *
 *   GET /servicePrincipals/{sp}/synchronization/jobs/{job}         synchronizationJobSettings (keyValuePair list)
 *   GET /servicePrincipals/{sp}/synchronization/jobs/{job}/schema  synchronizationRules[].objectMappings[]
 *                                                                  .attributeMappings[] (targetAttributeName, source)
 *
 * Microsoft documents the scope mode ("All security groups" or "Selected security groups") and the switch
 * "Provision membership to on-premises users" (off by default) for the portal only; groupbridge reads them as the
 * job settings SyncAll ("true": all security groups) and ProvisionMembershipToOnPremisesUsers, the names the project's
 * Graph fake serves (tests/testbed/README.md). A job that reports neither is reported as unknown, never guessed.
 * The target container is the group rule's parentDistinguishedName mapping and the AD name its cn mapping.
 */
#ifndef GROUPBRIDGE_GRAPH_SYNC_H
#define GROUPBRIDGE_GRAPH_SYNC_H

#include <jansson.h>

#include "groupbridge/graph_client.h"
#include "groupbridge/model.h"

typedef enum gb_graph_sync_scope {
	GB_SYNC_SCOPE_UNKNOWN = 0, /* the job reports no SyncAll setting */
	GB_SYNC_SCOPE_SELECTED,    /* groups assigned to the job's service principal (appRoleAssignedTo) */
	GB_SYNC_SCOPE_ALL          /* every security group the scoping filters let through */
} gb_graph_sync_scope;

/* What the job does with groups, as read. Strings are allocated (gb_graph_sync_job_free). */
typedef struct gb_graph_sync_job {
	char *job_id;
	gb_graph_sync_scope scope;
	gb_tri membership;           /* ProvisionMembershipToOnPremisesUsers; GB_TRI_UNKNOWN when not reported */
	char *rule_id;               /* the group rule the mappings below come from */
	char *container;             /* parentDistinguishedName: a constant's value, else the mapping's expression */
	bool container_constant;     /* container is a constant DN */
	char *cn_expression;         /* the cn mapping's source expression (NULL: the rule maps no cn) */
} gb_graph_sync_job;

/* Frees a job record; NULL is fine. */
void gb_graph_sync_job_free(gb_graph_sync_job *j);

/* The scope mode's name for messages: "selected security groups", "all security groups", "unknown". */
const char *gb_graph_sync_scope_name(gb_graph_sync_scope s);

/* Reads job job_id of service principal sp_id and its schema, taking the mappings of rule rule_id (the
 * cloudsync_rule_id of the configuration). GB_ENOTFOUND when the job does not exist, or when its schema has no rule
 * rule_id (the message names the rules it has); GB_EPARSE for a reply that is not a job or a schema; Graph errors
 * as gb_graph_call. *out is the caller's (gb_graph_sync_job_free). */
int gb_graph_sync_job_read(gb_graph *g, const char *sp_id, const char *job_id, const char *rule_id,
			   gb_graph_sync_job **out, gb_error *err);

/* The pure part: job is the GET job reply, schema the GET schema reply (borrowed). Errors as above. */
int gb_graph_sync_job_parse(const json_t *job, const json_t *schema, const char *rule_id, gb_graph_sync_job **out,
			    gb_error *err);

/* The cn Microsoft's migration guide names for keeping Connect Sync's names (Group_<objectId>). */
#define GB_GRAPH_SYNC_KEEP_CN "Append(\"Group_\", [objectId])"

#endif
