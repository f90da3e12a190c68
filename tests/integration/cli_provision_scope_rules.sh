#!/bin/sh
# AD's group-scope rules in steady-state provisioning (AD review D2, the nesting half), against the Samba DC, which
# does not enforce them (a Windows DC refuses each write below): a matched global group that is a member of another
# global group, and a matched domain local group that holds another domain local group, are not made universal and say
# why ("cannot-be-universal"); a nested member that AD would refuse because of the scopes the plan leaves (a universal
# group in a global one, a domain local group in a universal one) is skipped with its reason ("group-scope") and never
# written, while the nestings AD accepts (a global group in a universal one, a universal group in a domain local one)
# are. A matched global group in no global group is still made universal. Once the obstacle is removed in AD by hand,
# the next pass (incremental, no change in the cloud) converts the groups and writes the members it held back, while a
# domain local group that still holds a foreign security principal stays as it is. A group provisioned by an earlier
# pass and nested by an incremental one is checked with the scope AD holds for it. (A user of another domain of the
# forest in a group that stays global is refused too, but Samba has no child domains: tests/unit/test_provision.c.)
. "$(dirname "$0")/lib_ad.sh"
OU="OU=gbscope-$$,$GB_TEST_DC1_BASE_DN"
G="OU=Groups,$OU"
# Outer lives outside the configured base_dn (the OU above): AD's rule holds across the whole domain
OO="OU=gbscope-outer-$$,$GB_TEST_DC1_BASE_DN"
ad_ou DC1 "$OU"
ad_ou DC1 "$OO"
eval "$(ad_users DC1 "$OU" s1-$$)"
eval "s1=\$s1_$$"
GI=005c0e01-0000-4000-8000-000000000001 # Inner: global, member of the unmanaged global group Outer
GF=005c0e02-0000-4000-8000-000000000001 # Free: global, in no global group
GL=005c0e03-0000-4000-8000-000000000001 # LocalP: domain local, holds the unmanaged domain local group LocalKid
GN=005c0e04-0000-4000-8000-000000000001 # New: created (universal)
GF2=005c0e05-0000-4000-8000-000000000001 # LocalF: domain local, holds a foreign security principal
GLOBAL=-2147483646
LOCAL=-2147483644
UNIVERSAL=-2147483640
group_ldif() { # CN GROUPTYPE [ANCHORED-ID [CONTAINER]]
	printf 'dn: CN=%s-%s,%s\nobjectClass: group\ngroupType: %s\n' "$1" $$ "${4:-$G}" "$2"
	[ -z "${3:-}" ] || printf 'msDS-ExternalDirectoryObjectId: Group_%s\nadminDescription: Group_%s\n' "$3" "$3"
	echo
}
{
	group_ldif Inner $GLOBAL $GI
	group_ldif Outer $GLOBAL "" "$OO"
	group_ldif Free $GLOBAL $GF
	group_ldif LocalP $LOCAL $GL
	group_ldif LocalKid $LOCAL
	group_ldif LocalF $LOCAL $GF2
} | ldap_on DC1 ldapadd >"$T/add.out" 2>&1 || _no "the AD groups load" "$(cat "$T/add.out")"
printf 'dn: CN=Outer-%s,%s\nchangetype: modify\nadd: member\nmember: CN=Inner-%s,%s\n\ndn: CN=LocalP-%s,%s\nchangetype: modify\nadd: member\nmember: CN=LocalKid-%s,%s\n\n' \
	$$ "$OO" $$ "$G" $$ "$G" $$ "$G" | ldap_on DC1 ldapmodify >"$T/nest.out" 2>&1 || _no "the AD nesting loads" "$(cat "$T/nest.out")"
printf 'dn: CN=LocalF-%s,%s\nchangetype: modify\nadd: member\nmember: <SID=S-1-5-21-1000-2000-3000-1107>\n-\n' $$ "$G" |
	ldap_on DC1 ldapmodify >"$T/fsp.out" 2>&1 || _no "the FSP fixture loads" "$(cat "$T/fsp.out")"
tenant_new "$T/tenant.json"
tenant_user "$T/tenant.json" u-1 "$s1"
tenant_group "$T/tenant.json" "$GI" "Inner-$$" members=u-1,$GN
tenant_group "$T/tenant.json" "$GF" "Free-$$" members=u-1,$GI
tenant_group "$T/tenant.json" "$GL" "LocalP-$$" members=u-1,$GN
tenant_group "$T/tenant.json" "$GN" "New-$$" members=u-1,$GL
tenant_group "$T/tenant.json" "$GF2" "LocalF-$$" members=u-1
fake_start "$T/tenant.json"
gb_config "$T/gb.ini" DC1 "$OU" "groups = $GI $GF $GL $GN $GF2" "cn = [displayName]"
sed -i "s|^base_dn = .*|base_dn = $OU|" "$T/gb.ini"
GB="$GB_BIN --config $T/gb.ini --state $T/gb.db"
type_of() { ldap_on DC1 ldapsearch -LLL -b "$G" "(cn=$1-$$)" groupType | sed -n 's/^groupType: //p'; }
members_of() { ldap_on DC1 ldapsearch -LLL -o ldif-wrap=no -b "$G" "(cn=$1-$$)" member | sed -n 's/^member: //p'; }
# note CODE GROUP [SUBJECT]: the plan (JSON) holds a note CODE on GROUP (about SUBJECT)
note() {
	python3 -c 'import json,sys
p = json.load(open(sys.argv[1]))
sys.exit(0 if any(n.get("code") == sys.argv[2] and n.get("object_id") == sys.argv[3] and
                  (len(sys.argv) < 5 or n.get("subject_id") == sys.argv[4]) for n in p.get("notes", [])) else 1)' "$T/.out" "$@"
}
no_gt_op() { # GROUP: no operation of the plan sets GROUP's groupType
	python3 -c 'import json,sys
p = json.load(open(sys.argv[1]))
sys.exit(1 if any(o.get("object_id") == sys.argv[2] and any(a.get("name") == "groupType" for a in o.get("attributes", []))
                  for o in p.get("operations", [])) else 0)' "$T/.out" "$1"
}

run $GB provision --dry-run --json
expect "the dry run plans (exit $rc)" test "$rc" = 0 -o "$rc" = 3
expect "the plan is JSON with notes" python3 -c 'import json,sys; json.load(open(sys.argv[1]))["notes"]' "$T/.out"
expect "the global group inside a global group is cannot-be-universal" note cannot-be-universal "$GI"
expect "its reason names the global group that holds it (outside base_dn)" grep -q "member of the global group CN=Outer-$$,$OO" "$T/.out"
expect "it gets no groupType operation" no_gt_op "$GI"
expect "the domain local group holding a domain local group is cannot-be-universal" note cannot-be-universal "$GL"
expect "its reason names the domain local group it holds" grep -q "holds the domain local group CN=LocalKid-$$" "$T/.out"
expect "it gets no groupType operation" no_gt_op "$GL"
expect "the global group in no global group is not refused" sh -c "! python3 -c 'import json,sys
p = json.load(open(sys.argv[1]))
sys.exit(0 if any(n[\"code\"] == \"cannot-be-universal\" and n[\"object_id\"] == sys.argv[2] for n in p[\"notes\"]) else 1)' '$T/.out' '$GF'"
expect "the new (universal) group in the group that stays global is skipped" note group-scope "$GI" "$GN"
expect "with AD's rule as the reason" grep -q "a global group cannot hold a universal group" "$T/.out"
expect "the domain local group in the new universal group is skipped" note group-scope "$GN" "$GL"
expect "with AD's rule as the reason" grep -q "a universal group cannot hold a domain local group" "$T/.out"
expect "the global group in a group made universal is not skipped" sh -c "! python3 -c 'import json,sys
p = json.load(open(sys.argv[1]))
sys.exit(0 if any(n.get(\"subject_id\") == sys.argv[2] for n in p[\"notes\"]) else 1)' '$T/.out' '$GI'"

run $GB provision
expect_rc "the pass ends partial (group errors), not failed" 3
expect "Inner keeps its global scope" test "$(type_of Inner)" = "$GLOBAL"
expect "LocalP keeps its domain local scope" test "$(type_of LocalP)" = "$LOCAL"
expect "LocalF keeps its domain local scope" test "$(type_of LocalF)" = "$LOCAL"
expect "Free is made universal" test "$(type_of Free)" = "$UNIVERSAL"
expect "New is created universal" test "$(type_of New)" = "$UNIVERSAL"
expect "Inner gets its user" sh -c "echo '$(members_of Inner)' | grep -qi 'CN=s1-$$'"
expect "Inner does not get the universal group" sh -c "! echo '$(members_of Inner)' | grep -qi 'CN=New-$$'"
expect "New does not get the domain local group" sh -c "! echo '$(members_of New)' | grep -qi 'CN=LocalP-$$'"
expect "New gets its user" sh -c "echo '$(members_of New)' | grep -qi 'CN=s1-$$'"
expect "Free (universal) holds Inner (global)" sh -c "echo '$(members_of Free)' | grep -qi 'CN=Inner-$$'"
expect "LocalP (domain local) holds New (universal)" sh -c "echo '$(members_of LocalP)' | grep -qi 'CN=New-$$'"
expect "Outer is not touched" test "$(ldap_on DC1 ldapsearch -LLL -b "$OO" "(cn=Outer-$$)" member | grep -c '^member:')" = 1

# a second full pass plans no write AD would refuse and changes nothing else
run $GB provision --dry-run --full --json
expect "the second pass still gives no groupType operation to Inner" no_gt_op "$GI"
expect "nor to LocalP" no_gt_op "$GL"
expect "and nothing else to write" python3 -c 'import json,sys; sys.exit(1 if json.load(open(sys.argv[1]))["operations"] else 0)' "$T/.out"

# what stood in the way is changed in AD by hand: the next pass, with no change in the cloud, converts both groups and
# writes the members it held back
printf 'dn: CN=Outer-%s,%s\nchangetype: modify\ndelete: member\nmember: CN=Inner-%s,%s\n\ndn: CN=LocalP-%s,%s\nchangetype: modify\ndelete: member\nmember: CN=LocalKid-%s,%s\n\n' \
	$$ "$OO" $$ "$G" $$ "$G" $$ "$G" | ldap_on DC1 ldapmodify >/dev/null
run $GB provision
expect_rc "the next pass ends partial (LocalF is still held back)" 3
expect_out "LocalF is reported again" "1 group errors"
expect_err "it is incremental" "delta:"
expect "Inner is made universal" test "$(type_of Inner)" = "$UNIVERSAL"
expect "LocalP is made universal" test "$(type_of LocalP)" = "$UNIVERSAL"
expect "LocalF, still holding a foreign principal, keeps its scope" test "$(type_of LocalF)" = "$LOCAL"
expect "Inner now holds New" sh -c "echo '$(members_of Inner)' | grep -qi 'CN=New-$$'"
expect "New now holds LocalP" sh -c "echo '$(members_of New)' | grep -qi 'CN=LocalP-$$'"
run $GB provision --dry-run --full
expect_out "a full dry run finds nothing left to do" "No changes."

# A group provisioned by an earlier pass is nested by the scope AD holds, not assumed universal: Free (managed, no
# change in the cloud) is made domain local in AD by hand, and the cloud adds it to New (universal). The incremental
# pass builds New only; Free's groupType is read with the changed groups' anchors, and AD would refuse a domain local
# group in a universal one, so the reference is not written.
printf 'dn: CN=Free-%s,%s\nchangetype: modify\nreplace: groupType\ngroupType: %s\n\n' $$ "$G" $LOCAL |
	ldap_on DC1 ldapmodify >"$T/gt.out" 2>&1 || _no "Free is made domain local by hand" "$(cat "$T/gt.out")"
fake_mutate "{\"changes\": [{\"op\": \"add_members\", \"group\": \"$GN\", \"members\": [\"$GF\"]}]}"
run $GB provision
expect_rc "the pass ends partial" 3
expect_err "it is incremental" "delta:"
expect "New does not get Free, domain local in AD" sh -c "! echo '$(members_of New)' | grep -qi 'CN=Free-$$'"
expect "Free keeps the scope it was given by hand (not re-planned)" test "$(type_of Free)" = "$LOCAL"
expect_out "the skip is reported (New is built again by the next pass)" "1 members skipped"
finish
