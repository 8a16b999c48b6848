#!/usr/bin/env python3
"""milter_hold.py - connections that hold a milter's resources, for the
connection cap and timeout tests (t-milter-limits.sh).

usage: milter_hold.py PORT hold N STOPFILE
           N sessions, each through OPTNEG, CONNECT, HELO and MAIL (whose
           answer is read, so the milter has opened the session), printing
           "held K" after each; then they stay open until STOPFILE exists
           (checked every 0.1 s, for at most 120 s), and are closed.
       milter_hold.py PORT stall N SECONDS
           N connections that send half a packet and nothing more; prints
           "closed K of N" once the milter has closed K of them, after at
           most SECONDS, and exits 0 when all were closed, 1 otherwise.
"""
import os
import socket
import struct
import sys
import time

PROTOCOL, ACTIONS, STEPS = 6, 0x1FF, 0x1FFFFF


def packet(cmd, data=b""):
    return struct.pack("!I", len(data) + 1) + cmd + data


def read_packet(s):
    head = b""
    while len(head) < 4:
        chunk = s.recv(4 - len(head))
        if not chunk:
            raise EOFError("milter closed the connection")
        head += chunk
    n = struct.unpack("!I", head)[0]
    if n < 1 or n > 1 << 20:
        raise ValueError("bad packet length %d" % n)
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise EOFError("milter closed the connection")
        data += chunk
    return data[:1], data[1:]


def hold(port, n, stopfile):
    socks = []
    for k in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        s.sendall(packet(b"O", struct.pack("!III", PROTOCOL, ACTIONS, STEPS)))
        cmd, _ = read_packet(s)
        if cmd != b"O":
            raise ValueError("no OPTNEG answer")
        s.sendall(packet(b"C", b"holder.example\0" + b"4" + struct.pack("!H", 2525)
                         + b"192.0.2.%d\0" % (k + 1)))
        s.sendall(packet(b"H", b"holder.example\0"))
        s.sendall(packet(b"D", b"Mi\0HOLD%d\0" % k))
        s.sendall(packet(b"M", b"<hold%d@example.org>\0" % k))
        while True:            # connect and HELO answers, if any, then MAIL's
            cmd, _ = read_packet(s)
            if cmd in (b"c", b"a", b"t", b"r", b"y"):
                break
        socks.append(s)
        print("held %d" % (k + 1), flush=True)
    deadline = time.monotonic() + 120
    while not os.path.exists(stopfile) and time.monotonic() < deadline:
        time.sleep(0.1)
    for s in socks:
        s.close()
    return 0


def stall(port, n, seconds):
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(struct.pack("!I", 100) + b"O" + b"\0\0\0")  # 4 of 100 bytes
        s.setblocking(False)
        socks.append(s)
    closed = set()
    deadline = time.monotonic() + seconds
    while len(closed) < n and time.monotonic() < deadline:
        for i, s in enumerate(socks):
            if i in closed:
                continue
            try:
                if s.recv(4096) == b"":
                    closed.add(i)
            except BlockingIOError:
                pass
            except OSError:
                closed.add(i)
        time.sleep(0.1)
    print("closed %d of %d" % (len(closed), n), flush=True)
    for s in socks:
        s.close()
    return 0 if len(closed) == n else 1


def main():
    if len(sys.argv) != 5 or sys.argv[2] not in ("hold", "stall"):
        print(__doc__, file=sys.stderr)
        return 2
    port, what, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    if what == "hold":
        return hold(port, n, sys.argv[4])
    return stall(port, n, float(sys.argv[4]))


if __name__ == "__main__":
    sys.exit(main())
