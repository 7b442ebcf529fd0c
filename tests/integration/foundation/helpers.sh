# SPDX-License-Identifier: MIT
# Helpers of the foundation integration tests, on top of ../lib.sh (sourced
# after it). JSON is taken apart with jq (Debian package jq).

command -v jq >/dev/null || fail "these tests need jq (apt-get install jq)"

# A Varlink call message: METHOD, optionally the parameters object as JSON
# (default {}), and more members of the call ('"more":true').
vl_msg()
{
	local params=${2-} extra=${3-}

	[ -n "$params" ] || params="{}"
	printf '{"method":"%s","parameters":%s%s}' "$1" "$params" "${extra:+,$extra}"
}

# Run jq FILTER on JSON and print the result (-r: strings unquoted); fails the
# test when JSON does not parse.
jget()
{
	local out

	out=$(jq -r "$2" <<<"$1" 2>&1) || fail "not JSON, or jq filter $2 failed on [$1]: $out"
	printf '%s\n' "$out"
}

# Check that FILTER is true on JSON (jq -e), else fail with MESSAGE.
assert_json()
{
	jq -e "$2" <<<"$1" >/dev/null 2>&1 || fail "${3:-JSON check $2 failed} on [$1]"
}

# The GetStatus parameters object.
status_json()
{
	local s

	s=$(ctl --json status) || fail "tvtokenctl --json status failed"
	printf '%s\n' "$s"
}

# Wait at most SECONDS for background PID to end; prints nothing, returns its exit status
# (fails the test when it is still running).
wait_pid()
{
	local secs=$1 pid=$2 rc=0

	timeout "$secs" tail --pid="$pid" -f /dev/null 2>/dev/null ||
		fail "process $pid still running after $secs s"
	wait "$pid" 2>/dev/null || rc=$?
	return "$rc"
}

# Whether background PID is still running.
running()
{
	kill -0 "$1" 2>/dev/null
}

# Start a command in the background (stdout to FILE); remembered for cleanup. Sets BG_PID.
bg_start()
{
	local out=$1

	shift
	"$@" >"$out" 2>"$out.err" &
	BG_PID=$!
	PIDS+=("$BG_PID")
}

# Run a command as nobody:nogroup with no supplementary groups.
as_nobody()
{
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"
}

# The whole mock log without the timestamps ("renew ok 200 reject=expired").
mock_log()
{
	cut -d' ' -f2- "$T/mock.log" 2>/dev/null
}

# Milliseconds since the epoch of an RFC 3339 time.
iso_ms()
{
	date -u -d "$1" +%s%3N
}

# Check that a time is RFC 3339 UTC with a Z, as every replied time must be.
assert_utc_time()
{
	[[ $1 =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z$ ]] ||
		fail "${2:-time} is not RFC 3339 UTC: [$1]"
}

# No sanitizer report (ASan, UBSan, LSan) in the given files.
assert_no_sanitizer_reports()
{
	local f

	for f; do
		[ -f "$f" ] || continue
		if grep -E -n 'runtime error:|Sanitizer|LeakSanitizer' "$f" >&2; then
			fail "a sanitizer report in $f"
		fi
	done
}

# The checks every test ends with: no secret and no sanitizer report in the
# daemon's stderr, the mock's output and the given files.
assert_clean_logs()
{
	assert_no_secrets "$T/daemon.log" "$T/mock.out" "$@"
	assert_no_sanitizer_reports "$T/daemon.log" "$T/mock.out" "$@"
}
