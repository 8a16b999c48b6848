#!/bin/bash
# t-style.sh - the tree keeps the style it claims (shared/STYLE.md,
# doc/design.md): the include graph follows the layers, every function's
# lead comment names that function, C is as .clang-format formats it, and
# shell scripts pass shellcheck.
#
# clang-format and shellcheck are build dependencies (./bootstrap installs
# them); without one of them that part is skipped with a note, unless
# STYLE_STRICT=1 (as .ci/run sets), which makes a missing tool a failure.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
cd "$top_srcdir" || exit 99
failed=0

note() { printf '%s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*"; failed=1; }
missing() {
    if [ "${STYLE_STRICT:-0}" = 1 ]; then fail "$1 is not installed"; else note "SKIP part: $1 is not installed"; fi
}

python3 tests/style/check-includes.py . || fail "include graph"
python3 tests/style/check-comments.py . || fail "lead comments"
python3 tests/style/check-man-policy.py . || fail "the bundled policy in mxparity.conf(5)"
python3 tests/style/check-sendmail-snippet.py . || fail "the sendmail.mc lines in the docs"

# in_checkout: this source tree is a git checkout of its own (not a release
# tarball, which may well be unpacked inside some other checkout)
in_checkout() {
    [ "$(git rev-parse --show-toplevel 2>/dev/null)" = "$(pwd -P)" ]
}

# Every tracked C file, or every C file when this is not a git checkout (a release tarball).
c_files() {
    if in_checkout; then
        git ls-files '*.c' '*.h'
    else
        find milter include tests -name '*.[ch]' -not -path '*/itest-work/*'
    fi
}
sh_files() {
    if in_checkout; then
        git ls-files '*.sh' bootstrap .ci/run
    else
        find milter tests -name '*.sh'
        printf '%s\n' bootstrap .ci/run
    fi
}

if command -v clang-format >/dev/null 2>&1; then
    mapfile -t cs < <(c_files)
    [ "${#cs[@]}" -gt 0 ] || fail "no C files found to check"
    out=$(clang-format --dry-run "${cs[@]}" 2>&1)
    if [ -n "$out" ]; then
        printf '%s\n' "$out" | head -n 40
        fail "clang-format: $(printf '%s\n' "$out" | grep -c 'warning:') place(s) differ (run clang-format -i on the files named)"
    else
        note "clang-format: ${#cs[@]} files as .clang-format formats them"
    fi
else
    missing clang-format
fi

if command -v shellcheck >/dev/null 2>&1; then
    mapfile -t ss < <(sh_files)
    [ "${#ss[@]}" -gt 0 ] || fail "no shell scripts found to check"
    if [ "${#ss[@]}" -gt 0 ] && ! shellcheck -x -S warning "${ss[@]}"; then
        fail "shellcheck"
    else
        note "shellcheck: ${#ss[@]} scripts clean"
    fi
else
    missing shellcheck
fi
[ "$failed" -eq 0 ] && note "PASS: style"
exit "$failed"
