/* expr_int.h: what the expression parser, evaluator and function files share (not public). */
#ifndef GROUPBRIDGE_EXPR_INT_H
#define GROUPBRIDGE_EXPR_INT_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "groupbridge/expr.h"

typedef enum {
	N_EMPTY,  /* an omitted optional argument */
	N_ATTR,   /* [name] */
	N_STR,    /* "text" */
	N_INT,    /* 12, -3, &HF */
	N_BOOL,   /* True, False */
	N_ENUM,   /* vbTextCompare and friends: evaluates to its name */
	N_CALL,   /* Name(args) */
	N_CONCAT, /* a & b & c */
	N_CMP     /* a op b */
} node_kind;

typedef enum { CMP_EQ, CMP_NE, CMP_LT, CMP_LE, CMP_GT, CMP_GE } cmp_op;

struct ctx;
struct node;
struct val;

typedef int (*func_impl)(struct ctx *c, const struct node *n, struct val *out);

#define F_NONDET 1u /* Guid, Now, RandomString */

typedef struct func_def {
	const char *name;
	int min, max;       /* argument counts; max -1 means no upper bound */
	unsigned optional;  /* bit i set: argument i may be an empty position */
	unsigned flags;
	func_impl impl;
} func_def;

typedef struct node {
	node_kind kind;
	size_t off;          /* byte offset of the node's first character in the text */
	char *text;          /* N_ATTR name, N_STR value, N_ENUM name (NUL-terminated) */
	size_t len;          /* bytes of text */
	int64_t num;         /* N_INT; N_BOOL as 0/1 */
	cmp_op op;           /* N_CMP */
	const func_def *fn;  /* N_CALL */
	struct node **args;  /* N_CALL arguments, N_CONCAT operands, N_CMP's two sides */
	size_t nargs;
	pcre2_code *re;      /* Replace with a literal pattern: compiled once at parse time */
	int mode;            /* Replace: which combination of arguments (REPL_*) */
} node;

enum { REPL_LITERAL = 1, REPL_TEMPLATE, REPL_REGEX, REPL_REGEX_GROUP, REPL_REGEX_ATTR };

struct gb_expr {
	char *text;
	node *root;
	bool deterministic;
	pcre2_match_context *mctx;
};

typedef enum { V_NULL, V_STR, V_BOOL, V_INT, V_LIST, V_IGNORE } val_type;

/* A value during evaluation; its memory belongs to the evaluation's arena. */
typedef struct val {
	val_type type;
	const char *s;   /* V_STR: NUL-terminated, no embedded NUL */
	size_t len;
	bool b;
	int64_t n;
	const char **items; /* V_LIST */
	size_t count;
	bool redacted;
} val;

typedef struct arena_block {
	struct arena_block *next;
	size_t used, cap;
	max_align_t data[];
} arena_block;

typedef struct ctx {
	const gb_expr *e;
	gb_expr_lookup_fn lookup;
	void *user;
	gb_error *err;
	arena_block *blocks;
	size_t total;        /* bytes allocated so far, bounded by GB_EXPR_MAX_WORK */
	int64_t deadline_ms;
	unsigned steps;
	uint64_t work;       /* elementary steps of searches and list passes (gb_expr_value_work) */
	bool redacted;       /* Redact() was evaluated: the result is never logged */
	pcre2_match_data *md; /* created on first use */
} ctx;

/* Arena and value helpers (eval.c). */
void *gb_expr__alloc(ctx *c, size_t n);
int gb_expr__err(ctx *c, const node *n, int code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
int gb_expr__oom(ctx *c);
int gb_expr__eval(ctx *c, const node *n, val *out);
int gb_expr__check_time(ctx *c, const node *n);
int gb_expr__set_str(ctx *c, const node *n, val *out, const char *s, size_t len); /* copies s */
int gb_expr__set_strbuf(ctx *c, const node *n, val *out, char *s, size_t len);    /* takes an arena string */
int gb_expr__set_null(val *out); /* a null result; returns 0, so that a function can end with it */
void gb_expr__set_bool(val *out, bool b);
void gb_expr__set_int(val *out, int64_t i);
bool gb_expr__is_null(const val *v);
/* Evaluates argument i; an omitted (empty) or missing argument gives *present false and a null value. */
int gb_expr__arg(ctx *c, const node *n, size_t i, val *out, bool *present);
/* Evaluates argument i as one string: *s NULL for null; lists of one collapse; several values are an error. */
int gb_expr__arg_str(ctx *c, const node *n, size_t i, const char **s, size_t *len);
/* Converts a value to one string as above (booleans True/False, integers decimal). */
int gb_expr__to_str(ctx *c, const node *n, const val *v, const char **s, size_t *len);
/* Evaluates argument i as an integer (a number, or a string holding one); null or empty is an error. */
int gb_expr__arg_int(ctx *c, const node *n, size_t i, int64_t *out);
int gb_expr__arg_int_opt(ctx *c, const node *n, size_t i, int64_t *out, bool *present);
/* Converts a value to a boolean (True/False, "True"/"False" any case, numbers); others are an error. */
int gb_expr__to_bool(ctx *c, const node *n, const val *v, const char *what, bool *out);
/* Grows an arena string builder. */
typedef struct sb {
	char *p;
	size_t len, cap;
} sb;
int gb_expr__sb_add(ctx *c, const node *n, sb *b, const char *s, size_t len);
int gb_expr__sb_addc(ctx *c, const node *n, sb *b, char ch);
int gb_expr__sb_done(ctx *c, const node *n, sb *b, val *out);

/* The 1-based character column of byte offset off in text (parse.c). */
size_t gb_expr__column(const char *text, size_t off);

/* UTF-8 helpers (text.c). Invalid bytes count as one character each and are kept as they are. */
size_t gb_expr__u8_next(const char *s, size_t len, size_t i, uint32_t *cp); /* returns the index after the character */
size_t gb_expr__u8_count(const char *s, size_t len);
size_t gb_expr__u8_offset(const char *s, size_t len, size_t nchars); /* byte offset of character nchars (clamped) */
size_t gb_expr__u8_put(uint32_t cp, char out[4]);

/* Positions (arena) of every non-overlapping occurrence of needle in hay, left to right, in linear time (text.c). */
int gb_expr__find_all(ctx *c, const node *n, const char *hay, size_t hlen, const char *needle, size_t nlen,
                      size_t **pos, size_t *npos);

/* The function table (func.c) and its lookup for the parser. */
const func_def *gb_expr__func_find(const char *name, size_t len);

/* Regex helpers (replace.c). */
pcre2_code *gb_expr__regex_compile(const char *pat, size_t len, char *msg, size_t msgn, size_t *erroff);

/* Implementations, spread over the files by subject. */
int gb_expr__fn_append(ctx *, const node *, val *);
int gb_expr__fn_bitand(ctx *, const node *, val *);
int gb_expr__fn_cbool(ctx *, const node *, val *);
int gb_expr__fn_cdate(ctx *, const node *, val *);
int gb_expr__fn_coalesce(ctx *, const node *, val *);
int gb_expr__fn_from_base64(ctx *, const node *, val *);
int gb_expr__fn_to_base64(ctx *, const node *, val *);
int gb_expr__fn_to_utf8hex(ctx *, const node *, val *);
int gb_expr__fn_count(ctx *, const node *, val *);
int gb_expr__fn_cstr(ctx *, const node *, val *);
int gb_expr__fn_dateadd(ctx *, const node *, val *);
int gb_expr__fn_datediff(ctx *, const node *, val *);
int gb_expr__fn_datefromnum(ctx *, const node *, val *);
int gb_expr__fn_dncomponent(ctx *, const node *, val *);
int gb_expr__fn_error(ctx *, const node *, val *);
int gb_expr__fn_formatdatetime(ctx *, const node *, val *);
int gb_expr__fn_guid(ctx *, const node *, val *);
int gb_expr__fn_ignoreflow(ctx *, const node *, val *);
int gb_expr__fn_iif(ctx *, const node *, val *);
int gb_expr__fn_instr(ctx *, const node *, val *);
int gb_expr__fn_isnull(ctx *, const node *, val *);
int gb_expr__fn_isnullorempty(ctx *, const node *, val *);
int gb_expr__fn_ispresent(ctx *, const node *, val *);
int gb_expr__fn_isstring(ctx *, const node *, val *);
int gb_expr__fn_item(ctx *, const node *, val *);
int gb_expr__fn_join(ctx *, const node *, val *);
int gb_expr__fn_left(ctx *, const node *, val *);
int gb_expr__fn_mid(ctx *, const node *, val *);
int gb_expr__fn_normalize(ctx *, const node *, val *);
int gb_expr__fn_not(ctx *, const node *, val *);
int gb_expr__fn_now(ctx *, const node *, val *);
int gb_expr__fn_numfromdate(ctx *, const node *, val *);
int gb_expr__fn_pcase(ctx *, const node *, val *);
int gb_expr__fn_randomstring(ctx *, const node *, val *);
int gb_expr__fn_redact(ctx *, const node *, val *);
int gb_expr__fn_removedups(ctx *, const node *, val *);
int gb_expr__fn_replace(ctx *, const node *, val *);
int gb_expr__fn_split(ctx *, const node *, val *);
int gb_expr__fn_stripspaces(ctx *, const node *, val *);
int gb_expr__fn_switch(ctx *, const node *, val *);
int gb_expr__fn_tolower(ctx *, const node *, val *);
int gb_expr__fn_toupper(ctx *, const node *, val *);
int gb_expr__fn_trim(ctx *, const node *, val *);
int gb_expr__fn_word(ctx *, const node *, val *);

/* Parse-time check of Replace's arguments (replace.c); returns a message or NULL, sets mode and may compile. */
const char *gb_expr__replace_prepare(node *n, char *msg, size_t msgn, size_t *errcol);

#endif
