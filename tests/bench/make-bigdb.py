#!/usr/bin/env python3
"""make-bigdb.py DIR [SCALE] - a signature database shaped like ClamAV's
official one, for make bench (the official one cannot be downloaded here).

At SCALE 1.0 (the default) DIR gets:
  bench-md5.hdb     800,000 MD5 file hashes      (MD5:SIZE:NAME)
  bench-sha256.hsb  200,000 SHA-256 file hashes  (SHA256:SIZE:NAME)
  bench-body.ndb     30,000 body signatures, a third with wildcards
                           (??, {n-m}, *, alternatives (aa|bb))
  bench-logical.ldb   3,000 logical signatures (two or three subsignatures)
plus the EICAR body signature of the test database (make-testdb.sh), so
that a scan can still find something.  Everything is random but seeded:
the same SCALE gives the same bytes on every run.  No signature matches
real mail by chance (random 16- to 40-byte patterns).
"""
import os
import random
import sys


def hexbytes(rng, n):
    return "".join("%02x" % rng.randrange(256) for _ in range(n))


def body_pattern(rng, i):
    parts = [hexbytes(rng, rng.randrange(8, 20))]
    if i % 3 == 0:
        kind = i % 4
        if kind == 0:
            parts.append("????")
        elif kind == 1:
            parts.append("{2-8}")
        elif kind == 2:
            parts.append("*")
        else:
            parts.append("(%s|%s)" % (hexbytes(rng, 2), hexbytes(rng, 2)))
        parts.append(hexbytes(rng, rng.randrange(8, 20)))
    return "".join(parts)


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: make-bigdb.py DIR [SCALE]")
    out = sys.argv[1]
    scale = float(sys.argv[2]) if len(sys.argv) == 3 else 1.0
    os.makedirs(out, exist_ok=True)
    rng = random.Random(20261203)
    counts = {"md5": int(800000 * scale), "sha256": int(200000 * scale),
              "ndb": int(30000 * scale), "ldb": int(3000 * scale)}
    with open(os.path.join(out, "bench-md5.hdb"), "w") as f:
        for i in range(counts["md5"]):
            f.write("%032x:%d:Bench.Hash.Md5-%d\n" % (rng.getrandbits(128), rng.randrange(1000, 5000000), i))
    with open(os.path.join(out, "bench-sha256.hsb"), "w") as f:
        for i in range(counts["sha256"]):
            f.write("%064x:%d:Bench.Hash.Sha256-%d\n" % (rng.getrandbits(256), rng.randrange(1000, 5000000), i))
    with open(os.path.join(out, "bench-body.ndb"), "w") as f:
        for i in range(counts["ndb"]):
            f.write("Bench.Body-%d:0:*:%s\n" % (i, body_pattern(rng, i)))
        # EICAR, as in make-testdb.sh: the scan can still find something
        eicar = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + "EICAR-STANDARD-ANTIVIRUS-TEST-FILE" + "!$H+H*"
        f.write("Mxparity.Test.EICAR:0:*:%s\n" % eicar.encode().hex())
    with open(os.path.join(out, "bench-logical.ldb"), "w") as f:
        for i in range(counts["ldb"]):
            n = 2 + i % 2
            subs = ";".join(hexbytes(rng, rng.randrange(10, 24)) for _ in range(n))
            expr = "&".join(str(k) for k in range(n))
            f.write("Bench.Logical-%d;Engine:51-255,Target:0;%s;%s\n" % (i, expr, subs))
    total = sum(counts.values()) + 1
    print("%s: %d signatures (%d MD5, %d SHA-256, %d body, %d logical, EICAR)"
          % (out, total, counts["md5"], counts["sha256"], counts["ndb"], counts["ldb"]))


if __name__ == "__main__":
    main()
