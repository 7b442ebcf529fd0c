#!/bin/bash
# SPDX-License-Identifier: MIT
# The units carry the names CONTRACT §1 and §6 promise: the socket paths,
# group and mode, the config and credential names of each instance, the
# notify/watchdog/reload wiring, no core dumps; and the user and group the
# units use are the ones the sysusers.d file creates.
#
# usage: test-units-contract.sh SYSUSERS_CONF UNIT...
set -euo pipefail
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

[ $# -ge 5 ] || { echo "usage: $0 SYSUSERS_CONF UNIT..." >&2; exit 2; }
sysusers=$1
shift

# Fail unless file $1 has the line $2, exactly.
has()
{
	grep -qxF -- "$2" "$1" || fail "${1##*/} lacks the line: $2"
}

# Fail unless the sysusers.d file declares a $1 line ("u" or "g") named $2.
declares()
{
	awk -v t="$1" -v n="$2" '$1 == t && $2 == n { f = 1 } END { exit !f }' "$sysusers" ||
		fail "${sysusers##*/} does not create $2"
}

main_socket=$(unit_path tvtokend.socket "$@")
inst_socket=$(unit_path tvtokend@.socket "$@")
main_service=$(unit_path tvtokend.service "$@")
inst_service=$(unit_path tvtokend@.service "$@")

has "$main_socket" "ListenStream=/run/tvtokend/io.tvtokend.Broker"
has "$inst_socket" "ListenStream=/run/tvtokend/%i/io.tvtokend.Broker"
for s in "$main_socket" "$inst_socket"; do
	has "$s" "SocketGroup=tvtoken"
	has "$s" "SocketMode=0660"
	has "$s" "DirectoryMode=0755"
	has "$s" "RemoveOnStop=yes"
	has "$s" "WantedBy=sockets.target"
	has "$s" "LimitCORE=0"
done

grep -qx 'ExecStart=/[^ ]*/tvtokend' "$main_service" ||
	fail "tvtokend.service does not run tvtokend with the default config"
grep -qx 'ExecStart=/[^ ]*/tvtokend --config /etc/tvtokend/%i\.conf' "$inst_service" ||
	fail "tvtokend@.service does not run tvtokend --config /etc/tvtokend/%i.conf"
has "$main_service" "RuntimeDirectory=tvtokend"
has "$inst_service" "RuntimeDirectory=tvtokend/%i"
has "$main_service" "LoadCredential=tradovate-password:/etc/tvtokend/credentials/tradovate-password"
has "$main_service" "LoadCredential=tradovate-sec:/etc/tvtokend/credentials/tradovate-sec"
has "$inst_service" "LoadCredential=tradovate-password:/etc/tvtokend/credentials/%i/tradovate-password"
has "$inst_service" "LoadCredential=tradovate-sec:/etc/tvtokend/credentials/%i/tradovate-sec"
has "$main_service" "Also=tvtokend.socket"
has "$inst_service" "Also=tvtokend@%i.socket"
for s in "$main_service" "$inst_service"; do
	has "$s" "Type=notify"
	has "$s" "WatchdogSec=30s"
	has "$s" 'ExecReload=/bin/kill -HUP $MAINPID'
	has "$s" "Restart=on-failure"
	has "$s" "ConfigurationDirectory=tvtokend"
	has "$s" "User=tvtokend"
	has "$s" "Group=tvtoken"
	# No core dump may hold the secrets (issue 8).
	has "$s" "LimitCORE=0"
done

declares g tvtoken
declares u tvtokend
for s in "$main_socket" "$inst_socket"; do
	has "$s" "SocketUser=tvtokend"
done
echo "ok: the units and ${sysusers##*/} match the contract"
