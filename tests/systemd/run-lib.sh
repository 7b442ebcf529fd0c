# SPDX-License-Identifier: MIT
# Helpers for the runtime tests (test-run-*.sh); sourced, not run.
#
# The scripts are called as  test-run-X.sh NOTIFY_LISTENER EVENTS CATALOG
# with the integration environment (TVTOKEND, TVTOKENCTL, MOCK, VLCALL,
# IT_LIB); this file takes the arguments and sources the integration helpers
# (mock_start, write_config, daemon_start, ctl, fail, ...).

if [ $# -ne 3 ]; then
	echo "usage: ${0##*/} NOTIFY_LISTENER EVENTS CATALOG" >&2
	exit 2
fi
NOTIFY_LISTENER=$(realpath -- "$1")
EVENTS=$2
CATALOG=$3
. "$IT_LIB"

# Exit 77 (meson: skipped) unless every program named is installed.
run_need()
{
	local p

	for p; do
		if ! command -v "$p" >/dev/null 2>&1; then
			printf 'SKIP: %s is not installed\n' "$p"
			exit 77
		fi
	done
}

# CLOCK_MONOTONIC now, in microseconds.
mono_now()
{
	"$NOTIFY_LISTENER" --now
}

# Listen on the datagram socket $1, printing what arrives to $2 (see notify-listener.c).
listener_start()
{
	local path=$1 out=$2

	"$NOTIFY_LISTENER" "$path" >"$out" 2>"$out.err" &
	PIDS+=("$!")
	wait_until 5 '[ -S "$path" ]' || fail "notify-listener did not bind $path: $(cat "$out.err")"
}

# Wait at most SECONDS for process PID (a child of this shell) to exit; sets REPLY to its status.
wait_exit()
{
	local pid=$1 secs=$2

	timeout "$secs" tail --pid="$pid" -f /dev/null 2>/dev/null || return 1
	REPLY=0
	wait "$pid" 2>/dev/null || REPLY=$?
}

# Whether something accepts connections on the AF_UNIX stream socket $1.
unix_connectable()
{
	"$VLCALL" --timeout 2 "$1" '{"method":"org.varlink.service.GetInfo"}' >/dev/null 2>&1
}
