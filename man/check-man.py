#!/usr/bin/env python3
"""Checks that the man pages and the bash completion say what the program does.

    check-man.py BIN MAN8 MAN5 CONFIG_C COMPLETION

BIN is the built groupbridge; MAN8 and MAN5 the roff sources (man/groupbridge.8.in, man/groupbridge.ini.5.in);
CONFIG_C is src/core/config.c (its table of keys); COMPLETION the bash completion script. It compares, both ways:
the commands of `BIN --help` with the man page's COMMANDS; the global options; each command's subcommands and options
(from `BIN COMMAND --help`: its usage lines, the lines that start with an option, and report's kinds) with the man
page's synopsis and option entries; the exit codes; every configuration key of config.c with groupbridge.ini(5), and
each key of the man page is tried on the program (it must not be "unknown"); and what the completion offers with
the same lists. Prints "ok"/"FAIL" per check and the closing "N passed, N failed".
"""
import os
import re
import subprocess
import sys
import tempfile

OPT = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*|-[a-zA-Z])(?![\w-])")
results = []


def check(name, want, got, what_want, what_got):
    """Compares two sets and records the difference."""
    missing, extra = sorted(want - got), sorted(got - want)
    if missing or extra:
        detail = []
        if missing:
            detail.append("in %s, not in %s: %s" % (what_want, what_got, " ".join(missing)))
        if extra:
            detail.append("in %s, not in %s: %s" % (what_got, what_want, " ".join(extra)))
        results.append((False, name, "; ".join(detail)))
    else:
        results.append((True, name, ""))


def plain(roff):
    """Roff to text, enough for names: font escapes dropped, \\- and \\e turned back."""
    s = re.sub(r"\\f[BIRP]", "", roff)
    s = s.replace("\\-", "-").replace("\\e", "\\").replace('"', " ")
    return re.sub(r"^\.(B|I|BR|BI|RB|IR|RI|SY|OP)\s+", "", s)


def run(*args):
    p = subprocess.run(args, capture_output=True, text=True)
    return p.stdout + p.stderr


# ---- the program ----

def block(text, title):
    """The indented lines under a line that starts with title, up to the next blank line."""
    lines, on = [], False
    for line in text.splitlines():
        if line.startswith(title):
            on = True
            continue
        if on:
            if not line.strip():
                break
            lines.append(line)
    return lines


def program_main(binary):
    text = run(binary, "--help")
    commands = {l.split()[0] for l in block(text, "Commands:")}
    opts = set()
    for l in block(text, "Options:"):
        opts |= set(OPT.findall(re.split(r"\s{2,}", l.strip())[0]))
    codes = {l.split()[0] for l in block(text, "Exit codes")}
    return commands, opts, codes


def program_command(binary, cmd):
    text = run(binary, cmd, "--help")
    subs, opts = set(), {"--help"}
    usage = []
    for line in text.splitlines():
        if line.startswith("usage:") or (usage and line.startswith(" ") and not line.strip().startswith("Every")):
            if not line.strip():
                break
            usage.append(line)
        elif usage:
            break
    for line in usage:
        # the global options stand before the command: only what follows it is the command's
        at = re.search(r"\] %s\b|groupbridge %s\b" % (re.escape(cmd), re.escape(cmd)), line)
        opts |= {o for o in OPT.findall(line[at.end():] if at else line) if o.startswith("--")}
        m = re.search(r"\b%s ([a-z][a-z|-]*)" % re.escape(cmd), line)
        if m:
            subs |= set(m.group(1).split("|"))
    for line in text.splitlines():
        m = re.match(r"^\s+(-\w, )?(--[a-z][a-z0-9-]*)", line)
        if m:
            opts.add(m.group(2))
    subs |= {l.split()[0] for l in block(text, "Kinds:")}
    return subs, opts


# ---- the man pages ----

def sections(roff, macro):
    """{title: [lines]} for each .SH (macro "SH") or .SS (macro "SS")."""
    out, cur = {}, None
    for line in roff.splitlines():
        if line.startswith("." + macro + " "):
            cur = line[len(macro) + 2:].strip().strip('"')
            out[cur] = []
        elif line.startswith(".SH ") and macro == "SS":
            cur = None
        elif cur is not None:
            out[cur].append(line)
    return out


def tagged(lines):
    """The lines right after each .TP: the tags of the entries."""
    return [plain(lines[i + 1]) for i, l in enumerate(lines[:-1]) if l.strip() == ".TP"]


def man_commands(roff):
    commands = sections("\n".join(sections(roff, "SH").get("COMMANDS", [])), "SS")
    out = {}
    for name, lines in commands.items():
        synopsis, on = [], False
        for l in lines:
            if l.strip() == ".nf":
                on = True
            elif l.strip() == ".fi":
                break
            elif on:
                synopsis.append(plain(l))
        subs, opts = set(), {"--help"}
        for l in synopsis:
            opts |= {o for o in OPT.findall(l) if o.startswith("--")}
            m = re.search(r"^groupbridge %s ([a-z][a-z|-]*)" % re.escape(name), l.strip())
            if m:
                subs |= set(m.group(1).split("|"))
        for t in tagged(lines):
            opts |= {o for o in OPT.findall(t) if o.startswith("--")}
        out[name] = (subs, opts)
    return out


def man_keys(roff):
    keys = set()
    for title, lines in sections(roff, "SH").items():
        m = re.match(r"^\[(\w+)\]$", title)
        if m:
            keys |= {"%s.%s" % (m.group(1), t.split()[0]) for t in tagged(lines) if t.split()}
    return keys


def source_keys(config_c):
    text = open(config_c, encoding="utf-8").read()
    table = text[text.index("keys[] = {"):]
    table = table[:table.index("};")]
    return {"%s.%s" % m for m in re.findall(r'\{"(\w+)", "(\w+)", K_', table)}


def unknown_keys(binary, keys):
    """The keys the program calls unknown, each tried alone in its section."""
    unknown = set()
    with tempfile.TemporaryDirectory() as d:
        for k in sorted(keys):
            section, name = k.split(".", 1)
            path = os.path.join(d, "t.ini")
            with open(path, "w") as f:
                f.write("[%s]\n%s = x\n" % (section, name))
            out = run(binary, "--config", path, "config", "check", "--offline")
            if "unknown key" in out or "unknown section" in out:
                unknown.add(k)
    return unknown


# ---- the completion ----

def complete(completion, *words):
    script = ('. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=(); '
              '_groupbridge; printf "%s\\n" "${COMPREPLY[@]}"')
    p = subprocess.run(["bash", "-c", script, "complete", completion, "groupbridge"] + list(words),
                       capture_output=True, text=True)
    return {w for w in p.stdout.split() if w}


def main():
    binary, man8, man5, config_c, completion = sys.argv[1:6]
    roff8 = open(man8, encoding="utf-8").read()
    roff5 = open(man5, encoding="utf-8").read()

    commands, gopts, codes = program_main(binary)
    mcommands = man_commands(roff8)
    check("commands: --help and groupbridge(8)", commands, set(mcommands), "--help", "the man page")
    mg = set()
    for t in tagged(sections(roff8, "SH").get("OPTIONS", [])):
        mg |= set(OPT.findall(t))
    check("global options: --help and groupbridge(8) OPTIONS", gopts, mg, "--help", "the man page")
    mcodes = {t.split()[0] for t in tagged(sections(roff8, "SH").get("EXIT STATUS", [])) if t.split()}
    check("exit codes: --help and groupbridge(8) EXIT STATUS", codes, mcodes, "--help", "the man page")

    csubs_all = {}
    for cmd in sorted(commands):
        subs, opts = program_command(binary, cmd)
        msubs, mopts = mcommands.get(cmd, (set(), set()))
        check("%s: subcommands of --help and groupbridge(8)" % cmd, subs, msubs, "--help", "the man page")
        check("%s: options of --help and groupbridge(8)" % cmd, opts, mopts, "--help", "the man page")
        copts = complete(completion, cmd, "--")
        for s in subs:
            copts |= complete(completion, cmd, s, "--")
        check("%s: options of --help and the bash completion" % cmd, opts, copts, "--help", "the completion")
        csubs = complete(completion, cmd, "")
        if subs:
            check("%s: subcommands of --help and the bash completion" % cmd, subs, csubs, "--help", "the completion")
        csubs_all[cmd] = csubs

    check("commands: --help and the bash completion", commands, complete(completion, ""), "--help", "the completion")
    check("global options: --help and the bash completion", {o for o in gopts if o.startswith("--")},
          complete(completion, "--"), "--help", "the completion")

    keys, mkeys = source_keys(config_c), man_keys(roff5)
    check("configuration keys: src/core/config.c and groupbridge.ini(5)", keys, mkeys, "config.c", "the man page")
    bad = unknown_keys(binary, mkeys)
    results.append((not bad, "every key of groupbridge.ini(5) is known to the program",
                    "unknown: " + " ".join(sorted(bad)) if bad else ""))

    passed = sum(1 for ok, _, _ in results if ok)
    for ok, name, detail in results:
        print("%s %s%s" % ("ok  " if ok else "FAIL", name, (": " + detail) if detail else ""))
    print("%d passed, %d failed" % (passed, len(results) - passed))
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
