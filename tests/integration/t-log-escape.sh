#!/bin/bash
# t-log-escape.sh - no field a client chooses can put a control character
# into the log: every C0 control and DEL in a logged line is written as
# \xHH, in one place (mxp_log), for syslog and the -f copy alike.
#  1. over the milter protocol (milter_client.py plays the MTA; Postfix
#     would never pass a CR in a command, but a client host name comes
#     from DNS and the HELO, sender and recipient are the client's), one
#     session whose client name, HELO, sender and recipient carry CR, LF,
#     ESC, TAB and DEL, each followed by a forged "NOQUEUE: ..." line:
#     answered normally; the log has no line that starts with the forged
#     text, no raw CR, ESC or DEL byte, and the summary and RCPT lines
#     carry the escapes (\x0d\x0a, \x1b, \x09, \x7f);
#  2. a refused recipient's line is escaped the same way;
#  3. a normal message right after is logged as usual, and the daemon
#     still runs with no sanitizer report.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=mxp.sh
. "$(dirname "$0")/mxp.sh"

itest_init log-escape
itest_require python3
printf 'alice@example.com\n' >"$ITEST_DIR/recipients"
mxp_modules
mxp_policy "$(cat "$top_srcdir/tests/integration/policy.common")"
mxp_start

client() {
    python3 "$top_srcdir/tests/integration/milter_client.py" "$MXP_PORT" "$@"
}

forged='NOQUEUE: client=forged[192.0.2.66] hop=trusted action=accept'
name=$'evil.example\r\n'"$forged"
helo=$'helo\x1b[31m.example\t'"$forged"
from=$'a\nb@example.org'
rcpt=$'bob\r'"$forged"'@example.com'
cr=$(printf '\r')
esc=$(printf '\033')
del=$(printf '\177')

# --- 1. control characters in every field ----------------------------------------
itest_log "1: CR, LF, ESC, TAB in the client name, HELO, sender and recipient"
client --queue-id ESC1 --client-name "$name" --helo "$helo" --from "$from" \
    --rcpt alice@example.com --rcpt "$rcpt" >"$ITEST_DIR/client.1" 2>&1 \
    || itest_fail "milter_client.py failed" "$ITEST_DIR/client.1"
grep -qx 'eom: continue' "$ITEST_DIR/client.1" || itest_fail "session 1 not accepted" "$ITEST_DIR/client.1"
wait_for_grep 'ESC1: client=evil\.example' "$MXP_LOG" 10
assert_no_grep '^NOQUEUE: client=forged' "$MXP_LOG"
assert_no_grep '^mxparityd: NOQUEUE: client=forged' "$MXP_LOG"
for bad in "$cr" "$esc" "$del"; do
    ! grep -qF -- "$bad" "$MXP_LOG" || itest_fail "a raw control byte reached the log" "$MXP_LOG"
done
line=$(grep -F 'ESC1: client=' "$MXP_LOG" | tail -n 1)
case $line in
    *'client=evil.example\x0d\x0aNOQUEUE: client=forged'*) ;;
    *) itest_fail "the client name is not escaped: $line" "$MXP_LOG" ;;
esac
case $line in
    *'from=<a\x0ab@example.org>'*) ;;
    *) itest_fail "the sender is not escaped: $line" "$MXP_LOG" ;;
esac
itest_log "ok: $line"

# --- 2. a refused recipient ------------------------------------------------------
itest_log "2: the RCPT line of an unknown recipient with CR in it"
wait_for_grep 'RCPT from evil\.example\\x0d\\x0aNOQUEUE: client=forged.*to=<bob\\x0dNOQUEUE: client=forged.*@example\.com> ' "$MXP_LOG" 10

# --- 3. a normal message after -------------------------------------------------
itest_log "3: a normal session"
client --queue-id ESC3 --client-name client.example --helo client.example \
    --from ok@example.org --rcpt alice@example.com >"$ITEST_DIR/client.3" 2>&1 \
    || itest_fail "milter_client.py failed" "$ITEST_DIR/client.3"
wait_for_grep 'ESC3: client=client\.example\[[0-9.]+\] hop=edge from=<ok@example\.org> .* action=accept ' "$MXP_LOG" 10
mxp_assert_healthy
itest_pass
