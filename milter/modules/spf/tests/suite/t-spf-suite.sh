#!/bin/bash
# t-spf-suite.sh - the RFC 7208 (and RFC 4408) conformance suites of
# pyspf/openspf against the spf module, through `mxparity scan`, with each
# scenario's zone data served by unbound on loopback (see README.md).
#
# Exit: 0 pass (every failure listed in known-failures.txt), 1 a failure
# not listed there or a listed test that now passes, 77 a prerequisite is
# missing (the module was not built, no unbound, no PyYAML, no suite
# file), 99 the harness itself failed.
#
# The suite files: $SPF_SUITE_DIR if set, else Debian's python3-spf copies,
# else ../shared/spf beside the source tree.  Extra driver options (e.g. -v,
# --keep) can be given in SPF_SUITE_FLAGS.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../../../../.." && pwd)}"
: "${top_builddir:=$PWD}"
export top_builddir

here=$top_srcdir/milter/modules/spf/tests/suite
python=/usr/bin/python3   # Debian's, with python3-yaml: not a pyenv one
mxp=$top_builddir/mxparity
module=$top_builddir/milter/modules/.libs/spf.so

# shellcheck source=tests/integration/lib.sh
. "$top_srcdir/tests/integration/lib.sh" # itest_skip
ITEST_NAME=spf-suite

[ -x "$python" ] || itest_skip "$python not found"
"$python" -c 'import yaml' 2>/dev/null || itest_skip "PyYAML not installed (package python3-yaml)"
command -v unbound >/dev/null 2>&1 || [ -x /usr/sbin/unbound ] || itest_skip "unbound not installed (package unbound)"
[ -x "$mxp" ] || itest_skip "$mxp not built"
[ -f "$module" ] || itest_skip "the spf module was not built ($module)"

# find_suite NAME: the first copy of NAME (.yml.gz or .yml) in the usual places.
find_suite() {
	local d
	for d in ${SPF_SUITE_DIR:+"$SPF_SUITE_DIR"} /usr/share/doc/python3-spf \
		"$top_srcdir/../shared/spf"; do
		if [ -f "$d/$1.gz" ]; then
			echo "$d/$1.gz"
			return 0
		fi
		if [ -f "$d/$1" ]; then
			echo "$d/$1"
			return 0
		fi
	done
	return 1
}

s7208=$(find_suite rfc7208-tests.yml) || itest_skip "rfc7208-tests.yml not found (package python3-spf)"
s4408=$(find_suite rfc4408-tests.yml) || s4408=""

# First the DNS serving itself, on made-up edge cases (long and multi-string
# TXT, CNAME chains, per-type timeouts, odd names): a mismatch is a harness error.
if ! out=$("$python" "$here/zone.py" selftest 2>&1); then
	echo "$out"
	echo "ERROR: the DNS server does not serve the zone data as the suite means it"
	exit 99
fi
echo "${out##*$'\n'}"

# run SUITE WORKDIR: the driver on one suite file.  A failing run keeps its
# work directory (configs, zone files, unbound logs) under the build tree.
# The score line also goes to fd 9 when make check opened it
# (AM_TESTS_FD_REDIRECT), so it shows among make check's own output.
run() {
	local out status
	out=$(mktemp "${TMPDIR:-/tmp}/spf-suite.XXXXXX") || return 99
	# shellcheck disable=SC2086 # a list of options
	"$python" "$here/run-suite.py" --mxparity "$mxp" --module "$module" \
		--known-failures "$here/known-failures.txt" --work "$top_builddir/milter/modules/spf/tests/suite/$2" \
		${SPF_SUITE_FLAGS:-} "$1" >"$out" 2>&1
	status=$?
	cat "$out"
	if { true >&9; } 2>/dev/null; then
		grep -E '^spf suite' "$out" >&9
	fi
	rm -f "$out"
	return $status
}
run "$s7208" work-rfc7208
rc=$?
if [ -n "$s4408" ]; then
	run "$s4408" work-rfc4408
	rc2=$?
else
	echo "rfc4408-tests.yml not found: only the RFC 7208 suite ran"
	rc2=77
fi

# The worse of the two: harness error, failure, then pass; skip only if both skipped.
for r in 99 1; do
	if [ "$rc" = "$r" ] || [ "$rc2" = "$r" ]; then exit "$r"; fi
done
if [ "$rc" = 77 ] && [ "$rc2" = 77 ]; then exit 77; fi
for r in "$rc" "$rc2"; do
	case $r in 0 | 1 | 77 | 99) ;; *) exit 99 ;; esac # a crash of the driver itself
done
exit 0
