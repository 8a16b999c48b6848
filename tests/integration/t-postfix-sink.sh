#!/bin/bash
# tests/integration/t-postfix-sink.sh - self-test of the integration harness
# (no mxparity milter involved):
#  1. smtp-sink + a private Postfix without milter: a message sent with swaks
#     is accepted (250) and arrives in the sink exactly once, with a
#     Received header added by the test Postfix.
#  2. a second Postfix whose milter is inet:127.0.0.1:<closed port>: with
#     milter_default_action=tempfail the client gets a 4xx reply, which is
#     what mxparity relies on when its daemon is down.
set -u

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

itest_init postfix-sink
itest_require postfix postconf postqueue smtp-sink swaks

sink_start

# --- 1. plain relay through Postfix into the sink -------------------------
pf_start ""
subject="itest-$$-$RANDOM-$(date +%s)"
swaks_send --header "Subject: $subject" --body "harness self-test body"
assert_swaks_reply 250
assert_grep 'Ok: queued as' "$SWAKS_LOG"

sink_wait_count 1 30
sink_grep "^Subject: $subject\$"
# Received header written by our Postfix (not smtp-sink's own one).
sink_grep "by ${PF_HOSTNAME//./\\.} \(Postfix\)"
sink_grep '^X-Rcpt-Args: <recipient@example\.net>'
wait_for_grep 'status=sent' "$PF_LOG" 30
assert_no_grep '(fatal|panic):' "$PF_LOG"
pf1_conf=$PF_CONF

# --- 2. milter unreachable -> tempfail ------------------------------------
closed_port=$(free_port)
pf_start "inet:127.0.0.1:$closed_port"
[ "$PF_CONF" != "$pf1_conf" ] || itest_fail "second instance reused the first one's config"
swaks_send --header "Subject: $subject-milter-down"
assert_swaks_reply 4
wait_for_grep "connect to Milter service inet:127\\.0\\.0\\.1:$closed_port: Connection refused" "$PF_LOG" 30
# Nothing may have been accepted, so the sink still holds one message.
[ "$(pf_queue_count "$PF_CONF")" -eq 0 ] || itest_fail "mail was queued despite the milter tempfail"
sink_wait_count 1 5

itest_pass
