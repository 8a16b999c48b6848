#!/bin/bash
# t-tier-drift.sh - the backup runs a policy that is not the primary's
# (see tier.sh): same version label and key, but a laxer meaning
# (limits.max_recipients = 999, spf on_fail = tag, av on_infected = tag),
# so its digest differs.  Its stamps verify (same key) but carry that
# other digest, and mx1 must not trust them:
#  1. a clean message via the backup: mx1 logs exactly
#     "parity: policy drift mx2.example.com sha256:THEIRS != ours sha256:OURS"
#     (the digests of `mxparity check`), parity=drift, and filters again:
#     Authentication-Results from a fresh check of the original client
#     (spf=pass for 127.0.0.10, smtp.helo = the client's HELO), av scanned
#     on mx1 (X-Virus-Scanned by mx1, av=clean), one stamp: mx1's;
#  2. a sender whose SPF allows only 127.0.0.3: the backup tags the fail
#     (its policy) and relays; mx1 checks the original client again and
#     refuses it under its own policy; nothing reaches the sink;
#  3. EICAR: the backup only tags it; mx1 scans it and refuses it
#     (554 5.7.1 in its Postfix log and in the backup's "said:");
#  4. mx1's counters: drift >= 3, relay_verified = 0.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=mxp.sh
. "$(dirname "$0")/mxp.sh"
# shellcheck source-path=SCRIPTDIR source=tier.sh
. "$(dirname "$0")/tier.sh"

tier_init tier-drift
tier_common
mkdir -p "$ITEST_DIR/mx2"
tier_key "$ITEST_DIR/mx2"
cmp -s "$ITEST_DIR/parity.key" "$ITEST_DIR/mx2/parity.key" || itest_fail "mx2's key is not mx1's"
tier_policy "$ITEST_DIR/mx2/policy.conf" tier.1 'limits { max_recipients = 999 }' \
    'on_infected = tag' 'on_fail = tag'
ours=$TIER_DIGEST
theirs=$(tier_digest "$ITEST_DIR/mx2/policy.conf")
[ -n "$theirs" ] || itest_fail "mxparity check refused mx2's policy" "$ITEST_DIR/mx2/policy.conf" 40
[ "$theirs" != "$ours" ] || itest_fail "mx2's policy has the same digest as mx1's ($ours)"
itest_log "mx1 digest $ours, mx2 digest $theirs"
tier_mx1
mxp_daemon MX2 mx2.example.com "$ITEST_DIR/mx2/policy.conf"
tier_mx2 MX2 MX2
delivered=0
drift_line="parity: policy drift mx2.example.com $theirs != ours $ours"

# --- 1. clean --------------------------------------------------------------------
itest_log "1: clean message via the drifted backup"
mark=$(itest_mark "$MX1_MLOG")
tier_send "$MX2_PORT" --from a1@pass.example.org --header "Subject: drift clean" \
    --body "a clean message, relayed by a backup with another policy"
assert_swaks_reply 250
mxp_assert_summary "$MX2_MLOG" a1@pass.example.org ' hop=edge ' ' spf=pass ' ' av=clean '
delivered=$((delivered + 1))
sink_wait_from a1@pass.example.org 30
f=$SINK_FILE
wait_for_grep_from "$mark" 'parity: policy drift ' "$MX1_MLOG" 10
grep -qF -- "$drift_line" "$MX1_MLOG" || itest_fail "no '$drift_line'" "$MX1_MLOG"
itest_log "ok: $drift_line"
mxp_assert_summary "$MX1_MLOG" a1@pass.example.org \
    ' client=unknown\[127\.0\.0\.3\] hop=relay:mx2\.example\.com ' ' spf=pass ' ' av=clean ' \
    ' parity=drift( |$)'
assert_no_grep 'parity: verified stamp' "$MX1_MLOG"
tier_assert_one_stamp "$f" mx1.example.com primary
tier_assert_ar "$f" pass a1@pass.example.org
tier_assert_scanned_by "$f" mx1.example.com

# --- 2. SPF: the backup tags, the primary refuses --------------------------------------
itest_log "2: SPF fail for the original client: tagged by mx2, refused by mx1"
tier_send "$MX2_PORT" --from b2@backup-only.example.org --header "Subject: drift spf" \
    --body "only the backup may send for this domain"
assert_swaks_reply 250
qid=$(tier_queued_id)
mxp_assert_summary "$MX2_MLOG" b2@backup-only.example.org ' hop=edge ' ' spf=fail ' ' action=tag '
mxp_assert_summary "$MX1_MLOG" b2@backup-only.example.org \
    ' hop=relay:mx2\.example\.com ' ' spf=fail ' ' action=reject ' ' parity=drift( |$)'
tier_assert_held MX2 "$qid" '5[0-9][0-9] 5\.7\.23 '

# --- 3. EICAR: the backup tags, the primary refuses -------------------------------------
itest_log "3: EICAR: tagged by mx2, refused by mx1"
tier_send "$MX2_PORT" --from v3@pass.example.org --header "Subject: drift eicar" \
    --body "$(printf 'Hello,\n%s\nbye\n' "$(mxp_eicar)")"
assert_swaks_reply 250
qid=$(tier_queued_id)
mxp_assert_summary "$MX2_MLOG" v3@pass.example.org ' hop=edge ' " av=infected:$TIER_EICAR_NAME " ' action=tag '
mxp_assert_summary "$MX1_MLOG" v3@pass.example.org \
    ' hop=relay:mx2\.example\.com ' " av=infected:$TIER_EICAR_NAME " ' action=reject ' ' parity=drift( |$)'
wait_for_grep "milter-reject: END-OF-MESSAGE from [^ ]*\\[127\\.0\\.0\\.3\\]: 5\\.7\\.1 Virus found: $TIER_EICAR_NAME; from=<v3@pass\\.example\\.org>" "$MX1_LOG" 10
tier_assert_held MX2 "$qid" "554 5\\.7\\.1 Virus found: $TIER_EICAR_NAME"

# --- the end ------------------------------------------------------------------------------
sink_wait_count "$delivered" 30
for s in b2@backup-only.example.org v3@pass.example.org ""; do
    sink_assert_none_from "$s"
done
assert_no_grep 'sender non-delivery notification' "$MX2_LOG"
tier_counters MX1
tier_assert_counter drift -ge 3
tier_assert_counter relay_verified -eq 0
mxp_assert_healthy MX1 MX2
itest_pass
