#!/bin/sh
# The audit log from the command line: notes make records, verify passes on an untouched log and names the record
# after an edit, a deletion, a swap or a cut tail; export as JSON lines and CSV; the report command on the same
# state. Needs no servers: the state database is built with `audit note` and tampered with the sqlite3 CLI.
. "$(dirname "$0")/lib.sh"

printf '[migration]\nconnect_sync_export = %s/export\n' "$T" >"$T/gb.ini"
DB="$T/state.db"
gbs() { db=$1; shift; "$GB_BIN" --config "$T/gb.ini" --state "$db" "$@"; }
# A private copy of the state database, to tamper with.
copy() { rm -f "$2"; sqlite3 "$1" ".backup '$2'"; }

run "$GB_BIN" audit --help
expect_rc "audit help exits 0" 0
expect_out "audit help explains verify" "names the first damaged record"
expect_out "audit help explains the head" "--expect-head"
run "$GB_BIN" report --help
expect_rc "report help exits 0" 0
expect_out "report help lists kinds" "verification"
expect_out "report help lists formats" "html: one self-contained page"
run "$GB_BIN" audit
expect_rc "audit without subcommand is a usage error" 2
run "$GB_BIN" audit frob
expect_rc "unknown audit subcommand is a usage error" 2
run "$GB_BIN" report
expect_rc "report without kind is a usage error" 2
run "$GB_BIN" report bogus
expect_rc "unknown report kind is a usage error" 2
expect_err "unknown kind is named" 'unknown kind "bogus"'
run "$GB_BIN" report run --format pdf
expect_rc "unknown report format is a usage error" 2

run gbs "$T/absent.db" audit verify
expect_rc "verify on a missing state fails" 1
expect_err "missing state is named" "$T/absent.db"

# Five notes: five records in five runs.
i=1
while [ $i -le 5 ]; do
	run gbs "$DB" audit note "CHG00$i approved"
	expect_rc "note $i recorded" 0
	expect_out "note $i has seq $i" "audit record $i "
	i=$((i + 1))
done
run gbs "$DB" audit verify
expect_rc "untouched log verifies" 0
expect_out "untouched log is intact" "intact: 5 records, head seq 5 hash "
head=$(sed -n 's/.*head seq 5 hash \([0-9a-f]*\).*/\1/p' "$T/.out")

# The documented canonical form (gb-audit-v2), recomputed here independently: SHA-256 over the genesis hash and
# netstrings; the outcome ok and no message ("-,") close it.
ns() { printf '%s:%s,' "$(printf '%s' "$1" | wc -c | tr -d ' ')" "$1"; }
row=$(sqlite3 -separator '|' "$DB" "SELECT time, run_id, step, operation, target, after, hash FROM audit_log WHERE seq = 1")
IFS='|' read -r t_time t_run t_step t_op t_target t_after t_hash <<EOF
$row
EOF
calc=$({
	printf '%s' 0000000000000000000000000000000000000000000000000000000000000000
	printf 'gb-audit-v2\n'
	ns 1
	ns "$t_time"
	ns "$t_run"
	ns "$t_step"
	ns "$t_op"
	ns "$t_target"
	printf -- '-,'
	ns "$t_after"
	ns ok
	printf -- '-,'
} | sha256sum | cut -d' ' -f1)
if [ "$calc" = "$t_hash" ]; then _ok "record 1's hash follows the documented canonical form"; else _no "canonical form" "computed $calc, stored $t_hash"; fi

# Export.
run gbs "$DB" audit export
expect_rc "jsonl export exits 0" 0
if [ "$(wc -l <"$T/.out")" = 5 ]; then _ok "jsonl has one line per record"; else _no "jsonl lines" "$(wc -l <"$T/.out")"; fi
expect_out "jsonl carries hashes" "\"hash\":\"$head\""
umask 022
run gbs "$DB" audit export --format csv --output "$T/audit.csv"
expect_rc "csv export exits 0" 0
if [ "$(stat -c %a "$T/audit.csv")" = 600 ]; then _ok "csv export is owner-only"; else _no "csv mode" "$(stat -c %a "$T/audit.csv")"; fi
if head -n 1 "$T/audit.csv" | grep -q '^seq,time,run_id,step,operation,target,before,after,result,prev_hash,hash'; then
	_ok "csv export has a header"
else
	_no "csv header" "$(head -n 1 "$T/audit.csv")"
fi
run_id=$(sqlite3 "$DB" "SELECT run_id FROM audit_log WHERE seq = 2")
run gbs "$DB" audit export --run "$run_id"
if [ "$(wc -l <"$T/.out")" = 1 ] && grep -q '"seq":2,' "$T/.out"; then _ok "export --run keeps one run"; else _no "export --run" "$out"; fi
run gbs "$DB" audit export --format xml
expect_rc "unknown export format is a usage error" 2

# Tampering, each on its own copy.
copy "$DB" "$T/edit.db"
sqlite3 "$T/edit.db" "UPDATE audit_log SET after = 'CHG0099 approved' WHERE seq = 3"
run gbs "$T/edit.db" audit verify
expect_rc "edited log fails" 1
expect_out "edited record is named" "record 3 (seq 3, "
expect_out "edit is called an edit" "hash mismatch: edited"

copy "$DB" "$T/delete.db"
sqlite3 "$T/delete.db" "DELETE FROM audit_log WHERE seq = 3"
run gbs "$T/delete.db" audit verify
expect_rc "log with a deleted record fails" 1
expect_out "deleted record is named" "sequence gap after 2: record 3 deleted"

copy "$DB" "$T/swap.db"
sqlite3 "$T/swap.db" "UPDATE audit_log SET seq = -1 WHERE seq = 2; UPDATE audit_log SET seq = 2 WHERE seq = 3;
	UPDATE audit_log SET seq = 3 WHERE seq = -1"
run gbs "$T/swap.db" audit verify
expect_rc "log with swapped records fails" 1
expect_out "swapped records are named" "records 2 and 3 out of order"

copy "$DB" "$T/tail.db"
sqlite3 "$T/tail.db" "DELETE FROM audit_log WHERE seq = 5"
run gbs "$T/tail.db" audit verify
expect_rc "log with a cut tail fails" 1
expect_out "cut tail is named" "record 5 deleted from the end"
run gbs "$T/tail.db" audit note "after the cut"
expect_rc "no note is appended to a cut log" 1
expect_err "the refusal says why" "run groupbridge audit verify"

# An outside copy of the head.
run gbs "$DB" audit note "CHG006 approved"
run gbs "$DB" audit verify --expect-head "$head"
expect_rc "an earlier head is still in the log" 0
run gbs "$DB" audit verify --expect-head 1111111111111111111111111111111111111111111111111111111111111111
expect_rc "an unknown head fails" 1
expect_out "an unknown head is explained" "is not in the log"
run gbs "$DB" audit verify --expect-head nothex
expect_rc "a malformed head is a usage error" 2

# Reports on the same state.
run gbs "$DB" report run
expect_rc "run report exits 0" 0
expect_out "run report is markdown" "# Run report: audit note"
expect_out "run report shows the note" "CHG006 approved"
expect_out "run report says the log is intact" "| Audit log | intact |"
run gbs "$DB" report run --output "$T/run.html"
expect_rc "html run report exits 0" 0
if [ "$(stat -c %a "$T/run.html")" = 600 ]; then _ok "report file is owner-only"; else _no "report mode" "$(stat -c %a "$T/run.html")"; fi
if grep -q '^<!DOCTYPE html>' "$T/run.html"; then _ok "--output .html means html"; else _no "html by extension" "$(head -c 80 "$T/run.html")"; fi
run gbs "$DB" report run --run "$run_id" --format json
expect_rc "json run report by id exits 0" 0
expect_out "json report has its schema version" '"schema_version": 1'
expect_out "json report is the chosen run" "$run_id"
run gbs "$DB" report run --run ffffffff
expect_rc "an unknown run fails" 1
expect_err "an unknown run is named" "no run ffffffff"
run gbs "$T/edit.db" report run --run "$(sqlite3 "$DB" "SELECT run_id FROM audit_log WHERE seq = 3")"
expect_rc "a run report on a damaged log is still written" 0
expect_out "a run report on a damaged log says so" "| Audit log | DAMAGED |"
for kind in assessment verification status; do
	run gbs "$DB" report $kind
	expect_rc "$kind report without data fails" 1
	expect_err "$kind report says there is no data" "there is no $kind data yet in state database $DB"
	expect_not "$kind report prints nothing else" "# "
done
run gbs "$DB" report plan
expect_rc "plan report without a stored plan fails" 1
expect_err "plan report says how to make one" "there is no plan in state $DB yet; run \`groupbridge provision --dry-run\` first"
expect_not "plan report prints nothing else" "# "

# A hostile note comes out inert in csv and markdown.
run gbs "$DB" audit note '=HYPERLINK("http://x") <script>alert(1)</script>, "a,b"
second line'
run gbs "$DB" report run --format csv
expect_rc "csv run report exits 0" 0
expect_out "csv neutralises the formula" "\"'=HYPERLINK(\"\"http://x\"\")"
if grep -q '^=' "$T/.out"; then _no "csv formula" "a line starts with ="; else _ok "no csv line starts with ="; fi
run gbs "$DB" report run --format md
expect_out "markdown escapes markup" '\<script\>alert(1)\</script\>'
expect_out "markdown keeps the newline inside the cell" '"a,b"\nsecond line'

finish
