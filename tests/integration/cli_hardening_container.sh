#!/bin/sh
# Hostile cloud values cannot steer a write outside allowed_containers, even through an expression: the target
# container is computed from [displayName] in one configuration and from the GroupDN extension (Microsoft's
# published expression) in another; groups whose values aim at OU=Domain Controllers, at the domain root, or hide
# commas behind escapes are refused (each its own error, naming the group), nothing is written outside the fence,
# and the well-behaved groups are provisioned.
. "$(dirname "$0")/lib_ad.sh"
BASE=$GB_TEST_DC1_BASE_DN
OU="OU=gbfence-$$,$BASE"
ad_ou DC1 "$OU"
printf 'dn: OU=A,OU=Groups,%s\nobjectClass: organizationalUnit\n\ndn: OU=B,OU=Groups,%s\nobjectClass: organizationalUnit\n\ndn: OU=Outside,%s\nobjectClass: organizationalUnit\n\n' \
	"$OU" "$OU" "$OU" | ldap_on DC1 ldapadd >/dev/null
APP=0a1b2c3d4e5f60718293a4b5c6d7e8f9
EXT="extension_${APP}_GroupDN"
G=00000f00-0000-4000-8000-0000000000
tenant_new "$T/tenant.json"
# by displayName (first configuration): two good ones, then hostile names
tenant_group "$T/tenant.json" "${G}01" A
tenant_group "$T/tenant.json" "${G}02" B
tenant_group "$T/tenant.json" "${G}03" "Domain Controllers,$BASE #"
tenant_group "$T/tenant.json" "${G}04" "A,OU=Outside"
tenant_group "$T/tenant.json" "${G}05" 'A\,OU=Outside'
tenant_group "$T/tenant.json" "${G}06" Outside
# by GroupDN (second configuration): a good one, then hostile values
tenant_group "$T/tenant.json" "${G}11" Good "$EXT=CN=Good,OU=A,OU=Groups,$OU"
tenant_group "$T/tenant.json" "${G}12" DCs "$EXT=CN=Evil,OU=Domain Controllers,$BASE"
tenant_group "$T/tenant.json" "${G}13" Root "$EXT=CN=Evil,$BASE"
tenant_group "$T/tenant.json" "${G}14" Escaped "$EXT=CN=Evil\\,OU=A,OU=Outside,$OU"
tenant_group "$T/tenant.json" "${G}15" Commas "$EXT=CN=Evil,OU=A\\,OU=Groups,$OU"
tenant_group "$T/tenant.json" "${G}16" Plus "$EXT=CN=Evil+OU=A,OU=Outside,$OU"
tenant_group "$T/tenant.json" "${G}17" Admins "$EXT=CN=Domain Admins,CN=Users,$BASE"
tenant_group "$T/tenant.json" "${G}18" Garbage "$EXT=not a dn, OU=A"
fake_start "$T/tenant.json"
groups_outside() {
	# every group of the test's OU that is not below OU=A or OU=B of OU=Groups, plus any group named Evil anywhere
	ldap_on DC1 ldapsearch -LLL -o ldif-wrap=no -b "$OU" "(objectClass=group)" dn 2>/dev/null | sed -n 's/^dn: //p' |
		grep -v -i ",OU=A,OU=Groups,$OU\$" | grep -v -i ",OU=B,OU=Groups,$OU\$"
	ldap_on DC1 ldapsearch -LLL -o ldif-wrap=no -b "$BASE" "(|(cn=Evil*)(cn=*Outside*)(cn=Domain Controllers,*))" dn 2>/dev/null |
		sed -n 's/^dn: //p'
}
allowed="allowed_containers = OU=A,OU=Groups,$OU;OU=B,OU=Groups,$OU"

# --- 1. the container comes from [displayName] ---
gb_config "$T/name.ini" DC1 "$OU" "groups = ${G}01 ${G}02 ${G}03
  ${G}04 ${G}05 ${G}06" "$allowed" "cn = [displayName]"
sed -i '/^target_container = /d' "$T/name.ini"
printf 'target_container =\n  Append(Append("OU=", [displayName]), ",OU=Groups,%s")\n' "$OU" >>"$T/name.ini"
run "$GB_BIN" --config "$T/name.ini" --state "$T/name.db" provision
expect_rc "hostile names make the run partial (exit 3), not a failure" 3
expect "the two good groups are created in their OUs" test "$(ldap_on DC1 ldapsearch -LLL -b "OU=Groups,$OU" \
	"(|(distinguishedName=CN=A,OU=A,OU=Groups,$OU)(distinguishedName=CN=B,OU=B,OU=Groups,$OU))" dn 2>/dev/null | grep -c '^dn:')" = 2
expect "four writes refused by the fence, each naming its DN" test "$(grep -c 'refused: not below an allowed container' "$T/.err")" = 4
expect "the Domain Controllers name is among them" grep -q 'create-group CN=Domain Controllers.*refused: not below' "$T/.err"
expect "nothing written outside the allowed containers" test -z "$(groups_outside)"
run "$GB_BIN" --config "$T/name.ini" --state "$T/name.db" audit verify
expect_rc "audit verify passes" 0

# --- 2. the container comes from the GroupDN extension (Microsoft's published expression) ---
cat >>"$T/ge.tail" <<INI
target_container = IIF(IsPresent([$EXT]),
  Replace(Mid(Mid(Replace([$EXT], "\\,", , , "\\2C", , ),
  Instr(Replace([$EXT], "\\,", , , "\\2C", , ), ",", , ), 9999), 2, 9999), "\\2C", , , ",", , ),
  "OU=B,OU=Groups,$OU")
INI
gb_config "$T/ext.ini" DC1 "$OU" "groups = ${G}11 ${G}12 ${G}13
  ${G}14 ${G}15 ${G}16 ${G}17 ${G}18" "$allowed" \
	"group_dn_extension = $EXT" "cn = [displayName]"
sed -i '/^target_container = /d' "$T/ext.ini"
cat "$T/ge.tail" >>"$T/ext.ini"
da_members=$(ldap_on DC1 ldapsearch -LLL -o ldif-wrap=no -b "CN=Domain Admins,CN=Users,$BASE" -s base member 2>/dev/null |
	grep -c '^member:')
run "$GB_BIN" --config "$T/ext.ini" --state "$T/ext.db" provision
expect_rc "hostile GroupDN values make the run partial (exit 3)" 3
expect "the good group is created where its GroupDN says" test "$(ldap_on DC1 ldapsearch -LLL -b "OU=A,OU=Groups,$OU" \
	"(cn=Good)" dn 2>/dev/null | grep -c '^dn:')" = 1
cp "$T/.err" "$T/ext.err"
for cn in DCs Root Escaped Plus "Domain Admins"; do
	expect "the write of $cn is refused by the fence" grep -q "CN=$cn,.*refused: not below an allowed container" "$T/ext.err"
done
# Microsoft's expression turns the \2C of "OU=A\,OU=Groups" into a bare comma: the container becomes OU=A,OU=Groups,
# an allowed one, so that group lands inside the fence (a different OU than the value meant, never outside)
expect "the escaped-comma trick stays inside the fence" test "$(ldap_on DC1 ldapsearch -LLL -b "OU=A,OU=Groups,$OU" \
	"(cn=Commas)" dn 2>/dev/null | grep -c '^dn:')" = 1
expect "a GroupDN that is not a DN is that group's business" grep -q "${G}18.*not a DN" "$T/ext.err"
expect "Domain Admins was not taken over (no anchor)" test -z "$(ldap_on DC1 ldapsearch -LLL -o ldif-wrap=no \
	-b "CN=Domain Admins,CN=Users,$BASE" -s base msDS-ExternalDirectoryObjectId 2>/dev/null | grep '^msDS-')"
expect "Domain Admins keeps exactly its member" test "$(ldap_on DC1 ldapsearch -LLL -o ldif-wrap=no \
	-b "CN=Domain Admins,CN=Users,$BASE" -s base member 2>/dev/null | grep -c '^member:')" = "$da_members"
expect "still nothing outside the allowed containers" test -z "$(groups_outside)"
run "$GB_BIN" --config "$T/ext.ini" --state "$T/ext.db" audit verify
expect_rc "audit verify passes" 0
run "$GB_BIN" --config "$T/ext.ini" --state "$T/ext.db" provision
expect_rc "a rerun refuses them again (exit 3)" 3
expect "and still writes nothing outside" test -z "$(groups_outside)"
finish
