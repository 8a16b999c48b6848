#!/bin/bash
# t-tier-rotation.sh - the parity key rolled from k1 to k2 while mail flows
# (see tier.sh), one host at a time, as doc/mxparity.conf.5 says.  Each host
# has its own policy file ($ITEST_DIR/mx1/policy.conf, mx2/policy.conf),
# the same but for its parity section; the keys are not part of the digest,
# so both digests stay the shared policy's all along.  A background loop
# sends one message every 0.5 s (at most FLOW_MAX, each from its own sender
# rN@pass.example.org) from the internet client through mx2 to mx1.  mx2's
# Postfix caches no connection to mx1, so every relayed message meets mx1's
# policy of the moment.  Before each step, everything mx2 accepted so far
# has been verified by mx1; after it, at least 3 more messages go through.
#  0. both hosts: key_file = k1; a capture (mail that leaves mx2 straight
#     for the sink) carries kid(k1);
#  1. mx1: key_file = k1, verify_key_files = {k2};
#  2. mx2: the same;
#  3. mx2: key_file = k2, verify_key_files = {k1}: its captures carry kid(k2);
#  4. mx1: the same: the stamps it adds (at the sink) carry kid(k2);
#  5. mx1: key_file = k2 alone;
#  6. mx2: the same;
#     each step is a SIGHUP of one daemon (wait for its "policy loaded:");
#  7. the flow stops: every message was accepted by mx2, delivered exactly
#     once, and verified by mx1 ("parity: verified stamp" and parity=verified
#     once per message); mx1 logged no "unfiltered relay" and no "policy
#     drift"; the first message's copy carries mx1's stamp of kid(k1), the
#     last one's kid(k2) (stamp.py verifies it with k2 alone), and a last
#     capture mx2's stamp of kid(k2);
#  8. a stamp forged with stamp.py and the retired k1 (everything else
#     right): "parity: unfiltered relay from mx2.example.com (unknown key
#     kid:KID1, ours is kid:KID2: the hosts' key files differ)", parity=unknown-key, filtered again, delivered; the same forged
#     with k2 verifies;
#  9. mx1's counters: relay_verified = messages + 1, unfiltered_relay = 1
#     (stamp_unknown_key = 1),
#     drift = 0.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=mxp.sh
. "$(dirname "$0")/mxp.sh"
# shellcheck source-path=SCRIPTDIR source=tier.sh
. "$(dirname "$0")/tier.sh"

: "${FLOW_MAX:=300}"
tier_init tier-rotation
tier_common
STAMP_PY=(python3 "${top_srcdir:?}/tests/integration/stamp.py")
FLOW_DIR=$ITEST_DIR/flow
FLOW_PID=''
mkdir -p "$ITEST_DIR/mx1" "$ITEST_DIR/mx2" "$FLOW_DIR"

# rot_key NAME: a new key $ITEST_DIR/NAME.key (48 random bytes as hex, as
# tier_key makes them), copied to both hosts' directories.
rot_key() {
    (umask 077 && head -c 48 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$ITEST_DIR/$1.key")
    cp -p -- "$ITEST_DIR/$1.key" "$ITEST_DIR/mx1/$1.key"
    cp -p -- "$ITEST_DIR/$1.key" "$ITEST_DIR/mx2/$1.key"
}
rot_key k1
rot_key k2
kid1=$("${STAMP_PY[@]}" --kid --key "$ITEST_DIR/k1.key")
kid2=$("${STAMP_PY[@]}" --kid --key "$ITEST_DIR/k2.key")
[ "$kid1" != "$kid2" ] || itest_fail "k1 and k2 have the same kid $kid1"
itest_log "kid(k1)=$kid1 kid(k2)=$kid2"

# rot_policy HOST KEY [VERIFY]: HOST's policy (mx1 or mx2) signing with
# KEY.key and verifying with VERIFY.key too; its digest must be the shared
# policy's.
rot_policy() {
    local host=$1 sign=$2 verify=${3:-} file digest
    file=$ITEST_DIR/$host/policy.conf
    TIER_PARITY="parity { key_file = \"$sign.key\""
    [ -z "$verify" ] || TIER_PARITY+=" verify_key_files = { \"$verify.key\" }"
    TIER_PARITY+=" }"
    tier_policy "$file" tier.1
    TIER_PARITY=''
    digest=$(tier_digest "$file")
    [ "$digest" = "$TIER_DIGEST" ] \
        || itest_fail "$host's policy (key_file $sign, verify ${verify:-none}) has digest '$digest', not $TIER_DIGEST" "$file" 40
    itest_log "$host: key_file = $sign.key${verify:+, verify_key_files = $verify.key}"
}

# rot_step HOST TAG KEY [VERIFY]: rewrite HOST's policy and reload its daemon.
rot_step() {
    local host=$1 tag=$2
    shift 2
    rot_drain
    rot_policy "$host" "$@"
    mxp_reload tier.1 "$tag"
    rot_flowing 3
}

# flow_run: the background mail flow; stops at $FLOW_DIR/stop or after
# FLOW_MAX messages.  Each result goes to $FLOW_DIR/sent as "N RC".
flow_run() {
    local i rc
    for (( i = 1; i <= FLOW_MAX; i++ )); do
        [ -e "$FLOW_DIR/stop" ] && break
        rc=0
        timeout 60 swaks --config --server 127.0.0.1 --port "$MX2_PORT" \
            --local-interface "$TIER_CLIENT_IP" --helo "$TIER_HELO" \
            --from "r$i@pass.example.org" --to alice@example.com \
            --header "Subject: rotation $i" --body "message $i of the key rotation" \
            --timeout 30 >"$FLOW_DIR/swaks.$i.log" 2>&1 </dev/null || rc=$?
        echo "$i $rc" >>"$FLOW_DIR/sent"
        sleep 0.5
    done
}

# flow_accepted: how many messages of the flow mx2 accepted so far.
flow_accepted() {
    awk '$2 == 0 { n++ } END { print n + 0 }' "$FLOW_DIR/sent" 2>/dev/null || echo 0
}

# flow_verified: how many stamps of mx2 mx1 verified so far.
flow_verified() {
    grep -c 'parity: verified stamp from mx2\.example\.com' "$MX1_MLOG"
}

# shellcheck disable=SC2317 # called through _itest_poll
_flow_verified_ge() {
    if grep -E 'parity: (unfiltered relay|policy drift)' "$MX1_MLOG" >&2; then
        itest_fail "mx1 did not believe a stamp of mx2 (above)" "$MX1_MLOG"
    fi
    [ "$(flow_verified)" -ge "$1" ]
}

# rot_flowing N: wait (bounded) until mx1 verified N more stamps.
rot_flowing() {
    local want
    want=$(( $(flow_verified) + $1 ))
    _itest_poll 60 _flow_verified_ge "$want" \
        || itest_fail "mx1 verified $(flow_verified) stamps, want $want (is mail flowing?)" "$MX1_MLOG"
    assert_no_grep 'parity: (unfiltered relay|policy drift)' "$MX1_MLOG"
}

# rot_drain: wait (bounded) until mx1 verified every message mx2 accepted so far.
rot_drain() {
    local want
    want=$(flow_accepted)
    _itest_poll 60 _flow_verified_ge "$want" \
        || itest_fail "mx1 verified $(flow_verified) stamps of the $want messages mx2 accepted" "$MX1_MLOG"
    assert_no_grep 'parity: (unfiltered relay|policy drift)' "$MX1_MLOG"
}

# stamp_kid FILE: the kid of FILE's first X-MXParity.
stamp_kid() {
    tier_headers "$1" X-MXParity | head -n 1 | sed -n 's/.*; kid=\([0-9a-f]*\);.*/\1/p'
}

# rot_assert_kid FILE KID WHAT: FILE's stamp is of KID.
rot_assert_kid() {
    local got
    got=$(stamp_kid "$1")
    [ "$got" = "$2" ] || itest_fail "$3: stamp of kid '$got', want $2 in $(basename "$1")" "$1" 40
    itest_log "ok: $3: kid $2"
}

# rot_capture N KID: a message to @capture.example.com (straight from mx2
# to the sink) whose stamp must be of KID and verify with stamp.py.
rot_capture() {
    local got
    tier_send "$MX2_PORT" --from "cap$1@pass.example.org" --to carol@capture.example.com \
        --header "Subject: capture $1" --body "captured at step $1"
    assert_swaks_reply 250
    sink_wait_from "cap$1@pass.example.org" 30
    rot_assert_kid "$SINK_FILE" "$2" "capture $1 (mx2's stamp)"
    got=$("${STAMP_PY[@]}" --verify @ --eml "$SINK_FILE" --sink --key "$ITEST_DIR/k1.key" \
        --key "$ITEST_DIR/k2.key" --host mx2.example.com --policy "$TIER_DIGEST" \
        --from "cap$1@pass.example.org" --rcpt carol@capture.example.com)
    [ "$got" = ok ] || itest_fail "stamp.py: capture $1: $got" "$SINK_FILE" 40
}

# --- 0. both on k1 -------------------------------------------------------------------------
rot_policy mx1 k1
rot_policy mx2 k1
tier_mx1 "$ITEST_DIR/mx1/policy.conf"
mxp_daemon MX2 mx2.example.com "$ITEST_DIR/mx2/policy.conf"
tier_mx2 MX2 MX2
# One connection per relayed message (see above).
postconf -c "$MX2_CONF" -e "smtp_connection_cache_on_demand = no" || itest_fail "postconf failed"
_pf_backdate "$MX2_CONF"
timeout 60 postfix -c "$MX2_CONF" reload >>"$MX2_PFDIR/start.log" 2>&1 \
    || itest_fail "postfix reload of mx2 failed" "$MX2_PFDIR/start.log"
rot_capture 0 "$kid1"
flow_run &
FLOW_PID=$!
itest_track_pid "$FLOW_PID"
itest_log "mail flow pid $FLOW_PID: one message every 0.5 s, at most $FLOW_MAX"
rot_flowing 3

# --- 1-6. the roll, one host at a time -------------------------------------------------------
itest_log "1: mx1 verifies k2 too"
rot_step mx1 MX1 k1 k2
itest_log "2: mx2 verifies k2 too"
rot_step mx2 MX2 k1 k2
itest_log "3: mx2 signs with k2"
rot_step mx2 MX2 k2 k1
rot_capture 3 "$kid2"
itest_log "4: mx1 signs with k2"
rot_step mx1 MX1 k2 k1
itest_log "5: mx1 drops k1"
rot_step mx1 MX1 k2
itest_log "6: mx2 drops k1"
rot_step mx2 MX2 k2

# --- 7. the flow stops ------------------------------------------------------------------------
touch "$FLOW_DIR/stop"
_itest_poll 90 _itest_pid_gone "$FLOW_PID" || itest_fail "the mail flow did not stop"
wait "$FLOW_PID" 2>/dev/null
n=$(grep -c . "$FLOW_DIR/sent")
[ "$n" -ge 21 ] || itest_fail "only $n messages in the flow"
[ "$(flow_accepted)" -eq "$n" ] || {
    awk '$2 != 0' "$FLOW_DIR/sent" >&2
    itest_fail "mx2 did not accept every message of the flow (above: N and swaks' exit code)"
}
itest_log "the flow sent $n messages"
rot_drain
# the flow, 2 captures so far
sink_wait_count "$(( n + 2 ))" 60
mapfile -t files < <(sink_files)
counts=$(grep -h '^X-Mail-Args: <r[0-9]*@pass\.example\.org>$' "${files[@]}" | sort | uniq -c)
[ "$(grep -c . <<<"$counts")" -eq "$n" ] || itest_fail "$(grep -c . <<<"$counts") distinct senders of the flow at the sink, want $n"
if awk '$1 != 1' <<<"$counts" | grep . >&2; then
    itest_fail "messages delivered more than once (above)"
fi
itest_log "ok: each of the $n messages delivered exactly once"
[ "$(flow_verified)" -eq "$n" ] || itest_fail "mx1 verified $(flow_verified) stamps, want $n" "$MX1_MLOG"
v=$(grep -E ' from=<r[0-9]+@pass\.example\.org> .* parity=verified action=' "$MX1_MLOG" | grep -c .)
[ "$v" -eq "$n" ] || itest_fail "$v summaries of the flow with parity=verified, want $n" "$MX1_MLOG"
assert_no_grep 'parity: (unfiltered relay|policy drift)' "$MX1_MLOG"
assert_no_grep 'policy reload refused' "$MX1_MLOG"
assert_no_grep 'policy reload refused' "$MX2_MLOG"
itest_log "ok: mx1 verified all $n, no unfiltered relay, no drift"
first=$(sink_file_from r1@pass.example.org)
rot_assert_kid "$first" "$kid1" "the first message (mx1's stamp)"
last=$(sink_file_from "r$n@pass.example.org")
rot_assert_kid "$last" "$kid2" "the last message (mx1's stamp)"
got=$("${STAMP_PY[@]}" --verify @ --eml "$last" --sink --key "$ITEST_DIR/k2.key" \
    --host mx1.example.com --policy "$TIER_DIGEST" --from "r$n@pass.example.org" --rcpt alice@example.com)
[ "$got" = ok ] || itest_fail "stamp.py: the last message: $got" "$last" 40
for f in "${files[@]}"; do
    k=$(stamp_kid "$f")
    [ "$k" = "$kid1" ] || [ "$k" = "$kid2" ] || itest_fail "$(basename "$f"): stamp of kid '$k'" "$f" 40
done
rot_capture 6 "$kid2"

# --- 8. a stamp of the retired key ------------------------------------------------------------------
itest_log "8: a stamp forged with the retired k1, then with k2"
for k in k1 k2; do
    cat >"$ITEST_DIR/$k.eml" <<EOF
Received: from $TIER_HELO (unknown [$TIER_CLIENT_IP])
	by mx2.example.com (Postfix) with ESMTP id 4R0T$RANDOM
	for <alice@example.com>; $(date -R)
Date: $(date -R)
To: alice@example.com
From: f-$k@pass.example.org
Subject: signed with $k
Message-Id: <$k.$$@itest.example>

a stamp made with $k
EOF
    "${STAMP_PY[@]}" --key "$ITEST_DIR/$k.key" --host mx2.example.com --tier backup \
        --policy "$TIER_DIGEST" --client "$TIER_CLIENT_IP" --helo "$TIER_HELO" \
        --from "f-$k@pass.example.org" --rcpt alice@example.com \
        --finding av=clean --finding spf=pass \
        --eml "$ITEST_DIR/$k.eml" --write "$ITEST_DIR/$k.wire" >"$ITEST_DIR/$k.stamp" \
        || itest_fail "stamp.py could not stamp $k.eml"
    tier_send "$MX1_PORT" --local-interface "$TIER_MX2_ADDR" --helo mx2.example.com \
        --from "f-$k@pass.example.org" --to alice@example.com --no-data-fixup --data "@$ITEST_DIR/$k.wire"
    assert_swaks_reply 250
    sink_wait_from "f-$k@pass.example.org" 30
    assert_grep '^X-Client-Addr: 127\.0\.0\.2$' "$SINK_FILE"
done
wait_for_grep "parity: unfiltered relay from mx2\\.example\\.com \\(unknown key kid:$kid1, ours is kid:[0-9a-f]{16}: the hosts' key files differ\\)" "$MX1_MLOG" 10
mxp_assert_summary "$MX1_MLOG" f-k1@pass.example.org ' hop=relay:mx2\.example\.com ' \
    ' spf=pass ' ' av=clean ' ' parity=unknown-key( |$)'
tier_assert_scanned_by "$(sink_file_from f-k1@pass.example.org)" mx1.example.com
mxp_assert_summary "$MX1_MLOG" f-k2@pass.example.org ' hop=relay:mx2\.example\.com ' \
    ' av=clean:stamp ' ' parity=verified( |$)'

# --- 9. the end -------------------------------------------------------------------------------------
sink_wait_count "$(( n + 5 ))" 30
_itest_poll 20 pf_queue_empty "$MX2_CONF" || itest_fail "mail left in the backup's queue" "$MX2_LOG"
_itest_poll 20 pf_queue_empty "$MX1_CONF" || itest_fail "mail left in the primary's queue" "$MX1_LOG"
assert_no_grep 'parity: policy drift' "$MX1_MLOG"
tier_counters MX1
tier_assert_counter relay_verified -eq "$(( n + 1 ))"
tier_assert_counter unfiltered_relay -eq 1
tier_assert_counter stamp_unknown_key -eq 1
tier_assert_counter drift -eq 0
mxp_assert_healthy MX1 MX2
itest_pass
