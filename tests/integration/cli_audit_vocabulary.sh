#!/bin/sh
# One audit vocabulary (issue 18). The body of `make demo` (provisioning, then a whole migration from group
# writeback v2 through its nine steps) runs on the test bed; every audit record it writes uses an operation from the
# list audit.h documents, with an outcome in a field of its own, and the run report of the final `migrate run` shows
# no failure (the verify step's "0 changes planned" is the message of a step that succeeded, which the report used to
# count as a failure). The handoff records name whom they handed each group to.
. "$(dirname "$0")/lib.sh"
: "${GB_TEST_DC1_LDAPS_URI:?run under tests/testbed/with-testbed.sh}"
here=$(cd "$(dirname "$0")/.." && pwd)
demo="$T/demo"
mkdir -p "$demo"
run sh "$here/testbed/demo-run.sh" "$GB_BIN" "$demo"
expect_rc "the demo runs to its end" 0
DB="$demo/contoso.state.db"
run python3 "$here/integration/audit_vocabulary.py" "$DB"
expect_rc "every record the demo wrote uses the documented vocabulary, with an outcome" 0
expect_out "and there are records of both provisioning and the migration" "records checked, 0 do not conform"
expect "provisioning and the migration wrote records" test "$(sqlite3 "$DB" "SELECT count(DISTINCT step) FROM audit_log")" -ge 8
last=$(sqlite3 "$DB" "SELECT id FROM runs WHERE command = 'migrate run' ORDER BY started DESC, rowid DESC LIMIT 1")
run python3 "$here/integration/audit_vocabulary.py" "$DB" --run "$last" --no-failure
expect_rc "the final migrate run recorded no failure" 0
run "$GB_BIN" --config "$demo/contoso.ini" report run --run "$last" --format md
expect_rc "its run report" 0
expect_out "says it succeeded" "| Outcome | succeeded (exit 0) |"
expect_out "counts no failure" "| Failed | 0 |"
expect_not "and no object partly failed" "partly failed"
expect_out "the verify step's detail is its message" "| ok | 0 changes planned |"
handed=$(sqlite3 "$DB" "SELECT count(*) FROM migration_groups WHERE handed_over = 1")
expect "groups were handed over" test "$handed" -ge 1
expect "each hand-over has its record, which names to whom" \
	test "$(sqlite3 "$DB" "SELECT count(*) FROM audit_log WHERE operation = 'group.handoff' AND outcome = 'ok' AND after = '{\"handedTo\":\"groupbridge\"}'")" = "$handed"
expect "the handoff step's record says to whom" \
	test "$(sqlite3 "$DB" "SELECT count(*) FROM audit_log WHERE step = 'handoff' AND operation = 'step.state' AND message LIKE 'handed over to groupbridge provisioning%'")" = 1
run "$GB_BIN" --config "$demo/contoso.ini" audit verify
expect_rc "the demo's audit log verifies" 0
finish
