"""Reads a groupbridge metrics file with Debian's python3-prometheus-client parser and prints its samples.

    /usr/bin/python3 prom_values.py FILE CONFIG

Prints one line per sample, `name{label=value,...} value`, labels sorted, without the config label (which every
sample must carry with the value CONFIG); integral values print as integers, others with three decimals. Exits 1
with a message when the file does not parse, a family lacks HELP or TYPE, a counter's samples do not end in _total,
a name lacks the groupbridge_ prefix, or a sample lacks config=CONFIG.
"""
import sys

from prometheus_client.parser import text_string_to_metric_families


def main():
    path, config = sys.argv[1], sys.argv[2]
    text = open(path, encoding="utf-8").read()
    problems = []
    helps = {l.split()[2] for l in text.splitlines() if l.startswith("# HELP ")}
    types = {l.split()[2]: l.split()[3] for l in text.splitlines() if l.startswith("# TYPE ")}
    out = []
    for fam in text_string_to_metric_families(text):
        if not fam.name.startswith("groupbridge_"):
            problems.append("%s: no groupbridge_ prefix" % fam.name)
        declared = fam.name + "_total" if fam.type == "counter" else fam.name
        if declared not in helps or declared not in types:
            problems.append("%s: no HELP or TYPE" % declared)
        for s in fam.samples:
            if fam.type == "counter" and not s.name.endswith("_total"):
                problems.append("%s: a counter without _total" % s.name)
            if s.labels.get("config") != config:
                problems.append("%s: config label %r, not %r" % (s.name, s.labels.get("config"), config))
            labels = ",".join("%s=%s" % (k, v) for k, v in sorted(s.labels.items()) if k != "config")
            value = int(s.value) if float(s.value).is_integer() else "%.3f" % s.value
            out.append("%s{%s} %s" % (s.name, labels, value))
    if problems:
        sys.stderr.write("\n".join(problems) + "\n")
        return 1
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
