# SPDX-License-Identifier: MIT
# The zsh completion of tvtokenctl (completions/_tvtokenctl), loaded by
# compinit in an interactive zsh on a pseudo-terminal (zsh/zpty): a line is
# typed, then TAB; every match the completion offers is logged by a compadd
# wrapper and checked; every command and long option of tvtokenctl --help is
# offered. Usage: zsh -f test-completion-zsh.zsh COMPLETION TVTOKENCTL
zmodload zsh/zpty || exit 1
comp=${1:a}
ctl=$2
tmp=$(mktemp -d) || exit 1
log=$tmp/matches
failed=0
trap 'zpty -d z 2>/dev/null; rm -rf $tmp' EXIT

# Two instances with a socket, one directory without.
mkdir -p $tmp/run/{live,paper,stale} $tmp/comp
for name in live paper; do
  /usr/bin/python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' \
    $tmp/run/$name/io.tvtokend.Broker || exit 1
done
cp $comp $tmp/comp/_tvtokenctl

zpty z zsh -f -i
zpty -w z "PS1='' PS2='' RPS1=''; unsetopt beep; fpath=($tmp/comp \$fpath); _tvtokenctl_rundir=$tmp/run"
zpty -w z "autoload -Uz compinit; compinit -u -D -d $tmp/zcompdump"
zpty -w z "compadd() { local -a __m; builtin compadd -O __m \"\$@\"; print -rl -- \$__m >>$log; builtin compadd \"\$@\" }"
zpty -w z "zstyle ':completion:*' menu no; LISTMAX=100000"
zpty -w z "echo READY"
zpty -r z answer '*READY*' || { print -u2 "zsh did not start"; exit 1 }

n=0
# Type LINE and TAB; the matches offered end up in $log, one per line.
complete_line() {
  n=$((n + 1))
  : >$log
  zpty -w -n z "$1"$'\t'
  zpty -w z $'\C-e\C-u'"echo DONE-$n"
  zpty -r z answer "*DONE-$n*" || { print -u2 "no answer to: $1"; failed=1 }
}

# Expect the matches for LINE to include every WORD given after it. A pty
# on a loaded machine can lose a keystroke, so a miss is retried twice.
expect_has() {
  local line=$1 w try missing
  shift
  for try in 1 2 3; do
    complete_line "$line"
    missing=()
    for w in "$@"; do
      grep -qxF -- "$w" $log || missing+=("$w")
    done
    (( ${#missing} )) || return 0
  done
  print -u2 "FAIL: [$line<TAB>] lacks [${missing[*]}]: $(tr '\n' ' ' <$log)"
  failed=1
}

# Expect the matches for LINE to lack WORD.
expect_lacks() {
  complete_line "$1"
  if grep -qxF -- "$2" $log; then
    print -u2 "FAIL: [$1<TAB>] offers [$2]"
    failed=1
  fi
}

expect_has 'tvtokenctl ' token watch status rejected is-valid exec
expect_has 'tvtokenctl -' --socket --instance --json --format --md --wait --min-remaining --env --help --version
expect_has 'tvtokenctl --format=' text json prometheus
expect_has 'tvtokenctl status --format ' text json prometheus
expect_has 'tvtokenctl --instance ' live paper
expect_lacks 'tvtokenctl --instance ' stale
expect_has 'tvtokenctl token --instance=' live paper
expect_has "tvtokenctl --socket=$tmp/run/li" live
expect_has 'tvtokenctl status --' --format --json
expect_has 'tvtokenctl exec --env ' TRADOVATE_ACCESS_TOKEN TRADOVATE_MD_ACCESS_TOKEN
expect_has 'tvtokenctl exec -- l' ls
expect_has 'tvtokenctl --wait=5 exec l' ls
expect_has 'tvtokenctl exec -- tvtokenctl sta' status

help=$($ctl --help) || exit 1
expect_has 'tvtokenctl ' $(sed -n '/^Commands:/,/^$/p' <<<$help | awk '/^  [a-z]/ { print $1 }')
expect_has 'tvtokenctl -' $(grep -oE -- '--[a-z][a-z-]*' <<<$help | sort -u)

(( failed )) || print "ok: tvtokenctl's zsh completion ($n lines)"
exit $failed
