#!/bin/sh
# Kerberos binds (issue 16): groupbridge binds with SASL/GSSAPI as the delegated account's principal from a keytab
# (no password on the host), against the test bed's Samba KDC: `config check` and a provisioning pass (then a second
# pass that changes nothing) over LDAPS and over StartTLS, the operator's own credential cache left alone, and clear
# errors naming principal and keytab for a principal the keytab does not hold and a keytab readable by others. The DC refuses SASL sign or seal inside TLS, as Windows does, so the bind only
# works because groupbridge asks for no SASL security layer over TLS (maxssf=0).
. "$(dirname "$0")/lib_ad.sh"
if [ -z "${GB_TEST_DC1_GB_KEYTAB:-}" ] || [ ! -f "$GB_TEST_DC1_GB_KEYTAB" ] || [ ! -f "${GB_TEST_DC1_KRB5_CONFIG:-}" ]; then
	echo "skip: the test bed has no KDC setup (GB_TEST_DC1_GB_KEYTAB, GB_TEST_DC1_KRB5_CONFIG); samba-dc.sh too old"
	finish
	exit
fi
export KRB5_CONFIG="$GB_TEST_DC1_KRB5_CONFIG"
# under make sanitize: a leak inside Cyrus SASL's GSSAPI plugin is not ours (tests/testbed/lsan-gssapi.supp); the
# plugin and libgssapi have no frame pointers, so only the slow unwinder sees that the plugin made the allocation
export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$here/testbed/lsan-gssapi.supp"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0"
# the operator's own cache: groupbridge must neither read nor create it
export KRB5CCNAME="FILE:$T/operator.ccache"
BASE=$GB_TEST_DC1_BASE_DN
OU="OU=gbkrb-$$,$BASE"
cp "$GB_TEST_DC1_GB_KEYTAB" "$T/svc.keytab"
chmod 600 "$T/svc.keytab"
kerberos_ini() { # FILE [gb_ini options]: the test's configuration, bound with Kerberos from $T/svc.keytab
	_f=$1
	shift
	gb_ini --kerberos "$@" "$_f" DC1 "[provisioning]" "target_container = OU=Groups,$OU" \
		"groups_file = $T/tenant.json.groups"
	sed -i "s|^keytab = .*|keytab = $T/svc.keytab|" "$_f"
}

# --- the forest and the tenant ---
ad_ou DC1 "$OU"
eval "$(ad_users DC1 "$OU" kalice-$$ kbob-$$)"
eval "alice=\${kalice_$$:-} bob=\${kbob_$$:-}"
expect "two users have GUIDs" test -n "${alice:-}" -a -n "${bob:-}"
tenant_new "$T/tenant.json"
tenant_user "$T/tenant.json" u-alice "$alice" displayName=Alice onPremisesSyncEnabled:=true
tenant_user "$T/tenant.json" u-bob "$bob" displayName=Bob onPremisesSyncEnabled:=true
# a cloud id of this run's own: an anchor seen twice in one forest blocks a match
tenant_group "$T/tenant.json" "$(printf '%08x-4b4b-4111-8111-%012d' $$ $$)" KrbSales members=u-alice,u-bob
fake_start "$T/tenant.json"
kerberos_ini "$T/gb.ini"
GB="$GB_BIN --config $T/gb.ini --state $GB_DB"

# --- config check: the keytab instead of a password, the bind as the principal ---
expect "the configuration holds no password key" sh -c "! grep -q '^bind_' '$T/gb.ini' || grep -q '^bind_method = gssapi' '$T/gb.ini'"
run $GB config check
expect_rc "config check passes with a kerberos bind" 0
expect_out "the keytab is checked" "secrets  pass  keytab $T/svc.keytab for $GB_TEST_DC1_GB_PRINCIPAL"
expect_out "the ldap probe binds as the principal" "bound as $GB_TEST_DC1_GB_PRINCIPAL (kerberos, sasl/gssapi)"
expect_out "the schema probe passes" "schema   pass"
expect "the operator's credential cache was not created" test ! -e "$T/operator.ccache"

# --- a provisioning pass bound with Kerberos, then one that changes nothing ---
run $GB provision
expect_rc "provision bound with kerberos exits 0" 0
expect "the group is in AD" test "$(groups_in_ad)" = 1
expect "with both members" test "$(members_in_ad)" = 2
run $GB provision --full
expect_rc "the second pass exits 0" 0
expect_out "the second pass applies nothing" "0 operations applied"
expect "still one group" test "$(groups_in_ad)" = 1
expect "the operator's credential cache is still absent" test ! -e "$T/operator.ccache"

# --- StartTLS: the same bind inside StartTLS ---
kerberos_ini "$T/starttls.ini" --starttls
run "$GB_BIN" --config "$T/starttls.ini" --state "$T/starttls.db" config check
expect_rc "config check passes with kerberos over StartTLS" 0
expect_out "StartTLS bound as the principal" "(starttls, ca $GB_TEST_CA_DIR/ca.pem) bound as $GB_TEST_DC1_GB_PRINCIPAL"

# --- channel binding: the bind hands Kerberos the TLS channel's tls-server-end-point binding (RFC 5929: the
# prefix and a SHA-256 hash of the DC's certificate, 21 + 32 bytes), what a Windows DC with LdapEnforceChannelBinding
# checks; Samba does not check it, so a shim around gss_init_sec_context (gss_shim.c) records what was handed over ---
if cc -shared -fPIC -o "$T/gss_shim.so" "$here/integration/gss_shim.c" $(pkg-config --cflags --libs krb5-gssapi) -ldl \
	2>"$T/shim.err"; then
	for cfg in gb.ini starttls.ini; do
		rm -f "$T/gss.log"
		# ASan (make sanitize) insists on coming first among the preloaded libraries; the shim only wraps one call
		run env GB_GSS_SHIM_LOG="$T/gss.log" LD_PRELOAD="$T/gss_shim.so" \
			ASAN_OPTIONS="$ASAN_OPTIONS:verify_asan_link_order=0" \
			"$GB_BIN" --config "$T/$cfg" --state "$T/cb.db" config check
		expect_rc "config check under the shim passes ($cfg)" 0
		expect "the bind sent the tls-server-end-point channel binding ($cfg)" \
			grep -qx 'channel-bindings tls-server-end-point 53' "$T/gss.log"
		expect "and never none ($cfg)" sh -c "! grep -q 'channel-bindings none' '$T/gss.log'"
	done
else
	expect "the gssapi shim builds" false
	cat "$T/shim.err"
fi

# --- errors name the principal and the keytab, never a key ---
sed "s|^principal = .*|principal = nobody-$$@$GB_TEST_DC1_REALM|" "$T/gb.ini" >"$T/nobody.ini"
run "$GB_BIN" --config "$T/nobody.ini" --state "$T/nobody.db" config check
expect_rc "a principal the keytab does not hold fails" 1
expect_out "the ldap probe fails" "ldap     FAIL"
expect_out "naming the principal and the keytab" "kerberos login as nobody-$$@$GB_TEST_DC1_REALM with keytab $T/svc.keytab"

chmod 644 "$T/svc.keytab"
run $GB config check
expect_rc "a keytab readable by others fails" 1
expect_out "the secrets check names it" "keytab $T/svc.keytab is accessible by group or others (mode 644)"
chmod 600 "$T/svc.keytab"

finish
