#!/bin/bash
# t-fault-sighup.sh - a SIGHUP every 0.2 s under load: each one loads the
# policy again (and asks the av module for a background reload of the
# signatures), while sessions run.  A reload must not drop a connection
# or a message: no tempfail at all, every message delivered exactly
# once, and the daemon logged a "policy loaded:" line for most signals.
# Figures: signals, reloads, sent, delivered, tempfailed, lost, duplicates.
set -u
# shellcheck source=tests/integration/lib.sh
. "${top_srcdir:?}/tests/integration/lib.sh"
# shellcheck source=tests/integration/mxp.sh
. "${top_srcdir:?}/tests/integration/mxp.sh"
# shellcheck source=tests/soak/soak.sh
. "${top_srcdir:?}/tests/soak/soak.sh"

soak_init fault-sighup
soak_tier
mark=$(itest_mark "$MXP_LOG")
soak_load_start sighup
signals=0
for (( i = 0; i < SOAK_SECONDS * 5 && i < 3000; i++ )); do
    kill -0 "$SOAK_LOAD_PID" 2>/dev/null || break
    kill -HUP "$MXP_PID"
    signals=$((signals + 1))
    sleep 0.2
done
soak_load_wait
soak_settle
soak_account
reloads=$(tail -n +"$((mark + 1))" "$MXP_LOG" | grep -c 'policy loaded: version=soak\.1 ')
# Signals that arrive while a reload runs are merged into one: at least a
# third of them must have become reloads.
[ "$reloads" -ge $((signals / 3)) ] || itest_fail "only $reloads reloads for $signals SIGHUPs" "$MXP_LOG"
soak_spool_empty
soak_eicar_refused
mxp_assert_healthy
echo "t-fault-sighup: $signals SIGHUPs, $reloads policy reloads; $SOAK_FIGURES"
itest_pass
