#!/bin/bash
# t-sm-tier-backup.sh - mixed tiers: a sendmail backup relaying to a Postfix
# primary (tier.sh's addresses: the client 127.0.0.10, mx2 sends from
# 127.0.0.3, mx1 delivers from 127.0.0.2), both with mxparityd and one
# policy:
#  1. a clean message via the backup: mx2 filters it as an edge; mx1 finds
#     the original client in the Received header sendmail wrote, verifies
#     mx2's stamp (hop=relay:mx2.example.com parity=verified), and checks
#     SPF against the original client (spf=pass, although mx2's own
#     address would fail); the sink copy has one stamp, mx1's, naming
#     client=127.0.0.10, and mx1's Authentication-Results;
#  1b. a message without Date and Message-Id: sendmail adds both after its
#     filter stamped it; still verified, and logged as such;
#  1c. one without From: sendmail adds one too: filtered again in full on
#     mx1 (parity=headers-differ), delivered;
#  2. EICAR to the backup: 554 5.7.1 from sendmail, nothing reaches mx1;
#  3. a sender whose SPF allows only mx2's address: refused by the backup
#     at RCPT, never relayed;
#  4. mx1's counters: relay_verified=2 (1c is filtered again: unfiltered_relay=1), stamp_bad_mac=0, unfiltered_relay=0.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=mxp.sh
. "$(dirname "$0")/mxp.sh"
# shellcheck source-path=SCRIPTDIR source=tier.sh
. "$(dirname "$0")/tier.sh"
# shellcheck source-path=SCRIPTDIR source=sendmail.sh
. "$(dirname "$0")/sendmail.sh"

tier_init sm-tier-backup
sm_require
tier_common
tier_mx1
mxp_daemon MX2 mx2.example.com "$TIER_POLICY"
SM_HOSTNAME=mx2.example.com SM_SMART_HOST="[127.0.0.1]:$MX1_PORT" SM_BIND=$TIER_MX2_ADDR \
    sm_start "inet:$MX2_MPORT@127.0.0.1"

# 1. clean, via the sendmail backup
sm_send --from b1@pass.example.org --header "Subject: via the sendmail backup" --body "clean, relayed"
assert_swaks_reply "250 2.0.0"
mxp_assert_summary "$MX2_MLOG" b1@pass.example.org \
    ' client=unknown\[127\.0\.0\.10\] hop=edge ' ' spf=pass ' ' av=clean ' ' action=accept '
sink_wait_from b1@pass.example.org 30
f=$SINK_FILE
assert_grep '^Received: from mx2\.example\.com \(unknown \[127\.0\.0\.3\]\)' "$f"
assert_grep "^Received: from $TIER_HELO \\(\\[127\\.0\\.0\\.10\\]\\)$" "$f"
mxp_assert_summary "$MX1_MLOG" b1@pass.example.org \
    ' client=unknown\[127\.0\.0\.3\] hop=relay:mx2\.example\.com ' ' spf=pass ' ' parity=verified( |$)'
wait_for_grep 'parity: verified stamp from mx2\.example\.com' "$MX1_MLOG" 10
assert_no_grep 'parity: (unfiltered relay|policy drift)' "$MX1_MLOG"
tier_assert_one_stamp "$f" mx1.example.com primary
case $TIER_STAMP in
    *"client=127.0.0.10;"*"helo=$TIER_HELO;"*) ;;
    *) itest_fail "mx1's stamp does not name the original client: '$TIER_STAMP'" "$f" 60 ;;
esac
tier_assert_ar "$f" pass b1@pass.example.org

# 1b. no Message-Id and no Date: sendmail adds both; still verified at mx1
sm_send --from b4@pass.example.org --data "$(printf 'From: b4@pass.example.org\nTo: alice@example.com\nSubject: bare\n\nno id, no date\n')"
assert_swaks_reply "250 2.0.0"
sink_wait_from b4@pass.example.org 30
mxp_assert_summary "$MX1_MLOG" b4@pass.example.org ' hop=relay:mx2\.example\.com ' ' parity=verified( |$)'
wait_for_grep 'parity: verified stamp from mx2\.example\.com \(Date and Message-Id added by its MTA\)' "$MX1_MLOG" 10

# 1c. no From: either: sendmail adds one too, which no stamp allows for, so mx1
# filters the message again in full (for the original client) and delivers it
sm_send --from b5@pass.example.org --data "$(printf 'To: alice@example.com\nSubject: no from\n\nno from\n')"
assert_swaks_reply "250 2.0.0"
sink_wait_from b5@pass.example.org 30
mxp_assert_summary "$MX1_MLOG" b5@pass.example.org ' hop=relay:mx2\.example\.com ' ' spf=pass ' \
    ' av=clean ' ' parity=headers-differ ' ' action=accept '
assert_grep '^From: b5@pass\.example\.org' "$SINK_FILE"

# 2. EICAR to the backup
sm_send --from b2@pass.example.org --header "Subject: eicar via sendmail" \
    --body "$(printf 'Hello,\n%s\n' "$(mxp_eicar)")"
assert_swaks_reply "554 5.7.1 Virus found: $TIER_EICAR_NAME"
mxp_assert_summary "$MX2_MLOG" b2@pass.example.org " av=infected:$TIER_EICAR_NAME action=reject "

# 3. SPF allows only the backup's own address: the backup refuses the client
sm_send --from b3@backup-only.example.org --header "Subject: spf via sendmail"
assert_swaks_reply "550 5.7.23 "
sleep 1
assert_no_grep 'from=<b2@pass\.example\.org>|from=<b3@backup-only' "$MX1_MLOG"
sink_assert_none_from b2@pass.example.org
sink_assert_none_from b3@backup-only.example.org

# 4. the primary's counters
tier_counters MX1
tier_assert_counter relay_verified -eq 2
tier_assert_counter stamp_bad_mac -eq 0
tier_assert_counter unfiltered_relay -eq 1
mxp_assert_healthy MX1 MX2
itest_pass
