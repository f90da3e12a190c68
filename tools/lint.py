#!/usr/bin/env python3
"""lint.py: the house rules of groupbridge that a compiler does not check (`make lint`).

In the manner of curl's checksrc.pl. It fails (exit 1) on:

  - a function longer than MAX_FUNCTION_LINES in src/, steps/ or importers/, counted from the line that names the
    function to the line of its closing brace, both included;
  - a function there that is neither static nor named gb_... (a global symbol without the project's prefix can clash
    with a library's: expr's old u8_next was also libunistring's);
  - a call of a banned function (BANNED) in any C file of the repository, tests included;
  - gb_buf_init(b, 0) in any C file (every buffer states its cap; 0 fails an assertion);
  - the literal ANCHOR_LITERAL outside the header that defines it and the exceptions listed in tools/lint.allow.

Each offence is printed as FILE:LINE: what. Comments never count (they are documentation); string literals count
only for the anchor literal. The reader is a small C lexer, not a parser: it understands comments, string and
character literals, line continuations and preprocessor lines, which is all that brace counting needs in this code
base (no braces are opened in one #if branch and closed in another).

Usage: lint.py [--root DIR] [FILE...]   (no FILE: every file git tracks under DIR, default the repository)
"""

import fnmatch
import os
import re
import subprocess
import sys

MAX_FUNCTION_LINES = 120
FUNCTION_DIRS = ("src/", "steps/", "importers/")
BANNED = {
    "sprintf": "use snprintf or gb_buf_appendf",
    "vsprintf": "use vsnprintf or gb_buf",
    "strcpy": "use snprintf, memcpy with a length, or gb_buf",
    "strcat": "use snprintf or gb_buf",
    "strncat": "use snprintf or gb_buf",
    "strtok": "use strtok_r or a bounded scanner",
    "gets": "use fgets",
    "atoi": "use strtol (or strtoul) with an end pointer and a range check",
}
GLOBAL_PREFIX = "gb_"
GLOBAL_EXCEPTIONS = {"main"}
ANCHOR_LITERAL = "msDS-ExternalDirectoryObjectId"
ANCHOR_HOME = "include/groupbridge/directory.h"
C_SUFFIXES = (".c", ".h")
KEYWORDS_BEFORE_PAREN = {"if", "for", "while", "switch", "return", "sizeof", "_Alignof", "_Generic", "do", "else"}


def blank(text):
    """Spaces for every character of text but its newlines (so that line numbers survive)."""
    return re.sub(r"[^\n]", " ", text)


def scan_c(text):
    """Returns (code, nocomment): code has comments and the contents of string and character literals blanked;
    nocomment has only the comments blanked. Both keep every newline where it was."""
    code = []
    nocomment = []
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == "/" and i + 1 < n and text[i + 1] == "*":
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            b = blank(text[i:j])
            code.append(b)
            nocomment.append(b)
            i = j
        elif c == "/" and i + 1 < n and text[i + 1] == "/":
            j = i
            while j < n and text[j] != "\n":
                j += 2 if text[j] == "\\" and j + 1 < n and text[j + 1] == "\n" else 1
            b = blank(text[i:j])
            code.append(b)
            nocomment.append(b)
            i = j
        elif c == '"' or c == "'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            code.append(c + blank(text[i + 1:j - 1]) + (text[j - 1] if j - 1 > i else ""))
            nocomment.append(text[i:j])
            i = j
        else:
            code.append(c)
            nocomment.append(c)
            i += 1
    return "".join(code), "".join(nocomment)


def strip_preprocessor(code):
    """Blanks preprocessor lines (with their continuations) of comment-free code."""
    out = []
    continued = False
    for line in code.split("\n"):
        if continued or line.lstrip().startswith("#"):
            continued = line.endswith("\\")
            out.append(blank(line))
        else:
            out.append(line)
    return "\n".join(out)


TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\S")


def functions(code):
    """Yields (name, first_line, last_line, is_static) for every function definition in comment-free, literal-free code:
    a '{' at file scope right after a ')' whose '(' follows a name. Struct, union and enum bodies and initialisers
    are not functions (no ')' before their '{'). Attributes after the parameter list are skipped."""
    code = strip_preprocessor(code)
    tokens = []
    line = 1
    pos = 0
    for m in TOKEN.finditer(code):
        line += code.count("\n", pos, m.start())
        pos = m.start()
        tokens.append((m.group(), line))
    depth = 0
    header_start = 0
    i = 0
    while i < len(tokens):
        tok = tokens[i][0]
        if depth == 0 and tok == ";":
            header_start = i + 1
        elif tok == "{":
            if depth == 0:
                found = function_name(tokens, header_start, i)
                end = matching_brace(tokens, i)
                if found is not None and end is not None:
                    name, first = found
                    is_static = any(t[0] == "static" for t in tokens[header_start:i])
                    yield name, first, tokens[end][1], is_static
                if end is None:
                    return
                i = end
                header_start = i + 1
                i += 1
                continue
            depth += 1
        elif tok == "}":
            depth = max(depth - 1, 0)
            if depth == 0:
                header_start = i + 1
        i += 1


def matching_brace(tokens, i):
    depth = 0
    for j in range(i, len(tokens)):
        if tokens[j][0] == "{":
            depth += 1
        elif tokens[j][0] == "}":
            depth -= 1
            if depth == 0:
                return j
    return None


def function_name(tokens, start, brace):
    """(name, line) when tokens[start:brace] is a function's head, else None."""
    j = brace - 1
    # skip trailing attributes: __attribute__((...)) or a bare macro such as GB_NORETURN
    while j >= start:
        if tokens[j][0] == ")":
            open_ = matching_paren(tokens, start, j)
            if open_ is None:
                return None
            if open_ - 1 >= start and tokens[open_ - 1][0] == "__attribute__":
                j = open_ - 2
                continue
            break
        return None
    if j < start:
        return None
    open_ = matching_paren(tokens, start, j)
    if open_ is None or open_ - 1 < start:
        return None
    name, line = tokens[open_ - 1]
    if not re.match(r"[A-Za-z_]", name) or name in KEYWORDS_BEFORE_PAREN:
        return None
    if any(t[0] == "=" for t in tokens[start:open_]):
        return None
    return name, line


def matching_paren(tokens, start, close):
    depth = 0
    for j in range(close, start - 1, -1):
        if tokens[j][0] == ")":
            depth += 1
        elif tokens[j][0] == "(":
            depth -= 1
            if depth == 0:
                return j
    return None


ZERO_CAP = re.compile(r"\bgb_buf_init\s*\([^;()]*,\s*0\s*\)")
BANNED_CALL = re.compile(r"(?<![A-Za-z0-9_.>])(" + "|".join(sorted(BANNED)) + r")\s*\(")


def line_of(text, offset):
    return text.count("\n", 0, offset) + 1


def load_allow(path):
    """tools/lint.allow: lines 'CHECK GLOB  # reason'; CHECK is 'anchor' today."""
    allow = []
    if not os.path.exists(path):
        return allow
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.split("#", 1)[0].strip()
            if line:
                check, glob = line.split(None, 1)
                allow.append((check, glob.strip()))
    return allow


def allowed(allow, check, path):
    return any(c == check and fnmatch.fnmatch(path, g) for c, g in allow)


def lint_file(path, text, allow):
    """Returns the offences of one file as (path, line, message) tuples."""
    out = []
    is_c = path.endswith(C_SUFFIXES)
    if is_c:
        code, nocomment = scan_c(text)
        if path.startswith(FUNCTION_DIRS) and path.endswith(".c"):
            for name, first, last, is_static in functions(code):
                length = last - first + 1
                if length > MAX_FUNCTION_LINES:
                    out.append((path, first, "function %s is %d lines (at most %d)" %
                                (name, length, MAX_FUNCTION_LINES)))
                if not is_static and not name.startswith(GLOBAL_PREFIX) and name not in GLOBAL_EXCEPTIONS:
                    out.append((path, first, "global function %s lacks the %s prefix (make it static, or name it "
                                "gb_<module>_<verb>, or gb_<module>__<verb> when private to the module)" %
                                (name, GLOBAL_PREFIX)))
        for m in ZERO_CAP.finditer(code):
            out.append((path, line_of(code, m.start()), "gb_buf_init with cap 0 (state the buffer's cap; "
                        "GB_BUF_DEFAULT_MAX for text composed from data already held)"))
        for m in BANNED_CALL.finditer(code):
            name = m.group(1)
            out.append((path, line_of(code, m.start()), "banned function %s (%s)" % (name, BANNED[name])))
        searched = nocomment
    else:
        # scripts: a line whose first non-blank character is '#' is a comment
        searched = "\n".join("" if l.lstrip().startswith("#") else l for l in text.split("\n"))
    if path != ANCHOR_HOME and not allowed(allow, "anchor", path):
        for m in re.finditer(re.escape(ANCHOR_LITERAL), searched):
            out.append((path, line_of(searched, m.start()),
                        "the literal %s (use GB_DIRECTORY_ANCHOR_ATTR from %s)" % (ANCHOR_LITERAL, ANCHOR_HOME)))
    return out


def tracked_files(root):
    try:
        names = subprocess.run(["git", "-C", root, "ls-files", "-z"], check=True, capture_output=True).stdout
        return sorted(n for n in names.decode().split("\0") if n)
    except (OSError, subprocess.CalledProcessError):
        found = []
        for d, dirs, files in os.walk(root):
            dirs[:] = [x for x in dirs if not x.startswith(".") and x != "build"]
            found += [os.path.relpath(os.path.join(d, f), root) for f in files]
        return sorted(found)


def main(argv):
    root = "."
    args = argv[1:]
    if args[:1] == ["--root"]:
        root, args = args[1], args[2:]
    root = os.path.abspath(root)
    allow = load_allow(os.path.join(root, "tools", "lint.allow"))
    paths = args or tracked_files(root)
    offences = []
    for path in paths:
        full = os.path.join(root, path)
        if not os.path.isfile(full):
            continue
        with open(full, "rb") as f:
            data = f.read()
        if b"\0" in data:
            continue
        offences += lint_file(path, data.decode("utf-8", "replace"), allow)
    for path, line, what in offences:
        print("%s:%d: %s" % (path, line, what))
    print("lint: %d offence%s" % (len(offences), "" if len(offences) == 1 else "s"))
    return 1 if offences else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
