/* testfs.c: scratch directories, whole files and small plan builders for the C tests (testfs.h). */
#include "testfs.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "groupbridge/buf.h"
#include "groupbridge/util.h"

void gb_testfs_mkdtemp(char *dir, size_t n, const char *name)
{
	int w = snprintf(dir, n, "/tmp/gb-test-%s-XXXXXX", name);

	cr_assert(w > 0 && (size_t)w < n, "the scratch directory's name for %s does not fit", name);
	cr_assert_not_null(mkdtemp(dir), "%s: %s", dir, strerror(errno));
}

void gb_testfs_mkstemp(char *path, size_t n, const char *name, const char *content)
{
	int w = snprintf(path, n, "/tmp/gb-test-%s-XXXXXX", name), fd;
	size_t len = strlen(content);

	cr_assert(w > 0 && (size_t)w < n, "the scratch file's name for %s does not fit", name);
	fd = mkstemp(path);
	cr_assert(fd >= 0, "%s: %s", path, strerror(errno));
	cr_assert_eq(write(fd, content, len), (ssize_t)len, "%s: %s", path, strerror(errno));
	cr_assert_eq(close(fd), 0);
}

void gb_testfs_rmtree(const char *dir)
{
	char cmd[1100];

	if (!dir || !*dir)
		return;
	cr_assert(strchr(dir, '\'') == NULL, "%s: a quote in a scratch path", dir);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
}

char *gb_testfs_path(char *out, size_t n, const char *dir, const char *rel)
{
	int w = snprintf(out, n, "%s/%s", dir, rel);

	cr_assert(w > 0 && (size_t)w < n, "%s/%s does not fit in %zu bytes", dir, rel, n);
	return out;
}

void gb_testfs_mkdtemp_db(char *dir, size_t n, char *db, size_t dbn, const char *name)
{
	gb_testfs_mkdtemp(dir, n, name);
	gb_testfs_path(db, dbn, dir, "state.db");
}

gb_store *gb_testfs_store(const char *dir)
{
	char path[1024];
	gb_store *st = NULL;
	gb_error err;

	gb_testfs_path(path, sizeof(path), dir, "state.db");
	cr_assert_eq(gb_store_open(path, "test", &st, &err), 0, "%s", err.msg);
	return st;
}

long long gb_testfs_int(gb_store *st, const char *sql)
{
	sqlite3_stmt *s = NULL;
	gb_error err;
	long long n;

	cr_assert_eq(gb_store_prepare(st, sql, &s, &err), 0, "%s", err.msg);
	cr_assert_eq(sqlite3_step(s), SQLITE_ROW, "%s gives no row", sql);
	n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return n;
}

char *gb_testfs_slurp(const char *path, size_t *len)
{
	gb_buf b;
	gb_error err;

	gb_buf_init(&b, GB_BUF_DEFAULT_MAX);
	cr_assert_eq(gb_read_file(path, &b, &err), 0, "%s", err.msg);
	if (len)
		*len = b.len;
	return gb_buf_detach(&b);
}

void gb_testfs_spit(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	cr_assert(f, "writing %s: %s", path, strerror(errno));
	cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0, "writing %s: %s", path, strerror(errno));
}

void gb_testfs_edit(const char *path, const char *old, const char *new)
{
	size_t n, ol = strlen(old);
	char *s = gb_testfs_slurp(path, &n), *p;
	const char *q = s;
	gb_buf out;
	int hits = 0;

	gb_buf_init(&out, GB_BUF_DEFAULT_MAX);
	while ((p = strstr(q, old))) {
		cr_assert_eq(gb_buf_append(&out, q, (size_t)(p - q), NULL), 0);
		cr_assert_eq(gb_buf_puts(&out, new, NULL), 0);
		q = p + ol;
		hits++;
	}
	cr_assert_eq(gb_buf_puts(&out, q, NULL), 0);
	cr_assert(hits > 0, "%s does not contain %s", path, old);
	gb_testfs_spit(path, out.data, out.len);
	gb_buf_free(&out);
	free(s);
}

void gb_testfs_copy_tree(const char *from, const char *to)
{
	DIR *d = opendir(from);
	struct dirent *e;

	cr_assert(d, "%s: %s", from, strerror(errno));
	mkdir(to, 0700);
	while ((e = readdir(d))) {
		char a[1024], b[1024];
		struct stat sb;

		if (e->d_name[0] == '.')
			continue;
		gb_testfs_path(a, sizeof(a), from, e->d_name);
		gb_testfs_path(b, sizeof(b), to, e->d_name);
		cr_assert_eq(stat(a, &sb), 0, "%s: %s", a, strerror(errno));
		if (S_ISDIR(sb.st_mode)) {
			gb_testfs_copy_tree(a, b);
		} else {
			size_t n;
			char *data = gb_testfs_slurp(a, &n);

			gb_testfs_spit(b, data, n);
			free(data);
		}
	}
	closedir(d);
}

gb_op *gb_testfs_op(gb_plan *p, gb_op_kind kind, const char *id, const char *target)
{
	gb_op *o;
	gb_error err;

	cr_assert_eq(gb_plan_add_op(p, kind, id, target, "test", &o, &err), 0, "%s", err.msg);
	return o;
}

void gb_testfs_attr(gb_op *o, const char *name, const char *before, const char *after)
{
	gb_error err;

	cr_assert_eq(gb_op_add_attr(o, name, before, after, &err), 0, "%s", err.msg);
}

void gb_testfs_appendf(char *buf, size_t n, const char *fmt, ...)
{
	size_t l = strnlen(buf, n);
	va_list ap;

	if (l + 1 >= n)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + l, n - l, fmt, ap);
	va_end(ap);
}
