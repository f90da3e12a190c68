#!/bin/sh
# Groups whose source of authority was converted to the cloud: the existing AD group is matched by objectSid, gets
# the anchor stamped, and is not created again; the nested-group table's rows with converted groups hold:
#   converted parent + cloud member group        -> referenced
#   converted parent + group synced from AD       -> not referenced (and an existing reference is kept)
#   converted parent + converted member group     -> referenced
#   cloud parent     + converted member group     -> referenced
. "$(dirname "$0")/lib_ad.sh"
OU="OU=gbconv-$$,$GB_TEST_DC1_BASE_DN"
ad_ou DC1 "$OU"
# AD groups as a sync client made them: ConvParent, ConvChild (both to be converted), Synced (stays synced)
for n in ConvParent ConvChild Synced; do
	printf 'dn: CN=%s-%s,OU=Groups,%s\nobjectClass: group\ngroupType: -2147483640\n\n' "$n" $$ "$OU"
done | ldap_on DC1 ldapadd >/dev/null
sid_of() { ad_sid DC1 "OU=Groups,$OU" "(cn=$1-$$)"; }
P_SID=$(sid_of ConvParent)
C_SID=$(sid_of ConvChild)
S_SID=$(sid_of Synced)
expect "the AD groups have SIDs" test -n "$P_SID" -a -n "$C_SID" -a -n "$S_SID"
# the synced group is already a member of the converted parent in AD
printf 'dn: CN=ConvParent-%s,OU=Groups,%s\nchangetype: modify\nadd: member\nmember: CN=Synced-%s,OU=Groups,%s\n' $$ "$OU" $$ "$OU" |
	ldap_on DC1 ldapmodify >/dev/null
P=00000012-0000-4000-8000-000000000001
C=00000012-0000-4000-8000-000000000002
S=00000012-0000-4000-8000-000000000003
K=00000012-0000-4000-8000-000000000004
Q=00000012-0000-4000-8000-000000000005
cat >"$T/tenant.json" <<JSON
{"tenant_id": "fffffffd-2222-4333-8444-555555555555",
 "clients": [{"client_id": "fffffffe-2222-4333-8444-555555555555", "secret": "converted-secret"}],
 "groups": [
  {"id": "$P", "displayName": "ConvParent-$$", "securityEnabled": true, "mailEnabled": false, "groupTypes": [],
   "onPremisesSyncEnabled": false, "onPremisesSecurityIdentifier": "$P_SID", "onPremisesSyncBehavior": {"isCloudManaged": true},
   "members": ["$K", "$S", "$C"]},
  {"id": "$C", "displayName": "ConvChild-$$", "securityEnabled": true, "mailEnabled": false, "groupTypes": [],
   "onPremisesSyncEnabled": false, "onPremisesSecurityIdentifier": "$C_SID", "onPremisesSyncBehavior": {"isCloudManaged": true},
   "members": []},
  {"id": "$S", "displayName": "Synced-$$", "securityEnabled": true, "mailEnabled": false, "groupTypes": [],
   "onPremisesSyncEnabled": true, "onPremisesSecurityIdentifier": "$S_SID", "members": []},
  {"id": "$K", "displayName": "CloudKid", "securityEnabled": true, "mailEnabled": false, "groupTypes": [], "members": []},
  {"id": "$Q", "displayName": "CloudParent", "securityEnabled": true, "mailEnabled": false, "groupTypes": [], "members": ["$C"]}]}
JSON
fake_start "$T/tenant.json"
# Converted groups keep their cn: the cn mapping Connect-style names would rename them, so map cn to displayName.
gb_config "$T/gb.ini" DC1 "$OU" "groups = $P $C $S $K $Q" "cn = [displayName]"
run "$GB_BIN" --config "$T/gb.ini" --state "$T/gb.db" provision
expect_rc "the run exits 0" 0
count() { ldap_on DC1 ldapsearch -LLL -b "OU=Groups,$OU" "$1" dn 2>/dev/null | grep -c '^dn:'; }
expect "no duplicate of a converted group was created" test "$(count "(cn=ConvParent-$$)")" = 1
expect "five groups in all (3 existing + 2 cloud)" test "$(count '(objectClass=group)')" = 5
ldap_on DC1 ldapsearch -LLL -o ldif-wrap=no -b "OU=Groups,$OU" "(cn=ConvParent-$$)" msDS-ExternalDirectoryObjectId member >"$T/parent.ldif"
expect "the converted group got the anchor" grep -q "^msDS-ExternalDirectoryObjectId: Group_$P" "$T/parent.ldif"
expect "converted parent + cloud group: referenced" grep -q "^member: CN=CloudKid,OU=Groups,$OU" "$T/parent.ldif"
expect "converted parent + converted group: referenced" grep -q "^member: CN=ConvChild-$$,OU=Groups,$OU" "$T/parent.ldif"
expect "converted parent + synced group: the existing reference is kept" grep -q "^member: CN=Synced-$$,OU=Groups,$OU" "$T/parent.ldif"
expect_out "the synced group is not provisioned" "1 groups unsupported"
ldap_on DC1 ldapsearch -LLL -o ldif-wrap=no -b "OU=Groups,$OU" "(cn=CloudParent)" member >"$T/cloudparent.ldif"
expect "cloud parent + converted group: referenced" grep -q "^member: CN=ConvChild-$$,OU=Groups,$OU" "$T/cloudparent.ldif"
run "$GB_BIN" --config "$T/gb.ini" --state "$T/gb.db" provision --dry-run
expect_out "converged" "No changes."
finish
