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

# mxp_start [extra mxparityd args]: start the daemon on a free loopback port
# as host mx1.example.com, wait until it serves.  Sets MXP_PORT MXP_PID MXP_LOG.
# shellcheck disable=SC2120 # the arguments are optional
mxp_start() {
    [ -n "${MXP_MODDIR:-}" ] || mxp_modules
    : "${MXP_PORT:=$(free_port)}"
    MXP_LOG=$ITEST_DIR/mxparityd.log
    local mark
    mark=$(wc -l <"$MXP_LOG" 2>/dev/null || echo 0)
    "$MXPARITYD" -f -c "$MXP_POLICY" -p "inet:$MXP_PORT@127.0.0.1" -M "$MXP_MODDIR" \
        -n mx1.example.com -t 5 "$@" >>"$MXP_LOG" 2>&1 </dev/null &
    MXP_PID=$!
    export MXP_PORT MXP_PID MXP_LOG
    itest_track_pid "$MXP_PID"
    itest_track_log "$MXP_LOG"
    _itest_poll 20 _mxp_serving "$mark" || itest_fail "mxparityd did not start" "$MXP_LOG"
}

_mxp_serving() {
    tail -n +"$(( $1 + 1 ))" "$MXP_LOG" | grep -q 'serving on' && _itest_listening "$MXP_PORT"
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
