-- A state database written by groupbridge at commit a9a93fe (schema version 12, audit records in the canonical form
-- gb-audit-v1, results as free text), dumped with `sqlite3 old.db .dump`. The records were appended with that
-- commit's gb_audit_append_at: a note, provisioning records that succeeded, failed and were skipped, stamp-anchors
-- records under their old operation name, and step.state records whose result was the step's detail ("2 changes
-- applied", "0 changes planned", an error). tests/unit/test_audit.c loads it to prove that such a log still
-- verifies after the schema migration that adds the outcome and message fields.
PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version VALUES(12);
CREATE TABLE kv (  key TEXT PRIMARY KEY,  value TEXT NOT NULL,  updated TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')));
INSERT INTO kv VALUES('audit.head','11:abaf5bddfac9db84035b5341db401314ab012270e2a5fe3dbe627832c2263c02','2026-12-06T16:12:28.561Z');
CREATE TABLE runs (  id TEXT PRIMARY KEY,  command TEXT NOT NULL,  started TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),  ended TEXT,  exit_code INTEGER,  summary TEXT);
CREATE TABLE audit_log (  seq INTEGER PRIMARY KEY,  time TEXT NOT NULL,  run_id TEXT NOT NULL,  step TEXT NOT NULL,  operation TEXT NOT NULL,  target TEXT NOT NULL,  before TEXT,  after TEXT,  result TEXT NOT NULL,  prev_hash TEXT NOT NULL,  hash TEXT NOT NULL);
INSERT INTO audit_log VALUES(1,'2026-11-20T08:00:00.000Z','run-old-1','audit note','note','operator',NULL,'CHG0001 approved','ok','0000000000000000000000000000000000000000000000000000000000000000','0fbf9fc047c9a70138f50c7ab8fe953dc838f680fb13a039f0c168dd9b8bc306');
INSERT INTO audit_log VALUES(2,'2026-11-20T08:01:00.000Z','run-old-2','provision','group.create','CN=Sales,OU=Groups,DC=test,DC=example',NULL,'{"cn":"Sales"}','ok','0fbf9fc047c9a70138f50c7ab8fe953dc838f680fb13a039f0c168dd9b8bc306','76fadd317b3e8464c63227065735463847adbad265a042d969834606b63ca4e8');
INSERT INTO audit_log VALUES(3,'2026-11-20T08:01:01.000Z','run-old-2','provision','member.add','CN=Sales,OU=Groups,DC=test,DC=example',NULL,'{"member":["<GUID=1>"]}','failed: ldap modify CN=Sales: no such object (32)','76fadd317b3e8464c63227065735463847adbad265a042d969834606b63ca4e8','4562bafcdd0730f6e07a3a2a82b68cc6f6352f93655bb539dc0fb20b8248032e');
INSERT INTO audit_log VALUES(4,'2026-11-20T08:01:02.000Z','run-old-2','provision','member.remove','CN=Sales,OU=Groups,DC=test,DC=example',NULL,NULL,'skipped: an earlier operation on this group failed','4562bafcdd0730f6e07a3a2a82b68cc6f6352f93655bb539dc0fb20b8248032e','fd3ca3562f8732b0ffd04d9c3f911f52e61fc4787818a8b888a87bc084da59ed');
INSERT INTO audit_log VALUES(5,'2026-11-20T08:02:00.000Z','run-old-3','stamp-anchors','step.state','stamp-anchors',NULL,'running','ok','fd3ca3562f8732b0ffd04d9c3f911f52e61fc4787818a8b888a87bc084da59ed','f71b93bd70933ee75351b33b5326d7993cf2f1ed58edfdb992397ad2d1478678');
INSERT INTO audit_log VALUES(6,'2026-11-20T08:02:01.000Z','run-old-3','stamp-anchors','set-attributes','CN=Group_1,OU=WB,DC=test,DC=example',NULL,'msDS-ExternalDirectoryObjectId=Group_1','ok','f71b93bd70933ee75351b33b5326d7993cf2f1ed58edfdb992397ad2d1478678','85d9d844e283a086fc34be48bfa955544beae191a231e57d8a966fa638d02585');
INSERT INTO audit_log VALUES(7,'2026-11-20T08:02:02.000Z','run-old-3','stamp-anchors','set-attributes','CN=Group_2,OU=WB,DC=test,DC=example',NULL,'msDS-ExternalDirectoryObjectId=Group_2','ok: found done after an interrupted run','85d9d844e283a086fc34be48bfa955544beae191a231e57d8a966fa638d02585','e7fca9adf158595111b9f28efaeadf87d37b40d6dada359e1139ffbd0baf4b0f');
INSERT INTO audit_log VALUES(8,'2026-11-20T08:02:03.000Z','run-old-3','stamp-anchors','step.state','stamp-anchors',NULL,'done','2 changes applied','e7fca9adf158595111b9f28efaeadf87d37b40d6dada359e1139ffbd0baf4b0f','b0cec3fec4ee95942186012a3b2ecf0bf9dfafa3fc9386b2fc018bd2d7ed8071');
INSERT INTO audit_log VALUES(9,'2026-11-20T08:03:00.000Z','run-old-4','verify','step.state','verify',NULL,'running','ok','b0cec3fec4ee95942186012a3b2ecf0bf9dfafa3fc9386b2fc018bd2d7ed8071','dbc8471b41995f0adee4f5a3a90090f8ffdcf3b11e2485ed313393e2ccae88eb');
INSERT INTO audit_log VALUES(10,'2026-11-20T08:03:01.000Z','run-old-4','verify','step.state','verify',NULL,'failed','step verify: verification failed: drift','dbc8471b41995f0adee4f5a3a90090f8ffdcf3b11e2485ed313393e2ccae88eb','87b64cb2882b4d45f8a0896c48f1736a68505a3b3fae4fc36f94f64a44badb5a');
INSERT INTO audit_log VALUES(11,'2026-11-20T08:03:02.000Z','run-old-4','verify','step.state','verify',NULL,'done','0 changes planned','87b64cb2882b4d45f8a0896c48f1736a68505a3b3fae4fc36f94f64a44badb5a','abaf5bddfac9db84035b5341db401314ab012270e2a5fe3dbe627832c2263c02');
CREATE TABLE cs_imports (  id INTEGER PRIMARY KEY AUTOINCREMENT,  imported TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),  is_current INTEGER NOT NULL DEFAULT 0 CHECK (is_current IN (0, 1)),  source_dir TEXT,  server TEXT,  export_date TEXT,  version TEXT,  writeback_enabled INTEGER NOT NULL,  writeback_forest TEXT,  writeback_container TEXT,  staging_mode INTEGER,  model TEXT NOT NULL);
CREATE TABLE cs_connectors (  import_id INTEGER NOT NULL REFERENCES cs_imports(id) ON DELETE CASCADE,  seq INTEGER NOT NULL,  connector_id TEXT,  name TEXT,  kind TEXT NOT NULL,  forest TEXT,  writeback_container TEXT,  PRIMARY KEY (import_id, seq));
CREATE TABLE cs_rules (  import_id INTEGER NOT NULL REFERENCES cs_imports(id) ON DELETE CASCADE,  seq INTEGER NOT NULL,  rule_id TEXT,  name TEXT,  direction TEXT,  connector_id TEXT,  source_type TEXT,  target_type TEXT,  link_type TEXT,  precedence INTEGER,  disabled INTEGER NOT NULL,  immutable_tag TEXT,  roles TEXT NOT NULL,  PRIMARY KEY (import_id, seq));
CREATE TABLE cs_findings (  import_id INTEGER NOT NULL REFERENCES cs_imports(id) ON DELETE CASCADE,  seq INTEGER NOT NULL,  severity TEXT NOT NULL,  code TEXT NOT NULL,  message TEXT NOT NULL,  PRIMARY KEY (import_id, seq));
CREATE TABLE managed_groups (  object_id TEXT PRIMARY KEY COLLATE NOCASE,  dn TEXT NOT NULL,  guid TEXT,  state TEXT NOT NULL CHECK (state IN ('managed', 'unmanaged', 'deleted')),  since TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),  updated TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),  last_run TEXT);
CREATE TABLE plans (  id INTEGER PRIMARY KEY AUTOINCREMENT,  created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),  command TEXT NOT NULL,  run_id TEXT,  dry_run INTEGER NOT NULL,  json TEXT NOT NULL);
CREATE TABLE managed_members (  group_id TEXT NOT NULL COLLATE NOCASE,  member_id TEXT NOT NULL COLLATE NOCASE, kind TEXT NOT NULL DEFAULT 'user',  PRIMARY KEY (group_id, member_id));
CREATE TABLE migration_steps (  name TEXT PRIMARY KEY,  state TEXT NOT NULL,  started TEXT,  ended TEXT,  detail TEXT);
CREATE TABLE migration_groups (  object_id TEXT PRIMARY KEY COLLATE NOCASE,  display_name TEXT,  ad_dn TEXT,  ad_guid TEXT,  admin_description TEXT,  anchor_before TEXT,  class TEXT NOT NULL,  reason TEXT,  members INTEGER NOT NULL DEFAULT 0,  cloud_only INTEGER NOT NULL DEFAULT 0,  other_forest INTEGER NOT NULL DEFAULT 0,  stamped INTEGER NOT NULL DEFAULT 0, matched_dn TEXT, match_result TEXT, handed_over INTEGER NOT NULL DEFAULT 0);
CREATE TABLE migration_snapshot (  object_id TEXT PRIMARY KEY COLLATE NOCASE,  ad_guid TEXT NOT NULL,  dn TEXT NOT NULL,  members TEXT NOT NULL,  taken TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')));
CREATE TABLE migration_verify (  object_id TEXT PRIMARY KEY COLLATE NOCASE,  dn TEXT,  expected INTEGER NOT NULL,  actual INTEGER NOT NULL,  missing INTEGER NOT NULL,  extra INTEGER NOT NULL,  other_changes INTEGER NOT NULL,  checked TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')));
CREATE TABLE member_state (  group_id TEXT PRIMARY KEY COLLATE NOCASE);
CREATE TABLE cloud_users (  id TEXT PRIMARY KEY COLLATE NOCASE,  display_name TEXT,  user_principal_name TEXT,  on_prem_object_id TEXT,  on_prem_sid TEXT,  on_prem_sync_enabled INTEGER NOT NULL DEFAULT -1);
DELETE FROM sqlite_sequence;
CREATE INDEX audit_log_run ON audit_log(run_id);
CREATE UNIQUE INDEX cs_imports_one_current ON cs_imports(is_current) WHERE is_current = 1;
CREATE INDEX managed_members_by_member ON managed_members(member_id);
COMMIT;
