# The Cloud Sync hand-over tests' fixture (cli_migrate_cloudsync*.sh; sources lib_ad.sh).
#   cs_init OUNAME IDS SPIDS JOB USER  sets WB (OU=OUNAME-<pid> below DC1's base DN, created with the user
#                                   CN=USER-<pid>, whose objectGUID goes to the variable USER), the group ids
#                                   (id N: IDS-0000-4000-8000-<N, 12 digits>), SP (SPIDS-0000-4000-8000-000000000001,
#                                   the Cloud Sync service principal) and JOB (AAD2ADGroupProvisioning.JOB.1); creates
#                                   CN=Group_<id N>,WB for N = 1..3 in AD, each with the member CN=USER-<pid>,WB
#   cs_job EXTRA                    the job's JSON for the tenant: id, target_container WB, EXTRA (JSON members, each
#                                   followed by a comma) and the provisioning agent's LDAP connection to DC1
#   cs_start UID GUID NAME          adds the user UID (GUID) and groups 1..3 named "NAME N" with UID as member to
#                                   $T/tenant.json and starts the fake on it
#   cs_config EXTRA...              writes $T/gb.ini for a hand-over to the job (wave size 1, EXTRA lines in
#                                   [migration]), the Connect Sync export after coexistence in $T/after, sets $GB
#   cs_to_coexistence               runs the migration through inventory and coexistence (both confirmed)
#   assignments                     how many app-role assignments the service principal holds (its state in $T/sp.json)
#   ad_members N                    how many members group N holds in AD
#   expect_assigned NAME N          the service principal holds N app-role assignments (assignments)
#   plan_handoff NAME RC            runs `$GB migrate plan handoff` (as `run`) and expects exit RC
#   run_irreversible NAME RC        runs `$GB migrate run --yes --i-understand-this-is-irreversible` and expects exit RC
. "$(dirname "$0")/lib_ad.sh"

id() { printf '%s-0000-4000-8000-%012d' "$_cs_ids" "$1"; }

cs_init() {
	WB="OU=$1-$$,$GB_TEST_DC1_BASE_DN"
	_cs_ids=$2
	SP=$3-0000-4000-8000-000000000001
	JOB=AAD2ADGroupProvisioning.$4.1
	ad_ou_users DC1 "$WB" "$5"
	cs_groups "$5"
}

cs_groups() {
	for _n in 1 2 3; do
		printf 'dn: CN=Group_%s,%s\nobjectClass: group\ngroupType: -2147483640\nadminDescription: Group_%s\nmember: CN=%s-%s,%s\n\n' \
			"$(id $_n)" "$WB" "$(id $_n)" "$1" $$ "$WB"
	done | ldap_on DC1 ldapadd >/dev/null
}

cs_job() {
	printf '{"id": "%s", "target_container": "%s", %s
    "ad_ldap": {"uri": "%s", "bind_dn": "%s",
                "password_file": "%s", "base": "%s"}}' "$JOB" "$WB" "$1" "$GB_TEST_DC1_LDAPS_URI" \
		"$GB_TEST_DC1_BIND_DN" "$GB_TEST_DC1_BIND_PASSWORD_FILE" "$GB_TEST_DC1_BASE_DN"
}

cs_start() {
	tenant_user "$T/tenant.json" "$1" "$2"
	for _n in 1 2 3; do tenant_group "$T/tenant.json" "$(id $_n)" "$3 $_n" members="$1"; done
	fake_start "$T/tenant.json"
}

cs_config() {
	gb_config "$T/gb.ini" DC1 "$WB" "groups = $(id 3)" "allowed_containers = $WB" 'cn = Append("Group_", [objectId])' \
		"[migration]" "connect_sync_export = $here/data/connect-sync/contoso-2016-upgraded" "writeback_ou = $WB" \
		"tenant_domain = contoso.example" "handoff_target = cloudsync" "cloudsync_service_principal = $SP" \
		"cloudsync_job_id = $JOB" "$@" "handoff_wave_size = 1"
	$GBTEST coexistence-export "$here/.." "$T/after"
	GB="$GB_BIN --config $T/gb.ini --state $T/gb.db"
}

cs_to_coexistence() {
	$GB migrate run --yes >/dev/null 2>&1
	$GB migrate confirm inventory >/dev/null 2>&1
	$GB migrate run --yes >/dev/null 2>&1
	$GB migrate confirm connect-sync-coexistence --export "$T/after" >/dev/null 2>&1
}

assignments() {
	fake_control GET "/state?id=$SP" >"$T/sp.json"
	python3 -c "import json,sys; s=json.load(open(sys.argv[1])); s=s.get('value',s); print(len(s['appRoleAssignedTo']))" "$T/sp.json"
}

ad_members() { ldap_on DC1 ldapsearch -LLL -b "CN=Group_$(id "$1"),$WB" -s base "(objectClass=group)" member | grep -c '^member:'; }

expect_assigned() { expect "$1" test "$(assignments)" = "$2"; }

plan_handoff() {
	run $GB migrate plan handoff
	expect_rc "$1" "$2"
}

run_irreversible() {
	run $GB migrate run --yes --i-understand-this-is-irreversible
	expect_rc "$1" "$2"
}
