#!/bin/sh
# Benchmark: `groupbridge import connect-sync` on the real contoso-2016 export against the floor of parsing the same
# files with `xmllint --noout`, in the same run, interleaved, REPS times each (default 11); the medians and their
# ratio go to a JSON fragment. Target: ratio <= 1.5.
#   sh bench/import.sh [GROUPBRIDGE] [OUT.json]     (make bench passes both)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$top/build/groupbridge}
out=${2:-/dev/stdout}
reps=${REPS:-11}
sample=${GB_BENCH_EXPORT:-$top/tests/data/connect-sync/contoso-2016}
tmp=$(mktemp -d /tmp/gb-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

printf '[migration]\n' >"$tmp/gb.ini"
set -- "$sample"/Connectors/*.xml "$sample"/GlobalSettings/*.xml "$sample"/SynchronizationRules/*.xml
files=$#
bytes=$(cat "$@" | wc -c)
gb() { "$bin" --config "$tmp/gb.ini" --state "$tmp/state.db" import connect-sync "$sample" >/dev/null; }
lint() { xmllint --noout "$@"; }
now() { date +%s%N; }

# warm up: the page cache, and the state database's creation (a first import also creates the schema)
gb || { echo "bench: import failed" >&2; exit 1; }
lint "$@" || { echo "bench: xmllint failed" >&2; exit 1; }

i=0
: >"$tmp/gb.us"
: >"$tmp/lint.us"
while [ $i -lt "$reps" ]; do
	t0=$(now); gb; t1=$(now)
	echo $(((t1 - t0) / 1000)) >>"$tmp/gb.us"
	t0=$(now); lint "$@"; t1=$(now)
	echo $(((t1 - t0) / 1000)) >>"$tmp/lint.us"
	i=$((i + 1))
done
median() { sort -n "$1" | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
g=$(median "$tmp/gb.us")
l=$(median "$tmp/lint.us")
ratio=$(awk -v g="$g" -v l="$l" 'BEGIN {printf "%.3f", g / l}')
pass=$(awk -v r="$ratio" 'BEGIN {print (r <= 1.5) ? "true" : "false"}')
ms() { awk -v u="$1" 'BEGIN {printf "%.2f", u / 1000}'; }
cat >"$out" <<JSON
{"benchmark": "import-connect-sync", "export": "$sample", "files": $files, "bytes": $bytes, "repetitions": $reps,
 "groupbridge_median_ms": $(ms "$g"), "xmllint_median_ms": $(ms "$l"),
 "ratio": $ratio, "target_ratio": 1.5, "within_target": $pass,
 "command": "groupbridge --config gb.ini --state state.db import connect-sync EXPORT", "floor": "xmllint --noout EXPORT/{Connectors,GlobalSettings,SynchronizationRules}/*.xml"}
JSON
echo "bench import: groupbridge $(ms "$g") ms, xmllint $(ms "$l") ms, ratio $ratio (target 1.5)" >&2
