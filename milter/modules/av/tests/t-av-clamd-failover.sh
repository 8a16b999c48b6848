#!/bin/bash
# t-av-clamd-failover.sh - the clamd backend when its servers fail under
# load (tests/soak: smtp_load.py sends, retries what is tempfailed, and
# soak_account.py compares every message with the sink), behind a real
# Postfix, on two private clamd servers (server_revive = 2 s):
#  1. 500 messages in 20 sessions, at most 40 new ones a second (so that
#     the steps below fall under load on a fast machine too: a CI machine
#     once delivered 137 between two polls); after 100 are delivered clamd a is
#     stopped (SIGTERM), after 200 it is started again (not waited for), after
#     350 clamd b is killed (SIGKILL) under load (mid-stream when a scan is
#     under way at that instant; the test says which) and started again once
#     the load ends.
#     Every message is delivered exactly once or tempfailed and retried,
#     none is lost, and no message is accepted unscanned (every accept is
#     av=clean);
#  2. both servers killed: 20 messages are all tempfailed with
#     av=error:clamd, nothing is delivered; once both are back, every one
#     is delivered exactly once.
set -u
# shellcheck source=tests/integration/lib.sh
. "${top_srcdir:?}/tests/integration/lib.sh"
# shellcheck source=tests/integration/mxp.sh
. "${top_srcdir:?}/tests/integration/mxp.sh"
# shellcheck source=tests/soak/soak.sh
. "${top_srcdir:?}/tests/soak/soak.sh"

soak_init av-clamd-failover
[ -x /usr/sbin/clamd ] || itest_skip "clamd (package clamav-daemon) is not installed"
soak_testdb "$ITEST_DIR/db"
mxp_clamd_start a "$ITEST_DIR/db"
mxp_clamd_start b "$ITEST_DIR/db"
soak_tier "backend = clamd servers = {\"unix:$CLAMD_A_SOCK\", \"unix:$CLAMD_B_SOCK\"}
  server_timeout = 10000 server_revive = 2"

# restart_clamd NAME [nowait]: the same clamd again, on the same socket
restart_clamd() {
    local pid_var
    pid_var=CLAMD_$(printf '%s' "$1" | tr '[:lower:]' '[:upper:]')_PID
    wait "${!pid_var}" 2>/dev/null
    if [ "${2:-}" = nowait ]; then
        MXP_CLAMD_NOWAIT=1 mxp_clamd_start "$1" "$ITEST_DIR/db"
    else
        mxp_clamd_start "$1" "$ITEST_DIR/db"
    fi
}
# shellcheck disable=SC2317 # called through _itest_poll
_delivered() {
    [ "$(sink_count)" -ge "$1" ] || ! kill -0 "$SOAK_LOAD_PID" 2>/dev/null
}

# 1. one server stopped, then the other killed, under load
soak_load_start failover --seconds 300 --max-messages 500 --rate 40
_itest_poll 120 _delivered 100 || itest_fail "100 messages did not arrive" "$MXP_LOG"
kill -TERM "$CLAMD_A_PID"
itest_log "clamd a stopped at $(sink_count) delivered"
_itest_poll 120 _delivered 200 || itest_fail "200 messages did not arrive with one server" "$MXP_LOG"
restart_clamd a nowait
_itest_poll 120 _delivered 350 || itest_fail "350 messages did not arrive" "$MXP_LOG"
kill -KILL "$CLAMD_B_PID"
at_kill=$(sink_count)
itest_log "clamd b killed at $at_kill delivered"
[ "$at_kill" -lt 500 ] && kill -0 "$SOAK_LOAD_PID" 2>/dev/null \
    || itest_fail "the load was over before clamd b was killed ($at_kill delivered)"
soak_load_wait
restart_clamd b
soak_settle
soak_account --allow-tempfail
[ "$(soak_sent)" -eq 500 ] || itest_fail "$(soak_sent) messages sent, want 500"
unscanned=$(grep -E ' action=accept ' "$MXP_LOG" | grep -vc ' av=clean ')
[ "$unscanned" -eq 0 ] || itest_fail "$unscanned message(s) accepted without av=clean" "$MXP_LOG"
grep -Eq "av: clamd unix:$CLAMD_A_SOCK: connect: .*; trying the next server" "$MXP_LOG" \
    || itest_fail "no scan failed over from the stopped clamd a" "$MXP_LOG"
# Whether the kill cut a scan under way depends on the instant (scans take
# milliseconds): say which it was; the account above holds either way.
if grep -Eq "av: clamd unix:$CLAMD_B_SOCK: (closed|read|sending)[^;]*; trying the next server" "$MXP_LOG"; then
    itest_log "the kill of clamd b cut scans under way"
else
    itest_log "the kill of clamd b fell between scans (only new connections failed)"
fi
first=$SOAK_FIGURES

# 2. both down, then both back
kill -KILL "$CLAMD_A_PID" "$CLAMD_B_PID"
wait "$CLAMD_A_PID" "$CLAMD_B_PID" 2>/dev/null
mark=$(itest_mark "$MXP_LOG")
before=$(sink_count)
soak_load_start down --seconds 60 --max-messages 20 --retry-seconds 120
# shellcheck disable=SC2317 # called through _itest_poll
_all_refused() {
    [ "$(tail -n +"$((mark + 1))" "$MXP_LOG" | grep -c ' av=error:clamd action=tempfail')" -ge 20 ]
}
_itest_poll 60 _all_refused || itest_fail "not every message was tempfailed with av=error:clamd" "$MXP_LOG"
[ "$(sink_count)" -eq "$before" ] || itest_fail "a message was delivered while no clamd answered"
wait_for_grep_from "$mark" 'av: no clamd server could scan the message \([0-2] of 2 tried' "$MXP_LOG" 10
restart_clamd a
restart_clamd b
soak_load_wait
soak_settle
soak_account --allow-tempfail
[ "$(soak_tempfailed)" -ge 20 ] || itest_fail "only $(soak_tempfailed) of 20 were tempfailed while both were down"
unscanned=$(grep -E ' action=accept ' "$MXP_LOG" | grep -vc ' av=clean ')
[ "$unscanned" -eq 0 ] || itest_fail "$unscanned message(s) accepted without av=clean" "$MXP_LOG"
mxp_assert_healthy
echo "t-av-clamd-failover: one server down, then the other killed: $first"
echo "t-av-clamd-failover: both down, then back: $SOAK_FIGURES"
itest_pass
