#!/bin/bash
# SPDX-License-Identifier: MIT
# The bash completion of tvtokenctl (completions/tvtokenctl.bash), sourced in
# bash and driven as readline drives it (COMP_WORDS, COMP_CWORD): commands,
# options, --format values, --instance NAMEs from the sockets under the run
# directory, exec's command line; every command and long option of
# "tvtokenctl --help" is offered. Again with bash-completion loaded, when it
# is installed, for exec's delegation to the command's own completion.
# Usage: test-completion.sh COMPLETION TVTOKENCTL
set -u
comp=$1
ctl=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0

fail() {
	echo "FAIL: $*" >&2
	failed=1
}

# Complete the words given, the last one being under the cursor; prints the
# candidates sorted, one line.
complete_words() {
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	COMP_LINE="$*"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	_tvtokenctl tvtokenctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
	printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}

# Expect completing the words (after "--") to give exactly WANT.
expect() {
	local want=$1 got

	shift
	got=$(complete_words tvtokenctl "$@")
	[ "$got" = "$want" ] || fail "tvtokenctl $* → [$got], expected [$want]"
}

# Expect the candidates for the words to include WANT.
expect_has() {
	local want=$1 got

	shift
	got=$(complete_words tvtokenctl "$@")
	[[ " $got " == *" $want "* ]] || fail "tvtokenctl $* → [$got], lacks [$want]"
}

# Two instances with a socket, one directory without.
run=$tmp/run
mkdir -p "$run/live" "$run/paper" "$run/stale"
for name in live paper; do
	/usr/bin/python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' \
		"$run/$name/io.tvtokend.Broker" || fail "cannot make a socket"
done
touch "$tmp/sockfile"

run_checks() {
	expect "exec is-valid rejected status token watch" ''
	expect "is-valid" is
	expect "rejected" r
	expect_has "--instance" --
	expect_has "--format=" --
	expect_has "--version" --
	expect_has "--min-remaining=" status --
	expect "--format=" status --fo
	expect "json prometheus text" --format = ''
	expect "prometheus" status --format = pr
	expect "prometheus" --format pr
	expect "live paper" --instance ''
	expect "paper" --instance = p
	expect "paper" token --instance pa
	expect "TRADOVATE_ACCESS_TOKEN TRADOVATE_MD_ACCESS_TOKEN" exec --env ''
	expect "$tmp/sockfile" --socket "$tmp/so"
	expect_has "--json" --socket "$tmp/sockfile" status -
	expect_has "--md" --wait = 30 token --
	expect_has "ls" exec -- ls
	expect_has "ls" exec --env X ls
	expect_has "ls" --wait = 5 exec ls
	(
		COMP_WORDBREAKS=${COMP_WORDBREAKS//=/}
		expect "--format=prometheus" status --format=pr
		expect "--instance=live" --instance=l
	) || failed=1
}

. "$comp"
complete -p tvtokenctl | grep -q -- '-F _tvtokenctl' || fail "no completion registered: $(complete -p tvtokenctl)"
# shellcheck disable=SC2034
_tvtokenctl_rundir=$run
run_checks
# Without bash-completion, exec's arguments complete as files.
expect "$tmp/sockfile" exec -- cat "$tmp/so"

# Every command and long option the help lists is offered.
help=$("$ctl" --help)
for c in $(sed -n '/^Commands:/,/^$/p' <<<"$help" | awk '/^  [a-z]/ { print $1 }'); do
	expect_has "$c" ''
done
for o in $(grep -oE -- '--[a-z][a-z-]*' <<<"$help" | sort -u); do
	got=$(complete_words tvtokenctl "$o")
	[[ " $got " == *" $o "* || " $got " == *" $o= "* ]] || fail "--help's $o is not offered: [$got]"
done

# With bash-completion: exec's command line completes as that command would.
bc=/usr/share/bash-completion/bash_completion
if [ -r "$bc" ]; then
	# shellcheck disable=SC1090
	. "$bc"
	. "$comp"
	_tvtokenctl_rundir=$run
	run_checks
	expect "status" exec -- tvtokenctl sta
	expect "live paper" exec -- tvtokenctl --instance ''
	echo "ok: again with bash-completion"
fi

[ "$failed" -eq 0 ] && echo "ok: tvtokenctl's bash completion"
exit "$failed"
