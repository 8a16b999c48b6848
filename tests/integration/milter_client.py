#!/usr/bin/env python3
"""milter_client.py - one milter session (libmilter protocol version 6)
with a milter on 127.0.0.1:PORT, playing the MTA, for what a real MTA
cannot send (e.g. a 5,000-byte client host name).

usage: milter_client.py PORT [--client-name NAME] [--client-addr ADDR]
           [--helo NAME] [--from ADDR] [--rcpt ADDR]... [--auth USER]
           [--queue-id QID] [--header 'Name: value']... [--body TEXT]
           [--timeout SECONDS] [--offer-version N] [--offer-actions HEX]
           [--offer-protocol HEX] [--no-queue-id]

The session: OPTNEG, then CONNECT (family '4' or '6' by the address),
HELO, MAIL (its macros: i, {mail_addr} and, with --auth, {auth_authen}),
RCPT for each recipient, DATA, the header fields, EOH, the body, EOM and
QUIT, each preceded by its SMFIC_MACRO packet as Postfix sends them
(without i under --no-queue-id).  The OPTNEG offer is Postfix 3.x's unless
--offer-* give another MTA's (e.g. protocol version 2: --offer-version 2
--offer-actions 0x3f --offer-protocol 0x7f).  The
protocol flags the milter returns in OPTNEG are honoured: a step it asked
not to see (SMFIP_NO*) is not sent, a step it answers with no reply
(SMFIP_NR_*) is not waited for, header values get a leading space with
SMFIP_HDR_LEADSPC.  A refused MAIL or RCPT ends the transaction as an MTA
does (ABORT, then QUIT).

Prints one line per answer, "STAGE: ANSWER", e.g. "mail: continue",
"rcpt <alice@example.com>: continue", "eom: insheader 0 Name: value",
"eom: reply 550 5.7.1 text", and last "eom: continue" (or accept, reject,
tempfail, discard); the OPTNEG answer first, with the macros the milter
asked for by stage ("optneg: macros envfrom=i {auth_authen}").  Exits 0 when every step that needs an answer got one
(whatever it said), 1 when the milter closed the connection, timed out or
broke the protocol, 2 on a usage error.  Never more than --timeout seconds
per read (default 30); the whole session is bounded by a fixed number of
packets.
"""
import argparse
import socket
import struct
import sys

# Commands (MTA to milter), replies (milter to MTA), flags: libmilter's mfdef.h.
SMFIC_ABORT, SMFIC_BODY, SMFIC_CONNECT, SMFIC_MACRO = b"A", b"B", b"C", b"D"
SMFIC_BODYEOB, SMFIC_HELO, SMFIC_HEADER, SMFIC_MAIL = b"E", b"H", b"L", b"M"
SMFIC_EOH, SMFIC_OPTNEG, SMFIC_QUIT, SMFIC_RCPT, SMFIC_DATA = b"N", b"O", b"Q", b"R", b"T"

FINAL = {b"c": "continue", b"a": "accept", b"r": "reject", b"t": "tempfail",
         b"d": "discard", b"s": "skip"}
MODIFICATIONS = {b"h": "addheader", b"i": "insheader", b"m": "chgheader",
                 b"q": "quarantine", b"+": "addrcpt", b"-": "delrcpt",
                 b"2": "addrcpt_par", b"b": "replbody", b"e": "chgfrom"}

SMFIP_NOCONNECT, SMFIP_NOHELO, SMFIP_NOMAIL, SMFIP_NORCPT = 0x1, 0x2, 0x4, 0x8
SMFIP_NOBODY, SMFIP_NOHDRS, SMFIP_NOEOH, SMFIP_NR_HDR = 0x10, 0x20, 0x40, 0x80
SMFIP_NOUNKNOWN, SMFIP_NODATA, SMFIP_SKIP, SMFIP_RCPT_REJ = 0x100, 0x200, 0x400, 0x800
SMFIP_NR_CONN, SMFIP_NR_HELO, SMFIP_NR_MAIL, SMFIP_NR_RCPT = 0x1000, 0x2000, 0x4000, 0x8000
SMFIP_NR_DATA, SMFIP_NR_UNKN, SMFIP_NR_EOH, SMFIP_NR_BODY = 0x10000, 0x20000, 0x40000, 0x80000
SMFIP_HDR_LEADSPC = 0x100000
SMFIP_MDS_256K, SMFIP_MDS_1M = 0x10000000, 0x20000000
# What Postfix 3.x offers with milter_protocol = 6: every step flag.
OFFERED_PROTOCOL = 0x1FFFFF
OFFERED_ACTIONS = 0x1FF  # SMFIF_ADDHDRS .. SMFIF_SETSYMLIST
PROTOCOL_VERSION = 6
CHUNK = 65535           # MILTER_CHUNK_SIZE: the most one body packet carries
MAX_PACKET = 1 << 20    # a reply bigger than this is a broken milter
MAX_REPLIES = 10000     # answers read for one step, at most


class MilterError(Exception):
    """The milter closed the connection, timed out or broke the protocol."""


class Session:
    def __init__(self, port, timeout, offer=(PROTOCOL_VERSION, OFFERED_ACTIONS, OFFERED_PROTOCOL)):
        self.offer = offer
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.settimeout(timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.protocol = 0
        self.actions = 0

    def send(self, cmd, data=b""):
        try:
            self.sock.sendall(struct.pack("!I", len(data) + 1) + cmd + data)
        except OSError as e:
            raise MilterError("cannot send %r: %s" % (cmd, e)) from e

    def _read_exact(self, n, what):
        buf = b""
        while len(buf) < n:
            try:
                part = self.sock.recv(n - len(buf))
            except socket.timeout as e:
                raise MilterError("no answer to %s within the timeout" % what) from e
            except OSError as e:
                raise MilterError("reading the answer to %s: %s" % (what, e)) from e
            if not part:
                raise MilterError("the milter closed the connection (waiting for the answer to %s)" % what)
            buf += part
        return buf

    def read(self, what):
        (length,) = struct.unpack("!I", self._read_exact(4, what))
        if length < 1 or length > MAX_PACKET:
            raise MilterError("bad packet length %d in the answer to %s" % (length, what))
        data = self._read_exact(length, what)
        return data[:1], data[1:]

    def negotiate(self):
        self.send(SMFIC_OPTNEG, struct.pack("!III", *self.offer))
        cmd, data = self.read("OPTNEG")
        if cmd != SMFIC_OPTNEG or len(data) < 12:
            raise MilterError("bad OPTNEG answer %r (%d bytes)" % (cmd, len(data)))
        version, self.actions, self.protocol = struct.unpack("!III", data[:12])
        if self.protocol & ~(self.offer[2] | SMFIP_MDS_256K | SMFIP_MDS_1M):
            raise MilterError("the milter asked for steps never offered: 0x%x" % self.protocol)
        if self.actions & ~self.offer[1]:
            raise MilterError("the milter asked for actions never offered: 0x%x" % self.actions)
        print("optneg: version=%d actions=0x%x protocol=0x%x" % (version, self.actions,
                                                                  self.protocol))
        lists = macro_lists(data[12:])
        if lists:
            print("optneg: macros " + " ".join("%s=%s" % (STAGES.get(k, str(k)), v)
                                               for k, v in sorted(lists.items())))

    def macros(self, stage, pairs):
        data = stage
        for name, value in pairs:
            data += cstr(name) + cstr(value)
        self.send(SMFIC_MACRO, data)

    def step(self, label, cmd, data, no_reply_flag, at_eom=False):
        """Send one command; unless the milter negotiated no reply for it,
        read answers up to the final one and print them.  Returns the final
        answer's name, "continue" for an unanswered step."""
        self.send(cmd, data)
        if no_reply_flag and self.protocol & no_reply_flag:
            return "continue"
        for _ in range(MAX_REPLIES):
            rcmd, rdata = self.read(label)
            if rcmd == b"p":        # progress: keep waiting
                continue
            if rcmd in FINAL:
                print("%s: %s" % (label, FINAL[rcmd]))
                return FINAL[rcmd]
            if rcmd == b"y":
                text = rdata.rstrip(b"\0").decode("utf-8", "replace")
                print("%s: reply %s" % (label, text))
                return {"4": "tempfail", "5": "reject"}.get(text[:1], "reply")
            if rcmd in (b"f", b"4"):
                print("%s: %s" % (label, "connection failure" if rcmd == b"f" else "shutdown"))
                return "tempfail"
            if rcmd in MODIFICATIONS and at_eom:
                print("%s: %s %s" % (label, MODIFICATIONS[rcmd], modification_text(rcmd, rdata)))
                continue
            raise MilterError("unexpected answer %r to %s" % (rcmd, label))
        raise MilterError("more than %d answers to %s" % (MAX_REPLIES, label))

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# SMFIM_* stage numbers of a macro request (smfi_setsymlist)
STAGES = {0: "connect", 1: "helo", 2: "envfrom", 3: "envrcpt", 4: "data", 5: "eom", 6: "eoh"}


def macro_lists(data):
    """The macro lists after OPTNEG's three words: (stage, NUL-terminated list)..."""
    lists = {}
    while data:
        if len(data) < 5 or b"\0" not in data[4:]:
            raise MilterError("bad macro list in the OPTNEG answer: %r" % data[:40])
        (stage,) = struct.unpack("!I", data[:4])
        text, _, data = data[4:].partition(b"\0")
        lists[stage] = text.decode("utf-8", "replace")
    return lists


def cstr(text):
    """A NUL-terminated string of the protocol (bytes kept as given)."""
    return text.encode("utf-8", "surrogateescape") + b"\0"


def modification_text(rcmd, data):
    if rcmd in (b"i", b"m") and len(data) >= 4:
        (index,) = struct.unpack("!I", data[:4])
        parts = data[4:].split(b"\0")
        return "%d %s: %s" % (index, parts[0].decode("utf-8", "replace"),
                              (parts[1] if len(parts) > 1 else b"").decode("utf-8", "replace"))
    if rcmd == b"h":
        parts = data.split(b"\0")
        return "%s: %s" % (parts[0].decode("utf-8", "replace"),
                           (parts[1] if len(parts) > 1 else b"").decode("utf-8", "replace"))
    return data.rstrip(b"\0").decode("utf-8", "replace")


def run(args):
    s = Session(args.port, args.timeout,
                (args.offer_version, args.offer_actions, args.offer_protocol))
    try:
        s.negotiate()
        p = s.protocol
        family = b"6" if ":" in args.client_addr else b"4"
        s.macros(SMFIC_CONNECT, [("j", "mx1.example.com"), ("{daemon_name}", "milter_client"),
                                 ("_", "%s [%s]" % (args.client_name, args.client_addr)),
                                 ("{client_addr}", args.client_addr),
                                 ("{client_name}", args.client_name)])
        if not p & SMFIP_NOCONNECT:
            ans = s.step("connect", SMFIC_CONNECT,
                         cstr(args.client_name) + family + struct.pack("!H", 40000)
                         + cstr(args.client_addr), SMFIP_NR_CONN)
            if ans not in ("continue", "accept"):
                return finish(s)
        s.macros(SMFIC_HELO, [])
        if not p & SMFIP_NOHELO:
            ans = s.step("helo", SMFIC_HELO, cstr(args.helo), SMFIP_NR_HELO)
            if ans not in ("continue", "accept"):
                return finish(s)
        qid = [] if args.no_queue_id else [("i", args.queue_id)]
        mail_macros = qid + [("{mail_addr}", args.sender), ("{mail_mailer}", "smtp")]
        if args.auth is not None:
            mail_macros += [("{auth_type}", "PLAIN"), ("{auth_authen}", args.auth)]
        s.macros(SMFIC_MAIL, mail_macros)
        if not p & SMFIP_NOMAIL:
            ans = s.step("mail", SMFIC_MAIL, cstr("<%s>" % args.sender), SMFIP_NR_MAIL)
            if ans != "continue":
                return abort(s)
        accepted = 0
        for rcpt in args.rcpt or ["alice@example.com"]:
            s.macros(SMFIC_RCPT, [("{rcpt_addr}", rcpt), ("{rcpt_mailer}", "smtp")])
            if p & SMFIP_NORCPT:
                accepted += 1
                continue
            ans = s.step("rcpt <%s>" % rcpt, SMFIC_RCPT, cstr("<%s>" % rcpt), SMFIP_NR_RCPT)
            if ans == "continue":
                accepted += 1
            elif ans in ("accept", "discard"):
                return abort(s)
        if accepted == 0:
            return abort(s)
        s.macros(SMFIC_DATA, [])
        if not p & SMFIP_NODATA:
            if s.step("data", SMFIC_DATA, b"", SMFIP_NR_DATA) != "continue":
                return abort(s)
        headers = args.header or ["From: <%s>" % args.sender,
                                  "To: <%s>" % (args.rcpt or ["alice@example.com"])[0],
                                  "Subject: milter_client"]
        if not p & SMFIP_NOHDRS:
            for h in headers:
                name, sep, value = h.partition(":")
                if not sep:
                    raise MilterError("--header %r has no colon" % h)
                value = value.lstrip(" ")
                if p & SMFIP_HDR_LEADSPC:
                    value = " " + value
                if s.step("header %s" % name, SMFIC_HEADER, cstr(name) + cstr(value),
                          SMFIP_NR_HDR) != "continue":
                    return abort(s)
        s.macros(SMFIC_EOH, [])
        if not p & SMFIP_NOEOH:
            if s.step("eoh", SMFIC_EOH, b"", SMFIP_NR_EOH) != "continue":
                return abort(s)
        body = args.body.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")
        if not p & SMFIP_NOBODY:
            for off in range(0, len(body), CHUNK):
                ans = s.step("body", SMFIC_BODY, body[off:off + CHUNK], SMFIP_NR_BODY)
                if ans == "skip":
                    break
                if ans != "continue":
                    return abort(s)
        s.macros(SMFIC_BODYEOB, qid)
        s.step("eom", SMFIC_BODYEOB, b"", 0, at_eom=True)
        return finish(s)
    finally:
        s.close()


def abort(s):
    s.send(SMFIC_ABORT)
    return finish(s)


def finish(s):
    s.send(SMFIC_QUIT)
    return 0


def main():
    ap = argparse.ArgumentParser(description="one milter session, playing the MTA")
    ap.add_argument("port", type=int)
    ap.add_argument("--client-name", default="client.itest.example")
    ap.add_argument("--client-addr", default="127.0.0.1")
    ap.add_argument("--helo", default="client.itest.example")
    ap.add_argument("--from", dest="sender", default="sender@example.com")
    ap.add_argument("--rcpt", action="append")
    ap.add_argument("--auth")
    ap.add_argument("--queue-id", default="MC0000000001")
    ap.add_argument("--header", action="append")
    ap.add_argument("--body", default="milter_client body\n")
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--offer-version", type=int, default=PROTOCOL_VERSION)
    ap.add_argument("--offer-actions", type=lambda v: int(v, 0), default=OFFERED_ACTIONS)
    ap.add_argument("--offer-protocol", type=lambda v: int(v, 0), default=OFFERED_PROTOCOL)
    ap.add_argument("--no-queue-id", action="store_true")
    args = ap.parse_args()
    try:
        sys.exit(run(args))
    except (MilterError, OSError) as e:
        print("error: %s" % e)
        sys.exit(1)


if __name__ == "__main__":
    main()
