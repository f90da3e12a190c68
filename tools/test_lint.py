#!/usr/bin/env python3
"""Unit tests of tools/lint.py on small samples written in this code base's style (`make lint` runs them first)."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lint  # noqa: E402


def body(n):
    """n lines of statements."""
    return "".join("\tx += %d;\n" % i for i in range(n))


def func(name, total, head="static int %s(void)\n"):
    """A function of exactly total lines, counted from the line naming it to its closing brace."""
    return (head % name) + "{\n" + body(total - 3) + "}\n"


def lengths(text):
    code, _ = lint.scan_c(text)
    return {name: last - first + 1 for name, first, last, _ in lint.functions(code)}


def offences(path, text, allow=()):
    return [(line, what) for _, line, what in lint.lint_file(path, text, list(allow))]


class FunctionLength(unittest.TestCase):
    def test_counts_from_the_name_to_the_closing_brace(self):
        self.assertEqual(lengths(func("f", 10)), {"f": 10})

    def test_a_parameter_list_over_several_lines_counts_from_the_line_of_the_name(self):
        text = "static int\nlong_head(int a,\n\t  int b)\n{\n" + body(3) + "}\n"
        self.assertEqual(lengths(text), {"long_head": 7})

    def test_braces_in_strings_comments_and_characters_do_not_count(self):
        text = ("int g(void)\n{\n\tconst char *s = \"{ \\\" {\";\n\tchar c = '{';\n\t/* { */\n"
                "\t// }\n\treturn s[0] == c;\n}\n")
        self.assertEqual(lengths(text), {"g": 8})

    def test_nested_blocks_and_compound_literals_stay_inside_the_function(self):
        text = ("static int h(int a)\n{\n\tif (a) {\n\t\tstruct p q = {1, {2}};\n\t}\n"
                "\tswitch (a) { case 1: { break; } }\n\treturn 0;\n}\n")
        self.assertEqual(lengths(text), {"h": 8})

    def test_tables_structs_and_enums_at_file_scope_are_not_functions(self):
        text = ("struct s {\n\tint a;\n};\nenum e { A, B };\nstatic const struct s t[] = {\n\t{1},\n\t{2},\n};\n"
                "typedef int (*fn)(int);\n" + func("after", 5))
        self.assertEqual(lengths(text), {"after": 5})

    def test_preprocessor_lines_and_macros_with_braces_are_skipped(self):
        text = ("#define BLOCK(x) do { x; } while (0)\n#define OPEN {\\\n\t}\n#if 1\n" + func("m", 6) + "#endif\n")
        self.assertEqual(lengths(text), {"m": 6})

    def test_attributes_after_the_parameters_are_skipped(self):
        text = "static void die(const char *m) __attribute__((noreturn))\n{\n\tabort();\n}\n"
        self.assertEqual(lengths(text), {"die": 4})

    def test_a_criterion_test_is_named_by_its_macro(self):
        self.assertEqual(lengths("Test(suite, name)\n{\n\tcr_assert(1);\n}\n"), {"Test": 4})

    def test_limit_is_inclusive(self):
        src = func("ok", 120) + func("long", 121)
        found = offences("src/core/x.c", src)
        self.assertEqual(found, [(121, "function long is 121 lines (at most 120)")])

    def test_only_src_steps_and_importers_are_held_to_the_limit(self):
        self.assertEqual(offences("tests/unit/test_x.c", func("long", 200)), [])
        self.assertEqual(len(offences("steps/step_x.c", func("long", 200))), 1)
        self.assertEqual(len(offences("importers/x.c", func("long", 200))), 1)


class GlobalNames(unittest.TestCase):
    def test_a_global_function_needs_the_prefix(self):
        text = "int helper(void)\n{\n\treturn 0;\n}\nstatic int local(void)\n{\n\treturn 0;\n}\n" \
               "int gb_x_do(void)\n{\n\treturn 0;\n}\nstatic inline int\nsmall(void)\n{\n\treturn 1;\n}\n"
        found = offences("src/x/x.c", text)
        self.assertEqual([(line, what.split(" (")[0]) for line, what in found],
                         [(1, "global function helper lacks the gb_ prefix")])

    def test_main_and_tests_are_free(self):
        self.assertEqual(offences("src/main.c", "int main(void)\n{\n\treturn 0;\n}\n"), [])
        self.assertEqual(offences("tests/unit/t.c", "int helper(void)\n{\n\treturn 0;\n}\n"), [])


class Banned(unittest.TestCase):
    def test_calls_are_found_with_their_line(self):
        text = "void f(char *d)\n{\n\tstrcpy(d, \"a\");\n\tstrcat (d, \"b\");\n\tint n = atoi(d);\n}\n"
        found = [(line, what.split(" (")[0]) for line, what in offences("tests/unit/t.c", text)]
        self.assertEqual(found, [(3, "banned function strcpy"), (4, "banned function strcat"),
                                 (5, "banned function atoi")])

    def test_safe_relatives_comments_strings_and_members_are_not_calls(self):
        text = ("void f(char *d, FILE *fp)\n{\n\tsnprintf(d, 4, \"%s\", \"sprintf(x)\");\n\tfgets(d, 4, fp);\n"
                "\tvsnprintf(d, 4, \"\", ap);\n\tstrtok_r(d, \",\", &s);\n\t/* gets(d) */\n\tops.gets(d);\n"
                "\tp->strcpy(d);\n\tmy_strcat(d);\n}\n")
        self.assertEqual(offences("tests/unit/x.c", text), [])

    def test_every_banned_name_is_found(self):
        for name in lint.BANNED:
            with self.subTest(name=name):
                self.assertEqual(len(offences("tests/x.c", "void f(void)\n{\n\t%s(a);\n}\n" % name)), 1)


class ZeroCap(unittest.TestCase):
    def test_a_buffer_without_its_cap_is_an_offence(self):
        text = "void f(void)\n{\n\tgb_buf_init(&b, 0);\n\tgb_buf_init(&c, 10);\n\tgb_buf_init(&d, GB_BUF_DEFAULT_MAX);\n}\n"
        self.assertEqual([line for line, _ in offences("tests/unit/t.c", text)], [3])


class Anchor(unittest.TestCase):
    LIT = "\"" + lint.ANCHOR_LITERAL + "\""

    def test_the_literal_in_code_is_an_offence(self):
        self.assertEqual([line for line, _ in offences("src/x.c", "const char *a =\n\t" + self.LIT + ";\n")], [2])

    def test_comments_are_documentation(self):
        self.assertEqual(offences("src/x.c", "/* writes " + lint.ANCHOR_LITERAL + " */\n"), [])

    def test_the_defining_header_and_listed_exceptions_are_allowed(self):
        self.assertEqual(offences(lint.ANCHOR_HOME, "#define X " + self.LIT + "\n"), [])
        allow = [("anchor", "tests/*")]
        self.assertEqual(offences("tests/a.sh", "ldapsearch " + lint.ANCHOR_LITERAL + "\n", allow), [])
        self.assertEqual(len(offences("bench/a.sh", "ldapsearch " + lint.ANCHOR_LITERAL + "\n", allow)), 1)

    def test_script_comments_do_not_count(self):
        self.assertEqual(offences("bench/a.sh", "# reads " + lint.ANCHOR_LITERAL + "\n"), [])


if __name__ == "__main__":
    unittest.main()
