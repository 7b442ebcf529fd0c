#!/bin/bash
# SPDX-License-Identifier: MIT
# The journal catalog has exactly one well-formed entry per event of
# EVENTS (Subject, Defined-By: tvtokend, Support: a URL, a body), and journalctl
# reads it back unchanged: "journalctl --update-catalog" on a scratch root
# holding only our catalog, then --list-catalog and --dump-catalog. Never
# touches the host's catalog database.
#
# usage: test-catalog.sh EVENTS CATALOG
set -euo pipefail
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

[ $# -eq 2 ] || { echo "usage: $0 EVENTS CATALOG" >&2; exit 2; }
events=$1
catalog=$2
need journalctl timeout
make_tmp

mapfile -t want < <(awk '!/^#/ && NF { print $2 }' "$events")
[ "${#want[@]}" -gt 0 ] || fail "no events in $events"

# Lint: entry lines, headers, bodies, and no comment inside an entry (journalctl
# would drop it silently). Prints the ids in file order.
awk -v file="${catalog##*/}" '
function bad(msg) { printf "FAIL: %s:%d: %s\n", file, FNR, msg > "/dev/stderr"; failed = 1 }
function done_entry() {
	if (id == "")
		return
	if (!subject) bad("entry " id " has no Subject:")
	if (!definedby) bad("entry " id " is not Defined-By: tvtokend")
	if (!support) bad("entry " id " has no Support: URL (https://...)")
	if (!body) bad("entry " id " has no body")
}
/^--/ {
	done_entry()
	if ($0 !~ /^-- [0-9a-f]+$/ || length($0) != 35) { bad("bad entry line: " $0); id = ""; next }
	id = substr($0, 4)
	if (id in seen) bad("entry " id " appears twice")
	seen[id] = 1
	print id
	inheader = 1; subject = definedby = support = body = 0
	next
}
/^[#;]/ { if (id != "") bad("comment inside entry " id); next }
id == "" { if (NF) bad("text before the first entry"); next }
inheader && /^$/ { inheader = 0; next }
inheader {
	if ($0 !~ /^[A-Za-z-]+: ./) bad("bad header line in entry " id ": " $0)
	if ($0 ~ /^Subject: ./) subject = 1
	if ($0 == "Defined-By: tvtokend") definedby = 1
	if ($0 ~ /^Support: https?:\/\/[^ ]+$/) support = 1
	next
}
NF { body = 1 }
END { done_entry(); exit failed }
' "$catalog" >"$tmp/ids" || fail "${catalog##*/} is malformed"

diff -u <(printf '%s\n' "${want[@]}" | sort) <(sort "$tmp/ids") ||
	fail "the catalog's entries are not exactly the events of ${events##*/}"

root=$tmp/root
mkdir -p "$root/usr/lib/systemd/catalog"
cp -- "$catalog" "$root/usr/lib/systemd/catalog/tvtokend.catalog"
timeout 60 journalctl --root="$root" --update-catalog
[ -s "$root/var/lib/systemd/catalog/database" ] || fail "journalctl wrote no database"

timeout 60 journalctl --root="$root" --list-catalog >"$tmp/list"
[ "$(wc -l <"$tmp/list")" -eq "${#want[@]}" ] || { cat "$tmp/list"; fail "journalctl lists other entries"; }
for id in "${want[@]}"; do
	grep -q "^$id tvtokend: " "$tmp/list" || fail "journalctl does not list $id as tvtokend's"

	# The entry as written, runs of blank lines squeezed as journalctl does.
	awk -v id="$id" '
		/^-- / { on = ($0 == "-- " id) }
		on && !/^[#;]/ { print }
	' "$catalog" | cat -s | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' >"$tmp/want"
	timeout 60 journalctl --root="$root" --dump-catalog "$id" |
		sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' >"$tmp/got"
	diff -u "$tmp/want" "$tmp/got" || fail "journalctl reads entry $id differently"
done
echo "ok: ${#want[@]} catalog entries, read back by journalctl"
