#!/usr/bin/env python3
"""report.py: merges the fragments `make bench` wrote (import.json from bench/import.sh, provision.json from
bench/provision.sh) into one results file with the machine it ran on, and prints the same as a table.

    report.py FRAGMENT_DIR OUT.json [COMMAND]
OUT.json: {"machine": {"cores", "memory", "kernel", "cpu"}, "command", "date",
           "scenarios": [{"name", "metric", "value", "floor", "ratio", "target", "pass", "scale", "detail"}]}
"""

import datetime
import json
import os
import platform
import sys


def machine():
    mem = None
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = "%.1f GiB" % (int(line.split()[1]) / 1024 / 1024)
    cpu = None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cores": os.cpu_count(), "memory": mem, "kernel": platform.release(), "cpu": cpu}


def import_rows(frag):
    ratio = frag["ratio"]
    return [{"name": "S5", "metric": "import time (ms, median of %d) vs xmllint --noout" % frag["repetitions"],
             "value": frag["groupbridge_median_ms"], "floor": frag["xmllint_median_ms"], "ratio": ratio,
             "target": "<= %s" % frag["target_ratio"], "pass": bool(frag["within_target"]),
             "scale": "%d files, %d bytes (%s)" % (frag["files"], frag["bytes"], os.path.basename(frag["export"])),
             "detail": frag.get("floor", "")}]


def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, float):
        return ("%.3f" % v).rstrip("0").rstrip(".")
    return str(v)


def table(rows):
    head = ["scenario", "metric", "value", "floor", "ratio", "target", "pass", "scale"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["name"], r["metric"], fmt(r["value"]), fmt(r["floor"]), fmt(r["ratio"]), r["target"],
                 "yes" if r["pass"] else "**no**", r.get("scale", "")]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines)


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    d, out = argv[1], argv[2]
    rows = []
    prov = os.path.join(d, "provision.json")
    imp = os.path.join(d, "import.json")
    if os.path.exists(prov):
        rows += [r for r in json.load(open(prov))["scenarios"] if r["name"] != "S6"]
    if os.path.exists(imp):
        rows += import_rows(json.load(open(imp)))
    if os.path.exists(prov):
        rows += [r for r in json.load(open(prov))["scenarios"] if r["name"] == "S6"]
    if not rows:
        sys.exit("report.py: no fragment in %s" % d)
    result = {"machine": machine(), "command": argv[3] if len(argv) > 3 else "make bench",
              "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
              "scenarios": rows}
    with open(out, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    m = result["machine"]
    print("machine: %s cores, %s, kernel %s, %s" % (m["cores"], m["memory"], m["kernel"], m["cpu"]))
    print(table(rows))


if __name__ == "__main__":
    main(sys.argv)
