/*
 * mapping.h: the [provisioning] attribute mappings, parsed once and evaluated per group with the expression
 * language (expr.h). It is the gb_mapping_fn that the rules engine (provision.h) calls.
 *
 * cn           default Append(Append(Left(Trim([displayName]), 51), "_"), Mid([objectId], 25, 12))   (Cloud Sync's)
 * description  default Left(Trim([description]), 448)                                                 (Cloud Sync's)
 * target_container   required: an expression, or a DN constant written plainly (OU=Groups,DC=contoso,DC=com).
 *              There is no default because Microsoft's pages disagree on it (OU=Users vs CN=Users) and a guessed
 *              container would put groups where nobody expects them.
 * samaccountname     optional expression, checked against AD's rules (gb_ad_sam_check). Without it, a deterministic
 *              name: displayName cut to fit, then "_" and the last 8 hex digits of the object id
 *              (gb_ad_sam_derive), so that AD never generates a "$XXXX-..." name. An expression that gives an empty
 *              value (samaccountname = "") leaves the name to AD, as Cloud Sync does.
 *
 * Attributes an expression can reference for a group: [objectId] (also [id]), [displayName], [description],
 * [securityEnabled], [mailEnabled], [onPremisesSyncEnabled], [onPremisesSecurityIdentifier], and the configured
 * group_dn_extension by its full name. Names compare without regard to case.
 *
 * cn, description and target_container must be deterministic (no Guid, Now or RandomString): they are compared on
 * every run, and a value that changes every time would rename or move the group on every run.
 */
#ifndef GROUPBRIDGE_MAPPING_H
#define GROUPBRIDGE_MAPPING_H

#include "groupbridge/config.h"
#include "groupbridge/error.h"
#include "groupbridge/model.h"
#include "groupbridge/provision.h"

/* The cn default counts its 51 characters in UTF-16 units, as .NET and AD do (see mapping.c). */
#define GB_DEFAULT_CN_EXPR "Append(Append(Left(Trim([displayName]), 51), \"_\"), Mid([objectId], 25, 12))"
#define GB_DEFAULT_DESCRIPTION_EXPR "Left(Trim([description]), 448)"

typedef struct gb_mappings gb_mappings;

/* Parses the mappings of the [provisioning] section. GB_ECONFIG with "[provisioning] KEY: expression:COL: ..."
 * followed by the expression and a caret line under the column. *out belongs to the caller (gb_mappings_free). */
int gb_mappings_new(const gb_config_provisioning *cfg, gb_mappings **out, gb_error *err);
void gb_mappings_free(gb_mappings *m);

/* A gb_mapping_fn: pass gb_mappings_eval as the engine's map and the gb_mappings as its map_ctx. *out is NULL for
 * no value: a null result, and an empty string too (AD holds no empty strings). */
int gb_mappings_eval(void *ctx, gb_mapping_field field, const gb_cloud_group *group, char **out, gb_error *err);

/* The constant container DN when target_container is a constant, else NULL (borrowed). Used to derive the default
 * write fence. */
const char *gb_mappings_constant_container(const gb_mappings *m);

#endif
