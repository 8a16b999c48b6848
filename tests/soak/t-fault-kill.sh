#!/bin/bash
# t-fault-kill.sh - kill -9 of mxparityd under load, while transactions are
# in DATA, then a restart on the same socket.  Postfix
# (milter_default_action = tempfail) answers 4xx for what the daemon had
# not judged; the client sends those again.  Every message accepted is
# delivered exactly once, none is lost, none is delivered that was not
# accepted, and nothing stays in spool_dir.  Figures: sent, delivered,
# tempfailed, lost, duplicates.
set -u
# shellcheck source=tests/integration/lib.sh
. "${top_srcdir:?}/tests/integration/lib.sh"
# shellcheck source=tests/integration/mxp.sh
. "${top_srcdir:?}/tests/integration/mxp.sh"
# shellcheck source=tests/soak/soak.sh
. "${top_srcdir:?}/tests/soak/soak.sh"

soak_init fault-kill
soak_tier
soak_load_start kill
# Kill while messages are being scanned: wait until some have been judged,
# then twice more, each time after a restart.
kills=0
for round in 1 2 3; do
    sleep "$(awk -v s="$SOAK_SECONDS" 'BEGIN { print s / 4 }')"
    kill -0 "$SOAK_LOAD_PID" 2>/dev/null || break
    kill -KILL "$MXP_PID"
    kills=$((kills + 1))
    itest_log "round $round: mxparityd $MXP_PID killed"
    sleep 0.5
    soak_restart
done
soak_load_wait
soak_settle
soak_account --allow-tempfail
[ "$kills" -ge 1 ] || itest_fail "the load ended before the daemon could be killed"
[ "$(soak_tempfailed)" -ge 1 ] || itest_fail "no message was tempfailed: the kills hit nothing"
# A kill -9 leaves the per-scan directories of the scans it interrupted
# (libclamav's *-scantemp.*, which only the killed process could remove);
# each restart removes them before it serves, so nothing is left at all.
left=$(find "$ITEST_DIR/spool" -mindepth 1 -maxdepth 1 | head -n 5)
[ -z "$left" ] || itest_fail "left in spool_dir: $left"
removed=$(sed -n 's/.*av: removed \([0-9]*\) scan leftovers.*/\1/p' "$MXP_LOG" | awk '{ n += $1 } END { print n + 0 }')
echo "t-fault-kill: the restarts removed $removed scan leftovers of the killed processes"
soak_eicar_refused
mxp_assert_healthy
echo "t-fault-kill: $kills kills; $SOAK_FIGURES"
itest_pass
