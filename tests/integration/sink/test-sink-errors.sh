#!/bin/bash
# SPDX-License-Identifier: MIT
# Failures to write the token file are logged, rate-limited, never fatal and
# retried on a timer; the message says what to do (a missing
# directory; a directory the daemon may not write, with the hint about
# ReadWritePaths= for tvtokend.service). Bad [Sink] keys are config errors
# that name file, line and key.
. "$(dirname "$0")/helpers.sh"

f=$T/missing/token
mock_start
write_config "[Token]" "MaxRenewalsPerHour=15" "[Sink]" "File=$f"
daemon_start
wait_state valid 10
wait_until 5 'grep -q "cannot create a temporary file beside the token file $f: No such file or directory; the directory must exist; retrying" "$T/daemon.log"' ||
	fail "the failed write was not logged as expected"
for i in 1 2 3; do
	renew_now
done
assert_eq "$(grep -c 'cannot create a temporary file beside the token file' "$T/daemon.log")" 1 \
	"messages for four failures in a row"
assert_eq "$(status_field state)" valid "state while the token file cannot be written"
ok "a missing directory: logged once for four failures, the broker unharmed"

mkdir "$T/missing"
wait_file_token "$f" 90
grep -q "the token file $f was written again" "$T/daemon.log" || fail "the recovery was not logged"
ok "a retry wrote the file once the directory existed, with no token change"

# Permission denied, as a daemon confined to /run/tvtokend would see it (root is
# never refused: run this one as nobody).
daemon_stop
if [ "$(id -u)" -eq 0 ]; then
	ro=$T/readonly
	install -d -m 0755 "$ro"
	install -d -o nobody -m 0755 "$T/run"
	chown nobody "$T/password" "$T/secret"
	write_config "[Sink]" "File=$ro/token"
	chmod 0644 "$CONF"
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$TVTOKEND" --config "$CONF" --log=stderr >>"$T/daemon.log" 2>&1 &
	DAEMON_PID=$!
	PIDS+=("$DAEMON_PID")
	wait_until 10 'grep -q "cannot create a temporary file beside the token file $ro/token: Permission denied; under tvtokend.service only /run/tvtokend is writable: add the file.s directory to ReadWritePaths= in a drop-in (systemctl edit tvtokend)" "$T/daemon.log"' ||
		fail "EACCES was not explained"
	daemon_stop
	ok "EACCES: the message names ReadWritePaths="

	# A group the daemon is not in: EPERM from fchown, and what to do about it.
	install -d -o nobody -m 0755 "$T/own"
	write_config "[Sink]" "File=$T/own/token" "FileGroup=root"
	chmod 0644 "$CONF"
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$TVTOKEND" --config "$CONF" --log=stderr >>"$T/daemon.log" 2>&1 &
	DAEMON_PID=$!
	PIDS+=("$DAEMON_PID")
	wait_until 10 'grep -q "cannot set the group of the token file $T/own/token: Operation not permitted; FileGroup= needs the daemon in that group (SupplementaryGroups=) and, under tvtokend.service, PrivateUsers=no and SystemCallFilter=@chown in a drop-in" "$T/daemon.log"' ||
		fail "EPERM on FileGroup= was not explained"
	assert_eq "$(temp_files "$T/own/token")" "" "temporary files left after a failed chown"
	[ ! -e "$T/own/token" ] || fail "a token file with the wrong group was written"
	daemon_stop
	ok "FileGroup= of a group the daemon is not in: EPERM explained, nothing left behind"
else
	echo "skipped the EACCES case: not root"
fi

# Config errors: file, line, key, exit status 1, nothing sent.
n=$(wc -l <"$T/mock.log")
for kv in "File=relative/token|File: \"relative/token\" is not an absolute path" \
	"FileMode=0999|FileMode: \"0999\" is not an octal mode between 0000 and 0777" \
	"FileGroup=tvtokend-no-such-group|FileGroup: unknown group \"tvtokend-no-such-group\"" \
	"Format=yaml|Format: \"yaml\" is not token, json or env" \
	"ExecOnChange=hook.sh|ExecOnChange: \"hook.sh\" is not an absolute path"; do
	write_config "[Sink]" "${kv%%|*}"
	line=$(grep -n -x -F "${kv%%|*}" "$CONF" | cut -d: -f1)
	rc=0
	out=$("$TVTOKEND" --config "$CONF" --check-config 2>&1) || rc=$?
	assert_eq "$rc" 1 "--check-config status with ${kv%%|*}"
	assert_eq "$out" "tvtokend: $CONF:$line: ${kv#*|}" "--check-config message with ${kv%%|*}"
	rc=0
	"$TVTOKEND" --config "$CONF" --log=stderr >"$T/start.out" 2>&1 || rc=$?
	assert_eq "$rc" 1 "exit status of a start with ${kv%%|*}"
done
assert_eq "$(wc -l <"$T/mock.log")" "$n" "requests sent with configs that do not load"
ok "bad [Sink] keys: file, line and key, exit 1, nothing sent"
assert_clean_logs
