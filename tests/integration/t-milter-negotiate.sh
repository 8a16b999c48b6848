#!/bin/bash
# t-milter-negotiate.sh - the milter negotiation with each kind of MTA
# offer, played by milter_client.py against the real daemon (libmilter
# included), with a module that refuses at HELO and at a header:
#  1. protocol 6 with every action and step (Postfix 3.x, sendmail 8.17):
#     the no-reply steps and the macro requests are taken; the HELO verdict
#     is given at MAIL, the header verdict at end of message;
#  2. protocol 2 (sendmail 8.13, Postfix before 2.6, milter_protocol = 2):
#     served all the same; libmilter answers "continue" at the silent
#     stages, the verdicts still come at MAIL and end of message, and the
#     daemon says once that it cannot ask for macros;
#  3. protocol 6 without macro requests (SMFIF_SETSYMLIST): served;
#  4. actions without header changes and quarantine (version-1 actions):
#     refused with the reason logged, the daemon unharmed;
#  5. an MTA that sends no queue id: lines say NOQUEUE, logged once;
#  6. a real Postfix whose milter_*_macros lists are all empty: mxparityd's
#     requests still bring i (the lines carry Postfix's queue id), with
#     milter_protocol = 6 and also = 2 (Postfix takes macro requests at
#     either version).
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=mxp.sh
. "$(dirname "$0")/mxp.sh"

itest_init milter-negotiate
itest_require python3
printf 'alice@example.com\n' >"$ITEST_DIR/recipients"
mxp_policy "$(cat "$top_srcdir/tests/integration/policy.common")
module testmod { reject_subject = \"BUY NOW\"  reject_helo = \"bad.itest.example\" }"
mxp_start
n=0

# session NAME [milter_client args...]: one session; its output in $OUT
session() {
    local name=$1
    shift
    n=$((n + 1))
    OUT=$ITEST_DIR/client.$n.$name
    python3 "$top_srcdir/tests/integration/milter_client.py" "$MXP_PORT" --queue-id "NEG$n" \
        --from "s$n@example.org" --rcpt alice@example.com "$@" >"$OUT" 2>&1
    SESSION_RC=$?
}

# expect ERE: the last session's output has a line matching ERE
expect() {
    grep -Eq -- "$1" "$OUT" || itest_fail "/$1/ not in the answers of $(basename "$OUT")" "$OUT"
}
unexpected() {
    if grep -Eq -- "$1" "$OUT"; then itest_fail "/$1/ in the answers of $(basename "$OUT")" "$OUT"; fi
}

# offer NAME VERSION ACTIONS PROTOCOL: the three sessions of one offer (clean,
# refused at HELO, refused at a header), each with its verdict where it belongs
offer() {
    local name=$1 args=(--offer-version "$2" --offer-actions "$3" --offer-protocol "$4")
    session "$name-clean" "${args[@]}"
    [ "$SESSION_RC" -eq 0 ] || itest_fail "$name: a clean session failed" "$OUT"
    expect "^optneg: version=$2 actions=0x(131|31) "
    expect '^eom: insheader 0 X-Test-Module: '
    [ "$(tail -n 1 "$OUT")" = "eom: continue" ] || itest_fail "$name: not accepted" "$OUT"
    session "$name-helo" "${args[@]}" --helo bad.itest.example
    expect '^mail: reply 550 5\.7\.1 test module refuses HELO bad\.itest\.example'
    unexpected '^(connect|helo): (reject|reply|tempfail)'
    session "$name-header" "${args[@]}" --header "Subject: BUY NOW cheap"
    expect '^eom: reply 554 5\.7\.1 test module rejects'
    unexpected '^(header|eoh|body)[^:]*: (reject|reply|tempfail)'
    itest_log "ok: $name: verdicts at MAIL and end of message"
}

# 1. protocol 6, everything offered: no-reply steps and macro requests taken
offer everything 6 0x1ff 0x1fffff
expect '^optneg: version=6 actions=0x131 '
expect '^optneg: macros envfrom=i \{auth_authen\} eom=i eoh=i$'
unexpected '^(connect|helo|header [^:]*|eoh|body): '
mark=$(itest_mark "$MXP_LOG")

# 2. protocol 2: libmilter answers the silent stages; no macro requests
offer protocol-2 2 0x3f 0x7f
expect '^optneg: version=2 actions=0x31 protocol=0x0$'
unexpected '^optneg: macros'
expect '^helo: continue$'
expect '^header Subject: continue$'
offer protocol-2-again 2 0x3f 0x7f
wait_for_grep_from "$mark" 'the MTA cannot be asked for macros \(no SMFIF_SETSYMLIST\)' "$MXP_LOG" 10
got=$(tail -n +"$((mark + 1))" "$MXP_LOG" | grep -c 'cannot be asked for macros')
[ "$got" -eq 1 ] || itest_fail "the missing macro requests were logged $got times, want once" "$MXP_LOG"

# 3. protocol 6 without SMFIF_SETSYMLIST
offer no-setsymlist 6 0xff 0x1fffff
expect '^optneg: version=6 actions=0x31 '
unexpected '^optneg: macros'

# 4. version-1 actions: no header changes, no quarantine
mark=$(itest_mark "$MXP_LOG")
session v1-actions --offer-version 2 --offer-actions 0x0f --offer-protocol 0x3f
[ "$SESSION_RC" -eq 1 ] || itest_fail "version-1 actions: the session was not refused (exit $SESSION_RC)" "$OUT"
expect '^error: .*closed the connection'
wait_for_grep_from "$mark" 'the MTA offers milter actions 0xf, without 0x30 .*refusing the milter connection' "$MXP_LOG" 10

# 5. no queue id: NOQUEUE on the lines, the missing macro logged once
mark=$(itest_mark "$MXP_LOG")
session no-qid-1 --no-queue-id --from noqid@example.org
session no-qid-2 --no-queue-id --from noqid@example.org
[ "$(tail -n 1 "$OUT")" = "eom: continue" ] || itest_fail "no queue id: not accepted" "$OUT"
wait_for_grep_from "$mark" 'NOQUEUE: client=.* from=<noqid@example\.org> .*action=accept' "$MXP_LOG" 10
got=$(tail -n +"$((mark + 1))" "$MXP_LOG" | grep -c 'sent no queue id (macro i)')
[ "$got" -eq 1 ] || itest_fail "the missing queue id was logged $got times, want once" "$MXP_LOG"

# 6. a real Postfix with empty macro lists, protocol 6 and then 2
no_macros=("milter_connect_macros =" "milter_helo_macros =" "milter_mail_macros ="
    "milter_rcpt_macros =" "milter_data_macros =" "milter_end_of_header_macros ="
    "milter_end_of_data_macros =")
sink_start
pf_start "$(mxp_milter)" "${no_macros[@]}"
swaks_send --from pf6@example.org --to alice@example.com --header "Subject: no macro lists"
assert_swaks_reply 250
qid=$(grep -oE 'queued as [0-9A-Z]+' "$SWAKS_LOG" | awk '{ print $3 }')
[ -n "$qid" ] || itest_fail "no queue id in Postfix's reply" "$SWAKS_LOG"
mxp_assert_summary "$MXP_LOG" pf6@example.org "^mxparityd: $qid: client="
pf_start "$(mxp_milter)" "${no_macros[@]}" "milter_protocol = 2"
swaks_send --from pf2@example.org --to alice@example.com --header "Subject: protocol 2"
assert_swaks_reply 250
qid=$(grep -oE 'queued as [0-9A-Z]+' "$SWAKS_LOG" | awk '{ print $3 }')
mxp_assert_summary "$MXP_LOG" pf2@example.org "^mxparityd: $qid: client="
sink_wait_count 2 30

mxp_assert_healthy
itest_pass
