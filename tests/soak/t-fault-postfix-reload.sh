#!/bin/bash
# t-fault-postfix-reload.sh - "postfix reload" several times under load:
# Postfix's smtpd processes finish the session they are in and new ones
# connect to the milter again, mid-way through the client's sessions.  No
# message may be lost or duplicated, and none tempfailed: the daemon sees
# milter connections closed and opened at any stage.  Figures: reloads,
# sent, delivered, tempfailed, lost, duplicates.
set -u
# shellcheck source=tests/integration/lib.sh
. "${top_srcdir:?}/tests/integration/lib.sh"
# shellcheck source=tests/integration/mxp.sh
. "${top_srcdir:?}/tests/integration/mxp.sh"
# shellcheck source=tests/soak/soak.sh
. "${top_srcdir:?}/tests/soak/soak.sh"

soak_init fault-postfix-reload
soak_tier
soak_load_start pfreload
reloads=0
step=$(awk -v s="$SOAK_SECONDS" 'BEGIN { print s / 6 }')
for _ in 1 2 3 4 5; do
    sleep "$step"
    kill -0 "$SOAK_LOAD_PID" 2>/dev/null || break
    postfix -c "$PF_CONF" reload >>"$ITEST_DIR/reload.log" 2>&1 \
        || itest_fail "postfix reload failed" "$ITEST_DIR/reload.log"
    reloads=$((reloads + 1))
done
soak_load_wait
soak_settle
soak_account
[ "$reloads" -ge 3 ] || itest_fail "only $reloads Postfix reloads happened during the load"
grep -q 'reload -- version' "$PF_LOG" || itest_fail "Postfix logged no reload" "$PF_LOG"
soak_spool_empty
mxp_assert_healthy
echo "t-fault-postfix-reload: $reloads Postfix reloads; $SOAK_FIGURES"
itest_pass
