#!/bin/sh
# The man pages and the bash completion say what the program does (issue 15): man/check-man.py compares the
# commands, subcommands, options, exit codes and configuration keys of groupbridge(8), groupbridge.ini(5) and the
# completion with the program's own --help and src/core/config.c; the pages render without a warning; the shipped
# example configuration is a valid configuration.
. "$(dirname "$0")/lib.sh"
src=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3

/usr/bin/python3 "$src/man/check-man.py" "$GB_BIN" "$src/man/groupbridge.8.in" "$src/man/groupbridge.ini.5.in" \
	"$src/src/core/config.c" "$src/dist/groupbridge.bash-completion" >"$T/check.out" 2>&1
cat "$T/check.out" | grep -v "passed, .* failed$"
n_ok=$(grep -c "^ok " "$T/check.out")
n_fail=$(grep -c "^FAIL " "$T/check.out")
_passed=$((_passed + n_ok))
_failed=$((_failed + n_fail))
expect "check-man.py ran its checks" test "$n_ok" -gt 20

for page in groupbridge.8 groupbridge.ini.5; do
	sed 's/@VERSION@/test/' "$src/man/$page.in" >"$T/$page"
	# what lintian runs on a package's man pages
	LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$T/$page" >/dev/null 2>"$T/$page.warn"
	expect "$page renders without a warning" test ! -s "$T/$page.warn"
	[ -s "$T/$page.warn" ] && head -n 5 "$T/$page.warn"
done
MANWIDTH=80 man -l "$T/groupbridge.8" >"$T/man8.txt" 2>/dev/null
expect "groupbridge(8) names the template unit" grep -q "groupbridge@FOREST.service" "$T/man8.txt"

# the example configuration: valid, with its credentials where systemd would put them
mkdir -m 700 "$T/creds"
printf 'graph-secret\n' >"$T/creds/graph.secret"
printf 'bind-password\n' >"$T/creds/bind.secret"
chmod 400 "$T/creds/graph.secret" "$T/creds/bind.secret"
printf '00000000-0000-0000-0000-000000000001\n' >"$T/groups.txt"
sed "s|/etc/groupbridge/contoso-groups.txt|$T/groups.txt|" "$src/dist/groupbridge.ini.example" >"$T/contoso.ini"
run env CREDENTIALS_DIRECTORY="$T/creds" "$GB_BIN" --config "$T/contoso.ini" config check --offline
expect_rc "the example configuration passes config check --offline with its credentials" 0
expect_out "its secret is read as the credential" "client secret from file credential:graph.secret"
expect_not "no secret is printed" "graph-secret"
run env -u CREDENTIALS_DIRECTORY "$GB_BIN" --config "$T/contoso.ini" config check --offline
expect_rc "outside the service, the credential cannot be read" 1
expect_out "config check says why" "credential:graph.secret: \$CREDENTIALS_DIRECTORY is not set"
finish
