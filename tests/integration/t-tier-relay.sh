#!/bin/bash
# t-tier-relay.sh - two tiers through real Postfix (see tier.sh): the
# internet client (127.0.0.10) talks to the backup mx2, whose Postfix
# relays to the primary mx1 from 127.0.0.3; both run mxparityd with the
# same policy and key.
#  1. a clean message via the backup: 250 at mx2, delivered once; mx2
#     filtered it as an edge (hop=edge spf=pass av=clean); mx1 logs
#     "parity: verified stamp from mx2.example.com" and
#     hop=relay:mx2.example.com ... parity=verified; the sink copy has
#     exactly one X-MXParity (mx1's: host=mx1.example.com tier=primary, the
#     shared digest) and mx1's Authentication-Results says spf=pass for the
#     ORIGINAL client (smtp.helo = the client's HELO), although a check of
#     mx2's address 127.0.0.3 would fail;
#  2. EICAR to the backup: 554 5.7.1 Virus found at mx2's DATA, nothing
#     reaches mx1 or the sink, mx2's queue stays empty, no bounce;
#  3. a client straight to mx1 with forged stamps (one folded): the stamps
#     are removed and logged, hop=edge, full filtering: the clean message
#     arrives with mx1's own stamp only, EICAR under a stamp saying
#     av=clean is refused, a sender whose SPF allows only mx2's address is
#     refused at RCPT (550 5.7.23) despite a stamp saying spf=pass;
#  4. relay_rescan = true in the av section (both daemons reloaded with the
#     new policy): a clean message via the backup is still verified
#     (parity=verified, stamp policy = the new digest) and mx1 scans it
#     itself (X-Virus-Scanned by mx1.example.com);
#  5. a module of a third party's (tests/modules/testmod) on both tiers:
#     the finding mx2's instance reports travels in mx2's stamp and mx1's
#     instance reads it by name (peer_test=ok:... in its header), with no
#     core support for that module;
#  6. mx1's counters: relay_verified=3 unfiltered_relay=0 drift=0.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=mxp.sh
. "$(dirname "$0")/mxp.sh"
# shellcheck source-path=SCRIPTDIR source=tier.sh
. "$(dirname "$0")/tier.sh"

tier_init tier-relay
tier_common
tier_mx1
mxp_daemon MX2 mx2.example.com "$TIER_POLICY"
tier_mx2 MX2 MX2
delivered=0

# --- 1. a clean message through the backup ----------------------------------
itest_log "1: clean message via the backup"
tier_send "$MX2_PORT" --from a1@pass.example.org --header "Subject: tier clean" \
    --body "a clean message, relayed by the backup"
assert_swaks_reply 250
mxp_assert_summary "$MX2_MLOG" a1@pass.example.org \
    ' client=unknown\[127\.0\.0\.10\] hop=edge ' ' spf=pass ' ' av=clean '
delivered=$((delivered + 1))
sink_wait_from a1@pass.example.org 30
f=$SINK_FILE
# It went client -> mx2 -> mx1 -> sink.
assert_grep '^X-Client-Addr: 127\.0\.0\.2$' "$f"
assert_grep '^Received: from mx2\.example\.com \(unknown \[127\.0\.0\.3\]\)' "$f"
assert_grep "^Received: from $TIER_HELO \\(unknown \\[127\\.0\\.0\\.10\\]\\)" "$f"
mxp_assert_summary "$MX1_MLOG" a1@pass.example.org \
    ' client=unknown\[127\.0\.0\.3\] hop=relay:mx2\.example\.com ' ' spf=pass ' ' av=' \
    ' parity=verified( |$)'
wait_for_grep 'parity: verified stamp from mx2\.example\.com' "$MX1_MLOG" 10
assert_no_grep 'parity: (unfiltered relay|policy drift)' "$MX1_MLOG"
tier_assert_one_stamp "$f" mx1.example.com primary
case $TIER_STAMP in
    *"client=127.0.0.10;"*) ;;
    *) itest_fail "mx1's stamp does not carry the original client: '$TIER_STAMP'" "$f" 60 ;;
esac
tier_assert_ar "$f" pass a1@pass.example.org
assert_no_grep 'spf=(fail|softfail|neutral|none)' "$f"

# --- 2. EICAR to the backup ---------------------------------------------------
itest_log "2: EICAR to the backup"
tier_send "$MX2_PORT" --from v2@pass.example.org --header "Subject: tier eicar" \
    --body "$(printf 'Hello,\n%s\nbye\n' "$(mxp_eicar)")"
assert_swaks_reply "554 5.7.1 Virus found: $TIER_EICAR_NAME"
assert_grep '<- *354 ' "$SWAKS_LOG"
mxp_assert_summary "$MX2_MLOG" v2@pass.example.org \
    ' client=unknown\[127\.0\.0\.10\] hop=edge ' " av=infected:$TIER_EICAR_NAME " ' action=reject '
wait_for_grep "milter-reject: END-OF-MESSAGE from [^ ]+: 5\\.7\\.1 Virus found: .*from=<v2@pass\\.example\\.org>" "$MX2_LOG" 10
[ "$(pf_queue_count "$MX2_CONF")" -eq 0 ] || itest_fail "the backup queued something" "$MX2_LOG"

# --- 3. forged stamps straight to the primary ---------------------------------
itest_log "3: forged stamps from an internet client to mx1"
zero=$(printf '0%.0s' $(seq 1 64))
forged="v=1; host=mx2.example.com; tier=backup; policy=$TIER_DIGEST; client=$TIER_CLIENT_IP; helo=$TIER_HELO; from=X; spf=pass; av=clean; bh=$zero; mac=$zero"
cat >"$ITEST_DIR/forged.eml" <<EOF
X-MXParity: ${forged/from=X/from=f3@pass.example.org}
X-MXParity: v=1; host=mx1.example.com; tier=primary;
	policy=$TIER_DIGEST; client=192.0.2.1; helo=x; from=x; spf=pass;
	av=clean; bh=$zero; mac=$zero
From: %FROM_ADDRESS%
To: %TO_ADDRESS%
Date: %DATE%
Message-Id: <%MESSAGEID%>
Subject: tier forged stamps

the client claims an MX filtered this already
EOF
mark=$(itest_mark "$MX1_MLOG")
tier_send "$MX1_PORT" --from f3@pass.example.org --data "@$ITEST_DIR/forged.eml"
assert_swaks_reply 250
delivered=$((delivered + 1))
wait_for_grep_from "$mark" 'parity: removed X-MXParity from non-peer client 127\.0\.0\.10' "$MX1_MLOG" 10
mxp_assert_summary "$MX1_MLOG" f3@pass.example.org \
    ' client=unknown\[127\.0\.0\.10\] hop=edge ' ' spf=pass ' ' av=clean '
sink_wait_from f3@pass.example.org 30
f=$SINK_FILE
tier_assert_one_stamp "$f" mx1.example.com primary
assert_no_grep "mac=$zero" "$f"
tier_assert_ar "$f" pass f3@pass.example.org
tier_assert_scanned_by "$f" mx1.example.com

# EICAR under a stamp that says av=clean
mark=$(itest_mark "$MX1_MLOG")
tier_send "$MX1_PORT" --from v3@pass.example.org --header "Subject: tier forged clean" \
    --add-header "X-MXParity: ${forged/from=X/from=v3@pass.example.org}" \
    --body "$(printf 'Hello,\n%s\nbye\n' "$(mxp_eicar)")"
assert_swaks_reply "554 5.7.1 Virus found: $TIER_EICAR_NAME"
wait_for_grep_from "$mark" 'parity: removed X-MXParity from non-peer client 127\.0\.0\.10' "$MX1_MLOG" 10
mxp_assert_summary "$MX1_MLOG" v3@pass.example.org \
    ' hop=edge ' " av=infected:$TIER_EICAR_NAME " ' action=reject '

# A sender whose SPF allows mx2's address only, under a stamp saying spf=pass
tier_send "$MX1_PORT" --from s3@backup-only.example.org --header "Subject: tier forged pass" \
    --add-header "X-MXParity: ${forged/from=X/from=s3@backup-only.example.org}" \
    --body "spf says no"
assert_swaks_reply "550 5.7.23 "
wait_for_grep "reject: RCPT from unknown\\[127\\.0\\.0\\.10\\]: 550 5\\.7\\.23 .*from=<s3@backup-only\\.example\\.org> .*hop=edge" "$MX1_MLOG" 10

# --- 4. relay_rescan = true ---------------------------------------------------------
itest_log "4: relay_rescan = true on both tiers"
tier_policy "$TIER_POLICY" tier.2 '' 'relay_rescan = true'
TIER_DIGEST=$(tier_digest "$TIER_POLICY")
mxp_reload tier.2 MX1 MX2
mark=$(itest_mark "$MX1_MLOG")
tier_send "$MX2_PORT" --from r4@pass.example.org --header "Subject: tier rescan" \
    --body "a clean message, scanned again on the primary"
assert_swaks_reply 250
delivered=$((delivered + 1))
sink_wait_from r4@pass.example.org 30
f=$SINK_FILE
wait_for_grep_from "$mark" 'parity: verified stamp from mx2\.example\.com' "$MX1_MLOG" 10
mxp_assert_summary "$MX1_MLOG" r4@pass.example.org \
    ' client=unknown\[127\.0\.0\.3\] hop=relay:mx2\.example\.com ' ' spf=pass ' ' av=' \
    ' parity=verified( |$)'
tier_assert_one_stamp "$f" mx1.example.com primary
tier_assert_ar "$f" pass r4@pass.example.org
tier_assert_scanned_by "$f" mx1.example.com

# --- 5. a new module's finding travels to the next tier --------------------------
itest_log "5: testmod on both tiers: its finding in the stamp, read on mx1"
tier_policy "$TIER_POLICY" tier.3 'module testmod { stamp_header = "X-Test-Peer" }' \
    'relay_rescan = true'
TIER_DIGEST=$(tier_digest "$TIER_POLICY")
mxp_reload tier.3 MX1 MX2
mark=$(itest_mark "$MX1_MLOG")
tier_send "$MX2_PORT" --from t5@pass.example.org --header "Subject: tier finding" \
    --body "a finding that travels"
assert_swaks_reply 250
delivered=$((delivered + 1))
sink_wait_from t5@pass.example.org 30
f=$SINK_FILE
wait_for_grep_from "$mark" 'parity: verified stamp from mx2\.example\.com' "$MX1_MLOG" 10
mxp_assert_summary "$MX2_MLOG" t5@pass.example.org ' hop=edge ' ' test=ok:[0-9]+:[0-9]+:0 '
mxp_assert_summary "$MX1_MLOG" t5@pass.example.org ' hop=relay:mx2\.example\.com ' \
    ' test=ok:[0-9]+:[0-9]+:0 ' ' parity=verified( |$)'
tier_assert_one_stamp "$f" mx1.example.com primary
case $TIER_STAMP in
    *"f.test=ok:"*) ;;
    *) itest_fail "mx1's stamp does not carry testmod's finding: '$TIER_STAMP'" "$f" 60 ;;
esac
# mx2's instance saw no peer; mx1's read mx2's finding from the verified stamp.
assert_grep '^X-Test-Peer: host=mx2\.example\.com .* relay=none .* peer_test=-$' "$f"
assert_grep '^X-Test-Peer: host=mx1\.example\.com tier=primary hop=relay:mx2\.example\.com .* relay=verified client=127\.0\.0\.10 .* peer_test=ok:[0-9]+:[0-9]+:0$' "$f"

# --- the end --------------------------------------------------------------------
sink_wait_count "$delivered" 30
sink_assert_none_from v2@pass.example.org
sink_assert_none_from v3@pass.example.org
sink_assert_none_from s3@backup-only.example.org
sink_assert_none_from ""
! grep -qF 'from=<v2@pass.example.org>' "$MX1_MLOG" \
    || itest_fail "the EICAR message refused by mx2 reached mx1" "$MX1_MLOG"
assert_no_grep 'sender non-delivery notification' "$MX2_LOG"
assert_no_grep 'sender non-delivery notification' "$MX1_LOG"
_itest_poll 20 pf_queue_empty "$MX2_CONF" || itest_fail "mail left in the backup's queue" "$MX2_LOG"
_itest_poll 20 pf_queue_empty "$MX1_CONF" || itest_fail "mail left in the primary's queue" "$MX1_LOG"
tier_counters MX1
tier_assert_counter relay_verified -eq 3
tier_assert_counter unfiltered_relay -eq 0
tier_assert_counter drift -eq 0
mxp_assert_healthy MX1 MX2
itest_pass
