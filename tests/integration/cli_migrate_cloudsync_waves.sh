#!/bin/sh
# A Cloud Sync hand-over whose job empties the groups although nothing in its settings said so (the job does not
# report its membership switch, and the switch is off): the first wave's smoke test (provisionOnDemand, then the AD
# group's membership read through LDAP) sees the member go, the hand-over stops there (exit non-zero, audited), the
# later waves are never assigned, and the rollback removes the one assignment groupbridge made.
. "$(dirname "$0")/lib_cloudsync.sh"
cs_init gbwbw 00000017 00000018 fff04 cw
tenant_new "$T/tenant.json" 'servicePrincipals:=[{"id": "'"$SP"'", "appId": "00000018-0000-4000-8000-0000000000aa",
  "displayName": "contoso.com (Cloud Sync)",
  "synchronization": {"jobs": ['"$(cs_job '"report_settings": false, "cn": "Append(\"Group_\", [objectId])",')"']}}]'
cs_start u-w "$cw" Wave
cs_config "cloudsync_rule_id = 33f7c90d-bf71-41b1-bda6-aaf0ddbee5d8#V2"
cs_to_coexistence
plan_handoff "the job's plan is shown" 0
expect_out "a job that does not report its membership switch is said so" "membership to on-premises users not reported"
expect_out "and the smoke tests are named as the guard" "each wave's smoke test is the guard"
$GB migrate run --yes --i-understand-this-is-irreversible >/dev/null 2>&1
$GB migrate confirm disable-writeback >/dev/null 2>&1
$GB migrate run --yes >/dev/null 2>&1
$GB migrate confirm match >/dev/null 2>&1
run $GB migrate run --yes
expect_rc "the handoff waits" 4
expect "each AD group holds its member before" test "$(ad_members 1)$(ad_members 2)$(ad_members 3)" = 111
run $GB migrate confirm handoff
expect_rc "the hand-over stops with an error" 1
expect_err "at the first wave" "wave 1 failed its smoke test"
expect_err "saying the group lost its member" "1 of its 1 AD members lost"
expect "the job did empty that group in AD" test "$(ad_members 1)" = 0
expect_assigned "later waves were not assigned" 1
expect "their groups were not touched" test "$(ad_members 2)$(ad_members 3)" = 11
expect "the audit log records the failed hand-over" test "$(sqlite3 "$T/gb.db" "SELECT count(*) FROM audit_log WHERE step = 'handoff' AND operation = 'group.handoff' AND outcome = 'failed' AND target = '$(id 1)'")" = 1
expect "no group is recorded as handed over" test "$(sqlite3 "$T/gb.db" "SELECT count(*) FROM migration_groups WHERE handed_over <> 0")" = 0
run $GB migrate status
expect_out "handoff still waits" "handoff                    waiting"
run $GB migrate rollback handoff
expect_rc "the stopped hand-over rolls back" 0
expect_assigned "the assignment groupbridge made is removed" 0
expect "every audit record uses the documented vocabulary, with an outcome" python3 "$(dirname "$0")/audit_vocabulary.py" "$T/gb.db"
finish
