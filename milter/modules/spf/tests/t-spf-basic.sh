#!/bin/bash
# t-spf-basic.sh - the spf module in a real Postfix, with the test zones
# served by dnsmasq on loopback (the client is 127.0.0.1; see
# mxp_spf_client for MXP_SPF_CLIENT=xclient):
#  1. pass (ip4:CLIENT -all): 250, the sink copy carries
#     "Authentication-Results: mx1.example.com; spf=pass smtp.mailfrom=...";
#  2. fail without exp=: 550 5.7.23 at RCPT with the default explanation
#     "%{d} does not allow %{i} to send mail for %{s}"; nothing delivered;
#  3. softfail (~all): 250, AR says spf=softfail, the summary action=tag,
#     "X-SPF-Status: softfail (MAIL FROM)" (a forged one removed); a pass
#     is action=accept, with no X-SPF-Status;
#  4. the null sender is checked as postmaster@HELO (pass and fail);
#  5. forged Authentication-Results of mx1/mx2.example.com (any host of the
#     MX map, any case, folded or not) are removed, a third party's is kept;
#  6. received_spf = true (SIGHUP) adds Received-SPF;
#  7. a client in trusted_networks (SIGHUP) is not checked: a -all sender
#     gets 250, no AR header of ours, summary checks=skipped:trusted_network;
#  8. fail with exp=: 550 5.7.23 with the domain's explanation, macros
#     expanded ("%{i} is not one of %{d}'s designated mail servers").
# Every DNS answer comes from dnsmasq (mxp_dns_start); the test also checks
# that the module did ask it.
set -u
# shellcheck source=tests/integration/lib.sh
. "${top_srcdir:?}/tests/integration/lib.sh"
# shellcheck source=tests/integration/mxp.sh
. "${top_srcdir:?}/tests/integration/mxp.sh"

itest_init spf-basic
itest_require dnsmasq swaks
mxp_spf_client
ip=$SPF_IP4
ipre=${ip//./\\.}

cat >"$ITEST_DIR/zone" <<EOF
txt-record=pass.example.net,"v=spf1 ip4:$ip -all"
txt-record=fail.example.net,"v=spf1 -all exp=explain.example.net"
txt-record=explain.example.net,"%{i} is not one of %{d}'s designated mail servers"
txt-record=noexp.example.net,"v=spf1 -all"
txt-record=soft.example.net,"v=spf1 ~all"
txt-record=helo.example.net,"v=spf1 ip4:$ip -all"
txt-record=badhelo.example.net,"v=spf1 -all"
EOF
mxp_dns_start "$ITEST_DIR/zone"
mxp_modules_spf
mxp_spf_policy itest.1
mxp_start
sink_start
pf_start "$(mxp_milter)" "${SPF_PF_SETTINGS[@]}"
delivered=0


# ar_check FILE RESULT MAILFROM HELO: FILE has exactly one AR header of ours,
# with those values
ar_check() {
    local file=$1 want got
    want="Authentication-Results: mx1.example.com; spf=$2 smtp.mailfrom=$3 smtp.helo=$4"
    got=$(header_lines "$file" Authentication-Results | grep -ciE '^Authentication-Results: *mx[12]\.example\.com')
    [ "$got" -eq 1 ] || itest_fail "$file: $got Authentication-Results of mx1/mx2, want 1" "$file" 40
    header_lines "$file" Authentication-Results | grep -qxF "$want" \
        || itest_fail "$file: no '$want'" "$file" 40
    itest_log "ok: $want"
}

# 1. pass
mxp_spf_send --from a@pass.example.net --header "Subject: spf pass"
assert_swaks_reply 250
delivered=$((delivered + 1))
sink_wait_count "$delivered" 30
mxp_dns_assert_query TXT pass.example.net
f=$(sink_file_from a@pass.example.net)
ar_check "$f" pass a@pass.example.net client.itest.example
sum=$(mxp_wait_summary_from a@pass.example.net)
case $sum in
    *"client=unknown[$ip] hop=edge from=<a@pass.example.net> rcpts=1 "*" spf=pass action=accept "*) ;;
    *) itest_fail "pass: unexpected summary '$sum'" "$MXP_LOG" ;;
esac
# Authentication-Results is information, not a tag: no X-SPF-Status.
assert_no_grep '^X-SPF-Status:' "$f"

# 2. fail: 550 5.7.23 at RCPT, the default explanation
mxp_spf_send --from c@noexp.example.net --header "Subject: spf fail noexp"
mxp_dns_assert_query TXT noexp.example.net
assert_swaks_reply "550 5.7.23 SPF MAIL FROM check failed: noexp.example.net does not allow $ip to send mail for c@noexp.example.net"
[ "$SWAKS_RC" -eq 24 ] || itest_fail "fail: swaks exit $SWAKS_RC, want 24 (every RCPT refused)" "$SWAKS_LOG"
wait_for_grep "reject: RCPT from unknown\[$ipre\]: 550 5\.7\.23 SPF MAIL FROM check failed: noexp\.example\.net does not allow $ipre to send mail for c@noexp\.example\.net; from=<c@noexp\.example\.net> to=<recipient@example\.net> hop=edge" "$MXP_LOG" 10
wait_for_grep "milter-reject: RCPT from [^ ]+\[$ipre\]: 550 5\.7\.23 SPF MAIL FROM check failed: .*from=<c@noexp\.example\.net>" "$PF_LOG" 10

# 3. softfail: accepted and tagged (X-SPF-Status), a forged tag header removed
mxp_spf_send --from d@soft.example.net --header "Subject: spf softfail" --add-header "X-SPF-Status: pass (forged)"
assert_swaks_reply 250
delivered=$((delivered + 1))
sink_wait_count "$delivered" 30
ar_check "$(sink_file_from d@soft.example.net)" softfail d@soft.example.net client.itest.example
sum=$(mxp_wait_summary_from d@soft.example.net)
case $sum in
    *" rcpt=ok spf=softfail action=tag "*) ;;
    *) itest_fail "softfail: unexpected summary '$sum'" "$MXP_LOG" ;;
esac
f=$(sink_file_from d@soft.example.net)
[ "$(grep -c '^X-SPF-Status:' "$f")" -eq 1 ] || itest_fail "softfail: want one X-SPF-Status" "$f"
assert_grep '^X-SPF-Status: softfail \(MAIL FROM\)$' "$f"

# 4. the null sender: postmaster@HELO
mxp_spf_send --from "<>" --helo helo.example.net --header "Subject: spf null sender"
assert_swaks_reply 250
delivered=$((delivered + 1))
sink_wait_count "$delivered" 30
f=$(sink_file_from "")
[ -n "$f" ] || itest_fail "no sink message with the null sender"
ar_check "$f" pass postmaster@helo.example.net helo.example.net
sum=$(mxp_wait_summary_from "")
case $sum in
    *" spf=pass action=accept "*) ;;
    *) itest_fail "null sender: unexpected summary '$sum'" "$MXP_LOG" ;;
esac
mxp_spf_send --from "<>" --helo badhelo.example.net --header "Subject: spf null sender fail"
assert_swaks_reply "550 5.7.23 SPF MAIL FROM check failed: badhelo.example.net does not allow $ip to send mail for postmaster@badhelo.example.net"

# 5. forged Authentication-Results: ours (mx1, mx2 in any case, one folded)
# go, a third party's stays
cat >"$ITEST_DIR/forged.eml" <<'EOF'
Authentication-Results: mx1.example.com; spf=pass smtp.mailfrom=forged@pass.example.net
Authentication-Results: other.example; spf=pass smtp.mailfrom=e@pass.example.net
Authentication-Results: MX2.Example.COM 1; dkim=pass header.d=pass.example.net
Authentication-Results:
	mx1.example.com; dmarc=pass header.from=pass.example.net
Authentication-Results: (relayed (twice)) mx2.example.com; spf=pass smtp.mailfrom=forged@x
Authentication-Results: "mx1.example.com"; spf=pass smtp.mailfrom=forged@y
From: %FROM_ADDRESS%
To: %TO_ADDRESS%
Date: %DATE%
Message-Id: <%MESSAGEID%>
Subject: spf forged AR

forged headers above
EOF
mxp_spf_send --from e@pass.example.net --data "@$ITEST_DIR/forged.eml"
assert_swaks_reply 250
delivered=$((delivered + 1))
sink_wait_count "$delivered" 30
f=$(sink_file_from e@pass.example.net)
ar_check "$f" pass e@pass.example.net client.itest.example
header_lines "$f" Authentication-Results | grep -qxF 'Authentication-Results: other.example; spf=pass smtp.mailfrom=e@pass.example.net' \
    || itest_fail "the third-party Authentication-Results was not kept" "$f" 40
n=$(grep -c -e 'forged@' -e 'dkim=pass' -e 'dmarc=pass' "$f")
[ "$n" -eq 0 ] || itest_fail "$n forged Authentication-Results line(s) survived" "$f" 40
[ "$(header_lines "$f" Authentication-Results | wc -l)" -eq 2 ] \
    || itest_fail "want 2 Authentication-Results (ours, other.example)" "$f" 40
assert_grep 'authres: removed Authentication-Results claiming to be mx1\.example\.com' "$MXP_LOG"
assert_grep 'authres: removed Authentication-Results claiming to be mx2\.example\.com' "$MXP_LOG"
[ "$(grep -c 'authres: removed Authentication-Results claiming to be' "$MXP_LOG")" -eq 5 ] \
    || itest_fail "want 5 removals logged" "$MXP_LOG"

# 6. received_spf = true
mxp_spf_policy itest.2 'received_spf = true'
mxp_reload_policy itest.2
mxp_spf_send --from g@pass.example.net --header "Subject: spf received-spf"
assert_swaks_reply 250
delivered=$((delivered + 1))
sink_wait_count "$delivered" 30
f=$(sink_file_from g@pass.example.net)
ar_check "$f" pass g@pass.example.net client.itest.example
rs=$(header_lines "$f" Received-SPF)
[ "$(printf '%s\n' "$rs" | grep -c .)" -eq 1 ] || itest_fail "want one Received-SPF" "$f" 40
case $rs in
    "Received-SPF: pass (mx1.example.com: "*") client-ip=$ip; envelope-from=\"g@pass.example.net\"; helo=client.itest.example;") ;;
    *) itest_fail "unexpected '$rs'" "$f" 40 ;;
esac
itest_log "ok: $rs"
# itest.1 had no Received-SPF
[ -z "$(header_lines "$(sink_file_from a@pass.example.net)" Received-SPF)" ] \
    || itest_fail "Received-SPF without received_spf = true"

# 7. a trusted client is not checked at all
MXP_TRUSTED_NETWORKS="\"127.0.0.9/32\", \"$ip/32\"" mxp_spf_policy itest.3
mxp_reload_policy itest.3
mxp_spf_send --from h@fail.example.net --header "Subject: spf trusted"
assert_swaks_reply 250
delivered=$((delivered + 1))
sink_wait_count "$delivered" 30
f=$(sink_file_from h@fail.example.net)
[ -z "$(header_lines "$f" Authentication-Results)" ] \
    || itest_fail "Authentication-Results added for a trusted client" "$f" 40
sum=$(mxp_wait_summary_from h@fail.example.net)
case $sum in
    *"client=unknown[$ip] hop=trusted from=<h@fail.example.net> rcpts=1 size="*" checks=skipped:trusted_network action=accept "*) ;;
    *) itest_fail "trusted: unexpected summary '$sum'" "$MXP_LOG" ;;
esac
case $sum in
    *spf=*) itest_fail "trusted: spf token in '$sum'" ;;
esac

# 7b. ... unless the policy says otherwise: check_trusted = true
MXP_TRUSTED_NETWORKS="\"127.0.0.9/32\", \"$ip/32\"" mxp_spf_policy itest.3b 'check_trusted = true'
mxp_reload_policy itest.3b
mxp_spf_send --from h2@fail.example.net --header "Subject: spf trusted, checked"
assert_swaks_reply "550 5.7.23 SPF MAIL FROM check failed: $ip is not one of fail.example.net's designated mail servers"
wait_for_grep "reject: RCPT from unknown\[$ipre\]: 550 5\.7\.23 .*from=<h2@fail\.example\.net> to=<recipient@example\.net> hop=trusted" "$MXP_LOG" 10

# 8. fail with the domain's own explanation (exp=, macros expanded), back
# on a policy without the trusted client
mxp_spf_policy itest.4
mxp_reload_policy itest.4
mxp_spf_send --from b@fail.example.net --header "Subject: spf fail"
mxp_dns_assert_query TXT fail.example.net
assert_swaks_reply "550 5.7.23 SPF MAIL FROM check failed: $ip is not one of fail.example.net's designated mail servers"
[ "$SWAKS_RC" -eq 24 ] || itest_fail "fail: swaks exit $SWAKS_RC, want 24 (every RCPT refused)" "$SWAKS_LOG"
wait_for_grep "reject: RCPT from unknown\[$ipre\]: 550 5\.7\.23 SPF MAIL FROM check failed: $ipre is not one of fail\.example\.net's designated mail servers; from=<b@fail\.example\.net> to=<recipient@example\.net> hop=edge" "$MXP_LOG" 10
mxp_dns_assert_query TXT explain.example.net

# Nothing of the rejected transactions was delivered.
sink_wait_count "$delivered" 5
sink_no_grep '^X-Mail-Args: <(b@fail|c@noexp)\.example\.net>'
[ "$(sink_file_from "" | wc -l)" -eq 1 ] \
    || itest_fail "want exactly one null-sender delivery (the pass one)"
_itest_poll 20 pf_queue_empty "$PF_CONF" || itest_fail "mail left in the Postfix queue"
mxp_assert_healthy
itest_pass
