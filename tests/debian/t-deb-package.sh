#!/bin/bash
# t-deb-package.sh - the Debian packages, as a postmaster gets them:
#  1. a copy of the source tree (its git files, or the whole tree of a
#     release tarball) builds with dpkg-buildpackage -us -uc -b;
#  2. lintian reports no error and no warning (overrides carry a reason);
#  3. apt-get installs the .debs: user and group mxparity, postfix in the
#     group, the files in their places, the parity key mxparity:mxparity 0400,
#     and postinst printed the policy check's own verdict (on the sample
#     policy, a FILE:LINE message and "NOT (re)started");
#  4. mxparityd runs from the unit's own ExecStartPre= and ExecStart= lines
#     (the unit's MXPARITYD_* variables and /etc/default/mxparityd, with the
#     socket on a loopback port and a copy of the installed policy on the
#     test signatures and a dnsmasq on loopback), as user mxparity; a real
#     Postfix passes a clean message (summary line, X-MXParity and
#     Authentication-Results at the sink), refuses EICAR and an unknown
#     recipient;
#  5. apt-get purge leaves nothing: no file of the packages, no
#     /etc/mxparity, /var/lib/mxparity, /run/mxparity or
#     /etc/default/mxparityd, no unit symlink, nothing in dpkg's database.
# The EXIT trap purges the packages whatever failed, and removes the user
# and group mxparity if this test created them, so the machine is left as
# it was.  Needs root.  Skipped (exit 77) without dpkg-buildpackage,
# debhelper or lintian, when the build dependencies are missing, when the
# source tree is read-only (make distcheck: the packages are built once,
# in the source tree's own make check), and when mxparity is installed
# on this machine by someone else.
set -u
# shellcheck source-path=SCRIPTDIR source=../integration/lib.sh
. "$(dirname "$0")/../integration/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../integration/mxp.sh
. "$(dirname "$0")/../integration/mxp.sh"

itest_init deb-package
[ "$(id -u)" -eq 0 ] || itest_skip "needs root (apt-get install, a system user)"
itest_require dpkg-buildpackage dh lintian apt-get dpkg-query setpriv swaks dnsmasq postfix
[ -f "$top_srcdir/debian/control" ] || itest_fail "no debian/ in $top_srcdir"
if [ -z "$(find "$top_srcdir" -maxdepth 0 -perm -u=w)" ]; then
    itest_skip "read-only source tree (make distcheck): the packages are built in the source tree's make check only"
fi

PACKAGES=()      # the binary packages, from the .debs
DEBS=()          # their files
# Outside the work dir (itest_init wipes that): an installation of ours that
# a killed run left behind, and whether user mxparity was there before it.
MARKER=$ITEST_ROOT/deb-package.installed
T0=$SECONDS

# elapsed - seconds since the test started
elapsed() {
    echo "$((SECONDS - T0)) s"
}

# apt_get ARGS... - apt-get without questions, waiting for dpkg's lock
apt_get() {
    DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=120 "$@"
}

# installed PACKAGE - dpkg knows PACKAGE (installed, or its conffiles left)
installed() {
    local s
    s=$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) || return 1
    [ -n "$s" ] && [ "$s" != not-installed ]
}

# deb_cleanup - the EXIT trap's part: purge what is still installed, and
# remove user and group mxparity if this test created them
deb_cleanup() {
    local p left=() user_existed
    [ -f "$MARKER" ] || return 0
    for p in $(printf '%s\n' mxparity mxparity-module-av mxparity-module-spf "${PACKAGES[@]}" | sort -u); do
        if installed "$p"; then left+=("$p"); fi
    done
    if [ "${#left[@]}" -gt 0 ]; then
        itest_log "cleanup: purging ${left[*]}"
        apt_get purge "${left[@]}" >>"$ITEST_DIR/cleanup.log" 2>&1 \
            || itest_log "cleanup: apt-get purge failed (see $ITEST_DIR/cleanup.log)"
    fi
    user_existed=$(cat "$MARKER")
    if [ "$user_existed" = no ]; then
        if getent passwd mxparity >/dev/null; then userdel mxparity >>"$ITEST_DIR/cleanup.log" 2>&1; fi
        if getent group mxparity >/dev/null; then groupdel mxparity >>"$ITEST_DIR/cleanup.log" 2>&1; fi
    fi
    rm -f "$MARKER"
}
itest_cleanup_add deb_cleanup

# A run killed midway left its packages installed: the marker says so.
if [ -f "$MARKER" ]; then
    itest_log "an earlier run left its packages installed; purging them first"
    deb_cleanup
fi
for p in $(dpkg-query -W -f='${Package}\n' 'mxparity*' 2>/dev/null); do
    installed "$p" && itest_skip "package $p is installed on this machine; this test would purge it"
done

# --- 1. build ------------------------------------------------------------------

# in_checkout - the source tree is a git checkout of its own (not a release
# tarball unpacked somewhere inside another checkout)
in_checkout() {
    [ "$(git -C "$top_srcdir" rev-parse --show-toplevel 2>/dev/null)" = "$(cd "$top_srcdir" && pwd -P)" ]
}

# source_files - NUL-separated names of the tree's files: git's tracked and
# untracked-but-not-ignored files that exist
source_files() {
    local f
    git -C "$top_srcdir" ls-files -z --cached --others --exclude-standard |
        while IFS= read -r -d '' f; do
            if [ -e "$top_srcdir/$f" ] || [ -L "$top_srcdir/$f" ]; then printf '%s\0' "$f"; fi
        done
}

src=$ITEST_DIR/build/mxparity
mkdir -p "$src"
if in_checkout; then
    source_files | tar -C "$top_srcdir" --null -T - -cf - | tar -C "$src" -xf - \
        || itest_fail "copying the git files of $top_srcdir failed"
else
    tar -C "$top_srcdir" --exclude=./.git --exclude=./itest-work --exclude='./bench-work*' \
        -cf - . | tar -C "$src" -xf - || itest_fail "copying $top_srcdir failed"
fi
itest_log "source copied to $src ($(elapsed))"
if ! (cd "$src" && dpkg-checkbuilddeps) >"$ITEST_DIR/builddeps.log" 2>&1; then
    itest_skip "build dependencies missing: $(cat "$ITEST_DIR/builddeps.log")"
fi

# A clean environment: nothing of make check's (MAKEFLAGS, top_srcdir,
# sanitizer options) reaches the package build.
if ! (cd "$src" && env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$ITEST_DIR" LC_ALL=C.UTF-8 \
        nice dpkg-buildpackage -us -uc -b -j2) >"$ITEST_DIR/build.log" 2>&1; then
    itest_fail "dpkg-buildpackage failed" "$ITEST_DIR/build.log" 60
fi
changes=$(find "$ITEST_DIR/build" -maxdepth 1 -name '*.changes' | head -n 1)
[ -n "$changes" ] || itest_fail "no .changes file in $ITEST_DIR/build" "$ITEST_DIR/build.log"
for f in "$ITEST_DIR"/build/*.deb; do
    case $f in
        *-dbgsym_*) continue ;;
    esac
    DEBS+=("$f")
    PACKAGES+=("$(dpkg-deb -f "$f" Package)")
done
[ "${#DEBS[@]}" -ge 3 ] || itest_fail "want 3 packages, built ${#DEBS[@]}: ${PACKAGES[*]}"
for p in mxparity mxparity-module-av mxparity-module-spf; do
    case " ${PACKAGES[*]} " in
        *" $p "*) ;;
        *) itest_fail "package $p was not built (built: ${PACKAGES[*]})" ;;
    esac
done
itest_log "ok: built ${PACKAGES[*]} ($(elapsed))"

# --- 2. lintian ------------------------------------------------------------------

lintian "$changes" >"$ITEST_DIR/lintian.log" 2>&1
if grep -E '^[EW]: ' "$ITEST_DIR/lintian.log" >&2; then
    itest_fail "lintian reports errors or warnings (above; explain a warning in debian/*.lintian-overrides)"
fi
itest_log "ok: lintian: no error, no warning ($(elapsed))"

# --- 3. install ------------------------------------------------------------------

if getent passwd mxparity >/dev/null; then echo yes >"$MARKER"; else echo no >"$MARKER"; fi
# apt-get reads the files as user _apt: let it into the work dir.
chmod o+rx "$ITEST_DIR" "$ITEST_DIR/build"
# --no-install-recommends: no clamav-freshclam (and no download of real
# signatures); --no-remove: never remove a package of the machine.
if ! apt_get install --no-install-recommends --no-remove "${DEBS[@]}" >"$ITEST_DIR/install.log" 2>&1; then
    itest_fail "apt-get install failed" "$ITEST_DIR/install.log" 40
fi
sed -i 's/\r$//' "$ITEST_DIR/install.log" # dpkg's output through apt ends lines with CR LF
for p in "${PACKAGES[@]}"; do
    [ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$p")" = "ii " ] \
        || itest_fail "$p is not installed and configured: $(dpkg-query -W -f='${db:Status-Abbrev}' "$p")"
done
itest_log "ok: installed ${PACKAGES[*]} ($(elapsed))"

# The files of each package, for the purge check.
for p in "${PACKAGES[@]}"; do
    dpkg -L "$p" >"$ITEST_DIR/files.$p" || itest_fail "dpkg -L $p failed"
done

getent passwd mxparity >"$ITEST_DIR/passwd" || itest_fail "no user mxparity"
IFS=: read -r _ _ uid gid _ home shell <"$ITEST_DIR/passwd"
[ "$uid" -lt 1000 ] || itest_fail "user mxparity has uid $uid: not a system user"
[ "$home" = /var/lib/mxparity ] || itest_fail "user mxparity's home is $home"
[ "$shell" = /usr/sbin/nologin ] || itest_fail "user mxparity's shell is $shell"
[ "$(getent group mxparity | cut -d: -f3)" = "$gid" ] || itest_fail "group mxparity is not the user's group $gid"
id -nG postfix | tr ' ' '\n' | grep -qx mxparity || itest_fail "postfix is not in group mxparity: $(id postfix)"
itest_log "ok: user mxparity ($uid:$gid, $home, $shell), postfix in group mxparity"

ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null) || ma=$(gcc -print-multiarch)
moddir=/usr/lib/$ma/mxparity/modules
unit=""
for f in /lib/systemd/system/mxparityd.service /usr/lib/systemd/system/mxparityd.service; do
    if [ -f "$f" ]; then unit=$f; break; fi
done
[ -n "$unit" ] || itest_fail "no mxparityd.service in /lib/systemd/system or /usr/lib/systemd/system"
# owner FILE PACKAGE: FILE exists and belongs to PACKAGE
owner() {
    [ -e "$1" ] || itest_fail "missing $1"
    dpkg -S "$1" 2>/dev/null | grep -q "^$2: " || itest_fail "$1 does not belong to $2: $(dpkg -S "$1" 2>&1)"
}
for f in /usr/sbin/mxparityd /usr/bin/mxparity "$unit" /usr/lib/sysusers.d/mxparity.conf \
    /usr/lib/tmpfiles.d/mxparity.conf /etc/default/mxparityd /etc/mxparity/policy.conf \
    /etc/mxparity/recipients /usr/share/man/man8/mxparityd.8.gz /usr/share/man/man1/mxparity.1.gz \
    /usr/share/man/man5/mxparity.conf.5.gz /usr/share/doc/mxparity/README.Debian.gz \
    /usr/share/doc/mxparity/copyright "$moddir/rcpt.so"; do
    owner "$f" mxparity
done
owner "$moddir/av.so" mxparity-module-av
owner "$moddir/spf.so" mxparity-module-spf
conffiles=$(dpkg-query -W -f='${Conffiles}' mxparity)
for f in /etc/mxparity/policy.conf /etc/mxparity/recipients /etc/default/mxparityd; do
    grep -q "^ $f " <<<"$conffiles" || itest_fail "$f is not a conffile of mxparity: $conffiles"
done
/usr/sbin/mxparityd -h 2>&1 | grep -qF "(default $moddir)" \
    || itest_fail "mxparityd -h does not name $moddir as its module directory: $(/usr/sbin/mxparityd -h 2>&1)"
[ "$(stat -c '%s %U:%G %a' /etc/mxparity/parity.key)" = "32 mxparity:mxparity 400" ] \
    || itest_fail "parity key is $(stat -c '%s bytes %U:%G %a' /etc/mxparity/parity.key), want 32 bytes root:mxparity 640"
for d in /var/lib/mxparity /var/lib/mxparity/quarantine; do
    [ "$(stat -c '%U:%G %a' "$d")" = "mxparity:mxparity 750" ] \
        || itest_fail "$d is $(stat -c '%U:%G %a' "$d" 2>&1), want mxparity:mxparity 750"
done
itest_log "ok: files, conffiles, parity key, state directories"

# postinst ran the unit's check (as user mxparity) on the sample policy and
# printed its verdict: the same one we get now.
check_rc=0
check_out=$(setpriv --reuid=mxparity --regid=mxparity --init-groups \
    /usr/sbin/mxparityd -C -c /etc/mxparity/policy.conf 2>&1) || check_rc=$?
if [ "$check_rc" -ne 0 ]; then
    grep -qE '^mxparity: mxparityd: /etc/mxparity/policy\.conf:[0-9]+: ' "$ITEST_DIR/install.log" \
        || itest_fail "postinst printed no FILE:LINE message of the failed policy check" "$ITEST_DIR/install.log"
    grep -qxF "mxparity: $(head -n 1 <<<"$check_out")" "$ITEST_DIR/install.log" \
        || itest_fail "postinst's check message is not the checker's own ('$check_out')" "$ITEST_DIR/install.log"
    grep -qF 'mxparity: mxparityd NOT (re)started' "$ITEST_DIR/install.log" \
        || itest_fail "postinst did not say that it left the daemon stopped" "$ITEST_DIR/install.log"
    if pgrep -u mxparity -x mxparityd >/dev/null; then
        itest_fail "mxparityd runs although its policy failed the check: $(pgrep -a -u mxparity -x mxparityd)"
    fi
    itest_log "ok: postinst: '$check_out', daemon not started"
else
    grep -qxF "mxparity: $check_out" "$ITEST_DIR/install.log" \
        || itest_fail "the sample policy passes, but postinst did not print '$check_out'" "$ITEST_DIR/install.log"
    itest_log "ok: postinst: '$check_out'"
fi

# --- 4. the daemon, as the unit runs it ---------------------------------------------

# The test's policy: the installed one, with the test signatures, the data
# files by absolute path, a private spool, a resolver on loopback, and only
# 127.0.0.9 trusted (the test client comes from 127.0.0.1).
etc=$ITEST_DIR/etc
mkdir -p "$etc" "$ITEST_DIR/db"
install -d -o mxparity -g mxparity -m 0750 "$ITEST_DIR/spool"
chmod o+rx "$etc" "$ITEST_DIR/db"
mxp_av_testdb "$ITEST_DIR/db"
client=203.0.113.5
cat >"$ITEST_DIR/zone" <<EOF
txt-record=example.org,"v=spf1 ip4:$client -all"
EOF
mxp_dns_start "$ITEST_DIR/zone"
sed -e "s|^\\( *database = \\)\"[^\"]*\"|\\1\"$ITEST_DIR/db\"  spool_dir = \"$ITEST_DIR/spool\"|" \
    -e 's|^\( *recipients_file = \)"\([^/"][^"]*\)"|\1"/etc/mxparity/\2"|' \
    -e 's|^\( *key_file = \)"\([^/"][^"]*\)"|\1"/etc/mxparity/\2"|' \
    -e "s|^\\( *resolver = \\)\"[^\"]*\"|\\1\"127.0.0.1:$DNS_PORT\"|" \
    -e 's|^trusted_networks = .*|trusted_networks = {"127.0.0.9/32"}|' \
    /etc/mxparity/policy.conf >"$etc/policy.conf"
for want in "database = \"$ITEST_DIR/db\"" 'recipients_file = "/etc/mxparity/' 'key_file = "/etc/mxparity/' \
    "resolver = \"127.0.0.1:$DNS_PORT\"" 'trusted_networks = {"127.0.0.9/32"}'; do
    grep -qF "$want" "$etc/policy.conf" \
        || itest_fail "the installed policy changed: could not set '$want' in the test's copy" "$etc/policy.conf" 100
done
chmod 0644 "$etc/policy.conf"

# The unit's variables: its Environment= lines, then its EnvironmentFile=
# (which wins), then the test's socket and policy.  -f: the log on stderr
# too (the test reads it there, not in syslog); -n: this host in the MX
# map; -t 5: a short grace period at the stop.  All three are what a site
# may put in MXPARITYD_OPTS.
MXPARITYD_POLICY="" MXPARITYD_SOCKET="" MXPARITYD_OPTS=""
# set_var NAME=VALUE - one assignment of the unit or of its settings file
set_var() {
    local name=${1%%=*} value=${1#*=}
    case $name in
        MXPARITYD_[A-Z_]*) ;;
        *) return 0 ;;
    esac
    case $value in
        \"*\") value=${value#\"} value=${value%\"} ;;
        \'*\') value=${value#\'} value=${value%\'} ;;
    esac
    printf -v "$name" '%s' "$value"
}
while IFS= read -r line; do
    set_var "${line#Environment=}"
done < <(grep '^Environment=' "$unit")
envfile=$(sed -n 's/^EnvironmentFile=-\{0,1\}//p' "$unit")
[ "$envfile" = /etc/default/mxparityd ] || itest_fail "the unit reads '$envfile', not /etc/default/mxparityd" "$unit"
while IFS= read -r line; do
    set_var "$line"
done < <(grep -E '^[A-Z_]+=' "$envfile")
[ "$MXPARITYD_POLICY" = /etc/mxparity/policy.conf ] || itest_fail "the unit's MXPARITYD_POLICY is '$MXPARITYD_POLICY'"
MXP_PORT=$(free_port) || itest_fail "no free port"
MXPARITYD_POLICY=$etc/policy.conf
# shellcheck disable=SC2034 # read by unit_cmd, as ${!name}
MXPARITYD_SOCKET=inet:$MXP_PORT@127.0.0.1
MXPARITYD_OPTS="$MXPARITYD_OPTS -f -n mx1.example.com -t 5"

# unit_cmd KEY - the unit's (first) KEY= command line in CMD, expanded as
# systemd does: ${NAME} is one word, $NAME is split at blanks
unit_cmd() {
    local line word name words split
    CMD=()
    line=$(sed -n "s/^$1=//p" "$unit" | head -n 1)
    [ -n "$line" ] || itest_fail "no $1= in $unit"
    read -ra words <<<"$line"
    for word in "${words[@]}"; do
        # shellcheck disable=SC2016 # the unit's literal ${NAME} and $NAME
        case $word in
            '${'*'}') name=${word#\$\{} name=${name%\}} ;;
            '$'*) name=${word#\$} ;;
            *'$'*) itest_fail "cannot expand '$word' of $1= in $unit" ;;
            *) CMD+=("$word"); continue ;;
        esac
        case $name in
            MXPARITYD_[A-Z_]*) ;;
            *) itest_fail "$1= in $unit uses \$$name, which the test does not set" ;;
        esac
        if [ "${word:1:1}" = '{' ]; then
            CMD+=("${!name}")
        else
            read -ra split <<<"${!name}"
            CMD+=(${split[@]+"${split[@]}"})
        fi
    done
    [ "${CMD[0]}" = /usr/sbin/mxparityd ] || itest_fail "$1= runs '${CMD[0]}', not /usr/sbin/mxparityd"
}

# as_unit - exec a command as the unit runs it: user and group mxparity,
# its UMask=, from /.  Only in a subshell: $(as_unit ...) or as_unit ... &
# (then $! is the daemon's own pid).
as_unit() {
    umask 0027 && cd / && exec setpriv --reuid=mxparity --regid=mxparity --init-groups "$@"
}

unit_cmd ExecStartPre
itest_log "ExecStartPre: ${CMD[*]}"
# Its stdout is the one "policy ok:" line; -f adds the log on stderr.
pre=$(as_unit "${CMD[@]}" 2>"$ITEST_DIR/check.err") \
    || itest_fail "the unit's policy check fails on the test's policy: $pre" "$ITEST_DIR/check.err"
case $pre in
    "policy ok: "*" host=mx1.example.com tier=primary"*) itest_log "ok: $pre" ;;
    *) itest_fail "unexpected ExecStartPre output: $pre" ;;
esac
digest=$(grep -oE 'digest=sha256:[0-9a-f]{64}' <<<"$pre" | cut -d: -f2)
[ -n "$digest" ] || itest_fail "no digest in '$pre'"

unit_cmd ExecStart
itest_log "ExecStart: ${CMD[*]}"
MXP_LOG=$ITEST_DIR/mxparityd.log
as_unit "${CMD[@]}" >>"$MXP_LOG" 2>&1 </dev/null &
MXP_PID=$!
itest_track_pid "$MXP_PID"
itest_track_log "$MXP_LOG"
_itest_poll 60 _mxp_serving "$MXP_PID" "$MXP_PORT" 0 "$MXP_LOG" \
    || itest_fail "mxparityd did not start" "$MXP_LOG"
user=$(ps -o user= -p "$MXP_PID" | tr -d ' ')
[ "$user" = mxparity ] || itest_fail "the daemon runs as '$user', want mxparity"
assert_grep 'modules=rcpt,av,spf' "$MXP_LOG"
itest_log "ok: mxparityd pid $MXP_PID as $user on 127.0.0.1:$MXP_PORT ($(elapsed))"

# --- 4b. mail through Postfix ----------------------------------------------------------

sink_start
pf_start "inet:127.0.0.1:$MXP_PORT" "smtpd_authorized_xclient_hosts = 127.0.0.0/8" \
    "mynetworks = 127.0.0.0/8 $client/32"
swaks_send --xclient-addr "$client" --from sender@example.org --to alice@example.com \
    --header "Subject: through the packages" || true
assert_swaks_reply 250
sink_wait_from sender@example.org
mxp_assert_summary "$MXP_LOG" sender@example.org "client=[^ ]*\\[$client\\] hop=edge " \
    ' rcpt=ok ' ' av=clean ' ' spf=pass ' ' action=(accept|tag) ' " policy=${digest:0:8} "
header_lines "$SINK_FILE" Authentication-Results | grep -qxF \
    'Authentication-Results: mx1.example.com; spf=pass smtp.mailfrom=sender@example.org smtp.helo=client.itest.example' \
    || itest_fail "no spf=pass Authentication-Results in mx1.example.com's name" "$SINK_FILE" 40
# The stamp is folded: its first line, then the digest on a later one.
header_lines "$SINK_FILE" X-MXParity | grep -qE '^X-MXParity: v=2; kid=[0-9a-f]+; host=mx1\.example\.com; tier=primary;' \
    || itest_fail "no X-MXParity stamp of mx1.example.com (tier primary)" "$SINK_FILE" 40
grep -qE "^[[:space:]]+policy=sha256:$digest;" "$SINK_FILE" \
    || itest_fail "the X-MXParity stamp does not carry the policy digest $digest" "$SINK_FILE" 40
itest_log "ok: delivered with Authentication-Results and X-MXParity"

swaks_send --xclient-addr "$client" --from virus@example.org --to alice@example.com \
    --header "Subject: EICAR" --body "$(mxp_eicar)" || true
assert_swaks_reply "554 5.7.1"
mxp_assert_summary "$MXP_LOG" virus@example.org ' av=infected' ' action=reject '
swaks_send --xclient-addr "$client" --from nobody-test@example.org --to nobody@example.com || true
assert_swaks_reply "550 5.1.1"
sink_assert_none_from virus@example.org
assert_no_sanitizer "$MXP_LOG"
itest_log "ok: EICAR and an unknown recipient refused ($(elapsed))"

# --- 5. stop, purge, nothing left ------------------------------------------------------

pf_stop "$PF_CONF"
kill "$MXP_PID"
_itest_poll 40 _itest_pid_gone "$MXP_PID" || itest_fail "mxparityd did not stop on SIGTERM" "$MXP_LOG"
wait "$MXP_PID" 2>/dev/null
mxp_dns_stop
if ! apt_get purge "${PACKAGES[@]}" >"$ITEST_DIR/purge.log" 2>&1; then
    itest_fail "apt-get purge failed" "$ITEST_DIR/purge.log" 40
fi
for p in "${PACKAGES[@]}"; do
    installed "$p" && itest_fail "$p is still known to dpkg after the purge: $(dpkg -s "$p" 2>&1 | head -n 3)"
    ls /var/lib/dpkg/info/"$p".* >/dev/null 2>&1 && itest_fail "dpkg still has /var/lib/dpkg/info/$p.*"
    while IFS= read -r f; do
        if [ -e "$f" ] && [ ! -d "$f" ]; then itest_fail "$f of $p is still there after the purge"; fi
    done <"$ITEST_DIR/files.$p"
done
for f in /etc/mxparity /var/lib/mxparity /run/mxparity /etc/default/mxparityd "$moddir" \
    /usr/lib/$ma/mxparity /usr/share/doc/mxparity /etc/systemd/system/multi-user.target.wants/mxparityd.service \
    /var/lib/systemd/deb-systemd-helper-enabled/mxparityd.service.dsh-also \
    /var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/mxparityd.service; do
    if [ -e "$f" ] || [ -L "$f" ]; then itest_fail "$f is still there after the purge"; fi
done
itest_log "ok: purged, nothing left ($(elapsed))"
# The copy of the source tree and its build are big; the packages and the logs stay.
rm -rf "$src"
itest_pass
