#!/bin/sh
# The migration's first steps on the test bed, from a writeback v2 fixture: AD groups as Connect Sync made them
# (CN=Group_<objectId> in the writeback OU, adminDescription set) and their cloud twins in the Graph fake.
# import -> inventory (a gate) -> confirm -> stamp-anchors (plan, --yes, kill -9 and resume) -> rollback.
. "$(dirname "$0")/lib_ad.sh"
WB="OU=gbwb-$$,$GB_TEST_DC1_BASE_DN"
ad_ou_users DC1 "$WB" ma mb
id() { printf '00000013-0000-4000-8000-%012d' "$1"; }
# 30 ready groups, then one of each other class
{
	for n in $(seq 1 30); do
		printf 'dn: CN=Group_%s,%s\nobjectClass: group\ngroupType: -2147483640\nadminDescription: Group_%s\nmember: CN=ma-%s,%s\n\n' \
			"$(id $n)" "$WB" "$(id $n)" $$ "$WB"
	done
	printf 'dn: CN=Group_%s,%s\nobjectClass: group\ngroupType: -2147483646\nadminDescription: Group_%s\n\n' "$(id 31)" "$WB" "$(id 31)"
	printf 'dn: CN=Group_%s,%s\nobjectClass: group\ngroupType: -2147483640\nadminDescription: Group_%s\nadminCount: 1\n\n' "$(id 32)" "$WB" "$(id 32)"
	printf 'dn: CN=Group_%s,%s\nobjectClass: group\ngroupType: -2147483640\nadminDescription: Group_%s\n\n' "$(id 33)" "$WB" "$(id 33)"
	printf 'dn: CN=Group_%s,%s\nobjectClass: group\ngroupType: -2147483640\nadminDescription: Group_%s\n\n' "$(id 34)" "$WB" "$(id 34)"
	printf 'dn: CN=Group_%s,%s\nobjectClass: group\ngroupType: -2147483640\nadminDescription: Group_%s\nmsDS-ExternalDirectoryObjectId: Group_%s\n\n' \
		"$(id 35)" "$WB" "$(id 35)" "$(id 35)"
	printf 'dn: CN=HR Synced-%s,%s\nobjectClass: group\ngroupType: -2147483640\n\n' $$ "$WB"
} | ldap_on DC1 ldapadd >/dev/null
HR_SID=$(ad_sid DC1 "$WB" "(cn=HR Synced-$$)")
wbc='writebackConfiguration:={"isEnabled": true, "onPremisesGroupType": "universalSecurityGroup"}'
tenant_new "$T/tenant.json" 'onPremisesSynchronization:={"features": {"groupWriteBackEnabled": true}}'
tenant_user "$T/tenant.json" u-a "$ma"
tenant_user "$T/tenant.json" u-b "$mb"
tenant_user "$T/tenant.json" u-cloud null
for n in $(seq 1 32); do tenant_group "$T/tenant.json" "$(id $n)" "Team $n" members=u-a,u-cloud "$wbc"; done
tenant_group "$T/tenant.json" "$(id 34)" Mail mailEnabled:=true "$wbc" # 33 is gone: an orphan
tenant_group "$T/tenant.json" "$(id 35)" "Stamped already" members=u-b "$wbc"
tenant_group "$T/tenant.json" "$(id 90)" "HR Synced" members=u-a onPremisesSyncEnabled:=true \
	"onPremisesSecurityIdentifier=$HR_SID" 'onPremisesSyncBehavior:={"isCloudManaged": false}'
fake_start "$T/tenant.json"
gb_config "$T/gb.ini" DC1 "$WB" "groups = $(id 1)" \
	"[migration]" "connect_sync_export = $here/data/connect-sync/contoso-2016-upgraded" "writeback_ou = $WB" \
	"tenant_domain = contoso.example" "convert_groups = $(id 90)"
GB="$GB_BIN --config $T/gb.ini --state $T/gb.db"
anchor_of() {
	ldap_on DC1 ldapsearch -LLL -o ldif-wrap=no -b "$WB" "(cn=Group_$(id "$1"))" msDS-ExternalDirectoryObjectId 2>/dev/null |
		sed -n 's/^msDS-ExternalDirectoryObjectId: //p'
}
stamped() { ldap_on DC1 ldapsearch -LLL -b "$WB" "(msDS-ExternalDirectoryObjectId=Group_*)" dn 2>/dev/null | grep -c '^dn:'; }
# The tenant's groupWriteBackEnabled set through Graph (PATCH directory/onPremisesSynchronization), as it changes when
# Set-ADSyncAADCompanyFeature -GroupWritebackV2 $false has run (that the two are one switch is UNCONFIRMED).
tenant_gwb() {
	python3 - "$GB_TEST_AUTHORITY_URL" "$GB_TEST_GRAPH_URL" "$GB_TEST_GRAPH_TENANT_ID" "$GB_TEST_GRAPH_CLIENT_ID" \
		"$T/fake/secret" "$GB_TEST_CA_DIR/ca.pem" "$1" <<'PY'
import json, ssl, sys, urllib.parse, urllib.request
auth, graph, tenant, client, secret, ca, value = sys.argv[1:]
ctx = ssl.create_default_context(cafile=ca)
form = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": client, "scope": graph.rstrip("/") + "/.default",
                               "client_secret": open(secret).read().strip()}).encode()
tok = json.load(urllib.request.urlopen(auth.rstrip("/") + "/" + tenant + "/oauth2/v2.0/token", data=form, context=ctx))
req = urllib.request.Request(graph.rstrip("/") + "/v1.0/directory/onPremisesSynchronization/" + tenant, method="PATCH",
                             data=json.dumps({"features": {"groupWriteBackEnabled": value == "true"}}).encode(),
                             headers={"Authorization": "Bearer " + tok["access_token"], "Content-Type": "application/json"})
urllib.request.urlopen(req, context=ctx).read()
PY
}

run $GB migrate status
expect_rc "status exits 0" 0
expect_out "every step starts pending" "import                     pending"
expect_out "status gives the next command" "groupbridge migrate plan import"

run $GB migrate run
expect_rc "run stops at the inventory gate (exit 4)" 4
expect_err "it says what to do" "groupbridge migrate confirm inventory"
expect_out "the import ran" "imported"
expect_out "the inventory counts ready groups" "ready                  31 groups"
expect_out "a global group is not universal" "not-universal           1 groups"
expect_out "adminCount = 1 is protected" "protected               1 groups"
expect_out "a vanished cloud group is an orphan" "orphan                  1 groups"
expect_out "a mail-enabled group stays with v1" "unsupported-type        1 groups"
expect_out "members that will be dropped are counted" "members dropped: 30 cloud-only"
expect "the inventory changed nothing in AD" test "$(stamped)" = 1
run $GB migrate status
expect_out "the inventory waits" "inventory                  waiting"
expect_report assessment "it counts the written-back groups" "written-back groups" \
	"it names the classes" "not-universal" "it has the export's findings" "Findings from the Connect Sync export"

run $GB migrate run
expect_rc "run refuses to pass the gate" 4
run $GB migrate confirm inventory
expect_rc "confirm exits 0" 0
run $GB migrate plan stamp-anchors
expect_rc "the plan exits 0" 0
expect "the plan stamps the 30 ready groups that lack an anchor" test "$(printf '%s\n' "$out" | grep -c 'add-value')" = 30
expect "the plan changed nothing" test "$(stamped)" = 1
run $GB migrate run
expect_rc "without --yes and without a terminal, changes are not applied" 4
expect_err "it asks for --yes" "run again with --yes"
expect "nothing stamped yet" test "$(stamped)" = 1

# kill -9 in the middle of stamping, then resume. The killed run writes one at a time: with 8 writes in flight on
# loopback the 30 stamps end within one poll of the audit log, and the kill would land after them (SIGKILL with writes
# in flight is cli_hardening_kill.sh's and cli_provision_pipelined.sh's)
AUDIT_WHERE="step = 'stamp-anchors' AND operation = 'attribute.add'"
awk '/^\[directory\]/ { print; print "writes_in_flight = 1"; next } { print }' "$T/gb.ini" >"$T/gb-one.ini"
kill_at_audit 10 $GB_BIN --config "$T/gb-one.ini" --state "$T/gb.db" migrate run --until stamp-anchors --yes
partial=$(stamped)
expect "the kill landed in the middle" test "$partial" -gt 1 -a "$partial" -lt 31
run $GB migrate run --until stamp-anchors --yes
expect_rc "the resumed run exits 0" 0
expect_out "it stops where asked" "Stopped after stamp-anchors"
expect_out "verification passed" "verified: 31 ready groups carry their anchor"
expect "every ready group is stamped" test "$(stamped)" = 31
expect "every stamp is in the audit log, each once" test "$(sqlite3 "$T/gb.db" "SELECT count(DISTINCT target) FROM audit_log WHERE step = 'stamp-anchors' AND operation = 'attribute.add' AND result LIKE 'ok%'")" = 30
expect "no group was stamped twice" test "$(sqlite3 "$T/gb.db" "SELECT count(*) FROM audit_log WHERE step = 'stamp-anchors' AND operation = 'attribute.add' AND result = 'ok'")" -le 30
expect "the anchor is adminDescription" test "$(anchor_of 7)" = "Group_$(id 7)"
expect "non-ready groups are untouched" test -z "$(anchor_of 31)"
run $GB migrate rollback inventory
expect_rc "a step that changes nothing cannot be rolled back" 1
expect_err "it says why" "the inventory changes nothing; run it again instead"
run $GB migrate rollback stamp-anchors
expect_rc "rollback exits 0" 0
expect "rollback removed what the step wrote" test "$(stamped)" = 1
expect "the anchor that was there before is kept" test "$(anchor_of 35)" = "Group_$(id 35)"
run $GB migrate status
expect_out "the step shows rolled back" "stamp-anchors              rolled-back"

# --- step 4: the operator's script, then the proof ---
run $GB migrate run --until stamp-anchors --yes
expect_rc "stamping again after the rollback" 0
expect "every ready group is stamped again" test "$(stamped)" = 31
run $GB migrate run
expect_rc "the run stops for the operator (exit 4)" 4
expect_out "it writes the script" "connect-sync-coexistence.ps1"
expect_err "it says how to confirm" "groupbridge migrate confirm connect-sync-coexistence"
ps1="$T/connect-sync-coexistence.ps1"
expect "the script exists" test -f "$ps1"
expect "no placeholder is left" sh -c "! grep -q '@@[A-Z0-9_]*@@' '$ps1'"
expect "the script names the AD connector" grep -q "\$AdConnectorName        = 'contoso.com'" "$ps1"
expect "the script has Microsoft's inbound identifier" grep -q "e4eae1c9-b9bc-4328-ade9-df871cdd3027" "$ps1"
expect "the script passes the template checker" python3 "$here/../runbooks/templates/check-templates.py" "$ps1"
# Rollbacks while step 4 waits (review D2): the stamps go (the rules do not read them), then step 4 itself.
run $GB migrate rollback stamp-anchors
expect_rc "stamp-anchors rolls back while step 4's script exists" 0
expect "the stamps are gone" test "$(stamped)" = 1
run $GB migrate status
expect_out "step 4 is left waiting" "connect-sync-coexistence   waiting"
run $GB migrate run --until stamp-anchors --yes
expect_rc "stamping again" 0
expect "every ready group is stamped again" test "$(stamped)" = 31
run $GB migrate rollback connect-sync-coexistence
expect_rc "step 4 rolls back through a script" 0
rps1="$T/connect-sync-coexistence-rollback.ps1"
expect "the rollback script exists" test -f "$rps1"
expect "it removes Microsoft's two rules" sh -c "grep -q e4eae1c9-b9bc-4328-ade9-df871cdd3027 '$rps1' && grep -q 419fda18-75bb-4e23-b947-8b06e7246551 '$rps1'"
expect "it passes the template checker" python3 "$here/../runbooks/templates/check-templates.py" "$rps1"
run $GB migrate status
expect_out "the step is rolling back" "connect-sync-coexistence   rolling-back"
run $GB migrate run
expect_rc "the run waits for the rollback's proof" 4
expect_err "it says what to do" "is being rolled back"
cp -rL "$here/data/connect-sync/contoso-2016-upgraded" "$T/norules"
cp "$here/data/connect-sync/fixtures/rules/coex-inbound.xml" "$T/norules/SynchronizationRules/SynchronizationRule_{e4eae1c9-b9bc-4328-ade9-df871cdd3027}.xml"
run $GB migrate confirm connect-sync-coexistence --export "$T/norules"
expect_rc "an export that still holds a rule is refused" 1
expect_err "it names the rule" "still holds the inbound e4eae1c9-b9bc-4328-ade9-df871cdd3027 coexistence rule"
rm "$T/norules/SynchronizationRules/SynchronizationRule_{e4eae1c9-b9bc-4328-ade9-df871cdd3027}.xml"
run $GB migrate confirm connect-sync-coexistence --export "$T/norules"
expect_rc "an export without the rules confirms the rollback" 0
run $GB migrate status
expect_out "step 4 is rolled back" "connect-sync-coexistence   rolled-back"
run $GB migrate run
expect_rc "step 4 runs again: a new script, and wait" 4
expect_out "it writes the script again" "connect-sync-coexistence.ps1"
cp -rL "$here/data/connect-sync/contoso-2016-upgraded" "$T/after"
# A second forest's AD connector that sorts first, and MV.xml naming contoso.com as the writeback forest: step 5's
# script must be for contoso.com, as step 4's was, not for the first AD connector (review D3).
python3 - "$T/after" <<'PY'
import sys
d = sys.argv[1]
s = open(d + "/Connectors/Connector_{ae4db4cc-b16b-4eb2-acf5-837ca84e4d7d}.xml").read()
s = s.replace("<id>{AE4DB4CC-B16B-4EB2-ACF5-837CA84E4D7D}</id>", "<id>{0000ADAD-0000-4000-8000-000000000001}</id>")
s = s.replace("<name>contoso.com</name>", "<name>adatum.com</name>", 1).replace("DC=contoso,DC=com", "DC=adatum,DC=com")
s = s.replace("<forest-name>contoso.com</forest-name>", "<forest-name>adatum.com</forest-name>")
open(d + "/Connectors/Connector_{0000adad-0000-4000-8000-000000000001}.xml", "w").write(s)
mv = d + "/GlobalSettings/MV.xml"
empty = '<parameter name="Microsoft.GroupWriteBack.Forest" type="string" use="SynchronizationGlobal" dataType="String" />'
m = open(mv).read()
assert empty in m
open(mv, "w").write(m.replace(empty, empty[:-3] + ">contoso.com</parameter>"))
PY
run $GB migrate confirm connect-sync-coexistence --export "$T/after"
expect_rc "an export without the rules is refused" 1
expect_err "it says what is missing" "the inbound coexistence rule e4eae1c9-b9bc-4328-ade9-df871cdd3027 is missing"
expect_err "and that staging mode is off" "staging mode is not on"
cp "$here/data/connect-sync/fixtures/rules/coex-inbound.xml" "$T/after/SynchronizationRules/SynchronizationRule_{e4eae1c9-b9bc-4328-ade9-df871cdd3027}.xml"
cp "$here/data/connect-sync/fixtures/rules/coex-outbound.xml" "$T/after/SynchronizationRules/SynchronizationRule_{419fda18-75bb-4e23-b947-8b06e7246551}.xml"
sed -i 's|"Microsoft.Synchronize.StagingMode" type="string" use="SynchronizationGlobal" dataType="String">False|"Microsoft.Synchronize.StagingMode" type="string" use="SynchronizationGlobal" dataType="String">True|' "$T/after/GlobalSettings/MV.xml"
# the same export, but still holding the rule that deletes groups leaving writeback scope
cp -r "$T/after" "$T/after-delete"
cp "$here/data/connect-sync/fixtures/rules/delete-rule.xml" "$T/after-delete/SynchronizationRules/SynchronizationRule_{cb871f2d-0000-0000-0000-000000000000}.xml"
run $GB migrate confirm connect-sync-coexistence --export "$T/after-delete"
expect_rc "the export with the rules and staging mode confirms the step" 0
expect_out "it says what it verified" "both coexistence rules are present and enabled, staging mode is on"
run $GB migrate status
expect_out "the step is done, verified" "verified from the Connect Sync export given"

# --- step 5: irreversible, refused while unsafe, verified against a snapshot ---
run $GB migrate run
expect_rc "disable-writeback is refused while the delete rule exists" 4
expect_err "it names the danger" "which deletes AD groups that leave writeback scope"
expect "no script yet" test ! -f "$T/disable-writeback.ps1"
run $GB import connect-sync "$T/after"
expect_rc "a fresh export without the delete rule is imported" 0
run $GB migrate run
expect_rc "without the flag the irreversible step is refused" 4
expect_err "it asks for the flag" "--i-understand-this-is-irreversible"
run $GB migrate run --i-understand-this-is-irreversible
expect_rc "before the hand-over plan was shown the irreversible step waits (review D5)" 4
expect_err "it says to plan the hand-over first" "migrate plan handoff"
expect "still no script" test ! -f "$T/disable-writeback.ps1"
run $GB migrate plan handoff
expect_rc "the hand-over plan: a preview over the ready groups before match" 0
expect_out "it says it is a preview" "PREVIEW (before match, the inventory's ready groups)"
run $GB migrate run --i-understand-this-is-irreversible
expect_rc "with the flag: snapshot and script, then wait (exit 4)" 4
expect_out "the snapshot covers the ready groups" "snapshot of 31 ready groups taken"
expect "the script exists and names the tenant" grep -q "contoso.example" "$T/disable-writeback.ps1"
expect "it is for the writeback forest's AD connector, not the first one" \
	grep -q "^\$AdConnectorName    = 'contoso.com'" "$T/disable-writeback.ps1"
expect "it has the -WhatIf switch" grep -q '^param(\[switch\]\$WhatIf)' "$T/disable-writeback.ps1"
expect "no placeholder is left in it" sh -c "! grep -q '@@[A-Z0-9_]*@@' '$T/disable-writeback.ps1'"
expect "it passes the template checker" python3 "$here/../runbooks/templates/check-templates.py" "$T/disable-writeback.ps1"
# the tenant still reports group writeback (the script did not run, or stopped early): refused (review D4)
run $GB migrate confirm disable-writeback
expect_rc "while Graph reports groupWriteBackEnabled = true the confirmation is refused" 1
expect_err "it names Graph's flag" "groupWriteBackEnabled = true"
expect_err "the step stays waiting while the flag is on" "stays waiting"
tenant_gwb false
# a member disappears (as a bad cutover would do): the confirmation must catch it
printf 'dn: CN=Group_%s,%s\nchangetype: modify\ndelete: member\nmember: CN=ma-%s,%s\n' "$(id 3)" "$WB" $$ "$WB" | ldap_on DC1 ldapmodify >/dev/null
run $GB migrate confirm disable-writeback
expect_rc "a changed group fails the verification" 1
expect_err "it names the group" "Group_$(id 3)"
expect_err "the step stays waiting" "stays waiting"
printf 'dn: CN=Group_%s,%s\nchangetype: modify\nadd: member\nmember: CN=ma-%s,%s\n' "$(id 3)" "$WB" $$ "$WB" | ldap_on DC1 ldapmodify >/dev/null
run $GB migrate confirm disable-writeback
expect_rc "with the member back, the verification passes" 0
expect_out "it says what it verified" "all 31 groups exist with the same objectGUID and the same members"
expect_out "and that Graph reports writeback off" "the tenant reports groupWriteBackEnabled = false"
run $GB migrate rollback disable-writeback
expect_rc "disable-writeback cannot be rolled back" 1
expect_err "it says why" "cannot be undone"
run $GB migrate rollback connect-sync-coexistence
expect_rc "after step 5 the coexistence rules stay" 2
expect_err "it says why" "step disable-writeback is done"
run $GB migrate rollback stamp-anchors
expect_rc "after step 5 the anchors stay" 2
expect_err "it says why, too" "step stamp-anchors cannot be rolled back: step disable-writeback is done"

# --- step 6: convert the listed synced group's source of authority, and remember its AD DN ---
fake_state() { fake_control GET "/state?id=$1"; }
run $GB migrate plan convert-soa
expect_out "the plan creates the extension application" "CloudSyncCustomExtensionsApp"
expect_out "the plan converts the group" "isCloudManaged: false -> true"
run $GB migrate run --until convert-soa --yes
expect_rc "convert-soa runs" 0
expect_out "it verified the conversion" "verified: 1 groups are cloud-managed and remember their AD DN"
fake_state "$(id 90)" >"$T/hr.json"
expect "the group is cloud-managed in the tenant" python3 -c "import json,sys; g=json.load(open(sys.argv[1])); g=g.get('value',g); s=json.dumps(g); assert '\"isCloudManaged\": true' in s, s" "$T/hr.json"
expect "the group remembers its AD DN" grep -q "HR Synced-$$" "$T/hr.json"
cloud_user=0000eeee-0000-4000-8000-00636c6f7564
fake_mutate "{\"changes\": [{\"op\": \"add_members\", \"group\": \"$(id 90)\", \"members\": [\"$cloud_user\"]}]}"
run $GB migrate rollback convert-soa
expect_rc "a converted group with a cloud-only member is not given back to AD (review D15)" 1
expect_err "it names Microsoft's precondition and the user" "holds 1 cloud-only users ($cloud_user)"
fake_mutate "{\"changes\": [{\"op\": \"remove_members\", \"group\": \"$(id 90)\", \"members\": [\"$cloud_user\"]}]}"
run $GB migrate rollback convert-soa
expect_rc "convert-soa can be rolled back" 0
fake_state "$(id 90)" >"$T/hr2.json"
expect "after the rollback the group is AD-managed again" python3 -c "import json,sys; s=json.dumps(json.load(open(sys.argv[1]))); assert '\"isCloudManaged\": false' in s, s" "$T/hr2.json"

# --- step 7: match every group to hand over; a group without its anchor is blocked, with the reason ---
printf 'dn: CN=Group_%s,%s\nchangetype: modify\ndelete: msDS-ExternalDirectoryObjectId\n' "$(id 5)" "$WB" | ldap_on DC1 ldapmodify >/dev/null
run $GB migrate run --yes
expect_rc "convert-soa again, then match stops at its gate (exit 4)" 4
expect_out "match reports the blocked group and why" "$(id 5): blocked: no AD group carries the anchor Group_$(id 5)"
expect_out "match counts" "matched 31 of 32 groups to hand over; 1 blocked"
expect "the converted group is matched by its GroupDN and SID" test "$(sqlite3 "$T/gb.db" "SELECT match_result FROM migration_groups WHERE object_id = '$(id 90)'")" = matched
expect "the match records the AD group" sh -c "sqlite3 '$T/gb.db' \"SELECT matched_dn FROM migration_groups WHERE object_id = '$(id 7)'\" | grep -q 'CN=Group_$(id 7)'"
run $GB migrate status
expect_out "match waits for review" "match                      waiting"
run $GB migrate rollback match
expect_rc "match rolls back: its matches are forgotten" 0
expect "no match is left" test "$(sqlite3 "$T/gb.db" "SELECT count(*) FROM migration_groups WHERE match_result IS NOT NULL")" = 0
expect "the audit log says how many" test "$(sqlite3 "$T/gb.db" "SELECT count(*) FROM audit_log WHERE step = 'match' AND message LIKE '%the matches of 32 groups forgotten%'")" = 1
# An AD group that already carries the converted group's anchor (an earlier Cloud Sync trial) blocks it (review D14)
printf 'dn: CN=Trial-%s,%s\nobjectClass: group\ngroupType: -2147483640\nmsDS-ExternalDirectoryObjectId: Group_%s\n\n' $$ "$WB" "$(id 90)" | ldap_on DC1 ldapadd >/dev/null
run $GB migrate run --yes
expect_rc "match runs again" 4
expect_out "the converted group is blocked by the anchor found elsewhere" "$(id 90): blocked: the anchor Group_$(id 90) is on CN=Trial-$$"
ldap_on DC1 ldapdelete "CN=Trial-$$,$WB" >/dev/null
run $GB migrate rollback match
expect_rc "forgetting that match" 0
run $GB migrate run --yes
expect_rc "match runs again without the trial group" 4
expect_not "nothing blocks the converted group now" "$(id 90): blocked"
run $GB migrate rollback convert-soa
expect_rc "convert-soa rolls back after match" 0
expect_out "match is forgotten with it" "step match forgotten with it"
run $GB migrate run --yes
expect_rc "convert-soa and match again" 4
expect_out "match counts again" "matched 31 of 32 groups to hand over; 1 blocked"

# --- step 8: handoff, the plan first, the warning about Connect-named groups, applied on confirm ---
run $GB migrate confirm match
expect_rc "confirming the match" 0
# scope = all would create the groups left out again, beside their written-back AD groups (review D8)
sed -e '/^groups = /d' -e '/^\[provisioning\]/a scope = all' "$T/gb.ini" >"$T/gb-all.ini"
run $GB_BIN --config "$T/gb-all.ini" --state "$T/gb.db" migrate run --yes
expect_rc "a hand-over with scope = all is refused while groups are left out" 2
expect_err "it counts them and says why" "scope = all would create 4 groups the migration leaves out again"
expect_err "it names one, with its class" "$(id 32) (protected"
expect "nothing was handed over" test "$(sqlite3 "$T/gb.db" 'SELECT count(*) FROM migration_groups WHERE handed_over = 1')" = 0
sed -i "/^\[provisioning\]/a allowed_containers = $WB" "$T/gb.ini"
run $GB migrate run --yes
expect_rc "handoff shows its plan and waits (exit 4)" 4
expect_out "it warns that the default cn would rename the Group_ groups" "30 groups are named Group_<objectId>"
expect_out "it offers the mapping that keeps them" 'cn = Append("Group_", [objectId])'
expect_out "the plan would rename them (the reason for the warning)" "rename"
expect "nothing was handed over yet" test "$(sqlite3 "$T/gb.db" 'SELECT count(*) FROM migration_groups WHERE handed_over = 1')" = 0
sed -i '/^\[provisioning\]/a cn = IIF(IsPresent([extension_33d8e3e344f54da2a9096572eb84075a_GroupDN]), [displayName], Append("Group_", [objectId]))' "$T/gb.ini"
sed -i 's/^cn = IIF.*$/cn = Append("Group_", [objectId])/' "$T/gb.ini"
run $GB migrate plan handoff
expect_rc "the plan with the operator's cn mapping" 0
expect_not "no written-back group is renamed any more" "new name: CN=Team"
run $GB migrate confirm handoff
expect_rc "confirming the handoff applies the provisioning plan" 0
expect_out "it says how many groups it handed over" "handed over 31 groups"
expect "31 groups are handed over" test "$(sqlite3 "$T/gb.db" 'SELECT count(*) FROM migration_groups WHERE handed_over = 1')" = 31
expect "a handed-over group is now managed by provisioning" test "$(sqlite3 "$T/gb.db" "SELECT state FROM managed_groups WHERE object_id = '$(id 7)'")" = managed
expect "the Connect-named group kept its name" test "$(ldap_on DC1 ldapsearch -LLL -b "$WB" "(cn=Group_$(id 7))" dn | grep -c '^dn:')" = 1
run $GB migrate rollback match
expect_rc "after the hand-over, match waits for handoff's rollback" 2
expect_err "it says so" "roll back handoff first"
# the hand-over rolls back from the handed-over state: the groups are taken back, AD is left as it is (review D2)
run $GB migrate rollback handoff
expect_rc "the hand-over rolls back" 0
expect_out "it says what it takes back" "31 groups taken back"
expect "no group is handed over any more" test "$(sqlite3 "$T/gb.db" 'SELECT count(*) FROM migration_groups WHERE handed_over <> 0')" = 0
expect "the AD group is left as it is" test "$(ldap_on DC1 ldapsearch -LLL -b "$WB" "(cn=Group_$(id 7))" dn | grep -c '^dn:')" = 1
run $GB migrate run --yes
expect_rc "the hand-over is planned again and waits" 4
run $GB migrate confirm handoff
expect_rc "and confirmed again" 0
expect "31 groups are handed over again" test "$(sqlite3 "$T/gb.db" 'SELECT count(*) FROM migration_groups WHERE handed_over = 1')" = 31

# --- step 9: verify catches drift (a member added by hand in AD), then passes once provisioning corrects it ---
printf 'dn: CN=Group_%s,%s\nchangetype: modify\nadd: member\nmember: CN=mb-%s,%s\n' "$(id 7)" "$WB" $$ "$WB" | ldap_on DC1 ldapmodify >/dev/null
run $GB migrate run --yes
expect_rc "verify fails on drift" 1
expect_err "it says how much drift" "drift: the membership of the handed-over groups differs from what the rules expect in 1 changes"
run $GB report verification --format md
expect_out "the verification report shows the drifting group" "DRIFT"
expect_out "it counts one group with drift" "groups with drift | 1"
run $GB provision --full
expect_rc "provisioning corrects the drift" 0
run $GB migrate run --yes
expect_rc "verify passes and the migration is complete" 0
expect_out "verify found no drift" "verified: the 31 handed-over groups hold exactly the members the rules expect"
expect_out "the migration is complete" "The migration is complete."
run $GB report verification --format md
expect_rc "the verification report" 0
expect_out "it says there is no drift" "No drift: every handed-over group holds exactly the members the rules expect."
expect_out "it counts the groups checked" "groups checked | 31"
run $GB report status --format md
expect_rc "the status report" 0
expect_out "every step is done" "steps to go | 0"
expect_out "disable-writeback is recorded as verified, not attested" "verified: every group as in the snapshot taken before"
expect_not "no step is marked attested in this migration" "ATTESTED"
run $GB report status --format csv
expect_out "the status as CSV names the steps" "connect-sync-coexistence"
run $GB_BIN --config "$T/gb-all.ini" --state "$T/gb.db" provision --dry-run
expect_rc "provision with scope = all is refused while the migration leaves groups out (review D8)" 2
expect_err "it says why" "provision: [provisioning] scope = all would create 4 groups the migration leaves out again"
run $GB provision --dry-run
expect_out "provisioning keeps the handed-over groups (and changes nothing)" "No changes."
expect_out "provisioning counts them (group 1 is both selected and handed over)" "31 provisioned"
run $GB audit verify
expect_rc "the audit log verifies" 0
expect "every audit record uses the documented vocabulary, with an outcome" python3 "$(dirname "$0")/audit_vocabulary.py" "$T/gb.db"
finish
