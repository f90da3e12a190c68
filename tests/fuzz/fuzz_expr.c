/* libFuzzer target for the expression language: parse any text, and when it parses, evaluate it against a fixed
 * set of attributes (single, empty, multi-valued, DNs with escaped commas, invalid UTF-8). Also exercises the
 * error-column and caret helpers on parse errors. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/buf.h"
#include "groupbridge/expr.h"
#include "groupbridge/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const multi[] = {"SMTP:a@contoso.com", "smtp:b@contoso.com", "", "SMTP:a@contoso.com"};

static const struct {
	const char *name, *value;
} attrs[] = {
	{"displayName", "  Sales Team  "},
	{"objectId", "00aa00aa-bb11-cc22-dd33-44ee44ee44ee"},
	{"description", "Team of sellers, EMEA"},
	{"extension_0a1b2c3d4e5f60718293a4b5c6d7e8f9_GroupDN", "CN=Sales\\, EMEA,OU=EMEA\\, West,DC=contoso,DC=com"},
	{"dn", "CN=Finance-App-Access,OU=Groups,DC=contoso,DC=com"},
	{"empty", ""},
	{"num", "42"},
	{"date", "2021-06-30+08:00"},
	{"flag", "True"},
	{"bad", "ab\xff\xfe" "c\xc3"},
	{"accent", "Zoë Łódź straße"},
};

static int lookup(const char *name, void *user, gb_expr_attr *out, gb_error *err)
{
	size_t i;

	(void)user;
	(void)err;
	if (gb_str_iequal(name, "proxyAddresses")) {
		out->values = multi;
		out->count = sizeof(multi) / sizeof(multi[0]);
		return 0;
	}
	if (gb_str_iequal(name, "fail"))
		return gb_error_set(err, GB_EIO, "lookup of %s failed", name);
	for (i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++)
		if (gb_str_iequal(name, attrs[i].name)) {
			out->value = attrs[i].value;
			return 0;
		}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;
	gb_expr *e = NULL;
	gb_expr_value *v = NULL;
	gb_error err;
	char *s = NULL;

	if (size > GB_EXPR_MAX_TEXT + 16)
		return 0;
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (gb_expr_parse(text, &e, &err) == 0) {
		size_t i, n;

		if (gb_expr_eval(e, lookup, NULL, &v, &err) == 0) {
			n = gb_expr_value_count(v);
			for (i = 0; i < n; i++)
				if (!gb_expr_value_item(v, i))
					abort();
			(void)gb_expr_value_str(v);
			gb_expr_value_free(v);
		}
		if (gb_expr_eval_string(e, lookup, NULL, &s, &err) == 0)
			free(s);
		(void)gb_expr_is_constant(e, NULL);
		gb_expr_free(e);
	} else {
		size_t col = gb_expr_error_column(&err);
		gb_buf b;

		if (col) {
			gb_buf_init(&b, GB_BUF_DEFAULT_MAX);
			(void)gb_expr_caret(text, col, &b, NULL);
			gb_buf_free(&b);
		}
	}
	free(text);
	return 0;
}
