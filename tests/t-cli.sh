#!/bin/bash
# t-cli.sh - the operator's tool as a postmaster runs it: `mxparity check`
# prints the digest line and FILE:LINE errors with exit 2; `mxparity scan`
# prints the daemon's summary line and exits 0/1/3; -o writes the edited
# message.  Also: a module built from the installed header and found
# through the installed pkg-config file loads.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$PWD}"
# shellcheck source=tests/integration/lib.sh
. "$top_srcdir/tests/integration/lib.sh" # the counted checks (check_*)
work=$(mktemp -d "${TMPDIR:-/tmp}/mxparity-cli.XXXXXX")
trap 'rm -rf "$work"' EXIT
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
check_exit "check accepts the policy" 0 $rc
check_has "digest line" '^policy ok: version=itest\.1 digest=sha256:[0-9a-f]{64} key=none$' "$out"
check_has "own tier" '^this host: mx2.example.com tier=backup modules=rcpt,testmod$' "$out"
check_has "peers" '^peer: mx1.example.com tier=primary$' "$out"

printf 'version = "x"\n\n# comment\nmx { host "a.example" { tier = primary addresses = {"10.0.0.1/8"} } }\n' >"$work/bad.conf"
out=$("$mxp" check -c "$work/bad.conf" -M "$mods" -n a.example 2>&1); rc=$?
check_exit "check refuses a bad CIDR" 2 $rc
check_has "error names FILE:LINE" "^$work/bad.conf:4: addresses: \"10.0.0.1/8\" is not a valid address or CIDR" "$out"

printf 'From: a@example.org\nTo: alice@example.com\nSubject: plain\nX-Forged: yes\n\nbody line\n' >"$work/m1.eml"
printf 'From: a@example.org\nSubject: tag me please\n\nbody\n' >"$work/m2.eml"
scan() { "$mxp" scan -c "$work/policy.conf" -M "$mods" -n mx1.example.com --from a@example.org "$@"; }

out=$(scan --rcpt alice@example.com -o "$work/out.eml" "$work/m1.eml" 2>/dev/null); rc=$?
check_exit "scan accepts a clean message" 0 $rc
check_has "summary line" "^$work/m1.eml: client=unknown\[192\.0\.2\.1\] hop=edge from=<a@example\.org> rcpts=1 size=[0-9]+ rcpt=ok test=ok:4:11:1 action=accept policy=[0-9a-f]{8} ms=" "$out"
check_file_has "-o adds the header" '^X-Test-Module: host=mx1.example.com tier=primary hop=edge' "$work/out.eml"
check_file_lacks "-o drops the removed header" '^X-Forged' "$work/out.eml"
check_file_has "-o keeps the body" '^body line$' "$work/out.eml"

out=$(scan --rcpt alice@example.com "$work/m2.eml" 2>/dev/null); rc=$?
check_exit "scan tags (exit 0)" 0 $rc
check_has "tag in summary" 'test=tag action=tag' "$out"

out=$(scan --rcpt nobody@example.com "$work/m1.eml" 2>/dev/null); rc=$?
check_exit "scan rejects an unknown recipient" 1 $rc
check_has "rcpt reply printed" 'reject at RCPT <nobody@example.com>: 550 5.1.1' "$out"

sed -i 's/tag_subject = "tag me"/fail_at = body/' "$work/policy.conf"
out=$(scan --rcpt alice@example.com "$work/m1.eml" 2>/dev/null); rc=$?
check_exit "scan tempfails when a module fails" 3 $rc

"$mxp" scan -c "$work/policy.conf" -M "$mods" -n mx1.example.com >/dev/null 2>&1; rc=$?
check_exit "scan without files is a usage error" 2 $rc

# With the av module, a check counts the signatures instead of loading them.
if [ -f "$top_builddir/milter/modules/.libs/av.so" ]; then
    ln -s "$top_builddir/milter/modules/.libs/av.so" "$mods/av.so"
    sh "$top_srcdir/milter/modules/av/make-testdb.sh" "$work/db"
    sed -n '1,/^module rcpt/p' "$work/policy.conf" >"$work/av.conf"
    printf 'module av { database = "db" spool_dir = "%s" }\n' "$work" >>"$work/av.conf"
    out=$("$mxp" check -c "$work/av.conf" -M "$mods" -n mx1.example.com 2>&1); rc=$?
    check_exit "check of a policy with av" 0 $rc
    check_has "av listed among the modules" '^this host: mx1.example.com tier=primary modules=rcpt,av$' "$out"
    out=$("$top_builddir/mxparityd" -C -c "$work/av.conf" -M "$mods" -n mx1.example.com 2>&1); rc=$?
    check_exit "mxparityd -C with av" 0 $rc
    mkdir -p "$work/nodb"
    sed "s|database = \"db\"|database = \"nodb\"|" "$work/av.conf" >"$work/nodb.conf"
    out=$("$mxp" check -c "$work/nodb.conf" -M "$mods" -n mx1.example.com 2>&1); rc=$?
    check_exit "check refuses an empty database directory" 2 $rc
    check_has "names the module and why" 'module av: no signatures in .*/nodb' "$out"
fi

# The bundled policy, as ./bootstrap run uses it: every module it names, its
# data files, a parity key of its own, the test signatures.
if [ -f "$top_builddir/milter/modules/.libs/av.so" ] && [ -f "$top_builddir/milter/modules/.libs/spf.so" ]; then
    mkdir -p "$work/bundled" && cp "$top_srcdir/etc/mxparity/policy.conf" "$top_srcdir/etc/mxparity/recipients" "$work/bundled/"
    sed -i "s|database = \"/var/lib/clamav\"|database = \"$work/db\"|" "$work/bundled/policy.conf"
    out=$("$mxp" check -c "$work/bundled/policy.conf" -M "$top_builddir/milter/modules/.libs" -n mx1.example.com 2>&1); rc=$?
    check_exit "bundled policy without its parity key" 2 $rc
    check_has "says how to make the key" 'policy.conf:[0-9]+: parity key_file = "parity.key": No such file or directory \(make one on one host: head -c 32 /dev/urandom' "$out"
    (umask 022 && head -c 32 /dev/urandom >"$work/bundled/parity.key")
    out=$("$mxp" check -c "$work/bundled/policy.conf" -M "$top_builddir/milter/modules/.libs" -n mx1.example.com 2>&1); rc=$?
    check_exit "bundled policy with a key others can read" 2 $rc
    check_has "names the mode" 'readable or writable by others \(mode 0644\): chmod o-rwx' "$out"
    chmod 0640 "$work/bundled/parity.key"
    out=$("$mxp" check -c "$work/bundled/policy.conf" -M "$top_builddir/milter/modules/.libs" -n mx1.example.com 2>&1); rc=$?
    check_exit "bundled policy loads" 0 $rc
    check_has "with every module" '^this host: mx1.example.com tier=primary modules=rcpt,av,spf$' "$out"
    # The key's id, never the key: two hosts with different key files show
    # the same digest but different ids.
    kid1=$(printf '%s\n' "$out" | sed -n 's/^policy ok: .* key=kid:\([0-9a-f]\{16\}\)$/\1/p')
    check_has "policy ok names the key id" '^[0-9a-f]{16}$' "$kid1"
    hexkey=$(od -An -tx1 "$work/bundled/parity.key" | tr -d ' \n')
    case $out in *"$hexkey"*) check_fail "the key itself is printed" ;; *) check_ok "the key itself is not printed" ;; esac
    cp -p "$work/bundled/parity.key" "$work/bundled/parity.key.1"
    head -c 32 /dev/urandom >"$work/bundled/parity.key"
    out2=$("$top_builddir/mxparityd" -C -c "$work/bundled/policy.conf" -M "$top_builddir/milter/modules/.libs" -n mx1.example.com 2>&1); rc=$?
    check_exit "mxparityd -C with another key" 0 $rc
    check_has "mxparityd -C names the key id too" '^policy ok: version=.* host=mx1\.example\.com tier=primary key=kid:[0-9a-f]{16}$' "$out2"
    kid2=$(printf '%s\n' "$out2" | sed -n 's/^policy ok: .* key=kid:\([0-9a-f]\{16\}\)$/\1/p')
    digest1=$(printf '%s\n' "$out" | sed -n 's/^policy ok: .*digest=\(sha256:[0-9a-f]*\).*/\1/p')
    digest2=$(printf '%s\n' "$out2" | sed -n 's/^policy ok: .*digest=\(sha256:[0-9a-f]*\).*/\1/p')
    if [ "$digest1" = "$digest2" ] && [ -n "$kid2" ] && [ "$kid1" != "$kid2" ]; then
        check_ok "another key: same digest, another key id ($kid1, $kid2)"
    else
        check_fail "another key: digests $digest1 $digest2, key ids '$kid1' '$kid2'"
    fi
    mv "$work/bundled/parity.key.1" "$work/bundled/parity.key"
fi

# Mistakes that switch parity off, refused with FILE:LINE: a trusted network
# over a peer, two hosts sharing an address, a resolver port out of range.
sed 's|^trusted_networks = .*|trusted_networks = {"127.0.0.0/24"}|' "$work/policy.conf" >"$work/trusted.conf"
out=$("$mxp" check -c "$work/trusted.conf" -M "$mods" -n mx1.example.com 2>&1); rc=$?
check_exit "check refuses a trusted network over a peer" 2 $rc
check_has "... with its line and the way out" "^$work/trusted.conf:[0-9]+: trusted_networks: 127\.0\.0\.0/24 covers 127\.0\.0\.2/32 of mx host \"mx1\.example\.com\".*trusted_networks_cover_peers = true" "$out"
printf 'trusted_networks_cover_peers = true\n' >>"$work/trusted.conf"
out=$("$mxp" check -c "$work/trusted.conf" -M "$mods" -n mx1.example.com 2>&1); rc=$?
check_exit "... unless the policy says it is meant" 0 $rc
sed 's|"127.0.0.3"|"127.0.0.2"|' "$work/policy.conf" >"$work/samehost.conf"
out=$("$mxp" check -c "$work/samehost.conf" -M "$mods" -n mx1.example.com 2>&1); rc=$?
check_exit "check refuses two hosts with one address" 2 $rc
check_has "... names both" "samehost.conf:[0-9]+: mx host \"mx2\.example\.com\": address 127\.0\.0\.2/32 overlaps 127\.0\.0\.2/32 of mx host \"mx1\.example\.com\"" "$out"
if [ -f "$top_builddir/milter/modules/.libs/spf.so" ]; then
    ln -sf "$top_builddir/milter/modules/.libs/spf.so" "$mods/spf.so"
    cat "$work/policy.conf" - >"$work/resolver.conf" <<'EOF2'
module spf {
  resolver = "127.0.0.1:99999"
}
EOF2
    out=$("$mxp" check -c "$work/resolver.conf" -M "$mods" -n mx1.example.com 2>&1); rc=$?
    check_exit "check refuses a resolver port out of range" 2 $rc
    check_has "... at its line" "resolver.conf:[0-9]+: resolver = \"127\.0\.0\.1:99999\": port 99999 is not between 1 and 65535" "$out"
    rm -f "$mods/spf.so"
fi

# A third-party module: install, then build testmod.c with the installed
# header found through the installed mxparity.pc, and load it.
if make -C "$top_builddir" install DESTDIR="$work/root" >"$work/install.log" 2>&1; then
    pc=$(find "$work/root" -name mxparity.pc | head -1)
    PKG_CONFIG_PATH=$(dirname "$pc")
    export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR=$work/root
    mkdir -p "$work/third"
    cflags=$(pkg-config --cflags mxparity)
    # shellcheck disable=SC2086 # cflags is a list of words
    if cc -shared -fPIC -Wall -Wextra -Werror $cflags \
        -o "$work/third/testmod.so" "$top_srcdir/tests/modules/testmod.c" 2>"$work/cc.log"; then
        check_ok "third-party module builds against the installed header"
        ln -s "$top_builddir/milter/modules/.libs/rcpt.so" "$work/third/rcpt.so"
        out=$("$mxp" check -c "$work/policy.conf" -M "$work/third" -n mx1.example.com 2>&1); rc=$?
        check_exit "installed-header module loads" 0 $rc
    else
        check_fail "building against the installed header: $(cat "$work/cc.log")"
    fi
    if [ -n "$(find "$work/root" -path '*mxparity/modules/rcpt.so')" ]; then
        check_ok "rcpt.so installed in the module dir"
    else
        check_fail "rcpt.so not installed"
    fi
else
    check_fail "make install DESTDIR: $(tail -5 "$work/install.log")"
fi

# --version and --help on both programs: stdout, exit 0, as Debian's daemons
# do; a bad option is a usage error (exit 2) on stderr.
for prog in mxparityd mxparity; do
    out=$("$top_builddir/$prog" --version 2>/dev/null); rc=$?
    check_exit "$prog --version" 0 $rc
    check_has "$prog --version names it" "^$prog \(mxparity\) [0-9]+\.[0-9]+" "$out"
    out=$("$top_builddir/$prog" --help 2>/dev/null); rc=$?
    check_exit "$prog --help" 0 $rc
    check_has "$prog --help on stdout" "^usage: $prog" "$out"
    out=$("$top_builddir/$prog" --no-such-option 2>&1 >/dev/null); rc=$?
    check_exit "$prog with a bad option" 2 $rc
    check_has "$prog: usage on stderr" "usage: $prog" "$out"
done
out=$("$top_builddir/mxparityd" -h 2>/dev/null); rc=$?
check_exit "mxparityd -h" 0 $rc

# The compiled-in paths come from build_paths.h, which make rewrites when
# configure's paths change, and the programs depend on it (a -D flag would
# not make them rebuild).
policy_default=$(sed -n 's/^#define DEFAULT_POLICY "\(.*\)"$/\1/p' "$top_builddir/build_paths.h")
check_has "mxparityd -h shows build_paths.h's policy" "policy file \(default $policy_default\)" \
    "$("$top_builddir/mxparityd" -h)"
if grep -qs 'build_paths\.h' "$top_builddir/milter/daemon/.deps/mxparityd-main.Po"; then
    check_ok "mxparityd's main.c depends on build_paths.h"
else
    check_fail "milter/daemon/.deps/mxparityd-main.Po does not list build_paths.h"
fi

# A unix socket in a directory that does not exist: the daemon says which.
out=$(timeout 60 "$top_builddir/mxparityd" -f -R -c "$work/policy.conf" -p "unix:$work/no-such-dir/m.sock" \
    -M "$mods" -n mx1.example.com 2>&1 </dev/null); rc=$?
check_exit "mxparityd with a missing socket directory" 1 $rc
check_has "... names the directory" "directory $work/no-such-dir does not exist" "$out"

# mxparityd as root without -u or -R: it refuses to serve, and says why.
if [ "$(id -u)" -eq 0 ]; then
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    out=$(timeout 60 "$top_builddir/mxparityd" -f -c "$work/policy.conf" -p "inet:$port@127.0.0.1" \
        -M "$mods" -n mx1.example.com 2>&1 </dev/null)
    rc=$?
    check_exit "mxparityd as root without -u or -R refuses to serve" 1 $rc
    check_has "... and says why" 'refusing to serve as root: give -u USER' "$out"
fi

check_done
