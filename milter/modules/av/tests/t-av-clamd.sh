#!/bin/bash
# t-av-clamd.sh - the av module's clamd backend behind a real Postfix, on two
# private clamd servers (Debian's clamd, the test database) and on fake
# ones (tests/integration/fake_clamd.py):
#  1. EICAR, as the body and as a base64 attachment, and three
#     clamav-testfiles samples are rejected with 554 5.7.1 Virus found: NAME
#     at DATA, with the same names and summary tokens as the libclamav
#     backend; a clean message is delivered with one X-Virus-Status: Clean
#     and X-Virus-Scanned: mxparity av (ClamAV x.y.z) on mx1.example.com;
#     the policy loaded line names both servers with their versions;
#  2. the scans alternate between the two servers (both logs have scans);
#  3. a message over clamd's StreamMaxLength (1 MB here): on_limits, 552
#     5.3.4 and av=skipped:StreamMaxLength, never clean;
#  4. servers that answer garbage, stall (server_timeout 2 s) or close
#     mid-reply, and one refused connection: each is tried in turn and the
#     message tempfailed with av=error:clamd (on_error), never accepted;
#     with a real clamd after them in the list, the same message is
#     scanned there (failover at every step) and delivered;
#  5. mxparity check reports every server's version, and one that does not
#     answer as a warning, without failing the policy.
set -u
# shellcheck source=tests/integration/lib.sh
. "${top_srcdir:?}/tests/integration/lib.sh"
# shellcheck source=tests/integration/mxp.sh
. "${top_srcdir:?}/tests/integration/mxp.sh"

itest_init av-clamd
itest_require swaks python3
mxp_modules_av
SAMPLES=/usr/share/clamav-testfiles
EICAR_NAME=Mxparity.Test.EICAR.UNOFFICIAL
printf 'alice@example.com\n' >"$ITEST_DIR/recipients"
mxp_av_testdb "$ITEST_DIR/db"
mxp_clamd_start a "$ITEST_DIR/db" "StreamMaxLength 1M"
mxp_clamd_start b "$ITEST_DIR/db" "StreamMaxLength 1M"

# clamd_policy VERSION SERVERS [OPTIONS]: the av section with backend = clamd
clamd_policy() {
    mxp_av_policy "$1" "backend = clamd servers = {$2} on_infected = reject ${3:-}"
}
clamd_policy itest.1 "\"unix:$CLAMD_A_SOCK\", \"unix:$CLAMD_B_SOCK\""
mxp_start
sink_start
pf_start "$(mxp_milter)"
wait_for_grep "policy loaded: .* av=clamd:unix:$CLAMD_A_SOCK=clamav-[0-9.]+(/db-[0-9]+)?,unix:$CLAMD_B_SOCK=clamav-[0-9.]+(/db-[0-9]+)?" "$MXP_LOG" 5

# expect SENDER REPLY SUMMARY-ERE: the last swaks reply and the sender's summary line
expect() {
    local line
    assert_swaks_reply "$2"
    line=$(mxp_wait_summary_from "$1")
    grep -Eq -- "$3" <<<"$line" || itest_fail "summary of <$1> does not match /$3/: '$line'" "$MXP_LOG"
    itest_log "ok: <$1>: ${line#*: }"
}

# 1. viruses and a clean message
swaks_send --to alice@example.com --from v1@example.org --body "$(mxp_eicar)"
expect v1@example.org "554 5.7.1 Virus found: $EICAR_NAME" " av=infected:$EICAR_NAME action=reject "
mxp_eicar >"$ITEST_DIR/eicar.txt"
swaks_send --to alice@example.com --from v2@example.org --attach "$ITEST_DIR/eicar.txt"
expect v2@example.org "554 5.7.1 Virus found: $EICAR_NAME" " av=infected:$EICAR_NAME action=reject "
n=3
if [ -f "$SAMPLES/clam.exe" ]; then
    for s in clam.exe clam.zip clam.pdf; do
        swaks_send --to alice@example.com --from "v$n@example.org" --attach "$SAMPLES/$s"
        expect "v$n@example.org" "554 5.7.1 Virus found: " " av=infected:[^ ]+ action=reject "
        n=$((n + 1))
    done
fi
swaks_send --to alice@example.com --from c1@example.org --header "X-Virus-Status: Clean" \
    --body "a clean message"
expect c1@example.org 250 " av=clean action=accept "
sink_wait_from c1@example.org 30
[ "$(header_lines "$SINK_FILE" X-Virus-Status)" = "X-Virus-Status: Clean" ] \
    || itest_fail "want one X-Virus-Status: Clean" "$SINK_FILE"
header_lines "$SINK_FILE" X-Virus-Scanned \
    | grep -Eqx 'X-Virus-Scanned: mxparity av \(ClamAV [0-9][0-9.]*\) on mx1\.example\.com' \
    || itest_fail "X-Virus-Scanned does not name clamd's engine" "$SINK_FILE"

# 2. both servers took scans (clamd logs each result, LogClean yes)
for x in a b; do
    n=$(grep -Ec ': (OK|.+ FOUND)$' "$ITEST_DIR/clamd.$x/clamd.log")
    [ "$n" -ge 2 ] || itest_fail "clamd $x scanned $n messages, want at least 2 of the 7" \
        "$ITEST_DIR/clamd.$x/clamd.log"
    itest_log "ok: clamd $x scanned $n"
done

# 3. beyond StreamMaxLength
head -c 1500000 /dev/zero | tr '\0' 'x' | fold -w 76 >"$ITEST_DIR/big.txt"
swaks_send --to alice@example.com --from big@example.org --body "@$ITEST_DIR/big.txt"
expect big@example.org "552 5.3.4 " " av=skipped:StreamMaxLength action=reject "
assert_no_grep 'from=<big@example\.org> .*av=clean' "$MXP_LOG"

# 4. broken servers, then a good one after them
garbage=$(mxp_fake_clamd garbage g)
stall=$(mxp_fake_clamd stall s)
closes=$(mxp_fake_clamd close c)
refused=$ITEST_DIR/nobody.sock
broken="\"unix:$garbage\", \"unix:$stall\", \"unix:$closes\", \"unix:$refused\""
clamd_policy itest.2 "$broken" "server_timeout = 2000"
mxp_reload_policy itest.2
mark=$(itest_mark "$MXP_LOG")
swaks_send --to alice@example.com --from f1@example.org --body "$(mxp_eicar)"
expect f1@example.org "4" " av=error:clamd action=tempfail "
swaks_send --to alice@example.com --from f2@example.org --body "clean, but nobody can tell"
expect f2@example.org "4" " av=error:clamd action=tempfail "
log=$(tail -n +"$((mark + 1))" "$MXP_LOG")
check_has() {
    grep -Eq -- "$1" <<<"$log" || itest_fail "no /$1/ after the reload" "$MXP_LOG"
}
check_has "av: clamd unix:$garbage: answered \"all good, trust me\"; trying the next server"
check_has "av: clamd unix:$stall: no reply in time; trying the next server"
check_has "av: clamd unix:$closes: closed mid-reply; trying the next server"
check_has "av: clamd unix:$refused: connect: .*; trying the next server"
check_has "av: no clamd server could scan the message \\(4 of 4 tried"
sink_assert_none_from f1@example.org
sink_assert_none_from f2@example.org
clamd_policy itest.3 "$broken, \"unix:$CLAMD_A_SOCK\"" "server_timeout = 2000 server_fail_count = 10"
mxp_reload_policy itest.3
swaks_send --to alice@example.com --from f3@example.org --body "$(mxp_eicar)"
expect f3@example.org "554 5.7.1 Virus found: $EICAR_NAME" " av=infected:$EICAR_NAME action=reject "
swaks_send --to alice@example.com --from f4@example.org --body "clean, scanned by the fifth"
expect f4@example.org 250 " av=clean action=accept "
sink_wait_from f4@example.org 30

# 5. mxparity check: versions, and a server that does not answer is a warning
out=$("$top_builddir/mxparity" check -c "$MXP_POLICY" -n mx1.example.com -M "$MXP_MODDIR" 2>&1)
rc=$?
printf '%s\n' "$out" >"$ITEST_DIR/check.out"
[ "$rc" -eq 0 ] || itest_fail "mxparity check failed (exit $rc)" "$ITEST_DIR/check.out"
grep -Eq "av: clamd unix:$CLAMD_A_SOCK: ClamAV [0-9.]+" "$ITEST_DIR/check.out" \
    || itest_fail "mxparity check does not show clamd a's version" "$ITEST_DIR/check.out"
grep -Eq "av: clamd unix:$refused does not answer" "$ITEST_DIR/check.out" \
    || itest_fail "mxparity check does not warn about the dead server" "$ITEST_DIR/check.out"
mxp_assert_healthy
itest_pass
