#!/usr/bin/env python3
"""Static checks for the PowerShell templates of runbooks/templates (Debian's archive has no PowerShell to parse them).

Usage: python3 runbooks/templates/check-templates.py runbooks/templates/*.ps1.in   (exit 0 clean, 1 problems)

Not a parser: it catches what a careful reader can miss at 2 a.m.
- tokenizes comments (# and <# #>), single-quoted ('' escape), double-quoted (` escape, $(...) nested) strings
- checks (), {}, [] balance outside strings/comments, with line numbers
- checks backtick continuations are last on the line
- lists variables read but never assigned (StrictMode 1.0 would fail on them)
- lists placeholders and checks each is documented in the header
"""
import re, sys

AUTO = {'_', 'true', 'false', 'null', 'PSScriptRoot', 'PSVersionTable', 'LASTEXITCODE', 'env', 'ErrorActionPreference', 'args'}

def check(path):
    data = open(path, 'rb').read()
    errors = []
    for number, raw_line in enumerate(data.split(b'\n'), 1):
        if any(b > 0x7e or (b < 0x20 and b not in (0x09, 0x0d)) for b in raw_line):
            errors.append(f'{number}: character outside printable ASCII (Windows PowerShell 5.1 reads BOM-less files as ANSI)')
    s = data.decode('ascii', errors='replace')
    i, n, line = 0, len(s), 1
    stack = []
    code = []  # code text with strings/comments blanked (keep newlines)
    pairs = {')': '(', '}': '{', ']': '['}
    def emit(ch):
        code.append(ch if ch == '\n' else ' ')
    while i < n:
        c = s[i]
        if c == '<' and s.startswith('<#', i):
            j = s.find('#>', i + 2)
            if j < 0: errors.append(f'{line}: unterminated block comment'); break
            for ch in s[i:j+2]: emit(ch)
            line += s[i:j+2].count('\n'); i = j + 2; continue
        if c == '#':
            j = s.find('\n', i)
            j = n if j < 0 else j
            for ch in s[i:j]: emit(ch)
            i = j; continue
        if c == "'":
            j = i + 1
            while True:
                if j >= n: errors.append(f'{line}: unterminated single-quoted string'); break
                if s[j] == "'":
                    if j + 1 < n and s[j+1] == "'": j += 2; continue
                    break
                if s[j] == '\n': errors.append(f'{line}: newline inside single-quoted string (intended?)')
                j += 1
            for ch in s[i:j+1]: emit(ch)
            line += s[i:j+1].count('\n'); i = j + 1; continue
        if c == '"':
            j = i + 1; depth = 0
            while True:
                if j >= n: errors.append(f'{line}: unterminated double-quoted string'); break
                if s[j] == '`': j += 2; continue
                if s.startswith('$(', j): depth += 1; j += 2; continue
                if depth and s[j] == ')': depth -= 1; j += 1; continue
                if s[j] == '"' and depth == 0: break
                j += 1
            for ch in s[i:j+1]: emit(ch)
            line += s[i:j+1].count('\n'); i = j + 1; continue
        if c == '`':
            if i + 1 < n and s[i+1] == '\n':
                pass
            elif i + 1 < n and s[i+1] in ' \t':
                rest = s[i+1:s.find('\n', i)]
                if rest.strip() == '': errors.append(f'{line}: backtick followed by trailing white space')
        if c in '({[':
            stack.append((c, line))
        elif c in ')}]':
            if not stack or stack[-1][0] != pairs[c]:
                errors.append(f'{line}: unbalanced {c} (open: {stack[-1] if stack else None})')
            else:
                stack.pop()
        if c == '\n': line += 1
        code.append(c); i += 1
    for c, l in stack: errors.append(f'{l}: {c} never closed')
    text = ''.join(code)
    # variables
    assigned = set(m.group(1).lower() for m in re.finditer(r'\$(?:script:)?([A-Za-z_][A-Za-z0-9_]*)\s*(?:=|\+=|\+\+)(?!=)', text))
    assigned |= set(m.group(1).lower() for m in re.finditer(r'foreach\s*\(\s*\$([A-Za-z_][A-Za-z0-9_]*)\s+in', text))
    assigned |= set(m.group(1).lower() for m in re.finditer(r'-OutVariable\s+([A-Za-z_][A-Za-z0-9_]*)', text))
    # parameters
    for m in re.finditer(r'param\s*\(([^)]*)\)', text, re.S):
        assigned |= set(x.lower() for x in re.findall(r'\$([A-Za-z_][A-Za-z0-9_]*)', m.group(1)))
    for m in re.finditer(r'function\s+[\w-]+\s*\(([^)]*)\)', text):
        assigned |= set(x.lower() for x in re.findall(r'\$([A-Za-z_][A-Za-z0-9_]*)', m.group(1)))
    # [ref]$x
    used = {}
    for m in re.finditer(r'\$(?:script:)?([A-Za-z_][A-Za-z0-9_]*)', text):
        used.setdefault(m.group(1).lower(), text[:m.start()].count('\n') + 1)
    # also variables inside double-quoted strings: none expected
    unassigned = sorted((v, l) for v, l in used.items() if v not in assigned and v not in {a.lower() for a in AUTO})
    for v, l in unassigned: errors.append(f'{l}: variable ${v} read but never assigned')
    # functions defined vs called (verb-noun words)
    defined = set(m.group(1).lower() for m in re.finditer(r'function\s+([\w-]+)', text))
    called = set(w.lower() for w in re.findall(r'\b([A-Z][a-z]+-[A-Za-z0-9]+)\b', text))
    # placeholders
    raw = s
    ph = sorted(set(re.findall(r'@@([A-Z0-9_]+)@@', raw)))
    header = raw.split('$ErrorActionPreference')[0]
    for p in ph:
        if not re.search(r'^#\s+' + p + r'\s', header, re.M): errors.append(f'placeholder {p} not documented in the header')
    return errors, ph, sorted(called - defined)

def main(paths):
    if not paths:
        print('usage: check-templates.py FILE...', file=sys.stderr)
        return 2
    ok = True
    for p in paths:
        errs, ph, calls = check(p)
        print(f'{p}: placeholders {", ".join(ph) or "none"}')
        print(f'{p}: commands it relies on (PowerShell or ADSync): {", ".join(calls)}')
        for e in errs:
            print(f'{p}:{e}')
            ok = False
    print('ok' if ok else 'problems found')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
