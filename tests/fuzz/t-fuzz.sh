#!/bin/sh
# t-fuzz.sh - run each libFuzzer target for FUZZ_SECONDS (default 20) on a
# scratch copy of its seed corpus.  Exit 77 (skip) when the targets were not
# built, 1 when one crashed, leaked or timed out; the input that did it is
# kept as tests/fuzz/fuzz_NAME-crash-* (or -leak-, -timeout-, -oom-) in the
# build tree and its path is printed.  FUZZ_ARGS adds libFuzzer options.
set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
secs=${FUZZ_SECONDS:-20}
targets="received stamp rcptlist spf_syntax policy session"

for t in $targets; do
	if [ ! -x "$top_builddir/tests/fuzz/fuzz_$t" ]; then
		echo "t-fuzz: $top_builddir/tests/fuzz/fuzz_$t is not built (no clang with libFuzzer)"
		exit 77
	fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/mxparity-fuzz.XXXXXX") || exit 99
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

status=0
for t in $targets; do
	bin=$top_builddir/tests/fuzz/fuzz_$t
	prefix=$top_builddir/tests/fuzz/fuzz_$t-
	mkdir "$work/$t" || exit 99
	cp "$top_srcdir/tests/fuzz/corpus/$t"/* "$work/$t/" || exit 99
	before=$(ls "$prefix"* 2>/dev/null | wc -l)
	# shellcheck disable=SC2086 # FUZZ_ARGS is a list of options
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$prefix" ${FUZZ_ARGS:-} \
		"$work/$t" >"$work/$t.log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t.log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/$t.log")
	echo "t-fuzz: fuzz_$t: ${runs:-?} runs in ${secs}s, ${rate:-?} exec/s, exit $rc"
	after=$(ls "$prefix"* 2>/dev/null | wc -l)
	if [ "$rc" -ne 0 ] || [ "$after" -ne "$before" ]; then
		status=1
		tail -n 60 "$work/$t.log"
		if [ "$after" -gt "$before" ]; then
			for f in $(ls -t "$prefix"* | head -n $((after - before))); do
				echo "t-fuzz: fuzz_$t: reproducer $f (replay: $bin $f)"
			done
		else
			echo "t-fuzz: fuzz_$t: failed without writing a reproducer"
		fi
	fi
done
exit $status
