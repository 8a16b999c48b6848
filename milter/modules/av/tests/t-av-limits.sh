#!/bin/bash
# t-av-limits.sh - scan limits of the av module behind a real Postfix:
#  1. max_scan_size = 64K: a 16 KB message is scanned (av=clean); a 100 KB
#     one is handled as on_limits says, and only so:
#       tag      -> 250, one "X-Virus-Status: Unscanned (limits)", av=skipped:size
#       reject   -> 552 5.3.4 at DATA, nothing delivered
#       tempfail -> 452 4.3.4 at DATA, nothing delivered
#     (on_limits switched by SIGHUP to a changed policy);
#  2. spool spill, spool_memory_max = 4K: a 200 KB clean message is accepted
#     (X-Virus-Status: Clean), a 200 KB message with EICAR at its very END and
#     one with clam.zip attached at its end are rejected: the file spool is
#     scanned in full.  That the file spool is really used is shown by taking
#     the spool dir away: the 200 KB message then gets 451 (av=error:spool),
#     never a pass; with the dir back it is accepted;
#  3. the recursion limit: clam_cache_emax.tgz (clam.exe in 9 nested .tgz)
#     is beyond max_recursion = 16: on_limits = reject -> 552 5.3.4
#     av=skipped:MaxRecursion; the same attachment followed by EICAR is still
#     rejected as EICAR (a limit in one part does not hide a virus in
#     another); with max_recursion = 24 clam.exe inside is found;
#  4. the defaults, with no on_limits in the policy (unscanned mail is not
#     delivered): EICAR (base64) inside 20 nested multiparts (1.5 KB) and
#     inside 200 nested message/rfc822 parts -> 552 5.3.4 av=skipped:MaxRecursion, and
#     the 100 KB message over max_scan_size = 64K -> 552 5.3.4 too; with
#     on_size_limits = tag the 100 KB one is delivered tagged while both
#     nested ones are still refused;
#  5. limits libclamav enforces without an alert (doc/design.md): a zip
#     whose one member is 30 MB of zeros and then EICAR (a 42 KB message;
#     deflate, bzip2, and with the member's size in the zip headers forged
#     to 100 bytes) -> 552 5.3.4 av=skipped:MaxFileSize, never av=clean;
#     with max_file_size = 1M and max_decoded_size = 2M, a zip of three
#     0.9 MB members (each within max_file_size, together beyond the
#     decoded budget) -> av=skipped:MaxScanSize, never clean, and the same
#     with EICAR in the last member -> 554 5.7.1 (a virus found outranks a
#     limit).
# The database holds EICAR and clam.exe's MD5 only, so archives must be
# unpacked to find anything.  Finally: daemon alive, no sanitizer report,
# the spool dir empty.
set -u
# shellcheck source=tests/integration/lib.sh
. "${top_srcdir:?}/tests/integration/lib.sh"
# shellcheck source=tests/integration/mxp.sh
. "${top_srcdir:?}/tests/integration/mxp.sh"

itest_init av-limits
itest_require swaks
mxp_modules_av
SAMPLES=/usr/share/clamav-testfiles
[ -f "$SAMPLES/clam_cache_emax.tgz" ] || itest_skip "$SAMPLES (package clamav-testfiles) is missing"

EICAR_NAME=Mxparity.Test.EICAR.UNOFFICIAL
printf 'alice@example.com\n' >"$ITEST_DIR/recipients"
# make-testdb.sh on a samples dir holding clam.exe only: EICAR + clam.exe's MD5.
mkdir -p "$ITEST_DIR/testfiles"
cp "$SAMPLES/clam.exe" "$ITEST_DIR/testfiles/"
sh "$top_srcdir/milter/modules/av/make-testdb.sh" "$ITEST_DIR/db" "$ITEST_DIR/testfiles" \
    || itest_fail "make-testdb.sh failed"

# make_msg FILE KBYTES [TAIL_FILE]: a message of about KBYTES kB of text
# lines, followed by the content of TAIL_FILE (if given) at the very end.
make_msg() {
    local file=$1 kb=$2 tail=${3:-}
    {
        printf 'From: sender@example.com\nTo: alice@example.com\n'
        printf 'Subject: %s kB message\nMessage-ID: <%s.%s@itest.example>\n\n' "$kb" "$kb" "$RANDOM"
        awk -v n="$(( kb * 1024 / 64 ))" 'BEGIN {
            for (i = 1; i <= n; i++)
                printf "line %06d: the quick brown fox jumps over the lazy dog 0123\n", i
        }'
        if [ -n "$tail" ]; then cat "$tail"; printf '\n'; fi
    } >"$file"
}

# expect_summary SENDER ERE: the summary line of SENDER matches ERE.
expect_summary() {
    local line
    line=$(mxp_wait_summary_from "$1")
    [[ $line =~ $2 ]] || itest_fail "summary of <$1> does not match /$2/: '${line:-<none>}'" "$MXP_LOG"
    itest_log "ok: <$1> ${BASH_REMATCH[0]}"
}

# expect_status SENDER STATUS: the sink copy from SENDER has exactly one
# X-Virus-Status (STATUS) and exactly one X-Virus-Scanned of ours.
expect_status() {
    local f status scanned
    sink_wait_from "$1"
    f=$SINK_FILE
    status=$(header_lines "$f" X-Virus-Status)
    scanned=$(header_lines "$f" X-Virus-Scanned)
    [ "$status" = "X-Virus-Status: $2" ] \
        || itest_fail "<$1>: want exactly one 'X-Virus-Status: $2', got '$status'" "$f" 30
    [[ $scanned =~ ^X-Virus-Scanned:\ mxparity\ av\ \(ClamAV\ [0-9.]+\)\ on\ mx1\.example\.com$ ]] \
        || itest_fail "<$1>: want exactly one X-Virus-Scanned of ours, got '$scanned'" "$f" 30
}

make_msg "$ITEST_DIR/msg-16k" 16
make_msg "$ITEST_DIR/msg-100k" 100
# Not 60 kB: libclamav's own MaxScanSize (set to max_scan_size too) counts
# every byte it scans, the raw message and each decoded part, so a plain
# text message over max_scan_size / 2 is already av=skipped:MaxScanSize.
size100=$(wc -c <"$ITEST_DIR/msg-100k")

# --- 1. max_scan_size = 64K ---------------------------------------------------
mxp_av_policy itest.tag "max_scan_size = 64K  on_limits = tag"
mxp_start
sink_start
pf_start "$(mxp_milter)"
delivered=0

swaks_send --to alice@example.com --from small@example.com --data "$ITEST_DIR/msg-16k"
assert_swaks_reply 250
expect_summary small@example.com ' av=clean action=accept '
delivered=$(( delivered + 1 ))
expect_status small@example.com Clean

swaks_send --to alice@example.com --from big-tag@example.com --data "$ITEST_DIR/msg-100k"
assert_swaks_reply 250
expect_summary big-tag@example.com ' av=skipped:size action=tag '
delivered=$(( delivered + 1 ))
expect_status big-tag@example.com 'Unscanned (limits)'

mxp_av_policy itest.reject "max_scan_size = 64K  on_limits = reject"
mxp_reload_policy itest.reject
swaks_send --to alice@example.com --from big-reject@example.com --data "$ITEST_DIR/msg-100k" || true
assert_swaks_reply "552 5.3.4 Message too large or complex to scan for viruses"
assert_grep '<- *354 ' "$SWAKS_LOG"
expect_summary big-reject@example.com ' av=skipped:size action=reject '

mxp_av_policy itest.tempfail "max_scan_size = 64K  on_limits = tempfail"
mxp_reload_policy itest.tempfail
swaks_send --to alice@example.com --from big-tempfail@example.com --data "$ITEST_DIR/msg-100k" || true
assert_swaks_reply "452 4.3.4 Message too large or complex to scan now"
expect_summary big-tempfail@example.com ' av=skipped:size action=tempfail '
# Under the limit, tempfail mode changes nothing.
swaks_send --to alice@example.com --from small-2@example.com --data "$ITEST_DIR/msg-16k"
assert_swaks_reply 250
expect_summary small-2@example.com ' av=clean action=accept '
delivered=$(( delivered + 1 ))
sink_wait_count "$delivered" 30
itest_log "1: max_scan_size 64K, a $size100-byte message: tag/reject/tempfail as configured"

# --- 2. spool spill: spool_memory_max = 4K -----------------------------------
mxp_eicar >"$ITEST_DIR/eicar.com"
make_msg "$ITEST_DIR/msg-200k" 200
make_msg "$ITEST_DIR/msg-200k-eicar" 200 "$ITEST_DIR/eicar.com"
# EICAR must really be the last thing: no byte of it in the first 190 kB.
if head -c 194560 "$ITEST_DIR/msg-200k-eicar" | grep -qF 'EICAR-STANDARD'; then
    itest_fail "the test message has EICAR too early"
fi
mxp_av_policy itest.spool "spool_memory_max = 4K  on_limits = reject"
mxp_reload_policy itest.spool

swaks_send --to alice@example.com --from spool-clean@example.com --data "$ITEST_DIR/msg-200k"
assert_swaks_reply 250
expect_summary spool-clean@example.com ' av=clean action=accept '
delivered=$(( delivered + 1 ))
expect_status spool-clean@example.com Clean

swaks_send --to alice@example.com --from spool-eicar@example.com --data "$ITEST_DIR/msg-200k-eicar" || true
assert_swaks_reply "554 5.7.1 Virus found: $EICAR_NAME"
expect_summary spool-eicar@example.com " av=infected:${EICAR_NAME//./\\.} action=reject "

# 200 kB of text, then clam.zip as the last MIME part.
awk 'BEGIN { for (i = 1; i <= 3200; i++) printf "filler line %06d: the quick brown fox jumps over the dog\n", i }' \
    >"$ITEST_DIR/body-200k"
swaks_send --to alice@example.com --from spool-zip@example.com --body @"$ITEST_DIR/body-200k" \
    --attach-type application/zip --attach-name clam.zip --attach @"$SAMPLES/clam.zip" || true
assert_swaks_reply "554 5.7.1 Virus found: Mxparity.Test.File.clam_exe.UNOFFICIAL"
expect_summary spool-zip@example.com ' size=[0-9]{6} .* av=infected:Mxparity\.Test\.File\.clam_exe\.UNOFFICIAL action=reject '

# Without its spool dir, a message past spool_memory_max cannot be spooled:
# 451, av=error:spool -- proof that the file spool is what was used above.
rmdir "$ITEST_DIR/spool" || itest_fail "the spool dir is not empty: $(ls -A "$ITEST_DIR/spool")"
swaks_send --to alice@example.com --from spool-gone@example.com --data "$ITEST_DIR/msg-200k" || true
assert_swaks_reply "451 4.3.0"
expect_summary spool-gone@example.com ' av=error:spool action=tempfail '
mkdir "$ITEST_DIR/spool"
swaks_send --to alice@example.com --from spool-back@example.com --data "$ITEST_DIR/msg-200k"
assert_swaks_reply 250
expect_summary spool-back@example.com ' av=clean action=accept '
delivered=$(( delivered + 1 ))
sink_wait_count "$delivered" 30
itest_log "2: spool spill: 200 kB clean accepted, EICAR / clam.zip at the end rejected, no spool dir -> 451"

# --- 3. the recursion limit ---------------------------------------------------
# (still on_limits = reject from the spool policy)
swaks_send --to alice@example.com --from deep@example.com --attach-type application/x-gzip \
    --attach-name clam_cache_emax.tgz --attach @"$SAMPLES/clam_cache_emax.tgz" || true
assert_swaks_reply "552 5.3.4"
expect_summary deep@example.com ' av=skipped:MaxRecursion action=reject '

mxp_av_policy itest.deep-tag "on_limits = tag"
mxp_reload_policy itest.deep-tag
swaks_send --to alice@example.com --from deep-eicar@example.com \
    --attach-type application/x-gzip --attach-name clam_cache_emax.tgz --attach @"$SAMPLES/clam_cache_emax.tgz" \
    --attach-type application/octet-stream --attach-name eicar.com --attach @"$ITEST_DIR/eicar.com" || true
assert_swaks_reply "554 5.7.1 Virus found: $EICAR_NAME"
expect_summary deep-eicar@example.com " av=infected:${EICAR_NAME//./\\.} action=reject "

mxp_av_policy itest.deeper "max_recursion = 24"
mxp_reload_policy itest.deeper
swaks_send --to alice@example.com --from deeper@example.com --attach-type application/x-gzip \
    --attach-name clam_cache_emax.tgz --attach @"$SAMPLES/clam_cache_emax.tgz" || true
assert_swaks_reply "554 5.7.1 Virus found: Mxparity.Test.File.clam_exe.UNOFFICIAL"
expect_summary deeper@example.com ' av=infected:Mxparity\.Test\.File\.clam_exe\.UNOFFICIAL action=reject '
itest_log "3: recursion: beyond the limit -> on_limits; a virus next to it still found; max_recursion 24 finds clam.exe"

# --- 4. the defaults: unscanned mail is not delivered -------------------------------
itest_log "4: defaults: nested structures and a size miss are refused; on_size_limits = tag"
# nested multipart|rfc822 DEPTH OUT: EICAR (base64) at the bottom of DEPTH nested parts
nested() {
    python3 - "$1" "$2" "$3" "$(mxp_eicar)" <<'PY'
import sys, base64
kind, depth, out, eicar = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
# base64, so that only a scan of the innermost part, decoded, can find it
inner = ("Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
         + base64.b64encode(eicar.encode()).decode() + "\r\n")
for i in range(depth):
    if kind == "multipart":
        b = "b%d" % i
        inner = ("Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n--%s\r\n%s--%s--\r\n"
                 % (b, b, inner, b))
    else:
        inner = "Content-Type: message/rfc822\r\n\r\nSubject: level %d\r\n%s" % (i, inner)
with open(out, "w", newline="") as f:
    f.write("From: <nest@example.org>\r\nTo: <alice@example.com>\r\nSubject: nested\r\n"
            "MIME-Version: 1.0\r\n" + inner)
PY
}
nested multipart 20 "$ITEST_DIR/nested-multipart.eml"
nested rfc822 200 "$ITEST_DIR/nested-rfc822.eml"
itest_log "nested messages: $(wc -c <"$ITEST_DIR/nested-multipart.eml") and $(wc -c <"$ITEST_DIR/nested-rfc822.eml") bytes"
mxp_av_policy itest.defaults "max_scan_size = 64K"
mxp_reload_policy itest.defaults
for kind in multipart rfc822; do
    swaks_send --to alice@example.com --from "nest-$kind@example.com" \
        --data "@$ITEST_DIR/nested-$kind.eml" || true
    assert_swaks_reply "552 5.3.4"
    expect_summary "nest-$kind@example.com" ' av=skipped:MaxRecursion action=reject '
done
swaks_send --to alice@example.com --from big-default@example.com --data "@$ITEST_DIR/msg-100k" || true
assert_swaks_reply "552 5.3.4"
expect_summary big-default@example.com ' av=skipped:size action=reject '

mxp_av_policy itest.size-tag "max_scan_size = 64K  on_size_limits = tag"
mxp_reload_policy itest.size-tag
swaks_send --to alice@example.com --from big-size-tag@example.com --data "@$ITEST_DIR/msg-100k" || true
assert_swaks_reply 250
delivered=$((delivered + 1))
expect_summary big-size-tag@example.com ' av=skipped:size action=tag '
expect_status big-size-tag@example.com 'Unscanned (limits)'
for kind in multipart rfc822; do
    swaks_send --to alice@example.com --from "nest2-$kind@example.com" \
        --data "@$ITEST_DIR/nested-$kind.eml" || true
    assert_swaks_reply "552 5.3.4"
    expect_summary "nest2-$kind@example.com" ' av=skipped:MaxRecursion action=reject '
done

# --- 5. limits libclamav enforces without an alert -----------------------------------
itest_log "5: zip members cut short by libclamav without an alert"
python3 - "$ITEST_DIR" "$(mxp_eicar)" <<'PY'
import io, struct, sys, zipfile
from email.message import EmailMessage
out, eicar = sys.argv[1], sys.argv[2].encode()
def eml(name, data):
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = "<zip@example.org>", "<alice@example.com>", name
    m.set_content("see the attachment")
    m.add_attachment(data, maintype="application", subtype="zip", filename=name + ".zip")
    with open("%s/%s.eml" % (out, name), "wb") as f:
        f.write(bytes(m).replace(b"\n", b"\r\n"))
def zipped(method, members):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", method) as z:
        for n, data in members:
            z.writestr(n, data)
    return b.getvalue()
big = b"\0" * (30 << 20) + eicar
eml("zip-deflate", zipped(zipfile.ZIP_DEFLATED, [("a.bin", big)]))
d = bytearray(zipped(zipfile.ZIP_BZIP2, [("a.bin", big)]))
eml("zip-bzip2", bytes(d))
struct.pack_into("<I", d, d.find(b"PK\x03\x04") + 22, 100)
struct.pack_into("<I", d, d.find(b"PK\x01\x02") + 24, 100)
eml("zip-lying", bytes(d))
part = b"\0" * (900 << 10)
eml("zip-budget", zipped(zipfile.ZIP_DEFLATED, [("1.bin", part), ("2.bin", part), ("3.bin", part)]))
eml("zip-budget-eicar", zipped(zipfile.ZIP_DEFLATED,
                               [("1.bin", part), ("2.bin", part), ("3.bin", part + eicar)]))
PY
mxp_av_policy itest.silent ""
mxp_reload_policy itest.silent
for z in zip-deflate zip-bzip2 zip-lying; do
    itest_log "$z: $(wc -c <"$ITEST_DIR/$z.eml") bytes"
    swaks_send --to alice@example.com --from "$z@example.com" --data "@$ITEST_DIR/$z.eml" || true
    assert_swaks_reply "552 5.3.4"
    expect_summary "$z@example.com" ' av=skipped:MaxFileSize action=reject '
done
mxp_av_policy itest.budget "max_file_size = 1M  max_decoded_size = 2M"
mxp_reload_policy itest.budget
swaks_send --to alice@example.com --from zip-budget@example.com --data "@$ITEST_DIR/zip-budget.eml" || true
assert_swaks_reply "552 5.3.4"
expect_summary zip-budget@example.com ' av=skipped:MaxScanSize action=reject '
# A virus found outranks a limit hit in the same message.
swaks_send --to alice@example.com --from zip-budget-eicar@example.com \
    --data "@$ITEST_DIR/zip-budget-eicar.eml" || true
assert_swaks_reply "554 5.7.1 Virus found: $EICAR_NAME"
assert_no_grep 'from=<zip-[a-z]+@example\.com> .* av=clean ' "$MXP_LOG"

# --- the end --------------------------------------------------------------------
sleep 1
[ "$(sink_count)" -eq "$delivered" ] || itest_fail "the sink holds $(sink_count) messages, want $delivered"
mxp_assert_healthy
left=$(find "$ITEST_DIR/spool" -mindepth 1 | head -n 5)
[ -z "$left" ] || itest_fail "files left in the spool dir: $left"
itest_pass
