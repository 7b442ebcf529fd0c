# SPDX-License-Identifier: MIT
# Helpers of the lifecycle-under-failure tests, on top of lib.sh. Sourced.
#
# Times are integers: milliseconds since the epoch (mock log, date) or, from
# token-poll, microseconds. Every wait is bounded.

. "$IT_LIB"

# token-poll is built beside varlink-call, in the failures directory.
POLL=$(dirname "$VLCALL")/failures/token-poll
[ -x "$POLL" ] || fail "token-poll not found at $POLL"

# The wall clock in milliseconds.
now_ms()
{
	date +%s%3N
}

# The mock's full request log without the times: "ENDPOINT OUTCOME STATUS[ extras]".
mock_seq()
{
	cut -d' ' -f2- "$T/mock.log" 2>/dev/null
}

# Check the whole upstream sequence; the expected lines are the arguments.
assert_seq()
{
	local want got

	want=$(printf '%s\n' "$@")
	got=$(mock_seq)
	[ "$got" = "$want" ] ||
		fail "upstream requests differ (diff expected got):
$(diff <(printf '%s\n' "$want") <(printf '%s\n' "$got"))"
}

# Lines in the mock log.
mock_lines()
{
	[ -f "$T/mock.log" ] || { echo 0; return; }
	wc -l <"$T/mock.log"
}

# Wait until the mock saw at least N requests, at most SECONDS.
wait_requests()
{
	local want_n=$1

	wait_until "$2" '[ "$(mock_lines)" -ge "$want_n" ]' ||
		fail "the mock saw $(mock_lines) requests, not $want_n, within $2 s"
}

# The arrival time (ms) of the mock log's line N (1-based).
mock_time()
{
	sed -n "${1}p" "$T/mock.log" | awk '{ printf "%.0f\n", $1 * 1000 }'
}

# Milliseconds between the mock log's lines I and J.
mock_gap()
{
	echo $(( $(mock_time "$2") - $(mock_time "$1") ))
}

# Fail unless LO <= VALUE <= HI.
assert_between()
{
	[ "$1" -ge "$2" ] && [ "$1" -le "$3" ] || fail "${4:-value}: $1 is not within [$2, $3]"
}

# The tvtokend events of the stderr log, in order, one a line.
daemon_events()
{
	sed -n -E 's/^tvtokend: (error: |warning: )?(acquired|renewed|renew_failed|fallback|request_failed|credentials_rejected|penalty|rate_limited|locked_out|expired|client_denied): .*/\2/p' \
		"$T/daemon.log"
}

# Check the exact event sequence; the expected events are the arguments.
assert_events()
{
	local want got

	want=$(printf '%s\n' "$@")
	got=$(daemon_events)
	[ "$got" = "$want" ] || fail "journal events differ: expected [$(echo $want)], got [$(echo $got)]"
}

# A GetStatus time field in milliseconds since the epoch (empty when null).
status_time_ms()
{
	local v

	v=$(status_field "$1")
	[ -n "$v" ] && [ "$v" != null ] || return 0
	echo $(( $(date -d "$v" +%s) * 1000 ))
}

# An RFC 3339 time in milliseconds since the epoch.
rfc3339_ms()
{
	echo $(( $(date -d "$1" +%s%3N) ))
}

# One GetToken call's error name, or "token GENERATION".
get_token()
{
	local r

	r=$(vl '{"method":"io.tvtokend.Broker.GetToken"}') || { echo "no reply"; return; }
	case $r in
	*'"error"'*) printf '%s\n' "$r" | sed -n 's/.*"error":"\([^"]*\)".*/\1/p' ;;
	*) printf 'token %s\n' "$(printf '%s\n' "$r" | sed -n 's/.*"generation":\([0-9]*\).*/\1/p')" ;;
	esac
}

# Start a GetToken poller (every 50 ms) for SECONDS in the background: $T/poll.out.
poll_start()
{
	"$POLL" --interval 50 --duration "$1" "$SOCK" >"$T/poll.out" 2>"$T/poll.err" &
	POLL_PID=$!
	PIDS+=("$POLL_PID")
}

# Stop the poller and check what it was served: no token at or after its
# expirationTime (taken at the moment the call was sent, which is before the
# broker received it), generations never going back. Prints a summary.
poll_check()
{
	local summary

	kill -TERM "$POLL_PID" 2>/dev/null
	wait "$POLL_PID" 2>/dev/null
	[ -s "$T/poll.out" ] || fail "the poller recorded nothing"
	summary=$(awk '
		$3 == "token" {
			n++
			if ($5 <= $1) {
				printf "generation %d served %.3f s after its expirationTime\n", $4, ($1 - $5) / 1e6
				bad++
			}
			if ($5 <= $2)
				near++
			if ($4 < last) {
				printf "generation went back from %d to %d\n", last, $4
				bad++
			}
			last = $4
			next
		}
		$3 == "error" { e[$4]++; next }
		{ o[$3]++ }
		END {
			printf "polled: %d tokens (last generation %d)", n, last
			for (k in e) printf ", %d %s", e[k], k
			for (k in o) printf ", %d %s", o[k], k
			if (near) printf ", %d received within their round trip of expiry", near
			printf "\n"
			exit bad > 0
		}' "$T/poll.out") || fail "the poller was served wrongly: $summary"
	ok "$summary"
}

# How many of the poller's replies were of KIND (token, error, down).
poll_count()
{
	awk -v k="$1" '$3 == k' "$T/poll.out" | wc -l
}

# The generations the poller was served, in order, each once ("1 2 3").
poll_generations()
{
	awk '$3 == "token" && $4 != last { printf "%s%d", sep, $4; sep = " "; last = $4 } END { print "" }' "$T/poll.out"
}

# What the poller was served, runs of equal replies collapsed: a generation
# for tokens, NAME/STATE for errors ("1 NoToken/requesting 2").
poll_phases()
{
	awk '{
		if ($3 == "token") k = $4
		else if ($3 == "error") { k = $4 "/" $5; sub(/^io\.tvtokend\.Broker\./, "", k) }
		else k = $3
		if (k != last) { printf "%s%s", sep, k; sep = " "; last = k }
	} END { print "" }' "$T/poll.out"
}

# Start a GetToken "more" watcher (extra token-poll options allowed): $T/NAME.out.
watch_start()
{
	local name=$1

	shift
	"$POLL" --more "$@" "$SOCK" >"$T/$name.out" 2>"$T/$name.err" &
	PIDS+=($!)
	eval "WATCH_PID_$name=\$!"
}

# Wait at most SECONDS for watcher NAME to end; its exit status must be 0.
watch_wait()
{
	local pid

	eval "pid=\$WATCH_PID_$1"
	timeout "$2" tail --pid="$pid" -f /dev/null || fail "watcher $1 did not end within $2 s: $(cat "$T/$1.out")"
	wait "$pid" || fail "watcher $1 failed: $(cat "$T/$1.err")"
}

# Line N of watcher NAME's output without the times ("token 1", "error NAME STATE").
watch_line()
{
	sed -n "${2}p" "$T/$1.out" | awk '{ if ($3 == "token") print $3, $4; else { $1 = $2 = ""; print substr($0, 3) } }'
}

# When (ms) watcher NAME received its line N.
watch_time()
{
	sed -n "${2}p" "$T/$1.out" | awk '{ printf "%.0f\n", $2 / 1000 }'
}

# Wait at most SECONDS until the poller has been served generation N.
poll_wait_generation()
{
	local want_gen=$1

	wait_until "$2" 'awk -v g="$want_gen" '\''$3 == "token" && $4 == g { f = 1 } END { exit !f }'\'' "$T/poll.out"' ||
		fail "the poller was not served generation $want_gen within $2 s"
}

# SIGHUP the daemon and wait until it has taken the reload in.
daemon_reload()
{
	local before

	before=$(grep -c '^tvtokend: reloading ' "$T/daemon.log")
	kill -HUP "$DAEMON_PID"
	wait_until 5 '[ "$(grep -c "^tvtokend: reloading " "$T/daemon.log")" -gt "$before" ]' ||
		fail "tvtokend did not reload"
}

# No sanitizer report (ASan, UBSan, LSan) in the given logs.
assert_no_sanitizer_reports()
{
	local f

	for f; do
		[ -f "$f" ] || continue
		if grep -n -E 'runtime error:|ERROR: (Address|Leak|Undefined)Sanitizer' "$f" >&2; then
			fail "a sanitizer report in $f"
		fi
	done
}
