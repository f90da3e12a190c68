/*
 * error.h: error codes and the error message carried back to the caller.
 *
 * Every fallible function returns int: 0 on success, a negative GB_E* code on failure, and writes a message into
 * the caller's gb_error (which may be NULL when the caller does not want one). Messages are lower case, without a
 * full stop, and say what failed first, then why: "reading /etc/gb.ini: permission denied". A caller that adds
 * context uses gb_error_prefix so that the innermost cause stays at the end.
 */
#ifndef GROUPBRIDGE_ERROR_H
#define GROUPBRIDGE_ERROR_H

#include <stddef.h>

enum gb_error_code {
	GB_OK = 0,
	GB_ERROR = -1,        /* generic failure */
	GB_ENOMEM = -2,       /* allocation failed */
	GB_EINVAL = -3,       /* bad argument or value (a usage or input error) */
	GB_EIO = -4,          /* file or socket I/O failed */
	GB_ENOTFOUND = -5,    /* the object, file or key does not exist */
	GB_EEXISTS = -6,      /* the object already exists */
	GB_ECONFIG = -7,      /* the configuration is wrong */
	GB_EPARSE = -8,       /* malformed input (XML, JSON, expression, LDAP reply) */
	GB_ENET = -9,         /* network failure: connect, reset, timeout */
	GB_ETLS = -10,        /* TLS setup or certificate verification failed */
	GB_EAUTH = -11,       /* authentication refused */
	GB_ETOOBIG = -12,     /* a bounded input exceeded its limit */
	GB_ELOCKED = -13,     /* another process holds the state lock */
	GB_EFENCE = -14,      /* a write outside the allowed containers was refused */
	GB_ETHROTTLED = -15,  /* the server kept throttling beyond the wait cap */
	GB_ERETRY = -16,      /* a transient failure: retrying later may succeed */
	GB_ELDAP = -17,       /* a permanent LDAP failure */
	GB_EGRAPH = -18,      /* a permanent Microsoft Graph failure */
	GB_EUNSUPPORTED = -19,/* the object or request is of a kind not supported */
	GB_ECONFLICT = -20,   /* two sources disagree; a person must decide */
	GB_EGATE = -21,       /* stopped by a safety gate (confirmation or threshold needed) */
	GB_EPARTIAL = -22,    /* some objects failed, the rest were done */
	GB_ESTATE = -23,      /* the state database is damaged or of an unknown version */
	GB_EINTERRUPTED = -24,/* stopped by a signal at a safe point; resumable */
	GB_EREFERRAL = -25    /* the object is in another domain of the forest (an LDAP referral): read it there or
			       * through the Global Catalog */
};

#define GB_ERROR_MSG_MAX 1024

typedef struct gb_error {
	int code;
	char msg[GB_ERROR_MSG_MAX];
} gb_error;

/* Sets err (if not NULL) to code and the formatted message; returns code so that callers can write
 * `return gb_error_set(err, GB_EINVAL, "...")`. A message longer than the buffer is truncated. */
int gb_error_set(gb_error *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Puts "<context>: " in front of the current message, keeping the code; returns the code. */
int gb_error_prefix(gb_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Clears err (if not NULL) to GB_OK and an empty message. */
void gb_error_clear(gb_error *err);

/* A short stable name for a code, such as "ENOMEM"; "EUNKNOWN" for others. Never NULL. */
const char *gb_error_name(int code);

/* Maps an error code to the process exit code documented in the README: 0 success, 1 failure, 2 usage or
 * configuration error, 3 partial, 4 stopped by a safety gate. */
int gb_error_exit_code(int code);

#endif
