#!/bin/sh
# Two forests, one tenant: one configuration per forest, and each forest's copy of a group holds only the users of
# that forest (a user of the other forest is skipped as other-forest).
. "$(dirname "$0")/lib.sh"
: "${GB_TEST_DC2_LDAPS_URI:?run under tests/testbed/with-testbed.sh with dc1 and dc2}"
. "$(dirname "$0")/lib_ad.sh"
OU1="OU=gbforest-$$,$GB_TEST_DC1_BASE_DN"
OU2="OU=gbforest-$$,$GB_TEST_DC2_BASE_DN"
ad_ou_users DC1 "$OU1" ann amy
ad_ou_users DC2 "$OU2" ben
expect "users exist in both forests" test -n "$ann" -a -n "$amy" -a -n "$ben"
tenant_new "$T/tenant.json"
tenant_user "$T/tenant.json" u-ann "$ann"
tenant_user "$T/tenant.json" u-amy "$amy"
tenant_user "$T/tenant.json" u-ben "$ben"
tenant_group "$T/tenant.json" 0000000a-2222-4222-8222-00000000000a Everyone members=u-ann,u-amy,u-ben
fake_start "$T/tenant.json"
gb_config "$T/f1.ini" DC1 "$OU1" "groups = 0000000a-2222-4222-8222-00000000000a"
gb_config "$T/f2.ini" DC2 "$OU2" "groups = 0000000a-2222-4222-8222-00000000000a"
members() { ldap_on "$1" ldapsearch -LLL -o ldif-wrap=no -b "OU=Groups,$2" "(cn=Everyone_00000000000a)" member | grep '^member:'; }

run "$GB_BIN" --config "$T/f1.ini" --state "$T/f1.db" provision
expect_rc "forest 1 run exits 0" 0
run "$GB_BIN" --config "$T/f2.ini" --state "$T/f2.db" provision
expect_rc "forest 2 run exits 0" 0
expect "forest 1's group holds its two users" test "$(members DC1 "$OU1" | wc -l)" = 2
members DC1 "$OU1" >"$T/m1"
expect "forest 1 members are ann and amy" sh -c "grep -q 'CN=ann-$$' '$T/m1' && grep -q 'CN=amy-$$' '$T/m1' && ! grep -q 'ben-$$' '$T/m1'"
members DC2 "$OU2" >"$T/m2"
expect "forest 2's group holds only ben" sh -c "test \$(wc -l <'$T/m2') = 1 && grep -q 'CN=ben-$$' '$T/m2'"
run "$GB_BIN" --config "$T/f1.ini" --state "$T/f1.db" provision --dry-run
expect_out "forest 1 plan says why ben is missing" "other-forest"
expect_out "forest 1 converged" "No changes."
finish
