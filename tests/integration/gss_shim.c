/* gss_shim.c: an LD_PRELOAD shim for cli_kerberos.sh (built by that test with cc, never linked into a program).
 *
 * It wraps GSSAPI's gss_init_sec_context, which Cyrus SASL's GSSAPI plugin calls for a bind, and appends one line per
 * call to the file $GB_GSS_SHIM_LOG saying whether channel bindings were handed to Kerberos and which kind: the only
 * way to see, on a DC that does not check them (Samba), that groupbridge's bind carries the TLS channel binding
 * Windows checks (LdapEnforceChannelBinding). It records the binding's type prefix and length, never its bytes.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <gssapi/gssapi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef OM_uint32 (*init_fn)(OM_uint32 *, gss_cred_id_t, gss_ctx_id_t *, gss_name_t, gss_OID, OM_uint32, OM_uint32,
			     gss_channel_bindings_t, gss_buffer_t, gss_OID *, gss_buffer_t, OM_uint32 *, OM_uint32 *);

OM_uint32 gss_init_sec_context(OM_uint32 *minor, gss_cred_id_t cred, gss_ctx_id_t *ctx, gss_name_t target,
			       gss_OID mech, OM_uint32 flags, OM_uint32 time_req, gss_channel_bindings_t cb,
			       gss_buffer_t input, gss_OID *actual_mech, gss_buffer_t output, OM_uint32 *ret_flags,
			       OM_uint32 *time_rec)
{
	init_fn real = (init_fn)dlsym(RTLD_NEXT, "gss_init_sec_context");
	const char *path = getenv("GB_GSS_SHIM_LOG");
	FILE *f = path ? fopen(path, "a") : NULL;

	if (f) {
		if (cb == GSS_C_NO_CHANNEL_BINDINGS || !cb->application_data.length) {
			fputs("channel-bindings none\n", f);
		} else {
			const char *v = cb->application_data.value, *colon = memchr(v, ':', cb->application_data.length);

			fprintf(f, "channel-bindings %.*s %zu\n", colon ? (int)(colon - v) : 0, v,
				(size_t)cb->application_data.length);
		}
		fclose(f);
	}
	if (!real)
		return GSS_S_FAILURE;
	return real(minor, cred, ctx, target, mech, flags, time_req, cb, input, actual_mech, output, ret_flags, time_rec);
}
