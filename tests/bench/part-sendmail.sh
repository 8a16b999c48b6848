# shellcheck shell=bash
# tests/bench/part-sendmail.sh - make bench's sendmail part (BENCH_PARTS
# "sendmail"), sourced by run-bench.sh, whose helpers it uses.  Two private
# sendmail 8.17 instances (tests/integration/sendmail.sh) relay to the same
# smtp-sink, side by side:
#   E  sendmail alone (the baseline of this part)
#   F  sendmail + mxparityd (the same daemon and policy as Postfix's D),
#      through the lines of etc/mxparity.mc
# Rounds interleave E and F for each load.  A run's wall time is from the
# start of smtp-source until the instance's queue holds no message (every
# one delivered to the sink; sendmail delivers in the background).
# Printed: messages per second, F's wall time as a ratio to E's within each
# round (the median), and mxparityd's CPU per message.

# shellcheck source-path=SCRIPTDIR source=../integration/sendmail.sh
. "$(dirname "${BASH_SOURCE[0]}")/../integration/sendmail.sh"

declare -A SM_PORT_OF SM_DIR_OF

# start_sendmail CONFIG MILTER: one instance, its load limits out of the way
# (the bench measures throughput, not sendmail's load-average brakes), and a
# listen queue as deep as Postfix's (sendmail's default of 10 makes the 11th
# of 20 simultaneous connections wait a second for a SYN retransmission).
start_sendmail() {
	SM_HOSTNAME="sm-$1.bench.example" SM_DAEMON_OPTS="Listen=1024" sm_start "$2" \
		"define(\`confQUEUE_LA', \`1000')dnl" "define(\`confREFUSE_LA', \`1000')dnl" \
		"define(\`confDELAY_LA', \`0')dnl" "define(\`confMAX_DAEMON_CHILDREN', \`0')dnl" \
		"define(\`confCONNECTION_RATE_THROTTLE', \`0')dnl"
	SM_PORT_OF[$1]=$SM_PORT
	SM_DIR_OF[$1]=$SM_DIR
}

# _sm_queue_empty DIR: no queued message (qf) and none being written (tf)
_sm_queue_empty() {
	! compgen -G "$1/queue/[qt]f*" >/dev/null
}

# run_sm_load CONFIG LOAD N ROUND: one timed run through sendmail; appends
# to runs-sendmail.tsv and leaves the wall time in RUN_WALL.
run_sm_load() {
	local cfg=$1 load=$2 n=$3 round=$4 port=${SM_PORT_OF[$1]} dir=${SM_DIR_OF[$1]}
	local log mark mxmark t0 t1 t2 c0=0 c1=0 i rc=0 sent bad
	local out=$ITEST_DIR/source.$cfg.log
	log=$dir/log/maillog
	mark=$(itest_mark "$log")
	mxmark=$(itest_mark "$MXP_LOG")
	: >"$out"
	[ "$cfg" = E ] || c0=$(cpu_ticks "$MXP_PID")
	t0=$EPOCHREALTIME
	send_load "$port" "$load" "$n" "$out" || rc=$?
	n=$LOAD_SENT
	t1=$EPOCHREALTIME
	for ((i = 0; i < BENCH_RUN_TIMEOUT * 50; i++)); do
		_sm_queue_empty "$dir" && break
		sleep 0.02
	done
	t2=$EPOCHREALTIME
	[ "$cfg" = E ] || c1=$(cpu_ticks "$MXP_PID")
	[ $rc -eq 0 ] || itest_fail "$cfg/$load: smtp-source failed (exit $rc)" "$out"
	_sm_queue_empty "$dir" || itest_fail "$cfg/$load: the queue did not drain in ${BENCH_RUN_TIMEOUT}s" "$log"
	# The log lines come through syslog_sink.py: give the last ones a moment.
	_itest_poll 10 _counted "$log" "$mark" "$n" ' stat=Sent ' || true
	sent=$(count_in "$log" "$mark" ' stat=Sent ')
	bad=$(count_in "$log" "$mark" ' stat=(Deferred|Service unavailable)|Milter: .*(reject|tempfail)|Milter \(mxparity\): (to error state|timeout)')
	[ "$sent" -eq "$n" ] && [ "$bad" -eq 0 ] ||
		itest_fail "$cfg/$load: $sent of $n delivered, $bad deferred or refused" "$log"
	[ "$cfg" = E ] || _itest_poll 10 _counted "$MXP_LOG" "$mxmark" "$n" ' av=clean spf=pass action=accept ' ||
		itest_fail "$cfg/$load: mxparityd logged $(count_in "$MXP_LOG" "$mxmark" ' av=clean spf=pass action=accept ') av=clean spf=pass lines, want $n" "$MXP_LOG"
	printf '%s\t%s\t%s\t%s\t%.3f\t%.3f\t%.3f\n' "$round" "$load" "$cfg" "$n" \
		"$(bc_ "$t1 - $t0")" "$(bc_ "$t2 - $t0")" \
		"$(bc_ "($c1 - $c0) * 1000 / $(getconf CLK_TCK) / $n")" >>"$ITEST_DIR/runs-sendmail.tsv"
	RUN_WALL=$(bc_ "$t2 - $t0")
}

# part_sendmail - the interleaved rounds through sendmail and their table
part_sendmail() {
	local r load cfg line name
	[ -x "$MXP_SENDMAIL_ROOT/usr/libexec/sendmail/sendmail" ] ||
		itest_fail "no private sendmail in $MXP_SENDMAIL_ROOT (./bootstrap check unpacks it)"
	start_sendmail E ""
	start_sendmail F "inet:$MXP_PORT@127.0.0.1"
	: >"$ITEST_DIR/runs-sendmail.tsv"
	say "sendmail warm-up: $BENCH_WARMUP messages through E and F"
	for cfg in E F; do
		run_sm_load "$cfg" 10240 "$BENCH_WARMUP" 0
	done
	for ((r = 1; r <= BENCH_ROUNDS; r++)); do
		for load in $LOADS; do
			line="sendmail round $r/$BENCH_ROUNDS $(load_name "$load"):"
			for cfg in E F; do
				run_sm_load "$cfg" "$load" "$BENCH_MESSAGES" "$r"
				line="$line $cfg $(printf %.2f "$RUN_WALL")s"
			done
			say "$line"
		done
	done
	{
		echo
		echo "End to end through sendmail $("$SM_DIR/bin/sendmail" -d0.1 -bt </dev/null 2>/dev/null | awk 'NR == 1 { print $2 }') (wall time = smtp-source start to empty queue; median of $BENCH_ROUNDS rounds)"
		printf '%-6s %-48s %9s %9s %8s %13s %10s\n' load configuration "wall s" "msgs/s" "x E" "x E min-max" "milter CPU"
		printf '%-6s %-48s %9s %9s %8s %13s %10s\n' "" "" "" "" "" "" "ms/msg"
		for load in $LOADS; do
			for cfg in E F; do
				case $cfg in
				E) name="sendmail alone" ;;
				F) name="sendmail + mxparityd (av + spf)" ;;
				esac
				awk -F'\t' -v load="$load" -v cfg="$cfg" -v name="$name" '
					function sort(a, n,   i, j, t) {
						for (i = 2; i <= n; i++)
							for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
					}
					function med(a, k) { return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2 }
					$1 > 0 && $2 == load { w[$1 "," $3] = $6; n[$1 "," $3] = $4; c[$1 "," $3] = $7; rounds[$1] = 1 }
					END {
						k = 0
						for (r in rounds) {
							if (!((r "," cfg) in w) || !((r ",E") in w)) continue
							k++; ws[k] = w[r "," cfg]; rs[k] = w[r "," cfg] / w[r ",E"]; cs[k] = c[r "," cfg]; msgs = n[r "," cfg]
						}
						if (k == 0) exit
						sort(ws, k); sort(rs, k); sort(cs, k)
						lname = load == "mix" ? "mix" : sprintf("%dKB", load / 1024)
						printf "%-6s %-48s %9.2f %9.1f %8.2f %6.2f-%-6.2f %10s\n", lname, cfg ": " name, med(ws, k), msgs / med(ws, k), med(rs, k), rs[1], rs[k], cfg == "E" ? "-" : sprintf("%.2f", med(cs, k))
					}' "$ITEST_DIR/runs-sendmail.tsv"
			done
		done
	} >>"$RESULTS"
}
