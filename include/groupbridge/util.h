/*
 * util.h: small helpers shared by every module: allocation, strings, bounded file reads and atomic writes (file.c),
 * secrets, time.
 */
#ifndef GROUPBRIDGE_UTIL_H
#define GROUPBRIDGE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "groupbridge/buf.h"
#include "groupbridge/error.h"

/* strdup that returns NULL for NULL input and on allocation failure. The caller frees. */
char *gb_strdup(const char *s);
/* strndup with the same rules. */
char *gb_strndup(const char *s, size_t n);

/* Frees *p and sets it to NULL. */
void gb_freep(void *p);

/* Makes room for element n of a growable array: arrp points to the array's pointer (T **, elements of elem bytes) and
 * cap to its capacity. When n >= *cap the array is reallocated to first slots (an empty array) or to twice its
 * capacity, more until it exceeds n. 0, or GB_ENOMEM with *arrp and *cap as they were (no message: the caller says
 * what it was adding). */
int gb_grow(void *arrp, size_t n, size_t *cap, size_t elem, size_t first);

/* ASCII case-insensitive comparisons (locale-independent). */
int gb_strcasecmp(const char *a, const char *b);
bool gb_str_iequal(const char *a, const char *b);
bool gb_str_has_prefix(const char *s, const char *prefix);
bool gb_str_ihas_prefix(const char *s, const char *prefix);

/* The value of hexadecimal digit c (0-9, a-f, A-F), or -1 when c is not one. */
int gb_hex_digit(int c);

/* Parses a boolean as the configuration spells it: yes/no, true/false, on/off, 1/0 (any case). GB_EINVAL else. */
int gb_parse_bool(const char *s, bool *out);

/* Parses a whole decimal integer in [min, max]. GB_EINVAL when s is not one or is out of range. */
int gb_parse_long(const char *s, long min, long max, long *out);

/* Reads a whole file into out (initialised by the caller with its maximum); GB_ENOTFOUND, GB_EIO or GB_ETOOBIG with
 * a message naming the path. */
int gb_read_file(const char *path, gb_buf *out, gb_error *err);

/* Reads a secret from a file that must be a regular file not readable or writable by group or others (mode & 077
 * == 0), and not larger than 64 KiB. One trailing newline (LF or CRLF) is removed. *out is allocated; the caller
 * wipes it with gb_secret_free. Refusals are GB_ECONFIG with a message that names the file, never its content.
 * A path "credential:NAME" is the file NAME in $CREDENTIALS_DIRECTORY (see gb_credential_path). */
int gb_secret_read_file(const char *path, char **out, gb_error *err);

/* systemd's LoadCredential= hands a service its secrets as files in $CREDENTIALS_DIRECTORY (owned by the service's
 * user, mode 0400, in memory). A secret file key of the configuration names one as "credential:NAME". */
#define GB_CREDENTIAL_PREFIX "credential:"

/* Resolves "credential:NAME" into dst (n bytes): $CREDENTIALS_DIRECTORY/NAME. GB_ECONFIG when the variable is not
 * set or NAME is not a plain file name (empty, ".", "..", or with a '/'); GB_EINVAL when value lacks the prefix. */
int gb_credential_path(const char *value, char *dst, size_t n, gb_error *err);

/* Reads a secret from an environment variable; GB_ECONFIG when unset or empty. *out as above. */
int gb_secret_read_env(const char *name, char **out, gb_error *err);

/* Zeroes and frees a secret; NULL is fine. */
void gb_secret_free(char *s);

/* Zeroes memory in a way the compiler does not remove. */
void gb_memzero(void *p, size_t n);

/* The current time as UTC ISO 8601 with milliseconds: "2026-11-24T08:31:54.123Z" (buffer of at least 25 bytes). */
void gb_time_iso8601(char *dst, size_t n);
/* Formats a given time_t as "2026-11-24T08:31:54Z" (at least 21 bytes). */
void gb_time_format(time_t t, char *dst, size_t n);
/* Monotonic milliseconds, for durations. */
int64_t gb_time_mono_ms(void);

/* Fills dst with a random version-4 UUID in lower-case text (at least 37 bytes). Uses the OS random source. */
int gb_uuid_v4(char *dst, size_t n, gb_error *err);

/* Writes a file atomically: a temporary file beside it, fsync, rename. mode is the new file's permission bits. */
int gb_write_file_atomic(const char *path, const void *data, size_t n, unsigned mode, gb_error *err);

/* Graceful stop: gb_stop_install makes SIGTERM and SIGINT set a flag instead of killing the process, so that long
 * work finishes the operation under way, records its place and returns GB_EINTERRUPTED (exit 0). */
void gb_stop_install(void);
bool gb_stop_requested(void);
/* Sleeps up to ms milliseconds, waking early when a stop is requested; returns true when it was. */
bool gb_stop_sleep(long ms);

#endif
