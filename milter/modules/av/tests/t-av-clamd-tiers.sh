#!/bin/bash
# t-av-clamd-tiers.sh - tiers with different av backends share one policy
# (tests/integration/tier.sh: mx2 relays to mx1 through real Postfix, both
# with mxparityd, av and spf, one parity key).  The backend is set per host
# in a host "NAME" { module av { ... } } section, which is host-local: both
# hosts' policies have the same digest, so there is no drift.
#  1. mx1 on clamd (a private clamd), mx2 on libclamav: the policy digests
#     for mx1 and mx2 are equal; a clean message via mx2 is verified on mx1
#     (parity=verified, no drift); EICAR straight to mx1 and to mx2 is
#     refused with the same name by both backends;
#  2. the other way round (both daemons reloaded): mx2 on clamd, mx1 on
#     libclamav; a clean message via mx2 is verified on mx1 again, and
#     mx2's finding travels in its stamp (av=clean:stamp on mx1).
set -u
# shellcheck source=tests/integration/lib.sh
. "${top_srcdir:?}/tests/integration/lib.sh"
# shellcheck source=tests/integration/mxp.sh
. "${top_srcdir:?}/tests/integration/mxp.sh"
# shellcheck source=tests/integration/tier.sh
. "${top_srcdir:?}/tests/integration/tier.sh"

tier_init av-clamd-tiers
[ -x /usr/sbin/clamd ] || itest_skip "clamd (package clamav-daemon) is not installed"
tier_common
mxp_clamd_start a "$ITEST_DIR/db"

# backend_on HOST VERSION: the tier policy with HOST on clamd; both digests equal
backend_on() {
    local d1 d2
    tier_policy "$TIER_POLICY" "$2" \
        "host \"$1\" { module av { backend = clamd servers = {\"unix:$CLAMD_A_SOCK\"} } }"
    d1=$(tier_digest "$TIER_POLICY")
    d2=$("$top_builddir/mxparity" check -c "$TIER_POLICY" -n mx2.example.com -M "$MXP_MODDIR" 2>&1 \
        | sed -n 's/^policy ok: .*digest=\(sha256:[0-9a-f]*\).*/\1/p')
    [ -n "$d1" ] && [ "$d1" = "$d2" ] || itest_fail "the digests for mx1 ($d1) and mx2 ($d2) differ" "$TIER_POLICY"
    TIER_DIGEST=$d1
    itest_log "ok: $1 on clamd, one digest for both: $d1"
}

# 1. mx1 on clamd, mx2 on libclamav
backend_on mx1.example.com tier.2
tier_mx1
mxp_daemon MX2 mx2.example.com "$TIER_POLICY"
tier_mx2 MX2 MX2
wait_for_grep "policy loaded: .* av=clamd:unix:$CLAMD_A_SOCK=" "$MX1_MLOG" 5
wait_for_grep 'policy loaded: .* av=clamav-[0-9.]+/db-' "$MX2_MLOG" 5
tier_send "$MX2_PORT" --from t1@pass.example.org --header "Subject: libclamav to clamd"
assert_swaks_reply 250
mxp_assert_summary "$MX2_MLOG" t1@pass.example.org ' hop=edge ' ' av=clean '
mxp_assert_summary "$MX1_MLOG" t1@pass.example.org ' hop=relay:mx2\.example\.com ' ' parity=verified( |$)'
sink_wait_from t1@pass.example.org 30
tier_assert_one_stamp "$SINK_FILE" mx1.example.com primary
for port in "$MX1_PORT" "$MX2_PORT"; do
    tier_send "$port" --from "e$port@pass.example.org" --body "$(mxp_eicar)"
    assert_swaks_reply "554 5.7.1 Virus found: $TIER_EICAR_NAME"
done
mxp_assert_summary "$MX1_MLOG" "e$MX1_PORT@pass.example.org" " av=infected:$TIER_EICAR_NAME "
mxp_assert_summary "$MX2_MLOG" "e$MX2_PORT@pass.example.org" " av=infected:$TIER_EICAR_NAME "

# 2. the other way round
backend_on mx2.example.com tier.3
mxp_reload tier.3 MX1 MX2
wait_for_grep "policy loaded: version=tier\\.3 .* av=clamd:unix:$CLAMD_A_SOCK=" "$MX2_MLOG" 5
tier_send "$MX2_PORT" --from t2@pass.example.org --header "Subject: clamd to libclamav"
assert_swaks_reply 250
mxp_assert_summary "$MX2_MLOG" t2@pass.example.org ' hop=edge ' ' av=clean '
mxp_assert_summary "$MX1_MLOG" t2@pass.example.org ' hop=relay:mx2\.example\.com ' \
    ' av=clean:stamp ' ' parity=verified( |$)'
sink_wait_from t2@pass.example.org 30
tier_assert_one_stamp "$SINK_FILE" mx1.example.com primary
assert_no_grep 'parity: (policy drift|unfiltered relay)' "$MX1_MLOG"
tier_counters MX1
tier_assert_counter relay_verified -eq 2
tier_assert_counter drift -eq 0
mxp_assert_healthy MX1 MX2
itest_pass
