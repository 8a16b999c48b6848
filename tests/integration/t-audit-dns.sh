#!/bin/bash
# t-audit-dns.sh - mxparity audit DOMAIN reads the MX setup from a real DNS
# server (dnsmasq on loopback) and sets it against the policy's MX map:
#  1. good.example: two MXs, both in the map, forward-confirmed PTRs, one
#     SPF and one DMARC record: "no problems found", exit 0, and --json
#     says the same;
#  2. gaps.example: an MX that the map does not know (GAP: not in the
#     policy), a CNAME target, an IP-literal target, a target with no
#     address, a duplicate target, a PTR that does not resolve back, a map
#     host that DNS does not publish, two SPF records and no DMARC record:
#     each reported with its words, exit 1;
#  3. nullmx.example: "this domain accepts no mail" (RFC 7505);
#  4. nomx.example: no MX, the fallback to the domain's own address;
#  5. nosuch.example: NXDOMAIN;
#  6. a resolver that does not answer: exit 3 (temporary), in bounded time;
#  7. usage errors: exit 2;
#  8. with the spf module built: each MX address checked against the SPF
#     record (sender postmaster@DOMAIN), a record over RFC 7208's lookup
#     limit and one that does not parse, each reported.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=mxp.sh
. "$(dirname "$0")/mxp.sh"

itest_init audit-dns
itest_require dnsmasq python3
cat >"$ITEST_DIR/zone" <<'ZONE'
local=/good.example/
local=/gaps.example/
local=/nullmx.example/
local=/nomx.example/
local=/nosuch.example/
local=/limits.example/
local=/badspf.example/
local=/127.in-addr.arpa/
# 1. in order
mx-host=good.example,mx1.good.example,10
mx-host=good.example,mx2.good.example,20
host-record=mx1.good.example,127.0.0.11
host-record=mx2.good.example,127.0.0.12
txt-record=good.example,"v=spf1 ip4:127.0.0.11 ip4:127.0.0.12 -all"
txt-record=_dmarc.good.example,"v=DMARC1; p=reject; rua=mailto:dmarc@good.example"
# 2. everything wrong
mx-host=gaps.example,mx1.good.example,10
mx-host=gaps.example,mx3.gaps.example,20
mx-host=gaps.example,alias.gaps.example,30
mx-host=gaps.example,192.0.2.1,40
mx-host=gaps.example,noaddr.gaps.example,50
mx-host=gaps.example,mx1.good.example,60
mx-host=gaps.example,mx4.gaps.example,70
host-record=mx3.gaps.example,127.0.0.13
cname=alias.gaps.example,mx1.good.example
address=/mx4.gaps.example/127.0.0.14
ptr-record=14.0.0.127.in-addr.arpa,elsewhere.gaps.example
txt-record=gaps.example,"v=spf1 mx -all"
txt-record=gaps.example,"v=spf1 a -all"
# 3. a null MX
dns-rr=nullmx.example,15,000000
txt-record=nullmx.example,"v=spf1 -all"
txt-record=_dmarc.nullmx.example,"v=DMARC1; p=reject"
# 4. no MX at all
host-record=nomx.example,127.0.0.15
# 6. SPF: over the lookup limit (11 includes); a record that does not parse; one that fails an MX
mx-host=limits.example,mx1.good.example,10
txt-record=limits.example,"v=spf1 include:i1.limits.example include:i2.limits.example include:i3.limits.example include:i4.limits.example include:i5.limits.example include:i6.limits.example include:i7.limits.example include:i8.limits.example include:i9.limits.example include:i10.limits.example include:i11.limits.example -all"
txt-record=i1.limits.example,"v=spf1 -all"
txt-record=i2.limits.example,"v=spf1 -all"
txt-record=i3.limits.example,"v=spf1 -all"
txt-record=i4.limits.example,"v=spf1 -all"
txt-record=i5.limits.example,"v=spf1 -all"
txt-record=i6.limits.example,"v=spf1 -all"
txt-record=i7.limits.example,"v=spf1 -all"
txt-record=i8.limits.example,"v=spf1 -all"
txt-record=i9.limits.example,"v=spf1 -all"
txt-record=i10.limits.example,"v=spf1 -all"
txt-record=i11.limits.example,"v=spf1 -all"
txt-record=_dmarc.limits.example,"v=DMARC1; p=none"
mx-host=badspf.example,mx1.good.example,10
txt-record=badspf.example,"v=spf1 ip4:300.1.2.3 -all"
txt-record=_dmarc.badspf.example,"v=DMARC1; p=none"
ZONE
mxp_dns_start "$ITEST_DIR/zone"
cat >"$ITEST_DIR/policy.conf" <<'POLICY'
version = "audit.1"
mx {
  host "mx1.good.example" { tier = primary addresses = {"127.0.0.11"} }
  host "mx2.good.example" { tier = backup addresses = {"127.0.0.12"} }
}
POLICY
mods=$ITEST_DIR/modules
mkdir -p "$mods"
audit() {
    timeout 60 "$top_builddir/mxparity" audit -c "$ITEST_DIR/policy.conf" -M "$mods" \
        --resolver "127.0.0.1:$DNS_PORT" "$@"
}
expect() { # expect WHAT TEXT: TEXT has the line (fixed string) WHAT
    printf '%s\n' "$2" | grep -qF -- "$1" || itest_fail "audit output lacks: $1" "$ITEST_DIR/last.out"
}

# 1. in order
out=$(audit good.example 2>&1); rc=$?
printf '%s\n' "$out" >"$ITEST_DIR/last.out"
[ "$rc" -eq 0 ] || itest_fail "good.example: exit $rc, want 0" "$ITEST_DIR/last.out"
expect "good.example: 2 MX in 2 preference groups, in the order senders try them" "$out"
expect "10    1     mx1.good.example             primary  ok" "$out"
expect "20    2     mx2.good.example             backup   ok" "$out"
expect "      addresses: 127.0.0.11 (ptr mx1.good.example" "$out"
expect "SPF: v=spf1 ip4:127.0.0.11 ip4:127.0.0.12 -all" "$out"
expect "DMARC: v=DMARC1; p=reject; rua=mailto:dmarc@good.example" "$out"
expect "no problems found" "$out"
json=$(audit --json good.example) || itest_fail "good.example --json: exit $?"
python3 - "$json" <<'PY' || itest_fail "good.example --json: wrong"
import json, sys
d = json.loads(sys.argv[1])
assert d["domain"] == "good.example" and d["problem_count"] == 0 and not d["null_mx"], d
assert [m["host"] for m in d["mx"]] == ["mx1.good.example", "mx2.good.example"], d
m = d["mx"][0]
assert m["preference"] == 10 and m["tier"] == "primary" and m["verdict"] == "ok", m
a = dict(m["addresses"][0])
assert a.pop("spf") in ("pass", None), m  # null without the spf module
assert len(m["addresses"]) == 1 and a == {"address": "127.0.0.11", "ptr": "mx1.good.example",
                                          "ptr_confirms": True, "in_policy": True}, m
assert d["spf"] == ["v=spf1 ip4:127.0.0.11 ip4:127.0.0.12 -all"], d
PY
itest_log "ok: good.example in order, table and JSON"

# 2. everything wrong
out=$(audit gaps.example 2>&1); rc=$?
printf '%s\n' "$out" >"$ITEST_DIR/last.out"
[ "$rc" -eq 1 ] || itest_fail "gaps.example: exit $rc, want 1" "$ITEST_DIR/last.out"
expect "20    2     mx3.gaps.example             -        GAP: not in the policy" "$out"
expect "  mx3.gaps.example: not in the policy's MX map: an unprotected host" "$out"
expect "  alias.gaps.example: the target is a CNAME (to mx1.good.example): it must be a host name with its own A/AAAA records (RFC 2181 10.3, RFC 5321 5.1)" "$out"
expect "  192.0.2.1: the target is an IP address, not a host name (RFC 5321 5.1)" "$out"
expect "  noaddr.gaps.example: the target has no A or AAAA record" "$out"
expect "  mx1.good.example: listed twice (preferences 10 and 60)" "$out"
expect "  mx4.gaps.example: 127.0.0.14: its PTR elsewhere.gaps.example does not resolve back to it (no forward-confirmed reverse DNS)" "$out"
expect "  gaps.example: mx host mx2.good.example of the policy is not an MX of gaps.example in DNS" "$out"
expect "  gaps.example: 2 SPF records at gaps.example: RFC 7208 4.5 makes that a permerror" "$out"
expect "  gaps.example: no DMARC record (TXT \"v=DMARC1; p=...\") at _dmarc.gaps.example" "$out"
itest_log "ok: gaps.example: $(printf '%s\n' "$out" | sed -n 's/^problems (\([0-9]*\)):$/\1/p') problems, each named"

# SPF through the spf module's own code: both MXs pass good.example's record
if [ -f "$top_builddir/milter/modules/.libs/spf.so" ]; then
    out=$(audit good.example 2>&1)
    printf '%s\n' "$out" >"$ITEST_DIR/last.out"
    expect "      addresses: 127.0.0.11 (ptr mx1.good.example, spf pass)" "$out"
    out=$(audit limits.example 2>&1); rc=$?
    printf '%s\n' "$out" >"$ITEST_DIR/last.out"
    [ "$rc" -eq 1 ] || itest_fail "limits.example: exit $rc, want 1" "$ITEST_DIR/last.out"
    expect "  limits.example: the SPF record of limits.example needs more than 10 DNS-querying terms (include, a, mx, ptr, exists, redirect): a permerror (RFC 7208 4.6.4)" "$out"
    expect "  mx1.good.example: the SPF record of limits.example gives permerror for 127.0.0.11 (sender postmaster@limits.example): the MXs cannot relay or bounce for the domain" "$out"
    out=$(audit badspf.example 2>&1)
    printf '%s\n' "$out" >"$ITEST_DIR/last.out"
    expect "  badspf.example: the SPF record of badspf.example does not parse: " "$out"
    itest_log "ok: SPF evaluated per MX address, the lookup limit and a bad record found"
fi

# 3. - 5.
out=$(audit --no-policy nullmx.example 2>&1); rc=$?
printf '%s\n' "$out" >"$ITEST_DIR/last.out"
expect 'nullmx.example: null MX ("0 .", RFC 7505): this domain accepts no mail' "$out"
# A null MX with its SPF and DMARC records is in order: exit 0, no row, no gap.
[ "$rc" -eq 0 ] || itest_fail "nullmx.example: exit $rc, want 0" "$ITEST_DIR/last.out"
if grep -q 'GAP' "$ITEST_DIR/last.out"; then itest_fail "a null MX shown as a gap" "$ITEST_DIR/last.out"; fi
out=$(audit nomx.example 2>&1); rc=$?
printf '%s\n' "$out" >"$ITEST_DIR/last.out"
[ "$rc" -eq 1 ] || itest_fail "nomx.example: exit $rc, want 1" "$ITEST_DIR/last.out"
expect "  nomx.example: no MX records: senders fall back to the domain's own A/AAAA records (RFC 5321 5.1)" "$out"
expect "0     1     nomx.example                 -        GAP: the domain's own address is not in the policy" "$out"
out=$(audit nosuch.example 2>&1); rc=$?
printf '%s\n' "$out" >"$ITEST_DIR/last.out"
[ "$rc" -eq 1 ] || itest_fail "nosuch.example: exit $rc, want 1" "$ITEST_DIR/last.out"
expect "  nosuch.example: nosuch.example does not exist (NXDOMAIN)" "$out"
itest_log "ok: null MX, no MX, NXDOMAIN"

# 6. a resolver that does not answer: a port with nothing on it
dead=$(mxp_free_udp_port)
start=$(date +%s)
out=$(timeout 120 "$top_builddir/mxparity" audit -c "$ITEST_DIR/policy.conf" -M "$mods" \
    --resolver "127.0.0.1:$dead" good.example 2>&1); rc=$?
[ "$rc" -eq 3 ] || itest_fail "a dead resolver: exit $rc, want 3: $out"
expect "mxparity: DNS could not be read: " "$out"
itest_log "ok: a dead resolver: exit 3 after $(( $(date +%s) - start )) s"

# 7. usage
"$top_builddir/mxparity" audit >/dev/null 2>&1; rc=$?
[ "$rc" -eq 2 ] || itest_fail "audit without a domain: exit $rc, want 2"
"$top_builddir/mxparity" audit -c "$ITEST_DIR/nonexistent.conf" -M "$mods" good.example >/dev/null 2>&1; rc=$?
[ "$rc" -eq 2 ] || itest_fail "audit with a missing policy: exit $rc, want 2"
itest_pass
