#!/bin/bash
# t-long-fields.sh - a 5,000-byte client name, HELO or envelope sender
# gives a clean, truncated summary line and never a crash, for an edge
# client, an authenticated one (the modules are skipped: checks=
# skipped:authenticated) and one in trusted_networks (checks=
# skipped:trusted_network).  The policy is policy.common (rcpt module,
# trusted_networks 127.0.0.9/32); the client name is 5,000 'a's plus
# ".example", the HELO the same, the sender 5,000 'a's plus "@example.org".
#  1. `mxparity scan`, each long field alone and all three at once, each
#     as a trusted (--client-ip 127.0.0.9), an authenticated (--auth) and
#     an edge client: exit 0, stdout exactly one line "FILE: client=..."
#     whose summary (after "FILE: ") is at most 2,048 bytes and has
#     action=accept policy=, hop=trusted and the checks=skipped: token of
#     its kind (an edge client: hop=edge and rcpt=ok), a long client name
#     or sender shortened below 5,000 bytes but still starting with the
#     a's, and the short ones as given; stderr has no AddressSanitizer,
#     UBSan or LeakSanitizer report;
#  2. mxparityd over the milter protocol (milter_client.py plays the MTA:
#     no real MTA sends a 5,000-byte host name), the same twelve sessions
#     (trusted: CONNECT from 127.0.0.9; authenticated: {auth_authen} in the
#     MAIL macros): every one is answered at MAIL, RCPT and end of message
#     with continue, the daemon logs one summary line per session (by its
#     queue id) with the same properties, and after each session it still
#     runs (the same pid) with no sanitizer report in its log;
#  3. then a normal message, over the milter protocol and through a real
#     Postfix to the sink: both accepted and summarised as usual.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=mxp.sh
. "$(dirname "$0")/mxp.sh"

itest_init long-fields
itest_require python3 swaks
MXPARITY=$top_builddir/mxparity
[ -x "$MXPARITY" ] || itest_fail "no $MXPARITY (build first)"
MAX_SUMMARY=2048
TRUSTED_IP=127.0.0.9

as=$(printf 'a%.0s' $(seq 1 5000))
long_name=$as.example
long_from=$as@example.org
[ ${#as} -eq 5000 ] || itest_fail "could not make the 5,000-byte string"

printf 'alice@example.com\n' >"$ITEST_DIR/recipients"
mxp_modules
mxp_policy "$(cat "$top_srcdir/tests/integration/policy.common")"
printf 'From: <lf@example.org>\nTo: <alice@example.com>\nSubject: long fields\n\nbody\n' \
    >"$ITEST_DIR/m.eml"

# no_sanitizer_report FILE WHAT: FAIL, showing the report, when FILE has one
no_sanitizer_report() {
    if grep -E -q -- "$ITEST_SANITIZER_ERE" "$1"; then
        grep -E -m 1 -A 12 -- "$ITEST_SANITIZER_ERE" "$1" | cut -c 1-300 >&2
        itest_fail "$2: sanitizer report in $1 (above)"
    fi
}

# check_summary WHAT SUMMARY KIND FIELD: the summary text (without the
# file name or queue id) of a session of KIND (edge, auth, trusted) with
# the long FIELD (name, helo, from, all)
check_summary() {
    local what=$1 sum=$2 kind=$3 field=$4 client from want_hop want_skip
    [ ${#sum} -le $MAX_SUMMARY ] \
        || itest_fail "$what: the summary is ${#sum} bytes, want at most $MAX_SUMMARY: '${sum:0:300}...'"
    case $sum in
        client=*) ;;
        *) itest_fail "$what: the summary does not start with client=: '${sum:0:300}'" ;;
    esac
    case $sum in
        *" action=accept policy="[0-9a-f]*) ;;
        *) itest_fail "$what: no 'action=accept policy=' in the summary: '${sum:0:200}...${sum: -200}'" ;;
    esac
    case $kind in
        edge) want_hop=edge want_skip='' ;;
        auth) want_hop=trusted want_skip=' checks=skipped:authenticated ' ;;
        trusted) want_hop=trusted want_skip=' checks=skipped:trusted_network ' ;;
    esac
    case $sum in
        *"] hop=$want_hop from=<"*) ;;
        *) itest_fail "$what: not hop=$want_hop: '${sum:0:200}...${sum: -200}'" ;;
    esac
    if [ -n "$want_skip" ]; then
        case $sum in
            *"$want_skip"*) ;;
            *) itest_fail "$what: no '$want_skip' in the summary: '${sum:0:200}...${sum: -200}'" ;;
        esac
    else
        case $sum in
            *" rcpt=ok "*) ;;
            *) itest_fail "$what: no ' rcpt=ok ' (the rcpt module's token) in the summary: '${sum:0:200}...${sum: -200}'" ;;
        esac
    fi
    client=${sum#client=}
    client=${client%%\[*}
    case $field in
        name|all)
            [ ${#client} -lt 5000 ] \
                || itest_fail "$what: the client name in the summary is ${#client} bytes: not shortened"
            case $client in
                "${as:0:64}"*) ;;
                *) itest_fail "$what: the client name in the summary does not start with the a's: '${client:0:100}'" ;;
            esac ;;
        *) [ "$client" = "$default_client" ] \
               || itest_fail "$what: client name '${client:0:100}' in the summary, want '$default_client'" ;;
    esac
    from=${sum#*" from=<"}
    from=${from%%>*}
    case $field in
        from|all)
            [ ${#from} -lt 5000 ] \
                || itest_fail "$what: the sender in the summary is ${#from} bytes: not shortened"
            case $from in
                "${as:0:64}"*) ;;
                *) itest_fail "$what: the sender in the summary does not start with the a's: '${from:0:100}'" ;;
            esac ;;
        *) [ "$from" = lf@example.org ] \
               || itest_fail "$what: sender '${from:0:100}' in the summary, want 'lf@example.org'" ;;
    esac
}

# field_args FIELD: the long value(s) of FIELD as "--option value" words
# (the option names are those of mxparity scan and milter_client.py)
field_args() {
    case $1 in
        name) args=(--client-name "$long_name" --helo client.itest.example --from lf@example.org) ;;
        helo) args=(--client-name "$default_client" --helo "$long_name" --from lf@example.org) ;;
        from) args=(--client-name "$default_client" --helo client.itest.example --from "$long_from") ;;
        all) args=(--client-name "$long_name" --helo "$long_name" --from "$long_from") ;;
    esac
}

# kind_args KIND: the words that make the client of KIND (mxparity scan's
# --client-ip is milter_client.py's --client-addr: $1 of kind_args)
kind_args() {
    case $2 in
        edge) kargs=("$1" 127.0.0.1) ;;
        auth) kargs=("$1" 127.0.0.1 --auth lfuser) ;;
        trusted) kargs=("$1" "$TRUSTED_IP") ;;
    esac
}

# --- 1. mxparity scan ------------------------------------------------------------
default_client=client.itest.example
n=0
for field in name helo from all; do
    for kind in trusted auth edge; do
        n=$((n + 1))
        what="scan $n (long $field, $kind client)"
        field_args "$field"
        kind_args --client-ip "$kind"
        "$MXPARITY" scan -c "$MXP_POLICY" -M "$MXP_MODDIR" -n mx1.example.com \
            "${args[@]}" "${kargs[@]}" --rcpt alice@example.com "$ITEST_DIR/m.eml" \
            >"$ITEST_DIR/scan.$n.out" 2>"$ITEST_DIR/scan.$n.err" </dev/null
        rc=$?
        no_sanitizer_report "$ITEST_DIR/scan.$n.err" "$what"
        [ "$rc" -eq 0 ] || itest_fail "$what: exit $rc, want 0" "$ITEST_DIR/scan.$n.err" 20
        lines=$(wc -l <"$ITEST_DIR/scan.$n.out")
        [ "$lines" -eq 1 ] || itest_fail "$what: $lines lines on stdout, want 1" "$ITEST_DIR/scan.$n.out" 5
        line=$(cat "$ITEST_DIR/scan.$n.out")
        case $line in
            "$ITEST_DIR/m.eml: client="*) ;;
            *) itest_fail "$what: stdout is not '$ITEST_DIR/m.eml: client=...': '${line:0:300}'" ;;
        esac
        check_summary "$what" "${line#"$ITEST_DIR/m.eml: "}" "$kind" "$field"
        itest_log "ok: $what: ${#line} bytes: ${line:0:60}...${line: -90}"
    done
done

# --- 2. mxparityd over the milter protocol ---------------------------------------
mxp_start
mxp_pid=$MXP_PID
client() {
    python3 "$top_srcdir/tests/integration/milter_client.py" "$MXP_PORT" "$@"
}

# summary_of QID: the daemon's summary line(s) of queue id QID, without the prefix
summary_of() {
    grep -F "$1: client=" "$MXP_LOG" | sed "s/^.*$1: client=/client=/"
}
# shellcheck disable=SC2317 # called through _itest_poll
_has_summary_of() {
    [ -n "$(summary_of "$1")" ]
}

# session WHAT QID CHECK-ARGS... -- CLIENT-ARGS...: one milter session, all
# answered with continue, one summary line checked by check_summary, and
# the same daemon still up with a clean log
session() {
    local what=$1 qid=$2 kind=$3 field=$4 out sum nsum
    shift 5
    out=$ITEST_DIR/client.$qid.out
    client --queue-id "$qid" "$@" >"$out" 2>&1
    rc=$?
    # A daemon that died says why in its log: show that first.
    no_sanitizer_report "$MXP_LOG" "$what"
    kill -0 "$mxp_pid" 2>/dev/null || itest_fail "$what: mxparityd (pid $mxp_pid) is gone" "$MXP_LOG"
    [ "$rc" -eq 0 ] || itest_fail "$what: milter_client.py exit $rc" "$out" 10
    grep -qx 'mail: continue' "$out" || itest_fail "$what: MAIL not answered with continue" "$out" 10
    grep -qx 'rcpt <alice@example.com>: continue' "$out" \
        || itest_fail "$what: RCPT not answered with continue" "$out" 10
    [ "$(tail -n 1 "$out")" = "eom: continue" ] \
        || itest_fail "$what: end of message not answered with continue (accept)" "$out" 10
    _itest_poll 10 _has_summary_of "$qid" || itest_fail "$what: no summary line of $qid" "$MXP_LOG"
    nsum=$(summary_of "$qid" | wc -l)
    [ "$nsum" -eq 1 ] || itest_fail "$what: $nsum summary lines of $qid, want 1" "$MXP_LOG"
    sum=$(summary_of "$qid")
    check_summary "$what" "$sum" "$kind" "$field"
    itest_log "ok: $what: ${#sum} bytes: ${sum:0:60}...${sum: -90}"
}

default_client=client.itest.example
n=0
for field in name helo from all; do
    for kind in trusted auth edge; do
        n=$((n + 1))
        field_args "$field"
        kind_args --client-addr "$kind"
        session "milter session $n (long $field, $kind client)" "LF$(printf '%04d' "$n")" \
            "$kind" "$field" -- "${args[@]}" "${kargs[@]}" --rcpt alice@example.com
    done
done

# --- 3. a normal message ---------------------------------------------------------
session "milter session, normal" LFNORMAL edge normal -- --client-name "$default_client" \
    --client-addr 127.0.0.1 --helo client.itest.example --from lf@example.org --rcpt alice@example.com
sink_start
pf_start "$(mxp_milter)"
swaks_send --from lf-postfix@example.org --to alice@example.com --header "Subject: after long fields" || true
assert_swaks_reply 250
sink_wait_count 1 30
sum=$(mxp_wait_summary_from lf-postfix@example.org)
case $sum in
    *": client=unknown[127.0.0.1] hop=edge from=<lf-postfix@example.org> rcpts=1 size="*" rcpt=ok action=accept policy="*) ;;
    *) itest_fail "Postfix message: unexpected summary '$sum'" "$MXP_LOG" ;;
esac
itest_log "ok: through Postfix: $sum"
[ "$MXP_PID" = "$mxp_pid" ] || itest_fail "the daemon's pid changed"
mxp_assert_healthy
no_sanitizer_report "$MXP_LOG" "at the end"
itest_pass
