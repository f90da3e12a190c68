/* file.c: bounded file reads, secret files and variables, atomic writes. Apart from util.c so that the low-level
 * primitives do not call each other in a circle: file.c uses gb_buf, and gb_buf uses only util.c's gb_memzero. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "groupbridge/buf.h"
#include "groupbridge/util.h"

#define SECRET_MAX (64 * 1024)

int gb_read_file(const char *path, gb_buf *out, gb_error *err)
{
	char chunk[65536];
	FILE *f;
	size_t n;
	int rc = 0;

	f = fopen(path, "rb");
	if (!f)
		return gb_error_set(err, errno == ENOENT ? GB_ENOTFOUND : GB_EIO, "reading %s: %s", path,
				    strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		rc = gb_buf_append(out, chunk, n, err);
		if (rc) {
			gb_error_prefix(err, "reading %s", path);
			break;
		}
	}
	if (!rc && ferror(f))
		rc = gb_error_set(err, GB_EIO, "reading %s: %s", path, strerror(errno));
	fclose(f);
	return rc;
}

int gb_credential_path(const char *value, char *dst, size_t n, gb_error *err)
{
	const char *name = value + strlen(GB_CREDENTIAL_PREFIX), *dir = getenv("CREDENTIALS_DIRECTORY");

	if (!gb_str_has_prefix(value, GB_CREDENTIAL_PREFIX))
		return gb_error_set(err, GB_EINVAL, "%s does not start with %s", value, GB_CREDENTIAL_PREFIX);
	/* systemd's rule for credential names: a plain file name */
	if (!*name || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return gb_error_set(err, GB_ECONFIG, "%s: a credential is named by a plain file name, such as "
						     "credential:graph.secret", value);
	if (!dir || !*dir)
		return gb_error_set(err, GB_ECONFIG, "%s: $CREDENTIALS_DIRECTORY is not set (systemd's LoadCredential= sets "
						     "it for the service; outside the service, name the file itself)", value);
	if (snprintf(dst, n, "%s/%s", dir, name) >= (int)n)
		return gb_error_set(err, GB_ECONFIG, "%s: path too long", value);
	return 0;
}

int gb_secret_read_file(const char *path, char **out, gb_error *err)
{
	struct stat st;
	gb_buf b;
	int fd, rc;
	char chunk[4096], cred[PATH_MAX];
	ssize_t n;

	*out = NULL;
	if (gb_str_has_prefix(path, GB_CREDENTIAL_PREFIX)) {
		rc = gb_credential_path(path, cred, sizeof(cred), err);
		if (rc)
			return rc;
		path = cred;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return gb_error_set(err, GB_ECONFIG, "secret file %s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return gb_error_set(err, GB_ECONFIG, "secret file %s: not a regular file", path);
	}
	if (st.st_mode & 077) {
		close(fd);
		return gb_error_set(err, GB_ECONFIG,
				    "secret file %s is accessible by group or others (mode %03o); run chmod 600 %s",
				    path, (unsigned)(st.st_mode & 0777), path);
	}
	gb_buf_init(&b, SECRET_MAX);
	rc = 0;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		rc = gb_buf_append(&b, chunk, (size_t)n, err);
		if (rc)
			break;
	}
	gb_memzero(chunk, sizeof(chunk));
	if (!rc && n < 0)
		rc = gb_error_set(err, GB_EIO, "secret file %s: %s", path, strerror(errno));
	close(fd);
	if (rc) {
		gb_buf_wipe(&b);
		if (rc == GB_ETOOBIG)
			gb_error_set(err, GB_ECONFIG, "secret file %s is larger than %d bytes", path, SECRET_MAX);
		return rc;
	}
	if (b.len && b.data[b.len - 1] == '\n')
		b.data[--b.len] = '\0';
	if (b.len && b.data[b.len - 1] == '\r')
		b.data[--b.len] = '\0';
	if (b.len == 0) {
		gb_buf_wipe(&b);
		return gb_error_set(err, GB_ECONFIG, "secret file %s is empty", path);
	}
	*out = gb_buf_detach(&b);
	return *out ? 0 : gb_error_set(err, GB_ENOMEM, "out of memory");
}

int gb_secret_read_env(const char *name, char **out, gb_error *err)
{
	const char *v = getenv(name);

	*out = NULL;
	if (!v || !*v)
		return gb_error_set(err, GB_ECONFIG, "environment variable %s is not set", name);
	*out = gb_strdup(v);
	return *out ? 0 : gb_error_set(err, GB_ENOMEM, "out of memory");
}

int gb_write_file_atomic(const char *path, const void *data, size_t n, unsigned mode, gb_error *err)
{
	char tmp[PATH_MAX];
	const char *p = data;
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp))
		return gb_error_set(err, GB_EINVAL, "path too long: %s", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return gb_error_set(err, GB_EIO, "writing %s: %s", path, strerror(errno));
	fchmod(fd, mode);
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		p += w;
		n -= (size_t)w;
	}
	if (fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	if (rename(tmp, path) != 0) {
		fd = -1;
		goto fail;
	}
	return 0;
fail:
	gb_error_set(err, GB_EIO, "writing %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return err ? err->code : GB_EIO;
}
