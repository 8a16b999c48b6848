#!/bin/bash
# t-milter-reload.sh - SIGHUP with a broken policy keeps the old one serving
# and logs FILE:LINE; SIGHUP with a changed policy changes what new
# connections get.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=mxp.sh
. "$(dirname "$0")/mxp.sh"

itest_init milter-reload
printf 'alice@example.com\n' >"$ITEST_DIR/recipients"
common=$(cat "$top_srcdir/tests/integration/policy.common")
mxp_policy "$common
module testmod { }"
mxp_start
sink_start
pf_start "$(mxp_milter)"
old_digest=$(grep -oE 'policy loaded: version=itest\.1 digest=sha256:[0-9a-f]{64}' "$MXP_LOG" | head -1 | sed 's/.*sha256://')
[ -n "$old_digest" ] || itest_fail "no policy loaded line" "$MXP_LOG"

swaks_send --to alice@example.com --header "Subject: before"
assert_swaks_reply 250

# A broken policy: refused with its line, and the old one keeps serving.
printf '%s\n' "$common" "module testmod {" "  reject_subject = \"x\"" "  no_such_key = 1" "}" >"$MXP_POLICY"
kill -HUP "$MXP_PID"
wait_for_grep "policy reload refused: $MXP_POLICY:12: no such option 'no_such_key'; still serving version=itest\.1 digest=sha256:$old_digest" "$MXP_LOG" 10
swaks_send --to alice@example.com --header "Subject: after broken reload"
assert_swaks_reply 250
sink_wait_count 2 30
kill -0 "$MXP_PID" || itest_fail "the daemon died on a broken policy" "$MXP_LOG"

# A changed policy: new connections are judged by it.
mxp_policy "${common/itest.1/itest.2}
module testmod { reject_subject = \"after\" }"
kill -HUP "$MXP_PID"
wait_for_grep 'policy loaded: version=itest\.2 digest=sha256:[0-9a-f]{64} host=mx1\.example\.com tier=primary modules=rcpt,testmod' "$MXP_LOG" 10
new_digest=$(grep -oE 'version=itest\.2 digest=sha256:[0-9a-f]{64}' "$MXP_LOG" | tail -1 | sed 's/.*sha256://')
[ "$new_digest" != "$old_digest" ] || itest_fail "the digest did not change"
swaks_send --to alice@example.com --header "Subject: after good reload"
assert_swaks_reply "554 5.7.1"
[ "$(sink_count)" -eq 2 ] || itest_fail "the rejected message reached the sink"

# A burst of signals while reloads run: none may fall to libmilter's own
# signal thread, which would stop the milter.
for _ in $(seq 1 20); do kill -HUP "$MXP_PID"; kill -USR1 "$MXP_PID"; done
sleep 2
kill -0 "$MXP_PID" || itest_fail "the daemon died under a burst of SIGHUP/SIGUSR1" "$MXP_LOG"
assert_no_grep 'milter loop ended unexpectedly' "$MXP_LOG"
swaks_send --to alice@example.com --header "Subject: burst done"
assert_swaks_reply 250
sink_wait_count 3 30

# SIGUSR1 writes the counters line now (it is otherwise due every counters_interval).
kill -USR1 "$MXP_PID"
wait_for_grep 'counters: connections=[0-9]+ messages=4 accept=3 tag=0 quarantine=0 tempfail=0 reject=1 .*module_errors=0' "$MXP_LOG" 10
assert_no_sanitizer "$MXP_LOG"
itest_pass
