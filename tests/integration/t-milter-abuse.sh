#!/bin/bash
# t-milter-abuse.sh - hostile milter-protocol peers (milter_abuse.py) against
# mxparityd with the policy of policy.common; after each case the daemon
# still runs (the same pid, no sanitizer report) and answers a normal
# session normally:
#  1. packet lengths 0 and 2^32-1, a truncated packet: the connection is
#     closed (at once, or by the -T 5 timeout when libmilter waits for more);
#  2. commands out of order (body, end of headers and end of message before
#     any connection or message): answered or closed, never a crash;
#  3. a 1 MB header (beyond the negotiated packet size): closed or refused;
#  4. 100,000 headers: 552 at end of message (max_headers);
#  5. 10,000 recipients: all but the first 1000 refused with 452
#     (max_recipients);
#  6. NUL bytes and invalid UTF-8 in the client name, HELO, recipients,
#     header names and values and the body;
#  7. 5,000-byte values in every macro and in the sender;
#  8. 500 idle connections opened at once and closed.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=mxp.sh
. "$(dirname "$0")/mxp.sh"

itest_init milter-abuse
itest_require python3
printf 'alice@example.com\n' >"$ITEST_DIR/recipients"
mxp_modules
mxp_policy "$(cat "$top_srcdir/tests/integration/policy.common")"
mxp_start -T 5 # a peer that says nothing is closed after 5 s
pid=$MXP_PID
n=0

# normal_session: a plain message, answered as usual, by the same daemon
normal_session() {
    n=$((n + 1))
    python3 "$top_srcdir/tests/integration/milter_client.py" "$MXP_PORT" --queue-id "OK$n" \
        --from "ok$n@example.org" --rcpt alice@example.com >"$ITEST_DIR/normal.$n" 2>&1 \
        || itest_fail "a normal session after '$1' failed" "$ITEST_DIR/normal.$n"
    [ "$(tail -n 1 "$ITEST_DIR/normal.$n")" = "eom: continue" ] \
        || itest_fail "a normal session after '$1' was not accepted" "$ITEST_DIR/normal.$n"
    kill -0 "$pid" 2>/dev/null || itest_fail "mxparityd (pid $pid) died after '$1'" "$MXP_LOG"
    assert_no_sanitizer "$MXP_LOG"
}

for c in zero-length huge-length truncated out-of-order big-header many-headers many-rcpts \
    nul-and-bytes long-macros idle; do
    out=$ITEST_DIR/abuse.$c
    timeout 120 python3 "$top_srcdir/tests/integration/milter_abuse.py" "$MXP_PORT" "$c" >"$out" 2>&1 \
        || itest_fail "case $c: the daemon did not behave: $(cat "$out")" "$out"
    itest_log "ok: $(cat "$out")"
    normal_session "$c"
done
mxp_assert_healthy
itest_pass
