# SPDX-License-Identifier: MIT
# What the shell benchmarks share (sourced, not run): a scratch directory
# and the processes started, stopped and removed at exit; the mock
# Tradovate; a config for tvtokend against it.
#
#   bench_begin NAME      T=scratch dir, PIDS=(), cleanup at exit
#   bench_mock BUILD      start BUILD's mock-tradovate, wait for its port
#   bench_config          write $T/tvtokend.conf (socket $T/sock, no state file)

bench_begin()
{
	T=$(mktemp -d "${TMPDIR:-/tmp}/tvtokend-$1.XXXXXX") || exit 1
	BENCH_NAME=$1
	PIDS=()
	trap bench_cleanup EXIT
}

bench_cleanup()
{
	local p

	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do timeout 10 tail --pid="$p" -f /dev/null 2>/dev/null || kill -KILL "$p" 2>/dev/null; done
	rm -rf "$T"
}

bench_mock()
{
	"$1/tests/mock/mock-tradovate" --port-file "$T/port" >"$T/mock.out" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 100); do [ -s "$T/port" ] && return 0; sleep 0.05; done
	echo "$BENCH_NAME: the mock did not start" >&2
	exit 1
}

bench_config()
{
	(umask 077; printf 'demo-password\n' >"$T/password"; printf 'demo-secret\n' >"$T/secret")
	cat >"$T/tvtokend.conf" <<EOF
[Tradovate]
BaseURL=http://127.0.0.1:$(cat "$T/port")/v1
Name=demo
AppId=tvtokend-demo
ClientId=8
PasswordFile=$T/password
SecretFile=$T/secret
[Token]
StateFile=
[Server]
Socket=$T/sock
EOF
}
