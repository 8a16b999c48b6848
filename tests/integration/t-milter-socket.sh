#!/bin/bash
# t-milter-socket.sh - the way a package runs it: a unix socket opened as
# root with the group and mode Postfix needs, privileges dropped to an
# unprivileged user, and Postfix (running as user postfix) talking to it;
# the control socket handed to the daemon's group, and mxparity status.
# Then SIGTERM in the middle of a transaction: the transaction finishes, a
# session opened meanwhile is refused with 451 4.3.2,
# then the daemon exits.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=mxp.sh
. "$(dirname "$0")/mxp.sh"

itest_init milter-socket
itest_require python3 stat ps
[ "$(id -u)" -eq 0 ] || itest_skip "needs root to drop privileges"
printf 'alice@example.com\n' >"$ITEST_DIR/recipients"
mxp_policy "$(cat "$top_srcdir/tests/integration/policy.common")
module testmod { }"
chmod 0755 "$ITEST_DIR"
sock=$ITEST_DIR/mxparityd.sock
mxp_modules
MXP_LOG=$ITEST_DIR/mxparityd.log
ctl=$ITEST_DIR/ctl
"$MXPARITYD" -f -c "$MXP_POLICY" -p "unix:$sock" -M "$MXP_MODDIR" -n mx1.example.com \
    -u nobody -g postfix -m 0660 -t 20 -S "$ctl" >>"$MXP_LOG" 2>&1 </dev/null &
MXP_PID=$!
itest_track_pid "$MXP_PID"
itest_track_log "$MXP_LOG"
wait_for_grep 'serving on unix:' "$MXP_LOG" 20

[ "$(stat -c '%a %G' "$sock")" = "660 postfix" ] || itest_fail "socket is $(stat -c '%a %U:%G' "$sock"), want 660 group postfix"
itest_log "ok: socket $(stat -c '%a %U:%G' "$sock")"
user=$(ps -o user= -p "$MXP_PID" | tr -d ' ')
[ "$user" = nobody ] || itest_fail "daemon runs as '$user', want nobody"
itest_log "ok: daemon runs as $user"
assert_grep 'serving on unix:.* as uid [1-9][0-9]*' "$MXP_LOG"
# The control socket: opened as root, handed to the group the daemon drops to.
want_group=$(id -gn nobody)
[ "$(stat -c '%a %G' "$ctl")" = "660 $want_group" ] \
    || itest_fail "control socket is $(stat -c '%a %U:%G' "$ctl"), want 660 group $want_group"
"$top_builddir/mxparity" status -S "$ctl" | grep -qx "pid=$MXP_PID" \
    || itest_fail "mxparity status does not answer after the privilege drop"
itest_log "ok: control socket $(stat -c '%a %U:%G' "$ctl"), status answers"

sink_start
pf_start "unix:$sock"
swaks_send --to alice@example.com --header "Subject: over a unix socket"
assert_swaks_reply 250
sink_wait_count 1 30
sink_grep '^X-Test-Module: host=mx1\.example\.com'

# SIGTERM while a transaction is open: it completes, then the daemon stops.
# A session that starts meanwhile is refused at MAIL (the daemon asks for no
# reply at connect, so its verdict is given there).
smtp_interrupt SIGTERM 2 "finished after SIGTERM" "451 4.3.2 Mail filter restarting" \
    >"$ITEST_DIR/term.log" 2>&1 \
    || itest_fail "the open transaction was dropped on SIGTERM" "$ITEST_DIR/term.log"
cat "$ITEST_DIR/term.log"
sink_wait_count 2 30
sink_grep '^Subject: finished after SIGTERM'
wait_for_grep 'stopped with 0 connection\(s\) still open' "$MXP_LOG" 30
itest_pass
