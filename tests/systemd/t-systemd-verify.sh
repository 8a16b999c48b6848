#!/bin/bash
# t-systemd-verify.sh - check the systemd files shipped in systemd/.
#
# 1. systemd/mxparityd.service.in, with @sbindir@/@bindir@/@sysconfdir@
#    substituted the way the build does, must check_ok "systemd-analyze verify"
#    with exit status 0 and no output at all.
# 2. "systemd-analyze security --offline=yes": the exposure score is at
#    most 2.0 (a score, not a timing: the same unit always scores the same).
# 3. systemd/mxparity.sysusers.conf and systemd/mxparity.tmpfiles.conf are
#    applied to a throw-away root directory: no error output, and the user,
#    group and directories come out as intended.
#
# Needs no running systemd.  Exit 0: pass, 1: fail, 77: skip (only when
# systemd-analyze is not installed).
# Environment: top_srcdir (default: two levels above this script).

set -u

script_dir=$(cd "$(dirname "$0")" && pwd) || exit 1
top_srcdir=${top_srcdir:-$script_dir/../..}
sysdir=$top_srcdir/systemd
unit_in=$sysdir/mxparityd.service.in
sysusers_conf=$sysdir/mxparity.sysusers.conf
tmpfiles_conf=$sysdir/mxparity.tmpfiles.conf
default_file=$sysdir/mxparityd.default

# shellcheck source=tests/integration/lib.sh
. "$top_srcdir/tests/integration/lib.sh" # the counted checks (check_*)

if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "SKIP: systemd-analyze not found"
    exit 77
fi

for f in "$unit_in" "$sysusers_conf" "$tmpfiles_conf" "$default_file"; do
    if [ ! -r "$f" ]; then
        echo "FAIL: missing $f"
        exit 1
    fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mxparity-systemd.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
case $tmp in
*[[:space:]]*)
    # The paths end up in ExecStart=, which splits at whitespace.
    echo "FAIL: temporary directory '$tmp' contains whitespace"
    exit 1
    ;;
esac

# --- 1. systemd-analyze verify ----------------------------------------------

prefix=$tmp/prefix
sbindir=$prefix/sbin
bindir=$prefix/bin
sysconfdir=$prefix/etc
units=$tmp/units
mkdir -p "$sbindir" "$bindir" "$sysconfdir" "$units" || exit 1

# Stub executables, only so that verify finds ExecStartPre= and ExecStart=
# executable at the substituted paths (it checks that they exist).  They are
# never run.
for exe in "$sbindir/mxparityd" "$bindir/mxparity"; do
    printf '#!/bin/sh\nexit 0\n' >"$exe" && chmod 0755 "$exe" || exit 1
done

# Same substitution as the build (sed on the .in file).
sed -e "s|@sbindir@|$sbindir|g" \
    -e "s|@bindir@|$bindir|g" \
    -e "s|@sysconfdir@|$sysconfdir|g" \
    "$unit_in" >"$units/mxparityd.service" || exit 1

if grep -n '@[A-Za-z_]*@' "$units/mxparityd.service"; then
    check_fail "unsubstituted placeholders left in mxparityd.service.in"
else
    check_ok "all placeholders substituted"
fi

# Before=postfix.service postfix@-.service: verify loads the units named in
# ordering dependencies too and prints their parse warnings (while systemd
# 252 does not complain when one does not exist).  Whether Postfix is
# installed here, and what its units and drop-ins look like, depends on the
# machine, and any warning about them would end up in the output that must
# be empty.  So put harmless stand-ins first in the unit path: they shadow
# only these two names; everything else (network.target, sysinit.target,
# ...) comes from the system's directories, appended by the trailing ':' in
# SYSTEMD_UNIT_PATH (without that ":" verify fails with "Unit sysinit.target
# not found").
cat >"$units/postfix.service" <<'UNIT'
[Unit]
Description=Stand-in for postfix.service (test only)

[Service]
Type=oneshot
ExecStart=/bin/true
UNIT
cat >"$units/postfix@.service" <<'UNIT'
[Unit]
Description=Stand-in for postfix@%i.service (test only)

[Service]
Type=oneshot
ExecStart=/bin/true
UNIT

export SYSTEMD_UNIT_PATH="$units:"
# SYSTEMD_LOG_LEVEL/SYSTEMD_LOG_COLOR from the caller would change what is
# printed.
unset SYSTEMD_LOG_LEVEL SYSTEMD_LOG_COLOR SYSTEMD_LOG_TARGET

# --man=no: Documentation=man:mxparityd(8) points at the installed man page,
# which the build tree does not install; everything else is checked.
verify_out=$tmp/verify.out
systemd-analyze verify --man=no "$units/mxparityd.service" >"$verify_out" 2>&1
verify_rc=$?
if [ "$verify_rc" -ne 0 ]; then
    check_fail "systemd-analyze verify exited $verify_rc"
fi
if [ -s "$verify_out" ]; then
    check_fail "systemd-analyze verify printed output:"
    sed 's/^/    /' "$verify_out"
fi
if [ "$verify_rc" -eq 0 ] && [ ! -s "$verify_out" ]; then
    check_ok "systemd-analyze verify: exit 0, no output"
fi

# --- 2. systemd-analyze security: at most 2.0 -----------------------------------

if systemd-analyze --help 2>&1 | grep -q -- '--offline='; then
    security_out=$tmp/security.out
    systemd-analyze security --offline=yes --no-pager \
        "$units/mxparityd.service" >"$security_out" 2>&1
    security_rc=$?
    score=$(grep -i 'overall exposure level' "$security_out")
    if [ "$security_rc" -ne 0 ] || [ -z "$score" ]; then
        check_fail "systemd-analyze security --offline=yes exited $security_rc:"
        sed 's/^/    /' "$security_out"
    else
        echo "info: ${score#"${score%%[![:space:]]*}"}"
        level=$(grep -oE 'exposure level for [^:]*: [0-9.]+' <<<"$score" | grep -oE '[0-9.]+$')
        if [ -n "$level" ] && awk -v l="$level" 'BEGIN { exit !(l <= 2.0) }'; then
            check_ok "exposure level $level, at most 2.0"
        else
            check_fail "exposure level '${level:-?}', want at most 2.0"
        fi
    fi
else
    echo "info: systemd-analyze has no --offline, security score not computed"
fi

# --- 3. sysusers.d and tmpfiles.d on a throw-away root ----------------------

root=$tmp/root
mkdir -p "$root/etc" "$root/usr/lib/sysusers.d" "$root/usr/lib/tmpfiles.d" || exit 1
cp "$sysusers_conf" "$root/usr/lib/sysusers.d/mxparity.conf" || exit 1
cp "$tmpfiles_conf" "$root/usr/lib/tmpfiles.d/mxparity.conf" || exit 1

if command -v systemd-sysusers >/dev/null 2>&1; then
    # Dry run: prints what it would do; anything but "Would ..." lines or a
    # non-zero exit is a problem with the snippet.
    dry_out=$tmp/sysusers-dry.out
    systemd-sysusers --root="$root" --dry-run >"$dry_out" 2>&1
    dry_rc=$?
    if [ "$dry_rc" -ne 0 ] || grep -vE '^(Creating|Would) ' "$dry_out" | grep -q .; then
        check_fail "systemd-sysusers --dry-run (exit $dry_rc) reported problems:"
        sed 's/^/    /' "$dry_out"
    else
        check_ok "systemd-sysusers --dry-run:"
        sed 's/^/    /' "$dry_out"
    fi

    # Real run into the throw-away root, so that tmpfiles below can resolve
    # the user and group names, and the passwd entry can be checked.
    su_out=$tmp/sysusers.out
    systemd-sysusers --root="$root" >"$su_out" 2>&1
    su_rc=$?
    if [ "$su_rc" -ne 0 ] || grep -v '^Creating ' "$su_out" | grep -q .; then
        check_fail "systemd-sysusers --root (exit $su_rc) reported problems:"
        sed 's/^/    /' "$su_out"
    fi
    pw=$(grep '^mxparity:' "$root/etc/passwd" 2>/dev/null)
    gr=$(grep '^mxparity:' "$root/etc/group" 2>/dev/null)
    IFS=: read -r _ _ uid gid _ home shell <<<"$pw"
    IFS=: read -r _ _ grgid _ <<<"$gr"
    if [ -n "$pw" ] && [ -n "$gr" ] && [ "$gid" = "$grgid" ] &&
        [ "$home" = /var/lib/mxparity ] && [ "${shell##*/}" = nologin ]; then
        check_ok "sysusers: $pw / $gr"
    else
        check_fail "sysusers: unexpected passwd '$pw' / group '$gr'"
    fi

    if ! command -v systemd-tmpfiles >/dev/null 2>&1; then
        echo "info: systemd-tmpfiles not found, tmpfiles.d snippet not checked"
    elif [ "$(id -u)" -ne 0 ]; then
        # systemd 252's tmpfiles has no --dry-run, and --create must chown,
        # so only parse the snippet: a --prefix that matches no line still
        # reports syntax errors (not unknown users, though).
        tf_out=$tmp/tmpfiles.out
        systemd-tmpfiles --root="$root" --create \
            --prefix=/nonexistent-mxparity-test >"$tf_out" 2>&1
        tf_rc=$?
        if [ "$tf_rc" -ne 0 ] || [ -s "$tf_out" ]; then
            check_fail "systemd-tmpfiles (parse only, exit $tf_rc) reported problems:"
            sed 's/^/    /' "$tf_out"
        else
            check_ok "tmpfiles: snippet parses (not root: directories not created)"
        fi
    else
        tf_out=$tmp/tmpfiles.out
        systemd-tmpfiles --root="$root" --create >"$tf_out" 2>&1
        tf_rc=$?
        if [ "$tf_rc" -ne 0 ] || [ -s "$tf_out" ]; then
            check_fail "systemd-tmpfiles --create (exit $tf_rc) reported problems:"
            sed 's/^/    /' "$tf_out"
        fi
        for d in /run/mxparity /var/lib/mxparity /var/lib/mxparity/quarantine; do
            got=$(stat -c '%a %u %g' "$root$d" 2>/dev/null)
            if [ "$got" = "750 $uid $gid" ]; then
                check_ok "tmpfiles: $d 0750 mxparity:mxparity"
            else
                check_fail "tmpfiles: $d is '${got:-missing}', want '750 $uid $gid'"
            fi
        done
    fi
else
    echo "info: systemd-sysusers not found, sysusers.d/tmpfiles.d snippets not checked"
fi

# --- the EnvironmentFile template --------------------------------------------

# Every line must be a comment or VAR=value (what EnvironmentFile= accepts).
if grep -vE '^[[:space:]]*(#.*)?$|^[A-Z_][A-Z0-9_]*=' "$default_file"; then
    check_fail "mxparityd.default: lines above are neither comments nor VAR=value"
else
    check_ok "mxparityd.default: only comments and VAR=value lines"
fi
# Shell syntax, as Debian's /etc/default files are: every sample setting,
# uncommented, is read by sh as the value systemd's EnvironmentFile= reads
# (quotes removed; nothing that only a shell would expand).
samples=$(sed -n 's/^#\(MXPARITYD_[A-Z]*=.*\)$/\1/p' "$default_file")
[ -n "$samples" ] || check_fail "mxparityd.default: no sample settings found"
while IFS= read -r line; do
    var=${line%%=*}
    raw=${line#*=}
    case $raw in
    \"*\") want=${raw#\"}; want=${want%\"} ;;
    *) want=$raw ;;
    esac
    case $want in
    *[\$\`\\\"]*) check_fail "mxparityd.default: $line: a shell would expand this, systemd would not" ;;
    esac
    got=$(env -i sh -c "set -eu; $line; export $var; printenv $var" 2>&1) || got="(sh: $got)"
    if [ "$got" = "$want" ]; then
        check_ok "mxparityd.default: sh reads $line as systemd does"
    else
        check_fail "mxparityd.default: sh reads $line as '$got', systemd as '$want'"
    fi
done <<<"$samples"

check_done
