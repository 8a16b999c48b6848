#!/bin/bash
# t-sm-rcpt.sh - recipients behind a real sendmail: an unknown recipient of
# a listed domain gets 550 5.1.1 at RCPT (the daemon's reject line as
# behind Postfix), a known one in the same transaction is accepted and
# delivered alone (rcpts=1 rcpt=unknown:1: one refused).
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=mxp.sh
. "$(dirname "$0")/mxp.sh"
# shellcheck source-path=SCRIPTDIR source=tier.sh
. "$(dirname "$0")/tier.sh"
# shellcheck source-path=SCRIPTDIR source=sendmail.sh
. "$(dirname "$0")/sendmail.sh"

sm_scenario sm-rcpt
sm_send --from r1@pass.example.org --to nobody@example.com --header "Subject: to nobody"
# sendmail puts "<RCPT>... " before the text of a refusal at RCPT.
assert_swaks_reply "550 5.1.1 <nobody@example.com>... <nobody@example.com>: Recipient address rejected: User unknown"
wait_for_grep 'reject: RCPT from unknown\[127\.0\.0\.10\]: 550 5\.1\.1 <nobody@example\.com>: Recipient address rejected: User unknown; from=<r1@pass\.example\.org> to=<nobody@example\.com> hop=edge' "$MX1_MLOG" 10
sm_send --from r2@pass.example.org --to nobody@example.com,bob@example.com --header "Subject: two"
assert_grep '<\*\* +550 5\.1\.1 <nobody@example\.com>' "$SWAKS_LOG"
assert_swaks_reply "250 2.0.0"
mxp_assert_summary "$MX1_MLOG" r2@pass.example.org ' rcpts=1 ' ' rcpt=unknown:1 ' ' action=accept '
sink_wait_from r2@pass.example.org 30
assert_grep '^X-Rcpt-Args: <bob@example\.com>$' "$SINK_FILE"
assert_no_grep '^X-Rcpt-Args: <nobody@example' "$SINK_FILE"
sink_assert_none_from r1@pass.example.org
mxp_assert_healthy MX1
itest_pass
