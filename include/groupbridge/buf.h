/*
 * buf.h: a growable byte buffer with a hard maximum (after curl's dynbuf).
 *
 * Data from files and the network goes through a gb_buf so that an oversized input is an error (GB_ETOOBIG),
 * never a crash or an unbounded allocation. The data is always NUL-terminated, so text can be used as a C string.
 * A gb_buf lives wherever the caller puts it (stack or struct); gb_buf_free releases its storage only.
 */
#ifndef GROUPBRIDGE_BUF_H
#define GROUPBRIDGE_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "groupbridge/error.h"

/* The cap for text groupbridge composes from data it already holds (reports, plans, canonical DNs, test fixtures):
 * large enough for any of them, small enough that a runaway loop fails instead of eating the machine. A buffer
 * that receives data from a file or the network states a cap of its own, sized for that input. */
#define GB_BUF_DEFAULT_MAX ((size_t)64 * 1024 * 1024)

typedef struct gb_buf {
	char *data;  /* NULL until the first append; then NUL-terminated */
	size_t len;  /* bytes used, not counting the terminating NUL: len <= max, and len < cap once data is set */
	size_t cap;  /* bytes allocated (0 while data is NULL) */
	size_t max;  /* the most len may ever be; never 0 */
} gb_buf;

/* Initialises an empty buffer that may hold at most max bytes. Allocates nothing. Every caller states its cap, as
 * curl's dynbuf requires: max 0 is a programming error and fails an assertion (it once meant "64 MiB"). */
void gb_buf_init(gb_buf *b, size_t max);

/* Appends n bytes. GB_ETOOBIG when the result would exceed max, GB_ENOMEM on allocation failure; on error the
 * buffer is unchanged. */
int gb_buf_append(gb_buf *b, const void *data, size_t n, gb_error *err);

/* Appends a C string (without its NUL). Errors as gb_buf_append. */
int gb_buf_puts(gb_buf *b, const char *s, gb_error *err);

/* Appends one byte. Errors as gb_buf_append. */
int gb_buf_putc(gb_buf *b, char c, gb_error *err);

/* Appends formatted text. Errors as gb_buf_append. */
int gb_buf_printf(gb_buf *b, gb_error *err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int gb_buf_vprintf(gb_buf *b, gb_error *err, const char *fmt, va_list ap);

/* Returns the contents as a C string, "" when empty. Borrowed: valid until the next change to b. */
const char *gb_buf_cstr(const gb_buf *b);

/* Hands the storage to the caller (free() it) and leaves b empty. Returns an allocated "" when b is empty;
 * NULL only when that allocation fails. */
char *gb_buf_detach(gb_buf *b);

/* Empties the buffer, keeping its storage and maximum. */
void gb_buf_clear(gb_buf *b);

/* Releases the storage; b may be NULL. b is left empty and reusable with the same maximum. Memory that held data
 * is zeroed first when gb_buf_wipe is used instead (for secrets). */
void gb_buf_free(gb_buf *b);
void gb_buf_wipe(gb_buf *b);

#endif
