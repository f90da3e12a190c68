/* log.c: leveled logging with secret redaction. */
#include "groupbridge/log.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/error.h"
#include "groupbridge/utf8.h"
#include "groupbridge/util.h"

#define MAX_SECRETS 32
#define LINE_MAX_BYTES 4096

static gb_log_level g_level = GB_LOG_INFO;
static int g_json;
static FILE *g_out;
static char *g_secrets[MAX_SECRETS];
static int g_pinned[MAX_SECRETS];
static size_t g_nsecrets;

void gb_log_setup(gb_log_level level, int json, FILE *out)
{
	g_level = level;
	g_json = json;
	g_out = out;
}

gb_log_level gb_log_get_level(void)
{
	return g_level;
}

static int add_secret(const char *secret, int pinned)
{
	size_t i;

	if (!secret || strlen(secret) < 4)
		return 0;
	for (i = 0; i < g_nsecrets; i++)
		if (strcmp(g_secrets[i], secret) == 0) {
			g_pinned[i] |= pinned;
			return 0;
		}
	if (g_nsecrets == MAX_SECRETS) {
		/* Forget the oldest secret that is not pinned: renewed tokens replace old ones, and an old token has
		 * expired anyway. Configuration secrets are pinned and never forgotten. */
		for (i = 0; i < g_nsecrets && g_pinned[i]; i++)
			;
		if (i == g_nsecrets)
			return GB_ENOMEM;
		gb_secret_free(g_secrets[i]);
		memmove(g_secrets + i, g_secrets + i + 1, sizeof(g_secrets[0]) * (g_nsecrets - i - 1));
		memmove(g_pinned + i, g_pinned + i + 1, sizeof(g_pinned[0]) * (g_nsecrets - i - 1));
		g_nsecrets--;
	}
	g_secrets[g_nsecrets] = gb_strdup(secret);
	if (!g_secrets[g_nsecrets])
		return GB_ENOMEM;
	g_pinned[g_nsecrets] = pinned;
	g_nsecrets++;
	return 0;
}

int gb_log_add_secret(const char *secret)
{
	return add_secret(secret, 0);
}

int gb_log_pin_secret(const char *secret)
{
	return add_secret(secret, 1);
}

void gb_log_clear_secrets(void)
{
	size_t i;

	for (i = 0; i < g_nsecrets; i++)
		gb_secret_free(g_secrets[i]);
	g_nsecrets = 0;
}

void gb_log_redact(const char *src, char *dst, size_t n)
{
	static const char mark[] = "[secret]";
	size_t o = 0;

	if (!n)
		return;
	while (*src && o + 1 < n) {
		size_t i, hit = 0;

		for (i = 0; i < g_nsecrets; i++) {
			size_t l = strlen(g_secrets[i]);
			if (strncmp(src, g_secrets[i], l) == 0) {
				hit = l;
				break;
			}
		}
		if (hit) {
			size_t m = sizeof(mark) - 1;
			if (m > n - 1 - o)
				m = n - 1 - o;
			memcpy(dst + o, mark, m);
			o += m;
			src += hit;
		} else {
			dst[o++] = *src++;
		}
	}
	dst[o] = '\0';
}

/* One JSON log line, written by jansson: {"time":...,"level":...,"module":...,"message":...}. jansson takes only
 * valid UTF-8, so a byte that is not (a value from a broken source) becomes U+FFFD; the line stays valid JSON. */
static void json_line(FILE *f, const char *ts, const char *level, const char *module, const char *line)
{
	char *clean = gb_utf8_valid(line, strlen(line)) ? NULL : gb_utf8_clean(line, strlen(line), 0, NULL);
	json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "time", ts, "level", level, "module", module, "message",
	                      clean ? clean : line);

	if (!o || json_dumpf(o, f, JSON_COMPACT) != 0) /* out of memory: the line at least, unescaped */
		fprintf(f, "{\"time\":\"%s\",\"level\":\"%s\",\"message\":\"(out of memory)\"}", ts, level);
	fputc('\n', f);
	json_decref(o);
	free(clean);
}

void gb_log_vwrite(gb_log_kind kind, const char *module, const char *fmt, va_list ap)
{
	static const char *names[] = {"error", "warning", "info", "debug"};
	char raw[LINE_MAX_BYTES], line[LINE_MAX_BYTES], ts[32];
	FILE *f = g_out ? g_out : stderr;

	if (kind == GB_LOG_DBG && g_level < GB_LOG_DEBUG)
		return;
	if (kind == GB_LOG_NOTE && g_level < GB_LOG_INFO)
		return;
	vsnprintf(raw, sizeof(raw), fmt, ap);
	gb_log_redact(raw, line, sizeof(line));
	flockfile(f); /* a line is whole even when the apply engine's workers log too */
	if (g_json) {
		gb_time_iso8601(ts, sizeof(ts));
		json_line(f, ts, names[kind], module ? module : "", line);
	} else if (kind == GB_LOG_NOTE) {
		fprintf(f, "%s\n", line);
	} else {
		fprintf(f, "groupbridge: %s: %s%s%s\n", names[kind], module ? module : "", module ? ": " : "", line);
	}
	fflush(f);
	funlockfile(f);
}

void gb_log_write(gb_log_kind kind, const char *module, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	gb_log_vwrite(kind, module, fmt, ap);
	va_end(ap);
}
