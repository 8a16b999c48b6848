#!/bin/bash
# t-sm-kill.sh - mxparityd killed (SIGKILL) behind a real sendmail with
# F=T (etc/mxparity.mc):
#  1. killed between RCPT and DATA of a transaction: DATA gets 4xx from
#     sendmail, nothing is delivered;
#  2. while it is dead, a sending Postfix (no milter) relays a message to
#     sendmail, which tempfails it (nothing delivered, the sender keeps it
#     and retries); once mxparityd is back on the same port, the message
#     is delivered exactly once, filtered (av=clean, one stamp).
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=mxp.sh
. "$(dirname "$0")/mxp.sh"
# shellcheck source-path=SCRIPTDIR source=tier.sh
. "$(dirname "$0")/tier.sh"
# shellcheck source-path=SCRIPTDIR source=sendmail.sh
. "$(dirname "$0")/sendmail.sh"

sm_scenario sm-kill
sm_port=$SM_PORT
python3 "$top_srcdir/tests/integration/smtp_interrupt.py" "$SM_PORT" "$MX1_MPID" SIGKILL 4 \
    "killed mid-transaction" >"$ITEST_DIR/kill.log" 2>&1 \
    || itest_fail "mid-transaction kill: DATA was not tempfailed" "$ITEST_DIR/kill.log"
cat "$ITEST_DIR/kill.log"
wait "$MX1_MPID" 2>/dev/null
pf_start "" "relayhost = [127.0.0.1]:$sm_port" "smtp_bind_address = $TIER_CLIENT_IP" \
    "smtp_helo_name = $TIER_HELO"
swaks_send --from k1@pass.example.org --to alice@example.com --header "Subject: survives a crash"
assert_swaks_reply 250
wait_for_grep 'to=<alice@example\.com>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:[0-9]+, .*status=deferred \(host 127\.0\.0\.1\[127\.0\.0\.1\] said: 451 4\.3\.2 ' "$PF_LOG" 30
wait_for_grep 'Milter \(mxparity\): error connecting to filter: Connection refused' "$SM_LOG" 10
wait_for_grep 'Milter: initialization failed, temp failing commands' "$SM_LOG" 10
sleep 2
[ "$(sink_count)" -eq 0 ] || itest_fail "a message was delivered while the filter was dead"
mxp_daemon MX1 mx1.example.com "$TIER_POLICY"
sink_wait_from k1@pass.example.org 60
tier_assert_one_stamp "$SINK_FILE" mx1.example.com primary
mxp_assert_summary "$MX1_MLOG" k1@pass.example.org ' hop=edge ' ' av=clean ' ' action=accept '
_itest_poll 20 pf_queue_empty || itest_fail "the sending Postfix still holds the message"
sleep 2
[ "$(sink_count)" -eq 1 ] || itest_fail "want exactly one delivered copy, got $(sink_count)"
mxp_assert_healthy MX1
itest_pass
