#!/bin/bash
# t-spf-ipv6.sh - the spf module with an IPv6 client: Postfix gets a second
# smtpd listener on [::1] (an extra master.cf service, inet_protocols =
# all) and swaks connects over ::1 (see mxp_spf_client for
# MXP_SPF_CLIENT=xclient, which presents 2001:db8::10 instead):
#  1. "v=spf1 ip6:CLIENT -all": 250, the milter saw the IPv6 client,
#     the sink copy carries spf=pass;
#  2. "v=spf1 ip4:127.0.0.1 -all": 550 5.7.23 for the IPv6 client (an ip4
#     mechanism never matches it), nothing delivered;
#  3. the IPv4 listener of the same instance still passes 127.0.0.1
#     against the ip4 record (the same domain, the other family).
# Skips (77) when the machine has no ::1.
set -u
# shellcheck source=tests/integration/lib.sh
. "${top_srcdir:?}/tests/integration/lib.sh"
# shellcheck source=tests/integration/mxp.sh
. "${top_srcdir:?}/tests/integration/mxp.sh"

itest_init spf-ipv6
itest_require dnsmasq swaks
grep -q '^00000000000000000000000000000001 ' /proc/net/if_inet6 2>/dev/null \
    || itest_skip "no IPv6 loopback address ::1 on this machine"
mxp_spf_client
ip6=$SPF_IP6
ip4=$SPF_IP4

cat >"$ITEST_DIR/zone" <<EOF
txt-record=v6pass.example.net,"v=spf1 ip6:$ip6 -all"
txt-record=v4only.example.net,"v=spf1 ip4:$ip4 -all"
EOF
mxp_dns_start "$ITEST_DIR/zone"
mxp_modules_spf
mxp_spf_policy itest.1
mxp_start
sink_start
# inet_protocols needs a full start to change, so it is set here; the
# listener on [::1] is added to master.cf and picked up by a reload.
pf_start "$(mxp_milter)" "inet_protocols = all" "${SPF_PF_SETTINGS[@]}"
pf6_port=$(free_port) || itest_fail "no free port"
postconf -c "$PF_CONF" -Me "[::1]:$pf6_port/inet=[::1]:$pf6_port inet n - n - - smtpd" \
    || itest_fail "postconf -M failed" "$PF_CONF/master.cf"
pf_reconfig "inet_protocols = all"
# shellcheck disable=SC2317 # called through _itest_poll
_pf6_listening() {
    ss -Hltn "sport = :$pf6_port" 2>/dev/null | grep -qF "[::1]:$pf6_port"
}
_itest_poll "$ITEST_START_TIMEOUT" _pf6_listening \
    || itest_fail "Postfix did not listen on [::1]:$pf6_port" "$PF_LOG"
itest_log "Postfix smtpd also on [::1]:$pf6_port"

send6() {
    swaks_send -6 --server ::1 --port "$pf6_port" "${SPF_SWAKS6[@]}" "$@" || true
}

# 1. ip6 record, IPv6 client: pass
send6 --from a@v6pass.example.net --header "Subject: spf ipv6 pass"
assert_swaks_reply 250
mxp_dns_assert_query TXT v6pass.example.net
assert_grep '=== Connected to ::1\.' "$SWAKS_LOG"
sink_wait_count 1 30
f=$(sink_file_from a@v6pass.example.net)
header_lines "$f" Authentication-Results \
    | grep -qxF 'Authentication-Results: mx1.example.com; spf=pass smtp.mailfrom=a@v6pass.example.net smtp.helo=client.itest.example' \
    || itest_fail "no spf=pass Authentication-Results" "$f" 40
sum=$(mxp_wait_summary_from a@v6pass.example.net)
case $sum in
    *"client=unknown[$ip6] hop=edge from=<a@v6pass.example.net> rcpts=1 "*" spf=pass action=accept "*) ;;
    *) itest_fail "unexpected summary '$sum'" "$MXP_LOG" ;;
esac
assert_grep 'connect from [^ ]+\[::1\]' "$PF_LOG"

# 2. ip4-only record, IPv6 client: fail at RCPT
send6 --from b@v4only.example.net --header "Subject: spf ipv6 fail"
mxp_dns_assert_query TXT v4only.example.net
assert_swaks_reply "550 5.7.23 SPF MAIL FROM check failed: v4only.example.net does not allow "
assert_grep ' to send mail for b@v4only\.example\.net$' "$SWAKS_LOG"
wait_for_grep "reject: RCPT from unknown\[$ip6\]: 550 5\.7\.23 SPF MAIL FROM check failed: .*from=<b@v4only\.example\.net> to=<recipient@example\.net> hop=edge" "$MXP_LOG" 10

# 3. the same record from the IPv4 client: pass
swaks_send "${SPF_SWAKS4[@]}" --from c@v4only.example.net --header "Subject: spf ipv4 pass" || true
assert_swaks_reply 250
sink_wait_count 2 30
header_lines "$(sink_file_from c@v4only.example.net)" Authentication-Results \
    | grep -qxF 'Authentication-Results: mx1.example.com; spf=pass smtp.mailfrom=c@v4only.example.net smtp.helo=client.itest.example' \
    || itest_fail "no spf=pass for the IPv4 client" "$(sink_file_from c@v4only.example.net)" 40

sink_wait_count 2 5
sink_no_grep '^X-Mail-Args: <b@v4only\.example\.net>'
_itest_poll 20 pf_queue_empty "$PF_CONF" || itest_fail "mail left in the Postfix queue"
mxp_assert_healthy
itest_pass
