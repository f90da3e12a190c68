/*
 * scope.h: which cloud groups a configuration provisions.
 *
 * `scope = selected` takes object ids (the `groups` key, separated by commas or white space, so a long list
 * continues on indented lines; and `groups_file`, one id a line, `#` comments). `scope = all` takes `filter` lines with Cloud Sync's scoping operators; the clauses of one line are
 * joined by AND, the lines by OR:
 *
 *     filter = displayName REGEX MATCH "^Sales" AND description IS NOT NULL
 *     filter = extension_0a1b_WritebackEnabled IS TRUE
 *
 * Operators: EQUALS, NOT EQUALS (case-sensitive), IS TRUE, IS FALSE, IS NULL, IS NOT NULL, REGEX MATCH, NOT REGEX
 * MATCH (PCRE2; NOT REGEX MATCH is false for null or empty values, as Cloud Sync documents), GREATER_THAN and
 * GREATER_THAN_OR_EQUALS (whole numbers). Attributes: id (or objectId), displayName, description, securityEnabled,
 * mailEnabled, onPremisesSyncEnabled (or dirSyncEnabled), isCloudManaged, and the configured GroupDN extension.
 *
 * Scope is only the first gate: whatever the filters say, the provisioning rules still refuse groups that are not
 * security-enabled, are mail-enabled, are Microsoft 365 groups, or are synced from AD.
 */
#ifndef GROUPBRIDGE_SCOPE_H
#define GROUPBRIDGE_SCOPE_H

#include <stdbool.h>

#include "groupbridge/config.h"
#include "groupbridge/error.h"
#include "groupbridge/model.h"

typedef struct gb_scope gb_scope;

/* Builds the scope from the [provisioning] section: reads groups_file, parses and compiles every filter. Errors are
 * GB_ECONFIG naming the key and, for filters, the column: "filter 2: column 14: unknown operator FOO". *out belongs
 * to the caller (gb_scope_free). */
int gb_scope_new(const gb_config_provisioning *cfg, gb_scope **out, gb_error *err);

/* Parses one filter line on its own (for tests and `config check`). */
int gb_scope_new_filters(const char *const *filters, const char *group_dn_extension, gb_scope **out, gb_error *err);

void gb_scope_free(gb_scope *scope);

/* True for `scope = selected`. Selected scopes list their ids; reading only those groups is cheaper. */
bool gb_scope_is_selected(const gb_scope *scope);

/* The selected ids (borrowed, NULL-terminated); NULL for scope = all. */
const char *const *gb_scope_selected_ids(const gb_scope *scope);

/* Whether a group is in scope. A regex that fails at match time (match limit) is an error naming the filter. */
int gb_scope_matches(const gb_scope *scope, const gb_cloud_group *group, bool *out, gb_error *err);

#endif
