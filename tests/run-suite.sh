#!/bin/sh
# Runs test programs and sums their results.
#   run-suite.sh NAME PROGRAM...   runs each program (criterion binaries, or .sh scripts that end with a plain
#                                  "N passed, N failed" line), prints one line per program and a total, and
#                                  appends the total to $GB_RESULTS when it is set. Exits 1 when anything failed.
#   run-suite.sh --total FILE      sums the totals collected in FILE and prints the closing line of `make check`.
# Known failures: tests/testbed/known-failing lists suites that fail in one variant of the test bed because of a
# product defect outside the test bed (each line: VARIANT SUITE REASON). GB_TEST_VARIANT names the variant of this
# run: "windows" (the Windows personality pass) skips a suite listed for it, saying so; in every run a suite listed
# as "delegated" runs bound as Administrator (GB_TEST_BIND=admin) instead of the delegated account.
# GB_KNOWN_FAILING=ignore runs every suite as in its variant, listed or not (to check a fix).
set -u
if [ "${1:-}" = "--total" ]; then
	awk '{p += $2; f += $3} END {printf "check: %d passed, %d failed\n", p, f; exit (f > 0 || NR == 0)}' "$2"
	exit $?
fi
name=$1
shift
passed=0
failed=0
logdir=${GB_TEST_LOGS:-build/test-logs}
mkdir -p "$logdir"
known=$(dirname "$0")/testbed/known-failing
variant=${GB_TEST_VARIANT:-direct}
# known VARIANT BASE: the reason BASE is listed as failing in VARIANT, empty when it is not
known() {
	[ "${GB_KNOWN_FAILING:-}" != ignore ] && [ -f "$known" ] || return 0
	awk -v v="$1" -v b="$2" '$1 == v && $2 == b { $1 = ""; $2 = ""; sub(/^ +/, ""); print; exit }' "$known"
}
for prog in "$@"; do
	base=$(basename "$prog")
	log="$logdir/$base.log"
	bind=${GB_TEST_BIND:-}
	if [ "$variant" = windows ] && reason=$(known windows "$base") && [ -n "$reason" ]; then
		echo "skip $base: known to fail through the Windows personality: $reason"
		continue
	fi
	if reason=$(known delegated "$base") && [ -n "$reason" ]; then
		echo "note $base: bound as Administrator, known to fail under the delegated account: $reason"
		bind=admin
	fi
	case "$prog" in
	*.sh) GB_TEST_BIND=$bind sh "$prog" >"$log" 2>&1 ;;
	*) GB_TEST_BIND=$bind "$prog" --jobs=2 >"$log" 2>&1 ;;
	esac
	rc=$?
	line=$(grep -a "Synthesis: Tested:" "$log" | tail -n 1)
	if [ -n "$line" ]; then
		p=$(echo "$line" | sed -n 's/.*Passing: \([0-9]*\).*/\1/p')
		f=$(echo "$line" | sed -n 's/.*Failing: \([0-9]*\) | Crashing: \([0-9]*\).*/\1 \2/p' | awk '{print $1 + $2}')
	else
		line=$(grep -a -E "^[0-9]+ passed, [0-9]+ failed" "$log" | tail -n 1)
		p=$(echo "$line" | sed -n 's/^\([0-9]*\) passed.*/\1/p')
		f=$(echo "$line" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
	fi
	p=${p:-0}
	f=${f:-0}
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		f=1 # a crash or an error outside any test still counts as a failure
	fi
	# Criterion counts a test as passed when LeakSanitizer reports only after the test body returned: any
	# sanitizer report in the log is a failure of its own.
	san=$(grep -a -c -E "ERROR: (Leak|Address)Sanitizer|runtime error:" "$log")
	if [ "$san" != 0 ]; then
		f=$((f + san))
		echo "SANITIZER $base: $san report(s) in $log"
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$f" != 0 ]; then
		echo "FAIL $base: $p passed, $f failed (exit $rc); log $log:"
		grep -a -E "\[----\]|\[FAIL\]|not ok|FAIL|Assertion|ERROR|error" "$log" | head -n 40 | sed 's/^/    /'
	else
		echo "ok   $base: $p passed"
	fi
done
echo "$name: $passed passed, $failed failed"
[ -n "${GB_RESULTS:-}" ] && echo "$(echo "$name" | tr -c "[:alnum:]()\n" _) $passed $failed" >>"$GB_RESULTS"
[ "$failed" = 0 ]
