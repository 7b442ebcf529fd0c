#!/bin/bash
# SPDX-License-Identifier: MIT
# The man pages (man/*.scd, built by scdoc into the build directory): each
# renders without a warning (groff -ww, man -l), and they document what the
# sources define, so that a new key, function, command, option or event
# cannot land undocumented:
#  - tvtokend.conf(5): every key of daemon/config.c's key table, in the
#    section of the page named after the key's section;
#  - libtvtoken(3): every function of lib/tvtoken.h, every TVTOKEN_E_ code,
#    a link for every function (man/meson.build), and an example that compiles;
#  - tvtokenctl(1): every command and long option of tvtokenctl --help;
#  - tvtokend(8): every option of tvtokend --help, every event and
#    MESSAGE_ID of the journal catalog;
#  - no example in a page puts the token in a command line.
# Usage: test-man.sh SOURCE_ROOT MAN_BUILD_DIR TVTOKENCTL TVTOKEND CC [CC-ARGS...]
set -u
src=$1
built=$2
ctl=$3
daemon=$4
shift 4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0

fail() {
	echo "FAIL: $*" >&2
	failed=1
}

ok() {
	echo "ok: $*"
}

command -v groff >/dev/null || { echo "groff is missing (apt-get install groff-base)" >&2; exit 1; }
command -v man >/dev/null || { echo "man is missing (apt-get install man-db)" >&2; exit 1; }

pages="tvtokenctl.1 tvtokend.8 tvtokend.conf.5 libtvtoken.3"

# 1. Every page renders without a warning, and has its NAME.
for page in $pages; do
	f=$built/$page
	[ -s "$f" ] || { fail "$page was not built"; continue; }
	out=$(groff -man -ww -z -k "$f" 2>&1)
	[ -z "$out" ] || fail "groff warns about $page: $out"
	MANWIDTH=80 man -l "$f" >"$tmp/$page.txt" 2>"$tmp/$page.err"
	[ ! -s "$tmp/$page.err" ] || fail "man -l warns about $page: $(cat "$tmp/$page.err")"
	grep -q '^NAME' "$tmp/$page.txt" || fail "$page has no NAME section"
	grep -q '^SEE ALSO' "$tmp/$page.txt" || fail "$page has no SEE ALSO section"
	grep -q 'https://github.com/tvtokend/tvtokend' "$tmp/$page.txt" || fail "$page lacks the project URL"
done
ok "the pages render without warnings"

# 2. tvtokend.conf(5) documents every key of the config parser, in its section.
grep -oE 'KEY\("[A-Za-z]+", *"[A-Za-z]+"' "$src/daemon/config.c" |
	sed -E 's/KEY\("([A-Za-z]+)", *"([A-Za-z]+)"/\1 \2/' | sort -u >"$tmp/keys"
[ "$(wc -l <"$tmp/keys")" -ge 20 ] || fail "found only $(wc -l <"$tmp/keys") keys in daemon/config.c: has its key table changed shape?"
awk '/^# \[[A-Za-z]+\] SECTION$/ { sec = substr($2, 2, length($2) - 2); next }
	/^# / { sec = ""; next }
	sec != "" { while (match($0, /\*[A-Za-z]+=\*/)) { print sec, substr($0, RSTART + 1, RLENGTH - 3); $0 = substr($0, RSTART + RLENGTH) } }' \
	"$src/man/tvtokend.conf.5.scd" | sort -u >"$tmp/documented"
while read -r sec key; do
	grep -qxF "$sec $key" "$tmp/documented" || fail "tvtokend.conf(5) does not document $key= in [$sec]"
done <"$tmp/keys"
ok "tvtokend.conf(5) documents the $(wc -l <"$tmp/keys") keys of daemon/config.c"

# 3. libtvtoken(3): every function, error code and link; the example compiles.
"$@" -E -P -x c "$src/lib/tvtoken.h" | grep -oE '\btvtoken_[a-z0-9_]+[[:space:]]*\(' |
	sed -E 's/[[:space:]]*\($//' | sort -u >"$tmp/functions"
[ -s "$tmp/functions" ] || fail "no functions found in lib/tvtoken.h"
while read -r fn; do
	grep -qF "*$fn*()" "$src/man/libtvtoken.3.scd" || fail "libtvtoken(3) does not describe $fn()"
	sed -n '/^# NAME/,/^# SYNOPSIS/p' "$src/man/libtvtoken.3.scd" | grep -qw "$fn" ||
		fail "libtvtoken(3)'s NAME lacks $fn"
	grep -qF "'$fn'" "$src/man/meson.build" || fail "man/meson.build installs no $fn.3 link"
done <"$tmp/functions"
for code in $(grep -oE '#define TVTOKEN_E_[A-Z]+' "$src/lib/tvtoken.h" | cut -d' ' -f2); do
	grep -qF "*$code*" "$src/man/libtvtoken.3.scd" || fail "libtvtoken(3) does not explain $code"
done
sed -n '/^EXAMPLE/,/^[A-Z]/p' "$tmp/libtvtoken.3.txt" | sed -E -n '/^ +#include/,/^ {11}\}$/p' |
	sed -E 's/^ {11}//' >"$tmp/example.c"
grep -q 'tvtoken_get' "$tmp/example.c" || fail "no example found in libtvtoken(3)"
"$@" -Wall -Wextra -Werror -fsyntax-only -I"$src/lib" "$tmp/example.c" ||
	fail "the example of libtvtoken(3) does not compile"
ok "libtvtoken(3) documents the $(wc -l <"$tmp/functions") functions of tvtoken.h; its example compiles"

# 4. tvtokenctl(1): every command and long option of --help.
help=$("$ctl" --help)
for c in $(sed -n '/^Commands:/,/^$/p' <<<"$help" | awk '/^  [a-z]/ { print $1 }'); do
	grep -qF "*$c*" "$src/man/tvtokenctl.1.scd" || fail "tvtokenctl(1) does not describe the command $c"
done
for o in $(grep -oE -- '--[a-z][a-z-]*' <<<"$help" | sort -u); do
	grep -qE -- "^\*$o\*|, \*$o\*" "$src/man/tvtokenctl.1.scd" || fail "tvtokenctl(1) does not describe $o"
done
ok "tvtokenctl(1) describes every command and option of --help"

# 5. tvtokend(8): every option of --help, every event and MESSAGE_ID of the catalog.
for o in $("$daemon" --help | grep -oE -- '--[a-z][a-z-]*' | sort -u); do
	grep -qE -- "^\*$o(\*|=)" "$src/man/tvtokend.8.scd" || fail "tvtokend(8) does not describe $o"
done
n=0
for id in $(sed -n 's/^-- \([0-9a-f]\{32\}\)$/\1/p' "$src/systemd/tvtokend.catalog"); do
	n=$((n + 1))
	grep -qF "MESSAGE_ID=$id" "$src/man/tvtokend.8.scd" || fail "tvtokend(8) lacks MESSAGE_ID=$id"
done
[ "$n" -ge 11 ] || fail "found only $n catalog entries"
for ev in $(awk '!/^#/ && NF == 3 { print $1 }' "$src/tests/systemd/events.txt"); do
	grep -qE "^\*$ev\* \(" "$src/man/tvtokend.8.scd" || fail "tvtokend(8) lacks the event $ev"
done
ok "tvtokend(8) describes every option and the $n journal events"

# 6. Every man page the units name in Documentation= is one of ours, and every unit names some.
for unit in "$src"/systemd/*.service.in "$src"/systemd/*.socket; do
	refs=$(sed -n 's/^Documentation=//p' "$unit" | tr ' ' '\n' | sed -n 's/^man:\(.*\)(\([0-9]\))$/\1.\2/p')
	grep -q 'tvtokend\.8' <<<"$refs" || fail "${unit##*/} does not name man:tvtokend(8) in Documentation="
	for ref in $refs; do
		[ -s "$built/$ref" ] || fail "${unit##*/} names a man page we do not build: $ref"
	done
done
ok "the units' Documentation= names our pages"

# 7. No example puts the token in a command line.
for page in $pages; do
	awk '/^```/ { code = !code; next } code' "$src/man/$page.scd" >"$tmp/code"
	if grep -nE '\$\(tvtokenctl[^)]*token|Bearer \$' "$tmp/code"; then
		fail "an example in $page puts the token in a command line"
	fi
done
ok "no example puts the token in a command line"

exit "$failed"
