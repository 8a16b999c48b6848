#!/usr/bin/env python3
"""make-session-seeds.py DIR - write the seed corpus of fuzz_session.

Each seed is one connection in fuzz_session's encoding: a client byte
(an index into its table of addresses), a field with the client name, then
events, each an op byte and its fields.  A field is a two-byte
little-endian length and that many bytes.  The ops, as fuzz_session.c
numbers them: 0 HELO, 1 MAIL (then a byte: 1 when an auth name follows),
2 RCPT, 3 header (name, value), 4 end of headers, 5 body chunk, 6 end of
message, 7 abort, 8 queue id, 9 a Received header.
"""
import os
import struct
import sys

EDGE, PEER, TRUSTED, V6_EDGE, V6_PEER, BAD_ADDR, EMPTY_ADDR, SELF = range(8)
STAMP = ("v=1; host=mx2.example.com; tier=backup; policy=sha256:" + "82" * 32 +
         "; client=192.0.2.7; helo=client.example.net; from=a@example.net; "
         "spf=pass; av=clean; bh=" + "23" * 32 + "; mac=" + "34" * 32)
RECEIVED = ("from client.example.net (client.example.net [192.0.2.7])\r\n\t"
            "by mx2.example.com (Postfix) with ESMTP id 4QxYz1AbcD\r\n\t"
            "for <alice@example.com>; Thu,  3 Dec 2026 10:00:00 +0000 (UTC)")
RECEIVED_V6 = ("from client.example.net (unknown [IPv6:2001:db8::7])\r\n\t"
               "by mx2.example.com (Postfix) with ESMTPS id 4QxYz2")


def field(text):
    data = text if isinstance(text, bytes) else text.encode()
    return struct.pack("<H", len(data)) + data


def helo(name):
    return b"\x00" + field(name)


def mail(sender, auth=None):
    if auth is None:
        return b"\x01" + field(sender) + b"\x00"
    return b"\x01" + field(sender) + b"\x01" + field(auth)


def rcpt(addr):
    return b"\x02" + field(addr)


def header(name, value):
    return b"\x03" + field(name) + field(value)


def body(chunk):
    return b"\x05" + field(chunk)


EOH, EOM, ABORT = b"\x04", b"\x06", b"\x07"


def queue_id(qid):
    return b"\x08" + field(qid)


def received(value):
    return b"\x09" + field(value)


def connection(client, name, *events):
    return bytes([client]) + field(name) + b"".join(events)


def message(sender, rcpts, headers, text, auth=None):
    return (mail(sender, auth) + b"".join(rcpt(r) for r in rcpts) +
            b"".join(header(n, v) for n, v in headers) + EOH + body(text) + EOM)


PLAIN = [("From", "<a@example.net>"), ("To", "<alice@example.com>"),
         ("Subject", "hello"), ("Message-ID", "<1@example.net>")]
FORGED = [("Authentication-Results", "mx1.example.com; spf=pass"),
          ("X-Virus-Status", "Clean"), (b"X-MXParity", STAMP)]

SEEDS = {
    "edge-clean": connection(EDGE, "client.example.net", helo("client.example.net"),
                             queue_id("4QxYz1AbcD"),
                             message("<a@example.net>", ["<alice@example.com>"], PLAIN,
                                     "Hello.\r\n")),
    "edge-unknown-recipient": connection(
        EDGE, "client.example.net", helo("client.example.net"),
        message("<a@example.net>", ["<nobody@example.com>", "<bob+tag@example.com>",
                                    "<x@example.org>", "postmaster"], PLAIN, "Hi.\r\n")),
    "edge-forged-trust-headers": connection(
        EDGE, "client.example.net", helo("client.example.net"),
        message("<a@example.net>", ["<alice@example.com>"], PLAIN + FORGED, "Hi.\r\n")),
    "peer-relay-with-stamp": connection(
        PEER, "mx2.example.com", helo("mx2.example.com"), mail("<a@example.net>"),
        rcpt("<alice@example.com>"), received(RECEIVED), header("X-MXParity", STAMP),
        *[header(n, v) for n, v in PLAIN], EOH, body("Relayed.\r\n"), EOM),
    "peer-relay-no-stamp-v6": connection(
        V6_PEER, "mx2.example.com", helo("mx2.example.com"),
        mail("<a@example.net>"), rcpt("<alice@example.com>"), received(RECEIVED_V6),
        EOH, body("x"), EOM),
    "trusted-authenticated": connection(
        TRUSTED, "submit.example.com", helo("submit.example.com"),
        message("<alice@example.com>", ["<z@example.net>"], PLAIN, "Out.\r\n",
                auth="alice")),
    "two-messages-and-abort": connection(
        V6_EDGE, "[2a00:1450:4864::5]", helo("[2a00:1450:4864::5]"),
        message("<>", ["<alice@example.com>"], PLAIN, "Bounce.\r\n"),
        mail("<b@example.net>"), rcpt("<bob@example.com>"), ABORT,
        rcpt("<outside@example.com>"), EOM,
        message("<c@example.net>", ["<bob@example.com>"] * 3, PLAIN, "Again.\r\n")),
    "odd-fields": connection(
        BAD_ADDR, "bad\r\nname\x1b[31m", helo("helo\x00nul"),
        mail("<a\r\n@example.net>", auth=""), rcpt("<\xff\xfe@example.com>"),
        header("", ""), header("Subject", "x" * 5000), EOH, body(b"\x00" * 64), EOM),
    "empty-address-self": connection(
        EMPTY_ADDR, "", mail(""), rcpt(""), EOM, queue_id(""),
        connection(SELF, "mx1.example.com")),
}


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
