#!/bin/bash
# t-authres.sh - Authentication-Results forged in our name are removed
# for every client, whatever the spelling (RFC 8601 section 5), through a
# real Postfix with mxparityd (spf module) as its milter.  "Our name" is
# any host of the policy's MX map (policy.common: mx1.example.com, this
# host, and mx2.example.com); the authserv-id is compared as RFC 8601 2.2
# reads it: after CFWS, a token or a quoted-string (quoted-pairs undone),
# without regard to case or a trailing dot.  Every message carries
#    mx1.example.com; dkim=pass header.d=example.com   (the plain forgery)
#    MX1.Example.COM; ...                             (case)
#    mx1.example.com.; ...                            (trailing dot)
#    "mx1.example.com."; ...                          (quoted)
#    mx1\.example.com; ...                            (quoted-pair)
#    "mx1\.example.com"; ...                          (quoted-pair, quoted)
#    (comment) mx1.example.com; ...                   (leading comment)
#    <folded>\tmx1.example.com; ...                   (id on the next line)
#    MX2.example.com.; ...                            (the other MX host)
# and two that are not ours and must stay:
#    other.example.net; spf=pass smtp.mailfrom=...
#    mx1.example.com.other.example; spf=pass smtp.mailfrom=...
#  1. an edge client (127.0.0.1, not in trusted_networks): 250; the sink
#     copy holds exactly the two foreign headers and our own new one,
#     "mx1.example.com; spf=pass smtp.mailfrom=... smtp.helo=...";
#  2. a client in trusted_networks (SIGHUP to a policy with 127.0.0.1/32
#     in it; the modules are skipped, checks=skipped:trusted_network): the
#     sink copy holds exactly the two foreign headers (none of ours);
#  3. an authenticated client (SMTP AUTH PLAIN against a Dovecot-protocol
#     auth server of the test's own on loopback, smtpd_sasl_type = dovecot;
#     back on the first policy; checks=skipped:authenticated): the same as 2.
# Each time the daemon logs, for that message, one line
# "authres: removed Authentication-Results claiming to be mx1.example.com"
# (the id lower-case, without the trailing dot) per removed mx1 header (8)
# and one "... claiming to be mx2.example.com", and no other removal line.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=mxp.sh
. "$(dirname "$0")/mxp.sh"

itest_init authres
itest_require dnsmasq swaks python3
mxp_spf_client
ip=$SPF_IP4
MX1_FORGED=8
MX2_FORGED=1

cat >"$ITEST_DIR/zone" <<EOF
txt-record=pass.example.net,"v=spf1 ip4:$ip -all"
EOF
mxp_dns_start "$ITEST_DIR/zone"

# A Dovecot authentication server (the protocol Postfix's smtpd_sasl_type =
# dovecot speaks), on loopback: PLAIN only, user lfuser, password secret.
# It exits by itself after 300 s at the latest.
auth_port=$(free_port) || itest_fail "no free port"
# shellcheck disable=SC2016 # Python code
auth_server='
import base64, socket, socketserver, sys, threading, time

class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        w = self.wfile
        w.write(b"VERSION\t1\t2\nMECH\tPLAIN\tplaintext\nSPID\t1\nCUID\t1\nCOOKIE\t"
                + b"0" * 32 + b"\nDONE\n")
        w.flush()
        for raw in self.rfile:
            f = raw.rstrip(b"\n").decode("ascii", "replace").split("\t")
            print("auth-server: got", f[0], flush=True)
            if f[0] not in ("AUTH", "CONT") or len(f) < 2:
                continue
            resp = None
            if f[0] == "CONT":
                resp = f[2] if len(f) > 2 else ""
            else:
                resp = next((a[5:] for a in f[3:] if a.startswith("resp=")), None)
            if resp is None:
                w.write(("CONT\t%s\t\n" % f[1]).encode())
                w.flush()
                continue
            try:
                parts = base64.b64decode(resp).split(b"\0")
            except ValueError:
                parts = []
            if len(parts) == 3 and parts[1] == b"lfuser" and parts[2] == b"secret":
                w.write(("OK\t%s\tuser=lfuser\n" % f[1]).encode())
                print("auth-server: OK lfuser", flush=True)
            else:
                w.write(("FAIL\t%s\treason=bad credentials\n" % f[1]).encode())
                print("auth-server: FAIL", flush=True)
            w.flush()

class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True

srv = Server(("127.0.0.1", int(sys.argv[1])), Handler)
threading.Thread(target=srv.serve_forever, daemon=True).start()
print("auth-server: listening", flush=True)
time.sleep(300)
'
python3 -c "$auth_server" "$auth_port" >"$ITEST_DIR/auth-server.log" 2>&1 </dev/null &
auth_pid=$!
itest_track_pid "$auth_pid"
itest_track_log "$ITEST_DIR/auth-server.log"
_itest_poll 10 _itest_listening "$auth_port" \
    || itest_fail "the auth server did not listen on 127.0.0.1:$auth_port" "$ITEST_DIR/auth-server.log"

mxp_modules_spf
mxp_spf_policy itest.1
mxp_start
sink_start
pf_start "$(mxp_milter)" "${SPF_PF_SETTINGS[@]}" \
    "smtpd_sasl_auth_enable = yes" \
    "smtpd_sasl_type = dovecot" \
    "smtpd_sasl_path = inet:127.0.0.1:$auth_port"
delivered=0

# The message: every forgery of ours, and the two foreign headers.
cat >"$ITEST_DIR/forged.eml" <<'EOF'
Authentication-Results: mx1.example.com; dkim=pass header.d=example.com
Authentication-Results: MX1.Example.COM; dkim=pass header.d=example.com
Authentication-Results: other.example.net; spf=pass smtp.mailfrom=%FROM_ADDRESS%
Authentication-Results: mx1.example.com.; dkim=pass header.d=example.com
Authentication-Results: "mx1.example.com."; dkim=pass header.d=example.com
Authentication-Results: mx1\.example.com; dkim=pass header.d=example.com
Authentication-Results: "mx1\.example.com"; dkim=pass header.d=example.com
Authentication-Results: (comment) mx1.example.com; dkim=pass header.d=example.com
Authentication-Results: mx1.example.com.other.example; spf=pass smtp.mailfrom=%FROM_ADDRESS%
Authentication-Results:
	mx1.example.com; dkim=pass header.d=example.com
Authentication-Results: MX2.example.com.; dkim=pass header.d=example.com
From: %FROM_ADDRESS%
To: %TO_ADDRESS%
Date: %DATE%
Message-Id: <%MESSAGEID%>
Subject: forged Authentication-Results

Authentication-Results in our name above.
EOF

# ar_fields FILE: the Authentication-Results fields of FILE's header
# block, each unfolded onto one line (CRs removed), in order
ar_fields() {
    awk '
        { sub(/\r$/, "") }
        /^$/ { exit }
        /^[ \t]/ { if (cur != "") cur = cur " " substr($0, match($0, /[^ \t]/)); next }
        { if (cur != "") print cur; cur = "" }
        tolower($0) ~ /^authentication-results:/ { cur = $0 }
        END { if (cur != "") print cur }
    ' "$1"
}

# check_case WHAT FROM MARK OUR-AR SUMMARY-PART...: the message of FROM
# (sent after log line MARK) arrived with exactly the foreign headers and
# OUR-AR (none when ""), its summary line holds every SUMMARY-PART, and
# the removals were logged once each
check_case() {
    local what=$1 from=$2 mark=$3 ours=$4 f sum got want part n1 n2 nall
    shift 4
    delivered=$((delivered + 1))
    sink_wait_count "$delivered" 30
    f=$(sink_file_from "$from")
    [ -n "$f" ] || itest_fail "$what: no sink copy from <$from>"
    got=$(ar_fields "$f" | LC_ALL=C sort)
    want=$({
        printf 'Authentication-Results: other.example.net; spf=pass smtp.mailfrom=%s\n' "$from"
        printf 'Authentication-Results: mx1.example.com.other.example; spf=pass smtp.mailfrom=%s\n' "$from"
        if [ -n "$ours" ]; then printf '%s\n' "$ours"; fi
    } | LC_ALL=C sort)
    if [ "$got" != "$want" ]; then
        printf -- '---- %s: Authentication-Results delivered ----\n%s\n---- wanted ----\n%s\n----\n' \
            "$what" "$got" "$want" >&2
        itest_fail "$what: the delivered Authentication-Results are not exactly the foreign ones${ours:+ and ours}" "$f" 40
    fi
    itest_log "ok: $what: delivered with $(printf '%s\n' "$got" | grep -c .) Authentication-Results: the foreign ones${ours:+ and ours}"
    sum=$(mxp_wait_summary_from "$from")
    for part in "$@"; do
        case $sum in
            *"$part"*) ;;
            *) itest_fail "$what: no '$part' in the summary '$sum'" "$MXP_LOG" ;;
        esac
    done
    # The removals are logged while the headers come in, before the summary.
    n1=$(tail -n +"$(( mark + 1 ))" "$MXP_LOG" \
        | grep -c 'authres: removed Authentication-Results claiming to be mx1\.example\.com$')
    n2=$(tail -n +"$(( mark + 1 ))" "$MXP_LOG" \
        | grep -c 'authres: removed Authentication-Results claiming to be mx2\.example\.com$')
    nall=$(tail -n +"$(( mark + 1 ))" "$MXP_LOG" | grep -c 'removed Authentication-Results')
    if [ "$n1" -ne "$MX1_FORGED" ] || [ "$n2" -ne "$MX2_FORGED" ] \
            || [ "$nall" -ne $(( MX1_FORGED + MX2_FORGED )) ]; then
        tail -n +"$(( mark + 1 ))" "$MXP_LOG" | grep 'Authentication-Results' >&2
        itest_fail "$what: logged $n1 'authres: removed ... mx1.example.com' (want $MX1_FORGED), $n2 '... mx2.example.com' (want $MX2_FORGED), $nall removal lines in all (want $(( MX1_FORGED + MX2_FORGED ))); lines above"
    fi
    itest_log "ok: $what: $n1 + $n2 removals logged as authres:"
}

# 1. an edge client
mark=$(itest_mark "$MXP_LOG")
from=ar-edge@pass.example.net
swaks_send "${SPF_SWAKS4[@]}" --from "$from" --data "@$ITEST_DIR/forged.eml" || true
assert_swaks_reply 250
check_case "edge client" "$from" "$mark" \
    "Authentication-Results: mx1.example.com; spf=pass smtp.mailfrom=$from smtp.helo=client.itest.example" \
    " client=unknown[$ip] hop=edge from=<$from> rcpts=1 " " rcpt=ok spf=pass action=accept "

# 2. a client in trusted_networks
MXP_TRUSTED_NETWORKS="\"127.0.0.9/32\", \"$ip/32\"" mxp_spf_policy itest.2
mxp_reload_policy itest.2
mark=$(itest_mark "$MXP_LOG")
from=ar-trusted@pass.example.net
swaks_send "${SPF_SWAKS4[@]}" --from "$from" --data "@$ITEST_DIR/forged.eml" || true
assert_swaks_reply 250
check_case "trusted client" "$from" "$mark" "" \
    " client=unknown[$ip] hop=trusted from=<$from> rcpts=1 " " checks=skipped:trusted_network action=accept "

# 3. an authenticated client (not in trusted_networks)
mxp_spf_policy itest.3
mxp_reload_policy itest.3
mark=$(itest_mark "$MXP_LOG")
from=ar-auth@pass.example.net
swaks_send "${SPF_SWAKS4[@]}" --from "$from" --data "@$ITEST_DIR/forged.eml" \
    --auth PLAIN --auth-user lfuser --auth-password secret || true
assert_grep '<- *235 ' "$SWAKS_LOG"
assert_swaks_reply 250
wait_for_grep "sasl_method=PLAIN, sasl_username=lfuser" "$PF_LOG" 10
check_case "authenticated client" "$from" "$mark" "" \
    " client=unknown[$ip] hop=trusted from=<$from> rcpts=1 " " checks=skipped:authenticated action=accept "

sink_wait_count "$delivered" 5
_itest_poll 20 pf_queue_empty "$PF_CONF" || itest_fail "mail left in the Postfix queue"
mxp_assert_healthy
itest_pass
