#!/bin/sh
# `make demo`: a throwaway AD domain controller and a Graph fake with a demo tenant, and groupbridge run against
# them for real: configuration check, the Connect Sync export import, a provisioning plan, a provisioning pass, a
# second pass that changes nothing, a membership change, the audit log check, and reports. The servers are always
# stopped at the end; the reports are kept in build/demo/.
#   demo.sh PATH-TO-GROUPBRIDGE
set -u
bin=$1
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out="$repo/build/demo"
rm -rf "$out"
mkdir -p "$out"
started=$(date +%s)

fail() {
	echo "demo: $*" >&2
	exit 1
}

export GB_TESTBED_PARTS=dc1
sh "$here/with-testbed.sh" sh "$here/demo-run.sh" "$bin" "$out" || fail "the demo stopped at an error (see above)"
echo
echo "demo finished in $(($(date +%s) - started)) s; the servers are stopped; the reports are in $out"
