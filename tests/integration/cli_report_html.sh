#!/bin/sh
# The HTML report in a real browser: headless Chromium (Debian's chromium package, kept off the network) loads the
# run report the CLI wrote and the golden sample report, and the DOM it builds must hold the tables and the SVG
# charts, the hostile group name only as text (no element injected by it), and the sort buttons that the page's
# own script adds (so the inline script runs). A screenshot is taken too and must be a PNG.
. "$(dirname "$0")/lib.sh"

SRC=$(cd "$(dirname "$0")/../.." && pwd)
HOSTILE='=HYPERLINK("http://x") <script>alert(1)</script>, "Sales, EMEA"
second line'
printf '[migration]\nconnect_sync_export = %s/export\n' "$T" >"$T/gb.ini"
gbs() { "$GB_BIN" --config "$T/gb.ini" --state "$T/state.db" "$@"; }

CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
	_no "chromium is installed" "no chromium on PATH (Debian package chromium, in the Makefile's DEB_PKGS)"
	finish
	exit 1
fi
_ok "chromium is installed"

# Chromium with everything that would reach the network turned off, and a profile of its own.
browse() {
	mkdir -p "$T/profile"
	timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync --disable-extensions \
		--user-data-dir="$T/profile" "$@" 2>>"$T/chromium.log"
}

run gbs audit note "first change"
run gbs audit note "$HOSTILE"
expect_rc "a note with the hostile name is recorded" 0
run_id=$(sed -n 's/.*(run \([0-9a-f-]*\)).*/\1/p' "$T/.out")
run gbs report run --run "$run_id" --format html --output "$T/run.html"
expect_rc "html run report is written" 0

check_dom() { # NAME FILE
	name=$1
	browse --dump-dom "file://$2" >"$T/$name.dom"
	if [ -s "$T/$name.dom" ]; then _ok "$name: chromium dumped the dom"; else _no "$name: dump-dom" "empty"; fi
	if grep -q '<table class="sortable"' "$T/$name.dom"; then _ok "$name: tables are there"; else _no "$name: tables" "no table"; fi
	if grep -q '<svg' "$T/$name.dom" && grep -q '<rect' "$T/$name.dom"; then
		_ok "$name: svg charts with bars are there"
	else
		_no "$name: svg charts" "no svg or no rect"
	fi
	n=$(grep -o '<script' "$T/$name.dom" | wc -l)
	if [ "$n" = 1 ]; then _ok "$name: the page's own script is the only script element"; else _no "$name: scripts" "$n script elements"; fi
	if grep -q '<script>alert' "$T/$name.dom"; then _no "$name: hostile name" "became markup"; else _ok "$name: no injected element"; fi
	# (long text cells carry <wbr> line-break hints after "/" and ",": not text, so leave them out here)
	if sed 's/<wbr>//g' "$T/$name.dom" | grep -qF '&lt;script&gt;alert(1)&lt;/script&gt;, "Sales, EMEA"'; then
		_ok "$name: the hostile name is text"
	else
		_no "$name: hostile text" "not found as text"
	fi
	if grep -q '<button type="button">' "$T/$name.dom"; then _ok "$name: the sort script ran"; else _no "$name: sort" "no sort buttons"; fi
	if grep -qE '(src|href)="(https?:)?//' "$T/$name.dom"; then _no "$name: offline" "an external reference"; else _ok "$name: nothing external"; fi
}

check_dom run "$T/run.html"
if grep -q 'aria-label="Changes by kind"' "$T/run.dom" && grep -q 'aria-label="Steps of the run"' "$T/run.dom"; then
	_ok "run: changes-by-kind and step timeline charts"
else
	_no "run: charts" "missing a chart"
fi
cp "$SRC/tests/data/golden/report/sample.html" "$T/sample.html"
check_dom sample "$T/sample.html"
if grep -q 'skipped: synced nested group' "$T/sample.dom"; then _ok "sample: member outcomes legend"; else _no "sample: legend" "missing"; fi

browse --window-size=1280,2400 --screenshot="$T/run.png" "file://$T/run.html" >/dev/null
if [ "$(head -c 4 "$T/run.png" 2>/dev/null | od -An -c | tr -d ' \n')" = '211PNG' ]; then
	_ok "screenshot is a png"
else
	_no "screenshot" "$(ls -l "$T/run.png" 2>&1)"
fi
if [ -n "${GB_KEEP_SCREENSHOT:-}" ]; then cp "$T/run.png" "$GB_KEEP_SCREENSHOT"; fi

finish
