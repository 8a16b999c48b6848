#!/bin/bash
# t-sm-spf-temperror.sh - SPF temperror behind a real sendmail: dnsmasq
# forwards temp.example.org to a loopback port where nothing listens, so
# its record cannot be had (SERVFAIL); RCPT gets 451 4.7.24 (on_temperror
# = tempfail), the daemon logs the tempfail as behind Postfix, nothing is
# delivered and sendmail queues nothing (the client keeps the message).
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=mxp.sh
. "$(dirname "$0")/mxp.sh"
# shellcheck source-path=SCRIPTDIR source=tier.sh
. "$(dirname "$0")/tier.sh"
# shellcheck source-path=SCRIPTDIR source=sendmail.sh
. "$(dirname "$0")/sendmail.sh"

# A UDP port on loopback where nothing listens (nothing binds 20000-32767 but the tests).
dead=$(ITEST_DIR=/nonexistent mxp_free_udp_port) || { echo "FAIL: no free UDP port" >&2; exit 1; }
TIER_ZONE_EXTRA="server=/temp.example.org/127.0.0.1#$dead"
sm_scenario sm-spf-temperror
sm_send --from t1@temp.example.org --header "Subject: spf temperror behind sendmail"
# (sendmail puts "<RCPT>... " before a 5xx at RCPT, not before a 4xx.)
assert_swaks_reply "451 4.7.24 SPF MAIL FROM check: temperror, try again later"
wait_for_grep 'tempfail: RCPT from unknown\[127\.0\.0\.10\]: 451 4\.7\.24 SPF MAIL FROM check: temperror, try again later; from=<t1@temp\.example\.org> to=<alice@example\.com> hop=edge' "$MX1_MLOG" 10
mxp_dns_assert_query TXT temp.example.org
sleep 1
sink_assert_none_from t1@temp.example.org
[ "$(sm_queue_count)" -eq 0 ] || itest_fail "sendmail queued a tempfailed message"
mxp_assert_healthy MX1
itest_pass
