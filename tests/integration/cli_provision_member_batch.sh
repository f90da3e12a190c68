#!/bin/sh
# A DC that refuses big member batches (AD review D7): groupbridge sends up to [directory] member_batch (default 5000)
# member values in one add or modify; a DC that answers adminLimitExceeded (11), as a Windows DC has been reported to
# do past about 1,500 values, gets the batch halved until it takes it, and the state database remembers, for that DC,
# the size it took: the next passes start there and meet no refusal; --full forgets it and tries the configured size
# again. The DC here is DC1 behind a proxy that refuses more than 12 member values in one request.
. "$(dirname "$0")/lib_ad.sh"
OU="OU=gbbatch-$$,$GB_TEST_DC1_BASE_DN"
ad_numbered_users DC1 "$OU" mb 40
tenant_of_groups "$T/tenant.json" "$T/guids" 00000e90 "Batch %02d" 5
dc1_proxy lim --member-limit 12
provision_start DC1 "$OU"
head -n 1 "$T/tenant.json.groups" >"$T/sel.groups"
proxy_config lim "$T/lim.ini" "$OU" "groups_file = $T/sel.groups"
LIM="$GB_BIN --config $T/lim.ini --state $GB_DB"
refusals() { grep -c 'adminLimitExceeded' "$T/lim/proxy.log"; }
learned() { sqlite3 "$GB_DB" "SELECT value FROM kv WHERE key LIKE 'directory.member_batch:%'"; }
members_of() { members_in_ad "CN=Batch 0$1_00000000000$1,OU=Groups,$OU"; }

expect "the configuration keeps the default member_batch" sh -c "! grep -q member_batch '$T/lim.ini'"

# --- pass 1: one group of 40 members; the add of 40 and of 20 are refused, 10 go ---
run $LIM provision
expect_rc "the first pass provisions the group" 0
expect "the DC refused two requests (40 and 20 values)" test "$(refusals)" = 2
expect_err "the pass says what the DC refused" "the DC refused 40 member values in one request"
expect_err "and that it remembers what the DC took" "takes at most 10 member values a request: the next passes send that many"
expect "the state database remembers 10 for this DC" test "$(learned)" = 10
expect "the group holds its 40 members" test "$(members_of 1)" = 40

# --- pass 2: two more groups of 40; they start at 10 a request, and the DC refuses nothing ---
head -n 3 "$T/tenant.json.groups" >"$T/sel.groups"
run $LIM provision
expect_rc "the second pass provisions the new groups" 0
expect_err "it starts from what the DC took" "member values go 10 a request"
expect "the DC refused nothing this time" test "$(refusals)" = 2
expect_not "no refusal is reported" "refused 40 member values"
for n in 2 3; do expect "Batch 0$n holds its 40 members" test "$(members_of $n)" = 40; done

# --- pass 3: --full tries the configured size again, is refused again, and learns again ---
head -n 4 "$T/tenant.json.groups" >"$T/sel.groups"
run $LIM provision --full
expect_rc "a full pass provisions the fourth group" 0
expect "the DC refused the configured size again (40, then 20)" test "$(refusals)" = 4
expect "and 10 is remembered again" test "$(learned)" = 10
expect "Batch 04 holds its 40 members" test "$(members_of 4)" = 40

# --- the same state through DC1 itself, which refuses nothing: the remembered size is DC1's, since the proxy
# passes DC1's name on; what it took stays the most a request carries ---
run $GB provision
expect_rc "the pass straight to DC1 provisions the fifth group" 0
expect_err "it sends DC1 what DC1 took through the proxy" "member values go 10 a request"
expect "five groups, Batch 05 with its 40 members" test "$(groups_in_ad) $(members_of 5)" = "5 40"
run $GB audit verify
expect_rc "the audit log verifies" 0
finish
