#!/bin/bash
# SPDX-License-Identifier: MIT
# AllowGroups= against peers in many groups (issue 7, reviewers' finding):
# a group past a peer's 64th counts, whether the process carries it
# (setgroups, SupplementaryGroups=) or only the user database lists it
# (getgrouplist); and the user database is asked once a minute per uid,
# not at every connection, and anew after a reload.
#
# Runs in a mount namespace of its own, where a copy of /etc/group that puts
# nobody in 70 more groups is bind-mounted over the real one.
if [ -z "${TVT_IN_MOUNT_NS:-}" ]; then
	[ "$(id -u)" = 0 ] || { echo "SKIP: needs root to run clients as nobody"; exit 77; }
	exec unshare -m --propagation private env TVT_IN_MOUNT_NS=1 bash "$0" "$@"
fi
. "$IT_LIB"
. "$(dirname "$0")/helpers.sh"

# The status as nobody with these setpriv group options; prints the exit status of tvtokenctl.
status_as_nobody()
{
	local rc=0

	setpriv --reuid=nobody --regid=nogroup "$@" "$TVTOKENCTL" --socket "$SOCK" --json status \
		>"$T/status.out" 2>"$T/status.err" || rc=$?
	echo "$rc"
}

mock_start

# 1. The groups the process carries: 70 of them, the listed one last.
groups=$(seq -s, 2000 2069)
write_config "[Server]" "SocketMode=0666" "AllowGroups=2069"
daemon_start
wait_state valid 5
assert_eq "$(status_as_nobody --groups="$groups")" 0 "nobody in groups 2000-2069, AllowGroups=2069"
assert_eq "$(status_as_nobody --groups="$(seq -s, 2000 2068)")" 4 "nobody in groups 2000-2068, AllowGroups=2069"
ok "the 70th group a process carries admits it; without it, PermissionDenied"
daemon_stop

# 2. The groups the user database lists: nobody in 70 more groups in /etc/group, carrying none.
cp /etc/group "$T/group"
for g in $(seq 3000 3069); do
	echo "tvtgroup$g:x:$g:nobody" >>"$T/group"
done
mount --bind "$T/group" /etc/group || fail "cannot bind-mount a group file in this mount namespace"
[ "$(id -Gn nobody | wc -w)" -ge 71 ] || fail "the group file is not seen: $(id -Gn nobody)"
write_config "[Server]" "SocketMode=0666" "AllowGroups=3069"
: >"$T/daemon.log"
TVTOKEND_DEBUG=1 daemon_start
wait_state valid 5
assert_eq "$(status_as_nobody --clear-groups)" 0 "nobody listed in groups 3000-3069, AllowGroups=3069"
ok "the 70th group the user database lists admits a peer"

# The user database was asked once for these five connections, and is asked anew after a reload.
for i in 1 2 3 4; do
	assert_eq "$(status_as_nobody --clear-groups)" 0 "nobody's connection $((i + 1))"
done
lookups() { grep -c 'looked up the groups of uid 65534 in the user database' "$T/daemon.log"; }
assert_eq "$(lookups)" 1 "user database look-ups for five connections of one uid"
kill -HUP "$DAEMON_PID"
wait_until 10 'grep -q "reloading" "$T/daemon.log"' || fail "no reload"
wait_state valid 5
assert_eq "$(status_as_nobody --clear-groups)" 0 "nobody after the reload"
assert_eq "$(lookups)" 2 "user database look-ups after a reload"
ok "five connections of one uid: one look-up of the user database; a reload asks again"
daemon_stop

assert_clean_logs
ok "many groups"
