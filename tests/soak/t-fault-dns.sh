#!/bin/bash
# t-fault-dns.sh - the DNS server (dnsmasq) killed under load, then started
# again on the same port.  While it is away SPF cannot be evaluated:
# temperror, and the spf module's default on_temperror tempfails (never a
# pass); the client sends those again.  Once DNS is back every message is
# delivered exactly once; none is lost and none was accepted unchecked.
# Figures: sent, delivered, tempfailed, lost, duplicates.
set -u
# shellcheck source=tests/integration/lib.sh
. "${top_srcdir:?}/tests/integration/lib.sh"
# shellcheck source=tests/integration/mxp.sh
. "${top_srcdir:?}/tests/integration/mxp.sh"
# shellcheck source=tests/soak/soak.sh
. "${top_srcdir:?}/tests/soak/soak.sh"

soak_init fault-dns
soak_tier
soak_load_start dns --retry-seconds 90
third=$(awk -v s="$SOAK_SECONDS" 'BEGIN { print s / 3 }')
sleep "$third"
mxp_dns_stop
itest_log "dnsmasq stopped"
# At least 3 s away: longer than the spf module's query timeout.
away=$(awk -v s="$third" 'BEGIN { print (s > 3 ? s : 3) }')
sleep "$away"
soak_dns
itest_log "dnsmasq back on port $DNS_PORT"
soak_load_wait
soak_settle
soak_account --allow-tempfail
[ "$(soak_tempfailed)" -ge 1 ] || itest_fail "no message was tempfailed while DNS was down" "$MXP_LOG"
assert_grep 'tempfail: RCPT from .*: 451 4\.7\.24 SPF MAIL FROM check: temperror' "$MXP_LOG"
# A temperror never passes: no summary line with spf=temperror was accepted.
assert_no_grep ' spf=temperror .* action=(accept|tag) ' "$MXP_LOG"
soak_spool_empty
mxp_assert_healthy
echo "t-fault-dns: dnsmasq away for ${away}s; $SOAK_FIGURES"
itest_pass
