# shellcheck shell=bash
# tests/bench/part-engines.sh - make bench's engines part (BENCH_PARTS
# "engines"), sourced by run-bench.sh, whose helpers it uses: the av
# backends and clamav-milter on a database shaped like ClamAV's official
# one (tests/bench/make-bigdb.py: about a million hash signatures, 30,000
# body signatures with wildcards, 3,000 logical ones; BENCH_BIGDB_SCALE, 1.0).
#   memory and load time, each engine alone, one after the other:
#     clamd (as clamav-milter and mxparityd's clamd backend use it): load
#       time until it answers PING, RSS at rest, peak (VmHWM) after zRELOAD
#       (ConcurrentDatabaseReload, clamd's default);
#     mxparityd, backend = libclamav: load time until it serves, RSS, peak
#       after a SIGHUP (reload = concurrent, the default);
#     mxparityd, backend = clamd: its own RSS (the engine is clamd's).
#   the scan cost: tests/bench/milterload with the corpus against
#     L  mxparityd, backend = libclamav
#     K1 mxparityd, backend = clamd, one clamd
#     K2 mxparityd, backend = clamd, two clamd
#     CM clamav-milter + clamd (when installed; see install_deps)
#   all on the big database, every clamd with DisableCache yes (mxparityd's
#   engine keeps no clean cache either), the av module alone (no spf), interleaved
#   rounds; messages per second, p50 and p99 latency, CPU per message of
#   the milter and its clamd(s), and each as a ratio to clamav-milter's rate.

: "${BENCH_BIGDB_SCALE:=1.0}"

# eng_clamd NAME: a clamd on the big database, on $ITEST_DIR/eng.NAME/clamd.sock;
# sets ENG_PID ENG_LOAD_S
eng_clamd() {
	local d=$ITEST_DIR/eng.$1 t0
	mkdir -p "$d"
	cat >"$d/clamd.conf" <<-EOF
		# make bench engines: $1
		LocalSocket $d/clamd.sock
		FixStaleSocket yes
		PidFile $d/clamd.pid
		DatabaseDirectory $ITEST_DIR/bigdb
		TemporaryDirectory $SCRATCH
		LogFile $d/clamd.log
		LogTime yes
		LogFileMaxSize 0
		Foreground yes
		SelfCheck 0
		MaxThreads 12
		ScanMail yes
		ScanArchive yes
		AlertExceedsMax yes
		StreamMaxLength 25M
		# As mxparityd's own engine: no clean cache.  The corpus repeats its
		# 40 messages; with the cache clamd would scan each once and answer
		# the rest from memory, which real (unique) mail does not get.
		DisableCache yes
	EOF
	t0=$EPOCHREALTIME
	clamd -c "$d/clamd.conf" >"$d/clamd.out" 2>&1 </dev/null &
	ENG_PID=$!
	itest_track_pid "$ENG_PID"
	_itest_poll 600 _mxp_clamd_answers "$d/clamd.sock" "$ENG_PID" "$d/clamd.out" ||
		itest_fail "clamd $1 did not load the big database" "$d/clamd.out"
	ENG_LOAD_S=$(bc_ "$EPOCHREALTIME - $t0")
}

# eng_policy FILE VERSION AV-OPTIONS: the av module alone on the big database
eng_policy() {
	mkdir -p "$SCRATCH/eng"
	cat >"$1" <<-EOF
		# make bench engines
		version = "$2"
		mx {
		  host "mx1.example.com" { tier = primary addresses = {"127.0.0.2"} }
		  host "mx2.example.com" { tier = backup  addresses = {"127.0.0.3"} }
		}
		trusted_networks = {"127.0.0.9/32"}
		counters_interval = 0
		module av {
		  database = "$ITEST_DIR/bigdb"
		  spool_dir = "$SCRATCH/eng"
		  $3
		}
	EOF
}

# eng_mxparityd TAG POLICY: a daemon; sets ENG_LOAD_S (until it serves)
eng_mxparityd() {
	local t0=$EPOCHREALTIME
	mxp_daemon "$1" mx1.example.com "$2"
	ENG_LOAD_S=$(bc_ "$EPOCHREALTIME - $t0")
}

# rss PID: VmRSS in MiB
rss() {
	awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo "?"
}

# eng_row NAME LOAD-S REST-MiB PEAK-MiB: one line of the memory table
eng_row() {
	printf '%-44s %8s %10s %10s\n' "$1" "$2" "$3" "$4" >>"$ITEST_DIR/engines.txt"
}

part_engines() {
	local m r out c0 c1 rate p50 p99 cpu x clam_rate mark pid sigs
	say "engines: $PYTHON tests/bench/make-bigdb.py (scale $BENCH_BIGDB_SCALE)"
	sigs=$("$PYTHON" "$BENCHDIR/make-bigdb.py" "$ITEST_DIR/bigdb" "$BENCH_BIGDB_SCALE") ||
		itest_fail "make-bigdb.py failed"
	: >"$ITEST_DIR/engines.txt"

	# memory and load time, one engine at a time
	eng_clamd solo
	pid=$ENG_PID
	local load=$ENG_LOAD_S rest
	rest=$(rss "$pid")
	mark=$(itest_mark "$ITEST_DIR/eng.solo/clamd.log")
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"zRELOAD\0"); s.recv(64)' \
		"$ITEST_DIR/eng.solo/clamd.sock"
	wait_for_grep_from "$mark" 'Database correctly reloaded' "$ITEST_DIR/eng.solo/clamd.log" 600
	eng_row "clamd" "$(printf %.1f "$load")" "$rest" "$(peak_rss "$pid")"
	_itest_kill_pid "$pid"

	eng_policy "$ITEST_DIR/eng-lib.conf" eng.1 ""
	eng_mxparityd LIB "$ITEST_DIR/eng-lib.conf"
	load=$ENG_LOAD_S
	rest=$(rss "$LIB_MPID")
	mark=$(itest_mark "$LIB_MLOG")
	eng_policy "$ITEST_DIR/eng-lib.conf" eng.2 ""
	kill -HUP "$LIB_MPID"
	wait_for_grep_from "$mark" 'av: engine reloaded' "$LIB_MLOG" 600
	eng_row "mxparityd, backend = libclamav" "$(printf %.1f "$load")" "$rest" "$(peak_rss "$LIB_MPID")"

	# the scan cost: everything up at once
	eng_clamd k1
	K1_PID=$ENG_PID
	eng_clamd k2
	K2_PID=$ENG_PID
	eng_policy "$ITEST_DIR/eng-k1.conf" eng.k1 "backend = clamd servers = {\"unix:$ITEST_DIR/eng.k1/clamd.sock\"}"
	eng_mxparityd KONE "$ITEST_DIR/eng-k1.conf"
	eng_row "mxparityd, backend = clamd (its own RSS)" "$(printf %.1f "$ENG_LOAD_S")" "$(rss "$KONE_MPID")" "$(peak_rss "$KONE_MPID")"
	eng_policy "$ITEST_DIR/eng-k2.conf" eng.k2 "backend = clamd servers = {\"unix:$ITEST_DIR/eng.k1/clamd.sock\", \"unix:$ITEST_DIR/eng.k2/clamd.sock\"}"
	eng_mxparityd KTWO "$ITEST_DIR/eng-k2.conf"
	declare -A SOCK=([L]="inet:$LIB_MPORT@127.0.0.1" [K1]="inet:$KONE_MPORT@127.0.0.1"
		[K2]="inet:$KTWO_MPORT@127.0.0.1")
	declare -A PIDS=([L]="$LIB_MPID" [K1]="$KONE_MPID $K1_PID" [K2]="$KTWO_MPID $K1_PID $K2_PID")
	local milters="L K1 K2"
	if command -v clamav-milter >/dev/null 2>&1; then
		local d=$ITEST_DIR/eng.cm port
		mkdir -p "$d"
		port=$(free_port) || itest_fail "no free port"
		cat >"$d/clamav-milter.conf" <<-EOF
			MilterSocket inet:$port@127.0.0.1
			FixStaleSocket yes
			PidFile $d/clamav-milter.pid
			Foreground yes
			ClamdSocket unix:$ITEST_DIR/eng.k1/clamd.sock
			OnClean Accept
			OnInfected Reject
			OnFail Defer
			AddHeader Replace
			LogFile $d/clamav-milter.log
			LogFileMaxSize 0
			LogClean Basic
			MaxFileSize 25M
			ReadTimeout 120
			TemporaryDirectory $SCRATCH
		EOF
		clamav-milter -c "$d/clamav-milter.conf" >"$d/out" 2>&1 </dev/null &
		itest_track_pid "$!"
		wait_listening "$port" "$!" "$d/out" clamav-milter
		SOCK[CM]="inet:$port@127.0.0.1"
		PIDS[CM]="$! $K1_PID"
		milters="CM L K1 K2"
	fi
	: >"$ITEST_DIR/engines-load.txt"
	for m in $milters; do
		timeout 300 "${top_builddir:?}/tests/bench/milterload" -p "${SOCK[$m]}" -c "$BENCH_MILTER_CONNECTIONS" \
			-n 100 -T 120 -f "$FROM" -H "$HELO" -a 127.0.0.1 -r "$RCPT" "$ITEST_DIR/corpus" \
			>>"$ITEST_DIR/engines.warmup" 2>&1
	done
	for ((r = 1; r <= BENCH_MILTER_ROUNDS; r++)); do
		for m in $milters; do
			# shellcheck disable=SC2086 # a list of pids
			c0=$(cpu_ticks ${PIDS[$m]})
			out=$(timeout 900 "$top_builddir/tests/bench/milterload" -p "${SOCK[$m]}" \
				-c "$BENCH_MILTER_CONNECTIONS" -n "$BENCH_MILTER_MESSAGES" -T 600 -f "$FROM" \
				-H "$HELO" -a 127.0.0.1 -r "$RCPT" "$ITEST_DIR/corpus" 2>>"$ITEST_DIR/engines.err") ||
				itest_fail "milterload against $m failed: $out" "$ITEST_DIR/engines.err"
			# shellcheck disable=SC2086 # a list of pids
			c1=$(cpu_ticks ${PIDS[$m]})
			case $out in
			*" accept=$BENCH_MILTER_MESSAGES "*" errors=0 unsent=0 "*) ;;
			*) itest_fail "engines: milterload against $m: not every message accepted: $out" "$ITEST_DIR/engines.err" ;;
			esac
			printf '%s %s %s cpu_ms_per_msg=%s\n' "$r" "$m" "$out" \
				"$(bc_ "($c1 - $c0) * 1000 / $(getconf CLK_TCK) / $BENCH_MILTER_MESSAGES")" >>"$ITEST_DIR/engines-load.txt"
			say "engines round $r $m: $(sed -E 's/.* (msgs_per_s=[^ ]+) .* (p50_ms=[^ ]+ p99_ms=[^ ]+).*/\1 \2/' <<<"$out")"
		done
	done
	for m in L K1 K2; do
		grep -q ' av=clean action=accept ' "$ITEST_DIR/mxparityd.$( case $m in L) echo LIB ;; K1) echo KONE ;; K2) echo KTWO ;; esac).log" ||
			itest_fail "engines: mxparityd $m logged no clean scan"
	done
	{
		echo
		echo "The av backends on a big database: $sigs"
		printf '%-44s %8s %10s %10s\n' engine "load s" "RSS MiB" "peak MiB"
		cat "$ITEST_DIR/engines.txt"
		echo "(peak: VmHWM after one reload while the old engine stays in use; clamd's zRELOAD, mxparityd's SIGHUP)"
		echo
		echo "Scan cost on it: tests/bench/milterload, $BENCH_MILTER_MESSAGES corpus messages, $BENCH_MILTER_CONNECTIONS connections (median of $BENCH_MILTER_ROUNDS rounds)"
		printf '%-44s %9s %9s %9s %10s %12s\n' milter "msgs/s" "p50 ms" "p99 ms" "x CM" "CPU ms/msg"
		clam_rate=$(load_median "$ITEST_DIR/engines-load.txt" CM msgs_per_s)
		for m in $milters; do
			rate=$(load_median "$ITEST_DIR/engines-load.txt" "$m" msgs_per_s)
			p50=$(load_median "$ITEST_DIR/engines-load.txt" "$m" p50_ms)
			p99=$(load_median "$ITEST_DIR/engines-load.txt" "$m" p99_ms)
			cpu=$(load_median "$ITEST_DIR/engines-load.txt" "$m" cpu_ms_per_msg)
			if [ "$clam_rate" != - ]; then x=$(bc_ "$rate / $clam_rate"); else x=-; fi
			case $m in
			CM) name="CM: clamav-milter + clamd" ;;
			L) name="L: mxparityd, backend = libclamav" ;;
			K1) name="K1: mxparityd, backend = clamd, 1 clamd" ;;
			K2) name="K2: mxparityd, backend = clamd, 2 clamd" ;;
			esac
			printf '%-44s %9s %9s %9s %10s %12s\n' "$name" "$(fixed 1 "$rate")" "$(fixed 2 "$p50")" \
				"$(fixed 2 "$p99")" "$(fixed 2 "$x")" "$(fixed 2 "$cpu")"
		done
		echo "(CPU: the milter's process and the clamd it uses, together)"
	} >>"$RESULTS"
}
