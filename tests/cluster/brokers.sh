# SPDX-License-Identifier: MIT
# Helpers of the three-broker tests: a real 3-member etcd (etcd.sh), the
# mock Tradovate, and three real tvtokend processes b1..b3 with their own
# config, socket and state file under the test's scratch directory.
# Sourced, not run. Every process started here is killed at exit; every
# wait is bounded.
#
# The runner passes: $1 tvtokend, $2 tvtokenctl, $3 mock-tradovate,
# $4 varlink-call, $5 token-poll (then, for some, $6 README.md, $7 notify-listener).
# With B_NOTIFY=1, each broker gets a $NOTIFY_SOCKET of its own, read by
# notify-listener into $T/b$i.notify.log.

set -u

CL_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$CL_DIR/etcd.sh"

TVTOKEND=$1
TVTOKENCTL=$2
MOCK=$3
VLCALL=$4
POLL=$5
NOTIFY_LISTENER=${7:-}

T=$(mktemp -d "${TMPDIR:-/tmp}/tvtokend-brokers.XXXXXX")
B_PIDS=()
BG_PIDS=()
MOCK_PID=
: "${LEASE_SEC:=3}"
ELECTION="tvtokend/test-$$"

# Kill the brokers, the mock, the background clients and etcd; remove the scratch directory.
b_cleanup()
{
	local p

	for p in "${B_PIDS[@]}" "${BG_PIDS[@]}" $MOCK_PID; do
		[ -n "$p" ] && kill -CONT "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
	done
	etcd_cleanup
	if [ -n "${KEEP_TMP:-}" ]; then
		echo "kept $T" >&2
	else
		rm -rf "$T"
	fi
}
trap b_cleanup EXIT

# Fail the test, showing the end of every log.
fail()
{
	local f

	printf 'FAIL: %s\n' "$*" >&2
	for f in "$T"/b?.log "$T/mock.log"; do
		[ -f "$f" ] || continue
		echo "--- ${f##*/} (last 30 lines)" >&2
		tail -n 30 "$f" >&2
	done
	exit 1
}

ok()
{
	printf 'ok: %s\n' "$*"
}

assert_eq()
{
	[ "$1" = "$2" ] || fail "$3: expected [$2], got [$1]"
}

# Poll an eval'ed condition every 100 ms for at most $1 seconds.
wait_until()
{
	local secs=$1 end

	shift
	end=$(( $(date +%s%N) + secs * 1000000000 ))
	until eval "$@"; do
		[ "$(date +%s%N)" -lt "$end" ] || return 1
		sleep 0.1
	done
}

now_ms()
{
	date +%s%3N
}

# ---- the mock ----

# Start the mock (extra arguments go to it). Sets MOCK_URL.
mock_start()
{
	rm -f "$T/mock.port"
	"$MOCK" --port-file "$T/mock.port" --log "$T/mock.log" "$@" >"$T/mock.out" 2>&1 &
	MOCK_PID=$!
	disown "$MOCK_PID" 2>/dev/null || true
	wait_until 10 '[ -s "$T/mock.port" ]' || fail "the mock did not start: $(cat "$T/mock.out")"
	MOCK_URL=http://127.0.0.1:$(cat "$T/mock.port")/v1
}

# Queue outcomes in the mock, one per argument.
mock_script()
{
	curl -sf --max-time 5 --data-binary "$(printf '%s\n' "$@")" "${MOCK_URL%/v1}/_mock/script" \
		>/dev/null || fail "cannot script the mock: $*"
}

# The mock's requests, "ENDPOINT OUTCOME STATUS", one per line.
mock_requests()
{
	cut -d' ' -f2-4 "$T/mock.log" 2>/dev/null
}

# How many requests of ENDPOINT (request|renew) the mock saw.
mock_count()
{
	mock_requests | awk -v e="$1" '$1 == e' | wc -l
}

# The times (ms) of the mock's requests of ENDPOINT, one per line.
mock_times()
{
	awk -v e="$1" '$2 == e { split($1, t, "."); printf "%d%03d\n", t[1], substr(t[2] "000", 1, 3) }' \
		"$T/mock.log" 2>/dev/null
}

# ---- the brokers ----

# Write broker $1's config; further arguments are extra lines (sections may repeat; @I@: $1).
b_config()
{
	local i=$1

	shift
	if [ ! -f "$T/password" ]; then
		(umask 077; printf 'demo-password\n' >"$T/password"; printf 'demo-secret\n' >"$T/secret")
	fi
	{
		echo "[Tradovate]"
		echo "BaseURL=$MOCK_URL"
		echo "Name=demo"
		echo "AppId=tvtokend-demo"
		echo "ClientId=8"
		echo "PasswordFile=$T/password"
		echo "SecretFile=$T/secret"
		echo "RequestTimeoutSec=2s"
		echo "[Token]"
		echo "StateFile=$T/b$i.state"
		echo "[Server]"
		echo "Socket=$T/b$i.sock"
		echo "[Cluster]"
		echo "Etcd=$ETCD_ENDPOINTS"
		[ -z "$ELECTION" ] || echo "Election=$ELECTION"
		echo "Member=b$i"
		echo "LeaseSec=${LEASE_SEC}s"
		# "@I@" in a line stands for this broker's number.
		printf '%s\n' "$@" | sed "s/@I@/$i/g"
	} >"$T/b$i.conf"
}

# Start broker $1 on its config (written with defaults when missing); waits until it serves.
b_start()
{
	local i=$1

	[ -f "$T/b$i.conf" ] || b_config "$i"
	if [ -n "${B_NOTIFY:-}" ]; then
		"$NOTIFY_LISTENER" "$T/b$i.notify" >>"$T/b$i.notify.log" 2>&1 &
		BG_PIDS+=("$!")
		disown "$!" 2>/dev/null || true
		wait_until 10 "[ -S '$T/b$i.notify' ]" || fail "notify-listener did not start"
		NOTIFY_SOCKET=$T/b$i.notify "$TVTOKEND" --config "$T/b$i.conf" --log=stderr \
			>>"$T/b$i.log" 2>&1 &
	else
		"$TVTOKEND" --config "$T/b$i.conf" --log=stderr >>"$T/b$i.log" 2>&1 &
	fi
	B_PIDS[$i]=$!
	wait_until 20 "[ -S '$T/b$i.sock' ] && b_vl $i '{\"method\":\"org.varlink.service.GetInfo\"}' >/dev/null 2>&1" ||
		fail "broker b$i did not start serving"
}

# SIGTERM broker $1 and check that it exits 0 within $2 seconds (default 10).
b_stop()
{
	local i=$1 rc=0

	kill -TERM "${B_PIDS[$i]}"
	timeout "${2:-10}" tail --pid="${B_PIDS[$i]}" -f /dev/null || fail "b$i did not stop on SIGTERM"
	wait "${B_PIDS[$i]}" 2>/dev/null || rc=$?
	assert_eq "$rc" 0 "b$i's exit status after SIGTERM"
	B_PIDS[$i]=
}

# kill -9 broker $1.
b_kill()
{
	kill -KILL "${B_PIDS[$1]}"
	timeout 10 tail --pid="${B_PIDS[$1]}" -f /dev/null
	wait "${B_PIDS[$1]}" 2>/dev/null
	B_PIDS[$1]=
}

# One Varlink call to broker $1; prints the reply.
b_vl()
{
	local i=$1

	shift
	"$VLCALL" --timeout "${VL_TIMEOUT:-5}" "$T/b$i.sock" "$@"
}

# tvtokenctl on broker $1.
b_ctl()
{
	local i=$1

	shift
	"$TVTOKENCTL" --socket "$T/b$i.sock" "$@"
}

# GetStatus of broker $1 (the parameters object), or nothing.
b_status()
{
	b_ctl "$1" --json status 2>/dev/null
}

# GetStatus field $2 of broker $1 (jq -r), or nothing.
b_field()
{
	b_status "$1" | jq -r ".$2" 2>/dev/null
}

# "GENERATION EXPIRATION SHA" of the token broker $1 serves now, or nothing; no token is printed.
b_token()
{
	b_ctl "$1" --json token 2>/dev/null |
		jq -r '"\(.generation) \(.expirationTime) \(.accessToken | @base64)"' 2>/dev/null |
		awk '{ cmd = "printf %s " $3 " | sha256sum"; cmd | getline s; close(cmd); print $1, $2, substr(s, 1, 16) }'
}

# Whether, among the brokers given, exactly one leads and every other follows it: sets LEADER.
one_leader_among()
{
	local i l= n=0 role

	for i in "$@"; do
		role=$(b_field "$i" role)
		if [ "$role" = leader ]; then
			l=$i
			n=$((n + 1))
		fi
	done
	[ "$n" -eq 1 ] || return 1
	for i in "$@"; do
		[ "$i" = "$l" ] && continue
		[ "$(b_field "$i" role)" = follower ] || return 1
		[ "$(b_field "$i" leader)" = "b$l" ] || return 1
	done
	LEADER=$l
}

# Whether the brokers given all serve the same token (same generation, same text).
same_token_among()
{
	local i first= t

	for i in "$@"; do
		t=$(b_token "$i")
		[ -n "$t" ] || return 1
		if [ -z "$first" ]; then
			first=$t
		elif [ "$t" != "$first" ]; then
			return 1
		fi
	done
	SAME_TOKEN=$first
}

# The brokers of 1 2 3 other than $1.
others_than()
{
	local i

	for i in 1 2 3; do
		[ "$i" = "$1" ] || printf '%s ' "$i"
	done
}

# Start all three with the config lines given, and wait for one leader and one token everywhere.
three_brokers()
{
	local i

	etcd_start "$T/etcd" || fail "cannot start etcd"
	for i in 1 2 3; do
		b_config "$i" "$@"
	done
	for i in 1 2 3; do
		b_start "$i"
	done
	wait_until 60 one_leader_among 1 2 3 || fail "no single leader with two followers"
	wait_until 30 same_token_among 1 2 3 || fail "the three brokers do not serve the same token"
}

# Start token-poll ARGS... in the background; its output goes to $T/$1.out.
poll_start()
{
	local name=$1

	shift
	"$POLL" "$@" >"$T/$name.out" 2>"$T/$name.err" &
	BG_PIDS+=("$!")
	disown "$!" 2>/dev/null || true
}
