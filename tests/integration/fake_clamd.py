#!/usr/bin/env python3
"""fake_clamd.py MODE SOCKET - a clamd that misbehaves, for the av module's
clamd backend tests.  Listens on the unix socket SOCKET and, for every
connection, reads one z-command (zINSTREAM: the whole stream, up to its
zero-length chunk) and then, by MODE:
  garbage  answers a line clamd never writes ("stream: all good, trust me")
  stall    answers nothing and keeps the connection open (60 s at most)
  close    writes half a reply ("stream: O") and closes
  ok       answers "stream: OK" (for contrast)
Prints "ready" once listening; runs until killed.  Each connection is
served by a thread of its own; at most 200 are served in all.
"""
import os
import socket
import struct
import sys
import threading
import time

REPLIES = {"garbage": b"stream: all good, trust me\0", "close": b"stream: O",
           "ok": b"stream: OK\0"}
MAX_CONNECTIONS = 200
MAX_STREAM = 64 << 20


def read_exact(c, n):
    buf = b""
    while len(buf) < n:
        part = c.recv(n - len(buf))
        if not part:
            raise EOFError
        buf += part
    return buf


def serve(c, mode):
    try:
        c.settimeout(30)
        cmd = b""
        while not cmd.endswith(b"\0") and len(cmd) < 64:
            cmd += read_exact(c, 1)
        if cmd == b"zINSTREAM\0":
            total = 0
            while total <= MAX_STREAM:
                (n,) = struct.unpack("!I", read_exact(c, 4))
                if n == 0:
                    break
                read_exact(c, n)
                total += n
        if cmd == b"zPING\0":
            c.sendall(b"PONG\0")
        elif cmd == b"zVERSION\0":
            c.sendall(b"ClamAV 0.0.0/0/fake %s\0" % mode.encode())
        elif mode == "stall":
            time.sleep(60)
        else:
            c.sendall(REPLIES[mode])
    except (OSError, EOFError, struct.error):
        pass
    finally:
        c.close()


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("garbage", "stall", "close", "ok"):
        sys.exit("usage: fake_clamd.py garbage|stall|close|ok SOCKET")
    mode, path = sys.argv[1], sys.argv[2]
    if os.path.exists(path):
        os.unlink(path)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(16)
    print("ready", flush=True)
    for _ in range(MAX_CONNECTIONS):
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c, mode), daemon=True).start()


if __name__ == "__main__":
    main()
