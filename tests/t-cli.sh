#!/bin/bash
# t-cli.sh - the operator's tool as a postmaster runs it: `mxparity check`
# prints the digest line and FILE:LINE errors with exit 2; `mxparity scan`
# prints the daemon's summary line and exits 0/1/3; -o writes the edited
# message.  Also: a module built from the installed header and found
# through the installed pkg-config file loads.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$PWD}"
work=$(mktemp -d "${TMPDIR:-/tmp}/mxparity-cli.XXXXXX")
trap 'rm -rf "$work"' EXIT
fails=0
pass=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fails=$((fails + 1)); echo "FAIL: $*"; }
expect() { # expect DESC WANT_RC GOT_RC
    if [ "$2" = "$3" ]; then ok "$1 (exit $3)"; else bad "$1: exit $3, want $2"; fi
}
mxp=$top_builddir/mxparity
mods=$work/modules
mkdir -p "$mods"
ln -s "$top_builddir/milter/modules/.libs/rcpt.so" "$mods/rcpt.so"
ln -s "$top_builddir/tests/modules/.libs/testmod.so" "$mods/testmod.so"
printf 'alice@example.com\n' >"$work/recipients"
cat "$top_srcdir/tests/integration/policy.common" - >"$work/policy.conf" <<'EOF2'
module testmod { remove_header = "X-Forged" tag_subject = "tag me" }
EOF2

out=$("$mxp" check -c "$work/policy.conf" -M "$mods" -n mx2.example.com 2>&1); rc=$?
expect "check accepts the policy" 0 $rc
grep -qE '^policy ok: version=itest\.1 digest=sha256:[0-9a-f]{64}$' <<<"$out" && ok "digest line" || bad "digest line: $out"
grep -q '^this host: mx2.example.com tier=backup modules=rcpt,testmod$' <<<"$out" && ok "own tier" || bad "own tier: $out"
grep -q '^peer: mx1.example.com tier=primary$' <<<"$out" && ok "peers" || bad "peers: $out"

printf 'version = "x"\n\n# comment\nmx { host "a.example" { tier = primary addresses = {"10.0.0.1/8"} } }\n' >"$work/bad.conf"
out=$("$mxp" check -c "$work/bad.conf" -M "$mods" -n a.example 2>&1); rc=$?
expect "check refuses a bad CIDR" 2 $rc
grep -q "^$work/bad.conf:4: addresses: \"10.0.0.1/8\" is not a valid address or CIDR" <<<"$out" && ok "error names FILE:LINE" || bad "error: $out"

printf 'From: a@example.org\nTo: alice@example.com\nSubject: plain\nX-Forged: yes\n\nbody line\n' >"$work/m1.eml"
printf 'From: a@example.org\nSubject: tag me please\n\nbody\n' >"$work/m2.eml"
scan() { "$mxp" scan -c "$work/policy.conf" -M "$mods" -n mx1.example.com --from a@example.org "$@"; }

out=$(scan --rcpt alice@example.com -o "$work/out.eml" "$work/m1.eml" 2>/dev/null); rc=$?
expect "scan accepts a clean message" 0 $rc
grep -qE "^$work/m1.eml: client=unknown\[192\.0\.2\.1\] hop=edge from=<a@example\.org> rcpts=1 size=[0-9]+ rcpt=ok test=ok:4:11:1 action=accept policy=[0-9a-f]{8} ms=" <<<"$out" && ok "summary line" || bad "summary: $out"
grep -q '^X-Test-Module: host=mx1.example.com tier=primary hop=edge' "$work/out.eml" && ok "-o adds the header" || bad "-o output lacks header"
grep -q '^X-Forged' "$work/out.eml" && bad "-o kept the removed header" || ok "-o drops the removed header"
grep -q '^body line$' "$work/out.eml" && ok "-o keeps the body" || bad "-o lost the body"

out=$(scan --rcpt alice@example.com "$work/m2.eml" 2>/dev/null); rc=$?
expect "scan tags (exit 0)" 0 $rc
grep -q 'test=tag action=tag' <<<"$out" && ok "tag in summary" || bad "tag: $out"

out=$(scan --rcpt nobody@example.com "$work/m1.eml" 2>/dev/null); rc=$?
expect "scan rejects an unknown recipient" 1 $rc
grep -q 'reject at RCPT <nobody@example.com>: 550 5.1.1' <<<"$out" && ok "rcpt reply printed" || bad "rcpt: $out"

sed -i 's/tag_subject = "tag me"/fail_at = body/' "$work/policy.conf"
out=$(scan --rcpt alice@example.com "$work/m1.eml" 2>/dev/null); rc=$?
expect "scan tempfails when a module fails" 3 $rc

"$mxp" scan -c "$work/policy.conf" -M "$mods" -n mx1.example.com >/dev/null 2>&1; rc=$?
expect "scan without files is a usage error" 2 $rc

# A third-party module: install, then build testmod.c with the installed
# header found through the installed mxparity.pc, and load it.
if make -C "$top_builddir" install DESTDIR="$work/root" >"$work/install.log" 2>&1; then
    pc=$(find "$work/root" -name mxparity.pc | head -1)
    export PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR=$work/root
    mkdir -p "$work/third"
    if cc -shared -fPIC -Wall -Wextra -Werror $(pkg-config --cflags mxparity) \
        -o "$work/third/testmod.so" "$top_srcdir/tests/modules/testmod.c" 2>"$work/cc.log"; then
        ok "third-party module builds against the installed header"
        ln -s "$top_builddir/milter/modules/.libs/rcpt.so" "$work/third/rcpt.so"
        out=$("$mxp" check -c "$work/policy.conf" -M "$work/third" -n mx1.example.com 2>&1); rc=$?
        expect "installed-header module loads" 0 $rc
    else
        bad "building against the installed header: $(cat "$work/cc.log")"
    fi
    [ -f "$(find "$work/root" -path '*mxparity/modules/rcpt.so' | head -1)" ] && ok "rcpt.so installed in the module dir" || bad "rcpt.so not installed"
else
    bad "make install DESTDIR: $(tail -5 "$work/install.log")"
fi

echo "$pass passed, $fails failed"
[ "$fails" -eq 0 ]
