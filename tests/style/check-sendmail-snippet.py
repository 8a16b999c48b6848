#!/usr/bin/env python3
"""check-sendmail-snippet.py SRCDIR - the sendmail.mc lines that README.md,
doc/deploying.md and mxparityd(8) show are etc/mxparity.mc's, which the
sendmail tests include as they are (tests/integration/sendmail.sh): the
snippet a postmaster copies is the tested one."""
import sys
from pathlib import Path


def main():
    src = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    want = [l for l in (src / "etc/mxparity.mc").read_text().splitlines()
            if l.strip() and not l.startswith("dnl")]
    if not want:
        print("check-sendmail-snippet: etc/mxparity.mc has no lines")
        return 1
    failed = 0
    for doc in ("README.md", "doc/deploying.md", "doc/mxparityd.8"):
        lines = (src / doc).read_text().splitlines()
        if doc.endswith(".8"):
            # roff: \(ga and \(aq print ` and ' as they are on every groff
            lines = [l.replace("\\(ga", "`").replace("\\(aq", "'") for l in lines]
        shown = [l for l in lines if "INPUT_MAIL_FILTER(" in l]
        for line in want:
            if line not in lines:
                print("check-sendmail-snippet: %s does not show %r" % (doc, line))
                failed = 1
        for line in shown:
            if line not in want:
                print("check-sendmail-snippet: %s shows %r, not etc/mxparity.mc's line" % (doc, line))
                failed = 1
    if not failed:
        print("check-sendmail-snippet: README.md, doc/deploying.md and mxparityd(8) show etc/mxparity.mc")
    return failed


if __name__ == "__main__":
    sys.exit(main())
