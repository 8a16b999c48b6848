#!/bin/bash
# t-fault-spool.sh - the av module's spool_dir file system fills up under
# load (a 16 MB tmpfs of this test's, never the machine's, filled by a
# file of ours), then has room again.  While it is full the module does not
# scan and does not pass: av=error:spool-full, on_error (tempfail); the
# client sends those again.  Every message is delivered exactly once,
# none is lost, none accepted unscanned, and nothing of libclamav's is
# left in spool_dir.  Skipped when the test cannot mount a tmpfs (not
# root).  max_file_size = 4M: the module needs room for one such part.  Figures: sent, delivered, tempfailed, lost, duplicates.
set -u
# shellcheck source=tests/integration/lib.sh
. "${top_srcdir:?}/tests/integration/lib.sh"
# shellcheck source=tests/integration/mxp.sh
. "${top_srcdir:?}/tests/integration/mxp.sh"
# shellcheck source=tests/soak/soak.sh
. "${top_srcdir:?}/tests/soak/soak.sh"

soak_init fault-spool
mkdir -p "$ITEST_DIR/spool"
mount -t tmpfs -o size=16m,mode=1777 tmpfs "$ITEST_DIR/spool" 2>/dev/null \
    || itest_skip "cannot mount a tmpfs on $ITEST_DIR/spool"
itest_cleanup_add "umount '$ITEST_DIR/spool'"
soak_tier "max_file_size = 4M"
soak_load_start spool --retry-seconds 90
third=$(awk -v s="$SOAK_SECONDS" 'BEGIN { print s / 3 }')
sleep "$third"
# Fill it: dd stops at ENOSPC (bounded by the file system's 16 MB).
dd if=/dev/zero of="$ITEST_DIR/spool/.filler" bs=64k 2>/dev/null
itest_log "spool_dir full: $(df -k --output=avail "$ITEST_DIR/spool" | tail -n 1) kB free"
sleep "$(awk -v s="$third" 'BEGIN { print (s > 2 ? s : 2) }')"
rm -f "$ITEST_DIR/spool/.filler"
itest_log "spool_dir has room again"
soak_load_wait
soak_settle
soak_account --allow-tempfail
[ "$(soak_tempfailed)" -ge 1 ] || itest_fail "no message was tempfailed while the spool was full" "$MXP_LOG"
assert_grep ' av=error:spool-full action=tempfail ' "$MXP_LOG"
assert_no_grep ' av=error:spool-full action=(accept|tag) ' "$MXP_LOG"
soak_spool_empty
soak_eicar_refused
mxp_assert_healthy
echo "t-fault-spool: spool_dir full for ${third}s or more; $SOAK_FIGURES"
itest_pass
