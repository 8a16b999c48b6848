#!/bin/bash
# t-milter-limits.sh - the daemon bounds what a milter peer can hold:
# mxparityd -N (connections served at once) and -T (how long a connection
# may wait for the next command; libmilter's own default is 7,210 s).
# Over the milter protocol (milter_hold.py, milter_client.py), with
# mxparityd -N 3 -T 3:
#  1. three sessions held open after MAIL; a fourth connection gets
#     "451 4.3.2 Mail filter busy" at MAIL, the daemon logs "connection
#     limit 3 reached" once, and its counters line says refused_busy=1;
#  2. once the three are closed, a session gets its normal answers again;
#  3. five connections that send half a packet and stall are all closed by
#     the daemon (within a bounded wait), its thread count comes back down,
#     and a normal session right after is answered normally;
#  4. the daemon still runs, with no sanitizer report.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=mxp.sh
. "$(dirname "$0")/mxp.sh"

itest_init milter-limits
itest_require python3
printf 'alice@example.com\n' >"$ITEST_DIR/recipients"
mxp_modules
mxp_policy "$(cat "$top_srcdir/tests/integration/policy.common")"
mxp_start -N 3 -T 3

client() {
    python3 "$top_srcdir/tests/integration/milter_client.py" "$MXP_PORT" --rcpt alice@example.com "$@"
}
threads() {
    awk '$1 == "Threads:" { print $2 }' "/proc/$MXP_PID/status"
}
# shellcheck disable=SC2317 # called through _itest_poll
_held() {
    [ "$(grep -c '^held' "$ITEST_DIR/hold.out" 2>/dev/null)" -eq 3 ]
}

# --- 1. the cap ------------------------------------------------------------------
itest_log "1: three sessions held, a fourth over the cap"
python3 "$top_srcdir/tests/integration/milter_hold.py" "$MXP_PORT" hold 3 "$ITEST_DIR/stop" \
    >"$ITEST_DIR/hold.out" 2>&1 &
hold_pid=$!
itest_track_pid "$hold_pid"
_itest_poll 30 _held || itest_fail "the three sessions were not opened" "$ITEST_DIR/hold.out"
client --queue-id BUSY1 --from busy@example.org >"$ITEST_DIR/client.1" 2>&1
grep -qx 'mail: reply 451 4.3.2 Mail filter busy, try again later' "$ITEST_DIR/client.1" \
    || itest_fail "the fourth connection was not refused at MAIL with 451 4.3.2" "$ITEST_DIR/client.1"
wait_for_grep 'connection limit 3 reached: new connections get 451 4\.3\.2' "$MXP_LOG" 10
mark=$(itest_mark "$MXP_LOG")
kill -USR1 "$MXP_PID"
wait_for_grep_from "$mark" 'counters: .* refused_busy=1( |$)' "$MXP_LOG" 10

# --- 2. below the cap again ----------------------------------------------------
itest_log "2: the held sessions closed: served again"
touch "$ITEST_DIR/stop"
wait "$hold_pid" || itest_fail "milter_hold.py hold failed" "$ITEST_DIR/hold.out"
# The daemon frees a slot when it has seen the close, a moment after the
# holder exits: ask again (bounded) until it has.
# shellcheck disable=SC2317 # called through _itest_poll
_served() {
    client --queue-id OK2 --from ok2@example.org >"$ITEST_DIR/client.2" 2>&1 \
        && [ "$(tail -n 1 "$ITEST_DIR/client.2")" = "eom: continue" ]
}
_itest_poll 10 _served || itest_fail "a session below the cap was not served" "$ITEST_DIR/client.2"

# --- 3. stalled connections time out -----------------------------------------------
itest_log "3: five stalled connections, -T 3"
before=$(threads)
python3 "$top_srcdir/tests/integration/milter_hold.py" "$MXP_PORT" stall 5 60 >"$ITEST_DIR/stall.out" 2>&1 \
    || itest_fail "the daemon did not close every stalled connection" "$ITEST_DIR/stall.out"
grep -qx 'closed 5 of 5' "$ITEST_DIR/stall.out" || itest_fail "stall: $(cat "$ITEST_DIR/stall.out")"
# shellcheck disable=SC2317 # called through _itest_poll
_threads_back() {
    [ "$(threads)" -le "$((before + 2))" ]
}
_itest_poll 30 _threads_back || itest_fail "threads: $(threads) after the stall, $before before"
itest_log "ok: threads $before before, $(threads) after"
client --queue-id OK3 --from ok3@example.org >"$ITEST_DIR/client.3" 2>&1 \
    || itest_fail "milter_client.py failed" "$ITEST_DIR/client.3"
[ "$(tail -n 1 "$ITEST_DIR/client.3")" = "eom: continue" ] \
    || itest_fail "a normal session after the stall was not served" "$ITEST_DIR/client.3"

mxp_assert_healthy
itest_pass
