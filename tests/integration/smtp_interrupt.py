#!/usr/bin/env python3
"""smtp_interrupt.py - one SMTP transaction with a signal to a process
between RCPT and DATA.

usage: smtp_interrupt.py PORT PID SIGNAL WANT SUBJECT [LATE]
WANT is the class of DATA reply required: 2 (accepted) or 4 (tempfail).
LATE, when given, is how the MAIL of a second session opened after the
signal (while the first one is still open) must be answered, e.g.
"451 4.3.2": a draining daemon refuses new sessions.
Exits 0 when the replies are as required.
"""
import os
import signal
import smtplib
import sys
import time

port, pid, sig, want, subject = (int(sys.argv[1]), int(sys.argv[2]),
                                 getattr(signal, sys.argv[3]), sys.argv[4], sys.argv[5])
late = sys.argv[6] if len(sys.argv) > 6 else None
s = smtplib.SMTP("127.0.0.1", port, timeout=60)
s.ehlo("client.itest.example")
code, _ = s.mail("sender@example.com")
assert code == 250, "MAIL: %d" % code
code, _ = s.rcpt("alice@example.com")
assert code == 250, "RCPT: %d" % code
os.kill(pid, sig)
time.sleep(1)
late_ok = True
if late is not None:
    s2 = smtplib.SMTP("127.0.0.1", port, timeout=60)
    s2.ehlo("late.itest.example")
    code2, msg2 = s2.mail("late@example.com")
    reply2 = "%d %s" % (code2, msg2.decode())
    print("MAIL reply of a session opened after the signal:", reply2)
    late_ok = reply2.startswith(late)
    s2.close()
try:
    code, msg = s.data(("Subject: %s\r\n\r\nbody\r\n" % subject).encode())
except smtplib.SMTPDataError as e:  # smtplib raises on anything but 250
    code, msg = e.smtp_code, e.smtp_error
print("DATA reply", code, msg.decode())
s.close()
sys.exit(0 if str(code).startswith(want) and late_ok else 1)
