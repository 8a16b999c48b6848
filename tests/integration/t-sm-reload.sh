#!/bin/bash
# t-sm-reload.sh - policy reloads under load behind a real sendmail:
# smtp-source sends 120 messages in 8 parallel sessions (each to its own
# recipient, -N), each session waiting a second between its messages (-w 1:
# the load lasts at least 14 s whatever the machine's speed, so the reloads
# fall within it), while mxparityd is reloaded 6 times, 1.5 s apart, with a
# new policy version each time.  Every message gets 250 (smtp-source stops
# at any other reply), each reaches the sink exactly once, each has one
# summary line with action=accept, no connection is dropped or tempfailed,
# and the daemon ends on the last version.  (smtp-source connects from 127.0.0.1;
# the sender's domain has no SPF record: spf=none, accepted.)
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=mxp.sh
. "$(dirname "$0")/mxp.sh"
# shellcheck source-path=SCRIPTDIR source=tier.sh
. "$(dirname "$0")/tier.sh"
# shellcheck source-path=SCRIPTDIR source=sendmail.sh
. "$(dirname "$0")/sendmail.sh"

itest_require smtp-source
sm_scenario sm-reload
total=120
timeout 300 smtp-source -s 8 -w 1 -m "$total" -N -l 1500 -M client.itest.example \
    -f load@nospf.example.org -t load@example.net -S "reload under load" \
    "127.0.0.1:$SM_PORT" >"$ITEST_DIR/source.log" 2>&1 &
source_pid=$!
itest_track_pid "$source_pid"
for v in 2 3 4 5 6 7; do
    sleep 1.5
    tier_policy "$TIER_POLICY" "tier.$v" "module rcpt { recipients_file = \"recipients\" }"
    mxp_reload "tier.$v" MX1
done
wait "$source_pid" || itest_fail "smtp-source got a reply other than 250" "$ITEST_DIR/source.log"
sink_wait_count "$total" 120
dups=$(grep -h '^X-Rcpt-Args: ' "$SINK_DIR"/msg.* | sort | uniq -d | wc -l)
[ "$dups" -eq 0 ] || itest_fail "$dups recipients got more than one copy"
accepted=$(grep -c ' from=<load@nospf\.example\.org> .* action=accept ' "$MX1_MLOG")
[ "$accepted" -eq "$total" ] || itest_fail "$accepted summary lines with action=accept, want $total" "$MX1_MLOG"
assert_no_grep 'action=(tempfail|reject)|\(deferred\)' "$MX1_MLOG"
assert_no_grep 'Milter \(mxparity\): (to error state|timeout)' "$SM_LOG"
[ "$(grep -c 'policy loaded: version=tier\.' "$MX1_MLOG")" -eq 7 ] \
    || itest_fail "want 7 policy loaded lines (start and 6 reloads)" "$MX1_MLOG"
# The reloads fell within the load: messages were judged under several policies.
policies=$(grep ' from=<load@nospf\.example\.org> ' "$MX1_MLOG" | grep -o ' policy=[0-9a-f]*' | sort -u | wc -l)
[ "$policies" -ge 3 ] || itest_fail "the load saw only $policies policy version(s): the reloads missed it"
itest_log "ok: $total messages under $policies policies, 6 reloads, $(sink_count) delivered once each"
mxp_assert_healthy MX1
itest_pass
