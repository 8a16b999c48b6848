#!/usr/bin/env python3
"""soak_account.py - what smtp_load.py was told against what the sink got.

Usage: soak_account.py RESULTS.json SINK_DIR [--allow-tempfail]
                       [--allow-reject] [--label TEXT]

Every message the MTA accepted (250 after the dot) must be in the sink
exactly once: lost and duplicates must be 0.  A message in the sink that
was never accepted is "unexpected" (a tempfail or a rejection that was
delivered anyway).  Every message must end accepted or rejected:
"unresolved" (still tempfailed when the client gave up) fails too.
Tempfails fail unless --allow-tempfail (a fault test expects them and the
retries), rejections unless --allow-reject.  Prints the figures on one
line: sent, delivered, tempfailed (messages with at least one 4xx, and
all of them were retried), rejected, lost, duplicates.
"""
import argparse
import collections
import glob
import json
import sys


def sink_ids(sink_dir):
    """X-Soak-Id of every message file in the sink (header block only)."""
    ids = collections.Counter()
    for path in glob.glob(sink_dir + "/msg.*"):
        with open(path, "rb") as f:
            for raw in f:
                line = raw.rstrip(b"\r\n")
                if line == b"":
                    break
                if line.lower().startswith(b"x-soak-id:"):
                    ids[line.split(b":", 1)[1].strip().decode(errors="replace")] += 1
                    break
    return ids


def main():
    p = argparse.ArgumentParser()
    p.add_argument("results")
    p.add_argument("sink")
    p.add_argument("--allow-tempfail", action="store_true")
    p.add_argument("--allow-reject", action="store_true")
    p.add_argument("--label", default="soak")
    args = p.parse_args()
    with open(args.results) as f:
        r = json.load(f)
    # Only this load's messages: a test may run several loads into one sink.
    got = collections.Counter({m: n for m, n in sink_ids(args.sink).items()
                               if m.startswith(r["prefix"] + "-")})
    accepted = set(r["accepted"])
    tempfailed = set(r["retried"]) | set(r["unresolved"])
    lost = sorted(m for m in accepted if got[m] == 0)
    dups = sorted(m for m in got if got[m] > 1)
    unexpected = sorted(m for m in got if m not in accepted)
    print("%s: sent=%d delivered=%d tempfailed=%d (attempts %d, all retried) rejected=%d "
          "unresolved=%d lost=%d duplicates=%d unexpected=%d"
          % (args.label, r["messages"], sum(1 for m in got if m in accepted), len(tempfailed),
             r["tempfail_attempts"], len(r["rejected"]), len(r["unresolved"]), len(lost), len(dups),
             len(unexpected)))
    bad = []
    if lost:
        bad.append("lost: %s" % " ".join(lost[:10]))
    if dups:
        bad.append("delivered more than once: %s" % " ".join(dups[:10]))
    if unexpected:
        bad.append("delivered but never accepted: %s" % " ".join(unexpected[:10]))
    if r["unresolved"]:
        bad.append("still tempfailed at the end: %s" % " ".join(r["unresolved"][:10]))
    if tempfailed and not args.allow_tempfail:
        bad.append("%d message(s) tempfailed" % len(tempfailed))
    if r["rejected"] and not args.allow_reject:
        bad.append("%d message(s) rejected" % len(r["rejected"]))
    if r["messages"] == 0:
        bad.append("no message was sent")
    for b in bad:
        print("%s: FAIL: %s" % (args.label, b))
    if bad:
        for reply, n in sorted(r["replies"].items(), key=lambda kv: -kv[1])[:8]:
            print("%s:   %6d x %s" % (args.label, n, reply))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
