#!/usr/bin/env python3
"""Checks that every audit record of a state database uses an operation of the one vocabulary that
include/groupbridge/audit.h documents (between its vocabulary-begin and vocabulary-end markers), and carries an
outcome (ok, failed or skipped) in its own field. Prints each record that does not, and exits 1 if any.
   audit_vocabulary.py STATE_DB [--run RUN_ID] [--no-failure]
--no-failure also requires that none of the records (of the run) failed."""
import os
import re
import sqlite3
import sys

HEADER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "include", "groupbridge", "audit.h")


def vocabulary():
    names, inside = [], False
    for line in open(HEADER, encoding="utf-8"):
        if "vocabulary-begin" in line:
            inside = True
        elif "vocabulary-end" in line:
            break
        elif inside:
            m = re.match(r"\s*\*\s+(\S+)", line)
            if m:
                names.append(m.group(1))
    if len(names) < 10:
        sys.exit("audit_vocabulary: no vocabulary found in %s" % HEADER)
    return set(names)


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    db, run, no_failure = argv[1], None, "--no-failure" in argv
    if "--run" in argv:
        run = argv[argv.index("--run") + 1]
    names = vocabulary()
    con = sqlite3.connect(db)
    sql = "SELECT seq, step, operation, outcome, message FROM audit_log"
    rows = con.execute(sql + (" WHERE run_id = ?" if run else "") + " ORDER BY seq", (run,) if run else ()).fetchall()
    bad = 0
    for seq, step, op, outcome, message in rows:
        why = []
        if op not in names:
            why.append("operation %r is not in the vocabulary" % op)
        if outcome not in ("ok", "failed", "skipped"):
            why.append("outcome %r" % outcome)
        if no_failure and outcome == "failed":
            why.append("failed: %s" % message)
        if why:
            bad += 1
            print("record %d (%s, %s): %s" % (seq, step, op, "; ".join(why)))
    if not rows:
        print("no audit records%s" % (" in run " + run if run else ""))
        return 1
    print("%d records checked, %d do not conform" % (len(rows), bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
