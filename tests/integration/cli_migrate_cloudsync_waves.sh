#!/bin/sh
# A Cloud Sync hand-over whose job empties the groups although nothing in its settings said so (the job does not
# report its membership switch, and the switch is off): the first wave's smoke test (provisionOnDemand, then the AD
# group's membership read through LDAP) sees the member go, the hand-over stops there (exit non-zero, audited), the
# later waves are never assigned, and the rollback removes the one assignment groupbridge made.
. "$(dirname "$0")/lib_ad.sh"
WB="OU=gbwbw-$$,$GB_TEST_DC1_BASE_DN"
ad_ou DC1 "$WB"
eval "$(ad_users DC1 "$WB" cw-$$)"
eval "cw=\$cw_$$"
id() { printf '00000017-0000-4000-8000-%012d' "$1"; }
SP=00000018-0000-4000-8000-000000000001
JOB=AAD2ADGroupProvisioning.fff04.1
for n in 1 2 3; do
	printf 'dn: CN=Group_%s,%s\nobjectClass: group\ngroupType: -2147483640\nadminDescription: Group_%s\nmember: CN=cw-%s,%s\n\n' \
		"$(id $n)" "$WB" "$(id $n)" $$ "$WB"
done | ldap_on DC1 ldapadd >/dev/null
tenant_new "$T/tenant.json" 'servicePrincipals:=[{"id": "'"$SP"'", "appId": "00000018-0000-4000-8000-0000000000aa",
  "displayName": "contoso.com (Cloud Sync)",
  "synchronization": {"jobs": [{"id": "'"$JOB"'", "target_container": "'"$WB"'", "report_settings": false,
    "cn": "Append(\"Group_\", [objectId])",
    "ad_ldap": {"uri": "'"$GB_TEST_DC1_LDAPS_URI"'", "bind_dn": "'"$GB_TEST_DC1_BIND_DN"'",
                "password_file": "'"$GB_TEST_DC1_BIND_PASSWORD_FILE"'", "base": "'"$GB_TEST_DC1_BASE_DN"'"}}]}}]'
tenant_user "$T/tenant.json" u-w "$cw"
for n in 1 2 3; do tenant_group "$T/tenant.json" "$(id $n)" "Wave $n" members=u-w; done
fake_start "$T/tenant.json"
gb_config "$T/gb.ini" DC1 "$WB" "groups = $(id 3)" "allowed_containers = $WB" 'cn = Append("Group_", [objectId])' \
	"[migration]" "connect_sync_export = $here/data/connect-sync/contoso-2016-upgraded" "writeback_ou = $WB" \
	"tenant_domain = contoso.example" "handoff_target = cloudsync" "cloudsync_service_principal = $SP" \
	"cloudsync_job_id = $JOB" "cloudsync_rule_id = 33f7c90d-bf71-41b1-bda6-aaf0ddbee5d8#V2" "handoff_wave_size = 1"
$GBTEST coexistence-export "$here/.." "$T/after"
GB="$GB_BIN --config $T/gb.ini --state $T/gb.db"
assignments() {
	fake_control GET "/state?id=$SP" >"$T/sp.json"
	python3 -c "import json,sys; s=json.load(open(sys.argv[1])); s=s.get('value',s); print(len(s['appRoleAssignedTo']))" "$T/sp.json"
}
ad_members() { ldap_on DC1 ldapsearch -LLL -b "CN=Group_$(id "$1"),$WB" -s base "(objectClass=group)" member | grep -c '^member:'; }
$GB migrate run --yes >/dev/null 2>&1
$GB migrate confirm inventory >/dev/null 2>&1
$GB migrate run --yes >/dev/null 2>&1
$GB migrate confirm connect-sync-coexistence --export "$T/after" >/dev/null 2>&1
run $GB migrate plan handoff
expect_rc "the job's plan is shown" 0
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
expect "later waves were not assigned" test "$(assignments)" = 1
expect "their groups were not touched" test "$(ad_members 2)$(ad_members 3)" = 11
expect "the audit log records the failed hand-over" test "$(sqlite3 "$T/gb.db" "SELECT count(*) FROM audit_log WHERE step = 'handoff' AND operation = 'group.handoff' AND outcome = 'failed' AND target = '$(id 1)'")" = 1
expect "no group is recorded as handed over" test "$(sqlite3 "$T/gb.db" "SELECT count(*) FROM migration_groups WHERE handed_over <> 0")" = 0
run $GB migrate status
expect_out "handoff still waits" "handoff                    waiting"
run $GB migrate rollback handoff
expect_rc "the stopped hand-over rolls back" 0
expect "the assignment groupbridge made is removed" test "$(assignments)" = 0
expect "every audit record uses the documented vocabulary, with an outcome" python3 "$(dirname "$0")/audit_vocabulary.py" "$T/gb.db"
finish
