#!/bin/bash
# t-soak-load.sh - $SOAK_SESSIONS concurrent SMTP sessions (smtp-source)
# for $SOAK_SECONDS through a real Postfix and mxparityd (rcpt, spf, av).
# Every message gets 250 (smtp-source stops at any other reply), every one
# reaches the sink exactly once (each has its own recipient, smtp-source
# -N), the daemon's counters agree, and nothing is left in spool_dir.  The
# daemon's RSS, threads and open descriptors are sampled every second; with
# SOAK_FLAT=1 (make soak) they must be flat after the warm-up (the first
# third): threads and descriptors at most their warm-up peak plus a
# margin, RSS of the last quarter within 10 % (plus 8 MiB) of the second
# quarter's (not under AddressSanitizer, whose quarantine grows by design).
# Under ASan the daemon's exit shows no leak report (mxp_assert_healthy
# after the stop).  Figures: messages, messages per second, and the samples.
set -u
# shellcheck source=tests/integration/lib.sh
. "${top_srcdir:?}/tests/integration/lib.sh"
# shellcheck source=tests/integration/mxp.sh
. "${top_srcdir:?}/tests/integration/mxp.sh"
# shellcheck source=tests/soak/soak.sh
. "${top_srcdir:?}/tests/soak/soak.sh"

soak_init soak-load
soak_tier
soak_sampler_start "$ITEST_DIR/samples"

# Ten smtp-source loops of SOAK_SESSIONS/10 sessions each, restarted until
# the time is up, so that the concurrency stays near SOAK_SESSIONS (one
# loop's tail does not drain all of it).  Each round has its own recipient
# suffix (-N numbers the recipients within a round).
per=$(( SOAK_SESSIONS / 10 > 0 ? SOAK_SESSIONS / 10 : 1 ))
per_round=$(( per * 4 ))
end=$(( SECONDS + SOAK_SECONDS ))
loop() {
    local id=$1 round=0
    while (( SECONDS < end && round < 10000 )); do
        round=$((round + 1))
        if ! timeout 300 smtp-source -s "$per" -m "$per_round" -N -l 2000 \
                -f "$SOAK_SENDER" -t "l${id}r${round}@example.com" -S "soak load" \
                -M client.soak.example "127.0.0.1:$PF_PORT" >>"$ITEST_DIR/source.$id.log" 2>&1; then
            echo "round $round failed" >>"$ITEST_DIR/source.$id.log"
            return 1
        fi
        echo "$per_round" >>"$ITEST_DIR/source.$id.count"
    done
}
pids=()
for id in $(seq 1 10); do
    loop "$id" &
    pids+=("$!")
    itest_track_pid "$!"
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
elapsed=$(( SECONDS - end + SOAK_SECONDS ))
if [ "$failed" -gt 0 ]; then
    cat "$ITEST_DIR"/source.*.log >&2
    itest_fail "$failed smtp-source loop(s) got a reply other than the expected one"
fi
sent=$(cat "$ITEST_DIR"/source.*.count | awk '{ n += $1 } END { print n + 0 }')
soak_settle
soak_sampler_stop
delivered=$(sink_count)
unique=$(cat "$ITEST_DIR"/sink/msg.* | grep -c '^X-Rcpt-Args: ' || true)
distinct=$(cat "$ITEST_DIR"/sink/msg.* | grep '^X-Rcpt-Args: ' | sort -u | wc -l)
[ "$delivered" -eq "$sent" ] || itest_fail "sent $sent, the sink holds $delivered"
[ "$distinct" -eq "$sent" ] && [ "$unique" -eq "$sent" ] \
    || itest_fail "the sink holds $unique recipients, $distinct distinct, of $sent sent"

kill -USR1 "$MXP_PID"
wait_for_grep "counters: connections=[0-9]+ messages=$sent accept=$sent tag=0 quarantine=0 tempfail=0 reject=0 discard=0 rcpt_rejected=0 module_errors=0 " "$MXP_LOG" 20
soak_spool_empty
mxp_assert_healthy

# The samples after the warm-up: first, peak and last of each column.
awk -v n="$(wc -l <"$ITEST_DIR/samples")" '
    NR > n / 3 { if (!f) { f = 1; r0 = $2; t0 = $3; d0 = $4 }
                 if ($2 > rm) rm = $2; if ($3 > tm) tm = $3; if ($4 > dm) dm = $4
                 r1 = $2; t1 = $3; d1 = $4 }
    END { printf "samples after warm-up: rss_kb first=%d peak=%d last=%d; threads first=%d peak=%d last=%d; fds first=%d peak=%d last=%d\n",
          r0, rm, r1, t0, tm, t1, d0, dm, d1 }' "$ITEST_DIR/samples"
if [ "${SOAK_FLAT:-0}" = 1 ]; then
    asan=0
    ldd "$MXPARITYD" 2>/dev/null | grep -q libasan && asan=1
    awk -v asan="$asan" -v sessions="$SOAK_SESSIONS" '
        { rss[NR] = $2; thr[NR] = $3; fd[NR] = $4 }
        function median(a, lo, hi,   i, k, t, v) {
            k = 0; for (i = lo; i <= hi; i++) v[++k] = a[i]
            for (i = 2; i <= k; i++) { t = v[i]; j = i - 1; while (j > 0 && v[j] > t) { v[j + 1] = v[j]; j-- } v[j + 1] = t }
            return v[int((k + 1) / 2)]
        }
        END {
            n = NR; w = int(n / 3); bad = 0
            for (i = 1; i <= w; i++) { if (thr[i] > tw) tw = thr[i]; if (fd[i] > fw) fw = fd[i] }
            for (i = w + 1; i <= n; i++) {
                if (thr[i] > tw + sessions / 4 + 8) { printf "threads grew: %d > warm-up peak %d\n", thr[i], tw; bad = 1; break } }
            for (i = w + 1; i <= n; i++) {
                if (fd[i] > fw + sessions / 4 + 16) { printf "descriptors grew: %d > warm-up peak %d\n", fd[i], fw; bad = 1; break } }
            q = int(n / 4)
            if (!asan && q >= 3) {
                a = median(rss, q + 1, 2 * q); b = median(rss, 3 * q + 1, n)
                printf "rss median: second quarter %d kB, last quarter %d kB\n", a, b
                if (b > a * 1.10 + 8192) { print "rss grew"; bad = 1 }
            }
            exit bad
        }' "$ITEST_DIR/samples" || itest_fail "the daemon's resources were not flat after the warm-up" "$ITEST_DIR/samples"
fi
# The leak check: a clean stop, then no sanitizer report in the log.
kill -TERM "$MXP_PID"
_itest_poll 30 _itest_pid_gone "$MXP_PID" || itest_fail "mxparityd did not stop"
wait "$MXP_PID" 2>/dev/null
assert_no_sanitizer "$MXP_LOG"
echo "t-soak-load: $sent messages in ${elapsed}s ($(( sent / (elapsed > 0 ? elapsed : 1) )) per second), $SOAK_SESSIONS sessions, 0 unexpected replies, every message delivered once"
itest_pass
