#!/bin/sh
# make-testdb.sh DIR [TESTFILES_DIR] - a small ClamAV database for tests and
# for `./bootstrap run` on a machine without real signatures:
#   mxparity-test.ndb  the EICAR test string as a body signature (also the
#                      marker by which the av module says "test signatures only")
#   mxparity-test.hdb  MD5 signatures of clam.exe and of every file in
#                      Debian's clamav-testfiles, when that directory exists
# Nothing is downloaded.
set -eu
dir=$1
testfiles=${2:-/usr/share/clamav-testfiles}
mkdir -p "$dir"
tmp=$dir/.new.$$
rm -rf "$tmp"
mkdir "$tmp"
trap 'rm -rf "$tmp"' EXIT

# The EICAR string, written in hex so this file is not itself "infected".
eicar_hex=58354f2150254041505b345c505a58353428505e2937434329377d2445494341522d5354414e444152442d414e544956495255532d544553542d46494c452124482b482a
printf 'Mxparity.Test.EICAR:0:*:%s\n' "$eicar_hex" >"$tmp/mxparity-test.ndb"

: >"$tmp/mxparity-test.hdb"
if [ -d "$testfiles" ]; then
	for f in "$testfiles"/*; do
		[ -f "$f" ] || continue
		sum=$(md5sum "$f" | cut -d' ' -f1)
		size=$(wc -c <"$f" | tr -d ' ')
		name=$(basename "$f" | tr -c 'A-Za-z0-9\n' '_')
		printf '%s:%s:Mxparity.Test.File.%s\n' "$sum" "$size" "$name" >>"$tmp/mxparity-test.hdb"
	done
fi
[ -s "$tmp/mxparity-test.hdb" ] || rm -f "$tmp/mxparity-test.hdb"
# Replace the old database in one step: the daemon's watcher sees one change.
for f in "$tmp"/*; do mv -f "$f" "$dir/"; done
