# The one writer of groupbridge configurations for the test bed: the shell tests (through gb_config in
# tests/integration/lib_ad.sh), the scenario runner, the demo (demo-run.sh) and the benchmarks (bench/provision.sh)
# source this file and call gb_ini.
#
# gb_ini [OPTION...] FILE DC [LINE...]
#   writes FILE (mode 0600): [graph] for the running Graph fake (GB_TEST_GRAPH_* from its env file), [directory]
#   for DC (DC1, DC2, DCR, ...), then every LINE as it is ("[provisioning]" starts a section). The [directory]
#   section names what groupbridge is to use: GB_TEST_<DC>_GB_LDAPS_URI (the DC, or the Windows personality proxy in
#   front of it), GB_TEST_<DC>_GB_BIND_DN and GB_TEST_<DC>_GB_PASSWORD_FILE (the delegated account), falling back to
#   the DC's own URI and Administrator when a test bed predates them. DC "-" writes no [directory] section.
#   Options:
#     --admin               bind as the DC's Administrator instead of the delegated account (the URI stays the one
#                           groupbridge is given: the DC, or the proxy in front of it);
#                           GB_TEST_BIND=admin in the environment does the same for every configuration (how
#                           run-suite.sh runs a suite listed as known to fail under the delegated account)
#     --starttls            ldap:// with start_tls = yes instead of ldaps://
#     --password-file F     the bind password from F instead of the account's file
#     --secret-file F       the Graph client secret from F instead of the fake's
#     --no-ca               no ca_file line in [directory] (tests of an unknown certificate authority)
#     --no-graph            no [graph] section
#     --kerberos            bind with bind_method = gssapi as the delegated account's principal, with the keys of
#                           GB_TEST_<DC>_GB_KEYTAB (the test bed's KDC; groupbridge needs KRB5_CONFIG set to
#                           GB_TEST_<DC>_KRB5_CONFIG in its environment)
gb_ini() {
	_gi_admin="" _gi_starttls="" _gi_pw="" _gi_secret="" _gi_ca=yes _gi_graph=yes _gi_krb5=""
	[ "${GB_TEST_BIND:-}" != admin ] || _gi_admin=yes
	while :; do
		case ${1:-} in
		--admin) _gi_admin=yes ;;
		--starttls) _gi_starttls=yes ;;
		--password-file) _gi_pw=$2; shift ;;
		--secret-file) _gi_secret=$2; shift ;;
		--no-ca) _gi_ca="" ;;
		--no-graph) _gi_graph="" ;;
		--kerberos) _gi_krb5=yes ;;
		*) break ;;
		esac
		shift
	done
	_gi_file=$1
	_gi_dc=$2
	shift 2
	(
		umask 077
		if [ -n "$_gi_graph" ]; then
			printf '[graph]\ntenant_id = %s\nclient_id = %s\nclient_secret_file = %s\nauthority_url = %s\n' \
				"$GB_TEST_GRAPH_TENANT_ID" "$GB_TEST_GRAPH_CLIENT_ID" "${_gi_secret:-$GB_TEST_GRAPH_SECRET_FILE}" \
				"$GB_TEST_AUTHORITY_URL"
			printf 'graph_url = %s\nca_file = %s\n\n' "$GB_TEST_GRAPH_URL" "$GB_TEST_CA_DIR/ca.pem"
		fi
		if [ "$_gi_dc" != - ]; then
			_gi_directory "$_gi_dc"
		fi
		for _gi_line in "$@"; do
			printf '%s\n' "$_gi_line"
		done
	) >"$_gi_file"
}

# the [directory] section for DC (see gb_ini)
_gi_directory() {
	eval "_gi_base=\$GB_TEST_${1}_BASE_DN"
	eval "_gi_ldaps=\${GB_TEST_${1}_GB_LDAPS_URI:-\$GB_TEST_${1}_LDAPS_URI}"
	eval "_gi_ldap=\${GB_TEST_${1}_GB_LDAP_URI:-\$GB_TEST_${1}_LDAP_URI}"
	if [ -n "$_gi_admin" ]; then
		eval "_gi_dn=\$GB_TEST_${1}_BIND_DN _gi_file_pw=\$GB_TEST_${1}_BIND_PASSWORD_FILE"
	else
		eval "_gi_dn=\${GB_TEST_${1}_GB_BIND_DN:-\$GB_TEST_${1}_BIND_DN}"
		eval "_gi_file_pw=\${GB_TEST_${1}_GB_PASSWORD_FILE:-\$GB_TEST_${1}_BIND_PASSWORD_FILE}"
	fi
	if [ -n "$_gi_starttls" ]; then
		printf '[directory]\nuri = %s\nstart_tls = yes\n' "$_gi_ldap"
	else
		printf '[directory]\nuri = %s\n' "$_gi_ldaps"
	fi
	if [ -n "$_gi_krb5" ]; then
		eval "_gi_keytab=\$GB_TEST_${1}_GB_KEYTAB _gi_principal=\$GB_TEST_${1}_GB_PRINCIPAL"
		printf 'bind_method = gssapi\nkeytab = %s\nprincipal = %s\nbase_dn = %s\n' "$_gi_keytab" "$_gi_principal" \
			"$_gi_base"
	else
		printf 'bind_dn = %s\nbind_password_file = %s\nbase_dn = %s\n' "$_gi_dn" "${_gi_pw:-$_gi_file_pw}" \
			"$_gi_base"
	fi
	[ -z "$_gi_ca" ] || printf 'ca_file = %s\n' "$GB_TEST_CA_DIR/ca.pem"
	printf '\n'
}
