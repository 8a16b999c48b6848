#!/bin/bash
# t-tier-replay.sh - stamps (v=2) replayed or forged to the primary from
# the backup's own address (see tier.sh): a stamp binds the envelope, the
# headers that matter and a time, so a real stamp of mx2 cannot be reused
# for another sender, other recipients, other headers or too late.  Every
# message here goes from 127.0.0.3 (mx2's address, HELO mx2.example.com)
# straight to mx1's Postfix; stamp.py is the test's own implementation of
# the format, to forge stamps and to check the ones the daemons make.
#  1. capture a real stamp: mail to @capture.example.com leaves mx2 straight
#     for the sink; its header fields are written in the ways the hash must
#     see through (case of names, folding, blanks, a field twice), its body
#     has a line with a leading dot; stamp.py --verify agrees with the stamp
#     (kid, host, policy, envelope, headers, body, findings f.av=clean
#     f.spf=pass) and refuses it for another recipient;
#  2. replay it (the message exactly as mx2 sent it, its Received header
#     naming the original client 127.0.0.10) to mx1:
#     a. the stamped envelope (both recipients): "parity: verified stamp
#        from mx2.example.com", parity=verified, av=clean:stamp, delivered,
#        mx1's own stamp there verifies with stamp.py (client=127.0.0.10);
#     b. MAIL FROM a sender whose SPF allows only 127.0.0.3: "(sender
#        differs)", parity=sender-differs, SPF checked again for the
#        original client: spf=fail, refused 5.7.23, nothing delivered;
#     c. RCPT TO another recipient: "(recipients differ)",
#        parity=recipients-differ, scanned again (av=clean, X-Virus-Scanned
#        by mx1), delivered with mx1's stamp;
#     d. one of the two stamped recipients: verified (a relay may split
#        recipients across transactions), delivered;
#     e. the attack of the issue: the base64 text of EICAR sent to the
#        backup as text/plain (av=clean there, captured with its stamp),
#        replayed with Content-Type: application/octet-stream and
#        Content-Transfer-Encoding: base64 added: "(headers differ)",
#        parity=headers-differ, mx1 scans it: 554 5.7.1 Virus found;
#  3. forged with stamp.py and the real key, everything else right:
#     a. ts 6 days ago: "(stale stamp)", parity=stale, filtered again,
#        delivered; b. ts 1 hour ahead: "(stale stamp)" as well;
#  4. signed with a key the policy does not have (a retired one):
#     "(unknown key kid:KID, ours is kid:OURS: ...)", parity=unknown-key, filtered again, delivered;
#  5. a v=1 stamp (today's format at HEAD, with a correct v=1 mac) saying
#     av=clean on EICAR: "(v=1 stamp)", parity=v1-stamp, mx1 scans it:
#     554 5.7.1 Virus found;
#  6. a valid stamp saying f.av=infected:Mxparity.Test.EICAR.UNOFFICIAL on
#     EICAR: verified, and mx1 applies its own on_infected = reject:
#     554 5.7.1 Virus found, av=infected:NAME:stamp (no tag, no delivery);
#  7. mx1's counters: unfiltered_relay=7 relay_verified=3 drift=0,
#     stamp_stale=2 (3a, 3b), stamp_replayed=3 (2b, 2c, 2e); nothing left in
#     a queue, no bounce.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=mxp.sh
. "$(dirname "$0")/mxp.sh"
# shellcheck source-path=SCRIPTDIR source=tier.sh
. "$(dirname "$0")/tier.sh"

tier_init tier-replay
tier_common
tier_mx1
mxp_daemon MX2 mx2.example.com "$TIER_POLICY"
tier_mx2 MX2 MX2
STAMP_PY=(python3 "${top_srcdir:?}/tests/integration/stamp.py")
key=$ITEST_DIR/parity.key
kid=$("${STAMP_PY[@]}" --kid --key "$key")
delivered=0
eicar_body=$(printf 'Hello,\n%s\nbye\n' "$(mxp_eicar)")
NEW_FILE=''

# replay_send FILE FROM TO: FILE (a stamp.py --write/--wire output) as it
# is, from mx2's address to mx1's Postfix (TO: comma-separated).
replay_send() {
    tier_send "$MX1_PORT" --local-interface "$TIER_MX2_ADDR" --helo mx2.example.com \
        --from "$2" --to "$3" --no-data-fixup --data "@$1"
}

# replay_assert_reply ERE: the last reply of swaks matches ERE.
replay_assert_reply() {
    local got
    got=$(swaks_reply)
    grep -Eq -- "$1" <<<"$got" || itest_fail "expected a reply /$1/, got '${got:-<none>}'" "$SWAKS_LOG" 40
    itest_log "ok: reply '$got'"
}

# replay_summary MARK SENDER: the first summary line of SENDER in mx1's log
# after line MARK.
replay_summary() {
    tail -n +"$(( $1 + 1 ))" "$MX1_MLOG" | grep -F " from=<$2> " | grep -E ' action=[a-z]+( |$)' | head -n 1
}

# shellcheck disable=SC2317 # called through _itest_poll
_replay_has_summary() {
    [ -n "$(replay_summary "$1" "$2")" ]
}

# replay_assert_summary MARK SENDER ERE...: that line exists and matches
# every ERE.
replay_assert_summary() {
    local mark=$1 from=$2 line pat
    shift 2
    _itest_poll 20 _replay_has_summary "$mark" "$from" || true
    line=$(replay_summary "$mark" "$from")
    [ -n "$line" ] || itest_fail "no summary line for <$from> in mx1's log after line $mark" "$MX1_MLOG"
    for pat in "$@"; do
        grep -E -q -- "$pat" <<<"$line" \
            || itest_fail "mx1's summary of <$from> does not match /$pat/: '$line'" "$MX1_MLOG"
    done
    itest_log "ok: mx1: $line"
}

# replay_assert_unfiltered MARK REASON: mx1 logged "parity: unfiltered
# relay from mx2.example.com (REASON)" after line MARK (REASON: an ERE).
replay_assert_unfiltered() {
    wait_for_grep_from "$1" "parity: unfiltered relay from mx2\\.example\\.com \\($2\\)" "$MX1_MLOG" 10
    itest_log "ok: mx1: unfiltered relay from mx2.example.com ($2)"
}

# replay_assert_verified MARK: mx1 logged "parity: verified stamp from
# mx2.example.com" after line MARK, and no unfiltered relay.
replay_assert_verified() {
    wait_for_grep_from "$1" 'parity: verified stamp from mx2\.example\.com' "$MX1_MLOG" 10
    if tail -n +"$(( $1 + 1 ))" "$MX1_MLOG" | grep -E 'parity: (unfiltered relay|policy drift)' >&2; then
        itest_fail "mx1 logged the lines above for a stamp that should verify" "$MX1_MLOG"
    fi
}

# replay_snap: remember the sink's messages; replay_wait_new then waits for
# the one message that came after, and leaves its path in NEW_FILE.
replay_snap() {
    sink_files | sort >"$ITEST_DIR/sink.before"
}

_replay_new() {
    sink_files | sort | comm -13 "$ITEST_DIR/sink.before" -
}

# shellcheck disable=SC2317 # called through _itest_poll
_replay_has_new() {
    [ -n "$(_replay_new)" ]
}

replay_wait_new() {
    _itest_poll 30 _replay_has_new || itest_fail "no new message reached the sink within 30 s" "$MX1_LOG"
    sleep 0.5 # anything else that would come along with it
    NEW_FILE=$(_replay_new)
    [ "$(grep -c . <<<"$NEW_FILE")" -eq 1 ] || itest_fail "more than one new sink message: $NEW_FILE"
    assert_grep '^X-Client-Addr: 127\.0\.0\.2$' "$NEW_FILE"
}

# replay_assert_no_new: nothing reached the sink since replay_snap.
replay_assert_no_new() {
    local f
    sleep 1
    f=$(_replay_new)
    [ -z "$f" ] || itest_fail "a message reached the sink: $f" "$f" 40
}

# stamp_check FILE WANT STAMP.PY-ARGS...: stamp.py --verify of FILE's first
# X-MXParity (FILE: a sink dump) prints WANT.
stamp_check() {
    local file=$1 want=$2 got
    shift 2
    got=$("${STAMP_PY[@]}" --verify @ --eml "$file" --sink --key "$key" "$@" 2>"$ITEST_DIR/stamp.err")
    [ "$got" = "$want" ] || itest_fail "stamp.py --verify of $(basename "$file") says '$got', want '$want'" "$ITEST_DIR/stamp.err"
}

# replay_assert_mx1_stamp FILE FROM RCPT...: FILE (a sink message) has one
# X-MXParity, mx1's, for the original client, which stamp.py verifies for
# that envelope.
replay_assert_mx1_stamp() {
    local file=$1 from=$2 stamps n r term rcpts=()
    shift 2
    for r in "$@"; do rcpts+=(--rcpt "$r"); done
    stamps=$(tier_headers "$file" X-MXParity)
    n=$(grep -c . <<<"$stamps")
    [ "$n" -eq 1 ] || itest_fail "$file: $n X-MXParity headers, want exactly 1 (mx1's)" "$file" 60
    for term in "kid=$kid" host=mx1.example.com tier=primary "client=$TIER_CLIENT_IP" "helo=$TIER_HELO"; do
        case "$stamps;" in
            "X-MXParity: v=2;"*" $term;"*) ;;
            *) itest_fail "$file: mx1's v=2 stamp has no '$term': '$stamps'" "$file" 60 ;;
        esac
    done
    stamp_check "$file" ok --host mx1.example.com --policy "$TIER_DIGEST" --from "$from" "${rcpts[@]}"
    itest_log "ok: mx1's stamp in $(basename "$file") verifies with stamp.py"
}

# forge_eml NAME FROM SUBJECT BODY: $ITEST_DIR/NAME.eml, a message as mx2
# would relay it: mx2's Received header naming the original client first.
forge_eml() {
    cat >"$ITEST_DIR/$1.eml" <<EOF
Received: from $TIER_HELO (unknown [$TIER_CLIENT_IP])
	by mx2.example.com (Postfix) with ESMTP id 4F0RG$RANDOM
	for <alice@example.com>; $(date -R)
Date: $(date -R)
To: alice@example.com
From: $2
Subject: $3
Message-Id: <$1.$$@itest.example>

$4
EOF
}

# forge NAME FROM [STAMP.PY ARGS...]: stamp $ITEST_DIR/NAME.eml for FROM ->
# alice@example.com as mx2 would (unless ARGS say otherwise), into
# $ITEST_DIR/NAME.wire.
forge() {
    local name=$1 from=$2
    shift 2
    "${STAMP_PY[@]}" --key "$key" --host mx2.example.com --tier backup --policy "$TIER_DIGEST" \
        --client "$TIER_CLIENT_IP" --helo "$TIER_HELO" --from "$from" --rcpt alice@example.com \
        --finding av=clean --finding spf=pass --eml "$ITEST_DIR/$name.eml" \
        --write "$ITEST_DIR/$name.wire" "$@" >"$ITEST_DIR/$name.stamp" \
        || itest_fail "stamp.py could not stamp $name.eml"
    itest_log "forged: $(cat "$ITEST_DIR/$name.stamp")"
}

# --- 1. capture a real stamp ------------------------------------------------------
itest_log "1: capture a stamp of mx2 (two recipients)"
# Header fields the hash covers, in the ways a header may be written: names
# in any case, folded values, runs of blanks (kept as they are), trailing
# blanks (trimmed), a field twice.
{
    printf 'Date: %s\n' "$(date -R)"
    printf 'From: "The sender" <c1@pass.example.org>\n'
    printf 'To: carol@capture.example.com,\n\tdave@capture.example.com\n'
    printf 'Cc: one@capture.example.com\n'
    printf 'CC:   two@capture.example.com  \n'
    printf 'Subject: replay   capture,\n\t folded\twith tabs\n'
    printf 'MIME-Version: 1.0\n'
    printf 'content-TYPE: text/plain;\n charset=us-ascii\n'
    printf 'Message-Id: <c1.%s@itest.example>\n' "$$"
    printf 'Reply-To: c1@pass.example.org\n'
    printf 'X-Not-Bound: not in the hash\n'
    printf '\nthe message mx2 stamped for carol and dave\n.a line with a leading dot\n'
} >"$ITEST_DIR/c1.eml"
"${STAMP_PY[@]}" --wire --eml "$ITEST_DIR/c1.eml" --write "$ITEST_DIR/c1.in.wire" \
    || itest_fail "stamp.py --wire failed"
tier_send "$MX2_PORT" --from c1@pass.example.org \
    --to carol@capture.example.com,dave@capture.example.com \
    --no-data-fixup --data "@$ITEST_DIR/c1.in.wire"
assert_swaks_reply 250
delivered=$((delivered + 1))
sink_wait_from c1@pass.example.org 30
cap=$SINK_FILE
assert_grep '^X-Client-Addr: 127\.0\.0\.3$' "$cap"
! grep -qF 'from=<c1@pass.example.org>' "$MX1_MLOG" || itest_fail "the capture went through mx1" "$MX1_MLOG"
stamp=$(tier_headers "$cap" X-MXParity)
[ "$(grep -c . <<<"$stamp")" -eq 1 ] || itest_fail "$cap: want one X-MXParity, mx2's" "$cap" 60
case $stamp in
    "X-MXParity: v=2; kid=$kid; host=mx2.example.com; tier=backup; policy=$TIER_DIGEST;"*) ;;
    *) itest_fail "not a v=2 stamp of mx2 with kid $kid and $TIER_DIGEST: '$stamp'" "$cap" 60 ;;
esac
itest_log "captured: $stamp"
stamp_check "$cap" ok --host mx2.example.com --policy "$TIER_DIGEST" --from c1@pass.example.org \
    --rcpt carol@capture.example.com --rcpt dave@capture.example.com \
    --finding av=clean --finding spf=pass
stamp_check "$cap" "recipients differ" --from c1@pass.example.org --rcpt eve@capture.example.com
itest_log "ok: stamp.py verifies mx2's stamp"
"${STAMP_PY[@]}" --wire --eml "$cap" --sink --write "$ITEST_DIR/c1.wire" \
    || itest_fail "stamp.py --wire failed"

# --- 2a. the same envelope ------------------------------------------------------------
itest_log "2a: replay with the stamped envelope"
mark=$(itest_mark "$MX1_MLOG")
replay_snap
replay_send "$ITEST_DIR/c1.wire" c1@pass.example.org carol@capture.example.com,dave@capture.example.com
assert_swaks_reply 250
delivered=$((delivered + 1))
replay_assert_verified "$mark"
replay_assert_summary "$mark" c1@pass.example.org \
    ' client=unknown\[127\.0\.0\.3\] hop=relay:mx2\.example\.com ' ' rcpts=2 ' ' spf=pass ' \
    ' av=clean:stamp ' ' parity=verified( |$)'
replay_wait_new
replay_assert_mx1_stamp "$NEW_FILE" c1@pass.example.org carol@capture.example.com dave@capture.example.com

# --- 2b. another sender --------------------------------------------------------------
itest_log "2b: replay for another sender (SPF: only 127.0.0.3 may send)"
mark=$(itest_mark "$MX1_MLOG")
replay_snap
replay_send "$ITEST_DIR/c1.wire" b2@backup-only.example.org carol@capture.example.com,dave@capture.example.com
replay_assert_reply '^5[0-9][0-9] 5\.7\.23 '
replay_assert_unfiltered "$mark" 'sender differs'
replay_assert_summary "$mark" b2@backup-only.example.org \
    ' hop=relay:mx2\.example\.com ' ' spf=fail ' ' action=reject ' ' parity=sender-differs( |$)'
! replay_summary "$mark" b2@backup-only.example.org | grep -qF ':stamp' \
    || itest_fail "mx1 took a finding of the stamp for another sender" "$MX1_MLOG"
replay_assert_no_new

# --- 2c. another recipient -----------------------------------------------------------
itest_log "2c: replay onto another recipient"
mark=$(itest_mark "$MX1_MLOG")
replay_snap
replay_send "$ITEST_DIR/c1.wire" c1@pass.example.org eve@capture.example.com
assert_swaks_reply 250
delivered=$((delivered + 1))
replay_assert_unfiltered "$mark" 'recipients differ'
replay_assert_summary "$mark" c1@pass.example.org \
    ' hop=relay:mx2\.example\.com ' ' rcpts=1 ' ' spf=pass ' ' av=clean ' ' parity=recipients-differ( |$)'
replay_wait_new
assert_grep '^X-Rcpt-Args: <eve@capture\.example\.com>' "$NEW_FILE"
tier_assert_scanned_by "$NEW_FILE" mx1.example.com
tier_assert_ar "$NEW_FILE" pass c1@pass.example.org
replay_assert_mx1_stamp "$NEW_FILE" c1@pass.example.org eve@capture.example.com

# --- 2d. a subset of the recipients ----------------------------------------------------
itest_log "2d: replay to one of the two stamped recipients"
mark=$(itest_mark "$MX1_MLOG")
replay_snap
replay_send "$ITEST_DIR/c1.wire" c1@pass.example.org dave@capture.example.com
assert_swaks_reply 250
delivered=$((delivered + 1))
replay_assert_verified "$mark"
replay_assert_summary "$mark" c1@pass.example.org ' rcpts=1 ' ' av=clean:stamp ' ' parity=verified( |$)'
replay_wait_new
assert_grep '^X-Rcpt-Args: <dave@capture\.example\.com>' "$NEW_FILE"
assert_no_grep '^X-Rcpt-Args: <carol@' "$NEW_FILE"
replay_assert_mx1_stamp "$NEW_FILE" c1@pass.example.org dave@capture.example.com

# --- 2e. base64 EICAR, text/plain at the backup, relabelled -------------------------------
itest_log "2e: the base64 text of EICAR, clean as text/plain at mx2, relabelled for mx1"
tier_send "$MX2_PORT" --from e5@pass.example.org --to carol@capture.example.com \
    --header "Subject: replay base64" --body "$(mxp_eicar | base64)"
assert_swaks_reply 250
delivered=$((delivered + 1))
mxp_assert_summary "$MX2_MLOG" e5@pass.example.org ' hop=edge ' ' av=clean '
sink_wait_from e5@pass.example.org 30
cap=$SINK_FILE
stamp_check "$cap" ok --host mx2.example.com --from e5@pass.example.org \
    --rcpt carol@capture.example.com --finding av=clean
"${STAMP_PY[@]}" --wire --eml "$cap" --sink --write "$ITEST_DIR/e5.wire" \
    --add-header "Content-Type: application/octet-stream" \
    --add-header "Content-Transfer-Encoding: base64" || itest_fail "stamp.py --wire failed"
got=$("${STAMP_PY[@]}" --verify @ --eml "$ITEST_DIR/e5.wire" --key "$key" \
    --from e5@pass.example.org --rcpt carol@capture.example.com)
[ "$got" = "headers differ" ] || itest_fail "stamp.py says '$got' for the relabelled message"
mark=$(itest_mark "$MX1_MLOG")
replay_snap
replay_send "$ITEST_DIR/e5.wire" e5@pass.example.org carol@capture.example.com
replay_assert_reply "^554 5\\.7\\.1 Virus found: $TIER_EICAR_NAME"
replay_assert_unfiltered "$mark" 'headers differ'
replay_assert_summary "$mark" e5@pass.example.org ' hop=relay:mx2\.example\.com ' \
    " av=infected:$TIER_EICAR_NAME " ' action=reject ' ' parity=headers-differ( |$)'
replay_assert_no_new

# --- 3. stale stamps --------------------------------------------------------------------
itest_log "3a: a stamp of 6 days ago"
forge_eml s3 s3@pass.example.org "replay stale" "stamped six days ago"
forge s3 s3@pass.example.org --ts "$(( $(date +%s) - 6 * 86400 ))"
mark=$(itest_mark "$MX1_MLOG")
replay_snap
replay_send "$ITEST_DIR/s3.wire" s3@pass.example.org alice@example.com
assert_swaks_reply 250
delivered=$((delivered + 1))
replay_assert_unfiltered "$mark" 'stale stamp'
replay_assert_summary "$mark" s3@pass.example.org ' hop=relay:mx2\.example\.com ' \
    ' spf=pass ' ' av=clean ' ' parity=stale( |$)'
replay_wait_new
tier_assert_scanned_by "$NEW_FILE" mx1.example.com
replay_assert_mx1_stamp "$NEW_FILE" s3@pass.example.org alice@example.com

itest_log "3b: a stamp of 1 hour ahead"
forge_eml t3 t3@pass.example.org "replay future" "stamped an hour from now"
forge t3 t3@pass.example.org --ts "$(( $(date +%s) + 3600 ))"
mark=$(itest_mark "$MX1_MLOG")
replay_snap
replay_send "$ITEST_DIR/t3.wire" t3@pass.example.org alice@example.com
assert_swaks_reply 250
delivered=$((delivered + 1))
replay_assert_unfiltered "$mark" 'stale stamp'
replay_assert_summary "$mark" t3@pass.example.org ' spf=pass ' ' av=clean ' ' parity=stale( |$)'
replay_wait_new
tier_assert_scanned_by "$NEW_FILE" mx1.example.com

# --- 4. a key the policy does not have ---------------------------------------------------
itest_log "4: a stamp signed with a retired key"
(umask 077 && head -c 48 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$ITEST_DIR/retired.key")
retired=$("${STAMP_PY[@]}" --kid --key "$ITEST_DIR/retired.key")
[ "$retired" != "$kid" ] || itest_fail "the retired key has the kid of the real one"
forge_eml k4 k4@pass.example.org "replay retired key" "signed with a key mx1 no longer has"
forge k4 k4@pass.example.org --key "$ITEST_DIR/retired.key"
grep -qF "kid=$retired;" "$ITEST_DIR/k4.stamp" || itest_fail "stamp.py did not sign with the retired key"
mark=$(itest_mark "$MX1_MLOG")
replay_snap
replay_send "$ITEST_DIR/k4.wire" k4@pass.example.org alice@example.com
assert_swaks_reply 250
delivered=$((delivered + 1))
replay_assert_unfiltered "$mark" "unknown key kid:$retired, ours is kid:[0-9a-f]{16}: the hosts' key files differ"
replay_assert_summary "$mark" k4@pass.example.org ' hop=relay:mx2\.example\.com ' \
    ' spf=pass ' ' av=clean ' ' parity=unknown-key( |$)'
replay_wait_new
tier_assert_scanned_by "$NEW_FILE" mx1.example.com

# --- 5. a v=1 stamp -------------------------------------------------------------------------
itest_log "5: a v=1 stamp saying av=clean, on EICAR"
forge_eml v5 v5@pass.example.org "replay v1" "$eicar_body"
forge v5 v5@pass.example.org --v1
case $(cat "$ITEST_DIR/v5.stamp") in
    "v=1; host=mx2.example.com; tier=backup; policy=$TIER_DIGEST; client=$TIER_CLIENT_IP;"*"; spf=pass; av=clean; bh="*"; mac="*) ;;
    *) itest_fail "stamp.py --v1 wrote '$(cat "$ITEST_DIR/v5.stamp")'" ;;
esac
mark=$(itest_mark "$MX1_MLOG")
replay_snap
replay_send "$ITEST_DIR/v5.wire" v5@pass.example.org alice@example.com
replay_assert_reply "^554 5\\.7\\.1 Virus found: $TIER_EICAR_NAME"
replay_assert_unfiltered "$mark" 'v=1 stamp'
replay_assert_summary "$mark" v5@pass.example.org ' hop=relay:mx2\.example\.com ' ' spf=pass ' \
    " av=infected:$TIER_EICAR_NAME " ' action=reject ' ' parity=v1-stamp( |$)'
replay_assert_no_new

# --- 6. a valid stamp that says infected -----------------------------------------------------
itest_log "6: a valid stamp saying f.av=infected, on EICAR"
forge_eml i6 i6@pass.example.org "replay infected" "$eicar_body"
forge i6 i6@pass.example.org --finding "av=infected:$TIER_EICAR_NAME"
grep -qF "; f.av=infected:$TIER_EICAR_NAME; f.spf=pass; bh=" "$ITEST_DIR/i6.stamp" \
    || itest_fail "stamp.py did not write f.av=infected: '$(cat "$ITEST_DIR/i6.stamp")'"
mark=$(itest_mark "$MX1_MLOG")
replay_snap
replay_send "$ITEST_DIR/i6.wire" i6@pass.example.org alice@example.com
replay_assert_reply "^554 5\\.7\\.1 Virus found: $TIER_EICAR_NAME"
replay_assert_verified "$mark"
replay_assert_summary "$mark" i6@pass.example.org ' hop=relay:mx2\.example\.com ' \
    " av=infected:$TIER_EICAR_NAME:stamp " ' action=reject ' ' parity=verified( |$)'
wait_for_grep "milter-reject: END-OF-MESSAGE from [^ ]*\\[127\\.0\\.0\\.3\\]: 5\\.7\\.1 Virus found: $TIER_EICAR_NAME; from=<i6@pass\\.example\\.org>" "$MX1_LOG" 10
replay_assert_no_new

# --- the end ------------------------------------------------------------------------------
sink_wait_count "$delivered" 30
for s in b2@backup-only.example.org v5@pass.example.org i6@pass.example.org ""; do
    sink_assert_none_from "$s"
done
[ "$(sink_file_from e5@pass.example.org | grep -c .)" -eq 1 ] || itest_fail "the relabelled EICAR reached the sink"
[ "$(sink_file_from c1@pass.example.org | grep -c .)" -eq 4 ] \
    || itest_fail "want 4 sink messages from c1 (the capture, 2a, 2c, 2d)"
assert_no_grep 'sender non-delivery notification' "$MX1_LOG"
assert_no_grep 'sender non-delivery notification' "$MX2_LOG"
_itest_poll 20 pf_queue_empty "$MX2_CONF" || itest_fail "mail left in the backup's queue" "$MX2_LOG"
_itest_poll 20 pf_queue_empty "$MX1_CONF" || itest_fail "mail left in the primary's queue" "$MX1_LOG"
assert_no_grep 'parity: policy drift' "$MX1_MLOG"
tier_counters MX1
tier_assert_counter unfiltered_relay -eq 7
tier_assert_counter relay_verified -eq 3
tier_assert_counter drift -eq 0
tier_assert_counter stamp_stale -eq 2
tier_assert_counter stamp_replayed -eq 3
tier_assert_counter stamp_unknown_key -eq 1
tier_assert_counter stamp_other -eq 1 # the v=1 stamp
tier_assert_counter stamp_bad_mac -eq 0
tier_assert_counter stamp_missing -eq 0
mxp_assert_healthy MX1 MX2
itest_pass
