#!/usr/bin/env python3
"""syslog_sink.py SOCKET LOGFILE - a private syslog daemon for one test.

Sendmail logs only through syslog(3), that is to /dev/log.  The harness
runs sendmail in its own mount namespace with /dev replaced by a test
directory whose "log" is this socket, so every line sendmail logs lands in
LOGFILE (the sendmail counterpart of Postfix's maillog_file) and nothing
reaches the host's syslog.  Runs until killed; each datagram is one line,
its <PRI> prefix dropped and non-printable bytes escaped.
"""
import os
import re
import socket
import sys
import time

PRI = re.compile(rb"^<\d{1,3}>")
MAX_DATAGRAM = 65536


def printable(data):
    out = []
    for b in data.rstrip(b"\n\0"):
        out.append(chr(b) if 0x20 <= b < 0x7F else "\\x%02x" % b)
    return "".join(out)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: syslog_sink.py SOCKET LOGFILE")
    path, logfile = sys.argv[1], sys.argv[2]
    if os.path.exists(path):
        os.unlink(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    os.chmod(path, 0o666)  # sendmail's delivery agents run as other users
    with open(logfile, "a", buffering=1) as log:
        while True:
            data = sock.recv(MAX_DATAGRAM)
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
            log.write("%s %s\n" % (stamp, printable(PRI.sub(b"", data))))


if __name__ == "__main__":
    main()
