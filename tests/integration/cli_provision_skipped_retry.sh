#!/bin/sh
# A member skipped because its AD account was not found (yet) is looked up again by the next pass, with no change in
# the cloud, and added once it is there (AD review D11: a GC that lags the DC holding a new account, or an account
# created after the group). Before, the skip was remembered until the group changed in the cloud or `--full`.
# The account "appears" by moving into base_dn: the forest lookups search below base_dn.
. "$(dirname "$0")/lib_ad.sh"
OU="OU=gbretry-$$,$GB_TEST_DC1_BASE_DN"
IN="OU=In,$OU"
ad_ou DC1 "$OU"
ad_ou DC1 "$IN"
eval "$(ad_users DC1 "$IN" r1-$$)"
eval "$(ad_users DC1 "$OU" r2-$$)"
eval "r1=\$r1_$$ r2=\$r2_$$"
G=00de1e7a-0000-4000-8000-000000000001
tenant_new "$T/tenant.json"
tenant_user "$T/tenant.json" u-1 "$r1"
tenant_user "$T/tenant.json" u-2 "$r2"
tenant_group "$T/tenant.json" "$G" Retry members=u-1,u-2
fake_start "$T/tenant.json"
gb_config "$T/gb.ini" DC1 "$IN" "groups = $G"
sed -i "s|^base_dn = .*|base_dn = $IN|" "$T/gb.ini"
GB="$GB_BIN --config $T/gb.ini --state $T/gb.db"
members() {
	ldap_on DC1 ldapsearch -LLL -o ldif-wrap=no -b "OU=Groups,$IN" "(cn=Retry*)" member 2>/dev/null |
		sed -n 's/^member: CN=\([^,]*\),.*/\1/p' | sed "s/-$$\$//" | sort | tr '\n' ' ' | sed 's/ $//'
}

run $GB provision
expect_rc "the first pass exits 0" 0
expect_out "r2 is skipped: not found in the forest" "1 members skipped"
expect "the group holds r1 only" test "$(members)" = "r1"

# the account appears (moved below base_dn); nothing changes in the cloud
printf 'dn: CN=r2-%s,%s\nchangetype: modrdn\nnewrdn: CN=r2-%s\ndeleteoldrdn: 1\nnewsuperior: %s\n' "$$" "$OU" "$$" "$IN" |
	ldap_on DC1 ldapmodify >/dev/null
run $GB provision
expect_rc "the next pass exits 0" 0
expect "the next pass adds r2 without a cloud change" test "$(members)" = "r1 r2"
run $GB provision
expect_rc "a third pass exits 0" 0
expect_out "and then no member is skipped" "0 members skipped"
expect_err "and nothing is written" "directory writes: 0 adds, 0 modifies"

finish
