#!/bin/sh
# The command line's contract: help that teaches, exit codes scripts can trust, config check's messages.
. "$(dirname "$0")/lib.sh"

run "$GB_BIN" --help
expect_rc "help exits 0" 0
expect_out "help lists config" "config "
expect_out "help documents exit code 4" "4  stopped by a safety gate"

run "$GB_BIN"
expect_rc "no command is a usage error" 2

run "$GB_BIN" frobnicate
expect_rc "unknown command is a usage error" 2
expect_err "unknown command is named" 'unknown command "frobnicate"'

run "$GB_BIN" --log-format xml version
expect_rc "bad log format is a usage error" 2

# --max-backoff bounds the waits of --watch: without --watch it is refused, whatever its value (3600 is the default's
# value, which the check once mistook for "not given"), before any configuration is read.
for v in 60 3600; do
	run "$GB_BIN" provision --max-backoff "$v"
	expect_rc "provision --max-backoff $v without --watch is a usage error" 2
	expect_err "the error says --max-backoff needs --watch ($v)" "--max-backoff goes with --watch"
done
run "$GB_BIN" provision --dry-run --max-backoff 3600
expect_rc "with --dry-run too" 2

# status --max-age: a bare number is seconds only on its own; after a unit it is ambiguous and refused. A state
# database that does not exist yet has no success: stale, exit 1.
run "$GB_BIN" --state "$T/none.db" status --max-age 5m3
expect_rc "status --max-age 5m3 is a usage error" 2
expect_err "the error names the duration" 'not "5m3"'
run "$GB_BIN" --state "$T/none.db" status --max-age 1d12h
expect_rc "no pass recorded is stale under --max-age" 1
expect_out "the health line states the age it asked for" "health: STALE (a successful pass within 1 d 12 h)"
run "$GB_BIN" --state "$T/none.db" status --max-age 90
expect_rc "a bare number of seconds is fine" 1

run "$GB_BIN" version
expect_rc "version exits 0" 0
expect_out "version names libraries" "libcurl"

run "$GB_BIN" config --help
expect_rc "config help exits 0" 0
expect_out "config help explains probes" "msDS-ExternalDirectoryObjectId"

# An unknown key: exit 2 and FILE:LINE.
printf '[migration]\nconnect_sync_export = /x\nwriteback_oo = OU=x\n' >"$T/typo.ini"
run "$GB_BIN" --config "$T/typo.ini" config check --offline
expect_rc "unknown key exits 2" 2
expect_out "unknown key names file and line" "$T/typo.ini:3: unknown key writeback_oo in [migration]"

# A missing configuration file.
run "$GB_BIN" --config "$T/absent.ini" config check --offline
expect_rc "missing file exits 2" 2
expect_out "missing file is named" "$T/absent.ini"

# A world-readable secret file is refused, and its content never printed.
printf 'Very-Secret-Pw-1\n' >"$T/pw"
chmod 644 "$T/pw"
cat >"$T/gb.ini" <<INI
[directory]
uri = ldaps://127.0.0.1
bind_dn = CN=Administrator,CN=Users,DC=test,DC=example
bind_password_file = $T/pw
base_dn = DC=test,DC=example
INI
run "$GB_BIN" --config "$T/gb.ini" config check --offline
expect_rc "readable secret file fails" 1
expect_out "readable secret file is explained" "accessible by group or others"
expect_not "secret is never printed" "Very-Secret-Pw-1"
chmod 600 "$T/pw"
run "$GB_BIN" --config "$T/gb.ini" config check --offline
expect_rc "private secret file passes offline" 0
expect_out "secret source is named, not its value" "bind password from file $T/pw"
expect_not "secret is never printed (pass)" "Very-Secret-Pw-1"

finish
