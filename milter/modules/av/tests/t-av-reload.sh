#!/bin/bash
# t-av-reload.sh - the av signature database is replaced again and again
# (and SIGHUP is sent) while 1000 messages go through, once with
# reload = concurrent and once with reload = blocking; no message is ever
# accepted unscanned, and none is lost.
#
#   smtp-source -> Postfix "front" (no milter; queues, retries 4xx)
#               -> Postfix "filter" (mxparityd with av) -> smtp-sink
#
# The front instance stands for the sending MTA: what the filter tempfails
# stays in its queue and comes back, so in the end the sink must hold all
# 1000 messages of each round.  (A milter tempfail at end of DATA is a 4xx
# to the SMTP client, which smtp-source does not retry; hence two hops.)
# The front delivers over at most 3 connections at once, so that a round
# lasts long enough for several reloads to happen while mail is scanned.
#
# The database: the test database, a static synthetic part (50,000 MD5
# and 5,000 body signatures, so that a reload takes a moment) and a
# rotating extra-N.ndb with N more signatures; each replacement reruns
# make-testdb.sh, swaps extra-(N-1).ndb for extra-N.ndb, and waits until
# the daemon logs an engine with exactly that many signatures
# (reload_check_interval = 1).  Replacements go on until the filter has
# accepted the whole round (at least 5, at most 40).  The third replacement
# of each round also gets a SIGHUP.
#
# Asserted from the daemon's log, per round:
#   - every summary line is av=clean action=accept, or (blocking only)
#     av=error:no-engine action=tempfail; nothing else;
#   - action=accept lines == lines with both av=clean and action=accept;
#   - accepted == 1000 and the sink received exactly those 1000 (after
#     flushing the front queue; bounded wait);
#   - at least 2 "av: engine reloaded (MODE)" lines, no failed reload;
# and at the end: daemon alive, no sanitizer report, spool dir empty.
# Figures printed: messages, scanned, tempfailed, reloads, seconds.
set -u
# shellcheck source=tests/integration/lib.sh
. "${top_srcdir:?}/tests/integration/lib.sh"
# shellcheck source=tests/integration/mxp.sh
. "${top_srcdir:?}/tests/integration/mxp.sh"

itest_init av-reload
itest_require smtp-source python3
mxp_modules_av

MESSAGES=${AV_RELOAD_MESSAGES:-1000}
ROUNDS=${AV_RELOAD_REPLACEMENTS:-5}
MAX_ROUNDS=40
DB=$ITEST_DIR/db
printf 'alice@example.com\n' >"$ITEST_DIR/recipients"
mxp_av_testdb "$DB"
python3 - "$DB" <<'PY' || itest_fail "cannot write the synthetic signatures"
import hashlib, random, sys
d = sys.argv[1]
rnd = random.Random(7208)
with open(d + "/synthetic.hdb", "w") as f:
    for i in range(50000):
        f.write("%s:%d:Mxparity.Test.Synthetic.%d\n" % (hashlib.md5(b"h%d" % i).hexdigest(), 1000 + i, i))
with open(d + "/synthetic.ndb", "w") as f:
    for i in range(5000):
        sig = "".join("%02x" % rnd.randrange(256) for _ in range(rnd.randrange(16, 40)))
        f.write("Mxparity.Test.Body.%d:0:*:%s\n" % (i, sig))
PY
BASE_SIGS=$(cat "$DB"/*.hdb "$DB"/*.ndb | grep -c .)
EXTRA=0

# replace_db N: rotate extra-(N-1).ndb out and extra-N.ndb (N signatures) in,
# each written elsewhere and moved in whole, then rerun make-testdb.sh.
replace_db() {
    local n=$1 i
    for (( i = 1; i <= n; i++ )); do
        printf 'Mxparity.Test.Extra.%d.%d:0:*:%s\n' "$n" "$i" "$(printf 'extra-%d-%d-marker' "$n" "$i" | od -An -tx1 | tr -d ' \n')"
    done >"$ITEST_DIR/extra.tmp"
    mv -f "$ITEST_DIR/extra.tmp" "$DB/extra-$n.ndb"
    rm -f "$DB/extra-$(( n - 1 )).ndb"
    mxp_av_testdb "$DB"
    EXTRA=$n
}

# _reloaded_with MARK MODE SIGS: an engine of SIGS signatures was loaded after MARK.
# shellcheck disable=SC2317 # called through _itest_poll
_reloaded_with() {
    tail -n +"$(( $1 + 1 ))" "$MXP_LOG" | grep -qE "av: engine reloaded \($2\): $3 signatures"
}

# run_round MODE VERSION: one pass of $MESSAGES messages with $ROUNDS
# database replacements; sets R_* figures.
run_round() {
    local mode=$1 version=$2 mark sink0 t0 src_pid i rc sigs log
    mxp_av_policy "$version" "reload = $mode  reload_check_interval = 1"
    if [ -n "${MXP_PID:-}" ]; then
        mxp_reload_policy "$version"
    else
        mxp_start
    fi
    wait_for_grep "policy loaded: version=$version .* av=clamav-[0-9.]+/db-[0-9]+/sigs-$(( BASE_SIGS + EXTRA ))/" "$MXP_LOG" 30
    mark=$(itest_mark "$MXP_LOG")
    sink0=$(sink_count)
    t0=$SECONDS
    itest_log "round $mode: $MESSAGES messages, $ROUNDS database replacements"
    timeout 300 smtp-source -A -s 10 -m "$MESSAGES" -l 3000 -M client.itest.example \
        -f sender@example.com -t alice@example.com -S "reload $mode" "127.0.0.1:$FRONT_PORT" \
        >"$ITEST_DIR/smtp-source.$mode.log" 2>&1 &
    src_pid=$!
    itest_track_pid "$src_pid"
    # Replace the database while the messages flow: at least $ROUNDS times,
    # then on until the filter has accepted the whole round (at most
    # $MAX_ROUNDS times; each replacement waits, bounded, for its reload).
    for (( i = 1; i <= MAX_ROUNDS; i++ )); do
        replace_db $(( EXTRA + 1 ))
        sigs=$(( BASE_SIGS + EXTRA ))
        if [ "$i" -eq 3 ]; then
            kill -HUP "$MXP_PID" || itest_fail "SIGHUP failed"
        fi
        _itest_poll 60 _reloaded_with "$mark" "$mode" "$sigs" \
            || itest_fail "no reload to $sigs signatures ($mode) within 60 s" "$MXP_LOG"
        if [ "$i" -ge "$ROUNDS" ] \
            && [ "$(tail -n +"$(( mark + 1 ))" "$MXP_LOG" | grep -c ' action=accept ')" -ge "$MESSAGES" ]; then
            break
        fi
    done
    R_REPLACED=$(( i > MAX_ROUNDS ? MAX_ROUNDS : i ))
    rc=0
    wait "$src_pid" || rc=$?
    [ "$rc" -eq 0 ] || itest_fail "smtp-source exited with $rc" "$ITEST_DIR/smtp-source.$mode.log"
    # Everything the filter tempfailed waits in the front queue: flush it
    # until the sink holds the whole round (bounded: 24 x 5 s).
    for (( i = 0; i < 24; i++ )); do
        _itest_poll 5 _sink_has $(( sink0 + MESSAGES )) && break
        pf_flush "$FRONT_CONF" 2>/dev/null
    done
    sink_wait_count $(( sink0 + MESSAGES )) 10
    R_SECONDS=$(( SECONDS - t0 ))

    log=$ITEST_DIR/summary.$mode
    tail -n +"$(( mark + 1 ))" "$MXP_LOG" >"$ITEST_DIR/mxparityd.$mode.log"
    grep -E ' action=[a-z]+ ' "$ITEST_DIR/mxparityd.$mode.log" >"$log"
    R_TOTAL=$(wc -l <"$log")
    R_ACCEPT=$(grep -c ' action=accept ' "$log")
    R_CLEAN_ACCEPT=$(grep ' av=clean ' "$log" | grep -c ' action=accept ')
    R_TEMPFAIL=$(grep ' av=error:no-engine ' "$log" | grep -c ' action=tempfail ')
    R_RELOADS=$(grep -c "av: engine reloaded ($mode)" "$ITEST_DIR/mxparityd.$mode.log")
    R_OTHER=$(grep -vcE ' av=clean action=accept | av=error:no-engine action=tempfail ' "$log")
    R_DURING=$(awk '/ action=/ { n++ } /av: engine reloaded/ { if (n < total) d++ } END { print d + 0 }' \
        total="$R_TOTAL" "$ITEST_DIR/mxparityd.$mode.log")
    printf 'reload=%s: %s messages, %s scanned (av=clean, accepted), %s tempfailed during reload (av=error:no-engine), %s summary lines, %s database replacements + 1 SIGHUP, %s reloads (%s of them while mail was still being scanned), %s s\n' \
        "$mode" "$MESSAGES" "$R_CLEAN_ACCEPT" "$R_TEMPFAIL" "$R_TOTAL" "$R_REPLACED" "$R_RELOADS" "$R_DURING" "$R_SECONDS"

    if [ "$R_OTHER" -ne 0 ]; then
        grep -vE ' av=clean action=accept | av=error:no-engine action=tempfail ' "$log" | head -n 10 >&2
        itest_fail "$mode: $R_OTHER summary line(s) neither clean+accept nor no-engine+tempfail (above)"
    fi
    [ "$R_ACCEPT" -eq "$R_CLEAN_ACCEPT" ] \
        || itest_fail "$mode: $R_ACCEPT accepted, but only $R_CLEAN_ACCEPT with av=clean"
    [ "$R_ACCEPT" -eq "$MESSAGES" ] || itest_fail "$mode: $R_ACCEPT messages accepted, want $MESSAGES"
    [ $(( $(sink_count) - sink0 )) -eq "$R_ACCEPT" ] \
        || itest_fail "$mode: the sink got $(( $(sink_count) - sink0 )), we accepted $R_ACCEPT"
    [ "$R_TOTAL" -eq $(( R_ACCEPT + R_TEMPFAIL )) ] || itest_fail "$mode: the counts do not add up"
    if [ "$mode" = concurrent ] && [ "$R_TEMPFAIL" -ne 0 ]; then
        itest_fail "concurrent: $R_TEMPFAIL messages found no engine; the old one must serve until the swap"
    fi
    [ "$R_RELOADS" -ge 2 ] || itest_fail "$mode: only $R_RELOADS engine reloads logged"
    assert_no_grep 'av: reload of .* failed' "$ITEST_DIR/mxparityd.$mode.log"
    if grep -E 'module av failed' "$ITEST_DIR/mxparityd.$mode.log" | grep -vq 'at eom'; then
        itest_fail "$mode: the av module failed outside end of message" "$ITEST_DIR/mxparityd.$mode.log"
    fi
    assert_no_grep 'av: scan failed' "$ITEST_DIR/mxparityd.$mode.log"
    [ "$mode" = blocking ] && [ "$R_TEMPFAIL" -eq 0 ] \
        && itest_log "note: no message arrived while the blocking reloads had no engine"
    return 0
}

sink_start
MXP_PORT=$(free_port) || itest_fail "no free port"
export MXP_PORT
pf_start "$(mxp_milter)"
FILTER_CONF=$PF_CONF
pf_start "" "relayhost = [127.0.0.1]:$PF_PORT" "smtp_destination_concurrency_limit = 3"
FRONT_CONF=$PF_CONF
FRONT_PORT=$PF_PORT

T0=$SECONDS
run_round concurrent itest.concurrent
C="$R_CLEAN_ACCEPT/$R_TEMPFAIL/$R_RELOADS/$R_SECONDS"
run_round blocking itest.blocking
B="$R_CLEAN_ACCEPT/$R_TEMPFAIL/$R_RELOADS/$R_SECONDS"

mxp_assert_healthy
left=$(find "$ITEST_DIR/spool" -mindepth 1 | head -n 5)
[ -z "$left" ] || itest_fail "files left in the spool dir: $left"
_itest_poll 15 pf_queue_empty "$FRONT_CONF" || itest_fail "mail left in the front queue"
_itest_poll 15 pf_queue_empty "$FILTER_CONF" || itest_fail "mail left in the filter's queue"
itest_log "scanned/tempfailed/reloads/seconds: concurrent $C, blocking $B; total $(( SECONDS - T0 )) s"
itest_pass
