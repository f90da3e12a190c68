#!/usr/bin/env python3
"""Static checks for the PowerShell templates of runbooks/templates (Debian's archive has no PowerShell to parse them).

Usage: python3 runbooks/templates/check-templates.py runbooks/templates/*.ps1.in   (exit 0 clean, 1 problems)

Not a parser: it catches what a careful reader can miss at 2 a.m.
- tokenizes comments (# and <# #>), single-quoted ('' escape), double-quoted (` escape, $(...) nested) strings
- checks (), {}, [] balance outside strings/comments, with line numbers
- checks backtick continuations are last on the line
- lists variables read but never assigned (StrictMode 1.0 would fail on them)
- lists placeholders and checks each is documented in the header
- the -WhatIf contract (see whatif_errors): the script's first statement is param([switch]$WhatIf), and every
  state-changing call (any ADSync cmdlet whose verb is not Get, Get-ADSyncServerConfiguration, the cmdlets that write
  files, the call operator & that runs a program) sits in the else branch of an `if ($WhatIf) { Write-WhatIf ... }`,
  so that a -WhatIf run prints each change and makes none. The script's own transcript (Start-Transcript) is not
  counted as a change. A guard is recognised by its text only: a change inside a function must be guarded inside
  that function, whoever calls it.
"""
import re, sys

# State-changing calls. ADSync cmdlets are matched by verb: all but Get change the sync engine (Set-, Add-, New-,
# Remove-, Start-, Stop-, Enable-, Disable-, Invoke-, Update-, Register-, Sync- ...). Get-ADSyncServerConfiguration
# writes an export folder. The file cmdlets write or move files. "& $program" runs an external program.
ADSYNC_CALL = re.compile(r'\b([A-Za-z]+)-(ADSync[A-Za-z0-9]*)\b')
WRITES = {'get-adsyncserverconfiguration', 'move-item', 'new-item', 'remove-item', 'rename-item', 'copy-item',
          'set-item', 'set-content', 'add-content', 'clear-content', 'out-file', 'export-csv', 'export-clixml',
          'start-process', 'set-adsyncaadcompanyfeature'}
CMDLET = re.compile(r'\b([A-Za-z]+-[A-Za-z0-9]+)\b')
CALL_OPERATOR = re.compile(r'(?:^|[\n;|{(])[ \t]*&[ \t]*[$\w]')
WHATIF_PARAM = re.compile(r'param\s*\(\s*\[switch\]\s*\$WhatIf\s*\)', re.I)
WHATIF_IF = re.compile(r'(?:^|[\s;])if\s*\(\s*\$WhatIf\s*\)\s*$', re.I)


def state_changes(text):
    """(position, name) of every state-changing call in code text (strings and comments already blanked)."""
    found = []
    for m in ADSYNC_CALL.finditer(text):
        if m.group(1).lower() != 'get' or m.group(0).lower() in WRITES:
            found.append((m.start(), m.group(0)))
    for m in CMDLET.finditer(text):
        name = m.group(1).lower()
        if name in WRITES and not ADSYNC_CALL.fullmatch(m.group(1)):
            found.append((m.start(), m.group(1)))
    for m in CALL_OPERATOR.finditer(text):
        found.append((m.end() - 1, '& (runs a program)'))
    return sorted(found)


def whatif_errors(text):
    """The -WhatIf contract, checked on code text (strings and comments blanked, same length as the source)."""
    errors = []
    lineno = lambda pos: text.count('\n', 0, pos) + 1
    first = re.search(r'\S', text)
    if not first or not WHATIF_PARAM.match(text, first.start()):
        errors.append(f'{lineno(first.start()) if first else 1}: the first statement must be param([switch]$WhatIf)')
    if not re.search(r'function\s+Write-WhatIf\b', text, re.I):
        errors.append('no function Write-WhatIf: the -WhatIf branches have nothing to print with')
    for m in re.finditer(r'\$WhatIf\s*(?:=(?!=)|\+=)', text, re.I):
        errors.append(f'{lineno(m.start())}: $WhatIf is assigned; it must only ever be the switch the operator gave')
    # Blocks: kind of each {...}: 'whatif' (body of if ($WhatIf)), 'guarded' (the else right after a whatif block)
    # or 'other'. A position is guarded when an enclosing block is 'guarded'.
    stack, closed, spans, partners = [], [], [], []
    start = 0  # where the current statement's text starts
    for i, c in enumerate(text):
        if c == '{':
            prefix = text[start:i]
            kind = 'other'
            if WHATIF_IF.search(prefix):
                kind = 'whatif'
            elif (prefix.strip().lower() == 'else' and closed and closed[-1][0] == 'whatif'
                  and closed[-1][2] == len(stack)):
                kind = 'guarded'
                partners.append(closed[-1][3])  # where that whatif block opened
            stack.append((kind, i))
            start = i + 1
        elif c == '}':
            if not stack:
                continue  # reported by the bracket check
            kind, at = stack.pop()
            spans.append((kind, at, i))
            closed.append((kind, i, len(stack), at))
            start = i + 1
        elif c in ';\n':
            # a line ending in a backtick continues the statement
            if c == '\n' and text[start:i].rstrip(' \t').endswith('`'):
                continue
            if text[start:i].strip():
                closed.append(('statement', i, len(stack), start))
            start = i + 1
    for pos, name in state_changes(text):
        inside = [k for k, a, b in spans if a < pos < b]
        if 'whatif' in inside:
            errors.append(f'{lineno(pos)}: {name} inside an if ($WhatIf) branch: a -WhatIf run would make the change')
        elif 'guarded' not in inside:
            errors.append(f'{lineno(pos)}: {name} changes state outside a WhatIf guard: put it in the else branch of '
                          'if ($WhatIf) { Write-WhatIf ... } else { ... }')
    for k, a, b in spans:
        if k == 'whatif' and a in partners and not re.search(r'\bWrite-WhatIf\b', text[a:b], re.I):
            errors.append(f'{lineno(a)}: this if ($WhatIf) branch guards a change but prints nothing (Write-WhatIf)')
    return errors, state_changes(text)


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
    werrors, changes = whatif_errors(text)
    errors += werrors
    return errors, ph, sorted(called - defined), changes

def main(paths):
    if not paths:
        print('usage: check-templates.py FILE...', file=sys.stderr)
        return 2
    ok = True
    for p in paths:
        errs, ph, calls, changes = check(p)
        print(f'{p}: placeholders {", ".join(ph) or "none"}')
        print(f'{p}: commands it relies on (PowerShell or ADSync): {", ".join(calls)}')
        print(f'{p}: state-changing calls, each behind -WhatIf: {len(changes)} '
              f'({", ".join(sorted(set(n for _, n in changes)))})')
        for e in errs:
            print(f'{p}:{e}')
            ok = False
    print('ok' if ok else 'problems found')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
