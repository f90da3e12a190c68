#!/bin/sh
# A user deleted in AD while a run is applying its plan: the plan adds each new group with its members in one
# request, which AD then refuses because one member no longer exists. The group must still be created (added alone,
# then its members), the failure named and the exit code partial (3), and the next run must converge without the
# vanished user. The run is paused with SIGSTOP after its first audit record, the user is deleted, and it goes on.
. "$(dirname "$0")/lib_ad.sh"
OU="OU=gbvanish-$$,$GB_TEST_DC1_BASE_DN"
ad_numbered_users DC1 "$OU" v 8
tenant_of_groups "$T/tenant.json" "$T/guids" 0000ab12 "Vanish %02d" 60
provision_start DC1 "$OU"
victim_refs() {
	ldap_on DC1 ldapsearch -LLL -o ldif-wrap=no -b "OU=Groups,$OU" "(objectClass=group)" member 2>/dev/null |
		grep -c "^member: CN=v8-$$," || true
}

run $GB provision --dry-run
expect_rc "the dry run exits 0" 0
expect "the plan creates sixty groups" test "$(grep -c '^ *[0-9]*\. create-group ' "$T/.out")" = 60

# --- the run, paused after its first write while the eighth user is deleted ---
run_bg $GB -v provision
wait_audit 1 3000
kill -STOP $bg_pid 2>/dev/null
paused_at=$(audit_count)
echo "     paused at $paused_at audit record(s)"
ldap_on DC1 ldapdelete "CN=v8-$$,$OU" >/dev/null 2>&1
expect "the eighth user is deleted while the run is paused" \
	test -z "$(ldap_on DC1 ldapsearch -LLL -b "$OU" "(cn=v8-$$)" dn 2>/dev/null)"
kill -CONT $bg_pid 2>/dev/null
wait_bg
cp "$T/.err" "$T/run.err"
expect "the run was paused before its last group ($paused_at of about 120 records)" test "$paused_at" -lt 100
expect "the run reports a partial result (exit 3, got $rc)" test "$rc" = 3
expect "it says which add failed and that the group was added alone" \
	grep -q "with its members failed (.*); adding the group, then its members" "$T/run.err"
expect "the failure of the members names the group" grep -q "CN=Vanish [0-9]*_[0-9a-f]*,OU=Groups,$OU" "$T/run.err"
expect "every group exists all the same (60, got $(groups_in_ad))" test "$(groups_in_ad)" = 60
fallbacks=$(grep -c "with its members failed" "$T/run.err")
failed_records=$(sqlite3 "$T/gb.db" "SELECT count(*) FROM audit_log WHERE result LIKE 'failed:%'")
expect "each failed member add has its own failed audit record ($fallbacks fallbacks, $failed_records records)" \
	test "$fallbacks" -gt 0 -a "$fallbacks" = "$failed_records"
expect "the summary counts them as failed" grep -q "$fallbacks operations failed" "$T/run.err"
run $GB audit verify
expect_rc "the audit log is intact" 0

# --- the next run converges without the vanished user ---
run $GB provision
expect_rc "the next run exits 0" 0
expect "sixty groups" test "$(groups_in_ad)" = 60
expect "seven members in each (420, got $(members_in_ad))" test "$(members_in_ad)" = 420
expect "the vanished user is a member nowhere" test "$(victim_refs)" = 0
run $GB provision --dry-run --full
expect_out "a full dry run finds nothing to do" "No changes."
run $GB audit verify
expect_rc "audit verify passes" 0
finish
