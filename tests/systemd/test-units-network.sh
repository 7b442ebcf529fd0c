#!/bin/bash
# SPDX-License-Identifier: MIT
# The sandbox of every service unit still lets the daemon reach Tradovate:
# it shares the host's network, may open AF_INET, AF_INET6 and AF_UNIX
# sockets, and its IP address filter does not block every address. Read
# from "systemd-analyze security --offline=true --json", where "set": false
# marks a permission the unit grants.
#
# usage: test-units-network.sh UNIT...
set -euo pipefail
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

[ $# -ge 1 ] || { echo "usage: $0 UNIT..." >&2; exit 2; }
need systemd-analyze timeout

# Fail unless assessment $2 in the JSON $1 is marked "set": false.
granted()
{
	local re="\"set\":(true|false),\"name\":\"[^\"]*\",\"json_field\":\"$2\""

	[[ $1 =~ $re ]] || fail "$name: no $2 in the assessment"
	[ "${BASH_REMATCH[1]}" = false ] || fail "$name: $3"
}

n=0
while IFS= read -r target; do
	case $target in
	*.service) ;;
	*) continue ;;
	esac
	name=${target##*/}
	json=$(timeout 120 systemd-analyze security --offline=true --json=short "$target")
	granted "$json" PrivateNetwork "PrivateNetwork= cuts it off the host's network"
	granted "$json" RestrictAddressFamilies_AF_INET_INET6 "RestrictAddressFamilies= forbids AF_INET/AF_INET6"
	granted "$json" RestrictAddressFamilies_AF_UNIX "RestrictAddressFamilies= forbids AF_UNIX"
	granted "$json" IPAddressDeny "IPAddressDeny= blocks every address"
	echo "ok: $name may reach the network"
	n=$((n + 1))
done < <(unit_targets "$@")
[ "$n" -gt 0 ] || fail "no service unit given"
