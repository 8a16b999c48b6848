#!/bin/bash
# measure-memory.sh - resident memory of mxparityd with the av module:
# with the test database, with a synthetic large one (200,000 MD5 hash
# signatures and 20,000 body signatures), and the peak during a reload in
# each reload mode.  A measurement, not a test: it prints figures.
# Run from the build directory after `make`.
set -eu
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../../../.." && pwd)}
top_builddir=${top_builddir:-$PWD}
work=$(mktemp -d "${TMPDIR:-/tmp}/mxparity-mem.XXXXXX")
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

mkdir -p "$work/mods" "$work/small" "$work/large" "$work/spool"
ln -s "$top_builddir/milter/modules/.libs/av.so" "$work/mods/av.so"
sh "$top_srcdir/milter/modules/av/make-testdb.sh" "$work/small"
sh "$top_srcdir/milter/modules/av/make-testdb.sh" "$work/large"
python3 - "$work/large" <<'PY'
import hashlib, random, sys
d = sys.argv[1]
rnd = random.Random(7208)
with open(d + "/synthetic.hdb", "w") as f:
    for i in range(200000):
        f.write("%s:%d:Synthetic.Hash.%d\n" % (hashlib.md5(b"h%d" % i).hexdigest(), 1000 + i, i))
with open(d + "/synthetic.ndb", "w") as f:
    for i in range(20000):
        sig = "".join("%02x" % rnd.randrange(256) for _ in range(rnd.randrange(16, 40)))
        f.write("Synthetic.Body.%d:0:*:%s\n" % (i, sig))
PY

kb() { awk -v k="$2" '$1 == k":" { print $2 }' "/proc/$1/status"; }

# run_daemon DB MODE: start, wait for "serving", print RSS; leaves $pid set
run_daemon() {
	cat >"$work/policy.conf" <<EOC
version = "mem"
mx { host "mx1.example.com" { tier = primary addresses = {"127.0.0.2"} } }
module av { database = "$1" spool_dir = "$work/spool" reload = $2 reload_check_interval = 0 }
EOC
	: >"$work/log"
	"$top_builddir/mxparityd" -f -c "$work/policy.conf" -M "$work/mods" -n mx1.example.com \
		-p "inet:$((20000 + RANDOM % 10000))@127.0.0.1" -R >"$work/log" 2>&1 &
	pid=$!
	for _ in $(seq 1 600); do grep -q 'serving on' "$work/log" && break; sleep 0.1; done
	grep -q 'serving on' "$work/log" || { cat "$work/log"; exit 1; }
}

# reload_peak: SIGHUP, wait for the reload line, print the high-water mark
reload_peak() {
	local before=$1
	kill -HUP "$pid"
	for _ in $(seq 1 1200); do grep -q 'engine reloaded' "$work/log" && break; sleep 0.1; done
	grep -q 'engine reloaded' "$work/log" || { cat "$work/log"; exit 1; }
	sleep 0.5
	echo "$(kb "$pid" VmHWM) $(kb "$pid" VmRSS) $before"
}

stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=; }

printf '%-34s %10s %10s %10s\n' "configuration" "RSS MiB" "peak MiB" "reload s"
for db in small large; do
	for mode in concurrent blocking; do
		run_daemon "$work/$db" "$mode"
		rss=$(kb "$pid" VmRSS)
		read -r hwm _ < <(reload_peak "$rss")
		secs=$(grep -o 'engine reloaded.*, [0-9.]* s' "$work/log" | grep -o '[0-9.]* s$' | tr -d ' s')
		printf '%-34s %10.1f %10.1f %10s\n' "$db db, reload=$mode" "$(echo "$rss/1024" | bc -l)" \
			"$(echo "$hwm/1024" | bc -l)" "$secs"
		stop
	done
done
echo "(RSS: after the first load; peak: VmHWM after one SIGHUP reload; 'after' RSS is not shown)"
