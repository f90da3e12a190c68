/* Unit tests of src/core: errors, bounded buffers, strings, secrets, redaction. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "groupbridge/buf.h"
#include "groupbridge/error.h"
#include "groupbridge/log.h"
#include "groupbridge/utf8.h"
#include "groupbridge/util.h"

Test(error, set_and_prefix_keep_code_and_order)
{
	gb_error err;

	gb_error_clear(&err);
	cr_assert_eq(gb_error_set(&err, GB_ENOTFOUND, "no file %s", "x.ini"), GB_ENOTFOUND);
	gb_error_prefix(&err, "loading %s", "config");
	cr_assert_str_eq(err.msg, "loading config: no file x.ini");
	cr_assert_eq(err.code, GB_ENOTFOUND);
	cr_assert_eq(gb_error_set(NULL, GB_EIO, "ignored"), GB_EIO);
}

Test(error, exit_codes_follow_the_documented_table)
{
	cr_assert_eq(gb_error_exit_code(GB_OK), 0);
	cr_assert_eq(gb_error_exit_code(GB_EIO), 1);
	cr_assert_eq(gb_error_exit_code(GB_ECONFIG), 2);
	cr_assert_eq(gb_error_exit_code(GB_EINVAL), 2);
	cr_assert_eq(gb_error_exit_code(GB_EPARTIAL), 3);
	cr_assert_eq(gb_error_exit_code(GB_EGATE), 4);
	cr_assert_str_eq(gb_error_name(GB_EFENCE), "EFENCE");
	cr_assert_str_eq(gb_error_name(12345), "EUNKNOWN");
}

Test(error, long_messages_are_truncated_not_overflowed)
{
	gb_error err;
	char big[3000];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	gb_error_set(&err, GB_EIO, "%s", big);
	cr_assert_eq(strlen(err.msg), GB_ERROR_MSG_MAX - 1);
	gb_error_prefix(&err, "%s", big);
	cr_assert_eq(strlen(err.msg), GB_ERROR_MSG_MAX - 1);
}

Test(buf, grows_and_stays_terminated)
{
	gb_buf b;
	int i;

	gb_buf_init(&b, GB_BUF_DEFAULT_MAX);
	cr_assert_str_eq(gb_buf_cstr(&b), "");
	for (i = 0; i < 1000; i++)
		cr_assert_eq(gb_buf_printf(&b, NULL, "%d,", i), 0);
	cr_assert_eq(strncmp(b.data, "0,1,2,", 6), 0);
	cr_assert_eq(b.data[b.len], '\0');
	cr_assert_eq(b.len, strlen(b.data));
	gb_buf_free(&b);
	gb_buf_free(NULL);
}

Test(buf, refuses_to_exceed_its_maximum_and_stays_unchanged)
{
	gb_buf b;
	gb_error err;

	gb_buf_init(&b, 8);
	cr_assert_eq(gb_buf_puts(&b, "12345678", &err), 0);
	cr_assert_eq(gb_buf_putc(&b, '9', &err), GB_ETOOBIG);
	cr_assert_str_eq(gb_buf_cstr(&b), "12345678");
	cr_assert_eq(gb_buf_printf(&b, &err, "%s", "x"), GB_ETOOBIG);
	cr_assert(strstr(err.msg, "limit of 8 bytes") != NULL);
	gb_buf_clear(&b);
	cr_assert_eq(b.len, 0);
	cr_assert_eq(gb_buf_puts(&b, "abc", &err), 0);
	gb_buf_wipe(&b);
}

/* curl's dynbuf rule: every buffer states its cap. 0 used to mean "64 MiB" without saying so. */
Test(buf, a_zero_cap_is_a_programming_error, .signal = SIGABRT)
{
	const size_t no_cap = 0; /* the mistake under test (make lint flags it when written as a literal) */
	gb_buf b;

	gb_buf_init(&b, no_cap);
}

Test(buf, a_broken_invariant_stops_before_the_write, .signal = SIGABRT)
{
	gb_buf b;

	gb_buf_init(&b, 4);
	b.len = 5; /* what a caller that edits the fields by hand could do */
	gb_buf_putc(&b, 'x', NULL);
}

Test(buf, detach_hands_over_storage)
{
	gb_buf b;
	char *s;

	gb_buf_init(&b, GB_BUF_DEFAULT_MAX);
	s = gb_buf_detach(&b);
	cr_assert_str_eq(s, "");
	free(s);
	gb_buf_puts(&b, "hello", NULL);
	s = gb_buf_detach(&b);
	cr_assert_str_eq(s, "hello");
	cr_assert_null(b.data);
	free(s);
}

Test(util, parses_booleans_and_numbers_strictly)
{
	bool v;
	long l;

	cr_assert_eq(gb_parse_bool("YES", &v), 0);
	cr_assert(v);
	cr_assert_eq(gb_parse_bool("off", &v), 0);
	cr_assert(!v);
	cr_assert_eq(gb_parse_bool("maybe", &v), GB_EINVAL);
	cr_assert_eq(gb_parse_long("500", 0, 1000, &l), 0);
	cr_assert_eq(l, 500);
	cr_assert_eq(gb_parse_long("5x", 0, 1000, &l), GB_EINVAL);
	cr_assert_eq(gb_parse_long("1001", 0, 1000, &l), GB_EINVAL);
	cr_assert_eq(gb_parse_long("", 0, 1000, &l), GB_EINVAL);
}

/* gb_grow: room for element n, from first slots, doubling; a failure leaves the array as it was. */
Test(util, grow_makes_room_doubling_and_fails_without_touching_the_array)
{
	int *a = NULL;
	size_t cap = 0, n;
	long *big = NULL;
	size_t bigcap = 0;

	cr_assert_eq(gb_grow(&a, 0, &cap, sizeof(*a), 4), 0);
	cr_assert_eq(cap, 4);
	for (n = 0; n < 4; n++)
		a[n] = (int)n;
	cr_assert_eq(gb_grow(&a, 3, &cap, sizeof(*a), 4), 0, "room for element 3 already");
	cr_assert_eq(cap, 4);
	cr_assert_eq(gb_grow(&a, 4, &cap, sizeof(*a), 4), 0);
	cr_assert_eq(cap, 8);
	cr_assert_eq(a[3], 3, "the elements are kept");
	cr_assert_eq(gb_grow(&a, 40, &cap, sizeof(*a), 4), 0, "more than twice: doubled until it fits");
	cr_assert_eq(cap, 64);
	a[40] = 40;
	cr_assert_eq(gb_grow(&big, 0, &bigcap, sizeof(*big), 0), 0, "first 0 means one slot");
	cr_assert_eq(bigcap, 1);
	cr_assert_eq(gb_grow(&big, SIZE_MAX / 2, &bigcap, sizeof(*big), 0), GB_ENOMEM);
	cr_assert_eq(bigcap, 1, "a failure leaves the capacity");
	cr_assert_not_null(big, "and the array");
	free(a);
	free(big);
}

Test(util, case_insensitive_helpers_are_ascii_only)
{
	cr_assert(gb_str_iequal("CN=Users", "cn=users"));
	cr_assert(!gb_str_iequal("a", NULL));
	cr_assert(gb_str_ihas_prefix("LDAPS://dc", "ldaps://"));
	cr_assert(!gb_str_ihas_prefix("ldap", "ldaps://"));
	cr_assert(gb_str_has_prefix("Group_abc", "Group_"));
}

static char *tmpfile_with(const char *content, mode_t mode)
{
	char *path = strdup("/tmp/gb-test-secret-XXXXXX");
	int fd = mkstemp(path);

	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	fchmod(fd, mode);
	close(fd);
	return path;
}

/* Writes content to a new file of that mode, reads it as a secret into *s and removes it; returns what the read
 * returned. */
static int read_secret(const char *content, mode_t mode, char **s, gb_error *err)
{
	char *path = tmpfile_with(content, mode);
	int rc = gb_secret_read_file(path, s, err);

	unlink(path);
	free(path);
	return rc;
}

Test(secret, private_file_is_read_without_its_newline)
{
	char *s = NULL;
	gb_error err;

	cr_assert_eq(read_secret("s3cret-value\r\n", 0600, &s, &err), 0, "%s", err.msg);
	cr_assert_str_eq(s, "s3cret-value");
	gb_secret_free(s);
}

Test(secret, file_readable_by_others_is_refused_without_revealing_it)
{
	char *s = NULL;
	gb_error err;

	cr_assert_eq(read_secret("s3cret-value\n", 0644, &s, &err), GB_ECONFIG);
	cr_assert_null(s);
	cr_assert(strstr(err.msg, "chmod 600") != NULL, "%s", err.msg);
	cr_assert(strstr(err.msg, "s3cret") == NULL);
	cr_assert_eq(read_secret("s3cret-value\n", 0640, &s, &err), GB_ECONFIG);
}

Test(secret, empty_and_missing_files_are_refused)
{
	char *path = tmpfile_with("\n", 0600), *s = NULL;
	gb_error err;

	cr_assert_eq(gb_secret_read_file(path, &s, &err), GB_ECONFIG);
	cr_assert(strstr(err.msg, "empty") != NULL);
	unlink(path);
	cr_assert_eq(gb_secret_read_file(path, &s, &err), GB_ECONFIG);
	free(path);
	cr_assert_eq(gb_secret_read_env("GB_TEST_SURELY_UNSET_VAR", &s, &err), GB_ECONFIG);
}

Test(log, registered_secrets_are_redacted_everywhere)
{
	char out[256];
	FILE *f = tmpfile();
	char line[512] = {0};

	cr_assert_eq(gb_log_add_secret("hunter2-password"), 0);
	gb_log_add_secret("ab"); /* too short to redact safely: ignored */
	gb_log_redact("bind with hunter2-password failed; hunter2-password again, ab", out, sizeof(out));
	cr_assert_str_eq(out, "bind with [secret] failed; [secret] again, ab");
	gb_log_setup(GB_LOG_DEBUG, 1, f);
	gb_debug("ldap", "token %s \"quoted\"", "hunter2-password");
	rewind(f);
	cr_assert_not_null(fgets(line, sizeof(line), f));
	cr_assert(strstr(line, "hunter2") == NULL, "%s", line);
	cr_assert(strstr(line, "\"level\":\"debug\"") != NULL, "%s", line);
	cr_assert(strstr(line, "\\\"quoted\\\"") != NULL, "%s", line);
	gb_log_clear_secrets();
	gb_log_redact("hunter2-password", out, sizeof(out));
	cr_assert_str_eq(out, "hunter2-password");
	fclose(f);
	gb_log_setup(GB_LOG_INFO, 0, NULL);
}

/* A JSON log line is JSON whatever the message holds: control characters, quotes, and bytes that are not UTF-8 (a
 * value from a broken source), which become U+FFFD. */
Test(log, json_lines_stay_json_with_hostile_messages)
{
	FILE *f = tmpfile();
	char line[512] = {0};
	json_error_t jerr;
	json_t *j;

	gb_log_setup(GB_LOG_DEBUG, 1, f);
	gb_info("mod\"ule", "tab\t cr\r esc\x1b quote\" bs\\ bad\xff\xc3 cut\xe2\x82 ok \xc3\xa9");
	rewind(f);
	cr_assert_not_null(fgets(line, sizeof(line), f));
	j = json_loads(line, 0, &jerr);
	cr_assert_not_null(j, "not JSON (%s): %s", jerr.text, line);
	cr_assert_str_eq(json_string_value(json_object_get(j, "level")), "info");
	cr_assert_str_eq(json_string_value(json_object_get(j, "module")), "mod\"ule");
	cr_assert_str_eq(json_string_value(json_object_get(j, "message")),
			 "tab\t cr\r esc\x1b quote\" bs\\ bad\xef\xbf\xbd\xef\xbf\xbd cut\xef\xbf\xbd\xef\xbf\xbd ok \xc3\xa9");
	cr_assert_eq(strncmp(line, "{\"time\":\"", 9), 0, "%s", line);
	cr_assert(strstr(line, "\",\"level\":\"info\",\"module\":") != NULL, "keys in order, compact: %s", line);
	json_decref(j);
	fclose(f);
	gb_log_setup(GB_LOG_INFO, 0, NULL);
}

Test(log, quiet_level_drops_info_and_debug)
{
	FILE *f = tmpfile();

	gb_log_setup(GB_LOG_QUIET, 0, f);
	gb_info("x", "hello");
	gb_debug("x", "hello");
	gb_err("x", "bad");
	cr_assert_eq(ftell(f), (long)strlen("groupbridge: error: x: bad\n"));
	fclose(f);
	gb_log_setup(GB_LOG_INFO, 0, NULL);
}

Test(util, uuid_is_version_4)
{
	char a[37], b[37];

	cr_assert_eq(gb_uuid_v4(a, sizeof(a), NULL), 0);
	cr_assert_eq(gb_uuid_v4(b, sizeof(b), NULL), 0);
	cr_assert_eq(strlen(a), 36);
	cr_assert_eq(a[14], '4');
	cr_assert(strchr("89ab", a[19]) != NULL);
	cr_assert_str_neq(a, b);
}

Test(util, atomic_write_replaces_whole_file_with_mode)
{
	char path[] = "/tmp/gb-test-atomic-XXXXXX";
	int fd = mkstemp(path);
	struct stat st;
	gb_buf b;

	close(fd);
	cr_assert_eq(gb_write_file_atomic(path, "new content", 11, 0600, NULL), 0);
	gb_buf_init(&b, 100);
	cr_assert_eq(gb_read_file(path, &b, NULL), 0);
	cr_assert_str_eq(gb_buf_cstr(&b), "new content");
	stat(path, &st);
	cr_assert_eq(st.st_mode & 0777, 0600);
	gb_buf_free(&b);
	gb_buf_init(&b, 4);
	cr_assert_eq(gb_read_file(path, &b, NULL), GB_ETOOBIG);
	gb_buf_free(&b);
	unlink(path);
}

Test(log, pinned_secrets_survive_many_token_renewals)
{
	char token[32], out[128];
	int i;

	cr_assert_eq(gb_log_pin_secret("client-secret-value"), 0);
	for (i = 0; i < 200; i++) {
		snprintf(token, sizeof(token), "token-number-%04d", i);
		cr_assert_eq(gb_log_add_secret(token), 0);
	}
	gb_log_redact("client-secret-value token-number-0199", out, sizeof(out));
	cr_assert_str_eq(out, "[secret] [secret]");
	gb_log_redact("token-number-0000", out, sizeof(out));
	cr_assert_str_eq(out, "token-number-0000", "the oldest tokens make room");
	gb_log_clear_secrets();
}

/* ---- UTF-8 (RFC 3629): the one decoder of the expression language, the plan writer, the reports and the log ---- */

Test(utf8, decode_takes_shortest_forms_only)
{
	static const struct {
		const char *s;
		size_t n, len;
		uint32_t cp;
	} cases[] = {
	    {"A", 1, 1, 'A'},
	    {"\xc3\xa9", 2, 2, 0xE9},
	    {"\xe2\x82\xac", 3, 3, 0x20AC},
	    {"\xf0\x9f\x98\x80", 4, 4, 0x1F600},
	    {"\xf4\x8f\xbf\xbf", 4, 4, 0x10FFFF},
	    {"\xef\xbf\xbf", 3, 3, 0xFFFF},
	    {"\xc0\xaf", 2, 0, 0},             /* overlong '/' */
	    {"\xc1\xbf", 2, 0, 0},             /* overlong */
	    {"\xe0\x9f\xbf", 3, 0, 0},         /* overlong 3-byte */
	    {"\xf0\x8f\xbf\xbf", 4, 0, 0},     /* overlong 4-byte */
	    {"\xed\xa0\x80", 3, 0, 0},         /* surrogate U+D800 */
	    {"\xed\xbf\xbf", 3, 0, 0},         /* surrogate U+DFFF */
	    {"\xf4\x90\x80\x80", 4, 0, 0},     /* above U+10FFFF */
	    {"\xf5\x80\x80\x80", 4, 0, 0},     /* lead byte F5 */
	    {"\xff", 1, 0, 0},
	    {"\x80", 1, 0, 0},                 /* continuation byte alone */
	    {"\xe2\x82\xac", 2, 0, 0},         /* cut by n */
	    {"\xe2\x28\xa1", 3, 0, 0},         /* second byte not a continuation */
	    {"", 0, 0, 0},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t cp = 0;
		size_t len = gb_utf8_decode(cases[i].s, cases[i].n, &cp);

		cr_assert_eq(len, cases[i].len, "case %zu: length %zu", i, len);
		if (len)
			cr_assert_eq(cp, cases[i].cp, "case %zu: U+%04X", i, (unsigned)cp);
	}
}

Test(utf8, encode_is_decode_reversed)
{
	static const uint32_t cps[] = {0, 0x7F, 0x80, 0x7FF, 0x800, 0xD7FF, 0xE000, 0xFFFD, 0x10000, 0x10FFFF};
	size_t i;

	for (i = 0; i < sizeof(cps) / sizeof(cps[0]); i++) {
		char b[4];
		uint32_t back = 1;
		size_t n = gb_utf8_encode(cps[i], b);

		cr_assert_eq(gb_utf8_decode(b, n, &back), n);
		cr_assert_eq(back, cps[i]);
	}
}

Test(utf8, clean_replaces_each_bad_byte)
{
	static const char bad[] = "a\xff" "b\xc3\xa9\xe2\x82" "c\xed\xa0\x80";
	size_t n = 0;
	char *s = gb_utf8_clean(bad, sizeof(bad) - 1, 0, &n);

	cr_assert_str_eq(s, "a\xef\xbf\xbd" "b\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd" "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	cr_assert_eq(n, strlen(s));
	cr_assert(gb_utf8_valid(s, n));
	cr_assert_not(gb_utf8_valid(bad, sizeof(bad) - 1));
	cr_assert(gb_utf8_valid("", 0));
	free(s);
}
