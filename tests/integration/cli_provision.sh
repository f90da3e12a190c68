#!/bin/sh
# Provisioning end to end on the test bed: a real Samba AD DC (DC1) and the Graph fake. Covers the rows of the
# source-of-authority and nested-group tables, hostile names, convergence (a second run writes nothing), membership
# changes, the audit log, and the delete threshold.
. "$(dirname "$0")/lib_ad.sh"
BASE=$GB_TEST_DC1_BASE_DN
OU="OU=gbprov-$$,$BASE"
ldap() { ldap_on DC1 "$@"; }

# --- the forest: an OU with users ---
ad_ou_users DC1 "$OU" alice bob carol
expect "three users have GUIDs" test -n "${alice:-}" -a -n "${bob:-}" -a -n "${carol:-}"

# --- the tenant ---
HOSTILE=' #Évil Zürich, "x" <y>;=+\ ñ '
g() { printf '0000000%d-1111-4111-8111-%012d' "$1" "$1"; }
bob_upper=$(echo "$bob" | tr '[:lower:]' '[:upper:]')
tenant_new "$T/tenant.json" page_size:=2 'devices:=[{"id": "dev-1", "displayName": "Laptop"}]' \
	'clients:=[{"client_id": "11111111-2222-4333-8444-555555555555", "secret": "fake-secret-value-1"}]'
tenant_user "$T/tenant.json" u-alice "$alice" displayName=Alice onPremisesSyncEnabled:=true
tenant_user "$T/tenant.json" u-bob "$bob_upper" displayName=Bob onPremisesSyncEnabled:=true
tenant_user "$T/tenant.json" u-carol "$carol" displayName=Carol onPremisesSyncEnabled:=true
tenant_user "$T/tenant.json" u-cloud null "displayName=Cloud Only"
tenant_user "$T/tenant.json" u-other 99999999-9999-4999-8999-999999999999 "displayName=Other Forest" onPremisesSyncEnabled:=true
tenant_group "$T/tenant.json" "$(g 1)" Sales "description=  Sales team  " members=u-alice,u-bob,u-cloud
tenant_group "$T/tenant.json" "$(g 2)" CloudOnly members=u-cloud
tenant_group "$T/tenant.json" "$(g 3)" Empty
tenant_group "$T/tenant.json" "$(g 4)" SyncedFromAD members=u-alice onPremisesSyncEnabled:=true
tenant_group "$T/tenant.json" "$(g 5)" Parent "members=$(g 1),$(g 4),dev-1,u-other"
tenant_group "$T/tenant.json" "$(g 6)" Mail members=u-alice mailEnabled:=true
tenant_group "$T/tenant.json" "$(g 7)" "$HOSTILE" members=u-alice
tenant_group "$T/tenant.json" "$(g 8)" M365 'groupTypes:=["Unified"]'
fake_start "$T/tenant.json"
ids=""
for n in 1 2 3 4 5 6 7 8; do ids="$ids
    $(g $n)"; done
gb_config "$T/gb.ini" DC1 "$OU" "groups =$ids" "delete_threshold = 0"
GB="$GB_BIN --config $T/gb.ini --state $T/gb.db"
count() { ldap ldapsearch -LLL -b "OU=Groups,$OU" "$1" dn 2>/dev/null | grep -c '^dn:'; }
members_of() { ldap ldapsearch -LLL -o ldif-wrap=no -b "OU=Groups,$OU" "(cn=$1)" member 2>/dev/null | grep -c '^member:'; }

# --- a dry run changes nothing ---
run $GB provision --dry-run
expect_rc "dry run exits 0" 0
expect_out "dry run plans Sales" "create-group    CN=Sales_000000000001,OU=Groups,$OU"
expect_out "dry run lists a cloud-only skip" "cloud-only-user"
expect_out "dry run lists the other-forest skip" "other-forest"
expect_out "dry run lists the synced nested group" "synced-group"
expect_out "dry run lists the device" "device"
expect_out "dry run refuses mail-enabled" "mail-enabled"
expect_out "dry run refuses Microsoft 365" "microsoft-365-group"
expect_out "dry run refuses the synced group" "synced-from-ad"
expect "dry run created nothing" test "$(count '(objectClass=group)')" = 0

# --- the plan report (reports read the stored plan, never the network) ---
expect_report plan "plan report has the member outcomes" "Member outcomes per group" \
	"plan report counts groups to create" "groups to create" "plan report explains skips" "cloud-only-user"
expect "the hostile name is escaped in HTML" sh -c "grep -q '&lt;y&gt;' '$T/plan.html' && ! grep -q '<y>' '$T/plan.html'"
run $GB report plan --format json
expect "plan report JSON parses" python3 -c "import json,sys; d=json.loads(sys.argv[1]); assert d['kind']=='plan'" "$out"
run $GB report plan --format csv
expect_rc "plan report as CSV" 0

# --- the first run ---
run $GB provision
expect_rc "first run exits 0" 0
expect_out "first run summary" "5 provisioned"
expect "five groups exist (Sales, CloudOnly, Empty, Parent, hostile)" test "$(count '(objectClass=group)')" = 5
expect "mixed group: only on-prem members (alice, bob)" test "$(members_of 'Sales_000000000001')" = 2
expect "cloud-only members: no references" test "$(members_of 'CloudOnly_000000000002')" = 0
expect "empty group provisioned empty" test "$(count '(cn=Empty_000000000003)')" = 1
expect "synced group not provisioned" test "$(count '(cn=SyncedFromAD*)')" = 0
expect "mail-enabled group not provisioned" test "$(count '(cn=Mail*)')" = 0
expect "nested cloud group referenced, synced one and device not" test "$(members_of 'Parent_000000000005')" = 1
ldap ldapsearch -LLL -o ldif-wrap=no -b "OU=Groups,$OU" "(cn=Parent_000000000005)" member >"$T/parent.ldif" 2>/dev/null
expect "parent holds the Sales group" grep -q "member: CN=Sales_000000000001,OU=Groups,$OU" "$T/parent.ldif"
ldap ldapsearch -LLL -o ldif-wrap=no -b "OU=Groups,$OU" "(msDS-ExternalDirectoryObjectId=Group_00000001-1111-4111-8111-000000000001)" \
	groupType adminDescription description displayName >"$T/sales.ldif" 2>/dev/null
expect "anchor set" grep -q "^dn: CN=Sales_000000000001" "$T/sales.ldif"
expect "universal security" grep -q "^groupType: -2147483640" "$T/sales.ldif"
expect "adminDescription set" grep -q "^adminDescription: Group_00000001-1111-4111-8111-000000000001" "$T/sales.ldif"
expect "description trimmed" grep -q "^description: Sales team$" "$T/sales.ldif"
ldap ldapsearch -LLL -o ldif-wrap=no -b "OU=Groups,$OU" "(msDS-ExternalDirectoryObjectId=Group_00000007-1111-4111-8111-000000000007)" \
	cn displayName >"$T/hostile.ldif" 2>/dev/null
expect "hostile name kept whole in one RDN" python3 - "$T/hostile.ldif" "$HOSTILE" <<'PY'
import base64, re, sys
text = open(sys.argv[1]).read()
want = sys.argv[2].strip() + "_000000000007"
m = re.search(r"^cn(::?) (.*)$", text, re.M)
cn = base64.b64decode(m.group(2)).decode() if m.group(1) == "::" else m.group(2)
sys.exit(0 if cn == want else 1)
PY
expect "hostile group is inside the OU" python3 - "$T/hostile.ldif" "OU=Groups,$OU" <<'PY'
import base64, re, sys
text = open(sys.argv[1]).read()
m = re.search(r"^dn(::?) (.*)$", text, re.M)
dn = base64.b64decode(m.group(2)).decode() if m.group(1) == "::" else m.group(2)
sys.exit(0 if dn.endswith("," + sys.argv[2]) and dn.count(",OU=") == sys.argv[2].count("OU=") else 1)
PY

# --- convergence: a second run writes nothing ---
run $GB provision --dry-run
expect_out "second plan is empty" "No changes."
run $GB provision
expect_rc "second run exits 0" 0
expect_out "second run applies nothing" "0 operations applied"

# --- a membership change in the cloud ---
fake_mutate '{"changes": [{"op": "remove_members", "group": "00000001-1111-4111-8111-000000000001", "members": ["0000eeee-0000-4000-8000-000000626f62"]},
  {"op": "add_members", "group": "00000002-1111-4111-8111-000000000002", "members": ["0000eeee-0000-4000-8000-006361726f6c"]}]}'
run $GB provision
expect_rc "change run exits 0" 0
expect "bob removed from Sales" test "$(members_of 'Sales_000000000001')" = 1
expect "carol added to CloudOnly" test "$(members_of 'CloudOnly_000000000002')" = 1

# --- on demand: one group, only the chosen members ---
fake_mutate '{"changes": [{"op": "add_members", "group": "00000001-1111-4111-8111-000000000001", "members": ["0000eeee-0000-4000-8000-006361726f6c", "0000eeee-0000-4000-8000-000000626f62"]}]}'
run $GB provision on-demand 00000001-1111-4111-8111-000000000001 --member 0000eeee-0000-4000-8000-006361726f6c --member 0000eeee-0000-4000-8000-00636c6f7564 --member 0000eeee-0000-4000-8000-6e6f626f6479
expect_rc "on-demand exits 0" 0
expect_out "on-demand adds the chosen member" "member 0000eeee-0000-4000-8000-006361726f6c: added"
expect_out "on-demand explains a skip" "member 0000eeee-0000-4000-8000-00636c6f7564: skipped: user 0000eeee-0000-4000-8000-00636c6f7564 in group"
expect_out "on-demand names a non-member" "member 0000eeee-0000-4000-8000-6e6f626f6479: not a member"
expect "on-demand added carol only, not bob" test "$(members_of 'Sales_000000000001')" = 2
run $GB provision on-demand 00000001-1111-4111-8111-000000000001 --member 0000eeee-0000-4000-8000-006361726f6c
expect_out "on-demand again: already a member" "member 0000eeee-0000-4000-8000-006361726f6c: already a member"
run $GB provision on-demand 00000001-1111-4111-8111-000000000001 --member a --member b --member c --member d --member e --member f
expect_rc "a sixth member is a usage error" 2
run $GB provision on-demand 00000006-1111-4111-8111-000000000006 --member 0000eeee-0000-4000-8000-00616c696365
expect_out "on-demand on an unsupported group says why" "member 0000eeee-0000-4000-8000-00616c696365: not provisioned: group 00000006"
run $GB provision
expect "the full run adds bob too" test "$(members_of 'Sales_000000000001')" = 3

# --- a member added by hand in AD is removed (membership = authoritative) ---
printf 'dn: CN=CloudOnly_000000000002,OU=Groups,%s\nchangetype: modify\nadd: member\nmember: CN=alice-%s,%s\n' "$OU" $$ "$OU" >"$T/manual.ldif"
ldap ldapmodify -f "$T/manual.ldif" >/dev/null 2>&1
expect "manual member present" test "$(members_of 'CloudOnly_000000000002')" = 2
run $GB provision
expect "an incremental run with no cloud change leaves AD alone" test "$(members_of 'CloudOnly_000000000002')" = 2
expect_err "and reads no group again" "0 groups to read again"
run $GB provision --full
expect "--full corrects drift: the manual member is removed" test "$(members_of 'CloudOnly_000000000002')" = 1

# --- a group that gains one member and loses another: both in one LDAP modify, and one audit record each ---
before=$(sqlite3 "$T/gb.db" "SELECT count(*) FROM audit_log")
fake_mutate '{"changes": [{"op": "remove_members", "group": "00000002-1111-4111-8111-000000000002", "members": ["0000eeee-0000-4000-8000-006361726f6c"]},
  {"op": "add_members", "group": "00000002-1111-4111-8111-000000000002", "members": ["0000eeee-0000-4000-8000-00616c696365"]}]}'
run $GB provision
expect_rc "gain-and-lose run exits 0" 0
expect_err "one modify carries both changes" "directory writes: 0 adds, 1 modifies"
cloudonly=$(ldap ldapsearch -LLL -o ldif-wrap=no -b "CN=CloudOnly_000000000002,OU=Groups,$OU" member | sed -n 's/^member: //p')
expect "alice replaced carol in CloudOnly" test "$cloudonly" = "CN=alice-$$,$OU"
expect "an audit record for each half" test "$(sqlite3 "$T/gb.db" "SELECT group_concat(operation) FROM audit_log WHERE seq > $before")" = "member.add,member.remove"

# --- deletes: soft delete keeps, hard delete stops at the threshold, then deletes only what we manage ---
printf 'dn: CN=Foreign,OU=Groups,%s\nobjectClass: group\nmsDS-ExternalDirectoryObjectId: Group_00000002-1111-4111-8111-000000000002x\n' "$OU" >"$T/foreign.ldif"
ldap ldapadd -f "$T/foreign.ldif" >/dev/null 2>&1
fake_mutate '{"changes": [{"op": "soft_delete_group", "id": "00000003-1111-4111-8111-000000000003"}]}'
run $GB provision
expect_rc "soft delete run exits 0" 0
expect "soft-deleted group kept in AD" test "$(count '(cn=Empty_000000000003)')" = 1
fake_mutate '{"changes": [{"op": "hard_delete_group", "id": "00000002-1111-4111-8111-000000000002"}]}'
run $GB provision
expect_rc "a delete over the threshold stops with exit 4" 4
expect_err "the gate explains itself" "more than delete_threshold"
expect "nothing deleted at the gate" test "$(count '(cn=CloudOnly_000000000002)')" = 1
run $GB provision --dry-run
expect_out "the plan shows the delete" "delete-group    CN=CloudOnly_000000000002"
run $GB provision --allow-deletes
expect_rc "allowed delete run exits 0" 0
expect "hard-deleted group deleted" test "$(count '(cn=CloudOnly_000000000002)')" = 0
expect "a group groupbridge does not manage is never deleted" test "$(count '(cn=Foreign)')" = 1

# --- leaving scope stops management and deletes nothing ---
sed -i 's/^    00000001-1111-4111-8111-000000000001$//' "$T/gb.ini"
run $GB provision --allow-deletes
expect_rc "out-of-scope run exits 0" 0
expect "group that left scope is kept" test "$(count '(cn=Sales_000000000001)')" = 1
expect "state marks it unmanaged" test "$(sqlite3 "$T/gb.db" "SELECT state FROM managed_groups WHERE object_id LIKE '00000001-%'")" = unmanaged
expect "state marks the soft-deleted one unmanaged" test "$(sqlite3 "$T/gb.db" "SELECT state FROM managed_groups WHERE object_id LIKE '00000003-%'")" = unmanaged

# --- the audit log holds every change and verifies ---
run $GB audit verify
expect_rc "audit verify passes" 0
run $GB audit export --format jsonl
expect_out "audit has the creates" '"operation":"group.create"'
expect_out "audit has member removals" '"operation":"member.remove"'
expect_out "audit has the delete" '"operation":"group.delete"'
expect_not "no secret in the audit export" "fake-secret-value-1"

finish
