/*
 * expr.h: Microsoft's provisioning expression language (Cloud Sync / app provisioning attribute mappings).
 *
 * An expression is parsed once into an immutable tree (gb_expr) and evaluated many times, once per group, with a
 * callback that supplies the group's attributes. Sources: the reference's sections 2.9-2.11 and Microsoft's two
 * function references ("Reference for writing expressions for attribute mappings", app provisioning, 08/2024, and
 * "Microsoft Entra Cloud Sync expressions and function reference", 11/2023). Where those are silent or disagree,
 * the choice made here is written next to the function below; the rule for choosing was "never lose data": an
 * ambiguous case is an evaluation error (the group's error) rather than a guessed value.
 *
 * SYNTAX
 *   [attributeName]      an attribute of the object; any characters but '[', ']' and line breaks; passed to the
 *                        lookup callback exactly as written (Graph names are case-insensitive: callers should
 *                        compare names case-insensitively)
 *   "text"               a string; inside it "\\" is one backslash and "\"" is a quotation mark. A backslash
 *                        before any other character is kept as written: "\," is the two characters \ and , and
 *                        "\2C" the three characters \ 2 C. That is the only reading under which Microsoft's
 *                        published GroupDN expressions work (they pass "\," and "\2C" to Replace to protect the
 *                        escaped commas of a DN), and it is also how "\\d" in Microsoft's regex examples becomes \d.
 *   123, -10, &HF7       integers (decimal, or VBA hexadecimal as in BitAnd(&HF, &HF7)), 64-bit
 *   True, False          booleans (any case)
 *   vbTextCompare, vbBinaryCompare, Unicode, UTF8, ASCII    the enumeration names InStr and ConvertFromBase64 take
 *   Name(arg, , arg)     a function call; an empty position is an omitted optional argument, as in
 *                        Replace([x], "\,", , , "\2C", , ). Function names are matched without regard to case,
 *                        because Microsoft's own published container expression writes "Instr" for InStr.
 *   a & b                string concatenation (the Cloud Sync reference's IIF example uses it)
 *   a = b, a <> b, a > b, a >= b, a < b, a <= b           comparisons (one per operand pair; no AND/OR: nest IIF)
 *
 * Everything is case-sensitive where Microsoft says so: Switch keys, Replace, InStr (unless vbTextCompare), =, <>.
 *
 * VALUES
 * A value is null (an absent attribute), a string, a boolean, an integer, or a list of strings (a multi-valued
 * attribute, or Split's result). Booleans print as "True"/"False", integers in decimal. A list of one string is
 * used as that string wherever a single value is expected; a list of several there is an evaluation error. Lengths
 * and positions (Left, Mid, InStr, Word...) count Unicode characters (code points), never splitting one; .NET counts
 * UTF-16 units, which differs only for characters outside the Basic Multilingual Plane.
 *
 * FUNCTIONS (name: behaviour; [n] marks a choice made where Microsoft is silent)
 *   Append(source, suffix)         source followed by suffix; a null side counts as "" [as VBA's &]
 *   BitAnd(v1, v2)                 bitwise AND of two integers
 *   CBool(x)                       True for a non-zero number, True/"True"; False for 0, False/"False" (any case);
 *                                  anything else, null included, is an error [VBA errors on Null]
 *   CDate(s)                       the date/time s (ISO 8601, "yyyy-MM-dd±hh:mm", or "M/d/yyyy h:mm:ss tt") as UTC
 *                                  in "M/d/yyyy h:mm:ss tt"
 *   Coalesce(v1, ..., default)     the first argument that is not null (an empty string is not null); null if none
 *   ConvertFromBase64(s, enc)      decodes base64; enc Unicode (UTF-16LE, the default), UTF8 or ASCII. Spaces
 *                                  and line breaks are skipped, the text ends at the first '=', padding may be
 *                                  missing [lenient where .NET throws]; another character is an error naming its
 *                                  position, as are an odd byte count or an unpaired surrogate for Unicode
 *   ConvertToBase64(s)             base64 of s in UTF-16LE ("Unicode" in .NET), as Microsoft's example shows
 *   ConvertToUTF8Hex(s)            upper-case hex of s's UTF-8 bytes
 *   Count(attr)                    number of values; 0 for null
 *   CRef(x), CStr(x)               x as a reference / string; null stays null
 *   DateAdd(interval, n, date)     date plus n intervals (yyyy, m, d, ww, h, n, s); months clamp the day to the
 *                                  month's end as .NET AddMonths does; result as CDate's
 *   DateDiff(interval, d1, d2)     d2 - d1 counted in interval boundaries crossed, as VBA's DateDiff ("ww" counts
 *                                  Sundays); this gives every result in Microsoft's table
 *   DateFromNum(n)                 AD's 100-ns ticks since 1601 as a date (CDate's format)
 *   DNComponent(dn, n)             the unescaped value of the n-th RDN from the left (1-based); null when out of
 *                                  range; escaped commas ("\," and "\2C") are honoured
 *   Error(message)                 an evaluation error carrying message
 *   FormatDateTime(s, [styles,] inputFormat, outputFormat)   reparses s with a .NET custom format and writes it
 *                                  with another; both the 3-argument (Cloud Sync) and 4-argument (app provisioning,
 *                                  dateTimeStyles ignored) forms; specifiers y.. M.. (MMM/MMMM English month
 *                                  names) d.. (ddd/dddd day names) h hh H HH m mm s ss f..fffffff F..FFFFFFF t tt
 *                                  z zz zzz K, '...' "..." quoted text and \c; other characters are literal, as
 *                                  in .NET. No time-zone conversion: the fields read are the fields written [a
 *                                  conversion would need a culture and zone Microsoft does not state]
 *   Guid()                         a new random GUID in lower case (non-deterministic: see gb_expr_is_deterministic)
 *   IgnoreFlowIfNullOrEmpty(x)     x, or GB_EXPR_IGNORE when x is null or "" (the attribute is not written);
 *                                  nested inside another function it acts as null
 *   IIF(cond, ifTrue, ifFalse)     only the chosen branch is evaluated. cond must be a boolean, "True"/"False" or a
 *                                  number; a null cond is an error [discrepancy 10: Microsoft documents that IIF
 *                                  "fails" on null sources yet publishes IIF(IsPresent([ext]), ...); IsPresent and
 *                                  the comparisons never yield null, so those published forms work]
 *   InStr(s, find, start, compare) 1-based position of find in s from start (default 1), 0 when absent or when s is
 *                                  "" ; compare vbBinaryCompare (default) or vbTextCompare (case-insensitive);
 *                                  null s gives null; start < 1 is an error
 *   IsNull(x), IsNullOrEmpty(x), IsPresent(x)   null tests; an empty list counts as null
 *   IsString(x)                    True unless x is null or a list of several values
 *   Item(attr, index)              the index-th value (1-based); an index out of range is an error (Cloud Sync
 *                                  reference); null attr gives null
 *   Join(separator, v1, ...)       lists are expanded; null and empty values are skipped, as Microsoft's
 *                                  Join(", ", "", [surname], [givenName]) = "Doe, John" shows
 *   Left(s, n)                     first n characters; n = 0 gives "", n < 0 gives s, null s gives "" (documented)
 *   Mid(s, start, length)          1-based; past the end gives ""; start < 1 or length < 0 is an error [VBA does the
 *                                  same]; null s gives null
 *   NormalizeDiacritics(s)         Microsoft's table (ä→a, æ→ae, ß→ss, ø→oe...), and combining marks removed
 *   Not(x)                         False when x is True/"True", otherwise True (as documented, null included)
 *   Now()                          the current UTC time as "M/d/yyyy h:mm:ss tt" (non-deterministic)
 *   NumFromDate(s)                 the date s as AD's 100-ns ticks since 1601 (an integer)
 *   PCase(s, separators)           first letter of each word upper case, the rest lower case (Microsoft's example
 *                                  "PABLO GONSALVES (SECOND)" → "Pablo Gonsalves (Second)"); words are split on the
 *                                  given characters, or by default on anything that is not a letter, digit or mark
 *   RandomString(len, digits, special, upper, lower, avoid)  a random string from the OS random source; len <= 256
 *                                  and at least the sum of the minimums (non-deterministic)
 *   Redact(x)                      x, marked redacted (gb_expr_value_redacted) so that logs never show it
 *   RemoveDuplicates(attr)         the values without repeats (case-sensitive), first occurrence kept
 *   Replace(source, oldValue, regexPattern, regexGroupName, replacementValue, replacementAttributeName, template)
 *                                  the mode is fixed at parse time by the arguments present:
 *                                    oldValue+replacementValue: every occurrence replaced (case-sensitive)
 *                                    oldValue+template: oldValue in template replaced by source
 *                                    regexPattern+replacementValue: every match replaced; $1, ${name}, $$ expand
 *                                    regexPattern+regexGroupName+replacementValue: the named group's text in every
 *                                      match replaced by replacementValue (taken literally)
 *                                    regexPattern+regexGroupName+replacementAttributeName: source when it has a
 *                                      value, else the named group of the first match in replacementAttributeName
 *                                      (the app provisioning reference; the older Cloud Sync page says otherwise)
 *                                  any other combination is a parse error. Regexes are PCRE2 (UTF, .NET-like named
 *                                  groups (?<name>...)), compiled once at parse time when the pattern is a literal,
 *                                  with bounded match, depth and heap limits. A null source gives null; a null or
 *                                  empty oldValue, null pattern or null replacementValue is an error [never guess]
 *   SelectUniqueValue(r1, r2, ...) is a parse error: Microsoft supports it only for HR-to-AD user provisioning and it
 *                                  needs uniqueness queries against the target, which an expression cannot make
 *   Split(s, delimiter)            a list; the delimiter is a whole string and may not be empty; values are not
 *                                  trimmed (Microsoft's example output drops a space; wrap in Trim to get that)
 *   StripSpaces(s)                 s without U+0020 characters
 *   Switch(source, default, key1, value1, ...)   the value of the first key equal to source (case-sensitive), else
 *                                  default (which may be omitted: null); a null source matches the key "" as
 *                                  Microsoft's workaround Switch([country], [country], "", "Other") requires
 *   ToLower(s, culture), ToUpper(s, culture)      Unicode simple case mapping (the invariant culture; a culture
 *                                  argument is accepted and not used)
 *   Trim(s)                        leading and trailing Unicode white space removed; applied to each value of a list
 *   Word(s, n, delimiters)         the n-th word, words being runs of characters between any of the delimiter
 *                                  characters (empty runs are not words); "" when n < 1, out of range or s null
 * ToLower, ToUpper, StripSpaces, NormalizeDiacritics and PCase also apply to each value of a list. String
 * functions not mentioned give null for a null source.
 *
 * MICROSOFT'S PUBLISHED GROUP EXPRESSIONS (reference 2.10), as this evaluator computes them (tests/unit/test_expr.c):
 *   GroupDN "CN=Finance-App-Access,OU=Groups,DC=contoso,DC=com":
 *     container "OU=Groups,DC=contoso,DC=com", cn "Finance-App-Access" (the documented worked example)
 *   GroupDN "CN=Sales\, EMEA,OU=Groups,DC=contoso,DC=com":
 *     container "OU=Groups,DC=contoso,DC=com", cn "Sales, EMEA" (the escaped comma is protected as \2C and the cn
 *     is restored to a plain comma, which is right: cn is the unescaped attribute value)
 *   GroupDN "CN=Sales,OU=EMEA\, West,DC=contoso,DC=com" (discrepancy 12):
 *     container "OU=EMEA, West,DC=contoso,DC=com". The final Replace restores "\2C" to a bare comma, not to "\,",
 *     so the container is no longer the original OU's DN (it now parses as RDNs "OU=EMEA" and " West"). The
 *     evaluator computes exactly what Microsoft's text says; the provisioning engine must validate the resulting DN
 *     (and the write fence refuses it) rather than the evaluator silently "fixing" Microsoft's expression.
 *   GroupDN "CN=R\+D \"Lab\",OU=Groups,DC=contoso,DC=com" (escapes other than the comma):
 *     container "OU=Groups,DC=contoso,DC=com" (right: a container is a DN and keeps its escapes), but cn
 *     "R\+D \"Lab\"" with the backslashes still in it: Microsoft's cn expression unescapes only commas, so a CN
 *     holding + " \ < > ; = # or a leading/trailing space comes back different from the original cn. The engine
 *     should compare such a result with the unescaped RDN value (DNComponent gives it) and report the difference
 *     rather than rename the group.
 *   GroupDN absent: the container is the default OU string; the cn is the default cn below.
 *   GroupDN "CN=Solo" (no comma): the container expression is an evaluation error (InStr gives 0 and Mid(x, 0, ...)
 *     is an error), so such a group is an error, never put in a made-up container.
 *   default cn Append(Append(Left(Trim([displayName]), 51), "_"), Mid([objectId], 25, 12)) with displayName
 *     "  Sales Team  " and objectId "00aa00aa-bb11-cc22-dd33-44ee44ee44ee" gives "Sales Team_44ee44ee44ee".
 *
 * LIMITS (hostile input fails cleanly with GB_ETOOBIG or GB_EPARSE/GB_EINVAL, never a crash or unbounded work):
 * expression text GB_EXPR_MAX_TEXT bytes, nesting GB_EXPR_MAX_DEPTH levels, any string value GB_EXPR_MAX_STRING
 * bytes, any list GB_EXPR_MAX_ITEMS values, all memory of one evaluation GB_EXPR_MAX_WORK bytes, one evaluation
 * GB_EXPR_MAX_TIME_MS of wall-clock time, regex patterns GB_EXPR_MAX_PATTERN bytes with PCRE2 match, depth and heap
 * limits per match.
 *
 * THREADS: a parsed gb_expr is read-only during evaluation; several threads may evaluate it at once.
 */
#ifndef GROUPBRIDGE_EXPR_H
#define GROUPBRIDGE_EXPR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "groupbridge/buf.h"
#include "groupbridge/error.h"

#define GB_EXPR_MAX_TEXT ((size_t)64 * 1024)
#define GB_EXPR_MAX_DEPTH 64
#define GB_EXPR_MAX_STRING ((size_t)256 * 1024)
#define GB_EXPR_MAX_ITEMS ((size_t)65536)
#define GB_EXPR_MAX_WORK ((size_t)32 * 1024 * 1024)
#define GB_EXPR_MAX_TIME_MS 2000
#define GB_EXPR_MAX_PATTERN ((size_t)4096)

typedef struct gb_expr gb_expr;
typedef struct gb_expr_value gb_expr_value;

typedef enum gb_expr_type {
	GB_EXPR_NULL = 0, /* absent: the attribute is cleared / the mapping's "default value if null" applies */
	GB_EXPR_STRING,
	GB_EXPR_BOOL,
	GB_EXPR_INT,
	GB_EXPR_LIST,     /* several strings (a multi-valued attribute) */
	GB_EXPR_IGNORE    /* IgnoreFlowIfNullOrEmpty at the top: do not write the attribute at all */
} gb_expr_type;

/* An attribute as the lookup callback reports it. The callback receives it zeroed (absent). For a single value set
 * value; for a multi-valued attribute set values and count (value NULL). Pointers are borrowed: they must stay
 * valid until the callback is next called or gb_expr_eval returns (the evaluator copies them). */
typedef struct gb_expr_attr {
	const char *value;
	const char *const *values;
	size_t count;
} gb_expr_attr;

/* Supplies attribute name (as written between the brackets) of the object the caller is evaluating for. Returns 0
 * (leaving *out zeroed when the object has no such attribute) or a negative GB_E* code with err set, which aborts
 * the evaluation with that error. */
typedef int (*gb_expr_lookup_fn)(const char *name, void *user, gb_expr_attr *out, gb_error *err);

/* Parses text (NUL-terminated, at most GB_EXPR_MAX_TEXT bytes) into *out. On failure returns GB_EPARSE (or
 * GB_ETOOBIG for an over-long text, GB_ENOMEM) with the message "expression:COL: what is wrong", COL being the
 * 1-based character column in text (line breaks count as one character) where the problem starts. Unknown
 * functions, wrong argument counts (naming the function), omitted required arguments, Switch without key/value
 * pairs, an unsupported Replace combination and an invalid literal regex are parse errors. The caller frees *out
 * with gb_expr_free. */
int gb_expr_parse(const char *text, gb_expr **out, gb_error *err);

/* Frees a parsed expression; NULL is fine. */
void gb_expr_free(gb_expr *e);

/* The text the expression was parsed from. Borrowed, lives as long as e. */
const char *gb_expr_text(const gb_expr *e);

/* False when e calls Guid, Now or RandomString: evaluating it twice may give different values, so a mapping using
 * it must only be applied when an object is created (otherwise every run would rewrite the attribute). */
bool gb_expr_is_deterministic(const gb_expr *e);

/* True when e is a single string literal (a constant mapping); *out (may be NULL) gets the borrowed value. */
bool gb_expr_is_constant(const gb_expr *e, const char **out);

/* Reads the column out of a parse error's message ("expression:COL: ..."); 0 when the message has none. */
size_t gb_expr_error_column(const gb_error *err);

/* Appends to out the line of text that holds character column col, a newline, and a caret line ("    ^") under
 * that column, tabs kept so the caret lines up. GB_EINVAL when col is 0 or past the end; buffer errors as
 * gb_buf_append. */
int gb_expr_caret(const char *text, size_t col, gb_buf *out, gb_error *err);

/* Evaluates e for one object, calling lookup for each attribute reference as it is reached (lazily: IIF and Switch
 * evaluate only the branch they choose). On success *out is a new value the caller frees with
 * gb_expr_value_free. On failure returns GB_EINVAL (a function's error, such as Mid with start 0, an Item index
 * out of range, a regex failure or Error(); the message names the function and its column), GB_ETOOBIG (a limit
 * above) or the callback's code, with err set. */
int gb_expr_eval(const gb_expr *e, gb_expr_lookup_fn lookup, void *user, gb_expr_value **out, gb_error *err);

/* Evaluates e to one string: *out is a new string (free()) for a string, boolean ("True"/"False"), integer or
 * one-value list; *out stays NULL (and 0 is returned) for null and for GB_EXPR_IGNORE, which the caller tells
 * apart with gb_expr_eval when it matters. A list of several values is GB_EINVAL. */
int gb_expr_eval_string(const gb_expr *e, gb_expr_lookup_fn lookup, void *user, char **out, gb_error *err);

/* Value accessors. All return borrowed data that lives as long as v; v may be NULL (treated as null). */
gb_expr_type gb_expr_value_type(const gb_expr_value *v);
/* The string of a GB_EXPR_STRING value (also a one-value list); NULL for other types. */
const char *gb_expr_value_str(const gb_expr_value *v);
/* The boolean of a GB_EXPR_BOOL value; false for others. */
bool gb_expr_value_bool(const gb_expr_value *v);
/* The integer of a GB_EXPR_INT value; 0 for others. */
int64_t gb_expr_value_int(const gb_expr_value *v);
/* Number of values: 0 for null/ignore, 1 for a string, boolean or integer, n for a list. */
size_t gb_expr_value_count(const gb_expr_value *v);
/* The i-th value (0-based) as text (booleans "True"/"False", integers in decimal); NULL when i >= count. */
const char *gb_expr_value_item(const gb_expr_value *v, size_t i);
/* True when the value went through Redact(): never log it. */
bool gb_expr_value_redacted(const gb_expr_value *v);
/* The elementary steps the evaluation that made v spent in its string searches and list passes (characters
 * scanned, pattern fall-backs, delimiter lookups, comparisons): a deterministic measure of work, so that a test can
 * prove that hostile input stays linear without timing anything. 0 for NULL. */
uint64_t gb_expr_value_work(const gb_expr_value *v);
/* Frees a value; NULL is fine. */
void gb_expr_value_free(gb_expr_value *v);

#endif
