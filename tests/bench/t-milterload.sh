#!/bin/bash
# t-milterload.sh - the bench's milter-protocol load generator against
# mxparityd, for protocol correctness only (no timing is asserted):
#  1. 30 messages over 4 connections, 3 per connection: every one accepted,
#     the test module's header inserted into each, the forged header removed
#     from the one message in three that carries it (a folded header and a
#     body of several 64 KB chunks among them), one summary line each;
#  2. an unknown recipient: refused at RCPT, the transaction aborted, and
#     the next message on the same connection served (5 per connection);
#  3. a module reject at end of message.
set -u
# shellcheck source-path=SCRIPTDIR source=../integration/lib.sh
. "$(dirname "$0")/../integration/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../integration/mxp.sh
. "$(dirname "$0")/../integration/mxp.sh"

LOAD=$top_builddir/tests/bench/milterload
itest_init milterload
[ -x "$LOAD" ] || itest_skip "$LOAD not built"
printf 'alice@example.com\n' >"$ITEST_DIR/recipients"
mxp_policy "$(cat "$top_srcdir/tests/integration/policy.common")
module testmod { remove_header = \"X-Forged\"  reject_subject = \"BUY NOW\" }"
mxp_start

mkdir -p "$ITEST_DIR/corpus" "$ITEST_DIR/spam"
printf 'From: a@example.org\nTo: alice@example.com\nSubject: one\nX-Forged: yes\n\nhello\n' \
	>"$ITEST_DIR/corpus/1.eml"
printf 'From: b@example.org\nTo: alice@example.com\nSubject: two,\n folded\n\nhello\n' \
	>"$ITEST_DIR/corpus/2.eml"
{
	printf 'From: c@example.org\nTo: alice@example.com\nSubject: three\n\n'
	for ((i = 0; i < 3000; i++)); do
		printf 'line %05d of a body that takes several milter body chunks\n' "$i"
	done
} >"$ITEST_DIR/corpus/3.eml"
printf 'From: d@example.org\nTo: alice@example.com\nSubject: BUY NOW\n\nspam\n' \
	>"$ITEST_DIR/spam/1.eml"

# load EXPECT ARGS...: run milterload; every key=value of EXPECT must be in its line
load() {
	local want=$1 out kv
	shift
	out=$(timeout 120 "$LOAD" -p "inet:$MXP_PORT@127.0.0.1" -T 60 -w 30 "$@" 2>"$ITEST_DIR/load.err")
	echo "$out" >>"$ITEST_DIR/load.out"
	for kv in $want; do
		case " $out " in
		*" $kv "*) ;;
		*) itest_fail "milterload $*: want $kv in: $out" "$ITEST_DIR/load.err" ;;
		esac
	done
	itest_log "ok: $want"
}

# 1.
load "sent=30 accept=30 errors=0 unsent=0 insheader=30 chgheader=10 reject=0 tempfail=0" \
	-c 4 -n 30 -k 3 "$ITEST_DIR/corpus"
n=$(grep -cE ' rcpts=1 .* action=accept ' "$MXP_LOG")
[ "$n" -eq 30 ] || itest_fail "$n summary lines with action=accept, want 30" "$MXP_LOG"

# 2.
load "sent=10 reject=10 accept=0 errors=0 unsent=0" -c 2 -n 10 -k 5 -r nobody@example.com \
	"$ITEST_DIR/corpus"
assert_grep 'reject: RCPT from .* to=<nobody@example\.com> hop=edge' "$MXP_LOG"

# 3.
load "sent=5 reject=5 accept=0 errors=0 insheader=0" -c 1 -n 5 -k 5 "$ITEST_DIR/spam"
mxp_assert_healthy
itest_pass
