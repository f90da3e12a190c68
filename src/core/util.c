/* util.c: allocation, strings, bounded file reads, secrets, time, UUIDs, atomic writes. */
#include "groupbridge/util.h"

#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "groupbridge/log.h"

#define SECRET_MAX (64 * 1024)

char *gb_strdup(const char *s)
{
	return s ? gb_strndup(s, strlen(s)) : NULL;
}

char *gb_strndup(const char *s, size_t n)
{
	char *p;
	size_t l = 0;

	if (!s)
		return NULL;
	while (l < n && s[l])
		l++;
	p = malloc(l + 1);
	if (!p)
		return NULL;
	memcpy(p, s, l);
	p[l] = '\0';
	return p;
}

void gb_freep(void *p)
{
	void **pp = p;
	free(*pp);
	*pp = NULL;
}

static int lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

int gb_strcasecmp(const char *a, const char *b)
{
	for (;; a++, b++) {
		int ca = lower((unsigned char)*a), cb = lower((unsigned char)*b);
		if (ca != cb || !ca)
			return ca - cb;
	}
}

bool gb_str_iequal(const char *a, const char *b)
{
	return a && b && gb_strcasecmp(a, b) == 0;
}

bool gb_str_has_prefix(const char *s, const char *prefix)
{
	return s && prefix && strncmp(s, prefix, strlen(prefix)) == 0;
}

bool gb_str_ihas_prefix(const char *s, const char *prefix)
{
	if (!s || !prefix)
		return false;
	for (; *prefix; s++, prefix++)
		if (lower((unsigned char)*s) != lower((unsigned char)*prefix))
			return false;
	return true;
}

int gb_parse_bool(const char *s, bool *out)
{
	static const char *yes[] = {"yes", "true", "on", "1"};
	static const char *no[] = {"no", "false", "off", "0"};
	size_t i;

	for (i = 0; i < 4; i++) {
		if (gb_str_iequal(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (gb_str_iequal(s, no[i])) {
			*out = false;
			return 0;
		}
	}
	return GB_EINVAL;
}

int gb_parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (!s || !*s)
		return GB_EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return GB_EINVAL;
	*out = v;
	return 0;
}

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

void gb_memzero(void *p, size_t n)
{
	volatile unsigned char *v = p;
	while (n--)
		*v++ = 0;
}

void gb_secret_free(char *s)
{
	if (s) {
		gb_memzero(s, strlen(s));
		free(s);
	}
}

void gb_time_iso8601(char *dst, size_t n)
{
	struct timespec ts;
	struct tm tm;
	char base[24];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(dst, n, "%s.%03ldZ", base, ts.tv_nsec / 1000000L);
}

void gb_time_format(time_t t, char *dst, size_t n)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(dst, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int64_t gb_time_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int gb_uuid_v4(char *dst, size_t n, gb_error *err)
{
	unsigned char r[16];
	size_t got = 0;

	while (got < sizeof(r)) {
		ssize_t k = getrandom(r + got, sizeof(r) - got, 0);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return gb_error_set(err, GB_EIO, "reading random bytes: %s", strerror(errno));
		}
		got += (size_t)k;
	}
	r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
	r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
	snprintf(dst, n, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2],
		 r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15]);
	return 0;
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

static volatile sig_atomic_t stop_flag;

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

void gb_stop_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

bool gb_stop_requested(void)
{
	return stop_flag != 0;
}

bool gb_stop_sleep(long ms)
{
	while (ms > 0 && !stop_flag) {
		long step = ms < 100 ? ms : 100;
		struct timespec ts = {step / 1000, (step % 1000) * 1000000L};
		nanosleep(&ts, NULL);
		ms -= step;
	}
	return stop_flag != 0;
}
