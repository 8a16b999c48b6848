#!/bin/bash
# t-sm-tier-primary.sh - mixed tiers the other way round: a Postfix backup
# (tier.sh's mx2, sending from 127.0.0.3) relaying to a sendmail primary
# (mx1.example.com, delivering to the sink from 127.0.0.2), both with
# mxparityd and one policy:
#  1. a clean message via the backup: mx1 behind sendmail finds the original
#     client in Postfix's Received header, verifies mx2's stamp
#     (hop=relay:mx2.example.com parity=verified), checks SPF against the
#     original client (spf=pass; mx2's address would fail), and the sink
#     copy has one stamp, mx1's, with client=127.0.0.10;
#  2. a client straight to the sendmail primary with a forged stamp of mx2:
#     removed, the client is an edge (hop=edge), fully filtered;
#  3. the primary's counters: relay_verified=1, unfiltered_relay=0.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=mxp.sh
. "$(dirname "$0")/mxp.sh"
# shellcheck source-path=SCRIPTDIR source=tier.sh
. "$(dirname "$0")/tier.sh"
# shellcheck source-path=SCRIPTDIR source=sendmail.sh
. "$(dirname "$0")/sendmail.sh"

tier_init sm-tier-primary
sm_require
tier_common
mxp_daemon MX1 mx1.example.com "$TIER_POLICY"
SM_HOSTNAME=mx1.example.com SM_BIND=$TIER_MX1_ADDR sm_start "inet:$MX1_MPORT@127.0.0.1"
MX1_PORT=$SM_PORT
mxp_daemon MX2 mx2.example.com "$TIER_POLICY"
tier_mx2 MX2 MX2

# 1. clean, via the Postfix backup
tier_send "$MX2_PORT" --from p1@pass.example.org --header "Subject: to the sendmail primary"
assert_swaks_reply 250
mxp_assert_summary "$MX2_MLOG" p1@pass.example.org ' hop=edge ' ' spf=pass ' ' av=clean '
sink_wait_from p1@pass.example.org 30
f=$SINK_FILE
assert_grep '^X-Client-Addr: 127\.0\.0\.2$' "$f"
assert_grep '^Received: from mx2\.example\.com \(\[127\.0\.0\.3\]\)' "$f"
assert_grep "^Received: from $TIER_HELO \\(unknown \\[127\\.0\\.0\\.10\\]\\)" "$f"
mxp_assert_summary "$MX1_MLOG" p1@pass.example.org \
    '^mxparityd: [0-9A-Za-z]{14}: client=unknown\[127\.0\.0\.3\] hop=relay:mx2\.example\.com ' \
    ' spf=pass ' ' parity=verified( |$)'
wait_for_grep 'parity: verified stamp from mx2\.example\.com' "$MX1_MLOG" 10
tier_assert_one_stamp "$f" mx1.example.com primary
case $TIER_STAMP in
    *"client=127.0.0.10;"*) ;;
    *) itest_fail "mx1's stamp does not name the original client: '$TIER_STAMP'" "$f" 60 ;;
esac
tier_assert_ar "$f" pass p1@pass.example.org

# 2. a forged stamp of mx2, straight to the sendmail primary
tier_send "$SM_PORT" --from p2@pass.example.org --header "Subject: forged" \
    --header "X-MXParity: v=2; kid=0000000000000000; host=mx2.example.com; tier=backup; f.av=clean; mac=00"
assert_swaks_reply "250 2.0.0"
mxp_assert_summary "$MX1_MLOG" p2@pass.example.org ' client=unknown\[127\.0\.0\.10\] hop=edge ' ' av=clean '
wait_for_grep 'parity: removed X-MXParity from non-peer client 127\.0\.0\.10' "$MX1_MLOG" 10
sink_wait_from p2@pass.example.org 30
tier_assert_one_stamp "$SINK_FILE" mx1.example.com primary
tier_assert_scanned_by "$SINK_FILE" mx1.example.com

# 3. the primary's counters
tier_counters MX1
tier_assert_counter relay_verified -eq 1
tier_assert_counter unfiltered_relay -eq 0
mxp_assert_healthy MX1 MX2
itest_pass
