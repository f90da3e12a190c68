# AD and Graph-fake fixtures for the shell integration tests, under with-testbed.sh (sources lib.sh unless it was;
# sets $here to tests/).
#
# The directory, as Administrator and directly on the DC (fixtures and assertions never go through the Windows
# personality proxy nor bind as the delegated account that groupbridge uses):
#   ldap_on DC CMD ARGS...          runs an OpenLDAP tool against DC (DC1, DC2, DCR) over verified LDAPS
#   ad_ou DC OU                     creates OU (a DN) and OU=Groups below it
#   ad_users DC OU NAME...          creates users CN=NAME,OU and prints "NAME=objectGUID" lines ("-" in NAME as "_")
#   ad_ou_users DC OU NAME...       ad_ou, then users CN=NAME-$$ under OU; sets the variable NAME to each one's objectGUID
#   ad_numbered_users DC OU PREFIX N  creates OU (ad_ou) and N users PREFIX1-<pid> .. PREFIXN-<pid> in it; their
#                                   ad_users lines go to $T/guids; checks (expect) that there are N
#   ad_sid DC BASE FILTER           prints the objectSid (S-1-5-...) of the one entry FILTER finds below BASE
#   ad_protect DC DN                makes DN look as AdminSDHolder leaves a protected object: adminCount 1 and
#                                   AdminSDHolder's security descriptor, whose DACL is protected from inheritance (so
#                                   the delegated account's inherited rights do not reach it)
# The groups of a test (below $AD_BASE, default OU=Groups,$OU, on $AD_DC, default DC1; ad_scope DC BASE sets both):
#   groups_in_ad [BASE]             how many groups
#   anchors_in_ad [BASE]            how many distinct msDS-ExternalDirectoryObjectId values they carry
#   one_group_per_anchor [BASE]     true when, in one search, the groups are as many as their distinct anchors (no
#                                   group twice, none without its anchor); one search, so that writes still landing
#                                   after a SIGKILL (sent before it, through a relay) cannot fall between two counts
#   members_in_ad [BASE]            how many member values they hold in all
#   reset_ad [BASE]                 deletes them, and the state database $GB_DB
# The state database ($GB_DB, default $T/gb.db) and runs killed on the way:
#   audit_count [WHERE]             records in its audit log (optionally only those WHERE says), 0 without one
#   run_bg CMD...                   starts CMD in the background (stdout $T/.out, stderr $T/.err, as `run` keeps
#                                   them for expect_out and expect_err); pid in $bg_pid
#   wait_audit N [TICKS]            waits until audit_count (with $AUDIT_WHERE) reaches N while $bg_pid runs, at most
#                                   TICKS times 10 ms (1500)
#   wait_bg                         waits until $bg_pid ends; its exit code in $rc, its output in $out and $errout
#   kill_bg [SIGNAL]                sends SIGNAL (KILL) to $bg_pid and reaps it; its exit code in $rc
#   kill_at_audit N CMD...          run_bg CMD, wait_audit N, kill_bg: groupbridge killed after N audit records
#   kill_seed                       sets SEED from GB_KILL_SEED or at random, and prints how to repeat the run
#   kill_points N                   ten kill points drawn from SEED in 1..N-1 (space-separated)
#   kill_rounds N WHAT ROUND        says the kill_points N (counts of WHAT records), then runs the function ROUND once
#                                   for each, with $round (1..10) and $at (the point) set
#   expect_converged NAME G M       a rerun of provision exits 0 and leaves G groups, each once, with M member
#                                   references; the audit log verifies; a full dry run finds nothing left to do
# The Graph fake and tenants:
#   fake_start TENANT.json          starts a Graph fake for the test (stopped at exit) and sources its env
#   fake_mutate JSON                POSTs a /_fake/mutate body
#   fake_control METHOD PATH [JSON] calls the fake's control API (PATH below /_fake), prints the reply
#   fake_faults RULES               replaces the fake's fault rules with RULES (the inside of a JSON list)
#   graph_paths                     the paths of the requests the fake served, token requests left out
#   fired                           how many times the fake's fault rules fired in all
#   tenant_new FILE [K=V|K:=JSON]...            a tenant with no objects (tests/support/gbtest.py tenant new)
#   tenant_user FILE ID GUID|null [K=V...]      adds a user synced from AD (null: cloud-only)
#   tenant_group FILE ID NAME [members=A,B] [K=V...]
#                                   adds a security group; its id is appended to FILE.groups
#   tenant_of_groups OUT GUIDS PREFIX NAME COUNT [PAGE_SIZE [ROTATE]]
#                                   users from the ad_users lines in GUIDS (id u-NAME) and COUNT security groups
#                                   PREFIX-0000-4000-8000-<n, 12 digits> named by the printf format NAME with n, each
#                                   with every user (ROTATE r: all but the first n % r), paged PAGE_SIZE (999); the
#                                   group ids go to OUT.groups
# The configuration:
#   gb_config FILE DC OU EXTRA...   writes a configuration (tests/testbed/ini.sh) for DC and the running fake, with
#                                   [provisioning] target_container = OU=Groups,OU and the EXTRA lines after it
#   provision_start DC OU [EXTRA...]  starts the fake on $T/tenant.json and writes $T/gb.ini for the groups listed in
#                                   $T/tenant.json.groups (and EXTRA lines); $GB is groupbridge with it and $GB_DB
#   short_ini                       writes $T/short.ini: $T/gb.ini tolerating only 2 s of throttling per run
[ -n "${_gb_lib_sh:-}" ] || . "$(dirname "$0")/lib.sh"
: "${GB_TEST_DC1_LDAPS_URI:?run under tests/testbed/with-testbed.sh}"
export LDAPTLS_CACERT="$GB_TEST_CA_DIR/ca.pem"
_lib_here=$(cd "$(dirname "$0")/.." && pwd)
here=$_lib_here # tests/, for the data and the test bed
GBTEST="python3 $_lib_here/support/gbtest.py"
GB_DB=${GB_DB:-$T/gb.db}
. "$_lib_here/testbed/ini.sh"

ldap_on() {
	_dc=$1
	shift
	eval "_uri=\$GB_TEST_${_dc}_LDAPS_URI _dn=\$GB_TEST_${_dc}_BIND_DN _pw=\$GB_TEST_${_dc}_BIND_PASSWORD_FILE"
	"$@" -H "$_uri" -D "$_dn" -y "$_pw"
}

ad_ou() {
	printf 'dn: %s\nobjectClass: organizationalUnit\n\ndn: OU=Groups,%s\nobjectClass: organizationalUnit\n\n' "$2" "$2" |
		ldap_on "$1" ldapadd >/dev/null
}

ad_users() {
	_dc=$1
	_ou=$2
	shift 2
	for _u in "$@"; do
		printf 'dn: CN=%s,%s\nobjectClass: user\nsAMAccountName: %s\n\n' "$_u" "$_ou" "$(echo "$_u" | cut -c1-20)"
	done | ldap_on "$_dc" ldapadd >/dev/null
	ldap_on "$_dc" ldapsearch -LLL -b "$_ou" "(objectClass=user)" objectGUID cn | $GBTEST guids
}

ad_ou_users() {
	_dc=$1
	_ou=$2
	shift 2
	ad_ou "$_dc" "$_ou"
	_names=""
	for _n in "$@"; do _names="$_names $_n-$$"; done
	eval "$(ad_users "$_dc" "$_ou" $_names)"
	for _n in "$@"; do eval "$_n=\${${_n}_$$:-}"; done
}

ad_numbered_users() {
	ad_ou "$1" "$2"
	_names=""
	for _i in $(seq 1 "$4"); do _names="$_names $3$_i-$$"; done
	ad_users "$1" "$2" $_names >"$T/guids"
	expect "$4 users created" test "$(wc -l <"$T/guids")" = "$4"
}

ad_sid() {
	ldap_on "$1" ldapsearch -LLL -b "$2" "$3" objectSid | $GBTEST sid
}

ad_protect() { # the DACL of AdminSDHolder without what it inherits, marked protected; owner and group are kept
	_sd=$(ldap_on "$1" ldapsearch -LLL -o ldif-wrap=no -b "CN=AdminSDHolder,CN=System,$(eval "echo \$GB_TEST_${1}_BASE_DN")" \
		-s base -E '!1.2.840.113556.1.4.801=::MAMCAQQ=' nTSecurityDescriptor | sed -n 's/^nTSecurityDescriptor:: //p' |
		$GBTEST protect-sd)
	printf 'dn: %s\nchangetype: modify\nreplace: adminCount\nadminCount: 1\n-\nreplace: nTSecurityDescriptor\nnTSecurityDescriptor:: %s\n-\n' \
		"$2" "$_sd" | ldap_on "$1" ldapmodify >/dev/null
}

ad_scope() {
	AD_DC=$1
	AD_BASE=$2
}

_ad_search() { # BASE FILTER ATTR...: LDIF of the groups below BASE, unwrapped
	_b=$1
	shift
	ldap_on "${AD_DC:-DC1}" ldapsearch -LLL -o ldif-wrap=no -b "$_b" "(objectClass=group)" "$@" 2>/dev/null
}

groups_in_ad() { _ad_search "${1:-${AD_BASE:-OU=Groups,$OU}}" 1.1 | grep -c '^dn:'; }
anchors_in_ad() {
	_ad_search "${1:-${AD_BASE:-OU=Groups,$OU}}" msDS-ExternalDirectoryObjectId |
		grep '^msDS-ExternalDirectoryObjectId:' | sort -u | wc -l
}
one_group_per_anchor() {
	_ad_search "${1:-${AD_BASE:-OU=Groups,$OU}}" msDS-ExternalDirectoryObjectId >"$T/.anchors" || return 1
	_opa_g=$(grep -c '^dn:' "$T/.anchors")
	_opa_a=$(grep '^msDS-ExternalDirectoryObjectId:' "$T/.anchors" | sort -u | wc -l)
	echo "$_opa_g groups, $_opa_a distinct anchors"
	test "$_opa_g" = "$_opa_a"
}
members_in_ad() { _ad_search "${1:-${AD_BASE:-OU=Groups,$OU}}" member | grep -c '^member:'; }
reset_ad() {
	_ad_search "${1:-${AD_BASE:-OU=Groups,$OU}}" 1.1 | sed -n 's/^dn: //p' | ldap_on "${AD_DC:-DC1}" ldapdelete -c >/dev/null 2>&1
	rm -f "$GB_DB" "$GB_DB-wal" "$GB_DB-shm"
}

audit_count() {
	sqlite3 "$GB_DB" "SELECT count(*) FROM audit_log${1:+ WHERE $1}" 2>/dev/null || echo 0
}

run_bg() {
	"$@" >"$T/.out" 2>"$T/.err" &
	bg_pid=$!
}

wait_audit() {
	_i=0
	while [ "$(audit_count "${AUDIT_WHERE:-}")" -lt "$1" ] && kill -0 "$bg_pid" 2>/dev/null && [ $_i -lt "${2:-1500}" ]; do
		sleep 0.01
		_i=$((_i + 1))
	done
}

wait_bg() {
	wait "$bg_pid"
	rc=$?
	out=$(cat "$T/.out")
	errout=$(cat "$T/.err")
}

kill_bg() {
	kill -"${1:-KILL}" "$bg_pid" 2>/dev/null
	wait "$bg_pid" 2>/dev/null
	rc=$?
}

kill_at_audit() {
	_n=$1
	shift
	run_bg "$@"
	wait_audit "$_n"
	kill_bg
}

kill_seed() {
	SEED=${GB_KILL_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
	echo "kill points from seed $SEED (GB_KILL_SEED=$SEED to repeat)"
}

kill_points() {
	awk -v seed="$SEED" -v n="$1" 'BEGIN { srand(seed); for (i = 0; i < 10; i++) printf "%d ", 1 + int(rand() * (n - 1)) }'
}

kill_rounds() {
	_points=$(kill_points "$1")
	echo "kill after these $2 counts (of $1): $_points"
	round=0
	for at in $_points; do
		round=$((round + 1))
		"$3"
	done
}

expect_converged() {
	run $GB provision
	expect_rc "$1: the rerun exits 0" 0
	expect "$1: $2 groups, each once" test "$(groups_in_ad)" = "$2" -a "$(anchors_in_ad)" = "$2"
	expect "$1: every member ($3 references)" test "$(members_in_ad)" = "$3"
	run $GB audit verify
	expect_rc "$1: audit verify passes" 0
	run $GB provision --dry-run --full
	expect_out "$1: nothing left to do" "No changes."
}

fake_start() {
	sh "$_lib_here/testbed/graph-fake.sh" start "$T/fake" "$1" >/dev/null 2>"$T/fake.err" || {
		cat "$T/fake.err"
		echo "0 passed, 1 failed"
		exit 1
	}
	_fake_started=yes
	. "$T/fake/env"
}

fake_control() { $GBTEST control "$GB_TEST_GRAPH_CONTROL" "$GB_TEST_CA_DIR/ca.pem" "$1" "$2" "${3:-}"; }
fake_mutate() { fake_control POST /mutate "$1" >/dev/null; }
fake_faults() { fake_control POST /faults "{\"clear\": true, \"rules\": [$1]}" >/dev/null; }
fired() { fake_control GET /faults | python3 -c 'import json,sys; print(sum(r.get("fired", 0) for r in json.load(sys.stdin)["rules"]))'; }
graph_paths() {
	fake_control GET /log | python3 -c 'import json,sys; print("\n".join(r["path"] for r in json.load(sys.stdin)["value"]))' |
		grep -v 'oauth2/v2.0/token'
}

# dc1_proxy NAME OPTION...: an LDAP proxy of DC1 itself (not the test bed's personality) in $T/NAME with those
# switches (tests/testbed/ldap-proxy.sh), stopped when the test exits; $T/NAME/proxy.env names it. A proxy that does
# not start ends the test as failed.
_proxies=""
dc1_proxy() {
	_name=$1
	shift
	if ! sh "$_lib_here/testbed/ldap-proxy.sh" start "$T/$_name" "$(dirname "$GB_TEST_TMP")/dc1" "$@" >"$T/$_name.out" 2>&1; then
		cat "$T/$_name.out"
		echo "0 passed, 1 failed"
		exit 1
	fi
	_proxies="$_proxies $_name"
}
# proxy_config NAME FILE OU LINE...: gb_config of DC1 reached through the proxy NAME
proxy_config() {
	(
		_name=$1
		_file=$2
		_ou=$3
		shift 3
		set -a
		. "$T/$_name/proxy.env"
		set +a
		gb_config "$_file" DC1 "$_ou" "$@"
	)
}

# every exit path stops the fake (when one was started), the proxies and whatever the test registered with at_exit
_lib_ad_exit() {
	for _cmd in $_at_exit; do eval "$_cmd"; done
	for _p in $_proxies; do sh "$_lib_here/testbed/ldap-proxy.sh" stop "$T/$_p" >/dev/null 2>&1; done
	[ -z "${_fake_started:-}" ] || sh "$_lib_here/testbed/graph-fake.sh" stop "$T/fake"
	rm -rf "$T"
}
_at_exit=""
# at_exit FUNCTION: runs FUNCTION (a name) when the test exits, before the fake is stopped
at_exit() { _at_exit="$_at_exit $1"; }
trap _lib_ad_exit EXIT

tenant_new() { $GBTEST tenant new "$@"; }
tenant_user() { $GBTEST tenant user "$@"; }
tenant_group() { $GBTEST tenant group "$@"; }
tenant_of_groups() { $GBTEST tenant of-groups "$@"; }

gb_config() {
	_file=$1
	_dc=$2
	_ou=$3
	shift 3
	gb_ini "$_file" "$_dc" "[provisioning]" "target_container = OU=Groups,$_ou" "$@"
}

provision_start() {
	_dc=$1
	_ou=$2
	shift 2
	fake_start "$T/tenant.json"
	gb_config "$T/gb.ini" "$_dc" "$_ou" "groups_file = $T/tenant.json.groups" "$@"
	GB="$GB_BIN --config $T/gb.ini --state $GB_DB"
}

short_ini() {
	awk '/^\[graph\]/ { print; print "max_throttle_wait = 2"; next } { print }' "$T/gb.ini" >"$T/short.ini"
}

# The fake's isCloudManaged (True/False) of the group with id $1.
cloud_managed() {
	fake_control GET "/state?id=$1" | python3 -c '
import json, sys
s = json.load(sys.stdin)
for g in s.get("groups", [s]) if isinstance(s, dict) else s:
    print((g.get("onPremisesSyncBehavior") or {}).get("isCloudManaged", False))
    break'
}

# A migration set up with $GB up to convert-soa: every step before it run and confirmed (the export after the
# coexistence script in $T/after).
migrate_to_convert_soa() {
	$GB migrate run --yes >/dev/null 2>&1
	$GB migrate confirm inventory >/dev/null 2>&1
	$GB migrate run --yes >/dev/null 2>&1
	$GB migrate confirm connect-sync-coexistence --export "$T/after" >/dev/null 2>&1
	$GB migrate plan handoff >/dev/null 2>&1
	$GB migrate run --yes --i-understand-this-is-irreversible >/dev/null 2>&1
	run $GB migrate confirm disable-writeback
	expect_rc "the migration reaches convert-soa" 0
}
