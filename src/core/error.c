/* error.c: error codes, messages, and their mapping to exit codes. */
#include "groupbridge/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int gb_error_set(gb_error *err, int code, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		err->code = code;
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return code;
}

int gb_error_prefix(gb_error *err, const char *fmt, ...)
{
	char head[GB_ERROR_MSG_MAX];
	char old[GB_ERROR_MSG_MAX];
	va_list ap;

	if (!err)
		return GB_ERROR;
	va_start(ap, fmt);
	vsnprintf(head, sizeof(head), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	if (old[0])
		snprintf(err->msg, sizeof(err->msg), "%s: %s", head, old);
	else
		snprintf(err->msg, sizeof(err->msg), "%s", head);
	if (err->code == GB_OK)
		err->code = GB_ERROR;
	return err->code;
}

void gb_error_clear(gb_error *err)
{
	if (err) {
		err->code = GB_OK;
		err->msg[0] = '\0';
	}
}

const char *gb_error_name(int code)
{
	switch (code) {
	case GB_OK: return "OK";
	case GB_ERROR: return "ERROR";
	case GB_ENOMEM: return "ENOMEM";
	case GB_EINVAL: return "EINVAL";
	case GB_EIO: return "EIO";
	case GB_ENOTFOUND: return "ENOTFOUND";
	case GB_EEXISTS: return "EEXISTS";
	case GB_ECONFIG: return "ECONFIG";
	case GB_EPARSE: return "EPARSE";
	case GB_ENET: return "ENET";
	case GB_ETLS: return "ETLS";
	case GB_EAUTH: return "EAUTH";
	case GB_ETOOBIG: return "ETOOBIG";
	case GB_ELOCKED: return "ELOCKED";
	case GB_EFENCE: return "EFENCE";
	case GB_ETHROTTLED: return "ETHROTTLED";
	case GB_ERETRY: return "ERETRY";
	case GB_ELDAP: return "ELDAP";
	case GB_EGRAPH: return "EGRAPH";
	case GB_EUNSUPPORTED: return "EUNSUPPORTED";
	case GB_ECONFLICT: return "ECONFLICT";
	case GB_EGATE: return "EGATE";
	case GB_EPARTIAL: return "EPARTIAL";
	case GB_ESTATE: return "ESTATE";
	case GB_EINTERRUPTED: return "EINTERRUPTED";
	case GB_EREFERRAL: return "EREFERRAL";
	default: return "EUNKNOWN";
	}
}

int gb_error_exit_code(int code)
{
	switch (code) {
	case GB_OK:
	case GB_EINTERRUPTED: /* stopped at a safe point on request: the documented outcome of SIGTERM */
		return 0;
	case GB_EINVAL:
	case GB_ECONFIG:
		return 2;
	case GB_EPARTIAL:
		return 3;
	case GB_EGATE:
		return 4;
	default:
		return 1;
	}
}
