#!/usr/bin/env python3
"""stamp.py - an independent implementation of the X-MXParity v=2 stamp,
for the tier tests: it forges stamps (with the real key or another one)
and checks stamps that mxparityd made.  Python standard library only.

  X-MXParity: v=2; kid=K; host=H; tier=T; policy=sha256:HEX; ts=N;
      client=IP; helo=NAME; from=S; rcpt=TAG1,TAG2; hdr=HEX;
      f.KEY=VALUE; ...; bh=HEX; mac=HEX

  kid   first 8 bytes (hex) of HMAC-SHA256(key, "mxparity key id")
  rcpt  per envelope recipient (no <>, lower-cased): first 8 bytes (hex) of
        HMAC-SHA256(key, "rcpt:" + address); sorted, unique, joined by ",";
        "-" when there are none
  hdr   SHA-256 over 'name ":" canon(value) CRLF' for each instance (in
        arrival order) of each of HDR_FIELDS, in that order
  bh    SHA-256 of the body as the milter gets it (CRLF line ends)
  mac   HMAC-SHA256(key, the canonical text: every term but mac, "; "
        between them, the findings sorted by KEY)

The key is the key file's bytes, as they are (mxparityd reads it so).

Modes (see --help):
  sign (default)  print the header value for --eml and the envelope given;
                  --write OUT also writes the message, that stamp first, in
                  the form "swaks --no-data-fixup --data @OUT" sends as is
  --v1            the same, in the old v=1 format (findings spf= and av=)
  --verify VALUE  check a stamp against --eml and the envelope; prints "ok"
                  or the milter's reason ("body hash mismatch", ...); exit 0
                  when it verifies, 1 when not, 2 on a usage error.
                  VALUE "@" takes the first X-MXParity of --eml.
  --kid           print the key id of --key
  --wire          write --eml (with --add-header/--drop-header) to --write

--eml reads a message (LF or CRLF line ends).  With --sink it is an
smtp-sink dump (tests/integration/lib.sh): smtp-sink's X-* lines, its own
Received header and the empty line it appends at the end are dropped, so
what is left is the message as the last MTA sent it.  A file whose last
line is "." is a --write output (dot-stuffed wire form) and is read back
as such.
"""

import argparse
import hashlib
import hmac
import re
import sys
import time

HDR_FIELDS = ("content-type", "content-transfer-encoding", "mime-version", "from",
              "sender", "reply-to", "to", "cc", "subject", "date", "message-id")
MAX_AGE = 435600
MAX_FUTURE = 300
SINK_LINES = (b"X-Client-Addr:", b"X-Client-Proto:", b"X-Helo-Args:", b"X-Mail-Args:",
              b"X-Rcpt-Args:")
STAMP = "x-mxparity"
# The terms of a v=2 stamp before the findings, in order.
HEAD_TERMS = ("kid", "host", "tier", "policy", "ts", "client", "helo", "from", "rcpt", "hdr")
V1_TERMS = ("host", "tier", "policy", "client", "helo", "from", "spf", "av", "bh")


class Message:
    """A message as the milter sees it: header fields and body bytes."""

    def __init__(self, lines):
        # lines: the message's lines without their line ends
        self.header_lines = []
        i = 0
        while i < len(lines) and lines[i] != b"":
            self.header_lines.append(lines[i])
            i += 1
        self.body_lines = lines[i + 1:] if i < len(lines) else []
        self.fields = []  # (name, raw value with CRLF folding)
        for line in self.header_lines:
            if line[:1] in (b" ", b"\t") and self.fields:
                name, value = self.fields[-1]
                self.fields[-1] = (name, value + b"\r\n" + line)
            elif b":" in line:
                name, value = line.split(b":", 1)
                self.fields.append((name.strip(), value))
            else:
                self.fields.append((line, b""))

    def body(self):
        return b"".join(line + b"\r\n" for line in self.body_lines)

    def first(self, name):
        for n, v in self.fields:
            if n.lower() == name.encode():
                return v
        return None

    def wire(self, first_headers=()):
        """The message dot-stuffed with CRLF line ends, then a line ".".
        swaks --no-data-fixup sends it as it is (and adds the last CRLF)."""
        lines = [h.encode() for h in first_headers] + self.header_lines + [b""] + self.body_lines
        out = b"".join((b"." + line if line.startswith(b".") else line) + b"\r\n"
                       for line in lines)
        return out + b"."


def read_message(path, sink=False):
    data = open(path, "rb").read()
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()  # the last line's end
    lines = [line[:-1] if line.endswith(b"\r") else line for line in lines]
    if sink:
        while lines and lines[0].startswith(SINK_LINES):
            lines.pop(0)
        if lines and lines[0].startswith(b"Received:"):
            lines.pop(0)
            while lines and lines[0][:1] in (b" ", b"\t"):
                lines.pop(0)
        # smtp-sink ends its dump with an empty line of its own.
        if lines and lines[-1] == b"":
            lines.pop()
    elif lines and lines[-1] == b".":
        lines.pop()
        lines = [line[1:] if line.startswith(b".") else line for line in lines]
    return Message(lines)


def canon(value):
    v = value.strip(b" \t\r\n")
    return v.replace(b"\r", b"").replace(b"\n", b"")


def hdr_hash(msg, explain=None):
    h = hashlib.sha256()
    for want in HDR_FIELDS:
        for name, value in msg.fields:
            if name.lower() == want.encode():
                item = want.encode() + b":" + canon(value) + b"\r\n"
                if explain is not None:
                    explain.append(item)
                h.update(item)
    return h.hexdigest()


def field_text(text):
    """Only bytes a field may hold: printable ASCII, not space ; " \\."""
    return "".join(c for c in text if 0x21 <= ord(c) <= 0x7e and c not in ';"\\')


def envelope_from(sender):
    s = sender.strip()
    if s.startswith("<") and s.endswith(">"):
        s = s[1:-1]
    s = field_text(s)
    return s if s else "<>"


def kid_of(key):
    return hmac.new(key, b"mxparity key id", hashlib.sha256).hexdigest()[:16]


def rcpt_tag(key, address):
    a = address.strip()
    if a.startswith("<") and a.endswith(">"):
        a = a[1:-1]
    return hmac.new(key, b"rcpt:" + a.lower().encode(), hashlib.sha256).hexdigest()[:16]


def rcpt_list(key, rcpts):
    tags = sorted({rcpt_tag(key, r) for r in rcpts})
    return ",".join(tags) if tags else "-"


def canonical_v2(terms, findings):
    text = "v=2"
    for name in HEAD_TERMS:
        text += "; %s=%s" % (name, terms[name])
    for k in sorted(findings):
        text += "; f.%s=%s" % (k, findings[k])
    return text + "; bh=" + terms["bh"]


def mac_of(key, text):
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def read_key(path):
    return open(path, "rb").read()


def parse_findings(items):
    findings = {}
    for item in items or []:
        if "=" not in item:
            raise SystemExit("stamp.py: --finding %r is not KEY=VALUE" % item)
        k, v = item.split("=", 1)
        findings[field_text(k)] = field_text(v)
    return findings


def sign(args, msg):
    key = read_key(args.key[-1])
    findings = parse_findings(args.finding)
    if args.v1:
        terms = {"host": args.host, "tier": args.tier, "policy": args.policy,
                 "client": args.client, "helo": args.helo,
                 "from": envelope_from(args.sender),
                 "spf": findings.get("spf", "none"), "av": findings.get("av", "none"),
                 "bh": hashlib.sha256(msg.body()).hexdigest()}
        text = "v=1" + "".join("; %s=%s" % (n, field_text(terms[n])) for n in V1_TERMS)
        return text + "; mac=" + mac_of(key, text)
    terms = {
        "kid": kid_of(key),
        "host": field_text(args.host), "tier": field_text(args.tier),
        "policy": field_text(args.policy),
        "ts": str(args.ts if args.ts is not None else int(time.time())),
        "client": field_text(args.client), "helo": field_text(args.helo),
        "from": envelope_from(args.sender),
        "rcpt": rcpt_list(key, args.rcpt or []),
        "hdr": hdr_hash(msg),
        "bh": hashlib.sha256(msg.body()).hexdigest(),
    }
    text = canonical_v2(terms, findings)
    if args.explain:
        sys.stderr.write("canonical: %s\n" % text)
    return text + "; mac=" + mac_of(key, text)


def parse_v2(value):
    """(terms, findings, order) of a v=2 value, or raise ValueError."""
    v = value.replace("\r", "").replace("\n", "")
    parts = [p.strip(" \t") for p in v.split(";")]
    if parts and parts[-1] == "":
        parts.pop()
    if not parts or parts[0] != "v=2":
        raise ValueError("not v=2")
    terms, findings, order = {}, {}, []
    for p in parts[1:]:
        if "=" not in p:
            raise ValueError("term %r without =" % p)
        name, val = p.split("=", 1)
        if name == "rcpt":
            val = re.sub(r"[ \t]+", "", val)
        if val == "" or field_text(val) != val:
            raise ValueError("bad value in %r" % p)
        if name.startswith("f."):
            k = name[2:]
            if k in findings or not k:
                raise ValueError("finding %r twice or empty" % name)
            findings[k] = val
        elif name in HEAD_TERMS or name in ("bh", "mac"):
            if name in terms:
                raise ValueError("term %r twice" % name)
            terms[name] = val
        else:
            raise ValueError("unknown term %r" % name)
        order.append(name)
    missing = [n for n in HEAD_TERMS + ("bh", "mac") if n not in terms]
    if missing:
        raise ValueError("missing %s" % ",".join(missing))
    return terms, findings, order


def verify(args, msg):
    """(True, "ok") or (False, reason) as mxparityd would log it."""
    value = args.verify
    if value == "@":
        raw = msg.first(STAMP)
        if raw is None:
            return False, "no stamp"
        value = raw.decode("ascii", "replace")
    stripped = value.strip(" \t\r\n")
    if re.match(r"v=1[ \t\r\n]*(;|$)", stripped):
        return False, "v=1 stamp"
    try:
        terms, findings, order = parse_v2(stripped)
    except ValueError as e:
        if args.explain:
            sys.stderr.write("unparsable: %s\n" % e)
        return False, "bad mac"
    keys = {kid_of(k): k for k in (read_key(p) for p in args.key)}
    if terms["kid"] not in keys:
        return False, "unknown key " + terms["kid"]
    key = keys[terms["kid"]]
    text = canonical_v2(terms, findings)
    if args.explain:
        sys.stderr.write("canonical: %s\n" % text)
    if not hmac.compare_digest(mac_of(key, text), terms["mac"]):
        return False, "bad mac"
    want_order = list(HEAD_TERMS) + ["f." + k for k in sorted(findings)] + ["bh", "mac"]
    if order != want_order:
        sys.stderr.write("stamp.py: note: terms not in the canonical order: %s\n" % order)
    if args.host is not None and terms["host"].lower() != args.host.lower():
        return False, "stamp of " + terms["host"]
    if terms["bh"] != hashlib.sha256(msg.body()).hexdigest():
        return False, "body hash mismatch"
    now = args.now if args.now is not None else int(time.time())
    if not terms["ts"].isdigit():
        return False, "bad mac"
    ts = int(terms["ts"])
    if now - ts > args.max_age or ts - now > MAX_FUTURE:
        return False, "stale stamp"
    if args.sender is not None and terms["from"] != envelope_from(args.sender):
        return False, "sender differs"
    if args.rcpt is not None:
        have = set(terms["rcpt"].split(","))
        if any(rcpt_tag(key, r) not in have for r in args.rcpt):
            return False, "recipients differ"
    explain = [] if args.explain else None
    if terms["hdr"] != hdr_hash(msg, explain):
        if explain is not None:
            sys.stderr.write("hdr input: %r\n" % b"".join(explain))
        return False, "headers differ"
    if args.policy is not None and terms["policy"] != args.policy:
        return False, "policy drift %s != ours %s" % (terms["policy"], args.policy)
    for want in args.finding or []:
        k, _, v = want.partition("=")
        if findings.get(k) != v:
            return False, "finding f.%s is %r, want %r" % (k, findings.get(k), v)
    return True, "ok"


def main():
    ap = argparse.ArgumentParser(description="forge or check X-MXParity stamps (v=2, or v=1)")
    ap.add_argument("--key", action="append", default=[],
                    help="key file (sign, --kid: the last one given; --verify: every key the verifier knows)")
    ap.add_argument("--host")
    ap.add_argument("--tier")
    ap.add_argument("--policy", help="sha256:HEX (--verify: the verifier's digest)")
    ap.add_argument("--client")
    ap.add_argument("--helo")
    ap.add_argument("--from", dest="sender", help="envelope sender ('' or <> for the null one)")
    ap.add_argument("--rcpt", action="append", help="envelope recipient (repeat)")
    ap.add_argument("--ts", type=int, help="Unix time of the stamp (default: now)")
    ap.add_argument("--finding", action="append",
                    help="KEY=VALUE (sign: f.KEY=VALUE; --v1: spf= and av=; --verify: expected)")
    ap.add_argument("--eml", help="the message (see above)")
    ap.add_argument("--sink", action="store_true", help="--eml is an smtp-sink dump")
    ap.add_argument("--write", metavar="OUT", help="also write the message (stamp first) to OUT")
    ap.add_argument("--add-header", action="append", default=[], metavar="'NAME: VALUE'",
                    help="--wire: add this field at the end of the header")
    ap.add_argument("--drop-header", action="append", default=[], metavar="NAME",
                    help="--wire: remove every field NAME")
    ap.add_argument("--v1", action="store_true", help="sign in the v=1 format")
    ap.add_argument("--verify", metavar="VALUE", help="check this stamp ('@': the one in --eml)")
    ap.add_argument("--max-age", type=int, default=MAX_AGE, help="--verify: seconds")
    ap.add_argument("--now", type=int, help="--verify: the time to check ts against")
    ap.add_argument("--kid", action="store_true", help="print the key id of --key")
    ap.add_argument("--wire", action="store_true", help="write --eml to --write, edited")
    ap.add_argument("--explain", action="store_true", help="canonical texts on stderr")
    args = ap.parse_args()

    def need(*names):
        missing = [n for n in names if getattr(args, n) in (None, [])]
        if missing:
            ap.error("this mode needs " + " ".join("--" + n.replace("sender", "from")
                                                   for n in missing))

    if args.kid:
        need("key")
        print(kid_of(read_key(args.key[-1])))
        return 0
    need("eml")
    msg = read_message(args.eml, args.sink)
    if args.wire:
        need("write")
        drop = {d.lower().encode() for d in args.drop_header}
        keep = []
        skipping = False
        for line in msg.header_lines:
            if line[:1] in (b" ", b"\t"):
                if not skipping:
                    keep.append(line)
                continue
            skipping = line.split(b":", 1)[0].strip().lower() in drop
            if not skipping:
                keep.append(line)
        keep += [h.encode() for h in args.add_header]
        out = Message(keep + [b""] + msg.body_lines)
        open(args.write, "wb").write(out.wire())
        return 0
    if args.verify is not None:
        need("key")
        ok, why = verify(args, msg)
        print(why)
        return 0 if ok else 1
    need("key", "host", "tier", "policy", "client", "helo", "sender")
    if not args.v1:
        need("rcpt")
    value = sign(args, msg)
    print(value)
    if args.write:
        open(args.write, "wb").write(msg.wire(["X-MXParity: " + value]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
