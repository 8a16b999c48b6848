#!/bin/bash
# tests/integration/mxp.sh - mxparityd on top of the harness in lib.sh:
# a module directory with the built modules, a policy per test, and the
# daemon started in the foreground with its log in the test directory.
# Source it after lib.sh.

MXPARITYD=${top_builddir:?lib.sh sets top_builddir}/mxparityd

# mxp_modules: a directory holding the core modules and the test module.
mxp_modules() {
    MXP_MODDIR=$ITEST_DIR/modules
    mkdir -p "$MXP_MODDIR"
    ln -sf "$top_builddir/milter/modules/.libs/rcpt.so" "$MXP_MODDIR/rcpt.so"
    ln -sf "$top_builddir/tests/modules/.libs/testmod.so" "$MXP_MODDIR/testmod.so"
    export MXP_MODDIR
}

# mxp_policy TEXT: write the test's policy (and its recipient list).
mxp_policy() {
    MXP_POLICY=$ITEST_DIR/policy.conf
    printf '%s\n' "$1" >"$MXP_POLICY"
    export MXP_POLICY
}

# Every daemon a test starts has a TAG; its port, pid and log are in the
# variables _mxp_vars names: MXP_PORT MXP_PID MXP_LOG for the tag MXP (the
# one daemon of most tests), ${TAG}_MPORT ${TAG}_MPID ${TAG}_MLOG otherwise
# (MX1, MX2 of the tier tests).

# _mxp_vars TAG: the names of TAG's port, pid and log variables
_mxp_vars() {
    if [ "$1" = MXP ]; then echo "MXP_PORT MXP_PID MXP_LOG"; else echo "${1}_MPORT ${1}_MPID ${1}_MLOG"; fi
}

# mxp_daemon TAG HOSTNAME POLICY [mxparityd args...]: start mxparityd -n
# HOSTNAME on TAG's port (a free one unless it is set: a restart keeps it),
# logging to $ITEST_DIR/mxparityd.log (MXP) or mxparityd.TAG.log, and wait
# (bounded) until it serves.  Sets TAG's variables.
mxp_daemon() {
    local tag=$1 host=$2 policy=$3 port_var pid_var log_var port log mark
    shift 3
    [ -n "${MXP_MODDIR:-}" ] || mxp_modules
    read -r port_var pid_var log_var < <(_mxp_vars "$tag")
    port=${!port_var:-}
    [ -n "$port" ] || port=$(free_port) || itest_fail "mxp_daemon $tag: no free port"
    if [ "$tag" = MXP ]; then log=$ITEST_DIR/mxparityd.log; else log=$ITEST_DIR/mxparityd.$tag.log; fi
    mark=$(itest_mark "$log")
    # -R: the tests run their daemons as root on purpose (most ports and files are theirs).
    # MXP_LAUNCH (an array, e.g. env FAKETIME=... LD_PRELOAD=...) runs the daemon under a wrapper.
    # -S none: no control socket unless the test gives -S PATH (t-status.sh), so that
    # daemons never meet on the default one in /run/mxparity.
    ${MXP_LAUNCH[@]+"${MXP_LAUNCH[@]}"} "$MXPARITYD" -f -c "$policy" -p "inet:$port@127.0.0.1" -M "$MXP_MODDIR" \
        -n "$host" -t 5 -R -S none "$@" >>"$log" 2>&1 </dev/null &
    printf -v "$port_var" '%s' "$port"
    printf -v "$pid_var" '%s' "$!"
    printf -v "$log_var" '%s' "$log"
    export "${port_var?}" "${pid_var?}" "${log_var?}"
    itest_track_pid "${!pid_var}"
    itest_track_log "$log"
    _itest_poll 30 _mxp_serving "${!pid_var}" "$port" "$mark" "$log" \
        || itest_fail "mxparityd -n $host ($tag) did not start" "$log"
    itest_log "mxparityd -n $host ($tag) pid ${!pid_var} on 127.0.0.1:$port, policy $policy"
}

# shellcheck disable=SC2317 # called through _itest_poll
_mxp_serving() {
    kill -0 "$1" 2>/dev/null || itest_fail "mxparityd (pid $1) exited during startup" "$4"
    tail -n +"$(($3 + 1))" "$4" | grep -q 'serving on' && _itest_listening "$2"
}

# mxp_start [extra mxparityd args]: the test's one daemon (tag MXP), as
# host mx1.example.com with $MXP_POLICY.  Sets MXP_PORT MXP_PID MXP_LOG.
# shellcheck disable=SC2120 # the arguments are optional
mxp_start() {
    mxp_daemon MXP mx1.example.com "$MXP_POLICY" "$@"
}

# smtp_interrupt SIGNAL WANT SUBJECT: one transaction through the newest
# Postfix, with SIGNAL sent to the daemon between RCPT and DATA; succeeds
# when the DATA reply class is WANT (2 or 4).
smtp_interrupt() {
    python3 "${top_srcdir:?}/tests/integration/smtp_interrupt.py" "$PF_PORT" "$MXP_PID" "$@"
}

# mxp_milter: the smtpd_milters value for the running daemon.
mxp_milter() {
    printf 'inet:127.0.0.1:%s' "$MXP_PORT"
}

# mxp_modules_av: like mxp_modules, plus the av module.  Skips the test
# (exit 77) when av.so was not built (configured without libclamav).
mxp_modules_av() {
    local so=$top_builddir/milter/modules/.libs/av.so
    [ -f "$so" ] || itest_skip "the av module was not built ($so missing)"
    mxp_modules
    ln -sf "$so" "$MXP_MODDIR/av.so"
}

# mxp_av_testdb DIR: write the test signature database (EICAR body
# signature + MD5 of every clamav-testfiles sample) into DIR.
mxp_av_testdb() {
    sh "${top_srcdir:?}/milter/modules/av/make-testdb.sh" "$1" >"$ITEST_DIR/make-testdb.log" 2>&1 \
        || itest_fail "make-testdb.sh $1 failed" "$ITEST_DIR/make-testdb.log"
}

# mxp_eicar: print the EICAR test string (assembled, so no file of the
# source tree carries it whole).
mxp_eicar() {
    # shellcheck disable=SC2016 # literal $ signs
    printf 'X5O!P%%@AP[4\\PZX54(P^)7CC)7}$%s-%s-%s!$H+H*' EICAR STANDARD-ANTIVIRUS TEST-FILE
}

# mxp_av_policy VERSION [AV OPTIONS...]: write the test policy (policy.common
# with version VERSION) plus an av section on $ITEST_DIR/db (or $MXP_AV_DB
# when set), spooling to $ITEST_DIR/spool, with the given extra options (e.g. 'on_infected = tag').
mxp_av_policy() {
    local version=$1 common
    shift
    common=$(cat "${top_srcdir:?}/tests/integration/policy.common")
    mkdir -p "$ITEST_DIR/spool"
    mxp_policy "${common/itest.1/$version}
module av {
  database = \"${MXP_AV_DB:-$ITEST_DIR/db}\"
  spool_dir = \"$ITEST_DIR/spool\"
  $*
}"
}

# mxp_reload_policy VERSION: SIGHUP the daemon and wait until it loaded
# the policy of that version.
mxp_reload_policy() {
    mxp_reload "$1" MXP
}

# mxp_reload VERSION TAG...: SIGHUP the daemons TAG... and wait until each
# logged "policy loaded: version=VERSION".
mxp_reload() {
    local version=$1 tag pid_var log_var marks=()
    shift
    for tag in "$@"; do
        read -r _ pid_var log_var < <(_mxp_vars "$tag")
        marks+=("$(itest_mark "${!log_var}")")
        kill -HUP "${!pid_var}" || itest_fail "SIGHUP to mxparityd $tag (${!pid_var}) failed"
    done
    for tag in "$@"; do
        read -r _ _ log_var < <(_mxp_vars "$tag")
        wait_for_grep_from "${marks[0]}" "policy loaded: version=$version " "${!log_var}" 30
        marks=("${marks[@]:1}")
    done
}

# mxp_summary LOG SENDER: the last summary line of envelope sender SENDER in LOG.
mxp_summary() {
    grep -F " from=<$2> " "$1" 2>/dev/null | grep -E ' action=[a-z]+( |$)' | tail -n 1
}

# shellcheck disable=SC2317 # called through _itest_poll
_mxp_has_summary() {
    [ -n "$(mxp_summary "$1" "$2")" ]
}

# mxp_wait_summary LOG SENDER [TIMEOUT]: wait (bounded, 20 s by default)
# for that line and print it; prints nothing when it did not come.
mxp_wait_summary() {
    _itest_poll "${3:-20}" _mxp_has_summary "$1" "$2" || true
    mxp_summary "$1" "$2"
}

# mxp_assert_summary LOG SENDER ERE...: the summary line of SENDER in LOG
# comes (bounded) and matches every ERE.
mxp_assert_summary() {
    local log=$1 from=$2 line pat
    shift 2
    line=$(mxp_wait_summary "$log" "$from" 20)
    [ -n "$line" ] || itest_fail "no summary line for <$from> in $log" "$log"
    for pat in "$@"; do
        grep -E -q -- "$pat" <<<"$line" \
            || itest_fail "summary of <$from> in $(basename "$log") does not match /$pat/: '$line'" "$log"
    done
    itest_log "ok: $(basename "$log"): $line"
}

# mxp_summary_from SENDER, mxp_wait_summary_from SENDER [TIMEOUT]: the same in $MXP_LOG.
mxp_summary_from() {
    mxp_summary "$MXP_LOG" "$1"
}
mxp_wait_summary_from() {
    mxp_wait_summary "$MXP_LOG" "$1" "${2:-10}"
}

# header_lines FILE NAME: the header lines NAME: of FILE's header block
# (name compared without regard to case), continuation lines not included.
header_lines() {
    awk -v want="$(printf '%s' "$2" | tr '[:upper:]' '[:lower:]')" '
        /^\r?$/ { exit }
        { i = index($0, ":"); if (i > 1 && tolower(substr($0, 1, i - 1)) == want) print }
    ' "$1"
}

# mxp_assert_healthy [TAG...]: the daemons (MXP by default) still run and
# their logs hold no sanitizer report and no crash.
mxp_assert_healthy() {
    local tag pid_var log_var
    [ "$#" -gt 0 ] || set -- MXP
    for tag in "$@"; do
        read -r _ pid_var log_var < <(_mxp_vars "$tag")
        kill -0 "${!pid_var}" 2>/dev/null \
            || itest_fail "mxparityd $tag (pid ${!pid_var}) is gone" "${!log_var}"
        assert_no_sanitizer "${!log_var}"
    done
}

# ---------------------------------------------------------------------------
# spf module helpers (tests/integration/t-spf-*.sh)
# ---------------------------------------------------------------------------

# mxp_modules_spf: like mxp_modules, plus the spf module.  Skips the test
# (exit 77) when spf.so was not built.
mxp_modules_spf() {
    local so=$top_builddir/milter/modules/.libs/spf.so
    [ -f "$so" ] || itest_skip "the spf module was not built ($so missing)"
    mxp_modules
    ln -sf "$so" "$MXP_MODDIR/spf.so"
}

# _mxp_udp_free PORT: no UDP socket uses PORT (true when ss is missing).
_mxp_udp_free() {
    command -v ss >/dev/null 2>&1 || return 0
    [ -z "$(ss -Huan "( sport = :$1 )" 2>/dev/null)" ]
}

# mxp_free_udp_port: print a port free for both TCP and UDP on loopback
# (free_port plus a UDP check; at most 20 candidates).
mxp_free_udp_port() {
    local i p
    for (( i = 0; i < 20; i++ )); do
        p=$(free_port) || return 1
        if _mxp_udp_free "$p"; then
            echo "$p"
            return 0
        fi
    done
    echo "mxp_free_udp_port: no free port found" >&2
    return 1
}

_mxp_udp_listening() {
    ss -Hlun "sport = :$1" 2>/dev/null | grep -q '127\.0\.0\.1:'"$1"'\b'
}

_mxp_dns_up() {
    kill -0 "$DNS_PID" 2>/dev/null \
        || itest_fail "dnsmasq exited during startup" "$ITEST_DIR/dnsmasq.log"
    _mxp_udp_listening "$DNS_PORT" && _itest_listening "$DNS_PORT"
}

# mxp_dns_start ZONEFILE [PORT]: serve the dnsmasq directives in ZONEFILE
# (txt-record=, host-record=, ...) with dnsmasq on 127.0.0.1:PORT (a free
# port when not given), UDP and TCP, no upstream, no /etc/hosts.  Names
# under example, example.com, example.net and example.org that ZONEFILE
# does not define get NXDOMAIN (local=).  Sets DNS_PORT DNS_PID; the pid is
# tracked and the query log is $ITEST_DIR/dnsmasq.log.
mxp_dns_start() {
    local zone=${1:?usage: mxp_dns_start ZONEFILE [PORT]} port=${2:-} conf
    itest_require dnsmasq
    [ -f "$zone" ] || itest_fail "mxp_dns_start: no zone file $zone"
    if [ -z "$port" ]; then
        port=$(mxp_free_udp_port) || itest_fail "mxp_dns_start: no free port"
    fi
    conf=$ITEST_DIR/dnsmasq.$port.conf
    {
        echo "# Generated by mxp_dns_start for $ITEST_NAME from $zone"
        echo "local=/example/"
        echo "local=/example.com/"
        echo "local=/example.net/"
        echo "local=/example.org/"
        cat -- "$zone"
    } >"$conf"
    DNS_PORT=$port
    # Own pid file: the default would be /run/dnsmasq.pid, the system's.
    dnsmasq --keep-in-foreground --no-resolv --no-hosts \
        --port="$port" --listen-address=127.0.0.1 --bind-interfaces \
        --conf-file="$conf" --pid-file="$ITEST_DIR/dnsmasq.$port.pid" \
        --log-queries --log-facility=- \
        >>"$ITEST_DIR/dnsmasq.log" 2>&1 </dev/null &
    DNS_PID=$!
    export DNS_PORT DNS_PID
    itest_track_pid "$DNS_PID"
    itest_track_log "$ITEST_DIR/dnsmasq.log"
    _itest_poll "$ITEST_START_TIMEOUT" _mxp_dns_up \
        || itest_fail "dnsmasq did not listen on 127.0.0.1:$port" "$ITEST_DIR/dnsmasq.log"
    itest_log "dnsmasq pid $DNS_PID on 127.0.0.1:$port (udp+tcp), zone $zone"
}

# mxp_dns_stop: stop the dnsmasq of mxp_dns_start (bounded).
mxp_dns_stop() {
    [ -n "${DNS_PID:-}" ] && _itest_kill_pid "$DNS_PID"
    DNS_PID=""
}

# mxp_spf_policy VERSION [SPF OPTIONS...]: write the test policy
# (policy.common with version VERSION) plus an spf section using
# resolver 127.0.0.1:$DNS_PORT (or $MXP_SPF_RESOLVER when set) and the
# given options (e.g. 'received_spf = true').  With MXP_TRUSTED_NETWORKS
# set, that list replaces policy.common's trusted_networks.
mxp_spf_policy() {
    local version=$1 common
    shift
    common=$(cat "${top_srcdir:?}/tests/integration/policy.common")
    common=${common/itest.1/$version}
    if [ -n "${MXP_TRUSTED_NETWORKS:-}" ]; then
        common=$(printf '%s\n' "$common" \
            | sed "s|^trusted_networks = .*|trusted_networks = {$MXP_TRUSTED_NETWORKS}|")
    fi
    [ -f "$ITEST_DIR/recipients" ] || printf 'alice@example.com\n' >"$ITEST_DIR/recipients"
    mxp_policy "$common
module spf {
  resolver = \"${MXP_SPF_RESOLVER:-127.0.0.1:${DNS_PORT:?mxp_spf_policy: no DNS_PORT}}\"
  $*
}"
}

# mxp_spf_send [SWAKS ARGS...]: one transaction from the spf tests' client
# (mxp_spf_client's address); never fails by itself (see $SWAKS_RC).
mxp_spf_send() {
    swaks_send "${SPF_SWAKS4[@]}" "$@" || true
}

# mxp_rcpt_line RCPT: the daemon's last RCPT decision line for RCPT
# (e.g. "reject: RCPT from ...: 550 5.7.23 ...; from=<..> to=<RCPT> hop=edge").
mxp_rcpt_line() {
    grep -F " to=<$1> " "$MXP_LOG" | grep -E ': RCPT from ' | tail -n 1
}

# mxp_spf_client: the client address the spf tests present to the milter.
#   MXP_SPF_CLIENT unset or "loopback": the real one, 127.0.0.1 / ::1.
#   MXP_SPF_CLIENT=xclient: the same loopback connection, but swaks tells
#     Postfix by XCLIENT that the client is 192.0.2.10 / 2001:db8::10
#     (documentation addresses, never contacted), so the milter and the
#     SPF records see those.  libspf2 passes every loopback client
#     without looking at DNS ("localhost is always allowed"); this mode
#     checks the rest of the module regardless.
# Sets SPF_IP4 SPF_IP6, the swaks argument arrays SPF_SWAKS4 SPF_SWAKS6
# (to add to swaks_send) and the pf_start settings array SPF_PF_SETTINGS
# (mynetworks with the client's IPv4 and IPv6 address, XCLIENT permission).
# shellcheck disable=SC2034 # the arrays are for the sourcing test
mxp_spf_client() {
    case ${MXP_SPF_CLIENT:-loopback} in
        loopback)
            SPF_IP4=127.0.0.1
            SPF_IP6=::1
            SPF_SWAKS4=()
            SPF_SWAKS6=()
            SPF_PF_SETTINGS=("mynetworks = 127.0.0.0/8 [::1]/128")
            ;;
        xclient)
            SPF_IP4=192.0.2.10
            SPF_IP6=2001:db8::10
            SPF_SWAKS4=(--xclient-addr "$SPF_IP4")
            SPF_SWAKS6=(--xclient-addr "IPV6:$SPF_IP6")
            SPF_PF_SETTINGS=("smtpd_authorized_xclient_hosts = 127.0.0.0/8 [::1]/128"
                "mynetworks = 127.0.0.0/8 [::1]/128 192.0.2.10/32 [2001:db8::10]/128")
            ;;
        *) itest_fail "MXP_SPF_CLIENT must be loopback or xclient, not '$MXP_SPF_CLIENT'" ;;
    esac
    export SPF_IP4 SPF_IP6
    itest_log "spf client address: $SPF_IP4 / $SPF_IP6 (${MXP_SPF_CLIENT:-loopback})"
}

# mxp_dns_assert_query TYPE NAME: dnsmasq (mxp_dns_start) was asked for
# NAME's TYPE record.  A loopback client that passes without this query
# got libspf2's "localhost is always allowed" instead of an SPF check.
mxp_dns_assert_query() {
    local pat="query\\[$1\\] ${2//./\\.} from "
    grep -E -q -- "$pat" "$ITEST_DIR/dnsmasq.log" 2>/dev/null \
        || itest_fail "no $1 query for $2 reached dnsmasq (client ${SPF_IP4:-?}/${SPF_IP6:-?}; did libspf2 pass a loopback client without looking?)" \
            "$ITEST_DIR/dnsmasq.log" 20
}

# ---------------------------------------------------------------------------
# Private clamd servers, for the av module's clamd backend
# (milter/modules/av/tests/t-av-clamd*.sh)
# ---------------------------------------------------------------------------

# mxp_clamd_start NAME DB [clamd.conf lines...]: Debian's clamd (package
# clamav-daemon; skips without it) in $ITEST_DIR/clamd.NAME, on the unix
# socket $ITEST_DIR/clamd.NAME/clamd.sock, with the signatures in DB, in the
# foreground, never the system service; waits (bounded) until it answers
# PING.  Sets CLAMD_NAME_PID and CLAMD_NAME_SOCK (NAME upper-cased).
# MXP_CLAMD_NOWAIT=1: return at once (a restart under load).
mxp_clamd_start() {
    local name=$1 db=$2 dir var
    shift 2
    [ -x /usr/sbin/clamd ] || itest_skip "clamd (package clamav-daemon) is not installed"
    dir=$ITEST_DIR/clamd.$name
    mkdir -p "$dir/tmp"
    {
        echo "# private clamd for $ITEST_NAME ($name)"
        echo "LocalSocket $dir/clamd.sock"
        echo "FixStaleSocket yes"
        echo "PidFile $dir/clamd.pid"
        echo "DatabaseDirectory $db"
        echo "TemporaryDirectory $dir/tmp"
        echo "LogFile $dir/clamd.log"
        echo "LogTime yes"
        echo "LogClean yes"
        echo "LogFileMaxSize 0"
        echo "Foreground yes"
        echo "SelfCheck 0"
        echo "MaxThreads 8"
        echo "ScanMail yes"
        echo "ScanArchive yes"
        echo "AlertExceedsMax yes"
        printf '%s\n' "$@"
    } >"$dir/clamd.conf"
    /usr/sbin/clamd -c "$dir/clamd.conf" >>"$dir/clamd.out" 2>&1 </dev/null &
    var=CLAMD_$(printf '%s' "$name" | tr '[:lower:]-' '[:upper:]_')
    printf -v "${var}_PID" '%s' "$!"
    printf -v "${var}_SOCK" '%s' "$dir/clamd.sock"
    itest_track_pid "$!"
    itest_track_log "$dir/clamd.log" "$dir/clamd.out"
    [ "${MXP_CLAMD_NOWAIT:-0}" = 1 ] && { itest_log "clamd $name pid $! starting"; return 0; }
    _itest_poll 60 _mxp_clamd_answers "$dir/clamd.sock" "$!" "$dir/clamd.out" \
        || itest_fail "clamd $name did not answer PING" "$dir/clamd.out"
    itest_log "clamd $name pid $! on $dir/clamd.sock, database $db"
}

# shellcheck disable=SC2317 # called through _itest_poll
_mxp_clamd_answers() {
    kill -0 "$2" 2>/dev/null || itest_fail "clamd exited during startup" "$3"
    [ -S "$1" ] && [ "$(python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(2); s.connect(sys.argv[1])
s.sendall(b"zPING\0"); print(s.recv(16).rstrip(b"\0").decode())' "$1" 2>/dev/null)" = PONG ]
}

# mxp_fake_clamd MODE NAME: tests/integration/fake_clamd.py MODE on the
# socket $ITEST_DIR/fake.NAME.sock (printed), tracked.
mxp_fake_clamd() {
    local sock=$ITEST_DIR/fake.$2.sock
    python3 "${top_srcdir:?}/tests/integration/fake_clamd.py" "$1" "$sock" \
        >"$ITEST_DIR/fake.$2.log" 2>&1 </dev/null &
    itest_track_pid "$!"
    _itest_poll 10 test -S "$sock" || itest_fail "fake clamd $2 did not start" "$ITEST_DIR/fake.$2.log"
    echo "$sock"
}
