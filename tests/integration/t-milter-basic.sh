#!/bin/bash
# t-milter-basic.sh - a real Postfix with mxparityd as its milter:
#  1. a clean message reaches the sink with the test module's header added,
#     the forged header removed, and one summary line in the daemon's log;
#  2. an unknown recipient of a listed domain gets 550 5.1.1 at RCPT;
#  3. a recipient of another domain passes;
#  4. a module reject at end of message is the SMTP reply the client sees;
#  5. a module reject at HELO reaches the client at MAIL (the daemon asks
#     Postfix for no reply at HELO) and nothing is delivered.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=mxp.sh
. "$(dirname "$0")/mxp.sh"

itest_init milter-basic
printf 'alice@example.com\nbob@example.com\n' >"$ITEST_DIR/recipients"
mxp_policy "$(cat "$top_srcdir/tests/integration/policy.common")
module testmod { remove_header = \"X-Forged\"  reject_subject = \"BUY NOW\"
  reject_helo = \"bad.itest.example\" }"
mxp_start
sink_start
pf_start "$(mxp_milter)"

# 1. accepted, edited, logged
swaks_send --to alice@example.com --header "Subject: clean one" --header "X-Forged: trust me" \
    --body "hello from the harness"
assert_swaks_reply 250
sink_wait_count 1 30
sink_grep '^X-Test-Module: host=mx1\.example\.com tier=primary hop=edge rcpts=1'
sink_no_grep '^X-Forged:'
sink_grep '^Subject: clean one'
qid=$(grep -oE 'queued as [0-9A-Z]+' "$SWAKS_LOG" | awk '{print $3}')
[ -n "$qid" ] || itest_fail "no queue id in the reply" "$SWAKS_LOG"
wait_for_grep "$qid: client=[^ ]+\[127\.0\.0\.1\] hop=edge from=<sender@example\.com> rcpts=1 size=[0-9]+ rcpt=ok test=ok:[0-9]+:[0-9]+:1 action=accept policy=[0-9a-f]{8} ms=[0-9.]+" "$MXP_LOG" 10

# 2. unknown recipient of a listed domain
swaks_send --to nobody@example.com --header "Subject: to nobody"
assert_swaks_reply "550 5.1.1"
assert_grep '<nobody@example\.com>: Recipient address rejected: User unknown' "$SWAKS_LOG"
wait_for_grep 'reject: RCPT from [^ ]+\[127\.0\.0\.1\]: 550 5\.1\.1 .* to=<nobody@example\.com> hop=edge' "$MXP_LOG" 10

# 3. another domain is not ours to judge
swaks_send --to someone@elsewhere.example --header "Subject: elsewhere"
assert_swaks_reply 250
sink_wait_count 2 30

# 4. a module reject at end of message
swaks_send --to bob@example.com --header "Subject: BUY NOW cheap"
assert_swaks_reply "554 5.7.1"
assert_grep 'test module rejects' "$SWAKS_LOG"
wait_for_grep 'test=reject action=reject' "$MXP_LOG" 10

# 5. a module reject at HELO, given at MAIL
swaks_send --helo bad.itest.example --to alice@example.com --header "Subject: bad helo"
assert_grep '^<-  250 CHUNKING' "$SWAKS_LOG" # EHLO itself was accepted
assert_swaks_reply "550 5.7.1"
assert_grep '^<\*\* 550 5\.7\.1 test module refuses HELO bad\.itest\.example' "$SWAKS_LOG"
assert_no_grep '^ -> RCPT TO' "$SWAKS_LOG"
wait_for_grep 'reject: MAIL from [^ ]+\[127\.0\.0\.1\]: 550 5\.7\.1 test module refuses HELO' "$MXP_LOG" 10
sleep 1
[ "$(sink_count)" -eq 2 ] || itest_fail "the sink holds $(sink_count) messages, want 2"
assert_no_sanitizer "$MXP_LOG"
itest_pass
