#!/bin/bash
# t-sm-clean.sh - clean mail behind a real sendmail 8.17 (sendmail.sh),
# with the lines a site pastes (etc/mxparity.mc):
#  1. accepted (250), delivered once, with our headers: one X-MXParity of
#     mx1.example.com (the shared digest), Authentication-Results spf=pass
#     for the client, X-Virus-Scanned by mx1; the forged X-MXParity and
#     Authentication-Results of mx1 the client sent are removed;
#  2. the daemon's lines carry sendmail's queue id (the one in its 250
#     reply) as their QUEUEID:, also though the site's macro lists leave
#     out i and {auth_authen} (mxparityd asks for them by name);
#  3. the summary line has the same fields as behind Postfix.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=mxp.sh
. "$(dirname "$0")/mxp.sh"
# shellcheck source-path=SCRIPTDIR source=tier.sh
. "$(dirname "$0")/tier.sh"
# shellcheck source-path=SCRIPTDIR source=sendmail.sh
. "$(dirname "$0")/sendmail.sh"

# A site whose lists lack what mxparityd reads: it asks for them itself.
sm_scenario sm-clean "" \
    "define(\`confMILTER_MACROS_ENVFROM', \`{mail_addr}')dnl" \
    "define(\`confMILTER_MACROS_EOM', \`{msg_id}')dnl"

sm_send --from c1@pass.example.org --header "Subject: clean behind sendmail" \
    --header "X-MXParity: v=2; host=mx1.example.com; forged" \
    --header "Authentication-Results: mx1.example.com; spf=pass smtp.mailfrom=forged" \
    --body "a clean message"
assert_swaks_reply "250 2.0.0"
qid=$(sm_queued_id)
[ -n "$qid" ] || itest_fail "no queue id in sendmail's reply" "$SWAKS_LOG"
mxp_assert_summary "$MX1_MLOG" c1@pass.example.org \
    "^mxparityd: $qid: client=unknown\\[127\\.0\\.0\\.10\\] hop=edge from=<c1@pass\\.example\\.org> rcpts=1 size=[0-9]+ rcpt=ok spf=pass av=clean action=accept policy=[0-9a-f]{8} ms=[0-9.]+$"
assert_no_grep 'NOQUEUE: client=' "$MX1_MLOG"
assert_no_grep 'cannot be asked for macros|sent no queue id' "$MX1_MLOG"
assert_grep "^mxparityd: $qid: parity: removed X-MXParity from non-peer client 127\\.0\\.0\\.10$" "$MX1_MLOG"
assert_grep "^mxparityd: $qid: authres: removed Authentication-Results claiming to be mx1\\.example\\.com$" "$MX1_MLOG"

sink_wait_from c1@pass.example.org 30
f=$SINK_FILE
tier_assert_one_stamp "$f" mx1.example.com primary
tier_assert_ar "$f" pass c1@pass.example.org
tier_assert_scanned_by "$f" mx1.example.com
assert_no_grep 'forged' "$f"
assert_grep "^Received: from $TIER_HELO \\(\\[127\\.0\\.0\\.10\\]\\)" "$f"
assert_grep "by mx1\\.example\\.com \\(8\\.17\\.[0-9.]+/8\\.17\\.[0-9.]+\\) with ESMTP id $qid" "$f"
[ "$(sink_count)" -eq 1 ] || itest_fail "the sink holds $(sink_count) messages, want 1"
mxp_assert_healthy MX1
itest_pass
