#!/bin/sh
# Runs test programs and sums their results.
#   run-suite.sh NAME PROGRAM...   runs each program (criterion binaries, or .sh scripts that end with a plain
#                                  "N passed, N failed" line), prints one line per program and a total, and
#                                  appends the total to $GB_RESULTS when it is set. Exits 1 when anything failed.
#   run-suite.sh --total FILE      sums the totals collected in FILE and prints the closing line of `make check`.
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
for prog in "$@"; do
	base=$(basename "$prog")
	log="$logdir/$base.log"
	case "$prog" in
	*.sh) sh "$prog" >"$log" 2>&1 ;;
	*) "$prog" --jobs=2 >"$log" 2>&1 ;;
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
