#!/bin/sh
# AD's own rules, against the Samba DC (AD review D2, D3, D4, D6): a new group gets a derived sAMAccountName (never
# one AD invents); a displayName with emoji still gives a cn AD accepts (64 UTF-16 units); a matched domain local
# group holding a foreign security principal is not made universal and says why before the write; two live groups
# carrying one anchor (a Recycle Bin restore) are reported for that group in a full and an incremental pass, neither
# written, and the run goes on.
. "$(dirname "$0")/lib_ad.sh"
OU="OU=gbrules-$$,$GB_TEST_DC1_BASE_DN"
ad_ou DC1 "$OU"
eval "$(ad_users DC1 "$OU" a1-$$)"
eval "a1=\$a1_$$"
GS=00ad5a00-0000-4000-8000-0000000000$(printf '%02d' $(($$ % 100)))
GE=00ad5a01-0000-4000-8000-000000000001
GL=00ad5a02-0000-4000-8000-000000000001
GD=00ad5a03-0000-4000-8000-000000000001
GO=00ad5a04-0000-4000-8000-000000000001
emoji=$(printf 'Team \360\237\230\200\360\237\230\200 %s' "$(printf 'x%.0s' $(seq 1 40))$(printf '\360\237\216\211%.0s' 1 2 3 4 5 6 7 8)")
tenant_new "$T/tenant.json"
tenant_user "$T/tenant.json" u-1 "$a1"
tenant_group "$T/tenant.json" "$GS" "Sales EMEA: all" members=u-1
tenant_group "$T/tenant.json" "$GE" "$emoji" members=u-1
tenant_group "$T/tenant.json" "$GL" Local members=u-1
tenant_group "$T/tenant.json" "$GD" Twice members=u-1
tenant_group "$T/tenant.json" "$GO" Other members=u-1
# a domain local group matched by its anchor, holding a principal of another forest
printf 'dn: CN=Local-%s,OU=Groups,%s\nobjectClass: group\ngroupType: -2147483644\nmsDS-ExternalDirectoryObjectId: Group_%s\nadminDescription: Group_%s\n\n' \
	"$$" "$OU" "$GL" "$GL" | ldap_on DC1 ldapadd >/dev/null
printf 'dn: CN=Local-%s,OU=Groups,%s\nchangetype: modify\nadd: member\nmember: <SID=S-1-5-21-1000-2000-3000-1105>\n-\n' "$$" "$OU" |
	ldap_on DC1 ldapmodify >"$T/fsp.out" 2>&1 || _no "the FSP fixture loads" "$(cat "$T/fsp.out")"
# two live groups with one anchor, as a Recycle Bin restore next to a re-created group leaves them
for n in 1 2; do
	printf 'dn: CN=Twice-%s-%s,OU=Groups,%s\nobjectClass: group\nmsDS-ExternalDirectoryObjectId: Group_%s\nadminDescription: Group_%s\n\n' \
		"$n" "$$" "$OU" "$GD" "$GD"
done | ldap_on DC1 ldapadd >/dev/null
fake_start "$T/tenant.json"
gb_config "$T/gb.ini" DC1 "$OU" "groups = $GS $GE $GL $GD $GO"
GB="$GB_BIN --config $T/gb.ini --state $T/gb.db"
sam_of() { ldap_on DC1 ldapsearch -LLL -o ldif-wrap=no -b "OU=Groups,$OU" "(msDS-ExternalDirectoryObjectId=Group_$1)" sAMAccountName | sed -n 's/^sAMAccountName: //p'; }

run $GB provision --dry-run
expect_out "the domain local group with a foreign principal is reported before the write" "cannot-be-universal"
expect_out "the two groups with one anchor are reported" "two live AD groups carry its anchor"

run $GB provision
expect_rc "the full pass ends partial (group errors), not failed" 3
expect_out "the other groups are provisioned" "provisioned"
sam=$(sam_of "$GS")
expect "a derived sAMAccountName ($sam), not one AD invents" sh -c "echo '$sam' | grep -Eq '^Sales_EMEA_[0-9a-f]{8}\$'"
expect "the emoji group is created (cn within 64 UTF-16 units)" test -n "$(sam_of "$GE")"
gt=$(ldap_on DC1 ldapsearch -LLL -b "OU=Groups,$OU" "(msDS-ExternalDirectoryObjectId=Group_$GL)" groupType |
	sed -n 's/^groupType: //p')
expect "the domain local group keeps its scope ($gt)" test "$gt" = "-2147483644"
for n in 1 2; do
	expect "Twice-$n is not written" test -z "$(ldap_on DC1 ldapsearch -LLL -b "OU=Groups,$OU" "(cn=Twice-$n-$$)" member | grep '^member:')"
done

# incremental: a change to the twice-anchored group reports it again, and the pass goes on
fake_mutate "{\"changes\": [{\"op\": \"remove_members\", \"group\": \"$GD\", \"members\": [\"0000eeee-0000-4000-8000-000000000031\"]}, {\"op\": \"remove_members\", \"group\": \"$GO\", \"members\": [\"0000eeee-0000-4000-8000-000000000031\"]}]}"
run $GB provision
expect_err "the pass is incremental" "delta:"
# 2: the conflict, and the domain local group that AD keeps from becoming universal (built again by every pass)
expect_out "the conflict is reported again, per group" "2 group errors"
expect "Other's change is applied" test -z "$(ldap_on DC1 ldapsearch -LLL -b "OU=Groups,$OU" "(cn=Other*)" member | grep '^member:')"

finish
