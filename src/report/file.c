/* file.c: report and export output files (owner-only, replaced atomically) and the dispatch of a report
 * to its format's renderer. The dispatch lives here, not in model.c, so that the renderers call the model and this
 * file calls the renderers, with no circle between them. */
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

int gb_report_render(const gb_report *r, gb_report_format f, gb_buf *out, gb_error *err)
{
	switch (f) {
	case GB_REPORT_HTML: return gb_report_render_html(r, out, err);
	case GB_REPORT_MD: return gb_report_render_md(r, out, err);
	case GB_REPORT_JSON: return gb_report_render_json(r, out, err);
	case GB_REPORT_CSV: return gb_report_render_csv(r, out, err);
	}
	return gb_error_set(err, GB_EINVAL, "unknown report format %d", (int)f);
}

int gb_report_write(const gb_report *r, gb_report_format f, const char *path, gb_error *err)
{
	gb_report_file *file = NULL;
	gb_buf b;
	int rc;

	gb_buf_init(&b, GB_BUF_DEFAULT_MAX);
	rc = gb_report_render(r, f, &b, err);
	if (rc)
		goto done;
	rc = gb_report_file_open(path, &file, err);
	if (rc)
		goto done;
	if (b.len && fwrite(b.data, 1, b.len, gb_report_file_stream(file)) != b.len) {
		rc = gb_error_set(err, GB_EIO, "writing report %s: short write", path ? path : "to standard output");
		gb_report_file_abort(file);
		goto done;
	}
	rc = gb_report_file_commit(file, err);
done:
	gb_buf_free(&b);
	return rc;
}
