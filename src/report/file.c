/* file.c: report and export output files (owner-only, replaced atomically) and CSV cells. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "groupbridge/util.h"

#include "report/internal.h"

struct gb_report_file {
	FILE *f;
	char *path; /* NULL for standard output */
	char *tmp;
};

static int is_stdout(const char *path)
{
	return !path || strcmp(path, "-") == 0;
}

int gb_report_file_open(const char *path, gb_report_file **out, gb_error *err)
{
	gb_report_file *rf;
	char tmp[PATH_MAX];
	int fd;

	*out = NULL;
	rf = calloc(1, sizeof(*rf));
	if (!rf)
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	if (is_stdout(path)) {
		rf->f = stdout;
		*out = rf;
		return 0;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp)) {
		free(rf);
		return gb_error_set(err, GB_EINVAL, "output path too long: %s", path);
	}
	rf->path = gb_strdup(path);
	rf->tmp = gb_strdup(tmp);
	if (!rf->path || !rf->tmp) {
		gb_report_file_abort(rf);
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		int e = errno;
		free(rf->path);
		free(rf->tmp);
		free(rf);
		return gb_error_set(err, GB_EIO, "writing %s: %s", path, strerror(e));
	}
	if (fchmod(fd, 0600) != 0 || !(rf->f = fdopen(fd, "w"))) {
		int e = errno;
		close(fd);
		unlink(tmp);
		free(rf->path);
		free(rf->tmp);
		free(rf);
		return gb_error_set(err, GB_EIO, "writing %s: %s", path, strerror(e));
	}
	*out = rf;
	return 0;
}

FILE *gb_report_file_stream(gb_report_file *f)
{
	return f->f;
}

int gb_report_file_commit(gb_report_file *rf, gb_error *err)
{
	int rc = 0;

	if (!rf->path) {
		if (fflush(rf->f) != 0)
			rc = gb_error_set(err, GB_EIO, "writing to standard output: %s", strerror(errno));
		free(rf);
		return rc;
	}
	if (fflush(rf->f) != 0 || fsync(fileno(rf->f)) != 0 || ferror(rf->f)) {
		rc = gb_error_set(err, GB_EIO, "writing %s: %s", rf->path, strerror(errno));
		gb_report_file_abort(rf);
		return rc;
	}
	if (fclose(rf->f) != 0) {
		rf->f = NULL;
		rc = gb_error_set(err, GB_EIO, "writing %s: %s", rf->path, strerror(errno));
		gb_report_file_abort(rf);
		return rc;
	}
	rf->f = NULL;
	if (rename(rf->tmp, rf->path) != 0) {
		rc = gb_error_set(err, GB_EIO, "writing %s: %s", rf->path, strerror(errno));
		gb_report_file_abort(rf);
		return rc;
	}
	free(rf->path);
	free(rf->tmp);
	free(rf);
	return 0;
}

void gb_report_file_abort(gb_report_file *rf)
{
	if (!rf)
		return;
	if (rf->path) {
		if (rf->f)
			fclose(rf->f);
		if (rf->tmp)
			unlink(rf->tmp);
	}
	free(rf->path);
	free(rf->tmp);
	free(rf);
}

int gb_report_csv_cell(gb_buf *out, const char *s, gb_error *err)
{
	int quote, rc = 0;

	if (!s || !*s)
		return 0;
	quote = strpbrk(s, ",\"\r\n") != NULL;
	if (quote)
		rc = gb_buf_putc(out, '"', err);
	/* a spreadsheet runs a cell that starts with these as a formula (or strips the tab/CR and then runs it) */
	if (!rc && strchr("=+-@\t\r", s[0]))
		rc = gb_buf_putc(out, '\'', err);
	for (; !rc && *s; s++)
		rc = *s == '"' ? gb_buf_puts(out, "\"\"", err) : gb_buf_putc(out, *s, err);
	if (!rc && quote)
		rc = gb_buf_putc(out, '"', err);
	return rc;
}
