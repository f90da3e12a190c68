#!/bin/sh
# A read-only DC (issue 16, AD review D9): [directory] uri names an RODC, which answers reads and refers every write
# to a writable DC. The test bed's proxy plays one in front of DC1 (--rodc: the root DSE's RODC capability, writes
# answered with referral 10 and the RefErr text, as MS-ADTS says an RODC does). `config check` fails its writable
# probe; `provision --dry-run` plans as usual (reads are fine); `provision` stops before its first write with one
# message that names the DC and the fix, writes nothing and records no write; the same configuration aimed at the
# writable DC provisions. Before the engine checked, the pass sent every write and failed each on its referral.
. "$(dirname "$0")/lib_ad.sh"
OU="OU=gbrodc-$$,$GB_TEST_DC1_BASE_DN"
ad_numbered_users DC1 "$OU" ro 4
tenant_of_groups "$T/tenant.json" "$T/guids" 00000e80 "Rodc %02d" 5
dc1_proxy rodc --rodc dc1.test.example
provision_start DC1 "$OU"
proxy_config rodc "$T/rodc.ini" "$OU" "groups_file = $T/tenant.json.groups"
expect "the configuration names the read-only DC" grep -q "^uri = $(sed -n "s/^GB_TEST_DC1_GB_LDAPS_URI='\(.*\)'/\1/p" "$T/rodc/proxy.env")" "$T/rodc.ini"
RO="$GB_BIN --config $T/rodc.ini --state $GB_DB"
writes() { audit_count "operation NOT LIKE 'run.%' AND operation NOT LIKE 'step.%' AND operation NOT LIKE 'pass.%'"; }

run $GB_BIN --config "$T/rodc.ini" config check
expect_rc "config check fails on a read-only DC" 1
expect_out "its writable probe fails" "writable FAIL"
expect_out "saying what the DC is and what to change" "is a read-only DC (RODC): it refers every write to a writable DC; set [directory] uri to a writable DC"

run $RO provision --dry-run
expect_rc "a dry run on the read-only DC plans as usual" 0
expect_out "it plans the five groups" "5 groups in scope"

run $RO provision
expect "the pass on the read-only DC fails" test "$rc" != 0
expect_err "with one message naming the DC and the fix" "is a read-only DC (RODC): it refers every write to a writable DC; set [directory] uri to a writable DC"
expect "no write was sent, so no referral came back" test "$(grep -c 'referral' "$T/rodc/proxy.log")" = 0
expect "no group was created" test "$(groups_in_ad)" = 0
expect "no write is in the audit log" test "$(writes)" = 0

run $GB provision
expect_rc "on the writable DC the same pass provisions" 0
expect "five groups" test "$(groups_in_ad)" = 5
run $GB_BIN --config "$T/gb.ini" --state "$GB_DB" audit verify
expect_rc "the audit log verifies" 0
finish
