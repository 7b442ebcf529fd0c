#!/bin/bash
# SPDX-License-Identifier: MIT
# A daemon killed with SIGKILL while rewriting the token file leaves at most
# its temporary files, which the next start removes: only ours (our prefix
# and file name, regular files, owned by us), nothing else beside them.
. "$(dirname "$0")/helpers.sh"

d=$T/sink
f=$d/token
mkdir "$d"
mock_start
cfg()
{
	write_config "[Token]" "StateFile=$T/state.json" "[Sink]" "File=$f" "FileMode=$1"
}
cfg 0640
daemon_start
wait_state valid 10
wait_file_token "$f" 10

# Rewrites as fast as reloads go, and SIGKILL in the middle of them.
for i in $(seq 1 30); do
	cfg "06$((i % 2 * 4))0"
	kill -HUP "$DAEMON_PID"
done
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
ok "killed during rewrites; left beside the file: [$(temp_files "$f" | tr '\n' ' ')]"

# And what such a kill can leave, planted: ours, and look-alikes that are not.
printf 'tok-1-0123456789abcdef\n' >"$d/.token.tvtokend.Ab3dE9"
printf 'x\n' >"$d/.token.tvtokend.short"
printf 'x\n' >"$d/.token.tvtokend.Ab3dE9x"
printf 'x\n' >"$d/.other.tvtokend.Ab3dE9"
printf 'x\n' >"$d/.token.tvtokend.nobody"
chown nobody "$d/.token.tvtokend.nobody"
mkdir "$d/.token.tvtokend.dir123"
cfg 0640
daemon_start
wait_state valid 10
wait_file_token "$f" 10
assert_eq "$(temp_files "$f" | sort | tr '\n' ' ')" \
	".token.tvtokend.Ab3dE9x .token.tvtokend.dir123 .token.tvtokend.nobody .token.tvtokend.short " \
	"what is left beside the token file after the restart"
[ -e "$d/.other.tvtokend.Ab3dE9" ] || fail "another file's look-alike was removed"
grep -q "removed $d/.token.tvtokend.Ab3dE9, a temporary token file left by a daemon that was killed" \
	"$T/daemon.log" || fail "the removal of the stale file was not logged"
ok "the restart removed exactly the stale temporary files"
daemon_stop
assert_clean_logs
