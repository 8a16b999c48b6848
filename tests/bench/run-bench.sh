#!/bin/bash
# tests/bench/run-bench.sh - `make bench`: throughput, latency and memory of
# mxparityd against clamav-milter and the libmilter floor, side by side, on
# loopback.  It measures and prints; it never passes or fails on a timing.
#
# 1. End to end through a real Postfix (tests/integration/lib.sh), one
#    private instance per configuration, smtp-sink as the next hop:
#      A  Postfix, no milter (the baseline)
#      B  Postfix + tests/bench/nullmilter (libmilter, adds one header: the floor)
#      C  Postfix + clamav-milter + clamd (Debian's, private instances)
#      D  Postfix + mxparityd with the av and spf modules, SPF answers from a
#         local dnsmasq (cache warmed before the first round)
#    C and D load the same signature database (the build tree's testdb/).
#    smtp-source sends BENCH_MESSAGES messages over BENCH_SESSIONS sessions
#    for each size in BENCH_SIZES, plus a mix of real-looking messages
#    (tests/bench/make-corpus.py; one file per session).  Rounds interleave
#    the configurations (A B C D A B C D ...); the wall time of a run is from
#    the start of smtp-source until Postfix's queue is empty (every message
#    delivered to the sink).  Printed: messages per second, and each
#    configuration's wall time as a ratio to A's in the same round, the
#    median over the rounds.
# 2. The milters alone: tests/bench/milterload speaks the milter protocol
#    straight to each milter's socket (no MTA), BENCH_MILTER_CONNECTIONS
#    connections, the corpus; messages per second, p50 and p99 latency.
# 3. The upper bound for mxparity's own cost: `mxparity scan --repeat` runs
#    the corpus through the same pipeline and engine in process, one core.
# Peak RSS (VmHWM) of every milter process at the end.
#
# Environment:
#   BENCH_ROUNDS (5)  BENCH_MESSAGES (2000)  BENCH_SESSIONS (20)
#   BENCH_SIZES ("2048 10240 102400", bytes; "mix" is always added unless
#   BENCH_MIX=0)  BENCH_MILTER_MESSAGES (4000)  BENCH_MILTER_ROUNDS (3)
#   BENCH_MILTER_CONNECTIONS (20)  BENCH_SCAN_REPEAT (50)
#   BENCH_QUICK=1: one round of 200 messages at 10 KB and the mix, short
#   milter and scan runs: checks the scripts in a minute or two.
#   BENCH_PARTS ("postfix sendmail milter scan engines"): the parts to run, in
#   that order; "sendmail" is tests/bench/part-sendmail.sh (sendmail alone
#   against sendmail + mxparityd, the private sendmail of ./bootstrap check);
#   "engines" is tests/bench/part-engines.sh (the av backends and
#   clamav-milter on a big generated database: memory, load time, scan cost;
#   BENCH_BIGDB_SCALE).
#   BENCH_CONFIGS ("A B C D"): the configurations (A is the reference).
#   BENCH_INSTALL=0: do not apt-get install clamav-daemon/clamav-milter
#   (configuration C is then left out if they are missing).
#   BENCH_TMPDIR: where clamd's and clamav-milter's TemporaryDirectory and
#   mxparityd's spool_dir (libclamav's temporary files) go, the same for
#   both; default the work directory, i.e. the build tree's file system.
#   BENCH_TMPDIR=/dev/shm measures both on tmpfs.
# Work directory: $top_builddir/bench-work/bench (kept; results.txt holds
# the report, runs.tsv every run).  Needs root (Postfix, apt-get).
set -u
: "${top_builddir:=$PWD}"
: "${ITEST_ROOT:=$top_builddir/bench-work}"
export ITEST_ROOT
# shellcheck source-path=SCRIPTDIR source=../integration/lib.sh
. "$(dirname "$0")/../integration/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../integration/mxp.sh
. "$(dirname "$0")/../integration/mxp.sh"
# shellcheck source-path=SCRIPTDIR source=part-sendmail.sh
. "$(dirname "$0")/part-sendmail.sh"
# shellcheck source-path=SCRIPTDIR source=part-engines.sh
. "$(dirname "$0")/part-engines.sh"

BENCHDIR=$(cd "$(dirname "$0")" && pwd)
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	: "${BENCH_ROUNDS:=1}" "${BENCH_MESSAGES:=200}" "${BENCH_SIZES:=10240}"
	: "${BENCH_MILTER_MESSAGES:=400}" "${BENCH_MILTER_ROUNDS:=1}" "${BENCH_SCAN_REPEAT:=3}"
	: "${BENCH_WARMUP:=40}"
fi
: "${BENCH_ROUNDS:=5}" "${BENCH_MESSAGES:=2000}" "${BENCH_SESSIONS:=20}"
: "${BENCH_SIZES:=2048 10240 102400}" "${BENCH_MIX:=1}"
: "${BENCH_MILTER_MESSAGES:=4000}" "${BENCH_MILTER_ROUNDS:=3}" "${BENCH_MILTER_CONNECTIONS:=20}"
: "${BENCH_SCAN_REPEAT:=50}" "${BENCH_WARMUP:=200}" "${BENCH_INSTALL:=1}"
: "${BENCH_PARTS:=postfix sendmail milter scan engines}"
# Upper bound for one run (smtp-source plus the queue draining), seconds.
: "${BENCH_RUN_TIMEOUT:=600}"

FROM=sender@bench.example.org
HELO=client.bench.example.org
RCPT=alice@example.com
PYTHON=/usr/bin/python3 # Debian's: the corpus must be the same bytes everywhere

say() {
	printf 'bench: %s\n' "$*" >&2
}

# install_deps - clamav-daemon and clamav-milter from Debian when missing,
# without letting their packages start the system services.
install_deps() {
	local p missing="" made_policy=""
	for p in clamav-daemon clamav-milter; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	if [ "$BENCH_INSTALL" != 1 ] || [ "$(id -u)" -ne 0 ]; then
		say "missing packages:$missing; configuration C (clamav-milter) is left out"
		return 1
	fi
	say "installing$missing with apt-get for configuration C (clamav-milter + clamd)."
	say "  Their system services are not started (policy-rc.d), and the bench never runs them"
	say "  or freshclam: it starts private instances on the test database and stops them."
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\n# made by mxparity run-bench.sh during apt-get install\nexit 101\n' \
			>/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && made_policy=yes
	fi
	# shellcheck disable=SC2086 # a list of package names
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing \
		>"$ITEST_DIR/apt-get.log" 2>&1 ||
		{ apt-get update -q >>"$ITEST_DIR/apt-get.log" 2>&1 &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
				$missing >>"$ITEST_DIR/apt-get.log" 2>&1; }
	local rc=$?
	[ -n "$made_policy" ] && rm -f /usr/sbin/policy-rc.d
	if [ $rc -ne 0 ]; then
		say "apt-get install$missing failed (see $ITEST_DIR/apt-get.log); configuration C is left out"
		return 1
	fi
	return 0
}

# ---------------------------------------------------------------------------
# The daemons
# ---------------------------------------------------------------------------

# bench_sink_start - smtp-sink as the next hop, keeping nothing (no -d)
bench_sink_start() {
	SINK_PORT=$(free_port) || itest_fail "no free port"
	SINK_DIR=""
	smtp-sink -4 -u "$ITEST_SINK_USER" -h bench-sink -t 60 "127.0.0.1:$SINK_PORT" 256 \
		>"$ITEST_DIR/sink.log" 2>&1 </dev/null &
	SINK_PID=$!
	printf '%s %s\n' "$SINK_PID" "$(_itest_starttime "$SINK_PID")" >>"$ITEST_DIR/tracked.pids"
	export SINK_PORT SINK_PID
	_itest_poll 20 _itest_listening "$SINK_PORT" || itest_fail "smtp-sink did not start" "$ITEST_DIR/sink.log"
}

# wait_listening PORT PID LOG WHAT
wait_listening() {
	local i
	for ((i = 0; i < 600; i++)); do
		_itest_listening "$1" && return 0
		kill -0 "$2" 2>/dev/null || itest_fail "$4 exited during startup" "$3"
		sleep 0.2
	done
	itest_fail "$4 did not listen on 127.0.0.1:$1" "$3"
}

start_nullmilter() {
	NULL_PORT=$(free_port) || itest_fail "no free port"
	"$top_builddir/tests/bench/nullmilter" -p "inet:$NULL_PORT@127.0.0.1" \
		>"$ITEST_DIR/nullmilter.log" 2>&1 </dev/null &
	NULL_PID=$!
	itest_track_pid "$NULL_PID"
	wait_listening "$NULL_PORT" "$NULL_PID" "$ITEST_DIR/nullmilter.log" nullmilter
}

# start_clamav - private clamd and clamav-milter on the test database
start_clamav() {
	local d=$ITEST_DIR/clamav
	mkdir -p "$d" "$SCRATCH/clamav"
	CLAMD_SOCK=$d/clamd.sock
	CLAM_PORT=$(free_port) || itest_fail "no free port"
	cat >"$d/clamd.conf" <<-EOF
		# private clamd for make bench: the test signatures, no self-check, no freshclam
		LocalSocket $CLAMD_SOCK
		FixStaleSocket yes
		PidFile $d/clamd.pid
		DatabaseDirectory $top_builddir/testdb
		TemporaryDirectory $SCRATCH/clamav
		LogFile $d/clamd.log
		LogFileMaxSize 0
		LogRotate no
		LogTime yes
		Foreground yes
		SelfCheck 0
		MaxThreads 12
		MaxConnectionQueueLength 30
		ScanMail yes
		ScanArchive yes
		MaxScanSize 100M
		MaxFileSize 25M
		MaxRecursion 16
		MaxFiles 10000
		StreamMaxLength 25M
	EOF
	cat >"$d/clamav-milter.conf" <<-EOF
		# private clamav-milter for make bench
		MilterSocket inet:$CLAM_PORT@127.0.0.1
		FixStaleSocket yes
		PidFile $d/clamav-milter.pid
		Foreground yes
		ClamdSocket unix:$CLAMD_SOCK
		OnClean Accept
		OnInfected Reject
		OnFail Defer
		AddHeader Replace
		LogFile $d/clamav-milter.log
		LogFileMaxSize 0
		LogRotate no
		LogTime yes
		LogClean Basic
		LogInfected Basic
		MaxFileSize 25M
		ReadTimeout 120
		TemporaryDirectory $SCRATCH/clamav
	EOF
	clamd -c "$d/clamd.conf" >"$d/clamd.out" 2>&1 </dev/null &
	CLAMD_PID=$!
	itest_track_pid "$CLAMD_PID"
	itest_track_log "$d/clamd.log" "$d/clamd.out"
	_itest_poll 120 test -S "$CLAMD_SOCK" || itest_fail "clamd did not start" "$d/clamd.out"
	clamav-milter -c "$d/clamav-milter.conf" >"$d/clamav-milter.out" 2>&1 </dev/null &
	CLAM_PID=$!
	itest_track_pid "$CLAM_PID"
	itest_track_log "$d/clamav-milter.log" "$d/clamav-milter.out"
	wait_listening "$CLAM_PORT" "$CLAM_PID" "$d/clamav-milter.out" clamav-milter
	say "clamd $(clamd --version 2>/dev/null | cut -d/ -f1) pid $CLAMD_PID, clamav-milter pid $CLAM_PID on 127.0.0.1:$CLAM_PORT"
}

# start_mxparityd - av and spf, SPF records served by dnsmasq
start_mxparityd() {
	cat >"$ITEST_DIR/zone" <<-EOF
		local-ttl=3600
		txt-record=bench.example.org,"v=spf1 ip4:127.0.0.1 -all"
		txt-record=$HELO,"v=spf1 ip4:127.0.0.1 -all"
	EOF
	mxp_dns_start "$ITEST_DIR/zone"
	mxp_modules_av
	ln -sf "$top_builddir/milter/modules/.libs/spf.so" "$MXP_MODDIR/spf.so"
	mkdir -p "$SCRATCH/mxparity"
	mxp_policy "# make bench: mxparityd with the av and spf modules
version = \"bench.1\"
mx {
  host \"mx1.example.com\" { tier = primary addresses = {\"127.0.0.2\"} }
  host \"mx2.example.com\" { tier = backup  addresses = {\"127.0.0.3\"} }
}
# The bench client connects from 127.0.0.1: an edge client, every check runs.
trusted_networks = {\"127.0.0.9/32\"}
counters_interval = 0
module av {
  database = \"$top_builddir/testdb\"
  spool_dir = \"$SCRATCH/mxparity\"
}
module spf {
  resolver = \"127.0.0.1:$DNS_PORT\"
}"
	mxp_start
	say "mxparityd pid $MXP_PID on 127.0.0.1:$MXP_PORT, dnsmasq on 127.0.0.1:$DNS_PORT"
}

# ---------------------------------------------------------------------------
# One run
# ---------------------------------------------------------------------------

declare -A PF_PORT_OF PF_QUEUE_OF PF_LOG_OF

# start_postfix CONFIG MILTER
start_postfix() {
	pf_start "$2" \
		"default_process_limit = 100" \
		"smtpd_client_connection_count_limit = 0" \
		"smtpd_client_message_rate_limit = 0" \
		"default_destination_concurrency_limit = 20" \
		"milter_connect_timeout = 10s"
	PF_PORT_OF[$1]=$PF_PORT
	PF_QUEUE_OF[$1]=$PF_QUEUE
	PF_LOG_OF[$1]=$PF_LOG
}

_queue_empty() {
	local q=$1
	! compgen -G "$q/incoming/*" >/dev/null && ! compgen -G "$q/active/*" >/dev/null &&
		! compgen -G "$q/maildrop/*" >/dev/null
}

# count_in LOG MARK ERE: lines after line MARK of LOG that match
count_in() {
	tail -n +"$(($2 + 1))" -- "$1" 2>/dev/null | grep -E -c -- "$3"
}

# send_load PORT LOAD N OUT: smtp-source sends N messages of LOAD (a size in
# bytes, or "mix": one corpus file per session, so the sessions carry a mix
# at once) in BENCH_SESSIONS sessions to 127.0.0.1:PORT, its output in OUT;
# LOAD_SENT is how many that was (the mix rounds down to whole sessions).
# Fails when any smtp-source did.
send_load() {
	local port=$1 load=$2 n=$3 out=$4 i rc=0 per pids=()
	LOAD_SENT=$n
	if [ "$load" = mix ]; then
		per=$((n / BENCH_SESSIONS))
		for ((i = 0; i < BENCH_SESSIONS; i++)); do
			timeout "$BENCH_RUN_TIMEOUT" smtp-source -4 -s 1 -m "$per" -M "$HELO" -f "$FROM" \
				-t "$RCPT" -F "${MIX_FILES[i % ${#MIX_FILES[@]}]}" "127.0.0.1:$port" \
				>>"$out" 2>&1 &
			pids+=($!)
		done
		for i in "${pids[@]}"; do
			wait "$i" || rc=$?
		done
		LOAD_SENT=$((per * BENCH_SESSIONS))
	else
		timeout "$BENCH_RUN_TIMEOUT" smtp-source -4 -s "$BENCH_SESSIONS" -m "$n" -l "$load" \
			-M "$HELO" -f "$FROM" -t "$RCPT" "127.0.0.1:$port" >"$out" 2>&1 || rc=$?
	fi
	return "$rc"
}

# run_load CONFIG LOAD N ROUND: one timed run; appends to runs.tsv and
# leaves the wall time in RUN_WALL.  LOAD is a size in bytes or "mix".
run_load() {
	local cfg=$1 load=$2 n=$3 round=$4 port=${PF_PORT_OF[$1]} q=${PF_QUEUE_OF[$1]}
	local log=${PF_LOG_OF[$1]} mark mxmark clmark t0 t1 t2 c0 c1 i rc=0 sent bad
	local out=$ITEST_DIR/source.$cfg.log
	mark=$(itest_mark "$log")
	mxmark=$(itest_mark "${MXP_LOG:-/dev/null}")
	clmark=$(itest_mark "${CLAM_LOG:-/dev/null}")
	: >"$out"
	# shellcheck disable=SC2046 # a list of pids
	c0=$(cpu_ticks $(milter_pids "$cfg"))
	t0=$EPOCHREALTIME
	send_load "$port" "$load" "$n" "$out" || rc=$?
	n=$LOAD_SENT
	t1=$EPOCHREALTIME
	for ((i = 0; i < BENCH_RUN_TIMEOUT * 50; i++)); do
		_queue_empty "$q" && break
		sleep 0.02
	done
	t2=$EPOCHREALTIME
	# shellcheck disable=SC2046 # a list of pids
	c1=$(cpu_ticks $(milter_pids "$cfg"))
	[ $rc -eq 0 ] || itest_fail "$cfg/$load: smtp-source failed (exit $rc)" "$out"
	_queue_empty "$q" || itest_fail "$cfg/$load: the queue did not drain in ${BENCH_RUN_TIMEOUT}s" "$log"
	# Every message must have reached the sink, and each milter must have seen each one.
	_itest_poll 10 _sent_all "$log" "$mark" "$n" || true
	sent=$(count_in "$log" "$mark" ' status=sent ')
	bad=$(count_in "$log" "$mark" ' status=(deferred|bounced)|milter-reject|warning: milter')
	[ "$sent" -eq "$n" ] && [ "$bad" -eq 0 ] ||
		itest_fail "$cfg/$load: $sent of $n delivered, $bad deferred, bounced or milter warnings" "$log"
	case $cfg in
	C) _itest_poll 10 _counted "$CLAM_LOG" "$clmark" "$n" 'Clean message' ||
		itest_fail "$cfg/$load: clamav-milter logged $(count_in "$CLAM_LOG" "$clmark" 'Clean message') clean messages, want $n" "$CLAM_LOG" ;;
	D) _itest_poll 10 _counted "$MXP_LOG" "$mxmark" "$n" ' av=clean spf=pass action=accept ' ||
		itest_fail "$cfg/$load: mxparityd logged $(count_in "$MXP_LOG" "$mxmark" ' av=clean spf=pass action=accept ') av=clean spf=pass lines, want $n" "$MXP_LOG" ;;
	esac
	# round, load, config, messages, smtp-source s, wall s, milter CPU ms per message
	printf '%s\t%s\t%s\t%s\t%.3f\t%.3f\t%.3f\n' "$round" "$load" "$cfg" "$n" \
		"$(bc_ "$t1 - $t0")" "$(bc_ "$t2 - $t0")" \
		"$(bc_ "($c1 - $c0) * 1000 / $(getconf CLK_TCK) / $n")" >>"$ITEST_DIR/runs.tsv"
	RUN_WALL=$(bc_ "$t2 - $t0")
}

_sent_all() {
	[ "$(count_in "$1" "$2" ' status=sent ')" -ge "$3" ]
}

_counted() {
	[ "$(count_in "$1" "$2" "$4")" -ge "$3" ]
}

bc_() {
	awk "BEGIN { printf \"%.6f\", $* }"
}

# cpu_ticks PID...: user + system CPU time of the processes (all their
# threads), in clock ticks
cpu_ticks() {
	local p t=0 stat
	for p in "$@"; do
		stat=$(cat "/proc/$p/stat" 2>/dev/null) || continue
		stat=${stat##*) }
		# Fields 14 and 15 (utime, stime) are 12 and 13 after the command name.
		t=$((t + $(awk '{ print $12 + $13 }' <<<"$stat")))
	done
	echo "$t"
}

# milter_pids CONFIG-OR-MILTER: the milter processes whose CPU time counts
milter_pids() {
	case $1 in
	B | null) echo "$NULL_PID" ;;
	C | clamav-milter) echo "$CLAM_PID $CLAMD_PID" ;;
	D | mxparityd) echo "$MXP_PID" ;;
	esac
}

# load_name LOAD: 2048 -> 2KB, mix -> mix
load_name() {
	case $1 in
	mix) echo mix ;;
	*) echo "$(($1 / 1024))KB" ;;
	esac
}

# peak_rss PID: VmHWM in MiB
peak_rss() {
	awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo "?"
}

# load_median FILE MILTER FIELD: the median over the rounds of FIELD=VALUE on
# MILTER's lines of FILE ("ROUND MILTER milterload's words... cpu_ms_per_msg=X")
load_median() {
	awk -v m="$2" -v f="$3=" '$2 == m { for (i = 3; i <= NF; i++) if (index($i, f) == 1) print substr($i, length(f) + 1) }' "$1" | median
}

# fixed DECIMALS VALUE: VALUE with that many decimals, or as it is when it
# is not a number (a "-" for a figure the run did not measure)
fixed() {
	if [[ $2 =~ ^-?[0-9]+(\.[0-9]*)?$ ]]; then printf "%.${1}f" "$2"; else printf %s "$2"; fi
}

# median: of the numbers on stdin
median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) { print "-"; exit }
		if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------

[ "$(id -u)" -eq 0 ] || { echo "bench: run as root (private Postfix instances, apt-get)" >&2; exit 1; }
for t in smtp-source smtp-sink postfix dnsmasq awk "$PYTHON"; do
	command -v "$t" >/dev/null 2>&1 || { echo "bench: $t is missing (./bootstrap installs it)" >&2; exit 1; }
done
for f in "$top_builddir/mxparityd" "$top_builddir/mxparity" "$top_builddir/tests/bench/nullmilter" \
	"$top_builddir/tests/bench/milterload" "$top_builddir/testdb/mxparity-test.ndb" \
	"$top_builddir/milter/modules/.libs/av.so" "$top_builddir/milter/modules/.libs/spf.so"; do
	[ -e "$f" ] || { echo "bench: $f is missing: build with the av and spf modules, then make bench" >&2; exit 1; }
done

itest_init bench
started=$SECONDS
case " $BENCH_PARTS " in
*" sendmail "*)
	if [ ! -x "${MXP_SENDMAIL_ROOT:-/var/cache/mxparity-tests/sendmail/root}/usr/libexec/sendmail/sendmail" ]; then
		say "no private sendmail (./bootstrap check unpacks it): the sendmail part is left out"
		BENCH_PARTS=${BENCH_PARTS/sendmail/}
	fi
	;;
esac
CONFIGS=${BENCH_CONFIGS:-A B C D}
case $CONFIGS in
*C*) install_deps || CONFIGS=${CONFIGS/C/} ;;
esac
# The engines part runs clamd and, when it can be installed, clamav-milter.
case " $BENCH_PARTS " in
*" engines "*) case $CONFIGS in *C*) ;; *) install_deps || true ;; esac ;;
esac
RESULTS=$ITEST_DIR/results.txt
: >"$ITEST_DIR/runs.tsv"
# Temporary files of both virus scanners, side by side on one file system.
SCRATCH=$ITEST_DIR/scratch
if [ -n "${BENCH_TMPDIR:-}" ]; then
	SCRATCH=$(mktemp -d "$BENCH_TMPDIR/mxparity-bench.XXXXXX") ||
		itest_fail "BENCH_TMPDIR: cannot make a directory in $BENCH_TMPDIR"
	itest_cleanup_add "rm -rf '$SCRATCH'"
fi
mkdir -p "$SCRATCH"

say "corpus: $PYTHON tests/bench/make-corpus.py"
"$PYTHON" "$BENCHDIR/make-corpus.py" "$ITEST_DIR/corpus" 40 >"$ITEST_DIR/corpus.txt" ||
	itest_fail "make-corpus.py failed"
mapfile -t CORPUS < <(find "$ITEST_DIR/corpus" -name '*.eml' | LC_ALL=C sort)
# The mix for smtp-source: one file per session, the first BENCH_SESSIONS of the corpus.
MIX_FILES=("${CORPUS[@]:0:$BENCH_SESSIONS}")

bench_sink_start
start_nullmilter
start_mxparityd
case $CONFIGS in *C*) start_clamav ;; esac
CLAM_LOG=${ITEST_DIR}/clamav/clamav-milter.log

case " $BENCH_PARTS " in
*" postfix "*)
	start_postfix A ""
	start_postfix B "inet:127.0.0.1:$NULL_PORT"
	case $CONFIGS in *C*) start_postfix C "inet:127.0.0.1:$CLAM_PORT" ;; esac
	start_postfix D "$(mxp_milter)"
	;;
esac

LOADS=""
for s in $BENCH_SIZES; do LOADS="$LOADS $s"; done
[ "$BENCH_MIX" = 1 ] && LOADS="$LOADS mix"

{
	echo "mxparity make bench, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "machine: $(nproc) cores, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(. /etc/os-release; echo "$PRETTY_NAME"), kernel $(uname -r)"
	echo "software: Postfix $(postconf -h mail_version), libclamav $(pkg-config --modversion libclamav 2>/dev/null), clamav-milter $(dpkg-query -W -f='${Version}' clamav-milter 2>/dev/null || echo -), libmilter $(dpkg-query -W -f='${Version}' libmilter1.0.1 2>/dev/null)"
	echo "signatures: $top_builddir/testdb ($(cat "$top_builddir"/testdb/*.ndb "$top_builddir"/testdb/*.hdb | grep -vc '^#') signatures), the same for clamd and mxparityd"
	echo "temporary files (clamd, clamav-milter, mxparityd's spool_dir): $SCRATCH, on $(stat -f -c %T "$SCRATCH")"
	echo "load: smtp-source, $BENCH_MESSAGES messages, $BENCH_SESSIONS sessions, one message per session; rounds: $BENCH_ROUNDS, interleaved ($CONFIGS)"
	echo "corpus: $(wc -l <"$ITEST_DIR/corpus.txt") messages from tests/bench/make-corpus.py, $(awk '{ s += $2 } END { printf "%.1f KB", s / NR / 1024 }' "$ITEST_DIR/corpus.txt") on average; the mix uses the first $BENCH_SESSIONS ($(for f in "${MIX_FILES[@]}"; do stat -c %s "$f"; done | awk '{ s += $1 } END { printf "%.1f KB", s / NR / 1024 }') on average)"
} >"$RESULTS"

# part_postfix - the interleaved rounds through Postfix and their table
part_postfix() {
	local r load cfg line name dns_before dns_after
	# Warm-up: Postfix's process pools, clamd's and libunbound's caches.
	echo "load average before the rounds: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine shows here)" >>"$RESULTS"
	say "warm-up: $BENCH_WARMUP messages through each configuration"
	for cfg in $CONFIGS; do
		run_load "$cfg" 10240 "$BENCH_WARMUP" 0
	done
	[ "$(grep -c 'query\[TXT\]' "$ITEST_DIR/dnsmasq.log")" -ge 1 ] ||
		itest_fail "mxparityd's SPF checks never asked dnsmasq" "$ITEST_DIR/dnsmasq.log"
	dns_before=$(grep -c 'query\[' "$ITEST_DIR/dnsmasq.log")

	for ((r = 1; r <= BENCH_ROUNDS; r++)); do
		for load in $LOADS; do
			line="round $r/$BENCH_ROUNDS $(load_name "$load"):"
			for cfg in $CONFIGS; do
				run_load "$cfg" "$load" "$BENCH_MESSAGES" "$r"
				line="$line $cfg $(printf %.2f "$RUN_WALL")s"
			done
			say "$line"
		done
	done
	dns_after=$(grep -c 'query\[' "$ITEST_DIR/dnsmasq.log")
	echo "load average after the rounds: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$RESULTS"

	# The table: per load and configuration, the median wall time, the rate it
	# gives, and the medians over the rounds of the ratios to A's wall time and
	# (for C and D) to the floor B's, each taken within one round.
	{
		echo
		echo "End to end through Postfix (wall time = smtp-source start to empty queue; median of $BENCH_ROUNDS rounds)"
		printf '%-6s %-48s %9s %9s %8s %13s %6s %10s\n' load configuration "wall s" "msgs/s" "x A" "x A min-max" "x B" "milter CPU"
		printf '%-6s %-48s %9s %9s %8s %13s %6s %10s\n' "" "" "" "" "" "" "" "ms/msg"
		for load in $LOADS; do
			for cfg in $CONFIGS; do
				case $cfg in
				A) name="Postfix alone" ;;
				B) name="Postfix + null libmilter milter (floor)" ;;
				C) name="Postfix + clamav-milter + clamd" ;;
				D) name="Postfix + mxparityd (av + spf)" ;;
				esac
				awk -F'\t' -v load="$load" -v cfg="$cfg" -v name="$name" '
					function sort(a, n,   i, j, t) {
						for (i = 2; i <= n; i++)
							for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
					}
					$1 > 0 && $2 == load { w[$1 "," $3] = $6; n[$1 "," $3] = $4; c[$1 "," $3] = $7; rounds[$1] = 1 }
					END {
						k = 0
						for (r in rounds) {
							if (!((r "," cfg) in w) || !((r ",A") in w)) continue
							k++; ws[k] = w[r "," cfg]; rs[k] = w[r "," cfg] / w[r ",A"]; cs[k] = c[r "," cfg]; msgs = n[r "," cfg]
							if ((r ",B") in w && cfg != "A" && cfg != "B") bs[++kb] = w[r "," cfg] / w[r ",B"]
						}
						if (k == 0) exit
						sort(ws, k); sort(rs, k); sort(cs, k); sort(bs, kb)
						mb = kb == 0 ? "-" : sprintf("%.2f", kb % 2 ? bs[(kb + 1) / 2] : (bs[kb / 2] + bs[kb / 2 + 1]) / 2)
						mw = k % 2 ? ws[(k + 1) / 2] : (ws[k / 2] + ws[k / 2 + 1]) / 2
						mr = k % 2 ? rs[(k + 1) / 2] : (rs[k / 2] + rs[k / 2 + 1]) / 2
						lname = load == "mix" ? "mix" : sprintf("%dKB", load / 1024)
						mc = k % 2 ? cs[(k + 1) / 2] : (cs[k / 2] + cs[k / 2 + 1]) / 2
						printf "%-6s %-48s %9.2f %9.1f %8.2f %6.2f-%-6.2f %6s %10s\n", lname, cfg ": " name, mw, msgs / mw, mr, rs[1], rs[k], mb, cfg == "A" ? "-" : sprintf("%.2f", mc)
					}' "$ITEST_DIR/runs.tsv"
			done
		done
		echo "SPF: $((dns_after - dns_before)) queries reached dnsmasq during the rounds (libunbound's cache answered the rest)"
	} >>"$RESULTS"
}


# ---------------------------------------------------------------------------
# The milters alone, over the milter protocol
# ---------------------------------------------------------------------------
# part_milter - milterload against each milter, interleaved rounds
part_milter() {
	local r m out mxmark clam_rate rate p50 p99 x c0 c1 cpu
	declare -A MILTER_SOCK=([null]="inet:$NULL_PORT@127.0.0.1" [mxparityd]="inet:$MXP_PORT@127.0.0.1")
	MILTERS="null mxparityd"
	case $CONFIGS in *C*)
		MILTER_SOCK[clamav-milter]="inet:$CLAM_PORT@127.0.0.1"
		MILTERS="null clamav-milter mxparityd"
		;;
	esac
	: >"$ITEST_DIR/milterload.txt"
	# Warm-up (not counted): libunbound's cache, clamd's threads.
	for m in $MILTERS; do
		timeout 300 "$top_builddir/tests/bench/milterload" -p "${MILTER_SOCK[$m]}" \
			-c "$BENCH_MILTER_CONNECTIONS" -n 100 -T 120 -f "$FROM" -H "$HELO" -a 127.0.0.1 \
			-r "$RCPT" "$ITEST_DIR/corpus" >>"$ITEST_DIR/milterload.warmup" 2>&1
	done
	for ((r = 1; r <= BENCH_MILTER_ROUNDS; r++)); do
		for m in $MILTERS; do
			mxmark=$(itest_mark "$MXP_LOG")
			# shellcheck disable=SC2046 # a list of pids
			c0=$(cpu_ticks $(milter_pids "$m"))
			out=$(timeout 900 "$top_builddir/tests/bench/milterload" -p "${MILTER_SOCK[$m]}" \
				-c "$BENCH_MILTER_CONNECTIONS" -n "$BENCH_MILTER_MESSAGES" -T 600 \
				-f "$FROM" -H "$HELO" -a 127.0.0.1 -r "$RCPT" "$ITEST_DIR/corpus" \
				2>>"$ITEST_DIR/milterload.err") ||
				itest_fail "milterload against $m failed: $out" "$ITEST_DIR/milterload.err"
			# shellcheck disable=SC2046 # a list of pids
			c1=$(cpu_ticks $(milter_pids "$m"))
			printf '%s %s %s cpu_ms_per_msg=%s\n' "$r" "$m" "$out" \
				"$(bc_ "($c1 - $c0) * 1000 / $(getconf CLK_TCK) / $BENCH_MILTER_MESSAGES")" >>"$ITEST_DIR/milterload.txt"
			case $out in
			*" accept=$BENCH_MILTER_MESSAGES "*" errors=0 unsent=0 "*) ;;
			*) itest_fail "milterload against $m: not every message accepted: $out" "$ITEST_DIR/milterload.err" ;;
			esac
			[ "$m" != mxparityd ] || _itest_poll 10 _counted "$MXP_LOG" "$mxmark" "$BENCH_MILTER_MESSAGES" ' av=clean spf=pass action=accept ' ||
				itest_fail "mxparityd did not log $BENCH_MILTER_MESSAGES clean, SPF-passed messages" "$MXP_LOG"
			say "milterload round $r $m: $(sed -E 's/.* (msgs_per_s=[^ ]+) .* (p50_ms=[^ ]+ p99_ms=[^ ]+).*/\1 \2/' <<<"$out")"
		done
	done
	{
		echo
		echo "The milters alone: tests/bench/milterload, $BENCH_MILTER_MESSAGES messages from the corpus, $BENCH_MILTER_CONNECTIONS connections, one message per connection (median of $BENCH_MILTER_ROUNDS rounds)"
		printf '%-16s %9s %9s %9s %12s %12s\n' milter "msgs/s" "p50 ms" "p99 ms" "x clamav" "CPU ms/msg"
		clam_rate=$(load_median "$ITEST_DIR/milterload.txt" clamav-milter msgs_per_s)
		for m in $MILTERS; do
			rate=$(load_median "$ITEST_DIR/milterload.txt" "$m" msgs_per_s)
			p50=$(load_median "$ITEST_DIR/milterload.txt" "$m" p50_ms)
			p99=$(load_median "$ITEST_DIR/milterload.txt" "$m" p99_ms)
			cpu=$(load_median "$ITEST_DIR/milterload.txt" "$m" cpu_ms_per_msg)
			if [ "$clam_rate" != - ]; then x=$(bc_ "$rate / $clam_rate"); else x=-; fi
			printf '%-16s %9s %9s %9s %12s %12s\n' "$m" "$(fixed 1 "$rate")" "$(fixed 2 "$p50")" \
				"$(fixed 2 "$p99")" "$(fixed 2 "$x")" "$(fixed 2 "$cpu")"
		done
	} >>"$RESULTS"
}


# ---------------------------------------------------------------------------
# The upper bound: the same pipeline and engine in process
# ---------------------------------------------------------------------------
# part_scan - mxparity scan --repeat over the corpus
part_scan() {
	local p out
	{
		echo
		echo "In process, one core: mxparity scan --repeat $BENCH_SCAN_REPEAT over the ${#CORPUS[@]} corpus messages"
		grep -v '^#' "$MXP_POLICY" | sed -n '/^module spf/,$d; p' >"$ITEST_DIR/policy-av.conf"
		for p in "$MXP_POLICY:av + spf" "$ITEST_DIR/policy-av.conf:av only"; do
			out=$("$top_builddir/mxparity" scan -c "${p%%:*}" -M "$MXP_MODDIR" -n mx1.example.com \
				--client-ip 127.0.0.1 --helo "$HELO" --from "$FROM" --rcpt "$RCPT" \
				--repeat "$BENCH_SCAN_REPEAT" "${CORPUS[@]}" 2>>"$ITEST_DIR/scan.err" | tail -n 1)
			printf '%-10s %s\n' "${p##*:}" "$out"
		done
	} >>"$RESULTS"
}

for part in $BENCH_PARTS; do
	case $part in
	postfix | sendmail | milter | scan | engines) "part_$part" ;;
	*) itest_fail "BENCH_PARTS: unknown part '$part' (postfix, sendmail, milter, scan, engines)" ;;
	esac
done

{
	echo
	echo "Peak RSS (VmHWM) at the end: mxparityd $(peak_rss "$MXP_PID") MiB; nullmilter $(peak_rss "$NULL_PID") MiB$(case $CONFIGS in *C*) echo "; clamav-milter $(peak_rss "$CLAM_PID") MiB + clamd $(peak_rss "$CLAMD_PID") MiB" ;; esac)"
	echo "bench time: $((SECONDS - started)) s; work dir $ITEST_DIR (runs.tsv, milterload.txt)"
} >>"$RESULTS"

cat "$RESULTS"
exit 0
