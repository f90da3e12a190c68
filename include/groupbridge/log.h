/*
 * log.h: leveled logging to stderr, as text or JSON lines, with secret redaction.
 *
 * Every line passes through the redactor: any string registered with gb_log_add_secret is replaced by "[secret]"
 * before the line is written, so a secret that slips into a message (an error body, a URL) still never reaches a
 * log. Modules log with a short module name ("graph", "ldap", "store").
 */
#ifndef GROUPBRIDGE_LOG_H
#define GROUPBRIDGE_LOG_H

#include <stdarg.h>
#include <stdio.h>

typedef enum gb_log_level {
	GB_LOG_QUIET = 0, /* errors only */
	GB_LOG_INFO = 1,  /* the default: progress and outcomes */
	GB_LOG_DEBUG = 2  /* every request and operation */
} gb_log_level;

typedef enum gb_log_kind { GB_LOG_ERR, GB_LOG_WARN, GB_LOG_NOTE, GB_LOG_DBG } gb_log_kind;

/* Sets the verbosity, the format (json non-zero for one JSON object per line) and the stream (NULL for stderr). */
void gb_log_setup(gb_log_level level, int json, FILE *out);

/* The current verbosity. */
gb_log_level gb_log_get_level(void);

/* Registers a secret to redact from every later line. The string is copied; strings shorter than 4 bytes are
 * ignored (they would redact ordinary words). Returns 0, or GB_ENOMEM. */
int gb_log_add_secret(const char *secret);

/* Registers a secret that is never forgotten when the table is full (credentials from the configuration); tokens use
 * gb_log_add_secret, and the oldest of those make room. GB_ENOMEM when every slot holds a pinned secret. */
int gb_log_pin_secret(const char *secret);

/* Forgets every registered secret (wiping the copies). */
void gb_log_clear_secrets(void);

/* Copies src into dst (size n, always NUL-terminated) with every registered secret replaced by "[secret]".
 * Useful for anything else that leaves the process: reports, audit records, error messages. */
void gb_log_redact(const char *src, char *dst, size_t n);

void gb_log_write(gb_log_kind kind, const char *module, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void gb_log_vwrite(gb_log_kind kind, const char *module, const char *fmt, va_list ap);

#define gb_err(mod, ...) gb_log_write(GB_LOG_ERR, (mod), __VA_ARGS__)
#define gb_warn(mod, ...) gb_log_write(GB_LOG_WARN, (mod), __VA_ARGS__)
#define gb_info(mod, ...) gb_log_write(GB_LOG_NOTE, (mod), __VA_ARGS__)
#define gb_debug(mod, ...) gb_log_write(GB_LOG_DBG, (mod), __VA_ARGS__)

#endif
