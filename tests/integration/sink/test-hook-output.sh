#!/bin/bash
# SPDX-License-Identifier: MIT
# The hook's output reaches the log line by line (stdout as info, stderr as
# warnings), printable, lines cut at 900 bytes, at most 64 KiB a run; a
# line holding (a piece of) the token is withheld; a failing exit status, a
# hook that cannot be run and a hook changed by a reload are handled and
# logged; no zombie is left.
. "$(dirname "$0")/helpers.sh"

cat >"$T/chatty.sh" <<'HOOK'
#!/bin/bash
json=$(cat)
tok=$(printf '%s' "$json" | sed -n 's/.*"accessToken":"\([^"]*\)".*/\1/p')
echo "hello from the hook"
echo "to stderr" >&2
printf 'tab\there\r\n'
echo "the token: $tok"
echo "part of it: x${tok:3:31}x"
# Cut at 900 bytes right after the token's first 10 bytes: the cut hides the rest.
printf '%s%s\n' "$(head -c 890 /dev/zero | tr '\0' 'C')" "$tok"
echo "$json"
head -c 3000 /dev/zero | tr '\0' 'L'; echo
echo "after the long line"
printf 'no newline at the end'
exit 3
HOOK
cat >"$T/flood.sh" <<'HOOK'
#!/bin/bash
cat >/dev/null
for i in $(seq 1 5000); do echo "flood line $i of the hook's output, long enough to add up"; done
echo "flood done" >&2
HOOK
chmod +x "$T/chatty.sh" "$T/flood.sh"

mock_start
write_config "[Token]" "MaxRenewalsPerHour=15" "[Sink]" "ExecOnChange=$T/chatty.sh"
daemon_start
wait_state valid 10
wait_until 10 'grep -q "for generation 1 failed with exit status 3" "$T/daemon.log"' || fail "the run was not logged"
p=$(sed -n 's/.*ExecOnChange\[\([0-9]*\)\] started for generation 1$/\1/p' "$T/daemon.log")
# stdout and stderr are two pipes: their lines keep their order within each, not across.
want=$(cat <<WANT
tvtokend: ExecOnChange[$p]: hello from the hook
tvtokend: ExecOnChange[$p]: tab?here
tvtokend: ExecOnChange[$p]: $(head -c 900 /dev/zero | tr '\0' 'L') [line cut]
tvtokend: ExecOnChange[$p]: after the long line
tvtokend: ExecOnChange[$p]: no newline at the end
WANT
)
assert_eq "$(grep "^tvtokend: ExecOnChange\[$p\]: " "$T/daemon.log")" "$want" "the hook's stdout in the log"
assert_eq "$(grep -c "^tvtokend: warning: ExecOnChange\[$p\]: to stderr$" "$T/daemon.log")" 1 "stderr in the log"
# The four lines with the token (whole, a 31-byte piece, the JSON, cut after its start) are withheld.
assert_eq "$(grep -c "^tvtokend: warning: ExecOnChange\[$p\]: a line of output was withheld: it held the token$" "$T/daemon.log")" \
	4 "lines withheld"
assert_eq "$(grep -c "^tvtokend: warning: ExecOnChange\[$p\]: " "$T/daemon.log")" 5 "warnings from the hook's output"
! grep -q "CCCCCCCCCC" "$T/daemon.log" || fail "the line cut after the start of the token was logged"
ok "output: line by line, stderr as warnings, control characters replaced, long lines cut, the token withheld"

write_config "[Token]" "MaxRenewalsPerHour=15" "[Sink]" "ExecOnChange=$T/flood.sh"
reload
renew_now
wait_until 20 'grep -q "for generation 2 succeeded" "$T/daemon.log"' || fail "the flood run did not end"
p=$(sed -n 's/.*ExecOnChange\[\([0-9]*\)\] started for generation 2$/\1/p' "$T/daemon.log")
n=$(grep -c "ExecOnChange\[$p\]: flood line" "$T/daemon.log")
[ "$n" -gt 500 ] && [ "$n" -lt 1200 ] || fail "$n flood lines logged, expected about 64 KiB of them"
grep -q "ExecOnChange\[$p\]: more than 65536 bytes of output; the rest of this run's output is not logged" "$T/daemon.log" ||
	fail "the cap was not logged"
! grep -q "ExecOnChange\[$p\]: flood done" "$T/daemon.log" || fail "output past the cap was logged"
ok "a flood of output: $n lines logged (64 KiB), then one message"

# A hook that prints the token file, which a change during its run has already
# rewritten with the newer (queued) token: withheld too.
cat >"$T/reader.sh" <<'HOOK'
#!/bin/bash
cat >/dev/null
[ -e "$1/reader.ran" ] && exit 0
touch "$1/reader.ran"
while [ ! -e "$1/go" ]; do sleep 0.1; done
cat "$1/token"
HOOK
chmod +x "$T/reader.sh"
write_config "[Token]" "MaxRenewalsPerHour=15" "[Sink]" "File=$T/token" "ExecOnChange=$T/reader.sh $T"
reload
renew_now
g=$(status_field generation)
wait_until 10 '[ -e "$T/reader.ran" ]' || fail "the reading hook did not start"
renew_now
wait_file_token "$T/token" 10
touch "$T/go"
wait_until 10 'grep -q "for generation $g succeeded" "$T/daemon.log"' || fail "the reading hook did not end"
p=$(sed -n "s/.*ExecOnChange\[\([0-9]*\)\] started for generation $g\$/\1/p" "$T/daemon.log")
assert_eq "$(grep -c "ExecOnChange\[$p\]: a line of output was withheld: it held the token" "$T/daemon.log")" 1 \
	"lines withheld from a hook that printed the newer token"
ok "a line with the newer, queued token is withheld too"

write_config "[Token]" "MaxRenewalsPerHour=15" "[Sink]" "ExecOnChange=$T/flood.sh"
reload
wait_until 10 'grep -q "for generation $((g + 1)) succeeded" "$T/daemon.log"' || fail "the queued run did not end"
mv "$T/flood.sh" "$T/gone.sh"
renew_now
g=$(status_field generation)
wait_until 10 "grep -q 'cannot run ExecOnChange=$T/flood.sh for generation $g: No such file or directory' \"\$T/daemon.log\"" ||
	fail "a hook that cannot be run was not logged"
assert_eq "$(status_field state)" valid "state after a hook that cannot be run"
ok "a hook that cannot be run is logged, the broker unharmed"

assert_eq "$(ps --ppid "$DAEMON_PID" -o pid= | wc -l)" 0 "children of the daemon left (zombies included)"
daemon_stop
assert_clean_logs
