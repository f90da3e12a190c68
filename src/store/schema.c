/* schema.c: the state database's schema, as an append-only list of migrations.
 *
 * Each module that keeps state adds its tables in a new entry at the end. A database is migrated forward inside one
 * transaction per step; a database whose version is above the end of this list was written by a newer groupbridge
 * and is refused rather than misread.
 */
#include "schema.h"

const char *const gb_schema_migrations[] = {
	/* 1: run history and a key-value table for cursors (delta links, checkpoints of simple kinds). */
	"CREATE TABLE kv ("
	"  key TEXT PRIMARY KEY,"
	"  value TEXT NOT NULL,"
	"  updated TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))"
	");"
	"CREATE TABLE runs ("
	"  id TEXT PRIMARY KEY,"
	"  command TEXT NOT NULL,"
	"  started TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),"
	"  ended TEXT,"
	"  exit_code INTEGER,"
	"  summary TEXT"
	");",
	/* 2: the hash-chained audit log (src/audit; see include/groupbridge/audit.h for the chain). seq is assigned by
	 * gb_audit_append, 1, 2, 3... without gaps; the head (last seq and hash) is also kept in kv "audit.head". */
	"CREATE TABLE audit_log ("
	"  seq INTEGER PRIMARY KEY,"
	"  time TEXT NOT NULL,"
	"  run_id TEXT NOT NULL,"
	"  step TEXT NOT NULL,"
	"  operation TEXT NOT NULL,"
	"  target TEXT NOT NULL,"
	"  before TEXT,"
	"  after TEXT,"
	"  result TEXT NOT NULL,"
	"  prev_hash TEXT NOT NULL,"
	"  hash TEXT NOT NULL"
	");"
	"CREATE INDEX audit_log_run ON audit_log(run_id);",
	/* 3: Connect Sync configuration imports (importers/connect_sync_json.c). Each import is a row; exactly one row is
	 * current, the others are history. model holds the whole import as JSON; the other tables repeat the parts
	 * that reports and migration steps query. */
	"CREATE TABLE cs_imports ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  imported TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),"
	"  is_current INTEGER NOT NULL DEFAULT 0 CHECK (is_current IN (0, 1)),"
	"  source_dir TEXT,"
	"  server TEXT,"
	"  export_date TEXT,"
	"  version TEXT,"
	"  writeback_enabled INTEGER NOT NULL,"
	"  writeback_forest TEXT,"
	"  writeback_container TEXT,"
	"  staging_mode INTEGER,"
	"  model TEXT NOT NULL"
	");"
	"CREATE UNIQUE INDEX cs_imports_one_current ON cs_imports(is_current) WHERE is_current = 1;"
	"CREATE TABLE cs_connectors ("
	"  import_id INTEGER NOT NULL REFERENCES cs_imports(id) ON DELETE CASCADE,"
	"  seq INTEGER NOT NULL,"
	"  connector_id TEXT,"
	"  name TEXT,"
	"  kind TEXT NOT NULL,"
	"  forest TEXT,"
	"  writeback_container TEXT,"
	"  PRIMARY KEY (import_id, seq)"
	");"
	"CREATE TABLE cs_rules ("
	"  import_id INTEGER NOT NULL REFERENCES cs_imports(id) ON DELETE CASCADE,"
	"  seq INTEGER NOT NULL,"
	"  rule_id TEXT,"
	"  name TEXT,"
	"  direction TEXT,"
	"  connector_id TEXT,"
	"  source_type TEXT,"
	"  target_type TEXT,"
	"  link_type TEXT,"
	"  precedence INTEGER,"
	"  disabled INTEGER NOT NULL,"
	"  immutable_tag TEXT,"
	"  roles TEXT NOT NULL,"
	"  PRIMARY KEY (import_id, seq)"
	");"
	"CREATE TABLE cs_findings ("
	"  import_id INTEGER NOT NULL REFERENCES cs_imports(id) ON DELETE CASCADE,"
	"  seq INTEGER NOT NULL,"
	"  severity TEXT NOT NULL,"
	"  code TEXT NOT NULL,"
	"  message TEXT NOT NULL,"
	"  PRIMARY KEY (import_id, seq)"
	");",
	/* 4: groups that provisioning manages (src/provision/run.c). Only a group listed here with state 'managed' may
	 * ever be deleted, and only when its AD object still carries the anchor Group_<object_id>. */
	"CREATE TABLE managed_groups ("
	"  object_id TEXT PRIMARY KEY COLLATE NOCASE,"
	"  dn TEXT NOT NULL,"
	"  guid TEXT,"
	"  state TEXT NOT NULL CHECK (state IN ('managed', 'unmanaged', 'deleted')),"
	"  since TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),"
	"  updated TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),"
	"  last_run TEXT"
	");",
	/* 5: the plans provisioning made (src/provision/run.c), newest last, for `report plan`; the 20 newest are kept. */
	"CREATE TABLE plans ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),"
	"  command TEXT NOT NULL,"
	"  run_id TEXT,"
	"  dry_run INTEGER NOT NULL,"
	"  json TEXT NOT NULL"
	");",
	/* 6: the direct user members of each provisioned cloud group as last read (src/provision/run.c), so that an
	 * incremental run knows which groups a changed user belongs to. */
	"CREATE TABLE managed_members ("
	"  group_id TEXT NOT NULL COLLATE NOCASE,"
	"  member_id TEXT NOT NULL COLLATE NOCASE,"
	"  PRIMARY KEY (group_id, member_id)"
	");"
	"CREATE INDEX managed_members_by_member ON managed_members(member_id);",
	/* 7: the migration (steps/): each step's state, and the inventory of written-back groups. stamped marks an anchor
	 * that stamp-anchors wrote, so that its rollback removes only what it wrote. */
	"CREATE TABLE migration_steps ("
	"  name TEXT PRIMARY KEY,"
	"  state TEXT NOT NULL,"
	"  started TEXT,"
	"  ended TEXT,"
	"  detail TEXT"
	");"
	"CREATE TABLE migration_groups ("
	"  object_id TEXT PRIMARY KEY COLLATE NOCASE,"
	"  display_name TEXT,"
	"  ad_dn TEXT,"
	"  ad_guid TEXT,"
	"  admin_description TEXT,"
	"  anchor_before TEXT,"
	"  class TEXT NOT NULL,"
	"  reason TEXT,"
	"  members INTEGER NOT NULL DEFAULT 0,"
	"  cloud_only INTEGER NOT NULL DEFAULT 0,"
	"  other_forest INTEGER NOT NULL DEFAULT 0,"
	"  stamped INTEGER NOT NULL DEFAULT 0"
	");",
	/* 8: the snapshot disable-writeback takes of every ready group before the irreversible change, and verifies
	 * after it: the same objectGUID and the same members. */
	"CREATE TABLE migration_snapshot ("
	"  object_id TEXT PRIMARY KEY COLLATE NOCASE,"
	"  ad_guid TEXT NOT NULL,"
	"  dn TEXT NOT NULL,"
	"  members TEXT NOT NULL,"
	"  taken TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))"
	");",
	/* 9: the match step's outcome per group: the AD group it will hand over, or why it is blocked. */
	"ALTER TABLE migration_groups ADD COLUMN matched_dn TEXT;"
	"ALTER TABLE migration_groups ADD COLUMN match_result TEXT;",
	/* 10: groups the migration handed over to provisioning (migrate handoff); provisioning keeps them in scope. */
	"ALTER TABLE migration_groups ADD COLUMN handed_over INTEGER NOT NULL DEFAULT 0;",
	/* 11: what the verify step compared, per handed-over group, for the verification report. */
	"CREATE TABLE migration_verify ("
	"  object_id TEXT PRIMARY KEY COLLATE NOCASE,"
	"  dn TEXT,"
	"  expected INTEGER NOT NULL,"
	"  actual INTEGER NOT NULL,"
	"  missing INTEGER NOT NULL,"
	"  extra INTEGER NOT NULL,"
	"  other_changes INTEGER NOT NULL,"
	"  checked TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))"
	");",
	/* 12: what an incremental provisioning pass builds a changed group from instead of reading it again
	 * (src/provision/run.c): managed_members holds every direct member with its kind (the rows before this migration
	 * are users); member_state names the groups whose rows are their complete direct membership as of the saved
	 * delta link; cloud_users holds the tenant's users as the last full pass listed them, updated from users delta. */
	"ALTER TABLE managed_members ADD COLUMN kind TEXT NOT NULL DEFAULT 'user';"
	"CREATE TABLE member_state ("
	"  group_id TEXT PRIMARY KEY COLLATE NOCASE"
	");"
	"CREATE TABLE cloud_users ("
	"  id TEXT PRIMARY KEY COLLATE NOCASE,"
	"  display_name TEXT,"
	"  user_principal_name TEXT,"
	"  on_prem_object_id TEXT,"
	"  on_prem_sid TEXT,"
	"  on_prem_sync_enabled INTEGER NOT NULL DEFAULT -1"
	");",
	/* 13: one audit record shape (include/groupbridge/audit.h): outcome ("ok", "failed", "skipped") and message as
	 * fields of their own, and form, the canonical form a record's hash follows. The records already written keep
	 * form 1 and their hashes; their outcome and message are derived from their free-text result by the rule in
	 * audit.h (src/audit/audit.c checks the same rule when it verifies). */
	"ALTER TABLE audit_log ADD COLUMN form INTEGER NOT NULL DEFAULT 1;"
	"ALTER TABLE audit_log ADD COLUMN outcome TEXT;"
	"ALTER TABLE audit_log ADD COLUMN message TEXT;"
	"UPDATE audit_log SET"
	"  outcome = CASE"
	"    WHEN substr(result, 1, 2) = 'ok' THEN 'ok'"
	"    WHEN substr(result, 1, 7) = 'skipped' THEN 'skipped'"
	"    WHEN substr(result, 1, 6) = 'failed' THEN 'failed'"
	"    WHEN operation = 'step.state' AND after IS NOT 'failed' THEN 'ok'"
	"    ELSE 'failed' END,"
	"  message = CASE"
	"    WHEN result IN ('ok', 'skipped', 'failed') THEN NULL"
	"    WHEN substr(result, 1, 4) = 'ok: ' THEN substr(result, 5)"
	"    WHEN substr(result, 1, 9) = 'skipped: ' THEN substr(result, 10)"
	"    WHEN substr(result, 1, 8) = 'failed: ' THEN substr(result, 9)"
	"    ELSE result END;",
	/* 14: the uSNChanged guard of provisioning (src/provision/state.c): per managed group, the objectGUIDs of its AD
	 * members (36 characters each, concatenated) as groupbridge last read or wrote them, with the group's uSNChanged
	 * and the identity of the DC that reported it (rootDSE dsServiceName and that DC's invocationId: uSNs are per
	 * DC). A pass that finds the same DC and the same uSNChanged trusts these members instead of reading them. */
	"CREATE TABLE ad_membership ("
	"  object_id TEXT PRIMARY KEY COLLATE NOCASE,"
	"  dsa TEXT NOT NULL,"
	"  invocation_id TEXT NOT NULL,"
	"  usn INTEGER NOT NULL,"
	"  members TEXT NOT NULL"
	");",
};

const size_t gb_schema_migration_count = sizeof(gb_schema_migrations) / sizeof(gb_schema_migrations[0]);
