#!/usr/bin/python3
"""make-corpus.py - a corpus of real-looking mail for `make bench`.

    make-corpus.py DIR [COUNT]

Writes COUNT (default 40) RFC 5322 messages, DIR/m001.eml ..., LF line
ends, the same bytes on every run (fixed seed): plain text notes,
text+HTML alternatives, newsletters, and messages carrying a PDF, a ZIP of
documents, a DOCX or an image, in roughly the proportions and sizes of an
ordinary business mailbox (a few KB to a few hundred KB).  Attachments are
real containers (ZIP, DOCX are real archives that a virus scanner unpacks).
Nothing in it matches a signature.  Prints one line per file: name, bytes,
kind.
"""
import base64
import io
import os
import random
import sys
import zipfile
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
import datetime

SYLL = ["an", "ber", "con", "de", "el", "fa", "gen", "hor", "in", "jo", "ka", "lin", "mo",
        "ne", "or", "pre", "qua", "ro", "sta", "tel", "un", "ver", "wal", "xe", "yo", "zu"]
COMMON = ("the of and to in is that for it as with was on be by this are from at or have "
          "an not which but all were when we there can more if will about up out so what "
          "meeting report budget quarter invoice project team review schedule update "
          "attached please thanks regards customer order shipment contract draft").split()


def words(rnd, n):
    out = []
    for _ in range(n):
        if rnd.random() < 0.7:
            out.append(rnd.choice(COMMON))
        else:
            out.append("".join(rnd.choice(SYLL) for _ in range(rnd.randint(1, 3))))
    return out


def paragraph(rnd, n):
    w = words(rnd, n)
    w[0] = w[0].capitalize()
    text, line = [], ""
    for x in w:
        if len(line) + len(x) + 1 > 72:
            text.append(line)
            line = x
        else:
            line = (line + " " + x).strip()
    text.append(line + ".")
    return "\n".join(text)


def body_text(rnd, size):
    parts = []
    total = 0
    while total < size:
        p = paragraph(rnd, rnd.randint(30, 120))
        parts.append(p)
        total += len(p) + 2
    return "Hello,\n\n" + "\n\n".join(parts) + "\n\nBest regards,\n" + \
        rnd.choice(["Anna", "Boris", "Chen", "Dana", "Emil", "Fatima"]) + "\n"


def html_of(text, rnd, newsletter=False):
    paras = ["<p>%s</p>" % p.replace("\n", " ") for p in text.split("\n\n")]
    if newsletter:
        rows = []
        for i, p in enumerate(paras):
            rows.append('<tr><td style="padding:12px;font-family:Arial,sans-serif;'
                        'font-size:14px;color:#333333;">%s<br><a href="https://news.example.com/'
                        'item/%d?utm_source=mail&amp;utm_medium=newsletter">Read more</a>'
                        '</td></tr>' % (p, rnd.randint(1000, 99999)))
        return ('<!DOCTYPE html><html><head><meta charset="utf-8"><style>body{margin:0}'
                '.wrap{width:600px}</style></head><body><table class="wrap" cellpadding="0" '
                'cellspacing="0">%s</table><p style="font-size:11px">You receive this because '
                'you subscribed. <a href="https://news.example.com/unsubscribe">Unsubscribe</a>'
                '</p></body></html>' % "\n".join(rows))
    return "<html><body>%s</body></html>" % "\n".join(paras)


def fake_pdf(rnd, size):
    objs = ["%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"]
    n = 1
    while sum(len(o) for o in objs) < size:
        stream = "BT /F1 11 Tf 72 %d Td (%s) Tj ET\n" % (rnd.randint(50, 750),
                                                         " ".join(words(rnd, 12)))
        stream *= rnd.randint(20, 60)
        objs.append("%d 0 obj\n<< /Length %d >>\nstream\n%sendstream\nendobj\n"
                    % (n, len(stream), stream))
        n += 1
    objs.append("trailer\n<< /Size %d >>\n%%%%EOF\n" % n)
    return "".join(objs).encode("latin-1")


def zip_of(rnd, files):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files:
            info = zipfile.ZipInfo(name, date_time=(2026, 11, 2, 9, 30, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return buf.getvalue()


def docx(rnd, size):
    doc = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
           '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
           '<w:body>%s</w:body></w:document>'
           % "".join("<w:p><w:r><w:t>%s</w:t></w:r></w:p>" % " ".join(words(rnd, 40))
                     for _ in range(max(1, size // 250))))
    return zip_of(rnd, [
        ("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.'
         'openxmlformats.org/package/2006/content-types"><Override PartName="/word/document.xml"'
         ' ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.'
         'document.main+xml"/></Types>'),
        ("_rels/.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.'
         'openxmlformats.org/package/2006/relationships"/>'),
        ("word/document.xml", doc),
    ])


def image(rnd, size):
    # A PNG signature and IHDR, then incompressible data: scanners see a PNG.
    head = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000280000001e00806000000")
    return head + bytes(rnd.getrandbits(8) for _ in range(size))


def fws(s):
    """Blanks every 64 characters, where a long header may be folded."""
    return " ".join(s[i:i + 64] for i in range(0, len(s), 64))


def message(rnd, i, kind):
    m = EmailMessage()
    people = ["anna.keller", "boris.ivanov", "chen.wei", "dana.levi", "emil.berg",
              "fatima.haddad", "george.osei", "hana.sato"]
    sender = rnd.choice(people)
    m["Return-Path"] = "<%s@sender.example.org>" % sender
    m["Received"] = ("from mail.sender.example.org (mail.sender.example.org [192.0.2.%d])"
                     " by mx.example.net (Postfix) with ESMTPS id 4B%05X"
                     " for <alice@example.com>; Mon, 2 Nov 2026 09:%02d:%02d +0100"
                     % (rnd.randint(2, 250), rnd.randint(0, 0xFFFFF), rnd.randint(0, 59),
                        rnd.randint(0, 59)))
    m["DKIM-Signature"] = ("v=1; a=rsa-sha256; c=relaxed/relaxed; d=sender.example.org; "
                           "s=mail; h=from:to:subject:date:message-id; bh=%s; b=%s"
                           % (base64.b64encode(rnd.randbytes(32)).decode(),
                              fws(base64.b64encode(rnd.randbytes(256)).decode())))
    m["From"] = "%s <%s@sender.example.org>" % (sender.replace(".", " ").title(), sender)
    m["To"] = "Alice <alice@example.com>"
    if rnd.random() < 0.3:
        m["Cc"] = ", ".join("%s@example.com" % p for p in rnd.sample(people, 2))
    m["Subject"] = " ".join(words(rnd, rnd.randint(3, 9))).capitalize()
    m["Date"] = format_datetime(datetime.datetime(2026, 11, 2, 9, i % 60, 0,
                                                  tzinfo=datetime.timezone.utc))
    m["Message-ID"] = "<%d.%08x@sender.example.org>" % (i, rnd.getrandbits(32))
    m["MIME-Version"] = "1.0"
    if kind == "text":
        m.set_content(body_text(rnd, rnd.choice([800, 1500, 2500, 4000, 7000])))
    elif kind in ("alternative", "newsletter"):
        t = body_text(rnd, rnd.choice([2000, 5000, 9000]) if kind == "alternative"
                      else rnd.choice([15000, 25000]))
        m.set_content(t)
        m.add_alternative(html_of(t, rnd, kind == "newsletter"), subtype="html")
    else:
        m.set_content(body_text(rnd, rnd.choice([600, 1200, 2000])))
        if kind == "pdf":
            m.add_attachment(fake_pdf(rnd, rnd.choice([40000, 90000, 200000])),
                             maintype="application", subtype="pdf",
                             filename="report-%d.pdf" % i)
        elif kind == "zip":
            files = [("doc%d.txt" % j, body_text(rnd, rnd.choice([5000, 20000])))
                     for j in range(rnd.randint(2, 5))]
            files.append(("data.csv", "\n".join(",".join(str(rnd.randint(0, 9999))
                                                         for _ in range(8))
                                                for _ in range(rnd.choice([300, 1500])))))
            m.add_attachment(zip_of(rnd, files), maintype="application", subtype="zip",
                             filename="documents-%d.zip" % i)
        elif kind == "docx":
            m.add_attachment(docx(rnd, rnd.choice([20000, 60000])), maintype="application",
                             subtype="vnd.openxmlformats-officedocument.wordprocessingml."
                             "document", filename="contract-%d.docx" % i)
        elif kind == "image":
            m.add_attachment(image(rnd, rnd.choice([30000, 80000, 150000])),
                             maintype="image", subtype="png", filename="photo-%d.png" % i)
    # Fixed boundaries: the same bytes on every run.
    for n, part in enumerate(m.walk()):
        if part.is_multipart():
            part.set_boundary("=_bench_%d_%d_%08x" % (i, n, rnd.getrandbits(32)))
    return m


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: make-corpus.py DIR [COUNT]")
    out = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) == 3 else 40
    os.makedirs(out, exist_ok=True)
    rnd = random.Random(20261127)
    # An ordinary mailbox: mostly small text and HTML, some attachments.
    kinds = (["text"] * 12 + ["alternative"] * 10 + ["newsletter"] * 3 + ["pdf"] * 6 +
             ["zip"] * 4 + ["docx"] * 2 + ["image"] * 3)
    rnd.shuffle(kinds)
    for i in range(1, count + 1):
        kind = kinds[(i - 1) % len(kinds)]
        data = message(rnd, i, kind).as_bytes(policy=None)
        data = data.replace(b"\r\n", b"\n")
        name = "m%03d.eml" % i
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        print("%s %d %s" % (name, len(data), kind))


if __name__ == "__main__":
    main()
