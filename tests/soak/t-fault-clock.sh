#!/bin/bash
# t-fault-clock.sh - one tier's clock an hour off, under load, through two
# real Postfix tiers (tests/integration/tier.sh: the client 127.0.0.10 ->
# the backup mx2 -> the primary mx1 -> the sink).  Only mx2's daemon runs
# under libfaketime (LD_PRELOAD, FAKETIME); the machine's clock is never
# touched.
#  1. mx2 an hour ahead: its stamps are from mx1's future (more than the
#     300 s allowed), so mx1 logs each relay as an unfiltered one ("stale
#     stamp"), counts it (stamp_stale) and filters the message itself;
#     every message is still delivered exactly once, none lost.
#  2. mx2 an hour behind: its stamps are an hour old, within max_age: mx1
#     verifies them (relay_verified), every message delivered exactly once.
# Figures: for each, sent, delivered, tempfailed, lost, duplicates, and
# mx1's stamp_stale / relay_verified counts.
set -u
# shellcheck source=tests/integration/lib.sh
. "${top_srcdir:?}/tests/integration/lib.sh"
# shellcheck source=tests/integration/mxp.sh
. "${top_srcdir:?}/tests/integration/mxp.sh"
# shellcheck source=tests/integration/tier.sh
. "${top_srcdir:?}/tests/integration/tier.sh"
# shellcheck source=tests/soak/soak.sh
. "${top_srcdir:?}/tests/soak/soak.sh"

tier_init fault-clock
itest_require python3
FAKETIME_LIB=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
[ -f "$FAKETIME_LIB" ] || FAKETIME_LIB=$(find /usr/lib -name libfaketime.so.1 -print -quit 2>/dev/null)
[ -f "$FAKETIME_LIB" ] || itest_fail "libfaketime (package faketime) is missing"
tier_common
tier_mx1 "$TIER_POLICY"
pf_mx1_conf=$MX1_CONF

# mx2_under OFFSET: (re)start mx2's daemon with its clock OFFSET off
# ("+1h", "-1h").  ASan must not insist on coming first in the library list.
mx2_under() {
    if [ -n "${MX2_MPID:-}" ]; then
        _itest_kill_pid "$MX2_MPID"
    fi
    MXP_LAUNCH=(env "LD_PRELOAD=$FAKETIME_LIB" "FAKETIME=$1" FAKETIME_DONT_FAKE_MONOTONIC=1
        "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0")
    mxp_daemon MX2 mx2.example.com "$TIER_POLICY"
    MXP_LAUNCH=()
}

# counter LOG NAME: the last counters line's NAME in LOG.
counter() {
    grep 'counters: ' "$1" | tail -n 1 | grep -oE " $2=[0-9]+" | cut -d= -f2
}

# load LABEL: the load through mx2, settled, accounted; mx1's counters after it.
load() {
    soak_load_start "$1" --bind "$TIER_CLIENT_IP" --helo "$TIER_HELO"
    soak_load_wait
    soak_settle "$MX2_CONF" "$pf_mx1_conf"
    soak_account
    local mark
    mark=$(itest_mark "$MX1_MLOG")
    kill -USR1 "$MX1_MPID"
    wait_for_grep_from "$mark" 'counters: ' "$MX1_MLOG" 20
}

SOAK_SENDER=load@pass.example.org
mx2_under +1h
tier_mx2 MX2 MX2
load ahead
ahead=$SOAK_FIGURES
stale=$(counter "$MX1_MLOG" stamp_stale)
verified=$(counter "$MX1_MLOG" relay_verified)
sent=$(soak_sent ahead)
[ "$stale" -eq "$sent" ] || itest_fail "mx1 counted $stale stale stamps for $sent messages from a clock an hour ahead" "$MX1_MLOG"
[ "$verified" -eq 0 ] || itest_fail "mx1 verified $verified stamps from the future" "$MX1_MLOG"
assert_grep 'unfiltered relay .*stale stamp' "$MX1_MLOG"
mxp_assert_summary "$MX1_MLOG" "$SOAK_SENDER" 'hop=relay:mx2\.example\.com' ' spf=pass ' ' av=clean '

mx2_under -1h
load behind
behind=$SOAK_FIGURES
verified2=$(counter "$MX1_MLOG" relay_verified)
stale2=$(counter "$MX1_MLOG" stamp_stale)
sent2=$(soak_sent behind)
[ "$verified2" -eq "$sent2" ] || itest_fail "mx1 verified $verified2 of $sent2 stamps an hour old" "$MX1_MLOG"
[ "$stale2" -eq "$stale" ] || itest_fail "stamps an hour old were called stale" "$MX1_MLOG"
mxp_assert_healthy MX1 MX2
echo "t-fault-clock: mx2 +1h: $ahead; mx1 stamp_stale=$stale relay_verified=0"
echo "t-fault-clock: mx2 -1h: $behind; mx1 relay_verified=$verified2"
itest_pass
