#!/bin/sh
# Reads sent ahead (issue 14): while an incremental pass reads Graph's delta pages, it already searches AD for the
# managed groups those pages name (each search sent without waiting for its answer, the answers taken after the last
# page), so that the waits for Graph and for the DC overlap. What the pass reads and writes is what it would be
# without: here 120 managed groups change, reported over delta pages of 20; the search of the first 100 anchors goes
# out before the last page comes, no anchor is searched for again, every group changes in one modify, and the stored
# members are trusted. The uSNChanged guard's read after the writes goes out the same way, for each hundred groups
# whose writes ended, while the others' go on; and the connections of the writes in flight connect while the pass
# still reads, once a hundred managed groups are seen to change. Through a DC with Windows' MaxPageSize at 50, a
# search of 100 anchors without paging fails with sizeLimitExceeded: the pass reads those groups the usual way
# (paged), with the same outcome.
. "$(dirname "$0")/lib_ad.sh"
OU="OU=gbahead-$$,$GB_TEST_DC1_BASE_DN"
ad_numbered_users DC1 "$OU" ah 4
tenant_of_groups "$T/tenant.json" "$T/guids" 0000ad70 "Ahead %03d" 120 20 3
links=$($GBTEST tenant count-links "$T/tenant.json")
last=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["users"][-1]["id"])' "$T/tenant.json")
change() { # OP: add_members or remove_members of the last user, in every group
	fake_mutate "$(python3 -c 'import json, sys
print(json.dumps({"changes": [{"op": sys.argv[1], "group": l.strip(), "members": [sys.argv[2]]}
                              for l in open(sys.argv[3]) if l.strip()]}))' "$1" "$last" "$T/tenant.json.groups")"
}
fake_start "$T/tenant.json"
# two proxies of the DC itself (not the test bed's personality), each with a configuration through it in $T/NAME.ini
dc1_proxy plain
dc1_proxy windows --max-page-size 50
for r in plain windows; do proxy_config $r "$T/$r.ini" "$OU" "groups_file = $T/tenant.json.groups"; done
line_of() { grep -n "$1" "$T/.err" | sed -n "${2:-1}p" | cut -d: -f1; }

# --- a DC that answers a search without paging in full ---
GB="$GB_BIN --config $T/plain.ini --state $GB_DB"
run $GB provision
expect_rc "the first pass exits 0" 0
expect "120 groups with $links members" test "$(groups_in_ad)" = 120 -a "$(members_in_ad)" = "$links"
stored() { sqlite3 "$GB_DB" "SELECT count(*) FROM managed_members"; }
expect "the state holds the $links cloud members" test "$(stored)" = "$links"
change remove_members
run $GB -v provision
expect_rc "the incremental pass exits 0" 0
expect_err "120 groups changed" "delta: 120 groups and 0 users changed"
sent=$(line_of 'sent ahead, its answer taken later')
lastpage=$(grep -n 'GET /v1.0/groups/delta' "$T/.err" | tail -n 1 | cut -d: -f1)
expect "the first search went out before the last delta page came (lines ${sent:-none} and ${lastpage:-none})" \
	test -n "$sent" -a -n "$lastpage" -a "${sent:-0}" -lt "${lastpage:-0}"
expect_err "the changed groups' stored members were read while the pages came" \
	"delta: the stored members of 120 managed groups read while the pages came"
expect "both searches were taken: 100 and 20 anchors" test "$(grep -c 'msDS-ExternalDirectoryObjectId=.*: taken, 100 entries' "$T/.err")" = 1 \
	-a "$(grep -c 'msDS-ExternalDirectoryObjectId=.*: taken, 20 entries' "$T/.err")" = 1
twins=$(line_of 'connecting 16 more connections to .* ahead')
expect "the write connections were connecting before the last delta page came (lines ${twins:-none} and ${lastpage:-none})" \
	test -n "$twins" -a "${twins:-0}" -lt "${lastpage:-0}"
expect "no anchor was searched for again" test "$(grep -c 'msDS-ExternalDirectoryObjectId=.*: [0-9]* entries$' "$T/.err")" = 0
expect_err "every group changed in one modify" "directory writes: 0 adds, 120 modifies"
expect_err "the stored members were trusted" "uSNChanged guard: 120 AD groups' members trusted from the store, 0 read"
expect_err "the stored cloud members were updated from the delta records, not read again" \
	"stored members of 120 groups updated from their delta records, without reading them"
expect "AD lost the member in every group" test "$(members_in_ad)" = "$((links - 120))"
expect "and the stored cloud members with it" test "$(stored)" = "$((links - 120))"
# the guard's read of uSNChanged after the writes: the first 100 groups' while the last writes were still going on
after=$(line_of '(|(objectGUID=.*sent ahead, its answer taken later')
lastop=$(line_of '\[120/120\]')
expect "the uSNChanged of 100 groups was asked for before the last write started (lines ${after:-none} and ${lastop:-none})" \
	test -n "$after" -a -n "$lastop" -a "${after:-0}" -lt "${lastop:-0}"
expect "and taken" test "$(grep -c '(|(objectGUID=.*: taken, 100 entries' "$T/.err")" = 1
run $GB provision --full --dry-run
expect_out "nothing left to do" "No changes."

# --- Windows' MaxPageSize: the searches sent ahead fail, the usual paged read takes over ---
GB="$GB_BIN --config $T/windows.ini --state $GB_DB"
change add_members
run $GB -v provision
expect_rc "the incremental pass through MaxPageSize 50 exits 0" 0
expect_err "the search of 100 anchors was refused" "anchors read ahead: ldap search"
expect "its 100 anchors were searched for the usual way, in one search (not one per slice of the changed groups)" \
	test "$(grep -c 'msDS-ExternalDirectoryObjectId=.*: [0-9]* entries$' "$T/.err")" = 1 \
	-a "$(grep -c 'msDS-ExternalDirectoryObjectId=.*: 100 entries$' "$T/.err")" = 1
expect_err "every group changed in one modify" "directory writes: 0 adds, 120 modifies"
expect_err "the stored members were trusted" "uSNChanged guard: 120 AD groups' members trusted from the store, 0 read"
expect "AD has every member back" test "$(members_in_ad)" = "$links"
expect "and the stored cloud members" test "$(stored)" = "$links"
run $GB provision --full --dry-run
expect_out "nothing left to do" "No changes."
run $GB audit verify
expect_rc "audit verify passes" 0
finish
