/* util.c: allocation, strings, wiping secrets, time, UUIDs, stop signals (files are in file.c). */
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

int gb_grow(void *arrp, size_t n, size_t *cap, size_t elem, size_t first)
{
	void **pp = arrp, *grown;
	size_t ncap;

	if (n < *cap)
		return 0;
	if (*cap > SIZE_MAX / 2)
		return GB_ENOMEM;
	ncap = *cap ? *cap * 2 : (first ? first : 1);
	while (ncap <= n) {
		if (ncap > SIZE_MAX / 2)
			return GB_ENOMEM;
		ncap *= 2;
	}
	if (!elem || ncap > SIZE_MAX / elem || !(grown = realloc(*pp, ncap * elem)))
		return GB_ENOMEM;
	*pp = grown;
	*cap = ncap;
	return 0;
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

int gb_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
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
