#!/bin/bash
# t-av-corpus.sh - real-world and malformed clean mail through Postfix and
# the av module: Python's email test messages and enmime's test data
# (see av-corpus.sh), one SMTP session, each message to alice@example.com.
# plus nine hand-made hostile messages (corpus_torture).  Shows that
#   - every message Postfix hands to the milter is scanned: its summary line
#     says av=clean action=accept (an av=error, av=skipped or av=infected
#     fails the test; the corpora hold no test virus).  The exceptions are
#     listed in EXPECT below: two nested beyond max_recursion (av=skipped,
#     tagged "Unscanned (limits)"), one refused by the core's header limit;
#   - every accepted message reaches the sink once, with exactly one
#     X-Virus-Status (Clean, or Unscanned (limits) for the listed ones) and
#     exactly one X-Virus-Scanned, ours;
#   - refusals are told apart: ours (Postfix logs milter-reject) and Postfix's
#     own; any refusal not listed in EXPECT fails;
#   - malformed mail crashes nothing: the daemon still runs and its log holds
#     no sanitizer report.
# Prints: corpus: N messages, N accepted, N av=clean, ...
set -u
# shellcheck source=tests/integration/lib.sh
. "${top_srcdir:?}/tests/integration/lib.sh"
# shellcheck source=tests/integration/mxp.sh
. "${top_srcdir:?}/tests/integration/mxp.sh"
# shellcheck source-path=SCRIPTDIR source=av-corpus.sh
. "$(dirname "$0")/av-corpus.sh"

itest_init av-corpus
itest_require python3
mxp_modules_av
corpus_files >"$ITEST_DIR/corpus.list"
[ -s "$ITEST_DIR/corpus.list" ] || itest_skip "no corpus installed ($AV_CORPUS_PY, $AV_CORPUS_ENMIME)"
[ -d "$AV_CORPUS_PY" ] || itest_log "note: $AV_CORPUS_PY missing (libpython3.11-testsuite), not used"
[ -d "$AV_CORPUS_ENMIME" ] || itest_log "note: $AV_CORPUS_ENMIME missing (golang-github-jhillyerd-enmime-dev), not used"
corpus_torture "$ITEST_DIR/torture" || itest_fail "cannot write the hand-made messages"
find "$ITEST_DIR/torture" -name '*.eml' | LC_ALL=C sort >>"$ITEST_DIR/corpus.list"
total=$(wc -l <"$ITEST_DIR/corpus.list")

# The deliberate exceptions, by file name; anything not listed must be
# accepted with av=clean.
declare -A EXPECT=(
    # Nested deeper than max_recursion (16): a scan limit, tagged (on_limits = tag).
    [t01-nested-multipart-300.eml]=skipped:MaxRecursion
    [t09-rfc822-nested-50.eml]=skipped:MaxRecursion
    # A 189 kB header field: refused by mxparityd's core limit
    # (limits.max_header_length = 32K) at the header, before any scan.
    [t04-long-header.eml]="refused:552 5.3.4"
)

printf 'alice@example.com\n' >"$ITEST_DIR/recipients"
mxp_av_testdb "$ITEST_DIR/db"
mxp_av_policy itest.1 "on_infected = reject  on_limits = tag"
mxp_start
sink_start
pf_start "$(mxp_milter)"

itest_log "sending $total messages"
t0=$SECONDS
corpus_send "$PF_PORT" "$ITEST_DIR/corpus.list" "$ITEST_DIR/corpus.results" 300 \
    >"$ITEST_DIR/corpus-send.log" 2>&1 || itest_fail "the corpus sender failed" "$ITEST_DIR/corpus-send.log"
elapsed=$(( SECONDS - t0 ))
[ "$(wc -l <"$ITEST_DIR/corpus.results")" -eq "$total" ] \
    || itest_fail "the sender reported $(wc -l <"$ITEST_DIR/corpus.results") of $total messages" "$ITEST_DIR/corpus-send.log"

# Count what should be delivered, wait for the sink (bounded), then index
# the sink copies by envelope sender: X-Virus-Status values and the number
# of X-Virus-Status / X-Virus-Scanned lines.
accepted=$(awk -F '\t' '$3 == "data" && $4 == 250' "$ITEST_DIR/corpus.results" | wc -l)
sink_wait_count "$accepted" 60
declare -A SINK_STATUS=()
for f in $(sink_files); do
    rec=$(awk '
        /^\r?$/ { exit }
        /^X-Mail-Args: </ { s = $2; gsub(/[<>]/, "", s) }
        tolower($0) ~ /^x-virus-status:/ { n++; st = substr($0, 17) }
        tolower($0) ~ /^x-virus-scanned: mxparity av \(clamav [0-9.]+\) on mx1\.example\.com$/ { ours++ }
        tolower($0) ~ /^x-virus-scanned:/ { sc++ }
        END { printf "%s\t%d %d %d %s\n", s, n, sc, ours, st }
    ' "$f")
    SINK_STATUS[${rec%%$'\t'*}]=${rec#*$'\t'}
done

# The daemon's summary lines, by envelope sender.
declare -A SUMMARY=()
while IFS= read -r line; do
    [[ $line =~ \ from=\<([^>]*)\>\  ]] && SUMMARY[${BASH_REMATCH[1]}]=$line
done < <(grep -E ' from=<[^>]*> .* action=[a-z]+ ' "$MXP_LOG")

n_clean=0 n_limits=0 n_refused_ok=0 pf_refused=0 we_refused=0 bad=0
: >"$ITEST_DIR/corpus.report"
while IFS=$'\t' read -r n sender stage code reply file; do
    base=${file##*/}
    name=${file#"$AV_CORPUS_ENMIME"/}
    name=${name#"$AV_CORPUS_PY"/}
    name=${name#"$ITEST_DIR"/}
    want=${EXPECT[$base]:-clean}
    line=${SUMMARY[$sender]:-} av='' action=''
    [[ $line =~ \ av=([^ ]+) ]] && av=${BASH_REMATCH[1]}
    [[ $line =~ \ action=([a-z]+) ]] && action=${BASH_REMATCH[1]}
    sink=${SINK_STATUS[$sender]:-}
    if [ "$stage" = data ] && [ "$code" = 250 ]; then
        if [ "$want" = clean ] && [ "$av/$action/$sink" = "clean/accept/1 1 1 Clean" ]; then
            verdict=ok n_clean=$(( n_clean + 1 ))
        elif [ "$want" != clean ] && [ "$av/$action/$sink" = "$want/tag/1 1 1 Unscanned (limits)" ]; then
            verdict="ok (expected limit: av=$av, tagged)" n_limits=$(( n_limits + 1 ))
        else
            verdict="ACCEPTED, BUT av=${av:-<none>} action=${action:-<none>} sink '${sink:-<not in sink>}' (want $want)"
            bad=$(( bad + 1 ))
        fi
    elif grep -F "from=<$sender>" "$PF_LOG" | grep -q 'milter-reject:'; then
        we_refused=$(( we_refused + 1 ))
        if [ "$want" = "refused:${code} ${reply%% *}" ]; then
            verdict="ok (expected refusal by mxparityd: $code $reply)" n_refused_ok=$(( n_refused_ok + 1 ))
        else
            verdict="REFUSED BY MXPARITYD: $code $reply (av=${av:-<none>} action=${action:-<none>})"
            bad=$(( bad + 1 ))
        fi
    else
        pf_refused=$(( pf_refused + 1 ))
        verdict="REFUSED BY POSTFIX ITSELF ($stage $code $reply)"
        bad=$(( bad + 1 ))
    fi
    printf '%4s %-60s %s\n' "$n" "$name" "$verdict" >>"$ITEST_DIR/corpus.report"
    case $verdict in
        ok) ;;
        ok*) printf '  %-52s %s\n' "$name" "$verdict" ;;
        *) printf '  %-52s FAIL: %s\n' "$name" "$verdict" ;;
    esac
done <"$ITEST_DIR/corpus.results"

mxp_assert_healthy
assert_no_grep 'av: scan failed|module av failed' "$MXP_LOG"
left=$(find "$ITEST_DIR/spool" -mindepth 1 | head -n 5)
[ -z "$left" ] || itest_fail "files left in the spool dir: $left"
sleep 1
[ "$(sink_count)" -eq "$accepted" ] || itest_fail "the sink holds $(sink_count) messages, $accepted were accepted"

printf 'corpus: %s messages, %s accepted (%s av=clean, %s expected limits), %s refused by mxparityd (%s expected), %s refused by Postfix itself, %s unexpected, %s s sending\n' \
    "$total" "$accepted" "$n_clean" "$n_limits" "$we_refused" "$n_refused_ok" "$pf_refused" "$bad" "$elapsed"
[ "$bad" -eq 0 ] || itest_fail "$bad message(s) did not come out as expected (full table: $ITEST_DIR/corpus.report)"
[ $(( n_clean + n_limits + n_refused_ok )) -eq "$total" ] || itest_fail "the counts do not add up"
itest_pass
