#!/bin/bash
# t-av-samples.sh - the av module behind a real Postfix finds viruses
# wherever libclamav can see them, and owns the X-Virus-* headers:
#  A. database = the full test database (EICAR body signature + the MD5 of
#     every file of clamav-testfiles), on_infected = reject:
#     1. EICAR inline in the body: 554 5.7.1 Virus found: NAME at DATA,
#        nothing delivered, summary av=infected:NAME action=reject;
#     2. EICAR as a base64 attachment: the same;
#     3. every clamav-testfiles sample (mails and mbox files as the message
#        itself, everything else as a base64 attachment): rejected with the
#        virus name in the reply;
#     4. a clean message with forged X-Virus-* headers (any case, twice):
#        delivered with exactly one X-Virus-Status: Clean and one
#        X-Virus-Scanned: mxparity av (ClamAV x.y.z) on mx1.example.com.
#  B. database = EICAR + the MD5 of clam.exe only (SIGHUP to a new policy):
#     every sample is again rejected, now as Mxparity.Test.File.clam_exe,
#     which proves that libclamav unpacked the mail, the transfer encoding,
#     the archive or the packer to reach clam.exe.  One explicit exception:
#     clam_cache_emax.tgz nests clam.exe in 9 gzipped tars (deeper than
#     max_recursion = 16), so it is a scan limit: av=skipped:MaxRecursion,
#     delivered tagged "X-Virus-Status: Unscanned (limits)" (on_limits = tag).
#  C. on_infected = tag (SIGHUP): EICAR with a forged "X-Virus-Status: Clean"
#     and "X-Virus-Scanned: forged" is delivered with exactly one
#     X-Virus-Status: Infected (NAME) and no trace of the forged values.
# Finally: the daemon is alive, no sanitizer report, the spool dir is empty.
set -u
# shellcheck source=tests/integration/lib.sh
. "${top_srcdir:?}/tests/integration/lib.sh"
# shellcheck source=tests/integration/mxp.sh
. "${top_srcdir:?}/tests/integration/mxp.sh"

itest_init av-samples
itest_require swaks
mxp_modules_av
SAMPLES=/usr/share/clamav-testfiles
[ -f "$SAMPLES/clam.exe" ] || itest_skip "$SAMPLES (package clamav-testfiles) is missing"

EICAR_NAME=Mxparity.Test.EICAR.UNOFFICIAL
printf 'alice@example.com\n' >"$ITEST_DIR/recipients"
mxp_av_testdb "$ITEST_DIR/db"
# The "unpack only" database: EICAR and clam.exe's own MD5, nothing else.
mkdir -p "$ITEST_DIR/db-unpack"
cp "$ITEST_DIR/db/mxparity-test.ndb" "$ITEST_DIR/db-unpack/"
grep -E ':Mxparity\.Test\.File\.clam_exe$' "$ITEST_DIR/db/mxparity-test.hdb" \
    >"$ITEST_DIR/db-unpack/mxparity-test.hdb" || itest_fail "no clam.exe signature in the test database"

mxp_av_policy itest.a "on_infected = reject"
mxp_start
sink_start
pf_start "$(mxp_milter)"
wait_for_grep 'av=clamav-[0-9.]+/db-[0-9]+/sigs-[0-9]+/TEST-SIGNATURES-ONLY' "$MXP_LOG" 5

# expect_virus SENDER NAME_ERE: the last swaks run was refused at DATA with
# 554 5.7.1 Virus found: NAME, and the daemon logged av=infected:NAME.
expect_virus() {
    local from=$1 name=$2 line
    assert_swaks_reply "554 5.7.1 Virus found: $name"
    line=$(mxp_wait_summary_from "$from")
    case $line in
        *" av=infected:$name action=reject "*) ;;
        *) itest_fail "summary of <$from> is not av=infected:$name action=reject: '${line:-<none>}'" "$MXP_LOG" ;;
    esac
}

# --- A1. EICAR inline -------------------------------------------------------
swaks_send --to alice@example.com --from eicar-inline@example.com \
    --header "Subject: eicar inline" --body "$(printf 'Hello,\n%s\nbye\n' "$(mxp_eicar)")" || true
expect_virus eicar-inline@example.com "$EICAR_NAME"
assert_grep '<- *354 ' "$SWAKS_LOG"   # refused at end of DATA, not before
wait_for_grep "milter-reject: END-OF-MESSAGE from [^ ]+: 5\.7\.1 Virus found: $EICAR_NAME; from=<eicar-inline@example\.com>" "$PF_LOG" 10

# --- A2. EICAR as a base64 attachment --------------------------------------
mxp_eicar >"$ITEST_DIR/eicar.com"
swaks_send --to alice@example.com --from eicar-attach@example.com --header "Subject: eicar attached" \
    --body "see attachment" --attach-type application/octet-stream --attach-name eicar.com \
    --attach @"$ITEST_DIR/eicar.com" || true
assert_grep '^ *-> Content-Transfer-Encoding: BASE64' "$SWAKS_LOG"
if grep -qF "$(mxp_eicar)" "$SWAKS_LOG"; then
    itest_fail "the attachment went out unencoded" "$SWAKS_LOG"
fi
expect_virus eicar-attach@example.com "$EICAR_NAME"
[ "$(sink_count)" -eq 0 ] || itest_fail "an infected message reached the sink"

# --- A3/B. every clamav-testfiles sample -----------------------------------
# send_sample FILE SENDER: mails/mbox files go as the message itself (the
# envelope still to alice@example.com), anything else as a base64 attachment.
send_sample() {
    local f=$1 from=$2 b
    b=$(basename "$f")
    case $b in
        clam.mail | *.mbox.*)
            swaks_send --to alice@example.com --from "$from" --data "$f" 2>/dev/null ;;
        *)
            swaks_send --to alice@example.com --from "$from" --header "Subject: sample $b" \
                --body "sample $b attached" --attach-type application/octet-stream \
                --attach-name "$b" --attach @"$f" 2>/dev/null ;;
    esac
}

# run_samples PHASE: send every sample, print a table, count the outcomes
# into SAMPLES_N SAMPLES_REJECTED and list the unexpected ones in SAMPLES_BAD.
# EXPECT_NAME (an ERE, or "" for any Mxparity.Test.* name) is the virus name
# every sample must be rejected with, except those in LIMIT_EXCEPTIONS, which
# must be tagged av=skipped:WHY instead.
run_samples() {
    local phase=$1 f b from reply line want name
    SAMPLES_N=0 SAMPLES_REJECTED=0 SAMPLES_BAD=()
    for f in "$SAMPLES"/*; do
        [ -f "$f" ] || continue
        b=$(basename "$f")
        from="$b@$phase.example"
        send_sample "$f" "$from" || true
        reply=$(swaks_reply)
        line=$(mxp_wait_summary_from "$from")
        SAMPLES_N=$(( SAMPLES_N + 1 ))
        want=${LIMIT_EXCEPTIONS[$b]:-}
        if [ -n "$want" ]; then
            # An explicit, documented exception: a scan limit, tagged.
            if [[ $reply == 250\ * && $line == *" av=skipped:$want action=tag "* ]]; then
                printf '  %-22s limit (expected): %s / av=skipped:%s\n' "$b" "$reply" "$want"
            else
                printf '  %-22s WRONG: %s / %s\n' "$b" "$reply" "${line:-<no summary>}"
                SAMPLES_BAD+=("$b")
            fi
            continue
        fi
        name=''
        if [[ $reply =~ ^554\ 5\.7\.1\ Virus\ found:\ (Mxparity\.Test\.[A-Za-z0-9_.]+)$ ]]; then
            name=${BASH_REMATCH[1]}
        fi
        if [ -n "$name" ] && [[ -z $EXPECT_NAME || $name =~ ^$EXPECT_NAME$ ]] \
            && [[ $line == *" av=infected:$name action=reject "* ]]; then
            SAMPLES_REJECTED=$(( SAMPLES_REJECTED + 1 ))
            printf '  %-22s rejected: %s\n' "$b" "$name"
        else
            printf '  %-22s NOT REJECTED AS EXPECTED: %s / %s\n' "$b" "${reply:-<no reply>}" "${line:-<no summary>}"
            SAMPLES_BAD+=("$b")
        fi
    done
}

declare -A LIMIT_EXCEPTIONS=()
EXPECT_NAME=''
itest_log "A3: every sample against the full test database"
run_samples pa
itest_log "A3: $SAMPLES_N samples, $SAMPLES_REJECTED rejected"
[ "${#SAMPLES_BAD[@]}" -eq 0 ] || itest_fail "samples not rejected (full database): ${SAMPLES_BAD[*]}"
[ "$SAMPLES_N" -ge 40 ] || itest_fail "only $SAMPLES_N samples in $SAMPLES"
[ "$(sink_count)" -eq 0 ] || itest_fail "an infected sample reached the sink"

# --- A4. a clean message with forged X-Virus-* headers ----------------------
swaks_send --to alice@example.com --from clean@example.com --header "Subject: clean with forgeries" \
    --add-header "X-Virus-Status: Infected (client says)" --add-header "x-virus-status: Clean" \
    --add-header "X-VIRUS-SCANNED: by the client" --add-header "X-Virus-Scanned: forged" \
    --body "nothing to see here"
assert_swaks_reply 250
sink_wait_count 1 30
f=$(sink_file_from clean@example.com)
[ -n "$f" ] || itest_fail "the clean message is not in the sink"
status=$(header_lines "$f" X-Virus-Status)
scanned=$(header_lines "$f" X-Virus-Scanned)
[ "$status" = "X-Virus-Status: Clean" ] \
    || itest_fail "want exactly one 'X-Virus-Status: Clean', got: '$status'" "$f" 40
[[ $scanned =~ ^X-Virus-Scanned:\ mxparity\ av\ \(ClamAV\ [0-9][0-9.]*\)\ on\ mx1\.example\.com$ ]] \
    || itest_fail "want exactly one of our X-Virus-Scanned, got: '$scanned'" "$f" 40
assert_no_grep 'client says|by the client|: forged' "$f"
line=$(mxp_wait_summary_from clean@example.com)
[[ $line == *" av=clean action=accept "* ]] || itest_fail "summary of the clean message: '$line'" "$MXP_LOG"

# --- B. only clam.exe's MD5: the samples must be unpacked to be found -------
MXP_AV_DB=$ITEST_DIR/db-unpack mxp_av_policy itest.b "on_infected = reject  on_limits = tag"
mxp_reload_policy itest.b
wait_for_grep 'policy loaded: version=itest\.b .* av=clamav-[0-9.]+/db-[0-9]+/sigs-2/' "$MXP_LOG" 10
# clam_cache_emax.tgz: clam.exe inside 9 nested .tgz files: beyond
# max_recursion (16), so libclamav stops with Heuristics.Limits.Exceeded
# and on_limits (tag) applies. Not a miss: a limit, said so in the header.
LIMIT_EXCEPTIONS=([clam_cache_emax.tgz]=MaxRecursion)
EXPECT_NAME='Mxparity\.Test\.File\.clam_exe\.UNOFFICIAL'
itest_log "B: every sample against EICAR + clam.exe's MD5 only"
run_samples pb
itest_log "B: $SAMPLES_N samples, $SAMPLES_REJECTED rejected as clam.exe, ${#LIMIT_EXCEPTIONS[@]} limit exception(s)"
[ "${#SAMPLES_BAD[@]}" -eq 0 ] || itest_fail "samples not found by unpacking: ${SAMPLES_BAD[*]}"
sink_wait_count 2 30
f=$(sink_file_from clam_cache_emax.tgz@pb.example)
[ -n "$f" ] || itest_fail "clam_cache_emax.tgz (tagged) is not in the sink"
[ "$(header_lines "$f" X-Virus-Status)" = "X-Virus-Status: Unscanned (limits)" ] \
    || itest_fail "clam_cache_emax.tgz is not tagged Unscanned (limits)" "$f" 30

# --- C. on_infected = tag: a forged Clean does not survive ------------------
mxp_av_policy itest.c "on_infected = tag"
mxp_reload_policy itest.c
swaks_send --to alice@example.com --from eicar-tag@example.com --header "Subject: pretends to be clean" \
    --header "X-Virus-Status: Clean" --header "X-Virus-Scanned: forged" \
    --body "$(printf 'Hello,\n%s\n' "$(mxp_eicar)")"
assert_swaks_reply 250
sink_wait_count 3 30
f=$(sink_file_from eicar-tag@example.com)
[ -n "$f" ] || itest_fail "the tagged message is not in the sink"
status=$(header_lines "$f" X-Virus-Status)
[ "$status" = "X-Virus-Status: Infected ($EICAR_NAME)" ] \
    || itest_fail "want exactly one 'X-Virus-Status: Infected ($EICAR_NAME)', got: '$status'" "$f" 40
[ "$(header_lines "$f" X-Virus-Scanned | wc -l)" -eq 1 ] || itest_fail "want one X-Virus-Scanned" "$f" 40
assert_no_grep '^X-Virus-Scanned: forged|^X-Virus-Status: Clean' "$f"
line=$(mxp_wait_summary_from eicar-tag@example.com)
[[ $line == *" av=infected:$EICAR_NAME action=tag "* ]] || itest_fail "summary of the tagged message: '$line'" "$MXP_LOG"

# --- the end ------------------------------------------------------------------
sleep 1
[ "$(sink_count)" -eq 3 ] || itest_fail "the sink holds $(sink_count) messages, want 3"
mxp_assert_healthy
left=$(find "$ITEST_DIR/spool" -mindepth 1 | head -n 5)
[ -z "$left" ] || itest_fail "files left in the spool dir: $left"
itest_log "summary: A: 2 EICAR + $SAMPLES_N samples rejected; B: $SAMPLES_REJECTED/$SAMPLES_N found as clam.exe by unpacking, 1 limit exception; C: forged Clean replaced"
itest_pass
