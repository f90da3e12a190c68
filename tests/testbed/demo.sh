#!/bin/sh
# `make demo`: a throwaway AD domain controller and a Graph fake with a demo tenant, and groupbridge run against
# them for real: configuration check, the Connect Sync export import, a provisioning plan, a provisioning pass, a
# second pass that changes nothing, a membership change, the audit log check, and reports. The servers are always
# stopped at the end; the reports are kept in build/demo/.
#   demo.sh PATH-TO-GROUPBRIDGE
# GB_VALGRIND=1 runs every groupbridge call under valgrind (memcheck; a definite leak or any memory error makes
# that call exit 99 and so stops the demo) with one log per call in OUT/valgrind/; GB_DEMO_OUT=DIR puts the
# reports (and those logs) in DIR instead of build/demo.
set -u
bin=$1
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${GB_DEMO_OUT:-$repo/build/demo}
rm -rf "$out"
mkdir -p "$out"
started=$(date +%s)
if [ -n "${GB_VALGRIND:-}" ]; then
	command -v valgrind >/dev/null || { echo "demo: GB_VALGRIND needs valgrind" >&2; exit 1; }
	mkdir -p "$out/valgrind"
	cat >"$out/valgrind/groupbridge" <<EOF
#!/bin/sh
exec valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 \\
	--log-file="$out/valgrind/call.%p.log" "$bin" "\$@"
EOF
	chmod +x "$out/valgrind/groupbridge"
	bin="$out/valgrind/groupbridge"
fi

fail() {
	echo "demo: $*" >&2
	exit 1
}

export GB_TESTBED_PARTS=dc1
sh "$here/with-testbed.sh" sh "$here/demo-run.sh" "$bin" "$out" || fail "the demo stopped at an error (see above)"
echo
if [ -n "${GB_VALGRIND:-}" ]; then
	calls=$(ls "$out/valgrind"/call.*.log 2>/dev/null | wc -l)
	summaries=$(cat "$out/valgrind"/call.*.log 2>/dev/null | grep -c 'ERROR SUMMARY:' || true)
	lost=$(cat "$out/valgrind"/call.*.log 2>/dev/null | grep -c 'definitely lost: [1-9]' || true)
	errors=$(cat "$out/valgrind"/call.*.log 2>/dev/null | grep -c 'ERROR SUMMARY: [1-9]' || true)
	echo "valgrind: $calls groupbridge calls, $summaries summaries, $lost with definite leaks, $errors with errors" \
		"(logs in $out/valgrind)"
	[ "$calls" -gt 0 ] && [ "$summaries" = "$calls" ] || fail "valgrind did not report on every call"
	[ "$lost" = 0 ] && [ "$errors" = 0 ] || fail "valgrind found definite leaks or memory errors"
fi
echo "demo finished in $(($(date +%s) - started)) s; the servers are stopped; the reports are in $out"
