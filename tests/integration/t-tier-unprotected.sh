#!/bin/bash
# t-tier-unprotected.sh - mail relayed to the primary by a backup that did
# not filter it (see tier.sh).  Two backup Postfix instances both connect
# to mx1 from 127.0.0.3, so mx1 sees both as mx2.example.com: "mx2" with
# its mxparityd, and "bare" without any milter (standing for an
# unprotected backup, or an attacker who controls one).
#  1. a clean message via the bare backup: mx1 logs "parity: unfiltered
#     relay from mx2.example.com (no stamp)" and parity=no-stamp, filters
#     again: av scans (X-Virus-Scanned by mx1), SPF is checked for the
#     original client taken from the backup's Received header: spf=pass
#     for 127.0.0.10 (a check of 127.0.0.3 would fail); one stamp, mx1's;
#  2. a sender whose SPF allows only the backup's address (127.0.0.3):
#     the bare backup takes it, mx1 finds spf=fail for the original client
#     and refuses it; nothing reaches the sink (the backup holds it);
#  3. EICAR via the bare backup: mx1 refuses it (554 5.7.1 Virus found,
#     in mx1's Postfix log and in the backup's "said:"), nothing reaches
#     the sink;
#  4. a real stamp of mx2, captured from a message mx2 sent straight to
#     the sink (capture.example.com), replayed through the bare backup
#     with the same envelope on a different body (EICAR): mx1 logs
#     "(body hash mismatch)" (or "(bad mac)"), filters again, refuses it;
#  5. that stamp with its from= rewritten to a sender whose SPF allows
#     only 127.0.0.3, on the original body: "(bad mac)", parity=bad-mac,
#     SPF checked again for the original client: refused;
#  6. mx1's counters: unfiltered_relay >= 5, the sum of its reasons
#     (stamp_missing and stamp_bad_mac among them), relay_verified = drift = 0.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=mxp.sh
. "$(dirname "$0")/mxp.sh"
# shellcheck source-path=SCRIPTDIR source=tier.sh
. "$(dirname "$0")/tier.sh"

tier_init tier-unprotected
tier_common
tier_mx1
mxp_daemon MX2 mx2.example.com "$TIER_POLICY"
tier_mx2 MX2 MX2
tier_mx2 BARE ""
delivered=0
eicar_body=$(printf 'Hello,\n%s\nbye\n' "$(mxp_eicar)")

# --- 1. clean, no stamp ---------------------------------------------------------
itest_log "1: clean message via the bare backup"
mark=$(itest_mark "$MX1_MLOG")
tier_send "$BARE_PORT" --from a1@pass.example.org --header "Subject: bare clean" \
    --body "a clean message, relayed unfiltered"
assert_swaks_reply 250
delivered=$((delivered + 1))
sink_wait_from a1@pass.example.org 30
f=$SINK_FILE
assert_grep '^Received: from mx2\.example\.com \(unknown \[127\.0\.0\.3\]\)' "$f"
wait_for_grep_from "$mark" 'parity: unfiltered relay from mx2\.example\.com \(no stamp\)' "$MX1_MLOG" 10
mxp_assert_summary "$MX1_MLOG" a1@pass.example.org \
    ' client=unknown\[127\.0\.0\.3\] hop=relay:mx2\.example\.com ' ' spf=pass ' ' av=clean ' \
    ' parity=no-stamp( |$)'
tier_assert_one_stamp "$f" mx1.example.com primary
tier_assert_ar "$f" pass a1@pass.example.org
tier_assert_scanned_by "$f" mx1.example.com

# --- 2. SPF of the original client: fail -----------------------------------------
itest_log "2: sender allowing only the backup's address, via the bare backup"
tier_send "$BARE_PORT" --from b2@backup-only.example.org --header "Subject: bare spf fail" \
    --body "only the backup may send for this domain, not the client"
assert_swaks_reply 250
qid=$(tier_queued_id)
mxp_assert_summary "$MX1_MLOG" b2@backup-only.example.org \
    ' hop=relay:mx2\.example\.com ' ' spf=fail ' ' action=reject ' ' parity=no-stamp( |$)'
tier_assert_held BARE "$qid" '5[0-9][0-9] 5\.7\.23 '

# --- 3. EICAR, no stamp ------------------------------------------------------------
itest_log "3: EICAR via the bare backup"
tier_send "$BARE_PORT" --from v3@pass.example.org --header "Subject: bare eicar" --body "$eicar_body"
assert_swaks_reply 250
qid=$(tier_queued_id)
mxp_assert_summary "$MX1_MLOG" v3@pass.example.org \
    ' client=unknown\[127\.0\.0\.3\] hop=relay:mx2\.example\.com ' \
    " av=infected:$TIER_EICAR_NAME " ' action=reject ' ' parity=no-stamp( |$)'
wait_for_grep "milter-reject: END-OF-MESSAGE from [^ ]*\\[127\\.0\\.0\\.3\\]: 5\\.7\\.1 Virus found: $TIER_EICAR_NAME; from=<v3@pass\\.example\\.org>" "$MX1_LOG" 10
tier_assert_held BARE "$qid" "554 5\\.7\\.1 Virus found: $TIER_EICAR_NAME"

# --- 4. a real stamp of mx2 on another body ------------------------------------------
itest_log "4: capture a stamp of mx2"
body4="the original body the stamp of mx2 was made for"
tier_send "$MX2_PORT" --from c4@pass.example.org --to carol@capture.example.com \
    --header "Subject: capture" --body "$body4"
assert_swaks_reply 250
delivered=$((delivered + 1))
sink_wait_from c4@pass.example.org 30
f=$SINK_FILE
assert_grep '^X-Client-Addr: 127\.0\.0\.3$' "$f"
tier_assert_one_stamp "$f" mx2.example.com backup
stamp=${TIER_STAMP#X-MXParity: }
itest_log "captured: $stamp"
! grep -qF 'from=<c4@pass.example.org>' "$MX1_MLOG" || itest_fail "the capture went through mx1"

itest_log "4: replay it through the bare backup on an EICAR body"
mark=$(itest_mark "$MX1_MLOG")
tier_send "$BARE_PORT" --from c4@pass.example.org --header "Subject: capture" \
    --add-header "X-MXParity: $stamp" --body "$eicar_body"
assert_swaks_reply 250
qid=$(tier_queued_id)
wait_for_grep_from "$mark" 'parity: unfiltered relay from mx2\.example\.com \((body hash mismatch|bad mac)\)' "$MX1_MLOG" 10
why=$(tail -n +"$(( mark + 1 ))" "$MX1_MLOG" | grep -oE 'unfiltered relay from mx2\.example\.com \((body hash mismatch|bad mac)\)' | head -n 1)
itest_log "mx1 says: $why"
mxp_assert_summary "$MX1_MLOG" c4@pass.example.org \
    ' hop=relay:mx2\.example\.com ' " av=infected:$TIER_EICAR_NAME " ' action=reject ' \
    ' parity=(body-mismatch|bad-mac)( |$)'
tier_assert_held BARE "$qid" "554 5\\.7\\.1 Virus found: $TIER_EICAR_NAME"

# --- 5. the stamp with another sender --------------------------------------------------
itest_log "5: the stamp rewritten for another sender, on the original body"
case $stamp in
    *"from=c4@pass.example.org;"*) ;;
    *) itest_fail "the captured stamp has no 'from=c4@pass.example.org;': '$stamp'" ;;
esac
forged=${stamp/from=c4@pass.example.org;/from=f5@backup-only.example.org;}
mark=$(itest_mark "$MX1_MLOG")
tier_send "$BARE_PORT" --from f5@backup-only.example.org --header "Subject: capture" \
    --add-header "X-MXParity: $forged" --body "$body4"
assert_swaks_reply 250
qid=$(tier_queued_id)
wait_for_grep_from "$mark" 'parity: unfiltered relay from mx2\.example\.com \(bad mac\)' "$MX1_MLOG" 10
mxp_assert_summary "$MX1_MLOG" f5@backup-only.example.org \
    ' hop=relay:mx2\.example\.com ' ' spf=fail ' ' action=reject ' ' parity=bad-mac( |$)'
tier_assert_held BARE "$qid" '5[0-9][0-9] 5\.7\.23 '

# --- the end -------------------------------------------------------------------------
sink_wait_count "$delivered" 30
for s in b2@backup-only.example.org v3@pass.example.org f5@backup-only.example.org ""; do
    sink_assert_none_from "$s"
done
[ "$(sink_file_from c4@pass.example.org | wc -l)" -eq 1 ] || itest_fail "the replay of c4 reached the sink"
assert_no_grep 'parity: verified stamp' "$MX1_MLOG"
assert_no_grep 'sender non-delivery notification' "$BARE_LOG"
tier_counters MX1
tier_assert_counter unfiltered_relay -ge 5
# Why, counted apart: no stamp (a peer without mxparityd) and the forged
# stamp (bad mac) are separate counters that add up to unfiltered_relay.
tier_assert_counter stamp_missing -ge 1
tier_assert_counter stamp_bad_mac -ge 1
reasons=0
for c in stamp_missing stamp_bad_mac stamp_unknown_key stamp_stale stamp_replayed stamp_other; do
    reasons=$(( reasons + $(tier_counter "$TIER_COUNTERS" "$c") ))
done
tier_assert_counter unfiltered_relay -eq "$reasons"
tier_assert_counter relay_verified -eq 0
tier_assert_counter drift -eq 0
mxp_assert_healthy MX1 MX2
itest_pass
