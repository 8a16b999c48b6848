#!/bin/bash
# t-sm-header-limit.sh - the policy's header limits behind a real sendmail
# (max_headers = 30, max_header_length = 2K): 31 header fields get 552
# 5.3.4 "Too many message header fields" at the end of DATA, one 3,000-byte
# field 552 5.3.4 "Message header field too long" (a verdict reached at a
# silent stage, given at end of message); 20 fields pass.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=mxp.sh
. "$(dirname "$0")/mxp.sh"
# shellcheck source-path=SCRIPTDIR source=tier.sh
. "$(dirname "$0")/tier.sh"
# shellcheck source-path=SCRIPTDIR source=sendmail.sh
. "$(dirname "$0")/sendmail.sh"

sm_scenario sm-header-limit "limits { max_headers = 30  max_header_length = 2K }"
many=()
for i in $(seq 1 31); do many+=(--add-header "X-Filler-$i: value $i"); done
sm_send --from h1@pass.example.org --header "Subject: many headers" "${many[@]}"
assert_swaks_reply "552 5.3.4 Too many message header fields"
assert_grep '<- *354 ' "$SWAKS_LOG" # DATA itself was accepted: the verdict came at its end
mxp_assert_summary "$MX1_MLOG" h1@pass.example.org ' action=reject '
sm_send --from h2@pass.example.org --header "Subject: long header" \
    --add-header "X-Long: $(head -c 3000 /dev/zero | tr '\0' a)"
assert_swaks_reply "552 5.3.4 Message header field too long"
assert_grep '<- *354 ' "$SWAKS_LOG"
mxp_assert_summary "$MX1_MLOG" h2@pass.example.org ' action=reject '
sm_send --from h3@pass.example.org --header "Subject: few headers" "${many[@]:0:40}"
assert_swaks_reply "250 2.0.0"
sink_wait_from h3@pass.example.org 30
sink_assert_none_from h1@pass.example.org
sink_assert_none_from h2@pass.example.org
mxp_assert_healthy MX1
itest_pass
