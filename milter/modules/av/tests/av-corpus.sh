# shellcheck shell=bash
# milter/modules/av/tests/av-corpus.sh - real-world mail corpora for the av
# integration tests, and a sender that pushes many files through one SMTP
# session.  Source it after lib.sh.
#
# Corpora (Debian packages; a missing one is skipped, both missing = SKIP):
#   Python's email test data   /usr/lib/python3.11/test/test_email/data/msg_*.txt
#                              (libpython3.11-testsuite)
#   enmime's test data         /usr/share/gocode/src/github.com/jhillyerd/enmime/testdata
#                              (golang-github-jhillyerd-enmime-dev): every *.raw
#                              (mail/, parts/, low-quality/: many deliberately
#                              malformed) and every *.golden (encoder output:
#                              bare MIME entities, one empty).  Its only other
#                              file, attach/fake.png, is not a message.

: "${AV_CORPUS_PY:=/usr/lib/python3.11/test/test_email/data}"
: "${AV_CORPUS_ENMIME:=/usr/share/gocode/src/github.com/jhillyerd/enmime/testdata}"

# corpus_files: print every corpus message file, one absolute path a line.
corpus_files() {
    if [ -d "$AV_CORPUS_PY" ]; then
        find "$AV_CORPUS_PY" -maxdepth 1 -type f -name 'msg_*.txt' | LC_ALL=C sort
    fi
    if [ -d "$AV_CORPUS_ENMIME" ]; then
        find "$AV_CORPUS_ENMIME" -type f \( -name '*.raw' -o -name '*.golden' \) | LC_ALL=C sort
    fi
}

# corpus_send PORT LIST RESULTS [DEADLINE_S]: send each file named in LIST
# (one path a line) as one message through SMTP on 127.0.0.1:PORT, envelope
# <cN@corpus.example> -> <alice@example.com> (N = line number in LIST).  One
# session, reopened if the server drops it; line endings normalised to CRLF
# (as any SMTP client does; bare CRs and 8-bit bytes are sent as they are).
# Writes RESULTS as tab-separated lines: N, sender, stage, code, reply, file
# (stage is where the transaction ended: mail, rcpt, data, or error).
# Stops after DEADLINE_S seconds (default 300): unsent files are reported
# with stage "unsent".
corpus_send() {
    timeout $(( ${4:-300} + 30 )) python3 - "$1" "$2" "$3" "${4:-300}" <<'PY'
import smtplib, socket, sys, time

port, listfile, resfile, deadline = int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4])
files = [l.rstrip("\n") for l in open(listfile, encoding="utf-8") if l.strip()]
end = time.monotonic() + deadline
conn = None

def connect():
    s = smtplib.SMTP("127.0.0.1", port, timeout=60)
    s.ehlo("corpus.itest.example")
    return s

def clean(text):
    return " ".join(text.decode("utf-8", "replace").split())

with open(resfile, "w", encoding="utf-8") as out:
    for n, path in enumerate(files, 1):
        sender = "c%d@corpus.example" % n
        if time.monotonic() > end:
            out.write("%d\t%s\tunsent\t0\tdeadline passed\t%s\n" % (n, sender, path))
            continue
        data = open(path, "rb").read()
        data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        stage, code, reply = "error", 0, ""
        try:
            if conn is None:
                conn = connect()
            stage = "mail"
            code, reply = conn.mail(sender)
            if code == 250:
                stage = "rcpt"
                code, reply = conn.rcpt("alice@example.com")
                if code == 250:
                    stage = "data"
                    try:
                        code, reply = conn.data(data)
                    except smtplib.SMTPDataError as e:
                        code, reply = e.smtp_code, e.smtp_error
            if code != 250:
                conn.rset()
        except (smtplib.SMTPException, OSError) as e:
            stage, reply = "error", str(e).encode()
            try:
                conn.close()
            except Exception:
                pass
            conn = None
        out.write("%d\t%s\t%s\t%d\t%s\t%s\n" % (n, sender, stage, code, clean(reply), path))
        out.flush()
if conn is not None:
    try:
        conn.quit()
    except Exception:
        pass
PY
}

# corpus_torture DIR: write a few hand-made hostile messages to DIR/*.eml.
# What each must come to is listed in t-av-corpus.sh (TORTURE_EXPECT).
corpus_torture() {
    mkdir -p "$1"
    python3 - "$1" <<'PY'
import base64, os, random, sys

d = sys.argv[1]
random.seed(7)
H = "From: t@example.com\r\nTo: alice@example.com\r\nSubject: %s\r\nMIME-Version: 1.0\r\n"

def w(name, data):
    with open(os.path.join(d, name + ".eml"), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())

# multipart nested 300 deep
depth = 300
s = H % "nested" + 'Content-Type: multipart/mixed; boundary="b0"\r\n\r\n'
for i in range(depth):
    s += '--b%d\r\nContent-Type: multipart/mixed; boundary="b%d"\r\n\r\n' % (i, i + 1)
s += "--b%d\r\nContent-Type: text/plain\r\n\r\ninnermost\r\n--b%d--\r\n" % (depth, depth)
for i in reversed(range(depth)):
    s += "--b%d--\r\n" % i
w("t01-nested-multipart-300", s)
# random bytes, NULs included, as the body
body = bytes(random.randrange(256) for _ in range(20000)).replace(b"\r", b"").replace(b"\n", b"\r\n")
w("t02-binary-body", (H % "binary").encode() + b"\r\n" + body)
# 3000 small base64 attachments
s = H % "many parts" + 'Content-Type: multipart/mixed; boundary="m"\r\n\r\n'
for i in range(3000):
    s += ('--m\r\nContent-Type: application/octet-stream; name="f%d.bin"\r\n'
          'Content-Transfer-Encoding: base64\r\n\r\n%s\r\n'
          % (i, base64.b64encode(bytes([i % 256]) * 30).decode()))
s += "--m--\r\n"
w("t03-3000-attachments", s)
# one header field of 189 kB
w("t04-long-header", H % "long" + "X-Long: " + " ".join("word%d" % i for i in range(20000)) + "\r\n\r\nbody\r\n")
# invalid base64, invalid quoted-printable, unterminated multipart
w("t05-broken-mime", H % "broken" + 'Content-Type: multipart/mixed; boundary="zz"\r\n\r\n'
  "--zz\r\nContent-Type: application/zip\r\nContent-Transfer-Encoding: base64\r\n\r\n"
  "UEsDB!!!!@@@@####not base64 at all ====\r\nAAAA====AAAA\r\n--zz\r\n"
  "Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=ZZ=0=\r\n")
# empty boundary
w("t06-empty-boundary", H % "empty boundary" + 'Content-Type: multipart/mixed; boundary=""\r\n\r\n--\r\n--\r\n----\r\n')
# truncated zip and tar.gz attachments (cut before clam.exe's data)
s = H % "truncated archives" + 'Content-Type: multipart/mixed; boundary="t"\r\n\r\n'
for nm, size, src in (("a.zip", 200, "clam.zip"), ("b.tar.gz", 150, "clam.tar.gz")):
    path = "/usr/share/clamav-testfiles/" + src
    if os.path.exists(path):
        with open(path, "rb") as f:
            part = f.read()[:size]
    else:  # just the magic numbers
        part = (b"PK\x03\x04" if nm.endswith(".zip") else b"\x1f\x8b\x08\x00") + bytes(size)
    s += ('--t\r\nContent-Type: application/octet-stream; name="%s"\r\n'
          'Content-Transfer-Encoding: base64\r\n\r\n%s\r\n'
          % (nm, base64.encodebytes(part).decode().replace("\n", "\r\n")))
s += "--t--\r\n"
w("t07-truncated-archives", s)
# uuencode and binhex garbage
w("t08-uu-binhex-garbage", H % "uu" + "\r\nbegin 644 x.exe\r\nM" + "!" * 60 +
  "\r\n`\r\nend\r\n(This file must be converted with BinHex 4.0)\r\n:!!!!!\r\n")
# message/rfc822 nested 50 deep
s = "Subject: inner\r\n\r\ninner body\r\n"
for i in range(50):
    s = H % ("rfc822 %d" % i) + "Content-Type: message/rfc822\r\n\r\n" + s
w("t09-rfc822-nested-50", s)
PY
}
