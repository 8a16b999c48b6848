#!/usr/bin/env python3
"""check-comments.py - a function's lead comment names that function.

STYLE.md: every function has a one-line lead comment of the form
`name - what it does`.  Where a definition in a .c file (return type on
its own line, then `name(` at the start of the next) is preceded by such a
comment, the comment's name must be the function's.  Exit 1 on a mismatch.
Usage: check-comments.py SRCDIR
"""
import os
import re
import sys

DEF = re.compile(r"^([A-Za-z_]\w*)\(")
LEAD = re.compile(r"^\s*/?\*+\s*([A-Za-z_]\w*) - ")


def check(path):
    bad = []
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    for i, line in enumerate(lines):
        m = DEF.match(line)
        if not m or i < 2 or lines[i - 1].strip() == "" or lines[i - 1].rstrip().endswith(";"):
            continue
        # The comment ends on the line before the return type.
        j = i - 2
        if not lines[j].rstrip().endswith("*/"):
            continue
        k = j
        while k > 0 and "/*" not in lines[k]:
            k -= 1
        head = lines[k] if LEAD.match(lines[k]) else (lines[k + 1] if k + 1 <= j else "")
        lm = LEAD.match(head)
        if lm and lm.group(1) != m.group(1):
            bad.append(f"{path}:{k + 1}: the lead comment names {lm.group(1)}, "
                       f"the function is {m.group(1)}")
    return bad


def main(srcdir):
    bad = []
    n = 0
    for top in ("milter", "tests", "include"):
        for d, _, names in os.walk(os.path.join(srcdir, top)):
            if "itest-work" in d:
                continue
            for name in names:
                if name.endswith(".c"):
                    n += 1
                    bad += check(os.path.join(d, name))
    for b in bad:
        print(b)
    if bad:
        print(f"check-comments: {len(bad)} lead comment(s) name another function")
        return 1
    print(f"check-comments: {n} files, every lead comment names its function")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
