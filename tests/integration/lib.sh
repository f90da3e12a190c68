# Shared helpers for the shell integration tests (tests/integration/cli_*.sh). Source it, call `expect_*`, and end
# with `finish`, which prints the plain "N passed, N failed" line that tests/run-suite.sh reads.
#   run CMD...                  runs CMD, keeping its exit code in $rc, stdout in $out, stderr in $errout
#   expect_rc NAME N            the last run exited with N
#   expect_out NAME TEXT        the last run's stdout contains TEXT (fixed string)
#   expect_err NAME TEXT        the last run's stderr contains TEXT
#   expect_not NAME TEXT        neither stdout nor stderr contains TEXT
#   expect NAME CMD...          CMD succeeds
#   expect_report KIND [NAME TEXT]...
#                               `$GB report KIND` in Markdown exits 0 with each TEXT on stdout, and as HTML into
#                               $T/KIND.html exits 0
_gb_lib_sh=1
GB_BIN=${GB_BIN:-$(pwd)/build/groupbridge}
_passed=0
_failed=0
T=$(mktemp -d "${GB_TEST_TMP:-/tmp}/cli.XXXXXX")
trap 'rm -rf "$T"' EXIT

run() {
	"$@" >"$T/.out" 2>"$T/.err"
	rc=$?
	out=$(cat "$T/.out")
	errout=$(cat "$T/.err")
}
_ok() { _passed=$((_passed + 1)); echo "ok   $1"; }
_no() {
	_failed=$((_failed + 1))
	echo "FAIL $1: $2"
	echo "     stdout: $(head -c 600 "$T/.out")"
	echo "     stderr: $(head -c 600 "$T/.err")"
}
expect_rc() { if [ "$rc" = "$2" ]; then _ok "$1"; else _no "$1" "exit $rc, expected $2"; fi; }
expect_out() { if grep -qF -- "$2" "$T/.out"; then _ok "$1"; else _no "$1" "stdout lacks: $2"; fi; }
expect_err() { if grep -qF -- "$2" "$T/.err"; then _ok "$1"; else _no "$1" "stderr lacks: $2"; fi; }
expect_not() {
	if grep -qF -- "$2" "$T/.out" "$T/.err"; then _no "$1" "output contains: $2"; else _ok "$1"; fi
}
expect() {
	_name=$1
	shift
	if "$@"; then _ok "$_name"; else _no "$_name" "command failed: $*"; fi
}
expect_report() {
	_kind=$1
	shift
	run $GB report "$_kind" --format md
	expect_rc "the $_kind report in Markdown exits 0" 0
	while [ $# -ge 2 ]; do
		expect_out "$1" "$2"
		shift 2
	done
	run $GB report "$_kind" --output "$T/$_kind.html"
	expect_rc "the $_kind report as HTML exits 0" 0
}
finish() {
	echo "$_passed passed, $_failed failed"
	[ "$_failed" = 0 ]
}
