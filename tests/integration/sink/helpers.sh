# SPDX-License-Identifier: MIT
# Helpers of the token file and change hook tests, on top of lib.sh and the
# foundation helpers (jq). Sourced.

. "$IT_LIB"
. "$(dirname "${BASH_SOURCE[0]}")/../foundation/helpers.sh"

# SIGHUP the daemon and wait until it has logged the reload.
reload()
{
	local before

	before=$(grep -c '^tvtokend: reloading ' "$T/daemon.log")
	kill -HUP "$DAEMON_PID"
	wait_until 10 '[ "$(grep -c "^tvtokend: reloading " "$T/daemon.log")" -gt "$before" ]' ||
		fail "tvtokend did not reload"
}

# The contents of FILE exactly (trailing newlines kept, shown as \n).
file_bytes()
{
	od -An -c "$1" | tr -s ' \n' ' '
}

# Wait at most SECONDS until FILE holds the token tvtokenctl is served.
wait_file_token()
{
	local f=$1

	wait_until "$2" '[ -s "$f" ] && [ "$(cat "$f" 2>/dev/null)" = "$(ctl token 2>/dev/null)" ]' ||
		fail "$f does not hold the served token (it holds [$(cat "$f" 2>&1)], served [$(ctl token 2>&1)])"
}

# Mode (octal) and group name of FILE.
mode_group()
{
	stat -c '%a %G' "$1"
}

# The temporary files the sink may leave beside FILE (none, if all is well).
temp_files()
{
	local f=$1

	find "${f%/*}" -maxdepth 1 -name ".${f##*/}.tvtokend.*" -printf '%f\n'
}

# Report a new token: generation G is refused, the broker renews; waits for G+1.
renew_now()
{
	local g

	g=$(status_field generation)
	ctl rejected "$g" >/dev/null || fail "tvtokenctl rejected $g failed"
	wait_until 10 '[ "$(status_field generation)" -gt "$g" ]' ||
		fail "no new generation after reporting generation $g"
}

# Start a reader that opens and reads FILE as fast as it can until $T/stop-reader
# exists, and writes to $T/reader.bad every read that found no file, or a text
# that is not a whole mock token; $T/reader.seen gets every distinct text.
reader_start()
{
	local f=$1

	rm -f "$T/stop-reader" "$T/reader.bad" "$T/reader.seen"
	(
		prev= n=0
		while [ ! -e "$T/stop-reader" ]; do
			if ! exec 3<"$f"; then
				echo "missing" >>"$T/reader.bad"
				continue
			fi 2>/dev/null
			c=
			IFS= read -r -d '' c <&3
			exec 3<&-
			n=$((n + 1))
			if ! [[ $c =~ ^tok-[0-9]+-[0-9a-f]{16}$'\n'$ ]]; then
				printf 'bad [%s]\n' "$c" >>"$T/reader.bad"
			elif [ "$c" != "$prev" ]; then
				printf '%s' "$c" >>"$T/reader.seen"
				prev=$c
			fi
		done
		echo "$n" >"$T/reader.reads"
	) &
	READER_PID=$!
	PIDS+=("$READER_PID")
}

# Stop the reader; fail if it ever saw no file or a partial one.
reader_stop()
{
	touch "$T/stop-reader"
	wait_pid 10 "$READER_PID" || true
	[ ! -s "$T/reader.bad" ] ||
		fail "a reader saw the token file missing or partial: $(sort "$T/reader.bad" | uniq -c | head -5)"
	[ -s "$T/reader.reads" ] || fail "the reader did not finish"
}
