#!/bin/bash
# t-spf-dns-cache.sh - a SIGHUP that leaves the resolver settings alone
# keeps the spf module's DNS cache; one that changes them starts afresh.
# A real Postfix with mxparityd (spf module) as its milter, the sender's
# SPF record served by dnsmasq on loopback with a TTL of 600 s (dnsmasq
# gives its own records TTL 0 unless told otherwise: libunbound would
# cache nothing).  Every step counts the TXT queries for the sender's
# domain in dnsmasq's query log:
#  1. the first message (spf=pass): exactly 1 query;
#  2. a second message, same domain: still 1 (the cache works);
#  3. SIGHUP with the policy file unchanged, a third message: still 1;
#  4. SIGHUP with a new version and received_spf = true (no resolver
#     setting changed), a fourth message: still 1;
#  5. SIGHUP with query_timeout 3 -> 4 (a resolver setting: a new
#     resolver, an empty cache), a fifth message: 2;
#  6. a sixth message: still 2 (the new resolver caches too).
# Each message is delivered with "spf=pass" in its Authentication-Results
# and its summary says spf=pass, so a count that stays put means an answer
# from the cache, not a check that was skipped.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=mxp.sh
. "$(dirname "$0")/mxp.sh"

itest_init spf-dns-cache
itest_require dnsmasq swaks
mxp_spf_client
ip=$SPF_IP4
domain=cache.example.net

cat >"$ITEST_DIR/zone" <<EOF
local-ttl=600
txt-record=$domain,"v=spf1 ip4:$ip -all"
EOF
mxp_dns_start "$ITEST_DIR/zone"
mxp_modules_spf
mxp_spf_policy itest.1 'query_timeout = 3'
mxp_start
sink_start
pf_start "$(mxp_milter)" "${SPF_PF_SETTINGS[@]}"
delivered=0

# txt_queries: how many TXT queries for $domain reached dnsmasq so far
txt_queries() {
    grep -cF "query[TXT] $domain from " "$ITEST_DIR/dnsmasq.log"
}

# send_checked N WANT: message N from sN@$domain is delivered with
# spf=pass, and then dnsmasq has seen exactly WANT TXT queries for $domain
send_checked() {
    local n=$1 want=$2 from=s$1@$domain f sum got
    swaks_send "${SPF_SWAKS4[@]}" --from "$from" --header "Subject: dns cache $n" || true
    assert_swaks_reply 250
    delivered=$((delivered + 1))
    sink_wait_count "$delivered" 30
    f=$(sink_file_from "$from")
    [ -n "$f" ] || itest_fail "message $n: no sink copy from <$from>"
    header_lines "$f" Authentication-Results \
        | grep -qxF "Authentication-Results: mx1.example.com; spf=pass smtp.mailfrom=$from smtp.helo=client.itest.example" \
        || itest_fail "message $n: no spf=pass Authentication-Results" "$f" 40
    sum=$(mxp_wait_summary_from "$from")
    case $sum in
        *" hop=edge from=<$from> "*" spf=pass action=accept "*) ;;
        *) itest_fail "message $n: unexpected summary '$sum'" "$MXP_LOG" ;;
    esac
    got=$(txt_queries)
    itest_log "message $n: TXT queries for $domain at dnsmasq: $got (want $want)"
    [ "$got" -eq "$want" ] \
        || itest_fail "message $n: dnsmasq saw $got TXT queries for $domain, want $want" \
            "$ITEST_DIR/dnsmasq.log" 40
}

# 1. the first look-up goes to dnsmasq
send_checked 1 1
# 2. the second is answered from the cache
send_checked 2 1

# 3. SIGHUP, the policy file as it was
mxp_reload_policy itest.1
send_checked 3 1

# 4. SIGHUP, a new policy that changes no resolver setting
mxp_spf_policy itest.2 'query_timeout = 3  received_spf = true'
mxp_reload_policy itest.2
send_checked 4 1
header_lines "$(sink_file_from "s4@$domain")" Received-SPF | grep -q '^Received-SPF: pass ' \
    || itest_fail "message 4: no Received-SPF: the new policy was not in force" "$(sink_file_from "s4@$domain")" 40

# 5. SIGHUP with another query_timeout: a new resolver, an empty cache
mxp_spf_policy itest.3 'query_timeout = 4  received_spf = true'
mxp_reload_policy itest.3
send_checked 5 2
# 6. and the new resolver caches as well
send_checked 6 2

_itest_poll 20 pf_queue_empty "$PF_CONF" || itest_fail "mail left in the Postfix queue"
mxp_assert_healthy
itest_pass
