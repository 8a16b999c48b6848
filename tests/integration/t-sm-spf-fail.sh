#!/bin/bash
# t-sm-spf-fail.sh - an SPF-failing sender behind a real sendmail: 550
# 5.7.23 at RCPT with the explanation (as behind Postfix), the daemon's
# reject line, nothing delivered; a passing sender in the same session
# afterwards is accepted.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=mxp.sh
. "$(dirname "$0")/mxp.sh"
# shellcheck source-path=SCRIPTDIR source=tier.sh
. "$(dirname "$0")/tier.sh"
# shellcheck source-path=SCRIPTDIR source=sendmail.sh
. "$(dirname "$0")/sendmail.sh"

sm_scenario sm-spf-fail
sm_send --from f1@fail.example.org --header "Subject: spf fail behind sendmail"
# sendmail puts "<RCPT>... " before the text of a refusal at RCPT.
assert_swaks_reply "550 5.7.23 <alice@example.com>... SPF MAIL FROM check failed: fail.example.org does not allow 127.0.0.10 to send mail for f1@fail.example.org"
wait_for_grep 'reject: RCPT from unknown\[127\.0\.0\.10\]: 550 5\.7\.23 SPF MAIL FROM check failed: .*; from=<f1@fail\.example\.org> to=<alice@example\.com> hop=edge' "$MX1_MLOG" 10
wait_for_grep 'Milter: to=<alice@example\.com>, reject=550 5\.7\.23 ' "$SM_LOG" 10
sm_send --from p1@pass.example.org --header "Subject: pass after"
assert_swaks_reply "250 2.0.0"
sink_wait_from p1@pass.example.org 30
sink_assert_none_from f1@fail.example.org
mxp_assert_healthy MX1
itest_pass
