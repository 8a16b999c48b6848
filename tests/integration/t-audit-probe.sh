#!/bin/bash
# t-audit-probe.sh - mxparity audit --probe against three MXs of one domain
# on one port (dnsmasq's MX records point at 127.0.0.21-23): mx1 and mx2,
# real Postfix behind their own mxparityd (rcpt, av, spf), and mx3, a
# Postfix with no milter.
#  1. mx1 and mx2: the unknown recipient refused at RCPT (550 5.1.1), EICAR
#     at the end of DATA (554 5.7.1), the SPF-failing sender at RCPT
#     (550 5.7.23), the clean message accepted up to RCPT: "parity ok";
#     mx3: "GAP: not in the policy; GAP: accepted unknown recipient; GAP:
#     accepted EICAR; GAP: accepted an SPF-failing sender", each answer
#     marked as differing from the primary's; exit 1; --json the same;
#  2. a backup whose spf says on_fail = tag: "GAP: accepted an SPF-failing
#     sender"; a backup with no rcpt module: "GAP: accepted unknown
#     recipient";
#  3. nothing reached the sink from mx1 or mx2 (the probes deliver nothing
#     to an MX that behaves), and mx3's EICAR did;
#  4. an MX that does not answer is a row with the reason, in bounded time;
#  5. mx1 offers STARTTLS: the probes go over TLS, and the certificate's
#     names and expiry are shown.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=mxp.sh
. "$(dirname "$0")/mxp.sh"

itest_init audit-probe
itest_require dnsmasq python3 postfix
mxp_modules_av
mxp_modules_spf
cat >"$ITEST_DIR/zone" <<'ZONE'
local=/audit.example/
local=/127.in-addr.arpa/
mx-host=audit.example,mx1.audit.example,10
mx-host=audit.example,mx2.audit.example,20
mx-host=audit.example,mx3.audit.example,30
host-record=mx1.audit.example,127.0.0.21
host-record=mx2.audit.example,127.0.0.22
host-record=mx3.audit.example,127.0.0.23
txt-record=audit.example,"v=spf1 mx -all"
txt-record=_dmarc.audit.example,"v=DMARC1; p=reject"
txt-record=pass.audit.example,"v=spf1 ip4:127.0.0.1 -all"
txt-record=fail.audit.example,"v=spf1 -all"
ZONE
mxp_dns_start "$ITEST_DIR/zone"
mxp_av_testdb "$ITEST_DIR/db"
mkdir -p "$ITEST_DIR/spool"
printf 'postmaster@audit.example\n' >"$ITEST_DIR/recipients"
(umask 077 && head -c 32 /dev/urandom >"$ITEST_DIR/parity.key")
# write_policy FILE [SPF OPTIONS] [no-rcpt]: the shared policy, or a variant of it
write_policy() {
    local file=$1 spf_opts=${2:-} rcpt='module rcpt { recipients_file = "recipients" }'
    [ "${3:-}" = no-rcpt ] && rcpt=''
    cat >"$file" <<POLICY
version = "audit.1"
mx {
  host "mx1.audit.example" { tier = primary addresses = {"127.0.0.21"} }
  host "mx2.audit.example" { tier = backup addresses = {"127.0.0.22"} }
}
trusted_networks = {"127.0.0.9/32"}
parity { key_file = "parity.key" }
$rcpt
module av { database = "db" spool_dir = "spool" }
module spf { resolver = "127.0.0.1:$DNS_PORT" $spf_opts }
audit {
  known_recipient = "postmaster@audit.example"
  sender = "probe@pass.audit.example"
  spf_fail_sender = "probe@fail.audit.example"
  helo = "prober.audit.example"
}
POLICY
}
write_policy "$ITEST_DIR/policy.conf"
write_policy "$ITEST_DIR/policy.mx2.conf"
mxp_daemon MX1 mx1.audit.example "$ITEST_DIR/policy.conf"
mxp_daemon MX2 mx2.audit.example "$ITEST_DIR/policy.mx2.conf"
sink_start
port=$(free_port) || itest_fail "no free port"
# mx1 offers STARTTLS with a certificate made here (names and expiry are reported).
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=mx1.audit.example \
    -addext "subjectAltName=DNS:mx1.audit.example,DNS:mail.audit.example" \
    -keyout "$ITEST_DIR/tls.key" -out "$ITEST_DIR/tls.crt" >"$ITEST_DIR/openssl.log" 2>&1 \
    || itest_fail "openssl req failed" "$ITEST_DIR/openssl.log"
expires=$(date -u -d "$(openssl x509 -enddate -noout -in "$ITEST_DIR/tls.crt" | sed 's/^notAfter=//')" +%Y-%m-%d)
PF_LISTEN_PORT=$port PF_LISTEN_ADDR=127.0.0.21 pf_start "inet:127.0.0.1:$MX1_MPORT" \
    "smtpd_tls_cert_file = $ITEST_DIR/tls.crt" "smtpd_tls_key_file = $ITEST_DIR/tls.key" \
    "smtpd_tls_security_level = may"
PF_LISTEN_PORT=$port PF_LISTEN_ADDR=127.0.0.22 pf_start "inet:127.0.0.1:$MX2_MPORT"
PF_LISTEN_PORT=$port PF_LISTEN_ADDR=127.0.0.23 pf_start ""
audit() {
    timeout 120 "$top_builddir/mxparity" audit -c "$ITEST_DIR/policy.conf" -M "$MXP_MODDIR" \
        --resolver "127.0.0.1:$DNS_PORT" --probe --allow-private --port "$port" --timeout 10 "$@" audit.example
}
expect() { # expect TEXT: the last output has the line (fixed string)
    grep -qF -- "$1" "$ITEST_DIR/last.out" || itest_fail "audit output lacks: $1" "$ITEST_DIR/last.out"
}
verdict_of() { # verdict_of HOST: that MX's verdict in the last output
    sed -n "s/^[0-9][0-9]*  *[0-9][0-9r]*  *$1  *[a-z-]*  *//p" "$ITEST_DIR/last.out"
}

# 1. two MXs with parity, one without
audit >"$ITEST_DIR/last.out" 2>&1; rc=$?
[ "$rc" -eq 1 ] || itest_fail "audit: exit $rc, want 1 (mx3 is a gap)" "$ITEST_DIR/last.out"
[ "$(verdict_of mx1.audit.example)" = "parity ok" ] || itest_fail "mx1: '$(verdict_of mx1.audit.example)'" "$ITEST_DIR/last.out"
[ "$(verdict_of mx2.audit.example)" = "parity ok" ] || itest_fail "mx2: '$(verdict_of mx2.audit.example)'" "$ITEST_DIR/last.out"
[ "$(verdict_of mx3.audit.example)" = "GAP: not in the policy; GAP: accepted unknown recipient; GAP: accepted EICAR; GAP: accepted an SPF-failing sender" ] \
    || itest_fail "mx3: '$(verdict_of mx3.audit.example)'" "$ITEST_DIR/last.out"
expect "unknown_recipient  RCPT 550 5.1.1"
expect "eicar              EOM  554 5.7.1"
expect "spf_fail           RCPT 550 5.7.23"
expect "clean              RCPT 250 2.1.5"
expect "  * unknown_recipient  RCPT 250 2.1.5"
expect "  * eicar              EOM  250 2.0.0"
expect "(* differs from mx1.audit.example, the primary)"
expect "      smtp 127.0.0.21: banner 220 pf1.itest.example (the PTR says mx1.audit.example)"
expect "      ehlo 250 pf1.itest.example (the PTR says mx1.audit.example), STARTTLS ok"
expect "      certificate: mx1.audit.example,mail.audit.example, expires $expires"
expect "      ehlo 250 pf2.itest.example (the PTR says mx2.audit.example), STARTTLS not offered"
itest_log "ok: mx1 and mx2 parity ok, mx3 a gap on every probe"
json=$(audit --json 2>/dev/null)
python3 - "$json" <<'PY' || itest_fail "audit --json is wrong: $json"
import json, sys
d = json.loads(sys.argv[1])
assert d["probed"] is True, d
mx = {m["host"]: m for m in d["mx"]}
assert mx["mx1.audit.example"]["verdict"] == "parity ok", mx["mx1.audit.example"]
r = mx["mx1.audit.example"]["probe"]["results"]
assert r["unknown_recipient"]["code"] == 550 and r["unknown_recipient"]["enhanced_code"] == "5.1.1", r
assert r["eicar"]["stage"] == "EOM" and r["eicar"]["code"] == 554, r
assert r["clean"]["code"] == 250, r
m3 = mx["mx3.audit.example"]
assert m3["tier"] is None and m3["verdict"].startswith("GAP: not in the policy"), m3
assert set(m3["probe"]["differs_from_primary"]) == {"unknown_recipient", "eicar", "spf_fail"}, m3
PY
itest_log "ok: --json"

# Without --allow-private, loopback MX addresses are not probed (a zone must
# not steer the probes into the prober's own network), and said so.
timeout 120 "$top_builddir/mxparity" audit -c "$ITEST_DIR/policy.conf" -M "$MXP_MODDIR" \
    --resolver "127.0.0.1:$DNS_PORT" --probe --port "$port" audit.example >"$ITEST_DIR/last.out" 2>&1
case $(verdict_of mx1.audit.example) in
    *"NO ANSWER: not probed: a loopback, private or link-local address (--allow-private)"*) ;;
    *) itest_fail "mx1 without --allow-private: '$(verdict_of mx1.audit.example)'" "$ITEST_DIR/last.out" ;;
esac
# A known recipient at another domain: the probes would write to that domain's mailboxes.
timeout 60 "$top_builddir/mxparity" audit -c "$ITEST_DIR/policy.conf" -M "$MXP_MODDIR" \
    --resolver "127.0.0.1:$DNS_PORT" --probe --allow-private --port "$port" good.example \
    >"$ITEST_DIR/other.out" 2>&1; rc=$?
[ "$rc" -eq 2 ] || itest_fail "probing another domain: exit $rc, want 2" "$ITEST_DIR/other.out"
grep -qF "known_recipient postmaster@audit.example is not at good.example" "$ITEST_DIR/other.out" \
    || itest_fail "no word on the other domain" "$ITEST_DIR/other.out"
itest_log "ok: private addresses not probed without --allow-private; no probes for another domain"

# 2. a backup that filters less than the primary
write_policy "$ITEST_DIR/policy.mx2.conf" "on_fail = tag"
sed -i 's/version = "audit.1"/version = "audit.2"/' "$ITEST_DIR/policy.mx2.conf"
mxp_reload audit.2 MX2
audit >"$ITEST_DIR/last.out" 2>&1
[ "$(verdict_of mx2.audit.example)" = "GAP: accepted an SPF-failing sender" ] \
    || itest_fail "mx2 with on_fail = tag: '$(verdict_of mx2.audit.example)'" "$ITEST_DIR/last.out"
expect "  * spf_fail           RCPT 250 2.1.5"
write_policy "$ITEST_DIR/policy.mx2.conf" "" no-rcpt
sed -i 's/version = "audit.1"/version = "audit.3"/' "$ITEST_DIR/policy.mx2.conf"
mxp_reload audit.3 MX2
audit >"$ITEST_DIR/last.out" 2>&1
[ "$(verdict_of mx2.audit.example)" = "GAP: accepted unknown recipient" ] \
    || itest_fail "mx2 without rcpt: '$(verdict_of mx2.audit.example)'" "$ITEST_DIR/last.out"
itest_log "ok: a backup with on_fail = tag, and one without rcpt, are found"

# 3. what reached the sink: mx3's EICARs only (one per run, four runs), nothing of mx1's or mx2's
sink_wait_count 4 30
n=$(grep -l 'mxparity audit: EICAR test' "$SINK_DIR"/* 2>/dev/null | wc -l)
[ "$n" -eq 4 ] || itest_fail "$n EICAR probes delivered, want 4 (mx3's, one per run)"
[ "$(find "$SINK_DIR" -type f | wc -l)" -eq 4 ] || itest_fail "more than mx3's EICAR probes were delivered"
for f in "$ITEST_DIR/postfix/log/maillog" "$ITEST_DIR/postfix.2/log/maillog"; do
    [ -f "$f" ] || itest_fail "no maillog $f"
    if grep -q 'status=sent' "$f"; then itest_fail "a probe was delivered through a protected MX" "$f"; fi
done
itest_log "ok: only mx3 delivered its EICAR probes"

# 4. an MX that does not answer
PF_CONF_MX3=$ITEST_DIR/postfix.3/etc
timeout 60 postfix -c "$PF_CONF_MX3" stop >/dev/null 2>&1
audit >"$ITEST_DIR/last.out" 2>&1
case $(verdict_of mx3.audit.example) in
    *"NO ANSWER: connect: Connection refused"*) ;;
    *) itest_fail "mx3 stopped: '$(verdict_of mx3.audit.example)'" "$ITEST_DIR/last.out" ;;
esac
itest_pass
