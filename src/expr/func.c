/* func.c: the function table: names, argument counts, which arguments may be left empty. */
#include <string.h>

#include "expr/expr_int.h"
#include "groupbridge/util.h"

#define OPT(i) (1u << (i))

static const func_def funcs[] = {
	{"Append", 2, 2, 0, 0, gb_expr__fn_append},
	{"BitAnd", 2, 2, 0, 0, gb_expr__fn_bitand},
	{"CBool", 1, 1, 0, 0, gb_expr__fn_cbool},
	{"CDate", 1, 1, 0, 0, gb_expr__fn_cdate},
	{"Coalesce", 1, -1, 0, 0, gb_expr__fn_coalesce},
	{"ConvertFromBase64", 1, 2, OPT(1), 0, gb_expr__fn_from_base64},
	{"ConvertToBase64", 1, 1, 0, 0, gb_expr__fn_to_base64},
	{"ConvertToUTF8Hex", 1, 1, 0, 0, gb_expr__fn_to_utf8hex},
	{"Count", 1, 1, 0, 0, gb_expr__fn_count},
	{"CRef", 1, 1, 0, 0, gb_expr__fn_cstr},
	{"CStr", 1, 1, 0, 0, gb_expr__fn_cstr},
	{"DateAdd", 3, 3, 0, 0, gb_expr__fn_dateadd},
	{"DateDiff", 3, 3, 0, 0, gb_expr__fn_datediff},
	{"DateFromNum", 1, 1, 0, 0, gb_expr__fn_datefromnum},
	{"DNComponent", 2, 2, 0, 0, gb_expr__fn_dncomponent},
	{"Error", 1, 1, 0, 0, gb_expr__fn_error},
	{"FormatDateTime", 3, 4, OPT(1), 0, gb_expr__fn_formatdatetime},
	{"Guid", 0, 0, 0, F_NONDET, gb_expr__fn_guid},
	{"IgnoreFlowIfNullOrEmpty", 1, 1, 0, 0, gb_expr__fn_ignoreflow},
	{"IIF", 3, 3, 0, 0, gb_expr__fn_iif},
	{"InStr", 2, 4, OPT(2) | OPT(3), 0, gb_expr__fn_instr},
	{"IsNull", 1, 1, 0, 0, gb_expr__fn_isnull},
	{"IsNullOrEmpty", 1, 1, 0, 0, gb_expr__fn_isnullorempty},
	{"IsPresent", 1, 1, 0, 0, gb_expr__fn_ispresent},
	{"IsString", 1, 1, 0, 0, gb_expr__fn_isstring},
	{"Item", 2, 2, 0, 0, gb_expr__fn_item},
	{"Join", 2, -1, 0, 0, gb_expr__fn_join},
	{"Left", 2, 2, 0, 0, gb_expr__fn_left},
	{"Mid", 3, 3, 0, 0, gb_expr__fn_mid},
	{"NormalizeDiacritics", 1, 1, 0, 0, gb_expr__fn_normalize},
	{"Not", 1, 1, 0, 0, gb_expr__fn_not},
	{"Now", 0, 0, 0, F_NONDET, gb_expr__fn_now},
	{"NumFromDate", 1, 1, 0, 0, gb_expr__fn_numfromdate},
	{"PCase", 1, 2, OPT(1), 0, gb_expr__fn_pcase},
	{"RandomString", 5, 6, OPT(5), F_NONDET, gb_expr__fn_randomstring},
	{"Redact", 1, 1, 0, 0, gb_expr__fn_redact},
	{"RemoveDuplicates", 1, 1, 0, 0, gb_expr__fn_removedups},
	{"Replace", 2, 7, OPT(1) | OPT(2) | OPT(3) | OPT(4) | OPT(5) | OPT(6), 0, gb_expr__fn_replace},
	{"Split", 2, 2, 0, 0, gb_expr__fn_split},
	{"StripSpaces", 1, 1, 0, 0, gb_expr__fn_stripspaces},
	{"Switch", 4, -1, OPT(1), 0, gb_expr__fn_switch},
	{"ToLower", 1, 2, OPT(1), 0, gb_expr__fn_tolower},
	{"ToUpper", 1, 2, OPT(1), 0, gb_expr__fn_toupper},
	{"Trim", 1, 1, 0, 0, gb_expr__fn_trim},
	{"Word", 3, 3, 0, 0, gb_expr__fn_word},
};

const func_def *gb_expr__func_find(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(funcs) / sizeof(funcs[0]); i++)
		if (strlen(funcs[i].name) == len && gb_str_ihas_prefix(name, funcs[i].name))
			return &funcs[i];
	return NULL;
}
