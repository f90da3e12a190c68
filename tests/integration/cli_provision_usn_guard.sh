#!/bin/sh
# The uSNChanged guard (issue 14): after writing a group (creating it too), groupbridge keeps what AD then holds
# with the group's uSNChanged and the DC's identity (dsServiceName, invocationId); a later pass that finds the same
# DC and the same uSNChanged trusts the stored members instead of reading them. A member removed by hand in AD
# changes uSNChanged: the next pass that touches the group reads it in full and puts the member back. provision --full
# always reads.
. "$(dirname "$0")/lib_ad.sh"
OU="OU=gbusn-$$,$GB_TEST_DC1_BASE_DN"
ad_ou DC1 "$OU"
eval "$(ad_users DC1 "$OU" m1-$$ m2-$$ m3-$$ m4-$$ m5-$$ m6-$$)"
eval "m1=\$m1_$$ m2=\$m2_$$ m3=\$m3_$$ m4=\$m4_$$ m5=\$m5_$$ m6=\$m6_$$"
GB1=00de5aa0-0000-4000-8000-000000000001
GO=00de5aa0-0000-4000-8000-000000000002
GN=00de5aa0-0000-4000-8000-000000000003
tenant_new "$T/tenant.json"
for n in 1 2 3 4 5 6; do tenant_user "$T/tenant.json" u-$n "$(eval "echo \$m$n")"; done
tenant_group "$T/tenant.json" "$GB1" Big members=u-1,u-2,u-3
tenant_group "$T/tenant.json" "$GO" Other members=u-6
tenant_group "$T/tenant.json" "$GN" Nest members=u-6,$GO
fake_start "$T/tenant.json"
gb_config "$T/gb.ini" DC1 "$OU" "groups = $GB1 $GO $GN"
GB="$GB_BIN --config $T/gb.ini --state $T/gb.db"
BIG="CN=Big_000000000001,OU=Groups,$OU"
members() { # the CNs of Big's AD members, sorted, on one line
	ldap_on DC1 ldapsearch -LLL -o ldif-wrap=no -b "$BIG" -s base member 2>/dev/null |
		sed -n 's/^member: CN=\([^,]*\),.*/\1/p' | sed "s/-$$\$//" | sort | tr '\n' ' ' | sed 's/ $//'
}
user() { echo "0000eeee-0000-4000-8000-00000000003$1"; }
cloud_add() { fake_mutate "{\"changes\": [{\"op\": \"add_members\", \"group\": \"$GB1\", \"members\": [\"$(user "$1")\"]}]}"; }
cloud_remove() { fake_mutate "{\"changes\": [{\"op\": \"remove_members\", \"group\": \"$GB1\", \"members\": [\"$(user "$1")\"]}]}"; }
hand_remove() { # CN: removes that member from Big in AD, as an administrator would
	printf 'dn: %s\nchangetype: modify\ndelete: member\nmember: CN=%s-%s,%s\n-\n' "$BIG" "$1" "$$" "$OU" |
		ldap_on DC1 ldapmodify >/dev/null
}

run $GB provision
expect_rc "the first pass exits 0" 0
expect "Big holds m1..m3" test "$(members)" = "m1 m2 m3"
# the groups it created are recorded with what it wrote to them: the next pass need not read them back
expect "the guard recorded the created groups" \
	test "$(sqlite3 "$T/gb.db" "SELECT count(*) FROM ad_membership WHERE object_id IN ('$GB1', '$GO')")" = 2

# a group whose member is a group the same pass created (written by its DN, since its objectGUID was not known yet) is
# recorded by that group's objectGUID, learnt from its creation
NEST="CN=Nest_000000000003,OU=Groups,$OU"
expect "the guard recorded Nest" \
	test "$(sqlite3 "$T/gb.db" "SELECT count(*) FROM ad_membership WHERE object_id = '$GN'")" = 1
fake_mutate "{\"changes\": [{\"op\": \"add_members\", \"group\": \"$GN\", \"members\": [\"$(user 5)\"]}]}"
run $GB provision
expect_rc "the pass adding m5 to Nest exits 0" 0
expect_err "Nest was trusted as created, not read" "uSNChanged guard: 1 AD groups' members trusted from the store, 0 read"
expect "Nest holds Other, m5 and m6" test "$(ldap_on DC1 ldapsearch -LLL -o ldif-wrap=no -b "$NEST" -s base member 2>/dev/null |
	sed -n 's/^member: CN=\([^,]*\),.*/\1/p' | sed "s/-$$\$//" | sort | tr '\n' ' ')" = "Other_000000000002 m5 m6 "

# a pass that touches Big trusts what the first pass wrote (and records what AD then holds)
cloud_add 4
run $GB provision
expect_rc "the pass adding m4 exits 0" 0
expect "Big holds m1..m4" test "$(members)" = "m1 m2 m3 m4"
expect_err "Big was trusted as created, not read" "uSNChanged guard: 1 AD groups' members trusted from the store, 0 read"
expect "the guard recorded Big" test "$(sqlite3 "$T/gb.db" "SELECT count(*) FROM ad_membership WHERE object_id = '$GB1'")" = 1

# unchanged in AD since: the next pass that touches Big trusts the stored members (one modify, the removal)
cloud_remove 1
run $GB -v provision
expect_rc "the pass removing m1 exits 0" 0
# the DC's identity (root DSE, NTDS Settings) is read once per connection and serves the guard before and after the
# writes and the read-only check
expect "the root DSE was read once a connection (the pass's, the forest reader's)" test "$(grep -c 'ldap: search (root): done' "$T/.err")" = 2
expect "the NTDS Settings were read once" test "$(grep -c 'ldap: search CN=NTDS Settings,[^:]*: done' "$T/.err")" = 1
expect_err "Big's members were trusted, not read" "uSNChanged guard: 1 AD groups' members trusted from the store, 0 read"
expect "Big holds m2..m4" test "$(members)" = "m2 m3 m4"
expect_err "one modify" "directory writes: 0 adds, 1 modifies"

# a member removed by hand: uSNChanged moved, so the next pass that touches Big reads it and puts m2 back
hand_remove m2
expect "m2 is gone from Big in AD" test "$(members)" = "m3 m4"
cloud_add 5
run $GB provision
expect_rc "the pass after the hand edit exits 0" 0
expect_err "the guard fell back to the read" "uSNChanged guard: 0 AD groups' members trusted from the store, 1 read"
expect "the hand edit is corrected: Big holds m2..m5" test "$(members)" = "m2 m3 m4 m5"
run $GB provision --full --dry-run
expect_out "nothing left to do" "No changes."

# provision --full reads every group, whatever the stored uSNChanged says
hand_remove m3
run $GB provision --full
expect_rc "provision --full exits 0" 0
expect_err "--full trusts nothing" "uSNChanged guard: 0 AD groups' members trusted from the store, 3 read"
expect "--full corrected the hand edit: Big holds m2..m5" test "$(members)" = "m2 m3 m4 m5"
# a stored row from another DC is not trusted
sqlite3 "$T/gb.db" "UPDATE ad_membership SET invocation_id = '00000000-0000-0000-0000-000000000000'"
cloud_add 6
run $GB provision
expect_rc "the pass after a DC change exits 0" 0
expect_err "another DC's uSNChanged is not trusted" "uSNChanged guard: 0 AD groups' members trusted from the store, 1 read"
expect "Big holds m2..m6" test "$(members)" = "m2 m3 m4 m5 m6"
run $GB audit verify
expect_rc "audit verify passes" 0
finish
