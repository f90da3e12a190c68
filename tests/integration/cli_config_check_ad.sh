#!/bin/sh
# `config check` against the test bed's hardened DC, bound as the delegated account (AD review D9, issue 16): the
# Global Catalog is probed when gc_uri is set, containers outside base_dn are refused, the DC is found writable, and
# a container or group the account holds no rights on is reported before a run would fail on it. Each case failed
# before config check grew these probes (it checked only the bind and the schema, so every one passed).
. "$(dirname "$0")/lib_ad.sh"
cp "$here/data/tenants/small.json" "$T/tenant.json"
fake_start "$T/tenant.json"
base=$GB_TEST_DC1_BASE_DN
OU="OU=gbcc-$$,$base"
ad_ou DC1 "$OU"
printf 'dn: CN=cc-existing-%s,OU=Groups,%s\nobjectClass: group\n\n' "$$" "$OU" | ldap_on DC1 ldapadd >/dev/null
# check CONTAINER [EXTRA...]: config check of a configuration for target_container CONTAINER, with EXTRA lines
check() {
	_c=$1
	shift
	gb_ini "$T/gb.ini" DC1 "[provisioning]" "target_container = $_c" "$@"
	run "$GB_BIN" --config "$T/gb.ini" config check
}
# unprotect DN: takes adminCount off DN (which ad_protect marked), leaving its DACL blocked from inheritance
unprotect() {
	printf 'dn: %s\nchangetype: modify\ndelete: adminCount\n-\n' "$1" | ldap_on DC1 ldapmodify >/dev/null
}

# A delegated OU with a group in it: every probe passes
check "OU=Groups,$OU"
expect_rc "the delegated OU passes" 0
expect_out "the DC is writable" "writable pass"
expect_out "the container is in the domain" "containers pass"
expect_out "the account may create groups there" "rights   pass  the bind account can create groups in OU=Groups,$OU"
expect_out "and write a group there" "rights   pass  the bind account can write every attribute"
expect_out "no enforcement policy" "soa      pass"
expect_not "no gc line without gc_uri" "gc       "

# gc_uri: the DC's Global Catalog passes; a closed port fails
gcs=${GB_TEST_DC1_GB_GCS_URI:-ldaps://$GB_TEST_DC1_IP:3269}
gb_ini "$T/gb.ini" DC1 "[provisioning]" "target_container = OU=Groups,$OU"
sed -i "s|^base_dn = .*|&\ngc_uri = $gcs|" "$T/gb.ini"
run "$GB_BIN" --config "$T/gb.ini" config check
expect_rc "a working Global Catalog passes" 0
expect_out "gc probe passes" "gc       pass"
sed -i "s|^gc_uri = .*|gc_uri = ldaps://$GB_TEST_DC1_IP:1|" "$T/gb.ini"
run "$GB_BIN" --config "$T/gb.ini" config check
expect_rc "an unreachable Global Catalog fails" 1
expect_out "gc probe fails" "gc       FAIL"

# A container outside base_dn (another forest's) is refused
check "OU=Groups,DC=forest2,DC=example"
expect_rc "a container outside base_dn fails" 1
expect_out "and says so" "outside base_dn"
check "OU=Groups,$OU" \
	"allowed_containers = OU=Groups,$OU; OU=Elsewhere,DC=forest2,DC=example"
expect_rc "an allowed container outside base_dn fails" 1
expect_out "it is named" "OU=Elsewhere,DC=forest2,DC=example is outside base_dn"

# CN=Users: the delegation to create groups covers organizational units only (the README's table)
check "CN=Users,$base"
expect_rc "a container without the delegation fails" 1
expect_out "no right to create groups is reported" "cannot create group objects in CN=Users,$base"

# A group whose DACL no longer inherits the delegation (AdminSDHolder's, without adminCount: inheritance blocked by
# hand): the account cannot write member there, and config check says so before a run fails on it
OU2="OU=gbcc2-$$,$base"
ad_ou DC1 "$OU2"
printf 'dn: CN=cc-blocked-%s,OU=Groups,%s\nobjectClass: group\n\n' "$$" "$OU2" | ldap_on DC1 ldapadd >/dev/null
ad_protect DC1 "CN=cc-blocked-$$,OU=Groups,$OU2"
unprotect "CN=cc-blocked-$$,OU=Groups,$OU2"
check "OU=Groups,$OU2"
expect_rc "a group the account cannot write fails" 1
expect_out "no right to write member is reported" "cannot write member"
expect_out "the group is named" "CN=cc-blocked-$$,OU=Groups,$OU2"

# The migration's writeback OU (issue 17: the AD rights the migration needs): stamp-anchors writes the anchor on the
# groups Connect Sync wrote there; a written-back group the account cannot write fails, naming the attribute
export_dir=$here/data/connect-sync/contoso-2016-upgraded
WB1="OU=gbccwb-$$,$base"
ad_ou DC1 "$WB1"
printf 'dn: CN=Group_0ccc0000-0000-4000-8000-000000000001,%s\nobjectClass: group\nadminDescription: Group_0ccc0000-0000-4000-8000-000000000001\n\n' \
	"$WB1" | ldap_on DC1 ldapadd >/dev/null
check "OU=Groups,$OU" "[migration]" "connect_sync_export = $export_dir" "tenant_domain = contoso.example" \
	"writeback_ou = $WB1"
expect_rc "a delegated writeback OU passes" 0
expect_out "the account may stamp the anchor there" "can stamp the anchor on written-back group CN=Group_0ccc0000"
WB2="OU=gbccwb2-$$,$base"
ad_ou DC1 "$WB2"
printf 'dn: CN=Group_0ccc0000-0000-4000-8000-000000000002,%s\nobjectClass: group\nadminDescription: Group_0ccc0000-0000-4000-8000-000000000002\n\n' \
	"$WB2" | ldap_on DC1 ldapadd >/dev/null
ad_protect DC1 "CN=Group_0ccc0000-0000-4000-8000-000000000002,$WB2"
unprotect "CN=Group_0ccc0000-0000-4000-8000-000000000002,$WB2"
check "OU=Groups,$OU" "[migration]" "connect_sync_export = $export_dir" "tenant_domain = contoso.example" \
	"writeback_ou = $WB2"
expect_rc "a written-back group the account cannot stamp fails" 1
expect_out "it names the anchor attribute and the group" "cannot write msDS-ExternalDirectoryObjectId on written-back group CN=Group_0ccc0000-0000-4000-8000-000000000002"

# Bound as Administrator the same container passes: the rights are computed for the bound account
gb_ini --admin "$T/gb.ini" DC1 "[provisioning]" "target_container = CN=Users,$base"
run "$GB_BIN" --config "$T/gb.ini" config check
expect_out "Administrator may create groups in CN=Users" "rights   pass  the bind account can create groups in CN=Users"

# AD group enforcement: a policy whose allow-list names another SID fails, naming the fix; with the account's SID on
# it, it passes. The policy is removed again (the DC is shared by the suites).
POL="CN=CloudSyncSOAPolicy,CN=SOA-Policies,CN=System,$base"
printf 'dn: CN=SOA-Policies,CN=System,%s\nobjectClass: container\n\ndn: %s\nobjectClass: msDS-App-Configuration\nmsDS-Settings: S-1-5-21-1-2-3-4444\n\n' \
	"$base" "$POL" | ldap_on DC1 ldapadd >/dev/null
check "OU=Groups,$OU"
expect_rc "an allow-list without the account fails" 1
expect_out "it says what to change" "Set-CloudSyncSOAPolicy.ps1"
svc_sid=$(ad_sid DC1 "${GB_TEST_DC1_GB_BIND_DN:-$GB_TEST_DC1_BIND_DN}" "(objectClass=user)")
printf 'dn: %s\nchangetype: modify\nadd: msDS-Settings\nmsDS-Settings: %s\n-\n' "$POL" "$svc_sid" | ldap_on DC1 ldapmodify >/dev/null
run "$GB_BIN" --config "$T/gb.ini" config check
expect_rc "with the account's SID on the allow-list it passes" 0
expect_out "soa passes" "its allow-list names the bind account"
ldap_on DC1 ldapdelete "$POL" "CN=SOA-Policies,CN=System,$base" >/dev/null 2>&1

finish
