# SPDX-License-Identifier: MIT
# Shared helpers for the integration tests: a real tvtokend against the mock
# Tradovate server, driven through tvtokenctl and raw Varlink. Sourced, not run.
#
# The test runner (meson) exports: TVTOKEND TVTOKENCTL MOCK MAKE_CERT VLCALL.
# Every wait is bounded; every process started here is killed at exit.

set -u

T=$(mktemp -d "${TMPDIR:-/tmp}/tvtokend-it.XXXXXX")
chmod 0755 "$T"
SOCK=$T/run/io.tvtokend.Broker
CONF=$T/tvtokend.conf
PIDS=()
MOCK_PID=
DAEMON_PID=
MOCK_PORT=
MOCK_URL=

# Kill what we started and remove the scratch directory.
it_cleanup()
{
	local p

	for p in "${PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		timeout 5 tail --pid="$p" -f /dev/null 2>/dev/null || kill -KILL "$p" 2>/dev/null
	done
	if [ -n "${KEEP_TMP:-}" ]; then
		echo "kept $T" >&2
	else
		rm -rf "$T"
	fi
}
trap it_cleanup EXIT

# Fail the test with a message, showing the daemon's and the mock's logs.
fail()
{
	printf 'FAIL: %s\n' "$*" >&2
	if [ -f "$T/daemon.log" ]; then
		echo "--- daemon log (last 30 lines)" >&2
		tail -n 30 "$T/daemon.log" >&2
	fi
	if [ -f "$T/mock.log" ]; then
		echo "--- mock request log" >&2
		cat "$T/mock.log" >&2
	fi
	exit 1
}

# Note a passed step (shows in the test's log).
ok()
{
	printf 'ok: %s\n' "$*"
}

assert_eq()
{
	[ "$1" = "$2" ] || fail "${3:-values differ}: expected [$2], got [$1]"
}

# Poll a shell condition every 50 ms for at most SECONDS (the condition is
# eval'ed: refer to the caller's variables, not to positional parameters).
wait_until()
{
	local secs=$1 end

	shift
	end=$(( $(date +%s%N) + ${secs%.*} * 1000000000 ))
	until eval "$@"; do
		[ "$(date +%s%N)" -lt "$end" ] || return 1
		sleep 0.05
	done
}

# Start the mock; extra arguments go to it. Sets MOCK_PORT, MOCK_URL.
mock_start()
{
	rm -f "$T/mock.port"
	"$MOCK" --port-file "$T/mock.port" --log "$T/mock.log" "$@" >"$T/mock.out" 2>&1 &
	MOCK_PID=$!
	PIDS+=("$MOCK_PID")
	wait_until 5 '[ -s "$T/mock.port" ]' || fail "the mock did not start: $(cat "$T/mock.out")"
	MOCK_PORT=$(cat "$T/mock.port")
	MOCK_URL=${MOCK_URL_SCHEME:-http}://127.0.0.1:$MOCK_PORT/v1
}

# Queue outcomes in the mock, one per argument ("renew 503", "request pticket 2").
mock_script()
{
	local body

	body=$(printf '%s\n' "$@")
	curl -sf --max-time 5 ${MOCK_CURL_OPTS:-} --data-binary "$body" \
		"${MOCK_URL%/v1}/_mock/script" >/dev/null || fail "cannot script the mock: $*"
}

# Change a mock setting ("lifetime 3", "date-offset 10").
mock_config()
{
	curl -sf --max-time 5 ${MOCK_CURL_OPTS:-} --data-binary "$1" \
		"${MOCK_URL%/v1}/_mock/config" >/dev/null || fail "cannot configure the mock: $1"
}

# The requests the mock saw, "ENDPOINT OUTCOME STATUS" one per line.
mock_requests()
{
	cut -d' ' -f2-4 "$T/mock.log" 2>/dev/null
}

# How many requests of ENDPOINT (request|renew) the mock saw.
mock_count()
{
	mock_requests | awk -v e="$1" '$1 == e' | wc -l
}

# Secrets in files only root can read.
write_secrets()
{
	(umask 077; printf 'demo-password\n' >"$T/password"; printf 'demo-secret\n' >"$T/secret")
}

# Write $CONF for the mock; each argument is one more line (sections may repeat).
write_config()
{
	write_secrets
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
		echo "StateFile="
		echo "[Server]"
		echo "Socket=$SOCK"
		printf '%s\n' "$@"
	} >"$CONF"
}

# Start tvtokend on $CONF; extra arguments go to it. Waits until it serves.
daemon_start()
{
	"$TVTOKEND" --config "$CONF" --log=stderr "$@" >>"$T/daemon.log" 2>&1 &
	DAEMON_PID=$!
	PIDS+=("$DAEMON_PID")
	wait_until 5 '[ -S "$SOCK" ] && "$VLCALL" --timeout 1 "$SOCK" "{\"method\":\"org.varlink.service.GetInfo\"}" >/dev/null 2>&1' ||
		fail "tvtokend did not start serving $SOCK"
}

# SIGTERM the daemon and check it exits 0.
daemon_stop()
{
	local rc

	kill -TERM "$DAEMON_PID"
	rc=0
	timeout 10 tail --pid="$DAEMON_PID" -f /dev/null || fail "tvtokend did not stop on SIGTERM"
	wait "$DAEMON_PID" 2>/dev/null || rc=$?
	assert_eq "$rc" 0 "tvtokend exit status after SIGTERM"
}

# tvtokenctl on our socket.
ctl()
{
	"$TVTOKENCTL" --socket "$SOCK" "$@"
}

# One Varlink call; prints the reply.
vl()
{
	"$VLCALL" --timeout "${VL_TIMEOUT:-5}" "$SOCK" "$@"
}

# GetStatus field NAME (raw JSON value, strings unquoted).
status_field()
{
	ctl --json status | sed -n "s/.*\"$1\":\\(\"[^\"]*\"\\|[^,}]*\\).*/\\1/p" | tr -d '"'
}

# Wait until GetStatus says STATE, at most SECONDS.
wait_state()
{
	local want_state=$1

	wait_until "$2" '[ "$(status_field state)" = "$want_state" ]' ||
		fail "state did not become $want_state (it is $(status_field state))"
}

# No password, API secret or mock-issued token in the given files.
assert_no_secrets()
{
	local f

	for f; do
		[ -f "$f" ] || continue
		if grep -E -n 'demo-password|demo-secret|(tok|md)-[0-9]+-[0-9a-f]{8,}' "$f" >&2; then
			fail "a secret or token appears in $f"
		fi
	done
}
