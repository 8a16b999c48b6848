#!/bin/bash
# t-spf-temperror.sh - the spf module when DNS does not answer, in a real
# Postfix (query_timeout = 1, eval_timeout = 3; the client is 127.0.0.1,
# see mxp_spf_client for MXP_SPF_CLIENT=xclient):
#  1. the resolver is a loopback UDP socket that reads queries and never
#     replies: RCPT gets 451 4.7.24 (on_temperror = tempfail), the reply
#     comes before swaks' own 15 s timeout, the daemon and Postfix log the
#     tempfail, the socket did receive queries, nothing is delivered;
#  2. the same with a second recipient whose domain overrides
#     on_temperror = tag: that one is accepted, the message carries
#     spf=temperror, and the summary's ms= is below eval_timeout (3000);
#  3. the resolver comes back (dnsmasq on the same port): mail passes
#     again (after libunbound's back-off: a bounded number of retries);
#  4. the resolver port is closed (ICMP port unreachable): 451 4.7.24 too.
set -u
# shellcheck source=tests/integration/lib.sh
. "${top_srcdir:?}/tests/integration/lib.sh"
# shellcheck source=tests/integration/mxp.sh
. "${top_srcdir:?}/tests/integration/mxp.sh"

itest_init spf-temperror
itest_require dnsmasq swaks python3
mxp_spf_client
ip=$SPF_IP4
ipre=${ip//./\\.}
eval_timeout=3

# The silent resolver: reads and counts queries, never answers, exits by
# itself after 300 s at the latest.
silent_port=$(mxp_free_udp_port) || itest_fail "no free port"
python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.settimeout(0.5)
end = time.monotonic() + 300
n = 0
while time.monotonic() < end:
    try:
        s.recvfrom(4096)
    except socket.timeout:
        continue
    n += 1
    print("query", n, flush=True)
' "$silent_port" >"$ITEST_DIR/silent.log" 2>&1 </dev/null &
silent_pid=$!
itest_track_pid "$silent_pid"
itest_track_log "$ITEST_DIR/silent.log"
_itest_poll 10 _mxp_udp_listening "$silent_port" \
    || itest_fail "the silent UDP socket did not come up" "$ITEST_DIR/silent.log"

mxp_modules_spf
MXP_SPF_RESOLVER=127.0.0.1:$silent_port mxp_spf_policy itest.1 \
    "query_timeout = 1  eval_timeout = $eval_timeout"
cat >>"$MXP_POLICY" <<'EOF'
domain "tagtemp.example.org" {
  module spf { on_temperror = tag  helo_on_temperror = tag }
}
EOF
mxp_start
sink_start
pf_start "$(mxp_milter)" "${SPF_PF_SETTINGS[@]}"


# assert_no_client_timeout: swaks got its replies (its own timeout did not fire)
assert_no_client_timeout() {
    assert_no_grep 'Timeout|timed out' "$SWAKS_LOG"
}

# 1. no answer: tempfail at RCPT
mxp_spf_send --timeout 15 --from a@temp.example.net --header "Subject: spf temperror"
grep -q '^query 1$' "$ITEST_DIR/silent.log" \
    || itest_fail "no DNS query reached the silent resolver (client $ip; did libspf2 pass a loopback client without looking?)" "$SWAKS_LOG"
assert_swaks_reply "451 4.7.24 SPF MAIL FROM check: temperror, try again later"
assert_no_client_timeout
[ "$SWAKS_RC" -eq 24 ] || itest_fail "swaks exit $SWAKS_RC, want 24 (every RCPT refused)" "$SWAKS_LOG"
wait_for_grep "tempfail: RCPT from unknown\[$ipre\]: 451 4\.7\.24 SPF MAIL FROM check: temperror, try again later; from=<a@temp\.example\.net> to=<recipient@example\.net> hop=edge" "$MXP_LOG" 10
wait_for_grep "milter-reject: RCPT from [^ ]+\[$ipre\]: 451 4\.7\.24 SPF MAIL FROM check: temperror, try again later; from=<a@temp\.example\.net>" "$PF_LOG" 10

# 2. one recipient domain tags temperror: accepted for that one only, and
# the evaluation kept to its bound.  The HELO has no dot, so only the
# MAIL FROM identity is evaluated.
mxp_spf_send --timeout 15 --from b@temp.example.net --helo itestclient \
    --to recipient@example.net,bob@tagtemp.example.org --header "Subject: spf temperror tag"
assert_swaks_reply 250
assert_no_client_timeout
assert_grep '<\*\* +451 4\.7\.24 SPF MAIL FROM check: temperror, try again later' "$SWAKS_LOG"
sink_wait_count 1 30
f=$(sink_file_from b@temp.example.net)
[ -n "$f" ] || itest_fail "the tagged message did not arrive"
assert_grep '^X-Rcpt-Args: <bob@tagtemp\.example\.org>' "$f"
assert_no_grep 'X-Rcpt-Args: <recipient@example\.net>' "$f"
header_lines "$f" Authentication-Results \
    | grep -qxF 'Authentication-Results: mx1.example.com; spf=temperror smtp.mailfrom=b@temp.example.net smtp.helo=itestclient' \
    || itest_fail "no spf=temperror Authentication-Results" "$f" 40
sum=$(mxp_wait_summary_from b@temp.example.net)
case $sum in
    *" hop=edge from=<b@temp.example.net> rcpts=1 "*" spf=temperror action=tag "*) ;;
    *) itest_fail "unexpected summary '$sum'" "$MXP_LOG" ;;
esac
ms=$(printf '%s\n' "$sum" | sed -n 's/.* ms=\([0-9]*\)\.[0-9]*.*/\1/p')
if [ -z "$ms" ] || [ "$ms" -ge $(( eval_timeout * 1000 )) ]; then
    itest_fail "ms=${ms:-?} is not below eval_timeout ${eval_timeout}s: $sum"
fi
itest_log "ok: $sum"

# 3. the resolver answers again on the same port.  libunbound backs off
# from a server that timed out, so the first tries after its return may
# still get 451: retry (at most 15 times, 2 s apart) until one passes.
_itest_kill_pid "$silent_pid"
_itest_poll 10 _mxp_udp_free "$silent_port" || itest_fail "the silent socket did not go away"
printf 'txt-record=temp.example.net,"v=spf1 ip4:%s -all"\n' "$ip" >"$ITEST_DIR/zone"
mxp_dns_start "$ITEST_DIR/zone" "$silent_port"
passed=""
for (( try = 1; try <= 15; try++ )); do
    mxp_spf_send --timeout 15 --from "c$try@temp.example.net" --header "Subject: spf after temperror"
    case $(swaks_reply) in
        250*) passed=c$try@temp.example.net; break ;;
        "451 4.7.24 "*) sleep 2 ;;
        *) itest_fail "unexpected reply '$(swaks_reply)' after the resolver came back" "$SWAKS_LOG" ;;
    esac
done
[ -n "$passed" ] || itest_fail "still no pass 15 tries after the resolver came back" "$MXP_LOG"
itest_log "ok: the resolver is back, try $try passed"
mxp_dns_assert_query TXT temp.example.net
sink_wait_count 2 30
header_lines "$(sink_file_from "$passed")" Authentication-Results \
    | grep -qxF "Authentication-Results: mx1.example.com; spf=pass smtp.mailfrom=$passed smtp.helo=client.itest.example" \
    || itest_fail "no spf=pass after the resolver came back" "$(sink_file_from "$passed")" 40

# 4. nothing listens on the resolver port at all
closed_port=$(mxp_free_udp_port) || itest_fail "no free port"
MXP_SPF_RESOLVER=127.0.0.1:$closed_port mxp_spf_policy itest.2 \
    "query_timeout = 1  eval_timeout = $eval_timeout"
mxp_reload_policy itest.2
mxp_spf_send --timeout 15 --from d@temp.example.net --header "Subject: spf closed resolver port"
assert_swaks_reply "451 4.7.24 SPF MAIL FROM check: temperror, try again later"
assert_no_client_timeout
wait_for_grep "tempfail: RCPT from unknown\[$ipre\]: 451 4\.7\.24 .*from=<d@temp\.example\.net>" "$MXP_LOG" 10

# Nothing else was delivered, nothing waits in the queue.
sink_wait_count 2 5
sink_no_grep '^X-Mail-Args: <(a|d)@temp\.example\.net>'
_itest_poll 20 pf_queue_empty "$PF_CONF" || itest_fail "mail left in the Postfix queue"
mxp_assert_healthy
itest_pass
