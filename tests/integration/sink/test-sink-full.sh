#!/bin/bash
# SPDX-License-Identifier: MIT
# The token file never holds an expired token while the daemon runs: when a
# write fails (here ENOSPC, a full tmpfs), the old file keeps the token it
# holds only until that token expires, then it is removed; the write is
# retried on a timer, and once there is room again the file comes back with
# the current token, without a new token change.
#
# Runs in a mount namespace of its own, with a 12 KiB tmpfs for the file.
if [ -z "${TVT_IN_MOUNT_NS:-}" ]; then
	[ "$(id -u)" = 0 ] || { echo "SKIP: needs root to mount a tmpfs in a mount namespace"; exit 77; }
	exec unshare -m --propagation private env TVT_IN_MOUNT_NS=1 bash "$0" "$@"
fi
. "$(dirname "$0")/helpers.sh"

d=$T/small
f=$d/token
mkdir "$d"
mount -t tmpfs -o size=12k,mode=0755 tvtokend-test "$d" || fail "cannot mount a tmpfs in this mount namespace"
trap 'umount -l "$d" 2>/dev/null; it_cleanup' EXIT

# Generation 1 lives 10 s; the renewal we ask for gives generation 2 an hour.
mock_start --lifetime 10
mock_script "renew lifetime 3600"
write_config "[Token]" "RenewBeforeSec=1s" "[Sink]" "File=$f"
daemon_start
wait_state valid 5
wait_file_token "$f" 5
tok1=$(cat "$f")

# The file system fills up; the renewal's token cannot be written.
dd if=/dev/zero of="$d/fill" bs=1k count=64 2>/dev/null
renew_now
wait_until 10 'grep -q "cannot write the token file $f: No space left on device" "$T/daemon.log"' ||
	fail "the failed write was not logged"
[ "$(ctl token)" != "$tok1" ] || fail "the broker did not take the new token"
ok "a full file system: the write of generation 2 failed, and was logged"

# Generation 1 expires 10 s after it was issued: the file goes with it.
wait_until 20 '[ ! -e "$f" ]' || fail "the token file still holds generation 1 after its expiry: $(cat "$f")"
grep -q "removed the token file $f: the token it held (generation 1) expired, and the newer one could not be written" "$T/daemon.log" ||
	fail "the removal at expiry was not logged"
assert_eq "$(status_field generation)" 2 "generation served meanwhile"
assert_eq "$(temp_files "$f")" "" "temporary files left by the failed writes"
ok "the file was removed when the token it held expired"

# Room again: a retry writes the current token, with no token change needed.
rm "$d/fill"
wait_file_token "$f" 90
assert_eq "$(status_field generation)" 2 "generation once the file is back"
grep -q "the token file $f was written again" "$T/daemon.log" || fail "the recovery was not logged"
ok "space returned: the retry wrote the current token"

daemon_stop
[ ! -e "$f" ] || fail "the token file outlived the daemon"
assert_clean_logs
