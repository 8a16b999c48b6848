#!/bin/bash
# t-milter-kill.sh - kill -9 of mxparityd in the middle of a transaction:
# Postfix (milter_default_action=tempfail) answers 4xx, nothing is
# delivered; after a restart the same message is accepted and delivered
# exactly once.  Nothing is lost.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=mxp.sh
. "$(dirname "$0")/mxp.sh"

itest_init milter-kill
itest_require python3
printf 'alice@example.com\n' >"$ITEST_DIR/recipients"
mxp_policy "$(cat "$top_srcdir/tests/integration/policy.common")"
mxp_start
sink_start
pf_start "$(mxp_milter)"

# One SMTP session: the daemon is killed between RCPT and DATA.
smtp_interrupt SIGKILL 4 "survives a crash" >"$ITEST_DIR/kill.log" 2>&1 \
    || itest_fail "mid-transaction kill" "$ITEST_DIR/kill.log"
cat "$ITEST_DIR/kill.log"
wait "$MXP_PID" 2>/dev/null
[ "$(sink_count)" -eq 0 ] || itest_fail "a message was delivered while the filter was dead"

# The sender retries after a restart: accepted once.
mxp_start
swaks_send --to alice@example.com --header "Subject: survives a crash" --body "body"
assert_swaks_reply 250
sink_wait_count 1 30
sleep 1
[ "$(sink_count)" -eq 1 ] || itest_fail "want exactly one delivered copy, got $(sink_count)"
sink_grep '^Subject: survives a crash'
itest_pass
