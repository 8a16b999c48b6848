# shellcheck shell=bash
# tests/integration/lib.sh - shared harness for mxparity integration tests.
#
# Sourced by every tests/integration/t-*.sh script.  It runs a private
# smtp-sink (the "final destination") and one or more private Postfix
# instances (each with its own config, queue, data dir and log file) on
# 127.0.0.1 only, sends mail with swaks and offers assertions.  Everything
# the harness starts is stopped by an EXIT trap, also when a test fails.
# See tests/integration/README.md for usage.

# ---------------------------------------------------------------------------
# Globals
# ---------------------------------------------------------------------------

# Directory holding this file; the repo root is two levels up.
ITEST_LIBDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${top_srcdir:=$(cd "$ITEST_LIBDIR/../.." && pwd)}"
: "${top_builddir:=$PWD}"
export top_srcdir top_builddir

: "${ITEST_ROOT:=$PWD/itest-work}"
# User smtp-sink drops privileges to (it refuses to run as root).
: "${ITEST_SINK_USER:=postfix}"
# Upper bound for waiting on daemons to come up or go away (seconds).
: "${ITEST_START_TIMEOUT:=30}"

ITEST_NAME=""
ITEST_DIR=""
ITEST_PIDS=()       # pids killed by teardown (itest_track_pid)
ITEST_LOGS=()       # files dumped by teardown on failure (itest_track_log)
ITEST_CLEANUP=()    # commands teardown runs last (itest_cleanup_add)
ITEST_STOPS=()      # commands teardown runs first (itest_stop_add)
ITEST_PF_CONFS=()   # config dirs of every Postfix instance started
ITEST_SHOWN=()      # files already shown by itest_fail (not dumped twice)
SWAKS_LOG=""
SWAKS_RC=""
SINK_PID=""
SINK_PORT=""
SINK_DIR=""

# PATH must reach postfix/postconf/postqueue (/usr/sbin) and smtp-sink.
case ":$PATH:" in
    *:/usr/sbin:*) ;;
    *) PATH="$PATH:/usr/sbin:/sbin" ;;
esac

# ---------------------------------------------------------------------------
# Messages, failure, skip
# ---------------------------------------------------------------------------

itest_log() {
    printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2
}

# itest_fail MESSAGE [FILE [LINES]]: print a FAIL line (plus the tail of FILE)
# and exit 1.  The EXIT trap then tears everything down.
itest_fail() {
    local msg=$1 file=${2:-} lines=${3:-30}
    printf 'FAIL: %s: %s\n' "${ITEST_NAME:-itest}" "$msg" >&2
    if [ -n "$file" ]; then
        _itest_tail "$file" "$lines"
        ITEST_SHOWN+=("$file")
    fi
    exit 1
}

# itest_skip REASON: exit 77 (automake SKIP).
itest_skip() {
    printf 'SKIP: %s: %s\n' "${ITEST_NAME:-itest}" "$*" >&2
    exit 77
}

# itest_require CMD...: skip the test unless every command is available.
itest_require() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || itest_skip "required tool '$c' not found"
    done
}

itest_pass() {
    printf 'PASS: %s\n' "$ITEST_NAME"
    exit 0
}

# ---------------------------------------------------------------------------
# Counted checks, for the scripts that run no Postfix (t-cli.sh,
# t-systemd-verify.sh): every check prints ok/FAIL and the script ends
# with check_done, which fails if any check did.
# ---------------------------------------------------------------------------

CHECK_PASSED=0
CHECK_FAILED=0

# check_ok DESC / check_fail DESC: one passed or failed check
check_ok() {
    CHECK_PASSED=$((CHECK_PASSED + 1))
    echo "ok: $*"
}
check_fail() {
    CHECK_FAILED=$((CHECK_FAILED + 1))
    echo "FAIL: $*"
}

# check_exit DESC WANT_RC GOT_RC: the exit status was WANT_RC
check_exit() {
    if [ "$2" = "$3" ]; then check_ok "$1 (exit $3)"; else check_fail "$1: exit $3, want $2"; fi
}

# check_has DESC ERE TEXT: TEXT has a line matching ERE
check_has() {
    if grep -qE -- "$2" <<<"$3"; then check_ok "$1"; else check_fail "$1: /$2/ not in: $3"; fi
}

# check_file_has DESC ERE FILE / check_file_lacks DESC ERE FILE
check_file_has() {
    if grep -qE -- "$2" "$3"; then check_ok "$1"; else check_fail "$1: /$2/ not in $3"; fi
}
check_file_lacks() {
    if grep -qE -- "$2" "$3"; then check_fail "$1: /$2/ found in $3"; else check_ok "$1"; fi
}

# check_done: the tally; exit status 1 if any check failed
check_done() {
    echo "$CHECK_PASSED passed, $CHECK_FAILED failed"
    [ "$CHECK_FAILED" -eq 0 ]
}

_itest_tail() {
    local file=$1 lines=${2:-30}
    if [ -f "$file" ]; then
        printf -- '---- last %s lines of %s ----\n' "$lines" "$file" >&2
        tail -n "$lines" -- "$file" >&2
        printf -- '---- end of %s ----\n' "$file" >&2
    else
        printf -- '---- %s: no such file ----\n' "$file" >&2
    fi
}

# _itest_dump FILE LINES: tail FILE unless itest_fail already showed it.
_itest_dump() {
    case " ${ITEST_SHOWN[*]} " in
        *" $1 "*) printf -- '---- %s: shown above ----\n' "$1" >&2 ;;
        *) _itest_tail "$1" "$2" ;;
    esac
}

# _itest_poll TIMEOUT CMD...: run CMD every 0.2 s until it succeeds or
# TIMEOUT seconds have passed.  Bounded both in time and iteration count.
_itest_poll() {
    local timeout=$1 i max deadline
    shift
    max=$(( timeout * 5 + 1 ))
    deadline=$(( SECONDS + timeout ))
    for (( i = 0; i < max; i++ )); do
        "$@" && return 0
        (( SECONDS > deadline )) && break
        sleep 0.2
    done
    "$@"
}

# ---------------------------------------------------------------------------
# Setup and teardown
# ---------------------------------------------------------------------------

# itest_init NAME: create a fresh $ITEST_ROOT/NAME and install the traps.
itest_init() {
    [ $# -eq 1 ] || itest_fail "usage: itest_init NAME"
    ITEST_NAME=$1
    case $ITEST_NAME in
        *[!A-Za-z0-9_.-]*|'') itest_fail "bad test name '$1' (use [A-Za-z0-9_.-])" ;;
    esac
    case $ITEST_ROOT in
        /*) ;;
        *) ITEST_ROOT=$PWD/$ITEST_ROOT ;;
    esac
    case $ITEST_ROOT in
        *[[:space:],]*) itest_fail "ITEST_ROOT must not contain blanks or commas: $ITEST_ROOT" ;;
    esac
    ITEST_DIR=$ITEST_ROOT/$ITEST_NAME
    export ITEST_NAME ITEST_DIR ITEST_ROOT
    # swaks_send's target is an MTA this test starts, never one from the environment.
    unset SMTP_PORT

    trap itest_teardown EXIT
    trap 'exit 129' HUP
    trap 'exit 130' INT
    trap 'exit 143' TERM

    _itest_reap_stale "$ITEST_DIR"
    rm -rf -- "$ITEST_DIR"
    mkdir -p -- "$ITEST_DIR" || itest_fail "cannot create $ITEST_DIR"
    itest_log "work dir: $ITEST_DIR"
}

# Stop daemons left over by an earlier, killed run of the same test (found
# via their pid files below the old work dir) before it is wiped.
_itest_reap_stale() {
    local dir=$1 conf pid start
    [ -d "$dir" ] || return 0
    for conf in "$dir"/postfix*/etc; do
        [ -f "$conf/main.cf" ] || continue
        pid=$(_pf_master_pid "$conf")
        if [ -n "$pid" ] && _pf_running "$pid"; then
            itest_log "stopping stale Postfix instance $conf (master pid $pid)"
            _pf_stop_conf "$conf"
        fi
    done
    [ -f "$dir/tracked.pids" ] || return 0
    while read -r pid start; do
        if [ -z "$pid" ] || [ -z "$start" ]; then continue; fi
        # Same pid and same start time: still the process we started.
        if [ "$(_itest_starttime "$pid")" = "$start" ]; then
            itest_log "stopping stale $(cat "/proc/$pid/comm" 2>/dev/null) pid $pid"
            _itest_kill_pid "$pid"
        fi
    done <"$dir/tracked.pids"
}

# itest_stop_add COMMAND: teardown evaluates COMMAND first, before it stops
# Postfix and the tracked pids (e.g. sendmail.sh's sm_stop_all).
itest_stop_add() {
    ITEST_STOPS+=("$1")
}

# itest_cleanup_add COMMAND: teardown evaluates COMMAND after stopping
# everything (for files outside the work dir).
itest_cleanup_add() {
    ITEST_CLEANUP+=("$1")
}

# itest_track_pid PID...: kill PID (TERM, then KILL) at teardown.  Also
# noted in $ITEST_DIR/tracked.pids with its start time, so a later run can
# stop it if this run was SIGKILLed (pid + start time identify a process
# even if it exec()s after being tracked).
itest_track_pid() {
    local p
    for p in "$@"; do
        ITEST_PIDS+=("$p")
        printf '%s %s\n' "$p" "$(_itest_starttime "$p")" >>"$ITEST_DIR/tracked.pids"
    done
}

# _itest_starttime PID: the process start time (field 22 of /proc/PID/stat).
_itest_starttime() {
    # The command name (field 2) may contain blanks: cut after its ')'.
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
    stat=${stat##*) }
    # Now field 3 of the original is field 1; starttime (22) is field 20.
    awk '{ print $20 }' <<<"$stat"
}

itest_track_log() {
    local f
    for f in "$@"; do
        ITEST_LOGS+=("$f")
    done
}

# _itest_kill_pid PID: TERM, wait up to 5 s, then KILL.  Only the given pid.
_itest_kill_pid() {
    local pid=$1 i
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
    kill "$pid" 2>/dev/null
    for (( i = 0; i < 25; i++ )); do
        _itest_pid_gone "$pid" && break
        sleep 0.2
    done
    if ! _itest_pid_gone "$pid"; then
        itest_log "pid $pid ignored SIGTERM, sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null
    fi
    # Reap it if it is our child; silences bash's "Terminated" notice.
    wait "$pid" 2>/dev/null
    return 0
}

_itest_pid_absent() {
    [ ! -e "/proc/$1" ]
}

# True when PID no longer exists or is a zombie waiting to be reaped.
_itest_pid_gone() {
    local state
    [ -e "/proc/$1" ] || return 0
    state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)
    [ -z "$state" ] || [ "$state" = Z ] || [ "$state" = X ]
}

# itest_teardown: EXIT trap.  Stops Postfix instances, the sink and tracked
# pids; on failure dumps logs.  Keeps the work dir for inspection.
itest_teardown() {
    local rc=$? i conf log
    trap - EXIT HUP INT TERM
    set +e
    for (( i = 0; i < ${#ITEST_STOPS[@]}; i++ )); do
        eval "${ITEST_STOPS[i]}"
    done
    for (( i = ${#ITEST_PF_CONFS[@]} - 1; i >= 0; i-- )); do
        _pf_stop_conf "${ITEST_PF_CONFS[i]}"
    done
    [ -n "$SINK_PID" ] && _itest_kill_pid "$SINK_PID"
    for (( i = ${#ITEST_PIDS[@]} - 1; i >= 0; i-- )); do
        _itest_kill_pid "${ITEST_PIDS[i]}"
    done
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
        printf '==== %s failed (exit %s); diagnostics follow; work dir %s ====\n' \
            "${ITEST_NAME:-itest}" "$rc" "${ITEST_DIR:-?}" >&2
        for conf in "${ITEST_PF_CONFS[@]}"; do
            _itest_dump "${conf%/etc}/log/maillog" 60
        done
        if [ -n "$SINK_DIR" ]; then
            printf -- '---- sink %s ----\n' "$SINK_DIR" >&2
            ls -l -- "$SINK_DIR" >&2 2>&1
            _itest_dump "$ITEST_DIR/sink.log" 20
        fi
        for log in "${ITEST_LOGS[@]}"; do
            _itest_dump "$log" 40
        done
        [ -n "$SWAKS_LOG" ] && _itest_dump "$SWAKS_LOG" 40
    fi
    for (( i = 0; i < ${#ITEST_CLEANUP[@]}; i++ )); do
        eval "${ITEST_CLEANUP[i]}"
    done
    exit "$rc"
}

# ---------------------------------------------------------------------------
# Ports
# ---------------------------------------------------------------------------

# free_port: print a TCP port on 127.0.0.1 that nothing uses.  Picks from
# 20000-32767 (below the kernel's ephemeral range, so outgoing connections
# do not grab it between the probe and the bind) and never hands out the
# same port twice in one test (remembered in $ITEST_DIR/ports).  At most
# 200 candidates are probed.
free_port() {
    local used="${ITEST_DIR:-/tmp}/ports" port="" cand i
    touch "$used" 2>/dev/null
    for (( i = 0; i < 200; i++ )); do
        cand=$(( 20000 + (RANDOM * 32768 + RANDOM) % 12768 ))
        grep -qx "$cand" "$used" 2>/dev/null && continue
        if _itest_port_free "$cand"; then
            port=$cand
            break
        fi
    done
    [ -n "$port" ] || { echo "free_port: no free port found" >&2; return 1; }
    echo "$port" >>"$used"
    echo "$port"
}

# _itest_port_free PORT: no TCP socket (any state, any address) uses PORT.
_itest_port_free() {
    if command -v ss >/dev/null 2>&1; then
        [ -z "$(ss -Htan "( sport = :$1 )" 2>/dev/null)" ]
    else
        # Without ss: a port that refuses connections is free enough.
        ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
    fi
}

# _itest_listening PORT [ADDR]: true when something listens on ADDR:PORT (127.0.0.1).
_itest_listening() {
    local addr=${2:-127.0.0.1}
    if command -v ss >/dev/null 2>&1; then
        ss -Hltn "sport = :$1" 2>/dev/null | grep -qF "$addr:$1 "
    else
        (exec 3<>"/dev/tcp/$addr/$1") 2>/dev/null
    fi
}

# ---------------------------------------------------------------------------
# smtp-sink
# ---------------------------------------------------------------------------

# sink_start: run smtp-sink on 127.0.0.1:$SINK_PORT.  Every mail transaction
# becomes one file $SINK_DIR/msg.<time>.<random> (headers + body, preceded
# by smtp-sink's X-Client-Addr/X-Mail-Args/X-Rcpt-Args/Received lines).
sink_start() {
    itest_require smtp-sink
    [ -n "$ITEST_DIR" ] || itest_fail "sink_start: call itest_init first"
    [ -z "$SINK_PID" ] || itest_fail "sink_start: sink already running (pid $SINK_PID)"
    SINK_DIR=$ITEST_DIR/sink
    SINK_PORT=$(free_port) || itest_fail "sink_start: no free port"
    mkdir -p -- "$SINK_DIR"
    chown "$ITEST_SINK_USER" "$SINK_DIR" || itest_fail "sink_start: cannot chown $SINK_DIR to $ITEST_SINK_USER"
    # -R chroots into the dump dir (as root, so the path to it need not be
    # searchable by the unprivileged user); the template is then "/msg.".
    smtp-sink -4 -R "$SINK_DIR" -u "$ITEST_SINK_USER" -h itest-sink -t 60 -m 64 \
        -d "/msg.%Y%m%d%H%M%S." "127.0.0.1:$SINK_PORT" 64 \
        >"$ITEST_DIR/sink.log" 2>&1 </dev/null &
    SINK_PID=$!
    printf '%s %s\n' "$SINK_PID" "$(_itest_starttime "$SINK_PID")" >>"$ITEST_DIR/tracked.pids"
    export SINK_PORT SINK_DIR SINK_PID
    _itest_poll "$ITEST_START_TIMEOUT" _sink_up \
        || itest_fail "smtp-sink did not listen on 127.0.0.1:$SINK_PORT" "$ITEST_DIR/sink.log"
    itest_log "smtp-sink pid $SINK_PID on 127.0.0.1:$SINK_PORT, dumping to $SINK_DIR"
}

_sink_up() {
    kill -0 "$SINK_PID" 2>/dev/null \
        || itest_fail "smtp-sink exited during startup" "$ITEST_DIR/sink.log"
    _itest_listening "$SINK_PORT"
}

# sink_file_from SENDER: the sink messages whose envelope sender is SENDER
sink_file_from() {
    local f
    for f in $(sink_files); do
        if grep -qxF "X-Mail-Args: <$1>" "$f"; then
            echo "$f"
        fi
    done
}

# shellcheck disable=SC2317 # called through _itest_poll
_sink_has_from() {
    [ -n "$(sink_file_from "$1")" ]
}

# sink_wait_from SENDER [TIMEOUT]: wait (bounded, 30 s by default) for the
# one sink message from SENDER; its file is then in SINK_FILE.  Fails on
# none, and on more than one.
sink_wait_from() {
    _itest_poll "${2:-30}" _sink_has_from "$1" \
        || itest_fail "no sink message from <$1> within ${2:-30}s" "${PF_LOG:-}"
    SINK_FILE=$(sink_file_from "$1")
    [ "$(printf '%s\n' "$SINK_FILE" | grep -c .)" -eq 1 ] \
        || itest_fail "more than one sink message from <$1>: $SINK_FILE"
}

# sink_assert_none_from SENDER: nothing from SENDER reached the sink.
sink_assert_none_from() {
    local f
    f=$(sink_file_from "$1")
    [ -z "$f" ] || itest_fail "a message from <$1> reached the sink: $f" "$f" 40
}

# sink_files: list the complete (closed) message files, in name order
# (= arrival order at one-second resolution).
sink_files() {
    [ -n "$SINK_DIR" ] || return 0
    local f open=()
    local fd target
    for fd in /proc/"$SINK_PID"/fd/*; do
        target=$(readlink "$fd" 2>/dev/null) || continue
        case $target in
            "$SINK_DIR"/*) open+=("$target") ;;
            /msg.*) open+=("$SINK_DIR$target") ;;
        esac
    done
    for f in "$SINK_DIR"/msg.*; do
        [ -f "$f" ] || continue
        case " ${open[*]} " in
            *" $f "*) continue ;;
        esac
        echo "$f"
    done
}

# sink_count: print the number of complete messages in the sink.
sink_count() {
    sink_files | wc -l
}

_sink_has() {
    [ "$(sink_count)" -ge "$1" ]
}

# sink_wait_count N TIMEOUT: wait until the sink holds N complete messages;
# fail if it does not within TIMEOUT seconds or if it holds more than N.
sink_wait_count() {
    local want=$1 timeout=${2:-30} have
    [ -n "$SINK_PID" ] || itest_fail "sink_wait_count: sink not started"
    _itest_poll "$timeout" _sink_has "$want"
    have=$(sink_count)
    if [ "$have" -ne "$want" ]; then
        itest_fail "sink holds $have message(s), expected $want (waited ${timeout}s)" \
            "${PF_LOG:-$ITEST_DIR/sink.log}"
    fi
}

# sink_grep PATTERN: assert that some complete sink message matches the
# extended regexp PATTERN; prints the matching lines (file:line).
sink_grep() {
    local files
    mapfile -t files < <(sink_files)
    [ ${#files[@]} -gt 0 ] || itest_fail "sink_grep '$1': the sink holds no messages" "${PF_LOG:-}"
    if ! grep -E -H -- "$1" "${files[@]}"; then
        printf -- '---- sink messages (%s) ----\n' "${#files[@]}" >&2
        head -n 60 -- "${files[@]}" >&2
        itest_fail "no sink message matches /$1/"
    fi
}

# sink_no_grep PATTERN: assert that no sink message matches PATTERN.
sink_no_grep() {
    local files
    mapfile -t files < <(sink_files)
    [ ${#files[@]} -gt 0 ] || return 0
    if grep -E -H -- "$1" "${files[@]}" >&2; then
        itest_fail "sink message(s) match /$1/ (lines above)"
    fi
}

# ---------------------------------------------------------------------------
# Postfix
# ---------------------------------------------------------------------------

# pf_start MILTER_SPEC [key=value...]: start a private Postfix instance.
# The first instance of a test lives in $ITEST_DIR/postfix, later ones in
# $ITEST_DIR/postfix.2, .3, ...  smtpd listens on 127.0.0.1 and a free
# port, or on $PF_LISTEN_ADDR and $PF_LISTEN_PORT when set (several MXs on
# one port, as mxparity audit probes them).  Sets/exports for the newest
# instance:
#   PF_DIR PF_CONF PF_QUEUE PF_LOG PF_PORT PF_HOSTNAME
pf_start() {
    [ $# -ge 1 ] || itest_fail "usage: pf_start MILTER_SPEC [key=value...]"
    itest_require postfix postconf postqueue
    [ -n "$ITEST_DIR" ] || itest_fail "pf_start: call itest_init first"
    [ -n "$SINK_PORT" ] || itest_fail "pf_start: call sink_start first (mail is relayed to it)"
    local milter=$1 n dir conf port kv key want got addr=${PF_LISTEN_ADDR:-127.0.0.1} ifaces=127.0.0.1
    shift
    # Postfix takes only an interface's own address in inet_interfaces; another
    # loopback address is bound through master.cf alone.
    [ "$addr" = 127.0.0.1 ] || ifaces=all
    for kv in "$@"; do
        case $kv in
            *=*) ;;
            *) itest_fail "pf_start: extra setting '$kv' is not key=value" ;;
        esac
    done
    n=$(( ${#ITEST_PF_CONFS[@]} + 1 ))
    if [ "$n" -eq 1 ]; then dir=$ITEST_DIR/postfix; else dir=$ITEST_DIR/postfix.$n; fi
    conf=$dir/etc
    port=${PF_LISTEN_PORT:-}
    [ -n "$port" ] || port=$(free_port) || itest_fail "pf_start: no free port"
    rm -rf -- "$dir"
    # "postfix start" chdirs to the queue directory first, so it must exist
    # (root-owned, 755); its subdirectories and the data directory are made
    # by "postfix start" itself (post-install create-missing) with the right
    # owners and modes.
    mkdir -p -- "$conf" "$dir/log" "$dir/queue"
    # The daemons use the data directory as user postfix, so every parent
    # of the work dir must be searchable by that user (not so under /root).
    if command -v runuser >/dev/null 2>&1 \
            && ! runuser -u postfix -- test -x "$dir" 2>/dev/null; then
        itest_fail "pf_start: user postfix cannot reach $dir; use an ITEST_ROOT whose parents are o+x (e.g. under /tmp)"
    fi

    # master.cf goes first: postconf warns about a missing one and stalls
    # ~2 s trying to log that warning.  No chroot anywhere; only the
    # services a relay-only instance needs (postlog is required because
    # maillog_file is set).
    {
        echo "# Generated by tests/integration/lib.sh for $ITEST_NAME"
        echo "$addr:$port inet n - n - - smtpd"
        echo "pickup     unix  n - n 60  1 pickup"
        echo "cleanup    unix  n - n -   0 cleanup"
        echo "qmgr       unix  n - n 300 1 qmgr"
        echo "rewrite    unix  - - n -   - trivial-rewrite"
        echo "bounce     unix  - - n -   0 bounce"
        echo "defer      unix  - - n -   0 bounce"
        echo "trace      unix  - - n -   0 bounce"
        echo "verify     unix  - - n -   1 verify"
        echo "flush      unix  n - n 1000? 0 flush"
        echo "proxymap   unix  - - n -   - proxymap"
        echo "proxywrite unix  - - n -   1 proxymap"
        echo "smtp       unix  - - n -   - smtp"
        echo "relay      unix  - - n -   - smtp"
        echo "showq      unix  n - n -   - showq"
        echo "error      unix  - - n -   - error"
        echo "retry      unix  - - n -   - error"
        echo "discard    unix  - - n -   - discard"
        echo "anvil      unix  - - n -   1 anvil"
        echo "scache     unix  - - n -   1 scache"
        echo "tlsmgr     unix  - - n 1000? 1 tlsmgr"
        echo "postlog    unix-dgram n - n - 1 postlogd"
    } >"$conf/master.cf"
    : >"$conf/main.cf"
    postconf -c "$conf" -e \
        "compatibility_level = 3.6" \
        "queue_directory = $dir/queue" \
        "data_directory = $dir/data" \
        "maillog_file = $dir/log/maillog" \
        "maillog_file_prefixes = $dir/log" \
        "syslog_name = itest-$ITEST_NAME-pf$n" \
        "myhostname = pf$n.itest.example" \
        "inet_interfaces = $ifaces" \
        "inet_protocols = ipv4" \
        "mydestination =" \
        "local_recipient_maps =" \
        "relay_domains =" \
        "alias_maps =" \
        "alias_database =" \
        "mynetworks = 127.0.0.0/8" \
        "smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination" \
        "relayhost = [127.0.0.1]:$SINK_PORT" \
        "smtp_bind_address = 127.0.0.1" \
        "smtp_dns_support_level = disabled" \
        "smtp_host_lookup = native" \
        "lmtp_host_lookup = native" \
        "smtpd_peername_lookup = no" \
        "smtp_connect_timeout = 10s" \
        "smtpd_milters = $milter" \
        "non_smtpd_milters =" \
        "milter_default_action = tempfail" \
        "milter_protocol = 6" \
        "smtpd_error_sleep_time = 0s" \
        "in_flow_delay = 0s" \
        "queue_run_delay = 1s" \
        "minimal_backoff_time = 1s" \
        "maximal_backoff_time = 2s" \
        "biff = no" \
        "append_dot_mydomain = no" \
        || itest_fail "pf_start: postconf failed"
    if [ $# -gt 0 ]; then
        postconf -c "$conf" -e "$@" || itest_fail "pf_start: postconf -e $* failed"
    fi
    _pf_backdate "$conf"

    # Safety net: never start an instance that would use the system
    # Postfix's queue, data directory or log.
    for key in queue_directory data_directory maillog_file; do
        got=$(postconf -c "$conf" -h "$key" 2>/dev/null)
        case $key in
            queue_directory) want=$dir/queue ;;
            data_directory) want=$dir/data ;;
            maillog_file) want=$dir/log/maillog ;;
        esac
        [ "$got" = "$want" ] \
            || itest_fail "pf_start: $key is '$got', expected '$want'; refusing to start" "$conf/main.cf"
    done

    ITEST_PF_CONFS+=("$conf")
    PF_DIR=$dir
    PF_CONF=$conf
    PF_QUEUE=$dir/queue
    PF_LOG=$dir/log/maillog
    PF_PORT=$port
    SMTP_PORT=$port
    PF_HOSTNAME=$(postconf -c "$conf" -h myhostname)
    export PF_DIR PF_CONF PF_QUEUE PF_LOG PF_PORT PF_HOSTNAME SMTP_PORT

    if ! timeout 120 postfix -c "$conf" start >"$dir/start.log" 2>&1; then
        _itest_tail "$dir/start.log"
        itest_fail "postfix -c $conf start failed" "$PF_LOG"
    fi
    _itest_poll "$ITEST_START_TIMEOUT" _itest_listening "$port" "$addr" \
        || itest_fail "Postfix smtpd did not listen on $addr:$port" "$PF_LOG"
    itest_log "Postfix $conf (master pid $(_pf_master_pid "$conf")) smtpd on $addr:$port, milters='$milter'"
}

# _pf_backdate CONF: set main.cf's mtime 10 s into the past.  Postfix
# programs pause (0.3 s at a time, up to ~2 s) until a just-written main.cf
# is more than a second old ("let the file settle"); this skips that wait.
_pf_backdate() {
    touch -d "@$(( $(date +%s) - 10 ))" "$1/main.cf"
}

# pf_reconfig key=value...: change main.cf settings of the newest instance
# and "postfix reload" it (new smtpd processes pick the change up).
pf_reconfig() {
    [ -n "${PF_CONF:-}" ] || itest_fail "pf_reconfig: no Postfix instance started"
    postconf -c "$PF_CONF" -e "$@" || itest_fail "pf_reconfig: postconf -e $* failed"
    _pf_backdate "$PF_CONF"
    timeout 60 postfix -c "$PF_CONF" reload >>"$PF_DIR/start.log" 2>&1 \
        || itest_fail "pf_reconfig: postfix reload failed" "$PF_DIR/start.log"
}

# _pf_running PID: PID is a live Postfix master process.
_pf_running() {
    ! _itest_pid_gone "$1" && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = master ]
}

# _pf_master_pid CONF: pid from the instance's own pid file (the queue
# directory is always CONF/../queue; main.cf is not trusted for this).
_pf_master_pid() {
    local f=${1%/etc}/queue/pid/master.pid
    [ -s "$f" ] || return 1
    awk 'NR == 1 { print $1 }' "$f"
}

# _pf_stop_conf CONF: stop the instance and wait (bounded) until its master
# and all its children (same process group) are gone.
_pf_stop_conf() {
    local conf=$1 pid i
    pid=$(_pf_master_pid "$conf")
    if [ -z "$pid" ] || ! _pf_running "$pid"; then
        return 0
    fi
    if [ "$(postconf -c "$conf" -h queue_directory 2>/dev/null)" = "${conf%/etc}/queue" ]; then
        timeout 60 postfix -c "$conf" stop >/dev/null 2>&1
    else
        # Broken main.cf: "postfix stop" could hit another instance.
        itest_log "$conf/main.cf does not name its own queue; sending SIGTERM to master $pid"
        kill -TERM "$pid" 2>/dev/null
    fi
    for (( i = 0; i < 100; i++ )); do
        _pf_stopped "$pid" && break
        sleep 0.2
    done
    if ! _pf_stopped "$pid"; then
        itest_log "Postfix $conf did not stop cleanly; killing process group $pid"
        kill -KILL -- "-$pid" 2>/dev/null
        _itest_poll 5 _pf_stopped "$pid"
    fi
    # The master is not our child: once it exited, init reaps it.  Give
    # that a moment (bounded) so no "[master] <defunct>" lingers.
    _itest_poll 5 _itest_pid_absent "$pid"
    return 0
}

# True when the master PID and every live member of its process group are
# gone (a zombie master not yet reaped by init counts as gone).
_pf_stopped() {
    _itest_pid_gone "$1" && [ -z "$(_pf_live_group "$1")" ]
}

_pf_live_group() {
    local p
    for p in $(pgrep -g "$1" 2>/dev/null); do
        _itest_pid_gone "$p" || echo "$p"
    done
}

# pf_stop [CONF]: stop the newest (or the given) Postfix instance.
pf_stop() {
    _pf_stop_conf "${1:-$PF_CONF}"
}

# pf_flush [CONF]: attempt delivery of all queued mail now.
pf_flush() {
    postqueue -c "${1:-$PF_CONF}" -f
}

# pf_queue_count [CONF]: print the number of messages in the queue.
pf_queue_count() {
    postqueue -c "${1:-$PF_CONF}" -j 2>/dev/null | grep -c '"queue_id"'
}

# pf_queue_empty [CONFDIR]: whether that Postfix's queue is empty.  Poll it
# (_itest_poll) after a delivery: Postfix removes the queue file only after
# the sink's 250, so a full sink can still come with one queued message.
pf_queue_empty() {
    [ "$(pf_queue_count "${1:-$PF_CONF}")" -eq 0 ]
}

# ---------------------------------------------------------------------------
# swaks
# ---------------------------------------------------------------------------

# swaks_send [SWAKS ARGS...]: send one message to the newest MTA (Postfix
# or sendmail.sh's sendmail: the one that set SMTP_PORT last).  Later
# arguments override the defaults (swaks: last option wins).  The transcript
# goes to $ITEST_DIR/swaks.N.log, whose path is left in $SWAKS_LOG; the exit
# code is returned (and kept in $SWAKS_RC) without failing the test.
swaks_send() {
    itest_require swaks
    local n=1 rc=0
    while [ -e "$ITEST_DIR/swaks.$n.log" ] && [ "$n" -lt 10000 ]; do
        n=$(( n + 1 ))
    done
    SWAKS_LOG=$ITEST_DIR/swaks.$n.log
    export SWAKS_LOG
    # No SMTP_PORT (no MTA yet): the caller must give --server/--port.
    local target=(--server 127.0.0.1)
    if [ -n "${SMTP_PORT:-${PF_PORT:-}}" ]; then target+=(--port "${SMTP_PORT:-$PF_PORT}"); fi
    # "--config" without argument: ignore any ~/.swaksrc.
    timeout 120 swaks --config "${target[@]}" \
        --helo client.itest.example \
        --from sender@example.com --to recipient@example.net \
        --timeout 30 \
        "$@" >"$SWAKS_LOG" 2>&1 </dev/null || rc=$?
    SWAKS_RC=$rc
    export SWAKS_RC
    printf 'swaks: exit %s, transcript %s\n' "$rc" "$SWAKS_LOG" >&2
    return "$rc"
}

# swaks_reply [LOG]: print the last server reply (code and text) that was
# not the answer to QUIT, e.g. "550 5.1.1 <x@y>: Recipient address rejected".
swaks_reply() {
    awk '
        /^ *(->|~>) / { quit = ($2 == "QUIT"); next }
        /^<(-|\*\*|~|~\*\*) +[0-9][0-9][0-9]( |$)/ {
            if (!quit) { sub(/^<[-~*]* +/, ""); last = $0 }
        }
        END { if (last != "") print last }
    ' "${1:-$SWAKS_LOG}"
}

# assert_swaks_reply CODE [LOG]: the last reply (see swaks_reply) starts
# with CODE, e.g. "250", "4", "550 5.1.1".
assert_swaks_reply() {
    local want=$1 log=${2:-$SWAKS_LOG} got
    [ -f "$log" ] || itest_fail "assert_swaks_reply: no swaks transcript '$log'"
    got=$(swaks_reply "$log")
    case $got in
        "$want"*) itest_log "ok: reply '$got'" ;;
        *) itest_fail "expected reply '$want...', got '${got:-<none>}'" "$log" 40 ;;
    esac
}

# ---------------------------------------------------------------------------
# Generic assertions (PATTERN is an extended regexp, grep -E)
# ---------------------------------------------------------------------------

assert_grep() {
    [ -f "$2" ] || itest_fail "assert_grep: no file $2"
    grep -E -q -- "$1" "$2" || itest_fail "/$1/ not found in $2" "$2"
}

assert_no_grep() {
    [ -f "$2" ] || return 0
    if grep -E -n -- "$1" "$2" >&2; then
        itest_fail "/$1/ unexpectedly found in $2 (lines above)" "$2"
    fi
}

# The lines a sanitizer (ASan, LSan, TSan, UBSan) writes, in one place for
# every test (milter/modules/spf/tests/suite/run-suite.py reads it too).
ITEST_SANITIZER_ERE=$(cat "$ITEST_LIBDIR/sanitizer.ere")

# assert_no_sanitizer FILE: FILE holds no sanitizer report
assert_no_sanitizer() {
    assert_no_grep "$ITEST_SANITIZER_ERE" "$1"
}

_itest_file_grep() {
    [ -f "$2" ] && grep -E -q -- "$1" "$2"
}

# wait_for_grep PATTERN FILE TIMEOUT: poll until FILE matches PATTERN.
wait_for_grep() {
    local pat=$1 file=$2 timeout=${3:-30}
    _itest_poll "$timeout" _itest_file_grep "$pat" "$file" \
        || itest_fail "/$pat/ did not appear in $file within ${timeout}s" "$file"
}

# itest_mark FILE: print FILE's current line count (0 if missing), for
# wait_for_grep_from: only lines written after the mark count.
itest_mark() {
    if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi
}

_itest_file_grep_from() {
    [ -f "$3" ] && tail -n +"$(( $1 + 1 ))" -- "$3" | grep -E -q -- "$2"
}

# wait_for_grep_from MARK PATTERN FILE TIMEOUT: like wait_for_grep, but only
# lines after line MARK (from itest_mark) are searched.
wait_for_grep_from() {
    local mark=$1 pat=$2 file=$3 timeout=${4:-30}
    _itest_poll "$timeout" _itest_file_grep_from "$mark" "$pat" "$file" \
        || itest_fail "/$pat/ did not appear in $file after line $mark within ${timeout}s" "$file"
}
