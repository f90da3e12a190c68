#!/bin/sh
# Benchmarks S1-S4 and S6 of issue 9 (provisioning, Graph request economy, memory at scale), each against a floor
# measured in the same run on the same DC. Writes a JSON fragment with one object per figure.
#   sh bench/provision.sh [GROUPBRIDGE] [OUT.json]       (make bench passes both)
# Without a test bed in the environment it runs itself under tests/testbed/with-testbed.sh (DC1 only; set
# GB_TEST_DC1_IP to keep off another test bed's address).
#   BENCH_SCALE=default: 10,100 AD users + 1,000 cloud-only, 1,000 groups, 100,000 links, a 10,000-member group;
#                        S6 with 1,000,000 and 2,000,000 links (loading the users into Samba takes 1-2 minutes)
#   BENCH_SCALE=full:    as default with 50,100 AD users + 5,000 cloud-only and a 50,000-member group (loading the
#                        users alone takes 4-10 minutes on a 2-core machine)
#   BENCH_SCALE=quick:   6,000 AD users + 600 cloud-only, 200 groups, 20,000 links, a 5,000-member group;
#                        S6 with 100,000 and 200,000 links
#
# S1 first provisioning: AD time = wall time of `provision` minus wall time of `provision --dry-run` over the same
#    empty target (the dry run does every Graph and AD read and the planning, the real run does the same plus the
#    writes); LDAP floor = `ldapadd` of a minimal LDIF (one add per group with all its members) creating the same
#    groups and members under a fresh OU. Graph requests (token requests excluded, a $batch counts as one) against
#    the fewest pages of 999 that read the groups and every group's members.
# S2 rerun with no cloud change: audit records written (one per LDAP write), Graph requests other than delta, time.
# S3 1% of the AD users' memberships changed (outside the big group): audit records (= LDAP modifies) against the
#    number of changed groups; Graph requests against the delta requests of the same pass.
# S4 one member added to the big group: audit records (= LDAP modifies) and the values in that record.
# S4 also: the pass's time (under 1 s at default scale, 2 s at full), the uSNChanged guard trusting the stored members.
# S7 S1's first pass with 150 ms on every Graph reply, 5 ms each way on LDAP (a relay) and an 8,000-unit/10 s budget,
#    against the same pass with no added latency (through a relay with no delay), each on a copy of the tenant and
#    each starting from the same directory (the DC's databases saved before S7 and put back before each pass).
# S8 S3's incremental pass (1% of the memberships changed) under S7's latency: its time; beside it, the DC's own time
#    for as many modifies of the same groups (ldapmodify undoing S8's writes, straight to the DC).
# S6 `provision --dry-run` over N and 2N links (N/1000 groups of 1000 members, every member an AD user): peak RSS
#    (/usr/bin/time -v) and the time ratio, each size's best of two runs (N, 2N, N, 2N).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$top/build/groupbridge}
out=${2:-/dev/stdout}
case $out in /*) ;; *) [ "$out" = /dev/stdout ] || out=$PWD/$out ;; esac
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
if [ -z "${GB_TEST_DC1_LDAPS_URI:-}" ]; then
	GB_TESTBED_PARTS=dc1 exec sh "$top/tests/testbed/with-testbed.sh" sh "$0" "$bin" "$out"
fi

scale=${BENCH_SCALE:-default}
case $scale in
default) ad_users=10100 cloud=1000 groups=1000 links=100000 big=10000 nested=20 s6=1000000 ;;
full) ad_users=50100 cloud=5000 groups=1000 links=100000 big=50000 nested=20 s6=1000000 ;;
quick) ad_users=6000 cloud=600 groups=200 links=20000 big=5000 nested=5 s6=100000 ;;
*) echo "bench: BENCH_SCALE is default, full or quick" >&2; exit 2 ;;
esac

export LDAPTLS_CACERT="$GB_TEST_CA_DIR/ca.pem"
W=$(mktemp -d "${GB_TEST_TMP:-/tmp}/gb-bench-prov.XXXXXX")
fakes=""
cleanup() {
	for d in $fakes; do sh "$top/tests/testbed/graph-fake.sh" stop "$d" >/dev/null 2>&1; done
	[ -n "${BENCH_KEEP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT
die() { echo "bench: $*" >&2; exit 1; }
say() { echo "bench: $*" >&2; }
now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", (b - a) / 1e9}'; }
ldap() { # TOOL ARGS...
	_t=$1
	shift
	"$_t" -H "$GB_TEST_DC1_LDAPS_URI" -D "$GB_TEST_DC1_BIND_DN" -y "$GB_TEST_DC1_BIND_PASSWORD_FILE" "$@"
}
ou() { printf 'dn: %s\nobjectClass: organizationalUnit\n\n' "$1" | ldap ldapadd >/dev/null || die "cannot create $1"; }
S=$top/bench/scenario.py
base=$GB_TEST_DC1_BASE_DN
tag=$$

fake_start() { # DIR TENANT
	sh "$top/tests/testbed/graph-fake.sh" start "$1" "$2" >/dev/null 2>"$1.err" || { cat "$1.err" >&2; die "the Graph fake did not start"; }
	fakes="$fakes $1"
	. "$1/env"
}
control() { # METHOD PATH [BODY-FILE]
	python3 - "$GB_TEST_GRAPH_CONTROL" "$GB_TEST_CA_DIR/ca.pem" "$1" "$2" "${3:-}" <<'PY'
import ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[2])
data = open(sys.argv[5], "rb").read() if sys.argv[5] else None
req = urllib.request.Request(sys.argv[1] + sys.argv[4], data=data, method=sys.argv[3],
                             headers={"Content-Type": "application/json"})
sys.stdout.write(urllib.request.urlopen(req, context=ctx, timeout=600).read().decode())
PY
}
. "$top/tests/testbed/ini.sh"
config() { # FILE TARGET_OU: as Administrator, as the floors are measured (through the LDAP relay when the test bed
	# was started with GB_TEST_LDAP_DELAY_MS, issue 14's S7; the floors' ldapadd goes to the DC directly)
	gb_ini --admin "$1" DC1 "[provisioning]" "target_container = OU=Groups,$2" "scope = all" \
		'filter = displayName REGEX MATCH "^(Bench Group|Dry) "'
	# BENCH_WRITES_IN_FLIGHT=N, BENCH_MEMBER_BATCH=N: every pass with [directory] writes_in_flight or member_batch
	# = N rather than the default, for comparing values (a bench run with either is not the default's figure)
	[ -z "${BENCH_WRITES_IN_FLIGHT:-}" ] ||
		sed -i "s/^\[directory\]\$/[directory]\nwrites_in_flight = $BENCH_WRITES_IN_FLIGHT/" "$1"
	[ -z "${BENCH_MEMBER_BATCH:-}" ] ||
		sed -i "s/^\[directory\]\$/[directory]\nmember_batch = $BENCH_MEMBER_BATCH/" "$1"
}
graph_count() { control GET /log >"$W/log.json" && python3 "$S" graph-count "$W/log.json"; }
jget() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
audit_count() { sqlite3 "$W/gb.db" "SELECT count(*) FROM audit_log"; }
# ldap_writes FILE [modifies]: the LDAP write requests groupbridge sent, from its closing log line
# ("directory writes: A adds, M modifies, R renames, D deletes"): all of them, or the modifies only
ldap_writes() {
	sed -n 's/.*directory writes: \([0-9]*\) adds, \([0-9]*\) modifies, \([0-9]*\) renames, \([0-9]*\) deletes.*/\1 \2 \3 \4/p' "$1" |
		tail -n 1 | awk -v m="${2:-}" '{ print (m == "modifies") ? $2 : $1 + $2 + $3 + $4 }'
}
# row NAME METRIC VALUE FLOOR TARGET PASS SCALE DETAIL   (FLOOR "null" when none; ratio = VALUE / FLOOR)
: >"$W/rows"
row() {
	python3 - "$@" >>"$W/rows" <<'PY'
import json, sys
name, metric, value, floor, target, ok, scale, detail = sys.argv[1:9]
v = float(value)
f = None if floor == "null" else float(floor)
r = {"name": name, "metric": metric, "value": v, "floor": f,
     "ratio": (round(v / f, 3) if f else None), "target": target, "pass": ok == "true", "scale": scale,
     "detail": detail}
print(json.dumps(r))
PY
}
le() { awk -v a="$1" -v b="$2" 'BEGIN {print (a <= b) ? "true" : "false"}'; }
write_rows() {
	python3 - "$W/rows" "$out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
with open(sys.argv[2], "w") as f:
    json.dump({"benchmark": "provision", "scenarios": rows}, f, indent=1)
PY
}
# BENCH_UNTIL=S4 or S8: stop after that scenario, writing the rows measured so far; for profiling one scenario
# without the minutes of those after it (S7, S8 and S6 after S4; S6 after S8)
until=${BENCH_UNTIL:-}
case $until in "" | S4 | S8) ;; *) die "BENCH_UNTIL is S4, S8 or unset" ;; esac
# BENCH_ONLY=S6: load the users, then run S6 alone (for profiling it without the 15 minutes before it)
only=${BENCH_ONLY:-}
case $only in "" | S6) ;; *) die "BENCH_ONLY is S6 or unset" ;; esac
scale_text="$scale scale: $groups groups, $links links, a $big-member group, $ad_users AD users + $cloud cloud-only, $nested nesting groups"

# ---- S6: dry runs over N and 2N links (run last, or alone with BENCH_ONLY=S6) ----
# (the body is not indented: it holds here-documents)
s6_all() {
sh "$top/tests/testbed/graph-fake.sh" stop "$W/fake" >/dev/null 2>&1
s6run() { # LINKS: one dry run over a fresh state (the tenant written once per size)
	_n=$1
	_g=$((_n / 1000))
	[ -f "$W/t6-$_n.json" ] || python3 - "$W/guids" "$_g" "$W/t6-$_n.json" <<'PY'
import json, sys
guids = [l.split()[1] for l in open(sys.argv[1]) if l.strip()]
groups = int(sys.argv[2])
users = [{"id": "0be0c600-0000-4000-8000-%012x" % i, "displayName": "U%d" % i, "onPremisesObjectIdentifier": g,
          "onPremisesSyncEnabled": True} for i, g in enumerate(guids)]
ids = [u["id"] for u in users]
out = []
for n in range(groups):
    start = (n * 997) % len(ids)
    m = (ids[start:] + ids[:start])[:1000]
    out.append({"id": "0be0c700-0000-4000-8000-%012x" % n, "displayName": "Dry %05d" % n, "securityEnabled": True,
                "mailEnabled": False, "groupTypes": [], "members": m})
json.dump({"tenant_id": "0be0c101-2222-4333-8444-555555555555",
           "clients": [{"client_id": "0be0c102-2222-4333-8444-555555555555", "secret": "bench-secret"}],
           "users": users, "groups": out}, open(sys.argv[3], "w"))
PY
	rm -rf "$W/fake6"
	fake_start "$W/fake6" "$W/t6-$_n.json"
	rm -f "$W/s6-$_n.db"
	config "$W/gb6.ini" "OU=bench-dry-$tag,$base"
	t0=$(now)
	# BENCH_S6_WRAP: a command the dry runs run under, for profiling (perf record -g -o FILE ...)
	/usr/bin/time -v ${BENCH_S6_WRAP:-} "$bin" --config "$W/gb6.ini" --state "$W/s6-$_n.db" provision --dry-run >"$W/s6.out" 2>"$W/s6.err" ||
		{ cat "$W/s6.err" >&2; die "S6 dry run over $_n links failed"; }
	t1=$(now)
	s6t=$(secs "$t0" "$t1")
	s6m=$(awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2 / 1024}' "$W/s6.err")
	s6cpu=$(awk -F': ' '/User time/ {u = $2} /System time/ {s = $2} END {printf "%.2f s user + %.2f s system", u, s}' "$W/s6.err")
	say "S6 $_n links: $s6t s (groupbridge's CPU $s6cpu), peak RSS $s6m MB; $(tail -n 1 "$W/s6.out")"
	sh "$top/tests/testbed/graph-fake.sh" stop "$W/fake6" >/dev/null 2>&1
}
ou "OU=bench-dry-$tag,$base"
ou "OU=Groups,OU=bench-dry-$tag,$base"
s6scale="$((s6 / 1000)) groups of 1000 AD users ($s6 links), then twice that"
[ "$ad_users" -ge 1000 ] || die "S6 needs 1000 AD users"
# N, 2N, N, 2N: each size's best run counts, so that a burst of other load on the machine during one run does not
# decide the ratio (the figures of a size are those of its best run)
t_n="" t_2n="" s6times_n="" s6times_2n=""
for s6k in 1 2; do
	s6run "$s6"
	if [ -z "$t_n" ] || [ "$(le "$s6t" "$t_n")" = true ]; then t_n=$s6t m_n=$s6m c_n=$s6cpu; fi
	s6times_n="${s6times_n:+$s6times_n, }$s6t"
	s6run $((s6 * 2))
	if [ -z "$t_2n" ] || [ "$(le "$s6t" "$t_2n")" = true ]; then t_2n=$s6t m_2n=$s6m c_2n=$s6cpu; fi
	s6times_2n="${s6times_2n:+$s6times_2n, }$s6t"
done
row S6 "peak RSS (MB) of the dry run over $s6 links" "$m_n" null "<= 256" "$(le "$m_n" 256)" "$s6scale" "$((s6 * 2)) links: $m_2n MB; $t_n s"
r=$(awk -v a="$t_2n" -v b="$t_n" 'BEGIN {print a / b}')
row S6 "time (s) of the dry run over twice the links, vs once" "$t_2n" "$t_n" "<= 2.2" "$(le "$r" 2.2)" "$s6scale" \
	"the best of two runs of each, alternated (once: $s6times_n s; twice: $s6times_2n s); the times include the Graph fake serving every page (Python); groupbridge's CPU: $c_n once, $c_2n twice; peak RSS over $((s6 * 2)) links: $m_2n MB"
}

# ---- the scenario: AD users, their objectGUIDs, the tenant ----
# BENCH_USERS_OU: reuse the users an earlier run loaded into that OU (while working on the benchmark itself)
UOU=${BENCH_USERS_OU:-"OU=bench-users-$tag,$base"}
if [ -z "${BENCH_USERS_OU:-}" ]; then
	ou "$UOU"
	python3 "$S" users "$ad_users" "$UOU" bu >"$W/users.ldif"
	t0=$(now)
	ldap ldapadd -f "$W/users.ldif" >/dev/null || die "loading the users failed"
	t1=$(now)
	say "loaded $ad_users AD users into $UOU in $(secs "$t0" "$t1") s"
fi
ldap ldapsearch -LLL -o ldif-wrap=no -E pr=1000/noprompt -b "$UOU" '(objectClass=user)' cn objectGUID |
	python3 "$S" guids bu >"$W/guids"
[ "$(wc -l <"$W/guids")" -eq "$ad_users" ] || die "read back $(wc -l <"$W/guids") objectGUIDs of $ad_users users"
if [ "$only" = S6 ]; then
	s6_all
	write_rows
	exit 0
fi
python3 "$S" tenant "$W/guids" "$W/tenant.json" "$W/stats.json" --groups "$groups" --links "$links" --big "$big" \
	--cloud-only "$cloud" --nested "$nested" || die "the tenant generator failed"
say "tenant: $(cat "$W/stats.json")"
fake_start "$W/fake" "$W/tenant.json"

# ---- S1: first provisioning ----
GOU="OU=bench-gb-$tag,$base"
ou "$GOU"
ou "OU=Groups,$GOU"
config "$W/gb.ini" "$GOU"
GB="$bin --config $W/gb.ini"
t0=$(now)
$GB --state "$W/dry.db" provision --dry-run >"$W/dry.out" 2>"$W/dry.err" || { cat "$W/dry.err" >&2; die "S1 dry run failed"; }
t1=$(now)
dry=$(secs "$t0" "$t1")
control POST /log/clear >/dev/null
t0=$(now)
/usr/bin/time -o "$W/s1.time" -f '%U %S %M' $GB --state "$W/gb.db" provision >"$W/s1.out" 2>"$W/s1.err" ||
	{ cat "$W/s1.err" >&2; die "S1 provisioning failed"; }
t1=$(now)
run1=$(secs "$t0" "$t1")
say "S1: $(cat "$W/s1.out")"
g1=$(graph_count)
ad1=$(awk -v a="$run1" -v b="$dry" 'BEGIN {printf "%.3f", a - b}')
# what groupbridge wrote, read back, becomes the floor's LDIF under a fresh OU
ldap ldapsearch -LLL -o ldif-wrap=no -E pr=500/noprompt -b "OU=Groups,$GOU" '(objectClass=group)' \
	cn sAMAccountName groupType description adminDescription msDS-ExternalDirectoryObjectId member >"$W/written.ldif" || die "reading back S1 failed"
FOU="OU=bench-floor-$tag,$base"
ou "$FOU"
ou "OU=Groups,$FOU"
python3 "$S" floor-ldif "$W/written.ldif" "$GOU" "$FOU" "$W/floor.ldif"
t0=$(now)
ldap ldapadd -f "$W/floor.ldif" >/dev/null || die "the LDAP floor's ldapadd failed"
t1=$(now)
floor1=$(secs "$t0" "$t1")
nwritten=$(grep -c '^member:' "$W/written.ldif")
nfloor=$(ldap ldapsearch -LLL -o ldif-wrap=no -E pr=500/noprompt -b "OU=Groups,$FOU" '(objectClass=group)' member | grep -c '^member:')
expected_ad=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s["links"])' "$W/stats.json")
w1=$(sed -n 's/.*directory writes: \(.*\)/\1/p' "$W/s1.err" | tail -n 1)
say "S1: run $run1 s, dry run $dry s, AD time $ad1 s, LDAP floor $floor1 s; $nwritten member values written ($nfloor in the floor's OU); LDAP writes: $w1; graph $g1"
[ "$nwritten" = "$nfloor" ] || die "the floor holds $nfloor member values, groupbridge wrote $nwritten"
r=$(awk -v a="$ad1" -v b="$floor1" 'BEGIN {print a / b}')
row S1 "AD time (s): provision minus its dry run, vs ldapadd of the same groups" "$ad1" "$floor1" "<= 1.3" \
	"$(le "$r" 1.3)" "$scale_text" "whole run $run1 s (groupbridge's own CPU: $(awk '{printf "%.2f s user + %.2f s system, peak RSS %.0f MB", $1, $2, $3 / 1024}' "$W/s1.time")), dry run (all reads and planning) $dry s; $nwritten member values written; LDAP writes: $w1; cloud-only members are skipped by design"
gf=$(jget "$(cat "$W/stats.json")" graph_floor_requests)
gr=$(jget "$g1" graph)
r=$(awk -v a="$gr" -v b="$gf" 'BEGIN {print a / b}')
row S1 "Graph requests vs fewest pages of 999" "$gr" "$gf" "<= 1.1" "$(le "$r" 1.1)" "$scale_text" \
	"by kind $g1; floor: $(jget "$(cat "$W/stats.json")" graph_floor_detail)"

# ---- S2: a rerun with no cloud change ----
before=$(audit_count)
control POST /log/clear >/dev/null
t0=$(now)
$GB --state "$W/gb.db" provision >"$W/s2.out" 2>"$W/s2.err" || { cat "$W/s2.err" >&2; die "S2 failed"; }
t1=$(now)
run2=$(secs "$t0" "$t1")
a2=$(($(audit_count) - before))
w2=$(ldap_writes "$W/s2.err")
g2=$(graph_count)
say "S2: $run2 s, $w2 LDAP writes, $a2 audit records, graph $g2"
row S2 "LDAP writes (write requests sent)" "$w2" null "= 0" "$([ "$w2" -eq 0 ] && echo true || echo false)" "$scale_text" "$(cat "$W/s2.out")"
d2=$(jget "$g2" delta)
gr=$(jget "$g2" graph)
row S2 "Graph requests vs the delta requests" "$gr" "$d2" "= delta only" "$([ "$gr" -eq "$d2" ] && echo true || echo false)" "$scale_text" "by kind $g2"
row S2 "time (s)" "$run2" null "< 2" "$(awk -v a="$run2" 'BEGIN {print (a < 2) ? "true" : "false"}')" "$scale_text" "whole run, token and delta requests included"

# ---- S3: 1% of the memberships changed ----
set -- $(python3 "$S" change "$W/tenant.json" 0.01 "$W/change.json")
changed_groups=$1 changed_links=$2
control POST /mutate "$W/change.json" >/dev/null || die "S3 mutate failed"
before=$(audit_count)
control POST /log/clear >/dev/null
t0=$(now)
$GB --state "$W/gb.db" provision >"$W/s3.out" 2>"$W/s3.err" || { cat "$W/s3.err" >&2; die "S3 failed"; }
t1=$(now)
run3=$(secs "$t0" "$t1")
a3=$(($(audit_count) - before))
w3=$(ldap_writes "$W/s3.err" modifies)
g3=$(graph_count)
say "S3: $changed_links links in $changed_groups groups changed; $run3 s, $w3 LDAP modifies, $a3 audit records, graph $g3"
row S3 "LDAP modifies vs changed groups" "$w3" "$changed_groups" "= changed groups" \
	"$([ "$w3" -eq "$changed_groups" ] && echo true || echo false)" "$scale_text; $changed_links links changed" "run $run3 s; $a3 audit records (a group that gains and loses members has one of each, sent as one modify); $(cat "$W/s3.out")"
d3=$(jget "$g3" delta)
gr=$(jget "$g3" graph)
r=$(awk -v a="$gr" -v b="$d3" 'BEGIN {print a / b}')
row S3 "Graph requests vs the delta requests" "$gr" "$d3" "= delta pages" "$([ "$gr" -eq "$d3" ] && echo true || echo false)" \
	"$scale_text; $changed_links links changed" "by kind $g3 (members: the changed groups' member lists read again)"

# ---- S4: one member added to the big group ----
# groupbridge refuses a group of more than 50,000 members (Cloud Sync's limit), so the big group first loses one
# member in a pass of its own (not measured) and S4 then adds another one back: at full scale 49,999 -> 50,000
extra=$(printf '0be0c500-0000-4000-8000-%012x' "$big")
bigid=0be0c100-0000-4000-8000-000000000000
printf '{"changes": [{"op": "remove_members", "group": "%s", "members": ["%s"]}]}' "$bigid" \
	"$(printf '0be0c500-0000-4000-8000-%012x' $((big - 1)))" >"$W/s4a.json"
control POST /mutate "$W/s4a.json" >/dev/null || die "S4 mutate (removal) failed"
$GB --state "$W/gb.db" provision >"$W/s4a.out" 2>"$W/s4a.err" || { cat "$W/s4a.out" "$W/s4a.err" >&2; die "S4 removal pass failed"; }
printf '{"changes": [{"op": "add_members", "group": "%s", "members": ["%s"]}]}' "$bigid" "$extra" >"$W/s4.json"
control POST /mutate "$W/s4.json" >/dev/null || die "S4 mutate failed"
before=$(audit_count)
control POST /log/clear >/dev/null
t0=$(now)
$GB --state "$W/gb.db" provision >"$W/s4.out" 2>"$W/s4.err" || { cat "$W/s4.out" "$W/s4.err" >&2; die "S4 failed"; }
t1=$(now)
run4=$(secs "$t0" "$t1")
a4=$(($(audit_count) - before))
w4=$(ldap_writes "$W/s4.err" modifies)
g4=$(graph_count)
sqlite3 "$W/gb.db" "SELECT operation, target, before, after FROM audit_log WHERE seq > $before" >"$W/s4.audit"
# values carried: the member values in the record's after value, and whether the one is the added user's objectGUID
want=$(awk -v i="$big" '$1 == i {print $2}' "$W/guids")
vals=$(python3 - "$W/s4.audit" "$want" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
print(len(re.findall(r"<GUID=[0-9a-fA-F-]{36}>|CN=[^,]+,", text.split("|", 3)[-1] if text else "")),
      int(sys.argv[2].lower() in text.lower()))
PY
)
say "S4: $run4 s, $w4 LDAP modifies, $a4 audit records ($(head -c 400 "$W/s4.audit")), graph $g4"
nbig=$(ldap ldapsearch -LLL -o ldif-wrap=no -b "OU=Groups,$GOU" '(cn=Bench Group 0000*)' member | grep -c '^member:')
set -- $vals
row S4 "LDAP modifies" "$w4" 1 "= 1 modify, 1 value" \
	"$([ "$w4" -eq 1 ] && [ "$a4" -eq 1 ] && [ "$1" -eq 1 ] && [ "$2" -eq 1 ] && echo true || echo false)" "$scale scale: group of $((big - 1)) members + 1" \
	"$1 member value(s) in the record's after value, the added user's objectGUID among them: $2; the group holds $nbig members in AD; run $run4 s; graph $g4"
s4target=1
[ "$scale" = full ] && s4target=2
# what the DC alone takes for the same write: one ldapmodify adding the same user to the floor's copy of the big
# group (S1's floor OU holds it with the same members); process start and bind included, so an upper bound
fbig=$(ldap ldapsearch -LLL -o ldif-wrap=no -b "OU=Groups,$FOU" '(cn=Bench Group 0000*)' dn | sed -n 's/^dn: //p' | head -n 1)
printf 'dn: %s\nchangetype: modify\nadd: member\nmember: <GUID=%s>\n\n' "$fbig" "$want" >"$W/s4floor.ldif"
t0=$(now)
ldap ldapmodify -f "$W/s4floor.ldif" >/dev/null || die "the S4 floor's ldapmodify failed"
t1=$(now)
floor4=$(secs "$t0" "$t1")
say "S4: the DC's own modify (ldapmodify of the same value into the floor's copy): $floor4 s"
row S4 "time (s) of the pass" "$run4" null "< $s4target" "$(awk -v a="$run4" -v b="$s4target" 'BEGIN {print (a < b) ? "true" : "false"}')" \
	"$scale scale: group of $((big - 1)) members + 1" "$(sed -n 's/.*\(uSNChanged guard: .*\)/\1/p' "$W/s4.err" | tail -n 1); the DC's own time for the same modify (ldapmodify into the floor's copy of the group, process start and bind included): $floor4 s"
stop_after() { # SCENARIO: when BENCH_UNTIL names it
	[ "$until" = "$1" ] || return 0
	write_rows
	say "stopped after $1 (BENCH_UNTIL); work directory: $W"
	exit 0
}
stop_after S4

# ---- S7: S1's first pass over a real network; S8: S3's incremental pass under the same latency ----
# Each S7 pass provisions a copy of the tenant whose groups have ids of their own (so that its anchors meet none of
# S1's) into an OU of its own, on a fake of its own, with groupbridge's LDAP through a relay of its own
# (tests/testbed/ldap-proxy.sh --delay-ms): the floor with no added latency (relay delay 0), then S7 with
# S7_GRAPH_MS (150) on every Graph reply, S7_LDAP_MS (5) each way on LDAP and a budget of S7_BUDGET (8,000) units
# per 10 s. The ratio is S7's time over the floor's.
dcdir=$(dirname "$GB_TEST_DC1_BIND_PASSWORD_FILE")
# BENCH_S7_VERBOSE=1: the S7 and S8 passes log every operation with its time (-v --log-format json) to s7-NAME.err
# and s8.err in the work directory (keep it with BENCH_KEEP=1, and GB_TEST_KEEP=1 when the bench starts its own test
# bed), for working out where a pass's time goes
s7verbose=""
[ -z "${BENCH_S7_VERBOSE:-}" ] || s7verbose="-v --log-format json"
proxies=""
cleanup_proxies() { for d in $proxies; do sh "$top/tests/testbed/ldap-proxy.sh" stop "$d" >/dev/null 2>&1; done; }
trap 'cleanup_proxies; cleanup' EXIT
s7pass() { # NAME PREFIX LDAP_MS GRAPH_MS BUDGET: sets s7t (seconds), s7g (graph stats), s7db, s7ini
	sh "$top/tests/testbed/samba-dc.sh" load "$dcdir" before-s7 >/dev/null 2>"$W/load7-$1.err" ||
		{ cat "$W/load7-$1.err" >&2; die "S7 $1: putting back the DC's databases failed"; }
	sed "s/0be0c100-/$2-/g" "$W/tenant.json" >"$W/t7-$1.json"
	fake_start "$W/fake7-$1" "$W/t7-$1.json"
	printf '{"latency_ms": %s, "ru_budget": %s, "ru_window_seconds": 10}' "$4" "$5" >"$W/cfg7-$1.json"
	control POST /config "$W/cfg7-$1.json" >/dev/null || die "S7 $1: configuring the fake failed"
	sh "$top/tests/testbed/ldap-proxy.sh" start "$W/proxy7-$1" "$dcdir" --delay-ms "$3" >/dev/null ||
		die "S7 $1: the LDAP relay did not start"
	proxies="$proxies $W/proxy7-$1"
	_ou="OU=bench-s7$1-$tag,$base"
	ou "$_ou"
	ou "OU=Groups,$_ou"
	s7ini="$W/gb7-$1.ini" s7db="$W/gb7-$1.db"
	(set -a; . "$W/proxy7-$1/proxy.env"; set +a; config "$s7ini" "$_ou")
	control POST /stats/reset >/dev/null
	t0=$(now)
	"$bin" --config "$s7ini" --state "$s7db" $s7verbose provision >"$W/s7-$1.out" 2>"$W/s7-$1.err" ||
		{ cat "$W/s7-$1.err" >&2; die "S7 $1 failed"; }
	t1=$(now)
	s7t=$(secs "$t0" "$t1")
	s7g=$(control GET /stats | python3 -c 'import json,sys; s=json.load(sys.stdin)
print("%d requests, peak %d in flight, %d throttled (429), %d units" % (s["requests"], s["peak_in_flight"], s["throttled_429"], s["units"]))')
	say "S7 $1: $s7t s; graph $s7g; $(sed -n 's/.*directory writes: \(.*\)/\1/p' "$W/s7-$1.err" | tail -n 1)"
}
# Every pass starts from the same directory: the DC's databases are saved once here and put back before each pass
# (samba-dc.sh save/load, the DC stopped meanwhile). Each pass adds 1,000 groups and their 92,000 links, and the
# users' memberOf grows with them; on one growing database the DC's write speed drifted from pass to pass by more
# than the latency costs (a quick-scale floor pass went from 8.0 to 16.1 s of writes over nine passes, unevenly),
# which no floor taken before and after can correct. The floor is still measured twice, before S7 and after S8, and
# the two averaged; their difference is the run's noise (both figures are in the row's detail).
sh "$top/tests/testbed/samba-dc.sh" save "$dcdir" before-s7 >/dev/null 2>"$W/save7.err" ||
	{ cat "$W/save7.err" >&2; die "saving the DC's databases before S7 failed"; }
s7pass floor 0be0c701 0 0 null
t7floor1=$s7t g7floor=$s7g
sh "$top/tests/testbed/graph-fake.sh" stop "$W/fake7-floor" >/dev/null 2>&1
s7pass net 0be0c702 "${S7_LDAP_MS:-5}" "${S7_GRAPH_MS:-150}" "${S7_BUDGET:-8000}"
t7=$s7t g7=$s7g
# S8: 1% of the memberships changed in the S7 tenant, its incremental pass under the same latency
set -- $(python3 "$S" change "$W/t7-net.json" 0.01 "$W/change8.json")
control POST /mutate "$W/change8.json" >/dev/null || die "S8 mutate failed"
before8=$(sqlite3 "$s7db" "SELECT coalesce(max(seq), 0) FROM audit_log")
t0=$(now)
# BENCH_S8_WRAP: a command S8's pass runs under, for profiling (perf record -g -o FILE, strace -c -f ...); its time
# is then the wrapped pass's
${BENCH_S8_WRAP:-} "$bin" --config "$s7ini" --state "$s7db" $s7verbose provision >"$W/s8.out" 2>"$W/s8.err" || { cat "$W/s8.err" >&2; die "S8 failed"; }
t1=$(now)
run8=$(secs "$t0" "$t1")
say "S8: $1 groups, $2 links changed; $run8 s; $(sed -n 's/.*directory writes: \(.*\)/\1/p' "$W/s8.err" | tail -n 1)"
after8=$(sqlite3 "$s7db" "SELECT coalesce(max(seq), 0) FROM audit_log")
# BENCH_S8_AGAIN="W1 W2 ...": for profiling, after S8 and for each value W, two more passes with [directory]
# writes_in_flight = W: one after S8's change is undone in the tenant, one after it is made again (so that the tenant,
# AD and the state end as S8 left them, and the DC's own time below still undoes S8's writes); their times are said,
# not recorded as rows
for w8 in ${BENCH_S8_AGAIN:-}; do
	python3 - "$W/change8.json" "$W/undo8.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
swap = {"add_members": "remove_members", "remove_members": "add_members"}
json.dump({"changes": [dict(x, op=swap[x["op"]]) for x in c["changes"]]}, open(sys.argv[2], "w"))
PY
	sed -i '/^writes_in_flight = /d; s/^\[directory\]$/[directory]\nwrites_in_flight = '"$w8"'/' "$s7ini"
	for c8 in undo8 change8; do
		control POST /mutate "$W/$c8.json" >/dev/null || die "S8 again: mutate $c8 failed"
		t0=$(now)
		"$bin" --config "$s7ini" --state "$s7db" $s7verbose provision >"$W/s8-$c8-$w8.out" 2>"$W/s8-$c8-$w8.err" ||
			{ cat "$W/s8-$c8-$w8.err" >&2; die "S8 again failed"; }
		t1=$(now)
		say "S8 again, writes_in_flight $w8, $c8: $(secs "$t0" "$t1") s; $(sed -n 's/.*directory writes: \(.*\)/\1/p' "$W/s8-$c8-$w8.err" | tail -n 1)"
	done
	sed -i '/^writes_in_flight = /d' "$s7ini"
done
# What the DC alone takes for S8's writes: the same modifies, each undoing one of S8's (its member values deleted
# where S8 added them and added where it removed them), one per group as S8 sent them, with ldapmodify straight to the
# DC (no relay, no latency; process start and bind included): the same groups, the same number of values
sqlite3 -separator "$(printf '\t')" "$s7db" "SELECT operation, target, after FROM audit_log WHERE seq > $before8 AND seq <= $after8 AND operation IN
	('member.add', 'member.remove') AND outcome = 'ok' ORDER BY seq" | python3 -c '
import json, sys
groups = {}
for line in sys.stdin:
    op, dn, after = line.rstrip("\n").split("\t", 2)
    g = groups.setdefault(dn, {"add": [], "delete": []})
    g["delete" if op == "member.add" else "add"] += json.loads(after)["member"]
for dn, g in groups.items():
    print("dn: %s\nchangetype: modify" % dn)
    for kind in ("delete", "add"):
        if g[kind]:
            print("%s: member\n%s\n-" % (kind, "\n".join("member: " + v for v in g[kind])))
    print()
print(len(groups), file=sys.stderr)' >"$W/s8floor.ldif" 2>"$W/s8floor.n" || die "S8: building the floor's LDIF failed"
t0=$(now)
ldap ldapmodify -f "$W/s8floor.ldif" >/dev/null || die "the S8 floor's ldapmodify failed"
t1=$(now)
floor8=$(secs "$t0" "$t1")
say "S8: the DC's own time for the same $(cat "$W/s8floor.n") modifies (undoing S8's, ldapmodify straight to the DC): $floor8 s"
cleanup_proxies
proxies=""
sh "$top/tests/testbed/graph-fake.sh" stop "$W/fake7-net" >/dev/null 2>&1
s7pass floor2 0be0c703 0 0 null
t7floor2=$s7t
sh "$top/tests/testbed/graph-fake.sh" stop "$W/fake7-floor2" >/dev/null 2>&1
cleanup_proxies
proxies=""
t7floor=$(awk -v a="$t7floor1" -v b="$t7floor2" 'BEGIN {printf "%.3f", (a + b) / 2}')
r=$(awk -v a="$t7" -v b="$t7floor" 'BEGIN {print a / b}')
row S7 "time (s) of S1's first pass with ${S7_GRAPH_MS:-150} ms on every Graph reply, ${S7_LDAP_MS:-5} ms each way on LDAP, ${S7_BUDGET:-8000} units/10 s, vs none" \
	"$t7" "$t7floor" "<= 1.25" "$(le "$r" 1.25)" "$scale_text" \
	"with latency: graph $g7; floor (relay delay 0, no Graph latency): mean of $t7floor1 s before and $t7floor2 s after, graph $g7floor; each pass on the same saved directory; S1 direct to the DC: $run1 s"
row S8 "time (s) of S3's incremental pass under S7's latency" "$run8" null "< 3" \
	"$(awk -v a="$run8" 'BEGIN {print (a < 3) ? "true" : "false"}')" "$scale_text; $2 links in $1 groups changed" \
	"$(sed -n 's/.*\(delta: .*\)/\1/p' "$W/s8.err" | tail -n 1); $(sed -n 's/.*\(directory writes: .*\)/\1/p' "$W/s8.err" | tail -n 1); the DC's own time for the same number of modifies of the same groups (undoing S8's, ldapmodify straight to the DC, process start and bind included): $floor8 s"

stop_after S8
s6_all
write_rows
