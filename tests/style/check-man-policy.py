#!/usr/bin/env python3
"""check-man-policy.py SRCDIR - mxparity.conf(5) shows the bundled policy as
etc/mxparity/policy.conf has it, without its comments, so the page cannot
fall behind the file."""
import re
import sys


def policy_lines(text):
    """The policy's lines without comments (outside quotes) and blank lines."""
    out = []
    for line in text.splitlines():
        kept, quoted = "", False
        for ch in line:
            if ch == '"':
                quoted = not quoted
            if ch == "#" and not quoted:
                break
            kept += ch
        if kept.strip():
            out.append(kept.rstrip())
    return out


def main():
    src = sys.argv[1]
    policy = policy_lines(open(f"{src}/etc/mxparity/policy.conf").read())
    page = open(f"{src}/doc/mxparity.conf.5").read()
    m = re.search(r"\.SH EXAMPLES\nThe bundled policy.*?\.nf\n(.*?)\.fi\n", page, re.S)
    if m is None:
        sys.exit("check-man-policy: no bundled policy example in doc/mxparity.conf.5")
    shown = [l.replace("\\-", "-").replace("\\\\", "\\") for l in m.group(1).splitlines()]
    if shown != policy:
        for i, (a, b) in enumerate(zip(shown + [""] * len(policy), policy + [""] * len(shown))):
            if a != b:
                sys.exit(f"check-man-policy: mxparity.conf(5) line {i + 1} of the bundled "
                         f"policy is {a!r}, etc/mxparity/policy.conf has {b!r}")
    print(f"check-man-policy: mxparity.conf(5) shows the bundled policy ({len(policy)} lines)")


if __name__ == "__main__":
    main()
