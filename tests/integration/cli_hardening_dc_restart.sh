#!/bin/sh
# The DC stopped and restarted in the middle of applying a provisioning plan (60 groups x 50 members). The test
# starts a DC of its own (other tests share DC1 in parallel), so that it can stop it: the address is DC1's with
# 100 added to its second octet (GB_TEST_RESTART_IP overrides). Two outages:
#   short: the DC comes back at once; the run reconnects and finishes (exit 0), or stops cleanly (exit 1, a
#          message naming the operation), and a rerun converges. An add that had landed just before the DC went
#          away and is sent again after the reconnect finds its own anchor there and counts as done (it used to
#          fail as "already exists" and make the run partial);
#   long:  the DC stays away until the run has ended (90 s at most); the run stops cleanly (exit 1, where it
#          stopped) after one round of the client's reconnect attempts (0.2 + 0.8 + 3.2 s), without trying every
#          later operation (each would wait for its own round: 61 x 4.2 s), so only the writes already in flight
#          fail; after the DC is back a rerun converges. The test waits for the end rather than timing it: a
#          loaded machine may take longer than the 4.2 s, but never 61 rounds.
# Converged: every group once, every member, nothing left to do, `audit verify` passes.
. "$(dirname "$0")/lib_ad.sh"
IP=${GB_TEST_RESTART_IP:-$(echo "$GB_TEST_DC1_IP" | awk -F. '{ printf "127.%d.%d.%d", ($2 + 100) % 256, $3, $4 }')}
DC="$T/dc"
if ! sh "$here/testbed/samba-dc.sh" start "$DC" "$IP" GB_TEST_DCR TEST.EXAMPLE >"$T/dc.log" 2>&1; then
	cat "$T/dc.log"
	echo "0 passed, 1 failed"
	exit 1
fi
stop_dc() { sh "$here/testbed/samba-dc.sh" stop "$DC"; }
at_exit stop_dc
. "$DC/env"
OU="OU=gbrestart-$$,$GB_TEST_DCR_BASE_DN"
ad_scope DCR "OU=Groups,$OU"
ad_numbered_users DCR "$OU" r 50
tenant_of_groups "$T/tenant.json" "$T/guids" 00000a10 "Restart %02d" 60
provision_start DCR "$OU"
# outage NAME AT SECONDS: starts a run, stops the DC once AT audit records exist, keeps it away SECONDS (or, with
# SECONDS "end", until the run has ended, 90 s at most), restarts it, and leaves the run's exit code in $rc, its
# output in $T/.out and $T/.err; $ended says whether the run had ended while the DC was away
outage() {
	reset_ad
	run_bg $GB provision
	wait_audit "$2"
	at=$(audit_count)
	kill -0 $bg_pid 2>/dev/null
	running=$?
	stop_dc
	if [ "$3" = end ]; then
		t0=$(date +%s)
		while kill -0 $bg_pid 2>/dev/null && [ $(($(date +%s) - t0)) -lt 90 ]; do
			sleep 0.1
		done
		away="$(($(date +%s) - t0)) s, until the run ended"
	else
		sleep "$3"
		away="$3 s"
	fi
	ended=no
	kill -0 $bg_pid 2>/dev/null || ended=yes
	sh "$here/testbed/samba-dc.sh" restart "$DC" >>"$T/dc.log" 2>&1
	restarted=$?
	wait_bg
	echo "     $1: DC stopped at $at audit records, away $away; the run exited $rc"
	expect "$1: the run was still applying when the DC stopped" test "$running" = 0 -a "$at" -lt 120
	expect "$1: the DC is back" test "$restarted" = 0
}
converges() {
	expect "$1: no duplicate group after the outage" one_group_per_anchor
	expect_converged "$1" 60 3000
}

# --- short outage: reconnect (exit 0) or a clean stop (exit 1 with a message naming the LDAP operation) ---
outage "short outage" 20 0
case $rc in
0) _ok "short outage: the run reconnected and finished" ;;
1) expect "short outage: a clean stop says where" grep -q 'provision: .*ldap .*CN=.*stopped after' "$T/.err" ;;
*) _no "short outage: the run ended badly" "exit $rc" ;;
esac
expect "short outage: the client said it reconnects" grep -q 'went away; reconnecting' "$T/.err"
expect_not "short outage: no crash" "Segmentation"
converges "short outage"

# --- long outage: a clean stop ---
outage "long outage" 40 end
expect "long outage: the run stopped cleanly (exit 1)" test "$rc" = 1
expect "long outage: the message names the LDAP operation and the reconnect" grep -q 'ldap .*reconnecting' "$T/.err"
expect "long outage: it says where it stopped" grep -q 'stopped after [0-9]* of 120 operations, run again' "$T/.err"
expect "long outage: it stopped during the outage instead of failing every later operation" test "$ended" = yes
# with writes in flight ([directory] writes_in_flight, default 16) each write already sent when the DC went away fails
# on its own connection; nothing is sent once the first failure is known
failed=$(grep -c '^groupbridge: error: provision: ' "$T/.err")
expect "long outage: only the writes in flight failed ($failed, at most 16), none after it was tried" \
	test "$failed" -ge 1 -a "$failed" -le 16
converges "long outage"
finish
