#!/usr/bin/env python3
"""milter_abuse.py - hostile milter-protocol peers, one case per run, for
t-milter-abuse.sh.  The milter must survive each; the test then checks it
still answers a normal session.

usage: milter_abuse.py PORT CASE
CASE: zero-length, huge-length, truncated, out-of-order, big-header,
      many-headers, many-rcpts, nul-and-bytes, long-macros, idle
Prints one line, "CASE: WHAT HAPPENED", and exits 0 when the milter
behaved as a milter should (answered, or closed the connection on a broken
packet), 1 when it did not (no answer where one is due, a wrong answer).
Every run is bounded: at most 60 s of reads, a fixed number of packets.
"""
import socket
import struct
import sys
import time

PROTOCOL, ACTIONS, STEPS = 6, 0x1FF, 0x1FFFFF
SMFIP_NR_HDR, SMFIP_NR_CONN, SMFIP_NR_HELO = 0x80, 0x1000, 0x2000
SMFIP_NR_MAIL, SMFIP_NR_RCPT, SMFIP_NR_EOH, SMFIP_NR_BODY = 0x4000, 0x8000, 0x40000, 0x80000
FINAL = {b"c": "continue", b"a": "accept", b"r": "reject", b"t": "tempfail", b"d": "discard"}


def packet(cmd, data=b""):
    return struct.pack("!I", len(data) + 1) + cmd + data


def cstr(s):
    return (s if isinstance(s, bytes) else s.encode()) + b"\0"


class Peer:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.protocol = 0

    def send(self, cmd, data=b""):
        self.s.sendall(packet(cmd, data))

    def read(self):
        head = self._exact(4)
        n = struct.unpack("!I", head)[0]
        if n < 1 or n > 1 << 20:
            raise ValueError("bad answer length %d" % n)
        data = self._exact(n)
        return data[:1], data[1:]

    def _exact(self, n):
        out = b""
        while len(out) < n:
            chunk = self.s.recv(n - len(out))
            if not chunk:
                raise EOFError("closed")
            out += chunk
        return out

    def final(self):
        """Answers up to the final one: its name, or 'reply CODE ...'."""
        for _ in range(100000):
            cmd, data = self.read()
            if cmd in FINAL:
                return FINAL[cmd]
            if cmd == b"y":
                return "reply " + data.rstrip(b"\0").decode("utf-8", "replace")
            if cmd == b"p":
                continue
        raise ValueError("too many answers")

    def negotiate(self):
        self.send(b"O", struct.pack("!III", PROTOCOL, ACTIONS, STEPS))
        cmd, data = self.read()
        if cmd != b"O":
            raise ValueError("no OPTNEG answer")
        self.protocol = struct.unpack("!III", data[:12])[2]

    def step(self, cmd, data, nr):
        self.send(cmd, data)
        if self.protocol & nr:
            return "continue"
        return self.final()

    def session_start(self, name=b"abuse.example", helo=b"abuse.example", macros=()):
        self.negotiate()
        self.send(b"D", b"C" + b"".join(cstr(k) + cstr(v) for k, v in macros))
        self.step(b"C", cstr(name) + b"4" + struct.pack("!H", 2525) + cstr("192.0.2.77"),
                  SMFIP_NR_CONN)
        self.step(b"H", cstr(helo), SMFIP_NR_HELO)

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def closed_by_milter(p, seconds=30):
    """True when the milter closes the connection within seconds."""
    p.s.settimeout(seconds)
    try:
        while p.s.recv(4096):
            pass
        return True
    except socket.timeout:
        return False
    except OSError:
        return True


def case_zero_length(port):
    p = Peer(port)
    p.s.sendall(b"\0\0\0\0")
    return closed_by_milter(p), "closed after a zero-length packet"


def case_huge_length(port):
    p = Peer(port)
    p.s.sendall(b"\xff\xff\xff\xffO")
    return closed_by_milter(p), "closed after a 4 GiB packet length"


def case_truncated(port):
    p = Peer(port)
    p.s.sendall(struct.pack("!I", 100) + b"O" + b"\0" * 10)
    p.s.shutdown(socket.SHUT_WR)
    return closed_by_milter(p), "closed after a truncated packet"


def case_out_of_order(port):
    p = Peer(port)
    p.negotiate()
    # Body, end of headers and end of message with no connection and no message.
    p.send(b"B", b"body before anything\r\n")
    p.send(b"N")
    p.send(b"E")
    p.s.settimeout(10)  # libmilter may ignore commands out of state: no answer is no crash
    try:
        ans = p.final()
    except (EOFError, OSError, ValueError) as e:
        return True, "no answer or closed on commands out of order (%s)" % e
    p.send(b"Q")
    return ans in ("continue", "accept", "tempfail", "reject") or ans.startswith("reply "), \
        "answered %s to EOM out of order" % ans


def mail_rcpt(p, rcpts=(b"alice@example.com",)):
    p.send(b"D", b"M" + cstr("i") + cstr("ABUSE"))
    ans = p.step(b"M", cstr(b"<abuse@example.org>"), SMFIP_NR_MAIL)
    if ans != "continue":
        return ans
    out = []
    for r in rcpts:
        out.append(p.step(b"R", cstr(b"<" + r + b">"), SMFIP_NR_RCPT))
    return out


def case_big_header(port):
    p = Peer(port)
    p.session_start()
    mail_rcpt(p)
    try:
        # Beyond the negotiated packet size: libmilter may close while this is still sending.
        p.send(b"L", cstr("X-Big") + cstr(b"x" * (1 << 20)))
        if not p.protocol & SMFIP_NR_HDR:
            p.final()
        p.send(b"N")
        p.send(b"E")
        ans = p.final()
    except (EOFError, OSError, ValueError) as e:
        return True, "closed on a 1 MB header (%s)" % e
    return ans.startswith("reply 5") or ans == "reject", "answered %s to a 1 MB header" % ans


def case_many_headers(port):
    p = Peer(port)
    p.session_start()
    mail_rcpt(p)
    for i in range(100000):
        p.send(b"L", cstr("X-H%d" % i) + cstr("v"))
        if not p.protocol & SMFIP_NR_HDR:
            p.final()
    p.send(b"N")
    p.send(b"E")
    ans = p.final()
    p.send(b"Q")
    return ans.startswith("reply 552"), "answered %s after 100,000 headers" % ans


def case_many_rcpts(port):
    p = Peer(port)
    p.session_start()
    answers = mail_rcpt(p, [b"r%d@example.org" % i for i in range(10000)])
    refused = sum(1 for a in answers if a.startswith("reply 452"))
    p.send(b"A")
    p.send(b"Q")
    return refused >= 9000, "%d of 10,000 recipients refused with 452" % refused


def case_nul_and_bytes(port):
    p = Peer(port)
    p.session_start(name=b"n\xffu\xfel.example", helo=b"he\x00lo\xc3\x28")
    mail_rcpt(p, [b"al\xffice@example.com", b"alice@example.com"])
    p.send(b"L", cstr("Subject") + b"a\xff\xfe\x00hidden\0")
    p.send(b"L", cstr(b"X-\xff") + cstr(b"\xc3\x28"))
    p.send(b"N")
    p.send(b"B", b"body \x00 \xff\r\n")
    p.send(b"E")
    ans = p.final()
    while ans not in FINAL.values() and not ans.startswith("reply"):
        ans = p.final()
    p.send(b"Q")
    return True, "answered %s with NULs and invalid UTF-8 everywhere" % ans


def case_long_macros(port):
    long = "m" * 5000
    p = Peer(port)
    p.session_start(macros=[("j", long), ("_", long), ("{daemon_name}", long),
                            ("{client_name}", long)])
    p.send(b"D", b"M" + cstr("i") + cstr(long) + cstr("{auth_authen}") + cstr(long)
           + cstr("{mail_addr}") + cstr(long))
    ans = p.step(b"M", cstr(b"<" + long.encode() + b"@example.org>"), SMFIP_NR_MAIL)
    p.send(b"A")
    p.send(b"Q")
    return ans in ("continue", "tempfail") or ans.startswith("reply"), \
        "answered %s with 5,000-byte macros" % ans


def case_idle(port):
    conns = []
    for _ in range(500):
        conns.append(socket.create_connection(("127.0.0.1", port), timeout=30))
    time.sleep(1)
    for c in conns:
        c.close()
    return True, "500 idle connections opened and closed"


CASES = {n[5:].replace("_", "-"): f for n, f in globals().items() if n.startswith("case_")}


def main():
    if len(sys.argv) != 3 or sys.argv[2] not in CASES:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        ok, what = CASES[sys.argv[2]](int(sys.argv[1]))
    except (OSError, EOFError, ValueError) as e:
        ok, what = False, "the milter broke the protocol: %s" % e
    print("%s: %s" % (sys.argv[2], what), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
