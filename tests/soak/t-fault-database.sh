#!/bin/bash
# t-fault-database.sh - the signature database replaced by a corrupt one
# under load (reload_check_interval = 1, so the av module's watcher sees it
# within a second and tries to load it).  The load fails, the log says so,
# and the previous engine keeps scanning: no tempfail, every message
# delivered exactly once, EICAR still refused.  Then the good database
# comes back and is loaded again.  Figures: sent, delivered, tempfailed,
# lost, duplicates.
set -u
# shellcheck source=tests/integration/lib.sh
. "${top_srcdir:?}/tests/integration/lib.sh"
# shellcheck source=tests/integration/mxp.sh
. "${top_srcdir:?}/tests/integration/mxp.sh"
# shellcheck source=tests/soak/soak.sh
. "${top_srcdir:?}/tests/soak/soak.sh"

soak_init fault-database
soak_tier "reload_check_interval = 1"
cp -a "$ITEST_DIR/db" "$ITEST_DIR/db.good"
mark=$(itest_mark "$MXP_LOG")
soak_load_start database
sleep "$(awk -v s="$SOAK_SECONDS" 'BEGIN { print s / 3 }')"
# Corrupt: every signature file truncated to garbage, and a broken body signature.
for f in "$ITEST_DIR"/db/*; do
    head -c 64 /dev/urandom >"$f"
done
printf 'Broken.Sig:0:*:zz\n' >"$ITEST_DIR/db/broken.ndb"
wait_for_grep_from "$mark" 'av: reload of .* failed: .*; the previous engine stays in use' "$MXP_LOG" 30
itest_log "the corrupt database was refused"
soak_eicar_refused
soak_load_wait
soak_settle
soak_account
# The good database again: loaded.
mark=$(itest_mark "$MXP_LOG")
rm -rf "$ITEST_DIR/db"
cp -a "$ITEST_DIR/db.good" "$ITEST_DIR/db"
touch "$ITEST_DIR"/db/*
wait_for_grep_from "$mark" 'av: engine reloaded \(concurrent\)' "$MXP_LOG" 30
soak_eicar_refused
soak_spool_empty
mxp_assert_healthy
echo "t-fault-database: corrupt database refused, previous engine kept; $SOAK_FIGURES"
itest_pass
