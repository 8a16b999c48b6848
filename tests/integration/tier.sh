# shellcheck shell=bash
# tests/integration/tier.sh - two MX tiers through real Postfix, for the
# t-tier-*.sh tests.  Source it after lib.sh and mxp.sh.
#
#   client 127.0.0.10 ──▶ mx2 Postfix (127.0.0.1:$MX2_PORT, myhostname mx2.example.com)
#                            │ milter: mxparityd -n mx2.example.com ($MX2_MLOG)
#                            │ relayhost [127.0.0.1]:$MX1_PORT, smtp_bind_address 127.0.0.3
#                            ▼
#   client 127.0.0.10 ──▶ mx1 Postfix (127.0.0.1:$MX1_PORT, myhostname mx1.example.com)
#                            │ milter: mxparityd -n mx1.example.com ($MX1_MLOG)
#                            │ relayhost = the sink, smtp_bind_address 127.0.0.2
#                            ▼
#                         smtp-sink (lib.sh)
#
# Every smtpd listens on 127.0.0.1; what makes a connection a relay hop is
# its source address: mx2's Postfix connects to mx1 from 127.0.0.3, the
# address the policy's MX map gives mx2.example.com, and the "internet
# client" (swaks --local-interface) from 127.0.0.10, which is in no list.
# Both daemons read one policy ($ITEST_DIR/policy.conf: the MX map, a
# parity section with the shared key $ITEST_DIR/parity.key, spf on the
# dnsmasq of mxp_dns_start, av on the test signatures); trusted_networks
# holds only 127.0.0.9/32.
#
# A backup instance never bounces: its smtp client runs with soft_bounce =
# yes, so what mx1 refuses stays in mx2's queue (status=SOFTBOUNCE) instead of
# coming back through mx1 as a bounce.  Its smtpd still rejects for real.
# Mail to anyone@capture.example.com leaves mx2 straight for the sink, so a
# test can see a message exactly as mx2 sends it (with mx2's stamp).
#
# TIER_NO_PARITY=1 leaves the parity section out of the policy (for a
# daemon that does not know it yet; the parity assertions then fail).
# TIER_PARITY, when set, is the parity section tier_policy writes instead of
# the shared key's (e.g. 'parity { key_file = "k2.key" }', for key rotation).

# shellcheck disable=SC2034 # these are for the sourcing tests
{
    TIER_CLIENT_IP=127.0.0.10
    TIER_MX1_ADDR=127.0.0.2
    TIER_MX2_ADDR=127.0.0.3
    TIER_HELO=edge-client.example.org
    TIER_EICAR_NAME=Mxparity.Test.EICAR.UNOFFICIAL
    TIER_POLICY='' TIER_DIGEST='' SINK_FILE='' TIER_STAMP='' TIER_COUNTERS=''
    # Set by mxp_daemon (TAG_M*) and tier_mx1/tier_mx2 (the Postfix instance).
    MX1_MPORT='' MX1_MPID='' MX1_MLOG='' MX1_PORT='' MX1_CONF='' MX1_LOG='' MX1_PFDIR=''
    MX2_MPORT='' MX2_MPID='' MX2_MLOG='' MX2_PORT='' MX2_CONF='' MX2_LOG='' MX2_PFDIR=''
    BARE_PORT='' BARE_CONF='' BARE_LOG='' BARE_PFDIR=''
}

# tier_init NAME: itest_init plus the checks every tier test needs.
tier_init() {
    itest_init "$1"
    itest_require swaks dnsmasq python3 postsuper
    local so
    for so in av spf; do
        [ -f "${top_builddir:?lib.sh sets top_builddir}/milter/modules/.libs/$so.so" ] \
            || itest_skip "the $so module was not built"
    done
    _tier_can_bind "$TIER_CLIENT_IP" || itest_skip "cannot bind a socket to $TIER_CLIENT_IP"
    _tier_can_bind "$TIER_MX2_ADDR" || itest_skip "cannot bind a socket to $TIER_MX2_ADDR"
    _tier_can_bind "$TIER_MX1_ADDR" || itest_skip "cannot bind a socket to $TIER_MX1_ADDR"
}

# _tier_can_bind ADDR: a TCP connection from ADDR to 127.0.0.1 arrives
# with ADDR as its source (lo carries 127/8 on Linux).
_tier_can_bind() {
    timeout 10 python3 - "$1" <<'EOF' >/dev/null 2>&1
import socket, sys
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
c = socket.socket(); c.bind((sys.argv[1], 0)); c.connect(l.getsockname())
a, peer = l.accept()
sys.exit(0 if peer[0] == sys.argv[1] else 1)
EOF
}

# tier_dns: dnsmasq with the sender domains of the tier tests.
#   pass.example.org         ip4:127.0.0.10 -all (the client: pass; mx2: fail)
#   backup-only.example.org  ip4:127.0.0.3 -all  (the client: fail; mx2: pass)
#   fail.example.org         -all
# plus the dnsmasq lines in TIER_ZONE_EXTRA, when set.
tier_dns() {
    cat >"$ITEST_DIR/zone" <<EOF
txt-record=pass.example.org,"v=spf1 ip4:$TIER_CLIENT_IP -all"
txt-record=backup-only.example.org,"v=spf1 ip4:$TIER_MX2_ADDR -all"
txt-record=fail.example.org,"v=spf1 -all"
${TIER_ZONE_EXTRA:-}
EOF
    mxp_dns_start "$ITEST_DIR/zone"
}

# tier_key DIR: the shared parity key, DIR/parity.key (48 random bytes as
# hex, mode 0600).
tier_key() {
    local dir=$1
    if [ -f "$ITEST_DIR/parity.key" ] && [ "$dir" != "$ITEST_DIR" ]; then
        cp -p -- "$ITEST_DIR/parity.key" "$dir/parity.key"
    else
        (umask 077 && head -c 48 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/parity.key")
    fi
    chmod 0600 "$dir/parity.key"
}

# tier_policy FILE VERSION [TOP-LEVEL TEXT [AV OPTIONS [SPF OPTIONS]]]: write
# a tier policy to FILE (its parity.key next to it), with TOP-LEVEL TEXT
# added after trusted_networks and the options inside their sections.
tier_policy() {
    local file=$1 version=$2 top=${3:-} avopt=${4:-} spfopt=${5:-} dir parity=''
    dir=$(dirname "$file")
    mkdir -p "$dir" "$ITEST_DIR/spool"
    [ -f "$dir/parity.key" ] || tier_key "$dir"
    [ -n "${TIER_NO_PARITY:-}" ] || parity=${TIER_PARITY:-'parity { key_file = "parity.key" }'}
    cat >"$file" <<EOF
# Generated by tests/integration/tier.sh for $ITEST_NAME
version = "$version"
mx {
  host "mx1.example.com" { tier = primary addresses = {"$TIER_MX1_ADDR"} }
  host "mx2.example.com" { tier = backup  addresses = {"$TIER_MX2_ADDR"} }
}
# Neither the client (127.0.0.10) nor an MX (127.0.0.2, 127.0.0.3).
trusted_networks = {"127.0.0.9/32"}
$parity
$top
module spf {
  resolver = "127.0.0.1:${DNS_PORT:?tier_policy: call tier_dns first}"
  $spfopt
}
module av {
  database = "$ITEST_DIR/db"
  spool_dir = "$ITEST_DIR/spool"
  on_infected = reject
  $avopt
}
EOF
}

# tier_digest FILE: the policy's digest as "sha256:HEX" (mxparity check).
tier_digest() {
    "$top_builddir/mxparity" check -c "$1" -n mx1.example.com -M "$MXP_MODDIR" 2>&1 \
        | sed -n 's/^policy ok: .*digest=\(sha256:[0-9a-f]*\).*/\1/p'
}

# tier_common: modules, test signatures, DNS and the shared policy; then
# the sink.  Sets TIER_POLICY TIER_DIGEST.
tier_common() {
    mxp_modules_av
    ln -sf "$top_builddir/milter/modules/.libs/spf.so" "$MXP_MODDIR/spf.so"
    # The EICAR signature is all these tests need: no clamav-testfiles MD5s
    # (make-testdb.sh skips them when the directory does not exist).
    sh "${top_srcdir:?}/milter/modules/av/make-testdb.sh" "$ITEST_DIR/db" "$ITEST_DIR/no-testfiles" \
        >"$ITEST_DIR/make-testdb.log" 2>&1 \
        || itest_fail "make-testdb.sh failed" "$ITEST_DIR/make-testdb.log"
    tier_dns
    TIER_POLICY=$ITEST_DIR/policy.conf
    tier_policy "$TIER_POLICY" tier.1
    TIER_DIGEST=$(tier_digest "$TIER_POLICY")
    [ -n "$TIER_DIGEST" ] || {
        "$top_builddir/mxparity" check -c "$TIER_POLICY" -n mx1.example.com -M "$MXP_MODDIR" \
            >"$ITEST_DIR/check.log" 2>&1
        itest_fail "mxparity check refused the tier policy" "$ITEST_DIR/check.log"
    }
    itest_log "tier policy $TIER_POLICY: $TIER_DIGEST"
    sink_start
}

# _tier_pf_vars TAG: copy the newest instance's PF_* into ${TAG}_*.
_tier_pf_vars() {
    printf -v "${1}_PORT" '%s' "$PF_PORT"
    printf -v "${1}_CONF" '%s' "$PF_CONF"
    printf -v "${1}_LOG" '%s' "$PF_LOG"
    printf -v "${1}_PFDIR" '%s' "$PF_DIR"
}

# shellcheck disable=SC2120 # the argument is optional
# tier_mx1 [POLICY]: mxparityd -n mx1.example.com and mx1's Postfix, which
# delivers to the sink from 127.0.0.2.  Sets MX1_MPORT MX1_MPID MX1_MLOG
# and MX1_PORT MX1_CONF MX1_LOG MX1_PFDIR.
tier_mx1() {
    mxp_daemon MX1 mx1.example.com "${1:-$TIER_POLICY}"
    pf_start "inet:127.0.0.1:$MX1_MPORT" \
        "myhostname = mx1.example.com" \
        "smtp_bind_address = $TIER_MX1_ADDR"
    _tier_pf_vars MX1
}

# tier_mx2 TAG MILTER: a backup Postfix (myhostname mx2.example.com) that
# relays everything to mx1 from 127.0.0.3, except capture.example.com,
# which goes to the sink directly.  MILTER is a daemon TAG started with
# mxp_daemon, or "" for a backup without milter.  Sets ${TAG}_PORT
# ${TAG}_CONF ${TAG}_LOG ${TAG}_PFDIR.
tier_mx2() {
    local tag=$1 mtag=$2 milter='' port_var mark
    [ -n "${MX1_PORT:-}" ] || itest_fail "tier_mx2: start mx1 first"
    if [ -n "$mtag" ]; then
        port_var=${mtag}_MPORT
        milter="inet:127.0.0.1:${!port_var}"
    fi
    pf_start "$milter" \
        "myhostname = mx2.example.com" \
        "relayhost = [127.0.0.1]:$MX1_PORT" \
        "smtp_bind_address = $TIER_MX2_ADDR" \
        "transport_maps = inline:{capture.example.com=smtp:[127.0.0.1]:$SINK_PORT}"
    _tier_pf_vars "$tag"
    # Hold, never bounce, what the next tier refuses (see above).
    mark=$(itest_mark "$PF_LOG")
    postconf -c "$PF_CONF" -P "smtp/unix/soft_bounce=yes" "relay/unix/soft_bounce=yes" \
        || itest_fail "tier_mx2: postconf -P failed"
    _pf_backdate "$PF_CONF"
    timeout 60 postfix -c "$PF_CONF" reload >>"$PF_DIR/start.log" 2>&1 \
        || itest_fail "tier_mx2: postfix reload failed" "$PF_DIR/start.log"
    wait_for_grep_from "$mark" 'reload -- version' "$PF_LOG" 20
}

# tier_send PORT [SWAKS ARGS...]: one transaction from the internet client
# (127.0.0.10, HELO $TIER_HELO) to the Postfix on 127.0.0.1:PORT.  Later
# arguments win.  Never fails by itself (see $SWAKS_RC, swaks_reply).
tier_send() {
    local port=$1
    shift
    swaks_send --port "$port" --local-interface "$TIER_CLIENT_IP" --helo "$TIER_HELO" \
        --to alice@example.com "$@" || true
}

# tier_headers FILE NAME: the header fields NAME of FILE, each unfolded onto
# one line ("Name: value"), CRs removed, name compared without case.
tier_headers() {
    awk -v want="$(printf '%s' "$2" | tr '[:upper:]' '[:lower:]')" '
        { sub(/\r$/, "") }
        /^$/ { exit }
        /^[ \t]/ { if (cur != "") cur = cur " " substr($0, match($0, /[^ \t]/)); next }
        { if (cur != "") print cur; cur = "" }
        { i = index($0, ":"); if (i > 1 && tolower(substr($0, 1, i - 1)) == want) cur = $0 }
        END { if (cur != "") print cur }
    ' "$1"
}

# tier_assert_one_stamp FILE HOST TIER: FILE carries exactly one X-MXParity,
# of HOST and TIER, with the shared policy's digest.  Leaves the stamp
# (unfolded, "X-MXParity: v=2; ...") in TIER_STAMP.
tier_assert_one_stamp() {
    local file=$1 host=$2 tier=$3 stamps n
    stamps=$(tier_headers "$file" X-MXParity)
    n=$(printf '%s' "$stamps" | grep -c .)
    [ "$n" -eq 1 ] || itest_fail "$file: $n X-MXParity headers, want exactly 1 (of $host)" "$file" 60
    case $stamps in
        *"host=$host;"*"tier=$tier;"*"policy=$TIER_DIGEST;"*) ;;
        *) itest_fail "$file: the stamp is not $host/$tier/$TIER_DIGEST: '$stamps'" "$file" 60 ;;
    esac
    grep -Eq '^X-MXParity: *v=2; *kid=[0-9a-f]{16};.*; *ts=[0-9]+;.*; *hdr=[0-9a-f]{64};.*; *bh=[0-9a-f]{64}; *mac=[0-9a-f]{64}$' <<<"$stamps" \
        || itest_fail "$file: malformed stamp '$stamps'" "$file" 60
    # shellcheck disable=SC2034 # for the caller
    TIER_STAMP=$stamps
    itest_log "ok: one stamp of $host in $(basename "$file")"
}

# tier_assert_ar FILE RESULT MAILFROM [HELO]: FILE has exactly one
# Authentication-Results of mx1.example.com, with those values.
tier_assert_ar() {
    local file=$1 want got n
    want="Authentication-Results: mx1.example.com; spf=$2 smtp.mailfrom=$3 smtp.helo=${4:-$TIER_HELO}"
    got=$(tier_headers "$file" Authentication-Results | grep -iE '^Authentication-Results: *mx1\.example\.com')
    n=$(printf '%s' "$got" | grep -c .)
    [ "$n" -eq 1 ] || itest_fail "$file: $n Authentication-Results of mx1.example.com, want 1: '$got'" "$file" 60
    [ "$got" = "$want" ] || itest_fail "$file: want '$want', got '$got'" "$file" 60
    itest_log "ok: $want"
}

# tier_assert_scanned_by FILE HOST: exactly one X-Virus-Scanned, by HOST.
tier_assert_scanned_by() {
    local got
    got=$(tier_headers "$1" X-Virus-Scanned)
    [[ $got =~ ^X-Virus-Scanned:\ mxparity\ av\ \(ClamAV\ [0-9][0-9.]*\)\ on\ ${2//./\\.}$ ]] \
        || itest_fail "$1: want one X-Virus-Scanned by $2, got '$got'" "$1" 60
}

# tier_counters TAG: SIGUSR1 the daemon; its next counters line goes to
# TIER_COUNTERS.
tier_counters() {
    local pid_var=${1}_MPID log_var=${1}_MLOG mark
    mark=$(itest_mark "${!log_var}")
    kill -USR1 "${!pid_var}" || itest_fail "SIGUSR1 to ${!pid_var} failed"
    wait_for_grep_from "$mark" 'counters:' "${!log_var}" 10
    TIER_COUNTERS=$(tail -n +"$(( mark + 1 ))" "${!log_var}" | grep 'counters:' | tail -n 1)
    itest_log "$1 $TIER_COUNTERS"
}

# tier_assert_counter NAME OP N: in TIER_COUNTERS, NAME's value OP N
# (OP: -eq, -ge).
tier_assert_counter() {
    local v
    v=$(tier_counter "$TIER_COUNTERS" "$1")
    [ -n "$v" ] || itest_fail "no $1= in '$TIER_COUNTERS'"
    case $2 in
        -eq) (( v == $3 )) ;;
        -ge) (( v >= $3 )) ;;
        *) itest_fail "tier_assert_counter: unknown operator '$2'" ;;
    esac || itest_fail "counter $1=$v, want $2 $3: '$TIER_COUNTERS'"
}

# tier_counter LINE NAME: the value of NAME=N in a counters line ("" if none).
tier_counter() {
    sed -n "s/.* $2=\\([0-9][0-9]*\\).*/\\1/p" <<<"$1"
}

# tier_drop_queue TAG: delete everything a backup holds (stops the retries
# of mail mx1 refused).
tier_drop_queue() {
    local conf_var=${1}_CONF
    postsuper -c "${!conf_var}" -d ALL >/dev/null 2>&1 || true
}

# shellcheck disable=SC2120 # the argument is optional
# tier_queued_id [LOG]: the queue id of the last swaks reply "250 ... queued
# as QID" (empty when the message was not queued).
tier_queued_id() {
    swaks_reply "${1:-$SWAKS_LOG}" | sed -n 's/^250 .*queued as \([0-9A-Za-z]\{6,\}\)$/\1/p'
}

# tier_assert_held TAG QID ERE: the backup TAG's delivery of QID to mx1 was
# refused with a reply matching ERE (after "said: "), and the backup holds
# QID (soft_bounce: "status=SOFTBOUNCE" or "deferred", never a bounce).
# Then TAG's queue is dropped, so that QID is not retried.
tier_assert_held() {
    local tag=$1 qid=$2 ere=$3 log_var=${1}_LOG
    [ -n "$qid" ] || itest_fail "tier_assert_held $tag: no queue id (was the message queued?)" "$SWAKS_LOG"
    wait_for_grep "$qid: to=<.*status=(deferred|SOFTBOUNCE) .*said: $ere" "${!log_var}" 20
    assert_no_grep "$qid: .*status=bounced" "${!log_var}"
    itest_log "ok: $tag holds $qid, refused by mx1 with /$ere/"
    tier_drop_queue "$tag"
}

