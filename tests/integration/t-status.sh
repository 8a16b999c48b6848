#!/bin/bash
# t-status.sh - mxparity status asks the running daemon what it serves, over
# its control socket, with a message through a real Postfix:
#  1. the version, the policy served (version, digest and key id as the
#     policy loaded: line says), policy_on_disk=same, the modules, and the
#     counters (messages=1 after one message);
#  2. the policy file changed on disk but not reloaded: policy_on_disk
#     names it; a refused reload: last_reload gives the FILE:LINE error and
#     the old version is still served; a good reload: last_reload=ok;
#  3. --prometheus: every line is a comment or a sample of the text
#     format, with mxparity_up 1 and mxparity_messages_total 1;
#  4. the socket is mode 0660, and bad requests (unknown, too long, a NUL,
#     nothing at all) each get an error or are dropped; 20 clients that send
#     nothing do not delay a status request, 40 (over the 32 served at once)
#     get "busy"; the daemon still answers status and mail after them;
#  5. no daemon: exit 3; --prometheus prints mxparity_up 0 and exits 0.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=mxp.sh
. "$(dirname "$0")/mxp.sh"

itest_init status
itest_require python3 stat
printf 'alice@example.com\n' >"$ITEST_DIR/recipients"
(umask 077 && head -c 32 /dev/urandom >"$ITEST_DIR/parity.key")
common=$(cat "$top_srcdir/tests/integration/policy.common")
mxp_policy "$common
parity { key_file = \"parity.key\" }
module testmod { }"
# A unix socket's name has room for 107 bytes: the work directory's is short enough.
ctl=$ITEST_DIR/ctl
[ "${#ctl}" -lt 100 ] || itest_skip "work directory path too long for a unix socket: $ctl"
mxp_start -S "$ctl"
sink_start
pf_start "$(mxp_milter)"
MXPARITY=$top_builddir/mxparity
status() { "$MXPARITY" status -S "$ctl" "$@"; }
fact() { printf '%s\n' "$1" | sed -n "s/^$2=//p"; }

swaks_send --to alice@example.com --header "Subject: counted"
assert_swaks_reply 250
sink_wait_count 1 30
mxp_wait_summary_from sender@example.com >/dev/null

# 1. what it serves
out=$(status) || itest_fail "mxparity status failed: $out"
loaded=$(grep -E 'policy loaded: version=itest\.1 ' "$MXP_LOG" | tail -1)
digest=$(printf '%s\n' "$loaded" | grep -oE 'digest=sha256:[0-9a-f]{64}' | sed 's/digest=//')
kid=$(printf '%s\n' "$loaded" | grep -oE 'key=kid:[0-9a-f]{16}$')
[ "$(fact "$out" program)" = mxparityd ] || itest_fail "no program=mxparityd in: $out"
[ "$(fact "$out" version)" = "$("$MXPARITY" --version | sed -n '1s/^mxparity (mxparity) //p')" ] \
    || itest_fail "version differs from mxparity --version: $out"
[ "$(fact "$out" pid)" = "$MXP_PID" ] || itest_fail "pid is not $MXP_PID: $out"
[ "$(fact "$out" policy_version)" = itest.1 ] || itest_fail "policy_version: $out"
[ "$(fact "$out" policy_digest)" = "$digest" ] || itest_fail "policy_digest is not $digest: $out"
[ "$(fact "$out" policy_keys)" = "$kid" ] || itest_fail "policy_keys is not '$kid': $out"
[ "$(fact "$out" policy_on_disk)" = same ] || itest_fail "policy_on_disk: $out"
[ "$(fact "$out" last_reload)" = none ] || itest_fail "last_reload: $out"
[ "$(fact "$out" host)" = mx1.example.com ] || itest_fail "host: $out"
[ "$(fact "$out" counter.messages)" = 1 ] || itest_fail "counter.messages is not 1: $out"
[ "$(fact "$out" counter.accept)" = 1 ] || itest_fail "counter.accept is not 1: $out"
printf '%s\n' "$out" | grep -qE '^uptime_seconds=[0-9]+$' || itest_fail "uptime_seconds: $out"
printf '%s\n' "$out" | grep -qE '^module\.rcpt=' || itest_fail "no module.rcpt line: $out"
itest_log "ok: status names version $(fact "$out" version), $digest, $kid, 1 message"

# 2. the file on disk, a refused reload, a good one
printf '%s\n' "${common/itest.1/itest.2}" 'parity { key_file = "parity.key" }' 'module testmod {' '  no_such_key = 1' '}' >"$MXP_POLICY"
out=$(status)
[ "$(fact "$out" policy_on_disk)" = "changed: $MXP_POLICY" ] || itest_fail "policy_on_disk after an edit: $out"
mark=$(itest_mark "$MXP_LOG")
kill -HUP "$MXP_PID"
wait_for_grep_from "$mark" 'policy reload refused' "$MXP_LOG" 10
out=$(status)
case $(fact "$out" last_reload) in
    "$MXP_POLICY":[0-9]*": no such option 'no_such_key'"*) ;;
    *) itest_fail "last_reload after a refused reload: $out" ;;
esac
[ "$(fact "$out" policy_version)" = itest.1 ] || itest_fail "a refused reload changed the version served: $out"
[ "$(fact "$out" reloads_failed)" = 1 ] || itest_fail "reloads_failed: $out"
mxp_policy "${common/itest.1/itest.3}
parity { key_file = \"parity.key\" }
module testmod { }"
mxp_reload_policy itest.3
out=$(status)
[ "$(fact "$out" last_reload)" = ok ] || itest_fail "last_reload after a good reload: $out"
[ "$(fact "$out" policy_version)" = itest.3 ] || itest_fail "policy_version after the reload: $out"
[ "$(fact "$out" policy_on_disk)" = same ] || itest_fail "policy_on_disk after the reload: $out"
itest_log "ok: policy_on_disk, last_reload refused then ok"

# 3. the Prometheus text format
prom=$(status --prometheus) || itest_fail "status --prometheus failed"
bad=$(printf '%s\n' "$prom" | grep -vE '^# (HELP|TYPE) [a-z_]+ .+$|^[a-z_]+(\{([a-z_]+="([^"\\]|\\.)*",?)+\})? [0-9]+$' | head -3)
[ -z "$bad" ] || itest_fail "not Prometheus text format: $bad"
printf '%s\n' "$prom" | grep -qx 'mxparity_up 1' || itest_fail "no mxparity_up 1: $prom"
printf '%s\n' "$prom" | grep -qx 'mxparity_messages_total 1' || itest_fail "no mxparity_messages_total 1"
printf '%s\n' "$prom" | grep -qx 'mxparity_last_reload_failed 0' || itest_fail "no mxparity_last_reload_failed 0"
printf '%s\n' "$prom" | grep -q '^mxparity_info{version=".*",policy_version="itest\.3",' || itest_fail "no mxparity_info"
itest_log "ok: $(printf '%s\n' "$prom" | grep -vc '^#') Prometheus samples"

# 4. the socket's mode, and hostile clients
[ "$(stat -c %a "$ctl")" = 660 ] || itest_fail "control socket mode $(stat -c %a "$ctl"), want 660"
python3 - "$ctl" <<'PY' || itest_fail "the control socket mishandled a bad request"
import socket, sys, time
path = sys.argv[1]
def ask(data, close_write=True):
    s = socket.socket(socket.AF_UNIX)
    # A blocking connect waits for room in the listen queue (a timeout would make it
    # non-blocking, and a queue full of idle clients an EAGAIN); then 10 s per read.
    s.connect(path)
    s.settimeout(10)
    if data:
        try:
            s.sendall(data)
        except OSError:
            pass
    if close_write:
        s.shutdown(socket.SHUT_WR)
    out = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    except socket.timeout:
        out += b"TIMEOUT"  # the daemon neither answered nor closed: never what a case wants
    except OSError:
        pass  # reset after an error line: what was read counts
    s.close()
    return out
cases = [(b"bogus\n", b"error: unknown request"), (b"x" * 100000, b"error: request too long"),
         (b"stat\x00us\n", b"error: unknown request"), (b"status", b"error: no complete request line"),
         (b"", b"")]
for data, want in cases:
    got = ask(data)
    if not got.startswith(want) or (want == b"" and got != b""):
        sys.exit(f"{data[:20]!r}: got {got[:80]!r}, want {want!r}")
# Clients that send nothing: 20 at once do not delay a status request in
# their midst (they stay connected until it is answered: served one after
# the other, each idle one would hold it 2 s, 40 s in all, past ask()'s
# 10 s timeout); with 40 (more than the 32 it serves at once) it is told to
# come back, and every one is dropped at its deadline.
for count, want in ((20, b"program=mxparityd"), (40, b"error: busy, try again")):
    idle = [socket.socket(socket.AF_UNIX) for _ in range(count)]
    for s in idle:
        s.connect(path)
    t = time.monotonic()
    got = ask(b"status\n")
    took = time.monotonic() - t
    for s in idle:
        s.close()
    if not got.startswith(want):
        sys.exit(f"status among {count} idle clients: {got[:80]!r}, want {want!r}")
    print(f"t-status: status among {count} idle clients: {got[:22]!r} in {took:.2f} s")
print("t-status: unknown, too long, NUL, incomplete and empty requests answered")
PY
out=$(status) || itest_fail "no status after the bad requests"
[ "$(fact "$out" program)" = mxparityd ] || itest_fail "status after the bad requests: $out"
swaks_send --to alice@example.com --header "Subject: after the bad requests"
assert_swaks_reply 250
mxp_assert_healthy

# 5. no daemon
kill -TERM "$MXP_PID"
wait_for_grep 'stopped with 0 connection' "$MXP_LOG" 30
wait "$MXP_PID" 2>/dev/null
[ ! -e "$ctl" ] || itest_fail "the control socket outlived the daemon"
status >/dev/null 2>"$ITEST_DIR/status.err"; rc=$?
[ "$rc" -eq 3 ] || itest_fail "status without a daemon: exit $rc, want 3"
assert_grep 'cannot reach mxparityd at ' "$ITEST_DIR/status.err"
# --prometheus still answers, with mxparity_up 0 and exit 0 (a textfile collector's file is replaced).
out=$(status --prometheus 2>/dev/null); rc=$?
[ "$rc" -eq 0 ] || itest_fail "status --prometheus without a daemon: exit $rc, want 0"
printf '%s\n' "$out" | grep -qx 'mxparity_up 0' || itest_fail "no mxparity_up 0 without a daemon: $out"
itest_pass
