#!/bin/bash
# t-sm-eicar.sh - EICAR behind a real sendmail: 554 5.7.1 with the
# signature's name at the end of DATA, the same summary line as behind
# Postfix (av=infected:NAME action=reject), nothing delivered, nothing
# left in sendmail's queue.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=mxp.sh
. "$(dirname "$0")/mxp.sh"
# shellcheck source-path=SCRIPTDIR source=tier.sh
. "$(dirname "$0")/tier.sh"
# shellcheck source-path=SCRIPTDIR source=sendmail.sh
. "$(dirname "$0")/sendmail.sh"

sm_scenario sm-eicar
sm_send --from v1@pass.example.org --header "Subject: eicar behind sendmail" \
    --body "$(printf 'Hello,\n%s\nbye\n' "$(mxp_eicar)")"
assert_swaks_reply "554 5.7.1 Virus found: $TIER_EICAR_NAME"
assert_grep '<- *354 ' "$SWAKS_LOG"
mxp_assert_summary "$MX1_MLOG" v1@pass.example.org \
    '^mxparityd: [0-9A-Za-z]{14}: client=unknown\[127\.0\.0\.10\] hop=edge ' \
    " spf=pass av=infected:$TIER_EICAR_NAME action=reject "
wait_for_grep "Milter: data, reject=554 5\\.7\\.1 Virus found: $TIER_EICAR_NAME" "$SM_LOG" 10
sleep 1
[ "$(sink_count)" -eq 0 ] || itest_fail "an infected message reached the sink"
[ "$(sm_queue_count)" -eq 0 ] || itest_fail "sendmail queued the infected message"
mxp_assert_healthy MX1
itest_pass
