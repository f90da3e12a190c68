#!/bin/sh
# Integration tests as data: every directory under tests/data/scenarios/ is one scenario, run here against DC1 and a
# Graph fake of its own (the format is in tests/data/scenarios/README.md). GB_SCENARIOS="a b" runs only those;
# GB_UPDATE_GOLDEN=1 writes the golden plans (tests/data/golden/plan/) instead of comparing them.
. "$(dirname "$0")/lib_ad.sh"
SCEN=$here/data/scenarios
GOLDEN=$here/data/golden/plan

# the placeholder map of the scenario in $S: the OU, the base DN, and every fixture object's GUID and SID
make_map() {
	{
		printf '@OU@\t%s\n@BASE@\t%s\n@TAG@\t%s\n@RUN@\t%s\n' "$OU" "$GB_TEST_DC1_BASE_DN" "$TAG" "$RUN"
		ldap_on DC1 ldapsearch -LLL -b "$OU" "(|(objectClass=user)(objectClass=group))" cn objectGUID objectSid |
			$GBTEST objects
	} >"$W/map"
}
subst() { $GBTEST subst "$W/map" <"$1"; }

# plan NAME: the last run's stdout, placeholders put back, against the golden plan NAME
plan() {
	# a derived sAMAccountName ends in a hash of the object id, which holds the run's prefix
	$GBTEST subst "$W/map" --reverse <"$T/.out" |
		sed 's/^\(      sAMAccountName: (none) -> .*_\)[0-9a-f]\{8\}$/\1@SAMHASH@/' >"$W/plan.$1"
	if [ -n "${GB_UPDATE_GOLDEN:-}" ]; then
		cp "$W/plan.$1" "$GOLDEN/$1.txt"
		_ok "$name: golden plan $1 written"
	elif diff -u "$GOLDEN/$1.txt" "$W/plan.$1" >"$W/plan.diff" 2>&1; then
		_ok "$name: the plan is golden plan $1"
	else
		_no "$name: the plan differs from golden plan $1" "$(head -c 1500 "$W/plan.diff")"
	fi
}

# member_cns CN: the cns of the members of group CN below OU=Groups, sorted, space-separated
member_cns() {
	ldap_on DC1 ldapsearch -LLL -o ldif-wrap=no -b "OU=Groups,$OU" "(cn=$1)" member 2>/dev/null |
		sed -n 's/^member: CN=\([^,]*\),.*/\1/p' | sort | tr '\n' ' ' | sed 's/ $//'
}

# step LINE: one line of a steps file
step() {
	_verb=${1%% *}
	_arg=${1#"$_verb"}
	_arg=${_arg# }
	case $_verb in
	run) run $GB $_arg </dev/null ;;
	rc) expect_rc "$name: $what: exit $_arg" "$_arg" ;;
	out) expect_out "$name: $what: stdout has \"$_arg\"" "$(echo "$_arg" | subst /dev/stdin)" ;;
	err) expect_err "$name: $what: stderr has \"$_arg\"" "$(echo "$_arg" | subst /dev/stdin)" ;;
	not) expect_not "$name: $what: no \"$_arg\"" "$(echo "$_arg" | subst /dev/stdin)" ;;
	plan) plan "$_arg" ;;
	mutate) fake_mutate "$(echo "$_arg" | subst /dev/stdin)" ;;
	ldif) subst "$S/$_arg" | ldap_on DC1 ldapmodify >"$W/ldif.out" 2>&1 ||
		_no "$name: $what: applying $_arg" "$(cat "$W/ldif.out")" ;;
	protect) ad_protect DC1 "$(echo "$_arg" | subst /dev/stdin)" ;;
	groups) expect "$name: $what: $_arg groups" test "$(groups_in_ad)" = "$_arg" ;;
	anchors) expect "$name: $what: $_arg distinct anchors" test "$(anchors_in_ad)" = "$_arg" ;;
	members)
		_cn=${_arg%%:*}
		_want=$(echo "${_arg#*:}" | sed 's/^ *//')
		_got=$(member_cns "$_cn")
		expect "$name: $what: $_cn holds [$_want] (holds [$_got])" test "$_got" = "$_want"
		;;
	exists) expect "$name: $what: $_arg exists" test -n "$(ldap_on DC1 ldapsearch -LLL -b "$(echo "$_arg" | subst /dev/stdin)" \
		-s base 1.1 2>/dev/null)" ;;
	absent) expect "$name: $what: $_arg is gone" test -z "$(ldap_on DC1 ldapsearch -LLL -b "$(echo "$_arg" | subst /dev/stdin)" \
		-s base 1.1 2>/dev/null)" ;;
	*) _no "$name: $what" "unknown step \"$_verb\" in $S/steps" ;;
	esac
}

scenario() {
	name=$1
	S=$SCEN/$name
	W=$T/$name
	TAG=$$
	RUN=$(printf '5c%06x' $(($$ % 16777216)))
	mkdir -p "$W"
	OU="OU=gbsc-$name-$$,$GB_TEST_DC1_BASE_DN"
	GB_DB=$W/gb.db
	ad_ou DC1 "$OU"
	printf '@OU@\t%s\n@BASE@\t%s\n@TAG@\t%s\n@RUN@\t%s\n' "$OU" "$GB_TEST_DC1_BASE_DN" "$TAG" "$RUN" >"$W/map"
	if [ -f "$S/ad.ldif" ] && ! subst "$S/ad.ldif" | ldap_on DC1 ldapadd >"$W/ad.out" 2>&1; then
		_no "$name: the AD fixture loads" "$(cat "$W/ad.out")"
		return
	fi
	make_map
	subst "$S/tenant.json" >"$W/tenant.json" || { _no "$name: the tenant" "placeholders"; return; }
	fake_start "$W/tenant.json"
	subst "$S/gb.ini" >"$W/ini.lines"
	gb_config "$W/gb.ini" DC1 "$OU"
	cat "$W/ini.lines" >>"$W/gb.ini"
	GB="$GB_BIN --config $W/gb.ini --state $GB_DB"
	what="setup"
	while IFS= read -r line <&3 || [ -n "$line" ]; do
		case $line in
		'') ;;
		'# '*) what=${line#'# '} ;;
		'#'*) ;;
		*) step "$line" ;;
		esac
	done 3<"$S/steps"
	sh "$here/testbed/graph-fake.sh" stop "$T/fake"
}

for d in ${GB_SCENARIOS:-$(ls "$SCEN")}; do
	[ -f "$SCEN/$d/steps" ] || continue
	echo "--- scenario $d"
	scenario "$d"
done
finish
