#!/bin/sh
# The migration handing its groups to an existing Cloud Sync job ([migration] handoff_target = cloudsync): each group
# is assigned to the job's service principal, provisionOnDemand runs for one group with at most five members as a
# smoke test, and verify checks AD against the same rules. groupbridge's own provisioning does not take the groups.
. "$(dirname "$0")/lib_ad.sh"
WB="OU=gbwbc-$$,$GB_TEST_DC1_BASE_DN"
ad_ou_users DC1 "$WB" ca
id() { printf '00000015-0000-4000-8000-%012d' "$1"; }
SP=00000016-0000-4000-8000-000000000001
for n in 1 2 3; do
	printf 'dn: CN=Group_%s,%s\nobjectClass: group\ngroupType: -2147483640\nadminDescription: Group_%s\nmember: CN=ca-%s,%s\n\n' \
		"$(id $n)" "$WB" "$(id $n)" $$ "$WB"
done | ldap_on DC1 ldapadd >/dev/null
tenant_new "$T/tenant.json" 'servicePrincipals:=[{"id": "'"$SP"'", "appId": "00000016-0000-4000-8000-0000000000aa",
  "displayName": "contoso.com (Cloud Sync)",
  "appRoles": [{"id": "1a0abf4d-b9fa-4512-a3a2-51ee82c6fd9f", "value": "Group", "displayName": "Group", "allowedMemberTypes": ["User"]}],
  "appRoleAssignedTo": [{"principalId": "'"$(id 3)"'", "appRoleId": "1a0abf4d-b9fa-4512-a3a2-51ee82c6fd9f"}],
  "synchronization": {"jobs": [{"id": "AAD2ADGroupProvisioning.fff03.1", "on_demand_result": "Success"}]}}]'
tenant_user "$T/tenant.json" u-a "$ca"
for n in 1 2 3; do tenant_group "$T/tenant.json" "$(id $n)" "Team $n" members=u-a; done
fake_start "$T/tenant.json"
gb_config "$T/gb.ini" DC1 "$WB" "groups = $(id 3)" "allowed_containers = $WB" 'cn = Append("Group_", [objectId])' \
	"[migration]" "connect_sync_export = $here/data/connect-sync/contoso-2016" "writeback_ou = $WB" \
	"tenant_domain = contoso.example" "handoff_target = cloudsync" "cloudsync_service_principal = $SP" \
	"cloudsync_job_id = AAD2ADGroupProvisioning.fff03.1"
$GBTEST coexistence-export "$here/.." "$T/after"
GB="$GB_BIN --config $T/gb.ini --state $T/gb.db"
$GB migrate run --yes >/dev/null 2>&1
$GB migrate confirm inventory >/dev/null 2>&1
$GB migrate run --yes >/dev/null 2>&1
$GB migrate confirm connect-sync-coexistence --export "$T/after" >/dev/null 2>&1
$GB migrate run --yes --i-understand-this-is-irreversible >/dev/null 2>&1
$GB migrate confirm disable-writeback >/dev/null 2>&1
$GB migrate run --yes >/dev/null 2>&1
$GB migrate confirm match >/dev/null 2>&1
run $GB migrate run --yes
expect_rc "without the rule id the handoff is a configuration error" 2
expect_err "it says where to find the rule id" "cloudsync_rule_id"
printf 'cloudsync_rule_id = 33f7c90d-bf71-41b1-bda6-aaf0ddbee5d8#V2\n' >>"$T/gb.ini"
run $GB migrate run --yes
expect_rc "with it, the handoff to Cloud Sync is planned and waits" 4
run $GB migrate plan handoff
expect_rc "the plan" 0
expect "the plan assigns the two groups not assigned yet" test "$(printf '%s\n' "$out" | grep -c 'graph-assign-app-role')" = 2
run $GB migrate confirm handoff
expect_rc "confirming hands the groups to the job" 0
expect_out "the smoke test ran" "provisionOnDemand for"
expect_out "and succeeded" ": Success"
fake_control GET "/state?id=$SP" >"$T/sp.json"
expect "all three groups are assigned to the job" test "$(python3 -c "import json,sys; s=json.load(open(sys.argv[1])); s=s.get('value',s); print(len(s['appRoleAssignedTo']))" "$T/sp.json")" = 3
expect "the job received one provisionOnDemand with a group and its member" python3 -c "
import json, sys
s = json.load(open(sys.argv[1])); s = s.get('value', s)
p = s['synchronization']['jobs'][0]['provisionedOnDemand']
assert len(p) == 1 and p[0]['ruleId'].startswith('33f7c90d'), p" "$T/sp.json"
run $GB migrate run --yes
expect_rc "verify passes: AD is as the rules expect" 0
expect_out "the migration is complete" "The migration is complete."
run $GB provision --dry-run
expect_out "groupbridge's provisioning does not take the groups handed to Cloud Sync" "1 provisioned"
expect "every audit record uses the documented vocabulary, with an outcome" python3 "$(dirname "$0")/audit_vocabulary.py" "$T/gb.db"
finish
