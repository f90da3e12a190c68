/* buf.c: the bounded growable buffer. */
#include "groupbridge/buf.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/util.h"

/* The invariants of buf.h, checked on the way into every function that changes a buffer. */
static void check(const gb_buf *b)
{
	assert(b);
	assert(b->max > 0);
	assert(b->len <= b->max);
	assert(b->data ? b->len < b->cap && b->data[b->len] == '\0' : b->len == 0 && b->cap == 0);
	(void)b;
}

void gb_buf_init(gb_buf *b, size_t max)
{
	assert(max > 0 && "every gb_buf states its cap");
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

static int grow(gb_buf *b, size_t need, gb_error *err)
{
	size_t cap;
	char *p;

	if (need > b->max)
		return gb_error_set(err, GB_ETOOBIG, "data exceeds the limit of %zu bytes", b->max);
	if (need + 1 <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < need + 1)
		cap = cap > SIZE_MAX / 2 ? need + 1 : cap * 2;
	if (cap > b->max + 1)
		cap = b->max + 1;
	p = realloc(b->data, cap);
	if (!p)
		return gb_error_set(err, GB_ENOMEM, "out of memory growing a buffer to %zu bytes", cap);
	b->data = p;
	b->cap = cap;
	return 0;
}

int gb_buf_append(gb_buf *b, const void *data, size_t n, gb_error *err)
{
	int rc;

	check(b);
	assert(data || n == 0);
	if (n > SIZE_MAX - b->len - 1)
		return gb_error_set(err, GB_ETOOBIG, "data exceeds the limit of %zu bytes", b->max);
	rc = grow(b, b->len + n, err);
	if (rc)
		return rc;
	if (n)
		memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int gb_buf_puts(gb_buf *b, const char *s, gb_error *err)
{
	return gb_buf_append(b, s, strlen(s), err);
}

int gb_buf_putc(gb_buf *b, char c, gb_error *err)
{
	return gb_buf_append(b, &c, 1, err);
}

int gb_buf_vprintf(gb_buf *b, gb_error *err, const char *fmt, va_list ap)
{
	va_list copy;
	int n, rc;

	check(b);
	va_copy(copy, ap);
	n = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (n < 0)
		return gb_error_set(err, GB_EINVAL, "bad format string");
	rc = grow(b, b->len + (size_t)n, err);
	if (rc)
		return rc;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int gb_buf_printf(gb_buf *b, gb_error *err, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = gb_buf_vprintf(b, err, fmt, ap);
	va_end(ap);
	return rc;
}

const char *gb_buf_cstr(const gb_buf *b)
{
	return b->data ? b->data : "";
}

char *gb_buf_detach(gb_buf *b)
{
	char *p = b->data;

	check(b);
	if (!p)
		p = calloc(1, 1);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}

void gb_buf_clear(gb_buf *b)
{
	check(b);
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void gb_buf_free(gb_buf *b)
{
	if (!b)
		return;
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void gb_buf_wipe(gb_buf *b)
{
	if (!b)
		return;
	if (b->data)
		gb_memzero(b->data, b->cap);
	gb_buf_free(b);
}
