#!/usr/bin/env python3
"""smtp_load.py - an SMTP load client that knows what became of every message.

Usage: smtp_load.py PORT RESULTS.json [--sessions N] [--seconds S]
                    [--max-messages M] [--retry-seconds R] [--from ADDR]
                    [--to ADDR] [--prefix P] [--body-bytes B] [--bind ADDR]
                    [--helo NAME] [--rate R]

N sessions (threads) send messages to 127.0.0.1:PORT for S seconds, one
transaction per connection, each with a unique id (X-Soak-Id and
Message-ID).  A 4xx reply, a dropped connection or a timeout is a tempfail:
the message is queued and sent again (the same id) a second later, as a
real sender would, for at most R seconds after the load ends.  A 5xx is a
rejection and is not retried.  At most M messages are started, and with
--rate at most R new ones a second (retries are not held back), so that a
test can act while the load is still under way on a fast machine too.

RESULTS.json records each id's attempts and final state (accepted,
rejected, unresolved), and "ambiguous" when the connection broke after the
final dot was sent, the one case where SMTP itself cannot tell whether the
server took the message (RFC 1047).  soak_account.py compares it with the
sink.  Prints one line of figures.  Exit 0 unless the client itself failed.
"""
import argparse
import collections
import json
import smtplib
import socket
import sys
import threading
import time


class Book:
    """What happened to each id; the retry queue."""

    def __init__(self, args):
        self.lock = threading.Lock()
        self.args = args
        self.started = 0
        self.attempts = collections.Counter()
        self.state = {}
        self.ambiguous = set()
        self.tempfails = 0
        self.replies = collections.Counter()
        self.retry = collections.deque()
        self.start = time.monotonic()

    def next_id(self, now, load_over):
        """A due retry first, then a new id while the load lasts (and the rate allows)."""
        with self.lock:
            if self.retry and self.retry[0][0] <= now:
                return self.retry.popleft()[1]
            if load_over or self.started >= self.args.max_messages:
                return None
            if self.args.rate and self.started >= self.args.rate * (now - self.start) + 1:
                return None
            self.started += 1
            return "%s-%06d" % (self.args.prefix, self.started)

    def pending(self):
        with self.lock:
            return len(self.retry)

    def record(self, mid, outcome, code, text, after_dot=False):
        with self.lock:
            self.attempts[mid] += 1
            self.replies["%s %s" % (code, text[:60])] += 1
            if after_dot:
                self.ambiguous.add(mid)
            if outcome == "tempfail":
                self.tempfails += 1
                self.state[mid] = "unresolved"
                self.retry.append((time.monotonic() + 1.0, mid))
            else:
                self.state[mid] = outcome


def message(args, mid):
    body = ("soak load message %s\r\n" % mid) * max(1, args.body_bytes // 40)
    return (
        "From: <%s>\r\nTo: <%s>\r\nSubject: soak %s\r\nMessage-ID: <%s@soak.example>\r\n"
        "X-Soak-Id: %s\r\n\r\n%s" % (args.sender, args.rcpt, mid, mid, mid, body)
    ).encode()


def send_one(args, book, mid):
    """One transaction for mid; records its outcome."""
    dot_sent = False
    try:
        with smtplib.SMTP("127.0.0.1", args.port, local_hostname=args.helo, timeout=120,
                          source_address=(args.bind, 0)) as s:
            s.ehlo()
            code, text = s.mail(args.sender)
            if code != 250:
                raise smtplib.SMTPResponseException(code, text)
            code, text = s.rcpt(args.rcpt)
            if code not in (250, 251):
                raise smtplib.SMTPResponseException(code, text)
            s.putcmd("data")
            code, text = s.getreply()
            if code != 354:
                raise smtplib.SMTPResponseException(code, text)
            s.send(smtplib.quotedata(message(args, mid).decode()).encode() + b"\r\n.\r\n")
            dot_sent = True
            code, text = s.getreply()
            if code != 250:
                raise smtplib.SMTPResponseException(code, text)
            book.record(mid, "accepted", 250, "")
            try:
                s.quit()
            except (smtplib.SMTPException, OSError):
                pass
    except smtplib.SMTPResponseException as e:
        text = e.smtp_error.decode(errors="replace") if isinstance(e.smtp_error, bytes) else str(e.smtp_error)
        book.record(mid, "tempfail" if 400 <= e.smtp_code < 500 else "rejected", e.smtp_code, text)
    except (smtplib.SMTPException, OSError, socket.timeout) as e:
        book.record(mid, "tempfail", 0, type(e).__name__, after_dot=dot_sent)


def worker(args, book, load_end, retry_end):
    while True:
        now = time.monotonic()
        if now >= retry_end:
            return
        mid = book.next_id(now, now >= load_end)
        if mid is None:
            # The load is over (its time, or all --max-messages started) and nothing waits.
            if (now >= load_end or book.started >= args.max_messages) and book.pending() == 0:
                return
            time.sleep(0.05)
            continue
        send_one(args, book, mid)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("port", type=int)
    p.add_argument("results")
    p.add_argument("--sessions", type=int, default=20)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--max-messages", type=int, default=100000)
    p.add_argument("--retry-seconds", type=float, default=60)
    p.add_argument("--from", dest="sender", default="soak@pass.example.org")
    p.add_argument("--to", dest="rcpt", default="alice@example.com")
    p.add_argument("--prefix", default="soak")
    p.add_argument("--body-bytes", type=int, default=2000)
    p.add_argument("--bind", default="127.0.0.1", help="the client's source address")
    p.add_argument("--helo", default="soak.example")
    p.add_argument("--rate", type=float, default=0, help="new messages a second at most (0: no cap)")
    args = p.parse_args()

    book = Book(args)
    start = book.start
    load_end = start + args.seconds
    retry_end = load_end + args.retry_seconds
    threads = [threading.Thread(target=worker, args=(args, book, load_end, retry_end), daemon=True)
               for _ in range(args.sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.0, retry_end + 130 - time.monotonic()))
    states = collections.Counter(book.state.values())
    with book.lock:
        out = {
            "prefix": args.prefix,
            "messages": book.started,
            "attempts": sum(book.attempts.values()),
            "tempfail_attempts": book.tempfails,
            "accepted": sorted(m for m, s in book.state.items() if s == "accepted"),
            "rejected": sorted(m for m, s in book.state.items() if s == "rejected"),
            "unresolved": sorted(m for m, s in book.state.items() if s == "unresolved"),
            "ambiguous": sorted(book.ambiguous),
            "retried": sorted(m for m, n in book.attempts.items() if n > 1),
            "replies": dict(book.replies),
            "seconds": round(time.monotonic() - start, 1),
        }
    with open(args.results, "w") as f:
        json.dump(out, f, indent=1)
    print("smtp_load: messages=%d attempts=%d accepted=%d tempfail_attempts=%d retried=%d "
          "rejected=%d unresolved=%d ambiguous=%d in %.1fs"
          % (out["messages"], out["attempts"], states["accepted"], out["tempfail_attempts"],
             len(out["retried"]), states["rejected"], states["unresolved"], len(out["ambiguous"]),
             out["seconds"]))
    for reply, n in sorted(book.replies.items(), key=lambda kv: -kv[1]):
        if not reply.startswith("250 "):
            print("smtp_load:   %6d x %s" % (n, reply))
    return 0


if __name__ == "__main__":
    sys.exit(main())
