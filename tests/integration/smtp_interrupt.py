#!/usr/bin/env python3
"""smtp_interrupt.py - one SMTP transaction with a signal to a process
between RCPT and DATA.

usage: smtp_interrupt.py PORT PID SIGNAL WANT SUBJECT
WANT is the class of DATA reply required: 2 (accepted) or 4 (tempfail).
Exits 0 when the DATA reply has that class.
"""
import os
import signal
import smtplib
import sys
import time

port, pid, sig, want, subject = (int(sys.argv[1]), int(sys.argv[2]),
                                 getattr(signal, sys.argv[3]), sys.argv[4], sys.argv[5])
s = smtplib.SMTP("127.0.0.1", port, timeout=60)
s.ehlo("client.itest.example")
code, _ = s.mail("sender@example.com")
assert code == 250, "MAIL: %d" % code
code, _ = s.rcpt("alice@example.com")
assert code == 250, "RCPT: %d" % code
os.kill(pid, sig)
time.sleep(1)
try:
    code, msg = s.data(("Subject: %s\r\n\r\nbody\r\n" % subject).encode())
except smtplib.SMTPDataError as e:  # smtplib raises on anything but 250
    code, msg = e.smtp_code, e.smtp_error
print("DATA reply", code, msg.decode())
s.close()
sys.exit(0 if str(code).startswith(want) else 1)
